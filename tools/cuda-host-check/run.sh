#!/bin/sh
# Runs the CUDA backend's code (inference/engine/backend-cuda.c) over host-device.c, a host-memory
# implementation of gpu/qr-cuda.h, with the GPU test suite and the engine's op tests: a check of
# the backend's planning and index arithmetic on a machine with no GPU. Not a GPU test (see
# host-device.c); the real one is tools/gpu-check.sh + tools/gpu-run.sh on the GPU machine.
# Needs build-gpu/quorum-config.h (tools/gpu-check.sh or a CUDA build makes it). ONNX_TESTS="-p PATH …"
# and CLIP_TESTS narrow the ONNX and CLIP tests.
set -eu
cd "$(dirname "$0")/../.."
out=${TMPDIR:-/tmp}/quorum-cuda-host-check
mkdir -p "$out"
stb=$(dirname "$(find /usr/include -name stb_image.h | head -1)")
quorum=$PWD/build-gpu/quorum   # the CLI some ONNX tests call (tools/gpu-check.sh builds it)
[ -x "$quorum" ] || quorum=$PWD/build/quorum
incs=$(find inference annotate -type d -printf "-I %p ")
flags="-O2 -fopenmp -w -I build-gpu $incs -I gpu -I tests -I $stb -DQUORUM_CUDA_LINKED=1
       -DQUORUM_SOURCE_DIR=\"$PWD\" -DQUORUM_BINARY=\"$quorum\" -DQUORUM_DEMO_DIR=\"$PWD/resources/demo\""
libs=$(pkg-config --cflags --libs glib-2.0 gio-2.0 gmodule-2.0 json-glib-1.0 libjpeg libwebp openblas sqlite3)
# the engine, the catalog and host-device.c compiled once, into one archive the tests link
rm -rf "$out/objs" && mkdir -p "$out/objs"
for f in $(find inference annotate -name "*.c") gpu/module.c tools/cuda-host-check/host-device.c tests/test-util.c; do
  # shellcheck disable=SC2086
  gcc $flags $(pkg-config --cflags glib-2.0 json-glib-1.0 sqlite3) -c "$f" -o "$out/objs/$(echo "$f" | tr / _).o"
done
rm -f "$out/libhost.a" && ar rcs "$out/libhost.a" "$out"/objs/*.o
for t in test-gpu test-engine test-models test-darknet test-onnx test-clip; do
  # shellcheck disable=SC2086
  gcc $flags "tests/$t.c" "$out/libhost.a" $libs -lm -o "$out/$t"
done
# shellcheck disable=SC2086
gcc $flags -I bench tests/test-dmsm.c bench/scenes.c "$out/libhost.a" $libs $(pkg-config --cflags --libs cairo) -lm \
  -o "$out/test-dmsm"
"$out/test-gpu" -k -s /gpu/describe "$@" 2>&1 | grep -v DEBUG   # describe names a real device
# the caption model's training on the backend (issue 17): test-gpu's comparison with the CPU ran
# above; here a training run on it learns
QUORUM_DEVICE=cuda "$out/test-dmsm" -k -p /dmsm/training-learns 2>&1 | grep -v DEBUG
# test-darknet: the YOLO decoders reading the rows kept on the backend, against OpenCV's detections
for t in test-engine test-models test-darknet; do
  QUORUM_DEVICE=cuda QUORUM_PRECISION=fp32 "$out/$t" -k 2>&1 | grep -v DEBUG
done
# ONNX graphs (issue 18) on the backend: ONNX's conformance cases, the Ultralytics-shaped detectors
# and CLIP, each compared by the test with its reference (QUORUM_ONNX_GPU=1 lets them plan on CUDA)
QUORUM_DEVICE=cuda QUORUM_PRECISION=fp32 QUORUM_ONNX_GPU=1 "$out/test-onnx" -k ${ONNX_TESTS:-} 2>&1 | grep -v DEBUG
QUORUM_DEVICE=cuda QUORUM_PRECISION=fp32 QUORUM_ONNX_GPU=1 "$out/test-clip" -k ${CLIP_TESTS:-} 2>&1 | grep -v DEBUG
