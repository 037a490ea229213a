/*
 * reaper.c - the thread that ends what runs out of time.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../plugins/grammar.h"
#include "approval.h"
#include "approver.h"
#include "core.h"
#include "errors.h"
#include "reaper.h"
#include "session.h"
#include "writs.h"

static pthread_t reaper;
static bool reaper_running, reaper_stopping;

static void *
reaper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&writd_lock);
	while (!reaper_stopping) {
		int64_t now, next, e;

		/*
		 * NB. the minter ends writs at their expiry itself, on its own
		 * clock, and says so (ENDED: writs_ended).
		 */
		{
			/* A job session ends with its identity token (exp + grace). */
			struct writ *revoke = NULL;

			if (session_expire(now_real(), &revoke) > 0) {
				pthread_mutex_unlock(&writd_lock);
				writs_revoke_list(revoke, "its job's identity token expired");
				pthread_mutex_lock(&writd_lock);
				if (reaper_stopping)
					break;
			}
		}
		now = now_mono();
		next = now + 3600;

		if ((e = approval_expire(now)) < next)
			next = e;
		/* Refusal counts are written within a minute, flood or no flood. */
		if ((e = session_refusals_tick(now)) < next)
			next = e;
		/* A cancelled approver that will not exit is killed soon. */
		if (approver_tick(now) && next > now + 1)
			next = now + 1;
		/* ... and for the next job session to end (session_expire: a second early). */
		e = session_next_expiry();
		if (e != INT64_MAX && now + (e - now_real()) < next)
			next = now + (e - now_real());
		core_nap(next, now);
	}
	pthread_mutex_unlock(&writd_lock);
	return NULL;
}

int
reaper_start(void)
{
	if (pthread_create(&reaper, NULL, reaper_main, NULL) != 0)
		return WRIT_EINTERNAL;
	reaper_running = true;
	return 0;
}

void
reaper_stop(void)
{
	if (!reaper_running)
		return;
	pthread_mutex_lock(&writd_lock);
	reaper_stopping = true;
	core_kick();
	pthread_mutex_unlock(&writd_lock);
	pthread_join(reaper, NULL);
	reaper_running = false;
}
