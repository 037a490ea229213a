/*
 * ledger.c - sealed, synced records of every live writ.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "audit.h"
#include "duration.h"
#include "errors.h"
#include "fsutil.h"
#include "id.h"
#include "jdump.h"
#include "journal.h"
#include "ledger.h"
#include "store.h"

#define KEY_NAME "ledger-key"
/* Room for a mark line: {"op":"mark","audit_seq":N}, its newline and a NUL. */
#define MARK_LEN 64
/*
 * Most audit records read back at start to recover "add" lines the file
 * lost (a batch waits ledger_lag or LAZY_RECORDS, so there are far fewer).
 */
#define RECOVER_MAX (1U << 22)
#define LAZY_RECORDS 4096

/* Closed entries tolerated before compaction, at the least. */
#ifndef COMPACT_AFTER
#define COMPACT_AFTER 1000
#endif

/*
 * The file is a journal (journal.h): appends under its lock, written and
 * synced by its commit thread.  Under clk: which journal (set once open),
 * the counts and the compaction thread's flags.
 */
static struct journal *jn;
static pthread_mutex_t clk = PTHREAD_MUTEX_INITIALIZER;
static int64_t nopen, nclosed;	/* entries open; "done" records since compaction */
static bool lost;		/* a record could not be appended: the next flush fails */
static char path[4200], dir[4096];
static struct secret *key;
static char boot[40];		/* this boot's id: pids repeat across boots */
static json_t *last_run;	/* its open entries, from ledger_open to ledger_replay */
static pthread_cond_t compact_cond = PTHREAD_COND_INITIALIZER;
static pthread_t compactor;
static bool compactor_running, compact_wanted, compacting, compact_stop;

/* Buffer rec (stolen); false when it could not be (the next flush fails). */
static bool
append(json_t *rec, int64_t dopen, int64_t dclosed)
{
	size_t len = 0;
	char *line = rec != NULL ? jdump(rec, JSON_COMPACT, &len) : NULL;
	struct journal *j;
	uint64_t s = 0;

	json_decref(rec);
	pthread_mutex_lock(&clk);
	j = jn;
	pthread_mutex_unlock(&clk);
	if (line != NULL && j != NULL) {
		/* Sealed tokens and fingerprints only: the journal's buffer may leave copies. */
		line[len] = '\n';	/* over the NUL: the record with its newline */
		journal_lock(j);
		s = journal_append_locked(j, line, len + 1, false);
		journal_unlock(j);
	}
	pthread_mutex_lock(&clk);
	if (s != 0) {
		nopen += dopen;
		nclosed += dclosed;
	} else
		lost = true;
	pthread_mutex_unlock(&clk);
	free(line);
	return s != 0;
}

/* The line noting audit point seq into line[MARK_LEN]; its length. */
static size_t
mark_line(char line[MARK_LEN], uint64_t seq)
{
	return (size_t)snprintf(line, MARK_LEN, "{\"op\":\"mark\",\"audit_seq\":%" PRIu64 "}\n",
	    seq);
}

/* token sealed with the ledger key, base64; NULL when out of memory. */
static json_t *
seal(const struct secret *token)
{
	size_t boxlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + token->len;
	size_t b64len = sodium_base64_ENCODED_LEN(boxlen, sodium_base64_VARIANT_ORIGINAL);
	unsigned char *box = malloc(boxlen);
	char *b64 = malloc(b64len);
	json_t *v = NULL;

	if (box != NULL && b64 != NULL) {
		randombytes_buf(box, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, token->data, token->len,
		    box, key->data);
		sodium_bin2base64(b64, b64len, box, boxlen, sodium_base64_VARIANT_ORIGINAL);
		v = json_string(b64);
	}
	free(box);
	free(b64);
	return v;
}

/* The token sealed in b64, or NULL when it does not open with the key. */
static struct secret *
unseal(const char *b64)
{
	size_t b64len = strlen(b64), rawlen;
	unsigned char *raw = malloc(b64len);
	struct secret *tok = NULL;

	if (raw == NULL || sodium_base642bin(raw, b64len, b64, b64len, NULL, &rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    rawlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto out;
	tok = secret_new(rawlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES);
	if (tok != NULL && crypto_secretbox_open_easy(tok->data, raw + crypto_secretbox_NONCEBYTES,
	    rawlen - crypto_secretbox_NONCEBYTES, raw, key->data) != 0) {
		secret_free(tok);
		tok = NULL;
	}
 out:
	free(raw);
	return tok;
}

int
ledger_add(const struct ledger_entry *e, const char fp[33])
{
	json_t *rec, *sealed;

	rec = json_pack("{sssssssssssOsIsIss}", "op", "add", "id", e->id, "session", e->session,
	    "name", e->name, "kind", e->kind->name, "scope", e->scope,
	    "issued_at", (json_int_t)e->issued_at, "expires_at", (json_int_t)e->expires_at,
	    "fingerprint", fp);
	if (rec == NULL)
		return WRIT_ENOMEM;
	if (e->pid > 0 && e->pid_start != 0 &&
	    json_object_update_new(rec, json_pack("{sisIss}", "pid", (int)e->pid,
	    "pid_start", (json_int_t)e->pid_start, "boot", boot)) != 0) {
		json_decref(rec);
		return WRIT_ENOMEM;
	}
	if (e->kind->revoke != NULL &&
	    ((sealed = seal(e->token)) == NULL || json_object_set_new(rec, "sealed", sealed) != 0)) {
		json_decref(rec);
		return WRIT_ENOMEM;
	}
	return append(rec, 1, 0) ? 0 : WRIT_EAUDIT;
}

int
ledger_note(const struct ledger_entry *e, json_t *rec)
{
	if (json_object_set_new(rec, "name", json_string(e->name)) != 0 ||
	    json_object_set_new(rec, "issued_at", json_integer((json_int_t)e->issued_at)) != 0)
		return WRIT_ENOMEM;
	if (e->pid > 0 && e->pid_start != 0 &&
	    json_object_update_new(rec, json_pack("{sisIss}", "pid", (int)e->pid,
	    "pid_start", (json_int_t)e->pid_start, "boot", boot)) != 0)
		return WRIT_ENOMEM;
	return 0;
}

void
ledger_ending(const char *id)
{
	/* NB. lost in a crash: the "revoked" or "expired" record after the mark says so too. */
	append(json_pack("{ssss}", "op", "ending", "id", id), 0, 0);
}

void
ledger_done(const char *id)
{
	/* NB. lost in a crash, it only means one more (harmless) revocation at start. */
	append(json_pack("{ssss}", "op", "done", "id", id), -1, 1);
}

/*
 * Entry id of live (a sealed one) was revoked or expired, its revocation
 * not confirmed upstream: its "add" line says "ending", for ledger_replay
 * (and for compaction, which keeps the line so).
 */
static void
mark_ending(json_t *live, const char *id)
{
	json_t *rec = json_loads(json_string_value(json_object_get(live, id)), 0, NULL);
	char *line;

	if (rec == NULL || json_object_set_new(rec, "ending", json_true()) < 0 ||
	    (line = jdump(rec, JSON_COMPACT, NULL)) == NULL) {
		json_decref(rec);
		return;
	}
	json_object_set_new(live, id, json_string(line));
	free(line);
	json_decref(rec);
}

/*
 * Take one record, line (n bytes, NUL-terminated, without its newline),
 * into live: an "add" opens its id's entry (the line), an "ending" marks
 * it so (mark_ending), any other record with an id closes it, a "mark"
 * sets *mark -- unless *torn: a line that is not one of writd's records
 * (skipped) sets *torn, and no later mark is trusted.  NB. a power loss
 * may keep a batch's later pages and lose an earlier one (zeros): the
 * mark at the batch's end would then cover "add" lines that are gone, and
 * the start would not read their "issued" records back.
 */
static void
read_record(json_t *live, const char *line, size_t n, uint64_t *mark, bool *torn)
{
	json_t *rec;
	const char *id, *op;

	/*
	 * NB. writd never writes a NUL, and jansson skips one after a number
	 * or a literal: such a line would parse, yet be kept (as a string) cut
	 * at its NUL, and rewritten so by compaction.
	 */
	if (memchr(line, '\0', n) != NULL) {
		*torn = true;
		return;
	}
	rec = json_loadb(line, n, 0, NULL);
	id = json_string_value(json_object_get(rec, "id"));
	op = json_string_value(json_object_get(rec, "op"));

	if (id != NULL && op != NULL && strcmp(op, "add") == 0)
		json_object_set_new(live, id, json_string(line));
	else if (id != NULL && op != NULL && strcmp(op, "ending") == 0) {
		if (json_object_get(live, id) != NULL)
			mark_ending(live, id);
	} else if (id != NULL)
		json_object_del(live, id);
	else if (op != NULL && strcmp(op, "mark") == 0 &&
	    json_integer_value(json_object_get(rec, "audit_seq")) > 0) {
		if (!*torn)
			*mark = (uint64_t)json_integer_value(json_object_get(rec, "audit_seq"));
	} else
		*torn = true;
	json_decref(rec);
}

/*
 * The entries still open in the file's first upto bytes (-1: all of it),
 * read a line at a time (its size is not bounded, only the open entries
 * are kept): id -> the "add" line; and the last audit point noted (0:
 * none).  NULL with err when the file is not ours.
 */
static json_t *
read_open(off_t upto, uint64_t *ret_mark, char err[WRIT_ERRLEN])
{
	off_t done = 0;
	bool torn = false;
	json_t *live;
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (rfd < 0 && errno == ENOENT)
		return json_object();
	if (rfd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(rfd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0 || (f = fdopen(rfd, "r")) == NULL) {
		close(rfd);
		snprintf(err, WRIT_ERRLEN, "%s must be a regular file of ours, mode 0600", path);
		return NULL;
	}
	live = json_object();
	while (live != NULL && (upto < 0 || done < upto) && (n = getline(&line, &cap, f)) > 0) {
		done += n;
		if (line[n - 1] != '\n')
			break;		/* a torn last line: never synced, its token never left */
		line[n - 1] = '\0';
		read_record(live, line, (size_t)n - 1, ret_mark, &torn);
	}
	free(line);
	fclose(f);
	return live;
}

/* Copy what follows offset from in the file to tfd.  Between commits. */
static int
copy_tail(off_t from, int tfd)
{
	char chunk[65536];
	ssize_t n = 0;
	int rfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	while (rfd >= 0 && (n = pread(rfd, chunk, sizeof(chunk), from)) > 0) {
		if (fs_write_all(tfd, chunk, (size_t)n) < 0) {
			n = -1;
			break;
		}
		from += n;
	}
	if (rfd >= 0)
		close(rfd);
	return rfd < 0 || n < 0 ? -1 : 0;
}

/* Compaction's steps that run between commits (journal_replace). */
struct swap {
	off_t upto;		/* the file's size: what is synced, when measured */
	int tfd;		/* the compacted file, to take over */
	char tmp[4210];
};

static int
measure(void *arg, int fd, bool *ret_break)
{
	struct swap *sw = arg;
	struct stat st;

	(void)ret_break;
	if (fstat(fd, &st) != 0)
		return -1;
	sw->upto = st.st_size;
	return -1;	/* keep the file */
}

/*
 * What was appended since it was measured goes over too, then the temp
 * file, synced, takes the file's place.  NB. the directory is synced too:
 * else a crash could bring back the old name after later appends went to
 * the new file.
 */
static int
take_over(void *arg, int fd, bool *ret_break)
{
	struct swap *sw = arg;
	int dfd;

	(void)fd;
	if (copy_tail(sw->upto, sw->tfd) != 0 || fdatasync(sw->tfd) != 0 ||
	    rename(sw->tmp, path) != 0)
		return -1;
	/* NB. renamed: the new file is the ledger now, durable name or not. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
		*ret_break = true;
	if (dfd >= 0)
		close(dfd);
	return sw->tfd;
}

/*
 * Rewrite the file with its open entries only.  The costly part runs
 * between commits, not holding them up (nor the audit syncs that wait on
 * them): the file as far as it was synced is read and its open entries
 * written to a temp file; then, between two commits, what was appended
 * meanwhile is copied over and the temp file takes the file's place.
 * Returns how many entries were open, or -1 when it could not (the long
 * file stays).
 */
static int64_t
compact(void)
{
	struct swap sw = { -1, -1, "" };
	char err[WRIT_ERRLEN];
	int64_t n = 0, open_then, closed_then;
	json_t *live, *v;
	const char *id;
	uint64_t mark = 0;
	char line[MARK_LEN];
	int r = 0;

	pthread_mutex_lock(&clk);
	open_then = nopen;
	closed_then = nclosed;
	pthread_mutex_unlock(&clk);
	(void)journal_replace(jn, measure, &sw);
	if (sw.upto < 0 || (live = read_open(sw.upto, &mark, err)) == NULL)
		return -1;
	snprintf(sw.tmp, sizeof(sw.tmp), "%s.tmp", path);
	(void)unlink(sw.tmp);
	sw.tfd = open(sw.tmp, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (sw.tfd < 0) {
		json_decref(live);
		return -1;
	}
	json_object_foreach(live, id, v) {
		(void)id;
		if (fs_write_all(sw.tfd, json_string_value(v), json_string_length(v)) < 0 ||
		    fs_write_all(sw.tfd, "\n", 1) < 0)
			r = -1;
		n++;
	}
	json_decref(live);
	/* NB. the point the entries cover stays: else the next start recovers nothing. */
	if (mark != 0 && fs_write_all(sw.tfd, line, mark_line(line, mark)) < 0)
		r = -1;
	if (r == 0 && journal_replace(jn, take_over, &sw) >= 0) {
		pthread_mutex_lock(&clk);
		nopen = n + (nopen - open_then);
		nclosed -= closed_then;
		pthread_mutex_unlock(&clk);
		return n;
	}
	close(sw.tfd);
	(void)unlink(sw.tmp);
	return -1;
}

/* The compaction thread: file I/O proportional to the ledger, off every other path. */
static void *
compact_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&clk);
	for (;;) {
		while (!compact_wanted && !compact_stop)
			pthread_cond_wait(&compact_cond, &clk);
		if (compact_stop)
			break;
		compact_wanted = false;
		pthread_mutex_unlock(&clk);
		(void)compact();
		pthread_mutex_lock(&clk);
		compacting = false;
	}
	pthread_mutex_unlock(&clk);
	return NULL;
}

/* Compaction costs the file's size: start it when half of the file is dead. */
static void
compact_if_due(void)
{
	pthread_mutex_lock(&clk);
	if (nclosed >= COMPACT_AFTER && nclosed >= nopen && !compacting && compactor_running) {
		compacting = compact_wanted = true;
		pthread_cond_signal(&compact_cond);
	}
	pthread_mutex_unlock(&clk);
}

/*
 * The journal's closing slot, its lock held, a batch about to be taken
 * (or every ledger_lag while none is pending, and at the stop): note the
 * audit point the file covers once the batch is durable, so that a start
 * reads back only the records since (about ledger_lag's worth).  Every
 * "issued" record up to it was appended after its writ's "add" line
 * (the minter's record, minter/mint.c, calls ledger_add first), so that line is in this batch or
 * an earlier one.  NB. clk under the journal's lock: never the other way.
 */
static void
closing(void *arg, struct journal *j)
{
	static uint64_t noted;		/* under j's lock */
	uint64_t at = audit_appended();
	char line[MARK_LEN];

	(void)arg;
	if (at != noted && journal_append_locked(j, line, mark_line(line, at), false) != 0)
		noted = at;
	compact_if_due();
}

bool
ledger_watchdog(void)
{
	struct journal *j;
	bool fired = false, busy = false;

	pthread_mutex_lock(&clk);
	j = jn;
	pthread_mutex_unlock(&clk);
	if (j != NULL)
		busy = journal_watchdog(j, WRIT_AUDIT_SYNC_MAX, &fired);
	if (fired)
		fprintf(stderr, "writd: a ledger sync has taken over %ds; issuing stops\n",
		    WRIT_AUDIT_SYNC_MAX);
	return busy;
}

int
ledger_flush(void)
{
	struct journal *j;
	bool failed;

	pthread_mutex_lock(&clk);
	j = jn;
	pthread_mutex_unlock(&clk);
	/* NB. the journal checks the file is still in place: else not read back at start. */
	failed = j != NULL && journal_flush(j) < 0;
	pthread_mutex_lock(&clk);
	failed = failed || lost;
	pthread_mutex_unlock(&clk);
	return failed ? WRIT_EAUDIT : 0;
}

static int
read_boot_id(void)
{
	int bfd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = bfd >= 0 ? read(bfd, boot, sizeof(boot) - 1) : -1;

	if (bfd >= 0)
		close(bfd);
	if (n <= 0)
		return -1;
	boot[n] = '\0';
	boot[strcspn(boot, "\n")] = '\0';
	return 0;
}

/*
 * Read open entry id of the last run into *e and hand it to fn; or close
 * it (audited) when writd did not write it or its token does not unseal.
 * Returns fn's answer, or false.
 */
static bool
replay_one(const char *id, json_t *j, bool (*fn)(const struct ledger_entry *e, void *arg),
    void *arg)
{
	const char *sealed = json_string_value(json_object_get(j, "sealed"));
	const char *eboot = json_string_value(json_object_get(j, "boot"));
	json_int_t pid = json_integer_value(json_object_get(j, "pid"));
	struct ledger_entry e = {
		.id = id,
		.session = json_string_value(json_object_get(j, "session")),
		.name = json_string_value(json_object_get(j, "name")),
		.kind = kinds_find(json_string_value(json_object_get(j, "kind")) ?: ""),
		.scope = json_object_get(j, "scope"),
		.issued_at = json_integer_value(json_object_get(j, "issued_at")),
		.expires_at = json_integer_value(json_object_get(j, "expires_at")),
		.pid_start = (uint64_t)json_integer_value(json_object_get(j, "pid_start")),
		.same_boot = eboot != NULL && strcmp(eboot, boot) == 0,
		.ending = json_is_true(json_object_get(j, "ending")),
	};
	const char *why = NULL;

	/* NB. no lifetime over what writd grants: such a writ would never be reaped. */
	if (!id_valid(id) || !id_valid(e.session) || e.name == NULL || e.kind == NULL ||
	    !json_is_object(e.scope) || e.issued_at <= 0 || e.expires_at < e.issued_at ||
	    e.issued_at >= WRIT_LEDGER_MAX_TIME || e.expires_at - e.issued_at > WRIT_MAX_DURATION ||
	    pid < 0 || pid > INT32_MAX)
		why = "its ledger entry is not one writd wrote";
	else if (e.kind->revoke != NULL && (sealed == NULL || (e.token = unseal(sealed)) == NULL))
		why = "its ledger entry does not open with the ledger key";
	if (why != NULL) {
		audit_log("revoke_failed", json_pack("{ssss}", "writ", id, "error", why));
		ledger_done(id);
		return false;
	}
	e.pid = (pid_t)pid;
	return fn(&e, arg);
}

unsigned int
ledger_replay(bool (*fn)(const struct ledger_entry *e, void *arg), void *arg)
{
	unsigned int n = 0;
	const char *id;
	json_t *line, *j;

	json_object_foreach(last_run, id, line) {
		j = json_loads(json_string_value(line), 0, NULL);
		n += replay_one(id, j, fn, arg);
		json_decref(j);
	}
	json_decref(last_run);
	last_run = NULL;
	return n;
}

/*
 * The "add" line of the writ an "issued" audit record r names, as
 * ledger_add wrote it (but for a sealed token: kinds that revoke flush
 * their line before the token leaves); NULL when r is not such a record.
 */
static char *
add_line_of(const json_t *r)
{
	const struct writ_kind *k = kinds_find(json_string_value(json_object_get(r, "kind")) ?: "");
	json_t *rec;
	char *line;

	if (k == NULL || k->revoke != NULL)
		return NULL;
	rec = json_pack("{sssOsOsOsssOsOsOsO}", "op", "add", "id", json_object_get(r, "writ"),
	    "session", json_object_get(r, "session"), "name", json_object_get(r, "name"),
	    "kind", k->name, "scope", json_object_get(r, "scope"),
	    "issued_at", json_object_get(r, "issued_at"),
	    "expires_at", json_object_get(r, "expires_at"),
	    "fingerprint", json_object_get(r, "fingerprint"));
	if (rec != NULL && json_object_get(r, "pid") != NULL)
		json_object_update_new(rec, json_pack("{sOsOsO}", "pid", json_object_get(r, "pid"),
		    "pid_start", json_object_get(r, "pid_start"), "boot", json_object_get(r, "boot")));
	line = rec != NULL ? jdump(rec, JSON_COMPACT, NULL) : NULL;
	json_decref(rec);
	return line;
}

/*
 * Does the "add" line (a JSON string) hold a sealed token?  NB. parsed:
 * its text may read "sealed" anywhere (a scope, a session's name).
 */
static bool
sealed(const json_t *line)
{
	json_t *rec = json_loadb(json_string_value(line), json_string_length(line), 0, NULL);
	bool has = json_object_get(rec, "sealed") != NULL;

	json_decref(rec);
	return has;
}

/*
 * What the file lost and the audit log has: the writs issued after the
 * last point the file noted (mark), whose "add" lines waited for a lazy
 * commit when writd stopped without one, come back from their "issued"
 * records, which were durable before their tokens left; those revoked or
 * expired since are closed, and never brought back.  NB. in either order:
 * a writ revoked between custody_add and its "issued" record (the
 * minter's record holds no lock there) has its "revoked" record first.  Into live (id ->
 * line) and the file.  Returns how many came back.
 */
static unsigned int
recover(json_t *live, uint64_t mark)
{
	static const char *const events[] = { "issued", "revoked", "expired", NULL };
	json_t *recs, *r, *ended;
	const char *ev, *id;
	unsigned int n = 0;
	bool whole;
	char *line;
	size_t i;

	if (mark == 0 || (recs = audit_since(mark, events, RECOVER_MAX, &whole)) == NULL)
		return 0;
	/* NB. a rotated file archived within audit.ledger_lag of a crash: say what is lost. */
	if (json_array_size(recs) == RECOVER_MAX)
		fprintf(stderr, "writd: more than %u writs issued or ended after the ledger's "
		    "last point: the oldest are not read back\n", RECOVER_MAX);
	else if (!whole)
		fprintf(stderr, "writd: audit records after seq %" PRIu64 ", the ledger's last "
		    "point, are not all in the log (a rotated file moved away?): a writ issued "
		    "then may not be brought back\n", mark);
	if ((ended = json_object()) == NULL) {
		json_decref(recs);
		return 0;
	}
	json_array_foreach(recs, i, r) {
		ev = json_string_value(json_object_get(r, "event"));
		id = json_string_value(json_object_get(r, "writ"));
		if (ev != NULL && id_valid(id) &&
		    (strcmp(ev, "expired") == 0 || strcmp(ev, "revoked") == 0))
			json_object_set_new(ended, id, json_true());
	}
	json_array_foreach(recs, i, r) {
		ev = json_string_value(json_object_get(r, "event"));
		id = json_string_value(json_object_get(r, "writ"));
		if (ev == NULL || !id_valid(id) ||
		    (uint64_t)json_integer_value(json_object_get(r, "seq")) <= mark)
			continue;
		if (strcmp(ev, "issued") == 0 && json_object_get(live, id) == NULL &&
		    json_object_get(ended, id) == NULL && (line = add_line_of(r)) != NULL) {
			if (append(json_loads(line, 0, NULL), 1, 0)) {
				json_object_set_new(live, id, json_string(line));
				n++;
			}
			free(line);
		} else if ((strcmp(ev, "expired") == 0 || strcmp(ev, "revoked") == 0) &&
		    json_object_get(live, id) != NULL) {
			/*
			 * NB. a kind that revokes closes its entry once upstream
			 * said so: until then the revocation is still owed, and
			 * the writ must not come back as live.
			 */
			if (sealed(json_object_get(live, id)))
				mark_ending(live, id);
			else {
				json_object_del(live, id);
				ledger_done(id);
			}
		}
	}
	json_decref(ended);
	json_decref(recs);
	return n;
}

int
ledger_open(const char *state_dir, int64_t lag, char err[WRIT_ERRLEN])
{
	struct journal_ops ops = { .what = "ledger", .closing = closing,
	    .lazy_ms = (unsigned int)lag * 1000, .lazy_records = LAZY_RECORDS };
	struct journal *j;
	json_t *live;
	uint64_t mark = 0;
	unsigned int back;
	int r, fd;

	snprintf(dir, sizeof(dir), "%s", state_dir);
	snprintf(path, sizeof(path), "%s/ledger.jsonl", state_dir);
	if (read_boot_id() < 0) {
		snprintf(err, WRIT_ERRLEN, "cannot read /proc/sys/kernel/random/boot_id");
		return WRIT_EINTERNAL;
	}
	(void)store_own(KEY_NAME);
	r = store_get(KEY_NAME, &key);
	if (r == WRIT_ENOTFOUND) {
		unsigned char k[crypto_secretbox_KEYBYTES];

		crypto_secretbox_keygen(k);
		r = store_put(KEY_NAME, k, sizeof(k), err);
		sodium_memzero(k, sizeof(k));
		if (r == 0)
			(void)store_own(KEY_NAME);
	r = store_get(KEY_NAME, &key);
	}
	if (r < 0 || key->len != crypto_secretbox_KEYBYTES) {
		snprintf(err, WRIT_ERRLEN, "cannot get the ledger key from the secret store");
		return r < 0 ? r : WRIT_EINTERNAL;
	}
	if ((live = read_open(-1, &mark, err)) == NULL)
		return WRIT_EFORBIDDEN;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		json_decref(live);
		return WRIT_EINTERNAL;
	}
	if ((r = journal_open(dir, "ledger.jsonl", fd, 0, 0, 0, &ops, &j, err)) < 0) {
		json_decref(live);
		return r;
	}
	pthread_mutex_lock(&clk);
	jn = j;
	pthread_mutex_unlock(&clk);
	if ((back = recover(live, mark)) > 0)
		fprintf(stderr, "writd: %u ledger entr%s recovered from the audit log\n", back,
		    back == 1 ? "y" : "ies");
	/*
	 * NB. noted at once: else a crash before the first commit recovers
	 * nothing.  And after what recover appended, as a commit's closing
	 * slot does: a batch cut short on disk keeps a prefix, which must not
	 * hold the point without all the entries it covers.
	 */
	journal_lock(j);
	closing(NULL, j);
	journal_unlock(j);
	if (ledger_flush() < 0) {
		json_decref(live);
		snprintf(err, WRIT_ERRLEN, "%s: cannot be written", path);
		return WRIT_EAUDIT;
	}
	if (compact() < 0)
		nopen = (int64_t)json_object_size(live);
	if (pthread_create(&compactor, NULL, compact_main, NULL) != 0) {
		json_decref(live);
		snprintf(err, WRIT_ERRLEN, "cannot start the ledger's compaction thread");
		return WRIT_EINTERNAL;
	}
	pthread_mutex_lock(&clk);
	compactor_running = true;
	pthread_mutex_unlock(&clk);
	last_run = live;
	return 0;
}

void
ledger_close(void)
{
	bool running;

	struct journal *j;

	pthread_mutex_lock(&clk);
	running = compactor_running;
	compactor_running = false;
	compact_stop = true;
	pthread_cond_signal(&compact_cond);
	pthread_mutex_unlock(&clk);
	if (running)
		pthread_join(compactor, NULL);
	pthread_mutex_lock(&clk);
	j = jn;
	pthread_mutex_unlock(&clk);
	/* NB. the last point too, pending or not: else the next start reads back further. */
	if (j != NULL) {
		journal_lock(j);
		closing(NULL, j);
		journal_unlock(j);
	}
	pthread_mutex_lock(&clk);
	jn = NULL;
	pthread_mutex_unlock(&clk);
	journal_close(j);	/* commits what is appended */
	secret_free(key);
	key = NULL;
	json_decref(last_run);
	last_run = NULL;
}
