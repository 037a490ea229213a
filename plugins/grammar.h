/*
 * grammar.h - a kind's scope grammar: the keys a scope may have and how it
 * is canonicalized.
 *
 * This is all of a kind that the policy engine, writctl and the fuzzers
 * need, and all they link: a grammar is pure (jansson and libc), holds no
 * key and touches no network, store or state.  Each kind keeps its grammar
 * in a file of its own (plugins/<kind>/scope.c) apart from its minting
 * code, and its struct writ_kind (kind.h) points to it.  The grammars are
 * listed in kind_grammars[] (grammar.c), in the order of writ_kinds[].
 */
#ifndef WRIT_GRAMMAR_H
#define WRIT_GRAMMAR_H

#include <stddef.h>
#include <jansson.h>

#include "errors.h"

/* kind_key.flags: the key's values name hosts or URLs ("api.example.com"). */
#define KIND_KEY_HOST 0x1
/*
 * kind_key.flags: the key's value is an object of names to values
 * ("permissions": {"contents": "write"}).  Only such a key takes sub-keys
 * in a policy; a plain glob there stands for every name's value.
 */
#define KIND_KEY_NAMES 0x2
/*
 * kind_key.flags: the key's values are free text (a command line), so a
 * policy glob there may hold any printable ASCII, spaces included.
 */
#define KIND_KEY_TEXT 0x4
/*
 * kind_key.flags: a value only narrows what the writ grants (an SSH
 * certificate's force-command), so an allow rule that does not name the
 * key admits any value, as it admits the request without it.
 */
#define KIND_KEY_NARROWS 0x8
/*
 * kind_key.flags: the value is a set of grants the kind always fills in,
 * [] when none are asked (sshcert's extensions).  An empty set is within
 * every limit and allow rule, also one that does not name the key; a deny
 * naming the key touches only what is in the set.
 */
#define KIND_KEY_SET 0x10

/*
 * One key a canonical scope may have, and how policy compares its values.
 *
 * NB. a key absent from a canonical scope means "no restriction" to the
 * policy engine: a deny or confirm rule naming it matches, an allow rule
 * or a limit naming it does not admit the request.  A kind whose key,
 * left out, means something narrower fills that in when it canonicalizes
 * (github: "permissions" becomes {"contents": "read"}), so what policy
 * sees is what the token will carry.  A key of a canonical scope that is
 * not among the kind's scope_keys is not seen by policy at all (sshcert's
 * public_key: who holds the certificate, not what it grants); the person
 * approving sees it.
 */
struct kind_key {
	const char *name;		/* "permissions" */
	/*
	 * The values as ordered levels, lowest first, NULL-terminated
	 * ("read", "write", "admin"); for a key whose value is an object
	 * of names ("permissions": {"contents": "write"}), each name's
	 * value.  A deny or confirm rule naming a level covers it and every
	 * higher one; a limit or an allow rule naming a level admits it and
	 * every lower one.  NULL: plain values, compared as globs.
	 */
	const char *const *levels;
	unsigned int flags;		/* KIND_KEY_* */
};

/* Most kinds writd is built with (tables indexed like kind_grammars[]). */
#define WRIT_MAX_KINDS 8

/* A kind's name ("jwt", "github", "sshcert") is shorter than this, in bytes. */
#define WRIT_KIND_NAME_MAX 32

struct kind_grammar {
	const char *name;	/* "jwt": the kind's name, the "kind" of a request */

	/*
	 * The keys a canonical scope may have, ending with one whose name is
	 * NULL.  Policy files are checked against them, so a misspelt key in
	 * a deny rule is an error rather than a rule that silently never
	 * matches; policy compares each key's values as it says.
	 */
	const struct kind_key *scope_keys;

	/*
	 * Check an untrusted scope and return it in canonical form (a new
	 * reference), so that two requests for the same thing compare equal
	 * and policy never sees an alias.  Must reject "..", empty segments,
	 * wildcards, control characters and non-ASCII; must be idempotent.
	 * Pure: no lock, no state, no secret; may run concurrently.
	 * Returns 0 or WRIT_ESCOPE with a message.
	 */
	int (*canonicalize)(const json_t *scope, json_t **ret_scope,
	    char err[WRIT_ERRLEN]);
};

/* Every built-in kind's grammar, NULL-terminated. */
extern const struct kind_grammar *const kind_grammars[];

/* The grammar of the kind called name, or NULL. */
const struct kind_grammar *grammar_find(const char *name);
/* The index of g in kind_grammars[] (and of its kind in writ_kinds[]). */
size_t grammar_index(const struct kind_grammar *g);

/* g's scope key called name, or NULL (g NULL: NULL). */
const struct kind_key *grammar_key(const struct kind_grammar *g, const char *name);

/* The rank of value among key's levels (0 the lowest), or -1: not a level. */
int grammar_level(const struct kind_key *key, const char *value);

/*
 * True when s is a safe scope value: 1..max printable ASCII characters from
 * [A-Za-z0-9._:/@+-], no "..", no empty path segment, no wildcard.  Shared
 * by kinds so that every one refuses the same tricks.
 */
int grammar_plain_value(const char *s, size_t max);

#endif
