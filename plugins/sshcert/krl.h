/*
 * krl.h - the Key Revocation List writd keeps for its SSH certificates.
 *
 * An SSH certificate cannot be recalled: sshd accepts it until its
 * valid_before unless its serial is in the KRL named by RevokedKeys
 * (OpenSSH's format, PROTOCOL.krl).  writd keeps one KRL file of its own:
 * a header and, per CA, a KRL_SECTION_CERTIFICATES with a serial list.
 *
 * Beside it, <path>.state (JSON, mode 0600) records each serial's CA and
 * valid_before, which the KRL format has no room for, so that an entry
 * leaves once its certificate has expired (plus the grace for clocks
 * behind ours).  The state file is written first, then the KRL; each by
 * a temporary file, fsync, rename and a fsync of the directory, so sshd
 * never reads half a file and a crash between the two leaves the state
 * ahead, from which the next write makes the KRL again.
 *
 * Entries leave the files as they expire: a thread of the krl's own wakes
 * at the earliest valid_before + grace and writes both again (a failed
 * write there leaves expired serials in the files, which is harmless:
 * sshd refuses an expired certificate anyway; the next write drops them).
 *
 * Functions other than krl_encode take the krl's own lock; they do file
 * I/O and so run where waiting is allowed (writd's upstream workers, and
 * at start).  Nothing here logs or touches a secret.
 */
#ifndef WRIT_SSHCERT_KRL_H
#define WRIT_SSHCERT_KRL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sjson.h"
#include "wire.h"

/* Most serials in the KRL at once (revoked and not yet expired). */
#define WRIT_SSHCERT_KRL_MAX 100000

struct krl_entry {
	unsigned char ca[32];		/* the CA's Ed25519 public key */
	uint64_t serial;		/* never 0: sshd ignores serial 0 */
	int64_t valid_before;		/* the certificate's, Unix seconds */
};

struct krl {
	pthread_mutex_t lock;		/* guards all below, and the files */
	pthread_cond_t wake;		/* an entry was added, or stop */
	pthread_t pruner;		/* drops entries as they expire */
	bool running, stopping;
	char path[PATH_MAX];		/* the KRL sshd reads */
	char state[PATH_MAX + 8];	/* path.state */
	int64_t grace;			/* seconds an entry outlives valid_before */
	uint64_t version;		/* krl_version of the last file written */
	struct krl_entry *e;
	size_t n, cap;
};

/*
 * The KRL of entries e[0..n) (any order) as of now, version, into out
 * (appended).  Pure.  Returns 0, or WRIT_ENOMEM.
 */
int krl_encode(const struct krl_entry *e, size_t n, uint64_t version, int64_t now,
    struct wire_buf *out);

/*
 * Take over the KRL at path (absolute): read path.state when there is
 * one, drop what has expired, and write both files when that changed
 * anything or one is missing, so sshd finds a KRL from the start; then
 * start the pruning thread.  A file at path without its .state beside it is
 * not writd's and is refused rather than overwritten.  Returns 0, or a
 * code with a message naming the file.
 */
int krl_open(struct krl *k, const char *path, int64_t grace, int64_t now,
    char err[WRIT_ERRLEN]);

/*
 * Revoke serial of CA ca, whose certificate is valid before valid_before:
 * added (once), expired entries dropped, both files written before it
 * returns.  Returns 0, or a code with a message (nothing changed then).
 */
int krl_revoke(struct krl *k, const unsigned char ca[32], uint64_t serial,
    int64_t valid_before, int64_t now, char err[WRIT_ERRLEN]);

/* Drop entries expired at now; the files are written only when one was. */
int krl_prune(struct krl *k, int64_t now, char err[WRIT_ERRLEN]);

/* Stop the pruning thread and free k's memory (the files stay). */
void krl_close(struct krl *k);

#endif
