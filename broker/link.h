/*
 * link.h - the front end's end of the channel to its minter: starting
 * the minter, and whether it went away.  The calls themselves are
 * minter.h's (and audit.h's audit_log and audit_ok), which link.c makes
 * as messages of the request table (minter/proto.h).
 */
#ifndef WRIT_LINK_H
#define WRIT_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

struct config;

/*
 * Start the minter (writd-minter, beside writd's own executable, else in
 * WRIT_LIBEXECDIR) before anything secret is loaded, and wait for its
 * HELLO, which it sends once its store, logs and kinds are open.  It
 * gets the configuration text this process read (text, len bytes; NULL
 * for none) and cfg's resolved paths, and takes passfd (the sealed
 * store's passphrase, or -1) and a share of lockfd (the runtime
 * directory's lock, held until both processes exit).  Starts no thread:
 * the front end confines itself after it (confine.h), and the minter is
 * not confined with it.  Returns 0; or a negative code with a message
 * (the minter said why on stderr when it exited before its HELLO).
 */
int link_start(const struct config *cfg, const char *text, size_t len, int passfd, int lockfd,
    char err[WRIT_ERRLEN]);

/*
 * After link_start (and the confinement): start the thread that reads
 * what the minter sends; no call reaches the minter before.  Returns 0,
 * or WRIT_EINTERNAL with a message (writd stops).
 */
int link_run(char err[WRIT_ERRLEN]);

/*
 * The minter went away (it exited, or broke the table) before
 * minter_stop: the front end stops too (link.c raises SIGTERM), and
 * exits 1.
 */
bool link_lost(void);

#endif
