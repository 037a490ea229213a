/*
 * cmd_audit.c - writctl audit verify, rotate, key, tail.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"
#include "writctl.h"

/* Most records one poll of `audit tail -f` prints. */
#define FOLLOW_MAX 1000

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

	ctl_clean_into(name, sizeof(name), json_string_value(json_object_get(f, "file")), 36);
	snprintf(row, sizeof(row), "  %-32s seq %lld-%lld ", name,
	    (long long)json_integer_value(json_object_get(f, "first_seq")),
	    (long long)json_integer_value(json_object_get(f, "last_seq")));
	ctl_print_row(row, json_is_true(json_object_get(f, "ok")) ? "ok" :
	    json_string_value(json_object_get(f, "reason")));
}

int
cmd_audit_verify(int argc, char **argv)
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
	r = ctl_call(body != NULL ? "POST" : "GET", "/v1/audit/verify", body, 200, &resp);
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

int
cmd_audit_rotate(int argc, char **argv)
{
	struct writ_resp resp;
	int r;

	(void)argv;
	if (argc != 0) {
		ctl_usage(stderr);
		return 2;
	}
	r = ctl_call("POST", "/v1/audit/rotate", NULL, 200, &resp);
	if (r != 0)
		return r;
	printf("audit log rotated: a new audit.jsonl begins at seq %lld\n",
	    (long long)json_integer_value(json_object_get(resp.body, "seq")));
	writ_resp_free(&resp);
	return 0;
}

int
cmd_audit_key(int argc, char **argv)
{
	struct writ_resp resp;
	int r;

	(void)argv;
	if (argc != 0) {
		ctl_usage(stderr);
		return 2;
	}
	r = ctl_call("GET", "/v1/audit/key", NULL, 200, &resp);
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
	ctl_clean_into(event, sizeof(event), json_string_value(json_object_get(rec, "event")), 20);
	snprintf(row, sizeof(row), "%6lld %s %-14s ",
	    (long long)json_integer_value(json_object_get(rec, "seq")), when, event);
	/* Records quote the agent's words: never let them drive the terminal. */
	ctl_print_row(row, rest);
	free(rest);
	json_decref(copy);
}

int
cmd_audit_tail(int argc, char **argv)
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
	if (n < 1 || n > 100000 || (session != NULL && !ctl_valid_id(session)))
		return 2;
	for (;;) {
		/* Following: only what came after the last record printed. */
		snprintf(path, sizeof(path), "/v1/audit?tail=%ld&after=%lld%s%s",
		    last < 0 ? n : FOLLOW_MAX, last < 0 ? 0 : last,
		    session ? "&session=" : "", session ? session : "");
		if ((r = ctl_call("GET", path, NULL, 200, &resp)) != 0)
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
