#!/usr/bin/env bash
# The channel between writd's front end and its minter (issue 16), driven
# by a compromised front end: tests/tools/minterdrive starts writd-minter
# exactly as writd does (the channel on fd 3, the configuration's text in a
# memfd, the paths as flags) and writes whatever its script says, well
# formed or not (see its header for the commands).  What holds:
#   - MINT is decided again by the enterprise layer (deny, limits, live
#     writs as the minter counts them, user_allow: false);
#   - a scope not in its canonical form, text or value, an unknown kind, a
#     TTL over the kind's maximum: refused with a clear error, audited
#     "mint_refused", nothing issued;
#   - writ ids are the minter's, fresh on every MINT;
#   - a message the table refuses ends the channel: FATAL, "channel_refused",
#     what the minter issued on it revoked, exit 1;
#   - every token handed out has its durable "issued" record (and ledger
#     entry) before its answer;
#   - AUDIT_APPEND of an event only the minter writes, or of fields that
#     set a record's own members, is refused;
#   - the front end dying ends the minter without revoking anything.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "the enterprise policy must be root-owned: these tests need root"
	exit 0
fi
if [ ! -x "$BIN/minterdrive" ]; then
	fail "minterdrive is not built (make $BIN/minterdrive)"
	exit 0
fi
put() { printf '%s\n' "$2" >"$1"; chmod 0644 "$1"; }
put "$T/enterprise.json" '{"deny":[{"id":"no-secret","kind":"jwt","scope":{"aud":"secret*"},
 "why":"secret audiences are off limits"}],
 "limits":{"jwt":{"max_ttl":"2m"},"session":{"max_live":2}}}'
put "$T/open.json" '{}'
put "$T/ask.json" '{"user_allow":false,"deny":[{"id":"no-secret","kind":"jwt",
 "scope":{"aud":"secret*"}}]}'
with_keyring >"$T/config.json"
mkdir -m 0700 "$T/run"
# The session minterdrive's orders name, unless a script sets another.
SID=5e55105e55105e55105e55105e551050

# drive NAME [STATE [ENTERPRISE]]: stdin's script against a new minter on
# state dir $T/s-STATE (default NAME; kept for a later run) and the
# enterprise policy (default $T/enterprise.json); the driver's lines in
# $T/NAME.out, the minter's stderr in $T/NAME.err.
drive() {
	local name=$1 state=${2:-$1} ent=${3:-$T/enterprise.json}
	[ -d "$T/s-$state" ] || mkdir -m 0700 "$T/s-$state"
	# HELLO first, as writd says it (NOHELLO=1: the script's own first line).
	{ [ -n "${NOHELLO:-}" ] || echo hello; cat; } |
	"$BIN/minterdrive" --runtime-dir "$T/run" --state-dir "$T/s-$state" \
		--enterprise-policy "$ent" --config "$T/config.json" \
		>"$T/$name.out" 2>"$T/$name.err"
}

# af NAME ID KEY: KEY of the ANSWER to request ID in NAME's run.
af() {
	jq -r --argjson id "$2" --arg k "$3" 'select(.type == "ANSWER" and .id == $id) | .[$k]' \
		"$T/$1.out"
}
# events STATE EVENT: the records of EVENT in STATE's audit log, one a line.
events() { jq -c --arg e "$2" 'select(.event == $e)' "$T/s-$1/audit.jsonl"; }
nevents() { events "$1" "$2" | grep -c .; }
# added STATE: the writs with an entry in STATE's ledger, sorted.
added() { jq -r 'select(.op == "add") | .id' "$T/s-$1/ledger.jsonl" | sort -u; }
# issued STATE: the writs of STATE's "issued" records, sorted.
issued() { events "$1" issued | jq -r .writ | sort -u; }
# minted NAME: the writs NAME's run was handed, sorted.
minted() {
	jq -r 'select(.type == "ANSWER" and .of == "MINT" and .code == 0) | .writ' "$T/$1.out" |
		sort -u
}
# ended NAME: how NAME's minter ended: "FATAL exit 1", "exit 1", ...
ended() {
	jq -r 'select(.type == "FATAL" or .type == "exit" or .type == "signal" or
		.type == "killed") | .type + (if .status != null then " \(.status)" else "" end)' \
		"$T/$1.out" | paste -sd' '
}
# refused_ok NAME ID ERROR TEXT: the answer to ID is the error ERROR whose
# message holds TEXT.
refused_ok() {
	[ "$(af "$1" "$2" error)" = "$3" ] && af "$1" "$2" message | grep -qF -- "$4"
}

# --- The enterprise layer, decided again by the minter ---------------------
# The order says the session holds no writ (live 0): the minter counts its own.
drive limits <<'EOF'
set live 0
set live_kind 0
mint jwt 60 {"aud":"secret-plans"}
mint jwt 300 {"aud":"long"}
sync
mint jwt 60 {"aud":"one"}
sync
mint jwt 60 {"aud":"two"}
sync
mint jwt 60 {"aud":"three"}
sync
revoke last given back
sync
mint jwt 60 {"aud":"four"}
sync
EOF
check "an enterprise deny rule refuses a MINT (policy_denied, deny no-secret)" \
	refused_ok limits 1 policy_denied "deny no-secret"
check "an enterprise limit refuses a MINT over it (limits.jwt.max_ttl)" \
	refused_ok limits 2 policy_denied "limits.jwt.max_ttl"
eq "orders within the limits are issued" "0 0" "$(af limits 3 code) $(af limits 4 code)"
check "the third live writ is refused (limits.session.max_live 2), though the order says none is live" \
	refused_ok limits 5 policy_denied "limits.session.max_live"
eq "  ... one given back (REVOKE), the next is issued: the minter counts what it holds" \
	"0 0" "$(af limits 6 code) $(af limits 7 code)"
eq "three issued records, one per writ handed out" "$(minted limits)" "$(issued limits)"
eq "  ... nothing issued for the refused orders" "" \
	"$(events limits issued | jq -r '.scope.aud' | grep -E 'secret|long|three')"
eq "  ... each refused order audited mint_refused, with its session, kind and error" \
	"policy_denied jwt $SID|policy_denied jwt $SID|policy_denied jwt $SID" \
	"$(events limits mint_refused | jq -r '"\(.error) \(.kind) \(.session)"' | paste -sd'|')"
eq "  ... the ledger holds the issued writs alone" "$(minted limits)" "$(added limits)"

# user_allow: false keeps the allow rules to the enterprise: what it would
# ask a person needs an approval named in the order; a deny stays final.
drive ask ask "$T/ask.json" <<'EOF'
mint jwt 60 {"aud":"x"}
sync
set approval 00112233445566778899aabbccddeeff
mint jwt 60 {"aud":"x"}
mint jwt 60 {"aud":"secret-x"}
sync
EOF
check "user_allow false: an order naming no approval is refused" \
	refused_ok ask 1 policy_denied "only with a person's approval"
eq "  ... one naming an approval is issued" 0 "$(af ask 2 code)"
check "  ... an approval does not override an enterprise deny" \
	refused_ok ask 3 policy_denied "deny no-secret"
eq "  ... one issued record" 1 "$(nevents ask issued)"

# --- Scopes, kinds and TTLs the minter refuses -----------------------------
# Well-formed messages whose order is not: answered with an error, the
# channel goes on.  (The canonical jwt scope is {"aud":"x","scope":["read"]}.)
drive scopes scopes "$T/open.json" <<'EOF'
mint jwt 60 {"scope":["read"],"aud":"x"}
mint jwt 60 {"aud": "x"}
mint jwt 60  {"aud":"x"}
mint jwt 60 {"aud":"x","aud":"y"}
mint jwt 60 {"aud":"\u0078"}
mint jwt 60 {"aud":"a/../b"}
mint jwt 60 {"aud":"acme/*"}
mint jwt 60 {"aud":"caf\xc3\xa9"}
mint jwt 60 {"aud":"x\xe2\x80\x8by"}
mint jwt 60 {"aud":"x","scope":"read"}
mint jwt 60 {"aud":"x","scope":["write","read"]}
mint jwt 60 {"aud":"x","jti":"0123456789abcdef0123456789abcdef"}
mint github 60 {"permissions":{"contents":"read"},"repo":["Acme/Widgets"]}
mint nosuch 60 {"aud":"x"}
mint jwt 3601 {"aud":"x"}
mint jwt 60 {"aud":"x","scope":["read"]}
sync
EOF
check "keys out of order: refused, not its canonical text" \
	refused_ok scopes 1 bad_request "'scope' is not in its canonical text"
check "extra whitespace inside: refused" refused_ok scopes 2 bad_request "canonical text"
check "extra whitespace before: refused" refused_ok scopes 3 bad_request "canonical text"
check "a duplicate key: refused" refused_ok scopes 4 bad_request "duplicate"
check "an escape a character does not need (\\u0078): refused" \
	refused_ok scopes 5 bad_request "canonical text"
check "'..': refused by the kind's grammar, which says why" \
	refused_ok scopes 6 bad_scope "jwt's grammar takes: scope.aud must be"
check "a wildcard: refused" refused_ok scopes 7 bad_scope "jwt's grammar takes"
check "non-ASCII (é): refused" refused_ok scopes 8 bad_scope "jwt's grammar takes"
check "a zero-width space: refused" refused_ok scopes 9 bad_scope "jwt's grammar takes"
check "a value the grammar writes otherwise (a string for a list): refused" \
	refused_ok scopes 10 bad_scope "not in its canonical form"
check "a list out of order: refused" refused_ok scopes 11 bad_scope "not in its canonical form"
check "a key the grammar does not know (jti): refused" \
	refused_ok scopes 12 bad_scope "unknown field 'jti'"
check "github: a repository not in lower case: refused" \
	refused_ok scopes 13 bad_scope "not in its canonical form"
check "an unknown kind: refused" refused_ok scopes 14 unknown_kind "no such kind"
check "a TTL over the kind's max_ttl (1h): refused" \
	refused_ok scopes 15 ttl_too_long "1 to 3600 seconds"
eq "  ... and the channel goes on: the canonical order after them is issued" 0 \
	"$(af scopes 16 code)"
eq "one issued record, its own" "$(minted scopes)" "$(issued scopes)"
eq "each refusal audited mint_refused (15), naming its error" \
	"bad_request:5 bad_scope:8 ttl_too_long:1 unknown_kind:1" \
	"$(events scopes mint_refused | jq -r .error | sort | uniq -c | awk '{ print $2 ":" $1 }' |
		paste -sd' ')"
eq "  ... with the session" "$SID" \
	"$(events scopes mint_refused | jq -r .session | sort -u)"
eq "  ... nothing in the ledger but the one writ" "$(minted scopes)" "$(added scopes)"

# --- Writ ids: the minter's, fresh on every MINT ---------------------------
# MINT has no id field; the same order three times, one naming an approval.
drive ids ids "$T/open.json" <<'EOF'
mint jwt 60 {"aud":"same"}
mint jwt 60 {"aud":"same"}
set approval 0123456789abcdef0123456789abcdef
mint jwt 60 {"aud":"same"}
sync
EOF
eq "three identical orders, three writs" 3 "$(minted ids | grep -cE '^[0-9a-f]{32}$')"
eq "  ... none is an id the order carried (session, approval)" "" \
	"$(minted ids | grep -E "^($SID|0123456789abcdef0123456789abcdef)$")"
jti_ok() {
	local w t
	for id in 1 2 3; do
		w=$(af ids "$id" writ)
		t=$(af ids "$id" token | cut -d. -f2 | b64url_decode)
		[ "$(jq -r .jti <<<"$t")" = "$w" ] && [ "$(jq -r .sub <<<"$t")" = "$SID" ] || return 1
	done
}
check "  ... each token's jti is its writ's id, its sub the session" jti_ok
# A second minter on the same state, the same order: still new ids.
drive ids2 ids "$T/open.json" <<'EOF'
mint jwt 60 {"aud":"same"}
sync
EOF
eq "  ... and a new run of the minter makes new ones" "" \
	"$(comm -12 <(minted ids) <(minted ids2))"

# --- Every token handed out is recorded, durably, before its answer -------
# Read the log at once after each answer (sh runs between two commands).
cat >"$T/recorded.sh" <<'EOF'
#!/bin/sh
# recorded LOG: the last writ's "issued" record, with its token's fingerprint.
grep -F "\"fingerprint\":\"$FP\"" "$1" | grep -F "\"writ\":\"$WRIT\"" | grep -q '"event":"issued"'
EOF
chmod 0755 "$T/recorded.sh"
drive durable durable "$T/open.json" <<EOF
mint jwt 60 {"aud":"d1"}
sync
sh $T/recorded.sh $T/s-durable/audit.jsonl
mint jwt 60 {"aud":"d2","scope":["read"]}
sync
sh $T/recorded.sh $T/s-durable/audit.jsonl
close
drain
EOF
eq "each answer's issued record, with its fingerprint, is in the log when the answer comes" \
	"0 0" "$(jq -r 'select(.type == "sh") | .status' "$T/durable.out" | paste -sd' ')"
eq "  ... the fingerprint the answer says is the one audited" \
	"$(jq -r 'select(.type == "ANSWER") | .fingerprint' "$T/durable.out" | sort)" \
	"$(events durable issued | jq -r .fingerprint | sort)"
eq "  ... and each writ has its ledger entry" "$(minted durable)" "$(added durable)"
# With the issued record's sync held, no answer comes; once it is durable,
# it does.  (The window opens once the sync is seen held: a hang guard of
# 10 s for that, then 1 s in which an answer would be a bug, not a race.)
cat >"$T/held.sh" <<'EOF'
#!/bin/sh
i=0
until grep -qs '^held' "$1"; do
	i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05
done
EOF
chmod 0755 "$T/held.sh"
LD_PRELOAD=$SHIM WRIT_TEST_SYNC_HANG=$T/hold WRIT_TEST_SYNC_LOG=$T/hold.log \
	WRIT_TEST_SYNC_ONLY=audit.jsonl ASAN_OPTIONS=$ASAN_SHIM drive held held "$T/open.json" <<EOF
audit_key
sync
sh touch $T/hold
mint jwt 60 {"aud":"held"}
sh $T/held.sh $T/hold.log
sync 1000
sh rm -f $T/hold
sync
sh $T/recorded.sh $T/s-held/audit.jsonl
EOF
eq "with the issued record's sync held, the MINT is not answered" "[2]" \
	"$(jq -c 'select(.type == "timeout") | .waiting' "$T/held.out")"
eq "  ... (its sync was held), then answered once released, recorded" "0 0 0" \
	"$(jq -r 'select(.type == "sh") | .status' "$T/held.out" | sed 1d | paste -sd' ')"
eq "  ... the answer came after the release" "sh ANSWER" \
	"$(jq -r 'select(.type == "sh" or (.type == "ANSWER" and .of == "MINT")) | .type' \
		"$T/held.out" | sed -n '3,4p' | paste -sd' ')"

# --- AUDIT_APPEND: the front end's events only ------------------------------
{
	echo "append session_opened {\"front\":\"ok\",\"session\":\"$SID\"}"
	for e in issued revoked rotated checkpoint expired restored started stopped \
		mint_refused mint_failed channel_refused revoked_upstream revoke_failed; do
		echo "append $e {\"forged\":\"$e\",\"writ\":\"0123456789abcdef0123456789abcdef\"}"
	done
	for k in event seq time mac; do
		echo "append request {\"forged\":\"$k\",\"$k\":\"issued\"}"
	done
	echo 'append request {"front":"nested","x":{"event":"issued"}}'
	echo sync
	echo verify
	echo sync
} | drive append append "$T/open.json"
eq "a front end's event is appended" "0 0" "$(af append 1 code) $(af append 19 code)"
refused_all() {
	local i
	for i in $(seq 2 14); do
		refused_ok append "$i" bad_request "is not the front end's to write" || return 1
	done
}
check "  ... the minter's own events (issued, revoked, rotated, checkpoint, ...: 13) are refused" \
	refused_all
own_refused() {
	local i k=(event seq time mac)
	for i in 0 1 2 3; do
		refused_ok append $((15 + i)) bad_request "'${k[$i]}' is the record's own" || return 1
	done
}
check "  ... fields that set a record's own members (event, seq, time, mac) are refused" own_refused
eq "  ... none of them is in the log" 0 "$(grep -c forged "$T/s-append/audit.jsonl")"
eq "  ... and the log verifies" true \
	"$(jq -r 'select(.type == "ANSWER" and .of == "AUDIT_VERIFY") | .json.ok' "$T/append.out")"
# A record over the size of one (8 KiB with its own members and mac) is not
# written, and said so: too_large, never audit_unavailable, on which the
# front end would stop issuing for good.
{
	echo "append request {\"p\":\"$(head -c 8150 /dev/zero | tr '\0' x)\"}"
	echo 'append request {"after":"big"}'
	echo sync
} | drive big append "$T/open.json"
check "AUDIT_APPEND of a record over the size of one: too_large, the log not taken for broken" \
	refused_ok big 1 too_large "the record is over the size of one"
eq "  ... and the next record is written" "0 1" \
	"$(af big 2 code) $(grep -c '"after":"big"' "$T/s-append/audit.jsonl")"

# --- Messages the table refuses: the channel ends ---------------------------
# malformed NAME EXPECT LINE...: the minter has issued a writ on this
# channel; then the script's LINEs, the channel shut for writing, and
# what comes read.  The minter says FATAL, audits channel_refused with
# EXPECT in its error, revokes the writ, issues nothing more, exits 1.
malformed() {
	local name=$1 expect=$2 w
	shift 2
	printf '%s\n' 'mint jwt 60 {"aud":"before"}' sync "$@" eof drain |
		drive "$name" "$name" "$T/open.json"
	w=$(af "$name" 1 writ)
	check "$name: refused by the table ($expect)" bash -c \
		"jq -r 'select(.event == \"channel_refused\") | .error' '$T/s-$name/audit.jsonl' |
		grep -qF -- \"\$1\"" _ "$expect"
	eq "  ... FATAL, then exit 1" "FATAL exit 1" "$(ended "$name")"
	eq "  ... the writ it had issued on that channel revoked, nothing more issued" \
		"$w revoked, 1 issued" \
		"$(events "$name" revoked | jq -r .writ) revoked, $(nevents "$name" issued) issued"
}
malformed version "the peer speaks version 2, this is version" 'next version=2' audit_key
malformed hello "HELLO: the peer speaks version 2" 'hello 2'
malformed type "no message has type 99" 'frame 99 7'
malformed hello2 "HELLO again" 'hello'
# The front end's HELLO comes first (break: serve.c's greeted check).
printf '%s\n' 'mint jwt 60 {"aud":"first"}' sync eof drain | NOHELLO=1 drive nohello nohello
check "a MINT before the front end's HELLO: refused by the table" grep -q \
	'"event":"channel_refused".*MINT before HELLO' "$T/s-nohello/audit.jsonl"
eq "  ... nothing issued" 0 "$(nevents nohello issued)"
malformed answer "ANSWER is not sent by the front end" \
	"frame ANSWER 7 $(printf '02000000 0000000000000000 00000000 00 00000000')"
malformed toobig "length 65537 is over the 65536 bytes" 'raw 01000100'
malformed short "length 8 is shorter than the header" 'raw 08000000'
malformed truncated "the message is cut short at 40 bytes" 'next truncate=40' \
	'mint jwt 60 {"aud":"cut"}'
malformed trailing "MINT: 1 bytes after its last field" 'next trailing=00' \
	'mint jwt 60 {"aud":"trailing"}'
# A writ id of the front end's choosing has no field to go in: it is bytes after the last.
malformed writid "MINT: 32 bytes after its last field" \
	"next trailing=$(printf 0123456789abcdef0123456789abcdef | od -An -v -tx1 | tr -d ' \n')" \
	'mint jwt 60 {"aud":"chosen"}'
malformed nul "MINT: 'kind' holds a NUL" 'mint jw\x00t 60 {"aud":"x"}'
malformed nulscope "MINT: 'scope' holds a NUL" 'mint jwt 60 {"aud":"x\x00y"}'
malformed utf8 "MINT: 'name' is not valid UTF-8" 'set name dev\xff' 'mint jwt 60 {"aud":"x"}'
malformed surrogate "MINT: 'scope' is not valid UTF-8" 'mint jwt 60 {"aud":"\xed\xa0\x80"}'
malformed overlong "MINT: 'scope' is not valid UTF-8" 'mint jwt 60 {"aud":"\xc0\xaf"}'
# A TTL of 0 or less is outside the table's own range for the field: the
# message is refused whole, before any order is read (stricter than a
# mint_refused).
malformed ttl0 "MINT: 'ttl' is 0, out of its range" 'mint jwt 0 {"aud":"x"}'
malformed ttlneg "MINT: 'ttl' is -60, out of its range" 'mint jwt -60 {"aud":"x"}'
malformed reqid "MINT with request id 0" 'next id=0' 'mint jwt 60 {"aud":"x"}'
check "the minter says on stderr why it stopped trusting the front end" \
	grep -q "the front end sent a message the request table refuses (length 65537" \
	"$T/toobig.err"
# NB. the length is judged from the first four bytes alone.
eq "  ... a length over 64 KiB is refused with only its four bytes sent" 4 \
	"$(jq -r 'select(.type == "sent" and .msg == "raw") | .bytes' "$T/toobig.out")"

# --- The front end dies: the minter ends, revoking nothing ------------------
drive dies dies "$T/open.json" <<'EOF'
mint jwt 600 {"aud":"kept1"}
mint jwt 600 {"aud":"kept2"}
sync
close
drain
EOF
eq "the channel closed: the minter exits 1, without a FATAL" "exit 1" "$(ended dies)"
check "  ... saying the front end is gone" grep -q "the front end is gone" "$T/dies.err"
eq "  ... nothing revoked, nothing refused" "0 0" \
	"$(nevents dies revoked) $(nevents dies channel_refused)"
eq "  ... both writs in the ledger" "$(minted dies)" "$(added dies)"
drive dies2 dies "$T/open.json" <<'EOF'
restore
sync
stop
sync
drain
EOF
eq "  ... the next minter brings both back (RESTORE)" "$(minted dies)" \
	"$(jq -r 'select(.type == "RESTORED") | .writ' "$T/dies2.out" | sort)"
eq "  ... and its clean stop (STOP) revokes them, exit 0" "$(minted dies) exit 0" \
	"$(events dies revoked | jq -r .writ | sort) $(ended dies2)"
# The driver killed: its end of the channel closes with it.  (NB. in a
# subshell, whose word on the killed job goes nowhere.)
(drive killed killed "$T/open.json" <<'EOF'
mint jwt 600 {"aud":"k"}
sync
sh kill -KILL $DRIVER
EOF
) 2>/dev/null
MP=$(jq -r 'select(.type == "started") | .pid' "$T/killed.out")
# NB. an orphan's zombie, where nothing reaps it, is gone too.
minter_gone() { ! kill -0 "$MP" 2>/dev/null || grep -q '^State:.*Z' "/proc/$MP/status"; }
check "the driver killed: its minter exits" wait_for minter_gone
# NB. lib.sh's cleanup does not know this orphan: it goes now if it stayed.
minter_gone || kill -KILL "$MP" 2>/dev/null
check "  ... saying the front end is gone" grep -q "the front end is gone" "$T/killed.err"
eq "  ... its writ is not revoked, and is in the ledger" "0 $(minted killed)" \
	"$(nevents killed revoked) $(added killed)"

# --- Orders in flight: bounded ----------------------------------------------
# An upstream that never answers (a port that takes connections and says
# nothing) keeps each github order in flight until its timeout.  A front
# end that sends more than any honest one can have in flight (twice
# writd's 4096 connections) has those past the bound refused at once, not
# kept in the minter's memory.
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True); time.sleep(300)' >"$T/hole.port" &
HOLE=$!
wait_for test -s "$T/hole.port"
openssl genrsa -out "$T/app.pem" 2048 2>/dev/null
with_keyring "$(jq -cn --arg api "https://127.0.0.1:$(cat "$T/hole.port")" \
	'{kinds: {github: {app_id: "1", api_url: $api, installation_id: 1, timeout: "60s"}}}')" \
	>"$T/hole.json"
mkdir -m 0700 "$T/s-hole"
{
	echo hello
	echo "secret_put github-app-key $(od -An -tx1 "$T/app.pem" | tr -d ' \n')"
	echo sync
	for i in $(seq 8202); do
		echo 'mint github 600 {"permissions":{"contents":"read"},"repo":["acme/widgets"]}'
	done
	echo sleep 3000
} | "$BIN/minterdrive" --runtime-dir "$T/run" --state-dir "$T/s-hole" \
	--enterprise-policy "$T/open.json" --config "$T/hole.json" >"$T/hole.out" 2>"$T/hole.err"
kill "$HOLE"; wait "$HOLE" 2>/dev/null
eq "orders past 8192 in flight are refused at once (too_many_connections): the last 10" \
	"$(seq 8194 8203 | paste -sd' ')" "$(jq -r 'select(.type == "ANSWER" and .of == "MINT" and
	.error == "too_many_connections") | .id' "$T/hole.out" | paste -sd' ')"
check "  ... saying why" grep -q 'holds 8192 orders in flight' "$T/hole.out"
true
