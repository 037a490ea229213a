/*
 * core.c - the global lock, the configuration in force, clocks and ids.
 */
#include <time.h>
#include <sodium.h>

#include "core.h"

pthread_mutex_t writd_lock = PTHREAD_MUTEX_INITIALIZER;
const struct config *writd_cfg;

int64_t
now_real(void)
{
	return (int64_t)time(NULL);
}

int64_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

void
random_id(char out[33])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, 33, b, sizeof(b));
}
