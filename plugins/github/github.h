/*
 * github.h - GitHub App installation tokens.
 *
 * Scope: {"repo": "owner/name" | ["owner/a", "owner/b"], "permissions":
 * {"contents": "read", ...}}.  Canonical form: "repo" an array of
 * lower-case "owner/name" (one ".git" dropped; a name still ending in
 * ".git" after that is refused), sorted, one owner; permissions
 * default to {"contents": "read"}; levels read < write < admin, declared
 * to policy as ordered (kind_key), so a deny on write covers admin.
 *
 * Config (kinds.github): app_id (or client_id), private_key (the name of a
 * secret holding the app's PEM key), installation_id (else looked up per
 * owner), api_url (default https://api.github.com), ca_file, timeout.
 * Both "repositories" and "permissions" are always sent: GitHub grants every
 * repository and permission of the installation when they are omitted.
 * What GitHub grants is compared with what was asked; anything broader is
 * revoked at once.  Tokens are revoked with DELETE /installation/token.
 *
 * Without installation_id, the installation of an owner is looked up with
 * GET /repos/{owner}/{repo}/installation and remembered per owner for
 * WRIT_GITHUB_INSTALL_TTL seconds; a refusal is not remembered.
 */
#ifndef WRIT_GITHUB_H
#define WRIT_GITHUB_H

#include <stdbool.h>
#include <stdint.h>

#include "../kind.h"

/* Most repositories in one writ (GitHub's own limit is 500). */
#define WRIT_GITHUB_MAX_REPOS 100
/* Most permissions named in one writ. */
#define WRIT_GITHUB_MAX_PERMS 32
/* Largest answer read from the API, in bytes. */
#define WRIT_GITHUB_MAX_RESPONSE (1024 * 1024)

/*
 * Rate limits.  When GitHub answers 403/429 as a rate limit (see
 * upstream_error in github.c: x-ratelimit-remaining 0, retry-after, or a
 * secondary-limit message), the installation (or, before it is known, the
 * owner) is remembered as limited for the wait GitHub gave -- retry-after,
 * else until x-ratelimit-reset, else WRIT_GITHUB_LIMIT_DEFAULT -- but never
 * longer than WRIT_GITHUB_LIMIT_MAX: a forged or broken header cannot keep
 * writ from GitHub for days.  Meanwhile writd refuses its requests at once
 * (503 upstream_rate_limited with Retry-After), before any person is asked,
 * and an approved request is not sent either.  Kept in memory only: a
 * restart forgets it, and GitHub says so again on the first call.
 */
#define WRIT_GITHUB_LIMIT_MAX 3600
#define WRIT_GITHUB_LIMIT_DEFAULT 60
#define WRIT_GITHUB_LIMIT_SLOTS 16

/* Owners whose installation id is remembered, and for how long (seconds). */
#define WRIT_GITHUB_INSTALL_SLOTS 16
#define WRIT_GITHUB_INSTALL_TTL 600

/* The scope grammar (scope.c): all that policy and writctl link of github. */
extern const struct kind_grammar github_grammar;

/* The kind (github.c): minting, with the app's key and libcurl. */
extern const struct writ_kind kind_github;

/* The rank of a permission level (read 0, write 1, admin 2), or -1. */
int github_level(const char *level);

/*
 * The pure parts of minting, exported so that the unit tests can reach
 * them; nothing else calls them.  They touch no network and no secret.
 */

/*
 * Is what GitHub granted (got, its 201 answer) within what was asked
 * (asked, the canonical scope)?  Every permission granted must have been
 * asked at that level or higher -- except "metadata": "read", which every
 * GitHub App holds and GitHub lists in every answer, and which grants
 * nothing that access to the repositories does not imply; the selection
 * must be "selected" and every repository listed (by full_name, any case)
 * one that was asked.  True, or false with a message in err.
 */
bool github_granted_within(const json_t *asked, const json_t *got, char err[WRIT_ERRLEN]);

/* The installation ids of owners (canonical, lower-case), with expiry. */
struct github_install_cache {
	struct {
		char owner[40];		/* GitHub owners have at most 39 characters */
		long long id;
		int64_t until;		/* Unix seconds; 0: free */
	} slot[WRIT_GITHUB_INSTALL_SLOTS];
};

/* The id remembered for owner at time now, or 0.  Caller locks. */
long long github_install_find(const struct github_install_cache *c, const char *owner,
    int64_t now);

/*
 * Remember owner's id until now + WRIT_GITHUB_INSTALL_TTL, in owner's own
 * slot, else the slot that expires first (a free or stale one while there
 * is one).  An owner too long to keep whole, or an id <= 0, is not kept.
 * Caller locks.
 */
void github_install_put(struct github_install_cache *c, const char *owner, long long id,
    int64_t now);

/* Installations (or owners) GitHub rate limited, until when. */
struct github_limits {
	struct {
		long long id;		/* the installation; 0: not known (owner only) */
		char owner[40];
		int64_t until;		/* monotonic seconds; 0: free */
	} slot[WRIT_GITHUB_LIMIT_SLOTS];
};

/*
 * Seconds left at now of a limit on installation id (when > 0) or on owner,
 * the longest that matches; 0 when none.  Caller locks.
 */
int64_t github_limit_find(const struct github_limits *c, long long id, const char *owner,
    int64_t now);

/*
 * Remember a limit on id (0: unknown) of owner for secs, clamped to
 * 1..WRIT_GITHUB_LIMIT_MAX, in its own slot (never shortening a longer
 * wait there), else the slot that ends first.  An owner too long to keep
 * whole is not kept.  Caller locks.
 */
void github_limit_put(struct github_limits *c, long long id, const char *owner,
    int64_t secs, int64_t now);

#endif
