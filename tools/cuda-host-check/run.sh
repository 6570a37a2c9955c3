#!/bin/sh
# Runs the CUDA backend's code (inference/engine/backend-cuda.c) over host-device.c, a host-memory
# implementation of gpu/qr-cuda.h, with the GPU test suite and the engine's op tests: a check of
# the backend's planning and index arithmetic on a machine with no GPU. Not a GPU test (see
# host-device.c); the real one is tools/gpu-check.sh + tools/gpu-run.sh on the GPU machine.
# Needs build-gpu/quorum-config.h (tools/gpu-check.sh or a CUDA build makes it).
set -eu
cd "$(dirname "$0")/../.."
out=${TMPDIR:-/tmp}/quorum-cuda-host-check
mkdir -p "$out"
stb=$(dirname "$(find /usr/include -name stb_image.h | head -1)")
incs=$(find inference -type d -printf "-I %p ")
flags="-O2 -fopenmp -w -I build-gpu $incs -I gpu -I annotate -I tests -I $stb -DQUORUM_CUDA_LINKED=1
       -DQUORUM_SOURCE_DIR=\"$PWD\" -DQUORUM_DEMO_DIR=\"$PWD/resources/demo\""
libs=$(pkg-config --cflags --libs glib-2.0 gio-2.0 gmodule-2.0 json-glib-1.0 libjpeg libwebp openblas)
for t in test-gpu test-engine test-models; do
  # shellcheck disable=SC2086
  gcc $flags $(find inference -name "*.c") annotate/files.c gpu/module.c tools/cuda-host-check/host-device.c "tests/$t.c" tests/test-util.c \
      $libs -lm -o "$out/$t"
done
"$out/test-gpu" -k -s /gpu/describe "$@" 2>&1 | grep -v DEBUG   # describe names a real device
for t in test-engine test-models; do
  QUORUM_DEVICE=cuda QUORUM_PRECISION=fp32 "$out/$t" -k 2>&1 | grep -v DEBUG
done
