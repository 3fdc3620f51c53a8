"""End-to-end checks of the kiln command and the modules it writes.

    /usr/bin/python3 tests/cli_test.py [--kiln build/kiln]

Each check builds its models with onnx.helper, runs build/kiln, and compares
with numpy or with the exit code and message the README promises.
Prints one line per failed check and ends with "N passed, N failed".
"""
import argparse
import os
import re
import shutil
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


def test_cuda_module_compiles(tmp):
    """CI has no GPU: the CUDA target's module for the conv net must still
    compile with nvcc (tests/device/run.sh runs it on a GPU)."""
    nvcc = os.environ.get("NVCC") or shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    if not os.path.exists(nvcc):
        print("skipped: CUDA module compile (no nvcc)")
        return
    os.makedirs(f"{tmp}/cuda", exist_ok=True)
    path = save(conv_net(), f"{tmp}/cuda/convnet.onnx")
    rc, _, err = kiln("compile", path, "-o", f"{tmp}/cuda/out", "--name", "convnet", "--target", "cuda",
                      "-MD", "-MF", f"{tmp}/cuda/convnet.d")
    check("compile conv net --target cuda", rc == 0, err)
    if rc != 0:
        return
    dep = open(f"{tmp}/cuda/convnet.d").read()
    check("CUDA depfile names convnet.cu", dep.startswith(f"{tmp}/cuda/out/convnet.cu ") and path in dep, dep)
    p = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-Werror", "cross-execution-space-call", "-I", f"{tmp}/cuda/out",
                        "-c", f"{tmp}/cuda/out/convnet.cu", "-o", f"{tmp}/cuda/out/convnet.o"],
                       capture_output=True, text=True, timeout=600)
    check("CUDA module compiles with nvcc -arch=sm_90", p.returncode == 0, p.stderr[:2000])
    rc, _, err = kiln("compile", path, "-o", f"{tmp}/cuda/bad", "--target", "cuda", "--cuda-arch", "7")
    check("--cuda-arch 7: exit 2", rc == 2 and "cuda-arch" in err, (rc, err))


def fast_net():
    """The layers the fast kernels take: strided conv + relu, depthwise, 1x1, MatMul, Gemm; odd sizes."""
    rng = np.random.default_rng(11)
    w = lambda *s: numpy_helper.from_array(rng.standard_normal(s).astype(np.float32) * 0.3)
    inits = []
    for name, arr in [("w1", w(12, 3, 3, 3)), ("b1", w(12)), ("wd", w(12, 1, 3, 3)), ("bd", w(12)),
                      ("w2", w(20, 12, 1, 1)), ("wm", w(20 * 7 * 9, 17)), ("wg", w(13, 17)), ("bg", w(13))]:
        arr.name = name
        inits.append(arr)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "wd", "bd"], ["c2"], pads=[1, 1, 1, 1], group=12),
        helper.make_node("Conv", ["c2", "w2"], ["c3"]),
        helper.make_node("Flatten", ["c3"], ["f"]),
        helper.make_node("MatMul", ["f", "wm"], ["m"]),
        helper.make_node("Gemm", ["m", "wg", "bg"], ["y"], transB=1, alpha=0.5),
    ]
    graph = helper.make_graph(nodes, "fastnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3, 13, 17])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 13])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


# Runs a module named model on DIR/in_0.bin, writes DIR/out_0.bin (one input, one float output).
FAST_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include "model.h"
int main(int argc, char **argv)
{
    static unsigned char ws[model_WORKSPACE_SIZE + 64];
    static float x[1 << 16], y[1 << 16];
    const void *in[1] = {x};
    void *out[1] = {y};
    char path[4096];
    FILE *f;
    size_t n;
    unsigned char *w = ws + (64 - (size_t)ws % 64) % 64;
    if (argc < 2) return 2;
    sprintf(path, "%s/in_0.bin", argv[1]);
    if (!(f = fopen(path, "rb"))) return 2;
    n = fread(x, 1, sizeof x, f);
    fclose(f);
    (void)n;
    if (model_run(in, out, w) != KILN_STATUS_OK) return 1;
    sprintf(path, "%s/out_0.bin", argv[1]);
    if (!(f = fopen(path, "wb"))) return 2;
    fwrite(y, sizeof(float), kiln_tensor_numel(&model_desc()->outputs[0]), f);
    fclose(f);
    return 0;
}
"""


def test_fast_kernels(tmp):
    """--cpu and --threads: every CPU's kernels, the scalar fallback and the thread pool give the
    reference kernels' results (--cpu none); without --threads the module has no thread symbols."""
    d = f"{tmp}/fast"
    os.makedirs(d, exist_ok=True)
    path = save(fast_net(), f"{d}/fastnet.onnx")
    x = np.random.default_rng(5).standard_normal((3, 3, 13, 17)).astype(np.float32)
    np.save(f"{d}/x.npy", x)
    rc, _, err = kiln("run", path, "--input", f"x={d}/x.npy", "--output-dir", f"{d}/ref", "--cpu", "none")
    check("fast net: reference run", rc == 0, err)
    if rc:
        return
    want = np.load(f"{d}/ref/output_0.npy")
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    cpus = ["generic"] + [c for c, f in (("avx2", " avx2"), ("avx512", " avx512f")) if f in flags]
    for cpu, threads in [(c, 1) for c in cpus] + [("native", 2)]:
        out = f"{d}/{cpu}{threads}"
        rc, _, err = kiln("run", path, "--input", f"x={d}/x.npy", "--output-dir", out, "--cpu", cpu, "--threads", threads)
        ok = rc == 0 and np.allclose(np.load(f"{out}/output_0.npy"), want, rtol=1e-4, atol=1e-4)
        check(f"fast net --cpu={cpu} --threads {threads} matches the reference kernels", ok, err)
    # The module built by hand: strict C99, and with -DKILN_GENERIC, same results.
    cc = os.environ.get("CC", "cc")
    x.tofile(f"{d}/in_0.bin")
    for threads in (1, 2):
        mod = f"{d}/mod{threads}"
        rc, _, err = kiln("compile", path, "-o", mod, "--name", "model", "--threads", threads)
        check(f"compile fast net --threads {threads}", rc == 0, err)
        if rc:
            return
        p = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-c", f"{mod}/model.c",
                            "-o", f"{mod}/model.o"], capture_output=True, text=True)
        check(f"fast module (--threads {threads}) compiles with -std=c99 -pedantic -Werror", p.returncode == 0, p.stderr[:2000])
        syms = subprocess.run(["nm", f"{mod}/model.o"], capture_output=True, text=True).stdout
        uses_pool = "kiln_rt_parallel_for" in syms or "pthread" in syms
        check(f"--threads {threads}: thread symbols {'present' if threads > 1 else 'absent'}", uses_pool == (threads > 1), syms)
    with open(f"{d}/main.c", "w") as f:
        f.write(FAST_MAIN)
    for generic in ([], ["-DKILN_GENERIC"]):
        prog = f"{d}/prog{len(generic)}"
        p = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", *generic, f"-I{d}/mod1",
                            f"{d}/mod1/model.c", f"{d}/main.c", f"{ROOT}/build/libkiln_rt.a", "-lm", "-o", prog],
                           capture_output=True, text=True)
        check(f"fast module {' '.join(generic) or '(vector)'} builds", p.returncode == 0, p.stderr[:2000])
        if p.returncode:
            continue
        r = subprocess.run([prog, d], capture_output=True, text=True)
        got = np.fromfile(f"{d}/out_0.bin", np.float32).reshape(want.shape) if r.returncode == 0 else None
        check(f"fast module {' '.join(generic) or '(vector)'} matches the reference kernels",
              got is not None and np.allclose(got, want, rtol=1e-4, atol=1e-4), r.stderr)
    rc, _, err = kiln("compile", path, "-o", f"{d}/bad", "--cpu", "pentium")
    check("--cpu=pentium: exit 2", rc == 2 and "--cpu" in err, (rc, err))


def main():
    global KILN
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    KILN = os.path.abspath(ap.parse_args().kiln)
    with tempfile.TemporaryDirectory() as tmp:
        test_module_is_strict_c99(tmp)
        test_bad_inputs(tmp)
        test_external_data_and_bench(tmp)
        test_cuda_module_compiles(tmp)
        test_fast_kernels(tmp)
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
