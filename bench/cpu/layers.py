"""Where the time goes: each node's time in kiln's module and each node's
kernel time in ONNX Runtime, for one model of bench/cpu/models.py:

    /usr/bin/python3 bench/cpu/layers.py mobilenet [--threads T] [--runs N]

kiln: the module `kiln run --keep` builds, with a clock read around every
node's call in the run function (model.c is copied, not changed), run by
kiln's own run_main.c; the mean per call over its timed runs (its first run and
10 warm-up runs are not counted).
ONNX Runtime: its profiler (bench/cpu/ort_profile.js), the median per node
over the runs after the first 10. The two graphs differ (ORT reorders to
NCHWc and names nodes after their outputs), so the tables are side by side,
not joined; the totals leave out the time between nodes.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TIMERS = """#include <stdio.h>
#include <time.h>
static double kp_ms[%(n)d];
static long kp_calls; /* run_main.c runs once, 10 times to warm up, then the timed runs */
static const char *const kp_names[%(n)d] = {%(names)s};
static double kp_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}
static void kp_report(void)
{
    int i;
    for (i = 0; i < %(n)d; i++) printf("kiln-node %%s\\t%%.4f\\n", kp_names[i], kp_ms[i] / (kp_calls > 11 ? kp_calls - 11 : 1));
}
__attribute__((constructor)) static void kp_init(void) { atexit(kp_report); }
"""


def run(cmd, cwd=ROOT):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p.stdout + p.stderr


def kiln_layers(model, threads, runs):
    out = run(["build/kiln", "run", model, "--bench", "1", "--threads", str(threads), "--keep",
               "--output-dir", os.path.join(ROOT, "build", "bench", "out")])
    d = re.search(r"module kept in (\S+)", out).group(1)
    src = open(os.path.join(d, "model.c")).read()
    names = []

    def timed(m):  # one node's block: /* Op 'name' */ { ... }
        names.append(f"{m.group(1)} '{m.group(2)}'")
        return (f"/* {m.group(1)} '{m.group(2)}' */\n    {{\n        double kp_t0 = kp_now();\n{m.group(3)}"
                f"        kp_ms[{len(names) - 1}] += kp_now() - kp_t0;\n    }}\n")

    body = re.sub(r"/\* (\w+) '([^']*)' \*/\n    \{\n((?:        .*\n)*?)    \}\n", timed, src)
    body = body.replace("    return KILN_STATUS_OK;\n}", "    if (++kp_calls == 11) memset(kp_ms, 0, sizeof kp_ms);\n    return KILN_STATUS_OK;\n}")
    quoted = ", ".join('"' + n.replace('"', "'") + '"' for n in names)
    with open(os.path.join(d, "model_timed.c"), "w") as f:
        f.write("#include <stdlib.h>\n#include <string.h>\n" + TIMERS % {"n": max(len(names), 1), "names": quoted} + body)
    cc = os.environ.get("CC", "cc")
    run([cc, "-std=gnu99", "-O3", "-march=native", "-I.", "model_timed.c", "kiln_rt.c", "kiln_threads.c",
         "run_main.c", "-pthread", "-o", "model_timed", "-lm"], cwd=d)
    out = run(["./model_timed", ".", str(runs)], cwd=d)
    return [(n, float(t)) for n, t in re.findall(r"kiln-node (.*)\t([0-9.]+)", out)]


def ort_layers(model, threads, runs):
    out = run(["node", "bench/cpu/ort_profile.js", model, str(threads), str(runs)])
    return [(n, float(t)) for n, t in re.findall(r"ort-node (.*)\t([0-9.]+)", out)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="mobilenet, mlp or transformer")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    out = os.path.join(ROOT, "build", "bench")
    run([sys.executable, "bench/cpu/models.py", out])
    path = os.path.join(out, a.model + ".onnx")
    k, o = kiln_layers(path, a.threads, a.runs), ort_layers(path, a.threads, a.runs)
    print(f"| kiln node | ms | ONNX Runtime node | ms |\n| --- | --- | --- | --- |")
    for i in range(max(len(k), len(o))):
        kn, kt = k[i] if i < len(k) else ("", None)
        on, ot = o[i] if i < len(o) else ("", None)
        print(f"| {kn} | {'' if kt is None else f'{kt:.3f}'} | {on} | {'' if ot is None else f'{ot:.3f}'} |")
    print(f"| total | {sum(t for _, t in k):.3f} | total | {sum(t for _, t in o):.3f} |")


if __name__ == "__main__":
    main()
