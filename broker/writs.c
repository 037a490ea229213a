/*
 * writs.c - the writs issued and still live, in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "errors.h"
#include "session.h"
#include "audit.h"
#include "ledger.h"
#include "upstream.h"
#include "writs.h"

/* The heap: heap[0] expires first. */
static struct writ **heap;
static size_t nheap, capheap;

static void
place(size_t i, struct writ *w)
{
	heap[i] = w;
	w->slot = i;
}

static void
sift_up(size_t i)
{
	struct writ *w = heap[i];

	while (i > 0 && heap[(i - 1) / 2]->expires_at > w->expires_at) {
		place(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(i, w);
}

static void
sift_down(size_t i)
{
	struct writ *w = heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= nheap)
			break;
		if (c + 1 < nheap && heap[c + 1]->expires_at < heap[c]->expires_at)
			c++;
		if (heap[c]->expires_at >= w->expires_at)
			break;
		place(i, heap[c]);
		i = c;
	}
	place(i, w);
}

/* Take w out of the heap; its session counts one live writ fewer. */
static void
detach(struct writ *w)
{
	size_t i = w->slot;

	nheap--;
	if (i < nheap) {
		place(i, heap[nheap]);
		sift_down(i);
		sift_up(i);
	}
	w->session->live--;
	w->session->live_kind[kinds_index(w->kind)]--;
	session_idle(w->session);
	session_unref(w->session);
	w->session = NULL;
}

static void
writ_free(struct writ *w)
{
	json_decref(w->scope);
	json_decref(w->identity);
	secret_free(w->token);
	free(w);
}

int
writs_add(const char *id, struct session *s, const struct writ_kind *kind,
    json_t *scope, int64_t issued_at, int64_t expires_at, struct secret *token)
{
	struct writ *w = calloc(1, sizeof(*w));

	if (w != NULL && nheap == capheap) {
		size_t cap = capheap ? capheap * 2 : 64;
		struct writ **h = realloc(heap, cap * sizeof(*h));

		if (h == NULL) {
			free(w);
			w = NULL;
		} else {
			heap = h;
			capheap = cap;
		}
	}
	if (w == NULL) {
		json_decref(scope);
		secret_free(token);
		return WRIT_ENOMEM;
	}
	memcpy(w->id, id, sizeof(w->id));
	memcpy(w->session_id, s->id, sizeof(w->session_id));
	w->session = s;
	session_ref(s);
	s->live++;
	s->live_kind[kinds_index(kind)]++;
	w->kind = kind;
	w->scope = scope;
	w->issued_at = issued_at;
	w->expires_at = expires_at;
	w->token = token;
	if (s->identity != NULL)
		w->identity = json_deep_copy(s->identity);
	place(nheap++, w);
	sift_up(nheap - 1);
	return 0;
}

json_t *
writs_list(const struct session *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < nheap && a != NULL; i++) {
		struct writ *w = heap[i];

		if (s != NULL && w->session != s)
			continue;
		json_array_append_new(a, json_pack("{sssssssOsIsI}", "id", w->id,
		    "session", w->session_id, "kind", w->kind->name, "scope", w->scope,
		    "issued_at", (json_int_t)w->issued_at,
		    "expires_at", (json_int_t)w->expires_at));
	}
	return a;
}

static void
take(struct writ *w, struct writ **revoke)
{
	detach(w);
	w->next = *revoke;
	*revoke = w;
}

int
writs_take(const struct session *s, const char *id, struct writ **revoke)
{
	for (size_t i = 0; i < nheap; i++)
		if (strcmp(heap[i]->id, id) == 0 && (s == NULL || heap[i]->session == s)) {
			take(heap[i], revoke);
			return 0;
		}
	return WRIT_ENOTFOUND;
}

int
writs_take_token(const struct session *s, const char *token, struct writ **revoke)
{
	size_t len = strlen(token);

	for (size_t i = 0; i < nheap; i++) {
		struct writ *w = heap[i];

		if (w->token == NULL || w->token->len != len || (s != NULL && w->session != s) ||
		    sodium_memcmp(w->token->data, token, len) != 0)
			continue;
		take(w, revoke);
		return 0;
	}
	return WRIT_ENOTFOUND;
}

void
writs_take_session(const struct session *s, struct writ **revoke)
{
	struct writ *found = NULL;

	/* Collect first: removing reorders the heap under a running index. */
	for (size_t i = 0; i < nheap; i++)
		if (heap[i]->session == s) {
			heap[i]->next = found;
			found = heap[i];
		}
	while (found != NULL) {
		struct writ *w = found;

		found = w->next;
		take(w, revoke);
	}
}

/* fields with w's job identity as "identity" (see session_audit). */
static json_t *
with_identity(const struct writ *w, json_t *fields)
{
	if (fields != NULL && w->identity != NULL)
		json_object_set_new(fields, "identity", json_deep_copy(w->identity));
	return fields;
}

/*
 * Revoke w where its kind can, close its ledger entry, audit event with
 * fields, free w.  NB. the entry closes before the record is appended:
 * the ledger's file lags (ledger.h), and a record up to its mark must
 * find its closing line there, else the next start brings w back.
 */
static void
retire(struct writ *w, const char *event, json_t *fields)
{
	char err[WRIT_ERRLEN];
	bool failed = false;

	if (w->kind->revoke != NULL && w->token != NULL && w->kind->upstream) {
		/* Its ledger entry closes once upstream confirms. */
		audit_log(event, fields);
		upstream_revoke(w->kind, w->token, w->id);	/* takes the token */
		w->token = NULL;
	} else {
		failed = w->kind->revoke != NULL && w->token != NULL &&
		    w->kind->revoke(kinds_state(w->kind), w->token, err) < 0;
		ledger_done(w->id);
		audit_log(event, fields);
		if (failed)
			audit_log("revoke_failed", json_pack("{ssss}", "writ", w->id, "error", err));
	}
	writ_free(w);
}

void
writs_revoke_list(struct writ *list, const char *why)
{
	while (list != NULL) {
		struct writ *w = list;

		list = w->next;
		retire(w, "revoked", with_identity(w, json_pack("{ssssssss}", "writ", w->id,
		    "session", w->session_id, "kind", w->kind->name, "why", why)));
	}
}

void
writs_revoke_unkept(const char *id, const struct session *s, const struct writ_kind *kind,
    struct secret *token, const char *why)
{
	struct writ *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		/* Not silently: its ledger entry stays open for the next start. */
		secret_free(token);
		fprintf(stderr, "writd: out of memory revoking writ %s\n", id);
		return;
	}
	snprintf(w->id, sizeof(w->id), "%s", id);
	memcpy(w->session_id, s->id, sizeof(w->session_id));
	w->kind = kind;
	w->token = kind->revoke != NULL ? token : NULL;
	if (w->token == NULL)
		secret_free(token);
	/* NB. s->identity is set when s opens and never changes. */
	if (s->identity != NULL)
		w->identity = json_deep_copy(s->identity);
	writs_revoke_list(w, why);
}

void
writs_prune(int64_t now)
{
	while (nheap > 0 && heap[0]->expires_at <= now) {
		struct writ *w = heap[0];

		detach(w);
		/* Past its TTL: a token upstream would honour longer dies now. */
		retire(w, "expired", with_identity(w, json_pack("{ssss}", "writ", w->id,
		    "session", w->session_id)));
	}
}

int64_t
writs_next_expiry(void)
{
	return nheap > 0 ? heap[0]->expires_at : INT64_MAX;
}

unsigned int
writs_count(const struct session *s)
{
	return s->live;
}
