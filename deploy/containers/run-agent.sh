#!/usr/bin/env bash
# run-agent.sh - run an agent in a container with a writ session of its own.
#
#   run-agent.sh [--engine podman|docker] [--name NAME] [--workspace DIR]
#                -- [ENGINE RUN OPTIONS...] IMAGE [CMD [ARGS...]]
#
# Opens a session (writctl sessions new, tied to this script's pid), runs
#
#   ENGINE run --rm --network none --read-only --cap-drop all
#              --security-opt no-new-privileges [--security-opt seccomp=...]
#              -v SESSION_SOCKET:/run/writ/agent.sock
#              [-v DIR:/workspace -w /workspace] YOUR OPTIONS... IMAGE CMD...
#
# and closes the session when the container ends (its writs are revoked).
# If this script is killed, writd closes the session itself (--pid), and a
# container left running finds its socket dead.  Exit status: the
# container's; 125 when this script fails before running it.
#
# What it does not do: pick the uids.  See deploy/containers/README.md:
# which uid writd runs as decides whether the agent needs --user,
# --uidmap, or WRIT_SERVER_UID.  writctl must reach writd as usual
# (--runtime-dir through WRIT_RUNTIME_DIR).
set -euo pipefail

die() { echo "run-agent: $*" >&2; exit 125; }

engine=podman name=agent ws=
while [ $# -gt 0 ]; do
	case $1 in
	--engine) [ $# -ge 2 ] || die "--engine needs a value"; engine=$2; shift 2 ;;
	--name) [ $# -ge 2 ] || die "--name needs a value"; name=$2; shift 2 ;;
	--workspace) [ $# -ge 2 ] || die "--workspace needs a value"; ws=$2; shift 2 ;;
	--) shift; break ;;
	*) die "unknown option '$1' (engine options go after --)" ;;
	esac
done
[ $# -ge 1 ] || die "usage: run-agent.sh [--engine podman|docker] [--name NAME] [--workspace DIR] -- [ENGINE OPTIONS...] IMAGE [CMD...]"
case $engine in
podman|docker) ;;
*) die "--engine must be podman or docker" ;;
esac
command -v "$engine" >/dev/null || die "$engine is not installed"
command -v writctl >/dev/null || die "writctl is not on PATH"

opts=(--rm --network none --read-only --cap-drop all --security-opt no-new-privileges)

# NB. podman's default seccomp profile (containers-common) allows keyctl:
# an agent that is writd's uid in writd's user namespace (rootful, no
# --uidmap) could then read writd's kernel keyring.  Docker's default
# profile refuses keyctl already.  For podman, the default profile less
# keyctl, add_key and request_key, passed on a file descriptor (nothing to
# clean up).
profile=
if [ "$engine" = podman ]; then
	for p in /usr/share/containers/seccomp.json /etc/containers/seccomp.json; do
		[ -r "$p" ] && profile=$p
	done
	[ -n "$profile" ] || die "no podman seccomp profile found to remove keyctl from"
	command -v jq >/dev/null || die "jq is needed to derive the seccomp profile"
	exec 3< <(jq '.syscalls[].names |= map(select(. != "keyctl" and . != "add_key" and . != "request_key"))' "$profile")
	opts+=(--security-opt seccomp=/dev/fd/3)
fi

sess_args=(sessions new "$name" --pid $$ --json)
if [ -n "$ws" ]; then
	ws=$(realpath -e -- "$ws") || die "no workspace '$ws'"
	sess_args+=(--workspace "$ws")
	opts+=(-v "$ws:/workspace" -w /workspace)
fi
s=$(writctl "${sess_args[@]}") || die "could not open a session (is writd running?)"
sid=$(jq -r .id <<<"$s")
sock=$(jq -r .socket <<<"$s")
[ -S "$sock" ] || die "writd gave no socket"
# NB. from here on the session is closed on every way out.
trap 'writctl sessions rm "$sid" >/dev/null 2>&1 || true' EXIT

# Signals go to the engine's client, which stops the container; we wait
# for it and then close the session.
"$engine" run "${opts[@]}" -v "$sock:/run/writ/agent.sock" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' INT TERM HUP
rc=0
while :; do
	wait "$child" && rc=0 || rc=$?
	kill -0 "$child" 2>/dev/null || break
done
exit "$rc"
