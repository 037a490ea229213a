/*
 * writs.h - the front end's table of live writs: what each session holds.
 *
 * A view of the minter's custody (minter/custody.h) without tokens: the
 * id, session, kind, scope and times of each writ whose record is
 * durable, for listing, for the policy's counts of live writs, and to
 * know what to end when a session closes.  Ending a writ -- its record,
 * its revocation -- is the minter's (minter_revoke); the minter ends
 * writs at their expiry on its own and says so (writs_ended), and only
 * then does the view drop them.  Kept in a min-heap on expiry (heap.h).
 * All functions but writs_revoke_list and writs_ended: lock held.
 */
#ifndef WRIT_WRITS_H
#define WRIT_WRITS_H

#include <stdint.h>
#include <jansson.h>

#include "../plugins/grammar.h"

#include "heap.h"
#include "id.h"

struct session;

struct writ {
	struct heap_node node;		/* key: expires_at */
	char id[WRIT_ID_LEN + 1];
	char session_id[WRIT_ID_LEN + 1];
	struct session *session;	/* a reference, for its live count */
	const struct kind_grammar *kind;
	json_t *scope;
	int64_t issued_at, expires_at;
	struct writ *next;		/* on a revoke list, once taken */
};

/* Add a writ to the view; takes scope's reference.  Returns 0 or WRIT_ENOMEM. */
int writs_add(const char *id, struct session *s, const struct kind_grammar *kind,
    json_t *scope, int64_t issued_at, int64_t expires_at);

/* Live writs of session s (NULL: all). */
json_t *writs_list(const struct session *s);

/*
 * Unlink writ id (of session s, or any when s is NULL) onto *revoke.
 * Returns 0 or WRIT_ENOTFOUND.
 */
int writs_take(const struct session *s, const char *id, struct writ **revoke);

/* Unlink every writ of session s onto *revoke. */
void writs_take_session(const struct session *s, struct writ **revoke);

/*
 * Have the minter end each (its "revoked" record saying why), and free a
 * list made by writs_take*.  Lock NOT held.
 */
void writs_revoke_list(struct writ *list, const char *why);

/* Drop writ id from the view (the minter ended it already); NULL is fine. */
void writs_forget(const char *id);

/* How many live writs session s holds (a counter: O(1)). */
unsigned int writs_count(const struct session *s);

/* The minter ended writ id (its expiry, say): drop it.  Lock NOT held. */
void writs_ended(const char *id);

#endif
