#!/usr/bin/env python3
"""bench/gpu/kiln_profile.py — where kiln's CUDA time goes: export a model as
bench/gpu/run.py does, run `kiln run --target cuda --profile`, print the
GPU time per op type and the slowest nodes.

    python3 bench/gpu/kiln_profile.py --kiln build/kiln resnet50:32 bert:16
"""
import argparse, collections, os, subprocess, sys, tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import make  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--torch", action="store_true", help="also profile PyTorch eager's CUDA kernels")
    ap.add_argument("cases", nargs="+", help="MODEL:BATCH")
    a = ap.parse_args()
    w = tempfile.mkdtemp(prefix="kiln-prof-")
    for case in a.cases:
        name, batch = case.split(":")
        m, x = make(name, int(batch))
        names = ["input"] if len(x) == 1 else ["input_ids", "attention_mask"]
        p = os.path.join(w, f"{name}.onnx")
        torch.onnx.export(m, x, p, input_names=names, output_names=["output"], opset_version=17, dynamo=False)
        args = []
        for n, t in zip(names, x):
            np.save(os.path.join(w, f"{n}.npy"), t.numpy())
            args += ["--input", f"{n}={w}/{n}.npy"]
        r = subprocess.run([a.kiln, "run", p, "--target", "cuda", "--bench", "20", "--profile", "--output-dir", w] + args,
                           capture_output=True, text=True, timeout=300)
        print(f"== {case}: exit {r.returncode} {r.stderr[-300:]}")
        lines = r.stdout.splitlines()
        print("\n".join(l for l in lines if "median" in l or "total" in l))
        nodes = [l.split() for l in lines if l.startswith("  ") and "%" in l]
        by_op = collections.Counter()
        count = collections.Counter()
        for f in nodes:
            by_op[f[1]] += float(f[2])
            count[f[1]] += 1
        for op, t in by_op.most_common(8):
            print(f"  {op:16s} {count[op]:4d} nodes {t:8.3f} ms")
        nodes.sort(key=lambda f: -float(f[2]))
        for f in nodes[:12]:
            print("   ", " ".join(f[1:3]), " ".join(f[4:])[:90])
        if a.torch:
            profile_torch(m, x)


def profile_torch(m, x):
    """PyTorch eager's GPU time per CUDA kernel, for one inference."""
    from torch.profiler import ProfilerActivity, profile
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    mc, xc = m.cuda(), tuple(t.cuda() for t in x)
    with torch.no_grad():
        for _ in range(5):
            mc(*xc)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            mc(*xc)
            torch.cuda.synchronize()
    print("  torch eager kernels:")
    for key in ("self_device_time_total", "self_cuda_time_total"):
        try:
            print(prof.key_averages().table(sort_by=key, row_limit=18, max_name_column_width=70))
            break
        except Exception:  # the key's name changed across torch versions
            continue
    del mc
    torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
