/* check_audit.c - the audit chain: format and scan. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "../../broker/audit.h"
#include "check.h"

static unsigned char key[32];

/* A log of n records, each line's offset in offs. */
static size_t
make_log(char *buf, size_t size, int n, size_t offs[])
{
	unsigned char prev[32] = { 0 }, mac[32];
	size_t len = 0;

	for (int i = 1; i <= n; i++) {
		char body[128];

		snprintf(body, sizeof(body), "{\"event\":\"e%d\",\"seq\":%d,\"time\":1}", i, i);
		offs[i - 1] = len;
		len += audit_format(key, prev, body, buf + len, size - len, mac);
		memcpy(prev, mac, 32);
	}
	return len;
}

START_TEST(test_good)
{
	char buf[8192];
	size_t offs[8];
	struct audit_scan sc = { 0 };
	size_t len;

	memset(key, 7, sizeof(key));
	len = make_log(buf, sizeof(buf), 6, offs);
	ck_assert_int_eq(audit_scan(buf, len, key, NULL, NULL, &sc), 0);
	ck_assert_int_eq(sc.records, 6);
	ck_assert_int_eq(sc.last_seq, 6);
	ck_assert_int_eq(sc.good_len, len);
	ck_assert_int_eq(audit_scan(buf, 0, key, NULL, NULL, &sc), 0);
	ck_assert_int_eq(sc.records, 0);
}
END_TEST

START_TEST(test_tampered)
{
	char buf[8192], copy[8192];
	size_t offs[8], len;
	struct audit_scan sc = { 0 };
	unsigned char other[32];

	memset(key, 7, sizeof(key));
	len = make_log(buf, sizeof(buf), 6, offs);

	/* A flipped byte in record 3. */
	memcpy(copy, buf, len);
	copy[offs[2] + 3] ^= 1;
	ck_assert_int_eq(audit_scan(copy, len, key, NULL, NULL, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 3);
	ck_assert(!sc.torn);

	/* Record 2 removed. */
	memcpy(copy, buf, offs[1]);
	memcpy(copy + offs[1], buf + offs[2], len - offs[2]);
	ck_assert_int_eq(audit_scan(copy, len - (offs[2] - offs[1]), key, NULL, NULL, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 2);

	/* Records 4 and 5 swapped. */
	memcpy(copy, buf, offs[3]);
	memcpy(copy + offs[3], buf + offs[4], offs[5] - offs[4]);
	memcpy(copy + offs[3] + (offs[5] - offs[4]), buf + offs[3], offs[4] - offs[3]);
	memcpy(copy + offs[5], buf + offs[5], len - offs[5]);
	ck_assert_int_eq(audit_scan(copy, len, key, NULL, NULL, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 4);

	/* Another key: nothing verifies. */
	memset(other, 8, sizeof(other));
	ck_assert_int_eq(audit_scan(buf, len, other, NULL, NULL, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 1);

	/* Garbage. */
	ck_assert_int_eq(audit_scan("hello\n", 6, key, NULL, NULL, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 1);
}
END_TEST

START_TEST(test_torn)
{
	char buf[8192];
	size_t offs[8], len;
	struct audit_scan sc = { 0 };

	memset(key, 7, sizeof(key));
	len = make_log(buf, sizeof(buf), 4, offs);
	/* Cut the last record short: torn, and the good part is the first three. */
	ck_assert_int_eq(audit_scan(buf, len - 10, key, NULL, NULL, &sc), -1);
	ck_assert(sc.torn);
	ck_assert_int_eq(sc.bad_seq, 4);
	ck_assert_int_eq(sc.good_len, offs[3]);
	ck_assert_int_eq(sc.records, 3);
	/* A torn first record leaves nothing good. */
	ck_assert_int_eq(audit_scan(buf, 5, key, NULL, NULL, &sc), -1);
	ck_assert(sc.torn);
	ck_assert_int_eq(sc.good_len, 0);
}
END_TEST

Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("chain");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_torn);
	suite_add_tcase(s, tc);
	return s;
}
