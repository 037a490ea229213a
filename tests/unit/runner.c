/* runner.c - one runner for every unit suite. */
#include <stdlib.h>
#include <sodium.h>

#include "check.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(duration_suite());
	srunner_add_suite(sr, sjson_suite());
	srunner_add_suite(sr, errors_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, jwt_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, github_suite());
	srunner_add_suite(sr, audit_suite());
	srunner_add_suite(sr, show_suite());
	srunner_add_suite(sr, oidc_suite());
	srunner_add_suite(sr, refusals_suite());
	srunner_add_suite(sr, logtail_suite());
	srunner_add_suite(sr, journal_suite());
	srunner_add_suite(sr, id_suite());
	srunner_add_suite(sr, sshcert_suite());
	srunner_add_suite(sr, route_suite());
	srunner_add_suite(sr, libwrit_suite());
	srunner_add_suite(sr, gitcred_suite());
	srunner_add_suite(sr, order_suite());
	srunner_add_suite(sr, proto_suite());
	srunner_add_suite(sr, orderwire_suite());
	srunner_add_suite(sr, confine_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
