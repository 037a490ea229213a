# lib.sh - helpers for writ's integration tests, sourced by each test file.
#
# Every test drives the real binaries: writd on a temporary runtime dir,
# writctl and writ, curl --unix-socket, openssl.  Results are counted in
# $RESULTS (one line per check: pass, fail or skip) for run.sh to total.

set -u
BIN=${WRIT_BIN:?WRIT_BIN must name the build directory}
RESULTS=${RESULTS:?}
TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d /tmp/writ-test.XXXXXX)
# Each test file keeps its keys in a keyring of its own, removed at the end.
KEYRING=writ-test-${T##*.}
WRITD_PID=
PRESENCE_PID=
FORGE_PID=
trap cleanup EXIT

cleanup() {
	[ -n "$PRESENCE_PID" ] && kill "$PRESENCE_PID" 2>/dev/null
	# NB. its minter too: left alone it would still write under $T.
	[ -n "$WRITD_PID" ] && kill -KILL $(minter_pid) "$WRITD_PID" 2>/dev/null
	[ -n "$FORGE_PID" ] && kill "$FORGE_PID" 2>/dev/null
	# NB. only these: a bare wait hangs on any other child still running
	# (or stopped).
	[ -n "$PRESENCE_PID$WRITD_PID$FORGE_PID" ] &&
		wait $PRESENCE_PID $WRITD_PID $FORGE_PID 2>/dev/null
	keyctl unlink "%keyring:$KEYRING" @u >/dev/null 2>&1
	# Tests that run writd as nobody leave its keys in nobody's keyring,
	# whose quota (200 keys) would fill up run after run.
	[ "$(id -u)" = 0 ] && setpriv --reuid=nobody --regid=nogroup --clear-groups \
		keyctl unlink "%keyring:$KEYRING" @u >/dev/null 2>&1
	rm -rf "$T"
}

# The sync shim (tests/shims/syncfault.c: WRIT_TEST_SYNC_HANG, _FAIL, _LOG)
# and the ASan option a preloaded library needs:
#   STATE=... LD_PRELOAD=$SHIM WRIT_TEST_SYNC_HANG=F ASAN_OPTIONS=$ASAN_SHIM start_writd
SHIM=$BIN/syncfault.so
ASAN_SHIM="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

pass() { echo "pass" >>"$RESULTS"; echo "  ok    $TEST_NAME: $*"; }
fail() { echo "fail" >>"$RESULTS"; echo "  FAIL  $TEST_NAME: $*"; }
skip() { echo "skip" >>"$RESULTS"; echo "  skip  $TEST_NAME: $*"; }

# check DESCRIPTION COMMAND...: pass when COMMAND succeeds.
check() {
	local d=$1; shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}

# eq DESCRIPTION EXPECTED ACTUAL
eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (expected '$2', got '$3')"; fi
}

# wait_for CMD...: run CMD until it succeeds, for up to $WAIT_SECS (5) s (a
# hang guard, not a timing claim).  NB. CMD's arguments are expanded once,
# before the first try: to poll a value, pass a command that reads it
# (npending_is 3), never its value (test "$(npending)" = 3 compares one
# reading 100 times).
wait_for() {
	local i
	for i in $(seq 1 $(( ${WAIT_SECS:-5} * 20 ))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# wait_until EPOCH CMD...: run CMD until it succeeds or the clock reaches
# EPOCH (a deadline in whole seconds); CMD is always tried at least once.
wait_until() {
	local until=$1; shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -lt "$until" ] || return 1
		sleep 0.05
	done
}

# holds_until EPOCH CMD...: CMD keeps succeeding while the clock reads
# before EPOCH (whole seconds, as writd counts them).  0: it held, and was
# seen to; 1: it stopped holding before EPOCH; 2: EPOCH had passed before
# the first look, so nothing was seen: a window of 0 s proves nothing.
holds_until() {
	local until=$1 seen=0; shift
	while [ "$(date +%s)" -lt "$until" ]; do
		if "$@"; then
			seen=1
		# Failed: early only if the clock, read after, is still before EPOCH.
		elif [ "$(date +%s)" -lt "$until" ]; then
			return 1
		fi
		sleep 0.1
	done
	[ $seen = 1 ] || return 2
}

# with_keyring [CONFIG_JSON]: the config with this test's keyring added.
with_keyring() {
	local c=${1:-}
	[ -n "$c" ] || c='{}'
	jq -c --arg k "$KEYRING" '. + {store: ((.store // {}) + {keyring: $k})}' <<<"$c"
}

# start_writd [CONFIG_JSON]: writd on $T/run and $T/state.
start_writd() {
	local cfg=()
	with_keyring "${1:-}" >"$T/config.json"
	cfg=(--config "$T/config.json")
	# Policies: only the test's own, never the machine's.
	"$BIN/writd" --runtime-dir "$T/run" --state-dir "${STATE:-$T/state}" "${cfg[@]}" \
		--enterprise-policy "$T/enterprise.json" --policy "$T/user.json" \
		2>>"$T/writd.log" &
	WRITD_PID=$!
	ADMIN=$T/run/admin.sock
	export WRIT_RUNTIME_DIR=$T/run
	# NB. a socket file may be left by a writd killed before: wait for answers.
	if ! wait_for curl -sf -o /dev/null --unix-socket "$ADMIN" http://writ/v1/health; then
		echo "writd did not start:"; cat "$T/writd.log"
		return 1
	fi
}

# minter_pid [PID]: the pid of writd's key side, its writd-minter child
# (PID: writd's, default $WRITD_PID); nothing, and 1, when it has none.
minter_pid() {
	pgrep -P "${1:-$WRITD_PID}" -x writd-minter
}

# gone PID: no process PID runs (none, or a zombie no one reaped yet:
# kill -0 succeeds on those).  For wait_for, after a kill or an exit.
gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "${st%% *}" = Z ]
}

# crash_writd: kill -9 both of writd's processes at once, as a crash of
# the whole service (an OOM kill, a power cut of the process tree) would;
# return once both are gone (the minter holds the runtime dir's lock too).
crash_writd() {
	local m
	m=$(minter_pid)
	kill -KILL ${m:+"$m"} "$WRITD_PID" 2>/dev/null
	wait "$WRITD_PID" 2>/dev/null
	WRITD_PID=
	[ -z "$m" ] || wait_for gone "$m" || echo "crash_writd: the minter ($m) is still there"
}

stop_writd() {
	kill -TERM "$WRITD_PID" 2>/dev/null
	wait "$WRITD_PID"
	local rc=$?
	WRITD_PID=
	return $rc
}

# admin PATH [curl args...]: a request on the admin socket, body on stdout.
admin() {
	local p=$1; shift
	curl -s --unix-socket "$ADMIN" "$@" "http://writ$p"
}

# sess SOCKET PATH [curl args...]
sess() {
	local s=$1 p=$2; shift 2
	curl -s --unix-socket "$s" "$@" "http://writ$p"
}

# status SOCKET METHOD PATH [BODY]: the HTTP status alone; body in $T/body.
status() {
	local s=$1 m=$2 p=$3
	if [ $# -gt 3 ]; then
		curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$s" -X "$m" \
			--data-binary "$4" "http://writ$p"
	else
		curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$s" -X "$m" "http://writ$p"
	fi
}

# new_session NAME: prints the socket path.
new_session() {
	"$BIN/writctl" sessions new "$1"
}

# An approver's presence: a long-poll that never wakes for requests.
approver_on() {
	curl -s --unix-socket "$ADMIN" \
		'http://writ/v1/requests?wait=300&after=9007199254740992' >/dev/null &
	PRESENCE_PID=$!
	wait_for sh -c "curl -s --unix-socket '$ADMIN' http://writ/v1/health | jq -e '.approvers > 0' >/dev/null"
}

approver_off() {
	kill "$PRESENCE_PID" 2>/dev/null
	wait "$PRESENCE_PID" 2>/dev/null
	PRESENCE_PID=
}

# pending_id: the id of the oldest pending request, waiting for one.
pending_id() {
	local id
	for _ in $(seq 1 100); do
		id=$(admin /v1/requests | jq -r '.requests[0].id // empty')
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.05
	done
	return 1
}

npending() { admin /v1/requests | jq '.requests | length'; }
nwrits() { admin /v1/writs | jq '.writs | length'; }
# For wait_for: each reads the value again on every try.
npending_is() { [ "$(npending)" = "$1" ]; }
# status_is CODE SOCKET METHOD PATH [BODY]
status_is() { local c=$1; shift; [ "$(status "$@")" = "$c" ]; }
# has_writ ID: the admin list holds writ ID.
has_writ() { admin /v1/writs | jq -e --arg id "$1" 'any(.writs[]; .id == $id)' >/dev/null; }

# b64url_decode: stdin base64url to raw bytes on stdout.
b64url_decode() {
	local s
	s=$(tr -- '-_' '+/')
	case $(( ${#s} % 4 )) in
	2) s="$s==" ;;
	3) s="$s=" ;;
	esac
	printf '%s' "$s" | base64 -d
}

# start_forge: a fake GitHub (tests/fakes/github.py: the App API and git
# over smart HTTPS, checking app JWTs and the tokens it minted) on
# 127.0.0.1, killed at cleanup.  It serves bare repositories acme/widgets.git,
# acme/other.git (installation 4242) and beta/gadgets.git (4343), each with
# one empty commit on main.  Its files are under $T/forge.  Sets:
#   FORGE_PORT     its port on 127.0.0.1
#   GH             https://127.0.0.1:$FORGE_PORT (git URLs: $GH/acme/widgets.git)
#   FORGE_CA       the CA's PEM that signed its certificate (for GIT_SSL_CAINFO,
#                  curl --cacert); the certificate is for IP 127.0.0.1 only
#   FORGE_APP_KEY  the GitHub App's private key (mode 0600): give it to a
#                  running writd with forge_app_key
#   FORGE_CONFIG   writd's config for the github kind pointing at it, as
#                  compact JSON: {"kinds":{"github":{...}}} (installation 4242;
#                  merge with jq -s '.[0] * .[1]' to add more)
#   FORGE_PID      the fake's pid
# Returns 1 (and says why) when the fake does not start.
start_forge() {
	local d=$T/forge fake
	fake=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fakes" && pwd)/github.py
	mkdir -p "$d/home" "$d/repos/acme" "$d/repos/beta"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=writ-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/srv.key" \
		-out "$d/srv.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/san" &&
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/san" -out "$d/srv.pem" 2>/dev/null &&
	openssl genrsa -out "$d/app.pem" 2048 2>/dev/null &&
	openssl rsa -in "$d/app.pem" -pubout -out "$d/app.pub" 2>/dev/null &&
	chmod 0600 "$d/app.pem" || { echo "start_forge: openssl failed"; return 1; }
	# NB. the caller's git configuration stays out of it (and the fake's git
	# http-backend reads none either).
	(
		export GIT_CONFIG_NOSYSTEM=1 HOME=$d/home
		git -c init.defaultBranch=main init -q "$d/src" &&
		git -C "$d/src" -c user.name=t -c user.email=t@t commit -q --allow-empty -m first &&
		git clone -q --bare "$d/src" "$d/repos/acme/widgets.git" &&
		git clone -q --bare "$d/src" "$d/repos/acme/other.git" &&
		git clone -q --bare "$d/src" "$d/repos/beta/gadgets.git"
	) || { echo "start_forge: git failed"; return 1; }
	GIT_CONFIG_NOSYSTEM=1 HOME=$d/home python3 "$fake" app_id=12345 pub="$d/app.pub" \
		repos="$d/repos" cert="$d/srv.pem" key="$d/srv.key" port_file="$d/port" \
		2>"$d/fake.log" &
	FORGE_PID=$!
	if ! wait_for test -s "$d/port"; then
		echo "start_forge: the fake GitHub did not start: $(cat "$d/fake.log")"
		return 1
	fi
	FORGE_PORT=$(cat "$d/port")
	GH=https://127.0.0.1:$FORGE_PORT
	FORGE_CA=$d/ca.pem
	FORGE_APP_KEY=$d/app.pem
	FORGE_CONFIG=$(jq -cn --arg api "$GH/api" --arg ca "$FORGE_CA" \
		'{kinds: {github: {app_id: "12345", api_url: $api, installation_id: 4242,
		  ca_file: $ca, timeout: "3s"}}}')
}

# forge_app_key: give the running writd the forge's app key.
forge_app_key() {
	"$BIN/writctl" secret set github-app-key --from-file "$FORGE_APP_KEY" >/dev/null
}

# forge_fake WHAT [curl args...]: the fake's own API (_fake/tokens: what it
# minted and revoked; _fake/mode: make it misbehave), body on stdout.
forge_fake() { curl -s --cacert "$FORGE_CA" "$GH/_fake/$1" "${@:2}"; }
# forge_revoked TOKEN: the fake minted TOKEN and it is revoked there.
forge_revoked() {
	forge_fake tokens | jq -e --arg t "$1" '.tokens[] | select(.token==$t) | .revoked' >/dev/null
}
# forge_valid TOKEN: the fake minted TOKEN and it is not revoked.
forge_valid() {
	forge_fake tokens | jq -e --arg t "$1" '.tokens[] | select(.token==$t) | .revoked == false' >/dev/null
}

# start_oidc [TENANT...]: a fake OIDC issuer (tests/fakes/oidc.py) on
# 127.0.0.1 over HTTPS, one issuer per TENANT (default gh) at
# https://127.0.0.1:PORT/TENANT, each with an RSA and an EC P-256 key in its
# JWKS.  NB. lib.sh's cleanup does not know it: a test that starts it runs
# oidc_kill from its own EXIT trap before cleanup.  Its files are under
# $T/oidc.  Sets:
#   OIDC_PORT    its port on 127.0.0.1
#   OIDC_URL     the first tenant's issuer (its "iss"; discovery at
#                $OIDC_URL/.well-known/openid-configuration)
#   OIDC_CA      the CA's PEM that signed its certificate (for 127.0.0.1 only)
#   OIDC_CONFIG  writd's config for it, as compact JSON: {"ci":{"issuers":[...]}},
#                one issuer per tenant with jwks_url and ca_file, audience
#                $OIDC_AUD (writ), RS256 and ES256, jwks_ttl $OIDC_JWKS_TTL
#                (10m), grace $OIDC_GRACE (1h) (merge with jq -s '.[0] * .[1]')
#   OIDC_PID     the fake's pid
# Mint with oidc_mint; drive the fake with oidc_fake.  Returns 1 (and says
# why) when the fake does not start.
start_oidc() {
	local d=$T/oidc fake t
	local tenants=("$@")
	[ ${#tenants[@]} -gt 0 ] || tenants=(gh)
	fake=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fakes" && pwd)/oidc.py
	mkdir -p "$d/keys" && chmod 0700 "$d/keys"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=writ-test-oidc-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/srv.key" \
		-out "$d/srv.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/san" &&
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/san" -out "$d/srv.pem" 2>/dev/null ||
		{ echo "start_oidc: openssl failed"; return 1; }
	python3 "$fake" tenants="$(IFS=,; echo "${tenants[*]}")" aud="${OIDC_AUD:-writ}" \
		cert="$d/srv.pem" key="$d/srv.key" port_file="$d/port" dir="$d/keys" \
		2>"$d/fake.log" &
	OIDC_PID=$!
	# NB. key generation with openssl takes a moment on a busy machine.
	if ! WAIT_SECS=30 wait_for test -s "$d/port"; then
		echo "start_oidc: the fake issuer did not start: $(cat "$d/fake.log")"
		return 1
	fi
	OIDC_PORT=$(cat "$d/port")
	OIDC_URL=https://127.0.0.1:$OIDC_PORT/${tenants[0]}
	OIDC_CA=$d/ca.pem
	OIDC_CONFIG='{"ci":{"issuers":[]}}'
	for t in "${tenants[@]}"; do
		OIDC_CONFIG=$(jq -c --arg iss "https://127.0.0.1:$OIDC_PORT/$t" --arg ca "$OIDC_CA" \
			--arg aud "${OIDC_AUD:-writ}" --arg ttl "${OIDC_JWKS_TTL:-10m}" \
			--arg grace "${OIDC_GRACE:-1h}" \
			'.ci.issuers += [{issuer: $iss, jwks_url: ($iss + "/.well-known/jwks"),
			  ca_file: $ca, audience: $aud, algorithms: ["RS256", "ES256"],
			  jwks_ttl: $ttl, grace: $grace}]' <<<"$OIDC_CONFIG")
	done
}

# oidc_fake WHAT [curl args...]: the fake issuer's control API (_fake/mint,
# _fake/rotate, _fake/outage, _fake/state, _fake/gh/job), body on stdout.
oidc_fake() { curl -s --cacert "$OIDC_CA" "https://127.0.0.1:$OIDC_PORT/_fake/$1" "${@:2}"; }

# oidc_mint [JSON]: a signed ID token on stdout, as POST /_fake/mint makes it
# (JSON: {"claims": {...}, "alg", "kid", "exp_in", "break", "tenant"}).
# Returns 1 when the fake refused (its message on stderr).
oidc_mint() {
	local out body=${1:-'{}'}
	out=$(oidc_fake mint -d "$body") &&
	jq -er .token <<<"$out" 2>/dev/null || { echo "oidc_mint: $out" >&2; return 1; }
}

# oidc_kill: stop the fake issuer now (cleanup does it otherwise).
oidc_kill() {
	[ -n "${OIDC_PID:-}" ] || return 0
	kill "$OIDC_PID" 2>/dev/null
	wait "$OIDC_PID" 2>/dev/null
	OIDC_PID=
}
