#!/usr/bin/env bash
# Writs leave at their expiry, in expiry order, whatever order they came in;
# the signing key stays usable across its idle closing.
. "$(dirname "$0")/lib.sh"

printf '{"allow":[{"kind":"jwt","scope":{"aud":"*"}}]}\n' >"$T/user.json"; chmod 0644 "$T/user.json"
start_writd || exit 1
SOCK=$(new_session exp)
# Times are whole seconds and a writ ends as its last second begins (never
# late): gaps of several seconds keep this test steady.
for t in 4s 1s 60s 8s 1s; do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=t$t" --ttl "$t" >/dev/null
done
sleep 2.2
eq "after 2.2s the two 1s writs are gone" "t4s t60s t8s" \
	"$(admin /v1/writs | jq -r '[.writs[].scope.aud] | sort | join(" ")')"
sleep 7
eq "after 9.2s only the 60s writ is left" "t60s" "$(admin /v1/writs | jq -r '[.writs[].scope.aud] | join(" ")')"
eq "  ... and the session counts one live writ" 1 "$(admin /v1/sessions | jq '.sessions[0].live')"
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=again >/dev/null
eq "the signing key works again after closing while idle" 0 "$?"

# writctl writs: list and revoke, one or a whole session's.
for i in 1 2 3; do WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=w$i" >/dev/null; done
"$BIN/writctl" writs ls >"$T/wl"
eq "writctl writs ls lists every live writ (t60s, again, w1-w3)" 5 "$(wc -l <"$T/wl")"
check "  ... never a token" bash -c "! grep -q 'eyJ' '$T/wl'"
WID=$(head -1 "$T/wl" | cut -d' ' -f1)
"$BIN/writctl" writs revoke "$WID" >/dev/null
eq "writctl writs revoke ID" 4 "$(nwrits)"
"$BIN/writctl" writs revoke --session "$(sess "$SOCK" /v1/health | jq -r .session.id)" >"$T/out"
eq "writctl writs revoke --session" 0 "$(nwrits)"
check "  ... says how many" grep -q 'revoked 4 writs' "$T/out"
check "revocations are audited with why" bash -c "grep '\"event\":\"revoked\"' '$T/state/audit.jsonl' | grep -q 'revoked by the admin'"
check "expiries are audited" grep -q '"event":"expired"' "$T/state/audit.jsonl"

# A session tied to a process closes, revoking its writs, when it exits.
sleep 300 &
SLEEPER=$!
PSOCK=$("$BIN/writctl" sessions new tied --pid "$SLEEPER")
WRIT_SOCKET=$PSOCK "$BIN/writ" get jwt --scope aud=tied >/dev/null
eq "a writ of the tied session" 1 "$(nwrits)"
kill $SLEEPER; wait $SLEEPER 2>/dev/null
wait_for test ! -e "$PSOCK"
check "the process exits: the session's socket is gone" test ! -e "$PSOCK"
eq "  ... its writs are revoked" 0 "$(nwrits)"
check "  ... and that is audited" bash -c "grep -q 'its process exited' '$T/state/audit.jsonl'"
eq "a pid that does not exist is refused" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"x","pid":999999999}')"
eq "a pid of the wrong type is refused" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"x","pid":"1"}')"
