/*
 * fuzz_request.c - libFuzzer harness for what a sandbox sends: strict JSON
 * parsing, then each kind's scope canonicalization, which must be
 * idempotent on whatever it accepts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "sjson.h"
#include "../../plugins/grammar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[WRIT_ERRLEN];
	json_t *req = NULL, *scope = json_null();

	if (sjson_parse((const char *)data, size, &req, err) != 0)
		return 0;
	if (json_object_get(req, "scope") != NULL)
		scope = json_object_get(req, "scope");
	for (size_t i = 0; kind_grammars[i] != NULL; i++) {
		json_t *c1 = NULL, *c2 = NULL;
		char *s1, *s2;

		if (kind_grammars[i]->canonicalize(scope, &c1, err) != 0)
			continue;
		if (kind_grammars[i]->canonicalize(c1, &c2, err) != 0)
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
	json_decref(req);
	return 0;
}
