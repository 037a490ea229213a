/*
 * sandbox-spool.h - writ-sandbox --srt and --codex: another sandbox tool,
 * reached through a spool.
 *
 * srt (Anthropic's sandbox-runtime, Claude Code's sandbox) and Codex's
 * sandbox forbid Unix sockets with seccomp, so the agent cannot reach a
 * session socket.  Both let it make FIFOs where it may write: writ-sandbox
 * makes a spool directory there and relays it to the session's socket
 * (relay.h, agent-side/spool.h).  Where each run keeps its files:
 *
 *   BASE/             $XDG_RUNTIME_DIR/writ-sandbox or /tmp/writ-sandbox-UID,
 *                     mode 0300: no one, not even another sandbox of
 *                     ours, can list the runs in it
 *   BASE/RUN/         32 random hex digits, mode 0700, removed at the end
 *     gitconfig       credential.helper = git-credential-writ
 *     srt.json        srt's settings (--srt)
 *     tmp/            the agent's TMPDIR
 *     spool/          the only place outside the workspace the agent writes
 *
 * With --codex, CODEX_HOME is $XDG_STATE_HOME/writ-sandbox/codex: none of
 * the user's Codex configuration applies.
 */
#ifndef WRIT_SANDBOX_SPOOL_H
#define WRIT_SANDBOX_SPOOL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "id.h"

struct spool_launch {
	const char *tool;			/* "srt" or "codex" */
	const char *toolpath;			/* its absolute path */
	const char *ws, *home, *rundir;		/* workspace, home, writd's runtime dir */
	const char *helper, *writ;		/* writ's binaries, shown inside */
	const char *const *ro;			/* more paths to show read-only */
	size_t nro;
	const char *const *env;			/* variable names to pass in */
	size_t nenv;
	const char *const *domains;		/* srt: hosts its proxy lets through */
	size_t ndomains;
	const char *const *guard;		/* srt: absolute paths kept read-only */
	size_t nguard;
	char **cmd;
};

/* Open the session for the sandbox's pid: id and socket out, 0 or an exit status. */
typedef int (*spool_open_fn)(void *ctx, pid_t pid, char ret_id[WRIT_ID_LEN + 1], char ret_sock[PATH_MAX]);
typedef void (*spool_close_fn)(void *ctx, const char *id);

/*
 * Run l->cmd under l->tool with a session of its own (opened with
 * open_session for the tool's pid, closed with close_session after), the
 * spool relayed for as long as the tool runs.  Returns CMD's exit status,
 * or 125 when writ-sandbox failed (having said why on stderr).
 */
int spool_launch(const struct spool_launch *l, spool_open_fn open_session,
    spool_close_fn close_session, void *ctx);

#endif
