#!/usr/bin/env bash
# The tiered policy with the real writd: allow without a prompt, deny before
# any prompt, limits named, layering, reload, explain and check.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "policy tests need root: the enterprise policy must be root-owned"
	exit 0
fi

# put FILE JSON: a policy file as writd wants it (0644, ours).
put() { printf '%s\n' "$2" >"$1"; chmod 0644 "$1"; }

# get SOCK JSON: POST a writ request; status in $code, body in $T/body.
get() { code=$(status "$1" POST /v1/writs "$2"); }

put "$T/enterprise.json" '{
  "deny": [{"id": "no-admin", "kind": "jwt", "scope": {"aud": "*admin*"},
            "why": "admin audiences are off limits"}],
  "limits": {"jwt": {"max_ttl": "15m", "aud": ["*.example.com", "ci"]},
             "session": {"max_live": 2}},
  "confirm": [{"id": "typed-prod", "kind": "jwt", "scope": {"aud": "prod*"}, "mode": "typed"}]
}'
put "$T/user.json" '{
  "allow": [
    {"id": "ci-read", "kind": "jwt", "session": "ci-*", "scope": {"aud": "ci", "scope": "read"},
     "max_ttl": "10m"},
    {"id": "user-admin", "kind": "jwt", "scope": {"aud": "ADMIN.example.com"}},
    {"id": "by-exe", "kind": "jwt", "scope": {"aud": "tools.example.com"}, "exe": "'"$BIN"'/writ"}
  ]
}'
start_writd || exit 1
# writd says at load what writctl policy check would warn about.
check "writd warns at start of an allow rule on exe alone" \
	grep -q "writd: policy warning: $T/user.json: allow\[2\] (by-exe): relies on 'exe' alone" "$T/writd.log"
CI=$(new_session ci-42)
DEV=$(new_session dev)

# allow: issued with no approver connected at all.
get "$CI" '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"ttl":"5m"}'
eq "allow rule: issued without a prompt (no approver needed)" 201 "$code"
eq "allow rule: nothing was pending" 0 "$(npending)"
get "$CI" '{"kind":"jwt","scope":{"aud":"ci","scope":"read write"},"ttl":"5m"}'
eq "allow rule: a wider scope is not within it (asks; no approver: 403)" "403 approval_unavailable" \
	"$code $(jq -r .error.code "$T/body")"
get "$CI" '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"ttl":"11m"}'
eq "allow rule: a longer ttl than its max_ttl is not covered" "403 approval_unavailable" \
	"$code $(jq -r .error.code "$T/body")"
get "$DEV" '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"ttl":"5m"}'
eq "allow rule: another session name is not covered" "403 approval_unavailable" \
	"$code $(jq -r .error.code "$T/body")"
WRIT_SOCKET=$DEV "$BIN/writ" get jwt --scope aud=tools.example.com >/dev/null 2>&1
eq "allow rule by exe: writ is allowed" 0 "$?"
get "$DEV" '{"kind":"jwt","scope":{"aud":"tools.example.com"}}'
eq "allow rule by exe: curl is not" 403 "$code"

# deny: final, whatever the user allows, and before any prompt.
approver_on
get "$DEV" '{"kind":"jwt","scope":{"aud":"ADMIN.example.com"}}'
eq "enterprise deny beats a user allow" "403 policy_denied deny no-admin enterprise" \
	"$code $(jq -r '.error | "\(.code) \(.tier) \(.rule) \(.layer)"' "$T/body")"
check "  ... and the agent is told why" grep -q 'admin audiences are off limits' "$T/body"
eq "  ... without ever reaching a prompt" 0 "$(npending)"

# limits: named, never trimmed.
get "$DEV" '{"kind":"jwt","scope":{"aud":"api.example.com"},"ttl":"20m"}'
eq "ttl over the enterprise limit is denied" "403 limits limits.jwt.max_ttl" \
	"$code $(jq -r '.error | "\(.tier) \(.rule)"' "$T/body")"
check "  ... the message names the ceiling" grep -q '15m' "$T/body"
get "$DEV" '{"kind":"jwt","scope":{"aud":"api.other.org"}}'
eq "an audience outside the ceiling is denied" "403 limits.jwt.aud" \
	"$code $(jq -r .error.rule "$T/body")"
get "$CI" '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"ttl":"5m"}'
eq "the second live writ is still allowed" 201 "$code"
get "$CI" '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"ttl":"5m"}'
eq "the third breaks limits.session.max_live" "403 limits.session.max_live" \
	"$code $(jq -r .error.rule "$T/body")"

# ask: the default, a fresh approval every time (and typed where confirmed).
WRIT_SOCKET=$DEV "$BIN/writ" get jwt --scope aud=api.example.com >"$T/tok" 2>&1 &
GET=$!
ID=$(pending_id)
eq "no rule decides: ask" "default" "$(admin /v1/requests | jq -r '.requests[0].policy.tier')"
"$BIN/writctl" approve "$ID" >/dev/null
wait $GET
eq "  ... approved, issued" 0 "$?"

# (give back the writs so far: limits.session.max_live is 2)
for id in $(admin /v1/writs | jq -r '.writs[].id'); do status "$ADMIN" DELETE "/v1/writs/$id" >/dev/null; done
WRIT_SOCKET=$DEV "$BIN/writ" get jwt --scope aud=prod.example.com >"$T/tok" 2>"$T/err" &
GET=$!
ID=$(pending_id)
req=$(admin /v1/requests)
eq "a confirm rule asks for a typed approval" "typed typed-prod" \
	"$(echo "$req" | jq -r '.requests[0].confirm | "\(.mode) \(.rule)"')"
CODE=$(echo "$req" | jq -r '.requests[0].confirm.code')
DIGEST=$(echo "$req" | jq -r '.requests[0].digest')
"$BIN/writctl" approve "$ID" 2>"$T/aerr"
eq "  ... a plain approve is refused" 1 "$?"
check "  ... saying confirmation_required" grep -q confirmation_required "$T/aerr"
"$BIN/writctl" approve "$ID" --confirm wrong1 2>/dev/null
check "  ... a wrong code is refused" test $? -ne 0
eq "  ... and the request still waits" 1 "$(npending)"
eq "an approval with another request's digest: 409 request_changed" 409 \
	"$(status "$ADMIN" POST "/v1/requests/$ID/approve" "{\"confirm\":\"$CODE\",\"digest\":\"00000000000000000000000000000000\"}")"
eq "the right code and digest approve" 200 \
	"$(status "$ADMIN" POST "/v1/requests/$ID/approve" "{\"confirm\":\"$CODE\",\"digest\":\"$DIGEST\"}")"
wait $GET
eq "  ... and the writ is issued" 0 "$?"

# writctl watch asks for the code, and a plain "y" does not approve.
WRIT_SOCKET=$DEV "$BIN/writ" get jwt --scope aud=prod2.example.com >"$T/tok" 2>"$T/err" &
GET=$!
mkfifo "$T/in"
"$BIN/writctl" watch <"$T/in" >"$T/watch" 2>&1 &
W=$!
exec 7>"$T/in"
wait_for grep -q 'Type [a-z0-9]\{6\} to approve' "$T/watch"
check "watch: a typed request asks for the code" grep -q 'typed approval (policy rule typed-prod)' "$T/watch"
code=$(grep -o 'Type [a-z0-9]\{6\}' "$T/watch" | head -1 | cut -d' ' -f2)
echo "$code" >&7
wait $GET
eq "watch: typing the code approves" 0 "$?"
for id in $(admin /v1/writs | jq -r '.writs[].id'); do status "$ADMIN" DELETE "/v1/writs/$id" >/dev/null; done
WRIT_SOCKET=$DEV "$BIN/writ" get jwt --scope aud=prod3.example.com >"$T/tok" 2>"$T/err" &
GET=$!
wait_for sh -c "test \$(grep -c 'Type [a-z0-9]\{6\}' '$T/watch') = 2"
echo y >&7
wait $GET
eq "watch: a reflexive 'y' denies a typed request" 4 "$?"
check "  ... as a person's denial" grep -q approval_denied "$T/err"
exec 7>&-
kill $W; wait $W 2>/dev/null
for id in $(admin /v1/writs | jq -r '.writs[].id'); do status "$ADMIN" DELETE "/v1/writs/$id" >/dev/null; done

# Flood guard: the same request twice is refused, not merged.
for id in $(admin /v1/writs | jq -r '.writs[].id'); do status "$ADMIN" DELETE "/v1/writs/$id" >/dev/null; done
WRIT_SOCKET=$DEV "$BIN/writ" get jwt --scope aud=dup.example.com >/dev/null 2>&1 &
GET=$!
pending_id >/dev/null
get "$DEV" '{"kind":"jwt","scope":{"aud":"dup.example.com"}}'
eq "an identical pending request: 409 duplicate_pending" "409 duplicate_pending" \
	"$code $(jq -r .error.code "$T/body")"
eq "  ... still one pending" 1 "$(npending)"
"$BIN/writctl" deny "$(pending_id)" >/dev/null
wait $GET

# Cooldown: the third denial in the window cools the session down (the
# typed "y" and the duplicate's denial were the first two).
WRIT_SOCKET=$DEV "$BIN/writ" get jwt --scope aud=a.example.com >/dev/null 2>&1 &
GET=$!
"$BIN/writctl" deny "$(pending_id)" >"$T/deny3"
wait $GET
check "the approver is told the session cools down" grep -q 'cooling down' "$T/deny3"
code=$(curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' --unix-socket "$DEV" -X POST \
	--data-binary '{"kind":"jwt","scope":{"aud":"c.example.com"}}' http://writ/v1/writs)
eq "a cooled session is refused at once: 429 cooling_down" "429 cooling_down" \
	"$code $(jq -r .error.code "$T/body")"
check "  ... with Retry-After" grep -qi '^Retry-After: [1-9]' "$T/hdr"
eq "  ... and nothing pending" 0 "$(npending)"
get "$CI" '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"ttl":"5m"}'
eq "other sessions are not cooled" 201 "$code"

# explain: decisions without issuing.
n=$(nwrits)
echo '{"kind":"jwt","scope":{"aud":"x.admin.example.com"}}' | "$BIN/writctl" policy explain - >"$T/ex"
eq "explain: deny, tier and rule" "deny deny no-admin" "$(jq -r '"\(.decision) \(.tier) \(.rule)"' "$T/ex")"
echo '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"session":"ci-7"}' | "$BIN/writctl" policy explain - >"$T/ex"
eq "explain: allow by ci-read for a ci session" "allow ci-read" "$(jq -r '"\(.decision) \(.rule)"' "$T/ex")"
echo '{"kind":"jwt","scope":{"aud":"api.example.com"},"ttl":"1h"}' | "$BIN/writctl" policy explain - >"$T/ex"
eq "explain: limits" "deny limits" "$(jq -r '"\(.decision) \(.tier)"' "$T/ex")"
echo '{"kind":"jwt","scope":{"aud":"PROD.example.com"}}' | "$BIN/writctl" policy explain - >"$T/ex"
eq "explain: ask, typed (confirm globs ignore case)" "ask typed" "$(jq -r '"\(.decision) \(.confirm.mode)"' "$T/ex")"
echo '{"kind":"jwt","scope":{"aud":"a/../b"}}' | "$BIN/writctl" policy explain - 2>/dev/null
check "explain: a bad scope is refused" test $? -ne 0
eq "explain issued nothing" "$n" "$(nwrits)"

# SIGHUP: a broken policy is refused and the old one stays; a good one applies.
cp "$T/user.json" "$T/user.good"
put "$T/user.json" '{"allow": [ {"kind": "jwt"} ]}'
kill -HUP "$WRITD_PID"
wait_for grep -q 'policy not reloaded' "$T/writd.log"
check "SIGHUP with a broken policy: refused, said so" grep -q 'allow rule must name' "$T/writd.log"
echo '{"kind":"jwt","scope":{"aud":"ci","scope":"read"},"session":"ci-7"}' | "$BIN/writctl" policy explain - >"$T/ex"
eq "  ... the old policy is still in force" "allow ci-read" "$(jq -r '"\(.decision) \(.rule)"' "$T/ex")"
put "$T/enterprise.json" '{"default": "deny"}'
put "$T/user.json" '{}'
kill -HUP "$WRITD_PID"
wait_for grep -q 'policy reloaded' "$T/writd.log"
get "$(new_session fresh)" '{"kind":"jwt","scope":{"aud":"api.example.com"}}'
eq "SIGHUP with a good policy: default deny now" "403 default" "$code $(jq -r .error.tier "$T/body")"
approver_off

# Issue 14: a ceiling holds for a key the request leaves out, levels are
# ordered, and allow/limit patterns know hosts.  Only requests the policy
# refuses are sent; what would go to a person is asked of explain.
put "$T/enterprise.json" '{
  "limits": {"jwt": {"scope": ["read", "list"], "aud": [".example.com", "localhost:*", "*.corp.net"]}},
  "deny": [{"id": "no-gh-write", "kind": "github", "scope": {"permissions": {"contents": "write"}}}]
}'
put "$T/user.json" '{"allow": [{"id": "aud-only", "kind": "jwt", "scope": {"aud": "api.example.com"}}]}'
kill -HUP "$WRITD_PID"
wait_for sh -c "test \$(grep -c 'policy reloaded' '$T/writd.log') = 2"
I14=$(new_session i14)
n=$(nwrits)
get "$I14" '{"kind":"jwt","scope":{"aud":"api.example.com"},"ttl":"5m"}'
eq "no scope under a scope limit (user allow names only aud): denied, not issued" \
	"403 limits limits.jwt.scope enterprise" \
	"$code $(jq -r '.error | "\(.tier) \(.rule) \(.layer)"' "$T/body")"
check "  ... saying the scope was left out" grep -q 'leaves it out' "$T/body"
eq "  ... nothing issued, nothing pending" "$n 0" "$(nwrits) $(npending)"
echo '{"kind":"jwt","scope":{"aud":"api.example.com","scope":"read"},"session":"i14"}' |
	"$BIN/writctl" policy explain - >"$T/ex"
eq "  ... with a scope within the limit it goes on to a person (explain)" "ask default" \
	"$(jq -r '"\(.decision) \(.tier)"' "$T/ex")"
get "$I14" '{"kind":"jwt","scope":{"aud":"api.example.com","scope":"read admin"},"ttl":"5m"}'
eq "  ... and over it, denied" "403 limits.jwt.scope" "$code $(jq -r .error.rule "$T/body")"
for aud in https://attacker.net/x.example.com attacker.net@x.example.com \
	localhost.attacker.net localhost:80@attacker.net example.com.evil.net \
	evil-example.com a.b.corp.net; do
	get "$I14" "{\"kind\":\"jwt\",\"scope\":{\"aud\":\"$aud\",\"scope\":\"read\"}}"
	eq "aud $aud is outside [.example.com, localhost:*, *.corp.net]" "403 limits.jwt.aud" \
		"$code $(jq -r .error.rule "$T/body")"
done
for aud in example.com a.b.example.com localhost:8080 x.corp.net; do
	echo "{\"kind\":\"jwt\",\"scope\":{\"aud\":\"$aud\",\"scope\":\"read\"}}" |
		"$BIN/writctl" policy explain - >"$T/ex"
	eq "aud $aud is within the limit (explain: ask)" "ask default" \
		"$(jq -r '"\(.decision) \(.tier)"' "$T/ex")"
done
get "$I14" '{"kind":"github","scope":{"repo":"acme/x","permissions":{"contents":"admin"}}}'
eq "a deny on contents: write covers contents: admin" "403 policy_denied no-gh-write" \
	"$code $(jq -r '.error | "\(.code) \(.rule)"' "$T/body")"
eq "  ... nothing issued" "$n" "$(nwrits)"

# A deny on a host catches the URL, port and FQDN spellings a user allow
# admits; a deny on "permissions": "write" covers every permission.
put "$T/enterprise.json" '{
  "deny": [{"id": "no-prod", "kind": "jwt", "scope": {"aud": "prod.example.com"}},
           {"id": "no-write", "kind": "github", "scope": {"permissions": "write"}}]
}'
put "$T/user.json" '{"allow": [{"id": "any-example", "kind": "jwt",
                                "scope": {"aud": ["https://*.example.com", "*.example.com:*", "*.example.com."]}}]}'
kill -HUP "$WRITD_PID"
wait_for sh -c "test \$(grep -c 'policy reloaded' '$T/writd.log') = 3"
for aud in https://prod.example.com prod.example.com:443 prod.example.com.; do
	get "$I14" "{\"kind\":\"jwt\",\"scope\":{\"aud\":\"$aud\"}}"
	eq "enterprise deny on prod.example.com beats a user allow of $aud" "403 policy_denied no-prod" \
		"$code $(jq -r '.error | "\(.code) \(.rule)"' "$T/body")"
done
get "$I14" '{"kind":"jwt","scope":{"aud":"https://api.example.com"}}'
eq "  ... another host of the allow rule is issued without a prompt" 201 "$code"
get "$I14" '{"kind":"github","scope":{"repo":"acme/x","permissions":{"issues":"admin"}}}'
eq "a deny on \"permissions\": \"write\" covers issues: admin" "403 policy_denied no-write" \
	"$code $(jq -r '.error | "\(.code) \(.rule)"' "$T/body")"
stop_writd

# Start-up refusals.
refuses() {
	timeout 10 "$BIN/writd" --runtime-dir "$T/r2" --state-dir "$T/state" \
		--enterprise-policy "$T/e2.json" --policy "$T/u2.json" 2>"$T/err"
	local rc=$?
	if [ $rc -eq 1 ] && grep -q -- "$2" "$T/err"; then pass "refused: $1"
	else fail "refused: $1 (rc $rc: $(cat "$T/err"))"; fi
}
put "$T/e2.json" '{}'; chmod 0666 "$T/e2.json"
refuses "world-writable enterprise policy" "not writable by group or others"
chmod 0664 "$T/e2.json"
refuses "group-writable enterprise policy" "mode 0664"
chmod 0644 "$T/e2.json"; chown nobody "$T/e2.json"
refuses "enterprise policy owned by someone else" "owned by root"
chown root "$T/e2.json"
put "$T/u2.json" '{}'; chown nobody "$T/u2.json"
refuses "user policy owned by someone else" "owned by you"
chown root "$T/u2.json"
ln -sf "$T/e2.json" "$T/elink.json"
timeout 10 "$BIN/writd" --runtime-dir "$T/r2" --state-dir "$T/state" \
	--enterprise-policy "$T/elink.json" --policy "$T/u2.json" 2>"$T/err"
check "refused: an enterprise policy behind a symlink" test $? -eq 1
put "$T/e2.json" '{"user_allow": false}'
put "$T/u2.json" '{"allow": [{"kind": "jwt", "scope": {"aud": "x"}}]}'
refuses "user allow rules where the enterprise forbids them" 'user_allow'
put "$T/e2.json" '{"deny": [{"kind": "jwt", "scope": {"audience": "x"}}]}'
refuses "a misspelt scope key (a deny that would never match)" 'deny\[0\].scope.audience'
put "$T/e2.json" '{"deny": [{"kind": "jwt", "scope": {"aud": {"host": "prod"}}}]}'
refuses "sub-keys where values are not objects (a deny that would never match)" \
	'deny\[0\].scope.aud: its values are not objects'
put "$T/e2.json" '{"deny": [{"kind": "gitlab"}]}'
refuses "an unknown kind" "unknown kind 'gitlab'"
put "$T/e2.json" '{"deny": [{"kind": "jwt", "scope": {"aud": "a[b]"}}]}'
refuses "a bad glob" "not a glob"
put "$T/e2.json" '{"deny": [{"kind": "jwt", "colour": "red"}]}'
refuses "an unknown rule key" "unknown key 'colour'"
put "$T/e2.json" '{"limits": {"jwt": {"max_ttl": 600}}}'
refuses "a wrong type" "max_ttl"
put "$T/e2.json" '{"default": "allow"}'
refuses "a default other than ask or deny" 'default'
printf '{"deny": [\n  {"kind": "jwt",}\n]}\n' >"$T/e2.json"
refuses "a syntax error, with line and column" 'e2.json:2:'
put "$T/e2.json" '{}'
put "$T/u2.json" '{"user_allow": true}'
refuses "user_allow in the user layer" 'enterprise policy only'

# writctl policy check.
put "$T/u2.json" '{}'
"$BIN/writctl" policy check --enterprise "$T/e2.json" --policy "$T/u2.json" >/dev/null
eq "policy check: good files exit 0" 0 "$?"
for f in "$(dirname "$0")"/../../policy/examples/*.json; do
	cp "$f" "$T/ex.json"; chmod 0644 "$T/ex.json"
	"$BIN/writctl" policy check --enterprise "$T/ex.json" --policy "$T/none.json" >/dev/null
	eq "shipped example $(basename "$f") is valid" 0 "$?"
done
put "$T/u2.json" '{"deny": "everything"}'
"$BIN/writctl" policy check --enterprise "$T/e2.json" --policy "$T/u2.json" 2>"$T/err"
eq "policy check: a bad file exits 1" 1 "$?"
check "  ... naming file and key" grep -q 'u2.json: deny' "$T/err"

# policy check warns about what admits more than it seems to, and exits 5.
put "$T/u2.json" '{"allow": [{"id": "by-exe", "kind": "jwt", "scope": {"aud": "localhost:8080"},
                             "exe": "/usr/bin/curl"}]}'
"$BIN/writctl" policy check --enterprise "$T/e2.json" --policy "$T/u2.json" >"$T/out" 2>"$T/err"
eq "policy check: an allow rule on exe alone exits 5" 5 "$?"
check "  ... warning that exe is not authentication" \
	grep -q "warning: $T/u2.json: allow\[0\] (by-exe): relies on 'exe' alone, and exe is not authentication" "$T/err"
check "  ... and the files are still valid" grep -q 'policy ok: .*1 warning$' "$T/out"
put "$T/u2.json" '{"allow": [{"id": "by-exe", "kind": "jwt", "scope": {"aud": "localhost:8080"},
                             "exe": "/usr/bin/curl", "session": "dev-*"}]}'
"$BIN/writctl" policy check --enterprise "$T/e2.json" --policy "$T/u2.json" >/dev/null 2>"$T/err"
eq "  ... narrowed by a session it is fine: exit 0, no warning" "0 0" "$? $(wc -l <"$T/err")"
put "$T/e2.json" '{"limits": {"jwt": {"aud": ["localhost*", "*example.com", "https://api.example.com/**"]}}}'
put "$T/u2.json" '{"allow": [{"id": "any", "kind": "jwt", "scope": {"aud": "*"}}]}'
"$BIN/writctl" policy check --enterprise "$T/e2.json" --policy "$T/u2.json" >"$T/out" 2>"$T/err"
eq "policy check: over-broad patterns exit 5" 5 "$?"
check "  ... a '*' ending a host" grep -q "e2.json: limits.jwt.aud: \"localhost\*\": a wildcard ending a host" "$T/err"
check "  ... a '*' running into a name" grep -q 'e2.json: limits.jwt.aud: "\*example.com": .*use ".example.com"' "$T/err"
check "  ... a '**'" grep -q "e2.json: limits.jwt.aud: \"https://api.example.com/\*\*\": '\*\*' also stands for" "$T/err"
check "  ... a '*' alone in an allow rule" grep -q 'u2.json: allow\[0\] (any).scope.aud: "\*" admits every value' "$T/err"
eq "  ... one line each" 4 "$(grep -c 'writctl: warning:' "$T/err")"
check "  ... counted" grep -q '4 warnings$' "$T/out"
put "$T/e2.json" '{"limits": {"jwt": {"aud": [".example.com", "localhost:*", "*.corp.net"]}}}'
put "$T/u2.json" '{}'
"$BIN/writctl" policy check --enterprise "$T/e2.json" --policy "$T/u2.json" >/dev/null 2>"$T/err"
eq "  ... what they should have said instead: exit 0, no warning" "0 0" "$? $(wc -l <"$T/err")"
