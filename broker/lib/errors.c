/*
 * errors.c - the one table of writ's errors.
 */
#include <stddef.h>
#include <string.h>

#include "errors.h"

static const struct writ_error table[] = {
	{ WRIT_EINTERNAL, "internal", 500,
	  "writd hit an internal error; see its log" },
	{ WRIT_ENOMEM, "internal", 500, "writd is out of memory" },
	{ WRIT_EBADJSON, "bad_json", 400,
	  "the body is not valid JSON (strict: no duplicate keys, no NUL, UTF-8 only)" },
	{ WRIT_EBADREQ, "bad_request", 400, "the request is malformed" },
	{ WRIT_ETOOBIG, "too_large", 413, "the request is too large" },
	{ WRIT_ENOTFOUND, "not_found", 404, "no such resource" },
	{ WRIT_EMETHOD, "method_not_allowed", 405,
	  "this method is not allowed on this path" },
	{ WRIT_EKIND, "unknown_kind", 400,
	  "unknown kind; GET /v1/health lists the kinds this writd issues" },
	{ WRIT_ESCOPE, "bad_scope", 400, "the scope is not valid for this kind" },
	{ WRIT_ETTL, "bad_ttl", 400,
	  "ttl must be a positive duration such as \"90s\", \"10m\" or \"1h\"" },
	{ WRIT_ETTLMAX, "ttl_too_long", 400,
	  "ttl is above this kind's maximum; ask for a shorter one" },
	{ WRIT_EDENIED, "approval_denied", 403,
	  "the request was denied by the approver" },
	{ WRIT_ETIMEDOUT, "approval_timeout", 408,
	  "nobody approved the request in time; try again when someone is watching" },
	{ WRIT_ENOAPPROVER, "approval_unavailable", 403,
	  "no approver is connected; on the host run `writctl watch` and try again" },
	{ WRIT_EPENDING, "too_many_pending", 429,
	  "this session has too many requests waiting for approval; wait for them" },
	{ WRIT_ECLOSED, "session_closed", 410, "the session was closed" },
	{ WRIT_EGONE, "caller_gone", 409,
	  "the process that made the request has exited; nothing was issued" },
	{ WRIT_EDECIDED, "already_decided", 409,
	  "that request was already decided, expired or never existed" },
	{ WRIT_EFORBIDDEN, "forbidden", 403,
	  "this socket is for writd's own user only, outside any sandbox" },
	{ WRIT_EBUSY, "too_many_connections", 503,
	  "writd has too many open connections; retry later" },
	{ WRIT_ESHUTDOWN, "shutting_down", 503, "writd is shutting down" },
	{ WRIT_EMINT, "mint_failed", 502, "the kind failed to mint a token" },
	{ WRIT_ESESSIONS, "too_many_sessions", 429,
	  "writd has too many sessions open; close one first" },
	{ WRIT_EPOLICY, "policy_denied", 403,
	  "the policy denies this request; no approval can override it" },
	{ WRIT_EDUPLICATE, "duplicate_pending", 409,
	  "the same request is already waiting for approval; wait for its answer" },
	{ WRIT_ECOOLDOWN, "cooling_down", 429,
	  "too many of this session's requests were denied; it is cooling down" },
	{ WRIT_ECONFIRM, "confirmation_required", 403,
	  "this request needs a typed approval: send the code shown in the prompt" },
	{ WRIT_ECHANGED, "request_changed", 409,
	  "the digest does not match the pending request; look at it again" },
	{ WRIT_EUPAUTH, "upstream_auth", 502,
	  "upstream refused writd's credentials: check the configured key and the clock" },
	{ WRIT_EUPLIMIT, "upstream_rate_limited", 503,
	  "upstream is rate limiting writd; retry after the time given" },
	{ WRIT_EUPSCOPE, "upstream_refused", 403,
	  "upstream does not grant this: the repository or permission is outside the installation" },
	{ WRIT_EUPSTREAM, "upstream_failed", 502, "upstream failed; nothing was issued" },
	{ WRIT_EUPTIMEOUT, "upstream_timeout", 504, "upstream did not answer in time" },
	{ WRIT_EUNCONFIGURED, "kind_not_configured", 400,
	  "this kind is not configured in writd" },
	{ WRIT_EAUDIT, "audit_unavailable", 503,
	  "the audit log cannot be written, so nothing is issued; see writd's log" },
	{ WRIT_ENOTRELAY, "not_relay", 403,
	  "this session is reached through writ-sandbox's spool: its socket is for "
	  "that writ-sandbox only" },
	/*
	 * 401, not 403: the token is the credential that failed to
	 * authenticate (expired, forged, for another audience, its issuer's
	 * keys unavailable), and a fresh token may well succeed; 403 stays
	 * for a caller who is known and refused (policy_denied).
	 */
	{ WRIT_EIDENTITY, "identity_refused", 401,
	  "the CI job's OIDC ID token was refused: it must come from an issuer in "
	  "ci.issuers, for writd's audience, signed (RS256/ES256) and not expired" },
};

const struct writ_error *
errors_lookup(int code)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return &table[i];
	return &table[0];
}

const struct writ_error *
errors_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}
