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
# With WRIT_USER (writd under a user of its own, README "which uid"), the
# runner's user may run only `writctl sessions new/rm` as W: not list.  The
# id is then read from $RUNNER_TEMP/writ-session-$PPID, which job-started.sh
# wrote.  NB. the job, as the same user, could change it: then the hook
# closes the session it names (which the job could do itself with the same
# sudo rule), and the job's own closes when this worker exits (--pid).
#
# Exit status: 0 closed, or nothing to close (writd closed it already);
# 1 writd unreachable or refused.
set -euo pipefail

WRITCTL=${WRITCTL:-writctl}
# writctl as writd's user W when the runner is another (sudo, README; sudo
# drops $WRIT_RUNTIME_DIR, and the rule names the dir: --runtime-dir).
ctl=("$WRITCTL")
[ -n "${WRIT_USER:-}" ] && ctl=(sudo -n -u "$WRIT_USER" -- "$WRITCTL" --runtime-dir "${WRIT_RUNTIME_DIR:-/run/writ}")
: "${GITHUB_RUN_ID:?}" "${GITHUB_JOB:?}"
name="gh-$GITHUB_RUN_ID-$GITHUB_JOB"

if [ -n "${WRIT_USER:-}" ]; then
	f=${RUNNER_TEMP:-/nonexistent}/writ-session-$PPID
	id=$(cat "$f" 2>/dev/null || true)
	if [[ ! $id =~ ^[0-9a-f]{32}$ ]]; then
		echo "writ: no session id in $f: the session closes when this worker exits"
		exit 0
	fi
	rm -f "$f"
	"${ctl[@]}" sessions rm "$id" >/dev/null 2>&1 ||
		{ echo "writ: session $id ($name) was already closed"; exit 0; }
	echo "writ: closed session $id ($name); its writs are revoked"
	exit 0
fi
list=$("$WRITCTL" sessions ls --json)
ids=$(jq -r --arg n "$name" --argjson p "$PPID" \
	'.sessions[] | select(.name == $n and .pid == $p) | .id' <<<"$list")
if [ -z "$ids" ]; then
	echo "writ: no open session $name for pid $PPID (already closed)"
	exit 0
fi
rc=0
for id in $ids; do
	"${ctl[@]}" sessions rm "$id" >/dev/null || rc=1
	echo "writ: closed session $id ($name); its writs are revoked"
done
exit $rc
