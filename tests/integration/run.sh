#!/usr/bin/env bash
# run.sh - run every integration test file and total the results.
#
# Prints one line per check and, last, "N passed, N failed, N skipped".
# Exits non-zero when any check failed or a test file died.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export RESULTS
RESULTS=$(mktemp)
status=0
for t in "$here"/t_*.sh; do
	echo "== $(basename "$t")"
	if ! bash "$t"; then
		echo "  FAIL  $(basename "$t") exited non-zero"
		echo fail >>"$RESULTS"
	fi
done
p=$(grep -c '^pass$' "$RESULTS")
f=$(grep -c '^fail$' "$RESULTS")
s=$(grep -c '^skip$' "$RESULTS")
rm -f "$RESULTS"
echo "integration: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ] || status=1
exit $status
