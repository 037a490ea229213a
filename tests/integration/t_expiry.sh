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
eq "five live writs" 5 "$(nwrits)"
sleep 2.2
eq "after 2.2s the two 1s writs are gone" "t4s t60s t8s" \
	"$(admin /v1/writs | jq -r '[.writs[].scope.aud] | sort | join(" ")')"
sleep 7
eq "after 9.2s only the 60s writ is left" "t60s" "$(admin /v1/writs | jq -r '[.writs[].scope.aud] | join(" ")')"
eq "  ... and the session counts one live writ" 1 "$(admin /v1/sessions | jq '.sessions[0].live')"
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=again >/dev/null
eq "the signing key works again after closing while idle" 0 "$?"
