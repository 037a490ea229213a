/*
 * approver.h - the approver command: a program that decides one request.
 *
 * Like SSH_ASKPASS: writd runs the configured program (approval.command)
 * for each request that needs a person, with the request JSON on its stdin
 * and a clean environment; exit status 0 approves, anything else denies.
 * writd does not wait for it on a thread: the child's pidfd joins the accept
 * loop's epoll and is reaped when it turns readable.
 *
 * NB. One command at a time.  Two prompts on one terminal would interleave,
 * and a single "y" could answer the request the person was not reading; so
 * the others wait their turn (each still times out at its own deadline), and
 * the next starts only once the last has exited.  Its exit status decides
 * the request it was started for and no other.  All functions: lock held.
 */
#ifndef WRIT_APPROVER_H
#define WRIT_APPROVER_H

#include <stdbool.h>
#include <stdint.h>

/* Seconds a cancelled command has to exit after SIGTERM before SIGKILL. */
#define WRIT_APPROVER_KILL_GRACE 2

/*
 * Run approval.command for request id with json on its stdin: now, when no
 * command runs, else when its turn comes (approval_fail() then reports a
 * start that failed).  Returns 0, or a code when it could not start now.
 */
int approver_ask(const char *id, const char *json);

/* Stop the command for request id, or take it out of the queue (the request was decided). */
void approver_cancel(const char *id);

/*
 * Kill a cancelled command that is still there WRIT_APPROVER_KILL_GRACE
 * seconds after its SIGTERM.  Returns true while one is waiting to exit
 * (call again within a second).
 */
bool approver_tick(int64_t now);

/* Stop every command (at shutdown). */
void approver_cancel_all(void);

/* The command whose pidfd is fd has exited: reap it and decide its request. */
void approver_exited(int fd);

#endif
