#!/usr/bin/env bash
# The sshcert kind against real OpenSSH: ssh-keygen -L reads every
# certificate writd issues, a real sshd on a loopback port (trusting
# writd's CA, reading writd's KRL) lets the right ones in and keeps the
# rest out, and git clones over it through `writ ssh`.
. "$(dirname "$0")/lib.sh"

SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ] && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		openssh-server >/dev/null 2>&1
fi
[ -x "$SSHD" ] || { skip "sshd is not installed (apt-get install openssh-server)"; exit 0; }
command -v git >/dev/null || { skip "git is not installed"; exit 0; }
[ "$(id -u)" = 0 ] || { skip "sshd must run as root here"; exit 0; }

# A user of our own for sshd to log in, made here and removed at the end.
U=writssh$$
U=${U:0:16}
H=$T/home-$U
SSHD_PID=
MADE_USER=
chmod 0711 "$T"
sshcert_cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
	[ -n "$MADE_USER" ] && userdel "$U" >/dev/null 2>&1
	cleanup
}
trap sshcert_cleanup EXIT
useradd -M -d "$H" -s /bin/sh "$U" || { fail "useradd $U"; exit 1; }
MADE_USER=1
# NB. "*", not useradd's "!": sshd without PAM refuses a locked account.
usermod -p '*' "$U"
mkdir -p "$H" && chown "$U" "$H"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KRL=$T/state/ssh-revoked.krl
SSH_OPTS=(-F /dev/null -p "$PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none -o LogLevel=ERROR
	-o ConnectTimeout=5)
# login KEY [USER] -- CMD...: ssh to the test sshd with KEY (and KEY-cert.pub).
login() {
	local key=$1 user=$U; shift
	[ "$1" != -- ] && { user=$1; shift; }
	shift
	ssh "${SSH_OPTS[@]}" -i "$key" "$user@127.0.0.1" "$@" 2>>"$T/ssh.err" </dev/null
}
# revoked CERT: ssh-keygen itself finds CERT in writd's KRL.
revoked() { ssh-keygen -Q -f "$KRL" "$1" 2>/dev/null | grep -q ': REVOKED$'; }
in_krl() { ssh-keygen -Q -l -f "$KRL" 2>/dev/null | grep -q "^serial: $1\$"; }
serial_of() { ssh-keygen -L -f "$1" | awk '/Serial:/ { print $2 }'; }
nissued() { grep -c '"issued"' "$T/state/audit.jsonl"; }
iso() { date -d "@$1" +%Y-%m-%dT%H:%M:%S; }

# Policy: no agent logs in as root (enterprise), extensions at most
# permit-pty and five minutes, and the test user or "other" (with
# permit-pty at most) issued without a prompt to sessions named dev*.
cat >"$T/enterprise.json" <<EOF
{"deny": [{"id": "no-root", "kind": "sshcert", "scope": {"principals": "root"},
           "why": "agents never log in as root"}],
 "limits": {"sshcert": {"max_ttl": "5m", "extensions": ["permit-pty"]}}}
EOF
cat >"$T/user.json" <<EOF
{"allow": [{"id": "ssh-user", "kind": "sshcert", "session": "dev*",
            "scope": {"principals": ["$U", "other"], "extensions": "permit-pty"}}]}
EOF
chmod 0644 "$T/enterprise.json" "$T/user.json"
start_writd '{"kinds": {"sshcert": {"clock_skew": "2s"}}}' || exit 1
quiet() { "$@" >/dev/null 2>&1; }
check "writctl policy check accepts the sshcert rules" quiet "$BIN/writctl" policy check \
	--enterprise "$T/enterprise.json" --policy "$T/user.json"
check "the KRL exists from the start (sshd refuses every key without one)" test -s "$KRL"
eq "writctl sshcert krl names it" "$KRL" "$("$BIN/writctl" sshcert krl)"
S=$(new_session dev)
SID=$(basename "$(dirname "$S")")

# No CA yet: a clear error, nothing issued.
ssh-keygen -q -t ed25519 -N '' -C agent -f "$T/k0"
code=$(status "$S" POST /v1/writs "$(jq -nc --arg k "$(cat "$T/k0.pub")" --arg u "$U" \
	'{kind: "sshcert", scope: {public_key: $k, principals: [$u]}}')")
eq "no CA key yet: 400 kind_not_configured" "400 kind_not_configured" "$code $(jq -r .error.code "$T/body")"
check "  ... saying how to make one" grep -q 'writctl sshcert init' "$T/body"

"$BIN/writctl" sshcert init >"$T/ca.pub" 2>"$T/init.err"
eq "writctl sshcert init makes the CA" 0 "$?"
check "  ... and prints one ssh-ed25519 line for TrustedUserCAKeys" \
	grep -qxE 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/=]+ writ-ca' "$T/ca.pub"
check "  ... which ssh-keygen reads as a key" quiet ssh-keygen -l -f "$T/ca.pub"
eq "writctl sshcert ca prints the same line" "$(cat "$T/ca.pub")" "$("$BIN/writctl" sshcert ca)"
"$BIN/writctl" sshcert init >/dev/null 2>"$T/init2.err"
eq "a second init is refused (servers trust the first)" 1 "$?"
check "  ... saying so" grep -q 'already in the store' "$T/init2.err"

# The server: its own host key, writd's CA and KRL, no other way in.
mkdir -p /run/sshd "$T/sshd"
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host"
cat >"$T/sshd/config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $T/sshd/host
PidFile $T/sshd/pid
UsePAM no
StrictModes no
AuthorizedKeysFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
TrustedUserCAKeys $T/ca.pub
RevokedKeys $KRL
LogLevel VERBOSE
EOF
"$SSHD" -D -e -f "$T/sshd/config" 2>"$T/sshd.log" &
SSHD_PID=$!
wait_for sh -c "ssh-keyscan -p $PORT 127.0.0.1 2>/dev/null | grep -q ssh-ed25519" ||
	{ fail "sshd did not start: $(tail -5 "$T/sshd.log")"; exit 1; }

# writ ssh: a key made in the "sandbox", a certificate beside it.
AH=$T/agent-home
mkdir -p "$AH"
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --ttl 2m --reason 'log in' \
	>"$T/out" 2>"$T/err"
eq "writ ssh issues a certificate" 0 "$?"
K=$AH/.ssh/id_ed25519
eq "  ... printing what ssh needs" "ssh -i $K" "$(cat "$T/out")"
check "  ... having made ~/.ssh/id_ed25519 with ssh-keygen" test -s "$K"
eq "  ... the private key 0600" 600 "$(stat -c %a "$K")"
eq "  ... the certificate beside it, 0644" 644 "$(stat -c %a "$K-cert.pub")"
check "  ... and the stderr says until when" grep -q "certificate $K-cert.pub valid until" "$T/err"
WID=$(WRIT_SOCKET=$S "$BIN/writ" ls --json | jq -r '.writs[0].id')
ssh-keygen -L -f "$K-cert.pub" >"$T/L"
eq "ssh-keygen -L reads it: an ed25519 user certificate" 1 \
	"$(grep -c 'Type: ssh-ed25519-cert-v01@openssh.com user certificate' "$T/L")"
check "  ... for the agent's own key" grep -q "Public key: ED25519-CERT $(ssh-keygen -l -f "$K.pub" | awk '{print $2}')" "$T/L"
check "  ... signed by writd's CA" grep -q "Signing CA: ED25519 $(ssh-keygen -l -f "$T/ca.pub" | awk '{print $2}')" "$T/L"
eq "  ... key id naming the session and the writ" "\"writ:$SID:$WID\"" \
	"$(awk -F'Key ID: ' '/Key ID:/ { print $2 }' "$T/L")"
check "  ... a serial that is not 0" sh -c "serial=\$(ssh-keygen -L -f '$K-cert.pub' | awk '/Serial:/ { print \$2 }'); [ -n \"\$serial\" ] && [ \"\$serial\" != 0 ]"
eq "  ... the principal asked, alone" "$U" "$(sed -n '/Principals:/,/Critical/p' "$T/L" | sed '1d;$d' | tr -d ' \t')"
check "  ... no critical options, no extensions" grep -qz 'Critical Options: (none).*Extensions: (none)' "$T/L"
W=$(admin /v1/writs | jq -c --arg id "$WID" '.writs[] | select(.id == $id)')
IA=$(jq .issued_at <<<"$W"); EA=$(jq .expires_at <<<"$W")
eq "  ... valid from 2 s before issue (clock_skew) to the writ's expiry" \
	"from $(iso $((IA - 2))) to $(iso "$EA")" "$(awk '/Valid:/ { print $2, $3, $4, $5 }' "$T/L")"
eq "  ... two minutes" 120 $((EA - IA))

# sshd: the right principal logs in and runs a command.
eq "sshd lets the certificate in and runs the command" "hello $U" \
	"$(login "$K" -- 'echo hello $(id -un)')"
check "  ... and logs the key id" grep -q "ID writ:$SID:$WID" "$T/sshd.log"
# Another user: the certificate does not name it.
useradd -M -d "$H" -s /bin/sh "${U}x" 2>/dev/null && usermod -p '*' "${U}x"
check "the wrong principal is refused" test -z "$(login "$K" "${U}x" -- echo in)"
userdel "${U}x" 2>/dev/null
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal other --key "$T/k1" >/dev/null 2>&1
check "a certificate for 'other' does not log in as $U" test -z "$(login "$T/k1" -- echo in)"
check "  ... sshd says why" grep -q "not in the certificate\|Certificate invalid: name is not a listed principal" "$T/sshd.log"

# force-command: sshd runs it, whatever the client asks.
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/kf" \
	--force-command 'echo forced' >/dev/null 2>"$T/err"
eq "a force-command certificate is issued" 0 "$?"
ssh-keygen -L -f "$T/kf-cert.pub" >"$T/L"
check "  ... ssh-keygen -L shows force-command" grep -q 'force-command echo forced' "$T/L"
eq "  ... and sshd runs it instead of the command asked" "forced" "$(login "$T/kf" -- 'echo not forced')"
# source-address: from 127.0.0.1 only one naming it gets in.
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/ks1" \
	--source-address 10.9.0.0/16,192.0.2.7 >/dev/null 2>&1
check "ssh-keygen -L shows source-address, sorted" \
	grep -q 'source-address 10.9.0.0/16,192.0.2.7' <(ssh-keygen -L -f "$T/ks1-cert.pub")
check "  ... and sshd refuses it from 127.0.0.1" test -z "$(login "$T/ks1" -- echo in)"
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/ks2" \
	--source-address 127.0.0.0/8 >/dev/null 2>&1
eq "  ... one naming 127.0.0.0/8 gets in" in "$(login "$T/ks2" -- echo in)"
# Extensions: as asked, within the limit.
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/kx" \
	--extension permit-pty >/dev/null 2>&1
eq "ssh-keygen -L shows the extension asked (within the limit), alone" permit-pty \
	"$(ssh-keygen -L -f "$T/kx-cert.pub" | sed -n '/Extensions:/,$p' | sed 1d | tr -d ' \t')"

# Revoked before its expiry: into the KRL, and sshd refuses it.
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/kr" >/dev/null 2>&1
RID=$(WRIT_SOCKET=$S "$BIN/writ" ls --json | jq -r --arg k "$(cut -d' ' -f2 "$T/kr.pub")" \
	'.writs[] | select(.scope.public_key | endswith($k)) | .id')
eq "a fresh certificate logs in" in "$(login "$T/kr" -- echo in)"
check "  ... and is not in the KRL" sh -c "! ssh-keygen -Q -f '$KRL' '$T/kr-cert.pub' | grep -q REVOKED"
WRIT_SOCKET=$S "$BIN/writ" revoke "$RID" >/dev/null
check "writ revoke puts it in the KRL (ssh-keygen -Q: REVOKED)" wait_for revoked "$T/kr-cert.pub"
check "  ... and sshd refuses it before its expiry" test -z "$(login "$T/kr" -- echo in)"
check "  ... saying it is revoked" grep -q "revoked" "$T/sshd.log"
eq "  ... the KRL is 0644 (sshd and copies read it), its state 0600" "644 600" \
	"$(stat -c %a "$KRL") $(stat -c %a "$KRL.state")"
check "  ... the one that was never revoked still logs in" test -n "$(login "$T/kf" -- x)"

# A session's end revokes its certificates.
S2=$(new_session dev2)
WRIT_SOCKET=$S2 "$BIN/writ" ssh --principal "$U" --key "$T/ke" >/dev/null 2>&1
eq "a certificate of a second session logs in" in "$(login "$T/ke" -- echo in)"
"$BIN/writctl" sessions rm "$(basename "$(dirname "$S2")")" >/dev/null
check "closing its session puts it in the KRL" wait_for revoked "$T/ke-cert.pub"
check "  ... and sshd refuses it" test -z "$(login "$T/ke" -- echo in)"

# A crash and a restart keep the KRL: the revoked stay revoked, and the
# ledger brings the live ones back (the old session's socket is gone).
crash_writd
start_writd '{"kinds": {"sshcert": {"clock_skew": "2s"}}}' || exit 1
S=$(new_session dev-again)
check "after a restart the revoked certificate is still in the KRL" revoked "$T/kr-cert.pub"
check "  ... and sshd still refuses it" test -z "$(login "$T/kr" -- echo in)"
check "  ... while a live one still logs in" test -n "$(login "$T/kf" -- x)"
eq "  ... and the live writ came back" "true" \
	"$(admin /v1/writs | jq --arg id "$WID" 'any(.writs[]; .id == $id)')"
check "  ... its KRL was not rewritten from nothing: the session's revoked one is there" \
	revoked "$T/ke-cert.pub"

# Expiry: sshd refuses a certificate past its valid_before.  A revoked
# one leaves the KRL once it has expired (plus clock_skew).
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/kt" --ttl 4s >/dev/null 2>&1
TID=$(WRIT_SOCKET=$S "$BIN/writ" ls --json | jq -r --arg k "$(cut -d' ' -f2 "$T/kt.pub")" \
	'.writs[] | select(.scope.public_key | endswith($k)) | .id')
TEA=$(admin /v1/writs | jq --arg id "$TID" '.writs[] | select(.id == $id) | .expires_at')
eq "a 4-second certificate logs in at once" in "$(login "$T/kt" -- echo in)"
HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/kp" --ttl 4s >/dev/null 2>&1
PSER=$(serial_of "$T/kp-cert.pub")
PID2=$(WRIT_SOCKET=$S "$BIN/writ" ls --json | jq -r --arg k "$(cut -d' ' -f2 "$T/kp.pub")" \
	'.writs[] | select(.scope.public_key | endswith($k)) | .id')
WRIT_SOCKET=$S "$BIN/writ" revoke "$PID2" >/dev/null
check "a short one revoked is in the KRL" wait_for in_krl "$PSER"
wait_until $((TEA + 1)) false
check "after its valid_before sshd refuses the same certificate" test -z "$(login "$T/kt" -- echo in)"
check "  ... as expired" grep -q "expired\|Certificate invalid" "$T/sshd.log"
# Its natural expiry needs no entry; the KRL drops the revoked one itself.
check "an expired certificate is never added to the KRL" sh -c "! ssh-keygen -Q -f '$KRL' '$T/kt-cert.pub' | grep -q REVOKED"
WAIT_SECS=15 wait_for sh -c "! ssh-keygen -Q -l -f '$KRL' | grep -q '^serial: $PSER\$'"
eq "the revoked one left the KRL once expired (valid_before + clock_skew)" 0 "$?"
check "  ... while the revoked, unexpired one stays" revoked "$T/kr-cert.pub"

# git over SSH: a bare repository of the test user, cloned through writ ssh.
su "$U" -s /bin/sh -c "git init -q --bare --initial-branch=main '$H/repo.git' && git init -q '$H/w' && \
	cd '$H/w' && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m one && \
	git push -q '$H/repo.git' HEAD:refs/heads/main" || fail "cannot make the bare repository"
GSSH="$(HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/kg" 2>/dev/null) ${SSH_OPTS[*]}"
GIT_SSH_COMMAND=$GSSH git clone -q "ssh://$U@127.0.0.1/$H/repo.git" "$T/clone" 2>"$T/git.err"
eq "git clone over ssh with the certificate from writ ssh" 0 "$?"
eq "  ... gets the commit" one "$(git -C "$T/clone" log -1 --format=%s 2>/dev/null)"
# Read-only: a force-command that lets only git-upload-pack through.
cat >"$T/git-ro" <<'EOF'
#!/bin/sh
case $SSH_ORIGINAL_COMMAND in
"git-upload-pack "*) exec git-shell -c "$SSH_ORIGINAL_COMMAND" ;;
esac
echo "read-only: $SSH_ORIGINAL_COMMAND refused" >&2
exit 1
EOF
chmod 0755 "$T/git-ro"
GRO="$(HOME=$AH WRIT_SOCKET=$S "$BIN/writ" ssh --principal "$U" --key "$T/kro" \
	--force-command "$T/git-ro" 2>/dev/null) ${SSH_OPTS[*]}"
rm -rf "$T/clone2"
GIT_SSH_COMMAND=$GRO git clone -q "ssh://$U@127.0.0.1/$H/repo.git" "$T/clone2" 2>"$T/git.err"
eq "a read-only certificate clones" 0 "$?"
git -C "$T/clone2" -c user.email=a@b -c user.name=a commit -q --allow-empty -m two
GIT_SSH_COMMAND=$GRO git -C "$T/clone2" push -q origin HEAD:main 2>"$T/push.err"
check "  ... but its push is refused" test $? -ne 0
check "  ... by the force-command" grep -q "read-only: git-receive-pack" "$T/push.err"
eq "  ... and the repository is unchanged" one \
	"$(su "$U" -s /bin/sh -c "git -C '$H/repo.git' log -1 --format=%s main")"
GIT_SSH_COMMAND=$GSSH git -C "$T/clone2" push -q origin HEAD:main 2>>"$T/push.err"
eq "  ... where a certificate without it pushes" two \
	"$(su "$U" -s /bin/sh -c "git -C '$H/repo.git' log -1 --format=%s main")"

# Bad input: each refused with a clear message, nothing issued.
ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/rsa"
ssh-keygen -q -t ecdsa -N '' -f "$T/ecdsa"
GOOD=$(cat "$T/k0.pub")
B64=$(cut -d' ' -f2 "$T/k0.pub")
LONG=$(printf 'a%.0s' $(seq 1 65))
before=$(nissued); wbefore=$(nwrits)
bad() {	# WHAT EXPECTED_CODE MESSAGE_PART SCOPE_JSON [TTL]
	local body
	body=$(jq -nc --argjson s "$4" --arg t "${5:-1m}" '{kind: "sshcert", scope: $s, ttl: $t}')
	code=$(status "$S" POST /v1/writs "$body")
	eq "refused: $1" "$2" "$code $(jq -r .error.code "$T/body")"
	check "  ... saying: $3" grep -qF -- "$3" "$T/body"
}
js() { jq -nc "$@"; }
bad "a malformed public key" "400 bad_scope" "not an OpenSSH public key line" \
	"$(js --arg u "$U" '{public_key: "ssh-ed25519", principals: [$u]}')"
bad "bad base64" "400 bad_scope" "not valid base64" \
	"$(js --arg u "$U" '{public_key: "ssh-ed25519 AAAA!!!!", principals: [$u]}')"
bad "base64 of something else" "400 bad_scope" "does not hold an ssh-ed25519 key" \
	"$(js --arg u "$U" --arg k "ssh-ed25519 $(printf 'not a key' | base64)" '{public_key: $k, principals: [$u]}')"
bad "an RSA key" "400 bad_scope" "unsupported key type 'ssh-rsa'" \
	"$(js --arg u "$U" --arg k "$(cat "$T/rsa.pub")" '{public_key: $k, principals: [$u]}')"
bad "an ECDSA key" "400 bad_scope" "unsupported key type 'ecdsa-sha2-nistp256'" \
	"$(js --arg u "$U" --arg k "$(cat "$T/ecdsa.pub")" '{public_key: $k, principals: [$u]}')"
bad "an RSA key under an ed25519 label" "400 bad_scope" "does not hold an ssh-ed25519 key" \
	"$(js --arg u "$U" --arg k "ssh-ed25519 $(cut -d' ' -f2 "$T/rsa.pub")" '{public_key: $k, principals: [$u]}')"
bad "a certificate as the key" "400 bad_scope" "unsupported key type" \
	"$(js --arg u "$U" --arg k "$(cat "$K-cert.pub")" '{public_key: $k, principals: [$u]}')"
bad "no principals" "400 bad_scope" "principals is required" \
	"$(js --arg k "$GOOD" '{public_key: $k}')"
bad "empty principals" "400 bad_scope" "must name at least one" \
	"$(js --arg k "$GOOD" '{public_key: $k, principals: []}')"
bad "an over-long principal" "400 bad_scope" "is not a user name" \
	"$(js --arg k "$GOOD" --arg p "$LONG" '{public_key: $k, principals: [$p]}')"
bad "too many principals" "400 bad_scope" "1 to 16 names" \
	"$(js --arg k "$GOOD" '{public_key: $k, principals: [range(17) | "u\(.)"]}')"
bad "a wildcard principal" "400 bad_scope" "is not a user name" \
	"$(js --arg k "$GOOD" '{public_key: $k, principals: ["*"]}')"
bad "a newline in a principal" "400 bad_scope" "is not a user name" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: ["\($u)\nroot"]}')"
bad "a control character in force_command" "400 bad_scope" "no control characters" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], force_command: "ls\u0007"}')"
bad "a newline in force_command" "400 bad_scope" "no control characters" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], force_command: "ls\nrm -rf /"}')"
bad "non-ASCII in force_command" "400 bad_scope" "printable ASCII" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], force_command: "ls é"}')"
bad "a newline in the key's comment" "400 bad_scope" "printable ASCII" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: "\($k)\nx", principals: [$u]}')"
bad "an unknown extension" "400 bad_scope" "unknown extension 'permit-everything'" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], extensions: ["permit-everything"]}')"
bad "an unknown critical option" "400 bad_scope" "critical_options" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], critical_options: {"verify-required": ""}}')"
bad "a source_address that is no address" "400 bad_scope" "is not an IPv4 or IPv6" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], source_address: "10.0.0.0/8,example.com"}')"
bad "a source_address block past /32" "400 bad_scope" "is not an IPv4 or IPv6" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], source_address: "10.0.0.0/33"}')"
bad "a source_address block with host bits" "400 bad_scope" "host bits set" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], source_address: "10.1.2.3/8"}')"
bad "an empty source_address entry" "400 bad_scope" "is not an IPv4 or IPv6" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], source_address: "10.0.0.1,"}')"
bad "a TTL above the kind's maximum" "400 ttl_too_long" "above the sshcert maximum" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u]}')" 2h
eq "nothing was issued for any of them (audit)" "$before" "$(nissued)"
eq "  ... nor live" "$wbefore" "$(nwrits)"
WRIT_SOCKET=$S "$BIN/writ" ssh --key "$T/kz" >/dev/null 2>"$T/err"
eq "writ ssh without --principal: a usage error" 2 "$?"
check "  ... saying what to give" grep -q 'at least one --principal' "$T/err"
check "  ... before making a key" test ! -e "$T/kz"

# Policy: a deny on a principal, a limit on extensions and TTL, an allow on principals.
bad "principal root (an enterprise deny)" "403 policy_denied" "agents never log in as root" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u, "root"]}')"
eq "  ... naming the rule" no-root "$(jq -r .error.rule "$T/body")"
bad "an extension over the limit" "403 policy_denied" "limits.sshcert.extensions" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u], extensions: ["permit-pty", "permit-port-forwarding"]}')"
bad "a TTL over the policy's limit" "403 policy_denied" "limits sshcert writs to 5m" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u]}')" 10m
bad "a principal no allow rule names (a person would be asked; none is there)" \
	"403 approval_unavailable" "" \
	"$(js --arg k "$GOOD" --arg u "$U" '{public_key: $k, principals: [$u, "stranger"]}')"
eq "nothing was issued for these either" "$before" "$(nissued)"
code=$(status "$S" POST /v1/writs "$(js --arg k "$GOOD" --arg u "$U" \
	'{kind: "sshcert", scope: {public_key: $k, principals: [$u, "other"], extensions: ["permit-pty"], force_command: "true"}, ttl: "1m"}')")
eq "the allow rule admits its principals, its extension and any force_command" 201 "$code"

# A graceful stop revokes every live writ (server.c), certificates too.
stop_writd
check "writd's stop puts the live certificates in the KRL" revoked "$T/kf-cert.pub"
check "  ... and sshd refuses them" test -z "$(login "$T/kf" -- echo in)"
