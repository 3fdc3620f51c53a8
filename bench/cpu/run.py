"""kiln against ONNX Runtime on the CPU, side by side:

    /usr/bin/python3 bench/cpu/run.py [--rounds 5] [--runs 50] [--threads 1,2]

Builds the models of bench/cpu/models.py into build/bench, then for each
model and thread count alternates `kiln run MODEL --bench RUNS --threads T`
with `node bench/cpu/ort_bench.js MODEL T RUNS` (onnxruntime-node, intra-op
threads T), ROUNDS times. Each run reports its median latency; the table
gives the median over rounds, ORT / kiln of those (above 1: kiln is
faster), and the lowest and highest ORT / kiln of a single round (a round's
two runs are back to back, so they see the same machine).
Needs onnxruntime-node in bench/cpu/ort (git ignores it):
    (cd bench/cpu/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node)
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default="mobilenet,mlp,transformer")
    a = ap.parse_args()
    out = os.path.join(ROOT, "build", "bench")
    run([sys.executable, "bench/cpu/models.py", out])
    rows = []
    for model in a.models.split(","):
        path = os.path.join(out, model + ".onnx")
        for t in map(int, a.threads.split(",")):
            kiln, ort = [], []
            for _ in range(a.rounds):  # interleaved, so both see the same machine
                o = run(["build/kiln", "run", path, "--bench", str(a.runs), "--threads", str(t),
                         "--output-dir", os.path.join(out, "out")])
                kiln.append(float(re.search(r"median ([0-9.]+)", o).group(1)))
                o = run(["node", "bench/cpu/ort_bench.js", path, str(t), str(a.runs)])
                ort.append(float(re.search(r"median ([0-9.]+)", o).group(1)))
            k, r = statistics.median(kiln), statistics.median(ort)
            per_round = [o / x for x, o in zip(kiln, ort)]
            rows.append((model, t, k, r, min(per_round), max(per_round)))
            print(f"{model:12s} threads {t}: kiln {k:8.3f} ms  ort {r:8.3f} ms  ort/kiln {r / k:5.2f}"
                  f"  (rounds {min(per_round):.2f}-{max(per_round):.2f})", flush=True)
    print("\n| model | threads | kiln median (ms) | ONNX Runtime median (ms) | ORT / kiln | per round |")
    print("| --- | --- | --- | --- | --- | --- |")
    for m, t, k, r, lo, hi in rows:
        print(f"| {m} | {t} | {k:.3f} | {r:.3f} | {r / k:.2f} | {lo:.2f}-{hi:.2f} |")


if __name__ == "__main__":
    main()
