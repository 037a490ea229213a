#!/usr/bin/env bash
# A session whose socket a named other uid may use (issue #13): writd under
# a user of its own (daemon here, W), a CI job as another (nobody, R).  The
# job reaches its own session and nothing else; no other uid reaches it;
# the ACL entries that let it go when its last session closes and at start;
# writd's own checks take those entries and nothing wider.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "needs root (to become daemon and nobody)"
	exit 0
fi
W=$(id -u daemon)
R=$(id -u nobody)
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
as_w() { setpriv --reuid=daemon --regid=daemon --clear-groups "$@"; }
as_r() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# A directory the others can reach (this test's $T is root's, 0700).
NB=$(mktemp -d /tmp/writ-jobuid.XXXXXX); chmod 0755 "$NB"
WPID=
jobuid_cleanup() {
	[ -n "$WPID" ] && kill -KILL "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
	as_w keyctl unlink "%keyring:$KEYRING" @u >/dev/null 2>&1
	rm -rf "$NB"
	cleanup
}
trap jobuid_cleanup EXIT
cp "$BIN/writd" "$BIN/writd-minter" "$BIN/writ" "$BIN/writctl" "$NB/"
mkdir "$NB/home"; chown daemon: "$NB/home"
with_keyring '{}' >"$NB/cfg.json"
printf '{}\n' >"$NB/ent.json"
printf '{"allow": [ {"kind": "jwt", "scope": {"aud": "job"}} ]}\n' >"$NB/user.json"
chmod 0644 "$NB"/*.json
RUN=$NB/home/run
A=$RUN/admin.sock

# NB. setpriv itself, not as_w: $! of a backgrounded function is a subshell's.
start_w() {
	setpriv --reuid=daemon --regid=daemon --clear-groups env -i "$NB/writd" --runtime-dir "$RUN" --state-dir "$NB/home/state" \
		--config "$NB/cfg.json" --enterprise-policy "$NB/ent.json" \
		--policy "$NB/user.json" 2>>"$T/w.log" &
	WPID=$!
	wait_for curl -sf -o /dev/null --unix-socket "$A" http://writ/v1/health
}
stop_w() { kill -TERM "$WPID"; wait "$WPID"; WPID=; }
# wctl ARGS: writctl as root, trusting writd's uid.
wctl() { WRIT_SERVER_UID=$W "$NB/writctl" --runtime-dir "$RUN" "$@"; }
adm() { local p=$1; shift; curl -s --unix-socket "$A" "$@" "http://writ$p"; }
# A POSIX access ACL on a path (the xattr): present or not, and setting one.
has_acl() { python3 -c 'import os,sys; os.getxattr(sys.argv[1], "system.posix_acl_access")' "$1" 2>/dev/null; }
# set_acl PATH UID PERM MASK [group]: u::rwx, u:UID:PERM, g::---, m::MASK,
# o::--- (acl(5), the kernel's xattr format), or with group a named group.
set_acl() {
	python3 - "$@" <<'EOF'
import os, struct, sys
path, qid, perm, mask = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
u = 0xffffffff
tag = 0x08 if len(sys.argv) > 5 else 0x02
e = [(0x01, 7, u), (tag, perm, qid), (0x04, 0, u), (0x10, mask, u), (0x20, 0, u)]
e.sort(key=lambda x: x[0])
os.setxattr(path, "system.posix_acl_access",
	struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e))
EOF
}
mode() { stat -c %a "$1"; }

start_w || { fail "writd as daemon did not start: $(cat "$T/w.log")"; exit 1; }

# --- Filesystems without ACLs: refused, nothing made --------------------------
# ramfs has no xattrs: a writd (as root) on it, in a mount namespace of its own.
if unshare -m true 2>/dev/null; then
	mkdir "$NB/ram"
	unshare -m bash -c '
		mount -t ramfs none "$1" || exit 9
		"$2/writd" --runtime-dir "$1/run" --state-dir "$3/ramstate" --config "$2/cfg.json" \
			--enterprise-policy "$2/ent.json" --policy "$2/user.json" 2>>"$3/ram.log" &
		p=$!
		for i in $(seq 100); do [ -S "$1/run/admin.sock" ] && break; sleep 0.05; done
		curl -s -w "%{http_code}\n" --unix-socket "$1/run/admin.sock" \
			--data-binary "{\"name\":\"ram\",\"uid\":$4}" http://writ/v1/sessions
		ls "$1/run/sessions" | wc -l
		curl -s --unix-socket "$1/run/admin.sock" http://writ/v1/sessions | jq ".sessions | length"
		kill $p; wait $p
	' _ "$NB/ram" "$NB" "$T" "$R" >"$T/ram.out" 2>&1
	if [ "$(sed -n 2p "$T/ram.out")" = 400 ]; then
		check "no ACLs (ramfs): 400 saying so ($(jq -r .error.message <(head -1 "$T/ram.out") | cut -c1-90)...)" \
			grep -q 'does not support POSIX ACLs' "$T/ram.out"
		eq "  ... nothing made: no session dir, no session" "0 0" "$(sed -n 3p "$T/ram.out") $(sed -n 4p "$T/ram.out")"
	else
		skip "no ramfs mount here, cannot check the refusal: $(head -c 200 "$T/ram.out")"
	fi
else
	skip "no mount namespace here: the refusal on a filesystem without ACLs is not checked"
fi

# --- A session for nobody -----------------------------------------------------
if ! wctl sessions new job1 --uid nobody --json >"$T/s1" 2>"$T/s1.err"; then
	if grep -q 'does not support POSIX ACLs' "$T/s1.err"; then
		skip "the filesystem of $RUN has no POSIX ACLs: $(cat "$T/s1.err")"
		exit 0
	fi
	fail "sessions new --uid nobody: $(cat "$T/s1.err")"; exit 1
fi
S1=$(jq -r .socket "$T/s1")
ID1=$(jq -r .id "$T/s1")
eq "sessions new --uid nobody: the session is for uid $R" "$R" "$(jq -r .uid "$T/s1")"
eq "  ... --json tells writd's uid (server_uid, from SO_PEERCRED)" "$W" "$(jq -r .server_uid "$T/s1")"
eq "  ... GET /v1/sessions shows it" "$R" "$(adm /v1/sessions | jq --arg id "$ID1" '.sessions[] | select(.id == $id) | .uid')"
check "  ... sessions ls shows it (and writctl accepts the 0710 runtime dir)" \
	bash -c "WRIT_SERVER_UID=$W '$NB/writctl' --runtime-dir '$RUN' sessions ls | grep -q '^$ID1 .*uid $R '"
eq "  ... audited with its uid" "$R" "$(grep '"event":"session_opened"' "$NB/home/state/audit.jsonl" | tail -1 | jq .uid)"
eq "  ... ACLs: runtime dir, sessions/, its dir 0710; socket 0660; owner daemon" \
	"710 710 710 660 daemon" "$(mode "$RUN") $(mode "$RUN/sessions") $(mode "${S1%/*}") $(mode "$S1") $(stat -c %U "$S1")"

as_r env -i WRIT_SOCKET="$S1" WRIT_SERVER_UID="$W" "$NB/writ" status >"$T/r1" 2>&1
eq "nobody: writ status through its session (WRIT_SERVER_UID=$W)" 0 "$?"
as_r env -i WRIT_SOCKET="$S1" WRIT_SERVER_UID="$W" "$NB/writ" get jwt --scope aud=job >"$T/tok" 2>"$T/get.err"
rc=$?
eq "nobody: writ get jwt through it" "0 job" \
	"$rc $(cut -d. -f2 "$T/tok" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .aud)"
as_r env -i WRIT_SOCKET="$S1" "$NB/writ" status >/dev/null 2>"$T/r2"
rc=$?
check "nobody without WRIT_SERVER_UID: refused, told to set it (exit $rc)" \
	bash -c "[ $rc -ne 0 ] && grep -q 'WRIT_SERVER_UID=$W' '$T/r2'"
as 12345 env -i WRIT_SOCKET="$S1" WRIT_SERVER_UID="$W" "$NB/writ" status >/dev/null 2>"$T/r3"
rc=$?
eq "uid 12345 (no name): cannot connect to nobody's session (exit 3: $(head -1 "$T/r3" | cut -c1-80))" 3 "$rc"
# writ does not print errno: connect(2) itself, from python.
eq "  ... connect(2): EACCES" EACCES "$(as 12345 /usr/bin/python3 -c '
import errno, socket, sys
try:
	socket.socket(socket.AF_UNIX).connect(sys.argv[1]); print("connected")
except OSError as e:
	print(errno.errorcode[e.errno])' "$S1")"
as 12345 ls "$RUN/sessions" >/dev/null 2>&1
check "  ... nor list sessions/" test $? -ne 0

# A session without "uid": nobody cannot reach it, though it can search the dirs above.
S0=$(wctl sessions new plain)
as_r env -i WRIT_SOCKET="$S0" WRIT_SERVER_UID="$W" "$NB/writ" status >/dev/null 2>"$T/r4"
eq "nobody: cannot connect to a session without uid (exit 3)" 3 "$?"
as_r ls "$RUN/sessions" >/dev/null 2>&1
check "nobody cannot list sessions/ (search only)" test $? -ne 0
as_r ls "$RUN" >/dev/null 2>&1
check "nobody cannot list the runtime dir" test $? -ne 0
as_r env -i WRIT_SOCKET="$A" WRIT_SERVER_UID="$W" "$NB/writ" status >/dev/null 2>&1
eq "nobody cannot connect to the admin socket (exit 3)" 3 "$?"

# A second session for nobody: closing the first keeps the shared entries.
S2=$(wctl sessions new job2 --uid "$R" --json | jq -r .socket)
ID2=$(basename "$(dirname "$S2")")
wctl sessions rm "$ID1" >/dev/null
as_r env -i WRIT_SOCKET="$S2" WRIT_SERVER_UID="$W" "$NB/writ" status >/dev/null 2>&1
eq "first of two sessions closed: nobody still reaches the second" 0 "$?"
check "  ... the first's dir is gone" test ! -e "${S1%/*}"
wctl sessions rm "$ID2" >/dev/null
eq "last session for nobody closed: runtime dir and sessions/ back to 0700" "700 700" \
	"$(mode "$RUN") $(mode "$RUN/sessions")"
check "  ... no ACL left on either" bash -c "! has_acl() { python3 -c 'import os,sys; os.getxattr(sys.argv[1], \"system.posix_acl_access\")' \"\$1\" 2>/dev/null; }; ! has_acl '$RUN' && ! has_acl '$RUN/sessions'"

# --- Bad "uid" values: each a 400, nothing made ---------------------------------
n0=$(adm /v1/sessions | jq '.sessions | length')
d0=$(ls "$RUN/sessions" | wc -l)
for u in -1 4294967295 4294967296 99999999999999 '"65534"' 1.5 null true "$W"; do
	code=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$A" \
		--data-binary "{\"name\":\"bad\",\"uid\":$u}" http://writ/v1/sessions)
	eq "uid $u: 400 ($(jq -r .error.message "$T/body" | cut -c1-70))" "400 bad_request" \
		"$code $(jq -r .error.code "$T/body")"
done
eq "  ... nothing made: no session, no dir, no ACL" "$n0 $d0 700" \
	"$(adm /v1/sessions | jq '.sessions | length') $(ls "$RUN/sessions" | wc -l) $(mode "$RUN")"
wctl sessions new bad --uid no-such-user-here >/dev/null 2>"$T/nou"
check "writctl --uid with an unknown user name: refused before asking writd" \
	bash -c "[ $? -eq 2 ] && grep -q 'no such user' '$T/nou'"
wctl sessions rm "$(basename "$(dirname "$S0")")" >/dev/null

# --- writd's start: stale entries of a crashed run swept; wider ones refused ----
wctl sessions new job3 --uid nobody >/dev/null
kill -KILL "$WPID"; wait "$WPID" 2>/dev/null; WPID=
eq "crashed with a session for nobody: its entries are left (0710)" "710 710" \
	"$(mode "$RUN") $(mode "$RUN/sessions")"
start_w
check "writd restarts over them (its own shape of ACL)" test -S "$A"
eq "  ... and sweeps them: 0700, no ACL" "700 700 no" \
	"$(mode "$RUN") $(mode "$RUN/sessions") $(has_acl "$RUN" || has_acl "$RUN/sessions" || echo no)"
stop_w

# u:R:rwx under mask --x is search only today, but a chmod g+rwx would open it.
for bad in "$R 5 5" "$R 3 3" "$R 7 1" "$R 1 1 group"; do
	set_acl "$RUN" $bad
	setpriv --reuid=daemon --regid=daemon --clear-groups env -i "$NB/writd" --runtime-dir "$RUN" --state-dir "$NB/home/state" \
		--config "$NB/cfg.json" --enterprise-policy "$NB/ent.json" \
		--policy "$NB/user.json" 2>"$T/bad.log" &
	p=$!
	wait_for bash -c "! kill -0 $p 2>/dev/null"
	kill -KILL $p 2>/dev/null
	wait $p
	rc=$?
	check "an ACL on the runtime dir wider than search for a user ($bad, mode $(mode "$RUN")): writd refuses to start (rc $rc)" \
		bash -c "[ $rc -ne 0 ] && [ $rc -ne 137 ] && grep -q 'mode 0700' '$T/bad.log'"
	wctl sessions ls >/dev/null 2>"$T/ctl.err"
	check "  ... and writctl refuses the runtime dir" grep -q 'open to others' "$T/ctl.err"
done
set_acl "$RUN" "$R" 1 1
check "search only for a named user: writctl accepts the runtime dir (then finds no writd)" \
	bash -c "! WRIT_SERVER_UID=$W '$NB/writctl' --runtime-dir '$RUN' sessions ls 2>&1 | grep -q 'open to others'"
start_w
check "  ... writd starts and sweeps it" bash -c "[ -S '$A' ] && [ \$(stat -c %a '$RUN') = 700 ]"
stop_w
