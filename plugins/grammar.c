/*
 * grammar.c - the list of the built-in kinds' scope grammars, and the
 * helpers they and policy share.
 */
#include <stdio.h>
#include <string.h>

#include "grammar.h"
#include "github/github.h"
#include "jwt/jwt.h"
#include "sshcert/scope.h"

/* NB. the order of writ_kinds[] (kinds.c): kinds_init checks. */
const struct kind_grammar *const kind_grammars[] = {
	&jwt_grammar,
	&github_grammar,
	&sshcert_grammar,
	NULL,
};

const struct kind_grammar *
grammar_find(const char *name)
{
	for (size_t i = 0; kind_grammars[i] != NULL; i++)
		if (strcmp(kind_grammars[i]->name, name) == 0)
			return kind_grammars[i];
	return NULL;
}

size_t
grammar_index(const struct kind_grammar *g)
{
	size_t i = 0;

	while (kind_grammars[i] != NULL && kind_grammars[i] != g)
		i++;
	return i;
}

const struct kind_key *
grammar_key(const struct kind_grammar *g, const char *name)
{
	if (g == NULL)
		return NULL;
	for (const struct kind_key *key = g->scope_keys; key->name != NULL; key++)
		if (strcmp(key->name, name) == 0)
			return key;
	return NULL;
}

int
grammar_level(const struct kind_key *key, const char *value)
{
	if (key == NULL || key->levels == NULL || value == NULL)
		return -1;
	for (int i = 0; key->levels[i] != NULL; i++)
		if (strcmp(key->levels[i], value) == 0)
			return i;
	return -1;
}

int
grammar_plain_value(const char *s, size_t max)
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
