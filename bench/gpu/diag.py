#!/usr/bin/env python3
"""bench/gpu/diag.py — localise a wrong CUDA output: export a torchvision
model, make chosen intermediates extra graph outputs, run it through
`kiln run --target cuda` and `--target c` (and PyTorch for the final output),
and print the relative L2 error of every output, per pipeline level.

    python3 bench/gpu/diag.py --kiln build/kiln --model mobilenet_v2 --batch 1
"""
import argparse, os, subprocess, sys, tempfile

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(__file__))
from run import make, first_output  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def rel(a, b):
    return float(np.linalg.norm(a.astype(np.float64) - b) / max(np.linalg.norm(b.astype(np.float64)), 1e-30))


def kiln(a, path, inp, od, target, extra):
    r = subprocess.run([a.kiln, "run", path, "--target", target, "--output-dir", od, "--input", f"input={inp}"] + extra,
                       capture_output=True, text=True, timeout=600)
    if r.returncode:
        print(f"  kiln {target} {extra} failed: {r.stderr[-800:]}")
        return None
    return [np.load(os.path.join(od, f)) for f in sorted(os.listdir(od), key=lambda s: int(s[7:-4]))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="kiln-diag-")
    m, x = make(a.model, a.batch)
    path = os.path.join(work, "m.onnx")
    torch.onnx.export(m, x, path, input_names=["input"], output_names=["output"], opset_version=17, dynamo=False)
    with torch.no_grad():
        ref = first_output(m(*x)).numpy()
    g = onnx.shape_inference.infer_shapes(onnx.load(path))
    ops = [n.op_type for n in g.graph.node]
    print(f"{a.model} b{a.batch}: {len(ops)} nodes; tail: {ops[-6:]}")
    vi = {v.name: v for v in g.graph.value_info}
    convs = [n.output[0] for n in g.graph.node if n.op_type == "Conv"]
    picks = [convs[0], convs[1], convs[len(convs) // 4], convs[len(convs) // 2], convs[-1]]
    picks += [n.output[0] for n in g.graph.node[-4:-1] if n.output[0] in vi]
    names = []
    for p in picks:
        if p in vi and p not in names:
            names.append(p)
            g.graph.output.append(vi[p])
    dpath = os.path.join(work, "d.onnx")
    onnx.save(g, dpath)
    inp = os.path.join(work, "in.npy")
    np.save(inp, x[0].numpy())
    labels = ["output"] + names
    c = kiln(a, dpath, inp, os.path.join(work, "c"), "c", [])
    for extra in [[], ["-O0"]]:
        for env in [{}, {"KILN_CUDA_DEBUG_SYNC": "1"}]:
            os.environ.pop("KILN_CUDA_DEBUG_SYNC", None)
            os.environ.update(env)
            od = os.path.join(work, f"cu{len(extra)}{len(env)}")
            g2 = kiln(a, dpath, inp, od, "cuda", extra)
            if g2 is None:
                continue
            print(f"  cuda {extra} {env}: out vs torch {rel(g2[0], ref):.2e}  |out| {np.abs(g2[0]).max():.3g}")
            for k, lab in enumerate(labels):
                if c is not None:
                    print(f"    {lab[:40]:40s} {str(g2[k].shape):22s} cuda vs c {rel(g2[k], c[k]):.2e}  max|cuda| {np.abs(g2[k]).max():.3g}")
    if c is not None:
        print(f"  c: out vs torch {rel(c[0], ref):.2e}")
    os.environ.pop("KILN_CUDA_DEBUG_SYNC", None)


if __name__ == "__main__":
    main()
