/*
 * server.c - one libmicrohttpd daemon behind our own accept loop.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "api.h"
#include "approval.h"
#include "approver.h"
#include "audit.h"
#include "errors.h"
#include "fsutil.h"
#include "peer.h"
#include "secret.h"
#include "server.h"
#include "session.h"
#include "upstream.h"
#include "writs.h"

/* epoll data of a connection watched for hangup: the fd with this bit. */
#define HANGUP_TAG (1ULL << 62)
/* epoll data of an approver command's pidfd. */
#define CHILD_TAG (1ULL << 61)
/* epoll data of the pidfd of a process a session is tied to. */
#define SESSION_TAG (1ULL << 60)
/* Connections accepted per listener per wakeup, before looking again. */
#define ACCEPT_BATCH 64

pthread_mutex_t writd_lock = PTHREAD_MUTEX_INITIALIZER;
const struct config *writd_cfg;

struct listener {
	int fd;
	char tag[33];			/* session id, or "admin" */
	bool closed;
	struct listener *next;		/* in listeners, then in graveyard */
};

static struct MHD_Daemon *daemon_;
static int epfd = -1, wakefd = -1;
static pthread_t acceptor;
static bool acceptor_running, stopping;
static struct listener *listeners, *graveyard;
static unsigned int nrequests;		/* requests between start and completion */
static unsigned int nconns;		/* open connections */

int64_t
now_real(void)
{
	return (int64_t)time(NULL);
}

int64_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

void
random_id(char out[33])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, 33, b, sizeof(b));
}

static enum MHD_Result
queue(struct MHD_Connection *c, unsigned int status, json_t *body, int retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	char *text, *t;
	size_t len;

	text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL) {
		status = 500;
		text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
		if (text == NULL)
			return MHD_NO;
	}
	len = strlen(text);
	/*
	 * One trailing newline, for people reading curl's output.  NB. a new
	 * buffer, not realloc: the body may hold a token, and realloc would
	 * free the old copy unzeroed.
	 */
	t = malloc(len + 2);
	if (t == NULL) {
		secret_zfree(text);
		return MHD_NO;
	}
	memcpy(t, text, len);
	secret_zfree(text);
	text = t;
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

void
server_suspend(struct MHD_Connection *c, struct req *rq)
{
	MHD_suspend_connection(c);
	rq->suspended = true;
}

void
server_resume(struct MHD_Connection *c, struct req *rq)
{
	if (!rq->suspended)
		return;
	rq->suspended = false;
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

/*
 * A connection starts: take the caller's identity now, before its pid can
 * be reused, and bind the connection to its session.
 */
static void
notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct conn *conn = *socket_context;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (conn == NULL)
			return;
		pthread_mutex_lock(&writd_lock);
		nconns--;
		if (conn->session != NULL) {
			conn->session->conns--;
			session_unref(conn->session);
		}
		pthread_mutex_unlock(&writd_lock);
		peer_free(conn->peer);
		free(conn);
		*socket_context = NULL;
		return;
	}
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return;		/* the handler refuses connections without context */
	*socket_context = conn;
	pthread_mutex_lock(&writd_lock);
	nconns++;
	pthread_mutex_unlock(&writd_lock);
	{
		const union MHD_ConnectionInfo *fdi =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ai =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const char *tag = ((const struct sockaddr_un *)ai->client_addr)->sun_path;
		int r = peer_from_socket(fdi->connect_fd, &conn->peer);

		pthread_mutex_lock(&writd_lock);
		if (r < 0)
			conn->refuse = r;
		else if (nconns > writd_cfg->max_conns)
			conn->refuse = WRIT_EBUSY;	/* answered, then closed */
		else if (strcmp(tag, "admin") == 0) {
			/* The admin socket approves: only our own user (or root). */
			if (conn->peer->uid != geteuid() && conn->peer->uid != 0)
				conn->refuse = WRIT_EFORBIDDEN;
		} else {
			struct session *s = session_find(tag);

			if (s == NULL)
				conn->refuse = WRIT_ECLOSED;
			else if (s->conns >= writd_cfg->max_session_conns)
				conn->refuse = WRIT_EBUSY;
			else {
				session_ref(s);
				s->conns++;
				conn->session = s;
			}
		}
		pthread_mutex_unlock(&writd_lock);
	}
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
	return api_dispatch(c, rq, method, url);
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
	if (rq->pending != NULL)
		approval_release(rq->pending);
	if (rq->poller != NULL)
		approval_unwait(rq->poller);
	upstream_job_free(rq->job);
	json_decref(rq->reply);
	nrequests--;
	pthread_mutex_unlock(&writd_lock);
	free(rq->poller);
	if (rq->body != NULL) {
		sodium_memzero(rq->body, rq->len);
		free(rq->body);
	}
	free(rq);
	*con_cls = NULL;
}

/* Accept what l has waiting; the caller hands the fds to MHD unlocked. */
static size_t
accept_some(struct listener *l, int fds[], char tags[][33], size_t n, size_t max)
{
	while (n < max) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			break;
		fds[n] = fd;
		memcpy(tags[n], l->tag, sizeof(l->tag));
		n++;
	}
	return n;
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
	int fds[ACCEPT_BATCH * 4];
	char tags[ACCEPT_BATCH * 4][33];

	(void)arg;
	for (;;) {
		size_t nfds = 0;
		int n = epoll_wait(epfd, evs, 32, -1);

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
					audit_log("session_closed", json_pack("{ssss}", "session", s->id,
					    "why", "its process exited"));
					session_close(s, WRIT_ECLOSED, &revoke);
				}
			}
			else if (evs[i].data.ptr == NULL) {
				uint64_t v;

				if (read(wakefd, &v, sizeof(v)) < 0)
					continue;	/* nothing to drain */
			} else if (!((struct listener *)evs[i].data.ptr)->closed)
				nfds = accept_some(evs[i].data.ptr, fds, tags, nfds,
				    sizeof(fds) / sizeof(fds[0]));
		}
		while (graveyard != NULL) {
			struct listener *l = graveyard;

			graveyard = l->next;
			free(l);
		}
		pthread_mutex_unlock(&writd_lock);
		writs_revoke_list(revoke, "its session's process exited");
		for (size_t i = 0; i < nfds; i++) {
			struct sockaddr_un sa = { .sun_family = AF_UNIX };

			/* The address carries the listener's tag to notify(). */
			memcpy(sa.sun_path, tags[i], sizeof(tags[i]));
			(void)MHD_add_connection(daemon_, fds[i], (struct sockaddr *)&sa,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(tags[i])));
		}
	}
	return NULL;
}

int
server_start(const struct config *cfg, char err[WRIT_ERRLEN])
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	writd_cfg = cfg;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || wakefd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) {
		snprintf(err, WRIT_ERRLEN, "epoll: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	daemon_ = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_NO_LISTEN_SOCKET |
	    MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handle, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)WRIT_HTTP_THREADS,
	    /* NB. our own count answers 503 at max_conns; this is a backstop. */
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_conns * 2 + 16,
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
	/* Mints in flight finish (bounded by their timeouts), queued ones fail. */
	upstream_stop();
	if (acceptor_running)
		pthread_join(acceptor, NULL);
	acceptor_running = false;
	while (graveyard != NULL) {
		struct listener *l = graveyard;

		graveyard = l->next;
		free(l);
	}
	writs_revoke_list(revoke, "writd shut down");
	/* Give resumed requests a moment to send their answers. */
	for (int i = 0; i < 100; i++) {
		unsigned int n;

		pthread_mutex_lock(&writd_lock);
		n = nrequests;
		pthread_mutex_unlock(&writd_lock);
		if (n == 0)
			break;
		usleep(10000);
	}
	if (daemon_ != NULL)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	close(epfd);
	close(wakefd);
}
