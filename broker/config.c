/*
 * config.c - defaults, the config file, and default directories.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../plugins/grammar.h"
#include "config.h"
#include "duration.h"
#include "errors.h"

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->approval_timeout = 120;
	snprintf(cfg->store_backend, sizeof(cfg->store_backend), "keyring");
	snprintf(cfg->store_keyring, sizeof(cfg->store_keyring), "writ");
	cfg->cooldown_after = 3;
	cfg->cooldown_window = 300;
	cfg->cooldown = 120;
	snprintf(cfg->policy_enterprise, sizeof(cfg->policy_enterprise), "%s",
	    WRIT_ENTERPRISE_POLICY);
	cfg->max_pending = 3;
	cfg->max_sessions = 256;
	cfg->max_conns = 1024;
	cfg->max_session_conns = 64;
	cfg->request_timeout = 30;
	cfg->max_wait = 300;
	cfg->audit.rotate_size = WRIT_AUDIT_ROTATE_SIZE;
	cfg->audit.checkpoint_records = WRIT_AUDIT_CHECKPOINT_RECORDS;
	cfg->audit.checkpoint_interval = WRIT_AUDIT_CHECKPOINT_INTERVAL;
	cfg->audit.ledger_lag = WRIT_AUDIT_LEDGER_LAG;
	for (size_t i = 0; i < WRIT_MAX_KINDS; i++) {
		cfg->kinds[i].default_ttl = 5 * 60;
		cfg->kinds[i].max_ttl = 60 * 60;
	}
}

static int
get_path(const json_t *obj, const char *key, const char *name, char *dst,
    size_t size, char err[WRIT_ERRLEN])
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
	    strlen(json_string_value(v)) >= size) {
		snprintf(err, WRIT_ERRLEN, "%s: must be an absolute path shorter than %zu bytes",
		    name, size);
		return WRIT_EBADREQ;
	}
	snprintf(dst, size, "%s", json_string_value(v));
	return 0;
}

static int
get_duration(const json_t *obj, const char *key, const char *name,
    int64_t *dst, char err[WRIT_ERRLEN])
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || duration_parse(json_string_value(v), dst) < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: must be a positive duration such as \"120s\" or \"10m\"",
		    name);
		return WRIT_EBADREQ;
	}
	return 0;
}

static int
get_count(const json_t *obj, const char *key, const char *name,
    unsigned int max, unsigned int *dst, char err[WRIT_ERRLEN])
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)max) {
		snprintf(err, WRIT_ERRLEN, "%s: must be an integer from 1 to %u", name, max);
		return WRIT_EBADREQ;
	}
	*dst = (unsigned int)json_integer_value(v);
	return 0;
}

static int
get_object(const json_t *obj, const char *key, const char *name,
    const char *const keys[], json_t **ret, char err[WRIT_ERRLEN])
{
	json_t *v = json_object_get(obj, key);

	*ret = v;
	if (v == NULL)
		return 0;
	if (!json_is_object(v)) {
		snprintf(err, WRIT_ERRLEN, "%s: must be an object", name);
		return WRIT_EBADREQ;
	}
	return keys == NULL ? 0 : sjson_only_keys(v, keys, name, err);
}

static int
load_kinds(struct config *cfg, const json_t *kinds, char err[WRIT_ERRLEN])
{
	const char *name;
	json_t *v;

	json_object_foreach((json_t *)kinds, name, v) {
		const struct kind_grammar *g = grammar_find(name);
		struct kind_config *kc;
		char key[64], q[52];
		int r;

		if (g == NULL) {
			sjson_quote(q, name);
			snprintf(err, WRIT_ERRLEN, "kinds.%s: unknown kind", q);
			return WRIT_EBADREQ;
		}
		kc = &cfg->kinds[grammar_index(g)];
		if (!json_is_object(v)) {
			snprintf(err, WRIT_ERRLEN, "kinds.%s: must be an object", name);
			return WRIT_EBADREQ;
		}
		snprintf(key, sizeof(key), "kinds.%s.default_ttl", name);
		if ((r = get_duration(v, "default_ttl", key, &kc->default_ttl, err)) < 0)
			return r;
		snprintf(key, sizeof(key), "kinds.%s.max_ttl", name);
		if ((r = get_duration(v, "max_ttl", key, &kc->max_ttl, err)) < 0)
			return r;
		if (kc->default_ttl > kc->max_ttl) {
			snprintf(err, WRIT_ERRLEN, "kinds.%s.default_ttl: above max_ttl", name);
			return WRIT_EBADREQ;
		}
		/* The kind checks the rest of its keys in its init. */
		json_decref(kc->config);
		kc->config = json_deep_copy(v);
		if (kc->config == NULL)
			return WRIT_ENOMEM;
		json_object_del(kc->config, "default_ttl");
		json_object_del(kc->config, "max_ttl");
	}
	return 0;
}

static int
load_store(struct config *cfg, const json_t *st, char err[WRIT_ERRLEN])
{
	const char *b = json_string_value(json_object_get(st, "backend"));
	const char *k = json_string_value(json_object_get(st, "key"));
	const char *ring = json_string_value(json_object_get(st, "keyring"));

	if (json_object_get(st, "backend") != NULL) {
		if (b == NULL || (strcmp(b, "keyring") != 0 && strcmp(b, "file") != 0)) {
			snprintf(err, WRIT_ERRLEN, "store.backend: must be \"keyring\" or \"file\"");
			return WRIT_EBADREQ;
		}
		snprintf(cfg->store_backend, sizeof(cfg->store_backend), "%s", b);
	}
	if (json_object_get(st, "key") != NULL) {
		if (k == NULL || (strcmp(k, "keyring") != 0 && strcmp(k, "passphrase") != 0) ||
		    strcmp(cfg->store_backend, "file") != 0) {
			snprintf(err, WRIT_ERRLEN, "store.key: \"keyring\" or \"passphrase\", "
			    "for the file backend only");
			return WRIT_EBADREQ;
		}
		cfg->store_passphrase = strcmp(k, "passphrase") == 0;
	}
	if (json_object_get(st, "keyring") != NULL) {
		size_t n = ring != NULL ? strlen(ring) : 0;

		if (n == 0 || n >= sizeof(cfg->store_keyring) ||
		    strspn(ring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
			snprintf(err, WRIT_ERRLEN, "store.keyring: 1-63 characters of [A-Za-z0-9._-]");
			return WRIT_EBADREQ;
		}
		memcpy(cfg->store_keyring, ring, n + 1);
	}
	return 0;
}

/* A non-empty string of printable ASCII shorter than size, copied to dst. */
static int
get_text(const json_t *obj, const char *key, const char *name, char *dst,
    size_t size, char err[WRIT_ERRLEN])
{
	const char *v = json_string_value(json_object_get(obj, key));
	size_t n = v != NULL ? strlen(v) : 0;

	if (n == 0 || n >= size) {
		snprintf(err, WRIT_ERRLEN, "%s: required, a non-empty string shorter than %zu bytes",
		    name, size);
		return WRIT_EBADREQ;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] == 0x7f) {
			snprintf(err, WRIT_ERRLEN, "%s: control characters are not allowed", name);
			return WRIT_EBADREQ;
		}
	memcpy(dst, v, n + 1);
	return 0;
}

/*
 * One entry of ci.issuers:
 *   {"issuer": "https://token.actions.githubusercontent.com",
 *    "jwks_url": "https://..." | "jwks_file": "/abs/path", "ca_file": "/abs" (url only),
 *    "audience": "writ", "algorithms": ["RS256", "ES256"], "jwks_ttl": "1h",
 *    "grace": "5m"}
 */
static int
load_issuer(struct oidc_issuer *is, const json_t *v, const char *name,
    char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "issuer", "jwks_url", "jwks_file", "ca_file",
	    "audience", "algorithms", "jwks_ttl", "grace", NULL };
	char key[64];
	json_t *algs, *a;
	size_t i;
	int r;

	if (!json_is_object(v)) {
		snprintf(err, WRIT_ERRLEN, "%s: must be an object", name);
		return WRIT_EBADREQ;
	}
	if ((r = sjson_only_keys(v, keys, name, err)) < 0)
		return r;
	memset(is, 0, sizeof(*is));
	is->rs256 = is->es256 = true;
	is->jwks_ttl = 3600;
	is->grace = 300;
	snprintf(key, sizeof(key), "%s.issuer", name);
	if ((r = get_text(v, "issuer", key, is->issuer, sizeof(is->issuer), err)) < 0)
		return r;
	/* Exactly one source of keys: two would leave which one is trusted unclear. */
	if ((json_object_get(v, "jwks_url") == NULL) == (json_object_get(v, "jwks_file") == NULL)) {
		snprintf(err, WRIT_ERRLEN, "%s: exactly one of jwks_url and jwks_file", name);
		return WRIT_EBADREQ;
	}
	if (json_object_get(v, "jwks_url") != NULL) {
		snprintf(key, sizeof(key), "%s.jwks_url", name);
		if ((r = get_text(v, "jwks_url", key, is->jwks_url, sizeof(is->jwks_url), err)) < 0)
			return r;
		/* NB. keys fetched in the clear would let anyone on the path mint CI identities. */
		if (strncmp(is->jwks_url, "https://", 8) != 0 || is->jwks_url[8] == '\0' ||
		    strchr(is->jwks_url, ' ') != NULL) {
			snprintf(err, WRIT_ERRLEN, "%s: must be an https:// URL", key);
			return WRIT_EBADREQ;
		}
		snprintf(key, sizeof(key), "%s.ca_file", name);
		if ((r = get_path(v, "ca_file", key, is->ca_file, sizeof(is->ca_file), err)) < 0)
			return r;
	} else {
		snprintf(key, sizeof(key), "%s.jwks_file", name);
		if ((r = get_path(v, "jwks_file", key, is->jwks_file, sizeof(is->jwks_file), err)) < 0)
			return r;
		if (json_object_get(v, "ca_file") != NULL) {
			snprintf(err, WRIT_ERRLEN, "%s.ca_file: only with jwks_url", name);
			return WRIT_EBADREQ;
		}
	}
	snprintf(key, sizeof(key), "%s.audience", name);
	if ((r = get_text(v, "audience", key, is->audience, sizeof(is->audience), err)) < 0)
		return r;
	if ((algs = json_object_get(v, "algorithms")) != NULL) {
		is->rs256 = is->es256 = false;
		if (!json_is_array(algs) || json_array_size(algs) == 0)
			goto badalg;
		json_array_foreach(algs, i, a) {
			const char *s = json_string_value(a);

			if (s != NULL && strcmp(s, "RS256") == 0)
				is->rs256 = true;
			else if (s != NULL && strcmp(s, "ES256") == 0)
				is->es256 = true;
			else
				goto badalg;
		}
	}
	snprintf(key, sizeof(key), "%s.jwks_ttl", name);
	if ((r = get_duration(v, "jwks_ttl", key, &is->jwks_ttl, err)) < 0)
		return r;
	snprintf(key, sizeof(key), "%s.grace", name);
	if ((r = get_duration(v, "grace", key, &is->grace, err)) < 0)
		return r;
	return 0;
 badalg:
	/* NB. never none or HS*: an HMAC "key" here would be the issuer's public key. */
	snprintf(err, WRIT_ERRLEN, "%s.algorithms: a non-empty array of \"RS256\" and/or "
	    "\"ES256\"", name);
	return WRIT_EBADREQ;
}

static int
load_ci(struct config *cfg, const json_t *ci, char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "issuers", NULL };
	json_t *list = json_object_get(ci, "issuers"), *v;
	char name[32];
	size_t i;
	int r;

	if ((r = sjson_only_keys(ci, keys, "ci", err)) < 0)
		return r;
	if (list == NULL)
		return 0;
	if (!json_is_array(list)) {
		snprintf(err, WRIT_ERRLEN, "ci.issuers: must be an array");
		return WRIT_EBADREQ;
	}
	if (json_array_size(list) > OIDC_MAX_ISSUERS) {
		snprintf(err, WRIT_ERRLEN, "ci.issuers: at most %d issuers", OIDC_MAX_ISSUERS);
		return WRIT_ETOOBIG;
	}
	cfg->nissuers = 0;
	json_array_foreach(list, i, v) {
		snprintf(name, sizeof(name), "ci.issuers[%zu]", i);
		if ((r = load_issuer(&cfg->issuers[i], v, name, err)) < 0)
			return r;
		/* The unverified iss picks the keys: it must name one issuer only. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->issuers[j].issuer, cfg->issuers[i].issuer) == 0) {
				snprintf(err, WRIT_ERRLEN, "%s.issuer: twice in ci.issuers", name);
				return WRIT_EBADREQ;
			}
	}
	cfg->nissuers = (unsigned int)json_array_size(list);
	return 0;
}

/* audit: rotation by size, checkpoints by records and time. */
static int
load_audit(struct config *cfg, const json_t *au, char err[WRIT_ERRLEN])
{
	json_t *v = json_object_get(au, "rotate_size");
	int r;

	if (v != NULL) {
		if (!json_is_integer(v) ||
		    json_integer_value(v) < (json_int_t)WRIT_AUDIT_MIN_ROTATE_SIZE ||
		    json_integer_value(v) > (json_int_t)WRIT_AUDIT_MAX_ROTATE_SIZE) {
			snprintf(err, WRIT_ERRLEN, "audit.rotate_size: must be a number of bytes "
			    "from %llu (16 KiB) to %llu (256 MiB)", WRIT_AUDIT_MIN_ROTATE_SIZE,
			    WRIT_AUDIT_MAX_ROTATE_SIZE);
			return WRIT_EBADREQ;
		}
		cfg->audit.rotate_size = (uint64_t)json_integer_value(v);
	}
	if ((r = get_count(au, "checkpoint_records", "audit.checkpoint_records",
	    WRIT_AUDIT_MAX_CHECKPOINT_RECORDS, &cfg->audit.checkpoint_records, err)) < 0 ||
	    (r = get_duration(au, "checkpoint_interval", "audit.checkpoint_interval",
	    &cfg->audit.checkpoint_interval, err)) < 0 ||
	    (r = get_duration(au, "ledger_lag", "audit.ledger_lag", &cfg->audit.ledger_lag,
	    err)) < 0)
		return r;
	if (cfg->audit.ledger_lag > WRIT_AUDIT_MAX_LEDGER_LAG) {
		snprintf(err, WRIT_ERRLEN, "audit.ledger_lag: at most %ds", WRIT_AUDIT_MAX_LEDGER_LAG);
		return WRIT_EBADREQ;
	}
	return 0;
}

static int
load_tree(struct config *cfg, const json_t *root, char err[WRIT_ERRLEN])
{
	static const char *const top[] = { "runtime_dir", "state_dir", "approval",
	    "limits", "kinds", "policy", "store", "audit", "ci", NULL };
	static const char *const audit[] = { "syslog", "rotate_size", "checkpoint_records",
	    "checkpoint_interval", "ledger_lag", NULL };
	static const char *const store[] = { "backend", "keyring", "key", NULL };
	static const char *const approval[] = { "timeout", "command", "cooldown_after",
	    "cooldown_window", "cooldown", NULL };
	static const char *const policy[] = { "enterprise", "user", NULL };
	static const char *const limits[] = { "max_pending", "max_sessions",
	    "max_connections", "max_session_connections", "request_timeout",
	    "max_wait", NULL };
	json_t *a, *l, *k, *p, *st, *au, *ci;
	int r;

	if ((r = sjson_only_keys(root, top, "the config", err)) < 0 ||
	    (r = get_path(root, "runtime_dir", "runtime_dir", cfg->runtime_dir,
	    sizeof(cfg->runtime_dir), err)) < 0 ||
	    (r = get_path(root, "state_dir", "state_dir", cfg->state_dir,
	    sizeof(cfg->state_dir), err)) < 0 ||
	    (r = get_object(root, "approval", "approval", approval, &a, err)) < 0 ||
	    (r = get_object(root, "limits", "limits", limits, &l, err)) < 0 ||
	    (r = get_object(root, "kinds", "kinds", NULL, &k, err)) < 0 ||
	    (r = get_object(root, "policy", "policy", policy, &p, err)) < 0 ||
	    (r = get_object(root, "store", "store", store, &st, err)) < 0 ||
	    (r = get_object(root, "audit", "audit", audit, &au, err)) < 0 ||
	    (r = get_object(root, "ci", "ci", NULL, &ci, err)) < 0)
		return r;
	if (ci != NULL && (r = load_ci(cfg, ci, err)) < 0)
		return r;
	if (au != NULL && json_object_get(au, "syslog") != NULL) {
		if (!json_is_boolean(json_object_get(au, "syslog"))) {
			snprintf(err, WRIT_ERRLEN, "audit.syslog: must be true or false");
			return WRIT_EBADREQ;
		}
		cfg->audit_syslog = json_is_true(json_object_get(au, "syslog"));
	}
	if (au != NULL && (r = load_audit(cfg, au, err)) < 0)
		return r;
	if (st != NULL && (r = load_store(cfg, st, err)) < 0)
		return r;
	if (a != NULL &&
	    ((r = get_duration(a, "timeout", "approval.timeout", &cfg->approval_timeout, err)) < 0 ||
	    (r = get_path(a, "command", "approval.command", cfg->approval_command,
	    sizeof(cfg->approval_command), err)) < 0 ||
	    (r = get_count(a, "cooldown_after", "approval.cooldown_after",
	    WRIT_MAX_COOLDOWN_AFTER, &cfg->cooldown_after, err)) < 0 ||
	    (r = get_duration(a, "cooldown_window", "approval.cooldown_window",
	    &cfg->cooldown_window, err)) < 0 ||
	    (r = get_duration(a, "cooldown", "approval.cooldown", &cfg->cooldown, err)) < 0))
		return r;
	if (p != NULL &&
	    ((r = get_path(p, "enterprise", "policy.enterprise", cfg->policy_enterprise,
	    sizeof(cfg->policy_enterprise), err)) < 0 ||
	    (r = get_path(p, "user", "policy.user", cfg->policy_user,
	    sizeof(cfg->policy_user), err)) < 0))
		return r;
	if (l != NULL &&
	    ((r = get_count(l, "max_pending", "limits.max_pending", 64,
	    &cfg->max_pending, err)) < 0 ||
	    (r = get_count(l, "max_sessions", "limits.max_sessions", WRIT_MAX_SESSIONS,
	    &cfg->max_sessions, err)) < 0 ||
	    (r = get_count(l, "max_connections", "limits.max_connections", WRIT_MAX_CONNS,
	    &cfg->max_conns, err)) < 0 ||
	    (r = get_count(l, "max_session_connections", "limits.max_session_connections",
	    WRIT_MAX_CONNS, &cfg->max_session_conns, err)) < 0 ||
	    (r = get_duration(l, "request_timeout", "limits.request_timeout",
	    &cfg->request_timeout, err)) < 0 ||
	    (r = get_duration(l, "max_wait", "limits.max_wait", &cfg->max_wait, err)) < 0))
		return r;
	if (k != NULL && (r = load_kinds(cfg, k, err)) < 0)
		return r;
	return 0;
}

int
config_read(const char *path, char **ret_buf, size_t *ret_len, char err[WRIT_ERRLEN])
{
	char *buf;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
		return WRIT_EINTERNAL;
	}
	/* Read, not stat: the config may come through a pipe. */
	buf = malloc(WRIT_MAX_CONFIG + 1);
	*ret_len = buf != NULL ? fread(buf, 1, WRIT_MAX_CONFIG + 1, f) : 0;
	fclose(f);
	if (buf == NULL)
		return WRIT_ENOMEM;
	*ret_buf = buf;
	return 0;
}

int
config_load(struct config *cfg, const char *path, char err[WRIT_ERRLEN])
{
	char *buf;
	size_t len;
	int r;

	if ((r = config_read(path, &buf, &len, err)) < 0)
		return r;
	r = config_parse(cfg, buf, len, path, err);
	free(buf);
	return r;
}

int
config_parse(struct config *cfg, const char *buf, size_t len, const char *path,
    char err[WRIT_ERRLEN])
{
	char msg[WRIT_ERRLEN];
	json_error_t je;
	json_t *root;
	int r;

	if (len > WRIT_MAX_CONFIG) {
		snprintf(err, WRIT_ERRLEN, "%s: larger than %d bytes", path, WRIT_MAX_CONFIG);
		return WRIT_ETOOBIG;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, WRIT_ERRLEN, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		return WRIT_EBADJSON;
	}
	if (!json_is_object(root)) {
		snprintf(msg, sizeof(msg), "the top level must be an object");
		r = WRIT_EBADJSON;
	} else
		r = load_tree(cfg, root, msg);
	json_decref(root);
	if (r < 0)
		snprintf(err, WRIT_ERRLEN, "%.80s: %.160s", path, msg);
	return r;
}

int
config_finish(struct config *cfg, char err[WRIT_ERRLEN])
{
	const char *base;
	int n = 0;

	if (cfg->runtime_dir[0] == '\0') {
		base = secure_getenv("XDG_RUNTIME_DIR");
		if (base != NULL && base[0] == '/')
			n = snprintf(cfg->runtime_dir, sizeof(cfg->runtime_dir), "%s/writ", base);
		else
			n = snprintf(cfg->runtime_dir, sizeof(cfg->runtime_dir),
			    "/tmp/writ-%u", (unsigned)geteuid());
		if (n < 0 || (size_t)n >= sizeof(cfg->runtime_dir))
			goto toolong;
	}
	if (cfg->state_dir[0] == '\0') {
		if ((base = secure_getenv("XDG_STATE_HOME")) != NULL && base[0] == '/')
			n = snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s/writ", base);
		else if ((base = secure_getenv("HOME")) != NULL && base[0] == '/')
			n = snprintf(cfg->state_dir, sizeof(cfg->state_dir),
			    "%s/.local/state/writ", base);
		else {
			snprintf(err, WRIT_ERRLEN, "no state directory: set XDG_STATE_HOME "
			    "or HOME, or pass --state-dir");
			return WRIT_EBADREQ;
		}
		if (n < 0 || (size_t)n >= sizeof(cfg->state_dir))
			goto toolong;
	}
	if (cfg->policy_user[0] == '\0') {
		if ((base = secure_getenv("XDG_CONFIG_HOME")) != NULL && base[0] == '/')
			n = snprintf(cfg->policy_user, sizeof(cfg->policy_user),
			    "%s/writ/policy.json", base);
		else if ((base = secure_getenv("HOME")) != NULL && base[0] == '/')
			n = snprintf(cfg->policy_user, sizeof(cfg->policy_user),
			    "%s/.config/writ/policy.json", base);
		if (n < 0 || (size_t)n >= sizeof(cfg->policy_user))
			goto toolong;
	}
	return 0;
 toolong:
	snprintf(err, WRIT_ERRLEN, "a default directory path is too long; pass "
	    "--runtime-dir and --state-dir");
	return WRIT_EBADREQ;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < WRIT_MAX_KINDS; i++) {
		json_decref(cfg->kinds[i].config);
		cfg->kinds[i].config = NULL;
	}
}
