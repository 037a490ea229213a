/*
 * check_order.c - a MINT order, checked again by the minter (order.c), as
 * a compromised front end would send it.
 */
#include <string.h>

#include "../../broker/config.h"
#include "../../broker/minter/order.h"
#include "../../policy/policy.h"
#include "check.h"

static const char SID[] = "0123456789abcdef0123456789abcdef";

/* A well-formed order for a jwt writ of aud (words: a JSON array or NULL). */
static struct mint_order
order(json_t *scope, int64_t ttl)
{
	return (struct mint_order){ .req = { .kind = "jwt", .scope = scope, .ttl = ttl,
	    .session = "dev", .uid = 1000, .exe = "/usr/bin/git" }, .session_id = SID };
}

static struct policy *
enterprise(const char *text)
{
	char err[WRIT_ERRLEN] = "";
	struct policy *p = NULL;

	ck_assert_msg(policy_parse(text, strlen(text), "ent", NULL, 0, "user", &p, err) == 0,
	    "%s", err);
	return p;
}

/* Check o; the code, with the scope copy dropped. */
static int
check(const struct mint_order *o, const struct policy *limits, char err[WRIT_ERRLEN])
{
	static struct config cfg;
	const struct writ_kind *k = NULL;
	json_t *scope = NULL;
	int r;

	config_defaults(&cfg);
	err[0] = '\0';
	r = order_check(o, &cfg, limits, &k, &scope, err);
	if (r == 0) {
		ck_assert_ptr_nonnull(k);
		ck_assert(json_equal(scope, o->req.scope));
		ck_assert_ptr_ne(scope, o->req.scope);	/* the minter's own copy */
	} else
		ck_assert_ptr_null(scope);
	json_decref(scope);
	return r;
}

START_TEST(test_good)
{
	json_t *scope = json_pack("{ss}", "aud", "api.example.com");
	struct mint_order o = order(scope, 600);
	char err[WRIT_ERRLEN];

	ck_assert_int_eq(check(&o, NULL, err), 0);
	o.approval = SID;
	o.pid = 42;
	o.cap = 1;
	ck_assert_int_eq(check(&o, NULL, err), 0);
	json_decref(scope);
}
END_TEST

/* Each field out of what an honest front end sends: refused, with its code. */
START_TEST(test_refused)
{
	json_t *good = json_pack("{ss}", "aud", "api.example.com");
	json_t *unsorted = json_pack("{ss s[ss]}", "aud", "a", "scope", "write", "read");
	json_t *unknown = json_pack("{ss ss}", "aud", "a", "colour", "red");
	json_t *dots = json_pack("{ss}", "aud", "a/../b");
	json_t *notobj = json_string("a");
	json_t *claims = json_string("x");
	char err[WRIT_ERRLEN];
	struct mint_order o;

	o = order(good, 600);
	o.req.kind = "jwtx";
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EKIND);
	o.req.kind = NULL;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EKIND);
	/* Scopes: not canonical, not the grammar's, not an object, absent. */
	o = order(unsorted, 600);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ESCOPE);
	ck_assert_ptr_nonnull(strstr(err, "canonical"));
	/* NB. the grammar's own reason is kept: it says what to fix. */
	o = order(unknown, 600);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ESCOPE);
	ck_assert_msg(strstr(err, "jwt's grammar") != NULL && strstr(err, "colour") != NULL,
	    "%s", err);
	o = order(dots, 600);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ESCOPE);
	ck_assert_msg(strstr(err, "jwt's grammar") != NULL && strstr(err, "'..'") != NULL,
	    "%s", err);
	o = order(notobj, 600);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ESCOPE);
	ck_assert_ptr_nonnull(strstr(err, "not a JSON object"));
	o = order(NULL, 600);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ESCOPE);
	/* TTLs: the kind's max_ttl (config's default 1h) and no less than a second. */
	o = order(good, 3600);
	ck_assert_int_eq(check(&o, NULL, err), 0);
	o = order(good, 3601);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ETTLMAX);
	o = order(good, 0);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ETTL);
	o = order(good, -5);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ETTL);
	o = order(good, INT64_MAX);
	ck_assert_int_eq(check(&o, NULL, err), WRIT_ETTLMAX);
	/* Ids, names, numbers. */
	o = order(good, 600);
	o.session_id = "0123456789ABCDEF0123456789abcdef";
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	o.session_id = NULL;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	o = order(good, 600);
	o.approval = "../../etc/passwd";
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	static const char *const names[] = { "", "../x", "-x", ".x", "a b", "a\nb", "\xc3\xa9",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL };
	for (size_t i = 0; names[i] != NULL; i++) {
		o = order(good, 600);
		o.req.session = names[i];
		ck_assert_msg(check(&o, NULL, err) == WRIT_EBADREQ, "name %zu", i);
	}
	o = order(good, 600);
	o.req.session = NULL;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	o = order(good, 600);
	o.pid = -1;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	o = order(good, 600);
	o.cap = -1;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	o = order(good, 600);
	o.req.claims = claims;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	o = order(good, 600);
	o.identity = claims;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	o = order(good, 600);
	o.req.exe = NULL;
	ck_assert_int_eq(check(&o, NULL, err), WRIT_EBADREQ);
	json_decref(good);
	json_decref(unsorted);
	json_decref(unknown);
	json_decref(dots);
	json_decref(notobj);
	json_decref(claims);
}
END_TEST

/*
 * The enterprise layer, decided again: its deny rules and limits refuse;
 * its default "deny" does not (a user allow rule may have allowed it).
 */
START_TEST(test_enterprise)
{
	struct policy *ent = enterprise(
	    "{\"deny\":[{\"id\":\"no-admin\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"*admin*\"}},"
	    "          {\"id\":\"no-ci\",\"session\":\"ci-*\",\"scope\":{\"aud\":\"prod\"}}],"
	    " \"limits\":{\"jwt\":{\"max_ttl\":\"10m\"},\"session\":{\"max_live\":2}},"
	    " \"default\":\"deny\"}");
	json_t *admin = json_pack("{ss}", "aud", "admin.example.com");
	json_t *prod = json_pack("{ss}", "aud", "prod");
	json_t *ok = json_pack("{ss}", "aud", "api.example.com");
	char err[WRIT_ERRLEN];
	struct mint_order o;

	o = order(admin, 60);
	ck_assert_int_eq(check(&o, ent, err), WRIT_EPOLICY);
	ck_assert_ptr_nonnull(strstr(err, "no-admin"));
	ck_assert_int_eq(check(&o, NULL, err), 0);
	o = order(ok, 601);
	ck_assert_int_eq(check(&o, ent, err), WRIT_EPOLICY);
	ck_assert_ptr_nonnull(strstr(err, "limits"));
	o = order(ok, 600);
	ck_assert_int_eq(check(&o, ent, err), 0);
	o.req.live = 2;
	ck_assert_int_eq(check(&o, ent, err), WRIT_EPOLICY);
	/* Decided on what the order says: its session. */
	o = order(prod, 60);
	ck_assert_int_eq(check(&o, ent, err), 0);
	o.req.session = "ci-7";
	ck_assert_int_eq(check(&o, ent, err), WRIT_EPOLICY);
	policy_free(ent);
	json_decref(admin);
	json_decref(prod);
	json_decref(ok);
}
END_TEST

/*
 * An enterprise that lets no user rule allow ("user_allow": false): its
 * allow rules are the only way past a person, so its layer alone decides
 * what needs one.  Its default "deny" is then the enterprise's word (no
 * user allow can stand), and its "ask" means an approval must be named.
 */
START_TEST(test_enterprise_allowlist)
{
	struct policy *deny = enterprise(
	    "{\"allow\":[{\"id\":\"only\",\"kind\":\"jwt\",\"scope\":{\"aud\":\"api.example.com\"}}],"
	    " \"user_allow\":false, \"default\":\"deny\"}");
	struct policy *ask = enterprise("{\"user_allow\":false}");
	struct policy *open = enterprise("{\"default\":\"deny\"}");
	json_t *ok = json_pack("{ss}", "aud", "api.example.com");
	json_t *other = json_pack("{ss}", "aud", "other.example.com");
	char err[WRIT_ERRLEN];
	struct mint_order o;

	o = order(ok, 60);
	ck_assert_int_eq(check(&o, deny, err), 0);
	o = order(other, 60);
	ck_assert_msg(check(&o, deny, err) == WRIT_EPOLICY,
	    "an enterprise allowlist (user_allow false, default deny) is not applied");
	o.approval = SID;
	ck_assert_int_eq(check(&o, deny, err), WRIT_EPOLICY);
	/* Default ask, no user allow: a person must have approved it. */
	o = order(other, 60);
	ck_assert_msg(check(&o, ask, err) == WRIT_EPOLICY,
	    "no approval named where only a person could allow it");
	o.approval = SID;
	ck_assert_int_eq(check(&o, ask, err), 0);
	/* A user allow may stand: the enterprise default deny is not its word. */
	o = order(other, 60);
	ck_assert_int_eq(check(&o, open, err), 0);
	policy_free(deny);
	policy_free(ask);
	policy_free(open);
	json_decref(ok);
	json_decref(other);
}
END_TEST

Suite *
order_suite(void)
{
	Suite *s = suite_create("order");
	TCase *tc = tcase_create("check");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_enterprise);
	tcase_add_test(tc, test_enterprise_allowlist);
	suite_add_tcase(s, tc);
	return s;
}
