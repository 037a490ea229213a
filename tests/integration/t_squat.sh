#!/usr/bin/env bash
# Squatted and swapped sockets: the clients check who serves a socket before
# they send a byte, writctl checks the runtime dir, writd refuses directories
# others could swap.  The attacker is `nobody` (needs root to become it).
. "$(dirname "$0")/lib.sh"

ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
BWRAP=0
command -v bwrap >/dev/null && bwrap --ro-bind / / --unshare-all -- true 2>/dev/null && BWRAP=1
# sbx SOCKET CMD...: CMD in a user namespace that maps only our uid, to 1234.
sbx() {
	local s=$1; shift
	bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /run --bind "$s" /run/writ/agent.sock \
		--unshare-all --uid 1234 --die-with-parent -- "$@"
}
NB=
SAVED0=
squat_cleanup() {
	[ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
	[ -n "$NB" ] && rm -rf "$NB"
	if [ -n "$SAVED0" ]; then
		rm -rf /tmp/writ-0
		[ "$SAVED0" != none ] && mv "$SAVED0" /tmp/writ-0
	fi
	cleanup
}
trap squat_cleanup EXIT

# The secret the victim stores: none of it may reach a fake.
KEY="squat-canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$KEY" >"$T/key.pem"; chmod 600 "$T/key.pem"

if [ $ROOT = 1 ]; then
	NB=$(mktemp -d /tmp/writ-squat.XXXXXX); chmod 0755 "$NB"
	mkdir -m 0755 "$NB/out"; chown nobody "$NB/out"
	# A python nobody can run (not one under /root).
	PY=$(command -v /usr/bin/python3 || command -v python3)
	# The fake: accepts, records every byte it is sent (as it arrives) and
	# every connection, answers 200 with JSON.
	cat >"$NB/fake.py" <<'PY'
import os, socket, sys
sock, rec, conns = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX)
s.bind(sock)
os.chmod(sock, 0o777)	# a squatter wants every victim to reach it
s.listen(16)
open(rec, "ab").close()
while True:
    c, _ = s.accept()
    with open(conns, "a") as f:
        f.write("accept\n")
    c.settimeout(5)
    data = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            with open(rec, "ab") as f:
                f.write(d)
            data += d
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                n = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":")[1])
                if len(body) >= n:
                    break
        out = b'{"status":"ok","session":"fake","token":"fake"}'
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(out) + out)
    except OSError:
        pass
    c.close()
PY
	chmod 0644 "$NB/fake.py"
fi

# fake DIR: nobody serves a fake writd at DIR/SOCKNAME (default admin.sock),
# recording into $NB/out/rec and $NB/out/conns.
fake() {
	local sock=$1/${2:-admin.sock}
	[ -n "${FAKE_PID:-}" ] && { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; }
	rm -f "$NB/out/rec" "$NB/out/conns"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PY" "$NB/fake.py" "$sock" "$NB/out/rec" "$NB/out/conns" &
	FAKE_PID=$!
	wait_for test -S "$sock" -a -e "$NB/out/rec"
}
nconns() { [ -e "$NB/out/conns" ] && wc -l <"$NB/out/conns" || echo 0; }
nrec() { wc -c <"$NB/out/rec"; }

if [ $ROOT = 1 ]; then
	# (0) The fake works: a client that checks nothing (curl) is recorded.
	mkdir -m 0755 "$NB/probe"; chown nobody "$NB/probe"
	fake "$NB/probe" || { fail "the fake did not start"; exit 1; }
	curl -s --unix-socket "$NB/probe/admin.sock" -X PUT --data-binary "@$T/key.pem" \
		http://writ/v1/secrets/probe >/dev/null
	check "the fake records what a client that checks nothing sends (curl)" \
		grep -q "$KEY" "$NB/out/rec"

	# (1) The victim is root without XDG_RUNTIME_DIR: writctl's default is
	# /tmp/writ-0.  nobody made it first and serves a fake admin socket.
	before=$(stat -c '%i %u %a' /tmp/writ-0 2>/dev/null || echo absent)
	if [ -e /tmp/writ-0 ] || [ -L /tmp/writ-0 ]; then
		SAVED0=$(mktemp -u /tmp/writ-0.squat-saved.XXXXXX)
		mv /tmp/writ-0 "$SAVED0"
	else
		SAVED0=none
	fi
	setpriv --reuid=nobody --regid=nogroup --clear-groups mkdir -m 0700 /tmp/writ-0
	fake /tmp/writ-0
	env -u XDG_RUNTIME_DIR -u WRIT_RUNTIME_DIR -u HOME "$BIN/writctl" \
		secret set github-app-key --from-file "$T/key.pem" >"$T/out" 2>"$T/err"
	rc=$?
	check "squatted /tmp/writ-0: writctl secret set fails (rc $rc)" test $rc -ne 0
	check "  ... and does not report success" bash -c "! grep -q stored '$T/out'"
	check "  ... saying it refuses the runtime dir /tmp/writ-0, owner uid 65534" \
		grep -q 'refusing the runtime dir /tmp/writ-0 (owner uid 65534' "$T/err"
	check "  ... and that another user may have made it" grep -q 'another user' "$T/err"
	eq "  ... the fake received nothing (not one byte)" 0 "$(nrec)"
	check "  ... the key is nowhere in what the fake holds" \
		bash -c "! grep -rq '$KEY' '$NB/out'"
	for cmd in "sessions new x" "approve 0123456789abcdef0123456789abcdef" "requests"; do
		env -u XDG_RUNTIME_DIR -u WRIT_RUNTIME_DIR "$BIN/writctl" $cmd >/dev/null 2>&1
		check "  ... writctl $cmd fails too" test $? -ne 0
	done
	eq "  ... still nothing received" 0 "$(nrec)"
	kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=
	rm -rf /tmp/writ-0
	[ "$SAVED0" != none ] && mv "$SAVED0" /tmp/writ-0
	SAVED0=
	eq "  ... /tmp/writ-0 is as it was before the test" "$before" \
		"$(stat -c '%i %u %a' /tmp/writ-0 2>/dev/null || echo absent)"

	# (1b) The runtime dir passes (root's, 0700), but the socket in it is
	# served by nobody (made while the dir was open): the peer check alone.
	mkdir -m 0777 "$NB/run1"
	fake "$NB/run1"
	chmod 0700 "$NB/run1"
	"$BIN/writctl" --runtime-dir "$NB/run1" secret set github-app-key \
		--from-file "$T/key.pem" >"$T/out" 2>"$T/err"
	check "socket served by uid 65534 in our own dir: writctl secret set fails" test $? -ne 0
	check "  ... saying whose socket it is" grep -q 'belongs to uid 65534' "$T/err"
	check "  ... and how to fix it (WRIT_SERVER_UID only if writd runs so)" \
		grep -q 'WRIT_SERVER_UID=65534' "$T/err"
	check "  ... it connected" test "$(nconns)" -ge 1
	eq "  ... but sent nothing" 0 "$(nrec)"
	WRIT_SERVER_UID=65534x "$BIN/writctl" --runtime-dir "$NB/run1" requests >/dev/null 2>"$T/err"
	check "a malformed WRIT_SERVER_UID is an error, not a trust" test $? -ne 0
	check "  ... saying so" grep -q 'WRIT_SERVER_UID is set but is not a uid' "$T/err"
	eq "  ... nothing sent" 0 "$(nrec)"

	# (2) A fake session socket served by nobody.
	mkdir -m 0755 "$NB/sess"; chown nobody "$NB/sess"
	fake "$NB/sess" agent.sock
	FS=$NB/sess/agent.sock
	WRIT_SOCKET=$FS timeout 20 "$BIN/writ" get jwt --scope aud=squat \
		--reason "$KEY" >"$T/out" 2>"$T/err"
	rc=$?
	check "writ get jwt on a socket served by nobody fails (rc $rc)" test $rc -ne 0 -a $rc -ne 124
	check "  ... printing no token" test ! -s "$T/out"
	check "  ... saying whose socket it is and that nothing was sent" \
		grep -q "refusing the socket at $FS: it belongs to uid 65534.*Nothing was sent" "$T/err"
	printf 'protocol=https\nhost=github.com\npath=acme/widgets.git\n\n' |
		WRIT_SOCKET=$FS timeout 20 "$BIN/git-credential-writ" get >"$T/out" 2>"$T/err"
	rc=$?
	check "git-credential-writ get on it fails (rc $rc)" test $rc -ne 0 -a $rc -ne 124
	check "  ... printing no credential" test ! -s "$T/out"
	check "  ... saying whose socket it is" grep -q 'belongs to uid 65534' "$T/err"
	printf 'protocol=https\nhost=github.com\npath=acme/widgets.git\npassword=%s\n\n' "$KEY" |
		WRIT_SOCKET=$FS timeout 20 "$BIN/git-credential-writ" erase >/dev/null 2>"$T/err"
	check "git-credential-writ erase does not hand it the token, and says why" \
		grep -q 'belongs to uid 65534' "$T/err"
	check "  ... all three connected" test "$(nconns)" -ge 3
	eq "  ... and sent nothing at all" 0 "$(nrec)"
	# The documented override: writd really runs as that uid.
	WRIT_SOCKET=$FS WRIT_SERVER_UID=65534 timeout 20 "$BIN/writ" status >/dev/null 2>&1
	check "with WRIT_SERVER_UID=65534 writ trusts that socket (it sends)" \
		grep -q 'GET /v1/health' "$NB/out/rec"
	# In a user namespace that maps only our uid, an unmapped owner shows
	# as the overflow uid: the documented case for WRIT_SERVER_UID=65534.
	if [ $BWRAP = 1 ]; then
		: >"$NB/out/rec"
		sbx "$FS" "$BIN/writ" status >/dev/null 2>"$T/err"
		check "in a bwrap user namespace (uid 1234) nobody's socket is refused" \
			grep -q 'belongs to uid 65534, not to you (uid 1234)' "$T/err"
		eq "  ... nothing sent" 0 "$(nrec)"
		sbx "$FS" env WRIT_SERVER_UID=65534 "$BIN/writ" status >/dev/null 2>&1
		check "  ... WRIT_SERVER_UID=65534 inside the sandbox trusts the overflow uid" \
			grep -q 'GET /v1/health' "$NB/out/rec"
	else
		skip "user-namespace view of the fake: bwrap cannot create namespaces here"
	fi
	kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=
else
	skip "squatted sockets: needs root to act as nobody (the attacker)"
fi

# (3) Parents others could write.
start_at() {	# start_at RUNTIME STATE: writd's exit status, or "running"
	timeout 10 "$BIN/writd" --runtime-dir "$1" --state-dir "$2" \
		--config "$T/ring.json" --enterprise-policy "$T/none" \
		--policy "$T/none" 2>"$T/err" &
	local pid=$!
	# Until it listens or exits, whichever comes first.
	wait_for sh -c "test -S '$1/admin.sock' || ! kill -0 $pid 2>/dev/null"
	if test -S "$1/admin.sock"; then
		kill "$pid"; wait "$pid" 2>/dev/null
		echo running
	else
		wait "$pid"; echo $?
	fi
}
with_keyring '{}' >"$T/ring.json"
mkdir -m 0777 "$T/open"; chmod 0777 "$T/open"
eq "writd refuses a runtime dir under a 0777 non-sticky dir" 1 \
	"$(start_at "$T/open/run" "$T/st3")"
check "  ... naming it and the fix" grep -q "$T/open is writable by everyone.*chmod go-w" "$T/err"
check "  ... before it makes anything there" test ! -e "$T/open/run"
eq "writd refuses a state dir under it" 1 "$(start_at "$T/run3" "$T/open/state")"
check "  ... naming it" grep -q "$T/open is writable by everyone" "$T/err"
mkdir -m 0775 "$T/grp"; chmod 0775 "$T/grp"
eq "writd refuses a runtime dir under a group-writable dir" 1 \
	"$(start_at "$T/grp/run" "$T/st3")"
ln -s "$T/open" "$T/via"
eq "writd refuses a path through a symlink to it" 1 "$(start_at "$T/via/run" "$T/st3")"
if [ $ROOT = 1 ]; then
	mkdir -m 0755 "$T/theirs"; chown nobody "$T/theirs"
	eq "writd refuses a runtime dir under another user's dir" 1 \
		"$(start_at "$T/theirs/run" "$T/st3")"
	check "  ... naming its owner" grep -q "$T/theirs belongs to uid 65534" "$T/err"
	mkdir -m 1777 "$T/stk"; chmod 1777 "$T/stk"; chown nobody "$T/stk"
	eq "  ... also a sticky one (only a root's or our own sticky dir will do)" 1 \
		"$(start_at "$T/stk/run" "$T/st3")"
fi
# The usual shapes still work: sticky root-owned /tmp, a 1777 dir of ours,
# a safe symlink on the way.
mkdir -m 1777 "$T/mysticky"; chmod 1777 "$T/mysticky"
eq "writd starts under a sticky 1777 dir of ours" running \
	"$(start_at "$T/mysticky/run" "$T/st4")"
mkdir -m 0700 "$T/real"; ln -s "$T/real" "$T/safe"
eq "writd starts through a symlink only we control" running \
	"$(start_at "$T/safe/run" "$T/safe/state")"
mkdir -m 0700 "$T/open/run"
"$BIN/writctl" --runtime-dir "$T/open/run" sessions ls >/dev/null 2>"$T/err"
eq "writctl refuses a runtime dir under a 0777 dir (exit 3)" 3 "$?"
check "  ... naming the dir and the fix" \
	grep -q "refusing the runtime dir .*$T/open is writable by everyone (mode 0777).*chmod go-w" "$T/err"
mkdir -m 0700 "$T/loose"; chmod 0755 "$T/loose"
"$BIN/writctl" --runtime-dir "$T/loose" sessions ls >/dev/null 2>"$T/err"
check "writctl refuses a runtime dir open to others (0755)" grep -q 'chmod 700' "$T/err"

# (5) The real thing, same user: everything works through the checks.
start_writd || exit 1
echo ok >"$T/v.pem"; chmod 600 "$T/v.pem"
"$BIN/writctl" secret set squat-test --from-file "$T/v.pem" >"$T/out" 2>"$T/err"
check "writctl secret set against our own writd works" grep -q 'stored squat-test' "$T/out"
SOCK=$(new_session squat)
check "writctl sessions new works" test -S "$SOCK"
WRIT_SOCKET=$SOCK "$BIN/writ" status >"$T/out" 2>"$T/err"
check "writ status on our own session works" grep -q 'session squat' "$T/out"
WRIT_SOCKET=$SOCK WRIT_SERVER_UID=junk "$BIN/writ" status >/dev/null 2>&1
check "  ... a bad WRIT_SERVER_UID does not matter when writd is ours" test $? -eq 0
if [ $BWRAP = 1 ]; then
	# bwrap maps our uid to the sandbox's: writd shows as the caller's own uid.
	sbx "$SOCK" "$BIN/writ" status >"$T/out" 2>"$T/err"
	check "writ status in a bwrap user namespace (uid 1234) reaches our writd" \
		grep -q 'session squat' "$T/out"
else
	skip "writ in a user namespace: bwrap cannot create namespaces here"
fi

# (4) A swapped symlink: the runtime dir replaced by a link to the real one.
ln -s "$T/run" "$T/runlink"
"$BIN/writctl" --runtime-dir "$T/runlink" sessions ls >/dev/null 2>"$T/err"
eq "writctl refuses a runtime dir that is a symlink (exit 3)" 3 "$?"
check "  ... saying so" grep -q "refusing the runtime dir $T/runlink .*is a symlink" "$T/err"
ln -s "$T/open" "$T/via2"
mkdir -m 0700 "$T/open/r2"
"$BIN/writctl" --runtime-dir "$T/via2/r2" sessions ls >/dev/null 2>"$T/err"
check "writctl follows a symlink on the way and refuses the 0777 dir behind it" \
	grep -q "refusing the runtime dir $T/via2/r2: $T/open is writable by everyone" "$T/err"
"$BIN/writctl" --runtime-dir "$T/real/../run" sessions ls >/dev/null 2>&1
check "writctl accepts a path with .. through safe dirs" test $? -eq 0
stop_writd
