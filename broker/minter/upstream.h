/*
 * upstream.h - workers for kinds that wait on the network.
 *
 * A kind with .upstream set mints and revokes over HTTPS, which can take
 * seconds.  Those calls run here, on a small fixed pool, never on a thread
 * serving HTTP: the request is suspended, a worker mints and hands the
 * result to the job's done callback (issue.c records the writ there, on
 * the worker).  Revocations are queued and the caller does not wait for
 * them.  The pool knows nothing of requests, sessions or the ledger but
 * for closing a revoked writ's entry.
 */
#ifndef WRIT_UPSTREAM_H
#define WRIT_UPSTREAM_H

#include "../../plugins/kind.h"

/* Revocations are retried until a token's natural end upstream, seconds. */
#define WRIT_UPSTREAM_RETRY_FOR (3600 + 300)

/* Workers in the pool. */
#define WRIT_UPSTREAM_THREADS 4

/*
 * A mint to run on a worker.  Its owner (issue.c) embeds it and fills in
 * done, kind and mint; the worker fills in the results, then calls done.
 */
struct mint_job {
	/*
	 * Called once the results are in (on the worker) or when the job is
	 * failed at stop (result WRIT_ESHUTDOWN, on the stopping thread); no
	 * lock held.  The job is its owner's again from then on.
	 */
	void (*done)(struct mint_job *job);
	const struct writ_kind *kind;
	struct kind_mint mint;		/* what to mint; its pointers outlive the job */
	/* results */
	int result;			/* 0 or a WRIT_E* code */
	struct kind_token out;		/* the token, for done to take */
	char err[WRIT_ERRLEN];
	struct mint_job *next;
};

int upstream_start(void);
/*
 * At stop, first: fail the mints that wait, and any queued from now on
 * (WRIT_ESHUTDOWN, their done called on the caller's thread); what runs
 * finishes, and revocations still run.
 */
void upstream_cancel(void);
/* Finish what runs, fail what waits (WRIT_ESHUTDOWN), run what is queued to
 * revoke, join the workers. */
void upstream_stop(void);

/*
 * Queue a mint; the worker calls job->done when it is (or at once, failed,
 * after upstream_cancel).  No lock held.
 */
void upstream_mint(struct mint_job *job);

/* Queue the revocation of token (taken over) of writ id for kind. */
void upstream_revoke(const struct writ_kind *kind, struct secret *token, const char *id);

#endif
