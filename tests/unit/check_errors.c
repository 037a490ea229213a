/* check_errors.c - the errors table. */
#include <string.h>

#include "errors.h"
#include "check.h"

START_TEST(test_table)
{
	/* Every code from WRIT_EINTERNAL down has its own entry and a sane status. */
	for (int code = WRIT_EINTERNAL; code >= WRIT_EIDENTITY; code--) {
		const struct writ_error *e = errors_lookup(code);

		ck_assert_int_eq(e->code, code);
		ck_assert(e->status >= 400 && e->status <= 599);
		ck_assert(strlen(e->name) > 0 && strlen(e->message) > 10);
		ck_assert_ptr_nonnull(errors_by_name(e->name));
	}
}
END_TEST

START_TEST(test_statuses)
{
	ck_assert_int_eq(errors_lookup(WRIT_EBADJSON)->status, 400);
	ck_assert_int_eq(errors_lookup(WRIT_ETOOBIG)->status, 413);
	ck_assert_int_eq(errors_lookup(WRIT_EDENIED)->status, 403);
	ck_assert_int_eq(errors_lookup(WRIT_ENOAPPROVER)->status, 403);
	ck_assert_str_eq(errors_lookup(WRIT_ENOAPPROVER)->name, "approval_unavailable");
	ck_assert_int_eq(errors_lookup(WRIT_ETIMEDOUT)->status, 408);
	ck_assert_int_eq(errors_lookup(WRIT_EPENDING)->status, 429);
	ck_assert_int_eq(errors_lookup(WRIT_ENOTFOUND)->status, 404);
}
END_TEST

START_TEST(test_unknown)
{
	ck_assert_int_eq(errors_lookup(12345)->code, WRIT_EINTERNAL);
	ck_assert_int_eq(errors_lookup(0)->code, WRIT_EINTERNAL);
	ck_assert_ptr_null(errors_by_name("no_such_error"));
}
END_TEST

Suite *
errors_suite(void)
{
	Suite *s = suite_create("errors");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_statuses);
	tcase_add_test(tc, test_unknown);
	suite_add_tcase(s, tc);
	return s;
}
