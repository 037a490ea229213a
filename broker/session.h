/*
 * session.h - sandbox sessions and their sockets.
 *
 * A session's socket, <runtime_dir>/sessions/<id>/agent.sock, is its
 * capability: whoever reaches it speaks for that session and nothing else.
 * Closing a session fails its pending requests, forgets its writs (revoking
 * those whose kind can) and removes its socket.  All functions: lock held.
 */
#ifndef WRIT_SESSION_H
#define WRIT_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <sys/types.h>
#include <sys/un.h>

#include "../plugins/grammar.h"
#include "id.h"
#include "refusals.h"
#include "sjson.h"

struct writ;

struct session {
	char id[WRIT_ID_LEN + 1];
	char name[WRIT_MAX_SESSION_NAME + 1];
	char *workspace;		/* absolute path, printable */
	int64_t created_at;
	char dir[256];
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct listener *listener;	/* NULL once closed */
	unsigned int conns;		/* open connections */
	unsigned int pending;		/* requests waiting for a human */
	unsigned int live;		/* writs issued and not yet gone */
	unsigned int live_kind[WRIT_MAX_KINDS];	/* ... per kind, indexed like writ_kinds[] */
	unsigned int minting;		/* orders with the minter, not yet answered */
	unsigned int minting_kind[WRIT_MAX_KINDS];	/* ... per kind */
	unsigned int refs;
	bool closed;
	int64_t denials[16];		/* times of recent human denials, a ring */
	unsigned int ndenials;
	int64_t cooldown_until;		/* monotonic; requests refused until then */
	int pidfd;			/* the process it lives as long as, or -1 */
	pid_t pid;
	uint64_t pid_start;		/* when that process started (peer_start_time), 0 unknown */
	bool restored;			/* left by a crashed run: no socket, only its writs */
	bool spool;			/* asked through writ-sandbox's spool relay: the
					   process behind a request is not known */
	pid_t relay_pid;		/* spool: the relay, the only peer of its socket */
	uint64_t relay_start;		/* ... and when it started (peer_start_time) */
	/*
	 * A CI job's session (opened with its OIDC ID token, see oidc.h); set
	 * at creation and never changed, so they may be read without the lock
	 * by whoever holds a reference.  The token itself is never kept.
	 */
	json_t *claims;			/* its verified claims (policy_claims_clean), or NULL */
	json_t *identity;		/* their compact form for audit records, or NULL */
	int64_t expires_at;		/* wall clock: it closes then (the token's exp + its
					   issuer's grace) and its writs expire by then; 0: never */
	/*
	 * The one other uid that may connect to its socket (a CI job's user,
	 * writd running as a user of its own), through POSIX ACL entries; set
	 * at creation and never changed.
	 */
	bool for_uid;
	uid_t uid;
	struct refusals refused;	/* its refusals' audit budget and counts */
	struct session *next;
};

/*
 * Open a session named name for workspace (NULL: none) and listen on its
 * socket.  With pid > 0 the session closes when that process exits (a
 * sandbox: its writs die with it).  A CI job's session has claims (its
 * verified claims as policy_claims_clean keeps them; taken by reference)
 * and expires_at (> 0: when it closes); else NULL and 0.  With uid >= 0
 * (not ours) that uid, and no other, may also connect to the socket: ACL
 * entries u:uid:x on the runtime dir, sessions/ and the session's dir,
 * u:uid:rw on the socket; those on the two shared dirs go when the last
 * session for uid closes.  Returns 0 and the session (owned by the
 * registry), or WRIT_EBADREQ (also: a filesystem without ACLs, nothing
 * made) / WRIT_ESESSIONS / another code, with a message.
 */
int session_create(const char *name, const char *workspace, pid_t pid,
    json_t *claims, int64_t expires_at, long long uid, struct session **ret,
    char err[WRIT_ERRLEN]);

/*
 * Bring back session id of a run that crashed, for the writs it left
 * (see ledger.h): it has no socket and ends with its last writ.  With
 * pid > 0 it is tied to that process if it is still the one that started
 * at pid_start in this boot (same_boot); else *ret_gone is set and the
 * caller closes it (its sandbox exited while writd was down).  An open
 * session with id is returned as is.  Returns 0 and the session, or
 * WRIT_ENOMEM.
 */
int session_restore(const char *id, const char *name, pid_t pid, uint64_t pid_start,
    bool same_boot, struct session **ret, bool *ret_gone);

/* Close s if it is a restored session whose last writ is gone. */
void session_idle(struct session *s);

/* The open session tied to the process behind pidfd, or NULL. */
struct session *session_by_pidfd(int pidfd);

/* The open session with id, or NULL. */
struct session *session_find(const char *id);

/*
 * Close s: pending requests get error code, writs are forgotten (the
 * revocable ones are put on *revoke for the caller to revoke after
 * unlocking, see writs_revoke_list), socket and directory removed.
 */
void session_close(struct session *s, int code, struct writ **revoke);

/*
 * Close every job session whose expires_at is at most now + 1 (the reaper
 * calls this once a second at most, so none outlives its time), auditing
 * each; writs go on *revoke as for session_close.  Returns how many.
 */
unsigned int session_expire(int64_t now, struct writ **revoke);

/* The earliest expires_at of an open job session (wall clock), INT64_MAX when none. */
int64_t session_next_expiry(void);

/*
 * Write the refusal counts that have waited WRIT_REFUSALS_FLUSH_EVERY
 * seconds (refusals.h) in every session, so a flood that stops is on
 * record within a minute; returns when the next are due (monotonic),
 * INT64_MAX when none wait.  Lock held.
 */
int64_t session_refusals_tick(int64_t now);

/*
 * fields (an audit record's members, stolen) with s's job identity added
 * as "identity" when s has one; for every record of a job session.  Safe
 * without the lock for a holder of a reference.  Returns fields.
 */
json_t *session_audit(const struct session *s, json_t *fields);

/* Close every session (at shutdown). */
void session_close_all(int code, struct writ **revoke);

void session_ref(struct session *s);
/* Drop a reference; frees a closed session at zero.  NULL is fine. */
void session_unref(struct session *s);

/*
 * Count a human denial; returns true when it starts a cooldown (so many
 * denials within the window).
 */
bool session_denied(struct session *s, int64_t now);
/* Seconds of cooldown left, 0 when none. */
int64_t session_cooling(const struct session *s, int64_t now);

/*
 * A refused request of s (refusals.h): true when the caller writes its
 * record in full (a token of s's budget taken), false when it was counted
 * instead.  Counts that are due are written first.
 */
bool session_refused(struct session *s, const struct refusal *what);

/*
 * Is there room in s's budget for a refusal's full record (none taken)?
 * Counts that are due are written first.
 */
bool session_refusal_room(struct session *s);

/*
 * Write s's counted refusals, one "requests_refused" record per key with
 * its count; session_close does it too.
 */
void session_refusals_flush(struct session *s);

/* JSON views. */
json_t *session_json(const struct session *s);
json_t *session_list(void);

/*
 * Remove the runtime's sessions/ tree of a previous run, and the ACL
 * entries for other uids that a crashed run left on the runtime dir and on
 * sessions/.  At start only.
 */
void session_sweep(const char *runtime_dir);

#endif
