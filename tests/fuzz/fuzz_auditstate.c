/*
 * fuzz_auditstate.c - libFuzzer harness for the audit log's other readers
 * of on-disk and mirrored data: the state record (audit.state, read at
 * every start) and checkpoint lines (from the log, or pasted from syslog
 * into `writctl audit verify --checkpoint`).
 *
 * The first byte picks a mode; the rest is the text.  Mutations rarely
 * carry a good mac or signature, so two modes repair them first, as
 * fuzz_audit re-MACs records:
 *
 *  0  state, as is: accepted only if writing back what was read gives
 *     the same bytes (one text per state).
 *  1  state, its smac recomputed here (BLAKE2b keyed with the test key
 *     over "writ-audit-state" and the text before " smac="): accepted
 *     exactly when the reference reads the layout the same way, and
 *     then with the same numbers and mac.
 *  2  checkpoint, as is: accepted only if the reference verifies the
 *     signature over what parse returned.
 *  3  checkpoint, re-signed here when the JSON has an integer at_seq and
 *     a hex at_mac: accepted exactly when the reference's rules hold.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "../../broker/minter/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = { 7 };
static unsigned char pk[32], sk[64];

static bool
hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
hex_any(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* 20 digits at p that fit in 64 bits, into *v. */
static bool
digits(const char *p, uint64_t *v)
{
	unsigned __int128 x = 0;

	for (int i = 0; i < 20; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (unsigned)(p[i] - '0');
	}
	*v = (uint64_t)x;
	return x <= UINT64_MAX;
}

static void
state_mode(const char *text, size_t len, bool remac)
{
	char buf[WRIT_AUDIT_STATE_LEN + 1], again[WRIT_AUDIT_STATE_LEN + 1];
	struct audit_state st;
	uint64_t first, off, seq;
	bool ref;
	int r;

	if (remac && len == WRIT_AUDIT_STATE_LEN) {
		crypto_generichash_state h;
		unsigned char m[32];

		memcpy(buf, text, len);
		crypto_generichash_init(&h, key, 32, 32);
		crypto_generichash_update(&h, (const unsigned char *)"writ-audit-state", 16);
		crypto_generichash_update(&h, (const unsigned char *)buf, 168);
		crypto_generichash_final(&h, m, 32);
		sodium_bin2hex(buf + 174, 65, m, 32);
		buf[238] = '\n';
		text = buf;
	}
	r = audit_state_parse(text, len, key, &st);
	if (r == 0) {
		/* One text per state: what was read writes back the same. */
		audit_state_format(key, &st, again);
		if (memcmp(again, text, WRIT_AUDIT_STATE_LEN) != 0)
			__builtin_trap();
	}
	if (!remac)
		return;
	/* The reference reads the layout byte by byte. */
	ref = len == WRIT_AUDIT_STATE_LEN &&
	    memcmp(text, "writ-audit-state v1 first=", 26) == 0 && digits(text + 26, &first) &&
	    memcmp(text + 46, " offset=", 8) == 0 && digits(text + 54, &off) &&
	    memcmp(text + 74, " seq=", 5) == 0 && digits(text + 79, &seq) &&
	    memcmp(text + 99, " mac=", 5) == 0 && hex_lower(text + 104, 64) &&
	    memcmp(text + 168, " smac=", 6) == 0;
	if (ref != (r == 0))
		__builtin_trap();
	if (r == 0) {
		char hex[65];

		sodium_bin2hex(hex, sizeof(hex), st.at.mac, 32);
		if (st.file_first != first || st.offset != off || st.at.seq != seq ||
		    memcmp(hex, text + 104, 64) != 0)
			__builtin_trap();
	}
}

static bool
verify(uint64_t at_seq, const unsigned char at[32], const unsigned char sig[64])
{
	char msg[128], hex[65];
	int n;

	sodium_bin2hex(hex, sizeof(hex), at, 32);
	n = snprintf(msg, sizeof(msg), "writ-audit-checkpoint:%" PRIu64 ":%s", at_seq, hex);
	return crypto_sign_verify_detached(sig, (const unsigned char *)msg,
	    (unsigned long long)n, pk) == 0;
}

static void
checkpoint_mode(const char *text, size_t len, bool resign)
{
	const char *open = memchr(text, '{', len), *close;
	struct audit_checkpoint cp;
	unsigned char at[32], sig[64];
	char why[128], *dumped = NULL;
	json_t *rec = NULL;
	bool ref = false;
	int r;

	for (close = text + len; close > text && close[-1] != '}'; close--)
		;
	if (open != NULL && close > open)
		rec = json_loadb(open, (size_t)(close - open), JSON_REJECT_DUPLICATES, NULL);
	if (resign && json_is_object(rec)) {
		json_t *as = json_object_get(rec, "at_seq");
		const char *am = json_string_value(json_object_get(rec, "at_mac"));
		char sighex[129], msg[128], hex[65];
		size_t n;
		int m;

		if (json_is_integer(as) && am != NULL && strlen(am) == 64 && hex_any(am, 64) &&
		    sodium_hex2bin(at, 32, am, 64, NULL, &n, NULL) == 0) {
			sodium_bin2hex(hex, sizeof(hex), at, 32);
			m = snprintf(msg, sizeof(msg), "writ-audit-checkpoint:%" PRIu64 ":%s",
			    (uint64_t)json_integer_value(as), hex);
			crypto_sign_detached(sig, NULL, (const unsigned char *)msg,
			    (unsigned long long)m, sk);
			sodium_bin2hex(sighex, sizeof(sighex), sig, 64);
			json_object_set_new(rec, "sig", json_string(sighex));
			dumped = json_dumps(rec, JSON_COMPACT);
			if (dumped != NULL) {
				text = dumped;
				len = strlen(dumped);
			}
		}
	}
	r = audit_checkpoint_parse(text, len, pk, &cp, why);
	if (r == 0) {
		/* What was accepted is what the key signed. */
		const char *sg;
		json_t *got;
		size_t n;

		for (close = text + len; close > text && close[-1] != '}'; close--)
			;
		open = memchr(text, '{', len);
		got = json_loadb(open, (size_t)(close - open), JSON_REJECT_DUPLICATES, NULL);
		sg = json_string_value(json_object_get(got, "sig"));
		if (sg == NULL || sodium_hex2bin(sig, 64, sg, strlen(sg), NULL, &n, NULL) != 0 ||
		    n != 64 || !verify(cp.at.seq, cp.at.mac, sig) || cp.seq != cp.at.seq + 1)
			__builtin_trap();
		json_decref(got);
	}
	if (dumped != NULL) {
		/* Re-signed: the reference's rules decide, not the signature. */
		const char *ev = json_string_value(json_object_get(rec, "event"));
		const char *mac = json_string_value(json_object_get(rec, "mac"));
		json_t *s = json_object_get(rec, "seq"), *as = json_object_get(rec, "at_seq");

		ref = ev != NULL && strcmp(ev, "checkpoint") == 0 && json_is_integer(s) &&
		    json_integer_value(s) >= 1 &&
		    json_integer_value(as) == json_integer_value(s) - 1 &&
		    (json_object_get(rec, "mac") == NULL ||
		    (mac != NULL && strlen(mac) == 64 && hex_any(mac, 64)));
		if (ref != (r == 0))
			__builtin_trap();
	}
	free(dumped);
	json_decref(rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char seed[32] = { 9 };
	char *text;

	if (size == 0)
		return 0;
	if (pk[0] == 0 && pk[1] == 0)
		crypto_sign_seed_keypair(pk, sk, seed);
	/* NUL-terminated, as writd's readers get it. */
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] & 3) {
	case 0:
	case 1:
		state_mode(text, size - 1, data[0] & 1);
		break;
	default:
		checkpoint_mode(text, size - 1, data[0] & 1);
		break;
	}
	free(text);
	return 0;
}
