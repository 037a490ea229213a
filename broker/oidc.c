/*
 * oidc.c - verify a CI provider's OIDC ID token against configured issuers,
 * and keep their JWKS fresh on a thread of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "clock.h"
#include "errors.h"
#include "oidc.h"

enum { ALG_RS256 = 1, ALG_ES256 = 2 };
enum { KTY_RSA = 1, KTY_EC = 2 };

struct jwk {
	char kid[OIDC_MAX_KID + 1];
	int kty;			/* KTY_RSA or KTY_EC */
	EVP_PKEY *pkey;			/* public only */
};

struct keyset {
	size_t n;
	struct jwk k[OIDC_MAX_KEYS];
};

/* One issuer's keys and fetch schedule; every field under lock. */
struct state {
	const struct oidc_issuer *is;
	struct keyset *keys;		/* NULL until fetched, and once stale */
	int64_t fetched;		/* monotonic ms of the last good fetch */
	int64_t tried;			/* monotonic ms of the last attempt */
	int64_t next;			/* monotonic ms of the next scheduled fetch */
	bool want;			/* a token met an unknown kid (or no keys) */
	char why[160];			/* why the last fetch failed, or "" */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static struct state states[OIDC_MAX_ISSUERS];
static unsigned int nstates;
static bool running, stopping;
static pthread_t thread;

static void
keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->k[i].pkey);
	free(ks);
}

/*
 * Decode s[0..len) as strict base64url: the URL-safe alphabet only, no
 * padding, no whitespace, unused trailing bits zero (one encoding per
 * value, so a token cannot be re-encoded into a "different" one).
 * Returns a malloc'd buffer (NUL-terminated for convenience) or NULL.
 */
static unsigned char *
b64url_decode(const char *s, size_t len, size_t *ret_len)
{
	size_t max = len / 4 * 3 + 3, out;
	const char *end;
	unsigned char *p;

	if (len % 4 == 1)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return NULL;
	}
	if ((p = malloc(max + 1)) == NULL)
		return NULL;
	/* NB. libsodium refuses non-zero leftover bits: canonical only. */
	if (sodium_base642bin(p, max, s, len, NULL, &out, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != s + len) {
		free(p);
		return NULL;
	}
	p[out] = '\0';
	*ret_len = out;
	return p;
}

/* ---- JWKS ---- */

/* The base64url member key of k, decoded; at most max bytes. */
static int
jwk_bytes(const json_t *k, const char *key, size_t max, unsigned char **ret,
    size_t *ret_len, const char *kid, char err[WRIT_ERRLEN])
{
	const char *v = json_string_value(json_object_get(k, key));
	unsigned char *p = NULL;
	size_t n = 0;

	if (v == NULL || strlen(v) > max / 3 * 4 + 4 ||
	    (p = b64url_decode(v, strlen(v), &n)) == NULL || n == 0 || n > max) {
		free(p);	/* NB. decoded but empty or too long (found by fuzz_oidc) */
		snprintf(err, WRIT_ERRLEN, "key %s: \"%s\" missing, not base64url or too long",
		    kid, key);
		return WRIT_EBADREQ;
	}
	*ret = p;
	*ret_len = n;
	return 0;
}

/* An RSA public key from n and e (big-endian bytes). */
static int
rsa_key(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen,
    EVP_PKEY **ret, const char *kid, char err[WRIT_ERRLEN])
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pk = NULL;
	int bits, r = WRIT_EBADREQ;

	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	if (bn == NULL || be == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	/* Weak keys are refused, not skipped: a JWKS that holds one is broken. */
	bits = BN_num_bits(bn);
	if (bits < OIDC_RSA_MIN_BITS || bits > OIDC_RSA_MAX_BITS) {
		snprintf(err, WRIT_ERRLEN, "key %s: RSA key of %d bits (%d-%d taken)", kid,
		    bits, OIDC_RSA_MIN_BITS, OIDC_RSA_MAX_BITS);
		goto out;
	}
	/* e: odd, at least 3, at most 64 bits (65537 in practice). */
	if (!BN_is_odd(be) || BN_is_one(be) || BN_num_bits(be) > 64) {
		snprintf(err, WRIT_ERRLEN, "key %s: bad RSA exponent", kid);
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		snprintf(err, WRIT_ERRLEN, "key %s: OpenSSL refuses the RSA key", kid);
		goto out;
	}
	*ret = pk;
	pk = NULL;
	r = 0;
 out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return r;
}

/* A P-256 public key from x and y (32 bytes each), checked on the curve. */
static int
ec_key(const unsigned char *x, const unsigned char *y, EVP_PKEY **ret,
    const char *kid, char err[WRIT_ERRLEN])
{
	unsigned char pub[65];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pk = NULL;
	int r = WRIT_EBADREQ;

	pub[0] = 0x04;		/* uncompressed point */
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    /* NB. a point off the curve is the invalid-curve attack's way in. */
	    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1) {
		snprintf(err, WRIT_ERRLEN, "key %s: not a point on P-256", kid);
		goto out;
	}
	*ret = pk;
	pk = NULL;
	r = 0;
 out:
	ERR_clear_error();
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

/*
 * One JWK into ks, or skipped (another use, kty, crv or alg: keys that
 * could never verify an RS256 or ES256 signature).  A key that would be
 * used but is malformed, weak or without kid refuses the whole set: the
 * issuer publishes something broken, and guessing around it is how
 * verifiers get confused.
 */
static int
jwk_add(struct keyset *ks, const json_t *k, char err[WRIT_ERRLEN])
{
	const char *kty = json_string_value(json_object_get(k, "kty"));
	const char *use = json_string_value(json_object_get(k, "use"));
	const char *alg = json_string_value(json_object_get(k, "alg"));
	const char *crv = json_string_value(json_object_get(k, "crv"));
	const char *kid = json_string_value(json_object_get(k, "kid"));
	unsigned char *a = NULL, *b = NULL;
	size_t alen, blen;
	struct jwk *j;
	char q[52];
	int r;

	if (!json_is_object(k) || kty == NULL) {
		snprintf(err, WRIT_ERRLEN, "a key that is not an object with a kty");
		return WRIT_EBADREQ;
	}
	if (json_object_get(k, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0))
		return 0;
	if (strcmp(kty, "RSA") == 0) {
		if (alg != NULL && strcmp(alg, "RS256") != 0)
			return 0;
	} else if (strcmp(kty, "EC") == 0) {
		if (crv == NULL || strcmp(crv, "P-256") != 0 ||
		    (alg != NULL && strcmp(alg, "ES256") != 0))
			return 0;
	} else
		return 0;	/* oct (never HMAC), OKP, ... */
	if (kid == NULL || kid[0] == '\0' || strlen(kid) > OIDC_MAX_KID || !printable(kid)) {
		snprintf(err, WRIT_ERRLEN, "%s key without a kid (1-%d printable characters)",
		    kty[0] == 'R' ? "an RSA" : "an EC", OIDC_MAX_KID);
		return WRIT_EBADREQ;
	}
	sjson_quote(q, kid);
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->k[i].kid, kid) == 0) {
			snprintf(err, WRIT_ERRLEN, "kid %s appears twice", q);
			return WRIT_EBADREQ;
		}
	if (ks->n >= OIDC_MAX_KEYS) {
		snprintf(err, WRIT_ERRLEN, "more than %d keys", OIDC_MAX_KEYS);
		return WRIT_ETOOBIG;
	}
	j = &ks->k[ks->n];
	if (kty[0] == 'R') {
		if ((r = jwk_bytes(k, "n", OIDC_RSA_MAX_BITS / 8 + 1, &a, &alen, q, err)) < 0 ||
		    (r = jwk_bytes(k, "e", 8, &b, &blen, q, err)) < 0 ||
		    (r = rsa_key(a, alen, b, blen, &j->pkey, q, err)) < 0)
			goto out;
		j->kty = KTY_RSA;
	} else {
		if ((r = jwk_bytes(k, "x", 32, &a, &alen, q, err)) < 0 ||
		    (r = jwk_bytes(k, "y", 32, &b, &blen, q, err)) < 0)
			goto out;
		if (alen != 32 || blen != 32) {
			snprintf(err, WRIT_ERRLEN, "key %s: P-256 x and y must be 32 bytes each", q);
			r = WRIT_EBADREQ;
			goto out;
		}
		if ((r = ec_key(a, b, &j->pkey, q, err)) < 0)
			goto out;
		j->kty = KTY_EC;
	}
	memcpy(j->kid, kid, strlen(kid) + 1);
	ks->n++;
	r = 0;
 out:
	free(a);
	free(b);
	return r;
}

/* Parse a JWKS document; 0 and a new key set, or a code with a message. */
static int
jwks_parse(const char *buf, size_t len, struct keyset **ret, char err[WRIT_ERRLEN])
{
	struct keyset *ks = NULL;
	json_error_t je;
	json_t *root, *keys, *k;
	size_t i;
	int r = WRIT_EBADREQ;

	if (len > OIDC_MAX_JWKS) {
		snprintf(err, WRIT_ERRLEN, "larger than %d bytes", OIDC_MAX_JWKS);
		return WRIT_ETOOBIG;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, WRIT_ERRLEN, "not JSON (line %d: %s)", je.line, je.text);
		return WRIT_EBADJSON;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		snprintf(err, WRIT_ERRLEN, "not a JWKS (an object with a \"keys\" array)");
		goto out;
	}
	if (json_array_size(keys) > OIDC_MAX_KEYS) {
		snprintf(err, WRIT_ERRLEN, "more than %d keys", OIDC_MAX_KEYS);
		r = WRIT_ETOOBIG;
		goto out;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	json_array_foreach(keys, i, k)
		if ((r = jwk_add(ks, k, err)) < 0)
			goto out;
	if (ks->n == 0) {
		snprintf(err, WRIT_ERRLEN, "no usable key (RSA or EC P-256 for signing, with a kid)");
		r = WRIT_EBADREQ;
		goto out;
	}
	*ret = ks;
	ks = NULL;
	r = 0;
 out:
	keyset_free(ks);
	json_decref(root);
	return r;
}

/* Read a JWKS file: a regular file of ours or root's, not writable by others. */
static int
read_file(const char *path, char **ret, size_t *ret_len, char err[WRIT_ERRLEN])
{
	struct stat sb;
	size_t len = 0;
	ssize_t n;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		return WRIT_EINTERNAL;
	}
	/* Whoever can write it can mint any CI identity. */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_uid != 0 && sb.st_uid != geteuid()) || (sb.st_mode & 022) != 0) {
		close(fd);
		snprintf(err, WRIT_ERRLEN, "%s: must be a regular file owned by writd's user "
		    "or root, not writable by group or other", path);
		return WRIT_EFORBIDDEN;
	}
	if ((buf = malloc(OIDC_MAX_JWKS + 1)) == NULL) {
		close(fd);
		return WRIT_ENOMEM;
	}
	while (len <= OIDC_MAX_JWKS &&
	    (n = read(fd, buf + len, OIDC_MAX_JWKS + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
			close(fd);
			free(buf);
			return WRIT_EINTERNAL;
		}
		len += (size_t)n;
	}
	close(fd);
	*ret = buf;
	*ret_len = len;
	return 0;
}

struct body {
	char *p;
	size_t len;
	bool too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;

	if (b->len + len > OIDC_MAX_JWKS) {
		b->too_big = true;
		return 0;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return len;
}

/* Abort a fetch under way when writd stops. */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)arg, (void)dt, (void)dn, (void)ut, (void)un;
	return __atomic_load_n(&stopping, __ATOMIC_RELAXED) ? 1 : 0;
}

/* GET the JWKS at url: https only, no redirects, bounded in time and size. */
static int
fetch_url(const struct oidc_issuer *is, char **ret, size_t *ret_len, char err[WRIT_ERRLEN])
{
	struct body b = { 0 };
	long status = 0;
	CURLcode cc;
	CURL *c;

	if ((b.p = malloc(OIDC_MAX_JWKS)) == NULL || (c = curl_easy_init()) == NULL) {
		free(b.p);
		return WRIT_ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, is->jwks_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)OIDC_FETCH_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)OIDC_FETCH_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "writ/" WRIT_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (is->ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, is->ca_file);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK || status != 200) {
		if (cc != CURLE_OK)
			snprintf(err, WRIT_ERRLEN, "%s: %s", is->jwks_url, b.too_big ?
			    "larger than the JWKS limit" : curl_easy_strerror(cc));
		else
			snprintf(err, WRIT_ERRLEN, "%s: HTTP status %ld", is->jwks_url, status);
		free(b.p);
		return cc == CURLE_OPERATION_TIMEDOUT ? WRIT_EUPTIMEOUT : WRIT_EUPSTREAM;
	}
	*ret = b.p;
	*ret_len = b.len;
	return 0;
}

/* Read or fetch issuer is's JWKS and parse it.  No lock held. */
static int
load(const struct oidc_issuer *is, struct keyset **ret, char err[WRIT_ERRLEN])
{
	char msg[WRIT_ERRLEN];
	size_t len;
	char *buf;
	int r;

	if (is->jwks_file[0] != '\0')
		r = read_file(is->jwks_file, &buf, &len, err);
	else
		r = fetch_url(is, &buf, &len, err);
	if (r < 0)
		return r;
	r = jwks_parse(buf, len, ret, msg);
	free(buf);
	if (r < 0)
		snprintf(err, WRIT_ERRLEN, "%.120s: %s", is->jwks_file[0] != '\0' ?
		    is->jwks_file : is->jwks_url, msg);
	return r;
}

/* ---- the refresh thread ---- */

static int64_t
period_ms(const struct oidc_issuer *is)
{
	int64_t p = is->jwks_ttl * 1000 / 2;

	return p < 1000 ? 1000 : p;
}

/* When s should be fetched next (monotonic ms). */
static int64_t
due_at(const struct state *s)
{
	int64_t at = s->next;

	if (s->want && s->tried + OIDC_REFRESH_MIN * 1000 < at)
		at = s->tried + OIDC_REFRESH_MIN * 1000;
	return at;
}

static void *
refresher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		int64_t now = mono_ms(), when = INT64_MAX;
		struct keyset *ks = NULL, *old = NULL;
		struct state *s = NULL;
		char why[WRIT_ERRLEN];
		int r;

		for (unsigned int i = 0; i < nstates; i++) {
			struct state *t = &states[i];
			int64_t at = due_at(t);

			/* Fail closed: a JWKS past its ttl is gone, not "better than none". */
			if (t->keys != NULL && now - t->fetched >= t->is->jwks_ttl * 1000) {
				old = t->keys;
				t->keys = NULL;
				fprintf(stderr, "writd: JWKS of %s older than its ttl and not "
				    "refreshed; its tokens are refused\n", t->is->issuer);
				break;
			}
			if (at <= now) {
				s = t;
				break;
			}
			if (at < when)
				when = at;
			if (t->keys != NULL && t->fetched + t->is->jwks_ttl * 1000 < when)
				when = t->fetched + t->is->jwks_ttl * 1000;
		}
		if (old != NULL) {
			pthread_mutex_unlock(&lock);
			keyset_free(old);
			pthread_mutex_lock(&lock);
			continue;
		}
		if (s == NULL) {
			struct timespec ts;

			if (when == INT64_MAX) {
				pthread_cond_wait(&wake, &lock);
				continue;
			}
			ts.tv_sec = when / 1000;
			ts.tv_nsec = (when % 1000) * 1000000;
			pthread_cond_timedwait(&wake, &lock, &ts);
			continue;
		}
		s->tried = now;
		s->want = false;
		pthread_mutex_unlock(&lock);

		r = load(s->is, &ks, why);

		pthread_mutex_lock(&lock);
		now = mono_ms();
		if (r == 0) {
			old = s->keys;
			s->keys = ks;
			s->fetched = now;
			s->next = now + period_ms(s->is);
			s->why[0] = '\0';
		} else {
			int64_t retry = period_ms(s->is);

			/* Sooner than the period: the keys run out at ttl. */
			s->next = now + (retry < 30000 ? retry : 30000);
			snprintf(s->why, sizeof(s->why), "%s", why);
			fprintf(stderr, "writd: JWKS of %s not refreshed: %s\n", s->is->issuer, why);
		}
		pthread_mutex_unlock(&lock);
		keyset_free(old);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
oidc_start(const struct oidc_issuer *is, unsigned int n, char err[WRIT_ERRLEN])
{
	pthread_condattr_t ca;
	int64_t now = mono_ms();
	unsigned int i;
	int r;

	if (running) {
		snprintf(err, WRIT_ERRLEN, "oidc is already started");
		return WRIT_EINTERNAL;
	}
	if (n == 0 || n > OIDC_MAX_ISSUERS) {
		snprintf(err, WRIT_ERRLEN, "ci.issuers: 1 to %d issuers", OIDC_MAX_ISSUERS);
		return WRIT_EBADREQ;
	}
	memset(states, 0, sizeof(states));
	for (i = 0; i < n; i++) {
		struct state *s = &states[i];

		s->is = &is[i];
		if (is[i].jwks_file[0] == '\0') {
			s->next = now;	/* the thread fetches it at once */
			continue;
		}
		if ((r = load(&is[i], &s->keys, err)) < 0)
			goto fail;
		s->fetched = s->tried = now;
		s->next = now + period_ms(&is[i]);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake, &ca);
	pthread_condattr_destroy(&ca);
	nstates = n;
	stopping = false;
	if (pthread_create(&thread, NULL, refresher, NULL) != 0) {
		snprintf(err, WRIT_ERRLEN, "cannot start the JWKS thread");
		pthread_cond_destroy(&wake);
		curl_global_cleanup();
		r = WRIT_EINTERNAL;
		goto fail;
	}
	running = true;
	return 0;
 fail:
	for (i = 0; i < OIDC_MAX_ISSUERS; i++) {
		keyset_free(states[i].keys);
		states[i].keys = NULL;
	}
	nstates = 0;
	return r;
}

void
oidc_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	__atomic_store_n(&stopping, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	for (unsigned int i = 0; i < nstates; i++) {
		keyset_free(states[i].keys);
		states[i].keys = NULL;
	}
	nstates = 0;
	running = false;
	pthread_cond_destroy(&wake);
	curl_global_cleanup();
}

/* ---- verification ---- */

/* A part of the token decoded and parsed as a strict JSON object. */
static int
part_json(const char *s, size_t len, const char *what, json_t **ret, char err[WRIT_ERRLEN])
{
	char e2[WRIT_ERRLEN];
	unsigned char *p;
	size_t n;
	int r;

	if (len == 0) {
		snprintf(err, WRIT_ERRLEN, "token %s is empty", what);
		return WRIT_EIDENTITY;
	}
	if ((p = b64url_decode(s, len, &n)) == NULL) {
		snprintf(err, WRIT_ERRLEN, "token %s is not base64url (no padding, "
		    "no other characters)", what);
		return WRIT_EIDENTITY;
	}
	r = sjson_parse((const char *)p, n, ret, e2);
	free(p);
	if (r < 0) {
		if (strstr(e2, "duplicate") != NULL)
			snprintf(err, WRIT_ERRLEN, "duplicate key in the token %s", what);
		else if (r == WRIT_ETOOBIG)
			snprintf(err, WRIT_ERRLEN, "token %s nested too deep or too large", what);
		else
			snprintf(err, WRIT_ERRLEN, "token %s is not a JSON object", what);
		return WRIT_EIDENTITY;
	}
	return 0;
}

/* A NumericDate claim: 1 and *ret when present, 0 when absent, <0 when bad. */
static int
claim_time(const json_t *claims, const char *key, int64_t *ret, char err[WRIT_ERRLEN])
{
	json_t *v = json_object_get(claims, key);
	double d;

	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*ret = json_integer_value(v);
		return 1;
	}
	/* RFC 7519 allows fractions; nobody sends them, but they are not wrong. */
	d = json_is_real(v) ? json_real_value(v) : NAN;
	if (!isfinite(d) || d < 0 || d > 9007199254740992.0) {
		snprintf(err, WRIT_ERRLEN, "token %s is not a NumericDate", key);
		return WRIT_EIDENTITY;
	}
	*ret = (int64_t)d;	/* d >= 0: truncation is floor */
	return 1;
}

static int
check_aud(const json_t *claims, const struct oidc_issuer *is, char err[WRIT_ERRLEN])
{
	json_t *aud = json_object_get(claims, "aud"), *v;
	size_t i;

	if (aud == NULL) {
		snprintf(err, WRIT_ERRLEN, "token has no aud");
		return WRIT_EIDENTITY;
	}
	if (json_is_string(aud)) {
		if (strcmp(json_string_value(aud), is->audience) == 0)
			return 0;
	} else if (json_is_array(aud)) {
		bool found = false;

		json_array_foreach(aud, i, v) {
			if (!json_is_string(v)) {
				snprintf(err, WRIT_ERRLEN, "token aud is not a string or an array "
				    "of strings");
				return WRIT_EIDENTITY;
			}
			if (strcmp(json_string_value(v), is->audience) == 0)
				found = true;
		}
		if (found)
			return 0;
	} else {
		snprintf(err, WRIT_ERRLEN, "token aud is not a string or an array of strings");
		return WRIT_EIDENTITY;
	}
	/* NB. a token for another relying party must not open a session here. */
	snprintf(err, WRIT_ERRLEN, "audience mismatch: the token is not for %.100s", is->audience);
	return WRIT_EIDENTITY;
}

static int
check_times(const json_t *claims, int64_t now, char err[WRIT_ERRLEN])
{
	int64_t exp, nbf, iat;
	int r;

	if ((r = claim_time(claims, "exp", &exp, err)) < 0)
		return r;
	if (r == 0) {
		snprintf(err, WRIT_ERRLEN, "token has no exp");
		return WRIT_EIDENTITY;
	}
	if (exp <= now - OIDC_SKEW) {
		snprintf(err, WRIT_ERRLEN, "token expired %lld s ago", (long long)(now - exp));
		return WRIT_EIDENTITY;
	}
	if ((r = claim_time(claims, "nbf", &nbf, err)) < 0)
		return r;
	if (r == 1 && nbf > now + OIDC_SKEW) {
		snprintf(err, WRIT_ERRLEN, "token not yet valid (nbf %lld s ahead)",
		    (long long)(nbf - now));
		return WRIT_EIDENTITY;
	}
	if ((r = claim_time(claims, "iat", &iat, err)) < 0)
		return r;
	if (r == 0) {
		snprintf(err, WRIT_ERRLEN, "token has no iat");
		return WRIT_EIDENTITY;
	}
	if (iat > now + OIDC_SKEW) {
		snprintf(err, WRIT_ERRLEN, "token issued in the future (iat %lld s ahead): "
		    "check the clocks", (long long)(iat - now));
		return WRIT_EIDENTITY;
	}
	return 0;
}

/* RS256 (PKCS#1 v1.5, SHA-256) or ES256 (JOSE r||s) over in[0..inlen). */
static int
check_sig(int alg, EVP_PKEY *pk, const char *in, size_t inlen,
    const unsigned char *sig, size_t siglen, char err[WRIT_ERRLEN])
{
	unsigned char *der = NULL;
	ECDSA_SIG *es = NULL;
	EVP_MD_CTX *md = NULL;
	int r = WRIT_EIDENTITY;

	if (alg == ALG_ES256) {
		BIGNUM *br, *bs;
		int n;

		/* JWS carries r||s, 32 bytes each; OpenSSL wants DER. */
		if (siglen != 64) {
			snprintf(err, WRIT_ERRLEN, "ES256 signature must be 64 bytes, not %zu", siglen);
			return WRIT_EIDENTITY;
		}
		es = ECDSA_SIG_new();
		br = BN_bin2bn(sig, 32, NULL);
		bs = BN_bin2bn(sig + 32, 32, NULL);
		if (es == NULL || br == NULL || bs == NULL || ECDSA_SIG_set0(es, br, bs) != 1) {
			BN_free(br);
			BN_free(bs);
			r = WRIT_ENOMEM;
			goto out;
		}
		if ((n = i2d_ECDSA_SIG(es, &der)) <= 0) {
			r = WRIT_ENOMEM;
			goto out;
		}
		sig = der;
		siglen = (size_t)n;
	} else if (siglen != (size_t)EVP_PKEY_get_size(pk)) {
		snprintf(err, WRIT_ERRLEN, "RS256 signature length does not match the key");
		return WRIT_EIDENTITY;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1) {
		r = WRIT_ENOMEM;
		goto out;
	}
	if (EVP_DigestVerify(md, sig, siglen, (const unsigned char *)in, inlen) != 1) {
		snprintf(err, WRIT_ERRLEN, "signature does not verify");
		goto out;
	}
	r = 0;
 out:
	if (r == WRIT_ENOMEM) {
		snprintf(err, WRIT_ERRLEN, "OpenSSL failed while verifying the signature");
		r = WRIT_EIDENTITY;
	}
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return r;
}

/* The header's alg, refused unless RS256 or ES256. */
static int
header_alg(const json_t *hdr, int *ret, char err[WRIT_ERRLEN])
{
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	char q[52];

	if (alg == NULL) {
		snprintf(err, WRIT_ERRLEN, "token header has no alg");
		return WRIT_EIDENTITY;
	}
	if (strcmp(alg, "RS256") == 0) {
		*ret = ALG_RS256;
		return 0;
	}
	if (strcmp(alg, "ES256") == 0) {
		*ret = ALG_ES256;
		return 0;
	}
	sjson_quote(q, alg);
	/* NB. none: no signature at all; HS*: the public key would be the HMAC secret. */
	if (strcasecmp(alg, "none") == 0)
		snprintf(err, WRIT_ERRLEN, "alg none refused: tokens must be signed (RS256 or ES256)");
	else if (strncasecmp(alg, "HS", 2) == 0)
		snprintf(err, WRIT_ERRLEN, "alg %s refused: HMAC is never accepted, only "
		    "RS256 and ES256", q);
	else
		snprintf(err, WRIT_ERRLEN, "alg %s refused: only RS256 and ES256", q);
	return WRIT_EIDENTITY;
}

int
oidc_verify(const char *token, int64_t now, json_t **ret_claims,
    const struct oidc_issuer **ret_issuer, char err[WRIT_ERRLEN])
{
	const struct oidc_issuer *is = NULL;
	const char *d1, *d2, *kid, *iss;
	json_t *hdr = NULL, *claims = NULL;
	unsigned char *sig = NULL;
	EVP_PKEY *pk = NULL;
	struct state *s = NULL;
	size_t len, siglen;
	int alg, kty = 0, r = WRIT_EIDENTITY;
	char q[52];

	len = strnlen(token, OIDC_MAX_TOKEN + 1);
	if (len > OIDC_MAX_TOKEN) {
		snprintf(err, WRIT_ERRLEN, "token too long (over %d bytes)", OIDC_MAX_TOKEN);
		return WRIT_EIDENTITY;
	}
	/* JWS compact: header.claims.signature, exactly (a JWE has five parts). */
	d1 = memchr(token, '.', len);
	d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL) {
		snprintf(err, WRIT_ERRLEN, "token is not three base64url parts separated by dots");
		return WRIT_EIDENTITY;
	}
	if ((r = part_json(token, (size_t)(d1 - token), "header", &hdr, err)) < 0)
		goto out;
	if ((r = header_alg(hdr, &alg, err)) < 0)
		goto out;
	/* We understand no extension, so one marked critical must be refused (RFC 7515). */
	if (json_object_get(hdr, "crit") != NULL) {
		snprintf(err, WRIT_ERRLEN, "crit header refused: no JWS extension is supported");
		r = WRIT_EIDENTITY;
		goto out;
	}
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (kid == NULL || kid[0] == '\0') {
		snprintf(err, WRIT_ERRLEN, "token has no kid");
		r = WRIT_EIDENTITY;
		goto out;
	}
	if ((r = part_json(d1 + 1, (size_t)(d2 - d1 - 1), "claims", &claims, err)) < 0)
		goto out;
	if (d2[1] == '\0') {
		snprintf(err, WRIT_ERRLEN, "token signature is empty");
		r = WRIT_EIDENTITY;
		goto out;
	}
	if ((sig = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), &siglen)) == NULL) {
		snprintf(err, WRIT_ERRLEN, "token signature is not base64url");
		r = WRIT_EIDENTITY;
		goto out;
	}
	/* The unverified iss only picks whose keys to check the signature with. */
	iss = json_string_value(json_object_get(claims, "iss"));
	if (iss == NULL) {
		snprintf(err, WRIT_ERRLEN, "token has no iss");
		r = WRIT_EIDENTITY;
		goto out;
	}

	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		snprintf(err, WRIT_ERRLEN, "oidc is not started (no ci.issuers configured)");
		r = WRIT_EIDENTITY;
		goto out;
	}
	for (unsigned int i = 0; i < nstates && s == NULL; i++)
		if (strcmp(states[i].is->issuer, iss) == 0)
			s = &states[i];
	if (s != NULL) {
		is = s->is;
		if ((alg == ALG_RS256 && !is->rs256) || (alg == ALG_ES256 && !is->es256)) {
			snprintf(err, WRIT_ERRLEN, "alg %s not allowed for issuer %.120s",
			    alg == ALG_RS256 ? "RS256" : "ES256", is->issuer);
			s = NULL;
		} else if (s->keys == NULL || mono_ms() - s->fetched >= is->jwks_ttl * 1000) {
			snprintf(err, WRIT_ERRLEN, "JWKS of %.120s unavailable%s%.100s", is->issuer,
			    s->why[0] != '\0' ? ": " : " (not fetched yet)", s->why);
			s->want = true;
			pthread_cond_signal(&wake);
			s = NULL;
		} else {
			for (size_t i = 0; i < s->keys->n && pk == NULL; i++)
				if (strcmp(s->keys->k[i].kid, kid) == 0) {
					pk = s->keys->k[i].pkey;
					kty = s->keys->k[i].kty;
					/* NB. our own reference: the thread may swap the set now. */
					EVP_PKEY_up_ref(pk);
				}
			if (pk == NULL) {
				/* Maybe rotated: refresh, but this token waits for no one. */
				sjson_quote(q, kid);
				snprintf(err, WRIT_ERRLEN, "unknown kid \"%s\" for issuer %.120s; "
				    "the JWKS is being refreshed, retry shortly", q, is->issuer);
				s->want = true;
				pthread_cond_signal(&wake);
			}
		}
	} else {
		sjson_quote(q, iss);
		snprintf(err, WRIT_ERRLEN, "unknown issuer \"%s\" (not in ci.issuers)", q);
	}
	pthread_mutex_unlock(&lock);
	if (pk == NULL) {
		r = WRIT_EIDENTITY;
		goto out;
	}
	/* An RSA key never checks ES256 and an EC key never RS256. */
	if ((alg == ALG_RS256) != (kty == KTY_RSA)) {
		sjson_quote(q, kid);
		snprintf(err, WRIT_ERRLEN, "kid \"%s\" is an %s key, not one for %s", q,
		    kty == KTY_RSA ? "RSA" : "EC", alg == ALG_RS256 ? "RS256" : "ES256");
		r = WRIT_EIDENTITY;
		goto out;
	}
	if ((r = check_sig(alg, pk, token, (size_t)(d2 - token), sig, siglen, err)) < 0 ||
	    (r = check_aud(claims, is, err)) < 0 ||
	    (r = check_times(claims, now, err)) < 0)
		goto out;
	*ret_claims = claims;
	claims = NULL;
	*ret_issuer = is;
	r = 0;
 out:
	EVP_PKEY_free(pk);
	free(sig);
	json_decref(hdr);
	json_decref(claims);
	return r;
}
