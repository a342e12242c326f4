#!/bin/sh
# Runs one libFuzzer target for a bounded time: `make fuzz` calls it once
# per tests/fuzz/fuzz_X.c. Usage: run.sh BINARY NAME SECONDS OUTDIR
#
# The seeds in tests/fuzz/corpus/NAME/ are read but never written: what
# the run finds goes to OUTDIR/corpus/NAME/ (kept between runs), a crash
# to OUTDIR/crash-NAME-*. libFuzzer's chatter goes to OUTDIR/NAME.log;
# the last lines are shown on failure, the final stats line otherwise.
set -u
bin=$1 name=$2 seconds=$3 out=$4
seeds=tests/fuzz/corpus/$name
dict=tests/fuzz/$name.dict
log=$out/$name.log

mkdir -p "$out/corpus/$name"
set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/crash-$name-"
[ -f "$dict" ] && set -- "$@" -dict="$dict"
# A bound of our own as well: libFuzzer stops only between inputs.
if timeout -k 10 $((seconds + 60)) "$bin" "$@" "$out/corpus/$name" \
    "$seeds" >"$log" 2>&1; then
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	echo "fuzz $name: ok, ${execs:-?} inputs in ${seconds}s"
	exit 0
fi
tail -n 40 "$log"
echo "fuzz $name: FAILED (log $log; input kept as $out/crash-$name-*)"
exit 1
