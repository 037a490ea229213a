/*
 * core.h - what every part of writd shares: the global lock, the
 * configuration, the clocks and random ids.  Nothing here knows of HTTP,
 * sessions or writs; every broker module may include it.
 *
 * Lock order, for the whole daemon.  A lock may be held while taking one
 * to its right on a line, never the other way round:
 *
 *	writd_lock -> upstream's qlock
 *	writd_lock -> audit's alock
 *	writd_lock -> ledger's blk;  ledger's flk -> ledger's blk
 *	writd_lock -> a kind's lock (jwt, github) -> store_lock
 *	any of them -> secret's slab_lock (innermost: freeing a secret)
 *
 * oidc's lock is taken alone.  approval, approver, session, writs and the
 * reaper have no lock of their own: they run under writd_lock.
 *
 * writd_lock (below) guards sessions, pending requests, pollers, writs,
 * the approver commands, the accept loop's connections and listeners, and
 * the policy pointer.  Functions documented "lock held" expect the caller
 * to hold it.  The accept loop, the reaper and every libmicrohttpd
 * callback take it themselves; none of them has a lock of its own.
 *
 * The leaf locks guard their own module's state only: audit's alock (the
 * chain, the pending records, the waiters), the ledger's flk (its file)
 * and blk (its buffer, always taken after flk), upstream's qlock (its
 * queues), oidc's lock (the JWKS), store_lock (the secret store), a
 * kind's lock (its key and caches) and secret's slab_lock (the slab of
 * small secrets).
 *
 * NB. with no lock held, never under writd_lock:
 *  - audit_wait: its done callback takes writd_lock, and may run at once
 *    (or later on audit's sync thread, holding nothing);
 *  - audit_watchdog: it runs failed waiters' callbacks the same way;
 *  - audit's presync hook (ledger_flush): on the sync thread, without alock;
 *  - a kind's mint (on a handler thread or an upstream worker), and
 *    oidc_verify;
 *  - writs_revoke_list, after the unlock that built its list;
 *  - upstream's workers take writd_lock only around server_resume, and
 *    never while holding qlock.
 */
#ifndef WRIT_CORE_H
#define WRIT_CORE_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"

extern pthread_mutex_t writd_lock;
/* The configuration in force, set once at start (writd.c) before any thread. */
extern const struct config *writd_cfg;

/* Wall clock and monotonic clock, in seconds. */
int64_t now_real(void);
int64_t now_mono(void);

/* 128 random bits as 32 lowercase hex digits. */
void random_id(char out[33]);

#endif
