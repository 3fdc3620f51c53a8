#!/bin/sh
# bench/gpu/profile.sh — one device call: where kiln's and PyTorch eager's GPU
# time goes at the large batches (bench/gpu/kiln_profile.py --torch).
export PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/kiln-prof}
nvidia-smi -L
timeout 500 python3 bench/gpu/kiln_profile.py --torch --kiln build/kiln ${*:-resnet50:32 mobilenet_v2:32 bert:16} 2>&1 |
    grep -v Warning | tee $OUT/prof.log
