/*
 * issue.c - issuing one writ: one request, one state machine.
 *
 * A request moves through these stages, one function each.  "Waits"
 * means the request is suspended and the handler returns; another thread
 * resumes it, and the handler calls issue_resume, which goes on from the
 * stage it finds.
 *
 *  stage -> next       function  thread           lock (writd_lock)  can fail with
 *  ------------------  --------  ---------------  -----------------  --------------------
 *  PARSED -> DECIDED   decide    HTTP handler     counts, cooldown,  ECOOLDOWN, EUPLIMIT
 *                                                 policy, refusals   (the kind's
 *                                                                    throttle), EPOLICY
 *  DECIDED -> APPROVED ask       HTTP handler     --                 EGONE (caller exited)
 *    (a rule allows)
 *  DECIDED -> ASKED    ask       HTTP handler     approval_submit;   ENOMEM, ENOAPPROVER,
 *    (a person asked)                             waits (approval.c  EPENDING, EDUPLICATE,
 *                                                 resumes it)        ECLOSED
 *  ASKED -> APPROVED   approved  HTTP handler     to read the        EDENIED, ETIMEDOUT,
 *                                (resumed)        verdict            EGONE, ECLOSED,
 *                                                                    ESHUTDOWN ...
 *  APPROVED -> MINTING mint      HTTP handler     to suspend;        ECLOSED
 *                                                 waits for the
 *                                                 minter
 *  MINTING -> MINTED   minted    the channel's    to resume          the minter's: its
 *                                reader (link.c;                     checks, the kind's
 *                                or the handler)                     errors, EAUDIT
 *  MINTED -> ANSWERED  answer    HTTP handler     writs_add          ENOMEM, ECLOSED
 *                                (resumed)                           (session closed: the
 *                                                                    writ is revoked)
 *
 * Any failure goes to ANSWERED with its error; ANSWERED hands the answer
 * to the handler.  While suspended, only the thread that will resume the
 * request touches its issue, and it touches nothing after resuming it.
 *
 * The minter (minter/minter.h) mints and records: it answers a MINT only
 * once the writ's ledger entry and "issued" record are durable, so this
 * file never holds a token that has no record.
 *
 * Suspensions (each a suspend, a resume and one more call of the
 * handler) per writ: allowed by a rule, 1 (the minter); asked, 2 (a
 * person, the minter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugins/grammar.h"
#include "../policy/policy.h"
#include "approval.h"
#include "record.h"
#include "config.h"
#include "core.h"
#include "errors.h"
#include "id.h"
#include "issue.h"
#include "minter/minter.h"
#include "peer.h"
#include "secret.h"
#include "server.h"
#include "session.h"
#include "sjson.h"
#include "writs.h"

enum issue_stage {
	ISSUE_PARSED,		/* parsed and checked by the HTTP layer */
	ISSUE_DECIDED,		/* cooldown, policy and throttle passed: allow or ask */
	ISSUE_ASKED,		/* waiting for a person (approval.c resumes) */
	ISSUE_APPROVED,		/* by a rule or a person: to be minted */
	ISSUE_MINTING,		/* with the minter (minted resumes it) */
	ISSUE_MINTED,		/* res holds the minter's answer */
	ISSUE_ANSWERED,		/* ans holds the answer */
};

/* What the "request" record of a writ request says. */
struct request_record {
	const char *decision, *tier, *rule;
	const char *reason;		/* the request's; only until ask is done */
};

struct issue {
	enum issue_stage stage;
	struct req *rq;
	/*
	 * NB. no reference of its own: the connection's is dropped only at
	 * NOTIFY_CLOSED, after rq ended, and a suspended rq cannot end.
	 */
	struct session *s;
	const struct kind_grammar *kind;
	json_t *scope;			/* canonical; a reference */
	int64_t ttl;
	struct policy_request pq;	/* as policy decided it; the minter decides again */
	struct policy_decision d;
	unsigned int max_pending;
	struct request_record rec;
	struct pending *pending;	/* while and after a person decides */
	struct mint_result res;		/* the minter's answer; its token ours */
	char err[WRIT_ERRLEN];		/* the text of a refusal decide makes */
	struct issue_answer ans;
};

/* Each stage's function: true to go on at once, false when rq is suspended. */
static bool decide(struct issue *iss);
static bool ask(struct issue *iss);
static bool approved(struct issue *iss);
static bool mint(struct issue *iss);
static bool answer(struct issue *iss);
/* ... and the one that runs on the channel's reader, the request suspended. */
static void minted(void *arg, struct mint_result *r);

/* The policy in force; swapped whole on reload, under writd_lock. */
static struct policy *policy;

struct policy *
issue_set_policy(struct policy *p)
{
	struct policy *old;

	pthread_mutex_lock(&writd_lock);
	old = policy;
	policy = p;
	pthread_mutex_unlock(&writd_lock);
	return old;
}

void
issue_explain(const struct policy_request *pq, struct policy_decision *d)
{
	pthread_mutex_lock(&writd_lock);
	policy_decide(policy, pq, d);
	pthread_mutex_unlock(&writd_lock);
}

/*
 * End with error code: detail NULL (the code's message), a literal, or
 * held by iss (kept as it is, even ""); extra stolen.
 */
static bool
fail(struct issue *iss, int code, const char *detail, json_t *extra, int retry_after)
{
	iss->ans.code = code;
	iss->ans.detail = detail;
	iss->ans.body = extra;
	iss->ans.retry_after = retry_after;
	iss->stage = ISSUE_ANSWERED;
	return true;
}

/* Resume iss's request, from a thread other than its handler. */
static void
resume(struct issue *iss)
{
	pthread_mutex_lock(&writd_lock);
	server_resume(iss->rq->mhd, iss->rq);
	pthread_mutex_unlock(&writd_lock);
}

/* Lock held: rq's end, however it ended. */
static void
issue_free(void *arg)
{
	struct issue *iss = arg;

	if (iss == NULL)
		return;
	if (iss->pending != NULL)
		approval_release(iss->pending);
	json_decref(iss->scope);
	json_decref(iss->ans.body);
	secret_free(iss->res.token);
	free(iss);
}

/* Run stages until one waits (0) or there is an answer (1, in *ret). */
static int
run(struct issue *iss, struct issue_answer *ret)
{
	bool go = true;

	while (go) {
		switch (iss->stage) {
		case ISSUE_PARSED:
			go = decide(iss);
			break;
		case ISSUE_DECIDED:
			go = ask(iss);
			break;
		case ISSUE_ASKED:
			go = approved(iss);
			break;
		case ISSUE_APPROVED:
			go = mint(iss);
			break;
		case ISSUE_MINTED:
			go = answer(iss);
			break;
		case ISSUE_ANSWERED:
			*ret = iss->ans;
			iss->ans.body = NULL;
			return 1;
		case ISSUE_MINTING:
			/* NB. never resumed in it: minted moves it on first. */
			go = fail(iss, WRIT_EINTERNAL, NULL, NULL, 0);
			break;
		}
	}
	return 0;
}

int
issue_start(struct req *rq, const struct issue_ask *a, struct issue_answer *ret)
{
	struct issue *iss = calloc(1, sizeof(*iss));

	if (iss == NULL) {
		*ret = (struct issue_answer){ .code = WRIT_ENOMEM };
		return 1;
	}
	iss->stage = ISSUE_PARSED;
	iss->rq = rq;
	iss->s = rq->conn->session;
	iss->kind = a->kind;
	iss->scope = json_incref((json_t *)a->scope);
	iss->ttl = a->ttl;
	iss->rec.reason = a->reason;
	rq->state = iss;
	rq->state_free = issue_free;
	return run(iss, ret);
}

int
issue_resume(struct req *rq, struct issue_answer *ret)
{
	return run(rq->state, ret);
}

static void
audit_request(const struct issue *iss)
{
	const struct peer *peer = iss->rq->conn->peer;
	const struct session *s = iss->s;

	audit_log("request", session_audit(s, json_pack("{sssssssOsIsisssbssssssss}",
	    "session", s->id, "session_name", s->name, "kind", iss->kind->name,
	    "scope", iss->scope, "ttl", (json_int_t)iss->ttl, "pid", (int)peer->pid,
	    "exe", peer->exe, "verified", !peer->relayed, "decision", iss->rec.decision,
	    "tier", iss->rec.tier, "rule", iss->rec.rule,
	    "reason", iss->rec.reason != NULL ? iss->rec.reason : "")));
}

/*
 * A request refused with code before any person saw it: its record, while
 * the session's budget has room, else a count (refusals.h).  Lock held.
 */
static void
refused_locked(const struct issue *iss, int code)
{
	if (session_refused(iss->s, &(struct refusal){ .kind = iss->kind->name,
	    .decision = iss->rec.decision, .error = errors_lookup(code)->name,
	    .tier = iss->rec.tier, .rule = iss->rec.rule }))
		audit_request(iss);
}

/* PARSED -> DECIDED: cooldown, policy, upstream's throttle; refusals end here. */
static bool
decide(struct issue *iss)
{
	const struct peer *peer = iss->rq->conn->peer;
	const struct kind_grammar *k = iss->kind;
	struct session *s = iss->s;
	char *err = iss->err;
	struct policy_request *pq = &iss->pq;
	struct policy_decision *d = &iss->d;
	int64_t cool;
	int wait = 0, code;

	*d = (struct policy_decision){ .verdict = POLICY_ASK };
	*pq = (struct policy_request){ .kind = k->name, .scope = iss->scope, .ttl = iss->ttl,
	    .session = s->name, .uid = peer->uid, .claims = s->claims,
	    /* NB. a relayed caller's exe is the relay's: no exe rule may match it. */
	    .exe = peer->relayed ? WRIT_EXE_UNVERIFIED : peer->exe };
	pthread_mutex_lock(&writd_lock);
	pq->workspace = s->workspace;
	/* NB. and those with the minter: each may join the live ones. */
	pq->live = writs_count(s) + s->minting;
	pq->live_kind = s->live_kind[grammar_index(k)] + s->minting_kind[grammar_index(k)];
	cool = session_cooling(s, now_mono());
	if (cool == 0)
		policy_decide(policy, pq, d);
	iss->max_pending = policy_max_pending(policy);
	pthread_mutex_unlock(&writd_lock);
	/*
	 * Upstream asked writd to wait (a rate limit, kind.h): refused now,
	 * after policy (a deny stays a deny) and before any person is asked
	 * to approve what would not be sent.
	 */
	if (cool == 0 && d->verdict != POLICY_DENY &&
	    minter_throttled(k->name, iss->scope, &wait, err) < 0 && wait > 0)
		iss->rec.decision = "rate_limited";
	else {
		err[0] = '\0';
		wait = 0;
		iss->rec.decision = cool > 0 ? "cooling_down" : d->verdict == POLICY_DENY ?
		    "deny" : d->verdict == POLICY_ALLOW ? "allow" : "ask";
	}
	iss->rec.tier = cool > 0 ? "cooldown" : wait > 0 ? "upstream" : d->tier;
	iss->rec.rule = cool > 0 || wait > 0 ? "" : d->rule;
	if (cool == 0 && wait == 0 && d->verdict != POLICY_DENY) {
		iss->stage = ISSUE_DECIDED;
		return true;
	}
	/* Refused before any person or upstream: recorded within a budget. */
	code = cool > 0 ? WRIT_ECOOLDOWN : wait > 0 ? WRIT_EUPLIMIT : WRIT_EPOLICY;
	pthread_mutex_lock(&writd_lock);
	refused_locked(iss, code);
	pthread_mutex_unlock(&writd_lock);
	iss->rec.reason = NULL;
	if (cool > 0) {
		snprintf(err, sizeof(iss->err), "too many of this session's requests were "
		    "denied; it may ask again in %llds", (long long)cool);
		return fail(iss, WRIT_ECOOLDOWN, err, NULL, (int)cool);
	}
	if (wait > 0)
		return fail(iss, WRIT_EUPLIMIT, err, json_pack("{si}", "retry_after", wait), wait);
	/* A policy denial: the tier, rule and why go to the agent too. */
	return fail(iss, WRIT_EPOLICY, d->message, json_pack("{ssssss}", "tier", d->tier,
	    "layer", d->layer, "rule", d->rule), 0);
}

/* DECIDED -> APPROVED by a rule, or -> ASKED: queued for a person. */
static bool
ask(struct issue *iss)
{
	struct MHD_Connection *c = iss->rq->mhd;
	struct session *s = iss->s;
	unsigned int max_pending = iss->max_pending;
	struct pending *p;
	bool room;
	int r;

	if (iss->d.verdict == POLICY_ALLOW) {
		/* Allowed by a rule: no prompt, but the same checks as any writ. */
		audit_request(iss);
		iss->rec.reason = NULL;
		if (!peer_alive(iss->rq->conn->peer))
			return fail(iss, WRIT_EGONE, NULL, NULL, 0);
		iss->stage = ISSUE_APPROVED;
		return true;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		iss->rec.reason = NULL;
		return fail(iss, WRIT_ENOMEM, NULL, NULL, 0);
	}
	p->kind = iss->kind;
	p->scope = json_incref(iss->scope);
	p->ttl = iss->ttl;
	p->why = iss->d;
	snprintf(p->reason, sizeof(p->reason), "%s", iss->rec.reason != NULL ?
	    iss->rec.reason : "");
	sjson_clean_text(p->reason);
	p->peer = iss->rq->conn->peer;
	p->mhd = c;
	p->rq = iss->rq;
	p->fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)->connect_fd;
	if (max_pending == 0 || max_pending > writd_cfg->max_pending)
		max_pending = writd_cfg->max_pending;
	pthread_mutex_lock(&writd_lock);
	p->session = s;
	session_ref(s);
	/*
	 * NB. the record comes first while the session's refusal budget has
	 * room (a refusal then spends it); else only once the outcome is
	 * known, so that a flood of asks the queue refuses (too many
	 * pending, duplicates, no approver) is counted, not written.
	 */
	room = session_refusal_room(s);
	if (room)
		audit_request(iss);
	r = approval_submit(p, max_pending);
	if (r == 0) {
		/* Suspended by approval_submit; nothing resumes it before the unlock. */
		iss->pending = p;
		iss->stage = ISSUE_ASKED;
		if (!room)
			audit_request(iss);
	} else {
		approval_release(p);
		if (room)
			(void)session_refused(s, &(struct refusal){ .kind = iss->kind->name,
			    .decision = iss->rec.decision, .error = errors_lookup(r)->name,
			    .tier = iss->rec.tier, .rule = iss->rec.rule });
		else
			refused_locked(iss, r);
	}
	iss->rec.reason = NULL;
	pthread_mutex_unlock(&writd_lock);
	return r == 0 ? false : fail(iss, r, NULL, NULL, 0);
}

/* ASKED -> APPROVED: the request came back decided; issue, or say why not. */
static bool
approved(struct issue *iss)
{
	struct pending *p = iss->pending;
	int decision;

	pthread_mutex_lock(&writd_lock);
	decision = p->decision;
	pthread_mutex_unlock(&writd_lock);
	if (decision != 1)
		return fail(iss, decision, NULL, NULL, 0);
	/* Approved for a process that is gone: its pid may now be another's. */
	if (!peer_alive(p->peer))
		return fail(iss, WRIT_EGONE, NULL, NULL, 0);
	iss->stage = ISSUE_APPROVED;
	return true;
}

/* Lock held: iss's order is answered, no longer counted as with the minter. */
static void
answered_locked(struct issue *iss)
{
	iss->s->minting--;
	iss->s->minting_kind[grammar_index(iss->kind)]--;
}

/*
 * The minted writ joins its session's live writs, whatever becomes of its
 * request (the token exists, and its end must come at its expiry); a
 * session closed meanwhile has the minter revoke it instead.  Returns 0
 * or a code, the token then gone.  No lock held.
 */
static int
keep(struct issue *iss)
{
	struct mint_result *res = &iss->res;
	struct session *s = iss->s;
	int r;

	pthread_mutex_lock(&writd_lock);
	answered_locked(iss);
	if (s->closed)
		r = WRIT_ECLOSED;
	/*
	 * NB. the minter kept it from its record on, and ends it at its
	 * expiry: past that (its record's sync was slow), its ENDED found
	 * nothing here to drop, and a view of it would stay for ever
	 * (listed, counted as live).  Answered all the same, as issued.
	 */
	else if (res->expires_at <= now_real())
		r = 0;
	else if ((r = writs_add(res->id, s, iss->kind, json_deep_copy(iss->scope),
	    res->issued_at, res->expires_at)) == 0)
		/* The reaper ends it at its expiry, and closes the key page soon. */
		core_kick_at(res->expires_at < res->issued_at + 1 ? res->expires_at :
		    res->issued_at + 1);
	pthread_mutex_unlock(&writd_lock);
	if (r < 0) {
		(void)minter_revoke(res->id, r == WRIT_ECLOSED ? "its session was closed" :
		    "out of memory keeping it");
		secret_free(res->token);
		res->token = NULL;
	}
	return r;
}

/* MINTING -> MINTED: the minter's answer, on its thread (or at once); no lock. */
static void
minted(void *arg, struct mint_result *r)
{
	struct issue *iss = arg;

	iss->res = *r;
	r->token = NULL;
	if (iss->res.code < 0) {
		pthread_mutex_lock(&writd_lock);
		answered_locked(iss);
		pthread_mutex_unlock(&writd_lock);
	} else if ((iss->res.code = keep(iss)) < 0)
		iss->res.err[0] = '\0';
	iss->stage = ISSUE_MINTED;
	resume(iss);
}

/*
 * APPROVED -> MINTING: the minter checks the order again, mints and
 * records the writ, and answers once its record is durable; the request
 * waits, suspended.
 */
static bool
mint(struct issue *iss)
{
	struct session *s = iss->s;
	struct mint_order o = { .req = iss->pq, .session_id = s->id, .pid = s->pid,
	    .pid_start = s->pid_start,
	    .approval = iss->pending != NULL ? iss->pending->id : NULL };

	pthread_mutex_lock(&writd_lock);
	/* NB. closed (writd stopping, too): the upstream workers may be gone. */
	if (s->closed) {
		pthread_mutex_unlock(&writd_lock);
		return fail(iss, WRIT_ECLOSED, NULL, NULL, 0);
	}
	/*
	 * Counted again: the limits on live writs hold at the mint, not only
	 * at the ask.  NB. with the orders still with the minter: a writ
	 * joins the view only once its record is durable (keep), and
	 * requests minted meanwhile must not each find room for one more.
	 */
	o.req.live = writs_count(s) + s->minting;
	o.req.live_kind = s->live_kind[grammar_index(iss->kind)] +
	    s->minting_kind[grammar_index(iss->kind)];
	s->minting++;
	s->minting_kind[grammar_index(iss->kind)]++;
	o.cap = s->expires_at;
	o.identity = s->identity;
	/* NB. an exe the kernel would not show (peer.c's "?") is no path: unverified. */
	if (o.req.exe[0] != '/')
		o.req.exe = WRIT_EXE_UNVERIFIED;
	server_suspend(iss->rq->mhd, iss->rq);
	pthread_mutex_unlock(&writd_lock);
	iss->stage = ISSUE_MINTING;
	/* NB. minted may run at once: iss is not touched after this. */
	minter_mint(&o, minted, iss);
	return false;
}

/* MINTED -> ANSWERED: the token goes out, its writ recorded and kept. */
static bool
answer(struct issue *iss)
{
	struct mint_result *res = &iss->res;
	json_t *body;

	if (res->code < 0)
		return fail(iss, res->code, res->err[0] != '\0' ? res->err : NULL, res->code ==
		    WRIT_EUPLIMIT ? json_pack("{si}", "retry_after", res->retry_after) : NULL,
		    res->retry_after);
	body = json_pack("{sssssOsssIsIsI}", "id", res->id, "kind", iss->kind->name, "scope",
	    iss->scope, "token", (const char *)res->token->data, "issued_at",
	    (json_int_t)res->issued_at, "expires_at", (json_int_t)res->expires_at,
	    "ttl", (json_int_t)(res->expires_at - res->issued_at));
	secret_free(res->token);
	res->token = NULL;
	if (body == NULL)
		return fail(iss, WRIT_ENOMEM, NULL, NULL, 0);
	/* Cut short to end with its job's identity token: the agent is told. */
	if (iss->s->expires_at > 0 && res->expires_at == iss->s->expires_at)
		json_object_set_new(body, "ttl_capped", json_string("the session's job "
		    "identity token expires then (its exp + the issuer's grace)"));
	iss->ans = (struct issue_answer){ .code = 0, .body = body };
	iss->stage = ISSUE_ANSWERED;
	return true;
}
