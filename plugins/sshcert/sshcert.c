/*
 * sshcert.c - the sshcert kind: OpenSSH user certificates signed with
 * libsodium (PROTOCOL.certkeys), revoked through a KRL (krl.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "duration.h"
#include "errors.h"
#include "id.h"
#include "keypage.h"
#include "krl.h"
#include "sshcert.h"

#define CERT_TYPE "ssh-ed25519-cert-v01@openssh.com"
#define KEY_TYPE "ssh-ed25519"
#define SSH_CERT_TYPE_USER 1
#define CA_NAME "ssh-ca"
#define KRL_NAME "ssh-revoked.krl"
/* Longest certificate line: the fields' limits (scope.h) with room to spare. */
#define MAX_LINE 8192

struct sshcert {
	pthread_mutex_t lock;	/* guards loaded, and loading the CA key */
	struct keypage key;	/* the CA key, once loaded */
	bool loaded;		/* key holds the CA */
	char key_name[72];
	const struct kind_env *env;
	int64_t skew;		/* seconds valid_after is back-dated, and KRL grace */
	struct krl krl;
};

int
sshcert_ca_seed(const unsigned char *p, size_t len, unsigned char seed[32])
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char end[] = "-----END OPENSSH PRIVATE KEY-----";
	const unsigned char *b, *kt, *kp, *ks, *cipher, *kdf;
	unsigned char *raw = NULL;
	const char *text = (const char *)p, *e;
	size_t rawlen, bl, ktl, kpl, ksl, cl, kl;
	struct wire_reader r, pr;
	uint32_t nkeys, c1, c2;
	int ret = -1;

	if (len == 32) {
		memcpy(seed, p, 32);
		return 0;
	}
	/* PROTOCOL.key: "openssh-key-v1\0", cipher, kdf, kdf options, keys. */
	if (len < sizeof(begin) || memcmp(text, begin, sizeof(begin) - 1) != 0 ||
	    (e = memmem(text, len, end, sizeof(end) - 1)) == NULL ||
	    (raw = malloc(len)) == NULL)
		return -1;
	text += sizeof(begin) - 1;
	if (sodium_base642bin(raw, len, text, (size_t)(e - text), "\r\n", &rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || rawlen < 15 ||
	    memcmp(raw, "openssh-key-v1", 15) != 0)
		goto out;
	r = (struct wire_reader){ raw + 15, rawlen - 15 };
	if (wire_get_string(&r, &cipher, &cl) < 0 || wire_get_string(&r, &kdf, &kl) < 0 ||
	    wire_get_string(&r, &b, &bl) < 0 || wire_get_u32(&r, &nkeys) < 0 ||
	    wire_get_string(&r, &b, &bl) < 0 || wire_get_string(&r, &b, &bl) < 0 ||
	    cl != 4 || memcmp(cipher, "none", 4) != 0 || kl != 4 ||
	    memcmp(kdf, "none", 4) != 0 || nkeys != 1)
		goto out;	/* NB. an encrypted key: writd has no passphrase for it */
	pr = (struct wire_reader){ b, bl };
	if (wire_get_u32(&pr, &c1) < 0 || wire_get_u32(&pr, &c2) < 0 || c1 != c2 ||
	    wire_get_string(&pr, &kt, &ktl) < 0 || wire_get_string(&pr, &kp, &kpl) < 0 ||
	    wire_get_string(&pr, &ks, &ksl) < 0 || ktl != strlen(KEY_TYPE) ||
	    memcmp(kt, KEY_TYPE, ktl) != 0 || kpl != 32 || ksl != 64 ||
	    memcmp(ks + 32, kp, 32) != 0)
		goto out;
	memcpy(seed, ks, 32);
	ret = 0;
 out:
	sodium_memzero(raw, len);
	free(raw);
	return ret;
}

/* Load the CA from the store, once (lock held).  0, or a code with a message. */
static int
load_ca(struct sshcert *s, char err[WRIT_ERRLEN])
{
	unsigned char seed[32];
	struct secret *sec = NULL;
	int r;

	if (s->loaded)
		return 0;
	if ((r = s->env->secret_get(s->key_name, &sec)) < 0) {
		if (r != WRIT_ENOTFOUND) {
			snprintf(err, WRIT_ERRLEN, "cannot read secret %s from the store",
			    s->key_name);
			return r;
		}
		snprintf(err, WRIT_ERRLEN, "the SSH CA key is not in the store: make one with "
		    "`writctl sshcert init` (or `writctl secret set %s --from-file ca_key`)",
		    s->key_name);
		return WRIT_EUNCONFIGURED;
	}
	r = sshcert_ca_seed(sec->data, sec->len, seed);
	secret_free(sec);
	if (r < 0) {
		snprintf(err, WRIT_ERRLEN, "secret %s is neither a 32-byte Ed25519 seed nor an "
		    "unencrypted OpenSSH ed25519 private key", s->key_name);
		return WRIT_EUNCONFIGURED;
	}
	keypage_set(&s->key, seed);
	sodium_memzero(seed, sizeof(seed));
	s->loaded = true;
	return 0;
}

static void
sshcert_fini(void *state)
{
	struct sshcert *s = state;

	if (s == NULL)
		return;
	keypage_free(&s->key);
	krl_close(&s->krl);
	free(s);
}

static int
sshcert_init(const json_t *config, const struct kind_env *env, void **ret_state,
    char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "ca_key", "krl_path", "clock_skew", NULL };
	const char *name = CA_NAME, *krl = NULL, *skew = NULL;
	char path[PATH_MAX];
	struct sshcert *s;
	int r;

	if (config != NULL &&
	    ((r = sjson_only_keys(config, keys, "kinds.sshcert", err)) < 0 ||
	    (r = sjson_string(config, "ca_key", false, &name, err)) < 0 ||
	    (r = sjson_string(config, "krl_path", false, &krl, err)) < 0 ||
	    (r = sjson_string(config, "clock_skew", false, &skew, err)) < 0))
		return r;
	if (name == NULL)
		name = CA_NAME;
	if (!secret_name_valid(name)) {
		snprintf(err, WRIT_ERRLEN, "kinds.sshcert.ca_key: a secret name");
		return WRIT_EBADREQ;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || keypage_init(&s->key) < 0) {
		free(s);
		return WRIT_ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->key_name, sizeof(s->key_name), "%s", name);
	s->env = env;
	s->skew = WRIT_SSHCERT_SKEW;
	if (skew != NULL && (duration_parse(skew, &s->skew) < 0 ||
	    s->skew > WRIT_SSHCERT_MAX_SKEW)) {
		snprintf(err, WRIT_ERRLEN, "kinds.sshcert.clock_skew: a duration from 1s to %ds",
		    WRIT_SSHCERT_MAX_SKEW);
		r = WRIT_EBADREQ;
		goto fail;
	}
	if (krl == NULL) {
		snprintf(path, sizeof(path), "%s/" KRL_NAME, env->state_dir);
		krl = path;
	}
	if ((r = krl_open(&s->krl, krl, s->skew, (int64_t)time(NULL), err)) < 0)
		goto fail;
	/* A key already in the store is checked now; a missing one at first use. */
	pthread_mutex_lock(&s->lock);
	r = load_ca(s, err);
	pthread_mutex_unlock(&s->lock);
	if (r < 0 && r != WRIT_EUNCONFIGURED)
		goto fail;
	if (r < 0) {
		struct secret *sec = NULL;

		if (env->secret_get(name, &sec) == 0) {
			secret_free(sec);
			goto fail;	/* there, but not a key */
		}
	}
	*ret_state = s;
	return 0;
 fail:
	sshcert_fini(s);
	return r;
}

/* string(string(value)): a critical option's data is a string in a string. */
static void
put_option(struct wire_buf *b, const char *name, const char *value)
{
	wire_put_cstring(b, name);
	wire_put_u32(b, (uint32_t)(4 + strlen(value)));
	wire_put_cstring(b, value);
}

int
sshcert_encode(const json_t *scope, const struct sshcert_info *info,
    const unsigned char nonce[32], const unsigned char *sk,
    const unsigned char ca_pk[WRIT_SSHCERT_PKLEN], struct wire_buf *out)
{
	struct wire_buf princ = { 0 }, opts = { 0 }, exts = { 0 }, sigkey = { 0 }, sig = { 0 };
	unsigned char s[crypto_sign_BYTES];
	const char *cmd = json_string_value(json_object_get(scope, "force_command"));
	const json_t *src = json_object_get(scope, "source_address");
	size_t start = out->len, i;
	json_t *x;

	json_array_foreach(json_object_get(scope, "principals"), i, x)
		wire_put_cstring(&princ, json_string_value(x));
	/* Critical options, sorted by name: force-command < source-address. */
	if (cmd != NULL)
		put_option(&opts, "force-command", cmd);
	if (src != NULL) {
		char list[WRIT_SSHCERT_MAX_SOURCES * 64] = "";
		size_t len = 0;

		json_array_foreach(src, i, x)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
			    i ? "," : "", json_string_value(x));
		put_option(&opts, "source-address", list);
	}
	/* Extensions, sorted (canonical order is strcmp's, as OpenSSH's), empty data. */
	json_array_foreach(json_object_get(scope, "extensions"), i, x) {
		wire_put_cstring(&exts, json_string_value(x));
		wire_put_string(&exts, "", 0);
	}
	wire_put_cstring(&sigkey, KEY_TYPE);
	wire_put_string(&sigkey, ca_pk, WRIT_SSHCERT_PKLEN);

	wire_put_cstring(out, CERT_TYPE);
	wire_put_string(out, nonce, 32);
	wire_put_string(out, info->pk, WRIT_SSHCERT_PKLEN);
	wire_put_u64(out, info->serial);
	wire_put_u32(out, SSH_CERT_TYPE_USER);
	wire_put_cstring(out, info->key_id);
	wire_put_string(out, princ.p, princ.len);
	wire_put_u64(out, (uint64_t)info->valid_after);
	wire_put_u64(out, (uint64_t)info->valid_before);
	wire_put_string(out, opts.p, opts.len);
	wire_put_string(out, exts.p, exts.len);
	wire_put_string(out, "", 0);		/* reserved */
	wire_put_string(out, sigkey.p, sigkey.len);
	if (!out->err && !princ.err && !opts.err && !exts.err && !sigkey.err) {
		/* The signature covers every field before it, the signature key included. */
		crypto_sign_detached(s, NULL, out->p + start, out->len - start, sk);
		wire_put_cstring(&sig, KEY_TYPE);
		wire_put_string(&sig, s, sizeof(s));
		wire_put_string(out, sig.p, sig.len);
	} else
		out->err = true;
	sodium_memzero(s, sizeof(s));
	wire_free(&princ);
	wire_free(&opts);
	wire_free(&exts);
	wire_free(&sigkey);
	wire_free(&sig);
	return out->err || princ.err || opts.err || exts.err || sigkey.err || sig.err ?
	    WRIT_ENOMEM : 0;
}

/* "string type, string 32-byte key" of ssh-ed25519 at blob into pk. */
static int
ed25519_blob(const unsigned char *blob, size_t len, unsigned char pk[32])
{
	struct wire_reader r = { blob, len };
	const unsigned char *t, *k;
	size_t tl, kl;

	if (wire_get_string(&r, &t, &tl) < 0 || wire_get_string(&r, &k, &kl) < 0 ||
	    r.len != 0 || tl != strlen(KEY_TYPE) || memcmp(t, KEY_TYPE, tl) != 0 || kl != 32)
		return -1;
	memcpy(pk, k, 32);
	return 0;
}

int
sshcert_parse_line(const char *line, size_t len, struct sshcert_info *ret)
{
	const unsigned char *t, *v, *signed_end;
	unsigned char *blob = NULL;
	size_t tl, vl, blen, b64len, i;
	struct sshcert_info info = { 0 };
	struct wire_reader r, sr;
	uint64_t va, vb;
	const char *b64;
	int rc = WRIT_EBADREQ;

	if (len > MAX_LINE || len < strlen(CERT_TYPE) + 2 ||
	    memcmp(line, CERT_TYPE " ", strlen(CERT_TYPE) + 1) != 0)
		return WRIT_EBADREQ;
	b64 = line + strlen(CERT_TYPE) + 1;
	for (b64len = 0; b64 + b64len < line + len && b64[b64len] != ' '; b64len++)
		;
	if (b64len == 0)
		return WRIT_EBADREQ;
	if ((blob = malloc(b64len)) == NULL)
		return WRIT_ENOMEM;
	if (sodium_base642bin(blob, b64len, b64, b64len, NULL, &blen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	r = (struct wire_reader){ blob, blen };
	/* type, nonce, pk, serial, type, key id, principals, valid after/before ... */
	if (wire_get_string(&r, &t, &tl) < 0 || tl != strlen(CERT_TYPE) ||
	    memcmp(t, CERT_TYPE, tl) != 0 || wire_get_string(&r, &v, &vl) < 0 ||
	    wire_get_string(&r, &v, &vl) < 0 || vl != 32)
		goto out;
	memcpy(info.pk, v, 32);
	if (wire_get_u64(&r, &info.serial) < 0 || wire_get_u32(&r, &info.type) < 0 ||
	    wire_get_string(&r, &v, &vl) < 0 || vl >= sizeof(info.key_id))
		goto out;
	memcpy(info.key_id, v, vl);
	for (i = 0; i < vl; i++)
		if (info.key_id[i] == '\0')
			goto out;
	if (wire_get_string(&r, &v, &vl) < 0 || wire_get_u64(&r, &va) < 0 ||
	    wire_get_u64(&r, &vb) < 0 || va > INT64_MAX || vb > INT64_MAX ||
	    /* critical options, extensions, reserved */
	    wire_get_string(&r, &v, &vl) < 0 || wire_get_string(&r, &v, &vl) < 0 ||
	    wire_get_string(&r, &v, &vl) < 0 ||
	    wire_get_string(&r, &v, &vl) < 0 || ed25519_blob(v, vl, info.ca) < 0)
		goto out;
	info.valid_after = (int64_t)va;
	info.valid_before = (int64_t)vb;
	signed_end = r.p;
	/* The signature: string "ssh-ed25519", string 64 bytes; then nothing. */
	if (wire_get_string(&r, &v, &vl) < 0 || r.len != 0)
		goto out;
	sr = (struct wire_reader){ v, vl };
	if (wire_get_string(&sr, &t, &tl) < 0 || tl != strlen(KEY_TYPE) ||
	    memcmp(t, KEY_TYPE, tl) != 0 || wire_get_string(&sr, &v, &vl) < 0 ||
	    vl != crypto_sign_BYTES || sr.len != 0 ||
	    crypto_sign_verify_detached(v, blob, (size_t)(signed_end - blob), info.ca) != 0)
		goto out;
	*ret = info;
	rc = 0;
 out:
	free(blob);
	return rc;
}

static int
sshcert_mint(void *state, const struct kind_mint *req, struct kind_token *ret,
    char err[WRIT_ERRLEN])
{
	struct sshcert *s = state;
	struct sshcert_info info = { 0 };
	struct wire_buf cert = { 0 };
	unsigned char nonce[32];
	struct secret *tok;
	size_t b64len, at;
	int r;

	if (sshcert_public_key(json_string_value(json_object_get(req->scope, "public_key")),
	    info.pk) < 0) {
		snprintf(err, WRIT_ERRLEN, "the scope's public key is not canonical");
		return WRIT_EINTERNAL;
	}
	/* NB. serial 0 means "no serial" to OpenSSH: a KRL could not name it. */
	do
		randombytes_buf(&info.serial, sizeof(info.serial));
	while (info.serial == 0);
	randombytes_buf(nonce, sizeof(nonce));
	snprintf(info.key_id, sizeof(info.key_id), "writ:%s:%s", req->session_id, req->writ_id);
	/* Back-dated: a server whose clock is a little behind accepts it at once. */
	info.valid_after = req->issued_at > s->skew ? req->issued_at - s->skew : 0;
	info.valid_before = req->expires_at;

	/* NB. the key page opens on use and closes once idle (keypage.h). */
	pthread_mutex_lock(&s->lock);
	r = load_ca(s, err);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return r;
	r = sshcert_encode(req->scope, &info, nonce, keypage_open(&s->key), s->key.pk, &cert);
	keypage_close(&s->key);
	if (r < 0)
		goto out;
	/* "ssh-ed25519-cert-v01@openssh.com BASE64 writ:ID" */
	b64len = sodium_base64_ENCODED_LEN(cert.len, sodium_base64_VARIANT_ORIGINAL);
	if ((tok = secret_new(strlen(CERT_TYPE) + 1 + b64len - 1 + 6 + 32)) == NULL) {
		r = WRIT_ENOMEM;
		goto out;
	}
	at = (size_t)snprintf((char *)tok->data, tok->len + 1, CERT_TYPE " ");
	sodium_bin2base64((char *)tok->data + at, b64len, cert.p, cert.len,
	    sodium_base64_VARIANT_ORIGINAL);
	at += b64len - 1;
	snprintf((char *)tok->data + at, tok->len + 1 - at, " writ:%s", req->writ_id);
	tok->len = strlen((char *)tok->data);
	ret->token = tok;
	r = 0;
 out:
	wire_free(&cert);
	sodium_memzero(nonce, sizeof(nonce));
	return r;
}

/*
 * The certificate's serial into the KRL, on an upstream worker (kind.h).
 * One past its valid_before needs none -- writd calls this at every writ's
 * natural expiry too -- and only prunes the KRL of entries expired by now.
 */
static int
sshcert_revoke(void *state, const struct secret *token, char err[WRIT_ERRLEN])
{
	struct sshcert *s = state;
	struct sshcert_info info;
	int64_t now = (int64_t)time(NULL);

	if (sshcert_parse_line((const char *)token->data, token->len, &info) < 0) {
		snprintf(err, WRIT_ERRLEN, "the certificate to revoke does not parse");
		return WRIT_EINTERNAL;
	}
	if (info.valid_before <= now)
		return krl_prune(&s->krl, now, err);
	return krl_revoke(&s->krl, info.ca, info.serial, info.valid_before, now, err);
}

static int
sshcert_idle(void *state)
{
	struct sshcert *s = state;

	return keypage_idle(&s->key);
}

/*
 * {"ca": "ssh-ed25519 AAAA... writ-ca" (null until the CA is in the
 * store), "krl": the KRL's path}: what sshd's TrustedUserCAKeys and
 * RevokedKeys take.
 */
static json_t *
sshcert_public_keys(void *state)
{
	struct sshcert *s = state;
	unsigned char blob[64];
	char line[160], err[WRIT_ERRLEN];
	struct wire_buf b = { 0 };
	json_t *ca = json_null();

	pthread_mutex_lock(&s->lock);
	if (load_ca(s, err) == 0) {
		wire_put_cstring(&b, KEY_TYPE);
		wire_put_string(&b, s->key.pk, sizeof(s->key.pk));
		if (!b.err && b.len <= sizeof(blob)) {
			memcpy(blob, b.p, b.len);
			snprintf(line, sizeof(line), KEY_TYPE " ");
			sodium_bin2base64(line + strlen(line), sizeof(line) - strlen(line), blob,
			    b.len, sodium_base64_VARIANT_ORIGINAL);
			strncat(line, " writ-ca", sizeof(line) - strlen(line) - 1);
			ca = json_string(line);
		}
	}
	pthread_mutex_unlock(&s->lock);
	wire_free(&b);
	return json_pack("{soss}", "ca", ca, "krl", s->krl.path);
}

const struct writ_kind kind_sshcert = {
	.name = "sshcert",
	.abi = WRIT_KIND_ABI,
	.grammar = &sshcert_grammar,
	.upstream = 1,		/* revoke writes and fsyncs the KRL (sshcert.h) */
	.init = sshcert_init,
	.fini = sshcert_fini,
	.mint = sshcert_mint,
	.revoke = sshcert_revoke,
	.public_keys = sshcert_public_keys,
	.idle = sshcert_idle,
};
