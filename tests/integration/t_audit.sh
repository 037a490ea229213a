#!/usr/bin/env bash
# The audit log: a verifiable chain, records before tokens, tamper and torn
# tails detected, fail closed on a full disk, and no secret in it.
. "$(dirname "$0")/lib.sh"

printf '{"allow":[{"kind":"jwt","scope":{"aud":"*"}}]}\n' >"$T/user.json"; chmod 0644 "$T/user.json"
start_writd || exit 1
SOCK=$(new_session audited)
SID=$(sess "$SOCK" /v1/health | jq -r .session.id)
for i in 1 2 3 4 5; do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=a$i" >>"$T/tokens"
done
LOG=$T/state/audit.jsonl
eq "the log is 0600" 600 "$(stat -c %a "$LOG")"
"$BIN/writctl" audit verify >"$T/v"
eq "audit verify on a good log" 0 "$?"
check "  ... counts its records" grep -q 'records in 1 file, chain intact' "$T/v"
# Every token a client holds has its issued record (by fingerprint, not value).
eq "five issued records, one per token" 5 "$(grep -c '"event":"issued"' "$LOG")"
check "no token value is in the log" bash -c "! grep -qFf '$T/tokens' '$LOG'"
check "issued records carry fingerprints" bash -c "grep '\"event\":\"issued\"' '$LOG' | jq -e '.fingerprint | test(\"^[0-9a-f]{32}$\")' >/dev/null"
eq "requests are recorded with their decision" 5 "$(grep '"event":"request"' "$LOG" | jq -r .decision | grep -c allow)"
"$BIN/writctl" audit tail -n 3 --session "$SID" >"$T/tail"
eq "audit tail --session: the last records of that session" 3 "$(wc -l <"$T/tail")"
"$BIN/writctl" audit tail -f -n 1 >"$T/follow" 2>&1 &
F=$!
# It has read the log once (the last record is printed): what comes next is new.
wait_for test -s "$T/follow"
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=followed >/dev/null
wait_for grep -q followed "$T/follow"
check "audit tail -f shows new records as they come" grep -q 'aud.:.followed' "$T/follow"
kill $F; wait $F 2>/dev/null
stop_writd

# Tampering: a flipped byte, a removed line, a swapped pair.  Without
# audit.state (lost, or moved aside) writd checks the current file whole
# at start; with it, only from there on (t_rotate.sh).
cp "$LOG" "$T/good.log"
cp "$T/state/audit.state" "$T/good.state"
verify_broken() {	# DESC FILE-MUTATION
	cp "$T/good.log" "$LOG"
	rm -f "$T/state/audit.state"
	eval "$2"
	timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$T/state" --config "$T/config.json" \
		--enterprise-policy "$T/none" --policy "$T/none" 2>"$T/err"
	local rc=$?
	if [ $rc -eq 1 ] && grep -q 'is broken at record' "$T/err"; then pass "$1: writd refuses to start"
	else fail "$1 (rc $rc: $(tail -1 "$T/err"))"; fi
}
verify_broken "a flipped byte" "sed -i '3s/\"event\"/\"evEnt\"/' '$LOG'"
verify_broken "a removed record" "sed -i '4d' '$LOG'"
verify_broken "a swapped pair" "awk 'NR==2{l=\$0;next} NR==3{print;print l;next} {print}' '$T/good.log' >'$LOG'"
check "  ... and it names the record" grep -q 'broken at record 2' "$T/err"

# A torn last record (a crash mid-write) is cut, recorded, and the chain goes on.
cp "$T/good.log" "$LOG"
cp "$T/good.state" "$T/state/audit.state"
printf '{"event":"issued","seq":99,"ti' >>"$LOG"
start_writd || exit 1
check "a torn tail is cut at start" bash -c "! grep -q '\"seq\":99' '$LOG'"
eq "  ... and recorded" recovered "$(grep -o '"event":"recovered"' "$LOG" | cut -d'"' -f4)"
"$BIN/writctl" audit verify >/dev/null
eq "  ... the chain verifies after recovery" 0 "$?"
# audit verify FILE: a log moved aside, checked by the running writd's key.
(cd "$T" && "$BIN/writctl" audit verify good.log >"$T/v")
eq "audit verify FILE (relative) on a good copy" 0 "$?"
sed '3s/"event"/"evEnt"/' "$T/good.log" >"$T/bad.log"
"$BIN/writctl" audit verify "$T/bad.log" >"$T/v"
eq "audit verify FILE on a tampered copy fails" 1 "$?"
check "  ... naming the record" grep -q 'BROKEN at record 3' "$T/v"
"$BIN/writctl" audit verify "$T/no-such.log" >/dev/null 2>"$T/e"
check "audit verify on a missing file: an error" test $? -ne 0 -a -s "$T/e"
# A FIFO named for verify is not opened for reading until a writer comes:
# the minter would wait for ever (break: O_NONBLOCK in read_all).
mkfifo "$T/fifo.log"
timeout 20 "$BIN/writctl" audit verify "$T/fifo.log" >"$T/v" 2>"$T/e"
rc=$?
check "audit verify on a FIFO: refused at once, not a hang (exit $rc)" test $rc -ne 0 -a $rc -ne 124
check "  ... a regular file is asked for" grep -q "must be a regular file" "$T/v" "$T/e"
"$BIN/writctl" audit verify "$T" >/dev/null 2>"$T/e"
check "audit verify on a directory: an error" test $? -ne 0 -a -s "$T/e"
eq "POST /v1/audit/verify with a relative path: 400" 400 \
	"$(status "$ADMIN" POST /v1/audit/verify '{"file":"good.log"}')"
eq "  ... with a wrong type: 400" 400 "$(status "$ADMIN" POST /v1/audit/verify '{"file":1}')"
eq "  ... with an unknown field: 400" 400 \
	"$(status "$ADMIN" POST /v1/audit/verify '{"file":"/x","x":1}')"
stop_writd

# kill -9 in the middle of a burst: every token a client got has its issued
# record written, and the chain verifies after recovery.  NB. kill -9 keeps
# the page cache, so this cannot tell a synced record from a written one:
# that the token waits for the sync is shown with a held sync below.
# Once writd is killed the clients stop: no writd is left to answer them
# until the next start, which waits for them (NB. `| jq` succeeds on a
# failed writ's empty output, so `|| break` alone never stopped them: their
# failing tries took ~15 s).
start_writd || exit 1
SOCK=$(new_session burst)
for c in 1 2 3 4; do
	( for i in $(seq 1 200); do
		[ -e "$T/burst.killed" ] && break
		WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=b$c" --json 2>/dev/null | jq -r .id || break
	done ) >"$T/ids.$c" &
done
got_ids() { [ "$(cat "$T"/ids.* 2>/dev/null | grep -c .)" -ge "$1" ]; }
wait_for got_ids 20 || fail "the burst got no 20 tokens: $(tail -3 "$T/writd.log")"
crash_writd; touch "$T/burst.killed"
wait
cat "$T"/ids.* | grep -E '^[0-9a-f]{32}$' >"$T/ids"
check "the burst got some tokens before the kill ($(wc -l <"$T/ids"))" test -s "$T/ids"
start_writd || exit 1
missing=0
while read -r id; do
	grep -q "\"event\":\"issued\".*\"writ\":\"$id\"\|\"writ\":\"$id\".*\"event\":\"issued\"" "$LOG" || missing=$((missing + 1))
done <"$T/ids"
eq "every token received has its issued record (written before the answer)" 0 "$missing"
"$BIN/writctl" audit verify >/dev/null
eq "the chain verifies after the crash" 0 "$?"
stop_writd

# A full disk: issuance fails closed with 503, nothing issued; revocation goes on.
if [ "$(id -u)" = 0 ] && mkdir "$T/small" && mount -t tmpfs -o size=256k tmpfs "$T/small" 2>/dev/null; then
	mkdir -m 0700 "$T/small/state"
	STATE=$T/small/state start_writd || exit 1
	SOCK=$(new_session full)
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=before >/dev/null
	eq "before the disk fills: issued" 0 "$?"
	WID=$(admin /v1/writs | jq -r '.writs[0].id')
	head -c 10M /dev/zero >"$T/small/filler" 2>/dev/null
	for i in $(seq 1 40); do
		code=$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"full"}}')
		[ "$code" = 201 ] || break
	done
	eq "a full disk: 503 audit_unavailable" "503 audit_unavailable" "$code $(jq -r .error.code "$T/body")"
	check "  ... and no token in the answer" bash -c "! jq -e .token '$T/body' >/dev/null 2>&1"
	eq "  ... issuing stays off" 503 "$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"x"}}')"
	eq "  ... revocation still works" 200 "$(status "$SOCK" DELETE "/v1/writs/$WID")"
	check "writd says why in its log" grep -q 'audit log failed\|writing the audit log failed' "$T/writd.log"
	stop_writd
	umount "$T/small"
else
	skip "full-disk test needs root and a tmpfs mount"
fi

# A stuck disk, and one that fails fsync: faults made by a test shim
# (LD_PRELOAD) around fdatasync, since the machine cannot make them.
mkdir -m 0700 "$T/hang-state" "$T/eio-state"

# Write-ahead, shown directly: while the sync is held, no answer with a
# token leaves writd; once the sync returns, the answer does.
mkdir -m 0700 "$T/hold-state"
STATE=$T/hold-state LD_PRELOAD=$SHIM WRIT_TEST_SYNC_HANG=$T/hold WRIT_TEST_SYNC_LOG=$T/hold.log \
	ASAN_OPTIONS=$ASAN_SHIM start_writd || exit 1
SOCK=$(new_session held)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=warm >/dev/null
eq "before the sync is held: issued" 0 "$?"
touch "$T/hold"
curl -s -o "$T/held.body" -w '%{http_code}' --max-time 60 --unix-socket "$SOCK" -X POST \
	--data-binary '{"kind":"jwt","scope":{"aud":"held"}}' http://writ/v1/writs >"$T/held.code" &
HELD=$!
# NB. written, not synced: writd's table of live writs holds a writ only
# once its record is durable (minter.h), so the files are where to look:
# its "issued" record in the log, or (while a rotation's sync holds the
# log's next batch back) its entry in the ledger, written within
# audit.ledger_lag (1 s).
minted() {
	grep '"event":"issued"' "$T/hold-state/audit.jsonl" | grep -q "\"aud\":\"$1\"" ||
		grep '"op":"add"' "$T/hold-state/ledger.jsonl" | grep -q "\"aud\":\"$1\""
}
# Both events: the writ is minted (a record of it written) and a sync is held.
if wait_for grep -qs '^held' "$T/hold.log" && wait_for minted held; then
	# A writd that answered before its record was synced answers now.  Wait
	# for that answer, which must not come: 1 s, well inside the 5 s bound
	# after which the watchdog answers 503.  (A slow machine can only let a
	# broken writd slip by here, never fail a sound one.)
	if wait_until $(( $(date +%s) + 1 )) test -s "$T/held.body"; then
		fail "a token left writd while the sync of its record was held ($(cat "$T/held.body" | head -c 80))"
	else
		pass "while the sync is held, no answer leaves writd (the writ is minted, the client waits)"
	fi
else
	fail "the held sync or the minted writ was never seen: $(cat "$T/hold.log" 2>/dev/null; tail -3 "$T/writd.log")"
fi
rm -f "$T/hold"
wait_for grep -qs '^released' "$T/hold.log"
wait "$HELD"
eq "  ... once the sync returns: 201 with a token" "201 true" \
	"$(cat "$T/held.code") $(jq -e '.token | length > 0' "$T/held.body" 2>/dev/null)"
HID=$(jq -r .id "$T/held.body" 2>/dev/null)
check "  ... and its issued record is in the log" bash -c \
	"grep '\"event\":\"issued\"' '$T/hold-state/audit.jsonl' | grep -q '\"writ\":\"$HID\"'"
# The same across a rotation: the record goes to the new file, and the
# token waits for that file's sync (and the directory's).
: >"$T/hold.log"
rm -f "$T/held.body" "$T/held.code"
touch "$T/hold"
"$BIN/writctl" audit rotate >/dev/null
eq "writctl audit rotate answers while a sync is held" 0 "$?"
curl -s -o "$T/held.body" -w '%{http_code}' --max-time 60 --unix-socket "$SOCK" -X POST \
	--data-binary '{"kind":"jwt","scope":{"aud":"rotheld"}}' http://writ/v1/writs >"$T/held.code" &
HELD=$!
if wait_for grep -qs '^held' "$T/hold.log" && wait_for minted rotheld; then
	if wait_until $(( $(date +%s) + 1 )) test -s "$T/held.body"; then
		fail "a token left writd while the sync of a rotation was held ($(head -c 80 "$T/held.body"))"
	else
		pass "  ... while a rotation's sync is held, no answer leaves writd"
	fi
else
	fail "the held sync or the minted writ was never seen (rotation)"
fi
rm -f "$T/hold"
wait "$HELD"
eq "  ... then 201" 201 "$(cat "$T/held.code")"
HID=$(jq -r .id "$T/held.body" 2>/dev/null)
check "  ... its issued record is in the new file, after the rotated record" bash -c \
	"head -1 '$T/hold-state/audit.jsonl' | grep -q '\"event\":\"rotated\"' &&
	 grep '\"event\":\"issued\"' '$T/hold-state/audit.jsonl' | grep -q '\"writ\":\"$HID\"'"
check "  ... and the old file is rotated" test -s "$T/hold-state/audit-00000000000000000001.jsonl"
stop_writd

STATE=$T/hang-state LD_PRELOAD=$SHIM WRIT_TEST_SYNC_HANG=$T/hang WRIT_TEST_SYNC_LOG=$T/hang.log \
	ASAN_OPTIONS=$ASAN_SHIM start_writd || exit 1
SOCK=$(new_session stuck)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=before >/dev/null
eq "before the disk sticks: issued" 0 "$?"
WID=$(admin /v1/writs | jq -r '.writs[0].id')
touch "$T/hang"
t0=$(date +%s)
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 60 --unix-socket "$SOCK" -X POST \
	--data-binary '{"kind":"jwt","scope":{"aud":"stuck"}}' http://writ/v1/writs)
t1=$(date +%s)
eq "a sync stuck past its bound: 503 audit_unavailable, not a hang" "503 audit_unavailable" \
	"$code $(jq -r .error.code "$T/body" 2>/dev/null)"
check "  ... answered by the watchdog, after its 5s bound or more ($((t1 - t0))s)" test $((t1 - t0)) -ge 5
check "  ... no token in the answer" bash -c "! jq -e .token '$T/body' >/dev/null 2>&1"
eq "  ... revocation works while the disk is stuck" 200 "$(status "$SOCK" DELETE "/v1/writs/$WID")"
check "  ... writd says why in its log" grep -q 'audit sync has taken over' "$T/writd.log"
rm -f "$T/hang"
wait_for grep -qs '^released' "$T/hang.log"
eq "  ... once the sync returns, issuing stays off until a restart" 503 \
	"$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"after"}}')"
stop_writd
STATE=$T/hang-state start_writd || exit 1
SOCK=$(new_session unstuck)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=again >/dev/null
eq "after a restart on a working disk: issued again" 0 "$?"
"$BIN/writctl" audit verify >/dev/null
eq "  ... and the chain verifies" 0 "$?"
stop_writd

STATE=$T/eio-state LD_PRELOAD=$SHIM WRIT_TEST_SYNC_FAIL=$T/eio ASAN_OPTIONS=$ASAN_SHIM \
	start_writd || exit 1
SOCK=$(new_session eio)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=before >/dev/null
eq "before fsync fails: issued" 0 "$?"
WID=$(admin /v1/writs | jq -r '.writs[0].id')
touch "$T/eio"
eq "fsync fails (EIO): 503 audit_unavailable" "503 audit_unavailable" \
	"$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"eio"}}') $(jq -r .error.code "$T/body")"
check "  ... no token in the answer" bash -c "! jq -e .token '$T/body' >/dev/null 2>&1"
rm -f "$T/eio"
eq "  ... a later fsync that works is not trusted: still 503" 503 \
	"$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"after"}}')"
eq "  ... revocation still works" 200 "$(status "$SOCK" DELETE "/v1/writs/$WID")"
# A new file does not mend a broken log.
eq "  ... writctl audit rotate: 503 audit_unavailable" "503 audit_unavailable" \
	"$(status "$ADMIN" POST /v1/audit/rotate) $(jq -r .error.code "$T/body")"
kill -HUP "$WRITD_PID"
wait_for grep -q 'the audit log is broken: not rotated' "$T/writd.log"
check "  ... SIGHUP: not rotated, saying why" grep -q 'the audit log is broken: not rotated' "$T/writd.log"
eq "  ... issuing stays off after both" 503 \
	"$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"after2"}}')"
check "  ... and no file was rotated" bash -c "! ls '$T/eio-state' | grep -q '^audit-'"
# A broken log leaves the sync thread waiting, not spinning on records it
# will never write: the minter (whose thread it is), idle for 3 s, uses
# well under half a second of CPU (a spinning thread takes most of a core,
# even on a busy machine); and so does the front end, told the log is
# broken.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
M=$(minter_pid)
C0=$(cpu "$M"); F0=$(cpu "$WRITD_PID"); sleep 3; C1=$(cpu "$M"); F1=$(cpu "$WRITD_PID")
check "  ... and the minter idles: $((C1 - C0)) ticks of CPU in 3 s" \
	test -n "$M" -a $((C1 - C0)) -lt $(($(getconf CLK_TCK) / 2))
check "  ... the front end too: $((F1 - F0)) ticks" test $((F1 - F0)) -lt $(($(getconf CLK_TCK) / 2))
stop_writd

# A new audit.jsonl is durable by name too (its directory synced) before
# writd takes requests: with syncs failing, writd does not start.
mkdir -m 0700 "$T/dir-state"
STATE=$T/dir-state start_writd || exit 1
stop_writd
rm "$T/dir-state/audit.jsonl" "$T/dir-state/audit.state"
touch "$T/dirfail"
STATE=$T/dir-state LD_PRELOAD=$SHIM WRIT_TEST_SYNC_FAIL=$T/dirfail ASAN_OPTIONS=$ASAN_SHIM \
	timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$T/dir-state" \
	--config "$T/config.json" --enterprise-policy "$T/enterprise.json" \
	--policy "$T/user.json" 2>"$T/err"
eq "a new audit.jsonl whose directory cannot be synced: writd refuses to start" "1 1" \
	"$? $(grep -c "$T/dir-state: cannot sync the directory" "$T/err")"
rm -f "$T/dirfail"

# A sync failing in a rotation's batch breaks the log as any other.
mkdir -m 0700 "$T/eio2-state"
STATE=$T/eio2-state LD_PRELOAD=$SHIM WRIT_TEST_SYNC_FAIL=$T/eio2 ASAN_OPTIONS=$ASAN_SHIM \
	start_writd || exit 1
SOCK=$(new_session eio2)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=before >/dev/null
touch "$T/eio2"
"$BIN/writctl" audit rotate >/dev/null
eq "fsync fails in a rotation: 503 audit_unavailable" 503 \
	"$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"rot"}}')"
rm -f "$T/eio2"
eq "  ... and stays so" 503 "$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"rot2"}}')"
stop_writd

# Mirroring to syslog: each durable record also goes to /dev/log (here a
# listener of the test's, bound there inside bwrap).
if command -v bwrap >/dev/null && bwrap --bind / / --dev /dev -- true 2>/dev/null; then
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
f = open(sys.argv[2], "ab", 0)
while True: f.write(s.recv(65536) + b"\n")' "$T/log.sock" "$T/syslog.txt" &
	LISTENER=$!
	wait_for test -S "$T/log.sock"
	mkdir -m 0700 "$T/sys-state"
	with_keyring '{"audit":{"syslog":true}}' >"$T/sys.json"
	bwrap --bind / / --dev /dev --bind "$T/log.sock" /dev/log -- "$BIN/writd" \
		--runtime-dir "$T/run" --state-dir "$T/sys-state" --config "$T/sys.json" \
		--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>>"$T/writd.log" &
	BW=$!
	wait_for curl -sf -o /dev/null --unix-socket "$ADMIN" http://writ/v1/health || fail "writd in bwrap did not start: $(tail -3 "$T/writd.log")"
	SOCK=$(new_session mirrored)
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=mirrored --json >"$T/m"
	WID=$(jq -r .id "$T/m")
	wait_for grep -q "\"writ\":\"$WID\"" "$T/syslog.txt"
	check "audit.syslog: the issued record reaches syslog" bash -c \
		"grep '\"event\":\"issued\"' '$T/syslog.txt' | grep -q '\"writ\":\"$WID\"'"
	check "  ... as writd, on the authpriv facility (priority <86>: authpriv.info)" \
		grep -q '^<86>.*writd\[[0-9]*\]: {' "$T/syslog.txt"
	check "  ... never the token" bash -c "! grep -qF \"\$(jq -r .token '$T/m')\" '$T/syslog.txt'"
	kill -TERM "$(pgrep -P "$BW")"; wait "$BW"
	# The checkpoint signed at a clean stop goes to syslog like the rest:
	# what verify --checkpoint holds the log against.
	wait_for grep -q '"event":"checkpoint"' "$T/syslog.txt"
	kill "$LISTENER"; wait "$LISTENER" 2>/dev/null
	check "  ... and the checkpoint made at stop" grep -q '"event":"checkpoint"' "$T/syslog.txt"
	STATE=$T/sys-state start_writd || exit 1
	"$BIN/writctl" audit verify --checkpoint "$T/syslog.txt" >"$T/v"
	eq "  ... which verify --checkpoint takes as syslog wrote it" 0 "$?"
	check "  ... the log reaches it" grep -q '^given checkpoint: the log reaches the checkpoint' "$T/v"
	stop_writd
	with_keyring '{"audit":{"syslog":"yes"}}' >"$T/bad.json"
	"$BIN/writd" --config "$T/bad.json" --runtime-dir "$T/run2" --state-dir "$T/sys-state" 2>"$T/e"
	check "audit.syslog must be a boolean" bash -c "grep -q 'audit.syslog: must be true or false' '$T/e'"
else
	skip "syslog mirroring test needs bwrap (to put a listener at /dev/log)"
fi

# The audit log or the ledger deleted, or moved aside and replaced, under a
# running writd: its records would go where nobody looks, so issuing stops
# (revoking goes on).  The ledger's file lags the log (audit.ledger_lag,
# 1s): issuing stops at its next commit, and what was issued meanwhile is
# in the audit log.
refused() {
	[ "$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"x"}}') $(jq -r .error.code "$T/body")" = \
		"503 audit_unavailable" ]
}
for f in audit ledger; do
	for how in deleted replaced; do
		D=$T/$f-$how-state
		mkdir -m 0700 "$D"
		STATE=$D start_writd || exit 1
		SOCK=$(new_session "$f-$how")
		WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=before >/dev/null
		WID=$(admin /v1/writs | jq -r '.writs[0].id')
		if [ $how = deleted ]; then
			rm "$D/$f.jsonl"
		else
			mv "$D/$f.jsonl" "$D/aside.jsonl"
			install -m 0600 /dev/null "$D/$f.jsonl"
		fi
		if [ $f = ledger ]; then
			check "the $f file $how: 503 audit_unavailable within audit.ledger_lag" wait_for refused
		else
			check "the $f file $how: 503 audit_unavailable" refused
		fi
		check "  ... no token in the answer" bash -c "! jq -e .token '$T/body' >/dev/null 2>&1"
		check "  ... writd says why" grep -q "writing or syncing the $f" "$T/writd.log"
		eq "  ... revocation still works" 200 "$(status "$SOCK" DELETE "/v1/writs/$WID")"
		stop_writd
	done
done
