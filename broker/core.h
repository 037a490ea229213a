/*
 * core.h - what every part of writd shares: the global lock, the
 * configuration, the clocks, random ids and the reaper's alarm.  Nothing
 * here knows of HTTP, sessions or writs; every broker module may include
 * it.
 *
 * Lock order, for the whole daemon.  A lock may be held while taking one
 * to its right on a line, never the other way round:
 *
 *	writd_lock -> upstream's qlock
 *	writd_lock -> a journal's lock (the audit log's, the ledger's)
 *	a journal's flk -> that journal's lock
 *	writd_lock -> the ledger's clk
 *	the ledger's journal lock -> the ledger's clk (its closing slot)
 *	writd_lock -> a kind's lock (jwt, github) -> store_lock
 *	writd_lock -> the minter's custody lock (minter_restore, at start)
 *	any of them -> secret's slab_lock (innermost: freeing a secret)
 *
 * oidc's lock is taken alone, and so are the minter's own (mint.c's
 * limits lock -> custody's lock; mint.c's in-flight lock): the minter's calls (minter.h) are
 * made with no lock held but minter_restore, and call nothing with theirs
 * held; the front end's handlers the minter calls back (a MINT's done,
 * ENDED) take writd_lock themselves.  approval, approver, session, writs and the
 * reaper have no lock of their own: they run under writd_lock.
 *
 * writd_lock (below) guards sessions, pending requests, pollers, writs,
 * the approver commands, the accept loop's connections and listeners, and
 * the policy pointer.  Functions documented "lock held" expect the caller
 * to hold it.  The accept loop, the reaper and every libmicrohttpd
 * callback take it themselves; none of them has a lock of its own.
 *
 * The leaf locks guard their own module's state only: a journal's lock
 * (journal.c: its buffer, what is written and synced, the waiters) and
 * flk (its open file, held by its commit thread while it writes; when
 * both, flk first), the ledger's clk (its counts and compaction flags),
 * upstream's qlock (its queues), oidc's lock (the JWKS), store_lock (the
 * secret store), a kind's lock (its key and caches) and secret's
 * slab_lock (the slab of small secrets).
 *
 * NB. with no lock held, never under writd_lock:
 *  - audit_wait: its done callback takes writd_lock, and may run at once
 *    (or later on audit's sync thread, holding nothing);
 *  - audit_watchdog: it runs failed waiters' callbacks the same way;
 *  - a kind's mint (on a handler thread or an upstream worker), and
 *    oidc_verify;
 *  - writs_revoke_list, after the unlock that built its list;
 *  - a mint job's done callback (issue's minted, on an upstream worker):
 *    it records the writ and takes writd_lock, never holding qlock.
 */
#ifndef WRIT_CORE_H
#define WRIT_CORE_H

#include <pthread.h>
#include <stdint.h>

#include "id.h"

struct config;

extern pthread_mutex_t writd_lock;
/* The configuration in force: set by core_init, read-only after. */
extern const struct config *writd_cfg;

/* Set writd_cfg and make the alarm; once, at start, before any thread. */
void core_init(const struct config *cfg);

/* Wall clock and monotonic clock, in seconds. */
int64_t now_real(void);
int64_t now_mono(void);

/* A new id (id.h): 128 random bits. */
void random_id(char out[WRIT_ID_LEN + 1]);

/*
 * The reaper's alarm.  The reaper (reaper.c) naps on it; a module that
 * sets a deadline sooner than the reaper planned rings it, so the modules
 * the reaper calls need not know the reaper.  All three: lock held.
 */
/* Wake the reaper now. */
void core_kick(void);
/* Wake it if wall-clock time when is sooner than it planned to look. */
void core_kick_at(int64_t when);
/*
 * The reaper only: plan to look at monotonic time next (now: now_mono's)
 * and sleep until then or a kick.
 */
void core_nap(int64_t next, int64_t now);

#endif
