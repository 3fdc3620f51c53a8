#!/bin/sh
# ninja demo: make the example model, compile it to C with kiln, build it
# into a program with the system C compiler, and run it.
set -e
out=build/demo
mkdir -p $out
echo "demo: writing $out/mlp.onnx (a 64-32-10 MLP with seeded weights)"
/usr/bin/python3 examples/mlp.py $out/mlp.onnx
echo "demo: build/kiln compile $out/mlp.onnx -o $out --name mlp"
build/kiln compile $out/mlp.onnx -o $out --name mlp
echo "demo: cc -std=c99 -Wall -Wextra -Werror -pedantic $out/mlp.c examples/demo_main.c build/libkiln_rt.a"
${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror -pedantic -I$out -Irtlib $out/mlp.c examples/demo_main.c build/libkiln_rt.a -lm -o $out/demo
echo "demo: running $out/demo"
$out/demo
