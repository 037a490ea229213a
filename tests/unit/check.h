/* check.h - the suites of writ's unit test runner. */
#ifndef WRIT_TEST_CHECK_H
#define WRIT_TEST_CHECK_H

#include <check.h>
#include <stddef.h>

#include "sjson.h"
#include "../../plugins/kind.h"

struct config;

/*
 * Canonicalize JSON text with kind k: 0 and the sorted compact result in
 * out, or the kind's error code (after checking it gave a message).
 */
int canon_with(const struct kind_grammar *k, const char *text, char *out, size_t outlen);

/* Insert ins into the string s (of size bytes) at a random place: a bad input from a good one. */
void insert_random(char *s, size_t size, const char *ins);

/* Load text as a config file over the defaults: config_load's result, err its message. */
int config_load_text(struct config *cfg, const char *text, char err[WRIT_ERRLEN]);

Suite *duration_suite(void);
Suite *sjson_suite(void);
Suite *errors_suite(void);
Suite *config_suite(void);
Suite *jwt_suite(void);
Suite *policy_suite(void);
Suite *github_suite(void);
Suite *audit_suite(void);
Suite *show_suite(void);
Suite *oidc_suite(void);
Suite *refusals_suite(void);
Suite *logtail_suite(void);
Suite *journal_suite(void);
Suite *id_suite(void);
Suite *sshcert_suite(void);
Suite *route_suite(void);
Suite *libwrit_suite(void);
Suite *gitcred_suite(void);
Suite *order_suite(void);
Suite *proto_suite(void);
Suite *orderwire_suite(void);
Suite *confine_suite(void);

#endif
