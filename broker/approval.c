/*
 * approval.c - requests waiting for a human, and the approvers who watch.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "approval.h"
#include "approver.h"
#include "record.h"
#include "config.h"
#include "core.h"
#include "errors.h"
#include "id.h"
#include "jdump.h"
#include "peer.h"
#include "server.h"
#include "session.h"
#include "show.h"

static struct pending *pendings;
static struct poller *pollers;
static uint64_t last_seq;
static int64_t last_poll_end = -WRIT_APPROVER_GRACE - 1;

/* Recently decided ids and how, so a second approval is told "already". */
static struct {
	char id[WRIT_ID_LEN + 1];
	int decision;
} decided[WRIT_DECIDED_MEMORY];
static size_t decided_next;

static json_t *pending_json(const struct pending *p);
static char *command_input(const struct pending *p);

/* Who this writd is: a restarted one numbers its requests from 1 again. */
static char instance[WRIT_ID_LEN + 1];

static bool
approver_present(void)
{
	return writd_cfg->approval_command[0] != '\0' || pollers != NULL ||
	    now_mono() - last_poll_end <= WRIT_APPROVER_GRACE;
}

/* 128-bit BLAKE2b of the sorted, compact JSON of v, as hex; v is stolen. */
static void
digest_of(json_t *v, char out[33])
{
	unsigned char h[16];
	char *text = jdump(v, JSON_COMPACT | JSON_SORT_KEYS, NULL);

	crypto_generichash(h, sizeof(h), (const unsigned char *)(text ? text : ""),
	    text ? strlen(text) : 0, NULL, 0);
	sodium_bin2hex(out, 33, h, sizeof(h));
	free(text);
	json_decref(v);
}

/* A code to type: no look-alikes (0/o, 1/l/i). */
static void
typed_code(char out[8])
{
	static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";

	for (int i = 0; i < 6; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[6] = '\0';
}

static void
unlist_pending(struct pending *p)
{
	struct pending **pp;

	if (!p->listed)
		return;
	for (pp = &pendings; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->listed = false;
	p->session->pending--;
	server_watch_hangup(p->fd, false);
}

/*
 * Settle p with decision (by channel, for a person's or a command's
 * verdict) and wake its request.  Every ending is audited.
 */
static void
settle_by(struct pending *p, int decision, const char *channel)
{
	if (decision == 1 || decision == WRIT_EDENIED)
		audit_log(decision == 1 ? "approved" : "denied", session_audit(p->session,
		    json_pack("{ssssss}", "request", p->id, "session", p->session->id,
		    "channel", channel)));
	else
		audit_log("approval_failed", session_audit(p->session, json_pack("{ssssss}",
		    "request", p->id, "session", p->session->id,
		    "error", errors_lookup(decision)->name)));
	unlist_pending(p);
	approver_cancel(p->id);
	/* The reaper kills a cancelled command that lingers: let it look. */
	core_kick();
	p->decision = decision;
	memcpy(decided[decided_next].id, p->id, sizeof(p->id));
	decided[decided_next].decision = decision;
	decided_next = (decided_next + 1) % WRIT_DECIDED_MEMORY;
	server_resume(p->mhd, p->rq);
}

/* Settle p without a verdict: timed out, caller gone, session closed ... */
static void
settle(struct pending *p, int code)
{
	settle_by(p, code, NULL);
}

static void
unlist_poller(struct poller *w)
{
	struct poller **pp;

	if (!w->listed)
		return;
	for (pp = &pollers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	w->listed = false;
	last_poll_end = now_mono();
	server_watch_hangup(w->fd, false);
}

static void
wake_poller(struct poller *w)
{
	unlist_poller(w);
	server_resume(w->mhd, w->rq);
}

int64_t
approval_expire(int64_t now)
{
	int64_t next = INT64_MAX;

	for (struct pending *p = pendings, *n; p != NULL; p = n) {
		n = p->next;
		if (p->deadline <= now)
			settle(p, WRIT_ETIMEDOUT);
		else if (p->deadline < next)
			next = p->deadline;
	}
	for (struct poller *w = pollers, *n; w != NULL; w = n) {
		n = w->next;
		if (w->deadline <= now)
			wake_poller(w);
		else if (w->deadline < next)
			next = w->deadline;
	}
	return next;
}

void
approval_start(void)
{
	random_id(instance);
}

int
approval_submit(struct pending *p, unsigned int max_pending)
{
	if (p->session->closed)
		return WRIT_ECLOSED;
	if (!approver_present())
		return WRIT_ENOAPPROVER;
	if (p->session->pending >= max_pending)
		return WRIT_EPENDING;
	digest_of(json_pack("{sssssOsI}", "session", p->session->id, "kind", p->kind->name,
	    "scope", p->scope, "ttl", (json_int_t)p->ttl), p->dupkey);
	/* NB. refused, never merged: one approval must release one writ. */
	for (struct pending *q = pendings; q != NULL; q = q->next)
		if (q->session == p->session && strcmp(q->dupkey, p->dupkey) == 0)
			return WRIT_EDUPLICATE;
	random_id(p->id);
	if (p->why.typed)
		typed_code(p->code);
	p->seq = ++last_seq;
	p->created_at = now_real();
	p->expires_at = p->created_at + writd_cfg->approval_timeout;
	p->deadline = now_mono() + writd_cfg->approval_timeout;
	p->decision = 0;
	digest_of(json_pack("{sssssisssssOsIss}", "id", p->id, "session", p->session->id,
	    "pid", (int)p->peer->pid, "exe", p->peer->exe, "kind", p->kind->name,
	    "scope", p->scope, "ttl", (json_int_t)p->ttl, "reason", p->reason), p->digest);
	p->next = pendings;
	pendings = p;
	p->listed = true;
	p->session->pending++;
	server_suspend(p->mhd, p->rq);
	server_watch_hangup(p->fd, true);
	for (struct poller *w = pollers, *n; w != NULL; w = n) {
		n = w->next;
		if (p->seq > w->after)
			wake_poller(w);
	}
	core_kick();
	audit_log("approval_asked", session_audit(p->session, json_pack("{sssssssb}",
	    "request", p->id, "session", p->session->id, "kind", p->kind->name,
	    "typed", p->why.typed)));
	if (writd_cfg->approval_command[0] != '\0') {
		char *text = command_input(p);

		if (text == NULL || approver_ask(p->id, text) < 0)
			settle(p, WRIT_ENOAPPROVER);	/* the response says so */
		free(text);
	}
	return 0;
}

int
approval_decide(const char *id, const struct verdict *v, int *ret_prior,
    bool *ret_cooldown)
{
	struct pending *p;

	for (p = pendings; p != NULL; p = p->next)
		if (strcmp(p->id, id) == 0)
			break;
	if (p == NULL) {
		for (size_t i = 0; i < WRIT_DECIDED_MEMORY; i++)
			if (strcmp(decided[i].id, id) == 0) {
				*ret_prior = decided[i].decision;
				return WRIT_EDECIDED;
			}
		return WRIT_ENOTFOUND;
	}
	if (v->digest != NULL && (strlen(v->digest) != 32 ||
	    sodium_memcmp(v->digest, p->digest, 32) != 0))
		return WRIT_ECHANGED;
	if (v->approve && p->why.typed && !v->trusted && (v->confirm == NULL ||
	    strlen(v->confirm) != strlen(p->code) ||
	    sodium_memcmp(v->confirm, p->code, strlen(p->code)) != 0))
		return WRIT_ECONFIRM;
	/* NB. the pid of an exited caller may already belong to another process. */
	if (v->approve && !peer_alive(p->peer)) {
		settle(p, WRIT_EGONE);
		return WRIT_EGONE;
	}
	if (!v->approve)
		*ret_cooldown = session_denied(p->session, now_mono());
	settle_by(p, v->approve ? 1 : WRIT_EDENIED, v->trusted ? "command" : "admin");
	return 0;
}

void
approval_command_done(const char *id, bool ok)
{
	struct verdict v = { .approve = ok, .trusted = true };
	bool cooled = false;
	int prior;

	(void)approval_decide(id, &v, &prior, &cooled);
}

void
approval_fail(const char *id, int code)
{
	for (struct pending *p = pendings; p != NULL; p = p->next)
		if (strcmp(p->id, id) == 0) {
			settle(p, code);
			return;
		}
}

void
approval_cancel(const struct session *s, int code)
{
	for (struct pending *p = pendings, *n; p != NULL; p = n) {
		n = p->next;
		if (s == NULL || p->session == s)
			settle(p, code);
	}
}

void
approval_release(struct pending *p)
{
	unlist_pending(p);
	session_unref(p->session);
	json_decref(p->scope);
	free(p);
}

static json_t *
pending_json(const struct pending *p)
{
	const struct session *s = p->session;
	json_t *j = json_pack("{sssIs{ssssso}s{sisisisssssssb}sssOsIsssIsI}",
	    "id", p->id, "seq", (json_int_t)p->seq,
	    "session", "id", s->id, "name", s->name,
	    "workspace", s->workspace ? json_string(s->workspace) : json_null(),
	    "caller", "pid", (int)p->peer->pid, "uid", (int)p->peer->uid,
	    "gid", (int)p->peer->gid, "exe", p->peer->exe,
	    "cmdline", p->peer->cmdline, "cwd", p->peer->cwd,
	    "verified", !p->peer->relayed,
	    "kind", p->kind->name, "scope", p->scope, "ttl", (json_int_t)p->ttl,
	    "reason", p->reason, "created_at", (json_int_t)p->created_at,
	    "expires_at", (json_int_t)p->expires_at);

	if (j == NULL)
		return NULL;
	/* A job's session: the claims its token proved, for the prompt (show_request). */
	if (s->claims != NULL)
		json_object_set_new(json_object_get(j, "session"), "claims",
		    json_deep_copy(s->claims));
	json_object_set_new(j, "digest", json_string(p->digest));
	json_object_set_new(j, "policy", policy_decision_json(&p->why));
	if (p->why.typed)
		json_object_set_new(j, "confirm", json_pack("{ssssss}", "mode", "typed",
		    "code", p->code, "rule", p->why.confirm_rule));
	return j;
}

/* Replace the string member key of o by its cleaned form. */
static void
clean_member(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	char *c;

	if (v != NULL && (c = show_clean(v, 4 * WRIT_MAX_CMDLINE)) != NULL) {
		json_object_set_new(o, key, json_string(c));
		free(c);
	}
}

/*
 * What the approver command reads: the request as the admin API lists it,
 * every member the agent controls cleaned as writctl shows it, and the
 * prompt and question laid out for SHOW_COLUMNS, ready to print.
 */
static char *
command_input(const struct pending *p)
{
	json_t *j = pending_json(p), *scope, *v;
	char *prompt, *question, *text = NULL;
	const char *k;

	if (j == NULL)
		return NULL;
	prompt = show_request(j, SHOW_COLUMNS);
	question = show_question(j);
	clean_member(json_object_get(j, "session"), "name");
	clean_member(json_object_get(j, "session"), "workspace");
	clean_member(json_object_get(j, "caller"), "exe");
	clean_member(json_object_get(j, "caller"), "cmdline");
	clean_member(json_object_get(j, "caller"), "cwd");
	clean_member(j, "reason");
	{
		/* A token's claims are the job's words, not writd's: cleaned alike. */
		json_t *claims = json_object_get(json_object_get(j, "session"), "claims");

		json_object_foreach(claims, k, v)
			clean_member(claims, k);
	}
	scope = json_object_get(j, "scope");
	json_object_foreach(scope, k, v)
		clean_member(scope, k);
	if (prompt != NULL && question != NULL) {
		json_object_set_new(j, "prompt", json_string(prompt));
		json_object_set_new(j, "question", json_string(question));
		text = json_dumps(j, JSON_COMPACT);
	}
	free(prompt);
	free(question);
	json_decref(j);
	return text;
}

json_t *
approval_list(uint64_t after)
{
	json_t *a = json_array();
	size_t n = 0;

	/* The table is newest first; the list is oldest first. */
	for (struct pending *p = pendings; p != NULL && a != NULL; p = p->next)
		if (p->seq > after)
			n++;
	for (size_t i = n; i > 0 && a != NULL; i--) {
		struct pending *p = pendings;
		size_t k = 0;

		for (; p != NULL; p = p->next)
			if (p->seq > after && ++k == i)
				break;
		json_array_append_new(a, pending_json(p));
	}
	return a;
}

unsigned int
approval_watchers(void)
{
	unsigned int n = 0;

	for (struct poller *w = pollers; w != NULL; w = w->next)
		n++;
	return n;
}

uint64_t
approval_last_seq(void)
{
	return last_seq;
}

const char *
approval_instance(void)
{
	return instance;
}

bool
approval_wait(struct poller *w)
{
	for (struct pending *p = pendings; p != NULL; p = p->next)
		if (p->seq > w->after)
			return false;
	w->next = pollers;
	pollers = w;
	w->listed = true;
	server_suspend(w->mhd, w->rq);
	server_watch_hangup(w->fd, true);
	core_kick();
	return true;
}

void
approval_unwait(struct poller *w)
{
	unlist_poller(w);
}

void
approval_wake_all(void)
{
	while (pollers != NULL)
		wake_poller(pollers);
}

void
approval_hangup(int fd)
{
	for (struct pending *p = pendings; p != NULL; p = p->next)
		if (p->fd == fd) {
			/* The caller gave up: its request must not stay approvable. */
			settle(p, WRIT_EGONE);
			return;
		}
	for (struct poller *w = pollers; w != NULL; w = w->next)
		if (w->fd == fd) {
			wake_poller(w);
			return;
		}
}
