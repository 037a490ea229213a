#!/usr/bin/env bash
# CI job sessions (#13), end to end: a fake OIDC issuer (tests/fakes/oidc.py)
# and a fake GitHub (start_forge), writd trusting the issuer (ci.issuers)
# with a policy on verified claims, and no approver at all.  The test plays
# the runner: the same environment the real runners set, and the real hooks
# from deploy/ci/ (GitHub Actions job-started/job-completed, GitLab
# pre-build/post-build).
. "$(dirname "$0")/lib.sh"
trap 'oidc_kill; cleanup' EXIT

HOOKS=$(cd "$(dirname "$0")/../../deploy/ci" && pwd)
for c in git python3 openssl curl jq; do
	command -v "$c" >/dev/null || { skip "$c is not installed"; exit 0; }
done

start_oidc gh gl short || { fail "the fake OIDC issuer did not start"; exit 1; }
start_forge || { fail "the fake GitHub did not start"; exit 1; }
GH_ISS=$OIDC_URL
GL_ISS=https://127.0.0.1:$OIDC_PORT/gl
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home GIT_SSL_CAINFO=$FORGE_CA
mkdir -p "$HOME"
git config --global credential.helper "$BIN/git-credential-writ --host 127.0.0.1:$FORGE_PORT"
git config --global credential.useHttpPath true

# --- The fake issuer itself: its JWKS verifies what it signs, so that a
# refusal by writd below is writd's doing.
# jwks_verifies TOKEN [TENANT]: the tenant's published JWKS verifies TOKEN
# (RS256 by the RSA maths in python, ES256 by openssl from the JWK's point).
jwks_verifies() {
	curl -s --cacert "$OIDC_CA" "https://127.0.0.1:$OIDC_PORT/${2:-gh}/.well-known/jwks" >"$T/jwks.json"
	python3 - "$1" "$T/jwks.json" "$T/v" <<'PY'
import base64, hashlib, json, subprocess, sys
tok, jwks, d = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
b = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
h, c, s = tok.split(".")
head, sig, data = json.loads(b(h)), b(s), (h + "." + c).encode()
k = [k for k in jwks["keys"] if k["kid"] == head.get("kid")]
if not k:
    sys.exit(1)
k = k[0]
if head["alg"] == "RS256" and k["kty"] == "RSA":
    n, e = int.from_bytes(b(k["n"]), "big"), int.from_bytes(b(k["e"]), "big")
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(256, "big")
    info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(data).digest()
    sys.exit(0 if em == b"\0\1" + b"\xff" * (256 - 3 - len(info)) + b"\0" + info else 1)
if head["alg"] == "ES256" and k["kty"] == "EC":
    spki = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\4" + b(k["x"]) + b(k["y"])
    def der(i):
        i = i.lstrip(b"\0") or b"\0"
        return b"\2" + bytes([len(i) + (i[0] >> 7)]) + (b"\0" if i[0] >> 7 else b"") + i
    body = der(sig[:32]) + der(sig[32:])
    open(d + ".sig", "wb").write(b"\x30" + bytes([len(body)]) + body)
    open(d + ".in", "wb").write(data)
    subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-out", d + ".pub"], input=spki, check=True)
    sys.exit(subprocess.run(["openssl", "dgst", "-sha256", "-verify", d + ".pub", "-signature",
                             d + ".sig", d + ".in"], capture_output=True).returncode)
sys.exit(1)
PY
}
claims_of() { cut -d. -f2 <<<"$1" | b64url_decode; }
head_of() { cut -d. -f1 <<<"$1" | b64url_decode; }
check "fake issuer: an RS256 token verifies against its JWKS" jwks_verifies "$(oidc_mint '{"alg":"RS256"}')"
check "fake issuer: an ES256 token (DER made r||s) verifies against its JWKS" \
	jwks_verifies "$(oidc_mint '{"alg":"ES256"}')"
not() { ! "$@"; }
check "fake issuer: a forged signature does not" not jwks_verifies "$(oidc_mint '{"break":"forged-sig"}')"
check "fake issuer: nor a token under an unpublished kid" not jwks_verifies "$(oidc_mint '{"break":"unknown-kid"}')"
eq "fake issuer: iss, aud and alg as writd will be told" "$GH_ISS writ RS256" \
	"$(claims_of "$(oidc_mint)" | jq -r '"\(.iss) \(.aud)"') $(head_of "$(oidc_mint)" | jq -r .alg)"

# --- writd: the issuers, the forge, a claims policy, no approver.
# The short tenant's sessions may outlive their token by 2 s only.
CONFIG=$(jq -cs '.[0] * .[1] | .ci.issuers |= map(if .issuer | endswith("/short") then .grace = "2s" else . end)' \
	<<<"$OIDC_CONFIG $FORGE_CONFIG")
cat >"$T/enterprise.json" <<EOF
{
  "allow": [
    {"id": "gh-own-repo", "kind": "github",
     "session": {"name": "gh-*", "claims": {"iss": "$GH_ISS", "repository_owner": "acme"}},
     "scope": {"repo": "\${claims.repository}", "permissions": {"contents": "read"}},
     "max_ttl": "15m"},
    {"id": "gl-own-project", "kind": "github",
     "session": {"name": "gl-*", "claims": {"iss": "$GL_ISS", "namespace_path": "acme"}},
     "scope": {"repo": "\${claims.project_path}", "permissions": {"contents": "read"}},
     "max_ttl": "15m"}
  ],
  "default": "deny"
}
EOF
chmod 0644 "$T/enterprise.json"
start_writd "$CONFIG" || { fail "writd did not start with ci.issuers"; exit 1; }
forge_app_key
eq "no approver is connected, now or later" 0 \
	"$(admin /v1/health | jq '.approvers')"

nsessions() { admin /v1/sessions | jq '.sessions | length'; }
session_named() { admin /v1/sessions | jq -c --arg n "$1" '[.sessions[] | select(.name == $n)]'; }
no_session_named() { [ "$(session_named "$1")" = "[]" ]; }
audit() { cat "$T/state/audit.jsonl"; }

# --- The GitHub Actions runner, played: a Runner.Worker stand-in per job
# runs the real hooks as its children (so their $PPID is the worker, as on
# a runner), with the variables the runner sets; the job's steps read
# WRIT_SOCKET from GITHUB_ENV as the runner would pass it on.
# gh_job_start ID CLAIMS_JSON [AUDIENCE]: the hook's exit status.
gh_job_start() {
	local d=$T/gh/$1 job
	mkdir -p "$d"
	: >"$d/env"
	job=$(oidc_fake gh/job -d "$(jq -cn --argjson c "$2" '{claims: $c}')")
	jq -r .request_token <<<"$job" >"$d/rt"
	(
		export GITHUB_ENV=$d/env GITHUB_RUN_ID=${1%%-*} GITHUB_JOB=${1#*-} GITHUB_RUN_ATTEMPT=1
		export ACTIONS_ID_TOKEN_REQUEST_URL ACTIONS_ID_TOKEN_REQUEST_TOKEN
		ACTIONS_ID_TOKEN_REQUEST_URL=$(jq -r .request_url <<<"$job")
		ACTIONS_ID_TOKEN_REQUEST_TOKEN=$(cat "$d/rt")
		export CURL_CA_BUNDLE=$OIDC_CA WRITCTL=$BIN/writctl
		[ -n "${3:-}" ] && export WRIT_CI_AUDIENCE=$3
		# NB. exec: the worker keeps this pid, which the hooks see as $PPID.
		exec bash -c 'bash -e "$0/github-actions/job-started.sh" >"$1/started.out" 2>"$1/started.err"
			echo $? >"$1/started.rc"
			while [ ! -e "$1/complete" ]; do sleep 0.05; done
			bash -e "$0/github-actions/job-completed.sh" >"$1/completed.out" 2>"$1/completed.err"
			echo $? >"$1/completed.rc"
			while [ ! -e "$1/exit" ]; do sleep 0.05; done' "$HOOKS" "$d"
	) &
	echo $! >"$d/pid"
	WAIT_SECS=30 wait_for test -s "$d/started.rc"
	return "$(cat "$d/started.rc")"
}
# gh_job_end ID [keep]: job-completed's exit status; then the worker exits,
# unless keep (gh_job_exit ID later).
gh_job_end() {
	local d=$T/gh/$1
	touch "$d/complete"
	WAIT_SECS=30 wait_for test -s "$d/completed.rc"
	[ "${2:-}" = keep ] || gh_job_exit "$1"
	return "$(cat "$d/completed.rc" 2>/dev/null || echo 99)"
}
gh_job_exit() {
	touch "$T/gh/$1/exit"
	wait "$(cat "$T/gh/$1/pid")" 2>/dev/null
}
# gh_env ID: WRIT_SOCKET as the runner passes it to the job's steps.
gh_sock() { sed -n 's/^WRIT_SOCKET=//p' "$T/gh/$1/env"; }
gh_claims() {	# REPO [RUN]: what GitHub puts in a job's token
	local owner=${1%%/*}
	jq -cn --arg r "$1" --arg o "$owner" --arg run "${2:-100}" '{repository: $r,
		repository_owner: $o, repository_id: "1", repository_owner_id: "2",
		sub: "repo:\($r):ref:refs/heads/main", ref: "refs/heads/main", ref_type: "branch",
		actor: "alice", actor_id: "3", workflow: "ci", event_name: "push",
		run_id: $run, run_number: "1", run_attempt: "1", runner_environment: "self-hosted",
		job_workflow_ref: "\($r)/.github/workflows/ci.yml@refs/heads/main"}'
}
# step ID CMD...: a job step, with the job's environment.
step() { local id=$1; shift; WRIT_SOCKET=$(gh_sock "$id") "$@"; }
writ_get() {	# ID REPO: a github writ as JSON, or writ's exit status
	step "$1" "$BIN/writ" get github --scope "repo=$2" --json 2>"$T/writ.err"
}

# --- Job A: acme/widgets, its own repository without any approver.
gh_job_start 100-build "$(gh_claims acme/widgets 100)"
rc=$?
eq "GitHub job A: job-started opens a session" 0 "$rc"
[ $rc -eq 0 ] || { cat "$T/gh/100-build/started.err"; }
SA=$(gh_sock 100-build)
check "  ... and hands the job WRIT_SOCKET through GITHUB_ENV (one line)" \
	test -S "$SA" -a "$(wc -l <"$T/gh/100-build/env")" = 1
eq "  ... a session named gh-RUN-JOB, tied to the worker, with the verified claims" \
	"1 $(cat "$T/gh/100-build/pid") acme/widgets acme $GH_ISS" \
	"$(session_named gh-100-build | jq -r '"\(length) \(.[0].pid) \(.[0].claims.repository) \(.[0].claims.repository_owner) \(.[0].claims.iss)"')"
check "  ... the request token went to GitHub in a header, never on a query string" \
	test "$(oidc_fake state | jq .leaks)" = 0
check "  ... and the ID token is in no file of the job's" \
	bash -c "! grep -rqs 'eyJ' '$T/gh/100-build/env' '$T/gh/100-build/started.out'"

writ_get 100-build acme/widgets >"$T/a1"
eq "job A: writ get github for its own repository, no approver" 0 "$?"
TA1=$(jq -r .token "$T/a1")
eq "  ... the fake GitHub minted exactly acme/widgets, contents read" \
	'["acme/widgets"] "read"' \
	"$(forge_fake tokens | jq -c --arg t "$TA1" '.tokens[] | select(.token==$t) | .repos, .permissions.contents' | tr '\n' ' ' | sed 's/ $//')"
step 100-build git clone -q "$GH/acme/widgets.git" "$T/clone-a" 2>"$T/clone.err"
rc=$?
[ $rc -eq 0 ] || cat "$T/clone.err"
eq "job A: git clone through git-credential-writ, no approver" 0 "$rc"
check "  ... and has the repository" test -d "$T/clone-a/.git"
eq "  ... each allowed by the claims rule" "allow gh-own-repo" \
	"$(audit | jq -r --arg s gh-100-build 'select(.event=="request" and .session_name==$s) | "\(.decision) \(.rule)"' | sort -u | tr '\n' ' ' | sed 's/ $//')"

for r in acme/other beta/gadgets; do
	n=$(nwrits)
	writ_get 100-build "$r" >/dev/null
	eq "job A asking for $r: denied (writ exits 4)" 4 "$?"
	check "  ... with policy_denied" grep -q policy_denied "$T/writ.err"
	eq "  ... audited as denied" deny \
		"$(audit | jq -r --arg s gh-100-build --arg r "$r" 'select(.event=="request" and .session_name==$s and .scope.repo[0]==$r) | .decision' | tail -1)"
	eq "  ... nothing issued" "$n" "$(nwrits)"
done
code=$(status "$SA" POST /v1/writs '{"kind":"github","scope":{"repo":"acme/widgets","permissions":{"contents":"write"}}}')
eq "job A asking for write on its own repository: 403 policy_denied" "403 policy_denied" \
	"$code $(jq -r .error.code "$T/body")"

# --- Job B in parallel: acme/other, on the same runner host.
gh_job_start 101-test "$(gh_claims acme/other 101)"
eq "GitHub job B (acme/other) starts beside job A" 0 "$?"
writ_get 101-test acme/other >"$T/b1"
eq "job B gets its own repository" 0 "$?"
TB1=$(jq -r .token "$T/b1"); WB1=$(jq -r .id "$T/b1"); WA1=$(jq -r .id "$T/a1")
writ_get 101-test acme/widgets >/dev/null
eq "job B asking for job A's repository: denied" 4 "$?"
# writs_of NAME: the ids of the writs of the session named NAME, as writd's admin sees them.
writs_of() {
	admin /v1/writs | jq -c --arg s "$(session_named "$1" | jq -r '.[0].id')" '[.writs[] | select(.session==$s) | .id] | sort'
}
eq "job A's writ list: its own (the writ get and the clone's), none of B's" \
	"$(writs_of gh-100-build) true false" \
	"$(step 100-build "$BIN/writ" ls --json | jq -c --arg a "$WA1" --arg b "$WB1" '[.writs[].id] | sort, any(.[]; .==$a), any(.[]; .==$b)' | tr '\n' ' ' | sed 's/ $//')"
eq "job B's writ list: its own only" "[\"$WB1\"]" \
	"$(step 101-test "$BIN/writ" ls --json | jq -c '[.writs[].id]')"
code=$(status "$(gh_sock 101-test)" DELETE "/v1/writs/$WA1")
check "job B cannot revoke job A's writ (HTTP $code)" test "$code" != 200
check "  ... which stays live upstream" forge_valid "$TA1"

# --- Bad ID tokens: each refused with a clear error, no session opened.
# try_token WHAT TOKEN PATTERN: through writctl (stdin) and the API.
try_token() {
	local what=$1 tok=$2 pat=$3 n code
	n=$(nsessions)
	printf '%s' "$tok" | "$BIN/writctl" sessions new "gh-bad-$what" --ci-token - >"$T/out" 2>"$T/err"
	check "$what: writctl sessions new --ci-token - fails" test $? -ne 0
	check "  ... saying identity_refused and why (/$pat/): $(head -c 160 "$T/err")" \
		bash -c "grep -q identity_refused '$T/err' && grep -qiE '$pat' '$T/err'"
	check "  ... never echoing the token" bash -c "! grep -qF -- '${tok:0:40}' '$T/err'"
	code=$(status "$ADMIN" POST /v1/sessions "$(jq -cn --arg t "$tok" --arg n "gh-bad-$what" '{name: $n, ci_token: $t}')")
	eq "  ... POST /v1/sessions: 401 identity_refused" "401 identity_refused" \
		"$code $(jq -r .error.code "$T/body")"
	eq "  ... no session opened" "$n []" "$(nsessions) $(session_named "gh-bad-$what")"
}
NOW=$(date +%s)
GOOD='{"repository":"acme/widgets","repository_owner":"acme"}'
mintc() { oidc_mint "$(jq -cn --argjson c "$GOOD" --argjson x "$1" '{claims: $c} * $x')"; }
try_token forged-rs256 "$(mintc '{"break":"forged-sig"}')" 'signature'
try_token forged-es256 "$(mintc '{"break":"forged-sig","alg":"ES256"}')" 'signature'
T0=$(mintc '{}')
try_token tampered "$(cut -d. -f1 <<<"$T0").$(jq -c '.repository="acme/other"' <<<"$(claims_of "$T0")" | openssl base64 -A | tr '+/' '-_' | tr -d '=').$(cut -d. -f3 <<<"$T0")" 'signature'
try_token wrong-aud "$(mintc '{"claims":{"aud":"someone-else"}}')" 'aud'
try_token no-aud "$(mintc '{"claims":{"aud":null}}')" 'aud'
try_token wrong-iss "$(mintc '{"claims":{"iss":"https://token.evil.example"}}')" 'iss|issuer'
# Another trusted issuer's name on a token signed with this one's key.
try_token iss-of-another "$(mintc "{\"claims\":{\"iss\":\"$GL_ISS\"}}")" 'signature|kid|key'
try_token expired "$(mintc '{"exp_in":-300,"claims":{"iat":'$((NOW - 900))',"nbf":'$((NOW - 900))'}}')" 'exp'
try_token not-yet "$(mintc '{"claims":{"nbf":'$((NOW + 900))'}}')" 'nbf|not before|future'
try_token alg-none "$(mintc '{"break":"none"}')" 'alg'
try_token hs256-pubkey "$(mintc '{"break":"hs256-pubkey"}')" 'alg|HS256'
try_token unknown-kid "$(mintc '{"break":"unknown-kid"}')" 'kid'
try_token not-a-jwt "not.a.jwt" 'JWT|token|decod|base64|JSON'
try_token oversized "$(mintc "{\"claims\":{\"pad\":\"$(head -c 17000 /dev/zero | tr '\0' a)\"}}")" 'large|long|size|bytes'
# Positive: ES256, and aud as a list holding ours.
printf '%s' "$(mintc '{"alg":"ES256"}')" | "$BIN/writctl" sessions new gh-es256 --ci-token - --json >"$T/es" 2>"$T/err"
eq "an ES256 token opens a session" "0 acme/widgets" "$? $(admin /v1/sessions | jq -r '.sessions[] | select(.name=="gh-es256") | .claims.repository')"
printf '%s' "$(mintc '{"claims":{"aud":["other","writ"]}}')" | "$BIN/writctl" sessions new gh-audlist --ci-token - >/dev/null 2>"$T/err"
eq "a token whose aud is a list holding ours opens one" 0 "$?"
printf '%s' "$(mintc '{"claims":{"aud":["other","writ"]}}')" >"$T/tokfile"
"$BIN/writctl" sessions new gh-fromfile --ci-token "$T/tokfile" >/dev/null 2>"$T/err"
eq "--ci-token FILE works too" 0 "$?"
for s in gh-es256 gh-audlist gh-fromfile; do
	"$BIN/writctl" sessions rm "$(session_named $s | jq -r '.[0].id')" >/dev/null
done

# The hook, refused: a job asking GitHub for another audience.
gh_job_start 102-wrongaud "$(gh_claims acme/widgets 102)" someone-else
rc=$?
check "job-started with a token for another audience fails the job (rc $rc)" test $rc -ne 0
check "  ... saying identity_refused" grep -q identity_refused "$T/gh/102-wrongaud/started.err"
check "  ... GITHUB_ENV untouched, no session" \
	bash -c "[ ! -s '$T/gh/102-wrongaud/env' ] && [ '$(session_named gh-102-wrongaud)' = '[]' ]"
gh_job_end 102-wrongaud
# A job without id-token: write: no session, and the job runs on.
mkdir -p "$T/gh/103-noperm"
( export GITHUB_ENV=$T/gh/103-noperm/env GITHUB_RUN_ID=103 GITHUB_JOB=noperm WRITCTL=$BIN/writctl
  unset ACTIONS_ID_TOKEN_REQUEST_URL ACTIONS_ID_TOKEN_REQUEST_TOKEN
  bash -e "$HOOKS/github-actions/job-started.sh" 2>"$T/gh/103-noperm/err" )
eq "a job without id-token: write: job-started exits 0, no session" "0 []" "$? $(session_named gh-103-noperm)"

# --- A single name in a claims rule is no capability: a plain session named
# like a job (no token) matches no claims rule.
PLAIN=$(new_session gh-100-build)
code=$(status "$PLAIN" POST /v1/writs '{"kind":"github","scope":{"repo":"acme/widgets"}}')
eq "a session without a verified token, named like job A: 403 policy_denied" "403 policy_denied" \
	"$code $(jq -r .error.code "$T/body")"
"$BIN/writctl" sessions rm "$(sess "$PLAIN" /v1/health | jq -r .session.id)" >/dev/null
# A token of the GitLab issuer carrying GitHub's claim names: the rule pins iss.
printf '%s' "$(oidc_mint "{\"tenant\":\"gl\",\"claims\":$GOOD}")" |
	"$BIN/writctl" sessions new gh-from-gl --ci-token - >"$T/out" 2>"$T/err"
eq "a session from the GitLab issuer with GitHub's claim names opens" 0 "$?"
code=$(status "$(cat "$T/out")" POST /v1/writs '{"kind":"github","scope":{"repo":"acme/widgets"}}')
eq "  ... and is denied: the rule pins iss" "403 policy_denied" "$code $(jq -r .error.code "$T/body")"
"$BIN/writctl" sessions rm "$(session_named gh-from-gl | jq -r '.[0].id')" >/dev/null

# --- Job end: job-completed closes A's session; GitHub sees every token revoked.
writ_get 100-build acme/widgets >"$T/a2"
TA2=$(jq -r .token "$T/a2")
SA_ID=$(session_named gh-100-build | jq -r '.[0].id')
TA_CLONE=$(forge_fake tokens | jq -r --arg a "$TA1" --arg b "$TA2" '[.tokens[] | select(.repos==["acme/widgets"] and .token!=$a and .token!=$b and .revoked==false)] | .[].token')
gh_job_end 100-build keep
eq "job A ends: job-completed exits 0" 0 "$?"
check "  ... (its worker still running: what follows is the hook's doing)" \
	kill -0 "$(cat "$T/gh/100-build/pid")"
eq "  ... its session is gone, its socket removed" "[] no" \
	"$(session_named gh-100-build) $(test -e "$SA" && echo yes || echo no)"
all_revoked() { local t; for t in "$@"; do forge_revoked "$t" || return 1; done; }
# shellcheck disable=SC2086
wait_for all_revoked "$TA1" "$TA2" $TA_CLONE
# shellcheck disable=SC2086
check "  ... and the fake GitHub sees every one of its tokens revoked ($((2 + $(wc -w <<<"$TA_CLONE"))))" \
	all_revoked "$TA1" "$TA2" $TA_CLONE
check "  ... job B's token still valid" forge_valid "$TB1"
gh_job_exit 100-build
eq "  ... audited: session_closed" 1 \
	"$(audit | jq -s --arg s "$SA_ID" '[.[] | select(.event=="session_closed" and .session==$s)] | length')"

# --- A job whose worker dies: writd closes its session (--pid), revoking.
gh_job_start 104-killed "$(gh_claims acme/widgets 104)"
eq "job C starts" 0 "$?"
writ_get 104-killed acme/widgets >"$T/c1"
TC1=$(jq -r .token "$T/c1")
# NB. the group's stderr, not wait's: bash reports the killed job there.
{ kill -KILL "$(cat "$T/gh/104-killed/pid")"; wait "$(cat "$T/gh/104-killed/pid")"; } 2>/dev/null
WAIT_SECS=10 wait_for no_session_named gh-104-killed
check "job C's worker killed: writd closes its session" no_session_named gh-104-killed
wait_for forge_revoked "$TC1"
check "  ... and GitHub sees its token revoked" forge_revoked "$TC1"

# --- Job B ends too.
gh_job_end 101-test
wait_for forge_revoked "$TB1"
check "job B ends: its token revoked" forge_revoked "$TB1"

# --- Keys rotated at the issuer: new tokens carry a new kid; writd fetches
# the new JWKS (on the unknown kid, at most every OIDC_REFRESH_MIN s) and
# they work; the old key is gone.
OLD_TOK=$(mintc '{}')
OLD_KID=$(head_of "$OLD_TOK" | jq -r .kid)
oidc_fake rotate -d '{"keep_old":false}' >/dev/null
gh_claims_new=$(gh_claims acme/widgets 105)
NEW_KID=$(head_of "$(mintc '{}')" | jq -r .kid)
check "the issuer rotated its keys (kid $OLD_KID -> $NEW_KID)" test "$OLD_KID" != "$NEW_KID"
rotated_ok() {
	[ -e "$T/gh/105-rotated/started.rc" ] && gh_job_end 105-rotated
	rm -rf "$T/gh/105-rotated"
	gh_job_start 105-rotated "$gh_claims_new"
}
WAIT_SECS=30 wait_for rotated_ok
eq "after rotation, a job's token with the new kid opens a session once writd refreshed" 0 "$?"
writ_get 105-rotated acme/widgets >/dev/null
eq "  ... and gets its writ" 0 "$?"
gh_job_end 105-rotated
try_token old-kid-after-rotation "$OLD_TOK" 'kid|key'
# Rotated again, keeping the old keys published: both kids verify.
PREV_TOK=$(mintc '{}')
oidc_fake rotate -d '{"keep_old":true}' >/dev/null
NEXT_TOK=$(mintc '{}')
next_ok() {
	printf '%s' "$NEXT_TOK" | "$BIN/writctl" sessions new gh-next --ci-token - >/dev/null 2>"$T/err" &&
		"$BIN/writctl" sessions rm "$(session_named gh-next | jq -r '.[0].id')" >/dev/null
}
WAIT_SECS=30 wait_for next_ok
eq "rotated keeping the old key: a token with the newest kid works once writd refreshed" 0 "$?"
printf '%s' "$PREV_TOK" | "$BIN/writctl" sessions new gh-prev --ci-token - >/dev/null 2>"$T/err"
eq "  ... and one with the previous kid, still published, too" 0 "$?"
"$BIN/writctl" sessions rm "$(session_named gh-prev | jq -r '.[0].id')" >/dev/null
ES_NEW=$(mintc '{"alg":"ES256"}')
printf '%s' "$ES_NEW" | "$BIN/writctl" sessions new gh-es-rotated --ci-token - >/dev/null 2>"$T/err"
eq "  ... an ES256 token with the new EC kid works too" 0 "$?"
"$BIN/writctl" sessions rm "$(session_named gh-es-rotated | jq -r '.[0].id')" >/dev/null

# --- A job session ends at the token's exp + grace at the latest (the short
# issuer: grace 2 s), job still running.
SHORT=$(oidc_mint "{\"tenant\":\"short\",\"exp_in\":5,\"claims\":$GOOD}")
EXP=$(claims_of "$SHORT" | jq .exp)
printf '%s' "$SHORT" | "$BIN/writctl" sessions new gh-short --ci-token - --pid $$ >/dev/null 2>"$T/err"
eq "a session from a token that expires in 5 s opens" 0 "$?"
has_session_short() { ! no_session_named gh-short; }
holds_until "$EXP" has_session_short
eq "  ... stays open until the token's exp" 0 "$?"
wait_until $((EXP + 2 + 3)) no_session_named gh-short
check "  ... and is closed by exp + grace (+3 s slack), its process still alive" no_session_named gh-short

# --- GitLab: the runner's pre_build_script and post_build_script, played as
# config.toml has them, in one job shell; GitLab's claim names.
gl_claims() {	# PROJECT JOB
	jq -cn --arg p "$1" --arg ns "${1%%/*}" --arg job "$2" '{project_path: $p, namespace_path: $ns,
		project_id: "7", namespace_id: "8", sub: "project_path:\($p):ref_type:branch:ref:main",
		ref: "main", ref_type: "branch", ref_protected: "true", pipeline_id: "900",
		pipeline_source: "push", job_id: $job, user_login: "alice", user_id: "3",
		runner_environment: "self-hosted"}'
}
# gl_job JOB PROJECT SCRIPT: run a job shell: pre_build_script, SCRIPT, post_build_script.
gl_job() {
	local tok
	tok=$(oidc_mint "$(jq -cn --argjson c "$(gl_claims "$2" "$1")" '{tenant: "gl", claims: $c}')")
	env CI_PIPELINE_ID=900 CI_JOB_ID="$1" WRIT_ID_TOKEN="$tok" WRITCTL="$BIN/writctl" \
		HOOKS="$HOOKS" BIN="$BIN" GH="$GH" OUT="$T/gl-$1" \
		bash -e -o pipefail -c "
WRIT_SOCKET=\$(\"\$HOOKS/gitlab/pre-build.sh\" \"\$\$\")
export WRIT_SOCKET
unset WRIT_ID_TOKEN
echo \$\$ >\"\$OUT.pid\"; echo \"\$WRIT_SOCKET\" >\"\$OUT.sock\"
$3
\"\$HOOKS/gitlab/post-build.sh\" \"\$\$\"
" >"$T/gl-$1.out" 2>"$T/gl-$1.err"
}
gl_job 5001 acme/widgets '
"$BIN/writ" get github --scope repo=acme/widgets --json >"$OUT.w1"
git clone -q "$GH/acme/widgets.git" "$OUT.clone"
if "$BIN/writ" get github --scope repo=acme/other 2>"$OUT.denied"; then exit 9; fi
"$BIN/writctl" sessions ls --json >"$OUT.sessions"
'
rc=$?
[ $rc -eq 0 ] || cat "$T/gl-5001.err"
eq "GitLab job: pre-build, writ get, git clone, a denial, post-build: all as expected" 0 "$rc"
eq "  ... the session (gl-PIPELINE-JOB) had GitLab's verified claims, tied to the job shell" \
	"acme/widgets acme $(cat "$T/gl-5001.pid")" \
	"$(jq -r '.sessions[] | select(.name=="gl-900-5001") | "\(.claims.project_path) \(.claims.namespace_path) \(.pid)"' "$T/gl-5001.sessions")"
check "  ... the clone has the repository" test -d "$T/gl-5001.clone/.git"
check "  ... acme/other was denied by policy" grep -q policy_denied "$T/gl-5001.denied"
GT1=$(jq -r .token "$T/gl-5001.w1")
wait_for forge_revoked "$GT1"
check "  ... post-build closed the session: GitHub sees its tokens revoked" forge_revoked "$GT1"
eq "  ... no session left" "[]" "$(session_named gl-900-5001)"
# A failing script: GitLab skips post_build_script; the job shell's exit closes it.
gl_job 5002 acme/widgets '
"$BIN/writ" get github --scope repo=acme/widgets --json >"$OUT.w1"
exit 3
'
eq "a GitLab job whose script fails (post-build never runs)" 3 "$?"
GT2=$(jq -r .token "$T/gl-5002.w1")
WAIT_SECS=10 wait_for no_session_named gl-900-5002
check "  ... its session closes with the job shell" no_session_named gl-900-5002
wait_for forge_revoked "$GT2"
check "  ... and its token is revoked" forge_revoked "$GT2"
# Another namespace's project: the session opens, nothing is allowed.
gl_job 5003 beta/gadgets '
if "$BIN/writ" get github --scope repo=beta/gadgets 2>"$OUT.denied"; then exit 9; fi
'
eq "a GitLab job of namespace beta: its own project is denied" 0 "$?"
# Without an ID token: no session, the job runs on.
env CI_PIPELINE_ID=900 CI_JOB_ID=5004 WRITCTL="$BIN/writctl" \
	bash -c "s=\$('$HOOKS/gitlab/pre-build.sh' \$\$) && [ -z \"\$s\" ]" 2>/dev/null
eq "a GitLab job without id_tokens: pre-build prints nothing, exits 0" "0 []" "$? $(session_named gl-900-5004)"

# --- The runner as a user of its own (nobody) and writd as another (root
# here): the real hooks with WRIT_USER, through the sudo rule of
# deploy/ci/README.md ("which uid"), open the job's session with --uid; the
# job, as nobody, reaches it (POSIX ACLs) and not the admin socket.
if [ "$(id -u)" != 0 ]; then
	skip "the runner as another user needs root (to become nobody)"
elif ! command -v sudo >/dev/null; then
	skip "sudo is not installed: the hooks' WRIT_USER path (the sudo rule, --uid) is not run"
else
	SUDOERS=/etc/sudoers.d/writ-test-${T##*.}
	# NB. nobody runs the binaries and hooks: copies where nobody may read,
	# as the build dir (a clean clone's, say) need not be.
	NB=$(mktemp -d /tmp/writ-ci-nobody.XXXXXX)
	trap 'rm -f "$SUDOERS"; rm -rf "$NB"; oidc_kill; cleanup' EXIT
	cp "$BIN/writ" "$BIN/writctl" "$BIN/git-credential-writ" "$NB/"
	cp -r "$HOOKS" "$NB/hooks"
	chmod -R a+rX "$NB"
	# The documented rule, with this test's writctl and runtime dir.
	printf 'nobody ALL=(root) NOPASSWD: %s --runtime-dir %s sessions new *, %s --runtime-dir %s sessions rm *\n' \
		"$NB/writctl" "$T/run" "$NB/writctl" "$T/run" >"$SUDOERS"
	chmod 0440 "$SUDOERS"
	# NB. nobody must reach $T/run: search on $T (root's), nothing more.
	chmod 0711 "$T"
	D=$T/gh-nobody; mkdir -m 0700 "$D"; chown nobody "$D"
	cp "$OIDC_CA" "$D/ca.pem"; chmod 0644 "$D/ca.pem"
	job=$(oidc_fake gh/job -d "$(jq -cn --argjson c "$(gh_claims acme/widgets 200)" '{claims: $c}')")
	setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/bin:/bin \
		GITHUB_ENV="$D/env" GITHUB_RUN_ID=200 GITHUB_JOB=asnobody GITHUB_RUN_ATTEMPT=1 \
		RUNNER_TEMP="$D" CURL_CA_BUNDLE="$D/ca.pem" WRITCTL="$NB/writctl" \
		WRIT_USER=root WRIT_RUNTIME_DIR="$T/run" \
		ACTIONS_ID_TOKEN_REQUEST_URL="$(jq -r .request_url <<<"$job")" \
		ACTIONS_ID_TOKEN_REQUEST_TOKEN="$(jq -r .request_token <<<"$job")" \
		H="$NB/hooks" BIN="$NB" D="$D" bash -c '
		bash -e "$H/github-actions/job-started.sh" >"$D/started.out" 2>&1
		echo $? >"$D/started.rc"
		# The steps, with what the runner passes on from GITHUB_ENV.
		set -a; . "$D/env"; set +a
		"$BIN/writ" get github --scope repo=acme/widgets --json >"$D/w1" 2>"$D/w1.err"
		echo $? >"$D/w1.rc"
		"$BIN/writctl" --runtime-dir "$WRIT_RUNTIME_DIR" sessions ls >/dev/null 2>"$D/ls.err"
		echo $? >"$D/ls.rc"
		bash -e "$H/github-actions/job-completed.sh" >"$D/completed.out" 2>&1
		echo $? >"$D/completed.rc"'
	eq "runner as nobody, WRIT_USER=root: job-started opens the session through sudo" \
		"0" "$(cat "$D/started.rc")$( [ "$(cat "$D/started.rc")" = 0 ] || cat "$D/started.out")"
	eq "  ... a session for uid $(id -u nobody), opened with the job's identity" \
		"$(id -u nobody) acme/widgets" \
		"$(grep '"event":"session_opened"' "$T/state/audit.jsonl" | jq -r 'select(.name == "gh-200-asnobody") | "\(.uid) \(.claims.repository)"')"
	check "  ... GITHUB_ENV has its socket, and no WRIT_SERVER_UID (writd is root)" \
		bash -c "grep -q '^WRIT_SOCKET=$T/run/sessions/' '$D/env' && ! grep -q WRIT_SERVER_UID '$D/env'"
	eq "  ... the job, as nobody, gets its repository's token" "0 acme/widgets" \
		"$(cat "$D/w1.rc") $(jq -r '[.scope.repo] | flatten | .[0]' "$D/w1" 2>/dev/null)$( [ "$(cat "$D/w1.rc")" = 0 ] || cat "$D/w1.err")"
	check "  ... and cannot use the admin socket ($(head -1 "$D/ls.err" | cut -c1-60))" \
		sh -c "[ \"\$(cat '$D/ls.rc')\" != 0 ] && grep -q '^writctl: ' '$D/ls.err'"
	eq "  ... job-completed closes it through sudo (sessions rm)" 0 "$(cat "$D/completed.rc")"
	check "  ... no session left" no_session_named gh-200-asnobody
	T1=$(jq -r .token "$D/w1")
	wait_for forge_revoked "$T1"
	check "  ... its token revoked" forge_revoked "$T1"
	eq "  ... the runtime dir back to 0700, no ACL entry left" "700 none" \
		"$(stat -c %a "$T/run") $(python3 -c 'import os, sys
try: os.getxattr(sys.argv[1], "system.posix_acl_access"); print("acl")
except OSError: print("none")' "$T/run")"
	chmod 0700 "$T"
	rm -f "$SUDOERS"
fi

# --- The JWKS unreachable for longer than jwks_ttl: every token refused
# (fail closed), none opens a session; back once it answers.
stop_writd
CONFIG=$(jq -c '.ci.issuers |= map(.jwks_ttl = "6s")' <<<"$CONFIG")
start_writd "$CONFIG" || { fail "writd did not restart with jwks_ttl 6s"; exit 1; }
fetched_ok() { [ "$(oidc_fake state | jq '.tenants.gh.last_ok > 0')" = true ]; }
ok_token() {
	printf '%s' "$(mintc '{}')" | "$BIN/writctl" sessions new gh-outage --ci-token - >/dev/null 2>"$T/err" &&
		"$BIN/writctl" sessions rm "$(session_named gh-outage | jq -r '.[0].id')" >/dev/null
}
WAIT_SECS=20 wait_for ok_token
check "writd with jwks_ttl 6s: a good token works" ok_token
oidc_fake outage -d '{"on":true}' >/dev/null
LAST_OK=$(oidc_fake state | jq '.tenants.gh.last_ok | floor')
wait_until $((LAST_OK + 6 + 2)) false
try_token jwks-outage "$(mintc '{}')" 'JWKS|unavailable|stale|expired'
check "  ... writd kept trying the JWKS (503s seen)" \
	test "$(oidc_fake state | jq '.tenants.gh.last_fetch > .tenants.gh.last_ok')" = true
oidc_fake outage -d '{"on":false}' >/dev/null
WAIT_SECS=20 wait_for ok_token
check "  ... and once the JWKS answers again, tokens work" ok_token
"$BIN/writctl" audit verify >/dev/null
eq "the audit chain verifies" 0 "$?"
stop_writd
true
