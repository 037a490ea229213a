/* check_policy.c - the policy engine: a decision table, refusals, properties. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "../../broker/errors.h"
#include "../../policy/policy.h"
#include "check.h"

static struct policy *
parse(const char *ent, const char *user)
{
	char err[WRIT_ERRLEN] = "";
	struct policy *p = NULL;
	int r = policy_parse(ent, ent ? strlen(ent) : 0, "ent", user, user ? strlen(user) : 0,
	    "user", &p, err);

	ck_assert_msg(r == 0, "parse failed: %s", err);
	return p;
}

/* Decide a jwt request for aud (and words, may be NULL). */
static void
decide(const struct policy *p, const char *aud, const char *words, int64_t ttl,
    const char *session, unsigned int live, struct policy_decision *d)
{
	json_t *scope = json_pack("{ss}", "aud", aud);
	struct policy_request q = { .kind = "jwt", .scope = scope, .ttl = ttl,
	    .session = session, .workspace = "/home/dev/proj", .uid = 1000,
	    .exe = "/usr/bin/git", .live = live };

	if (words != NULL) {
		json_t *a = json_array();
		char buf[128], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", words);
		for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
			json_array_append_new(a, json_string(w));
		json_object_set_new(scope, "scope", a);
	}
	policy_decide(p, &q, d);
	json_decref(scope);
}

static const char *const verdicts[] = { "ask", "allow", "deny" };

static const char ENT[] =
    "{\"deny\":[{\"id\":\"no-admin\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"*admin*\"},\"why\":\"nope\"},"
    "          {\"id\":\"no-write\",\"scope\":{\"scope\":\"write\"},\"session\":\"ci-*\"},"
    "          {\"id\":\"no-long\",\"min_ttl\":\"2h\"}],"
    " \"limits\":{\"jwt\":{\"max_ttl\":\"1h\",\"aud\":[\"*.example.com\",\"ci\",\"x*\"]},"
    "            \"session\":{\"max_live\":3,\"max_pending\":2}},"
    " \"allow\":[{\"id\":\"ent-ci\",\"kind\":\"jwt\",\"session\":\"ci-*\",\"scope\":{\"aud\":\"ci\"},\"max_ttl\":\"10m\"}],"
    " \"confirm\":[{\"id\":\"typed-prod\",\"scope\":{\"aud\":\"prod*\"},\"mode\":\"typed\"}]}";
static const char USER[] =
    "{\"deny\":[{\"id\":\"user-no-billing\",\"scope\":{\"aud\":\"billing.example.com\"}}],"
    " \"limits\":{\"jwt\":{\"max_ttl\":\"30m\"}},"
    " \"allow\":[{\"id\":\"user-admin\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"admin.example.com\"}},"
    "          {\"id\":\"user-api\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"api.example.com\",\"scope\":[\"read\",\"list\"]},"
    "           \"exe\":\"/usr/bin/*\",\"workspace\":\"/home/*/proj\",\"uid\":1000}]}";

START_TEST(test_table)
{
	static const struct {
		const char *aud, *words, *session;
		int64_t ttl;
		unsigned int live;
		const char *want, *tier, *rule;
	} rows[] = {
		/* 1. deny: enterprise first, final over any allow */
		{ "admin.example.com", NULL, "dev", 60, 0, "deny", "deny", "no-admin" },
		{ "ADMIN.example.com", NULL, "dev", 60, 0, "deny", "deny", "no-admin" },
		{ "billing.example.com", NULL, "dev", 60, 0, "deny", "deny", "user-no-billing" },
		{ "ci", "write", "ci-1", 60, 0, "deny", "deny", "no-write" },
		{ "ci", "write", "dev", 60, 0, "ask", "default", "default" },
		{ "a.example.com", NULL, "dev", 7200, 0, "deny", "deny", "no-long" },
		/* 2. limits: every layer's, the tightest wins */
		{ "a.example.com", NULL, "dev", 3601, 0, "deny", "limits", "limits.jwt.max_ttl" },
		{ "a.example.com", NULL, "dev", 1801, 0, "deny", "limits", "limits.jwt.max_ttl" },
		{ "a.example.com", NULL, "dev", 1800, 0, "ask", "default", "default" },
		{ "other.org", NULL, "dev", 60, 0, "deny", "limits", "limits.jwt.aud" },
		{ "A.EXAMPLE.COM", NULL, "dev", 60, 0, "deny", "limits", "limits.jwt.aud" },
		{ "a.example.com", NULL, "dev", 60, 3, "deny", "limits", "limits.session.max_live" },
		/* 3. allow: only when the request stays within */
		{ "ci", NULL, "ci-7", 600, 0, "allow", "allow", "ent-ci" },
		{ "ci", NULL, "ci-7", 601, 0, "ask", "default", "default" },
		{ "ci", NULL, "dev", 60, 0, "ask", "default", "default" },
		{ "ci", "read", "ci-7", 60, 0, "ask", "default", "default" },
		{ "api.example.com", "read", "dev", 60, 0, "allow", "allow", "user-api" },
		{ "api.example.com", "list read", "dev", 60, 0, "allow", "allow", "user-api" },
		{ "api.example.com", "read write", "dev", 60, 0, "ask", "default", "default" },
		{ "api.example.com", NULL, "dev", 60, 0, "ask", "default", "default" },
		/* 4. default ask, typed where a confirm rule touches */
		{ "prod.example.com", NULL, "dev", 60, 0, "ask", "default", "default" },
		{ "xyz", NULL, "dev", 60, 0, "ask", "default", "default" },
	};

	struct policy *p = parse(ENT, USER);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct policy_decision d;

		decide(p, rows[i].aud, rows[i].words, rows[i].ttl, rows[i].session, rows[i].live, &d);
		ck_assert_msg(strcmp(verdicts[d.verdict], rows[i].want) == 0 &&
		    strcmp(d.tier, rows[i].tier) == 0 && strcmp(d.rule, rows[i].rule) == 0,
		    "row %zu (%s): got %s/%s/%s, want %s/%s/%s", i, rows[i].aud,
		    verdicts[d.verdict], d.tier, d.rule, rows[i].want, rows[i].tier, rows[i].rule);
	}
	{
		struct policy_decision d;

		decide(p, "prod.example.com", NULL, 60, "dev", 0, &d);
		ck_assert(d.typed);
		ck_assert_str_eq(d.confirm_rule, "typed-prod");
		decide(p, "admin.example.com", NULL, 60, "dev", 0, &d);
		ck_assert_str_eq(d.message, "nope");
		ck_assert_str_eq(d.layer, "enterprise");
		decide(p, "a.example.com", NULL, 1801, "dev", 0, &d);
		ck_assert_str_eq(d.layer, "user");
		ck_assert_ptr_nonnull(strstr(d.message, "30m"));
	}
	ck_assert_int_eq(policy_max_pending(p), 2);
	policy_free(p);
}
END_TEST

START_TEST(test_layers)
{
	struct policy_decision d;
	struct policy *p;

	/* No layers at all: ask. */
	p = parse(NULL, NULL);
	decide(p, "x", NULL, 60, "dev", 0, &d);
	ck_assert_int_eq(d.verdict, POLICY_ASK);
	ck_assert_str_eq(d.layer, "built-in");
	policy_free(p);
	/* Either layer may set default deny; the user cannot undo the enterprise's. */
	p = parse("{\"default\":\"deny\"}", "{\"default\":\"ask\"}");
	decide(p, "x", NULL, 60, "dev", 0, &d);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_str_eq(d.tier, "default");
	policy_free(p);
	p = parse("{\"default\":\"ask\"}", "{\"default\":\"deny\"}");
	decide(p, "x", NULL, 60, "dev", 0, &d);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	policy_free(p);
	/* A user allow still beats an enterprise default deny... */
	p = parse("{\"default\":\"deny\"}", "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"x\"}}]}");
	decide(p, "x", NULL, 60, "dev", 0, &d);
	ck_assert_int_eq(d.verdict, POLICY_ALLOW);
	policy_free(p);
	/* ...unless the enterprise forbids user allow rules: then they are refused. */
	{
		char err[WRIT_ERRLEN];
		const char *e = "{\"user_allow\":false}";
		const char *u = "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"x\"}}]}";

		ck_assert_int_lt(policy_parse(e, strlen(e), "e", u, strlen(u), "u", &p, err), 0);
		ck_assert_ptr_nonnull(strstr(err, "user_allow"));
	}
	/* A user limit cannot loosen the enterprise's: both apply. */
	p = parse("{\"limits\":{\"jwt\":{\"max_ttl\":\"5m\"}}}", "{\"limits\":{\"jwt\":{\"max_ttl\":\"1h\"}}}");
	decide(p, "x", NULL, 600, "dev", 0, &d);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_str_eq(d.layer, "enterprise");
	policy_free(p);
	/* Per-kind budgets of live writs. */
	p = parse("{\"limits\":{\"jwt\":{\"max_live\":2}}}", NULL);
	{
		json_t *sc = json_pack("{ss}", "aud", "x");
		struct policy_request q = { .kind = "jwt", .scope = sc, .ttl = 60, .session = "s",
		    .exe = "/x", .live = 5, .live_kind = 1 };

		policy_decide(p, &q, &d);
		ck_assert_int_eq(d.verdict, POLICY_ASK);
		q.live_kind = 2;
		policy_decide(p, &q, &d);
		ck_assert_int_eq(d.verdict, POLICY_DENY);
		ck_assert_str_eq(d.rule, "limits.jwt.max_live");
		json_decref(sc);
	}
	policy_free(p);
	/* Glob semantics. */
	ck_assert(policy_glob("a*c", "abbbc", false));
	ck_assert(policy_glob("*", "", false));
	ck_assert(policy_glob("a/*", "a/b/c", false));
	ck_assert(policy_glob("a?c", "abc", false));
	ck_assert(!policy_glob("a?c", "ac", false));
	ck_assert(!policy_glob("abc", "ABC", false));
	ck_assert(policy_glob("abc", "ABC", true));
	ck_assert(policy_glob("*b*b*", "abxbz", false));
	ck_assert(!policy_glob("*b*b*", "abz", false));
}
END_TEST

START_TEST(test_refused)
{
	static const struct { const char *text, *says; } cases[] = {
		{ "{", "ent:1:" },
		{ "[]", "must be an object" },
		{ "{\"deny\":{}}", "deny" },
		{ "{\"deny\":[{\"kind\":\"nope\"}]}", "unknown kind 'nope'" },
		{ "{\"deny\":[{\"kind\":\"jwt\",\"scope\":{\"audience\":\"x\"}}]}", "deny[0].scope.audience" },
		{ "{\"deny\":[{\"scope\":{\"aud\":\"a[0]\"}}]}", "not a glob" },
		{ "{\"deny\":[{\"scope\":{\"aud\":\"\"}}]}", "not a glob" },
		{ "{\"deny\":[{\"scope\":{\"aud\":\"caf\\u00e9\"}}]}", "not a glob" },
		{ "{\"deny\":[{\"scope\":{\"aud\":\"a\\nb\"}}]}", "not a glob" },
		{ "{\"deny\":[{\"scope\":{\"aud\":[]}}]}", "non-empty array" },
		{ "{\"deny\":[{\"scope\":{}}]}", "non-empty object" },
		{ "{\"deny\":[{\"colour\":1}]}", "unknown key 'colour'" },
		{ "{\"deny\":[{\"max_ttl\":\"1m\"}]}", "not allowed in a deny rule" },
		{ "{\"deny\":[{\"min_ttl\":60}]}", "min_ttl" },
		{ "{\"deny\":[{\"uid\":-1}]}", "uid" },
		{ "{\"deny\":[{\"session\":\"a/b\"}]}", "session" },
		{ "{\"deny\":[{\"id\":\"bad id\"}]}", "'id'" },
		{ "{\"allow\":[{\"kind\":\"jwt\"}]}", "must name its 'kind' and 'scope'" },
		{ "{\"allow\":[{\"scope\":{\"aud\":\"x\"}}]}", "must name its 'kind' and 'scope'" },
		{ "{\"confirm\":[{\"mode\":\"maybe\"}]}", "mode" },
		{ "{\"limits\":{\"gitlab\":{}}}", "unknown kind" },
		{ "{\"limits\":{\"jwt\":{\"max_ttl\":\"forever\"}}}", "max_ttl" },
		{ "{\"limits\":{\"jwt\":{\"audd\":[\"x\"]}}}", "limits.jwt.audd" },
		{ "{\"limits\":{\"session\":{\"max_live\":0}}}", "max_live" },
		{ "{\"limits\":{\"jwt\":{\"max_live\":\"2\"}}}", "max_live" },
		{ "{\"limits\":{\"session\":{\"max_dead\":1}}}", "max_dead" },
		{ "{\"default\":\"allow\"}", "default" },
		{ "{\"default\":\"ask\",\"default\":\"deny\"}", "duplicate" },
		{ "{\"policy\":1}", "unknown field 'policy'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[WRIT_ERRLEN] = "";
		struct policy *p = NULL;

		ck_assert_msg(policy_parse(cases[i].text, strlen(cases[i].text), "ent", NULL, 0,
		    "user", &p, err) < 0, "accepted %s", cases[i].text);
		ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: '%s' lacks '%s'",
		    cases[i].text, err, cases[i].says);
		ck_assert_msg(strncmp(err, "ent", 3) == 0, "'%s' does not name the file", err);
	}
	/* user_allow is the enterprise's to set. */
	{
		char err[WRIT_ERRLEN];
		struct policy *p;

		ck_assert_int_lt(policy_parse(NULL, 0, "e", "{\"user_allow\":true}", 19, "u", &p, err), 0);
	}
}
END_TEST

/* A random rule: deny or allow, over a small alphabet of audiences. */
static const char *const auds[] = { "a", "b", "ab", "a*", "*", "b?", "*b" };
static const char *const reqs[] = { "a", "b", "ab", "ba", "bb", "abc" };

static void
random_rules(char *buf, size_t size, const char *set)
{
	size_t n = 0, k = randombytes_uniform(4);

	n += (size_t)snprintf(buf + n, size - n, "\"%s\":[", set);
	for (size_t i = 0; i < k; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s{\"kind\":\"jwt\",\"scope\":{\"aud\":\"%s\"}%s}",
		    i ? "," : "", auds[randombytes_uniform(7)],
		    randombytes_uniform(2) ? ",\"session\":\"s*\"" : "");
	snprintf(buf + n, size - n, "]");
}

START_TEST(test_property_enterprise_deny_wins)
{
	for (int round = 0; round < 2000; round++) {
		char ent[1024], user[2048], d1[512], a1[512], d2[512], a2[512];
		const char *deny_aud = auds[randombytes_uniform(7)];
		struct policy *p;

		/* Enterprise: one deny plus random allows; user: anything. */
		random_rules(a1, sizeof(a1), "allow");
		random_rules(d2, sizeof(d2), "deny");
		random_rules(a2, sizeof(a2), "allow");
		snprintf(ent, sizeof(ent), "{\"deny\":[{\"id\":\"E\",\"kind\":\"jwt\",\"scope\":"
		    "{\"aud\":\"%s\"}}],%s,\"default\":\"%s\"}", deny_aud, a1,
		    randombytes_uniform(2) ? "ask" : "deny");
		snprintf(user, sizeof(user), "{%s,%s,\"default\":\"%s\"}", d2, a2,
		    randombytes_uniform(2) ? "ask" : "deny");
		(void)d1;
		p = parse(ent, user);
		for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
			struct policy_decision d;

			decide(p, reqs[i], NULL, 60, randombytes_uniform(2) ? "s1" : "t1", 0, &d);
			if (policy_glob(deny_aud, reqs[i], true)) {
				ck_assert_int_eq(d.verdict, POLICY_DENY);
				ck_assert_str_eq(d.rule, "E");
			}
		}
		policy_free(p);
	}
}
END_TEST

START_TEST(test_property_order_independent)
{
	/* Rules from both files, any order of rules within them: same verdict. */
	for (int round = 0; round < 1000; round++) {
		char d[512], a[512], x[1200], y[1200];
		struct policy *p1, *p2;

		random_rules(d, sizeof(d), "deny");
		random_rules(a, sizeof(a), "allow");
		snprintf(x, sizeof(x), "{%s,%s}", d, a);
		snprintf(y, sizeof(y), "{%s,%s}", a, d);
		p1 = parse(x, NULL);
		p2 = parse(NULL, y);
		for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
			struct policy_decision r1, r2;

			decide(p1, reqs[i], NULL, 60, "s1", 0, &r1);
			decide(p2, reqs[i], NULL, 60, "s1", 0, &r2);
			ck_assert_int_eq(r1.verdict, r2.verdict);
		}
		policy_free(p1);
		policy_free(p2);
	}
}
END_TEST

Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_layers);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_property_enterprise_deny_wins);
	tcase_add_test(tc, test_property_order_independent);
	suite_add_tcase(s, tc);
	return s;
}
