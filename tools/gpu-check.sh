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
rm -rf .devbin .devdata .devlibs
mkdir -p .devbin .devdata/shared/models/pretrained .devdata/shared/images
cp build-gpu/quorum build-gpu/tests/test-gpu build-gpu/tests/test-engine build-gpu/tests/test-models build-gpu/tests/test-darknet \
   build-gpu/tests/test-tflite build-gpu/tests/test-onnx build-gpu/gpu/libquorum-cuda.so .devbin/
../shared/device/bundle-libs .devbin/*
# the GPU machine has its own OpenBLAS (../shared/device/README.md); ours would take half the carry
rm -f .devlibs/libopenblas.so.0
# packed (17 MB → a third): the carry is 64 MiB in all; gpu-run.sh unpacks them where they were
(cd .devlibs && tar -cf - ./*.so* | xz -6 > libs.tar.xz && rm -f ./*.so*)
cp -r ../shared/models/darknet .devdata/shared/models/
for f in centernet.json centernet.bin nanodet.json nanodet.bin ssd_mobilenetv2_oidv4_fp16.tflite \
         ssd_mobilenetv2_oidv4.labels blazeface_short_range.tflite; do
  cp "../shared/models/pretrained/$f" .devdata/shared/models/pretrained/
done
for f in darknet-dog.jpg darknet-person.jpg faceapi-sample4.jpg; do
  cp "../shared/images/$f" .devdata/shared/images/
done
# ONNX (issue 18): small YOLOv8/YOLO11-shaped detectors and a CLIP exported by PyTorch here, with
# Quorum's CPU answers on them, for gpu-run.sh to compare the CUDA path with (QUORUM_ONNX_GPU=1)
rm -rf .devdata/onnx && mkdir -p .devdata/onnx/v8 .devdata/onnx/clip
if /usr/bin/python3 -c "import torch, onnx" 2>/dev/null; then
  # YOLOv8 only: YOLO11's graph adds no op, and the carry is 64 MiB in all
  for kind in v8; do
    /usr/bin/python3 tests/reference/yolo-onnx.py export .devdata/onnx/$kind 17 $kind 320 2>/dev/null
    build-gpu/quorum detect --device cpu --threshold 0.25 --model .devdata/onnx/$kind/model.onnx \
      .devdata/shared/images/darknet-dog.jpg > .devdata/onnx/$kind/cpu.jsonl
  done
  /usr/bin/python3 tests/reference/clip-onnx.py ../shared/models/clip/reference export .devdata/onnx/clip 17 2>/dev/null
  cp ../shared/models/clip/bpe_simple_vocab_16e6.txt.gz .devdata/onnx/clip/
  build-gpu/quorum embed --device cpu --model .devdata/onnx/clip .devdata/shared/images/darknet-dog.jpg \
    --text "a dog next to a bicycle" > .devdata/onnx/clip/cpu.jsonl
else
  echo "gpu-check: PyTorch or ONNX for Python missing here: no ONNX check prepared"
fi
# ONNX's conformance cases (Debian libonnx-testdata, 13 MB, 2 MB packed) for test-onnx on CUDA
if [ -d /usr/share/libonnx-testdata/data/node ]; then
  tar -C /usr/share/libonnx-testdata/data -cf - node | xz -1 > .devdata/onnx/node.tar.xz
fi
# PyTorch's saved modules are for the reference runs here, not there
rm -f .devdata/onnx/*/model.pt
# where the binaries think the source tree is (their compiled-in paths)
echo "$top" > .devdata/source-dir
du -shc .devbin .devlibs .devdata | tail -1
total=$(du -sbc .devbin .devlibs .devdata | tail -1 | cut -f1)
if [ "$total" -gt $((64 * 1024 * 1024)) ]; then
  echo "gpu-check: the carry is $((total / 1048576)) MiB, over the device tool's 64 MiB" >&2
  exit 1
fi
