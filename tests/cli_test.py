"""End-to-end checks of the kiln command and the modules it writes.

    /usr/bin/python3 tests/cli_test.py [--kiln build/kiln]

Each check builds its models with onnx.helper, runs build/kiln, and compares
with numpy or with the exit code and message the README promises.
Prints one line per failed check and ends with "N passed, N failed".
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    if not ok:
        print(f"FAIL {name}: {detail}")


def kiln(*args):
    p = subprocess.run([KILN, *map(str, args)], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def save(model, path):
    onnx.save(model, path)
    return path


def conv_net():
    """conv -> relu -> maxpool -> conv (grouped, strided) -> global pool -> flatten -> gemm."""
    rng = np.random.default_rng(7)
    w = lambda *s: numpy_helper.from_array(rng.standard_normal(s).astype(np.float32) * 0.3)
    inits = []
    for name, arr in [("w1", w(8, 3, 3, 3)), ("b1", w(8)), ("w2", w(8, 2, 3, 3)), ("b2", w(8)),
                      ("wf", w(5, 8)), ("bf", w(5))]:
        arr.name = name
        inits.append(arr)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", group=4, strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "convnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def numpy_conv_net(model, x):
    p = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    def conv(x, w, b, pad, stride, group):
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        n, c, h, wd = x.shape
        m, cg, kh, kw = w.shape
        oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
        out = np.zeros((n, m, oh, ow), np.float32)
        for o in range(m):
            g = o // (m // group)
            xs = x[:, g * cg:(g + 1) * cg]
            for i in range(oh):
                for j in range(ow):
                    patch = xs[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + b[o]
        return out

    h = np.maximum(conv(x, p["w1"], p["b1"], 1, 1, 1), 0)
    h = h.reshape(2, 8, 8, 2, 8, 2).max(axis=(3, 5))
    h = conv(h, p["w2"], p["b2"], 1, 2, 4)
    h = h.mean(axis=(2, 3))
    return h @ p["wf"].T + p["bf"]


def test_module_is_strict_c99(tmp):
    model = conv_net()
    path = save(model, f"{tmp}/convnet.onnx")
    rc, _, err = kiln("compile", path, "-o", f"{tmp}/out", "--name", "convnet", "-MD", "-MF", f"{tmp}/out/convnet.d")
    check("compile conv net", rc == 0, err)
    if rc:
        return
    src = open(f"{tmp}/out/convnet.c").read()
    for word in ("malloc", "free", "printf", "calloc", "realloc", "pthread"):
        check(f"module has no {word}", not re.search(rf"\b{word}\b", src), "found in convnet.c")
    cc = os.environ.get("CC", "cc")
    p = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", f"{tmp}/out/convnet.c",
                        "-o", f"{tmp}/convnet.o"], capture_output=True, text=True)
    check("module compiles with -std=c99 -Wall -Wextra -Werror -pedantic", p.returncode == 0, p.stderr[:2000])
    dep = open(f"{tmp}/out/convnet.d").read()
    check("depfile names the model", path in dep and "convnet.c" in dep, dep)
    rc2, _, _ = kiln("compile", path, "-o", f"{tmp}/out2", "--name", "convnet")
    check("output is deterministic", rc2 == 0 and open(f"{tmp}/out2/convnet.c").read() == src)
    # Run it and compare with a numpy reference written independently.
    x = np.random.default_rng(3).standard_normal((2, 3, 16, 16)).astype(np.float32)
    np.save(f"{tmp}/x.npy", x)
    rc, _, err = kiln("run", path, "--input", f"x={tmp}/x.npy", "--output-dir", f"{tmp}/res")
    check("run conv net", rc == 0, err)
    if rc == 0:
        got, want = np.load(f"{tmp}/res/output_0.npy"), numpy_conv_net(model, x)
        check("conv net matches numpy", got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-4),
              f"max err {np.abs(got - want).max() if got.shape == want.shape else got.shape}")
    # The runtime library carries its version symbol.
    nm = subprocess.run(["nm", f"{ROOT}/build/libkiln_rt.a"], capture_output=True, text=True).stdout
    check("libkiln_rt.a exports kiln_rt_version_0_1_0", "kiln_rt_version_0_1_0" in nm)


def test_bad_inputs(tmp):
    rc, _, err = kiln("compile", f"{tmp}/missing.onnx", "-o", tmp)
    check("missing model: exit 1", rc == 1 and "missing.onnx" in err, (rc, err))
    rc, _, err = kiln("compile", "--frobnicate")
    check("unknown option: exit 2", rc == 2, (rc, err))
    rc, _, err = kiln("bogus")
    check("unknown command: exit 2", rc == 2, (rc, err))
    good = conv_net().SerializeToString()
    for cut in (1, 7, len(good) // 3, len(good) - 5):
        path = f"{tmp}/trunc{cut}.onnx"
        open(path, "wb").write(good[:cut])
        rc, _, err = kiln("compile", path, "-o", f"{tmp}/t")
        check(f"truncated model ({cut} bytes): exit 1", rc == 1 and "error" in err, (rc, err))
    node = helper.make_node("FancyOp", ["x"], ["y"], name="weird")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = save(helper.make_model(graph), f"{tmp}/unknown.onnx")
    rc, _, err = kiln("compile", path, "-o", f"{tmp}/u")
    check("unknown op: exit 1, 'unsupported', names the node", rc == 1 and "unsupported" in err and "weird" in err, (rc, err))
    node = helper.make_node("Relu", ["x", "x"], ["y"], name="tworelu")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = save(helper.make_model(graph), f"{tmp}/arity.onnx")
    rc, _, err = kiln("compile", path, "-o", f"{tmp}/a")
    check("wrong input count: exit 1 naming the node", rc == 1 and "tworelu" in err, (rc, err))
    # An initializer whose data does not match its shape.
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], float_data=[1.0, 2.0])
    node = helper.make_node("Add", ["x", "w"], ["y"], name="add")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [t])
    path = save(helper.make_model(graph), f"{tmp}/short.onnx")
    rc, _, err = kiln("compile", path, "-o", f"{tmp}/s")
    check("weights with too few values: exit 1", rc == 1 and "'w'" in err, (rc, err))
    # kiln run with an input of the wrong shape.
    path = save(conv_net(), f"{tmp}/convnet2.onnx")
    np.save(f"{tmp}/bad.npy", np.zeros((1, 3, 16, 16), np.float32))
    rc, _, err = kiln("run", path, "--input", f"x={tmp}/bad.npy", "--output-dir", f"{tmp}/r")
    check("run with wrong input shape: exit 1", rc == 1 and "x" in err, (rc, err))


def test_external_data_and_bench(tmp):
    """Weights in a file beside the model are read; paths leaving the folder are refused."""
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    os.makedirs(f"{tmp}/ext", exist_ok=True)
    open(f"{tmp}/ext/weights.bin", "wb").write(b"\0" * 8 + w.tobytes())

    def model(location):
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3],
                        data_location=TensorProto.EXTERNAL)
        for k, v in (("location", location), ("offset", "8"), ("length", str(w.nbytes))):
            t.external_data.add(key=k, value=v)
        node = helper.make_node("Add", ["x", "w"], ["y"], name="add")
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [t])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])

    path = save(model("weights.bin"), f"{tmp}/ext/model.onnx")
    x = np.full((2, 3), 0.5, np.float32)
    np.save(f"{tmp}/ext/x.npy", x)
    rc, out, err = kiln("run", path, "--input", f"{tmp}/ext/x.npy", "--output-dir", f"{tmp}/ext/res", "--bench", "20")
    check("external data: run", rc == 0, err)
    if rc == 0:
        check("external data: values", np.array_equal(np.load(f"{tmp}/ext/res/output_0.npy"), x + w))
        check("--bench prints percentiles and throughput", "median" in out and "inferences/s" in out, out)
    path = save(model("../weights.bin"), f"{tmp}/ext/escape.onnx")
    rc, _, err = kiln("compile", path, "-o", f"{tmp}/ext/o")
    check("external data outside the model's folder: exit 1", rc == 1 and "leaves the model's folder" in err, (rc, err))


def main():
    global KILN
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    KILN = os.path.abspath(ap.parse_args().kiln)
    with tempfile.TemporaryDirectory() as tmp:
        test_module_is_strict_c99(tmp)
        test_bad_inputs(tmp)
        test_external_data_and_bench(tmp)
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
