/*
 * order.h - a MINT order, checked as if a compromised front end sent it.
 *
 * Pure (the kinds' grammars, the policy engine, the config): the minter
 * calls it on every order, and the unit tests and the request table's
 * fuzzer drive it alone.
 */
#ifndef WRIT_ORDER_H
#define WRIT_ORDER_H

#include "../../plugins/kind.h"
#include "../../policy/policy.h"
#include "../config.h"
#include "minter.h"

/*
 * Check o: its kind exists; its scope is an object the kind's grammar
 * canonicalizes to exactly itself; its ttl is within 1..the kind's
 * max_ttl (cfg); the enterprise layer (limits, a policy of that layer
 * alone, or NULL: none) neither denies nor limits it, decided on what o
 * says (with "user_allow" false, its default deny refuses too, and its
 * "ask" needs o's approval); its ids, name and numbers are well formed.
 * Returns 0 with the kind and a canonical copy of the scope (the
 * caller's), or a WRIT_E* code with a message (and the kind, once it is
 * known).
 */
int order_check(const struct mint_order *o, const struct config *cfg,
    const struct policy *limits, const struct writ_kind **ret_kind, json_t **ret_scope,
    char err[WRIT_ERRLEN]);

#endif
