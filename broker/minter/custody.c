/*
 * custody.c - the writs the minter issued, until they end.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "audit.h"
#include "../core.h"
#include "ledger.h"
#include "upstream.h"
#include "custody.h"
#include "errors.h"
#include "heap.h"

struct held {
	struct heap_node node;		/* key: expires_at */
	char id[WRIT_ID_LEN + 1];
	char session_id[WRIT_ID_LEN + 1];
	const struct writ_kind *kind;
	json_t *identity;		/* or NULL */
	struct secret *token;		/* only when kind->revoke */
	struct held *next;		/* on an end list, once taken */
};

/* A leaf lock: nothing is called with it held but the heap's own work. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct heap kept;
/* Live writs by "SESSION" and "SESSION/KIND": the minter's own counts. */
static json_t *counts;
/* The front end's: told of each writ ended at its expiry (ENDED). */
static void (*ended_fn)(const char *id);

void
custody_set_ended(void (*fn)(const char *id))
{
	ended_fn = fn;
}

/* Count a writ of session_id and kind in (by 1) or out (by -1).  Lock held. */
static void
count_as_locked(const char *session_id, const char *kind, int by)
{
	char key[2][WRIT_ID_LEN + 2 + WRIT_KIND_NAME_MAX];
	json_int_t n;

	if (counts == NULL && (counts = json_object()) == NULL)
		return;
	snprintf(key[0], sizeof(key[0]), "%s", session_id);
	snprintf(key[1], sizeof(key[1]), "%s/%s", session_id, kind);
	for (int i = 0; i < 2; i++) {
		n = json_integer_value(json_object_get(counts, key[i])) + by;
		if (n > 0)
			json_object_set_new(counts, key[i], json_integer(n));
		else
			json_object_del(counts, key[i]);
	}
}

static void
count_locked(const struct held *h, int by)
{
	count_as_locked(h->session_id, h->kind->name, by);
}

void
custody_reserve(const char *session_id, const char *kind, int by)
{
	pthread_mutex_lock(&lock);
	count_as_locked(session_id, kind, by);
	pthread_mutex_unlock(&lock);
}

static struct held *
held_of(struct heap_node *n)
{
	return (struct held *)((char *)n - offsetof(struct held, node));
}

int
custody_add(const char *id, const char *session_id, const struct writ_kind *kind,
    const json_t *identity, int64_t expires_at, struct secret *token, bool reserved)
{
	struct held *h = calloc(1, sizeof(*h));
	int r = WRIT_ENOMEM;

	if (h != NULL && (identity == NULL || (h->identity = json_deep_copy(identity)) != NULL)) {
		snprintf(h->id, sizeof(h->id), "%s", id);
		snprintf(h->session_id, sizeof(h->session_id), "%s", session_id);
		h->kind = kind;
		h->node.key = expires_at;
		h->token = kind->revoke != NULL ? token : NULL;
		pthread_mutex_lock(&lock);
		if ((r = heap_add(&kept, &h->node)) == 0 && !reserved)
			count_locked(h, 1);
		pthread_mutex_unlock(&lock);
	}
	if (r == 0) {
		/* The minter's clock (its writd_lock's alarm) looks again by this expiry. */
		pthread_mutex_lock(&writd_lock);
		core_kick_at(expires_at);
		pthread_mutex_unlock(&writd_lock);
	}
	if (r < 0 && reserved)
		custody_reserve(session_id, kind->name, -1);
	if (h == NULL || kind->revoke == NULL || r < 0)
		secret_free(token);
	if (r < 0 && h != NULL) {
		json_decref(h->identity);
		free(h);
	}
	return r;
}

/*
 * Revoke h where its kind can, close its ledger entry, record event with
 * fields, free h.  NB. the entry closes before the record is appended:
 * the ledger's file lags (ledger.h), and a record up to its mark must
 * find its closing line there, else the next start brings h back.
 */
static void
retire(struct held *h, const char *event, json_t *fields)
{
	char err[WRIT_ERRLEN];
	bool failed = false;

	if (fields != NULL && h->identity != NULL) {
		json_object_set_new(fields, "identity", h->identity);
		h->identity = NULL;
	}
	if (h->kind->revoke != NULL && h->token != NULL && h->kind->upstream) {
		/*
		 * Its ledger entry closes once upstream confirms; until then
		 * it says "ending", so that no start brings the writ back.
		 */
		ledger_ending(h->id);
		audit_log(event, fields);
		upstream_revoke(h->kind, h->token, h->id);	/* takes the token */
		h->token = NULL;
	} else {
		failed = h->kind->revoke != NULL && h->token != NULL &&
		    h->kind->revoke(kinds_state(h->kind), h->token, err) < 0;
		ledger_done(h->id);
		audit_log(event, fields);
		if (failed)
			audit_log("revoke_failed", json_pack("{ssss}", "writ", h->id, "error", err));
	}
	json_decref(h->identity);
	secret_free(h->token);
	free(h);
}

static void
revoked(struct held *h, const char *why)
{
	retire(h, "revoked", json_pack("{ssssssss}", "writ", h->id, "session", h->session_id,
	    "kind", h->kind->name, "why", why));
}

/* The kept writ that matches; taken out of the table.  Lock held. */
static struct held *
take_locked(const char *id, const char *session_id, const char *token)
{
	size_t len = token != NULL ? strlen(token) : 0;

	for (size_t i = 0; i < kept.n; i++) {
		struct held *h = held_of(kept.v[i]);

		if (id != NULL && strcmp(h->id, id) != 0)
			continue;
		if (session_id != NULL && strcmp(h->session_id, session_id) != 0)
			continue;
		if (token != NULL && (h->token == NULL || h->token->len != len ||
		    sodium_memcmp(h->token->data, token, len) != 0))
			continue;
		heap_del(&kept, &h->node);
		count_locked(h, -1);
		return h;
	}
	return NULL;
}

int
custody_revoke(const char *id, const char *why)
{
	struct held *h;

	pthread_mutex_lock(&lock);
	h = take_locked(id, NULL, NULL);
	pthread_mutex_unlock(&lock);
	if (h == NULL)
		return WRIT_ENOTFOUND;
	revoked(h, why);
	return 0;
}

int
custody_revoke_token(const char *session_id, const char *token, char ret_id[WRIT_ID_LEN + 1],
    const char *why)
{
	struct held *h;

	pthread_mutex_lock(&lock);
	h = take_locked(NULL, session_id, token);
	pthread_mutex_unlock(&lock);
	if (h == NULL)
		return WRIT_ENOTFOUND;
	memcpy(ret_id, h->id, WRIT_ID_LEN + 1);
	revoked(h, why);
	return 0;
}

void
custody_prune(int64_t now)
{
	struct heap_node *n;
	struct held *ended = NULL;

	/* Collected first: retire works outside the lock. */
	pthread_mutex_lock(&lock);
	while ((n = heap_top(&kept)) != NULL && n->key <= now) {
		struct held *h = held_of(n);

		heap_del(&kept, n);
		count_locked(h, -1);
		h->next = ended;
		ended = h;
	}
	pthread_mutex_unlock(&lock);
	while (ended != NULL) {
		struct held *h = ended;
		char id[WRIT_ID_LEN + 1];

		ended = h->next;
		memcpy(id, h->id, sizeof(id));
		/* Past its TTL: a token upstream would honour longer dies now. */
		retire(h, "expired", json_pack("{ssss}", "writ", h->id, "session", h->session_id));
		/* NB. after its record: what the front end no longer lists is recorded. */
		if (ended_fn != NULL)
			ended_fn(id);
	}
}

void
custody_count(const char *session_id, const char *kind, unsigned int *ret_live,
    unsigned int *ret_live_kind)
{
	char key[WRIT_ID_LEN + 2 + WRIT_KIND_NAME_MAX];

	snprintf(key, sizeof(key), "%s/%s", session_id, kind);
	pthread_mutex_lock(&lock);
	*ret_live = (unsigned int)json_integer_value(json_object_get(counts, session_id));
	*ret_live_kind = (unsigned int)json_integer_value(json_object_get(counts, key));
	pthread_mutex_unlock(&lock);
}

int64_t
custody_next_expiry(void)
{
	struct heap_node *n;
	int64_t e;

	pthread_mutex_lock(&lock);
	n = heap_top(&kept);
	e = n != NULL ? n->key : INT64_MAX;
	pthread_mutex_unlock(&lock);
	return e;
}

void
custody_revoke_all(const char *why)
{
	struct heap_node *n;
	struct held *h;

	for (;;) {
		pthread_mutex_lock(&lock);
		if ((n = heap_top(&kept)) != NULL) {
			heap_del(&kept, n);
			count_locked(held_of(n), -1);
		}
		pthread_mutex_unlock(&lock);
		if (n == NULL)
			break;
		h = held_of(n);
		revoked(h, why);
	}
	pthread_mutex_lock(&lock);
	heap_free(&kept);
	json_decref(counts);
	counts = NULL;
	pthread_mutex_unlock(&lock);
}
