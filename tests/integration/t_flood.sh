#!/usr/bin/env bash
# Connection floods (issue 10): thousands of idle connections, clients that
# never read or send a byte at a time.  No one is locked out, writd keeps
# serving and stops promptly.  Local Unix sockets only.
. "$(dirname "$0")/lib.sh"

# flood.py SOCKET N RESULT: hold N idle connections to SOCKET.  Then
# one more asks for /v1/health: its answer (a 503, or EOF once writd's pool
# of 503s is full) comes after writd has accepted (admitted or refused) all
# N, so the sockets with nothing to read then are exactly the admitted ones.
# Writes "admitted=K probe=refused" (or the probe's status) to RESULT and
# holds them until killed.
cat >"$T/flood.py" <<'PY'
import os, resource, select, signal, socket, sys, time
path, n, result = sys.argv[1], int(sys.argv[2]), sys.argv[3]
signal.alarm(60)	# a hang guard, never a timing check
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n + 256
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)		# blocking: waits while the backlog is full
    socks.append(s)
p = socket.socket(socket.AF_UNIX)
p.connect(path)
p.settimeout(20)
answer = b""
try:
    p.sendall(b"GET /v1/health HTTP/1.1\r\nHost: writ\r\nConnection: close\r\n\r\n")
    while True:
        b = p.recv(4096)
        if not b:
            break
        answer += b
except (BrokenPipeError, ConnectionResetError):
    pass	# closed unanswered: refused once the 503 pool is full
# A 503, or closed with no answer: refused.
status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/1.1 ") else "refused"
status = "refused" if status == "503" else status
po = select.poll()
for s in socks:
    po.register(s, select.POLLIN | select.POLLRDHUP)
answered = len(po.poll(0))
with open(result + ".tmp", "w") as f:
    f.write("admitted=%d probe=%s\n" % (n - answered, status))
os.rename(result + ".tmp", result)
while True:
    time.sleep(1)
PY

# flood SOCKET N: start holding N connections in the background; waits
# for its result in $T/flood.out.
flood() {
	rm -f "$T/flood.out"
	python3 "$T/flood.py" "$1" "$2" "$T/flood.out" 2>>"$T/flood.err" &
	FLOOD_PID=$!
	local i
	for i in $(seq 1 400); do
		[ -s "$T/flood.out" ] && return 0
		kill -0 "$FLOOD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "flood.py gave no result:"; cat "$T/flood.err"
	return 1
}

# unflood: close the flood's connections (its process may be stuck in
# connect when writd is wedged: kill it).
unflood() {
	[ -n "$FLOOD_PID" ] && kill "$FLOOD_PID" 2>/dev/null
	wait "$FLOOD_PID" 2>/dev/null
	FLOOD_PID=
}

# admits SOCKET N K: a fresh flood of N is admitted exactly K connections,
# trying again for up to 20 s (the previous flood's connections close
# asynchronously).
admits() {
	local got end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		flood "$1" "$2" >/dev/null || return 1
		got=$(cat "$T/flood.out")
		unflood
		[ "$got" = "admitted=$3 probe=refused" ] && return 0
		sleep 0.1
	done
	echo "    last flood: $got"
	return 1
}

# term_in_flood DESC: SIGTERM writd (during a flood): it must exit within
# 10 s with status 0.
term_in_flood() {
	kill -TERM "$WRITD_PID"
	for _ in $(seq 1 200); do
		kill -0 "$WRITD_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$WRITD_PID" 2>/dev/null; then
		fail "$1: writd exits within 10 s"
		kill -KILL "$WRITD_PID"
	else
		pass "$1: writd exits within 10 s"
	fi
	wait "$WRITD_PID"
	eq "  ... with status 0" 0 "$?"
	WRITD_PID=
	unflood
}

FLOOD_PID=
trap 'unflood; cleanup' EXIT

# --- One session floods with 3000 idle connections (default limits:
# max_session_connections 64, max_connections 1024).
start_writd || exit 1
A=$(new_session flooder)
B=$(new_session bystander)
flood "$A" 3000 || fail "flood.py gave no result"
eq "3000 idle connections: exactly max_session_connections (64) admitted, the rest refused at once" \
	"admitted=64 probe=refused" "$(cat "$T/flood.out")"
eq "  ... the admin socket answers meanwhile" ok "$(admin /v1/health | jq -r .status)"
eq "  ... another session answers meanwhile" ok "$(sess "$B" /v1/health | jq -r .status)"
# An approver's long-poll on the admin socket, woken by the request of the
# other session, which gets its writ once approved.
SEQ=$(admin /v1/requests | jq -r .seq)
curl -s -m 30 --unix-socket "$ADMIN" "http://writ/v1/requests?wait=25&after=$SEQ" >"$T/poll" &
POLL=$!
wait_for sh -c "curl -s --unix-socket '$ADMIN' http://writ/v1/health | jq -e '.approvers > 0' >/dev/null"
WRIT_SOCKET=$B "$BIN/writ" get jwt --scope aud=flood --ttl 10m >"$T/tok" 2>"$T/err" &
GET=$!
wait "$POLL"
ID=$(jq -r '.requests[0].id // empty' "$T/poll")
check "  ... a long-poll on the admin socket is woken by the other session's request" test -n "$ID"
"$BIN/writctl" approve "$ID" >/dev/null 2>&1
wait "$GET"
eq "  ... and that session gets its writ once approved" "0 yes" \
	"$? $([ -s "$T/tok" ] && echo yes || echo no)"
WID=$(admin /v1/writs | jq -r '.writs[0].id // empty')
unflood
wait_for status_is 200 "$A" GET /v1/health
eq "after the flood the flooding session answers again" 200 "$(status "$A" GET /v1/health)"
check "  ... and admits exactly 64 again (no count leaked)" admits "$A" 100 64

# SIGTERM during a flood: writd exits promptly and revokes live writs.
flood "$A" 3000 || fail "flood.py gave no result"
term_in_flood "SIGTERM during a flood"
eq "  ... and the writ issued before the flood is revoked (audit)" "writd shut down" \
	"$(jq -r --arg w "$WID" 'select(.event == "revoked" and .writ == $w) | .why' "$T/state/audit.jsonl")"

# --- Sessions cannot take the admin reserve, and closing a session with
# connections leaks none of its counts.  max_connections 40: sessions
# together get 40 - 16 (WRIT_ADMIN_RESERVE).
start_writd '{"limits":{"max_connections":40,"max_session_connections":40}}' || exit 1
A=$(new_session flooder)
AID=$(sess "$A" /v1/health | jq -r .session.id)
flood "$A" 3000 || fail "flood.py gave no result"
eq "a session may take 40 but sessions together get 24 (the admin reserve)" \
	"admitted=24 probe=refused" "$(cat "$T/flood.out")"
eq "  ... the admin socket answers meanwhile" ok "$(admin /v1/health | jq -r .status)"
eq "  ... and can close the flooding session" true \
	"$(admin "/v1/sessions/$AID" -X DELETE | jq -r '.closed')"
unflood
C=$(new_session next)
check "a session closed with 24 open connections gives all of them back" \
	admits "$C" 100 24
flood "$C" 3000 || fail "flood.py gave no result"
term_in_flood "SIGTERM during a flood with max_connections 40"

# --- Clients that never read their answers, or send a byte at a time:
# cut off, and counting only against their own session (limit 4).
start_writd '{"limits":{"request_timeout":"3s","max_session_connections":4}}' || exit 1
A=$(new_session slow)
B=$(new_session bystander)
python3 - "$A" "$T/slow.out" "$T/slow.ready" >"$T/slow.log" 2>&1 <<'PY' &
import os, select, signal, socket, sys, time
path, out, ready = sys.argv[1], sys.argv[2], sys.argv[3]
def report(*_):
    open(out, "w").write("readers %d loris %d\n" % (len(cut_readers), len(cut_loris)))
    sys.exit(0)
cut_readers, cut_loris = set(), set()
signal.signal(signal.SIGALRM, report)
signal.alarm(30)	# hang guard: then report those cut so far
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.setblocking(False); return s
# Never read: pipeline requests until both socket buffers are full.
readers = [conn(), conn()]
for s in readers:
    req = b"GET /v1/health HTTP/1.1\r\nHost: writ\r\n\r\n" * 64
    try:
        for _ in range(100000):
            s.send(req)
    except BlockingIOError:
        pass
# A byte at a time: a header that never ends.
loris = [conn(), conn()]
for s in loris:
    s.send(b"G")
# The session's cap is now used: a fifth connection is refused.
p = socket.socket(socket.AF_UNIX); p.connect(path); p.settimeout(10)
p.sendall(b"GET /v1/health HTTP/1.1\r\nHost: writ\r\nConnection: close\r\n\r\n")
probe = p.recv(100).split(b" ")[1].decode()
open(ready, "w").write(probe + "\n")
po = select.poll()
for s in readers:
    po.register(s, select.POLLRDHUP)
byte = b"ET /v1/health HTTP/1.1\r\nX-Slow: " + b"a" * 100000
i = 1
# Until the guard: a byte every 0.3 s on each loris, watching for cuts.
while len(cut_readers) < 2 or len(cut_loris) < 2:
    time.sleep(0.3)
    for fd, ev in po.poll(0):
        cut_readers.add(fd)
        po.unregister(fd)
    for s in loris:
        if s.fileno() in cut_loris:
            continue
        try:
            s.send(byte[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            cut_loris.add(s.fileno())
    i += 1
report()
PY
SLOW=$!
wait_for test -s "$T/slow.ready"
eq "two never-reading and two byte-at-a-time clients fill their session: a fifth gets 503" \
	503 "$(cat "$T/slow.ready")"
eq "  ... another session answers meanwhile" ok "$(sess "$B" /v1/health | jq -r .status)"
eq "  ... the admin socket answers meanwhile" ok "$(admin /v1/health | jq -r .status)"
wait "$SLOW" || cat "$T/slow.log"
eq "  ... all four are cut off (by the idle timeout or the request deadline)" \
	"readers 2 loris 2" "$(cat "$T/slow.out" 2>/dev/null)"
wait_for status_is 200 "$A" GET /v1/health
eq "  ... then their session answers again" 200 "$(status "$A" GET /v1/health)"
term_in_flood "SIGTERM after the slow clients"

# writd needs two fds per connection and per session: under a hard limit
# too low for its limits it says so at start, naming the fix.
prlimit --nofile=200:200 "$BIN/writd" --runtime-dir "$T/fdrun" --state-dir "$T/fdstate" \
	--config "$T/config.json" --enterprise-policy "$T/enterprise.json" \
	--policy "$T/user.json" 2>"$T/fd.log" &
FDW=$!
wait_for grep -q 'ready' "$T/fd.log"
check "under a low open-file limit writd warns at start, naming the fix" \
	grep -q 'warning: 200 open files allowed, [0-9]* needed.*ulimit -Hn' "$T/fd.log"
kill -TERM "$FDW"; wait "$FDW" 2>/dev/null
