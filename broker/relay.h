/*
 * relay.h - serve a spool (agent-side/spool.h) from one session's socket.
 *
 * writ-sandbox's side of the spool, for sandboxes that forbid Unix
 * sockets: each request the agent leaves in the spool goes to the session
 * socket as it came, and the answer back to the agent.  Requests of other
 * shapes are dropped: a FIFO pair that is not both FIFOs of our uid, a name
 * that is not SPOOL_NAME_LEN hex digits, a request without Content-Length
 * or over SPOOL_MAX_REQUEST.  A request whose client goes away has its
 * connection to writd closed, so writd withdraws it as it does for a
 * socket client that hangs up.
 */
#ifndef WRIT_RELAY_H
#define WRIT_RELAY_H

#include "errors.h"
#include "sjson.h"

/* Most requests relayed at once; more get a 503 until one ends. */
#define RELAY_MAX_INFLIGHT 16
/* How long a client may take to send its request, in ms. */
#define RELAY_READ_MS 5000
/* How long a client may leave an answer unread, in ms. */
#define RELAY_STALL_MS 30000

/*
 * Serve the spool directory dir (made by the caller, private) for the
 * session socket sock until pidfd is readable (the sandbox exited), then
 * drop what is still in flight.  Returns 0, or a negative code with a
 * message when it could not start.
 */
int relay_run(const char *dir, const char *sock, int pidfd, char err[WRIT_ERRLEN]);

#endif
