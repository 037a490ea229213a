/*
 * server.h - the HTTP front of writd: one libmicrohttpd daemon for the admin
 * socket and every session socket.
 *
 * Our own accept loop (one thread, epoll) accepts on every listen socket and
 * hands each connection to libmicrohttpd with MHD_add_connection, tagging it
 * with its listener through the address argument.  libmicrohttpd runs with
 * poll() in a small thread pool (epoll stalls on added connections whose
 * bytes arrived early, see shared/NOTES-libmicrohttpd.md).  Requests that
 * wait for a human are suspended, never parked on a thread.
 *
 * "Lock held": writd_lock (core.h, with the lock order of the daemon).
 */
#ifndef WRIT_SERVER_H
#define WRIT_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "config.h"

/* Largest request body, in bytes (a secret of WRIT_MAX_SECRET fits). */
#define WRIT_MAX_BODY (32 * 1024)
/* Threads serving HTTP. */
#define WRIT_HTTP_THREADS 2
/* Per-connection memory libmicrohttpd may use for headers and buffers. */
#define WRIT_CONN_MEMORY (32 * 1024)
/*
 * Connections of limits.max_connections that only the admin socket may use:
 * sessions together hold at most max_connections minus this, so during any
 * flood from sandboxes the approver can still list, deny and close
 * sessions.  A max_connections below twice this reserves half of it.
 */
#define WRIT_ADMIN_RESERVE 16
/*
 * Refused connections (over a cap) kept at once, outside every cap and
 * outside libmicrohttpd, only so their clients can read a 503 before EOF;
 * past this many, a refused connection is closed at once with no answer.
 */
#define WRIT_MAX_LINGER 64
/* Seconds a refused connection is kept for that, at most. */
#define WRIT_LINGER_SECS 2

struct session;
struct poller;
struct listener;

/*
 * Per connection: who is calling, through which socket.  Made by the accept
 * loop when it admits and counts the connection, freed (and un-counted) when
 * libmicrohttpd reports it closed.
 */
struct conn {
	struct session *session;	/* NULL on the admin socket; a reference */
	struct peer *peer;
	int refuse;			/* when not 0, every request gets this error */
	/* Server.c's own, under writd_lock: */
	int fd;				/* libmicrohttpd's socket while live */
	int64_t deadline;		/* monotonic; cut then; 0 while suspended */
	bool live;			/* between NOTIFY_STARTED and NOTIFY_CLOSED */
	struct conn *prev, *next;	/* in the live list */
};

/* Per request. */
struct req {
	struct conn *conn;
	struct MHD_Connection *mhd;	/* for resuming from other threads */
	char *body;
	size_t len;
	bool too_big;
	bool suspended;			/* waiting on a person, a worker, the log or a poll */
	struct poller *poller;		/* an approver's long-poll */
	/*
	 * A handler's own state across suspensions (a writ being issued,
	 * issue.h), and what frees it when the request ends, however it
	 * ends.  state_free: lock held.
	 */
	void *state;
	void (*state_free)(void *state);
};

/*
 * Start the daemon and the accept loop; dispatch answers (or suspends)
 * each complete request (writd passes api_dispatch, so the front depends
 * on no route).  Returns 0 or a code with err.
 */
int server_start(const struct config *cfg, enum MHD_Result (*dispatch)(struct MHD_Connection *c,
    struct req *rq, const char *method, const char *url), char err[WRIT_ERRLEN]);

/*
 * Listen on path, tagging its connections with tag (a session id, or
 * "admin").  Returns 0 and the listener, or a code with err.  Lock held.
 */
int server_listen(const char *path, const char *tag, struct listener **ret,
    char err[WRIT_ERRLEN]);

/* Stop listening and close l's socket (the caller unlinks the path).  Lock held. */
void server_unlisten(struct listener *l);

/*
 * Report a hangup of connection fd to approval_hangup() (on) or stop doing
 * so (off).  Lock held.
 */
void server_watch_hangup(int fd, bool on);

/* Close the session whose process (pidfd) exits (on), or stop watching.  Lock held. */
void server_watch_session(int pidfd, bool on);

/* Report the exit of the process behind pidfd to approver_exited() / stop.  Lock held. */
void server_watch_child(int pidfd);
void server_unwatch_child(int pidfd);

/* Suspend c, counted for shutdown.  Lock held; only from the handler. */
void server_suspend(struct MHD_Connection *c, struct req *rq);
/* Resume c.  Lock held; any thread. */
void server_resume(struct MHD_Connection *c, struct req *rq);

/* Answer every waiting request with WRIT_ESHUTDOWN and stop everything. */
void server_stop(void);

/* Queue body (a reference this steals) with status.  Never fails loudly. */
enum MHD_Result reply_json(struct MHD_Connection *c, unsigned int status, json_t *body);

/*
 * Queue the error code's JSON: {"error":{"code","message"}}, message detail
 * when not NULL, else the table's.  429 and 503 carry Retry-After.
 */
enum MHD_Result reply_error(struct MHD_Connection *c, int code, const char *detail);

/* reply_error with the members of extra (stolen) added to "error", and a
 * Retry-After of retry_after seconds when positive. */
enum MHD_Result reply_error_with(struct MHD_Connection *c, int code, const char *detail,
    json_t *extra, int retry_after);

#endif
