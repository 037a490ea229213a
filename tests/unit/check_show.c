/* check_show.c - what an agent writes, as a person sees it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "../../broker/show.h"
#include "check.h"

/*
 * The oracle: characters that must never reach a terminal as themselves,
 * written out here one by one, apart from show.c's tables.
 */
static const uint32_t forbidden[] = {
	0x00, 0x07, 0x08, 0x1b, 0x7f, 0x80, 0x85, 0x9b, 0x9f,	/* C0, C1 */
	0xad, 0x34f, 0x61c, 0x115f, 0x1160, 0x17b4, 0x180e,
	0x200b, 0x200c, 0x200d, 0x200e, 0x200f,			/* zero width, marks */
	0x2028, 0x2029,						/* Zl, Zp */
	0x202a, 0x202b, 0x202c, 0x202d, 0x202e,			/* embeddings, overrides */
	0x2060, 0x2061, 0x2064, 0x2066, 0x2067, 0x2068, 0x2069,	/* joiner, isolates */
	0x2800, 0x3164, 0xfe0f, 0xfeff, 0xffa0, 0xfff9, 0xfffb,
	0xe000, 0xf8ff, 0xfdd0, 0xfffe, 0xe0001, 0xe0041, 0xe007f, 0x1bca0, 0x10fffd,
	0x5d0, 0x627, 0x710, 0x7c0, 0xfb50, 0xfe8d, 0x10900, 0x1e900,	/* right-to-left letters */
};
/* White space: each run must come out as one ASCII space. */
static const uint32_t spaces[] = { 0x09, 0x0a, 0x0d, 0x20, 0xa0, 0x2003, 0x3000, 0x1680 };
/* Ordinary characters that must come through untouched. */
/* (none of them appears in an escape: <U+00AD>, <xFF>) */
static const uint32_t plain[] = { 'a', 'Z', 'q', '-', '/', '"', 0xe9, 0x65e5, 0x1f600, 0x301 };

static size_t
encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode s (known to be UTF-8) into cps; returns how many. */
static size_t
decode_all(const char *s, uint32_t *cps, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p != '\0' && n < max) {
		uint32_t cp;
		size_t len;

		if (p[0] < 0x80)
			cp = p[0], len = 1;
		else if ((p[0] & 0xe0) == 0xc0)
			cp = p[0] & 0x1f, len = 2;
		else if ((p[0] & 0xf0) == 0xe0)
			cp = p[0] & 0x0f, len = 3;
		else
			cp = p[0] & 0x07, len = 4;
		for (size_t i = 1; i < len; i++) {
			ck_assert_msg((p[i] & 0xc0) == 0x80, "output is not UTF-8: %s", s);
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		cps[n++] = cp;
		p += len;
	}
	return n;
}

static bool
is_in(const uint32_t *set, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == cp)
			return true;
	return false;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Columns of a line as a terminal could at most draw them. */
static unsigned int
columns(const uint32_t *cps, size_t n)
{
	unsigned int c = 0;

	for (size_t i = 0; i < n; i++)
		c += cps[i] < 0x80 ? 1 : 2;
	return c;
}

START_TEST(test_each_forbidden_is_escaped)
{
	for (size_t i = 0; i < N(forbidden); i++) {
		char in[16], want[16], *out;
		size_t len;

		len = encode(forbidden[i], in + 1);
		in[0] = 'a';
		in[len + 1] = 'b';
		in[len + 2] = '\0';
		if (forbidden[i] == 0)
			continue;	/* a C string ends there */
		out = show_clean(in, 80);
		ck_assert_ptr_nonnull(out);
		snprintf(want, sizeof(want), "a<U+%04X>b", (unsigned)forbidden[i]);
		ck_assert_str_eq(out, want);
		free(out);
	}
}
END_TEST

START_TEST(test_bad_utf8_is_escaped)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "a\xff" "b", "a<xFF>b" },
		{ "\xc0\x80", "<xC0><x80>" },			/* overlong NUL */
		{ "\xed\xa0\x80", "<xED><xA0><x80>" },		/* a surrogate */
		{ "\xf4\x90\x80\x80", "<xF4><x90><x80><x80>" },	/* past U+10FFFF */
		{ "\xe2\x80", "<xE2><x80>" },			/* cut short */
	};

	for (size_t i = 0; i < N(cases); i++) {
		char *out = show_clean(cases[i].in, 80);

		ck_assert_str_eq(out, cases[i].out);
		free(out);
	}
}
END_TEST

START_TEST(test_spaces_collapse)
{
	char *out = show_clean(" \t a \xe2\x80\x83\xe3\x80\x80 \n\r b\xc2\xa0 ", 80);

	ck_assert_str_eq(out, "a b");
	free(out);
	/* Exactly as wide as allowed: whole, no mark; one more: cut, marked. */
	out = show_clean("0123456789abcdef0123456789abcdef", 32);
	ck_assert_str_eq(out, "0123456789abcdef0123456789abcdef");
	free(out);
	out = show_clean("0123456789abcdef0123456789abcdefX", 32);
	ck_assert_str_eq(out, "0123456789abcdef0123456789 [cut]");
	free(out);
}
END_TEST

/*
 * Random text from the three pools, wrapped: no forbidden character and no
 * double space comes out, no line is wider than asked, every line after the
 * first begins with SHOW_CONT, at most max lines, a cut is marked, and the
 * plain characters come through in order.
 */
START_TEST(test_wrap_properties)
{
	for (int iter = 0; iter < 3000; iter++) {
		unsigned int cols = 40 + randombytes_uniform(100), lines = 1 + randombytes_uniform(5);
		uint32_t want[400], got[4000];
		size_t nwant = 0, ngot, len = 0, n = randombytes_uniform(300);
		struct show_buf b = { 0 };
		char in[2000], *line, *save = NULL;
		unsigned int nlines = 0;
		size_t k = 0;
		bool cut;

		for (size_t i = 0; i < n; i++) {
			uint32_t cp;
			unsigned int pick = randombytes_uniform(10);

			if (pick < 2)
				cp = forbidden[randombytes_uniform(N(forbidden) - 1) + 1];
			else if (pick < 4)
				cp = spaces[randombytes_uniform(N(spaces))];
			else
				cp = plain[randombytes_uniform(N(plain))];
			len += encode(cp, in + len);
			if (is_in(plain, N(plain), cp))
				want[nwant++] = cp;
		}
		in[len] = '\0';
		show_wrap(&b, "  label     ", in, cols, lines);
		ck_assert(!b.failed);
		ck_assert(b.len > 0 && b.p[b.len - 1] == '\n');
		cut = strstr(b.p, SHOW_CUT "\n") != NULL;
		for (line = strtok_r(b.p, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
			ngot = decode_all(line, got, N(got));
			nlines++;
			ck_assert_msg(columns(got, ngot) <= cols, "line of %u columns, asked %u: %s",
			    columns(got, ngot), cols, line);
			if (nlines == 1)
				ck_assert(strncmp(line, "  label     ", 12) == 0);
			else
				ck_assert_msg(strncmp(line, SHOW_CONT, strlen(SHOW_CONT)) == 0,
				    "wrapped line without its mark: %s", line);
			for (size_t i = 0; i < ngot; i++) {
				ck_assert_msg(!is_in(forbidden, N(forbidden), got[i]),
				    "U+%04X came through", (unsigned)got[i]);
				ck_assert(got[i] >= 0x20 && got[i] != 0x7f);
			}
			/* Past the prefix, never two spaces in a row. */
			ck_assert_msg(strstr(line + strlen(SHOW_CONT), "  ") == NULL, "%s", line);
			/* The plain characters, in order, past the prefix. */
			for (size_t i = 12; i < ngot; i++)
				if (is_in(plain, N(plain), got[i])) {
					ck_assert(k < nwant && want[k] == got[i]);
					k++;
				}
		}
		ck_assert_uint_le(nlines, lines);
		/* All of them, unless the field was cut, visibly. */
		ck_assert_msg(k == nwant || cut, "%zu of %zu characters shown, no cut mark", k, nwant);
		show_free(&b);
	}
}
END_TEST

/* Padding cannot make a wrapped line look like a header. */
START_TEST(test_padding_forges_no_header)
{
	char value[600], *p;
	struct show_buf b = { 0 };

	memset(value, 'x', 68);
	snprintf(value + 68, sizeof(value) - 68, "%*s  session   trusted (%s)",
	    70, "", "0123456789abcdef0123456789abcdef");
	show_field(&b, "cmdline", value, 80);
	ck_assert_ptr_nonnull(b.p);
	for (p = strchr(b.p, '\n'); p != NULL && p[1] != '\0'; p = strchr(p + 1, '\n'))
		ck_assert_msg(strncmp(p + 1, SHOW_CONT, strlen(SHOW_CONT)) == 0, "%s", b.p);
	ck_assert_ptr_null(strstr(b.p, "\n  session"));
	show_free(&b);
}
END_TEST

START_TEST(test_request_prompt)
{
	json_t *q = json_pack("{sssIs{ssssss}s{sisissssss}sss{ss}sIsss{ssssss}}",
	    "id", "0123456789abcdef0123456789abcdef", "seq", (json_int_t)1,
	    "session", "id", "fedcba9876543210fedcba9876543210", "name", "dev",
	    "workspace", "/w",
	    "caller", "pid", 42, "uid", 1000, "exe", "/usr/bin/writ",
	    "cmdline", "writ get jwt \xe2\x80\xae" "gnp.tac",
	    "cwd", "/w\xe2\x80\xa8== writ request 99999999 ==",
	    "kind", "jwt", "scope", "aud", "x", "ttl", (json_int_t)300,
	    "reason", "please\xc2\x85  session   other",
	    "policy", "rule", "default", "tier", "default", "layer", "built-in");
	char *text = show_request(q, 80), *question = show_question(q);
	const char *labels[] = { "session", "workspace", "caller", "cmdline", "cwd", "kind",
	    "scope", "ttl", "asked by", "reason" };

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\n== writ request 01234567 ==\n"));
	ck_assert_ptr_null(strstr(text, "\n== writ request 99999999"));
	ck_assert_ptr_nonnull(strstr(text, "<U+202E>gnp.tac"));
	ck_assert_ptr_nonnull(strstr(text, "<U+0085>"));
	for (size_t i = 0; i < N(labels); i++) {
		char needle[32], *first;

		snprintf(needle, sizeof(needle), "\n  %-9s ", labels[i]);
		first = strstr(text, needle);
		ck_assert_msg(first != NULL, "no %s line", labels[i]);
		ck_assert_msg(strstr(first + 1, needle) == NULL, "two %s lines", labels[i]);
	}
	ck_assert_str_eq(question, "Approve request 01234567? [y/N] ");
	free(text);
	free(question);
	json_object_set_new(q, "confirm", json_pack("{ssssss}", "mode", "typed",
	    "code", "abc234", "rule", "typed\xe2\x80\xaeprod"));
	question = show_question(q);
	ck_assert_str_eq(question, "This request needs a typed approval (policy rule "
	    "typed<U+202E>prod).\nType abc234 to approve request 01234567 (anything else denies): ");
	free(question);
	json_decref(q);
}
END_TEST

/* A caller that came through a spool: the relay's pid, exe and cmdline would mislead. */
START_TEST(test_request_prompt_unverified)
{
	json_t *q = json_pack("{sss{ssss}s{sisisssssssb}sss{ss}sIsss{ssssss}}",
	    "id", "0123456789abcdef0123456789abcdef",
	    "session", "id", "fedcba9876543210fedcba9876543210", "name", "dev",
	    "caller", "pid", 42, "uid", 1000, "exe", "/usr/bin/writ-sandbox",
	    "cmdline", "writ-sandbox --srt -- agent", "cwd", "/home/u", "verified", 0,
	    "kind", "jwt", "scope", "aud", "x", "ttl", (json_int_t)300, "reason", "r",
	    "policy", "rule", "default", "tier", "default", "layer", "built-in");
	char *text = show_request(q, 80);

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text,
	    "\n  caller    NOT VERIFIED (via writ-sandbox's spool, relay pid 42)\n"));
	ck_assert_ptr_null(strstr(text, "writ-sandbox --srt"));
	ck_assert_ptr_null(strstr(text, "\n  cmdline"));
	ck_assert_ptr_null(strstr(text, "\n  cwd"));
	free(text);
	/* verified: the usual lines */
	json_object_set_new(json_object_get(q, "caller"), "verified", json_true());
	text = show_request(q, 80);
	ck_assert_ptr_nonnull(strstr(text, "\n  caller    pid 42, uid 1000, /usr/bin/writ-sandbox\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n  cmdline   writ-sandbox --srt -- agent\n"));
	free(text);
	json_decref(q);
}
END_TEST


/* A CI job's claims: shown under a "job" field, each line a continuation, cleaned. */
START_TEST(test_request_prompt_job)
{
	json_t *q = json_pack("{sss{ssss}s{sisisssssssb}sss{ss}sIsss{ssssss}}",
	    "id", "0123456789abcdef0123456789abcdef",
	    "session", "id", "fedcba9876543210fedcba9876543210", "name", "gh-1",
	    "caller", "pid", 42, "uid", 1000, "exe", "/usr/bin/writ",
	    "cmdline", "writ get", "cwd", "/w", "verified", 1,
	    "kind", "jwt", "scope", "aud", "x", "ttl", (json_int_t)300, "reason", "r",
	    "policy", "rule", "default", "tier", "default", "layer", "built-in");
	char *text, *line, *end;
	int job_lines = 0;

	json_object_set_new(json_object_get(q, "session"), "claims", json_pack(
	    "{ssssssssssss}", "iss", "https://token.actions.githubusercontent.com",
	    "repository", "acme/widgets",
	    "ref", "refs/heads/x\n== writ request 99999999 ==\n  scope     {\"aud\":\"prod\"}",
	    "actor", "mallory\xe2\x80\xae" "nimda",
	    "evil", "not a claim writ keeps",
	    "workflow_ref", "acme/widgets/.github/workflows/a-very-long-name-that-goes-on-and-on-"
	    "and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-"
	    "and-on-and-on-and-on-and-on-and-on-and-on.yml@refs/heads/main"));
	json_object_set_new(json_object_get(json_object_get(q, "session"), "claims"),
	    "run_id", json_integer(7));
	text = show_request(q, 80);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\n  job       verified ID token of "
	    "https://token.actions.githubusercontent.com\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n" SHOW_CONT "repository: acme/widgets\n"));
	/* A forged header or field stays on a continuation line. */
	ck_assert_ptr_null(strstr(text, "\n== writ request 99999999"));
	ck_assert_ptr_null(strstr(text, "\n  scope     {\"aud\":\"prod\"}"));
	ck_assert_ptr_nonnull(strstr(text, "mallory<U+202E>nimda"));
	/* Only the claims writ keeps, only strings; a long one cut at two lines. */
	ck_assert_ptr_null(strstr(text, "evil"));
	ck_assert_ptr_null(strstr(text, "run_id"));
	ck_assert_ptr_nonnull(strstr(text, SHOW_CUT "\n"));
	for (line = strstr(text, "\n  job "); line != NULL && line[1] != '\0'; line = end) {
		end = strchr(line + 1, '\n');
		if (end == NULL || strncmp(line + 1, "  kind", 6) == 0 || strncmp(line + 1, "  caller", 8) == 0)
			break;
		job_lines++;
		ck_assert_msg(strncmp(line + 1, "  job ", 6) == 0 ||
		    strncmp(line + 1, SHOW_CONT, strlen(SHOW_CONT)) == 0, "job line: %.40s", line + 1);
		ck_assert_uint_le((size_t)(end - line - 1), 80);
	}
	ck_assert_int_eq(job_lines, 6);
	free(text);
	/* No claims, no job line. */
	json_object_del(json_object_get(q, "session"), "claims");
	text = show_request(q, 80);
	ck_assert_ptr_null(strstr(text, "\n  job "));
	free(text);
	json_decref(q);
}
END_TEST

Suite *
show_suite(void)
{
	Suite *s = suite_create("show");
	TCase *tc = tcase_create("clean");

	tcase_add_test(tc, test_each_forbidden_is_escaped);
	tcase_add_test(tc, test_bad_utf8_is_escaped);
	tcase_add_test(tc, test_spaces_collapse);
	tcase_add_test(tc, test_wrap_properties);
	tcase_add_test(tc, test_padding_forges_no_header);
	tcase_add_test(tc, test_request_prompt);
	tcase_add_test(tc, test_request_prompt_unverified);
	tcase_add_test(tc, test_request_prompt_job);
	suite_add_tcase(s, tc);
	return s;
}
