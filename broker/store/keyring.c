/*
 * keyring.c - the keyring backend of the secret store (backend.h).
 *
 * Keys of type "user" named "writ:<name>" in a keyring of writd's own
 * ("writ" unless store.keyring says otherwise) linked into the user
 * keyring, possessor-only permissions.  Each payload carries the time it
 * was stored, for store_list.  Survives writd restarts, not reboots.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <keyutils.h>

#include "backend.h"
#include "errors.h"
#include "store.h"

/* Keyring payloads: "WRT1", updated_at (8 bytes, little endian), value. */
#define HDR_MAGIC "WRT1"
#define HDR_LEN 12

static key_serial_t ring = -1;		/* writd's keyring */

static key_serial_t
kr_find(const char *name)
{
	char desc[WRIT_MAX_SECRET_NAME + 8];

	snprintf(desc, sizeof(desc), "writ:%s", name);
	return keyctl_search(ring, "user", desc, 0);
}

/* Read key k's payload into guarded memory. */
static int
kr_read(key_serial_t k, struct secret **ret)
{
	struct secret *s;
	long n = keyctl_read(k, NULL, 0);

	if (n < 0)
		return errno == ENOKEY ? WRIT_ENOTFOUND : WRIT_EINTERNAL;
	s = secret_new((size_t)n);
	if (s == NULL)
		return WRIT_ENOMEM;
	/* NB. straight into sodium_malloc memory: no plain copy on the heap. */
	if (keyctl_read(k, (char *)s->data, (size_t)n) != n) {
		secret_free(s);
		return WRIT_EINTERNAL;
	}
	*ret = s;
	return 0;
}

static int
kr_get(const char *name, struct secret **ret)
{
	struct secret *raw, *v;
	key_serial_t k = kr_find(name);
	int r;

	if (k < 0)
		return WRIT_ENOTFOUND;
	if ((r = kr_read(k, &raw)) < 0)
		return r;
	if (raw->len < HDR_LEN || memcmp(raw->data, HDR_MAGIC, 4) != 0) {
		secret_free(raw);
		return WRIT_EINTERNAL;
	}
	v = secret_dup(raw->data + HDR_LEN, raw->len - HDR_LEN);
	secret_free(raw);
	if (v == NULL)
		return WRIT_ENOMEM;
	*ret = v;
	return 0;
}

static int
kr_put(const char *name, const void *value, size_t len, char err[WRIT_ERRLEN])
{
	char desc[WRIT_MAX_SECRET_NAME + 8];
	struct secret *p = secret_new(HDR_LEN + len);
	uint64_t t = (uint64_t)time(NULL);
	key_serial_t k;

	if (p == NULL)
		return WRIT_ENOMEM;
	memcpy(p->data, HDR_MAGIC, 4);
	for (int i = 0; i < 8; i++)
		p->data[4 + i] = (unsigned char)(t >> (8 * i));
	memcpy(p->data + HDR_LEN, value, len);
	snprintf(desc, sizeof(desc), "writ:%s", name);
	k = add_key("user", desc, p->data, p->len, ring);
	secret_free(p);
	if (k < 0) {
		snprintf(err, WRIT_ERRLEN, "the keyring refused the secret: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	/* Possessor only: view, read, write, search, link, setattr. */
	if (keyctl_setperm(k, KEY_POS_VIEW | KEY_POS_READ | KEY_POS_WRITE | KEY_POS_SEARCH |
	    KEY_POS_LINK | KEY_POS_SETATTR) != 0) {
		keyctl_invalidate(k);
		snprintf(err, WRIT_ERRLEN, "cannot restrict the key: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	return 0;
}

static int
kr_del(const char *name)
{
	key_serial_t k = kr_find(name);

	if (k < 0)
		return WRIT_ENOTFOUND;
	keyctl_unlink(k, ring);
	keyctl_invalidate(k);
	return 0;
}

static json_t *
kr_list(void)
{
	key_serial_t *ids = NULL;
	json_t *a = json_array();
	long n = keyctl_read_alloc(ring, (void **)&ids);

	for (long i = 0; a != NULL && n > 0 && i < n / (long)sizeof(key_serial_t); i++) {
		char *desc = NULL, *name;
		struct secret *raw = NULL;
		uint64_t t = 0;

		if (keyctl_describe_alloc(ids[i], &desc) < 0)
			continue;
		/* "user;uid;gid;perm;writ:NAME" */
		name = strrchr(desc, ';');
		if (strncmp(desc, "user;", 5) == 0 && name != NULL &&
		    strncmp(name + 1, "writ:", 5) == 0 && kr_read(ids[i], &raw) == 0 &&
		    raw->len >= HDR_LEN) {
			for (int b = 0; b < 8; b++)
				t |= (uint64_t)raw->data[4 + b] << (8 * b);
			json_array_append_new(a, json_pack("{sssIsI}", "name", name + 6,
			    "size", (json_int_t)(raw->len - HDR_LEN), "updated_at", (json_int_t)t));
		}
		secret_free(raw);
		free(desc);
	}
	free(ids);
	return a;
}

static int
kr_open(const struct config *cfg, int passphrase_fd, char err[WRIT_ERRLEN])
{
	const char *name = cfg->store_keyring;

	(void)passphrase_fd;
	ring = keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name, 0);
	if (ring < 0)
		ring = add_key("keyring", name, NULL, 0, KEY_SPEC_USER_KEYRING);
	if (ring < 0) {
		snprintf(err, WRIT_ERRLEN, "cannot open keyring %s in the user keyring: %s "
		    "(a seccomp filter may forbid keyctl; use \"store\": {\"backend\": \"file\"})",
		    name, strerror(errno));
		return WRIT_EINTERNAL;
	}
	(void)keyctl_setperm(ring, KEY_POS_ALL);
	return 0;
}

const struct store_backend store_keyring = {
	.name = "keyring",
	.open = kr_open,
	.get = kr_get,
	.put = kr_put,
	.del = kr_del,
	.list = kr_list,
};
