/*
 * fuzz_config.c - libFuzzer harness for writd's config loader
 * (config_parse: the file config_load reads, from a buffer).
 *
 * Properties beyond "does not crash":
 *   - refused: a message that starts with the file's name;
 *   - accepted: every value is within what config.h and writd rely on:
 *     counts in their ranges, durations in 1..WRIT_MAX_DURATION, each
 *     kind's default_ttl at most its max_ttl and its own keys without
 *     those two, paths "" or absolute, the keyring name of its alphabet, a
 *     passphrase only for the file backend, each CI issuer with exactly
 *     one source of keys (an https:// URL or an absolute file), an
 *     algorithm, no control character in its text, and no issuer twice;
 *   - idempotent: the same file loaded again over the result changes
 *     nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../broker/config.h"
#include "duration.h"
#include "errors.h"
#include "../../plugins/kind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.json"

static bool
dur(int64_t v)
{
	return v >= 1 && v <= WRIT_MAX_DURATION;
}

/* A string of its buffer, "" or absolute. */
static bool
path_ok(const char *p, size_t size)
{
	return strnlen(p, size) < size && (p[0] == '\0' || p[0] == '/');
}

static bool
text_ok(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void
check(const struct config *c)
{
	size_t nk = 0;

	while (writ_kinds[nk] != NULL)
		nk++;
	if (c->max_pending < 1 || c->max_pending > 64 || c->max_sessions < 1 ||
	    c->max_sessions > WRIT_MAX_SESSIONS || c->max_conns < 1 ||
	    c->max_conns > WRIT_MAX_CONNS || c->max_session_conns < 1 ||
	    c->max_session_conns > WRIT_MAX_CONNS || c->cooldown_after < 1 ||
	    c->cooldown_after > WRIT_MAX_COOLDOWN_AFTER)
		__builtin_trap();
	if (!dur(c->approval_timeout) || !dur(c->cooldown_window) || !dur(c->cooldown) ||
	    !dur(c->request_timeout) || !dur(c->max_wait) || !dur(c->audit.checkpoint_interval))
		__builtin_trap();
	if (c->audit.rotate_size < WRIT_AUDIT_MIN_ROTATE_SIZE ||
	    c->audit.rotate_size > WRIT_AUDIT_MAX_ROTATE_SIZE ||
	    c->audit.checkpoint_records < 1 ||
	    c->audit.checkpoint_records > WRIT_AUDIT_MAX_CHECKPOINT_RECORDS)
		__builtin_trap();
	for (size_t i = 0; i < WRIT_MAX_KINDS; i++) {
		const struct kind_config *k = &c->kinds[i];

		if (!dur(k->default_ttl) || !dur(k->max_ttl) || k->default_ttl > k->max_ttl)
			__builtin_trap();
		if (k->config != NULL && (i >= nk || !json_is_object(k->config) ||
		    json_object_get(k->config, "default_ttl") != NULL ||
		    json_object_get(k->config, "max_ttl") != NULL))
			__builtin_trap();
	}
	if (!path_ok(c->runtime_dir, sizeof(c->runtime_dir)) ||
	    !path_ok(c->state_dir, sizeof(c->state_dir)) ||
	    !path_ok(c->approval_command, sizeof(c->approval_command)) ||
	    !path_ok(c->policy_enterprise, sizeof(c->policy_enterprise)) ||
	    c->policy_enterprise[0] == '\0' ||
	    !path_ok(c->policy_user, sizeof(c->policy_user)))
		__builtin_trap();
	if (strnlen(c->store_keyring, sizeof(c->store_keyring)) == 0 ||
	    strspn(c->store_keyring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != strlen(c->store_keyring) || (c->store_passphrase && strcmp(c->store_backend, "file") != 0))
		__builtin_trap();
	if (c->nissuers > OIDC_MAX_ISSUERS)
		__builtin_trap();
	for (unsigned int i = 0; i < c->nissuers; i++) {
		const struct oidc_issuer *is = &c->issuers[i];
		bool url = is->jwks_url[0] != '\0', file = is->jwks_file[0] != '\0';

		if (!text_ok(is->issuer, sizeof(is->issuer)) ||
		    !text_ok(is->audience, sizeof(is->audience)) || url == file ||
		    (url && (!text_ok(is->jwks_url, sizeof(is->jwks_url)) ||
		    strncmp(is->jwks_url, "https://", 8) != 0 || is->jwks_url[8] == '\0')) ||
		    (file && !path_ok(is->jwks_file, sizeof(is->jwks_file))) ||
		    !path_ok(is->ca_file, sizeof(is->ca_file)) || (file && is->ca_file[0] != '\0') ||
		    !(is->rs256 || is->es256) || !dur(is->jwks_ttl) || !dur(is->grace))
			__builtin_trap();
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(c->issuers[j].issuer, is->issuer) == 0)
				__builtin_trap();
	}
}

/* Is b what a is, the kinds' own keys compared as JSON? */
static bool
same(const struct config *a, const struct config *b)
{
	struct config x = *a, y = *b;

	for (size_t i = 0; i < WRIT_MAX_KINDS; i++) {
		if (!(a->kinds[i].config == NULL ? b->kinds[i].config == NULL :
		    json_equal(a->kinds[i].config, b->kinds[i].config)))
			return false;
		x.kinds[i].config = y.kinds[i].config = NULL;
	}
	return memcmp(&x, &y, sizeof(x)) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c1, c2;
	char err[WRIT_ERRLEN] = "";
	int r;

	config_defaults(&c1);
	r = config_parse(&c1, (const char *)data, size, NAME, err);
	if (r < 0) {
		if (strncmp(err, NAME, strlen(NAME)) != 0)
			__builtin_trap();
		config_free(&c1);
		return 0;
	}
	if (r != 0)
		__builtin_trap();
	check(&c1);
	/*
	 * Again over the result.  NB. a copy of the struct, its kinds'
	 * configs copied too (config_parse replaces and frees them).
	 */
	c2 = c1;
	for (size_t i = 0; i < WRIT_MAX_KINDS; i++)
		c2.kinds[i].config = c1.kinds[i].config != NULL ?
		    json_deep_copy(c1.kinds[i].config) : NULL;
	if (config_parse(&c2, (const char *)data, size, NAME, err) != 0 || !same(&c1, &c2))
		__builtin_trap();
	config_free(&c1);
	config_free(&c2);
	return 0;
}
