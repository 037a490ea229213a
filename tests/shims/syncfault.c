/*
 * syncfault.c - a test shim (LD_PRELOAD) that makes fsync and fdatasync
 * hang or fail on demand, for faults the machine cannot make: a stuck or
 * failing disk.  Never linked into writ's programs.
 *
 *   WRIT_TEST_SYNC_HANG=PATH  every sync waits while PATH exists
 *   WRIT_TEST_SYNC_FAIL=PATH  every sync fails with EIO while PATH exists
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int
fault(void)
{
	const char *hang = getenv("WRIT_TEST_SYNC_HANG");
	const char *fail = getenv("WRIT_TEST_SYNC_FAIL");
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	while (hang != NULL && access(hang, F_OK) == 0)
		nanosleep(&ts, NULL);
	if (fail != NULL && access(fail, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int
fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	return fault() < 0 ? -1 : real(fd);
}

int
fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	return fault() < 0 ? -1 : real(fd);
}
