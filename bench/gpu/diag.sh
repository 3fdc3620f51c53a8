#!/bin/sh
# bench/gpu/diag.sh — one device call: localise the batch-1 CNN error
# (bench/gpu/diag.py) and profile BERT / ResNet-50 per node.
export PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/kiln-diag}
nvidia-smi -L
timeout 200 python3 bench/gpu/diag.py --kiln build/kiln --model mobilenet_v2 --batch 1 2>&1 | grep -v Warning | tee $OUT/diag.log
python3 - <<'PY' 2>&1 | grep -v Warning | tee $OUT/prof.log
import os, subprocess, sys, tempfile, numpy as np, torch
sys.path.insert(0, "bench/gpu")
from run import make
w = tempfile.mkdtemp()
for name, batch in [("bert", 16), ("resnet50", 32)]:
    m, x = make(name, batch)
    names = ["input"] if len(x) == 1 else ["input_ids", "attention_mask"]
    p = f"{w}/{name}.onnx"
    torch.onnx.export(m, x, p, input_names=names, output_names=["output"], opset_version=17, dynamo=False)
    args = []
    for n, t in zip(names, x):
        np.save(f"{w}/{n}.npy", t.numpy()); args += ["--input", f"{n}={w}/{n}.npy"]
    r = subprocess.run(["build/kiln", "run", p, "--target", "cuda", "--bench", "20", "--profile", "--output-dir", w] + args,
                       capture_output=True, text=True, timeout=300)
    print(name, batch, r.returncode, r.stderr[-500:])
    lines = r.stdout.splitlines()
    print("\n".join(l for l in lines if "median" in l or "total" in l))
    node = [l for l in lines if l.startswith("  ") and "%" in l]
    node.sort(key=lambda l: -float(l.split()[2]))
    print("\n".join(node[:14]))
PY
