/* check_route.c - the API's routes and query arguments. */
#include <string.h>

#include "errors.h"
#include "../../broker/route.h"
#include "check.h"

#define H "0123456789abcdef0123456789abcdef"
#define A(k, v) { k, sizeof(k) - 1, v, sizeof(v) - 1 }

static int
find(unsigned int where, const char *method, const char *path, const struct route_arg *args,
    size_t n, struct route_call *rc)
{
	char err[WRIT_ERRLEN];
	int r = route_find(where, method, path, args, n, 300, rc, err);

	if (r == WRIT_ENOTFOUND || r == WRIT_EBADREQ)
		ck_assert(err[0] != '\0');
	return r;
}

START_TEST(test_paths)
{
	struct route_call rc;

	ck_assert_int_eq(find(ROUTE_SESSION, "GET", "/v1/health", NULL, 0, &rc), 0);
	ck_assert_int_eq(rc.id, ROUTE_HEALTH);
	ck_assert_str_eq(rc.arg, "");
	ck_assert_int_eq(find(ROUTE_ADMIN, "DELETE", "/v1/writs/" H, NULL, 0, &rc), 0);
	ck_assert_int_eq(rc.id, ROUTE_WRIT_DELETE);
	ck_assert_str_eq(rc.arg, H);
	ck_assert_int_eq(find(ROUTE_ADMIN, "POST", "/v1/requests/" H "/deny", NULL, 0, &rc), 0);
	ck_assert_int_eq(rc.id, ROUTE_DENY);
	ck_assert_int_eq(find(ROUTE_ADMIN, "PUT", "/v1/secrets/github-app.key", NULL, 0, &rc), 0);
	ck_assert_int_eq(rc.id, ROUTE_SECRET_PUT);
	ck_assert_str_eq(rc.arg, "github-app.key");
	/* "revoke" is no id: its own route, with no argument. */
	ck_assert_int_eq(find(ROUTE_SESSION, "POST", "/v1/writs/revoke", NULL, 0, &rc), 0);
	ck_assert_int_eq(rc.id, ROUTE_WRIT_REVOKE_TOKEN);
	ck_assert_str_eq(rc.arg, "");

	/* The admin's routes do not exist on a session socket. */
	ck_assert_int_eq(find(ROUTE_SESSION, "GET", "/v1/sessions", NULL, 0, &rc), WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_SESSION, "POST", "/v1/requests/" H "/approve", NULL, 0, &rc),
	    WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_ADMIN, "POST", "/v1/writs", NULL, 0, &rc), WRIT_EMETHOD);
	ck_assert_int_eq(find(ROUTE_SESSION, "PUT", "/v1/writs", NULL, 0, &rc), WRIT_EMETHOD);
	ck_assert_int_eq(find(ROUTE_ADMIN, "DELETE", "/v1/writs/" H "0", NULL, 0, &rc),
	    WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_ADMIN, "DELETE", "/v1/writs/0123456789ABCDEF0123456789abcdef",
	    NULL, 0, &rc), WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_ADMIN, "DELETE", "/v1/writs/../../admin", NULL, 0, &rc),
	    WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/secrets/.hidden", NULL, 0, &rc),
	    WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/secrets/a/b", NULL, 0, &rc), WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/health/", NULL, 0, &rc), WRIT_ENOTFOUND);
}
END_TEST

START_TEST(test_query)
{
	static const struct route_arg req[] = { A("wait", "300"), A("after", "9007199254740992"),
	    A("instance", H) };
	static const struct route_arg audit[] = { A("session", H), A("tail", "00007"),
	    A("after", "4611686018427387904") };
	struct route_call rc;

	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/audit", NULL, 0, &rc), 0);
	ck_assert(rc.tail == 20 && rc.after == 0 && rc.session == NULL);
	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/requests", req, 3, &rc), 0);
	ck_assert(rc.wait == 300 && rc.after == 1LL << 53 && strcmp(rc.instance, H) == 0);
	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/audit", audit, 3, &rc), 0);
	ck_assert(rc.tail == 7 && rc.after == 1LL << 62 && strcmp(rc.session, H) == 0);
}
END_TEST

START_TEST(test_query_refused)
{
	static const struct { const char *path; struct route_arg a[2]; size_t n; } cases[] = {
		{ "/v1/requests", { A("wait", "301") }, 1 },			/* over max_wait */
		{ "/v1/requests", { A("after", "9007199254740993") }, 1 },
		{ "/v1/audit", { A("after", "4611686018427387905") }, 1 },
		{ "/v1/audit", { A("tail", "100001") }, 1 },
		{ "/v1/audit", { A("tail", "9999999999999999999") }, 1 },	/* past 64 bits */
		{ "/v1/audit", { A("tail", "99999999999999999999") }, 1 },
		{ "/v1/audit", { A("tail", "-1") }, 1 },
		{ "/v1/audit", { A("tail", "+1") }, 1 },
		{ "/v1/audit", { A("tail", " 1") }, 1 },
		{ "/v1/audit", { A("tail", "") }, 1 },
		{ "/v1/audit", { { "tail", 4, NULL, 0 } }, 1 },			/* ?tail */
		{ "/v1/audit", { A("tail", "1\0") }, 1 },			/* tail=1%00 */
		{ "/v1/audit", { A("tail", "1"), A("tail", "1") }, 2 },
		{ "/v1/audit", { A("tail\0x", "1") }, 1 },			/* tail%00x=1 */
		{ "/v1/audit", { A("wait", "1") }, 1 },				/* not audit's */
		{ "/v1/audit", { A("session", H "\0") }, 1 },
		{ "/v1/audit", { A("session", "0123456789ABCDEF0123456789abcdef") }, 1 },
		{ "/v1/requests", { A("instance", "yesterday") }, 1 },
		{ "/v1/requests", { A("session", H) }, 1 },
		{ "/v1/health", { A("x", "") }, 1 },
	};
	struct route_arg many[ROUTE_MAX_ARGS + 1];
	struct route_call rc, untouched;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&rc, 0x5a, sizeof(rc));
		untouched = rc;
		ck_assert_msg(find(ROUTE_ADMIN, "GET", cases[i].path, cases[i].a, cases[i].n, &rc) ==
		    WRIT_EBADREQ, "case %zu accepted", i);
		ck_assert(memcmp(&rc, &untouched, sizeof(rc)) == 0);
	}
	for (size_t i = 0; i < ROUTE_MAX_ARGS + 1; i++)
		many[i] = (struct route_arg)A("x", "1");
	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/audit", many, ROUTE_MAX_ARGS + 1, &rc),
	    WRIT_EBADREQ);
	/* The path is checked first: 404 and 405 whatever the query. */
	ck_assert_int_eq(find(ROUTE_ADMIN, "GET", "/v1/nope", cases[0].a, 1, &rc), WRIT_ENOTFOUND);
	ck_assert_int_eq(find(ROUTE_ADMIN, "PUT", "/v1/audit", cases[0].a, 1, &rc), WRIT_EMETHOD);
}
END_TEST

Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");

	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_query_refused);
	suite_add_tcase(s, tc);
	return s;
}
