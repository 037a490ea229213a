/*
 * syncfault.c - a test shim (LD_PRELOAD) that makes fsync and fdatasync
 * hang or fail on demand, for faults the machine cannot make: a stuck or
 * failing disk.  Never linked into writ's programs.
 *
 *   WRIT_TEST_SYNC_HANG=PATH  every sync waits while PATH exists
 *   WRIT_TEST_SYNC_FAIL=PATH  every sync fails with EIO while PATH exists
 *   WRIT_TEST_SYNC_LOG=PATH   a line "held" is appended to PATH when a sync
 *                             starts waiting, "released" when it stops: the
 *                             events a test waits for instead of sleeping
 *   WRIT_TEST_SYNC_ONLY=NAME  only syncs of a file whose path ends in /NAME
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
note(const char *what)
{
	const char *log = getenv("WRIT_TEST_SYNC_LOG");
	int fd, saved = errno;

	if (log == NULL)
		return;
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		/* One write of a whole line: O_APPEND keeps lines apart. */
		(void)!write(fd, what, strlen(what));
		close(fd);
	}
	errno = saved;
}

/* Is fd a file WRIT_TEST_SYNC_ONLY names (or is there no such filter)? */
static bool
chosen(int fd)
{
	const char *only = getenv("WRIT_TEST_SYNC_ONLY");
	char link[64], path[4096];
	size_t n, m;
	ssize_t len;

	if (only == NULL)
		return true;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((len = readlink(link, path, sizeof(path) - 1)) < 0)
		return false;
	path[len] = '\0';
	n = strlen(path);
	m = strlen(only);
	return n > m && path[n - m - 1] == '/' && strcmp(path + n - m, only) == 0;
}

static int
fault(int fd)
{
	const char *hang = getenv("WRIT_TEST_SYNC_HANG");
	const char *fail = getenv("WRIT_TEST_SYNC_FAIL");
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	if (!chosen(fd))
		return 0;
	if (hang != NULL && access(hang, F_OK) == 0) {
		note("held\n");
		while (access(hang, F_OK) == 0)
			nanosleep(&ts, NULL);
		note("released\n");
	}
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

	return fault(fd) < 0 ? -1 : real(fd);
}

int
fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	return fault(fd) < 0 ? -1 : real(fd);
}
