/*
 * fuzz_response.c - libFuzzer harness for what the agent side reads from
 * writd's socket (writ_parse_response): a hostile or broken writd, or a
 * process that took the socket's path, may send anything.
 *
 * The input is the whole answer, in a buffer of exactly its size plus the
 * NUL that writ_http puts after it, so ASan sees any read past it.
 *
 * Properties beyond "does not crash":
 *   - refused: WRIT_HTTP_EPROTO or WRIT_HTTP_EIO, and no body;
 *   - accepted: a status from 100 to 599, a Retry-After of 0 or more, a
 *     body that is NULL or a JSON object or array;
 *   - round trip: an accepted answer written out again the way writd
 *     writes it (status line, Content-Length, the body as JSON) parses to
 *     the same status and an equal body.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct writ_resp resp, again;
	char *buf = malloc(size + 1), *text, *out;
	size_t n;
	int r;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(&resp, 0x5a, sizeof(resp));
	resp.body = NULL;
	r = writ_parse_response(buf, size, &resp);
	free(buf);
	if (r != 0) {
		if ((r != WRIT_HTTP_EPROTO && r != WRIT_HTTP_EIO) || resp.body != NULL)
			__builtin_trap();
		return 0;
	}
	if (resp.status < 100 || resp.status > 599 || resp.retry_after < 0 ||
	    (resp.body != NULL && !json_is_object(resp.body) && !json_is_array(resp.body)))
		__builtin_trap();
	/* Written out again as writd would, it reads back the same. */
	text = resp.body != NULL ? json_dumps(resp.body, JSON_COMPACT) : strdup("");
	if (text == NULL)
		__builtin_trap();
	n = strlen(text);
	out = malloc(n + 128);
	if (out == NULL)
		__builtin_trap();
	n = (size_t)snprintf(out, n + 128, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", resp.status, n, text);
	memset(&again, 0, sizeof(again));
	if (writ_parse_response(out, n, &again) != 0 || again.status != resp.status ||
	    (resp.body == NULL) != (again.body == NULL) ||
	    (resp.body != NULL && !json_equal(resp.body, again.body)))
		__builtin_trap();
	writ_resp_free(&again);
	writ_resp_free(&resp);
	free(text);
	free(out);
	return 0;
}
