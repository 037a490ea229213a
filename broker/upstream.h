/*
 * upstream.h - workers for kinds that wait on the network.
 *
 * A kind with .upstream set mints and revokes over HTTPS, which can take
 * seconds.  Those calls run here, on a small fixed pool, never on a thread
 * serving HTTP: the request is suspended, a worker mints, then resumes it.
 * Revocations are queued and the caller does not wait for them.
 */
#ifndef WRIT_UPSTREAM_H
#define WRIT_UPSTREAM_H

#include "../plugins/kind.h"

/* Revocations are retried until a token's natural end upstream, seconds. */
#define WRIT_UPSTREAM_RETRY_FOR (3600 + 300)

/* Workers in the pool. */
#define WRIT_UPSTREAM_THREADS 4

struct session;

struct mint_job {
	/* Called on the worker once the results are in (or at stop), no lock held. */
	void (*done)(struct mint_job *job);
	void *arg;			/* the caller's, for done */
	struct session *session;	/* a reference */
	const struct writ_kind *kind;
	json_t *scope;			/* a reference */
	int64_t ttl;
	char writ_id[33];
	int64_t issued_at, expires_at;
	/* results */
	int result;			/* 0 or a WRIT_E* code */
	struct kind_token out;
	char err[WRIT_ERRLEN];
	struct mint_job *next;
};

int upstream_start(void);
/* Finish what runs, fail what waits (WRIT_ESHUTDOWN), join the workers. */
void upstream_stop(void);

/* Queue a mint; the worker calls job->done when it is.  Lock held. */
void upstream_mint(struct mint_job *job);

/* Queue the revocation of token (taken over) of writ id for kind. */
void upstream_revoke(const struct writ_kind *kind, struct secret *token, const char *id);

/* Release a finished job (its session reference, scope, any token).  Lock held. */
void upstream_job_free(struct mint_job *job);

#endif
