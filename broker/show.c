/*
 * show.c - text an agent controls, cleaned and laid out for a person.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../policy/policy.h"
#include "id.h"
#include "show.h"

/* Width of the label column in a field: "  " + 9 + " ". */
#define LABEL_COLS 12

void
show_add(struct show_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
show_addf(struct show_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	show_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void
show_free(struct show_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/*
 * Decode one UTF-8 character at s (strict: no overlong forms, surrogates or
 * values past U+10FFFF).  Returns its length and the code point, or 0 when
 * s[0] does not begin a valid character.
 */
static size_t
utf8_decode(const unsigned char *s, uint32_t *ret_cp)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n;
}

/* Inclusive ranges, sorted. */
struct range {
	uint32_t lo, hi;
};

/* Unicode white space other than ASCII's (Zs): shown as one space. */
static const struct range spaces[] = {
	{ 0x00a0, 0x00a0 }, { 0x1680, 0x1680 }, { 0x2000, 0x200a },
	{ 0x202f, 0x202f }, { 0x205f, 0x205f }, { 0x3000, 0x3000 },
};

/*
 * Shown escaped: C1 controls, format characters (Cf: soft hyphen, bidi
 * marks, embeddings, overrides and isolates, zero-width characters, word
 * joiner, invisible operators, BOM, interlinear annotations, tags), line and
 * paragraph separators (Zl, Zp), fillers that render as blank (Hangul and
 * braille blanks, Khmer inherent vowels, the combining grapheme joiner),
 * variation selectors, private use and non-characters; and right-to-left
 * scripts (Hebrew, Arabic, Syriac ... and their presentation forms): a
 * terminal or dialog that lays out bidi text would turn a line beginning
 * with one around, moving writd's continuation mark to the far end.
 */
static const struct range hidden[] = {
	{ 0x0080, 0x009f }, { 0x00ad, 0x00ad }, { 0x034f, 0x034f },
	{ 0x0590, 0x08ff },
	{ 0x115f, 0x1160 }, { 0x17b4, 0x17b5 }, { 0x180b, 0x180f },
	{ 0x200b, 0x200f }, { 0x2028, 0x202e }, { 0x2060, 0x206f },
	{ 0x2800, 0x2800 }, { 0x3164, 0x3164 }, { 0xe000, 0xf8ff },
	{ 0xfb1d, 0xfdff }, { 0xfe00, 0xfe0f }, { 0xfe70, 0xfeff },
	{ 0xffa0, 0xffa0 }, { 0xfff0, 0xfffb }, { 0x10800, 0x10fff },
	{ 0x110bd, 0x110bd }, { 0x110cd, 0x110cd }, { 0x13430, 0x1343f },
	{ 0x1bca0, 0x1bca3 },
	{ 0x1d173, 0x1d17a }, { 0x1e800, 0x1efff }, { 0xe0000, 0xe0fff }, { 0xf0000, 0x10ffff },
};

static bool
in(const struct range *r, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

/* One piece of cleaned text: a character or an escape, never split. */
struct unit {
	char text[16];
	size_t len;
	unsigned int cols;
	bool space;
};

/*
 * The next unit of *sp, advancing it; false at the end.  Runs of white
 * space come back as one space unit.
 */
static bool
next_unit(const unsigned char **sp, struct unit *u)
{
	const unsigned char *s = *sp;
	uint32_t cp;
	size_t n;

	if (*s == '\0')
		return false;
	memset(u, 0, sizeof(*u));
	for (;;) {
		n = utf8_decode(s, &cp);
		if (n == 0 || !(cp == ' ' || (cp >= 0x09 && cp <= 0x0d) ||
		    in(spaces, sizeof(spaces) / sizeof(spaces[0]), cp)))
			break;
		s += n;
		u->space = true;
	}
	if (u->space) {
		u->text[0] = ' ';
		u->len = u->cols = 1;
		*sp = s;
		return true;
	}
	if (n == 0) {
		u->len = (size_t)snprintf(u->text, sizeof(u->text), "<x%02X>", s[0]);
		n = 1;
	} else if (cp < 0x20 || cp == 0x7f ||
	    in(hidden, sizeof(hidden) / sizeof(hidden[0]), cp) || (cp & 0xfffe) == 0xfffe)
		u->len = (size_t)snprintf(u->text, sizeof(u->text), "<U+%04X>", (unsigned)cp);
	else {
		memcpy(u->text, s, n);
		u->len = n;
		u->cols = cp < 0x80 ? 1 : 2;
	}
	if (u->cols == 0)
		u->cols = (unsigned int)u->len;
	*sp = s + n;
	return true;
}

/* Columns u and the text after it (at s) take, a trailing space aside. */
static unsigned int
width_from(const struct unit *u, const unsigned char *s)
{
	unsigned int w = u->cols, space = 0;
	struct unit v;

	while (next_unit(&s, &v)) {
		if (v.space) {
			space = 1;
			continue;
		}
		w += space + v.cols;
		space = 0;
	}
	return w;
}

void
show_wrap(struct show_buf *b, const char *prefix, const char *value,
    unsigned int cols, unsigned int max_lines)
{
	const unsigned char *s = (const unsigned char *)(value != NULL ? value : "?");
	unsigned int used, line = 1, room;
	bool have, last_fits = false, measured = false;
	struct unit u, next;

	/* Room for some text beside the prefix, however narrow the ask. */
	if (cols < strlen(prefix) + 16)
		cols = (unsigned int)strlen(prefix) + 16;
	show_add(b, prefix, strlen(prefix));
	used = (unsigned int)strlen(prefix);
	/* Leading space says nothing and would shift the text. */
	while ((have = next_unit(&s, &u)) && u.space)
		;
	while (have) {
		/* On the last line: does the rest fit, or must it keep room for the mark? */
		if (line == max_lines && !measured) {
			last_fits = used + width_from(&u, s) <= cols;
			measured = true;
		}
		have = next_unit(&s, &next);
		/* Trailing space likewise. */
		if (u.space && !have)
			break;
		room = cols - used;
		if (line == max_lines && !last_fits)
			room = room > sizeof(SHOW_CUT) - 1 ? room - (unsigned int)(sizeof(SHOW_CUT) - 1) : 0;
		if (u.cols > room) {
			if (line == max_lines) {
				/* The mark begins with its own space. */
				if (b->len > 0 && b->p[b->len - 1] == ' ' && used > strlen(prefix))
					b->p[--b->len] = '\0';
				show_add(b, SHOW_CUT, sizeof(SHOW_CUT) - 1);
				break;
			}
			show_add(b, "\n" SHOW_CONT, 1 + sizeof(SHOW_CONT) - 1);
			used = (unsigned int)sizeof(SHOW_CONT) - 1;
			line++;
			/* A space that would begin a wrapped line is dropped. */
			if (u.space) {
				u = next;
				continue;
			}
		}
		show_add(b, u.text, u.len);
		used += u.cols;
		u = next;
	}
	show_add(b, "\n", 1);
}

void
show_field(struct show_buf *b, const char *label, const char *value, unsigned int cols)
{
	char prefix[LABEL_COLS + 1];

	snprintf(prefix, sizeof(prefix), "  %-9.9s ", label);
	show_wrap(b, prefix, value, cols, SHOW_MAX_LINES);
}

char *
show_clean(const char *s, unsigned int max_cols)
{
	struct show_buf b = { 0 };
	char *nl;

	/* One line of max_cols: no prefix, nothing wrapped. */
	show_wrap(&b, "", s, max_cols, 1);
	if (b.failed) {
		show_free(&b);
		return NULL;
	}
	if ((nl = strchr(b.p, '\n')) != NULL)
		*nl = '\0';
	return b.p;
}

unsigned int
show_columns(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
		return SHOW_COLUMNS;
	if (ws.ws_col < SHOW_MIN_COLUMNS)
		return SHOW_MIN_COLUMNS;
	return ws.ws_col > SHOW_MAX_COLUMNS ? SHOW_MAX_COLUMNS : ws.ws_col;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "?";
}

/* The first 8 digits of an id, or "?" when it is not one. */
static void
short_id(const json_t *q, char out[9])
{
	const char *id = str(q, "id");

	if (id_valid(id))
		snprintf(out, 9, "%.8s", id);
	else
		snprintf(out, 9, "?");
}

void
show_claims(struct show_buf *b, const json_t *claims, unsigned int cols)
{
	char line[WRIT_MAX_CLAIM + 64];
	const char *v;

	if (!json_is_object(claims))
		return;
	/*
	 * NB. verified only as the CI provider's word: a repository or branch
	 * name is chosen by whoever pushed it, so it is cleaned like agent text.
	 */
	snprintf(line, sizeof(line), "verified ID token of %s", str(claims, "iss"));
	show_field(b, "job", line, cols);
	for (size_t i = 0; policy_claim_names[i] != NULL; i++) {
		if (strcmp(policy_claim_names[i], "iss") == 0 ||
		    (v = json_string_value(json_object_get(claims, policy_claim_names[i]))) == NULL)
			continue;
		snprintf(line, sizeof(line), "%s: %s", policy_claim_names[i], v);
		show_wrap(b, SHOW_CONT, line, cols, 2);
	}
}

char *
show_request(const json_t *q, unsigned int cols)
{
	const json_t *s = json_object_get(q, "session"), *c = json_object_get(q, "caller");
	const json_t *pol = json_object_get(q, "policy");
	struct show_buf b = { 0 };
	char sid[9], buf[512], *scope;

	short_id(q, sid);
	/* NB. the header is writd's own text: an id is 32 hex digits. */
	show_addf(&b, "\n== writ request %s ==\n", sid);
	snprintf(buf, sizeof(buf), "%s (%s)", str(s, "name"), str(s, "id"));
	show_field(&b, "session", buf, cols);
	if (json_is_string(json_object_get(s, "workspace")))
		show_field(&b, "workspace", str(s, "workspace"), cols);
	show_claims(&b, json_object_get(s, "claims"), cols);
	if (json_is_false(json_object_get(c, "verified"))) {
		/* NB. pid, exe and cmdline are the relay's: showing them would mislead. */
		snprintf(buf, sizeof(buf), "NOT VERIFIED (via writ-sandbox's spool, relay pid %lld)",
		    (long long)json_integer_value(json_object_get(c, "pid")));
		show_field(&b, "caller", buf, cols);
	} else {
		snprintf(buf, sizeof(buf), "pid %lld, uid %lld, %s",
		    (long long)json_integer_value(json_object_get(c, "pid")),
		    (long long)json_integer_value(json_object_get(c, "uid")), str(c, "exe"));
		show_field(&b, "caller", buf, cols);
		show_field(&b, "cmdline", str(c, "cmdline"), cols);
		show_field(&b, "cwd", str(c, "cwd"), cols);
	}
	show_field(&b, "kind", str(q, "kind"), cols);
	scope = json_dumps(json_object_get(q, "scope"), JSON_COMPACT | JSON_SORT_KEYS);
	show_field(&b, "scope", scope, cols);
	free(scope);
	snprintf(buf, sizeof(buf), "%llds", (long long)json_integer_value(json_object_get(q, "ttl")));
	show_field(&b, "ttl", buf, cols);
	snprintf(buf, sizeof(buf), "%s (%s, %s)", str(pol, "rule"), str(pol, "tier"),
	    str(pol, "layer"));
	show_field(&b, "asked by", buf, cols);
	/* NB. the reason is the agent's own words: possibly an injection. */
	/* NB. not in quotes: the agent could close them and add words of "ours". */
	show_field(&b, "reason", "(untrusted, written by the agent, on the lines below)", cols);
	show_wrap(&b, SHOW_CONT, str(q, "reason"), cols, SHOW_MAX_LINES);
	if (b.failed) {
		show_free(&b);
		return NULL;
	}
	return b.p;
}

char *
show_question(const json_t *q)
{
	const json_t *conf = json_object_get(q, "confirm");
	const char *code = json_string_value(json_object_get(conf, "code"));
	struct show_buf b = { 0 };
	char sid[9], *rule, *typed;

	short_id(q, sid);
	if (code != NULL) {
		/* Anti-habituation: a reflexive "y" cannot approve this one. */
		rule = show_clean(str(conf, "rule"), 40);
		typed = show_clean(code, 16);
		show_addf(&b, "This request needs a typed approval (policy rule %s).\n"
		    "Type %s to approve request %s (anything else denies): ",
		    rule != NULL ? rule : "?", typed != NULL ? typed : "?", sid);
		free(rule);
		free(typed);
	} else
		show_addf(&b, "Approve request %s? [y/N] ", sid);
	if (b.failed) {
		show_free(&b);
		return NULL;
	}
	return b.p;
}
