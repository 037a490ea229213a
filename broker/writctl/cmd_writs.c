/*
 * cmd_writs.c - writctl writs ls, revoke.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"
#include "../show.h"
#include "id.h"
#include "writctl.h"

int
cmd_writs_ls(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *w;
	size_t i;
	int r;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		fputs("usage: writctl writs ls [--json]\n", stderr);
		return 2;
	}
	if ((r = ctl_call("GET", "/v1/writs", NULL, 200, &resp)) != 0)
		return r;
	if (argc == 1)
		ctl_print_json(resp.body);
	else
		json_array_foreach(json_object_get(resp.body, "writs"), i, w) {
			char *scope = json_dumps(json_object_get(w, "scope"), JSON_COMPACT | JSON_SORT_KEYS);
			char id[64], sid[64], kind[32], row[224];

			ctl_clean_into(id, sizeof(id), json_string_value(json_object_get(w, "id")), WRIT_ID_LEN);
			ctl_clean_into(sid, sizeof(sid), json_string_value(json_object_get(w, "session")), WRIT_ID_LEN);
			ctl_clean_into(kind, sizeof(kind), json_string_value(json_object_get(w, "kind")), 16);
			snprintf(row, sizeof(row), "%s  session %s  %-7s expires %lld  ", id, sid, kind,
			    (long long)json_integer_value(json_object_get(w, "expires_at")));
			if (ctl_out_cols() != 0 && strlen(row) + 16 > ctl_out_cols()) {
				/* A terminal too narrow for the row: the scope on lines of its own. */
				snprintf(row, sizeof(row), "%s  session %.8s  %-7s expires %lld", id,
				    sid, kind, (long long)json_integer_value(json_object_get(w, "expires_at")));
				puts(row);
				ctl_print_row(SHOW_CONT, scope);
			} else
				ctl_print_row(row, scope);
			free(scope);
		}
	writ_resp_free(&resp);
	return 0;
}

int
cmd_writs_revoke(int argc, char **argv)
{
	struct writ_resp resp, one;
	char path[128];
	json_t *w;
	size_t i;
	int r, n = 0;

	if (argc == 1 && ctl_valid_id(argv[0])) {
		snprintf(path, sizeof(path), "/v1/writs/%s", argv[0]);
		if ((r = ctl_call("DELETE", path, NULL, 200, &resp)) != 0)
			return r;
		printf("revoked %s\n", argv[0]);
		writ_resp_free(&resp);
		return 0;
	}
	if (argc != 2 || strcmp(argv[0], "--session") != 0 || !ctl_valid_id(argv[1])) {
		fputs("usage: writctl writs revoke ID | --session SESSION\n", stderr);
		return 2;
	}
	if ((r = ctl_call("GET", "/v1/writs", NULL, 200, &resp)) != 0)
		return r;
	json_array_foreach(json_object_get(resp.body, "writs"), i, w) {
		const char *id = json_string_value(json_object_get(w, "id"));

		if (strcmp(json_string_value(json_object_get(w, "session")) ?: "", argv[1]) != 0)
			continue;
		snprintf(path, sizeof(path), "/v1/writs/%s", id);
		/* One may expire meanwhile: that is not a failure. */
		if (ctl_call("DELETE", path, NULL, 200, &one) == 0) {
			writ_resp_free(&one);
			n++;
		}
	}
	writ_resp_free(&resp);
	printf("revoked %d writ%s of session %s\n", n, n == 1 ? "" : "s", argv[1]);
	return 0;
}
