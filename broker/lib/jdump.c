/*
 * jdump.c - json_dumps, faster, for the text on the issuing path.
 *
 * One growing buffer; strings copied in runs between the bytes JSON
 * escapes; a sorted object's keys insertion-sorted on the stack (writd's
 * objects have a dozen).  Anything else goes to json_dumps, so the output
 * never differs from it.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jdump.h"

/* Deeper than this, or more keys than this in a sorted object: jansson's job. */
#define JDUMP_MAX_DEPTH 32
#define JDUMP_MAX_SORTED 64

struct out {
	char *p;
	size_t len, cap;
	bool failed;		/* out of memory */
	bool punt;		/* not ours to format: ask json_dumps */
};

/*
 * Room for n more bytes and two (a NUL, and a newline the caller may put
 * in its place); false once out of memory.  NB. a new buffer, never
 * realloc: the text may hold a token, and each old copy is zeroed.
 */
static bool
room(struct out *o, size_t n)
{
	size_t cap;
	char *p;

	if (o->failed || o->punt)
		return false;
	if (o->len + n + 2 <= o->cap)
		return true;
	for (cap = o->cap * 2; cap < o->len + n + 2; cap *= 2)
		;
	if ((p = malloc(cap)) == NULL) {
		o->failed = true;
		return false;
	}
	memcpy(p, o->p, o->len);
	explicit_bzero(o->p, o->cap);
	free(o->p);
	o->p = p;
	o->cap = cap;
	return true;
}

static void
put(struct out *o, const char *s, size_t n)
{
	if (!room(o, n))
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* s[0..len) as a JSON string, escaped as jansson does; non-ASCII punts. */
static void
put_string(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	unsigned char c;
	char esc[6];

	put(o, "\"", 1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x80) {
			o->punt = true;
			return;
		}
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(o, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			put(o, esc, 6);
			continue;
		}
		put(o, esc, 2);
	}
	put(o, s + run, len - run);
	put(o, "\"", 1);
}

static void
put_int(struct out *o, json_int_t v)
{
	char digits[24], *d = digits + sizeof(digits);
	/* NB. as unsigned, so that the lowest value negates. */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--d = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--d = '-';
	put(o, d, (size_t)(digits + sizeof(digits) - d));
}

struct member {
	const char *key;
	json_t *value;
};

static void put_value(struct out *o, const json_t *v, size_t flags, int depth);

static void
put_object(struct out *o, const json_t *v, size_t flags, int depth)
{
	struct member m[JDUMP_MAX_SORTED], t;
	size_t n = 0, i, j;
	void *it;

	for (it = json_object_iter((json_t *)v); it != NULL;
	    it = json_object_iter_next((json_t *)v, it)) {
		const char *key = json_object_iter_key(it);

		/* A key with a NUL in it sorts by its length too: jansson's. */
		if (strlen(key) != json_object_iter_key_len(it) ||
		    ((flags & JSON_SORT_KEYS) && n == JDUMP_MAX_SORTED)) {
			o->punt = true;
			return;
		}
		if (flags & JSON_SORT_KEYS) {
			m[n].key = key;
			m[n++].value = json_object_iter_value(it);
			continue;
		}
		put(o, n++ ? "," : "{", 1);
		put_string(o, key, strlen(key));
		put(o, ":", 1);
		put_value(o, json_object_iter_value(it), flags, depth + 1);
	}
	if (flags & JSON_SORT_KEYS) {
		for (i = 1; i < n; i++) {
			t = m[i];
			for (j = i; j > 0 && strcmp(m[j - 1].key, t.key) > 0; j--)
				m[j] = m[j - 1];
			m[j] = t;
		}
		for (i = 0; i < n; i++) {
			put(o, i ? "," : "{", 1);
			put_string(o, m[i].key, strlen(m[i].key));
			put(o, ":", 1);
			put_value(o, m[i].value, flags, depth + 1);
		}
	}
	put(o, n ? "}" : "{}", n ? 1 : 2);
}

static void
put_value(struct out *o, const json_t *v, size_t flags, int depth)
{
	size_t i, n;

	if (o->failed || o->punt)
		return;
	if (depth > JDUMP_MAX_DEPTH) {
		o->punt = true;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		put_object(o, v, flags, depth);
		break;
	case JSON_ARRAY:
		n = json_array_size(v);
		put(o, "[", 1);
		for (i = 0; i < n; i++) {
			if (i)
				put(o, ",", 1);
			put_value(o, json_array_get(v, i), flags, depth + 1);
		}
		put(o, "]", 1);
		break;
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_int(o, json_integer_value(v));
		break;
	case JSON_TRUE:
		put(o, "true", 4);
		break;
	case JSON_FALSE:
		put(o, "false", 5);
		break;
	case JSON_NULL:
		put(o, "null", 4);
		break;
	default:		/* reals: jansson's own digits */
		o->punt = true;
		break;
	}
}

char *
jdump(const json_t *v, size_t flags, size_t *ret_len)
{
	struct out o = { .cap = 512 };
	char *text;

	if (v == NULL)
		return NULL;
	if ((flags & ~(size_t)(JSON_COMPACT | JSON_SORT_KEYS)) != 0 ||
	    !(flags & JSON_COMPACT) || !(json_is_object(v) || json_is_array(v)))
		o.punt = true;		/* not the flags writd uses: jansson decides */
	else if ((o.p = malloc(o.cap)) == NULL)
		return NULL;
	put_value(&o, v, flags, 0);
	if (o.failed || o.punt) {
		if (o.p != NULL)
			explicit_bzero(o.p, o.cap);
		free(o.p);
	}
	if (o.failed)
		return NULL;
	if (o.punt) {
		/* Copied, for the room past the NUL (and jansson's zeroed). */
		if ((text = json_dumps(v, flags)) == NULL)
			return NULL;
		o.len = strlen(text);
		if ((o.p = malloc(o.len + 2)) != NULL)
			memcpy(o.p, text, o.len + 1);
		explicit_bzero(text, o.len);
		free(text);
		if (o.p == NULL)
			return NULL;
		if (ret_len != NULL)
			*ret_len = o.len;
		return o.p;
	}
	o.p[o.len] = '\0';
	if (ret_len != NULL)
		*ret_len = o.len;
	return o.p;
}
