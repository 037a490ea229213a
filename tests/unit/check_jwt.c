/* check_jwt.c - the jwt kind: scopes, the key file, token encoding. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "../../broker/errors.h"
#include "../../plugins/jwt/jwt.h"
#include "check.h"

static char dir[64];

/* An in-memory secret store for the kind's env. */
static struct { char name[64]; unsigned char v[64]; size_t len; } mem[4];

static int
mem_get(const char *name, struct secret **ret)
{
	for (size_t i = 0; i < 4; i++)
		if (strcmp(mem[i].name, name) == 0) {
			*ret = secret_dup(mem[i].v, mem[i].len);
			return 0;
		}
	return WRIT_ENOTFOUND;
}

static int
mem_put(const char *name, const void *v, size_t len, char err[WRIT_ERRLEN])
{
	(void)err;
	for (size_t i = 0; i < 4; i++)
		if (mem[i].name[0] == '\0' || strcmp(mem[i].name, name) == 0) {
			snprintf(mem[i].name, sizeof(mem[i].name), "%s", name);
			memcpy(mem[i].v, v, len);
			mem[i].len = len;
			return 0;
		}
	return WRIT_ENOMEM;
}

static struct kind_env env = { .state_dir = dir, .secret_get = mem_get, .secret_put = mem_put };

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/writ-jwt-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(mem, 0, sizeof(mem));
}

static void
teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/jwt-ed25519.key", dir);
	unlink(path);
	rmdir(dir);
}

static int
canon(const char *text, char *out, size_t outlen)
{
	return canon_with(&kind_jwt, text, out, outlen);
}

START_TEST(test_canonicalize)
{
	char out[512], again[512];

	ck_assert_int_eq(canon("{\"aud\":\"example\"}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"aud\":\"example\"}");
	ck_assert_int_eq(canon("{\"aud\":\"https://api.example.com/v1\"}", out, sizeof(out)), 0);
	ck_assert_int_eq(canon("{\"aud\":\"x\",\"scope\":\"  write read  read \"}", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "{\"aud\":\"x\",\"scope\":[\"read\",\"write\"]}");
	/* Idempotent: the canonical form canonicalizes to itself. */
	ck_assert_int_eq(canon(out, again, sizeof(again)), 0);
	ck_assert_str_eq(out, again);
}
END_TEST

START_TEST(test_refused)
{
	static const char *const cases[] = {
		"{}", "{\"aud\":\"\"}", "{\"aud\":7}", "{\"aud\":\"a\",\"x\":\"y\"}",
		"{\"aud\":\"a/../b\"}", "{\"aud\":\"..\"}", "{\"aud\":\"a*\"}",
		"{\"aud\":\"a?\"}", "{\"aud\":\"[a]\"}", "{\"aud\":\"a b\"}",
		"{\"aud\":\"a\\nb\"}", "{\"aud\":\"a\\rb\"}", "{\"aud\":\"a\\tb\"}",
		"{\"aud\":\"\\u00e9\"}", "{\"aud\":\"\\u202e\"}", "{\"aud\":\"a//b\"}",
		"{\"aud\":\"/a\"}", "{\"aud\":\"a/\"}", "{\"aud\":\"x://y//z\"}",
		"{\"aud\":\"x\",\"scope\":\"\"}", "{\"aud\":\"x\",\"scope\":\"a *\"}",
		"{\"aud\":\"x\",\"scope\":7}", "[\"aud\"]", "{\"aud\":\"x\",\"scope\":[]}",
		"{\"aud\":\"x\",\"scope\":[\"a b\"]}", "{\"aud\":\"x\",\"scope\":[1]}",
		"{\"aud\":\"x\",\"scope\":\"   \"}",
	};
	char out[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(canon(cases[i], out, sizeof(out)) == WRIT_ESCOPE,
		    "accepted %s", cases[i]);
}
END_TEST

/* Property: whatever canonicalize accepts is in the grammar and stable. */
START_TEST(test_property)
{
	static const char alphabet[] = "aZ09._:/@+-*?. \x01\x7f\xc3\xa9";

	for (int n = 0; n < 5000; n++) {
		char aud[12], text[128], out[512], again[512];
		size_t len = 1 + randombytes_uniform(sizeof(aud) - 1);
		json_t *in;

		for (size_t i = 0; i < len; i++)
			aud[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		aud[len] = '\0';
		in = json_pack("{ss}", "aud", aud);
		if (in == NULL)
			continue;	/* not UTF-8: jansson refuses it already */
		{
			char *t = json_dumps(in, JSON_COMPACT);

			snprintf(text, sizeof(text), "%s", t);
			free(t);
		}
		json_decref(in);
		if (canon(text, out, sizeof(out)) != 0)
			continue;
		ck_assert(kinds_plain_value(aud, WRIT_JWT_MAX_AUD));
		ck_assert_ptr_null(strstr(aud, ".."));
		ck_assert_ptr_null(strpbrk(aud, "*? \x01\x7f"));
		ck_assert_int_eq(canon(out, again, sizeof(again)), 0);
		ck_assert_str_eq(out, again);
	}
}
END_TEST

static json_t *
b64_json(const char *s, size_t len)
{
	unsigned char bin[1024];
	size_t n;

	ck_assert_int_eq(sodium_base642bin(bin, sizeof(bin), s, len, NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	return json_loadb((const char *)bin, n, 0, NULL);
}

START_TEST(test_mint_and_verify)
{
	char err[WRIT_ERRLEN];
	void *state = NULL;
	struct kind_token kt = { 0 };
	struct secret *tok;
	json_t *scope = json_pack("{sss[ss]}", "aud", "example", "scope", "read", "write"), *jwks, *claims;
	struct kind_mint m = { .writ_id = "0123456789abcdef0123456789abcdef",
	    .session_id = "fedcba9876543210fedcba9876543210", .scope = scope,
	    .issued_at = 1700000000, .expires_at = 1700000300 };
	unsigned char pk[32], sig[64];
	const char *t, *dot1, *dot2;
	size_t n;

	ck_assert_int_eq(kind_jwt.init(NULL, &env, &state, err), 0);
	ck_assert_int_eq(kind_jwt.mint(state, &m, &kt, err), 0);
	tok = kt.token;
	t = (const char *)tok->data;
	ck_assert_int_eq(strlen(t), tok->len);
	dot1 = strchr(t, '.');
	dot2 = strrchr(t, '.');
	ck_assert(dot1 != NULL && dot2 != dot1);
	claims = b64_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	ck_assert_ptr_nonnull(claims);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")), "writ");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), m.session_id);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "aud")), "example");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "scope")), "read write");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "jti")), m.writ_id);
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "iat")), m.issued_at);
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "exp")), m.expires_at);
	json_decref(claims);

	/* The signature verifies with the JWKS key, and fails on any change. */
	jwks = kind_jwt.public_keys(state);
	ck_assert_int_eq(sodium_base642bin(pk, sizeof(pk),
	    json_string_value(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "x")),
	    43, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	ck_assert_int_eq(n, 32);
	ck_assert_int_eq(sodium_base642bin(sig, sizeof(sig), dot2 + 1, strlen(dot2 + 1),
	    NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	ck_assert_int_eq(crypto_sign_verify_detached(sig, (const unsigned char *)t,
	    (size_t)(dot2 - t), pk), 0);
	tok->data[5] ^= 1;
	ck_assert_int_ne(crypto_sign_verify_detached(sig, (const unsigned char *)t,
	    (size_t)(dot2 - t), pk), 0);
	json_decref(jwks);
	secret_free(tok);
	kind_jwt.fini(state);

	/* The key persists: a second start signs with the same key. */
	ck_assert_int_eq(kind_jwt.init(NULL, &env, &state, err), 0);
	jwks = kind_jwt.public_keys(state);
	{
		unsigned char pk2[32];

		ck_assert_int_eq(sodium_base642bin(pk2, sizeof(pk2),
		    json_string_value(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "x")),
		    43, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
		ck_assert_mem_eq(pk, pk2, 32);
	}
	json_decref(jwks);
	kind_jwt.fini(state);
	json_decref(scope);
}
END_TEST

START_TEST(test_key_file_migrated)
{
	char err[WRIT_ERRLEN], path[128];
	unsigned char seed[32];
	void *state = NULL;
	int fd;

	/* Made on first start, in the store, not on disk. */
	ck_assert_int_eq(kind_jwt.init(NULL, &env, &state, err), 0);
	kind_jwt.fini(state);
	ck_assert_str_eq(mem[0].name, "jwt-signing-key");
	ck_assert_int_eq(mem[0].len, 32);
	snprintf(path, sizeof(path), "%s/jwt-ed25519.key", dir);
	ck_assert_int_ne(access(path, F_OK), 0);

	/* An old key file is moved into the store, then removed. */
	memset(mem, 0, sizeof(mem));
	randombytes_buf(seed, sizeof(seed));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_eq(write(fd, seed, 32), 32);
	close(fd);
	ck_assert_int_eq(kind_jwt.init(NULL, &env, &state, err), 0);
	kind_jwt.fini(state);
	ck_assert_mem_eq(mem[0].v, seed, 32);
	ck_assert_int_ne(access(path, F_OK), 0);

	/* ...but not one others could read, a short one, or a symlink. */
	memset(mem, 0, sizeof(mem));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	ck_assert_int_eq(write(fd, seed, 32), 32);
	close(fd);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_lt(kind_jwt.init(NULL, &env, &state, err), 0);
	ck_assert_ptr_nonnull(strstr(err, "0600"));
	ck_assert_int_eq(chmod(path, 0600), 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "short", 5), 5);
	close(fd);
	ck_assert_int_lt(kind_jwt.init(NULL, &env, &state, err), 0);
	ck_assert_ptr_nonnull(strstr(err, "bytes"));
	unlink(path);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_lt(kind_jwt.init(NULL, &env, &state, err), 0);
	unlink(path);

	/* A stored key of the wrong size is refused. */
	memset(mem, 0, sizeof(mem));
	mem_put("jwt-signing-key", "tiny", 4, err);
	ck_assert_int_lt(kind_jwt.init(NULL, &env, &state, err), 0);
	ck_assert_ptr_nonnull(strstr(err, "seed"));
}
END_TEST

START_TEST(test_config)
{
	char err[WRIT_ERRLEN];
	void *state = NULL;
	json_t *c = json_pack("{ss}", "issuer", "https://writ.example");

	ck_assert_int_eq(kind_jwt.init(c, &env, &state, err), 0);
	kind_jwt.fini(state);
	json_object_set_new(c, "issuer", json_string("bad issuer"));
	ck_assert_int_lt(kind_jwt.init(c, &env, &state, err), 0);
	ck_assert_ptr_nonnull(strstr(err, "issuer"));
	json_object_set_new(c, "issuer", json_string("ok"));
	json_object_set_new(c, "secret", json_string("x"));
	ck_assert_int_lt(kind_jwt.init(c, &env, &state, err), 0);
	ck_assert_ptr_nonnull(strstr(err, "secret"));
	json_decref(c);
}
END_TEST

Suite *
jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("kind");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_canonicalize);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_property);
	tcase_add_test(tc, test_mint_and_verify);
	tcase_add_test(tc, test_key_file_migrated);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	return s;
}
