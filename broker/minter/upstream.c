/*
 * upstream.c - a small pool for network-bound kinds.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "audit.h"
#include "../core.h"
#include "errors.h"
#include "id.h"
#include "ledger.h"
#include "upstream.h"

/* First retry of a failed revocation after this many seconds, doubling. */
#define RETRY_FIRST 2

struct revoke_job {
	const struct writ_kind *kind;
	struct secret *token;
	char id[WRIT_ID_LEN + 1];
	int64_t not_before;		/* monotonic: not tried before then */
	int64_t give_up;		/* monotonic: the token is dead anyway */
	int delay;
	struct revoke_job *next;
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct mint_job *mints, **mints_tail = &mints;
static struct revoke_job *revokes;
static bool stopping;
static bool cancelled;		/* mints fail at once (upstream_cancel) */
static pthread_t workers[WRIT_UPSTREAM_THREADS];
static int nworkers;

static void
finish(struct mint_job *j)
{
	/* NB. never under qlock: done takes writd_lock. */
	j->done(j);
}

/* The first revocation due now (unlinked), or NULL; *next: the earliest due. */
static struct revoke_job *
due_revoke(int64_t now, int64_t *next)
{
	*next = INT64_MAX;
	for (struct revoke_job **pp = &revokes; *pp != NULL; pp = &(*pp)->next) {
		struct revoke_job *j = *pp;

		if (j->not_before <= now || stopping) {
			*pp = j->next;
			return j;
		}
		if (j->not_before < *next)
			*next = j->not_before;
	}
	return NULL;
}

static void *
worker(void *arg)
{
	(void)arg;
	for (;;) {
		struct mint_job *m = NULL;
		struct revoke_job *rv = NULL;
		int64_t next;

		pthread_mutex_lock(&qlock);
		for (;;) {
			if (mints != NULL) {
				m = mints;
				mints = m->next;
				if (mints == NULL)
					mints_tail = &mints;
				break;
			}
			if ((rv = due_revoke(now_mono(), &next)) != NULL || (stopping && revokes == NULL))
				break;
			if (next == INT64_MAX)
				pthread_cond_wait(&qcond, &qlock);
			else {
				struct timespec ts;

				clock_gettime(CLOCK_MONOTONIC, &ts);
				ts.tv_sec += next - now_mono();
				pthread_cond_timedwait(&qcond, &qlock, &ts);
			}
		}
		pthread_mutex_unlock(&qlock);
		if (m == NULL && rv == NULL)
			return NULL;
		if (m != NULL) {
			m->result = m->kind->mint(kinds_state(m->kind), &m->mint, &m->out, m->err);
			finish(m);
		} else {
			char err[WRIT_ERRLEN];

			if (rv->kind->revoke(kinds_state(rv->kind), rv->token, err) < 0) {
				bool again = !stopping && now_mono() + rv->delay < rv->give_up;

				fprintf(stderr, "writd: revoking %s writ %s failed: %s%s\n",
				    rv->kind->name, rv->id, err, again ? "; will retry" : "");
				audit_log("revoke_failed", json_pack("{sssssssi}", "writ", rv->id,
				    "kind", rv->kind->name, "error", err, "retry_in",
				    again ? rv->delay : 0));
				if (again) {
					/* Back off, with jitter; the ledger keeps it across restarts. */
					rv->not_before = now_mono() + rv->delay +
					    (int64_t)randombytes_uniform((uint32_t)rv->delay / 2 + 1);
					rv->delay = rv->delay < 300 ? rv->delay * 2 : 600;
					pthread_mutex_lock(&qlock);
					rv->next = revokes;
					revokes = rv;
					pthread_mutex_unlock(&qlock);
					continue;
				}
			} else {
				ledger_done(rv->id);
				audit_log("revoked_upstream", json_pack("{ssss}", "writ", rv->id,
				    "kind", rv->kind->name));
			}
			secret_free(rv->token);
			free(rv);
		}
	}
}

int
upstream_start(void)
{
	for (nworkers = 0; nworkers < WRIT_UPSTREAM_THREADS; nworkers++)
		if (pthread_create(&workers[nworkers], NULL, worker, NULL) != 0)
			return WRIT_EINTERNAL;
	return 0;
}

/* Fail the queued mints (and the rest, if stop): their done on this thread. */
static void
fail_queued(bool stop)
{
	struct mint_job *m;

	pthread_mutex_lock(&qlock);
	cancelled = true;
	stopping = stopping || stop;
	m = mints;
	mints = NULL;
	mints_tail = &mints;
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
	while (m != NULL) {
		struct mint_job *n = m->next;

		m->result = WRIT_ESHUTDOWN;
		finish(m);
		m = n;
	}
}

void
upstream_cancel(void)
{
	fail_queued(false);
}

void
upstream_stop(void)
{
	fail_queued(true);
	/* Queued revocations still run: a token must not outlive its writ. */
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	nworkers = 0;
}

void
upstream_mint(struct mint_job *job)
{
	pthread_mutex_lock(&qlock);
	if (cancelled) {
		pthread_mutex_unlock(&qlock);
		job->result = WRIT_ESHUTDOWN;
		finish(job);
		return;
	}
	job->next = NULL;
	*mints_tail = job;
	mints_tail = &job->next;
	pthread_cond_signal(&qcond);
	pthread_mutex_unlock(&qlock);
}

void
upstream_revoke(const struct writ_kind *kind, struct secret *token, const char *id)
{
	struct revoke_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		/* Not silently: its ledger entry stays open for the next start. */
		secret_free(token);
		fprintf(stderr, "writd: out of memory queueing the revocation of writ %s\n", id);
		audit_log("revoke_failed", json_pack("{sssssssi}", "writ", id, "kind", kind->name,
		    "error", "out of memory; tried again at the next start", "retry_in", 0));
		return;
	}
	j->kind = kind;
	j->token = token;
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->not_before = 0;
	j->give_up = now_mono() + WRIT_UPSTREAM_RETRY_FOR;
	j->delay = RETRY_FIRST;
	pthread_mutex_lock(&qlock);
	j->next = revokes;
	revokes = j;
	pthread_cond_signal(&qcond);
	pthread_mutex_unlock(&qlock);
}
