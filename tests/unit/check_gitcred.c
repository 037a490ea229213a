/* check_gitcred.c - git's credential protocol, as git-credential-writ reads it. */
#include <stdlib.h>
#include <string.h>

#include "../../agent-side/gitcred.h"
#include "check.h"

/* Parse len bytes of text: 0 and *c, or -1 (checking there is a message). */
static int
parse(const char *text, size_t len, struct gitcred *c, char **ret_buf)
{
	char *buf = malloc(len + 1);
	const char *why = NULL;
	int r;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, text, len);
	memset(c, 0, sizeof(*c));
	r = gitcred_parse(c, buf, len, &why);
	if (r < 0)
		ck_assert(why != NULL && why[0] != '\0');
	*ret_buf = buf;
	return r;
}

START_TEST(test_block)
{
	static const char in[] = "capability[]=authtype\nprotocol=https\nhost=github.com\n"
	    "path=acme/repo.git\nusername=x\npassword=ghs_x=y\nwwwauth[]=Basic realm=\"GitHub\"\n"
	    "\npath=after/the/blank\n";
	struct gitcred c;
	char *buf;

	ck_assert_int_eq(parse(in, sizeof(in) - 1, &c, &buf), 0);
	ck_assert_str_eq(c.protocol, "https");
	ck_assert_str_eq(c.host, "github.com");
	ck_assert_str_eq(c.path, "acme/repo.git");	/* the blank line ended the block */
	ck_assert_str_eq(c.password, "ghs_x=y");
	free(buf);
	/* No newline at the end, nothing at all. */
	ck_assert_int_eq(parse("host=h", 6, &c, &buf), 0);
	ck_assert_str_eq(c.host, "h");
	ck_assert_ptr_null(c.path);
	free(buf);
	ck_assert_int_eq(parse("", 0, &c, &buf), 0);
	ck_assert_ptr_null(c.host);
	free(buf);
}
END_TEST

START_TEST(test_refused)
{
	static const struct { const char *in; size_t len; } cases[] = {
#define C(s) { s, sizeof(s) - 1 }
		C("protocol=https\r\nhost=github.com\n"),
		C("protocol=https\nhost=github.com\0evil\n"),
		C("host=github.com\nhost=evil.example\n"),
		C("path=a\npath=b\n"),
		C("password=a\npassword=b\n"),
		C("protocol=https\nnoequals\n"),
		C("=value\n"),
#undef C
	};
	struct gitcred c;
	char *buf;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].in, cases[i].len, &c, &buf) == -1, "case %zu", i);
		free(buf);
	}
}
END_TEST

/* The bounds: a line of GITCRED_MAX_LINE bytes with its newline, and no more. */
START_TEST(test_bounds)
{
	size_t n = GITCRED_MAX_INPUT;
	char *in = malloc(n), *buf;
	struct gitcred c;

	ck_assert_ptr_nonnull(in);
	memcpy(in, "path=", 5);
	memset(in + 5, 'a', GITCRED_MAX_LINE - 6);
	in[GITCRED_MAX_LINE - 1] = '\n';
	ck_assert_int_eq(parse(in, GITCRED_MAX_LINE, &c, &buf), 0);
	ck_assert_uint_eq(strlen(c.path), GITCRED_MAX_LINE - 6);
	free(buf);
	in[GITCRED_MAX_LINE - 1] = 'a';
	in[GITCRED_MAX_LINE] = '\n';
	ck_assert_int_eq(parse(in, GITCRED_MAX_LINE + 1, &c, &buf), -1);
	free(buf);
	/* Input that fills the whole read is refused, whatever it holds. */
	memset(in, '\n', n);
	ck_assert_int_eq(parse(in, n - 1, &c, &buf), 0);
	free(buf);
	ck_assert_int_eq(parse(in, n, &c, &buf), -1);
	free(buf);
	free(in);
}
END_TEST

Suite *
gitcred_suite(void)
{
	Suite *s = suite_create("gitcred");
	TCase *tc = tcase_create("reader");

	tcase_add_test(tc, test_block);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}
