/*
 * peer.h - who is on the other end of a Unix socket.
 *
 * Taken when the connection is accepted: SO_PEERCRED for uid and gid, a
 * pidfd of the connecting process (SO_PEERPIDFD, so the kernel names the
 * very process that called connect(); pidfd_open on older kernels), then
 * its cmdline from /proc, and its exe, cwd and user namespace from the
 * minter (minter_peer: the confined front end may not read them), read
 * while the pidfd proves the process is still the same one.  The pidfd is kept: peer_alive() tells, before
 * anything is issued, that the process that asked is still there, so a
 * reused pid can never inherit a request.
 */
#ifndef WRIT_PEER_H
#define WRIT_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest cmdline kept, in bytes; longer ones are cut with "...". */
#define WRIT_MAX_CMDLINE 1024
/* The exe policy rules see for a relayed caller: no path glob matches it. */
#define WRIT_EXE_UNVERIFIED "(not verified)"

struct peer {
	pid_t pid;		/* in writd's pid namespace */
	uid_t uid;
	gid_t gid;
	int pidfd;
	char exe[256];		/* printable; "?" when unreadable */
	char cwd[256];		/* printable; "?" when unreadable */
	char cmdline[WRIT_MAX_CMDLINE]; /* args joined by spaces, printable */
	bool relayed;		/* through a spool relay: all of the above is the
				   relay's, and the caller is not verified */
	bool other_userns;	/* in a user namespace not writd's (or not ours to
				   read, unless root): a sandbox's */
	uint64_t start;		/* peer_start_time, 0 when unknown */
};

/*
 * The peer of the connected Unix socket fd.  Returns 0 and a new peer, or
 * WRIT_EGONE when the process is already gone, or WRIT_EINTERNAL.
 */
int peer_from_socket(int fd, struct peer **ret_peer);

/* True while the process that connected has not exited. */
bool peer_alive(const struct peer *p);

/*
 * When process pid started, in clock ticks after boot (/proc/PID/stat field
 * 22): with the boot id, what tells a process from a later one with its pid.
 * Returns 0 and *ret_start, or WRIT_EGONE.
 */
int peer_start_time(pid_t pid, uint64_t *ret_start);

/* Close the pidfd and free; NULL is fine. */
void peer_free(struct peer *p);

#endif
