/*
 * core.c - the global lock, the configuration in force, clocks, ids and
 * the reaper's alarm.
 */
#include <time.h>
#include <sodium.h>

#include "core.h"
#include "id.h"

pthread_mutex_t writd_lock = PTHREAD_MUTEX_INITIALIZER;
const struct config *writd_cfg;

static pthread_cond_t alarm_cond;
static int64_t alarm_next;		/* monotonic: when the reaper looks next */

void
core_init(const struct config *cfg)
{
	pthread_condattr_t ca;

	writd_cfg = cfg;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&alarm_cond, &ca);
	pthread_condattr_destroy(&ca);
}

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
random_id(char out[WRIT_ID_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, 33, b, sizeof(b));
}

void
core_kick(void)
{
	pthread_cond_signal(&alarm_cond);
}

void
core_kick_at(int64_t when)
{
	/* NB. only when sooner: waking per issuance would cost every writ a wakeup. */
	if (now_mono() + (when - now_real()) < alarm_next)
		pthread_cond_signal(&alarm_cond);
}

void
core_nap(int64_t next, int64_t now)
{
	struct timespec ts;

	alarm_next = next;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += next - now;
	pthread_cond_timedwait(&alarm_cond, &writd_lock, &ts);
}
