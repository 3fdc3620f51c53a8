#!/bin/sh
# run.sh — run the libFuzzer harnesses for a while each.
#
#   tests/fuzz/run.sh [SECONDS] [onnx|npy|kir ...]      (default: 600 s, all)
#
# Needs the sanitizer build (./configure --sanitize; this script builds the
# fuzzers with ninja -f build-san/build.ninja fuzzers). Seeds come from
# tests/fuzz/make_corpus.py (made on first use); inputs the fuzzers find go to
# build-san/fuzz/work/T, crashes to build-san/fuzz/crashes/T/. A crash is
# fixed, then its input is kept in tests/fuzz/regressions/T/, which ninja test
# replays. PARALLEL=1 runs the harnesses at once instead of one after another.
# Prints, per harness: executions, corpus size, coverage (edges, features).
set -e
cd "$(dirname "$0")/../.."
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-onnx npy kir}
out=build-san/fuzz

[ -f build-san/build.ninja ] || { echo "run.sh: run ./configure --sanitize first" >&2; exit 2; }
ninja -f build-san/build.ninja fuzzers build-san/kiln >/dev/null
[ -d $out/corpus/onnx ] || /usr/bin/python3 tests/fuzz/make_corpus.py --kiln build-san/kiln --out $out/corpus

run_one() {
    t=$1
    mkdir -p $out/work/$t $out/crashes/$t
    extra=""
    [ $t = kir ] && extra="-dict=tests/fuzz/kir.dict"
    [ -d tests/fuzz/regressions/$t ] && extra="$extra tests/fuzz/regressions/$t"
    # -timeout: generous, the machine may be shared; slow-unit- files are not crashes
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    $out/fuzz_$t $out/work/$t $out/corpus/$t $extra \
        -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 -max_len=131072 \
        -artifact_prefix=$out/crashes/$t/ -print_final_stats=1 >$out/$t.log 2>&1 || true
}

summary() {
    t=$1
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' $out/$t.log | tail -1)
    last=$(grep -E '^#[0-9]+' $out/$t.log | grep -E 'cov:' | tail -1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
    crashes=$(ls $out/crashes/$t | grep -cv "^slow-unit-" || true)
    echo "fuzz_$t: ${secs}s, ${execs:-?} executions, corpus ${corp:-?}, coverage ${cov:-?} edges ${ft:-?} features, $crashes crash files (log: $out/$t.log)"
}

if [ "${PARALLEL:-0}" = 1 ]; then
    for t in $targets; do run_one $t & done
    wait
else
    for t in $targets; do run_one $t; done
fi
for t in $targets; do summary $t; done
