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
 * Small secrets (tokens) come from sodium_malloc'd chunks of fixed slots:
 * guarded, locked and kept out of core dumps like any sodium_malloc block,
 * without an mmap, mprotect and mlock per token (measured: those
 * page-table changes, not the cryptography, bounded issuance under load).
 * Chunks are added as tokens go live, so an idle writd locks one chunk,
 * not all of them; past the last one, secrets fall back to sodium_malloc.
 */
#define SLOT 1024
#define CHUNK_SLOTS 64
#define NCHUNKS 16

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *chunks[NCHUNKS];
static unsigned int nchunks;
static void *slab_free_list;

/* One more chunk onto the free list; false when none can be had.  slab_lock held. */
static bool
slab_grow(void)
{
	unsigned char *c;

	if (nchunks == NCHUNKS || (c = sodium_malloc((size_t)SLOT * CHUNK_SLOTS)) == NULL)
		return false;
	for (size_t i = 0; i < CHUNK_SLOTS; i++) {
		void **slot = (void **)(c + i * SLOT);

		*slot = slab_free_list;
		slab_free_list = slot;
	}
	chunks[nchunks++] = c;
	return true;
}

static struct secret *
slab_get(void)
{
	void *p = NULL;

	pthread_mutex_lock(&slab_lock);
	if (slab_free_list != NULL || slab_grow()) {
		p = slab_free_list;
		slab_free_list = *(void **)p;
	}
	pthread_mutex_unlock(&slab_lock);
	return p;
}

/* Is p a slot of a chunk?  slab_lock held. */
static bool
in_slab(const void *p)
{
	for (unsigned int i = 0; i < nchunks; i++)
		if ((const unsigned char *)p >= chunks[i] &&
		    (const unsigned char *)p < chunks[i] + (size_t)SLOT * CHUNK_SLOTS)
			return true;
	return false;
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
	pthread_mutex_lock(&slab_lock);
	if (in_slab(s)) {
		sodium_memzero(s, SLOT);
		*(void **)s = slab_free_list;
		slab_free_list = s;
		pthread_mutex_unlock(&slab_lock);
		return;
	}
	pthread_mutex_unlock(&slab_lock);
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
