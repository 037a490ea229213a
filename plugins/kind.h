/*
 * kind.h - the interface every kind of writ implements.
 *
 * A kind turns a scope into one canonical form (its grammar, grammar.h:
 * pure, in plugins/<kind>/scope.c) and mints tokens for it (the slots
 * below: keys, signing, the network, in plugins/<kind>/<kind>.c).  Kinds
 * are built into writd and listed in writ_kinds[] (kinds.c), the way curl
 * lists its TLS backends.  Third-party kinds will run as external
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

#include "grammar.h"
#include "keypage.h"
#include "secret.h"
#include "sjson.h"

/* Bumped on any incompatible change of struct writ_kind. */
#define WRIT_KIND_ABI 3

/* What a kind gets at start: where state lives, and the secret store. */
struct kind_env {
	const char *state_dir;
	/* The secret name in a new secret; 0, WRIT_ENOTFOUND or a code. */
	int (*secret_get)(const char *name, struct secret **ret);
	/*
	 * name is a key the kind makes itself (a signing key): the front end
	 * may never set or remove it.  0 or a code.  NULL in tests.
	 */
	int (*secret_own)(const char *name);
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
	 * The kind's scope grammar (grammar.h): its scope keys and its
	 * canonicalize, in a file of their own that links no key, network
	 * or store code.  Its name is this kind's name (kinds_init checks),
	 * and it is listed in kind_grammars[] as this kind is in writ_kinds[].
	 */
	const struct kind_grammar *grammar;

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


/* Call every kind's idle slot; non-zero when one still has a key open. */
int kinds_idle(void);

/* Every built-in kind, NULL-terminated; the same order as kind_grammars[]. */
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


#endif
