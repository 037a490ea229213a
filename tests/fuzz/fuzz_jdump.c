/*
 * fuzz_jdump.c - libFuzzer harness: jdump against json_dumps.
 *
 * Whatever jansson parses (any value, reals and non-ASCII included),
 * jdump must write byte for byte what json_dumps writes, with the flags
 * writd uses and a few it does not; and fail exactly when it fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "jdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t flag_sets[] = {
	JSON_COMPACT,
	JSON_COMPACT | JSON_SORT_KEYS,
	JSON_COMPACT | JSON_ENCODE_ANY,
	JSON_INDENT(2) | JSON_SORT_KEYS,
	0,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v;
	char *want, *got;
	size_t i, len = 0;

	v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (v == NULL)
		return 0;
	for (i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		want = json_dumps(v, flag_sets[i]);
		got = jdump(v, flag_sets[i], &len);
		if ((want == NULL) != (got == NULL) ||
		    (want != NULL && (strcmp(want, got) != 0 || len != strlen(want)))) {
			fprintf(stderr, "flags %zx:\n want %s\n got  %s\n", flag_sets[i],
			    want ? want : "(null)", got ? got : "(null)");
			abort();
		}
		free(want);
		free(got);
	}
	json_decref(v);
	return 0;
}
