/*
 * fuzz_credential.c - libFuzzer harness for git-credential-writ's reader
 * of git's key=value lines (gitcred_parse).
 *
 * The input is what git (or whatever runs the helper) writes to its stdin,
 * given in a buffer of exactly its size plus the one byte the reader may
 * write at its end, so ASan sees any access past that bound.
 *
 * Properties beyond "does not crash":
 *   - refused: with a message;
 *   - accepted: the input held no CR or NUL; every value writ uses lies
 *     inside the buffer and holds no CR, LF or NUL; and against a plain
 *     re-reading of the input, each is the value of the one line of the
 *     block (up to the first blank line) with its key, and a key with no
 *     such line is NULL.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent-side/gitcred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The value of key in the block data[0..size), or NULL; *ret_n how many
 * lines of the block have that key.
 */
static const char *
reference(const char *data, size_t size, const char *key, size_t *vlen, int *ret_n)
{
	size_t klen = strlen(key), off = 0;
	const char *found = NULL;

	*ret_n = 0;
	while (off < size) {
		const char *p = data + off, *nl = memchr(p, '\n', size - off);
		size_t n = nl != NULL ? (size_t)(nl - p) : size - off;

		if (n == 0)
			break;
		if (n > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			found = p + klen + 1;
			*vlen = n - klen - 1;
			++*ret_n;
		}
		off += n + 1;
	}
	return found;
}

static void
check(const char *in, size_t size, const char *buf, const char *v, const char *key)
{
	const char *want;
	size_t wlen = 0;
	int n;

	want = reference(in, size, key, &wlen, &n);
	if (n > 1)
		__builtin_trap();	/* a key we use, given twice, accepted */
	if ((v == NULL) != (want == NULL))
		__builtin_trap();
	if (v == NULL)
		return;
	if (v < buf || v > buf + size || strlen(v) != wlen || memcmp(v, want, wlen) != 0 ||
	    strpbrk(v, "\r\n") != NULL)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gitcred c = { NULL, NULL, NULL, NULL };
	char *buf = malloc(size + 1);
	const char *why = NULL;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (gitcred_parse(&c, buf, size, &why) < 0) {
		if (why == NULL || why[0] == '\0')
			__builtin_trap();
		free(buf);
		return 0;
	}
	if (memchr(data, '\0', size) != NULL || memchr(data, '\r', size) != NULL)
		__builtin_trap();
	check((const char *)data, size, buf, c.protocol, "protocol");
	check((const char *)data, size, buf, c.host, "host");
	check((const char *)data, size, buf, c.path, "path");
	check((const char *)data, size, buf, c.password, "password");
	free(buf);
	return 0;
}
