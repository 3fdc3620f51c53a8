#!/bin/sh
# tests/device/run.sh — the CUDA target's checks on a GPU machine, apart from
# ninja test (CI has no GPU). Builds nothing kiln-side: run it where
# build/kiln exists (built elsewhere and carried, or built here). Without a
# GPU it prints "skipped: no GPU" and exits 0.
#
#   tests/device/run.sh [api] [conformance] [bench]    (default: all three)
#
# Results and logs go to $OUT (default /tmp/kiln-device). FILTER=REGEX limits
# the conformance step to the matching tests.
set -u
OUT=${OUT:-/tmp/kiln-device}
KILN=${KILN:-build/kiln}
mkdir -p "$OUT"
if ! nvidia-smi -L >/dev/null 2>&1; then
    echo "skipped: no GPU"
    exit 0
fi
steps=${*:-api conformance bench}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
export NVCC
nvidia-smi -L
"$NVCC" --version | tail -1
[ -x "$KILN" ] || { echo "run.sh: $KILN is missing: build kiln (ninja) and carry build/kiln" >&2; exit 1; }
PY=python3
status=0
work=$(mktemp -d /tmp/kiln-device-XXXXXX)

for step in $steps; do case $step in
api)
    # bad use gets clear errors; graphs, debug sync, profiler, two threads
    echo "== api: tests/device/api_test.cu around examples/mlp.py"
    $PY examples/mlp.py "$work/mlp.onnx" >/dev/null &&
    "$KILN" compile "$work/mlp.onnx" -o "$work/mlp" --name mlp --target cuda &&
    cp rtlib/kiln_rt.c rtlib/cuda/kiln_rt_cuda.cu "$work/mlp/" &&
    "$NVCC" -arch=sm_90 -std=c++17 -O2 -w -I"$work/mlp" tests/device/api_test.cu "$work/mlp/mlp.cu" \
        "$work/mlp/kiln_rt_cuda.cu" "$work/mlp/kiln_rt.c" -lcublas -lcudnn -o "$work/api_test" &&
    "$work/api_test" 2>&1 | tee "$OUT/api.log" || status=1
    # a module for another compute capability is refused with a clear message
    "$KILN" run "$work/mlp.onnx" --target cuda --cuda-arch 80 --bench 1 2>&1 | tee -a "$OUT/api.log" |
        grep -q "built for compute capability 8.0" && echo "ok: --cuda-arch 80 module refused on this GPU" | tee -a "$OUT/api.log" ||
        { echo "FAILED: --cuda-arch 80 module not refused clearly" | tee -a "$OUT/api.log"; status=1; }
    # kiln run --target cuda --bench, with the per-node profile
    "$KILN" run "$work/mlp.onnx" --target cuda --bench 200 --profile --output-dir "$work" 2>&1 | tee -a "$OUT/api.log"
    ;;
conformance)
    DATA=/usr/share/libonnx-testdata/data
    if [ ! -d "$DATA" ] && [ -f .testdata/onnx-testdata.tgz ]; then
        mkdir -p "$work/td" && tar xzf .testdata/onnx-testdata.tgz -C "$work/td" && DATA="$work/td/data"
    fi
    echo "== conformance --target cuda over $DATA"
    PYTHONUNBUFFERED=1 $PY tests/conformance.py --kiln "$KILN" --data "$DATA" -j "${JOBS:-$(nproc)}" --timeout 240 \
        --extra-args "--target cuda" --list-failures -v ${FILTER:+--filter "$FILTER"} >"$OUT/conformance.log" 2>&1
    tail -40 "$OUT/conformance.log"
    ;;
bench)
    if [ -f bench/gpu/run.py ]; then
        echo "== bench/gpu/run.py"
        PYTHONUNBUFFERED=1 $PY bench/gpu/run.py --kiln "$KILN" --out "$OUT" 2>&1 | tee "$OUT/bench.log" || status=1
    fi
    ;;
*) echo "run.sh: unknown step '$step'" >&2; exit 2 ;;
esac; done
rm -rf "$work"
exit $status
