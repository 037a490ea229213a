/*
 * writctl - drive writd from the host: sessions, approvals, keys.
 *
 * Talks to the admin socket, found through --runtime-dir, $WRIT_RUNTIME_DIR,
 * or writd's own default.  Never runs inside a sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "../agent-side/libwrit.h"
#include "../plugins/sshcert/wire.h"
#include "../policy/policy.h"
#include "config.h"
#include "errors.h"
#include "fsutil.h"
#include "show.h"

/* Largest answer writctl reads: a list of every live writ on a busy writd. */
#define WRIT_MAX_ADMIN_RESPONSE (256u * 1024 * 1024)

/* How long a plain command waits for writd, in ms. */
#define SHORT_TIMEOUT 30000
/* Seconds one long-poll of `watch` stays open. */
#define WATCH_POLL 60
/* Longest pause, in seconds, between watch's attempts to reach writd (a local socket: cheap). */
#define WATCH_BACKOFF_MAX 5

static char admin[PATH_MAX];

static const char usage[] =
"usage: writctl [--runtime-dir DIR] COMMAND\n"
"\n"
"  sessions new NAME [--workspace DIR] [--pid PID] [--ci-token FILE|-]\n"
"               [--uid UID|USER] [--json]\n"
"                     open a session; prints its socket (WRIT_SOCKET); with\n"
"                     --pid it closes (revoking its writs) when PID exits;\n"
"                     --ci-token: a CI job's session, from its OIDC ID token\n"
"                     (read from FILE or stdin, never argv): it ends by the\n"
"                     token's exp + the issuer's grace; --uid: that user may\n"
"                     use the socket too (a CI job's; it needs\n"
"                     WRIT_SERVER_UID=writd's uid, \"server_uid\" in --json)\n"
"  sessions ls [--json]\n"
"  sessions rm ID     close a session: its pending requests fail, its writs\n"
"                     are revoked and its socket removed\n"
"  writs ls [--json]  every live writ (never tokens)\n"
"  writs revoke ID | --session SESSION\n"
"                     revoke one writ, or all of a session's\n"
"  watch              approve or deny requests as they arrive (y/N)\n"
"  requests           the requests waiting for a decision, as JSON\n"
"  approve ID [--confirm CODE]\n"
"                     approve one pending request (CODE: for typed approvals)\n"
"  deny ID            deny one pending request\n"
"  jwks               the public keys that verify writd's JWTs\n"
"  sshcert init [--name NAME] | ca | krl\n"
"                     make the SSH CA key (prints the line for sshd's\n"
"                     TrustedUserCAKeys); print that line; the KRL's path\n"
"  secret set NAME [--from-file PATH]\n"
"                     store a root credential (value from the file, else stdin);\n"
"                     values are write-only: nothing reads them back\n"
"  secret ls [--json] names, sizes and times of the stored secrets\n"
"  secret rm NAME     remove a secret\n"
"  audit verify [--checkpoint FILE] [LOG]\n"
"                     check the audit log's hash chain across its files, old\n"
"                     to new, and its signed checkpoints (or LOG's, a file\n"
"                     moved aside; same key); names the first bad record.\n"
"                     --checkpoint: a checkpoint's line from the syslog copy;\n"
"                     records cut off before it are reported\n"
"  audit rotate       start a new audit file (the chain goes on across it)\n"
"  audit key          the public key that verifies the log's checkpoints\n"
"  audit tail [-f] [-n N] [--session ID]\n"
"                     the last N audit records, readably\n"
"  policy explain FILE|-\n"
"                     what the policy decides for a request (JSON as an agent\n"
"                     sends it, plus optional session, workspace, uid, exe, live,\n"
"                     claims: a job's verified claims, as an object);\n"
"                     issues nothing\n"
"  policy check [--enterprise FILE] [--policy FILE]\n"
"                     validate policy files (default: writd's default paths);\n"
"                     exit 1: invalid, 5: valid but with warnings (patterns or\n"
"                     rules that admit more than they seem to)\n"
"\n"
"The admin socket is DIR/admin.sock; DIR is --runtime-dir, else\n"
"$WRIT_RUNTIME_DIR, else $XDG_RUNTIME_DIR/writ, else /tmp/writ-UID.\n";

static int
fail(int r, const struct writ_resp *resp)
{
	writ_report("writctl", admin, r, resp);
	if (r < 0)
		return 3;
	return resp->status == 404 || resp->status == 409 ? 4 : 1;
}

/* One exchange; on success *ret holds the answer.  Else prints and returns the exit status. */
static int
call(const char *method, const char *path, const char *body, int want,
    struct writ_resp *ret)
{
	int r = writ_http(admin, method, path, body, body ? strlen(body) : 0,
	    SHORT_TIMEOUT, ret);

	if (r < 0 || ret->status != want) {
		r = fail(r, ret);
		writ_resp_free(ret);
		return r;
	}
	return 0;
}

static void
print_json(const json_t *v)
{
	/* NB. every character outside ASCII escaped: the agent's words cannot drive the terminal. */
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

	if (s != NULL)
		puts(s);
	free(s);
}

/*
 * Columns for a row: the terminal's, or 0 (no limit) when stdout is not a
 * terminal, so that a script reading rows gets each on one line.
 */
static unsigned int
out_cols(void)
{
	return isatty(STDOUT_FILENO) ? show_columns(STDOUT_FILENO) : 0;
}

/*
 * Print a row: prefix (writctl's own text, cleaned pieces) and value, text
 * the agent may control, cleaned and wrapped so that no line it fills can
 * pass for a row of its own.
 */
static void
print_row(const char *prefix, const char *value)
{
	unsigned int cols = out_cols();
	struct show_buf b = { 0 };

	show_wrap(&b, prefix, value, cols != 0 ? cols : UINT_MAX / 2,
	    cols != 0 ? SHOW_MAX_LINES : 1);
	if (b.p != NULL)
		fputs(b.p, stdout);
	show_free(&b);
}

/* s cleaned and cut to cols columns, into dst. */
static void
clean_into(char *dst, size_t size, const char *s, unsigned int cols)
{
	char *c = show_clean(s != NULL ? s : "?", cols);

	snprintf(dst, size, "%s", c != NULL ? c : "?");
	free(c);
}

static int
valid_id(const char *id)
{
	if (strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32)
		return 1;
	fprintf(stderr, "writctl: '%s' is not an id (32 hex digits)\n", id);
	return 0;
}

/* Largest CI ID token writctl reads (writd's limit too: OIDC_MAX_TOKEN). */
#define CI_TOKEN_MAX (16 * 1024)

/*
 * Read a CI job's ID token from path ("-": stdin) into buf (CI_TOKEN_MAX +
 * 3 bytes), one trailing newline (LF or CRLF) trimmed.  Returns 0, or prints why and
 * returns the exit status.  The token is never printed.
 */
static int
read_ci_token(const char *path, char *buf)
{
	struct stat st;
	size_t n = 0;
	int fd = 0;

	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "writctl: --ci-token %s: %s\n", path, fd < 0 ? strerror(errno) :
			    "not a regular file");
			if (fd >= 0)
				close(fd);
			return 2;
		}
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, CI_TOKEN_MAX + 2 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n > CI_TOKEN_MAX + 1)
			break;
	}
	if (fd != 0)
		close(fd);
	/* NB. past CI_TOKEN_MAX + 1 no trimmed newline can make it fit: too long. */
	if (n > CI_TOKEN_MAX + 1)
		n = CI_TOKEN_MAX + 1;
	else if (n > 0 && buf[n - 1] == '\n' && --n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	/* NB. the same rule writd applies (identity_refused); not worth sending. */
	if (n > CI_TOKEN_MAX || strlen(buf) != n || n == 0) {
		fprintf(stderr, "writctl: --ci-token: identity_refused: %s; nothing was sent\n",
		    n == 0 ? "the token is empty" : strlen(buf) != n ? "the token holds a NUL byte" :
		    "token too long (over 16384 bytes)");
		explicit_bzero(buf, CI_TOKEN_MAX + 3);
		return 2;
	}
	return 0;
}

/* A uid, from digits or a user name; -1 when it is neither. */
static long long
parse_uid(const char *s)
{
	struct passwd *pw;
	char *end;
	long long v;

	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoll(s, &end, 10);
		/* writd checks the range; only a whole number is sent. */
		return errno == 0 && *end == '\0' ? v : -1;
	}
	pw = getpwnam(s);
	return pw != NULL ? (long long)pw->pw_uid : -1;
}

static int
sessions_new(int argc, char **argv)
{
	const char *name = NULL, *ws = NULL, *token_path = NULL;
	static char token[CI_TOKEN_MAX + 3];
	struct writ_resp resp;
	long long uid = -1;
	long pid = 0;
	int as_json = 0, r;
	json_t *req;
	char *text;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc)
			ws = argv[++i];
		else if (strcmp(argv[i], "--ci-token") == 0 && i + 1 < argc && token_path == NULL)
			token_path = argv[++i];
		else if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc) {
			pid = strtol(argv[++i], NULL, 10);
			if (pid <= 0) {
				fputs("writctl: --pid takes a process id\n", stderr);
				return 2;
			}
		}
		else if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc && uid < 0) {
			if ((uid = parse_uid(argv[++i])) < 0) {
				fprintf(stderr, "writctl: --uid %s: no such user\n", argv[i]);
				return 2;
			}
		}
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (name == NULL) {
		fputs("writctl: sessions new NAME [--workspace DIR] [--pid PID] "
		    "[--ci-token FILE|-] [--uid UID|USER] [--json]\n", stderr);
		return 2;
	}
	if (token_path != NULL && (r = read_ci_token(token_path, token)) != 0)
		return r;
	req = json_pack("{ss}", "name", name);
	if (req == NULL) {
		fputs("writctl: the name must be UTF-8\n", stderr);
		return 2;
	}
	if (ws != NULL) {
		char abs[PATH_MAX];

		if (realpath(ws, abs) == NULL) {
			fprintf(stderr, "writctl: --workspace %s: no such directory\n", ws);
			json_decref(req);
			return 2;
		}
		json_object_set_new(req, "workspace", json_string(abs));
	}
	if (pid > 0)
		json_object_set_new(req, "pid", json_integer(pid));
	if (uid >= 0)
		json_object_set_new(req, "uid", json_integer(uid));
	if (token_path != NULL && json_object_set_new(req, "ci_token", json_string(token)) != 0) {
		fputs("writctl: --ci-token: the token is not text (a JWT is base64url)\n", stderr);
		explicit_bzero(token, sizeof(token));
		json_decref(req);
		return 2;
	}
	text = json_dumps(req, JSON_COMPACT);
	/* NB. the token's copies are wiped: a bearer credential until its exp. */
	if (token_path != NULL) {
		const char *t = json_string_value(json_object_get(req, "ci_token"));

		explicit_bzero((char *)t, strlen(t));
		explicit_bzero(token, sizeof(token));
	}
	json_decref(req);
	if (text == NULL) {
		fputs("writctl: out of memory\n", stderr);
		return 3;
	}
	r = call("POST", "/v1/sessions", text, 201, &resp);
	explicit_bzero(text, strlen(text));
	free(text);
	if (r != 0)
		return r;
	/*
	 * NB. writd's uid as SO_PEERCRED told it on the admin socket: what a
	 * client of another uid must trust ($WRIT_SERVER_UID) to use the socket.
	 */
	if (resp.peer_uid >= 0)
		json_object_set_new(resp.body, "server_uid", json_integer(resp.peer_uid));
	if (as_json)
		print_json(resp.body);
	else
		puts(json_string_value(json_object_get(resp.body, "socket")));
	writ_resp_free(&resp);
	return 0;
}

/*
 * A job session's verified claims under its row: "  job  repository=...
 * ref=... (verified, ends at T)", cleaned (a branch name is anyone's text).
 */
static void
print_job(const json_t *s)
{
	const json_t *claims = json_object_get(s, "claims");
	struct show_buf b = { 0 };
	char prefix[96];
	const char *v;

	if (!json_is_object(claims))
		return;
	for (size_t i = 0; policy_claim_names[i] != NULL; i++)
		if ((v = json_string_value(json_object_get(claims, policy_claim_names[i]))) != NULL)
			show_addf(&b, "%s%s=%s", b.len > 0 ? " " : "", policy_claim_names[i], v);
	snprintf(prefix, sizeof(prefix), "  job (verified, ends at %lld)  ",
	    (long long)json_integer_value(json_object_get(s, "expires_at")));
	if (!b.failed)
		print_row(prefix, b.p != NULL ? b.p : "");
	show_free(&b);
}

static int
sessions_ls(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *s;
	size_t i;
	int r;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if ((r = call("GET", "/v1/sessions", NULL, 200, &resp)) != 0)
		return r;
	if (argc == 1)
		print_json(resp.body);
	else
		json_array_foreach(json_object_get(resp.body, "sessions"), i, s) {
			char id[64], name[64], row[192];

			clean_into(id, sizeof(id), json_string_value(json_object_get(s, "id")), 32);
			clean_into(name, sizeof(name), json_string_value(json_object_get(s, "name")), 16);
			snprintf(row, sizeof(row), "%s  %-16s pending %lld  ", id, name,
			    (long long)json_integer_value(json_object_get(s, "pending")));
			/* The other uid that may use the socket. */
			if (json_is_integer(json_object_get(s, "uid")))
				snprintf(row + strlen(row), sizeof(row) - strlen(row), "uid %lld  ",
				    (long long)json_integer_value(json_object_get(s, "uid")));
			print_row(row, json_string_value(json_object_get(s, "socket")) ?: "-");
			print_job(s);
		}
	writ_resp_free(&resp);
	return 0;
}

static int
sessions_rm(int argc, char **argv)
{
	struct writ_resp resp;
	char path[128];
	int r;

	if (argc != 1 || !valid_id(argv[0]))
		return 2;
	snprintf(path, sizeof(path), "/v1/sessions/%s", argv[0]);
	if ((r = call("DELETE", path, NULL, 200, &resp)) != 0)
		return r;
	printf("closed %s\n", argv[0]);
	writ_resp_free(&resp);
	return 0;
}

static int
writs_ls(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *w;
	size_t i;
	int r;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		fputs("usage: writctl writs ls [--json]\n", stderr);
		return 2;
	}
	if ((r = call("GET", "/v1/writs", NULL, 200, &resp)) != 0)
		return r;
	if (argc == 1)
		print_json(resp.body);
	else
		json_array_foreach(json_object_get(resp.body, "writs"), i, w) {
			char *scope = json_dumps(json_object_get(w, "scope"), JSON_COMPACT | JSON_SORT_KEYS);
			char id[64], sid[64], kind[32], row[224];

			clean_into(id, sizeof(id), json_string_value(json_object_get(w, "id")), 32);
			clean_into(sid, sizeof(sid), json_string_value(json_object_get(w, "session")), 32);
			clean_into(kind, sizeof(kind), json_string_value(json_object_get(w, "kind")), 16);
			snprintf(row, sizeof(row), "%s  session %s  %-7s expires %lld  ", id, sid, kind,
			    (long long)json_integer_value(json_object_get(w, "expires_at")));
			if (out_cols() != 0 && strlen(row) + 16 > out_cols()) {
				/* A terminal too narrow for the row: the scope on lines of its own. */
				snprintf(row, sizeof(row), "%s  session %.8s  %-7s expires %lld", id,
				    sid, kind, (long long)json_integer_value(json_object_get(w, "expires_at")));
				puts(row);
				print_row(SHOW_CONT, scope);
			} else
				print_row(row, scope);
			free(scope);
		}
	writ_resp_free(&resp);
	return 0;
}

static int
writs_revoke(int argc, char **argv)
{
	struct writ_resp resp, one;
	char path[128];
	json_t *w;
	size_t i;
	int r, n = 0;

	if (argc == 1 && valid_id(argv[0])) {
		snprintf(path, sizeof(path), "/v1/writs/%s", argv[0]);
		if ((r = call("DELETE", path, NULL, 200, &resp)) != 0)
			return r;
		printf("revoked %s\n", argv[0]);
		writ_resp_free(&resp);
		return 0;
	}
	if (argc != 2 || strcmp(argv[0], "--session") != 0 || !valid_id(argv[1])) {
		fputs("usage: writctl writs revoke ID | --session SESSION\n", stderr);
		return 2;
	}
	if ((r = call("GET", "/v1/writs", NULL, 200, &resp)) != 0)
		return r;
	json_array_foreach(json_object_get(resp.body, "writs"), i, w) {
		const char *id = json_string_value(json_object_get(w, "id"));

		if (strcmp(json_string_value(json_object_get(w, "session")) ?: "", argv[1]) != 0)
			continue;
		snprintf(path, sizeof(path), "/v1/writs/%s", id);
		/* One may expire meanwhile: that is not a failure. */
		if (call("DELETE", path, NULL, 200, &one) == 0) {
			writ_resp_free(&one);
			n++;
		}
	}
	writ_resp_free(&resp);
	printf("revoked %d writ%s of session %s\n", n, n == 1 ? "" : "s", argv[1]);
	return 0;
}

static int
cmd_writs(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return writs_ls(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return writs_revoke(argc - 2, argv + 2);
	fputs(usage, stderr);
	return 2;
}

static int
cmd_sessions(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "new") == 0)
		return sessions_new(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return sessions_ls(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return sessions_rm(argc - 2, argv + 2);
	fputs(usage, stderr);
	return 2;
}

/*
 * POST an approval or denial; confirm and digest may be NULL.  Returns what
 * writ_http returns, with the answer in *ret: the caller judges it.
 */
static int
post_decision(const char *id, bool approve, const char *confirm, const char *digest,
    struct writ_resp *ret)
{
	char path[128], *text;
	json_t *body = json_object();
	int r;

	if (confirm != NULL)
		json_object_set_new(body, "confirm", json_string(confirm));
	if (digest != NULL)
		json_object_set_new(body, "digest", json_string(digest));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	snprintf(path, sizeof(path), "/v1/requests/%s/%s", id, approve ? "approve" : "deny");
	r = writ_http(admin, "POST", path, text, text != NULL ? strlen(text) : 0,
	    SHORT_TIMEOUT, ret);
	free(text);
	return r;
}

static void
print_cooldown(const struct writ_resp *resp)
{
	const char *c = json_string_value(json_object_get(resp->body, "cooldown"));

	if (c != NULL)
		print_row("writctl: ", c);
}

static int
decide(int argc, char **argv, bool approve)
{
	const char *confirm = NULL;
	struct writ_resp resp;
	int r;

	if (argc == 4 && approve && strcmp(argv[2], "--confirm") == 0)
		confirm = argv[3];
	else if (argc != 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!valid_id(argv[1]))
		return 2;
	r = post_decision(argv[1], approve, confirm, NULL, &resp);
	if (r < 0 || resp.status != 200) {
		r = fail(r, &resp);
		writ_resp_free(&resp);
		return r;
	}
	printf("%s %s\n", approve ? "approved" : "denied", argv[1]);
	print_cooldown(&resp);
	writ_resp_free(&resp);
	return 0;
}

static int
cmd_approve(int argc, char **argv)
{
	return decide(argc, argv, true);
}

static int
cmd_deny(int argc, char **argv)
{
	return decide(argc, argv, false);
}

/* GET path and print its JSON (member key of it, when key is not NULL). */
static int
show(int argc, const char *path, const char *key)
{
	struct writ_resp resp;
	int r;

	if (argc != 1) {
		fputs(usage, stderr);
		return 2;
	}
	if ((r = call("GET", path, NULL, 200, &resp)) != 0)
		return r;
	print_json(key != NULL ? json_object_get(resp.body, key) : resp.body);
	writ_resp_free(&resp);
	return 0;
}

static int
cmd_requests(int argc, char **argv)
{
	(void)argv;
	return show(argc, "/v1/requests", "requests");
}

static int
cmd_jwks(int argc, char **argv)
{
	(void)argv;
	return show(argc, "/v1/jwks", NULL);
}

/*
 * Keep one long-poll open for as long as watch runs, so that writd knows an
 * approver is there even while the person is reading a prompt.  after= is
 * out of reach, so the poll only ever ends by its timeout.
 */
static void *
presence_main(void *arg)
{
	char path[64];

	(void)arg;
	snprintf(path, sizeof(path), "/v1/requests?wait=%d&after=9007199254740992", WATCH_POLL);
	for (;;) {
		struct writ_resp resp;

		if (writ_http(admin, "GET", path, NULL, 0, (WATCH_POLL + 10) * 1000, &resp) < 0)
			sleep(1);
		writ_resp_free(&resp);
	}
	return NULL;
}

/* Write all of s to fd: a prompt leaves in one write where the terminal takes it. */
static void
write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/*
 * Show one request and ask.  Returns 1 to approve, 0 to deny, -1 at EOF or
 * without memory; for a typed approval the code typed goes to typed.
 */
static int
prompt(const json_t *q, char typed[16])
{
	const char *code = json_string_value(json_object_get(json_object_get(q, "confirm"), "code"));
	char *text = show_request(q, show_columns(STDOUT_FILENO)), *question = show_question(q);
	struct show_buf b = { 0 };
	char line[64];

	if (text == NULL || question == NULL) {
		free(text);
		free(question);
		return -1;
	}
	show_add(&b, text, strlen(text));
	show_add(&b, question, strlen(question));
	free(text);
	free(question);
	if (b.failed) {
		show_free(&b);
		return -1;
	}
	/* NB. what was typed before this prompt was shown answers no question of it. */
	if (isatty(STDIN_FILENO))
		(void)tcflush(STDIN_FILENO, TCIFLUSH);
	fflush(stdout);
	write_all(STDOUT_FILENO, b.p);
	show_free(&b);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return -1;
	line[strcspn(line, "\n")] = '\0';
	if (code != NULL) {
		snprintf(typed, 16, "%s", line);
		return strcmp(line, code) == 0;
	}
	return strcmp(line, "y") == 0 || strcmp(line, "yes") == 0 || strcmp(line, "Y") == 0;
}

/*
 * Worth another try: writd is gone, restarting or busy.  Anything else (a
 * refusal, a socket that is not writd's) stops watch with its message.
 */
static bool
transient(int r, const struct writ_resp *resp)
{
	if (r < 0)
		return r == WRIT_HTTP_ECONNECT || r == WRIT_HTTP_EIO ||
		    r == WRIT_HTTP_ETIMEDOUT || r == WRIT_HTTP_EPROTO;
	return resp->status == 429 || resp->status >= 500;
}

/* Why an exchange failed, in a few words, for a line on the terminal. */
static void
why_failed(int r, const struct writ_resp *resp, char *out, size_t size)
{
	const char *code, *msg;

	if (r < 0) {
		snprintf(out, size, "%s", writ_http_strerror(r));
		return;
	}
	writ_resp_error(resp, &code, &msg);
	clean_into(out, size, *msg != '\0' ? msg : "request failed", 100);
	snprintf(out + strlen(out), size - strlen(out), " (%s, HTTP %d)",
	    *code != '\0' ? code : "error", resp->status);
}

/* The next pause of a back-off: 1, 2, 4 ... WATCH_BACKOFF_MAX seconds. */
static unsigned int
backoff_next(unsigned int b)
{
	return b == 0 ? 1 : b * 2 > WATCH_BACKOFF_MAX ? WATCH_BACKOFF_MAX : b * 2;
}

/*
 * Post the decision on request q until writd takes it, refuses it, or the
 * request expires; never lose it silently: whatever happens is said.
 */
static void
deliver(const json_t *q, bool yes, const char *typed)
{
	const char *id = json_string_value(json_object_get(q, "id"));
	const char *digest = json_string_value(json_object_get(q, "digest"));
	long long expires = json_integer_value(json_object_get(q, "expires_at"));
	unsigned int backoff = 0;
	const char *prior;
	char why[192];

	for (;;) {
		struct writ_resp d;
		int r = post_decision(id, yes, typed[0] ? typed : NULL, digest, &d);

		if (r == 0 && d.status == 200) {
			printf("%s\n", yes ? "approved" : "denied");
			print_cooldown(&d);
			writ_resp_free(&d);
			return;
		}
		why_failed(r, &d, why, sizeof(why));
		/* An earlier try went through, and only its answer was lost. */
		prior = json_string_value(json_object_get(json_object_get(d.body, "error"), "prior"));
		if (r == 0 && d.status == 409 && backoff != 0 && prior != NULL &&
		    strcmp(prior, yes ? "approved" : "denied") == 0) {
			printf("%s\n", yes ? "approved" : "denied");
			writ_resp_free(&d);
			return;
		}
		if (!transient(r, &d)) {
			/* Gone (timed out, caller left, writd restarted), decided elsewhere ... */
			fprintf(stderr, "writctl: request %.8s was NOT %s: %s\n", id,
			    yes ? "approved" : "denied", why);
			writ_resp_free(&d);
			return;
		}
		writ_resp_free(&d);
		backoff = backoff_next(backoff);
		if ((long long)time(NULL) + backoff >= expires) {
			fprintf(stderr, "writctl: request %.8s was NOT %s: writd did not take "
			    "the decision before the request expired (%s)\n", id,
			    yes ? "approved" : "denied", why);
			return;
		}
		fprintf(stderr, "writctl: your decision on request %.8s is not delivered yet "
		    "(%s); trying again in %us\n", id, why, backoff);
		sleep(backoff);
	}
}

static int
cmd_watch(int argc, char **argv)
{
	unsigned long long after = 0;
	unsigned int backoff = 0;
	char instance[40] = "", why[192];
	pthread_t presence;

	(void)argv;
	if (argc != 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (pthread_create(&presence, NULL, presence_main, NULL) != 0) {
		fputs("writctl: cannot start\n", stderr);
		return 1;
	}
	fprintf(stderr, "writctl: watching %s for requests (Ctrl-C stops)\n", admin);
	for (;;) {
		struct writ_resp resp;
		const char *inst;
		char path[96];
		json_t *q;
		size_t i;
		int r;

		/*
		 * After a failure, look once without waiting: the person learns
		 * at once that writd is back.  instance= tells a restarted writd
		 * that after= counted in another run.
		 */
		snprintf(path, sizeof(path), "/v1/requests?wait=%d&after=%llu%s%s",
		    backoff != 0 ? 0 : WATCH_POLL, after, instance[0] ? "&instance=" : "", instance);
		r = writ_http(admin, "GET", path, NULL, 0, (WATCH_POLL + 10) * 1000, &resp);
		if (r < 0 || resp.status != 200) {
			if (!transient(r, &resp)) {
				r = fail(r, &resp);
				writ_resp_free(&resp);
				return r;
			}
			/* NB. requests may be waiting for a person: keep watching. */
			why_failed(r, &resp, why, sizeof(why));
			writ_resp_free(&resp);
			backoff = backoff_next(backoff);
			fprintf(stderr, "writctl: cannot reach writd (%s); trying again in %us\n",
			    why, backoff);
			sleep(backoff);
			continue;
		}
		if (backoff != 0)
			fputs("writctl: writd answers again; watching\n", stderr);
		backoff = 0;
		/* A restarted writd numbered this list from 1 again (it saw our instance). */
		inst = json_string_value(json_object_get(resp.body, "instance"));
		if (inst != NULL && strlen(inst) == 32 && strspn(inst, "0123456789abcdef") == 32 &&
		    strcmp(inst, instance) != 0) {
			if (instance[0] != '\0')
				fputs("writctl: writd restarted; watching its requests\n", stderr);
			snprintf(instance, sizeof(instance), "%s", inst);
			after = 0;
		}
		json_array_foreach(json_object_get(resp.body, "requests"), i, q) {
			const char *id = json_string_value(json_object_get(q, "id"));
			unsigned long long seq = (unsigned long long)json_integer_value(json_object_get(q, "seq"));
			char typed[16] = "";
			int yes;

			if (seq > after)
				after = seq;
			if (id == NULL || strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
				continue;
			yes = prompt(q, typed);
			if (yes < 0) {
				writ_resp_free(&resp);
				return 0;
			}
			/* The digest binds the decision to the request just shown. */
			deliver(q, yes, typed);
		}
		writ_resp_free(&resp);
	}
}

static int
policy_explain(int argc, char **argv)
{
	struct writ_resp resp;
	json_error_t je;
	json_t *req;
	char *text;
	int r;

	if (argc != 1) {
		fputs("usage: writctl policy explain FILE|-\n", stderr);
		return 2;
	}
	req = strcmp(argv[0], "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je) :
	    json_load_file(argv[0], JSON_REJECT_DUPLICATES, &je);
	if (req == NULL) {
		fprintf(stderr, "writctl: %s:%d:%d: %s\n", argv[0], je.line, je.column, je.text);
		return 2;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	r = call("POST", "/v1/policy/explain", text, 200, &resp);
	free(text);
	if (r != 0)
		return r;
	print_json(resp.body);
	writ_resp_free(&resp);
	return 0;
}

/* policy_lint's findings, one line each on stderr, naming the file. */
static void
policy_warn(void *arg, enum policy_layer_id layer, const char *msg)
{
	const char *const *files = arg;

	fprintf(stderr, "writctl: warning: %s: ", files[layer]);
	writ_print_clean(stderr, msg);
	fputc('\n', stderr);
}

/*
 * Check the policy files as writd would load them: exit 0 when they are
 * valid, 1 when writd would refuse them, 5 when they are valid but admit
 * more than they seem to (policy_lint; each finding on stderr).  NB. not
 * 3: that is writctl's "writd cannot be reached".
 */
static int
policy_check(int argc, char **argv)
{
	char ent[PATH_MAX] = WRIT_ENTERPRISE_POLICY, user[PATH_MAX] = "", err[WRIT_ERRLEN];
	const char *base, *files[POLICY_NLAYERS];
	struct policy *p;
	size_t warnings;

	if ((base = secure_getenv("XDG_CONFIG_HOME")) != NULL && base[0] == '/')
		snprintf(user, sizeof(user), "%s/writ/policy.json", base);
	else if ((base = secure_getenv("HOME")) != NULL && base[0] == '/')
		snprintf(user, sizeof(user), "%s/.config/writ/policy.json", base);
	for (int i = 0; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--enterprise") == 0)
			snprintf(ent, sizeof(ent), "%s", argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--policy") == 0)
			snprintf(user, sizeof(user), "%s", argv[++i]);
		else {
			fputs("usage: writctl policy check [--enterprise FILE] [--policy FILE]\n", stderr);
			return 2;
		}
	}
	if (policy_load(ent, user[0] ? user : NULL, &p, err) < 0) {
		fputs("writctl: ", stderr);
		writ_print_clean(stderr, err);
		fputc('\n', stderr);
		return 1;
	}
	files[POLICY_ENTERPRISE] = ent;
	files[POLICY_USER] = user;
	warnings = policy_lint(p, policy_warn, files);
	policy_free(p);
	printf("policy ok: %s (enterprise%s), %s (user%s)", ent,
	    access(ent, F_OK) == 0 ? "" : ", absent", user[0] ? user : "-",
	    user[0] && access(user, F_OK) == 0 ? "" : ", absent");
	if (warnings > 0)
		printf(", %zu warning%s", warnings, warnings == 1 ? "" : "s");
	putchar('\n');
	return warnings > 0 ? 5 : 0;
}

/* Largest value writctl reads (writd's limit is WRIT_MAX_SECRET). */
#define SECRET_READ_MAX (32 * 1024)

/*
 * Read a secret value from path (refused when others could read it or it
 * is not ours: a key in such a file is already out) or stdin.
 */
static int
read_value(const char *path, unsigned char *buf, size_t *ret_len)
{
	struct stat st;
	size_t n = 0;
	int fd = 0;

	if (path != NULL) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "writctl: %s: %s\n", path, fd < 0 ? strerror(errno) :
			    "not a regular file");
			if (fd >= 0)
				close(fd);
			return 2;
		}
		if ((st.st_mode & 077) != 0 || (st.st_uid != geteuid() && st.st_uid != 0)) {
			fprintf(stderr, "writctl: %s is readable by others or not yours "
			    "(mode %04o); chmod 600 it first\n", path, (unsigned)(st.st_mode & 07777));
			close(fd);
			return 2;
		}
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, SECRET_READ_MAX + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n > SECRET_READ_MAX)
			break;
	}
	if (path != NULL)
		close(fd);
	if (n == 0 || n > SECRET_READ_MAX) {
		fprintf(stderr, "writctl: a secret is 1 to %d bytes\n", SECRET_READ_MAX);
		return 2;
	}
	*ret_len = n;
	return 0;
}

static int
secret_set(int argc, char **argv)
{
	unsigned char *buf;
	struct writ_resp resp;
	const char *from = NULL;
	char path[128];
	size_t len = 0;
	int r;

	if (argc == 3 && strcmp(argv[1], "--from-file") == 0)
		from = argv[2];
	else if (argc != 1) {
		fputs("usage: writctl secret set NAME [--from-file PATH]\n", stderr);
		return 2;
	}
	if (strlen(argv[0]) > 64 || strspn(argv[0], "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(argv[0]) || argv[0][0] == '.' ||
	    argv[0][0] == '\0') {
		fputs("writctl: a secret name is 1-64 characters of [A-Za-z0-9._-]\n", stderr);
		return 2;
	}
	/* NB. the value never touches argv or the environment. */
	buf = malloc(SECRET_READ_MAX + 1);
	if (buf == NULL)
		return 1;
	if ((r = read_value(from, buf, &len)) == 0) {
		snprintf(path, sizeof(path), "/v1/secrets/%s", argv[0]);
		r = writ_http(admin, "PUT", path, (const char *)buf, len, SHORT_TIMEOUT, &resp);
		if (r < 0 || resp.status != 200)
			r = fail(r, &resp);
		else
			printf("stored %s (%zu bytes)\n", argv[0], len);
		writ_resp_free(&resp);
	}
	explicit_bzero(buf, SECRET_READ_MAX + 1);
	free(buf);
	return r;
}

static int
secret_ls(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *e;
	size_t i;
	int r;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		fputs("usage: writctl secret ls [--json]\n", stderr);
		return 2;
	}
	if ((r = call("GET", "/v1/secrets", NULL, 200, &resp)) != 0)
		return r;
	if (argc == 1)
		print_json(resp.body);
	else
		json_array_foreach(json_object_get(resp.body, "secrets"), i, e) {
			time_t t = (time_t)json_integer_value(json_object_get(e, "updated_at"));
			char when[32];

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
			printf("%-24s %6lld bytes  updated %s\n",
			    json_string_value(json_object_get(e, "name")),
			    (long long)json_integer_value(json_object_get(e, "size")), when);
		}
	writ_resp_free(&resp);
	return 0;
}

static int
secret_rm(int argc, char **argv)
{
	struct writ_resp resp;
	char path[128];
	int r;

	if (argc != 1 || strlen(argv[0]) > 64 || strchr(argv[0], '/') != NULL) {
		fputs("usage: writctl secret rm NAME\n", stderr);
		return 2;
	}
	snprintf(path, sizeof(path), "/v1/secrets/%s", argv[0]);
	if ((r = call("DELETE", path, NULL, 200, &resp)) != 0)
		return r;
	printf("removed %s\n", argv[0]);
	writ_resp_free(&resp);
	return 0;
}

static int
cmd_secret(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "set") == 0)
		return secret_set(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return secret_ls(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return secret_rm(argc - 2, argv + 2);
	fputs(usage, stderr);
	return 2;
}

/*
 * The checkpoint line in FILE (a syslog extract) that signs the furthest
 * point, for verify: an older genuine line, replayed into syslog later,
 * must not hide a truncation that a newer one shows.  (A forged line with
 * a far point fails its signature check, loudly.)
 */
static char *
read_checkpoint(const char *file)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char line[16384], *best = NULL, *at;
	unsigned long long seq, best_seq = 0;

	if (f == NULL) {
		fprintf(stderr, "writctl: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "\"event\":\"checkpoint\"") == NULL)
			continue;
		at = strstr(line, "\"at_seq\":");
		seq = at != NULL ? strtoull(at + 9, NULL, 10) : 0;
		if (best == NULL || seq >= best_seq) {
			free(best);
			best = strdup(line);
			best_seq = seq;
		}
	}
	if (f != stdin)
		fclose(f);
	if (best == NULL)
		fprintf(stderr, "writctl: %s holds no checkpoint record (a line with "
		    "\"event\":\"checkpoint\")\n", file);
	return best;
}

static void
print_verify_file(const json_t *f)
{
	char row[96], name[40];

	clean_into(name, sizeof(name), json_string_value(json_object_get(f, "file")), 36);
	snprintf(row, sizeof(row), "  %-32s seq %lld-%lld ", name,
	    (long long)json_integer_value(json_object_get(f, "first_seq")),
	    (long long)json_integer_value(json_object_get(f, "last_seq")));
	print_row(row, json_is_true(json_object_get(f, "ok")) ? "ok" :
	    json_string_value(json_object_get(f, "reason")));
}

static int
audit_verify_cmd(int argc, char **argv)
{
	const char *file = NULL, *ckfile = NULL;
	char abs[PATH_MAX], *body = NULL, *ck = NULL;
	const json_t *last, *given, *f;
	struct writ_resp resp;
	json_t *j;
	size_t i;
	int r;

	for (int k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--checkpoint") == 0 && k + 1 < argc)
			ckfile = argv[++k];
		else if (argv[k][0] != '-' && file == NULL)
			file = argv[k];
		else {
			fputs("usage: writctl audit verify [--checkpoint FILE] [LOG]\n", stderr);
			return 2;
		}
	}
	if (file != NULL && realpath(file, abs) == NULL) {
		fprintf(stderr, "writctl: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (ckfile != NULL && (ck = read_checkpoint(ckfile)) == NULL)
		return 1;
	if (file != NULL || ck != NULL) {
		j = json_object();
		if (file != NULL)
			json_object_set_new(j, "file", json_string(abs));
		if (ck != NULL)
			json_object_set_new(j, "checkpoint", json_string(ck));
		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		free(ck);
		if (body == NULL)
			return 1;
	}
	r = call(body != NULL ? "POST" : "GET", "/v1/audit/verify", body, 200, &resp);
	free(body);
	if (r != 0)
		return r;
	if (json_object_get(resp.body, "files") == NULL) {
		fputs("writctl: cannot read the log: ", stderr);
		writ_print_clean(stderr, json_string_value(json_object_get(resp.body, "reason")) ?: "?");
		fputc('\n', stderr);
		writ_resp_free(&resp);
		return 1;
	}
	if (json_is_true(json_object_get(resp.body, "ok"))) {
		size_t nf = json_array_size(json_object_get(resp.body, "files"));

		printf("audit log ok: %lld records in %zu file%s, chain intact\n",
		    (long long)json_integer_value(json_object_get(resp.body, "records")), nf,
		    nf == 1 ? "" : "s");
		r = 0;
	} else {
		if (json_object_get(resp.body, "first_bad") != NULL)
			printf("audit log BROKEN at record %lld: ",
			    (long long)json_integer_value(json_object_get(resp.body, "first_bad")));
		else
			fputs("audit log BROKEN: ", stdout);
		writ_print_clean(stdout, json_string_value(json_object_get(resp.body, "reason")) ?: "?");
		putchar('\n');
		r = 1;
	}
	json_array_foreach(json_object_get(resp.body, "files"), i, f)
		print_verify_file(f);
	last = json_object_get(resp.body, "last_checkpoint");
	if (json_is_object(last)) {
		time_t t = (time_t)json_integer_value(json_object_get(last, "time"));
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
		printf("last checkpoint: seq %lld (signs seq %lld), %s, signature good\n",
		    (long long)json_integer_value(json_object_get(last, "seq")),
		    (long long)json_integer_value(json_object_get(last, "at_seq")), when);
	} else
		puts("last checkpoint: none yet");
	given = json_object_get(resp.body, "checkpoint");
	if (given != NULL) {
		fputs(json_is_true(json_object_get(given, "ok")) ? "given checkpoint: " :
		    "given checkpoint FAILS: ", stdout);
		writ_print_clean(stdout, json_string_value(json_object_get(given, "reason")) ?: "?");
		putchar('\n');
	}
	printf("checkpoint key (ed25519): %s\n",
	    json_string_value(json_object_get(resp.body, "public_key")) ?: "?");
	writ_resp_free(&resp);
	return r;
}

static int
audit_rotate_cmd(void)
{
	struct writ_resp resp;
	int r = call("POST", "/v1/audit/rotate", NULL, 200, &resp);

	if (r != 0)
		return r;
	printf("audit log rotated: a new audit.jsonl begins at seq %lld\n",
	    (long long)json_integer_value(json_object_get(resp.body, "seq")));
	writ_resp_free(&resp);
	return 0;
}

static int
audit_key_cmd(void)
{
	struct writ_resp resp;
	int r = call("GET", "/v1/audit/key", NULL, 200, &resp);

	if (r != 0)
		return r;
	printf("%s\n", json_string_value(json_object_get(resp.body, "public_key")) ?: "?");
	writ_resp_free(&resp);
	return 0;
}

static void
print_record(const json_t *rec)
{
	time_t t = (time_t)json_integer_value(json_object_get(rec, "time"));
	json_t *copy = json_deep_copy(rec);
	char when[32], event[48], row[96], *rest;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
	json_object_del(copy, "time");
	json_object_del(copy, "mac");
	json_object_del(copy, "seq");
	json_object_del(copy, "event");
	rest = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	clean_into(event, sizeof(event), json_string_value(json_object_get(rec, "event")), 20);
	snprintf(row, sizeof(row), "%6lld %s %-14s ",
	    (long long)json_integer_value(json_object_get(rec, "seq")), when, event);
	/* Records quote the agent's words: never let them drive the terminal. */
	print_row(row, rest);
	free(rest);
	json_decref(copy);
}

/* Most records one poll of `audit tail -f` prints. */
#define FOLLOW_MAX 1000

static int
audit_tail_cmd(int argc, char **argv)
{
	const char *session = NULL;
	long long last = -1;
	struct writ_resp resp;
	bool follow = false;
	char path[160];
	long n = 20;
	json_t *rec;
	size_t i;
	int r;

	for (int k = 0; k < argc; k++) {
		if (strcmp(argv[k], "-n") == 0 && k + 1 < argc)
			n = strtol(argv[++k], NULL, 10);
		else if (strcmp(argv[k], "-f") == 0)
			follow = true;
		else if (strcmp(argv[k], "--session") == 0 && k + 1 < argc)
			session = argv[++k];
		else {
			fputs("usage: writctl audit tail [-f] [-n N] [--session ID]\n", stderr);
			return 2;
		}
	}
	if (n < 1 || n > 100000 || (session != NULL && !valid_id(session)))
		return 2;
	for (;;) {
		/* Following: only what came after the last record printed. */
		snprintf(path, sizeof(path), "/v1/audit?tail=%ld&after=%lld%s%s",
		    last < 0 ? n : FOLLOW_MAX, last < 0 ? 0 : last,
		    session ? "&session=" : "", session ? session : "");
		if ((r = call("GET", path, NULL, 200, &resp)) != 0)
			return r;
		json_array_foreach(json_object_get(resp.body, "records"), i, rec) {
			long long seq = json_integer_value(json_object_get(rec, "seq"));

			if (last > 0 && i == 0 && session == NULL && seq > last + 1)
				printf("  ... %lld records not shown (more than %d in a second;"
				    " writctl audit tail -n)\n", seq - last - 1, FOLLOW_MAX);
			if (seq > last) {
				print_record(rec);
				last = seq;
			}
		}
		writ_resp_free(&resp);
		if (!follow)
			return 0;
		if (last < 0)
			last = 0;
		fflush(stdout);
		sleep(1);
	}
}

static int
cmd_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_verify_cmd(argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[1], "rotate") == 0)
		return audit_rotate_cmd();
	if (argc == 2 && strcmp(argv[1], "key") == 0)
		return audit_key_cmd();
	if (argc >= 2 && strcmp(argv[1], "tail") == 0)
		return audit_tail_cmd(argc - 2, argv + 2);
	fputs(usage, stderr);
	return 2;
}

/*
 * writctl sshcert: the sshcert kind's CA.  init makes an Ed25519 CA key,
 * stores it through writd (write-only, as every secret) and prints the
 * public line for sshd's TrustedUserCAKeys; ca prints that line again and
 * krl the path of writd's KRL (RevokedKeys), both asked of writd.
 */
static const char sshcert_usage[] =
"usage: writctl sshcert init [--name NAME]   make the SSH CA key (default name ssh-ca)\n"
"       writctl sshcert ca                   the CA's public line (TrustedUserCAKeys)\n"
"       writctl sshcert krl                  the KRL's path (RevokedKeys)\n";

/* Is secret name in writd's store?  1 yes, 0 no, else an exit status (printed). */
static int
sshcert_stored(const char *name)
{
	struct writ_resp resp;
	json_t *e;
	size_t i;
	int r, found = 0;

	if ((r = call("GET", "/v1/secrets", NULL, 200, &resp)) != 0)
		return -r;
	json_array_foreach(json_object_get(resp.body, "secrets"), i, e)
		if (json_is_string(json_object_get(e, "name")) &&
		    strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			found = 1;
	writ_resp_free(&resp);
	return found;
}

static int
sshcert_init_cmd(int argc, char **argv)
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	const char *name = "ssh-ca";
	struct wire_buf blob = { 0 };
	struct writ_resp resp;
	char path[128], b64[128];
	int r;

	if (argc == 2 && strcmp(argv[0], "--name") == 0)
		name = argv[1];
	else if (argc != 0) {
		fputs(sshcert_usage, stderr);
		return 2;
	}
	if (strlen(name) == 0 || strlen(name) > 64 || name[0] == '.' || strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(name)) {
		fputs("writctl: a secret name is 1-64 characters of [A-Za-z0-9._-]\n", stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	/* NB. never over a CA servers already trust: their certificates would all die. */
	if ((r = sshcert_stored(name)) != 0) {
		if (r == 1)
			fprintf(stderr, "writctl: %s is already in the store; `writctl sshcert ca` "
			    "prints its public line (to replace it: `writctl secret rm %s`, then "
			    "init, then restart writd)\n", name, name);
		return r == 1 ? 1 : -r;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);
	r = writ_http(admin, "PUT", path, (const char *)seed, sizeof(seed), SHORT_TIMEOUT, &resp);
	sodium_memzero(seed, sizeof(seed));
	if (r < 0 || resp.status != 200) {
		r = fail(r, &resp);
		writ_resp_free(&resp);
		return r;
	}
	writ_resp_free(&resp);
	wire_put_cstring(&blob, "ssh-ed25519");
	wire_put_string(&blob, pk, sizeof(pk));
	if (blob.err)
		return 1;
	sodium_bin2base64(b64, sizeof(b64), blob.p, blob.len, sodium_base64_VARIANT_ORIGINAL);
	wire_free(&blob);
	fprintf(stderr, "stored the SSH CA key as %s; trust it on a server with "
	    "TrustedUserCAKeys (the line below) and RevokedKeys (`writctl sshcert krl`)\n", name);
	printf("ssh-ed25519 %s writ-ca\n", b64);
	return 0;
}

/* GET /v1/sshcert and print its member key (a string), or say why there is none. */
static int
sshcert_show(int argc, const char *key)
{
	struct writ_resp resp;
	const char *v;
	int r;

	if (argc != 0) {
		fputs(sshcert_usage, stderr);
		return 2;
	}
	if ((r = call("GET", "/v1/sshcert", NULL, 200, &resp)) != 0)
		return r;
	v = json_string_value(json_object_get(resp.body, key));
	if (v == NULL)
		fputs("writctl: writd has no SSH CA key yet: `writctl sshcert init` makes one\n",
		    stderr);
	else
		puts(v);
	writ_resp_free(&resp);
	return v == NULL ? 1 : 0;
}

static int
cmd_sshcert(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return sshcert_init_cmd(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "ca") == 0)
		return sshcert_show(argc - 2, "ca");
	if (argc >= 2 && strcmp(argv[1], "krl") == 0)
		return sshcert_show(argc - 2, "krl");
	fputs(sshcert_usage, stderr);
	return 2;
}

static int
cmd_policy(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "explain") == 0)
		return policy_explain(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return policy_check(argc - 2, argv + 2);
	fputs(usage, stderr);
	return 2;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "policy", cmd_policy },
	{ "audit", cmd_audit },
	{ "secret", cmd_secret },
	{ "sessions", cmd_sessions },
	{ "writs", cmd_writs },
	{ "watch", cmd_watch },
	{ "requests", cmd_requests },
	{ "approve", cmd_approve },
	{ "deny", cmd_deny },
	{ "jwks", cmd_jwks },
	{ "sshcert", cmd_sshcert },
	{ NULL, NULL },
};

/* A malformed $WRIT_SERVER_UID, as uid_trusted last met it (a WRIT_HTTP_E* code). */
static int server_uid_bad;

/* fs_check_client_dir's test of an owner: the uids writctl talks to. */
static bool
uid_trusted(uid_t uid)
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

	snprintf(path, sizeof(path), "%s", admin);
	*strrchr(path, '/') = '\0';
	if ((r = fs_check_client_dir(path, uid_trusted, err)) == 0 || r == WRIT_ENOTFOUND)
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
		n = snprintf(admin, sizeof(admin), "%s/admin.sock", dir);
	else if ((base = secure_getenv("XDG_RUNTIME_DIR")) != NULL && base[0] == '/')
		n = snprintf(admin, sizeof(admin), "%s/writ/admin.sock", base);
	else
		n = snprintf(admin, sizeof(admin), "/tmp/writ-%u/admin.sock", (unsigned)geteuid());
	return n > 0 && (size_t)n < sizeof(admin) ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	int i = 1, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && strcmp(argv[1], "--runtime-dir") == 0) {
		dir = argv[2];
		i = 3;
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
	    strcmp(argv[i], "help") == 0) {
		fputs(usage, stdout);
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
	/* policy check reads local files only; everything else trusts admin.sock. */
	if (!(strcmp(argv[i], "policy") == 0 && i + 1 < argc &&
	    strcmp(argv[i + 1], "check") == 0) && (r = check_runtime_dir()) != 0)
		return r;
	/* writs ls and audit tail on a busy writd run long: WRIT_MAX_ADMIN_RESPONSE. */
	writ_set_max_response(WRIT_MAX_ADMIN_RESPONSE);
	for (size_t k = 0; commands[k].name != NULL; k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			return commands[k].fn(argc - i, argv + i);
	fprintf(stderr, "writctl: unknown command '%s'\n%s", argv[i], usage);
	return 2;
}
