/* check_sjson.c - strict JSON for untrusted input. */
#include <string.h>

#include "errors.h"
#include "sjson.h"
#include "check.h"

static int
parse(const char *s, size_t len)
{
	char err[WRIT_ERRLEN] = "";
	json_t *v = NULL;
	int r = sjson_parse(s, len, &v, err);

	if (r == 0)
		json_decref(v);
	else
		ck_assert(strlen(err) > 0);
	return r;
}

#define P(s) parse(s, sizeof(s) - 1)

START_TEST(test_parse)
{
	ck_assert_int_eq(P("{\"a\":1}"), 0);
	ck_assert_int_eq(P("{\"a\":{\"b\":[1,2,{\"c\":null}]}}"), 0);
	ck_assert_int_eq(P(""), WRIT_EBADJSON);
	ck_assert_int_eq(P("[1]"), WRIT_EBADJSON);
	ck_assert_int_eq(P("\"s\""), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":1,\"a\":2}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":{\"b\":1,\"b\":1}}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":\"x\\u0000y\"}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":\"x\0y\"}"), WRIT_EBADJSON);
	/* jansson itself skips a NUL after a number or a literal (fuzz_ledger). */
	ck_assert_int_eq(P("{\"a\":4\0}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":true\0,\"b\":1}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":1}\0"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":\"\xff\"}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":\"\xc0\xaf\"}"), WRIT_EBADJSON);	/* overlong '/' */
	ck_assert_int_eq(P("{\"a\":\"\\ud800\"}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":1} {}"), WRIT_EBADJSON);
	ck_assert_int_eq(P("{\"a\":1,}"), WRIT_EBADJSON);
}
END_TEST

START_TEST(test_limits)
{
	char deep[256] = "", many[4096] = "{";
	int i, n = 0;

	/* WRIT_MAX_JSON_DEPTH levels are fine, one more is not. */
	for (i = 0; i < WRIT_MAX_JSON_DEPTH; i++)
		n += snprintf(deep + n, sizeof(deep) - (size_t)n, "{\"a\":");
	n += snprintf(deep + n, sizeof(deep) - (size_t)n, "1");
	for (i = 0; i < WRIT_MAX_JSON_DEPTH; i++)
		n += snprintf(deep + n, sizeof(deep) - (size_t)n, "}");
	ck_assert_int_eq(parse(deep + 5, strlen(deep) - 6), 0);
	ck_assert_int_eq(parse(deep, strlen(deep)), WRIT_ETOOBIG);

	n = 1;
	for (i = 0; i <= WRIT_MAX_JSON_ITEMS; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n, "%s\"k%d\":1", i ? "," : "", i);
	snprintf(many + n, sizeof(many) - (size_t)n, "}");
	ck_assert_int_eq(parse(many, strlen(many)), WRIT_ETOOBIG);
}
END_TEST

START_TEST(test_fields)
{
	static const char *const keys[] = { "kind", "ttl", NULL };
	char err[WRIT_ERRLEN];
	const char *s;
	json_t *v = json_pack("{sssisn}", "kind", "jwt", "ttl", 5, "extra\x1b[2J", NULL);

	ck_assert_int_eq(sjson_only_keys(v, keys, "the request", err), WRIT_EBADREQ);
	ck_assert_ptr_nonnull(strstr(err, "extra?[2J"));	/* named, escape neutered */
	json_object_del(v, "extra\x1b[2J");
	ck_assert_int_eq(sjson_only_keys(v, keys, "the request", err), 0);
	ck_assert_int_eq(sjson_string(v, "kind", true, &s, err), 0);
	ck_assert_str_eq(s, "jwt");
	ck_assert_int_eq(sjson_string(v, "ttl", true, &s, err), WRIT_EBADREQ);
	ck_assert_ptr_nonnull(strstr(err, "'ttl'"));
	ck_assert_int_eq(sjson_string(v, "reason", false, &s, err), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(sjson_string(v, "reason", true, &s, err), WRIT_EBADREQ);
	json_decref(v);
}
END_TEST

START_TEST(test_quote_and_clean)
{
	char q[52], t[64];

	sjson_quote(q, "abc\ndef");
	ck_assert_str_eq(q, "abc?def");
	sjson_quote(q, "0123456789012345678901234567890123456789012345678901234567890");
	ck_assert_int_eq(strlen(q), 51);
	ck_assert_str_eq(q + 48, "...");

	snprintf(t, sizeof(t), "a\x1b[31mb\tc\x7f" "d");
	sjson_clean_text(t);
	ck_assert_str_eq(t, "a[31mbcd");
	/* U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 isolate, U+0085 NEL go; é stays. */
	snprintf(t, sizeof(t), "x\xe2\x80\xaey\xe2\x81\xa6z\xc2\x85w\xc3\xa9");
	sjson_clean_text(t);
	ck_assert_str_eq(t, "xyzw\xc3\xa9");
}
END_TEST

Suite *
sjson_suite(void)
{
	Suite *s = suite_create("sjson");
	TCase *tc = tcase_create("strict");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_quote_and_clean);
	suite_add_tcase(s, tc);
	return s;
}
