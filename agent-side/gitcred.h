/*
 * gitcred.h - the reader of git's credential protocol (git-credential(1)):
 * the key=value lines git writes to a helper's stdin, up to a blank line
 * or the end.
 *
 * At least as strict as git itself: a CR or NUL anywhere, a line longer
 * than git allows, a line that is not key=value, or a key writ uses given
 * twice refuses the whole block.  Keys writ does not use are skipped (git
 * sends more than protocol, host, path and password, and more over time).
 * Pure: no I/O, so that it is fuzzed alone (tests/fuzz/fuzz_credential.c).
 */
#ifndef WRIT_GITCRED_H
#define WRIT_GITCRED_H

#include <stddef.h>

/* Longest line git may send, newline included. */
#define GITCRED_MAX_LINE 65535
/* Most input read at all, in bytes. */
#define GITCRED_MAX_INPUT (256 * 1024)

/* The values writ uses; each points into the parsed buffer, or is NULL. */
struct gitcred {
	char *protocol, *host, *path, *password;
};

/*
 * Parse buf[0..len) in place (buf holds len + 1 bytes: a NUL may be put at
 * buf[len]) into *c, which must start zeroed.  Returns 0, every value found
 * NUL-terminated inside buf and free of CR, LF and NUL; or -1 with *ret_why,
 * a message for the user (c may then be half filled: do not use it).
 */
int gitcred_parse(struct gitcred *c, char *buf, size_t len, const char **ret_why);

#endif
