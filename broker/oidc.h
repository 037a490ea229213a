/*
 * oidc.h - a CI job's identity: its provider's OIDC ID token (a JWT),
 * verified against the issuers writd's config trusts (ci.issuers).
 *
 * Verification never waits on the network: a thread of its own keeps each
 * issuer's JWKS (fetched over https, or read from a file) and refreshes it
 * every jwks_ttl / 2, and at once when a token names a kid it lacks.  A
 * JWKS older than jwks_ttl is not used: without it, every token of that
 * issuer is refused (fail closed).
 *
 * Locking: one mutex of this module's own, a leaf: held only to look a key
 * up or to swap a fetched key set in, never across I/O or a signature
 * check, and no other lock is taken while it is held.  oidc_verify may be
 * called from any thread between oidc_start and oidc_stop.
 */
#ifndef WRIT_OIDC_H
#define WRIT_OIDC_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "sjson.h"

/* Most issuers in ci.issuers. */
#define OIDC_MAX_ISSUERS 8
/* Seconds of clock skew allowed on exp, nbf and iat. */
#define OIDC_SKEW 60
/* Largest ID token taken, in bytes. */
#define OIDC_MAX_TOKEN 16384
/* Largest JWKS document read or fetched, in bytes. */
#define OIDC_MAX_JWKS (64 * 1024)
/* Most entries in a JWKS "keys" array (usable or not). */
#define OIDC_MAX_KEYS 32
/* Longest kid, in bytes (printable ASCII only). */
#define OIDC_MAX_KID 128
/* RSA moduli taken, in bits: weaker keys are refused, larger ones cost too much. */
#define OIDC_RSA_MIN_BITS 2048
#define OIDC_RSA_MAX_BITS 8192
/* Fewest seconds between two fetches of one issuer's JWKS on demand
 * (unknown kids): a flood of made-up kids cannot make writd hammer it. */
#define OIDC_REFRESH_MIN 5
/* Seconds a JWKS fetch may take in all (connect included). */
#define OIDC_FETCH_TIMEOUT 5

struct oidc_issuer {
	char issuer[512];		/* the exact "iss" */
	char jwks_url[1024];		/* https URL of its JWKS, or "" */
	char jwks_file[PATH_MAX];	/* or a file holding it, or "" */
	char ca_file[PATH_MAX];		/* CA for jwks_url, "" for the system's */
	char audience[256];		/* the exact "aud" writd expects (or one in aud[]) */
	bool rs256, es256;		/* the algorithms allowed; never none or HS* */
	int64_t jwks_ttl;		/* seconds a fetched JWKS is trusted */
	int64_t grace;			/* seconds a job session may outlive the token's exp
					 * (for the session code; oidc itself ignores it) */
};

/*
 * Start the JWKS thread for the n issuers in is (kept, not copied: the
 * config's; they must outlive oidc_stop).  A jwks_file issuer's file is
 * read here, and a bad one (unreadable, writable by group or other, not
 * ours or root's, not a JWKS, a usable key malformed or an RSA key outside
 * 2048-8192 bits, no usable key) fails the start; a jwks_url issuer is
 * fetched by the thread at once, so start never waits on the network (a
 * token verified before that first fetch lands is refused as "JWKS ...
 * unavailable").  Returns 0 or a negative code with a message.
 */
int oidc_start(const struct oidc_issuer *is, unsigned int n, char err[WRIT_ERRLEN]);

/* Stop and join the thread and free every key.  No oidc_verify may run
 * during or after it (stop the HTTP server first).  Safe when not started. */
void oidc_stop(void);

/*
 * Verify token at time now (seconds since the epoch): its issuer is one
 * configured, its alg allowed for it, its kid in that issuer's JWKS, its
 * signature good, its aud the configured audience, exp/nbf/iat within
 * OIDC_SKEW.  Returns 0 with the verified claims (a new reference) and
 * the issuer (a pointer into the array given to oidc_start), or
 * WRIT_EIDENTITY with a message saying which check failed (never the
 * token itself); ret_* are written only on success.  No network I/O: an
 * unknown kid wakes the JWKS thread and this call fails ("unknown kid");
 * the same token verifies once the refresh has landed.
 *
 * The messages (stable beginnings, for tests and clients): "token too
 * long", "token is not three base64url parts", "token ... is not
 * base64url", "token header is not a JSON object", "duplicate key in the
 * token header|claims", "alg none refused", "alg HS256 refused", "alg X
 * refused", "crit header refused", "token has no kid", "token has no
 * iss", "unknown issuer", "alg X not allowed for issuer", "JWKS of ISSUER
 * unavailable", "unknown kid", "kid ... is an RSA|EC key, not one for
 * ALG", "ES256 signature must be 64 bytes", "RS256 signature length does
 * not match the key", "signature does not verify", "token has no aud",
 * "audience mismatch", "token has no exp", "token expired", "token not
 * yet valid (nbf)", "token has no iat", "token issued in the future
 * (iat)", "oidc is not started (no ci.issuers)".
 */
int oidc_verify(const char *token, int64_t now, json_t **ret_claims,
    const struct oidc_issuer **ret_issuer, char err[WRIT_ERRLEN]);

#endif
