/* check_github.c - the github kind's scope grammar. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "../../broker/errors.h"
#include "../../plugins/github/github.h"
#include "check.h"

static int
canon(const char *text, char *out, size_t outlen)
{
	return canon_with(&kind_github, text, out, outlen);
}

START_TEST(test_canonical)
{
	char out[512], again[512];

	ck_assert_int_eq(canon("{\"repo\":\"GitHub/Repo.git\"}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"permissions\":{\"contents\":\"read\"},\"repo\":[\"github/repo\"]}");
	ck_assert_int_eq(canon("{\"repo\":[\"acme/b\",\"ACME/a\",\"acme/b.git\"],"
	    "\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"}}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"},"
	    "\"repo\":[\"acme/a\",\"acme/b\"]}");
	ck_assert_int_eq(canon(out, again, sizeof(again)), 0);
	ck_assert_str_eq(out, again);
	ck_assert_int_eq(canon("{\"repo\":\"my-org/my_repo.v2\"}", out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const cases[] = {
		"{}", "{\"repo\":\"\"}", "{\"repo\":\"acme\"}", "{\"repo\":\"acme/\"}",
		"{\"repo\":\"/widgets\"}", "{\"repo\":\"acme/widgets/x\"}", "{\"repo\":\"acme/..\"}",
		"{\"repo\":\"acme/a..b\"}", "{\"repo\":\"../widgets\"}", "{\"repo\":\"acme/*\"}",
		"{\"repo\":\"acme/wid?\"}", "{\"repo\":\"acme/wid gets\"}", "{\"repo\":\"acme/w\\nx\"}",
		"{\"repo\":\"acm\\u00e9/x\"}", "{\"repo\":\"-acme/x\"}", "{\"repo\":\"acme_/x\"}",
		"{\"repo\":\"acme/.\"}", "{\"repo\":[]}", "{\"repo\":[\"a/x\",\"b/y\"]}",
		"{\"repo\":7}", "{\"repo\":\"a/x\",\"org\":\"a\"}",
		"{\"repo\":\"a/x\",\"permissions\":{}}",
		"{\"repo\":\"a/x\",\"permissions\":{\"contents\":\"owner\"}}",
		"{\"repo\":\"a/x\",\"permissions\":{\"Contents\":\"read\"}}",
		"{\"repo\":\"a/x\",\"permissions\":{\"contents\":1}}",
		"{\"repo\":\"a/x\",\"permissions\":\"read\"}", "[]",
	};
	char out[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(canon(cases[i], out, sizeof(out)) == WRIT_ESCOPE, "accepted %s", cases[i]);
}
END_TEST

/* Property: whatever is accepted is lower-case owner/name and a fixed point. */
START_TEST(test_property)
{
	static const char alphabet[] = "aZ09-_./ .*?\x01\xc3\xa9";

	for (int n = 0; n < 5000; n++) {
		char repo[16], out[512], again[512];
		size_t len = 1 + randombytes_uniform(sizeof(repo) - 1);
		json_t *in;
		char *text;

		for (size_t i = 0; i < len; i++)
			repo[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		repo[len] = '\0';
		in = json_pack("{ss}", "repo", repo);
		if (in == NULL)
			continue;
		text = json_dumps(in, JSON_COMPACT);
		json_decref(in);
		if (canon(text, out, sizeof(out)) == 0) {
			json_t *c = json_loads(out, 0, NULL);
			const char *r = json_string_value(json_array_get(json_object_get(c, "repo"), 0));

			ck_assert_ptr_nonnull(strchr(r, '/'));
			ck_assert_ptr_null(strstr(r, ".."));
			ck_assert_ptr_null(strpbrk(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ*? \x01"));
			ck_assert_int_eq(canon(out, again, sizeof(again)), 0);
			ck_assert_str_eq(out, again);
			json_decref(c);
		}
		free(text);
	}
}
END_TEST

Suite *
github_suite(void)
{
	Suite *s = suite_create("github");
	TCase *tc = tcase_create("scope");

	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_property);
	suite_add_tcase(s, tc);
	return s;
}
