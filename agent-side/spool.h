/*
 * spool.h - writ's API through a directory of FIFOs, for sandboxes that
 * forbid Unix sockets (srt, Codex): they let the agent make FIFOs where it
 * may write, and nothing else that reaches outside.
 *
 * The spool is a directory writ-sandbox made (mode 0700, in a parent that
 * other sandboxes cannot see); writ-sandbox relays it to one session's
 * socket, so the spool is that session's capability as the socket is.  One
 * exchange, N a fresh random name of SPOOL_NAME_LEN hex digits:
 *
 *   client                                   relay (writ-sandbox, outside)
 *   mkfifo N.res, open it to read
 *   mkfifo N.new, open it read-write,
 *   write one HTTP request (Content-Length)
 *   rename N.new to N.req                    sees N.req arrive (inotify)
 *                                            opens N.req and N.res, unlinks
 *                                            them, writes SPOOL_ACK to N.res
 *   reads SPOOL_ACK: the relay has it        reads the request, sends it to
 *                                            the session socket, and copies
 *   reads the HTTP answer until EOF          the answer to N.res, closes
 *
 * No ack within SPOOL_PICKUP_MS means no relay: the client gives up.  The
 * request is whole in the FIFO before the relay can see it (so it fits the
 * pipe's buffer: SPOOL_MAX_REQUEST), and the client holds it open to the
 * end (read-write, so that opening never blocks): the relay frames it by
 * its Content-Length, never by EOF.
 * writd cannot tell which process asked: requests of a spool session are
 * shown as not verified.
 */
#ifndef WRIT_SPOOL_H
#define WRIT_SPOOL_H

/* What the clients' endpoint string starts with when $WRIT_SPOOL is set. */
#define SPOOL_PREFIX "spool:"
/* Hex digits in an exchange's name. */
#define SPOOL_NAME_LEN 32
/* The byte the relay writes first: it took the request. */
#define SPOOL_ACK 'W'
/* How long a client waits for the relay to take its request, in ms. */
#define SPOOL_PICKUP_MS 5000
/* Largest request the relay reads, head and body, in bytes. */
#define SPOOL_MAX_REQUEST (64 * 1024)

#endif
