#!/usr/bin/env bash
# The approval round trip with the real writd, writctl, writ, curl, openssl.
. "$(dirname "$0")/lib.sh"

start_writd '{"approval":{"timeout":"2s"}}' || exit 1
SOCK=$(new_session demo)
check "session socket exists" test -S "$SOCK"
eq "health on the session socket" ok "$(sess "$SOCK" /v1/health | jq -r .status)"
eq "health names the session" demo "$(sess "$SOCK" /v1/health | jq -r .session.name)"
SID=$(sess "$SOCK" /v1/health | jq -r .session.id)

# No approver connected: refused at once, nothing issued.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example 2>"$T/err" >"$T/out"
eq "no approver: writ exits 4" 4 "$?"
check "no approver: message says how to start one" grep -q 'writctl watch' "$T/err"
eq "no approver: curl sees 403 approval_unavailable" "403 approval_unavailable" \
	"$(status "$SOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"x"}}') $(jq -r .error.code "$T/body")"
eq "no approver: nothing issued" 0 "$(nwrits)"

# Approve with writctl; verify the token with openssl, not with our code.
approver_on
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example --ttl 90s --reason "test run" >"$T/tok" 2>"$T/err" &
GET=$!
ID=$(pending_id)
check "request is pending" test -n "$ID"
req=$(admin /v1/requests)
eq "prompt data: kind" jwt "$(echo "$req" | jq -r '.requests[0].kind')"
eq "prompt data: canonical scope" '{"aud":"example"}' "$(echo "$req" | jq -c '.requests[0].scope')"
eq "prompt data: caller pid" "$GET" "$(echo "$req" | jq -r '.requests[0].caller.pid')"
eq "prompt data: caller exe" "$BIN/writ" "$(echo "$req" | jq -r '.requests[0].caller.exe')"
eq "prompt data: reason" "test run" "$(echo "$req" | jq -r '.requests[0].reason')"
eq "prompt data: ttl" 90 "$(echo "$req" | jq -r '.requests[0].ttl')"
"$BIN/writctl" approve "$ID" >/dev/null
check "writctl approve succeeds" test $? -eq 0
wait $GET
eq "writ get exits 0 after approval" 0 "$?"
eq "  ... audited: approved on the admin socket, issued from that request" "admin $ID" \
	"$(grep '"event":"approved"' "$T/state/audit.jsonl" | jq -r --arg id "$ID" 'select(.request==$id) | .channel') $(grep '"event":"issued"' "$T/state/audit.jsonl" | jq -r .request | tail -1)"
tok=$(cat "$T/tok")
h=${tok%%.*}; rest=${tok#*.}; p=${rest%%.*}; sig=${rest#*.}
printf '%s' "$h.$p" >"$T/signed"
printf '%s' "$sig" | b64url_decode >"$T/sig"
x=$("$BIN/writctl" jwks | jq -r '.keys[0].x')
{ printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'; printf '%s' "$x" | b64url_decode; } >"$T/pub.der"
openssl pkey -pubin -inform DER -in "$T/pub.der" -out "$T/pub.pem" 2>/dev/null
check "openssl verifies the Ed25519 signature" \
	openssl pkeyutl -verify -pubin -inkey "$T/pub.pem" -rawin -in "$T/signed" -sigfile "$T/sig" -out /dev/null
printf '%s' "$h.${p}x" >"$T/forged"
check "openssl rejects a tampered token" \
	bash -c "! openssl pkeyutl -verify -pubin -inkey '$T/pub.pem' -rawin -in '$T/forged' -sigfile '$T/sig' >/dev/null 2>&1"
hdr=$(printf '%s' "$h" | b64url_decode)
claims=$(printf '%s' "$p" | b64url_decode)
eq "header alg" EdDSA "$(echo "$hdr" | jq -r .alg)"
eq "header kid matches the JWKS" "$("$BIN/writctl" jwks | jq -r '.keys[0].kid')" "$(echo "$hdr" | jq -r .kid)"
eq "claim iss" writ "$(echo "$claims" | jq -r .iss)"
eq "claim sub is the session" "$SID" "$(echo "$claims" | jq -r .sub)"
eq "claim aud" example "$(echo "$claims" | jq -r .aud)"
eq "exp - iat is the ttl" 90 "$(echo "$claims" | jq '.exp - .iat')"
now=$(date +%s)
check "iat is now" test "$(echo "$claims" | jq .iat)" -ge $((now - 5)) -a "$(echo "$claims" | jq .iat)" -le "$now"
eq "jti is the writ id" "$(admin /v1/writs | jq -r '.writs[0].id')" "$(echo "$claims" | jq -r .jti)"
eq "session lists its writ" 1 "$(WRIT_SOCKET=$SOCK "$BIN/writ" ls --json | jq '.writs | length')"
check "listing never shows the token" bash -c "! curl -s --unix-socket '$SOCK' http://writ/v1/writs | grep -q '$sig'"
check "the audit of nothing: token not in writd's log" bash -c "! grep -q '$sig' '$T/writd.log'"

# An approval is single-use.
eq "approving the same id again: 409 already_decided, saying how (prior)" "409 already_decided approved" \
	"$(status "$ADMIN" POST "/v1/requests/$ID/approve") $(jq -r '"\(.error.code) \(.error.prior)"' "$T/body")"
eq "approving an unknown id: 404" 404 "$(status "$ADMIN" POST /v1/requests/0123456789abcdef0123456789abcdef/approve)"
"$BIN/writctl" approve 0123456789abcdef0123456789abcdef 2>/dev/null
eq "writctl approve of an unknown id exits 4" 4 "$?"

# The same request again needs a fresh approval: never cached.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example --ttl 90s --reason "test run" >"$T/tok2" 2>&1 &
GET=$!
ID2=$(pending_id)
check "the identical request waits for a new approval" test -n "$ID2" -a "$ID2" != "$ID"
"$BIN/writctl" approve "$ID2" >/dev/null
wait $GET
eq "second approval issues a second writ" 2 "$(nwrits)"
check "two different tokens" test "$(cat "$T/tok")" != "$(cat "$T/tok2")"

# Deny.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example >"$T/out" 2>"$T/err" &
GET=$!
ID=$(pending_id)
"$BIN/writctl" deny "$ID" >/dev/null
wait $GET
eq "denied: writ exits 4" 4 "$?"
check "denied: says so" grep -q approval_denied "$T/err"
check "denied: prints no token" test ! -s "$T/out"
eq "denied: nothing issued" 2 "$(nwrits)"

# Timeout (approval.timeout is 2s here).
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example >"$T/out" 2>"$T/err"
eq "timed out: writ exits 5" 5 "$?"
check "timed out: says so" grep -q approval_timeout "$T/err"
eq "timed out: nothing issued" 2 "$(nwrits)"
eq "timed out: nothing pending" 0 "$(npending)"

# The caller exits before the decision: nothing is issued to its pid.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=gone >/dev/null 2>&1 &
GET=$!
ID=$(pending_id)
kill -KILL $GET; wait $GET 2>/dev/null
code=$(status "$ADMIN" POST "/v1/requests/$ID/approve")
check "approving for an exited caller fails ($code $(jq -r .error.code "$T/body"))" test "$code" = 409 -o "$code" = 404
eq "exited caller: nothing issued" 2 "$(nwrits)"
eq "exited caller: nothing pending" 0 "$(npending)"

# The caller exits but a child keeps its connection open: the pidfd, not
# the socket, tells that the process that asked is gone.
python3 - "$SOCK" "$T/child.pid" "$ADMIN" <<'PY' &
import json, os, socket, sys, time
def pending():
    a = socket.socket(socket.AF_UNIX)
    a.connect(sys.argv[3])
    a.sendall(b"GET /v1/requests HTTP/1.1\r\nHost: writ\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := a.recv(4096):
        data += chunk
    return json.loads(data.split(b"\r\n\r\n", 1)[1])["requests"]
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = b'{"kind":"jwt","scope":{"aud":"orphan"}}'
s.sendall(b"POST /v1/writs HTTP/1.1\r\nHost: writ\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
for _ in range(100):            # stay alive until writd has taken our identity
    if pending():
        break
    time.sleep(0.05)
if os.fork() == 0:
    open(sys.argv[2], "w").write(str(os.getpid()))
    time.sleep(30)   # the child holds the socket; the asker is gone
    os._exit(0)
os._exit(0)
PY
wait $!
ID=$(pending_id)
eq "orphaned connection: approve is refused with 409 caller_gone" "409 caller_gone" \
	"$(status "$ADMIN" POST "/v1/requests/$ID/approve") $(jq -r .error.code "$T/body")"
eq "orphaned connection: nothing issued" 2 "$(nwrits)"
kill "$(cat "$T/child.pid")" 2>/dev/null

# Giving a writ back.
WID=$(admin /v1/writs | jq -r '.writs[0].id')
WRIT_SOCKET=$SOCK "$BIN/writ" revoke "$WID" >/dev/null
eq "writ revoke exits 0" 0 "$?"
eq "revoked writ is gone" 1 "$(nwrits)"
WRIT_SOCKET=$SOCK "$BIN/writ" revoke "$WID" 2>/dev/null
eq "revoking it again: exit 2 (not found)" 2 "$?"

# Another session cannot see or revoke this session's writs.
SOCK2=$(new_session other)
eq "other session sees no writs" 0 "$(sess "$SOCK2" /v1/writs | jq '.writs | length')"
WID=$(admin /v1/writs | jq -r '.writs[0].id')
eq "other session cannot revoke" 404 "$(status "$SOCK2" DELETE "/v1/writs/$WID")"
eq "session socket has no admin API" 404 "$(status "$SOCK2" GET /v1/requests)"
eq "session socket cannot approve" 404 "$(status "$SOCK2" POST "/v1/requests/$ID/approve")"
eq "admin socket cannot request writs" 405 "$(status "$ADMIN" POST /v1/writs '{"kind":"jwt","scope":{"aud":"x"}}')"

# Closing a session fails its pending request and removes its socket.
WRIT_SOCKET=$SOCK2 "$BIN/writ" get jwt --scope aud=example >/dev/null 2>"$T/err" &
GET=$!
pending_id >/dev/null
SID2=$(sess "$SOCK2" /v1/health | jq -r .session.id)
"$BIN/writctl" sessions rm "$SID2" >/dev/null
wait $GET
check "closed session: writ fails" test $? -ne 0
check "closed session: says session_closed" grep -q session_closed "$T/err"
check "closed session: socket removed" test ! -e "$SOCK2"
check "closed session: directory removed" test ! -e "$(dirname "$SOCK2")"
eq "closed session: gone from the list" 1 "$("$BIN/writctl" sessions ls --json | jq '.sessions | length')"
eq "closing it again: 404" 404 "$(status "$ADMIN" DELETE "/v1/sessions/$SID2")"

# Clean shutdown answers waiting requests and removes the admin socket.
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=example >/dev/null 2>"$T/err" &
GET=$!
pending_id >/dev/null
approver_off
stop_writd
eq "SIGTERM: writd exits 0" 0 "$?"
wait $GET
eq "SIGTERM: waiting writ is told (exit 6, busy)" 6 "$?"
check "SIGTERM: shutting_down" grep -q shutting_down "$T/err"
check "SIGTERM: admin socket removed" test ! -e "$ADMIN"
check "SIGTERM: session socket removed" test ! -e "$SOCK"
WRIT_SOCKET=$SOCK "$BIN/writ" status 2>/dev/null
eq "writd gone: writ exits 3 (unreachable)" 3 "$?"
