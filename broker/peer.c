/*
 * peer.c - caller identity on Unix sockets.
 *
 * The caller's exe, cwd and user namespace come from the minter (PEER):
 * the front end, confined (confine.h), may not read them itself.  Its
 * cmdline and start time need no ptrace-mode access, and are read here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.h"
#include "peer.h"
#include "procpeer.h"
#include "minter/minter.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77		/* Linux 6.5; Debian 12's headers predate it */
#endif

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
	procpeer_printable(buf);
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

int
peer_from_socket(int fd, struct peer **ret_peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct minter_peer mp;
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
	/* NB. the minter reads by pid: the pidfd holds it, and peer_alive says it held. */
	if ((r = minter_peer(p->pid, p->uid, &mp)) < 0)
		goto fail;
	memcpy(p->exe, mp.exe, sizeof(p->exe));
	memcpy(p->cwd, mp.cwd, sizeof(p->cwd));
	p->other_userns = mp.other_userns;
	read_cmdline(p->pid, p->cmdline, sizeof(p->cmdline));
	if (peer_start_time(p->pid, &p->start) < 0)
		p->start = 0;
	/* Still alive after the reads (the minter's too): what was read was that process's. */
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
