#!/bin/sh
# Runs every test binary of the build tree $B: the unit tests first, then
# the integration tests, each under a time limit, and ends with one line
# "tests: N passed, N failed, N skipped" summed from cmocka's own counts.
# A binary that crashes or times out counts as one failure.
set -u
B=${B:-build}
LIMIT=${TEST_TIMEOUT:-600}
export SOCKS64_BUILD="$B"
export SOCKS64_SRC="$(pwd)"
export CMOCKA_MESSAGE_OUTPUT=stdout
passed=0; failed=0; skipped=0; broken=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() {	# count LABEL: the N of cmocka's "[  LABEL ] N test(s)." line
	sed -n "s/^\[ *$1 *\] \([0-9][0-9]*\) test.*/\1/p" "$log" | head -n 1
}

for t in "$B"/tests/test_* "$B"/tests/it_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	echo "=== $name"
	timeout -k 10 "$LIMIT" "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(count PASSED); f=$(count FAILED); s=$(count SKIPPED)
	passed=$((passed + ${p:-0})); skipped=$((skipped + ${s:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		failed=$((failed + 1))
		broken="$broken $name(exit $rc)"
	elif [ "$rc" -ne 0 ]; then
		broken="$broken $name"
	fi
done
[ -n "$broken" ] && echo "failing:$broken"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ -z "$broken" ]
