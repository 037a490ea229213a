/*
 * sandbox-spool.c - run an agent under srt or Codex, writd through a spool.
 *
 * Order, as for bubblewrap: fork; the child waits on a pipe; the parent
 * opens the session with the child's pid; only then does the child exec
 * the tool (same pid), so writd closes the session when the tool exits,
 * however it exits.  Meanwhile the parent relays the spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include <jansson.h>

#include "../agent-side/libwrit.h"
#include "fsutil.h"
#include "id.h"
#include "launch.h"
#include "relay.h"
#include "sandbox-spool.h"

#define SPL_EFAIL 125
#define SPL_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* Most variables handed to the tool. */
#define SPL_MAX_ENV 96

/*
 * What srt must not show, under the home: credentials of the usual tools,
 * and writd's own files.  (bubblewrap shows an empty home instead; srt
 * cannot, as the workspace is often in the home and a path srt hides
 * cannot be made writable again.)
 */
static const char *const home_secrets[] = {
	".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".config/gh",
	".config/git/credentials", ".git-credentials", ".netrc", ".docker",
	".kube", ".npmrc", ".pypirc", ".cargo/credentials", ".cargo/credentials.toml",
	".password-store", ".local/share/keyrings", ".config/writ",
	".local/state/writ", NULL
};

static int
fail(const char *what, const char *why)
{
	fputs("writ-sandbox: ", stderr);
	writ_print_clean(stderr, what);
	if (why != NULL) {
		fputs(": ", stderr);
		writ_print_clean(stderr, why);
	}
	fputc('\n', stderr);
	return SPL_EFAIL;
}

static bool
uid_trusted(uid_t uid)
{
	return writ_uid_trusted(uid) > 0;
}

/* BASE (see sandbox-spool.h): made if missing, else only if it is ours alone. */
static int
base_dir(char out[PATH_MAX])
{
	const char *x = secure_getenv("XDG_RUNTIME_DIR");
	char err[WRIT_ERRLEN];
	struct stat st;
	int n;

	if (x != NULL && x[0] == '/')
		n = snprintf(out, PATH_MAX, "%s/writ-sandbox", x);
	else
		n = snprintf(out, PATH_MAX, "/tmp/writ-sandbox-%u", (unsigned)geteuid());
	if (n < 0 || n >= PATH_MAX)
		return fail("the runtime path is too long", NULL);
	if (fs_check_parents(out, uid_trusted, err) < 0)
		return fail("refusing the spool's directory", err);
	/* NB. write and search only: a run's name is its secret. */
	if (mkdir(out, 0300) != 0 && errno != EEXIST)
		return fail(out, strerror(errno));
	if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		fprintf(stderr, "writ-sandbox: refusing %s: it is not a directory of yours "
		    "that only you may use (another user may have made it first); "
		    "remove it, or set XDG_RUNTIME_DIR\n", out);
		return SPL_EFAIL;
	}
	/* NB. back to unlistable, whoever made it listable (ours: no race that matters). */
	if ((st.st_mode & 07777) != 0300 && chmod(out, 0300) != 0)
		return fail(out, strerror(errno));
	return 0;
}

static int
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return fail(dir, "path too long");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return fail(path, strerror(errno));
	r = fs_write_all(fd, text, strlen(text));
	if (close(fd) != 0 || r != 0)
		return fail(path, "cannot write it");
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	(void)(flag == FTW_DP ? rmdir(path) : unlink(path));
	return 0;
}

/* Remove RUN and everything in it, never following a link out of it. */
static void
run_remove(const char *run)
{
	if (run[0] != '\0')
		(void)nftw(run, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* A path that TOML and srt take as it is: no quote, backslash or control character. */
static bool
plain_path(const char *p)
{
	for (; *p != '\0'; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static void
add_path(json_t *a, const char *dir, const char *rel)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, rel) < sizeof(p))
		json_array_append_new(a, json_string(p));
}

/* srt's settings: what it hides, where the agent writes, which hosts its proxy lets through. */
static char *
srt_settings(const struct spool_launch *l, const char *spool, const char *tmp)
{
	json_t *deny = json_array(), *allow = json_array(), *write = json_array();
	json_t *dw = json_array(), *dom = json_array(), *s;
	char *text;

	json_array_append_new(deny, json_string(l->rundir));
	for (size_t i = 0; home_secrets[i] != NULL; i++)
		add_path(deny, l->home, home_secrets[i]);
	for (size_t i = 0; i < l->nro; i++)
		json_array_append_new(allow, json_string(l->ro[i]));
	json_array_append_new(write, json_string(l->ws));
	json_array_append_new(write, json_string(spool));
	json_array_append_new(write, json_string(tmp));
	for (size_t i = 0; i < l->nguard; i++)
		json_array_append_new(dw, json_string(l->guard[i]));
	for (size_t i = 0; i < l->ndomains; i++)
		json_array_append_new(dom, json_string(l->domains[i]));
	s = json_pack("{s{soso}s{sosososo}}",
	    "network", "allowedDomains", dom, "deniedDomains", json_array(),
	    "filesystem", "denyRead", deny, "allowRead", allow, "allowWrite", write,
	    "denyWrite", dw);
	text = s != NULL ? json_dumps(s, JSON_INDENT(2)) : NULL;
	json_decref(s);
	return text;
}

/*
 * argv for the tool: srt --settings FILE -- env TMPDIR=... CMD, or codex
 * sandbox -c ... -- env TMPDIR=... CMD.  The strings made for it go to
 * *ret_own and *ret_own_tmp, for the caller to free.
 */
static char **
tool_argv(const struct spool_launch *l, const char *run, const char *spool, const char *tmp,
    char **ret_own, char **ret_own_tmp)
{
	size_t n = 0, k = 0;
	char **argv;

	while (l->cmd[n] != NULL)
		n++;
	if ((argv = calloc(n + 18, sizeof(*argv))) == NULL)
		return NULL;
	argv[k++] = (char *)l->tool;
	if (strcmp(l->tool, "srt") == 0) {
		argv[k++] = (char *)"--settings";
		if (asprintf(ret_own, "%s/srt.json", run) < 0)
			goto fail;
		argv[k++] = *ret_own;
	} else {
		argv[k++] = (char *)"sandbox";
		argv[k++] = (char *)"-c";
		argv[k++] = (char *)"sandbox_mode=\"workspace-write\"";
		argv[k++] = (char *)"-c";
		if (asprintf(ret_own, "sandbox_workspace_write.writable_roots=[\"%s\", \"%s\"]",
		    spool, tmp) < 0)
			goto fail;
		argv[k++] = *ret_own;
		argv[k++] = (char *)"-c";
		argv[k++] = (char *)"sandbox_workspace_write.network_access=false";
		/* NB. else Codex lets the agent write the host's /tmp (and $TMPDIR). */
		argv[k++] = (char *)"-c";
		argv[k++] = (char *)"sandbox_workspace_write.exclude_slash_tmp=true";
		argv[k++] = (char *)"-c";
		argv[k++] = (char *)"sandbox_workspace_write.exclude_tmpdir_env_var=true";
	}
	argv[k++] = (char *)"--";
	/*
	 * NB. srt makes its proxy's sockets in $TMPDIR, where a long path
	 * fails (sun_path): it keeps the tool's, and only CMD gets the run's.
	 */
	argv[k++] = (char *)"/usr/bin/env";
	if (asprintf(ret_own_tmp, "TMPDIR=%s", tmp) < 0)
		goto fail;
	argv[k++] = *ret_own_tmp;
	memcpy(argv + k, l->cmd, n * sizeof(*argv));
	return argv;
 fail:
	free(argv);
	return NULL;
}

/* NAME=VALUE into env[*n]; false when it does not fit. */
static bool
env_add(char **env, size_t *n, const char *name, const char *value)
{
	if (value == NULL)
		return true;
	if (*n + 1 >= SPL_MAX_ENV || asprintf(&env[*n], "%s=%s", name, value) < 0)
		return false;
	(*n)++;
	return true;
}

/*
 * CODEX_HOME: writ-sandbox's own, so none of the user's Codex configuration
 * applies; $XDG_STATE_HOME/writ-sandbox/codex (~/.local/state/...), as Codex
 * refuses a home under a temporary directory.
 */
static int
codex_home(const struct spool_launch *l, char out[PATH_MAX])
{
	const char *base = secure_getenv("XDG_STATE_HOME");
	char err[WRIT_ERRLEN];
	int n;

	if (base != NULL && base[0] == '/')
		n = snprintf(out, PATH_MAX, "%s/writ-sandbox/codex", base);
	else
		n = snprintf(out, PATH_MAX, "%s/.local/state/writ-sandbox/codex", l->home);
	if (n < 0 || n >= PATH_MAX)
		return fail("CODEX_HOME", "path too long");
	if (fs_private_dir(out, 1, err) < 0)
		return fail("CODEX_HOME", err);
	return 0;
}

/* The tool's whole environment: a fixed list, and what the user named. */
static char **
tool_env(const struct spool_launch *l, const char *run, const char *spool)
{
	char **env = calloc(SPL_MAX_ENV, sizeof(*env)), cfg[PATH_MAX], home[PATH_MAX];
	const char *path = secure_getenv("PATH");
	size_t n = 0;
	bool ok;

	if (env == NULL)
		return NULL;
	snprintf(cfg, sizeof(cfg), "%s/gitconfig", run);
	if (strcmp(l->tool, "codex") == 0 && codex_home(l, home) != 0)
		goto fail;
	ok = env_add(env, &n, "PATH", path != NULL && *path != '\0' ? path : SPL_DEFAULT_PATH) &&
	    env_add(env, &n, "HOME", l->home) &&
	    env_add(env, &n, "TERM", secure_getenv("TERM")) &&
	    env_add(env, &n, "LANG", secure_getenv("LANG")) &&
	    env_add(env, &n, "WRIT_SPOOL", spool) &&
	    env_add(env, &n, "GIT_CONFIG_GLOBAL", cfg) &&
	    env_add(env, &n, "WRIT_SERVER_UID", secure_getenv("WRIT_SERVER_UID")) &&
	    (strcmp(l->tool, "codex") != 0 || env_add(env, &n, "CODEX_HOME", home));
	for (size_t i = 0; ok && i < l->nenv; i++) {
		if (secure_getenv(l->env[i]) == NULL)
			fprintf(stderr, "writ-sandbox: --env %s: not set here; not passed\n",
			    l->env[i]);
		ok = env_add(env, &n, l->env[i], secure_getenv(l->env[i]));
	}
	if (ok)
		return env;
 fail:
	for (size_t i = 0; env[i] != NULL; i++) {
		explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
	return NULL;
}

/* RUN and what is in it (see sandbox-spool.h); its paths into run, spool, tmp. */
static int
run_make(const struct spool_launch *l, char run[PATH_MAX], char spool[PATH_MAX],
    char tmp[PATH_MAX])
{
	char base[PATH_MAX], cfg[PATH_MAX + 64], name[33], *settings;
	unsigned char rnd[16];
	int r;

	if ((r = base_dir(base)) != 0)
		return r;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return fail("getrandom", strerror(errno));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(name + 2 * i, 3, "%02x", rnd[i]);
	if ((size_t)snprintf(run, PATH_MAX, "%s/%s", base, name) >= PATH_MAX ||
	    (size_t)snprintf(spool, PATH_MAX, "%s/spool", run) >= PATH_MAX ||
	    (size_t)snprintf(tmp, PATH_MAX, "%s/tmp", run) >= PATH_MAX)
		return fail(base, "path too long");
	if (mkdir(run, 0700) != 0) {
		run[0] = '\0';
		return fail(base, strerror(errno));
	}
	if (mkdir(spool, 0700) != 0 || mkdir(tmp, 0700) != 0)
		return fail(run, strerror(errno));
	/* git-credential-writ fills the URL's path in: writ scopes by repository. */
	snprintf(cfg, sizeof(cfg), "[credential]\n\thelper = %s\n\tuseHttpPath = true\n",
	    l->helper);
	if ((r = write_file(run, "gitconfig", cfg, 0444)) != 0)
		return r;
	if (strcmp(l->tool, "codex") == 0)
		return 0;
	if ((settings = srt_settings(l, spool, tmp)) == NULL)
		return fail("out of memory", NULL);
	r = write_file(run, "srt.json", settings, 0400);
	free(settings);
	return r;
}

static void
child_main(const struct spool_launch *l, int go_fd, char **argv, char **env)
{
	char c;
	ssize_t k;

	do
		k = read(go_fd, &c, 1);
	while (k < 0 && errno == EINTR);
	if (k != 1)
		_exit(SPL_EFAIL);
	/* The agent gets no descriptor the program that started us left open. */
	if (close_range(3, ~0U, 0) != 0)
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	/* NB. srt and Codex make user namespaces, whose user keyring is new; the session keyring is not. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0) {
		fprintf(stderr, "writ-sandbox: cannot make a new session keyring: %s\n",
		    strerror(errno));
		_exit(SPL_EFAIL);
	}
	if (chdir(l->ws) != 0) {
		fprintf(stderr, "writ-sandbox: %s: %s\n", l->ws, strerror(errno));
		_exit(SPL_EFAIL);
	}
	execve(l->toolpath, argv, env);
	fprintf(stderr, "writ-sandbox: %s: %s\n", l->toolpath, strerror(errno));
	_exit(SPL_EFAIL);
}

int
spool_launch(const struct spool_launch *l, spool_open_fn open_session,
    spool_close_fn close_session, void *ctx)
{
	char run[PATH_MAX] = "", spool[PATH_MAX], tmp[PATH_MAX], id[WRIT_ID_LEN + 1], sock[PATH_MAX];
	char err[WRIT_ERRLEN], **argv = NULL, **env = NULL, *own = NULL, *own_tmp = NULL;
	int go[2] = { -1, -1 }, pidfd = -1, r, st;
	bool opened = false;
	pid_t pid;

	if (!plain_path(l->ws) || !plain_path(l->home) || !plain_path(l->helper))
		return fail("a path has a quote, backslash or control character, which "
		    "the sandbox tool's settings cannot carry", l->ws);
	if ((r = run_make(l, run, spool, tmp)) != 0)
		goto out;
	if ((argv = tool_argv(l, run, spool, tmp, &own, &own_tmp)) == NULL ||
	    (env = tool_env(l, run, spool)) == NULL) {
		r = fail("too many variables, or out of memory", NULL);
		goto out;
	}
	if (pipe2(go, O_CLOEXEC) != 0) {
		r = fail("pipe", strerror(errno));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		r = fail("fork", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(go[1]);
		child_main(l, go[0], argv, env);
	}
	/* Passed on: the tool ends the sandbox, and the session closes after. */
	launch_forward_signals(pid);
	close(go[0]);
	go[0] = -1;
	if ((r = open_session(ctx, pid, id, sock)) == 0) {
		opened = true;
		if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
			r = fail("pidfd_open", strerror(errno));
		else if (write(go[1], "g", 1) != 1)
			r = fail("cannot start the sandbox", strerror(errno));
	}
	/* On failure the child reads EOF and exits without running anything. */
	close(go[1]);
	go[1] = -1;
	if (r == 0 && relay_run(spool, sock, pidfd, err) < 0) {
		/* NB. the agent runs, but cannot reach writd: stop it. */
		fail("the spool relay", err);
		kill(pid, SIGTERM);
		r = SPL_EFAIL;
	}
	if ((st = launch_wait(pid)) < 0 && r == 0)
		r = fail("waitpid", strerror(errno));
	else if (r == 0)
		r = st;
	if (opened)
		close_session(ctx, id);
 out:
	if (pidfd >= 0)
		close(pidfd);
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	run_remove(run);
	/* NB. --env values may be secrets the user hands the agent. */
	for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
		explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
	free(argv);
	free(own);
	free(own_tmp);
	return r;
}
