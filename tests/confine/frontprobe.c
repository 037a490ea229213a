/*
 * frontprobe.c - the attempts of frontprobe.h, and the test build's hook.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>

#include "frontprobe.h"

/* "NAME ok WHAT", or "NAME refused ERRNO" when rc < 0 (errno). */
static void
line(FILE *out, const char *name, long rc, const char *what)
{
	if (rc < 0)
		fprintf(out, "%s refused %s\n", name, strerrorname_np(errno) ?
		    strerrorname_np(errno) : "E?");
	else
		fprintf(out, "%s ok%s%s\n", name, what[0] != '\0' ? " " : "", what);
	fflush(out);
}

/* writd's keyring: its list of keys, then the first key's payload (its length only). */
static void
try_keyring(const struct frontprobe_targets *t, FILE *out)
{
	int32_t ids[64];
	unsigned char buf[4096];
	char what[64];
	long n, k;

	n = syscall(SYS_keyctl, KEYCTL_READ, t->keyring, ids, sizeof(ids));
	snprintf(what, sizeof(what), "%ld keys", n < 0 ? 0 : n / 4);
	line(out, "keyring_list", n, what);
	if (n < 4) {
		if (n >= 0)
			fprintf(out, "key_read skip the keyring holds no key\n");
		else
			line(out, "key_read", -1, "");
		return;
	}
	k = syscall(SYS_keyctl, KEYCTL_READ, (long)ids[0], buf, sizeof(buf));
	explicit_bzero(buf, sizeof(buf));
	snprintf(what, sizeof(what), "%ld bytes", k);
	line(out, "key_read", k, what);
}

/* The sealed store's file (its length only), and the state dir's entries. */
static void
try_state(const struct frontprobe_targets *t, FILE *out)
{
	unsigned char buf[4096];
	char what[64];
	ssize_t n = -1;
	struct dirent *e;
	DIR *d;
	int fd, count = 0;

	if ((fd = open(t->store, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf));
		explicit_bzero(buf, sizeof(buf));
		close(fd);
	}
	snprintf(what, sizeof(what), "%zd bytes", n);
	line(out, "open_store", n, what);
	if ((d = opendir(t->state)) != NULL) {
		while ((e = readdir(d)) != NULL)
			count++;
		closedir(d);
	}
	snprintf(what, sizeof(what), "%d entries", count);
	line(out, "list_state_dir", d == NULL ? -1 : 0, what);
}

/* The minter's memory: /proc/PID/mem at its first mapping, and ptrace. */
static void
try_minter(const struct frontprobe_targets *t, FILE *out)
{
	char path[64], maps[256];
	unsigned char b;
	uintptr_t addr = 0;
	ssize_t n = -1;
	int fd, st;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->minter);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, maps, sizeof(maps) - 1);
		close(fd);
		if (n > 0) {
			maps[n] = '\0';
			addr = (uintptr_t)strtoull(maps, NULL, 16);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->minter);
	n = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = pread(fd, &b, 1, (off_t)addr);
		close(fd);
	}
	line(out, "proc_mem", n, n > 0 ? "1 byte" : "");
	n = -1;
	if (ptrace(PTRACE_ATTACH, t->minter, NULL, NULL) == 0) {
		n = waitpid(t->minter, &st, __WALL) == t->minter ? 0 : -1;
		(void)ptrace(PTRACE_DETACH, t->minter, NULL, NULL);
	}
	line(out, "ptrace", n, "attached");
}

/*
 * A caller, as peer.c sees one: its cmdline and start time (read by the
 * front end), its exe, cwd and user namespace (asked of the minter: a
 * confined process may not read them).
 */
static void
try_caller(const struct frontprobe_targets *t, FILE *out)
{
	char path[64], buf[512];
	struct stat st;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)t->caller);
	line(out, "caller_exe", readlink(path, buf, sizeof(buf)), "");
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)t->caller);
	line(out, "caller_cwd", readlink(path, buf, sizeof(buf)), "");
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)t->caller);
	line(out, "caller_ns", stat(path, &st), "");
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)t->caller);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	line(out, "caller_cmdline", n, "");
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)t->caller);
	n = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	line(out, "caller_stat", n, "");
}

/* What the front end must still do: a file in its runtime dir. */
static void
try_runtime(const struct frontprobe_targets *t, FILE *out)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/frontprobe.try", t->runtime);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		fd = unlink(path);
	}
	line(out, "runtime_write", fd, "");
}

void
frontprobe_run(const struct frontprobe_targets *t, FILE *out)
{
	try_keyring(t, out);
	try_state(t, out);
	try_minter(t, out);
	try_caller(t, out);
	try_runtime(t, out);
}

/* The hook's process: wait for the targets, try, answer. */
static void __attribute__((noreturn))
probe_main(const char *runtime_dir)
{
	struct frontprobe_targets t = { 0 };
	char in[4200], out[4200], tmp[4300];
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	FILE *f = NULL;

	/* None of writd's descriptors: its lock and its channel must end with it. */
	(void)close_range(3, ~0U, 0);
	snprintf(in, sizeof(in), "%s/frontprobe.in", runtime_dir);
	snprintf(out, sizeof(out), "%s/frontprobe.out", runtime_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	snprintf(t.runtime, sizeof(t.runtime), "%s", runtime_dir);
	for (int i = 0; i < 1200 && (f = fopen(in, "re")) == NULL; i++)
		nanosleep(&nap, NULL);
	if (f == NULL)
		_exit(1);
	if (fscanf(f, "%d %ld %4095s %4095s %d", &t.minter, &t.keyring, t.state, t.store,
	    &t.caller) != 5)
		_exit(1);
	fclose(f);
	if ((f = fopen(tmp, "we")) == NULL)
		_exit(1);
	frontprobe_run(&t, f);
	if (fclose(f) != 0 || rename(tmp, out) != 0)
		_exit(1);
	_exit(0);
}

void
frontprobe_start(const char *runtime_dir)
{
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid == 0) {
		/* A grandchild, so that writd has no child of its own to reap. */
		if (fork() == 0)
			probe_main(runtime_dir);
		_exit(0);
	}
	(void)waitpid(pid, NULL, 0);
}

int
frontprobe_no_landlock(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_add_rule, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_restrict_self, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
