#!/usr/bin/env bash
# run.sh - run every integration test file and total the results.
#
# Prints one line per check, each file's wall time, the ten slowest files
# and, last, "N passed, N failed, N skipped".  The times are for reading
# only (where CI's minutes go), never checked.
# Exits non-zero when any check failed or a test file died.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export RESULTS
RESULTS=$(mktemp)
TIMES=$(mktemp)
status=0
for t in "$here"/t_*.sh; do
	name=$(basename "$t")
	echo "== $name"
	t0=${EPOCHREALTIME/,/.}
	if ! bash "$t"; then
		echo "  FAIL  $name exited non-zero"
		echo fail >>"$RESULTS"
	fi
	secs=$(awk -v a="$t0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')
	echo "  time  $name ${secs}s"
	echo "$secs $name" >>"$TIMES"
done
echo "integration: slowest files"
sort -rn "$TIMES" | head -10 | awk '{ printf "  %6.1fs  %s\n", $1, $2 }'
p=$(grep -c '^pass$' "$RESULTS")
f=$(grep -c '^fail$' "$RESULTS")
s=$(grep -c '^skip$' "$RESULTS")
rm -f "$RESULTS" "$TIMES"
echo "integration: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ] || status=1
exit $status
