#!/usr/bin/env bash
# writ-sandbox: a real writd and a real bubblewrap.  Each attack below is
# tried inside and fails, with a host-side look that proves it; each thing
# an agent needs works.  The line of writ-sandbox.c a check guards is named
# after "break:" (dropping it makes that check fail).
. "$(dirname "$0")/lib.sh"

if ! command -v bwrap >/dev/null; then
	skip "bubblewrap is not installed"; exit 0
fi
if ! bwrap --ro-bind / / --unshare-user --unshare-pid --unshare-net -- true 2>"$T/bwrap.err"; then
	skip "bwrap cannot create namespaces here: $(head -1 "$T/bwrap.err")"; exit 0
fi

# NB. out of /tmp: writ-sandbox empties /tmp, which would hide the fake
# home and writd's runtime dir whatever else it did, and the checks of the
# home's tmpfs and of the runtime dir's could not fail.  cleanup removes $T.
rm -rf "$T"
T=$(mktemp -d /var/tmp/writ-test.XXXXXX)

# The fake GitHub, for git clone inside (lib.sh).
start_forge || { fail "the fake GitHub did not start"; exit 1; }
start_writd "$FORGE_CONFIG" || exit 1
forge_app_key
approver_on

# The host user's fake home, with secrets in it.
H=$T/home
mkdir -p "$H/.ssh" "$H/src/proj"
echo 'PS1=host' >"$H/.bashrc"
echo '-----BEGIN OPENSSH PRIVATE KEY----- canary-key' >"$H/.ssh/id_ed25519"
chmod 600 "$H/.ssh/id_ed25519"

# The workspace: a git repository with a hook, an .mcp.json, a file to edit.
WS=$T/ws
mkdir -p "$WS"
git -C "$WS" init -q
printf '#!/bin/sh\necho host-hook\n' >"$WS/.git/hooks/pre-commit"
echo '{"mcpServers":{}}' >"$WS/.mcp.json"
echo 'line 1' >"$WS/notes.txt"
ls -A "$WS" >"$T/ws.before"

# sbx [writ-sandbox options] -- CMD...: as the host user would, with a
# canary and an agent socket in the environment.
sbx() {
	HOME=$H SECRET_CANARY=canary-value SSH_AUTH_SOCK=$H/agent.sock \
		GPG_AGENT_INFO=$H/gpg.sock "$BIN/writ-sandbox" --workspace "$WS" "$@"
}

# release FIFO: let the sandbox waiting on it go on (a hang guard only:
# it waits for a reader that is already there or about to be).
release() { timeout 60 sh -c 'echo go >"$1"' _ "$1"; }
writ_gone() { [ -n "$1" ] && ! has_writ "$1"; }
# revoked_in_audit SESSION WRIT
revoked_in_audit() {
	admin "/v1/audit?tail=100&session=$1" |
		jq -e --arg id "$2" 'any(.records[]; .event == "revoked" and .writ == $id)' >/dev/null
}

# --- what must fail ---------------------------------------------------------

sbx -- sh -c 'echo evil >>"$HOME/.bashrc"' 2>/dev/null
# NB. two guards: home is a tmpfs, and read-only below it (break: both).
eq "the host's ~/.bashrc is not changed from inside" \
	"PS1=host" "$(cat "$H/.bashrc")"

sbx -- sh -c "echo evil >'$T/outside'" 2>/dev/null
check "  ... nor a file outside the workspace (break: --bind / /)" \
	test $? -ne 0 -a ! -e "$T/outside"

sbx -- sh -c 'echo evil >.git/hooks/pre-commit' 2>/dev/null
check "an existing .git/hooks/pre-commit cannot be changed (break: .git/hooks not ro-bound)" \
	test $? -ne 0
check "  ... and the host's hook is as it was" grep -q host-hook "$WS/.git/hooks/pre-commit"

sbx -- sh -c 'mv .git .git.old && mkdir -p .git/hooks && echo evil >.git/hooks/pre-commit' 2>/dev/null
check ".git cannot be renamed away and remade with a hook (break: .git not bound over itself)" \
	test $? -ne 0 -a ! -e "$WS/.git.old"
check "  ... the hook is still the host's" grep -q host-hook "$WS/.git/hooks/pre-commit"

sbx -- git config core.hooksPath /tmp/hooks 2>/dev/null
check ".git/config cannot be changed (git config core.hooksPath)" \
	bash -c "test $? -ne 0 && ! git -C '$WS' config --get core.hooksPath"

sbx -- sh -c 'echo evil >.cursorrules' 2>/dev/null
check ".cursorrules cannot be created (break: no placeholder for a missing file)" \
	test $? -ne 0

sbx -- sh -c 'mkdir -p .claude && echo "{}" >.claude/settings.json' 2>/dev/null
check ".claude/settings.json cannot be created (break: no placeholder for a missing dir)" \
	test $? -ne 0

sbx -- sh -c 'echo evil >.mcp.json' 2>/dev/null
check "an existing .mcp.json cannot be changed" test $? -ne 0
eq "  ... it is as it was" '{"mcpServers":{}}' "$(cat "$WS/.mcp.json")"

sbx -- sh -c 'mkdir .github 2>/dev/null; echo evil >.github/copilot-instructions.md' 2>/dev/null
check ".github/copilot-instructions.md cannot be created" test $? -ne 0

eq "no placeholder is left in the workspace after the sandbox (break: placeholders_remove)" \
	"$(cat "$T/ws.before")" "$(ls -A "$WS")"

sbx -- cat "$H/.ssh/id_ed25519" >"$T/key" 2>/dev/null
check "the host's ~/.ssh/id_ed25519 cannot be read (break: no --tmpfs on home)" \
	bash -c "! grep -q canary-key '$T/key'"

sbx -- sh -c 'cat <&9' 9<"$H/.ssh/id_ed25519" >"$T/key" 2>/dev/null
check "  ... nor through a descriptor writ-sandbox inherited (break: no close_others)" \
	bash -c "! grep -q canary-key '$T/key'"

mkdir -p "$H/src/proj"
HOME=$H "$BIN/writ-sandbox" --workspace "$H/src/proj" -- \
	sh -c "cat '$H/.ssh/id_ed25519'; echo edited >'$H/src/proj/f'" >"$T/key" 2>/dev/null
check "with the workspace under home, the home's secrets are still hidden" \
	bash -c "! grep -q canary-key '$T/key'"
eq "  ... and the workspace is writable" edited "$(cat "$H/src/proj/f" 2>/dev/null)"

sbx -- env >"$T/env"
check "no canary, no SSH or GPG agent in the environment (break: no --clearenv)" \
	bash -c "! grep -qE 'SECRET_CANARY|SSH_AUTH_SOCK|GPG_AGENT_INFO' '$T/env'"
eq "  ... only the fixed list" "GIT_CONFIG_GLOBAL HOME LANG PATH PWD TERM WRIT_SOCKET" \
	"$(TERM=dumb LANG=C.UTF-8 sbx -- env | cut -d= -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
eq "--env NAME passes that one variable" passed \
	"$(MY_SETTING=passed sbx --env MY_SETTING -- printenv MY_SETTING)"
mkfifo "$WS/gate"
# NB. a simple command, not sbx: $! is then writ-sandbox's own pid.
HOME=$H MY_SETTING=argv-canary "$BIN/writ-sandbox" --workspace "$WS" --env MY_SETTING -- \
	sh -c 'read x <gate' &
SBX=$!
# writ-sandbox's child once it is bwrap (before, it is a copy of writ-sandbox).
bwrap_child() {
	local c
	c=$(pgrep -P "$SBX") && [ "$(readlink "/proc/$c/exe")" = "$(command -v bwrap)" ] &&
		tr '\0' ' ' <"/proc/$c/cmdline" >"$T/cmdline"
}
wait_for bwrap_child
release "$WS/gate"
wait "$SBX"
check "  ... and its value is not in bwrap's argv (break: --setenv on argv, not --args)" \
	bash -c "grep -q -- '--args' '$T/cmdline' && ! grep -q argv-canary '$T/cmdline'"
rm -f "$WS/gate"

KEYID=$(keyctl search "%keyring:$KEYRING" user writ:jwt-signing-key)
check "writd's signing key is in the test keyring on the host (the check below can fail)" \
	sh -c "keyctl describe $KEYID >/dev/null"
sbx -- sh -c "keyctl describe $KEYID || keyctl search @u keyring '$KEYRING'" >/dev/null 2>&1
check "  ... but keyctl finds no writd key inside (break: no --unshare-user)" test $? -ne 0

# A key in the host's session keyring (as pam_keyinit gives a login): bwrap
# alone passes that keyring on, even into a new user namespace.
keyctl session - sh -c 'k=$(keyctl add user writ-sbx-probe session-canary @s) &&
	keyctl print "$k" && HOME="$1" "$2/writ-sandbox" --workspace "$3" -- keyctl print "$k"' \
	_ "$H" "$BIN" "$WS" >"$T/sesskey" 2>/dev/null
eq "a session keyring of the host is not the sandbox's (break: no KEYCTL_JOIN_SESSION_KEYRING)" \
	session-canary "$(cat "$T/sesskey")"

python3 -c '
import signal, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
signal.pause()' "$T/port" &
LISTENER=$!
wait_for test -s "$T/port"
PORT=$(cat "$T/port")
connect() {
	sbx "$@" -- /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), timeout=10)"
}
connect 2>/dev/null
check "no network by default: a host port on 127.0.0.1 is unreachable (break: no --unshare-net)" \
	test $? -ne 0
connect --net host 2>"$T/net.err"
eq "  ... and reachable with --net host (so the check can fail)" 0 "$?"
check "  ... which warns" grep -q 'warning: --net host' "$T/net.err"
kill "$LISTENER"; wait "$LISTENER" 2>/dev/null

sbx -- curl -s --max-time 10 --unix-socket "$ADMIN" http://writ/v1/health >"$T/admin" 2>/dev/null
check "the admin socket is not reachable inside (break: no --tmpfs on the runtime dir)" \
	bash -c "test $? -ne 0 && ! grep -q writd '$T/admin'"

# --- what must work ---------------------------------------------------------

sbx -- sh -c 'echo "line 2" >>notes.txt'
eq "a workspace file can be edited" "line 1 line 2" "$(tr '\n' ' ' <"$WS/notes.txt" | sed 's/ $//')"
eq "git's credential.helper is git-credential-writ" "$BIN/git-credential-writ" \
	"$(sbx -- git config --get credential.helper)"
eq "  ... with credential.useHttpPath" true "$(sbx -- git config --get credential.useHttpPath)"
sbx -- sh -c 'exit 7'
eq "the command's exit status passes through" 7 "$?"
sbx -- sh -c 'kill -TERM $$'
eq "  ... and a signal's (128 + 15)" 143 "$?"

# writ get inside; the writ is live until the sandbox exits, then revoked.
# The sandbox waits on a FIFO in the workspace, so the host looks meanwhile.
mkfifo "$WS/gate"
sbx --name sbx-jwt -- sh -c \
	"$BIN/writ get jwt --scope aud=sandbox --reason 'in writ-sandbox' >tok && read x <gate" &
SBX=$!
ID=$(pending_id)
"$BIN/writctl" approve "$ID" >/dev/null
wait_for test -s "$WS/tok"
check "writ get jwt inside writ-sandbox works after approval" \
	grep -qE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$WS/tok"
SID=$(admin /v1/sessions | jq -r '.sessions[] | select(.name == "sbx-jwt") | .id')
WID=$(admin /v1/writs | jq -r --arg s "$SID" '.writs[] | select(.session == $s) | .id')
check "  ... its writ is live while the sandbox runs" has_writ "$WID"
SPID=$(admin "/v1/sessions/$SID" | jq -r .pid)
eq "  ... the session is tied to bwrap's pid" "$(command -v bwrap)" "$(readlink "/proc/$SPID/exe")"
eq "  ... and names the workspace" "$WS" "$(admin "/v1/sessions/$SID" | jq -r .workspace)"
release "$WS/gate"
wait "$SBX"
eq "the sandbox exits 0" 0 "$?"
eq "after exit the session is gone" 404 "$(status "$ADMIN" GET "/v1/sessions/$SID")"
check "  ... its writ is revoked" writ_gone "$WID"
check "  ... and the audit log says so" revoked_in_audit "$SID" "$WID"
rm -f "$WS/gate" "$WS/tok"

# git clone inside, through the sandbox's own git config (credential.helper
# git-credential-writ, --git-host for the fake's host:port), with a human's
# approval; after exit the session's writ is revoked, at writd and at the
# fake.  NB. the fake listens on the host's 127.0.0.1: the sandbox needs
# --net host to reach it.  Its CA is put under the (hidden) home, so that
# only --ro shows it inside, and GIT_SSL_CAINFO is passed with --env.
mkdir -p "$H/certs"
cp "$FORGE_CA" "$H/certs/ca.pem"
sbx --net host -- test -e "$H/certs/ca.pem" 2>/dev/null
check "the CA under the home is not visible inside without --ro (so the next can fail)" \
	test $? -ne 0
mkfifo "$WS/gate"
GIT_SSL_CAINFO=$H/certs/ca.pem sbx --net host --ro "$H/certs/ca.pem" --env GIT_SSL_CAINFO \
	--git-host "127.0.0.1:$FORGE_PORT" --name sbx-git -- sh -c \
	"git clone -q '$GH/acme/widgets.git' clone 2>clone.err; echo \$? >clone.rc; read x <gate" \
	2>"$T/git.err" &
SBX=$!
ID=$(pending_id)
eq "git clone inside writ-sandbox asks for a github writ for the repository" \
	"github acme/widgets read sbx-git" \
	"$(admin /v1/requests | jq -r '.requests[0] | "\(.kind) \(.scope.repo[0]) \(.scope.permissions.contents) \(.session.name // .session)"')"
"$BIN/writctl" approve "$ID" >/dev/null
wait_for test -s "$WS/clone.rc"
eq "  ... after approval the clone succeeds" 0 "$(cat "$WS/clone.rc" 2>/dev/null)"
[ "$(cat "$WS/clone.rc" 2>/dev/null)" = 0 ] || cat "$WS/clone.err" "$T/git.err"
check "  ... and the workspace has the repository" git -C "$WS/clone" rev-parse -q --verify HEAD
SID=$(admin /v1/sessions | jq -r '.sessions[] | select(.name == "sbx-git") | .id')
WID=$(admin /v1/writs | jq -r --arg s "$SID" '.writs[] | select(.session == $s) | .id')
GTOK=$(forge_fake tokens | jq -r '.tokens[-1].token')
check "  ... its writ is live while the sandbox runs" has_writ "$WID"
check "  ... and so is its token at the fake" forge_valid "$GTOK"
release "$WS/gate"
wait "$SBX"
eq "the sandbox exits 0" 0 "$?"
eq "after exit the session is gone" 404 "$(status "$ADMIN" GET "/v1/sessions/$SID")"
check "  ... its github writ is revoked (admin API)" writ_gone "$WID"
check "  ... the audit log says so" revoked_in_audit "$SID" "$WID"
wait_for forge_revoked "$GTOK"
check "  ... and the fake GitHub has the token revoked" forge_revoked "$GTOK"
rm -rf "$WS/gate" "$WS/clone" "$WS/clone.rc" "$WS/clone.err"

# However it exits: writ-sandbox killed outright, writd closes the session
# itself when bwrap dies (break: no "pid" in POST /v1/sessions).
WS2=$T/ws2
mkdir -p "$WS2"
mkfifo "$WS2/gate"
HOME=$H "$BIN/writ-sandbox" --workspace "$WS2" --name sbx-kill -- sh -c \
	"$BIN/writ get jwt --scope aud=sandbox >tok && read x <gate" &
SBX=$!
ID=$(pending_id)
"$BIN/writctl" approve "$ID" >/dev/null
wait_for test -s "$WS2/tok"
SID=$(admin /v1/sessions | jq -r '.sessions[] | select(.name == "sbx-kill") | .id')
WID=$(admin /v1/writs | jq -r --arg s "$SID" '.writs[] | select(.session == $s) | .id')
kill -KILL "$SBX"; wait "$SBX" 2>/dev/null
session_gone() { [ "$(status "$ADMIN" GET "/v1/sessions/$SID")" = 404 ]; }
check "writ-sandbox killed with SIGKILL: writd closes the session when bwrap dies" \
	wait_for session_gone
check "  ... and revokes its writ" writ_gone "$WID"

# A killed writ-sandbox removes nothing: its placeholders stay, recorded
# under the home (~/.local/state/writ-sandbox); the next run on the
# workspace, when no other writ-sandbox uses it, removes those still as made.
check "  ... its placeholders stay in the workspace (so the next checks can fail)" \
	test -e "$WS2/.cursorrules" -a -d "$WS2/.claude"
check "  ... recorded under the home" bash -c "ls '$H/.local/state/writ-sandbox' | grep -q ."
chmod u+w "$WS2/CLAUDE.md" "$WS2/.claude"
echo mine >"$WS2/CLAUDE.md"
echo mine >"$WS2/.claude/mine"
rm -f "$WS2/AGENTS.md"; : >"$WS2/AGENTS.md"; chmod 0444 "$WS2/AGENTS.md"
# Another writ-sandbox's hold on the workspace (a shared lock, as each takes).
flock -s "$WS2" sh -c 'echo held >"$1"; read x <"$2"' _ "$T/held" "$WS2/gate" &
HOLD=$!
wait_for test -s "$T/held"
LEFT=$(stat -c '%i %z' "$WS2/.cursorrules")
HOME=$H "$BIN/writ-sandbox" --workspace "$WS2" -- true 2>/dev/null
eq "while another writ-sandbox uses the workspace, its leftovers stay (break: leftovers_remove without LOCK_EX)" \
	"$LEFT" "$(stat -c '%i %z' "$WS2/.cursorrules" 2>&1)"
release "$WS2/gate"
wait "$HOLD"
HOME=$H "$BIN/writ-sandbox" --workspace "$WS2" -- true 2>"$T/err"
eq "the next run removes the killed run's placeholders, but what the user made or changed (break: leftovers_remove)" \
	".claude AGENTS.md CLAUDE.md gate tok" "$(ls -A "$WS2" | tr '\n' ' ' | sed 's/ $//')"
check "  ... saying so" grep -q 'left in .* by a writ-sandbox that was killed' "$T/err"
eq "  ... a file changed since keeps its content" mine "$(cat "$WS2/CLAUDE.md")"
eq "  ... a directory holding the user's file keeps it" mine "$(cat "$WS2/.claude/mine")"
check "  ... and no record is left" bash -c "! ls '$H/.local/state/writ-sandbox' | grep -q ."

# --- bad input --------------------------------------------------------------

n0=$(admin /v1/sessions | jq '.sessions | length')
sbx true >/dev/null 2>"$T/err"
eq "no -- before the command: refused (125)" 125 "$?"
check "  ... saying so" grep -q 'put -- before the command' "$T/err"
"$BIN/writ-sandbox" --workspace "$T/nonexistent" -- true 2>"$T/err"
eq "a workspace that does not exist: refused (125)" 125 "$?"
check "  ... saying so" grep -q 'no such workspace' "$T/err"
sbx --net wide -- true 2>"$T/err"
eq "--net wide: refused" 125 "$?"
mkdir -m 700 "$T/dead"
WRIT_RUNTIME_DIR=$T/dead sbx -- true 2>"$T/err"
eq "writd not running: refused (125)" 125 "$?"
check "  ... with libwrit's report" grep -q 'cannot connect to writd' "$T/err"
eq "  ... and no placeholder left behind" "$(cat "$T/ws.before")" "$(ls -A "$WS")"
HOME=$T "$BIN/writ-sandbox" --workspace "$T" -- true 2>"$T/err"
check "a workspace holding the home is refused" grep -q 'holds your home' "$T/err"
eq "no session was opened by any of them" "$n0" "$(admin /v1/sessions | jq '.sessions | length')"
mkdir -p "$T/ws-link/real"
ln -s real "$T/ws-link/.claude"
HOME=$H "$BIN/writ-sandbox" --workspace "$T/ws-link" -- true 2>"$T/err"
eq "a guarded path that is a symlink: refused (the link could be swapped)" 125 "$?"
check "  ... saying so" grep -q 'is a symlink' "$T/err"
git -C "$WS" commit -q --allow-empty -m init 2>/dev/null
git -C "$WS" worktree add -q "$T/wt" 2>/dev/null
HOME=$H "$BIN/writ-sandbox" --workspace "$T/wt" -- sh -c 'echo "gitdir: /tmp/evil" >.git' 2>/dev/null
check "a worktree's .git file cannot be pointed elsewhere" \
	bash -c "test $? -ne 0 && grep -q '^gitdir: $WS/.git/worktrees/' '$T/wt/.git'"

# --- --profile FILE -----------------------------------------------------------

# A good profile: more guarded paths (one existing, one missing file, one in
# a missing directory), a read-only path under the home, a variable, the
# host's network.  The command line adds to it.
echo 'host notes' >"$WS/notes.md"
ls -A "$WS" >"$T/ws.before"
P=$T/profile.json
cat >"$P" <<'JSON'
{"guard": ["notes.md", ".aider.conf.yml", "agent/rules/"],
 "ro": ["~/certs/ca.pem"], "env": ["MY_SETTING"], "net": "host"}
JSON
chmod 0644 "$P"
sbx --profile "$P" -- sh -c 'echo evil >notes.md' 2>/dev/null
check "profile: an existing guarded file cannot be changed (break: profile_guard)" test $? -ne 0
eq "  ... it is as it was" "host notes" "$(cat "$WS/notes.md")"
sbx --profile "$P" -- sh -c 'echo evil >.aider.conf.yml' 2>/dev/null
check "profile: a missing guarded file cannot be created" test $? -ne 0
sbx --profile "$P" -- sh -c 'mkdir -p agent/rules && echo evil >agent/rules/x' 2>/dev/null
check "profile: nor a file in a guarded directory (trailing /)" test $? -ne 0 -a ! -e "$WS/agent"
sbx --profile "$P" -- sh -c 'mv agent agent.old && mkdir -p agent/rules && echo evil >agent/rules/x' 2>/dev/null
check "  ... nor its parent renamed away and remade (break: no PIN for the parents)" \
	test $? -ne 0 -a ! -e "$WS/agent.old"
sbx --profile "$P" -- sh -c 'echo evil >.cursorrules' 2>/dev/null
check "  ... and the built-in list still holds" test $? -ne 0
eq "  ... no placeholder is left after" "$(cat "$T/ws.before")" "$(ls -A "$WS")"
sbx --profile "$P" -- sh -c 'echo edited >>notes.txt' 2>/dev/null
eq "  ... other workspace files are writable" edited "$(tail -1 "$WS/notes.txt")"
eq "profile: ro (~/...) and env are applied, and --env adds to env" \
	"$(tr '\n' ' ' <"$FORGE_CA")passed other" \
	"$(MY_SETTING=passed OTHER=other sbx --profile "$P" --env OTHER -- \
		sh -c 'cat "$HOME/certs/ca.pem"; printenv MY_SETTING OTHER' | tr '\n' ' ' | sed 's/ $//')"
netns() { sbx "$@" -- readlink /proc/self/ns/net 2>/dev/null; }
eq "profile: net host shares the host's network" "$(readlink /proc/self/ns/net)" "$(netns --profile "$P")"
check "  ... and --net none on the command line wins" \
	test "$(netns --profile "$P" --net none)" != "$(readlink /proc/self/ns/net)"

# Bad profiles: each refused with its reason, exit 125, before anything runs.
n0=$(admin /v1/sessions | jq '.sessions | length')
mkdir -p "$WS/realdir"
ln -s realdir "$WS/linkdir"
ls -A "$WS" >"$T/ws.before"
bad_profile() {	# DESCRIPTION EXPECTED-MESSAGE [FILE]: the profile in $T/bad.json unless FILE
	local f=${3:-$T/bad.json}
	[ -z "${3:-}" ] && chmod 0644 "$f"
	sbx --profile "$f" -- touch "$WS/started" 2>"$T/err"
	local rc=$?
	eq "profile $1: refused (125)" 125 "$rc"
	check "  ... saying so ($2)" grep -q -- "$2" "$T/err"
	check "  ... and nothing ran" test ! -e "$WS/started"
	rm -f "$WS/started"
}
printf '{"ro": [' >"$T/bad.json";		bad_profile "bad JSON" "not valid JSON"
printf '[]' >"$T/bad.json";			bad_profile "not an object" "must be a JSON object"
printf '{"rw": ["/opt"]}' >"$T/bad.json";	bad_profile "an unknown key" '"rw": unknown key'
printf '{"ro": "/usr"}' >"$T/bad.json";	bad_profile "ro a string" '"ro": must be an array of strings'
printf '{"env": [1]}' >"$T/bad.json";		bad_profile "env [1]" '"env": must be an array of strings'
printf '{"net": true}' >"$T/bad.json";		bad_profile "net true" '"net": must be "none" or "host"'
printf '{"net": "wide"}' >"$T/bad.json";	bad_profile "net wide" '"net": must be "none" or "host"'
printf '{"net": "none", "net": "host"}' >"$T/bad.json"; bad_profile "a duplicate key" "not valid JSON"
printf '{"ro": ["usr/lib"]}' >"$T/bad.json";	bad_profile "a relative ro path" "absolute or start with ~/"
printf '{"env": ["PATH"]}' >"$T/bad.json";	bad_profile "env PATH" "cannot set a variable writ-sandbox sets"
printf '{"env": ["A-B"]}' >"$T/bad.json";	bad_profile "env A-B" "takes a variable name"
printf '{"env": ["WRIT_SERVER_UID"]}' >"$T/bad.json"; bad_profile "env WRIT_SERVER_UID" "cannot set a variable"
for g in "/etc/passwd|is absolute" "../outside|a . or .. component" "a/../../outside|a . or .. component" \
	"./x|a . or .. component" "a//b|empty component" "|is empty"; do
	printf '{"guard": ["%s"]}' "${g%%|*}" >"$T/bad.json"
	bad_profile "guard '${g%%|*}' (break: guard_path_check)" "${g#*|}"
done
printf '{"guard": ["linkdir/conf.json"]}' >"$T/bad.json"
bad_profile "guard through a symlink in the workspace" "linkdir is a symlink"
{ printf '{"ro": []'; head -c 70000 /dev/zero | tr '\0' ' '; printf '}'; } >"$T/bad.json"
bad_profile "of 70 kB (valid JSON)" "larger than 64 KiB"
printf '{}' >"$T/bad.json"; chmod 0666 "$T/bad.json"
bad_profile "writable by others (break: the mode check)" "writable by group or others" "$T/bad.json"
chmod 0644 "$T/bad.json"; chown nobody "$T/bad.json"
bad_profile "owned by another user (break: the owner check)" "owned by another user" "$T/bad.json"
printf '{}' >"$WS/profile.json"; chmod 0644 "$WS/profile.json"
bad_profile "in the workspace (the agent could widen it)" "the profile is in the workspace" "$WS/profile.json"
rm -f "$WS/profile.json"
bad_profile "that does not exist" "No such file" "$T/nonexistent.json"
sbx --profile "$P" --profile "$P" -- true 2>"$T/err"
eq "two --profile: refused (125)" 125 "$?"
eq "no session was opened by any bad profile" "$n0" "$(admin /v1/sessions | jq '.sessions | length')"
eq "  ... and no placeholder is left behind" "$(cat "$T/ws.before")" "$(ls -A "$WS")"
rm -rf "$WS/realdir" "$WS/linkdir"

"$BIN/writ-sandbox" --help | grep -q -- '--workspace DIR'
check "--help describes the options" test $? -eq 0

# --- writd under another user; writ-sandbox unprivileged ----------------------

if [ "$(id -u)" != 0 ]; then
	skip "writd under a dedicated user, writ-sandbox as nobody: need root (to become daemon and nobody)"
	exit 0
fi
NB=$(mktemp -d /var/tmp/writ-sbx-users.XXXXXX); chmod 0755 "$NB"
# Copies other users can reach, wherever the build directory is (writ-sandbox
# finds git-credential-writ and writ next to itself).
mkdir -m 0755 "$NB/bin"
cp "$BIN/writd" "$BIN/writd-minter" "$BIN/writ-sandbox" "$BIN/git-credential-writ" "$BIN/writ" "$NB/bin/"
with_keyring '{}' >"$NB/cfg.json"; chmod 0644 "$NB/cfg.json"
# writd_as USER DIR: writd as USER on DIR/run and DIR/state (DIR made USER's).
writd_as() {
	mkdir -m 0755 "$2"; chown "$1" "$2"
	setpriv --reuid="$1" --regid="$(id -gn "$1")" --clear-groups env -i \
		"$NB/bin/writd" --runtime-dir "$2/run" --state-dir "$2/state" --config "$NB/cfg.json" \
		--enterprise-policy "$NB/none" --policy "$NB/none" 2>"$2.log" &
	WPID=$!
	wait_for curl -sf -o /dev/null --unix-socket "$2/run/admin.sock" http://writ/v1/health ||
		{ fail "writd as $1 did not start: $(cat "$2.log")"; return 1; }
}
users_done() {
	[ -n "${WPID:-}" ] && { kill "$WPID"; wait "$WPID" 2>/dev/null; }
	setpriv --reuid=daemon --regid=daemon --clear-groups keyctl unlink "%keyring:$KEYRING" @u \
		>/dev/null 2>&1
	rm -rf "$NB"
}

# writd as daemon: the host side trusts it by WRIT_SERVER_UID.  Inside, where
# bwrap maps our uid alone, writd would show as the overflow uid, and
# writ-sandbox sets WRIT_SERVER_UID to that for the clients (add_server_uid).
# XXX but the session socket cannot be reached from the sandbox at all:
# writd makes it 0600 in a 0700 directory of its own uid, which the
# sandbox's user namespace does not map (so not even root's bwrap can bind
# it).  Until writd hands the session socket to the session's user, a
# writd under a dedicated user cannot serve writ-sandbox; this asserts the
# refusal, not a working agent.
if writd_as daemon "$NB/d"; then
	WRIT_RUNTIME_DIR=$NB/d/run sbx -- true 2>"$T/err"
	eq "writd as daemon, no WRIT_SERVER_UID on the host: refused (125)" 125 "$?"
	WRIT_SERVER_UID=$(id -u daemon) WRIT_RUNTIME_DIR=$NB/d/run sbx -- true 2>"$T/err"
	check "  ... with it: the session opens, but bwrap cannot reach its socket (see XXX)" \
		bash -c "test $? -ne 0 && grep -q 'agent.sock: Permission denied' '$T/err'"
	eq "  ... and the session is closed after" 0 \
		"$(curl -s --unix-socket "$NB/d/run/admin.sock" http://writ/v1/sessions | jq '.sessions | length')"
	kill "$WPID"; wait "$WPID" 2>/dev/null; WPID=
fi
eq "writd as ourselves: no WRIT_SERVER_UID inside" "" "$(WRIT_SERVER_UID=1 sbx -- printenv WRIT_SERVER_UID)"

# writ-sandbox as nobody, with a writd of nobody's.
if ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
	bwrap --ro-bind / / --unshare-user --unshare-pid --unshare-net -- true 2>"$T/nb.err"; then
	skip "writ-sandbox as nobody: unprivileged user namespaces are not allowed here ($(head -1 "$T/nb.err"))"
	users_done; exit 0
fi
writd_as nobody "$NB/n" || { users_done; exit 1; }
for d in home ws other; do mkdir -m 0755 "$NB/$d"; chown nobody "$NB/$d"; done
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME="$NB/home" WRIT_RUNTIME_DIR="$NB/n/run" "$@"
}
as_nobody git init -q "$NB/ws"
as_nobody sh -c "echo control >'$NB/other/control'"
check "as nobody: a directory outside the workspace is writable without the sandbox (control)" \
	test -s "$NB/other/control"
as_nobody "$NB/bin/writ-sandbox" --workspace "$NB/ws" --name sbx-nobody -- \
	sh -c "echo edited >f; '$NB/bin/writ' status >status.out 2>&1; printenv WRIT_SERVER_UID >>status.out; true" \
	2>"$T/nb.err"
rc=$?
eq "as nobody: the sandbox starts and the command succeeds" 0 "$rc"
[ $rc = 0 ] || cat "$T/nb.err"
eq "  ... the workspace is writable" edited "$(cat "$NB/ws/f" 2>/dev/null)"
check "  ... writ inside reaches nobody's writd (no WRIT_SERVER_UID needed or set)" \
	bash -c "grep -q sbx-nobody '$NB/ws/status.out' && ! grep -q '^[0-9]' '$NB/ws/status.out'"
as_nobody "$NB/bin/writ-sandbox" --workspace "$NB/ws" -- sh -c "echo evil >'$NB/other/evil'" 2>/dev/null
check "  ... a directory outside the workspace is not writable" test $? -ne 0 -a ! -e "$NB/other/evil"
as_nobody "$NB/bin/writ-sandbox" --workspace "$NB/ws" -- \
	sh -c 'mkdir -p .claude && echo "{}" >.claude/settings.json || echo x >.git/hooks/pre-commit' \
	2>/dev/null
check "  ... nor are the agent config paths (placeholders made by nobody)" \
	test $? -ne 0 -a ! -e "$NB/ws/.git/hooks/pre-commit"
eq "  ... which are gone after" ".git f status.out" "$(ls -A "$NB/ws" | tr '\n' ' ' | sed 's/ $//')"
eq "  ... and the sessions are closed" 0 \
	"$(curl -s --unix-socket "$NB/n/run/admin.sock" http://writ/v1/sessions | jq '.sessions | length')"
users_done
