#!/usr/bin/python3
"""Round trip of kiln text over the ONNX conformance suite.

    /usr/bin/python3 tests/roundtrip.py [--kiln build/kiln] [-j 2] [--filter RE]

For every model of libonnx-testdata that kiln imports
(`kiln compile M --passes none --emit ir` succeeds):

  1. print -> parse -> print is byte-identical: M is printed to A/model.kir
     (large constants in A/model.kir.bin), A/model.kir is parsed and printed
     again to B/model.kir, and both files and both .bin files must be equal;
  2. the reparsed graph computes what the ONNX model computes: `kiln run`
     on M and on A/model.kir with the test's inputs must write byte-identical
     output_K.npy files, or, if kiln rejects M, reject A/model.kir with the
     same exit code and message (after "error:").

Step 2 is the slow part (each run builds a module with cc), so by default
the ONNX run is skipped where it cannot tell anything new: when `kiln
compile` writes the same C module for M and for A/model.kir (all but the
banner line naming the source), the two runs execute the same program on the
same inputs. The .kir is always run; --full runs both for every model.

Prints each failure, the number of models checked, and ends with
"N passed, N failed". Exit code 1 if any failed.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conformance  # noqa: E402  (test discovery and .pb reading)
import numpy as np  # noqa: E402

TIMEOUT = 300


def run(cmd, env=None):
    for attempt in range(3):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env,
                               stdin=subprocess.DEVNULL, errors="replace")
            return p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            return -1, "timeout"
        except OSError as e:  # ninja may be relinking kiln: wait a moment
            if attempt == 2:
                return -1, f"cannot run {cmd[0]}: {e}"
            time.sleep(2)


def same_file(a, b):
    if os.path.exists(a) != os.path.exists(b):
        return False
    if not os.path.exists(a):
        return True
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def message(err):
    """The first diagnostic without its file or location prefix."""
    for line in err.splitlines():
        m = re.search(r": (error|internal error): (.*)", line)
        if m:
            return m.group(2)
    return err.strip()


def check(kiln, data, test, full):
    """(status, detail): status is 'passed', 'failed' or 'not imported'."""
    try:
        return check_in(kiln, data, test, full)
    except Exception as e:  # a bug here must not stop the other tests
        return "failed", f"runner error: {type(e).__name__}: {e}"


def check_in(kiln, data, test, full):
    tdir = os.path.join(data, test)
    model = os.path.join(tdir, "model.onnx")
    with tempfile.TemporaryDirectory(prefix="kiln-rt-") as tmp:
        env = dict(os.environ, TMPDIR=tmp)
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        os.mkdir(a)
        os.mkdir(b)
        ka, kb = os.path.join(a, "model.kir"), os.path.join(b, "model.kir")
        rc, err = run([kiln, "compile", model, "--passes", "none", "--emit", "ir", "-o", ka], env)
        if rc == 1 or rc == 2:
            return "not imported", ""
        if rc != 0:
            return "failed", f"import: exit {rc}: {message(err)}"
        rc, err = run([kiln, "compile", ka, "--passes", "none", "--emit", "ir", "-o", kb], env)
        if rc != 0:
            return "failed", f"reparse: exit {rc}: {message(err)}"
        if not same_file(ka, kb):
            return "failed", "print -> parse -> print differs (diff the two dumps)"
        if not same_file(ka + ".bin", kb + ".bin"):
            return "failed", "the .bin files differ"

        # run both on the test's inputs
        try:
            m = conformance.onnx.load(model, load_external_data=False)
        except Exception as e:  # the importer took it, so this is rare
            return "failed", f"cannot read the model with onnx: {e}"
        inits = {i.name for i in m.graph.initializer}
        inputs = [i for i in m.graph.input if i.name not in inits]
        sdir = os.path.join(tdir, "test_data_set_0")
        args = []
        for k, (f, vi) in enumerate(zip(conformance.numbered(sdir, "input"), inputs)):
            npy = os.path.join(tmp, f"input_{k}.npy")
            try:
                arr = conformance.read_tensor(f, vi.type.tensor_type.elem_type)
            except conformance.BadTest as e:
                return "failed", f"test data: {e}"
            np.save(npy, arr, allow_pickle=False)
            args += ["--input", f"{vi.name}={npy}"]

        def kiln_run(src, name):
            od = os.path.join(tmp, "out_" + name)
            os.mkdir(od)
            return (od,) + run([kiln, "run", src, *args, "--output-dir", od], env)

        o2, rc2, e2 = kiln_run(ka, "kir")
        if rc2 == 0 and not full and same_module(kiln, model, ka, tmp, env):
            return "passed", "same module"
        o1, rc1, e1 = kiln_run(model, "onnx")
        if rc1 != rc2 or (rc1 != 0 and message(e1) != message(e2)):
            return "failed", f"onnx run: exit {rc1} {message(e1)!r}; kir run: exit {rc2} {message(e2)!r}"
        for k in range(len(m.graph.output)):
            f1, f2 = (os.path.join(o, f"output_{k}.npy") for o in (o1, o2))
            if not same_file(f1, f2):
                return "failed", f"output_{k}.npy differs between the onnx and the kir run"
        return "passed", "ran" if rc1 == 0 else "rejected alike"


def same_module(kiln, model, kir, tmp, env):
    """True if kiln compile writes the same C for both sources, but the banner."""
    texts = []
    for src, name in ((model, "c_onnx"), (kir, "c_kir")):
        out = os.path.join(tmp, name)
        if run([kiln, "compile", src, "-o", out], env)[0] != 0:
            return False
        for f in ("model.c", "model.h"):
            with open(os.path.join(out, f), "rb") as fh:
                texts.append(fh.read().split(b"\n", 1)[1])
    return texts[:2] == texts[2:]


def splitmix(seed, shape, low=-1.0, high=1.0):
    """kiln text's random(seed, low, high) for f32, written out independently (README.md)."""
    mask, state, out = 2**64 - 1, seed, []
    for _ in range(int(np.prod(shape))):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out.append(low + (high - low) * ((z >> 11) * 2.0**-53))
    return np.array(out, dtype=np.float32).reshape(shape)


def check_examples(kiln):
    """examples/*.kir: each runs, its -O2 dump runs to the same bytes, and
    the MLP agrees with numpy (weights from the generator written out above)."""
    failures = []
    ex = os.path.join(conformance.ROOT, "examples")
    shapes = {"mlp": (1, 64), "cnn": (2, 1, 28, 28), "encoder": (1, 16, 64)}
    for name, shape in shapes.items():
        with tempfile.TemporaryDirectory(prefix="kiln-rt-") as tmp:
            x = np.random.default_rng(5).uniform(-1, 1, shape).astype(np.float32)
            np.save(os.path.join(tmp, "x.npy"), x)
            src, dump = os.path.join(ex, name + ".kir"), os.path.join(tmp, "opt.kir")
            rc, err = run([kiln, "compile", src, "--emit", "ir", "-o", dump, "--dim", f"N={shape[0]}"]
                          if name == "cnn" else [kiln, "compile", src, "--emit", "ir", "-o", dump])
            outs = []
            for m in (src, dump):
                od = os.path.join(tmp, "out_" + os.path.basename(m))
                rc2, err2 = run([kiln, "run", m, "--input", os.path.join(tmp, "x.npy"), "--output-dir", od])
                outs.append(os.path.join(od, "output_0.npy"))
                rc, err = (rc2, err2) if rc == 0 else (rc, err)
            if rc != 0:
                failures.append(f"examples/{name}.kir: exit {rc}: {message(err)}")
            elif not same_file(*outs):
                failures.append(f"examples/{name}.kir: its -O2 dump computes other bytes")
            elif name == "mlp":
                h = np.maximum(x @ splitmix(1, (64, 32), -0.2165, 0.2165) + splitmix(2, (32,), -0.1, 0.1), 0)
                logits = h @ splitmix(3, (32, 10), -0.3062, 0.3062)
                want = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
                got = np.load(outs[0])
                if not np.allclose(got, want, rtol=1e-5, atol=1e-6):
                    failures.append(f"examples/mlp.kir: differs from numpy by {np.abs(got - want).max():g}")
    return len(shapes), failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--data", default=conformance.DATA)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--filter", help="regular expression on category/test")
    ap.add_argument("--full", action="store_true", help="run the ONNX model too even where the module is the same")
    args = ap.parse_args()
    kiln = os.path.abspath(args.kiln)
    tests = conformance.discover(args.data, re.compile(args.filter) if args.filter else None)
    counts = {"passed": 0, "failed": 0, "not imported": 0}
    ran = same = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for test, (status, detail) in zip(tests, pool.map(lambda t: check(kiln, args.data, t, args.full), tests)):
            counts[status] += 1
            ran += detail == "ran"
            same += detail == "same module"
            if status == "failed":
                print(f"FAIL {test}: {detail}", flush=True)
    rejected = counts["passed"] - ran - same
    nex, failures = check_examples(kiln)
    for f in failures:
        print(f"FAIL {f}")
    counts["passed"] += nex - len(failures)
    counts["failed"] += len(failures)
    print(f"examples: {nex - len(failures)} of {nex} run, and run the same from their -O2 dumps"
          " (the MLP checked against numpy)")
    checked = counts["passed"] + counts["failed"] - nex
    print(f"round trip: {checked} of {len(tests)} models import and were checked: print -> parse -> print "
          f"identical, and {same} compile to the same C module as the ONNX model (the .kir run), "
          f"{ran} ran both with identical outputs, {rejected} rejected alike by kiln run; "
          f"{counts['not imported']} do not import")
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
