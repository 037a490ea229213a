/* check_libwrit.c - the agent side's reading of writd's answers. */
#include <stdlib.h>
#include <string.h>

#include "../../agent-side/libwrit.h"
#include "check.h"

/* Parse text as an answer read from the socket: the code, and *ret. */
static int
parse(const char *text, size_t len, struct writ_resp *ret)
{
	char *buf = malloc(len + 1);
	int r;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(ret, 0, sizeof(*ret));
	r = writ_parse_response(buf, len, ret);
	free(buf);
	if (r != 0)
		ck_assert_ptr_null(ret->body);
	return r;
}

#define P(s, ret) parse(s, sizeof(s) - 1, ret)

START_TEST(test_good)
{
	struct writ_resp r;

	ck_assert_int_eq(P("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Content-Length: 11\r\n\r\n{\"id\":\"x\"}\n", &r), 0);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(json_string_value(json_object_get(r.body, "id")), "x");
	writ_resp_free(&r);
	/* Without a length: the body runs to EOF (Connection: close). */
	ck_assert_int_eq(P("HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n{\"a\":1}", &r), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(r.body, "a")), 1);
	writ_resp_free(&r);
	/* A reason phrase is optional; so is a body. */
	ck_assert_int_eq(P("HTTP/1.1 204\r\nContent-Length: 0\r\n\r\n", &r), 0);
	ck_assert_int_eq(r.status, 204);
	ck_assert_ptr_null(r.body);
	ck_assert_int_eq(P("HTTP/1.1 429 Too Many\r\nretry-after:  7 \r\nContent-Length: 2\r\n"
	    "Content-Length: 2\r\n\r\n{}", &r), 0);
	ck_assert_int_eq(r.retry_after, 7);
	writ_resp_free(&r);
}
END_TEST

START_TEST(test_refused)
{
	static const struct { const char *text; size_t len; int code; } cases[] = {
#define C(s, code) { s, sizeof(s) - 1, code }
		C("HTTP/1.1 200 OK\r\n", WRIT_HTTP_EPROTO),		/* no end of head */
		C("HTTP/2 200 OK\r\n\r\n", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 803 OK\r\n\r\n", WRIT_HTTP_EPROTO),	/* fuzz_response */
		C("HTTP/1.1 099 OK\r\n\r\n", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 2000 OK\r\n\r\n", WRIT_HTTP_EPROTO),
		C("HTTP/1.1x200 OK\r\n\r\n", WRIT_HTTP_EPROTO),
		C("HTTP/1.x 200 OK\r\n\r\n", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 20\r\n\r\n", WRIT_HTTP_EPROTO),
		/* A NUL in the head hid the headers after it from the parser. */
		C("HTTP/1.1 200 OK\r\nX: \0\r\nTransfer-Encoding: chunked\r\n\r\n{}", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: \0\r\nContent-Length: 3\r\n\r\n{} ",
		    WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		    WRIT_HTTP_EPROTO),
		/* A length that is not one, or two that differ: where the body ends is a guess. */
		C("HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n{}",
		    WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n{}", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 0\r\n\r\n{}",
		    WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}", WRIT_HTTP_EIO),
		C("HTTP/1.1 200 OK\r\n\r\n{\"a\":", WRIT_HTTP_EPROTO),
		C("HTTP/1.1 200 OK\r\n\r\n{\"a\":1,\"a\":2}", WRIT_HTTP_EPROTO),
#undef C
	};
	struct writ_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(parse(cases[i].text, cases[i].len, &r) == cases[i].code,
		    "case %zu: not refused with %d", i, cases[i].code);
}
END_TEST

/* Retry-After is advice: seconds only, at most WRIT_MAX_RETRY_AFTER, else none. */
START_TEST(test_retry_after)
{
	static const struct { const char *value; int want; } cases[] = {
		{ "1", 1 }, { "3600", 3600 }, { "3601", 0 }, { "-5", 0 }, { "99999999999", 0 },
		{ "Fri, 31 Dec 1999 23:59:59 GMT", 0 }, { "5s", 0 }, { "", 0 },
	};
	char text[256];
	struct writ_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(text, sizeof(text), "HTTP/1.1 429 Busy\r\nRetry-After: %s\r\n"
		    "Content-Length: 2\r\n\r\n{}", cases[i].value);

		ck_assert_int_eq(parse(text, (size_t)n, &r), 0);
		ck_assert_msg(r.retry_after == cases[i].want, "Retry-After: %s gave %d",
		    cases[i].value, r.retry_after);
		writ_resp_free(&r);
	}
}
END_TEST

Suite *
libwrit_suite(void)
{
	Suite *s = suite_create("libwrit");
	TCase *tc = tcase_create("response");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_retry_after);
	suite_add_tcase(s, tc);
	return s;
}
