/*
 * krl.c - writd's SSH Key Revocation List (krl.h, PROTOCOL.krl).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "errors.h"
#include "krl.h"

#define KRL_MAGIC "SSHKRL\n"		/* and a NUL: 8 bytes */
#define KRL_FORMAT_VERSION 1
#define KRL_SECTION_CERTIFICATES 1
#define KRL_SECTION_CERT_SERIAL_LIST 0x20
#define KRL_COMMENT "writd: revoked writ certificates"
/* Largest state file read, in bytes (an entry is ~120). */
#define STATE_MAX (WRIT_SSHCERT_KRL_MAX * 160)

static int
cmp_entry(const void *a, const void *b)
{
	const struct krl_entry *x = a, *y = b;
	int c = memcmp(x->ca, y->ca, sizeof(x->ca));

	if (c != 0)
		return c;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

/* CA ca's Ed25519 public key in the SSH wire form: string type, string key. */
static void
put_ca_blob(struct wire_buf *b, const unsigned char ca[32])
{
	struct wire_buf k = { 0 };

	wire_put_cstring(&k, "ssh-ed25519");
	wire_put_string(&k, ca, 32);
	if (k.err)
		b->err = true;
	else
		wire_put_string(b, k.p, k.len);
	wire_free(&k);
}

int
krl_encode(const struct krl_entry *e, size_t n, uint64_t version, int64_t now,
    struct wire_buf *out)
{
	struct krl_entry *s = NULL;
	size_t i = 0;

	if (n > 0) {
		if ((s = malloc(n * sizeof(*s))) == NULL)
			return WRIT_ENOMEM;
		memcpy(s, e, n * sizeof(*s));
		qsort(s, n, sizeof(*s), cmp_entry);
	}
	/* Header: magic, format version, krl_version, generated_date, flags, reserved, comment. */
	wire_put(out, KRL_MAGIC, sizeof(KRL_MAGIC));
	wire_put_u32(out, KRL_FORMAT_VERSION);
	wire_put_u64(out, version);
	wire_put_u64(out, (uint64_t)now);
	wire_put_u64(out, 0);
	wire_put_string(out, "", 0);
	wire_put_cstring(out, KRL_COMMENT);
	/* One certificates section per CA, holding one serial list. */
	while (i < n) {
		struct wire_buf sect = { 0 }, list = { 0 };
		size_t j;

		for (j = i; j < n && memcmp(s[j].ca, s[i].ca, 32) == 0; j++)
			if (j == i || s[j].serial != s[j - 1].serial)
				wire_put_u64(&list, s[j].serial);
		put_ca_blob(&sect, s[i].ca);
		wire_put_string(&sect, "", 0);		/* reserved */
		wire_put_u8(&sect, KRL_SECTION_CERT_SERIAL_LIST);
		wire_put_string(&sect, list.p, list.len);
		wire_put_u8(out, KRL_SECTION_CERTIFICATES);
		if (sect.err || list.err)
			out->err = true;
		else
			wire_put_string(out, sect.p, sect.len);
		wire_free(&sect);
		wire_free(&list);
		i = j;
	}
	free(s);
	return out->err ? WRIT_ENOMEM : 0;
}

/*
 * Replace path by len bytes at p, mode mode: a temporary file beside it,
 * fsync, rename, fsync of the directory.  NB. sshd reads the KRL at every
 * login: it sees the old file or the new, never a part.
 */
static int
write_atomic(const char *path, const void *p, size_t len, mode_t mode, char err[WRIT_ERRLEN])
{
	char tmp[PATH_MAX + 16], dir[PATH_MAX], *slash;
	ssize_t w;
	size_t off = 0;
	int fd, dfd, r = WRIT_EINTERNAL;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "cannot write %s: %s", tmp, strerror(errno));
		return WRIT_EINTERNAL;
	}
	while (off < len) {
		w = write(fd, (const char *)p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	/* NB. fchmod: writd's umask is 077, and sshd (root) is not the only reader. */
	if (off != len || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		return WRIT_EINTERNAL;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		(void)unlink(tmp);
		return WRIT_EINTERNAL;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && fsync(dfd) == 0)
		r = 0;
	else
		snprintf(err, WRIT_ERRLEN, "cannot sync the directory of %s: %s", path,
		    strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* The state file's JSON: {"version": N, "revoked": [{"ca", "serial", "valid_before"}]}. */
static json_t *
state_json(const struct krl *k, uint64_t version)
{
	json_t *list = json_array(), *o;

	if (list == NULL)
		return NULL;
	for (size_t i = 0; i < k->n; i++) {
		char ca[65], serial[17];

		sodium_bin2hex(ca, sizeof(ca), k->e[i].ca, 32);
		snprintf(serial, sizeof(serial), "%016llx", (unsigned long long)k->e[i].serial);
		if (json_array_append_new(list, json_pack("{sssssI}", "ca", ca, "serial", serial,
		    "valid_before", (json_int_t)k->e[i].valid_before)) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	o = json_pack("{sIso}", "version", (json_int_t)version, "revoked", list);
	return o;
}

/* Write the state, then the KRL, as version k->version + 1.  Lock held. */
static int
save(struct krl *k, int64_t now, char err[WRIT_ERRLEN])
{
	struct wire_buf b = { 0 };
	json_t *st = state_json(k, k->version + 1);
	char *text = st ? json_dumps(st, JSON_COMPACT) : NULL;
	int r;

	json_decref(st);
	if (text == NULL)
		return WRIT_ENOMEM;
	r = write_atomic(k->state, text, strlen(text), 0600, err);
	free(text);
	if (r == 0 && (r = krl_encode(k->e, k->n, k->version + 1, now, &b)) == 0)
		r = write_atomic(k->path, b.p, b.len, 0644, err);
	wire_free(&b);
	if (r == 0)
		k->version++;
	return r;
}

/* Drop entries whose certificates expired before now - grace; how many. */
static size_t
drop_expired(struct krl *k, int64_t now)
{
	size_t kept = 0, n = k->n;

	for (size_t i = 0; i < n; i++)
		if (k->e[i].valid_before + k->grace > now)
			k->e[kept++] = k->e[i];
	k->n = kept;
	return n - kept;
}

static int
add(struct krl *k, const unsigned char ca[32], uint64_t serial, int64_t valid_before)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct krl_entry *e;

		if (cap > WRIT_SSHCERT_KRL_MAX)
			cap = WRIT_SSHCERT_KRL_MAX;
		if (k->n == cap || (e = realloc(k->e, cap * sizeof(*e))) == NULL)
			return -1;
		k->e = e;
		k->cap = cap;
	}
	memcpy(k->e[k->n].ca, ca, 32);
	k->e[k->n].serial = serial;
	k->e[k->n].valid_before = valid_before;
	k->n++;
	return 0;
}

/* Read path.state into k (a fresh krl); ENOENT is an empty list. */
static int
load_state(struct krl *k, char err[WRIT_ERRLEN])
{
	json_t *st, *list, *x;
	json_error_t je;
	struct stat sb;
	size_t i;
	int fd;

	fd = open(k->state, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* NB. a KRL without our state is someone else's file: never overwritten. */
		if (access(k->path, F_OK) == 0) {
			snprintf(err, WRIT_ERRLEN, "kinds.sshcert.krl_path: %s exists but is not "
			    "writd's (no %s beside it); move it away or name another path",
			    k->path, k->state);
			return WRIT_EBADREQ;
		}
		return 0;
	}
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 022) != 0 || sb.st_size > STATE_MAX) {
		snprintf(err, WRIT_ERRLEN, "%s must be a regular file of ours, not writable by "
		    "others, at most %d bytes", k->state, STATE_MAX);
		if (fd >= 0)
			close(fd);
		return WRIT_EINTERNAL;
	}
	st = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	list = json_object_get(st, "revoked");
	if (!json_is_integer(json_object_get(st, "version")) ||
	    json_integer_value(json_object_get(st, "version")) < 0 || !json_is_array(list) ||
	    json_array_size(list) > WRIT_SSHCERT_KRL_MAX)
		goto bad;
	k->version = (uint64_t)json_integer_value(json_object_get(st, "version"));
	json_array_foreach(list, i, x) {
		const char *ca = json_string_value(json_object_get(x, "ca"));
		const char *serial = json_string_value(json_object_get(x, "serial"));
		json_t *vb = json_object_get(x, "valid_before");
		unsigned char raw[32];
		size_t len;
		char *end;
		unsigned long long s;

		if (ca == NULL || serial == NULL || !json_is_integer(vb) ||
		    sodium_hex2bin(raw, sizeof(raw), ca, strlen(ca), NULL, &len, NULL) != 0 ||
		    len != 32 || strlen(serial) != 16 || strspn(serial, "0123456789abcdef") != 16)
			goto bad;
		s = strtoull(serial, &end, 16);
		if (s == 0 || add(k, raw, s, json_integer_value(vb)) < 0)
			goto bad;
	}
	json_decref(st);
	return 0;
 bad:
	json_decref(st);
	snprintf(err, WRIT_ERRLEN, "%s is not a KRL state writd wrote; restore it, or remove "
	    "it together with %s (revocations of live certificates are lost then)",
	    k->state, k->path);
	return WRIT_EINTERNAL;
}

/*
 * The pruning thread: asleep until the earliest entry expires (plus
 * grace), then both files written without it.  NB. a thread of its own:
 * the reaper holds writd's lock when it calls a kind, and no file is
 * written under that.
 */
static void *
pruner(void *arg)
{
	struct krl *k = arg;
	char err[WRIT_ERRLEN];

	pthread_mutex_lock(&k->lock);
	while (!k->stopping) {
		int64_t next = INT64_MAX, now = (int64_t)time(NULL);

		for (size_t i = 0; i < k->n; i++)
			if (k->e[i].valid_before + k->grace < next)
				next = k->e[i].valid_before + k->grace;
		if (next <= now) {
			if (drop_expired(k, now) > 0)
				(void)save(k, now, err);
			continue;
		}
		if (next == INT64_MAX)
			pthread_cond_wait(&k->wake, &k->lock);
		else {
			struct timespec ts = { .tv_sec = (time_t)next };

			pthread_cond_timedwait(&k->wake, &k->lock, &ts);
		}
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

int
krl_open(struct krl *k, const char *path, int64_t grace, int64_t now, char err[WRIT_ERRLEN])
{
	int r;

	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->wake, NULL);
	if (path[0] != '/' || strlen(path) + 1 > sizeof(k->path) - 8) {
		snprintf(err, WRIT_ERRLEN, "kinds.sshcert.krl_path: an absolute path");
		return WRIT_EBADREQ;
	}
	snprintf(k->path, sizeof(k->path), "%s", path);
	snprintf(k->state, sizeof(k->state), "%s.state", path);
	k->grace = grace;
	if ((r = load_state(k, err)) < 0)
		return r;
	/* NB. written only when something changed: a start costs no fsync else. */
	if ((drop_expired(k, now) > 0 || access(k->path, F_OK) != 0 ||
	    access(k->state, F_OK) != 0) && (r = save(k, now, err)) < 0)
		return r;
	if (pthread_create(&k->pruner, NULL, pruner, k) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot start the KRL's pruning thread");
		return WRIT_EINTERNAL;
	}
	k->running = true;
	return 0;
}

int
krl_revoke(struct krl *k, const unsigned char ca[32], uint64_t serial,
    int64_t valid_before, int64_t now, char err[WRIT_ERRLEN])
{
	int r = 0;

	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < k->n; i++)
		if (k->e[i].serial == serial && memcmp(k->e[i].ca, ca, 32) == 0)
			goto out;	/* revoked before: nothing to write */
	(void)drop_expired(k, now);
	if (add(k, ca, serial, valid_before) < 0) {
		snprintf(err, WRIT_ERRLEN, "the KRL is full (%d serials)", WRIT_SSHCERT_KRL_MAX);
		r = WRIT_EINTERNAL;
		goto out;
	}
	if ((r = save(k, now, err)) < 0)
		k->n--;		/* NB. not in the files: the caller retries */
	else
		pthread_cond_signal(&k->wake);
 out:
	pthread_mutex_unlock(&k->lock);
	return r;
}

int
krl_prune(struct krl *k, int64_t now, char err[WRIT_ERRLEN])
{
	int r = 0;

	pthread_mutex_lock(&k->lock);
	if (drop_expired(k, now) > 0)
		r = save(k, now, err);
	pthread_mutex_unlock(&k->lock);
	return r;
}

void
krl_close(struct krl *k)
{
	if (k->running) {
		pthread_mutex_lock(&k->lock);
		k->stopping = true;
		pthread_cond_signal(&k->wake);
		pthread_mutex_unlock(&k->lock);
		pthread_join(k->pruner, NULL);
		k->running = false;
	}
	free(k->e);
	k->e = NULL;
	k->n = k->cap = 0;
}
