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

# Approver commands run one at a time: two at once would share a terminal.
cmd slow "echo start \$\$ >>'$T/slow.log'; cat >>'$T/slow.json'; echo >>'$T/slow.json'; sleep 0.3; echo end \$\$ >>'$T/slow.log'; exit 0"
start_writd "{\"approval\":{\"command\":\"$T/slow\",\"timeout\":\"20s\"}}" || exit 1
SOCK=$(new_session serial)
pids=()
for i in 1 2 3; do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=s$i >/dev/null 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
eq "three requests through a command: all issued" 3 "$(nwrits)"
eq "  ... the command ran once per request" 3 "$(grep -c ^start "$T/slow.log")"
check "  ... its input carries the prompt and the question naming the request" \
	bash -c "jq -e -s 'all(.[]; . as \$q | (\$q.prompt | contains(\"== writ request \" + \$q.id[0:8])) and \$q.question == \"Approve request \" + \$q.id[0:8] + \"? [y/N] \")' '$T/slow.json' >/dev/null"
# Never two at once: each run ends before the next starts.
check "  ... one at a time (start, end, start, end ...)" \
	awk 'NR % 2 == 1 { if ($1 != "start") bad = 1; pid = $2 } NR % 2 == 0 { if ($1 != "end" || $2 != pid) bad = 1 } END { exit bad || NR != 6 }' "$T/slow.log"
stop_writd

# The shipped terminal approver, on a real pseudo-terminal, with requests
# racing for one person: each answer must decide the request whose prompt
# it answered.  The driver approves only requests whose reason says
# approve-me, reading the prompt just above the question.
APPROVER=$(cd "$(dirname "$0")/../../deploy/approvers" && pwd)/approve-tty
with_keyring "{\"approval\":{\"command\":\"$APPROVER\",\"timeout\":\"30s\"}}" >"$T/tty.json"
printf '{"confirm":[{"id":"typed-prod","kind":"jwt","scope":{"aud":"prod*"},"mode":"typed"}]}\n' >"$T/tty-user.json"
chmod 0644 "$T/tty-user.json"
python3 - "$BIN/writd" "$T" <<'PY' >"$T/pty.log" 2>&1 &
import fcntl, os, pty, re, struct, sys, termios, time
writd, t = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(writd, [writd, "--runtime-dir", t + "/rt", "--state-dir", t + "/state",
                     "--config", t + "/tty.json", "--enterprise-policy", t + "/none.json",
                     "--policy", t + "/tty-user.json"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
open(t + "/pty-writd.pid", "w").write(str(pid))
out = open(t + "/decisions", "w")
seen, done = b"", 0
ask = re.compile(rb"Approve request ([0-9a-f]{8})\? \[y/N\] |"
                 rb"Type ([a-z0-9]{6}) to approve request ([0-9a-f]{8}) \(anything else denies\): ")
deadline = time.time() + 120
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    seen += chunk
    sys.stdout.write(chunk.decode(errors="replace")); sys.stdout.flush()
    for m in ask.finditer(seen, done):
        sid = m.group(1) or m.group(3)
        block = seen[:m.start()]
        head = block.rfind(b"\n== writ request ")
        shown = re.match(rb"\n== writ request ([0-9a-f]{8}) ==", block[head:])
        body = block[head:].decode(errors="replace")
        aud = re.search(r'"aud":"([^"]*)"', body)
        yes = "approve-me" in body and shown is not None and shown.group(1) == sid
        answer = (m.group(2) if m.group(2) else b"y") if yes else b"n"
        # A person who pressed twice: a "y" typed ahead, before any prompt asks.
        if "twice" in body:
            answer += b"\ny"
        out.write("%s %s %s %s\n" % (sid.decode(), shown.group(1).decode() if shown else "-",
                                     aud.group(1) if aud else "-", "yes" if yes else "no"))
        out.flush()
        os.write(fd, answer + b"\n")
        done = m.end()
PY
PYPID=$!
ADMIN=$T/rt/admin.sock
export WRIT_RUNTIME_DIR=$T/rt
if wait_for curl -sf -o /dev/null --unix-socket "$ADMIN" http://writ/v1/health; then
	SOCK=$(new_session tty)
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example --reason "approve-me: tty test" >"$T/tok" 2>"$T/err"
	eq "approve-tty: 'y' on the terminal approves" 0 "$?"
	check "  ... the prompt showed the untrusted reason" grep -q '|  *"approve-me: tty test"' "$T/pty.log"
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=prod.example.com --reason approve-me >"$T/tok" 2>"$T/err"
	eq "approve-tty: a typed approval with the code approves" 0 "$?"
	check "  ... after asking for the code" grep -q 'Type [a-z0-9]\{6\} to approve request' "$T/pty.log"
	for n in 2 3; do
		pids=()
		for i in $(seq 1 $n); do
			r=deny-me; [ $((i % 2)) = 1 ] && r=approve-me
			WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=race$n-$i" --reason "$r $i" \
				>"$T/race$n-$i.tok" 2>"$T/race$n-$i.err" &
			pids+=($!)
		done
		rcs=
		for p in "${pids[@]}"; do wait "$p"; rcs="$rcs $?"; done
		want=" 0 4"; [ $n = 3 ] && want=" 0 4 0"
		eq "approve-tty, $n requests at once: each answer decides the request it answered" "$want" "$rcs"
		eq "  ... the issued writs are exactly the approved ones" \
			"$(seq 1 2 $n | sed "s/^/race$n-/" | sort | tr '\n' ' ')" \
			"$(admin /v1/writs | jq -r '.writs[].scope.aud' | grep "^race$n-" | sort | tr '\n' ' ')"
	done
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=twice-1 --reason "deny-me twice" >/dev/null 2>&1 &
	p1=$!
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=twice-2 --reason "deny-me after" >/dev/null 2>&1 &
	p2=$!
	wait $p1; r1=$?; wait $p2; r2=$?
	eq "approve-tty: a 'y' typed ahead of a prompt approves nothing" "4 4 0" \
		"$r1 $r2 $(admin /v1/writs | jq '[.writs[] | select(.scope.aud | startswith("twice"))] | length')"
	check "  ... every question named the request of the prompt just above it" \
		awk '$1 != $2 { bad = 1 } END { exit bad }' "$T/decisions"
	eq "  ... prompts never interleaved (one header per question)" \
		"$(grep -c '^== writ request ' "$T/pty.log")" "$(wc -l <"$T/decisions")"
else
	fail "writd on a pty did not start: $(cat "$T/pty.log")"
fi
kill "$(cat "$T/pty-writd.pid")" 2>/dev/null
kill $PYPID 2>/dev/null; wait $PYPID 2>/dev/null
true
