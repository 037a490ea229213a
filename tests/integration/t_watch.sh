#!/usr/bin/env bash
# writctl watch does not give up: a writd that dies, restarts or answers
# 503 is retried with back-off, said on the terminal, and a decision that
# could not be delivered is retried or reported as not applied, never lost.
. "$(dirname "$0")/lib.sh"

CFG='{"approval":{"timeout":"30s"},"limits":{"max_connections":8}}'
start_writd "$CFG" || exit 1
SOCK=$(new_session watch)
mkfifo "$T/in"
"$BIN/writctl" watch <"$T/in" >"$T/watch" 2>&1 &
W=$!
exec 7>"$T/in"
prompts() { grep -c '^Approve request [0-9a-f]\{8\}?' "$T/watch"; }
approvers() { curl -s --unix-socket "$ADMIN" http://writ/v1/health | jq -e '.approvers > 0' >/dev/null; }
# wait_long CMD...: wait_for, for up to 20 s (watch backs off up to 5 s between tries).
wait_long() { WAIT_SECS=20 wait_for "$@"; }
wait_long approvers

WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=w1 >/dev/null 2>&1 &
G=$!
wait_for sh -c "test \$(grep -c '^Approve request' '$T/watch') = 1"
echo y >&7
wait $G
eq "watch approves a request (the first of this writd: seq 1)" 0 "$?"

# writd dies under watch, and a new one starts on the same runtime dir.
crash_writd
wait_for grep -q 'cannot reach writd' "$T/watch"
check "watch says it cannot reach writd, and goes on trying" grep -q 'cannot reach writd (.*); trying again in [0-9]*s' "$T/watch"
check "  ... and is still running" kill -0 "$W"
start_writd "$CFG" || exit 1
SOCK=$(new_session watch2)
wait_long grep -q 'writd answers again' "$T/watch"
check "watch says when writd answers again" grep -q "writd answers again" "$T/watch"
wait_long approvers
# The new writd numbers from 1 again: its first request must not be taken
# for one already seen.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=w2 >/dev/null 2>&1 &
G=$!
wait_long sh -c "test \$(grep -c '^Approve request' '$T/watch') = 2"
eq "  ... and shows the restarted writd's first request" 2 "$(prompts)"
echo y >&7
wait $G
eq "  ... which its answer approves" 0 "$?"

# A decision that cannot be delivered: the request dies with its writd
# while the person reads it.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=w3 >/dev/null 2>&1 &
G=$!
wait_for sh -c "test \$(grep -c '^Approve request' '$T/watch') = 3"
RID=$(admin /v1/requests | jq -r '.requests[0].id')
crash_writd
wait $G
check "a request whose writd died fails its caller" test $? -ne 0
start_writd "$CFG" || exit 1
wait_long approvers
echo y >&7
wait_long grep -q "request ${RID:0:8} was NOT approved" "$T/watch"
check "the answer to it is reported as NOT approved, saying why" \
	grep -q "request ${RID:0:8} was NOT approved: no pending request with that id" "$T/watch"
naud() { admin /v1/writs | jq --arg a "$1" '[.writs[] | select(.scope.aud == $a)] | length'; }
eq "  ... and nothing is issued for it (writs of the crashed runs come back, not this one)" 0 "$(naud w3)"
check "  ... and watch goes on" kill -0 "$W"

# writd answers 503 (every admin connection taken) when the decision is
# posted: watch says so, tries again, and delivers it once there is room.
SOCK=$(new_session watch3)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=w4 >"$T/w4.tok" 2>&1 &
G=$!
wait_for sh -c "test \$(grep -c '^Approve request' '$T/watch') = 4"
eq "the first request of a writd restarted while a prompt was open is shown" 4 "$(prompts)"
python3 - "$ADMIN" "$T" <<'PY' &
import os, socket, sys, time
admin, t = sys.argv[1], sys.argv[2]
held = []
def probe():
    s = socket.socket(socket.AF_UNIX); s.connect(admin)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: writ\r\nConnection: close\r\n\r\n")
    s.settimeout(5)
    try:
        return s.recv(100).split(b" ")[1]
    finally:
        s.close()
for _ in range(20):
    if probe() == b"503":
        open(t + "/full", "w").write(str(len(held)))
        break
    s = socket.socket(socket.AF_UNIX); s.connect(admin); held.append(s)
    time.sleep(0.05)
deadline = time.time() + 25
while not os.path.exists(t + "/release") and time.time() < deadline:
    time.sleep(0.05)
PY
HOLD=$!
wait_for test -e "$T/full"
eq "every admin connection is taken: writd answers 503" 503 "$(status "$ADMIN" GET /v1/health)"
echo y >&7
wait_for grep -q 'decision on request [0-9a-f]\{8\} is not delivered yet' "$T/watch"
check "watch says the decision is not delivered yet and tries again" \
	grep -q 'decision on request [0-9a-f]\{8\} is not delivered yet (.*503.*); trying again in [0-9]*s' "$T/watch"
touch "$T/release"
wait $HOLD
wait $G
eq "  ... and delivers it once writd has room: issued" 0 "$?"
eq "  ... exactly one writ for it" 1 "$(naud w4)"

exec 7>&-
kill "$W"; wait "$W" 2>/dev/null

# Anything but a transient failure stops watch with its message: here a
# runtime dir writctl must refuse (a symlink).
ln -s "$T/run" "$T/link"
WRIT_RUNTIME_DIR=$T/link timeout 10 "$BIN/writctl" watch </dev/null >"$T/refused" 2>&1
check "watch stops at once on a refusal, saying why" test $? -ne 0 -a $? -ne 124
stop_writd
