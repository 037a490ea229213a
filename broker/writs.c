/*
 * writs.c - the front end's table of live writs.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "errors.h"
#include "minter/minter.h"
#include "session.h"
#include "writs.h"

static struct heap live;

static struct writ *
writ_of(struct heap_node *n)
{
	return (struct writ *)((char *)n - offsetof(struct writ, node));
}

/* Take w out of the view; its session counts one live writ fewer. */
static void
detach(struct writ *w)
{
	heap_del(&live, &w->node);
	w->session->live--;
	w->session->live_kind[grammar_index(w->kind)]--;
	session_idle(w->session);
	session_unref(w->session);
	w->session = NULL;
}

static void
writ_free(struct writ *w)
{
	json_decref(w->scope);
	free(w);
}

int
writs_add(const char *id, struct session *s, const struct kind_grammar *kind,
    json_t *scope, int64_t issued_at, int64_t expires_at)
{
	struct writ *w = calloc(1, sizeof(*w));

	if (w != NULL) {
		w->node.key = expires_at;
		if (heap_add(&live, &w->node) < 0) {
			free(w);
			w = NULL;
		}
	}
	if (w == NULL) {
		json_decref(scope);
		return WRIT_ENOMEM;
	}
	memcpy(w->id, id, sizeof(w->id));
	memcpy(w->session_id, s->id, sizeof(w->session_id));
	w->session = s;
	session_ref(s);
	s->live++;
	s->live_kind[grammar_index(kind)]++;
	w->kind = kind;
	w->scope = scope;
	w->issued_at = issued_at;
	w->expires_at = expires_at;
	return 0;
}

json_t *
writs_list(const struct session *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < live.n && a != NULL; i++) {
		struct writ *w = writ_of(live.v[i]);

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
	for (size_t i = 0; i < live.n; i++) {
		struct writ *w = writ_of(live.v[i]);

		if (strcmp(w->id, id) == 0 && (s == NULL || w->session == s)) {
			take(w, revoke);
			return 0;
		}
	}
	return WRIT_ENOTFOUND;
}

void
writs_take_session(const struct session *s, struct writ **revoke)
{
	struct writ *found = NULL;

	/* Collect first: removing reorders the heap under a running index. */
	for (size_t i = 0; i < live.n; i++) {
		struct writ *w = writ_of(live.v[i]);

		if (w->session == s) {
			w->next = found;
			found = w;
		}
	}
	while (found != NULL) {
		struct writ *w = found;

		found = w->next;
		take(w, revoke);
	}
}

void
writs_revoke_list(struct writ *list, const char *why)
{
	while (list != NULL) {
		struct writ *w = list;

		list = w->next;
		/* NB. WRIT_ENOTFOUND: the minter ended it first (its expiry). */
		(void)minter_revoke(w->id, why);
		writ_free(w);
	}
}

void
writs_forget(const char *id)
{
	struct writ *w = NULL;

	if (id != NULL && writs_take(NULL, id, &w) == 0)
		writ_free(w);
}

void
writs_ended(const char *id)
{
	pthread_mutex_lock(&writd_lock);
	writs_forget(id);
	pthread_mutex_unlock(&writd_lock);
}

unsigned int
writs_count(const struct session *s)
{
	return s->live;
}
