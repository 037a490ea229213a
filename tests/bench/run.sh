#!/usr/bin/env bash
# run.sh - writ's benchmarks, measured side by side in one run (make bench).
# Numbers are for reading, never asserted (the machines are shared and
# noisy): each block prints its target beside the measured figure, and the
# script exits 0 whatever they are.
#
# BENCH_SECONDS (default 5) is each throughput point's length; BENCH_RUNS
# (default 200) the processes timed per one-shot command; BENCH_WRITS
# (default 10000) the long-lived writs the memory block issues.
set -u
BIN=${WRIT_BIN:?}
SECS=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-200}
NWRITS=${BENCH_WRITS:-10000}
T=$(mktemp -d /tmp/writ-bench.XXXXXX)
KEYRING=writ-bench-${T##*.}
WPID= RPID= APID=
trap 'kill $WPID $RPID $APID 2>/dev/null; wait 2>/dev/null
	git credential-cache --socket "$T/cache.sock" exit >/dev/null 2>&1
	keyctl unlink "%keyring:$KEYRING" @u >/dev/null 2>&1; rm -rf "$T"' EXIT

# ratio A B: A/B to two places, or "-" when B is 0 or missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# private PID: Private_Clean + Private_Dirty in kB (NB. a library page only
# this process maps counts as private too); dirty PID: Private_Dirty alone.
# Each sums over the pids given (writd is two processes: both are counted).
private() { for p; do cat "/proc/$p/smaps_rollup"; done |
	awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }'; }
dirty() { for p; do cat "/proc/$p/smaps_rollup"; done |
	awk '/^Private_Dirty:/ { s += $2 } END { print s + 0 }'; }
rss() { for p; do cat "/proc/$p/status"; done | awk '/^VmRSS:/ { s += $2 } END { print s + 0 }'; }
# point SOCKET CLIENTS SECONDS [COUNT]: "rate p50 p99 p99.9 ok% answers"
# from one load run of $BODY.
point() {
	"$BIN/load" "$1" "$2" "$3" "$BODY" ${4:+"$4"} 2>"$T/load.err" |
		sed -E 's/.*: ([0-9]+) requests\/s, ([0-9]+) answers, ([0-9.]+)% answered 201, p50 ([0-9.]+) ms, p99 ([0-9.]+) ms, p99.9 ([0-9.]+) ms/\1 \4 \5 \6 \3 \2/'
}

echo "== make bench, $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores," \
	"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"

printf '{"allow":[{"kind":"jwt","scope":{"aud":"bench"}}]}\n' >"$T/user.json"
chmod 0644 "$T/user.json"
printf '{"store":{"keyring":"%s"},"limits":{"max_session_connections":512,"max_connections":1024}}\n' \
	"$KEYRING" >"$T/cfg.json"
"$BIN/writd" --runtime-dir "$T/run" --state-dir "$T/state" --config "$T/cfg.json" \
	--enterprise-policy "$T/none" --policy "$T/user.json" 2>"$T/writd.log" &
WPID=$!
"$BIN/ref" "$T/ref.sock" 2>"$T/ref.log" &
RPID=$!
for _ in $(seq 100); do [ -S "$T/run/admin.sock" ] && [ -S "$T/ref.sock" ] && break; sleep 0.05; done
SOCK=$(WRIT_RUNTIME_DIR=$T/run "$BIN/writctl" sessions new bench) || {
	echo "writd did not start: $(cat "$T/writd.log" "$T/ref.log")"; exit 0; }
sleep 0.5

# Memory first, on the fresh writd; printed last.
# NB. its own pid from what it prints: $! may be a shell in between.
ssh-agent -D -a "$T/agent.sock" >"$T/agent.out" 2>&1 &
sleep 0.5
APID=$(sed -n 's/^echo Agent pid \([0-9]*\);$/\1/p' "$T/agent.out")
[ "$(cat "/proc/${APID:-0}/comm" 2>/dev/null)" = ssh-agent ] || {
	echo "ssh-agent did not start: $(cat "$T/agent.out")"; exit 0; }
# writd: the front end and its minter (writd-minter) together.
W="$WPID $(pgrep -P "$WPID" -x writd-minter)"
w_rss=$(rss $W) w_priv=$(private $W) w_dirty=$(dirty $W)
a_rss=$(rss $APID) a_priv=$(private $APID) a_dirty=$(dirty $APID)
kill $APID; wait $APID 2>/dev/null; APID=
BODY='{"kind":"jwt","scope":{"aud":"bench"},"ttl":"1h"}'
read -r _ _ _ _ okp nw < <(point "$SOCK" 8 60 "$NWRITS")
sleep 0.2
w_rss2=$(rss $W)

# One writ per process next, before the load leaves writs expiring; printed
# after the table.
printf 'protocol=https\nhost=example.com\nusername=u\npassword=p\n\n' |
	git credential-cache --socket "$T/cache.sock" --timeout 600 store
t0=$(date +%s%N)
for _ in $(seq "$RUNS"); do
	printf 'protocol=https\nhost=example.com\n\n' |
		git credential-cache --socket "$T/cache.sock" get >/dev/null
done
t1=$(date +%s%N)
for _ in $(seq "$RUNS"); do
	printf 'protocol=https\nhost=example.com\n\n' |
		git -c credential.helper= -c "credential.helper=cache --socket $T/cache.sock" \
		credential fill >/dev/null
done
t2=$(date +%s%N)
for _ in $(seq "$RUNS"); do
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=bench --ttl 60s >/dev/null
done
t3=$(date +%s%N)
cache=$(( (t1 - t0) / RUNS / 1000 )) fill=$(( (t2 - t1) / RUNS / 1000 )) writ=$(( (t3 - t2) / RUNS / 1000 ))

BODY='{"kind":"jwt","scope":{"aud":"bench"},"ttl":"60s"}'
echo
echo "== jwt writs on an allow rule, durable audit, vs the bare reference (tests/bench/ref.c:"
echo "   libmicrohttpd as writd sets it up, one Ed25519 signature a POST); ${SECS} s a point,"
echo "   load generator on the same cores; latency in ms"
printf '%8s | %9s %7s %7s %7s | %9s %7s %7s %7s | %6s\n' clients "writd/s" p50 p99 p99.9 \
	"ref/s" p50 p99 p99.9 ratio
for c in 1 8 64 256; do
	read -r wr w50 w99 w999 wok _ < <(point "$SOCK" $c "$SECS")
	[ "${wok:-0}" = 100.0 ] || echo "   (writd at $c clients: ${wok:-no}% answered 201: $(cat "$T/load.err"))"
	read -r rr r50 r99 r999 _ < <(point "$T/ref.sock" $c "$SECS")
	eval "w$c=\${wr:-0} w50_$c=\${w50:-0} w99_$c=\${w99:-0} r$c=\${rr:-0}"
	printf '%8s | %9s %7s %7s %7s | %9s %7s %7s %7s | %6s\n' $c "${wr:--}" "${w50:--}" \
		"${w99:--}" "${w999:--}" "${rr:--}" "${r50:--}" "${r99:--}" "${r999:--}" \
		"$(ratio "${wr:-0}" "${rr:-0}")"
done
echo "targets: >= 0.60x the reference at 64 clients (measured $(ratio "$w64" "$r64")x)," \
	"p99 <= 5 ms there (measured $w99_64), p50 <= 0.4 ms at 1 client (measured $w50_1)"

echo
echo "== one writ per process, wall time per call ($RUNS runs each)"
printf '%-44s %6s us\n' "git credential-cache get" "$cache" \
	"git credential fill (helper: cache)" "$fill" \
	"writ get jwt" "$writ"
echo "target: writ get <= 1.00x git credential-cache get (measured $(ratio $writ $cache)x)"
echo "   (git credential fill through git-credential-writ is not timed: the helper asks"
echo "   for github writs only, and those go to GitHub; the fake one in tests/fakes"
echo "   would be timed instead. The fill row is git's own share of such a call.)"

echo
echo "== memory: idle writd (both processes) vs an idle ssh-agent -D, then $NWRITS writs with a 1 h TTL"
printf '%-24s %10s %12s %14s\n' "" "RSS kB" "private kB" "of it dirty kB" \
	writd "$w_rss" "$w_priv" "$w_dirty" ssh-agent "$a_rss" "$a_priv" "$a_dirty" \
	"ratio writd/ssh-agent" "$(ratio "$w_rss" "$a_rss")" "$(ratio "$w_priv" "$a_priv")" \
	"$(ratio "$w_dirty" "$a_dirty")"
echo "target: private memory <= 2.00x ssh-agent (measured $(ratio "$w_priv" "$a_priv")x)"
echo "   (private: Private_Clean + Private_Dirty of smaps_rollup; a library page no other
   process maps counts as private; dirty is the process's own heap and data)"
live=$(awk -v n="${nw:-0}" -v p="${okp:-0}" 'BEGIN { printf "%.0f", n * p / 100 }')
echo "RSS after $live live writs: $w_rss2 kB, $(awk -v a="$w_rss" -v b="$w_rss2" -v n="$live" \
	'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1024 / n; else print "-" }') bytes per live writ"
exit 0
