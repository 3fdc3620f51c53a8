#!/usr/bin/python3
"""End-to-end check of the graph-cleanup passes (eliminate-noops, simplify,
cse, fold-batchnorm) on ONNX models built here with onnx.helper.

Each model runs through `kiln run` at -O0 (every node its own kernel: the
reference) and at -O2 on the same inputs; the outputs must agree (rtol 1e-5
of the largest value: folding a BatchNormalization into weights rounds
differently) and -O2's IR must no longer hold the ops the passes remove.
Prints one line per model and exits 1 on any failure.

    /usr/bin/python3 tests/passes/rewrites_run.py [--kiln build/kiln]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

F = T.FLOAT
rng = np.random.default_rng(0)


def init(name, a):
    return nh.from_array(np.asarray(a), name)


def vi(name, shape, t=F):
    return h.make_tensor_value_info(name, t, shape)


def model(nodes, inputs, outputs, inits=()):
    g = h.make_graph(nodes, "m", inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


def noops():
    return model([
        h.make_node("Identity", ["x"], ["a"]),
        h.make_node("Dropout", ["a"], ["b"]),
        h.make_node("Cast", ["b"], ["c"], to=F),
        h.make_node("Reshape", ["c", "shp"], ["d"]),
        h.make_node("Transpose", ["d"], ["e"], perm=[2, 0, 1]),
        h.make_node("Transpose", ["e"], ["f"], perm=[1, 2, 0]),
        h.make_node("Pad", ["f", "pads"], ["p"]),
        h.make_node("Slice", ["p", "st", "en"], ["s"]),
        h.make_node("Expand", ["s", "eshp"], ["ex"]),
        h.make_node("Concat", ["ex"], ["cc"], axis=0),
        h.make_node("Unsqueeze", ["cc", "ax0"], ["u"]),
        h.make_node("Flatten", ["u"], ["fl"], axis=2),
        h.make_node("Reshape", ["fl", "shp"], ["y0"]),
        h.make_node("Relu", ["y0"], ["y"]),
        h.make_node("Identity", ["y"], ["z"]),
    ], [vi("x", [2, 3, 4])], [vi("z", [2, 3, 4])],
        [init("shp", np.array([2, 3, 4], np.int64)), init("pads", np.zeros(6, np.int64)),
         init("st", np.array([0, 0], np.int64)), init("en", np.array([2, 100], np.int64)),
         init("eshp", np.array([3, 1], np.int64)), init("ax0", np.array([0], np.int64))])


def simplify():
    return model([
        h.make_node("Mul", ["x", "one"], ["a"]),
        h.make_node("Add", ["a", "zero"], ["b"]),
        h.make_node("Add", ["b", "zerobig"], ["c"]),  # broadcasts: stays
        h.make_node("Sub", ["zero", "c"], ["d"]),
        h.make_node("Neg", ["d"], ["e"]),
        h.make_node("Reshape", ["e", "s1"], ["r1"]),
        h.make_node("Flatten", ["r1"], ["r2"], axis=1),
        h.make_node("Transpose", ["r2"], ["t1"], perm=[1, 0]),
        h.make_node("Unsqueeze", ["t1", "ax0"], ["t2"]),
        h.make_node("Transpose", ["t2"], ["t3"], perm=[1, 0, 2]),
        h.make_node("Transpose", ["t3"], ["t4"], perm=[2, 1, 0]),
        h.make_node("Cast", ["t4"], ["c1"], to=T.DOUBLE),
        h.make_node("Cast", ["c1"], ["y"], to=F),
    ], [vi("x", [3, 4])], [vi("y", [2, 1, 12])],
        [init("one", np.float32(1)), init("zero", np.zeros([1], np.float32)),
         init("zerobig", np.zeros([2, 3, 4], np.float32)), init("s1", np.array([2, 12], np.int64)),
         init("ax0", np.array([0], np.int64))])


def cse():
    return model([
        h.make_node("Relu", ["x"], ["a"]), h.make_node("Relu", ["x"], ["b"]),
        h.make_node("Add", ["a", "c1"], ["p"]), h.make_node("Add", ["c2", "b"], ["q"]),
        h.make_node("Mul", ["p", "q"], ["m"]),
        h.make_node("Softmax", ["m"], ["s1"], axis=1), h.make_node("Softmax", ["m"], ["s2"], axis=0),
        h.make_node("Softmax", ["m"], ["s3"], axis=1),
        h.make_node("Sum", ["s1", "s2", "s3"], ["y"]),
        h.make_node("Relu", ["x"], ["z"]),
    ], [vi("x", [3, 4])], [vi("y", [3, 4]), vi("z", [3, 4])],
        [init("c1", np.full([4], 0.5, np.float32)), init("c2", np.full([4], 0.5, np.float32))])


def batchnorm():
    def stats(p, c):
        return [init(p + "s", rng.uniform(0.5, 2, c).astype(np.float32)),
                init(p + "b", rng.normal(size=c).astype(np.float32)),
                init(p + "m", rng.normal(size=c).astype(np.float32)),
                init(p + "v", rng.uniform(0.5, 2, c).astype(np.float32))]

    def bn(x, y, p):
        return h.make_node("BatchNormalization", [x, p + "s", p + "b", p + "m", p + "v"], [y], epsilon=1e-3)

    def w(name, shape):
        return init(name, rng.normal(size=shape).astype(np.float32))

    return model([
        h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]), bn("c1", "n1", "p1"),
        h.make_node("Conv", ["n1", "w2"], ["c2"], group=2), bn("c2", "n2", "p2"),
        h.make_node("ConvTranspose", ["n2", "w3"], ["c3"], group=2, strides=[2, 2]), bn("c3", "n3", "p3"),
        h.make_node("Flatten", ["n3"], ["fl"]),
        h.make_node("Gemm", ["fl", "w4", "b4"], ["g4"], transB=1, beta=0.5), bn("g4", "n4", "p4"),
        h.make_node("MatMul", ["n4", "w5"], ["m5"]), bn("m5", "n5", "p5"),
        h.make_node("Conv", ["x", "w1"], ["c6"]), bn("c6", "n6", "p1"), h.make_node("Relu", ["c6"], ["r6"]),
    ], [vi("x", [2, 3, 6, 6])], [vi("n5", [2, 5]), vi("n6", [2, 4, 4, 4]), vi("r6", [2, 4, 4, 4])],
        [w("w1", [4, 3, 3, 3]), w("b1", [4]), w("w2", [4, 2, 1, 1]), w("w3", [4, 3, 2, 2]),
         w("w4", [7, 6 * 12 * 12]), w("b4", [1, 7]), w("w5", [7, 5])]
        + stats("p1", 4) + stats("p2", 4) + stats("p3", 6) + stats("p4", 7) + stats("p5", 5))


# model, ops -O2 must have removed, how many BatchNormalization nodes stay
CASES = [
    ("noops", noops, ["Identity", "Dropout", "Cast", "Transpose", "Pad", "Slice", "Expand", "Concat", "Flatten"], 0),
    ("simplify", simplify, ["Mul", "Sub", "Neg", "Cast", "Flatten", "Unsqueeze"], 0),
    ("cse", cse, [], 0),
    ("batchnorm", batchnorm, ["MatMul"], 1),
]


def run(kiln, path, inputs, outdir, *args):
    cmd = [kiln, "run", path, "--output-dir", outdir] + [x for k, v in inputs for x in ("--input", f"{k}={v}")] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r.stderr


def check(kiln, tmp, name, make, removed, bn_left):
    m = make()
    path = os.path.join(tmp, name + ".onnx")
    onnx.save(m, path)
    inputs = []
    for v in m.graph.input:
        shape = [d.dim_value for d in v.type.tensor_type.shape.dim]
        f = os.path.join(tmp, f"{name}.{v.name}.npy")
        np.save(f, np.random.default_rng(1).normal(size=shape).astype(np.float32))
        inputs.append((v.name, f))
    ref, opt = os.path.join(tmp, name + ".O0"), os.path.join(tmp, name + ".O2")
    os.makedirs(ref)
    os.makedirs(opt)
    run(kiln, path, inputs, ref, "-O0")
    ir = run(kiln, path, inputs, opt, "-O2", "--dump-ir", "--verify-each")
    ops = [m.group(1) for line in ir.splitlines() for m in [re.search(r"= ([A-Za-z_]\w*)\(", line)]
           if m and not line.lstrip().startswith(("const", "input", "#"))]
    errors = [f"-O2 left {op}" for op in removed if op in ops]
    if ops.count("BatchNormalization") != bn_left:
        errors.append(f"-O2 left {ops.count('BatchNormalization')} BatchNormalization, expected {bn_left}")
    if name == "cse" and (ops.count("Relu"), ops.count("Softmax")) != (1, 2):
        errors.append(f"-O2 left {ops.count('Relu')} Relu and {ops.count('Softmax')} Softmax, expected 1 and 2")
    for k in range(len(m.graph.output)):
        a = np.load(os.path.join(ref, f"output_{k}.npy"))
        b = np.load(os.path.join(opt, f"output_{k}.npy"))
        if a.shape != b.shape:
            errors.append(f"output {k}: shape {b.shape}, expected {a.shape}")
            continue
        err = float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(a))))
        if err > 1e-5:
            errors.append(f"output {k}: relative error {err:.3g}")
    print(f"{name}: {'ok' if not errors else 'FAILED: ' + '; '.join(errors)} ({len(ops)} nodes at -O2)")
    return not errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "kiln"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ok = all([check(a.kiln, tmp, *c) for c in CASES])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
