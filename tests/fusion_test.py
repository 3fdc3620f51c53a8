#!/usr/bin/python3
"""fusion_test.py — the fusion passes compute what the unfused graph does.

1. Each tests/passes/fuse_*.kir and layout_*.kir is run through `kiln run`
   twice, with its RUN-PASSES (the rewritten graph, through the generated code) and with -O0
   (the plain kernels the conformance suite checks), on the same inputs.
2. Small ONNX models of each pattern, built here with onnx.helper, are run
   at -O2 and compared with NumPy.
3. With --models, the ResNet-50 and BERT of bench/models/models.py (--small
   sizes) at -O2 against -O0.

    /usr/bin/python3 tests/fusion_test.py --kiln build/kiln [--models]
"""
import argparse, glob, math, os, re, subprocess, sys, tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ERF = np.vectorize(math.erf)


def kiln_run(kiln, model, inputs, tmp, *opts):
    out = tempfile.mkdtemp(dir=tmp)
    args = [kiln, "run", model, "--output-dir", out, *opts]
    for name, arr in inputs.items():
        path = os.path.join(out, name + ".npy")
        np.save(path, arr)
        args += ["--input", f"{name}={path}"]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    outs, k = [], 0
    while os.path.exists(os.path.join(out, f"output_{k}.npy")):
        outs.append(np.load(os.path.join(out, f"output_{k}.npy")))
        k += 1
    return outs


def kir_inputs(path, rng):
    """Random values for the `input NAME: TYPE[DIMS]` lines of a .kir file."""
    types = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}
    out = {}
    for m in re.finditer(r"^\s*input (\w+): (\w+)\[([0-9, ]*)\]", open(path).read(), re.M):
        shape = [int(d) for d in m.group(3).split(",") if d.strip()]
        out[m.group(1)] = (rng.standard_normal(shape) * 3).astype(types[m.group(2)])
    return out


def close(a, b, rtol=1e-4, atol=1e-5):
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)


# ---- ONNX models of each pattern, with NumPy references ----------------------

def model(nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
                          [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def conv2d(x, w, b, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    y = np.zeros((n, m, h - kh + 1, wd - kw + 1), np.float64)
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,mc->nmhw", x[:, :, i:i + y.shape[2], j:j + y.shape[3]], w[:, :, i, j])
    return y + b[None, :, None, None]


def cases(rng):
    r = lambda *s: rng.standard_normal(s).astype(np.float32)
    x, res, w, b = r(1, 3, 8, 8), r(1, 4, 8, 8), r(4, 3, 3, 3), r(4)
    yield ("conv + bias + residual + relu",
           model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                  helper.make_node("Add", ["c", "r"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
                 [("x", x.shape), ("r", res.shape)], ["y"], {"w": w, "b": b}),
           {"x": x, "r": res}, np.maximum(conv2d(x, w, b, 1) + res, 0))
    a, wm, bm = r(2, 5, 8), r(8, 16), r(16)
    h = a @ wm + bm
    yield ("matmul + bias + gelu (erf, written out)",
           model([helper.make_node("MatMul", ["a", "w"], ["m"]), helper.make_node("Add", ["bias", "m"], ["h"]),
                  helper.make_node("Div", ["h", "r2"], ["q"]), helper.make_node("Erf", ["q"], ["e"]),
                  helper.make_node("Add", ["e", "one"], ["p"]), helper.make_node("Mul", ["h", "p"], ["t"]),
                  helper.make_node("Mul", ["t", "half"], ["y"])],
                 [("a", a.shape)], ["y"], {"w": wm, "bias": bm, "r2": np.sqrt(2), "one": 1, "half": 0.5}),
           {"a": a}, 0.5 * h * (1 + ERF(h / np.sqrt(2))))
    yield ("gemm + leaky relu",
           model([helper.make_node("Gemm", ["a2", "w", "bias"], ["m"], alpha=0.5),
                  helper.make_node("LeakyRelu", ["m"], ["y"], alpha=0.1)],
                 [("a2", (5, 8))], ["y"], {"w": wm, "bias": bm}),
           {"a2": a[0]}, np.where(0.5 * a[0] @ wm + bm < 0, 0.1, 1) * (0.5 * a[0] @ wm + bm))
    x3, g, be = r(2, 5, 16), r(16), r(16)
    mu = x3.mean(-1, keepdims=True)
    ln = (x3 - mu) / np.sqrt(((x3 - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * g + be
    yield ("layernorm (written out) + tanh gelu (written out)",
           model([helper.make_node("ReduceMean", ["x"], ["mu"], axes=[-1]), helper.make_node("Sub", ["x", "mu"], ["d"]),
                  helper.make_node("Pow", ["d", "two"], ["sq"]), helper.make_node("ReduceMean", ["sq"], ["v"], axes=[-1]),
                  helper.make_node("Add", ["v", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["sd"]),
                  helper.make_node("Div", ["d", "sd"], ["n"]), helper.make_node("Mul", ["n", "g"], ["ng"]),
                  helper.make_node("Add", ["ng", "be"], ["l"]),
                  helper.make_node("Pow", ["l", "three"], ["l3"]), helper.make_node("Mul", ["k", "l3"], ["kl"]),
                  helper.make_node("Add", ["l", "kl"], ["in"]), helper.make_node("Mul", ["c", "in"], ["ci"]),
                  helper.make_node("Tanh", ["ci"], ["t"]), helper.make_node("Add", ["one", "t"], ["p"]),
                  helper.make_node("Mul", ["half", "l"], ["hl"]), helper.make_node("Mul", ["hl", "p"], ["y"])],
                 [("x", x3.shape)], ["y"], {"two": 2, "eps": 1e-5, "g": g, "be": be, "three": 3, "k": 0.044715,
                                             "c": np.sqrt(2 / np.pi), "one": 1, "half": 0.5}),
           {"x": x3}, 0.5 * ln * (1 + np.tanh(np.sqrt(2 / np.pi) * (ln + 0.044715 * ln ** 3))))
    q, k, v = r(1, 2, 6, 4), r(1, 2, 6, 4), r(1, 2, 6, 3)
    mask = np.where(rng.random((1, 1, 1, 6)) < 0.3, -1e4, 0).astype(np.float32)
    s = q @ k.transpose(0, 1, 3, 2) / 2 + mask
    p = np.exp(s - s.max(-1, keepdims=True))
    yield ("attention with mask",
           model([helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
                  helper.make_node("MatMul", ["q", "kt"], ["s"]), helper.make_node("Div", ["s", "two"], ["sc"]),
                  helper.make_node("Add", ["sc", "mask"], ["sm"]), helper.make_node("Softmax", ["sm"], ["p"], axis=-1),
                  helper.make_node("MatMul", ["p", "v"], ["y"])],
                 [("q", q.shape), ("k", k.shape), ("v", v.shape), ("mask", mask.shape)], ["y"], {"two": 2}),
           {"q": q, "k": k, "v": v, "mask": mask}, (p / p.sum(-1, keepdims=True)) @ v)
    e1, e2 = r(3, 1, 5), r(4, 5)
    yield ("elementwise chain with broadcasting",
           model([helper.make_node("Mul", ["e1", "e2"], ["m"]), helper.make_node("Sigmoid", ["m"], ["s"]),
                  helper.make_node("Sub", ["s", "e2"], ["d"]), helper.make_node("Abs", ["d"], ["a"]),
                  helper.make_node("Sqrt", ["a"], ["y"])],
                 [("e1", e1.shape), ("e2", e2.shape)], ["y"], {}),
           {"e1": e1, "e2": e2}, np.sqrt(np.abs(1 / (1 + np.exp(-(e1 * e2))) - e2)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--models", action="store_true", help="also ResNet-50 and BERT (small) at -O2 against -O0")
    a = ap.parse_args()
    kiln = os.path.abspath(a.kiln)
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in sorted(glob.glob(os.path.join(HERE, "passes", "fuse_*.kir")) +
                        glob.glob(os.path.join(HERE, "passes", "layout_*.kir"))):
            passes = [l.split(":", 1)[1].strip() for l in open(f) if "RUN-PASSES:" in l][0]
            inputs = kir_inputs(f, np.random.default_rng(5))
            fused = kiln_run(kiln, f, inputs, tmp, "--passes", passes + ",plan-memory")
            plain = kiln_run(kiln, f, inputs, tmp, "-O0")
            ok = len(fused) == len(plain) and all(close(x, y) for x, y in zip(fused, plain))
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(f)}: fused == -O0")
        for name, m, inputs, want in cases(np.random.default_rng(7)):
            path = os.path.join(tmp, "m.onnx")
            onnx.save(m, path)
            got = kiln_run(kiln, path, inputs, tmp, "-O2")[0]
            ok = close(got, want.astype(np.float32), rtol=1e-3, atol=1e-4)
            fails += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name}: -O2 == numpy (max error {np.abs(got - want).max():.2g})")
        if a.models:
            sys.path.insert(0, os.path.join(HERE, "..", "bench", "models"))
            import models
            rng = np.random.default_rng(3)
            ids = rng.integers(0, 1000, (1, 32)).astype(np.int64)
            mask = np.ones((1, 32), np.int64)
            mask[0, 24:] = 0
            for name, m, inputs in [("resnet50", models.resnet50(True), {"input": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}),
                                    ("bert", models.bert(True), {"input_ids": ids, "attention_mask": mask})]:
                path = os.path.join(tmp, name + ".onnx")
                onnx.save(m, path)
                o2, o0 = kiln_run(kiln, path, inputs, tmp, "-O2")[0], kiln_run(kiln, path, inputs, tmp, "-O0")[0]
                err = np.linalg.norm(o2 - o0) / np.linalg.norm(o0)
                ok = err < 1e-5
                fails += not ok
                print(f"{'ok  ' if ok else 'FAIL'} {name} (small): -O2 == -O0 (relative L2 error {err:.2g})")
    print(f"fusion: {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
