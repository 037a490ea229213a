/*
 * github.c - the github kind's minting: app JWT (RS256), installation
 * tokens, revoke.  Its scope grammar is in scope.c.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "errors.h"
#include "github.h"
#include "id.h"

/* Seconds the app JWT is backdated (clock drift) and how long it lives. */
#define APP_JWT_SKEW 60
#define APP_JWT_LIFE 540
/* Retries of a 5xx answer, each after 100-400 ms of jitter. */
#define RETRIES 2

struct github {
	bool configured;
	char app_id[64];
	char api[256];			/* no trailing slash */
	char ca_file[256];
	long long installation_id;	/* 0: look up per owner */
	long timeout;			/* seconds for one upstream call */
	EVP_PKEY *key;			/* XXX in OpenSSL's heap, not sodium's */
	char key_name[72];		/* the secret holding the PEM key */
	const struct kind_env *env;
	pthread_mutex_t lock;		/* guards the caches below */
	char jwt[2048];			/* the app JWT, reused until near expiry */
	int64_t jwt_exp;
	struct github_install_cache install;
	struct github_limits limits;	/* rate limits GitHub reported */
};

struct buf {
	char *p;
	size_t len;
	bool too_big;
};

/*
 * What an answer says about GitHub's rate limits (its documented headers):
 * retry-after (seconds, secondary limits), x-ratelimit-remaining (0: the
 * primary limit is spent) and x-ratelimit-reset (Unix seconds when it
 * refills).  NB. GitHub sends x-ratelimit-* with every answer, so a reset
 * time alone means nothing: only a 403 or 429 that is a rate limit is one.
 */
struct answer {
	long status;
	json_t *body;
	int retry_after;		/* retry-after, seconds (clamped), when has_retry */
	bool has_retry;
	int reset_in;			/* x-ratelimit-reset - now, seconds, or 0 */
	bool limited;			/* x-ratelimit-remaining: 0 */
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	char *q;

	if (b->len + len > WRIT_GITHUB_MAX_RESPONSE) {
		b->too_big = true;
		return 0;
	}
	/* NB. not realloc: the answer holds a token; old copies are zeroed. */
	q = malloc(b->len + len + 1);
	if (q == NULL)
		return 0;
	if (b->p != NULL) {
		memcpy(q, b->p, b->len);
		sodium_memzero(b->p, b->len);
		free(b->p);
	}
	b->p = q;
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

/* A header's number: digits after optional spaces, clamped to 0..limit. */
static long long
header_num(const char *v, long long limit)
{
	char *end;
	long long n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strtoll(v, &end, 10);
	if (end == v || n < 0)
		return 0;
	return n > limit ? limit : n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	char line[256];

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	if (strncasecmp(line, "retry-after:", 12) == 0) {
		a->retry_after = (int)header_num(line + 12, WRIT_GITHUB_LIMIT_MAX);
		a->has_retry = true;
	} else if (strncasecmp(line, "x-ratelimit-remaining:", 22) == 0 &&
	    header_num(line + 22, 1) == 0 && strpbrk(line + 22, "0123456789") != NULL)
		a->limited = true;
	else if (strncasecmp(line, "x-ratelimit-reset:", 18) == 0) {
		long long reset = header_num(line + 18, (long long)1 << 40) - (long long)time(NULL);

		/* NB. clamped here: a forged reset days ahead waits an hour at most. */
		a->reset_in = reset <= 0 ? 0 : reset > WRIT_GITHUB_LIMIT_MAX ?
		    WRIT_GITHUB_LIMIT_MAX : (int)reset;
	}
	return len;
}

/*
 * One call: method url with auth ("Bearer JWT" or "token TOKEN") and an
 * optional JSON body.  https only, no redirects, bounded in time and size.
 * Returns 0 with a->status (and a->body when JSON came back), or
 * WRIT_EUPTIMEOUT / WRIT_EUPSTREAM with a message.
 */
static int
call(struct github *g, const char *method, const char *url, const char *auth,
    const char *body, struct answer *a, char err[WRIT_ERRLEN])
{
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	char hdr[2200];
	CURLcode cc;
	CURL *c;

	memset(a, 0, sizeof(*a));
	c = curl_easy_init();
	if (c == NULL)
		return WRIT_ENOMEM;
	snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Accept: application/vnd.github+json");
	h = curl_slist_append(h, "X-GitHub-Api-Version: 2022-11-28");
	h = curl_slist_append(h, "User-Agent: writ/" WRIT_VERSION);
	if (body != NULL)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, g->timeout < 5 ? g->timeout : 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, g->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	if (g->ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, g->ca_file);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	sodium_memzero(hdr, sizeof(hdr));
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, WRIT_ERRLEN, "%s did not answer within %lds", g->api, g->timeout);
		free(b.p);
		return WRIT_EUPTIMEOUT;
	}
	if (cc != CURLE_OK) {
		snprintf(err, WRIT_ERRLEN, "cannot reach %s: %s", g->api, b.too_big ?
		    "the answer is too large" : curl_easy_strerror(cc));
		free(b.p);
		return WRIT_EUPSTREAM;
	}
	if (b.len > 0)
		a->body = json_loadb(b.p, b.len, 0, NULL);
	if (b.p != NULL)
		sodium_memzero(b.p, b.len);	/* it may hold a token */
	free(b.p);
	return 0;
}

static void
b64url(char *dst, size_t size, const unsigned char *src, size_t len)
{
	sodium_bin2base64(dst, size, src, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/*
 * Load the app's private key from the store (lock held).  Lazily, so that
 * `writctl secret set` on a running writd is enough.
 */
static int
load_key(struct github *g, char err[WRIT_ERRLEN])
{
	struct secret *pem = NULL;
	BIO *bio;

	if (g->key != NULL)
		return 0;
	if (g->env->secret_get(g->key_name, &pem) < 0) {
		snprintf(err, WRIT_ERRLEN, "the github app key is not in the store: add it with "
		    "`writctl secret set %s --from-file app.pem`", g->key_name);
		return WRIT_EUNCONFIGURED;
	}
	bio = BIO_new_mem_buf(pem->data, (int)pem->len);
	g->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	secret_free(pem);
	if (g->key == NULL || EVP_PKEY_get_base_id(g->key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(g->key);
		g->key = NULL;
		snprintf(err, WRIT_ERRLEN, "secret %s is not an RSA private key in PEM", g->key_name);
		return WRIT_EUNCONFIGURED;
	}
	return 0;
}

/* The app JWT (RS256), made anew only when the cached one nears expiry. */
static int
app_jwt(struct github *g, char out[2048], char err[WRIT_ERRLEN])
{
	int64_t now = (int64_t)time(NULL);
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	char head[64], claims[256], input[1024];
	EVP_MD_CTX *md;
	int n, r = 0;

	pthread_mutex_lock(&g->lock);
	if ((r = load_key(g, err)) < 0)
		goto out;
	if (g->jwt_exp - now > 60) {
		memcpy(out, g->jwt, sizeof(g->jwt));
		goto out;
	}
	b64url(head, sizeof(head), (const unsigned char *)"{\"alg\":\"RS256\",\"typ\":\"JWT\"}", 27);
	n = snprintf(input, sizeof(input), "{\"iat\":%lld,\"exp\":%lld,\"iss\":\"%s\"}",
	    (long long)(now - APP_JWT_SKEW), (long long)(now + APP_JWT_LIFE), g->app_id);
	b64url(claims, sizeof(claims), (const unsigned char *)input, (size_t)n);
	n = snprintf(input, sizeof(input), "%s.%s", head, claims);
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, g->key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, (size_t)n) != 1) {
		snprintf(err, WRIT_ERRLEN, "cannot sign the GitHub app JWT");
		r = WRIT_EINTERNAL;
	} else {
		snprintf(g->jwt, sizeof(g->jwt), "%s.", input);
		b64url(g->jwt + n + 1, sizeof(g->jwt) - (size_t)n - 1, sig, siglen);
		g->jwt_exp = now + APP_JWT_LIFE;
		memcpy(out, g->jwt, sizeof(g->jwt));
	}
	EVP_MD_CTX_free(md);
 out:
	pthread_mutex_unlock(&g->lock);
	return r;
}

/* Map a failed answer to a writ error, with a message that says what to do. */
static int
upstream_error(const struct answer *a, const char *what, struct kind_token *ret,
    char err[WRIT_ERRLEN])
{
	const char *m = json_string_value(json_object_get(a->body, "message"));
	char q[52];

	sjson_quote(q, m != NULL ? m : "");
	if (a->status == 401) {
		snprintf(err, WRIT_ERRLEN, "GitHub refused the app JWT while %s (%s): check "
		    "kinds.github.app_id, the private key, and the host clock", what, q);
		return WRIT_EUPAUTH;
	}
	/*
	 * GitHub's documented rate-limit answers: 403 or 429 with
	 * x-ratelimit-remaining 0 (primary), or with retry-after or a message
	 * naming a secondary rate limit.  The wait: retry-after, else the
	 * reset time when the primary limit is spent, else a minute.
	 */
	if (a->status == 429 || (a->status == 403 && (a->limited || a->has_retry ||
	    (m != NULL && strcasestr(m, "rate limit") != NULL)))) {
		ret->retry_after = a->has_retry && a->retry_after > 0 ? a->retry_after :
		    a->limited && a->reset_in > 0 ? a->reset_in : WRIT_GITHUB_LIMIT_DEFAULT;
		snprintf(err, WRIT_ERRLEN, "GitHub is rate limiting writd; retry in %ds",
		    ret->retry_after);
		return WRIT_EUPLIMIT;
	}
	if (a->status == 403 || a->status == 404 || a->status == 422) {
		snprintf(err, WRIT_ERRLEN, "GitHub refused while %s (HTTP %ld: %s): the "
		    "repository or permission is outside the app's installation", what,
		    a->status, q);
		return WRIT_EUPSCOPE;
	}
	snprintf(err, WRIT_ERRLEN, "GitHub failed while %s (HTTP %ld)", what, a->status);
	return WRIT_EUPSTREAM;
}

/* call() with bounded, jittered retries of 5xx answers. */
static int
call_retry(struct github *g, const char *method, const char *url, const char *auth,
    const char *body, struct answer *a, char err[WRIT_ERRLEN])
{
	int r;

	for (int i = 0;; i++) {
		r = call(g, method, url, auth, body, a, err);
		if (r < 0 || a->status < 500 || i == RETRIES)
			return r;
		json_decref(a->body);
		usleep(100000 + randombytes_uniform(300000));
	}
}

long long
github_install_find(const struct github_install_cache *c, const char *owner, int64_t now)
{
	for (size_t i = 0; i < WRIT_GITHUB_INSTALL_SLOTS; i++)
		if (c->slot[i].until > now && strcmp(c->slot[i].owner, owner) == 0)
			return c->slot[i].id;
	return 0;
}

void
github_install_put(struct github_install_cache *c, const char *owner, long long id, int64_t now)
{
	size_t at = 0;

	if (strlen(owner) >= sizeof(c->slot[0].owner) || id <= 0)
		return;		/* never a truncated key that could match another owner */
	/*
	 * The owner's own slot, else the one that expires first: a free or
	 * stale one while there is one, so no live entry is evicted while
	 * room is left.
	 */
	for (size_t i = 0; i < WRIT_GITHUB_INSTALL_SLOTS; i++) {
		if (strcmp(c->slot[i].owner, owner) == 0) {
			at = i;
			break;
		}
		if (c->slot[i].until < c->slot[at].until)
			at = i;
	}
	snprintf(c->slot[at].owner, sizeof(c->slot[at].owner), "%s", owner);
	c->slot[at].id = id;
	c->slot[at].until = now + WRIT_GITHUB_INSTALL_TTL;
}

int64_t
github_limit_find(const struct github_limits *c, long long id, const char *owner, int64_t now)
{
	int64_t left = 0;

	for (size_t i = 0; i < WRIT_GITHUB_LIMIT_SLOTS; i++)
		if (c->slot[i].until > now && ((id > 0 && c->slot[i].id == id) ||
		    strcmp(c->slot[i].owner, owner) == 0) && c->slot[i].until - now > left)
			left = c->slot[i].until - now;
	return left;
}

void
github_limit_put(struct github_limits *c, long long id, const char *owner, int64_t secs,
    int64_t now)
{
	bool same = false;
	size_t at = 0;

	if (strlen(owner) >= sizeof(c->slot[0].owner) || owner[0] == '\0')
		return;		/* never a truncated key that could match another owner */
	/* NB. bounded: a forged header must not keep writ from GitHub for days. */
	secs = secs < 1 ? 1 : secs > WRIT_GITHUB_LIMIT_MAX ? WRIT_GITHUB_LIMIT_MAX : secs;
	/* The same installation's (or owner's) slot, else the one ending first. */
	for (size_t i = 0; i < WRIT_GITHUB_LIMIT_SLOTS; i++) {
		if ((id > 0 && c->slot[i].id == id) || strcmp(c->slot[i].owner, owner) == 0) {
			at = i;
			same = true;
			break;
		}
		if (c->slot[i].until < c->slot[at].until)
			at = i;
	}
	snprintf(c->slot[at].owner, sizeof(c->slot[at].owner), "%s", owner);
	if (id > 0)
		c->slot[at].id = id;
	else if (!same)
		c->slot[at].id = 0;
	/* A later, shorter answer does not cut a longer wait short. */
	if (!same || c->slot[at].until < now + secs)
		c->slot[at].until = now + secs;
}

/* Monotonic seconds: a rate-limit window is immune to clock steps. */
static int64_t
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Remember that GitHub rate limits installation id (0: not known yet) of owner. */
static void
remember_limit(struct github *g, long long id, const char *owner, int secs)
{
	pthread_mutex_lock(&g->lock);
	github_limit_put(&g->limits, id, owner, secs, mono());
	pthread_mutex_unlock(&g->lock);
}

/*
 * Seconds left of a rate limit GitHub reported for owner's installation
 * (the configured one, or the one remembered for owner), or 0.  Touches no
 * network: an installation not looked up yet is matched by owner only.
 */
static int64_t
limited_for(struct github *g, const char *owner, long long id)
{
	int64_t left;

	pthread_mutex_lock(&g->lock);
	if (id <= 0)
		id = g->installation_id > 0 ? g->installation_id :
		    github_install_find(&g->install, owner, (int64_t)time(NULL));
	left = github_limit_find(&g->limits, id, owner, mono());
	pthread_mutex_unlock(&g->lock);
	return left;
}

static int
limited_error(const char *owner, int64_t left, struct kind_token *ret, char err[WRIT_ERRLEN])
{
	ret->retry_after = (int)left;
	snprintf(err, WRIT_ERRLEN, "GitHub rate limited the app's installation for %s; "
	    "writd sends it nothing until that ends: retry in %llds", owner, (long long)left);
	return WRIT_EUPLIMIT;
}

/*
 * Asked by writd after policy and before any person: a request for an
 * installation GitHub rate limited is refused here, with the time left.
 */
static int
github_throttled(void *state, const json_t *scope, int *ret_retry_after,
    char err[WRIT_ERRLEN])
{
	struct github *g = state;
	const char *first = json_string_value(json_array_get(json_object_get(scope, "repo"), 0));
	struct kind_token kt = { 0 };
	char owner[64] = "";
	int64_t left;
	int r;

	if (g == NULL || !g->configured || first == NULL)
		return 0;
	/* Canonical: one owner, the part before the slash. */
	sscanf(first, "%63[^/]", owner);
	if ((left = limited_for(g, owner, 0)) == 0)
		return 0;
	r = limited_error(owner, left, &kt, err);
	*ret_retry_after = kt.retry_after;
	return r;
}

static long long
installation(struct github *g, const char *owner, const char *repo, const char *jwt,
    struct kind_token *ret, char err[WRIT_ERRLEN])
{
	int64_t now = (int64_t)time(NULL);
	char url[512], auth[2100];
	struct answer a;
	long long id;
	int r;

	if (g->installation_id > 0)
		return g->installation_id;
	pthread_mutex_lock(&g->lock);
	id = github_install_find(&g->install, owner, now);
	pthread_mutex_unlock(&g->lock);
	if (id > 0)
		return id;
	snprintf(url, sizeof(url), "%s/repos/%s/%s/installation", g->api, owner, repo);
	snprintf(auth, sizeof(auth), "Bearer %s", jwt);
	r = call_retry(g, "GET", url, auth, NULL, &a, err);
	if (r < 0)
		return r;
	if (a.status != 200 || !json_is_integer(json_object_get(a.body, "id")) ||
	    json_integer_value(json_object_get(a.body, "id")) <= 0) {
		/* NB. a refusal is not cached: the app may be installed a minute later. */
		r = a.status == 200 ? (snprintf(err, WRIT_ERRLEN, "GitHub's installation "
		    "answer has no id"), WRIT_EUPSTREAM) :
		    upstream_error(&a, "looking up the app's installation", ret, err);
		if (r == WRIT_EUPLIMIT)
			remember_limit(g, 0, owner, ret->retry_after);
		json_decref(a.body);
		return r;
	}
	id = json_integer_value(json_object_get(a.body, "id"));
	json_decref(a.body);
	pthread_mutex_lock(&g->lock);
	github_install_put(&g->install, owner, id, now);
	pthread_mutex_unlock(&g->lock);
	return id;
}

bool
github_granted_within(const json_t *asked, const json_t *got, char err[WRIT_ERRLEN])
{
	const json_t *perms = json_object_get(got, "permissions"), *repos, *r;
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(perms)) {
		snprintf(err, WRIT_ERRLEN, "GitHub's answer lists no permissions");
		return false;
	}
	json_object_foreach((json_t *)perms, k, v) {
		const char *want = json_string_value(json_object_get(json_object_get(asked,
		    "permissions"), k));

		/*
		 * NB. GitHub Apps always hold metadata read and GitHub lists it in
		 * every token's answer; it grants nothing that access to the
		 * repositories does not already imply.  Only read, only unasked.
		 */
		if (want == NULL && strcmp(k, "metadata") == 0 &&
		    json_is_string(v) && strcmp(json_string_value(v), "read") == 0)
			continue;
		if (github_level(json_string_value(v)) < 0 || github_level(want) < github_level(json_string_value(v))) {
			snprintf(err, WRIT_ERRLEN, "GitHub granted more than asked "
			    "(permission %.40s); the token was revoked", k);
			return false;
		}
	}
	if (!json_is_string(json_object_get(got, "repository_selection")) ||
	    strcmp(json_string_value(json_object_get(got, "repository_selection")), "selected") != 0 ||
	    !json_is_array(repos = json_object_get(got, "repositories"))) {
		snprintf(err, WRIT_ERRLEN, "GitHub granted more repositories than asked; "
		    "the token was revoked");
		return false;
	}
	json_array_foreach(repos, i, r) {
		const char *full = json_string_value(json_object_get(r, "full_name"));
		bool found = false;
		size_t j;
		json_t *w;
		char low[256];

		if (full == NULL || strlen(full) >= sizeof(low))
			goto broad;
		for (j = 0; full[j] != '\0'; j++)
			low[j] = (char)tolower((unsigned char)full[j]);
		low[j] = '\0';
		json_array_foreach(json_object_get(asked, "repo"), j, w)
			if (strcmp(json_string_value(w), low) == 0)
				found = true;
		if (!found)
			goto broad;
	}
	return true;
 broad:
	snprintf(err, WRIT_ERRLEN, "GitHub granted a repository not asked for; the token "
	    "was revoked");
	return false;
}

static int
revoke_token(struct github *g, const char *token, char err[WRIT_ERRLEN])
{
	char url[512], auth[8192];
	struct answer a;
	int r;

	if (strlen(token) > 8000)
		return WRIT_EINTERNAL;
	snprintf(url, sizeof(url), "%s/installation/token", g->api);
	snprintf(auth, sizeof(auth), "token %s", token);
	r = call_retry(g, "DELETE", url, auth, NULL, &a, err);
	sodium_memzero(auth, sizeof(auth));
	if (r < 0)
		return r;
	json_decref(a.body);
	/* 401 after expiry or an earlier revoke: the token is dead either way. */
	if (a.status == 204 || a.status == 401)
		return 0;
	snprintf(err, WRIT_ERRLEN, "GitHub did not revoke the token (HTTP %ld)", a.status);
	return WRIT_EUPSTREAM;
}

static int
github_revoke(void *state, const struct secret *token, char err[WRIT_ERRLEN])
{
	return revoke_token(state, (const char *)token->data, err);
}

static int
github_mint(void *state, const struct kind_mint *req, struct kind_token *ret,
    char err[WRIT_ERRLEN])
{
	struct github *g = state;
	const json_t *repos = json_object_get(req->scope, "repo");
	char jwt[2048], url[512], auth[2100], owner[64], first[128], *body = NULL;
	const char *tok;
	json_t *names, *w, *j;
	struct answer a = { 0 };
	long long id;
	int64_t left;
	size_t i;
	int r;

	if (!g->configured) {
		snprintf(err, WRIT_ERRLEN, "the github kind is not configured: set kinds.github "
		    "(app_id, private_key, installation_id or lookup) in writd's config");
		return WRIT_EUNCONFIGURED;
	}
	if ((r = app_jwt(g, jwt, err)) < 0)
		return r;
	/* Canonical: one owner; send names without it. */
	sscanf(json_string_value(json_array_get(repos, 0)), "%63[^/]/%127s", owner, first);
	id = installation(g, owner, first, jwt, ret, err);
	if (id < 0) {
		r = (int)id;
		goto out;
	}
	/* Approved before GitHub said to wait: not sent while the window lasts. */
	if ((left = limited_for(g, owner, id)) > 0) {
		r = limited_error(owner, left, ret, err);
		goto out;
	}
	names = json_array();
	json_array_foreach(repos, i, w)
		json_array_append_new(names, json_string(strchr(json_string_value(w), '/') + 1));
	/* NB. both, always: an omitted list means "everything" to GitHub. */
	j = json_pack("{sosO}", "repositories", names, "permissions",
	    json_object_get(req->scope, "permissions"));
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	snprintf(url, sizeof(url), "%s/app/installations/%lld/access_tokens", g->api, id);
	snprintf(auth, sizeof(auth), "Bearer %s", jwt);
	if ((r = call_retry(g, "POST", url, auth, body, &a, err)) < 0)
		goto out;
	if (a.status != 201) {
		r = upstream_error(&a, "minting an installation token", ret, err);
		if (r == WRIT_EUPLIMIT)
			remember_limit(g, id, owner, ret->retry_after);
		goto out;
	}
	tok = json_string_value(json_object_get(a.body, "token"));
	/* Opaque, possibly a long dotted JWT: only what is safe to print and send. */
	if (tok == NULL || *tok == '\0' || strlen(tok) > 8000 ||
	    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~+/=") != strlen(tok)) {
		snprintf(err, WRIT_ERRLEN, "GitHub's answer has no usable token");
		r = WRIT_EUPSTREAM;
		goto out;
	}
	if (!github_granted_within(req->scope, a.body, err)) {
		char e2[WRIT_ERRLEN];

		(void)revoke_token(g, tok, e2);
		r = WRIT_EUPSTREAM;
		goto out;
	}
	ret->token = secret_dup(tok, strlen(tok));
	r = ret->token != NULL ? 0 : WRIT_ENOMEM;
 out:
	json_decref(a.body);
	free(body);
	sodium_memzero(auth, sizeof(auth));
	return r;
}

static void
github_fini(void *state)
{
	struct github *g = state;

	if (g == NULL)
		return;
	EVP_PKEY_free(g->key);
	sodium_memzero(g->jwt, sizeof(g->jwt));
	free(g);
}

static int
github_init(const json_t *config, const struct kind_env *env, void **ret_state,
    char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "app_id", "client_id", "private_key",
	    "installation_id", "api_url", "ca_file", "timeout", NULL };
	struct github *g = calloc(1, sizeof(*g));
	const char *app = NULL, *client = NULL, *key = "github-app-key", *api = NULL,
	    *ca = NULL, *timeout = NULL;
	struct secret *pem = NULL;
	json_t *inst;
	int r;

	if (g == NULL)
		return WRIT_ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	g->timeout = 15;
	snprintf(g->api, sizeof(g->api), "https://api.github.com");
	*ret_state = g;
	if (config == NULL)
		return 0;		/* not configured: mint says so */
	if ((r = sjson_only_keys(config, keys, "kinds.github", err)) < 0 ||
	    (r = sjson_string(config, "app_id", false, &app, err)) < 0 ||
	    (r = sjson_string(config, "client_id", false, &client, err)) < 0 ||
	    (r = sjson_string(config, "private_key", false, &key, err)) < 0 ||
	    (r = sjson_string(config, "api_url", false, &api, err)) < 0 ||
	    (r = sjson_string(config, "ca_file", false, &ca, err)) < 0 ||
	    (r = sjson_string(config, "timeout", false, &timeout, err)) < 0)
		goto fail;
	if (key == NULL)
		key = "github-app-key";
	if ((app == NULL) == (client == NULL) || strlen(app ? app : client) >= sizeof(g->app_id) ||
	    strspn(app ? app : client, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    strlen(app ? app : client)) {
		snprintf(err, WRIT_ERRLEN, "kinds.github: give one of app_id or client_id");
		r = WRIT_EBADREQ;
		goto fail;
	}
	snprintf(g->app_id, sizeof(g->app_id), "%s", app ? app : client);
	if (api != NULL) {
		if (strncmp(api, "https://", 8) != 0 || strlen(api) >= sizeof(g->api)) {
			snprintf(err, WRIT_ERRLEN, "kinds.github.api_url: must be an https:// URL");
			r = WRIT_EBADREQ;
			goto fail;
		}
		snprintf(g->api, sizeof(g->api), "%s", api);
		if (g->api[strlen(g->api) - 1] == '/')
			g->api[strlen(g->api) - 1] = '\0';
	}
	if (ca != NULL && (ca[0] != '/' || strlen(ca) >= sizeof(g->ca_file) || access(ca, R_OK) != 0)) {
		snprintf(err, WRIT_ERRLEN, "kinds.github.ca_file: not a readable absolute path");
		r = WRIT_EBADREQ;
		goto fail;
	}
	if (ca != NULL)
		snprintf(g->ca_file, sizeof(g->ca_file), "%s", ca);
	if (timeout != NULL) {
		long s = strtol(timeout, NULL, 10);

		if (s < 1 || s > 120 || strspn(timeout, "0123456789") + 1 != strlen(timeout) ||
		    timeout[strlen(timeout) - 1] != 's') {
			snprintf(err, WRIT_ERRLEN, "kinds.github.timeout: seconds such as \"15s\" (1-120)");
			r = WRIT_EBADREQ;
			goto fail;
		}
		g->timeout = s;
	}
	inst = json_object_get(config, "installation_id");
	if (inst != NULL && (!json_is_integer(inst) || json_integer_value(inst) <= 0)) {
		snprintf(err, WRIT_ERRLEN, "kinds.github.installation_id: a positive integer");
		r = WRIT_EBADREQ;
		goto fail;
	}
	g->installation_id = inst ? json_integer_value(inst) : 0;
	if (!secret_name_valid(key)) {
		snprintf(err, WRIT_ERRLEN, "kinds.github.private_key: a secret name");
		r = WRIT_EBADREQ;
		goto fail;
	}
	snprintf(g->key_name, sizeof(g->key_name), "%s", key);
	g->env = env;
	/* A key already in the store is checked now; a missing one at first use. */
	pthread_mutex_lock(&g->lock);
	r = load_key(g, err);
	pthread_mutex_unlock(&g->lock);
	if (r < 0 && g->env->secret_get(key, &pem) == 0) {
		secret_free(pem);
		goto fail;	/* there, but not a key */
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g->configured = true;
	return 0;
 fail:
	github_fini(g);
	*ret_state = NULL;
	return r;
}

const struct writ_kind kind_github = {
	.name = "github",
	.abi = WRIT_KIND_ABI,
	.grammar = &github_grammar,
	.upstream = 1,
	.init = github_init,
	.fini = github_fini,
	.mint = github_mint,
	.revoke = github_revoke,
	.public_keys = NULL,
	.throttled = github_throttled,
};
