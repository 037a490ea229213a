/*
 * restore.c - at start, bring back the writs the last run left open.
 */
#include <stdio.h>
#include <stdlib.h>

#include "record.h"
#include "core.h"
#include "errors.h"
#include "restore.h"
#include "session.h"
#include "minter/minter.h"
#include "writs.h"

/* Restored sessions whose sandbox is gone: closed once every entry is in. */
struct gone {
	struct session **s;
	size_t n, cap;
};

/*
 * Bring back e (the minter keeps it again; no token here) as a live writ
 * of the front end (lock held).  Returns true when it is listed; a new
 * session whose sandbox exited while writd was down goes to *g.
 */
static bool
restore_one_locked(const struct minter_restored *e, void *arg)
{
	struct gone *g = arg;
	struct session *s;
	bool gone;

	/* NB. the cast below: a replayed scope is ledger_replay's own parse, not shared. */
	if (session_restore(e->session, e->name, e->pid, e->pid_start, e->same_boot,
	    &s, &gone) < 0)
		s = NULL;
	else if (writs_add(e->id, s, e->kind, json_incref((json_t *)e->scope),
	    e->issued_at, e->expires_at) < 0) {
		session_idle(s);
		s = NULL;
	}
	if (s == NULL)
		return false;
	if (gone) {
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 16;
			struct session **n = realloc(g->s, cap * sizeof(*n));

			if (n == NULL)
				return true;	/* it lives on: ended at its expiry */
			g->s = n;
			g->cap = cap;
		}
		session_ref(s);
		g->s[g->n++] = s;
	}
	return true;
}

/* minter_restore's fn: with no lock held (the minter's notices need writd_lock). */
static bool
restore_one(const struct minter_restored *e, void *arg)
{
	bool r;

	pthread_mutex_lock(&writd_lock);
	r = restore_one_locked(e, arg);
	pthread_mutex_unlock(&writd_lock);
	return r;
}

int
restore_writs(void)
{
	struct gone g = { NULL, 0, 0 };
	struct writ *revoke = NULL;
	int n;

	n = minter_restore(restore_one, &g);
	pthread_mutex_lock(&writd_lock);
	for (size_t i = 0; i < g.n; i++) {
		audit_log("session_closed", json_pack("{ssss}", "session", g.s[i]->id, "why",
		    "its sandbox exited while writd was down"));
		session_close(g.s[i], WRIT_ECLOSED, &revoke);
		session_unref(g.s[i]);
	}
	if (n > 0)
		core_kick_at(now_real());
	pthread_mutex_unlock(&writd_lock);
	writs_revoke_list(revoke, "its sandbox exited while writd was down");
	free(g.s);
	if (n > 0)
		fprintf(stderr, "writd: %d writ%s of the previous run brought back (writctl "
		    "writs ls)\n", n, n == 1 ? "" : "s");
	return n < 0 ? WRIT_EAUDIT : 0;
}
