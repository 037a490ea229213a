#!/usr/bin/env bash
# The ledger: every writ is in it, or in the audit log's "issued" record
# (durable before the token leaves) from which the next start recovers it;
# kill -9 writd and the next start brings the writs back, to be revoked at
# their expiry, or at once when their sandbox exited meanwhile; the file
# stays small.
. "$(dirname "$0")/lib.sh"

printf '{"allow":[{"kind":"jwt","scope":{"aud":"*"}}]}\n' >"$T/user.json"; chmod 0644 "$T/user.json"
# The file lags the log by an hour here: only the log has the entries.
start_writd '{"audit":{"ledger_lag":"1h"}}' || exit 1
L=$T/state/ledger.jsonl
sid() { sess "$1" /v1/health | jq -r .session.id; }
ids() { admin /v1/writs | jq -r '[.writs[].id] | sort | join(" ")'; }
has() { [ "$(admin /v1/writs | jq --arg id "$1" '[.writs[] | select(.id==$id)] | length')" = "$2" ]; }
count() { [ "$(admin "/v1/$1" | jq ".$1 | length")" = "$2" ]; }

A=$(new_session plain)
sleep 300 & S1=$!
sleep 300 & S2=$!
B=$("$BIN/writctl" sessions new tied-alive --pid "$S1")
C=$("$BIN/writctl" sessions new tied-dies --pid "$S2")
AID=$(sid "$A"); BID=$(sid "$B"); CID=$(sid "$C")
# 15s: long enough to outlast a restart on a slow, shared machine.
WRIT_SOCKET=$A "$BIN/writ" get jwt --scope aud=short --ttl 15s --json >"$T/a1"
WRIT_SOCKET=$A "$BIN/writ" get jwt --scope aud=long --ttl 10m --json >"$T/a2"
WRIT_SOCKET=$B "$BIN/writ" get jwt --scope aud=b --ttl 10m --json >"$T/b1"
WRIT_SOCKET=$C "$BIN/writ" get jwt --scope aud=c --ttl 10m --json >"$T/c1"
A1=$(jq -r .id "$T/a1"); A2=$(jq -r .id "$T/a2"); B1=$(jq -r .id "$T/b1"); C1=$(jq -r .id "$T/c1")
[ -n "$A1" ] && [ -n "$A2" ] && [ -n "$B1" ] && [ -n "$C1" ] ||
	{ fail "four writs to start with: $(cat "$T/writd.log")"; exit 1; }

# The file has none of them yet: a lazy commit, an hour away.
eq "a lagging ledger file holds no entry yet" 0 "$(grep -c '"op":"add"' "$L")"
check "  ... but notes the audit point it covers" grep -q '"op":"mark","audit_seq":[1-9]' "$L"

# kill -9, and one sandbox exits while writd is down.
crash_writd
kill "$S2"; wait "$S2" 2>/dev/null
start_writd || exit 1
check "after kill -9 the start recovers the four entries from the audit log" \
	grep -q 'writd: 4 ledger entries recovered from the audit log' "$T/writd.log"

# Every writ has its entry, with what the issue asks and never the token.
entry() { jq -c --arg id "$1" 'select(.op=="add" and .id==$id)' "$L"; }
eq "every writ has a ledger entry" 4 "$(jq -r 'select(.op=="add") | .id' "$L" | sort -u | wc -l)"
eq "  ... with session, name, kind, canonical scope, times" \
	"$AID plain jwt {\"aud\":\"long\"} $(jq -r '"\(.issued_at) \(.expires_at)"' "$T/a2")" \
	"$(entry "$A2" | jq -r '"\(.session) \(.name) \(.kind) \(.scope|tojson) \(.issued_at) \(.expires_at)"')"
FP=$(grep '"event":"issued"' "$T/state/audit.jsonl" | jq -r --arg id "$A2" 'select(.writ==$id) | .fingerprint')
eq "  ... and the fingerprint the audit log has" "$FP" "$(entry "$A2" | jq -r .fingerprint)"
check "  ... a signed JWT cannot be revoked: no sealed token" bash -c "[ \"\$(jq -c 'select(.sealed)' '$L')\" = '' ]"
eq "  ... a tied session's entry names its process, start time and boot" \
	"$S1 $(awk '{ sub(/.*\) /, ""); print $20 }' /proc/$S1/stat) $(cat /proc/sys/kernel/random/boot_id)" \
	"$(entry "$B1" | jq -r '"\(.pid) \(.pid_start) \(.boot)"')"
check "  ... no token in the ledger" bash -c "! grep -qF \"\$(jq -r .token '$T/a2')\" '$L'"
check "the ledger file is 0600" test "$(stat -c %a "$L")" = 600
eq "after kill -9 and a restart the writs are back, but the dead sandbox's" \
	"$(printf '%s\n' "$A1" "$A2" "$B1" | sort | tr '\n' ' ' | sed 's/ $//')" "$(ids)"
check "  ... its writ was revoked at start, and why is audited" bash -c \
	"grep '\"event\":\"revoked\"' '$T/state/audit.jsonl' | grep '$C1' | grep -q 'exited while writd was down'"
check "  ... each writ brought back is audited" bash -c \
	"[ \"\$(grep -c '\"event\":\"restored\"' '$T/state/audit.jsonl')\" -eq 4 ]"
admin /v1/sessions >"$T/ss"
eq "the restored sessions are listed, without a socket" "plain:true:null tied-alive:true:null" \
	"$(jq -r '[.sessions[] | "\(.name):\(.restored):\(.socket)"] | sort | join(" ")' "$T/ss")"
check "  ... the old sockets are gone" test ! -e "$A" -a ! -e "$B"
eq "  ... the live one keeps its pid" "$S1" "$(jq -r '.sessions[] | select(.name=="tied-alive") | .pid' "$T/ss")"
eq "a restored writ keeps its expiry" "$(jq -r .expires_at "$T/a2")" \
	"$(admin /v1/writs | jq -r --arg id "$A2" '.writs[] | select(.id==$id) | .expires_at')"

# Revoked at its expiry, not before and not at start.
# Watched from now to its expiry; no time left to watch fails (a 0 s window
# shows nothing).
exp=$(jq -r .expires_at "$T/a1")
holds_until "$exp" has "$A1" 1
case $? in
0) pass "  ... the short writ lives until its expiry" ;;
1) fail "  ... the short writ was gone before its expiry ($exp)" ;;
*) fail "  ... the short writ's expiry ($exp) passed before it could be watched (now $(date +%s))" ;;
esac
wait_for has "$A1" 0
eq "the short writ is gone at its expiry" "$(printf '%s\n' "$A2" "$B1" | sort | tr '\n' ' ' | sed 's/ $//')" "$(ids)"
check "  ... audited as expired" bash -c "grep '\"event\":\"expired\"' '$T/state/audit.jsonl' | grep -q '$A1'"

# A restored session tied to a live sandbox still ends with it.
kill "$S1"; wait "$S1" 2>/dev/null
wait_for count writs 1
eq "the sandbox of a restored session exits: its writs are revoked" "$A2" "$(ids)"
"$BIN/writctl" writs revoke --session "$AID" >/dev/null
eq "writctl writs revoke --session works on a restored session" 0 "$(nwrits)"
wait_for count sessions 0
eq "  ... which ends with its last writ" 0 "$(admin /v1/sessions | jq '.sessions | length')"

# A clean stop and start: nothing comes back; the file keeps open entries only.
stop_writd
start_writd || exit 1
eq "nothing is brought back once every writ ended" 0 "$(nwrits)"
eq "  ... and the ledger is compacted to nothing but its audit point" \
	'{"op":"mark","audit_seq":' "$(cut -c1-25 "$L" | sort -u | tr -d '\n')"

# Compaction while running: closed entries never pile up.
SOCK=$(new_session many)
seq 1 1100 | xargs -P 8 -I{} curl -s -o /dev/null --unix-socket "$SOCK" -X POST \
	--data-binary '{"kind":"jwt","scope":{"aud":"m{}"},"ttl":"1s"}' http://writ/v1/writs
eq "1100 writs issued" 1100 "$(grep '"event":"issued"' "$T/state/audit.jsonl" | grep -c "$(sid "$SOCK")")"
wait_for count writs 0
LAST=$(WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=last --json | jq -r .id)
# NB. a hang guard: 1100 expiries, their lazy batches and a compaction
# took longer than 5 s on a loaded machine.
WAIT_SECS=30 wait_for sh -c "[ \"\$(grep -c . '$L')\" -lt 1100 ]"
# NB. within audit.ledger_lag (1s) of its issue.
wait_for grep -q "\"op\":\"add\",\"id\":\"$LAST\"" "$L"
check "the ledger is compacted as closed entries pile up ($(grep -c . "$L") lines for 1101 writs)" \
	test "$(grep -c . "$L")" -lt 1100
eq "  ... keeping the one still open" 1 "$(jq -r 'select(.op=="add") | .id' "$L" | sort -u |
	while read -r i; do grep -q "\"op\":\"done\",\"id\":\"$i\"" "$L" || echo "$i"; done | wc -l)"

# Many live writs: writctl reads a list of over 1 MiB; an agent's writ ls
# (which reads at most 1 MiB) says clearly that it cannot.
python3 - "$SOCK" 7000 <<'PY'
import http.client, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
c = C("writ")
for i in range(int(sys.argv[2])):	# one keep-alive connection, one writ after another
    c.request("POST", "/v1/writs", '{"kind":"jwt","scope":{"aud":"many%d"},"ttl":"10m"}' % i)
    r = c.getresponse(); r.read()
    assert r.status == 201, r.status
PY
"$BIN/writctl" writs ls >"$T/many" 2>"$T/e"
eq "writctl writs ls lists 7001 live writs (an answer over 1 MiB)" 7001 "$(wc -l <"$T/many")"
WRIT_SOCKET=$SOCK "$BIN/writ" ls >/dev/null 2>"$T/e"
check "  ... writ ls in the sandbox refuses a list that large, saying so" \
	grep -q 'larger than this client reads' "$T/e"
"$BIN/writctl" writs revoke --session "$(sid "$SOCK")" >/dev/null

# A ledger with lines writd did not write: skipped or refused, with a record.
# NB. a revocation's closing entry may wait for the ledger's lazy commit
# when kill -9 comes: its "revoked" record (durable with the next issuance)
# closes it at start.
WRIT_SOCKET=$(new_session barrier) "$BIN/writ" get jwt --scope aud=barrier >/dev/null
N=$(nwrits)
crash_writd
{
	echo 'not json at all'
	echo '{"op":"add","id":"00000000000000000000000000000001","session":"00000000000000000000000000000002","name":"x","kind":"nosuch","scope":{},"issued_at":1,"expires_at":99999999999}'
	echo '{"op":"add","id":"../../etc","session":"00000000000000000000000000000002","name":"x","kind":"jwt","scope":{"aud":"x"},"issued_at":1,"expires_at":99999999999}'
	echo '{"op":"add","id":"00000000000000000000000000000003","session":"00000000000000000000000000000002","name":"x","kind":"jwt","scope":"x","issued_at":1,"expires_at":99999999999}'
	now=$(date +%s)
	echo '{"op":"add","id":"00000000000000000000000000000004","session":"00000000000000000000000000000005","name":"\u001b[31mred","kind":"jwt","scope":{"aud":"x"},"issued_at":'$now',"expires_at":'$((now + 600))'}'
	# A lifetime writd never grants (over a year): it would never be reaped.
	echo '{"op":"add","id":"00000000000000000000000000000006","session":"00000000000000000000000000000005","name":"x","kind":"jwt","scope":{"aud":"x"},"issued_at":'$now',"expires_at":9223372036854775000}'
	# ... or issued after the year 36812 (2^40 s): restore's arithmetic could overflow.
	echo '{"op":"add","id":"00000000000000000000000000000008","session":"00000000000000000000000000000005","name":"x","kind":"jwt","scope":{"aud":"x"},"issued_at":1099511627776,"expires_at":1099511627776}'
	# A NUL after a number, which jansson skips (fuzz_ledger found it).
	printf '{"op":"add","id":"00000000000000000000000000000007","session":"00000000000000000000000000000005","name":"x","kind":"jwt","scope":{"aud":"x"},"issued_at":%s\0,"expires_at":%s}\n' "$now" "$((now + 600))"
	printf '{"op":"add","id":"torn'
} >>"$L"
start_writd || exit 1
eq "a ledger with foreign lines: writd starts and brings back only well-formed ones" \
	"$((N + 1))" "$(nwrits)"
eq "  ... a session name with control characters comes back as 'restored'" restored \
	"$(admin /v1/sessions | jq -r '.sessions[] | select(.id=="00000000000000000000000000000005") | .name')"
"$BIN/writctl" writs revoke 00000000000000000000000000000004 >/dev/null
eq "  ... each foreign entry is refused with a record" 5 \
	"$(grep '"event":"revoke_failed"' "$T/state/audit.jsonl" | grep -c 'not one writd wrote')"
check "  ... one that would live over a year, and one issued in the year 36812, among them" \
	bash -c "grep '\"event\":\"revoke_failed\"' '$T/state/audit.jsonl' | grep -q 00000000000000000000000000000006 &&
	grep '\"event\":\"revoke_failed\"' '$T/state/audit.jsonl' | grep -q 00000000000000000000000000000008"
check "  ... a line with a NUL is not kept, cut short, by the compaction at start" \
	bash -c "! grep -q 00000000000000000000000000000007 '$L'"
stop_writd
start_writd || exit 1
check "  ... and closed, so the next start does not see them again" \
	bash -c "! grep -q 'nosuch\|etc\|torn\|0000000000000000000000000000000[678]' '$L'"

"$BIN/writctl" audit verify >/dev/null
eq "the audit chain verifies" 0 "$?"
stop_writd
