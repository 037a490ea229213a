#!/usr/bin/env bash
# writ beside a container: rootful podman runs an "agent" container with
# only the session socket bind-mounted at /run/writ/agent.sock, no network,
# a read-only root, no inherited environment.  No registry is needed: the
# container's root is a directory made here from writ and the shared
# libraries it links (ldd).  Skipped, saying why, where podman cannot run.
#
# The uid question, which the checks at the end test: writ trusts a socket
# served by its own uid or root, as the kernel reports them in the
# container's user namespace (SO_PEERCRED).  writd as root, container root
# without a user namespace: root, trusted.  writd as a dedicated user W: a
# container root without CAP_DAC_OVERRIDE cannot connect to W's 0600
# socket at all; run the agent as W (--user W), or map container root to W
# (--uidmap 0:W:1, what rootless podman run by W does), and writd is then
# "me" or "root" inside.  WRIT_SERVER_UID=W is for an agent that runs as
# another uid and still reaches the socket (a container keeping
# CAP_DAC_OVERRIDE).
. "$(dirname "$0")/lib.sh"

if ! command -v podman >/dev/null; then
	skip "podman is not installed (apt-get install podman runc)"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
	skip "the container test runs rootful podman: it needs root"; exit 0
fi

# The container's root: writ, a shell and a few tools, with their libraries.
# NB. out of $T (root's, 0700): a container whose root is another uid
# (--uidmap) must reach it.
R=$(mktemp -d /tmp/writ-ctr-root.XXXXXX); chmod 0755 "$R"
trap 'rm -rf "$R"; cleanup' EXIT
mkdir -p "$R/bin" "$R/run" "$R/proc" "$R/dev" "$R/sys" "$R/tmp" "$R/etc"
for f in "$BIN/writ" /bin/dash /usr/bin/env /usr/bin/cat /usr/bin/find /usr/bin/keyctl; do
	[ -x "$f" ] || { skip "$f is missing: cannot build the container's root"; exit 0; }
	cp "$f" "$R/bin/"
	for l in $(ldd "$f" | grep -o '/[^ ]*'); do
		mkdir -p "$R${l%/*}"; cp -L "$l" "$R$l"
	done
done
ln -s dash "$R/bin/sh"
# Files a container's uid may not own (the --uidmap runs) must still read.
chmod -R a+rX "$R"

# podman with a store of its own under $T: nothing of the machine's podman
# state is used or left behind.
#   --storage-driver vfs: no overlay mount needed.  --cgroup-manager
#   cgroupfs: no systemd.  --ulimit: podman asks for nofile 1048576 and
#   nproc 4194304 by default, which a root without CAP_SYS_RESOURCE (a CI
#   container) cannot set ("setrlimit RLIMIT_NOFILE: Operation not
#   permitted").
PODMAN=(podman --root "$T/ctr/root" --runroot "$T/ctr/runroot" --tmpdir "$T/ctr/tmp"
	--storage-driver vfs --cgroup-manager cgroupfs --events-backend none)
# NB. --rootfs is a flag, not an option: the first word after the options
# is the root directory, then the command; anything after it is the
# command's, so the directory goes last (just before the command).
RUN_OPTS=(--rm --network none --read-only --cap-drop all
	--security-opt no-new-privileges --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
# podman's default seccomp profile less keyctl, add_key and request_key
# (as Docker's default profile has it): see the keyring check below.
DEFAULT_PROFILE=/usr/share/containers/seccomp.json
if [ ! -r "$DEFAULT_PROFILE" ]; then
	skip "no $DEFAULT_PROFILE to derive a seccomp profile from"; exit 0
fi
jq '.syscalls[].names |= map(select(. != "keyctl" and . != "add_key" and . != "request_key"))' \
	"$DEFAULT_PROFILE" >"$T/no-keyctl.json"
KEYCTL_PROFILE=$T/no-keyctl.json
# crun refuses hybrid cgroup v1/v2 hosts ("cgroups in hybrid mode not
# supported"); runc runs there.  The first runtime that works is used.
RT=
for rt in crun runc; do
	command -v "$rt" >/dev/null || continue
	if "${PODMAN[@]}" --runtime "$rt" run "${RUN_OPTS[@]}" --rootfs "$R" /bin/sh -c true 2>"$T/probe.err"; then
		RT=$rt; break
	fi
	echo "podman --runtime $rt: $(grep -m1 . "$T/probe.err")" >>"$T/probe.all"
done
if [ -z "$RT" ]; then
	skip "podman cannot run a container here: $(cat "$T/probe.all" 2>/dev/null || echo 'no crun or runc')"
	exit 0
fi
PODMAN+=(--runtime "$RT")

# ctr SOCKET [podman run options] -- CMD...: the agent container, with a
# canary in podman's own environment.
ctr() {
	local s=$1 opts=(); shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
	SECRET_CANARY=should-not-pass "${PODMAN[@]}" run "${RUN_OPTS[@]}" \
		--security-opt seccomp="${PROFILE:-$KEYCTL_PROFILE}" \
		-v "$s:/run/writ/agent.sock" "${opts[@]}" --rootfs "$R" /bin/sh -c "$*"
}

start_writd || exit 1
approver_on
SOCK=$(new_session boxed)
OTHER=$(new_session other)

# --- what the agent gets ------------------------------------------------------

ctr "$SOCK" -- writ status >"$T/status" 2>"$T/status.err"
eq "writ status in the container finds the default socket (runtime $RT)" 0 "$?"
check "  ... and its session" grep -q 'session boxed' "$T/status"

# --- what it does not get -------------------------------------------------------

ctr "$SOCK" -- env >"$T/env"
check "no environment leaks in (no canary, no WRIT_RUNTIME_DIR)" \
	bash -c "! grep -qE 'SECRET_CANARY|WRIT_RUNTIME_DIR' '$T/env' && grep -q '^PATH=' '$T/env'"
# NB. each look prints its verdict: a container that fails to start must
# not pass for a refusal.
eq "the admin socket, writd's runtime dir and the other session's socket are not there" \
	absent "$(ctr "$SOCK" -- "test -e '$ADMIN' || test -e '$OTHER' || test -e '$T/run' || echo absent")"
# NB. find -type s trusts the directory entry, which for a bind-mounted
# socket is the placeholder file under it: each path is stat-ed instead.
eq "  ... the only socket in the container is the session's" "/run/writ/agent.sock" \
	"$(ctr "$SOCK" -- 'find / \( -path /proc -o -path /sys \) -prune -o \
		-exec sh -c '"'"'for f; do [ -S "$f" ] && echo "$f"; done'"'"' _ {} +' 2>"$T/find.err" |
		tr '\n' ' ' | sed 's/ $//')$(head -c 300 "$T/find.err")"
eq "the root is read-only (--read-only)" refused \
	"$(ctr "$SOCK" -- '{ echo evil >/bin/evil; } 2>/dev/null && echo written || echo refused')"
check "  ... nothing written to the host's directory" test ! -e "$R/bin/evil"
# writd (root here) keeps its keys in root's user keyring; a container
# root without a user namespace is the same uid in the same namespace, so
# it can link that keyring into its own session keyring and read every key
# (seen here with podman 4.3, whose default seccomp profile allows keyctl,
# even with --cap-drop all).  The profile without keyctl stops it (break:
# KEYCTL_PROFILE=$DEFAULT_PROFILE).
keyring_look() {
	echo "keyctl link @u @s 2>/dev/null && keyctl search @s keyring '$KEYRING' >/dev/null 2>&1 &&
		echo reached || echo refused"
}
eq "writd's keyring is not reachable from the container (no keyctl)" refused \
	"$(ctr "$SOCK" -- "$(keyring_look)")"

# --- a writ, approved on the host, in a session tied to the container --------
# The session is opened with --pid of the shell that then execs podman run:
# that process is the container's client, so writd closes the session (and
# revokes its writs) when the container ends, or when its client is killed.

R=$R bash -c 'S=$("$1/writctl" sessions new tied --pid $$) || exit 1; shift
	exec "$@" -v "$S:/run/writ/agent.sock" --rootfs "$R" /bin/sh -c "$0"' \
	'writ get jwt --scope aud=x --reason "from a container" --json' \
	"$BIN" env SECRET_CANARY=should-not-pass "${PODMAN[@]}" run "${RUN_OPTS[@]}" \
	--security-opt seccomp="$KEYCTL_PROFILE" \
	>"$T/get" 2>"$T/get.err" &
GET=$!
ID=$(pending_id)
eq "the request comes from the tied session" tied \
	"$(admin /v1/requests | jq -r '.requests[0].session.name // .requests[0].session')"
pid=$(admin /v1/requests | jq -r '.requests[0].caller.pid')
check "the prompt shows the caller's host pid ($pid)" test -d "/proc/$pid" -a "$pid" -gt 2
TSID=$(admin /v1/sessions | jq -r '.sessions[] | select(.name == "tied") | .id')
"$BIN/writctl" approve "$ID" >/dev/null
wait $GET
eq "writ get in the container succeeds after writctl approve" 0 "$?"
check "  ... and prints a JWT" \
	bash -c "jq -r .token '$T/get' | grep -qE '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\$'"
WID=$(jq -r '.id // empty' "$T/get")
session_gone() { ! admin /v1/sessions | jq -e --arg id "$TSID" 'any(.sessions[]; .id == $id)' >/dev/null; }
check "the tied session closes when the container has ended" wait_for session_gone
check "  ... and its writ $WID is revoked" \
	bash -c "[ -n '$WID' ] && ! $(declare -f admin has_writ); ! ADMIN='$ADMIN' has_writ '$WID'"
check "  ... as the audit log records" bash -c "curl -s --unix-socket '$ADMIN' \
	'http://writ/v1/audit?tail=100&session=$TSID' |
	jq -e --arg id '$WID' 'any(.records[]; .event == \"revoked\" and .writ == \$id)' >/dev/null"

approver_off
stop_writd

# --- writd as a dedicated user (nobody here) --------------------------------------
# A directory nobody can reach (the $T of this test is root's, 0700).
NB=$(mktemp -d /tmp/writ-ctr-nobody.XXXXXX); chmod 0755 "$NB"
NBPID=
trap '[ -n "$NBPID" ] && kill "$NBPID" 2>/dev/null; rm -rf "$NB" "$R"; cleanup' EXIT
cp "$BIN/writd" "$BIN/writd-minter" "$NB/"
mkdir "$NB/home"; chown nobody "$NB/home"
with_keyring '{}' >"$NB/cfg.json"; chmod 0644 "$NB/cfg.json"
setpriv --reuid=nobody --regid=nogroup --clear-groups env -i \
	"$NB/writd" --runtime-dir "$NB/home/run" --state-dir "$NB/home/state" \
	--config "$NB/cfg.json" --enterprise-policy "$NB/none" --policy "$NB/none" 2>"$T/nb.log" &
NBPID=$!
if ! wait_for test -S "$NB/home/run/admin.sock"; then
	fail "writd as nobody did not start: $(cat "$T/nb.log")"; exit 1
fi
W=$(id -u nobody)
NSOCK=$(WRIT_SERVER_UID=$W "$BIN/writctl" --runtime-dir "$NB/home/run" sessions new nb)

ctr "$NSOCK" -- writ status >/dev/null 2>"$T/nb1.err"
rc=$?
check "writd as uid $W: container root without capabilities cannot connect (exit $rc: $(head -1 "$T/nb1.err"))" \
	test $rc -eq 3
ctr "$NSOCK" --user "$W:$W" -- writ status >"$T/nb2" 2>"$T/nb2.err"
eq "  ... the agent run as writd's uid (--user $W) reaches it" 0 "$?"
ctr "$NSOCK" --uidmap "0:$W:1" --gidmap "0:$W:1" -- writ status >"$T/nb3" 2>"$T/nb3.err"
eq "  ... container root mapped to writd's uid (--uidmap 0:$W:1, as rootless podman) reaches it, no WRIT_SERVER_UID" \
	0 "$?$(head -1 "$T/nb3.err")"
# Keyrings are per user namespace: this container has its own, even with
# podman's default profile (keyctl allowed).  Without a user namespace the
# agent as writd's uid could reach writd's (break: drop --uidmap/--gidmap).
eq "  ... and cannot reach writd's keyring, keyctl allowed" refused \
	"$(PROFILE=$DEFAULT_PROFILE ctr "$NSOCK" --uidmap "0:$W:1" --gidmap "0:$W:1" -- "$(keyring_look)")"
# A container root that keeps CAP_DAC_OVERRIDE connects, and sees writd as
# uid W: not itself, not root.
ctr "$NSOCK" --cap-add DAC_OVERRIDE -- writ status >/dev/null 2>"$T/nb4.err"
rc=$?
check "  ... root with CAP_DAC_OVERRIDE: writ refuses a socket served by uid $W (exit $rc: $(head -1 "$T/nb4.err"))" \
	bash -c "[ $rc -ne 0 ] && grep -q 'belongs to uid $W' '$T/nb4.err'"
ctr "$NSOCK" --cap-add DAC_OVERRIDE -e WRIT_SERVER_UID="$W" -- writ status >/dev/null 2>"$T/nb5.err"
eq "  ... and accepts it with -e WRIT_SERVER_UID=$W" 0 "$?"
ctr "$NSOCK" --uidmap 0:100000:65536 --gidmap 0:100000:65536 -e WRIT_SERVER_UID=65534 \
	-- writ status >/dev/null 2>"$T/nb6.err"
rc=$?
check "  ... a container whose uids leave out writd's cannot connect, WRIT_SERVER_UID or not (exit $rc: $(head -1 "$T/nb6.err"))" \
	test $rc -eq 3
kill "$NBPID"; wait "$NBPID"; NBPID=
