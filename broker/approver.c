/*
 * approver.c - run the approver command without holding a thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "approval.h"
#include "approver.h"
#include "config.h"
#include "core.h"
#include "errors.h"
#include "frontconfine.h"
#include "id.h"
#include "server.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Variables the command may need to reach a desktop or a terminal. */
static const char *const passed_env[] = { "HOME", "LANG", "DISPLAY", "WAYLAND_DISPLAY",
    "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", NULL };

/* The command running now: at most one, so prompts never interleave. */
struct child {
	char id[WRIT_ID_LEN + 1];			/* "" once its request was decided elsewhere */
	int pidfd;
	int64_t kill_at;		/* monotonic: SIGKILL then, once cancelled; 0 none */
};

/* A request waiting for its turn, oldest first. */
struct turn {
	char id[WRIT_ID_LEN + 1];
	char *json;
	struct turn *next;
};

static struct child *current;
static struct turn *turns, **turns_tail = &turns;

/* Start the command for id.  Returns 0 or a code. */
static int
spawn(const char *cmd, const char *id, const char *json)
{
	char *argv[] = { (char *)cmd, NULL };
	char *envp[16], envbuf[8][512], tmpdir[PATH_MAX + 32];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	struct child *ch;
	int pipefd[2], n = 0, r;
	size_t len = strlen(json);
	pid_t pid;

	/* NB. a clean environment: nothing of writd's reaches the command. */
	envp[n++] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
	/* Where it may write, confined as writd's front end is (frontconfine.h). */
	snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s/" FRONTCONFINE_SCRATCH, writd_cfg->runtime_dir);
	envp[n++] = tmpdir;
	for (size_t i = 0; passed_env[i] != NULL && n < 10; i++) {
		const char *v = secure_getenv(passed_env[i]);

		if (v != NULL && strlen(v) < 400) {
			snprintf(envbuf[n - 2], sizeof(envbuf[0]), "%s=%s", passed_env[i], v);
			envp[n] = envbuf[n - 2];
			n++;
		}
	}
	envp[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return WRIT_EINTERNAL;
	/* The request (a few KiB) must fit the pipe: the write below cannot block. */
	if (len > 60000) {
		close(pipefd[0]);
		close(pipefd[1]);
		return WRIT_EINTERNAL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	/* NB. no setsid: a terminal approver needs writd's /dev/tty. */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&pid, cmd, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(pipefd[0]);
	if (r != 0) {
		close(pipefd[1]);
		fprintf(stderr, "writd: approval.command %s: %s\n", cmd, strerror(r));
		return WRIT_EINTERNAL;
	}
	/*
	 * NB. never block holding writd_lock: a pipe of a user over
	 * pipe-user-pages-soft holds one page.  Ask for room; a request that
	 * still does not fit fails (the command sees a cut JSON and denies).
	 */
	(void)fcntl(pipefd[1], F_SETPIPE_SZ, 65536);
	(void)fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
	if (write(pipefd[1], json, len) != (ssize_t)len && errno != EPIPE)
		fprintf(stderr, "writd: approval.command: the request did not fit its pipe\n");
	close(pipefd[1]);
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return WRIT_ENOMEM;
	}
	/* NB. the child cannot be reaped before we wait on it: this pidfd is its. */
	ch->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ch->pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(ch);
		return WRIT_EINTERNAL;
	}
	memcpy(ch->id, id, sizeof(ch->id));
	current = ch;
	server_watch_child(ch->pidfd);
	return 0;
}

/* Start the command for the oldest request waiting, once none runs. */
static void
next_turn(void)
{
	while (current == NULL && turns != NULL) {
		struct turn *t = turns;
		int r;

		if ((turns = t->next) == NULL)
			turns_tail = &turns;
		r = spawn(writd_cfg->approval_command, t->id, t->json);
		if (r < 0)
			approval_fail(t->id, WRIT_ENOAPPROVER);
		free(t->json);
		free(t);
	}
}

int
approver_ask(const char *id, const char *json)
{
	struct turn *t;

	if (current == NULL && turns == NULL)
		return spawn(writd_cfg->approval_command, id, json);
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->json = strdup(json)) == NULL) {
		free(t);
		return WRIT_ENOMEM;
	}
	memcpy(t->id, id, sizeof(t->id));
	*turns_tail = t;
	turns_tail = &t->next;
	return 0;
}

void
approver_cancel(const char *id)
{
	struct turn **pp;

	if (current != NULL && strcmp(current->id, id) == 0) {
		/*
		 * Reaped when its pidfd turns readable; the next turn starts then.
		 * NB. one that ignores SIGTERM would hold every later request:
		 * approver_tick() kills it after WRIT_APPROVER_KILL_GRACE.
		 */
		(void)syscall(SYS_pidfd_send_signal, current->pidfd, SIGTERM, NULL, 0);
		current->id[0] = '\0';
		current->kill_at = now_mono() + WRIT_APPROVER_KILL_GRACE;
		return;
	}
	for (pp = &turns; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			struct turn *t = *pp;

			if ((*pp = t->next) == NULL)
				turns_tail = pp;
			free(t->json);
			free(t);
			return;
		}
}

bool
approver_tick(int64_t now)
{
	if (current == NULL || current->kill_at == 0)
		return false;
	if (now >= current->kill_at)
		(void)syscall(SYS_pidfd_send_signal, current->pidfd, SIGKILL, NULL, 0);
	return true;
}

void
approver_cancel_all(void)
{
	siginfo_t si;

	while (turns != NULL) {
		struct turn *t = turns;

		turns = t->next;
		free(t->json);
		free(t);
	}
	turns_tail = &turns;
	if (current == NULL)
		return;
	(void)syscall(SYS_pidfd_send_signal, current->pidfd, SIGKILL, NULL, 0);
	(void)waitid((idtype_t)P_PIDFD, (id_t)current->pidfd, &si, WEXITED);
	close(current->pidfd);
	free(current);
	current = NULL;
}

void
approver_exited(int fd)
{
	struct child *ch = current;
	siginfo_t si;

	if (ch == NULL || ch->pidfd != fd)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) != 0 || si.si_pid == 0)
		return;		/* not yet: a stale event */
	current = NULL;
	server_unwatch_child(fd);
	close(fd);
	if (ch->id[0] != '\0')
		approval_command_done(ch->id, si.si_code == CLD_EXITED && si.si_status == 0);
	free(ch);
	next_turn();
}
