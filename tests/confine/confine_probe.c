/*
 * confine_probe.c - a test-only program: confine itself as writd's front
 * end would (broker/confine.h), then try what the front end must not do
 * and what it must still do, one line per attempt.  Built for the tests
 * only ($(B)/confine_probe), never installed; tests/integration/t_confine.sh
 * reads its lines.
 *
 *   confine_probe hold FILE [--dumpable]
 *	A stand-in minter: opens FILE and keeps the fd, reads its first
 *	bytes (the secret) into memory, prints "PID ADDR LEN FD", and waits
 *	to be killed.  Non-dumpable, as writd, unless --dumpable.
 *
 *   confine_probe [RULES] [TARGETS]
 *	RULES: --none (not confined at all), --read P, --write P, --exec P,
 *	--hide P, --port N, --keep-cap N, --threaded (start a thread first:
 *	confining must then fail), --no-landlock (answer Landlock's calls
 *	ENOSYS first, as a kernel without it does).  TARGETS: --keyring SERIAL --key SERIAL
 *	(the test's keyring and a key in it), --file PATH (the sealed store),
 *	--pid PID --addr HEX --len N --fd N (the holder), --dir DIR (a
 *	runtime dir the rules allow), --run PATH (a program to execute).
 *
 * The first line is "confine applied abi=N", "confine partial MESSAGE",
 * "confine none" or "confine error MESSAGE" (then only the privs line,
 * and exit 1); then one line per
 * attempt: "NAME ok [HEX]" (what was read, in hex), "NAME refused ERRNO"
 * (the errno's name, or the signal that killed a child: SIGSYS), or "NAME
 * skip REASON".
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#include "../../broker/confine.h"
#include "frontprobe.h"

/* Most bytes of a secret read or shown. */
#define PROBE_MAX_SECRET 64

static struct {
	long keyring, key;
	const char *file, *dir, *run;
	pid_t pid;
	uintptr_t addr;
	size_t len;
	int fd;
	uint16_t port;		/* the first --port: a connect the rules allow */
} tg = { .pid = -1, .fd = -1 };

static void
line(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
line(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* "NAME ok HEX" for n bytes read, or "NAME refused ERRNO" for n < 0. */
static void
result(const char *name, const unsigned char *buf, ssize_t n)
{
	char hex[2 * PROBE_MAX_SECRET + 1];

	if (n < 0) {
		line(name, "refused %s", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
		return;
	}
	for (ssize_t i = 0; i < n && i < PROBE_MAX_SECRET; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	hex[2 * (n < PROBE_MAX_SECRET ? n : PROBE_MAX_SECRET)] = '\0';
	line(name, "ok %s", hex);
}

/* A call that reads nothing: "NAME ok" or "NAME refused ERRNO". */
static void
done(const char *name, long rc)
{
	if (rc < 0)
		line(name, "refused %s", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	else
		line(name, "ok");
}

/*
 * Run fn in a child (what would change the probe itself: a namespace) and
 * report how it ended: it returns 0 or an errno; a signal is "refused SIGxxx".
 */
static void
in_child(const char *name, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		done(name, -1);
		return;
	}
	if (pid == 0)
		_exit(fn());
	if (waitpid(pid, &st, 0) != pid) {
		done(name, -1);
	} else if (WIFSIGNALED(st)) {
		if (WTERMSIG(st) == SIGSEGV)
			line(name, "skip killed by SIGSEGV (no such call here)");
		else
			line(name, "refused SIG%s", sigabbrev_np(WTERMSIG(st)));
	} else if (WEXITSTATUS(st) == 0) {
		line(name, "ok");
	} else {
		errno = WEXITSTATUS(st);
		done(name, -1);
	}
}

static int
unshare_user(void)
{
	return unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
}

/* clone(2) itself, as a fork, asking for a new user namespace. */
static int
clone_newuser(void)
{
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
	int st;

	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(0);
	return waitpid((pid_t)pid, &st, 0) == pid && WIFEXITED(st) ? 0 : EIO;
}

/* clone3: the filter answers ENOSYS, and glibc falls back to clone. */
static int
clone3_call(void)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	int st;

	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(0);
	return waitpid((pid_t)pid, &st, 0) == pid ? 0 : EIO;
}

/* i386's getpid (20) through int 0x80: another ABI's call. */
static int
ia32_call(void)
{
#if defined(__x86_64__)
	long ret = 20;

	__asm__ volatile ("int $0x80" : "+a"(ret) : : "memory");
	return ret > 0 ? 0 : (int)-ret;
#else
	return ENOSYS;
#endif
}

static void
try_keys(void)
{
	unsigned char buf[PROBE_MAX_SECRET];
	long n;

	if (tg.key <= 0 || tg.keyring <= 0) {
		line("key_read", "skip no --key and --keyring");
		return;
	}
	n = syscall(SYS_keyctl, KEYCTL_READ, tg.key, buf, sizeof(buf));
	/* keyring.c's payload starts with writ's header; a test key has none. */
	result("key_read", buf, n < 0 ? -1 : n > (long)sizeof(buf) ? (long)sizeof(buf) : n);
	n = syscall(SYS_keyctl, KEYCTL_READ, tg.keyring, buf, sizeof(buf));
	done("keyring_list", n);
	done("keyring_search", syscall(SYS_keyctl, KEYCTL_SEARCH, tg.keyring, "user",
	    "writ:canary", 0));
	done("add_key", syscall(SYS_add_key, "user", "writ:probe", "x", 1, tg.keyring));
	done("request_key", syscall(SYS_request_key, "user", "writ:probe-none", NULL, tg.keyring));
}

static void
try_file(void)
{
	unsigned char buf[PROBE_MAX_SECRET];
	char dir[PATH_MAX], *slash;
	ssize_t n = -1;
	DIR *d;
	int fd;

	if (tg.file == NULL) {
		line("open_store", "skip no --file");
		return;
	}
	if ((fd = open(tg.file, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	result("open_store", buf, n);
	snprintf(dir, sizeof(dir), "%s", tg.file);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	d = opendir(dir);
	done("list_state_dir", d == NULL ? -1 : 0);
	if (d != NULL)
		closedir(d);
	/*
	 * Landlock lets O_PATH through (no read, no write: fstat, fchdir);
	 * a file opened below one is checked all the same.
	 */
	fd = open(dir, O_PATH | O_CLOEXEC);
	done("open_state_dir_path", fd);
	n = -1;
	if (fd >= 0) {
		int f = openat(fd, slash != NULL ? slash + 1 : tg.file, O_RDONLY | O_CLOEXEC);

		if (f >= 0) {
			n = read(f, buf, sizeof(buf));
			close(f);
		}
		close(fd);
	}
	result("open_store_below_path_fd", buf, n);
}

static void
try_minter(void)
{
	unsigned char buf[PROBE_MAX_SECRET];
	char path[64], exe[PATH_MAX];
	struct iovec local = { buf, tg.len }, remote = { (void *)tg.addr, tg.len };
	ssize_t n = -1;
	long pidfd, fd, word;
	int st;

	if (tg.pid <= 0 || tg.len == 0 || tg.len > sizeof(buf)) {
		line("proc_mem", "skip no --pid, --addr and --len (at most %d)", PROBE_MAX_SECRET);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)tg.pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = pread((int)fd, buf, tg.len, (off_t)tg.addr);
		close((int)fd);
	}
	result("proc_mem", buf, n);

	n = -1;
	if (ptrace(PTRACE_ATTACH, tg.pid, NULL, NULL) == 0) {
		if (waitpid(tg.pid, &st, __WALL) == tg.pid) {
			errno = 0;
			word = ptrace(PTRACE_PEEKDATA, tg.pid, (void *)tg.addr, NULL);
			if (errno == 0) {
				memcpy(buf, &word, sizeof(word));
				n = tg.len < sizeof(word) ? (ssize_t)tg.len : (ssize_t)sizeof(word);
			}
		}
		(void)ptrace(PTRACE_DETACH, tg.pid, NULL, NULL);
	}
	result("ptrace", buf, n);

	result("process_vm_readv", buf, process_vm_readv(tg.pid, &local, 1, &remote, 1, 0));

	n = -1;
	if ((pidfd = syscall(SYS_pidfd_open, tg.pid, 0)) < 0) {
		done("pidfd_open", -1);
	} else {
		done("pidfd_open", 0);
		if ((fd = syscall(SYS_pidfd_getfd, pidfd, tg.fd, 0)) >= 0) {
			n = pread((int)fd, buf, tg.len, 0);
			close((int)fd);
		}
		close((int)pidfd);
	}
	result("pidfd_getfd", buf, n);

	done("signal", kill(tg.pid, 0));

	/* What peer.c reads of a caller: is it still readable in here? */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)tg.pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	done("peer_exe", n);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)tg.pid);
	n = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read((int)fd, exe, sizeof(exe));
		close((int)fd);
	}
	done("peer_cmdline", n);
}

/* no_new_privs, dumpable, seccomp mode, and the capability sets (hex), as the process has them. */
static void
try_privs(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	unsigned long long bnd = 0;

	if (syscall(SYS_capget, &h, d) != 0) {
		done("privs", -1);
		return;
	}
	for (int cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break;
		bnd |= (unsigned long long)(in > 0) << cap;
	}
	line("privs", "ok nnp=%d dumpable=%d seccomp=%d eff=%llx prm=%llx inh=%llx bnd=%llx",
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0),
	    d[0].effective | (unsigned long long)d[1].effective << 32,
	    d[0].permitted | (unsigned long long)d[1].permitted << 32,
	    d[0].inheritable | (unsigned long long)d[1].inheritable << 32, bnd);
}

static void *
thread_fn(void *arg)
{
	return arg;
}

static void *
sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* What the front end must still do, in the runtime dir it may write. */
static void
try_allowed(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX], c = 0;
	pthread_t t;
	void *ret = NULL;
	int fd, l = -1, a = -1, s = -1, rc;

	rc = pthread_create(&t, NULL, thread_fn, &tg);
	if (rc == 0)
		rc = pthread_join(t, &ret);
	errno = rc;
	done("thread", rc != 0 || ret != &tg ? -1 : 0);

	if (tg.dir == NULL) {
		line("write_file", "skip no --dir");
		return;
	}
	snprintf(path, sizeof(path), "%s/probe.out", tg.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	rc = fd < 0 ? -1 : write(fd, "x", 1) == 1 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || read(fd, &c, 1) != 1 || c != 'x'))
		rc = -1;
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = unlink(path);
	done("write_file", rc);

	/* A listener and a client in the runtime dir, and one byte across. */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/probe.sock", tg.dir) >=
	    sizeof(sa.sun_path)) {
		line("unix_socket", "skip the path is too long for a socket");
		return;
	}
	(void)unlink(sa.sun_path);
	rc = -1;
	if ((l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0 &&
	    (s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    (a = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0 && write(s, "y", 1) == 1 &&
	    read(a, &c, 1) == 1 && c == 'y')
		rc = unlink(sa.sun_path);
	done("unix_socket", rc);
	if (a >= 0)
		close(a);
	if (s >= 0)
		close(s);
	if (l >= 0)
		close(l);
}

/* A TCP connect to 127.0.0.1:port: ECONNREFUSED means the kernel let it try. */
static void
try_tcp(const char *name, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long rc = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0) {
		rc = connect(s, (struct sockaddr *)&sin, sizeof(sin));
		close(s);
	}
	done(name, rc);
}

static void
try_exec(void)
{
	char *const argv[] = { (char *)tg.run, NULL };
	pid_t pid;
	int st, p[2], e = 0;

	if (tg.run == NULL) {
		line("exec", "skip no --run");
		return;
	}
	/* The child sends execve's errno up a close-on-exec pipe. */
	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		done("exec", -1);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		execve(tg.run, argv, (char *const[]){ NULL });
		e = errno;
		(void)!write(p[1], &e, sizeof(e));
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) != pid || (e == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)))
		e = e != 0 ? e : EIO;
	errno = e;
	done("exec", e != 0 ? -1 : 0);
}

static int
hold(int argc, char **argv)
{
	static unsigned char secret[PROBE_MAX_SECRET];
	ssize_t n;
	int fd;

	if (argc < 3 || (argc == 4 && strcmp(argv[3], "--dumpable") != 0) || argc > 4) {
		fprintf(stderr, "usage: confine_probe hold FILE [--dumpable]\n");
		return 2;
	}
	if (argc == 3 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 1;
	if ((fd = open(argv[2], O_RDONLY)) < 0 || (n = read(fd, secret, sizeof(secret))) <= 0) {
		perror(argv[2]);
		return 1;
	}
	printf("%d %lx %zd %d\n", (int)getpid(), (unsigned long)(uintptr_t)secret, n, fd);
	fflush(stdout);
	for (;;)
		pause();
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "none", no_argument, NULL, 'n' },
		{ "read", required_argument, NULL, 'r' },
		{ "write", required_argument, NULL, 'w' },
		{ "exec", required_argument, NULL, 'x' },
		{ "hide", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'P' },
		{ "keep-cap", required_argument, NULL, 'C' },
		{ "threaded", no_argument, NULL, 'T' },
		{ "no-landlock", no_argument, NULL, 'L' },
		{ "keyring", required_argument, NULL, 'K' },
		{ "key", required_argument, NULL, 'k' },
		{ "file", required_argument, NULL, 'f' },
		{ "pid", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "len", required_argument, NULL, 'l' },
		{ "fd", required_argument, NULL, 'd' },
		{ "dir", required_argument, NULL, 'D' },
		{ "run", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	static struct confine_path paths[CONFINE_MAX_PATHS + 1];
	static const char *hidden[CONFINE_MAX_PATHS + 1];
	static uint16_t ports[CONFINE_MAX_PORTS + 1];
	struct confine_rules r = { .paths = paths, .hidden = hidden, .tcp_connect = ports };
	char err[WRIT_ERRLEN];
	bool none = false, threaded = false, no_landlock = false;
	pthread_t t;
	int c, rc;

	if (argc > 1 && strcmp(argv[1], "hold") == 0)
		return hold(argc, argv);
	/* Too many of a kind is left for confine_rules_check to refuse. */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': none = true; break;
		case 'r': case 'w': case 'x':
			if (r.npaths <= CONFINE_MAX_PATHS)
				paths[r.npaths++] = (struct confine_path){ optarg,
				    c == 'r' ? CONFINE_READ : c == 'w' ? CONFINE_WRITE : CONFINE_EXEC };
			break;
		case 'h':
			if (r.nhidden <= CONFINE_MAX_PATHS)
				hidden[r.nhidden++] = optarg;
			break;
		case 'P':
			if (r.ntcp_connect <= CONFINE_MAX_PORTS)
				ports[r.ntcp_connect++] = (uint16_t)strtoul(optarg, NULL, 10);
			if (tg.port == 0)
				tg.port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'C': r.keep_caps |= 1ULL << (strtoul(optarg, NULL, 10) & 63); break;
		case 'T': threaded = true; break;
		case 'L': no_landlock = true; break;
		case 'K': tg.keyring = strtol(optarg, NULL, 10); break;
		case 'k': tg.key = strtol(optarg, NULL, 10); break;
		case 'f': tg.file = optarg; break;
		case 'p': tg.pid = (pid_t)strtol(optarg, NULL, 10); break;
		case 'a': tg.addr = (uintptr_t)strtoull(optarg, NULL, 16); break;
		case 'l': tg.len = strtoul(optarg, NULL, 10); break;
		case 'd': tg.fd = (int)strtol(optarg, NULL, 10); break;
		case 'D': tg.dir = optarg; break;
		case 'R': tg.run = optarg; break;
		default: return 2;
		}
	}
	if (threaded && pthread_create(&t, NULL, sleeper, NULL) != 0)
		return 1;
	if (no_landlock && frontprobe_no_landlock() != 0) {
		perror("confine_probe: --no-landlock");
		return 1;
	}
	if (none) {
		line("confine", "none");
	} else if ((rc = confine_front(&r, err)) < 0) {
		line("confine", "error %s", err);
		/* Nothing applied: the privs line shows it. */
		try_privs();
		return 1;
	} else if (rc == CONFINE_PARTIAL) {
		line("confine", "partial %s", err);
	} else {
		line("confine", "applied abi=%d", confine_landlock_abi());
	}
	try_privs();
	try_keys();
	try_file();
	try_minter();
	in_child("unshare_user", unshare_user);
	in_child("clone_newuser", clone_newuser);
	in_child("clone3", clone3_call);
	in_child("ia32_syscall", ia32_call);
	try_tcp("tcp_listed", tg.port != 0 ? tg.port : 9);
	try_tcp("tcp_other", tg.port != 9 ? 9 : 7);
	try_allowed();
	try_exec();
	/*
	 * NB. _exit: no atexit handlers, so no LeakSanitizer pass under
	 * `make asan`, which would ptrace the process (refused here).
	 */
	fflush(stdout);
	_exit(0);
}
