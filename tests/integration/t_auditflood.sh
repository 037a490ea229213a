#!/usr/bin/env bash
# A flood of refused requests cannot fill the audit log (issue 14).  Each
# session has a budget of refusal records (broker/refusals.h: a burst of
# 32, then one per 2 s); the excess is counted, per key, in
# "requests_refused" records with "count" (written a minute after the
# oldest, and when the session ends).  Nothing is lost: every refused request is in
# exactly one record.  Bad input (malformed JSON, unknown kinds) is not
# audited at all.  Local Unix sockets and the real curl only.
. "$(dirname "$0")/lib.sh"

printf '{"deny":[{"id":"no-flood","kind":"jwt","scope":{"aud":"forbidden*"},"why":"a test deny"}]}\n' \
	>"$T/user.json"; chmod 0644 "$T/user.json"
start_writd || exit 1
LOG=$T/state/audit.jsonl
SOCK=$(new_session flood)
SID=$(sess "$SOCK" /v1/health | jq -r .session.id)
# flood SOCKET BODY N PAR OUT: N POSTs of BODY, PAR curls in parallel, each
# sending its share over one connection (URL globbing); statuses to OUT.
flood() {
	local per=$(($3 / $4)) i pids=()
	# NB. the fragment only numbers curl's requests and is never sent:
	# a query argument POST /v1/writs does not take is a 400.
	for i in $(seq 1 "$4"); do
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$1" -X POST \
			--data-binary "$2" "http://writ/v1/writs#[1-$per]" >>"$5.$i" &
		pids+=($!)
	done
	# NB. these only: a bare wait would wait for writd too.
	wait "${pids[@]}"
	cat "$5".* >"$5"
}
# refusals SESSION: the refused requests its records account for -- its
# own "request" records with decision D plus the counts of its
# requests_refused records with decision D.
refusals() {
	jq -s --arg s "$1" --arg d "$2" '[.[] | select(.session == $s and .decision == $d) |
		if .event == "requests_refused" then .count elif .event == "request" then 1 else 0 end] | add // 0' "$LOG"
}
# counted_is SESSION DECISION N, for wait_for.  NB. a record is appended
# before its answer (or the session's end) is given, but written by the
# log's commit thread, which a loaded machine may run a little after it.
counted_is() { [ "$(refusals "$1" "$2")" = "$3" ]; }

# 4000 policy-denied requests, 8 clients at once, while the admin socket is asked.
N=4000
BUDGET=262144	# bytes: a full record is ~600; 4000 of them would be ~2.4 MB
before=$(stat -c %s "$LOG")
flood "$SOCK" '{"kind":"jwt","scope":{"aud":"forbidden.example"},"reason":"flood"}' $N 8 "$T/codes" &
F=$!
ok=0
while kill -0 "$F" 2>/dev/null; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$ADMIN" http://writ/v1/health)" = 200 ] &&
		ok=$((ok + 1))
	sleep 0.2
done
wait "$F"
eq "every one of $N denied requests got 403" "$N" "$(grep -c '^403$' "$T/codes")"
check "  ... and the admin socket answered meanwhile ($ok health checks)" test "$ok" -ge 1
eq "  ... writd answers after it" 200 "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ADMIN" http://writ/v1/health)"
grown=$(( $(stat -c %s "$LOG") - before ))
check "the log grew by $grown bytes, within the budget of $BUDGET" test "$grown" -le "$BUDGET"
full=$(jq -s --arg s "$SID" '[.[] | select(.event == "request" and .session == $s)] | length' "$LOG")
check "  ... $full full records: the burst and a few more, not $N" test "$full" -lt 200
# Counts are written when the session ends.
"$BIN/writctl" sessions rm "$SID" >/dev/null
check "closed: records and counts account for every refused request exactly ($N)" \
	wait_for counted_is "$SID" deny "$N"
eq "  ... counted under the rule that refused them" "no-flood policy_denied" \
	"$(jq -r --arg s "$SID" 'select(.event == "requests_refused" and .session == $s) | "\(.rule) \(.error)"' "$LOG" | sort -u)"

# Requests the approval queue refuses (no approver: approval_unavailable)
# are bounded the same way.
S2=$(new_session asks)
SID2=$(sess "$S2" /v1/health | jq -r .session.id)
before=$(stat -c %s "$LOG")
flood "$S2" '{"kind":"jwt","scope":{"aud":"asked.example"}}' 1000 4 "$T/codes2"
eq "1000 asks without an approver: 403 each" 1000 "$(grep -c '^403$' "$T/codes2")"
grown=$(( $(stat -c %s "$LOG") - before ))
check "  ... the log grew by $grown bytes, within the budget" test "$grown" -le "$BUDGET"
"$BIN/writctl" sessions rm "$SID2" >/dev/null
check "  ... every one accounted for (1000)" wait_for counted_is "$SID2" ask 1000
eq "  ... counted as approval_unavailable" approval_unavailable \
	"$(jq -r --arg s "$SID2" 'select(.event == "requests_refused" and .session == $s) | .error' "$LOG" | sort -u)"

# Bad input is refused and not audited at all.
S3=$(new_session bad)
before=$(stat -c %s "$LOG")
flood "$S3" '{"kind":"jwt","scope":' 500 2 "$T/codes3"
flood "$S3" '{"kind":"nope","scope":{}}' 500 2 "$T/codes4"
eq "1000 bad requests: 400 each" 1000 "$(cat "$T/codes3" "$T/codes4" | grep -c '^400$')"
eq "  ... and not one byte of audit" "$before" "$(stat -c %s "$LOG")"

# Counts still waiting when writd stops are written as it closes the session.
S4=$(new_session stopped)
SID4=$(sess "$S4" /v1/health | jq -r .session.id)
flood "$S4" '{"kind":"jwt","scope":{"aud":"forbidden.again"}}' 500 2 "$T/codes5"

# A restart is fine: the chain verifies and writd serves.
stop_writd
eq "writd stops cleanly after the floods" 0 "$?"
eq "  ... the open session's 500 refusals all accounted for at the stop" 500 "$(refusals "$SID4" deny)"
start_writd || exit 1
"$BIN/writctl" audit verify >"$T/v"
eq "after a restart the audit chain verifies" 0 "$?"
eq "  ... and writd serves" 200 "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ADMIN" http://writ/v1/health)"

# A flood that stops, from a session that stays open: the reaper writes
# its counts within a minute (WRIT_REFUSALS_FLUSH_EVERY), no later
# refusal or session end needed.  Waits up to 80 s (a hang guard).
S5=$(new_session quiet)
SID5=$(sess "$S5" /v1/health | jq -r .session.id)
flood "$S5" '{"kind":"jwt","scope":{"aud":"forbidden.quiet"}}' 100 2 "$T/codes6"
check "100 denied, then silence: 32 records at once" wait_for counted_is "$SID5" deny 32
WAIT_SECS=80 wait_for counted_is "$SID5" deny 100
eq "  ... the other 68 counted within the minute, the session still open" 100 "$(refusals "$SID5" deny)"
stop_writd
