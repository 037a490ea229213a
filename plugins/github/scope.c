/*
 * scope.c - the github kind's scope grammar (grammar.h): repositories and
 * permissions, canonicalized.  Pure: no key, network or store.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "github.h"

/*
 * GitHub's permission levels, lowest first: an installation token's
 * permission is "read" or "write", and a few (organization_projects,
 * repository_projects) also take "admin".
 */
static const char *const levels[] = { "read", "write", "admin", NULL };

/*
 * Neither key may be left out (canonicalize refuses a missing "repo" and
 * fills in "permissions"), and both are always sent: GitHub reads an
 * omitted one as every repository or permission of the installation.
 */
static const struct kind_key github_scope_keys[] = {
	{ "repo", NULL, 0 },
	{ "permissions", levels, KIND_KEY_NAMES },
	{ NULL, NULL, 0 },
};

int
github_level(const char *l)
{
	return grammar_level(&github_scope_keys[1], l);
}

static int
valid_part(const char *s, size_t max, bool owner)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || strstr(s, "..") != NULL || strcmp(s, ".") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && (owner || (s[i] != '_' && s[i] != '.')))
			return 0;
	return !owner || (s[0] != '-' && s[n - 1] != '-');
}

/* "Owner/Repo.git" -> "owner/repo", or -1. */
static int
canon_repo(const char *in, char out[160], char owner[64])
{
	char buf[160], *slash;
	size_t n = strlen(in);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)in[i]);
	if (n > 4 && strcmp(buf + n - 4, ".git") == 0) {
		buf[n - 4] = '\0';
		/*
		 * NB. one ".git" only: "x.git.git" would become "x.git", which
		 * canonicalizes again to "x" -- not a fixed point, so policy and
		 * GitHub could see different names.  Refused instead.
		 */
		if (n - 4 > 4 && strcmp(buf + n - 8, ".git") == 0)
			return -1;
	}
	slash = strchr(buf, '/');
	if (slash == NULL || strchr(slash + 1, '/') != NULL)
		return -1;
	*slash = '\0';
	if (!valid_part(buf, 39, true) || !valid_part(slash + 1, 100, false))
		return -1;
	snprintf(owner, 64, "%s", buf);
	snprintf(out, 160, "%s/%s", buf, slash + 1);
	return 0;
}

static int
github_canonicalize(const json_t *scope, json_t **ret_scope, char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "repo", "permissions", NULL };
	char owner[64] = "", o2[64], c[160];
	const json_t *repo, *perms;
	json_t *out = NULL, *list, *p, *v;
	const char *k;
	size_t i;

	if (!json_is_object(scope) || sjson_only_keys(scope, keys, "scope", err) < 0) {
		if (!json_is_object(scope))
			snprintf(err, WRIT_ERRLEN, "scope must be an object such as "
			    "{\"repo\":\"owner/name\"}");
		return WRIT_ESCOPE;
	}
	repo = json_object_get(scope, "repo");
	list = json_array();
	if (json_is_string(repo))
		json_array_append(list, (json_t *)repo);
	else if (json_is_array(repo) && json_array_size(repo) > 0 &&
	    json_array_size(repo) <= WRIT_GITHUB_MAX_REPOS)
		json_array_extend(list, (json_t *)repo);
	else
		goto bad_repo;
	out = json_object();
	{
		json_t *canon = json_array();

		json_object_set_new(out, "repo", canon);
		json_array_foreach(list, i, v) {
			size_t at;

			if (!json_is_string(v) || canon_repo(json_string_value(v), c, o2) < 0)
				goto bad_repo;
			if (owner[0] != '\0' && strcmp(owner, o2) != 0) {
				snprintf(err, WRIT_ERRLEN, "scope.repo: all repositories of one writ "
				    "must have one owner");
				goto fail;
			}
			snprintf(owner, sizeof(owner), "%s", o2);
			/* sorted, unique */
			for (at = 0; at < json_array_size(canon) &&
			    strcmp(json_string_value(json_array_get(canon, at)), c) < 0; at++)
				;
			if (at < json_array_size(canon) &&
			    strcmp(json_string_value(json_array_get(canon, at)), c) == 0)
				continue;
			json_array_insert_new(canon, at, json_string(c));
		}
	}
	perms = json_object_get(scope, "permissions");
	p = json_object();
	json_object_set_new(out, "permissions", p);
	if (perms == NULL)
		json_object_set_new(p, "contents", json_string("read"));
	else if (!json_is_object(perms) || json_object_size(perms) == 0 ||
	    json_object_size(perms) > WRIT_GITHUB_MAX_PERMS)
		goto bad_perm;
	else
		json_object_foreach((json_t *)perms, k, v) {
			size_t n = strlen(k);

			if (n == 0 || n > 64 || strspn(k, "abcdefghijklmnopqrstuvwxyz_") != n ||
			    github_level(json_string_value(v)) < 0)
				goto bad_perm;
			json_object_set(p, k, v);
		}
	json_decref(list);
	*ret_scope = out;
	return 0;
 bad_perm:
	snprintf(err, WRIT_ERRLEN, "scope.permissions must map names like \"contents\" to "
	    "\"read\", \"write\" or \"admin\"");
	goto fail;
 bad_repo:
	snprintf(err, WRIT_ERRLEN, "scope.repo must be \"owner/name\" (or up to %d of one "
	    "owner): ASCII letters, digits, '-', '_', '.', no '..'", WRIT_GITHUB_MAX_REPOS);
 fail:
	json_decref(list);
	json_decref(out);
	return WRIT_ESCOPE;
}

const struct kind_grammar github_grammar = {
	.name = "github",
	.scope_keys = github_scope_keys,
	.canonicalize = github_canonicalize,
};
