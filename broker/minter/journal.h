/*
 * journal.h - group commit: an append-only file written and synced by a
 * thread of its own.
 *
 * Appenders copy records into a buffer under the journal's lock and never
 * do I/O.  The commit thread swaps buffers (appenders go on filling the
 * other one), writes the batch with one write() and one fdatasync(), checks
 * the file is still the one under its name (deleted, or moved aside and
 * replaced, the records went where nobody will look), and then wakes every
 * waiter whose seq the batch made durable.  A seq counts records: the
 * journal starts at the format's last durable one.
 *
 * Never trust a failed fsync: after any write or sync failure the journal
 * is broken for good (a later successful fsync proves nothing about the
 * pages the failed one lost), and every waiter, present and future, is
 * told !ok.  A commit stuck longer than a bound breaks it too
 * (journal_watchdog), so no request waits on a dead disk forever.
 *
 * A batch may be split: the records from a split on go to a new file
 * (the current one renamed to the format's name for it first, never over
 * a file already there), then the directory is synced.  So a rotation
 * neither loses nor reorders records.
 *
 * The formats on top: audit.c (hash chain, rotation, state record,
 * checkpoints) and ledger.c (add/done records, sealed tokens,
 * compaction).  Each is a journal of its own, and one fdatasync per
 * commit is what a writ waits for: the audit log's.  The ledger's journal
 * is lazy (lazy_ms): its file lags the log, each batch ending with the
 * audit point it covers (its closing slot), and what a crash takes from
 * it comes back at start from the "issued" records after that point,
 * which carry the entry's fields (ledger.h).  One file serving both was
 * weighed and refused: the audit log is a document that leaves the
 * machine (the syslog mirror, a SIEM, rotated files kept as evidence),
 * and a sealed token in it is a token whose only guard is the ledger key.
 * So kinds that revoke (GitHub) still flush the ledger on their upstream
 * worker before the token leaves, off the audit thread.
 */
#ifndef WRIT_JOURNAL_H
#define WRIT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sjson.h"

struct journal;

/* Most splits (new files) in one batch; the format coalesces past it. */
#define WRIT_JOURNAL_MAX_SPLITS 64
/* Longest file name a format gives a file it moves aside. */
#define WRIT_JOURNAL_NAME_MAX 64

/* What a format tells the journal; any slot may be NULL. */
struct journal_ops {
	void *arg;			/* handed to every slot */
	/* What "<name>" is in messages: "audit log", "ledger". */
	const char *what;
	/*
	 * The name the current file, whose first record is seq first, takes
	 * when a split moves it aside.  Needed by a format that splits.
	 */
	void (*moved_name)(uint64_t first, char out[WRIT_JOURNAL_NAME_MAX + 1]);
	/*
	 * Lazy: non-zero, a batch waits up to lazy_ms for more (or until it
	 * holds lazy_records), unless someone waits for it (journal_wait,
	 * journal_flush) or the journal closes.  For a file whose durability
	 * is off every waiter's path (the ledger).  Not with an idle slot.
	 */
	unsigned int lazy_ms, lazy_records;
	/*
	 * Commit thread, lock held, just before a batch is taken: may
	 * append (the ledger notes the audit point it covers).  On a lazy
	 * journal also every lazy_ms while nothing is pending, where what it
	 * appends starts a batch (the ledger's point follows the log while
	 * no writ comes or goes).
	 */
	void (*closing)(void *arg, struct journal *j);
	/* Commit thread, lock held: a batch was taken (moves: it splits) ... */
	void (*taken)(void *arg, bool moves);
	/* ... and its commit ended (ok or not), lock held. */
	void (*ended)(void *arg, bool moves);
	/*
	 * Commit thread, no lock: the batch is durable, up to seq, and the
	 * file it ended in (first record first) holds off bytes; before any
	 * waiter is woken.
	 */
	void (*durable)(void *arg, const char *batch, size_t len, uint64_t seq,
	    uint64_t first, uint64_t off);
	/*
	 * Lock held, when the commit thread has nothing to do: when to call
	 * again with due true (0: never, until more comes).  With due true it
	 * may append.
	 */
	time_t (*idle)(void *arg, bool due);
};

/*
 * Take over fd, open (O_APPEND) on dir/name: it begins at record first
 * and holds off bytes; the last record so far (in it or before) is seq.
 * Start the commit thread.  ops is copied.  Returns 0 and *ret_j, or a
 * code with a message (fd closed).
 */
int journal_open(const char *dir, const char *name, int fd, uint64_t first, uint64_t off,
    uint64_t seq, const struct journal_ops *ops, struct journal **ret_j, char err[WRIT_ERRLEN]);

/*
 * Commit what is appended, stop the thread (its waiters are run) and
 * close the file; j may be NULL.
 */
void journal_close(struct journal *j);

/* The lock appenders and the format's own state share. */
void journal_lock(struct journal *j);
void journal_unlock(struct journal *j);

/*
 * Lock held: copy a record (len bytes, with its newline) into the buffer;
 * with split, it begins a new file.  Returns its seq, or 0 when broken,
 * out of memory, or (split) past WRIT_JOURNAL_MAX_SPLITS splits.
 */
uint64_t journal_append_locked(struct journal *j, const void *rec, size_t len, bool split);

/* Lock held: the last seq appended, and the first of the last pending split (0: none). */
uint64_t journal_seq_locked(const struct journal *j);
unsigned int journal_splits_locked(const struct journal *j, uint64_t *ret_last);

/* Lock held / not: true once a write or sync failed (or the watchdog fired). */
bool journal_broken_locked(const struct journal *j);
bool journal_ok(struct journal *j);

/* Every record up to this one is durable. */
uint64_t journal_synced(struct journal *j);

/*
 * Call done(arg, ok) once every record up to seq is durable (ok) or the
 * journal broke (!ok); from the commit thread, or at once.  Lock NOT held
 * (by the caller, nor while done runs).  seq 0 is !ok.
 */
void journal_wait(struct journal *j, uint64_t seq, void (*done)(void *arg, bool ok), void *arg);

/*
 * Block until everything appended so far is durable.  Does I/O by proxy:
 * never from a thread serving HTTP.  Returns 0, or -1 when the journal
 * is broken and something appended is not durable.
 */
int journal_flush(struct journal *j);

/*
 * Break j when a commit has run longer than max seconds: its waiters are
 * failed and *ret_fired set (the caller says so).  Returns true while
 * waiters wait or a commit runs (call again about once a second).
 */
bool journal_watchdog(struct journal *j, int max, bool *ret_fired);

/*
 * Between commits (none runs meanwhile): fn(arg, fd, &brk) may replace the
 * file under the journal's name, returning the new fd (open O_APPEND) to go
 * on with, which the journal takes; or -1 to keep the file.  fn sets brk
 * when the new name may not survive a crash (its directory's sync failed):
 * the journal is broken then, as after a failed fsync.  Not called once
 * broken.  Returns fn's answer, or -1.
 */
int journal_replace(struct journal *j, int (*fn)(void *arg, int fd, bool *ret_break),
    void *arg);

#endif
