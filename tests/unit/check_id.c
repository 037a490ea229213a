/* check_id.c - the shape of an id and of a secret name, the one check each that every module uses. */
#include <string.h>

#include "id.h"
#include "check.h"

START_TEST(test_valid)
{
	char id[WRIT_ID_LEN + 1];

	ck_assert(id_valid("0123456789abcdef0123456789abcdef"));
	memset(id, 'f', WRIT_ID_LEN);
	id[WRIT_ID_LEN] = '\0';
	ck_assert(id_valid(id));
}
END_TEST

START_TEST(test_refused)
{
	/* Short, long, an id and more, upper case, not hex, a path, empty, NULL. */
	ck_assert(!id_valid("0123456789abcdef0123456789abcde"));
	ck_assert(!id_valid("0123456789abcdef0123456789abcdef0"));
	ck_assert(!id_valid("0123456789abcdef0123456789abcdef/../x"));
	ck_assert(!id_valid("0123456789ABCDEF0123456789abcdef"));
	ck_assert(!id_valid("0123456789abcdef0123456789abcdeg"));
	ck_assert(!id_valid("../3456789abcdef0123456789abcdef"));
	ck_assert(!id_valid("0123456789abcdef\n123456789abcdef"));
	ck_assert(!id_valid(""));
	ck_assert(!id_valid(NULL));
}
END_TEST

START_TEST(test_secret_names)
{
	char name[WRIT_MAX_SECRET_NAME + 2];

	ck_assert(secret_name_valid("ssh-ca"));
	ck_assert(secret_name_valid("jwt-signing-key"));
	ck_assert(secret_name_valid("A.b_c-9"));
	memset(name, 'a', WRIT_MAX_SECRET_NAME);
	name[WRIT_MAX_SECRET_NAME] = '\0';
	ck_assert(secret_name_valid(name));
	/* One too long, empty, a leading dot, a path, a space, a newline, NULL. */
	name[WRIT_MAX_SECRET_NAME] = 'a';
	name[WRIT_MAX_SECRET_NAME + 1] = '\0';
	ck_assert(!secret_name_valid(name));
	ck_assert(!secret_name_valid(""));
	ck_assert(!secret_name_valid(".hidden"));
	ck_assert(!secret_name_valid("a/b"));
	ck_assert(!secret_name_valid("../x"));
	ck_assert(!secret_name_valid("a b"));
	ck_assert(!secret_name_valid("a\n"));
	ck_assert(!secret_name_valid(NULL));
}
END_TEST

Suite *
id_suite(void)
{
	Suite *s = suite_create("id");
	TCase *tc = tcase_create("shape");

	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_secret_names);
	suite_add_tcase(s, tc);
	return s;
}
