#!/usr/bin/env bash
# The ledger's lagging file and what the next start rebuilds from the audit
# log after a kill -9: a writ revoked before the crash stays revoked
# whatever its scope or session name hold; a start's own batch cut short
# loses nothing; issued records are found across a rotation, and their
# loss is told; the file's point follows the log while the ledger is idle
# and at a stop, so that a start reads back little.
. "$(dirname "$0")/lib.sh"

printf '{"allow":[{"kind":"jwt","scope":{"aud":"*"}}]}\n' >"$T/user.json"; chmod 0644 "$T/user.json"
# An hour: only the audit log has the entries and their closings.
start_writd '{"audit":{"ledger_lag":"1h"}}' || exit 1
L=$T/state/ledger.jsonl
crash() {
	crash_writd
	start_writd '{"audit":{"ledger_lag":"1h"}}'
}

# A scope, and a session's name, whose text reads like a sealed entry's:
# "aud":"sealed", "name":"sealed".
SOCK=$(new_session plain)
X=$(WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=sealed --ttl 10m --json | jq -r .id)
Y=$(WRIT_SOCKET=$(new_session sealed) "$BIN/writ" get jwt --scope aud=other --ttl 10m --json |
	jq -r .id)
"$BIN/writctl" writs revoke "$X" >/dev/null
"$BIN/writctl" writs revoke "$Y" >/dev/null
# The next issuance makes the "revoked" records durable with its own.
Z=$(WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=z --ttl 10m --json | jq -r .id)
[ -n "$X" ] && [ -n "$Y" ] && [ -n "$Z" ] || { fail "three writs to start with"; exit 1; }
eq "the lagging file holds none of their entries" 0 "$(grep -c '"op":"add"' "$L")"
crash || exit 1
eq "after kill -9 only the writ not revoked is back, whatever a scope reads like" \
	"$Z" "$(admin /v1/writs | jq -r '[.writs[].id] | sort | join(" ")')"

# A start's batch (the writs it recovered and the point they cover) torn by
# a power loss: a prefix of it survives.  The point must not, unless all
# that it covers did.
SOCK=$(new_session torn)
W1=$(WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=w1 --ttl 10m --json | jq -r .id)
W2=$(WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=w2 --ttl 10m --json | jq -r .id)
crash_writd
BEFORE=$(stat -c %s "$L")
# Every sync hangs: the start writes its batch and waits for the sync.
touch "$T/hold"
LD_PRELOAD=$SHIM WRIT_TEST_SYNC_HANG=$T/hold ASAN_OPTIONS=$ASAN_SHIM "$BIN/writd" \
	--runtime-dir "$T/run" --state-dir "$T/state" --config "$T/config.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>>"$T/writd.log" &
WRITD_PID=$!
check "the start writes what it recovered, and waits for its sync" \
	wait_for sh -c "tail -c +$((BEFORE + 1)) '$L' | grep -q '\"id\":\"$W2\"'"
crash_writd
rm -f "$T/hold"
# The power loss: of the unsynced batch, its first line only is on disk.
FIRST=$(tail -c +$((BEFORE + 1)) "$L" | head -n 1 | wc -c)
truncate -s $((BEFORE + FIRST)) "$L"
start_writd '{"audit":{"ledger_lag":"1h"}}' || exit 1
eq "after a torn start the next one recovers them again" \
	"$(printf '%s\n' "$W1" "$W2" "$Z" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(admin /v1/writs | jq -r '[.writs[].id] | sort | join(" ")')"

# A rotation between the ledger's point and the crash: the issued record
# is read back from the rotated file.
U=$(WRIT_SOCKET=$(new_session rotated) "$BIN/writ" get jwt --scope aud=u --ttl 10m --json |
	jq -r .id)
"$BIN/writctl" audit rotate >/dev/null
crash || exit 1
check "a writ whose issued record was rotated away from audit.jsonl comes back" has_writ "$U"

# A rotated file archived before the ledger's point passed it: its issued
# records cannot bring their writs back, and the start says so.
V=$(WRIT_SOCKET=$(new_session archived) "$BIN/writ" get jwt --scope aud=v --ttl 10m --json |
	jq -r .id)
"$BIN/writctl" audit rotate >/dev/null
mkdir "$T/archive"; mv "$T"/state/audit-*.jsonl "$T/archive/"
crash || exit 1
check "a start that cannot read the audit records after the ledger's point says so" \
	grep -q 'writd: audit records after seq [0-9]*, the ledger.s last point, are not all in the log' \
	"$T/writd.log"
mv "$T"/archive/* "$T/state/"

# No writ comes or goes, but the log goes on: the file's point follows it
# (within audit.ledger_lag, 1s), so that a start reads back only that much.
stop_writd
start_writd || exit 1
mark() { jq -r 'select(.op=="mark") | .audit_seq' "$L" | tail -n 1; }
last() { tail -n 1 "$T/state/audit.jsonl" | jq -r .seq; }
marked() { [ "$(mark)" = "$(last)" ]; }
for i in 1 2 3 4 5; do
	S=$(admin /v1/sessions -X POST --data-binary "{\"name\":\"idle$i\"}" | jq -r .id)
	admin "/v1/sessions/$S" -X DELETE >/dev/null
done
check "with no writ issued, the ledger's point follows the audit log" wait_for marked
for i in 1 2 3; do
	S=$(admin /v1/sessions -X POST --data-binary "{\"name\":\"stop$i\"}" | jq -r .id)
	admin "/v1/sessions/$S" -X DELETE >/dev/null
done
check "the audit chain verifies" sh -c "'$BIN/writctl' audit verify >/dev/null"
stop_writd
eq "  ... and a stop notes the last point" "$(last)" "$(mark)"

# The ledger's sync hangs (and the audit log's does not): the watchdog
# breaks the ledger within WRIT_AUDIT_SYNC_MAX (5s) and issuing stops, as
# for the audit log; nothing piles up behind a dead disk.
LD_PRELOAD=$SHIM WRIT_TEST_SYNC_HANG=$T/hold WRIT_TEST_SYNC_ONLY=ledger.jsonl \
	ASAN_OPTIONS=$ASAN_SHIM "$BIN/writd" \
	--runtime-dir "$T/run" --state-dir "$T/state" --config "$T/config.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>>"$T/writd.log" &
WRITD_PID=$!
wait_for curl -sf -o /dev/null --unix-socket "$ADMIN" http://writ/v1/health
SOCK=$(new_session hung)
# From now on (the start synced the ledger once).
touch "$T/hold"
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=first >/dev/null
refused() {
	local code
	code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X POST \
		--data-binary '{"kind":"jwt","scope":{"aud":"h"}}' http://writ/v1/writs)
	[ "$code $(jq -r .error.code "$T/body" 2>/dev/null)" = "503 audit_unavailable" ]
}
WAIT_SECS=20 wait_for refused
check "a ledger sync that hangs stops issuing (watchdog)" refused
check "  ... and writd says why" grep -q 'a ledger sync has taken over 5s; issuing stops' "$T/writd.log"
check "  ... the admin socket still answers" curl -sf -o /dev/null --unix-socket "$ADMIN" http://writ/v1/health
rm -f "$T/hold"
crash_writd

# Compaction renames a new file over the ledger and syncs the directory:
# if that sync fails, the new name may not survive a crash, and issuing
# stops as after any failed sync (never trusted later).  The shim fails
# the syncs of the state directory only, from the moment $T/dirfail exists.
rm -rf "$T/state" "$T/run"; : >"$T/writd.log"
LD_PRELOAD=$SHIM WRIT_TEST_SYNC_FAIL=$T/dirfail WRIT_TEST_SYNC_ONLY=state \
	ASAN_OPTIONS=$ASAN_SHIM start_writd || exit 1
SOCK=$(new_session dirsync)
touch "$T/dirfail"
# 1100 writs of a second: once they end, closed entries outnumber open ones.
seq 1 1100 | xargs -P 8 -I{} curl -s -o /dev/null --unix-socket "$SOCK" -X POST \
	--data-binary '{"kind":"jwt","scope":{"aud":"d{}"},"ttl":"1s"}' http://writ/v1/writs
said() { grep -q "syncing the ledger's directory failed; issuing stops" "$T/writd.log"; }
WAIT_SECS=30 wait_for said
check "a compaction whose directory sync fails says so" said
check "  ... and issuing stops" refused
rm -f "$T/dirfail"
crash_writd

# A power loss that keeps a batch's later pages and loses an earlier one:
# an "add" line gone (zeros), the mark after it kept.  That mark is not
# trusted: the start reads the audit log back from the mark before, and
# the writ whose line is gone comes back.
rm -rf "$T/state" "$T/run"; : >"$T/writd.log"
start_writd || exit 1
SOCK=$(new_session pages)
mark() { jq -Rr 'fromjson? | select(.op=="mark") | .audit_seq' "$L" | tail -n 1; }
issued_seq() { grep '"event":"issued"' "$T/state/audit.jsonl" | jq -r --arg w "$1" 'select(.writ==$w) | .seq'; }
covered() { [ -n "$(mark)" ] && [ "$(mark)" -ge "$(issued_seq "$1")" ]; }
P1=$(WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=p1 --ttl 10m --json | jq -r .id)
check "the first writ's issued record is covered by a mark (within ledger_lag, 1 s)" \
	wait_for covered "$P1"
P2=$(WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=p2 --ttl 10m --json | jq -r .id)
check "  ... the second's by a later one" wait_for covered "$P2"
crash_writd
python3 - "$L" "$P2" <<'PY'
import sys
path, wid = sys.argv[1], sys.argv[2].encode()
data = open(path, "rb").read().split(b"\n")
out = [b"\0" * len(l) if b'"op":"add"' in l and wid in l else l for l in data]
assert out != data, "no add line for the writ"
open(path, "wb").write(b"\n".join(out))
PY
start_writd || exit 1
check "a writ whose add line a power loss zeroed, under a later mark, comes back" has_writ "$P2"
check "  ... with the one before it" has_writ "$P1"
stop_writd
