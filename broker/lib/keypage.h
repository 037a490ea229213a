/*
 * keypage.h - an Ed25519 signing key on a guarded page of its own,
 * readable only around signatures.
 *
 * The page (sodium_malloc: guard pages, mlock'd, never in a core dump) is
 * noaccess but while in use: keypage_open makes it readable for a
 * signature, keypage_close ends the use, and keypage_idle, which writd's
 * reaper calls through a kind's idle slot, closes it once unused for
 * WRIT_KEY_IDLE_MS.  NB. not an mprotect per signature: each costs a TLB
 * shootdown on every core.  Used by the kinds that sign (jwt, sshcert).
 */
#ifndef WRIT_KEYPAGE_H
#define WRIT_KEYPAGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sodium.h>

/* How long a key page stays readable after its last use, in ms. */
#define WRIT_KEY_IDLE_MS 500

struct keypage {
	unsigned char *sk;		/* the page: crypto_sign_SECRETKEYBYTES */
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	pthread_mutex_t lock;		/* guards users, open and last_use */
	unsigned int users;		/* signatures in progress */
	bool open;			/* sk readable (else noaccess) */
	int64_t last_use;		/* mono_ms of the last signature */
};

/* Allocate kp's page, noaccess.  Returns 0 or WRIT_ENOMEM. */
int keypage_init(struct keypage *kp);

/* The key pair of seed into kp (its page closed after). */
void keypage_set(struct keypage *kp, const unsigned char seed[crypto_sign_SEEDBYTES]);

/* The secret key, readable until the matching keypage_close. */
const unsigned char *keypage_open(struct keypage *kp);
void keypage_close(struct keypage *kp);

/* Close the page when unused for WRIT_KEY_IDLE_MS; true while still open. */
bool keypage_idle(struct keypage *kp);

/* Zero and free the page; kp may be half made (keypage_init failed). */
void keypage_free(struct keypage *kp);

#endif
