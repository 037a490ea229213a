/*
 * cmd_approvals.c - writctl watch, requests, approve, deny: the person's
 * side of approvals.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"
#include "../show.h"
#include "id.h"
#include "writctl.h"

/* Seconds one long-poll of `watch` stays open. */
#define WATCH_POLL 60
/* Longest pause, in seconds, between watch's attempts to reach writd (a local socket: cheap). */
#define WATCH_BACKOFF_MAX 5

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
	r = writ_http(ctl_admin, "POST", path, text, text != NULL ? strlen(text) : 0,
	    WRIT_SHORT_TIMEOUT, ret);
	free(text);
	return r;
}

static void
print_cooldown(const struct writ_resp *resp)
{
	const char *c = json_string_value(json_object_get(resp->body, "cooldown"));

	if (c != NULL)
		ctl_print_row("writctl: ", c);
}

static int
decide_one(int argc, char **argv, bool approve)
{
	const char *confirm = NULL;
	struct writ_resp resp;
	int r;

	if (argc == 3 && approve && strcmp(argv[1], "--confirm") == 0)
		confirm = argv[2];
	else if (argc != 1) {
		ctl_usage(stderr);
		return 2;
	}
	if (!ctl_valid_id(argv[0]))
		return 2;
	r = post_decision(argv[0], approve, confirm, NULL, &resp);
	if (r < 0 || resp.status != 200) {
		r = ctl_fail(r, &resp);
		writ_resp_free(&resp);
		return r;
	}
	printf("%s %s\n", approve ? "approved" : "denied", argv[0]);
	print_cooldown(&resp);
	writ_resp_free(&resp);
	return 0;
}

int
cmd_approve(int argc, char **argv)
{
	return decide_one(argc, argv, true);
}

int
cmd_deny(int argc, char **argv)
{
	return decide_one(argc, argv, false);
}

int
cmd_requests(int argc, char **argv)
{
	(void)argv;
	return ctl_show(argc, "/v1/requests", "requests");
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

		if (writ_http(ctl_admin, "GET", path, NULL, 0, (WATCH_POLL + 10) * 1000, &resp) < 0)
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
	ctl_clean_into(out, size, *msg != '\0' ? msg : "request failed", 100);
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

int
cmd_watch(int argc, char **argv)
{
	unsigned long long after = 0;
	unsigned int backoff = 0;
	char instance[40] = "", why[192];
	pthread_t presence;

	(void)argv;
	if (argc != 0) {
		ctl_usage(stderr);
		return 2;
	}
	if (pthread_create(&presence, NULL, presence_main, NULL) != 0) {
		fputs("writctl: cannot start\n", stderr);
		return 1;
	}
	fprintf(stderr, "writctl: watching %s for requests (Ctrl-C stops)\n", ctl_admin);
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
		r = writ_http(ctl_admin, "GET", path, NULL, 0, (WATCH_POLL + 10) * 1000, &resp);
		if (r < 0 || resp.status != 200) {
			if (!transient(r, &resp)) {
				r = ctl_fail(r, &resp);
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
		if (id_valid(inst) &&
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
			if (!id_valid(id))
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
