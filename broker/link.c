/*
 * link.c - the front end's end of the channel to its minter: minter.h's
 * calls, and audit.h's audit_log and audit_ok, as messages of the
 * request table (minter/proto.h).
 *
 * Requests go out under one lock, whole, in the order they are made, so
 * that the minter appends a request's record before it mints its writ.
 * One reader thread takes what comes back: an ANSWER wakes the caller
 * waiting for it (or, for a MINT, runs its done callback), ENDED drops a
 * writ from the front end's table, RESTORED is gathered for
 * minter_restore, FATAL and the channel's end mean the minter is gone:
 * every call waiting fails, and writd stops.
 *
 * Calls that need no answer (audit_log; a revocation asked from the
 * reader's own thread, which cannot wait for what it alone reads) carry
 * an id with its top bit set, and their answers are only looked at for
 * WRIT_EAUDIT: the minter says so when its audit log is broken, and
 * audit_ok says so from then on.  (A record it refused otherwise, one
 * over the size of a record, is said on stderr.)
 *
 * The reader never waits on the minter (it may wait for the send lock,
 * and the minter always reads: serve.c), so neither side can block the
 * other for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sodium.h>

#include "../plugins/grammar.h"
#include "record.h"
#include "config.h"
#include "jdump.h"
#include "link.h"
#include "minter/minter.h"
#include "minter/orderwire.h"
#include "minter/proto.h"

#ifndef WRIT_LIBEXECDIR
#define WRIT_LIBEXECDIR "/usr/local/libexec"
#endif

/* Answers to these ids are waited for by no one (and AUDIT_APPEND's successes not sent). */
#define DETACHED PROTO_NO_SUCCESS
/* Buckets of the calls waiting for an answer. */
#define NBUCKETS 256

/* A writ RESTORE brought back, as RESTORED said. */
struct back {
	struct back *next;
	char id[WRIT_ID_LEN + 1], session[WRIT_ID_LEN + 1];
	char *name;
	const struct kind_grammar *kind;
	json_t *scope;
	int64_t issued_at, expires_at;
	pid_t pid;
	uint64_t pid_start;
	bool same_boot;
};

/* A request waiting for its answer. */
struct call {
	struct call *next;		/* in its bucket */
	uint32_t id, type;
	bool done;
	pthread_cond_t cond;
	/* What the answer said. */
	int code, retry_after;
	char err[WRIT_ERRLEN];
	char writ[WRIT_ID_LEN + 1];	/* REVOKE_TOKEN */
	json_t *json;			/* PUBLIC_KEYS, AUDIT_VERIFY, SECRET_LIST, AUDIT_TAIL */
	int64_t seq, more;
	struct back *back;		/* RESTORE: newest first */
	struct minter_peer *peer;	/* PEER: where its answer goes */
	/* MINT: no one waits; done is called on the reader. */
	void (*minted)(void *arg, struct mint_result *r);
	void *arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;	/* the calls, the state */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;	/* the channel's writes */
static struct call *calls[NBUCKETS];
static uint32_t next_id;
static int fd = -1;
static pid_t minter_pid;
static pthread_t reader;
static struct proto_reader *hello_rd;	/* link_start's, for link_run's reader */
static bool up;				/* the reader runs */
static bool gone;			/* the channel ended */
static bool stopping;			/* minter_stop: its end is expected */
static atomic_bool lost_it;
static atomic_bool audit_broken;
static void (*ended_fn)(const char *id);

/* Set on the reader's thread, which cannot wait for an answer only it reads. */
static __thread bool reading;

static bool
on_reader(void)
{
	return reading;
}

static uint32_t
new_id_locked(bool detached)
{
	next_id = next_id % (DETACHED - 1) + 1;
	return detached ? next_id | DETACHED : next_id;
}

static struct call **
bucket(uint32_t id)
{
	return &calls[id % NBUCKETS];
}

/* Send m whole (the send lock held while writing).  Returns 0 or WRIT_EINTERNAL. */
static int
send_msg(const struct proto_msg *m, char err[WRIT_ERRLEN])
{
	unsigned char small[16 * 1024], *buf = small;
	struct proto_fault f;
	size_t len, done = 0;
	int r;

	/* Most messages are small; the rest are encoded again into the largest. */
	r = proto_encode(m, PROTO_FRONT, buf, sizeof(small), &len, &f);
	if (r == WRIT_ETOOBIG) {
		if ((buf = malloc(PROTO_MAX_REQUEST)) == NULL)
			return WRIT_ENOMEM;
		r = proto_encode(m, PROTO_FRONT, buf, PROTO_MAX_REQUEST, &len, &f);
	}
	if (r != 0) {
		snprintf(err, WRIT_ERRLEN, "%s", f.msg);
		goto out;
	}
	pthread_mutex_lock(&send_lock);
	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, WRIT_ERRLEN, "writd's minter is gone");
			r = WRIT_EINTERNAL;
			break;
		}
		done += (size_t)n;
	}
	pthread_mutex_unlock(&send_lock);
 out:
	sodium_memzero(buf, r == 0 ? len : (buf == small ? sizeof(small) : PROTO_MAX_REQUEST));
	if (buf != small)
		free(buf);
	return r;
}

/*
 * Make request m and wait for its answer into c (zeroed by the caller but
 * for what it collects).  Returns the answer's code; c->err says why.
 */
static int
call(struct proto_msg *m, struct call *c)
{
	int r;

	c->type = m->type;
	if (on_reader()) {
		/* A bug: the reader would wait for what only it can read. */
		snprintf(c->err, sizeof(c->err), "%s asked of the minter from its reader",
		    proto_type_name(m->type));
		return c->code = WRIT_EINTERNAL;
	}
	pthread_cond_init(&c->cond, NULL);
	pthread_mutex_lock(&lock);
	if (gone) {
		pthread_mutex_unlock(&lock);
		pthread_cond_destroy(&c->cond);
		snprintf(c->err, sizeof(c->err), "writd's minter is gone");
		return c->code = WRIT_EINTERNAL;
	}
	m->id = c->id = new_id_locked(false);
	c->next = *bucket(c->id);
	*bucket(c->id) = c;
	pthread_mutex_unlock(&lock);
	if ((r = send_msg(m, c->err)) < 0) {
		/* Unsent: taken back, unless the reader failed it meanwhile. */
		pthread_mutex_lock(&lock);
		for (struct call **p = bucket(c->id); *p != NULL; p = &(*p)->next)
			if (*p == c) {
				*p = c->next;
				c->done = true;
				c->code = r;
				break;
			}
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	while (!c->done)
		pthread_cond_wait(&c->cond, &lock);
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&c->cond);
	return c->code;
}

/* Send m expecting no one to wait for its answer. */
static void
send_detached(struct proto_msg *m)
{
	char err[WRIT_ERRLEN];

	pthread_mutex_lock(&lock);
	m->id = new_id_locked(true);
	pthread_mutex_unlock(&lock);
	if (send_msg(m, err) < 0 && !gone)
		fprintf(stderr, "writd: %s not sent to the minter: %s\n",
		    proto_type_name(m->type), err);
}

void
audit_log(const char *event, json_t *fields)
{
	struct proto_msg m = { .type = PROTO_AUDIT_APPEND };
	char *text = fields != NULL ? jdump(fields, JSON_COMPACT, NULL) : NULL;

	json_decref(fields);
	m.u.audit_append = (struct proto_audit_append){ .event = event,
	    .fields = text != NULL ? text : "{}" };
	send_detached(&m);
	free(text);
}

bool
audit_ok(void)
{
	return !atomic_load(&audit_broken);
}

/* A RESTORED, copied. */
static int
keep_back(struct call *c, const struct proto_restored *r)
{
	struct back *b = calloc(1, sizeof(*b));

	if (b == NULL || (b->name = strdup(r->name)) == NULL ||
	    (b->scope = json_loads(r->scope, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    (b->kind = grammar_find(r->kind)) == NULL) {
		if (b != NULL) {
			free(b->name);
			json_decref(b->scope);
		}
		free(b);
		return WRIT_EBADREQ;
	}
	memcpy(b->id, r->writ, sizeof(b->id));
	memcpy(b->session, r->session, sizeof(b->session));
	b->issued_at = r->issued_at;
	b->expires_at = r->expires_at;
	b->pid = (pid_t)r->pid;
	b->pid_start = (uint64_t)r->pid_start;
	b->same_boot = r->same_boot != 0;
	b->next = c->back;
	c->back = b;
	return 0;
}

/* What ANSWER a says, into c.  Returns 0 or WRIT_EBADREQ (not an answer to c). */
static int
take_answer(struct call *c, const struct proto_answer *a)
{
	const char *text = NULL;

	if (a->of != c->type)
		return WRIT_EBADREQ;
	c->code = a->code;
	c->retry_after = (int)a->retry_after;
	snprintf(c->err, sizeof(c->err), "%s", a->message != NULL ? a->message : "");
	if (a->code != 0)
		return 0;
	switch (a->of) {
	case PROTO_REVOKE_TOKEN:
		memcpy(c->writ, a->r.writ, sizeof(c->writ));
		break;
	case PROTO_AUDIT_TAIL:
		text = a->r.tail.json;
		c->more = a->r.tail.more;
		break;
	case PROTO_PUBLIC_KEYS:
	case PROTO_AUDIT_VERIFY:
	case PROTO_SECRET_LIST:
		text = a->r.json;
		break;
	case PROTO_AUDIT_APPEND:
	case PROTO_AUDIT_ROTATE:
		c->seq = a->r.seq;
		break;
	case PROTO_AUDIT_KEY:
		snprintf(c->err, sizeof(c->err), "%s", a->r.key);
		break;
	case PROTO_PEER:
		snprintf(c->peer->exe, sizeof(c->peer->exe), "%s", a->r.peer.exe);
		snprintf(c->peer->cwd, sizeof(c->peer->cwd), "%s", a->r.peer.cwd);
		c->peer->other_userns = a->r.peer.other_userns != 0;
		break;
	}
	if (text != NULL && (c->json = json_loads(text, 0, NULL)) == NULL)
		return WRIT_EBADREQ;
	return 0;
}

/* A MINT's answer: its done callback, on this (the reader's) thread. */
static void
mint_answered(struct call *c, const struct proto_answer *a)
{
	struct mint_result r;

	if (a == NULL || orderwire_get_result(a, &r) < 0) {
		r = (struct mint_result){ .code = WRIT_EINTERNAL };
		snprintf(r.err, sizeof(r.err), "writd's minter is gone");
	}
	c->minted(c->arg, &r);
	secret_free(r.token);
	free(c);
}

/* Take the call waiting for id out of its bucket; NULL for none. */
static struct call *
take_call_locked(uint32_t id)
{
	for (struct call **p = bucket(id); *p != NULL; p = &(*p)->next)
		if ((*p)->id == id) {
			struct call *c = *p;

			*p = c->next;
			return c;
		}
	return NULL;
}

/* The channel ended: every call fails; writd stops unless it is stopping. */
static void
end_channel(const char *why)
{
	struct call *mints = NULL;

	pthread_mutex_lock(&lock);
	gone = true;
	/* NB. before any call fails: its caller may ask link_lost why. */
	if (!stopping)
		atomic_store(&lost_it, true);
	for (size_t i = 0; i < NBUCKETS; i++)
		while (calls[i] != NULL) {
			struct call *c = calls[i];

			calls[i] = c->next;
			if (c->minted != NULL) {
				c->next = mints;
				mints = c;
				continue;
			}
			c->code = WRIT_EINTERNAL;
			snprintf(c->err, sizeof(c->err), "writd's minter is gone");
			c->done = true;
			pthread_cond_signal(&c->cond);
		}
	pthread_mutex_unlock(&lock);
	while (mints != NULL) {
		struct call *c = mints;

		mints = c->next;
		mint_answered(c, NULL);
	}
	if (atomic_load(&lost_it)) {
		fprintf(stderr, "writd: the minter %s: stopping\n", why);
		kill(getpid(), SIGTERM);
	}
}

/* One message from the minter.  Returns 0, or -1 when the channel must end. */
static int
dispatch(const struct proto_msg *m, char why[WRIT_ERRLEN])
{
	const struct proto_answer *a = &m->u.answer;
	struct call *c;

	switch (m->type) {
	case PROTO_ANSWER:
		if (a->code == WRIT_EAUDIT)
			atomic_store(&audit_broken, true);
		if (m->id & DETACHED) {
			/* NB. a record the minter could not write is said, not lost unseen. */
			if (a->code != 0 && a->code != WRIT_EAUDIT && a->of == PROTO_AUDIT_APPEND)
				fprintf(stderr, "writd: a record was not written: %s\n", a->message);
			return 0;
		}
		pthread_mutex_lock(&lock);
		if ((c = take_call_locked(m->id)) == NULL) {
			pthread_mutex_unlock(&lock);
			snprintf(why, WRIT_ERRLEN, "answered request %u, which no one made",
			    m->id);
			return -1;
		}
		if (c->minted != NULL) {
			pthread_mutex_unlock(&lock);
			mint_answered(c, a->of == PROTO_MINT ? a : NULL);
			return 0;
		}
		if (take_answer(c, a) < 0) {
			c->code = WRIT_EINTERNAL;
			snprintf(c->err, sizeof(c->err), "the minter's answer is not one to %s",
			    proto_type_name(c->type));
		}
		/* NB. c is its waiter's, gone once it wakes: not touched after. */
		c->done = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&lock);
		return 0;
	case PROTO_ENDED:
		if (ended_fn != NULL)
			ended_fn(m->u.ended.writ);
		return 0;
	case PROTO_RESTORED:
		/* Only while RESTORE waits: the one call of that type. */
		pthread_mutex_lock(&lock);
		c = NULL;
		for (size_t i = 0; i < NBUCKETS && c == NULL; i++)
			for (struct call *p = calls[i]; p != NULL; p = p->next)
				if (p->type == PROTO_RESTORE)
					c = p;
		if (c == NULL || keep_back(c, &m->u.restored) < 0)
			c = NULL;
		pthread_mutex_unlock(&lock);
		if (c == NULL) {
			snprintf(why, WRIT_ERRLEN, "sent a RESTORED no RESTORE asked for, or "
			    "of no kind");
			return -1;
		}
		return 0;
	case PROTO_FATAL:
		snprintf(why, WRIT_ERRLEN, "stopped: %s", m->u.fatal.why);
		return -1;
	default:
		return 0;	/* HELLO, DURABLE: nothing to do */
	}
}

/*
 * The minter's next message, decoded into *m (its texts point into rd's
 * buffer): 1; 0 at the channel's end; -1 when it breaks the request
 * table, f saying how.
 */
static int
next_msg(struct proto_reader *rd, struct proto_msg *m, struct proto_fault *f)
{
	for (;;) {
		const unsigned char *buf;
		size_t len;
		int r = proto_reader_next(rd, &buf, &len, f);

		if (r < 0)
			return -1;
		if (r == 1)
			return proto_decode(buf, len, PROTO_MINTER, m, f) == 0 ? 1 : -1;
		if ((r = proto_reader_read(rd, fd)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
	}
}

static void *
reader_main(void *arg)
{
	struct proto_reader *rd = arg;
	char why[WRIT_ERRLEN] = "exited";
	struct proto_fault f;
	struct proto_msg m;
	int r;

	reading = true;
	while ((r = next_msg(rd, &m, &f)) == 1 && dispatch(&m, why) == 0)
		;
	if (r < 0)
		snprintf(why, sizeof(why), "broke the request table: %s", f.msg);
	proto_reader_free(rd);
	free(rd);
	end_channel(why);
	return NULL;
}

/*
 * Where writd-minter is: beside this executable (a build tree), else in
 * ../libexec/writ from it (an install, whatever its prefix), else where
 * it was to be installed.
 */
static int
minter_path(char out[PATH_MAX])
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			int d = (int)(slash - self);

			if ((size_t)snprintf(out, PATH_MAX, "%.*s/writd-minter", d, self) <
			    PATH_MAX && access(out, X_OK) == 0)
				return 0;
			if ((size_t)snprintf(out, PATH_MAX, "%.*s/../libexec/writ/writd-minter", d,
			    self) < PATH_MAX && access(out, X_OK) == 0)
				return 0;
		}
	}
	return (size_t)snprintf(out, PATH_MAX, "%s/writ/writd-minter", WRIT_LIBEXECDIR) <
	    PATH_MAX ? 0 : -1;
}

/* In the child: fds 3.. as the minter takes them, then exec it. */
static void __attribute__((noreturn))
exec_minter(const char *path, int chan, int cfd, int passfd, int lockfd, char **argv)
{
	int from[4] = { chan, cfd, passfd, lockfd };
	sigset_t stop;

	/* Out of the way of 3..6 first, then into place (dup2 clears CLOEXEC). */
	for (int i = 0; i < 4; i++)
		if (from[i] >= 0 && (from[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(127);
	for (int i = 0; i < 4; i++)
		if (from[i] >= 0 && dup2(from[i], 3 + i) < 0)
			_exit(127);
		else if (from[i] < 0)
			(void)close(3 + i);
	/* NB. and nothing else: the passphrase's fd where it was given (9) stays out. */
	if (close_range(7, ~0U, 0) != 0)
		_exit(127);
	/*
	 * NB. what stops a process stays blocked across exec: the minter
	 * stops when the front end says so (STOP) or goes (the channel's
	 * end), never on a terminal's ^C or a service manager's SIGTERM to
	 * the whole group, not even in the instant before it blocks them.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sigprocmask(SIG_SETMASK, &stop, NULL);
	execv(path, argv);
	fprintf(stderr, "writd: cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* Wait for the minter's HELLO; it says on stderr why when it exits first. */
static int
await_hello(struct proto_reader *rd, char err[WRIT_ERRLEN])
{
	struct proto_fault f;
	struct proto_msg m;
	int r = next_msg(rd, &m, &f);

	if (r == 1 && m.type == PROTO_HELLO)
		return 0;
	if (r == 0)
		snprintf(err, WRIT_ERRLEN, "the minter did not start");
	else
		snprintf(err, WRIT_ERRLEN, "the minter broke the request table: %s",
		    r < 0 ? f.msg : "it did not begin with HELLO");
	return WRIT_EINTERNAL;
}

int
link_start(const struct config *cfg, const char *text, size_t len, int passfd, int lockfd,
    char err[WRIT_ERRLEN])
{
	char path[PATH_MAX];
	char *argv[16];
	struct proto_reader *rd;
	int sv[2], cfd = -1, n = 0, r;

	if (minter_path(path) < 0) {
		snprintf(err, WRIT_ERRLEN, "the minter's path is too long");
		return WRIT_EINTERNAL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, WRIT_ERRLEN, "socketpair: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	if (text != NULL) {
		/* The text as read: the minter parses the very bytes this process did. */
		size_t done = 0;

		if ((cfd = memfd_create("writd-config", MFD_CLOEXEC)) < 0) {
			snprintf(err, WRIT_ERRLEN, "memfd_create: %s", strerror(errno));
			goto fail;
		}
		while (done < len) {
			ssize_t w = write(cfd, text + done, len - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				snprintf(err, WRIT_ERRLEN, "the config's copy: %s", strerror(errno));
				goto fail;
			}
			done += (size_t)w;
		}
		(void)lseek(cfd, 0, SEEK_SET);
	}
	argv[n++] = "writd-minter";
	argv[n++] = "--runtime-dir";
	argv[n++] = (char *)cfg->runtime_dir;
	argv[n++] = "--state-dir";
	argv[n++] = (char *)cfg->state_dir;
	argv[n++] = "--enterprise-policy";
	argv[n++] = (char *)cfg->policy_enterprise;
	if (cfg->policy_user[0] != '\0') {
		argv[n++] = "--policy";
		argv[n++] = (char *)cfg->policy_user;
	}
	/* Each at the fd exec_minter puts it: 4, 5, 6. */
	if (cfd >= 0)
		argv[n++] = "--config-fd=4";
	if (passfd >= 0)
		argv[n++] = "--passphrase-fd=5";
	if (lockfd >= 0)
		argv[n++] = "--lock-fd=6";
	argv[n] = NULL;
	if ((minter_pid = fork()) < 0) {
		snprintf(err, WRIT_ERRLEN, "fork: %s", strerror(errno));
		goto fail;
	}
	if (minter_pid == 0)
		exec_minter(path, sv[1], cfd, passfd, lockfd, argv);
	close(sv[1]);
	sv[1] = -1;
	if (cfd >= 0)
		close(cfd);
	cfd = -1;
	fd = sv[0];
	if ((rd = calloc(1, sizeof(*rd))) == NULL || proto_reader_init(rd, PROTO_MAX_ANSWER) < 0) {
		free(rd);
		snprintf(err, WRIT_ERRLEN, "out of memory");
		goto fail_child;
	}
	if ((r = await_hello(rd, err)) < 0 || (r = send_msg(&(struct proto_msg){
	    .type = PROTO_HELLO, .u.hello.version = PROTO_VERSION }, err)) < 0) {
		proto_reader_free(rd);
		free(rd);
		goto fail_child;
	}
	/* NB. the reader starts in link_run: no thread until the front end is confined. */
	hello_rd = rd;
	return 0;
 fail_child:
	close(fd);
	fd = -1;
	(void)waitpid(minter_pid, NULL, 0);
	return WRIT_EINTERNAL;
 fail:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (cfd >= 0)
		close(cfd);
	return WRIT_EINTERNAL;
}

int
link_run(char err[WRIT_ERRLEN])
{
	if (hello_rd == NULL || pthread_create(&reader, NULL, reader_main, hello_rd) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot start the minter's reader");
		return WRIT_EINTERNAL;
	}
	hello_rd = NULL;
	up = true;
	return 0;
}

bool
link_lost(void)
{
	return atomic_load(&lost_it);
}

void
minter_mint(const struct mint_order *o, void (*done)(void *arg, struct mint_result *r),
    void *arg)
{
	struct proto_msg m = { .type = PROTO_MINT };
	struct orderwire_mint w;
	struct mint_result res = { .code = WRIT_EINTERNAL };
	struct call *c = calloc(1, sizeof(*c));

	if (c == NULL || (res.code = orderwire_put_order(o, &w, res.err)) < 0) {
		free(c);
		done(arg, &res);
		return;
	}
	m.u.mint = w.m;
	c->type = PROTO_MINT;
	c->minted = done;
	c->arg = arg;
	pthread_mutex_lock(&lock);
	if (gone) {
		pthread_mutex_unlock(&lock);
		orderwire_mint_free(&w);
		snprintf(res.err, sizeof(res.err), "writd's minter is gone");
		free(c);
		done(arg, &res);
		return;
	}
	m.id = c->id = new_id_locked(false);
	c->next = *bucket(c->id);
	*bucket(c->id) = c;
	pthread_mutex_unlock(&lock);
	if (send_msg(&m, res.err) < 0) {
		/* Unsent: failed here, unless the reader failed it meanwhile. */
		pthread_mutex_lock(&lock);
		c = take_call_locked(m.id);
		pthread_mutex_unlock(&lock);
		if (c != NULL)
			mint_answered(c, NULL);
	}
	orderwire_mint_free(&w);
}

int
minter_revoke(const char *id, const char *why)
{
	struct proto_msg m = { .type = PROTO_REVOKE };
	struct call c = { 0 };

	if (!id_valid(id))
		return WRIT_ENOTFOUND;
	memcpy(m.u.revoke.writ, id, sizeof(m.u.revoke.writ));
	m.u.revoke.reason = why;
	if (on_reader()) {
		/* NB. the reader cannot wait for its own answer: sent, not waited for. */
		send_detached(&m);
		return 0;
	}
	return call(&m, &c);
}

int
minter_revoke_token(const char *session_id, const char *token, char ret_id[WRIT_ID_LEN + 1],
    const char *why)
{
	struct proto_msg m = { .type = PROTO_REVOKE_TOKEN };
	struct call c = { 0 };
	int r;

	(void)why;	/* NB. the minter says why, as git credential erase is the one caller */
	if ((session_id != NULL && !id_valid(session_id)) || token == NULL || token[0] == '\0' ||
	    strlen(token) > PROTO_MAX_TOKEN)
		return WRIT_ENOTFOUND;
	m.u.revoke_token.session = session_id != NULL ? session_id : "";
	m.u.revoke_token.token = (struct proto_blob){ (const unsigned char *)token,
	    strlen(token) };
	if ((r = call(&m, &c)) == 0)
		memcpy(ret_id, c.writ, WRIT_ID_LEN + 1);
	return r;
}

void
minter_set_ended(void (*fn)(const char *id))
{
	ended_fn = fn;
}

void
minter_expire(int64_t now)
{
	struct proto_msg m = { .type = PROTO_EXPIRE };
	struct call c = { 0 };

	(void)now;	/* NB. the minter's clock */
	(void)call(&m, &c);
}

json_t *
minter_public_keys(const char *kind)
{
	struct proto_msg m = { .type = PROTO_PUBLIC_KEYS, .u.public_keys.kind = kind };
	struct call c = { 0 };

	return call(&m, &c) == 0 ? c.json : NULL;
}

int
minter_throttled(const char *kind, const json_t *scope, int *ret_retry_after,
    char err[WRIT_ERRLEN])
{
	struct proto_msg m = { .type = PROTO_THROTTLED };
	struct call c = { 0 };
	char *text = jdump(scope, JSON_COMPACT | JSON_SORT_KEYS, NULL);
	int r;

	*ret_retry_after = 0;
	if (text == NULL)
		return 0;
	m.u.throttled = (struct proto_throttled){ .kind = kind, .scope = text };
	r = call(&m, &c);
	free(text);
	if (r != WRIT_EUPLIMIT)
		return 0;
	*ret_retry_after = c.retry_after;
	snprintf(err, WRIT_ERRLEN, "%s", c.err);
	return r;
}

int
minter_secret_put(const char *name, const void *value, size_t len, char err[WRIT_ERRLEN])
{
	struct proto_msg m = { .type = PROTO_SECRET_PUT };
	struct call c = { 0 };
	int r;

	if (len > PROTO_MAX_SECRET) {
		snprintf(err, WRIT_ERRLEN, "a secret is at most %d bytes", PROTO_MAX_SECRET);
		return WRIT_ETOOBIG;
	}
	m.u.secret_put = (struct proto_secret_put){ .name = name,
	    .value = { value, len } };
	if ((r = call(&m, &c)) < 0)
		snprintf(err, WRIT_ERRLEN, "%s", c.err);
	return r;
}

int
minter_secret_del(const char *name)
{
	struct proto_msg m = { .type = PROTO_SECRET_DEL, .u.secret_del.name = name };
	struct call c = { 0 };

	return call(&m, &c);
}

json_t *
minter_secret_list(void)
{
	struct proto_msg m = { .type = PROTO_SECRET_LIST };
	struct call c = { 0 };

	return call(&m, &c) == 0 ? c.json : NULL;
}

json_t *
minter_audit_tail(unsigned int n, const char *session, uint64_t after)
{
	json_t *all = json_array();
	int64_t before = 0;

	/* Page by page, newest first: each answer is as many whole records as fit. */
	while (all != NULL) {
		struct proto_msg m = { .type = PROTO_AUDIT_TAIL };
		struct call c = { 0 };
		size_t got;

		m.u.audit_tail = (struct proto_audit_tail){ .n = n, .session = session != NULL ?
		    session : "", .after = (int64_t)after, .before = before };
		if (call(&m, &c) < 0 || !json_is_array(c.json)) {
			json_decref(c.json);
			json_decref(all);
			return NULL;
		}
		got = json_array_size(c.json);
		if (json_array_extend(c.json, all) < 0) {
			json_decref(c.json);
			json_decref(all);
			return NULL;
		}
		json_decref(all);
		all = c.json;
		if (c.more == 0 || got == 0 || got >= n)
			break;
		n -= (unsigned int)got;
		before = c.more;
	}
	return all;
}

json_t *
minter_audit_verify(const char *file, const char *checkpoint)
{
	struct proto_msg m = { .type = PROTO_AUDIT_VERIFY };
	struct call c = { 0 };

	m.u.audit_verify = (struct proto_audit_verify){ .file = file != NULL ? file : "",
	    .checkpoint = checkpoint != NULL ? checkpoint : "" };
	return call(&m, &c) == 0 ? c.json : NULL;
}

uint64_t
minter_audit_rotate(const char *why)
{
	struct proto_msg m = { .type = PROTO_AUDIT_ROTATE, .u.audit_rotate.why = why };
	struct call c = { 0 };

	return call(&m, &c) == 0 ? (uint64_t)c.seq : 0;
}

void
minter_audit_key(char out[65])
{
	struct proto_msg m = { .type = PROTO_AUDIT_KEY };
	struct call c = { 0 };

	out[0] = '\0';
	if (call(&m, &c) == 0)
		snprintf(out, 65, "%s", c.err);
}

int
minter_restore(bool (*fn)(const struct minter_restored *r, void *arg), void *arg)
{
	struct proto_msg m = { .type = PROTO_RESTORE };
	struct call c = { 0 };
	unsigned int n = 0;

	(void)call(&m, &c);
	/* NB. whatever the answer: each one RESTORED named lives in the minter. */
	while (c.back != NULL) {
		struct back *b = c.back;
		struct minter_restored view = { .id = b->id, .session = b->session,
		    .name = b->name, .kind = b->kind, .scope = b->scope,
		    .issued_at = b->issued_at, .expires_at = b->expires_at, .pid = b->pid,
		    .pid_start = b->pid_start, .same_boot = b->same_boot };

		c.back = b->next;
		if (!fn(&view, arg))
			fprintf(stderr, "writd: writ %s is kept, but not listed: it ends at its "
			    "expiry\n", b->id);
		n++;
		free(b->name);
		json_decref(b->scope);
		free(b);
	}
	return c.code < 0 ? c.code : (int)n;
}

int
minter_peer(pid_t pid, uid_t uid, struct minter_peer *ret)
{
	struct proto_msg m = { .type = PROTO_PEER };
	struct minter_peer got;
	struct call c = { .peer = &got };

	if (pid <= 0 || pid > PROTO_MAX_PID || uid == (uid_t)-1)
		return WRIT_EINTERNAL;
	m.u.peer = (struct proto_peer){ .pid = (uint32_t)pid, .uid = (uint32_t)uid };
	if (call(&m, &c) < 0)
		return c.code;
	*ret = got;
	return 0;
}

int
minter_reload(char err[WRIT_ERRLEN])
{
	struct proto_msg m = { .type = PROTO_RELOAD };
	struct call c = { 0 };
	int r;

	if ((r = call(&m, &c)) < 0)
		snprintf(err, WRIT_ERRLEN, "%s", c.err);
	return r;
}

void
minter_stop(void)
{
	struct proto_msg m = { .type = PROTO_STOP };
	struct call c = { 0 };

	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_mutex_unlock(&lock);
	if (fd < 0)
		return;
	(void)call(&m, &c);
	/*
	 * The minter closes its logs and exits; its end of the channel closes.
	 * NB. ours is shut first: a minter the reader gave up on (it broke
	 * the table) was told nothing, and exits at its channel's end.
	 */
	(void)shutdown(fd, SHUT_RDWR);
	(void)waitpid(minter_pid, NULL, 0);
	if (up)
		pthread_join(reader, NULL);
	up = false;
	close(fd);
	fd = -1;
}
