/*
 * wire.c - the SSH wire encoding for certificates and KRLs.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "wire.h"

/* Largest buffer built: a certificate or a KRL of every revoked serial. */
#define WIRE_MAX (64u * 1024 * 1024)

void
wire_put(struct wire_buf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (n > WIRE_MAX - b->len) {
		b->err = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *q;

		while (cap < b->len + n)
			cap *= 2;
		/* NB. not realloc: a certificate is a token; old copies are zeroed. */
		if ((q = malloc(cap)) == NULL) {
			b->err = true;
			return;
		}
		if (b->p != NULL) {
			memcpy(q, b->p, b->len);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = q;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
wire_put_u8(struct wire_buf *b, uint8_t v)
{
	wire_put(b, &v, 1);
}

void
wire_put_u32(struct wire_buf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	wire_put(b, x, sizeof(x));
}

void
wire_put_u64(struct wire_buf *b, uint64_t v)
{
	wire_put_u32(b, (uint32_t)(v >> 32));
	wire_put_u32(b, (uint32_t)v);
}

void
wire_put_string(struct wire_buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->err = true;
		return;
	}
	wire_put_u32(b, (uint32_t)n);
	wire_put(b, p, n);
}

void
wire_put_cstring(struct wire_buf *b, const char *s)
{
	wire_put_string(b, s, strlen(s));
}

void
wire_free(struct wire_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

int
wire_get_u8(struct wire_reader *r, uint8_t *ret)
{
	if (r->len < 1)
		return -1;
	*ret = r->p[0];
	r->p++;
	r->len--;
	return 0;
}

int
wire_get_u32(struct wire_reader *r, uint32_t *ret)
{
	if (r->len < 4)
		return -1;
	*ret = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->len -= 4;
	return 0;
}

int
wire_get_u64(struct wire_reader *r, uint64_t *ret)
{
	uint32_t hi, lo;
	struct wire_reader save = *r;

	if (wire_get_u32(r, &hi) < 0 || wire_get_u32(r, &lo) < 0) {
		*r = save;
		return -1;
	}
	*ret = (uint64_t)hi << 32 | lo;
	return 0;
}

int
wire_get_string(struct wire_reader *r, const unsigned char **ret, size_t *ret_len)
{
	struct wire_reader save = *r;
	uint32_t n;

	if (wire_get_u32(r, &n) < 0 || n > r->len) {
		*r = save;
		return -1;
	}
	*ret = r->p;
	*ret_len = n;
	r->p += n;
	r->len -= n;
	return 0;
}
