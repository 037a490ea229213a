#!/usr/bin/env bash
# The audit log across files: rotation by size, SIGHUP and writctl under
# load loses nothing; verify walks the files and names a missing, reordered
# or altered one; start-up reads only what follows its last durable point;
# signed checkpoints show records cut off the end.
. "$(dirname "$0")/lib.sh"

printf '{"allow":[{"kind":"jwt","scope":{"aud":"*"}}]}\n' >"$T/user.json"; chmod 0644 "$T/user.json"
S=$T/state
ROT='{"audit":{"rotate_size":16384,"checkpoint_records":50}}'
start_writd "$ROT" || exit 1
SOCK=$(new_session rotating)

# --- Rotation under load: four clients, while SIGHUP and writctl rotate
# come in between, and the size rotates the file every ~40 records.
for c in 1 2 3 4; do
	( for i in $(seq 1 60); do
		WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=r$c-$i" --json 2>>"$T/client.err" |
			jq -r .id || echo FAILED
	done ) >"$T/ids.$c" &
done
# verify, meanwhile, sees the files move under it: it must still pass.
( for i in $(seq 1 60); do
	"$BIN/writctl" audit verify >"$T/vl.out" 2>&1 || { echo "run $i:"; head -1 "$T/vl.out"; }
done ) >"$T/vloop" &
got() { [ "$(cat "$T"/ids.* | grep -c .)" -ge "$1" ]; }
reloaded() { [ "$(cat "$S"/audit*.jsonl | grep -c '"event":"policy_reloaded"')" -ge "$1" ]; }
for k in 1 2 3; do
	wait_for got $((k * 50))
	kill -HUP "$WRITD_PID"
	# The signal's rotation is done before the reload is recorded: then
	# writctl's, which would be coalesced into one not yet written.
	wait_for reloaded $k
	"$BIN/writctl" audit rotate >"$T/rot.$k" || fail "writctl audit rotate failed: $(cat "$T/rot.$k")"
done
wait $(jobs -p | grep -v "^$WRITD_PID$") 2>/dev/null
cat "$T"/ids.* >"$T/ids"
eq "under rotation, every request got its token (no 503, no lost waiter)" "240 0" \
	"$(grep -cE '^[0-9a-f]{32}$' "$T/ids") $(grep -c FAILED "$T/ids")"
eq "audit verify while the log rotates under load: every run passes" "" "$(cat "$T/vloop")"
check "writctl audit rotate says where the new file begins" grep -q 'new audit.jsonl begins at seq [0-9]' "$T/rot.1"
stop_writd
ls "$S" | grep -E '^audit-[0-9]{20}\.jsonl$' >"$T/rotated"
check "the log was rotated many times ($(wc -l <"$T/rotated") files)" test "$(wc -l <"$T/rotated")" -ge 10
check "  ... rotated files are 0600" bash -c "! find '$S' -name 'audit-*' ! -perm 600 | grep -q ."
FILES=$(sort "$T/rotated" | sed "s|^|$S/|"; echo "$S/audit.jsonl")
# shellcheck disable=SC2086
cat $FILES >"$T/all"
eq "every seq once, in order, across the files" true \
	"$(jq -s '[.[].seq] == [range(1; length + 1)]' "$T/all")"
eq "  ... each rotated file is named for its first seq" 0 "$(for f in $(sort "$T/rotated"); do
	[ "$(head -1 "$S/$f" | jq .seq)" = "$((10#$(echo "$f" | tr -dc 0-9)))" ] || echo "$f"; done | wc -l)"
eq "  ... each new file begins with a rotated record naming the last" 0 "$(prev=; for f in $(sort "$T/rotated") audit.jsonl; do
	if [ -n "$prev" ]; then
		head -1 "$S/$f" | jq -e --arg p "$prev" --arg m "$(tail -1 "$S/$prev" | jq -r .mac)" \
			'.event == "rotated" and .prev_file == $p and .prev_mac == $m' >/dev/null || echo "$f"
	fi; prev=$f; done | wc -l)"
for why in size signal admin; do
	check "  ... rotated by $why" bash -c "jq -e 'select(.event == \"rotated\" and .why == \"$why\")' '$T/all' | grep -q ."
done
missing=0
while read -r id; do
	[ "$(grep -c "\"event\":\"issued\".*\"writ\":\"$id\"" "$T/all")" = 1 ] || missing=$((missing + 1))
done < <(grep -E '^[0-9a-f]{32}$' "$T/ids")
eq "every token has exactly one issued record across the files" 0 "$missing"
check "checkpoints every 50 records" test "$(grep -c '"event":"checkpoint"' "$T/all")" -ge 10

start_writd "$ROT" || exit 1
"$BIN/writctl" audit verify >"$T/v"
eq "audit verify across the files" 0 "$?"
check "  ... names each file, old to new" bash -c "grep -c '^  audit' '$T/v' | grep -qx $(($(wc -l <"$T/rotated") + 1))"
check "  ... reports the last checkpoint, signature checked" grep -q '^last checkpoint: seq [0-9]* (signs seq [0-9]*), .*, signature good' "$T/v"
cp "$T/v" "$T/v.whole"
KEY=$("$BIN/writctl" audit key)
check "writctl audit key: an Ed25519 public key, hex" grep -qE '^[0-9a-f]{64}$' <<<"$KEY"
check "  ... the one verify reports" grep -q "^checkpoint key (ed25519): $KEY\$" "$T/v"
eq "  ... GET /v1/audit/key" ed25519 "$(admin /v1/audit/key | jq -r .algorithm)"
SOCK=$(new_session again)
eq "  ... not on a session socket: 404" 404 "$(status "$SOCK" GET /v1/audit/key)"
eq "POST /v1/audit/rotate not on a session socket: 404" 404 "$(status "$SOCK" POST /v1/audit/rotate)"

# A checkpoint verifies with nothing but its public key (openssl here).
CK=$(grep '"event":"checkpoint"' "$S/audit.jsonl" | tail -1)
[ -n "$CK" ] || CK=$(cat $FILES | grep '"event":"checkpoint"' | tail -1)
printf 'writ-audit-checkpoint:%s:%s' "$(jq -r .at_seq <<<"$CK")" "$(jq -r .at_mac <<<"$CK")" >"$T/ck.msg"
jq -r .sig <<<"$CK" | xxd -r -p >"$T/ck.sig"
{ printf '302a300506032b6570032100' | xxd -r -p; printf '%s' "$KEY" | xxd -r -p; } >"$T/pk.der"
if openssl pkeyutl -verify -pubin -keyform DER -inkey "$T/pk.der" -rawin -in "$T/ck.msg" \
	-sigfile "$T/ck.sig" >/dev/null 2>&1; then pass "a checkpoint's signature verifies with openssl and the public key"
else fail "openssl does not verify the checkpoint: $CK"; fi
stop_writd

# --- Detection by verify: a missing, reordered or altered file.  NB.
# writd starts each time: rotated files are not read back at start.
cp -a "$S" "$T/good-state"
R=($(sort "$T/rotated"))
bad_verify() {	# DESC GREP
	if ! start_writd "$ROT"; then fail "$1: writd did not start"; return; fi
	"$BIN/writctl" audit verify >"$T/v"
	local rc=$?
	stop_writd
	if [ $rc = 1 ] && grep -q "$2" "$T/v"; then pass "$1"
	else fail "$1 (rc $rc: $(head -1 "$T/v"))"; fi
}
restore() { rm -rf "$S"; cp -a "$T/good-state" "$S"; }
mv "$S/${R[3]}" "$T/aside"
bad_verify "a rotated file missing: writd starts, verify names the gap" "${R[4]}: does not continue ${R[2]}"
restore
mv "$S/${R[0]}" "$T/aside"
bad_verify "the oldest file missing: verify says so" "${R[1]}: continues ${R[0]}, which is missing"
restore
mv "$S/${R[2]}" "$T/x"; mv "$S/${R[3]}" "$S/${R[2]}"; mv "$T/x" "$S/${R[3]}"
bad_verify "two rotated files swapped: verify names the misnamed one" "${R[2]}: named for seq"
restore
sed -i '5s/"event"/"evEnt"/' "$S/${R[1]}"
bad_verify "a record altered in a rotated file: writd starts, verify names it" \
	"BROKEN at record $(($(head -1 "$T/good-state/${R[1]}" | jq .seq) + 4)): ${R[1]}: the mac does not match"

# The end of the log removed while writd runs: the files left still chain,
# but writd knows how far its log was durable.
restore
start_writd "$ROT" || exit 1
SOCK=$(new_session cut)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=cut >/dev/null
: >"$S/audit.jsonl"
"$BIN/writctl" audit verify >"$T/v"
eq "audit.jsonl emptied under writd: verify fails" 1 "$?"
check "  ... saying records were cut off the end" \
	grep -q "^audit log BROKEN at record $(($(head -1 "$T/good-state/audit.jsonl" | jq .seq))): .*writd made seq [0-9]* durable: records were cut off the end" "$T/v"
rm "$S"/audit-*.jsonl "$S/audit.jsonl"
"$BIN/writctl" audit verify >"$T/v"
eq "  ... every file removed: verify fails" "1 1" "$? $(grep -c "writd made seq [0-9]* durable" "$T/v")"
stop_writd

# --- Fast start: only what follows the last durable point is read.
restore
sed -i '2s/"event"/"evEnt"/' "$S/audit.jsonl"
bad_verify "a record altered before the durable point: writd starts, verify names it" \
	"BROKEN at record $(($(head -1 "$S/audit.jsonl" | jq .seq) + 1))"
rm "$S/audit.state"
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$S" --config "$T/config.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>"$T/err"
eq "  ... without audit.state, the current file is read whole: writd refuses" "1 1" \
	"$? $(grep -c 'is broken at record' "$T/err")"
restore
head -n -2 "$T/good-state/audit.jsonl" >"$S/audit.jsonl"
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$S" --config "$T/config.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>"$T/err"
eq "records cut below the durable point: writd refuses" "1 1" \
	"$? $(grep -c 'does not hold its last durable record' "$T/err")"
restore
# The last durable record altered in place (same length): its mac is not
# the one audit.state holds.
sed -i '$s/"mac":"\(.\)/"mac":"\1\1/; $s/\(.\)"}$/"}/' "$S/audit.jsonl"
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$S" --config "$T/config.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>"$T/err"
rc=$?
eq "the last durable record altered in place: writd refuses" "1 1 $(stat -c %s "$T/good-state/audit.jsonl")" \
	"$rc $(grep -c 'does not hold its last durable record' "$T/err") $(stat -c %s "$S/audit.jsonl")"
restore
sed -i 's/offset=0/offset=1/' "$S/audit.state"
start_writd "$ROT" || fail "writd did not start with a forged audit.state"
check "a forged or torn audit.state is not trusted: the file is read whole" \
	grep -q 'audit.state is torn or not ours: checking the current audit file whole' "$T/writd.log"
"$BIN/writctl" audit verify >/dev/null
eq "  ... and the chain goes on" 0 "$?"
stop_writd
restore
mv "$S/audit.jsonl" "$T/aside.jsonl"
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$S" --config "$T/config.json" \
	--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" 2>"$T/err"
eq "audit.jsonl gone while audit.state names it: writd refuses" "1 1" \
	"$? $(grep -c 'does not hold its last durable record\|is gone' "$T/err")"
# A crash between a rotation's rename and the new file: the chain goes on
# from the newest rotated file (the state record was not yet updated).
restore
LAST=$(head -1 "$S/audit.jsonl" | jq .seq)
mv "$S/audit.jsonl" "$S/$(printf 'audit-%020d.jsonl' "$LAST")"
printf 'writ-audit-state' >"$S/audit.state"
start_writd "$ROT" || exit 1
"$BIN/writctl" audit verify >"$T/v"
eq "a crash mid-rotation (no audit.jsonl): writd starts a new file continuing the last" 0 "$?"
check "  ... whose rotated record says why" bash -c "head -1 '$S/audit.jsonl' | jq -e '.why == \"start\"' >/dev/null"
check "  ... and writd says so" grep -q "writd: no audit.jsonl: the audit log goes on from $S/audit-" "$T/writd.log"
stop_writd
# A crash after the new file was made, in the write of its first record:
# audit.jsonl holds only a torn line (audit.state still names the file
# just rotated).  The torn line is cut and the chain goes on from the
# rotated file, not from seq 1.
restore
OLDLAST=$(tail -1 "$S/audit.jsonl" | jq .seq)
mv "$S/audit.jsonl" "$S/$(printf 'audit-%020d.jsonl' "$LAST")"
printf '{"event":"rotated","seq":%d,"ti' $((OLDLAST + 1)) >"$S/audit.jsonl"
chmod 0600 "$S/audit.jsonl"
start_writd "$ROT" || exit 1
"$BIN/writctl" audit verify >"$T/v"
eq "a crash in a new file's first record: verify passes" "0 " "$? $(grep BROKEN "$T/v")"
eq "  ... the new file continues the rotated one" "rotated $((OLDLAST + 1)) start" \
	"$(head -1 "$S/audit.jsonl" | jq -r '"\(.event) \(.seq) \(.why)"')"
check "  ... and writd says it cut the torn record" grep -q '"event":"recovered"' "$S/audit.jsonl"
stop_writd

# --- Checkpoints against truncation: a later checkpoint from the mirror.
restore
CK=$(grep '"event":"checkpoint"' "$S/audit.jsonl" | tail -1)
printf '<86>Nov 29 00:00:00 writd[42]: %s\n' "$CK" >"$T/mirror.log"
CKSEQ=$(jq .seq <<<"$CK")
start_writd "$ROT" || exit 1
"$BIN/writctl" audit verify --checkpoint "$T/mirror.log" >"$T/v"
eq "verify --checkpoint (a syslog line) on the whole log" 0 "$?"
check "  ... the log reaches it" grep -q "^given checkpoint: the log reaches the checkpoint (seq $((CKSEQ - 1)))" "$T/v"
stop_writd
# Cut the log back before the checkpoint, audit.state with it: the chain
# alone is still good, and writd starts.
CUT=$(grep -n '"event":"checkpoint"' "$T/good-state/audit.jsonl" | tail -1 | cut -d: -f1)
head -n $((CUT - 3)) "$T/good-state/audit.jsonl" >"$S/audit.jsonl"
rm "$S/audit.state"
start_writd "$ROT" || exit 1
"$BIN/writctl" audit verify >/dev/null
eq "records cut off the end (audit.state too): the chain alone still verifies" 0 "$?"
"$BIN/writctl" audit verify --checkpoint "$T/mirror.log" >"$T/v"
eq "  ... but not against the later checkpoint: truncation reported" 1 "$?"
check "  ... naming where" grep -q "TRUNCATED: the log ends at seq [0-9]*, but the signed checkpoint shows seq $((CKSEQ - 1)) was written" "$T/v"
# An older genuine checkpoint replayed into syslog after the later one:
# the furthest point still counts.
OLD=$(grep '"event":"checkpoint"' "$T/good-state/audit.jsonl" | tail -2 | head -1)
{ cat "$T/mirror.log"; printf '<86>Nov 29 00:00:01 writd[42]: %s\n' "$OLD"; } >"$T/replay.log"
"$BIN/writctl" audit verify --checkpoint "$T/replay.log" >"$T/v"
eq "  ... and with an older checkpoint replayed after it in syslog" 1 "$?"
check "  ... still naming the later one" grep -q "TRUNCATED: .* shows seq $((CKSEQ - 1)) was written" "$T/v"
# Forged: a flipped signature, and a claim moved to another seq.
sig=$(jq -r .sig <<<"$CK")
flip=$(printf '%s' "${sig:0:1}" | tr '0-9a-f' '1-9a-f0')
sed "s/\"sig\":\"${sig:0:1}/\"sig\":\"$flip/" "$T/mirror.log" >"$T/forged.log"
"$BIN/writctl" audit verify --checkpoint "$T/forged.log" >"$T/v"
eq "a checkpoint with a forged signature: refused" 1 "$?"
check "  ... saying so" grep -q "given checkpoint FAILS: the checkpoint's signature does not verify" "$T/v"
sed "s/\"at_seq\":$((CKSEQ - 1))/\"at_seq\":$((CKSEQ + 99))/; s/\"seq\":$CKSEQ,/\"seq\":$((CKSEQ + 100)),/" \
	"$T/mirror.log" >"$T/moved.log"
"$BIN/writctl" audit verify --checkpoint "$T/moved.log" >"$T/v"
eq "a checkpoint moved to a later seq: its signature fails" "1 1" \
	"$? $(grep -c 'signature does not verify' "$T/v")"
echo 'Nov 29 writd[1]: {"event":"issued"}' >"$T/none.log"
"$BIN/writctl" audit verify --checkpoint "$T/none.log" >/dev/null 2>"$T/e"
eq "verify --checkpoint FILE without a checkpoint line: an error" "1 1" "$? $(grep -c 'holds no checkpoint' "$T/e")"
"$BIN/writctl" audit verify --checkpoint "$T/no-such" >/dev/null 2>"$T/e"
check "  ... a missing FILE: an error" test $? -ne 0 -a -s "$T/e"
eq "POST /v1/audit/verify with a checkpoint that is not a string: 400" 400 \
	"$(status "$ADMIN" POST /v1/audit/verify '{"checkpoint":1}')"
eq "  ... a checkpoint that is no checkpoint: ok false, why" "false not a writ checkpoint record" \
	"$(status "$ADMIN" POST /v1/audit/verify '{"checkpoint":"{\"event\":\"x\"}"}' >/dev/null; jq -r '.ok, .checkpoint.reason' "$T/body" | xargs)"
stop_writd

# Checkpoints by time: one falls due T seconds after the last, while records came.
rm -rf "$S"; mkdir -m 0700 "$S"
start_writd '{"audit":{"checkpoint_interval":"1s","checkpoint_records":1000000}}' || exit 1
SOCK=$(new_session timed)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=t >/dev/null
wait_for grep -q '"event":"checkpoint"' "$S/audit.jsonl"
check "checkpoint_interval: a checkpoint without N records" grep -q '"event":"checkpoint"' "$S/audit.jsonl"
stop_writd

# Bad values are refused, naming the key.
for bad in '{"rotate_size":100}|audit.rotate_size: must be a number of bytes from 16384' \
	'{"rotate_size":"1M"}|audit.rotate_size: must be a number of bytes' \
	'{"rotate_size":268435457}|audit.rotate_size: must be a number of bytes' \
	'{"checkpoint_records":0}|audit.checkpoint_records: must be an integer from 1' \
	'{"checkpoint_interval":"soon"}|audit.checkpoint_interval: must be a positive duration' \
	'{"rotate":1}|unknown field .rotate. in audit'; do
	with_keyring "{\"audit\":${bad%%|*}}" >"$T/bad.json"
	"$BIN/writd" --config "$T/bad.json" --runtime-dir "$T/run2" --state-dir "$S" 2>"$T/e"
	eq "config audit ${bad%%|*}: refused, naming the key" "1 1" "$? $(grep -c "${bad#*|}" "$T/e")"
done
