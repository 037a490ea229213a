/*
 * relay.c - a spool's requests to a session socket, one poll loop.
 *
 * Each exchange (struct xfer) goes READ (the request from N.req, framed by
 * its Content-Length) -> SEND (to writd) -> COPY (writd's answer to N.res,
 * as it comes, until writd closes).  N.res is polled all along: POLLERR
 * there means the client is gone, and closing its connection tells writd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "../agent-side/libwrit.h"
#include "../agent-side/spool.h"
#include "relay.h"

enum phase { READ, SEND, COPY };

struct xfer {
	enum phase phase;
	int req, res, sock;
	char *buf;			/* the request: SPOOL_MAX_REQUEST bytes */
	size_t len, need, off;		/* read so far; its whole length (0: not known yet); sent */
	char out[16384];		/* writd's answer on its way to N.res */
	size_t olen, ooff;
	bool eof;			/* writd closed */
	long long deadline;		/* ms, monotonic */
};

#define BUSY_BODY "{\"error\":{\"code\":\"busy\",\"message\":\"too many requests in " \
    "flight through writ-sandbox's spool; retry later\"}}"
/* NB. the length is counted, never written by hand: a wrong one cuts or hangs the answer. */
static const char busy_body[] = BUSY_BODY;


static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
xfer_free(struct xfer *x)
{
	if (x->req >= 0)
		close(x->req);
	if (x->res >= 0)
		close(x->res);
	if (x->sock >= 0)
		close(x->sock);
	free(x->buf);
	/* NB. out held writd's answers on their way: tokens among them. */
	explicit_bzero(x, sizeof(*x));
	free(x);
}

/* Open name in dir as a FIFO of our uid (flags: O_RDONLY or O_WRONLY); -1 if not. */
static int
open_fifo(int dirfd, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new exchange for N.req in the spool, or NULL when it is not one we take. */
static struct xfer *
take(int dirfd, const char *name, unsigned int inflight)
{
	size_t n = strlen(name);
	char res[SPOOL_NAME_LEN + 5];
	struct xfer *x;
	char ack = SPOOL_ACK;

	if (n != SPOOL_NAME_LEN + 4 || strcmp(name + SPOOL_NAME_LEN, ".req") != 0 ||
	    strspn(name, "0123456789abcdef") != SPOOL_NAME_LEN)
		return NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->sock = -1;
	x->res = -1;
	snprintf(res, sizeof(res), "%.*s.res", SPOOL_NAME_LEN, name);
	x->req = open_fifo(dirfd, name, O_RDONLY);
	/* NB. ENXIO: the client is not reading its answer, so it is gone. */
	if (x->req >= 0)
		x->res = open_fifo(dirfd, res, O_WRONLY);
	/* Taken: no one else opens them from now on. */
	(void)unlinkat(dirfd, name, 0);
	(void)unlinkat(dirfd, res, 0);
	if (x->res < 0 || write(x->res, &ack, 1) != 1) {
		xfer_free(x);
		return NULL;
	}
	if (inflight >= RELAY_MAX_INFLIGHT) {
		char busy[256];
		int k = snprintf(busy, sizeof(busy), "HTTP/1.1 503 Service Unavailable\r\n"
		    "Connection: close\r\nContent-Type: application/json\r\n"
		    "Retry-After: 1\r\nContent-Length: %zu\r\n\r\n%s",
		    sizeof(busy_body) - 1, busy_body);

		/* NB. fits the pipe's buffer: written at once or not at all. */
		if (k > 0 && (size_t)k < sizeof(busy))
			(void)!write(x->res, busy, (size_t)k);
		xfer_free(x);
		return NULL;
	}
	if ((x->buf = malloc(SPOOL_MAX_REQUEST)) == NULL) {
		xfer_free(x);
		return NULL;
	}
	x->phase = READ;
	x->deadline = now_ms() + RELAY_READ_MS;
	return x;
}

/*
 * The request's whole length once its head is in: head plus Content-Length.
 * 0: not yet.  -1: not one we relay (no Content-Length, chunked, too big).
 */
static long
framed(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *h;
	long clen = -1;

	if (end == NULL)
		return len >= SPOOL_MAX_REQUEST || memchr(buf, '\0', len) != NULL ? -1 : 0;
	/*
	 * NB. every line ends in CRLF, and no CR, LF or NUL is anywhere else:
	 * libmicrohttpd takes a bare LF as a line's end, and a header we did
	 * not see (a second Content-Length) would frame a second request.
	 */
	for (const char *c = buf; c < end; c++)
		if (*c == '\0' || (*c == '\r' && c[1] != '\n') ||
		    (*c == '\n' && (c == buf || c[-1] != '\r')))
			return -1;
	for (h = memmem(buf, (size_t)(end - buf), "\r\n", 2); h != NULL && h < end;
	    h = memmem(h + 2, (size_t)(end - h), "\r\n", 2)) {
		if (strncasecmp(h + 2, "Transfer-Encoding:", 18) == 0)
			return -1;
		if (strncasecmp(h + 2, "Content-Length:", 15) == 0) {
			char *e;

			if (clen >= 0)
				return -1;	/* two: which one would writd believe? */
			errno = 0;
			clen = strtol(h + 17, &e, 10);
			if (errno != 0 || clen < 0 || (*e != '\r' && *e != ' '))
				return -1;
		}
	}
	if (clen < 0 || (size_t)(end + 4 - buf) + (size_t)clen > SPOOL_MAX_REQUEST)
		return -1;
	return (long)(end + 4 - buf) + clen;
}

/* Connect to the session socket, served by a uid we trust; -1 if not. */
static int
connect_session(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int fd;

	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    writ_uid_trusted(uc.uid) <= 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Move x along as far as it goes without blocking.  false: it is over. */
static bool
step(struct xfer *x, const char *sock, bool gone)
{
	ssize_t k;

	if (gone)
		return false;	/* the client went away */
	if (x->phase == READ) {
		long need;

		k = read(x->req, x->buf + x->len, SPOOL_MAX_REQUEST - x->len);
		if (k < 0)
			return errno == EAGAIN || errno == EINTR;
		if (k == 0)
			return false;
		x->len += (size_t)k;
		if ((need = framed(x->buf, x->len)) < 0)
			return false;
		if (need == 0 || x->len < (size_t)need)
			return true;
		/* NB. what came after the request is not sent: one request per exchange. */
		x->need = (size_t)need;
		close(x->req);
		x->req = -1;
		if ((x->sock = connect_session(sock)) < 0)
			return false;
		x->phase = SEND;
		return true;
	}
	if (x->phase == SEND) {
		k = send(x->sock, x->buf + x->off, x->need - x->off, MSG_NOSIGNAL);
		if (k < 0)
			return errno == EAGAIN || errno == EINTR;
		x->off += (size_t)k;
		if (x->off == x->need) {
			free(x->buf);
			x->buf = NULL;
			x->phase = COPY;
			x->deadline = -1;
		}
		return true;
	}
	if (x->ooff < x->olen) {
		k = write(x->res, x->out + x->ooff, x->olen - x->ooff);
		if (k < 0)
			return errno == EAGAIN || errno == EINTR;
		x->ooff += (size_t)k;
		x->deadline = x->ooff < x->olen ? now_ms() + RELAY_STALL_MS : -1;
		return true;
	}
	if (x->eof)
		return false;
	k = read(x->sock, x->out, sizeof(x->out));
	if (k < 0)
		return errno == EAGAIN || errno == EINTR;
	if (k == 0) {
		x->eof = true;
		return false;
	}
	x->olen = (size_t)k;
	x->ooff = 0;
	x->deadline = now_ms() + RELAY_STALL_MS;
	return true;
}

/* The fd x waits on now, and for what. */
static void
wants(const struct xfer *x, struct pollfd *p)
{
	if (x->phase == READ) {
		p->fd = x->req;
		p->events = POLLIN;
	} else if (x->phase == SEND) {
		p->fd = x->sock;
		p->events = POLLOUT;
	} else if (x->ooff < x->olen) {
		p->fd = x->res;
		p->events = POLLOUT;
	} else {
		p->fd = x->sock;
		p->events = POLLIN;
	}
}

/* Take every N.req already in the spool (at start, and after an inotify overflow). */
static void
scan(int dirfd, struct xfer **xs, unsigned int *n)
{
	int fd = dup(dirfd);
	struct dirent *e;
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		struct xfer *x = take(dirfd, e->d_name, *n);

		if (x != NULL)
			xs[(*n)++] = x;
	}
	closedir(d);
}

int
relay_run(const char *dir, const char *sock, int pidfd, char err[WRIT_ERRLEN])
{
	struct xfer *xs[RELAY_MAX_INFLIGHT] = { NULL };
	struct pollfd p[2 + 2 * RELAY_MAX_INFLIGHT];
	unsigned int n = 0;
	int in, dirfd;

	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, WRIT_ERRLEN, "the session socket path is too long");
		return WRIT_EINTERNAL;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* NB. not IN_CREATE: a client renames its request in once it is whole (spool.h). */
	if (dirfd < 0 || in < 0 || inotify_add_watch(in, dir, IN_MOVED_TO | IN_ONLYDIR |
	    IN_DONT_FOLLOW) < 0) {
		snprintf(err, WRIT_ERRLEN, "cannot watch the spool %s: %s", dir, strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		if (in >= 0)
			close(in);
		return WRIT_EINTERNAL;
	}
	/* NB. a client that leaves writes to a FIFO no one reads: EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	scan(dirfd, xs, &n);
	for (;;) {
		long long now = now_ms(), next = -1;
		unsigned int i, np = 2;
		int ms;

		p[0] = (struct pollfd){ .fd = in, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		for (i = 0; i < n; i++) {
			wants(xs[i], &p[np]);
			p[np + 1] = (struct pollfd){ .fd = xs[i]->res, .events = 0 };
			np += 2;
			if (xs[i]->deadline >= 0 && (next < 0 || xs[i]->deadline < next))
				next = xs[i]->deadline;
		}
		ms = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
		if (poll(p, np, ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;	/* the sandbox exited */
		now = now_ms();
		/* Backwards, so that removing i moves only what was already seen. */
		for (i = n; i-- > 0;) {
			const struct pollfd *a = &p[2 + 2 * i], *r = &p[3 + 2 * i];
			/* POLLERR on N.res: no one reads it any more. */
			bool gone = ((r->revents | (a->fd == xs[i]->res ? a->revents : 0)) &
			    (POLLERR | POLLHUP)) != 0, ok = true;

			if (a->revents != 0 || gone)
				ok = step(xs[i], sock, gone);
			if (ok && xs[i]->deadline >= 0 && xs[i]->deadline <= now)
				ok = false;
			if (!ok) {
				xfer_free(xs[i]);
				xs[i] = xs[--n];
			}
		}
		if (p[0].revents & POLLIN) {
			char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t len;

			while ((len = read(in, ev, sizeof(ev))) > 0) {
				for (char *q = ev; q < ev + len;) {
					const struct inotify_event *e = (const struct inotify_event *)q;

					if (e->mask & IN_Q_OVERFLOW)
						scan(dirfd, xs, &n);
					else if (e->len > 0) {
						struct xfer *x = take(dirfd, e->name, n);

						if (x != NULL)
							xs[n++] = x;
					}
					q += sizeof(*e) + e->len;
				}
			}
		}
	}
	while (n > 0)
		xfer_free(xs[--n]);
	close(in);
	close(dirfd);
	return 0;
}
