/*
 * minter.c - the minter's bodies of minter.h's calls but MINT (mint.c)
 * and the audit log's (serve.c calls audit.h for those).
 */
#include <stdio.h>

#include "../../plugins/kind.h"
#include "audit.h"
#include "../core.h"
#include "ledger.h"
#include "upstream.h"
#include "store.h"
#include "custody.h"
#include "mint.h"
#include "minter.h"

int
minter_revoke(const char *id, const char *why)
{
	return id_valid(id) ? custody_revoke(id, why) : WRIT_ENOTFOUND;
}

int
minter_revoke_token(const char *session_id, const char *token, char ret_id[WRIT_ID_LEN + 1],
    const char *why)
{
	if ((session_id != NULL && !id_valid(session_id)) || token == NULL || token[0] == '\0')
		return WRIT_ENOTFOUND;
	return custody_revoke_token(session_id, token, ret_id, why);
}

json_t *
minter_public_keys(const char *kind)
{
	const struct writ_kind *k = kind != NULL ? kinds_find(kind) : NULL;

	return k != NULL && k->public_keys != NULL ? k->public_keys(kinds_state(k)) : NULL;
}

int
minter_throttled(const char *kind, const json_t *scope, int *ret_retry_after,
    char err[WRIT_ERRLEN])
{
	const struct writ_kind *k = kind != NULL ? kinds_find(kind) : NULL;

	*ret_retry_after = 0;
	if (k == NULL || k->throttled == NULL || !json_is_object(scope))
		return 0;
	return k->throttled(kinds_state(k), scope, ret_retry_after, err);
}

/* writd's own keys are not the front end's to set or remove (store_own). */
static int
own_key(const char *name, char err[WRIT_ERRLEN])
{
	if (!store_owned(name))
		return 0;
	snprintf(err, WRIT_ERRLEN, "%s is a key writd makes itself: it cannot be set or "
	    "removed", name);
	audit_log("secret_refused", json_pack("{ss}", "name", name));
	return WRIT_EFORBIDDEN;
}

int
minter_secret_put(const char *name, const void *value, size_t len, char err[WRIT_ERRLEN])
{
	int r;

	if ((r = own_key(name, err)) < 0)
		return r;
	r = store_put(name, value, len, err);

	if (r == 0)
		audit_log("secret_set", json_pack("{sssi}", "name", name, "size", (int)len));
	return r;
}

int
minter_secret_del(const char *name)
{
	char err[WRIT_ERRLEN];
	int r;

	if ((r = own_key(name, err)) < 0)
		return r;
	r = store_del(name);

	if (r == 0)
		audit_log("secret_removed", json_pack("{ss}", "name", name));
	return r;
}

json_t *
minter_secret_list(void)
{
	return store_list();
}

void
minter_set_ended(void (*fn)(const char *id))
{
	custody_set_ended(fn);
}

void
minter_expire(int64_t now)
{
	custody_prune(now);
}

int64_t
minter_tick(int64_t now, bool *ret_busy)
{
	/* NB. both watchdogs, whatever the first says. */
	bool busy = audit_watchdog();

	busy = ledger_watchdog() || busy;
	custody_prune(now);
	/* Key pages close once idle; look again soon while one is open. */
	*ret_busy = kinds_idle() || busy;
	return custody_next_expiry();
}

struct restoring {
	bool (*fn)(const struct minter_restored *r, void *arg);
	void *arg;
};

/* One open entry of the last run: kept again, then handed on without its token. */
static bool
restore_one(const struct ledger_entry *e, void *arg)
{
	struct restoring *rs = arg;
	struct minter_restored view = { .id = e->id, .session = e->session, .name = e->name,
	    .kind = e->kind->grammar, .scope = e->scope, .issued_at = e->issued_at,
	    .expires_at = e->expires_at, .pid = e->pid, .pid_start = e->pid_start,
	    .same_boot = e->same_boot };

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
	/*
	 * NB. revoked or expired before the crash, upstream had not confirmed:
	 * the revocation is owed, and the writ is not listed again.
	 */
	if (e->ending && e->kind->upstream) {
		audit_log("revoke_resumed", json_pack("{ssss}", "writ", e->id, "kind",
		    e->kind->name));
		upstream_revoke(e->kind, e->token, e->id);	/* takes it, closes its entry */
		return false;
	}
	if (custody_add(e->id, e->session, e->kind, NULL, e->expires_at, e->token, false) < 0) {
		/* The entry stays open, for the next start. */
		fprintf(stderr, "writd: out of memory bringing back writ %s\n", e->id);
		return false;
	}
	audit_log("restored", json_pack("{sssssssI}", "writ", e->id, "session", e->session,
	    "kind", e->kind->name, "expires_at", (json_int_t)e->expires_at));
	if (!rs->fn(&view, rs->arg))
		fprintf(stderr, "writd: writ %s is kept, but not listed: it ends at its "
		    "expiry\n", e->id);
	return true;
}

int
minter_restore(bool (*fn)(const struct minter_restored *r, void *arg), void *arg)
{
	struct restoring rs = { fn, arg };

	return (int)ledger_replay(restore_one, &rs);
}

int
minter_flush(void)
{
	return ledger_flush();
}

void
minter_stop(void)
{
	minter_stop_because("writd shut down");
}

void
minter_stop_because(const char *why)
{
	/*
	 * Mints in flight finish (bounded by their timeouts), queued ones
	 * fail; one answered now finds its session closed and has its token
	 * queued for revocation, which the workers run before they exit.
	 */
	upstream_cancel();
	mint_drain();
	/* Whatever the minter still holds (a restored writ no session listed) ends too. */
	custody_revoke_all(why);
	upstream_stop();
}
