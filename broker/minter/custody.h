/*
 * custody.h - the minter's own table of the writs it issued and that live.
 *
 * The minter keeps what ends a writ: its kind, its session's id and job
 * identity (for the records), its expiry, and for kinds that revoke
 * upstream the token itself, in secret memory.  It ends each writ itself
 * -- at its expiry, or when asked (REVOKE, REVOKE_TOKEN) -- writing its
 * "expired" or "revoked" record, revoking it where its kind can and
 * closing its ledger entry, so that no front end, honest or not, can keep
 * a token alive past its TTL or unrecorded.  The front end's table
 * (writs.h) is a view of this one without tokens.
 */
#ifndef WRIT_CUSTODY_H
#define WRIT_CUSTODY_H

#include <stdint.h>
#include <jansson.h>

#include "../../plugins/kind.h"
#include "id.h"

/*
 * Keep writ id of kind, of session session_id (identity: its job
 * identity, copied, or NULL), until expires_at; token (taken) is kept
 * when kind revokes, else freed.  reserved: custody_reserve counted it
 * already (and on failure it is counted out).  Returns 0, or WRIT_ENOMEM
 * (the token freed, nothing kept).
 */
int custody_add(const char *id, const char *session_id, const struct writ_kind *kind,
    const json_t *identity, int64_t expires_at, struct secret *token, bool reserved);

/*
 * Count a writ of session_id and kind (by name) as live before it is kept
 * (by 1), or no longer (by -1): a MINT reserves its place under the
 * enterprise's limits when it is checked, so that orders checked
 * meanwhile count it.
 */
void custody_reserve(const char *session_id, const char *kind, int by);

/*
 * End writ id now: its "revoked" record saying why, upstream where its
 * kind can, its ledger entry closed.  Returns 0 or WRIT_ENOTFOUND.
 */
int custody_revoke(const char *id, const char *why);

/*
 * As custody_revoke, for the writ of session session_id (NULL: any) whose
 * token is token (compared in constant time; only kinds that revoke keep
 * tokens); its id into ret_id.  Returns 0 or WRIT_ENOTFOUND.
 */
int custody_revoke_token(const char *session_id, const char *token,
    char ret_id[WRIT_ID_LEN + 1], const char *why);

/* How many live writs session_id holds, in all and of kind (by name). */
void custody_count(const char *session_id, const char *kind, unsigned int *ret_live,
    unsigned int *ret_live_kind);

/* At start: fn is told of each writ ended at its expiry, after its record. */
void custody_set_ended(void (*fn)(const char *id));

/* End every writ past its expiry at now (wall clock): "expired". */
void custody_prune(int64_t now);

/* The earliest expiry of a writ kept (wall clock), INT64_MAX when none. */
int64_t custody_next_expiry(void);

/* End every writ still kept (why), at stop. */
void custody_revoke_all(const char *why);

#endif
