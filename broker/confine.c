/*
 * confine.c - the front end's confinement: capabilities, Landlock, seccomp.
 *
 * Raw system calls and classic BPF, no libseccomp: the filter is one flat
 * table of calls that fail with EPERM and two argument checks, which reads
 * as plainly in BPF as in libseccomp's calls, and writd links no more
 * than before.  The price is what libseccomp does by itself: the
 * architecture check and x32's numbers, both done by hand below.
 *
 * Landlock is used through its system calls too: Debian 12's headers
 * (Linux 6.1) stop at ABI 2, so what came later is defined here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#include "confine.h"
#include "errors.h"

/*
 * Landlock after Linux 6.1 (include/uapi/linux/landlock.h): the ruleset
 * attribute grew net (ABI 4) and scoped (ABI 6) fields; the kernel takes
 * the size we pass, so an older one sees only what it knows.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)		/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)		/* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)		/* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define LANDLOCK_RULE_NET_PORT 2
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
	uint64_t scoped;		/* ABI 6 */
};

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* Rights that apply to a file (the others only to a directory). */
#define LL_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* NB. no MAKE_CHAR, MAKE_BLOCK, MAKE_FIFO, MAKE_SYM, IOCTL_DEV: a runtime dir needs none. */
#define LL_WRITE (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REFER)
#define LL_EXEC LANDLOCK_ACCESS_FS_EXECUTE

/*
 * The seccomp filter.  The architecture is checked first: another ABI's
 * calls have other numbers, and the table below would miss them.
 */
#if defined(__x86_64__)
#define SC_ARCH AUDIT_ARCH_X86_64
/* x32's calls share x86_64's arch value, their numbers with this bit set. */
#define SC_X32_BIT 0x40000000U
#elif defined(__aarch64__)
#define SC_ARCH AUDIT_ARCH_AARCH64
#endif

#define SC_ALLOW SECCOMP_RET_ALLOW
#define SC_EPERM (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define SC_ENOSYS (SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA))
/*
 * A call of another ABI (i386's int 0x80, x32) is never ours: only an
 * attempt to slip past the table's numbers.  The process dies (SIGSYS).
 */
#define SC_KILL SECCOMP_RET_KILL_PROCESS

/* The low 32 bits of a call's argument i, where seccomp_data holds them. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SC_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define SC_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

/*
 * Calls that fail with EPERM, whatever their arguments.  An HTTP server
 * with threads needs none of them (epoll, accept4, sendmsg, socket,
 * clone, futex, mmap, mprotect, pidfd_open stay allowed).
 */
static const int sc_denied[] = {
	/* The kernel keyring: where the store's keys live (keyring.c). */
	SYS_keyctl, SYS_add_key, SYS_request_key,
	/* Another process's memory, registers or descriptors: the minter's. */
	SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev,
	SYS_pidfd_getfd,	/* takes a copy of another process's fd (the store's) */
	SYS_kcmp,		/* compares other processes' fds and memory maps */
	SYS_process_madvise,	/* acts on another process's memory */
	SYS_move_pages, SYS_migrate_pages, /* take another pid's pages */
	/*
	 * Tools of kernel exploits, and a kernel taken is every key: fault
	 * handling that stalls the kernel mid-copy, programs and counters run
	 * in the kernel, and io_uring, whose operations never pass this filter.
	 */
	SYS_userfaultfd, SYS_bpf, SYS_perf_event_open,
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
	/* Code into the kernel, or raw ports: all memory. */
	SYS_init_module, SYS_finit_module, SYS_delete_module,
	SYS_kexec_load, SYS_kexec_file_load,
#ifdef SYS_iopl
	SYS_iopl, SYS_ioperm,
#endif
	/*
	 * Namespaces and mounts: a new user namespace gives back every
	 * capability inside it, and a mount could lay the state dir under a
	 * path the rules allow.  (Landlock refuses mounts too; this holds
	 * without it.)  clone's namespace flags are checked below.
	 */
	SYS_unshare, SYS_setns, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot,
	SYS_open_tree, SYS_move_mount, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick,
	SYS_mount_setattr,
	/*
	 * Who the process is: fixed when it is confined.  Another uid has
	 * another user keyring; new capabilities undo the drop.
	 */
	SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid,
	SYS_setfsuid, SYS_setfsgid, SYS_setgroups, SYS_capset,
	/* Opens a file by its inode's handle: no path, so no path rule. */
	SYS_open_by_handle_at,
	/* READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE: weaker programs run after. */
	SYS_personality,
};

/* clone's flags that make a namespace (clone3 carries them in memory: see below). */
#define SC_CLONE_NS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
	CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* The table's pairs, and room for the head (arch, x32) and the tail (17 now). */
#define SC_PROG_MAX (2 * (sizeof(sc_denied) / sizeof(sc_denied[0])) + 32)

/*
 * The filter into prog: returns its length, or 0 for an architecture
 * the filter does not know.
 */
static size_t
sc_build(struct sock_filter prog[SC_PROG_MAX])
{
#ifdef SC_ARCH
	size_t n = 0;

#define SC_PUT(...) (prog[n++] = (struct sock_filter)__VA_ARGS__)
	SC_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	SC_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SC_ARCH, 1, 0));
	SC_PUT(BPF_STMT(BPF_RET | BPF_K, SC_KILL));
	SC_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef SC_X32_BIT
	SC_PUT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SC_X32_BIT, 0, 1));
	SC_PUT(BPF_STMT(BPF_RET | BPF_K, SC_KILL));
#endif
	for (size_t i = 0; i < sizeof(sc_denied) / sizeof(sc_denied[0]); i++) {
		SC_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)sc_denied[i], 0, 1));
		SC_PUT(BPF_STMT(BPF_RET | BPF_K, SC_EPERM));
	}
	/*
	 * clone3 passes its flags in memory, which a filter cannot read:
	 * ENOSYS, and glibc (2.34 and later) falls back to clone, whose
	 * flags are an argument.
	 */
	SC_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
	SC_PUT(BPF_STMT(BPF_RET | BPF_K, SC_ENOSYS));
	/* clone: threads and children yes, a new namespace no (the kernel reads the low 32 bits). */
	SC_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3));	/* else: to ioctl's */
	SC_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(0)));
	SC_PUT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SC_CLONE_NS, 0, 5));	/* else: allow */
	SC_PUT(BPF_STMT(BPF_RET | BPF_K, SC_EPERM));
	/*
	 * ioctl TIOCSTI pushes input into the controlling terminal: a
	 * command typed as the user who started writd in it.
	 */
	SC_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3));	/* else: allow */
	SC_PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(1)));
	SC_PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 0, 1));	/* else: allow */
	SC_PUT(BPF_STMT(BPF_RET | BPF_K, SC_EPERM));
	SC_PUT(BPF_STMT(BPF_RET | BPF_K, SC_ALLOW));
#undef SC_PUT
	return n;
#else
	(void)prog;
	return 0;
#endif
}

int
confine_seccomp(char err[WRIT_ERRLEN])
{
	struct sock_filter prog[SC_PROG_MAX];
	struct sock_fprog fprog;

	fprog.len = (unsigned short)sc_build(prog);
	fprog.filter = prog;
	if (fprog.len == 0) {
		snprintf(err, WRIT_ERRLEN, "seccomp: no filter for this architecture "
		    "(x86_64 and aarch64 only): the front end cannot be confined");
		return WRIT_EINTERNAL;
	}
	/* The kernel asks for it (or CAP_SYS_ADMIN) before taking a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot set no_new_privs: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
		snprintf(err, WRIT_ERRLEN, "seccomp: the kernel refused the filter: %s",
		    strerror(errno));
		return WRIT_EINTERNAL;
	}
	return 0;
}

/*
 * Is p absolute and plain: "/", or "/a/b" with no empty, "." or ".."
 * component and no trailing slash?  What the lexical checks below rely on.
 */
static bool
path_plain(const char *p)
{
	const char *c, *e;

	if (p == NULL || p[0] != '/' || strlen(p) >= PATH_MAX)
		return false;
	if (p[1] == '\0')
		return true;
	for (c = p + 1;; c = e + 1) {
		e = strchrnul(c, '/');
		if (e == c || (e - c == 1 && c[0] == '.') ||
		    (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (*e == '\0')
			return true;
	}
}

/* Is inner outer itself or below it?  Both plain; compared by component. */
static bool
path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (n == 1)	/* "/" */
		return true;
	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/*
 * May a process with path rule `rule` reach hidden?  When hidden lies
 * below rule, or rule below hidden (a part of the state dir).
 */
static bool
path_reaches(const char *rule, const char *hidden)
{
	return path_within(hidden, rule) || path_within(rule, hidden);
}

int
confine_rules_check(const struct confine_rules *r, char err[WRIT_ERRLEN])
{
	const unsigned int all = CONFINE_READ | CONFINE_WRITE | CONFINE_EXEC | CONFINE_IOCTL;

	if (r->npaths > CONFINE_MAX_PATHS || r->nhidden > CONFINE_MAX_PATHS) {
		snprintf(err, WRIT_ERRLEN, "confine: more than %d paths", CONFINE_MAX_PATHS);
		return WRIT_EBADREQ;
	}
	if (r->ntcp_connect > CONFINE_MAX_PORTS) {
		snprintf(err, WRIT_ERRLEN, "confine: more than %d TCP ports", CONFINE_MAX_PORTS);
		return WRIT_EBADREQ;
	}
	for (size_t i = 0; i < r->npaths; i++) {
		const struct confine_path *p = &r->paths[i];

		if (!path_plain(p->path)) {
			snprintf(err, WRIT_ERRLEN, "confine: path rule %zu is not an absolute path "
			    "without empty, \".\" or \"..\" components, shorter than %d: \"%.80s\"",
			    i, PATH_MAX, p->path == NULL ? "(null)" : p->path);
			return WRIT_EBADREQ;
		}
		if (p->access == 0 || (p->access & ~all) != 0) {
			snprintf(err, WRIT_ERRLEN, "confine: %s: access 0x%x is not some of "
			    "read, write, exec, ioctl", p->path, p->access);
			return WRIT_EBADREQ;
		}
	}
	for (size_t i = 0; i < r->nhidden; i++) {
		if (!path_plain(r->hidden[i])) {
			snprintf(err, WRIT_ERRLEN, "confine: hidden path %zu is not an absolute path "
			    "without empty, \".\" or \"..\" components, shorter than %d: \"%.80s\"",
			    i, PATH_MAX, r->hidden[i] == NULL ? "(null)" : r->hidden[i]);
			return WRIT_EBADREQ;
		}
		for (size_t j = 0; j < r->npaths; j++) {
			if (path_reaches(r->paths[j].path, r->hidden[i])) {
				snprintf(err, WRIT_ERRLEN, "confine: the rule for %s reaches %s, "
				    "which must stay out of reach", r->paths[j].path, r->hidden[i]);
				return WRIT_EBADREQ;
			}
		}
	}
	for (size_t i = 0; i < r->ntcp_connect; i++) {
		if (r->tcp_connect[i] == 0) {
			snprintf(err, WRIT_ERRLEN, "confine: TCP port 0 is not a port");
			return WRIT_EBADREQ;
		}
	}
	if ((r->keep_caps & CONFINE_CAPS_NEVER) != 0) {
		snprintf(err, WRIT_ERRLEN, "confine: capabilities 0x%llx may not be kept "
		    "(they reach other processes' memory or undo the confinement)",
		    (unsigned long long)(r->keep_caps & CONFINE_CAPS_NEVER));
		return WRIT_EBADREQ;
	}
	return 0;
}

int
confine_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	/* ENOSYS: not built in; EOPNOTSUPP: built in, not enabled. */
	return abi < 0 ? 0 : (int)abi;
}

/* The filesystem rights this ABI knows: all of them are handled, so all not granted are denied. */
static uint64_t
ll_fs_rights(int abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_IOCTL_DEV << 1) - 1;

	if (abi < 5)
		all &= ~LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi < 3)
		all &= ~LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi < 2)
		all &= ~LANDLOCK_ACCESS_FS_REFER;
	return all;
}

/*
 * The resolved form of path into out (PATH_MAX): 0, or -1 with errno
 * (a hidden path that does not exist yet keeps its own form: 0).
 */
static int
resolve(const char *path, bool may_miss, char out[PATH_MAX])
{
	if (realpath(path, out) != NULL)
		return 0;
	if (may_miss && errno == ENOENT) {
		snprintf(out, PATH_MAX, "%s", path);
		return 0;
	}
	return -1;
}

bool
confine_path_reaches(const char *rule, const char *hidden)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (!path_plain(rule) || !path_plain(hidden))
		return false;
	if (path_reaches(rule, hidden))
		return true;
	return resolve(rule, false, a) == 0 && resolve(hidden, true, b) == 0 &&
	    path_reaches(a, b);
}

/*
 * A Landlock ruleset for r, every path opened and added (nothing applied
 * yet): 0 and *ret_fd, or a negative code.  Also checks the hidden paths
 * against the rules' paths once both are resolved: a symlink could make a
 * rule reach what its name does not.
 */
static int
ll_build(const struct confine_rules *r, int abi, int *ret_fd, char err[WRIT_ERRLEN])
{
	struct ll_ruleset_attr attr = { 0 };
	char real[PATH_MAX], hid[PATH_MAX];
	int fd, pfd = -1, rc = WRIT_EINTERNAL;
	size_t size;

	attr.handled_access_fs = ll_fs_rights(abi);
	size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		/* No TCP listener at all, and connects only to the ports listed. */
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		/* No signal to a process outside (the minter), no abstract socket outside. */
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "landlock: cannot create a ruleset: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	for (size_t i = 0; i < r->npaths; i++) {
		const struct confine_path *p = &r->paths[i];
		struct landlock_path_beneath_attr pb = { 0 };
		struct stat st;

		if (resolve(p->path, false, real) != 0) {
			rc = errno == ENOENT ? WRIT_ENOTFOUND : WRIT_EINTERNAL;
			snprintf(err, WRIT_ERRLEN, "confine: %s: %s", p->path, strerror(errno));
			goto out;
		}
		for (size_t j = 0; j < r->nhidden; j++) {
			if (resolve(r->hidden[j], true, hid) != 0) {
				snprintf(err, WRIT_ERRLEN, "confine: %s: %s", r->hidden[j], strerror(errno));
				goto out;
			}
			if (path_reaches(real, hid)) {
				rc = WRIT_EBADREQ;
				snprintf(err, WRIT_ERRLEN, "confine: the rule for %s (%s) reaches %s (%s), "
				    "which must stay out of reach", p->path, real, r->hidden[j], hid);
				goto out;
			}
		}
		if ((pfd = open(real, O_PATH | O_CLOEXEC)) < 0 || fstat(pfd, &st) != 0) {
			snprintf(err, WRIT_ERRLEN, "confine: %s: %s", p->path, strerror(errno));
			goto out;
		}
		if (p->access & CONFINE_READ)
			pb.allowed_access |= LL_READ;
		if (p->access & CONFINE_WRITE)
			pb.allowed_access |= LL_READ | LL_WRITE;
		if (p->access & CONFINE_EXEC)
			pb.allowed_access |= LL_EXEC;
		if (p->access & CONFINE_IOCTL)
			pb.allowed_access |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
		/* The kernel refuses directory rights on a file. */
		if (!S_ISDIR(st.st_mode))
			pb.allowed_access &= LL_FILE_RIGHTS;
		pb.allowed_access &= attr.handled_access_fs;
		pb.parent_fd = pfd;
		if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
			snprintf(err, WRIT_ERRLEN, "landlock: rule for %s: %s", p->path, strerror(errno));
			goto out;
		}
		close(pfd);
		pfd = -1;
	}
	for (size_t i = 0; abi >= 4 && i < r->ntcp_connect; i++) {
		struct ll_net_port_attr np = { LANDLOCK_ACCESS_NET_CONNECT_TCP, r->tcp_connect[i] };

		if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_NET_PORT, &np, 0) != 0) {
			snprintf(err, WRIT_ERRLEN, "landlock: rule for TCP port %u: %s",
			    (unsigned int)r->tcp_connect[i], strerror(errno));
			goto out;
		}
	}
	*ret_fd = fd;
	fd = -1;
	rc = 0;
 out:
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* What this ABI leaves unenforced, into err (for CONFINE_PARTIAL); false: nothing. */
static bool
ll_missing(int abi, char err[WRIT_ERRLEN])
{
	if (abi == 0) {
		snprintf(err, WRIT_ERRLEN, "Landlock is not available in this kernel: the path rules "
		    "and its ptrace scoping are not enforced (the seccomp filter and the capability "
		    "drop are)");
		return true;
	}
	if (abi >= 6)
		return false;
	snprintf(err, WRIT_ERRLEN, "Landlock ABI %d (6 has all):%s%s%s%s", abi,
	    abi < 3 ? " truncate(2) outside the paths is not refused;" : "",
	    abi < 4 ? " TCP is not restricted;" : "",
	    abi < 5 ? " ioctl on devices is not restricted;" : "",
	    " signals and abstract sockets to processes outside are not refused");
	return true;
}

/* The number of threads in this process: /proc/self/status, or -1. */
static int
nthreads(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, "\nThreads:")) == NULL)
		return -1;
	return (int)strtol(p + 9, NULL, 10);
}

/*
 * Drop every capability but keep: from the bounding set (what an exec
 * could give back; that takes CAP_SETPCAP, which a process without
 * capabilities does not need: no_new_privs holds exec then), the ambient
 * set, and the effective, permitted and inheritable sets.
 */
static int
caps_drop(uint64_t keep, char err[WRIT_ERRLEN])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	uint64_t eff;

	if (syscall(SYS_capget, &h, d) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot read capabilities: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	eff = d[0].effective | (uint64_t)d[1].effective << 32;
	for (int cap = 0; cap < 64 && (eff & (1ULL << CAP_SETPCAP)); cap++) {
		if (keep & (1ULL << cap))
			continue;
		/* EINVAL: past the kernel's last capability. */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				break;
			snprintf(err, WRIT_ERRLEN, "cannot drop capability %d from the bounding set: %s",
			    cap, strerror(errno));
			return WRIT_EINTERNAL;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		snprintf(err, WRIT_ERRLEN, "cannot clear ambient capabilities: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));

		d[i].effective &= k;
		d[i].permitted &= k;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot drop capabilities: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	return 0;
}

int
confine_front(const struct confine_rules *r, char err[WRIT_ERRLEN])
{
	int abi, llfd = -1, rc, n;
	bool partial;

	if ((rc = confine_rules_check(r, err)) < 0)
		return rc;
	/* Capabilities and Landlock hold per thread: another would stay free. */
	if ((n = nthreads()) != 1) {
		snprintf(err, WRIT_ERRLEN, n < 0 ? "confine: cannot count threads (/proc/self/status)" :
		    "confine: the process has %d threads; confine it before starting any", n);
		return WRIT_EINTERNAL;
	}
	abi = confine_landlock_abi();
	if (abi > 0 && (rc = ll_build(r, abi, &llfd, err)) < 0)
		return rc;
	/* From here on, a failure leaves part applied: the caller exits. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot set no_new_privs or non-dumpable: %s", strerror(errno));
		rc = WRIT_EINTERNAL;
		goto out;
	}
	if (llfd >= 0 && syscall(SYS_landlock_restrict_self, llfd, 0) != 0) {
		snprintf(err, WRIT_ERRLEN, "landlock: cannot restrict the process: %s", strerror(errno));
		rc = WRIT_EINTERNAL;
		goto out;
	}
	/* Before the filter, which refuses capset. */
	if ((rc = caps_drop(r->keep_caps, err)) < 0)
		goto out;
	if ((rc = confine_seccomp(err)) < 0)
		goto out;
	partial = ll_missing(abi, err);
	rc = partial ? CONFINE_PARTIAL : 0;
 out:
	if (llfd >= 0)
		close(llfd);
	return rc;
}
