#!/usr/bin/python3
"""ONNX conformance runner for kiln.

Runs every test of the ONNX backend suite (libonnx-testdata) through
`kiln run`, compares the outputs with the expected ones and prints

    N passed, N failed, N skipped

as its last line (CI reads it). A test is

  passed   every output matches (shape and dtype exactly; floats within
           rtol 1e-3, atol 1e-4, NaN matching NaN, infinities exact;
           integers, bools and strings exactly);
  skipped  kiln rejected the model cleanly (exit 1, "unsupported" in its
           stderr), or the test uses sequences or optionals;
  failed   anything else: wrong values, shape or dtype, a missing output,
           exit 1 without "unsupported", exit 2, a timeout, an unreadable
           test file, and crashes (exit 3, a signal, a sanitizer report),
           which are listed again on their own at the end.

With --ratchet FILE, the tests named in FILE must pass: one that does not is
a REGRESSION and makes the exit code 1; other failures do not, so the count
of passing tests only goes up. --update-ratchet writes the passing tests back
to FILE. Without --ratchet, any failure makes the exit code 1.

Needs onnx and numpy: run it with /usr/bin/python3 (see configure).
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # the python3 first on PATH may lack them
    sys.exit(f"conformance.py: {e}: run with /usr/bin/python3, which has "
             "onnx and numpy")

DATA = "/usr/share/libonnx-testdata/data"
CATEGORIES = ("node", "pytorch-converted", "pytorch-operator", "simple")
RTOL, ATOL = 1e-3, 1e-4
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RATCHET_HEADER = ("# ONNX conformance tests that must keep passing "
                  "(tests/conformance.py --update-ratchet rewrites this file)")

PASS, FAIL, SKIP = "passed", "failed", "skipped"


class Result:
    def __init__(self, test, status, reason="", detail="", crash=False):
        self.test = test        # "category/testname"
        self.status = status    # PASS, FAIL or SKIP
        self.reason = reason    # one line
        self.detail = detail    # more lines, shown with -v
        self.crash = crash      # exit 3, a signal, a sanitizer report


class BadTest(Exception):
    """The test's own files cannot be used: the test fails for that reason."""


# ---------------------------------------------------------------- test files

def discover(data, pattern):
    tests = []
    for cat in CATEGORIES:
        d = os.path.join(data, cat)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            test = f"{cat}/{name}"
            if os.path.isdir(os.path.join(d, name)) and \
                    (pattern is None or pattern.search(test)):
                tests.append(test)
    return tests


def numbered(dirpath, prefix):
    """[prefix_0.pb, prefix_1.pb, ...] in numeric order, stopping at a gap."""
    files = []
    while True:
        f = os.path.join(dirpath, f"{prefix}_{len(files)}.pb")
        if not os.path.exists(f):
            return files
        files.append(f)


def read_tensor(path, elem_type=None):
    """The tensor in a .pb as a NumPy array; elem_type is the model's.

    NumPy has no bfloat16, so bf16 tensors travel as their uint16 bit
    patterns, both ways: that is how the suite stores most of them (as UINT16
    tensors), and kiln reads and writes bf16 .npy files the same way."""
    t = onnx.TensorProto()
    try:
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        a = numpy_helper.to_array(t)
    except Exception as e:
        raise BadTest(f"cannot read {os.path.basename(path)}: "
                      f"{type(e).__name__}: {e}") from None
    if a.dtype == object:  # strings come back as bytes objects
        a = np.array([x.decode("utf-8", "surrogateescape")
                      if isinstance(x, bytes) else str(x) for x in a.flat],
                     dtype=str).reshape(a.shape)
    if elem_type == onnx.TensorProto.BFLOAT16:
        if t.data_type == onnx.TensorProto.BFLOAT16:  # to_array made floats
            a = (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        elif a.dtype != np.uint16:
            raise BadTest(f"{os.path.basename(path)}: {a.dtype} data for a "
                          "bfloat16 tensor")
    return a


def bf16_to_f32(a):
    return (a.astype(np.uint32) << 16).view(np.float32)


def is_tensor(value_info):
    return value_info.type.WhichOneof("value") == "tensor_type"


# ---------------------------------------------------------------- comparing

def fmt_index(shape, flat):
    return str(tuple(int(i) for i in np.unravel_index(flat, shape))) \
        if shape else "()"


def compare(k, expected, actual, bf16=False):
    """None if actual matches expected, else (reason, detail).

    With bf16, both hold bfloat16 bit patterns (uint16) and are compared as
    numbers."""
    if actual.shape != expected.shape:
        return (f"output_{k}: shape {list(actual.shape)}, "
                f"expected {list(expected.shape)}", "")
    ek, ak = expected.dtype.kind, actual.dtype.kind
    if ek == "U":
        if ak not in "USO":
            return f"output_{k}: dtype {actual.dtype}, expected string", ""
        a = np.array([x.decode("utf-8", "surrogateescape")
                      if isinstance(x, bytes) else str(x)
                      for x in actual.flat], dtype=object)
        bad = np.flatnonzero(a != np.array(list(expected.flat), dtype=object))
        if bad.size:
            i = int(bad[0])
            return (f"output_{k}: {bad.size} of {a.size} strings differ",
                    f"first at {fmt_index(expected.shape, i)}: "
                    f"got {a[i]!r}, expected {expected.flat[i]!r}")
        return None
    if ek != ak or expected.dtype.itemsize != actual.dtype.itemsize:
        want = "bfloat16 (as uint16 bits)" if bf16 else expected.dtype.name
        return f"output_{k}: dtype {actual.dtype.name}, expected {want}", ""
    if expected.size == 0:
        return None
    if bf16:
        expected, actual = bf16_to_f32(expected), bf16_to_f32(actual)
        ek = "f"
    e0, a0 = expected.ravel(), actual.ravel()
    if ek in "fc":
        wide = np.complex128 if ek == "c" else np.float64
        e, a = e0.astype(wide), a0.astype(wide)
        enan, anan = np.isnan(e), np.isnan(a)
        einf, ainf = np.isinf(e), np.isinf(a)
        fin = ~(enan | anan | einf | ainf)
        with np.errstate(all="ignore"):
            diff = np.where(fin, np.abs(a - e), 0.0)
            ok = np.where(fin, diff <= ATOL + RTOL * np.abs(e),
                          (enan & anan) | (einf & ainf & (a == e)))
            nz = fin & (e != 0)
            rel = np.where(nz, diff / np.where(nz, np.abs(e), 1.0), 0.0)
    else:
        ok = a0 == e0
    bad = np.flatnonzero(~ok)
    if not bad.size:
        return None
    i = int(bad[0])
    reason = f"output_{k}: {bad.size} of {e0.size} values differ"
    detail = (f"first at {fmt_index(expected.shape, i)}: "
              f"got {a0[i]!r}, expected {e0[i]!r}")
    if ek in "fc":
        nonfinite = int(np.count_nonzero(~ok & ~fin))
        reason += (f" (max abs err {float(diff.max()):.3g}, "
                   f"max rel err {float(rel.max()):.3g}"
                   + (f", {nonfinite} NaN/inf mismatches" if nonfinite else "")
                   + ")")
    return reason, detail


# ---------------------------------------------------------------- running

class Runner:
    def __init__(self, args):
        self.kiln = args.kiln
        self.data = args.data
        self.timeout = args.timeout
        self.extra = shlex.split(args.extra_args)
        self.procs = set()          # running kiln process groups
        self.lock = threading.Lock()
        self.stopping = False

    def stop(self):
        with self.lock:
            self.stopping = True
            for p in self.procs:
                kill_group(p)

    def run_test(self, test):
        try:
            with tempfile.TemporaryDirectory(prefix="kiln-conf-") as tmp:
                return self.run_in(test, tmp)
        except BadTest as e:
            return Result(test, FAIL, str(e))
        except Exception as e:  # a bug here must not stop the other tests
            return Result(test, FAIL, f"runner error: {type(e).__name__}: {e}")

    def run_in(self, test, tmp):
        tdir = os.path.join(self.data, test)
        model_path = os.path.join(tdir, "model.onnx")
        try:
            model = onnx.load(model_path, load_external_data=False)
        except Exception as e:
            raise BadTest(f"cannot read model.onnx: {type(e).__name__}: {e}")
        g = model.graph
        inits = {i.name for i in g.initializer}
        inputs = [i for i in g.input if i.name not in inits]
        if not all(is_tensor(v) for v in list(inputs) + list(g.output)):
            return Result(test, SKIP, "non-tensor input/output")

        sdir = os.path.join(tdir, "test_data_set_0")
        in_files = numbered(sdir, "input")
        out_files = numbered(sdir, "output")
        if len(in_files) > len(inputs):
            raise BadTest(f"{len(in_files)} input files for "
                          f"{len(inputs)} graph inputs")
        if not out_files:
            raise BadTest("no output_0.pb")
        out_types = [v.type.tensor_type.elem_type for v in g.output] + \
            [None] * len(out_files)
        expected = [read_tensor(f, t) for f, t in zip(out_files, out_types)]

        cmd = [self.kiln, "run", model_path]
        for k, (f, vi) in enumerate(zip(in_files, inputs)):
            npy = os.path.join(tmp, f"input_{k}.npy")
            np.save(npy, read_tensor(f, vi.type.tensor_type.elem_type),
                    allow_pickle=False)
            cmd += ["--input", f"{vi.name}={npy}"]
        outdir = os.path.join(tmp, "out")
        os.mkdir(outdir)
        cmd += ["--output-dir", outdir] + self.extra
        # kiln's own temporary files go under tmp, so they are removed too.
        kiln_tmp = os.path.join(tmp, "tmp")
        os.mkdir(kiln_tmp)
        env = dict(os.environ, TMPDIR=kiln_tmp)

        rc, err, timed_out = self.spawn(cmd, tmp, env)
        head = "\n".join(err.strip().splitlines()[:8])
        if timed_out:
            return Result(test, FAIL, f"timeout after {self.timeout:g} s",
                          head)
        crash = crash_reason(rc, err)
        if crash:
            return Result(test, FAIL, crash, head, crash=True)
        if rc == 1:
            if re.search(r"\bunsupported\b", err, re.I):
                return Result(test, SKIP, first_line(err), head)
            return Result(test, FAIL, f"exit 1: {first_line(err)}", head)
        if rc != 0:
            return Result(test, FAIL, f"exit {rc}: {first_line(err)}", head)

        for k, e in enumerate(expected):
            path = os.path.join(outdir, f"output_{k}.npy")
            if not os.path.exists(path):
                return Result(test, FAIL, f"missing output_{k}.npy", head)
            try:
                a = np.load(path, allow_pickle=False)
            except Exception as ex:
                return Result(test, FAIL, f"cannot read output_{k}.npy: "
                              f"{type(ex).__name__}: {ex}")
            if not isinstance(a, np.ndarray):
                return Result(test, FAIL, f"output_{k}.npy is not an array")
            bad = compare(k, e, a,
                          out_types[k] == onnx.TensorProto.BFLOAT16)
            if bad:
                return Result(test, FAIL, bad[0], bad[1])
        return Result(test, PASS)

    def spawn(self, cmd, cwd, env):
        """(exit status, stderr, timed out); the status is -N for signal N."""
        for attempt in range(3):
            with self.lock:
                if self.stopping:
                    raise BadTest("interrupted")
                try:
                    p = subprocess.Popen(cmd, cwd=cwd, env=env,
                                         stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE,
                                         start_new_session=True)
                    self.procs.add(p)
                    break
                except OSError as e:
                    error = e
            if attempt < 2:  # ninja may be relinking kiln: wait a moment
                time.sleep(2)
        else:
            raise BadTest(f"cannot run {self.kiln}: {error}")
        try:
            try:
                _, err = p.communicate(timeout=self.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                # kill the whole group: kiln may have started cc or the module
                kill_group(p)
                _, err = p.communicate()
                timed_out = True
        finally:
            with self.lock:
                self.procs.discard(p)
        return p.returncode, err.decode("utf-8", "replace"), timed_out


def interrupted(signum, frame):
    raise KeyboardInterrupt


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return "(no message)"


SANITIZER = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|"
                       r"runtime error:|AddressSanitizer:DEADLYSIGNAL")


def crash_reason(rc, err):
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"crash: killed by {name}"
    if rc == 3:
        return f"crash: internal error (exit 3): {first_line(err)}"
    if rc > 128:  # a shell or wrapper reporting a signal
        return f"crash: exit {rc}: {first_line(err)}"
    m = SANITIZER.search(err)
    if m:
        line = next(l for l in err.splitlines() if m.group(0) in l)
        return f"crash: exit {rc}: {line.strip()[:300]}"
    return None


# ---------------------------------------------------------------- ratchet

def read_ratchet(path):
    with open(path) as f:
        return [l.strip() for l in f
                if l.strip() and not l.lstrip().startswith("#")]


def write_ratchet(path, tests):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(RATCHET_HEADER + "\n")
        for t in sorted(set(tests)):
            f.write(t + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(
        description="Run the ONNX conformance suite through `kiln run`.")
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"),
                    help="the kiln binary (default: build/kiln)")
    ap.add_argument("--data", default=DATA,
                    help=f"the suite's data folder (default: {DATA})")
    ap.add_argument("--filter", metavar="REGEX",
                    help='run the tests whose "category/testname" matches')
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="tests run at once (default: number of CPUs)")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds per test (default: 120)")
    ap.add_argument("--ratchet", metavar="FILE",
                    help="tests that must pass; exit 1 if one does not")
    ap.add_argument("--update-ratchet", action="store_true",
                    help="write the passing tests to the --ratchet FILE "
                    "(with --filter: add the filtered ones that pass)")
    ap.add_argument("--extra-args", default="", metavar="ARGS",
                    help="more arguments for `kiln run`, e.g. \"-O0\"")
    ap.add_argument("--sample", type=int, metavar="N",
                    help="run only N tests spread evenly over the suite "
                    "(after --filter; the same N tests every time)")
    ap.add_argument("--no-crashes", action="store_true",
                    help="exit 1 if any test crashes (exit 3, a signal, a "
                    "sanitizer report), ratchet or not")
    ap.add_argument("--list-failures", action="store_true",
                    help="also list the failing tests' names alone, "
                    "one per line")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every result, with kiln's stderr or the "
                    "errors of a failure")
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="no line per failure, only the counts")
    args = ap.parse_args()

    if args.update_ratchet and not args.ratchet:
        ap.error("--update-ratchet needs --ratchet FILE")
    if args.update_ratchet and args.sample:
        ap.error("--update-ratchet cannot be used with --sample")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    try:
        pattern = re.compile(args.filter) if args.filter else None
    except re.error as e:
        ap.error(f"--filter: {e}")
    args.kiln = os.path.abspath(args.kiln)
    if not (os.path.isfile(args.kiln) and os.access(args.kiln, os.X_OK)):
        print(f"conformance.py: {args.kiln}: no such executable "
              "(build kiln first, or pass --kiln)", file=sys.stderr)
        return 2
    if not os.path.isdir(args.data):
        print(f"conformance.py: {args.data}: no such folder "
              "(install libonnx-testdata)", file=sys.stderr)
        return 2
    ratchet = []
    if args.ratchet:
        try:
            ratchet = read_ratchet(args.ratchet)
        except FileNotFoundError:
            if not args.update_ratchet:
                print(f"conformance.py: {args.ratchet}: no such file",
                      file=sys.stderr)
                return 2
        except OSError as e:
            print(f"conformance.py: {args.ratchet}: {e}", file=sys.stderr)
            return 2

    tests = discover(args.data, pattern)
    if args.sample and args.sample < len(tests):
        step = len(tests) / args.sample
        tests = [tests[int(i * step)] for i in range(args.sample)]
        sampled = set(tests)
        ratchet = [t for t in ratchet if t in sampled]
    runner = Runner(args)
    results = {}
    out = sys.stdout
    # SIGTERM (a cancelled CI job) cleans up like ^C: kill kiln, remove files.
    signal.signal(signal.SIGTERM, interrupted)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = [pool.submit(runner.run_test, t) for t in tests]
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            results[r.test] = r
            if args.verbose:
                print(f"{r.status.upper():7} {r.test}" +
                      (f": {r.reason}" if r.reason else ""), file=out)
                if r.status == FAIL and r.detail:
                    for line in r.detail.splitlines():
                        if line.strip() not in r.reason:
                            print(f"        | {line}", file=out)
                out.flush()
    except KeyboardInterrupt:
        runner.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        print("conformance.py: interrupted", file=sys.stderr)
        return 130
    pool.shutdown()

    ordered = [results[t] for t in tests]
    failed = [r for r in ordered if r.status == FAIL]
    if not args.quiet and not args.verbose:
        for r in failed:
            print(f"{r.test}: {r.reason}", file=out)
    if args.list_failures and failed:
        print("\nfailing tests:", file=out)
        for r in failed:
            print(r.test, file=out)

    print("", file=out)
    for cat in CATEGORIES:
        rs = [r for r in ordered if r.test.split("/")[0] == cat]
        if rs:
            n = {s: sum(r.status == s for r in rs) for s in (PASS, FAIL, SKIP)}
            print(f"{cat + ':':19} {n[PASS]:4} passed, {n[FAIL]:4} failed, "
                  f"{n[SKIP]:4} skipped", file=out)

    crashes = [r for r in ordered if r.crash]
    if crashes:
        print(f"\ncrashes ({len(crashes)}):", file=out)
        for r in crashes:
            print(f"{r.test}: {r.reason}", file=out)

    regressions = []
    if args.ratchet:
        known = set(discover(args.data, None))
        for t in ratchet:
            if pattern is not None and not pattern.search(t):
                continue
            if t not in known:
                regressions.append(f"{t}: no such test")
            elif results[t].status != PASS:
                r = results[t]
                regressions.append(f"{t}: {r.status}: {r.reason}")
        if regressions:
            print("", file=out)
            for line in regressions:
                print(f"REGRESSION: {line}", file=out)
        if args.update_ratchet:
            passing = [r.test for r in ordered if r.status == PASS]
            if pattern is None:
                write_ratchet(args.ratchet, passing)
            else:
                write_ratchet(args.ratchet, set(ratchet) | set(passing))
            print(f"\nwrote {args.ratchet}", file=out)

    n = {s: sum(r.status == s for r in ordered) for s in (PASS, FAIL, SKIP)}
    print(f"{n[PASS]} passed, {n[FAIL]} failed, {n[SKIP]} skipped", file=out)
    if args.no_crashes and crashes:
        return 1
    if args.ratchet:
        return 1 if regressions else 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
