#!/bin/sh
# ninja demo: compile the hand-written example model examples/mlp.kir (kiln
# text) to C with kiln, build it into a program with the system C compiler,
# and run it. Also writes the optimised IR, which compiles like the source.
set -e
out=build/demo
mkdir -p $out
echo "demo: build/kiln compile examples/mlp.kir -o $out --name mlp   (a 64-32-10 MLP in kiln text)"
build/kiln compile examples/mlp.kir -o $out --name mlp
echo "demo: cc -std=c99 -Wall -Wextra -Werror -pedantic $out/mlp.c examples/demo_main.c build/libkiln_rt.a"
${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror -pedantic -I$out -Irtlib $out/mlp.c examples/demo_main.c build/libkiln_rt.a -lm -o $out/demo
echo "demo: running $out/demo"
$out/demo
echo "demo: build/kiln compile examples/mlp.kir --emit ir -o $out/mlp.opt.kir   (the IR after the passes)"
build/kiln compile examples/mlp.kir --emit ir -o $out/mlp.opt.kir
sed -n '1,/^  [a-z0-9_]*:.*= /p' $out/mlp.opt.kir | cut -c1-110 | sed 's/^/  | /'
echo "  | ..."
