/*
 * secret.h - secret bytes in guarded memory.
 *
 * A secret never lives in a bare char *: it is a struct secret allocated
 * with sodium_malloc (guard pages, canary) and released by secret_free(),
 * which zeroes it.
 */
#ifndef WRIT_SECRET_H
#define WRIT_SECRET_H

#include <stddef.h>

struct secret {
	size_t len;		/* bytes used in data */
	unsigned char data[];	/* NB. len bytes plus one NUL, for printing */
};

/* A zeroed secret of len bytes (plus a terminating NUL), or NULL. */
struct secret *secret_new(size_t len);

/* A secret holding a copy of the len bytes at p, or NULL. */
struct secret *secret_dup(const void *p, size_t len);

/* Zero and free s; NULL is fine. */
void secret_free(struct secret *s);

/*
 * free() that zeroes the block first.  writd installs it for jansson, so
 * JSON that carried a token does not linger in freed memory.
 */
void secret_zfree(void *p);

#endif
