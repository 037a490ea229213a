#!/usr/bin/env bash
# writd's front end, confined for good once its minter runs (frontconfine.h),
# tried from inside: writd-frontprobe is writd built with a hook (tests/
# confine/frontprobe.c, -DWRIT_TEST_FRONTPROBE: never in the installed
# writd) whose process, forked from the confined and serving front end,
# tries to read writd's keyring, open the sealed store, list the state
# dir, read the minter's memory and ptrace it.  frontprobe tries the same
# unconfined, as the same user, so that it is the confinement that stops
# them.  Then the calls that moved to the minter (PEER): a caller's exe,
# cwd and user namespace, which the confined front end cannot read, still
# reach the approver and the admin socket's check.  As root and as nobody.
. "$(dirname "$0")/lib.sh"

for b in writd-frontprobe frontprobe writd-minter writctl; do
	if [ ! -x "$BIN/$b" ]; then
		fail "$b is not built (make $BIN/$b)"; exit 0
	fi
done
# Copies nobody can run: the build dir may lie under a directory of root's alone.
PD=$(mktemp -d /tmp/writ-frontconfine.XXXXXX); chmod 0755 "$PD"
cp "$BIN/writd-frontprobe" "$BIN/writd-minter" "$BIN/frontprobe" "$PD/"
chmod 0755 "$PD"/*
FPIDS=
# NB. wait, quietly: bash reports a killed job on stderr otherwise.
trap 'for p in $FPIDS; do kill -KILL "$p"; wait "$p"; done 2>/dev/null; rm -rf "$PD"; cleanup' EXIT
KEYS=1
keyctl show @u >/dev/null 2>&1 || KEYS=0
YAMA=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)

# line_of FILE NAME: the probe's line for NAME, less the name.
line_of() { sed -n "s/^$2 //p" "$1" | head -1; }
# is DESC FILE NAME EXPECTED
is() { eq "$1" "$4" "$(line_of "$2" "$3")"; }
# works DESC FILE NAME [WHY_NOT]: NAME got through (ok ...); WHY_NOT set: a skip.
works() {
	if [ -n "${4:-}" ]; then skip "$1: $4"; return; fi
	case $(line_of "$2" "$3") in
	ok*) pass "$1" ;;
	*) fail "$1 (got '$(line_of "$2" "$3")')" ;;
	esac
}
# landlock DESC FILE NAME EXPECTED: is, where this kernel has Landlock; else a skip saying so.
landlock() {
	if [ "$LL" = 1 ]; then is "$@"; else skip "$1: Landlock is not available in this kernel"; fi
}

# session_cmd USER: SCMD, the words that run a command as USER (root, or
# nobody) in a session keyring of its own that holds USER's keyring:
# writd's keyring is possessor-only, and a process possesses what its
# session reaches.  Each execs the next: ( exec "${SCMD[@]}" CMD ) & has
# CMD's pid in $!.
session_cmd() {
	SCMD=(keyctl session - sh -c 'keyctl link @u @s >/dev/null 2>&1; exec "$@"' _)
	[ "$1" = root ] || SCMD=(setpriv --reuid=nobody --regid=nogroup --clear-groups "${SCMD[@]}")
}
in_session() { local u=$1; shift; session_cmd "$u"; "${SCMD[@]}" "$@"; }

chmod 0711 "$T"
for u in root nobody; do
	D=$T/$u
	[ "$u" = root ] || D=$PD/home
	R=$D/run; S=$D/state
	mkdir -p "$D"
	# The sealed store (keyed from the keyring): a file and a keyring to aim at.
	with_keyring '{"store":{"backend":"file"}}' >"$D/config.json"
	echo '{}' >"$D/user.json"
	chmod 0644 "$D/config.json" "$D/user.json"
	[ "$u" = root ] || chown -R nobody:nogroup "$D"
	session_cmd "$u"
	(exec "${SCMD[@]}" "$PD/writd-frontprobe" --runtime-dir "$R" --state-dir "$S" \
		--config "$D/config.json" --enterprise-policy "$D/none.json" --policy "$D/user.json" \
		2>"$T/$u.log") &
	WPID=$!
	SUID=$(id -u "$u")
	FPIDS="$FPIDS $WPID"
	if ! wait_for curl -sf -o /dev/null --unix-socket "$R/admin.sock" http://writ/v1/health; then
		fail "$u: writd-frontprobe did not start: $(cat "$T/$u.log")"; continue
	fi
	MPID=$(pgrep -P "$WPID" -x writd-minter)
	check "$u: writd ($WPID) runs its minter ($MPID)" test -n "$MPID"
	if grep -q 'confined in part: Landlock is not available' "$T/$u.log"; then
		LL=0
		check "$u: no Landlock here: writd says what is not enforced, and runs" \
			grep -q 'the path rules and its ptrace scoping are not enforced' "$T/$u.log"
	else
		LL=1
		check "$u: writd confined itself (no warning, or only for a Landlock ABI short of 6)" \
			bash -c "! grep -q 'confined in part' '$T/$u.log' || grep -q 'confined in part: Landlock ABI' '$T/$u.log'"
	fi
	eq "$u: the front end: no_new_privs, seccomp filter, no capability" \
		"1 2 0000000000000000 0000000000000000" \
		"$(awk '/^NoNewPrivs:/ {n=$2} /^Seccomp:/ {s=$2} /^CapEff:/ {e=$2} /^CapPrm:/ {p=$2} END {print n, s, e, p}' "/proc/$WPID/status")"
	# (no_new_privs it has: writd's harden_process sets it before the minter starts.)
	eq "$u: the minter is not confined with it (no seccomp filter)" 0 \
		"$(awk '/^Seccomp:/ {print $2}' "/proc/$MPID/status")"
	# A secret: the sealed file holds it, the keyring its key.
	printf 'canary-%s' "$u" >"$T/secret"; chmod 0600 "$T/secret"
	WRIT_SERVER_UID=$SUID "$BIN/writctl" --runtime-dir "$R" secret set probe --from-file "$T/secret" \
		>/dev/null 2>"$T/err"
	eq "$u: a secret set through the confined front end" "0" "$?$(head -c 200 "$T/err")"
	check "$u: the sealed store's file is there" test -s "$S/secrets.sealed"
	RING=
	[ "$KEYS" = 1 ] && RING=$(in_session "$u" keyctl search @u keyring "$KEYRING" 2>/dev/null)
	[ -n "$RING" ] || RING=0
	# A caller of writd's user, as one that connects (dumpable, its own cwd).
	if [ "$u" = root ]; then
		(cd "$T" && exec sleep 300) &
	else
		(cd "$PD" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 300) &
	fi
	CALLER=$!
	FPIDS="$FPIDS $CALLER"

	# From inside the front end.
	printf '%s %s %s %s %s\n' "$MPID" "$RING" "$S" "$S/secrets.sealed" "$CALLER" >"$R/frontprobe.in.tmp"
	chmod 0644 "$R/frontprobe.in.tmp"
	mv "$R/frontprobe.in.tmp" "$R/frontprobe.in"
	if ! wait_for test -s "$R/frontprobe.out"; then
		fail "$u: the front end's probe did not answer"; continue
	fi
	cp "$R/frontprobe.out" "$T/$u.in"
	# The same, unconfined, as the same user.
	in_session "$u" "$PD/frontprobe" "$MPID" "$RING" "$S" "$S/secrets.sealed" "$R" "$CALLER" \
		>"$T/$u.none" 2>&1

	nokeys=
	[ "$KEYS" = 1 ] && [ "$RING" != 0 ] || nokeys="the kernel keyring is not usable here"
	works "$u: unconfined: writd's keyring lists its keys" "$T/$u.none" keyring_list "$nokeys"
	works "$u: unconfined: a key of it is read" "$T/$u.none" key_read "$nokeys"
	if [ -z "$nokeys" ]; then
		is "$u: confined: keyctl on writd's keyring: EPERM" "$T/$u.in" keyring_list "refused EPERM"
		is "$u: confined: no key of it read: EPERM" "$T/$u.in" key_read "refused EPERM"
	fi
	works "$u: unconfined: the sealed store's file opens" "$T/$u.none" open_store
	works "$u: unconfined: the state dir lists" "$T/$u.none" list_state_dir
	landlock "$u: confined: the sealed store's file cannot be opened" "$T/$u.in" open_store "refused EACCES"
	landlock "$u: confined: the state dir cannot be listed" "$T/$u.in" list_state_dir "refused EACCES"
	# The minter is non-dumpable: only CAP_SYS_PTRACE reads it unconfined.
	why=
	[ "$u" = root ] || why="the minter is non-dumpable, and nobody has no CAP_SYS_PTRACE: unconfined it fails as well"
	[ "$YAMA" -ge 3 ] && why="Yama's ptrace_scope is $YAMA here"
	works "$u: unconfined: /proc/MINTER/mem is read" "$T/$u.none" proc_mem "$why"
	works "$u: unconfined: ptrace attaches to the minter" "$T/$u.none" ptrace "$why"
	is "$u: confined: /proc/MINTER/mem cannot be read" "$T/$u.in" proc_mem "refused EACCES"
	is "$u: confined: ptrace of the minter: EPERM" "$T/$u.in" ptrace "refused EPERM"
	# A caller: what moved to the minter (PEER), and what stays.
	works "$u: unconfined: a caller's exe is read" "$T/$u.none" caller_exe
	works "$u: unconfined: ... and its cwd" "$T/$u.none" caller_cwd
	works "$u: unconfined: ... its user namespace" "$T/$u.none" caller_ns
	landlock "$u: confined: a caller's exe is hidden (the minter reads it: PEER)" "$T/$u.in" caller_exe "refused EACCES"
	landlock "$u: confined: ... and its cwd" "$T/$u.in" caller_cwd "refused EACCES"
	landlock "$u: confined: ... and its user namespace" "$T/$u.in" caller_ns "refused EACCES"
	is "$u: confined: a caller's cmdline is still read (peer.c)" "$T/$u.in" caller_cmdline ok
	is "$u: confined: ... and its stat (its start time)" "$T/$u.in" caller_stat ok
	is "$u: confined: a file in the runtime dir: written, removed" "$T/$u.in" runtime_write ok

	kill "$CALLER"; wait "$CALLER" 2>/dev/null
	kill -TERM "$WPID"; wait "$WPID"
	eq "$u: writd stops cleanly, confined" 0 "$?"
	check "$u: nothing of the probe's in the state dir" bash -c "! ls '$S' | grep -q frontprobe"
done

# A kernel without Landlock (its calls answered ENOSYS, as such a kernel
# does; the test build's WRIT_TEST_NO_LANDLOCK): a warning that names what
# is not enforced, and writd runs; the seccomp filter and the capability
# drop still keep the keyring and the minter's memory (non-dumpable) out
# of reach; the sealed file, as the warning says, is not.
D=$T/noll; R=$D/run; S=$D/state
mkdir -p "$D"
with_keyring '{"store":{"backend":"file"}}' >"$D/config.json"
session_cmd root
(export WRIT_TEST_NO_LANDLOCK=1; exec "${SCMD[@]}" "$PD/writd-frontprobe" --runtime-dir "$R" \
	--state-dir "$S" --config "$D/config.json" --enterprise-policy "$D/none.json" \
	--policy "$D/none.json" 2>"$T/noll.log") &
WPID=$!
FPIDS="$FPIDS $WPID"
if wait_for curl -sf -o /dev/null --unix-socket "$R/admin.sock" http://writ/v1/health; then
	pass "no Landlock: writd runs"
	check "  ... saying on stderr what is not enforced" grep -q "^writd: warning: confined in part: \
Landlock is not available in this kernel: the path rules and its ptrace scoping are not enforced" "$T/noll.log"
	MPID=$(pgrep -P "$WPID" -x writd-minter)
	"$BIN/writctl" --runtime-dir "$R" secret set probe --from-file "$T/secret" >/dev/null 2>&1
	RING=
	[ "$KEYS" = 1 ] && RING=$(in_session root keyctl search @u keyring "$KEYRING" 2>/dev/null)
	printf '%s %s %s %s %s\n' "$MPID" "${RING:-0}" "$S" "$S/secrets.sealed" "$WPID" >"$R/frontprobe.in.tmp"
	mv "$R/frontprobe.in.tmp" "$R/frontprobe.in"
	if wait_for test -s "$R/frontprobe.out"; then
		if [ -n "$RING" ]; then
			is "no Landlock: keyctl on writd's keyring: EPERM" "$R/frontprobe.out" keyring_list "refused EPERM"
		fi
		is "no Landlock: /proc/MINTER/mem (no capability, the minter non-dumpable)" "$R/frontprobe.out" \
			proc_mem "refused EACCES"
		is "no Landlock: ptrace of the minter: EPERM" "$R/frontprobe.out" ptrace "refused EPERM"
		works "no Landlock: the sealed file opens (the warning's point)" "$R/frontprobe.out" open_store
	else
		fail "no Landlock: the front end's probe did not answer"
	fi
	kill -TERM "$WPID"; wait "$WPID"
	eq "no Landlock: writd stops cleanly" 0 "$?"
else
	fail "no Landlock: writd did not start: $(cat "$T/noll.log")"
fi

# The policy, read again at SIGHUP by the confined front end: kept readable
# by its directory, so that a file replaced by rename (as editors save) is
# read too.
mkdir -p "$T/pol"
echo '{}' >"$T/pol/user.json"
"$BIN/writd" --runtime-dir "$T/prun" --state-dir "$T/pstate" --enterprise-policy "$T/pol/none.json" \
	--policy "$T/pol/user.json" 2>"$T/pol.log" &
PW=$!
FPIDS="$FPIDS $PW"
if wait_for curl -sf -o /dev/null --unix-socket "$T/prun/admin.sock" http://writ/v1/health; then
	printf '{"deny":[{"id":"renamed-in","kind":"jwt","scope":{"aud":"x"}}]}\n' >"$T/pol/user.json.new"
	mv "$T/pol/user.json.new" "$T/pol/user.json"
	kill -HUP "$PW"
	check "a policy file replaced by rename is read at SIGHUP, confined" \
		wait_for grep -q 'writd: policy reloaded' "$T/pol.log"
	check "  ... and no reload failed" bash -c "! grep -q 'policy not reloaded' '$T/pol.log'"
	kill -TERM "$PW"; wait "$PW"
else
	fail "writd with a policy in a directory of its own did not start: $(cat "$T/pol.log")"
fi
# A state dir the front end's rules would reach (here below its runtime
# dir): refused at start, saying which.
timeout 30 "$BIN/writd" --runtime-dir "$T/both" --state-dir "$T/both/state" \
	--enterprise-policy "$T/none" --policy "$T/none" 2>"$T/both.log"
eq "a state dir below the runtime dir: writd stops at start" 1 "$?"
check "  ... saying the runtime dir's rule would reach it" \
	grep -q "confine: the rule for $T/both .*reaches $T/both/state, which must stay out of reach" "$T/both.log"

# PEER: what the confined front end no longer reads itself still reaches
# the approver (exe, cwd) and the admin socket's check (a caller in a
# user namespace of its own is refused).  With the shipped writd.
# The approver also tries what it inherits the confinement of: a file
# outside its scratch dir, the state dir.
cat >"$T/yes" <<EOF
#!/bin/sh
cat >"\$TMPDIR/cmd.json"
if touch "$T/outside" 2>/dev/null; then echo wrote; else echo refused; fi >"\$TMPDIR/outside"
if ls "$T/state" >/dev/null 2>&1; then echo listed; else echo refused; fi >"\$TMPDIR/state"
exit 0
EOF
chmod 0755 "$T/yes"
start_writd "{\"approval\":{\"command\":\"$T/yes\",\"timeout\":\"10s\"}}" || exit 1
SOCK=$(new_session peer)
mkdir -p "$T/caller-cwd"
(cd "$T/caller-cwd" && exec curl -s --unix-socket "$SOCK" -d '{"kind":"jwt","scope":{"aud":"peer"}}' \
	http://writ/v1/writs) >"$T/peer.out"
check "a request through the confined front end is issued" jq -e .token "$T/peer.out" >/dev/null
eq "  ... the approver was shown the caller's exe (from the minter)" "$(readlink -f "$(command -v curl)")" \
	"$(jq -r .caller.exe "$T/run/approver/cmd.json")"
eq "  ... and its cwd" "$T/caller-cwd" "$(jq -r .caller.cwd "$T/run/approver/cmd.json")"
check "  ... the approver wrote in its scratch dir (TMPDIR)" test -s "$T/run/approver/cmd.json"
if [ "$LL" = 1 ]; then
	eq "  ... and nowhere else (confined with the front end)" refused "$(cat "$T/run/approver/outside")"
	check "  ... (nothing was written there)" test ! -e "$T/outside"
	eq "  ... nor can it list the state dir" refused "$(cat "$T/run/approver/state")"
else
	skip "the approver's writes outside its scratch dir: Landlock is not available in this kernel"
fi
eq "the admin socket answers writd's user" 200 "$(status "$ADMIN" GET /v1/health)"
if unshare -U true 2>/dev/null; then
	eq "the admin socket refuses a caller in a user namespace of its own (PEER's other_userns)" 403 \
		"$(unshare -U curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ADMIN" http://writ/v1/requests)"
else
	skip "a caller in a user namespace of its own: unshare -U is not allowed here"
fi
stop_writd
