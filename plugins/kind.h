/*
 * kind.h - the interface every kind of writ implements.
 *
 * A kind turns a scope into one canonical form and mints tokens for it.
 * Kinds are built into writd and listed in writ_kinds[] (kinds.c), the way
 * curl lists its TLS backends.  Third-party kinds will run as external
 * programs speaking JSON, never as foreign code loaded into the process that
 * holds the keys.
 *
 * All slots are called without writd's lock held and may run concurrently;
 * a kind guards its own state.  No slot logs: errors come back as a code and
 * a message in err, which reaches the client and so never holds a secret.
 */
#ifndef WRIT_KIND_H
#define WRIT_KIND_H

#include <stdint.h>
#include <jansson.h>

#include "../broker/secret.h"
#include "../broker/sjson.h"

/* Bumped on any incompatible change of struct writ_kind. */
#define WRIT_KIND_ABI 2

/* kind_key.flags: the key's values name hosts or URLs ("api.example.com"). */
#define KIND_KEY_HOST 0x1
/*
 * kind_key.flags: the key's value is an object of names to values
 * ("permissions": {"contents": "write"}).  Only such a key takes sub-keys
 * in a policy; a plain glob there stands for every name's value.
 */
#define KIND_KEY_NAMES 0x2
/*
 * kind_key.flags: the key's values are free text (a command line), so a
 * policy glob there may hold any printable ASCII, spaces included.
 */
#define KIND_KEY_TEXT 0x4
/*
 * kind_key.flags: a value only narrows what the writ grants (an SSH
 * certificate's force-command), so an allow rule that does not name the
 * key admits any value, as it admits the request without it.
 */
#define KIND_KEY_NARROWS 0x8
/*
 * kind_key.flags: the value is a set of grants the kind always fills in,
 * [] when none are asked (sshcert's extensions).  An empty set is within
 * every limit and allow rule, also one that does not name the key; a deny
 * naming the key touches only what is in the set.
 */
#define KIND_KEY_SET 0x10

/*
 * One key a canonical scope may have, and how policy compares its values.
 *
 * NB. a key absent from a canonical scope means "no restriction" to the
 * policy engine: a deny or confirm rule naming it matches, an allow rule
 * or a limit naming it does not admit the request.  A kind whose key,
 * left out, means something narrower fills that in when it canonicalizes
 * (github: "permissions" becomes {"contents": "read"}), so what policy
 * sees is what the token will carry.  A key of a canonical scope that is
 * not among the kind's scope_keys is not seen by policy at all (sshcert's
 * public_key: who holds the certificate, not what it grants); the person
 * approving sees it.
 */
struct kind_key {
	const char *name;		/* "permissions" */
	/*
	 * The values as ordered levels, lowest first, NULL-terminated
	 * ("read", "write", "admin"); for a key whose value is an object
	 * of names ("permissions": {"contents": "write"}), each name's
	 * value.  A deny or confirm rule naming a level covers it and every
	 * higher one; a limit or an allow rule naming a level admits it and
	 * every lower one.  NULL: plain values, compared as globs.
	 */
	const char *const *levels;
	unsigned int flags;		/* KIND_KEY_* */
};

/* What a kind gets at start: where state lives, and the secret store. */
struct kind_env {
	const char *state_dir;
	/* The secret name in a new secret; 0, WRIT_ENOTFOUND or a code. */
	int (*secret_get)(const char *name, struct secret **ret);
	/* Store len bytes at value as secret name; 0 or a code with err. */
	int (*secret_put)(const char *name, const void *value, size_t len,
	    char err[WRIT_ERRLEN]);
};

/* What the broker asks a kind to mint.  Everything is already checked. */
struct kind_mint {
	const char *writ_id;	/* unique id of this writ (a JWT's jti) */
	const char *session_id;	/* the session it is issued to */
	const json_t *scope;	/* canonical, as canonicalize returned it */
	int64_t issued_at;	/* Unix seconds */
	int64_t expires_at;	/* Unix seconds, > issued_at */
};

/* What mint hands back. */
struct kind_token {
	struct secret *token;		/* the caller frees it */
	int retry_after;		/* on a rate-limit error: seconds, else 0 */
};

struct writ_kind {
	const char *name;	/* "jwt": the "kind" of a request */
	unsigned int abi;	/* WRIT_KIND_ABI */

	/*
	 * The keys a canonical scope may have, ending with one whose name is
	 * NULL.  Policy files are checked against them, so a misspelt key in
	 * a deny rule is an error rather than a rule that silently never
	 * matches; policy compares each key's values as it says.
	 */
	const struct kind_key *scope_keys;

	/*
	 * Non-zero when mint and revoke wait on the network: writd then runs
	 * them on its upstream workers, never on a thread serving HTTP.
	 */
	int upstream;

	/*
	 * Set up from the kind's config object (NULL when the config has
	 * none; the broker has removed default_ttl and max_ttl).  Root
	 * credentials come from env's secret store, by the names the config
	 * gives.  Unknown keys are an error.  Returns 0 and the kind's state,
	 * or a negative code with a message naming the key.
	 */
	int (*init)(const json_t *config, const struct kind_env *env,
	    void **ret_state, char err[WRIT_ERRLEN]);

	/* Release the state; optional. */
	void (*fini)(void *state);

	/*
	 * Check an untrusted scope and return it in canonical form (a new
	 * reference), so that two requests for the same thing compare equal
	 * and policy never sees an alias.  Must reject "..", empty segments,
	 * wildcards, control characters and non-ASCII; must be idempotent.
	 * Returns 0 or WRIT_ESCOPE with a message.
	 */
	int (*canonicalize)(const json_t *scope, json_t **ret_scope,
	    char err[WRIT_ERRLEN]);

	/*
	 * Mint a token for req.  Returns 0 and the token in ret->token (a new
	 * secret, the caller frees it), or a negative code with a message
	 * (and ret->retry_after when upstream asked to wait).
	 */
	int (*mint)(void *state, const struct kind_mint *req,
	    struct kind_token *ret, char err[WRIT_ERRLEN]);

	/*
	 * Invalidate token upstream before its expiry; optional (NULL for
	 * kinds whose tokens cannot be revoked, such as plain JWTs).
	 */
	int (*revoke)(void *state, const struct secret *token,
	    char err[WRIT_ERRLEN]);

	/*
	 * Public material a verifier needs (for jwt, a JWKS), as a new
	 * reference; optional.
	 */
	json_t *(*public_keys)(void *state);

	/*
	 * Called by writd's reaper at least every WRIT_KEY_IDLE_MS while it
	 * returns non-zero: close key pages unused that long (mprotect
	 * noaccess).  Returns non-zero while some key is still open.
	 * Optional.
	 */
	int (*idle)(void *state);

	/*
	 * Is upstream refusing canonical scope for now -- a rate limit it
	 * reported, whose window has not passed?  Returns 0, or
	 * WRIT_EUPLIMIT with the seconds left in *ret_retry_after and a
	 * message.  writd asks after policy and before any person, so that
	 * nobody approves what would only be refused again.  Never waits on
	 * the network.  Optional.
	 */
	int (*throttled)(void *state, const json_t *scope, int *ret_retry_after,
	    char err[WRIT_ERRLEN]);
};

/* How long a key page stays readable after its last use, in ms. */
#define WRIT_KEY_IDLE_MS 500

/* Call every kind's idle slot; non-zero when one still has a key open. */
int kinds_idle(void);

/* Every built-in kind, NULL-terminated. */
extern const struct writ_kind *const writ_kinds[];

/*
 * Initialise every kind; configs[i] is writ_kinds[i]'s config object or
 * NULL.  Returns 0, or a code with a message naming the kind.  At start.
 */
int kinds_init(json_t *const configs[], const struct kind_env *env, char err[WRIT_ERRLEN]);
/* Release every kind's state. */
void kinds_fini(void);
/* The state kinds_init made for k. */
void *kinds_state(const struct writ_kind *k);
/* The index of k in writ_kinds[]. */
size_t kinds_index(const struct writ_kind *k);

/* The kind called name, or NULL. */
const struct writ_kind *kinds_find(const char *name);

/* k's scope key called name, or NULL (k NULL: NULL). */
const struct kind_key *kinds_key(const struct writ_kind *k, const char *name);

/* The rank of value among key's levels (0 the lowest), or -1: not a level. */
int kinds_level(const struct kind_key *key, const char *value);

/*
 * True when s is a safe scope value: 1..max printable ASCII characters from
 * [A-Za-z0-9._:/@+-], no "..", no empty path segment, no wildcard.  Shared
 * by kinds so that every one refuses the same tricks.
 */
int kinds_plain_value(const char *s, size_t max);

#endif
