/*
 * audit.h - the tamper-evident, durable audit log.
 *
 * <state_dir>/audit.jsonl, JSON Lines, append-only (0600, O_APPEND,
 * O_NOFOLLOW).  Every record has "seq", "time", "event" and ends with
 * "mac": BLAKE2b-256, keyed with a key from the secret store, over the
 * previous record's mac and this record's bytes.  A removed, reordered or
 * altered record breaks the chain from there on; without the key the chain
 * cannot be rebuilt.
 *
 * Write-ahead: an "issued" record is durable (fdatasync) before its token
 * leaves writd.  Syncs are shared: one thread syncs whatever was written
 * meanwhile (group commit) and resumes every request it made durable, so
 * durability holds no HTTP thread.  After any write or sync failure the log
 * is broken for good (a later successful fsync proves nothing about lost
 * pages): issuance fails with 503 audit_unavailable, revocation goes on.
 * Secrets never enter it: tokens appear as keyed fingerprints.
 */
#ifndef WRIT_AUDIT_H
#define WRIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sjson.h"

/* Longest record, in bytes. */
#define WRIT_MAX_AUDIT_RECORD 8192
/* Largest log read back at start or by verify. */
#define WRIT_MAX_AUDIT_FILE (1024LL * 1024 * 1024)

struct audit_scan {
	uint64_t records;	/* good records */
	uint64_t last_seq;
	unsigned char last_mac[32];
	size_t good_len;	/* bytes up to the end of the last good record */
	uint64_t bad_seq;	/* the first bad record's position (1-based), 0 if none */
	bool torn;		/* only the last, unterminated line is bad */
	char why[128];
};

/*
 * One log line for the JSON object text body (ending in '}'), chained to
 * prev: body with ',"mac":"<hex>"}' spliced in, and a newline.  Returns its
 * length (0 if it does not fit in size), the new mac in mac.
 */
size_t audit_format(const unsigned char key[32], const unsigned char prev[32],
    const char *body, char *line, size_t size, unsigned char mac[32]);

/*
 * Check buf (a whole log) against key.  Pure: no I/O, for start-up, verify
 * and the fuzzer.  Always fills *ret; returns 0 when every record is good,
 * or -1 (ret->bad_seq and ret->why say where and what).
 */
int audit_scan(const char *buf, size_t len, const unsigned char key[32],
    struct audit_scan *ret);

/*
 * Open the log under state_dir with the chain key from the store: check it,
 * cut a torn last record (and record that), start the sync thread.
 * Returns 0 or a code with a message (a broken chain stops writd).
 */
int audit_open(const char *state_dir, char err[WRIT_ERRLEN]);
void audit_close(void);

/*
 * Have the sync thread call presync before each sync, for what must be
 * durable before the records are (the ledger, see ledger.h); a failure
 * counts as the log's own.  Before audit_open.
 */
void audit_set_presync(int (*presync)(void));

/*
 * Also send every record, once durable, to syslog (LOG_AUTHPRIV; journald
 * under systemd): a copy off the machine's disk, for a SIEM.  Before
 * audit_open.
 */
void audit_mirror_syslog(void);

/* Append event with the members of fields (stolen, may be NULL).  Best effort. */
void audit_log(const char *event, json_t *fields);

/*
 * Append event and return its seq, to wait for with audit_wait; or 0 when
 * the log is broken (issuance must then fail).
 */
uint64_t audit_log_durable(const char *event, json_t *fields);

/* True while the log can take durable records. */
bool audit_ok(void);

/*
 * Call done(arg, ok) once every record up to seq is on disk (ok) or the log
 * broke (!ok); from the sync thread, or at once.  Lock NOT held.
 */
void audit_wait(uint64_t seq, void (*done)(void *arg, bool ok), void *arg);

/* Longest a sync may take before the log counts as broken, in seconds. */
#define WRIT_AUDIT_SYNC_MAX 5

/*
 * Writes are bounded in time: called about once a second while requests
 * wait on the log; a sync stuck longer than WRIT_AUDIT_SYNC_MAX breaks the
 * log and fails its waiters (503).  Returns true while requests wait.
 */
bool audit_watchdog(void);

/* A keyed fingerprint of a token: what the log keeps instead of it. */
void audit_fingerprint(const void *token, size_t len, char out[33]);

/*
 * Verify the log on disk, or file (NULL: writd's own; else a log moved
 * aside, checked with the same key); JSON {"ok", "records", ...}.
 */
json_t *audit_verify(const char *file);

/* The last n records (of session id when not NULL). */
json_t *audit_tail(unsigned int n, const char *session);

#endif
