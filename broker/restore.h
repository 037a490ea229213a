/*
 * restore.h - at start, bring back the writs the last run left open.
 *
 * Each open entry of the ledger (ledger_replay) becomes a live writ again,
 * under its session restored without a socket (session_restore).  Sessions
 * whose sandbox exited while writd was down close at once, revoking their
 * writs; the reaper ends the others at their expiry (at once for those
 * already past it).  An upstream writ issued longer ago than
 * WRIT_UPSTREAM_RETRY_FOR is dropped as long dead.
 */
#ifndef WRIT_RESTORE_H
#define WRIT_RESTORE_H

/*
 * Bring them back, after ledger_open, the upstream workers and the reaper
 * have started; then flush the ledger.  Returns 0, or WRIT_EAUDIT when the
 * flush failed.
 */
int restore_writs(void);

#endif
