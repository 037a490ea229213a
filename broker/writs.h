/*
 * writs.h - the writs issued and still live, in memory.
 *
 * Tokens are kept only for kinds that revoke upstream, in secret memory; the
 * rest is metadata.  A min-heap on expiry: adding, expiring and removing are
 * O(log n); the reaper looks only at the top.  The ledger (ledger.h) keeps
 * this table across crashes.
 * All functions but writs_revoke_list and writs_revoke_unkept: lock held.
 */
#ifndef WRIT_WRITS_H
#define WRIT_WRITS_H

#include <stdint.h>
#include <jansson.h>

#include "../plugins/kind.h"

#include "id.h"

struct session;

struct writ {
	char id[WRIT_ID_LEN + 1];
	char session_id[WRIT_ID_LEN + 1];
	struct session *session;	/* a reference, for its live count */
	const struct writ_kind *kind;
	json_t *scope;
	int64_t issued_at, expires_at;
	struct secret *token;		/* only when kind->revoke */
	json_t *identity;		/* its session's job identity (session_audit), or NULL:
					   its revoked and expired records outlive the session */
	size_t slot;			/* where it sits in the expiry heap */
	struct writ *next;		/* on a revoke list, once taken */
};

/* Record a writ; takes scope's reference and token.  Returns 0 or WRIT_ENOMEM. */
int writs_add(const char *id, struct session *s, const struct writ_kind *kind,
    json_t *scope, int64_t issued_at, int64_t expires_at, struct secret *token);

/* Live writs of session s (NULL: all), never with tokens. */
json_t *writs_list(const struct session *s);

/*
 * Unlink writ id (of session s, or any when s is NULL) onto *revoke.
 * Returns 0 or WRIT_ENOTFOUND.
 */
int writs_take(const struct session *s, const char *id, struct writ **revoke);

/*
 * Unlink the writ of session s whose token is token (compared in constant
 * time; only kinds that revoke keep tokens) onto *revoke.  Returns 0 or
 * WRIT_ENOTFOUND.
 */
int writs_take_token(const struct session *s, const char *token, struct writ **revoke);

/* Unlink every writ of session s onto *revoke. */
void writs_take_session(const struct session *s, struct writ **revoke);

/*
 * Record each as revoked (why), revoke where the kind can, and free a list
 * made by writs_take*.  Lock NOT held.
 */
void writs_revoke_list(struct writ *list, const char *why);

/*
 * Revoke, as writs_revoke_list, writ id of kind for session s (its
 * identity read here), minted and recorded but never kept: its session
 * closed meanwhile, or there was no memory to keep it.  Takes token.
 * Lock NOT held.
 */
void writs_revoke_unkept(const char *id, const struct session *s,
    const struct writ_kind *kind, struct secret *token, const char *why);

/* How many live writs session s holds (a counter: O(1)). */
unsigned int writs_count(const struct session *s);

/* The earliest expiry of a live writ (wall clock), INT64_MAX when none. */
int64_t writs_next_expiry(void);

/* Drop writs past their expiry, revoking upstream tokens, closing their ledger entries. */
void writs_prune(int64_t now);

#endif
