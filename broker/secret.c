/*
 * secret.c - secret bytes in guarded memory.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include <pthread.h>
#include <stdint.h>

#include "secret.h"

/*
 * Small secrets (tokens) come from one sodium_malloc'd slab of fixed
 * slots: guarded, locked and kept out of core dumps like any sodium_malloc
 * block, without an mmap, mprotect and mlock per token (measured: those
 * page-table changes, not the cryptography, bounded issuance under load).
 */
#define SLOT 1024
#define NSLOTS 1024

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *slab;
static void *slab_free_list;
static bool slab_tried;

static struct secret *
slab_get(void)
{
	void *p = NULL;

	pthread_mutex_lock(&slab_lock);
	if (!slab_tried) {
		slab_tried = true;
		slab = sodium_malloc((size_t)SLOT * NSLOTS);
		for (size_t i = 0; slab != NULL && i < NSLOTS; i++) {
			void **slot = (void **)(slab + i * SLOT);

			*slot = slab_free_list;
			slab_free_list = slot;
		}
	}
	if (slab_free_list != NULL) {
		p = slab_free_list;
		slab_free_list = *(void **)p;
	}
	pthread_mutex_unlock(&slab_lock);
	return p;
}

static bool
in_slab(const void *p)
{
	return slab != NULL && (const unsigned char *)p >= slab &&
	    (const unsigned char *)p < slab + (size_t)SLOT * NSLOTS;
}

struct secret *
secret_new(size_t len)
{
	struct secret *s;
	size_t size;

	if (len > (size_t)1 << 24)
		return NULL;
	if (sizeof(*s) + len + 1 <= SLOT && (s = slab_get()) != NULL) {
		s->len = len;
		sodium_memzero(s->data, len + 1);
		return s;
	}
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
	if (s == NULL)
		return;
	if (in_slab(s)) {
		sodium_memzero(s, SLOT);
		pthread_mutex_lock(&slab_lock);
		*(void **)s = slab_free_list;
		slab_free_list = s;
		pthread_mutex_unlock(&slab_lock);
		return;
	}
	/* sodium_free zeroes before unmapping. */
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
