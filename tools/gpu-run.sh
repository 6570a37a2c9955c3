#!/bin/sh
# Runs on the GPU machine (prepared by tools/gpu-check.sh): the CUDA backend's tests, the engine's
# op tests on CUDA, and `bench detect --device cuda` with PyTorch beside it. Output goes to
# $OUT (the device tool brings it back). The binaries were built with this tree's path on the
# build machine; a link from that path to here makes their compiled-in paths valid.
set -u
here=$PWD
out=${OUT:-/tmp/quorum-gpu-out}
mkdir -p "$out"
# the libraries travel packed (tools/gpu-check.sh)
[ -f .devlibs/libs.tar.xz ] && [ ! -f .devlibs/libglib-2.0.so.0 ] && tar -C .devlibs -xJf .devlibs/libs.tar.xz
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
# What runs can be narrowed, for a second short call: GPU_TESTS / ENGINE_TESTS (test paths, -p
# prefixes; default all), BENCH (model:seconds:precisions …), PROFILE (models profiled per op),
# RUNNER=0 (skips timing a run over a folder), SELECT=0 (skips decoding's lists on the GPU against whole outputs), SCAN=N (photos for bench scan; 0 skips it), SCAN_LARGE=N (4032 × 3024 photos, whole or reduced decoding; 0 skips),
# DEPTHWISE=0 (skips the tiled depthwise kernel and FP16 activations against the old path), DMSM=0
# (skips the caption model's training on CPU and CUDA); BENCH=none
# and PROFILE=none skip those.
GPU_TESTS=${GPU_TESTS:-$(.devbin/test-gpu -l | grep "^/")}
ENGINE_TESTS=${ENGINE_TESTS:-$(.devbin/test-engine -l | grep "^/"; .devbin/test-models -l | grep "^/")}
BENCH=${BENCH:-centernet.json:80:fp16,fp32 nanodet.json:60:fp16,fp32 yolov4-tiny.cfg:60:fp16,fp32 yolov4.cfg:100:fp16,fp32}
PROFILE=${PROFILE:-centernet.json yolov4-tiny.cfg}
export GPU_TESTS ENGINE_TESTS
fresh_catalog () {   # the runner's timings each start from an indexed, undetected catalog
  rm -f /tmp/quorum-runner/db.sqlite*
  .devbin/quorum index -q --db /tmp/quorum-runner/db.sqlite /tmp/quorum-runner/photos > /dev/null 2>&1
}
model_path () {
  case $1 in *.cfg) echo "$QUORUM_DARKNET_DIR/$1" ;; *) echo "$QUORUM_MODELS_DIR/$1" ;; esac
}
{
  date -u +%T
  nvidia-smi -L
  .devbin/quorum devices
  echo "profilers: $(command -v nsys ncu compute-sanitizer | tr '\n' ' ')"
  # the op tests on CUDA beside test-gpu (both correctness, 16 cores): its output is shown after;
  # each test in its own process, so that a crash costs one test, not the rest
  (export QUORUM_DEVICE=cuda QUORUM_PRECISION=fp32
   timeout 100 sh -c 'for t in $ENGINE_TESTS; do case $t in /models/*) b=test-models ;; *) b=test-engine ;; esac
                      timeout 40 .devbin/$b -p "$t" 2>&1 || echo "FAILED ($?): $t"; done' \
     > "$out/test-engine.txt" 2>&1; echo "exit $?" >> "$out/test-engine.txt") &
  echo "== test-gpu"
  timeout 150 sh -c 'for t in $GPU_TESTS; do timeout 60 .devbin/test-gpu -p "$t" --verbose 2>&1 || echo "FAILED ($?): $t"; done' \
    2>&1 | grep -v -E "DEBUG|^# (Start|End) of|random seed|^1\.\.1$"
  wait
  echo "== test-engine and test-models on CUDA (fp32)"
  grep -E "^(ok|not ok|FAILED|exit)|ERROR" "$out/test-engine.txt"
  date -u +%T
  echo "== bench (one model at a time: a failure costs one model, not the rest; planning logged in bench-*.log)"
  for spec in $BENCH; do
    [ "$spec" = none ] && continue
    name=${spec%%:*}; rest=${spec#*:}; limit=${rest%%:*}; precisions=${rest#*:}
    G_MESSAGES_DEBUG=quorum-gpu,quorum-engine timeout "$limit" .devbin/quorum bench detect --device cuda --repeat 10 \
      --precisions "$precisions" --image "$QUORUM_IMAGES_DIR/darknet-dog.jpg" --model "$(model_path "$name")" \
      2> "$out/bench-$name.log"
    echo "($name: exit $?, $(date -u +%T))"
    grep -E -i "segmentation|error|critical|warning" "$out/bench-$name.log" | head -5
  done
  if [ "${SELECT:-1}" = 1 ]; then
    # issue 19's decoding on the GPU: CenterNet's peaks and NanoDet's and YOLO's rows above the
    # threshold kept by kernels and downloaded alone (1, the default), or (QUORUM_GPU_SELECT=0) the
    # outputs downloaded whole and searched on the CPU, as before
    echo "== fp16, end to end: what decoding reads kept on the GPU (1) or the outputs whole (0)"
    for name in centernet.json nanodet.json yolov4.cfg; do
      for select in 0 1; do
        QUORUM_GPU_SELECT=$select timeout 40 .devbin/quorum bench detect --device cuda --repeat 20 --precisions fp16 \
          --no-peer --image "$QUORUM_IMAGES_DIR/darknet-dog.jpg" --model "$(model_path $name)" 2> /dev/null \
          | grep -E "quorum" | sed "s/^/QUORUM_GPU_SELECT=$select /"
      done
    done
  fi
  if [ "${DEPTHWISE:-1}" = 1 ]; then
    # issue 19: the tiled depthwise kernel (gpu/depthwise-tile.h) and FP16 activations between
    # convolutions, against the generic kernel and FP32 activations as before:
    # "0 0" is the old path, "1 0" the tiled kernel alone, "1 1" both (the default)
    echo "== fp16, end to end: QUORUM_GPU_DEPTHWISE (tiled kernel) and QUORUM_GPU_HALF (FP16 activations)"
    for name in centernet.json nanodet.json yolov4.cfg; do
      for conf in "0 0" "1 0" "1 1"; do
        set -- $conf
        QUORUM_GPU_DEPTHWISE=$1 QUORUM_GPU_HALF=$2 timeout 40 .devbin/quorum bench detect --device cuda --repeat 20 \
          --precisions fp16 --no-peer --image "$QUORUM_IMAGES_DIR/darknet-dog.jpg" --model "$(model_path $name)" \
          2> /dev/null | grep -E "quorum" | sed "s/^/DEPTHWISE=$1 HALF=$2 /"
      done
    done
    for conf in "0 0" "1 1"; do
      set -- $conf
      QUORUM_GPU_DEPTHWISE=$1 QUORUM_GPU_HALF=$2 QUORUM_CUDA_PROFILE=1 timeout 60 .devbin/quorum bench detect \
        --device cuda --repeat 3 --precisions fp16 --no-peer --image "$QUORUM_IMAGES_DIR/darknet-dog.jpg" \
        --model "$(model_path centernet.json)" 2>&1 > /dev/null | grep -E "profile of|  [a-z_]+ +[0-9.]+ ms" \
        | sed "s/^/DEPTHWISE=$1 HALF=$2 /"
    done
    # how far FP16 activations move the answers (test-gpu prints the worst difference from the CPU)
    for h in 0 1; do
      QUORUM_GPU_HALF=$h timeout 60 .devbin/test-gpu -p /gpu/matches-cpu/centernet.json/fp16 \
        -p /gpu/matches-cpu/nanodet.json/fp16 -p /gpu/matches-cpu/yolov4.cfg/fp16 2>&1 \
        | grep -E "worst|^(ok|not ok)" | sed "s/^/HALF=$h /"
    done
  fi
  if [ "${RUNNER:-1}" = 1 ]; then
    copies=${RUNNER_COPIES:-100}
    echo "== runner: quorum detect --device cuda over $copies copies of the photos, JPEG decoding overlapped with the GPU or not"
    rm -rf /tmp/quorum-runner && mkdir -p /tmp/quorum-runner/photos
    for i in $(seq 1 "$copies"); do
      for f in "$QUORUM_IMAGES_DIR"/*.jpg; do cp "$f" "/tmp/quorum-runner/photos/$i-$(basename "$f")"; done
    done
    for pipeline in 0 1 0 1; do
      fresh_catalog
      start=$(date +%s.%N)
      QUORUM_RUN_PIPELINE=$pipeline timeout 60 .devbin/quorum detect -q --device cuda --db /tmp/quorum-runner/db.sqlite \
        --collection /tmp/quorum-runner/photos > /dev/null 2>&1
      echo "pipeline=$pipeline: exit $?, $(awk "BEGIN { print $(date +%s.%N) - $start }") s"
    done
    for together in 0 1; do
      fresh_catalog
      start=$(date +%s.%N)
      QUORUM_PEERS_TOGETHER=$together timeout 120 .devbin/quorum peers run -q --device cuda \
        --db /tmp/quorum-runner/db.sqlite --collection /tmp/quorum-runner/photos > /dev/null 2>&1
      echo "peers run (the four default peers, one pass; networks at the same time: $together): exit $?, $(awk "BEGIN { print $(date +%s.%N) - $start }") s"
    done
  fi
  if [ "${SCAN:-20000}" != 0 ]; then
    echo "== bench scan: ${SCAN:-20000} generated 640 × 480 JPEGs through the default peers on CUDA, into a catalog"
    timeout 300 .devbin/quorum bench scan --photos "${SCAN:-20000}" --dir /tmp/quorum-scan --device cuda 2>&1 | tail -8
    echo "(scan: exit $?)"
  fi
  if [ "${SCAN_LARGE:-500}" != 0 ]; then
    # phone-sized photos: decoded whole (0) or reduced by DCT scaling to the networks' size (1)
    echo "== bench scan: ${SCAN_LARGE:-500} generated 4032 × 3024 JPEGs on CUDA, QUORUM_DECODE_SCALE=0 then 1"
    for scale in 0 1; do
      QUORUM_DECODE_SCALE=$scale timeout 120 .devbin/quorum bench scan --photos "${SCAN_LARGE:-500}" --size 4032x3024 \
        --dir /tmp/quorum-scan --device cuda 2>&1 | grep -E "peers run|CPU time|GPU busy" | sed "s/^/QUORUM_DECODE_SCALE=$scale /"
    done
  fi
  if [ "${ONNX:-1}" = 1 ] && [ -f .devdata/onnx/v8/cpu.jsonl ]; then
    echo "== ONNX on CUDA (QUORUM_ONNX_GPU=1) against Quorum's CPU answers made on the build machine"
    for kind in v8; do
      QUORUM_ONNX_GPU=1 timeout 60 .devbin/quorum detect --device cuda --threshold 0.25 \
        --model .devdata/onnx/$kind/model.onnx "$QUORUM_IMAGES_DIR/darknet-dog.jpg" > "$out/onnx-$kind.jsonl" \
        2> "$out/onnx-$kind.log"
      echo "($kind: exit $?)"
      python3 tools/compare-jsonl.py .devdata/onnx/$kind/cpu.jsonl "$out/onnx-$kind.jsonl"
    done
    QUORUM_ONNX_GPU=1 timeout 60 .devbin/quorum embed --device cuda --model .devdata/onnx/clip \
      "$QUORUM_IMAGES_DIR/darknet-dog.jpg" --text "a dog next to a bicycle" > "$out/onnx-clip.jsonl" 2> "$out/onnx-clip.log"
    echo "(clip: exit $?)"
    python3 tools/compare-jsonl.py .devdata/onnx/clip/cpu.jsonl "$out/onnx-clip.jsonl"
    # FP16 (the engine's convolutions in half, products on TF32 tensor cores): test-gpu's FP16
    # tolerance is 3e-2 of the largest value
    QUORUM_ONNX_GPU=1 timeout 60 .devbin/quorum embed --device cuda --precision fp16 --model .devdata/onnx/clip \
      "$QUORUM_IMAGES_DIR/darknet-dog.jpg" --text "a dog next to a bicycle" > "$out/onnx-clip-fp16.jsonl" \
      2> "$out/onnx-clip-fp16.log"
    echo "(clip fp16: exit $?)"
    python3 tools/compare-jsonl.py .devdata/onnx/clip/cpu.jsonl "$out/onnx-clip-fp16.jsonl"
    grep -h "running on" "$out"/onnx-*.log | head -3
  fi
  if [ "${ONNX:-1}" = 1 ] && [ -f .devdata/onnx/node.tar.xz ]; then
    echo "== ONNX's conformance cases on CUDA (fp32), each against ONNX's expected outputs"
    mkdir -p /tmp/quorum-onnx && tar -C /tmp/quorum-onnx -xJf .devdata/onnx/node.tar.xz
    QUORUM_DEVICE=cuda QUORUM_PRECISION=fp32 QUORUM_ONNX_GPU=1 QUORUM_ONNX_TESTDATA=/tmp/quorum-onnx/node \
      timeout 120 .devbin/test-onnx -p /onnx/conformance > "$out/onnx-conformance.txt" 2>&1
    echo "(conformance: exit $?)"
    grep -E "In all|On CUDA|WRONG|ERROR|no CUDA kernel" "$out/onnx-conformance.txt" | head -20
  fi
  if [ "${DMSM:-1}" = 1 ]; then
    # the scenes are drawn there and their features made by the backbone on CUDA (the first run),
    # kept in /tmp for the CPU's run (the carry has no room for them)
    echo "== caption model (DMSM) training on 2,000 generated scenes' features: CUDA (fp32), then the CPU"
    for dev in cuda cpu; do
      timeout 150 .devbin/quorum bench dmsm --train 2000 --test 50 --epochs 5 --no-zero-shot --device $dev \
        --cache /tmp/quorum-dmsm-scenes.f32 2>&1 | grep -E -i "training|epoch|DMSM|error|critical"
      echo "($dev: exit $?)"
    done
  fi
  echo "== profile (synchronised after every node: per-op shares, not speeds)"
  for name in $PROFILE; do
    [ "$name" = none ] && continue
    QUORUM_CUDA_PROFILE=1 timeout 60 .devbin/quorum bench detect --device cuda --repeat 3 --precisions fp16 --no-peer \
      --image "$QUORUM_IMAGES_DIR/darknet-dog.jpg" --model "$(model_path "$name")" > /dev/null 2> "$out/profile-$name.log"
    echo "($name: exit $?)"
    grep -v DEBUG "$out/profile-$name.log"
  done
  date -u +%T
} 2>&1 | tee "$out/gpu-run.txt"
