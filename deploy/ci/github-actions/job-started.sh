#!/usr/bin/env bash
# job-started.sh - ACTIONS_RUNNER_HOOK_JOB_STARTED for a self-hosted GitHub
# Actions runner: open a writ session bound to this job's verified identity
# and hand the job its socket.
#
# 1. Asks GitHub for the job's OIDC ID token, audience $WRIT_CI_AUDIENCE
#    (default "writ"; writd's ci.issuers audience must be the same): GET
#    $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with "Authorization: bearer
#    $ACTIONS_ID_TOKEN_REQUEST_TOKEN"; the answer's "value" is the token.
#    GitHub sets those two only for a job with `permissions: id-token: write`;
#    without them the job gets no session (and no secrets) and runs on.
# 2. Pipes it to `writctl sessions new gh-$GITHUB_RUN_ID-$GITHUB_JOB
#    --ci-token - --pid $PPID`: writd verifies it and records its claims,
#    which the policy's session rules match.  NB. neither token ever reaches
#    argv, the environment of a child or a file: curl reads its header from
#    stdin (--config -), writctl the ID token from stdin.
# 3. Appends WRIT_SOCKET=... to $GITHUB_ENV, so every later step has it.
#
# writd under a user of its own (W; deploy/ci/README.md, "which uid"): set
# WRIT_USER=W in the runner's environment and let the runner's user run
# `writctl sessions new/rm` as W through sudo.  The hook then runs writctl
# as `sudo -n -u $WRIT_USER`, asks for a session our uid may use (--uid),
# and adds WRIT_SERVER_UID=<W's uid> to $GITHUB_ENV (writd's uid as
# writctl saw it on the admin socket: "server_uid"), for the job's clients
# to accept a socket served by W.
#
# --pid: the runner starts this hook as `bash -e job-started.sh` from
# Runner.Worker, the process that runs this one job and exits after it;
# $PPID is that worker.  Tied to it, the session closes (its writs revoked)
# however the job ends, even if the runner is killed and job-completed.sh
# never runs.  writd also closes it at the token's exp + grace at the latest.
#
# Exit status: 0 session opened (or none asked for); non-zero fails the job
# before its first step: the token request or writd refused.
set -euo pipefail
umask 077

WRITCTL=${WRITCTL:-writctl}
# writctl as writd's user W when the runner is another (sudo, README; sudo
# drops $WRIT_RUNTIME_DIR, and the rule names the dir: --runtime-dir).
ctl=("$WRITCTL")
uidopt=()
if [ -n "${WRIT_USER:-}" ]; then
	ctl=(sudo -n -u "$WRIT_USER" -- "$WRITCTL" --runtime-dir "${WRIT_RUNTIME_DIR:-/run/writ}")
	uidopt=(--uid "$(id -u)")
fi
aud=${WRIT_CI_AUDIENCE:-writ}
: "${GITHUB_ENV:?job-started.sh: GITHUB_ENV is not set (not a GitHub Actions job?)}"
: "${GITHUB_RUN_ID:?}" "${GITHUB_JOB:?}"
name="gh-$GITHUB_RUN_ID-$GITHUB_JOB"

if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
	echo "writ: this job has no OIDC token (permissions: id-token: write): no writ session" >&2
	exit 0
fi
case $ACTIONS_ID_TOKEN_REQUEST_URL in
https://*) ;;
*) echo "writ: ACTIONS_ID_TOKEN_REQUEST_URL is not https" >&2; exit 1 ;;
esac
# NB. the request token goes into curl's config on stdin, quoted: anything
# that could end the quote or the line is refused rather than escaped.
if [[ ! $ACTIONS_ID_TOKEN_REQUEST_TOKEN =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then
	echo "writ: ACTIONS_ID_TOKEN_REQUEST_TOKEN has unexpected characters" >&2
	exit 1
fi
if [ "$(cat "/proc/$PPID/comm" 2>/dev/null)" != Runner.Worker ]; then
	echo "writ: note: the session is tied to pid $PPID ($(cat "/proc/$PPID/comm" 2>/dev/null || echo gone)), not a Runner.Worker" >&2
fi

url="$ACTIONS_ID_TOKEN_REQUEST_URL&audience=$(jq -rn --arg a "$aud" '$a | @uri')"
# printf is a builtin: the bearer token is on no command line.
if ! session=$(printf 'header = "Authorization: bearer %s"\n' "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" |
	curl -sS --fail --proto =https --max-time 30 --retry 2 --config - "$url" |
	jq -jer '.value | select(type == "string" and length > 0)' |
	"${ctl[@]}" sessions new "$name" --ci-token - --pid "$PPID" "${uidopt[@]}" --json); then
	echo "writ: no writ session for $name: see the error above" >&2
	exit 1
fi
id=$(jq -r .id <<<"$session")
sock=$(jq -r .socket <<<"$session")
suid=$(jq -r '.server_uid // empty' <<<"$session")
# NB. one line per variable in GITHUB_ENV: a path with a newline would set others.
if [[ ! $sock =~ ^/[^$'\n\r']*$ ]] || [[ ! $id =~ ^[0-9a-f]{32}$ ]] ||
	{ [ -n "${WRIT_USER:-}" ] && [[ ! $suid =~ ^[0-9]+$ ]]; }; then
	echo "writ: writd answered an unexpected session: $session" >&2
	exit 1
fi
printf 'WRIT_SOCKET=%s\n' "$sock" >>"$GITHUB_ENV"
# For job-completed.sh, which as the runner's user may not list sessions.
[ -n "${WRIT_USER:-}" ] && [ -n "${RUNNER_TEMP:-}" ] && printf '%s\n' "$id" >"$RUNNER_TEMP/writ-session-$PPID"
# The job's clients accept a socket served by our uid or root only: tell them W's.
[ -n "${WRIT_USER:-}" ] && [ "$suid" != "$(id -u)" ] && [ "$suid" != 0 ] &&
	printf 'WRIT_SERVER_UID=%s\n' "$suid" >>"$GITHUB_ENV"
echo "writ: session $id ($name) for this job; WRIT_SOCKET=$sock"
