/* check_policy.c - the policy engine: a decision table, refusals, properties. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "errors.h"
#include "../../policy/policy.h"
#include "../../plugins/kind.h"
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

static void
rand_str(char *dst, size_t n, const char *alphabet)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = alphabet[randombytes_uniform((uint32_t)strlen(alphabet))];
	dst[n] = '\0';
}

static const char ENT[] =
    "{\"deny\":[{\"id\":\"no-admin\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"*admin*\"},\"why\":\"nope\"},"
    "          {\"id\":\"no-write\",\"scope\":{\"scope\":\"write\"},\"session\":\"ci-1*\"},"
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
		/* ... a JWT without a scope claim is not limited: it touches "write" */
		{ "ci", NULL, "ci-1", 60, 0, "deny", "deny", "no-write" },
		{ "ci", "read", "ci-1", 60, 0, "ask", "default", "default" },
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

/*
 * Properties, against an independent reference: a plain recursive glob
 * and a first-principles decision for simple jwt policies (denies and
 * allows on aud and session, allow max_ttl, default), written from
 * policy.h rather than from policy.c.
 */
static char
fold(char c, bool icase)
{
	return icase && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
ref_glob(const char *g, const char *v, bool icase)
{
	if (*g == '\0')
		return *v == '\0';
	if (*g == '*')
		return ref_glob(g + 1, v, icase) || (*v != '\0' && ref_glob(g, v + 1, icase));
	if (*v == '\0')
		return false;
	return (*g == '?' || fold(*g, icase) == fold(*v, icase)) && ref_glob(g + 1, v + 1, icase);
}

START_TEST(test_property_glob)
{
	for (int n = 0; n < 20000; n++) {
		char g[8], v[8];

		rand_str(g, 1 + randombytes_uniform(6), "aAb*?");
		rand_str(v, randombytes_uniform(7), "aAbB");
		ck_assert_msg(policy_glob(g, v, false) == ref_glob(g, v, false), "%s ~ %s", g, v);
		ck_assert_msg(policy_glob(g, v, true) == ref_glob(g, v, true), "%s ~i %s", g, v);
	}
}
END_TEST

#define NRULES 8
struct ref_rule {
	bool deny;
	char id[8];
	const char *aud;	/* glob */
	const char *session;	/* glob or NULL */
	int64_t max_ttl;	/* allow only; 0: none */
	int layer;		/* 0 enterprise, 1 user */
};

static const char *const auds[] = { "a", "b", "ab", "a*", "*", "b?", "*b", "A*", "AB" };
static const char *const reqs[] = { "a", "b", "ab", "ba", "bb", "abc", "A", "Ab", "AB" };
static const char *const sessions[] = { "s1", "S1", "t1" };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
random_rule(struct ref_rule *r, int i)
{
	r->deny = randombytes_uniform(3) == 0;
	snprintf(r->id, sizeof(r->id), "r%d", i);
	r->aud = auds[randombytes_uniform(N(auds))];
	r->session = randombytes_uniform(2) ? NULL : randombytes_uniform(2) ? "s*" : "S?";
	r->max_ttl = !r->deny && randombytes_uniform(2) ? 300 : 0;
	r->layer = (int)randombytes_uniform(2);
}

/* The reference decision (policy.h): deny, then allow, then default. */
static enum policy_verdict
ref_decide(const struct ref_rule *rules, size_t n, const bool default_deny[2],
    const char *aud, const char *session, int64_t ttl)
{
	/* Deny touches: globs compared ignoring ASCII case, any layer. */
	for (size_t i = 0; i < n; i++)
		if (rules[i].deny && ref_glob(rules[i].aud, aud, true) &&
		    (rules[i].session == NULL || ref_glob(rules[i].session, session, true)))
			return POLICY_DENY;
	/* Allow stays within: exact case, and the TTL within max_ttl. */
	for (size_t i = 0; i < n; i++)
		if (!rules[i].deny && ref_glob(rules[i].aud, aud, false) &&
		    (rules[i].session == NULL || ref_glob(rules[i].session, session, false)) &&
		    (rules[i].max_ttl == 0 || ttl <= rules[i].max_ttl))
			return POLICY_ALLOW;
	return default_deny[0] || default_deny[1] ? POLICY_DENY : POLICY_ASK;
}

/* Policy text for one layer: its rules in the order of perm[]. */
static void
layer_text(char *buf, size_t size, const struct ref_rule *rules, const size_t *perm, size_t n,
    int layer, bool default_deny)
{
	size_t len = 0;
	bool first[2] = { true, true };
	char part[2][2048];
	size_t plen[2] = { 0, 0 };

	part[0][0] = part[1][0] = '\0';
	for (size_t k = 0; k < n; k++) {
		const struct ref_rule *r = &rules[perm[k]];
		int set = r->deny ? 0 : 1;
		char extra[64] = "";

		if (r->layer != layer)
			continue;
		if (r->session != NULL)
			snprintf(extra, sizeof(extra), ",\"session\":\"%s\"", r->session);
		if (r->max_ttl > 0)
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			    ",\"max_ttl\":\"%llds\"", (long long)r->max_ttl);
		plen[set] += (size_t)snprintf(part[set] + plen[set], sizeof(part[set]) - plen[set],
		    "%s{\"id\":\"%s\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"%s\"}%s}",
		    first[set] ? "" : ",", r->id, r->aud, extra);
		first[set] = false;
	}
	/* Which list comes first in the file is random too. */
	if (randombytes_uniform(2))
		len = (size_t)snprintf(buf, size, "{\"deny\":[%s],\"allow\":[%s]", part[0], part[1]);
	else
		len = (size_t)snprintf(buf, size, "{\"allow\":[%s],\"deny\":[%s]", part[1], part[0]);
	snprintf(buf + len, size - len, ",\"default\":\"%s\"}", default_deny ? "deny" : "ask");
}

static void
shuffle(size_t *perm, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i), t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

static bool
is_identity(const size_t *perm, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (perm[i] != i)
			return false;
	return true;
}

/*
 * Property: random policies decide as the reference does, a request
 * touching a deny rule is never allowed, and no permutation of the rules
 * within their lists (nor of the lists in a file) changes a verdict.
 */
START_TEST(test_property_reference)
{
	unsigned int verdicts_seen[3] = { 0 }, permuted = 0;

	for (int round = 0; round < 1500; round++) {
		struct ref_rule rules[NRULES];
		size_t n = 1 + randombytes_uniform(NRULES), perm[NRULES], perm2[NRULES];
		bool dd[2] = { randombytes_uniform(4) == 0, randombytes_uniform(4) == 0 };
		char ent[4096], user[4096], ent2[4096], user2[4096];
		struct policy *p, *p2;

		for (size_t i = 0; i < n; i++) {
			random_rule(&rules[i], (int)i);
			perm[i] = perm2[i] = i;
		}
		shuffle(perm2, n);
		permuted += !is_identity(perm2, n);
		layer_text(ent, sizeof(ent), rules, perm, n, 0, dd[0]);
		layer_text(user, sizeof(user), rules, perm, n, 1, dd[1]);
		layer_text(ent2, sizeof(ent2), rules, perm2, n, 0, dd[0]);
		layer_text(user2, sizeof(user2), rules, perm2, n, 1, dd[1]);
		p = parse(ent, user);
		p2 = parse(ent2, user2);
		for (size_t i = 0; i < N(reqs); i++)
			for (size_t j = 0; j < N(sessions); j++) {
				int64_t ttl = randombytes_uniform(2) ? 60 : 900;
				enum policy_verdict want = ref_decide(rules, n, dd, reqs[i], sessions[j], ttl);
				struct policy_decision d, d2;

				decide(p, reqs[i], NULL, ttl, sessions[j], 0, &d);
				decide(p2, reqs[i], NULL, ttl, sessions[j], 0, &d2);
				ck_assert_msg(d.verdict == want, "%s %s ttl %lld: %s, the reference %s\n"
				    "enterprise %s\nuser %s", reqs[i], sessions[j], (long long)ttl,
				    verdicts[d.verdict], verdicts[want], ent, user);
				ck_assert_msg(d2.verdict == d.verdict, "rule order changed %s %s: %s vs %s\n"
				    "%s %s\n%s %s", reqs[i], sessions[j], verdicts[d.verdict],
				    verdicts[d2.verdict], ent, user, ent2, user2);
				/* Touching a deny rule is never allowed, whatever else there is. */
				for (size_t k = 0; k < n; k++)
					if (rules[k].deny && ref_glob(rules[k].aud, reqs[i], true) &&
					    (rules[k].session == NULL ||
					    ref_glob(rules[k].session, sessions[j], true)))
						ck_assert_int_eq(d.verdict, POLICY_DENY);
				verdicts_seen[d.verdict]++;
			}
		policy_free(p);
		policy_free(p2);
	}
	/* The generator reaches every verdict, and really permutes. */
	ck_assert_msg(verdicts_seen[POLICY_ASK] > 1000 && verdicts_seen[POLICY_ALLOW] > 1000 &&
	    verdicts_seen[POLICY_DENY] > 1000, "ask %u allow %u deny %u",
	    verdicts_seen[POLICY_ASK], verdicts_seen[POLICY_ALLOW], verdicts_seen[POLICY_DENY]);
	ck_assert_uint_gt(permuted, 1000);
}
END_TEST

START_TEST(test_property_enterprise_deny_wins)
{
	/* One enterprise deny; anything else in either layer: it decides. */
	for (int round = 0; round < 2000; round++) {
		struct ref_rule rules[NRULES];
		size_t n = randombytes_uniform(NRULES), perm[NRULES];
		const char *deny_aud = auds[randombytes_uniform(N(auds))];
		char ent[4096], user[4096], with_deny[4200];
		struct policy *p;

		for (size_t i = 0; i < n; i++) {
			random_rule(&rules[i], (int)i);
			perm[i] = i;
		}
		shuffle(perm, n);
		layer_text(ent, sizeof(ent), rules, perm, n, 0, randombytes_uniform(2));
		layer_text(user, sizeof(user), rules, perm, n, 1, randombytes_uniform(2));
		/* Put E first among the enterprise's denies. */
		{
			const char *at = strstr(ent, "\"deny\":[") + 8;

			snprintf(with_deny, sizeof(with_deny), "%.*s{\"id\":\"E\",\"kind\":\"jwt\","
			    "\"scope\":{\"aud\":\"%s\"}}%s%s", (int)(at - ent), ent, deny_aud,
			    *at == ']' ? "" : ",", at);
		}
		p = parse(with_deny, user);
		for (size_t i = 0; i < N(reqs); i++) {
			struct policy_decision d;

			decide(p, reqs[i], NULL, 60, sessions[randombytes_uniform(N(sessions))], 0, &d);
			if (ref_glob(deny_aud, reqs[i], true)) {
				ck_assert_int_eq(d.verdict, POLICY_DENY);
				ck_assert_str_eq(d.rule, "E");
				ck_assert_str_eq(d.layer, "enterprise");
			}
		}
		policy_free(p);
	}
}
END_TEST


/* --- CI jobs: sessions matched on verified claims, scopes filled from them --- */

static const char CI_ENT[] =
    "{\"deny\":[{\"id\":\"no-evil-ref\",\"session\":{\"claims\":{\"ref\":\"refs/heads/evil*\"}},\"why\":\"no\"},"
    "          {\"id\":\"no-secret\",\"kind\":\"github\",\"scope\":{\"repo\":\"acme/secret\"}}],"
    " \"limits\":{\"github\":{\"max_ttl\":\"10m\",\"permissions\":{\"contents\":[\"read\"]}}},"
    " \"allow\":[{\"id\":\"own-repo\",\"kind\":\"github\",\"session\":{\"claims\":{\"repository_owner\":\"acme\"}},"
    "            \"scope\":{\"repo\":\"${claims.repository}\",\"permissions\":{\"contents\":\"read\"}}},"
    "           {\"id\":\"jwt-main\",\"kind\":\"jwt\",\"session\":{\"name\":\"ci-*\",\"claims\":{\"ref\":[\"refs/heads/main\",\"refs/tags/v*\"]}},"
    "            \"scope\":{\"aud\":\"${claims.repository}\"},\"max_ttl\":\"5m\"}],"
    " \"default\":\"deny\"}";

/* Decide a github request for repo (contents: perm) from a session with claims (JSON text or NULL). */
static void
decide_ci(const struct policy *p, const char *kind, const char *value, const char *perm,
    int64_t ttl, const char *session, const char *claims_text, struct policy_decision *d)
{
	json_t *raw = claims_text != NULL ? json_loads(claims_text, 0, NULL) : NULL, *claims = NULL;
	json_t *scope = strcmp(kind, "github") == 0 ?
	    json_pack("{s[s]s{ss}}", "repo", value, "permissions", "contents", perm) :
	    json_pack("{ss}", "aud", value);
	struct policy_request q = { .kind = kind, .scope = scope, .ttl = ttl,
	    .session = session, .uid = 1000, .exe = "/usr/bin/git" };
	char err[WRIT_ERRLEN];

	if (claims_text != NULL) {
		ck_assert_ptr_nonnull(raw);
		ck_assert_int_eq(policy_claims_clean(raw, false, &claims, err), 0);
	}
	q.claims = claims;
	policy_decide(p, &q, d);
	json_decref(scope);
	json_decref(claims);
	json_decref(raw);
}

#define ACME "\"repository_owner\":\"acme\",\"ref\":\"refs/heads/main\""

START_TEST(test_claims_table)
{
	static const struct {
		const char *kind, *value, *perm;
		int64_t ttl;
		const char *session, *claims;
		const char *want, *tier, *rule;
	} rows[] = {
		/* the job's own repository, as the kind canonicalizes the claim */
		{ "github", "acme/widgets", "read", 60, "job", "{" ACME ",\"repository\":\"acme/widgets\"}",
		  "allow", "allow", "own-repo" },
		{ "github", "acme/widgets", "read", 60, "job", "{" ACME ",\"repository\":\"Acme/Widgets.git\"}",
		  "allow", "allow", "own-repo" },
		/* another repository: no partial match */
		{ "github", "acme/other", "read", 60, "job", "{" ACME ",\"repository\":\"acme/widgets\"}",
		  "deny", "default", "default" },
		{ "github", "acme/widgets", "read", 60, "job", "{" ACME ",\"repository\":\"acme/widgets-2\"}",
		  "deny", "default", "default" },
		/* the session's claims do not match the rule's */
		{ "github", "evil/widgets", "read", 60, "job",
		  "{\"repository_owner\":\"evil\",\"repository\":\"evil/widgets\"}", "deny", "default", "default" },
		{ "github", "acme/widgets", "read", 60, "job",
		  "{\"repository_owner\":\"ACME\",\"repository\":\"acme/widgets\"}", "deny", "default", "default" },
		/* the claim substituted is absent */
		{ "github", "acme/widgets", "read", 60, "job", "{" ACME "}", "deny", "default", "default" },
		/* ... or not kept (not a string): absent too */
		{ "github", "acme/widgets", "read", 60, "job", "{" ACME ",\"repository\":[\"acme/widgets\"]}",
		  "deny", "default", "default" },
		/* ... or the kind refuses it: never a wildcard */
		{ "github", "acme/x", "read", 60, "job", "{" ACME ",\"repository\":\"../x\"}",
		  "deny", "default", "default" },
		{ "github", "acme/x", "read", 60, "job", "{" ACME ",\"repository\":\"acme/../x\"}",
		  "deny", "default", "default" },
		{ "github", "acme/x", "read", 60, "job", "{" ACME ",\"repository\":\"*\"}",
		  "deny", "default", "default" },
		{ "github", "acme/x", "read", 60, "job", "{" ACME ",\"repository\":\"acme/*\"}",
		  "deny", "default", "default" },
		{ "github", "acme/x", "read", 60, "job", "{" ACME ",\"repository\":\"acme/?\"}",
		  "deny", "default", "default" },
		/* no verified identity: a claims rule never matches */
		{ "github", "acme/widgets", "read", 60, "job", NULL, "deny", "default", "default" },
		/* enterprise deny wins over the claims allow */
		{ "github", "acme/secret", "read", 60, "job", "{" ACME ",\"repository\":\"acme/secret\"}",
		  "deny", "deny", "no-secret" },
		/* a deny rule on claims: matches touching (case folded), never an unverified session */
		{ "github", "acme/widgets", "read", 60, "job",
		  "{\"repository_owner\":\"acme\",\"ref\":\"refs/heads/evil-1\",\"repository\":\"acme/widgets\"}",
		  "deny", "deny", "no-evil-ref" },
		{ "github", "acme/widgets", "read", 60, "job",
		  "{\"repository_owner\":\"acme\",\"ref\":\"REFS/heads/Evil\",\"repository\":\"acme/widgets\"}",
		  "deny", "deny", "no-evil-ref" },
		/* limits still apply */
		{ "github", "acme/widgets", "read", 601, "job", "{" ACME ",\"repository\":\"acme/widgets\"}",
		  "deny", "limits", "limits.github.max_ttl" },
		{ "github", "acme/widgets", "write", 60, "job", "{" ACME ",\"repository\":\"acme/widgets\"}",
		  "deny", "limits", "limits.github.permissions" },
		/* name and claims together; a claim glob list; the aud as jwt canonicalizes it */
		{ "jwt", "acme/widgets", NULL, 60, "ci-1", "{" ACME ",\"repository\":\"acme/widgets\"}",
		  "allow", "allow", "jwt-main" },
		{ "jwt", "acme/widgets", NULL, 60, "ci-1",
		  "{\"ref\":\"refs/tags/v1.2\",\"repository\":\"acme/widgets\"}", "allow", "allow", "jwt-main" },
		{ "jwt", "acme/widgets", NULL, 60, "dev", "{" ACME ",\"repository\":\"acme/widgets\"}",
		  "deny", "default", "default" },
		{ "jwt", "acme/widgets", NULL, 60, "ci-1",
		  "{\"ref\":\"refs/heads/dev\",\"repository\":\"acme/widgets\"}", "deny", "default", "default" },
		{ "jwt", "acme/widgets", NULL, 301, "ci-1", "{" ACME ",\"repository\":\"acme/widgets\"}",
		  "deny", "default", "default" },
		{ "jwt", "x", NULL, 60, "ci-1", "{" ACME ",\"repository\":\"a..b\"}", "deny", "default", "default" },
		{ "jwt", "acme/widgets", NULL, 60, "ci-1", NULL, "deny", "default", "default" },
	};
	struct policy *p = parse(CI_ENT, NULL);

	for (size_t i = 0; i < N(rows); i++) {
		struct policy_decision d;

		decide_ci(p, rows[i].kind, rows[i].value, rows[i].perm ? rows[i].perm : "read",
		    rows[i].ttl, rows[i].session, rows[i].claims, &d);
		ck_assert_msg(strcmp(verdicts[d.verdict], rows[i].want) == 0 &&
		    strcmp(d.tier, rows[i].tier) == 0 && strcmp(d.rule, rows[i].rule) == 0,
		    "row %zu (%s %s): got %s/%s/%s, want %s/%s/%s", i, rows[i].value,
		    rows[i].claims ? rows[i].claims : "unverified", verdicts[d.verdict], d.tier,
		    d.rule, rows[i].want, rows[i].tier, rows[i].rule);
	}
	policy_free(p);
}
END_TEST

START_TEST(test_claims_more)
{
	struct policy_decision d;
	struct policy *p;

	/* A reference as one item of a list; the rest stays a glob. */
	p = parse("{\"allow\":[{\"kind\":\"github\",\"scope\":{\"repo\":[\"${claims.repository}\",\"acme/docs-*\"],"
	    "\"permissions\":{\"contents\":\"read\"}}}],"
	    "\"default\":\"deny\"}", NULL);
	decide_ci(p, "github", "acme/widgets", "read", 60, "j", "{\"repository\":\"acme/widgets\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_ALLOW);
	decide_ci(p, "github", "acme/docs-1", "read", 60, "j", "{\"repository\":\"acme/widgets\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_ALLOW);
	decide_ci(p, "github", "acme/other", "read", 60, "j", "{\"repository\":\"acme/widgets\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	/* An absent claim fails the whole rule, not just its item. */
	decide_ci(p, "github", "acme/docs-1", "read", 60, "j", "{\"ref\":\"x\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	decide_ci(p, "github", "acme/docs-1", "read", 60, "j", NULL, &d);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	policy_free(p);
	/* A user layer's claims allow, under an enterprise deny on claims: the deny wins. */
	p = parse("{\"deny\":[{\"id\":\"E\",\"session\":{\"claims\":{\"environment\":\"prod*\"}}}]}",
	    "{\"allow\":[{\"id\":\"U\",\"kind\":\"jwt\",\"session\":{\"claims\":{\"environment\":\"*\"}},"
	    "\"scope\":{\"aud\":\"${claims.project_path}\"}}]}");
	decide_ci(p, "jwt", "grp/proj", NULL, 60, "j", "{\"environment\":\"staging\",\"project_path\":\"grp/proj\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_ALLOW);
	ck_assert_str_eq(d.rule, "U");
	decide_ci(p, "jwt", "grp/proj", NULL, 60, "j", "{\"environment\":\"production\",\"project_path\":\"grp/proj\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_str_eq(d.rule, "E");
	ck_assert_str_eq(d.layer, "enterprise");
	/* A claim value filled in is a value, never a pattern: not a domain either. */
	{
		struct policy *p3 = parse(NULL, "{\"allow\":[{\"id\":\"env\",\"kind\":\"jwt\","
		    "\"scope\":{\"aud\":\"${claims.environment}\"}}]}");

		decide_ci(p3, "jwt", "x.corp.net", NULL, 60, "j", "{\"environment\":\".corp.net\"}", &d);
		ck_assert_int_eq(d.verdict, POLICY_ASK);
		decide_ci(p3, "jwt", "corp.net", NULL, 60, "j", "{\"environment\":\"corp.net\"}", &d);
		ck_assert_int_eq(d.verdict, POLICY_ALLOW);
		policy_free(p3);
	}
	/* A claims deny rule never matches an unverified session. */
	decide_ci(p, "jwt", "grp/proj", NULL, 60, "j", NULL, &d);
	ck_assert_int_eq(d.verdict, POLICY_ASK);
	policy_free(p);
	/*
	 * An allow rule's claim globs stay within, as its scope's do: a '*'
	 * does not cross '/', '@', ':' or '?'.  Else a job on a branch named
	 * "x.yml@refs/heads/main" -- a valid git ref anyone who may push can
	 * make -- would pass for a workflow on main.
	 */
	p = parse(NULL, "{\"allow\":[{\"id\":\"main\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"deploy\"},"
	    "\"session\":{\"claims\":{\"workflow_ref\":\"acme/w/.github/workflows/*.yml@refs/heads/main\","
	    "\"sub\":[\"repo:acme/*:ref:refs/heads/main\",\"repo:acme/w:environment:**\"]}}}]}");
	decide_ci(p, "jwt", "deploy", NULL, 60, "j", "{\"workflow_ref\":"
	    "\"acme/w/.github/workflows/ship.yml@refs/heads/main\",\"sub\":\"repo:acme/w:ref:refs/heads/main\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_ALLOW);
	decide_ci(p, "jwt", "deploy", NULL, 60, "j", "{\"workflow_ref\":"
	    "\"acme/w/.github/workflows/ship.yml@refs/heads/x.yml@refs/heads/main\","
	    "\"sub\":\"repo:acme/w:ref:refs/heads/main\"}", &d);
	ck_assert_msg(d.verdict == POLICY_ASK, "a branch named x.yml@refs/heads/main: %s", d.rule);
	decide_ci(p, "jwt", "deploy", NULL, 60, "j", "{\"workflow_ref\":"
	    "\"acme/w/.github/workflows/ship.yml@refs/heads/main\","
	    "\"sub\":\"repo:acme/w:ref:refs/heads/x:ref:refs/heads/main\"}", &d);
	ck_assert_msg(d.verdict == POLICY_ASK, "a branch named x:ref:refs/heads/main: %s", d.rule);
	decide_ci(p, "jwt", "deploy", NULL, 60, "j", "{\"workflow_ref\":"
	    "\"acme/w/.github/workflows/ship.yml@refs/heads/main\","
	    "\"sub\":\"repo:acme/w:environment:prod:x\"}", &d);
	ck_assert_int_eq(d.verdict, POLICY_ALLOW);	/* "**" still crosses */
	policy_free(p);
	/* The example CI policy parses and does what it says. */
	{
		FILE *f = fopen("policy/examples/ci.json", "r");
		char buf[8192];
		size_t n;

		ck_assert_ptr_nonnull(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		p = parse(buf, NULL);
		decide_ci(p, "github", "acme/widgets", "read", 600, "ci-1",
		    "{\"repository_owner\":\"acme\",\"repository\":\"acme/widgets\",\"ref\":\"refs/pull/7/merge\"}", &d);
		ck_assert_int_eq(d.verdict, POLICY_ALLOW);
		decide_ci(p, "github", "acme/other", "read", 600, "ci-1",
		    "{\"repository_owner\":\"acme\",\"repository\":\"acme/widgets\"}", &d);
		ck_assert_int_eq(d.verdict, POLICY_DENY);
		decide_ci(p, "github", "acme/widgets", "write", 600, "ci-1",
		    "{\"repository_owner\":\"acme\",\"repository\":\"acme/widgets\"}", &d);
		ck_assert_int_eq(d.verdict, POLICY_DENY);
		decide_ci(p, "github", "acme/widgets", "read", 600, "ci-1", NULL, &d);
		ck_assert_int_eq(d.verdict, POLICY_DENY);
		decide_ci(p, "github", "evil/widgets", "read", 600, "ci-1",
		    "{\"repository_owner\":\"evil\",\"repository\":\"evil/widgets\"}", &d);
		ck_assert_int_eq(d.verdict, POLICY_DENY);
		policy_free(p);
	}
}
END_TEST

START_TEST(test_claims_refused)
{
	static const struct { const char *text, *says; } cases[] = {
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"${claims.nope}\"}}]}", "unknown claim 'nope'" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"x-${claims.repository}\"}}]}", "whole value" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"${claims.repository}/x\"}}]}", "whole value" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"${claims.}\"}}]}", "whole value" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"$x\"}}]}", "whole value" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":[\"a\",\"${claims.repo}\"]}}]}", "allow[0].scope.aud[1]" },
		{ "{\"deny\":[{\"scope\":{\"aud\":\"${claims.repository}\"}}]}", "allow rule's scope" },
		{ "{\"confirm\":[{\"mode\":\"yes\",\"scope\":{\"aud\":\"${claims.ref}\"}}]}", "allow rule's scope" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"${claims.repository}\"]}}}", "allow rule's scope" },
		{ "{\"deny\":[{\"session\":{}}]}", "must name 'name' or 'claims'" },
		{ "{\"deny\":[{\"session\":{\"nam\":\"x\"}}]}", "nam" },
		{ "{\"deny\":[{\"session\":{\"claims\":{}}}]}", "non-empty object" },
		{ "{\"deny\":[{\"session\":{\"claims\":[\"ref\"]}}]}", "non-empty object" },
		{ "{\"deny\":[{\"session\":{\"claims\":{\"branch\":\"main\"}}}]}", "unknown claim 'branch'" },
		{ "{\"deny\":[{\"session\":{\"claims\":{\"ref\":1}}}]}", "claims.ref must be a glob" },
		{ "{\"deny\":[{\"session\":{\"claims\":{\"ref\":[]}}}]}", "claims.ref must be a glob" },
		{ "{\"deny\":[{\"session\":{\"claims\":{\"ref\":\"\"}}}]}", "claims.ref must be a glob" },
		{ "{\"deny\":[{\"session\":{\"claims\":{\"ref\":\"a\\nb\"}}}]}", "claims.ref must be a glob" },
		{ "{\"deny\":[{\"session\":{\"claims\":{\"ref\":\"${claims.sub}\"}}}]}", "claims.ref must be a glob" },
		{ "{\"deny\":[{\"session\":{\"name\":\"a/b\"}}]}", "'name' must be a glob" },
		{ "{\"deny\":[{\"session\":7}]}", "'session' must be a glob" },
		{ "{\"deny\":[{\"session\":\"a/b\"}]}", "'session' must be a glob" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char err[WRIT_ERRLEN] = "";
		struct policy *p = NULL;

		ck_assert_msg(policy_parse(cases[i].text, strlen(cases[i].text), "ent", NULL, 0,
		    "user", &p, err) < 0, "accepted %s", cases[i].text);
		ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: '%s' lacks '%s'",
		    cases[i].text, err, cases[i].says);
	}
}
END_TEST

START_TEST(test_claims_clean)
{
	char err[WRIT_ERRLEN] = "", long_value[WRIT_MAX_CLAIM + 2];
	json_t *in, *out = NULL;

	memset(long_value, 'a', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	in = json_pack("{ssssssssssssssss si sb sn ss ss}", "repository", "acme/widgets",
	    "iss", "https://token.actions.githubusercontent.com", "ref", "refs/heads/main",
	    "actor", "a\x1b[31mb", "environment", "", "workflow_ref", long_value,
	    "sub", "repo:acme/widgets:ref:refs/heads/main", "job_id", "caf\xc3\xa9",
	    "run_id", 12, "run_attempt", 1, "pipeline_id", "aud", "writ", "email", "x@y");
	ck_assert_ptr_nonnull(in);
	/* From a token: what is not a short printable string is dropped. */
	ck_assert_int_eq(policy_claims_clean(in, false, &out, err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(out, "repository")), "acme/widgets");
	ck_assert_str_eq(json_string_value(json_object_get(out, "ref")), "refs/heads/main");
	ck_assert_ptr_nonnull(json_object_get(out, "iss"));
	ck_assert_ptr_nonnull(json_object_get(out, "sub"));
	ck_assert_int_eq(json_object_size(out), 4);
	json_decref(out);
	/* Exactly WRIT_MAX_CLAIM is kept. */
	long_value[WRIT_MAX_CLAIM] = '\0';
	json_object_set_new(in, "workflow_ref", json_string(long_value));
	ck_assert_int_eq(policy_claims_clean(in, false, &out, err), 0);
	ck_assert_ptr_nonnull(json_object_get(out, "workflow_ref"));
	json_decref(out);
	/* From a person (explain): refused, naming the claim. */
	ck_assert_int_eq(policy_claims_clean(in, true, &out, err), WRIT_EBADREQ);
	json_decref(in);
	in = json_pack("{ss}", "branch", "main");
	ck_assert_int_eq(policy_claims_clean(in, true, &out, err), WRIT_EBADREQ);
	ck_assert_ptr_nonnull(strstr(err, "unknown claim 'branch'"));
	json_decref(in);
	in = json_pack("{ss}", "ref", "a\tb");
	ck_assert_int_eq(policy_claims_clean(in, true, &out, err), WRIT_EBADREQ);
	ck_assert_ptr_nonnull(strstr(err, "claim 'ref' must be a string"));
	json_decref(in);
	in = json_pack("[s]", "ref");
	ck_assert_int_eq(policy_claims_clean(in, true, &out, err), WRIT_EBADREQ);
	ck_assert_int_eq(policy_claims_clean(in, false, &out, err), 0);
	ck_assert_int_eq(json_object_size(out), 0);
	json_decref(out);
	json_decref(in);
}
END_TEST

/* --- issue 14: keys left out, ordered levels, patterns that know hosts, lint --- */

/*
 * Decide a request of kind whose scope is the JSON text scope_text, as an
 * agent sends it: canonicalized by the kind first, as writd does.
 */
static void
decide_scope(const struct policy *p, const char *kind, const char *scope_text,
    const char *session, struct policy_decision *d)
{
	const struct kind_grammar *k = grammar_find(kind);
	json_t *raw = json_loads(scope_text, 0, NULL), *scope = NULL;
	struct policy_request q = { .kind = kind, .ttl = 60, .session = session,
	    .workspace = "/home/dev/proj", .uid = 1000, .exe = "/usr/bin/git" };
	char err[WRIT_ERRLEN];

	ck_assert_ptr_nonnull(k);
	ck_assert_msg(raw != NULL, "bad test JSON %s", scope_text);
	ck_assert_msg(k->canonicalize(raw, &scope, err) == 0, "%s: %s", scope_text, err);
	q.scope = scope;
	policy_decide(p, &q, d);
	json_decref(scope);
	json_decref(raw);
}

/* What d says, as "verdict tier rule", for messages and comparisons. */
static const char *
said(const struct policy_decision *d)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s %s %s", verdicts[d->verdict], d->tier, d->rule);
	return buf;
}

#define EXPECT(p, kind, scope, session, want) do { \
		struct policy_decision d_; \
		decide_scope((p), (kind), (scope), (session), &d_); \
		ck_assert_msg(strcmp(said(&d_), (want)) == 0, "%s %s: got '%s', want '%s'", \
		    (kind), (scope), said(&d_), (want)); \
	} while (0)

START_TEST(test_omitted_key)
{
	struct policy *p;

	/*
	 * The reported case: an enterprise ceiling on jwt scope, a user allow
	 * rule that names only aud.  A request without scope would carry no
	 * scope claim at all -- no limit -- so the ceiling refuses it.
	 */
	p = parse("{\"limits\":{\"jwt\":{\"scope\":[\"read\",\"list\"]}}}",
	    "{\"allow\":[{\"id\":\"aud-only\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"api\"}}]}");
	EXPECT(p, "jwt", "{\"aud\":\"api\"}", "dev", "deny limits limits.jwt.scope");
	{
		struct policy_decision d;

		decide_scope(p, "jwt", "{\"aud\":\"api\"}", "dev", &d);
		ck_assert_msg(strstr(d.message, "leaves it out") != NULL, "%s", d.message);
	}
	/* Within the ceiling it goes on (the aud-only rule covers no scope: ask). */
	EXPECT(p, "jwt", "{\"aud\":\"api\",\"scope\":\"read\"}", "dev", "ask default default");
	EXPECT(p, "jwt", "{\"aud\":\"api\",\"scope\":\"write\"}", "dev", "deny limits limits.jwt.scope");
	policy_free(p);

	/* A deny on a scope word touches a request without scope: it is every word. */
	p = parse("{\"deny\":[{\"id\":\"no-admin-word\",\"kind\":\"jwt\",\"scope\":{\"scope\":\"admin\"}}]}",
	    NULL);
	EXPECT(p, "jwt", "{\"aud\":\"api\"}", "dev", "deny deny no-admin-word");
	EXPECT(p, "jwt", "{\"aud\":\"api\",\"scope\":\"read\"}", "dev", "ask default default");
	EXPECT(p, "jwt", "{\"aud\":\"api\",\"scope\":\"read admin\"}", "dev", "deny deny no-admin-word");
	policy_free(p);
	/* ... but a kind-less deny on a key the request's kind lacks never matches it. */
	p = parse("{\"deny\":[{\"id\":\"gh\",\"scope\":{\"permissions\":{\"contents\":\"write\"}}}]}", NULL);
	EXPECT(p, "jwt", "{\"aud\":\"api\"}", "dev", "ask default default");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\"}}", "dev",
	    "deny deny gh");
	policy_free(p);

	/*
	 * github: neither key is ever left out after canonicalize (a missing
	 * repo is refused, missing permissions are contents: read), so a
	 * request without permissions is what it will get: contents read.
	 */
	p = parse("{\"limits\":{\"github\":{\"permissions\":{\"contents\":\"read\"},\"repo\":\"acme/*\"}},"
	    "\"deny\":[{\"id\":\"no-issues\",\"kind\":\"github\",\"scope\":{\"permissions\":{\"issues\":\"read\"}}}]}",
	    NULL);
	EXPECT(p, "github", "{\"repo\":\"acme/x\"}", "dev", "ask default default");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\"}}", "dev",
	    "deny limits limits.github.permissions");
	{
		json_t *raw = json_pack("{s{ss}}", "permissions", "contents", "read"), *out = NULL;
		char err[WRIT_ERRLEN];

		ck_assert_int_eq(grammar_find("github")->canonicalize(raw, &out, err), WRIT_ESCOPE);
		json_decref(raw);
	}
	policy_free(p);
}
END_TEST

START_TEST(test_levels)
{
	struct policy *p;

	/* A deny on write covers admin; read is under it. */
	p = parse("{\"deny\":[{\"id\":\"no-write\",\"kind\":\"github\","
	    "\"scope\":{\"permissions\":{\"contents\":\"write\"}}}]}", NULL);
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"admin\"}}", "dev",
	    "deny deny no-write");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\"}}", "dev",
	    "deny deny no-write");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\"}}", "dev",
	    "ask default default");
	/* ... and only the permission it names. */
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"issues\":\"admin\"}}", "dev",
	    "ask default default");
	policy_free(p);
	/* A limit of read refuses write and admin; a limit of write admits read. */
	p = parse("{\"limits\":{\"github\":{\"permissions\":{\"contents\":\"read\",\"issues\":\"write\"}}}}",
	    NULL);
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\"}}", "dev",
	    "ask default default");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\"}}", "dev",
	    "deny limits limits.github.permissions");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"admin\"}}", "dev",
	    "deny limits limits.github.permissions");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"issues\":\"read\"}}", "dev",
	    "ask default default");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"issues\":\"admin\"}}", "dev",
	    "deny limits limits.github.permissions");
	/* A permission the limit does not name is not permitted at any level. */
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"pages\":\"read\"}}", "dev",
	    "deny limits limits.github.permissions");
	policy_free(p);
	/* An allow of write admits read and write, not admin. */
	p = parse(NULL, "{\"allow\":[{\"id\":\"w\",\"kind\":\"github\","
	    "\"scope\":{\"repo\":\"acme/*\",\"permissions\":{\"contents\":\"write\"}}}]}");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\"}}", "dev",
	    "allow allow w");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\"}}", "dev",
	    "allow allow w");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"admin\"}}", "dev",
	    "ask default default");
	policy_free(p);
	/* A typed confirm on write asks it of admin too. */
	p = parse("{\"confirm\":[{\"id\":\"t\",\"kind\":\"github\",\"mode\":\"typed\","
	    "\"scope\":{\"permissions\":{\"contents\":\"write\"}}}]}", NULL);
	{
		struct policy_decision d;

		decide_scope(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"admin\"}}",
		    "dev", &d);
		ck_assert(d.typed);
		decide_scope(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\"}}",
		    "dev", &d);
		ck_assert(!d.typed);
	}
	policy_free(p);
	/* A kind-less deny compares levels through the request's kind too. */
	p = parse("{\"deny\":[{\"id\":\"any-write\",\"scope\":{\"permissions\":{\"contents\":\"write\"}}}]}",
	    NULL);
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"admin\"}}", "dev",
	    "deny deny any-write");
	policy_free(p);
	/*
	 * A level in any case is that level, on every side: the parser takes
	 * "WRITE" as one, so a limit of "READ" must not refuse read, nor an
	 * allow of "Write" admit nothing.
	 */
	p = parse("{\"limits\":{\"github\":{\"permissions\":{\"contents\":\"READ\"}}},"
	    "\"deny\":[{\"id\":\"adm\",\"kind\":\"github\",\"scope\":{\"permissions\":{\"issues\":\"Admin\"}}}]}",
	    "{\"allow\":[{\"id\":\"w\",\"kind\":\"github\",\"scope\":{\"repo\":\"acme/*\","
	    "\"permissions\":{\"contents\":\"Write\",\"issues\":\"WRITE\"}}}]}");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\"}}", "dev",
	    "allow allow w");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\"}}", "dev",
	    "deny limits limits.github.permissions");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"issues\":\"admin\"}}", "dev",
	    "deny deny adm");
	policy_free(p);
	p = parse(NULL, "{\"allow\":[{\"id\":\"w\",\"kind\":\"github\",\"scope\":{\"repo\":\"acme/*\","
	    "\"permissions\":{\"contents\":\"Write\",\"issues\":\"WRITE\"}}}]}");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"}}",
	    "dev", "allow allow w");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"admin\"}}", "dev",
	    "ask default default");
	policy_free(p);
	/* A deny glob over levels covers the levels it names and every higher one. */
	p = parse("{\"deny\":[{\"id\":\"w\",\"kind\":\"github\",\"scope\":{\"permissions\":{\"contents\":\"w*\"}}}]}",
	    NULL);
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"admin\"}}", "dev",
	    "deny deny w");
	policy_free(p);
}
END_TEST

START_TEST(test_hosts)
{
	struct policy *p;
	static const struct { const char *aud; bool ok; } hosts[] = {
		{ "api.example.com", true },
		{ "https://api.example.com", true },
		{ "https://api.example.com/v1", false },		/* '*' stops at '/' */
		{ "a.b.example.com", false },			/* one label, as in a certificate */
		{ ".example.com", false },			/* ... not an empty one */
		{ "https://.example.com", false },
		{ "https://u@.example.com", false },
		{ "https://attacker.net/x.example.com", false },
		{ "attacker.net@x.example.com", false },
		{ "https://attacker.net@x.example.com", false },
		{ "attacker.net:x.example.com", false },
		{ "example.com", false },
		{ "evil-example.com", false },
		{ "localhost", true },
		{ "localhost:8080", true },
		{ "localhost.attacker.net", false },
		{ "localhost:8080@attacker.net", false },
		{ "localhost:8080/x", false },
		{ "localhost:1.attacker.net", false },		/* a port has no dots */
		{ "user@localhost:8080.attacker.net/x", false },
		{ "localhost-8080", true },			/* "localhost*": policy check warns */
		{ "sub.corp.net", true },
		{ "corp.net", true },
		{ "a.b.corp.net", true },
		{ "evil-corp.net", false },
		{ "corp.net.evil.net", false },
		{ "sub.corp.net.evil.net", false },
		{ "attacker.net/sub.corp.net", false },
		{ "attacker.net@corp.net", false },
		{ "sub.corp.net:8443", false },			/* a domain names no port */
	};

	p = parse("{\"limits\":{\"jwt\":{\"aud\":[\"*.example.com\",\"https://*.example.com\","
	    "\"localhost\",\"localhost:*\",\"localhost*\",\".corp.net\"]}}}", NULL);
	for (size_t i = 0; i < N(hosts); i++) {
		char scope[128];

		snprintf(scope, sizeof(scope), "{\"aud\":\"%s\"}", hosts[i].aud);
		EXPECT(p, "jwt", scope, "dev", hosts[i].ok ? "ask default default" :
		    "deny limits limits.jwt.aud");
	}
	policy_free(p);
	/* The same in an allow rule (the same matcher: "stays within"). */
	p = parse(NULL, "{\"allow\":[{\"id\":\"dom\",\"kind\":\"jwt\",\"scope\":{\"aud\":\".example.com\"}}]}");
	EXPECT(p, "jwt", "{\"aud\":\"sub.example.com\"}", "dev", "allow allow dom");
	EXPECT(p, "jwt", "{\"aud\":\"example.com\"}", "dev", "allow allow dom");
	EXPECT(p, "jwt", "{\"aud\":\"a.b.example.com\"}", "dev", "allow allow dom");
	EXPECT(p, "jwt", "{\"aud\":\"evil-example.com\"}", "dev", "ask default default");
	EXPECT(p, "jwt", "{\"aud\":\"example.com.evil.net\"}", "dev", "ask default default");
	EXPECT(p, "jwt", "{\"aud\":\"https://example.com\"}", "dev", "ask default default");
	EXPECT(p, "jwt", "{\"aud\":\"x@example.com\"}", "dev", "ask default default");
	/* Exact case for what the pattern names; DNS would not care, allow rules do. */
	EXPECT(p, "jwt", "{\"aud\":\"SUB.example.com\"}", "dev", "allow allow dom");
	EXPECT(p, "jwt", "{\"aud\":\"sub.EXAMPLE.com\"}", "dev", "ask default default");
	policy_free(p);
	/* Separators in other keys: github's owner-slash-star and jwt's word-colon-star keep working. */
	p = parse(NULL, "{\"allow\":[{\"id\":\"own\",\"kind\":\"github\",\"scope\":{\"repo\":\"acme/*\","
	    "\"permissions\":{\"contents\":\"read\"}}},{\"id\":\"words\",\"kind\":\"jwt\","
	    "\"scope\":{\"aud\":\"api\",\"scope\":[\"deploy:*\",\"read\"]}}]}");
	EXPECT(p, "github", "{\"repo\":[\"acme/a\",\"acme/b.js\"]}", "dev", "allow allow own");
	EXPECT(p, "github", "{\"repo\":\"evil/acme\"}", "dev", "ask default default");
	EXPECT(p, "jwt", "{\"aud\":\"api\",\"scope\":\"deploy:staging read\"}", "dev", "allow allow words");
	EXPECT(p, "jwt", "{\"aud\":\"api\",\"scope\":\"deploy:a:b\"}", "dev", "ask default default");
	policy_free(p);
	/*
	 * Deny and confirm keep the wide matcher: whatever they caught, they
	 * still catch -- '*' across '/', '@' and ':', ASCII case ignored, and
	 * a domain anywhere in the value.
	 */
	p = parse("{\"deny\":[{\"id\":\"evil\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"*evil*\"}},"
	    "{\"id\":\"acme\",\"kind\":\"github\",\"scope\":{\"repo\":\"acme/*\"}},"
	    "{\"id\":\"ex\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"*.example.com\"}},"
	    "{\"id\":\"corp\",\"kind\":\"jwt\",\"scope\":{\"aud\":\".corp.net\"}}]}", NULL);
	EXPECT(p, "jwt", "{\"aud\":\"https://x.net/EVIL/y\"}", "dev", "deny deny evil");
	EXPECT(p, "jwt", "{\"aud\":\"user@evil.net:443\"}", "dev", "deny deny evil");
	EXPECT(p, "github", "{\"repo\":\"ACME/widgets\"}", "dev", "deny deny acme");
	EXPECT(p, "jwt", "{\"aud\":\"https://a.b.example.com\"}", "dev", "deny deny ex");
	EXPECT(p, "jwt", "{\"aud\":\"attacker.net@x.example.com\"}", "dev", "deny deny ex");
	EXPECT(p, "jwt", "{\"aud\":\"corp.net\"}", "dev", "deny deny corp");
	EXPECT(p, "jwt", "{\"aud\":\"https://a.CORP.net:8443/x\"}", "dev", "deny deny corp");
	EXPECT(p, "jwt", "{\"aud\":\".corp.net\"}", "dev", "deny deny corp");
	EXPECT(p, "jwt", "{\"aud\":\"example.org\"}", "dev", "ask default default");
	policy_free(p);
}
END_TEST

/*
 * A glob where the kind's value is an object of names (github
 * "permissions") stands for every name's value: a deny on "write" is a
 * deny on any permission at write or above, a limit of "read" makes every
 * permission read at most.  Before, such a deny parsed and never matched.
 */
START_TEST(test_names_glob)
{
	struct policy *p;

	p = parse("{\"deny\":[{\"id\":\"no-write\",\"kind\":\"github\",\"scope\":{\"permissions\":\"write\"}}],"
	    "\"confirm\":[{\"id\":\"t\",\"kind\":\"github\",\"mode\":\"typed\",\"scope\":{\"permissions\":[\"admin\"]}}]}",
	    NULL);
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\",\"issues\":\"admin\"}}",
	    "dev", "deny deny no-write");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"pages\":\"write\"}}", "dev",
	    "deny deny no-write");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\",\"issues\":\"read\"}}",
	    "dev", "ask default default");
	policy_free(p);
	p = parse("{\"confirm\":[{\"id\":\"t\",\"kind\":\"github\",\"mode\":\"typed\","
	    "\"scope\":{\"permissions\":[\"admin\"]}}]}", NULL);
	{
		struct policy_decision d;

		decide_scope(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"administration\":\"admin\"}}",
		    "dev", &d);
		ck_assert_msg(d.typed, "%s", said(&d));
	}
	policy_free(p);
	/* As a limit: every permission within it. */
	p = parse("{\"limits\":{\"github\":{\"permissions\":\"read\"}}}",
	    "{\"allow\":[{\"id\":\"ro\",\"kind\":\"github\",\"scope\":{\"repo\":\"acme/*\","
	    "\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"}}}]}");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"read\",\"issues\":\"read\"}}",
	    "dev", "allow allow ro");
	EXPECT(p, "github", "{\"repo\":\"acme/x\",\"permissions\":{\"contents\":\"write\"}}",
	    "dev", "deny limits limits.github.permissions");
	policy_free(p);
}
END_TEST

/*
 * Sub-keys where the kind's values are not objects could never match: a
 * deny written so would be void.  Refused, naming the key.
 */
START_TEST(test_names_refused)
{
	static const char *const texts[] = {
		"{\"deny\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":{\"host\":\"evil\"}}}]}",
		"{\"deny\":[{\"scope\":{\"scope\":{\"x\":\"admin\"}}}]}",
		"{\"limits\":{\"github\":{\"repo\":{\"acme\":\"x\"}}}}",
	};
	/*
	 * ... and an allow rule names each permission it issues without a
	 * prompt: "read" of every one would be secrets, workflows and all.
	 */
	static const char *const allows[] = {
		"{\"allow\":[{\"kind\":\"github\",\"scope\":{\"repo\":\"a/b\",\"permissions\":\"read\"}}]}",
		"{\"allow\":[{\"kind\":\"github\",\"scope\":{\"repo\":\"a/b\",\"permissions\":[\"read\"]}}]}",
		"{\"allow\":[{\"kind\":\"github\",\"scope\":{\"repo\":\"a/b\",\"permissions\":\"${claims.ref}\"}}]}",
	};

	for (size_t i = 0; i < N(allows); i++) {
		char err[WRIT_ERRLEN] = "";
		struct policy *p = NULL;

		ck_assert_msg(policy_parse(allows[i], strlen(allows[i]), "ent", NULL, 0, "user", &p,
		    err) < 0, "accepted %s", allows[i]);
		ck_assert_msg(strstr(err, "allow[0].scope.permissions: an allow rule names each") != NULL,
		    "%s: '%s'", allows[i], err);
	}

	for (size_t i = 0; i < N(texts); i++) {
		char err[WRIT_ERRLEN] = "";
		struct policy *p = NULL;

		ck_assert_msg(policy_parse(texts[i], strlen(texts[i]), "ent", NULL, 0, "user", &p,
		    err) < 0, "accepted %s", texts[i]);
		ck_assert_msg(strstr(err, "values are not objects") != NULL, "%s: '%s'", texts[i], err);
	}
}
END_TEST

/*
 * A deny or confirm on a host catches the other spellings of that host a
 * looser allow rule would admit: a URL, a port, a user, a trailing dot.
 */
START_TEST(test_deny_host_spellings)
{
	static const char *const spellings[] = {
		"prod.example.com", "PROD.example.com", "prod.example.com.",
		"https://prod.example.com", "prod.example.com:443", "https://prod.example.com:443/x",
		"x@prod.example.com", "https://x@PROD.example.com.:8443",
		"prod.example.com/x://evil.net",	/* a "://" in the path is no scheme */
	};
	struct policy *p;

	p = parse("{\"deny\":[{\"id\":\"noprod\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"prod.example.com\"}}]}",
	    "{\"allow\":[{\"id\":\"ex\",\"kind\":\"jwt\",\"scope\":{\"aud\":[\"**\"]}}]}");
	for (size_t i = 0; i < N(spellings); i++) {
		char scope[128];

		snprintf(scope, sizeof(scope), "{\"aud\":\"%s\"}", spellings[i]);
		EXPECT(p, "jwt", scope, "dev", "deny deny noprod");
	}
	/* The host span itself: a scheme comes first. */
	{
		static const struct { const char *v, *host; } spans[] = {
			{ "prod.example.com/x://evil.net", "prod.example.com" },
			{ "https://u@a.example.com:1/x://b", "a.example.com" },
			{ "a.example.com?x://b", "a.example.com" },
			{ "u@a.example.com/x://b", "a.example.com" },
			{ "svc+x://a.example.com", "a.example.com" },
		};

		for (size_t i = 0; i < N(spans); i++) {
			size_t hs, he;

			policy_host_span(spans[i].v, &hs, &he);
			ck_assert_msg(he - hs == strlen(spans[i].host) &&
			    strncmp(spans[i].v + hs, spans[i].host, he - hs) == 0,
			    "%s: host '%.*s'", spans[i].v, (int)(he - hs), spans[i].v + hs);
		}
	}
	/* ... and no other host. */
	EXPECT(p, "jwt", "{\"aud\":\"https://prod.example.com.evil.net\"}", "dev", "allow allow ex");
	EXPECT(p, "jwt", "{\"aud\":\"a.prod.example.com\"}", "dev", "allow allow ex");
	EXPECT(p, "jwt", "{\"aud\":\"https://evil.net/prod.example.com\"}", "dev", "allow allow ex");
	policy_free(p);
}
END_TEST

START_TEST(test_patterns_refused)
{
	static const struct { const char *text, *says; } cases[] = {
		{ "{\"limits\":{\"github\":{\"permissions\":{\"contents\":\"wirte\"}}}}",
		  "'wirte' is not a level (read, write, admin)" },
		{ "{\"deny\":[{\"scope\":{\"permissions\":{\"contents\":\"none\"}}}]}", "not a level" },
		{ "{\"allow\":[{\"kind\":\"github\",\"scope\":{\"repo\":\".acme\"}}]}", "leading '.'" },
		{ "{\"limits\":{\"jwt\":{\"scope\":[\".read\"]}}}", "leading '.'" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\".*.example.com\"]}}}", "leading '.'" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"..example.com\"]}}}", "leading '.'" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\".example.com.\"]}}}", "leading '.'" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\".example.com/x\"]}}}", "leading '.'" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\".\"]}}}", "leading '.'" },
		/* a value the kind rewrites is never in a request: a void rule */
		{ "{\"deny\":[{\"scope\":{\"repo\":\"acme/secret.git\"}}]}",
		  "deny[0].scope.repo: 'acme/secret.git' is never in a github request: it is 'acme/secret'" },
		{ "{\"deny\":[{\"kind\":\"github\",\"scope\":{\"repo\":[\"acme/a\",\"Acme/Secret.GIT\"]}}]}",
		  "repo[1]: 'Acme/Secret.GIT' is never" },
		{ "{\"limits\":{\"github\":{\"repo\":\"acme/x.git\"}}}", "it is 'acme/x'" },
		{ "{\"allow\":[{\"kind\":\"github\",\"scope\":{\"repo\":\"acme/x.git\"}}]}", "it is 'acme/x'" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char err[WRIT_ERRLEN] = "";
		struct policy *p = NULL;

		ck_assert_msg(policy_parse(cases[i].text, strlen(cases[i].text), "ent", NULL, 0,
		    "user", &p, err) < 0, "accepted %s", cases[i].text);
		ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: '%s' lacks '%s'",
		    cases[i].text, err, cases[i].says);
	}
	/* Case alone is no rewrite a deny misses (its globs ignore case): still fine. */
	{
		struct policy *p = parse("{\"deny\":[{\"id\":\"s\",\"scope\":{\"repo\":\"Acme/Secret\"}}]}", NULL);

		EXPECT(p, "github", "{\"repo\":\"acme/secret.git\"}", "dev", "deny deny s");
		policy_free(p);
	}
}
END_TEST

/* Lint findings, joined by newlines. */
static void
collect(void *arg, enum policy_layer_id layer, const char *msg)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(buf + len, 4096 - len, "%s: %s\n", layer == POLICY_ENTERPRISE ? "ent" : "user", msg);
}

START_TEST(test_lint)
{
	static const struct { const char *text; size_t n; const char *says; } cases[] = {
		/* exe alone is no narrowing; with session, workspace, uid or claims it is */
		{ "{\"allow\":[{\"id\":\"x\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/usr/bin/curl\"}]}",
		  1, "allow[0] (x): relies on 'exe' alone" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/usr/bin/curl\",\"session\":\"*\"}]}",
		  1, "allow[0]: relies on 'exe' alone" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/usr/bin/curl\",\"session\":\"dev\"}]}",
		  0, "" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/usr/bin/curl\",\"uid\":1000}]}",
		  0, "" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/x\",\"workspace\":\"/home/*\"}]}",
		  0, "" },
		/* a workspace of every path narrows nothing either */
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/x\",\"workspace\":\"/*\"}]}",
		  1, "relies on 'exe' alone" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/x\",\"workspace\":\"/**/*\"}]}",
		  1, "relies on 'exe' alone" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"a\"},\"exe\":\"/x\","
		  "\"session\":{\"claims\":{\"repository\":\"acme/x\"}}}]}", 0, "" },
		/* deny rules are not linted: wide is their safe side */
		{ "{\"deny\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"*\"},\"exe\":\"/x\"}]}", 0, "" },
		/* patterns that admit more than they seem to */
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"localhost*\"]}}}", 1,
		  "limits.jwt.aud: \"localhost*\": a wildcard ending a host" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"https://api.example.*/x\"]}}}", 1, "ending a host" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"user@api.example.?:443\"]}}}", 1, "ending a host" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"*example.com\"]}}}", 1, "use \".example.com\"" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"*\"}}]}", 1,
		  "allow[0].scope.aud: \"*\" admits every value" },
		{ "{\"limits\":{\"github\":{\"repo\":[\"**\"]}}}", 1, "admits every value" },
		{ "{\"limits\":{\"github\":{\"permissions\":{\"contents\":\"*\"}}}}", 1,
		  "limits.github.permissions.contents: \"*\" admits every value" },
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"https://api.example.com/**\"]}}}", 1, "'**'" },
		{ "{\"allow\":[{\"kind\":\"jwt\",\"scope\":{\"aud\":\"x\",\"scope\":[\"a\",\"*\"]}}]}", 1,
		  "allow[0].scope.scope: \"*\"" },
		/* fine: one label, a domain, ports, github owners, words */
		{ "{\"limits\":{\"jwt\":{\"aud\":[\"*.example.com\",\".example.com\",\"localhost:*\","
		  "\"https://*.example.com/v1/*\",\"ci\"],\"scope\":[\"deploy:*\"]},"
		  "\"github\":{\"repo\":\"acme/*\",\"permissions\":{\"contents\":\"write\"}}}}", 0, "" },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char buf[4096] = "";
		struct policy *p = parse(cases[i].text, NULL);
		size_t n = policy_lint(p, collect, buf);

		ck_assert_msg(n == cases[i].n && strstr(buf, cases[i].says) != NULL,
		    "%s: %zu findings, want %zu with '%s':\n%s", cases[i].text, n, cases[i].n,
		    cases[i].says, buf);
		policy_free(p);
	}
	/* The examples shipped are clean. */
	{
		static const char *const files[] = { "policy/examples/ci.json",
		    "policy/examples/developer.json", "policy/examples/enterprise-strict.json" };

		for (size_t i = 0; i < N(files); i++) {
			FILE *f = fopen(files[i], "r");
			char text[8192], buf[4096] = "";
			size_t n;
			struct policy *p;

			ck_assert_ptr_nonnull(f);
			n = fread(text, 1, sizeof(text) - 1, f);
			fclose(f);
			text[n] = '\0';
			p = parse(text, NULL);
			ck_assert_msg(policy_lint(p, collect, buf) == 0, "%s:\n%s", files[i], buf);
			policy_free(p);
		}
	}
}
END_TEST

/*
 * The "stays within" matcher against a plain recursive reference, and
 * never wider than the deny matcher (so narrowing '*' for allow rules and
 * limits can only ever admit less than before).
 */
static bool
ref_within(const char *g, const char *v, const char *start, size_t hs, size_t he)
{
	size_t at = (size_t)(v - start);
	bool sep = *v != '\0' && (strchr("/@:?", *v) != NULL || (*v == '.' && at >= hs && at < he));

	if (*g == '\0')
		return *v == '\0';
	if (g[0] == '*' && g[1] == '*')
		return ref_within(g + 2, v, start, hs, he) ||
		    (*v != '\0' && ref_within(g, v + 1, start, hs, he));
	if (*g == '*')
		return ref_within(g + 1, v, start, hs, he) ||
		    (*v != '\0' && !sep && ref_within(g, v + 1, start, hs, he));
	if (*v == '\0')
		return false;
	return (*g == '?' ? !sep : *g == *v) && ref_within(g + 1, v + 1, start, hs, he);
}

START_TEST(test_property_within)
{
	unsigned int hits = 0;

	for (int n = 0; n < 50000; n++) {
		char g[10], v[12];
		bool host = randombytes_uniform(2), w, empty = false;
		size_t hs = 0, he = 0;

		rand_str(g, 1 + randombytes_uniform(8), "aa.**?/:@");
		rand_str(v, randombytes_uniform(11), "aaaA./:@");
		if (host) {
			policy_host_span(v, &hs, &he);
			/* an empty first label: no wildcard stands for it */
			empty = he > hs && v[hs] == '.' && strpbrk(g, "*?") != NULL;
			he += strcspn(v + he, "/?");
		}
		w = policy_glob_within(g, v, host);
		ck_assert_msg(w == (ref_within(g, v, v, hs, host ? he : 0) && !empty), "%s ~%s %s", g,
		    host ? "host" : "", v);
		if (w)
			ck_assert_msg(policy_glob(g, v, false), "within wider than glob: %s %s", g, v);
		hits += w;
	}
	ck_assert_uint_gt(hits, 1000);
	/* A long value goes through the allocated row. */
	{
		char g[8] = "a*b", v[2000];

		memset(v, 'x', sizeof(v) - 1);
		v[0] = 'a';
		v[sizeof(v) - 2] = 'b';
		v[sizeof(v) - 1] = '\0';
		ck_assert(policy_glob_within(g, v, false));
		v[100] = '/';
		ck_assert(!policy_glob_within(g, v, false));
		ck_assert(policy_glob_within("a**b", v, false));
	}
}
END_TEST

/*
 * Policy knows kinds by their grammars (kind_grammars[]), writd by their
 * vtables (writ_kinds[]), and config and the sessions' counts index both
 * alike: the two lists must name the same kinds in the same order, each
 * kind pointing at its own grammar.
 */
START_TEST(test_grammars_match_kinds)
{
	size_t i;

	for (i = 0; writ_kinds[i] != NULL; i++) {
		ck_assert_ptr_nonnull(kind_grammars[i]);
		ck_assert_ptr_eq(writ_kinds[i]->grammar, kind_grammars[i]);
		ck_assert_str_eq(writ_kinds[i]->name, kind_grammars[i]->name);
		ck_assert_ptr_eq(grammar_find(writ_kinds[i]->name), kind_grammars[i]);
	}
	ck_assert_ptr_null(kind_grammars[i]);
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
	tcase_add_test(tc, test_property_glob);
	tcase_add_test(tc, test_property_reference);
	tcase_add_test(tc, test_property_enterprise_deny_wins);
	tcase_add_test(tc, test_claims_table);
	tcase_add_test(tc, test_claims_more);
	tcase_add_test(tc, test_claims_refused);
	tcase_add_test(tc, test_claims_clean);
	tcase_add_test(tc, test_omitted_key);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_hosts);
	tcase_add_test(tc, test_patterns_refused);
	tcase_add_test(tc, test_names_glob);
	tcase_add_test(tc, test_names_refused);
	tcase_add_test(tc, test_deny_host_spellings);
	tcase_add_test(tc, test_lint);
	tcase_add_test(tc, test_property_within);
	tcase_add_test(tc, test_grammars_match_kinds);
	suite_add_tcase(s, tc);
	return s;
}
