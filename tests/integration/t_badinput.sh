#!/usr/bin/env bash
# Every bad input is refused with the right status and code, and nothing is
# issued or left pending.  An approver is connected throughout, so a refusal
# is never just "nobody there".
. "$(dirname "$0")/lib.sh"

start_writd || exit 1
SOCK=$(new_session bad)
approver_on

# refused DESC STATUS CODE BODY: POST BODY to /v1/writs.
refused() {
	local got
	got=$(status "$SOCK" POST /v1/writs "$4")
	eq "$1" "$2 $3" "$got $(jq -r .error.code "$T/body" 2>/dev/null)"
}

refused "malformed JSON" 400 bad_json '{"kind":"jwt",'
refused "not an object" 400 bad_json '["jwt"]'
refused "empty body" 400 bad_json ''
refused "trailing garbage" 400 bad_json '{"kind":"jwt","scope":{"aud":"x"}} x'
refused "duplicate key" 400 bad_json '{"kind":"jwt","kind":"jwt","scope":{"aud":"x"}}'
refused "escaped NUL" 400 bad_json '{"kind":"jwt\u0000x","scope":{"aud":"x"}}'
printf '{"kind":"jwt","scope":{"aud":"x\0y"}}' >"$T/nul.json"
refused "raw NUL byte" 400 bad_json "@$T/nul.json"
refused "invalid UTF-8" 400 bad_json "$(printf '{"kind":"jwt","scope":{"aud":"\xff\xfe"}}')"
refused "lone surrogate" 400 bad_json '{"kind":"jwt","scope":{"aud":"\ud800"}}'
deep=$(printf '%.0s{"a":' $(seq 1 40))1$(printf '%.0s}' $(seq 1 40))
refused "deeply nested" 413 too_large "$deep"
big=$(head -c 40000 /dev/zero | tr '\0' a)
printf '{"kind":"jwt","scope":{"aud":"x"},"pad":"%s"}' "$big" >"$T/big.json"
refused "oversized body" 413 too_large "@$T/big.json"
check "  ... the message gives the limit" grep -q '32768 bytes' "$T/body"
python3 - "$SOCK" "$T/big.json" >"$T/chunked.out" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
body = open(sys.argv[2], "rb").read()
s.sendall(b"POST /v1/writs HTTP/1.1\r\nHost: writ\r\nTransfer-Encoding: chunked\r\n\r\n")
try:
    for i in range(0, len(body), 4096):
        part = body[i:i + 4096]
        s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
    s.sendall(b"0\r\n\r\n")
except OSError:
    pass
print(s.recv(200).split(b"\r\n")[0].decode())
PY
eq "oversized chunked body (no Content-Length)" "HTTP/1.1 413" "$(cut -c1-12 "$T/chunked.out")"
many=$(for i in $(seq 1 200); do printf '"k%d":1,' "$i"; done)
refused "too many keys" 413 too_large "{${many}\"kind\":\"jwt\"}"
refused "unknown field names it" 400 bad_request '{"kind":"jwt","scope":{"aud":"x"},"colour":"red"}'
check "  ... message names 'colour'" grep -q colour "$T/body"
refused "missing kind" 400 bad_request '{"scope":{"aud":"x"}}'
refused "kind of the wrong type" 400 bad_request '{"kind":7,"scope":{"aud":"x"}}'
check "  ... message names 'kind'" grep -q "'kind'" "$T/body"
refused "missing scope" 400 bad_request '{"kind":"jwt"}'
refused "unknown kind" 400 unknown_kind '{"kind":"aws","scope":{"aud":"x"}}'
refused "scope not an object" 400 bad_scope '{"kind":"jwt","scope":"aud=x"}'
refused "scope without aud" 400 bad_scope '{"kind":"jwt","scope":{}}'
refused "scope with unknown key" 400 bad_scope '{"kind":"jwt","scope":{"aud":"x","admin":"yes"}}'
refused "aud of the wrong type" 400 bad_scope '{"kind":"jwt","scope":{"aud":["x"]}}'
refused "aud with .." 400 bad_scope '{"kind":"jwt","scope":{"aud":"api/../admin"}}'
refused "aud with a wildcard" 400 bad_scope '{"kind":"jwt","scope":{"aud":"api*"}}'
refused "aud with ?" 400 bad_scope '{"kind":"jwt","scope":{"aud":"api?"}}'
refused "aud with a newline" 400 bad_scope '{"kind":"jwt","scope":{"aud":"a\nb"}}'
refused "aud with CR" 400 bad_scope '{"kind":"jwt","scope":{"aud":"a\rb"}}'
refused "aud with non-ASCII" 400 bad_scope '{"kind":"jwt","scope":{"aud":"exämple"}}'
refused "aud with a homoglyph" 400 bad_scope '{"kind":"jwt","scope":{"aud":"ex\u0430mple"}}'
refused "aud with a bidi override" 400 bad_scope '{"kind":"jwt","scope":{"aud":"a\u202eb"}}'
refused "aud empty" 400 bad_scope '{"kind":"jwt","scope":{"aud":""}}'
refused "aud with an empty segment" 400 bad_scope '{"kind":"jwt","scope":{"aud":"a//b"}}'
refused "aud too long" 400 bad_scope "{\"kind\":\"jwt\",\"scope\":{\"aud\":\"$(head -c 300 /dev/zero | tr '\0' a)\"}}"
refused "scope words with a wildcard" 400 bad_scope '{"kind":"jwt","scope":{"aud":"x","scope":"read *"}}'
refused "ttl above the maximum" 400 ttl_too_long '{"kind":"jwt","scope":{"aud":"x"},"ttl":"2h"}'
refused "ttl zero" 400 bad_ttl '{"kind":"jwt","scope":{"aud":"x"},"ttl":"0s"}'
refused "ttl negative" 400 bad_ttl '{"kind":"jwt","scope":{"aud":"x"},"ttl":"-5m"}'
refused "ttl non-numeric" 400 bad_ttl '{"kind":"jwt","scope":{"aud":"x"},"ttl":"soon"}'
refused "ttl fractional" 400 bad_ttl '{"kind":"jwt","scope":{"aud":"x"},"ttl":"1.5m"}'
refused "ttl huge" 400 bad_ttl '{"kind":"jwt","scope":{"aud":"x"},"ttl":"99999999999999999999s"}'
refused "ttl as a number" 400 bad_request '{"kind":"jwt","scope":{"aud":"x"},"ttl":60}'
refused "reason too long" 413 too_large "{\"kind\":\"jwt\",\"scope\":{\"aud\":\"x\"},\"reason\":\"$(head -c 600 /dev/zero | tr '\0' a)\"}"
eq "nothing pending after bad input" 0 "$(npending)"
eq "nothing issued after bad input" 0 "$(nwrits)"

# HTTP-level refusals.
eq "unknown path: 404" 404 "$(status "$SOCK" GET /v1/nope)"
eq "wrong method: 405" 405 "$(status "$SOCK" PUT /v1/writs '{}')"
eq "malformed id in path: 404" 404 "$(status "$SOCK" DELETE /v1/writs/../../admin)"
eq "revoke by token: malformed JSON 400" 400 "$(status "$SOCK" POST /v1/writs/revoke '{"token":')"
eq "revoke by token: no token 400" 400 "$(status "$SOCK" POST /v1/writs/revoke '{}')"
eq "revoke by token: a token of the wrong type 400" 400 "$(status "$SOCK" POST /v1/writs/revoke '{"token":7}')"
eq "revoke by token: an unknown field 400" 400 "$(status "$SOCK" POST /v1/writs/revoke '{"token":"x","all":true}')"
eq "revoke by token: an unknown token 404" 404 "$(status "$SOCK" POST /v1/writs/revoke '{"token":"nope"}')"
eq "audit tail: a bad count 400" 400 "$(status "$ADMIN" GET '/v1/audit?tail=-1')"
eq "audit tail: a bad session id 400" 400 "$(status "$ADMIN" GET '/v1/audit?session=../x')"
eq "bad wait query: 400" 400 "$(status "$ADMIN" GET '/v1/requests?wait=abc')"
eq "wait above max_wait: 400" 400 "$(status "$ADMIN" GET '/v1/requests?wait=100000')"
# Query arguments are parsed strictly (route.c, fuzz_route): qbad DESC PATH
# WHY: 400 with WHY in the message, on the admin socket.
H=0123456789abcdef0123456789abcdef
qbad() {
	local got
	got=$(status "$ADMIN" GET "$2")
	eq "$1" "400 $3" "$got $(jq -r .error.message "$T/body" | grep -o "$3")"
}
qbad "query: a count past 64 bits" '/v1/audit?tail=9999999999999999999' 'from 0 to 100000'
qbad "query: an argument given twice" '/v1/audit?tail=5&tail=6' "'tail' is given twice"
qbad "query: an argument the path does not take" '/v1/audit?tail=5&colour=red' \
	"unknown query argument 'colour'; GET /v1/audit takes after, tail, session"
qbad "query: an argument on a path that takes none" '/v1/writs?all=1' "takes none"
qbad "query: a session id with a %00 after it" "/v1/audit?session=$H%00x" 'must be a session id'
qbad "query: a name with a %00 in it" "/v1/audit?tail%00x=5" "unknown query argument 'tail'"
qbad "query: an instance that is not one" '/v1/requests?instance=yesterday' 'instance id'
qbad "query: wait without a value" '/v1/requests?wait' 'from 0 to'
qbad "query: after, empty" '/v1/requests?after=' 'from 0 to'
eq "query: a session socket's path takes none either" 400 "$(status "$SOCK" GET '/v1/health?x=1')"
eq "query: an unknown path is 404 whatever its query" 404 "$(status "$ADMIN" GET '/v1/nope?x=1')"
eq "query: a known path with another method is 405 whatever its query" 405 \
	"$(status "$ADMIN" PUT '/v1/audit?x=1' '{}')"
eq "query: every argument a path takes, once each: 200" "200 200" \
	"$(status "$ADMIN" GET "/v1/audit?tail=5&after=0&session=$H") $(status "$ADMIN" GET \
	"/v1/requests?wait=0&after=3&instance=$H")"
eq "approval with fields: 400" 400 "$(status "$ADMIN" POST /v1/requests/0123456789abcdef0123456789abcdef/approve '{"typed":"x"}')"
eq "session with a bad name: 400" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"../evil"}')"
eq "session with a relative workspace: 400" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"ok","workspace":"rel/path"}')"
eq "session with a control char in workspace: 400" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"ok","workspace":"/a\u001bb"}')"
eq "session with an unknown field: 400" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"ok","root":true}')"

# The writ CLI refuses bad input before sending.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope noequals 2>/dev/null
eq "writ: --scope without = exits 2" 2 "$?"
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=a --scope aud=b 2>/dev/null
eq "writ: duplicate --scope exits 2" 2 "$?"
WRIT_SOCKET=$SOCK "$BIN/writ" get 2>/dev/null
eq "writ: get without a kind exits 2" 2 "$?"
WRIT_SOCKET=$SOCK "$BIN/writ" frobnicate 2>/dev/null
eq "writ: unknown command exits 2" 2 "$?"
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=x --ttl 9h 2>"$T/err"
eq "writ: ttl over the maximum exits 2" 2 "$?"
check "writ: ... and says ttl_too_long" grep -q ttl_too_long "$T/err"
WRIT_SOCKET=$SOCK "$BIN/writ" revoke not-an-id 2>/dev/null
eq "writ: revoke with a malformed id exits 2" 2 "$?"
"$BIN/writ" --help | grep -q 'writ get KIND'
check "writ --help shows usage" test $? -eq 0
"$BIN/writctl" --help | grep -q 'sessions new'
check "writctl --help shows usage" test $? -eq 0
"$BIN/writctl" approve nope 2>/dev/null
eq "writctl: approve with a malformed id exits 2" 2 "$?"
eq "nothing issued after CLI misuse" 0 "$(nwrits)"

# writctl watch strips terminal escapes from everything the agent controls.
esc=$(printf '\033]0;pwned\007\033[2J')
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=x --reason "please$esc" >/dev/null 2>&1 &
GET=$!
mkfifo "$T/in"
"$BIN/writctl" watch <"$T/in" >"$T/watch" 2>&1 &
W=$!
exec 7>"$T/in"
wait_for grep -q 'Approve request [0-9a-f]\{8\}?' "$T/watch"
check "watch shows the prompt" grep -q 'untrusted' "$T/watch"
check "watch shows no escape characters" bash -c "! grep -q \$'\\033' '$T/watch'"
echo n >&7
wait $GET
eq "watch: 'n' denies (writ exits 4)" 4 "$?"
exec 7>&-
kill $W; wait $W 2>/dev/null
eq "nothing issued after a watch denial" 0 "$(nwrits)"
