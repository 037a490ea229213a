/*
 * client.c - what every writctl command shares: one exchange with writd on
 * the admin socket, how a failure is told, and how answers are printed
 * (cleaned: what an agent wrote never drives the terminal).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"
#include "../show.h"
#include "id.h"
#include "writctl.h"

char ctl_admin[PATH_MAX];

int
ctl_fail(int r, const struct writ_resp *resp)
{
	writ_report("writctl", ctl_admin, r, resp);
	if (r < 0)
		return 3;
	return resp->status == 404 || resp->status == 409 ? 4 : 1;
}

/* One exchange; on success *ret holds the answer.  Else prints and returns the exit status. */
int
ctl_call(const char *method, const char *path, const char *body, int want,
    struct writ_resp *ret)
{
	int r = writ_http(ctl_admin, method, path, body, body ? strlen(body) : 0,
	    WRIT_SHORT_TIMEOUT, ret);

	if (r < 0 || ret->status != want) {
		r = ctl_fail(r, ret);
		writ_resp_free(ret);
		return r;
	}
	return 0;
}

void
ctl_print_json(const json_t *v)
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
unsigned int
ctl_out_cols(void)
{
	return isatty(STDOUT_FILENO) ? show_columns(STDOUT_FILENO) : 0;
}

/*
 * Print a row: prefix (writctl's own text, cleaned pieces) and value, text
 * the agent may control, cleaned and wrapped so that no line it fills can
 * pass for a row of its own.
 */
void
ctl_print_row(const char *prefix, const char *value)
{
	unsigned int cols = ctl_out_cols();
	struct show_buf b = { 0 };

	show_wrap(&b, prefix, value, cols != 0 ? cols : UINT_MAX / 2,
	    cols != 0 ? SHOW_MAX_LINES : 1);
	if (b.p != NULL)
		fputs(b.p, stdout);
	show_free(&b);
}

/* s cleaned and cut to cols columns, into dst. */
void
ctl_clean_into(char *dst, size_t size, const char *s, unsigned int cols)
{
	char *c = show_clean(s != NULL ? s : "?", cols);

	snprintf(dst, size, "%s", c != NULL ? c : "?");
	free(c);
}

int
ctl_valid_id(const char *id)
{
	if (id_valid(id))
		return 1;
	fprintf(stderr, "writctl: '%s' is not an id (%d hex digits)\n", id, WRIT_ID_LEN);
	return 0;
}

/* GET path and print its JSON (member key of it, when key is not NULL); no arguments. */
int
ctl_show(int argc, const char *path, const char *key)
{
	struct writ_resp resp;
	int r;

	if (argc != 0) {
		ctl_usage(stderr);
		return 2;
	}
	if ((r = ctl_call("GET", path, NULL, 200, &resp)) != 0)
		return r;
	ctl_print_json(key != NULL ? json_object_get(resp.body, key) : resp.body);
	writ_resp_free(&resp);
	return 0;
}
