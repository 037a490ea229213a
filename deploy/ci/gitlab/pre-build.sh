#!/usr/bin/env bash
# pre-build.sh - GitLab Runner's pre_build_script (shell executor): open a
# writ session bound to this job's verified identity; prints its socket.
#
# config.toml, [[runners]]:
#   pre_build_script = '''
#   WRIT_SOCKET=$(/usr/local/libexec/writ/ci/gitlab/pre-build.sh "$$")
#   export WRIT_SOCKET
#   unset WRIT_ID_TOKEN
#   '''
# With writd under a user of its own (W; deploy/ci/README.md, "which uid"),
# add WRIT_USER=W to the runner's environment (environment = [...]) and,
# after the export above, in pre_build_script:
#   WRIT_SERVER_UID=$(id -u "$WRIT_USER"); export WRIT_SERVER_UID
# This script then runs writctl as `sudo -n -u $WRIT_USER` with --uid (our
# uid may use the socket), and post-build.sh leaves the close to the job
# shell's exit (--pid): the runner's user may not list sessions.
#   post_build_script = '''/usr/local/libexec/writ/ci/gitlab/post-build.sh "$$"'''
# .gitlab-ci.yml, per job:
#   id_tokens:
#     WRIT_ID_TOKEN:
#       aud: writ
#
# The ID token is read from the job variable named by $WRIT_CI_TOKEN_VAR
# (default WRIT_ID_TOKEN) and piped to `writctl sessions new
# gl-$CI_PIPELINE_ID-$CI_JOB_ID --ci-token - --pid PID`: never on argv or
# in a file.  PID ($1) is the job's shell ("$$" in the lines above; NB. not
# $PPID here, which inside $(...) may be a subshell that ends at once): the
# session closes, its writs revoked, when that shell exits, even when
# post_build_script does not run (GitLab skips it when the script fails).
# writd also closes it at the token's exp + grace at the latest.
#
# Exit status: 0 with the socket on stdout, or with nothing when the job
# has no such ID token (it gets no writ session, and runs on); non-zero
# when writd refused: with the two lines above, that fails the job.
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
var=${WRIT_CI_TOKEN_VAR:-WRIT_ID_TOKEN}
pid=${1:?usage: pre-build.sh PID (\$\$ of the job shell)}
[[ $pid =~ ^[1-9][0-9]*$ ]] || { echo "writ: pre-build.sh: '$pid' is not a pid" >&2; exit 2; }
[[ $var =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "writ: WRIT_CI_TOKEN_VAR is not a variable name" >&2; exit 2; }
: "${CI_PIPELINE_ID:?}" "${CI_JOB_ID:?}"
name="gl-$CI_PIPELINE_ID-$CI_JOB_ID"

if [ -z "${!var:-}" ]; then
	echo "writ: no ID token in \$$var (id_tokens: $var: {aud: ...} in .gitlab-ci.yml): no writ session" >&2
	exit 0
fi
# printf is a builtin: the token is on no command line.
if ! session=$(printf '%s' "${!var}" |
	"${ctl[@]}" sessions new "$name" --ci-token - --pid "$pid" "${uidopt[@]}" --json); then
	echo "writ: no writ session for $name: see the error above" >&2
	exit 1
fi
id=$(jq -r .id <<<"$session")
sock=$(jq -r .socket <<<"$session")
if [[ ! $sock =~ ^/[^$'\n\r']*$ ]] || [[ ! $id =~ ^[0-9a-f]{32}$ ]]; then
	echo "writ: writd answered an unexpected session: $session" >&2
	exit 1
fi
echo "writ: session $id ($name) for this job" >&2
printf '%s\n' "$sock"
