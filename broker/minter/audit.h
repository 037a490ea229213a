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
 * Files: the log rotates (by size, on SIGHUP, on `writctl audit rotate`).
 * The current file is moved to audit-<first seq, 20 digits>.jsonl, names
 * that sort in the chain's order, and the new audit.jsonl begins with a
 * "rotated" record naming that file and its last mac ("prev_file",
 * "prev_mac"), chained to that mac: one chain across every file.
 *
 * Fast start: after each sync writd writes audit.state, a small record
 * (MACed with the chain key) of the current file, the offset and seq of
 * its last durable record and that record's mac.  At start only the bytes
 * after that point are checked (and the point itself against the bytes
 * there); rotated files are never read back.  `audit verify` reads all.
 *
 * Checkpoints: every N records or T seconds a "checkpoint" record carries
 * an Ed25519 signature (key in the secret store) over the seq and mac of
 * the record before it: "writ-audit-checkpoint:<at_seq>:<at_mac hex>".
 * Mirrored to syslog, a later checkpoint shows records cut off the end,
 * which a chain alone cannot.
 *
 * Write-ahead: an "issued" record is durable (fdatasync) before its token
 * leaves writd.  Syncs are shared: one thread syncs whatever was written
 * meanwhile (group commit) and resumes every request it made durable, so
 * durability holds no HTTP thread.  The same thread rotates, between the
 * records of one batch, so rotation neither loses nor reorders records.
 * After any write or sync failure the log is broken for good (a later
 * successful fsync proves nothing about lost pages): issuance fails with
 * 503 audit_unavailable, revocation goes on.  Secrets never enter it:
 * tokens appear as keyed fingerprints.
 */
#ifndef WRIT_AUDIT_H
#define WRIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../record.h"
#include "auditfmt.h"
#include "sjson.h"

/* Rotation and checkpoints; defaults below, config keys in writd-config(5). */
struct audit_conf {
	uint64_t rotate_size;		/* rotate once the file holds this many bytes */
	unsigned int checkpoint_records; /* a checkpoint every this many records ... */
	int64_t checkpoint_interval;	/* ... or seconds, whichever comes first */
	int64_t ledger_lag;		/* seconds the ledger's file may lag (ledger.h) */
};
#define WRIT_AUDIT_ROTATE_SIZE (64ULL * 1024 * 1024)
#define WRIT_AUDIT_MIN_ROTATE_SIZE (16ULL * 1024)
#define WRIT_AUDIT_MAX_ROTATE_SIZE (256ULL * 1024 * 1024)
#define WRIT_AUDIT_CHECKPOINT_RECORDS 1000
#define WRIT_AUDIT_MAX_CHECKPOINT_RECORDS 1000000
#define WRIT_AUDIT_CHECKPOINT_INTERVAL 300
#define WRIT_AUDIT_LEDGER_LAG 1
#define WRIT_AUDIT_MAX_LEDGER_LAG 3600

/* Before audit_open; without it, the defaults. */
void audit_configure(const struct audit_conf *conf);

/*
 * Open the log under state_dir with the chain and checkpoint keys from the
 * store (made at first start): check audit.jsonl from audit.state's point
 * (the point itself against the bytes there), or whole without one; with
 * no audit.jsonl, go on from the newest rotated file.  Cut a torn last
 * record (and record that), start the sync thread.  Rotated files are not
 * read.  Returns 0 or a code with a message (a broken chain, or a log cut
 * below its durable point, stops writd).
 */
int audit_open(const char *state_dir, char err[WRIT_ERRLEN]);
void audit_close(void);

/*
 * The seq of the last record appended (durable or not yet); any thread,
 * no lock.  What the ledger notes as the point its file covers.
 */
uint64_t audit_appended(void);

/*
 * Also send every record, once durable, to syslog (LOG_AUTHPRIV; journald
 * under systemd): a copy off the machine's disk, for a SIEM.  Before
 * audit_open.
 */
void audit_mirror_syslog(void);

/* audit_log, audit_ok: record.h's, the minter's bodies. */

/*
 * Append event and return its seq, to wait for with audit_wait; or 0 when
 * the log is broken (issuance must then fail).
 */
uint64_t audit_log_durable(const char *event, json_t *fields);


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
 * Verify file (a log moved aside, checked with the same key), or with
 * file NULL writd's own: every file, old to new, and the links between
 * them.  checkpoint (NULL: none) is a checkpoint's line from the mirror:
 * its signature is checked and the log must reach it with the same mac
 * (else records were cut off or changed).  JSON {"ok", "records", "files",
 * "public_key", "last_checkpoint", "checkpoint", ...}.
 */
json_t *audit_verify(const char *file, const char *checkpoint);

/*
 * Rotate (why: "signal", "admin"): the next records go to a new file.
 * Returns the seq of its "rotated" record (coalesced with a rotation
 * already due), or 0 when the log is broken.  The files move at the next
 * sync, at once.
 */
uint64_t audit_rotate(const char *why);

/* The checkpoints' Ed25519 public key, hex, into out. */
void audit_public_key(char out[65]);

/*
 * The last n records (of session id when not NULL; newer than seq after
 * when after is not 0; older than seq before when before is not 0), across
 * rotated files, oldest first.
 */
json_t *audit_tail(unsigned int n, const char *session, uint64_t after,
    uint64_t before);

/*
 * The records newer than seq after of one of events (a NULL-ended list),
 * at most the last max of them, across rotated files, oldest first.
 * *whole: whether the log still holds every record after that seq (a
 * rotated file moved away, or more than max found, leaves gaps).
 */
json_t *audit_since(uint64_t after, const char *const *events, unsigned int max,
    bool *whole);

#endif
