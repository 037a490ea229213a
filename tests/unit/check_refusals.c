/* check_refusals.c - a session's refusals: a budget of records, the rest counted exactly. */
#include <string.h>

#include "../../broker/refusals.h"
#include "check.h"

static const struct refusal deny = { "github", "deny", "policy_denied", "user", "no-prod" };
static const struct refusal cool = { "github", "cooling_down", "cooling_down", "cooldown", "" };

/* The sum of "count" over the records refusals_take_counts gives. */
static long long
counted(struct refusals *r)
{
	json_t *a = refusals_take_counts(r), *v;
	long long n = 0;
	size_t i;

	json_array_foreach(a, i, v)
		n += json_integer_value(json_object_get(v, "count"));
	json_decref(a);
	return n;
}

START_TEST(test_budget)
{
	struct refusals r;
	unsigned int full = 0;

	memset(&r, 0, sizeof(r));
	/* A burst is written in full, the rest counted: nothing is lost. */
	for (int i = 0; i < 1000; i++)
		full += refusals_add(&r, &deny, 100, 5000);
	ck_assert_uint_eq(full, WRIT_REFUSALS_BURST);
	ck_assert(!refusals_room(&r, 100));
	ck_assert(!refusals_due(&r, 100 + WRIT_REFUSALS_FLUSH_EVERY - 1));
	ck_assert(refusals_due(&r, 100 + WRIT_REFUSALS_FLUSH_EVERY));
	/* One more record per WRIT_REFUSALS_EVERY seconds. */
	ck_assert(!refusals_add(&r, &deny, 100 + WRIT_REFUSALS_EVERY - 1, 5001));
	ck_assert(refusals_add(&r, &deny, 100 + WRIT_REFUSALS_EVERY, 5002));
	ck_assert(!refusals_add(&r, &deny, 100 + WRIT_REFUSALS_EVERY, 5002));
	ck_assert_int_eq(counted(&r), 1000 - WRIT_REFUSALS_BURST + 2);
	ck_assert(!refusals_due(&r, 100000));
	/* Refilled at most to the burst, however long it was quiet. */
	full = 0;
	for (int i = 0; i < 100; i++)
		full += refusals_add(&r, &deny, 100000, 6000);
	ck_assert_uint_eq(full, WRIT_REFUSALS_BURST);
	ck_assert_int_eq(counted(&r), 100 - WRIT_REFUSALS_BURST);
}
END_TEST

START_TEST(test_keys)
{
	struct refusals r;
	json_t *a;
	char rule[16];

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < WRIT_REFUSALS_BURST; i++)
		ck_assert(refusals_add(&r, &deny, 10, 10));
	for (int i = 0; i < 5; i++) {
		ck_assert(!refusals_add(&r, &deny, 10, 11 + i));
		ck_assert(!refusals_add(&r, &cool, 10, 11 + i));
	}
	a = refusals_take_counts(&r);
	ck_assert_uint_eq(json_array_size(a), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "rule")), "no-prod");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "count")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "first")), 11);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 0), "last")), 15);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "decision")),
	    "cooling_down");
	json_decref(a);
	/* Taken: nothing left. */
	a = refusals_take_counts(&r);
	ck_assert_uint_eq(json_array_size(a), 0);
	json_decref(a);
	/* More keys than slots: the count stays exact, the last key is "mixed". */
	for (int i = 0; i < 3 * WRIT_REFUSALS_KEYS; i++) {
		struct refusal x = deny;

		snprintf(rule, sizeof(rule), "r%d", i);
		x.rule = rule;
		ck_assert(!refusals_add(&r, &x, 10, 20));
	}
	a = refusals_take_counts(&r);
	ck_assert_uint_eq(json_array_size(a), WRIT_REFUSALS_KEYS);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a,
	    WRIT_REFUSALS_KEYS - 1), "rule")), "mixed");
	json_decref(a);
	for (int i = 0; i < 3 * WRIT_REFUSALS_KEYS; i++) {
		struct refusal x = deny;

		snprintf(rule, sizeof(rule), "r%d", i);
		x.rule = rule;
		(void)refusals_add(&r, &x, 10, 20);
	}
	ck_assert_int_eq(counted(&r), 3 * WRIT_REFUSALS_KEYS);
}
END_TEST

Suite *
refusals_suite(void)
{
	Suite *s = suite_create("refusals");
	TCase *tc = tcase_create("budget");

	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_keys);
	suite_add_tcase(s, tc);
	return s;
}
