/*
 * launch.h - what writ-sandbox does with the sandbox's process, whichever
 * tool it is: pass the user's signals on, and wait for its exit status.
 */
#ifndef WRIT_LAUNCH_H
#define WRIT_LAUNCH_H

#include <sys/types.h>

/*
 * From now on SIGINT, SIGTERM and SIGHUP go to pid instead (the sandbox
 * ends, and the caller closes the session after).  0: back to nobody.
 */
void launch_forward_signals(pid_t pid);

/*
 * Wait for pid and stop forwarding to it.  Returns its exit status as a
 * shell gives it (128 + N for signal N), or -1 with errno.
 */
int launch_wait(pid_t pid);

#endif
