/*
 * reaper.h - the thread that ends what runs out of time.
 *
 * One thread, under writd_lock but for the steps marked below, looks at
 * the earliest deadline of each kind and sleeps until the next one (at
 * most an hour), or until a module makes one sooner (core_kick,
 * core_kick_at).  (Writs past their TTL, the logs' watchdogs and idle key
 * pages are the minter's, on its own clock: writd-minter.c.)  Each time
 * it wakes it:
 *
 *  - closes the job sessions whose identity token ran out, and revokes
 *    their writs (unlocked);
 *  - times out requests nobody decided and ends long-polls at their
 *    deadline (approval_expire);
 *  - writes sessions' refusal counts a minute old (session_refusals_tick);
 *  - kills a cancelled approver command that lingers (approver_tick).
 *
 * While an approver command lingers, it looks again a second later.
 */
#ifndef WRIT_REAPER_H
#define WRIT_REAPER_H

/* Start the thread.  Returns 0 or WRIT_EINTERNAL. */
int reaper_start(void);
/* Stop it and wait for it; nothing when it never started. */
void reaper_stop(void);

#endif
