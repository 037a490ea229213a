/*
 * audit.c - an append-only, hash-chained, group-committed audit log that
 * rotates, restarts from its last durable point and signs checkpoints.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "jdump.h"
#include "journal.h"
#include "logtail.h"
#include "secret.h"
#include "store.h"

#define KEY_NAME "audit-chain-key"
#define SIGN_KEY_NAME "audit-checkpoint-key"
#define CUR_NAME "audit.jsonl"
#define STATE_NAME "audit.state"
/* Most rotated files verify walks. */
#define WRIT_MAX_AUDIT_FILES 100000

/*
 * Under the journal's lock: the chain (seq, last_mac), which file appends
 * go to, the checkpoints, the rotations under way.  The writing, syncing
 * and waking is the journal's (journal.h); the chain is ours.
 */
static struct journal *jn;
static char path[4200], dir[4200], state_path[4200];
static struct secret *key;	/* the chain key */
static struct secret *skey;	/* the checkpoint signing key (Ed25519) */
static unsigned char pk[32];
static uint64_t seq;
static unsigned char last_mac[32];
/* seq, for readers that hold no lock (audit_appended). */
static _Atomic uint64_t appended;
static bool mirror;
static struct audit_conf conf = {
	WRIT_AUDIT_ROTATE_SIZE, WRIT_AUDIT_CHECKPOINT_RECORDS, WRIT_AUDIT_CHECKPOINT_INTERVAL,
	WRIT_AUDIT_LEDGER_LAG
};
static uint64_t file_first;	/* the first seq of the file appends go to */
static uint64_t file_bytes;	/* its size once the pending records are in */
static uint64_t ckpt_seq;	/* the last checkpoint's seq (or the start's) */
static time_t ckpt_time;	/* ... and when */
/*
 * Odd while the commit thread moves files (from taking a batch with a
 * rotation until it is written or failed), then even again: verify
 * looks again when a move began or was under way while it read.
 */
static uint64_t rotations;
/* The commit thread's alone: the mac of the batch it writes. */
static unsigned char batch_mac[32];
/*
 * The directory and the state record; the current file, from start-up
 * until the journal takes it, where it begins and its size.
 */
static int fd = -1, dir_fd = -1, state_fd = -1;
static uint64_t disk_first, disk_off;

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

/*
 * Where the log is durable, for the next start (see audit.h).  Written in
 * place and never synced: it is a hint checked against the log, so a torn
 * or lost one only makes the next start read the current file whole.
 */
static void
save_state(uint64_t first, uint64_t off, uint64_t at_seq, const unsigned char at_mac[32])
{
	static bool warned;
	struct audit_state st = { first, off, { at_seq, { 0 } } };
	char text[WRIT_AUDIT_STATE_LEN + 1];

	memcpy(st.at.mac, at_mac, 32);
	audit_state_format(key->data, &st, text);
	if (pwrite(state_fd, text, WRIT_AUDIT_STATE_LEN, 0) != WRIT_AUDIT_STATE_LEN && !warned) {
		fprintf(stderr, "writd: cannot write %s (%s); the next start reads the current "
		    "audit file whole\n", state_path, strerror(errno));
		warned = true;
	}
}

/* The journal's slots (journal.h): the format around its commits. */
static void
moved_name(uint64_t first, char out[WRIT_JOURNAL_NAME_MAX + 1])
{
	audit_rotated_name(first, out);
}

static void
taken(void *arg, bool moves)
{
	(void)arg;
	memcpy(batch_mac, last_mac, 32);
	rotations += moves;	/* odd: files move */
}

static void
ended(void *arg, bool moves)
{
	(void)arg;
	rotations += moves;	/* even again: moved (or failed) */
}

static void
durable(void *arg, const char *batch, size_t len, uint64_t at, uint64_t first, uint64_t off)
{
	(void)arg;
	save_state(first, off, at, batch_mac);
	if (mirror)
		send_mirror(batch, len);
}

static void checkpoint_locked(void);

/* A checkpoint falls due after conf.checkpoint_interval, if anything came since. */
static time_t
idle(void *arg, bool due)
{
	(void)arg;
	if (seq == ckpt_seq)
		return 0;
	if (due)
		checkpoint_locked();
	return ckpt_time + conf.checkpoint_interval;
}

/*
 * Chain one record onto the pending ones (lock held): event, seq and time
 * first, then the fields, given as their JSON object text (NULL: none);
 * with split, it begins a new file.  Returns its seq, or 0.
 */
static uint64_t
record_locked(const char *event, const char *fields, bool split)
{
	char body[WRIT_MAX_AUDIT_RECORD], line[WRIT_MAX_AUDIT_RECORD + WRIT_AUDIT_SUFFIX_LEN + 2];
	bool more = fields != NULL && fields[0] == '{' && fields[1] != '}';
	unsigned char mac[32];
	size_t len;
	int n;

	n = snprintf(body, sizeof(body), "{\"event\":\"%s\",\"seq\":%" PRIu64 ",\"time\":%lld%s%s",
	    event, seq + 1, (long long)time(NULL), more ? "," : "}", more ? fields + 1 : "");
	if (n < 0 || (size_t)n + WRIT_AUDIT_SUFFIX_LEN + 2 > WRIT_MAX_AUDIT_RECORD)
		return 0;
	len = audit_format(key->data, last_mac, body, line, sizeof(line), mac);
	/* NB. the journal counts records as the chain does: its seq is ours. */
	if (journal_append_locked(jn, line, len, split) == 0)
		return 0;
	file_bytes += len;
	memcpy(last_mac, mac, 32);
	atomic_store(&appended, seq + 1);
	return ++seq;
}

/* A signed checkpoint of the chain as it stands (lock held). */
static void
checkpoint_locked(void)
{
	char fields[WRIT_AUDIT_CHECKPOINT_FIELDS];

	audit_checkpoint_fields(skey->data, seq, last_mac, fields);
	if (record_locked("checkpoint", fields, false) != 0)
		ckpt_seq = seq;
	/* NB. even when it failed: the next try is a period away, not a spin. */
	ckpt_time = time(NULL);
}

/*
 * The next records go to a new file (lock held): a "rotated" record,
 * chained as any, names the file this one becomes and its last mac.  A
 * rotation asked for while one waits with no record after it is that one;
 * past WRIT_JOURNAL_MAX_SPLITS in one batch, files grow until the next
 * batch.
 */
static uint64_t
rotate_locked(const char *why)
{
	char fields[256], name[WRIT_AUDIT_ROTATED_LEN + 1], hex[WRIT_AUDIT_MAC_HEX + 1];
	uint64_t s, last, old_first = file_first, old_bytes = file_bytes;

	if (jn == NULL || journal_broken_locked(jn))
		return 0;
	if (journal_splits_locked(jn, &last) > 0 && last == seq)
		return seq;
	if (journal_splits_locked(jn, &last) == WRIT_JOURNAL_MAX_SPLITS)
		return last;
	audit_rotated_name(file_first, name);
	audit_hex(last_mac, hex);
	snprintf(fields, sizeof(fields), "{\"prev_file\":\"%s\",\"prev_mac\":\"%s\",\"why\":\"%s\"}",
	    name, hex, why);
	file_first = seq + 1;
	file_bytes = 0;
	if ((s = record_locked("rotated", fields, true)) == 0) {
		file_first = old_first;
		file_bytes = old_bytes;
	}
	return s;
}

/* Append one record (lock held); rotate and checkpoint when due.  0 when broken. */
static uint64_t
append_locked(const char *event, const char *fields)
{
	uint64_t s;

	if (jn == NULL || journal_broken_locked(jn))
		return 0;
	if (file_bytes >= conf.rotate_size)
		(void)rotate_locked("size");
	if ((s = record_locked(event, fields, false)) != 0 && s - ckpt_seq >= conf.checkpoint_records)
		checkpoint_locked();
	return s;
}

/*
 * Format fields outside the lock (the costly part), chain and buffer
 * under it.  event is one of writd's own names: no escaping needed.
 */
static uint64_t
append(const char *event, json_t *fields)
{
	char *text = fields != NULL ? jdump(fields, JSON_COMPACT | JSON_SORT_KEYS, NULL) : NULL;
	uint64_t s = 0;

	json_decref(fields);
	if ((fields != NULL && text == NULL) || jn == NULL) {
		free(text);
		return 0;
	}
	journal_lock(jn);
	s = append_locked(event, text);
	journal_unlock(jn);
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

uint64_t
audit_rotate(const char *why)
{
	uint64_t s;

	if (jn == NULL)
		return 0;
	journal_lock(jn);
	s = rotate_locked(why);
	journal_unlock(jn);
	return s;
}

bool
audit_ok(void)
{
	return jn != NULL && journal_ok(jn);
}

void
audit_wait(uint64_t s, void (*done)(void *arg, bool ok), void *arg)
{
	if (jn == NULL) {
		done(arg, false);
		return;
	}
	journal_wait(jn, s, done, arg);
}

bool
audit_watchdog(void)
{
	bool fired = false, busy;

	if (jn == NULL)
		return false;
	busy = journal_watchdog(jn, WRIT_AUDIT_SYNC_MAX, &fired);
	if (fired)
		fprintf(stderr, "writd: an audit sync has taken over %ds; issuing stops\n",
		    WRIT_AUDIT_SYNC_MAX);
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

void
audit_public_key(char out[65])
{
	audit_hex(pk, out);
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
	/* NB. non-blocking: a FIFO named by the front end must not hold the minter. */
	int rfd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (rfd < 0) {
		if (errno == ENOENT && file == NULL) {
			*ret_len = 0;
			return calloc(1, 1);
		}
		snprintf(err, WRIT_ERRLEN, "%s: %s", name, strerror(errno));
		return NULL;
	}
	/*
	 * NB. a file the front end names must be ours too: the minter does not
	 * read, for a confined front end, what writd's user did not write.
	 */
	if (fstat(rfd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WRIT_MAX_AUDIT_FILE ||
	    st.st_uid != geteuid() || (file == NULL && (st.st_mode & 077) != 0)) {
		snprintf(err, WRIT_ERRLEN, file == NULL ? "%s must be a regular file of ours, "
		    "mode 0600, under 1 GiB" : "%s must be a regular file of writd's user, "
		    "under 1 GiB", name);
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

uint64_t
audit_appended(void)
{
	return atomic_load(&appended);
}

void
audit_configure(const struct audit_conf *c)
{
	conf = *c;
}

/* len bytes at off of rfd, NUL-terminated, or NULL. */
static char *
read_at(int rfd, uint64_t off, size_t len)
{
	char *buf = malloc(len + 1);

	if (buf == NULL || pread(rfd, buf, len, (off_t)off) != (ssize_t)len) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* The seq the first record of rfd names, unchecked (0: none readable). */
static uint64_t
first_seq_of(int rfd, uint64_t size)
{
	size_t n = size < WRIT_MAX_AUDIT_RECORD + 1 ? (size_t)size : WRIT_MAX_AUDIT_RECORD + 1;
	char *buf = read_at(rfd, 0, n), *nl;
	json_t *rec;
	uint64_t s = 0;

	if (buf != NULL && (nl = memchr(buf, '\n', n)) != NULL &&
	    (rec = json_loadb(buf, (size_t)(nl - buf), 0, NULL)) != NULL) {
		if (json_integer_value(json_object_get(rec, "seq")) > 0)
			s = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
		json_decref(rec);
	}
	free(buf);
	return s;
}

/* Does the record ending at off in rfd carry at's seq and mac? */
static bool
point_holds(int rfd, uint64_t off, const struct audit_point *at)
{
	size_t back = off < WRIT_MAX_AUDIT_RECORD + 1 ? (size_t)off : WRIT_MAX_AUDIT_RECORD + 1;
	char body[WRIT_MAX_AUDIT_RECORD + 2], *buf = read_at(rfd, off - back, back);
	const char *line;
	unsigned char mac[32];
	bool ok = false;
	json_t *rec;
	size_t blen;

	if (buf == NULL || back < 2 || buf[back - 1] != '\n')
		goto out;
	line = memrchr(buf, '\n', back - 1);
	if (line == NULL && off > back)
		goto out;	/* longer than a record */
	line = line != NULL ? line + 1 : buf;
	if (audit_record_split(line, (size_t)(buf + back - 1 - line), body, &blen, mac) != 0 ||
	    sodium_memcmp(mac, at->mac, 32) != 0)
		goto out;
	rec = json_loadb(body, blen, 0, NULL);
	ok = (uint64_t)json_integer_value(json_object_get(rec, "seq")) == at->seq;
	json_decref(rec);
 out:
	free(buf);
	return ok;
}

/* Where a file was found good: its first seq, and the scan from there. */
struct found {
	uint64_t first;
	struct audit_scan sc;	/* good_len counts from the file's start */
	bool fast;		/* from the state record's point */
};

/*
 * Check file name (open as rfd, size bytes): from the state record's point
 * when it is in this file (the point checked against the bytes there),
 * else whole.  A torn last record is left to the caller.
 */
static int
check_file(int rfd, uint64_t size, const char *name, const struct audit_state *st,
    struct found *ret, char err[WRIT_ERRLEN])
{
	const struct audit_point *from = NULL;
	uint64_t off = 0;
	char *buf;
	int r;

	ret->first = first_seq_of(rfd, size);
	ret->fast = false;
	if (st != NULL && ret->first != 0 && st->file_first == ret->first) {
		if (st->offset > size || !point_holds(rfd, st->offset, &st->at)) {
			snprintf(err, WRIT_ERRLEN, "%s/%s does not hold its last durable record "
			    "(seq %" PRIu64 " ending at byte %" PRIu64 ", in %s): records were cut off "
			    "or altered; keep it as evidence, move it and %s aside, and start writd "
			    "again", dir, name, st->at.seq, st->offset, STATE_NAME, STATE_NAME);
			return WRIT_EFORBIDDEN;
		}
		off = st->offset;
		from = &st->at;
		ret->fast = true;
	} else if (st != NULL && ret->first != 0 && st->file_first > ret->first) {
		snprintf(err, WRIT_ERRLEN, "%s/%s begins at seq %" PRIu64 ", but the log had "
		    "reached a later file (at seq %" PRIu64 ", %s): an older file was put in its "
		    "place; keep it as evidence, move it and %s aside, and start writd again",
		    dir, name, ret->first, st->at.seq, STATE_NAME, STATE_NAME);
		return WRIT_EFORBIDDEN;
	}
	if (size - off > WRIT_MAX_AUDIT_FILE) {
		snprintf(err, WRIT_ERRLEN, "%s/%s: more than 1 GiB to check", dir, name);
		return WRIT_EFORBIDDEN;
	}
	if ((buf = read_at(rfd, off, (size_t)(size - off))) == NULL) {
		snprintf(err, WRIT_ERRLEN, "%s/%s: short read", dir, name);
		return WRIT_EINTERNAL;
	}
	ret->sc.probe_seq = 0;
	r = audit_scan(buf, (size_t)(size - off), key->data, pk, from, &ret->sc);
	free(buf);
	ret->sc.good_len += off;
	if (r < 0 && !ret->sc.torn) {
		snprintf(err, WRIT_ERRLEN, "%s/%s is broken at record %" PRIu64 " (%s); keep it as "
		    "evidence, move it aside, and start writd again", dir, name, ret->sc.bad_seq,
		    ret->sc.why);
		return WRIT_EFORBIDDEN;
	}
	return 0;
}

/* The first seqs of the rotated files in dir, sorted; *ret_n of them. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t *
list_rotated(size_t *ret_n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t *v = NULL, s;
	size_t n = 0, cap = 0;

	*ret_n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL && n < WRIT_MAX_AUDIT_FILES) {
		if ((s = audit_rotated_seq(e->d_name)) == 0)
			continue;
		if (n == cap) {
			uint64_t *p = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (p == NULL)
				break;
			v = p;
		}
		v[n++] = s;
	}
	closedir(d);
	if (v != NULL)
		qsort(v, n, sizeof(*v), cmp_u64);
	*ret_n = n;
	return v;
}

/* One of our files, for reading: regular, ours, 0600. */
static int
open_ours(const char *name, struct stat *st, char err[WRIT_ERRLEN])
{
	int rfd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (rfd < 0) {
		if (errno != ENOENT)
			snprintf(err, WRIT_ERRLEN, "%s/%s: %s", dir, name, strerror(errno));
		return errno == ENOENT ? WRIT_ENOTFOUND : WRIT_EINTERNAL;
	}
	if (fstat(rfd, st) != 0 || !S_ISREG(st->st_mode) || st->st_uid != geteuid() ||
	    (st->st_mode & 077) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s/%s must be a regular file of ours, mode 0600",
		    dir, name);
		close(rfd);
		return WRIT_EFORBIDDEN;
	}
	return rfd;
}

/*
 * Find where the chain stands: in audit.jsonl, or, when it is missing or
 * empty (a crash in a rotation), at the end of the newest rotated file.
 * Sets seq, last_mac, file_first, disk_first, disk_off and opens fd.
 * *ret_cut: a torn record was cut after seq; *ret_cont: the new file
 * must begin with a "rotated" record naming that rotated file.
 */
static int
resume(const struct audit_state *st, bool *ret_cut, uint64_t *ret_cont, char err[WRIT_ERRLEN])
{
	char name[WRIT_AUDIT_ROTATED_LEN + 1];
	struct found f = { 0 };
	struct stat sb;
	uint64_t *rot;
	size_t nrot;
	int rfd, r;

	*ret_cut = false;
	*ret_cont = 0;
	rfd = open_ours(CUR_NAME, &sb, err);
	if (rfd < 0 && rfd != WRIT_ENOTFOUND)
		return rfd;
	if (rfd >= 0 && sb.st_size > 0) {
		r = check_file(rfd, (uint64_t)sb.st_size, CUR_NAME, st, &f, err);
		close(rfd);
		if (r < 0)
			return r;
		fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
			return WRIT_EINTERNAL;
		}
		/* A crash mid-write leaves a torn last record: cut it, and say so. */
		if (f.sc.torn) {
			if (ftruncate(fd, (off_t)f.sc.good_len) != 0) {
				snprintf(err, WRIT_ERRLEN, "%s: cannot cut the torn record: %s", path,
				    strerror(errno));
				return WRIT_EINTERNAL;
			}
			*ret_cut = true;
		}
		if (f.sc.good_len > 0) {
			seq = f.sc.last_seq;
			memcpy(last_mac, f.sc.last_mac, 32);
			disk_first = f.first;
			disk_off = f.sc.good_len;
			return 0;
		}
		/*
		 * NB. only a torn first record (a crash in a rotation): now
		 * empty, the file goes on from the rotated ones, not from seq 1.
		 */
		close(fd);
		fd = -1;
	} else if (rfd >= 0)
		close(rfd);
	rot = list_rotated(&nrot);
	if (nrot == 0) {
		free(rot);
		if (st != NULL && st->at.seq > 0) {
			snprintf(err, WRIT_ERRLEN, "%s is gone, but the log had reached seq %" PRIu64
			    " (%s/%s): keep what is left as evidence, move %s aside, and start writd "
			    "again", path, st->at.seq, dir, STATE_NAME, STATE_NAME);
			return WRIT_EFORBIDDEN;
		}
		seq = 0;
		memset(last_mac, 0, 32);
	} else {
		audit_rotated_name(rot[nrot - 1], name);
		if (st != NULL && st->file_first > rot[nrot - 1]) {
			free(rot);
			snprintf(err, WRIT_ERRLEN, "%s is gone, but the log had reached seq %" PRIu64
			    " in it (%s/%s): keep what is left as evidence, move %s aside, and start "
			    "writd again", path, st->at.seq, dir, STATE_NAME, STATE_NAME);
			return WRIT_EFORBIDDEN;
		}
		free(rot);
		if ((rfd = open_ours(name, &sb, err)) < 0)
			return rfd;
		r = check_file(rfd, (uint64_t)sb.st_size, name, st, &f, err);
		close(rfd);
		if (r < 0)
			return r;
		if (f.sc.torn) {
			snprintf(err, WRIT_ERRLEN, "%s/%s ends in a torn record, and a rotated file "
			    "is never cut: keep it as evidence and move it aside", dir, name);
			return WRIT_EFORBIDDEN;
		}
		seq = f.sc.last_seq;
		memcpy(last_mac, f.sc.last_mac, 32);
		*ret_cont = f.first;
		/* A crash in a rotation, or a deleted file: say which file goes on. */
		fprintf(stderr, "writd: no %s: the audit log goes on from %s/%s (seq %" PRIu64 ")\n",
		    CUR_NAME, dir, name, seq);
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		return WRIT_EINTERNAL;
	}
	/* NB. a synced record in a file whose name is not is lost all the same. */
	if (fsync(dir_fd) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s: cannot sync the directory: %s", dir, strerror(errno));
		return WRIT_EINTERNAL;
	}
	disk_first = seq + 1;
	disk_off = 0;
	return 0;
}

static void
make_sign_key(unsigned char *buf, size_t len)
{
	unsigned char p[crypto_sign_PUBLICKEYBYTES];

	(void)len;
	crypto_sign_keypair(p, buf);
}

static void
make_chain_key(unsigned char *buf, size_t len)
{
	randombytes_buf(buf, len);
}

int
audit_open(const char *state_dir, char err[WRIT_ERRLEN])
{
	struct journal_ops ops = { .what = "audit log", .moved_name = moved_name,
	    .taken = taken, .ended = ended, .durable = durable, .idle = idle };
	char text[WRIT_AUDIT_STATE_LEN + 1];
	struct audit_state st;
	bool have_st = false, cut;
	uint64_t cont;
	struct stat sb;
	ssize_t n;
	int r;

	snprintf(dir, sizeof(dir), "%s", state_dir);
	snprintf(path, sizeof(path), "%s/%s", state_dir, CUR_NAME);
	snprintf(state_path, sizeof(state_path), "%s/%s", state_dir, STATE_NAME);
	if ((r = store_get_or_make(KEY_NAME, 32, make_chain_key, &key, err)) < 0 ||
	    (r = store_get_or_make(SIGN_KEY_NAME, crypto_sign_SECRETKEYBYTES, make_sign_key,
	    &skey, err)) < 0)
		return r;
	crypto_sign_ed25519_sk_to_pk(pk, skey->data);
	dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	state_fd = open(state_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dir_fd < 0 || state_fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", dir_fd < 0 ? state_dir : state_path,
		    strerror(errno));
		return WRIT_EINTERNAL;
	}
	if (fstat(state_fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 077) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s must be a regular file of ours, mode 0600", state_path);
		return WRIT_EFORBIDDEN;
	}
	n = pread(state_fd, text, sizeof(text), 0);
	if (n == WRIT_AUDIT_STATE_LEN && audit_state_parse(text, (size_t)n, key->data, &st) == 0)
		have_st = true;
	else if (n > 0)
		fprintf(stderr, "writd: %s is torn or not ours: checking the current audit file "
		    "whole\n", state_path);
	if ((r = resume(have_st ? &st : NULL, &cut, &cont, err)) < 0)
		return r;
	ckpt_seq = seq;
	atomic_store(&appended, seq);
	ckpt_time = time(NULL);
	file_first = disk_first;
	file_bytes = disk_off;
	r = journal_open(dir, CUR_NAME, fd, disk_first, disk_off, seq, &ops, &jn, err);
	fd = -1;	/* the journal's now, or closed */
	if (r < 0)
		return r;
	if (cont != 0) {
		/* audit.jsonl went missing in a rotation: the new one continues the last. */
		char fields[256], name[WRIT_AUDIT_ROTATED_LEN + 1], hex[WRIT_AUDIT_MAC_HEX + 1];

		audit_rotated_name(cont, name);
		audit_hex(last_mac, hex);
		snprintf(fields, sizeof(fields), "{\"prev_file\":\"%s\",\"prev_mac\":\"%s\","
		    "\"why\":\"start\"}", name, hex);
		journal_lock(jn);
		record_locked("rotated", fields, false);
		journal_unlock(jn);
	}
	if (cut)
		audit_log("recovered", json_pack("{sssI}", "why", "a torn last record was cut",
		    "after_seq", (json_int_t)seq));
	audit_log("started", NULL);
	return 0;
}

void
audit_close(void)
{
	if (jn == NULL)
		return;
	audit_log("stopped", NULL);
	/* The last word is signed: a copy elsewhere shows nothing came after. */
	journal_lock(jn);
	if (!journal_broken_locked(jn))
		checkpoint_locked();
	journal_unlock(jn);
	journal_close(jn);
	jn = NULL;
	close(dir_fd);
	close(state_fd);
	dir_fd = state_fd = -1;
	secret_free(key);
	secret_free(skey);
	key = skey = NULL;
}

/* What verify found of one file. */
static json_t *
file_report(const char *name, const struct audit_scan *sc, const char *problem)
{
	json_t *f = json_pack("{sssbsIsIsI}", "file", name, "ok", problem == NULL,
	    "records", (json_int_t)sc->records, "first_seq", (json_int_t)sc->first_seq,
	    "last_seq", (json_int_t)sc->last_seq);

	if (problem != NULL)
		json_object_set_new(f, "reason", json_string(problem));
	if (sc->bad_seq != 0)
		json_object_set_new(f, "first_bad", json_integer((json_int_t)sc->bad_seq));
	return f;
}

/*
 * What a checkpoint from elsewhere says of the log: reached with the same
 * mac, or cut off (the log ends before it), or changed.
 */
static json_t *
checkpoint_report(const struct audit_checkpoint *cp, bool found, const unsigned char mac[32],
    uint64_t last_seq, bool *ok)
{
	json_t *j = json_pack("{sIsI}", "seq", (json_int_t)cp->seq, "at_seq",
	    (json_int_t)cp->at.seq);
	char why[256];

	*ok = false;
	if (found && sodium_memcmp(mac, cp->at.mac, 32) == 0) {
		*ok = true;
		snprintf(why, sizeof(why), "the log reaches the checkpoint (seq %" PRIu64 ") with "
		    "the same mac", cp->at.seq);
	} else if (found)
		snprintf(why, sizeof(why), "the log's record %" PRIu64 " is not the one the "
		    "checkpoint signed: it was changed", cp->at.seq);
	else if (cp->at.seq > last_seq) {
		json_object_set_new(j, "truncated", json_true());
		snprintf(why, sizeof(why), "TRUNCATED: the log ends at seq %" PRIu64 ", but the "
		    "signed checkpoint shows seq %" PRIu64 " was written: records %" PRIu64
		    "-%" PRIu64 " at least were cut off", last_seq, cp->at.seq, last_seq + 1,
		    cp->at.seq);
	} else
		snprintf(why, sizeof(why), "the log has no good record %" PRIu64 " to hold the "
		    "checkpoint against", cp->at.seq);
	json_object_set_new(j, "ok", json_boolean(*ok));
	json_object_set_new(j, "reason", json_string(why));
	return j;
}

static json_t *verify_once(const char *file, const char *checkpoint);

static uint64_t
rotations_now(void)
{
	uint64_t n;

	if (jn == NULL)
		return 0;
	journal_lock(jn);
	n = rotations;
	journal_unlock(jn);
	return n;
}

static uint64_t
synced_now(void)
{
	return jn != NULL ? journal_synced(jn) : 0;
}

/*
 * A rotation while verify reads the files can show a link that is not
 * broken (audit.jsonl renamed between the listing and the read): a
 * failure seen across one, or while one was under way when verify
 * began, is checked again, up to VERIFY_TRIES times: under a flood that
 * rotates by size every few dozen records, a whole verify (every file)
 * often spans a rotation, and three tries were seen all to span one.
 */
#define VERIFY_TRIES 10

json_t *
audit_verify(const char *file, const char *checkpoint)
{
	json_t *j = NULL;

	for (int tries = 0; tries < VERIFY_TRIES; tries++) {
		uint64_t before = rotations_now();

		json_decref(j);
		j = verify_once(file, checkpoint);
		if (json_is_true(json_object_get(j, "ok")) || file != NULL ||
		    (before % 2 == 0 && rotations_now() == before))
			break;
	}
	return j;
}

static json_t *
verify_once(const char *file, const char *checkpoint)
{
	char err[WRIT_ERRLEN] = "", prev_name[WRIT_AUDIT_ROTATED_LEN + 1] = "";
	char why[128], problem[256], first_reason[320] = "", hex[WRIT_AUDIT_MAC_HEX + 1];
	unsigned char prev_mac[32] = { 0 }, probe_mac[32] = { 0 };
	uint64_t *rot = NULL, prev_last = 0, records = 0, first_bad = 0, ck_seq = 0;
	struct audit_checkpoint cp;
	bool ok = true, have_cp = false, probed = false, cp_ok;
	json_t *j = json_object(), *files = json_array(), *last_ckpt = NULL;
	size_t nrot = 0, nfiles;
	int64_t ck_time = 0;
	/* NB. before the files are read: all of it must be in them. */
	uint64_t durable = file == NULL ? synced_now() : 0;

	audit_hex(pk, hex);
	json_object_set_new(j, "public_key", json_string(hex));
	if (checkpoint != NULL) {
		if (audit_checkpoint_parse(checkpoint, strlen(checkpoint), pk, &cp, why) == 0)
			have_cp = true;
		else {
			ok = false;
			json_object_set_new(j, "checkpoint", json_pack("{sbss}", "ok", 0, "reason", why));
		}
	}
	if (file == NULL)
		rot = list_rotated(&nrot);
	nfiles = file != NULL ? 1 : nrot + 1;
	if (file == NULL && nrot == 0 && access(path, F_OK) != 0 && errno == ENOENT)
		nfiles = 0;	/* nothing logged yet */
	for (size_t i = 0; i < nfiles; i++) {
		char name[WRIT_AUDIT_ROTATED_LEN + 1], full[4300];
		struct audit_scan sc = { .probe_seq = have_cp ? cp.at.seq : 0 };
		const char *shown;
		size_t len;
		char *buf;

		if (file != NULL)
			snprintf(full, sizeof(full), "%s", file);
		else {
			if (i < nrot)
				audit_rotated_name(rot[i], name);
			else
				snprintf(name, sizeof(name), "%s", CUR_NAME);
			snprintf(full, sizeof(full), "%s/%s", dir, name);
		}
		shown = file != NULL ? file : name;
		if ((buf = read_all(full, &len, err)) == NULL) {
			json_decref(j);
			json_decref(files);
			free(rot);
			return json_pack("{sbss}", "ok", 0, "reason", err);
		}
		problem[0] = '\0';
		/* NB. the live file's last record may be half written as we read. */
		if (audit_scan(buf, len, key->data, pk, NULL, &sc) < 0 &&
		    !(sc.torn && file == NULL && i == nrot))
			snprintf(problem, sizeof(problem), "%s", sc.why);
		free(buf);
		if (problem[0] == '\0' && file == NULL && i < nrot && rot[i] != sc.first_seq)
			snprintf(problem, sizeof(problem), "named for seq %" PRIu64 " but begins at "
			    "seq %" PRIu64 ": renamed, or files out of order", rot[i], sc.first_seq);
		/* Each file must continue the one before it, by name, mac and seq. */
		if (problem[0] == '\0' && file == NULL && i > 0 && !(len == 0 && i == nrot) &&
		    (!sc.rotated || strcmp(sc.prev_file, prev_name) != 0 ||
		    sodium_memcmp(sc.prev_mac, prev_mac, 32) != 0 || sc.first_seq != prev_last + 1))
			snprintf(problem, sizeof(problem), "does not continue %s (seq %" PRIu64 "): "
			    "a file between them is missing, or files were reordered or altered",
			    prev_name, prev_last);
		if (problem[0] == '\0' && file == NULL && i == 0 && sc.rotated)
			snprintf(problem, sizeof(problem), "continues %s, which is missing (records "
			    "before seq %" PRIu64 ")", sc.prev_file, sc.first_seq);
		if (problem[0] != '\0' && ok) {
			ok = false;
			first_bad = sc.bad_seq != 0 ? sc.bad_seq : sc.first_seq;
			snprintf(first_reason, sizeof(first_reason), "%s: %s", shown, problem);
		}
		json_array_append_new(files, file_report(shown, &sc, problem[0] ? problem : NULL));
		records += sc.records;
		if (sc.probed) {
			probed = true;
			memcpy(probe_mac, sc.probe_mac, 32);
		}
		if (sc.ckpt_seq != 0) {
			ck_seq = sc.ckpt_seq;
			ck_time = sc.ckpt_time;
		}
		if (file == NULL && i < nrot)
			snprintf(prev_name, sizeof(prev_name), "%s", name);
		/* An empty audit.jsonl (a rotation's, or a crash's) ends nothing. */
		if (len > 0) {
			prev_last = sc.last_seq;
			memcpy(prev_mac, sc.last_mac, 32);
		}
	}
	free(rot);
	/* Files cut or removed at the end chain still: writd knows how far it wrote. */
	if (ok && prev_last < durable) {
		ok = false;
		first_bad = prev_last + 1;
		snprintf(first_reason, sizeof(first_reason), "the log ends at seq %" PRIu64 ", but "
		    "writd made seq %" PRIu64 " durable: records were cut off the end", prev_last,
		    durable);
	}
	if (have_cp) {
		json_object_set_new(j, "checkpoint", checkpoint_report(&cp, probed, probe_mac,
		    prev_last, &cp_ok));
		if (!cp_ok && ok) {
			ok = false;
			snprintf(first_reason, sizeof(first_reason), "%s", json_string_value(
			    json_object_get(json_object_get(j, "checkpoint"), "reason")));
		}
		ok = ok && cp_ok;
	}
	if (ck_seq != 0)
		last_ckpt = json_pack("{sIsIsI}", "seq", (json_int_t)ck_seq, "at_seq",
		    (json_int_t)ck_seq - 1, "time", (json_int_t)ck_time);
	json_object_set_new(j, "ok", json_boolean(ok));
	json_object_set_new(j, "records", json_integer((json_int_t)records));
	json_object_set_new(j, "last_seq", json_integer((json_int_t)prev_last));
	json_object_set_new(j, "files", files);
	json_object_set_new(j, "last_checkpoint", last_ckpt != NULL ? last_ckpt : json_null());
	if (!ok) {
		if (first_bad != 0)
			json_object_set_new(j, "first_bad", json_integer((json_int_t)first_bad));
		if (first_reason[0] != '\0')
			json_object_set_new(j, "reason", json_string(first_reason));
	}
	return j;
}

/*
 * From the end backwards (logtail.h), audit.jsonl first and then the
 * rotated files, newest first: time and memory grow with t->want, never
 * with the log; a session's tail scans its last WRIT_LOGTAIL_SCAN bytes
 * at most, across files.  Oldest first, as the log reads.
 */
static json_t *
tail(struct logtail *t)
{
	char name[WRIT_AUDIT_ROTATED_LEN + 1], err[WRIT_ERRLEN];
	json_t *out = json_array();
	uint64_t *rot = NULL;
	size_t nrot = 0;
	struct stat st, cur = { 0 };
	int tfd;

	if (t->records == NULL || out == NULL)
		goto out;
	if ((tfd = open_ours(CUR_NAME, &st, err)) >= 0) {
		(void)logtail_read(tfd, st.st_size, t);
		close(tfd);
		cur = st;
	}
	if (t->want > 0 && t->scan_left > 0)
		rot = list_rotated(&nrot);
	for (size_t i = nrot; i > 0 && t->want > 0 && t->scan_left > 0; i--) {
		audit_rotated_name(rot[i - 1], name);
		if ((tfd = open_ours(name, &st, err)) < 0)
			break;	/* moved away meanwhile: the tail ends there */
		/* NB. rotated since it was read as audit.jsonl: read once. */
		if (st.st_ino == cur.st_ino && st.st_dev == cur.st_dev) {
			close(tfd);
			continue;
		}
		(void)logtail_read(tfd, st.st_size, t);
		close(tfd);
	}
	free(rot);
	for (size_t i = json_array_size(t->records); i > 0; i--)
		json_array_append(out, json_array_get(t->records, i - 1));
 out:
	json_decref(t->records);
	return out;
}

json_t *
audit_tail(unsigned int n, const char *session, uint64_t after, uint64_t before)
{
	struct logtail t = { .want = n, .session = session, .scan_left = WRIT_LOGTAIL_SCAN,
	    .max_line = WRIT_MAX_AUDIT_RECORD, .after = after, .before = before,
	    .records = json_array() };

	return tail(&t);
}

json_t *
audit_since(uint64_t after, const char *const *events, unsigned int max, bool *whole)
{
	struct logtail t = { .want = max, .events = events, .scan_left = WRIT_LOGTAIL_SCAN,
	    .max_line = WRIT_MAX_AUDIT_RECORD, .after = after, .records = json_array() };
	json_t *out = tail(&t);

	/* NB. a log with nothing after seq after ends at it (or the file is new). */
	*whole = t.reached || audit_appended() <= after;
	return out;
}
