/*
 * kinds.c - the list of built-in kinds and helpers they share.
 */
#include <stdio.h>
#include <string.h>

#include "../broker/errors.h"

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
	for (size_t i = 0; writ_kinds[i] != NULL; i++) {
		char msg[WRIT_ERRLEN];
		int r;

		if (writ_kinds[i]->abi != WRIT_KIND_ABI) {
			snprintf(err, WRIT_ERRLEN, "kind %s: ABI %u, writd expects %u",
			    writ_kinds[i]->name, writ_kinds[i]->abi, WRIT_KIND_ABI);
			return WRIT_EINTERNAL;
		}
		r = writ_kinds[i]->init(configs[i], env, &states[i], msg);
		if (r < 0) {
			snprintf(err, WRIT_ERRLEN, "kind %s: %.200s", writ_kinds[i]->name, msg);
			return r;
		}
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

const struct kind_key *
kinds_key(const struct writ_kind *k, const char *name)
{
	if (k == NULL)
		return NULL;
	for (const struct kind_key *key = k->scope_keys; key->name != NULL; key++)
		if (strcmp(key->name, name) == 0)
			return key;
	return NULL;
}

int
kinds_level(const struct kind_key *key, const char *value)
{
	if (key == NULL || key->levels == NULL || value == NULL)
		return -1;
	for (int i = 0; key->levels[i] != NULL; i++)
		if (strcmp(key->levels[i], value) == 0)
			return i;
	return -1;
}

int
kinds_plain_value(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._:/@+-", c) != NULL))
			return 0;
	}
	/* Path tricks: parent references and empty segments. */
	if (strstr(s, "..") != NULL || s[0] == '/' || s[n - 1] == '/')
		return 0;
	/* "//" only right after a URL scheme: "https://api.example". */
	for (const char *p = strstr(s, "//"); p != NULL; p = strstr(p + 1, "//"))
		if (p == s || p[-1] != ':' || strchr(s, ':') != p - 1)
			return 0;
	return 1;
}
