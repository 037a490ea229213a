/*
 * writ - ask writd for credentials from inside the sandbox.
 *
 * Talks to the session socket ($WRIT_SOCKET, else /run/writ/agent.sock).
 * Exit codes tell failures apart for scripts; see usage below.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#define SHORT_TIMEOUT 30000

static const char usage[] =
"usage: writ get KIND [--scope KEY=VALUE]... [--ttl DURATION] [--reason TEXT] [--json]\n"
"       writ ls [--json]\n"
"       writ revoke ID\n"
"       writ status\n"
"\n"
"Ask writd, outside this sandbox, for a scoped, short-lived credential.\n"
"Every request waits for a person to approve it on the host.\n"
"\n"
"  get      request a writ; prints the token alone (or all of it with --json)\n"
"           e.g. writ get jwt --scope aud=example --ttl 5m --reason 'call the API'\n"
"                writ get github --scope repo=acme/widgets --scope permissions.contents=read\n"
"  ls       this session's live writs (never their tokens)\n"
"  revoke   give a writ back before it expires\n"
"  status   is writd reachable, and which session is this\n"
"\n"
"The socket is $WRIT_SOCKET, else " WRIT_DEFAULT_SOCKET ".  Nothing is sent to a\n"
"socket served by another user than you or root, unless $WRIT_SERVER_UID names\n"
"it (writd under a dedicated user; 65534 in a user namespace that does not map it).\n"
"Exit status: 0 ok, 1 other error, 2 bad input, 3 writd unreachable,\n"
"4 denied (or no approver), 5 approval timed out, 6 busy (retry later).\n";

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
	r = writ_http(writ_socket_path(), "GET", "/v1/writs", NULL, 0, SHORT_TIMEOUT, &resp);
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
	r = writ_http(writ_socket_path(), "DELETE", path, NULL, 0, SHORT_TIMEOUT, &resp);
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
	r = writ_http(writ_socket_path(), "GET", "/v1/health", NULL, 0, SHORT_TIMEOUT, &resp);
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
