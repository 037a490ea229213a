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
#include <jansson.h>

/* Where the sandbox finds writd when WRIT_SOCKET is not set. */
#define WRIT_DEFAULT_SOCKET "/run/writ/agent.sock"
/* Largest response read, in bytes, unless writ_set_max_response says otherwise. */
#define WRIT_MAX_RESPONSE (1024 * 1024)

enum {
	WRIT_HTTP_ECONNECT = -1,	/* no writd at that socket */
	WRIT_HTTP_EIO = -2,		/* the connection failed midway */
	WRIT_HTTP_EPROTO = -3,		/* the answer was not HTTP + JSON */
	WRIT_HTTP_ETIMEDOUT = -4,
	WRIT_HTTP_EARG = -5,		/* bad socket path or request */
	WRIT_HTTP_ETOOBIG = -6,		/* the answer is over the size limit */
};

struct writ_resp {
	int status;		/* HTTP status */
	json_t *body;		/* parsed JSON body, or NULL when empty */
	int retry_after;	/* seconds, 0 when absent */
};

/*
 * Send method path (with body of len bytes as JSON when body != NULL) to the
 * Unix socket sock and read the answer, giving up after timeout_ms (-1:
 * never).  Returns 0 and fills *ret (free with writ_resp_free), or a
 * negative WRIT_HTTP_E* code.  The raw answer is zeroed after parsing:
 * it may carry a token.
 */
int writ_http(const char *sock, const char *method, const char *path,
    const char *body, size_t len, int timeout_ms, struct writ_resp *ret);

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
 * (code, HTTP status)" from writd's error body, or the transport error r.
 */
void writ_report(const char *prog, const char *sock, int r, const struct writ_resp *resp);

/* A short description of a WRIT_HTTP_E* code. */
const char *writ_http_strerror(int code);

/* The socket from $WRIT_SOCKET, else WRIT_DEFAULT_SOCKET. */
const char *writ_socket_path(void);

/* Print s to f with every control character shown as '?': it came from afar. */
void writ_print_clean(FILE *f, const char *s);

#endif
