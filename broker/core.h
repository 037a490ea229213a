/*
 * core.h - what every part of writd shares: the global lock, the
 * configuration, the clocks, random ids and the reaper's alarm.  Nothing
 * here knows of HTTP, sessions or writs; every broker module may include
 * it.
 *
 * Locks.  writd is two processes, each with its own copy of this
 * module.  A lock may be held while taking one to its right on a line,
 * never the other way round.
 *
 * The front end (writd):
 *
 *	writd_lock -> link.c's lock (the calls waiting for the minter)
 *	link.c's send_lock, alone (one message written whole)
 *	any of them -> secret's slab_lock (innermost: freeing a secret)
 *
 * oidc's lock is taken alone.  The minter's calls (minter.h, link.c) wait
 * for an answer, so they are made with no lock held; the handlers the
 * reader thread calls (a MINT's done, ENDED's writs_ended, restore's fn)
 * take writd_lock themselves, and never wait for the minter (a REVOKE
 * from the reader is sent without waiting).  approval, approver, session,
 * writs and the reaper have no lock of their own: they run under
 * writd_lock.
 *
 * The minter (writd-minter): writd_lock guards only its clock's alarm
 * (the ticker naps on it; custody_add rings it, holding nothing else).
 *
 *	a journal's flk -> that journal's lock (the audit log's, the ledger's)
 *	the ledger's journal lock -> the ledger's clk (its closing slot)
 *	a kind's lock (jwt, github) -> store_lock
 *	mint.c's limits lock -> custody's lock
 *	any of them -> secret's slab_lock
 *
 * upstream's qlock, mint.c's in-flight lock and serve.c's queue lock are
 * taken alone.
 *
 * In the front end, writd_lock (below) guards sessions, pending requests,
 * pollers, writs, the approver commands, the accept loop's connections
 * and listeners, and the policy pointer.  Functions documented "lock
 * held" expect the caller to hold it.  The accept loop, the reaper and
 * every libmicrohttpd callback take it themselves.
 *
 * The leaf locks guard their own module's state only: a journal's lock
 * (journal.c: its buffer, what is written and synced, the waiters) and
 * flk (its open file, held by its commit thread while it writes; when
 * both, flk first), the ledger's clk (its counts and compaction flags),
 * upstream's qlock (its queues), oidc's lock (the JWKS), store_lock (the
 * secret store), a kind's lock (its key and caches) and secret's
 * slab_lock (the slab of small secrets).
 *
 * NB. in the minter, with no lock held: audit_wait and audit_watchdog
 * (their callbacks may run at once), a kind's mint (on the serve thread
 * or an upstream worker), and a mint job's done callback.
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
