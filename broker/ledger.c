/*
 * ledger.c - sealed, synced records of tokens still to revoke.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "audit.h"
#include "errors.h"
#include "ledger.h"
#include "store.h"
#include "upstream.h"

#define KEY_NAME "ledger-key"

/* Closed entries tolerated in the file before it is compacted. */
#ifndef COMPACT_AFTER
#define COMPACT_AFTER 1000
#endif

static pthread_mutex_t llock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int closed_since;	/* "done" records since the last compaction */
static int fd = -1;
static char path[4200];
static struct secret *key;

static void compact_locked(void);

static int
append(const json_t *rec, bool sync)
{
	char *line = json_dumps(rec, JSON_COMPACT);
	size_t len;
	int r = 0;

	if (line == NULL)
		return WRIT_ENOMEM;
	len = strlen(line);
	line[len] = '\n';	/* json_dumps leaves room: we write len + 1 */
	pthread_mutex_lock(&llock);
	if (fd < 0 || write(fd, line, len + 1) != (ssize_t)(len + 1) ||
	    (sync && fdatasync(fd) != 0))
		r = WRIT_EAUDIT;
	pthread_mutex_unlock(&llock);
	sodium_memzero(line, len + 1);
	free(line);
	return r;
}

int
ledger_add(const char *id, const struct writ_kind *kind, const struct secret *token,
    int64_t expires_at)
{
	unsigned char nonce[crypto_secretbox_NONCEBYTES], *box;
	size_t boxlen = token->len + crypto_secretbox_MACBYTES;
	size_t b64len = sodium_base64_ENCODED_LEN(sizeof(nonce) + boxlen,
	    sodium_base64_VARIANT_ORIGINAL);
	char *b64;
	json_t *rec;
	int r;

	box = malloc(sizeof(nonce) + boxlen);
	b64 = malloc(b64len);
	if (box == NULL || b64 == NULL) {
		free(box);
		free(b64);
		return WRIT_ENOMEM;
	}
	randombytes_buf(nonce, sizeof(nonce));
	memcpy(box, nonce, sizeof(nonce));
	crypto_secretbox_easy(box + sizeof(nonce), token->data, token->len, nonce, key->data);
	sodium_bin2base64(b64, b64len, box, sizeof(nonce) + boxlen, sodium_base64_VARIANT_ORIGINAL);
	rec = json_pack("{sssssssssI}", "op", "add", "id", id, "kind", kind->name,
	    "sealed", b64, "expires_at", (json_int_t)expires_at);
	r = rec != NULL ? append(rec, true) : WRIT_ENOMEM;
	json_decref(rec);
	free(box);
	free(b64);
	return r;
}

void
ledger_done(const char *id)
{
	json_t *rec = json_pack("{ssss}", "op", "done", "id", id);

	/* Not synced: lost, it only means one more (harmless) revoke at start. */
	if (rec != NULL)
		(void)append(rec, false);
	json_decref(rec);
	pthread_mutex_lock(&llock);
	if (++closed_since >= COMPACT_AFTER && fd >= 0)
		compact_locked();
	pthread_mutex_unlock(&llock);
}

/* The entries still open in buf: id -> its "add" record. */
static json_t *
open_entries(const char *buf, size_t len)
{
	json_t *live = json_object(), *rec;
	const char *p = buf, *end, *id;

	for (; p < buf + len; p = end + 1) {
		end = memchr(p, '\n', (size_t)(buf + len - p));
		if (end == NULL)
			break;		/* a torn last line: its token never left */
		rec = json_loadb(p, (size_t)(end - p), 0, NULL);
		id = json_string_value(json_object_get(rec, "id"));
		if (id != NULL && strcmp(json_string_value(json_object_get(rec, "op")) ?: "", "add") == 0)
			json_object_set(live, id, rec);
		else if (id != NULL)
			json_object_del(live, id);
		json_decref(rec);
	}
	return live;
}

/*
 * Rewrite the file with its open entries only (temp, fsync, rename), so it
 * stays proportional to live tokens.  llock held.
 */
static void
compact_locked(void)
{
	char tmp[sizeof(path) + 8], *buf;
	struct stat st;
	json_t *live, *v;
	const char *id;
	int rfd, tfd;
	ssize_t got;

	rfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0 || fstat(rfd, &st) != 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		if (rfd >= 0)
			close(rfd);
		return;
	}
	got = read(rfd, buf, (size_t)st.st_size);
	close(rfd);
	if (got != st.st_size) {
		free(buf);
		return;
	}
	live = open_entries(buf, (size_t)got);
	sodium_memzero(buf, (size_t)got);
	free(buf);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	tfd = open(tmp, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (tfd < 0) {
		json_decref(live);
		return;
	}
	json_object_foreach(live, id, v) {
		char *line = json_dumps(v, JSON_COMPACT);
		size_t n;

		(void)id;
		if (line == NULL)
			continue;
		n = strlen(line);
		line[n] = '\n';
		if (write(tfd, line, n + 1) != (ssize_t)(n + 1))
			n = 0;
		sodium_memzero(line, n + 1);
		free(line);
	}
	json_decref(live);
	/* NB. swap only a complete, synced file: else keep the long one. */
	if (fdatasync(tfd) == 0 && rename(tmp, path) == 0) {
		close(fd);
		fd = tfd;
		(void)lseek(fd, 0, SEEK_END);
		closed_since = 0;
		return;
	}
	close(tfd);
	(void)unlink(tmp);
}

/* Queue the revocation of every entry still open in buf. */
static unsigned int
recover(char *buf, size_t len)
{
	json_t *live = open_entries(buf, len), *v;
	const char *id;
	unsigned int n = 0;

	json_object_foreach(live, id, v) {
		const struct writ_kind *k = kinds_find(json_string_value(json_object_get(v, "kind")) ?: "");
		const char *b64 = json_string_value(json_object_get(v, "sealed"));
		unsigned char raw[16384];
		struct secret *tok;
		size_t rawlen;

		if (k == NULL || k->revoke == NULL || b64 == NULL ||
		    sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &rawlen, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    rawlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
		    (tok = secret_new(rawlen - crypto_secretbox_NONCEBYTES -
		    crypto_secretbox_MACBYTES)) == NULL)
			continue;
		if (crypto_secretbox_open_easy(tok->data, raw + crypto_secretbox_NONCEBYTES,
		    rawlen - crypto_secretbox_NONCEBYTES, raw, key->data) != 0) {
			secret_free(tok);
			audit_log("revoke_failed", json_pack("{ssss}", "writ", id, "error",
			    "its ledger entry does not open with the ledger key"));
			continue;
		}
		sodium_memzero(raw, sizeof(raw));
		audit_log("revoked", json_pack("{ssssss}", "writ", id, "kind", k->name, "why",
		    "writd restarted: its session is gone"));
		upstream_revoke(k, tok, id);
		n++;
	}
	json_decref(live);
	return n;
}

int
ledger_open(const char *state_dir, char err[WRIT_ERRLEN])
{
	struct stat st;
	char *buf = NULL;
	ssize_t got = 0;
	unsigned int n;
	int r, rfd;

	snprintf(path, sizeof(path), "%s/ledger.jsonl", state_dir);
	r = store_get(KEY_NAME, &key);
	if (r == WRIT_ENOTFOUND) {
		unsigned char k[crypto_secretbox_KEYBYTES];

		crypto_secretbox_keygen(k);
		r = store_put(KEY_NAME, k, sizeof(k), err);
		sodium_memzero(k, sizeof(k));
		if (r == 0)
			r = store_get(KEY_NAME, &key);
	}
	if (r < 0 || key->len != crypto_secretbox_KEYBYTES) {
		snprintf(err, WRIT_ERRLEN, "cannot get the ledger key from the secret store");
		return r < 0 ? r : WRIT_EINTERNAL;
	}
	rfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd >= 0) {
		if (fstat(rfd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 077) != 0 || st.st_size > 64 * 1024 * 1024) {
			close(rfd);
			snprintf(err, WRIT_ERRLEN, "%s must be a regular file of ours, mode 0600", path);
			return WRIT_EFORBIDDEN;
		}
		buf = malloc((size_t)st.st_size + 1);
		got = buf != NULL ? read(rfd, buf, (size_t)st.st_size) : -1;
		close(rfd);
		if (got != st.st_size) {
			free(buf);
			snprintf(err, WRIT_ERRLEN, "%s: short read", path);
			return WRIT_EINTERNAL;
		}
	} else if (errno != ENOENT) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		return WRIT_EINTERNAL;
	}
	/*
	 * The open entries stay until their revocation is confirmed
	 * (ledger_done): one that keeps failing is tried again next start.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		free(buf);
		return WRIT_EINTERNAL;
	}
	pthread_mutex_lock(&llock);
	compact_locked();
	pthread_mutex_unlock(&llock);
	n = buf != NULL ? recover(buf, (size_t)got) : 0;
	if (buf != NULL)
		sodium_memzero(buf, (size_t)got);
	free(buf);
	if (n > 0)
		fprintf(stderr, "writd: revoking %u token%s left by the previous run\n", n,
		    n == 1 ? "" : "s");
	return 0;
}

void
ledger_close(void)
{
	pthread_mutex_lock(&llock);
	if (fd >= 0)
		close(fd);
	fd = -1;
	pthread_mutex_unlock(&llock);
	secret_free(key);
	key = NULL;
}
