#!/usr/bin/env bash
# run.sh - writ's benchmarks, measured side by side in one run (make bench).
# Numbers are for reading, never asserted: the machines are shared and noisy.
set -u
BIN=${WRIT_BIN:?}
T=$(mktemp -d /tmp/writ-bench.XXXXXX)
KEYRING=writ-bench-${T##*.}
trap 'kill $WPID $CPID 2>/dev/null; wait 2>/dev/null; keyctl unlink "%keyring:$KEYRING" @u >/dev/null 2>&1; rm -rf "$T"' EXIT

printf '{"allow":[{"kind":"jwt","scope":{"aud":"bench"}}]}\n' >"$T/user.json"
chmod 0644 "$T/user.json"
printf '{"store":{"keyring":"%s"},"limits":{"max_session_connections":512,"max_connections":1024}}\n' \
	"$KEYRING" >"$T/cfg.json"
"$BIN/writd" --runtime-dir "$T/run" --state-dir "$T/state" --config "$T/cfg.json" \
	--enterprise-policy "$T/none" --policy "$T/user.json" 2>"$T/writd.log" &
WPID=$!
for _ in $(seq 100); do [ -S "$T/run/admin.sock" ] && break; sleep 0.05; done
SOCK=$(WRIT_RUNTIME_DIR=$T/run "$BIN/writctl" sessions new bench)
sleep 0.3
idle_rss=$(awk '/VmRSS/ {print $2}' /proc/$WPID/status)
idle_anon=$(awk '/RssAnon/ {print $2}' /proc/$WPID/status)
BODY='{"kind":"jwt","scope":{"aud":"bench"},"ttl":"60s"}'

echo "== jwt writs on the allow path (load generator on the same machine)"
for c in 1 64 256; do
	"$BIN/load" "$SOCK" "$c" 5 "$BODY" || echo "load failed at $c clients"
done

echo "== one writ per process: writ get vs git credential-cache get (200 runs each)"
git credential-cache --socket "$T/cache.sock" exit >/dev/null 2>&1
printf 'protocol=https\nhost=example.com\nusername=u\npassword=p\n\n' |
	git credential-cache --socket "$T/cache.sock" --timeout 600 store
t0=$(date +%s%N)
for _ in $(seq 200); do
	printf 'protocol=https\nhost=example.com\n\n' |
		git credential-cache --socket "$T/cache.sock" get >/dev/null
done
t1=$(date +%s%N)
for _ in $(seq 200); do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=bench --ttl 60s >/dev/null
done
t2=$(date +%s%N)
cache=$(( (t1 - t0) / 200000 )); writ=$(( (t2 - t1) / 200000 ))
echo "git credential-cache get: ${cache} us; writ get jwt: ${writ} us; ratio writ/cache $(awk "BEGIN{printf \"%.2f\", $writ/$cache}")"
git credential-cache --socket "$T/cache.sock" exit >/dev/null 2>&1

echo "== memory: writd (idle at start, and after the load) vs an idle ssh-agent"
eval "$(ssh-agent -s)" >/dev/null
CPID=$SSH_AGENT_PID
sleep 0.5
w=$(awk '/VmRSS/ {print $2}' /proc/$WPID/status)
a=$(awk '/VmRSS/ {print $2}' /proc/$CPID/status); aa=$(awk '/RssAnon/ {print $2}' /proc/$CPID/status)
echo "idle RSS: writd ${idle_rss} kB, ssh-agent ${a} kB (ratio $(awk "BEGIN{printf \"%.1f\", $idle_rss/$a}"));" \
	"private (anon): writd ${idle_anon} kB, ssh-agent ${aa} kB (ratio $(awk "BEGIN{printf \"%.1f\", $idle_anon/$aa}"))"
echo "writd RSS after the load: ${w} kB"
kill $CPID
