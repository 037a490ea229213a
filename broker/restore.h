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
 * Bring them back (RESTORE: the minter answers once what it recorded is
 * durable), once the minter, the server and the reaper have started.
 * Returns 0, or WRIT_EAUDIT when the minter's records could not be made
 * durable.
 */
int restore_writs(void);

#endif
