/*
 * issue.h - issuing one writ, from a parsed request to its answer.
 *
 * POST /v1/writs is one struct issue moved through named stages (the
 * table at the top of issue.c): decided by policy, approved (by a rule or
 * a person), minted (inline, or on an upstream worker), recorded and
 * durable, answered.  The HTTP layer (api.c) parses the request, calls
 * issue_start, and answers what it is given; a request that had to wait
 * comes back through issue_resume.  The issue is the request's state
 * (struct req's state) and is freed with it.
 *
 * NB. write-ahead: a token leaves writd only in an answer issue_resume
 * gives once its ledger entry and its "issued" audit record are on disk.
 * A token minted for a request that is gone or refused is recorded or
 * revoked all the same.
 */
#ifndef WRIT_ISSUE_H
#define WRIT_ISSUE_H

#include <stdint.h>
#include <jansson.h>

#include "../plugins/grammar.h"
#include "../policy/policy.h"

struct req;

/* What the HTTP layer parsed from the request (api.c's parse_writ). */
struct issue_ask {
	const struct kind_grammar *kind;
	const json_t *scope;		/* canonical; issue_start takes its own reference */
	int64_t ttl;			/* seconds, within the kind's maximum */
	const char *reason;		/* NULL or at most WRIT_MAX_REASON bytes; not kept */
};

/* What to answer. */
struct issue_answer {
	int code;			/* 0: 201 with body; else a WRIT_E* code */
	json_t *body;			/* 201: the writ and its token (a secret);
					   error: members to add to "error", or NULL */
	const char *detail;		/* error: NULL for the code's own message; else
					   lives as long as the request */
	int retry_after;		/* error: seconds, or 0 */
};

/*
 * Issue a writ for rq, a request on a session socket.  Returns 1 with
 * *ret to answer (the caller owns ret->body), or 0 when rq is suspended:
 * it comes back to the handler, which then calls issue_resume.  Lock NOT
 * held.
 */
int issue_start(struct req *rq, const struct issue_ask *ask, struct issue_answer *ret);

/* rq (whose state is an issue) came back from a suspension: go on.  As issue_start. */
int issue_resume(struct req *rq, struct issue_answer *ret);

/* Put policy p in force; returns the one it replaces (the caller frees it). */
struct policy *issue_set_policy(struct policy *p);

/* Decide pq by the policy in force, as a request would be (the explain API). */
void issue_explain(const struct policy_request *pq, struct policy_decision *d);

#endif
