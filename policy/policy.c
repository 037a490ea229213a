/*
 * policy.c - the tiered policy engine: parse, layer, decide.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "errors.h"
#include "../plugins/grammar.h"
#include "policy.h"

/* Most kinds one layer sets limits for. */
#define WRIT_MAX_KINDS_POLICY 8

enum match_mode { TOUCH, WITHIN };

static char
tolower_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

struct rule {
	char where[32];			/* "deny[2]": where it stands in its file */
	char id[64];			/* its "id", else where */
	char *why;			/* shown to the person and the agent */
	const struct kind_grammar *kind;	/* NULL: any kind */
	json_t *scope;			/* NULL: any scope (not for allow) */
	char *session, *workspace, *exe; /* globs; NULL: any */
	json_t *claims;			/* "session": {"claims": {name: globs}}; NULL: any */
	bool subst;			/* allow: the scope has "${claims.NAME}" values */
	long long uid;			/* -1: any */
	int64_t ttl;			/* allow: max_ttl; deny, confirm: min_ttl; 0: none */
	bool typed;			/* confirm: "mode": "typed" */
};

struct kind_limits {
	const struct kind_grammar *kind;
	int64_t max_ttl;		/* 0: none */
	unsigned int max_live;		/* live writs of this kind per session; 0: none */
	json_t *ceilings;		/* scope key -> permitted globs */
};

struct layer {
	bool present;
	const char *label;
	struct rule *rules[3];		/* deny, allow, confirm */
	size_t nrules[3];
	struct kind_limits limits[WRIT_MAX_KINDS_POLICY];
	size_t nlimits;
	unsigned int max_live, max_pending; /* 0: none */
	bool default_deny;
	bool user_allow;		/* enterprise: may the user layer allow? */
};

enum { DENY, ALLOW, CONFIRM };
static const char *const rule_sets[] = { "deny", "allow", "confirm" };

struct policy {
	struct layer l[POLICY_NLAYERS];
};

/* Parse context: where we are, for messages. */
struct ctx {
	const char *name;
	char *err;
};

static int __attribute__((format(printf, 3, 4)))
bad(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[WRIT_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, WRIT_ERRLEN, "%s: %s: %s", c->name, path, msg);
	return WRIT_EBADREQ;
}

/* policy_glob over the value [v, end). */
static bool
glob_n(const char *g, const char *v, const char *end, bool icase)
{
	const char *star = NULL, *resume = NULL;

	/* Classic iterative matcher: on mismatch, let the last '*' eat one more. */
	while (v < end) {
		if (*g == '*') {
			star = ++g;
			resume = v;
		} else if (*g == '?' || (icase ? tolower_ascii(*g) == tolower_ascii(*v) : *g == *v)) {
			g++;
			v++;
		} else if (star != NULL) {
			g = star;
			v = ++resume;
		} else
			return false;
	}
	while (*g == '*')
		g++;
	return *g == '\0';
}

bool
policy_glob(const char *g, const char *v, bool icase)
{
	return glob_n(g, v, v + strlen(v), icase);
}

/*
 * Characters a '*' or '?' of an allow rule or a limit does not stand for:
 * what separates a URL's scheme, user, host, port, path and query, and an
 * owner from a name.  So "*.example.com" cannot admit
 * "https://attacker.net/x.example.com" nor "attacker.net@x.example.com".
 * In the host of a value at a key of hosts, '.' too: there a '*' is part
 * of one label, as in a TLS certificate ("localhost*" cannot admit
 * "localhost.attacker.net"); and in its port, which has no dots
 * ("localhost:*" cannot admit "localhost:1.attacker.net").
 */
#define GLOB_SEPS "/@:?"
/* Longest value glob_within matches without allocating. */
#define GLOB_ROW 512

void
policy_host_span(const char *v, size_t *ret_start, size_t *ret_end)
{
	const char *p = strstr(v, "://");
	size_t start = 0, end;

	/* NB. a scheme comes first: in "a.example.com/x://evil.net" it is path. */
	if (p != NULL && (size_t)(p - v) < strcspn(v, "/?@"))
		start = (size_t)(p - v) + 3;

	end = start + strcspn(v + start, "/?");
	for (size_t i = end; i > start; i--)
		if (v[i - 1] == '@') {
			start = i;
			break;
		}
	if (start + strcspn(v + start, ":") < end)
		end = start + strcspn(v + start, ":");
	*ret_start = start;
	*ret_end = end;
}

bool
policy_glob_within(const char *g, const char *v, bool host)
{
	unsigned char stack[GLOB_ROW + 1], *row = stack;
	size_t n = strlen(v), hs = 0, he = 0;
	bool r;

	if (strpbrk(g, "*?") == NULL)
		return strcmp(g, v) == 0;
	if (host) {
		policy_host_span(v, &hs, &he);
		/* NB. an empty first label (".example.com") is no name a '*' stands for. */
		if (he > hs && v[hs] == '.')
			return false;
		he += strcspn(v + he, "/?");	/* and the port */
	}
	if (n > GLOB_ROW && (row = malloc(n + 1)) == NULL)
		return false;	/* NB. fails closed: not within */
#define SEP(j) (strchr(GLOB_SEPS, v[j]) != NULL || (v[j] == '.' && (j) >= hs && (j) < he))
	/* row[j]: the glob so far matches the first j characters of v. */
	memset(row, 0, n + 1);
	row[0] = 1;
	while (*g != '\0') {
		if (g[0] == '*' && g[1] == '*') {
			unsigned char any = 0;

			g += strspn(g, "*");
			for (size_t j = 0; j <= n; j++)
				row[j] = any |= row[j];
			continue;
		}
		if (*g == '*')
			for (size_t j = 1; j <= n; j++)
				row[j] |= row[j - 1] && !SEP(j - 1);
		else {
			for (size_t j = n; j > 0; j--)
				row[j] = row[j - 1] && (*g == '?' ? !SEP(j - 1) : *g == v[j - 1]);
			row[0] = 0;
		}
		g++;
	}
#undef SEP
	r = row[n];
	if (row != stack)
		free(row);
	return r;
}

bool
policy_domain_within(const char *domain, const char *v)
{
	size_t n = strlen(v), d = strlen(domain);

	if (strcmp(v, domain) == 0)
		return true;
	/* "sub.example.com": a host name ending in ".example.com", nothing around it. */
	return n > d + 1 && v[n - d - 1] == '.' && strcmp(v + n - d, domain) == 0 &&
	    v[0] != '.' && strcspn(v, GLOB_SEPS) >= n - d - 1;
}

/* Glob alphabets: scope values, session names, paths. */
static bool
glob_ok(const char *g, const char *extra)
{
	size_t n = strlen(g);

	if (n == 0 || n > WRIT_MAX_GLOB)
		return false;
	for (const char *p = g; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '*' || *p == '?' ||
		    strchr(extra, *p) != NULL))
			return false;
	return true;
}

#define SCOPE_CHARS "._:/@+-"
/* At a key of free text (KIND_KEY_TEXT): every printable but '$' (claims). */
#define TEXT_CHARS " !\"#%&'()+,-./:;<=>@[\\]^_`{|}~"
#define SESSION_CHARS "._-"
#define PATH_CHARS "._:/@+-~,= "
/* Claim values: repositories, refs, workflow paths, issuer URLs, subjects. */
#define CLAIM_CHARS "._:/@+-~,= #"

/* How an allow rule's scope value names a claim: the whole value, nothing around it. */
#define CLAIM_REF_PRE "${claims."
#define CLAIM_REF_POST "}"

const char *const policy_claim_names[] = {
	"iss", "sub",
	/* GitHub Actions */
	"repository", "repository_owner", "ref", "workflow_ref", "job_workflow_ref",
	"run_id", "run_attempt", "environment", "actor",
	/* GitLab CI ("ref", "environment" and "sub" as above) */
	"project_path", "namespace_path", "pipeline_id", "job_id",
	NULL
};

static bool
claim_known(const char *name)
{
	for (size_t i = 0; policy_claim_names[i] != NULL; i++)
		if (strcmp(policy_claim_names[i], name) == 0)
			return true;
	return false;
}

/* A claim value writ keeps: 1..WRIT_MAX_CLAIM printable ASCII characters. */
static bool
claim_value_ok(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (s == NULL || n == 0 || n > WRIT_MAX_CLAIM || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int
policy_claims_clean(const json_t *claims, bool strict, json_t **ret, char err[WRIT_ERRLEN])
{
	const char *k;
	json_t *out, *v;
	char q[52];

	if (!json_is_object(claims) && strict) {
		snprintf(err, WRIT_ERRLEN, "'claims' must be an object of claim names to strings");
		return WRIT_EBADREQ;
	}
	if ((out = json_object()) == NULL)
		return WRIT_ENOMEM;
	json_object_foreach((json_t *)claims, k, v) {
		/* NB. what a token says is shown to people: drop what could act on a terminal. */
		if (!claim_known(k) || !claim_value_ok(v)) {
			if (!strict)
				continue;
			sjson_quote(q, k);
			snprintf(err, WRIT_ERRLEN, claim_known(k) ? "claim '%s' must be a string of "
			    "1-%d printable ASCII characters" : "unknown claim '%s' (writ keeps iss, "
			    "sub, repository, repository_owner, ref, workflow_ref, job_workflow_ref, "
			    "run_id, run_attempt, environment, actor, project_path, namespace_path, "
			    "pipeline_id, job_id)", q, WRIT_MAX_CLAIM);
			json_decref(out);
			return WRIT_EBADREQ;
		}
		if (json_object_set(out, k, v) != 0) {
			json_decref(out);
			return WRIT_ENOMEM;
		}
	}
	*ret = out;
	return 0;
}

/*
 * The claim name of a reference "${claims.NAME}" into name (false when s
 * is not one).
 */
static bool
claim_ref(const char *s, char name[64])
{
	size_t n = strlen(s), pre = strlen(CLAIM_REF_PRE), post = strlen(CLAIM_REF_POST);

	if (n <= pre + post || strncmp(s, CLAIM_REF_PRE, pre) != 0 ||
	    strcmp(s + n - post, CLAIM_REF_POST) != 0 || n - pre - post >= 64)
		return false;
	snprintf(name, 64, "%.*s", (int)(n - pre - post), s + pre);
	return true;
}

static int
get_glob(struct ctx *c, const json_t *obj, const char *key, const char *path,
    const char *chars, char **ret)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || !glob_ok(json_string_value(v), chars))
		return bad(c, path, "'%s' must be a glob of [A-Za-z0-9%s*?], 1-%d characters",
		    key, chars, WRIT_MAX_GLOB);
	*ret = strdup(json_string_value(v));
	return *ret != NULL ? 0 : WRIT_ENOMEM;
}

static int
get_ttl(struct ctx *c, const json_t *obj, const char *key, const char *path,
    int64_t *ret)
{
	json_t *v = json_object_get(obj, key);

	*ret = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || duration_parse(json_string_value(v), ret) < 0)
		return bad(c, path, "'%s' must be a duration such as \"10m\"", key);
	return 0;
}

/* The kind whose scope key name is: k, or the first that has one when k is NULL. */
static const struct kind_grammar *
key_kind(const struct kind_grammar *k, const char *name)
{
	for (size_t i = 0; k == NULL && kind_grammars[i] != NULL; i++)
		if (grammar_key(kind_grammars[i], name) != NULL)
			return kind_grammars[i];
	return k;
}

/*
 * The scope key called name of kind k, or of the first kind that has one
 * when k is NULL (a rule for any kind); NULL when none has it.
 */
static const struct kind_key *
scope_key(const struct kind_grammar *k, const char *name)
{
	return grammar_key(key_kind(k, name), name);
}

/*
 * A plain value g (no wildcard, no domain, no claim) at key that kind k's
 * canonicalize rewrites ("acme/x.git" is "acme/x") is never in a request,
 * which policy sees only canonical: a rule naming it would never match --
 * a void deny.  Refused, saying what to write.  Case aside: deny rules
 * ignore it, and allow rules and limits only admit less.  NB. a value k
 * refuses alone (it wants other keys beside) is not judged here.
 */
static int
check_canonical(struct ctx *c, const struct kind_grammar *k, const char *key, const char *g,
    const char *path)
{
	char err[WRIT_ERRLEN], q[52], q2[52];
	json_t *probe, *canon = NULL, *cv;
	int r = 0;

	if (k == NULL || strpbrk(g, "*?$") != NULL || g[0] == '.')
		return 0;
	if ((probe = json_pack("{ss}", key, g)) == NULL)
		return WRIT_ENOMEM;
	if (k->canonicalize(probe, &canon, err) == 0) {
		cv = json_object_get(canon, key);
		if (json_is_array(cv) && json_array_size(cv) == 1)
			cv = json_array_get(cv, 0);
		if (json_is_string(cv) && strcasecmp(json_string_value(cv), g) != 0) {
			sjson_quote(q, g);
			sjson_quote(q2, json_string_value(cv));
			r = bad(c, path, "'%s' is never in a %s request: it is '%s'; write that",
			    q, k->name, q2);
		}
	}
	json_decref(canon);
	json_decref(probe);
	return r;
}

/* The levels of key, "read, write, admin", for messages. */
static void
level_list(const struct kind_key *key, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; key->levels[i] != NULL && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
		    key->levels[i]);
}

/*
 * A domain pattern ".example.com" (the domain and its subdomains): a
 * plain host name after the dot, of letters, digits, '-', '_' and dots.
 */
static bool
domain_ok(const char *g)
{
	size_t n = strlen(g);

	return n >= 2 && g[0] == '.' && g[1] != '.' && g[n - 1] != '.' &&
	    strstr(g, "..") == NULL && strspn(g + 1, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n - 1;
}

/*
 * One scope glob for key; or, where refs is not NULL (allow rules), a
 * whole-value claim reference "${claims.NAME}" of a known claim (then
 * *refs is set).  At a key with levels the glob must name one of them; a
 * leading '.' (a domain) only at a key of hosts.
 */
static int
check_glob(struct ctx *c, const char *g, const char *path, bool *refs,
    const struct kind_key *key)
{
	char name[64], q[52], lv[96];
	bool any = false;

	if (strchr(g, '$') == NULL) {
		/* Free text (a command line): any printable ASCII, spaces too. */
		if (key != NULL && (key->flags & KIND_KEY_TEXT)) {
			if (!glob_ok(g, TEXT_CHARS))
				return bad(c, path, "not a glob of printable ASCII (but '$')");
			return 0;
		}
		if (!glob_ok(g, SCOPE_CHARS))
			return bad(c, path, "not a glob of [A-Za-z0-9" SCOPE_CHARS "*?]");
		if (g[0] == '.' && (key == NULL || !(key->flags & KIND_KEY_HOST) || !domain_ok(g)))
			return bad(c, path, "a leading '.' names a domain and its subdomains "
			    "(\".example.com\": letters, digits, '-', '_' and dots, no wildcard), "
			    "and only where the value is a host");
		if (key != NULL && key->levels != NULL) {
			for (size_t i = 0; key->levels[i] != NULL; i++)
				any = any || policy_glob(g, key->levels[i], true);
			if (!any) {
				sjson_quote(q, g);
				level_list(key, lv, sizeof(lv));
				return bad(c, path, "'%s' is not a level (%s)", q, lv);
			}
		}
		return 0;
	}
	if (refs == NULL)
		return bad(c, path, "a claim reference (\"${claims.NAME}\") may only stand "
		    "in an allow rule's scope");
	/* NB. the whole value or nothing: a claim spliced into a glob could widen it. */
	if (!claim_ref(g, name))
		return bad(c, path, "a claim reference must be the whole value: "
		    "\"${claims.NAME}\"");
	if (!claim_known(name)) {
		sjson_quote(q, name);
		return bad(c, path, "unknown claim '%s'", q);
	}
	*refs = true;
	return 0;
}

/* A glob, or a non-empty array of globs (and claim references, see check_glob). */
static int
check_globs(struct ctx *c, const json_t *v, const char *path, bool *refs,
    const struct kind_key *key)
{
	char sub[224];
	size_t i;
	json_t *g;
	int r;

	if (json_is_string(v))
		return check_glob(c, json_string_value(v), path, refs, key);
	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad(c, path, "must be a glob or a non-empty array of globs");
	json_array_foreach(v, i, g) {
		if (!json_is_string(g))
			return bad(c, path, "item %zu is not a glob of [A-Za-z0-9"
			    SCOPE_CHARS "*?]", i);
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if ((r = check_glob(c, json_string_value(g), sub, refs, key)) < 0)
			return r;
	}
	return 0;
}

/*
 * A scope pattern: {key: globs | {subkey: globs}}, keys known to the kind
 * (any kind when k is NULL).  Used by rules and by limits' ceilings; refs
 * as check_glob's.
 */
static int
check_scope(struct ctx *c, const json_t *scope, const struct kind_grammar *k,
    const char *path, bool *refs)
{
	const struct kind_key *kk;
	char sub[192];
	const char *key, *k2;
	json_t *v, *v2;
	int r;

	if (!json_is_object(scope) || json_object_size(scope) == 0)
		return bad(c, path, "must be a non-empty object");
	json_object_foreach((json_t *)scope, key, v) {
		char q[52];

		sjson_quote(q, key);
		snprintf(sub, sizeof(sub), "%s.%s", path, q);
		if ((kk = scope_key(k, key)) == NULL)
			return bad(c, sub, "no %s%s scope has this key", k ? k->name : "",
			    k ? "" : "known");
		if (!json_is_object(v)) {
			const struct kind_grammar *vk = key_kind(k, key);
			size_t i;
			json_t *g;

			/*
			 * NB. refs: an allow rule.  A glob for every name there would
			 * issue "read" of every permission -- secrets, workflows and
			 * all -- without a prompt.
			 */
			if (refs != NULL && (kk->flags & KIND_KEY_NAMES))
				return bad(c, sub, "an allow rule names each of these it "
				    "admits, such as {\"contents\": \"read\"}");
			if ((r = check_globs(c, v, sub, refs, kk)) < 0 ||
			    (json_is_string(v) && (r = check_canonical(c, vk, key,
			    json_string_value(v), sub)) < 0))
				return r;
			json_array_foreach(v, i, g) {
				char item[224];

				snprintf(item, sizeof(item), "%s[%zu]", sub, i);
				if ((r = check_canonical(c, vk, key, json_string_value(g), item)) < 0)
					return r;
			}
			continue;
		}
		/* NB. sub-keys where values are strings would never match: a void deny. */
		if (!(kk->flags & KIND_KEY_NAMES))
			return bad(c, sub, "its values are not objects: a glob or an array of "
			    "globs, without sub-keys");
		if (json_object_size(v) == 0)
			return bad(c, sub, "must not be empty");
		json_object_foreach(v, k2, v2) {
			char sub2[256];

			sjson_quote(q, k2);
			snprintf(sub2, sizeof(sub2), "%s.%s", sub, q);
			if (!glob_ok(k2, SCOPE_CHARS) || strpbrk(k2, "*?") != NULL)
				return bad(c, sub2, "not a plain name");
			if ((r = check_globs(c, v2, sub2, refs, kk)) < 0)
				return r;
		}
	}
	return 0;
}

/* A claim's pattern: a glob, or a non-empty array of globs. */
static bool
claim_globs_ok(const json_t *v)
{
	size_t i;
	json_t *g;

	if (json_is_string(v))
		return glob_ok(json_string_value(v), CLAIM_CHARS);
	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, g)
		if (!json_is_string(g) || !glob_ok(json_string_value(g), CLAIM_CHARS))
			return false;
	return true;
}

/*
 * "session": a glob over the session name, or {"name": GLOB, "claims":
 * {CLAIM: globs}} (a CI job's session, by its verified claims).
 */
static int
parse_session(struct ctx *c, const json_t *v, const char *path, struct rule *r)
{
	static const char *const keys[] = { "name", "claims", NULL };
	char sp[64], msg[WRIT_ERRLEN], q[52];
	const json_t *cl, *g;
	const char *k;
	int e;

	if (v == NULL)
		return 0;
	if (json_is_string(v)) {
		if (!glob_ok(json_string_value(v), SESSION_CHARS))
			return bad(c, path, "'session' must be a glob of [A-Za-z0-9" SESSION_CHARS
			    "*?], 1-%d characters, or an object {\"name\": GLOB, \"claims\": "
			    "{CLAIM: GLOB}}", WRIT_MAX_GLOB);
		r->session = strdup(json_string_value(v));
		return r->session != NULL ? 0 : WRIT_ENOMEM;
	}
	snprintf(sp, sizeof(sp), "%s.session", path);
	if (!json_is_object(v))
		return bad(c, path, "'session' must be a glob of [A-Za-z0-9" SESSION_CHARS
		    "*?] or an object {\"name\": GLOB, \"claims\": {CLAIM: GLOB}}");
	if (sjson_only_keys(v, keys, "'session'", msg) < 0)
		return bad(c, sp, "%s", msg);
	if (json_object_size(v) == 0)
		return bad(c, sp, "must name 'name' or 'claims'");
	if ((e = get_glob(c, v, "name", sp, SESSION_CHARS, &r->session)) < 0)
		return e;
	cl = json_object_get(v, "claims");
	if (cl == NULL)
		return 0;
	if (!json_is_object(cl) || json_object_size(cl) == 0)
		return bad(c, sp, "'claims' must be a non-empty object of claim names to globs");
	json_object_foreach((json_t *)cl, k, g) {
		sjson_quote(q, k);
		if (!claim_known(k))
			return bad(c, sp, "unknown claim '%s' (known: iss, sub, repository, "
			    "repository_owner, ref, workflow_ref, job_workflow_ref, run_id, "
			    "run_attempt, environment, actor, project_path, namespace_path, "
			    "pipeline_id, job_id)", q);
		if (!claim_globs_ok(g))
			return bad(c, sp, "claims.%s must be a glob of [A-Za-z0-9" CLAIM_CHARS
			    "*?], 1-%d characters, or a non-empty array of them", q, WRIT_MAX_GLOB);
	}
	r->claims = json_incref((json_t *)cl);
	return 0;
}

static void
rule_free(struct rule *r)
{
	free(r->why);
	json_decref(r->scope);
	free(r->session);
	free(r->workspace);
	free(r->exe);
	json_decref(r->claims);
}

static int
parse_rule(struct ctx *c, const json_t *o, int set, size_t idx, struct rule *r)
{
	static const char *const common[] = { "id", "why", "kind", "scope", "session",
	    "workspace", "uid", "exe", "max_ttl", "min_ttl", "mode", NULL };
	char path[48], q[52];
	const char *key;
	json_t *v;
	int e;

	memset(r, 0, sizeof(*r));
	r->uid = -1;
	snprintf(r->where, sizeof(r->where), "%s[%zu]", rule_sets[set], idx);
	snprintf(path, sizeof(path), "%s", r->where);
	if (!json_is_object(o))
		return bad(c, path, "a rule must be an object");
	json_object_foreach((json_t *)o, key, v) {
		size_t i;

		for (i = 0; common[i] != NULL && strcmp(common[i], key) != 0; i++)
			;
		sjson_quote(q, key);
		if (common[i] == NULL)
			return bad(c, path, "unknown key '%s'", q);
		if ((strcmp(key, "max_ttl") == 0 && set != ALLOW) ||
		    (strcmp(key, "min_ttl") == 0 && set == ALLOW) ||
		    (strcmp(key, "mode") == 0 && set != CONFIRM))
			return bad(c, path, "'%s' is not allowed in a %s rule", key, rule_sets[set]);
	}
	v = json_object_get(o, "id");
	if (v != NULL && (!json_is_string(v) || !glob_ok(json_string_value(v), SESSION_CHARS) ||
	    strpbrk(json_string_value(v), "*?") != NULL || json_string_length(v) >= sizeof(r->id)))
		return bad(c, path, "'id' must be a name of [A-Za-z0-9._-], under 64 characters");
	snprintf(r->id, sizeof(r->id), "%s", v != NULL ? json_string_value(v) : r->where);
	v = json_object_get(o, "why");
	if (v != NULL) {
		if (!json_is_string(v) || json_string_length(v) > 200)
			return bad(c, path, "'why' must be a string of at most 200 bytes");
		if ((r->why = strdup(json_string_value(v))) == NULL)
			return WRIT_ENOMEM;
		sjson_clean_text(r->why);
	}
	v = json_object_get(o, "kind");
	if (v != NULL && (!json_is_string(v) || (r->kind = grammar_find(json_string_value(v))) == NULL)) {
		sjson_quote(q, json_is_string(v) ? json_string_value(v) : "?");
		return bad(c, path, "unknown kind '%s'", q);
	}
	v = json_object_get(o, "scope");
	if (v != NULL) {
		char sp[64];

		snprintf(sp, sizeof(sp), "%s.scope", path);
		if ((e = check_scope(c, v, r->kind, sp, set == ALLOW ? &r->subst : NULL)) < 0)
			return e;
		r->scope = json_incref(v);
	}
	if (set == ALLOW && (r->kind == NULL || r->scope == NULL))
		return bad(c, path, "an allow rule must name its 'kind' and 'scope'");
	if ((e = parse_session(c, json_object_get(o, "session"), path, r)) < 0 ||
	    (e = get_glob(c, o, "workspace", path, PATH_CHARS, &r->workspace)) < 0 ||
	    (e = get_glob(c, o, "exe", path, PATH_CHARS, &r->exe)) < 0 ||
	    (e = get_ttl(c, o, set == ALLOW ? "max_ttl" : "min_ttl", path, &r->ttl)) < 0)
		return e;
	v = json_object_get(o, "uid");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 0xfffffffeLL)
			return bad(c, path, "'uid' must be a user id");
		r->uid = json_integer_value(v);
	}
	v = json_object_get(o, "mode");
	if (set == CONFIRM) {
		if (v == NULL || !json_is_string(v) || (strcmp(json_string_value(v), "typed") != 0 &&
		    strcmp(json_string_value(v), "yes") != 0))
			return bad(c, path, "'mode' must be \"typed\" or \"yes\"");
		r->typed = strcmp(json_string_value(v), "typed") == 0;
	}
	return 0;
}

static int
parse_rules(struct ctx *c, const json_t *root, int set, struct layer *l)
{
	json_t *a = json_object_get(root, rule_sets[set]), *o;
	size_t i;
	int e;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > WRIT_MAX_RULES)
		return bad(c, rule_sets[set], "must be an array of at most %d rules", WRIT_MAX_RULES);
	l->rules[set] = calloc(json_array_size(a) + 1, sizeof(struct rule));
	if (l->rules[set] == NULL)
		return WRIT_ENOMEM;
	json_array_foreach(a, i, o) {
		e = parse_rule(c, o, set, i, &l->rules[set][i]);
		l->nrules[set] = i + 1;
		if (e < 0)
			return e;
	}
	return 0;
}

static int
parse_count(struct ctx *c, const json_t *o, const char *key, unsigned int *ret)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000)
		return bad(c, "limits.session", "'%s' must be an integer from 1 to 100000", key);
	*ret = (unsigned int)json_integer_value(v);
	return 0;
}

static int
parse_limits(struct ctx *c, const json_t *root, struct layer *l)
{
	json_t *lim = json_object_get(root, "limits"), *v;
	const char *key;
	int e;

	if (lim == NULL)
		return 0;
	if (!json_is_object(lim))
		return bad(c, "limits", "must be an object");
	json_object_foreach(lim, key, v) {
		static const char *const session_keys[] = { "max_live", "max_pending", NULL };
		struct kind_limits *kl;
		char path[96], q[52];
		json_t *ceil;

		sjson_quote(q, key);
		snprintf(path, sizeof(path), "limits.%s", q);
		if (!json_is_object(v))
			return bad(c, path, "must be an object");
		if (strcmp(key, "session") == 0) {
			char msg[WRIT_ERRLEN];

			if (sjson_only_keys(v, session_keys, "limits.session", msg) < 0)
				return bad(c, path, "%s", msg);
			if ((e = parse_count(c, v, "max_live", &l->max_live)) < 0 ||
			    (e = parse_count(c, v, "max_pending", &l->max_pending)) < 0)
				return e;
			continue;
		}
		if (l->nlimits == WRIT_MAX_KINDS_POLICY)
			return bad(c, path, "too many kinds");
		kl = &l->limits[l->nlimits++];
		if ((kl->kind = grammar_find(key)) == NULL)
			return bad(c, path, "unknown kind (or \"session\")");
		if ((e = get_ttl(c, v, "max_ttl", path, &kl->max_ttl)) < 0)
			return e;
		if (json_object_get(v, "max_live") != NULL) {
			json_t *ml = json_object_get(v, "max_live");

			if (!json_is_integer(ml) || json_integer_value(ml) < 1 ||
			    json_integer_value(ml) > 100000)
				return bad(c, path, "'max_live' must be an integer from 1 to 100000");
			kl->max_live = (unsigned int)json_integer_value(ml);
		}
		ceil = json_deep_copy(v);
		if (ceil == NULL)
			return WRIT_ENOMEM;
		json_object_del(ceil, "max_ttl");
		json_object_del(ceil, "max_live");
		kl->ceilings = ceil;
		if (json_object_size(ceil) > 0 && (e = check_scope(c, ceil, kl->kind, path, NULL)) < 0)
			return e;
	}
	return 0;
}

static int
parse_layer(struct ctx *c, const char *text, size_t len, int id, struct layer *l)
{
	static const char *const keys[] = { "deny", "limits", "allow", "confirm",
	    "default", "user_allow", NULL };
	char msg[WRIT_ERRLEN];
	json_error_t je;
	json_t *root, *v;
	int e;

	l->label = id == POLICY_ENTERPRISE ? "enterprise" : "user";
	l->user_allow = true;
	if (text == NULL)
		return 0;
	if (len > WRIT_MAX_POLICY) {
		snprintf(c->err, WRIT_ERRLEN, "%s: larger than %d bytes", c->name, WRIT_MAX_POLICY);
		return WRIT_ETOOBIG;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(c->err, WRIT_ERRLEN, "%s:%d:%d: %s", c->name, je.line, je.column, je.text);
		return WRIT_EBADJSON;
	}
	l->present = true;
	if (!json_is_object(root)) {
		e = bad(c, "top level", "must be an object");
		goto out;
	}
	if (sjson_only_keys(root, keys, "the policy", msg) < 0) {
		e = bad(c, "top level", "%s", msg);
		goto out;
	}
	if ((e = parse_rules(c, root, DENY, l)) < 0 || (e = parse_rules(c, root, ALLOW, l)) < 0 ||
	    (e = parse_rules(c, root, CONFIRM, l)) < 0 || (e = parse_limits(c, root, l)) < 0)
		goto out;
	v = json_object_get(root, "default");
	if (v != NULL) {
		if (!json_is_string(v) || (strcmp(json_string_value(v), "ask") != 0 &&
		    strcmp(json_string_value(v), "deny") != 0)) {
			e = bad(c, "default", "must be \"ask\" or \"deny\"");
			goto out;
		}
		l->default_deny = strcmp(json_string_value(v), "deny") == 0;
	}
	v = json_object_get(root, "user_allow");
	if (v != NULL) {
		if (id != POLICY_ENTERPRISE || !json_is_boolean(v)) {
			e = bad(c, "user_allow", "is a true/false of the enterprise policy only");
			goto out;
		}
		l->user_allow = json_is_true(v);
	}
	e = 0;
 out:
	json_decref(root);
	return e;
}

static void
layer_free(struct layer *l)
{
	for (int s = 0; s < 3; s++) {
		for (size_t i = 0; i < l->nrules[s]; i++)
			rule_free(&l->rules[s][i]);
		free(l->rules[s]);
	}
	for (size_t i = 0; i < l->nlimits; i++)
		json_decref(l->limits[i].ceilings);
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < POLICY_NLAYERS; i++)
		layer_free(&p->l[i]);
	free(p);
}

int
policy_parse(const char *ent, size_t ent_len, const char *ent_name,
    const char *user, size_t user_len, const char *user_name,
    struct policy **ret, char err[WRIT_ERRLEN])
{
	struct policy *p = calloc(1, sizeof(*p));
	struct ctx c = { .err = err };
	int e;

	if (p == NULL)
		return WRIT_ENOMEM;
	c.name = ent_name;
	if ((e = parse_layer(&c, ent, ent_len, POLICY_ENTERPRISE, &p->l[POLICY_ENTERPRISE])) < 0)
		goto fail;
	c.name = user_name;
	if ((e = parse_layer(&c, user, user_len, POLICY_USER, &p->l[POLICY_USER])) < 0)
		goto fail;
	/* NB. refused, not ignored: the user should learn their rules are void. */
	if (!p->l[POLICY_ENTERPRISE].user_allow && p->l[POLICY_USER].nrules[ALLOW] > 0) {
		e = bad(&c, "allow", "the enterprise policy forbids allow rules in the "
		    "user policy (\"user_allow\": false)");
		goto fail;
	}
	*ret = p;
	return 0;
 fail:
	policy_free(p);
	return e;
}

/* Read path if it exists, checking who may have written it. */
static int
read_policy(const char *path, bool enterprise, char **ret, size_t *ret_len,
    char err[WRIT_ERRLEN])
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	*ret = NULL;
	*ret_len = 0;
	if (path == NULL)
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		return WRIT_EINTERNAL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, WRIT_ERRLEN, "%s: not a regular file", path);
		goto fail;
	}
	/* As doas does: a policy others could have written is no policy. */
	if ((st.st_mode & 022) != 0 || (enterprise ? st.st_uid != 0 :
	    (st.st_uid != 0 && st.st_uid != geteuid()))) {
		snprintf(err, WRIT_ERRLEN, "%s: must be owned by %s and not writable by "
		    "group or others (it is owner %u, mode %04o)", path,
		    enterprise ? "root" : "you (or root)", (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size > WRIT_MAX_POLICY) {
		snprintf(err, WRIT_ERRLEN, "%s: larger than %d bytes", path, WRIT_MAX_POLICY);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto fail;
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		snprintf(err, WRIT_ERRLEN, "%s: short read", path);
		goto fail;
	}
	close(fd);
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
 fail:
	free(buf);
	close(fd);
	return WRIT_EFORBIDDEN;
}

int
policy_load(const char *ent_path, const char *user_path, struct policy **ret,
    char err[WRIT_ERRLEN])
{
	char *ent = NULL, *user = NULL;
	size_t ent_len, user_len;
	int e;

	if ((e = read_policy(ent_path, true, &ent, &ent_len, err)) < 0 ||
	    (e = read_policy(user_path, false, &user, &user_len, err)) < 0)
		goto out;
	e = policy_parse(ent, ent_len, ent_path, user, user_len, user_path, ret, err);
 out:
	free(ent);
	free(user);
	return e;
}

/* --- matching --- */

/*
 * Does deny or confirm glob g name the host of v (one trailing dot
 * dropped)?  So a deny on "prod.example.com" also catches
 * "https://prod.example.com", "prod.example.com:443", "x@prod.example.com"
 * and "prod.example.com." -- the same host, which an allow rule or a limit
 * may well admit in that spelling.
 */
static bool
host_touched(const char *g, const char *v)
{
	size_t hs, he;

	policy_host_span(v, &hs, &he);
	if (he > hs && v[he - 1] == '.')
		he--;
	return he > hs && glob_n(g, v + hs, v + he, true);
}

/*
 * Does glob g name request value v, a value at key (NULL: a key no kind
 * describes)?  The two directions differ, so that each errs its own way:
 *
 * TOUCH (deny, confirm) matches more: '*' crosses everything, ASCII case
 * is ignored, at a key of hosts the value's host alone also counts, a
 * domain ".example.com" matches any value that mentions example.com, and
 * a level covers every higher one ("write" touches "admin").
 *
 * WITHIN (allow, limits) admits less: exact case (but for levels, which
 * are the kind's fixed names), '*' and '?' never stand for a separator
 * (GLOB_SEPS; only "**" crosses them), ".example.com" is example.com and
 * its subdomains, and a level admits every lower one.
 */
static bool
names(const struct kind_key *key, const char *g, const char *v, enum match_mode m)
{
	if (key != NULL && key->levels != NULL) {
		int at = grammar_level(key, v);

		if (m == TOUCH) {
			/* NB. a value that is no level is taken as the highest: a deny errs wide. */
			if (at < 0 && policy_glob(g, v, true))
				return true;
			for (int i = 0; key->levels[i] != NULL && (at < 0 || i <= at); i++)
				if (policy_glob(g, key->levels[i], true))
					return true;
			return false;
		}
		if (at < 0)
			return false;
		/*
		 * NB. a level's case means nothing (the parser takes "WRITE" as
		 * write), and a level has no separators: a plain glob, case ignored.
		 */
		for (int i = at; key->levels[i] != NULL; i++)
			if (policy_glob(g, key->levels[i], true))
				return true;
		return false;
	}
	if (g[0] == '.' && key != NULL && (key->flags & KIND_KEY_HOST))
		return m == TOUCH ? strcasestr(v, g + 1) != NULL : policy_domain_within(g + 1, v);
	if (m == TOUCH)
		return policy_glob(g, v, true) ||
		    (key != NULL && (key->flags & KIND_KEY_HOST) && host_touched(g, v));
	return policy_glob_within(g, v, key != NULL && (key->flags & KIND_KEY_HOST));
}

/* Does request value v touch pattern pv (globs; any part matching is enough)? */
static bool
touches(const struct kind_key *key, const json_t *pv, const json_t *v)
{
	size_t i;
	json_t *x;

	if (json_is_array(pv)) {
		json_array_foreach(pv, i, x)
			if (touches(key, x, v))
				return true;
		return false;
	}
	if (json_is_object(pv)) {
		const char *k;

		/* Any named sub-key touched: "any named permission at that level". */
		if (!json_is_object(v))
			return false;
		json_object_foreach((json_t *)pv, k, x)
			if (json_object_get(v, k) != NULL && touches(key, x, json_object_get(v, k)))
				return true;
		return false;
	}
	if (json_is_object(v)) {
		const char *k;

		/* A glob for the whole object ("permissions": "write"): any name's value. */
		json_object_foreach((json_t *)v, k, x)
			if (touches(key, pv, x))
				return true;
		return false;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (touches(key, pv, x))
				return true;
		return false;
	}
	return json_is_string(v) && names(key, json_string_value(pv), json_string_value(v), TOUCH);
}

/* Is every part of request value v covered by pattern pv? */
static bool
within(const struct kind_key *key, const json_t *pv, const json_t *v)
{
	size_t i;
	json_t *x;

	if (json_is_object(v)) {
		const char *k;

		if (json_object_size(v) == 0)
			return false;
		json_object_foreach((json_t *)v, k, x) {
			/*
			 * A glob for the whole object ("permissions": "read") covers
			 * every name's value; an object only the names it lists.
			 */
			const json_t *p = json_is_object(pv) ? json_object_get(pv, k) : pv;

			if (p == NULL || !within(key, p, x))
				return false;
		}
		return true;
	}
	if (json_is_array(v)) {
		/* NB. an empty set grants nothing (KIND_KEY_SET); else empty is no value. */
		if (json_array_size(v) == 0)
			return key != NULL && (key->flags & KIND_KEY_SET);
		json_array_foreach(v, i, x)
			if (!within(key, pv, x))
				return false;
		return true;
	}
	if (!json_is_string(v))
		return false;
	if (json_is_array(pv)) {
		json_array_foreach(pv, i, x)
			if (json_is_string(x) &&
			    names(key, json_string_value(x), json_string_value(v), WITHIN))
				return true;
		return false;
	}
	return json_is_string(pv) &&
	    names(key, json_string_value(pv), json_string_value(v), WITHIN);
}

/* Is request scope v within pattern pv, key by key (each key's own rules)? */
static bool
scope_within(const struct kind_grammar *k, const json_t *pv, const json_t *v)
{
	const char *key;
	json_t *x;

	if (!json_is_object(pv) || !json_is_object(v) || json_object_size(v) == 0)
		return false;
	json_object_foreach((json_t *)v, key, x) {
		const struct kind_key *kk = grammar_key(k, key);

		/*
		 * A key the rule leaves out admits only what grants nothing more:
		 * a key policy does not see (kind.h), one that only narrows, an
		 * empty set.  Any other must be named, and within.
		 */
		if (json_object_get(pv, key) == NULL) {
			if (kk == NULL || (kk->flags & KIND_KEY_NARROWS) ||
			    ((kk->flags & KIND_KEY_SET) && json_is_array(x) &&
			    json_array_size(x) == 0))
				continue;
			return false;
		}
		if (!within(kk, json_object_get(pv, key), x))
			return false;
	}
	return true;
}

/*
 * Does claim value v match glob g?  Deny and confirm: wide, case ignored.
 * Allow: it must stay within g, as a scope value does.  NB. a '*' that
 * crossed '@' or ':' would let a job on a branch named
 * "x.yml@refs/heads/main" -- a valid ref anyone who may push can make --
 * pass a workflow_ref glob meant for any workflow file on main.
 */
static bool
claim_matches(const char *g, const char *v, enum match_mode m)
{
	return m == TOUCH ? policy_glob(g, v, true) : policy_glob_within(g, v, false);
}

/* Does every claim the rule names match the session's verified ones? */
static bool
claims_match(const json_t *rc, const json_t *claims, enum match_mode m)
{
	const char *k;
	json_t *pv;

	/* NB. no verified identity, no match: a claims rule is never a wildcard. */
	if (claims == NULL)
		return false;
	json_object_foreach((json_t *)rc, k, pv) {
		const char *v = json_string_value(json_object_get(claims, k));
		bool hit = false;
		size_t i;
		json_t *g;

		if (v == NULL)
			return false;
		if (json_is_string(pv))
			hit = claim_matches(json_string_value(pv), v, m);
		else
			json_array_foreach(pv, i, g)
				hit = hit || claim_matches(json_string_value(g), v, m);
		if (!hit)
			return false;
	}
	return true;
}

/*
 * The value claim name stands for at key (and sub, for a nested one) of
 * q's scope: the claim put there, the whole scope canonicalized by the
 * kind, and the value read back -- so "Acme/Widgets.git" is "acme/widgets"
 * as the request's own scope would be.  NULL when the claim is absent or
 * the kind refuses it ("../x", "*"), or the result is not one plain value.
 */
static json_t *
claim_value(const struct kind_grammar *k, const struct policy_request *q, const char *name,
    const char *key, const char *sub)
{
	json_t *v = json_object_get(q->claims, name), *probe, *canon = NULL, *cv, *out = NULL;
	char err[WRIT_ERRLEN];

	if (!json_is_string(v) || (probe = json_deep_copy(q->scope)) == NULL)
		return NULL;
	if (sub == NULL)
		json_object_set(probe, key, v);
	else {
		if (!json_is_object(json_object_get(probe, key)))
			json_object_set_new(probe, key, json_object());
		json_object_set(json_object_get(probe, key), sub, v);
	}
	if (k->canonicalize(probe, &canon, err) == 0) {
		cv = json_object_get(canon, key);
		if (sub != NULL)
			cv = json_object_get(cv, sub);
		if (json_is_array(cv) && json_array_size(cv) == 1)
			cv = json_array_get(cv, 0);
		/*
		 * NB. it becomes a pattern: a value with glob characters, or a
		 * leading '.' (a domain and its subdomains), must not act as one.
		 */
		if (json_is_string(cv) && strpbrk(json_string_value(cv), "*?") == NULL &&
		    json_string_value(cv)[0] != '.')
			out = json_string(json_string_value(cv));
	}
	json_decref(canon);
	json_decref(probe);
	return out;
}

/* v (a scope pattern's value at key/sub) with its claim references filled in, in place. */
static bool
fill_globs(const struct kind_grammar *k, const struct policy_request *q, json_t *v,
    const char *key, const char *sub, json_t *parent, const char *at)
{
	char name[64];
	json_t *x, *val;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (json_is_string(x) && claim_ref(json_string_value(x), name)) {
				if ((val = claim_value(k, q, name, key, sub)) == NULL)
					return false;
				json_array_set_new(v, i, val);
			}
		return true;
	}
	if (!json_is_string(v) || !claim_ref(json_string_value(v), name))
		return true;
	if ((val = claim_value(k, q, name, key, sub)) == NULL)
		return false;
	json_object_set_new(parent, at, val);
	return true;
}

/*
 * An allow rule's scope for q: its own, or with every "${claims.NAME}"
 * filled in from q's claims.  NULL when one cannot be (the rule then does
 * not match).  A new reference.
 */
static json_t *
rule_scope(const struct rule *r, const struct policy_request *q)
{
	const char *key, *sub;
	json_t *out, *v, *v2;

	if (!r->subst)
		return json_incref(r->scope);
	if (q->claims == NULL || (out = json_deep_copy(r->scope)) == NULL)
		return NULL;
	json_object_foreach(out, key, v) {
		bool ok = true;

		if (json_is_object(v))
			json_object_foreach(v, sub, v2)
				ok = ok && fill_globs(r->kind, q, v2, key, sub, v, sub);
		else
			ok = fill_globs(r->kind, q, v, key, NULL, out, key);
		if (!ok) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static bool
rule_matches(const struct rule *r, const struct policy_request *q, enum match_mode m)
{
	const struct kind_grammar *qk = grammar_find(q->kind);
	bool icase = m == TOUCH;

	if (r->kind != NULL && strcmp(r->kind->name, q->kind) != 0)
		return false;
	if (r->session != NULL && !policy_glob(r->session, q->session, icase))
		return false;
	if (r->workspace != NULL && (q->workspace == NULL ||
	    !policy_glob(r->workspace, q->workspace, false)))
		return false;
	if (r->exe != NULL && !policy_glob(r->exe, q->exe, false))
		return false;
	if (r->uid >= 0 && (long long)q->uid != r->uid)
		return false;
	if (r->claims != NULL && !claims_match(r->claims, q->claims, m))
		return false;
	if (m == WITHIN) {
		const char *k;
		json_t *pv, *scope;
		bool ok = true;

		if (r->ttl > 0 && q->ttl > r->ttl)
			return false;
		if ((scope = rule_scope(r, q)) == NULL)
			return false;
		/*
		 * NB. a key the rule restricts must be in the request: a JWT
		 * without a scope claim is not a JWT limited to "read".
		 */
		json_object_foreach(scope, k, pv)
			if (json_object_get(q->scope, k) == NULL)
				ok = false;
		ok = ok && scope_within(qk, scope, q->scope);
		json_decref(scope);
		return ok;
	}
	if (r->ttl > 0 && q->ttl < r->ttl)
		return false;
	if (r->scope != NULL) {
		const char *k;
		json_t *pv, *v;

		/*
		 * Every named key must be touched: repo AND permission.  NB. a
		 * key the kind has but the request leaves out means "no
		 * restriction" (grammar.h), which touches whatever the rule names;
		 * a key the request's kind does not have is never touched.
		 */
		json_object_foreach(r->scope, k, pv) {
			const struct kind_key *key = grammar_key(qk, k);

			if (key == NULL)
				return false;
			if ((v = json_object_get(q->scope, k)) != NULL && !touches(key, pv, v))
				return false;
		}
	}
	return true;
}

static void
decided(struct policy_decision *d, enum policy_verdict v, const char *tier,
    const struct layer *l, const struct rule *r)
{
	d->verdict = v;
	d->tier = tier;
	d->layer = l->label;
	if (r != NULL) {
		snprintf(d->rule, sizeof(d->rule), "%s", r->id);
		snprintf(d->message, sizeof(d->message), "%s", r->why != NULL ? r->why :
		    v == POLICY_DENY ? "denied by policy" : "allowed by policy");
	}
}

static void
fmt_ttl(char *buf, size_t size, int64_t s)
{
	if (s % 3600 == 0)
		snprintf(buf, size, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, size, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, size, "%llds", (long long)s);
}

/* The first ceiling of l that q breaks, written to d; false if none. */
static bool
over_limits(const struct layer *l, const struct policy_request *q,
    struct policy_decision *d)
{
	for (size_t i = 0; i < l->nlimits; i++) {
		const struct kind_limits *kl = &l->limits[i];
		const char *k;
		json_t *pv;

		if (strcmp(kl->kind->name, q->kind) != 0)
			continue;
		if (kl->max_live > 0 && q->live_kind >= kl->max_live) {
			snprintf(d->rule, sizeof(d->rule), "limits.%s.max_live", q->kind);
			snprintf(d->message, sizeof(d->message), "the session already holds %u live "
			    "%s writs, the %s policy's limit (limits.%s.max_live); give one back "
			    "with `writ revoke`", q->live_kind, q->kind, l->label, q->kind);
			return true;
		}
		if (kl->max_ttl > 0 && q->ttl > kl->max_ttl) {
			char lim[32], asked[32];

			fmt_ttl(lim, sizeof(lim), kl->max_ttl);
			fmt_ttl(asked, sizeof(asked), q->ttl);
			snprintf(d->rule, sizeof(d->rule), "limits.%s.max_ttl", q->kind);
			snprintf(d->message, sizeof(d->message), "the %s policy limits %s "
			    "writs to %s (limits.%s.max_ttl); %s was asked for; ask for less",
			    l->label, q->kind, lim, q->kind, asked);
			return true;
		}
		json_object_foreach(kl->ceilings, k, pv) {
			json_t *v = json_object_get(q->scope, k);

			/*
			 * NB. a key left out is no restriction at all (grammar.h), which
			 * no ceiling admits: a JWT without a scope claim is not
			 * within a limit on its scope.
			 */
			if (v == NULL) {
				snprintf(d->rule, sizeof(d->rule), "limits.%s.%s", q->kind, k);
				snprintf(d->message, sizeof(d->message), "the %s policy limits "
				    "the %s of %s writs (limits.%s.%s) and the request leaves it "
				    "out, which would mean no limit at all; name it", l->label, k,
				    q->kind, q->kind, k);
				return true;
			}
			if (within(grammar_key(kl->kind, k), pv, v))
				continue;
			snprintf(d->rule, sizeof(d->rule), "limits.%s.%s", q->kind, k);
			snprintf(d->message, sizeof(d->message), "the %s policy does not "
			    "permit this %s for %s writs (limits.%s.%s)", l->label, k,
			    q->kind, q->kind, k);
			return true;
		}
	}
	if (l->max_live > 0 && q->live >= l->max_live) {
		snprintf(d->rule, sizeof(d->rule), "limits.session.max_live");
		snprintf(d->message, sizeof(d->message), "the session already holds %u "
		    "live writs, the %s policy's limit (limits.session.max_live); "
		    "give one back with `writ revoke`", q->live, l->label);
		return true;
	}
	return false;
}

void
policy_decide(const struct policy *p, const struct policy_request *q,
    struct policy_decision *d)
{
	const struct layer *ent = &p->l[POLICY_ENTERPRISE];

	memset(d, 0, sizeof(*d));
	/* 1. deny: either layer, enterprise first; final. */
	for (int i = 0; i < POLICY_NLAYERS; i++)
		for (size_t k = 0; k < p->l[i].nrules[DENY]; k++)
			if (rule_matches(&p->l[i].rules[DENY][k], q, TOUCH)) {
				decided(d, POLICY_DENY, "deny", &p->l[i], &p->l[i].rules[DENY][k]);
				return;
			}
	/* 2. limits: every layer's apply. */
	for (int i = 0; i < POLICY_NLAYERS; i++)
		if (over_limits(&p->l[i], q, d)) {
			d->verdict = POLICY_DENY;
			d->tier = "limits";
			d->layer = p->l[i].label;
			return;
		}
	/* 3. allow. */
	for (int i = 0; i < POLICY_NLAYERS; i++) {
		if (i == POLICY_USER && !ent->user_allow)
			continue;
		for (size_t k = 0; k < p->l[i].nrules[ALLOW]; k++)
			if (rule_matches(&p->l[i].rules[ALLOW][k], q, WITHIN)) {
				decided(d, POLICY_ALLOW, "allow", &p->l[i], &p->l[i].rules[ALLOW][k]);
				return;
			}
	}
	/* 4. default. */
	for (int i = 0; i < POLICY_NLAYERS; i++)
		if (p->l[i].default_deny) {
			d->verdict = POLICY_DENY;
			d->tier = "default";
			d->layer = p->l[i].label;
			snprintf(d->rule, sizeof(d->rule), "default");
			snprintf(d->message, sizeof(d->message), "no allow rule covers this "
			    "request and the %s policy denies by default", p->l[i].label);
			return;
		}
	d->verdict = POLICY_ASK;
	d->tier = "default";
	d->layer = "built-in";
	snprintf(d->rule, sizeof(d->rule), "default");
	snprintf(d->message, sizeof(d->message), "no rule decides this request: a "
	    "person must approve it");
	for (int i = 0; i < POLICY_NLAYERS; i++)
		for (size_t k = 0; k < p->l[i].nrules[CONFIRM]; k++) {
			const struct rule *r = &p->l[i].rules[CONFIRM][k];

			if (r->typed && rule_matches(r, q, TOUCH)) {
				d->typed = true;
				snprintf(d->confirm_rule, sizeof(d->confirm_rule), "%s", r->id);
				return;
			}
		}
}

unsigned int
policy_max_pending(const struct policy *p)
{
	unsigned int m = 0;

	for (int i = 0; i < POLICY_NLAYERS; i++)
		if (p->l[i].max_pending > 0 && (m == 0 || p->l[i].max_pending < m))
			m = p->l[i].max_pending;
	return m;
}

bool
policy_user_allow(const struct policy *p)
{
	return p->l[POLICY_ENTERPRISE].user_allow;
}

json_t *
policy_decision_json(const struct policy_decision *d)
{
	static const char *const names[] = { "ask", "allow", "deny" };
	json_t *j = json_pack("{ssssssssss}", "decision", names[d->verdict],
	    "tier", d->tier, "layer", d->layer, "rule", d->rule, "message", d->message);

	if (j != NULL && d->typed)
		json_object_set_new(j, "confirm", json_pack("{ssss}", "mode", "typed",
		    "rule", d->confirm_rule));
	return j;
}

/* --- lint: valid, but admits more than it seems to --- */

struct lint {
	void (*warn)(void *arg, enum policy_layer_id layer, const char *msg);
	void *arg;
	enum policy_layer_id layer;
	size_t n;
};

static void __attribute__((format(printf, 2, 3)))
lint_say(struct lint *L, const char *fmt, ...)
{
	char msg[WRIT_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->warn(L->arg, L->layer, msg);
	L->n++;
}

/* A glob that is nothing but wildcards, or absent: it narrows nothing. */
static bool
all_wild(const char *g)
{
	return g == NULL || strspn(g, "*?") == strlen(g);
}

/* One pattern of an allow rule or a limit, at where, for key. */
static void
lint_glob(struct lint *L, const char *where, const struct kind_key *key, const char *g)
{
	char q[52], plain[WRIT_MAX_GLOB + 1];
	size_t hs, he, hl;
	const char *h;

	if (strchr(g, '$') != NULL || g[0] == '.')
		return;		/* a claim reference; a domain */
	sjson_quote(q, g);
	if (all_wild(g)) {
		lint_say(L, "%s: \"%s\" admits every value; name what is meant", where, q);
		return;
	}
	if (strstr(g, "**") != NULL)
		lint_say(L, "%s: \"%s\": '**' also stands for '/', '@', ':' and '?', so it "
		    "admits other hosts, users and paths; use '*'", where, q);
	if (key == NULL || !(key->flags & KIND_KEY_HOST) || key->levels != NULL)
		return;
	/* The host: after "scheme://" and "user@", before ":port", "/path" or "?query". */
	/* NB. in a pattern '?' is a wildcard, not a query: span it as a letter. */
	snprintf(plain, sizeof(plain), "%s", g);
	for (char *c = plain; (c = strchr(c, '?')) != NULL; c++)
		*c = 'x';
	policy_host_span(plain, &hs, &he);
	h = g + hs;
	hl = he - hs;
	if (hl > 0 && (h[hl - 1] == '*' || h[hl - 1] == '?'))
		lint_say(L, "%s: \"%s\": a wildcard ending a host matches other hosts too "
		    "(\"localhost*\" matches \"localhost-attacker\", \"api.example.*\" "
		    "matches \"api.example.xyz\", which anyone may register); name the "
		    "hosts, and ports as \"localhost:*\"", where, q);
	for (size_t i = 0; i + 1 < hl; i++)
		if (h[i] == '*' && h[i + 1] != '.' && h[i + 1] != '*') {
			lint_say(L, "%s: \"%s\": a '*' running into a name matches longer names "
			    "(\"*example.com\" matches \"evil-example.com\"); use \".example.com\" "
			    "for a domain and its subdomains", where, q);
			break;
		}
}

/* A glob or an array of them. */
static void
lint_globs(struct lint *L, const char *where, const struct kind_key *key, const json_t *v)
{
	size_t i;
	json_t *g;

	if (json_is_string(v))
		lint_glob(L, where, key, json_string_value(v));
	json_array_foreach(v, i, g)
		lint_glob(L, where, key, json_string_value(g));
}

/* Every pattern of a scope pattern (rule scope or ceilings) of kind k. */
static void
lint_scope(struct lint *L, const char *where, const struct kind_grammar *k, const json_t *scope)
{
	const char *key, *sub;
	json_t *v, *v2;

	json_object_foreach((json_t *)scope, key, v) {
		const struct kind_key *kk = scope_key(k, key);
		char at[160];

		if (!json_is_object(v)) {
			snprintf(at, sizeof(at), "%s.%s", where, key);
			lint_globs(L, at, kk, v);
			continue;
		}
		json_object_foreach(v, sub, v2) {
			snprintf(at, sizeof(at), "%s.%s.%s", where, key, sub);
			lint_globs(L, at, kk, v2);
		}
	}
}

size_t
policy_lint(const struct policy *p,
    void (*warn)(void *arg, enum policy_layer_id layer, const char *msg), void *arg)
{
	struct lint L = { .warn = warn, .arg = arg };

	for (int i = 0; i < POLICY_NLAYERS; i++) {
		const struct layer *l = &p->l[i];

		L.layer = (enum policy_layer_id)i;
		for (size_t k = 0; k < l->nrules[ALLOW]; k++) {
			const struct rule *r = &l->rules[ALLOW][k];
			char where[112];

			snprintf(where, sizeof(where), "%s%s%s%s", r->where,
			    strcmp(r->id, r->where) != 0 ? " (" : "",
			    strcmp(r->id, r->where) != 0 ? r->id : "",
			    strcmp(r->id, r->where) != 0 ? ")" : "");
			/*
			 * NB. exe names the program the kernel says the caller runs:
			 * LD_PRELOAD into it, or a binary mounted over its path in the
			 * caller's own mount namespace, runs anything under that name.
			 * A workspace of nothing but '/' and wildcards is every workspace.
			 */
			if (r->exe != NULL && all_wild(r->session) && (r->workspace == NULL ||
			    strspn(r->workspace, "*?/") == strlen(r->workspace)) &&
			    r->uid < 0 && r->claims == NULL)
				lint_say(&L, "%s: relies on 'exe' alone, and exe is not "
				    "authentication (LD_PRELOAD into that program, or a binary "
				    "mounted over its path in the caller's mount namespace, "
				    "satisfies it); narrow it with session, workspace or uid", where);
			snprintf(where + strlen(where), sizeof(where) - strlen(where), ".scope");
			lint_scope(&L, where, r->kind, r->scope);
		}
		for (size_t k = 0; k < l->nlimits; k++) {
			char where[64];

			snprintf(where, sizeof(where), "limits.%s", l->limits[k].kind->name);
			lint_scope(&L, where, l->limits[k].kind, l->limits[k].ceilings);
		}
	}
	return L.n;
}
