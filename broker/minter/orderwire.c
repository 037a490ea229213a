/*
 * orderwire.c - a MINT order and its answer, to and from the request table.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "jdump.h"
#include "orderwire.h"
#include "secret.h"
#include "sjson.h"

/* v as compact text with sorted keys into *ret (NULL stays NULL).  0 or WRIT_ENOMEM. */
static int
text_of(const json_t *v, char **ret)
{
	*ret = NULL;
	if (v == NULL)
		return 0;
	/* NB. jdump fails only where json_dumps would: out of memory. */
	return (*ret = jdump(v, JSON_COMPACT | JSON_SORT_KEYS, NULL)) != NULL ? 0 : WRIT_ENOMEM;
}

void
orderwire_mint_free(struct orderwire_mint *w)
{
	free(w->scope);
	free(w->claims);
	free(w->identity);
	memset(w, 0, sizeof(*w));
}

int
orderwire_put_order(const struct mint_order *o, struct orderwire_mint *ret,
    char err[WRIT_ERRLEN])
{
	const struct policy_request *q = &o->req;
	struct orderwire_mint w = { 0 };
	int r;

	if (q->scope == NULL) {
		snprintf(err, WRIT_ERRLEN, "a mint order without a scope");
		return WRIT_EBADREQ;
	}
	/* NB. a string longer than an id would be cut to one by the copy below. */
	if (o->session_id == NULL || !id_valid(o->session_id)) {
		snprintf(err, WRIT_ERRLEN, "a mint order's session id is not an id");
		return WRIT_EBADREQ;
	}
	if (o->pid < 0 || o->pid_start > INT64_MAX) {
		snprintf(err, WRIT_ERRLEN, "a mint order's pid or its start time is out of range");
		return WRIT_EBADREQ;
	}
	if ((r = text_of(q->scope, &w.scope)) < 0 || (r = text_of(q->claims, &w.claims)) < 0 ||
	    (r = text_of(o->identity, &w.identity)) < 0) {
		orderwire_mint_free(&w);
		snprintf(err, WRIT_ERRLEN, "out of memory");
		return r;
	}
	w.m = (struct proto_mint){ .kind = q->kind, .scope = w.scope, .ttl = q->ttl,
	    .name = q->session, .workspace = q->workspace, .uid = (uint32_t)q->uid,
	    .exe = q->exe, .claims = w.claims, .cap = o->cap, .pid = (uint32_t)o->pid,
	    .pid_start = (int64_t)o->pid_start, .approval = o->approval,
	    .identity = w.identity };
	/* Past PROTO_MAX_LIVE policy decides alike; capping keeps live_kind <= live. */
	w.m.live = q->live < PROTO_MAX_LIVE ? q->live : PROTO_MAX_LIVE;
	w.m.live_kind = q->live_kind < PROTO_MAX_LIVE ? q->live_kind : PROTO_MAX_LIVE;
	memcpy(w.m.session, o->session_id, sizeof(w.m.session));
	*ret = w;
	return 0;
}

void
orderwire_order_free(struct orderwire_order *w)
{
	json_decref(w->scope);
	json_decref(w->claims);
	json_decref(w->identity);
	memset(w, 0, sizeof(*w));
}

/*
 * Text s of field name, strictly parsed, into *ret: an object, or NULL
 * when s is empty and the field optional; when canonical, s must be the
 * very text text_of makes of it.  0 or WRIT_EBADREQ with a message
 * naming the field.
 */
static int
object_of(const char *name, const char *s, bool optional, bool canonical, json_t **ret,
    char err[WRIT_ERRLEN])
{
	char why[WRIT_ERRLEN], *again;
	bool same;

	*ret = NULL;
	if (s == NULL || s[0] == '\0') {
		if (optional)
			return 0;
		snprintf(err, WRIT_ERRLEN, "MINT: '%s' is empty", name);
		return WRIT_EBADREQ;
	}
	/* NB. the front end is not trusted: sjson's limits and no duplicate key. */
	if (sjson_parse(s, strlen(s), ret, why) < 0) {
		snprintf(err, WRIT_ERRLEN, "MINT: '%s' is not a JSON object as writ reads one: %s",
		    name, why);
		return WRIT_EBADREQ;
	}
	if (!canonical)
		return 0;
	/*
	 * NB. one text per scope, as one encoding per integer: other spacing,
	 * key order or escapes are not what the front end writes (text_of).
	 */
	if (text_of(*ret, &again) < 0) {
		json_decref(*ret);
		*ret = NULL;
		snprintf(err, WRIT_ERRLEN, "MINT: out of memory reading '%s'", name);
		return WRIT_EBADREQ;
	}
	same = strcmp(again, s) == 0;
	free(again);
	if (!same) {
		json_decref(*ret);
		*ret = NULL;
		snprintf(err, WRIT_ERRLEN, "MINT: '%s' is not in its canonical text (compact, "
		    "keys sorted, no escape a character does not need)", name);
		return WRIT_EBADREQ;
	}
	return 0;
}

int
orderwire_get_order(const struct proto_mint *m, struct orderwire_order *ret,
    char err[WRIT_ERRLEN])
{
	struct orderwire_order w = { 0 };
	int r;

	if ((r = object_of("scope", m->scope, false, true, &w.scope, err)) < 0 ||
	    (r = object_of("claims", m->claims, true, false, &w.claims, err)) < 0 ||
	    (r = object_of("identity", m->identity, true, false, &w.identity, err)) < 0) {
		orderwire_order_free(&w);
		return r;
	}
	w.o = (struct mint_order){ .req = { .kind = m->kind, .scope = w.scope, .ttl = m->ttl,
	    .session = m->name,
	    .workspace = m->workspace != NULL && m->workspace[0] != '\0' ? m->workspace : NULL,
	    .uid = (uid_t)m->uid, .exe = m->exe, .live = m->live, .live_kind = m->live_kind,
	    .claims = w.claims }, .cap = m->cap,
	    .pid = (pid_t)m->pid, .pid_start = (uint64_t)m->pid_start,
	    .approval = m->approval != NULL && m->approval[0] != '\0' ? m->approval : NULL,
	    .identity = w.identity };
	memcpy(w.session_id, m->session, sizeof(w.session_id));
	*ret = w;
	/* NB. after the copy: w.session_id would point into this frame. */
	ret->o.session_id = ret->session_id;
	return 0;
}

void
orderwire_put_result(const struct mint_result *r, const char *fingerprint,
    struct orderwire_answer *ret)
{
	struct proto_answer *a = &ret->a;

	memset(ret, 0, sizeof(*ret));
	a->of = PROTO_MINT;
	a->code = r->code;
	if (r->code != 0) {
		snprintf(ret->message, sizeof(ret->message), "%s", r->err);
		ret->message[proto_utf8_span(ret->message, strlen(ret->message))] = '\0';
		a->message = ret->message;
		a->retry_after = r->retry_after < 0 ? 0 : r->retry_after > PROTO_MAX_RETRY ?
		    PROTO_MAX_RETRY : (uint32_t)r->retry_after;
		return;
	}
	a->message = "";
	memcpy(a->r.mint.writ, r->id, sizeof(a->r.mint.writ));
	if (r->token != NULL)
		a->r.mint.token = (struct proto_blob){ r->token->data, r->token->len };
	a->r.mint.issued_at = r->issued_at;
	a->r.mint.expires_at = r->expires_at;
	/* NB. only a whole one: 33 bytes of a shorter string would be read past its end. */
	if (fingerprint != NULL && strlen(fingerprint) == WRIT_ID_LEN)
		memcpy(a->r.mint.fingerprint, fingerprint, sizeof(a->r.mint.fingerprint));
}

int
orderwire_get_result(const struct proto_answer *a, struct mint_result *ret)
{
	struct mint_result res = { .code = a->code, .retry_after = (int)a->retry_after };

	if (a->of != PROTO_MINT)
		return WRIT_EBADREQ;
	if (a->code != 0) {
		snprintf(res.err, sizeof(res.err), "%s", a->message != NULL ? a->message : "");
		*ret = res;
		return 0;
	}
	if ((res.token = secret_dup(a->r.mint.token.data, a->r.mint.token.len)) == NULL)
		return WRIT_ENOMEM;
	memcpy(res.id, a->r.mint.writ, sizeof(res.id));
	res.issued_at = a->r.mint.issued_at;
	res.expires_at = a->r.mint.expires_at;
	*ret = res;
	return 0;
}
