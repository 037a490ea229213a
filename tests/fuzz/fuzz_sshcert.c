/*
 * fuzz_sshcert.c - libFuzzer harness for the sshcert kind's parsers of
 * untrusted input: the scope canonicalizer (which must be idempotent on
 * whatever it accepts), with the fuzzer's bytes as a whole scope or as
 * the one field of a good scope that parses most (the public key line,
 * source_address); and the certificate and CA key parsers.
 *
 * The first byte picks the target; the rest is the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "sjson.h"
#include "../../plugins/sshcert/sshcert.h"

#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG82IlQnzvC1ooC7u76RpBi11hubuio8Vl6kfuN47C9E"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* canonicalize(scope) twice: a fixed point, or a trap. */
static void
canon_twice(const json_t *scope)
{
	char err[WRIT_ERRLEN], *s1, *s2;
	json_t *c1 = NULL, *c2 = NULL;

	if (sshcert_canonicalize(scope, &c1, err) != 0)
		return;
	if (sshcert_canonicalize(c1, &c2, err) != 0)
		__builtin_trap();	/* canonical form refused: not idempotent */
	s1 = json_dumps(c1, JSON_COMPACT | JSON_SORT_KEYS);
	s2 = json_dumps(c2, JSON_COMPACT | JSON_SORT_KEYS);
	if (s1 == NULL || s2 == NULL || strcmp(s1, s2) != 0)
		__builtin_trap();	/* not a fixed point */
	free(s1);
	free(s2);
	json_decref(c1);
	json_decref(c2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[WRIT_ERRLEN], *text;
	struct sshcert_info info;
	unsigned char seed[32];
	json_t *scope = NULL;

	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (sjson_parse((const char *)data + 1, size - 1, &scope, err) == 0)
			canon_twice(scope);
		break;
	case 1:
	case 2:
		if ((text = strndup((const char *)data + 1, size - 1)) == NULL)
			return 0;
		scope = data[0] % 5 == 1 ?
		    json_pack("{sss[s]}", "public_key", text, "principals", "git") :
		    json_pack("{sss[s]ss}", "public_key", KEY, "principals", "git",
		    "source_address", text);
		if (scope != NULL)	/* NULL: not UTF-8 */
			canon_twice(scope);
		free(text);
		break;
	case 3:
		(void)sshcert_parse_line((const char *)data + 1, size - 1, &info);
		break;
	case 4:
		(void)sshcert_ca_seed(data + 1, size - 1, seed);
		break;
	}
	json_decref(scope);
	return 0;
}
