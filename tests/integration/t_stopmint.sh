#!/usr/bin/env bash
# writd stopping with github writs live, and while GitHub mints one: every
# token GitHub minted is revoked there before writd exits (the revocations
# are queued for the upstream workers, which run what is queued before
# they exit), and its ledger entry closed.
. "$(dirname "$0")/lib.sh"

start_forge || { fail "the fake GitHub did not start"; exit 1; }
fake() { forge_fake "$@"; }
mode() { fake mode -d "{\"mode\":\"$1\"}" >/dev/null; }
printf '{"allow":[{"id":"ci","kind":"github","session":"ci-*","scope":{"repo":["acme/*"],"permissions":{"contents":"read"}}}]}\n' \
	>"$T/user.json"; chmod 0644 "$T/user.json"
start_writd "$FORGE_CONFIG" || exit 1
forge_app_key
CI=$(new_session ci-1)

# A live writ at a clean stop.
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/w1"
eq "a github writ is minted" 0 "$?"
T1=$(jq -r .token "$T/w1")
# One more, minted while writd stops.
mode slow
curl -s -o "$T/w2" --unix-socket "$CI" -X POST \
	--data-binary '{"kind":"github","scope":{"repo":"acme/other"}}' http://writ/v1/writs &
CURL=$!
minting() { [ "$(fake tokens | jq .calls)" -ge 1 ]; }
wait_for minting
stop_writd
eq "writd stops cleanly while GitHub mints" 0 "$?"
wait $CURL
mode ok
eq "  ... the waiting caller is answered: its session closed, no token" "session_closed null" \
	"$(jq -r '.error.code, .token' "$T/w2" | tr '\n' ' ' | sed 's/ $//')"
check "the writ live at stop is revoked at GitHub" forge_revoked "$T1"
eq "  ... and every token GitHub minted is revoked" 0 \
	"$(fake tokens | jq '[.tokens[] | select(.revoked | not)] | length')"
eq "  ... their ledger entries are closed" 0 \
	"$(jq -s '(map(select(.op=="add")) | length) - (map(select(.op=="done")) | length)' "$T/state/ledger.jsonl")"
true
