/*
 * frontprobe.h - a test-only probe of writd's confined front end: from
 * inside the running front end (a test build of writd, $(B)/writd-
 * frontprobe, made with -DWRIT_TEST_FRONTPROBE; never built into the
 * installed writd), and from an unconfined process of the same user
 * ($(B)/frontprobe), it tries what the front end must not do: read
 * writd's keyring, open the sealed store, list the state directory, read
 * the minter's memory or ptrace it; and what it must still do, or leave
 * to the minter (a caller's exe, cwd and namespace: PEER).  tests/integration/t_frontconfine.sh
 * reads its lines.
 *
 * Lines: "NAME ok [WHAT]" or "NAME refused ERRNO", one per attempt; a
 * key's or a file's bytes are never shown, only how many were read.
 */
#ifndef WRIT_FRONTPROBE_H
#define WRIT_FRONTPROBE_H

#include <stdio.h>
#include <sys/types.h>

/*
 * What to aim at: the minter, writd's keyring, the state dir, the store's
 * file, the runtime dir, and a caller (a process of writd's user, as one
 * that connects to a socket).
 */
struct frontprobe_targets {
	pid_t minter, caller;
	long keyring;
	char state[4096], store[4096], runtime[4096];
};

/* Every attempt, one line each, into out. */
void frontprobe_run(const struct frontprobe_targets *t, FILE *out);

/*
 * In the test build of writd, once it is confined and serving: a
 * process of its own (forked: it holds all writd's confinement) waits up
 * to a minute for runtime_dir/frontprobe.in ("MINTER KEYRING STATE STORE CALLER",
 * written by the test), runs the attempts, and writes
 * runtime_dir/frontprobe.out.  writd itself goes on.
 */
void frontprobe_start(const char *runtime_dir);

/*
 * A kernel without Landlock, in this thread and what it starts: a
 * seccomp filter answers Landlock's three calls ENOSYS, as such a kernel
 * does (no_new_privs set first).  Returns 0, or -1 with errno.  For the
 * test build of writd ($WRIT_TEST_NO_LANDLOCK) and confine_probe
 * --no-landlock.
 */
int frontprobe_no_landlock(void);

#endif
