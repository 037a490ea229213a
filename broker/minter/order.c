/*
 * order.c - a MINT order, checked again.
 */
#include <stdio.h>
#include <string.h>

#include "order.h"

int
order_check(const struct mint_order *o, const struct config *cfg,
    const struct policy *limits, const struct writ_kind **ret_kind, json_t **ret_scope,
    char err[WRIT_ERRLEN])
{
	const struct policy_request *req = &o->req;
	const struct writ_kind *k = req->kind != NULL ? kinds_find(req->kind) : NULL;
	struct policy_decision d;
	int64_t max_ttl;
	json_t *again = NULL;
	char why[WRIT_ERRLEN];

	if (k == NULL) {
		snprintf(err, WRIT_ERRLEN, "no such kind");
		return WRIT_EKIND;
	}
	*ret_kind = k;
	/* The grammar's reason when it refuses the scope; a scope it takes must come back equal. */
	if (!json_is_object(req->scope)) {
		snprintf(err, WRIT_ERRLEN, "the scope is not a JSON object");
		return WRIT_ESCOPE;
	}
	if (k->grammar->canonicalize(req->scope, &again, why) < 0) {
		snprintf(err, WRIT_ERRLEN, "the scope is not one %s's grammar takes: %s", k->name,
		    why);
		return WRIT_ESCOPE;
	}
	if (!json_equal(again, req->scope)) {
		json_decref(again);
		snprintf(err, WRIT_ERRLEN, "the scope is not in its canonical form");
		return WRIT_ESCOPE;
	}
	max_ttl = cfg->kinds[kinds_index(k)].max_ttl;
	if (req->ttl < 1 || req->ttl > max_ttl) {
		json_decref(again);
		snprintf(err, WRIT_ERRLEN, "ttl out of range for %s (1 to %lld seconds)", k->name,
		    (long long)max_ttl);
		return req->ttl < 1 ? WRIT_ETTL : WRIT_ETTLMAX;
	}
	if (o->session_id == NULL || !id_valid(o->session_id) || !session_name_valid(req->session) ||
	    (o->approval != NULL && !id_valid(o->approval)) || o->pid < 0 || o->cap < 0 ||
	    (o->identity != NULL && !json_is_object(o->identity)) ||
	    (req->claims != NULL && !json_is_object(req->claims)) || req->exe == NULL) {
		json_decref(again);
		snprintf(err, WRIT_ERRLEN, "a malformed mint order");
		return WRIT_EBADREQ;
	}
	/*
	 * NB. a default "deny" is not the enterprise's word on this request:
	 * the user's allow may stand -- unless the enterprise lets no user
	 * rule allow, and then its layer alone says what a rule allows and
	 * what only a person may (an approval must be named).
	 */
	if (limits != NULL) {
		bool alone = !policy_user_allow(limits);

		policy_decide(limits, req, &d);
		if (d.verdict == POLICY_DENY && (strcmp(d.tier, "deny") == 0 ||
		    strcmp(d.tier, "limits") == 0 || alone)) {
			json_decref(again);
			snprintf(err, WRIT_ERRLEN, "the enterprise policy refuses it (%s %s): %s",
			    d.tier, d.rule, d.message);
			return WRIT_EPOLICY;
		}
		if (alone && d.verdict == POLICY_ASK && o->approval == NULL) {
			json_decref(again);
			snprintf(err, WRIT_ERRLEN, "the enterprise policy allows it only with a "
			    "person's approval, and the order names none");
			return WRIT_EPOLICY;
		}
	}
	*ret_scope = again;
	return 0;
}
