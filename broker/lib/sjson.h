/*
 * sjson.h - strict JSON for untrusted input.
 *
 * Everything a client sends is parsed here: jansson with duplicate keys
 * rejected and NUL refused, then writ's own ceilings on depth and size.
 * Messages written to err name the offending field and never echo more than
 * a short, printable prefix of what the client sent.
 */
#ifndef WRIT_SJSON_H
#define WRIT_SJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "errors.h"

/* Deepest nesting of objects and arrays in one document. */
#define WRIT_MAX_JSON_DEPTH 6
/* Most object members plus array items in one document. */
#define WRIT_MAX_JSON_ITEMS 128

/*
 * Parse buf[0..len) as one JSON object.  Returns 0 and a new reference in
 * *ret, or WRIT_EBADJSON / WRIT_ETOOBIG with a message in err.
 */
int sjson_parse(const char *buf, size_t len, json_t **ret, char err[WRIT_ERRLEN]);

/*
 * Refuse any member of obj not named in allowed (NULL-terminated); where
 * names obj in the message ("request", "scope").  Returns 0 or WRIT_EBADREQ.
 */
int sjson_only_keys(const json_t *obj, const char *const allowed[],
    const char *where, char err[WRIT_ERRLEN]);

/*
 * The string member key of obj.  Missing: *ret = NULL, and WRIT_EBADREQ if
 * required.  Present but not a string: WRIT_EBADREQ.  The pointer is owned by
 * obj.
 */
int sjson_string(const json_t *obj, const char *key, bool required,
    const char **ret, char err[WRIT_ERRLEN]);

/*
 * Copy at most 48 printable ASCII characters of src to dst, each other byte
 * as '?', for quoting client input in a message.  dst must hold 52 bytes.
 */
void sjson_quote(char dst[52], const char *src);

/*
 * Strip C0/C1 control characters and bidi overrides from untrusted UTF-8
 * (already validated by jansson), in place: text an agent wrote is shown to
 * a human, who must see what is really there.
 */
void sjson_clean_text(char *s);

#endif
