/*
 * fsutil.h - private directories, Unix listen sockets, whole writes.
 */
#ifndef WRIT_FSUTIL_H
#define WRIT_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "errors.h"

/*
 * Make dir with mode 0700, or accept an existing one only when it is a real
 * directory (not a symlink), owned by us, with no group or other access
 * but for an ACL that lets named users search it and nothing more (as
 * writd's sessions for other uids leave on the runtime dir, session.h).
 * With parents, missing parents are made 0700 first.  Every component of
 * the path above dir (symlinks followed and checked) must be owned by us or
 * root and not writable by group or other unless sticky (/tmp is fine, a
 * 0777 directory or one of another user's is not): else someone could swap
 * dir after the check.  Returns 0 or a negative code with a message naming
 * the path.
 */
int fs_private_dir(const char *dir, int parents, char err[WRIT_ERRLEN]);

/*
 * Check every directory above dir as fs_private_dir does (dir itself is the
 * caller's): from /, symlinks followed by hand, each owned by root or by a
 * uid trusted() accepts (NULL: our euid), and not writable by others unless
 * sticky.  For clients that must not talk through a directory another user
 * could swap.  Returns 0 or a negative code with a message naming the path.
 */
int fs_check_parents(const char *dir, bool (*trusted)(uid_t uid), char err[WRIT_ERRLEN]);

/*
 * A client's check of writd's runtime dir before it talks through it: a real
 * directory (not a symlink), owned by root or a uid trusted() accepts, mode
 * 0700 (or 0710 from an ACL as fs_private_dir accepts), under parents fs_check_parents accepts.  Returns 0, WRIT_ENOTFOUND
 * when dir does not exist, or another code, each with a message that names
 * the path and the fix.
 */
int fs_check_client_dir(const char *dir, bool (*trusted)(uid_t uid), char err[WRIT_ERRLEN]);

/*
 * Hold dir/writd.lock (flock) for the life of the process, so that a second
 * writd on the same runtime dir stops before it touches anything.  Returns
 * 0 and the fd to keep open, or WRIT_EBUSY with a message.
 */
int fs_lock(const char *dir, int *ret_fd, char err[WRIT_ERRLEN]);

/*
 * Bind and listen on the Unix socket path (made 0600 by writd's umask).  A
 * socket left there by a dead writd is replaced; a live one is an error.
 * The caller guarantees path lies in a directory fs_private_dir checked, so
 * nothing outside writd's own directories is ever unlinked.  Returns 0 and
 * a non-blocking, close-on-exec fd, or a negative code with a message.
 */
int fs_listen_unix(const char *path, int *ret_fd, char err[WRIT_ERRLEN]);

/* Write all of p to fd, retrying short writes and EINTR.  Returns 0 or -1 (errno). */
int fs_write_all(int fd, const void *p, size_t len);

#endif
