/*
 * check_confine.c - the front end's confinement: the rules' checks, the
 * seccomp filter call by call, and confine_front in a child of its own
 * (it cannot be undone).  tests/integration/t_confine.sh tries the whole
 * of it against a stand-in minter.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "../../broker/confine.h"
#include "check.h"

/* In a child: report the failed condition and end the child with its line. */
#define CHILD_CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "check_confine.c:%d: %s (errno %d)\n", __LINE__, #c, errno); \
		return 1; \
	} \
} while (0)

/*
 * fn in a child process, which ends with _exit (no atexit handler: none
 * may run confined): its exit status, or 128 + the signal that killed it.
 */
static int
in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn());
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
check_rules(const struct confine_path *paths, size_t n, const char *const *hidden, size_t nh,
    char err[WRIT_ERRLEN])
{
	struct confine_rules r = { .paths = paths, .npaths = n, .hidden = hidden, .nhidden = nh };

	err[0] = '\0';
	return confine_rules_check(&r, err);
}

/* Is one path rule with access a refused, with a message that names it? */
static void
refused(const char *path, unsigned int access, const char *msg)
{
	struct confine_path p = { path, access };
	char err[WRIT_ERRLEN];

	ck_assert_int_eq(check_rules(&p, 1, NULL, 0, err), WRIT_EBADREQ);
	ck_assert_msg(strstr(err, msg) != NULL, "%s", err);
}

START_TEST(test_rules_front_end)
{
	/* What writd's front end would pass: runtime dir, policy dirs, /proc, the state dir hidden. */
	static const struct confine_path paths[] = {
		{ "/run/user/1000/writ", CONFINE_WRITE },
		{ "/etc/writ", CONFINE_READ },
		{ "/home/me/.config/writ", CONFINE_READ },
		{ "/proc", CONFINE_READ },
		{ "/usr", CONFINE_READ | CONFINE_EXEC },
		{ "/", CONFINE_READ | CONFINE_WRITE | CONFINE_EXEC },
	};
	static const char *const hidden[] = { "/home/me/.local/state/writ", "/run/user/1000/writd" };
	static const uint16_t ports[] = { 443 };
	struct confine_rules r = { paths, 5, hidden, 2, ports, 1,
	    (1ULL << CAP_CHOWN) | (1ULL << CAP_FOWNER) };
	char err[WRIT_ERRLEN];

	ck_assert_int_eq(confine_rules_check(&r, err), 0);
	/* "/" reaches everything: with a hidden path, refused. */
	r.npaths = 6;
	ck_assert_int_eq(confine_rules_check(&r, err), WRIT_EBADREQ);
	ck_assert_msg(strstr(err, "the rule for / reaches /home/me/.local/state/writ") != NULL, "%s", err);
	/* Without: fine (a rule on "/" is plain). */
	r.nhidden = 0;
	ck_assert_int_eq(confine_rules_check(&r, err), 0);
	/* No rule at all is fine too: nothing stays reachable. */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(confine_rules_check(&r, err), 0);
}
END_TEST

START_TEST(test_rules_paths)
{
	char longp[PATH_MAX + 1];

	refused("run/writ", CONFINE_READ, "is not an absolute path without empty, \".\" or \"..\" "
	    "components, shorter than 4096: \"run/writ\"");
	refused("", CONFINE_READ, "is not an absolute path");
	refused("/run/../etc", CONFINE_READ, "is not an absolute path");
	refused("/run/..", CONFINE_READ, "is not an absolute path");
	refused("/run/./writ", CONFINE_READ, "is not an absolute path");
	refused("/run//writ", CONFINE_READ, "is not an absolute path");
	refused("/run/writ/", CONFINE_READ, "is not an absolute path");
	refused("//", CONFINE_READ, "is not an absolute path");
	refused(NULL, CONFINE_READ, "(null)");
	memset(longp, 'a', PATH_MAX);
	longp[0] = '/';
	longp[PATH_MAX] = '\0';
	refused(longp, CONFINE_READ, "is not an absolute path");
	/* Names that only look like "." or "..": plain. */
	{
		static const struct confine_path ok[] = {
			{ "/run/..x", CONFINE_READ }, { "/run/.x", CONFINE_READ },
			{ "/run/x..", CONFINE_READ }, { "/run/...", CONFINE_READ },
		};
		char err[WRIT_ERRLEN];

		ck_assert_int_eq(check_rules(ok, 4, NULL, 0, err), 0);
	}
	refused("/run/writ", 0, "access 0x0");
	refused("/run/writ", 0x10, "access 0x10");
	{
		/* ioctl: a terminal approver's /dev/tty (frontconfine.c). */
		struct confine_path tty = { "/dev/tty", CONFINE_READ | CONFINE_WRITE | CONFINE_IOCTL };
		char err[WRIT_ERRLEN];

		ck_assert_int_eq(check_rules(&tty, 1, NULL, 0, err), 0);
	}
	refused("/run/writ", CONFINE_READ | 0x100, "access 0x101");
}
END_TEST

START_TEST(test_rules_hidden)
{
	/* Compared by component: a sibling with a longer name is not below. */
	static const struct {
		const char *rule, *hidden;
		int rc;
	} t[] = {
		{ "/run/writ", "/run/writd", 0 },
		{ "/run/writd", "/run/writ", 0 },
		{ "/var/lib/writ/stat", "/var/lib/writ/state", 0 },
		{ "/run/writ", "/run/writ", WRIT_EBADREQ },
		{ "/run/writ", "/run/writ/state", WRIT_EBADREQ },
		{ "/var/lib", "/var/lib/writ/state/sealed", WRIT_EBADREQ },
		{ "/var/lib/writ/state/ledger", "/var/lib/writ/state", WRIT_EBADREQ },
		{ "/", "/var/lib/writ/state", WRIT_EBADREQ },
	};
	char err[WRIT_ERRLEN];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct confine_path p = { t[i].rule, CONFINE_READ };
		const char *h[] = { t[i].hidden };

		ck_assert_msg(check_rules(&p, 1, h, 1, err) == t[i].rc, "%s / %s: %s",
		    t[i].rule, t[i].hidden, err);
	}
	/* confine_path_reaches: the same, lexically ... */
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(confine_path_reaches(t[i].rule, t[i].hidden) == (t[i].rc != 0),
		    "%s / %s", t[i].rule, t[i].hidden);
	ck_assert(!confine_path_reaches("run", "/run"));
	{
		/* ... and resolved: a link that leads into the hidden dir reaches it. */
		char d[] = "/tmp/writ-reach.XXXXXX", state[64], link[64], other[64];

		ck_assert_ptr_nonnull(mkdtemp(d));
		snprintf(state, sizeof(state), "%s/state", d);
		snprintf(link, sizeof(link), "%s/link", d);
		snprintf(other, sizeof(other), "%s/other", d);
		ck_assert_int_eq(mkdir(state, 0700), 0);
		ck_assert_int_eq(mkdir(other, 0700), 0);
		ck_assert_int_eq(symlink(state, link), 0);
		ck_assert(confine_path_reaches(link, state));
		ck_assert(!confine_path_reaches(other, state));
		/* A hidden path not made yet: as written. */
		ck_assert(!confine_path_reaches(other, "/tmp/writ-reach-none/state"));
		unlink(link);
		rmdir(state);
		rmdir(other);
		rmdir(d);
	}
	{
		struct confine_path p = { "/run/writ", CONFINE_READ };
		const char *h[] = { "state" };

		ck_assert_int_eq(check_rules(&p, 1, h, 1, err), WRIT_EBADREQ);
		ck_assert_msg(strstr(err, "hidden path 0 is not an absolute path") != NULL, "%s", err);
	}
}
END_TEST

START_TEST(test_rules_limits)
{
	struct confine_path paths[CONFINE_MAX_PATHS + 1];
	const char *hidden[CONFINE_MAX_PATHS + 1];
	uint16_t ports[CONFINE_MAX_PORTS + 1];
	struct confine_rules r = { .paths = paths, .hidden = hidden, .tcp_connect = ports };
	char err[WRIT_ERRLEN];

	for (size_t i = 0; i <= CONFINE_MAX_PATHS; i++) {
		paths[i] = (struct confine_path){ "/usr", CONFINE_READ };
		hidden[i] = "/var/lib/writ";
	}
	for (size_t i = 0; i <= CONFINE_MAX_PORTS; i++)
		ports[i] = 443;
	r.npaths = r.nhidden = CONFINE_MAX_PATHS;
	r.ntcp_connect = CONFINE_MAX_PORTS;
	ck_assert_int_eq(confine_rules_check(&r, err), 0);
	r.npaths++;
	ck_assert_int_eq(confine_rules_check(&r, err), WRIT_EBADREQ);
	ck_assert_msg(strstr(err, "more than 32 paths") != NULL, "%s", err);
	r.npaths--;
	r.nhidden++;
	ck_assert_int_eq(confine_rules_check(&r, err), WRIT_EBADREQ);
	r.nhidden--;
	r.ntcp_connect++;
	ck_assert_int_eq(confine_rules_check(&r, err), WRIT_EBADREQ);
	ck_assert_msg(strstr(err, "more than 8 TCP ports") != NULL, "%s", err);
	r.ntcp_connect = 1;
	ports[0] = 0;
	ck_assert_int_eq(confine_rules_check(&r, err), WRIT_EBADREQ);
	ck_assert_msg(strstr(err, "port 0") != NULL, "%s", err);
}
END_TEST

START_TEST(test_rules_caps)
{
	static const int never[] = { CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH,
	    CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_BPF, CAP_PERFMON, CAP_SETUID, CAP_SETGID,
	    CAP_SETPCAP, CAP_SETFCAP, CAP_MKNOD };
	static const int fine[] = { CAP_CHOWN, CAP_FOWNER, CAP_DAC_OVERRIDE, CAP_KILL,
	    CAP_NET_BIND_SERVICE };
	struct confine_rules r = { 0 };
	char err[WRIT_ERRLEN];

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		r.keep_caps = 1ULL << never[i];
		ck_assert_msg(confine_rules_check(&r, err) == WRIT_EBADREQ, "capability %d kept", never[i]);
		ck_assert_msg(strstr(err, "may not be kept") != NULL, "%s", err);
	}
	r.keep_caps = 0;
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		r.keep_caps |= 1ULL << fine[i];
	ck_assert_int_eq(confine_rules_check(&r, err), 0);
}
END_TEST

/*
 * The calls the filter must refuse, written down here apart from the
 * filter's own table: dropping one there fails this test.  Every argument
 * is -1: were a call let through, it would fail harmlessly (EFAULT,
 * EBADF, EINVAL) or do nothing.
 */
static const struct {
	long nr;
	const char *name;
} must_deny[] = {
	{ SYS_keyctl, "keyctl" }, { SYS_add_key, "add_key" }, { SYS_request_key, "request_key" },
	{ SYS_ptrace, "ptrace" }, { SYS_process_vm_readv, "process_vm_readv" },
	{ SYS_process_vm_writev, "process_vm_writev" }, { SYS_pidfd_getfd, "pidfd_getfd" },
	{ SYS_kcmp, "kcmp" }, { SYS_process_madvise, "process_madvise" },
	{ SYS_move_pages, "move_pages" }, { SYS_migrate_pages, "migrate_pages" },
	{ SYS_userfaultfd, "userfaultfd" }, { SYS_bpf, "bpf" },
	{ SYS_perf_event_open, "perf_event_open" }, { SYS_io_uring_setup, "io_uring_setup" },
	{ SYS_io_uring_enter, "io_uring_enter" }, { SYS_io_uring_register, "io_uring_register" },
	{ SYS_init_module, "init_module" }, { SYS_finit_module, "finit_module" },
	{ SYS_delete_module, "delete_module" }, { SYS_kexec_load, "kexec_load" },
	{ SYS_kexec_file_load, "kexec_file_load" },
#ifdef SYS_iopl
	{ SYS_iopl, "iopl" }, { SYS_ioperm, "ioperm" },
#endif
	{ SYS_unshare, "unshare" }, { SYS_setns, "setns" }, { SYS_mount, "mount" },
	{ SYS_umount2, "umount2" }, { SYS_pivot_root, "pivot_root" }, { SYS_chroot, "chroot" },
	{ SYS_open_tree, "open_tree" }, { SYS_move_mount, "move_mount" }, { SYS_fsopen, "fsopen" },
	{ SYS_fsconfig, "fsconfig" }, { SYS_fsmount, "fsmount" }, { SYS_fspick, "fspick" },
	{ SYS_mount_setattr, "mount_setattr" },
	{ SYS_setuid, "setuid" }, { SYS_setgid, "setgid" }, { SYS_setreuid, "setreuid" },
	{ SYS_setregid, "setregid" }, { SYS_setresuid, "setresuid" },
	{ SYS_setresgid, "setresgid" }, { SYS_setfsuid, "setfsuid" },
	{ SYS_setfsgid, "setfsgid" }, { SYS_setgroups, "setgroups" }, { SYS_capset, "capset" },
	{ SYS_open_by_handle_at, "open_by_handle_at" }, { SYS_personality, "personality" },
};

static void *
thread_fn(void *arg)
{
	return arg;
}

static int
filtered(void)
{
	char err[WRIT_ERRLEN];
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pthread_t t;
	void *ret = NULL;
	int p[2], n, st;
	pid_t pid;

	CHILD_CHECK(confine_seccomp(err) == 0);
	CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2);
	for (size_t i = 0; i < sizeof(must_deny) / sizeof(must_deny[0]); i++) {
		errno = 0;
		if (syscall(must_deny[i].nr, -1L, -1L, -1L, -1L, -1L, -1L) != -1 || errno != EPERM) {
			fprintf(stderr, "check_confine.c: %s was not refused with EPERM (errno %d)\n",
			    must_deny[i].name, errno);
			return 1;
		}
	}
	/* clone: a namespace flag refused, a plain fork let through; clone3 ENOSYS. */
	errno = 0;
	CHILD_CHECK(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0) == -1 && errno == EPERM);
	CHILD_CHECK(syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, NULL, NULL, 0) == -1 && errno == EPERM);
	CHILD_CHECK(syscall(SYS_clone3, &ca, sizeof(ca)) == -1 && errno == ENOSYS);
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid == 0)
		_exit(7);
	CHILD_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
	/* ioctl: TIOCSTI refused, others let through (FIONREAD on a pipe). */
	CHILD_CHECK(pipe(p) == 0);
	CHILD_CHECK(ioctl(p[0], TIOCSTI, "x") == -1 && errno == EPERM);
	CHILD_CHECK(write(p[1], "abc", 3) == 3 && ioctl(p[0], FIONREAD, &n) == 0 && n == 3);
	/* What a threaded HTTP server does. */
	CHILD_CHECK(pthread_create(&t, NULL, thread_fn, &n) == 0 && pthread_join(t, &ret) == 0 &&
	    ret == &n);
	CHILD_CHECK((n = epoll_create1(EPOLL_CLOEXEC)) >= 0 && close(n) == 0);
	CHILD_CHECK((n = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 && close(n) == 0);
	CHILD_CHECK((n = (int)syscall(SYS_pidfd_open, getpid(), 0)) >= 0 && close(n) == 0);
	CHILD_CHECK(getpid() > 0);
	return 0;
}

START_TEST(test_filter)
{
	ck_assert_int_eq(in_child(filtered), 0);
}
END_TEST

static void *
sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static int
threaded(void)
{
	static const struct confine_path p = { "/usr", CONFINE_READ };
	struct confine_rules r = { .paths = &p, .npaths = 1 };
	char err[WRIT_ERRLEN];
	int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	pthread_t t;

	CHILD_CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
	CHILD_CHECK(confine_front(&r, err) == WRIT_EINTERNAL);
	CHILD_CHECK(strstr(err, "has 2 threads") != NULL);
	/* Refused before anything was applied. */
	CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == nnp);
	return 0;
}

START_TEST(test_threaded)
{
	ck_assert_int_eq(in_child(threaded), 0);
}
END_TEST

static char dir_rw[64], dir_hidden[64];

static int
confined(void)
{
	const struct confine_path p = { dir_rw, CONFINE_WRITE };
	const char *h = dir_hidden;
	struct confine_rules r = { .paths = &p, .npaths = 1, .hidden = &h, .nhidden = 1 };
	struct __user_cap_header_struct caph = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct cap[_LINUX_CAPABILITY_U32S_3];
	char err[WRIT_ERRLEN], path[128];
	int rc, fd, abi = confine_landlock_abi();

	rc = confine_front(&r, err);
	CHILD_CHECK(rc == 0 || rc == CONFINE_PARTIAL);
	CHILD_CHECK((rc == 0) == (abi >= 6));
	CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2);
	CHILD_CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHILD_CHECK(syscall(SYS_keyctl, 0, -1L, 0, 0, 0) == -1 && errno == EPERM);
	/* No capability left (none kept), whoever ran the test. */
	CHILD_CHECK(syscall(SYS_capget, &caph, cap) == 0);
	CHILD_CHECK((cap[0].effective | cap[1].effective | cap[0].permitted | cap[1].permitted |
	    cap[0].inheritable | cap[1].inheritable) == 0);
	snprintf(path, sizeof(path), "%s/new", dir_rw);
	CHILD_CHECK((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0 && close(fd) == 0);
	CHILD_CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/sealed", dir_hidden);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (abi > 0)
		CHILD_CHECK(fd == -1 && errno == EACCES);
	else
		CHILD_CHECK(strstr(err, "Landlock is not available") != NULL);
	return 0;
}

START_TEST(test_front)
{
	char path[128];
	int fd;

	snprintf(dir_rw, sizeof(dir_rw), "/tmp/check_confine.XXXXXX");
	snprintf(dir_hidden, sizeof(dir_hidden), "/tmp/check_confine.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir_rw));
	ck_assert_ptr_nonnull(mkdtemp(dir_hidden));
	snprintf(path, sizeof(path), "%s/sealed", dir_hidden);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), 0);
	close(fd);
	ck_assert_int_eq(in_child(confined), 0);
	/* The parent is as it was: the confinement was the child's alone. */
	ck_assert_int_eq(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
	ck_assert_int_ge(fd = open(path, O_RDONLY | O_CLOEXEC), 0);
	close(fd);
	unlink(path);
	rmdir(dir_hidden);
	rmdir(dir_rw);
}
END_TEST

Suite *
confine_suite(void)
{
	Suite *s = suite_create("confine");
	TCase *rules = tcase_create("rules");
	TCase *apply = tcase_create("apply");

	tcase_add_test(rules, test_rules_front_end);
	tcase_add_test(rules, test_rules_paths);
	tcase_add_test(rules, test_rules_hidden);
	tcase_add_test(rules, test_rules_limits);
	tcase_add_test(rules, test_rules_caps);
	tcase_add_test(apply, test_filter);
	tcase_add_test(apply, test_threaded);
	tcase_add_test(apply, test_front);
	suite_add_tcase(s, rules);
	suite_add_tcase(s, apply);
	return s;
}
