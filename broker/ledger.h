/*
 * ledger.h - what must still be revoked, across crashes.
 *
 * For kinds that revoke upstream, each token is written, sealed
 * (secretbox, with a key kept in the secret store, not beside the file),
 * to <state_dir>/ledger.jsonl and synced before it leaves writd; its entry
 * is closed once upstream confirms the revocation.  At start every entry
 * still open belongs to a session that died with the old writd, so its
 * token is revoked then.  File I/O happens on upstream workers only.
 *
 * The file is compacted to its open entries at start and every
 * COMPACT_AFTER closings.  XXX writs of kinds that cannot be revoked are not
 * kept here (their audit "issued" records account for them), and leftover
 * tokens are revoked at start rather than at their expiry.
 */
#ifndef WRIT_LEDGER_H
#define WRIT_LEDGER_H

#include <stdint.h>

#include "../plugins/kind.h"
#include "sjson.h"

/* Open (creating) the ledger and queue the revocation of what it holds open. */
int ledger_open(const char *state_dir, char err[WRIT_ERRLEN]);
void ledger_close(void);

/* Record token of writ id, durably.  Returns 0 or WRIT_EAUDIT. */
int ledger_add(const char *id, const struct writ_kind *kind, const struct secret *token,
    int64_t expires_at);

/* Close writ id's entry (its token is revoked). */
void ledger_done(const char *id);

#endif
