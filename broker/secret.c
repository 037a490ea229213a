/*
 * secret.c - secret bytes in guarded memory.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "secret.h"

struct secret *
secret_new(size_t len)
{
	struct secret *s;
	size_t size;

	if (len > (size_t)1 << 24)
		return NULL;
	/*
	 * NB. sodium_malloc puts the block against its guard page, so the
	 * address is only aligned when the size is a multiple of it.
	 */
	size = (sizeof(*s) + len + 1 + 15) & ~(size_t)15;
	s = sodium_malloc(size);
	if (s == NULL)
		return NULL;
	s->len = len;
	sodium_memzero(s->data, len + 1);
	return s;
}

struct secret *
secret_dup(const void *p, size_t len)
{
	struct secret *s = secret_new(len);

	if (s != NULL)
		memcpy(s->data, p, len);
	return s;
}

void
secret_free(struct secret *s)
{
	/* sodium_free zeroes before unmapping. */
	if (s != NULL)
		sodium_free(s);
}

void
secret_zfree(void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}
