/*
 * writ - ask writd for credentials from inside the sandbox.
 *
 * Talks to the session socket ($WRIT_SOCKET, else /run/writ/agent.sock).
 * Exit codes tell failures apart for scripts; see usage below.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <jansson.h>

#include "id.h"
#include "libwrit.h"

enum {
	EXIT_FAIL = 1,		/* anything else */
	EXIT_USAGE = 2,		/* bad input, ours or as writd judged it */
	EXIT_UNREACHABLE = 3,	/* no writd at the socket */
	EXIT_DENIED = 4,	/* denied, or nobody there to approve */
	EXIT_TIMEOUT = 5,	/* nobody decided in time */
	EXIT_BUSY = 6,		/* too many pending requests; retry later */
};

/* Most --scope options in one request. */
#define WRIT_MAX_SCOPE_ARGS 32
/* How long non-blocking commands wait for writd, in ms. */

static const char usage[] =
"usage: writ get KIND [--scope KEY=VALUE]... [--ttl DURATION] [--reason TEXT] [--json]\n"
"       writ ls [--json]\n"
"       writ ssh --principal NAME... [--ttl DURATION] [--key PATH] [--reason TEXT]\n"
"       writ revoke ID\n"
"       writ status\n"
"\n"
"Ask writd, outside this sandbox, for a scoped, short-lived credential.\n"
"Every request waits for a person to approve it on the host.\n"
"\n"
"  get      request a writ; prints the token alone (or all of it with --json)\n"
"           e.g. writ get jwt --scope aud=example --ttl 5m --reason 'call the API'\n"
"                writ get github --scope repo=acme/widgets --scope permissions.contents=read\n"
"  ssh      an SSH certificate for a key made here (see writ ssh --help)\n"
"  ls       this session's live writs (never their tokens)\n"
"  revoke   give a writ back before it expires\n"
"  status   is writd reachable, and which session is this\n"
"\n"
"The socket is $WRIT_SOCKET, else " WRIT_DEFAULT_SOCKET ".  Nothing is sent to a\n"
"socket served by another user than you or root, unless $WRIT_SERVER_UID names\n"
"it (writd under a dedicated user; 65534 in a user namespace that does not map it).\n"
"Exit status: 0 ok, 1 other error, 2 bad input, 3 writd unreachable,\n"
"4 denied (or no approver), 5 approval timed out, 6 busy (retry later).\n";

static const char ssh_usage[] =
"usage: writ ssh --principal NAME [--principal NAME]... [--ttl DURATION]\n"
"                [--key PATH] [--reason TEXT] [--force-command CMD]\n"
"                [--source-address LIST] [--extension NAME]... [--json]\n"
"\n"
"Get a short-lived SSH user certificate from writd for a key of this sandbox.\n"
"The key (PATH, default ~/.ssh/id_ed25519) is made with ssh-keygen -t ed25519\n"
"when there is none; only PATH.pub is sent.  The certificate is written to\n"
"PATH-cert.pub (mode 0644), where ssh finds it, and what ssh needs is printed:\n"
"\n"
"  GIT_SSH_COMMAND=\"$(writ ssh --principal git)\" git clone git@host:repo.git\n"
"\n"
"  --principal      a user name on the server the certificate is valid for\n"
"                   (at least one)\n"
"  --ttl            how long it is valid (the server refuses it after that)\n"
"  --force-command  the only command sshd runs with it\n"
"  --source-address the addresses it is accepted from (\"10.0.0.0/8,192.0.2.1\")\n"
"  --extension      permit-pty, permit-port-forwarding, permit-agent-forwarding,\n"
"                   permit-X11-forwarding, permit-user-rc (none by default)\n"
"  --json           print writd's whole answer instead\n"
"\n"
"`writ revoke ID` revokes it before its expiry (writd's KRL).  Exit status as\n"
"for writ get.\n";

/* Map a failed exchange to a message and an exit status. */
static int
fail(int r, const struct writ_resp *resp)
{
	writ_report("writ", writ_socket_path(), r, resp);
	if (r < 0)
		return r == WRIT_HTTP_ECONNECT ? EXIT_UNREACHABLE : EXIT_FAIL;
	switch (resp->status) {
	case 400: case 404: case 405: case 413: return EXIT_USAGE;
	case 403: return EXIT_DENIED;
	case 408: return EXIT_TIMEOUT;
	case 429: case 503: return EXIT_BUSY;
	default: return EXIT_FAIL;
	}
}

/*
 * scope[key] = value; "a.b" sets scope.a.b, for object-valued scope keys
 * such as permissions.contents=write.
 */
static int
set_scope(json_t *scope, const char *key, const char *value, int *n)
{
	const char *dot = strchr(key, '.');
	json_t *obj = scope;
	char head[128];

	if (++*n > WRIT_MAX_SCOPE_ARGS) {
		fprintf(stderr, "writ: too many --scope options\n");
		return -1;
	}
	if (dot != NULL) {
		snprintf(head, sizeof(head), "%.*s", (int)(dot - key), key);
		obj = json_object_get(scope, head);
		if (obj == NULL) {
			obj = json_object();
			json_object_set_new(scope, head, obj);
		}
		if (!json_is_object(obj) || dot[1] == '\0' || strchr(dot + 1, '.') != NULL) {
			fprintf(stderr, "writ: --scope %s: one level of KEY.SUBKEY only\n", key);
			return -1;
		}
		key = dot + 1;
	}
	if (json_object_get(obj, key) != NULL) {
		fprintf(stderr, "writ: --scope %s given twice\n", key);
		return -1;
	}
	if (json_object_set_new(obj, key, json_string(value)) != 0) {
		fprintf(stderr, "writ: --scope %s: key and value must be UTF-8\n", key);
		return -1;
	}
	return 0;
}

static void
print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s != NULL) {
		puts(s);
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int
cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scope", required_argument, NULL, 's' },
		{ "ttl", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *req = NULL, *scope = json_object();
	struct writ_resp resp = { 0 };
	int c, r, as_json = 0, nscope = 0, ret = EXIT_USAGE;
	char *text = NULL;

	req = json_object();
	if (req == NULL || scope == NULL)
		goto out;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *eq, key[128];

		switch (c) {
		case 's':
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg) {
				fprintf(stderr, "writ: --scope takes KEY=VALUE, e.g. aud=example\n");
				goto out;
			}
			/* NB. argv is left as it was: it shows in the approver's prompt. */
			if ((size_t)(eq - optarg) >= sizeof(key)) {
				fprintf(stderr, "writ: --scope key too long\n");
				goto out;
			}
			memcpy(key, optarg, (size_t)(eq - optarg));
			key[eq - optarg] = '\0';
			if (set_scope(scope, key, eq + 1, &nscope) < 0)
				goto out;
			break;
		case 't':
		case 'r':
			if (json_object_set_new(req, c == 't' ? "ttl" : "reason",
			    json_string(optarg)) != 0) {
				fprintf(stderr, "writ: --%s must be UTF-8\n", c == 't' ? "ttl" : "reason");
				goto out;
			}
			break;
		case 'j':
			as_json = 1;
			break;
		default:
			fputs(usage, stderr);
			goto out;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "writ: get takes exactly one KIND, e.g. `writ get jwt --scope aud=example`\n");
		goto out;
	}
	json_object_set_new(req, "kind", json_string(argv[optind]));
	json_object_set(req, "scope", scope);
	text = json_dumps(req, JSON_COMPACT);
	if (text == NULL) {
		fprintf(stderr, "writ: the kind must be UTF-8\n");
		goto out;
	}
	/* Blocks until a person decides; writd always answers by its deadline. */
	r = writ_http(writ_socket_path(), "POST", "/v1/writs", text, strlen(text), -1, &resp);
	if (r < 0 || resp.status != 201) {
		ret = fail(r, &resp);
		goto out;
	}
	if (as_json)
		print_json(resp.body);
	else {
		const char *tok = json_string_value(json_object_get(resp.body, "token"));

		if (tok == NULL) {
			fprintf(stderr, "writ: writd's answer has no token\n");
			ret = EXIT_FAIL;
			goto out;
		}
		puts(tok);
	}
	ret = 0;
 out:
	free(text);
	json_decref(req);
	json_decref(scope);
	writ_resp_free(&resp);
	return ret;
}

/*
 * writ ssh: an SSH certificate for a key made here, in the sandbox.  The
 * private key never leaves it: only the .pub goes to writd, and the
 * certificate comes back as PATH-cert.pub, where ssh -i PATH finds it.
 */

/* Longest key path, and the .pub line read. */
#define SSH_PATH_MAX 1024
#define SSH_PUB_MAX 1024

/* The default key: ~/.ssh/id_ed25519, which ssh and git use with no -i at all. */
static int
ssh_default_key(char *buf, size_t size)
{
	const char *home = getenv("HOME");

	if (home == NULL || home[0] != '/') {
		fprintf(stderr, "writ: $HOME is not set; give the key with --key PATH\n");
		return -1;
	}
	if ((size_t)snprintf(buf, size, "%s/.ssh/id_ed25519", home) >= size) {
		fprintf(stderr, "writ: $HOME is too long; give the key with --key PATH\n");
		return -1;
	}
	return 0;
}

/* Make an ed25519 key pair at path with ssh-keygen (no passphrase). */
static int
ssh_keygen(const char *path)
{
	char dir[SSH_PATH_MAX], *slash;
	int status, fd;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "writ: cannot make %s: %s\n", dir, strerror(errno));
			return -1;
		}
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* NB. stdin from /dev/null: ssh-keygen must never prompt the agent. */
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execlp("ssh-keygen", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "writ",
		    "-f", path, (char *)NULL);
		fprintf(stderr, "writ: cannot run ssh-keygen: %s\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "writ: ssh-keygen could not make %s\n", path);
		return -1;
	}
	return 0;
}

/* The one line of path.pub into buf, without its newline. */
static int
ssh_read_pub(const char *path, char *buf, size_t size)
{
	char pub[SSH_PATH_MAX + 8];
	size_t n;
	FILE *f;

	snprintf(pub, sizeof(pub), "%s.pub", path);
	if ((f = fopen(pub, "re")) == NULL) {
		fprintf(stderr, "writ: %s: %s (it must sit beside the key)\n", pub, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (n == size - 1 || buf[0] == '\0') {
		fprintf(stderr, "writ: %s is not one public key line\n", pub);
		return -1;
	}
	return 0;
}

/* Write line and a newline to path, replacing it whole (mode 0644). */
static int
ssh_write_cert(const char *path, const char *line)
{
	char tmp[SSH_PATH_MAX + 16];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "writ: cannot write %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fchmod(fd, 0644);
	if (fprintf(f, "%s\n", line) < 0 || fflush(f) != 0 || fsync(fd) != 0 ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "writ: cannot write %s: %s\n", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* Print s for a shell: in single quotes when it holds anything but [A-Za-z0-9_./@+-]. */
static void
ssh_print_quoted(const char *s)
{
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./@+-") ==
	    strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s != '\0'; s++)
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	putchar('\'');
}

static int
cmd_ssh(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "principal", required_argument, NULL, 'p' },
		{ "ttl", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "reason", required_argument, NULL, 'r' },
		{ "force-command", required_argument, NULL, 'c' },
		{ "source-address", required_argument, NULL, 'a' },
		{ "extension", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char key[SSH_PATH_MAX], cert[SSH_PATH_MAX + 16], pub[SSH_PUB_MAX];
	json_t *req = json_object(), *scope = json_object(), *princ = json_array(),
	    *ext = json_array();
	struct writ_resp resp = { 0 };
	const char *tok;
	char *text = NULL;
	int c, r, as_json = 0, ret = EXIT_USAGE;
	struct stat st;

	key[0] = '\0';
	if (req == NULL || scope == NULL || princ == NULL || ext == NULL)
		goto out;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			json_array_append_new(princ, json_string(optarg));
			break;
		case 'e':
			json_array_append_new(ext, json_string(optarg));
			break;
		case 'k':
			if (strlen(optarg) >= sizeof(key) - 16 || optarg[0] == '\0') {
				fprintf(stderr, "writ: --key: a path of at most %d bytes\n",
				    SSH_PATH_MAX - 16);
				goto out;
			}
			snprintf(key, sizeof(key), "%s", optarg);
			break;
		case 't':
		case 'r':
		case 'c':
		case 'a':
			if (json_object_set_new(c == 't' || c == 'r' ? req : scope,
			    c == 't' ? "ttl" : c == 'r' ? "reason" : c == 'c' ? "force_command" :
			    "source_address", json_string(optarg)) != 0) {
				fprintf(stderr, "writ: option values must be UTF-8\n");
				goto out;
			}
			break;
		case 'j':
			as_json = 1;
			break;
		case 'h':
			fputs(ssh_usage, stdout);
			ret = 0;
			goto out;
		default:
			fputs(ssh_usage, stderr);
			goto out;
		}
	}
	if (optind != argc) {
		fputs(ssh_usage, stderr);
		goto out;
	}
	/* NB. writd refuses an empty list too: OpenSSH reads it as every user. */
	if (json_array_size(princ) == 0) {
		fprintf(stderr, "writ: ssh needs at least one --principal: the user name on "
		    "the server, e.g. --principal git\n");
		goto out;
	}
	if (key[0] == '\0' && ssh_default_key(key, sizeof(key)) < 0)
		goto out;
	ret = EXIT_FAIL;
	if (stat(key, &st) != 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "writ: %s: %s\n", key, strerror(errno));
			goto out;
		}
		if (ssh_keygen(key) < 0)
			goto out;
	} else if ((st.st_mode & 077) != 0 && chmod(key, 0600) != 0) {
		fprintf(stderr, "writ: %s is readable by others and cannot be made 0600\n", key);
		goto out;
	}
	if (ssh_read_pub(key, pub, sizeof(pub)) < 0)
		goto out;
	json_object_set_new(scope, "public_key", json_string(pub));
	json_object_set(scope, "principals", princ);
	if (json_array_size(ext) > 0)
		json_object_set(scope, "extensions", ext);
	json_object_set_new(req, "kind", json_string("sshcert"));
	json_object_set(req, "scope", scope);
	if ((text = json_dumps(req, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "writ: the principals and extensions must be UTF-8\n");
		ret = EXIT_USAGE;
		goto out;
	}
	/* Blocks until a person decides; writd always answers by its deadline. */
	r = writ_http(writ_socket_path(), "POST", "/v1/writs", text, strlen(text), -1, &resp);
	if (r < 0 || resp.status != 201) {
		ret = fail(r, &resp);
		goto out;
	}
	tok = json_string_value(json_object_get(resp.body, "token"));
	/* One line, nothing else: it goes into a file ssh reads. */
	if (tok == NULL || strncmp(tok, "ssh-ed25519-cert-v01@openssh.com ", 33) != 0 ||
	    strpbrk(tok, "\r\n") != NULL) {
		fprintf(stderr, "writ: writd's answer holds no SSH certificate\n");
		goto out;
	}
	snprintf(cert, sizeof(cert), "%s-cert.pub", key);
	if (ssh_write_cert(cert, tok) < 0)
		goto out;
	if (as_json)
		print_json(resp.body);
	else {
		time_t t = (time_t)json_integer_value(json_object_get(resp.body, "expires_at"));
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
		fprintf(stderr, "writ: certificate %s valid until %s (writ %s)\n", cert, when,
		    json_string_value(json_object_get(resp.body, "id")) ?: "?");
		/* What ssh needs, for GIT_SSH_COMMAND="$(writ ssh ...)". */
		fputs("ssh -i ", stdout);
		ssh_print_quoted(key);
		putchar('\n');
	}
	ret = 0;
 out:
	free(text);
	json_decref(req);
	json_decref(scope);
	json_decref(princ);
	json_decref(ext);
	writ_resp_free(&resp);
	return ret;
}

static int
cmd_ls(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *w;
	size_t i;
	int r;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0)) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	r = writ_http(writ_socket_path(), "GET", "/v1/writs", NULL, 0, WRIT_SHORT_TIMEOUT, &resp);
	if (r < 0 || resp.status != 200)
		return r = fail(r, &resp), writ_resp_free(&resp), r;
	if (argc == 2)
		print_json(resp.body);
	else
		json_array_foreach(json_object_get(resp.body, "writs"), i, w) {
			char *scope = json_dumps(json_object_get(w, "scope"), JSON_COMPACT | JSON_SORT_KEYS);

			printf("%s  %-8s expires %lld  ", json_string_value(json_object_get(w, "id")),
			    json_string_value(json_object_get(w, "kind")),
			    (long long)json_integer_value(json_object_get(w, "expires_at")));
			writ_print_clean(stdout, scope != NULL ? scope : "?");
			putchar('\n');
			free(scope);
		}
	writ_resp_free(&resp);
	return 0;
}

static int
cmd_revoke(int argc, char **argv)
{
	struct writ_resp resp;
	char path[128];
	int r;

	if (argc != 2 || !id_valid(argv[1])) {
		fprintf(stderr, "usage: writ revoke ID   (ID: 32 hex digits, from `writ ls`)\n");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/writs/%s", argv[1]);
	r = writ_http(writ_socket_path(), "DELETE", path, NULL, 0, WRIT_SHORT_TIMEOUT, &resp);
	if (r < 0 || resp.status != 200)
		return r = fail(r, &resp), writ_resp_free(&resp), r;
	printf("revoked %s\n", argv[1]);
	writ_resp_free(&resp);
	return 0;
}

static int
cmd_status(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *s, *k;
	size_t i;
	int r;

	(void)argv;
	if (argc != 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	r = writ_http(writ_socket_path(), "GET", "/v1/health", NULL, 0, WRIT_SHORT_TIMEOUT, &resp);
	if (r < 0 || resp.status != 200)
		return r = fail(r, &resp), writ_resp_free(&resp), r;
	s = json_object_get(resp.body, "session");
	printf("writd %s at %s\n", json_string_value(json_object_get(resp.body, "version")),
	    writ_socket_path());
	if (s != NULL) {
		fputs("session ", stdout);
		writ_print_clean(stdout, json_string_value(json_object_get(s, "name")) ?: "?");
		printf(" (%s)\n", json_string_value(json_object_get(s, "id")) ?: "?");
	}
	fputs("kinds  ", stdout);
	json_array_foreach(json_object_get(resp.body, "kinds"), i, k)
		printf("%s%s", i ? " " : "", json_string_value(k));
	putchar('\n');
	writ_resp_free(&resp);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "get", cmd_get },
	{ "ls", cmd_ls },
	{ "revoke", cmd_revoke },
	{ "ssh", cmd_ssh },
	{ "status", cmd_status },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("writ " WRIT_VERSION);
		return 0;
	}
	for (size_t i = 0; commands[i].name != NULL; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "writ: unknown command '%s'\n%s", argv[1], usage);
	return EXIT_USAGE;
}
