#!/usr/bin/python3
"""The bad-input table: one small malformed input per failure mode, with the
exit code kiln must give and fragments its message must hold.

    /usr/bin/python3 tests/bad/run.py [--kiln build/kiln] [-v] [--filter RE]

Every case is built here (onnx.helper, numpy, or a few bytes) in a temporary
folder, so the table is the code below: CASES lists (name, setup, expect).
setup(t) writes the files into folder t and returns kiln's arguments; the
message must contain every fragment (a regex; "{t}" is the folder), and one
of them names the node, input or file at fault. On top of that no case may
crash: exit 3, a signal or a sanitizer report fails it whatever it expects.
Prints a line per failure and ends with "N passed, N failed".
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

F = TensorProto.FLOAT
I64 = TensorProto.INT64


# ---------------------------------------------------------------- builders

def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def init(name, array):
    t = numpy_helper.from_array(np.asarray(array), name)
    return t


def raw_tensor(name, dims, floats=()):
    """A float TensorProto as written, unchecked (helper.make_tensor checks counts)."""
    t = TensorProto(name=name, data_type=F)
    t.dims.extend(dims)
    t.float_data.extend(floats)
    return t


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def save(t, m, name="model.onnx"):
    path = os.path.join(t, name)
    with open(path, "wb") as f:
        f.write(m.SerializeToString() if hasattr(m, "SerializeToString") else m)
    return path


def good_model():
    """A small valid MLP: x[1,4] -> Gemm(fc1) -> Relu -> Gemm(fc2) -> y[1,3]."""
    rng = np.random.default_rng(1)
    w1 = init("w1", rng.standard_normal((4, 8)).astype(np.float32))
    w2 = init("w2", rng.standard_normal((8, 3)).astype(np.float32))
    nodes = [helper.make_node("Gemm", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu1"),
             helper.make_node("Gemm", ["r", "w2"], ["y"], name="fc2")]
    return model(nodes, [vi("x", [1, 4])], [vi("y", [1, 3])], [w1, w2])


def one_node(op, ins, attrs=None, inits=(), in_shapes=None, out="y", in_types=None, name="n1"):
    """A graph of one node named n1; graph inputs are the ins not given as inits."""
    init_names = {i.name for i in inits}
    shapes = in_shapes or {}
    types = in_types or {}
    inputs = [vi(x, shapes.get(x, [2, 3]), types.get(x, F)) for x in ins if x and x not in init_names]
    node = helper.make_node(op, ins, [out], name=name, **(attrs or {}))
    return model([node], inputs, [vi(out, None)], inits)


def compile_args(path, t):
    return ["compile", path, "-o", os.path.join(t, "out")]


def npy(t, name, array):
    path = os.path.join(t, name)
    np.save(path, array, allow_pickle=False)
    return path


# ---------------------------------------------------------------- the cases

def truncated(t):
    data = good_model().SerializeToString()
    return compile_args(save(t, data[: len(data) // 2]), t)


def bitflip_tag(t):
    # the first byte is a field tag; wire type 7 does not exist
    data = bytearray(good_model().SerializeToString())
    data[0] |= 7
    return compile_args(save(t, bytes(data)), t)


def bitflip_optype(t):
    data = good_model().SerializeToString()
    i = data.index(b"Relu")
    data = data[:i + 1] + bytes([data[i + 1] ^ 0x02]) + data[i + 2:]  # Relu -> Rglu
    return compile_args(save(t, data), t)


def bitflip_length(t):
    # a length prefix that runs past the end of the file
    data = bytearray(good_model().SerializeToString())
    i = data.index(b"fc1") - 1  # the node name's length byte
    data[i] = 0x7f
    return compile_args(save(t, bytes(data)), t)


def not_a_model(t):
    return compile_args(save(t, b"this is not a protobuf at all\n" * 3), t)


def empty_file(t):
    return compile_args(save(t, b""), t)


def missing_file(t):
    return compile_args(os.path.join(t, "nope.onnx"), t)


def missing_initializer(t):
    node = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")
    return compile_args(save(t, model([node], [vi("x", [1, 4])], [vi("y", None)])), t)


def wrong_input_count(t):
    return compile_args(save(t, one_node("Gemm", ["x"])), t)


def wrong_output_count(t):
    node = helper.make_node("Relu", ["x"], ["y", "z"], name="n1")
    return compile_args(save(t, model([node], [vi("x", [2])], [vi("y", None)])), t)


def omitted_required_input(t):
    node = helper.make_node("Add", ["", "x"], ["y"], name="n1")
    return compile_args(save(t, model([node], [vi("x", [2])], [vi("y", None)])), t)


def wrong_rank(t):
    w = init("w", np.ones((4, 3), np.float32))
    m = one_node("Conv", ["x", "w"], inits=[w], in_shapes={"x": [1, 3, 8, 8]})
    return compile_args(save(t, m), t)


def rank_too_high(t):
    return compile_args(save(t, one_node("Relu", ["x"], in_shapes={"x": [1] * 9})), t)


def dtype_mismatch(t):
    m = one_node("Add", ["a", "b"], in_types={"b": I64})
    return compile_args(save(t, m), t)


def unknown_op(t):
    return compile_args(save(t, one_node("FooBar", ["x"])), t)


def custom_domain(t):
    node = helper.make_node("Relu", ["x"], ["y"], name="n1", domain="com.example")
    m = model([node], [vi("x", [2])], [vi("y", None)])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    return compile_args(save(t, m), t)


def unknown_attribute(t):
    return compile_args(save(t, one_node("Relu", ["x"], attrs={"alpha2": 1.0})), t)


def attribute_wrong_kind(t):
    return compile_args(save(t, one_node("Softmax", ["x"], attrs={"axis": "one"})), t)


def negative_input_dim(t):
    return compile_args(save(t, one_node("Relu", ["x"], in_shapes={"x": [2, -3]})), t)


def negative_initializer_dim(t):
    w = raw_tensor("w", [-2])
    m = one_node("Add", ["x", "w"], inits=[w], in_shapes={"x": [2]})
    return compile_args(save(t, m), t)


def huge_dim(t):
    return compile_args(save(t, one_node("Relu", ["x"], in_shapes={"x": [1 << 41]})), t)


def element_overflow(t):
    shape = np.array([1 << 31, 1 << 31, 1 << 31], np.int64)
    node = helper.make_node("ConstantOfShape", ["s"], ["y"], name="n1")
    return compile_args(save(t, model([node], [], [vi("y", None)], [init("s", shape)])), t)


def zero_dim_symbolic(t):
    m = one_node("Relu", ["x"], in_shapes={"x": ["N", 3]})
    return compile_args(save(t, m), t) + ["--dim", "N=0"]


def zero_kernel(t):
    w = init("w", np.ones((2, 3, 0, 3), np.float32))
    m = one_node("Conv", ["x", "w"], inits=[w], in_shapes={"x": [1, 3, 8, 8]})
    return compile_args(save(t, m), t)


def axis_out_of_range(t):
    return compile_args(save(t, one_node("Softmax", ["x"], attrs={"axis": 5})), t)


def perm_out_of_range(t):
    return compile_args(save(t, one_node("Transpose", ["x"], attrs={"perm": [0, 7]})), t)


def concat_axis_out_of_range(t):
    return compile_args(save(t, one_node("Concat", ["a", "b"], attrs={"axis": -9})), t)


def cyclic_graph(t):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second")]
    return compile_args(save(t, model(nodes, [vi("x", [2])], [vi("b", None)])), t)


def duplicate_output(t):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="first"),
             helper.make_node("Neg", ["x"], ["y"], name="second")]
    return compile_args(save(t, model(nodes, [vi("x", [2])], [vi("y", None)])), t)


def duplicate_initializer(t):
    a, b = init("w", np.ones(2, np.float32)), init("w", np.zeros(2, np.float32))
    m = one_node("Add", ["x", "w"], inits=[a, b], in_shapes={"x": [2]})
    return compile_args(save(t, m), t)


def duplicate_input(t):
    node = helper.make_node("Relu", ["x"], ["y"], name="n1")
    return compile_args(save(t, model([node], [vi("x", [2]), vi("x", [3])], [vi("y", None)])), t)


def weights_count_short(t):
    w = raw_tensor("w", [2, 3], [1.0, 2.0, 3.0, 4.0, 5.0])
    m = one_node("Add", ["x", "w"], inits=[w])
    return compile_args(save(t, m), t)


def weights_count_without_values(t):
    w = raw_tensor("w", [4])
    m = one_node("Add", ["x", "w"], inits=[w], in_shapes={"x": [4]})
    return compile_args(save(t, m), t)


def raw_data_wrong_length(t):
    w = raw_tensor("w", [4])
    w.raw_data = np.ones(3, np.float32).tobytes()
    m = one_node("Add", ["x", "w"], inits=[w], in_shapes={"x": [4]})
    return compile_args(save(t, m), t)


def external(t, location, write=None, **extra):
    """A model whose initializer w (f32[4]) lives in external data at location."""
    w = raw_tensor("w", [4])
    w.data_location = TensorProto.EXTERNAL
    for k, v in dict(location=location, **extra).items():
        e = w.external_data.add()
        e.key, e.value = k, str(v)
    if write is not None:
        with open(os.path.join(t, "w.bin"), "wb") as f:
            f.write(write)
    m = one_node("Add", ["x", "w"], inits=[w], in_shapes={"x": [4]})
    return compile_args(save(t, m), t)


def external_missing(t):
    return external(t, "w.bin")


def external_escape(t):
    return external(t, "../w.bin")


def external_absolute(t):
    return external(t, "/etc/passwd")


def external_symlink(t):
    os.symlink("/etc/passwd", os.path.join(t, "w.bin"))
    return external(t, "w.bin")


def external_absolute_allowed(t):
    with open(os.path.join(t, "w.bin"), "wb") as f:
        f.write(np.ones(4, np.float32).tobytes())
    return external(t, os.path.join(t, "w.bin")) + ["--allow-absolute-paths"]


def external_directory(t):
    os.mkdir(os.path.join(t, "wdir"))
    return external(t, "wdir")


def external_short(t):
    return external(t, "w.bin", write=np.ones(3, np.float32).tobytes())


def external_range(t):
    return external(t, "w.bin", write=np.ones(4, np.float32).tobytes(), offset=8, length=16)


def external_bad_offset(t):
    return external(t, "w.bin", write=np.ones(4, np.float32).tobytes(), offset="eight")


def max_memory(t):
    w = init("w", np.ones(1 << 16, np.float32))
    m = one_node("Add", ["x", "w"], inits=[w], in_shapes={"x": [1 << 16]})
    return compile_args(save(t, m), t) + ["--max-memory=600K"]


def deep_nesting(t):
    # If nodes nested in their own then_branch, deeper than kiln's limit
    empty = inner = helper.make_graph([], "g0", [], [])
    for i in range(40):
        node = helper.make_node("If", ["c"], ["y"], name=f"if{i}", then_branch=inner, else_branch=empty)
        inner = helper.make_graph([node], f"g{i + 1}", [], [vi("y", None)])
    m = model(list(inner.node), [vi("c", [], TensorProto.BOOL)], [vi("y", None)])
    return compile_args(save(t, m), t)


def relu_model(t):
    return save(t, one_node("Relu", ["x"], in_shapes={"x": [2, 3]}))


def npy_wrong_shape(t):
    return ["run", relu_model(t), "--input", "x=" + npy(t, "x.npy", np.ones((3, 2), np.float32)),
            "--output-dir", os.path.join(t, "out")]


def npy_wrong_rank(t):
    return ["run", relu_model(t), "--input", "x=" + npy(t, "x.npy", np.ones(6, np.float32)),
            "--output-dir", os.path.join(t, "out")]


def npy_wrong_dtype(t):
    return ["run", relu_model(t), "--input", "x=" + npy(t, "x.npy", np.ones((2, 3), np.float64)),
            "--output-dir", os.path.join(t, "out")]


def npy_truncated(t):
    path = npy(t, "x.npy", np.ones((2, 3), np.float32))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:-5])
    return ["run", relu_model(t), "--input", "x=" + path, "--output-dir", os.path.join(t, "out")]


def npy_garbage(t):
    path = os.path.join(t, "x.npy")
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00\x10\x00{'descr': 12}  \n")
    return ["run", relu_model(t), "--input", "x=" + path, "--output-dir", os.path.join(t, "out")]


def npy_missing(t):
    return ["run", relu_model(t), "--input", "x=" + os.path.join(t, "none.npy"),
            "--output-dir", os.path.join(t, "out")]


def npy_unknown_input(t):
    return ["run", relu_model(t), "--input", "z=" + npy(t, "x.npy", np.ones((2, 3), np.float32)),
            "--output-dir", os.path.join(t, "out")]


def input_not_given(t):
    return ["run", relu_model(t), "--output-dir", os.path.join(t, "out")]


def outdir_not_writable_run(t):
    blocker = os.path.join(t, "file")
    open(blocker, "w").close()
    return ["run", relu_model(t), "--input", "x=" + npy(t, "x.npy", np.ones((2, 3), np.float32)),
            "--output-dir", os.path.join(blocker, "out")]


def outdir_not_writable_compile(t):
    blocker = os.path.join(t, "file")
    open(blocker, "w").close()
    return ["compile", relu_model(t), "-o", os.path.join(blocker, "out")]


def outdir_is_file(t):
    blocker = os.path.join(t, "file")
    open(blocker, "w").close()
    return ["compile", relu_model(t), "-o", blocker]


def checked_nan(t):
    m = one_node("Log", ["x"], in_shapes={"x": [3]})
    x = npy(t, "x.npy", np.array([1, -1, 0], np.float32))  # log: 0, NaN, -Inf
    return ["run", save(t, m), "--checked", "--input", "x=" + x, "--output-dir", os.path.join(t, "out")]


def model_is_directory(t):
    d = os.path.join(t, "dir.onnx")
    os.mkdir(d)
    return compile_args(d, t)


# (name, setup, exit code, fragments the message must hold)
MODEL = r"{t}/model\.onnx"
CASES = [
    ("truncated model", truncated, 1, [MODEL, "not a valid ONNX model"]),
    ("bit-flipped tag", bitflip_tag, 1, [MODEL, "not a valid ONNX model"]),
    ("bit-flipped op type", bitflip_optype, 1, [MODEL, "node 'relu1'", "Rglu"]),
    ("bit-flipped length", bitflip_length, 1, [MODEL, "not a valid ONNX model"]),
    ("not a model", not_a_model, 1, [MODEL, "not a valid ONNX model"]),
    ("empty model file", empty_file, 1, [MODEL, "no graph"]),
    ("missing model file", missing_file, 1, [r"{t}/nope\.onnx", "No such file"]),
    ("model is a directory", model_is_directory, 1, [r"dir\.onnx", "not a regular file"]),
    ("missing initializer", missing_initializer, 1, ["node 'fc' \\(Gemm\\)", "input 'w'"]),
    ("wrong input count", wrong_input_count, 1, ["node 'n1' \\(Gemm\\)", "1 inputs"]),
    ("wrong output count", wrong_output_count, 1, ["node 'n1' \\(Relu\\)", "2 outputs"]),
    ("omitted required input", omitted_required_input, 1, ["node 'n1' \\(Add\\)", "input 0 is required"]),
    ("wrong rank", wrong_rank, 1, ["node 'n1' \\(Conv\\)", "rank"]),
    ("rank above the limit", rank_too_high, 1, ["'x'", "rank 9", "at most 8"]),
    ("dtype mismatch", dtype_mismatch, 1, ["node 'n1' \\(Add\\)", "i64|f32|type"]),
    ("unknown op", unknown_op, 1, ["node 'n1'", "unsupported", "FooBar"]),
    ("op of another domain", custom_domain, 1, ["node 'n1'", "com\\.example"]),
    ("unknown attribute", unknown_attribute, 1, ["node 'n1' \\(Relu\\)", "unknown attribute 'alpha2'"]),
    ("attribute of the wrong kind", attribute_wrong_kind, 1, ["node 'n1' \\(Softmax\\)", "attribute 'axis'"]),
    ("negative input dim", negative_input_dim, 1, ["input 'x'", "negative dimension -3"]),
    ("negative initializer dim", negative_initializer_dim, 1, ["tensor 'w'", "negative dimension -2"]),
    ("dimension above the limit", huge_dim, 1, ["input 'x'", "dimension 2199023255552"]),
    ("element count overflow", element_overflow, 1, ["node 'n1' \\(ConstantOfShape\\)", "elements|too large|overflow"]),
    ("zero --dim", zero_dim_symbolic, 2, ["--dim N=0", "positive"]),
    ("zero-size kernel", zero_kernel, 1, ["node 'n1' \\(Conv\\)"]),
    ("axis out of range", axis_out_of_range, 1, ["node 'n1' \\(Softmax\\)", "axis"]),
    ("perm out of range", perm_out_of_range, 1, ["node 'n1' \\(Transpose\\)", "perm"]),
    ("concat axis out of range", concat_axis_out_of_range, 1, ["node 'n1' \\(Concat\\)", "axis"]),
    ("cyclic graph", cyclic_graph, 1, ["node 'first' \\(Add\\)", "input 'b'", "cyclic"]),
    ("duplicate node output", duplicate_output, 1, ["node 'second' \\(Neg\\)", "'y' is already defined"]),
    ("duplicate initializer", duplicate_initializer, 1, ["initializer 'w' is defined twice"]),
    ("duplicate graph input", duplicate_input, 1, ["graph input 'x' is listed twice"]),
    ("weights count short", weights_count_short, 1, ["tensor 'w'", "has 5 values", "needs 6"]),
    ("weights count without values", weights_count_without_values, 1, ["tensor 'w'", "has 0 values", "needs 4"]),
    ("raw_data wrong length", raw_data_wrong_length, 1, ["tensor 'w'", "raw_data has 12 bytes", "needs 16"]),
    ("external data missing", external_missing, 1, ["tensor 'w'", r"{t}/w\.bin", "No such file"]),
    ("external data escapes", external_escape, 1, ["tensor 'w'", r"'\.\./w\.bin' leaves the model's folder"]),
    ("external data absolute", external_absolute, 1, ["tensor 'w'", "'/etc/passwd'", "--allow-absolute-paths"]),
    ("external data link escapes", external_symlink, 1, ["tensor 'w'", "'w\\.bin' is a link", "outside"]),
    ("external data absolute, allowed", external_absolute_allowed, 0, []),
    ("external data directory", external_directory, 1, ["tensor 'w'", "wdir", "not a regular file"]),
    ("external data too short", external_short, 1, ["tensor 'w'", "12 bytes", "needs 16"]),
    ("external data range", external_range, 1, ["tensor 'w'", "offset 8, length 16", r"w\.bin"]),
    ("external data bad offset", external_bad_offset, 1, ["tensor 'w'", "offset 'eight'"]),
    ("--max-memory exceeded", max_memory, 1, ["tensor 'w'", "262144 bytes", "--max-memory"]),
    ("nesting too deep", deep_nesting, 1, [MODEL, "nests messages", "32"]),
    ("npy of the wrong shape", npy_wrong_shape, 1, ["--input x", r"{t}/x\.npy", r"f32\[3, 2\]", r"f32\[2, 3\]"]),
    ("npy of the wrong rank", npy_wrong_rank, 1, ["--input x", r"{t}/x\.npy", r"f32\[6\]"]),
    ("npy of the wrong dtype", npy_wrong_dtype, 1, ["--input x", r"{t}/x\.npy", r"f64\[2, 3\]"]),
    ("npy truncated", npy_truncated, 1, [r"{t}/x\.npy", "19 bytes of data", "needs 24"]),
    ("npy malformed header", npy_garbage, 1, [r"{t}/x\.npy", "malformed|truncated"]),
    ("npy missing", npy_missing, 1, [r"{t}/none\.npy", "No such file"]),
    ("npy for no such input", npy_unknown_input, 1, ["--input z", "no input of that name"]),
    ("input not given", input_not_given, 1, ["input 'x'", "--input x=FILE.npy"]),
    ("run output dir not writable", outdir_not_writable_run, 1, [r"{t}/file/out", "Not a directory"]),
    ("compile output dir not writable", outdir_not_writable_compile, 1, [r"{t}/file/out", "Not a directory"]),
    ("compile output dir is a file", outdir_is_file, 1, [r"{t}/file"]),
    ("NaN output with --checked", checked_nan, 1, ["output 0 'y' holds NaN or Inf \\(first at flat index 1\\)",
                                                   MODEL, "--checked"]),
]

SANITIZER = re.compile(r"ERROR: \w+Sanitizer|runtime error:|Sanitizer:DEADLYSIGNAL")


def run_case(kiln, name, setup, want_rc, fragments, verbose):
    with tempfile.TemporaryDirectory(prefix="kiln-bad-") as t:
        args = setup(t)
        try:
            p = subprocess.run([kiln, *args], capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, TMPDIR=t))
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            return f"timed out: kiln {' '.join(args)}"
        problems = []
        if rc < 0 or rc == 3 or rc > 128:
            problems.append(f"crashed (exit {rc})")
        if SANITIZER.search(err):
            problems.append("sanitizer report")
        if rc != want_rc:
            problems.append(f"exit {rc}, expected {want_rc}")
        for frag in fragments:
            if not re.search(frag.replace("{t}", re.escape(t)), err):
                problems.append(f"message lacks /{frag}/")
        if verbose or problems:
            shown = err.strip().replace(t, "$T")
            return "; ".join(problems) + ("\n      " + shown[:1500].replace("\n", "\n      ") if shown else "") \
                if problems else "ok: " + shown.splitlines()[0] if shown else "ok"
        return None


def main():
    ap = argparse.ArgumentParser(description="Run the bad-input table against kiln.")
    ap.add_argument("--kiln", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "kiln"))
    ap.add_argument("--filter", help="only the cases whose name matches this regex")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case's message")
    args = ap.parse_args()
    kiln = os.path.abspath(args.kiln)
    passed = failed = 0
    for name, setup, rc, fragments in CASES:
        if args.filter and not re.search(args.filter, name):
            continue
        result = run_case(kiln, name, setup, rc, fragments, args.verbose)
        ok = result is None or result.startswith("ok")
        if result and (not ok or args.verbose):
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {result}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
