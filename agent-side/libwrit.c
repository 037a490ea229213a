/*
 * libwrit.c - HTTP/1.1 over a Unix socket, JSON with jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libwrit.h"
#include "spool.h"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ms = -1, n;

	if (deadline >= 0) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return WRIT_HTTP_ETIMEDOUT;
		ms = left > 1000000 ? 1000000 : (int)left;
	}
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return WRIT_HTTP_ETIMEDOUT;
	return n < 0 ? WRIT_HTTP_EIO : 0;
}

static int
send_all(int fd, bool sock, const char *p, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);

		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return WRIT_HTTP_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A header's value h as a decimal number of at most max: digits only,
 * with spaces or tabs around them.  Returns it, or -1.
 */
static long long
header_number(const char *h, long long max)
{
	long long n = 0;
	const char *p = h + strspn(h, " \t");

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';

		/* NB. checked before the step: n * 10 + d may not be representable. */
		if (d > max || n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	p += strspn(p, " \t");
	return *p == '\0' || (p[0] == '\r' && p[1] == '\n') ? n : -1;
}

/*
 * Parse "HTTP/1.1 201 Created\r\nK: V\r\n...\r\n\r\nBODY".  NB. strict:
 * whoever holds the socket may be hostile, and what it says decides what
 * the user is told (the status) and which token git is given (the body).
 */
int
writ_parse_response(char *buf, size_t len, struct writ_resp *ret)
{
	char *hdr_end, *line, *body;
	size_t body_len;
	long long clen = -1, v;
	json_error_t je;

	ret->status = 0;
	ret->body = NULL;
	ret->retry_after = 0;
	hdr_end = memmem(buf, len, "\r\n\r\n", 4);
	/* "HTTP/1.x NNN" then a space or the end of the line. */
	if (hdr_end == NULL || hdr_end - buf < 12 || strncmp(buf, "HTTP/1.", 7) != 0 ||
	    buf[7] < '0' || buf[7] > '9' || buf[8] != ' ' || (buf[12] != ' ' && buf[12] != '\r'))
		return WRIT_HTTP_EPROTO;
	/* NB. a NUL would hide the headers after it from the loop below. */
	if (memchr(buf, '\0', (size_t)(hdr_end - buf)) != NULL)
		return WRIT_HTTP_EPROTO;
	*hdr_end = '\0';
	body = hdr_end + 4;
	body_len = len - (size_t)(body - buf);
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return WRIT_HTTP_EPROTO;
		ret->status = ret->status * 10 + (buf[i] - '0');
	}
	if (ret->status < 100 || ret->status > 599)
		return WRIT_HTTP_EPROTO;
	for (line = strstr(buf, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;

		if (strncasecmp(h, "Content-Length:", 15) == 0) {
			/* One length: two that differ leave the body's end to a guess. */
			v = header_number(h + 15, LLONG_MAX);
			if (v < 0 || (clen >= 0 && v != clen))
				return WRIT_HTTP_EPROTO;
			clen = v;
		} else if (strncasecmp(h, "Retry-After:", 12) == 0) {
			/* Seconds only (writd sends no dates); anything else is no advice. */
			v = header_number(h + 12, WRIT_MAX_RETRY_AFTER);
			ret->retry_after = v > 0 ? (int)v : 0;
		} else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
			return WRIT_HTTP_EPROTO;	/* writd never chunks */
	}
	if (clen >= 0) {
		if ((size_t)clen > body_len)
			return WRIT_HTTP_EIO;	/* cut short */
		body_len = (size_t)clen;
	}
	if (body_len == 0)
		return 0;
	ret->body = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &je);
	return ret->body != NULL ? 0 : WRIT_HTTP_EPROTO;
}

int
writ_uid_trusted(uid_t uid)
{
	const char *v = secure_getenv("WRIT_SERVER_UID");
	unsigned long long u;
	char *end;

	if (uid == geteuid() || uid == 0)
		return 1;
	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	u = strtoull(v, &end, 10);
	/* NB. (uid_t)-1 is no uid, and "1000x" or "-1" is a typo, not a wish. */
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || u >= (uid_t)-1)
		return WRIT_HTTP_ESERVERUID;
	return uid == (uid_t)u;
}

/*
 * Who listens on fd's other end?  Whoever creates a socket's path first (in
 * a shared /tmp, or in a directory swapped under us) would otherwise be sent
 * secrets, approvals and requests, and could answer with tokens of its own.
 * NB. the uid is the listener's at listen(), as the kernel recorded it: the
 * other end cannot choose it.
 */
static int
peer_check(int fd, struct writ_resp *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int t;

	ret->peer_uid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 || len != sizeof(uc))
		return WRIT_HTTP_EPEER;
	ret->peer_uid = (long)uc.uid;
	if ((t = writ_uid_trusted(uc.uid)) < 0)
		return t;
	if (t == 0)
		return WRIT_HTTP_EPEER;
	return 0;
}

static size_t max_response = WRIT_MAX_RESPONSE;

void
writ_set_max_response(size_t max)
{
	max_response = max;
}

/* Send the request on fd (a socket, or a FIFO when !sock). */
static int
send_request(int fd, bool sock, const char *method, const char *path,
    const char *body, size_t len, long long deadline)
{
	char head[512];
	int n, r;

	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: writ\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", method, path, body != NULL ? len : 0);
	if (n < 0 || (size_t)n >= sizeof(head))
		return WRIT_HTTP_EARG;
	if ((r = send_all(fd, sock, head, (size_t)n, deadline)) < 0 ||
	    (body != NULL && (r = send_all(fd, sock, body, len, deadline)) < 0))
		return r;
	return 0;
}

/* Read fd to EOF (at most max_response bytes) and parse the answer. */
static int
read_answer(int fd, long long deadline, struct writ_resp *ret)
{
	char *buf = NULL;
	size_t got = 0, cap = 0;
	int r;

	for (;;) {
		ssize_t k;

		if (got == cap) {
			char *nb;

			if (cap >= max_response) {
				r = WRIT_HTTP_ETOOBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			nb = malloc(cap + 1);
			if (nb == NULL) {
				r = WRIT_HTTP_EIO;
				goto out;
			}
			if (buf != NULL) {
				memcpy(nb, buf, got);
				explicit_bzero(buf, got);
				free(buf);
			}
			buf = nb;
		}
		if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
		k = read(fd, buf + got, cap - got);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0) {
			r = WRIT_HTTP_EIO;
			goto out;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got == 0) {
		r = WRIT_HTTP_EIO;
		goto out;
	}
	buf[got] = '\0';
	r = writ_parse_response(buf, got, ret);
	if (r < 0)
		writ_resp_free(ret);
 out:
	if (buf != NULL) {
		explicit_bzero(buf, cap);
		free(buf);
	}
	return r;
}

/*
 * Is dir a spool we may talk through: a directory of a uid we trust that
 * no one else may enter?  Else a planted one could collect our requests
 * and answer them (see peer_check).
 */
static int
spool_check(const char *dir, struct writ_resp *ret)
{
	struct stat st;
	int t;

	ret->peer_uid = -1;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return WRIT_HTTP_ECONNECT;
	ret->peer_uid = (long)st.st_uid;
	if ((t = writ_uid_trusted(st.st_uid)) < 0)
		return t;
	if (t == 0 || (st.st_mode & 077) != 0)
		return WRIT_HTTP_EPEER;
	return 0;
}

/*
 * One exchange through the spool at dir (see spool.h): make and open the
 * FIFO pair, send, wait for the relay's ack, read the answer.  The FIFOs
 * are gone after, whatever happened.
 */
static int
spool_http(const char *dir, const char *method, const char *path,
    const char *body, size_t len, long long deadline, struct writ_resp *ret)
{
	char req[PATH_MAX], res[PATH_MAX], tmp[PATH_MAX], name[SPOOL_NAME_LEN + 1], ack;
	unsigned char rnd[SPOOL_NAME_LEN / 2];
	long long pickup = now_ms() + SPOOL_PICKUP_MS;
	int rfd = -1, wfd = -1, r;
	ssize_t k;

	if ((r = spool_check(dir, ret)) < 0)
		return r;
	/* NB. the request must fit the FIFO's buffer: no one reads it until it is whole. */
	if ((body != NULL ? len : 0) > SPOOL_MAX_REQUEST - 512)
		return WRIT_HTTP_EARG;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return WRIT_HTTP_EIO;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(name + 2 * i, 3, "%02x", rnd[i]);
	if ((size_t)snprintf(req, sizeof(req), "%s/%s.req", dir, name) >= sizeof(req) ||
	    (size_t)snprintf(res, sizeof(res), "%s/%s.res", dir, name) >= sizeof(res) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.new", dir, name) >= sizeof(tmp))
		return WRIT_HTTP_EARG;
	/* NB. the answer's FIFO first: the relay opens it as soon as it sees N.req. */
	if (mkfifo(res, 0600) != 0)
		return WRIT_HTTP_ECONNECT;
	r = WRIT_HTTP_ECONNECT;
	if ((rfd = open(res, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 || mkfifo(tmp, 0600) != 0)
		goto out;
	/* Read-write: opening a FIFO to write would block (or fail) until the relay reads. */
	if ((wfd = open(tmp, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		goto out;
	if ((r = send_request(wfd, false, method, path, body, len, deadline)) < 0)
		goto out;
	/* Only now, whole and held open, does the relay see it: it takes N.req on sight. */
	if (rename(tmp, req) != 0) {
		r = WRIT_HTTP_ECONNECT;
		goto out;
	}
	if (deadline >= 0 && deadline < pickup)
		pickup = deadline;
	do {
		if ((r = wait_fd(rfd, POLLIN, pickup)) < 0) {
			/* No relay took it: as good as no socket to connect to. */
			r = r == WRIT_HTTP_ETIMEDOUT ? WRIT_HTTP_ECONNECT : r;
			goto out;
		}
		k = read(rfd, &ack, 1);
	} while (k < 0 && (errno == EINTR || errno == EAGAIN));
	if (k != 1 || ack != SPOOL_ACK) {
		r = k == 1 ? WRIT_HTTP_EPROTO : WRIT_HTTP_EIO;
		goto out;
	}
	r = read_answer(rfd, deadline, ret);
 out:
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	/* NB. the relay unlinks them when it takes them: ENOENT is the usual case. */
	(void)unlink(tmp);
	(void)unlink(req);
	(void)unlink(res);
	return r;
}

int
writ_http(const char *sock, const char *method, const char *path,
    const char *body, size_t len, int timeout_ms, struct writ_resp *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int fd, r;

	memset(ret, 0, sizeof(*ret));
	if (strchr(path, '\n') || strchr(path, '\r'))
		return WRIT_HTTP_EARG;
	if (strncmp(sock, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) == 0)
		return spool_http(sock + strlen(SPOOL_PREFIX), method, path, body, len,
		    deadline, ret);
	if (strlen(sock) >= sizeof(sa.sun_path))
		return WRIT_HTTP_EARG;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return WRIT_HTTP_EIO;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return WRIT_HTTP_ECONNECT;
	}
	/* NB. before the first byte goes out: the request line alone may tell. */
	if ((r = peer_check(fd, ret)) == 0 &&
	    (r = send_request(fd, true, method, path, body, len, deadline)) == 0)
		r = read_answer(fd, deadline, ret);
	close(fd);
	return r;
}

void
writ_resp_free(struct writ_resp *r)
{
	json_decref(r->body);
	r->body = NULL;
}

void
writ_resp_error(const struct writ_resp *r, const char **ret_code,
    const char **ret_message)
{
	json_t *e = json_object_get(r->body, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *m = json_string_value(json_object_get(e, "message"));

	*ret_code = c != NULL ? c : "";
	*ret_message = m != NULL ? m : "";
}

void
writ_report(const char *prog, const char *sock, int r, const struct writ_resp *resp)
{
	const char *code, *msg;

	if (r == WRIT_HTTP_EPEER && strncmp(sock, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) == 0) {
		fprintf(stderr, "%s: refusing the spool %s: it must be a directory of "
		    "yours (or root's, or $WRIT_SERVER_UID's) that no one else may enter; "
		    "another user may have planted it.  Nothing was sent.\n", prog,
		    sock + strlen(SPOOL_PREFIX));
		return;
	}
	if (r == WRIT_HTTP_EPEER && resp != NULL && resp->peer_uid >= 0) {
		fprintf(stderr, "%s: refusing the socket at %s: it belongs to uid %ld, "
		    "not to you (uid %u) or root; another user may have planted it to "
		    "catch what you send.  Nothing was sent.\n"
		    "  Fix: do not use it; see who made it (ls -ln %s), remove it, and "
		    "use a runtime dir only you can write.\n"
		    "  Only if writd really runs as uid %ld (a dedicated user, or 65534 "
		    "inside a user namespace that does not map writd's uid), set "
		    "WRIT_SERVER_UID=%ld.\n", prog, sock, resp->peer_uid,
		    (unsigned)geteuid(), sock, resp->peer_uid, resp->peer_uid);
		return;
	}
	if (r == WRIT_HTTP_EPEER || r == WRIT_HTTP_ESERVERUID) {
		fprintf(stderr, "%s: %s at %s; nothing was sent\n", prog,
		    writ_http_strerror(r), sock);
		return;
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s at %s (%s)\n", prog, writ_http_strerror(r), sock,
		    strncmp(sock, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) != 0 ? "is writd running?" :
		    r == WRIT_HTTP_ECONNECT ? "no relay took the request: is writ-sandbox "
		    "still running?" : "through writ-sandbox's spool");
		return;
	}
	writ_resp_error(resp, &code, &msg);
	fprintf(stderr, "%s: ", prog);
	writ_print_clean(stderr, *msg != '\0' ? msg : "request failed");
	fprintf(stderr, " (%s, HTTP %d)\n", *code != '\0' ? code : "error", resp->status);
}

const char *
writ_http_strerror(int code)
{
	switch (code) {
	case WRIT_HTTP_ECONNECT: return "cannot connect to writd";
	case WRIT_HTTP_EIO: return "the connection to writd failed";
	case WRIT_HTTP_EPROTO: return "writd's answer was not understood";
	case WRIT_HTTP_ETIMEDOUT: return "writd did not answer in time";
	case WRIT_HTTP_EARG: return "bad socket path or request";
	case WRIT_HTTP_ETOOBIG: return "writd's answer is larger than this client reads";
	case WRIT_HTTP_EPEER: return "the socket is not served by you, root or "
	    "$WRIT_SERVER_UID (another user may have planted it)";
	case WRIT_HTTP_ESERVERUID: return "WRIT_SERVER_UID is set but is not a uid "
	    "(a decimal number such as 65534)";
	default: return "unknown error";
	}
}

const char *
writ_socket_path(void)
{
	static char spool[PATH_MAX + sizeof(SPOOL_PREFIX)];
	const char *s = getenv("WRIT_SPOOL");

	/* NB. set by writ-sandbox in a sandbox that forbids sockets: it wins. */
	if (s != NULL && *s != '\0') {
		if ((size_t)snprintf(spool, sizeof(spool), "%s%s", SPOOL_PREFIX, s) >= sizeof(spool))
			return SPOOL_PREFIX;	/* no such spool: fails, never elsewhere */
		return spool;
	}
	s = getenv("WRIT_SOCKET");
	return s != NULL && *s != '\0' ? s : WRIT_DEFAULT_SOCKET;
}

void
writ_print_clean(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
	}
}
