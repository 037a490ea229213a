#!/usr/bin/env bash
# writ-sandbox --srt and --codex: writd through the spool (agent-side/spool.h,
# broker/relay.c), because srt and Codex forbid Unix sockets.
#
# First the relay itself, with a stand-in for srt that runs the command
# without a sandbox (so that these checks never depend on npm): what it
# relays, what it drops, and that the prompt says the caller is not
# verified.  Then the real srt and the real Codex from npm, where they run.
. "$(dirname "$0")/lib.sh"

# NB. out of /tmp, as t_sandbox: a sandbox's own /tmp must not hide our files.
rm -rf "$T"
T=$(mktemp -d /var/tmp/writ-test.XXXXXX)
SPOOLC=$(cd "$(dirname "$0")" && pwd)/spoolc.py

start_forge || { fail "the fake GitHub did not start"; exit 1; }
# The approver command: records what it is shown, then does what $A/verdict
# says (yes: approve; no: deny; wait: leave it pending until withdrawn).
# Both in its scratch dir (its TMPDIR), the one place it may write (and, of
# the test's, read), confined with writd's front end (frontconfine.h).
A=$T/run/approver
mkdir -p -m 0700 "$T/run" "$A"
cat >"$T/decide" <<EOF
#!/bin/sh
n=\$(date +%s%N)
cat >"$A/asked.\$n.json"
cp "$A/asked.\$n.json" "$A/asked.json"
case \$(cat "$A/verdict") in
yes) exit 0 ;;
wait) exec sleep 300 ;;
*) exit 1 ;;
esac
EOF
chmod +x "$T/decide"
echo yes >"$A/verdict"
# An allow rule on exe, which a caller through the spool must never meet.
jq -n --arg e "$BIN/*" '{allow: [{id: "by-exe", kind: "jwt", scope: {aud: "by-exe"}, exe: $e}],
	default: "ask"}' >"$T/user.json"
start_writd "$(jq -c --arg c "$T/decide" '. + {approval: {command: $c, timeout: "60s"}}' \
	<<<"$FORGE_CONFIG")" || exit 1
forge_app_key

H=$T/home
mkdir -p "$H/.ssh"
echo '-----BEGIN OPENSSH PRIVATE KEY----- canary-key' >"$H/.ssh/id_ed25519"
WS=$T/ws
mkdir -p "$WS"
git -C "$WS" init -q
export XDG_RUNTIME_DIR=$T/xdg
mkdir -m 0700 "$XDG_RUNTIME_DIR"

# The stand-in: srt's command line, no sandbox; keeps the settings it got.
mkdir "$T/fake"
cat >"$T/fake/srt" <<'EOF'
#!/bin/sh
[ "$1" = --settings ] || { echo "stand-in srt: $*" >&2; exit 99; }
cp "$2" "$(dirname "$0")/srt.json"
shift 2
[ "$1" = -- ] && shift
exec "$@"
EOF
chmod +x "$T/fake/srt"
fsbx() {	# writ-sandbox --srt with the stand-in
	HOME=$H SECRET_CANARY=canary-value PATH=$T/fake:$PATH \
		"$BIN/writ-sandbox" --srt --workspace "$WS" "$@"
}
release() { timeout 60 sh -c 'echo go >"$1"' _ "$1"; }
session_of() { admin /v1/sessions | jq -r --arg n "$1" '.sessions[] | select(.name == $n) | .id'; }
runs_left() { [ -z "$(ls -A "$XDG_RUNTIME_DIR/writ-sandbox" 2>/dev/null)" ]; }

# --- the relay, with the stand-in ---------------------------------------------
mkfifo "$WS/gate"
fsbx --name spooled -- sh -c "env >env.out; '$BIN/writ' get jwt --scope aud=spool \
	--reason 'through the spool' >tok 2>tok.err; read x <gate" 2>"$T/sbx.err" &
SBX=$!
wait_for test -s "$WS/tok"
check "writ get through the spool prints a token once approved" \
	grep -qE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$WS/tok"
[ -s "$WS/tok" ] || cat "$WS/tok.err" "$T/sbx.err"
SID=$(session_of spooled)
eq "the session is a spool session" spool "$(admin /v1/sessions | jq -r --arg s "$SID" \
	'.sessions[] | select(.id == $s) | .via')"
eq "the approver is told the caller is not verified" false \
	"$(jq -r '.caller.verified' "$A/asked.json")"
check "  ... and its prompt says so, in place of pid, exe and cmdline" \
	sh -c "jq -r .prompt '$A/asked.json' | grep -q '^  caller    NOT VERIFIED (via writ-sandbox.s spool, relay pid [0-9]*)\$' &&
		! jq -r .prompt '$A/asked.json' | grep -q '^  cmdline'"
check "  ... the audit record of the request says so too" sh -c \
	"curl -s --unix-socket '$ADMIN' 'http://writ/v1/audit?tail=20&session=$SID' |
		jq -e 'any(.records[]; .event == \"request\" and .verified == false)' >/dev/null"
want="GIT_CONFIG_GLOBAL HOME PATH TMPDIR WRIT_SPOOL${TERM:+ TERM}${LANG:+ LANG}"
eq "inside: only the fixed variables and WRIT_SPOOL (no canary, no socket)" \
	"$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ')" \
	"$(cut -d= -f1 "$WS/env.out" | grep -vx 'PWD\|SHLVL\|_\|OLDPWD' | sort | tr '\n' ' ')"
SPOOL=$(sed -n 's/^WRIT_SPOOL=//p' "$WS/env.out")
S=$T/fake/srt.json
eq "srt is told to let the agent write the workspace, the spool and a private tmp only" \
	"$WS $SPOOL ${SPOOL%/spool}/tmp" "$(jq -r '.filesystem.allowWrite | join(" ")' "$S")"
check "  ... to hide writd's runtime dir (its admin socket)" \
	jq -e --arg d "$T/run" '.filesystem.denyRead | index($d)' "$S"
check "  ... and the home's secrets" jq -e --arg d "$H/.ssh" '.filesystem.denyRead | index($d)' "$S"
check "  ... to keep agent configuration read-only" jq -e --arg w "$WS" \
	'[.filesystem.denyWrite[]] | index($w + "/.claude") and index($w + "/.git/hooks") and
	index($w + "/.mcp.json")' "$S"
eq "  ... and no network (no --allow-domain)" "[]" "$(jq -c .network.allowedDomains "$S")"
eq "the spool is a directory of ours no one else may enter" "700" "$(stat -c %a "$SPOOL")"
eq "  ... in a run directory whose parent cannot be listed" "300" \
	"$(stat -c %a "$XDG_RUNTIME_DIR/writ-sandbox")"

# Each exchange below is a hostile client's, made by hand (spoolc.py).
raw() { python3 "$SPOOLC" "$SPOOL" "$@"; }
health='GET /v1/health HTTP/1.1\r\nHost: writ\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
printf "$health" | raw >"$T/raw.out"
eq "a hand-made request goes through" "0 200" "$? $(head -1 "$T/raw.out" | cut -d' ' -f2)"
for bad in "no Content-Length|GET /v1/health HTTP/1.1\r\nHost: writ\r\n\r\n" \
	"chunked|POST /v1/writs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" \
	"two Content-Lengths|POST /v1/writs HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\n{}{}" \
	"a negative Content-Length|POST /v1/writs HTTP/1.1\r\nContent-Length: -5\r\n\r\n" \
	"a header line ending in a bare LF|POST /v1/writs HTTP/1.1\r\nHost: writ\nContent-Length: 0\r\nContent-Length: 2\r\n\r\n{}" \
	"a bare CR in a header|POST /v1/writs HTTP/1.1\r\nHost: writ\rX: y\r\nContent-Length: 2\r\n\r\n{}" \
	"a Content-Length over the limit|POST /v1/writs HTTP/1.1\r\nContent-Length: 70000\r\n\r\n"; do
	printf "${bad#*|}" | raw >/dev/null
	eq "a request with ${bad%%|*} is taken and dropped, unanswered" 3 "$?"
done
{ printf 'POST /v1/writs HTTP/1.1\r\nContent-Length: 65536\r\n\r\n'; head -c 65536 /dev/zero | tr '\0' ' '; } |
	raw >/dev/null
eq "a request over 64 KiB in all is dropped" 3 "$?"
printf "${health}POST /v1/writs HTTP/1.1\r\nContent-Length: 43\r\n\r\n{\"kind\":\"jwt\",\"scope\":{\"aud\":\"smuggled\"}}" |
	raw >"$T/raw.out"
eq "a second request after the first is not relayed: the answer is the first's" \
	"0 200" "$? $(head -1 "$T/raw.out" | cut -d' ' -f2)"
eq "  ... and writd saw no second one" 0 "$(npending)"
# Each client waits its own 5 s for a take that never comes; the two wait
# side by side.
printf "$health" | raw --name notours >/dev/null &
NOTOURS=$!
printf "$health" | raw --regular >/dev/null &
REGULAR=$!
wait "$NOTOURS"
eq "a name not of 32 hex digits is not taken" 2 "$?"
wait "$REGULAR"
eq "a regular file in place of the request FIFO is not taken" 2 "$?"
eq "  ... and the spool keeps no FIFO of a taken exchange" "" \
	"$(ls "$SPOOL" | grep -v '^notours\|\.req$' | grep '\.res$' | head -1)"
rm -f "$SPOOL"/*

# A client that leaves while its request waits for a person: writd withdraws it.
echo wait >"$A/verdict"
body='{"kind":"jwt","scope":{"aud":"left"},"reason":"I will not wait!"}'
printf 'POST /v1/writs HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s' "${#body}" "$body" >"$T/hold.req"
# NB. python3 itself, not a function in a pipeline: $! must be the client.
python3 "$SPOOLC" "$SPOOL" --hold <"$T/hold.req" &
HOLD=$!
wait_for npending_is 1
eq "a request through the spool waits for a person" 1 "$(npending)"
kill "$HOLD"
wait "$HOLD" 2>/dev/null
wait_for npending_is 0
eq "  ... and is withdrawn when its client leaves (the relay hangs up on writd)" 0 "$(npending)"
echo yes >"$A/verdict"

# A flood: clients that send a head and never the body hold the relay for
# RELAY_READ_MS (5 s) each; past RELAY_MAX_INFLIGHT (16) the rest get 503 busy.
stall() {
	printf 'POST /v1/writs HTTP/1.1\r\nContent-Length: 10\r\n\r\n' |
		raw --acked "$T/acked.$1" >"$T/flood.$1" &
	fl+=($!)
}
# Meanwhile writ, on a spool no relay serves, waits out its own 5 s (its
# checks are with the client side's, below).
mkdir -m 0700 "$T/dead-spool"
WRIT_SPOOL=$T/dead-spool "$BIN/writ" status >/dev/null 2>"$T/dead.err" &
DEAD=$!
fl=()
for i in $(seq 1 16); do stall "$i"; done
held16() { [ "$(ls "$T" | grep -c '^acked\.')" = 16 ]; }
wait_for held16
for i in $(seq 17 24); do stall "$i"; done
WRIT_SPOOL=$SPOOL "$BIN/writ" status >/dev/null 2>"$T/busy.err"
# NB. not a bare wait: the sandbox is a child too, waiting on its gate.
wait "${fl[@]}"
eq "24 stalled clients: the 8 past the relay's 16 get 503 busy at once" 8 \
	"$(grep -l '^HTTP/1.1 503' "$T"/flood.* | wc -l)"
check "  ... and writ, meanwhile, says writ-sandbox's spool is busy" \
	grep -q 'too many requests in flight through writ-sandbox.s spool' "$T/busy.err"
grep -q 'too many requests' "$T/busy.err" || cat "$T/busy.err"
printf "$health" | raw >"$T/raw.out"
eq "  ... and serves the next client once they are dropped" "0 200" \
	"$? $(head -1 "$T/raw.out" | cut -d' ' -f2)"

# The spool session's socket is its relay's only: another process that
# finds it (Codex shows writd's runtime dir) cannot pass for the unverified
# caller (break: server.c's relay_pid check).
SSOCK=$(admin /v1/sessions | jq -r --arg s "$SID" '.sessions[] | select(.id == $s) | .socket')
status "$SSOCK" POST /v1/writs '{"kind":"jwt","scope":{"aud":"not-the-relay"}}' >/dev/null
eq "a process other than the relay is refused on a spool session's socket" not_relay \
	"$(jq -r .error.code "$T/body")"
eq "  ... and asks nothing" 0 "$(npending)"

# The client side: a spool that is not private, none at all, no relay.
mkdir -m 0755 "$T/open-spool"
WRIT_SPOOL=$T/open-spool "$BIN/writ" status >/dev/null 2>"$T/err"
check "writ refuses a spool others may enter" grep -q 'refusing the spool' "$T/err"
check "  ... having made nothing in it" test -z "$(ls -A "$T/open-spool")"
WRIT_SPOOL=$T/none "$BIN/writ" status >/dev/null 2>"$T/err"
check "writ with no spool at WRIT_SPOOL fails, saying so" grep -q 'cannot connect' "$T/err"
wait "$DEAD"
check "a spool no relay serves: writ gives up, saying writ-sandbox may be gone" \
	grep -q 'no relay took the request' "$T/dead.err"
eq "  ... and leaves no FIFO behind" "" "$(ls -A "$T/dead-spool")"

WID=$(admin /v1/writs | jq -r --arg s "$SID" '.writs[] | select(.session == $s) | .id')
release "$WS/gate"
wait "$SBX"
eq "the sandbox exits 0" 0 "$?"
rm -f "$WS/gate"
eq "after exit the spool session is gone" 404 "$(status "$ADMIN" GET "/v1/sessions/$SID")"
check "  ... its writ is revoked" test -z "$(admin /v1/writs | jq -r --arg id "$WID" '.writs[] | select(.id == $id) | .id')"
check "  ... and its run directory (spool, settings, git config) is removed" runs_left
rm -f "$WS/tok" "$WS/tok.err" "$WS/env.out"

# The runs' parent made listable (by whom?) goes back to 0300 at the next run.
chmod 0700 "$XDG_RUNTIME_DIR/writ-sandbox"
fsbx -- true
eq "a listable parent of the runs is made unlistable again" 300 \
	"$(stat -c %a "$XDG_RUNTIME_DIR/writ-sandbox")"

# writ-sandbox's own refusals: each exits 125 and opens no session.
n0=$(admin /v1/sessions | jq '.sessions | length')
refused() {	# WHAT GREP ARGS...
	local what=$1 pat=$2
	shift 2
	HOME=$H PATH=$T/fake:$PATH "$BIN/writ-sandbox" --workspace "$WS" "$@" -- true 2>"$T/err"
	eq "writ-sandbox refuses $what (exit 125)" 125 "$?"
	check "  ... saying why" grep -q -- "$pat" "$T/err"
}
refused "--srt with --codex" 'one sandbox tool at a time' --srt --codex
refused "--allow-domain without --srt" 'is for --srt' --allow-domain x.org
refused "--net host with --srt" 'srt has no such mode' --srt --net host
refused "a malformed --allow-domain" 'takes a host name' --srt --allow-domain 'a b'
refused "--net host with --codex" 'cannot hide writd' --codex --net host
HOME=$H PATH=/usr/bin:/bin "$BIN/writ-sandbox" --codex --workspace "$WS" -- true 2>"$T/err"
eq "writ-sandbox --codex without codex in PATH exits 125" 125 "$?"
check "  ... naming the package to install" grep -q '@openai/codex' "$T/err"
# Another user made the run directories' parent first: refused, nothing used.
mkdir -m 0700 "$T/squat"
mkdir -m 0777 "$T/squat/writ-sandbox"
chown nobody "$T/squat/writ-sandbox"
XDG_RUNTIME_DIR=$T/squat fsbx -- true 2>"$T/err"
eq "writ-sandbox refuses a run directory parent another user made (exit 125)" 125 "$?"
check "  ... saying so" grep -q 'another user may have made it first' "$T/err"
eq "  ... and made nothing in it" "" "$(ls -A "$T/squat/writ-sandbox")"
eq "no refusal opened a session" "$n0" "$(admin /v1/sessions | jq '.sessions | length')"

# A policy rule on exe: the relay's exe is writ-sandbox's, under $BIN/, and
# must not stand for the unknown caller (break: api.c's WRIT_EXE_UNVERIFIED).
SOCK=$(new_session by-exe)
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=by-exe >/dev/null 2>&1
eq "the exe rule allows writ on a socket, without asking (so the next can fail)" 0 "$?"
rm -f "$A/asked.json"
echo no >"$A/verdict"
fsbx -- "$BIN/writ" get jwt --scope aud=by-exe >/dev/null 2>"$T/err"
check "through the spool the same request is not allowed by the exe rule" test $? -ne 0
eq "  ... a person was asked instead" by-exe "$(jq -r .scope.aud "$A/asked.json" 2>/dev/null)"
echo yes >"$A/verdict"

# The admin socket refuses a process in another user namespace, should a
# sandbox show it the socket (Codex with network access does)
# (break: server.c's other_userns).
eq "the admin socket answers on the host" 200 "$(status "$ADMIN" GET /v1/requests)"
eq "  ... and refuses the same call from a user namespace of its own" forbidden \
	"$(bwrap --ro-bind / / --dev /dev --proc /proc --unshare-user --unshare-pid -- \
		curl -s --unix-socket "$ADMIN" http://writ/v1/requests | jq -r .error.code)"

# --- the real srt and the real Codex ------------------------------------------
# Installed from npm into the build dir once (pinned), skipped where they cannot be.
NPM=$BIN/npm-tools
if [ ! -x "$NPM/node_modules/.bin/srt" ] || [ ! -x "$NPM/node_modules/.bin/codex" ]; then
	if command -v npm >/dev/null; then
		npm install --prefix "$NPM" --no-audit --no-fund --loglevel=error \
			@anthropic-ai/sandbox-runtime@0.0.78 @openai/codex@0.171.0 >"$T/npm.log" 2>&1
	fi
fi
TOOLS=$NPM/node_modules/.bin
tool_runs() {	# TOOL: can it sandbox a command here?
	case $1 in
	srt) (cd "$WS" && echo '{"filesystem":{"denyRead":[],"allowRead":[],"allowWrite":[],
		"denyWrite":[]},"network":{"allowedDomains":[],"deniedDomains":[]}}' >"$T/probe.json" &&
		timeout 60 "$TOOLS/srt" --settings "$T/probe.json" -- true) ;;
	codex) (cd "$WS" && timeout 60 "$TOOLS/codex" sandbox -- true) ;;
	esac >"$T/probe.$1" 2>&1
}
sbx() {	# TOOL [writ-sandbox options] -- CMD...
	local tool=$1
	shift
	HOME=$H SECRET_CANARY=canary-value PATH=$TOOLS:$PATH \
		"$BIN/writ-sandbox" "--$tool" --workspace "$WS" "$@"
}

for tool in srt codex; do
	if ! command -v npm >/dev/null; then
		skip "$tool: npm is not installed (apt-get install npm), so $tool cannot be"; continue
	fi
	if [ ! -x "$TOOLS/$tool" ]; then
		skip "$tool: npm could not install it: $(tail -1 "$T/npm.log")"; continue
	fi
	if ! tool_runs "$tool"; then
		skip "$tool cannot sandbox a command here: $(grep -v '^$' "$T/probe.$tool" | tail -1)"; continue
	fi

	# writ get, approved; the prompt says the caller is not verified.
	rm -f "$A/asked.json"
	sbx "$tool" --name "$tool-get" -- "$BIN/writ" get jwt --scope "aud=$tool" \
		--reason "inside $tool" >"$T/tok" 2>"$T/err"
	eq "$tool: writ get jwt inside, after approval, exits 0" 0 "$?"
	[ -s "$T/tok" ] || cat "$T/err"
	check "  ... and prints a JWT" grep -qE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$T/tok"
	check "  ... the prompt says the caller came through the spool, not verified" \
		sh -c "jq -r .prompt '$A/asked.json' | grep -q 'NOT VERIFIED (via writ-sandbox.s spool'"
	eq "  ... and after exit its writ is revoked" 0 "$(admin /v1/writs | jq --arg a "$tool" \
		'[.writs[] | select(.scope.aud == $a)] | length')"

	# What must fail inside, and what must work.
	sbx "$tool" -- sh -c "
		echo \"\${SECRET_CANARY:-none}\" >canary.out
		cat '$H/.ssh/id_ed25519' >ssh.out 2>&1
		ls '$T/run' >run.out 2>&1
		echo x >'$T/outside' 2>/dev/null; echo \$? >outside.rc
		keyctl search @u keyring '$KEYRING' >keyring.out 2>&1; echo \$? >keyring.rc
		python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"$ADMIN\")' 2>/dev/null; echo \$? >admin.rc
		touch /tmp/writ-spool-canary.$tool 2>/dev/null; echo \$? >tmp.rc
		echo edited >notes.txt; echo \$? >edit.rc" 2>/dev/null
	eq "$tool: the host's canary variable is not inside" none "$(cat "$WS/canary.out")"
	check "  ... writing outside the workspace fails" test "$(cat "$WS/outside.rc")" -ne 0 -a ! -e "$T/outside"
	check "  ... writd's keyring is not found" test "$(cat "$WS/keyring.rc")" -ne 0
	check "  ... connecting to writd's admin socket fails" test "$(cat "$WS/admin.rc")" -ne 0
	eq "  ... editing a workspace file works" "0 edited" "$(cat "$WS/edit.rc") $(cat "$WS/notes.txt")"
	check "  ... writing the host's /tmp fails" \
		test "$(cat "$WS/tmp.rc")" -ne 0 -a ! -e "/tmp/writ-spool-canary.$tool"
	rm -f "/tmp/writ-spool-canary.$tool"
	if [ "$tool" = srt ]; then
		check "  ... the home's ~/.ssh/id_ed25519 cannot be read" \
			sh -c "! grep -q canary-key '$WS/ssh.out'"
		check "  ... writd's runtime dir (its admin socket) is not there" \
			sh -c "! grep -q admin.sock '$WS/run.out'"
		for f in .git/hooks/pre-commit .claude/settings.json .mcp.json CLAUDE.md; do
			sbx srt -- sh -c "mkdir -p \$(dirname $f) 2>/dev/null; echo pwned >$f" 2>/dev/null
			check "  ... creating $f fails" sh -c "! grep -q pwned '$WS/$f' 2>/dev/null"
		done
	fi
	rm -f "$WS"/*.out "$WS"/*.rc "$WS/notes.txt"

	# Another session's spool is not this one's to use.
	mkfifo "$WS/gate"
	fsbx --name other -- sh -c 'echo "$WRIT_SPOOL" >other.spool; read x <gate' 2>/dev/null &
	OTHER=$!
	wait_for test -s "$WS/other.spool"
	OSPOOL=$(cat "$WS/other.spool")
	sbx "$tool" -- sh -c "WRIT_SPOOL='$OSPOOL' '$BIN/writ' get jwt --scope aud=stolen \
		--reason 'from another session' >/dev/null 2>stolen.err; echo \$? >stolen.rc"
	check "$tool: writ with another session's spool fails" test "$(cat "$WS/stolen.rc")" -ne 0
	eq "  ... and that session was asked nothing" 0 "$(npending)"
	check "  ... nor left a FIFO in its spool" test -z "$(ls -A "$OSPOOL")"
	release "$WS/gate"
	wait "$OTHER"
	rm -f "$WS/other.spool" "$WS/gate" "$WS"/stolen.*

	# git through the helper, against the fake GitHub.
	if [ "$tool" = srt ]; then
		# NB. srt's proxy is the only way out; it lets 127.0.0.1 through
		# when told, but srt's NO_PROXY would send git around it.
		GIT_SSL_CAINFO=$FORGE_CA sbx srt --allow-domain 127.0.0.1 --env GIT_SSL_CAINFO \
			--git-host "127.0.0.1:$FORGE_PORT" --name srt-git -- \
			env -u NO_PROXY -u no_proxy git clone -q "$GH/acme/widgets.git" clone 2>"$T/err"
		eq "srt: git clone through the helper, via srt's proxy, succeeds" 0 "$?"
		[ -d "$WS/clone" ] || cat "$T/err"
		check "  ... the workspace has the repository" \
			sh -c "git -C '$WS/clone' rev-parse -q --verify HEAD >/dev/null"
	else
		# NB. no network in Codex (--net host is refused): git asks its
		# credential helper as a clone would, and the token comes through.
		sbx codex --git-host "127.0.0.1:$FORGE_PORT" --name codex-git -- sh -c \
			"printf 'protocol=https\\nhost=127.0.0.1:$FORGE_PORT\\npath=acme/widgets.git\\n\\n' |
			git credential fill >cred.out" 2>"$T/err"
		eq "codex: git credential fill through the helper succeeds" 0 "$?"
		check "  ... with a token from the fake GitHub" \
			sh -c "grep -qx 'password=$(forge_fake tokens | jq -r '.tokens[-1].token')' '$WS/cred.out'"
		rm -f "$WS/cred.out"
	fi
	eq "  ... and after exit no github writ is left" 0 \
		"$(admin /v1/writs | jq '[.writs[] | select(.kind == "github")] | length')"
	rm -rf "$WS/clone"
done
check "every run directory is removed" runs_left
