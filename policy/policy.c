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

#include "../broker/duration.h"
#include "../broker/errors.h"
#include "../plugins/kind.h"
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
	const struct writ_kind *kind;	/* NULL: any kind */
	json_t *scope;			/* NULL: any scope (not for allow) */
	char *session, *workspace, *exe; /* globs; NULL: any */
	long long uid;			/* -1: any */
	int64_t ttl;			/* allow: max_ttl; deny, confirm: min_ttl; 0: none */
	bool typed;			/* confirm: "mode": "typed" */
};

struct kind_limits {
	const struct writ_kind *kind;
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

bool
policy_glob(const char *g, const char *v, bool icase)
{
	const char *star = NULL, *resume = NULL;

	/* Classic iterative matcher: on mismatch, let the last '*' eat one more. */
	while (*v != '\0') {
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
#define SESSION_CHARS "._-"
#define PATH_CHARS "._:/@+-~,= "

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

static bool
scope_key_known(const struct writ_kind *k, const char *key)
{
	for (size_t i = 0; writ_kinds[i] != NULL; i++) {
		if (k != NULL && writ_kinds[i] != k)
			continue;
		for (const char *const *s = writ_kinds[i]->scope_keys; s && *s; s++)
			if (strcmp(*s, key) == 0)
				return true;
	}
	return false;
}

/* A glob, or a non-empty array of globs. */
static int
check_globs(struct ctx *c, const json_t *v, const char *path)
{
	size_t i;
	json_t *g;

	if (json_is_string(v))
		return glob_ok(json_string_value(v), SCOPE_CHARS) ? 0 :
		    bad(c, path, "not a glob of [A-Za-z0-9" SCOPE_CHARS "*?]");
	if (!json_is_array(v) || json_array_size(v) == 0)
		return bad(c, path, "must be a glob or a non-empty array of globs");
	json_array_foreach(v, i, g)
		if (!json_is_string(g) || !glob_ok(json_string_value(g), SCOPE_CHARS))
			return bad(c, path, "item %zu is not a glob of [A-Za-z0-9"
			    SCOPE_CHARS "*?]", i);
	return 0;
}

/*
 * A scope pattern: {key: globs | {subkey: globs}}, keys known to the kind
 * (any kind when k is NULL).  Used by rules and by limits' ceilings.
 */
static int
check_scope(struct ctx *c, const json_t *scope, const struct writ_kind *k,
    const char *path)
{
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
		if (!scope_key_known(k, key))
			return bad(c, sub, "no %s%s scope has this key", k ? k->name : "",
			    k ? "" : "known");
		if (!json_is_object(v)) {
			if ((r = check_globs(c, v, sub)) < 0)
				return r;
			continue;
		}
		if (json_object_size(v) == 0)
			return bad(c, sub, "must not be empty");
		json_object_foreach(v, k2, v2) {
			char sub2[256];

			sjson_quote(q, k2);
			snprintf(sub2, sizeof(sub2), "%s.%s", sub, q);
			if (!glob_ok(k2, SCOPE_CHARS) || strpbrk(k2, "*?") != NULL)
				return bad(c, sub2, "not a plain name");
			if ((r = check_globs(c, v2, sub2)) < 0)
				return r;
		}
	}
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
	if (v != NULL && (!json_is_string(v) || (r->kind = kinds_find(json_string_value(v))) == NULL)) {
		sjson_quote(q, json_is_string(v) ? json_string_value(v) : "?");
		return bad(c, path, "unknown kind '%s'", q);
	}
	v = json_object_get(o, "scope");
	if (v != NULL) {
		char sp[64];

		snprintf(sp, sizeof(sp), "%s.scope", path);
		if ((e = check_scope(c, v, r->kind, sp)) < 0)
			return e;
		r->scope = json_incref(v);
	}
	if (set == ALLOW && (r->kind == NULL || r->scope == NULL))
		return bad(c, path, "an allow rule must name its 'kind' and 'scope'");
	if ((e = get_glob(c, o, "session", path, SESSION_CHARS, &r->session)) < 0 ||
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
		if ((kl->kind = kinds_find(key)) == NULL)
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
		if (json_object_size(ceil) > 0 && (e = check_scope(c, ceil, kl->kind, path)) < 0)
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

/* Does request value v touch pattern pv (globs; any part matching is enough)? */
static bool
touches(const json_t *pv, const json_t *v)
{
	size_t i;
	json_t *x;

	if (json_is_array(pv)) {
		json_array_foreach(pv, i, x)
			if (touches(x, v))
				return true;
		return false;
	}
	if (json_is_object(pv)) {
		const char *k;

		/* Any named sub-key touched: "any named permission at that level". */
		if (!json_is_object(v))
			return false;
		json_object_foreach((json_t *)pv, k, x)
			if (json_object_get(v, k) != NULL && touches(x, json_object_get(v, k)))
				return true;
		return false;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (touches(pv, x))
				return true;
		return false;
	}
	return json_is_string(v) &&
	    policy_glob(json_string_value(pv), json_string_value(v), true);
}

/* Is every part of request value v covered by pattern pv? */
static bool
within(const json_t *pv, const json_t *v)
{
	size_t i;
	json_t *x;

	if (json_is_object(v)) {
		const char *k;

		if (!json_is_object(pv) || json_object_size(v) == 0)
			return false;
		json_object_foreach((json_t *)v, k, x)
			if (json_object_get(pv, k) == NULL || !within(json_object_get(pv, k), x))
				return false;
		return true;
	}
	if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			return false;
		json_array_foreach(v, i, x)
			if (!within(pv, x))
				return false;
		return true;
	}
	if (!json_is_string(v))
		return false;
	if (json_is_array(pv)) {
		json_array_foreach(pv, i, x)
			if (json_is_string(x) &&
			    policy_glob(json_string_value(x), json_string_value(v), false))
				return true;
		return false;
	}
	return json_is_string(pv) &&
	    policy_glob(json_string_value(pv), json_string_value(v), false);
}

static bool
rule_matches(const struct rule *r, const struct policy_request *q, enum match_mode m)
{
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
	if (m == WITHIN) {
		const char *k;
		json_t *pv;

		if (r->ttl > 0 && q->ttl > r->ttl)
			return false;
		/*
		 * NB. a key the rule restricts must be in the request: a JWT
		 * without a scope claim is not a JWT limited to "read".
		 */
		json_object_foreach(r->scope, k, pv)
			if (json_object_get(q->scope, k) == NULL)
				return false;
		return within(r->scope, q->scope);
	}
	if (r->ttl > 0 && q->ttl < r->ttl)
		return false;
	if (r->scope != NULL) {
		const char *k;
		json_t *pv;

		/* Every named key must be touched: repo AND permission. */
		json_object_foreach(r->scope, k, pv)
			if (json_object_get(q->scope, k) == NULL ||
			    !touches(pv, json_object_get(q->scope, k)))
				return false;
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

			if (v == NULL || within(pv, v))
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
