/*
 * frontconfine.h - what writd's front end keeps once confined: the rules
 * it hands confine_front (confine.h) when its minter runs.
 *
 * Reachable after: the runtime directory, written (sockets, sessions,
 * the approver's scratch directory); the policy files, read (SIGHUP
 * reads them again: their directory where that reaches nothing hidden,
 * so that a file replaced by rename is still read); the approval
 * command, read and run, and what a program it runs needs (/usr, /bin,
 * /sbin, /lib*, read and run; /etc read; /dev/null, /dev/tty with its
 * ioctls, /dev/urandom; the display's XAUTHORITY file, read); /proc,
 * read (the process's own: a caller's exe, cwd and namespace are the
 * minter's to read, PEER); ci.issuers' JWKS and CA files, read, and TCP
 * to the ports of their jwks_url (53 too for a name to resolve, and the
 * directory /etc/resolv.conf leads to).  Nothing else: no other TCP, no
 * TCP listener, no capability.
 *
 * Out of reach, for good: the state directory (the audit log, the ledger,
 * the sealed store).  A rule that would reach it is refused (confine.h):
 * writd stops, saying which.
 */
#ifndef WRIT_FRONTCONFINE_H
#define WRIT_FRONTCONFINE_H

#include "errors.h"

struct config;

/* The approver command's scratch directory, below the runtime directory (its TMPDIR). */
#define FRONTCONFINE_SCRATCH "approver"

/*
 * Confine this process, single-threaded, for good by cfg's rules.
 * Returns 0; CONFINE_PARTIAL with what Landlock does not enforce here in
 * err (a warning: writd runs on); or a negative code with a message
 * (then writd must stop: part may be applied).  Warns on stderr of a
 * policy file it cannot keep readable.
 */
int frontconfine_apply(const struct config *cfg, char err[WRIT_ERRLEN]);

#endif
