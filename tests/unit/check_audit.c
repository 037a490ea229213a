/*
 * check_audit.c - the audit chain: format and scan (from a point, from a
 * "rotated" record), the state record and signed checkpoints.  Pure: no I/O.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "../../broker/minter/audit.h"
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

/* Append one record of body text (ending in '}') chained to *prev. */
static size_t
add(char *buf, size_t len, size_t size, unsigned char prev[32], const char *body)
{
	unsigned char mac[32];
	size_t n = audit_format(key, prev, body, buf + len, size - len, mac);

	ck_assert_uint_gt(n, 0);
	memcpy(prev, mac, 32);
	return len + n;
}

/* A checkpoint record's body for seq, signing (seq - 1, at) with sk. */
static void
ckpt_body(char *out, size_t size, uint64_t s, const unsigned char at[32],
    const unsigned char sk[64])
{
	char hex[65], sighex[129], msg[128];
	unsigned char sig[64];
	int n;

	sodium_bin2hex(hex, sizeof(hex), at, 32);
	n = snprintf(msg, sizeof(msg), "writ-audit-checkpoint:%" PRIu64 ":%s", s - 1, hex);
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, (unsigned long long)n, sk);
	sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
	snprintf(out, size, "{\"event\":\"checkpoint\",\"seq\":%" PRIu64 ",\"time\":5,"
	    "\"at_seq\":%" PRIu64 ",\"at_mac\":\"%s\",\"sig\":\"%s\"}", s, s - 1, hex, sighex);
}

START_TEST(test_from_point)
{
	char buf[8192];
	size_t offs[8], len;
	struct audit_scan sc = { 0 }, at3 = { 0 };
	struct audit_point from;

	memset(key, 7, sizeof(key));
	len = make_log(buf, sizeof(buf), 6, offs);
	/* The chain as it stood after record 3 ... */
	ck_assert_int_eq(audit_scan(buf, offs[3], key, NULL, NULL, &at3), 0);
	from.seq = 3;
	memcpy(from.mac, at3.last_mac, 32);
	/* ... checks the rest alone. */
	ck_assert_int_eq(audit_scan(buf + offs[3], len - offs[3], key, NULL, &from, &sc), 0);
	ck_assert_int_eq(sc.records, 3);
	ck_assert_int_eq(sc.first_seq, 4);
	ck_assert_int_eq(sc.last_seq, 6);
	/* Nothing after the point: the point itself. */
	ck_assert_int_eq(audit_scan(buf + len, 0, key, NULL, &from, &sc), 0);
	ck_assert_int_eq(sc.last_seq, 3);
	ck_assert(memcmp(sc.last_mac, from.mac, 32) == 0);
	/* Another mac, or another seq, at the point: the next record is bad. */
	from.mac[0] ^= 1;
	ck_assert_int_eq(audit_scan(buf + offs[3], len - offs[3], key, NULL, &from, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 4);
	from.mac[0] ^= 1;
	from.seq = 2;
	ck_assert_int_eq(audit_scan(buf + offs[3], len - offs[3], key, NULL, &from, &sc), -1);
	ck_assert_str_eq(sc.why, "records out of sequence");
	/* A probe reports the mac at its seq. */
	memset(&sc, 0, sizeof(sc));
	sc.probe_seq = 3;
	ck_assert_int_eq(audit_scan(buf, len, key, NULL, NULL, &sc), 0);
	ck_assert(sc.probed);
	ck_assert(memcmp(sc.probe_mac, at3.last_mac, 32) == 0);
	ck_assert_int_eq(sc.probe_seq, 3);
}
END_TEST

START_TEST(test_rotated_start)
{
	unsigned char prev[32], before[32];
	char buf[8192], body[512], hex[65];
	struct audit_scan sc = { 0 };
	size_t len = 0;

	memset(key, 7, sizeof(key));
	memset(before, 0x5a, sizeof(before));
	memcpy(prev, before, 32);
	sodium_bin2hex(hex, sizeof(hex), before, 32);
	snprintf(body, sizeof(body), "{\"event\":\"rotated\",\"seq\":41,\"time\":1,"
	    "\"prev_file\":\"audit-00000000000000000007.jsonl\",\"prev_mac\":\"%s\","
	    "\"why\":\"size\"}", hex);
	len = add(buf, len, sizeof(buf), prev, body);
	len = add(buf, len, sizeof(buf), prev, "{\"event\":\"e\",\"seq\":42,\"time\":1}");
	/* A file that begins with "rotated" is chained to the mac it names. */
	ck_assert_int_eq(audit_scan(buf, len, key, NULL, NULL, &sc), 0);
	ck_assert(sc.rotated);
	ck_assert_int_eq(sc.first_seq, 41);
	ck_assert_int_eq(sc.last_seq, 42);
	ck_assert_str_eq(sc.prev_file, "audit-00000000000000000007.jsonl");
	ck_assert(memcmp(sc.prev_mac, before, 32) == 0);
	/* Its prev_mac changed: the record's own mac no longer matches. */
	buf[strstr(buf, "prev_mac") - buf + 11] ^= 1;
	ck_assert_int_eq(audit_scan(buf, len, key, NULL, NULL, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 41);
	ck_assert_int_eq(sc.records, 0);
}
END_TEST

START_TEST(test_state)
{
	struct audit_state st = { 7, 123456, { 99, { 0 } } }, got;
	char text[WRIT_AUDIT_STATE_LEN + 1], copy[WRIT_AUDIT_STATE_LEN + 1];
	unsigned char other[32];

	memset(key, 7, sizeof(key));
	memset(st.at.mac, 0xab, 32);
	audit_state_format(key, &st, text);
	ck_assert_uint_eq(strlen(text), WRIT_AUDIT_STATE_LEN);
	ck_assert_int_eq(audit_state_parse(text, WRIT_AUDIT_STATE_LEN, key, &got), 0);
	ck_assert_int_eq(got.file_first, 7);
	ck_assert_int_eq(got.offset, 123456);
	ck_assert_int_eq(got.at.seq, 99);
	ck_assert(memcmp(got.at.mac, st.at.mac, 32) == 0);
	/* Any byte changed, a short read, another key: not trusted. */
	for (size_t i = 0; i < WRIT_AUDIT_STATE_LEN; i++) {
		memcpy(copy, text, sizeof(copy));
		copy[i] = copy[i] == '1' ? '2' : '1';
		ck_assert_int_eq(audit_state_parse(copy, WRIT_AUDIT_STATE_LEN, key, &got), -1);
	}
	ck_assert_int_eq(audit_state_parse(text, WRIT_AUDIT_STATE_LEN - 1, key, &got), -1);
	memset(other, 8, sizeof(other));
	ck_assert_int_eq(audit_state_parse(text, WRIT_AUDIT_STATE_LEN, other, &got), -1);
	/* Upper-case hex is not what writd writes. */
	memcpy(copy, text, sizeof(copy));
	for (char *p = copy + 104; p < copy + 168; p++)
		*p = (char)(*p >= 'a' ? *p - 32 : *p);
	ck_assert_int_eq(audit_state_parse(copy, WRIT_AUDIT_STATE_LEN, key, &got), -1);
}
END_TEST

START_TEST(test_checkpoint)
{
	unsigned char pk[32], sk[64], pk2[32], sk2[64], prev[32] = { 0 }, at[32];
	char buf[16384], body[1024], line[1200], why[128];
	struct audit_checkpoint cp;
	struct audit_scan sc = { 0 };
	size_t len = 0, mark;

	memset(key, 7, sizeof(key));
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	len = add(buf, len, sizeof(buf), prev, "{\"event\":\"e\",\"seq\":1,\"time\":1}");
	memcpy(at, prev, 32);
	ckpt_body(body, sizeof(body), 2, at, sk);
	mark = len;
	len = add(buf, len, sizeof(buf), prev, body);
	len = add(buf, len, sizeof(buf), prev, "{\"event\":\"e\",\"seq\":3,\"time\":1}");
	ck_assert_int_eq(audit_scan(buf, len, key, pk, NULL, &sc), 0);
	ck_assert_int_eq(sc.checkpoints, 1);
	ck_assert_int_eq(sc.ckpt_seq, 2);
	ck_assert_int_eq(sc.ckpt_time, 5);
	/* Another key's signature: refused with a key, unchecked without. */
	ck_assert_int_eq(audit_scan(buf, len, key, pk2, NULL, &sc), -1);
	ck_assert_int_eq(sc.bad_seq, 2);
	ck_assert(strstr(sc.why, "signature") != NULL);
	ck_assert_int_eq(audit_scan(buf, len, key, NULL, NULL, &sc), 0);

	/* The line, as syslog shows it, parses and verifies. */
	snprintf(line, sizeof(line), "<86>Nov 29 00:00:00 writd[42]: %.*s",
	    (int)(strchr(buf + mark, '\n') - (buf + mark)), buf + mark);
	ck_assert_int_eq(audit_checkpoint_parse(line, strlen(line), pk, &cp, why), 0);
	ck_assert_int_eq(cp.seq, 2);
	ck_assert_int_eq(cp.at.seq, 1);
	ck_assert(memcmp(cp.at.mac, at, 32) == 0);
	ck_assert(cp.has_mac);
	ck_assert_int_eq(audit_checkpoint_parse(line, strlen(line), pk2, &cp, why), -1);
	ck_assert(strstr(why, "does not verify") != NULL);
	/* Signed for seq 1, claimed for seq 5: refused. */
	ckpt_body(body, sizeof(body), 2, at, sk);
	memcpy(strstr(body, "\"seq\":2,"), "\"seq\":5,", 8);
	memcpy(strstr(body, "\"at_seq\":1,"), "\"at_seq\":4,", 11);
	snprintf(line, sizeof(line), "%s", body);
	ck_assert_int_eq(audit_checkpoint_parse(line, strlen(line), pk, &cp, why), -1);
	ck_assert(strstr(why, "does not verify") != NULL);
	/* Not a checkpoint, not JSON, nothing. */
	ck_assert_int_eq(audit_checkpoint_parse("{\"event\":\"issued\",\"seq\":2}", 26, pk, &cp, why), -1);
	ck_assert_str_eq(why, "not a writ checkpoint record");
	ck_assert_int_eq(audit_checkpoint_parse("no json", 7, pk, &cp, why), -1);
	ck_assert_int_eq(audit_checkpoint_parse("", 0, pk, &cp, why), -1);

	/* A good signature over another point, chained in: refused by scan. */
	len = 0;
	memset(prev, 0, sizeof(prev));
	len = add(buf, len, sizeof(buf), prev, "{\"event\":\"e\",\"seq\":1,\"time\":1}");
	memset(at, 0x11, sizeof(at));
	ckpt_body(body, sizeof(body), 2, at, sk);
	len = add(buf, len, sizeof(buf), prev, body);
	ck_assert_int_eq(audit_scan(buf, len, key, pk, NULL, &sc), -1);
	ck_assert_str_eq(sc.why, "a checkpoint of another point");
}
END_TEST


/* A rotated file's name gives its first seq: every 64-bit one, exactly. */
START_TEST(test_rotated_name)
{
	char name[WRIT_AUDIT_ROTATED_LEN + 1];

	audit_rotated_name(1, name);
	ck_assert_str_eq(name, "audit-00000000000000000001.jsonl");
	ck_assert_uint_eq(audit_rotated_seq(name), 1);
	audit_rotated_name(UINT64_MAX, name);
	ck_assert_uint_eq(audit_rotated_seq(name), UINT64_MAX);
	/* Found by fuzz_audit: the largest was refused, while it fits. */
	ck_assert_uint_eq(audit_rotated_seq("audit-18446744073709551610.jsonl"), 18446744073709551610ULL);
	ck_assert_uint_eq(audit_rotated_seq("audit-18446744073709551616.jsonl"), 0);
	ck_assert_uint_eq(audit_rotated_seq("audit-99999999999999999999.jsonl"), 0);
	ck_assert_uint_eq(audit_rotated_seq("audit-0000000000000000001.jsonl"), 0);
	ck_assert_uint_eq(audit_rotated_seq("audit-0000000000000000000x.jsonl"), 0);
	ck_assert_uint_eq(audit_rotated_seq("audit-00000000000000000001.json"), 0);
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
	tcase_add_test(tc, test_from_point);
	tcase_add_test(tc, test_rotated_start);
	tcase_add_test(tc, test_rotated_name);
	tcase_add_test(tc, test_state);
	tcase_add_test(tc, test_checkpoint);
	suite_add_tcase(s, tc);
	return s;
}
