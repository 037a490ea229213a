/* check_config.c - defaults, the config file, refusals naming the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../broker/config.h"
#include "errors.h"
#include "check.h"

int
config_load_text(struct config *cfg, const char *text, char err[WRIT_ERRLEN])
{
	char path[] = "/tmp/writ-config-XXXXXX";
	int fd = mkstemp(path), r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_defaults(cfg);
	r = config_load(cfg, path, err);
	unlink(path);
	return r;
}

START_TEST(test_defaults)
{
	struct config cfg;

	config_defaults(&cfg);
	ck_assert_int_eq(cfg.approval_timeout, 120);
	ck_assert_int_eq(cfg.kinds[0].default_ttl, 300);
	ck_assert_int_eq(cfg.max_pending, 3);
	ck_assert_int_eq(cfg.audit.ledger_lag, 1);
}
END_TEST

START_TEST(test_good)
{
	char err[WRIT_ERRLEN];
	struct config cfg;

	ck_assert_int_eq(config_load_text(&cfg, "{\"runtime_dir\":\"/r\",\"state_dir\":\"/s\","
	    "\"approval\":{\"timeout\":\"30s\"},\"limits\":{\"max_pending\":5,"
	    "\"max_wait\":\"1m\"},\"kinds\":{\"jwt\":{\"issuer\":\"me\","
	    "\"default_ttl\":\"1m\",\"max_ttl\":\"10m\"}},\"audit\":{\"ledger_lag\":\"1h\"}}",
	    err), 0);
	ck_assert_int_eq(cfg.audit.ledger_lag, 3600);
	ck_assert_str_eq(cfg.runtime_dir, "/r");
	ck_assert_str_eq(cfg.state_dir, "/s");
	ck_assert_int_eq(cfg.approval_timeout, 30);
	ck_assert_int_eq(cfg.max_pending, 5);
	ck_assert_int_eq(cfg.max_wait, 60);
	ck_assert_int_eq(cfg.kinds[0].default_ttl, 60);
	ck_assert_int_eq(cfg.kinds[0].max_ttl, 600);
	/* The kind gets its own keys only. */
	ck_assert_int_eq(json_object_size(cfg.kinds[0].config), 1);
	ck_assert_str_eq(json_string_value(json_object_get(cfg.kinds[0].config, "issuer")), "me");
	config_free(&cfg);
}
END_TEST

START_TEST(test_bad)
{
	static const struct { const char *text, *names; } cases[] = {
		{ "{\"colour\":1}", "colour" },
		{ "{\"approval\":{\"timeout\":120}}", "approval.timeout" },
		{ "{\"approval\":{\"timeout\":\"-1s\"}}", "approval.timeout" },
		{ "{\"approval\":{\"cache\":true}}", "cache" },
		{ "{\"approval\":[]}", "approval" },
		{ "{\"limits\":{\"max_pending\":0}}", "limits.max_pending" },
		{ "{\"limits\":{\"max_pending\":\"3\"}}", "limits.max_pending" },
		{ "{\"limits\":{\"max_sessions\":100000}}", "limits.max_sessions" },
		{ "{\"runtime_dir\":\"relative\"}", "runtime_dir" },
		{ "{\"state_dir\":7}", "state_dir" },
		{ "{\"kinds\":{\"nope\":{}}}", "kinds.nope" },
		{ "{\"kinds\":{\"jwt\":[]}}", "kinds.jwt" },
		{ "{\"kinds\":{\"jwt\":{\"max_ttl\":\"forever\"}}}", "kinds.jwt.max_ttl" },
		{ "{\"kinds\":{\"jwt\":{\"default_ttl\":\"2h\",\"max_ttl\":\"1h\"}}}", "default_ttl" },
		{ "{\"audit\":{\"ledger_lag\":\"61m\"}}", "audit.ledger_lag" },
		{ "{\"audit\":{\"ledger_lag\":\"0s\"}}", "audit.ledger_lag" },
		{ "{\"audit\":{\"ledger_lag\":1}}", "audit.ledger_lag" },
		{ "{\"a\":1,\"a\":1}", "duplicate" },
		{ "[]", "object" },
		{ "{", "1:" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[WRIT_ERRLEN] = "";
		struct config cfg;

		ck_assert_msg(config_load_text(&cfg, cases[i].text, err) < 0, "accepted %s", cases[i].text);
		ck_assert_msg(strstr(err, cases[i].names) != NULL, "'%s' does not name %s",
		    err, cases[i].names);
		config_free(&cfg);
	}
}
END_TEST

START_TEST(test_missing_file)
{
	char err[WRIT_ERRLEN];
	struct config cfg;

	config_defaults(&cfg);
	ck_assert_int_lt(config_load(&cfg, "/nonexistent/writ.json", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/writ.json"));
}
END_TEST

START_TEST(test_finish)
{
	char err[WRIT_ERRLEN];
	struct config cfg;

	config_defaults(&cfg);
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	setenv("XDG_STATE_HOME", "/home/x/.state", 1);
	ck_assert_int_eq(config_finish(&cfg, err), 0);
	ck_assert_str_eq(cfg.runtime_dir, "/run/user/4242/writ");
	ck_assert_str_eq(cfg.state_dir, "/home/x/.state/writ");

	config_defaults(&cfg);
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/y", 1);
	ck_assert_int_eq(config_finish(&cfg, err), 0);
	ck_assert_ptr_nonnull(strstr(cfg.runtime_dir, "/tmp/writ-"));
	ck_assert_str_eq(cfg.state_dir, "/home/y/.local/state/writ");

	config_defaults(&cfg);
	unsetenv("HOME");
	ck_assert_int_lt(config_finish(&cfg, err), 0);
	ck_assert_ptr_nonnull(strstr(err, "--state-dir"));
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_finish);
	suite_add_tcase(s, tc);
	return s;
}
