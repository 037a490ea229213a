/*
 * policy.h - writ's tiered policy engine.
 *
 * Two layers, each one JSON file of the same format: enterprise (root-owned,
 * e.g. /etc/writ/policy.json) and user (~/.config/writ/policy.json).  A
 * request is decided by tiers, first match wins:
 *
 *   1. deny     any deny rule of either layer (enterprise reported first);
 *               final, no approval overrides it;
 *   2. limits   every layer's ceilings apply (the tightest wins); a request
 *               over one is denied, naming it, never trimmed;
 *   3. allow    an allow rule the request stays within: issued without a
 *               prompt (user allow rules only where the enterprise permits);
 *   4. default  "ask", or "deny" if either layer says so.
 *
 * Because every layer's denies come before any allow, and every layer's
 * limits apply, the decision does not depend on the order files are read.
 *
 * Scope patterns err in the direction of their tier.  Deny and confirm
 * rules match when the request *touches* what they name, and match wide:
 * ASCII case ignored, '*' any run of characters, at a key of hosts the
 * value's host as well as the whole value ("prod.example.com" touches
 * "https://prod.example.com:443/x"), a domain ".example.com" any value
 * that mentions example.com, a level that level and every higher one
 * (grammar.h), a key the request leaves out -- which means no restriction --
 * as touched.  Allow rules and limits match when the request *stays
 * within* them, and admit narrowly: exact case, '*' and '?' never standing
 * for '/', '@', ':' or '?' ("**" does) nor, in a host or its port, for '.'
 * (a '*' is part of one label, as in a certificate; a port has no dots),
 * ".example.com" only example.com and names ending in ".example.com", a
 * level that level and every lower one, and a key the rule or limit names
 * must be in the request.  Session,
 * workspace and exe globs are plain (policy_glob) on both sides; claim
 * globs too in deny and confirm rules, but in allow rules a claim must
 * stay within its glob, as a scope value does.
 * At a key whose value is an object of names (grammar.h), a glob stands for
 * every name's value, in deny and confirm rules and limits; an allow rule
 * must name each ("permissions": "read" would be secrets: read too).
 * A list value is matched per element: touched when any element is,
 * within when every one is.  An allow rule must name every key of the
 * request but those that grant nothing more (kind.h): a key the kind does
 * not declare, one that only narrows (KIND_KEY_NARROWS), an empty set
 * (KIND_KEY_SET, which is also within every limit).  At a key of free
 * text (KIND_KEY_TEXT) globs may hold any printable ASCII but '$'.
 *
 * CI jobs: a rule's "session" may be an object {"name": GLOB, "claims":
 * {CLAIM: GLOB | [GLOB...]}}; every claim named must match the session's
 * verified claims, so a session without a verified identity never matches
 * it.  An allow rule's scope value may be exactly "${claims.NAME}": at
 * decision time it stands for that claim's value as the rule's kind
 * canonicalizes it in the request's scope (the kind's canonicalize is pure,
 * so it is called here under the caller's lock); an absent claim, or one
 * the kind refuses, makes the rule not match -- never a wildcard.
 *
 * The library never logs and never sees secrets.  Scopes must already be
 * canonical (each kind's canonicalize).
 */
#ifndef WRIT_POLICY_H
#define WRIT_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "sjson.h"

/* Largest policy file, in bytes. */
#define WRIT_MAX_POLICY (256 * 1024)
/* Most rules of one kind (deny, allow, confirm) in one layer. */
#define WRIT_MAX_RULES 512
/* Longest glob, in bytes. */
#define WRIT_MAX_GLOB 256
/* Room for a decision's message. */
#define WRIT_POLICY_MSGLEN 320
/* Longest claim value kept from a CI job's ID token, in bytes. */
#define WRIT_MAX_CLAIM 256

/*
 * The claims of a CI job's verified OIDC ID token that writ keeps, shows,
 * audits and matches policy on, NULL-terminated: GitHub Actions'
 * (repository, repository_owner, ref, workflow_ref, job_workflow_ref,
 * run_id, run_attempt, environment, actor, sub), GitLab's (project_path,
 * namespace_path, ref, pipeline_id, job_id, environment, sub) and iss.
 * A rule naming any other is an error, not a rule that never matches.
 */
extern const char *const policy_claim_names[];

enum policy_verdict { POLICY_ASK, POLICY_ALLOW, POLICY_DENY };
enum policy_layer_id { POLICY_ENTERPRISE, POLICY_USER, POLICY_NLAYERS };

struct policy;

/* What the policy decides about; every string already checked. */
struct policy_request {
	const char *kind;
	const json_t *scope;		/* canonical */
	int64_t ttl;			/* seconds */
	const char *session;		/* session name */
	const char *workspace;		/* NULL when the session has none */
	uid_t uid;			/* the caller's */
	const char *exe;		/* the caller's, from the kernel */
	unsigned int live;		/* the session's live writs */
	unsigned int live_kind;		/* ... of this kind */
	const json_t *claims;		/* the session's verified job claims, as
					   policy_claims_clean keeps them; NULL: the
					   session has no verified identity */
};

struct policy_decision {
	enum policy_verdict verdict;
	const char *tier;		/* "deny", "limits", "allow", "default" */
	const char *layer;		/* "enterprise", "user", "built-in" */
	char rule[80];			/* rule id, or where it stands: "deny[2]" */
	char message[WRIT_POLICY_MSGLEN]; /* the rule's "why", or what was hit */
	bool typed;			/* ask: the approval must be typed */
	char confirm_rule[80];		/* the confirm rule that asked for it */
};

/*
 * Parse the two layers from memory (either text may be NULL: no such
 * layer); names label messages.  Returns 0 and a policy, or a negative code
 * with "name: where: what" (line and column for syntax errors, the JSON
 * path of the offending key otherwise) in err.
 */
int policy_parse(const char *ent, size_t ent_len, const char *ent_name,
    const char *user, size_t user_len, const char *user_name,
    struct policy **ret, char err[WRIT_ERRLEN]);

/*
 * Read and parse the two files.  A missing file is an absent layer.  The
 * enterprise file must be owned by root and not writable by group or
 * others; the user file owned by root or by us and not writable by group
 * or others.  Returns as policy_parse.
 */
int policy_load(const char *ent_path, const char *user_path,
    struct policy **ret, char err[WRIT_ERRLEN]);

/* Decide req.  Never fails: a policy that cannot decide asks. */
void policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *ret);

/* The tightest session.max_pending of the layers, 0 when none sets it. */
unsigned int policy_max_pending(const struct policy *p);

/* May the user layer's allow rules allow (the enterprise's "user_allow")? */
bool policy_user_allow(const struct policy *p);

/* The decision as JSON (for explain and the prompt). */
json_t *policy_decision_json(const struct policy_decision *d);

/*
 * The claims of a verified ID token that writ keeps: those named in
 * policy_claim_names whose value is a string of 1..WRIT_MAX_CLAIM printable
 * ASCII characters.  Anything else is dropped (never shown raw) or, when
 * strict (a person typed them: policy explain), refused with a message
 * naming the claim.  Returns 0 and a new object, or WRIT_EBADREQ /
 * WRIT_ENOMEM.  claims itself may be any JSON value (not an object: an error
 * when strict, else nothing kept).
 */
int policy_claims_clean(const json_t *claims, bool strict, json_t **ret,
    char err[WRIT_ERRLEN]);

/* Free p; NULL is fine. */
void policy_free(struct policy *p);

/*
 * Does value match glob?  '*' matches any run of characters (including
 * '/'), '?' one character; nothing else is special.  icase folds ASCII.
 * The matcher of deny and confirm rules, and of every non-scope glob.
 */
bool policy_glob(const char *glob, const char *value, bool icase);

/*
 * Does value stay within glob (allow rules and limits)?  Exact case; '*'
 * matches any run of characters but '/', '@', ':' and '?' -- and, when
 * host, '.' within the value's host and port (policy_host_span, then
 * on to a '/' or '?') -- '?' one such
 * character, "**" any run at all.  False when memory runs out.
 */
bool policy_glob_within(const char *glob, const char *value, bool host);

/*
 * Where the host of a host-or-URL value is: after "scheme://" (one that
 * comes before any '/', '?' or '@') and the last "user@", before ":port",
 * "/path" or "?query" -- the whole value when it is a bare name.  [*ret_start, *ret_end) indexes value.
 */
void policy_host_span(const char *value, size_t *ret_start, size_t *ret_end);

/*
 * Is value the host name domain ("example.com") or one of its subdomains
 * ("a.b.example.com"), with no scheme, user, port or path around it?
 */
bool policy_domain_within(const char *domain, const char *value);

/*
 * What policy check warns about: rules and patterns that are valid but
 * admit more than they seem to.  An allow rule that relies on "exe" alone
 * (no session, workspace, uid or claims narrowing it: exe is what the
 * kernel says the caller runs, not who the caller is); in allow rules and
 * limits, a pattern of wildcards only, a "**", and at a key of hosts a '*'
 * ending the host ("localhost*": localhost.attacker.net) or running into a
 * name ("*example.com": evil-example.com).  Calls warn once per finding,
 * with the layer and a message that says where and what to do; returns
 * the number of findings.
 */
size_t policy_lint(const struct policy *p,
    void (*warn)(void *arg, enum policy_layer_id layer, const char *msg), void *arg);

#endif
