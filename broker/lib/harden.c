/*
 * harden.c - the process-wide settings both of writd's processes start with.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "harden.h"

int
harden_process(char err[WRIT_ERRLEN])
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot make the process non-dumpable: %s",
		    strerror(errno));
		return WRIT_EINTERNAL;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot set no_new_privs: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot disable core dumps: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	umask(077);
	return 0;
}
