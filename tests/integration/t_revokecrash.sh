#!/usr/bin/env bash
# A revocation GitHub has not yet confirmed must survive a crash or a stop
# (issue 16): the minter's retire appends "revoked"
# and queues the upstream revocation; the ledger entry stays open until
# GitHub confirms.  After kill -9, the next start must still revoke the
# token at GitHub: a "revoked" record after the ledger's last mark must
# not close an entry whose upstream revocation never succeeded.
. "$(dirname "$0")/lib.sh"

start_forge || { fail "the fake GitHub did not start"; exit 1; }
fake() { forge_fake "$@"; }
mode() { fake mode -d "{\"mode\":\"$1\"}" >/dev/null; }
printf '{"allow":[{"id":"ci","kind":"github","session":"ci-*","scope":{"repo":["acme/*"],"permissions":{"contents":"read"}}}]}\n' \
	>"$T/user.json"; chmod 0644 "$T/user.json"
# The file lags the log by an hour: the mark stays before the revocation.
start_writd "$(jq -c '. + {audit: {ledger_lag: "1h"}}' <<<"$FORGE_CONFIG")" || exit 1
forge_app_key
CI=$(new_session ci-1)
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/w"
eq "a github writ is minted" 0 "$?"
TOK=$(jq -r .token "$T/w"); W=$(jq -r .id "$T/w")
mode revokefail
eq "given back while GitHub fails revocations: 200" 200 "$(status "$CI" DELETE "/v1/writs/$W")"
failed_once() { grep '"event":"revoke_failed"' "$T/state/audit.jsonl" | grep -q "$W"; }
wait_for failed_once
check "  ... GitHub refused the revocation (audited)" failed_once
check "  ... the token is live at GitHub" forge_valid "$TOK"
crash_writd
mode ok
start_writd "$(jq -c '. + {audit: {ledger_lag: "1h"}}' <<<"$FORGE_CONFIG")" || exit 1
revoked() { forge_revoked "$TOK"; }
WAIT_SECS=20 wait_for revoked
check "after kill -9 the next start revokes the token at GitHub" revoked
eq "  ... the revoked writ is not listed again" "" \
	"$(admin /v1/writs | jq -r --arg w "$W" '.writs[] | select(.id == $w) | .id')"
closed() { jq -e -s --arg w "$W" 'map(select(.op=="done" and .id==$w)) | length > 0' \
	"$T/state/ledger.jsonl" >/dev/null; }
check "  ... the resumed revocation is audited" \
	grep -q "\"event\":\"revoke_resumed\".*\"$W\"" "$T/state/audit.jsonl"
stop_writd
eq "writd stops cleanly" 0 "$?"
# NB. the file lags an hour: a stop commits what waits.
check "  ... the ledger entry is closed (GitHub confirmed)" closed
true

# The same at a clean stop: the writs live at stop are revoked ("writd shut
# down"), GitHub refuses, their entries stay open.  The next start must
# not bring such a writ back as live (listed, its token honoured until
# its expiry): its revocation is owed, and resumed at once.
mkdir -m 0700 "$T/stop-state"
STATE=$T/stop-state start_writd "$(jq -c '. + {audit: {ledger_lag: "1h"}}' <<<"$FORGE_CONFIG")" || exit 1
CI=$(new_session ci-2)
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/s"
eq "stop: a github writ is minted" 0 "$?"
TOK=$(jq -r .token "$T/s"); W=$(jq -r .id "$T/s")
mode revokefail
stop_writd
eq "  ... writd stops while GitHub refuses its revocation" 0 "$?"
check "  ... the token is still live at GitHub" forge_valid "$TOK"
mode ok
STATE=$T/stop-state start_writd "$(jq -c '. + {audit: {ledger_lag: "1h"}}' <<<"$FORGE_CONFIG")" || exit 1
eq "  ... the next start does not list the writ revoked at stop" "" \
	"$(admin /v1/writs | jq -r --arg w "$W" '.writs[] | select(.id == $w) | .id')"
WAIT_SECS=20 wait_for revoked
check "  ... and revokes its token at GitHub" revoked
stop_writd
true
