/*
 * writs.c - the writs issued and still live, in memory.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "errors.h"
#include "session.h"
#include "upstream.h"
#include "writs.h"

static struct writ *writs;

/* w leaves the table: its session counts one live writ fewer.  Lock held. */
static void
detach(struct writ *w)
{
	w->session->live--;
	session_unref(w->session);
	w->session = NULL;
}

static void
writ_free(struct writ *w)
{
	json_decref(w->scope);
	secret_free(w->token);
	free(w);
}

int
writs_add(const char *id, struct session *s, const struct writ_kind *kind,
    json_t *scope, int64_t issued_at, int64_t expires_at, struct secret *token)
{
	struct writ *w = calloc(1, sizeof(*w));

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
	w->kind = kind;
	w->scope = scope;
	w->issued_at = issued_at;
	w->expires_at = expires_at;
	w->token = token;
	w->next = writs;
	writs = w;
	return 0;
}

json_t *
writs_list(const struct session *s)
{
	json_t *a = json_array();

	for (struct writ *w = writs; w != NULL && a != NULL; w = w->next) {
		if (s != NULL && strcmp(w->session_id, s->id) != 0)
			continue;
		json_array_append_new(a, json_pack("{sssssssOsIsI}", "id", w->id,
		    "session", w->session_id, "kind", w->kind->name, "scope", w->scope,
		    "issued_at", (json_int_t)w->issued_at,
		    "expires_at", (json_int_t)w->expires_at));
	}
	return a;
}

int
writs_take(const struct session *s, const char *id, struct writ **revoke)
{
	for (struct writ **pp = &writs; *pp != NULL; pp = &(*pp)->next) {
		struct writ *w = *pp;

		if (strcmp(w->id, id) != 0 || (s != NULL && strcmp(w->session_id, s->id) != 0))
			continue;
		*pp = w->next;
		detach(w);
		w->next = *revoke;
		*revoke = w;
		return 0;
	}
	return WRIT_ENOTFOUND;
}

int
writs_take_token(const struct session *s, const char *token, struct writ **revoke)
{
	size_t len = strlen(token);

	for (struct writ **pp = &writs; *pp != NULL; pp = &(*pp)->next) {
		struct writ *w = *pp;

		if (w->token == NULL || w->token->len != len ||
		    (s != NULL && strcmp(w->session_id, s->id) != 0) ||
		    sodium_memcmp(w->token->data, token, len) != 0)
			continue;
		*pp = w->next;
		detach(w);
		w->next = *revoke;
		*revoke = w;
		return 0;
	}
	return WRIT_ENOTFOUND;
}

void
writs_take_session(const struct session *s, struct writ **revoke)
{
	for (struct writ **pp = &writs; *pp != NULL;) {
		struct writ *w = *pp;

		if (strcmp(w->session_id, s->id) != 0) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		detach(w);
		w->next = *revoke;
		*revoke = w;
	}
}

void
writs_revoke_list(struct writ *list)
{
	while (list != NULL) {
		struct writ *w = list;
		char err[WRIT_ERRLEN];

		list = w->next;
		if (w->kind->revoke != NULL && w->token != NULL) {
			if (w->kind->upstream) {
				upstream_revoke(w->kind, w->token);	/* takes the token */
				w->token = NULL;
			} else
				(void)w->kind->revoke(kinds_state(w->kind), w->token, err);
		}
		writ_free(w);
	}
}

void
writs_prune(int64_t now)
{
	for (struct writ **pp = &writs; *pp != NULL;) {
		struct writ *w = *pp;

		if (w->expires_at > now) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		detach(w);
		/* Past its TTL: a token upstream would honour longer dies now. */
		if (w->kind->revoke != NULL && w->token != NULL && w->kind->upstream) {
			upstream_revoke(w->kind, w->token);
			w->token = NULL;
		}
		writ_free(w);
	}
}

int64_t
writs_next_expiry(void)
{
	int64_t next = INT64_MAX;

	for (struct writ *w = writs; w != NULL; w = w->next)
		if (w->expires_at < next)
			next = w->expires_at;
	return next;
}

unsigned int
writs_count(const struct session *s)
{
	return s->live;
}
