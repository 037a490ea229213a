/*
 * writctl - drive writd from the host: sessions, approvals, keys.
 *
 * Talks to the admin socket, found through --runtime-dir, $WRIT_RUNTIME_DIR,
 * or writd's own default.  Never runs inside a sandbox.
 *
 * One table, commands[] below, names every command, the function that runs
 * it (one file per group: cmd_<group>.c) and its lines of the usage, as
 * wireguard-tools' wg.c does; writctl.h declares what the files share.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../agent-side/libwrit.h"
#include "errors.h"
#include "fsutil.h"
#include "writctl.h"

/* Largest answer writctl reads: a list of every live writ on a busy writd. */
#define WRIT_MAX_ADMIN_RESPONSE (256u * 1024 * 1024)

/* commands[].flags: reads local files only, never the admin socket. */
#define CMD_LOCAL 0x1

/*
 * Every command, in the order of the usage.  A command of a group
 * ("sessions new") has its group's name and its own sub; fn gets the words
 * after them.  A group whose sub is missing or unknown prints the usage.
 */
static const struct command {
	const char *name;		/* "sessions" */
	const char *sub;		/* "new"; NULL: a command of its own */
	int (*fn)(int argc, char **argv);
	unsigned int flags;		/* CMD_* */
	const char *help;		/* its lines of the usage */
} commands[] = {
	{ "sessions", "new", cmd_sessions_new, 0,
	  "  sessions new NAME [--workspace DIR] [--pid PID] [--ci-token FILE|-]\n"
	  "               [--uid UID|USER] [--json]\n"
	  "                     open a session; prints its socket (WRIT_SOCKET); with\n"
	  "                     --pid it closes (revoking its writs) when PID exits;\n"
	  "                     --ci-token: a CI job's session, from its OIDC ID token\n"
	  "                     (read from FILE or stdin, never argv): it ends by the\n"
	  "                     token's exp + the issuer's grace; --uid: that user may\n"
	  "                     use the socket too (a CI job's; it needs\n"
	  "                     WRIT_SERVER_UID=writd's uid, \"server_uid\" in --json)\n" },
	{ "sessions", "ls", cmd_sessions_ls, 0,
	  "  sessions ls [--json]\n" },
	{ "sessions", "rm", cmd_sessions_rm, 0,
	  "  sessions rm ID     close a session: its pending requests fail, its writs\n"
	  "                     are revoked and its socket removed\n" },
	{ "writs", "ls", cmd_writs_ls, 0,
	  "  writs ls [--json]  every live writ (never tokens)\n" },
	{ "writs", "revoke", cmd_writs_revoke, 0,
	  "  writs revoke ID | --session SESSION\n"
	  "                     revoke one writ, or all of a session's\n" },
	{ "watch", NULL, cmd_watch, 0,
	  "  watch              approve or deny requests as they arrive (y/N)\n" },
	{ "requests", NULL, cmd_requests, 0,
	  "  requests           the requests waiting for a decision, as JSON\n" },
	{ "approve", NULL, cmd_approve, 0,
	  "  approve ID [--confirm CODE]\n"
	  "                     approve one pending request (CODE: for typed approvals)\n" },
	{ "deny", NULL, cmd_deny, 0,
	  "  deny ID            deny one pending request\n" },
	{ "jwks", NULL, cmd_jwks, 0,
	  "  jwks               the public keys that verify writd's JWTs\n" },
	{ "sshcert", "init", cmd_sshcert_init, 0,
	  "  sshcert init [--name NAME] | ca | krl\n"
	  "                     make the SSH CA key (prints the line for sshd's\n"
	  "                     TrustedUserCAKeys); print that line; the KRL's path\n" },
	{ "sshcert", "ca", cmd_sshcert_ca, 0, "" },
	{ "sshcert", "krl", cmd_sshcert_krl, 0, "" },
	{ "secret", "set", cmd_secret_set, 0,
	  "  secret set NAME [--from-file PATH]\n"
	  "                     store a root credential (value from the file, else stdin);\n"
	  "                     values are write-only: nothing reads them back\n" },
	{ "secret", "ls", cmd_secret_ls, 0,
	  "  secret ls [--json] names, sizes and times of the stored secrets\n" },
	{ "secret", "rm", cmd_secret_rm, 0,
	  "  secret rm NAME     remove a secret\n" },
	{ "audit", "verify", cmd_audit_verify, 0,
	  "  audit verify [--checkpoint FILE] [LOG]\n"
	  "                     check the audit log's hash chain across its files, old\n"
	  "                     to new, and its signed checkpoints (or LOG's, a file\n"
	  "                     moved aside; same key); names the first bad record.\n"
	  "                     --checkpoint: a checkpoint's line from the syslog copy;\n"
	  "                     records cut off before it are reported\n" },
	{ "audit", "rotate", cmd_audit_rotate, 0,
	  "  audit rotate       start a new audit file (the chain goes on across it)\n" },
	{ "audit", "key", cmd_audit_key, 0,
	  "  audit key          the public key that verifies the log's checkpoints\n" },
	{ "audit", "tail", cmd_audit_tail, 0,
	  "  audit tail [-f] [-n N] [--session ID]\n"
	  "                     the last N audit records, readably\n" },
	{ "policy", "explain", cmd_policy_explain, 0,
	  "  policy explain FILE|-\n"
	  "                     what the policy decides for a request (JSON as an agent\n"
	  "                     sends it, plus optional session, workspace, uid, exe, live,\n"
	  "                     claims: a job's verified claims, as an object);\n"
	  "                     issues nothing\n" },
	{ "policy", "check", cmd_policy_check, CMD_LOCAL,
	  "  policy check [--enterprise FILE] [--policy FILE]\n"
	  "                     validate policy files (default: writd's default paths);\n"
	  "                     exit 1: invalid, 5: valid but with warnings (patterns or\n"
	  "                     rules that admit more than they seem to)\n" },
	{ NULL, NULL, NULL, 0, NULL },
};

void
ctl_usage(FILE *f)
{
	fputs("usage: writctl [--runtime-dir DIR] COMMAND\n"
	    "\n", f);
	for (size_t i = 0; commands[i].name != NULL; i++)
		fputs(commands[i].help, f);
	fputs("\n"
	    "The admin socket is DIR/admin.sock; DIR is --runtime-dir, else\n"
	    "$WRIT_RUNTIME_DIR, else $XDG_RUNTIME_DIR/writ, else /tmp/writ-UID.\n", f);
}

/*
 * The command argv[0] (argv[0] argv[1] for a group) names, with the
 * number of words it takes in *ret_words; NULL when there is none.
 * *ret_group tells whether argv[0] names a group at all.
 */
static const struct command *
find_command(int argc, char **argv, int *ret_words, bool *ret_group)
{
	*ret_group = false;
	for (size_t i = 0; commands[i].name != NULL; i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (c->sub == NULL) {
			*ret_words = 1;
			return c;
		}
		*ret_group = true;
		if (argc >= 2 && strcmp(argv[1], c->sub) == 0) {
			*ret_words = 2;
			return c;
		}
	}
	return NULL;
}

/* A malformed $WRIT_SERVER_UID, as admin_uid_trusted last met it (a WRIT_HTTP_E* code). */
static int server_uid_bad;

/* fs_check_client_dir's test of an owner: the uids writctl talks to. */
static bool
admin_uid_trusted(uid_t uid)
{
	int t = writ_uid_trusted(uid);

	if (t < 0)
		server_uid_bad = t;
	return t > 0;
}

/*
 * Refuse an admin socket in a directory someone else could swap or made
 * first (a squatted /tmp/writ-UID): its admin.sock would be sent secrets
 * and approvals.  The checks are writd's own (fs_check_client_dir), with
 * the uids writctl trusts.  A missing runtime dir passes: connect then
 * fails the usual way, and writ_http's peer check stops a socket planted
 * meanwhile.  Returns 0, or an exit status after saying what is wrong and
 * how to fix it.
 */
static int
check_runtime_dir(void)
{
	char path[PATH_MAX], err[WRIT_ERRLEN];
	int r;

	snprintf(path, sizeof(path), "%s", ctl_admin);
	*strrchr(path, '/') = '\0';
	if ((r = fs_check_client_dir(path, admin_uid_trusted, err)) == 0 || r == WRIT_ENOTFOUND)
		return 0;
	fputs("writctl: refusing the runtime dir ", stderr);
	writ_print_clean(stderr, server_uid_bad < 0 ? path : err);
	if (server_uid_bad < 0)
		fprintf(stderr, ": %s", writ_http_strerror(server_uid_bad));
	fputc('\n', stderr);
	return r == WRIT_EBADREQ ? 2 : 3;
}

static int
find_admin(const char *dir)
{
	const char *base;
	int n;

	if (dir == NULL)
		dir = secure_getenv("WRIT_RUNTIME_DIR");
	if (dir != NULL && *dir != '\0')
		n = snprintf(ctl_admin, sizeof(ctl_admin), "%s/admin.sock", dir);
	else if ((base = secure_getenv("XDG_RUNTIME_DIR")) != NULL && base[0] == '/')
		n = snprintf(ctl_admin, sizeof(ctl_admin), "%s/writ/admin.sock", base);
	else
		n = snprintf(ctl_admin, sizeof(ctl_admin), "/tmp/writ-%u/admin.sock", (unsigned)geteuid());
	return n > 0 && (size_t)n < sizeof(ctl_admin) ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const struct command *c;
	const char *dir = NULL;
	int i = 1, words = 0, r;
	bool group;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && strcmp(argv[1], "--runtime-dir") == 0) {
		dir = argv[2];
		i = 3;
	}
	if (i >= argc) {
		ctl_usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
	    strcmp(argv[i], "help") == 0) {
		ctl_usage(stdout);
		return 0;
	}
	if (strcmp(argv[i], "--version") == 0) {
		puts("writctl " WRIT_VERSION);
		return 0;
	}
	if (find_admin(dir) < 0) {
		fputs("writctl: the runtime dir path is too long\n", stderr);
		return 2;
	}
	c = find_command(argc - i, argv + i, &words, &group);
	/* policy check reads local files only; everything else trusts admin.sock. */
	if (!(c != NULL && (c->flags & CMD_LOCAL)) && (r = check_runtime_dir()) != 0)
		return r;
	/* writs ls and audit tail on a busy writd run long: WRIT_MAX_ADMIN_RESPONSE. */
	writ_set_max_response(WRIT_MAX_ADMIN_RESPONSE);
	if (c != NULL)
		return c->fn(argc - i - words, argv + i + words);
	if (group)
		ctl_usage(stderr);
	else {
		fprintf(stderr, "writctl: unknown command '%s'\n", argv[i]);
		ctl_usage(stderr);
	}
	return 2;
}
