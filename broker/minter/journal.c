/*
 * journal.c - one thread swaps buffers, writes, syncs once and wakes the
 * waiters it made durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"
#include "journal.h"

struct waiter {
	uint64_t seq;
	void (*done)(void *arg, bool ok);
	void *arg;
	struct waiter *next;
};

/* The records from off on go to a new file, beginning at seq first. */
struct split {
	size_t off;
	uint64_t first;
};

struct journal {
	struct journal_ops ops;
	char dir[4096], name[256];
	/*
	 * Under lock: the buffer, what is appended (written) and durable
	 * (synced), the waiters, the splits pending.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* the commit thread waits for work */
	pthread_cond_t flushed;		/* journal_flush waits for a commit */
	char *pend, *spare;		/* the buffer appenders fill, the other one */
	size_t pend_len, pend_cap, spare_cap;
	struct split splits[WRIT_JOURNAL_MAX_SPLITS];
	unsigned int nsplits;
	uint64_t written, synced;
	uint64_t flush_to;		/* journal_flush wants this durable */
	struct timespec since;		/* lazy: when the oldest pending record came */
	bool broken, stopping;
	struct timespec began;		/* zero while no commit runs */
	struct waiter *waiters;
	pthread_t thread;
	/*
	 * Under flk (held by the commit thread while it writes, and by
	 * journal_replace): the open file, its directory, the first seq of
	 * the file and its size.
	 */
	pthread_mutex_t flk;
	int fd, dir_fd;
	uint64_t first, off;
};

static void
run_waiters(struct waiter *w, bool ok)
{
	while (w != NULL) {
		struct waiter *n = w->next;

		w->done(w->arg, ok);
		free(w);
		w = n;
	}
}

/* Lock held: the waiters up to seq (all of them: UINT64_MAX), taken off the list. */
static struct waiter *
take_waiters_locked(struct journal *j, uint64_t upto)
{
	struct waiter *ready = NULL, **pp;

	for (pp = &j->waiters; *pp != NULL;) {
		struct waiter *w = *pp;

		if (w->seq <= upto) {
			*pp = w->next;
			w->next = ready;
			ready = w;
		} else
			pp = &w->next;
	}
	return ready;
}

/*
 * Write and sync part of a batch to the open file (flk held).  Deleted,
 * or moved aside and replaced: the records went where nobody will look
 * (nor verify), which is a failure too.
 */
static int
write_part(struct journal *j, const char *p, size_t len)
{
	struct stat st, now;

	if (fs_write_all(j->fd, p, len) != 0 || fdatasync(j->fd) != 0)
		return -1;
	if (fstat(j->fd, &st) != 0 || st.st_nlink == 0 ||
	    fstatat(j->dir_fd, j->name, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
	    now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
		errno = ENOENT;
		return -1;
	}
	j->off += len;
	return 0;
}

/*
 * The current file takes the format's name for it and a new one takes
 * its name, beginning at seq first (flk held).  The rename and the
 * create are made durable (the directory synced) by the caller, after
 * the new file's first records.
 */
static int
next_file(struct journal *j, uint64_t first)
{
	char moved[WRIT_JOURNAL_NAME_MAX + 1];
	int nfd;

	if (j->ops.moved_name == NULL) {
		errno = EINVAL;
		return -1;
	}
	j->ops.moved_name(j->first, moved);
	/* NB. never over a file already there: a moved file is evidence. */
	if (renameat2(j->dir_fd, j->name, j->dir_fd, moved, RENAME_NOREPLACE) != 0)
		return -1;
	nfd = openat(j->dir_fd, j->name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (nfd < 0)
		return -1;
	close(j->fd);
	j->fd = nfd;
	j->first = first;
	j->off = 0;
	return 0;
}

/* Lock held: does the pending batch wait for more?  Until *ret_due if so. */
static bool
lazy_locked(struct journal *j, struct timespec *ret_due)
{
	struct timespec now;

	if (j->ops.lazy_ms == 0 || j->synced == j->written || j->waiters != NULL ||
	    j->flush_to > j->synced || j->written - j->synced >= j->ops.lazy_records)
		return false;
	*ret_due = j->since;
	ret_due->tv_sec += j->ops.lazy_ms / 1000;
	ret_due->tv_nsec += (long)(j->ops.lazy_ms % 1000) * 1000000;
	if (ret_due->tv_nsec >= 1000000000) {
		ret_due->tv_sec++;
		ret_due->tv_nsec -= 1000000000;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < ret_due->tv_sec ||
	    (now.tv_sec == ret_due->tv_sec && now.tv_nsec < ret_due->tv_nsec);
}

/* Lock held: nothing pending, a lazy journal's closing slot is due at *ret_due. */
static bool
lazy_tick_locked(struct journal *j, struct timespec *ret_due)
{
	if (j->ops.lazy_ms == 0 || j->ops.closing == NULL || j->broken)
		return false;
	clock_gettime(CLOCK_MONOTONIC, ret_due);
	ret_due->tv_sec += j->ops.lazy_ms / 1000;
	ret_due->tv_nsec += (long)(j->ops.lazy_ms % 1000) * 1000000;
	if (ret_due->tv_nsec >= 1000000000) {
		ret_due->tv_sec++;
		ret_due->tv_nsec -= 1000000000;
	}
	return true;
}

/*
 * Wait for work (lock held): records to commit, or, once broken, waiters
 * to fail (NB. not the records it will never write: that would spin).
 * The format's idle slot may ask to be called back; a lazy journal's
 * closing slot is called every lazy_ms meanwhile.
 */
static void
wait_locked(struct journal *j)
{
	struct timespec due;

	while (!j->stopping && (j->broken ? j->waiters == NULL : j->synced == j->written)) {
		time_t at = !j->broken && j->ops.idle != NULL ? j->ops.idle(j->ops.arg, false) : 0;

		if (lazy_tick_locked(j, &due)) {
			if (pthread_cond_timedwait(&j->cond, &j->lock, &due) == ETIMEDOUT &&
			    !j->broken && j->synced == j->written)
				j->ops.closing(j->ops.arg, j);
			continue;
		}
		due = (struct timespec){ at, 0 };
		if (at == 0) {
			pthread_cond_wait(&j->cond, &j->lock);
			continue;
		}
		if (pthread_cond_timedwait(&j->cond, &j->lock, &due) == ETIMEDOUT && !j->broken)
			(void)j->ops.idle(j->ops.arg, true);
	}
	/* Lazy: more may come, unless someone waits (the clock is CLOCK_MONOTONIC). */
	while (!j->stopping && !j->broken && lazy_locked(j, &due))
		(void)pthread_cond_timedwait(&j->cond, &j->lock, &due);
}

/*
 * Commit one batch taken under the lock (not held here): 0 and the file
 * it ended in (its first seq, its size), or -1 with errno set.
 */
static int
commit(struct journal *j, const char *batch, size_t len, const struct split *parts,
    unsigned int nparts, uint64_t *ret_first, uint64_t *ret_off)
{
	size_t start = 0;
	int r;

	r = 0;
	pthread_mutex_lock(&j->flk);
	for (unsigned int k = 0; r == 0 && k <= nparts; k++) {
		size_t end = k < nparts ? parts[k].off : len;

		if (k > 0)
			r = next_file(j, parts[k - 1].first);
		if (r == 0 && (end > start || k > 0))
			r = write_part(j, batch + start, end - start);
		start = end;
	}
	/* NB. a synced record in a file whose name is not is lost all the same. */
	if (r == 0 && nparts > 0)
		r = fsync(j->dir_fd);
	*ret_first = j->first;
	*ret_off = j->off;
	pthread_mutex_unlock(&j->flk);
	return r;
}

static void *
commit_main(void *arg)
{
	struct journal *j = arg;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		struct split parts[WRIT_JOURNAL_MAX_SPLITS];
		struct waiter *ready;
		unsigned int nparts;
		uint64_t target, first, off;
		char *batch;
		size_t len, cap;
		int r;

		wait_locked(j);
		if (j->broken) {
			ready = take_waiters_locked(j, UINT64_MAX);
			pthread_cond_broadcast(&j->flushed);
			pthread_mutex_unlock(&j->lock);
			run_waiters(ready, false);
			pthread_mutex_lock(&j->lock);
			if (j->stopping)
				break;
			continue;
		}
		if (j->stopping && j->synced == j->written)
			break;
		if (j->ops.closing != NULL)
			j->ops.closing(j->ops.arg, j);
		target = j->written;
		/* Swap buffers: appenders go on filling the spare meanwhile. */
		batch = j->pend;
		len = j->pend_len;
		cap = j->pend_cap;
		nparts = j->nsplits;
		memcpy(parts, j->splits, nparts * sizeof(parts[0]));
		j->nsplits = 0;
		j->pend = j->spare;
		j->pend_cap = j->spare_cap;
		j->pend_len = 0;
		j->spare = NULL;
		j->spare_cap = 0;
		if (j->ops.taken != NULL)
			j->ops.taken(j->ops.arg, nparts > 0);
		clock_gettime(CLOCK_MONOTONIC, &j->began);
		pthread_mutex_unlock(&j->lock);
		r = commit(j, batch, len, parts, nparts, &first, &off);
		if (r == 0 && j->ops.durable != NULL)
			j->ops.durable(j->ops.arg, batch, len, target, first, off);
		pthread_mutex_lock(&j->lock);
		j->began.tv_sec = 0;
		if (j->ops.ended != NULL)
			j->ops.ended(j->ops.arg, nparts > 0);
		j->spare = batch;
		j->spare_cap = cap;
		if (r != 0) {
			/* NB. after a failed fsync, never trust a later one. */
			if (!j->broken)
				fprintf(stderr, "writd: writing or syncing the %s failed (%s); issuing "
				    "stops until writd restarts with a working %s\n", j->ops.what,
				    strerror(errno), j->ops.what);
			j->broken = true;
			pthread_cond_broadcast(&j->flushed);
			continue;
		}
		j->synced = target;
		ready = take_waiters_locked(j, target);
		pthread_cond_broadcast(&j->flushed);
		pthread_mutex_unlock(&j->lock);
		run_waiters(ready, true);
		pthread_mutex_lock(&j->lock);
	}
	pthread_cond_broadcast(&j->flushed);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int
journal_open(const char *dir, const char *name, int fd, uint64_t first, uint64_t off,
    uint64_t seq, const struct journal_ops *ops, struct journal **ret_j, char err[WRIT_ERRLEN])
{
	struct journal *j;
	pthread_condattr_t ca;

	if (ops->lazy_ms != 0 && (ops->idle != NULL || ops->lazy_records == 0)) {
		close(fd);
		snprintf(err, WRIT_ERRLEN, "a lazy journal has lazy_records and no idle slot");
		return WRIT_EINTERNAL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		close(fd);
		snprintf(err, WRIT_ERRLEN, "out of memory");
		return WRIT_ENOMEM;
	}
	j->ops = *ops;
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	snprintf(j->name, sizeof(j->name), "%s", name);
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->flk, NULL);
	/* NB. the idle slot's times are wall clock, a lazy batch's monotonic. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, ops->lazy_ms != 0 ? &ca : NULL);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&j->flushed, NULL);
	j->fd = fd;
	j->off = off;
	j->first = first;
	j->written = j->synced = seq;
	j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dir_fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (pthread_create(&j->thread, NULL, commit_main, j) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot start the %s's commit thread", ops->what);
		goto fail;
	}
	*ret_j = j;
	return 0;
 fail:
	if (j->dir_fd >= 0)
		close(j->dir_fd);
	close(fd);
	free(j);
	return WRIT_EINTERNAL;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lock);
	j->stopping = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	run_waiters(j->waiters, false);
	close(j->fd);
	close(j->dir_fd);
	free(j->pend);
	free(j->spare);
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->flk);
	pthread_cond_destroy(&j->cond);
	pthread_cond_destroy(&j->flushed);
	free(j);
}

void
journal_lock(struct journal *j)
{
	pthread_mutex_lock(&j->lock);
}

void
journal_unlock(struct journal *j)
{
	pthread_mutex_unlock(&j->lock);
}

uint64_t
journal_append_locked(struct journal *j, const void *rec, size_t len, bool split)
{
	if (j->broken || (split && j->nsplits == WRIT_JOURNAL_MAX_SPLITS))
		return 0;
	if (j->pend_len + len > j->pend_cap) {
		size_t cap = j->pend_cap ? j->pend_cap * 2 : 65536;
		char *p;

		while (cap < j->pend_len + len)
			cap *= 2;
		p = realloc(j->pend, cap);
		if (p == NULL)
			return 0;
		j->pend = p;
		j->pend_cap = cap;
	}
	if (split) {
		j->splits[j->nsplits].off = j->pend_len;
		j->splits[j->nsplits++].first = j->written + 1;
	}
	/* NB. a lazy batch wakes its thread at its first record and when full only. */
	if (j->ops.lazy_ms == 0 || j->pend_len == 0 ||
	    j->written + 1 - j->synced >= j->ops.lazy_records)
		pthread_cond_signal(&j->cond);
	if (j->pend_len == 0)
		clock_gettime(CLOCK_MONOTONIC, &j->since);
	memcpy(j->pend + j->pend_len, rec, len);
	j->pend_len += len;
	return ++j->written;
}

uint64_t
journal_seq_locked(const struct journal *j)
{
	return j->written;
}

unsigned int
journal_splits_locked(const struct journal *j, uint64_t *ret_last)
{
	*ret_last = j->nsplits > 0 ? j->splits[j->nsplits - 1].first : 0;
	return j->nsplits;
}

bool
journal_broken_locked(const struct journal *j)
{
	return j->broken;
}

bool
journal_ok(struct journal *j)
{
	bool ok;

	pthread_mutex_lock(&j->lock);
	ok = !j->broken;
	pthread_mutex_unlock(&j->lock);
	return ok;
}

uint64_t
journal_synced(struct journal *j)
{
	uint64_t n;

	pthread_mutex_lock(&j->lock);
	n = j->synced;
	pthread_mutex_unlock(&j->lock);
	return n;
}

void
journal_wait(struct journal *j, uint64_t seq, void (*done)(void *arg, bool ok), void *arg)
{
	struct waiter *w;

	pthread_mutex_lock(&j->lock);
	if (j->broken || seq == 0 || seq <= j->synced) {
		bool ok = !j->broken && seq != 0;

		pthread_mutex_unlock(&j->lock);
		done(arg, ok);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		pthread_mutex_unlock(&j->lock);
		done(arg, false);
		return;
	}
	w->seq = seq;
	w->done = done;
	w->arg = arg;
	w->next = j->waiters;
	j->waiters = w;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

int
journal_flush(struct journal *j)
{
	uint64_t target;
	int r;

	pthread_mutex_lock(&j->lock);
	target = j->written;
	if (j->flush_to < target)
		j->flush_to = target;
	pthread_cond_signal(&j->cond);
	while (!j->broken && j->synced < target)
		pthread_cond_wait(&j->flushed, &j->lock);
	r = j->synced < target ? -1 : 0;
	pthread_mutex_unlock(&j->lock);
	return r;
}

bool
journal_watchdog(struct journal *j, int max, bool *ret_fired)
{
	struct waiter *stuck = NULL;
	struct timespec now;
	bool busy;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&j->lock);
	if (j->began.tv_sec != 0 && now.tv_sec - j->began.tv_sec > max && !j->broken) {
		j->broken = true;
		*ret_fired = true;
		stuck = take_waiters_locked(j, UINT64_MAX);
		pthread_cond_broadcast(&j->flushed);
	}
	busy = j->waiters != NULL || (j->began.tv_sec != 0 && !j->broken);
	pthread_mutex_unlock(&j->lock);
	run_waiters(stuck, false);
	return busy;
}

int
journal_replace(struct journal *j, int (*fn)(void *arg, int fd, bool *ret_break), void *arg)
{
	bool brk = false;
	int nfd = -1;

	pthread_mutex_lock(&j->flk);
	if (journal_ok(j) && (nfd = fn(arg, j->fd, &brk)) >= 0) {
		close(j->fd);
		j->fd = nfd;
	}
	pthread_mutex_unlock(&j->flk);
	if (brk) {
		struct waiter *ready;

		pthread_mutex_lock(&j->lock);
		/* NB. never trust a later sync: the name itself may not be durable. */
		if (!j->broken)
			fprintf(stderr, "writd: syncing the %s's directory failed; issuing stops "
			    "until writd restarts with a working %s\n", j->ops.what, j->ops.what);
		j->broken = true;
		ready = take_waiters_locked(j, UINT64_MAX);
		pthread_cond_broadcast(&j->flushed);
		pthread_mutex_unlock(&j->lock);
		run_waiters(ready, false);
	}
	return nfd;
}
