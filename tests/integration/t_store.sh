#!/usr/bin/env bash
# The secret store with the real kernel keyring and sealed files; the
# hardened process; canary secrets pushed through every path.
. "$(dirname "$0")/lib.sh"

if ! keyctl show @u >/dev/null 2>&1; then
	skip "the kernel keyring is not usable here (keyctl show @u failed)"; exit 0
fi
# 24 random bytes: a canary's last 24 characters alone are unique too.
rnd() { head -c 24 /dev/urandom | od -v -An -tx1 | tr -d ' \n'; }
# One canary per way a secret reaches writd (a file, stdin, the raw body of
# a PUT), and one in the environment writd starts with.
CANARY=canary-file-$(rnd)
CSTDIN=canary-stdin-$(rnd)
CPUT=canary-put-$(rnd)
CENV=canary-env-$(rnd)
SECRETS="$CANARY $CSTDIN $CPUT"
# no_canary DESC CANARIES FILE...: none of CANARIES is in any FILE (or
# under it).  The failure names which canaries were found.
no_canary() {
	local d=$1 cs=$2 c found=
	shift 2
	for c in $cs; do
		grep -rqaF -- "$c" "$@" 2>/dev/null && found="$found ${c%-*}"
	done
	if [ -z "$found" ]; then pass "$d"; else fail "$d (found:$found)"; fi
}
# live_environ PID: the environment PID has now (what setenv changed and
# children would inherit), read with gdb; /proc/PID/environ shows only the
# block it was started with.
live_environ() {
	printf '%s\n' 'set $e = *(char ***)&environ' 'set $i = 0' 'while $e[$i] != 0' \
		'printf "%s\n", $e[$i]' 'set $i = $i + 1' 'end' >"$T/environ.gdb"
	timeout 30 gdb -nx -batch -p "$1" -x "$T/environ.gdb" 2>/dev/null
}

# The approver command writes down what it was given: environment, argv,
# stdin; in its scratch dir (its TMPDIR), the one place it may write,
# confined with writd's front end (frontconfine.h).
A=$T/run/approver
printf '#!/bin/sh\ncat >>%s\ntr "\\000" "\\n" </proc/$$/environ >>%s\nprintf "%%s\\n" "$0" "$@" >>%s\nexit 0\n' \
	"$A/approver.stdin" "$A/approver.env" "$A/approver.argv" >"$T/approve"
chmod 0755 "$T/approve"
# A canary in the environment writd starts with.
WRIT_TEST_CANARY=$CENV start_writd "{\"approval\":{\"command\":\"$T/approve\"}}" || exit 1
printf '%s' "$CANARY" >"$T/canary"; chmod 0600 "$T/canary"
"$BIN/writctl" secret set probe --from-file "$T/canary" >/dev/null
eq "secret set --from-file" 0 "$?"
printf '%s' "$CSTDIN" | "$BIN/writctl" secret set other >/dev/null
eq "secret set from stdin" 0 "$?"
"$BIN/writctl" secret ls --json >"$T/ls"
eq "secret ls: name and size" "${#CANARY}" "$(jq '.secrets[] | select(.name=="probe") | .size' "$T/ls")"
check "secret ls: a time" test "$(jq '.secrets[] | select(.name=="probe") | .updated_at' "$T/ls")" -gt 1700000000
check "secret ls: never the value" bash -c "! grep -q '$CANARY' '$T/ls'"
check "GET /v1/secrets/probe: metadata only" bash -c "admin() { curl -s --unix-socket '$ADMIN' \"http://writ\$1\"; }; \
	admin /v1/secrets/probe | jq -e '.size' >/dev/null && ! admin /v1/secrets/probe | grep -q '$CANARY'"
k=$(keyctl search "%keyring:$KEYRING" user writ:probe)
eq "keyring round trip: the key holds the value (after writ's header)" "$CANARY" \
	"$(keyctl pipe "$k" | tail -c +13)"
eq "  ... possessor-only" 3f000000 "$(keyctl rdescribe "$k" | cut -d';' -f4)"
if command -v bwrap >/dev/null && bwrap --ro-bind / / --unshare-user --unshare-pid true 2>/dev/null; then
	bwrap --ro-bind / / --unshare-user --unshare-pid --unshare-ipc \
		keyctl search @u user writ:probe >/dev/null 2>&1
	check "a bwrap sandbox (own user namespace) cannot find writd's keys" test $? -ne 0
	bwrap --ro-bind / / --unshare-user --unshare-pid keyctl pipe "$k" >/dev/null 2>&1
	check "  ... nor read one by its serial" test $? -ne 0
else
	skip "bwrap with a user namespace is not available here"
fi
if [ "$(id -u)" = 0 ]; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups keyctl pipe "$k" >/dev/null 2>&1
	check "another user cannot read writd's key" test $? -ne 0
else
	skip "another user reading writd's key: needs root (to become nobody)"
fi
chmod 0644 "$T/canary"
"$BIN/writctl" secret set leaky --from-file "$T/canary" 2>"$T/err"
eq "secret set refuses a file others can read" 2 "$?"
check "  ... saying so" grep -q 'readable by others' "$T/err"
eq "a bad secret name: 404 (no route)" 404 "$(status "$ADMIN" PUT '/v1/secrets/../x' 'v')"
eq "an empty secret: 413" 413 "$(status "$ADMIN" PUT /v1/secrets/empty '')"
head -c 33000 /dev/zero | tr '\0' x >"$T/big"
eq "a secret over 32000 bytes: 413" 413 "$(status "$ADMIN" PUT /v1/secrets/big "@$T/big")"
"$BIN/writctl" secret rm other >/dev/null
eq "secret rm" 0 "$?"
check "  ... gone from the keyring" bash -c "! keyctl search '%keyring:$KEYRING' user writ:other >/dev/null 2>&1"
"$BIN/writctl" secret rm other 2>/dev/null
eq "secret rm of a missing one exits 4" 4 "$?"

# writd's own keys are not the admin API's (nor a compromised front end's)
# to set or remove: a swapped jwt signing key would let whoever chose it
# sign JWTs the JWKS vouches for (break: own_key in minter.c).
JWKS0=$("$BIN/writctl" jwks)
for k in jwt-signing-key audit-chain-key audit-checkpoint-key ledger-key sealed-file-key; do
	eq "PUT /v1/secrets/$k, writd's own key: 403 forbidden" "403 forbidden" \
		"$(status "$ADMIN" PUT "/v1/secrets/$k" "0123456789abcdef0123456789abcdef") $(jq -r .error.code "$T/body")"
	check "  ... saying why" grep -q "a key writd makes itself" "$T/body"
	eq "  ... DELETE too" 403 "$(status "$ADMIN" DELETE "/v1/secrets/$k")"
done
eq "  ... the JWKS is the same" "$JWKS0" "$("$BIN/writctl" jwks)"
wait_for grep -q '"event":"secret_refused".*"name":"sealed-file-key"' "$T/state/audit.jsonl"
check "  ... each refusal audited (secret_refused)" \
	test "$(grep -c '"event":"secret_refused"' "$T/state/audit.jsonl")" -ge 10

# The front end holds no key: its whole memory, read as a debugger running
# as root would, has neither the jwt kind's signing seed nor a secret that
# passed through it (writctl secret set from a file and from stdin: PUT
# bodies); the minter's has the seed (the control: the scan finds a key
# where one is).  NB. here, before the canaries below go through curl's
# argv, which the front end reads (/proc/PID/cmdline: the caller's
# identity) and which is no secret.
# mem_find PID HEX...: those of the byte strings (in hex) found in PID's
# readable or not (FOLL_FORCE) mappings, one per line; 1 when the memory
# cannot be read.
mem_find() {
	python3 - "$@" <<'PY'
import sys
pid, hexes = sys.argv[1], sys.argv[2:]
needles = [bytes.fromhex(h) for h in hexes]
found = set()
try:
    maps = open("/proc/%s/maps" % pid).read().splitlines()
    mem = open("/proc/%s/mem" % pid, "rb", buffering=0)
    mem.seek(int(maps[0].split("-")[0], 16))
    mem.read(1)
except (OSError, IndexError):
    sys.exit(1)
# NB. mappings over 256 MiB are ASan's shadow and reserved ranges (up to
# terabytes): no heap arena, stack or guarded page is that large.  Read in
# pieces that overlap by the longest needle.
step, over = 16 << 20, max(len(n) for n in needles) if needles else 0
for line in maps:
    lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
    if lo >= 1 << 63 or hi - lo > 256 << 20:
        continue	# [vsyscall]; see above
    for at in range(lo, hi, step):
        try:
            mem.seek(max(lo, at - over))
            data = mem.read(min(hi, at + step) - max(lo, at - over))
        except OSError:
            break	# [vvar] and the like
        found.update(i for i, n in enumerate(needles) if n in data)
for i in sorted(found):
    print(hexes[i])
PY
}
hex() { printf '%s' "$1" | od -v -An -tx1 | tr -d ' \n'; }
SEED=$(keyctl pipe "$(keyctl search "%keyring:$KEYRING" user writ:jwt-signing-key)" | tail -c 32 |
	od -v -An -tx1 | tr -d ' \n')
M=$(minter_pid)
if [ ${#SEED} = 64 ] && mem_find "$M" "$SEED" >"$T/mfound"; then
	eq "the minter's memory holds the jwt signing seed (the scan's control)" "$SEED" "$(cat "$T/mfound")"
	# NB. a secret's last 24 characters: a freed buffer keeps all but its
	# first 16 or 32 bytes (malloc's own links).
	mem_find "$WRITD_PID" "$SEED" $(for c in $CANARY $CSTDIN; do hex "${c: -24}"; echo; done) >"$T/ffound"
	eq "the front end's memory holds no key (the jwt seed) and no secret that passed through it, nor its end" \
		"" "$(tr '\n' ' ' <"$T/ffound")"
else
	skip "the processes' memory: cannot read /proc/PID/mem here (not root), or no jwt seed in the keyring"
fi

# The canary through the request path: errors, writs, revocation.
SOCK=$(new_session canary)
approver_on
status "$SOCK" POST /v1/writs "{\"kind\":\"jwt\",\"scope\":{\"aud\":\"$CANARY/..\"}}" >/dev/null
status "$SOCK" POST /v1/writs "{\"kind\":\"$CANARY\",\"scope\":{}}" >/dev/null
eq "PUT /v1/secrets/probe (the raw body)" 200 "$(status "$ADMIN" PUT /v1/secrets/probe "$CPUT")"
approver_off
# A request the approver command decides: what does it get to see?
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=approved >/dev/null 2>"$T/err"
eq "the approver command approves a writ" 0 "$?"
check "  ... it ran, and its environment was captured (PATH is in it)" grep -q '^PATH=' "$A/approver.env"
no_canary "canary: not in the approver command's environment, argv or stdin (nor writd's own environment)" \
	"$SECRETS $CENV" "$A/approver.env" "$A/approver.argv" "$A/approver.stdin"
# Where a secret must not be while writd runs: the environment and argv of
# both its processes, the front end (writd) and the minter (its child).
# /proc/PID/environ is the block each started with (which it leaves as it
# was: the canary put there is the proof that this file was read).
check "writd's minter runs ($M)" test -n "$M"
for who in "writd:$WRITD_PID" "the minter:$M"; do
	name=${who%:*} pid=${who##*:}
	if grep -qaF -- "$CENV" "/proc/$pid/environ" 2>/dev/null; then
		no_canary "canary: no secret in $name's /proc/PID/environ" "$SECRETS" "/proc/$pid/environ"
	else
		skip "canary: $name's /proc/PID/environ is not readable here (its start canary is not seen in it)"
	fi
	if grep -qaF -- "--runtime-dir" "/proc/$pid/cmdline" 2>/dev/null; then
		no_canary "canary: none in $name's argv (/proc/PID/cmdline)" "$SECRETS $CENV" "/proc/$pid/cmdline"
	else
		skip "canary: $name's /proc/PID/cmdline is not readable here"
	fi
	# setenv() changes a copy /proc does not show: read the live one.
	if command -v gdb >/dev/null && live_environ "$pid" >"$T/live.env" &&
	   grep -qaF -- "$CENV" "$T/live.env"; then
		no_canary "canary: no secret in $name's live environment (read with gdb)" "$SECRETS" "$T/live.env"
	else
		skip "canary: $name's live environment could not be read (needs gdb and ptrace rights: $(command -v gdb || echo 'no gdb'))"
	fi
done
stop_writd
no_canary "canary: none in writd's log" "$SECRETS $CENV" "$T/writd.log"
no_canary "canary: none in the audit log" "$SECRETS $CENV" "$T/state/audit.jsonl"
no_canary "canary: none in any file under the state or runtime dir" "$SECRETS $CENV" "$T/state" "$T/run"

# Inherited descriptors are closed; root is warned.
exec 7>"$T/inherited"
start_writd || exit 1
exec 7>&-
# fd_list PID: its open descriptors, read by whoever may (non-dumpable:
# root alone), else nothing.
fd_list() {
	ls -l "/proc/$1/fd" 2>/dev/null || sudo -n ls -l "/proc/$1/fd" 2>/dev/null
}
{ fd_list "$WRITD_PID"; fd_list "$(minter_pid)"; } >"$T/fds"
if [ "$(grep -c ' 2 -> ' "$T/fds")" = 2 ]; then
	check "an inherited file descriptor is closed at start (in writd and its minter)" \
		bash -c "! grep -qF '$T/inherited' '$T/fds'"
else
	skip "inherited descriptors: cannot list writd's /proc/PID/fd (not root, no sudo -n)"
fi
if [ "$(id -u)" = 0 ]; then
	check "running as root draws a warning" grep -q 'warning: running as root' "$T/writd.log"
else
	check "not running as root: no root warning" bash -c "! grep -q 'warning: running as root' '$T/writd.log'"
fi
stop_writd

# Sealed-file backend, keyed from the keyring: survives restarts, refuses tampering.
# (A state dir of its own: the audit chain key lives in the store in use.)
STATE=$T/fstate
WRIT_TEST_CANARY=$CENV start_writd '{"store":{"backend":"file"}}' || exit 1
printf '%s' "$CSTDIN" | "$BIN/writctl" secret set sealed >/dev/null
eq "file backend: set" 0 "$?"
eq "  ... the file is 0600" 600 "$(stat -c %a "$STATE/secrets.sealed")"
no_canary "  ... and holds no plaintext" "$CSTDIN" "$STATE/secrets.sealed"
WPID=$WRITD_PID
WM=$(minter_pid)
check "  ... the jwt key is in it too" bash -c "curl -s --unix-socket '$ADMIN' http://writ/v1/secrets | jq -e '.secrets[] | select(.name==\"jwt-signing-key\")' >/dev/null"
if grep -qaF -- "$CENV" "/proc/$WPID/environ" 2>/dev/null &&
   grep -qaF -- "$CENV" "/proc/$WM/environ" 2>/dev/null; then
	no_canary "file backend: no secret in writd's or its minter's environment or argv" "$CSTDIN" \
		"/proc/$WPID/environ" "/proc/$WPID/cmdline" "/proc/$WM/environ" "/proc/$WM/cmdline"
else
	skip "file backend: writd's /proc/PID/environ is not readable here"
fi
stop_writd
start_writd '{"store":{"backend":"file"}}' || exit 1
eq "file backend: the secret survives a restart" sealed \
	"$(curl -s --unix-socket "$ADMIN" http://writ/v1/secrets | jq -r '.secrets[] | select(.name=="sealed") | .name')"
stop_writd
cp "$STATE/secrets.sealed" "$T/good.sealed"
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-5]^=1; open(sys.argv[1],'wb').write(b)" \
	"$STATE/secrets.sealed"
with_keyring '{"store":{"backend":"file"}}' >"$T/file.json"
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$STATE" --config "$T/file.json" \
	--enterprise-policy "$T/none" --policy "$T/none" 2>"$T/err"
check "a tampered sealed file stops writd" test $? -eq 1
check "  ... saying it was altered" grep -q 'wrong key or passphrase, or the file was altered' "$T/err"
head -c 40 "$T/good.sealed" >"$STATE/secrets.sealed"
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$STATE" --config "$T/file.json" \
	--enterprise-policy "$T/none" --policy "$T/none" 2>"$T/err"
check "a truncated sealed file stops writd, saying so" grep -q truncated "$T/err"
cp "$T/good.sealed" "$STATE/secrets.sealed"; chmod 0644 "$STATE/secrets.sealed"
timeout 10 "$BIN/writd" --runtime-dir "$T/run" --state-dir "$STATE" --config "$T/file.json" \
	--enterprise-policy "$T/none" --policy "$T/none" 2>"$T/err"
check "a group/other-readable sealed file is refused" grep -q 'mode 0600' "$T/err"

# Sealed-file backend with a passphrase from a file descriptor.
mkdir -m 0700 "$T/pstate"
with_keyring '{"store":{"backend":"file","key":"passphrase"}}' >"$T/pass.json"
"$BIN/writd" --runtime-dir "$T/prun" --state-dir "$T/pstate" --config "$T/pass.json" \
	--enterprise-policy "$T/none" --policy "$T/none" --passphrase-fd 3 \
	3< <(printf 'correct horse\n') 2>"$T/p.log" &
PW=$!
if wait_for test -S "$T/prun/admin.sock"; then
	printf '%s' "$CANARY" | WRIT_RUNTIME_DIR=$T/prun "$BIN/writctl" secret set pp >/dev/null
	eq "passphrase backend: set" 0 "$?"
	# The passphrase goes to the minter by its fd, never through the front
	# end; the minter keeps it (sealed.c), which the scan's control shows.
	if PM=$(minter_pid "$PW") && mem_find "$PM" >/dev/null; then
		eq "  ... the passphrase is in the minter's memory (the scan's control)" \
			"$(hex 'correct horse')" "$(mem_find "$PM" "$(hex 'correct horse')")"
		eq "  ... and not in the front end's" "" "$(mem_find "$PW" "$(hex 'correct horse')")"
	else
		skip "passphrase backend: the processes' memory cannot be read here"
	fi
else
	fail "passphrase backend: writd did not start: $(cat "$T/p.log")"
fi
kill $PW; wait $PW
# The passphrase's fd goes to the minter as its fd 5, and nowhere else: not
# left open where it was given.
"$BIN/writd" --runtime-dir "$T/prun" --state-dir "$T/pstate" --config "$T/pass.json" \
	--enterprise-policy "$T/none" --policy "$T/none" --passphrase-fd 9 \
	9< <(printf 'correct horse\n') 2>"$T/p.log" &
PW=$!
if wait_for test -S "$T/prun/admin.sock" && PM=$(minter_pid "$PW"); then
	check "passphrase on fd 9: the minter holds no fd 9" test ! -e "/proc/$PM/fd/9"
else
	fail "passphrase on fd 9: writd did not start: $(cat "$T/p.log")"
fi
kill $PW; wait $PW
timeout 30 "$BIN/writd" --runtime-dir "$T/prun" --state-dir "$T/pstate" --config "$T/pass.json" \
	--enterprise-policy "$T/none" --policy "$T/none" --passphrase-fd 3 \
	3< <(printf 'wrong horse\n') 2>"$T/err"
check "a wrong passphrase stops writd" test $? -eq 1
check "  ... with a clear error" grep -q 'wrong key or passphrase' "$T/err"
check "  ... and never echoes it" bash -c "! grep -q horse '$T/err' '$T/p.log'"
timeout 10 "$BIN/writd" --runtime-dir "$T/prun" --state-dir "$T/pstate" --config "$T/pass.json" \
	--enterprise-policy "$T/none" --policy "$T/none" </dev/null 2>"$T/err"
check "no passphrase source and no terminal: a clear error" grep -q -- '--passphrase-fd' "$T/err"

# Same-uid attacks, as an unprivileged user.  The attacker is writd's own
# parent (so Yama's ptrace_scope 1 would let it attach to writd and to its
# minter, writd's child) running as their uid, and lets them dump core as
# far as its own limits go: only their hardening (non-dumpable,
# RLIMIT_CORE 0) can stop what follows.  The minter matters most: it
# holds the keys.
if [ "$(id -u)" != 0 ]; then
	skip "same-uid attack tests need root (to become nobody)"
else
	NB=$(mktemp -d /tmp/writ-nobody.XXXXXX); chmod 0755 "$NB"
	# NB. and its minter, which it runs from beside itself.

	cp "$BIN/writd" "$BIN/writd-minter" "$NB/"
	mkdir "$NB/home"; chown nobody "$NB/home"
	with_keyring '{}' >"$NB/cfg.json"; chmod 0644 "$NB/cfg.json"
	cat >"$NB/attack.py" <<'PY'
# attack.py DIR WRITD ARGS...: start writd as our child, then attack it
# and its minter (the targets in DIR/go: "NAME PID ADDRESS" lines).
import ctypes, os, resource, sys, time
d, argv = sys.argv[1], sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
out = open(d + "/attacks", "a", buffering=1)
def wait_file(p):
    for _ in range(600):
        if os.path.exists(p):
            return open(p).read().strip()
        time.sleep(0.05)
    sys.exit("attack.py: no " + p)
# The minter, orphaned when writd dies unreaped, comes to us: its status too.
libc.prctl(36, 1, 0, 0, 0)                       # PR_SET_CHILD_SUBREAPER
# Cores as large as our hard limit allows: writd alone may turn them off.
resource.setrlimit(resource.RLIMIT_CORE, (resource.getrlimit(resource.RLIMIT_CORE)[1],) * 2)
# A control: an ordinary process dumps core here, so the machine can.
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), 11)
    os._exit(0)
_, st = os.waitpid(pid, 0)
out.write("control signal %d core %d\n" % (os.WTERMSIG(st), os.WCOREDUMP(st)))
pid = os.fork()
if pid == 0:
    # handle_segv=0: under ASan the kernel, not ASan, must take the SIGSEGV;
    # disable_coredump=0: ASan must not turn cores off for writd.
    os.execve(argv[0], argv, {"ASAN_OPTIONS": "handle_segv=0:disable_coredump=0"})
open(d + "/writd.pid.tmp", "w").write(str(pid))
os.rename(d + "/writd.pid.tmp", d + "/writd.pid")
targets = [l.split() for l in wait_file(d + "/go").splitlines()]
for name, tpid, addr in targets:
    tpid, addr = int(tpid), int(addr, 16)
    # PTRACE_ATTACH; if it works, detach at once: it must not stay stopped.
    r = libc.ptrace(16, tpid, None, None)
    if r == 0:
        os.waitpid(tpid, os.WUNTRACED | 0x40000000)   # __WALL
        libc.ptrace(17, tpid, None, None)             # PTRACE_DETACH, no signal
        out.write("%s attach attached\n" % name)
    else:
        out.write("%s attach refused %s\n" % (name, os.strerror(ctypes.get_errno())))
    for what in ("mem", "environ"):
        try:
            with open("/proc/%d/%s" % (tpid, what), "rb", buffering=0) as f:
                if what == "mem":
                    f.seek(addr)
                out.write("%s %s read %d bytes\n" % (name, what, len(f.read(16))))
        except OSError as e:
            out.write("%s %s refused %s\n" % (name, what, e.strerror))
out.write("attacked\n")
for name, tpid, _ in [("writd", pid, 0)] + [t for t in targets if t[0] != "writd"]:
    try:
        _, st = os.waitpid(int(tpid), 0)
    except ChildProcessError:
        out.write("%s reaped by writd\n" % name)
        continue
    out.write("%s signal %d core %d\n" % (name, os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0,
                                          os.WCOREDUMP(st) if os.WIFSIGNALED(st) else 0))
PY
	# a python the unprivileged user can run (not one under /root)
	PY=$(command -v /usr/bin/python3 || command -v python3)
	(cd "$NB/home" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups env -i \
		"$PY" "$NB/attack.py" "$NB/home" "$NB/writd" --runtime-dir "$NB/home/run" \
		--state-dir "$NB/home/state" --config "$NB/cfg.json" \
		--enterprise-policy "$NB/none" --policy "$NB/none" 2>"$T/nb.log") &
	ATTACKER=$!
	if ! wait_for test -S "$NB/home/run/admin.sock"; then
		fail "writd as nobody did not start: $(cat "$T/nb.log")"
		[ -s "$NB/home/writd.pid" ] && kill -KILL "$(cat "$NB/home/writd.pid")"
		kill "$ATTACKER" 2>/dev/null
		exit 1
	fi
	NBPID=$(cat "$NB/home/writd.pid")
	NBM=$(minter_pid "$NBPID")
	check "writd as nobody runs its minter ($NBM)" test -n "$NBM"
	# A mapped, readable address of each (root reads their maps), so only
	# non-dumpability can stop the reads below.
	for who in "writd $NBPID" "minter $NBM"; do
		awk -v w="$who" '$2 ~ /^r/ { split($1, a, "-"); print w, a[1]; exit }' \
			"/proc/${who#* }/maps"
	done >"$NB/home/go.tmp"
	check "writd's and the minter's memory maps have a readable mapping ($(tr '\n' ' ' <"$NB/home/go.tmp"))" \
		test "$(wc -l <"$NB/home/go.tmp")" = 2
	mv "$NB/home/go.tmp" "$NB/home/go"
	wait_for grep -qs '^attacked' "$NB/home/attacks" || fail "the attacker did not finish: $(cat "$T/nb.log")"
	# Whatever the attacks did, neither must stay stopped.
	kill -CONT "$NBPID" "$NBM" 2>/dev/null
	for w in "writd:writd" "minter:its minter"; do
		check "ptrace attach to ${w#*:} by the same uid (writd's parent) fails" \
			grep -q "^${w%%:*} attach refused" "$NB/home/attacks"
		check "reading ${w#*:}'s /proc/PID/mem at a mapped address by the same uid fails" \
			grep -q "^${w%%:*} mem refused" "$NB/home/attacks"
		check "reading ${w#*:}'s /proc/PID/environ by the same uid fails" \
			grep -q "^${w%%:*} environ refused" "$NB/home/attacks"
	done
	yama=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
	if ! command -v gdb >/dev/null; then
		skip "gdb -p by the same uid: gdb is not installed (make deps installs it)"
	elif [ "$yama" != 0 ]; then
		skip "gdb -p by the same uid: Yama ptrace_scope is $yama, so it would fail whatever writd does"
	else
		for who in "writd $NBPID" "minter $NBM"; do
			setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 20 \
				gdb -nx -p "${who#* }" -batch -ex 'info registers' >"$T/gdb" 2>&1
			check "gdb -p to ${who% *} by the same uid cannot attach" \
				grep -qiE 'not permitted|could not attach' "$T/gdb"
			kill -CONT "${who#* }" 2>/dev/null
		done
	fi
	# The control tells whether this machine dumps cores for nobody here.
	if grep -q '^control signal 11 core 1' "$NB/home/attacks"; then
		rm -f "$NB/home"/core*
		# NB. the minter first: writd, killed an instant later, has no
		# time to reap it (it would, stopping), so the attacker does.
		kill -SEGV "$NBM" "$NBPID"
		wait_for grep -qsE '^minter (signal|reaped)' "$NB/home/attacks"
		eq "a SIGSEGV kills writd without a core dump (kernel's word)" "writd signal 11 core 0" \
			"$(grep '^writd signal' "$NB/home/attacks")"
		eq "  ... and the minter (kernel's word)" "minter signal 11 core 0" \
			"$(grep -E '^minter (signal|reaped)' "$NB/home/attacks")"
		check "  ... and leaves no core file" bash -c "! ls '$NB/home' | grep -q '^core'"
	else
		skip "no core dump test: an ordinary process here dumps none either ($(grep '^control' "$NB/home/attacks"); core_pattern $(cat /proc/sys/kernel/core_pattern)); RLIMIT_CORE 0 is checked in t_limits"
		kill -KILL "$NBPID" "$NBM"
	fi
	wait "$ATTACKER"
	rm -rf "$NB"
fi
true
