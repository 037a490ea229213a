/*
 * store.h - where writ's root credentials live.
 *
 * One store per writd, behind one small interface (this header) with two
 * backends, one file each behind backend.h:
 *
 *  keyring  (default; keyring.c) the kernel keyring: keys of type "user"
 *           named "writ:<name>" in a keyring of writd's own ("writ" unless
 *           configured) linked into the user keyring, possessor-only
 *           permissions.  Survives writd restarts, not reboots.  A sandbox
 *           in its own user namespace has another user keyring and cannot
 *           find these keys.
 *  file     (sealed.c) one sealed file, <state_dir>/secrets.sealed
 *           (libsodium secretbox), keyed by a random key kept in the
 *           keyring or by Argon2id over a passphrase read from a file
 *           descriptor or the terminal (never argv or the environment).
 *           Survives reboots.
 *
 * (A remote backend, Vault/OpenBao KV for fleets, is one more file.)
 * Values come back in sodium_malloc memory; names are [A-Za-z0-9._-].  The
 * store has its own lock: call without writd_lock.
 */
#ifndef WRIT_STORE_H
#define WRIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../config.h"
#include "id.h"
#include "secret.h"
#include "sjson.h"

/* Largest secret value (a keyring "user" key holds 32767 bytes). */
#define WRIT_MAX_SECRET 32000


/*
 * Open the configured backend.  passphrase_fd (-1: none) is read once for
 * the file backend's passphrase.  Returns 0 or a code with a message.
 */
int store_open(const struct config *cfg, int passphrase_fd, char err[WRIT_ERRLEN]);

/* The secret name, in a new secret.  Returns 0, WRIT_ENOTFOUND or a code. */
int store_get(const char *name, struct secret **ret);

/* Set name to the len bytes at value.  Returns 0 or a code with a message. */
int store_put(const char *name, const void *value, size_t len, char err[WRIT_ERRLEN]);

/*
 * The key name, made first when there is none: make fills len bytes (a
 * random key, a key pair), which go into the store and are wiped.  For
 * writd's own keys (the audit chain and checkpoint keys).  Returns 0 and
 * the key in *ret, or a code with a message.
 */
int store_get_or_make(const char *name, size_t len, void (*make)(unsigned char *buf, size_t len),
    struct secret **ret, char err[WRIT_ERRLEN]);

/* Remove name.  Returns 0, WRIT_ENOTFOUND or a code. */
int store_del(const char *name);

/* Most names store_own keeps. */
#define WRIT_STORE_MAX_OWN 16

/*
 * name is one of writd's own keys (made by writd: the audit log's, the
 * ledger's, the jwt kind's signing key ...): the front end may never set
 * or remove it (minter_secret_put, minter_secret_del), else a compromised
 * one could swap a signing key for one it knows.  store_get_or_make owns
 * its name itself.  Returns 0, or WRIT_ETOOBIG past WRIT_STORE_MAX_OWN.
 */
int store_own(const char *name);

/* Is name one of writd's own keys? */
bool store_owned(const char *name);

/* [{"name", "size", "updated_at"}], never values; NULL on failure. */
json_t *store_list(void);

/* Forget the backend's in-memory state (keys in the keyring stay). */
void store_close(void);

#endif
