/*
 * server.c - one libmicrohttpd daemon behind our own accept loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "approval.h"
#include "approver.h"
#include "record.h"
#include "config.h"
#include "core.h"
#include "errors.h"
#include "fsutil.h"
#include "id.h"
#include "jdump.h"
#include "peer.h"
#include "secret.h"
#include "server.h"
#include "session.h"
#include "minter/minter.h"
#include "writs.h"

/* epoll data of a connection watched for hangup: the fd with this bit. */
#define HANGUP_TAG (1ULL << 62)
/* epoll data of an approver command's pidfd. */
#define CHILD_TAG (1ULL << 61)
/* epoll data of the pidfd of a process a session is tied to. */
#define SESSION_TAG (1ULL << 60)
/* epoll data of a refused connection lingering for its 503: slot | this bit. */
#define LINGER_TAG (1ULL << 59)
/* Connections accepted (admitted or refused) per listener per wakeup. */
#define ACCEPT_BATCH 64
/* Milliseconds between deadline sweeps while any connection is open. */
#define SWEEP_MS 1000
/* File descriptors writd needs besides its connections (logs, ledger, epoll ...). */
#define FD_SLACK 64
/*
 * NB. libmicrohttpd's own connection limit must never be reached: 0.9.75
 * can wedge inside itself when MHD_add_connection takes it past it (issue
 * 10), and it would answer nothing anyway.  Our accept loop admits at most
 * max_conns at once in all (counted at accept, un-counted at NOTIFY_CLOSED
 * or a failed add).  libmicrohttpd still counts a connection for a moment
 * after NOTIFY_CLOSED, until its cleanup loop (one connection at a time per
 * MHD thread) takes it off: so its count stays below max_conns +
 * WRIT_HTTP_THREADS.  Twice max_conns plus a margin is far above that.
 */
#define MHD_LIMIT(max_conns) ((max_conns) * 2 + WRIT_HTTP_THREADS + 16)

struct listener {
	int fd;
	char tag[WRIT_ID_LEN + 1];			/* session id, or "admin" */
	bool closed;
	struct listener *next;		/* in listeners, then in graveyard */
};

static struct MHD_Daemon *daemon_;
/* Who answers a complete request (api_dispatch): the front knows no route. */
static enum MHD_Result (*route)(struct MHD_Connection *, struct req *, const char *,
    const char *);
static int epfd = -1, wakefd = -1;
/* Held open to be given up when accept runs out of fds (see accept_some). */
static int spare_fd = -1;
static pthread_t acceptor;
static bool acceptor_running, stopping;
static struct listener *listeners, *graveyard;
static unsigned int nrequests;		/* requests between start and completion */
static unsigned int nsuspended;		/* ... of them suspended */
static unsigned int nconns;		/* admitted connections, admin and sessions */
static unsigned int nsession_conns;	/* ... of them on session sockets */
static struct conn *live;		/* connections libmicrohttpd has started */
static int64_t last_sweep;
/* Refused connections waiting a moment for their client (see refuse()). */
static struct {
	int fd;				/* -1: free */
	int64_t until;			/* monotonic */
} linger[WRIT_MAX_LINGER];
static unsigned int nlinger;
/* The 503s a refused connection gets, whole HTTP responses. */
static char busy_session[512], busy_global[512];
static size_t busy_session_len, busy_global_len;

static enum MHD_Result
queue(struct MHD_Connection *c, unsigned int status, json_t *body, int retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	static const char nomem[] =
	    "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
	char *text;
	size_t len = 0;

	/* NB. jdump leaves room for the newline and no stray copy of a token. */
	text = body != NULL ? jdump(body, JSON_COMPACT, &len) : NULL;
	json_decref(body);
	if (text == NULL) {
		status = 500;
		len = sizeof(nomem) - 1;
		if ((text = malloc(len + 2)) == NULL)
			return MHD_NO;
		memcpy(text, nomem, len);
	}
	/* One trailing newline, for people reading curl's output. */
	text[len++] = '\n';
	text[len] = '\0';
	/* NB. the body may carry a token: its buffer is zeroed when freed. */
	resp = MHD_create_response_from_buffer_with_free_callback(len, text, secret_zfree);
	if (resp == NULL) {
		secret_zfree(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* A refused connection should not linger holding a slot. */
	if (status == 503)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (retry_after > 0) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned int status, json_t *body)
{
	return queue(c, status, body, 0);
}

enum MHD_Result
reply_error_with(struct MHD_Connection *c, int code, const char *detail,
    json_t *extra, int retry_after)
{
	const struct writ_error *e = errors_lookup(code);
	json_t *body = json_pack("{s{ssss}}", "error", "code", e->name,
	    "message", detail != NULL ? detail : e->message);

	if (body != NULL && extra != NULL)
		json_object_update(json_object_get(body, "error"), extra);
	json_decref(extra);
	if (retry_after <= 0 && (e->status == 429 || e->status == 503))
		retry_after = 1;
	return queue(c, e->status, body, retry_after);
}

enum MHD_Result
reply_error(struct MHD_Connection *c, int code, const char *detail)
{
	return reply_error_with(c, code, detail, NULL, 0);
}

/*
 * The connection deadline.  libmicrohttpd's CONNECTION_TIMEOUT is idle
 * time: a client that sends one byte of its request (or reads one byte of
 * its answer) every few seconds would hold its connection forever.  So each
 * connection also has a total deadline, request_timeout after it was
 * accepted or after its last response was sent: the time a client may spend
 * sending a request and reading its answer.  Time suspended (waiting for a
 * human or upstream, or a long-poll: bounded by approval.timeout,
 * limits.max_wait and the upstream timeouts) does not count, and a resumed
 * request gets request_timeout afresh to send its answer.  The accept loop
 * cuts a connection past its deadline.  Lock held.
 */
static void
conn_arm(struct conn *conn)
{
	conn->deadline = now_mono() + writd_cfg->request_timeout;
}

void
server_suspend(struct MHD_Connection *c, struct req *rq)
{
	MHD_suspend_connection(c);
	rq->suspended = true;
	nsuspended++;
	rq->conn->deadline = 0;
}

void
server_resume(struct MHD_Connection *c, struct req *rq)
{
	if (!rq->suspended)
		return;
	rq->suspended = false;
	nsuspended--;
	conn_arm(rq->conn);
	MHD_resume_connection(c);
}

void
server_watch_hangup(int fd, bool on)
{
	struct epoll_event ev = { .events = EPOLLRDHUP, .data.u64 = HANGUP_TAG | (uint64_t)fd };

	if (on)
		(void)epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	else
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

void
server_watch_child(int pidfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = CHILD_TAG | (uint64_t)pidfd };

	(void)epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev);
}

void
server_watch_session(int pidfd, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SESSION_TAG | (uint64_t)pidfd };

	(void)epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, pidfd, on ? &ev : NULL);
}

void
server_unwatch_child(int pidfd)
{
	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, pidfd, NULL);
}

int
server_listen(const char *path, const char *tag, struct listener **ret,
    char err[WRIT_ERRLEN])
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct listener *l;
	int r, fd;

	if ((r = fs_listen_unix(path, &fd, err)) < 0)
		return r;
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		close(fd);
		return WRIT_ENOMEM;
	}
	l->fd = fd;
	snprintf(l->tag, sizeof(l->tag), "%s", tag);
	ev.data.ptr = l;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		snprintf(err, WRIT_ERRLEN, "epoll: %s", strerror(errno));
		close(fd);
		free(l);
		return WRIT_EINTERNAL;
	}
	l->next = listeners;
	listeners = l;
	*ret = l;
	return 0;
}

void
server_unlisten(struct listener *l)
{
	struct listener **pp;

	if (l == NULL || l->closed)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, l->fd, NULL);
	close(l->fd);
	l->closed = true;
	for (pp = &listeners; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	/* NB. freed by the accept loop: an event it already holds may name l. */
	l->next = graveyard;
	graveyard = l;
}

/* Un-count conn: every count taken when it was admitted.  Lock held. */
static void
conn_release(struct conn *conn)
{
	nconns--;
	if (conn->session != NULL) {
		nsession_conns--;
		conn->session->conns--;
		session_unref(conn->session);
		conn->session = NULL;
	}
}

/*
 * A connection starts: take the caller's identity now, before its pid can
 * be reused.  Its counts were taken by the accept loop, which passed conn
 * through the address; they are given back when it closes.
 */
static void
notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ai;
	struct conn *conn = *socket_context;
	int r;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (conn == NULL)
			return;
		pthread_mutex_lock(&writd_lock);
		/* NB. libmicrohttpd closes the fd after this: the sweep must forget it now. */
		if (conn->live) {
			if (conn->prev != NULL)
				conn->prev->next = conn->next;
			else
				live = conn->next;
			if (conn->next != NULL)
				conn->next->prev = conn->prev;
		}
		conn_release(conn);
		pthread_mutex_unlock(&writd_lock);
		peer_free(conn->peer);
		free(conn);
		*socket_context = NULL;
		return;
	}
	ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	memcpy(&conn, ((const struct sockaddr_un *)ai->client_addr)->sun_path, sizeof(conn));
	*socket_context = conn;
	/* Outside the lock: this reads /proc. */
	r = peer_from_socket(conn->fd, &conn->peer);
	pthread_mutex_lock(&writd_lock);
	if (r < 0)
		conn->refuse = r;
	else if (conn->session == NULL) {
		/*
		 * The admin socket approves: only our own user (or root), and
		 * not from inside a sandbox, should one show it the socket.
		 */
		if ((conn->peer->uid != geteuid() && conn->peer->uid != 0) ||
		    conn->peer->other_userns)
			conn->refuse = WRIT_EFORBIDDEN;
	} else if (conn->session->closed)
		conn->refuse = WRIT_ECLOSED;
	else if (conn->session->spool) {
		/*
		 * NB. only the relay: another process that found the socket
		 * (Codex shows writd's runtime dir) would pass for the
		 * unverified caller of this session.
		 */
		if (conn->peer->pid != conn->session->relay_pid || conn->peer->start == 0 ||
		    conn->peer->start != conn->session->relay_start)
			conn->refuse = WRIT_ENOTRELAY;
		conn->peer->relayed = true;
	}
	conn->live = true;
	conn->prev = NULL;
	conn->next = live;
	if (live != NULL)
		live->prev = conn;
	live = conn;
	pthread_mutex_unlock(&writd_lock);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)version;
	if (rq == NULL) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		const char *cl;

		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		*con_cls = rq;
		rq->mhd = c;
		rq->conn = ci != NULL ? ci->socket_context : NULL;
		pthread_mutex_lock(&writd_lock);
		nrequests++;
		pthread_mutex_unlock(&writd_lock);
		if (rq->conn == NULL)
			return MHD_NO;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		/* Refuse an oversized body before reading a byte of it. */
		if (cl != NULL && (strlen(cl) > 9 || strtoul(cl, NULL, 10) > WRIT_MAX_BODY)) {
			rq->too_big = true;
			return reply_error(c, WRIT_ETOOBIG, "the body is larger than "
			    "32768 bytes");
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!rq->too_big && rq->len + *upload_size <= WRIT_MAX_BODY) {
			/*
			 * NB. one buffer of the largest size, never realloc'd: a
			 * secret being uploaded must not leave copies behind.
			 */
			if (rq->body == NULL && (rq->body = malloc(WRIT_MAX_BODY + 1)) == NULL)
				return MHD_NO;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		} else
			rq->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return reply_error(c, WRIT_ETOOBIG, "the body is larger than 32768 bytes");
	if (rq->conn->refuse != 0)
		return reply_error(c, rq->conn->refuse, NULL);
	return route(c, rq, method, url);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq == NULL)
		return;
	pthread_mutex_lock(&writd_lock);
	if (rq->state_free != NULL)
		rq->state_free(rq->state);
	if (rq->poller != NULL)
		approval_unwait(rq->poller);
	nrequests--;
	/* The next request on this connection starts its own deadline. */
	if (rq->conn != NULL)
		conn_arm(rq->conn);
	pthread_mutex_unlock(&writd_lock);
	free(rq->poller);
	if (rq->body != NULL) {
		sodium_memzero(rq->body, rq->len);
		free(rq->body);
	}
	free(rq);
	*con_cls = NULL;
}

/* Close refused connection slot i, reading what its client sent first.  Lock held. */
static void
linger_end(unsigned int i)
{
	char buf[512];

	/* NB. unread bytes at close would reset the connection under the 503. */
	for (int k = 0; k < 8 && recv(linger[i].fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; k++)
		;
	epoll_ctl(epfd, EPOLL_CTL_DEL, linger[i].fd, NULL);
	close(linger[i].fd);
	linger[i].fd = -1;
	nlinger--;
}

/*
 * Refuse fd (over a cap): never handed to libmicrohttpd, counted against
 * nothing.  It gets its 503 at once (a few hundred bytes: an empty socket
 * buffer takes them) and EOF after it.  It is then kept a moment, up to
 * WRIT_MAX_LINGER of them for WRIT_LINGER_SECS, only so its client can
 * still write its request: closed first, the client's write would fail
 * (EPIPE) before it reads why.  The pool full, it is closed at once: a
 * flood gets nothing but EOF.  Lock held.
 */
static void
refuse(int fd, const char *reply, size_t len)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };

	(void)send(fd, reply, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	if (nlinger < WRIT_MAX_LINGER)
		for (unsigned int i = 0; i < WRIT_MAX_LINGER; i++) {
			if (linger[i].fd >= 0)
				continue;
			ev.data.u64 = LINGER_TAG | i;
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
				break;
			linger[i].fd = fd;
			linger[i].until = now_mono() + WRIT_LINGER_SECS;
			nlinger++;
			return;
		}
	close(fd);
}

/* Connections sessions may hold together: max_conns less the admin reserve. */
static unsigned int
session_budget(void)
{
	unsigned int max = writd_cfg->max_conns;

	return max - (max / 2 < WRIT_ADMIN_RESERVE ? max / 2 : WRIT_ADMIN_RESERVE);
}

/*
 * Accept what l has waiting and enforce every connection cap here, before
 * libmicrohttpd sees a connection: one over its session's cap, over the
 * sessions' share of max_conns, or over max_conns is refused.  An admitted
 * one is counted now and gets its conn; the caller hands them to
 * libmicrohttpd unlocked.  Returns the new number of conns.  Lock held.
 */
static size_t
accept_some(struct listener *l, struct conn *conns[], size_t n, size_t max)
{
	bool admin = strcmp(l->tag, "admin") == 0;
	/* Once per batch: the session cannot close while we hold the lock. */
	struct session *s = admin ? NULL : session_find(l->tag);

	for (int i = 0; i < ACCEPT_BATCH && n < max; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct conn *conn;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
			/*
			 * NB. out of fds, the listener stays readable and the loop
			 * would spin: free the spare, take the connection, close it,
			 * and hold the spare again.
			 */
			close(spare_fd);
			if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				close(fd);
			spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				break;
			continue;
		}
		if (fd < 0)
			break;
		if (!admin && s == NULL) {
			close(fd);	/* its session is closing: nothing to serve */
			continue;
		}
		if (!admin && s->conns >= writd_cfg->max_session_conns) {
			refuse(fd, busy_session, busy_session_len);
			continue;
		}
		if (nconns >= writd_cfg->max_conns ||
		    (!admin && nsession_conns >= session_budget())) {
			refuse(fd, busy_global, busy_global_len);
			continue;
		}
		if ((conn = calloc(1, sizeof(*conn))) == NULL) {
			close(fd);
			continue;
		}
		conn->fd = fd;
		conn_arm(conn);
		nconns++;
		if (!admin) {
			session_ref(s);
			s->conns++;
			nsession_conns++;
			conn->session = s;
		}
		conns[n++] = conn;
	}
	return n;
}

/*
 * Once a second at most: close refused connections whose moment is over,
 * and cut connections past their deadline.  Shutting the socket down makes
 * libmicrohttpd read EOF and close it (then NOTIFY_CLOSED un-counts it).
 * NB. safe from fd reuse: a conn leaves the live list, under the lock,
 * before libmicrohttpd closes its fd.  Lock held.
 */
static void
sweep(void)
{
	int64_t now = now_mono();

	if (now == last_sweep)
		return;
	last_sweep = now;
	for (unsigned int i = 0; i < WRIT_MAX_LINGER && nlinger > 0; i++)
		if (linger[i].fd >= 0 && linger[i].until <= now)
			linger_end(i);
	for (struct conn *c = live; c != NULL; c = c->next)
		if (c->deadline != 0 && c->deadline <= now) {
			(void)shutdown(c->fd, SHUT_RDWR);
			c->deadline = 0;
		}
}

static void
hangup(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	/* The event may be stale and fd reused: look at the socket itself. */
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		approval_hangup(fd);
}

static void *
accept_main(void *arg)
{
	struct epoll_event evs[32];
	struct writ *revoke;
	struct conn *conns[ACCEPT_BATCH * 4];
	int tick = -1;

	(void)arg;
	for (;;) {
		size_t nc = 0;
		int n = epoll_wait(epfd, evs, 32, tick);

		revoke = NULL;
		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&writd_lock);
		if (stopping) {
			pthread_mutex_unlock(&writd_lock);
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 & HANGUP_TAG)
				hangup((int)(evs[i].data.u64 & 0xffffffffU));
			else if (evs[i].data.u64 & CHILD_TAG)
				approver_exited((int)(evs[i].data.u64 & 0xffffffffU));
			else if (evs[i].data.u64 & SESSION_TAG) {
				/* Its sandbox is gone: so is the session, and its writs. */
				struct session *s = session_by_pidfd((int)(evs[i].data.u64 & 0xffffffffU));

				if (s != NULL) {
					audit_log("session_closed", session_audit(s, json_pack("{ssss}",
					    "session", s->id, "why", "its process exited")));
					session_close(s, WRIT_ECLOSED, &revoke);
				}
			} else if (evs[i].data.u64 & LINGER_TAG) {
				unsigned int slot = (unsigned int)(evs[i].data.u64 & 0xffffU);
				char buf[512];

				if (slot >= WRIT_MAX_LINGER || linger[slot].fd < 0)
					continue;	/* stale */
				/* Its request came (read and dropped) or it hung up. */
				if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					linger_end(slot);
				else
					for (int k = 0; k < 8 && recv(linger[slot].fd, buf, sizeof(buf),
					    MSG_DONTWAIT) > 0; k++)
						;
			} else if (evs[i].data.ptr == NULL) {
				uint64_t v;

				if (read(wakefd, &v, sizeof(v)) < 0)
					continue;	/* nothing to drain */
			} else if (!((struct listener *)evs[i].data.ptr)->closed)
				nc = accept_some(evs[i].data.ptr, conns, nc,
				    sizeof(conns) / sizeof(conns[0]));
		}
		sweep();
		/* Wake for the sweep only while there is something to sweep. */
		tick = live != NULL || nlinger > 0 || nc > 0 ? SWEEP_MS : -1;
		while (graveyard != NULL) {
			struct listener *l = graveyard;

			graveyard = l->next;
			free(l);
		}
		pthread_mutex_unlock(&writd_lock);
		writs_revoke_list(revoke, "its session's process exited");
		for (size_t i = 0; i < nc; i++) {
			struct sockaddr_un sa = { .sun_family = AF_UNIX };

			/* The address carries the conn, with its counts, to notify(). */
			memcpy(sa.sun_path, &conns[i], sizeof(conns[i]));
			if (MHD_add_connection(daemon_, conns[i]->fd, (struct sockaddr *)&sa,
			    (socklen_t)sizeof(sa)) == MHD_YES)
				continue;
			/*
			 * NB. libmicrohttpd has closed the fd: "the socket will be
			 * closed in any case" (microhttpd.h, and measured on 0.9.75).
			 * Not ours to close again.  XXX a connection it queues for its
			 * own thread and then fails to start there (out of memory)
			 * is closed without any notification: its counts stay taken.
			 */
			pthread_mutex_lock(&writd_lock);
			conn_release(conns[i]);
			pthread_mutex_unlock(&writd_lock);
			free(conns[i]);
		}
	}
	return NULL;
}

/* The 503 a refused connection gets, a whole HTTP response, into buf. */
static int
busy_reply(const char *message, char *buf, size_t size, size_t *ret_len)
{
	json_t *body = json_pack("{s{ssss}}", "error", "code",
	    errors_lookup(WRIT_EBUSY)->name, "message", message);
	char *text = body != NULL ? jdump(body, JSON_COMPACT, NULL) : NULL;
	int n;

	json_decref(body);
	if (text == NULL)
		return WRIT_ENOMEM;
	n = snprintf(buf, size, "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\nRetry-After: 1\r\nContent-Length: %zu\r\n\r\n%s\n",
	    strlen(text) + 1, text);
	free(text);
	if (n < 0 || (size_t)n >= size)
		return WRIT_EINTERNAL;
	*ret_len = (size_t)n;
	return 0;
}

int
server_start(const struct config *cfg, enum MHD_Result (*dispatch)(struct MHD_Connection *c,
    struct req *rq, const char *method, const char *url), char err[WRIT_ERRLEN])
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	struct rlimit rl;
	rlim_t need;

	route = dispatch;
	for (unsigned int i = 0; i < WRIT_MAX_LINGER; i++)
		linger[i].fd = -1;
	if (busy_reply("this session has too many open connections "
	    "(limits.max_session_connections); close some and retry",
	    busy_session, sizeof(busy_session), &busy_session_len) < 0 ||
	    busy_reply(errors_lookup(WRIT_EBUSY)->message,
	    busy_global, sizeof(busy_global), &busy_global_len) < 0) {
		snprintf(err, WRIT_ERRLEN, "cannot build the 503 answer");
		return WRIT_EINTERNAL;
	}
	/*
	 * Every admitted connection holds two fds (its socket and its caller's
	 * pidfd): without them, accept would fail and the caps never be met.
	 */
	need = (rlim_t)cfg->max_conns * 2 + (rlim_t)cfg->max_sessions * 2 +
	    WRIT_MAX_LINGER + FD_SLACK;	/* each session: a listener and a pidfd */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < need)
			fprintf(stderr, "writd: warning: %llu open files allowed, %llu needed for "
			    "limits.max_connections and max_sessions; lower them or raise "
			    "the hard limit (ulimit -Hn)\n", (unsigned long long)rl.rlim_cur,
			    (unsigned long long)need);
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || wakefd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) {
		snprintf(err, WRIT_ERRLEN, "epoll: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	daemon_ = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_NO_LISTEN_SOCKET |
	    MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handle, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)WRIT_HTTP_THREADS,
	    /* NB. never reached: see MHD_LIMIT. */
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MHD_LIMIT(cfg->max_conns),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->request_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WRIT_CONN_MEMORY,
	    MHD_OPTION_NOTIFY_CONNECTION, notify, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_END);
	if (daemon_ == NULL) {
		snprintf(err, WRIT_ERRLEN, "libmicrohttpd failed to start");
		return WRIT_EINTERNAL;
	}
	if (pthread_create(&acceptor, NULL, accept_main, NULL) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot start the accept thread");
		return WRIT_EINTERNAL;
	}
	acceptor_running = true;
	return 0;
}

void
server_stop(void)
{
	struct writ *revoke = NULL;
	uint64_t one = 1;

	pthread_mutex_lock(&writd_lock);
	stopping = true;
	if (write(wakefd, &one, sizeof(one)) < 0)
		abort();	/* an eventfd write cannot fail here */
	session_close_all(WRIT_ESHUTDOWN, &revoke);
	approval_wake_all();
	approver_cancel_all();
	while (listeners != NULL)
		server_unlisten(listeners);
	pthread_mutex_unlock(&writd_lock);
	/*
	 * NB. before minter_stop: an upstream kind's revocation is queued
	 * for the workers, which run what is queued before they exit.
	 */
	writs_revoke_list(revoke, "writd shut down");
	minter_stop();
	if (acceptor_running)
		pthread_join(acceptor, NULL);
	acceptor_running = false;
	while (graveyard != NULL) {
		struct listener *l = graveyard;

		graveyard = l->next;
		free(l);
	}
	for (unsigned int i = 0; i < WRIT_MAX_LINGER; i++)
		if (linger[i].fd >= 0)
			linger_end(i);
	/*
	 * Give resumed requests a moment to send their answers.  NB. one
	 * still suspended waits for its "issued" record's sync, which the
	 * reaper's watchdog ends within WRIT_AUDIT_SYNC_MAX: wait for it
	 * (libmicrohttpd aborts when stopped with a connection suspended).
	 */
	for (int i = 0; i < (WRIT_AUDIT_SYNC_MAX + 2) * 100; i++) {
		unsigned int n, ns;

		pthread_mutex_lock(&writd_lock);
		n = nrequests;
		ns = nsuspended;
		pthread_mutex_unlock(&writd_lock);
		if (n == 0 || (ns == 0 && i >= 100))
			break;
		usleep(10000);
	}
	if (daemon_ != NULL)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	close(epfd);
	if (spare_fd >= 0)
		close(spare_fd);
	close(wakefd);
}
