#!/usr/bin/env bash
# A real bubblewrap sandbox: no network, no inherited environment, its own
# pid namespace, only the session socket mounted in.
. "$(dirname "$0")/lib.sh"

if ! command -v bwrap >/dev/null; then
	skip "bubblewrap is not installed"; exit 0
fi
if ! bwrap --ro-bind / / --unshare-all -- true 2>"$T/bwrap.err"; then
	skip "bwrap cannot create namespaces here: $(head -1 "$T/bwrap.err")"; exit 0
fi

start_writd || exit 1
SOCK=$(new_session sandboxed)
approver_on
sandbox() {
	SECRET_CANARY=should-not-pass bwrap --ro-bind / / --dev /dev --proc /proc \
		--tmpfs /home --tmpfs /run --tmpfs "$T" --clearenv \
		--bind "$SOCK" /run/writ/agent.sock --unshare-all --die-with-parent -- "$@"
}

sandbox "$BIN/writ" status >"$T/status"
eq "writ status inside bwrap finds the default socket" 0 "$?"
check "  ... and its session" grep -q 'session sandboxed' "$T/status"
sandbox /usr/bin/env >"$T/env"
check "the sandbox inherits no environment (no canary)" bash -c "! grep -q SECRET_CANARY '$T/env'"
eq "  ... only what bwrap sets" "PWD" "$(sandbox /usr/bin/env | cut -d= -f1 | tr '\n' ' ' | sed 's/ $//')"
sandbox test -e "$ADMIN"
check "the admin socket is not reachable in the sandbox" test $? -ne 0

sandbox "$BIN/writ" get jwt --scope aud=sandbox --reason "from bwrap" >"$T/tok" 2>"$T/err" &
GET=$!
ID=$(pending_id)
pid=$(admin /v1/requests | jq -r '.requests[0].caller.pid')
check "the prompt shows the caller's host pid ($pid), not its sandbox pid 1 or 2" \
	test -d "/proc/$pid" -a "$pid" -gt 2
eq "  ... and its real exe" "$BIN/writ" "$(readlink "/proc/$pid/exe")"
"$BIN/writctl" approve "$ID" >/dev/null
wait $GET
eq "writ get inside bwrap succeeds after approval" 0 "$?"
check "  ... and prints a JWT" grep -qE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$T/tok"
