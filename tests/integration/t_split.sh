#!/usr/bin/env bash
# writd's two processes (issue 16): the front end (writd) and its key
# side (writd-minter, its child).  Either dying ends writd cleanly: the
# minter gone, the front end fails every caller waiting, removes its
# sockets and exits 1, naming the minter; the front end gone, the minter
# makes its logs durable and exits, revoking nothing (as after a crash:
# the next start brings the writs back).  Signals that stop a process do
# not reach the minter: writd alone says when it stops.  Both hold the
# runtime dir's lock, so no second writd starts while an old minter runs.
. "$(dirname "$0")/lib.sh"

start_forge || { fail "the fake GitHub did not start"; exit 1; }
mode() { forge_fake mode -d "{\"mode\":\"$1\"}" >/dev/null; }
# GitHub for ci-* sessions and jwt for ok-* audiences without asking;
# anything else asks.
printf '%s\n' '{"allow":[{"id":"ci","kind":"github","session":"ci-*","scope":{"repo":["acme/*"],"permissions":{"contents":"read"}}},{"id":"jwt","kind":"jwt","scope":{"aud":"ok-*"}}]}' \
	>"$T/user.json"; chmod 0644 "$T/user.json"
CONFIG=$FORGE_CONFIG
start_writd "$CONFIG" || exit 1
forge_app_key
# field PID N: field N of /proc/PID/stat (after the command's parentheses).
field() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f$(($2 - 2)); }
# no_process DIR: no process runs with DIR as its runtime dir (a writd or
# its minter: both have it in their argv).
no_process() { ! pgrep -f -- "--runtime-dir $1 " >/dev/null; }
# jwt SOCKET AUD FILE: a jwt writ, its JSON in FILE.
jwt() { WRIT_SOCKET=$1 "$BIN/writ" get jwt --scope "aud=$2" --json >"$3"; }
gh() { WRIT_SOCKET=$1 "$BIN/writ" get github --scope repo=acme/widgets --json >"$2"; }
# Of writs given as their JSON files:
listed() { has_writ "$(jq -r .id "$1")"; }
unlisted() { ! listed "$1"; }
valid() { local f; for f; do forge_valid "$(jq -r .token "$f")" || return 1; done; }
revoked() { local f; for f; do forge_revoked "$(jq -r .token "$f")" || return 1; done; }
# audited EVENT FILE...: each writ has an EVENT record in the audit log.
audited() {
	local e=$1 f; shift
	for f; do
		grep "\"event\":\"$e\"" "$T/state/audit.jsonl" | grep -q "$(jq -r .id "$f")" ||
			return 1
	done
}
unaudited() { ! audited "$@"; }
# ended PID: PID, a child of this shell, exits by itself within 30 s (a
# hang guard, not a timing), else is killed; its status in RC ("hung"
# when killed).
ended() {
	if WAIT_SECS=30 wait_for gone "$1"; then
		wait "$1"; RC=$?
	else
		kill -KILL "$1"; wait "$1" 2>/dev/null; RC=hung
	fi
}

# The minter is a process of its own, writd's child.
M=$(minter_pid)
check "the minter runs: writd's writd-minter child ($M)" test -n "$M"
check "  ... with a pid of its own" test "$M" != "$WRITD_PID"
eq "  ... whose parent is writd" "$WRITD_PID" "$(field "$M" 4)"
eq "  ... running writd-minter beside writd" "$BIN/writd-minter" "$(readlink "/proc/$M/exe")"
check "  ... holding the runtime dir's lock too" bash -c \
	"ls -l /proc/$M/fd | grep -q '$T/run/writd.lock'"
eq "writd has one child: the minter" "$M" "$(pgrep -P "$WRITD_PID" | tr '\n' ' ' | sed 's/ $//')"

# Stop signals to the minter alone change nothing: blocked, left pending.
A=$(new_session plain)
for s in TERM INT HUP QUIT; do kill -"$s" "$M"; done
# pending MASK: the minter has every signal of MASK (hex) pending.
pending() {
	local p
	p=$(awk '/^ShdPnd/ { print $2 }' "/proc/$M/status" 2>/dev/null) &&
		[ -n "$p" ] && [ $((0x$p & $1)) = $(($1)) ]
}
# SIGHUP 1, SIGINT 2, SIGQUIT 3, SIGTERM 15: bit N-1.
check "SIGTERM, SIGINT, SIGHUP, SIGQUIT to the minter: pending, not taken" \
	wait_for pending 0x4007
jwt "$A" ok-after-term "$T/t1"
eq "  ... writd still issues" 0 "$?"
eq "  ... from the same minter" "$M" "$(minter_pid)"
check "  ... and the writ is listed" listed "$T/t1"

# SIGTERM to writd stops both: exit 0, the minter gone, GitHub writs revoked.
CI=$(new_session ci-clean)
gh "$CI" "$T/g0"
eq "a github writ" 0 "$?"
kill -TERM "$WRITD_PID"; ended "$WRITD_PID"; WRITD_PID=
eq "SIGTERM to writd: it exits 0" 0 "$RC"
check "  ... the minter is gone" gone "$M"
check "  ... the github writ is revoked at GitHub" revoked "$T/g0"
check "  ... no process is left" no_process "$T/run"
check "  ... nor a socket" test ! -e "$T/run/admin.sock" -a ! -e "$CI"

# kill -9 the minter, with writs live and a caller waiting for a human.
start_writd "$CONFIG" || exit 1
M=$(minter_pid)
A=$(new_session plain)
CI=$(new_session ci-crash)
sleep 300 & TIED=$!
CT=$("$BIN/writctl" sessions new ci-tied --pid "$TIED")
jwt "$A" ok-one "$T/j1"
gh "$CI" "$T/g1"
gh "$CT" "$T/g2"
check "three writs before the crash" test -s "$T/j1" -a -s "$T/g1" -a -s "$T/g2"
approver_on
WRIT_SOCKET=$A "$BIN/writ" get jwt --scope aud=asks >"$T/asked.out" 2>"$T/asked.err" &
ASKED=$!
wait_for npending_is 1
eq "a request waits for a human" 1 "$(npending)"
kill -KILL "$M"
# NB. the caller first: writd's own end would answer it too.
ended "$ASKED"
check "kill -9 the minter: the caller waiting is answered with an error (writ exits $RC, saying: $(head -c 200 "$T/asked.err"))" \
	test "$RC" != hung -a "$RC" != 0 -a -s "$T/asked.err"
ended "$WRITD_PID"; WRITD_PID=
eq "  ... writd exits 1" 1 "$RC"
approver_off
check "  ... and no token" test ! -s "$T/asked.out"
check "  ... writd says the minter is gone" grep -q 'writd: the minter exited: stopping' "$T/writd.log"
check "  ... its sockets are removed" test ! -e "$T/run/admin.sock" -a ! -e "$A" -a ! -e "$CI"
check "  ... no process is left" no_process "$T/run"
check "  ... the writs' issued records are in the audit log" audited issued "$T/j1" "$T/g1" "$T/g2"
check "  ... the github tokens are live at GitHub" valid "$T/g1" "$T/g2"
# The tied sandbox ends while writd is down.
kill "$TIED"; wait "$TIED" 2>/dev/null
start_writd "$CONFIG" || exit 1
check "the next start brings the jwt writ back" listed "$T/j1"
check "  ... and the github one" listed "$T/g1"
check "  ... still valid at GitHub" valid "$T/g1"
WAIT_SECS=20 wait_for revoked "$T/g2"
check "  ... the github writ of the sandbox that ended is revoked at GitHub at start" revoked "$T/g2"
check "  ... and no longer listed" unlisted "$T/g2"
"$BIN/writctl" audit verify >/dev/null
eq "  ... the audit chain verifies across the crash" 0 "$?"

# kill -9 the front end: the minter ends, revoking nothing.  Stopped
# first, it holds the lock: no second writd starts while it could still
# write the logs.
M=$(minter_pid)
CI=$(new_session ci-front)
gh "$CI" "$T/g3"
eq "a github writ before the front end dies" 0 "$?"
kill -STOP "$M"
kill -KILL "$WRITD_PID"; wait "$WRITD_PID" 2>/dev/null; WRITD_PID=
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$T/state" --config "$T/config.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>"$T/err"
eq "while the old minter lives, a new writd is refused" "1 1" \
	"$? $(grep -c 'another writd is running' "$T/err")"
kill -CONT "$M"
WAIT_SECS=30 wait_for gone "$M"
check "kill -9 the front end: the minter exits" gone "$M"
check "  ... saying why" grep -q 'minter: the front end is gone; writs live on in the ledger' \
	"$T/writd.log"
check "  ... revoking nothing at GitHub" valid "$T/g3"
check "  ... nor in the audit log" unaudited revoked "$T/g3"
check "  ... no process is left" no_process "$T/run"
start_writd "$CONFIG" || exit 1
check "the next start, right after, brings the writs back" listed "$T/g3"
check "  ... the older ones too" listed "$T/g1"
check "  ... the github token still valid" valid "$T/g3"
kill -TERM "$WRITD_PID"; ended "$WRITD_PID"; WRITD_PID=
eq "  ... and a clean stop after it" 0 "$RC"
check "  ... revokes them at GitHub" revoked "$T/g1" "$T/g3"

# A minter that cannot start: writd exits 1 with its message, and leaves
# no process.
# broken DESC WANT: writd on $T/bad-state does not start, saying WANT.
broken() {
	timeout 20 "$BIN/writd" --runtime-dir "$T/bad-run" --state-dir "$T/bad-state" \
		--config "$T/bad.json" --enterprise-policy "$T/enterprise.json" \
		--policy "$T/user.json" 2>"$T/bad.err"
	local rc=$?
	if [ $rc = 1 ] && grep -q "$2" "$T/bad.err"; then
		pass "$1: writd exits 1 with the minter's message"
	else
		fail "$1 (rc $rc: $(tail -2 "$T/bad.err"))"
	fi
	check "  ... no process is left" no_process "$T/bad-run"
	check "  ... nor an admin socket" test ! -e "$T/bad-run/admin.sock"
}
mkdir -m 0700 "$T/bad-state"
with_keyring '{"store":{"backend":"file"}}' >"$T/bad.json"
"$BIN/writd" --runtime-dir "$T/bad-run" --state-dir "$T/bad-state" --config "$T/bad.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>>"$T/writd.log" &
WRITD_PID=$!
wait_for test -S "$T/bad-run/admin.sock"
kill -TERM "$WRITD_PID"; ended "$WRITD_PID"; WRITD_PID=
eq "a writd with a sealed store starts and stops" 0 "$RC"
cp "$T/bad-state/secrets.sealed" "$T/good.sealed"
cp "$T/bad-state/audit.jsonl" "$T/good.jsonl"
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-5]^=1; open(sys.argv[1],'wb').write(b)" \
	"$T/bad-state/secrets.sealed"
broken "a tampered sealed store" 'the file was altered'
cp "$T/good.sealed" "$T/bad-state/secrets.sealed"
# NB. without its checkpoint (audit.state) the whole chain is checked at start.
rm -f "$T/bad-state/audit.state"
sed -i '2s/"event"/"evEnt"/' "$T/bad-state/audit.jsonl"
broken "a broken audit log" 'is broken at record'

# kill -9 the minter while GitHub mints: the caller gets an error, never
# a token.  The fake holds the call 30 s; the minter waits up to 60 s.
start_writd "$(jq -c '.kinds.github.timeout = "60s"' <<<"$CONFIG")" || exit 1
M=$(minter_pid)
CI=$(new_session ci-inflight)
mode hang
forge_fake tokens | jq .calls >"$T/calls0"
curl -s -o "$T/fly.body" -w '%{http_code}' --max-time 60 --unix-socket "$CI" -X POST \
	--data-binary '{"kind":"github","scope":{"repo":"acme/other"}}' http://writ/v1/writs \
	>"$T/fly.code" &
FLY=$!
minting() { [ "$(forge_fake tokens | jq .calls)" -gt "$(cat "$T/calls0")" ]; }
wait_for minting
check "GitHub is minting" minting
kill -KILL "$M"
ended "$FLY"
code=$(cat "$T/fly.code")
check "kill -9 the minter mid-mint: the caller is answered with an error ($code: $(jq -r .error.code "$T/fly.body" 2>/dev/null))" \
	test "$code" -ge 400 -a "$code" -lt 600
eq "  ... and no token" null "$(jq -r .token "$T/fly.body" 2>/dev/null)"
check "  ... nor an issued record for it" bash -c \
	"! grep '\"event\":\"issued\"' '$T/state/audit.jsonl' | grep -q 'acme/other'"
ended "$WRITD_PID"; WRITD_PID=
eq "  ... writd exits 1" 1 "$RC"
mode ok

# A minter the front end stops trusting (it broke the request table) or
# that says FATAL: writd stops and exits 1, and the minter, told nothing
# more, sees its channel's end.  A stand-in minter beside a copy of writd:
# HELLO, an answer to each request (a success where the answer has no
# fields, else WRIT_EINTERNAL), then, once $T/fake/break holds "garbage"
# or "fatal", a message of no type or a FATAL; it reads on until its
# channel ends.
mkdir -p "$T/fake"
cp "$BIN/writd" "$T/fake/writd"
cat >"$T/fake/minter.py" <<'PY'
import os, select, struct, sys
d = sys.argv[1]
def note(s):
    with open(d + "/minter.log", "a") as f:
        f.write(s + "\n")
# proto.h's: PROTO_VERSION, and the types HELLO, PEER, ANSWER, FATAL.
VERSION, HELLO, PEER, ANSWER, FATAL = 4, 1, 19, 20, 23
def msg(typ, mid, body=b""):
    return struct.pack("<IIII", 16 + len(body), VERSION, typ, mid) + body
def text(s):
    return struct.pack("<I", len(s)) + s + b"\0"
# REVOKE, SECRET_DEL, RESTORE, EXPIRE, RELOAD, STOP: answers of no fields.
NOFIELDS = {3, 13, 15, 16, 17, 18}
os.write(3, msg(HELLO, 0, struct.pack("<I", VERSION)))
buf, broke = b"", False
while True:
    if not broke and os.path.exists(d + "/break"):
        how = open(d + "/break").read().strip()
        os.write(3, msg(99, 0) if how == "garbage" else msg(FATAL, 0, text(b"a test")))
        note("sent " + how)
        broke = True
    if not select.select([3], [], [], 0.05)[0]:
        continue
    data = os.read(3, 65536)
    if not data:
        note("eof")
        sys.exit(0)
    buf += data
    while len(buf) >= 16 and len(buf) >= struct.unpack("<I", buf[:4])[0]:
        n, _, typ, mid = struct.unpack("<IIII", buf[:16])
        buf = buf[n:]
        if typ == HELLO:
            continue
        code = 0 if typ in NOFIELDS | {PEER} else -1
        # PEER's: an exe not shown, cwd /, writd's own user namespace.
        rest = text(b"?") + text(b"/") + struct.pack("<I", 0) if typ == PEER else b""
        os.write(3, msg(ANSWER, mid, struct.pack("<Iq", typ, code) + text(b"") + struct.pack("<I", 0) + rest))
PY
printf '#!/bin/sh\nexec python3 %s %s "$@"\n' "$T/fake/minter.py" "$T/fake" >"$T/fake/writd-minter"
chmod 0755 "$T/fake/writd-minter"
# fake HOW WANT: writd with the stand-in, which then does HOW; writd says WANT.
fake() {
	rm -f "$T/fake/break" "$T/fake/minter.log"
	"$T/fake/writd" --runtime-dir "$T/fake/run-$1" --state-dir "$T/fake/state" \
		--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>"$T/fake/writd.log" &
	WRITD_PID=$!
	if ! wait_for curl -sf -o /dev/null --unix-socket "$T/fake/run-$1/admin.sock" \
	    http://writ/v1/health; then
		fail "$1: writd with a stand-in minter did not start: $(cat "$T/fake/writd.log")"
		kill -KILL "$WRITD_PID"; wait "$WRITD_PID"; WRITD_PID=
		return
	fi
	echo "$1" >"$T/fake/break"
	ended "$WRITD_PID"; WRITD_PID=
	eq "a minter that sends $1: writd exits 1" 1 "$RC"
	check "  ... saying why" grep -q "writd: the minter $2: stopping" "$T/fake/writd.log"
	check "  ... the minter sees its channel's end" grep -q '^eof' "$T/fake/minter.log"
	check "  ... no process is left" no_process "$T/fake/run-$1"
}
fake garbage "broke the request table: no message has type 99"
fake fatal "stopped: a test"

# ^C at the sealed store's passphrase prompt (on a terminal: a pty here)
# kills writd, whose signals are not blocked yet; the minter, asking, has
# them blocked: it must still end, its terminal's echo back on, rather
# than read the next line typed, echo off, holding the lock.
mkdir -m 0700 "$T/tty-state"
with_keyring '{"store":{"backend":"file","key":"passphrase"}}' >"$T/tty.json"
python3 - "$BIN/writd" "$T" >"$T/tty.out" 2>&1 <<'PY'
import os, pty, subprocess, sys, termios, time
writd, t = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(writd, [writd, "--runtime-dir", t + "/tty-run", "--state-dir", t + "/tty-state",
                     "--config", t + "/tty.json", "--enterprise-policy", t + "/enterprise.json",
                     "--policy", t + "/user.json"])
out, until = b"", time.time() + 30
while b"passphrase for the secret store" not in out and time.time() < until:
    out += os.read(fd, 4096)
m = subprocess.run(["pgrep", "-P", str(pid), "-x", "writd-minter"], capture_output=True,
                   text=True).stdout.strip()
print("asked", b"passphrase for the secret store" in out, "minter", m or "none")
os.write(fd, b"\x03")
_, st = os.waitpid(pid, 0)
print("writd signal", os.WTERMSIG(st) if os.WIFSIGNALED(st) else "none")
def gone():
    try:
        return open("/proc/%s/stat" % m).read().rsplit(") ", 1)[1][0] == "Z"
    except OSError:
        return True
until = time.time() + 30      # a hang guard, not a timing
while m and not gone() and time.time() < until:
    time.sleep(0.05)
print("minter gone", bool(m) and gone())
print("echo", "on" if termios.tcgetattr(fd)[3] & termios.ECHO else "off")
if m and not gone():
    os.kill(int(m), 9)
PY
check "^C at the passphrase prompt: writd asked, and its minter ran" grep -q '^asked True minter [0-9]' "$T/tty.out"
check "  ... writd dies of SIGINT" grep -q '^writd signal 2$' "$T/tty.out"
check "  ... its minter exits too" grep -q '^minter gone True$' "$T/tty.out"
check "  ... the terminal's echo is back on" grep -q '^echo on$' "$T/tty.out"
check "  ... no process is left" no_process "$T/tty-run"
true
