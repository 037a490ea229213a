/* check.h - the suites of writ's unit test runner. */
#ifndef WRIT_TEST_CHECK_H
#define WRIT_TEST_CHECK_H

#include <check.h>

Suite *duration_suite(void);
Suite *sjson_suite(void);
Suite *errors_suite(void);
Suite *config_suite(void);
Suite *jwt_suite(void);
Suite *policy_suite(void);
Suite *github_suite(void);
Suite *audit_suite(void);

#endif
