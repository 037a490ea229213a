/*
 * minter.h - what the front end may ask of the side that holds the keys.
 *
 * writd is being split in two (issue 16): a front end that parses
 * everything a sandbox sends (HTTP, JSON, sessions, policy, approvals) and
 * holds no long-lived key, and a minter that holds the secret store, the
 * kinds' keys, the audit journal and the ledger.  This header is the
 * front end's whole view of the minter: each call here is one message of
 * the request table (proto.h), and takes and gives only what such a
 * message can carry (names, canonical JSON, numbers, ids, tokens), never
 * a pointer into the other side's state.  Until the two run as separate
 * processes the calls are made in-process; the minter checks each one as
 * if it came from a compromised front end all the same.
 */
#ifndef WRIT_MINTER_H
#define WRIT_MINTER_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

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
	struct secret *token;		/* 0: the token, for done to take */
};

/*
 * Check o again (order_check: the kind exists, the scope re-canonicalizes
 * to itself, the ttl is within the kind's maximum, the enterprise layer
 * neither denies nor limits it, the cap leaves at least a second), mint, and record the writ (its ledger entry and its "issued"
 * audit record, with the fingerprint) before the token is handed back:
 * done(arg, r) is called once, when the record is durable or the mint
 * failed (a token whose record could not be made durable is revoked).
 * done may run at once, on this thread, or on an upstream worker or the
 * audit log's sync thread; no lock held.  r is done's to read and its
 * token done's to take; r lives until done returns.  o's pointers need
 * live only for this call.
 */
void minter_mint(const struct mint_order *o, void (*done)(void *arg, struct mint_result *r),
    void *arg);

/*
 * Put the enterprise layer in force for MINT's checks (a policy parsed
 * from the enterprise file alone); returns the one it replaces.
 */
struct policy *minter_set_limits(struct policy *enterprise);

/*
 * At stop, once upstream_cancel failed what waits: wait until every
 * order taken is answered (what runs upstream, and records still to be
 * made durable).  What done could not keep is then queued for revocation.
 */
void minter_drain(void);

#endif
