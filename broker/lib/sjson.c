/*
 * sjson.c - strict JSON for untrusted input.
 */
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "sjson.h"

/* Depth and item count of v, stopping early once over the limits. */
static int
walk(const json_t *v, int depth, size_t *items)
{
	const char *key;
	json_t *child;
	size_t i;

	if (depth > WRIT_MAX_JSON_DEPTH)
		return WRIT_ETOOBIG;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			(void)key;
			if (++*items > WRIT_MAX_JSON_ITEMS || walk(child, depth + 1, items) < 0)
				return WRIT_ETOOBIG;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			if (++*items > WRIT_MAX_JSON_ITEMS || walk(child, depth + 1, items) < 0)
				return WRIT_ETOOBIG;
		}
	}
	return 0;
}

int
sjson_parse(const char *buf, size_t len, json_t **ret, char err[WRIT_ERRLEN])
{
	json_error_t je;
	json_t *v;
	size_t items = 0;

	/*
	 * NB. jansson's own recursion stops at 2048 levels and the body is
	 * already capped, so a hostile document costs bounded work before
	 * our tighter ceilings are checked.
	 */
	/* NB. jansson refuses a NUL in a string, but skips one after a number. */
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, WRIT_ERRLEN, "invalid JSON: a NUL byte");
		return WRIT_EBADJSON;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL) {
		snprintf(err, WRIT_ERRLEN, "invalid JSON at line %d, column %d: %s",
		    je.line, je.column, je.text);
		return WRIT_EBADJSON;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(err, WRIT_ERRLEN, "the body must be a JSON object");
		return WRIT_EBADJSON;
	}
	if (walk(v, 1, &items) < 0) {
		json_decref(v);
		snprintf(err, WRIT_ERRLEN,
		    "JSON nested deeper than %d levels or with more than %d items",
		    WRIT_MAX_JSON_DEPTH, WRIT_MAX_JSON_ITEMS);
		return WRIT_ETOOBIG;
	}
	*ret = v;
	return 0;
}

void
sjson_quote(char dst[52], const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n < 48; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	if (*src != '\0') {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

int
sjson_only_keys(const json_t *obj, const char *const allowed[],
    const char *where, char err[WRIT_ERRLEN])
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			char q[52];

			sjson_quote(q, key);
			snprintf(err, WRIT_ERRLEN, "unknown field '%s' in %s", q, where);
			return WRIT_EBADREQ;
		}
	}
	return 0;
}

int
sjson_string(const json_t *obj, const char *key, bool required,
    const char **ret, char err[WRIT_ERRLEN])
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		*ret = NULL;
		if (!required)
			return 0;
		snprintf(err, WRIT_ERRLEN, "field '%s' is required", key);
		return WRIT_EBADREQ;
	}
	if (!json_is_string(v)) {
		snprintf(err, WRIT_ERRLEN, "field '%s' must be a string", key);
		return WRIT_EBADREQ;
	}
	*ret = json_string_value(v);
	return 0;
}

void
sjson_clean_text(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = (unsigned char *)s;

	while (*r != '\0') {
		unsigned char c = r[0];

		if (c < 0x20 || c == 0x7f) {
			r++;
			continue;
		}
		if (c < 0x80) {
			*w++ = *r++;
			continue;
		}
		/* jansson already checked UTF-8; drop C1 controls and bidi marks. */
		if (c == 0xc2 && r[1] >= 0x80 && r[1] <= 0x9f) {
			r += 2;
			continue;
		}
		if (c == 0xe2 && r[1] == 0x80 && (r[2] == 0x8e || r[2] == 0x8f ||
		    (r[2] >= 0xaa && r[2] <= 0xae))) {
			r += 3;
			continue;
		}
		if (c == 0xe2 && r[1] == 0x81 && r[2] >= 0xa6 && r[2] <= 0xa9) {
			r += 3;
			continue;
		}
		if (c == 0xd8 && r[1] == 0x9c) {	/* U+061C arabic letter mark */
			r += 2;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}
