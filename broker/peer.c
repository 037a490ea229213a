/*
 * peer.c - caller identity on Unix sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.h"
#include "peer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77		/* Linux 6.5; Debian 12's headers predate it */
#endif

/* Replace every byte that is not printable ASCII: this text reaches a terminal. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			*s = '?';
}

static void
read_link(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	n = readlink(path, buf, size - 1);
	if (n < 0) {
		snprintf(buf, size, "?");
		return;
	}
	buf[n] = '\0';
	printable(buf);
}

int
peer_start_time(pid_t pid, uint64_t *ret_start)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return WRIT_EGONE;
	buf[n] = '\0';
	/* NB. comm (field 2) may hold spaces and ')': fields count from the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return WRIT_EGONE;
	/* state is field 3; starttime field 22, so 19 fields on. */
	if (sscanf(p + 1, " %*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
	    "%*s %*s %*s %llu", &start) != 1)
		return WRIT_EGONE;
	*ret_start = start;
	return 0;
}

static void
read_cmdline(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, size - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, size, "?");
		return;
	}
	if ((size_t)n == size - 1 && size > 4)
		memcpy(buf + size - 4, "...", 3);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	printable(buf);
}

/* The pid a pidfd refers to in our namespace, -1 once it has exited. */
static pid_t
pidfd_pid(int pidfd)
{
	char path[64], line[128];
	pid_t pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Pid:", 4) == 0) {
			pid = (pid_t)strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return pid;
}

bool
peer_alive(const struct peer *p)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	/* A pidfd turns readable when its process exits. */
	return poll(&pfd, 1, 0) == 0;
}

/*
 * Is pid (of uid) in a user namespace other than ours?  bwrap, srt, Codex
 * and containers each make one.  Not ours to read is yes (a namespace's
 * owner decides who may look), but for root, whose namespace a writd of
 * another user cannot read.
 */
static bool
other_userns(pid_t pid, uid_t uid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &a) != 0 || stat("/proc/self/ns/user", &b) != 0)
		return uid != 0;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

int
peer_from_socket(int fd, struct peer **ret_peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct peer *p;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0)
		return WRIT_EINTERNAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return WRIT_ENOMEM;
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	len = sizeof(p->pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &p->pidfd, &len) != 0) {
		/*
		 * XXX older kernels: a pidfd opened now could name a new
		 * process that reused the pid; SO_PEERPIDFD closes that gap.
		 */
		p->pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
		if (p->pidfd < 0) {
			r = errno == ESRCH ? WRIT_EGONE : WRIT_EINTERNAL;
			free(p);
			return r;
		}
	}
	(void)fcntl(p->pidfd, F_SETFD, FD_CLOEXEC);
	/* The pidfd must name the pid we are about to read /proc of. */
	if (pidfd_pid(p->pidfd) != p->pid) {
		r = WRIT_EGONE;
		goto fail;
	}
	read_link(p->pid, "exe", p->exe, sizeof(p->exe));
	read_link(p->pid, "cwd", p->cwd, sizeof(p->cwd));
	read_cmdline(p->pid, p->cmdline, sizeof(p->cmdline));
	p->other_userns = other_userns(p->pid, p->uid);
	if (peer_start_time(p->pid, &p->start) < 0)
		p->start = 0;
	/* Still alive after the reads: what we read was that process's. */
	if (!peer_alive(p)) {
		r = WRIT_EGONE;
		goto fail;
	}
	*ret_peer = p;
	return 0;
 fail:
	peer_free(p);
	return r;
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
}
