/*
 * api.c - the v1 HTTP API.
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

#include "../plugins/kind.h"
#include "../policy/policy.h"
#include "api.h"
#include "approval.h"
#include "audit.h"
#include "config.h"
#include "core.h"
#include "duration.h"
#include "errors.h"
#include "id.h"
#include "issue.h"
#include "oidc.h"
#include "peer.h"
#include "server.h"
#include "session.h"
#include "sjson.h"
#include "store.h"
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
	if ((r = k->grammar->canonicalize(json_object_get(req, "scope"), ret_scope, err)) < 0)
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
h_writ_create(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "kind", "scope", "ttl", "reason", NULL };
	struct issue_ask ask = { .reason = NULL };
	struct issue_answer a;
	char err[WRIT_ERRLEN] = "";
	json_t *req = NULL, *scope = NULL;
	int r, done;

	(void)arg;
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

/* The SSH CA's public line and the KRL's path, for sshd's configuration. */
static enum MHD_Result
h_sshcert(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	const struct writ_kind *k = kinds_find("sshcert");

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
	if (session != NULL && !id_valid(session))
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
	{ ON_ADMIN, "GET", "/v1/sshcert", h_sshcert },
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
 * Does url match pattern?  A "*" segment must be an id (id.h), a "%"
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
	for (i = 0; i < WRIT_ID_LEN; i++) {
		char ch = url[pre + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		arg[i] = ch;
	}
	arg[WRIT_ID_LEN] = '\0';
	return strcmp(url + pre + WRIT_ID_LEN, star + 1) == 0;
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
