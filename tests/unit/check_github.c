/* check_github.c - the github kind: scope grammar, what a grant may hold, the installation cache. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "errors.h"
#include "../../plugins/github/github.h"
#include "check.h"

static int
canon(const char *text, char *out, size_t outlen)
{
	return canon_with(&github_grammar, text, out, outlen);
}

START_TEST(test_canonical)
{
	char out[512], again[512];

	ck_assert_int_eq(canon("{\"repo\":\"GitHub/Repo.git\"}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"permissions\":{\"contents\":\"read\"},\"repo\":[\"github/repo\"]}");
	ck_assert_int_eq(canon("{\"repo\":[\"acme/b\",\"ACME/a\",\"acme/b.git\"],"
	    "\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"}}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"},"
	    "\"repo\":[\"acme/a\",\"acme/b\"]}");
	ck_assert_int_eq(canon(out, again, sizeof(again)), 0);
	ck_assert_str_eq(out, again);
	ck_assert_int_eq(canon("{\"repo\":\"my-org/my_repo.v2\"}", out, sizeof(out)), 0);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const cases[] = {
		"{}", "{\"repo\":\"\"}", "{\"repo\":\"acme\"}", "{\"repo\":\"acme/\"}",
		"{\"repo\":\"/widgets\"}", "{\"repo\":\"acme/widgets/x\"}", "{\"repo\":\"acme/..\"}",
		"{\"repo\":\"acme/a..b\"}", "{\"repo\":\"../widgets\"}", "{\"repo\":\"acme/*\"}",
		"{\"repo\":\"acme/wid?\"}", "{\"repo\":\"acme/wid gets\"}", "{\"repo\":\"acme/w\\nx\"}",
		"{\"repo\":\"acm\\u00e9/x\"}", "{\"repo\":\"-acme/x\"}", "{\"repo\":\"acme_/x\"}",
		"{\"repo\":\"acme/.\"}", "{\"repo\":\"acme/.git\"}", "{\"repo\":\"acme/x.git.git\"}",
		"{\"repo\":\"acme/x.GIT.git\"}", "{\"repo\":[]}", "{\"repo\":[\"a/x\",\"b/y\"]}",
		"{\"repo\":7}", "{\"repo\":\"a/x\",\"org\":\"a\"}",
		"{\"repo\":\"a/x\",\"permissions\":{}}",
		"{\"repo\":\"a/x\",\"permissions\":{\"contents\":\"owner\"}}",
		"{\"repo\":\"a/x\",\"permissions\":{\"Contents\":\"read\"}}",
		"{\"repo\":\"a/x\",\"permissions\":{\"contents\":1}}",
		"{\"repo\":\"a/x\",\"permissions\":\"read\"}", "[]",
	};
	char out[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(canon(cases[i], out, sizeof(out)) == WRIT_ESCOPE, "accepted %s", cases[i]);
}
END_TEST

/*
 * An independent reference for the scope grammar (github.h, NOTES:
 * GitHub's names): "owner/name" compared lower-case, one ".git" dropped
 * (and none left after it);
 * owner 1-39 of [a-z0-9-], not beginning or ending with '-'; name 1-100
 * of [a-z0-9-_.], not "." and without "..".  Writes the canonical form.
 */
static bool
ref_repo(const char *in, char out[256], char owner[64])
{
	char low[256], *slash, *name;
	size_t n = strlen(in);

	if (n == 0 || n >= sizeof(low))
		return false;
	for (size_t i = 0; i <= n; i++)
		low[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	if (n > 4 && strcmp(low + n - 4, ".git") == 0)
		low[n - 4] = '\0';
	n = strlen(low);
	if (n > 4 && strcmp(low + n - 4, ".git") == 0)
		return false;		/* "x.git.git": not one canonical name */
	if ((slash = strchr(low, '/')) == NULL || strchr(slash + 1, '/') != NULL)
		return false;
	*slash = '\0';
	name = slash + 1;
	if (strlen(low) < 1 || strlen(low) > 39 || low[0] == '-' || low[strlen(low) - 1] == '-')
		return false;
	for (const char *c = low; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	if (strlen(name) < 1 || strlen(name) > 100 || strcmp(name, ".") == 0 ||
	    strstr(name, "..") != NULL)
		return false;
	for (const char *c = name; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		    *c == '_' || *c == '.'))
			return false;
	snprintf(out, 256, "%s/%s", low, name);
	snprintf(owner, 64, "%s", low);
	return true;
}

static void
rand_chars(char *dst, size_t n, const char *alphabet)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = alphabet[randombytes_uniform((uint32_t)strlen(alphabet))];
	dst[n] = '\0';
}

/*
 * A repository: valid most of the time (any case, sometimes ".git"), else
 * broken in one targeted way.  *owner_pick chooses among three owners so
 * that lists often share one.
 */
static void
gen_repo(char *out, size_t size, unsigned int owner_pick)
{
	static const char *const owners[] = { "acme", "Acme-Corp", "x9" };
	static const char *const bad[] = { "*", "?", " ", "/", "\\", "\x01", "\x7f", "\xc3\xa9",
	    "..", "%2e", ":", "@", "~", "[" };
	char name[128];
	const char *owner = owners[owner_pick % 3];
	size_t len = 1 + randombytes_uniform(12);

	rand_chars(name, len, "abcXYZ019-_.");
	if (strstr(name, "..") != NULL || strcmp(name, ".") == 0)
		name[0] = 'n';		/* keep the valid case valid */
	switch (randombytes_uniform(16)) {
	case 0:		/* a forbidden character somewhere */
		insert_random(name, sizeof(name), bad[randombytes_uniform(sizeof(bad) / sizeof(bad[0]))]);
		break;
	case 1:		/* the owner's grammar: '_', '.', leading or trailing '-' */
		owner = (const char *[]){ "ac_me", "ac.me", "-acme", "acme-", "" }[randombytes_uniform(5)];
		break;
	case 2:		/* at or just over the lengths */
		{
			static char longer[128];
			size_t l = 38 + randombytes_uniform(3);

			memset(longer, 'o', l);
			longer[l] = '\0';
			owner = longer;
		}
		len = 99 + randombytes_uniform(3);
		memset(name, 'n', len);
		name[len] = '\0';
		break;
	case 3:		/* the dot names */
		snprintf(name, sizeof(name), "%s", (const char *[]){ ".", "..", ".git", "a..b",
		    "..git", "x.git.git", "" }[randombytes_uniform(7)]);
		break;
	default:
		break;
	}
	snprintf(out, size, "%s/%s%s", owner, name, randombytes_uniform(4) == 0 ? ".GIT" : "");
}

/*
 * Property: canonicalize accepts exactly what the reference grammar
 * accepts, and gives the reference's canonical form (lists sorted, unique,
 * one owner; permissions default to contents read), a fixed point.
 */
START_TEST(test_property)
{
	static const char *const levels[] = { "read", "write", "admin", "owner", "READ", "" };
	unsigned int accepted = 0, refused = 0;

	for (int round = 0; round < 5000; round++) {
		size_t k = 1 + (randombytes_uniform(3) == 0 ? randombytes_uniform(4) : 0);
		unsigned int base = randombytes_uniform(3);
		json_t *in = json_object(), *repos = json_array(), *want_repos = json_array();
		char out[8192], again[8192], owner[64] = "", o2[64], c[256];
		bool ok = true;
		const char *level = NULL;
		char *text, *want;
		json_t *want_scope;

		for (size_t i = 0; i < k; i++) {
			char r[256];
			size_t at;

			/* Mostly one owner; now and then another. */
			gen_repo(r, sizeof(r), randombytes_uniform(8) == 0 ? base + 1 : base);
			json_array_append_new(repos, json_string(r));
			if (!ok || !ref_repo(r, c, o2) || (owner[0] != '\0' && strcmp(owner, o2) != 0)) {
				ok = false;
				continue;
			}
			snprintf(owner, sizeof(owner), "%s", o2);
			for (at = 0; at < json_array_size(want_repos) &&
			    strcmp(json_string_value(json_array_get(want_repos, at)), c) < 0; at++)
				;
			if (at == json_array_size(want_repos) ||
			    strcmp(json_string_value(json_array_get(want_repos, at)), c) != 0)
				json_array_insert_new(want_repos, at, json_string(c));
		}
		if (json_array_size(repos) == 1 && randombytes_uniform(2))
			json_object_set(in, "repo", json_array_get(repos, 0));
		else
			json_object_set(in, "repo", repos);
		if (randombytes_uniform(3) == 0) {
			level = levels[randombytes_uniform(sizeof(levels) / sizeof(levels[0]))];
			json_object_set_new(in, "permissions", json_pack("{ss}", "contents", level));
			if (strcmp(level, "read") != 0 && strcmp(level, "write") != 0 &&
			    strcmp(level, "admin") != 0)
				ok = false;
		}
		text = json_dumps(in, JSON_COMPACT);
		ck_assert_ptr_nonnull(text);
		want_scope = json_pack("{sOs{ss}}", "repo", want_repos, "permissions", "contents",
		    level != NULL ? level : "read");
		want = json_dumps(want_scope, JSON_COMPACT | JSON_SORT_KEYS);
		if (canon(text, out, sizeof(out)) == 0) {
			ck_assert_msg(ok, "accepted %s as %s", text, out);
			ck_assert_msg(strcmp(out, want) == 0, "%s: got %s, want %s", text, out, want);
			ck_assert_int_eq(canon(out, again, sizeof(again)), 0);
			ck_assert_str_eq(out, again);
			accepted++;
		} else {
			ck_assert_msg(!ok, "refused %s (reference: %s)", text, want);
			refused++;
		}
		free(text);
		free(want);
		json_decref(want_scope);
		json_decref(in);
		json_decref(repos);
		json_decref(want_repos);
	}
	/* The generator itself: mostly valid, with plenty refused. */
	ck_assert_msg(accepted > 2500 && refused > 500, "accepted %u, refused %u", accepted, refused);
}
END_TEST

/* What GitHub granted, as JSON text, against what was asked. */
static bool
granted(const char *asked_text, const char *got_text)
{
	char err[WRIT_ERRLEN] = "";
	json_t *asked = json_loads(asked_text, 0, NULL), *got = json_loads(got_text, 0, NULL);
	bool r;

	ck_assert_msg(asked != NULL && got != NULL, "bad test JSON");
	r = github_granted_within(asked, got, err);
	ck_assert_msg(r || strlen(err) > 0, "a refusal says why");
	json_decref(asked);
	json_decref(got);
	return r;
}

#define ASKED "{\"repo\":[\"acme/a\",\"acme/b\"],\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"}}"
#define SEL "\"repository_selection\":\"selected\""
#define AB "\"repositories\":[{\"name\":\"A\",\"full_name\":\"Acme/A\"},{\"name\":\"b\",\"full_name\":\"acme/b\"}]"

START_TEST(test_granted_within)
{
	static const struct { bool ok; const char *got, *why; } cases[] = {
		{ true, "{\"permissions\":{\"contents\":\"write\",\"issues\":\"read\"}," SEL "," AB "}", "exactly as asked" },
		{ true, "{\"permissions\":{\"contents\":\"write\",\"issues\":\"read\",\"metadata\":\"read\"}," SEL "," AB "}", "plus GitHub's metadata read" },
		{ true, "{\"permissions\":{\"contents\":\"read\"}," SEL ",\"repositories\":[{\"full_name\":\"acme/b\"}]}", "less than asked" },
		{ false, "{\"permissions\":{\"contents\":\"write\",\"metadata\":\"write\"}," SEL "," AB "}", "metadata write" },
		{ false, "{\"permissions\":{\"contents\":\"write\",\"metadata\":\"admin\"}," SEL "," AB "}", "metadata admin" },
		{ false, "{\"permissions\":{\"contents\":\"write\",\"metadata\":\"all\"}," SEL "," AB "}", "metadata at no known level" },
		{ false, "{\"permissions\":{\"contents\":\"write\",\"metadata\":1}," SEL "," AB "}", "metadata not a string" },
		{ false, "{\"permissions\":{\"contents\":\"write\",\"administration\":\"read\"}," SEL "," AB "}", "a permission not asked" },
		{ false, "{\"permissions\":{\"contents\":\"admin\"}," SEL "," AB "}", "a higher level (admin > write)" },
		{ false, "{\"permissions\":{\"issues\":\"write\"}," SEL "," AB "}", "a higher level (write > read)" },
		{ false, "{\"permissions\":{\"contents\":\"owner\"}," SEL "," AB "}", "an unknown level" },
		{ false, "{\"permissions\":{\"contents\":true}," SEL "," AB "}", "a level not a string" },
		{ false, "{" SEL "," AB "}", "no permissions listed" },
		{ false, "{\"permissions\":[]," SEL "," AB "}", "permissions not an object" },
		{ false, "{\"permissions\":{\"contents\":\"read\"},\"repository_selection\":\"all\"," AB "}", "selection all, even with the list as asked" },
		{ false, "{\"permissions\":{\"contents\":\"read\"}," AB "}", "no selection" },
		{ false, "{\"permissions\":{\"contents\":\"read\"},\"repository_selection\":\"Selected\"," AB "}", "a selection not exactly 'selected'" },
		{ false, "{\"permissions\":{\"contents\":\"read\"}," SEL "}", "selected, but no list" },
		{ false, "{\"permissions\":{\"contents\":\"read\"}," SEL ",\"repositories\":{}}", "a list that is not one" },
		{ false, "{\"permissions\":{\"contents\":\"read\"}," SEL ",\"repositories\":[{\"full_name\":\"acme/a\"},{\"full_name\":\"acme/c\"}]}", "a repository not asked" },
		{ false, "{\"permissions\":{\"contents\":\"read\"}," SEL ",\"repositories\":[{\"full_name\":\"other/a\"}]}", "another owner's" },
		{ false, "{\"permissions\":{\"contents\":\"read\"}," SEL ",\"repositories\":[{\"full_name\":\"acme/ab\"}]}", "a name one asked is a prefix of" },
		{ false, "{\"permissions\":{\"contents\":\"read\"}," SEL ",\"repositories\":[{\"name\":\"a\"}]}", "an entry without full_name" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(granted(ASKED, cases[i].got) == cases[i].ok, "%s: %s",
		    cases[i].why, cases[i].ok ? "refused" : "accepted");
	/* Asked for metadata, the usual rule applies to it. */
	ck_assert(granted("{\"repo\":[\"acme/a\"],\"permissions\":{\"metadata\":\"read\"}}",
	    "{\"permissions\":{\"metadata\":\"read\"}," SEL ",\"repositories\":[{\"full_name\":\"acme/a\"}]}"));
	ck_assert(!granted("{\"repo\":[\"acme/a\"],\"permissions\":{\"metadata\":\"read\"}}",
	    "{\"permissions\":{\"metadata\":\"write\"}," SEL ",\"repositories\":[{\"full_name\":\"acme/a\"}]}"));
	ck_assert(granted("{\"repo\":[\"acme/a\"],\"permissions\":{\"metadata\":\"write\"}}",
	    "{\"permissions\":{\"metadata\":\"write\"}," SEL ",\"repositories\":[{\"full_name\":\"acme/a\"}]}"));
	{
		char got[1024];

		/* A full_name too long to compare is refused, not cut. */
		snprintf(got, sizeof(got), "{\"permissions\":{\"contents\":\"read\"}," SEL
		    ",\"repositories\":[{\"full_name\":\"acme/a%0300d\"}]}", 0);
		ck_assert(!granted(ASKED, got));
	}
}
END_TEST

START_TEST(test_install_cache)
{
	struct github_install_cache c;
	char owner[64];

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(github_install_find(&c, "acme", 1000), 0);
	github_install_put(&c, "acme", 4242, 1000);
	/* Kept for WRIT_GITHUB_INSTALL_TTL seconds, then gone. */
	ck_assert_int_eq(WRIT_GITHUB_INSTALL_TTL, 600);
	ck_assert_int_eq(github_install_find(&c, "acme", 1000), 4242);
	ck_assert_int_eq(github_install_find(&c, "acme", 1000 + 599), 4242);
	ck_assert_int_eq(github_install_find(&c, "acme", 1000 + 600), 0);
	/* Keyed by the whole owner, exactly (callers pass canonical owners). */
	ck_assert_int_eq(github_install_find(&c, "acm", 1000), 0);
	ck_assert_int_eq(github_install_find(&c, "acme2", 1000), 0);
	ck_assert_int_eq(github_install_find(&c, "beta", 1000), 0);
	ck_assert_int_eq(github_install_find(&c, "", 1000), 0);
	/* Put again: the owner's own slot is updated, no second entry. */
	github_install_put(&c, "acme", 7, 1100);
	ck_assert_int_eq(github_install_find(&c, "acme", 1100), 7);
	for (int i = 1; i < WRIT_GITHUB_INSTALL_SLOTS; i++) {
		snprintf(owner, sizeof(owner), "owner%d", i);
		github_install_put(&c, owner, 100 + i, 1100 + i);
	}
	/* Sixteen owners, all kept: no live entry lost while there was room. */
	ck_assert_int_eq(github_install_find(&c, "acme", 1200), 7);
	for (int i = 1; i < WRIT_GITHUB_INSTALL_SLOTS; i++) {
		snprintf(owner, sizeof(owner), "owner%d", i);
		ck_assert_int_eq(github_install_find(&c, owner, 1200), 100 + i);
	}
	/* Full: the next owner takes the slot that expires first (acme's). */
	github_install_put(&c, "beta", 4343, 1200);
	ck_assert_int_eq(github_install_find(&c, "beta", 1200), 4343);
	ck_assert_int_eq(github_install_find(&c, "acme", 1200), 0);
	ck_assert_int_eq(github_install_find(&c, "owner1", 1200), 101);
	/* A stale entry goes before any live one (owner1 expires at 1701). */
	github_install_put(&c, "gamma", 5, 1701);
	ck_assert_int_eq(github_install_find(&c, "gamma", 1701), 5);
	for (int i = 2; i < WRIT_GITHUB_INSTALL_SLOTS; i++) {
		snprintf(owner, sizeof(owner), "owner%d", i);
		ck_assert_int_eq(github_install_find(&c, owner, 1701), 100 + i);
	}
	/* An owner too long to keep whole, or a bad id, is not kept nor evicts. */
	memset(owner, 'o', 40);
	owner[40] = '\0';
	github_install_put(&c, owner, 9, 1701);
	owner[39] = '\0';
	ck_assert_int_eq(github_install_find(&c, owner, 1701), 0);
	github_install_put(&c, "delta", 0, 1701);
	github_install_put(&c, "delta", -3, 1701);
	ck_assert_int_eq(github_install_find(&c, "delta", 1701), 0);
	ck_assert_int_eq(github_install_find(&c, "beta", 1701), 4343);
	ck_assert_int_eq(github_install_find(&c, "gamma", 1701), 5);
}
END_TEST

START_TEST(test_limits)
{
	struct github_limits c;
	char owner[64];

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(github_limit_find(&c, 4242, "acme", 1000), 0);
	github_limit_put(&c, 4242, "acme", 30, 1000);
	ck_assert_int_eq(github_limit_find(&c, 4242, "acme", 1000), 30);
	ck_assert_int_eq(github_limit_find(&c, 4242, "acme", 1029), 1);
	ck_assert_int_eq(github_limit_find(&c, 4242, "acme", 1030), 0);
	/* Another installation, another owner: not limited. */
	ck_assert_int_eq(github_limit_find(&c, 4343, "beta", 1000), 0);
	/* The installation unknown (not looked up): matched by its owner. */
	ck_assert_int_eq(github_limit_find(&c, 0, "acme", 1000), 30);
	/* The installation configured for every owner: matched by its id. */
	ck_assert_int_eq(github_limit_find(&c, 4242, "other", 1000), 30);
	/* A shorter answer later does not cut the wait short; a longer one extends it. */
	github_limit_put(&c, 4242, "acme", 5, 1010);
	ck_assert_int_eq(github_limit_find(&c, 4242, "acme", 1010), 20);
	github_limit_put(&c, 4242, "acme", 100, 1010);
	ck_assert_int_eq(github_limit_find(&c, 4242, "acme", 1010), 100);
	/* NB. capped: a forged reset or retry-after days ahead waits an hour. */
	ck_assert_int_eq(WRIT_GITHUB_LIMIT_MAX, 3600);
	github_limit_put(&c, 4343, "beta", 3 * 86400, 1000);
	ck_assert_int_eq(github_limit_find(&c, 4343, "beta", 1000), 3600);
	github_limit_put(&c, 5, "gamma", -7, 1000);
	ck_assert_int_eq(github_limit_find(&c, 5, "gamma", 1000), 1);
	/* Owner-only (lookup limited), then the id learnt: one slot. */
	github_limit_put(&c, 0, "delta", 50, 1000);
	github_limit_put(&c, 77, "delta", 10, 1000);
	ck_assert_int_eq(github_limit_find(&c, 77, "x", 1000), 50);
	/* Full: the slot that ends first goes; live ones stay while room is left. */
	for (int i = 0; i < WRIT_GITHUB_LIMIT_SLOTS; i++) {
		snprintf(owner, sizeof(owner), "owner%d", i);
		github_limit_put(&c, 100 + i, owner, 200 + i, 2000);
	}
	for (int i = 1; i < WRIT_GITHUB_LIMIT_SLOTS; i++) {
		snprintf(owner, sizeof(owner), "owner%d", i);
		ck_assert_int_eq(github_limit_find(&c, 100 + i, owner, 2000), 200 + i);
	}
	/* An owner too long to keep whole is not kept. */
	memset(owner, 'o', 40);
	owner[40] = '\0';
	github_limit_put(&c, 0, owner, 60, 2000);
	ck_assert_int_eq(github_limit_find(&c, 0, owner, 2000), 0);
}
END_TEST

Suite *
github_suite(void)
{
	Suite *s = suite_create("github");
	TCase *tc = tcase_create("scope");

	tcase_add_test(tc, test_canonical);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_property);
	suite_add_tcase(s, tc);
	tc = tcase_create("mint");
	tcase_add_test(tc, test_granted_within);
	tcase_add_test(tc, test_install_cache);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return s;
}
