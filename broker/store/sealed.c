/*
 * sealed.c - the sealed-file backend of the secret store (backend.h).
 *
 * One file, <state_dir>/secrets.sealed: a header (magic, kdf, salt,
 * Argon2id costs, nonce), then the secrets as one JSON object sealed with
 * libsodium's secretbox.  Its key is a random one kept in the keyring
 * (through the keyring backend, as the secret "sealed-file-key") or
 * Argon2id over a passphrase read once at start.  Every change rewrites
 * the whole file atomically.  Survives reboots.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "backend.h"
#include "errors.h"
#include "store.h"

/* The sealed file: magic, kdf, salt, opslimit, memlimit, nonce, box. */
#define SEAL_MAGIC "WRITSEAL"
#define SEAL_FILE "secrets.sealed"
#define SEAL_KEY_NAME "sealed-file-key"
#define SEAL_HDR (8 + 1 + crypto_pwhash_SALTBYTES + 8 + 8 + crypto_secretbox_NONCEBYTES)
/* Argon2id cost for the passphrase: libsodium's "moderate". */
#define SEAL_OPS crypto_pwhash_OPSLIMIT_MODERATE
#define SEAL_MEM crypto_pwhash_MEMLIMIT_MODERATE
/* Largest sealed file. */
#define SEAL_MAX (4 * 1024 * 1024)

enum { KDF_KEYRING = 0, KDF_ARGON2ID = 1 };

static int kdf = KDF_KEYRING;
static char seal_path[PATH_MAX + 32];
static struct secret *passphrase;	/* with a passphrase */
/*
 * The key Argon2id derived, and the salt it was derived with: the file
 * keeps its salt across saves, so a passphrase costs one derivation per
 * start, not one per secret read.
 */
static struct secret *derived;
static unsigned char derived_salt[crypto_pwhash_SALTBYTES];

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The file key for a header (salt and costs), in guarded memory. */
static int
seal_key(const unsigned char *hdr, struct secret **ret, char err[WRIT_ERRLEN])
{
	struct secret *k;
	int r;

	if (hdr[8] != kdf) {
		snprintf(err, WRIT_ERRLEN, "%s is sealed with a %s, but writd is configured "
		    "for a %s", seal_path, hdr[8] ? "passphrase" : "keyring key",
		    kdf ? "passphrase" : "keyring key");
		return WRIT_EFORBIDDEN;
	}
	if (kdf == KDF_KEYRING) {
		r = store_keyring.get(SEAL_KEY_NAME, &k);
		if (r == WRIT_ENOTFOUND) {
			snprintf(err, WRIT_ERRLEN, "the key of %s is not in the keyring (lost at a "
			    "reboot?); the file cannot be opened", seal_path);
			return WRIT_EFORBIDDEN;
		}
		if (r == 0 && k->len != crypto_secretbox_KEYBYTES) {
			secret_free(k);
			r = WRIT_EINTERNAL;
		}
		if (r < 0)
			return r;
		*ret = k;
		return 0;
	}
	if (derived != NULL && sodium_memcmp(derived_salt, hdr + 9, sizeof(derived_salt)) == 0) {
		*ret = secret_dup(derived->data, derived->len);
		return *ret != NULL ? 0 : WRIT_ENOMEM;
	}
	k = secret_new(crypto_secretbox_KEYBYTES);
	if (k == NULL)
		return WRIT_ENOMEM;
	if (crypto_pwhash(k->data, k->len, (const char *)passphrase->data, passphrase->len,
	    hdr + 9, get64(hdr + 9 + crypto_pwhash_SALTBYTES),
	    (size_t)get64(hdr + 17 + crypto_pwhash_SALTBYTES), crypto_pwhash_ALG_ARGON2ID13) != 0) {
		secret_free(k);
		snprintf(err, WRIT_ERRLEN, "cannot derive the key of %s (out of memory?)", seal_path);
		return WRIT_ENOMEM;
	}
	/* NB. cached only once it has opened the file: see seal_load. */
	*ret = k;
	return 0;
}

/* Remember a key that opened the file (passphrase backend). */
static void
remember(const unsigned char *hdr, const struct secret *k)
{
	if (kdf != KDF_ARGON2ID)
		return;
	secret_free(derived);
	derived = secret_dup(k->data, k->len);
	memcpy(derived_salt, hdr + 9, sizeof(derived_salt));
}

/* Decrypt the sealed file into JSON; an absent file is {}. */
static int
seal_load(json_t **ret, char err[WRIT_ERRLEN])
{
	struct secret *key = NULL, *plain = NULL;
	unsigned char *buf = NULL;
	struct stat st;
	json_error_t je;
	ssize_t n;
	int fd, r = WRIT_EFORBIDDEN;

	fd = open(seal_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*ret = json_object();
		return *ret != NULL ? 0 : WRIT_ENOMEM;
	}
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", seal_path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s must be a regular file owned by uid %u with "
		    "mode 0600", seal_path, (unsigned)geteuid());
		goto out;
	}
	if (st.st_size < (off_t)(SEAL_HDR + crypto_secretbox_MACBYTES) || st.st_size > SEAL_MAX) {
		snprintf(err, WRIT_ERRLEN, "%s is truncated or not a sealed secrets file", seal_path);
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL || (n = read(fd, buf, (size_t)st.st_size)) != st.st_size) {
		snprintf(err, WRIT_ERRLEN, "%s: short read", seal_path);
		goto out;
	}
	if (memcmp(buf, SEAL_MAGIC, 8) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s is not a sealed secrets file", seal_path);
		goto out;
	}
	if ((r = seal_key(buf, &key, err)) < 0)
		goto out;
	plain = secret_new((size_t)n - SEAL_HDR - crypto_secretbox_MACBYTES);
	if (plain == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	if (crypto_secretbox_open_easy(plain->data, buf + SEAL_HDR, (size_t)n - SEAL_HDR,
	    buf + SEAL_HDR - crypto_secretbox_NONCEBYTES, key->data) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot open %s: wrong key or passphrase, or the "
		    "file was altered", seal_path);
		r = WRIT_EFORBIDDEN;
		goto out;
	}
	remember(buf, key);
	*ret = json_loadb((const char *)plain->data, plain->len, JSON_REJECT_DUPLICATES, &je);
	if (*ret == NULL || !json_is_object(*ret)) {
		json_decref(*ret);
		snprintf(err, WRIT_ERRLEN, "%s decrypted to something that is not writ's", seal_path);
		r = WRIT_EFORBIDDEN;
		goto out;
	}
	r = 0;
 out:
	secret_free(key);
	secret_free(plain);
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Is the file's key in the keyring yet? */
static bool
key_in_keyring(void)
{
	struct secret *k = NULL;
	int r = store_keyring.get(SEAL_KEY_NAME, &k);

	secret_free(k);
	return r != WRIT_ENOTFOUND;
}

/* Encrypt all and replace the file atomically (temp, fsync, rename, fsync dir). */
static int
seal_save(const json_t *all, char err[WRIT_ERRLEN])
{
	unsigned char hdr[SEAL_HDR], *box = NULL;
	struct secret *key = NULL;
	char tmp[sizeof(seal_path) + 8], dir[sizeof(seal_path)];
	char *text = json_dumps(all, JSON_COMPACT);
	size_t len, boxlen;
	int fd = -1, r = WRIT_EINTERNAL;

	if (text == NULL)
		return WRIT_ENOMEM;
	len = strlen(text);
	memcpy(hdr, SEAL_MAGIC, 8);
	hdr[8] = (unsigned char)kdf;
	/* Keep the salt the passphrase was last derived with; else a new one. */
	if (kdf == KDF_ARGON2ID && derived != NULL)
		memcpy(hdr + 9, derived_salt, crypto_pwhash_SALTBYTES);
	else
		randombytes_buf(hdr + 9, crypto_pwhash_SALTBYTES);
	put64(hdr + 9 + crypto_pwhash_SALTBYTES, SEAL_OPS);
	put64(hdr + 17 + crypto_pwhash_SALTBYTES, SEAL_MEM);
	randombytes_buf(hdr + SEAL_HDR - crypto_secretbox_NONCEBYTES, crypto_secretbox_NONCEBYTES);
	if (kdf == KDF_KEYRING && !key_in_keyring()) {
		unsigned char k[crypto_secretbox_KEYBYTES];

		crypto_secretbox_keygen(k);
		r = store_keyring.put(SEAL_KEY_NAME, k, sizeof(k), err);
		sodium_memzero(k, sizeof(k));
		if (r < 0)
			goto out;
	}
	if ((r = seal_key(hdr, &key, err)) < 0)
		goto out;
	remember(hdr, key);
	boxlen = len + crypto_secretbox_MACBYTES;
	box = malloc(boxlen);
	if (box == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	crypto_secretbox_easy(box, (const unsigned char *)text, len,
	    hdr + SEAL_HDR - crypto_secretbox_NONCEBYTES, key->data);
	snprintf(tmp, sizeof(tmp), "%s.tmp", seal_path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    write(fd, box, boxlen) != (ssize_t)boxlen || fsync(fd) != 0 ||
	    rename(tmp, seal_path) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot write %s: %s", seal_path, strerror(errno));
		(void)unlink(tmp);
		r = WRIT_EINTERNAL;
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", seal_path);
	*strrchr(dir, '/') = '\0';
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	r = 0;
 out:
	if (fd >= 0)
		close(fd);
	sodium_memzero(text, len);
	free(text);
	free(box);
	secret_free(key);
	return r;
}

/* Read a passphrase from fd, or from the terminal with echo off. */
static int
read_passphrase(int fd, char err[WRIT_ERRLEN])
{
	struct termios old, quiet;
	bool tty = false;
	ssize_t n = 0;
	int close_fd = -1;

	passphrase = secret_new(1024);
	if (passphrase == NULL)
		return WRIT_ENOMEM;
	if (fd < 0) {
		fd = close_fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			snprintf(err, WRIT_ERRLEN, "the sealed store needs a passphrase: pass "
			    "--passphrase-fd N, or run writd on a terminal");
			return WRIT_EFORBIDDEN;
		}
		if (tcgetattr(fd, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tty = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
		}
		ssize_t w = write(fd, "writd: passphrase for the secret store: ", 40);

		(void)w;
	}
	/* One line, byte by byte: nothing past the newline is consumed. */
	while ((size_t)n < passphrase->len) {
		unsigned char ch;
		ssize_t k = read(fd, &ch, 1);

		if (k <= 0 || ch == '\n')
			break;
		passphrase->data[n++] = ch;
	}
	if (tty) {
		ssize_t w;

		(void)tcsetattr(fd, TCSAFLUSH, &old);
		w = write(fd, "\n", 1);
		(void)w;
	}
	if (close_fd >= 0)
		close(close_fd);
	passphrase->len = (size_t)n;
	if (n == 0) {
		snprintf(err, WRIT_ERRLEN, "an empty passphrase is not a passphrase");
		return WRIT_EFORBIDDEN;
	}
	return 0;
}

/* --- the backend --- */

static int
sealed_open(const struct config *cfg, int passphrase_fd, char err[WRIT_ERRLEN])
{
	json_t *all;
	int r;

	kdf = cfg->store_passphrase ? KDF_ARGON2ID : KDF_KEYRING;
	snprintf(seal_path, sizeof(seal_path), "%s/%s", cfg->state_dir, SEAL_FILE);
	/* The keyring holds the file's key, unless a passphrase makes it. */
	if (kdf == KDF_KEYRING && (r = store_keyring.open(cfg, -1, err)) < 0)
		return r;
	if (kdf == KDF_ARGON2ID && (r = read_passphrase(passphrase_fd, err)) < 0)
		return r;
	/* Open it now: a wrong passphrase should stop writd at start. */
	if ((r = seal_load(&all, err)) < 0)
		return r;
	json_decref(all);
	return 0;
}

static int
sealed_get(const char *name, struct secret **ret)
{
	char err[WRIT_ERRLEN];
	unsigned char *v = NULL;
	json_t *all, *e;
	size_t n;
	int r;

	if ((r = seal_load(&all, err)) < 0)
		return r;
	e = json_object_get(all, name);
	r = WRIT_ENOTFOUND;
	if (json_is_string(json_object_get(e, "v"))) {
		const char *b64 = json_string_value(json_object_get(e, "v"));

		v = malloc(strlen(b64) + 1);
		r = v != NULL && sodium_base642bin(v, strlen(b64) + 1, b64, strlen(b64), NULL, &n,
		    NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    (*ret = secret_dup(v, n)) != NULL ? 0 : WRIT_EINTERNAL;
		if (v != NULL)
			sodium_memzero(v, strlen(b64) + 1);
		free(v);
	}
	json_decref(all);
	return r;
}

static int
sealed_put(const char *name, const void *value, size_t len, char err[WRIT_ERRLEN])
{
	char *b64 = NULL;
	size_t b64len;
	json_t *all;
	int r;

	if ((r = seal_load(&all, err)) < 0)
		return r;
	b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64len);
	if (b64 == NULL) {
		json_decref(all);
		return WRIT_ENOMEM;
	}
	sodium_bin2base64(b64, b64len, value, len, sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(all, name, json_pack("{sssIsI}", "v", b64, "size", (json_int_t)len,
	    "t", (json_int_t)time(NULL)));
	sodium_memzero(b64, b64len);
	free(b64);
	r = seal_save(all, err);
	json_decref(all);
	return r;
}

static int
sealed_del(const char *name)
{
	char err[WRIT_ERRLEN];
	json_t *all;
	int r;

	if ((r = seal_load(&all, err)) == 0) {
		r = json_object_del(all, name) == 0 ? seal_save(all, err) : WRIT_ENOTFOUND;
		json_decref(all);
	}
	return r;
}

static json_t *
sealed_list(void)
{
	char err[WRIT_ERRLEN];
	json_t *a = NULL, *all, *e;
	const char *name;

	/* NB. the file's own key, in the keyring, is not a secret of the user's. */
	if (seal_load(&all, err) == 0) {
		a = json_array();
		json_object_foreach(all, name, e)
			json_array_append_new(a, json_pack("{sssOsO}", "name", name,
			    "size", json_object_get(e, "size"), "updated_at", json_object_get(e, "t")));
		json_decref(all);
	}
	return a;
}

static void
sealed_close(void)
{
	secret_free(passphrase);
	secret_free(derived);
	passphrase = derived = NULL;
}

const struct store_backend store_sealed = {
	.name = "file",
	.open = sealed_open,
	.get = sealed_get,
	.put = sealed_put,
	.del = sealed_del,
	.list = sealed_list,
	.close = sealed_close,
};
