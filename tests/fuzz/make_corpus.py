#!/usr/bin/python3
"""Seed corpora for the fuzz harnesses, from the ONNX conformance suite and
examples/ (generated, never committed: build-san/fuzz/corpus/ by default).

    tests/fuzz/make_corpus.py [--kiln build/kiln] [--out DIR] [--max-bytes N]

  onnx/  every conformance model.onnx of at most --max-bytes bytes
  npy/   the suite's test inputs as .npy files (one per model, small ones),
         plus headers of every format version, dtype and rank 0
  kir/   examples/*.kir, and conformance models printed as kiln text by
         `kiln compile MODEL --emit ir -o -` (before and after the passes)
"""
import argparse
import hashlib
import io
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

DATA = "/usr/share/libonnx-testdata/data"
CATEGORIES = ("node", "pytorch-converted", "pytorch-operator", "simple")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def put(folder, data):
    """Store data under its hash (so duplicates collapse)."""
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def models():
    for cat in CATEGORIES:
        d = os.path.join(DATA, cat)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            path = os.path.join(d, name, "model.onnx")
            if os.path.exists(path):
                yield path


def npy_bytes(a, version=None):
    f = io.BytesIO()
    if version is None:
        np.save(f, a, allow_pickle=False)
    else:
        np.lib.format.write_array(f, a, version=version, allow_pickle=False)
    return f.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "kiln"))
    ap.add_argument("--out", default=os.path.join(ROOT, "build-san", "fuzz", "corpus"))
    ap.add_argument("--max-bytes", type=int, default=64 << 10)
    args = ap.parse_args()
    counts = {}

    for path in models():
        if os.path.getsize(path) <= args.max_bytes:
            with open(path, "rb") as f:
                put(os.path.join(args.out, "onnx"), f.read())

    npy_dir = os.path.join(args.out, "npy")
    for path in models():
        pb = os.path.join(os.path.dirname(path), "test_data_set_0", "input_0.pb")
        if not os.path.exists(pb) or os.path.getsize(pb) > 4096:
            continue
        t = onnx.TensorProto()
        try:
            with open(pb, "rb") as f:
                t.ParseFromString(f.read())
            a = numpy_helper.to_array(t)
        except Exception:
            continue
        if a.dtype != object:
            put(npy_dir, npy_bytes(a))
    for dt in ("f4", "f8", "f2", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "?"):
        put(npy_dir, npy_bytes(np.arange(6).astype(dt).reshape(2, 3)))
        put(npy_dir, npy_bytes(np.array(1, dtype=dt)))
    for version in ((1, 0), (2, 0), (3, 0)):
        put(npy_dir, npy_bytes(np.ones((2, 2), np.float32), version))
    put(npy_dir, npy_bytes(np.zeros((0, 3), np.float32)))

    kir_dir = os.path.join(args.out, "kir")
    for name in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        if name.endswith(".kir"):
            with open(os.path.join(ROOT, "examples", name), "rb") as f:
                put(kir_dir, f.read())
    if os.access(args.kiln, os.X_OK):
        for i, path in enumerate(models()):
            if i % 3 or os.path.getsize(path) > args.max_bytes:
                continue  # a third of the suite is plenty of variety
            for passes in (["--passes", "none"], []):
                r = subprocess.run([args.kiln, "compile", path, "--emit", "ir", "-o", "-"] + passes,
                                   capture_output=True, timeout=60)
                if r.returncode == 0 and 0 < len(r.stdout) <= args.max_bytes:
                    put(kir_dir, r.stdout)
    else:
        print(f"make_corpus.py: {args.kiln} not found: kir seeds are only examples/", file=sys.stderr)

    for t in ("onnx", "npy", "kir"):
        d = os.path.join(args.out, t)
        counts[t] = len(os.listdir(d)) if os.path.isdir(d) else 0
    print("corpus in %s: %s" % (args.out, ", ".join(f"{t} {n}" for t, n in counts.items())))


if __name__ == "__main__":
    main()
