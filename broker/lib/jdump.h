/*
 * jdump.h - json_dumps, faster, for the text on the issuing path.
 *
 * Every writ formats five JSON texts (two audit records, a ledger entry,
 * the token's claims, the answer); with jansson's json_dumps that was a
 * fifth of writd's time (a callback per token, a strbuffer, a qsort per
 * sorted object).  jdump writes the same bytes straight into one buffer.
 *
 * The contract is json_dumps's, for the flags writd uses: the text is
 * byte-for-byte what json_dumps(v, flags) returns (fuzz_jdump compares
 * the two), or NULL where json_dumps returns NULL.  What this module does
 * not format itself -- reals, non-ASCII strings, keys with a NUL, deep
 * nesting, any other flag -- it hands to json_dumps whole.
 */
#ifndef WRIT_JDUMP_H
#define WRIT_JDUMP_H

#include <stddef.h>
#include <jansson.h>

/*
 * v as JSON text, a new string the caller frees, with its length (but
 * for the NUL) in *ret_len when ret_len is not NULL; flags JSON_COMPACT,
 * optionally with JSON_SORT_KEYS.  NULL when out of memory or when
 * json_dumps would fail.  The buffer has room for one byte past the NUL,
 * so a caller may end the text with a newline in place.  NB. jdump's own
 * buffers leave no stray copy of the text (a token in a body is zeroed
 * with it); what it hands to json_dumps (non-ASCII strings) may.
 */
char *jdump(const json_t *v, size_t flags, size_t *ret_len);

#endif
