/*
 * fuzz_ledger.c - libFuzzer harness for the ledger reader: the records of
 * ledger.jsonl as writd reads them back at start (read_record, then
 * replay_one through ledger_replay).
 *
 * ledger.c is included whole, so that its static reader is reachable
 * without a test-only export (as fuzz_oidc.c does with oidc.c).  The
 * ledger key is a fixed test key ({7, 7, ...}); the seeds
 * (tests/fuzz/corpus/ledger/) carry tokens sealed with it, so mutations
 * around them reach the unsealing path.  The audit log is not open:
 * a refused entry's "revoke_failed" record and its "done" go nowhere.
 *
 * The input is the file: lines up to a torn last one, as read_open reads
 * them.  Properties beyond "does not crash":
 *   - every open entry the reader keeps is an "add" record of that id;
 *   - every entry handed on (to restore.c in writd) is what ledger.h
 *     promises: ids of 32 hex digits, a known kind, an object scope,
 *     0 < issued_at < WRIT_LEDGER_MAX_TIME, issued_at <= expires_at, a
 *     lifetime of at most WRIT_MAX_DURATION, a pid of 0 or more, and a token exactly when the
 *     kind revokes; and restore.c's arithmetic on it (issued_at +
 *     WRIT_UPSTREAM_RETRY_FOR) cannot overflow.
 */
#include "../../broker/minter/ledger.c"
#include "../../broker/minter/upstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
hex32(const char *s)
{
	return s != NULL && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static unsigned int handed;

static bool
check_entry(const struct ledger_entry *e, void *arg)
{
	(void)arg;
	handed++;
	if (!hex32(e->id) || !hex32(e->session) || e->name == NULL || e->kind == NULL ||
	    !json_is_object(e->scope) || e->issued_at <= 0 || e->expires_at < e->issued_at ||
	    e->expires_at - e->issued_at > WRIT_MAX_DURATION ||
	    e->issued_at >= WRIT_LEDGER_MAX_TIME || e->pid < 0 ||
	    (e->token != NULL) != (e->kind->revoke != NULL))
		__builtin_trap();
	/* What restore_one computes first: it must not overflow. */
	if (e->issued_at > INT64_MAX - WRIT_UPSTREAM_RETRY_FOR)
		__builtin_trap();
	secret_free(e->token);	/* ours now, as restore_one's */
	return handed & 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *p, *nl;
	const char *id;
	json_t *live, *v;
	size_t n;
	uint64_t mark = 0;
	bool torn = false;

	if (key == NULL) {
		if (sodium_init() < 0 || (key = secret_new(crypto_secretbox_KEYBYTES)) == NULL)
			abort();
		memset(key->data, 7, key->len);
		snprintf(boot, sizeof(boot), "fuzz-boot");
	}
	if ((buf = malloc(size + 1)) == NULL || (live = json_object()) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* As read_open: a line at a time, up to a torn last line. */
	for (p = buf; (nl = memchr(p, '\n', size - (size_t)(p - buf))) != NULL; p = nl + 1) {
		*nl = '\0';
		read_record(live, p, (size_t)(nl - p), &mark, &torn);
	}
	/* What it keeps open: "add" records, each under its own id. */
	json_object_foreach(live, id, v) {
		json_t *rec = json_loads(json_string_value(v), 0, NULL);
		const char *rid = json_string_value(json_object_get(rec, "id"));
		const char *op = json_string_value(json_object_get(rec, "op"));

		if (rid == NULL || strcmp(rid, id) != 0 || op == NULL || strcmp(op, "add") != 0)
			__builtin_trap();
		json_decref(rec);
	}
	n = json_object_size(live);
	handed = 0;
	last_run = live;
	(void)ledger_replay(check_entry, NULL);
	if (handed > n || last_run != NULL)
		__builtin_trap();
	free(buf);
	return 0;
}
