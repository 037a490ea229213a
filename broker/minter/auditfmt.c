/*
 * auditfmt.c - the audit log's formats, apart from its I/O: the keyed
 * chain of records, a file's start after a rotation, the state record and
 * signed checkpoints.  Pure functions: no files, no locks, no globals; for
 * writd, writctl's verify (through writd), the unit tests and the fuzzers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "auditfmt.h"

/* What a checkpoint signs: the seq and mac of the record before it. */
#define CKPT_MSG "writ-audit-checkpoint:%" PRIu64 ":%s"
/* The state record's text, up to its own mac. */
#define STATE_FMT "writ-audit-state v1 first=%020" PRIu64 " offset=%020" PRIu64 \
	" seq=%020" PRIu64 " mac=%s"

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

void
audit_hex(const unsigned char b[32], char out[65])
{
	sodium_bin2hex(out, WRIT_AUDIT_MAC_HEX + 1, b, 32);
}

/* 64 hex digits (either case) into 32 bytes; -1 if s is not that. */
static int
unhex32(const char *s, size_t len, unsigned char out[32])
{
	size_t n;

	if (s == NULL || len != WRIT_AUDIT_MAC_HEX || strspn(s, "0123456789abcdefABCDEF") < WRIT_AUDIT_MAC_HEX)
		return -1;
	return sodium_hex2bin(out, 32, s, WRIT_AUDIT_MAC_HEX, NULL, &n, NULL) == 0 && n == 32 ? 0 : -1;
}

void
audit_rotated_name(uint64_t first, char out[WRIT_AUDIT_ROTATED_LEN + 1])
{
	snprintf(out, WRIT_AUDIT_ROTATED_LEN + 1, "audit-%020" PRIu64 ".jsonl", first);
}

uint64_t
audit_rotated_seq(const char *name)
{
	uint64_t v = 0;

	if (strlen(name) != WRIT_AUDIT_ROTATED_LEN || strncmp(name, "audit-", 6) != 0 ||
	    strcmp(name + 26, ".jsonl") != 0 || strspn(name + 6, "0123456789") != 20)
		return 0;
	for (int i = 6; i < 26; i++) {
		uint64_t d = (uint64_t)(name[i] - '0');

		/* Exactly: every seq that fits in 64 bits, none that does not. */
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

size_t
audit_format(const unsigned char k[32], const unsigned char prev[32], const char *body,
    char *line, size_t size, unsigned char mac[32])
{
	size_t len = strlen(body);
	char hex[WRIT_AUDIT_MAC_HEX + 1];

	if (len < 2 || len + WRIT_AUDIT_SUFFIX_LEN + 2 > size)
		return 0;
	mac_of(k, prev, body, len, mac);
	audit_hex(mac, hex);
	len--;		/* splice the mac in before the closing brace */
	memcpy(line, body, len);
	len += (size_t)snprintf(line + len, size - len, ",\"mac\":\"%s\"}\n", hex);
	return len;
}

int
audit_record_split(const char *line, size_t n, char body[WRIT_MAX_AUDIT_RECORD + 2], size_t *ret_len,
    unsigned char mac[32])
{
	size_t blen;

	if (n <= WRIT_AUDIT_SUFFIX_LEN || n > WRIT_MAX_AUDIT_RECORD ||
	    memcmp(line + n - WRIT_AUDIT_SUFFIX_LEN, ",\"mac\":\"", 8) != 0 ||
	    memcmp(line + n - 2, "\"}", 2) != 0 ||
	    unhex32(line + n - WRIT_AUDIT_SUFFIX_LEN + 8, WRIT_AUDIT_MAC_HEX, mac) != 0)
		return -1;
	blen = n - WRIT_AUDIT_SUFFIX_LEN;
	memcpy(body, line, blen);
	body[blen++] = '}';
	body[blen] = '\0';
	*ret_len = blen;
	return 0;
}

/*
 * A checkpoint record's members: at_seq is seq - 1, at_mac and sig hex,
 * and, with pk, the signature good over CKPT_MSG.
 */
static int
ckpt_check(const json_t *rec, const unsigned char k[32], struct audit_checkpoint *cp,
    char why[128])
{
	const char *am = json_string_value(json_object_get(rec, "at_mac"));
	const char *sg = json_string_value(json_object_get(rec, "sig"));
	json_t *s = json_object_get(rec, "seq"), *as = json_object_get(rec, "at_seq");
	unsigned char sig[crypto_sign_BYTES];
	char msg[128], hex[WRIT_AUDIT_MAC_HEX + 1];
	size_t n;
	int len;

	memset(cp, 0, sizeof(*cp));
	if (!json_is_integer(s) || !json_is_integer(as) || json_integer_value(s) < 1 ||
	    json_integer_value(as) != json_integer_value(s) - 1 ||
	    unhex32(am, am != NULL ? strlen(am) : 0, cp->at.mac) != 0 || sg == NULL ||
	    strlen(sg) != 2 * crypto_sign_BYTES ||
	    strspn(sg, "0123456789abcdefABCDEF") != 2 * crypto_sign_BYTES ||
	    sodium_hex2bin(sig, sizeof(sig), sg, strlen(sg), NULL, &n, NULL) != 0 ||
	    n != sizeof(sig)) {
		snprintf(why, 128, "a malformed checkpoint");
		return -1;
	}
	cp->seq = (uint64_t)json_integer_value(s);
	cp->at.seq = cp->seq - 1;
	cp->time = json_integer_value(json_object_get(rec, "time"));
	if (k == NULL)
		return 0;
	/* NB. the message from the decoded values: one text per checkpoint. */
	audit_hex(cp->at.mac, hex);
	len = snprintf(msg, sizeof(msg), CKPT_MSG, cp->at.seq, hex);
	if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, (unsigned long long)len,
	    k) != 0) {
		snprintf(why, 128, "the checkpoint's signature does not verify (forged, or "
		    "another key)");
		return -1;
	}
	return 0;
}

void
audit_checkpoint_fields(const unsigned char sk[64], uint64_t at_seq, const unsigned char at[32],
    char out[WRIT_AUDIT_CHECKPOINT_FIELDS])
{
	unsigned char sig[crypto_sign_BYTES];
	char msg[128], hex[WRIT_AUDIT_MAC_HEX + 1], sighex[2 * crypto_sign_BYTES + 1];
	int n;

	audit_hex(at, hex);
	n = snprintf(msg, sizeof(msg), CKPT_MSG, at_seq, hex);
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, (unsigned long long)n, sk);
	sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
	snprintf(out, WRIT_AUDIT_CHECKPOINT_FIELDS, "{\"at_seq\":%" PRIu64 ",\"at_mac\":\"%s\","
	    "\"sig\":\"%s\"}", at_seq, hex, sighex);
}

int
audit_checkpoint_parse(const char *text, size_t len, const unsigned char k[32],
    struct audit_checkpoint *ret, char why[128])
{
	const char *open = memchr(text, '{', len), *close;
	struct audit_checkpoint cp;
	json_t *rec;
	const char *mac;
	int r = -1;

	/* A syslog line: "<86>Nov 29 ... writd[42]: {...}"; the record is the object. */
	for (close = text + len; close > text && close[-1] != '}'; close--)
		;
	if (open == NULL || close <= open) {
		snprintf(why, 128, "no JSON record in the checkpoint text");
		return -1;
	}
	rec = json_loadb(open, (size_t)(close - open), JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(rec) || json_string_value(json_object_get(rec, "event")) == NULL ||
	    strcmp(json_string_value(json_object_get(rec, "event")), "checkpoint") != 0) {
		snprintf(why, 128, "not a writ checkpoint record");
		goto out;
	}
	if (ckpt_check(rec, k, &cp, why) < 0)
		goto out;
	if (json_object_get(rec, "mac") != NULL) {
		mac = json_string_value(json_object_get(rec, "mac"));
		if (unhex32(mac, mac != NULL ? strlen(mac) : 0, cp.mac) != 0) {
			snprintf(why, 128, "a malformed mac");
			goto out;
		}
		cp.has_mac = true;
	}
	*ret = cp;
	r = 0;
 out:
	json_decref(rec);
	return r;
}

/*
 * Where a file without a from point begins: after zeros at seq 1, or,
 * when its first record is "rotated", after the prev_mac it names.
 */
static void
scan_start(const char *buf, size_t len, struct audit_point *from, struct audit_scan *ret)
{
	const char *nl = memchr(buf, '\n', len), *pf, *pm, *ev;
	char body[WRIT_MAX_AUDIT_RECORD + 2];
	unsigned char mac[32];
	json_t *rec, *s;
	size_t blen;

	memset(from, 0, sizeof(*from));
	if (nl == NULL || audit_record_split(buf, (size_t)(nl - buf), body, &blen, mac) != 0)
		return;
	rec = json_loadb(body, blen, JSON_REJECT_DUPLICATES, NULL);
	ev = json_string_value(json_object_get(rec, "event"));
	pf = json_string_value(json_object_get(rec, "prev_file"));
	pm = json_string_value(json_object_get(rec, "prev_mac"));
	s = json_object_get(rec, "seq");
	if (ev != NULL && strcmp(ev, "rotated") == 0 && pf != NULL && audit_rotated_seq(pf) != 0 &&
	    json_is_integer(s) && json_integer_value(s) > 1 &&
	    unhex32(pm, pm != NULL ? strlen(pm) : 0, from->mac) == 0) {
		from->seq = (uint64_t)json_integer_value(s) - 1;
		ret->rotated = true;
		snprintf(ret->prev_file, sizeof(ret->prev_file), "%s", pf);
		memcpy(ret->prev_mac, from->mac, 32);
	} else
		memset(from->mac, 0, 32);
	json_decref(rec);
}

int
audit_scan(const char *buf, size_t len, const unsigned char k[32], const unsigned char sk_pk[32],
    const struct audit_point *from, struct audit_scan *ret)
{
	uint64_t probe = ret->probe_seq;
	struct audit_point start;
	unsigned char prev[32];
	size_t off = 0;

	memset(ret, 0, sizeof(*ret));
	ret->probe_seq = probe;
	if (from != NULL)
		start = *from;
	else
		scan_start(buf, len, &start, ret);
	memcpy(prev, start.mac, 32);
	memcpy(ret->last_mac, start.mac, 32);
	ret->last_seq = start.seq;
	ret->first_seq = start.seq + 1;
	while (off < len) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off), *ev;
		size_t n = nl != NULL ? (size_t)(nl - line) : len - off;
		char body[WRIT_MAX_AUDIT_RECORD + 2];
		unsigned char mac[32], want[32];
		struct audit_checkpoint cp;
		json_t *rec;
		size_t blen;

		ret->bad_seq = ret->last_seq + 1;
		if (nl == NULL) {
			ret->torn = true;
			snprintf(ret->why, sizeof(ret->why), "the last record is unterminated (torn)");
			return -1;
		}
		if (audit_record_split(line, n, body, &blen, want) != 0) {
			snprintf(ret->why, sizeof(ret->why), "not a writ audit record");
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
		/* A checkpoint signs the record before it, nothing else. */
		ev = json_string_value(json_object_get(rec, "event"));
		if (ev != NULL && strcmp(ev, "checkpoint") == 0) {
			if (ckpt_check(rec, sk_pk, &cp, ret->why) < 0) {
				json_decref(rec);
				return -1;
			}
			if (cp.at.seq != ret->last_seq || sodium_memcmp(cp.at.mac, prev, 32) != 0) {
				json_decref(rec);
				snprintf(ret->why, sizeof(ret->why), "a checkpoint of another point");
				return -1;
			}
			ret->checkpoints++;
			ret->ckpt_seq = cp.seq;
			ret->ckpt_time = cp.time;
		}
		json_decref(rec);
		memcpy(prev, mac, 32);
		memcpy(ret->last_mac, mac, 32);
		ret->last_seq++;
		ret->records++;
		if (ret->probe_seq != 0 && ret->last_seq == ret->probe_seq) {
			ret->probed = true;
			memcpy(ret->probe_mac, mac, 32);
		}
		off += n + 1;
		ret->good_len = off;
	}
	ret->bad_seq = 0;
	return 0;
}

/* The state record's own mac: keyed, and apart from the chain's. */
static void
state_mac(const unsigned char k[32], const char *text, size_t len, unsigned char out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, k, 32, 32);
	crypto_generichash_update(&st, (const unsigned char *)"writ-audit-state", 16);
	crypto_generichash_update(&st, (const unsigned char *)text, len);
	crypto_generichash_final(&st, out, 32);
}

void
audit_state_format(const unsigned char k[32], const struct audit_state *st,
    char out[WRIT_AUDIT_STATE_LEN + 1])
{
	char hex[WRIT_AUDIT_MAC_HEX + 1];
	unsigned char m[32];
	int n;

	audit_hex(st->at.mac, hex);
	n = snprintf(out, WRIT_AUDIT_STATE_LEN + 1, STATE_FMT, st->file_first, st->offset,
	    st->at.seq, hex);
	state_mac(k, out, (size_t)n, m);
	audit_hex(m, hex);
	snprintf(out + n, WRIT_AUDIT_STATE_LEN + 1 - (size_t)n, " smac=%s\n", hex);
}

/* 20 decimal digits at p, into *v; -1 if they are not or overflow. */
static int
digits20(const char *p, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 20; i++) {
		if (p[i] < '0' || p[i] > '9' || *v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(p[i] - '0');
	}
	return 0;
}

int
audit_state_parse(const char *buf, size_t len, const unsigned char k[32],
    struct audit_state *ret)
{
	char again[WRIT_AUDIT_STATE_LEN + 1];
	struct audit_state st;

	/* Fixed places: "writ-audit-state v1 first=" is 26 bytes, then ... */
	if (len != WRIT_AUDIT_STATE_LEN || digits20(buf + 26, &st.file_first) < 0 ||
	    digits20(buf + 54, &st.offset) < 0 || digits20(buf + 79, &st.at.seq) < 0 ||
	    unhex32(buf + 104, WRIT_AUDIT_MAC_HEX, st.at.mac) < 0)
		return -1;
	/* ... and the rest, its mac above all, must be what we would write. */
	audit_state_format(k, &st, again);
	if (sodium_memcmp(again, buf, WRIT_AUDIT_STATE_LEN) != 0)
		return -1;
	*ret = st;
	return 0;
}

