/*
 * kinds.c - the list of built-in kinds and their state in writd.  Their
 * grammars are listed apart, in grammar.c.
 */
#include <stdio.h>
#include <string.h>

#include "errors.h"

#include "kind.h"
#include "github/github.h"
#include "jwt/jwt.h"
#include "sshcert/sshcert.h"

const struct writ_kind *const writ_kinds[] = {
	&kind_jwt,
	&kind_github,
	&kind_sshcert,
	NULL,
};

static void *states[sizeof(writ_kinds) / sizeof(writ_kinds[0])];

size_t
kinds_index(const struct writ_kind *k)
{
	size_t i;

	for (i = 0; writ_kinds[i] != NULL && writ_kinds[i] != k; i++)
		;
	return i;
}

int
kinds_init(json_t *const configs[], const struct kind_env *env, char err[WRIT_ERRLEN])
{
	size_t i;

	for (i = 0; writ_kinds[i] != NULL; i++) {
		char msg[WRIT_ERRLEN];
		int r;

		if (writ_kinds[i]->abi != WRIT_KIND_ABI) {
			snprintf(err, WRIT_ERRLEN, "kind %s: ABI %u, writd expects %u",
			    writ_kinds[i]->name, writ_kinds[i]->abi, WRIT_KIND_ABI);
			return WRIT_EINTERNAL;
		}
		if (i >= WRIT_MAX_KINDS) {
			snprintf(err, WRIT_ERRLEN, "more than %d kinds", WRIT_MAX_KINDS);
			return WRIT_EINTERNAL;
		}
		if (strlen(writ_kinds[i]->name) >= WRIT_KIND_NAME_MAX) {
			snprintf(err, WRIT_ERRLEN, "kind %.40s: a name of at most %d bytes",
			    writ_kinds[i]->name, WRIT_KIND_NAME_MAX - 1);
			return WRIT_EINTERNAL;
		}
		/* NB. policy knows kinds by their grammars: both lists must agree. */
		if (writ_kinds[i]->grammar != kind_grammars[i] ||
		    strcmp(writ_kinds[i]->grammar->name, writ_kinds[i]->name) != 0) {
			snprintf(err, WRIT_ERRLEN, "kind %s: its grammar is not the one "
			    "kind_grammars[] lists in its place", writ_kinds[i]->name);
			return WRIT_EINTERNAL;
		}
		r = writ_kinds[i]->init(configs[i], env, &states[i], msg);
		if (r < 0) {
			snprintf(err, WRIT_ERRLEN, "kind %s: %.200s", writ_kinds[i]->name, msg);
			return r;
		}
	}
	if (kind_grammars[i] != NULL) {
		snprintf(err, WRIT_ERRLEN, "grammar %s: no kind mints for it", kind_grammars[i]->name);
		return WRIT_EINTERNAL;
	}
	return 0;
}

void
kinds_fini(void)
{
	for (size_t i = 0; writ_kinds[i] != NULL; i++) {
		if (writ_kinds[i]->fini != NULL && states[i] != NULL)
			writ_kinds[i]->fini(states[i]);
		states[i] = NULL;
	}
}

int
kinds_idle(void)
{
	int open = 0;

	for (size_t i = 0; writ_kinds[i] != NULL; i++)
		if (writ_kinds[i]->idle != NULL && states[i] != NULL)
			open |= writ_kinds[i]->idle(states[i]);
	return open;
}

void *
kinds_state(const struct writ_kind *k)
{
	return states[kinds_index(k)];
}

const struct writ_kind *
kinds_find(const char *name)
{
	for (size_t i = 0; writ_kinds[i] != NULL; i++)
		if (strcmp(writ_kinds[i]->name, name) == 0)
			return writ_kinds[i];
	return NULL;
}
