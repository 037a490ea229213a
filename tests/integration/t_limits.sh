#!/usr/bin/env bash
# Start-up refusals, limits, and load with the real writd.
. "$(dirname "$0")/lib.sh"

# refuses_config DESC JSON PATTERN: writd must exit non-zero naming PATTERN.
refuses_config() {
	printf '%s\n' "$2" >"$T/bad.json"
	timeout 10 "$BIN/writd" --runtime-dir "$T/r1" --state-dir "$T/s1" --config "$T/bad.json" 2>"$T/err"
	local rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q -- "$3" "$T/err"; then
		pass "config: $1"
	else
		fail "config: $1 (rc $rc: $(cat "$T/err"))"
	fi
}
refuses_config "unknown key" '{"colour":"red"}' colour
refuses_config "unknown nested key" '{"approval":{"timeout":"5s","cache":true}}' cache
refuses_config "wrong type" '{"approval":{"timeout":120}}' approval.timeout
refuses_config "bad duration" '{"approval":{"timeout":"soon"}}' approval.timeout
refuses_config "zero limit" '{"limits":{"max_pending":0}}' limits.max_pending
refuses_config "unknown kind" '{"kinds":{"aws":{}}}' kinds.aws
refuses_config "unknown kind key" '{"kinds":{"jwt":{"secret":"x"}}}' secret
refuses_config "default_ttl above max_ttl" '{"kinds":{"jwt":{"default_ttl":"2h","max_ttl":"1h"}}}' default_ttl
refuses_config "relative runtime_dir" '{"runtime_dir":"run"}' runtime_dir
refuses_config "malformed JSON" '{"approval":' 'bad.json:'
refuses_config "duplicate key" '{"approval":{},"approval":{}}' duplicate
"$BIN/writd" --config "$T/nonexistent.json" --runtime-dir "$T/r1" --state-dir "$T/s1" 2>"$T/err"
check "config: a missing file is an error" test $? -ne 0
"$BIN/writd" --no-such-flag 2>/dev/null
eq "writd: unknown flag exits 2" 2 "$?"
"$BIN/writd" --help | grep -q -- --runtime-dir
check "writd --help documents --runtime-dir" test $? -eq 0

# Directories: made 0700, and a loose or foreign one is refused.
mkdir -m 0755 "$T/loose"
timeout 10 "$BIN/writd" --runtime-dir "$T/loose" --state-dir "$T/s2" 2>"$T/err"
check "runtime dir with mode 0755 is refused" test $? -eq 1
check "  ... naming the mode" grep -q 0755 "$T/err"
mkdir -m 0700 "$T/real"; ln -s "$T/real" "$T/link"
timeout 10 "$BIN/writd" --runtime-dir "$T/link" --state-dir "$T/s2" 2>"$T/err"
check "runtime dir that is a symlink is refused" test $? -eq 1
check "  ... saying symlink" grep -q symlink "$T/err"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 0700 "$T/foreign"; chown nobody "$T/foreign"
	timeout 10 "$BIN/writd" --runtime-dir "$T/foreign" --state-dir "$T/s2" 2>"$T/err"
	check "runtime dir owned by another user is refused" test $? -eq 1
else
	skip "runtime dir owned by another user (needs root to chown)"
fi

# Cores allowed by our own limit, so only writd's setting can turn them off.
CORE_SOFT=$(ulimit -S -c)
ulimit -S -c "$(ulimit -H -c)"
CORE_OURS=$(ulimit -S -c)
start_writd || exit 1
ulimit -S -c "$CORE_SOFT"
eq "runtime dir is 0700" 700 "$(stat -c %a "$T/run")"
eq "state dir is 0700" 700 "$(stat -c %a "$T/state")"
eq "admin socket is 0600" 600 "$(stat -c %a "$ADMIN")"
check "the jwt key is in writd's keyring, not on disk" \
	bash -c "keyctl search '%keyring:$KEYRING' user writ:jwt-signing-key >/dev/null && ! ls '$T/state' | grep -q key"
eq "  ... possessor-only permissions (no user, group or other bits)" 3f000000 \
	"$(keyctl rdescribe "$(keyctl search "%keyring:$KEYRING" user writ:jwt-signing-key)" | cut -d';' -f4)"
SOCK=$(new_session limits)
eq "session dir is 0700" 700 "$(stat -c %a "$(dirname "$SOCK")")"
eq "session socket is 0600" 600 "$(stat -c %a "$SOCK")"
if [ "$CORE_OURS" = 0 ]; then
	skip "core dumps are off: our hard core limit is 0, so writd's own setting cannot be told apart"
else
	eq "core dumps are off (soft and hard limit 0; writd started with $CORE_OURS)" "0 0" \
		"$(awk '/Max core file size/ {print $5, $6}' /proc/$WRITD_PID/limits)"
	# NB. the keys' process: set there too, and inherited from writd anyway.
	eq "  ... in its minter too" "0 0" \
		"$(awk '/Max core file size/ {print $5, $6}' "/proc/$(minter_pid)/limits" 2>/dev/null)"
fi
"$BIN/writd" --runtime-dir "$T/run" --state-dir "$T/state" 2>"$T/err"
check "a second writd on the same runtime dir is refused" test $? -eq 1
check "  ... saying another writd is running" grep -q 'another writd' "$T/err"
check "  ... and leaves the first one's sessions alone" test -S "$SOCK"
check "  ... and the first one still answers" test "$(admin /v1/health | jq -r .status)" = ok

# At most max_pending (3) requests wait per session; the next gets 429.
approver_on
for i in 1 2 3; do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=p$i >/dev/null 2>&1 &
done
wait_for npending_is 3
eq "three requests pending" 3 "$(npending)"
code=$(curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" \
	-X POST --data-binary '{"kind":"jwt","scope":{"aud":"p4"}}' http://writ/v1/writs)
eq "the fourth gets 429 too_many_pending" "429 too_many_pending" "$code $(jq -r .error.code "$T/body")"
check "  ... with Retry-After" grep -qi '^Retry-After: [0-9]' "$T/hdr"
eq "still three pending" 3 "$(npending)"
for id in $(admin /v1/requests | jq -r '.requests[].id'); do "$BIN/writctl" deny "$id" >/dev/null; done
wait_for npending_is 0
eq "denied all; nothing issued" 0 "$(nwrits)"
approver_off
stop_writd

# Per-session connection limit.
start_writd '{"limits":{"max_session_connections":2,"max_pending":8}}' || exit 1
SOCK=$(new_session conns)
approver_on
for i in 1 2; do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=c$i >/dev/null 2>&1 &
done
wait_for npending_is 2
eq "a third connection to the session gets 503" 503 "$(status "$SOCK" GET /v1/health)"
eq "  ... too_many_connections" too_many_connections "$(jq -r .error.code "$T/body")"
eq "the admin socket still answers" ok "$(admin /v1/health | jq -r .status)"
for id in $(admin /v1/requests | jq -r '.requests[].id'); do "$BIN/writctl" deny "$id" >/dev/null; done
wait_for npending_is 0
wait_for status_is 200 "$SOCK" GET /v1/health
eq "after they close, the session answers again" 200 "$(status "$SOCK" GET /v1/health)"
approver_off
stop_writd

# The request deadline: a client that connects and sends nothing, or half
# a request, is cut off after limits.request_timeout.
start_writd '{"limits":{"request_timeout":"1s","max_connections":4}}' || exit 1
python3 - "$ADMIN" >"$T/slow" <<'PY'
import socket, sys, time
idle = socket.socket(socket.AF_UNIX); idle.connect(sys.argv[1])
half = socket.socket(socket.AF_UNIX); half.connect(sys.argv[1])
half.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: writ\r\nContent-Length: 100\r\n\r\n{")
idle.settimeout(10); half.settimeout(10)
t = time.time()
print("idle", idle.recv(100) == b"", "half", half.recv(100) == b"", round(time.time() - t))
PY
check "idle and half-sent requests are closed by the deadline ($(cat "$T/slow"))" \
	grep -q '^idle True half True [0-9]$' "$T/slow"
# At most max_connections (4) at once: hold 4 open, the 5th is refused.
# NB. a deadline of its own: held connections must outlive the few
# seconds holding them takes on a loaded machine (under ASan it passed 1s).
stop_writd
start_writd '{"limits":{"request_timeout":"30s","max_connections":4}}' || exit 1
python3 - "$ADMIN" >"$T/many" <<'PY'
import socket, sys
held = []
for i in range(4):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
    # One answered request each: writd has surely counted this connection.
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: writ\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    held.append(s)
extra = socket.socket(socket.AF_UNIX); extra.connect(sys.argv[1]); extra.settimeout(5)
try:
    extra.sendall(b"GET /v1/health HTTP/1.1\r\nHost: writ\r\nConnection: close\r\n\r\n")
    answer = extra.recv(100)
except OSError:
    answer = b""
print("refused" if answer.startswith(b"HTTP/1.1 503") else "served")
PY
eq "a connection over limits.max_connections is refused" refused "$(cat "$T/many")"
eq "after they close, writd serves again" ok "$(admin /v1/health | jq -r .status)"
stop_writd

# An old jwt key file others could read is refused, not moved into the store.
mkdir -m 0700 "$T/oldstate"
head -c 32 /dev/urandom >"$T/oldstate/jwt-ed25519.key"; chmod 0640 "$T/oldstate/jwt-ed25519.key"
with_keyring '{}' >"$T/ring.json"
keyctl unlink "%keyring:$KEYRING" @u >/dev/null 2>&1
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$T/oldstate" --config "$T/ring.json" \
	--enterprise-policy "$T/none" --policy "$T/none" 2>"$T/err"
check "a group-readable old jwt key file is refused" test $? -eq 1
check "  ... saying mode 0600" grep -q 0600 "$T/err"
# The keyring (and the audit chain key in it) is gone: so must the old log be.
mv "$T/state/audit.jsonl" "$T/audit.old"

# Non-dumpable: run as an unprivileged user, the kernel then gives its
# /proc files to root, so the same uid cannot ptrace it or read its memory.
if [ "$(id -u)" = 0 ]; then
	# A copy nobody can reach, wherever the build directory is.
	NB=$(mktemp -d /tmp/writ-nobody.XXXXXX); chmod 0755 "$NB"
	cp "$BIN/writd" "$BIN/writd-minter" "$NB/"
	mkdir "$NB/home"; chown nobody "$NB/home"
	# Its own keyring (removed by cleanup), never nobody's default one.
	with_keyring '{}' >"$NB/cfg.json"; chmod 0644 "$NB/cfg.json"
	setpriv --reuid=nobody --regid=nogroup --clear-groups env -i \
		"$NB/writd" --runtime-dir "$NB/home/run" --state-dir "$NB/home/state" \
		--config "$NB/cfg.json" --enterprise-policy "$NB/none" --policy "$NB/none" 2>"$T/nb.log" &
	NBPID=$!
	wait_for test -S "$NB/home/run/admin.sock" ||
		fail "writd as nobody did not start: $(cat "$T/nb.log")"
	eq "writd as nobody runs as nobody" nobody "$(stat -c %U /proc/$NBPID)"
	eq "its /proc/PID/mem belongs to root (not dumpable)" root "$(stat -c %U /proc/$NBPID/mem)"
	setpriv --reuid=nobody --regid=nogroup --clear-groups cat /proc/$NBPID/environ >/dev/null 2>&1
	check "nobody cannot read its /proc/PID/environ" test $? -ne 0
	# The minter, which holds the keys, the same.
	NBM=$(minter_pid "$NBPID")
	eq "its minter runs as nobody" nobody "$(stat -c %U "/proc/$NBM" 2>/dev/null)"
	eq "  ... its /proc/PID/mem belongs to root (not dumpable)" root \
		"$(stat -c %U "/proc/$NBM/mem" 2>/dev/null)"
	setpriv --reuid=nobody --regid=nogroup --clear-groups cat "/proc/$NBM/environ" >/dev/null 2>&1
	check "  ... nobody cannot read its /proc/PID/environ" test $? -ne 0 -a -n "$NBM"
	kill $NBPID; wait $NBPID
	rm -rf "$NB"
else
	skip "non-dumpable check needs root (to become nobody)"
fi

# Several hundred concurrent clients on the admin socket (the MHD epoll
# pitfall stalled added connections at 256; writd uses poll).
start_writd || exit 1
seq 1 400 | xargs -P 200 -I{} curl -s -m 20 -o /dev/null -w '%{http_code}\n' \
	--unix-socket "$ADMIN" http://writ/v1/health >"$T/codes"
eq "400 requests from 200 concurrent clients all answered 200" "400" "$(grep -c '^200$' "$T/codes")"
# Keep-alive: many requests on one connection.
urls=$(for i in $(seq 1 50); do printf 'http://writ/v1/health '; done)
eq "50 keep-alive requests on one connection" 50 \
	"$(curl -s --unix-socket "$ADMIN" $urls | jq -s length)"
stop_writd
