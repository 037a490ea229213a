/*
 * minter.h - what the front end may ask of the side that holds the keys.
 *
 * writd runs as two processes (issue 16): the front end (writd) parses
 * everything a sandbox sends (HTTP, JSON, sessions, policy, approvals)
 * and holds no long-lived key; the minter (writd-minter) holds the secret
 * store, the kinds' keys, the audit journal and the ledger.  This header
 * is the front end's whole view of the minter: each call is one message
 * of the request table (proto.h), and takes and gives only what such a
 * message can carry (names, canonical JSON, numbers, ids, tokens), never
 * a pointer into the other side's state.
 *
 * Each call has two bodies, one in each process: the front end's
 * (link.c) sends the message and waits for its answer; the minter's
 * (minter.c, mint.c, reached through serve.c) does the work, checking
 * each request as if a compromised front end sent it.  The calls marked
 * "the minter's own" below are not on the channel: only writd-minter
 * has them.
 */
#ifndef WRIT_MINTER_H
#define WRIT_MINTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "../../plugins/grammar.h"
#include "../../policy/policy.h"
#include "errors.h"
#include "id.h"
#include "secret.h"

/*
 * MINT: one writ, for a request policy and a person (or a rule) approved.
 * req is the request as the front end put it to policy: the minter
 * decides it again by the enterprise layer alone, and refuses what that
 * denies or limits.
 */
struct mint_order {
	struct policy_request req;	/* kind, canonical scope, ttl, session name ... */
	int64_t cap;			/* wall clock: a job's writ ends by then; 0: none */
	const char *session_id;		/* 32 hex digits */
	pid_t pid;			/* the process the session is tied to, or 0 */
	uint64_t pid_start;		/* ... its start time, 0 unknown */
	const char *approval;		/* the pending request a person approved, or NULL */
	const json_t *identity;		/* the session's job identity for records, or NULL */
};

/* What a MINT comes back with. */
struct mint_result {
	int code;			/* 0, or a WRIT_E* code */
	char err[WRIT_ERRLEN];		/* on error: a message, or "" for the code's */
	int retry_after;		/* on WRIT_EUPLIMIT: seconds */
	char id[WRIT_ID_LEN + 1];	/* the writ's id, fresh: the minter makes it */
	int64_t issued_at, expires_at;	/* wall clock */
	char fingerprint[33];		/* the token's keyed fingerprint, as audited */
	struct secret *token;		/* 0: the token, for done to take */
};

/*
 * Check o again (order_check: the kind exists, the scope re-canonicalizes
 * to itself, the ttl is within the kind's maximum, the enterprise layer
 * neither denies nor limits it, the cap leaves at least a second), mint, and record the writ (its ledger entry and its "issued"
 * audit record, with the fingerprint) before the token is handed back:
 * done(arg, r) is called once, when the record is durable or the mint
 * failed (a token whose record could not be made durable is revoked).
 * done may run at once, on this thread; else, in the front end, on the
 * channel's reader (link.c), and in the minter on an upstream worker or
 * the audit log's sync thread; no lock held.  r is done's to read and its
 * token done's to take; r lives until done returns.  o's pointers need
 * live only for this call.
 */
void minter_mint(const struct mint_order *o, void (*done)(void *arg, struct mint_result *r),
    void *arg);

/*
 * The minter's own: put the enterprise layer in force for MINT's checks
 * (a policy parsed from the enterprise file alone); returns the one it
 * replaces.
 */
struct policy *minter_set_limits(struct policy *enterprise);

/*
 * RELOAD: the minter reads the enterprise policy again from its own
 * path, all or nothing.  0, or a code with why in err (the old one
 * stays).
 */
int minter_reload(char err[WRIT_ERRLEN]);

/*
 * REVOKE: end writ id now: its "revoked" record saying why, upstream
 * where its kind can, its ledger entry closed.  Returns 0, or
 * WRIT_ENOTFOUND when the minter holds no live writ of that id (it ended
 * at its expiry, say).
 */
int minter_revoke(const char *id, const char *why);

/*
 * REVOKE_TOKEN: as minter_revoke, for the live writ of session
 * session_id (NULL: any) whose token is token (compared in constant
 * time); its id into ret_id.  Returns 0 or WRIT_ENOTFOUND.
 */
int minter_revoke_token(const char *session_id, const char *token,
    char ret_id[WRIT_ID_LEN + 1], const char *why);

/*
 * ENDED: at start, the front end's handler of the notice the minter sends
 * for each writ it ended at its expiry (after its "expired" record); it
 * may run on any thread, no lock held.
 */
void minter_set_ended(void (*fn)(const char *id));

/*
 * End the writs past their expiry at now (wall clock) at once, as
 * minter_tick does: a listing of live writs is exact.  No lock held.
 */
void minter_expire(int64_t now);

/* PUBLIC_KEYS: what a verifier of kind's tokens needs (jwt: a JWKS), or NULL. */
json_t *minter_public_keys(const char *kind);

/*
 * THROTTLED: is upstream refusing kind's canonical scope for now (kind.h's
 * throttled)?  0, or WRIT_EUPLIMIT with the seconds left and a message.
 */
int minter_throttled(const char *kind, const json_t *scope, int *ret_retry_after,
    char err[WRIT_ERRLEN]);

/*
 * SECRET_PUT, SECRET_DEL, SECRET_LIST: the store's secrets, written (and
 * audited "secret_set" / "secret_removed" by name and size) but never read
 * back; the list holds names and times only.  0 or a code with a message
 * (put); 0 or WRIT_ENOTFOUND (del); NULL when the store cannot be read.
 */
int minter_secret_put(const char *name, const void *value, size_t len,
    char err[WRIT_ERRLEN]);
int minter_secret_del(const char *name);
json_t *minter_secret_list(void);

/*
 * AUDIT_TAIL, AUDIT_VERIFY, AUDIT_ROTATE, AUDIT_KEY: the audit log's last
 * records (audit_tail), its check (audit_verify), a rotation (its seq, 0
 * when the log is broken), the checkpoints' public key (hex, into out).
 */
json_t *minter_audit_tail(unsigned int n, const char *session, uint64_t after);
json_t *minter_audit_verify(const char *file, const char *checkpoint);
uint64_t minter_audit_rotate(const char *why);
void minter_audit_key(char out[65]);

/* What PEER says of a caller. */
struct minter_peer {
	char exe[256];			/* /proc/PID/exe, printable; "?" when unreadable */
	char cwd[256];			/* /proc/PID/cwd, printable; "?" when unreadable */
	bool other_userns;		/* in a user namespace not writd's */
};

/*
 * PEER: what /proc shows of caller pid (of uid, its SO_PEERCRED uid) that
 * the confined front end may not read itself (peer.c): the minter reads
 * it (procpeer.h) by pid, so the caller holds a pidfd of pid across the
 * call and checks after it that the process is still there.  The front
 * end's alone (the minter's body is serve.c's, over procpeer.c).
 * Returns 0 and *ret, or a code (the minter is gone).
 */
int minter_peer(pid_t pid, uid_t uid, struct minter_peer *ret);

/*
 * The minter's own: its clock, called at least at the time it returns (wall
 * clock) and within a second while *ret_busy: it ends writs past their
 * expiry ("expired", and ENDED), closes idle key pages, and breaks a log whose sync
 * hangs (the watchdogs).  No lock held.
 */
int64_t minter_tick(int64_t now, bool *ret_busy);

/* A writ of the last run the minter keeps again: what the front end lists. */
struct minter_restored {
	const char *id;			/* the writ's */
	const char *session, *name;	/* its session's id and name */
	const struct kind_grammar *kind;
	const json_t *scope;		/* canonical */
	int64_t issued_at, expires_at;
	pid_t pid;			/* the process the session was tied to, or 0 */
	uint64_t pid_start;		/* ... its start time */
	bool same_boot;			/* ... in this boot */
};

/*
 * RESTORE, at start: bring back the writs the last run left open (the
 * minter keeps them again, audited "restored") and hand each to fn,
 * which brings back its session and its place in the front end's table
 * (false: it could not; the minter still ends the writ at its expiry).
 * fn runs with no lock held.  Returns how many came back, or WRIT_EAUDIT
 * when what the minter recorded could not be made durable.
 */
int minter_restore(bool (*fn)(const struct minter_restored *r, void *arg), void *arg);

/*
 * The minter's own: wait until what it recorded so far (ledger entries
 * closed by revocations, say) is durable.  Returns 0 or WRIT_EAUDIT.  Blocks on
 * I/O: never from a thread serving HTTP.
 */
int minter_flush(void);

/*
 * STOP, at stop, after the front end ended its writs (the front end's
 * body then waits for the minter to exit): fail the mints that wait
 * upstream, wait until every order taken is answered (a writ answered now
 * finds its session closed, and the front end has it revoked), end any
 * writ the minter still holds, and run every revocation queued upstream
 * before its workers exit.
 */
void minter_stop(void);

/* The minter's own: minter_stop, with why for each writ's "revoked" record. */
void minter_stop_because(const char *why);

#endif
