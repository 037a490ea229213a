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
#include <stdint.h>
#include <jansson.h>

#include "sjson.h"

/* Built-in ceilings of the configurable limits. */
#define WRIT_MAX_SESSIONS 4096
#define WRIT_MAX_CONNS 4096
#define WRIT_MAX_KINDS 8
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
	unsigned int max_pending;	/* pending requests per session */
	unsigned int max_sessions;
	unsigned int max_conns;		/* open connections in all */
	unsigned int max_session_conns;	/* open connections per session */
	int64_t request_timeout;	/* seconds an idle connection lives */
	int64_t max_wait;		/* longest long-poll, seconds */
	struct kind_config kinds[WRIT_MAX_KINDS]; /* indexed like writ_kinds[] */
};

/* Fill cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/*
 * Read the JSON file at path over cfg.  Returns 0, or a negative code with
 * "path: key: what is wrong" in err.
 */
int config_load(struct config *cfg, const char *path, char err[WRIT_ERRLEN]);

/*
 * Fill in the directories still empty: $XDG_RUNTIME_DIR/writ (else
 * /tmp/writ-UID) and $XDG_STATE_HOME/writ (else ~/.local/state/writ).
 * Returns 0 or a negative code with a message.
 */
int config_finish(struct config *cfg, char err[WRIT_ERRLEN]);

/* Release what config_load allocated. */
void config_free(struct config *cfg);

#endif
