/*
 * fuzz_audit.c - libFuzzer harness for the audit recovery reader.
 *
 * audit_scan checks each record's mac before it parses the record, so raw
 * mutations die at the mac and never reach the parser or the sequence
 * check.  So the harness re-MACs: the input is a flags byte, then log
 * lines; line i (i < 8) is re-chained with the fixed test key (its
 * trailing ,"mac":"..." cut off and a correct one for the chain so far
 * spliced in by audit_format) when bit i of the flags is set, and line 8
 * on when bit 7 is.  Mutated records thus carry good macs, and the
 * parser behind the mac sees them.  Seeds (tests/fuzz/corpus/audit/) are
 * records made with the same key, so they also pass unchanged.
 *
 * A first line that is a "rotated" record (a file after a rotation)
 * starts the chain at the prev_mac it names, for the harness as for scan.
 * Checkpoint records are checked with a fixed Ed25519 key; seeds carry
 * ones it signed.
 *
 * Properties, against a reference that re-reads the log in the harness:
 * scan's good prefix ends a line inside the input; every record it counts
 * carries the mac the chain gives its body (recomputed here), and its
 * JSON object (no duplicate keys) has "seq" equal to its position after
 * the start; a counted checkpoint verifies (audit_checkpoint_parse) and
 * signs the record before it; the first record after the prefix, if its
 * mac is right, is refused only for what the reference sees in it; a
 * failure names the first bad record and why; 0 means the whole log.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "../../broker/minter/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `,"mac":"` + 64 hex + `"}`, as audit.c writes it. */
#define SUFFIX_LEN (8 + 64 + 2)

static bool
is_hex64(const char *s)
{
	/* NB. either case: the mac is over the body, its hex is only an encoding. */
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static int
unhex(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Does the record end in a well-formed mac? */
static bool
has_mac(const char *line, size_t n)
{
	return n > SUFFIX_LEN && memcmp(line + n - SUFFIX_LEN, ",\"mac\":\"", 8) == 0 &&
	    memcmp(line + n - 2, "\"}", 2) == 0 && is_hex64(line + n - SUFFIX_LEN + 8);
}

/*
 * Is body (a record without its mac) a "rotated" record that starts a
 * file?  Then its prev_mac into prev and the seq before it into *start.
 */
static bool
rotated_start(const char *body, size_t blen, unsigned char prev[32], uint64_t *start)
{
	json_t *rec = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL), *s;
	const char *ev, *pf, *pm;
	unsigned __int128 v = 0;
	bool ok;

	ev = json_string_value(json_object_get(rec, "event"));
	pf = json_string_value(json_object_get(rec, "prev_file"));
	pm = json_string_value(json_object_get(rec, "prev_mac"));
	s = json_object_get(rec, "seq");
	ok = ev != NULL && strcmp(ev, "rotated") == 0 && pf != NULL && strlen(pf) == 32 &&
	    strncmp(pf, "audit-", 6) == 0 && strspn(pf + 6, "0123456789") == 20 &&
	    strcmp(pf + 26, ".jsonl") == 0 && strspn(pf + 6, "0") < 20 && json_is_integer(s) &&
	    json_integer_value(s) > 1 && pm != NULL && strlen(pm) == 64 && is_hex64(pm);
	/* The name's seq must fit in 64 bits. */
	for (int i = 6; ok && i < 26; i++)
		v = v * 10 + (unsigned)(pf[i] - '0');
	ok = ok && v <= UINT64_MAX;
	if (ok) {
		for (int i = 0; i < 32; i++)
			prev[i] = (unsigned char)(unhex(pm[2 * i]) << 4 | unhex(pm[2 * i + 1]));
		*start = (uint64_t)json_integer_value(s) - 1;
	}
	json_decref(rec);
	return ok;
}

/* Does the counted checkpoint body verify, and sign (at_seq, at)? */
static bool
checkpoint_ok(const char *body, size_t blen, const unsigned char pk[32], uint64_t at_seq,
    const unsigned char at[32])
{
	struct audit_checkpoint cp;
	char why[128];

	return audit_checkpoint_parse(body, blen, pk, &cp, why) == 0 && cp.at.seq == at_seq &&
	    memcmp(cp.at.mac, at, 32) == 0;
}

static bool
is_checkpoint(const char *body, size_t blen)
{
	json_t *rec = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
	const char *ev = json_string_value(json_object_get(rec, "event"));
	bool yes = ev != NULL && strcmp(ev, "checkpoint") == 0;

	json_decref(rec);
	return yes;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char seed[32] = { 9 };
	static unsigned char pk[32], sk[64];
	uint64_t start = 0;
	static const unsigned char key[32] = { 7 };
	unsigned char prev[32] = { 0 }, mac[32];
	struct audit_scan sc = { 0 };
	char *log, *body, *line;
	size_t cap, len = 0, off, records = 0, nlines = 0;
	bool whole;
	uint8_t flags;
	int r;

	if (size == 0)
		return 0;
	if (pk[0] == 0 && pk[1] == 0)
		crypto_sign_seed_keypair(pk, sk, seed);
	flags = data[0];
	data++;
	size--;
	/* Each re-MAC'd line (at least 3 bytes) grows by at most a mac. */
	cap = size + (size / 3 + 1) * (SUFFIX_LEN + 2) + 16;
	log = malloc(cap);
	body = malloc(size + 2);
	line = malloc(WRIT_MAX_AUDIT_RECORD + SUFFIX_LEN + 8);
	/* Rebuild the log: re-MAC the lines the flags name. */
	for (off = 0; off < size; nlines++) {
		const char *p = (const char *)data + off, *nl = memchr(p, '\n', size - off);
		size_t n = nl != NULL ? (size_t)(nl - p) : size - off, blen, l;
		bool remac = (flags >> (nlines < 8 ? nlines : 7)) & 1;

		off += n + (nl != NULL);
		if (remac && nl != NULL && n >= 2) {
			if (has_mac(p, n)) {
				blen = n - SUFFIX_LEN;
				memcpy(body, p, blen);
				body[blen++] = '}';
			} else {
				memcpy(body, p, n);
				blen = n;
			}
			body[blen] = '\0';
			if (nlines == 0)
				(void)rotated_start(body, blen, prev, &start);
			if (body[blen - 1] == '}' && strlen(body) == blen &&
			    (l = audit_format(key, prev, body, line,
			    WRIT_MAX_AUDIT_RECORD + SUFFIX_LEN + 8, mac)) > 0) {
				memcpy(log + len, line, l);
				len += l;
				memcpy(prev, mac, 32);
				continue;
			}
		}
		/* As it came: the chain goes on from its mac, right or not. */
		memcpy(log + len, p, n);
		len += n;
		if (nl != NULL)
			log[len++] = '\n';
		if (has_mac(p, n))
			for (int i = 0; i < 32; i++)
				prev[i] = (unsigned char)(unhex(p[n - SUFFIX_LEN + 8 + 2 * i]) << 4 |
				    unhex(p[n - SUFFIX_LEN + 9 + 2 * i]));
	}

	r = audit_scan(log, len, key, pk, NULL, &sc);

	/* What it calls good must lie inside the input, and end a line. */
	if (sc.good_len > len || (sc.good_len > 0 && log[sc.good_len - 1] != '\n'))
		__builtin_trap();
	if (r == 0 && (sc.good_len != len || sc.bad_seq != 0 || sc.torn))
		__builtin_trap();
	if (r != 0 && (sc.bad_seq != sc.last_seq + 1 || sc.why[0] == '\0'))
		__builtin_trap();	/* the first bad record, named, with a reason */

	/* The reference: where the chain starts ... */
	memset(prev, 0, sizeof(prev));
	start = 0;
	{
		const char *nl = memchr(log, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - log) : 0;
		bool rot = false;

		if (nl != NULL && has_mac(log, n) && n <= WRIT_MAX_AUDIT_RECORD) {
			memcpy(body, log, n - SUFFIX_LEN);
			body[n - SUFFIX_LEN] = '}';
			rot = rotated_start(body, n - SUFFIX_LEN + 1, prev, &start);
		}
		if (rot != sc.rotated || sc.first_seq != start + 1)
			__builtin_trap();
	}
	/* ... and each counted record is chained and sequenced. */
	for (off = 0; off < sc.good_len; records++) {
		const char *p = log + off, *nl = memchr(p, '\n', sc.good_len - off);
		size_t n = (size_t)(nl - p);
		json_t *rec;

		if (!has_mac(p, n) || n > WRIT_MAX_AUDIT_RECORD)
			__builtin_trap();
		memcpy(body, p, n - SUFFIX_LEN);
		body[n - SUFFIX_LEN] = '}';
		body[n - SUFFIX_LEN + 1] = '\0';
		/* Its mac is the one the chain so far gives its body. */
		if (strlen(body) != n - SUFFIX_LEN + 1 ||
		    audit_format(key, prev, body, line, WRIT_MAX_AUDIT_RECORD + SUFFIX_LEN + 8, mac) == 0)
			__builtin_trap();
		for (int i = 0; i < 32; i++)
			if (mac[i] != (unsigned char)(unhex(p[n - SUFFIX_LEN + 8 + 2 * i]) << 4 |
			    unhex(p[n - SUFFIX_LEN + 9 + 2 * i])))
				__builtin_trap();	/* counted a record whose mac is wrong */
		if (is_checkpoint(body, n - SUFFIX_LEN + 1) &&
		    !checkpoint_ok(body, n - SUFFIX_LEN + 1, pk, start + records, prev))
			__builtin_trap();	/* counted a checkpoint that does not verify */
		memcpy(prev, mac, 32);
		rec = json_loadb(body, n - SUFFIX_LEN + 1, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(rec) || !json_is_integer(json_object_get(rec, "seq")) ||
		    json_integer_value(json_object_get(rec, "seq")) != (json_int_t)(start + records + 1))
			__builtin_trap();	/* counted a record out of sequence */
		json_decref(rec);
		off += n + 1;
	}
	if (records != sc.records || sc.last_seq != start + sc.records)
		__builtin_trap();
	/*
	 * ...and the first record after the good prefix, when the harness
	 * made its mac, is refused only for what the reference sees in it.
	 */
	whole = sc.good_len == len;
	if (!whole) {
		const char *p = log + sc.good_len, *nl = memchr(p, '\n', len - sc.good_len);
		size_t n = nl != NULL ? (size_t)(nl - p) : len - sc.good_len;

		if (nl == NULL && !sc.torn)
			__builtin_trap();	/* an unterminated last line is torn */
		if (nl != NULL && has_mac(p, n) && n <= WRIT_MAX_AUDIT_RECORD) {
			unsigned char want[32];
			json_t *rec;
			bool seq_ok;

			memcpy(body, p, n - SUFFIX_LEN);
			body[n - SUFFIX_LEN] = '}';
			body[n - SUFFIX_LEN + 1] = '\0';
			/* Is its mac the right one for the chain?  Recompute it. */
			if (audit_format(key, sc.last_mac, body, line,
			    WRIT_MAX_AUDIT_RECORD + SUFFIX_LEN + 8, want) > 0 &&
			    memcmp(line, p, n) == 0) {
				rec = json_loadb(body, n - SUFFIX_LEN + 1, JSON_REJECT_DUPLICATES, NULL);
				seq_ok = json_is_object(rec) &&
				    json_is_integer(json_object_get(rec, "seq")) &&
				    json_integer_value(json_object_get(rec, "seq")) ==
				    (json_int_t)(sc.last_seq + 1);
				json_decref(rec);
				/* A checkpoint may still be refused for its signature. */
				if (seq_ok && is_checkpoint(body, n - SUFFIX_LEN + 1) &&
				    !checkpoint_ok(body, n - SUFFIX_LEN + 1, pk, sc.last_seq,
				    sc.last_mac))
					seq_ok = false;
				if (seq_ok)
					__builtin_trap();	/* a good record refused */
			}
		}
	}
	free(line);
	free(body);
	free(log);
	return 0;
}
