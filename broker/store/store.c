/*
 * store.c - the secret store: checks names and sizes, holds the lock and
 * hands each call to the backend config chose (backend.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "errors.h"
#include "store.h"

/* Every backend, NULL-terminated; store.backend names one. */
static const struct store_backend *const store_backends[] = {
	&store_keyring,
	&store_sealed,
	NULL,
};

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
/* NB. the keyring until store_open: what a store never opened answers. */
static const struct store_backend *backend = &store_keyring;

int
store_open(const struct config *cfg, int passphrase_fd, char err[WRIT_ERRLEN])
{
	/* The sealed file's key, kept in the keyring: never the front end's to set. */
	(void)store_own("sealed-file-key");
	for (size_t i = 0; store_backends[i] != NULL; i++)
		if (strcmp(store_backends[i]->name, cfg->store_backend) == 0) {
			backend = store_backends[i];
			return backend->open(cfg, passphrase_fd, err);
		}
	/* NB. config.c admits only names listed above. */
	snprintf(err, WRIT_ERRLEN, "no secret store backend called %s", cfg->store_backend);
	return WRIT_EINTERNAL;
}

int
store_get(const char *name, struct secret **ret)
{
	int r;

	if (!secret_name_valid(name))
		return WRIT_ENOTFOUND;
	pthread_mutex_lock(&store_lock);
	r = backend->get(name, ret);
	pthread_mutex_unlock(&store_lock);
	return r;
}

int
store_put(const char *name, const void *value, size_t len, char err[WRIT_ERRLEN])
{
	int r;

	if (!secret_name_valid(name)) {
		snprintf(err, WRIT_ERRLEN, "a secret name is 1-%d characters of [A-Za-z0-9._-]",
		    WRIT_MAX_SECRET_NAME);
		return WRIT_EBADREQ;
	}
	if (len == 0 || len > WRIT_MAX_SECRET) {
		snprintf(err, WRIT_ERRLEN, "a secret is 1 to %d bytes", WRIT_MAX_SECRET);
		return WRIT_ETOOBIG;
	}
	pthread_mutex_lock(&store_lock);
	r = backend->put(name, value, len, err);
	pthread_mutex_unlock(&store_lock);
	return r;
}

int
store_get_or_make(const char *name, size_t len, void (*make)(unsigned char *buf, size_t len),
    struct secret **ret, char err[WRIT_ERRLEN])
{
	struct secret *k = NULL, *fresh;
	int r;

	if ((r = store_own(name)) < 0) {
		snprintf(err, WRIT_ERRLEN, "too many keys of writd's own (%d)", WRIT_STORE_MAX_OWN);
		return r;
	}
	if ((r = store_get(name, &k)) == WRIT_ENOTFOUND) {
		/* In guarded memory: the new key never sits on the stack. */
		if ((fresh = secret_new(len)) == NULL)
			return WRIT_ENOMEM;
		make(fresh->data, len);
		r = store_put(name, fresh->data, len, err);
		secret_free(fresh);
		if (r == 0)
			r = store_get(name, &k);
	}
	if (r == 0 && k->len != len) {
		secret_free(k);
		r = WRIT_EINTERNAL;
	}
	if (r < 0) {
		if (err[0] == '\0')
			snprintf(err, WRIT_ERRLEN, "cannot get the key %s from the store", name);
		return r;
	}
	*ret = k;
	return 0;
}

/* writd's own keys' names (store_own), under store_lock. */
static char owned[WRIT_STORE_MAX_OWN][WRIT_MAX_SECRET_NAME + 1];
static size_t nowned;

int
store_own(const char *name)
{
	int r = 0;

	if (store_owned(name))
		return 0;
	pthread_mutex_lock(&store_lock);
	if (nowned == WRIT_STORE_MAX_OWN || strlen(name) > WRIT_MAX_SECRET_NAME)
		r = WRIT_ETOOBIG;
	else
		snprintf(owned[nowned++], sizeof(owned[0]), "%s", name);
	pthread_mutex_unlock(&store_lock);
	return r;
}

bool
store_owned(const char *name)
{
	bool r = false;

	pthread_mutex_lock(&store_lock);
	for (size_t i = 0; i < nowned && !r; i++)
		r = strcmp(owned[i], name) == 0;
	pthread_mutex_unlock(&store_lock);
	return r;
}

int
store_del(const char *name)
{
	int r;

	if (!secret_name_valid(name))
		return WRIT_ENOTFOUND;
	pthread_mutex_lock(&store_lock);
	r = backend->del(name);
	pthread_mutex_unlock(&store_lock);
	return r;
}

json_t *
store_list(void)
{
	json_t *a;

	pthread_mutex_lock(&store_lock);
	a = backend->list();
	pthread_mutex_unlock(&store_lock);
	return a;
}

void
store_close(void)
{
	if (backend->close != NULL)
		backend->close();
}
