/*
 * confine.h - the confinement writd's front end applies to itself.
 *
 * The front end parses everything a sandbox sends; the minter alone holds
 * the keys (the keyring or the sealed store, the kinds' keys, the audit log
 * and the ledger).  Once started, the front end locks itself out of all of
 * that, for good, so that code an attacker runs in it still cannot get at
 * a key:
 *
 *   - PR_SET_NO_NEW_PRIVS and non-dumpable (writd's harden() sets both at
 *     start already; set again here, so the module holds on its own);
 *   - every capability dropped but those the caller keeps (never one that
 *     reads another process's memory or gets round the rest: see
 *     CONFINE_CAPS_NEVER);
 *   - a Landlock ruleset: only the paths listed stay reachable, and, as any
 *     Landlock domain, no ptrace or /proc/PID/mem of a process outside it,
 *     no signal to one (ABI 6);
 *   - a seccomp filter that fails the keyring calls, ptrace and the other
 *     ways into another process's memory or to more privilege with EPERM
 *     (the list and the reason for each are in confine.c).
 *
 * NB. Landlock checks what is opened after, never a descriptor already
 * open: the caller closes every fd into the state dir or the store first.
 * Nor does it stop a connect(2) to a Unix socket by path (no ABI up to 7
 * does): what the minter listens on must check its peer.
 */
#ifndef WRIT_CONFINE_H
#define WRIT_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>

#include "errors.h"

/* What a path rule lets the process do below the path. */
#define CONFINE_READ	0x1	/* read files, list directories */
#define CONFINE_WRITE	0x2	/* write, truncate, create and remove files,
				   directories and sockets, rename (a runtime dir) */
#define CONFINE_EXEC	0x4	/* execute files (an approver command) */
#define CONFINE_IOCTL	0x8	/* ioctl on a device (a terminal approver's
				   stty on /dev/tty); without it, Landlock
				   ABI 5 refuses all but a few */

/* Most path rules, and most hidden paths, in one set of rules. */
#define CONFINE_MAX_PATHS 32
/* Most TCP ports the process may still connect to. */
#define CONFINE_MAX_PORTS 8

/*
 * Capabilities a caller may never keep: each reads another process's
 * memory (SYS_PTRACE), gets round the path rules (DAC_READ_SEARCH for
 * open_by_handle_at, MKNOD for a device node of the state dir's disk,
 * SYS_RAWIO), round the filter or into the kernel (SYS_ADMIN, SYS_MODULE,
 * BPF, PERFMON), or changes who the process is (SETUID, SETGID, SETPCAP,
 * SETFCAP).
 */
#define CONFINE_CAPS_NEVER \
	((1ULL << CAP_SYS_PTRACE) | (1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_DAC_READ_SEARCH) | \
	 (1ULL << CAP_SYS_MODULE) | (1ULL << CAP_SYS_RAWIO) | (1ULL << CAP_BPF) | \
	 (1ULL << CAP_PERFMON) | (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID) | \
	 (1ULL << CAP_SETPCAP) | (1ULL << CAP_SETFCAP) | (1ULL << CAP_MKNOD))

/*
 * confine_front's result when all is in place but Landlock, or part of it
 * (this kernel's ABI lacks some rights): not an error, a warning the
 * caller logs; err says what is not enforced.
 */
#define CONFINE_PARTIAL 1

struct confine_path {
	const char *path;		/* absolute, no "." or ".." component */
	unsigned int access;		/* CONFINE_READ | CONFINE_WRITE | CONFINE_EXEC */
};

struct confine_rules {
	const struct confine_path *paths; /* what stays reachable; nothing else */
	size_t npaths;
	/*
	 * What must stay out of reach (the state dir, the sealed store's
	 * file): refused when one lies below a path above or holds one.
	 */
	const char *const *hidden;
	size_t nhidden;
	const uint16_t *tcp_connect;	/* TCP ports it may connect to (none: no TCP) */
	size_t ntcp_connect;
	uint64_t keep_caps;		/* capabilities kept (1 << CAP_x); the rest dropped */
};

/*
 * Check r without touching the process: at most CONFINE_MAX_PATHS paths
 * and hidden paths, each absolute, shorter than PATH_MAX, without a "."
 * or ".." component; each rule's access some of CONFINE_READ, _WRITE,
 * _EXEC, _IOCTL; no hidden path below or above a rule's path (compared by
 * component, as written: confine_front compares the resolved paths too);
 * ports non-zero; no capability of CONFINE_CAPS_NEVER kept.  Returns 0 or
 * WRIT_EBADREQ with a message naming the rule.
 */
int confine_rules_check(const struct confine_rules *r, char err[WRIT_ERRLEN]);

/*
 * Would a rule for path rule reach hidden (hidden below it, or it below
 * hidden), compared by component once both are resolved (a hidden path
 * that does not exist yet as written)?  For a caller choosing between a
 * file and its directory; an unresolvable rule reaches nothing (it is
 * refused when added).
 */
bool confine_path_reaches(const char *rule, const char *hidden);

/*
 * The Landlock ABI this kernel offers: 1 and up, or 0 when Landlock is
 * not built in or not enabled (lsm=).
 */
int confine_landlock_abi(void);

/*
 * Install the front end's seccomp filter alone on the calling thread
 * (irreversible; no_new_privs set first).  Returns 0, or WRIT_EINTERNAL
 * with a message (an architecture the filter does not know: x86_64 and
 * aarch64 only).
 */
int confine_seccomp(char err[WRIT_ERRLEN]);

/*
 * Confine the calling process for good, as the header comment says: r is
 * checked first (confine_rules_check; with Landlock, each path then opened
 * and the hidden ones checked against the rules' resolved paths: a symlink
 * could make a rule reach what its name does not), and the process must
 * have one thread (capabilities and Landlock hold per thread).  Returns 0 when all is in place;
 * CONFINE_PARTIAL when all but Landlock (or some of its rights) is, with
 * err saying what is missing; or a negative code with a message: then
 * nothing is applied if r or the thread count was wrong, but a failure
 * after that may leave part applied, and the caller must exit.  Touches
 * no secret.
 */
int confine_front(const struct confine_rules *r, char err[WRIT_ERRLEN]);

#endif
