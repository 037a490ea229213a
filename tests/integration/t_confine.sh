#!/usr/bin/env bash
# The front end's confinement (broker/confine.h), tried from inside by
# confine_probe (tests/confine): a stand-in minter holds a canary in its
# memory, behind an open fd and in a file of the state dir, and the test's
# keyring holds it as a key.  Each thing the front end must not do is
# tried twice: without confinement it reaches the canary (so it is the
# confinement that stops it), confined it fails.  What the front end must
# still do (a thread, a file and a Unix socket in its runtime dir, an exec)
# works confined.  As root (whose CAP_SYS_PTRACE reads any process unless
# dropped) and as nobody.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BIN/confine_probe" ]; then
	fail "confine_probe is not built (make $BIN/confine_probe)"; exit 0
fi
# A copy nobody can run: the build dir may lie under a directory of
# root's alone (a clone in /root, or mktemp -d's 0700).
PD=$(mktemp -d /tmp/writ-confine.XXXXXX); chmod 0755 "$PD"
cp "$BIN/confine_probe" "$PD/"; chmod 0755 "$PD/confine_probe"
PROBE=$PD/confine_probe
HOLDERS=
# NB. wait, quietly: bash reports a killed job on stderr otherwise.
trap 'for h in $HOLDERS; do kill -KILL "$h"; wait "$h"; done 2>/dev/null; rm -rf "$PD"; cleanup' EXIT

ABI=$("$PROBE" --read /usr | sed -n 's/^confine applied abi=//p')
[ -n "$ABI" ] || ABI=0
if [ "$ABI" = 0 ]; then
	echo "  (Landlock is not available on this machine: its checks are skipped)"
fi
KEYS=1
keyctl show @u >/dev/null 2>&1 || KEYS=0
YAMA=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)

# The programs an exec needs: /usr, and /bin, /lib, /lib64 where they are
# not links into it (merged /usr).
SYSDIRS=()
for d in /usr /bin /lib /lib64; do
	[ -d "$d" ] && [ ! -L "$d" ] && SYSDIRS+=(--read "$d" --exec "$d")
done
TRUE=$(readlink -f /bin/true)
# A TCP port the rules allow, and 9 (the probe's), which they do not.
PORT=1

# line_of FILE NAME: the probe's line for NAME, less the name.
line_of() { sed -n "s/^$2 //p" "$1" | head -1; }
# is DESC FILE NAME EXPECTED: the probe's line for NAME is EXPECTED.
is() { eq "$1" "$4" "$(line_of "$2" "$3")"; }
# landlock DESC FILE NAME EXPECTED [MIN_ABI]: is, where Landlock (ABI
# MIN_ABI, 1 by default) is here; else a skip that says so.
landlock() {
	if [ "$ABI" -ge "${5:-1}" ]; then
		is "$1" "$2" "$3" "$4"
	else
		skip "$1: needs Landlock ABI ${5:-1}, this kernel has ${ABI}"
	fi
}
# works DESC FILE NAME [WHY_NOT]: without confinement, NAME got through
# (its line starts with ok); WHY_NOT, when set, skips instead.
works() {
	if [ -n "${4:-}" ]; then skip "$1: $4"; return; fi
	case $(line_of "$2" "$3") in
	ok*) pass "$1" ;;
	*) fail "$1 (got '$(line_of "$2" "$3")')" ;;
	esac
}

# let_through DESC FILE NAME: a TCP connect the kernel let through: it
# connected, or nothing listens there (ECONNREFUSED); never EACCES.
let_through() {
	case $(line_of "$2" "$3") in
	ok|"refused ECONNREFUSED") pass "$1" ;;
	*) fail "$1 (got '$(line_of "$2" "$3")')" ;;
	esac
}

# as_user USER CMD...: CMD as root, or as nobody.
as_user() {
	local u=$1; shift
	if [ "$u" = root ]; then "$@"; else setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; fi
}

# setup USER [--dumpable]: USER's state dir (the canary in its sealed
# file) and runtime dir under $T/USER, and a stand-in minter holding the
# canary; sets S, R, HOLD (pid addr len fd).
setup() {
	local u=$1; shift
	S=$T/$u/state; R=$T/$u/run
	mkdir -p "$S" "$R"
	printf '%s' "$CANARY" >"$S/sealed"
	chmod 0600 "$S/sealed"; chmod 0700 "$S" "$R"
	[ "$u" = root ] || chown -R nobody:nogroup "$T/$u"
	as_user "$u" "$PROBE" hold "$S/sealed" "$@" >"$T/$u.hold" 2>&1 &
	HOLDERS="$HOLDERS $!"
	wait_for test -s "$T/$u.hold" || { fail "the stand-in minter did not start: $(cat "$T/$u.hold")"; exit 0; }
	read -r HPID HADDR HLEN HFD <"$T/$u.hold"
}

# probe USER OUT ARGS...: the probe as USER in a session keyring of its
# own holding the test's keyring and the canary as a key (read from the
# sealed file, never argv), aimed at the stand-in minter; lines in OUT.
probe() {
	local u=$1 out=$2; shift 2
	if [ "$KEYS" = 1 ]; then
		as_user "$u" keyctl session - bash -c '
			ring=$(keyctl newring "$1" @s) && key=$(keyctl padd user writ:canary "$ring" <"$2") || exit 9
			shift 2
			exec "$@" --keyring "$ring" --key "$key"' _ "$KEYRING" "$S/sealed" \
			"$PROBE" "$@" --file "$S/sealed" --pid "$HPID" --addr "$HADDR" --len "$HLEN" \
			--fd "$HFD" --dir "$R" --run "$TRUE" >"$out" 2>"$out.err"
	else
		as_user "$u" "$PROBE" "$@" --file "$S/sealed" --pid "$HPID" --addr "$HADDR" \
			--len "$HLEN" --fd "$HFD" --dir "$R" --run "$TRUE" >"$out" 2>"$out.err"
	fi
}

# The front end's rules: its runtime dir, /proc (peer.c reads callers
# there: so a refused /proc/PID/mem is Landlock's ptrace scoping and the
# capability drop, not a missing path), the system, the state dir hidden.
rules() { echo --write "$R" --read /proc "${SYSDIRS[@]}" --hide "$S" --port $PORT; }

# forbidden U OUT: every line of a confined run that must fail.
forbidden() {
	local u=$1 f=$2
	is "$u: confined: no_new_privs, non-dumpable, seccomp filter, no capability left" "$f" privs \
		"ok nnp=1 dumpable=0 seccomp=2 eff=0 prm=0 inh=0 bnd=$([ "$u" = root ] && echo 0 || echo "$BND_NOBODY")"
	if [ "$KEYS" = 1 ]; then
		is "$u: confined: keyctl read of the canary key: EPERM" "$f" key_read "refused EPERM"
		is "$u: confined: keyctl read of the keyring: EPERM" "$f" keyring_list "refused EPERM"
		is "$u: confined: keyctl search: EPERM" "$f" keyring_search "refused EPERM"
		is "$u: confined: add_key: EPERM" "$f" add_key "refused EPERM"
		is "$u: confined: request_key: EPERM" "$f" request_key "refused EPERM"
	fi
	landlock "$u: confined: the sealed store's file cannot be opened" "$f" open_store "refused EACCES"
	landlock "$u: confined: the state dir cannot be listed" "$f" list_state_dir "refused EACCES"
	landlock "$u: confined: nor the store opened below an O_PATH fd of it" "$f" \
		open_store_below_path_fd "refused EACCES"
	landlock "$u: confined: /proc/MINTER/mem cannot be read" "$f" proc_mem "refused EACCES"
	is "$u: confined: ptrace attach to the minter: EPERM" "$f" ptrace "refused EPERM"
	is "$u: confined: process_vm_readv of the minter: EPERM" "$f" process_vm_readv "refused EPERM"
	is "$u: confined: pidfd_getfd of the minter's store fd: EPERM" "$f" pidfd_getfd "refused EPERM"
	landlock "$u: confined: no signal to the minter" "$f" signal "refused EPERM" 6
	is "$u: confined: unshare(CLONE_NEWUSER): EPERM" "$f" unshare_user "refused EPERM"
	is "$u: confined: clone(CLONE_NEWUSER): EPERM" "$f" clone_newuser "refused EPERM"
	is "$u: confined: clone3: ENOSYS (its flags are out of the filter's sight)" "$f" clone3 "refused ENOSYS"
	if [ "$(line_of "$T/$u.none" ia32_syscall)" = ok ]; then
		is "$u: confined: an i386 call (int 0x80) kills the process" "$f" ia32_syscall "refused SIGSYS"
	else
		skip "$u: i386 calls: not available here ($(line_of "$T/$u.none" ia32_syscall))"
	fi
	landlock "$u: confined: TCP connect to a port not listed: EACCES" "$f" tcp_other "refused EACCES" 4
}

# allowed U OUT: every line of a confined run that must work.
allowed() {
	local u=$1 f=$2
	is "$u: confined: a thread starts" "$f" thread ok
	is "$u: confined: a file in the runtime dir: written, read, removed" "$f" write_file ok
	is "$u: confined: a Unix socket in the runtime dir: bind, connect, a byte across" "$f" unix_socket ok
	is "$u: confined: a program runs" "$f" exec ok
	is "$u: confined: pidfd_open (peer.c) works" "$f" pidfd_open ok
	is "$u: confined: a caller's /proc/PID/cmdline is read" "$f" peer_cmdline ok
	let_through "$u: confined: TCP to a listed port is let through" "$f" tcp_listed
	# NB. for the split: Landlock's ptrace scoping hides a caller's exe and
	# cwd (peer.c) from a confined process: they must be read outside it.
	landlock "$u: confined: a caller's /proc/PID/exe is hidden (peer.c must read it elsewhere)" \
		"$f" peer_exe "refused EACCES"
}

rnd() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
CANARY=writ-canary-$(rnd)
HEX=$(printf '%s' "$CANARY" | od -An -tx1 | tr -d ' \n')
HEX8=${HEX:0:16}
# nobody's bounding set is the one it starts with: only root may drop from it.
BND_NOBODY=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$PROBE" --none |
	sed -n 's/^privs .* bnd=//p')

chmod 0711 "$T"
for u in root nobody; do
	if [ "$u" = root ]; then
		# As writd: non-dumpable.  Root reads it all the same unless confined.
		setup root
	else
		# Dumpable: so that no_new_privs and dumpability are not what stops
		# the confined probe (the real minter is non-dumpable as well).
		setup nobody --dumpable
	fi
	probe "$u" "$T/$u.none" --none
	eq "$u: the probe runs unconfined" "none" "$(line_of "$T/$u.none" confine)"
	nokeys=; [ "$KEYS" = 1 ] || nokeys="the kernel keyring is not usable here (keyctl show @u failed)"
	# Yama: 1 and 2 hold back a user without CAP_SYS_PTRACE, 3 everyone.
	yama=
	if [ "$YAMA" -ge 3 ] || { [ "$u" != root ] && [ "$YAMA" -ge 1 ]; }; then
		yama="Yama's ptrace_scope is $YAMA here"
	fi
	eq "$u: unconfined: keyctl reads the canary key" "ok $HEX" "$(line_of "$T/$u.none" key_read)"
	works "$u: unconfined: keyctl reads the keyring" "$T/$u.none" keyring_list "$nokeys"
	works "$u: unconfined: add_key" "$T/$u.none" add_key "$nokeys"
	is "$u: unconfined: request_key gets as far as ENOKEY" "$T/$u.none" request_key "refused ENOKEY"
	is "$u: unconfined: the sealed store's file holds the canary" "$T/$u.none" open_store "ok $HEX"
	is "$u: unconfined: below an O_PATH fd of the state dir too" "$T/$u.none" \
		open_store_below_path_fd "ok $HEX"
	if [ -n "$yama" ]; then
		skip "$u: unconfined reads of the minter's memory: $yama"
	else
		is "$u: unconfined: /proc/MINTER/mem holds the canary" "$T/$u.none" proc_mem "ok $HEX"
		is "$u: unconfined: ptrace reads it" "$T/$u.none" ptrace "ok $HEX8"
		is "$u: unconfined: process_vm_readv reads it" "$T/$u.none" process_vm_readv "ok $HEX"
		is "$u: unconfined: pidfd_getfd takes the minter's store fd" "$T/$u.none" pidfd_getfd "ok $HEX"
	fi
	works "$u: unconfined: a signal reaches the minter" "$T/$u.none" signal
	works "$u: unconfined: a caller's /proc/PID/exe is read" "$T/$u.none" peer_exe
	userns=
	[ "$(line_of "$T/$u.none" unshare_user)" = ok ] || userns="user namespaces are off for $u here"
	works "$u: unconfined: unshare(CLONE_NEWUSER)" "$T/$u.none" unshare_user "$userns"
	works "$u: unconfined: clone(CLONE_NEWUSER)" "$T/$u.none" clone_newuser "$userns"
	works "$u: unconfined: clone3" "$T/$u.none" clone3
	let_through "$u: unconfined: TCP to a port not listed is let through" "$T/$u.none" tcp_other

	# shellcheck disable=SC2046
	probe "$u" "$T/$u.conf" $(rules)
	if [ "$ABI" -ge 6 ]; then
		is "$u: the probe is confined, all of it" "$T/$u.conf" confine "applied abi=$ABI"
	else
		check "$u: the probe is confined, less what Landlock lacks here (a warning, not a failure)" \
			grep -q '^confine partial Landlock' "$T/$u.conf"
	fi
	forbidden "$u" "$T/$u.conf"
	allowed "$u" "$T/$u.conf"
	check "$u: the confined probe wrote nothing into the state dir" \
		test "$(ls -A "$S")" = sealed
done

# Without Landlock (its calls answered ENOSYS, as an older kernel does):
# a warning, and the filter and the capability drop still keep the keys
# and the minter's memory (non-dumpable, as writd) out of reach; the path
# rules are gone, as the warning says.
S=$T/root/state; R=$T/root/run
read -r HPID HADDR HLEN HFD <"$T/root.hold"
# shellcheck disable=SC2046
probe root "$T/noll" --no-landlock $(rules)
check "no Landlock: confine says so, as a warning (the probe went on)" \
	grep -q '^confine partial Landlock is not available in this kernel: the path rules' "$T/noll"
if [ "$KEYS" = 1 ]; then
	is "no Landlock: keyctl read of the canary key: EPERM" "$T/noll" key_read "refused EPERM"
fi
is "no Landlock: /proc/MINTER/mem (capabilities dropped, minter non-dumpable)" "$T/noll" proc_mem "refused EACCES"
is "no Landlock: ptrace: EPERM" "$T/noll" ptrace "refused EPERM"
is "no Landlock: process_vm_readv: EPERM" "$T/noll" process_vm_readv "refused EPERM"
is "no Landlock: pidfd_getfd: EPERM" "$T/noll" pidfd_getfd "refused EPERM"
is "no Landlock: no capability left" "$T/noll" privs "ok nnp=1 dumpable=0 seccomp=2 eff=0 prm=0 inh=0 bnd=0"
is "no Landlock: the sealed file opens (the warning's point: the path rules need Landlock)" \
	"$T/noll" open_store "ok $HEX"
is "no Landlock: a thread starts" "$T/noll" thread ok

# Capabilities the caller keeps, and those it may not.
# shellcheck disable=SC2046
probe root "$T/keep" $(rules) --keep-cap 0
is "keep CAP_CHOWN: kept in every set, nothing else" "$T/keep" privs \
	"ok nnp=1 dumpable=0 seccomp=2 eff=1 prm=1 inh=0 bnd=1"

# Bad rules: refused before anything is applied, with a message.
# refused DESC PATTERN ARGS...: the probe stops at "confine error" matching
# PATTERN, and the process is as it was (its privs line as unconfined).
UNCONF=$(sed -n 's/^privs //p' "$T/root.none")
refused() {
	local d=$1 pat=$2 rc; shift 2
	"$PROBE" "$@" >"$T/bad" 2>&1
	rc=$?
	if [ $rc = 1 ] && grep -q "^confine error .*$pat" "$T/bad" && [ "$(wc -l <"$T/bad")" = 2 ] &&
	   [ "$(line_of "$T/bad" privs)" = "$UNCONF" ]; then
		pass "$d"
	else
		fail "$d (exit $rc: $(head -c 400 "$T/bad"))"
	fi
}
mkdir -p "$T/bad.d/state" "$T/bad.d/run"
ln -s "$T/bad.d/state" "$T/bad.d/run/state-link"
refused "a relative path is refused" "is not an absolute path" --read usr
refused "a path with .. is refused" "is not an absolute path" --read /usr/../etc
refused "a path with an empty component is refused" "is not an absolute path" --read //usr
refused "a rule above the hidden state dir is refused" "reaches $T/bad.d/state" \
	--write "$T/bad.d" --hide "$T/bad.d/state"
refused "a rule inside the hidden state dir is refused" "reaches $T/bad.d/state" \
	--read "$T/bad.d/state/x" --hide "$T/bad.d/state"
if [ "$ABI" -ge 1 ]; then
	refused "a rule that reaches the state dir through a symlink is refused" \
		"state-link (.*/bad.d/state) reaches" --read "$T/bad.d/run/state-link" --hide "$T/bad.d/state"
	refused "a path that does not exist is refused" "No such file" --read "$T/bad.d/nothing"
else
	skip "symlinked and missing paths: checked when the Landlock rules are built, and Landlock is not here"
fi
refused "keeping CAP_SYS_PTRACE is refused" "may not be kept" --read /usr --keep-cap 19
refused "keeping CAP_SYS_ADMIN is refused" "may not be kept" --read /usr --keep-cap 21
refused "TCP port 0 is refused" "port 0" --read /usr --port 0
many=()
for i in $(seq 33); do many+=(--read /usr); done
refused "33 path rules are refused" "more than 32 paths" "${many[@]}"
refused "a process with a second thread is refused (capabilities and Landlock hold per thread)" \
	"has 2 threads" --read /usr --threaded
