/*
 * upstream.c - a small pool for network-bound kinds.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "errors.h"
#include "ledger.h"
#include "server.h"
#include "session.h"
#include "upstream.h"

struct revoke_job {
	const struct writ_kind *kind;
	struct secret *token;
	char id[33];
	struct revoke_job *next;
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static struct mint_job *mints, **mints_tail = &mints;
static struct revoke_job *revokes;
static bool stopping;
static pthread_t workers[WRIT_UPSTREAM_THREADS];
static int nworkers;

static void
finish(struct mint_job *j)
{
	/* NB. writd_lock, never qlock, around resume: no lock order to break. */
	pthread_mutex_lock(&writd_lock);
	server_resume(j->mhd, j->rq);
	pthread_mutex_unlock(&writd_lock);
}

static void *
worker(void *arg)
{
	(void)arg;
	for (;;) {
		struct mint_job *m = NULL;
		struct revoke_job *rv = NULL;

		pthread_mutex_lock(&qlock);
		while (!stopping && mints == NULL && revokes == NULL)
			pthread_cond_wait(&qcond, &qlock);
		if (mints != NULL) {
			m = mints;
			mints = m->next;
			if (mints == NULL)
				mints_tail = &mints;
		} else if (revokes != NULL) {
			rv = revokes;
			revokes = rv->next;
		} else {
			pthread_mutex_unlock(&qlock);
			return NULL;
		}
		pthread_mutex_unlock(&qlock);
		if (m != NULL) {
			struct kind_mint req = { .writ_id = m->writ_id,
			    .session_id = m->session->id, .scope = m->scope,
			    .issued_at = m->issued_at, .expires_at = m->expires_at };

			m->result = m->kind->mint(kinds_state(m->kind), &req, &m->out, m->err);
			/* Write-ahead: a revocable token is in the ledger before it leaves. */
			if (m->result == 0 && m->kind->revoke != NULL &&
			    ledger_add(m->writ_id, m->kind, m->out.token, m->expires_at) < 0) {
				char e2[WRIT_ERRLEN];

				(void)m->kind->revoke(kinds_state(m->kind), m->out.token, e2);
				secret_free(m->out.token);
				m->out.token = NULL;
				m->result = WRIT_EAUDIT;
				snprintf(m->err, sizeof(m->err), "the ledger cannot be written; the "
				    "token was revoked and nothing issued");
			}
			finish(m);
		} else {
			char err[WRIT_ERRLEN];

			/* XXX a failed revocation is recorded, not retried, until the ledger lands. */
			if (rv->kind->revoke(kinds_state(rv->kind), rv->token, err) < 0) {
				fprintf(stderr, "writd: revoking %s writ %s failed: %s\n",
				    rv->kind->name, rv->id, err);
				audit_log("revoke_failed", json_pack("{ssssss}", "writ", rv->id,
				    "kind", rv->kind->name, "error", err));
			} else {
				audit_log("revoked_upstream", json_pack("{ssss}", "writ", rv->id,
				    "kind", rv->kind->name));
				ledger_done(rv->id);
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

void
upstream_stop(void)
{
	struct mint_job *m;

	pthread_mutex_lock(&qlock);
	stopping = true;
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
	/* Queued revocations still run: a token must not outlive its writ. */
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	nworkers = 0;
}

void
upstream_mint(struct mint_job *job)
{
	pthread_mutex_lock(&qlock);
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
		secret_free(token);
		return;
	}
	j->kind = kind;
	j->token = token;
	snprintf(j->id, sizeof(j->id), "%s", id);
	pthread_mutex_lock(&qlock);
	j->next = revokes;
	revokes = j;
	pthread_cond_signal(&qcond);
	pthread_mutex_unlock(&qlock);
}

void
upstream_job_free(struct mint_job *job)
{
	if (job == NULL)
		return;
	session_unref(job->session);
	json_decref(job->scope);
	secret_free(job->out.token);
	free(job);
}
