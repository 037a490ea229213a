/*
 * cmd_policy.c - writctl policy explain (asks writd) and policy check
 * (reads the files itself: the policy engine and the kinds' grammars are
 * linked in, never their minting).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"
#include "../../policy/policy.h"
#include "../config.h"
#include "errors.h"
#include "writctl.h"

int
cmd_policy_explain(int argc, char **argv)
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
	r = ctl_call("POST", "/v1/policy/explain", text, 200, &resp);
	free(text);
	if (r != 0)
		return r;
	ctl_print_json(resp.body);
	writ_resp_free(&resp);
	return 0;
}

/* policy_lint's findings, one line each on stderr, naming the file. */
static void
print_finding(void *arg, enum policy_layer_id layer, const char *msg)
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
int
cmd_policy_check(int argc, char **argv)
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
	warnings = policy_lint(p, print_finding, files);
	policy_free(p);
	printf("policy ok: %s (enterprise%s), %s (user%s)", ent,
	    access(ent, F_OK) == 0 ? "" : ", absent", user[0] ? user : "-",
	    user[0] && access(user, F_OK) == 0 ? "" : ", absent");
	if (warnings > 0)
		printf(", %zu warning%s", warnings, warnings == 1 ? "" : "s");
	putchar('\n');
	return warnings > 0 ? 5 : 0;
}
