/*
 * restore.c - at start, bring back the writs the last run left open.
 */
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "core.h"
#include "errors.h"
#include "ledger.h"
#include "restore.h"
#include "secret.h"
#include "session.h"
#include "upstream.h"
#include "writs.h"

/* Restored sessions whose sandbox is gone: closed once every entry is in. */
struct gone {
	struct session **s;
	size_t n, cap;
};

/*
 * Bring back e as a live writ (lock held).  Returns true when it lives;
 * a new session whose sandbox exited while writd was down goes to *g.
 */
static bool
restore_one(const struct ledger_entry *e, void *arg)
{
	struct gone *g = arg;
	struct session *s;
	bool gone;

	/*
	 * NB. and past its expiry: a token that outlives a GitHub token's
	 * hour (an SSH certificate) still needs its revocation.
	 */
	if (e->kind->upstream && e->issued_at + WRIT_UPSTREAM_RETRY_FOR < now_real() &&
	    e->expires_at <= now_real()) {
		audit_log("revoke_failed", json_pack("{ssss}", "writ", e->id, "error",
		    "it is long dead upstream"));
		ledger_done(e->id);
		secret_free(e->token);
		return false;
	}
	/* NB. the cast below: a replayed scope is ledger_replay's own parse, not shared. */
	if (session_restore(e->session, e->name, e->pid, e->pid_start, e->same_boot,
	    &s, &gone) < 0) {
		secret_free(e->token);
		s = NULL;
	} else if (writs_add(e->id, s, e->kind, json_incref((json_t *)e->scope),
	    e->issued_at, e->expires_at, e->token) < 0) {
		session_idle(s);	/* writs_add freed the token */
		s = NULL;
	}
	if (s == NULL) {
		/* The entry stays open, for the next start. */
		fprintf(stderr, "writd: out of memory bringing back writ %s\n", e->id);
		return false;
	}
	audit_log("restored", json_pack("{sssssssI}", "writ", e->id, "session", e->session,
	    "kind", e->kind->name, "expires_at", (json_int_t)e->expires_at));
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

int
restore_writs(void)
{
	struct gone g = { NULL, 0, 0 };
	struct writ *revoke = NULL;
	unsigned int n;

	pthread_mutex_lock(&writd_lock);
	n = ledger_replay(restore_one, &g);
	for (size_t i = 0; i < g.n; i++) {
		audit_log("session_closed", json_pack("{ssss}", "session", g.s[i]->id, "why",
		    "its sandbox exited while writd was down"));
		session_close(g.s[i], WRIT_ECLOSED, &revoke);
		session_unref(g.s[i]);
	}
	if (n > 0)
		core_kick_at(writs_next_expiry());
	pthread_mutex_unlock(&writd_lock);
	writs_revoke_list(revoke, "its sandbox exited while writd was down");
	free(g.s);
	if (n > 0)
		fprintf(stderr, "writd: %u writ%s of the previous run brought back (writctl "
		    "writs ls)\n", n, n == 1 ? "" : "s");
	return ledger_flush() < 0 ? WRIT_EAUDIT : 0;
}
