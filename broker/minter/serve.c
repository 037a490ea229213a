/*
 * serve.c - the minter's end of the channel: the front end's requests,
 * each decoded strictly (proto_decode: the front end parses what
 * sandboxes send, and is not trusted), handled by the calls of minter.c
 * and mint.c, answered in the order the table says.
 *
 * One thread reads and handles requests; a MINT's answer comes later, on
 * whatever thread finishes it (the audit log's sync thread, an upstream
 * worker), and AUDIT_TAIL and AUDIT_VERIFY run on threads of their own.
 * What is sent goes out at once on the thread that has it when the
 * socket takes it and nothing is queued, else through one queue and a
 * writer thread, so that the reader never waits on the front end: were
 * both sides to block writing into each other's full buffer, neither
 * would read again.  The minter always takes what the front end sends
 * (the queue holds at most WRIT_SERVE_MAX_QUEUED bytes before the reader
 * waits: only a front end that stops reading fills it).
 *
 * A message the table refuses ends the channel: a front end that sends
 * one is broken or compromised, and nothing it says after is trusted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>

#include "../../plugins/kind.h"
#include "../../policy/policy.h"
#include "audit.h"
#include "../config.h"
#include "../core.h"
#include "jdump.h"
#include "procpeer.h"
#include "sjson.h"
#include "minter.h"
#include "orderwire.h"
#include "proto.h"
#include "serve.h"

/* Bytes queued for the front end before the reader waits for the writer. */
#define WRIT_SERVE_MAX_QUEUED (64 * 1024 * 1024)

/* One message queued for the front end. */
struct out {
	struct out *next;
	size_t len;
	unsigned char buf[];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;		/* the writer: something queued, or closing */
	pthread_cond_t room;		/* the reader: the queue shrank */
	struct out *head, **tail;
	size_t bytes;
	bool writing;			/* a thread writes to fd: the others queue */
	bool closing;			/* serve_stop: write what is queued, then exit */
	bool gone;			/* a write failed: the front end is gone */
	int fd;
	pthread_t writer;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
    NULL, &q.head, 0, false, false, false, -1, 0 };

/* The events the front end writes; every other one is the minter's alone. */
static const char *const front_events[] = {
	"request", "approval_asked", "approval_failed", "approved", "denied",
	"policy_reloaded", "requests_refused", "session_closed", "session_opened",
	"session_refused", NULL,
};

/*
 * A record's own members, written by audit.c around the fields: a front
 * end's fields holding one would make a second "event" (the last one is
 * what a JSON reader keeps: "issued" under a "request") or break the
 * chain's order for its verifier.
 */
static const char *const record_keys[] = { "event", "seq", "time", "mac", NULL };

static void
wipe_free(struct out *o)
{
	sodium_memzero(o->buf, o->len);
	free(o);
}

/*
 * Write p[0..len) to the front end; with nowait, only what the socket
 * takes at once.  Returns the bytes written; q.gone is set on a failure.
 * The caller holds the writing token (q.writing), not the lock.
 */
static size_t
put(const unsigned char *p, size_t len, bool nowait)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(q.fd, p + done, len - done, MSG_NOSIGNAL |
		    (nowait ? MSG_DONTWAIT : 0));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && nowait && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			pthread_mutex_lock(&q.lock);
			q.gone = true;
			pthread_mutex_unlock(&q.lock);
			return len;
		}
		done += (size_t)n;
	}
	return done;
}

static void *
writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		struct out *list;

		while ((q.head == NULL || q.writing) && !(q.closing && q.head == NULL &&
		    !q.writing))
			pthread_cond_wait(&q.more, &q.lock);
		if (q.head == NULL)
			break;		/* closing, and all written */
		/* The whole queue at once, in order, holding the token. */
		list = q.head;
		q.head = NULL;
		q.tail = &q.head;
		q.writing = true;
		pthread_mutex_unlock(&q.lock);
		for (struct out *o = list; o != NULL; o = o->next)
			if (!q.gone)
				(void)put(o->buf, o->len, false);
		pthread_mutex_lock(&q.lock);
		q.writing = false;
		while (list != NULL) {
			struct out *o = list;

			list = o->next;
			q.bytes -= o->len;
			wipe_free(o);
		}
		pthread_cond_broadcast(&q.room);
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

/* Encode m into buf (small, else a new buffer of the largest size). */
static int
encode(const struct proto_msg *m, unsigned char *small, size_t n, unsigned char **buf,
    size_t *ret_len, struct proto_fault *f)
{
	int r = proto_encode(m, PROTO_MINTER, small, n, ret_len, f);

	*buf = small;
	if (r != WRIT_ETOOBIG)
		return r;
	/* Most messages are small; the rest are encoded again into the largest. */
	if ((*buf = malloc(PROTO_MAX_ANSWER)) == NULL) {
		*buf = small;
		snprintf(f->msg, sizeof(f->msg), "out of memory");
		return WRIT_ENOMEM;
	}
	return proto_encode(m, PROTO_MINTER, *buf, PROTO_MAX_ANSWER, ret_len, f);
}

/*
 * Send p[0..len) to the front end, after whatever is queued: at once on
 * this thread when nothing is queued or being written and the socket
 * takes it (most messages: no other thread woken), else (what is left of
 * it) queued for the writer.  Never waits for the front end.
 */
static void
queue(const unsigned char *p, size_t len)
{
	struct out *o;
	size_t done = 0;
	bool first = false;

	pthread_mutex_lock(&q.lock);
	if (!q.writing && q.head == NULL && !q.gone) {
		q.writing = true;
		pthread_mutex_unlock(&q.lock);
		done = put(p, len, true);
		pthread_mutex_lock(&q.lock);
		q.writing = false;
		first = true;	/* NB. what is left goes before what others queued meanwhile */
	}
	if (done < len && !q.gone) {
		if ((o = malloc(sizeof(*o) + len - done)) == NULL) {
			/* NB. the stream would be out of step: the front end must go. */
			fprintf(stderr, "writd: minter: out of memory for a message\n");
			q.gone = true;
			(void)shutdown(q.fd, SHUT_RDWR);
		} else {
			o->len = len - done;
			memcpy(o->buf, p + done, len - done);
			if (first) {
				if ((o->next = q.head) == NULL)
					q.tail = &o->next;
				q.head = o;
			} else {
				o->next = NULL;
				*q.tail = o;
				q.tail = &o->next;
			}
			q.bytes += o->len;
		}
	}
	if (q.head != NULL || q.closing)
		pthread_cond_signal(&q.more);
	pthread_mutex_unlock(&q.lock);
}

/*
 * Queue m for the front end.  An ANSWER the table refuses (a bug: the
 * minter's own values out of their ranges) goes as WRIT_EINTERNAL, so
 * that the request still has its one answer.
 */
static void
emit(const struct proto_msg *m)
{
	unsigned char small[16 * 1024], *buf;
	struct proto_fault f;
	size_t len = 0;

	if (encode(m, small, sizeof(small), &buf, &len, &f) != 0) {
		struct proto_msg e = { .type = PROTO_ANSWER, .id = m->id };

		if (buf != small)
			free(buf);
		fprintf(stderr, "writd: minter: cannot send %s: %s\n",
		    proto_type_name(m->type), f.msg);
		if (m->type != PROTO_ANSWER)
			return;
		e.u.answer = (struct proto_answer){ .of = m->u.answer.of,
		    .code = WRIT_EINTERNAL, .message = "the minter could not encode its answer" };
		if (proto_encode(&e, PROTO_MINTER, small, sizeof(small), &len, &f) != 0)
			return;
		buf = small;
	}
	queue(buf, len);
	/* NB. it may hold a token. */
	sodium_memzero(buf, len);
	if (buf != small)
		free(buf);
}

/* The answer to request id of type of: a code and its message, nothing more. */
static void
answer_code(uint32_t id, uint32_t of, int code, const char *msg)
{
	char text[WRIT_ERRLEN];
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };

	snprintf(text, sizeof(text), "%s", code != 0 && msg != NULL ? msg : "");
	text[proto_utf8_span(text, strlen(text))] = '\0';
	m.u.answer = (struct proto_answer){ .of = of, .code = code, .message = text };
	emit(&m);
}

/* A success carrying JSON v (taken); NULL answers code none. */
static void
answer_json(uint32_t id, uint32_t of, json_t *v, int none)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };
	char *text;
	size_t len;

	if (v == NULL) {
		answer_code(id, of, none, NULL);
		return;
	}
	text = jdump(v, JSON_COMPACT, &len);
	json_decref(v);
	if (text == NULL || len > PROTO_MAX_ANSWER_TEXT) {
		answer_code(id, of, text == NULL ? WRIT_ENOMEM : WRIT_ETOOBIG, NULL);
		free(text);
		return;
	}
	m.u.answer = (struct proto_answer){ .of = of, .message = "" };
	m.u.answer.r.json = text;
	emit(&m);
	free(text);
}

/* MINT's done: the order's answer, on whatever thread finished it. */
static void
minted(void *arg, struct mint_result *r)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = (uint32_t)(uintptr_t)arg };
	struct orderwire_answer a;

	orderwire_put_result(r, r->fingerprint, &a);
	m.u.answer = a.a;
	emit(&m);
	secret_free(r->token);
	r->token = NULL;
}

static void
h_mint(uint32_t id, const struct proto_mint *pm)
{
	struct orderwire_order w;
	char err[WRIT_ERRLEN];

	if (orderwire_get_order(pm, &w, err) < 0) {
		/* NB. as mint.c records the refusals of order_check: the code's name, then why. */
		audit_log("mint_refused", json_pack("{ssssssss}", "session", pm->session, "kind",
		    pm->kind, "error", errors_lookup(WRIT_EBADREQ)->name, "why", err));
		answer_code(id, PROTO_MINT, WRIT_EBADREQ, err);
		return;
	}
	minter_mint(&w.o, minted, (void *)(uintptr_t)id);
	orderwire_order_free(&w);
}

static void
h_revoke_token(uint32_t id, const struct proto_revoke_token *rt)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };
	struct secret *t;
	int r = WRIT_ENOTFOUND;

	/* NB. a token holds no NUL: one that does matches none. */
	if (memchr(rt->token.data, '\0', rt->token.len) == NULL) {
		if ((t = secret_dup(rt->token.data, rt->token.len)) == NULL)
			r = WRIT_ENOMEM;
		else {
			r = minter_revoke_token(rt->session[0] != '\0' ? rt->session : NULL,
			    (const char *)t->data, m.u.answer.r.writ,
			    "given back by token (git credential erase)");
			secret_free(t);
		}
	}
	if (r != 0) {
		answer_code(id, PROTO_REVOKE_TOKEN, r, NULL);
		return;
	}
	m.u.answer.of = PROTO_REVOKE_TOKEN;
	m.u.answer.message = "";
	emit(&m);
}

static void
h_throttled(uint32_t id, const struct proto_throttled *t)
{
	char err[WRIT_ERRLEN] = "";
	json_t *scope;
	int r, wait = 0;
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };

	if (sjson_parse(t->scope, strlen(t->scope), &scope, err) < 0) {
		answer_code(id, PROTO_THROTTLED, WRIT_EBADREQ, err);
		return;
	}
	r = minter_throttled(t->kind, scope, &wait, err);
	json_decref(scope);
	if (r == 0) {
		answer_code(id, PROTO_THROTTLED, 0, NULL);
		return;
	}
	err[proto_utf8_span(err, strlen(err))] = '\0';
	m.u.answer = (struct proto_answer){ .of = PROTO_THROTTLED, .code = r, .message = err,
	    .retry_after = wait < 0 ? 0 : wait > PROTO_MAX_RETRY ? PROTO_MAX_RETRY :
	    (uint32_t)wait };
	emit(&m);
}

static bool
front_event(const char *event)
{
	for (size_t i = 0; front_events[i] != NULL; i++)
		if (strcmp(front_events[i], event) == 0)
			return true;
	return false;
}

static void
h_audit_append(uint32_t id, const struct proto_audit_append *a)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };
	char err[WRIT_ERRLEN];
	json_t *fields;
	uint64_t seq;

	if (!front_event(a->event)) {
		snprintf(err, sizeof(err), "AUDIT_APPEND: '%s' is not the front end's to write",
		    a->event);
		answer_code(id, PROTO_AUDIT_APPEND, WRIT_EBADREQ, err);
		return;
	}
	if (sjson_parse(a->fields, strlen(a->fields), &fields, err) < 0) {
		answer_code(id, PROTO_AUDIT_APPEND, WRIT_EBADREQ, err);
		return;
	}
	for (size_t i = 0; record_keys[i] != NULL; i++)
		if (json_object_get(fields, record_keys[i]) != NULL) {
			json_decref(fields);
			snprintf(err, sizeof(err), "AUDIT_APPEND: '%s' is the record's own, not "
			    "a field the front end may set", record_keys[i]);
			answer_code(id, PROTO_AUDIT_APPEND, WRIT_EBADREQ, err);
			return;
		}
	/*
	 * NB. WRIT_EAUDIT only when the log is broken: the front end stops
	 * issuing for good on it, and one record over the size a record may
	 * have (a sandbox's long scope) must not do that.
	 */
	if ((seq = audit_log_durable(a->event, fields)) == 0) {
		if (audit_ok())
			answer_code(id, PROTO_AUDIT_APPEND, WRIT_ETOOBIG, "AUDIT_APPEND: the "
			    "record is over the size of one, and is not written");
		else
			answer_code(id, PROTO_AUDIT_APPEND, WRIT_EAUDIT, NULL);
		return;
	}
	/* NB. a success is answered only when asked for (proto.h): most records are not. */
	if ((id & PROTO_NO_SUCCESS) != 0)
		return;
	m.u.answer = (struct proto_answer){ .of = PROTO_AUDIT_APPEND, .message = "" };
	m.u.answer.r.seq = (int64_t)seq;
	emit(&m);
}

/*
 * AUDIT_TAIL: as many of the newest records asked for as fit in one
 * answer, whole; more names the oldest sent when some were left out.
 */
static void
h_audit_tail(uint32_t id, const struct proto_audit_tail *t)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };
	json_t *recs = audit_tail(t->n, t->session[0] != '\0' ? t->session : NULL,
	    (uint64_t)t->after, (uint64_t)t->before);
	char *text = NULL;
	size_t len = 0, n;

	if (recs == NULL) {
		answer_code(id, PROTO_AUDIT_TAIL, WRIT_ENOMEM, NULL);
		return;
	}
	n = json_array_size(recs);
	for (;;) {
		json_t *newer;
		size_t have;

		free(text);
		if ((text = jdump(recs, JSON_COMPACT, &len)) == NULL)
			break;
		if (len <= PROTO_MAX_ANSWER_TEXT || (have = json_array_size(recs)) <= 1)
			break;
		/* The newer half, until it fits: a few dumps, not one per record. */
		if ((newer = json_array()) == NULL) {
			free(text);
			text = NULL;
			break;
		}
		for (size_t i = have / 2; i < have; i++)
			json_array_append(newer, json_array_get(recs, i));
		json_decref(recs);
		recs = newer;
	}
	if (text == NULL || len > PROTO_MAX_ANSWER_TEXT) {
		answer_code(id, PROTO_AUDIT_TAIL, text == NULL ? WRIT_ENOMEM : WRIT_ETOOBIG, NULL);
		free(text);
		json_decref(recs);
		return;
	}
	m.u.answer = (struct proto_answer){ .of = PROTO_AUDIT_TAIL, .message = "" };
	m.u.answer.r.tail.json = text;
	m.u.answer.r.tail.more = json_array_size(recs) < n ? json_integer_value(
	    json_object_get(json_array_get(recs, 0), "seq")) : 0;
	emit(&m);
	free(text);
	json_decref(recs);
}

static void
h_audit_rotate(uint32_t id, const struct proto_audit_rotate *r)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };
	uint64_t seq = audit_rotate(r->why);

	if (seq == 0) {
		answer_code(id, PROTO_AUDIT_ROTATE, WRIT_EAUDIT, NULL);
		return;
	}
	m.u.answer = (struct proto_answer){ .of = PROTO_AUDIT_ROTATE, .message = "" };
	m.u.answer.r.seq = (int64_t)seq;
	emit(&m);
}

static void
h_audit_key(uint32_t id)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };
	char hex[65];

	audit_public_key(hex);
	m.u.answer = (struct proto_answer){ .of = PROTO_AUDIT_KEY, .message = "" };
	m.u.answer.r.key = hex;
	emit(&m);
}

static void
h_public_keys(uint32_t id, const struct proto_kind *k)
{
	answer_json(id, PROTO_PUBLIC_KEYS, minter_public_keys(k->kind),
	    kinds_find(k->kind) == NULL ? WRIT_EKIND : WRIT_ENOTFOUND);
}

static void
h_secret_put(uint32_t id, const struct proto_secret_put *p)
{
	char err[WRIT_ERRLEN] = "";
	int r = minter_secret_put(p->name, p->value.data, p->value.len, err);

	answer_code(id, PROTO_SECRET_PUT, r, err[0] != '\0' ? err : NULL);
}

/*
 * The requests that read the log's files (AUDIT_TAIL, AUDIT_VERIFY) run on
 * a thread of their own, at most WRIT_SERVE_READERS at once (past that,
 * on the serve thread), so that a long read -- a verify of every rotated
 * file, a session's tail scanning back -- holds up no MINT or REVOKE.
 */
#define WRIT_SERVE_READERS 4

struct slow {
	uint32_t id, type;
	struct proto_audit_tail tail;	/* its session points to session */
	char session[WRIT_ID_LEN + 1];
	char *file, *checkpoint;
};

static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
static unsigned int slow_running;

static void
slow_run(struct slow *w)
{
	if (w->type == PROTO_AUDIT_TAIL)
		h_audit_tail(w->id, &w->tail);
	else
		answer_json(w->id, PROTO_AUDIT_VERIFY, audit_verify(w->file[0] != '\0' ?
		    w->file : NULL, w->checkpoint[0] != '\0' ? w->checkpoint : NULL),
		    WRIT_ENOMEM);
	free(w->file);
	free(w->checkpoint);
	free(w);
}

static void *
slow_main(void *arg)
{
	slow_run(arg);
	pthread_mutex_lock(&slow_lock);
	slow_running--;
	pthread_cond_broadcast(&slow_cond);
	pthread_mutex_unlock(&slow_lock);
	return NULL;
}

/* m (AUDIT_TAIL or AUDIT_VERIFY), copied out of the reader's buffer, run. */
static void
slow(const struct proto_msg *m)
{
	struct slow *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	pthread_t t;
	bool own = false;

	if (w == NULL || (m->type == PROTO_AUDIT_VERIFY &&
	    ((w->file = strdup(m->u.audit_verify.file)) == NULL ||
	    (w->checkpoint = strdup(m->u.audit_verify.checkpoint)) == NULL))) {
		if (w != NULL) {
			free(w->file);
			free(w);
		}
		answer_code(m->id, m->type, WRIT_ENOMEM, NULL);
		return;
	}
	w->id = m->id;
	w->type = m->type;
	if (m->type == PROTO_AUDIT_TAIL) {
		w->tail = m->u.audit_tail;
		snprintf(w->session, sizeof(w->session), "%s", m->u.audit_tail.session);
		w->tail.session = w->session;
	}
	pthread_mutex_lock(&slow_lock);
	if (slow_running < WRIT_SERVE_READERS) {
		slow_running++;
		own = true;
	}
	pthread_mutex_unlock(&slow_lock);
	if (own) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		own = pthread_create(&t, &attr, slow_main, w) == 0;
		pthread_attr_destroy(&attr);
		if (own)
			return;
		pthread_mutex_lock(&slow_lock);
		slow_running--;
		pthread_mutex_unlock(&slow_lock);
	}
	slow_run(w);
}

/* Wait for the slow requests' threads: none reads the log once the minter stops. */
static void
slow_wait(void)
{
	pthread_mutex_lock(&slow_lock);
	while (slow_running > 0)
		pthread_cond_wait(&slow_cond, &slow_lock);
	pthread_mutex_unlock(&slow_lock);
}

/* RESTORE's fn: each writ brought back, told to the front end. */
static bool
restored(const struct minter_restored *r, void *arg)
{
	struct proto_msg m = { .type = PROTO_RESTORED };
	char *scope = jdump(r->scope, JSON_COMPACT | JSON_SORT_KEYS, NULL);

	(void)arg;
	if (scope == NULL)
		return false;
	m.u.restored = (struct proto_restored){ .name = r->name, .kind = r->kind->name,
	    .scope = scope, .issued_at = r->issued_at, .expires_at = r->expires_at,
	    .pid = r->pid > 0 ? (uint32_t)r->pid : 0, .pid_start = (int64_t)r->pid_start,
	    .same_boot = r->same_boot };
	memcpy(m.u.restored.writ, r->id, sizeof(m.u.restored.writ));
	memcpy(m.u.restored.session, r->session, sizeof(m.u.restored.session));
	emit(&m);
	free(scope);
	return true;
}

static void
h_reload(uint32_t id)
{
	char err[WRIT_ERRLEN];
	struct policy *ent;

	if (policy_load(writd_cfg->policy_enterprise, NULL, &ent, err) < 0) {
		answer_code(id, PROTO_RELOAD, WRIT_EBADREQ, err);
		return;
	}
	policy_free(minter_set_limits(ent));
	answer_code(id, PROTO_RELOAD, 0, NULL);
}

/*
 * PEER: a caller's exe, cwd and user namespace, which the confined front
 * end may not read (proto.h says why what this tells is no more than its
 * user's).  An exe not a path (none shown) goes as "?", the table's form.
 */
static void
h_peer(uint32_t id, const struct proto_peer *p)
{
	struct proto_msg m = { .type = PROTO_ANSWER, .id = id };
	char exe[PROTO_MAX_EXE + 1], cwd[PROTO_MAX_CWD + 1];

	procpeer_link((pid_t)p->pid, "exe", exe, sizeof(exe));
	procpeer_link((pid_t)p->pid, "cwd", cwd, sizeof(cwd));
	if (exe[0] != '/')
		snprintf(exe, sizeof(exe), "?");
	m.u.answer = (struct proto_answer){ .of = PROTO_PEER, .message = "" };
	m.u.answer.r.peer = (struct proto_peered){ .exe = exe, .cwd = cwd,
	    .other_userns = procpeer_other_userns((pid_t)p->pid, (uid_t)p->uid) };
	emit(&m);
}

/* One request, decoded. */
static void
handle(const struct proto_msg *m)
{
	const uint32_t id = m->id;
	char err[WRIT_ERRLEN] = "";
	int r;

	switch (m->type) {
	case PROTO_HELLO:
		break;
	case PROTO_MINT:
		h_mint(id, &m->u.mint);
		break;
	case PROTO_REVOKE:
		answer_code(id, m->type, minter_revoke(m->u.revoke.writ, m->u.revoke.reason), NULL);
		break;
	case PROTO_REVOKE_TOKEN:
		h_revoke_token(id, &m->u.revoke_token);
		break;
	case PROTO_PUBLIC_KEYS:
		h_public_keys(id, &m->u.public_keys);
		break;
	case PROTO_THROTTLED:
		h_throttled(id, &m->u.throttled);
		break;
	case PROTO_AUDIT_APPEND:
		h_audit_append(id, &m->u.audit_append);
		break;
	case PROTO_AUDIT_TAIL:
	case PROTO_AUDIT_VERIFY:
		slow(m);
		break;
	case PROTO_AUDIT_ROTATE:
		h_audit_rotate(id, &m->u.audit_rotate);
		break;
	case PROTO_AUDIT_KEY:
		h_audit_key(id);
		break;
	case PROTO_SECRET_PUT:
		h_secret_put(id, &m->u.secret_put);
		break;
	case PROTO_SECRET_DEL:
		answer_code(id, m->type, minter_secret_del(m->u.secret_del.name), NULL);
		break;
	case PROTO_SECRET_LIST:
		answer_json(id, m->type, minter_secret_list(), WRIT_EINTERNAL);
		break;
	case PROTO_RESTORE:
		(void)minter_restore(restored, NULL);
		r = minter_flush();
		answer_code(id, m->type, r, r < 0 ? "the restored writs' records could not "
		    "be made durable" : NULL);
		break;
	case PROTO_EXPIRE:
		minter_expire(now_real());
		answer_code(id, m->type, 0, NULL);
		break;
	case PROTO_RELOAD:
		h_reload(id);
		break;
	case PROTO_PEER:
		h_peer(id, &m->u.peer);
		break;
	case PROTO_STOP:
		minter_stop();
		answer_code(id, m->type, 0, NULL);
		break;
	default:
		snprintf(err, sizeof(err), "%s: not a request", proto_type_name(m->type));
		answer_code(id, m->type, WRIT_EBADREQ, err);
	}
}

/* ENDED: a writ the minter ended at its expiry (custody's, any thread). */
static void
ended(const char *id)
{
	struct proto_msg m = { .type = PROTO_ENDED, .u.ended.event = "expired" };

	memcpy(m.u.ended.writ, id, sizeof(m.u.ended.writ));
	emit(&m);
}

int
serve_start(int fd)
{
	struct proto_msg hello = { .type = PROTO_HELLO, .u.hello.version = PROTO_VERSION };

	q.fd = fd;
	if (pthread_create(&q.writer, NULL, writer_main, NULL) != 0)
		return WRIT_EINTERNAL;
	minter_set_ended(ended);
	emit(&hello);
	return 0;
}

/* Refused: said on stderr and in the audit log. */
static enum serve_end
refused(const struct proto_fault *f)
{
	fprintf(stderr, "writd: minter: the front end sent a message the request table "
	    "refuses (%s, at byte %zu): it is no longer trusted\n", f->msg, f->at);
	audit_log("channel_refused", json_pack("{sssI}", "error", f->msg, "at",
	    (json_int_t)f->at));
	return SERVE_REFUSED;
}

enum serve_end
serve_run(void)
{
	struct proto_reader rd;
	enum serve_end end = SERVE_LOST;
	bool greeted = false;

	if (proto_reader_init(&rd, PROTO_MAX_REQUEST) < 0)
		return SERVE_LOST;
	for (;;) {
		const unsigned char *buf;
		struct proto_fault f;
		struct proto_msg m;
		size_t len;
		int r = proto_reader_next(&rd, &buf, &len, &f);

		if (r < 0) {
			end = refused(&f);
			break;
		}
		if (r == 0) {
			/* Only a front end that stops reading fills the queue. */
			pthread_mutex_lock(&q.lock);
			while (q.bytes > WRIT_SERVE_MAX_QUEUED && !q.gone)
				pthread_cond_wait(&q.room, &q.lock);
			pthread_mutex_unlock(&q.lock);
			r = proto_reader_read(&rd, q.fd);
			if (r < 0 && errno == EINTR)
				continue;
			/*
			 * NB. the channel's end inside a message is a message the
			 * table refuses (cut short), not a front end gone between
			 * two: what it obtained ends.  One killed in the middle of
			 * a write looks the same, and is treated the same (the
			 * safe side of the two).
			 */
			if (r == 0 && rd.len > 0 &&
			    proto_decode(rd.buf, rd.len, PROTO_FRONT, &m, &f) != 0) {
				end = refused(&f);
				break;
			}
			if (r <= 0)
				break;			/* the front end is gone */
			continue;
		}
		if (proto_decode(buf, len, PROTO_FRONT, &m, &f) != 0) {
			end = refused(&f);
			break;
		}
		/* HELLO first, and once: the front end's version, checked by the decoder. */
		if ((m.type == PROTO_HELLO) == greeted) {
			f = (struct proto_fault){ .code = PROTO_FTYPE, .at = 8 };
			snprintf(f.msg, sizeof(f.msg), greeted ? "HELLO again" :
			    "%s before HELLO", proto_type_name(m.type));
			end = refused(&f);
			break;
		}
		greeted = true;
		if (m.type == PROTO_STOP)
			slow_wait();	/* NB. before minter_stop closes what they read */
		handle(&m);
		if (m.type == PROTO_STOP) {
			end = SERVE_STOPPED;
			break;
		}
	}
	proto_reader_free(&rd);
	if (end != SERVE_LOST)
		slow_wait();
	return end;
}

void
serve_fatal(const char *why)
{
	struct proto_msg m = { .type = PROTO_FATAL, .u.fatal.why = why };

	emit(&m);
}

void
serve_stop(void)
{
	pthread_mutex_lock(&q.lock);
	q.closing = true;
	pthread_cond_signal(&q.more);
	pthread_mutex_unlock(&q.lock);
	pthread_join(q.writer, NULL);
}
