#!/bin/sh
# gemm_bench.sh — the GEMM micro-benchmark: kernels/c/gemm.h on a 1024^3 fp32
# GEMM, built the way kiln builds modules for each --cpu (the same macros
# codegen emits), next to the measured single-core FMA peak.
#
#   sh bench/cpu/gemm_bench.sh [N] [REPEATS]
set -e
cd "$(dirname "$0")/../.."
n=${1:-1024}
reps=${2:-10}
out=build/bench
mkdir -p $out
CC=${CC:-cc}
if grep -q ' fma' /proc/cpuinfo 2>/dev/null; then
    $CC -O2 bench/cpu/peak.c -o $out/peak && $out/peak
fi
build() { # flags; $name set by build_as
    $CC -std=c99 -O3 -Wall -Wextra -Werror -pedantic "$@" bench/cpu/gemm_bench.c -o $out/gemm_bench_$name
    printf '%-8s ' "$name"
    $out/gemm_bench_$name "$n" "$reps"
}
build_as() { name=$1; shift; build "$@"; }
build_as generic -DKILN_VEC_BYTES=16 -DKILN_GEMM_MR=4 -DKILN_GEMM_NR=8
grep -q ' avx2' /proc/cpuinfo 2>/dev/null &&
    build_as avx2 -DKILN_VEC_BYTES=32 -DKILN_GEMM_MR=6 -DKILN_GEMM_NR=16 '-DKILN_TARGET_ISA="avx2,fma"'
grep -q ' avx512f' /proc/cpuinfo 2>/dev/null &&
    build_as avx512 -DKILN_VEC_BYTES=64 -DKILN_GEMM_MR=14 -DKILN_GEMM_NR=32 '-DKILN_TARGET_ISA="avx512f,fma"'
exit 0
