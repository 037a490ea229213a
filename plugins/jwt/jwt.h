/*
 * jwt.h - writd as a JWT issuer: EdDSA (Ed25519) tokens.
 *
 * Scope: {"aud": "<audience>", "scope": "<space-separated words>"}; aud is
 * required.  Canonical form: "scope" becomes a sorted array of unique words
 * (and is accepted as one, so canonicalization is idempotent).  Claims: iss (config "issuer", default "writ"), sub (the
 * session), aud, scope (when asked for), iat, exp, jti (the writ id).
 * The signing key is a 32-byte seed in the secret store (config "key",
 * default "jwt-signing-key"), made on first start.  A key file left by an
 * older writd (<state_dir>/jwt-ed25519.key, refused unless 0600 and ours)
 * is moved into the store.  Between signatures the key's page is
 * inaccessible (sodium_mprotect_noaccess).
 */
#ifndef WRIT_JWT_H
#define WRIT_JWT_H

#include "../kind.h"

/* Longest audience, in bytes. */
#define WRIT_JWT_MAX_AUD 256
/* Most words in the scope claim, and the longest word. */
#define WRIT_JWT_MAX_WORDS 16
#define WRIT_JWT_MAX_WORD 64

/* The scope grammar (scope.c): all that policy and writctl link of jwt. */
extern const struct kind_grammar jwt_grammar;

/* The kind (jwt.c): signing, with its key from the store. */
extern const struct writ_kind kind_jwt;

#endif
