#!/usr/bin/env bash
# GitHub's rate limits are remembered (issue 14): after GitHub answers a
# token request for an installation as rate limited, writd refuses that
# installation's requests itself -- 503 upstream_rate_limited with the
# Retry-After left, before any person is asked and with nothing sent to
# GitHub -- until the window has passed.  Other installations go on.
. "$(dirname "$0")/lib.sh"

start_forge || { fail "the fake GitHub did not start"; exit 1; }
fake() { forge_fake "$@"; }
# minted INSTALLATION: token requests the fake has had for it (any answer).
minted() { fake tokens | jq --arg i "$1" '.minted_calls[$i] // 0'; }
limit() { fake ratelimit -d "{\"installation\":$1,\"seconds\":$2,\"how\":\"$3\"}" >/dev/null; }
asked() { grep -c '"event":"approval_asked"' "$T/state/audit.jsonl"; }
REQ_A='{"kind":"github","scope":{"repo":"acme/widgets"},"reason":"rate limit test"}'
REQ_B='{"kind":"github","scope":{"repo":"beta/gadgets"}}'
# post SOCKET BODY: the status; body in $T/body, headers in $T/hdr.
post() {
	curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' --unix-socket "$1" -X POST \
		--data-binary "$2" http://writ/v1/writs
}
retry_after() { tr -d '\r' <"$T/hdr" | sed -n 's/^[Rr]etry-[Aa]fter: *//p'; }

# Installations looked up per owner: acme is 4242, beta 4343.  Session
# "ci-*" is allowed without a prompt, "dev" is asked.
printf '{"deny":[{"id":"no-secret","kind":"github","scope":{"repo":"acme/secret*"},"why":"not for agents"}],"allow":[{"id":"ci","kind":"github","session":"ci-*","scope":{"repo":["acme/*","beta/*"],"permissions":{"contents":"read"}}}]}\n' \
	>"$T/user.json"; chmod 0644 "$T/user.json"
start_writd "$(jq -c 'del(.kinds.github.installation_id)' <<<"$FORGE_CONFIG")" || exit 1
forge_app_key
CI=$(new_session ci-1)
DEV=$(new_session dev)
approver_on

eq "before any limit, acme is minted" 201 "$(post "$CI" "$REQ_A")"
eq "  ... and beta" 201 "$(post "$CI" "$REQ_B")"

# Primary limit: 403, x-ratelimit-remaining 0, x-ratelimit-reset in 2 s.
limit 4242 2 primary
n=$(minted 4242)
eq "GitHub rate limits acme's installation: 503 upstream_rate_limited" \
	"503 upstream_rate_limited" "$(post "$CI" "$REQ_A") $(jq -r .error.code "$T/body")"
eq "  ... it was asked once" $((n + 1)) "$(minted 4242)"
n=$(minted 4242)
a=$(asked)
eq "the next request for acme: 503 at once" "503 upstream_rate_limited" \
	"$(post "$DEV" "$REQ_A") $(jq -r .error.code "$T/body")"
ra=$(retry_after)
# NB. x-ratelimit-reset is whole Unix seconds (the fake rounds 2 s up): 1-3.
check "  ... with Retry-After, the seconds left (1-3), got '$ra'" \
	sh -c "[ '$ra' -ge 1 ] && [ '$ra' -le 3 ]"
eq "  ... the same in the JSON error" "$ra" "$(jq -r .error.retry_after "$T/body")"
check "  ... and a message that says when to retry" \
	sh -c "jq -r .error.message '$T/body' | grep -q 'retry in [0-9]*s'"
eq "  ... no person was asked (no approval_asked, nothing pending)" "$a 0" "$(asked) $(npending)"
eq "  ... GitHub was not called" "$n" "$(minted 4242)"
eq "  ... audited as a request refused: rate_limited, tier upstream" "rate_limited upstream" \
	"$(grep '"event":"request"' "$T/state/audit.jsonl" | tail -1 | jq -r '"\(.decision) \(.tier)"')"
eq "  ... an allowed request is refused alike, not sent" "503 $n" "$(post "$CI" "$REQ_A") $(minted 4242)"
# Another installation is not affected.
m=$(minted 4343)
eq "beta's installation is unaffected: minted" 201 "$(post "$CI" "$REQ_B")"
eq "  ... sent to GitHub" $((m + 1)) "$(minted 4343)"
# A policy deny stays a deny: the rate limit is asked after policy.
eq "a request policy denies is still 403 policy_denied" "403 policy_denied no-secret" \
	"$(post "$CI" '{"kind":"github","scope":{"repo":"acme/secret"}}') $(jq -r '"\(.error.code) \(.error.rule)"' "$T/body")"

# After the window: acme goes upstream again (waiting is fine, never timed).
sleep 4
eq "after the window, acme is minted again" 201 "$(post "$CI" "$REQ_A")"
eq "  ... GitHub was called" $((n + 1)) "$(minted 4242)"

# A request approved before the limit was known is not sent while it lasts.
post "$DEV" "$REQ_B" >"$T/late.status" &
P=$!
ID=$(pending_id)
limit 4343 2 secondary
eq "secondary limit (429, retry-after) on beta: 503" "503" "$(post "$CI" "$REQ_B")"
ra=$(retry_after)
check "  ... with Retry-After from retry-after (1-3), got '$ra'" \
	sh -c "[ '$ra' -ge 1 ] && [ '$ra' -le 3 ]"
m=$(minted 4343)
eq "  ... then refused locally" "503 $m" "$(post "$CI" "$REQ_B") $(minted 4343)"
"$BIN/writctl" approve "$ID" >/dev/null
wait "$P"
eq "beta's request approved before the limit: 503, not sent" "503 $m" \
	"$(cat "$T/late.status") $(minted 4343)"
eq "  ... audited as mint_failed upstream_rate_limited" upstream_rate_limited \
	"$(grep '"event":"mint_failed"' "$T/state/audit.jsonl" | tail -1 | jq -r .error)"
sleep 4
eq "beta after its window: minted" 201 "$(post "$CI" "$REQ_B")"
eq "  ... sent to GitHub" $((m + 1)) "$(minted 4343)"
# A forged (or broken) header cannot lock writ out for days: capped at an hour.
limit 4343 259200 primary
post "$CI" "$REQ_B" >/dev/null
# capped RESULT: "503 N" with N at most an hour, less only by the seconds
# that passed since (whole seconds: a busy machine may show 3599).
capped() { set -- $1; [ "$1" = 503 ] && [ "$2" -le 3600 ] && [ "$2" -gt 3000 ]; }
r=$(post "$CI" "$REQ_B") && r="$r $(retry_after)"
check "a reset three days ahead: refused, Retry-After capped at 3600 ($r)" capped "$r"
limit 4242 259200 secondary
post "$CI" "$REQ_A" >/dev/null
r=$(post "$CI" "$REQ_A") && r="$r $(retry_after)"
check "  ... and a retry-after of three days too ($r)" capped "$r"
approver_off
stop_writd
