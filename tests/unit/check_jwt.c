/* check_jwt.c - the jwt kind: scopes, the key file, token encoding. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <openssl/evp.h>

#include "errors.h"
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
	return canon_with(&jwt_grammar, text, out, outlen);
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

/*
 * An independent reference for a plain value (kind.h, jwt.h): 1..max of
 * [A-Za-z0-9._:/@+-]; no ".."; not beginning or ending with '/'; "//"
 * nowhere except right after the first ':' (a URL's "scheme://").
 */
static bool
ref_plain(const char *s, size_t max)
{
	size_t n = strlen(s);
	const char *colon = strchr(s, ':');

	if (n < 1 || n > max || s[0] == '/' || s[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9');

		if (!alnum && strchr("._:/@+-", s[i]) == NULL)
			return false;
		if (i + 1 < n && s[i] == '.' && s[i + 1] == '.')
			return false;
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '/' &&
		    (colon == NULL || s + i != colon + 1))
			return false;
	}
	return true;
}

/* A value: valid most of the time, else broken in one targeted way. */
static void
gen_value(char *out, size_t size, size_t max)
{
	static const char *const parts[] = { "api", "Example", "com", "v1", "x9", "localhost",
	    "8080", "a-b", "c_d", "u@h", "p+q" };
	static const char *const seps[] = { ".", "/", ":", "-" };
	static const char *const bad[] = { "..", "//", "*", "?", " ", "\t", "\x01", "\x7f",
	    "\xc3\xa9", "[", "%", "\\", "\"", "~" };
	size_t len = 0;
	unsigned int k = 1 + randombytes_uniform(4);

	out[0] = '\0';
	if (randombytes_uniform(4) == 0)
		len += (size_t)snprintf(out, size, "https://");
	for (unsigned int i = 0; i < k; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? seps[randombytes_uniform(4)] : "",
		    parts[randombytes_uniform(sizeof(parts) / sizeof(parts[0]))]);
	switch (randombytes_uniform(12)) {
	case 0:		/* a forbidden sequence anywhere */
		insert_random(out, size, bad[randombytes_uniform(sizeof(bad) / sizeof(bad[0]))]);
		break;
	case 1:		/* a slash at either end */
		{
			char tmp[1024];

			snprintf(tmp, sizeof(tmp), randombytes_uniform(2) ? "/%s" : "%s/", out);
			snprintf(out, size, "%s", tmp);
		}
		break;
	case 2:		/* a second "://" or "//" after a path */
		snprintf(out + len, size - len, randombytes_uniform(2) ? "://x" : "/a//b");
		break;
	case 3:		/* at and just over the length limit */
		{
			size_t l = max - 1 + randombytes_uniform(3);

			if (l < size) {
				memset(out, 'a', l);
				out[l] = '\0';
			}
		}
		break;
	default:
		break;
	}
}

/*
 * Property: canonicalize accepts exactly what the reference accepts (aud
 * and every scope word plain values, 1-16 words of at most 64), and gives
 * the reference's canonical form (words sorted bytewise, unique), a fixed
 * point.
 */
START_TEST(test_property)
{
	unsigned int accepted = 0, refused = 0;

	for (int round = 0; round < 5000; round++) {
		char aud[512], out[8192], again[8192], *text, *want;
		json_t *in, *words = json_array(), *uniq = json_array(), *ws;
		bool ok;
		unsigned int nw = randombytes_uniform(3) == 0 ? randombytes_uniform(19) : 0;

		gen_value(aud, sizeof(aud), WRIT_JWT_MAX_AUD);
		ok = ref_plain(aud, WRIT_JWT_MAX_AUD);
		in = json_pack("{ss}", "aud", aud);
		ck_assert_ptr_nonnull(in);
		for (unsigned int i = 0; i < nw; i++) {
			char w[512];
			size_t at;

			gen_value(w, sizeof(w), WRIT_JWT_MAX_WORD);
			if (randombytes_uniform(3) == 0 && json_array_size(words) > 0)
				snprintf(w, sizeof(w), "%s", json_string_value(json_array_get(words, 0)));
			json_array_append_new(words, json_string(w));
			if (!ref_plain(w, WRIT_JWT_MAX_WORD)) {
				ok = false;
				continue;
			}
			for (at = 0; at < json_array_size(uniq) &&
			    strcmp(json_string_value(json_array_get(uniq, at)), w) < 0; at++)
				;
			if (at == json_array_size(uniq) ||
			    strcmp(json_string_value(json_array_get(uniq, at)), w) != 0)
				json_array_insert_new(uniq, at, json_string(w));
		}
		if (json_array_size(uniq) > WRIT_JWT_MAX_WORDS)
			ok = false;
		if (nw > 0)
			json_object_set(in, "scope", words);
		text = json_dumps(in, JSON_COMPACT);
		ws = nw > 0 ? json_pack("{sssO}", "aud", aud, "scope", uniq) : json_pack("{ss}", "aud", aud);
		want = json_dumps(ws, JSON_COMPACT | JSON_SORT_KEYS);
		if (canon(text, out, sizeof(out)) == 0) {
			ck_assert_msg(ok, "accepted %s", text);
			ck_assert_msg(strcmp(out, want) == 0, "%s: got %s, want %s", text, out, want);
			ck_assert_int_eq(canon(out, again, sizeof(again)), 0);
			ck_assert_str_eq(out, again);
			accepted++;
		} else {
			ck_assert_msg(!ok, "refused %s", text);
			refused++;
		}
		free(text);
		free(want);
		json_decref(ws);
		json_decref(in);
		json_decref(words);
		json_decref(uniq);
	}
	ck_assert_msg(accepted > 2500 && refused > 500, "accepted %u, refused %u", accepted, refused);
}
END_TEST

/* base64url without padding, decoded by hand (not by the library that encoded it). */
static size_t
unb64url(const char *s, size_t len, unsigned char *out, size_t size)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;

	ck_assert_msg(len % 4 != 1, "not base64url: %.*s", (int)len, s);
	for (size_t i = 0; i < len; i++) {
		const char *p = memchr(abc, s[i], 64);

		ck_assert_msg(p != NULL && s[i] != '\0', "not base64url: %.*s", (int)len, s);
		acc = acc << 6 | (uint32_t)(p - abc);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			ck_assert(n < size);
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	ck_assert_msg((acc & ((1u << bits) - 1)) == 0, "non-canonical base64url");
	return n;
}

static json_t *
b64_json(const char *s, size_t len)
{
	unsigned char bin[2048];
	size_t n = unb64url(s, len, bin, sizeof(bin));

	return json_loadb((const char *)bin, n, JSON_REJECT_DUPLICATES, NULL);
}

/* Ed25519 verification by OpenSSL, not by libsodium which signed. */
static bool
ossl_verify(const unsigned char pk[32], const void *msg, size_t len, const unsigned char sig[64])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok;

	ck_assert(k != NULL && md != NULL);
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(md, sig, 64, msg, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return ok;
}

/* The JWKS's one key: checked field by field; its raw public key in pk. */
static void
jwks_key(void *state, unsigned char pk[32], char kid[64])
{
	json_t *jwks = kind_jwt.public_keys(state), *k;
	const char *x;

	ck_assert_int_eq(json_array_size(json_object_get(jwks, "keys")), 1);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(k, "kty")), "OKP");
	ck_assert_str_eq(json_string_value(json_object_get(k, "crv")), "Ed25519");
	ck_assert_str_eq(json_string_value(json_object_get(k, "alg")), "EdDSA");
	ck_assert_ptr_null(json_object_get(k, "d"));	/* never the private half */
	x = json_string_value(json_object_get(k, "x"));
	ck_assert_int_eq(unb64url(x, strlen(x), pk, 32), 32);
	snprintf(kid, 64, "%s", json_string_value(json_object_get(k, "kid")));
	json_decref(jwks);
}

/*
 * Mint (words: the canonical scope words or NULL, borrowed), then check the
 * token from first principles: three base64url parts
 * decoded by hand, the header and exactly the claims jwt.h names with the
 * values asked for, and an Ed25519 signature OpenSSL verifies with the
 * JWKS key -- and rejects after any one bit of the signed part changes.
 */
static void
mint_and_check(void *state, const char *aud, json_t *words, int64_t iat, int64_t exp)
{
	static const char *const want_keys[] = { "aud", "exp", "iat", "iss", "jti", "sub", "scope" };
	char err[WRIT_ERRLEN], id[33], sid[33], kid[64], *flip;
	unsigned char pk[32], sig[64], id_raw[16];
	struct kind_token kt = { 0 };
	json_t *scope = json_pack("{ss}", "aud", aud), *head, *claims;
	const char *t, *dot1, *dot2;
	struct kind_mint m = { .writ_id = id, .session_id = sid, .scope = scope,
	    .issued_at = iat, .expires_at = exp };
	size_t nkeys = words != NULL ? 7 : 6;

	randombytes_buf(id_raw, sizeof(id_raw));
	sodium_bin2hex(id, sizeof(id), id_raw, sizeof(id_raw));
	randombytes_buf(id_raw, sizeof(id_raw));
	sodium_bin2hex(sid, sizeof(sid), id_raw, sizeof(id_raw));
	if (words != NULL)
		json_object_set(scope, "scope", words);
	jwks_key(state, pk, kid);
	ck_assert_int_eq(kind_jwt.mint(state, &m, &kt, err), 0);
	t = (const char *)kt.token->data;
	ck_assert_uint_eq(strlen(t), kt.token->len);
	dot1 = strchr(t, '.');
	dot2 = strrchr(t, '.');
	ck_assert(dot1 != NULL && dot2 != dot1 && strchr(dot1 + 1, '.') == dot2);

	head = b64_json(t, (size_t)(dot1 - t));
	ck_assert_ptr_nonnull(head);
	ck_assert_int_eq(json_object_size(head), 3);
	ck_assert_str_eq(json_string_value(json_object_get(head, "alg")), "EdDSA");
	ck_assert_str_eq(json_string_value(json_object_get(head, "typ")), "JWT");
	ck_assert_str_eq(json_string_value(json_object_get(head, "kid")), kid);
	json_decref(head);

	claims = b64_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	ck_assert_ptr_nonnull(claims);
	ck_assert_uint_eq(json_object_size(claims), nkeys);
	for (size_t i = 0; i < nkeys; i++)
		ck_assert_msg(json_object_get(claims, want_keys[i]) != NULL, "no %s", want_keys[i]);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")), "writ");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), sid);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "aud")), aud);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "jti")), id);
	ck_assert(json_is_integer(json_object_get(claims, "iat")) &&
	    json_integer_value(json_object_get(claims, "iat")) == iat);
	ck_assert(json_is_integer(json_object_get(claims, "exp")) &&
	    json_integer_value(json_object_get(claims, "exp")) == exp);
	if (words != NULL) {
		/* The OAuth form: the words, space-separated, in the scope's order. */
		char joined[2048] = "";
		size_t i, len = 0;
		json_t *w;

		json_array_foreach(words, i, w)
			len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s",
			    i ? " " : "", json_string_value(w));
		ck_assert_str_eq(json_string_value(json_object_get(claims, "scope")), joined);
	}
	json_decref(claims);

	ck_assert_int_eq(unb64url(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig)), 64);
	ck_assert_msg(ossl_verify(pk, t, (size_t)(dot2 - t), sig), "OpenSSL rejects the signature");
	flip = malloc((size_t)(dot2 - t));
	memcpy(flip, t, (size_t)(dot2 - t));
	flip[randombytes_uniform((uint32_t)(dot2 - t))] ^= (char)(1u << randombytes_uniform(8));
	ck_assert_msg(!ossl_verify(pk, flip, (size_t)(dot2 - t), sig), "a changed token verifies");
	free(flip);
	sig[randombytes_uniform(64)] ^= (unsigned char)(1u << randombytes_uniform(8));
	ck_assert(!ossl_verify(pk, t, (size_t)(dot2 - t), sig));
	secret_free(kt.token);
	json_decref(scope);
}

START_TEST(test_mint_and_verify)
{
	char err[WRIT_ERRLEN];
	void *state = NULL;
	unsigned char pk[32], pk2[32], raw[32];
	size_t rawlen = sizeof(raw);
	char kid[64];
	EVP_PKEY *k;

	ck_assert_int_eq(kind_jwt.init(NULL, &env, &state, err), 0);
	/* The JWKS publishes the public half of the seed in the store (by OpenSSL). */
	ck_assert_str_eq(mem[0].name, "jwt-signing-key");
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, mem[0].v, 32);
	ck_assert(k != NULL && EVP_PKEY_get_raw_public_key(k, raw, &rawlen) == 1 && rawlen == 32);
	EVP_PKEY_free(k);
	jwks_key(state, pk, kid);
	ck_assert_mem_eq(pk, raw, 32);

	{
		json_t *rw = json_pack("[ss]", "read", "write");

		mint_and_check(state, "example", rw, 1700000000, 1700000300);
		json_decref(rw);
	}
	mint_and_check(state, "https://api.example.com/v1", NULL, 1, 2);
	for (int round = 0; round < 200; round++) {
		/* Whatever canonicalize makes of a valid request mints as asked. */
		char aud[512], text[4096], out[8192];
		json_t *c, *in = json_object(), *ws = json_array();
		int64_t iat = 1 + (int64_t)randombytes_uniform(2000000000);
		char *t;

		do
			gen_value(aud, sizeof(aud), WRIT_JWT_MAX_AUD);
		while (!ref_plain(aud, WRIT_JWT_MAX_AUD));
		json_object_set_new(in, "aud", json_string(aud));
		for (unsigned int i = randombytes_uniform(5); i > 0; i--) {
			char w[512];

			do
				gen_value(w, sizeof(w), WRIT_JWT_MAX_WORD);
			while (!ref_plain(w, WRIT_JWT_MAX_WORD));
			json_array_append_new(ws, json_string(w));
		}
		if (json_array_size(ws) > 0)
			json_object_set(in, "scope", ws);
		t = json_dumps(in, JSON_COMPACT);
		snprintf(text, sizeof(text), "%s", t);
		free(t);
		ck_assert_int_eq(canon(text, out, sizeof(out)), 0);
		c = json_loads(out, 0, NULL);
		mint_and_check(state, json_string_value(json_object_get(c, "aud")),
		    json_object_get(c, "scope"), iat, iat + 1 + (int64_t)randombytes_uniform(86400));
		json_decref(c);
		json_decref(in);
		json_decref(ws);
	}
	kind_jwt.fini(state);

	/* The key persists: a second start signs with the same key. */
	ck_assert_int_eq(kind_jwt.init(NULL, &env, &state, err), 0);
	jwks_key(state, pk2, kid);
	ck_assert_mem_eq(pk, pk2, 32);
	mint_and_check(state, "example", NULL, 10, 20);
	kind_jwt.fini(state);
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
