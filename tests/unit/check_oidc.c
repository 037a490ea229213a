/*
 * check_oidc.c - a CI job's OIDC ID token: good RS256 and ES256 tokens
 * verify; every forgery, confusion and stale or foreign token is refused
 * with its own message; the JWKS file is re-read when a kid is unknown,
 * and dropped once older than its ttl.
 *
 * Keys are made at test time (RSA-2048, a second RSA-2048 for rotation,
 * RSA-1024 to be refused, EC P-256) in an unchecked fixture, so once per
 * run; tokens are signed here with OpenSSL, JWKS files written to a
 * private temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "../../broker/config.h"
#include "errors.h"
#include "../../broker/oidc.h"
#include "check.h"

#define NOW ((int64_t)1900000000)
#define ISS "https://ci.example"
#define AUD "writ"

static EVP_PKEY *rsa, *rsa2, *rsa1024, *ec;
static char dir[64], jwks_path[128];
static struct oidc_issuer issuers[2];

/* ---- helpers ---- */

static void
b64u(char *dst, size_t size, const void *src, size_t len)
{
	sodium_bin2base64(dst, size, src, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void
bn_b64u(char *dst, size_t size, const BIGNUM *bn, int pad)
{
	unsigned char buf[1100];
	int n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);

	ck_assert_int_gt(n, 0);
	b64u(dst, size, buf, (size_t)n);
}

/* The public JWK of k with kid, as JSON text. */
static json_t *
jwk(EVP_PKEY *k, const char *kid)
{
	char a[1500], b[1500];
	BIGNUM *x = NULL, *y = NULL;
	json_t *j;

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &x) == 1);
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &y) == 1);
		bn_b64u(a, sizeof(a), x, 0);
		bn_b64u(b, sizeof(b), y, 0);
		j = json_pack("{ssssssssssss}", "kty", "RSA", "use", "sig", "alg", "RS256",
		    "kid", kid, "n", a, "e", b);
	} else {
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1);
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1);
		bn_b64u(a, sizeof(a), x, 32);
		bn_b64u(b, sizeof(b), y, 32);
		j = json_pack("{ssssssssssss}", "kty", "EC", "crv", "P-256", "use", "sig",
		    "kid", kid, "x", a, "y", b);
	}
	BN_free(x);
	BN_free(y);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* Write {"keys": keys} (stolen) to path, atomically, mode 0600. */
static void
write_jwks(const char *path, json_t *keys)
{
	char tmp[160];
	json_t *doc = json_pack("{so}", "keys", keys);

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(json_dump_file(doc, tmp, JSON_COMPACT), 0);
	ck_assert_int_eq(chmod(tmp, 0600), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	json_decref(doc);
}

/* The usual set: r1 (RSA), e1 (EC P-256), plus junk that must be skipped. */
static void
write_default_jwks(void)
{
	json_t *keys = json_array();

	json_array_append_new(keys, jwk(rsa, "r1"));
	json_array_append_new(keys, jwk(ec, "e1"));
	/* Skipped: an encryption key, a symmetric key, another curve, another alg. */
	json_array_append_new(keys, json_pack("{ssssssssss}", "kty", "RSA", "use", "enc",
	    "kid", "enc1", "n", "AQAB", "e", "AQAB"));
	json_array_append_new(keys, json_pack("{ssssss}", "kty", "oct", "kid", "hmac", "k", "c2VjcmV0"));
	json_array_append_new(keys, json_pack("{ssssssssss}", "kty", "EC", "crv", "P-384",
	    "kid", "p384", "x", "AA", "y", "AA"));
	json_array_append_new(keys, json_pack("{ssssssssss}", "kty", "RSA", "alg", "RS512",
	    "kid", "rs512", "n", "AQAB", "e", "AQAB"));
	write_jwks(jwks_path, keys);
}

enum how { SIG_RS, SIG_ES, SIG_HS_PEM, SIG_EMPTY, SIG_JUNK };

/* header.claims.signature from the JSON texts, signed as how says with k. */
static void
mktoken(char *out, size_t size, const char *hdr, const char *claims, enum how how,
    EVP_PKEY *k)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig), n;
	EVP_MD_CTX *md;

	b64u(out, size, hdr, strlen(hdr));
	n = strlen(out);
	out[n++] = '.';
	b64u(out + n, size - n, claims, strlen(claims));
	n = strlen(out);
	switch (how) {
	case SIG_RS:
	case SIG_ES:
		md = EVP_MD_CTX_new();
		ck_assert(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1);
		ck_assert(EVP_DigestSign(md, sig, &siglen, (unsigned char *)out, n) == 1);
		EVP_MD_CTX_free(md);
		if (how == SIG_ES) {
			/* DER to JOSE r||s */
			const unsigned char *p = sig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
			const BIGNUM *r, *s;

			ck_assert_ptr_nonnull(es);
			ECDSA_SIG_get0(es, &r, &s);
			ck_assert_int_eq(BN_bn2binpad(r, sig, 32), 32);
			ck_assert_int_eq(BN_bn2binpad(s, sig + 32, 32), 32);
			ECDSA_SIG_free(es);
			siglen = 64;
		}
		break;
	case SIG_HS_PEM: {
		/* The classic confusion: the RSA public key's PEM as the HMAC secret. */
		crypto_auth_hmacsha256_state st;
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem;
		long pemlen;

		ck_assert(PEM_write_bio_PUBKEY(bio, k) == 1);
		pemlen = BIO_get_mem_data(bio, &pem);
		crypto_auth_hmacsha256_init(&st, (unsigned char *)pem, (size_t)pemlen);
		crypto_auth_hmacsha256_update(&st, (unsigned char *)out, n);
		crypto_auth_hmacsha256_final(&st, sig);
		siglen = 32;
		BIO_free(bio);
		break;
	}
	case SIG_EMPTY:
		siglen = 0;
		break;
	case SIG_JUNK:
		memset(sig, 0x5a, 256);
		siglen = 256;
		break;
	}
	out[n++] = '.';
	out[n] = '\0';
	if (siglen > 0)
		b64u(out + n, size - n, sig, siglen);
}

/* Standard claims with iat, exp and aud as given. */
static void
claims_with(char *out, size_t size, const char *iss, const char *aud_json, int64_t iat,
    int64_t exp)
{
	snprintf(out, size, "{\"iss\":\"%s\",\"sub\":\"repo:acme/docs:ref:refs/heads/main\","
	    "\"aud\":%s,\"iat\":%lld,\"exp\":%lld,\"repository\":\"acme/docs\"}", iss, aud_json,
	    (long long)iat, (long long)exp);
}

static void
good_claims(char *out, size_t size)
{
	claims_with(out, size, ISS, "\"" AUD "\"", NOW - 10, NOW + 300);
}

/* tok is refused, with want in the message, nothing returned, the token not echoed. */
#define refused(tok, want) refused_at(tok, want, __LINE__)
static void
refused_at(const char *tok, const char *want, int line)
{
	const struct oidc_issuer *who = NULL;
	json_t *claims = NULL;
	char err[WRIT_ERRLEN] = "";
	const char *sigpart = strrchr(tok, '.');
	int r = oidc_verify(tok, NOW, &claims, &who, err);

	ck_assert_msg(r == WRIT_EIDENTITY && strstr(err, want) != NULL,
	    "line %d: want %d \"%s\", got %d \"%s\"", line, WRIT_EIDENTITY, want, r, err);
	ck_assert_ptr_null(claims);
	ck_assert_ptr_null(who);
	/* Never the token, nor its signature, in the message. */
	ck_assert(strlen(tok) < 16 || strstr(err, tok) == NULL);
	ck_assert(sigpart == NULL || strlen(sigpart) < 16 || strstr(err, sigpart + 1) == NULL);
}

static json_t *
verifies(const char *tok, const struct oidc_issuer *want)
{
	const struct oidc_issuer *who = NULL;
	json_t *claims = NULL;
	char err[WRIT_ERRLEN] = "";
	int r = oidc_verify(tok, NOW, &claims, &who, err);

	ck_assert_msg(r == 0, "refused: %s", err);
	ck_assert_ptr_eq(who, want);
	ck_assert_ptr_nonnull(claims);
	return claims;
}

static void
issuer_init(struct oidc_issuer *is, const char *iss, bool rs, bool es)
{
	memset(is, 0, sizeof(*is));
	snprintf(is->issuer, sizeof(is->issuer), "%s", iss);
	snprintf(is->jwks_file, sizeof(is->jwks_file), "%s", jwks_path);
	snprintf(is->audience, sizeof(is->audience), "%s", AUD);
	is->rs256 = rs;
	is->es256 = es;
	is->jwks_ttl = 3600;
	is->grace = 300;
}

/* Start with the default JWKS: ISS (both algs) and https://es.example (ES256 only). */
static void
start(void)
{
	char err[WRIT_ERRLEN];

	write_default_jwks();
	issuer_init(&issuers[0], ISS, true, true);
	issuer_init(&issuers[1], "https://es.example", false, true);
	ck_assert_msg(oidc_start(issuers, 2, err) == 0, "%s", err);
}

/* ---- fixtures ---- */

static void
keys_setup(void)
{
	rsa = EVP_RSA_gen(2048);
	rsa2 = EVP_RSA_gen(2048);
	rsa1024 = EVP_RSA_gen(1024);
	ec = EVP_EC_gen("P-256");
	if (rsa == NULL || rsa2 == NULL || rsa1024 == NULL || ec == NULL)
		abort();
	snprintf(dir, sizeof(dir), "/tmp/writ-oidc-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(jwks_path, sizeof(jwks_path), "%s/jwks.json", dir);
}

static void
keys_teardown(void)
{
	char p[200];

	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(ec);
	unlink(jwks_path);
	snprintf(p, sizeof(p), "%s.tmp", jwks_path);
	unlink(p);
	rmdir(dir);
}

/* ---- verification ---- */

START_TEST(test_good_rs256)
{
	char c[512], t[4096];
	json_t *claims;

	start();
	good_claims(c, sizeof(c));
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}", c, SIG_RS, rsa);
	claims = verifies(t, &issuers[0]);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "repository")), "acme/docs");
	ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")), ISS);
	json_decref(claims);
	/* aud as an array holding ours among others; exp just inside the skew. */
	claims_with(c, sizeof(c), ISS, "[\"other\",\"" AUD "\"]", NOW - 10, NOW - OIDC_SKEW + 1);
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	json_decref(verifies(t, &issuers[0]));
	oidc_stop();
}
END_TEST

START_TEST(test_good_es256)
{
	char c[512], t[4096];
	json_t *claims;

	start();
	good_claims(c, sizeof(c));
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, SIG_ES, ec);
	claims = verifies(t, &issuers[0]);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")),
	    "repo:acme/docs:ref:refs/heads/main");
	json_decref(claims);
	/* The ES256-only issuer takes it too. */
	claims_with(c, sizeof(c), "https://es.example", "\"" AUD "\"", NOW, NOW + 60);
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, SIG_ES, ec);
	json_decref(verifies(t, &issuers[1]));
	oidc_stop();
}
END_TEST

START_TEST(test_forged)
{
	char c[512], t[4096], *sig;

	start();
	good_claims(c, sizeof(c));
	/* One byte of the signature flipped (a middle character: no trailing-bit effect). */
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	sig = strrchr(t, '.') + 1;
	sig[40] = sig[40] == 'A' ? 'B' : 'A';
	refused(t, "signature does not verify");
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, SIG_ES, ec);
	sig = strrchr(t, '.') + 1;
	sig[20] = sig[20] == 'A' ? 'B' : 'A';
	refused(t, "signature does not verify");
	/* Claims changed after signing: a good signature over other bytes. */
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	{
		char c2[512], t2[4096];

		claims_with(c2, sizeof(c2), ISS, "\"" AUD "\"", NOW - 10, NOW + 30000);
		mktoken(t2, sizeof(t2), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c2, SIG_EMPTY, NULL);
		strcat(t2, strrchr(t, '.') + 1);
		refused(t2, "signature does not verify");
	}
	/* Signed by another RSA key under r1's kid. */
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa2);
	refused(t, "signature does not verify");
	/* No signature at all under RS256. */
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_EMPTY, NULL);
	refused(t, "token signature is empty");
	/* Lengths: RS256 with a short signature, ES256 with a DER one. */
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_HS_PEM, rsa);
	refused(t, "RS256 signature length does not match the key");
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, SIG_JUNK, NULL);
	refused(t, "ES256 signature must be 64 bytes");
	oidc_stop();
}
END_TEST

START_TEST(test_claims_refused)
{
	char c[512], t[4096];
	const char *rs = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";

	start();
	claims_with(c, sizeof(c), ISS, "\"someone-else\"", NOW - 10, NOW + 300);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "audience mismatch");
	claims_with(c, sizeof(c), ISS, "[\"a\",\"b\"]", NOW - 10, NOW + 300);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "audience mismatch");
	claims_with(c, sizeof(c), ISS, "[\"writ\",7]", NOW - 10, NOW + 300);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token aud is not a string or an array of strings");
	claims_with(c, sizeof(c), ISS, "\"WRIT\"", NOW - 10, NOW + 300);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "audience mismatch");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"iat\":%lld,\"exp\":%lld}", ISS,
	    (long long)NOW, (long long)NOW + 60);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token has no aud");

	claims_with(c, sizeof(c), "https://evil.example", "\"" AUD "\"", NOW - 10, NOW + 300);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "unknown issuer \"https://evil.example\"");
	claims_with(c, sizeof(c), ISS "/", "\"" AUD "\"", NOW - 10, NOW + 300);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "unknown issuer");
	snprintf(c, sizeof(c), "{\"aud\":\"writ\",\"iat\":%lld,\"exp\":%lld}",
	    (long long)NOW, (long long)NOW + 60);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token has no iss");

	/* Time: expired just past the skew; nbf and iat just past it ahead. */
	claims_with(c, sizeof(c), ISS, "\"" AUD "\"", NOW - 600, NOW - OIDC_SKEW);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token expired");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"writ\",\"iat\":%lld,\"exp\":%lld,"
	    "\"nbf\":%lld}", ISS, (long long)NOW, (long long)NOW + 600,
	    (long long)NOW + OIDC_SKEW + 1);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token not yet valid (nbf");
	claims_with(c, sizeof(c), ISS, "\"" AUD "\"", NOW + OIDC_SKEW + 1, NOW + 600);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token issued in the future (iat");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"writ\",\"iat\":%lld}", ISS, (long long)NOW);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token has no exp");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"writ\",\"exp\":%lld}", ISS,
	    (long long)NOW + 60);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token has no iat");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"writ\",\"iat\":%lld,\"exp\":\"%lld\"}",
	    ISS, (long long)NOW, (long long)NOW + 60);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "token exp is not a NumericDate");
	oidc_stop();
}
END_TEST

START_TEST(test_alg_refused)
{
	char c[512], t[4096];

	start();
	good_claims(c, sizeof(c));
	/* alg none, with no signature and with one. */
	mktoken(t, sizeof(t), "{\"alg\":\"none\",\"kid\":\"r1\"}", c, SIG_EMPTY, NULL);
	refused(t, "alg none refused: tokens must be signed");
	mktoken(t, sizeof(t), "{\"alg\":\"none\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "alg none refused: tokens must be signed");
	mktoken(t, sizeof(t), "{\"alg\":\"None\"}", c, SIG_EMPTY, NULL);
	refused(t, "alg none refused: tokens must be signed");
	/* HS256 keyed with the RSA public key's PEM: the textbook confusion. */
	mktoken(t, sizeof(t), "{\"alg\":\"HS256\",\"kid\":\"r1\"}", c, SIG_HS_PEM, rsa);
	refused(t, "alg HS256 refused: HMAC is never accepted");
	mktoken(t, sizeof(t), "{\"alg\":\"HS512\",\"kid\":\"hmac\"}", c, SIG_HS_PEM, rsa);
	refused(t, "alg HS512 refused: HMAC");
	mktoken(t, sizeof(t), "{\"alg\":\"RS512\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "alg RS512 refused");
	mktoken(t, sizeof(t), "{\"alg\":\"PS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "alg PS256 refused");
	mktoken(t, sizeof(t), "{\"alg\":\"rs256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "alg rs256 refused");
	mktoken(t, sizeof(t), "{\"alg\":7,\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "token header has no alg");
	mktoken(t, sizeof(t), "{\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "token header has no alg");
	/* Key type bound to the alg: RS256 naming the EC kid, ES256 naming the RSA one. */
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"e1\"}", c, SIG_RS, rsa);
	refused(t, "kid \"e1\" is an EC key, not one for RS256");
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"kid\":\"r1\"}", c, SIG_ES, ec);
	refused(t, "kid \"r1\" is an RSA key, not one for ES256");
	/* The issuer allows ES256 only. */
	claims_with(c, sizeof(c), "https://es.example", "\"" AUD "\"", NOW, NOW + 60);
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "alg RS256 not allowed for issuer https://es.example");
	good_claims(c, sizeof(c));
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"b64\"],"
	    "\"b64\":false}", c, SIG_RS, rsa);
	refused(t, "crit header refused");
	oidc_stop();
}
END_TEST

START_TEST(test_kid)
{
	char c[512], t[4096];

	start();
	good_claims(c, sizeof(c));
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"nope\"}", c, SIG_RS, rsa);
	refused(t, "unknown kid \"nope\"");
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\"}", c, SIG_RS, rsa);
	refused(t, "token has no kid");
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"\"}", c, SIG_RS, rsa);
	refused(t, "token has no kid");
	/* Keys the JWKS holds but that were skipped: not for signing, or not RSA/P-256. */
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"enc1\"}", c, SIG_RS, rsa);
	refused(t, "unknown kid");
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"kid\":\"p384\"}", c, SIG_ES, ec);
	refused(t, "unknown kid");
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"rs512\"}", c, SIG_RS, rsa);
	refused(t, "unknown kid");
	oidc_stop();
}
END_TEST

/* Bump the last base64url character of s[0..len) by one: same bytes, non-canonical. */
static void
bump_last(char *s, size_t len)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = strchr(al, s[len - 1]);

	ck_assert_ptr_nonnull(p);
	ck_assert(p[1] != '\0');
	s[len - 1] = p[1];
}

START_TEST(test_shape)
{
	char c[512], t[4096], t2[4200], *d;
	const char *rs = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";	/* 26 bytes: 35 chars */
	char *big;

	start();
	good_claims(c, sizeof(c));
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	/* Padding, the standard alphabet, whitespace, a bare non-ASCII byte. */
	d = strchr(t, '.');
	snprintf(t2, sizeof(t2), "%.*s=%s", (int)(d - t), t, d);
	refused(t2, "token header is not base64url");
	snprintf(t2, sizeof(t2), "%s", t);
	t2[3] = '+';
	refused(t2, "token header is not base64url");
	snprintf(t2, sizeof(t2), "%s", t);
	t2[strchr(t2, '.') - t2 + 5] = '/';
	refused(t2, "token claims is not base64url");
	snprintf(t2, sizeof(t2), "%.*s %s", (int)(d - t), t, d);
	refused(t2, "token header is not base64url");
	snprintf(t2, sizeof(t2), "%s", t);
	t2[strlen(t2) - 3] = '\xc3';
	refused(t2, "token signature is not base64url");
	/* Non-canonical: unused trailing bits set. */
	ck_assert_int_eq(d - t, 35);
	snprintf(t2, sizeof(t2), "%s", t);
	bump_last(t2, 35);
	refused(t2, "token header is not base64url");
	/* Dots: two only, one, four (a JWE), none. */
	refused("..", "token header is empty");
	snprintf(t2, sizeof(t2), "%.*s", (int)(strrchr(t, '.') - t), t);
	refused(t2, "not three base64url parts");
	snprintf(t2, sizeof(t2), "%s.", t);
	refused(t2, "not three base64url parts");
	refused("eyJhbGciOiJSUzI1NiJ9", "not three base64url parts");
	refused("", "not three base64url parts");
	snprintf(t2, sizeof(t2), "%.*s.", (int)(d - t), t);
	refused(t2, "not three base64url parts");
	snprintf(t2, sizeof(t2), "%.*s..", (int)(d - t), t);
	refused(t2, "token claims is empty");
	/* Not JSON objects; duplicate keys in the header, then in the claims. */
	mktoken(t, sizeof(t), "[\"alg\",\"RS256\"]", c, SIG_RS, rsa);
	refused(t, "token header is not a JSON object");
	mktoken(t, sizeof(t), rs, "\"claims\"", SIG_RS, rsa);
	refused(t, "token claims is not a JSON object");
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\",\"kid\":\"e1\"}", c, SIG_RS, rsa);
	refused(t, "duplicate key in the token header");
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "duplicate key in the token header");
	snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"writ\",\"aud\":\"other\",\"iat\":%lld,"
	    "\"exp\":%lld}", ISS, (long long)NOW, (long long)NOW + 60);
	mktoken(t, sizeof(t), rs, c, SIG_RS, rsa);
	refused(t, "duplicate key in the token claims");
	/* Over OIDC_MAX_TOKEN (and a good token padded over it by a long claim). */
	big = malloc(OIDC_MAX_TOKEN + 64);
	memset(big, 'A', OIDC_MAX_TOKEN + 10);
	big[10] = big[20] = '.';
	big[OIDC_MAX_TOKEN + 10] = '\0';
	refused(big, "token too long");
	free(big);
	oidc_stop();
}
END_TEST

/* ---- the JWKS ---- */

/* oidc_start on a JWKS of keys (stolen) fails with want in the message. */
static void
start_refused(json_t *keys, const char *want)
{
	char err[WRIT_ERRLEN] = "";
	int r;

	write_jwks(jwks_path, keys);
	issuer_init(&issuers[0], ISS, true, true);
	r = oidc_start(issuers, 1, err);
	if (r == 0)
		oidc_stop();
	ck_assert_msg(r < 0 && strstr(err, want) != NULL, "want \"%s\", got %d \"%s\"",
	    want, r, err);
}

START_TEST(test_jwks_refused)
{
	json_t *k, *keys;
	char err[WRIT_ERRLEN], x[64], c[512], t[4096];
	unsigned char junk[32];
	FILE *f;

	/* A 1024-bit RSA key refuses the set (not skipped: the issuer is broken). */
	start_refused(json_pack("[oo]", jwk(ec, "e1"), jwk(rsa1024, "weak")),
	    "key weak: RSA key of 1024 bits (2048-8192 taken)");
	/* No kid; a kid twice; no usable key at all; a point off the curve. */
	k = jwk(rsa, "r1");
	json_object_del(k, "kid");
	start_refused(json_pack("[o]", k), "an RSA key without a kid");
	start_refused(json_pack("[oo]", jwk(rsa, "same"), jwk(ec, "same")), "kid same appears twice");
	start_refused(json_pack("[{ssss}]", "kty", "oct", "k", "c2VjcmV0"), "no usable key");
	memset(junk, 1, sizeof(junk));
	b64u(x, sizeof(x), junk, sizeof(junk));
	start_refused(json_pack("[{ssssssssss}]", "kty", "EC", "crv", "P-256", "kid", "bad",
	    "x", x, "y", x), "key bad: not a point on P-256");
	k = jwk(ec, "short");
	json_object_set_new(k, "x", json_string("AAAA"));
	start_refused(json_pack("[o]", k), "P-256 x and y must be 32 bytes each");
	/* RSA exponents 1 and 65536. */
	k = jwk(rsa, "e1");
	json_object_set_new(k, "e", json_string("AQ"));
	start_refused(json_pack("[o]", k), "key e1: bad RSA exponent");
	k = jwk(rsa, "e2");
	json_object_set_new(k, "e", json_string("AQAA"));
	start_refused(json_pack("[o]", k), "key e2: bad RSA exponent");
	/* Decoded, but longer than a P-256 coordinate (once leaked its buffer). */
	k = jwk(ec, "long");
	json_object_set_new(k, "x", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	start_refused(json_pack("[o]", k), "key long: \"x\" missing, not base64url or too long");
	k = jwk(rsa, "pad");
	json_object_set_new(k, "e", json_string("AQAB="));
	start_refused(json_pack("[o]", k), "key pad: \"e\" missing, not base64url");
	keys = json_array();
	for (int i = 0; i < OIDC_MAX_KEYS + 1; i++)
		json_array_append_new(keys, json_pack("{ss}", "kty", "OKP"));
	start_refused(keys, "more than");
	/* Not a JWKS; duplicate keys; a file others can write. */
	f = fopen(jwks_path, "w");
	fputs("{\"keys\":[],\"keys\":[]}", f);
	fclose(f);
	issuer_init(&issuers[0], ISS, true, true);
	ck_assert_int_lt(oidc_start(issuers, 1, err), 0);
	ck_assert_msg(strstr(err, "duplicate") != NULL, "%s", err);
	write_default_jwks();
	ck_assert_int_eq(chmod(jwks_path, 0666), 0);
	ck_assert_int_lt(oidc_start(issuers, 1, err), 0);
	ck_assert_msg(strstr(err, "not writable by group or other") != NULL, "%s", err);
	unlink(jwks_path);
	ck_assert_int_lt(oidc_start(issuers, 1, err), 0);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
	/* And nothing verifies when oidc is not running. */
	good_claims(c, sizeof(c));
	mktoken(t, sizeof(t), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	refused(t, "oidc is not started");
}
END_TEST

/* Verify tok until it passes or secs run out; the message of the last try in err. */
static int
verify_within(const char *tok, int secs, char err[WRIT_ERRLEN])
{
	const struct oidc_issuer *who;
	json_t *claims = NULL;
	int r = -1;

	for (int i = 0; i < secs * 20; i++) {
		if ((r = oidc_verify(tok, NOW, &claims, &who, err)) == 0) {
			json_decref(claims);
			return 0;
		}
		usleep(50 * 1000);
	}
	return r;
}

START_TEST(test_rotation)
{
	char c[512], t1[4096], t2[4096], err[WRIT_ERRLEN];

	start();
	good_claims(c, sizeof(c));
	mktoken(t1, sizeof(t1), "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, SIG_RS, rsa);
	mktoken(t2, sizeof(t2), "{\"alg\":\"RS256\",\"kid\":\"r2\"}", c, SIG_RS, rsa2);
	json_decref(verifies(t1, &issuers[0]));
	refused(t2, "unknown kid");
	/* The issuer rotates: r2 in, r1 out.  Not reread on its own within the hour... */
	write_jwks(jwks_path, json_pack("[oo]", jwk(rsa2, "r2"), jwk(ec, "e1")));
	json_decref(verifies(t1, &issuers[0]));
	/*
	 * ... but an unknown kid fails at once and triggers a refresh: not at
	 * once here, since r2 above already made one and on-demand refreshes
	 * are OIDC_REFRESH_MIN apart (a flood of made-up kids cannot make writd
	 * hammer the issuer), so r2 stays unknown a while, then verifies.
	 */
	refused(t2, "unknown kid \"r2\"");
	sleep(1);
	refused(t2, "unknown kid \"r2\"");
	ck_assert_msg(verify_within(t2, OIDC_REFRESH_MIN + 3, err) == 0, "r2 never verified: %s", err);
	refused(t1, "unknown kid \"r1\"");
	oidc_stop();
}
END_TEST

START_TEST(test_stale)
{
	char c[512], t[4096], err[WRIT_ERRLEN];

	write_default_jwks();
	issuer_init(&issuers[0], ISS, true, true);
	issuers[0].jwks_ttl = 2;	/* refreshed every second */
	ck_assert_msg(oidc_start(issuers, 1, err) == 0, "%s", err);
	good_claims(c, sizeof(c));
	mktoken(t, sizeof(t), "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, SIG_ES, ec);
	json_decref(verifies(t, &issuers[0]));
	/* Refreshes keep it alive past its ttl ... */
	sleep(3);
	json_decref(verifies(t, &issuers[0]));
	/* ... until they fail: then it is dropped within the ttl, and tokens refused. */
	ck_assert_int_eq(unlink(jwks_path), 0);
	usleep(2500 * 1000);
	refused(t, "JWKS of https://ci.example unavailable");
	refused(t, "No such file");
	/* Back once a fetch works again. */
	write_default_jwks();
	ck_assert_msg(verify_within(t, 4, err) == 0, "never back: %s", err);
	oidc_stop();
}
END_TEST

/* ---- ci.issuers in the config ---- */

START_TEST(test_config_good)
{
	struct config *cfg = malloc(sizeof(*cfg));
	char err[WRIT_ERRLEN];

	ck_assert_msg(config_load_text(cfg, "{\"ci\":{\"issuers\":["
	    "{\"issuer\":\"https://token.actions.githubusercontent.com\","
	    "\"jwks_url\":\"https://token.actions.githubusercontent.com/.well-known/jwks\","
	    "\"audience\":\"writ\"},"
	    "{\"issuer\":\"https://gitlab.example\",\"jwks_file\":\"/etc/writ/gitlab.jwks\","
	    "\"audience\":\"https://writ.example\",\"algorithms\":[\"ES256\"],"
	    "\"jwks_ttl\":\"10m\",\"grace\":\"1m\"},"
	    "{\"issuer\":\"https://ca.example\",\"jwks_url\":\"https://ca.example/jwks\","
	    "\"ca_file\":\"/etc/ssl/ca.pem\",\"audience\":\"w\",\"algorithms\":[\"RS256\"]}"
	    "]}}", err) == 0, "%s", err);
	ck_assert_uint_eq(cfg->nissuers, 3);
	ck_assert_str_eq(cfg->issuers[0].issuer, "https://token.actions.githubusercontent.com");
	ck_assert_str_eq(cfg->issuers[0].jwks_url,
	    "https://token.actions.githubusercontent.com/.well-known/jwks");
	ck_assert_str_eq(cfg->issuers[0].jwks_file, "");
	ck_assert_str_eq(cfg->issuers[0].audience, "writ");
	ck_assert(cfg->issuers[0].rs256 && cfg->issuers[0].es256);
	ck_assert_int_eq(cfg->issuers[0].jwks_ttl, 3600);
	ck_assert_int_eq(cfg->issuers[0].grace, 300);
	ck_assert_str_eq(cfg->issuers[1].jwks_file, "/etc/writ/gitlab.jwks");
	ck_assert(!cfg->issuers[1].rs256 && cfg->issuers[1].es256);
	ck_assert_int_eq(cfg->issuers[1].jwks_ttl, 600);
	ck_assert_int_eq(cfg->issuers[1].grace, 60);
	ck_assert_str_eq(cfg->issuers[2].ca_file, "/etc/ssl/ca.pem");
	ck_assert(cfg->issuers[2].rs256 && !cfg->issuers[2].es256);
	config_free(cfg);
	/* None configured: none. */
	ck_assert_int_eq(config_load_text(cfg, "{\"ci\":{\"issuers\":[]}}", err), 0);
	ck_assert_uint_eq(cfg->nissuers, 0);
	config_free(cfg);
	free(cfg);
}
END_TEST

START_TEST(test_config_bad)
{
#define GOOD "\"issuer\":\"https://i\",\"jwks_url\":\"https://i/jwks\",\"audience\":\"writ\""
	static const struct { const char *text, *names; } cases[] = {
		{ "{\"ci\":[]}", "ci: must be an object" },
		{ "{\"ci\":{\"issuer\":[]}}", "issuer" },
		{ "{\"ci\":{\"issuers\":{}}}", "ci.issuers: must be an array" },
		{ "{\"ci\":{\"issuers\":[7]}}", "ci.issuers[0]: must be an object" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"colour\":1}]}}", "colour" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"}]}}",
		  "ci.issuers[0].issuer" },
		{ "{\"ci\":{\"issuers\":[{\"jwks_url\":\"https://i/j\",\"audience\":\"w\"}]}}",
		  "ci.issuers[0].issuer" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":7,\"jwks_url\":\"https://i/j\",\"audience\":\"w\"}]}}",
		  "ci.issuers[0].issuer" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"https://i\",\"jwks_url\":\"http://i/jwks\","
		  "\"audience\":\"w\"}]}}", "ci.issuers[0].jwks_url: must be an https:// URL" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"https://i\",\"jwks_url\":\"HTTPS://i/jwks\","
		  "\"audience\":\"w\"}]}}", "jwks_url" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"https://i\",\"audience\":\"w\"}]}}",
		  "exactly one of jwks_url and jwks_file" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"jwks_file\":\"/j\"}]}}",
		  "exactly one of jwks_url and jwks_file" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"https://i\",\"jwks_file\":\"rel\","
		  "\"audience\":\"w\"}]}}", "ci.issuers[0].jwks_file" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"https://i\",\"jwks_file\":\"/j\","
		  "\"ca_file\":\"/ca\",\"audience\":\"w\"}]}}", "ca_file: only with jwks_url" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"ca_file\":7}]}}", "ci.issuers[0].ca_file" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"https://i\",\"jwks_url\":\"https://i/j\"}]}}",
		  "ci.issuers[0].audience" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"https://i\",\"jwks_url\":\"https://i/j\","
		  "\"audience\":\"\"}]}}", "ci.issuers[0].audience" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"algorithms\":[\"HS256\"]}]}}",
		  "ci.issuers[0].algorithms" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"algorithms\":[\"none\"]}]}}", "algorithms" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"algorithms\":[]}]}}", "algorithms" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"algorithms\":\"RS256\"}]}}", "algorithms" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"jwks_ttl\":3600}]}}", "ci.issuers[0].jwks_ttl" },
		{ "{\"ci\":{\"issuers\":[{" GOOD ",\"grace\":\"soon\"}]}}", "ci.issuers[0].grace" },
		{ "{\"ci\":{\"issuers\":[{" GOOD "},{" GOOD "}]}}", "ci.issuers[1].issuer: twice" },
		{ "{\"ci\":{\"issuers\":[{" GOOD "},{" GOOD ",\"issuer\":\"x\"}]}}", "duplicate" },
		{ "{\"ci\":{\"issuers\":[{\"issuer\":\"a\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"b\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"c\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"d\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"e\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"f\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"g\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"h\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"},"
		  "{\"issuer\":\"i\",\"jwks_url\":\"https://i/j\",\"audience\":\"w\"}]}}",
		  "ci.issuers: at most 8" },
	};
#undef GOOD
	struct config *cfg = malloc(sizeof(*cfg));
	char err[WRIT_ERRLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(config_load_text(cfg, cases[i].text, err) < 0, "accepted: %s", cases[i].text);
		ck_assert_msg(strstr(err, cases[i].names) != NULL, "%s: message \"%s\" lacks \"%s\"",
		    cases[i].text, err, cases[i].names);
		config_free(cfg);
	}
	free(cfg);
}
END_TEST

Suite *
oidc_suite(void)
{
	Suite *s = suite_create("oidc");
	TCase *tc = tcase_create("verify"), *th = tcase_create("jwks"),
	    *tcfg = tcase_create("config");

	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_test(tc, test_good_rs256);
	tcase_add_test(tc, test_good_es256);
	tcase_add_test(tc, test_forged);
	tcase_add_test(tc, test_claims_refused);
	tcase_add_test(tc, test_alg_refused);
	tcase_add_test(tc, test_kid);
	tcase_add_test(tc, test_shape);
	suite_add_tcase(s, tc);
	/* Waits on the refresh thread: seconds, under ASan more. */
	tcase_add_unchecked_fixture(th, keys_setup, keys_teardown);
	tcase_set_timeout(th, 60);
	tcase_add_test(th, test_jwks_refused);
	tcase_add_test(th, test_rotation);
	tcase_add_test(th, test_stale);
	suite_add_tcase(s, th);
	tcase_add_test(tcfg, test_config_good);
	tcase_add_test(tcfg, test_config_bad);
	suite_add_tcase(s, tcfg);
	return s;
}
