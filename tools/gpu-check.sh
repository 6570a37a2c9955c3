#!/bin/sh
# Prepares one short run of the GPU tests and benchmarks on the GPU machine
# (../shared/device/README.md): builds here with CUDA on and the GUI off, copies the binaries to
# .devbin/, the libraries the GPU machine lacks to .devlibs/ (bundle-libs), and the models, photos
# and Darknet cfgs the tests use to .devdata/ (all git-ignored). Then, with the device tool:
#   run  carry: [".devbin", ".devlibs", ".devdata"]   command: sh tools/gpu-run.sh
set -eu
cd "$(dirname "$0")/.."
top=$PWD
cmake -S . -B build-gpu -DQUORUM_GUI=OFF -DQUORUM_CUDA=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-gpu -j"$(nproc)"
rm -rf .devbin .devdata
mkdir -p .devbin .devdata/shared/models/pretrained .devdata/shared/images
cp build-gpu/quorum build-gpu/tests/test-gpu build-gpu/tests/test-engine build-gpu/tests/test-models build-gpu/tests/test-darknet \
   build-gpu/tests/test-tflite build-gpu/gpu/libquorum-cuda.so .devbin/
../shared/device/bundle-libs .devbin/*
# the GPU machine has its own OpenBLAS (../shared/device/README.md); ours would take half the carry
rm -f .devlibs/libopenblas.so.0
cp -r ../shared/models/darknet .devdata/shared/models/
for f in centernet.json centernet.bin nanodet.json nanodet.bin ssd_mobilenetv2_oidv4_fp16.tflite \
         ssd_mobilenetv2_oidv4.labels blazeface_short_range.tflite; do
  cp "../shared/models/pretrained/$f" .devdata/shared/models/pretrained/
done
for f in darknet-dog.jpg darknet-person.jpg faceapi-sample4.jpg; do
  cp "../shared/images/$f" .devdata/shared/images/
done
# where the binaries think the source tree is (their compiled-in paths)
echo "$top" > .devdata/source-dir
du -shc .devbin .devlibs .devdata | tail -1
