/*
 * libwrit.h - a small HTTP/1.1 client over a Unix socket, for writ's API.
 *
 * Links only libc and jansson: the git credential helper and the writ CLI
 * start in about a millisecond, which libcurl's start-up alone would not
 * allow.  One request per connection (Connection: close).
 */
#ifndef WRIT_LIBWRIT_H
#define WRIT_LIBWRIT_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

/* Where the sandbox finds writd when WRIT_SOCKET is not set. */
#define WRIT_DEFAULT_SOCKET "/run/writ/agent.sock"
/* Largest response read, in bytes, unless writ_set_max_response says otherwise. */
#define WRIT_MAX_RESPONSE (1024 * 1024)
/* How long a quick call (a list, a health check, a revocation) may take, in ms. */
#define WRIT_SHORT_TIMEOUT 30000
/* Longest Retry-After taken, in seconds; a longer one counts as none. */
#define WRIT_MAX_RETRY_AFTER 3600

enum {
	WRIT_HTTP_ECONNECT = -1,	/* no writd at that socket */
	WRIT_HTTP_EIO = -2,		/* the connection failed midway */
	WRIT_HTTP_EPROTO = -3,		/* the answer was not HTTP + JSON */
	WRIT_HTTP_ETIMEDOUT = -4,
	WRIT_HTTP_EARG = -5,		/* bad socket path or request */
	WRIT_HTTP_ETOOBIG = -6,		/* the answer is over the size limit */
	WRIT_HTTP_EPEER = -7,		/* the socket is served by a user not trusted */
	WRIT_HTTP_ESERVERUID = -8,	/* $WRIT_SERVER_UID is set but not a uid */
};

struct writ_resp {
	int status;		/* HTTP status */
	json_t *body;		/* parsed JSON body, or NULL when empty */
	int retry_after;	/* seconds, 0..WRIT_MAX_RETRY_AFTER; 0 when absent */
	long peer_uid;		/* the uid serving the socket (-1: not known);
				   on WRIT_HTTP_EPEER, the one refused */
};

/*
 * Send method path (with body of len bytes as JSON when body != NULL) to the
 * Unix socket sock (or the spool DIR when sock is "spool:DIR") and read the answer, giving up after timeout_ms (-1:
 * never).  Returns 0 and fills *ret (free with writ_resp_free), or a
 * negative WRIT_HTTP_E* code.  The raw answer is zeroed after parsing:
 * it may carry a token.
 *
 * Nothing is sent unless the process listening on sock is one that
 * writ_uid_trusted accepts (SO_PEERCRED, checked right after connect):
 * else WRIT_HTTP_EPEER with ret->peer_uid set, or WRIT_HTTP_ESERVERUID.
 * A spool must be a directory of such a uid with no access for others.
 */
int writ_http(const char *sock, const char *method, const char *path,
    const char *body, size_t len, int timeout_ms, struct writ_resp *ret);

/*
 * Parse a whole answer, buf (len bytes, a NUL after them), as writ_http
 * read it from the socket: a hostile or broken writd, or whoever took its
 * socket path, may have written anything there.  Sets ret's status, body
 * and retry_after (peer_uid is left alone); writes into buf.  Returns 0,
 * or WRIT_HTTP_EPROTO (not HTTP with a JSON body) or WRIT_HTTP_EIO (cut
 * short) with ret->body NULL.
 */
int writ_parse_response(char *buf, size_t len, struct writ_resp *ret);

/*
 * Whether uid may serve writ's sockets: our own effective uid, root, or the
 * uid in $WRIT_SERVER_UID (a writd under a dedicated user; inside a user
 * namespace that does not map writd's uid, the overflow uid, usually 65534).
 * Returns 1 when trusted, 0 when not, or WRIT_HTTP_ESERVERUID when
 * $WRIT_SERVER_UID is set but is not a decimal uid (never trust on a typo).
 */
int writ_uid_trusted(uid_t uid);

/*
 * Read answers of up to max bytes from now on (the admin's lists can be
 * long; an agent's answers never are).
 */
void writ_set_max_response(size_t max);

/* Release r's body; r itself may be on the stack. */
void writ_resp_free(struct writ_resp *r);

/*
 * The error "code" and "message" of an error answer; each is "" when the
 * body has none.  Pointers are owned by r.
 */
void writ_resp_error(const struct writ_resp *r, const char **ret_code,
    const char **ret_message);

/*
 * Tell the user on stderr why an exchange with sock failed: "prog: message
 * (code, HTTP status)" from writd's error body, or the transport error r
 * (for WRIT_HTTP_EPEER: whose socket it is and what to do; resp may then
 * be NULL, which leaves out the uid).
 */
void writ_report(const char *prog, const char *sock, int r, const struct writ_resp *resp);

/* A short description of a WRIT_HTTP_E* code. */
const char *writ_http_strerror(int code);

/*
 * Where writd is: "spool:DIR" when $WRIT_SPOOL names a spool (see spool.h),
 * else the socket from $WRIT_SOCKET, else WRIT_DEFAULT_SOCKET.  writ_http
 * takes either.
 */
const char *writ_socket_path(void);

/* Print s to f with every control character shown as '?': it came from afar. */
void writ_print_clean(FILE *f, const char *s);

#endif
