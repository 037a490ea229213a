/*
 * approval.h - requests waiting for a human, and the approvers who watch.
 *
 * Every request waits here until an approver decides it, its deadline
 * passes, its caller hangs up or exits, or its session closes.  An approval
 * is single-use and bound to one request: the decided request leaves the
 * table at once and its id is never reused.  Nothing is cached: the same
 * request a second later waits for a fresh decision.
 *
 * An approver is "connected" while a long-poll of GET /v1/requests is open
 * or ended less than WRIT_APPROVER_GRACE seconds ago (the gap between two
 * polls of `writctl watch`).  All functions: lock held.
 */
#ifndef WRIT_APPROVAL_H
#define WRIT_APPROVAL_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "../plugins/grammar.h"
#include "../policy/policy.h"

#include "id.h"

/* Seconds after a long-poll ends during which its approver still counts. */
#define WRIT_APPROVER_GRACE 3
/* Longest reason kept, in bytes, after control characters are stripped. */
#define WRIT_MAX_REASON 512
/* Decided request ids remembered, to tell "already decided" from "unknown". */
#define WRIT_DECIDED_MEMORY 256

struct peer;
struct req;
struct session;

struct pending {
	char id[WRIT_ID_LEN + 1];
	uint64_t seq;			/* order of arrival */
	struct session *session;	/* a reference */
	const struct peer *peer;	/* owned by the connection */
	const struct kind_grammar *kind;
	json_t *scope;			/* canonical */
	int64_t ttl;			/* seconds */
	char reason[WRIT_MAX_REASON + 1]; /* untrusted, control characters stripped */
	int64_t created_at, expires_at;	/* wall clock */
	int64_t deadline;		/* monotonic */
	struct policy_decision why;	/* the policy's answer: ask, which rule */
	char code[8];			/* typed approvals: the code to type */
	char digest[33];		/* binds an approval to what was shown */
	char dupkey[33];		/* equal for identical requests */
	int decision;			/* 0 waiting, 1 approved, or a WRIT_E* code */
	bool listed;
	struct MHD_Connection *mhd;
	struct req *rq;
	int fd;
	struct pending *next;
};

struct poller {
	uint64_t after;			/* wake for requests with seq > after */
	int64_t deadline;		/* monotonic */
	bool listed;
	struct MHD_Connection *mhd;
	struct req *rq;
	int fd;
	struct poller *next;
};

/* Pick this run's instance id (approval_instance); once, at start. */
void approval_start(void);

/*
 * Fail every request past its deadline with WRIT_ETIMEDOUT and end every
 * long-poll past its own (the reaper, at monotonic time now).  Returns
 * the earliest deadline left, or INT64_MAX.
 */
int64_t approval_expire(int64_t now);

/*
 * Queue p (filled in but for id, seq, times, code and digests), suspend its
 * connection, and start the approver command if one is configured.
 * max_pending is the session's ceiling.  Returns 0, WRIT_ENOAPPROVER,
 * WRIT_EPENDING, WRIT_EDUPLICATE or WRIT_ECLOSED.
 */
int approval_submit(struct pending *p, unsigned int max_pending);

/* What an approver says about one request. */
struct verdict {
	bool approve;
	const char *digest;		/* NULL, or must equal the request's */
	const char *confirm;		/* the typed code, for typed requests */
	bool trusted;			/* the approver command: no code needed */
};

/*
 * Decide request id.  Returns 0, WRIT_ENOTFOUND, WRIT_EDECIDED (already
 * decided; *ret_prior says how), WRIT_ECHANGED or WRIT_ECONFIRM (the
 * request stays pending), or WRIT_EGONE when the caller exited (the request
 * then fails).  *ret_cooldown is set when this denial cooled the session.
 */
int approval_decide(const char *id, const struct verdict *v, int *ret_prior,
    bool *ret_cooldown);

/* The approver command for request id ended with exit status ok or not. */
void approval_command_done(const char *id, bool ok);

/* Fail request id, if still pending, with code (its command could not start). */
void approval_fail(const char *id, int code);

/* Fail every request of session s (NULL: all) with code. */
void approval_cancel(const struct session *s, int code);

/* Take p out of the table if still listed, and free it with its references. */
void approval_release(struct pending *p);

/* JSON list of waiting requests with seq > after. */
json_t *approval_list(uint64_t after);
/* How many long-polls are open: approvers watching now. */
unsigned int approval_watchers(void);
/* The highest seq handed out so far. */
uint64_t approval_last_seq(void);
/*
 * This run's id (random, set by approval_start): seq numbers start again
 * in a restarted writd, so a watcher that sees another id starts over.
 */
const char *approval_instance(void);

/*
 * Park w until a request with seq > w->after arrives or its deadline; or
 * return false when one is already there.
 */
bool approval_wait(struct poller *w);
/* Take w out of the table if still listed. */
void approval_unwait(struct poller *w);
/* Wake every poller (at shutdown). */
void approval_wake_all(void);

/* The connection on fd hung up: fail its request or end its poll. */
void approval_hangup(int fd);

#endif
