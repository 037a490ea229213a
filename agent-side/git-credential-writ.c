/*
 * git-credential-writ - git's credential helper, answered by writd.
 *
 * `git config credential.helper writ` (and credential.useHttpPath true)
 * makes git run `git-credential-writ get` with key=value lines on stdin
 * (git-credential(1)).  For the GitHub host, get asks writd for a github
 * writ for the repository in "path" and prints it as x-access-token; erase
 * gives the writ back; store does nothing; other operations are ignored.
 *
 * At least as strict as git itself: a CR, LF or NUL in any value, a missing
 * protocol, host or path, a protocol other than https, another host, or an
 * over-long line: nothing is printed and the exit status is non-zero.
 * Links only libc and jansson, so it starts in about a millisecond.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "gitcred.h"
#include "libwrit.h"

static const char usage[] =
"usage: git-credential-writ [--host HOST] [--access read|write] [--ttl DURATION] get|store|erase\n"
"\n"
"git's credential helper for writ: `git config --global credential.helper writ`\n"
"and `git config --global credential.useHttpPath true`.  HOST is the GitHub\n"
"host (default github.com); --access write asks for contents: write (set it\n"
"per repository: credential.https://github.com/OWNER/REPO.helper).\n"
"The socket is $WRIT_SOCKET, else " WRIT_DEFAULT_SOCKET ".  Nothing is sent to a\n"
"socket served by another user than you or root, unless $WRIT_SERVER_UID names\n"
"it (writd under a dedicated user; 65534 in a user namespace that does not map it).\n";

static int
refuse(const char *why)
{
	fprintf(stderr, "git-credential-writ: %s\n", why);
	return 1;
}

/* Read git's block from stdin into buf (GITCRED_MAX_INPUT + 1 bytes).  Returns 0, or refuses. */
static int
read_block(struct gitcred *c, char *buf)
{
	size_t len = fread(buf, 1, GITCRED_MAX_INPUT, stdin);
	const char *why;

	if (gitcred_parse(c, buf, len, &why) < 0)
		return refuse(why);
	return 0;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
do_get(const struct gitcred *c, const char *access, const char *ttl)
{
	struct writ_resp resp = { 0 };
	const char *tok;
	char reason[300];
	json_t *req;
	char *text;
	int r;

	snprintf(reason, sizeof(reason), "git credential for %.200s", c->path);
	req = json_pack("{sss{sss{ss}}ss}", "kind", "github", "scope", "repo", c->path,
	    "permissions", "contents", access, "reason", reason);
	if (req == NULL)
		return refuse("the path is not UTF-8");
	if (ttl != NULL)
		json_object_set_new(req, "ttl", json_string(ttl));
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	/* Waits for the person who approves; writd answers by its deadline. */
	r = writ_http(writ_socket_path(), "POST", "/v1/writs", text, strlen(text), -1, &resp);
	free(text);
	if (r < 0 || resp.status != 201) {
		writ_report("git-credential-writ", writ_socket_path(), r, &resp);
		writ_resp_free(&resp);
		return 1;
	}
	tok = json_string_value(json_object_get(resp.body, "token"));
	if (tok == NULL || strpbrk(tok, "\r\n") != NULL || *tok == '\0') {
		writ_resp_free(&resp);
		return refuse("writd's answer has no usable token");
	}
	printf("username=x-access-token\npassword=%s\npassword_expiry_utc=%lld\n", tok,
	    (long long)json_integer_value(json_object_get(resp.body, "expires_at")));
	fflush(stdout);
	writ_resp_free(&resp);
	return 0;
}

static int
do_erase(const struct gitcred *c)
{
	struct writ_resp resp = { 0 };
	json_t *req;
	char *text;
	int r;

	if (c->password == NULL)
		return 0;	/* nothing to give back */
	req = json_pack("{ss}", "token", c->password);
	text = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (text == NULL)
		return 0;
	/* A token writd does not know (another helper's) is not our business. */
	r = writ_http(writ_socket_path(), "POST", "/v1/writs/revoke", text, strlen(text),
	    30000, &resp);
	/* ... but a squatted socket is: the user should hear of it. */
	if (r == WRIT_HTTP_EPEER || r == WRIT_HTTP_ESERVERUID)
		writ_report("git-credential-writ", writ_socket_path(), r, &resp);
	explicit_bzero(text, strlen(text));
	free(text);
	writ_resp_free(&resp);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *host = "github.com", *access = "read", *ttl = NULL, *op = NULL;
	struct gitcred c = { NULL };
	char want[256], *buf;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
			host = argv[++i];
		else if (strcmp(argv[i], "--access") == 0 && i + 1 < argc)
			access = argv[++i];
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			ttl = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (op == NULL && argv[i][0] != '-')
			op = argv[i];
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (op == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(access, "read") != 0 && strcmp(access, "write") != 0)
		return refuse("--access is read or write");
	if (strcmp(op, "get") != 0 && strcmp(op, "erase") != 0)
		return 0;	/* store, and operations we do not know: silently nothing */
	buf = malloc(GITCRED_MAX_INPUT + 1);
	if (buf == NULL)
		return 1;
	if ((r = read_block(&c, buf)) != 0)
		goto out;
	r = 1;
	if (c.protocol == NULL || c.host == NULL) {
		refuse("git gave no protocol or host");
		goto out;
	}
	if (strcmp(c.protocol, "https") != 0) {
		refuse("only https is served");
		goto out;
	}
	snprintf(want, sizeof(want), "%s", host);
	lower(want);
	lower(c.host);
	/* Exact, after lower-casing: "github.com.evil.example" is another host. */
	if (strcmp(c.host, want) != 0) {
		refuse("that host is not the configured GitHub host (--host)");
		goto out;
	}
	if (c.path == NULL || c.path[0] == '\0') {
		refuse("git gave no path: run `git config --global credential.useHttpPath true`");
		goto out;
	}
	r = strcmp(op, "get") == 0 ? do_get(&c, access, ttl) : do_erase(&c);
 out:
	explicit_bzero(buf, GITCRED_MAX_INPUT + 1);
	free(buf);
	return r;
}
