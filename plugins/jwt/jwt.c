/*
 * jwt.c - the jwt kind: EdDSA JWTs signed with libsodium.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "errors.h"
#include "jdump.h"
#include "keypage.h"
#include "jwt.h"

#define KEY_FILE "jwt-ed25519.key"	/* where writd 0.1 kept the key */
#define KEY_NAME "jwt-signing-key"

struct jwt_state {
	struct keypage key;	/* the signing key */
	char kid[32];
	char header[128];	/* the token's first part: the same for every token */
	char *issuer;
};

static void
b64url(char *dst, size_t dstlen, const unsigned char *src, size_t len)
{
	sodium_bin2base64(dst, dstlen, src, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Read the seed from an existing key file, refusing loose permissions. */
static int
load_seed(int dirfd, unsigned char seed[crypto_sign_SEEDBYTES], char err[WRIT_ERRLEN])
{
	struct stat st;
	ssize_t n;
	int fd, r = WRIT_EINTERNAL;

	fd = openat(dirfd, KEY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? WRIT_ENOTFOUND : (snprintf(err, WRIT_ERRLEN,
		    "cannot open the jwt key %s: %s", KEY_FILE, strerror(errno)), WRIT_EINTERNAL);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, WRIT_ERRLEN, "the jwt key %s is not a regular file", KEY_FILE);
		goto out;
	}
	/* A signing key others can read is a signing key others have. */
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, WRIT_ERRLEN, "the jwt key %s must be owned by uid %u "
		    "with mode 0600 (it is %04o, owner %u); fix it or remove it",
		    KEY_FILE, (unsigned)geteuid(), (unsigned)(st.st_mode & 07777),
		    (unsigned)st.st_uid);
		goto out;
	}
	n = read(fd, seed, crypto_sign_SEEDBYTES);
	if (n != crypto_sign_SEEDBYTES || st.st_size != crypto_sign_SEEDBYTES) {
		snprintf(err, WRIT_ERRLEN, "the jwt key %s is not %d bytes",
		    KEY_FILE, crypto_sign_SEEDBYTES);
		goto out;
	}
	r = 0;
 out:
	close(fd);
	return r;
}

static void
jwt_fini(void *state)
{
	struct jwt_state *s = state;

	if (s == NULL)
		return;
	keypage_free(&s->key);
	free(s->issuer);
	free(s);
}

/*
 * The signing seed from the store; else moved there from an old key file;
 * else made.
 */
static int
get_seed(const struct kind_env *env, const char *name,
    unsigned char seed[crypto_sign_SEEDBYTES], char err[WRIT_ERRLEN])
{
	struct secret *s = NULL;
	int r, dirfd;

	/* NB. writd's own from here on: the front end may not swap it for one it knows. */
	if (env->secret_own != NULL && (r = env->secret_own(name)) < 0) {
		snprintf(err, WRIT_ERRLEN, "cannot keep secret %s as writd's own", name);
		return r;
	}
	r = env->secret_get(name, &s);
	if (r == 0) {
		if (s->len != crypto_sign_SEEDBYTES) {
			secret_free(s);
			snprintf(err, WRIT_ERRLEN, "secret %s is not a %d-byte Ed25519 seed",
			    name, crypto_sign_SEEDBYTES);
			return WRIT_EINTERNAL;
		}
		memcpy(seed, s->data, crypto_sign_SEEDBYTES);
		secret_free(s);
		return 0;
	}
	if (r != WRIT_ENOTFOUND) {
		snprintf(err, WRIT_ERRLEN, "cannot read secret %s from the store", name);
		return r;
	}
	dirfd = open(env->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		snprintf(err, WRIT_ERRLEN, "cannot open state dir: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	r = load_seed(dirfd, seed, err);
	if (r == WRIT_ENOTFOUND)
		randombytes_buf(seed, crypto_sign_SEEDBYTES);
	else if (r < 0) {
		close(dirfd);
		return r;
	}
	if ((r = env->secret_put(name, seed, crypto_sign_SEEDBYTES, err)) == 0)
		(void)unlinkat(dirfd, KEY_FILE, 0);	/* moved: the store has it now */
	close(dirfd);
	return r;
}

/* base64url(JSON of v) appended at dst; returns bytes written or -1. */
static int
b64_json(char *dst, size_t room, const json_t *v)
{
	size_t len;
	char *text = jdump(v, JSON_COMPACT, &len);

	if (text == NULL)
		return -1;
	if (sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > room) {
		free(text);
		return -1;
	}
	b64url(dst, room, (const unsigned char *)text, len);
	free(text);
	return (int)strlen(dst);
}

static int
jwt_init(const json_t *config, const struct kind_env *env, void **ret_state,
    char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "issuer", "key", NULL };
	unsigned char seed[crypto_sign_SEEDBYTES];
	unsigned char digest[16];
	const char *issuer = "writ", *name = KEY_NAME;
	struct jwt_state *s = NULL;
	json_t *header;
	int r;

	if (config != NULL) {
		if ((r = sjson_only_keys(config, keys, "kinds.jwt", err)) < 0 ||
		    (r = sjson_string(config, "issuer", false, &issuer, err)) < 0 ||
		    (r = sjson_string(config, "key", false, &name, err)) < 0)
			return r;
		if (issuer == NULL)
			issuer = "writ";
		if (name == NULL)
			name = KEY_NAME;
		if (!grammar_plain_value(issuer, WRIT_JWT_MAX_AUD)) {
			snprintf(err, WRIT_ERRLEN, "kinds.jwt.issuer: not a plain name or URL");
			return WRIT_EBADREQ;
		}
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->issuer = strdup(issuer)) == NULL || keypage_init(&s->key) < 0) {
		r = WRIT_ENOMEM;
		goto out;
	}
	if ((r = get_seed(env, name, seed, err)) < 0)
		goto out;
	keypage_set(&s->key, seed);
	crypto_generichash(digest, sizeof(digest), s->key.pk, sizeof(s->key.pk), NULL, 0);
	b64url(s->kid, sizeof(s->kid), digest, sizeof(digest));
	header = json_pack("{ssssss}", "alg", "EdDSA", "typ", "JWT", "kid", s->kid);
	r = header != NULL ? b64_json(s->header, sizeof(s->header), header) : -1;
	json_decref(header);
	if (r < 0) {
		r = WRIT_ENOMEM;
		goto out;
	}
	*ret_state = s;
	s = NULL;
	r = 0;
 out:
	sodium_memzero(seed, sizeof(seed));
	jwt_fini(s);
	return r;
}

static int
jwt_mint(void *state, const struct kind_mint *req, struct kind_token *ret,
    char err[WRIT_ERRLEN])
{
	struct jwt_state *s = state;
	unsigned char sig[crypto_sign_BYTES];
	char buf[4096];
	json_t *claims;
	struct secret *tok = NULL;
	int n, m, r = WRIT_EMINT;
	size_t siglen;

	claims = json_pack("{sssssOsIsIss}", "iss", s->issuer, "sub", req->session_id,
	    "aud", json_object_get(req->scope, "aud"),
	    "iat", (json_int_t)req->issued_at, "exp", (json_int_t)req->expires_at,
	    "jti", req->writ_id);
	if (claims == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	if (json_object_get(req->scope, "scope") != NULL) {
		/* The claim is the OAuth form: one space-separated string. */
		char words[WRIT_JWT_MAX_WORDS * (WRIT_JWT_MAX_WORD + 1)] = "";
		size_t i, len = 0;
		json_t *w;

		json_array_foreach(json_object_get(req->scope, "scope"), i, w)
			len += (size_t)snprintf(words + len, sizeof(words) - len, "%s%s",
			    i ? " " : "", json_string_value(w));
		json_object_set_new(claims, "scope", json_string(words));
	}
	n = (int)strlen(s->header);
	memcpy(buf, s->header, (size_t)n);
	buf[n] = '.';
	m = b64_json(buf + n + 1, sizeof(buf) - (size_t)n - 1, claims);
	if (m < 0)
		goto fail;
	n += 1 + m;
	/* NB. the key page opens on use and closes once idle (keypage.h). */
	crypto_sign_detached(sig, NULL, (const unsigned char *)buf, (size_t)n,
	    keypage_open(&s->key));
	keypage_close(&s->key);
	siglen = sodium_base64_ENCODED_LEN(sizeof(sig), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	tok = secret_new((size_t)n + 1 + siglen - 1);
	if (tok == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	memcpy(tok->data, buf, (size_t)n);
	tok->data[n] = '.';
	b64url((char *)tok->data + n + 1, siglen, sig, sizeof(sig));
	ret->token = tok;
	r = 0;
	goto out;
 fail:
	snprintf(err, WRIT_ERRLEN, "the token would be too large");
 out:
	sodium_memzero(sig, sizeof(sig));
	json_decref(claims);
	return r;
}

static int
jwt_idle(void *state)
{
	struct jwt_state *s = state;

	return keypage_idle(&s->key);
}

static json_t *
jwt_public_keys(void *state)
{
	struct jwt_state *s = state;
	char x[64];

	b64url(x, sizeof(x), s->key.pk, sizeof(s->key.pk));
	return json_pack("{s[{ssssssssssss}]}", "keys", "kty", "OKP", "crv", "Ed25519",
	    "alg", "EdDSA", "use", "sig", "kid", s->kid, "x", x);
}

const struct writ_kind kind_jwt = {
	.name = "jwt",
	.abi = WRIT_KIND_ABI,
	.grammar = &jwt_grammar,
	.init = jwt_init,
	.fini = jwt_fini,
	.mint = jwt_mint,
	.revoke = NULL,		/* a signed JWT cannot be recalled; keep TTLs short */
	.public_keys = jwt_public_keys,
	.idle = jwt_idle,
};
