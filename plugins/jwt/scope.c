/*
 * scope.c - the jwt kind's scope grammar (grammar.h): an audience and
 * words, canonicalized.  Pure: no key, network or store.
 */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "jwt.h"
#include "sjson.h"

/* Add word w to the sorted, unique list; 0, or -1 when it is not a word. */
static int
add_word(const char *w, size_t len, const char *list[], size_t lens[], size_t *n)
{
	size_t i;
	char tmp[WRIT_JWT_MAX_WORD + 1];

	if (len == 0 || len > WRIT_JWT_MAX_WORD)
		return -1;
	memcpy(tmp, w, len);
	tmp[len] = '\0';
	if (!grammar_plain_value(tmp, WRIT_JWT_MAX_WORD))
		return -1;
	for (i = 0; i < *n; i++)
		if (lens[i] == len && memcmp(list[i], w, len) == 0)
			return 0;
	if (*n == WRIT_JWT_MAX_WORDS)
		return -1;
	for (i = *n; i > 0; i--) {
		size_t m = lens[i - 1] < len ? lens[i - 1] : len;
		int c = memcmp(list[i - 1], w, m);

		if (c < 0 || (c == 0 && lens[i - 1] <= len))
			break;
		list[i] = list[i - 1];
		lens[i] = lens[i - 1];
	}
	list[i] = w;
	lens[i] = len;
	(*n)++;
	return 0;
}

static int
jwt_canonicalize(const json_t *scope, json_t **ret_scope, char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "aud", "scope", NULL };
	const char *list[WRIT_JWT_MAX_WORDS], *aud;
	size_t lens[WRIT_JWT_MAX_WORDS], n = 0;
	json_t *words, *out, *arr;
	int r;

	if (!json_is_object(scope)) {
		snprintf(err, WRIT_ERRLEN, "scope must be an object such as {\"aud\":\"example\"}");
		return WRIT_ESCOPE;
	}
	if ((r = sjson_only_keys(scope, keys, "scope", err)) < 0 ||
	    (r = sjson_string(scope, "aud", true, &aud, err)) < 0)
		return WRIT_ESCOPE;
	if (!grammar_plain_value(aud, WRIT_JWT_MAX_AUD)) {
		snprintf(err, WRIT_ERRLEN, "scope.aud must be 1-%d characters of "
		    "[A-Za-z0-9._:/@+-], without '..' or empty path segments",
		    WRIT_JWT_MAX_AUD);
		return WRIT_ESCOPE;
	}
	words = json_object_get(scope, "scope");
	if (json_is_string(words)) {
		/* "read  write": split on spaces. */
		const char *p = json_string_value(words);

		while (*p != '\0') {
			size_t len = strcspn(p, " ");

			if (len > 0 && add_word(p, len, list, lens, &n) < 0)
				goto bad_words;
			p += len;
			p += strspn(p, " ");
		}
		if (n == 0)
			goto bad_words;
	} else if (json_is_array(words)) {
		size_t i;
		json_t *w;

		json_array_foreach(words, i, w)
			if (!json_is_string(w) || add_word(json_string_value(w),
			    json_string_length(w), list, lens, &n) < 0)
				goto bad_words;
		if (n == 0)
			goto bad_words;
	} else if (words != NULL)
		goto bad_words;
	out = json_pack("{ss}", "aud", aud);
	if (out == NULL)
		return WRIT_ENOMEM;
	if (n > 0) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_stringn(list[i], lens[i]));
		json_object_set_new(out, "scope", arr);
	}
	*ret_scope = out;
	return 0;
 bad_words:
	snprintf(err, WRIT_ERRLEN, "scope.scope must be 1-%d words of "
	    "[A-Za-z0-9._:/@+-], each at most %d characters, space-separated "
	    "or as an array", WRIT_JWT_MAX_WORDS, WRIT_JWT_MAX_WORD);
	return WRIT_ESCOPE;
}

/*
 * aud names the service the token is for: a host or a URL.  A JWT without
 * "scope" carries no scope claim at all, which verifiers read as "not
 * limited": policy takes the absent key as everything (grammar.h).
 */
static const struct kind_key jwt_scope_keys[] = {
	{ "aud", NULL, KIND_KEY_HOST },
	{ "scope", NULL, 0 },
	{ NULL, NULL, 0 },
};

const struct kind_grammar jwt_grammar = {
	.name = "jwt",
	.scope_keys = jwt_scope_keys,
	.canonicalize = jwt_canonicalize,
};
