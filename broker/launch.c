/*
 * launch.c - signals to the sandbox, and its exit status.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "launch.h"

static volatile sig_atomic_t target;

static void
on_signal(int sig)
{
	if (target > 0)
		kill((pid_t)target, sig);
}

void
launch_forward_signals(pid_t pid)
{
	struct sigaction sa = { .sa_handler = on_signal };

	target = pid;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int
launch_wait(pid_t pid)
{
	int status;
	pid_t w;

	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	target = 0;
	if (w < 0)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	errno = ECHILD;
	return -1;
}
