/*
 * ledger.h - every live writ, across crashes.
 *
 * <state_dir>/ledger.jsonl, JSON Lines, 0600.  An "add" record per writ
 * issued: id; session (id, name and, when tied to a process, its pid, that
 * process's start time and the boot it ran in); kind; canonical scope;
 * issued and expiry times; a keyed fingerprint of the token; and, only for
 * kinds that revoke, the token itself sealed (secretbox, with a key kept
 * in the secret store, not beside the file).  A "done" record closes the
 * entry once the writ is gone (for kinds that revoke upstream: once
 * upstream confirmed).
 *
 * The file is a journal (journal.h), and a lazy one: its commit thread
 * writes and syncs a batch once it is audit.ledger_lag old (1 s) or 4096
 * records long, off every request's path (ledger_flush waits for one).
 * Each batch ends with a mark: the audit log's seq when it was taken.
 * What makes a writ's entry durable before its token leaves is the audit
 * log: its "issued" record carries the entry's fields (ledger_note) and
 * is appended after the entry, so every "issued" record up to a mark has
 * its entry in the file before that mark.  At start, the "issued" records
 * after the file's last mark bring back the entries a crash took (and
 * "revoked"/"expired" ones close them).  Kinds that revoke upstream keep
 * the sealed token only here, never in the log: their workers flush right
 * after a mint, before the token leaves.
 *
 * At start the open entries come back (ledger_replay, for restore.c): their
 * writs live on in memory under restored sessions (no socket) and are
 * revoked at their expiry as before the crash, or at once when the sandbox
 * they were tied to has exited.
 * The file is compacted to its open entries at start and, on a thread of
 * its own, whenever closed entries outnumber open ones, so it stays
 * proportional to live writs.
 */
#ifndef WRIT_LEDGER_H
#define WRIT_LEDGER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../plugins/kind.h"
#include "sjson.h"

struct secret;

/*
 * No entry is issued at or after this (seconds since 1970: the year 36812):
 * a later time is not one writd wrote, and adding a lifetime to it could
 * overflow.
 */
#define WRIT_LEDGER_MAX_TIME ((int64_t)1 << 40)

/*
 * One writ's entry: what ledger_add records, and what ledger_replay hands
 * back at the next start, checked.
 */
struct ledger_entry {
	const char *id;			/* the writ's; 32 hex digits */
	const char *session, *name;	/* its session's id (32 hex digits) and name */
	const struct writ_kind *kind;
	const json_t *scope;		/* an object */
	int64_t issued_at, expires_at;	/* 0 < issued_at <= expires_at <= issued_at +
					   WRIT_MAX_DURATION; issued_at < WRIT_LEDGER_MAX_TIME */
	pid_t pid;			/* the process the session was tied to, or 0 */
	uint64_t pid_start;		/* ... its start time */
	bool same_boot;			/* replayed: ... in this boot (pids repeat across boots) */
	bool ending;			/* replayed: revoked or expired in the last run, its
					   revocation not yet confirmed upstream: end it now */
	struct secret *token;		/* kinds that revoke: sealed by ledger_add; replayed, fn owns it */
};

/*
 * Open (creating) the ledger, compact it and keep its open entries for
 * ledger_replay.  Start-up only, after the audit log, kinds and upstream
 * workers.  Returns 0 or a code with a message.
 */
int ledger_open(const char *state_dir, int64_t lag, char err[WRIT_ERRLEN]);

/*
 * Hand each open entry ledger_open read to fn, once, then forget them.
 * An entry writd did not write, or whose token does not unseal, is closed
 * instead (and audited "revoke_failed").  fn returns true when it brought
 * the writ back.  Returns how many it did.  Start-up only.
 */
unsigned int ledger_replay(bool (*fn)(const struct ledger_entry *e, void *arg), void *arg);

/*
 * Break the ledger when a sync has run longer than WRIT_AUDIT_SYNC_MAX
 * (nothing more is issued then): the reaper calls it, no lock held, as
 * audit_watchdog.  True while a sync runs or someone waits for one.
 */
bool ledger_watchdog(void);

/* Flush, then close; at shutdown, after the last writ is gone. */
void ledger_close(void);

/*
 * Buffer entry e (but for same_boot: this boot's), with fp, the token's
 * audit_fingerprint; the token is sealed when e's kind revokes, else not
 * kept, and the pid only when pid_start is known.  Durable after the next
 * ledger_flush.  Returns 0, WRIT_ENOMEM, or WRIT_EAUDIT when the file
 * cannot be written (nothing may be issued then).
 */
int ledger_add(const struct ledger_entry *e, const char fp[33]);

/*
 * Add to the fields of e's "issued" audit record what its entry holds
 * beyond them (the session's name, the issue time, the process), so that
 * the entry can be recovered from the log.  Returns 0 or WRIT_ENOMEM.
 */
int ledger_note(const struct ledger_entry *e, json_t *rec);

/*
 * Buffer that writ id ended and its revocation is queued upstream: its
 * entry stays open until ledger_done, and a start before then resumes the
 * revocation (ledger_entry's ending) instead of bringing the writ back.
 */
void ledger_ending(const char *id);

/* Buffer the closing of writ id's entry. */
void ledger_done(const char *id);

/*
 * Wait until what is buffered is written and synced (and start a
 * compaction when due).  Blocks on I/O: never from a thread serving
 * HTTP.  Returns 0, or WRIT_EAUDIT when a record was lost or the file
 * cannot be written, synced, or is no longer in place.
 */
int ledger_flush(void);

#endif
