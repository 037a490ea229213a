/* check_logtail.c - the last records of a log, read backwards, against a plain forward read. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../broker/minter/logtail.h"
#include "check.h"

/* A log of nrec lines across many blocks: records of two sessions, some garbage, a torn end. */
static char *
make_log(const char *file, unsigned int nrec, unsigned int seed, size_t *ret_len)
{
	size_t cap = (size_t)nrec * 9000 + 20000, len = 0;
	char *all = malloc(cap);
	FILE *f = fopen(file, "w");

	srand(seed);
	for (unsigned int i = 0; i < nrec; i++) {
		int pad = rand() % 10 == 0 ? 4000 + rand() % 4000 : rand() % 300;
		int kind = rand() % 20;
		int n;

		if (kind == 0)
			n = snprintf(all + len, cap - len, "not json %d\n", i);
		else if (kind == 1)
			n = snprintf(all + len, cap - len, "\n");
		else
			n = snprintf(all + len, cap - len, "{\"seq\":%u,\"session\":\"%s\",\"pad\":\"%*s\"}\n",
			    i + 1, kind % 3 == 0 ? "aaaa" : "bbbb", pad, "");
		len += (size_t)n;
	}
	/* A line longer than any record, then more records. */
	memset(all + len, 'x', 20000 > cap - len - 200 ? 0 : 12000);
	len += 12000;
	all[len++] = '\n';
	len += (size_t)snprintf(all + len, cap - len, "{\"seq\":%u,\"session\":\"aaaa\"}\n", nrec + 1);
	/* Torn: being written. */
	len += (size_t)snprintf(all + len, cap - len, "{\"seq\":%u,\"sess", nrec + 2);
	fwrite(all, 1, len, f);
	fclose(f);
	*ret_len = len;
	return all;
}

/* The last n wanted records, the plain way: every complete line, forward. */
static json_t *
naive(const char *all, size_t len, unsigned int n, const char *session)
{
	json_t *kept = json_array(), *out = json_array();
	const char *p = all, *end = all + len, *nl;

	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		json_t *rec;

		if ((size_t)(nl - p) > 8192)
			continue;
		rec = json_loadb(p, (size_t)(nl - p), 0, NULL);
		if (!json_is_object(rec) || (session != NULL &&
		    strcmp(json_string_value(json_object_get(rec, "session")), session) != 0)) {
			json_decref(rec);
			continue;
		}
		json_array_append_new(kept, rec);
	}
	for (size_t i = json_array_size(kept) > n ? json_array_size(kept) - n : 0;
	    i < json_array_size(kept); i++)
		json_array_insert(out, 0, json_array_get(kept, i));
	json_decref(kept);
	return out;	/* newest first, as logtail gives them */
}

START_TEST(test_tail)
{
	char file[] = "/tmp/check_logtail.XXXXXX";
	int fd = mkstemp(file);
	size_t len;
	char *all;
	static const unsigned int ns[] = { 1, 2, 7, 50, 300, 100000 };

	ck_assert_int_ge(fd, 0);
	close(fd);
	all = make_log(file, 600, 7, &len);
	ck_assert_uint_gt(len, 3 * WRIT_LOGTAIL_BLOCK);
	fd = open(file, O_RDONLY);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		for (int s = 0; s < 2; s++) {
			const char *session = s ? "aaaa" : NULL;
			struct logtail t = { .want = ns[i], .session = session,
			    .scan_left = WRIT_LOGTAIL_SCAN, .max_line = 8192, .records = json_array() };
			json_t *want = naive(all, len, ns[i], session);

			ck_assert_int_eq(logtail_read(fd, (off_t)len, &t), 0);
			/* Unfiltered, garbage lines count toward n: a prefix of the plain answer. */
			if (session == NULL)
				ck_assert_uint_le(json_array_size(t.records), json_array_size(want));
			else
				ck_assert_uint_eq(json_array_size(t.records), json_array_size(want));
			for (size_t k = 0; k < json_array_size(t.records); k++)
				ck_assert(json_equal(json_array_get(t.records, k), json_array_get(want, k)));
			json_decref(want);
			json_decref(t.records);
		}
	/* The scan budget bounds a session tail: none found within 100 bytes of a torn end. */
	{
		struct logtail t = { .want = 5, .session = "aaaa", .scan_left = 10,
		    .max_line = 8192, .records = json_array() };

		ck_assert_int_eq(logtail_read(fd, (off_t)len, &t), 0);
		ck_assert_uint_eq(json_array_size(t.records), 0);
		ck_assert_int_le(t.scan_left, 0);
		json_decref(t.records);
	}
	/* The newest complete record comes first; the torn one never. */
	{
		struct logtail t = { .want = 1, .max_line = 8192, .records = json_array() };

		ck_assert_int_eq(logtail_read(fd, (off_t)len, &t), 0);
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t.records, 0),
		    "seq")), 601);
		json_decref(t.records);
	}
	close(fd);
	unlink(file);
	free(all);
}
END_TEST

/*
 * A line longer than any record that begins exactly where a block does
 * (one or two blocks long): the record before it is still found.
 */
START_TEST(test_long_line_on_block)
{
	for (size_t blocks = 1; blocks <= 2; blocks++) {
		char file[] = "/tmp/check_logtail.XXXXXX";
		int fd = mkstemp(file);
		size_t long_len = blocks * WRIT_LOGTAIL_BLOCK - 1;
		char *x = malloc(long_len);
		struct logtail t = { .want = 5, .max_line = 8192, .records = json_array() };

		ck_assert_int_ge(fd, 0);
		memset(x, 'x', long_len);
		ck_assert_int_eq(write(fd, "{\"seq\":1}\n", 10), 10);
		ck_assert_int_eq(write(fd, x, long_len), (ssize_t)long_len);
		ck_assert_int_eq(write(fd, "\n", 1), 1);
		ck_assert_int_eq(logtail_read(fd, (off_t)(10 + long_len + 1), &t), 0);
		ck_assert_uint_eq(json_array_size(t.records), 1);
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t.records, 0),
		    "seq")), 1);
		json_decref(t.records);
		close(fd);
		unlink(file);
		free(x);
	}
}
END_TEST

/*
 * An events filter keeps exactly the records of those events, whatever
 * their text holds elsewhere, and does not count the others towards want;
 * it stops at the record of seq after, and says so.
 */
START_TEST(test_events)
{
	static const char *const events[] = { "issued", "revoked", NULL };
	static const char log[] =
	    "{\"event\":\"issued\",\"seq\":1}\n"
	    "{\"event\":\"issued\",\"seq\":2}\n"		/* the mark: seq 2 */
	    "{\"event\":\"issued\",\"seq\":3,\"n\":1}\n"
	    "{\"event\":\"generated\",\"seq\":4,\"s\":\"{\\\"event\\\":\\\"issued\\\"\"}\n"
	    "{\"event\":\"issuedx\",\"seq\":5}\n"
	    "{\"event\":\"issued\",\"seq\":6,\"event\":\"denied\"}\n"	/* jansson: the last wins */
	    "{\"seq\":7,\"event\":\"issued\"}\n"			/* not writd's order */
	    "{\"event\":\"revoked\",\"seq\":8}\n"
	    "{\"event\":\"issued\"\n"
	    "{\"event\":\"expired\",\"seq\":9}\n";
	char file[] = "/tmp/check_logtail.XXXXXX";
	int fd = mkstemp(file);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, log, sizeof(log) - 1), (ssize_t)(sizeof(log) - 1));
	for (unsigned int want = 2; want <= 3; want++) {
		struct logtail t = { .want = want, .events = events, .after = 2,
		    .max_line = 8192, .records = json_array() };

		ck_assert_int_eq(logtail_read(fd, (off_t)(sizeof(log) - 1), &t), 0);
		ck_assert_uint_eq(json_array_size(t.records), 2);
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t.records, 0),
		    "seq")), 8);
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(t.records, 1),
		    "seq")), 3);
		/* Two found: want is met first; three: the mark is met. */
		ck_assert(t.reached == (want == 3));
		json_decref(t.records);
	}
	close(fd);
	unlink(file);
}
END_TEST

Suite *
logtail_suite(void)
{
	Suite *s = suite_create("logtail");
	TCase *tc = tcase_create("read");

	tcase_add_test(tc, test_tail);
	tcase_add_test(tc, test_long_line_on_block);
	tcase_add_test(tc, test_events);
	suite_add_tcase(s, tc);
	return s;
}
