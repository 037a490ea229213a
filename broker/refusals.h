/*
 * refusals.h - a session's refused requests, counted within a budget.
 *
 * An agent may send refused requests as fast as it likes (a policy deny,
 * a cooldown, a rate limit, a full approval queue); a record for each
 * would let it fill the audit log and stop writd's next start.  So each
 * session has a token bucket for the records of its refusals: up to
 * WRIT_REFUSALS_BURST at once, one more every WRIT_REFUSALS_EVERY
 * seconds.  A refusal beyond that is not lost but counted, per key (kind,
 * decision, error, tier, rule), and the counts are written as one
 * "requests_refused" record per key (with "count") by the session's first
 * refusal WRIT_REFUSALS_FLUSH_EVERY seconds or more after the oldest count
 * (refusals_due), by the reaper at that time when no refusal comes
 * (refusals_next_due), and when the session ends.  Every refused request is in
 * exactly one record: its own, or a count (a crash loses counts not yet
 * written).
 *
 * Pure: no locks, no I/O; the session (session.h) holds one of these
 * under writd_lock, and writes what refusals_take_counts hands back.
 */
#ifndef WRIT_REFUSALS_H
#define WRIT_REFUSALS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

/* Refusal records one session may write at once, and one more per this many seconds. */
#define WRIT_REFUSALS_BURST 32
#define WRIT_REFUSALS_EVERY 2
/* Counts are written at most this often (seconds), and at the session's end. */
#define WRIT_REFUSALS_FLUSH_EVERY 60
/*
 * Distinct keys counted at once; a refusal with a new key when all are
 * taken is counted in the last one, whose key then reads "mixed": the
 * count stays exact, what it was for is summed up.
 */
#define WRIT_REFUSALS_KEYS 8

/* What a refusal is counted under; strings are cut to fit. */
struct refusal {
	const char *kind;
	const char *decision;	/* "deny", "cooling_down", "rate_limited", "ask" */
	const char *error;	/* the error's name: "policy_denied" ... */
	const char *tier;
	const char *rule;
};

struct refusals {
	unsigned int tokens;
	int64_t refilled;		/* monotonic seconds of the last refill */
	bool started;
	int64_t since;			/* monotonic: the oldest count not yet written */
	unsigned int nkeys;
	struct {
		char kind[24], decision[16], error[32], tier[24], rule[72];
		uint64_t count;
		int64_t first, last;	/* wall clock of the first and last counted */
	} key[WRIT_REFUSALS_KEYS];
};

/*
 * May a refusal at monotonic now be written in full?  Tops the bucket up
 * first.  Does not take a token.
 */
bool refusals_room(struct refusals *r, int64_t now);

/*
 * A refusal at now (monotonic; wall for its times): true when a token was
 * taken and the caller writes its record, false when it was counted under
 * what instead.
 */
bool refusals_add(struct refusals *r, const struct refusal *what, int64_t now, int64_t wall);

/* True when counts wait and the last were written WRIT_REFUSALS_FLUSH_EVERY ago. */
bool refusals_due(const struct refusals *r, int64_t now);

/* When counts will be due (monotonic seconds), INT64_MAX when none wait. */
int64_t refusals_next_due(const struct refusals *r);

/*
 * The counts as an array of record members ({kind, decision, error, tier,
 * rule, count, first, last}, a new reference; an empty array when none),
 * and forget them.
 */
json_t *refusals_take_counts(struct refusals *r);

#endif
