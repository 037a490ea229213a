#!/usr/bin/env bash
# job-completed.sh - ACTIONS_RUNNER_HOOK_JOB_COMPLETED for a self-hosted
# GitHub Actions runner: close the job's writ session (job-started.sh), so
# that every writ it holds is revoked now, not when the worker exits.
#
# The session is found by its name (gh-$GITHUB_RUN_ID-$GITHUB_JOB) and the
# process it is tied to ($PPID, this job's Runner.Worker, as for
# job-started.sh): two legs of a matrix share a name, never a worker.
# Nothing is read from the job's files, which the job could have changed.
#
# Exit status: 0 closed, or nothing to close (writd closed it already);
# 1 writd unreachable or refused.
set -euo pipefail

WRITCTL=${WRITCTL:-writctl}
: "${GITHUB_RUN_ID:?}" "${GITHUB_JOB:?}"
name="gh-$GITHUB_RUN_ID-$GITHUB_JOB"

list=$("$WRITCTL" sessions ls --json)
ids=$(jq -r --arg n "$name" --argjson p "$PPID" \
	'.sessions[] | select(.name == $n and .pid == $p) | .id' <<<"$list")
if [ -z "$ids" ]; then
	echo "writ: no open session $name for pid $PPID (already closed)"
	exit 0
fi
rc=0
for id in $ids; do
	"$WRITCTL" sessions rm "$id" >/dev/null || rc=1
	echo "writ: closed session $id ($name); its writs are revoked"
done
exit $rc
