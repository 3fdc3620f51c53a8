"""kiln against ONNX Runtime on the CPU, side by side:

    /usr/bin/python3 bench/cpu/run.py [--rounds 15] [--runs 20] [--threads 1,2]

Builds the models of bench/cpu/models.py into build/bench. For each model
and thread count, `kiln run MODEL --bench RUNS --threads T --keep` compiles
the model and builds its timing program once; then ROUNDS times, that
program (`model DIR RUNS`, what `kiln run --bench` runs) alternates with
`node bench/cpu/ort_bench.js MODEL T RUNS` (onnxruntime-node, intra-op
threads T). Each run reports its median latency. Building the program once
keeps a round's two runs a second apart, so that they see the same machine
(on a shared VM, a slow spell lasts seconds to a minute). The table gives
the median over rounds of each, ORT / kiln of those (above 1: kiln is
faster), and the median, lowest and highest ORT / kiln of a single round.
Needs onnxruntime-node in bench/cpu/ort (git ignores it):
    (cd bench/cpu/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node)
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p.stdout + p.stderr


def median_ms(text):
    return float(re.search(r"median ([0-9.]+)", text).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default="mobilenet,mlp,transformer")
    a = ap.parse_args()
    out = os.path.join(ROOT, "build", "bench")
    run([sys.executable, "bench/cpu/models.py", out])
    rows = []
    for model in a.models.split(","):
        path = os.path.join(out, model + ".onnx")
        for t in map(int, a.threads.split(",")):
            o = run(["build/kiln", "run", path, "--bench", str(a.runs), "--threads", str(t), "--keep",
                     "--output-dir", os.path.join(out, "out")])
            module = re.search(r"module kept in (\S+)", o).group(1)
            kiln, ort = [], []
            for _ in range(a.rounds):  # interleaved, so both see the same machine
                kiln.append(median_ms(run([os.path.join(module, "model"), module, str(a.runs)])))
                ort.append(median_ms(run(["node", "bench/cpu/ort_bench.js", path, str(t), str(a.runs)])))
            shutil.rmtree(module)
            k, r = statistics.median(kiln), statistics.median(ort)
            per_round = [y / x for x, y in zip(kiln, ort)]
            rows.append((model, t, k, r, statistics.median(per_round), min(per_round), max(per_round)))
            print(f"{model:12s} threads {t}: kiln {k:8.3f} ms  ort {r:8.3f} ms  ort/kiln {r / k:5.2f}"
                  f"  (rounds: median {rows[-1][4]:.2f}, {rows[-1][5]:.2f}-{rows[-1][6]:.2f})", flush=True)
    print("\n| model | threads | kiln median (ms) | ONNX Runtime median (ms) | ORT / kiln |"
          " ORT / kiln per round: median (lowest-highest) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for m, t, k, r, med, lo, hi in rows:
        print(f"| {m} | {t} | {k:.3f} | {r:.3f} | {r / k:.2f} | {med:.2f} ({lo:.2f}-{hi:.2f}) |")


if __name__ == "__main__":
    main()
