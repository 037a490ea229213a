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
 *                                                 settles it)        ECLOSED
 *  ASKED -> APPROVED   settled   deciding thread  held               (upstream kinds: on
 *    -> MINTING                  (admin handler,                     to a worker at once)
 *                                approver, reaper)
 *  ASKED -> APPROVED   approved  HTTP handler     to read the        EDENIED, ETIMEDOUT,
 *                                (resumed)        verdict            EGONE, ECLOSED,
 *                                                                    ESHUTDOWN ...
 *  APPROVED -> MINTED  mint      HTTP handler     none (the kind's   ECLOSED (job identity
 *    (inline kinds)                               own)               ran out), the kind's
 *                                                                    errors (EMINT ...)
 *  APPROVED -> MINTING mint      HTTP handler     queue; waits for   ECLOSED (job identity)
 *    (upstream kinds)                             a worker
 *  MINTING -> MINTED   minted    upstream worker  none               the kind's errors,
 *                                (at stop: the                       ESHUTDOWN
 *                                stopping thread)
 *  MINTED -> RECORDED  record    whoever minted   writs_add          ENOMEM, EAUDIT
 *                      (issue_   (handler or      (issue_record);    (ledger: revoked),
 *                      record)   worker)          waits for the log  ECLOSED (session
 *                                                                    closed: revoked)
 *  RECORDED -> DURABLE synced    audit sync       to resume          --
 *                                thread (or at
 *                                once)
 *  DURABLE -> ANSWERED answer    HTTP handler     to take back       EAUDIT (log broke:
 *                                (resumed)                           the writ is revoked)
 *
 * Any failure goes to ANSWERED with its error; ANSWERED hands the answer
 * to the handler.  While suspended, only the thread that will resume the
 * request touches its issue, and it touches nothing after resuming it.
 *
 * Suspensions (each a suspend, a resume and one more call of the
 * handler) per writ: allowed by a rule, 1 (the log; for an upstream kind
 * the worker and the log share it); asked, 2 for an inline kind (a
 * person, the log), 1 for an upstream kind (a person, the worker and the
 * log, with no handler between them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#include "../plugins/kind.h"
#include "../policy/policy.h"
#include "approval.h"
#include "audit.h"
#include "config.h"
#include "core.h"
#include "errors.h"
#include "id.h"
#include "issue.h"
#include "ledger.h"
#include "peer.h"
#include "secret.h"
#include "server.h"
#include "session.h"
#include "sjson.h"
#include "upstream.h"
#include "writs.h"

enum issue_stage {
	ISSUE_PARSED,		/* parsed and checked by the HTTP layer */
	ISSUE_DECIDED,		/* cooldown, policy and throttle passed: allow or ask */
	ISSUE_ASKED,		/* waiting for a person (approval.c resumes) */
	ISSUE_APPROVED,		/* by a rule or a person: to be minted */
	ISSUE_MINTING,		/* on an upstream worker (it resumes, or records) */
	ISSUE_MINTED,		/* a token in hand: to be recorded */
	ISSUE_RECORDED,		/* ledger, live writ, "issued" record: waiting for the log */
	ISSUE_DURABLE,		/* the log said: durable (ok) or broken */
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
	const struct writ_kind *kind;
	json_t *scope;			/* canonical; a reference */
	int64_t ttl;
	struct policy_decision d;
	unsigned int max_pending;
	struct request_record rec;
	struct pending *pending;	/* while and after a person decides */
	/* Mint: the writ's id, its times, and what a worker runs (and returns). */
	char wid[WRIT_ID_LEN + 1];
	struct mint_job job;
	/* Recorded: the 201's body, until durable (ok) or not. */
	json_t *reply;
	bool durable;
	char err[WRIT_ERRLEN];		/* the text of a refusal decide makes */
	struct issue_answer ans;
};

/* Each stage's function: true to go on at once, false when rq is suspended. */
static bool decide(struct issue *iss);
static bool ask(struct issue *iss);
static bool approved(struct issue *iss);
static bool mint(struct issue *iss);
static bool record(struct issue *iss);
static bool answer(struct issue *iss);
/* ... and those that run on other threads, the request suspended. */
static void settled(struct pending *p);
static void minted(struct mint_job *job);
static void synced(void *arg, bool ok);

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
	json_decref(iss->reply);
	json_decref(iss->ans.body);
	secret_free(iss->job.out.token);
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
			go = record(iss);
			break;
		case ISSUE_DURABLE:
			go = answer(iss);
			break;
		case ISSUE_ANSWERED:
			*ret = iss->ans;
			iss->ans.body = NULL;
			return 1;
		case ISSUE_MINTING:
		case ISSUE_RECORDED:
			/* NB. never resumed in these: their threads move them on first. */
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

/*
 * A mint that failed, by its code only: messages may quote upstream's
 * answer, and the log keeps nothing it did not write itself.
 */
static void
audit_mint_failed(const struct issue *iss, int code)
{
	audit_log("mint_failed", session_audit(iss->s, json_pack("{ssssss}", "session",
	    iss->s->id, "kind", iss->kind->name, "error", errors_lookup(code)->name)));
}

/* PARSED -> DECIDED: cooldown, policy, upstream's throttle; refusals end here. */
static bool
decide(struct issue *iss)
{
	const struct peer *peer = iss->rq->conn->peer;
	const struct writ_kind *k = iss->kind;
	struct session *s = iss->s;
	char *err = iss->err;
	struct policy_request pq;
	struct policy_decision *d = &iss->d;
	int64_t cool;
	int wait = 0, code;

	*d = (struct policy_decision){ .verdict = POLICY_ASK };
	pq = (struct policy_request){ .kind = k->name, .scope = iss->scope, .ttl = iss->ttl,
	    .session = s->name, .uid = peer->uid, .claims = s->claims,
	    /* NB. a relayed caller's exe is the relay's: no exe rule may match it. */
	    .exe = peer->relayed ? WRIT_EXE_UNVERIFIED : peer->exe };
	pthread_mutex_lock(&writd_lock);
	pq.workspace = s->workspace;
	pq.live = writs_count(s);
	pq.live_kind = s->live_kind[kinds_index(k)];
	cool = session_cooling(s, now_mono());
	if (cool == 0)
		policy_decide(policy, &pq, d);
	iss->max_pending = policy_max_pending(policy);
	pthread_mutex_unlock(&writd_lock);
	/*
	 * Upstream asked writd to wait (a rate limit, kind.h): refused now,
	 * after policy (a deny stays a deny) and before any person is asked
	 * to approve what would not be sent.
	 */
	if (cool == 0 && d->verdict != POLICY_DENY && k->throttled != NULL &&
	    k->throttled(kinds_state(k), iss->scope, &wait, err) < 0 && wait > 0)
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
	p->settled = settled;
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

/* The writ's id and times, capped by a job's identity.  false: iss failed. */
static bool
mint_times(struct issue *iss)
{
	struct kind_mint *m = &iss->job.mint;

	random_id(iss->wid);
	m->writ_id = iss->wid;
	m->session_id = iss->s->id;
	m->scope = iss->scope;
	m->issued_at = now_real();
	m->expires_at = m->issued_at + iss->ttl;
	/*
	 * NB. a job's writ never outlives the job's identity: capped, not
	 * refused (the answer says so); the TTL asked was what policy decided on.
	 */
	if (iss->s->expires_at > 0 && m->expires_at > iss->s->expires_at) {
		m->expires_at = iss->s->expires_at;
		if (m->expires_at - m->issued_at < 1) {
			(void)fail(iss, WRIT_ECLOSED, "this job's identity token has "
			    "expired: its session is closing", NULL, 0);
			return false;
		}
	}
	return true;
}

/* APPROVED -> MINTING: hand the mint to an upstream worker.  Lock held, rq suspended. */
static void
queue_locked(struct issue *iss)
{
	iss->job.kind = iss->kind;
	iss->job.done = minted;
	iss->stage = ISSUE_MINTING;
	upstream_mint(&iss->job);
}

/*
 * APPROVED -> MINTED (inline kinds, on the handler) or -> MINTING:
 * network-bound kinds mint on an upstream worker, the request suspended.
 */
static bool
mint(struct issue *iss)
{
	const struct writ_kind *k = iss->kind;
	int r;

	if (!mint_times(iss))
		return true;
	if (k->upstream) {
		pthread_mutex_lock(&writd_lock);
		/* NB. closed (writd stopping, too): the workers may be gone. */
		if (iss->s->closed) {
			pthread_mutex_unlock(&writd_lock);
			return fail(iss, WRIT_ECLOSED, NULL, NULL, 0);
		}
		server_suspend(iss->rq->mhd, iss->rq);
		queue_locked(iss);
		pthread_mutex_unlock(&writd_lock);
		return false;
	}
	r = k->mint(kinds_state(k), &iss->job.mint, &iss->job.out, iss->job.err);
	if (r < 0) {
		audit_mint_failed(iss, r);
		return fail(iss, r == WRIT_ENOMEM ? r : r == WRIT_EINTERNAL ? WRIT_EMINT : r,
		    iss->job.err[0] != '\0' ? iss->job.err : NULL, NULL,
		    iss->job.out.retry_after);
	}
	iss->stage = ISSUE_MINTED;
	return true;
}

/*
 * ASKED, decided: approval.c calls this on the deciding thread, lock
 * held.  An approved upstream mint goes to a worker at once, the request
 * still suspended (APPROVED -> MINTING: no trip through a handler); all
 * else resumes the handler, where approved() reads the verdict.
 */
static void
settled(struct pending *p)
{
	struct issue *iss = p->rq->state;

	/* NB. peer_alive as approved() checks it: a gone caller's pid may be reused. */
	if (p->decision == 1 && iss->kind->upstream && !iss->s->closed && peer_alive(p->peer)) {
		iss->stage = ISSUE_APPROVED;
		if (mint_times(iss)) {
			queue_locked(iss);
			return;		/* the log resumes it, or the worker on failure */
		}
	}
	server_resume(p->mhd, p->rq);
}

/*
 * MINTING -> MINTED, on the upstream worker (or at stop): record it here,
 * so that a token that exists upstream is in the ledger and the live
 * writs whatever becomes of its request; then the log resumes it.
 */
static void
minted(struct mint_job *job)
{
	struct issue *iss = (struct issue *)((char *)job - offsetof(struct issue, job));

	if (job->result < 0) {
		audit_mint_failed(iss, job->result);
		(void)fail(iss, job->result, job->err[0] != '\0' ? job->err : NULL, NULL,
		    job->out.retry_after);
	} else {
		iss->stage = ISSUE_MINTED;
		if (!record(iss))
			return;		/* the log resumes it */
	}
	resume(iss);
}

/*
 * The one place a minted token tok (taken) becomes a writ: its keyed
 * fingerprint, computed once; its ledger entry (write-ahead: synced here
 * for upstream kinds, whose token exists upstream from the mint on; else
 * by the log before the "issued" record); the live writ; the answer's
 * body; the durable "issued" record.  Returns 0 and the record's seq, or
 * fails iss with the token revoked or freed.  Lock NOT held: on the
 * thread that minted (a handler or an upstream worker).
 */
static int
issue_record(struct issue *iss, struct secret *tok, uint64_t *ret_seq)
{
	const struct writ_kind *k = iss->kind;
	const struct kind_mint *m = &iss->job.mint;
	struct session *s = iss->s;
	struct secret *keep = NULL;
	struct ledger_entry e;
	char fp[33], err[WRIT_ERRLEN];
	json_t *body, *rec;
	int r;

	if (k->revoke != NULL && (keep = secret_dup(tok->data, tok->len)) == NULL) {
		if (k->upstream)
			upstream_revoke(k, tok, iss->wid);
		else
			secret_free(tok);
		fail(iss, WRIT_ENOMEM, NULL, NULL, 0);
		return WRIT_ENOMEM;
	}
	audit_fingerprint(tok->data, tok->len, fp);
	e = (struct ledger_entry){ .id = iss->wid, .session = s->id, .name = s->name,
	    .kind = k, .scope = iss->scope, .issued_at = m->issued_at,
	    .expires_at = m->expires_at, .pid = s->pid, .pid_start = s->pid_start,
	    .token = tok };
	if ((r = ledger_add(&e, fp)) == 0 && k->upstream)
		r = ledger_flush();
	if (r < 0 && k->upstream) {
		/* On the worker: revoked now, before anyone could use it. */
		if (k->revoke != NULL)
			(void)k->revoke(kinds_state(k), tok, err);
		secret_free(tok);
		secret_free(keep);
		audit_mint_failed(iss, WRIT_EAUDIT);
		fail(iss, WRIT_EAUDIT, "the ledger cannot be written; the token was "
		    "revoked and nothing issued", NULL, 0);
		return WRIT_EAUDIT;
	}
	if (r < 0) {
		secret_free(tok);
		secret_free(keep);
		fail(iss, r, r == WRIT_EAUDIT ? "the ledger cannot be written; nothing issued" :
		    NULL, NULL, 0);
		return r;
	}
	pthread_mutex_lock(&writd_lock);
	if (s->closed)
		r = WRIT_ECLOSED;
	else if ((r = writs_add(iss->wid, s, k, json_deep_copy(iss->scope), m->issued_at,
	    m->expires_at, keep)) == 0)
		/* The reaper ends it at its expiry, and closes the key page soon. */
		core_kick_at(m->expires_at < m->issued_at + 1 ? m->expires_at :
		    m->issued_at + 1);
	pthread_mutex_unlock(&writd_lock);
	if (r < 0) {
		/*
		 * Minted for a session that closed meanwhile, or no memory to
		 * keep it: it must not live on.  NB. writs_add frees keep on
		 * ENOMEM; tok is the same token.
		 */
		if (r == WRIT_ECLOSED)
			secret_free(keep);
		if (k->revoke != NULL && k->upstream) {
			upstream_revoke(k, tok, iss->wid);	/* takes tok, closes its entry */
			tok = NULL;
		} else {
			if (k->revoke != NULL)
				(void)k->revoke(kinds_state(k), tok, err);
			ledger_done(iss->wid);
		}
		secret_free(tok);
		fail(iss, r, NULL, NULL, 0);
		return r;
	}
	body = json_pack("{sssssOsssIsIsI}", "id", iss->wid, "kind", k->name, "scope",
	    iss->scope, "token", (const char *)tok->data, "issued_at",
	    (json_int_t)m->issued_at, "expires_at", (json_int_t)m->expires_at,
	    "ttl", (json_int_t)(m->expires_at - m->issued_at));
	secret_free(tok);
	/* Cut short to end with its job's identity token (mint): the agent is told. */
	if (body != NULL && s->expires_at > 0 && m->expires_at == s->expires_at)
		json_object_set_new(body, "ttl_capped", json_string("the session's job "
		    "identity token expires then (its exp + the issuer's grace)"));
	iss->reply = body;
	/* Write-ahead: the token leaves only once its record is on disk. */
	/* "request": the approval it came from, when a person was asked. */
	/* NB. with the ledger entry's fields: the entry may be recovered from it. */
	rec = json_pack("{sssssssOsIssso}", "writ", iss->wid, "session", s->id, "kind",
	    k->name, "scope", iss->scope, "expires_at", (json_int_t)m->expires_at,
	    "fingerprint", fp, "request",
	    iss->pending != NULL ? json_string(iss->pending->id) : json_null());
	if (rec != NULL && ledger_note(&e, rec) < 0) {
		json_decref(rec);
		rec = NULL;
	}
	*ret_seq = audit_log_durable("issued", session_audit(s, rec));
	return 0;
}

/* MINTED -> RECORDED: recorded, then wait for the log (the request suspended). */
static bool
record(struct issue *iss)
{
	struct secret *tok = iss->job.out.token;
	uint64_t seq;

	iss->job.out.token = NULL;
	if (issue_record(iss, tok, &seq) < 0)
		return true;
	iss->stage = ISSUE_RECORDED;
	/* An upstream kind's request is suspended since MINTING. */
	if (!iss->kind->upstream) {
		pthread_mutex_lock(&writd_lock);
		server_suspend(iss->rq->mhd, iss->rq);
		pthread_mutex_unlock(&writd_lock);
	}
	/* NB. synced may run at once: iss is not touched after this. */
	audit_wait(seq, synced, iss);
	return false;
}

/* RECORDED -> DURABLE: the audit sync thread, the record durable (ok) or never. */
static void
synced(void *arg, bool ok)
{
	struct issue *iss = arg;

	pthread_mutex_lock(&writd_lock);
	iss->durable = ok;
	iss->stage = ISSUE_DURABLE;
	server_resume(iss->rq->mhd, iss->rq);
	pthread_mutex_unlock(&writd_lock);
}

/* DURABLE -> ANSWERED: the 201 whose record is durable; or take the writ back. */
static bool
answer(struct issue *iss)
{
	struct writ *revoke = NULL;

	if (iss->durable) {
		iss->ans = (struct issue_answer){ .code = 0, .body = iss->reply };
		iss->reply = NULL;
		iss->stage = ISSUE_ANSWERED;
		return true;
	}
	json_decref(iss->reply);
	iss->reply = NULL;
	/* NB. an unrecorded token must not live: forget and revoke it. */
	pthread_mutex_lock(&writd_lock);
	(void)writs_take(NULL, iss->wid, &revoke);
	pthread_mutex_unlock(&writd_lock);
	writs_revoke_list(revoke, "its issued record could not be made durable");
	return fail(iss, WRIT_EAUDIT, NULL, NULL, 0);
}
