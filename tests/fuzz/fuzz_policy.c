/*
 * fuzz_policy.c - libFuzzer harness for the policy parser and decider.
 *
 * Input: ENTERPRISE '\0' USER '\0' REQUEST, each part optional (a missing
 * layer is absent; a missing or unusable request is a default jwt one).
 * The request is JSON: {"kind", "scope" (canonicalized by the kind, as
 * writd does), "ttl", "session", "workspace", "exe", "uid", "live",
 * "live_kind"}.  Seeds in tests/fuzz/corpus/policy/ are valid triples, so
 * mutations reach policy_decide.  Properties of every decision:
 *
 *   - a deny rule that names the request's own kind and canonical scope,
 *     added to either layer, makes the decision "deny" whatever else the
 *     policy says (a request touching a deny rule is never allowed) --
 *     in the enterprise layer with every value upper-cased, since deny
 *     globs compare ignoring ASCII case;
 *   - a limit on a scope key the kind has but the request leaves out (a
 *     key left out is no restriction at all), even one that admits any
 *     value ("**"), makes the decision "deny" (issue 14);
 *   - reversing every rule list (deny, allow, confirm) of both layers
 *     changes neither whether the policy parses nor the verdict, tier and
 *     typed flag (the decision does not depend on rule order);
 *   - error messages are always terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "sjson.h"
#include "../../plugins/grammar.h"
#include "../../policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A short printable ASCII string from req[key], else def. */
static const char *
str_or(const json_t *req, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(req, key));
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return def;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return def;
	return s;
}

static long long
int_or(const json_t *req, const char *key, long long lo, long long hi, long long def)
{
	const json_t *v = json_object_get(req, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return def;
	return json_integer_value(v);
}

/* Parse the two layers; text NULL: no such layer.  0 or a code. */
static int
parse2(const char *ent, size_t ent_len, const char *user, size_t user_len, struct policy **p)
{
	char err[WRIT_ERRLEN];
	int r;

	memset(err, 'x', sizeof(err));
	r = policy_parse(ent, ent_len, "ent", user, user_len, "user", p, err);
	if (r != 0 && memchr(err, '\0', sizeof(err)) == NULL)
		__builtin_trap();	/* messages are always terminated */
	return r;
}

/* The layer's text as JSON with f applied; NULL text: "{}". Caller frees. */
static char *
rewrite(const char *text, size_t len, void (*f)(json_t *, void *), void *arg)
{
	json_t *o = text != NULL ? json_loadb(text, len, 0, NULL) : json_object();
	char *out;

	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	f(o, arg);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/* A copy of v with every string value (not object key) upper-cased. */
static json_t *
upper(const json_t *v)
{
	json_t *out, *x;
	const char *k;
	size_t i;

	if (json_is_string(v)) {
		char *t = strdup(json_string_value(v));

		for (char *c = t; *c != '\0'; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		out = json_string(t);
		free(t);
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, x)
			json_array_append_new(out, upper(x));
		return out;
	}
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach((json_t *)v, k, x)
			json_object_set_new(out, k, upper(x));
		return out;
	}
	return json_incref((json_t *)v);
}

static void
add_deny(json_t *o, void *rule)
{
	json_t *deny = json_object_get(o, "deny");

	if (deny == NULL)
		json_object_set_new(o, "deny", deny = json_array());
	/* First, so that rule order is not what makes it win. */
	json_array_insert(deny, 0, rule);
}

/* limits.KIND.KEY = "**" for the kind and key in arg ({"kind", "key"}). */
static void
add_limit(json_t *o, void *arg)
{
	const char *kind = json_string_value(json_object_get(arg, "kind"));
	const char *key = json_string_value(json_object_get(arg, "key"));
	json_t *lim = json_object_get(o, "limits"), *kl;

	if (!json_is_object(lim))
		json_object_set_new(o, "limits", lim = json_object());
	if (!json_is_object(kl = json_object_get(lim, kind)))
		json_object_set_new(lim, kind, kl = json_object());
	json_object_set_new(kl, key, json_string("**"));
}

static void
reverse_lists(json_t *o, void *unused)
{
	static const char *const sets[] = { "deny", "allow", "confirm" };

	(void)unused;
	for (size_t s = 0; s < 3; s++) {
		json_t *a = json_object_get(o, sets[s]), *r;
		size_t n = json_array_size(a);

		if (!json_is_array(a))
			continue;
		r = json_array();
		for (size_t i = n; i > 0; i--)
			json_array_append(r, json_array_get(a, i - 1));
		json_object_set_new(o, sets[s], r);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[3] = { NULL, NULL, NULL };
	size_t len[3] = { 0, 0, 0 }, np = 0, start = 0;
	struct policy *p = NULL, *p2 = NULL;
	json_t *rq = NULL, *scope = NULL, *canon = NULL;
	const struct kind_grammar *kind;
	struct policy_decision d, d2;
	char err[WRIT_ERRLEN];

	/* Split at the first two NUL bytes: JSON text never holds a raw one. */
	for (size_t i = 0; i < size && np < 2; i++)
		if (data[i] == '\0') {
			part[np] = (const char *)data + start;
			len[np++] = i - start;
			start = i + 1;
		}
	part[np] = (const char *)data + start;
	len[np] = size - start;
	/* An empty layer is an absent one. */
	for (int i = 0; i < 2; i++)
		if (len[i] == 0)
			part[i] = NULL;
	if (parse2(part[0], len[0], part[1], len[1], &p) != 0)
		return 0;

	/* The request, canonicalized as writd does; else a default one. */
	rq = np == 2 ? json_loadb(part[2], len[2], 0, NULL) : NULL;
	kind = grammar_find(str_or(rq, "kind", "jwt"));
	if (kind == NULL || kind->canonicalize(json_object_get(rq, "scope"), &canon, err) != 0) {
		kind = grammar_find("jwt");
		scope = json_pack("{ss}", "aud", "api.example.com");
		if (kind->canonicalize(scope, &canon, err) != 0)
			__builtin_trap();
		json_decref(scope);
	}
	{
		struct policy_request q = { .kind = kind->name, .scope = canon,
		    .ttl = int_or(rq, "ttl", 1, 7 * 86400, 300),
		    .session = str_or(rq, "session", "s"),
		    .workspace = str_or(rq, "workspace", NULL),
		    .uid = (uid_t)int_or(rq, "uid", 0, 65535, 1000),
		    .exe = str_or(rq, "exe", "/bin/x"),
		    .live = (unsigned int)int_or(rq, "live", 0, 1000, 0),
		    .live_kind = (unsigned int)int_or(rq, "live_kind", 0, 1000, 0) };
		json_t *rule = json_pack("{sssssO}", "id", "fuzz-added-deny", "kind", kind->name,
		    "scope", canon);
		json_t *urule = json_pack("{ssssso}", "id", "fuzz-added-deny", "kind", kind->name,
		    "scope", upper(canon));
		char *e, *u;

		if (rule == NULL || urule == NULL)
			__builtin_trap();	/* the harness itself is wrong */
		policy_decide(p, &q, &d);
		json_decref(policy_decision_json(&d));

		/* A deny naming the request itself, in either layer: always deny. */
		for (int layer = 0; layer < 2; layer++) {
			e = layer == 0 ? rewrite(part[0], len[0], add_deny, urule) : NULL;
			u = layer == 1 ? rewrite(part[1], len[1], add_deny, rule) : NULL;
			if ((layer == 0 ? e : u) != NULL &&
			    parse2(layer == 0 ? e : part[0], layer == 0 ? strlen(e) : len[0],
			    layer == 1 ? u : part[1], layer == 1 ? strlen(u) : len[1], &p2) == 0) {
				policy_decide(p2, &q, &d2);
				if (d2.verdict != POLICY_DENY || strcmp(d2.tier, "deny") != 0)
					__builtin_trap();	/* touched a deny, not denied */
				policy_free(p2);
				p2 = NULL;
			}
			free(e);
			free(u);
		}

		/* A limit on a key left out: never within it, so denied. */
		for (const struct kind_key *k = kind->scope_keys; k->name != NULL; k++) {
			json_t *arg;

			if (json_object_get(canon, k->name) != NULL)
				continue;
			arg = json_pack("{ssss}", "kind", kind->name, "key", k->name);
			e = rewrite(part[0], len[0], add_limit, arg);
			if (e != NULL && parse2(e, strlen(e), part[1], len[1], &p2) == 0) {
				policy_decide(p2, &q, &d2);
				if (d2.verdict != POLICY_DENY)
					__builtin_trap();	/* a limit did not hold */
				policy_free(p2);
				p2 = NULL;
			}
			free(e);
			json_decref(arg);
		}

		/* Every rule list reversed: parses alike, decides alike. */
		e = part[0] != NULL ? rewrite(part[0], len[0], reverse_lists, NULL) : NULL;
		u = part[1] != NULL ? rewrite(part[1], len[1], reverse_lists, NULL) : NULL;
		if ((part[0] != NULL && e == NULL) || (part[1] != NULL && u == NULL) ||
		    parse2(e, e ? strlen(e) : 0, u, u ? strlen(u) : 0, &p2) != 0)
			__builtin_trap();	/* rule order decided whether it parses */
		policy_decide(p2, &q, &d2);
		if (d2.verdict != d.verdict || strcmp(d2.tier, d.tier) != 0 || d2.typed != d.typed)
			__builtin_trap();	/* rule order changed the decision */
		policy_free(p2);
		free(e);
		free(u);
		json_decref(rule);
		json_decref(urule);
	}
	json_decref(canon);
	json_decref(rq);
	policy_free(p);
	return 0;
}
