/*
 * api.c - the v1 HTTP API: one handler per route (route.c routes a
 * request, and parses its query, before any handler sees it).
 *
 * Session socket: POST|GET /v1/writs, DELETE /v1/writs/{id}, GET /v1/health.
 * Admin socket: GET /v1/health, POST|GET /v1/sessions, GET|DELETE
 * /v1/sessions/{id}, GET /v1/requests[?wait=S&after=SEQ], POST
 * /v1/requests/{id}/approve|deny, GET /v1/writs, DELETE /v1/writs/{id},
 * GET /v1/jwks, GET /v1/sshcert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "../plugins/grammar.h"
#include "../policy/policy.h"
#include "api.h"
#include "approval.h"
#include "record.h"
#include "config.h"
#include "core.h"
#include "duration.h"
#include "errors.h"
#include "id.h"
#include "issue.h"
#include "oidc.h"
#include "peer.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "sjson.h"
#include "minter/minter.h"
#include "writs.h"

/* A route's handler: rc is what route_find made of the request (route.h). */
typedef enum MHD_Result (*handler_fn)(struct MHD_Connection *c, struct req *rq,
    const struct route_call *rc);

struct policy *
api_set_policy(struct policy *p)
{
	return issue_set_policy(p);
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

static enum MHD_Result
h_health(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	json_t *kinds = json_array(), *body;

	(void)rc;
	for (size_t i = 0; kind_grammars[i] != NULL; i++)
		json_array_append_new(kinds, json_string(kind_grammars[i]->name));
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
 * The parts of a writ request every path checks alike: kind, canonical
 * scope (a new reference), ttl.  Returns 0 or a code with err.
 */
static int
parse_writ(const json_t *req, const struct kind_grammar **ret_kind, json_t **ret_scope,
    int64_t *ret_ttl, char err[WRIT_ERRLEN])
{
	const struct kind_config *kc;
	const struct kind_grammar *k;
	const char *kind, *ttl;
	char q[52];
	int64_t secs;
	int r;

	if ((r = sjson_string(req, "kind", true, &kind, err)) < 0 ||
	    (r = sjson_string(req, "ttl", false, &ttl, err)) < 0)
		return r;
	if ((k = grammar_find(kind)) == NULL) {
		sjson_quote(q, kind);
		snprintf(err, WRIT_ERRLEN, "unknown kind '%s'; GET /v1/health lists the kinds", q);
		return WRIT_EKIND;
	}
	if (json_object_get(req, "scope") == NULL) {
		snprintf(err, WRIT_ERRLEN, "field 'scope' is required");
		return WRIT_EBADREQ;
	}
	kc = &writd_cfg->kinds[grammar_index(k)];
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

/* Answer what issuing said. */
static enum MHD_Result
answer(struct MHD_Connection *c, struct issue_answer *a)
{
	if (a->code == 0)
		return reply_json(c, 201, a->body);
	return reply_error_with(c, a->code, a->detail, a->body, a->retry_after);
}

/*
 * POST /v1/writs: parse and check the request, then issue.c decides,
 * asks, mints and records; this answers.  A suspended request comes back
 * here, its issue (rq->state) going on from where it waited.
 */
static enum MHD_Result
h_writ_create(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	static const char *const keys[] = { "kind", "scope", "ttl", "reason", NULL };
	struct issue_ask ask = { .reason = NULL };
	struct issue_answer a;
	char err[WRIT_ERRLEN] = "";
	json_t *req = NULL, *scope = NULL;
	int r, done;

	(void)rc;
	if (rq->state != NULL)
		return issue_resume(rq, &a) ? answer(c, &a) : MHD_YES;
	/* Fail closed at once: nothing is issued that cannot be recorded. */
	if (!audit_ok())
		return reply_error(c, WRIT_EAUDIT, NULL);
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the request", err)) < 0 ||
	    (r = sjson_string(req, "reason", false, &ask.reason, err)) < 0 ||
	    (r = parse_writ(req, &ask.kind, &scope, &ask.ttl, err)) < 0)
		goto out;
	if (ask.reason != NULL && strlen(ask.reason) > WRIT_MAX_REASON) {
		snprintf(err, sizeof(err), "field 'reason' is longer than %d bytes",
		    WRIT_MAX_REASON);
		r = WRIT_ETOOBIG;
		goto out;
	}
	ask.scope = scope;
	done = issue_start(rq, &ask, &a);
	json_decref(req);
	json_decref(scope);
	return done ? answer(c, &a) : MHD_YES;
 out:
	json_decref(req);
	json_decref(scope);
	return bad(c, r, err);
}

static enum MHD_Result
h_writ_list(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	json_t *list;

	(void)rc;
	/* NB. unlocked: the minter tells the front end what ended (ENDED: writs_ended). */
	minter_expire(now_real());
	pthread_mutex_lock(&writd_lock);
	list = writs_list(rq->conn->session);
	pthread_mutex_unlock(&writd_lock);
	return reply_json(c, 200, json_pack("{so}", "writs", list));
}

static enum MHD_Result
h_writ_delete(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	const char *id = rc->arg;
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
h_writ_revoke_token(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	static const char *const keys[] = { "token", NULL };
	const struct session *s = rq->conn->session;
	char err[WRIT_ERRLEN] = "", id[WRIT_ID_LEN + 1];
	const char *token;
	json_t *req;
	int r;

	(void)rc;
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	/* NB. the minter compares tokens: the front end keeps none. */
	if ((r = sjson_only_keys(req, keys, "the request", err)) == 0 &&
	    (r = sjson_string(req, "token", true, &token, err)) == 0)
		r = minter_revoke_token(s != NULL ? s->id : NULL, token, id,
		    "given back by token (git credential erase)");
	json_decref(req);
	if (r < 0)
		return r == WRIT_ENOTFOUND ? reply_error(c, r, "no live writ of this session "
		    "has that token") : bad(c, r, err);
	pthread_mutex_lock(&writd_lock);
	writs_forget(id);
	pthread_mutex_unlock(&writd_lock);
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
h_session_create(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	static const char *const keys[] = { "name", "workspace", "pid", "via", "ci_token",
	    "uid", NULL };
	char err[WRIT_ERRLEN] = "";
	/* NB. token is wiped at out:, which a refused field reaches before it is read. */
	const char *name, *ws, *via, *token = NULL;
	json_t *pid, *uid, *claims = NULL;
	struct session *s;
	json_t *req, *body = NULL;
	int64_t expires = 0;
	int r;

	(void)rc;
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
h_session_list(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	json_t *list;

	(void)rq;
	(void)rc;
	pthread_mutex_lock(&writd_lock);
	list = session_list();
	pthread_mutex_unlock(&writd_lock);
	return reply_json(c, 200, json_pack("{so}", "sessions", list));
}

static enum MHD_Result
h_session_get(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	const char *id = rc->arg;
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
h_session_delete(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	const char *id = rc->arg;
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
h_requests(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	long long wait = rc->wait, after = rc->after;
	struct poller *w;
	json_t *list;
	uint64_t seq;

	if (rq->poller != NULL) {
		after = (long long)rq->poller->after;	/* a long-poll came back */
		wait = 0;
	} else if (rc->instance != NULL && strcmp(rc->instance, approval_instance()) != 0) {
		/*
		 * NB. after= counts in the instance the watcher saw; a restarted
		 * writd numbers from 1 again, and its requests must not be skipped.
		 */
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
h_approve(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	return decide(c, rq, rc->arg, true);
}

static enum MHD_Result
h_deny(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	return decide(c, rq, rc->arg, false);
}

static enum MHD_Result
h_jwks(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	(void)rq;
	(void)rc;
	return reply_json(c, 200, minter_public_keys("jwt"));
}

/* The SSH CA's public line and the KRL's path, for sshd's configuration. */
static enum MHD_Result
h_sshcert(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	(void)rq;
	(void)rc;
	return reply_json(c, 200, minter_public_keys("sshcert"));
}

static enum MHD_Result
h_explain(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	static const char *const keys[] = { "kind", "scope", "ttl", "reason", "session",
	    "workspace", "uid", "exe", "live", "claims", NULL };
	struct policy_request pq = { .session = "explain", .exe = "/unknown" };
	const struct kind_grammar *k;
	struct policy_decision d;
	char err[WRIT_ERRLEN] = "";
	json_t *req, *scope = NULL, *body = NULL, *claims = NULL;
	int64_t ttl;
	int r;

	(void)rc;
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
	issue_explain(&pq, &d);
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
h_secret_put(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	const char *name = rc->arg;
	char err[WRIT_ERRLEN] = "";
	int r;

	/* The raw body is the value; it is never echoed, logged or returned. */
	r = minter_secret_put(name, rq->body != NULL ? rq->body : "", rq->len, err);
	if (r < 0)
		return bad(c, r, err);
	return reply_json(c, 200, json_pack("{sssi}", "name", name, "size", (int)rq->len));
}

static enum MHD_Result
h_secret_list(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	json_t *list = minter_secret_list();

	(void)rq;
	(void)rc;
	if (list == NULL)
		return reply_error(c, WRIT_EINTERNAL, "cannot read the secret store");
	return reply_json(c, 200, json_pack("{so}", "secrets", list));
}

static enum MHD_Result
h_secret_get(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	const char *name = rc->arg;
	json_t *list = minter_secret_list(), *e;
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
h_secret_delete(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	const char *name = rc->arg;
	int r = minter_secret_del(name);

	(void)rq;
	if (r < 0)
		return reply_error(c, r, r == WRIT_ENOTFOUND ? "no secret of that name" : NULL);
	return reply_json(c, 200, json_pack("{sssb}", "name", name, "removed", 1));
}

static enum MHD_Result
h_audit(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	(void)rq;
	return reply_json(c, 200, json_pack("{so}", "records",
	    minter_audit_tail((unsigned int)rc->tail, rc->session, (uint64_t)rc->after)));
}

static enum MHD_Result
h_audit_verify(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	(void)rq;
	(void)rc;
	return reply_json(c, 200, minter_audit_verify(NULL, NULL));
}

/*
 * A log moved aside, by absolute path (writd does not know the admin's
 * cwd), and/or a checkpoint's line from the syslog mirror to hold the log
 * against.
 */
static enum MHD_Result
h_audit_verify_file(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	static const char *const keys[] = { "file", "checkpoint", NULL };
	char err[WRIT_ERRLEN] = "";
	const char *file = NULL, *ckpt = NULL;
	json_t *req, *res;
	int r;

	(void)rc;
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the request", err)) == 0 &&
	    (r = sjson_string(req, "file", false, &file, err)) == 0 &&
	    (r = sjson_string(req, "checkpoint", false, &ckpt, err)) == 0 &&
	    file != NULL && file[0] != '/') {
		snprintf(err, sizeof(err), "field 'file' must be an absolute path");
		r = WRIT_EBADREQ;
	}
	res = r == 0 ? minter_audit_verify(file, ckpt) : NULL;
	json_decref(req);
	return r < 0 ? bad(c, r, err) : reply_json(c, 200, res);
}

/* writctl audit rotate: the files move at the next sync, at once. */
static enum MHD_Result
h_audit_rotate(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	uint64_t s = minter_audit_rotate("admin");

	(void)rq;
	(void)rc;
	if (s == 0)
		return reply_error(c, WRIT_EAUDIT, NULL);
	return reply_json(c, 200, json_pack("{sbsI}", "rotated", 1, "seq", (json_int_t)s));
}

/* The checkpoints' public key, for whoever checks them. */
static enum MHD_Result
h_audit_key(struct MHD_Connection *c, struct req *rq, const struct route_call *rc)
{
	char hex[65];

	(void)rq;
	(void)rc;
	minter_audit_key(hex);
	return reply_json(c, 200, json_pack("{ssss}", "algorithm", "ed25519", "public_key", hex));
}

/* Each route's handler (route.c has the table of paths, methods and sockets). */
static const handler_fn handlers[ROUTE_COUNT] = {
	[ROUTE_HEALTH] = h_health,
	[ROUTE_WRIT_CREATE] = h_writ_create,
	[ROUTE_WRIT_LIST] = h_writ_list,
	[ROUTE_WRIT_DELETE] = h_writ_delete,
	[ROUTE_WRIT_REVOKE_TOKEN] = h_writ_revoke_token,
	[ROUTE_SESSION_CREATE] = h_session_create,
	[ROUTE_SESSION_LIST] = h_session_list,
	[ROUTE_SESSION_GET] = h_session_get,
	[ROUTE_SESSION_DELETE] = h_session_delete,
	[ROUTE_REQUESTS] = h_requests,
	[ROUTE_APPROVE] = h_approve,
	[ROUTE_DENY] = h_deny,
	[ROUTE_JWKS] = h_jwks,
	[ROUTE_SSHCERT] = h_sshcert,
	[ROUTE_EXPLAIN] = h_explain,
	[ROUTE_AUDIT] = h_audit,
	[ROUTE_AUDIT_VERIFY] = h_audit_verify,
	[ROUTE_AUDIT_VERIFY_FILE] = h_audit_verify_file,
	[ROUTE_AUDIT_ROTATE] = h_audit_rotate,
	[ROUTE_AUDIT_KEY] = h_audit_key,
	[ROUTE_SECRET_LIST] = h_secret_list,
	[ROUTE_SECRET_PUT] = h_secret_put,
	[ROUTE_SECRET_GET] = h_secret_get,
	[ROUTE_SECRET_DELETE] = h_secret_delete,
};

/* The query arguments, as libmicrohttpd decoded them: one more than taken is too many. */
struct query {
	struct route_arg a[ROUTE_MAX_ARGS + 1];
	size_t n;
};

static enum MHD_Result
query_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
    const char *value, size_t value_size)
{
	struct query *q = cls;

	(void)kind;
	q->a[q->n++] = (struct route_arg){ key, key_size, value, value_size };
	return q->n < ROUTE_MAX_ARGS + 1 ? MHD_YES : MHD_NO;
}

enum MHD_Result
api_dispatch(struct MHD_Connection *c, struct req *rq, const char *method,
    const char *url)
{
	char err[WRIT_ERRLEN];
	struct route_call rc;
	struct query q = { .n = 0 };
	int r;

	(void)MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
	r = route_find(rq->conn->session != NULL ? ROUTE_SESSION : ROUTE_ADMIN, method, url,
	    q.a, q.n, writd_cfg->max_wait, &rc, err);
	if (r < 0)
		return bad(c, r, err);
	if (handlers[rc.id] == NULL)
		return reply_error(c, WRIT_EINTERNAL, "a route without a handler");
	return handlers[rc.id](c, rq, &rc);
}
