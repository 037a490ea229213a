#!/usr/bin/env bash
# The minter's side of issuing (minter.h): it checks each MINT again and
# records it before the token leaves.  Here, through the real writd: the
# enterprise's limit on live writs holds at the mint, not only when the
# request was asked (two requests asked while the session held none,
# approved one after the other: the second would break the limit, and is
# refused, audited, with nothing issued); a refused mint is recorded.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "the enterprise policy must be root-owned: these tests need root"
	exit 0
fi
put() { printf '%s\n' "$2" >"$1"; chmod 0644 "$1"; }
put "$T/enterprise.json" '{"limits":{"session":{"max_live":1}}}'
put "$T/user.json" '{}'
start_writd || exit 1
SOCK=$(new_session limited)
approver_on
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=one >"$T/one" 2>"$T/one.err" &
ONE=$!
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=two >"$T/two" 2>"$T/two.err" &
TWO=$!
check "both are asked while the session holds no writ" wait_for npending_is 2
ids=$(admin /v1/requests | jq -r '.requests | sort_by(.scope.aud) | .[].id')
first=$(head -1 <<<"$ids") second=$(tail -1 <<<"$ids")
"$BIN/writctl" approve "$first" >/dev/null
wait "$ONE"
eq "the first, approved, is issued" 0 "$?"
"$BIN/writctl" approve "$second" >/dev/null
wait "$TWO"
code=$?
check "the second, approved too, is refused: it would be the session's second live writ ($code)" \
	test "$code" -ne 0
check "  ... saying the enterprise's limit refuses it" grep -q 'max_live' "$T/two.err"
eq "  ... one writ live" 1 "$(nwrits)"
eq "  ... one issued record" 1 "$(grep -c '"event":"issued"' "$T/state/audit.jsonl")"
SID=$(sess "$SOCK" /v1/health | jq -r .session.id)
# NB. wait_for: appended before the answer, written by the log's commit thread.
refused_audited() {
	grep '"event":"mint_refused"' "$T/state/audit.jsonl" | grep 'max_live' |
		jq -e --arg s "$SID" 'select(.session == $s and .kind == "jwt")' >/dev/null
}
check "  ... and the refused mint is audited, with its session and kind" wait_for refused_audited
approver_off
stop_writd
