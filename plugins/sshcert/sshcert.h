/*
 * sshcert.h - the sshcert kind: short-lived OpenSSH user certificates.
 *
 * The agent makes its own key pair inside the sandbox and sends only the
 * public key (scope.h); writd signs an ssh-ed25519-cert-v01@openssh.com
 * user certificate for it with a CA key from the secret store: a random
 * 32-byte nonce and 64-bit serial (never 0), key id "writ:SESSION:WRIT",
 * the principals asked, valid_after back-dated by clock_skew, valid_before
 * the writ's expiry, critical options force-command and source-address
 * when asked, the extensions asked (none by default).  The token is one
 * line: "ssh-ed25519-cert-v01@openssh.com BASE64 writ:WRIT", the contents
 * of id_ed25519-cert.pub.
 *
 * Revocation: writ revoke, a session's end and the ledger at start put the
 * certificate's serial in writd's KRL (krl.h), which servers read through
 * RevokedKeys; a certificate past its valid_before needs no entry, and
 * entries leave clock_skew after their certificate expires.  The KRL is
 * written on writd's upstream workers (.upstream set): mint, a signature,
 * would be fine inline, but revoke fsyncs files, which no thread serving
 * HTTP may wait for.
 *
 * Config (kinds.sshcert): ca_key (secret name, default "ssh-ca": a 32-byte
 * Ed25519 seed, or an unencrypted OpenSSH ed25519 private key file),
 * krl_path (absolute; default <state_dir>/ssh-revoked.krl), clock_skew
 * (default "60s", at most "10m").  The CA key is read at first use, so
 * `writctl sshcert init` on a running writd is enough; a changed key is
 * read at the next start.  Between signatures its page is inaccessible.
 */
#ifndef WRIT_SSHCERT_H
#define WRIT_SSHCERT_H

#include <stdint.h>

#include "../kind.h"
#include "scope.h"
#include "wire.h"

/* Default and largest clock_skew, seconds. */
#define WRIT_SSHCERT_SKEW 60
#define WRIT_SSHCERT_MAX_SKEW 600

extern const struct writ_kind kind_sshcert;

/*
 * The pure parts, exported for the unit tests; nothing else calls them.
 */

/* What a certificate says (a parsed one points into its blob). */
struct sshcert_info {
	unsigned char pk[WRIT_SSHCERT_PKLEN];	/* the certified key */
	unsigned char ca[WRIT_SSHCERT_PKLEN];	/* the signing CA's key */
	uint64_t serial;
	uint32_t type;				/* 1: user */
	char key_id[128];
	int64_t valid_after, valid_before;
};

/*
 * Encode and sign the certificate for canonical scope with nonce, serial
 * and times as in info (its ca ignored), by the CA (sk: libsodium's 64-byte
 * secret key, pk its public key), into out (appended; the caller wipes it).
 * Returns 0 or WRIT_ENOMEM.  Touches the CA key: the caller guards it.
 */
int sshcert_encode(const json_t *scope, const struct sshcert_info *info,
    const unsigned char nonce[32], const unsigned char *sk,
    const unsigned char ca_pk[WRIT_SSHCERT_PKLEN], struct wire_buf *out);

/*
 * Parse a certificate line ("ssh-ed25519-cert-v01@openssh.com BASE64 ...")
 * of len bytes: an ed25519 user certificate signed by an ed25519 CA whose
 * signature verifies.  Returns 0 and *ret, or WRIT_EBADREQ.
 */
int sshcert_parse_line(const char *line, size_t len, struct sshcert_info *ret);

/*
 * The CA's 32-byte Ed25519 seed from a secret: the raw seed, or an
 * unencrypted OpenSSH private key file holding one ed25519 key.
 * Returns 0, or -1 when it is neither.
 */
int sshcert_ca_seed(const unsigned char *p, size_t len, unsigned char seed[32]);

#endif
