/*
 * writctl.h - what writctl's files share: the admin socket, one exchange
 * with writd, printing, and every command (as wireguard-tools'
 * subcommands.h).
 *
 * A command is int cmd_<group>_<verb>(int argc, char **argv): argv holds
 * the words after the command's own ("sessions new"), and it returns the
 * exit status: 0 done, 1 writd said no or the check failed, 2 bad usage,
 * 3 writd cannot be reached, 4 no such thing (404/409), 5 policy check's
 * warnings.  Each group lives in cmd_<group>.c and is listed in commands[]
 * (writctl.c), which also holds its lines of the usage.
 *
 * Nothing here prints a secret: a value read for `secret set` or a CI
 * token goes to writd and is wiped.
 */
#ifndef WRIT_WRITCTL_H
#define WRIT_WRITCTL_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

struct writ_resp;

/* The admin socket's path: DIR/admin.sock (writctl.c finds it). */
extern char ctl_admin[PATH_MAX];

/* The whole usage, from the command table, to f. */
void ctl_usage(FILE *f);

/*
 * Tell the user why an exchange failed (r from writ_http, or resp's error)
 * and return the exit status for it: 3 unreachable, 4 not found, else 1.
 */
int ctl_fail(int r, const struct writ_resp *resp);

/*
 * One exchange on the admin socket (body: JSON or NULL).  Returns 0 with
 * the answer in *ret (free with writ_resp_free) when its status is want;
 * else prints why and returns the exit status.
 */
int ctl_call(const char *method, const char *path, const char *body, int want,
    struct writ_resp *ret);

/* GET path and print its JSON (member key of it, when key is not NULL); argc must be 0. */
int ctl_show(int argc, const char *path, const char *key);

/* v as indented JSON, every character outside ASCII escaped. */
void ctl_print_json(const json_t *v);

/* Columns of stdout when it is a terminal, else 0 (no limit). */
unsigned int ctl_out_cols(void);

/*
 * Print prefix (writctl's own text) and value (text an agent may control),
 * cleaned and wrapped so that no line it fills can pass for a row.
 */
void ctl_print_row(const char *prefix, const char *value);

/* s cleaned and cut to cols columns, into dst of size bytes. */
void ctl_clean_into(char *dst, size_t size, const char *s, unsigned int cols);

/* True when id is an id (id.h); else says so on stderr. */
int ctl_valid_id(const char *id);

/* cmd_sessions.c */
int cmd_sessions_new(int argc, char **argv);
int cmd_sessions_ls(int argc, char **argv);
int cmd_sessions_rm(int argc, char **argv);

/* cmd_writs.c */
int cmd_writs_ls(int argc, char **argv);
int cmd_writs_revoke(int argc, char **argv);

/* cmd_approvals.c */
int cmd_watch(int argc, char **argv);
int cmd_requests(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_deny(int argc, char **argv);

/* cmd_jwks.c */
int cmd_jwks(int argc, char **argv);

/*
 * NB. a new command group registers here: its functions, then its rows
 * in commands[] (writctl.c); the Makefile builds every .c file here.
 */

/* cmd_sshcert.c */
int cmd_sshcert_init(int argc, char **argv);
int cmd_sshcert_ca(int argc, char **argv);
int cmd_sshcert_krl(int argc, char **argv);

/* cmd_secret.c */
int cmd_secret_set(int argc, char **argv);
int cmd_secret_ls(int argc, char **argv);
int cmd_secret_rm(int argc, char **argv);

/* cmd_audit.c */
int cmd_audit_verify(int argc, char **argv);
int cmd_audit_rotate(int argc, char **argv);
int cmd_audit_key(int argc, char **argv);
int cmd_audit_tail(int argc, char **argv);

/* cmd_policy.c */
int cmd_policy_explain(int argc, char **argv);
int cmd_policy_check(int argc, char **argv);

#endif
