#!/bin/sh
# Runs on the GPU machine (prepared by tools/gpu-check.sh): the CUDA backend's tests, the engine's
# op tests on CUDA, and `bench detect --device cuda` with PyTorch beside it. Output goes to
# $OUT (the device tool brings it back). The binaries were built with this tree's path on the
# build machine; a link from that path to here makes their compiled-in paths valid.
set -u
here=$PWD
out=${OUT:-/tmp/quorum-gpu-out}
mkdir -p "$out"
export LD_LIBRARY_PATH="$here/.devlibs:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
src=$(cat .devdata/source-dir)
if [ ! -e "$src" ]; then
  mkdir -p "$(dirname "$src")" 2>/dev/null && ln -s "$here" "$src" 2>/dev/null || true
fi
if [ ! -e "$(dirname "$src")/shared" ]; then
  ln -s "$here/.devdata/shared" "$(dirname "$src")/shared" 2>/dev/null || true
fi
export QUORUM_MODELS_DIR="$here/.devdata/shared/models/pretrained"
export QUORUM_DARKNET_DIR="$here/.devdata/shared/models/darknet"
export QUORUM_IMAGES_DIR="$here/.devdata/shared/images"
export QUORUM_SOURCE_DIR="$here"
export QUORUM_CUDA_MODULE="$here/.devbin/libquorum-cuda.so"
{
  nvidia-smi -L
  .devbin/quorum devices
  echo "== test-gpu"
  timeout 240 .devbin/test-gpu -k --verbose 2>&1 | grep -v "^# quorum-engine-DEBUG"
  echo "== test-engine on CUDA (fp32)"
  QUORUM_DEVICE=cuda QUORUM_PRECISION=fp32 timeout 120 .devbin/test-engine -k 2>&1
  echo "== bench (one model at a time: a failure costs one model, not the rest)"
  for model in "$QUORUM_MODELS_DIR/centernet.json" "$QUORUM_MODELS_DIR/nanodet.json" \
               "$QUORUM_DARKNET_DIR/yolov4-tiny.cfg" "$QUORUM_DARKNET_DIR/yolov4.cfg"; do
    timeout 90 .devbin/quorum bench detect --device cuda --repeat 10 --image "$QUORUM_IMAGES_DIR/darknet-dog.jpg" \
      --model "$model" 2>&1 | grep -v "DEBUG"
  done
} 2>&1 | tee "$out/gpu-run.txt"
