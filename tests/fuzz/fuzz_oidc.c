/*
 * fuzz_oidc.c - libFuzzer harness for oidc.c's two parsers of untrusted
 * input: the ID token (oidc_verify) and the JWKS (jwks_parse).
 *
 * oidc.c is included whole, so that its static JWKS parser is reachable
 * without a test-only export (the Makefile's FUZZ_MOD_oidc has no oidc.c;
 * nothing else is needed).
 *
 * The first byte picks a mode:
 *   0: the rest is a token, verified against a fixed JWKS (an RSA-2048 and
 *      a P-256 key made at start).  Nothing random is signed by those
 *      keys, so it must be refused, with a message, ret_* untouched.
 *   1: the rest is "HEADER\nCLAIMS": the harness signs them (RS256 with
 *      the RSA key, whatever alg the header says) and verifies.  If that
 *      is accepted, the header said RS256 with the RSA kid, and the claims
 *      hold everything oidc_verify promises: iss, aud, exp, iat in range.
 *   2: the rest is a JWKS document: parsed or refused with a message; a
 *      parsed set has 1..OIDC_MAX_KEYS keys, each RSA or EC with a kid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "../../broker/oidc.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ISS "https://fuzz.example"
#define FUZZ_NOW ((int64_t)1900000000)

static struct oidc_issuer fz;
static EVP_PKEY *frsa;

static void
jwk_b64(char *dst, size_t size, EVP_PKEY *k, const char *name, int pad)
{
	unsigned char buf[600];
	BIGNUM *bn = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
		abort();
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	sodium_bin2base64(dst, size, buf, (size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	BN_free(bn);
}

static void
setup(void)
{
	static char dir[] = "/tmp/writ-fuzz-oidc-XXXXXX";
	char n[600], e[16], x[64], y[64], err[WRIT_ERRLEN];
	EVP_PKEY *fec;
	FILE *f;

	frsa = EVP_RSA_gen(2048);
	fec = EVP_EC_gen("P-256");
	if (frsa == NULL || fec == NULL || mkdtemp(dir) == NULL)
		abort();
	jwk_b64(n, sizeof(n), frsa, OSSL_PKEY_PARAM_RSA_N, 0);
	jwk_b64(e, sizeof(e), frsa, OSSL_PKEY_PARAM_RSA_E, 0);
	jwk_b64(x, sizeof(x), fec, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	jwk_b64(y, sizeof(y), fec, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	snprintf(fz.jwks_file, sizeof(fz.jwks_file), "%s/jwks.json", dir);
	f = fopen(fz.jwks_file, "w");
	if (f == NULL)
		abort();
	fprintf(f, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"%s\",\"e\":\"%s\"},"
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e\",\"x\":\"%s\",\"y\":\"%s\"}]}", n, e, x, y);
	fclose(f);
	chmod(fz.jwks_file, 0600);
	snprintf(fz.issuer, sizeof(fz.issuer), FUZZ_ISS);
	snprintf(fz.audience, sizeof(fz.audience), "writ");
	fz.rs256 = fz.es256 = true;
	fz.jwks_ttl = 366 * 24 * 3600;	/* no refresh while fuzzing */
	if (oidc_start(&fz, 1, err) < 0) {
		fprintf(stderr, "fuzz_oidc: %s\n", err);
		abort();
	}
	EVP_PKEY_free(fec);
}

static int64_t
num(const json_t *v)
{
	return json_is_integer(v) ? json_integer_value(v) : (int64_t)json_real_value(v);
}

/* What an accepted token must be; abort otherwise. */
static void
check_accepted(const char *hdr, size_t hlen, json_t *claims)
{
	json_t *h = json_loadb(hdr, hlen, 0, NULL), *aud = json_object_get(claims, "aud"), *v;
	bool ours = false;
	size_t i;

	if (h == NULL || strcmp(json_string_value(json_object_get(h, "alg")), "RS256") != 0 ||
	    strcmp(json_string_value(json_object_get(h, "kid")), "r") != 0)
		abort();
	json_decref(h);
	if (strcmp(json_string_value(json_object_get(claims, "iss")), FUZZ_ISS) != 0)
		abort();
	if (json_is_string(aud))
		ours = strcmp(json_string_value(aud), "writ") == 0;
	json_array_foreach(aud, i, v)
		ours |= strcmp(json_string_value(v), "writ") == 0;
	if (!ours)
		abort();
	if (!json_is_number(json_object_get(claims, "exp")) ||
	    num(json_object_get(claims, "exp")) <= FUZZ_NOW - OIDC_SKEW ||
	    !json_is_number(json_object_get(claims, "iat")) ||
	    num(json_object_get(claims, "iat")) > FUZZ_NOW + OIDC_SKEW ||
	    (json_object_get(claims, "nbf") != NULL &&
	    num(json_object_get(claims, "nbf")) > FUZZ_NOW + OIDC_SKEW))
		abort();
}

static void
verify_signed(const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);
	char *tok = malloc(2 * len + 600), err[WRIT_ERRLEN] = "";
	const struct oidc_issuer *who = NULL;
	unsigned char sig[512];
	size_t n, siglen = sizeof(sig);
	json_t *claims = NULL;
	EVP_MD_CTX *md;
	int r;

	if (nl == NULL || tok == NULL) {
		free(tok);
		return;
	}
	sodium_bin2base64(tok, 2 * len + 600, (const unsigned char *)p, (size_t)(nl - p),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = strlen(tok);
	tok[n++] = '.';
	sodium_bin2base64(tok + n, 2 * len + 600 - n, (const unsigned char *)nl + 1,
	    len - (size_t)(nl + 1 - p), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = strlen(tok);
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, frsa) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)tok, n) != 1)
		abort();
	EVP_MD_CTX_free(md);
	tok[n++] = '.';
	sodium_bin2base64(tok + n, 2 * len + 600 - n, sig, siglen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	r = oidc_verify(tok, FUZZ_NOW, &claims, &who, err);
	if (r == 0) {
		if (who != &fz)
			abort();
		check_accepted(p, (size_t)(nl - p), claims);
		json_decref(claims);
	} else if (r != WRIT_EIDENTITY || err[0] == '\0' || claims != NULL || who != NULL)
		abort();
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char *s, err[WRIT_ERRLEN] = "";

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0: {
		const struct oidc_issuer *who = NULL;
		json_t *claims = NULL;

		/* NB. a NUL ends the token, as it would in a JSON string. */
		if (oidc_verify(s, FUZZ_NOW, &claims, &who, err) != WRIT_EIDENTITY ||
		    err[0] == '\0' || claims != NULL || who != NULL)
			abort();
		break;
	}
	case 1:
		verify_signed(s, size - 1);
		break;
	case 2: {
		struct keyset *ks = NULL;

		if (jwks_parse(s, size - 1, &ks, err) == 0) {
			if (ks == NULL || ks->n < 1 || ks->n > OIDC_MAX_KEYS)
				abort();
			for (size_t i = 0; i < ks->n; i++)
				if ((ks->k[i].kty != KTY_RSA && ks->k[i].kty != KTY_EC) ||
				    ks->k[i].kid[0] == '\0' || ks->k[i].pkey == NULL)
					abort();
			keyset_free(ks);
		} else if (err[0] == '\0' || ks != NULL)
			abort();
		break;
	}
	}
	free(s);
	return 0;
}
