#!/usr/bin/env bash
# The headline path with real git: clone through git-credential-writ and
# writd, against a fake GitHub that checks app JWTs and enforces tokens.
. "$(dirname "$0")/lib.sh"

command -v git >/dev/null || { skip "git is not installed"; exit 0; }

# The fake GitHub (lib.sh's start_forge): a CA, a certificate for 127.0.0.1,
# the app's RSA key, bare repositories acme/widgets, acme/other, beta/gadgets.
start_forge || { fail "the fake GitHub did not start"; exit 1; }
PORT=$FORGE_PORT
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
mkdir -p "$HOME"
fake() { forge_fake "$@"; }
mode() { fake mode -d "{\"mode\":\"$1\"}" >/dev/null; }
revoked() { forge_revoked "$1"; }
valid() { forge_valid "$1"; }
lookups() { fake tokens | jq --arg o "$1" '.lookups[$o] // 0'; }
# wait_long SECONDS CMD...: like wait_for, with a deadline of its own (back-off).
wait_long() {
	local end=$(($(date +%s) + $1)); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# The fake itself refuses what GitHub refuses in an app JWT, so writd can
# fail against it: hand-made JWTs, each broken in one way.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
app_jwt() {	# HEADER CLAIMS [KEY]: signed RS256 with KEY (the app's by default)
	local h c
	h=$(printf '%s' "$1" | b64url)
	c=$(printf '%s' "$2" | b64url)
	printf '%s.%s.%s' "$h" "$c" \
		"$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -sign "${3:-$FORGE_APP_KEY}" | b64url)"
}
openssl genrsa -out "$T/other.pem" 2048 2>/dev/null
NOW=$(date +%s)
RS='{"alg":"RS256","typ":"JWT"}'
for case in "200|good|$RS|{\"iat\":$((NOW - 60)),\"exp\":$((NOW + 540)),\"iss\":\"12345\"}" \
	"200|good, iss a number|$RS|{\"iat\":$((NOW - 60)),\"exp\":$((NOW + 540)),\"iss\":12345}" \
	"401|no iat|$RS|{\"exp\":$((NOW + 540)),\"iss\":\"12345\"}" \
	"401|no exp|$RS|{\"iat\":$((NOW - 60)),\"iss\":\"12345\"}" \
	"401|no iss|$RS|{\"iat\":$((NOW - 60)),\"exp\":$((NOW + 540))}" \
	"401|another app's iss|$RS|{\"iat\":$((NOW - 60)),\"exp\":$((NOW + 540)),\"iss\":\"12346\"}" \
	"401|iat a string|$RS|{\"iat\":\"$((NOW - 60))\",\"exp\":$((NOW + 540)),\"iss\":\"12345\"}" \
	"401|iat in the future|$RS|{\"iat\":$((NOW + 120)),\"exp\":$((NOW + 540)),\"iss\":\"12345\"}" \
	"401|exp past|$RS|{\"iat\":$((NOW - 700)),\"exp\":$((NOW - 1)),\"iss\":\"12345\"}" \
	"401|exp over 10 minutes ahead|$RS|{\"iat\":$((NOW - 60)),\"exp\":$((NOW + 660)),\"iss\":\"12345\"}" \
	"401|alg HS256|{\"alg\":\"HS256\",\"typ\":\"JWT\"}|{\"iat\":$((NOW - 60)),\"exp\":$((NOW + 540)),\"iss\":\"12345\"}"; do
	IFS='|' read -r want what head claims <<<"$case"
	got=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FORGE_CA" \
		-H "Authorization: Bearer $(app_jwt "$head" "$claims")" "$GH/api/repos/acme/widgets/installation")
	eq "the fake answers an app JWT ($what) with $want" "$want" "$got"
done
OK_CLAIMS="{\"iat\":$((NOW - 60)),\"exp\":$((NOW + 540)),\"iss\":\"12345\"}"
GOOD=$(app_jwt "$RS" "$OK_CLAIMS")
eq "the fake refuses a JWT signed by another key" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	--cacert "$FORGE_CA" -H "Authorization: Bearer $(app_jwt "$RS" "$OK_CLAIMS" "$T/other.pem")" \
	"$GH/api/repos/acme/widgets/installation")"
eq "the fake refuses a JWT with its signature cut" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
	--cacert "$FORGE_CA" -H "Authorization: Bearer ${GOOD%.*}." "$GH/api/repos/acme/widgets/installation")"

printf '{"allow":[{"id":"ci","kind":"github","session":"ci-*","scope":{"repo":["acme/*","beta/*","nobody/*"],"permissions":{"contents":"read"}}}]}\n' \
	>"$T/user.json"; chmod 0644 "$T/user.json"
start_writd "$FORGE_CONFIG" || exit 1
DEV=$(new_session dev)
CI=$(new_session ci-1)

# Without the app key: a clear error, nothing issued.
code=$(status "$CI" POST /v1/writs '{"kind":"github","scope":{"repo":"acme/widgets"}}')
eq "no app key yet: 400 kind_not_configured" "400 kind_not_configured" "$code $(jq -r .error.code "$T/body")"
check "  ... saying how to add it" grep -q 'writctl secret set github-app-key' "$T/body"
forge_app_key

# Allowed (ci-*), minted against the fake: both lists sent, scope as asked.
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=Acme/Widgets.git --json >"$T/w" 2>"$T/err"
eq "a github writ is minted" 0 "$?"
TOK=$(jq -r .token "$T/w")
eq "  ... the canonical scope" '{"permissions":{"contents":"read"},"repo":["acme/widgets"]}' \
	"$(jq -cS .scope "$T/w")"
# GitHub adds metadata read to every token (every app holds it): accepted.
eq "  ... the fake minted exactly that, with GitHub's metadata read" \
	'["acme/widgets"] {"contents":"read","metadata":"read"}' \
	"$(fake tokens | jq -c --arg t "$TOK" '.tokens[] | select(.token==$t) | .repos, .permissions' | tr '\n' ' ' | sed 's/ $//')"
check "  ... a long dotted token passes through whole" test "${#TOK}" -gt 400

# Upstream failures: clear errors, nothing issued.
n=$(nwrits)
# 403 last: writd remembers a rate limit (t_ratelimit.sh), for 2 s here.
for m in "401 502 upstream_auth" "422 403 upstream_refused" \
	"403-forbidden 403 upstream_refused" "500 502 upstream_failed" \
	"hang 504 upstream_timeout" "403 503 upstream_rate_limited"; do
	set -- $m
	mode "$1"
	code=$(curl -s -D "$T/hdr" -o "$T/body" -w '%{http_code}' --unix-socket "$CI" -X POST \
		--data-binary '{"kind":"github","scope":{"repo":"acme/widgets"}}' http://writ/v1/writs)
	eq "upstream $1: $2 $3" "$2 $3" "$code $(jq -r .error.code "$T/body")"
	eq "  ... audited as mint_failed, by code" "$3" \
		"$(grep '"event":"mint_failed"' "$T/state/audit.jsonl" | tail -1 | jq -r .error)"
done
check "  ... a rate limit passes Retry-After on" grep -qi '^Retry-After: [1-9]' "$T/hdr"
# A 403 with GitHub's usual x-ratelimit-reset is no rate limit (403-forbidden
# above); this one was: wait out its window (the fake's reset, 2 s ahead).
sleep 3
mode 500
status "$CI" POST /v1/writs '{"kind":"github","scope":{"repo":"acme/widgets"}}' >/dev/null
eq "  ... 5xx is retried a bounded number of times" 3 "$(fake tokens | jq .calls)"
# Each way GitHub could grant more than asked, on its own: one token minted,
# revoked before writd answers, no writ.
for m in "broad-perms|a permission not asked for (administration write)" \
	"metadata-write|metadata write (only read is tolerated)" \
	"broad-all|every repository (repository_selection all)" \
	"broad-extra|a repository not asked for in the list"; do
	mode "${m%%|*}"
	code=$(status "$CI" POST /v1/writs '{"kind":"github","scope":{"repo":"acme/widgets"}}')
	eq "GitHub grants ${m#*|}: 502 upstream_failed" "502 upstream_failed" \
		"$code $(jq -r .error.code "$T/body")"
	eq "  ... the one token it minted was revoked at once" "1 true" \
		"$(fake tokens | jq -r --arg m "${m%%|*}" '[.tokens[] | select(.mode==$m)] | "\(length) \(map(.revoked) | all)"')"
done
mode ok
eq "  ... and none of them issued a writ" "$n" "$(nwrits)"
# A caller that gives up while GitHub mints: the token exists upstream, so
# the worker that minted it records it all the same (a live writ, its
# ledger entry, its "issued" record), whatever became of the request.
mode slow
n=$(nwrits)
before=$(admin /v1/writs | jq -c '[.writs[].id]')
curl -s -o /dev/null --max-time 1 --unix-socket "$CI" -X POST \
	--data-binary '{"kind":"github","scope":{"repo":"acme/widgets"}}' http://writ/v1/writs
eq "a caller gone while GitHub mints (curl gave up: 28)" 28 "$?"
more_writs() { [ "$(nwrits)" -gt "$n" ]; }
WAIT_SECS=10 wait_for more_writs
GW=$(admin /v1/writs | jq -r --argjson b "$before" '.writs[] | select(.id | IN($b[]) | not) | .id')
eq "  ... its token is recorded all the same: a live writ" $((n + 1)) "$(nwrits)"
check "  ... with its ledger entry" grep -q "\"op\":\"add\",\"id\":\"$GW\"" "$T/state/ledger.jsonl"
issued_for() { jq -e --arg w "$1" 'select(.event=="issued" and .writ==$w) |
	.fingerprint | length == 32' "$T/state/audit.jsonl" >/dev/null; }
check "  ... and its issued record" issued_for "$GW"
mode ok
admin "/v1/writs/$GW" -X DELETE >/dev/null
last_revoked() { fake tokens | jq -e '.tokens[-1].revoked' >/dev/null; }
wait_for last_revoked
check "  ... and revoked at GitHub once revoked: it was the token minted" last_revoked
# git, inside: the helper, approved through writctl.
git config --global credential.helper "$BIN/git-credential-writ --host 127.0.0.1:$PORT"
git config --global credential.useHttpPath true
git config --global http.sslCAInfo "$FORGE_CA"
export GIT_SSL_CAINFO=$FORGE_CA
export WRIT_SOCKET=$DEV
approver_on
git clone -q "$GH/acme/widgets.git" "$T/clone" 2>"$T/clone.err" &
G=$!
ID=$(pending_id)
eq "git clone asks for a github writ" "github acme/widgets read" \
	"$(admin /v1/requests | jq -r '.requests[0] | "\(.kind) \(.scope.repo[0]) \(.scope.permissions.contents)"')"
"$BIN/writctl" approve "$ID" >/dev/null
wait $G
rc=$?
[ $rc -eq 0 ] || cat "$T/clone.err"
eq "git clone succeeds after approval" 0 "$rc"
check "  ... and has the repository" test -d "$T/clone/.git"

git -C "$T/clone" -c user.name=t -c user.email=t@t commit -q --allow-empty -m second
git -C "$T/clone" push -q origin HEAD 2>"$T/push.err" &
G=$!
"$BIN/writctl" approve "$(pending_id)" >/dev/null
wait $G
check "git push with the read-only token is refused" test $? -ne 0
check "  ... by the server (403)" grep -q '403' "$T/push.err"

git clone -q "$GH/acme/widgets.git" "$T/clone2" 2>/dev/null &
G=$!
ID2=$(pending_id)
check "a second clone asks again" test -n "$ID2" -a "$ID2" != "$ID"
"$BIN/writctl" deny "$ID2" >/dev/null
wait $G
check "  ... and a denial fails it" test $? -ne 0

# A revocation GitHub fails: writd retries it with back-off (RETRY_FIRST 2 s,
# doubling, jittered; broker/upstream.c), audits every failure with its next
# retry, and keeps the writ's ledger entry open until GitHub confirms.
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/w5"
T5=$(jq -r .token "$T/w5"); W5=$(jq -r .id "$T/w5")
mode revokefail
eq "a writ given back while GitHub fails revocations: 200" 200 "$(status "$CI" DELETE "/v1/writs/$W5")"
retries() {
	grep '"event":"revoke_failed"' "$T/state/audit.jsonl" |
		jq -r --arg w "$W5" 'select(.writ==$w) | .retry_in' | tr '\n' ' ' | sed 's/ $//'
}
# Open: an add and no done (compaction drops closed pairs, never open ones).
open_in_ledger() {
	jq -e -s --arg w "$1" '(map(select(.op=="add" and .id==$w)) | length > 0) and
		(map(select(.op=="done" and .id==$w)) | length == 0)' "$T/state/ledger.jsonl" >/dev/null
}
tries() { fake tokens | jq -c --arg t "$T5" '[.deletes[] | select(.token==$t)]'; }
two_failures() { [ "$(retries | wc -w)" -ge 2 ]; }
wait_long 30 two_failures
eq "  ... each failure is audited with its next retry: 2 s, then 4 s" "2 4" \
	"$(retries | cut -d' ' -f1-2)"
check "  ... GitHub saw each try (a 5xx is retried twice at once, so 3 calls a try)" \
	test "$(tries | jq 'length')" -ge 6
# Lower bounds only (now_mono counts whole seconds, so a 2 s delay is >= 1 s).
check "  ... and writd backed off between tries (>= 1 s after the first)" \
	test "$(tries | jq '.[3].time - .[2].time >= 1')" = true
check "  ... the token stays live upstream while GitHub refuses" valid "$T5"
check "  ... the ledger entry stays open (an add, no done)" open_in_ledger "$W5"
check "  ... and the writ is no longer live" bash -c "! curl -s --unix-socket '$ADMIN' http://writ/v1/writs | jq -e --arg w '$W5' '.writs[] | select(.id==\$w)' >/dev/null"
mode ok
wait_long 30 revoked "$T5"
check "  ... then a retry revokes it" revoked "$T5"
check "  ... after a longer back-off (>= 3 s before the third try)" \
	test "$(tries | jq '.[6].time - .[5].time >= 3')" = true
closed_in_ledger() { ! open_in_ledger "$1"; }
wait_for closed_in_ledger "$W5"
check "  ... and its ledger entry closes once GitHub confirms" closed_in_ledger "$W5"
check "  ... audited as revoked upstream" bash -c \
	"grep '\"event\":\"revoked_upstream\"' '$T/state/audit.jsonl' | grep -q '$W5'"

# Closing a session revokes its github tokens upstream.
S3=$(new_session ci-close)
WRIT_SOCKET=$S3 "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/w6"
"$BIN/writctl" sessions rm "$(sess "$S3" /v1/health | jq -r .session.id)" >/dev/null
wait_for revoked "$(jq -r .token "$T/w6")"
check "closing a session revokes its tokens upstream" revoked "$(jq -r .token "$T/w6")"

# `credential.helper writ` finds git-credential-writ on PATH (ci-* is allowed).
PATH=$BIN:$PATH WRIT_SOCKET=$CI git -c credential.helper= \
	-c "credential.helper=writ --host 127.0.0.1:$PORT" clone -q "$GH/acme/other.git" "$T/clone3"
eq "credential.helper=writ works by name, and an allow rule needs no prompt" 0 "$?"

# Giving back: DELETE, erase, expiry; the fake then refuses the token.
WID=$(jq -r .id "$T/w")
status "$CI" DELETE "/v1/writs/$WID" >/dev/null
wait_for revoked "$TOK"
check "DELETE /v1/writs revokes upstream" revoked "$TOK"
eq "  ... and git can no longer use it" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$FORGE_CA" -u "x-access-token:$TOK" \
	"$GH/acme/widgets.git/info/refs?service=git-upload-pack")"
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/w2"
T2=$(jq -r .token "$T/w2")
printf 'protocol=https\nhost=127.0.0.1:%s\npath=acme/widgets.git\nusername=x-access-token\npassword=%s\n\n' \
	"$PORT" "$T2" | WRIT_SOCKET=$CI git credential reject
wait_for revoked "$T2"
check "git credential reject (erase) revokes it" revoked "$T2"
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --ttl 2s --json >"$T/w3"
T3=$(jq -r .token "$T/w3")
holds_until "$(jq -r .expires_at "$T/w3")" valid "$T3"
eq "a 2s writ stays valid upstream until its expiry" 0 "$?"
WAIT_SECS=10 wait_for revoked "$T3"
check "  ... and is revoked upstream then" revoked "$T3"
approver_off

# The helper refuses bad input: nothing on stdout, non-zero exit.
helper() { printf "$1" | WRIT_SOCKET=$CI "$BIN/git-credential-writ" --host "127.0.0.1:$PORT" get >"$T/hout" 2>/dev/null; }
for case in "CR in a value|protocol=https\nhost=127.0.0.1:$PORT\npath=acme/widgets.git\r\n" \
	"LF smuggled into path|protocol=https\nhost=127.0.0.1:$PORT\npath=acme/widgets.git\nhost=evil\n" \
	"no protocol|host=127.0.0.1:$PORT\npath=acme/widgets.git\n" \
	"no host|protocol=https\npath=acme/widgets.git\n" \
	"no path|protocol=https\nhost=127.0.0.1:$PORT\n" \
	"http, not https|protocol=http\nhost=127.0.0.1:$PORT\npath=acme/widgets.git\n" \
	"another host|protocol=https\nhost=github.com.evil.example\npath=acme/widgets.git\n" \
	"a host prefix|protocol=https\nhost=127.0.0.1\npath=acme/widgets.git\n" \
	"a host suffix|protocol=https\nhost=127.0.0.1:${PORT}0\npath=acme/widgets.git\n"; do
	helper "${case#*|}"
	rc=$?
	check "helper refuses ${case%%|*} (rc $rc, no output)" test $rc -ne 0 -a ! -s "$T/hout"
done
printf 'protocol=https\nhost=127.0.0.1:%s\npath=acme/widgets.git\0evil\n' "$PORT" |
	WRIT_SOCKET=$CI "$BIN/git-credential-writ" --host "127.0.0.1:$PORT" get >"$T/hout" 2>/dev/null
check "helper refuses a NUL (rc $?, no output)" test $? -ne 0 -a ! -s "$T/hout"
{ printf 'protocol=https\nhost=127.0.0.1:%s\npath=' "$PORT"; head -c 70000 /dev/zero | tr '\0' a; printf '\n'; } |
	WRIT_SOCKET=$CI "$BIN/git-credential-writ" --host "127.0.0.1:$PORT" get >"$T/hout" 2>/dev/null
check "helper refuses an over-long line (no output)" test $? -ne 0 -a ! -s "$T/hout"
helper "protocol=https\nhost=127.0.0.1:$PORT\npath=acme/../etc.git\n"
check "helper: a path writd's grammar refuses gives no output" test $? -ne 0 -a ! -s "$T/hout"
printf 'protocol=https\nhost=127.0.0.1:%s\npath=acme/widgets.git\n' "$PORT" |
	WRIT_SOCKET=$CI "$BIN/git-credential-writ" --host "127.0.0.1:$PORT" store >"$T/hout"
check "helper: store does nothing" test $? -eq 0 -a ! -s "$T/hout"
printf 'protocol=https\nhost=127.0.0.1:%s\npath=acme/widgets.git\n' "$PORT" |
	WRIT_SOCKET=$CI "$BIN/git-credential-writ" --host "127.0.0.1:$PORT" frobnicate >"$T/hout"
check "helper: an unknown operation is ignored" test $? -eq 0 -a ! -s "$T/hout"
helper "protocol=https\nhost=127.0.0.1:$PORT\npath=acme/widgets.git\n"
check "helper: a good request prints username, password, expiry" \
	bash -c "grep -qx 'username=x-access-token' '$T/hout' && grep -q '^password=ghs_' '$T/hout' && grep -q '^password_expiry_utc=[0-9]*$' '$T/hout'"
# Crash safety: kill -9 writd with live tokens; the next start brings them
# back and GitHub sees each DELETE at its writ's expiry, not before.
# 15s: long enough to outlast a restart on a slow, shared machine.
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --ttl 15s --json >"$T/w4"
WRIT_SOCKET=$CI "$BIN/writ" get github --scope repo=acme/widgets --ttl 10m --json >"$T/w5"
T4=$(jq -r .token "$T/w4"); W4=$(jq -r .id "$T/w4"); E4=$(jq -r .expires_at "$T/w4")
T5=$(jq -r .token "$T/w5"); W5=$(jq -r .id "$T/w5")
LIVE=$(admin /v1/writs | jq -c '[.writs[].id] | sort')
crash_writd
check "  ... not revoked by the crash itself" valid "$T4"
check "  ... the ledger holds it sealed, not in the clear" bash -c "grep -q '\"sealed\"' '$T/state/ledger.jsonl' && ! grep -qF '$T4' '$T/state/ledger.jsonl'"
start_writd "$(cat "$T/config.json")" || exit 1
admin /v1/writs >"$T/back"
eq "restarted writd brings back every live writ" "$LIVE" "$(jq -c '[.writs[].id] | sort' "$T/back")"
eq "  ... the two just issued among them" 2 \
	"$(jq --arg a "$W4" --arg b "$W5" '[.writs[] | select(.id==$a or .id==$b)] | length' "$T/back")"
holds_until "$E4" valid "$T4"
eq "  ... the short one stays valid upstream until its expiry" 0 "$?"
wait_for revoked "$T4"
check "  ... and GitHub revokes it then" revoked "$T4"
wait_for grep -q "\"op\":\"done\",\"id\":\"$W4\"" "$T/state/ledger.jsonl"
check "  ... its ledger entry closes once GitHub confirms" \
	grep -q "\"op\":\"done\",\"id\":\"$W4\"" "$T/state/ledger.jsonl"
check "  ... the long one is still valid" valid "$T5"
"$BIN/writctl" writs revoke "$W5" >/dev/null
wait_for revoked "$T5"
check "writctl writs revoke on a restored github writ revokes it upstream" revoked "$T5"
"$BIN/writctl" audit verify >/dev/null
eq "the audit chain verifies across the crash" 0 "$?"
stop_writd

# Without installation_id, writd looks the installation up per owner
# (GET /repos/{owner}/{repo}/installation) and remembers it per owner.
start_writd "$(jq -c 'del(.kinds.github.installation_id)' <<<"$FORGE_CONFIG")" || exit 1
L=$(new_session ci-lookup)
inst() { fake tokens | jq -c --arg t "$(jq -r .token "$1")" '.tokens[] | select(.token==$t) | [.installation, .repos]'; }
A0=$(lookups acme)
WRIT_SOCKET=$L "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/l1"
eq "lookup: a writ for acme/widgets, from acme's installation" '[4242,["acme/widgets"]]' "$(inst "$T/l1")"
eq "  ... after one lookup for acme" $((A0 + 1)) "$(lookups acme)"
WRIT_SOCKET=$L "$BIN/writ" get github --scope repo=Acme/Other.git --json >"$T/l2"
eq "  ... a second owner-mate (any case) is minted without another lookup" \
	"[4242,[\"acme/other\"]] $((A0 + 1))" "$(inst "$T/l2") $(lookups acme)"
WRIT_SOCKET=$L "$BIN/writ" get github --scope repo=beta/gadgets --json >"$T/l3"
eq "  ... another owner is looked up on its own, and minted at its installation" \
	"[4343,[\"beta/gadgets\"]] 1" "$(inst "$T/l3") $(lookups beta)"
WRIT_SOCKET=$L "$BIN/writ" get github --scope repo=acme/widgets --json >"$T/l4"
eq "  ... and the first owner is still remembered" "[4242,[\"acme/widgets\"]] $((A0 + 1))" \
	"$(inst "$T/l4") $(lookups acme)"
n=$(nwrits)
code=$(status "$L" POST /v1/writs '{"kind":"github","scope":{"repo":"nobody/thing"}}')
eq "  ... an owner without the app: 403 upstream_refused" "403 upstream_refused" \
	"$code $(jq -r .error.code "$T/body")"
status "$L" POST /v1/writs '{"kind":"github","scope":{"repo":"nobody/thing"}}' >/dev/null
eq "  ... a refusal is not remembered: asked again, nothing issued" "2 $n" \
	"$(lookups nobody) $(nwrits)"

# A scope long enough that its request's record is over the size of one
# (8 KiB), by a few bytes or many: that record is not written (and writd
# says so), but the audit log is not broken, and writd goes on issuing.
B=$(new_session big)
for l in $(seq 0 8 120); do
	status "$B" POST /v1/writs "$(python3 -c "import json, sys; print(json.dumps({'kind': 'github',
		'scope': {'repo': ['acme/r%03d' % i + 'x' * 96 for i in range(72)] +
		['acme/z' + 'y' * int(sys.argv[1])]}}))" "$l")" >/dev/null
done
check "a record over the size of one is said not written" \
	grep -q 'a record was not written: AUDIT_APPEND: the record is over the size of one' "$T/writd.log"
code=$(status "$L" POST /v1/writs '{"kind":"github","scope":{"repo":"acme/widgets"}}')
eq "  ... and writd still issues (the log is not taken for broken)" 201 "$code"
stop_writd
true
