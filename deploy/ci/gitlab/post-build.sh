#!/usr/bin/env bash
# post-build.sh - GitLab Runner's post_build_script (shell executor): close
# the job's writ session (pre-build.sh), revoking its writs now.  $1 is the
# job shell's pid, as given to pre-build.sh ("$$"): the session is found by
# its name (gl-$CI_PIPELINE_ID-$CI_JOB_ID) and that pid.
#
# GitLab does not run post_build_script when the job's script fails; the
# session then closes when the job's shell exits (pre-build.sh tied it to
# it), at the latest at the token's exp + grace.
#
# Exit status: 0 closed, or nothing to close; 1 writd unreachable or refused.
set -euo pipefail

WRITCTL=${WRITCTL:-writctl}
pid=${1:?usage: post-build.sh PID (\$\$ of the job shell)}
[[ $pid =~ ^[1-9][0-9]*$ ]] || { echo "writ: post-build.sh: '$pid' is not a pid" >&2; exit 2; }
: "${CI_PIPELINE_ID:?}" "${CI_JOB_ID:?}"
name="gl-$CI_PIPELINE_ID-$CI_JOB_ID"

# As the runner's user with writd under its own (WRIT_USER), we may not list
# sessions: the job shell, whose exit closes it, ends right after this.
if [ -n "${WRIT_USER:-}" ]; then
	echo "writ: session $name closes when the job shell (pid $pid) exits" >&2
	exit 0
fi
list=$("$WRITCTL" sessions ls --json)
ids=$(jq -r --arg n "$name" --argjson p "$pid" \
	'.sessions[] | select(.name == $n and .pid == $p) | .id' <<<"$list")
if [ -z "$ids" ]; then
	echo "writ: no open session $name for pid $pid (already closed)" >&2
	exit 0
fi
rc=0
for id in $ids; do
	"$WRITCTL" sessions rm "$id" >/dev/null || rc=1
	echo "writ: closed session $id ($name); its writs are revoked" >&2
done
exit $rc
