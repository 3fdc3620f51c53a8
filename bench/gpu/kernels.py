#!/usr/bin/env python3
"""bench/gpu/kernels.py — the GPU time of every kernel one inference of a
kiln CUDA module launches, next to PyTorch eager's, both recorded by CUPTI
(torch.profiler) in one process: the module is built as a shared library
and called through ctypes on torch's tensors. Unlike `kiln run --profile`
(events around each node), launch gaps do not count.

    python3 bench/gpu/kernels.py --kiln build/kiln bert:16 resnet50:32
"""
import argparse, ctypes, os, subprocess, sys, tempfile

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import export  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def table(fn, title, rows=14):
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    ev = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA or
          getattr(e, "self_device_time_total", 0) > 0]
    tot = sum(getattr(e, "self_device_time_total", 0) for e in ev)
    print(f"  {title}: {tot / 1000:.3f} ms of kernels")
    ev.sort(key=lambda e: -getattr(e, "self_device_time_total", 0))
    for e in ev[:rows]:
        t = getattr(e, "self_device_time_total", 0)
        print(f"    {t / 1000:8.3f} ms {e.count:4d}x  {e.key[:90]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("cases", nargs="+", help="MODEL:BATCH")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    w = tempfile.mkdtemp(prefix="kiln-kernels-")
    for case in a.cases:
        name, batch = case.split(":")
        p = os.path.join(w, f"{name}.onnx")
        m, x, _ = export(name, int(batch), p)
        d = os.path.join(w, name)
        subprocess.run([a.kiln, "compile", p, "--target", "cuda", "-o", d, "--name", "model"], check=True)
        lib = os.path.join(d, "libmodel.so")
        subprocess.run(["nvcc", "-shared", "-Xcompiler", "-fPIC", "-arch=sm_90", "-O2", "-w", "-std=c++17", "-I", d,
                        os.path.join(d, "model.cu"), os.path.join(ROOT, "rtlib/cuda/kiln_rt_cuda.cu"),
                        os.path.join(ROOT, "rtlib/kiln_rt.c"), "-I", os.path.join(ROOT, "rtlib"),
                        "-o", lib, "-lcublas", "-lcudnn"], check=True)
        so = ctypes.CDLL(lib)
        ctx = ctypes.c_void_p()
        assert so.model_create(0, None, None, ctypes.byref(ctx)) == 0, "model_create failed"
        mc = m.cuda()
        xc = [t.cuda().contiguous() for t in x]
        with torch.no_grad():
            ref = mc(*xc)
        ref = ref[0] if isinstance(ref, (tuple, list)) else getattr(ref, "last_hidden_state", ref)
        y = torch.empty_like(ref)
        ins = (ctypes.c_void_p * len(xc))(*[t.data_ptr() for t in xc])
        outs = (ctypes.c_void_p * 1)(y.data_ptr())
        run = lambda: so.model_run(ctx, ins, outs)
        for _ in range(3):
            assert run() == 0, "model_run failed"
        err = float((y - ref).double().norm() / ref.double().norm())
        print(f"== {case}: rel L2 {err:.2e}")
        table(run, "kiln")
        with torch.no_grad():
            table(lambda: mc(*xc), "torch eager")
        so.model_destroy(ctx)
        del mc


if __name__ == "__main__":
    main()
