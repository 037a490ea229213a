/*
 * errors.h - writ's error codes, one table for all of writd.
 *
 * Functions return 0 on success or a negative WRIT_E* code.  The table in
 * errors.c maps each code to the name an API client sees ("code" in the JSON
 * error), the HTTP status, and a default message that says what went wrong
 * and what to do.  Messages never contain secrets.
 */
#ifndef WRIT_ERRORS_H
#define WRIT_ERRORS_H

/*
 * Room for a message about one field: every err[] that travels with a
 * code is this long.
 */
#define WRIT_ERRLEN 256

enum {
	WRIT_OK = 0,
	WRIT_EINTERNAL = -1,	/* a bug or a failed system call */
	WRIT_ENOMEM = -2,
	WRIT_EBADJSON = -3,	/* body is not strict JSON */
	WRIT_EBADREQ = -4,	/* JSON is fine, a field is not */
	WRIT_ETOOBIG = -5,	/* body or a collection over its limit */
	WRIT_ENOTFOUND = -6,
	WRIT_EMETHOD = -7,
	WRIT_EKIND = -8,	/* unknown kind */
	WRIT_ESCOPE = -9,	/* scope refused by the kind's grammar */
	WRIT_ETTL = -10,	/* TTL not a positive duration */
	WRIT_ETTLMAX = -11,	/* TTL above the kind's maximum */
	WRIT_EDENIED = -12,	/* a human said no */
	WRIT_ETIMEDOUT = -13,	/* nobody decided in time */
	WRIT_ENOAPPROVER = -14,	/* nobody is there to decide */
	WRIT_EPENDING = -15,	/* too many pending requests in the session */
	WRIT_ECLOSED = -16,	/* the session was closed */
	WRIT_EGONE = -17,	/* the requesting process exited */
	WRIT_EDECIDED = -18,	/* approval for a request already decided */
	WRIT_EFORBIDDEN = -19,	/* caller may not use this socket */
	WRIT_EBUSY = -20,	/* too many connections */
	WRIT_ESHUTDOWN = -21,	/* writd is stopping */
	WRIT_EMINT = -22,	/* the kind failed to mint */
	WRIT_ESESSIONS = -23,	/* too many sessions */
	WRIT_EPOLICY = -24,	/* the policy denies it */
	WRIT_EDUPLICATE = -25,	/* the same request is already pending */
	WRIT_ECOOLDOWN = -26,	/* the session is cooling down after denials */
	WRIT_ECONFIRM = -27,	/* a typed approval without the right code */
	WRIT_ECHANGED = -28,	/* approval for a request that is not the one shown */
	WRIT_EUPAUTH = -29,	/* upstream refused our credentials */
	WRIT_EUPLIMIT = -30,	/* upstream rate limit */
	WRIT_EUPSCOPE = -31,	/* outside what upstream grants (installation) */
	WRIT_EUPSTREAM = -32,	/* upstream failed or answered nonsense */
	WRIT_EUPTIMEOUT = -33,	/* upstream did not answer in time */
	WRIT_EUNCONFIGURED = -34, /* the kind has no configuration */
	WRIT_EAUDIT = -35,	/* the audit log cannot take records */
	WRIT_ENOTRELAY = -36,	/* a spool session's socket, not from its relay */
	WRIT_EIDENTITY = -37,	/* a CI job's OIDC ID token refused (oidc.h) */
};

struct writ_error {
	int code;
	const char *name;	/* stable, for API clients: "approval_denied" */
	unsigned int status;	/* HTTP status */
	const char *message;	/* default human message */
};

/* The entry for code; an unknown code maps to the WRIT_EINTERNAL entry. */
const struct writ_error *errors_lookup(int code);

/* The entry whose name is name, or NULL. */
const struct writ_error *errors_by_name(const char *name);

#endif
