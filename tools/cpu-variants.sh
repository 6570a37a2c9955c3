#!/bin/sh
# Builds test-engine and test-models with the CPU kernels (ops-cpu*.c) compiled for one ISA only
# -- AVX2 (x86-64-v3) and the x86-64-v2 baseline -- and runs them: the build picks the best of the
# three clones for the machine it runs on, so the others are checked only this way (QR_CPU_LANES:
# with the blocks those CPUs run, whatever this one has). Needs a plain
# build in build/ (tools/test.sh makes one). Arguments: the tests to run (default test-engine,
# which checks every kernel against plain loops, and test-models, TF.js's outputs).
set -e
tests=${*:-test-engine test-models}
cd "$(dirname "$0")/../build"
FLAGS=$(grep C_FLAGS inference/CMakeFiles/inference.dir/flags.make | cut -d= -f2-)
INC=$(grep C_INCLUDES inference/CMakeFiles/inference.dir/flags.make | cut -d= -f2-)
DEF=$(grep C_DEFINES inference/CMakeFiles/inference.dir/flags.make | cut -d= -f2-)
for v in v3 base; do
  d=/tmp/variant-$v; rm -rf $d; mkdir -p $d
  if [ $v = v3 ]; then attr='__attribute__((target("arch=x86-64-v3")))'; lanes=8; else attr=''; lanes=4; fi
  for f in ops-cpu ops-cpu-tensor; do
    gcc $DEF $INC $FLAGS -O3 -march=x86-64-v2 "-DQR_CPU_CLONES=$attr" -DQR_CPU_LANES=$lanes -c ../inference/engine/$f.c -o $d/$f.c.o
  done
  cp inference/libinference.a $d/libinference.a
  (cd $d && ar r libinference.a ops-cpu.c.o ops-cpu-tensor.c.o)
  for t in $tests; do
    cmd=$(cat tests/CMakeFiles/$t.dir/link.txt | sed "s|../inference/libinference.a|$d/libinference.a|g; s| -o $t | -o $d/$t |")
    (cd tests && eval "$cmd")
  done
  echo "== the CPU kernels built for $v alone"
  for t in $tests; do
    (cd tests && $d/$t)
  done
done
