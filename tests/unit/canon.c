/* canon.c - run a kind's canonicalize on JSON text, for the kind suites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "check.h"

int
canon_with(const struct kind_grammar *k, const char *text, char *out, size_t outlen)
{
	char err[WRIT_ERRLEN] = "";
	json_t *in = json_loads(text, 0, NULL), *c = NULL;
	int r;

	ck_assert_msg(in != NULL, "bad test JSON %s", text);
	r = k->canonicalize(in, &c, err);
	if (r == 0) {
		char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);

		snprintf(out, outlen, "%s", s);
		free(s);
		json_decref(c);
	} else
		ck_assert(strlen(err) > 0);	/* every refusal says why */
	json_decref(in);
	return r;
}

void
insert_random(char *s, size_t size, const char *ins)
{
	char tmp[1024];
	size_t len = strlen(s), at = randombytes_uniform((uint32_t)len + 1);

	snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)at, s, ins, s + at);
	snprintf(s, size, "%s", tmp);
}
