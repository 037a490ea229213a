/*
 * writ-sandbox - run an agent in bubblewrap with a writ session of its own.
 *
 * The host side: opens a session on writd's admin socket tied to the
 * sandbox's process, runs CMD under bwrap with the session socket at
 * /run/writ/agent.sock and nothing else of the user's (no environment, no
 * home, no network, no keyring, the system read-only, agent configuration
 * files in the workspace read-only), then closes the session.  Never runs
 * inside a sandbox.
 *
 * Order: fork; the child waits on a pipe; the parent opens the session with
 * the child's pid and writes bwrap's arguments; only then does the child
 * exec bwrap (same pid).  So the session exists before the agent runs, and
 * writd closes it, revoking its writs, when bwrap exits however it exits
 * (writd watches the pid); the DELETE at the end is for the ordinary case.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include <jansson.h>

#include "../agent-side/libwrit.h"
#include "errors.h"
#include "fsutil.h"
#include "id.h"
#include "launch.h"
#include "sandbox-spool.h"

/* Exit status of writ-sandbox's own failures (as env(1) and timeout(1) do). */
#define SBX_EFAIL 125
/* Most --ro paths and --env names on one command line. */
#define SBX_MAX_RO 64
#define SBX_MAX_ENV 64
/* Largest --profile file, in bytes (a profile is a short list of paths). */
#define SBX_MAX_PROFILE (64 * 1024)
/* Most "guard" paths in a profile, and the longest one, in bytes. */
#define SBX_MAX_GUARD 32
#define SBX_MAX_GUARD_PATH 255
/* Most guarded paths in all: the built-in ones, the profile's, their parents. */
#define SBX_MAX_GUARDED 128
/* Longest --git-host. */
#define SBX_MAX_HOST 255
/* Largest argument list handed to bwrap, in bytes. */
#define SBX_MAX_ARGS (1024 * 1024)
/* Highest descriptor closed one by one where close_range(2) is missing. */
#define SBX_MAX_FDS 65536
/* How long one exchange with writd may take, in ms. */
#define SBX_TIMEOUT 30000

/* Inside the sandbox. */
#define SBX_AGENT_SOCK WRIT_DEFAULT_SOCKET
#define SBX_GITCONFIG "/run/writ/gitconfig"
#define SBX_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static const char usage[] =
"usage: writ-sandbox [--workspace DIR] [--profile FILE] [--net none|host] [--ro PATH]...\n"
"                    [--env NAME]... [--name NAME] [--git-host HOST] [--runtime-dir DIR]\n"
"                    -- CMD [ARGS]\n"
"\n"
"Run CMD in a bubblewrap sandbox with a writ session of its own: writ and\n"
"git-credential-writ inside reach writd through /run/writ/agent.sock, and\n"
"the session closes (its writs revoked) when CMD exits.\n"
"\n"
"  --workspace DIR  the only place CMD may write (default: the current dir);\n"
"                   agent configuration files in it stay read-only and cannot\n"
"                   be created: .git/config .git/hooks/ .gitmodules .cursorrules\n"
"                   .cursor/ .claude/ CLAUDE.md AGENTS.md .mcp.json .vscode/\n"
"                   .idea/ .github/copilot-instructions.md\n"
"  --net none|host  no network (default), or the host's (warns)\n"
"  --ro PATH        also show PATH read-only (e.g. a toolchain under your home)\n"
"  --env NAME       pass the variable NAME in; the environment is otherwise\n"
"                   PATH TERM LANG HOME WRIT_SOCKET GIT_CONFIG_GLOBAL only\n"
"  --name NAME      the session's name, shown when approving (default: sandbox)\n"
"  --git-host HOST  the GitHub host git-credential-writ answers for inside\n"
"                   (default github.com; HOST:PORT for another server)\n"
"  --profile FILE   a JSON file of more of the above, which the command line\n"
"                   adds to: {\"ro\": [PATH...], \"env\": [NAME...], \"net\":\n"
"                   \"none\"|\"host\", \"guard\": [PATH...]}; ro paths absolute or\n"
"                   ~/...; guard paths relative to the workspace, kept read-only\n"
"                   and uncreatable like the list above (a trailing / makes a\n"
"                   missing one a directory).  FILE must be yours or root's, not\n"
"                   writable by others, and not in the workspace\n"
"  --runtime-dir DIR  writd's runtime dir (else $WRIT_RUNTIME_DIR,\n"
"                   $XDG_RUNTIME_DIR/writ, /tmp/writ-UID)\n"
"\n"
"Inside: home is an empty tmpfs (so ~/.ssh, ~/.aws, ... are not there), /tmp\n"
"and /run are empty, the rest of the system is read-only, a new pid, user and\n"
"network namespace, a new session keyring, git's credential.helper is\n"
"git-credential-writ; WRIT_SERVER_UID is set when writd's uid is not mapped\n"
"inside (writd under another user).  Exit status: CMD's; 125 when\n"
"writ-sandbox fails.\n";

/* A NUL-separated argument list for bwrap's --args (never bwrap's argv). */
struct args {
	char *p;
	size_t len, cap;
	bool failed;
};

/*
 * One agent configuration path in the workspace.  RO: read-only, and made
 * (empty) when missing so that it cannot be created.  PIN: a directory
 * that holds RO entries, bound over itself so that it is a mount point:
 * else the agent renames it away (rename(2) moves a directory whose
 * children are mount points) and makes a new one with hooks of its choice.
 */
enum guard { RO, PIN };
static const struct {
	const char *path;
	bool dir;		/* what to make when missing */
	enum guard guard;
} guarded[] = {
	{ ".git", true, PIN },
	{ ".git/config", false, RO },
	{ ".git/hooks", true, RO },
	{ ".gitmodules", false, RO },
	{ ".cursorrules", false, RO },
	{ ".cursor", true, RO },
	{ ".claude", true, RO },
	{ "CLAUDE.md", false, RO },
	{ "AGENTS.md", false, RO },
	{ ".mcp.json", false, RO },
	{ ".vscode", true, RO },
	{ ".idea", true, RO },
	{ ".github", true, PIN },
	{ ".github/copilot-instructions.md", false, RO },
	{ NULL, false, RO },
};

/* One path to guard: the built-in list's, a profile's, or a parent of one. */
struct guard_entry {
	char path[SBX_MAX_GUARD_PATH + 1];	/* relative to the workspace */
	bool dir;
	enum guard guard;
	int parent;		/* index of the entry holding it; -1: the workspace */
};

/* What writ-sandbox made in the workspace, removed again at the end. */
struct placeholder {
	char path[SBX_MAX_GUARD_PATH + 1];
	dev_t dev;
	ino_t ino;
	struct timespec ctime;	/* a file's: any change to it after is someone's */
	bool dir;
};

/*
 * What to run and how: parse and profile_load fill in the first part,
 * find_runtime_dir and resolve the paths; any launcher (bwrap here) takes
 * it from there.
 */
struct sandbox {
	const char *tool;	/* "bwrap", or "srt" / "codex" (sandbox-spool.h) */
	const char *domains[SBX_MAX_RO];	/* --allow-domain: srt's proxy lets them through */
	size_t ndomains;
	char toolpath[PATH_MAX];
	const char *name, *net, *runtime_dir, *profile, *git_host;
	const char *ro[SBX_MAX_RO], *env[SBX_MAX_ENV], *guard[SBX_MAX_GUARD];
	size_t nro, nenv, nguard;
	bool net_given;		/* --net on the command line: the profile's is ignored */
	char **cmd;
	json_t *prof;		/* the profile: owns the strings in ro, env, guard */
	char profile_path[PATH_MAX];	/* the file it was read from */
	char ws[PATH_MAX], home[PATH_MAX], rundir[PATH_MAX], admin[PATH_MAX];
	char bwrap[PATH_MAX], helper[PATH_MAX], writ[PATH_MAX];
	long server_uid;	/* writd's uid, as the admin socket told (-1: unknown) */
	int wsfd;
	struct guard_entry gl[SBX_MAX_GUARDED];
	size_t ngl;
	struct placeholder ph[SBX_MAX_GUARDED];
	size_t nph;
	char recdir[PATH_MAX];	/* where placeholders_record writes; "" for none */
	char recpath[PATH_MAX];	/* this run's record, once written */
};


static int
die(const char *what, const char *why)
{
	fputs("writ-sandbox: ", stderr);
	writ_print_clean(stderr, what);
	if (why != NULL) {
		fputs(": ", stderr);
		writ_print_clean(stderr, why);
	}
	fputc('\n', stderr);
	return SBX_EFAIL;
}

static void
args_add(struct args *a, const char *s)
{
	size_t n = strlen(s) + 1;

	if (a->failed)
		return;
	if (a->len + n > SBX_MAX_ARGS) {
		a->failed = true;
		return;
	}
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 4096;
		char *p;

		while (cap < a->len + n)
			cap *= 2;
		if ((p = realloc(a->p, cap)) == NULL) {
			a->failed = true;
			return;
		}
		a->p = p;
		a->cap = cap;
	}
	memcpy(a->p + a->len, s, n);
	a->len += n;
}

static void
args_add2(struct args *a, const char *opt, const char *v)
{
	args_add(a, opt);
	args_add(a, v);
}

static void
args_add3(struct args *a, const char *opt, const char *v1, const char *v2)
{
	args_add(a, opt);
	args_add(a, v1);
	args_add(a, v2);
}

/* Is path equal to dir or below it?  Both absolute and canonical. */
static bool
path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool
env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") == strlen(s);
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && s[0] != '.' && s[0] != '-' &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

/* Variables writ-sandbox sets itself: --env cannot override them. */
static bool
env_reserved(const char *s)
{
	static const char *const own[] = { "PATH", "HOME", "WRIT_SOCKET",
	    "GIT_CONFIG_GLOBAL", "WRIT_SERVER_UID", NULL };

	for (size_t i = 0; own[i] != NULL; i++)
		if (strcmp(s, own[i]) == 0)
			return true;
	return false;
}

/* A host[:port] for git's config: nothing a config file or a shell would read as syntax. */
static bool
host_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= SBX_MAX_HOST && s[0] != '-' &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789.-:[]") == n;
}

/* One variable to pass in, from --env or a profile's "env". */
static int
env_add(struct sandbox *sb, const char *v)
{
	if (!env_name_ok(v))
		return die("--env takes a variable name, not", v);
	if (env_reserved(v))
		return die("--env cannot set a variable writ-sandbox sets", v);
	if (sb->nenv == SBX_MAX_ENV)
		return die("too many --env names", NULL);
	sb->env[sb->nenv++] = v;
	return 0;
}

static int
parse(int argc, char **argv, struct sandbox *sb)
{
	int i, r;

	sb->net = "none";
	sb->name = "sandbox";
	sb->tool = "bwrap";
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--") == 0)
			break;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
		if (strcmp(o, "--version") == 0) {
			puts("writ-sandbox " WRIT_VERSION);
			exit(0);
		}
		if (strcmp(o, "--srt") == 0 || strcmp(o, "--codex") == 0) {
			if (strcmp(sb->tool, "bwrap") != 0)
				return die("--srt or --codex: one sandbox tool at a time", NULL);
			sb->tool = o + 2;
			continue;
		}
		if (v == NULL || strcmp(v, "--") == 0 ||
		    (strcmp(o, "--workspace") != 0 && strcmp(o, "--net") != 0 &&
		    strcmp(o, "--ro") != 0 && strcmp(o, "--env") != 0 &&
		    strcmp(o, "--name") != 0 && strcmp(o, "--runtime-dir") != 0 &&
		    strcmp(o, "--profile") != 0 && strcmp(o, "--git-host") != 0 &&
		    strcmp(o, "--allow-domain") != 0)) {
			if (o[0] != '-')
				fprintf(stderr, "writ-sandbox: '%s': put -- before the "
				    "command (writ-sandbox [options] -- CMD)\n", o);
			else
				fprintf(stderr, "writ-sandbox: %s: unknown option or missing "
				    "value\n", o);
			fputs(usage, stderr);
			return SBX_EFAIL;
		}
		i++;
		if (strcmp(o, "--workspace") == 0)
			snprintf(sb->ws, sizeof(sb->ws), "%s", v);
		else if (strcmp(o, "--net") == 0) {
			if (strcmp(v, "none") != 0 && strcmp(v, "host") != 0)
				return die("--net takes none or host, not", v);
			sb->net = v;
			sb->net_given = true;
		} else if (strcmp(o, "--ro") == 0) {
			if (sb->nro == SBX_MAX_RO)
				return die("too many --ro paths", NULL);
			sb->ro[sb->nro++] = v;
		} else if (strcmp(o, "--env") == 0) {
			if ((r = env_add(sb, v)) != 0)
				return r;
		} else if (strcmp(o, "--profile") == 0) {
			if (sb->profile != NULL)
				return die("one --profile only", NULL);
			sb->profile = v;
		} else if (strcmp(o, "--allow-domain") == 0) {
			/* NB. srt's own syntax (example.com, *.example.com): srt judges the rest. */
			if (*v == '\0' || *v == '-' || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789.-*:[]") != strlen(v))
				return die("--allow-domain takes a host name, not", v);
			if (sb->ndomains == SBX_MAX_RO)
				return die("too many --allow-domain hosts", NULL);
			sb->domains[sb->ndomains++] = v;
		} else if (strcmp(o, "--git-host") == 0) {
			if (!host_ok(v))
				return die("--git-host takes a host or host:port, not", v);
			sb->git_host = v;
		} else if (strcmp(o, "--name") == 0) {
			if (!name_ok(v))
				return die("--name takes 1-64 characters of [A-Za-z0-9._-], "
				    "not starting with '.' or '-'", NULL);
			sb->name = v;
		} else
			sb->runtime_dir = v;
	}
	if (i >= argc) {
		fputs("writ-sandbox: missing -- and the command to run\n", stderr);
		fputs(usage, stderr);
		return SBX_EFAIL;
	}
	if (i + 1 >= argc) {
		fputs("writ-sandbox: no command after --\n", stderr);
		return SBX_EFAIL;
	}
	sb->cmd = argv + i + 1;
	return 0;
}

/*
 * Why a profile's guard path is refused, or NULL.  Relative to the
 * workspace, plain components only: ".." or an absolute path would guard
 * (and make placeholders) outside it.  One trailing '/' is allowed.
 */
static const char *
guard_path_check(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > SBX_MAX_GUARD_PATH)
		return "is too long";
	if (s[0] == '/')
		return "is absolute: guard paths are relative to the workspace";
	for (const char *c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "holds a control character";
	for (const char *c = s; *c != '\0';) {
		size_t k = strcspn(c, "/");

		if (k == 0)
			return "has an empty component (//)";
		if ((k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
			return "has a . or .. component";
		c += k;
		if (*c == '/' && *++c == '\0')
			break;		/* the trailing '/' */
	}
	return NULL;
}

static int
profile_error(const struct sandbox *sb, const char *key, const char *why)
{
	fputs("writ-sandbox: profile ", stderr);
	writ_print_clean(stderr, sb->profile);
	if (key != NULL) {
		fputs(": \"", stderr);
		writ_print_clean(stderr, key);
		fputc('"', stderr);
	}
	fputs(": ", stderr);
	writ_print_clean(stderr, why);
	fputc('\n', stderr);
	return SBX_EFAIL;
}

/*
 * Open and check the profile file.  NB. it widens the sandbox (paths,
 * variables, the network): so, as doas takes its config, only a regular
 * file of ours or root's that nobody else can write, under directories
 * nobody else can swap, and never in the workspace, which the agent
 * writes (checked in resolve, once the workspace is known).
 */
static int
profile_open(struct sandbox *sb, int *ret_fd)
{
	char link[64], dir[PATH_MAX], err[WRIT_ERRLEN];
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(sb->profile, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return profile_error(sb, NULL, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return profile_error(sb, NULL, "not a regular file");
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		close(fd);
		return profile_error(sb, NULL, "owned by another user; it must be yours or root's");
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		close(fd);
		return profile_error(sb, NULL, "writable by group or others; chmod go-w it");
	}
	if (st.st_size > SBX_MAX_PROFILE) {
		close(fd);
		return profile_error(sb, NULL, "larger than 64 KiB");
	}
	/* The file opened, wherever symlinks led: its real path and parents. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, sb->profile_path, sizeof(sb->profile_path) - 1)) <= 0 ||
	    (size_t)n >= sizeof(sb->profile_path) - 1 || sb->profile_path[0] != '/') {
		close(fd);
		return profile_error(sb, NULL, "cannot tell where it is");
	}
	sb->profile_path[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", sb->profile_path);
	*strrchr(dir, '/') = '\0';
	if (fs_check_parents(dir[0] != '\0' ? dir : "/", NULL, err) < 0) {
		close(fd);
		return profile_error(sb, NULL, err);
	}
	*ret_fd = fd;
	return 0;
}

/* An array of strings, each passed to add; the key named on every error. */
static int
profile_strings(struct sandbox *sb, const char *key, json_t *v,
    int (*add)(struct sandbox *, const char *, const char *))
{
	size_t i;
	json_t *e;
	int r;

	if (!json_is_array(v))
		return profile_error(sb, key, "must be an array of strings");
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return profile_error(sb, key, "must be an array of strings");
		if ((r = add(sb, key, json_string_value(e))) != 0)
			return r;
	}
	return 0;
}

static int
profile_ro(struct sandbox *sb, const char *key, const char *v)
{
	if (v[0] != '/' && strncmp(v, "~/", 2) != 0)
		return profile_error(sb, key, "paths must be absolute or start with ~/");
	if (sb->nro == SBX_MAX_RO)
		return die("too many --ro paths", NULL);
	sb->ro[sb->nro++] = v;
	return 0;
}

static int
profile_env(struct sandbox *sb, const char *key, const char *v)
{
	(void)key;
	return env_add(sb, v);
}

static int
profile_guard(struct sandbox *sb, const char *key, const char *v)
{
	const char *why = guard_path_check(v);
	char msg[SBX_MAX_GUARD_PATH + 128];

	if (why != NULL) {
		snprintf(msg, sizeof(msg), "'%.*s' %s", SBX_MAX_GUARD_PATH, v, why);
		return profile_error(sb, key, msg);
	}
	if (sb->nguard == SBX_MAX_GUARD)
		return profile_error(sb, key, "too many paths (at most 32)");
	sb->guard[sb->nguard++] = v;
	return 0;
}

/*
 * Read --profile FILE into sb, after the command line (which it adds to;
 * --net on the command line wins).  Strict: bad JSON, a key not known, a
 * value of the wrong type or a bad entry is an error, before anything runs.
 */
static int
profile_load(struct sandbox *sb)
{
	char *buf = NULL, msg[JSON_ERROR_TEXT_LENGTH + 64];
	json_error_t je;
	const char *key;
	size_t len = 0;
	json_t *v;
	ssize_t k;
	int fd, r;

	if (sb->profile == NULL)
		return 0;
	if ((r = profile_open(sb, &fd)) != 0)
		return r;
	if ((buf = malloc(SBX_MAX_PROFILE + 1)) == NULL) {
		close(fd);
		return die("out of memory", NULL);
	}
	/* NB. the size fstat gave is no bound: the file may grow meanwhile. */
	while (len <= SBX_MAX_PROFILE &&
	    (k = read(fd, buf + len, SBX_MAX_PROFILE + 1 - len)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = profile_error(sb, NULL, strerror(errno));
			goto out;
		}
		len += (size_t)k;
	}
	if (len > SBX_MAX_PROFILE) {
		r = profile_error(sb, NULL, "larger than 64 KiB");
		goto out;
	}
	sb->prof = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (sb->prof == NULL) {
		snprintf(msg, sizeof(msg), "not valid JSON: line %d: %s", je.line, je.text);
		r = profile_error(sb, NULL, msg);
		goto out;
	}
	if (!json_is_object(sb->prof)) {
		r = profile_error(sb, NULL, "must be a JSON object");
		goto out;
	}
	r = 0;
	json_object_foreach(sb->prof, key, v) {
		if (strcmp(key, "ro") == 0)
			r = profile_strings(sb, key, v, profile_ro);
		else if (strcmp(key, "env") == 0)
			r = profile_strings(sb, key, v, profile_env);
		else if (strcmp(key, "guard") == 0)
			r = profile_strings(sb, key, v, profile_guard);
		else if (strcmp(key, "net") == 0) {
			const char *net = json_string_value(v);

			if (net == NULL || (strcmp(net, "none") != 0 && strcmp(net, "host") != 0))
				r = profile_error(sb, key, "must be \"none\" or \"host\"");
			else if (!sb->net_given)
				sb->net = net;
		} else
			r = profile_error(sb, key, "unknown key (known: ro, env, guard, net)");
		if (r != 0)
			break;
	}
 out:
	free(buf);
	close(fd);
	return r;
}

/* fs_check_parents' test of a component's owner: the uids we talk to. */
static bool
uid_trusted(uid_t uid)
{
	return writ_uid_trusted(uid) > 0;
}

/*
 * writd's runtime dir, as writctl finds and checks it: a directory only a
 * trusted uid could have made or swapped, so that what we send (and the
 * socket we hand the agent) are writd's.
 * The checks are writd's own (fs_check_client_dir).
 */
static int
find_runtime_dir(struct sandbox *sb)
{
	const char *dir = sb->runtime_dir, *base;
	char path[PATH_MAX], err[WRIT_ERRLEN];
	int n;

	if (dir == NULL || *dir == '\0')
		dir = secure_getenv("WRIT_RUNTIME_DIR");
	if (dir != NULL && *dir != '\0')
		n = snprintf(path, sizeof(path), "%s", dir);
	else if ((base = secure_getenv("XDG_RUNTIME_DIR")) != NULL && base[0] == '/')
		n = snprintf(path, sizeof(path), "%s/writ", base);
	else
		n = snprintf(path, sizeof(path), "/tmp/writ-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= sizeof(path))
		return die("the runtime dir path is too long", NULL);
	if ((n = fs_check_client_dir(path, uid_trusted, err)) == WRIT_ENOTFOUND) {
		fprintf(stderr, "writ-sandbox: no writd runtime dir at %s; is writd "
		    "running?  Start it, or pass --runtime-dir\n", path);
		return SBX_EFAIL;
	}
	if (n < 0)
		return die("refusing the runtime dir", err);
	if (realpath(path, sb->rundir) == NULL)
		return die(path, strerror(errno));
	n = snprintf(sb->admin, sizeof(sb->admin), "%s/admin.sock", sb->rundir);
	if (n < 0 || (size_t)n >= sizeof(sb->admin))
		return die("the runtime dir path is too long", NULL);
	return 0;
}

/* The first executable name in $PATH (absolute entries only), into out. */
static int
find_in_path(const char *name, char out[PATH_MAX])
{
	const char *path = secure_getenv("PATH");
	char buf[PATH_MAX];

	if (path == NULL || *path == '\0')
		path = SBX_DEFAULT_PATH;
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		int k = snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);

		/* NB. a relative entry ("", ".") would run whatever the cwd holds. */
		if (path[0] == '/' && k > 0 && (size_t)k < sizeof(buf) &&
		    access(buf, X_OK) == 0 && realpath(buf, out) != NULL)
			return 0;
		path += n;
		if (*path == ':')
			path++;
	}
	return -1;
}

/* Resolve paths: workspace, home, bwrap, and writ's binaries next to ours. */
static int
resolve(struct sandbox *sb)
{
	char self[PATH_MAX], given[PATH_MAX];
	const char *h = secure_getenv("HOME");
	struct passwd *pw;
	struct stat st;
	ssize_t n;

	snprintf(given, sizeof(given), "%s", sb->ws[0] != '\0' ? sb->ws : ".");
	if (realpath(given, sb->ws) == NULL || stat(sb->ws, &st) != 0)
		return die(given, "no such workspace directory");
	if (!S_ISDIR(st.st_mode))
		return die(given, "the workspace is not a directory");
	if ((h == NULL || h[0] != '/') && (pw = getpwuid(getuid())) != NULL)
		h = pw->pw_dir;
	if (h == NULL || h[0] != '/')
		return die("cannot tell your home directory; set HOME", NULL);
	/* The home need not exist: the tmpfs goes there all the same. */
	if (realpath(h, sb->home) == NULL)
		snprintf(sb->home, sizeof(sb->home), "%s", h);
	if (strcmp(sb->home, "/") == 0)
		return die("HOME is /; set HOME to a directory of your own", NULL);
	/* NB. the workspace is bound read-write: one holding the home would show ~/.ssh. */
	if (path_within(sb->home, sb->ws))
		return die(sb->ws, "the workspace holds your home directory; pass a "
		    "project directory");
	if (path_within(sb->rundir, sb->ws))
		return die(sb->ws, "the workspace holds writd's runtime dir (its admin "
		    "socket); pass a project directory");
	/* NB. the agent writes the workspace: a profile there would be its to widen. */
	if (sb->profile != NULL && path_within(sb->profile_path, sb->ws))
		return die(sb->profile_path, "the profile is in the workspace, where the "
		    "agent could change it for the next run; keep it outside");
	if (sb->ndomains > 0 && strcmp(sb->tool, "srt") != 0)
		return die("--allow-domain is for --srt (its proxy); bubblewrap has "
		    "--net host", NULL);
	if (strcmp(sb->tool, "srt") == 0 && strcmp(sb->net, "host") == 0)
		return die("--net host: srt has no such mode; name the hosts the agent may "
		    "reach with --allow-domain", NULL);
	/*
	 * NB. with network access Codex allows Unix sockets, and it cannot hide
	 * writd's runtime dir: the agent would reach every session's socket.
	 */
	if (strcmp(sb->tool, "codex") == 0 && strcmp(sb->net, "host") == 0)
		return die("--net host with --codex: Codex then allows Unix sockets and "
		    "cannot hide writd's runtime dir, so the agent could use every "
		    "session's socket; use --srt --allow-domain, or bubblewrap", NULL);
	if (find_in_path("bwrap", sb->bwrap) < 0)
		return die("bwrap is not in PATH", "install bubblewrap (apt-get install "
		    "bubblewrap)");
	if (strcmp(sb->tool, "bwrap") != 0 && find_in_path(sb->tool, sb->toolpath) < 0) {
		fprintf(stderr, "writ-sandbox: %s is not in PATH; install it (npm install -g "
		    "%s)\n", sb->tool, strcmp(sb->tool, "srt") == 0 ?
		    "@anthropic-ai/sandbox-runtime" : "@openai/codex");
		return SBX_EFAIL;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return die("/proc/self/exe", strerror(errno));
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	if ((size_t)snprintf(sb->helper, sizeof(sb->helper), "%s/git-credential-writ",
	    self) >= sizeof(sb->helper) ||
	    (size_t)snprintf(sb->writ, sizeof(sb->writ), "%s/writ", self) >= sizeof(sb->writ))
		return die("the install path is too long", NULL);
	if (access(sb->helper, X_OK) != 0)
		return die(sb->helper, "not found; install git-credential-writ next to "
		    "writ-sandbox");
	return 0;
}

/* The i-th --ro path, absolute and real, unless it would open writd to the agent. */
static int
ro_path(const struct sandbox *sb, size_t i, char abs[PATH_MAX])
{
	const char *p = sb->ro[i];
	char given[PATH_MAX];

	/* A profile's ~/: the user's home, as resolve found it. */
	if (strncmp(p, "~/", 2) == 0) {
		if ((size_t)snprintf(given, sizeof(given), "%s/%s", sb->home, p + 2) >=
		    sizeof(given))
			return die(p, "--ro: the path is too long");
		p = given;
	}
	if (realpath(p, abs) == NULL)
		return die(sb->ro[i], "--ro: no such path");
	/* NB. a read-only mount does not stop connect(2) to a socket in it. */
	if (path_within(sb->rundir, abs))
		return die(abs, "--ro would show writd's runtime dir (its admin socket)");
	return 0;
}

/* Add --ro-bind PATH PATH for each --ro, refusing what would open writd to the agent. */
static int
add_ro_paths(struct sandbox *sb, struct args *a)
{
	char abs[PATH_MAX];
	int r;

	for (size_t i = 0; i < sb->nro; i++) {
		if ((r = ro_path(sb, i, abs)) != 0)
			return r;
		args_add3(a, "--ro-bind", abs, abs);
	}
	return 0;
}

static int
placeholder_make(struct sandbox *sb, int dirfd, const char *name, const char *rel,
    bool dir, enum guard guard)
{
	struct placeholder *p;
	struct stat st;
	int fd;

	if (sb->nph == SBX_MAX_GUARDED)
		return die("too many placeholders", NULL);
	p = &sb->ph[sb->nph];
	if (dir) {
		/* A PIN directory is writable inside; the placeholders made in it need it so here. */
		if (mkdirat(dirfd, name, guard == PIN ? 0755 : 0555) != 0)
			goto fail;
	} else {
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0444);
		if (fd < 0)
			goto fail;
		close(fd);
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		goto fail;
	snprintf(p->path, sizeof(p->path), "%s", rel);
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	p->ctime = st.st_ctim;
	p->dir = dir;
	sb->nph++;
	return 0;
 fail:
	fprintf(stderr, "writ-sandbox: cannot make the read-only placeholder %s/%s: %s\n",
	    sb->ws, rel, strerror(errno));
	return SBX_EFAIL;
}

/* The index in sb->gl of the entry for the first n bytes of path, or -1. */
static int
guard_find(const struct sandbox *sb, const char *path, size_t n)
{
	for (size_t i = 0; i < sb->ngl; i++)
		if (strncmp(sb->gl[i].path, path, n) == 0 && sb->gl[i].path[n] == '\0')
			return (int)i;
	return -1;
}

static int
guard_push(struct sandbox *sb, const char *path, size_t n, bool dir, enum guard guard)
{
	struct guard_entry *g;
	const char *slash;

	if (sb->ngl == SBX_MAX_GUARDED)
		return die("too many guarded paths", NULL);
	g = &sb->gl[sb->ngl];
	snprintf(g->path, sizeof(g->path), "%.*s", (int)n, path);
	g->dir = dir;
	g->guard = guard;
	slash = memrchr(g->path, '/', n);
	g->parent = slash == NULL ? -1 : guard_find(sb, g->path, (size_t)(slash - g->path));
	sb->ngl++;
	return 0;
}

/*
 * The paths to guard, parents before children: the built-in list, then
 * each profile path with every directory above it as a PIN (a directory
 * that is not a mount point can be renamed away, and remade without the
 * guarded file in it).  A path inside an RO entry is already read-only.
 */
static int
guards_build(struct sandbox *sb)
{
	int r;

	for (size_t i = 0; guarded[i].path != NULL; i++)
		if ((r = guard_push(sb, guarded[i].path, strlen(guarded[i].path),
		    guarded[i].dir, guarded[i].guard)) != 0)
			return r;
	for (size_t i = 0; i < sb->nguard; i++) {
		const char *p = sb->guard[i];
		size_t n = strlen(p);
		bool dir = p[n - 1] == '/', covered = false;
		int k;

		if (dir)
			n--;
		for (const char *c = p; (c = memchr(c, '/', (size_t)(p + n - c))) != NULL; c++) {
			k = guard_find(sb, p, (size_t)(c - p));
			if (k >= 0 && sb->gl[k].guard == RO) {
				covered = true;
				break;
			}
			if (k < 0 && (r = guard_push(sb, p, (size_t)(c - p), true, PIN)) != 0)
				return r;
		}
		if (covered)
			continue;
		if ((k = guard_find(sb, p, n)) >= 0)
			sb->gl[k].guard = RO;	/* a PIN made read-only as a whole */
		else if ((r = guard_push(sb, p, n, dir, RO)) != 0)
			return r;
	}
	return 0;
}

/* Open the workspace's directory rel, following no symlink on the way. */
static int
open_beneath(int wsfd, const char *rel)
{
	char buf[SBX_MAX_GUARD_PATH + 1], *save = NULL, *c;
	int fd = dup(wsfd), next;

	snprintf(buf, sizeof(buf), "%s", rel);
	for (c = strtok_r(buf, "/", &save); c != NULL && fd >= 0;
	    c = strtok_r(NULL, "/", &save)) {
		next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	return fd;
}

/*
 * Remove one placeholder if it is still as made: the same inode, and a
 * file still empty and unchanged since (its ctime), a directory empty.
 * Reached without following a symlink, so a record never unlinks outside
 * the workspace.
 */
static bool
placeholder_unmake(int wsfd, const struct placeholder *p)
{
	const char *slash = strrchr(p->path, '/'), *name = p->path;
	char parent[SBX_MAX_GUARD_PATH + 1];
	struct stat st;
	bool done = false;
	int dfd = wsfd;

	if (slash != NULL) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - p->path), p->path);
		if ((dfd = open_beneath(wsfd, parent)) < 0)
			return false;
		name = slash + 1;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == p->dev &&
	    st.st_ino == p->ino) {
		if (p->dir && S_ISDIR(st.st_mode))
			done = unlinkat(dfd, name, AT_REMOVEDIR) == 0;	/* fails unless empty */
		else if (!p->dir && S_ISREG(st.st_mode) && st.st_size == 0 &&
		    st.st_ctim.tv_sec == p->ctime.tv_sec && st.st_ctim.tv_nsec == p->ctime.tv_nsec)
			done = unlinkat(dfd, name, 0) == 0;
	}
	if (dfd != wsfd)
		close(dfd);
	return done;
}

/*
 * Where a run records the placeholders it made: a SIGKILLed writ-sandbox
 * removes nothing, and a later run must tell its leftovers from the
 * user's own files.  $XDG_STATE_HOME/writ-sandbox (~/.local/state/...),
 * private, and never in the workspace, where the agent could forge one.
 * None (a warning) when it cannot be made: placeholders then outlive a kill.
 */
static void
record_dir(struct sandbox *sb)
{
	const char *base = secure_getenv("XDG_STATE_HOME");
	char err[WRIT_ERRLEN];
	int n;

	if (base != NULL && base[0] == '/')
		n = snprintf(sb->recdir, sizeof(sb->recdir), "%s/writ-sandbox", base);
	else
		n = snprintf(sb->recdir, sizeof(sb->recdir), "%s/.local/state/writ-sandbox",
		    sb->home);
	if (n < 0 || (size_t)n >= sizeof(sb->recdir) - 64) {
		sb->recdir[0] = '\0';
		return;
	}
	if (path_within(sb->recdir, sb->ws)) {
		fprintf(stderr, "writ-sandbox: warning: %s is in the workspace; no record of "
		    "placeholders kept there\n", sb->recdir);
		sb->recdir[0] = '\0';
	} else if (fs_private_dir(sb->recdir, 1, err) < 0) {
		fprintf(stderr, "writ-sandbox: warning: no record of placeholders (if "
		    "writ-sandbox is killed, they stay): %s\n", err);
		sb->recdir[0] = '\0';
	}
}

/* This workspace's records are named DEV-INO.PID (of the run that made them). */
static int
record_prefix(const struct sandbox *sb, char *buf, size_t len)
{
	struct stat st;

	if (fstat(sb->wsfd, &st) != 0)
		return -1;
	return snprintf(buf, len, "%ju-%ju.", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
}

/*
 * Write what this run made, before the agent starts: one line per
 * placeholder, "d|f DEV INO CTIME_SEC CTIME_NSEC PATH".
 */
static void
placeholders_record(struct sandbox *sb)
{
	char tmp[PATH_MAX + 8], prefix[64];
	FILE *f;
	int fd;

	if (sb->nph == 0 || sb->recdir[0] == '\0' ||
	    record_prefix(sb, prefix, sizeof(prefix)) < 0)
		return;
	snprintf(sb->recpath, sizeof(sb->recpath), "%s/%s%ld", sb->recdir, prefix,
	    (long)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", sb->recpath);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		sb->recpath[0] = '\0';
		return;
	}
	for (size_t i = 0; i < sb->nph; i++) {
		const struct placeholder *p = &sb->ph[i];

		fprintf(f, "%c %ju %ju %jd %ld %s\n", p->dir ? 'd' : 'f', (uintmax_t)p->dev,
		    (uintmax_t)p->ino, (intmax_t)p->ctime.tv_sec, (long)p->ctime.tv_nsec, p->path);
	}
	if (fclose(f) != 0 || rename(tmp, sb->recpath) != 0) {
		(void)unlink(tmp);
		sb->recpath[0] = '\0';
	}
}

/* One record's placeholders, innermost first; the record goes after. */
static size_t
record_undo(struct sandbox *sb, int dfd, const char *name)
{
	static struct placeholder ph[SBX_MAX_GUARDED];
	char line[SBX_MAX_GUARD_PATH + 128];
	size_t n = 0, removed = 0;
	FILE *f;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || (f = fdopen(fd, "r")) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (n < SBX_MAX_GUARDED && fgets(line, sizeof(line), f) != NULL) {
		struct placeholder *p = &ph[n];
		uintmax_t dev, ino;
		intmax_t sec;
		long nsec;
		char type;
		int off = -1;

		line[strcspn(line, "\n")] = '\0';
		/* NB. a path as guard_path_check takes it: nothing outside the workspace. */
		if (sscanf(line, "%c %ju %ju %jd %ld %n", &type, &dev, &ino, &sec, &nsec, &off) != 5 ||
		    off < 0 || (type != 'd' && type != 'f') || guard_path_check(line + off) != NULL)
			continue;
		snprintf(p->path, sizeof(p->path), "%s", line + off);
		p->dev = (dev_t)dev;
		p->ino = (ino_t)ino;
		p->ctime.tv_sec = (time_t)sec;
		p->ctime.tv_nsec = nsec;
		p->dir = type == 'd';
		n++;
	}
	fclose(f);
	while (n-- > 0)
		removed += placeholder_unmake(sb->wsfd, &ph[n]);
	(void)unlinkat(dfd, name, 0);
	return removed;
}

/*
 * Remove what killed runs left in this workspace, by their records.  NB.
 * called only with the workspace's lock held exclusively: no live
 * writ-sandbox here, so no mount point in anyone's namespace is unlinked.
 */
static void
leftovers_remove(struct sandbox *sb)
{
	char prefix[64];
	struct dirent *e;
	size_t removed = 0;
	DIR *d;
	int n;

	if (sb->recdir[0] == '\0' || (n = record_prefix(sb, prefix, sizeof(prefix))) < 0 ||
	    (d = opendir(sb->recdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, (size_t)n) == 0)
			removed += record_undo(sb, dirfd(d), e->d_name);
	closedir(d);
	if (removed > 0)
		fprintf(stderr, "writ-sandbox: removed %zu read-only placeholder%s left in %s "
		    "by a writ-sandbox that was killed\n", removed, removed == 1 ? "" : "s", sb->ws);
}

/*
 * Agent configuration files: read-only, and uncreatable.  An existing one
 * is bound read-only over itself.  A missing one cannot be bound from
 * elsewhere without a mount point at its path, and bwrap would make that
 * mount point in the host's workspace anyway (the workspace is the host's
 * directory), so writ-sandbox makes it itself: an empty mode-0444 file or
 * mode-0555 directory, bound read-only over itself, recorded (device and
 * inode) and removed after the sandbox exits if it is still that empty
 * placeholder.  The user sees them in the workspace while the sandbox runs.
 * A symlink is refused, at the path or on the way to it: a mount lands on
 * its target, and the link itself, in a writable directory, could be
 * replaced.
 * XXX bwrap binds by path, after these checks: an agent of another
 * writ-sandbox already running in the same workspace could swap an
 * unguarded directory on the way for a symlink in between.
 */
static int
guard_workspace(struct sandbox *sb, struct args *a)
{
	bool pin_dir[SBX_MAX_GUARDED] = { false };
	char abs[PATH_MAX];
	int r;

	sb->wsfd = open(sb->ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sb->wsfd < 0)
		return die(sb->ws, strerror(errno));
	record_dir(sb);
	/* Nobody else here: every record of this workspace is a killed run's. */
	if (flock(sb->wsfd, LOCK_EX | LOCK_NB) == 0)
		leftovers_remove(sb);
	/* Shared: at the end, an exclusive try tells whether another writ-sandbox still uses them. */
	(void)flock(sb->wsfd, LOCK_SH);
	if ((r = guards_build(sb)) != 0)
		return r;
	for (size_t i = 0; i < sb->ngl && r == 0; i++) {
		const struct guard_entry *g = &sb->gl[i];
		const char *slash = strrchr(g->path, '/'), *name = g->path;
		int dirfd = sb->wsfd, pfd = -1;
		struct stat st;

		if (slash != NULL) {
			/*
			 * Its parent is a file (a worktree's .git) or read-only as a
			 * whole: bound read-only, nothing in it to guard.
			 */
			if (g->parent < 0 || !pin_dir[g->parent])
				continue;
			if ((pfd = open_beneath(sb->wsfd, sb->gl[g->parent].path)) < 0)
				return die(sb->gl[g->parent].path, strerror(errno));
			dirfd = pfd;
			name = slash + 1;
		}
		if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", sb->ws, g->path) >= sizeof(abs)) {
			if (pfd >= 0)
				close(pfd);
			return die(sb->ws, "the workspace path is too long");
		}
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				r = die(abs, strerror(errno));
			else if ((r = placeholder_make(sb, dirfd, name, g->path, g->dir,
			    g->guard)) == 0)
				st.st_mode = g->dir ? S_IFDIR : S_IFREG;
		} else if (S_ISLNK(st.st_mode)) {
			fprintf(stderr, "writ-sandbox: %s is a symlink; it cannot be kept "
			    "read-only in place (the agent could replace it).  Replace it "
			    "with what it points to, or remove it\n", abs);
			r = SBX_EFAIL;
		}
		if (pfd >= 0)
			close(pfd);
		if (r != 0)
			break;
		pin_dir[i] = g->guard == PIN && S_ISDIR(st.st_mode);
		/* NB. a PIN that is not a directory is bound read-only: it cannot then be swapped for one. */
		args_add3(a, pin_dir[i] ? "--bind" : "--ro-bind", abs, abs);
	}
	if (r == 0)
		placeholders_record(sb);
	return r;
}

/* Remove the placeholders still as made, innermost first, and their record. */
static void
placeholders_remove(struct sandbox *sb)
{
	if (sb->nph == 0)
		return;
	/* XXX unlinking a mount point in another namespace unmounts it there: leave them to the last one. */
	if (flock(sb->wsfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "writ-sandbox: another writ-sandbox uses %s; leaving its "
		    "read-only placeholders (empty .claude, CLAUDE.md ...) in place%s\n", sb->ws,
		    sb->recpath[0] != '\0' ? " for a later run to remove" : "");
		return;
	}
	for (size_t i = sb->nph; i-- > 0;)
		(void)placeholder_unmake(sb->wsfd, &sb->ph[i]);
	if (sb->recpath[0] != '\0')
		(void)unlink(sb->recpath);
}

/* A memfd holding len bytes of p, at offset 0, inherited across exec. */
static int
memfd_with(const char *name, const char *p, size_t len)
{
	int fd = memfd_create(name, 0);

	if (fd < 0)
		return -1;
	if (fs_write_all(fd, p, len) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Everything bwrap is told, but the session socket (known after the
 * session opens).  NB. order matters: bwrap mounts in order, so the empty
 * tmpfs mounts come before the workspace bind and the guards after it.
 */
static int
build_args(struct sandbox *sb, struct args *a, int gitcfg_fd)
{
	char fd[16];
	int r;

	args_add3(a, "--ro-bind", "/", "/");
	args_add2(a, "--dev", "/dev");
	args_add2(a, "--proc", "/proc");
	args_add2(a, "--tmpfs", "/tmp");
	args_add2(a, "--tmpfs", "/run");
	/* NB. wherever it is: a read-only mount does not stop connect(2) to the admin socket. */
	args_add2(a, "--tmpfs", sb->rundir);
	if (!path_within(sb->home, sb->ws))
		args_add2(a, "--tmpfs", sb->home);
	args_add3(a, "--bind", sb->ws, sb->ws);
	/* A home inside the workspace is hidden after the workspace is bound. */
	if (path_within(sb->home, sb->ws))
		args_add2(a, "--tmpfs", sb->home);
	if ((r = guard_workspace(sb, a)) != 0 || (r = add_ro_paths(sb, a)) != 0)
		return r;
	/* writ's binaries may live under the home or /tmp, now hidden: show them. */
	if (!path_within(sb->helper, sb->ws))
		args_add3(a, "--ro-bind", sb->helper, sb->helper);
	if (!path_within(sb->writ, sb->ws) && access(sb->writ, X_OK) == 0)
		args_add3(a, "--ro-bind", sb->writ, sb->writ);
	snprintf(fd, sizeof(fd), "%d", gitcfg_fd);
	args_add2(a, "--perms", "0444");
	args_add3(a, "--ro-bind-data", fd, SBX_GITCONFIG);
	args_add2(a, "--chdir", sb->ws);
	/* NB. --clearenv acts where it stands: before every --setenv. */
	args_add(a, "--clearenv");
	args_add3(a, "--setenv", "PATH", secure_getenv("PATH") ? secure_getenv("PATH") : SBX_DEFAULT_PATH);
	args_add3(a, "--setenv", "HOME", sb->home);
	if (secure_getenv("TERM") != NULL)
		args_add3(a, "--setenv", "TERM", secure_getenv("TERM"));
	if (secure_getenv("LANG") != NULL)
		args_add3(a, "--setenv", "LANG", secure_getenv("LANG"));
	args_add3(a, "--setenv", "WRIT_SOCKET", SBX_AGENT_SOCK);
	args_add3(a, "--setenv", "GIT_CONFIG_GLOBAL", SBX_GITCONFIG);
	for (size_t i = 0; i < sb->nenv; i++)
		if (secure_getenv(sb->env[i]) != NULL)
			/* NB. through --args, never bwrap's argv: other users read argv. */
			args_add3(a, "--setenv", sb->env[i], secure_getenv(sb->env[i]));
		else
			fprintf(stderr, "writ-sandbox: --env %s: not set here; not passed\n",
			    sb->env[i]);
	/* A new user namespace also gives a user keyring of its own. */
	args_add(a, "--unshare-user");
	args_add(a, "--unshare-pid");
	args_add(a, "--unshare-ipc");
	args_add(a, "--unshare-uts");
	args_add(a, "--unshare-cgroup-try");
	if (strcmp(sb->net, "none") == 0)
		args_add(a, "--unshare-net");
	else
		fputs("writ-sandbox: warning: --net host: the sandbox shares the host's "
		    "network, including services on localhost\n", stderr);
	/* NB. run as root, the sandbox would otherwise keep every capability in its namespace. */
	args_add2(a, "--cap-drop", "ALL");
	args_add(a, "--die-with-parent");
	args_add(a, "--new-session");
	return a->failed ? die("the argument list is too long", NULL) : 0;
}

static int
gitconfig_fd(const struct sandbox *sb)
{
	char cfg[PATH_MAX + SBX_MAX_HOST + 128];
	int n;

	/* git-credential-writ fills the URL's path in: writ scopes by repository. */
	n = snprintf(cfg, sizeof(cfg), "[credential]\n\thelper = %s%s%s\n\tuseHttpPath = true\n",
	    sb->helper, sb->git_host != NULL ? " --host " : "",
	    sb->git_host != NULL ? sb->git_host : "");
	if (n < 0 || (size_t)n >= sizeof(cfg))
		return -1;
	return memfd_with("writ-gitconfig", cfg, (size_t)n);
}

/*
 * The child: wait for the parent's go (nothing when the parent failed or
 * died), take a new session keyring, and become bwrap.
 */
/*
 * Close every descriptor above stderr but a and b (a < b): the agent gets
 * nothing the program that started writ-sandbox happened to leave open.
 */
static void
close_others(unsigned int a, unsigned int b)
{
	if (close_range(3, a - 1, 0) == 0 && close_range(a + 1, b - 1, 0) == 0 &&
	    close_range(b + 1, ~0U, 0) == 0)
		return;
	/* NB. close_range(2) is Linux 5.9+: else one by one. */
	for (long fd = 3, max = sysconf(_SC_OPEN_MAX); fd < max && fd < SBX_MAX_FDS; fd++)
		if (fd != (long)a && fd != (long)b)
			close((int)fd);
}

static void
child_main(const struct sandbox *sb, int go_fd, int args_fd, int git_fd)
{
	char c, fdarg[16];
	char **argv;
	char *envp[] = { NULL };
	size_t n = 0;
	ssize_t k;

	do
		k = read(go_fd, &c, 1);
	while (k < 0 && errno == EINTR);
	if (k != 1)
		_exit(SBX_EFAIL);
	close_others((unsigned)(args_fd < git_fd ? args_fd : git_fd),
	    (unsigned)(args_fd < git_fd ? git_fd : args_fd));
	/* NB. the session keyring is inherited even into a new user namespace. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0) {
		fprintf(stderr, "writ-sandbox: cannot make a new session keyring: %s\n",
		    strerror(errno));
		_exit(SBX_EFAIL);
	}
	while (sb->cmd[n] != NULL)
		n++;
	if ((argv = calloc(n + 5, sizeof(*argv))) == NULL)
		_exit(SBX_EFAIL);
	snprintf(fdarg, sizeof(fdarg), "%d", args_fd);
	argv[0] = (char *)"bwrap";
	argv[1] = (char *)"--args";
	argv[2] = fdarg;
	argv[3] = (char *)"--";
	memcpy(argv + 4, sb->cmd, n * sizeof(*argv));
	/* NB. an empty environment: bwrap needs none, and the agent gets only --setenv's. */
	execve(sb->bwrap, argv, envp);
	fprintf(stderr, "writ-sandbox: %s: %s\n", sb->bwrap, strerror(errno));
	_exit(SBX_EFAIL);
}

/*
 * POST /v1/sessions for pid; the id and socket into ret_id and ret_sock,
 * and the uid writd runs as (as the kernel told) into ret_uid.
 */
static int
session_open(const struct sandbox *sb, pid_t pid, char ret_id[WRIT_ID_LEN + 1], char ret_sock[PATH_MAX],
    long *ret_uid)
{
	struct writ_resp resp = { 0 };
	const char *id, *sock;
	char *text;
	json_t *req;
	int r;

	req = json_pack("{sssssiss}", "name", sb->name, "workspace", sb->ws, "pid", (int)pid,
	    "via", strcmp(sb->tool, "bwrap") == 0 ? "socket" : "spool");
	text = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (text == NULL)
		return die("out of memory (or the workspace path is not UTF-8)", NULL);
	r = writ_http(sb->admin, "POST", "/v1/sessions", text, strlen(text), SBX_TIMEOUT, &resp);
	free(text);
	if (r < 0 || resp.status != 201) {
		writ_report("writ-sandbox", sb->admin, r, &resp);
		r = SBX_EFAIL;
		goto out;
	}
	id = json_string_value(json_object_get(resp.body, "id"));
	sock = json_string_value(json_object_get(resp.body, "socket"));
	if (!id_valid(id) ||
	    sock == NULL || sock[0] != '/' || strlen(sock) >= PATH_MAX) {
		r = die("writd's answer to POST /v1/sessions has no id or socket", NULL);
		goto out;
	}
	memcpy(ret_id, id, WRIT_ID_LEN + 1);
	snprintf(ret_sock, PATH_MAX, "%s", sock);
	*ret_uid = resp.peer_uid;
	r = 0;
 out:
	writ_resp_free(&resp);
	return r;
}

/* DELETE the session; gone already (writd saw bwrap exit) is as good. */
static void
session_close(const struct sandbox *sb, const char *id)
{
	struct writ_resp resp = { 0 };
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	r = writ_http(sb->admin, "DELETE", path, NULL, 0, SBX_TIMEOUT, &resp);
	if (r < 0 || (resp.status != 200 && resp.status != 404)) {
		writ_report("writ-sandbox", sb->admin, r, &resp);
		fprintf(stderr, "writ-sandbox: the session %s may still be open: close it "
		    "with writctl sessions rm %s\n", id, id);
	}
	writ_resp_free(&resp);
}

/*
 * WRIT_SERVER_UID for the clients inside: bwrap maps our uid alone, so a
 * writd under any other uid (a dedicated user; root, for a user who is
 * not) serves the session socket as the overflow uid there, which the
 * clients refuse unless told.  Nothing when writd runs as us.
 */
static void
add_server_uid(struct args *a, long server_uid)
{
	char buf[32] = "65534";
	int fd;
	ssize_t n;

	if (server_uid < 0 || server_uid == (long)getuid())
		return;
	if ((fd = open("/proc/sys/kernel/overflowuid", O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
		}
		if (n <= 0 || buf[0] == '\0' || strspn(buf, "0123456789") != strlen(buf))
			snprintf(buf, sizeof(buf), "65534");
	}
	args_add3(a, "--setenv", "WRIT_SERVER_UID", buf);
}

static int
run(struct sandbox *sb)
{
	struct args a = { 0 };
	char id[WRIT_ID_LEN + 1], sock[PATH_MAX];
	int go[2] = { -1, -1 }, gitfd, argsfd = -1, r, st;
	bool opened = false;
	pid_t pid;

	if ((gitfd = gitconfig_fd(sb)) < 0)
		return die("cannot write the sandbox's git config", strerror(errno));
	if ((r = build_args(sb, &a, gitfd)) != 0)
		goto out;
	/* Filled in after the session opens; the child inherits the fd now. */
	if ((argsfd = memfd_create("writ-sandbox-args", 0)) < 0 || pipe2(go, O_CLOEXEC) != 0) {
		r = die("memfd_create or pipe", strerror(errno));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		r = die("fork", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(go[1]);
		child_main(sb, go[0], argsfd, gitfd);
	}
	/* Passed on: bwrap ends the sandbox, and we close the session after. */
	launch_forward_signals(pid);
	close(go[0]);
	go[0] = -1;
	if ((r = session_open(sb, pid, id, sock, &sb->server_uid)) == 0) {
		opened = true;
		args_add3(&a, "--bind", sock, SBX_AGENT_SOCK);
		add_server_uid(&a, sb->server_uid);
		if (a.failed)
			r = die("the argument list is too long", NULL);
		else if (fs_write_all(argsfd, a.p, a.len) != 0 || lseek(argsfd, 0, SEEK_SET) != 0)
			r = die("cannot write bwrap's arguments", strerror(errno));
		else if (write(go[1], "g", 1) != 1)
			r = die("cannot start the sandbox", strerror(errno));
	}
	/* On failure the child reads EOF and exits without running anything. */
	close(go[1]);
	go[1] = -1;
	if ((st = launch_wait(pid)) < 0 && r == 0)
		r = die("waitpid", strerror(errno));
	else if (r == 0)
		r = st;
	if (opened)
		session_close(sb, id);
 out:
	placeholders_remove(sb);
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	if (argsfd >= 0)
		close(argsfd);
	close(gitfd);
	free(a.p);
	return r;
}

/* sandbox-spool.h's ends of session_open and session_close. */
static int
spool_open(void *ctx, pid_t pid, char ret_id[WRIT_ID_LEN + 1], char ret_sock[PATH_MAX])
{
	struct sandbox *sb = ctx;

	return session_open(sb, pid, ret_id, ret_sock, &sb->server_uid);
}

static void
spool_close(void *ctx, const char *id)
{
	session_close(ctx, id);
}

/* --srt, --codex: the same session and guards, another tool (sandbox-spool.h). */
static int
run_spool(struct sandbox *sb)
{
	static char guard[SBX_MAX_GUARDED][PATH_MAX];
	const char *gp[SBX_MAX_GUARDED], *ro[SBX_MAX_RO];
	char helper[PATH_MAX + SBX_MAX_HOST + 16];
	struct spool_launch l = { .tool = sb->tool, .toolpath = sb->toolpath, .ws = sb->ws,
	    .home = sb->home, .rundir = sb->rundir, .helper = helper, .writ = sb->writ,
	    .ro = ro, .nro = 0, .env = sb->env, .nenv = sb->nenv, .domains = sb->domains,
	    .ndomains = sb->ndomains, .guard = gp,
	    .cmd = sb->cmd };
	int r;

	if ((size_t)snprintf(helper, sizeof(helper), "%s%s%s", sb->helper,
	    sb->git_host != NULL ? " --host " : "", sb->git_host != NULL ? sb->git_host : "") >=
	    sizeof(helper))
		return die("the helper's path is too long", NULL);
	for (size_t i = 0; i < sb->nro; i++) {
		char abs[PATH_MAX];

		if ((r = ro_path(sb, i, abs)) != 0 || (ro[l.nro] = strdup(abs)) == NULL) {
			for (size_t k = 0; k < l.nro; k++)
				free((char *)ro[k]);
			return r != 0 ? r : die("out of memory", NULL);
		}
		l.nro++;
	}
	if ((r = guards_build(sb)) != 0)
		return r;
	/* NB. srt keeps them read-only, and uncreatable when missing; Codex cannot. */
	for (size_t i = 0; i < sb->ngl; i++)
		if (sb->gl[i].guard == RO) {
			snprintf(guard[l.nguard], PATH_MAX, "%s/%s", sb->ws, sb->gl[i].path);
			gp[l.nguard] = guard[l.nguard];
			l.nguard++;
		}
	if (strcmp(sb->tool, "codex") == 0)
		fputs("writ-sandbox: warning: --codex: Codex's sandbox cannot keep agent "
		    "configuration files (.claude, CLAUDE.md, .git/hooks ...) read-only, nor "
		    "hide your home; use --srt or bubblewrap where that matters\n", stderr);
	r = spool_launch(&l, spool_open, spool_close, sb);
	for (size_t i = 0; i < l.nro; i++)
		free((char *)ro[i]);
	return r;
}

int
main(int argc, char **argv)
{
	static struct sandbox sb = { .wsfd = -1, .server_uid = -1 };
	int r;

	if ((r = parse(argc, argv, &sb)) != 0 || (r = profile_load(&sb)) != 0 ||
	    (r = find_runtime_dir(&sb)) != 0 || (r = resolve(&sb)) != 0)
		goto out;
	r = strcmp(sb.tool, "bwrap") == 0 ? run(&sb) : run_spool(&sb);
 out:
	if (sb.wsfd >= 0)
		close(sb.wsfd);
	json_decref(sb.prof);
	return r;
}
