/*
 * scope.h - the sshcert kind's scope grammar: what an agent may ask a
 * certificate for, in one canonical form.  Pure: no keys, no files, no
 * network, so the policy engine, writctl and the fuzzers link it alone.
 *
 * Scope (an object; unknown keys refused):
 *
 *   public_key      "ssh-ed25519 AAAA... [comment]": the agent's own key,
 *                   made inside the sandbox (required).  Only ssh-ed25519:
 *                   other types (RSA, ECDSA, DSA, security keys,
 *                   certificates) are refused as unsupported.  Canonical:
 *                   the type and the key's base64 as writ re-encodes it,
 *                   the comment dropped.
 *   principals      a name or an array of 1..WRIT_SSHCERT_MAX_PRINCIPALS
 *                   (required): user names the certificate is valid for.
 *                   NB. empty is refused -- OpenSSH reads a certificate
 *                   without principals as valid for every one.  Canonical:
 *                   a sorted array without repeats.
 *   force_command   the command sshd runs whatever the client asks
 *                   (critical option force-command): printable ASCII.
 *   source_address  "10.0.0.0/8,192.0.2.1" or an array: IPv4/IPv6
 *                   addresses or CIDR blocks (critical option
 *                   source-address).  Canonical: a sorted array of
 *                   addresses as inet_ntop writes them, without repeats; a
 *                   block with host bits set is refused.
 *   extensions      a name or an array of OpenSSH's standard user
 *                   extensions (permit-pty, permit-port-forwarding, ...).
 *                   Canonical: a sorted array without repeats, [] when none
 *                   are asked (none is the default: a certificate grants
 *                   nothing it does not name).
 *
 * Other critical options cannot be asked for: sshd refuses a certificate
 * with one it does not know, and writ issues none it does not check.
 */
#ifndef WRIT_SSHCERT_SCOPE_H
#define WRIT_SSHCERT_SCOPE_H

#include <stddef.h>
#include <jansson.h>

#include "sjson.h"
#include "../grammar.h"

/* Most principals in one certificate, and the longest one. */
#define WRIT_SSHCERT_MAX_PRINCIPALS 16
#define WRIT_SSHCERT_MAX_PRINCIPAL 64
/* Longest force_command, in bytes. */
#define WRIT_SSHCERT_MAX_COMMAND 1024
/* Most source addresses. */
#define WRIT_SSHCERT_MAX_SOURCES 16
/* Longest public key line accepted (an ed25519 line is ~81 bytes plus its comment). */
#define WRIT_SSHCERT_MAX_KEYLINE 1024

/* An Ed25519 public key, raw. */
#define WRIT_SSHCERT_PKLEN 32

/*
 * The keys policy sees (kind.h).  NB. public_key is not among them: it
 * says who holds the certificate, not what it grants, and policy never
 * sees it (the person approving does).
 */
extern const struct kind_key sshcert_scope_keys[];

/* The kind's canonicalize (kind.h): 0, or WRIT_ESCOPE / WRIT_ENOMEM with a message. */
int sshcert_canonicalize(const json_t *scope, json_t **ret_scope, char err[WRIT_ERRLEN]);

/* The kind's grammar (grammar.h): its name, scope_keys, sshcert_canonicalize. */
extern const struct kind_grammar sshcert_grammar;

/*
 * The raw key of a canonical "ssh-ed25519 BASE64" line into pk.  Returns 0,
 * or -1 when line is not one (the caller canonicalized it, so: a bug).
 */
int sshcert_public_key(const char *line, unsigned char pk[WRIT_SSHCERT_PKLEN]);

#endif
