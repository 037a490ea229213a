#!/usr/bin/env bash
# The approver command (approval.command): stdin JSON, exit 0 approves;
# a clean environment; killed when the request ends; the shipped terminal
# approver driven through a real pty.
. "$(dirname "$0")/lib.sh"

# The approver's scratch dir (its TMPDIR): confined with writd's front end
# (frontconfine.h), the command may write there and in no other place.
A=$T/run/approver
cmd() {	# cmd NAME BODY: an approver script at $T/NAME
	printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
	chmod 0755 "$T/$1"
}
ev() { grep "\"event\":\"$1\"" "$T/state/audit.jsonl"; }	# ev EVENT: its records
# last_is EVENT FIELD VALUE: the last EVENT record's FIELD is VALUE.  NB. for
# wait_for: a refusal's record is appended before the answer, but written
# by the log's commit thread, which a loaded machine may run after it.
last_is() { [ "$(ev "$1" | tail -1 | jq -r ".$2")" = "$3" ]; }
cmd yes "cat >'$A/cmd.json'; env >'$A/cmd.env'; exit 0"
cmd no "cat >/dev/null; exit 1"
cmd hang "cat >/dev/null; echo \$\$ >'$A/hang.pid'; exec sleep 300"

export WRIT_CANARY=writd-environment-must-not-leak
start_writd "{\"approval\":{\"command\":\"$T/yes\",\"timeout\":\"2s\"}}" || exit 1
SOCK=$(new_session cmd)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example --reason "via command" >"$T/tok" 2>"$T/err"
eq "approving command: issued with no watch connected" 0 "$?"
eq "  ... the command saw the request on stdin" "jwt example via command" \
	"$(jq -r '"\(.kind) \(.scope.aud) \(.reason)"' "$A/cmd.json")"
check "  ... with the caller's pid" test "$(jq -r .caller.pid "$A/cmd.json")" -gt 1
check "  ... and a clean environment (no writd variables)" bash -c "! grep -q WRIT_CANARY '$A/cmd.env'"
check "  ... PATH reset" grep -qx 'PATH=/usr/local/bin:/usr/bin:/bin' "$A/cmd.env"
check "  ... TMPDIR its scratch dir" grep -qx "TMPDIR=$A" "$A/cmd.env"
RID=$(jq -r .id "$A/cmd.json")
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
check "  ... audited as denied by the command" wait_for last_is denied channel command
stop_writd

start_writd "{\"approval\":{\"command\":\"$T/hang\",\"timeout\":\"2s\"}}" || exit 1
SOCK=$(new_session cmd)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example >/dev/null 2>"$T/err"
eq "a command that never answers: timed out (exit 5)" 5 "$?"
wait_for bash -c "! kill -0 \$(cat '$A/hang.pid') 2>/dev/null"
check "  ... and the command was stopped" bash -c "! kill -0 \$(cat '$A/hang.pid') 2>/dev/null"
check "  ... audited as timed out" wait_for last_is approval_failed error approval_timeout
stop_writd

timeout 10 "$BIN/writd" --runtime-dir "$T/r3" --state-dir "$T/state" \
	--config <(echo "{\"approval\":{\"command\":\"$T/missing\"}}") 2>"$T/err"
check "a missing approval.command stops writd at start" test $? -eq 1
check "  ... naming it" grep -q "$T/missing" "$T/err"

# Approver commands run one at a time: two at once would share a terminal.
cmd slow "echo start \$\$ >>'$A/slow.log'; cat >>'$A/slow.json'; echo >>'$A/slow.json'; sleep 0.3; echo end \$\$ >>'$A/slow.log'; exit 0"
start_writd "{\"approval\":{\"command\":\"$T/slow\",\"timeout\":\"20s\"}}" || exit 1
SOCK=$(new_session serial)
pids=()
for i in 1 2 3; do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=s$i >/dev/null 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
eq "three requests through a command: all issued" 3 "$(nwrits)"
eq "  ... the command ran once per request" 3 "$(grep -c ^start "$A/slow.log")"
check "  ... its input carries the prompt and the question naming the request" \
	bash -c "jq -e -s 'all(.[]; . as \$q | (\$q.prompt | contains(\"== writ request \" + \$q.id[0:8])) and \$q.question == \"Approve request \" + \$q.id[0:8] + \"? [y/N] \")' '$A/slow.json' >/dev/null"
# Never two at once: each run ends before the next starts.
check "  ... one at a time (start, end, start, end ...)" \
	awk 'NR % 2 == 1 { if ($1 != "start") bad = 1; pid = $2 } NR % 2 == 0 { if ($1 != "end" || $2 != pid) bad = 1 } END { exit bad || NR != 6 }' "$A/slow.log"
stop_writd

# A command that ignores SIGTERM cannot hold the queue: it is killed, and
# the request behind it gets its turn.
cmd stubborn "if [ -e '$A/first' ]; then cat >/dev/null; exit 0; fi
touch '$A/first'; echo \$\$ >'$A/stubborn.pid'; trap '' TERM; cat >/dev/null; while :; do sleep 1; done"
start_writd "{\"approval\":{\"command\":\"$T/stubborn\",\"timeout\":\"6s\"}}" || exit 1
SOCK=$(new_session stubborn)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=st1 >/dev/null 2>&1 &
G1=$!
wait_for test -s "$A/stubborn.pid"
# The second asks 4 s later, so that it outlives the first's timeout (6 s)
# by as much as the kill takes (2 s grace): spacing, not a measurement.
sleep 4
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=st2 >/dev/null 2>&1 &
G2=$!
wait $G1
eq "a command that ignores SIGTERM: its request times out (exit 5)" 5 "$?"
wait $G2
eq "  ... and the request queued behind it still gets its turn (approved)" 0 "$?"
check "  ... the stubborn command was killed" bash -c "! kill -0 \$(cat '$A/stubborn.pid') 2>/dev/null"
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
        if "withdraw-me" in body:
            # Half an answer: "y" typed, Enter not yet, when the agent withdraws.
            out.write("%s %s %s typed-y\n" % (sid.decode(), shown.group(1).decode() if shown else "-",
                                               aud.group(1) if aud else "-"))
            out.flush()
            os.write(fd, b"y")
            open(t + "/typed", "w").write(sid.decode())
            done = m.end()
            continue
        answer = (m.group(2) if m.group(2) else b"y") if yes else b"n"
        if "enter-only" in body:
            answer = b""
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
	check "  ... the prompt showed the untrusted reason" grep -q '|  *approve-me: tty test' "$T/pty.log"
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
	SOCK=$(new_session withdraw)	# (the session above is cooling down after its denials)
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=wd-1 --reason "withdraw-me" >/dev/null 2>&1 &
	WD=$!
	wait_for test -s "$T/typed"
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=wd-2 --reason "enter-only" >/dev/null 2>&1 &
	G=$!
	wait_for npending_is 2
	kill "$WD"; wait "$WD" 2>/dev/null
	wait $G
	eq "approve-tty: a half-typed 'y' for a withdrawn request approves nothing after it" "4 0" \
		"$? $(admin /v1/writs | jq '[.writs[] | select(.scope.aud == "wd-2")] | length')"
	check "  ... and the withdrawal is said on the terminal" grep -q "(request $(cat "$T/typed") withdrawn)" "$T/pty.log"
	check "  ... every question named the request of the prompt just above it" \
		awk '$1 != $2 { bad = 1 } END { exit bad }' "$T/decisions"
	eq "  ... prompts never interleaved (one header per question)" \
		"$(grep -c '^== writ request ' "$T/pty.log")" "$(wc -l <"$T/decisions")"
else
	fail "writd on a pty did not start: $(cat "$T/pty.log")"
fi
kill "$(cat "$T/pty-writd.pid")" 2>/dev/null
kill $PYPID 2>/dev/null; wait $PYPID 2>/dev/null

# On a terminal narrower than writd's 80-column layout the terminal itself
# would wrap the agent's words to the start of a line: approve-tty refuses.
python3 - "$APPROVER" >"$T/narrow" 2>&1 <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    # NB. the size is set before exec: set by the parent, it could come late.
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    r, w = os.pipe()
    os.write(w, b'{"id":"0123456789abcdef0123456789abcdef","prompt":"P\\n","question":"Approve request 01234567? [y/N] "}')
    os.close(w); os.dup2(r, 0)
    os.execv(sys.argv[1], [sys.argv[1]])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
seen, end, answered = b"", time.time() + 10, False
# Read until the pty says the child is gone (EIO), answering a question.
while time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if b"Approve request" in seen and not answered:
        os.write(fd, b"y\n")
        answered = True
p, st = os.waitpid(pid, 0)
print("exit", os.waitstatus_to_exitcode(st))
print(seen.decode(errors="replace"))
PY
check "approve-tty on a 60-column terminal denies, asking to widen it" \
	bash -c "grep -q '^exit 1' '$T/narrow' && grep -q '60 columns wide' '$T/narrow' && ! grep -q 'Approve request' '$T/narrow'"
true
