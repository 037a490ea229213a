/*
 * approver.h - the approver command: a program that decides one request.
 *
 * Like SSH_ASKPASS: writd runs the configured program (approval.command)
 * for each request that needs a person, with the request JSON on its stdin
 * and a clean environment; exit status 0 approves, anything else denies.
 * writd does not wait for it on a thread: the child's pidfd joins the accept
 * loop's epoll and is reaped when it turns readable.  All functions: lock
 * held.
 */
#ifndef WRIT_APPROVER_H
#define WRIT_APPROVER_H

/* Start cmd for request id with json on its stdin.  Returns 0 or a code. */
int approver_spawn(const char *cmd, const char *id, const char *json);

/* Stop the command for request id, if one runs (the request was decided). */
void approver_cancel(const char *id);

/* Stop every command (at shutdown). */
void approver_cancel_all(void);

/* The command whose pidfd is fd has exited: reap it and decide its request. */
void approver_exited(int fd);

#endif
