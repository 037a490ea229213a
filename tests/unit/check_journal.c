/*
 * check_journal.c - group commit on real files in a temporary directory:
 * waiters woken with their seq once the batch is on disk, a split moving
 * the file aside, a file deleted under the journal breaking it for good,
 * flush; a lazy journal waiting for its time or its count unless someone
 * waits, and its closing slot.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../broker/minter/journal.h"
#include "check.h"

static char dir[64];

/* What a waiter was told, once it was. */
struct told {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls;
	bool ok;
	char file[4096];	/* the file's bytes when it was told */
};

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check-journal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
slurp(const char *name, char *out, size_t size)
{
	char p[128];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	out[0] = '\0';
	if ((fd = open(p, O_RDONLY)) < 0)
		return;
	n = read(fd, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void
done(void *arg, bool ok)
{
	struct told *t = arg;

	slurp("j.jsonl", t->file, sizeof(t->file));
	pthread_mutex_lock(&t->lock);
	t->calls++;
	t->ok = ok;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void
await(struct told *t)
{
	pthread_mutex_lock(&t->lock);
	while (t->calls == 0)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

static struct journal *
open_j(uint64_t seq, const struct journal_ops *ops)
{
	struct journal_ops none = { .what = "test journal" };
	char p[128], err[WRIT_ERRLEN];
	struct journal *j = NULL;
	int fd;

	snprintf(p, sizeof(p), "%s/j.jsonl", dir);
	fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(journal_open(dir, "j.jsonl", fd, seq + 1, 0, seq, ops ? ops : &none, &j,
	    err), 0);
	return j;
}

static uint64_t
add(struct journal *j, const char *rec, bool split)
{
	uint64_t s;

	journal_lock(j);
	s = journal_append_locked(j, rec, strlen(rec), split);
	journal_unlock(j);
	return s;
}

START_TEST(test_wait_sees_its_record)
{
	struct told t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, "" };
	struct journal *j = open_j(41, NULL);

	/* seq goes on from where the format's log was. */
	ck_assert_uint_eq(add(j, "a\n", false), 42);
	ck_assert_uint_eq(add(j, "b\n", false), 43);
	journal_wait(j, 43, done, &t);
	await(&t);
	ck_assert(t.ok);
	/* NB. told once its record is in the file: write-ahead. */
	ck_assert_str_eq(t.file, "a\nb\n");
	ck_assert_uint_ge(journal_synced(j), 43);
	ck_assert_int_eq(journal_flush(j), 0);
	journal_close(j);
}
END_TEST

START_TEST(test_wait_zero_fails)
{
	struct told t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, true, "" };
	struct journal *j = open_j(0, NULL);

	journal_wait(j, 0, done, &t);
	ck_assert_int_eq(t.calls, 1);
	ck_assert(!t.ok);
	journal_close(j);
}
END_TEST

/* A closing slot: one "m" line at the end of each batch. */
static void
mark(void *arg, struct journal *j)
{
	(void)arg;
	(void)journal_append_locked(j, "m\n", 2, false);
}

/* Up to 5 s for seq to be durable. */
static bool
synced_soon(struct journal *j, uint64_t seq)
{
	for (int i = 0; i < 500 && journal_synced(j) < seq; i++)
		usleep(10000);
	return journal_synced(j) >= seq;
}

START_TEST(test_lazy_waits_for_count_or_waiter)
{
	struct journal_ops ops = { .what = "test journal", .lazy_ms = 3600 * 1000,
	    .lazy_records = 3, .closing = mark };
	struct told t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, "" };
	struct journal *j = open_j(0, &ops);
	char file[64];

	add(j, "a\n", false);
	add(j, "b\n", false);
	usleep(200 * 1000);
	slurp("j.jsonl", file, sizeof(file));
	/* An hour to wait, two records of three, nobody waiting: nothing yet. */
	ck_assert_str_eq(file, "");
	ck_assert_uint_eq(journal_synced(j), 0);
	/* The third fills the batch; the closing slot ends it. */
	add(j, "c\n", false);
	ck_assert(synced_soon(j, 4));
	slurp("j.jsonl", file, sizeof(file));
	ck_assert_str_eq(file, "a\nb\nc\nm\n");
	/* A waiter does not wait for the hour. */
	journal_wait(j, add(j, "d\n", false), done, &t);
	await(&t);
	ck_assert(t.ok);
	ck_assert_str_eq(t.file, "a\nb\nc\nm\nd\nm\n");
	/* Nor does a flush. */
	add(j, "e\n", false);
	ck_assert_int_eq(journal_flush(j), 0);
	slurp("j.jsonl", file, sizeof(file));
	ck_assert_str_eq(file, "a\nb\nc\nm\nd\nm\ne\nm\n");
	journal_close(j);
}
END_TEST

START_TEST(test_lazy_commits_in_time)
{
	struct journal_ops ops = { .what = "test journal", .lazy_ms = 100, .lazy_records = 1000 };
	struct journal *j = open_j(0, &ops);

	/* Nobody waits, the batch is far from full: its time comes all the same. */
	add(j, "a\n", false);
	ck_assert(synced_soon(j, 1));
	add(j, "b\n", false);
	ck_assert(synced_soon(j, 2));
	journal_close(j);
}
END_TEST

START_TEST(test_lazy_close_commits)
{
	struct journal_ops ops = { .what = "test journal", .lazy_ms = 3600 * 1000,
	    .lazy_records = 1000, .closing = mark };
	struct journal *j = open_j(0, &ops);
	char file[64];

	add(j, "a\n", false);
	add(j, "b\n", false);
	usleep(100 * 1000);
	slurp("j.jsonl", file, sizeof(file));
	ck_assert_str_eq(file, "");
	/* A stop does not wait the hour, nor lose the batch: it ends with its mark. */
	journal_close(j);
	slurp("j.jsonl", file, sizeof(file));
	ck_assert_str_eq(file, "a\nb\nm\n");
}
END_TEST

/* A closing slot with something to note only once told so. */
static bool note_due;

static void
note(void *arg, struct journal *j)
{
	(void)arg;
	if (note_due && journal_append_locked(j, "n\n", 2, false) != 0)
		note_due = false;
}

START_TEST(test_lazy_closing_while_idle)
{
	struct journal_ops ops = { .what = "test journal", .lazy_ms = 100,
	    .lazy_records = 1000, .closing = note };
	struct journal *j;
	char file[64];

	note_due = false;
	j = open_j(0, &ops);
	usleep(300 * 1000);
	slurp("j.jsonl", file, sizeof(file));
	ck_assert_str_eq(file, "");
	/* Nothing appended: the slot, called while idle, starts a batch of its own. */
	journal_lock(j);
	note_due = true;
	journal_unlock(j);
	ck_assert(synced_soon(j, 1));
	slurp("j.jsonl", file, sizeof(file));
	ck_assert_str_eq(file, "n\n");
	journal_close(j);
}
END_TEST

static void
moved(uint64_t first, char out[WRIT_JOURNAL_NAME_MAX + 1])
{
	snprintf(out, WRIT_JOURNAL_NAME_MAX + 1, "j-%" PRIu64 ".jsonl", first);
}

START_TEST(test_split_moves_the_file)
{
	struct journal_ops ops = { .what = "test journal", .moved_name = moved };
	struct journal *j = open_j(0, &ops);
	char buf[256];

	ck_assert_uint_eq(add(j, "one\n", false), 1);
	ck_assert_uint_eq(add(j, "two\n", true), 2);
	ck_assert_uint_eq(add(j, "three\n", false), 3);
	ck_assert_int_eq(journal_flush(j), 0);
	slurp("j-1.jsonl", buf, sizeof(buf));
	ck_assert_str_eq(buf, "one\n");
	slurp("j.jsonl", buf, sizeof(buf));
	ck_assert_str_eq(buf, "two\nthree\n");
	journal_close(j);
}
END_TEST

START_TEST(test_deleted_breaks_for_good)
{
	struct told t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, true, "" };
	struct journal *j = open_j(0, NULL);
	char p[128];
	uint64_t s;
	int fd;

	ck_assert_uint_eq(add(j, "kept\n", false), 1);
	ck_assert_int_eq(journal_flush(j), 0);
	snprintf(p, sizeof(p), "%s/j.jsonl", dir);
	ck_assert_int_eq(unlink(p), 0);
	/* Its records would go where nobody looks: a failure, not a success. */
	s = add(j, "lost\n", false);
	ck_assert_uint_eq(s, 2);
	journal_wait(j, s, done, &t);
	await(&t);
	ck_assert(!t.ok);
	ck_assert(!journal_ok(j));
	ck_assert_int_eq(journal_flush(j), -1);
	/* Never trusted again, even with the file back in place. */
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_uint_eq(add(j, "later\n", false), 0);
	journal_close(j);
}
END_TEST

Suite *
journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wait_sees_its_record);
	tcase_add_test(tc, test_wait_zero_fails);
	tcase_add_test(tc, test_split_moves_the_file);
	tcase_add_test(tc, test_deleted_breaks_for_good);
	tcase_add_test(tc, test_lazy_waits_for_count_or_waiter);
	tcase_add_test(tc, test_lazy_commits_in_time);
	tcase_add_test(tc, test_lazy_close_commits);
	tcase_add_test(tc, test_lazy_closing_while_idle);
	suite_add_tcase(s, tc);
	return s;
}
