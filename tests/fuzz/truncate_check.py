#!/usr/bin/python3
"""No conformance model, whole or cut short, may crash kiln.

    tests/fuzz/truncate_check.py [--kiln build/kiln] [-j 2] [--points 10] [--filter RE]

Runs `kiln compile` on every model.onnx of the ONNX conformance suite and on
copies of it truncated at --points places along its length (0, 1/N, ...,
(N-1)/N of its bytes), and fails if any run ends with a signal, exit 3, a
sanitizer report or a timeout. Prints the counts of each exit code and ends
with "N passed, N failed" (a run passes when it does not crash).
"""
import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

DATA = "/usr/share/libonnx-testdata/data"
CATEGORIES = ("node", "pytorch-converted", "pytorch-operator", "simple")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZER = re.compile(r"ERROR: \w+Sanitizer|runtime error:|Sanitizer:DEADLYSIGNAL")


def models(pattern):
    for cat in CATEGORIES:
        d = os.path.join(DATA, cat)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            path = os.path.join(d, name, "model.onnx")
            if os.path.exists(path) and (not pattern or pattern.search(f"{cat}/{name}")):
                yield f"{cat}/{name}", path


def check(kiln, test, path, points, timeout):
    """[(label, exit code or 'signal N' or 'timeout', crashed, message)] for one model."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    with tempfile.TemporaryDirectory(prefix="kiln-trunc-") as t:
        cuts = [None] + [len(data) * k // points for k in range(points)]
        for cut in cuts:
            model = path
            if cut is not None:  # a copy beside nothing: external data stays unreadable, as it should
                model = os.path.join(t, "model.onnx")
                with open(model, "wb") as f:
                    f.write(data[:cut])
            label = f"{test}" + ("" if cut is None else f" cut at {cut}/{len(data)}")
            try:
                p = subprocess.run([kiln, "compile", model, "-o", os.path.join(t, "out")],
                                   capture_output=True, text=True, timeout=timeout, env=dict(os.environ, TMPDIR=t))
                rc, err = p.returncode, p.stderr
            except subprocess.TimeoutExpired:
                out.append((label, "timeout", True, ""))
                continue
            crashed = rc < 0 or rc == 3 or rc > 128 or bool(SANITIZER.search(err))
            code = f"signal {-rc}" if rc < 0 else rc
            out.append((label, code, crashed, err.strip().splitlines()[0] if err.strip() else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--filter", help="only tests whose category/name matches this regex")
    args = ap.parse_args()
    pattern = re.compile(args.filter) if args.filter else None
    kiln = os.path.abspath(args.kiln)
    counts = collections.Counter()
    whole = collections.Counter()
    crashes = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(check, kiln, test, path, args.points, args.timeout) for test, path in models(pattern)]
        for fut in concurrent.futures.as_completed(futures):
            for i, (label, code, crashed, msg) in enumerate(fut.result()):
                counts[code] += 1
                if i == 0:
                    whole[code] += 1
                if crashed:
                    crashes.append(f"{label}: exit {code}: {msg}")
    for line in sorted(crashes):
        print("CRASH", line)
    fmt = lambda c: ", ".join(f"exit {k}: {v}" for k, v in sorted(c.items(), key=str))
    print(f"whole models: {sum(whole.values())} runs ({fmt(whole)})")
    print(f"all runs:     {sum(counts.values())} runs ({fmt(counts)})")
    total = sum(counts.values())
    print(f"{total - len(crashes)} passed, {len(crashes)} failed")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
