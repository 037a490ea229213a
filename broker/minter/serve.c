/*
 * serve.c - the minter's end of the channel: the front end's requests,
 * each decoded strictly (proto_decode: the front end parses what
 * sandboxes send, and is not trusted), handled by the calls of minter.c
 * and mint.c, answered in the order the table says.
 *
 * One thread reads and handles requests; a MINT's answer comes later, on
 * whatever thread finishes it (the audit log's sync thread, an upstream
 * worker).  Everything sent goes through one queue and one writer
 * thread, so that the reader never waits on the front end: were both
 * sides to block writing into each other's full buffer, neither would
 * read again.  The minter always takes what the front end sends (the
 * queue holds at most WRIT_SERVE_MAX_QUEUED bytes before the reader
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
#include <unistd.h>
#include <sodium.h>

#include "../../plugins/kind.h"
#include "../../policy/policy.h"
#include "../audit.h"
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
	bool closing;			/* serve_stop: write what is queued, then exit */
	bool gone;			/* a write failed: the front end is gone */
	int fd;
	pthread_t writer;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
    NULL, &q.head, 0, false, false, -1, 0 };

/* The events the front end writes; every other one is the minter's alone. */
static const char *const front_events[] = {
	"request", "approval_asked", "approval_failed", "approved", "denied",
	"policy_reloaded", "requests_refused", "session_closed", "session_opened",
	"session_refused", NULL,
};

static void
wipe_free(struct out *o)
{
	sodium_memzero(o->buf, o->len);
	free(o);
}

static void *
writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		struct out *o;
		size_t done = 0;

		while (q.head == NULL && !q.closing)
			pthread_cond_wait(&q.more, &q.lock);
		if ((o = q.head) == NULL)
			break;		/* closing, and all written */
		if ((q.head = o->next) == NULL)
			q.tail = &q.head;
		pthread_mutex_unlock(&q.lock);
		while (!q.gone && done < o->len) {
			ssize_t n = write(q.fd, o->buf + done, o->len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				q.gone = true;	/* NB. this thread's alone to set */
			else
				done += (size_t)n;
		}
		pthread_mutex_lock(&q.lock);
		q.bytes -= o->len;
		pthread_cond_broadcast(&q.room);
		wipe_free(o);
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

/*
 * Queue m for the front end.  An ANSWER the table refuses (a bug: the
 * minter's own values out of their ranges) goes as WRIT_EINTERNAL, so
 * that the request still has its one answer.
 */
static void
emit(const struct proto_msg *m)
{
	static __thread unsigned char *buf;
	struct proto_fault f;
	struct out *o;
	size_t len;

	if (buf == NULL && (buf = malloc(PROTO_MAX_ANSWER)) == NULL) {
		fprintf(stderr, "writd: minter: out of memory for a message\n");
		return;
	}
	if (proto_encode(m, PROTO_MINTER, buf, PROTO_MAX_ANSWER, &len, &f) != 0) {
		struct proto_msg e = { .type = PROTO_ANSWER, .id = m->id };

		sodium_memzero(buf, PROTO_MAX_ANSWER);
		fprintf(stderr, "writd: minter: cannot send %s: %s\n",
		    proto_type_name(m->type), f.msg);
		if (m->type != PROTO_ANSWER)
			return;
		e.u.answer = (struct proto_answer){ .of = m->u.answer.of,
		    .code = WRIT_EINTERNAL, .message = "the minter could not encode its answer" };
		if (proto_encode(&e, PROTO_MINTER, buf, PROTO_MAX_ANSWER, &len, &f) != 0)
			return;
	}
	if ((o = malloc(sizeof(*o) + len)) == NULL) {
		sodium_memzero(buf, len);
		fprintf(stderr, "writd: minter: out of memory for a message\n");
		return;
	}
	o->next = NULL;
	o->len = len;
	memcpy(o->buf, buf, len);
	sodium_memzero(buf, len);
	pthread_mutex_lock(&q.lock);
	*q.tail = o;
	q.tail = &o->next;
	q.bytes += len;
	pthread_cond_signal(&q.more);
	pthread_mutex_unlock(&q.lock);
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
		audit_log("mint_refused", json_pack("{ssssss}", "session", pm->session, "kind",
		    pm->kind, "error", err));
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
	if ((seq = audit_log_durable(a->event, fields)) == 0) {
		answer_code(id, PROTO_AUDIT_APPEND, WRIT_EAUDIT, NULL);
		return;
	}
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
	size_t len = 0, drop = 0, n;

	if (recs == NULL) {
		answer_code(id, PROTO_AUDIT_TAIL, WRIT_ENOMEM, NULL);
		return;
	}
	n = json_array_size(recs);
	for (;;) {
		free(text);
		if ((text = jdump(recs, JSON_COMPACT, &len)) == NULL)
			break;
		if (len <= PROTO_MAX_ANSWER_TEXT || json_array_size(recs) <= 1)
			break;
		/* Halve what is left out until it fits: a few dumps, not one per record. */
		drop = json_array_size(recs) / 2;
		for (size_t i = 0; i < drop; i++)
			json_array_remove(recs, 0);
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
h_audit_verify(uint32_t id, const struct proto_audit_verify *v)
{
	answer_json(id, PROTO_AUDIT_VERIFY, audit_verify(v->file[0] != '\0' ? v->file : NULL,
	    v->checkpoint[0] != '\0' ? v->checkpoint : NULL), WRIT_ENOMEM);
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
		h_audit_tail(id, &m->u.audit_tail);
		break;
	case PROTO_AUDIT_VERIFY:
		h_audit_verify(id, &m->u.audit_verify);
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
			if (r <= 0)
				break;			/* the front end is gone */
			continue;
		}
		if (proto_decode(buf, len, PROTO_FRONT, &m, &f) != 0) {
			end = refused(&f);
			break;
		}
		handle(&m);
		if (m.type == PROTO_STOP) {
			end = SERVE_STOPPED;
			break;
		}
	}
	proto_reader_free(&rd);
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
