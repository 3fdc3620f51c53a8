#!/usr/bin/python3
"""A small FileCheck for kiln: a .kir file carries its own test.

    /usr/bin/python3 tests/filecheck.py [--kiln build/kiln] PATH...   (files, or folders of .kir files)
    /usr/bin/python3 tests/filecheck.py --self-test

Comment lines of the .kir file direct it:

    # RUN-PASSES: infer-shapes,fold-constants   the passes to run ('none': just parse and print)
    # RUN-ARGS: --dim N=4                        more arguments for kiln compile (optional)
    # EXPECT-EXIT: 1                             expect this exit code; the checks then read stderr
    # CHECK: text                                text on a later line (or later on the same line)
    # CHECK-NEXT: text                           text on the line right after the previous match
    # CHECK-NOT: text                            text absent between the matches around it

and the file is compiled with

    kiln compile FILE.kir --passes=PASSES --emit ir -o -

whose stdout (the IR after the passes, as kiln text) the checks read in
order, as LLVM's FileCheck does. In a pattern, {{regex}} is a Python regular
expression and any run of spaces matches any run of spaces or tabs; the rest
is literal. A failure names the .kir line of the check that failed and the
output line where scanning began. Ends with "N passed, N failed".
"""
import argparse
import os
import re
import subprocess
import sys

DIRECTIVE = re.compile(r"#\s*(RUN-PASSES|RUN-ARGS|EXPECT-EXIT|CHECK|CHECK-NEXT|CHECK-NOT):\s?(.*?)\s*$")


class Check:
    def __init__(self, kind, pattern, line):
        self.kind = kind        # "CHECK", "CHECK-NEXT" or "CHECK-NOT"
        self.pattern = pattern  # as written
        self.line = line        # in the .kir file, 1-based
        self.regex = compile_pattern(pattern)


def compile_pattern(pattern):
    parts = []
    for i, piece in enumerate(re.split(r"\{\{(.*?)\}\}", pattern)):
        if i % 2:
            parts.append(f"(?:{piece})")
        else:
            parts.extend(r"[ \t]+" if p.isspace() else re.escape(p) for p in re.split(r"([ \t]+)", piece) if p)
    return re.compile("".join(parts))


def parse_directives(path):
    """(passes, extra args, expected exit, checks); raises ValueError on a bad file."""
    passes, args, exit_code, checks = None, [], 0, []
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            m = DIRECTIVE.search(text)
            if not m:
                continue
            kind, value = m.groups()
            if kind == "RUN-PASSES":
                passes = value
            elif kind == "RUN-ARGS":
                args += value.split()
            elif kind == "EXPECT-EXIT":
                exit_code = int(value)
            else:
                if not value and kind != "CHECK-NEXT":
                    raise ValueError(f"{path}:{n}: {kind} has an empty pattern")
                try:
                    checks.append(Check(kind, value, n))
                except re.error as e:
                    raise ValueError(f"{path}:{n}: bad {{{{regex}}}} in {kind}: {e}")
    if passes is None:
        raise ValueError(f"{path}: no '# RUN-PASSES:' line")
    if not checks:
        raise ValueError(f"{path}: no CHECK lines")
    if checks[0].kind == "CHECK-NEXT":
        raise ValueError(f"{path}:{checks[0].line}: CHECK-NEXT needs a CHECK before it")
    return passes, args, exit_code, checks


def run_checks(path, checks, output):
    """None if every check holds, else the error text naming the failing line."""
    lines = output.split("\n")
    line, col = 0, 0          # where the next search starts
    last = -1                 # output line of the previous match
    pending_not = []          # CHECK-NOTs waiting for the next match (or the end)

    def context(at):
        shown = lines[at] if at < len(lines) else "<end of output>"
        return f"  scanning from output line {at + 1}: {shown}"

    def find(check, start_line, start_col, only_line=None):
        for i in range(start_line, len(lines) if only_line is None else min(only_line + 1, len(lines))):
            m = check.regex.search(lines[i], start_col if i == start_line else 0)
            if m:
                return i, m.end()
        return None

    def no_excluded(until_line, until_col):
        for c in pending_not:
            for i in range(line, min(until_line + 1, len(lines))):
                text = lines[i][:until_col] if i == until_line else lines[i]
                m = c.regex.search(text, col if i == line else 0)
                if m:
                    return (f"{path}:{c.line}: error: CHECK-NOT: excluded text found at output line {i + 1}\n"
                            f"  CHECK-NOT: {c.pattern}\n  {lines[i]}")
        return None

    for c in checks:
        if c.kind == "CHECK-NOT":
            pending_not.append(c)
            continue
        if c.kind == "CHECK-NEXT":
            found = find(c, last + 1, 0, only_line=last + 1)
            if not found:
                return (f"{path}:{c.line}: error: CHECK-NEXT: not found on the line after the previous match\n"
                        f"  CHECK-NEXT: {c.pattern}\n{context(last + 1)}")
        else:
            found = find(c, line, col)
            if not found:
                return f"{path}:{c.line}: error: CHECK: not found\n  CHECK: {c.pattern}\n{context(line)}"
        err = no_excluded(*found)
        if err:
            return err
        pending_not = []
        last, (line, col) = found[0], found
    return no_excluded(len(lines), 0)


def check_file(kiln, path):
    try:
        passes, args, exit_code, checks = parse_directives(path)
    except (ValueError, OSError) as e:
        return str(e)
    cmd = [kiln, "compile", path, f"--passes={passes}", "--emit", "ir", "-o", "-", *args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, errors="replace")
    except subprocess.TimeoutExpired:
        return f"{path}: error: kiln compile timed out"
    if p.returncode != exit_code:
        return (f"{path}: error: kiln compile exited {p.returncode}, expected {exit_code}\n"
                f"  {' '.join(cmd)}\n" + "".join(f"  {l}\n" for l in p.stderr.splitlines()[:10]))
    return run_checks(path, checks, p.stderr if exit_code else p.stdout)


def self_test():
    """The checker must fail where it should, naming the right line."""
    out = "kiln 1\ngraph g opset 17 {\n  y = Relu(x)\n  z = Add(y, y)\n  output z\n}\n"
    cases = [  # (checks as (kind, pattern), expected None or the failing check's line)
        ([("CHECK", "y = Relu(x)"), ("CHECK-NEXT", "z = Add")], None),
        ([("CHECK", "Relu"), ("CHECK-NOT", "Sub"), ("CHECK", "output z")], None),
        ([("CHECK", "z = {{[A-Z][a-z]+}}(y,  y)")], None),
        ([("CHECK", "Add"), ("CHECK", "Relu")], 2),          # order matters
        ([("CHECK", "graph"), ("CHECK-NEXT", "Add")], 2),    # Add is two lines on
        ([("CHECK", "Relu"), ("CHECK-NOT", "Add"), ("CHECK", "output")], 2),
        ([("CHECK", "output"), ("CHECK-NOT", "}")], 2),      # a trailing NOT reads to the end
        ([("CHECK", "Softmax")], 1),
    ]
    bad = 0
    for checks, want in cases:
        got = run_checks("t.kir", [Check(k, p, i + 1) for i, (k, p) in enumerate(checks)], out)
        got_line = int(re.match(r"t\.kir:(\d+):", got).group(1)) if got else None
        if got_line != want:
            bad += 1
            print(f"FAIL self-test {checks}: expected failure at {want}, got {got!r}")
    print(f"{len(cases) - bad} passed, {bad} failed")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("paths", nargs="*")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    files = []
    for p in a.paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".kir"))
        else:
            files.append(p)
    failed = 0
    for f in files:
        err = check_file(a.kiln, f)
        if err:
            failed += 1
            print(err)
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())
