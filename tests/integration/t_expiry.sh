#!/usr/bin/env bash
# Writs leave at their expiry, in expiry order, whatever order they came in;
# the signing key stays usable across its idle closing.
. "$(dirname "$0")/lib.sh"

printf '{"allow":[{"kind":"jwt","scope":{"aud":"*"}}]}\n' >"$T/user.json"; chmod 0644 "$T/user.json"
start_writd || exit 1
SOCK=$(new_session exp)
# Times are whole seconds: a writ with expires_at E may go once the clock
# reads E, never before.  All are watched at once, each from now to its
# expiry: seen there while the clock still read before E (a writ never
# seen so proves nothing: it fails), never gone before E, gone after
# (within a hang guard).  TTLs of 2 s or more leave every writ a window.
n=0
for t in 5s 2s 60s 9s 2s; do
	n=$((n + 1))
	WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=t$t" --ttl "$t" --json >"$T/w$n.json"
done
W="1 2 4 5"	# not the 60s one
ids=() exps=() seen=() early=() last=0
for i in $W; do
	ids[i]=$(jq -r .id "$T/w$i.json") exps[i]=$(jq -r .expires_at "$T/w$i.json") seen[i]=0 early[i]=0
	[ "${exps[i]}" -gt $last ] && last=${exps[i]}
done
while :; do
	live=$(admin /v1/writs | jq -r '.writs[].id')
	now=$(date +%s)	# read after the list: what it shows was so before now
	left=0
	for i in $W; do
		if grep -qx "${ids[i]}" <<<"$live"; then
			left=1
			[ "$now" -lt "${exps[i]}" ] && seen[i]=1
		elif [ "$now" -lt "${exps[i]}" ]; then
			early[i]=1
		fi
	done
	[ $left = 0 ] || [ "$now" -ge $((last + 5)) ] && break
	sleep 0.1
done
for i in $W; do
	aud=$(jq -r .scope.aud "$T/w$i.json")
	if [ "${early[i]}" = 1 ]; then fail "the $aud writ was gone before its expiry (${exps[i]})"
	elif [ "${seen[i]}" = 0 ]; then fail "the $aud writ was never seen before its expiry (${exps[i]}): nothing shown"
	else pass "the $aud writ lives until its expiry"; fi
	check "  ... and is gone after it" bash -c "! grep -qx '${ids[i]}' <<<'$live'"
done
eq "only the 60s writ is left" "t60s" "$(admin /v1/writs | jq -r '[.writs[].scope.aud] | join(" ")')"
# In expiry order, whatever order they came in: the expired records.
for i in 1 2 4 5; do echo "$(jq -r .id "$T/w$i.json") $(jq -r .expires_at "$T/w$i.json")"; done >"$T/exp"
grep '"event":"expired"' "$T/state/audit.jsonl" | jq -r .writ |
	while read -r id; do grep "^$id " "$T/exp" | cut -d' ' -f2; done >"$T/order"
eq "expired records: four, in expiry order" "4 $(sort -n "$T/order" | tr '\n' ' ')" \
	"$(grep -c . "$T/order") $(tr '\n' ' ' <"$T/order")"
eq "  ... and the session counts one live writ" 1 "$(admin /v1/sessions | jq '.sessions[0].live')"
WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope aud=again >/dev/null
eq "the signing key works again after closing while idle" 0 "$?"

# writctl writs: list and revoke, one or a whole session's.
for i in 1 2 3; do WRIT_SOCKET=$SOCK "$BIN/writ" get jwt --scope "aud=w$i" >/dev/null; done
"$BIN/writctl" writs ls >"$T/wl"
eq "writctl writs ls lists every live writ (t60s, again, w1-w3)" 5 "$(wc -l <"$T/wl")"
check "  ... never a token" bash -c "! grep -q 'eyJ' '$T/wl'"
WID=$(head -1 "$T/wl" | cut -d' ' -f1)
"$BIN/writctl" writs revoke "$WID" >/dev/null
eq "writctl writs revoke ID" 4 "$(nwrits)"
"$BIN/writctl" writs revoke --session "$(sess "$SOCK" /v1/health | jq -r .session.id)" >"$T/out"
eq "writctl writs revoke --session" 0 "$(nwrits)"
check "  ... says how many" grep -q 'revoked 4 writs' "$T/out"
check "revocations are audited with why" bash -c "grep '\"event\":\"revoked\"' '$T/state/audit.jsonl' | grep -q 'revoked by the admin'"
check "expiries are audited" grep -q '"event":"expired"' "$T/state/audit.jsonl"

# A session tied to a process closes, revoking its writs, when it exits.
sleep 300 &
SLEEPER=$!
PSOCK=$("$BIN/writctl" sessions new tied --pid "$SLEEPER")
WRIT_SOCKET=$PSOCK "$BIN/writ" get jwt --scope aud=tied >/dev/null
eq "a writ of the tied session" 1 "$(nwrits)"
kill $SLEEPER; wait $SLEEPER 2>/dev/null
wait_for test ! -e "$PSOCK"
check "the process exits: the session's socket is gone" test ! -e "$PSOCK"
eq "  ... its writs are revoked" 0 "$(nwrits)"
check "  ... and that is audited" bash -c "grep -q 'its process exited' '$T/state/audit.jsonl'"
eq "a pid that does not exist is refused" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"x","pid":999999999}')"
eq "a pid of the wrong type is refused" 400 "$(status "$ADMIN" POST /v1/sessions '{"name":"x","pid":"1"}')"
