/* check_duration.c - durations as people write them. */
#include "duration.h"
#include "errors.h"
#include "check.h"

START_TEST(test_good)
{
	static const struct { const char *in; int64_t secs; } cases[] = {
		{ "1", 1 }, { "90", 90 }, { "90s", 90 }, { "10m", 600 }, { "1h", 3600 },
		{ "1h30m", 5400 }, { "2d", 172800 }, { "1m1s", 61 }, { "366d", 366 * 86400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t s = -1;

		ck_assert_int_eq(duration_parse(cases[i].in, &s), 0);
		ck_assert_int_eq(s, cases[i].secs);
	}
}
END_TEST

START_TEST(test_bad)
{
	static const char *const cases[] = {
		"", "0", "0s", "0m0s", "-5m", "+5m", "5 m", " 5m", "5m ", "1.5m", "soon",
		"m", "5x", "5mm", "1h30", "99999999999999999999", "367d", "0x10",
		"5M", "1w",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t s = 42;

		ck_assert_msg(duration_parse(cases[i], &s) == WRIT_ETTL, "accepted '%s'", cases[i]);
		ck_assert_int_eq(s, 42);	/* untouched on error */
	}
	ck_assert_int_eq(duration_parse(NULL, NULL), WRIT_ETTL);
}
END_TEST

Suite *
duration_suite(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_bad);
	suite_add_tcase(s, tc);
	return s;
}
