/*
 * api.c - the v1 HTTP API.
 *
 * Session socket: POST|GET /v1/writs, DELETE /v1/writs/{id}, GET /v1/health.
 * Admin socket: GET /v1/health, POST|GET /v1/sessions, GET|DELETE
 * /v1/sessions/{id}, GET /v1/requests[?wait=S&after=SEQ], POST
 * /v1/requests/{id}/approve|deny, GET /v1/writs, DELETE /v1/writs/{id},
 * GET /v1/jwks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "../plugins/kind.h"
#include "../policy/policy.h"
#include "api.h"
#include "approval.h"
#include "audit.h"
#include "config.h"
#include "core.h"
#include "duration.h"
#include "errors.h"
#include "ledger.h"
#include "oidc.h"
#include "peer.h"
#include "server.h"
#include "session.h"
#include "sjson.h"
#include "store.h"
#include "upstream.h"
#include "writs.h"

#define ON_ADMIN 1
#define ON_SESSION 2

typedef enum MHD_Result (*handler_fn)(struct MHD_Connection *c, struct req *rq,
    const char *arg);

struct route {
	unsigned int where;	/* ON_ADMIN, ON_SESSION or both */
	const char *method;
	const char *path;	/* "*" stands for one id segment */
	handler_fn fn;
};

/* The policy in force; swapped whole on reload, under writd_lock. */
static struct policy *policy;

struct policy *
api_set_policy(struct policy *p)
{
	struct policy *old;

	pthread_mutex_lock(&writd_lock);
	old = policy;
	policy = p;
	pthread_mutex_unlock(&writd_lock);
	return old;
}

static enum MHD_Result
bad(struct MHD_Connection *c, int code, const char *err)
{
	return reply_error(c, code, err[0] != '\0' ? err : NULL);
}

/* The body as a strict JSON object; an empty body is {} when empty_ok. */
static int
body_json(const struct req *rq, bool empty_ok, json_t **ret, char err[WRIT_ERRLEN])
{
	if (rq->len == 0 && empty_ok) {
		*ret = json_object();
		return *ret != NULL ? 0 : WRIT_ENOMEM;
	}
	return sjson_parse(rq->body != NULL ? rq->body : "", rq->len, ret, err);
}

/* A query argument as an integer in 0..max; absent gives def. */
static int
query_int(struct MHD_Connection *c, const char *key, long long max,
    long long def, long long *ret, char err[WRIT_ERRLEN])
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	long long n = 0;

	if (v == NULL) {
		*ret = def;
		return 0;
	}
	if (*v == '\0' || strlen(v) > 19)
		goto bad;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		n = n * 10 + (*p - '0');
	}
	if (n > max)
		goto bad;
	*ret = n;
	return 0;
 bad:
	snprintf(err, WRIT_ERRLEN, "query '%s' must be an integer from 0 to %lld", key, max);
	return WRIT_EBADREQ;
}

static enum MHD_Result
h_health(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	json_t *kinds = json_array(), *body;

	(void)arg;
	for (size_t i = 0; writ_kinds[i] != NULL; i++)
		json_array_append_new(kinds, json_string(writ_kinds[i]->name));
	body = json_pack("{sssssoss}", "status", "ok", "version", WRIT_VERSION,
	    "kinds", kinds, "socket", rq->conn->session != NULL ? "session" : "admin");
	if (body != NULL && rq->conn->session != NULL)
		json_object_set_new(body, "session", json_pack("{ssss}", "id",
		    rq->conn->session->id, "name", rq->conn->session->name));
	else if (body != NULL) {
		pthread_mutex_lock(&writd_lock);
		json_object_set_new(body, "approvers", json_integer(approval_watchers()));
		pthread_mutex_unlock(&writd_lock);
	}
	return reply_json(c, 200, body);
}

/*
 * A mint that failed, by its code only: messages may quote upstream's
 * answer, and the log keeps nothing it did not write itself.
 */
static void
audit_mint_failed(const struct session *s, const struct writ_kind *k, int code)
{
	audit_log("mint_failed", session_audit(s, json_pack("{ssssss}", "session", s->id,
	    "kind", k->name, "error", errors_lookup(code)->name)));
}

static void durable(void *arg, bool ok);

/* Record a minted token (taken) as a writ of s and answer c with it. */
static enum MHD_Result
deliver(struct MHD_Connection *c, struct req *rq, struct session *s,
    const struct writ_kind *k, const json_t *scope, const char *wid, int64_t issued,
    int64_t expires, struct secret *tok)
{
	struct secret *keep = NULL;
	struct ledger_entry e;
	char fp[33];
	uint64_t seq;
	json_t *body;
	int r;

	if (k->revoke != NULL && (keep = secret_dup(tok->data, tok->len)) == NULL) {
		if (k->upstream)
			upstream_revoke(k, tok, wid);
		else
			secret_free(tok);
		return reply_error(c, WRIT_ENOMEM, NULL);
	}
	pthread_mutex_lock(&writd_lock);
	if (s->closed)
		r = WRIT_ECLOSED;
	else if ((r = writs_add(wid, s, k, json_deep_copy(scope), issued, expires, keep)) == 0)
		/* The reaper ends it at its expiry, and closes the key page soon. */
		core_kick_at(expires < issued + 1 ? expires : issued + 1);
	pthread_mutex_unlock(&writd_lock);
	if (r < 0) {
		/* Minted for a session that closed meanwhile: it must not live on. */
		if (r == WRIT_ECLOSED && keep != NULL && k->upstream)
			upstream_revoke(k, keep, wid);
		else if (r == WRIT_ECLOSED)
			secret_free(keep);
		secret_free(tok);
		return reply_error(c, r, NULL);
	}
	audit_fingerprint(tok->data, tok->len, fp);
	/* Upstream kinds are in the ledger already: their worker put them there. */
	e = (struct ledger_entry){ .id = wid, .session = s->id, .name = s->name, .kind = k,
	    .scope = scope, .issued_at = issued, .expires_at = expires, .pid = s->pid,
	    .pid_start = s->pid_start, .token = tok };
	if (!k->upstream && ledger_add(&e, fp) < 0) {
		struct writ *back = NULL;

		pthread_mutex_lock(&writd_lock);
		(void)writs_take(NULL, wid, &back);
		pthread_mutex_unlock(&writd_lock);
		writs_revoke_list(back, "its ledger entry could not be made");
		secret_free(tok);
		return reply_error(c, WRIT_ENOMEM, NULL);
	}
	body = json_pack("{sssssOsssIsIsI}", "id", wid, "kind", k->name, "scope", scope,
	    "token", (const char *)tok->data, "issued_at", (json_int_t)issued,
	    "expires_at", (json_int_t)expires, "ttl", (json_int_t)(expires - issued));
	secret_free(tok);
	/* Cut short to end with its job's identity token (issue): the agent is told. */
	if (body != NULL && s->expires_at > 0 && expires == s->expires_at)
		json_object_set_new(body, "ttl_capped", json_string("the session's job "
		    "identity token expires then (its exp + the issuer's grace)"));
	/* Write-ahead: the token leaves only once its record is on disk. */
	/* "request": the approval it came from, when a person was asked. */
	seq = audit_log_durable("issued", session_audit(s, json_pack("{sssssssOsIssso}",
	    "writ", wid, "session", s->id, "kind", k->name, "scope", scope, "expires_at",
	    (json_int_t)expires, "fingerprint", fp, "request",
	    rq->pending != NULL ? json_string(rq->pending->id) : json_null())));
	rq->reply = body;
	memcpy(rq->reply_writ, wid, sizeof(rq->reply_writ));
	pthread_mutex_lock(&writd_lock);
	server_suspend(c, rq);
	pthread_mutex_unlock(&writd_lock);
	audit_wait(seq, durable, rq);
	return MHD_YES;
}

/* The audit sync thread: rq's record is durable (ok) or never will be. */
static void
durable(void *arg, bool ok)
{
	struct req *rq = arg;

	pthread_mutex_lock(&writd_lock);
	rq->reply_state = ok ? 1 : -1;
	server_resume(rq->mhd, rq);
	pthread_mutex_unlock(&writd_lock);
}

/* Send the 201 whose record is durable; or take the writ back. */
static enum MHD_Result
finish_reply(struct MHD_Connection *c, struct req *rq)
{
	struct writ *revoke = NULL;
	json_t *body = rq->reply;

	rq->reply = NULL;
	if (rq->reply_state == 1)
		return reply_json(c, 201, body);
	json_decref(body);
	/* NB. an unrecorded token must not live: forget and revoke it. */
	pthread_mutex_lock(&writd_lock);
	(void)writs_take(NULL, rq->reply_writ, &revoke);
	pthread_mutex_unlock(&writd_lock);
	writs_revoke_list(revoke, "its issued record could not be made durable");
	return reply_error(c, WRIT_EAUDIT, NULL);
}

/* An upstream worker: job's mint is done (or failed at stop); its request goes on. */
static void
minted(struct mint_job *job)
{
	struct req *rq = job->arg;

	pthread_mutex_lock(&writd_lock);
	server_resume(rq->mhd, rq);
	pthread_mutex_unlock(&writd_lock);
}

/*
 * Mint a writ for s and answer c with it.  Network-bound kinds mint on an
 * upstream worker: the request is suspended and comes back to finish_job.
 */
static enum MHD_Result
issue(struct MHD_Connection *c, struct req *rq, struct session *s,
    const struct writ_kind *k, const json_t *scope, int64_t ttl)
{
	struct kind_token kt = { 0 };
	char err[WRIT_ERRLEN] = "", wid[33];
	struct kind_mint m;
	int r;

	random_id(wid);
	m.writ_id = wid;
	m.session_id = s->id;
	m.scope = scope;
	m.issued_at = now_real();
	m.expires_at = m.issued_at + ttl;
	/*
	 * NB. a job's writ never outlives the job's identity: capped, not
	 * refused (deliver says so); the TTL asked was what policy decided on.
	 */
	if (s->expires_at > 0 && m.expires_at > s->expires_at) {
		m.expires_at = s->expires_at;
		ttl = m.expires_at - m.issued_at;
		if (ttl < 1)
			return reply_error(c, WRIT_ECLOSED, "this job's identity token has "
			    "expired: its session is closing");
	}
	if (k->upstream) {
		struct mint_job *j = calloc(1, sizeof(*j));

		if (j == NULL)
			return reply_error(c, WRIT_ENOMEM, NULL);
		j->done = minted;
		j->arg = rq;
		j->kind = k;
		j->scope = json_deep_copy(scope);
		j->ttl = ttl;
		memcpy(j->writ_id, wid, sizeof(wid));
		j->issued_at = m.issued_at;
		j->expires_at = m.expires_at;
		pthread_mutex_lock(&writd_lock);
		j->session = s;
		session_ref(s);
		rq->job = j;
		server_suspend(c, rq);
		upstream_mint(j);
		pthread_mutex_unlock(&writd_lock);
		return MHD_YES;
	}
	r = k->mint(kinds_state(k), &m, &kt, err);
	if (r < 0) {
		audit_mint_failed(s, k, r);
		return reply_error_with(c, r == WRIT_ENOMEM ? r : r == WRIT_EINTERNAL ? WRIT_EMINT : r,
		    err[0] ? err : NULL, NULL, kt.retry_after);
	}
	return deliver(c, rq, s, k, scope, wid, m.issued_at, m.expires_at, kt.token);
}

/* An upstream mint came back. */
static enum MHD_Result
finish_job(struct MHD_Connection *c, struct req *rq)
{
	struct mint_job *j = rq->job;
	struct secret *tok;

	if (j->result < 0) {
		audit_mint_failed(j->session, j->kind, j->result);
		return reply_error_with(c, j->result, j->err[0] ? j->err : NULL, NULL,
		    j->out.retry_after);
	}
	tok = j->out.token;
	j->out.token = NULL;
	return deliver(c, rq, j->session, j->kind, j->scope, j->writ_id, j->issued_at,
	    j->expires_at, tok);
}

/* A decided request comes back here: issue the writ, or say why not. */
static enum MHD_Result
finish_writ(struct MHD_Connection *c, struct req *rq)
{
	struct pending *p = rq->pending;
	int decision;

	pthread_mutex_lock(&writd_lock);
	decision = p->decision;
	pthread_mutex_unlock(&writd_lock);
	if (decision != 1)
		return reply_error(c, decision, NULL);
	/* Approved for a process that is gone: its pid may now be another's. */
	if (!peer_alive(p->peer))
		return reply_error(c, WRIT_EGONE, NULL);
	return issue(c, rq, p->session, p->kind, p->scope, p->ttl);
}

/*
 * The parts of a writ request every path checks alike: kind, canonical
 * scope (a new reference), ttl.  Returns 0 or a code with err.
 */
static int
parse_writ(const json_t *req, const struct writ_kind **ret_kind, json_t **ret_scope,
    int64_t *ret_ttl, char err[WRIT_ERRLEN])
{
	const struct kind_config *kc;
	const struct writ_kind *k;
	const char *kind, *ttl;
	char q[52];
	int64_t secs;
	int r;

	if ((r = sjson_string(req, "kind", true, &kind, err)) < 0 ||
	    (r = sjson_string(req, "ttl", false, &ttl, err)) < 0)
		return r;
	if ((k = kinds_find(kind)) == NULL) {
		sjson_quote(q, kind);
		snprintf(err, WRIT_ERRLEN, "unknown kind '%s'; GET /v1/health lists the kinds", q);
		return WRIT_EKIND;
	}
	if (json_object_get(req, "scope") == NULL) {
		snprintf(err, WRIT_ERRLEN, "field 'scope' is required");
		return WRIT_EBADREQ;
	}
	kc = &writd_cfg->kinds[kinds_index(k)];
	secs = kc->default_ttl;
	if (ttl != NULL && duration_parse(ttl, &secs) < 0) {
		sjson_quote(q, ttl);
		snprintf(err, WRIT_ERRLEN, "field 'ttl': '%s' is not a positive duration "
		    "such as \"90s\", \"10m\" or \"1h\"", q);
		return WRIT_ETTL;
	}
	if (secs > kc->max_ttl) {
		snprintf(err, WRIT_ERRLEN, "field 'ttl': %llds is above the %s maximum of "
		    "%llds; ask for less", (long long)secs, k->name, (long long)kc->max_ttl);
		return WRIT_ETTLMAX;
	}
	if ((r = k->canonicalize(json_object_get(req, "scope"), ret_scope, err)) < 0)
		return r;
	*ret_kind = k;
	*ret_ttl = secs;
	return 0;
}

/* Answer a policy denial: the tier, rule and why go to the agent too. */
static enum MHD_Result
reply_denied(struct MHD_Connection *c, const struct policy_decision *d)
{
	return reply_error_with(c, WRIT_EPOLICY, d->message, json_pack("{ssssss}",
	    "tier", d->tier, "layer", d->layer, "rule", d->rule), 0);
}

/* What the "request" record of a writ request says. */
struct request_record {
	struct session *s;
	const struct req *rq;
	const struct writ_kind *k;
	const json_t *scope;
	int64_t ttl;
	const char *decision, *tier, *rule, *reason;
};

static void
audit_request(const struct request_record *w)
{
	const struct peer *peer = w->rq->conn->peer;

	audit_log("request", session_audit(w->s, json_pack("{sssssssOsIsisssbssssssss}",
	    "session", w->s->id, "session_name", w->s->name, "kind", w->k->name,
	    "scope", w->scope, "ttl", (json_int_t)w->ttl, "pid", (int)peer->pid,
	    "exe", peer->exe, "verified", !peer->relayed, "decision", w->decision,
	    "tier", w->tier, "rule", w->rule, "reason", w->reason != NULL ? w->reason : "")));
}

/*
 * A request refused with code before any person saw it: its record, while
 * the session's budget has room, else a count (refusals.h).  Lock held.
 */
static void
refused_locked(const struct request_record *w, int code)
{
	if (session_refused(w->s, &(struct refusal){ .kind = w->k->name,
	    .decision = w->decision, .error = errors_lookup(code)->name, .tier = w->tier,
	    .rule = w->rule }))
		audit_request(w);
}

static void
refused(const struct request_record *w, int code)
{
	pthread_mutex_lock(&writd_lock);
	refused_locked(w, code);
	pthread_mutex_unlock(&writd_lock);
}

static enum MHD_Result
h_writ_create(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "kind", "scope", "ttl", "reason", NULL };
	struct session *s = rq->conn->session;
	struct policy_request pq;
	struct policy_decision d = { .verdict = POLICY_ASK };
	const struct writ_kind *k = NULL;
	char err[WRIT_ERRLEN] = "";
	struct pending *p = NULL;
	json_t *req = NULL, *scope = NULL;
	struct request_record rec;
	const char *reason, *verdict;
	int64_t ttl = 0, cool;
	unsigned int max_pending;
	int r, wait = 0;
	bool room;

	(void)arg;
	if (rq->reply != NULL)
		return finish_reply(c, rq);
	if (rq->job != NULL) {
		struct mint_job *j = rq->job;
		enum MHD_Result res = finish_job(c, rq);

		/* Done with it: a later resume is the audit's, for rq->reply. */
		pthread_mutex_lock(&writd_lock);
		rq->job = NULL;
		upstream_job_free(j);
		pthread_mutex_unlock(&writd_lock);
		return res;
	}
	if (rq->pending != NULL)
		return finish_writ(c, rq);
	/* Fail closed at once: nothing is issued that cannot be recorded. */
	if (!audit_ok())
		return reply_error(c, WRIT_EAUDIT, NULL);
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the request", err)) < 0 ||
	    (r = sjson_string(req, "reason", false, &reason, err)) < 0 ||
	    (r = parse_writ(req, &k, &scope, &ttl, err)) < 0)
		goto out;
	if (reason != NULL && strlen(reason) > WRIT_MAX_REASON) {
		snprintf(err, sizeof(err), "field 'reason' is longer than %d bytes",
		    WRIT_MAX_REASON);
		r = WRIT_ETOOBIG;
		goto out;
	}
	pq = (struct policy_request){ .kind = k->name, .scope = scope, .ttl = ttl,
	    .session = s->name, .uid = rq->conn->peer->uid, .claims = s->claims,
	    /* NB. a relayed caller's exe is the relay's: no exe rule may match it. */
	    .exe = rq->conn->peer->relayed ? WRIT_EXE_UNVERIFIED : rq->conn->peer->exe };
	pthread_mutex_lock(&writd_lock);
	pq.workspace = s->workspace;
	pq.live = writs_count(s);
	pq.live_kind = s->live_kind[kinds_index(k)];
	cool = session_cooling(s, now_mono());
	if (cool == 0)
		policy_decide(policy, &pq, &d);
	max_pending = policy_max_pending(policy);
	pthread_mutex_unlock(&writd_lock);
	/*
	 * Upstream asked writd to wait (a rate limit, kind.h): refused now,
	 * after policy (a deny stays a deny) and before any person is asked
	 * to approve what would not be sent.
	 */
	if (cool == 0 && d.verdict != POLICY_DENY && k->throttled != NULL &&
	    k->throttled(kinds_state(k), scope, &wait, err) < 0 && wait > 0)
		verdict = "rate_limited";
	else {
		err[0] = '\0';
		wait = 0;
		verdict = cool > 0 ? "cooling_down" : d.verdict == POLICY_DENY ? "deny" :
		    d.verdict == POLICY_ALLOW ? "allow" : "ask";
	}
	rec = (struct request_record){ .s = s, .rq = rq, .k = k, .scope = scope, .ttl = ttl,
	    .decision = verdict, .tier = cool > 0 ? "cooldown" : wait > 0 ? "upstream" : d.tier,
	    .rule = cool > 0 || wait > 0 ? "" : d.rule, .reason = reason };
	if (cool > 0 || wait > 0 || d.verdict == POLICY_DENY) {
		int code = cool > 0 ? WRIT_ECOOLDOWN : wait > 0 ? WRIT_EUPLIMIT : WRIT_EPOLICY;

		/* Refused before any person or upstream: recorded within a budget. */
		refused(&rec, code);
		json_decref(req);
		json_decref(scope);
		if (cool > 0) {
			snprintf(err, sizeof(err), "too many of this session's requests were "
			    "denied; it may ask again in %llds", (long long)cool);
			return reply_error_with(c, WRIT_ECOOLDOWN, err, NULL, (int)cool);
		}
		if (wait > 0)
			return reply_error_with(c, WRIT_EUPLIMIT, err, json_pack("{si}",
			    "retry_after", wait), wait);
		return reply_denied(c, &d);
	}
	if (d.verdict == POLICY_ALLOW) {
		/* Allowed by a rule: no prompt, but the same checks as any writ. */
		enum MHD_Result res;

		audit_request(&rec);
		res = peer_alive(rq->conn->peer) ? issue(c, rq, s, k, scope, ttl) :
		    reply_error(c, WRIT_EGONE, NULL);
		json_decref(req);
		json_decref(scope);
		return res;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	p->kind = k;
	p->scope = json_incref(scope);
	p->ttl = ttl;
	p->why = d;
	snprintf(p->reason, sizeof(p->reason), "%s", reason != NULL ? reason : "");
	sjson_clean_text(p->reason);
	p->peer = rq->conn->peer;
	p->mhd = c;
	p->rq = rq;
	p->fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)->connect_fd;
	if (max_pending == 0 || max_pending > writd_cfg->max_pending)
		max_pending = writd_cfg->max_pending;
	pthread_mutex_lock(&writd_lock);
	p->session = s;
	session_ref(s);
	/*
	 * NB. the record comes first while the session's refusal budget has
	 * room (a refusal then spends it); else only once the outcome is
	 * known, so that a flood of asks the queue refuses (too many
	 * pending, duplicates, no approver) is counted, not written.
	 */
	room = session_refusal_room(s);
	if (room)
		audit_request(&rec);
	r = approval_submit(p, max_pending);
	if (r == 0) {
		rq->pending = p;
		if (!room)
			audit_request(&rec);
	} else {
		approval_release(p);
		if (room)
			(void)session_refused(s, &(struct refusal){ .kind = k->name,
			    .decision = verdict, .error = errors_lookup(r)->name,
			    .tier = rec.tier, .rule = rec.rule });
		else
			refused_locked(&rec, r);
	}
	pthread_mutex_unlock(&writd_lock);
 out:
	json_decref(req);
	json_decref(scope);
	return r < 0 ? bad(c, r, err) : MHD_YES;
}

static enum MHD_Result
h_writ_list(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	json_t *list;

	(void)arg;
	pthread_mutex_lock(&writd_lock);
	writs_prune(now_real());
	list = writs_list(rq->conn->session);
	pthread_mutex_unlock(&writd_lock);
	return reply_json(c, 200, json_pack("{so}", "writs", list));
}

static enum MHD_Result
h_writ_delete(struct MHD_Connection *c, struct req *rq, const char *id)
{
	struct writ *revoke = NULL;
	int r;

	pthread_mutex_lock(&writd_lock);
	/* A session may give back only its own writs; admin any. */
	r = writs_take(rq->conn->session, id, &revoke);
	pthread_mutex_unlock(&writd_lock);
	if (r < 0)
		return reply_error(c, r, "no live writ with that id in this session");
	writs_revoke_list(revoke, rq->conn->session != NULL ? "given back by its session" :
	    "revoked by the admin");
	return reply_json(c, 200, json_pack("{sssb}", "id", id, "revoked", 1));
}

/* Give a writ back by its token (git's "erase" knows only the password). */
static enum MHD_Result
h_writ_revoke_token(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "token", NULL };
	char err[WRIT_ERRLEN] = "";
	struct writ *revoke = NULL;
	const char *token;
	json_t *req;
	int r;

	(void)arg;
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the request", err)) == 0 &&
	    (r = sjson_string(req, "token", true, &token, err)) == 0) {
		pthread_mutex_lock(&writd_lock);
		r = writs_take_token(rq->conn->session, token, &revoke);
		pthread_mutex_unlock(&writd_lock);
	}
	json_decref(req);
	if (r < 0)
		return r == WRIT_ENOTFOUND ? reply_error(c, r, "no live writ of this session "
		    "has that token") : bad(c, r, err);
	writs_revoke_list(revoke, "given back by token (git credential erase)");
	return reply_json(c, 200, json_pack("{sb}", "revoked", 1));
}

/*
 * A CI job's identity: its OIDC ID token verified (oidc.h), the claims writ
 * keeps, and when its session must end (exp + the issuer's grace).  The
 * token is never kept, logged or echoed; a refusal is audited by its
 * reason only.  Lock NOT held (oidc_verify takes a leaf lock of its own).
 */
static int
job_identity(const char *name, const char *token, json_t **ret_claims,
    int64_t *ret_expires, char err[WRIT_ERRLEN])
{
	const struct oidc_issuer *is = NULL;
	json_t *verified = NULL, *kept = NULL;
	int64_t now = now_real(), exp;
	char why[WRIT_ERRLEN];
	int r;

	if (strlen(token) > OIDC_MAX_TOKEN) {
		snprintf(why, sizeof(why), "token too long (over %d bytes)", OIDC_MAX_TOKEN);
		r = WRIT_EIDENTITY;
		goto refused;
	}
	if ((r = oidc_verify(token, now, &verified, &is, why)) < 0)
		goto refused;
	/* NB. exp is checked by oidc_verify; it must still be a number here. */
	if (!json_is_number(json_object_get(verified, "exp"))) {
		snprintf(why, sizeof(why), "token has no exp");
		r = WRIT_EIDENTITY;
		goto refused;
	}
	exp = (int64_t)json_number_value(json_object_get(verified, "exp"));
	if (exp > now + 366LL * 24 * 3600 || exp + is->grace <= now) {
		snprintf(why, sizeof(why), "token exp is %s", exp + is->grace <= now ?
		    "past (with the issuer's grace)" : "more than a year away");
		r = WRIT_EIDENTITY;
		goto refused;
	}
	if ((r = policy_claims_clean(verified, false, &kept, err)) < 0)
		goto out;
	*ret_claims = kept;
	*ret_expires = exp + is->grace;
	r = 0;
	goto out;
 refused:
	if (r == WRIT_EIDENTITY) {
		audit_log("session_refused", json_pack("{ssssss}", "name", name,
		    "error", "identity_refused", "why", why));
		snprintf(err, WRIT_ERRLEN, "field 'ci_token' refused: %s; no session was "
		    "opened", why);
	} else
		snprintf(err, WRIT_ERRLEN, "%s", why);
 out:
	json_decref(verified);
	return r;
}

static enum MHD_Result
h_session_create(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "name", "workspace", "pid", "via", "ci_token",
	    "uid", NULL };
	char err[WRIT_ERRLEN] = "";
	const char *name, *ws, *via, *token;
	json_t *pid, *uid, *claims = NULL;
	struct session *s;
	json_t *req, *body = NULL;
	int64_t expires = 0;
	int r;

	(void)arg;
	/* NB. the body may hold a job's ID token: server.c wipes it, and out: the copy. */
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the session", err)) < 0 ||
	    (r = sjson_string(req, "name", true, &name, err)) < 0 ||
	    (r = sjson_string(req, "workspace", false, &ws, err)) < 0 ||
	    (r = sjson_string(req, "via", false, &via, err)) < 0 ||
	    (r = sjson_string(req, "ci_token", false, &token, err)) < 0)
		goto out;
	if (token != NULL && via != NULL && strcmp(via, "spool") == 0) {
		snprintf(err, sizeof(err), "a job's session ('ci_token') is not opened via the spool");
		r = WRIT_EBADREQ;
		goto out;
	}
	/* Verified before anything is made: a refused token opens nothing. */
	if (token != NULL && (r = job_identity(name, token, &claims, &expires, err)) < 0)
		goto out;
	if (via != NULL && strcmp(via, "socket") != 0 && strcmp(via, "spool") != 0) {
		snprintf(err, sizeof(err), "field 'via' must be \"socket\" or \"spool\"");
		r = WRIT_EBADREQ;
		goto out;
	}
	pid = json_object_get(req, "pid");
	if (pid != NULL && (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
	    json_integer_value(pid) >= 1 << 30)) {
		snprintf(err, sizeof(err), "field 'pid' must be a process id");
		r = WRIT_EBADREQ;
		goto out;
	}
	/* Its range (and not writd's own) is session_create's to check. */
	uid = json_object_get(req, "uid");
	if (uid != NULL && (!json_is_integer(uid) || json_integer_value(uid) < 0)) {
		snprintf(err, sizeof(err), "field 'uid' must be a uid, a number >= 0");
		r = WRIT_EBADREQ;
		goto out;
	}
	pthread_mutex_lock(&writd_lock);
	r = session_create(name, ws, pid ? (pid_t)json_integer_value(pid) : 0, claims, expires,
	    uid ? (long long)json_integer_value(uid) : -1, &s, err);
	if (r == 0) {
		/* NB. the relay is who opens the session: writ-sandbox, on the admin socket. */
		if (via != NULL && strcmp(via, "spool") == 0) {
			s->spool = true;
			s->relay_pid = rq->conn->peer->pid;
			s->relay_start = rq->conn->peer->start;
		}
		body = session_json(s);
		audit_log("session_opened", session_audit(s, json_pack("{sssssOsssoso}",
		    "session", s->id, "name", s->name, "workspace",
		    json_object_get(body, "workspace"), "via", s->spool ? "spool" : "socket",
		    "claims", s->claims != NULL ? json_deep_copy(s->claims) : json_null(),
		    "uid", s->for_uid ? json_integer(s->uid) : json_null())));
		/* The reaper closes it when its identity token runs out. */
		if (s->expires_at > 0)
			core_kick_at(s->expires_at);
	}
	pthread_mutex_unlock(&writd_lock);
 out:
	if (token != NULL)
		sodium_memzero((char *)token, strlen(token));
	json_decref(req);
	json_decref(claims);
	return r < 0 ? bad(c, r, err) : reply_json(c, 201, body);
}

static enum MHD_Result
h_session_list(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	json_t *list;

	(void)rq;
	(void)arg;
	pthread_mutex_lock(&writd_lock);
	list = session_list();
	pthread_mutex_unlock(&writd_lock);
	return reply_json(c, 200, json_pack("{so}", "sessions", list));
}

static enum MHD_Result
h_session_get(struct MHD_Connection *c, struct req *rq, const char *id)
{
	struct session *s;
	json_t *body = NULL;

	(void)rq;
	pthread_mutex_lock(&writd_lock);
	if ((s = session_find(id)) != NULL)
		body = session_json(s);
	pthread_mutex_unlock(&writd_lock);
	return s == NULL ? reply_error(c, WRIT_ENOTFOUND, "no open session with that id") :
	    reply_json(c, 200, body);
}

static enum MHD_Result
h_session_delete(struct MHD_Connection *c, struct req *rq, const char *id)
{
	struct writ *revoke = NULL;
	struct session *s;

	(void)rq;
	pthread_mutex_lock(&writd_lock);
	if ((s = session_find(id)) != NULL) {
		/* NB. recorded first: closing may free s, and its identity with it. */
		audit_log("session_closed", session_audit(s, json_pack("{ss}", "session", id)));
		session_close(s, WRIT_ECLOSED, &revoke);
	}
	pthread_mutex_unlock(&writd_lock);
	if (s == NULL)
		return reply_error(c, WRIT_ENOTFOUND, "no open session with that id");
	writs_revoke_list(revoke, "its session was closed");
	return reply_json(c, 200, json_pack("{sssb}", "id", id, "closed", 1));
}

static enum MHD_Result
h_requests(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	char err[WRIT_ERRLEN] = "";
	long long wait = 0, after;
	struct poller *w;
	json_t *list;
	uint64_t seq;
	int r;

	(void)arg;
	if (rq->poller != NULL)
		after = (long long)rq->poller->after;	/* a long-poll came back */
	else if ((r = query_int(c, "wait", writd_cfg->max_wait, 0, &wait, err)) < 0 ||
	    (r = query_int(c, "after", (long long)1 << 53, 0, &after, err)) < 0)
		return bad(c, r, err);
	else {
		const char *inst = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "instance");

		/*
		 * NB. after= counts in the instance the watcher saw; a restarted
		 * writd numbers from 1 again, and its requests must not be skipped.
		 */
		if (inst != NULL && strcmp(inst, approval_instance()) != 0)
			after = 0;
	}
	if (wait > 0) {
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return reply_error(c, WRIT_ENOMEM, NULL);
		w->after = (uint64_t)after;
		w->deadline = now_mono() + wait;
		w->mhd = c;
		w->rq = rq;
		w->fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)->connect_fd;
		pthread_mutex_lock(&writd_lock);
		rq->poller = w;
		if (approval_wait(w)) {
			pthread_mutex_unlock(&writd_lock);
			return MHD_YES;
		}
		pthread_mutex_unlock(&writd_lock);
	}
	pthread_mutex_lock(&writd_lock);
	list = approval_list((uint64_t)after);
	seq = approval_last_seq();
	pthread_mutex_unlock(&writd_lock);
	return reply_json(c, 200, json_pack("{sosIss}", "requests", list, "seq", (json_int_t)seq,
	    "instance", approval_instance()));
}

static enum MHD_Result
decide(struct MHD_Connection *c, struct req *rq, const char *id, bool approve)
{
	static const char *const keys[] = { "digest", "confirm", NULL };
	char err[WRIT_ERRLEN] = "";
	struct verdict v = { .approve = approve };
	bool cooled = false;
	json_t *req, *body;
	int r, prior = 0;

	/* Optional: the digest that was shown, the typed code. */
	if ((r = body_json(rq, true, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the approval", err)) < 0 ||
	    (r = sjson_string(req, "digest", false, &v.digest, err)) < 0 ||
	    (r = sjson_string(req, "confirm", false, &v.confirm, err)) < 0) {
		json_decref(req);
		return bad(c, r, err);
	}
	pthread_mutex_lock(&writd_lock);
	r = approval_decide(id, &v, &prior, &cooled);
	pthread_mutex_unlock(&writd_lock);
	json_decref(req);
	if (r == WRIT_ENOTFOUND)
		return reply_error(c, r, "no pending request with that id");
	if (r == WRIT_EDECIDED) {
		const struct writ_error *e = errors_lookup(prior);

		snprintf(err, sizeof(err), "that request was already decided (%s); "
		    "an approval is good for one request only", prior == 1 ? "approved" : e->name);
		/* "prior" lets a client whose first answer was lost see it was taken. */
		return reply_error_with(c, r, err, json_pack("{ss}", "prior", prior == 1 ?
		    "approved" : prior == WRIT_EDENIED ? "denied" : e->name), 0);
	}
	if (r < 0)
		return reply_error(c, r, NULL);
	body = json_pack("{ssss}", "id", id, "decision", approve ? "approved" : "denied");
	if (body != NULL && cooled) {
		snprintf(err, sizeof(err), "that was the session's %u%s denial within %llds: "
		    "it is cooling down for %llds", writd_cfg->cooldown_after,
		    writd_cfg->cooldown_after == 1 ? "st" : writd_cfg->cooldown_after == 2 ? "nd" :
		    writd_cfg->cooldown_after == 3 ? "rd" : "th",
		    (long long)writd_cfg->cooldown_window, (long long)writd_cfg->cooldown);
		json_object_set_new(body, "cooldown", json_string(err));
		fprintf(stderr, "writd: %s\n", err);
	}
	return reply_json(c, 200, body);
}

static enum MHD_Result
h_approve(struct MHD_Connection *c, struct req *rq, const char *id)
{
	return decide(c, rq, id, true);
}

static enum MHD_Result
h_deny(struct MHD_Connection *c, struct req *rq, const char *id)
{
	return decide(c, rq, id, false);
}

static enum MHD_Result
h_jwks(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	const struct writ_kind *k = kinds_find("jwt");

	(void)rq;
	(void)arg;
	return reply_json(c, 200, k->public_keys(kinds_state(k)));
}

static enum MHD_Result
h_explain(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "kind", "scope", "ttl", "reason", "session",
	    "workspace", "uid", "exe", "live", "claims", NULL };
	struct policy_request pq = { .session = "explain", .exe = "/unknown" };
	const struct writ_kind *k;
	struct policy_decision d;
	char err[WRIT_ERRLEN] = "";
	json_t *req, *scope = NULL, *body = NULL, *claims = NULL;
	int64_t ttl;
	int r;

	(void)arg;
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	/* The request as an agent would send it, plus who would send it. */
	/* "claims": a job's, as if verified (strict: a typo is an error, not a miss). */
	if (json_object_get(req, "claims") != NULL &&
	    (r = policy_claims_clean(json_object_get(req, "claims"), true, &claims, err)) < 0)
		goto out;
	if ((r = sjson_only_keys(req, keys, "the request", err)) < 0 ||
	    (r = parse_writ(req, &k, &scope, &ttl, err)) < 0 ||
	    (r = sjson_string(req, "session", false, &pq.session, err)) < 0 ||
	    (r = sjson_string(req, "workspace", false, &pq.workspace, err)) < 0 ||
	    (r = sjson_string(req, "exe", false, &pq.exe, err)) < 0)
		goto out;
	if (pq.session == NULL)
		pq.session = "explain";
	if (pq.exe == NULL)
		pq.exe = "/unknown";
	if ((json_object_get(req, "uid") && !json_is_integer(json_object_get(req, "uid"))) ||
	    (json_object_get(req, "live") && !json_is_integer(json_object_get(req, "live")))) {
		snprintf(err, sizeof(err), "fields 'uid' and 'live' must be integers");
		r = WRIT_EBADREQ;
		goto out;
	}
	pq.uid = json_object_get(req, "uid") ? (uid_t)json_integer_value(json_object_get(req, "uid")) :
	    geteuid();
	pq.live = (unsigned int)json_integer_value(json_object_get(req, "live"));
	pq.live_kind = pq.live;
	pq.kind = k->name;
	pq.scope = scope;
	pq.ttl = ttl;
	pq.claims = claims;
	pthread_mutex_lock(&writd_lock);
	policy_decide(policy, &pq, &d);
	pthread_mutex_unlock(&writd_lock);
	body = policy_decision_json(&d);
	json_object_set(body, "scope", scope);
	json_object_set_new(body, "ttl", json_integer(ttl));
 out:
	json_decref(req);
	json_decref(scope);
	json_decref(claims);
	return r < 0 ? bad(c, r, err) : reply_json(c, 200, body);
}

static enum MHD_Result
h_secret_put(struct MHD_Connection *c, struct req *rq, const char *name)
{
	char err[WRIT_ERRLEN] = "";
	int r;

	/* The raw body is the value; it is never echoed, logged or returned. */
	r = store_put(name, rq->body != NULL ? rq->body : "", rq->len, err);
	if (r < 0)
		return bad(c, r, err);
	audit_log("secret_set", json_pack("{sssi}", "name", name, "size", (int)rq->len));
	return reply_json(c, 200, json_pack("{sssi}", "name", name, "size", (int)rq->len));
}

static enum MHD_Result
h_secret_list(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	json_t *list = store_list();

	(void)rq;
	(void)arg;
	if (list == NULL)
		return reply_error(c, WRIT_EINTERNAL, "cannot read the secret store");
	return reply_json(c, 200, json_pack("{so}", "secrets", list));
}

static enum MHD_Result
h_secret_get(struct MHD_Connection *c, struct req *rq, const char *name)
{
	json_t *list = store_list(), *e;
	size_t i;

	(void)rq;
	/* Write-only: what there is, never what it holds. */
	json_array_foreach(list, i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0) {
			json_incref(e);
			json_decref(list);
			return reply_json(c, 200, e);
		}
	json_decref(list);
	return reply_error(c, WRIT_ENOTFOUND, "no secret of that name");
}

static enum MHD_Result
h_secret_delete(struct MHD_Connection *c, struct req *rq, const char *name)
{
	int r = store_del(name);

	(void)rq;
	if (r < 0)
		return reply_error(c, r, r == WRIT_ENOTFOUND ? "no secret of that name" : NULL);
	audit_log("secret_removed", json_pack("{ss}", "name", name));
	return reply_json(c, 200, json_pack("{sssb}", "name", name, "removed", 1));
}

static enum MHD_Result
h_audit(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	const char *session = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "session");
	char err[WRIT_ERRLEN] = "";
	long long n, after;
	int r;

	(void)rq;
	(void)arg;
	if ((r = query_int(c, "tail", 100000, 20, &n, err)) < 0 ||
	    (r = query_int(c, "after", (long long)1 << 62, 0, &after, err)) < 0)
		return bad(c, r, err);
	if (session != NULL && (strlen(session) != 32 || strspn(session, "0123456789abcdef") != 32))
		return reply_error(c, WRIT_EBADREQ, "query 'session' must be a session id");
	return reply_json(c, 200, json_pack("{so}", "records",
	    audit_tail((unsigned int)n, session, (uint64_t)after)));
}

static enum MHD_Result
h_audit_verify(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	(void)rq;
	(void)arg;
	return reply_json(c, 200, audit_verify(NULL, NULL));
}

/*
 * A log moved aside, by absolute path (writd does not know the admin's
 * cwd), and/or a checkpoint's line from the syslog mirror to hold the log
 * against.
 */
static enum MHD_Result
h_audit_verify_file(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "file", "checkpoint", NULL };
	char err[WRIT_ERRLEN] = "";
	const char *file = NULL, *ckpt = NULL;
	json_t *req, *res;
	int r;

	(void)arg;
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the request", err)) == 0 &&
	    (r = sjson_string(req, "file", false, &file, err)) == 0 &&
	    (r = sjson_string(req, "checkpoint", false, &ckpt, err)) == 0 &&
	    file != NULL && file[0] != '/') {
		snprintf(err, sizeof(err), "field 'file' must be an absolute path");
		r = WRIT_EBADREQ;
	}
	res = r == 0 ? audit_verify(file, ckpt) : NULL;
	json_decref(req);
	return r < 0 ? bad(c, r, err) : reply_json(c, 200, res);
}

/* writctl audit rotate: the files move at the next sync, at once. */
static enum MHD_Result
h_audit_rotate(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	uint64_t s = audit_rotate("admin");

	(void)rq;
	(void)arg;
	if (s == 0)
		return reply_error(c, WRIT_EAUDIT, NULL);
	return reply_json(c, 200, json_pack("{sbsI}", "rotated", 1, "seq", (json_int_t)s));
}

/* The checkpoints' public key, for whoever checks them. */
static enum MHD_Result
h_audit_key(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	char hex[65];

	(void)rq;
	(void)arg;
	audit_public_key(hex);
	return reply_json(c, 200, json_pack("{ssss}", "algorithm", "ed25519", "public_key", hex));
}

static const struct route routes[] = {
	{ ON_ADMIN | ON_SESSION, "GET", "/v1/health", h_health },
	{ ON_SESSION, "POST", "/v1/writs", h_writ_create },
	{ ON_ADMIN | ON_SESSION, "GET", "/v1/writs", h_writ_list },
	{ ON_ADMIN | ON_SESSION, "DELETE", "/v1/writs/*", h_writ_delete },
	{ ON_ADMIN | ON_SESSION, "POST", "/v1/writs/revoke", h_writ_revoke_token },
	{ ON_ADMIN, "POST", "/v1/sessions", h_session_create },
	{ ON_ADMIN, "GET", "/v1/sessions", h_session_list },
	{ ON_ADMIN, "GET", "/v1/sessions/*", h_session_get },
	{ ON_ADMIN, "DELETE", "/v1/sessions/*", h_session_delete },
	{ ON_ADMIN, "GET", "/v1/requests", h_requests },
	{ ON_ADMIN, "POST", "/v1/requests/*/approve", h_approve },
	{ ON_ADMIN, "POST", "/v1/requests/*/deny", h_deny },
	{ ON_ADMIN, "GET", "/v1/jwks", h_jwks },
	{ ON_ADMIN, "POST", "/v1/policy/explain", h_explain },
	{ ON_ADMIN, "GET", "/v1/audit", h_audit },
	{ ON_ADMIN, "GET", "/v1/audit/verify", h_audit_verify },
	{ ON_ADMIN, "POST", "/v1/audit/verify", h_audit_verify_file },
	{ ON_ADMIN, "POST", "/v1/audit/rotate", h_audit_rotate },
	{ ON_ADMIN, "GET", "/v1/audit/key", h_audit_key },
	{ ON_ADMIN, "GET", "/v1/secrets", h_secret_list },
	{ ON_ADMIN, "PUT", "/v1/secrets/%", h_secret_put },
	{ ON_ADMIN, "GET", "/v1/secrets/%", h_secret_get },
	{ ON_ADMIN, "DELETE", "/v1/secrets/%", h_secret_delete },
	{ 0, NULL, NULL, NULL },
};

/*
 * Does url match pattern?  A "*" segment must be a 32-hex-digit id, a "%"
 * segment a secret name; either is copied to arg.
 */
static bool
match(const char *pattern, const char *url, char arg[WRIT_MAX_SECRET_NAME + 1])
{
	const char *star = strchr(pattern, '*');
	const char *pct = strchr(pattern, '%');
	size_t pre, i;

	if (pct != NULL) {
		pre = (size_t)(pct - pattern);
		if (strncmp(pattern, url, pre) != 0 || strchr(url + pre, '/') != NULL ||
		    !store_valid_name(url + pre))
			return false;
		snprintf(arg, WRIT_MAX_SECRET_NAME + 1, "%s", url + pre);
		return true;
	}
	if (star == NULL)
		return strcmp(pattern, url) == 0;
	pre = (size_t)(star - pattern);
	if (strncmp(pattern, url, pre) != 0)
		return false;
	for (i = 0; i < 32; i++) {
		char ch = url[pre + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		arg[i] = ch;
	}
	arg[32] = '\0';
	return strcmp(url + pre + 32, star + 1) == 0;
}

enum MHD_Result
api_dispatch(struct MHD_Connection *c, struct req *rq, const char *method,
    const char *url)
{
	unsigned int where = rq->conn->session != NULL ? ON_SESSION : ON_ADMIN;
	bool path_known = false;
	char id[WRIT_MAX_SECRET_NAME + 1] = "";

	for (const struct route *r = routes; r->path != NULL; r++) {
		if (!(r->where & where) || !match(r->path, url, id))
			continue;
		path_known = true;
		if (strcmp(r->method, method) == 0)
			return r->fn(c, rq, id);
	}
	if (path_known)
		return reply_error(c, WRIT_EMETHOD, NULL);
	return reply_error(c, WRIT_ENOTFOUND, "no such API path; see GET /v1/health");
}
