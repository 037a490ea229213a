/*
 * mint.c - MINT: check an order again, mint, record, and only then hand
 * the token back.
 *
 * One order moves through: checked (against the kinds and their limits,
 * not against the front end's word) -> minted (here, or on an upstream
 * worker for kinds that wait on the network) -> recorded (fingerprint,
 * ledger entry, "issued" audit record: record) -> durable (the audit log's
 * sync thread calls synced) -> done.  The writ's id and times are made
 * here, so an id is fresh by construction.  Whatever the front end does
 * with the answer, a token that leaves this file has its durable record.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/kind.h"
#include "audit.h"
#include "../config.h"
#include "../core.h"
#include "ledger.h"
#include "upstream.h"
#include "custody.h"
#include "minter.h"
#include "mint.h"
#include "order.h"

struct minting {
	struct mint_job job;		/* job.mint points into this struct */
	const struct writ_kind *kind;
	json_t *scope;			/* our own canonical copy */
	char session_id[WRIT_ID_LEN + 1];
	char session_name[WRIT_MAX_SESSION_NAME + 1];
	char approval[WRIT_ID_LEN + 1];	/* "" when a rule allowed it */
	pid_t pid;
	uint64_t pid_start;
	json_t *identity;		/* a copy, or NULL */
	bool reserved;			/* counted live (custody_reserve), not kept yet */
	struct mint_result res;
	void (*done)(void *arg, struct mint_result *r);
	void *arg;
};

/*
 * Orders in flight at most.  writd's front end admits WRIT_MAX_CONNS
 * connections, each with one request at a time: an honest one never has
 * this many.  Past it, a front end that floods the minter with orders (a
 * slow upstream keeps each one) is refused, not kept in memory unbounded.
 */
#define WRIT_MINT_MAX_IN_FLIGHT (2 * WRIT_MAX_CONNS)

/* Orders taken and not yet answered (minter_drain waits for none). */
static pthread_mutex_t flight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flight_done = PTHREAD_COND_INITIALIZER;
static unsigned int in_flight;

static void
finish(struct minting *m)
{
	m->done(m->arg, &m->res);
	secret_free(m->res.token);	/* NULL unless done left it */
	if (m->reserved)
		custody_reserve(m->session_id, m->kind->name, -1);
	json_decref(m->scope);
	json_decref(m->identity);
	free(m);
	pthread_mutex_lock(&flight_lock);
	if (--in_flight == 0)
		pthread_cond_broadcast(&flight_done);
	pthread_mutex_unlock(&flight_lock);
}

void
mint_drain(void)
{
	pthread_mutex_lock(&flight_lock);
	while (in_flight > 0)
		pthread_cond_wait(&flight_done, &flight_lock);
	pthread_mutex_unlock(&flight_lock);
}

/* End m with code and message (NULL: the code's own). */
static void
fail(struct minting *m, int code, const char *msg)
{
	secret_free(m->res.token);
	m->res.token = NULL;
	m->res.code = code;
	snprintf(m->res.err, sizeof(m->res.err), "%s", msg != NULL ? msg : "");
	finish(m);
}

/* fields with m's job identity as "identity" (as session_audit adds it). */
static json_t *
with_identity(const struct minting *m, json_t *fields)
{
	if (fields != NULL && m->identity != NULL)
		json_object_set_new(fields, "identity", json_deep_copy(m->identity));
	return fields;
}

/*
 * A mint that failed, by its code only: messages may quote upstream's
 * answer, and the log keeps nothing it did not write itself.
 */
static void
audit_mint_failed(const struct minting *m, int code)
{
	audit_log("mint_failed", with_identity(m, json_pack("{ssssss}", "session",
	    m->session_id, "kind", m->kind->name, "error", errors_lookup(code)->name)));
}

/* The enterprise layer alone, for order_check; swapped whole, under limits_lock. */
static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy *limits;

struct policy *
minter_set_limits(struct policy *enterprise)
{
	struct policy *old;

	pthread_mutex_lock(&limits_lock);
	old = limits;
	limits = enterprise;
	pthread_mutex_unlock(&limits_lock);
	return old;
}

/*
 * The order, checked (order.h), into m; the writ's id and times made.
 * Returns 0, or a code with a message.
 */
static int
check(struct minting *m, const struct mint_order *o, char err[WRIT_ERRLEN])
{
	struct kind_mint *km = &m->job.mint;
	struct mint_order own = *o;
	int r;

	/*
	 * The enterprise's limits on live writs count what the minter holds
	 * and has reserved, not what the front end says; a place is reserved
	 * at once, under the same lock, so that orders checked meanwhile
	 * count it.  NB. the policy engine is pure, a decision is quick.
	 */
	pthread_mutex_lock(&limits_lock);
	if (id_valid(o->session_id) && o->req.kind != NULL &&
	    strlen(o->req.kind) < WRIT_KIND_NAME_MAX)
		custody_count(o->session_id, o->req.kind, &own.req.live, &own.req.live_kind);
	r = order_check(&own, writd_cfg, limits, &m->kind, &m->scope, err);
	if (r == 0) {
		memcpy(m->session_id, o->session_id, sizeof(m->session_id));
		custody_reserve(m->session_id, m->kind->name, 1);
		m->reserved = true;
	}
	pthread_mutex_unlock(&limits_lock);
	if (r < 0)
		return r;
	snprintf(m->session_name, sizeof(m->session_name), "%s", o->req.session);
	snprintf(m->approval, sizeof(m->approval), "%s", o->approval != NULL ? o->approval : "");
	m->pid = o->pid;
	m->pid_start = o->pid_start;
	if (o->identity != NULL && (m->identity = json_deep_copy(o->identity)) == NULL)
		return WRIT_ENOMEM;
	random_id(m->res.id);
	km->writ_id = m->res.id;
	km->session_id = m->session_id;
	km->scope = m->scope;
	km->issued_at = now_real();
	km->expires_at = km->issued_at + o->req.ttl;
	/*
	 * NB. a job's writ never outlives the job's identity: capped, not
	 * refused (the answer says so); the TTL asked was what policy decided on.
	 */
	if (o->cap > 0 && km->expires_at > o->cap) {
		km->expires_at = o->cap;
		if (km->expires_at - km->issued_at < 1) {
			snprintf(err, WRIT_ERRLEN, "this job's identity token has expired: its "
			    "session is closing");
			return WRIT_ECLOSED;
		}
	}
	m->res.issued_at = km->issued_at;
	m->res.expires_at = km->expires_at;
	return 0;
}

/* The token, which must not live on unrecorded: revoked where the kind can. */
static void
take_back(struct minting *m)
{
	const struct writ_kind *k = m->kind;
	char err[WRIT_ERRLEN];

	if (k->revoke != NULL && k->upstream) {
		upstream_revoke(k, m->res.token, m->res.id);	/* takes it, closes its entry */
		m->res.token = NULL;
		return;
	}
	if (k->revoke != NULL)
		(void)k->revoke(kinds_state(k), m->res.token, err);
	ledger_done(m->res.id);
}

/* RECORDED -> DURABLE: on the audit log's sync thread (or at once). */
static void
synced(void *arg, bool ok)
{
	struct minting *m = arg;

	if (ok) {
		m->res.code = 0;
		finish(m);
		return;
	}
	/* NB. an unrecorded token must not live: revoked, and its entry closed. */
	(void)custody_revoke(m->res.id, "its issued record could not be made durable");
	fail(m, WRIT_EAUDIT, NULL);
}

/*
 * MINTED -> RECORDED: the one place a minted token becomes a writ: its
 * keyed fingerprint, computed once; its ledger entry (write-ahead: synced
 * here for upstream kinds, whose token exists upstream from the mint on;
 * else by the log before the "issued" record); the durable "issued"
 * record, with the entry's fields so that it can be recovered from it.
 * On the thread that minted (a handler or an upstream worker), no lock.
 */
static void
record(struct minting *m)
{
	const struct writ_kind *k = m->kind;
	const struct kind_mint *km = &m->job.mint;
	struct secret *copy = NULL;
	struct ledger_entry e;
	char fp[33], err[WRIT_ERRLEN];
	json_t *rec;
	int r;

	audit_fingerprint(m->res.token->data, m->res.token->len, fp);
	memcpy(m->res.fingerprint, fp, sizeof(fp));
	e = (struct ledger_entry){ .id = m->res.id, .session = m->session_id,
	    .name = m->session_name, .kind = k, .scope = m->scope,
	    .issued_at = km->issued_at, .expires_at = km->expires_at, .pid = m->pid,
	    .pid_start = m->pid_start, .token = m->res.token };
	if ((r = ledger_add(&e, fp)) == 0 && k->upstream)
		r = ledger_flush();
	if (r < 0) {
		/* On the worker: revoked now, before anyone could use it. */
		if (k->upstream && k->revoke != NULL)
			(void)k->revoke(kinds_state(k), m->res.token, err);
		if (k->upstream)
			audit_mint_failed(m, WRIT_EAUDIT);
		fail(m, r, r != WRIT_EAUDIT ? NULL : k->upstream ? "the ledger cannot be "
		    "written; the token was revoked and nothing issued" :
		    "the ledger cannot be written; nothing issued");
		return;
	}
	/*
	 * Kept from here on (the minter ends it at its expiry, or when asked);
	 * NB. a copy of the token: the original goes to done.
	 */
	if (k->revoke != NULL && (copy = secret_dup(m->res.token->data, m->res.token->len)) == NULL)
		r = WRIT_ENOMEM;
	else {
		r = custody_add(m->res.id, m->session_id, k, m->identity, km->expires_at, copy, true);
		m->reserved = false;	/* kept, or counted out by custody_add */
	}
	if (r < 0) {
		take_back(m);
		fail(m, WRIT_ENOMEM, NULL);
		return;
	}
	/* "request": the approval it came from, when a person was asked. */
	rec = json_pack("{sssssssOsIssso}", "writ", m->res.id, "session", m->session_id,
	    "kind", k->name, "scope", m->scope, "expires_at", (json_int_t)km->expires_at,
	    "fingerprint", fp, "request",
	    m->approval[0] != '\0' ? json_string(m->approval) : json_null());
	if (rec != NULL && ledger_note(&e, rec) < 0) {
		json_decref(rec);
		rec = NULL;
	}
	/* NB. synced may run at once, and m is gone then. */
	audit_wait(audit_log_durable("issued", with_identity(m, rec)), synced, m);
}

/* MINTING -> MINTED, on an upstream worker (or failed at stop). */
static void
minted(struct mint_job *job)
{
	struct minting *m = (struct minting *)((char *)job - offsetof(struct minting, job));

	if (job->result < 0) {
		audit_mint_failed(m, job->result);
		m->res.retry_after = job->out.retry_after;
		fail(m, job->result, job->err[0] != '\0' ? job->err : NULL);
		return;
	}
	m->res.token = job->out.token;
	job->out.token = NULL;
	record(m);
}

void
minter_mint(const struct mint_order *o, void (*done)(void *arg, struct mint_result *r),
    void *arg)
{
	struct minting *m = NULL;
	struct kind_token out = { 0 };
	char err[WRIT_ERRLEN];
	bool full;
	int r;

	pthread_mutex_lock(&flight_lock);
	if (!(full = in_flight >= WRIT_MINT_MAX_IN_FLIGHT) &&
	    (m = calloc(1, sizeof(*m))) != NULL)
		in_flight++;
	pthread_mutex_unlock(&flight_lock);
	if (m == NULL) {
		struct mint_result res = { .code = full ? WRIT_EBUSY : WRIT_ENOMEM };

		if (full)
			snprintf(res.err, sizeof(res.err), "the minter holds %d orders in "
			    "flight, more than writd's front end admits", WRIT_MINT_MAX_IN_FLIGHT);
		done(arg, &res);
		return;
	}
	m->done = done;
	m->arg = arg;
	if ((r = check(m, o, err)) < 0) {
		/* NB. an honest front end sends none of these: worth a record. */
		if (r != WRIT_ENOMEM)
			audit_log("mint_refused", json_pack("{ssssssss}", "session",
			    id_valid(o->session_id) ? o->session_id : "", "kind",
			    m->kind != NULL ? m->kind->name : "", "error", errors_lookup(r)->name,
			    "why", err));
		fail(m, r, err);
		return;
	}
	if (m->kind->upstream) {
		m->job.kind = m->kind;
		m->job.done = minted;
		upstream_mint(&m->job);
		return;
	}
	err[0] = '\0';
	if ((r = m->kind->mint(kinds_state(m->kind), &m->job.mint, &out, err)) < 0) {
		audit_mint_failed(m, r);
		m->res.retry_after = out.retry_after;
		fail(m, r == WRIT_ENOMEM ? r : r == WRIT_EINTERNAL ? WRIT_EMINT : r,
		    err[0] != '\0' ? err : NULL);
		return;
	}
	m->res.token = out.token;
	record(m);
}
