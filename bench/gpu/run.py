#!/usr/bin/env python3
"""bench/gpu/run.py — kiln's CUDA target against PyTorch on the GPU machine.

Exports ResNet-50, MobileNetV2 (torchvision) and BERT-base (transformers,
sequence 128) with seeded random weights through torch.onnx, compiles each
with `kiln run --target cuda`, checks the output against PyTorch (relative
L2 error, fp32 with TF32 off) and times kiln (CUDA events, with and without
CUDA graphs) against PyTorch eager and torch.compile in the same run, at
batch 1 and a large batch. Prints a Markdown table (also to OUT/RESULTS.md).

    python3 bench/gpu/run.py --kiln build/kiln --out DIR [--models resnet50,...]
"""
import argparse, os, re, subprocess, sys, tempfile, time

import numpy as np
import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")


def make(name, batch):
    torch.manual_seed(0)
    if name == "resnet50":
        import torchvision
        m = torchvision.models.resnet50(weights=None)
        x = (torch.randn(batch, 3, 224, 224),)
    elif name == "mobilenet_v2":
        import torchvision
        m = torchvision.models.mobilenet_v2(weights=None)
        x = (torch.randn(batch, 3, 224, 224),)
    else:
        from transformers import BertConfig, BertModel
        class Bert(torch.nn.Module):  # positional inputs, one tensor out
            def __init__(self):
                super().__init__()
                self.bert = BertModel(BertConfig(attn_implementation="eager"))

            def forward(self, input_ids, attention_mask):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        m = Bert()
        g = torch.Generator().manual_seed(1)
        x = (torch.randint(0, 30522, (batch, 128), generator=g), torch.ones(batch, 128, dtype=torch.int64))
    return m.eval(), x


def time_torch(fn, x, iters):
    s0, s1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    with torch.no_grad():
        for i in range(10 + iters):
            s0.record()
            fn(*x)
            s1.record()
            s1.synchronize()
            if i >= 10:
                t.append(s0.elapsed_time(s1))
    return float(np.median(t))


def first_output(y):
    if isinstance(y, (tuple, list)):
        return y[0]
    if hasattr(y, "last_hidden_state"):
        return y.last_hidden_state
    return y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--out", default=".")
    ap.add_argument("--models", default="resnet50,mobilenet_v2,bert")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    a = ap.parse_args()
    rows = []
    work = tempfile.mkdtemp(prefix="kiln-bench-")
    for name in a.models.split(","):
        for batch in [int(b) for b in a.batches.split(",")]:
            if name == "bert" and batch > 1:
                batch = 16
            try:
                row = bench_one(a, work, name, batch)
            except Exception as e:  # one model's failure must not lose the others
                print(f"{name} b{batch}: failed: {type(e).__name__}: {str(e)[:500]}", flush=True)
                row = (name, batch, "failed", "", "", "", "", "")
            rows.append(row)
            write_table(a, rows)
    print("\n".join(write_table(a, rows)))


def write_table(a, rows):
    gpu = torch.cuda.get_device_name()
    table = [f"GPU: {gpu}; torch {torch.__version__}; fp32, TF32 off; median GPU ms per inference "
             f"(CUDA events, {a.iters} runs after 10 warm-up, host-device copies excluded)", "",
             "| model | batch | rel L2 vs torch | kiln ms | kiln ms (CUDA graph) | torch eager ms | torch.compile ms | eager / kiln |",
             "|---|---|---|---|---|---|---|---|"]
    table += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    with open(os.path.join(a.out, "RESULTS.md"), "w") as f:
        f.write("\n".join(table) + "\n")
    return table


def export(name, batch, path):
    """The model, its inputs and their names, exported to path with torch.onnx."""
    m, x = make(name, batch)
    names = ["input"] if len(x) == 1 else ["input_ids", "attention_mask"]
    torch.onnx.export(m, x, path, input_names=names, output_names=["output"], opset_version=17, dynamo=False)
    return m, x, names


def bench_one(a, work, name, batch):
    path = os.path.join(work, f"{name}_{batch}.onnx")
    t0 = time.time()
    m, x, names = export(name, batch, path)
    exp_s = time.time() - t0
    args = []
    for n, t in zip(names, x):
        f = os.path.join(work, f"{name}_{batch}_{n}.npy")
        np.save(f, t.numpy())
        args += ["--input", f"{n}={f}"]
    od = os.path.join(work, f"out_{name}_{batch}")
    t0 = time.time()
    r = subprocess.run([a.kiln, "run", path, "--target", "cuda", "--bench", str(a.iters), "--output-dir", od] + args,
                       capture_output=True, text=True, timeout=300)
    kiln_s = time.time() - t0
    if r.returncode != 0:
        print(f"{name} b{batch}: kiln failed ({r.returncode}): {r.stderr[-1500:]}", flush=True)
        return (name, batch, "kiln failed", "", "", "", "", "")
    med = re.findall(r"gpu time \(ms, (stream|cuda graph).*?median ([0-9.]+)", r.stdout)
    ks = dict(med)
    mc = m.cuda()
    xc = tuple(t.cuda() for t in x)
    with torch.no_grad():
        ref = first_output(mc(*xc)).float().cpu().numpy()
    got = np.load(os.path.join(od, "output_0.npy"))
    err = float(np.linalg.norm(got.astype(np.float64) - ref) / max(np.linalg.norm(ref), 1e-30))
    eager = time_torch(mc, xc, a.iters)
    comp = float("nan")
    if not a.no_compile:
        try:
            cm = torch.compile(mc)
            with torch.no_grad():
                cm(*xc)
            comp = time_torch(cm, xc, a.iters)
        except Exception as e:  # report, keep going
            print(f"{name} b{batch}: torch.compile failed: {e}", flush=True)
    k = float(ks.get("stream", "nan"))
    kg = float(ks.get("cuda graph", "nan"))
    best = min(k, kg)
    row = (name, batch, f"{err:.2e}", f"{k:.3f}", f"{kg:.3f}", f"{eager:.3f}", f"{comp:.3f}",
           f"{eager / best:.2f}x")
    print(f"{name} b{batch}: rel L2 {err:.2e}  kiln {k:.3f} ms (graph {kg:.3f})  eager {eager:.3f}  "
          f"compile {comp:.3f}  (export {exp_s:.0f}s, kiln build+run {kiln_s:.0f}s)", flush=True)
    del mc
    torch.cuda.empty_cache()
    return row


if __name__ == "__main__":
    main()
