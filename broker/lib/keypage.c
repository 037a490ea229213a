/*
 * keypage.c - an Ed25519 signing key on a guarded page, readable only
 * around signatures.
 */
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "keypage.h"

int
keypage_init(struct keypage *kp)
{
	memset(kp, 0, sizeof(*kp));
	if ((kp->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return WRIT_ENOMEM;
	sodium_mprotect_noaccess(kp->sk);
	pthread_mutex_init(&kp->lock, NULL);
	return 0;
}

void
keypage_set(struct keypage *kp, const unsigned char seed[crypto_sign_SEEDBYTES])
{
	pthread_mutex_lock(&kp->lock);
	sodium_mprotect_readwrite(kp->sk);
	crypto_sign_seed_keypair(kp->pk, kp->sk, seed);
	sodium_mprotect_noaccess(kp->sk);
	kp->open = false;
	pthread_mutex_unlock(&kp->lock);
}

const unsigned char *
keypage_open(struct keypage *kp)
{
	pthread_mutex_lock(&kp->lock);
	if (!kp->open) {
		sodium_mprotect_readonly(kp->sk);
		kp->open = true;
	}
	kp->users++;
	pthread_mutex_unlock(&kp->lock);
	return kp->sk;
}

void
keypage_close(struct keypage *kp)
{
	pthread_mutex_lock(&kp->lock);
	kp->users--;
	kp->last_use = mono_ms();
	pthread_mutex_unlock(&kp->lock);
}

bool
keypage_idle(struct keypage *kp)
{
	bool open;

	pthread_mutex_lock(&kp->lock);
	if (kp->open && kp->users == 0 && mono_ms() - kp->last_use >= WRIT_KEY_IDLE_MS) {
		sodium_mprotect_noaccess(kp->sk);
		kp->open = false;
	}
	open = kp->open;
	pthread_mutex_unlock(&kp->lock);
	return open;
}

void
keypage_free(struct keypage *kp)
{
	if (kp->sk == NULL)
		return;
	sodium_mprotect_readwrite(kp->sk);
	sodium_free(kp->sk);	/* zeroes it */
	kp->sk = NULL;
	pthread_mutex_destroy(&kp->lock);
}
