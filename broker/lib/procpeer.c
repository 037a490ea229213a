/*
 * procpeer.c - a caller's exe, cwd and user namespace from /proc.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procpeer.h"

void
procpeer_printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			*s = '?';
}

void
procpeer_link(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	n = readlink(path, buf, size - 1);
	if (n <= 0) {
		snprintf(buf, size, "?");
		return;
	}
	buf[n] = '\0';
	procpeer_printable(buf);
}

bool
procpeer_other_userns(pid_t pid, uid_t uid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &a) != 0 || stat("/proc/self/ns/user", &b) != 0)
		return uid != 0;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}
