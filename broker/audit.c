/*
 * audit.c - an append-only, hash-chained, group-committed audit log.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "audit.h"
#include "errors.h"
#include "fsutil.h"
#include "logtail.h"
#include "secret.h"
#include "store.h"

#define KEY_NAME "audit-chain-key"
#define MAC_HEX 64
/* `,"mac":"` + 64 hex + `"}` */
#define SUFFIX_LEN (8 + MAC_HEX + 2)

struct waiter {
	uint64_t seq;
	void (*done)(void *arg, bool ok);
	void *arg;
	struct waiter *next;
};

static pthread_mutex_t alock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t acond = PTHREAD_COND_INITIALIZER;
static int fd = -1;
static char path[4200];
static struct secret *key;
static uint64_t seq, written, synced;
static unsigned char last_mac[32];
static bool broken, stopping, running;
static struct timespec sync_began;	/* zero while no sync runs */
static struct waiter *waiters;
static pthread_t syncer;
static int (*presync)(void);
static bool mirror;
/*
 * Records appended but not yet written: the sync thread writes the whole
 * batch with one write() and one fdatasync(), so appenders never do I/O.
 */
static char *pend;
static size_t pend_len, pend_cap;

static void
mac_of(const unsigned char k[32], const unsigned char prev[32], const char *body,
    size_t len, unsigned char out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, k, 32, 32);
	crypto_generichash_update(&st, prev, 32);
	crypto_generichash_update(&st, (const unsigned char *)body, len);
	crypto_generichash_final(&st, out, 32);
}

size_t
audit_format(const unsigned char k[32], const unsigned char prev[32], const char *body,
    char *line, size_t size, unsigned char mac[32])
{
	size_t len = strlen(body);
	char hex[MAC_HEX + 1];

	if (len < 2 || len + SUFFIX_LEN + 2 > size)
		return 0;
	mac_of(k, prev, body, len, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, 32);
	len--;		/* splice the mac in before the closing brace */
	memcpy(line, body, len);
	len += (size_t)snprintf(line + len, size - len, ",\"mac\":\"%s\"}\n", hex);
	return len;
}

int
audit_scan(const char *buf, size_t len, const unsigned char k[32], struct audit_scan *ret)
{
	unsigned char prev[32] = { 0 };
	size_t off = 0;

	memset(ret, 0, sizeof(*ret));
	while (off < len) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - off;
		char body[WRIT_MAX_AUDIT_RECORD + 2], hex[MAC_HEX + 1];
		unsigned char mac[32], want[32];
		json_t *rec;
		size_t blen;

		ret->bad_seq = ret->records + 1;
		if (nl == NULL) {
			ret->torn = true;
			snprintf(ret->why, sizeof(ret->why), "the last record is unterminated (torn)");
			return -1;
		}
		if (n <= SUFFIX_LEN || n > WRIT_MAX_AUDIT_RECORD ||
		    memcmp(line + n - SUFFIX_LEN, ",\"mac\":\"", 8) != 0 ||
		    memcmp(line + n - 2, "\"}", 2) != 0) {
			snprintf(ret->why, sizeof(ret->why), "not a writ audit record");
			return -1;
		}
		memcpy(hex, line + n - SUFFIX_LEN + 8, MAC_HEX);
		hex[MAC_HEX] = '\0';
		blen = n - SUFFIX_LEN;
		memcpy(body, line, blen);
		body[blen++] = '}';
		body[blen] = '\0';
		if (sodium_hex2bin(want, sizeof(want), hex, MAC_HEX, NULL, NULL, NULL) != 0) {
			snprintf(ret->why, sizeof(ret->why), "a malformed mac");
			return -1;
		}
		mac_of(k, prev, body, blen, mac);
		if (sodium_memcmp(mac, want, 32) != 0) {
			snprintf(ret->why, sizeof(ret->why), "the mac does not match: the record or "
			    "one before it was altered, removed or reordered");
			return -1;
		}
		rec = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
		if (rec == NULL || (uint64_t)json_integer_value(json_object_get(rec, "seq")) !=
		    ret->last_seq + 1) {
			json_decref(rec);
			snprintf(ret->why, sizeof(ret->why), "records out of sequence");
			return -1;
		}
		json_decref(rec);
		memcpy(prev, mac, 32);
		memcpy(ret->last_mac, mac, 32);
		ret->last_seq++;
		ret->records++;
		off += n + 1;
		ret->good_len = off;
	}
	ret->bad_seq = 0;
	return 0;
}

static void
fail_waiters_locked(struct waiter **out)
{
	*out = waiters;
	waiters = NULL;
}

static void
run_waiters(struct waiter *w, bool ok)
{
	while (w != NULL) {
		struct waiter *n = w->next;

		w->done(w->arg, ok);
		free(w);
		w = n;
	}
}

static char *spare;		/* the other buffer, while not in use */
static size_t spare_cap;

/* Each record of a durable batch to syslog, without its newline. */
static void
send_mirror(const char *p, size_t len)
{
	const char *end;

	for (; len > 0; len -= (size_t)(end + 1 - p), p = end + 1) {
		if ((end = memchr(p, '\n', len)) == NULL)
			break;
		syslog(LOG_INFO, "%.*s", (int)(end - p), p);
	}
}

static void *
sync_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&alock);
	for (;;) {
		struct waiter *ready = NULL, **pp;
		uint64_t target;
		struct stat st, now;
		char *batch;
		size_t batch_len, cap;
		int r;

		while (!stopping && synced == written && (waiters == NULL || broken == false))
			pthread_cond_wait(&acond, &alock);
		if (broken) {
			fail_waiters_locked(&ready);
			pthread_mutex_unlock(&alock);
			run_waiters(ready, false);
			pthread_mutex_lock(&alock);
			if (stopping)
				break;
			continue;
		}
		if (stopping && synced == written)
			break;
		target = written;
		/* Swap buffers: appenders go on filling the spare meanwhile. */
		batch = pend;
		batch_len = pend_len;
		cap = pend_cap;
		pend = spare;
		pend_cap = spare_cap;
		pend_len = 0;
		spare = NULL;
		spare_cap = 0;
		clock_gettime(CLOCK_MONOTONIC, &sync_began);
		pthread_mutex_unlock(&alock);
		/* One write and one sync for everything appended meanwhile. */
		r = presync != NULL && presync() < 0 ? -1 : 0;
		if (r == 0)
			r = fs_write_all(fd, batch, batch_len);
		if (r == 0)
			r = fdatasync(fd);
		/*
		 * Deleted, or moved aside and replaced: the records went where
		 * nobody will look (nor verify).
		 */
		if (r == 0 && (fstat(fd, &st) != 0 || st.st_nlink == 0 || stat(path, &now) != 0 ||
		    now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
			r = -1;
			errno = ENOENT;
		}
		if (r == 0 && mirror)
			send_mirror(batch, batch_len);
		pthread_mutex_lock(&alock);
		sync_began.tv_sec = 0;
		spare = batch;
		spare_cap = cap;
		if (r != 0) {
			/* NB. after a failed fsync, never trust a later one. */
			if (!broken)
				fprintf(stderr, "writd: writing or syncing the audit log failed (%s); "
				    "issuing stops until writd restarts with a working log\n",
				    strerror(errno));
			broken = true;
			continue;
		}
		synced = target;
		for (pp = &waiters; *pp != NULL;) {
			struct waiter *w = *pp;

			if (w->seq <= synced) {
				*pp = w->next;
				w->next = ready;
				ready = w;
			} else
				pp = &w->next;
		}
		pthread_mutex_unlock(&alock);
		run_waiters(ready, true);
		pthread_mutex_lock(&alock);
	}
	pthread_mutex_unlock(&alock);
	return NULL;
}

/*
 * Append one record (lock held): event, seq and time first, then the
 * fields, given as their JSON object text (NULL: none).  Returns its seq,
 * or 0 when broken.
 */
static uint64_t
append_locked(const char *event, const char *fields)
{
	char body[WRIT_MAX_AUDIT_RECORD], line[WRIT_MAX_AUDIT_RECORD + SUFFIX_LEN + 2];
	bool more = fields != NULL && fields[0] == '{' && fields[1] != '}';
	unsigned char mac[32];
	size_t len;
	int n;

	if (broken || fd < 0)
		return 0;
	n = snprintf(body, sizeof(body), "{\"event\":\"%s\",\"seq\":%llu,\"time\":%lld%s%s",
	    event, (unsigned long long)(seq + 1), (long long)time(NULL), more ? "," : "}",
	    more ? fields + 1 : "");
	if (n < 0 || (size_t)n + SUFFIX_LEN + 2 > WRIT_MAX_AUDIT_RECORD)
		return 0;
	len = audit_format(key->data, last_mac, body, line, sizeof(line), mac);
	if (pend_len + len > pend_cap) {
		size_t cap = pend_cap ? pend_cap * 2 : 65536;
		char *p;

		while (cap < pend_len + len)
			cap *= 2;
		p = realloc(pend, cap);
		if (p == NULL)
			return 0;
		pend = p;
		pend_cap = cap;
	}
	memcpy(pend + pend_len, line, len);
	pend_len += len;
	memcpy(last_mac, mac, 32);
	written = ++seq;
	pthread_cond_signal(&acond);
	return seq;
}

/*
 * Format fields outside the lock (the costly part), chain and buffer
 * under it.  event is one of writd's own names: no escaping needed.
 */
static uint64_t
append(const char *event, json_t *fields)
{
	char *text = fields != NULL ? json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	uint64_t s;

	json_decref(fields);
	if (fields != NULL && text == NULL)
		return 0;
	pthread_mutex_lock(&alock);
	s = append_locked(event, text);
	pthread_mutex_unlock(&alock);
	free(text);
	return s;
}

void
audit_log(const char *event, json_t *fields)
{
	(void)append(event, fields);
}

uint64_t
audit_log_durable(const char *event, json_t *fields)
{
	/* A durable record always carries its facts; none means a bug upstream. */
	if (fields == NULL)
		return 0;
	return append(event, fields);
}

bool
audit_ok(void)
{
	bool ok;

	pthread_mutex_lock(&alock);
	ok = !broken && fd >= 0;
	pthread_mutex_unlock(&alock);
	return ok;
}

void
audit_wait(uint64_t s, void (*done)(void *arg, bool ok), void *arg)
{
	struct waiter *w;

	pthread_mutex_lock(&alock);
	if (broken || s == 0 || s <= synced) {
		bool ok = !broken && s != 0;

		pthread_mutex_unlock(&alock);
		done(arg, ok);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		pthread_mutex_unlock(&alock);
		done(arg, false);
		return;
	}
	w->seq = s;
	w->done = done;
	w->arg = arg;
	w->next = waiters;
	waiters = w;
	pthread_cond_signal(&acond);
	pthread_mutex_unlock(&alock);
}

bool
audit_watchdog(void)
{
	struct waiter *stuck = NULL;
	struct timespec now;
	bool busy;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&alock);
	if (sync_began.tv_sec != 0 && now.tv_sec - sync_began.tv_sec > WRIT_AUDIT_SYNC_MAX &&
	    !broken) {
		fprintf(stderr, "writd: an audit sync has taken over %ds; issuing stops\n",
		    WRIT_AUDIT_SYNC_MAX);
		broken = true;
		fail_waiters_locked(&stuck);
	}
	busy = waiters != NULL;
	pthread_mutex_unlock(&alock);
	run_waiters(stuck, false);
	return busy;
}

void
audit_fingerprint(const void *token, size_t len, char out[33])
{
	unsigned char h[16];
	crypto_generichash_state st;

	/* Keyed: a fingerprint tells nothing to whoever lacks the key. */
	crypto_generichash_init(&st, key->data, 32, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)"writ-fingerprint", 16);
	crypto_generichash_update(&st, token, len);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 33, h, sizeof(h));
}

/*
 * A whole log into memory (for scan, tail and verify): writd's own (file
 * NULL), which must be ours and 0600, or one named by the admin.
 */
static char *
read_all(const char *file, size_t *ret_len, char err[WRIT_ERRLEN])
{
	const char *name = file != NULL ? file : path;
	struct stat st;
	char *buf;
	int rfd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (rfd < 0) {
		if (errno == ENOENT && file == NULL) {
			*ret_len = 0;
			return calloc(1, 1);
		}
		snprintf(err, WRIT_ERRLEN, "%s: %s", name, strerror(errno));
		return NULL;
	}
	if (fstat(rfd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WRIT_MAX_AUDIT_FILE ||
	    (file == NULL && (st.st_uid != geteuid() || (st.st_mode & 077) != 0))) {
		snprintf(err, WRIT_ERRLEN, file == NULL ? "%s must be a regular file of ours, "
		    "mode 0600, under 1 GiB" : "%s must be a regular file under 1 GiB", name);
		close(rfd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf != NULL ? read(rfd, buf, (size_t)st.st_size) : -1;
	close(rfd);
	if (n != st.st_size) {
		free(buf);
		snprintf(err, WRIT_ERRLEN, "%s: short read", name);
		return NULL;
	}
	buf[n] = '\0';
	*ret_len = (size_t)n;
	return buf;
}

void
audit_mirror_syslog(void)
{
	openlog("writd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	mirror = true;
}

void
audit_set_presync(int (*fn)(void))
{
	presync = fn;
}

int
audit_open(const char *state_dir, char err[WRIT_ERRLEN])
{
	struct audit_scan sc;
	char *buf;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/audit.jsonl", state_dir);
	r = store_get(KEY_NAME, &key);
	if (r == WRIT_ENOTFOUND) {
		unsigned char k[32];

		randombytes_buf(k, sizeof(k));
		r = store_put(KEY_NAME, k, sizeof(k), err);
		sodium_memzero(k, sizeof(k));
		if (r == 0)
			r = store_get(KEY_NAME, &key);
	}
	if (r < 0 || key->len != 32) {
		if (err[0] == '\0')
			snprintf(err, WRIT_ERRLEN, "cannot get the audit chain key from the store");
		return r < 0 ? r : WRIT_EINTERNAL;
	}
	if ((buf = read_all(NULL, &len, err)) == NULL)
		return WRIT_EFORBIDDEN;
	r = audit_scan(buf, len, key->data, &sc);
	free(buf);
	if (r < 0 && !sc.torn) {
		snprintf(err, WRIT_ERRLEN, "%s is broken at record %llu (%s); keep it as "
		    "evidence, move it aside, and start writd again", path,
		    (unsigned long long)sc.bad_seq, sc.why);
		return WRIT_EFORBIDDEN;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		return WRIT_EINTERNAL;
	}
	/* A crash mid-write leaves a torn last record: cut it, and say so. */
	if (r < 0 && sc.torn && ftruncate(fd, (off_t)sc.good_len) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s: cannot cut the torn record: %s", path, strerror(errno));
		return WRIT_EINTERNAL;
	}
	seq = written = synced = sc.last_seq;
	memcpy(last_mac, sc.last_mac, 32);
	if (pthread_create(&syncer, NULL, sync_main, NULL) != 0)
		return WRIT_EINTERNAL;
	running = true;
	if (r < 0)
		audit_log("recovered", json_pack("{sssI}", "why", "a torn last record was cut",
		    "after_seq", (json_int_t)sc.last_seq));
	audit_log("started", NULL);
	return 0;
}

void
audit_close(void)
{
	if (!running)
		return;
	audit_log("stopped", NULL);
	pthread_mutex_lock(&alock);
	stopping = true;
	pthread_cond_signal(&acond);
	pthread_mutex_unlock(&alock);
	pthread_join(syncer, NULL);
	running = false;
	close(fd);
	fd = -1;
	secret_free(key);
	key = NULL;
	free(pend);
	free(spare);
	pend = spare = NULL;
	pend_len = pend_cap = spare_cap = 0;
}

json_t *
audit_verify(const char *file)
{
	char err[WRIT_ERRLEN] = "";
	struct audit_scan sc;
	size_t len;
	char *buf = read_all(file, &len, err);
	json_t *j;

	if (buf == NULL)
		return json_pack("{sbss}", "ok", 0, "reason", err);
	audit_scan(buf, len, key->data, &sc);
	free(buf);
	j = json_pack("{sbsI}", "ok", sc.bad_seq == 0, "records", (json_int_t)sc.records);
	if (sc.bad_seq != 0) {
		json_object_set_new(j, "first_bad", json_integer((json_int_t)sc.bad_seq));
		json_object_set_new(j, "reason", json_string(sc.why));
	}
	return j;
}

json_t *
audit_tail(unsigned int n, const char *session)
{
	/*
	 * From the end backwards (logtail.h): time and memory grow with n,
	 * never with the log; a session's tail scans its last
	 * WRIT_LOGTAIL_SCAN bytes at most.
	 */
	struct logtail t = { .want = n, .session = session, .scan_left = WRIT_LOGTAIL_SCAN,
	    .max_line = WRIT_MAX_AUDIT_RECORD, .records = json_array() };
	json_t *out = json_array();
	struct stat st;
	int tfd;

	if (t.records == NULL || out == NULL)
		goto out;
	tfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (tfd < 0)
		goto out;
	if (fstat(tfd, &st) == 0)
		(void)logtail_read(tfd, st.st_size, &t);
	close(tfd);
	/* Newest first there; oldest first here, as the log reads. */
	for (size_t i = json_array_size(t.records); i > 0; i--)
		json_array_append(out, json_array_get(t.records, i - 1));
 out:
	json_decref(t.records);
	return out;
}
