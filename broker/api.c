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

#include "../plugins/kind.h"
#include "api.h"
#include "approval.h"
#include "duration.h"
#include "errors.h"
#include "peer.h"
#include "session.h"
#include "sjson.h"
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

/* A decided request comes back here: issue the writ, or say why not. */
static enum MHD_Result
finish_writ(struct MHD_Connection *c, struct req *rq)
{
	struct pending *p = rq->pending;
	const struct writ_kind *k = p->kind;
	struct secret *tok = NULL, *keep = NULL;
	char err[WRIT_ERRLEN] = "", wid[33];
	struct kind_mint m;
	enum MHD_Result res;
	json_t *body;
	int decision, r;
	bool closed;

	pthread_mutex_lock(&writd_lock);
	decision = p->decision;
	closed = p->session->closed;
	pthread_mutex_unlock(&writd_lock);
	if (decision != 1)
		return reply_error(c, decision, NULL);
	if (closed)
		return reply_error(c, WRIT_ECLOSED, NULL);
	/* Approved for a process that is gone: its pid may now be another's. */
	if (!peer_alive(p->peer))
		return reply_error(c, WRIT_EGONE, NULL);
	random_id(wid);
	m.writ_id = wid;
	m.session_id = p->session->id;
	m.scope = p->scope;
	m.issued_at = now_real();
	m.expires_at = m.issued_at + p->ttl;
	r = k->mint(kinds_state(k), &m, &tok, err);
	if (r < 0)
		return bad(c, r == WRIT_ENOMEM ? r : WRIT_EMINT, err);
	if (k->revoke != NULL && (keep = secret_dup(tok->data, tok->len)) == NULL) {
		secret_free(tok);
		return reply_error(c, WRIT_ENOMEM, NULL);
	}
	pthread_mutex_lock(&writd_lock);
	if (p->session->closed)
		r = WRIT_ECLOSED;
	else
		r = writs_add(wid, p->session, k, json_incref(p->scope), m.issued_at,
		    m.expires_at, keep);
	pthread_mutex_unlock(&writd_lock);
	if (r < 0) {
		if (r == WRIT_ECLOSED)
			secret_free(keep);
		secret_free(tok);
		return reply_error(c, r, NULL);
	}
	body = json_pack("{sssssOsssIsI}", "id", wid, "kind", k->name, "scope", p->scope,
	    "token", (const char *)tok->data, "issued_at", (json_int_t)m.issued_at,
	    "expires_at", (json_int_t)m.expires_at);
	secret_free(tok);
	res = reply_json(c, 201, body);
	return res;
}

static enum MHD_Result
h_writ_create(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "kind", "scope", "ttl", "reason", NULL };
	const struct kind_config *kc;
	const struct writ_kind *k;
	const char *kind, *ttl, *reason;
	char err[WRIT_ERRLEN] = "", q[52];
	struct pending *p = NULL;
	json_t *req = NULL, *scope = NULL;
	int64_t secs;
	int r;

	(void)arg;
	if (rq->pending != NULL)
		return finish_writ(c, rq);
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the request", err)) < 0 ||
	    (r = sjson_string(req, "kind", true, &kind, err)) < 0 ||
	    (r = sjson_string(req, "ttl", false, &ttl, err)) < 0 ||
	    (r = sjson_string(req, "reason", false, &reason, err)) < 0)
		goto out;
	if ((k = kinds_find(kind)) == NULL) {
		sjson_quote(q, kind);
		snprintf(err, sizeof(err), "unknown kind '%s'; GET /v1/health lists the kinds", q);
		r = WRIT_EKIND;
		goto out;
	}
	if (json_object_get(req, "scope") == NULL) {
		snprintf(err, sizeof(err), "field 'scope' is required");
		r = WRIT_EBADREQ;
		goto out;
	}
	if ((r = k->canonicalize(json_object_get(req, "scope"), &scope, err)) < 0)
		goto out;
	kc = &writd_cfg->kinds[kinds_index(k)];
	secs = kc->default_ttl;
	if (ttl != NULL && duration_parse(ttl, &secs) < 0) {
		sjson_quote(q, ttl);
		snprintf(err, sizeof(err), "field 'ttl': '%s' is not a positive duration "
		    "such as \"90s\", \"10m\" or \"1h\"", q);
		r = WRIT_ETTL;
		goto out;
	}
	if (secs > kc->max_ttl) {
		snprintf(err, sizeof(err), "field 'ttl': %llds is above the %s maximum of "
		    "%llds; ask for less", (long long)secs, k->name, (long long)kc->max_ttl);
		r = WRIT_ETTLMAX;
		goto out;
	}
	if (reason != NULL && strlen(reason) > WRIT_MAX_REASON) {
		snprintf(err, sizeof(err), "field 'reason' is longer than %d bytes",
		    WRIT_MAX_REASON);
		r = WRIT_ETOOBIG;
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	p->kind = k;
	p->scope = scope;
	scope = NULL;
	p->ttl = secs;
	snprintf(p->reason, sizeof(p->reason), "%s", reason != NULL ? reason : "");
	sjson_clean_text(p->reason);
	p->peer = rq->conn->peer;
	p->mhd = c;
	p->rq = rq;
	p->fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)->connect_fd;
	pthread_mutex_lock(&writd_lock);
	p->session = rq->conn->session;
	session_ref(p->session);
	r = approval_submit(p);
	if (r == 0)
		rq->pending = p;
	else
		approval_release(p);
	pthread_mutex_unlock(&writd_lock);
	p = NULL;
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
	writs_revoke_list(revoke);
	return reply_json(c, 200, json_pack("{sssb}", "id", id, "revoked", 1));
}

static enum MHD_Result
h_session_create(struct MHD_Connection *c, struct req *rq, const char *arg)
{
	static const char *const keys[] = { "name", "workspace", NULL };
	char err[WRIT_ERRLEN] = "";
	const char *name, *ws;
	struct session *s;
	json_t *req, *body = NULL;
	int r;

	(void)arg;
	if ((r = body_json(rq, false, &req, err)) < 0)
		return bad(c, r, err);
	if ((r = sjson_only_keys(req, keys, "the session", err)) == 0 &&
	    (r = sjson_string(req, "name", true, &name, err)) == 0 &&
	    (r = sjson_string(req, "workspace", false, &ws, err)) == 0) {
		pthread_mutex_lock(&writd_lock);
		r = session_create(name, ws, &s, err);
		if (r == 0)
			body = session_json(s);
		pthread_mutex_unlock(&writd_lock);
	}
	json_decref(req);
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
	if ((s = session_find(id)) != NULL)
		session_close(s, WRIT_ECLOSED, &revoke);
	pthread_mutex_unlock(&writd_lock);
	if (s == NULL)
		return reply_error(c, WRIT_ENOTFOUND, "no open session with that id");
	writs_revoke_list(revoke);
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
	return reply_json(c, 200, json_pack("{sosI}", "requests", list, "seq", (json_int_t)seq));
}

static enum MHD_Result
decide(struct MHD_Connection *c, struct req *rq, const char *id, bool approve)
{
	char err[WRIT_ERRLEN] = "";
	json_t *req;
	int r, prior = 0;

	/* No body fields yet; an empty body or {} only. */
	if ((r = body_json(rq, true, &req, err)) < 0)
		return bad(c, r, err);
	r = json_object_size(req) == 0 ? 0 : WRIT_EBADREQ;
	json_decref(req);
	if (r < 0)
		return reply_error(c, r, "an approval takes no fields");
	pthread_mutex_lock(&writd_lock);
	r = approval_decide(id, approve, &prior);
	pthread_mutex_unlock(&writd_lock);
	if (r == WRIT_ENOTFOUND)
		return reply_error(c, r, "no pending request with that id");
	if (r == WRIT_EDECIDED) {
		const struct writ_error *e = errors_lookup(prior);

		snprintf(err, sizeof(err), "that request was already decided (%s); "
		    "an approval is good for one request only", prior == 1 ? "approved" : e->name);
		return reply_error(c, r, err);
	}
	if (r < 0)
		return reply_error(c, r, NULL);
	return reply_json(c, 200, json_pack("{ssss}", "id", id, "decision",
	    approve ? "approved" : "denied"));
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

static const struct route routes[] = {
	{ ON_ADMIN | ON_SESSION, "GET", "/v1/health", h_health },
	{ ON_SESSION, "POST", "/v1/writs", h_writ_create },
	{ ON_ADMIN | ON_SESSION, "GET", "/v1/writs", h_writ_list },
	{ ON_ADMIN | ON_SESSION, "DELETE", "/v1/writs/*", h_writ_delete },
	{ ON_ADMIN, "POST", "/v1/sessions", h_session_create },
	{ ON_ADMIN, "GET", "/v1/sessions", h_session_list },
	{ ON_ADMIN, "GET", "/v1/sessions/*", h_session_get },
	{ ON_ADMIN, "DELETE", "/v1/sessions/*", h_session_delete },
	{ ON_ADMIN, "GET", "/v1/requests", h_requests },
	{ ON_ADMIN, "POST", "/v1/requests/*/approve", h_approve },
	{ ON_ADMIN, "POST", "/v1/requests/*/deny", h_deny },
	{ ON_ADMIN, "GET", "/v1/jwks", h_jwks },
	{ 0, NULL, NULL, NULL },
};

/* Does url match pattern?  The "*" segment must be a 32-hex-digit id. */
static bool
match(const char *pattern, const char *url, char id[33])
{
	const char *star = strchr(pattern, '*');
	size_t pre, i;

	if (star == NULL)
		return strcmp(pattern, url) == 0;
	pre = (size_t)(star - pattern);
	if (strncmp(pattern, url, pre) != 0)
		return false;
	for (i = 0; i < 32; i++) {
		char ch = url[pre + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		id[i] = ch;
	}
	id[32] = '\0';
	return strcmp(url + pre + 32, star + 1) == 0;
}

enum MHD_Result
api_dispatch(struct MHD_Connection *c, struct req *rq, const char *method,
    const char *url)
{
	unsigned int where = rq->conn->session != NULL ? ON_SESSION : ON_ADMIN;
	bool path_known = false;
	char id[33] = "";

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
