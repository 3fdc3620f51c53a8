#!/bin/sh
# bench/gpu/diag.sh — one device call: localise the batch-1 CNN error
# (bench/gpu/diag.py), then where the time goes (bench/gpu/kiln_profile.py).
export PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/kiln-diag}
nvidia-smi -L
timeout 200 python3 bench/gpu/diag.py --kiln build/kiln --model mobilenet_v2 --batch 1 2>&1 | grep -v Warning | tee $OUT/diag.log
timeout 200 python3 bench/gpu/kiln_profile.py --kiln build/kiln resnet50:32 bert:16 2>&1 | grep -v Warning | tee $OUT/prof.log
