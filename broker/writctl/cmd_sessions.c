/*
 * cmd_sessions.c - writctl sessions new, ls, rm.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"
#include "../../policy/policy.h"
#include "../show.h"
#include "id.h"
#include "writctl.h"

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

int
cmd_sessions_new(int argc, char **argv)
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
			ctl_usage(stderr);
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
	r = ctl_call("POST", "/v1/sessions", text, 201, &resp);
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
		ctl_print_json(resp.body);
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
		ctl_print_row(prefix, b.p != NULL ? b.p : "");
	show_free(&b);
}

int
cmd_sessions_ls(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *s;
	size_t i;
	int r;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		ctl_usage(stderr);
		return 2;
	}
	if ((r = ctl_call("GET", "/v1/sessions", NULL, 200, &resp)) != 0)
		return r;
	if (argc == 1)
		ctl_print_json(resp.body);
	else
		json_array_foreach(json_object_get(resp.body, "sessions"), i, s) {
			char id[64], name[64], row[192];

			ctl_clean_into(id, sizeof(id), json_string_value(json_object_get(s, "id")), WRIT_ID_LEN);
			ctl_clean_into(name, sizeof(name), json_string_value(json_object_get(s, "name")), 16);
			snprintf(row, sizeof(row), "%s  %-16s pending %lld  ", id, name,
			    (long long)json_integer_value(json_object_get(s, "pending")));
			/* The other uid that may use the socket. */
			if (json_is_integer(json_object_get(s, "uid")))
				snprintf(row + strlen(row), sizeof(row) - strlen(row), "uid %lld  ",
				    (long long)json_integer_value(json_object_get(s, "uid")));
			ctl_print_row(row, json_string_value(json_object_get(s, "socket")) ?: "-");
			print_job(s);
		}
	writ_resp_free(&resp);
	return 0;
}

int
cmd_sessions_rm(int argc, char **argv)
{
	struct writ_resp resp;
	char path[128];
	int r;

	if (argc != 1 || !ctl_valid_id(argv[0]))
		return 2;
	snprintf(path, sizeof(path), "/v1/sessions/%s", argv[0]);
	if ((r = ctl_call("DELETE", path, NULL, 200, &resp)) != 0)
		return r;
	printf("closed %s\n", argv[0]);
	writ_resp_free(&resp);
	return 0;
}
