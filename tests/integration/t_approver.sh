#!/usr/bin/env bash
# The approver command (approval.command): stdin JSON, exit 0 approves;
# a clean environment; killed when the request ends; the shipped terminal
# approver driven through a real pty.
. "$(dirname "$0")/lib.sh"

cmd() {	# cmd NAME BODY: an approver script at $T/NAME
	printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
	chmod 0755 "$T/$1"
}
ev() { grep "\"event\":\"$1\"" "$T/state/audit.jsonl"; }	# ev EVENT: its records
cmd yes "cat >'$T/cmd.json'; env >'$T/cmd.env'; exit 0"
cmd no "cat >/dev/null; exit 1"
cmd hang "cat >/dev/null; echo \$\$ >'$T/hang.pid'; exec sleep 300"

export WRIT_CANARY=writd-environment-must-not-leak
start_writd "{\"approval\":{\"command\":\"$T/yes\",\"timeout\":\"2s\"}}" || exit 1
SOCK=$(new_session cmd)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example --reason "via command" >"$T/tok" 2>"$T/err"
eq "approving command: issued with no watch connected" 0 "$?"
eq "  ... the command saw the request on stdin" "jwt example via command" \
	"$(jq -r '"\(.kind) \(.scope.aud) \(.reason)"' "$T/cmd.json")"
check "  ... with the caller's pid" test "$(jq -r .caller.pid "$T/cmd.json")" -gt 1
check "  ... and a clean environment (no writd variables)" bash -c "! grep -q WRIT_CANARY '$T/cmd.env'"
check "  ... PATH reset" grep -qx 'PATH=/usr/local/bin:/usr/bin:/bin' "$T/cmd.env"
RID=$(jq -r .id "$T/cmd.json")
eq "  ... audited: asked, approved by the command, issued from that request" \
	"$RID $RID:command $RID" \
	"$(ev approval_asked | jq -r .request) $(ev approved | jq -r '"\(.request):\(.channel)"') $(ev issued | jq -r .request)"
stop_writd

start_writd "{\"approval\":{\"command\":\"$T/no\",\"timeout\":\"2s\"}}" || exit 1
SOCK=$(new_session cmd)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example >/dev/null 2>"$T/err"
eq "denying command: writ exits 4" 4 "$?"
check "  ... approval_denied" grep -q approval_denied "$T/err"
eq "  ... nothing issued" 0 "$(nwrits)"
eq "  ... audited as denied by the command" command "$(ev denied | tail -1 | jq -r .channel)"
stop_writd

start_writd "{\"approval\":{\"command\":\"$T/hang\",\"timeout\":\"2s\"}}" || exit 1
SOCK=$(new_session cmd)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example >/dev/null 2>"$T/err"
eq "a command that never answers: timed out (exit 5)" 5 "$?"
wait_for bash -c "! kill -0 \$(cat '$T/hang.pid') 2>/dev/null"
check "  ... and the command was stopped" bash -c "! kill -0 \$(cat '$T/hang.pid') 2>/dev/null"
eq "  ... audited as timed out" approval_timeout "$(ev approval_failed | tail -1 | jq -r .error)"
stop_writd

timeout 10 "$BIN/writd" --runtime-dir "$T/r3" --state-dir "$T/state" \
	--config <(echo "{\"approval\":{\"command\":\"$T/missing\"}}") 2>"$T/err"
check "a missing approval.command stops writd at start" test $? -eq 1
check "  ... naming it" grep -q "$T/missing" "$T/err"

# The shipped terminal approver, on a real pseudo-terminal.
APPROVER=$(cd "$(dirname "$0")/../../deploy/approvers" && pwd)/approve-tty
with_keyring "{\"approval\":{\"command\":\"$APPROVER\"}}" >"$T/tty.json"
printf '{"confirm":[{"id":"typed-prod","kind":"jwt","scope":{"aud":"prod*"},"mode":"typed"}]}\n' >"$T/tty-user.json"
chmod 0644 "$T/tty-user.json"
python3 - "$BIN/writd" "$T" <<'PY' >"$T/pty.log" 2>&1 &
import os, pty, re, sys, time
writd, t = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(writd, [writd, "--runtime-dir", t + "/rt", "--state-dir", t + "/state",
                     "--config", t + "/tty.json", "--enterprise-policy", t + "/none.json",
                     "--policy", t + "/tty-user.json"])
open(t + "/pty-writd.pid", "w").write(str(pid))
seen, answered = b"", 0
deadline = time.time() + 60
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    seen += chunk
    sys.stdout.write(chunk.decode(errors="replace")); sys.stdout.flush()
    if answered == 0 and b"Approve? [y/N]" in seen:
        os.write(fd, b"y\n"); answered = 1
    m = re.search(rb"Type ([a-z0-9]{6}) to approve", seen)
    if answered == 1 and m:
        os.write(fd, m.group(1) + b"\n"); answered = 2
PY
PYPID=$!
ADMIN=$T/rt/admin.sock
export WRIT_RUNTIME_DIR=$T/rt
if wait_for test -S "$ADMIN"; then
	SOCK=$(new_session tty)
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example --reason "tty test" >"$T/tok" 2>"$T/err"
	eq "approve-tty: 'y' on the terminal approves" 0 "$?"
	check "  ... the prompt showed the untrusted reason" grep -q 'untrusted, written by the agent) "tty test"' "$T/pty.log"
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=prod.example.com >"$T/tok" 2>"$T/err"
	eq "approve-tty: a typed approval with the code approves" 0 "$?"
	check "  ... after asking for the code" grep -q 'Type [a-z0-9]\{6\} to approve' "$T/pty.log"
else
	fail "writd on a pty did not start: $(cat "$T/pty.log")"
fi
kill "$(cat "$T/pty-writd.pid")" 2>/dev/null
kill $PYPID 2>/dev/null; wait $PYPID 2>/dev/null
true
