#!/usr/bin/env bash
# The secret store with the real kernel keyring and sealed files; the
# hardened process; a canary secret pushed through every path.
. "$(dirname "$0")/lib.sh"

if ! keyctl show @u >/dev/null 2>&1; then
	skip "the kernel keyring is not usable here (keyctl show @u failed)"; exit 0
fi
CANARY=canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

start_writd || exit 1
printf '%s' "$CANARY" >"$T/canary"; chmod 0600 "$T/canary"
"$BIN/writctl" secret set probe --from-file "$T/canary" >/dev/null
eq "secret set --from-file" 0 "$?"
printf 'from-stdin' | "$BIN/writctl" secret set other >/dev/null
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

# The canary through the request path: errors, writs, revocation.
SOCK=$(new_session canary)
approver_on
status "$SOCK" POST /v1/writs "{\"kind\":\"jwt\",\"scope\":{\"aud\":\"$CANARY/..\"}}" >/dev/null
status "$SOCK" POST /v1/writs "{\"kind\":\"$CANARY\",\"scope\":{}}" >/dev/null
status "$ADMIN" PUT /v1/secrets/probe "$CANARY" >/dev/null
approver_off
stop_writd
check "canary: not in writd's log" bash -c "! grep -q '$CANARY' '$T/writd.log'"
check "canary: not in any file under the state or runtime dir" \
	bash -c "! grep -rqa '$CANARY' '$T/state' '$T/run' 2>/dev/null"

# Inherited descriptors are closed; root is warned.
exec 7>"$T/inherited"
start_writd || exit 1
exec 7>&-
check "an inherited file descriptor is closed at start" \
	bash -c "! ls -l /proc/$WRITD_PID/fd | grep -q '$T/inherited'"
if [ "$(id -u)" = 0 ]; then
	check "running as root draws a warning" grep -q 'warning: running as root' "$T/writd.log"
fi
stop_writd

# Sealed-file backend, keyed from the keyring: survives restarts, refuses tampering.
# (A state dir of its own: the audit chain key lives in the store in use.)
STATE=$T/fstate
start_writd '{"store":{"backend":"file"}}' || exit 1
printf '%s' "$CANARY" | "$BIN/writctl" secret set sealed >/dev/null
eq "file backend: set" 0 "$?"
eq "  ... the file is 0600" 600 "$(stat -c %a "$STATE/secrets.sealed")"
check "  ... and holds no plaintext" bash -c "! grep -qa '$CANARY' '$STATE/secrets.sealed'"
WPID=$WRITD_PID
check "  ... the jwt key is in it too" bash -c "curl -s --unix-socket '$ADMIN' http://writ/v1/secrets | jq -e '.secrets[] | select(.name==\"jwt-signing-key\")' >/dev/null"
check "canary: not in writd's environment or argv" \
	bash -c "! grep -qa '$CANARY' /proc/$WPID/environ /proc/$WPID/cmdline"
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
else
	fail "passphrase backend: writd did not start: $(cat "$T/p.log")"
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

# Same-uid attacks, as an unprivileged user.
if [ "$(id -u)" = 0 ]; then
	NB=$(mktemp -d /tmp/writ-nobody.XXXXXX); chmod 0755 "$NB"
	cp "$BIN/writd" "$NB/writd"
	mkdir "$NB/home"; chown nobody "$NB/home"
	with_keyring '{}' >"$NB/cfg.json"; chmod 0644 "$NB/cfg.json"
	(cd "$NB/home" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups env -i \
		"$NB/writd" --runtime-dir "$NB/home/run" \
		--state-dir "$NB/home/state" --config "$NB/cfg.json" \
		--enterprise-policy "$NB/none" --policy "$NB/none" 2>"$T/nb.log") &
	wait_for test -S "$NB/home/run/admin.sock"
	NBPID=$(pgrep -f "$NB/writd" | head -1)
	# a python the unprivileged user can run (not one under /root)
	PY=$(command -v /usr/bin/python3 || command -v python3)
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, int(sys.argv[1]), None, None)   # PTRACE_ATTACH
sys.exit(0 if r == -1 else 1)' "$NBPID"
	check "ptrace attach by the same uid fails" test $? -eq 0
	setpriv --reuid=nobody --regid=nogroup --clear-groups cat "/proc/$NBPID/mem" >/dev/null 2>&1
	check "reading /proc/PID/mem by the same uid fails" test $? -ne 0
	setpriv --reuid=nobody --regid=nogroup --clear-groups cat "/proc/$NBPID/environ" >/dev/null 2>&1
	check "reading /proc/PID/environ by the same uid fails" test $? -ne 0
	if command -v gdb >/dev/null; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 20 \
			gdb -p "$NBPID" -batch -ex 'info registers' >"$T/gdb" 2>&1
		check "gdb -p by the same uid cannot attach" grep -qiE 'not permitted|could not attach' "$T/gdb"
	fi
	if [ "$(cat /proc/sys/kernel/core_pattern)" = core ] || \
	   [ "$(cat /proc/sys/kernel/core_pattern)" = core.%p ]; then
		kill -SEGV "$NBPID"; sleep 0.5
		check "a SIGSEGV leaves no core file" bash -c "! ls '$NB/home' | grep -q '^core'"
	else
		skip "core_pattern pipes cores elsewhere ($(cat /proc/sys/kernel/core_pattern)); RLIMIT_CORE 0 checked in t_limits"
		kill "$NBPID"
	fi
	wait 2>/dev/null
	rm -rf "$NB"
else
	skip "same-uid attack tests need root (to become nobody)"
fi
true
