/*
 * wire.h - the SSH wire encoding (RFC 4251 section 5) for certificates
 * and KRLs: big-endian uint32/uint64, and "string" as a uint32 length
 * followed by that many bytes.
 *
 * A wire_buf grows as it is written; a failed allocation is remembered
 * (err) and every later put is a no-op, so a writer checks once at the
 * end.  A wire_reader walks a borrowed buffer; each get returns -1 when
 * the bytes run out, leaving the reader where it was.  Neither logs nor
 * touches secrets (the caller wipes a buffer that held one).
 */
#ifndef WRIT_SSHCERT_WIRE_H
#define WRIT_SSHCERT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_buf {
	unsigned char *p;	/* malloc'd; NULL until the first put */
	size_t len, cap;
	bool err;		/* an allocation failed: the contents are void */
};

struct wire_reader {
	const unsigned char *p;	/* borrowed */
	size_t len;		/* bytes left */
};

void wire_put(struct wire_buf *b, const void *p, size_t n);
void wire_put_u8(struct wire_buf *b, uint8_t v);
void wire_put_u32(struct wire_buf *b, uint32_t v);
void wire_put_u64(struct wire_buf *b, uint64_t v);
/* string: uint32 n, then the n bytes at p. */
void wire_put_string(struct wire_buf *b, const void *p, size_t n);
/* string of the NUL-terminated s (without its NUL). */
void wire_put_cstring(struct wire_buf *b, const char *s);
/* Zero (the bytes may have been secret) and free b's buffer; b is empty again. */
void wire_free(struct wire_buf *b);

int wire_get_u8(struct wire_reader *r, uint8_t *ret);
int wire_get_u32(struct wire_reader *r, uint32_t *ret);
int wire_get_u64(struct wire_reader *r, uint64_t *ret);
/* A string: *ret points into r's buffer, *ret_len its length. */
int wire_get_string(struct wire_reader *r, const unsigned char **ret, size_t *ret_len);

#endif
