/*
 * backend.h - what a secret store backend implements (store.h is what
 * the rest of writd calls).
 *
 * One backend serves a writd: the one config's store.backend names,
 * looked up by name in store_backends[] (store.c), the way curl lists its
 * TLS backends.  A new backend (Vault/OpenBao KV for fleets) is one new
 * file defining a const struct store_backend, plus its line in that list
 * and its keys in config.c.
 *
 * store.c checks every name (secret_name_valid) and value size and holds
 * store_lock around every slot but open: a backend needs no lock of its
 * own and never sees a name it would have to refuse.  Values go in and
 * come out as struct secret (guarded memory); a backend wipes every copy
 * it makes.  No slot logs; err, where there is one, never holds a secret.
 */
#ifndef WRIT_STORE_BACKEND_H
#define WRIT_STORE_BACKEND_H

#include <stddef.h>
#include <jansson.h>

#include "../config.h"
#include "errors.h"
#include "secret.h"

struct store_backend {
	const char *name;	/* "keyring": the value of store.backend */

	/*
	 * Set up from the config (the state dir, the keyring's name, whether
	 * a passphrase is wanted); passphrase_fd (-1: none) is read once if
	 * the backend wants a passphrase.  A backend that can tell should
	 * fail here, not at the first secret: a wrong passphrase stops writd
	 * at start.  At start, before any thread.  Returns 0 or a code with
	 * a message.
	 */
	int (*open)(const struct config *cfg, int passphrase_fd, char err[WRIT_ERRLEN]);

	/* The secret name, in a new secret.  Returns 0, WRIT_ENOTFOUND or a code. */
	int (*get)(const char *name, struct secret **ret);

	/*
	 * Set name to the len bytes at value (1..WRIT_MAX_SECRET), replacing
	 * any value it had.  Returns 0 or a code with a message.
	 */
	int (*put)(const char *name, const void *value, size_t len, char err[WRIT_ERRLEN]);

	/* Remove name.  Returns 0, WRIT_ENOTFOUND or a code. */
	int (*del)(const char *name);

	/* [{"name", "size", "updated_at"}] of every secret, never a value; NULL on failure. */
	json_t *(*list)(void);

	/* Forget in-memory state (what is stored stays); optional. */
	void (*close)(void);
};

/* The kernel keyring (keyring.c). */
extern const struct store_backend store_keyring;
/* One sealed file (sealed.c); its key is in the keyring or from a passphrase. */
extern const struct store_backend store_sealed;

#endif
