/*
 * github.h - GitHub App installation tokens.
 *
 * Scope: {"repo": "owner/name" | ["owner/a", "owner/b"], "permissions":
 * {"contents": "read", ...}}.  Canonical form: "repo" an array of
 * lower-case "owner/name" (".git" dropped), sorted, one owner; permissions
 * default to {"contents": "read"}; levels read, write, admin.
 *
 * Config (kinds.github): app_id (or client_id), private_key (the name of a
 * secret holding the app's PEM key), installation_id (else looked up per
 * owner), api_url (default https://api.github.com), ca_file, timeout.
 * Both "repositories" and "permissions" are always sent: GitHub grants every
 * repository and permission of the installation when they are omitted.
 * What GitHub grants is compared with what was asked; anything broader is
 * revoked at once.  Tokens are revoked with DELETE /installation/token.
 */
#ifndef WRIT_GITHUB_H
#define WRIT_GITHUB_H

#include "../kind.h"

/* Most repositories in one writ (GitHub's own limit is 500). */
#define WRIT_GITHUB_MAX_REPOS 100
/* Most permissions named in one writ. */
#define WRIT_GITHUB_MAX_PERMS 32
/* Largest answer read from the API, in bytes. */
#define WRIT_GITHUB_MAX_RESPONSE (1024 * 1024)

extern const struct writ_kind kind_github;

#endif
