/*
 * config.h - writd's configuration: built-in defaults, then one JSON file,
 * then command-line flags.
 *
 * Unknown keys, wrong types and bad values stop writd with a message naming
 * the key.  Every limit a caller controls is here or a named #define.
 */
#ifndef WRIT_CONFIG_H
#define WRIT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "../plugins/grammar.h"
#include "oidc.h"
#include "minter/audit.h"
#include "sjson.h"

/* Where the enterprise policy is unless configured. */
#define WRIT_ENTERPRISE_POLICY "/etc/writ/policy.json"
/* Most denials cooldown_after may count. */
#define WRIT_MAX_COOLDOWN_AFTER 16

/* Built-in ceilings of the configurable limits. */
#define WRIT_MAX_SESSIONS 4096
#define WRIT_MAX_CONNS 4096
/* Longest config file read, in bytes. */
#define WRIT_MAX_CONFIG (1024 * 1024)

struct kind_config {
	int64_t default_ttl;	/* seconds */
	int64_t max_ttl;	/* seconds */
	json_t *config;		/* the kind's own keys, or NULL */
};

struct config {
	char runtime_dir[PATH_MAX];	/* "" until config_finish */
	char state_dir[PATH_MAX];
	int64_t approval_timeout;	/* seconds a request waits for a human */
	char approval_command[PATH_MAX]; /* "" or an approver program */
	unsigned int cooldown_after;	/* denials within cooldown_window ... */
	int64_t cooldown_window;	/* ... seconds ... */
	int64_t cooldown;		/* ... cool the session down this long */
	bool audit_syslog;		/* mirror audit records to syslog (journald) */
	struct audit_conf audit;	/* rotation and checkpoints */
	char store_backend[16];		/* a store backend's name: "keyring", "file" */
	bool store_passphrase;		/* file key from a passphrase, else the keyring */
	char store_keyring[64];		/* writd's keyring in the user keyring */
	char policy_enterprise[PATH_MAX];
	char policy_user[PATH_MAX];	/* "" until config_finish */
	unsigned int max_pending;	/* pending requests per session */
	unsigned int max_sessions;
	unsigned int max_conns;		/* open connections in all */
	unsigned int max_session_conns;	/* open connections per session */
	int64_t request_timeout;	/* seconds an idle connection lives */
	int64_t max_wait;		/* longest long-poll, seconds */
	struct kind_config kinds[WRIT_MAX_KINDS]; /* indexed like writ_kinds[] */
	/* ci.issuers: the OIDC issuers whose ID tokens open CI job sessions. */
	struct oidc_issuer issuers[OIDC_MAX_ISSUERS];
	unsigned int nissuers;
};

/* Fill cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/*
 * Read the JSON file at path over cfg.  Returns 0, or a negative code with
 * "path: key: what is wrong" in err.
 */
int config_load(struct config *cfg, const char *path, char err[WRIT_ERRLEN]);

/*
 * The file at path as config_load reads it, whole (up to WRIT_MAX_CONFIG
 * + 1 bytes: config_parse refuses what is longer): a new buffer the
 * caller frees, and its length.  Returns 0, or a negative code with
 * "path: why" in err.
 */
int config_read(const char *path, char **ret_buf, size_t *ret_len, char err[WRIT_ERRLEN]);

/*
 * config_load's parse: buf (len bytes, no NUL needed) as the config file
 * named path (for messages), over cfg.  Returns 0, or a negative code with
 * "path: key: what is wrong" in err; cfg may then be half changed, and
 * still wants config_free.
 */
int config_parse(struct config *cfg, const char *buf, size_t len, const char *path,
    char err[WRIT_ERRLEN]);

/*
 * Fill in the directories still empty: $XDG_RUNTIME_DIR/writ (else
 * /tmp/writ-UID), $XDG_STATE_HOME/writ (else ~/.local/state/writ) and the
 * user policy $XDG_CONFIG_HOME/writ/policy.json (else ~/.config/...).
 * Returns 0 or a negative code with a message.
 */
int config_finish(struct config *cfg, char err[WRIT_ERRLEN]);

/* Release what config_load allocated. */
void config_free(struct config *cfg);

#endif
