/*
 * oidc.h - a CI job's identity: its provider's OIDC ID token (a JWT),
 * verified against the issuers writd's config trusts (ci.issuers).
 *
 * Verification never waits on the network: a thread of its own keeps each
 * issuer's JWKS (fetched over https, or read from a file) and refreshes it
 * every jwks_ttl / 2, and at once when a token names a kid it lacks.  A
 * JWKS older than jwks_ttl is not used: without it, every token of that
 * issuer is refused (fail closed).
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

struct oidc_issuer {
	char issuer[512];		/* the exact "iss" */
	char jwks_url[1024];		/* https URL of its JWKS, or "" */
	char jwks_file[PATH_MAX];	/* or a file holding it, or "" */
	char ca_file[PATH_MAX];		/* CA for jwks_url, "" for the system's */
	char audience[256];		/* the exact "aud" writd expects (or one in aud[]) */
	bool rs256, es256;		/* the algorithms allowed; never none or HS* */
	int64_t jwks_ttl;		/* seconds a fetched JWKS is trusted */
	int64_t grace;			/* seconds a job session may outlive the token's exp */
};

/*
 * Start the JWKS thread for the n issuers in is (kept, not copied: the
 * config's).  Returns 0 or a negative code with a message.
 */
int oidc_start(const struct oidc_issuer *is, unsigned int n, char err[WRIT_ERRLEN]);
void oidc_stop(void);

/*
 * Verify token at time now (seconds since the epoch): its issuer is one
 * configured, its alg allowed for it, its kid in that issuer's JWKS, its
 * signature good, its aud the configured audience, exp/nbf/iat within
 * OIDC_SKEW.  Returns 0 with the verified claims (a new reference) and
 * the issuer, or WRIT_EIDENTITY with a message saying which check failed
 * (never the token itself).
 */
int oidc_verify(const char *token, int64_t now, json_t **ret_claims,
    const struct oidc_issuer **ret_issuer, char err[WRIT_ERRLEN]);

#endif
