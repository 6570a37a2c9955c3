#!/bin/sh
# Runs a libFuzzer harness (tests/fuzz) for SECONDS: tools/fuzz.sh NAME|all SECONDS.
# Builds build-fuzz with clang (ASan + UBSan + libFuzzer) the first time. The corpus grows in
# build-fuzz/corpus/NAME, seeded from tests/fuzz/corpus/NAME and, where present, from the real
# files in ../shared and Debian (the tiny Darknet cfgs — the big ones make each run write megabytes of
# weights —, the TFLite models, ONNX's conformance models, two demo photos); a crash is saved in
# tests/fuzz/crashes/NAME (commit it: ctest in build-fuzz replays it) and fails the run.
# Prints each run's executions, coverage (libFuzzer's "cov") and corpus size. The saved crashes
# are replayed first (each must now pass: they are the regression tests).
set -eu
cd "$(dirname "$0")/.."
name=${1:?usage: tools/fuzz.sh NAME|all SECONDS}
seconds=${2:?usage: tools/fuzz.sh NAME|all SECONDS}
all="image-probe image-decode tfjs darknet tflite onnx coco captions voc yolo csv dmsm"
[ "$name" = all ] && names=$all || names=$name
jobs=$(nproc)

command -v clang >/dev/null 2>&1 || tools/setup-deps.sh --fuzz
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang cmake -S . -B build-fuzz -DQUORUM_FUZZ=ON -DQUORUM_GUI=OFF -DQUORUM_CUDA=OFF -DQUORUM_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets=""
for n in $names; do targets="$targets --target fuzz-$n"; done
# shellcheck disable=SC2086
cmake --build build-fuzz -j"$jobs" $targets >/dev/null

status=0
for n in $names; do
  if ls tests/fuzz/crashes/"$n"/* >/dev/null 2>&1; then
    if ! build-fuzz/tests/fuzz/fuzz-"$n" -runs=0 tests/fuzz/crashes/"$n" >build-fuzz/replay-$n.log 2>&1; then
      echo "fuzz-$n: a saved crash fails again (build-fuzz/replay-$n.log)"
      status=1
    fi
  fi
done
for n in $names; do
  corpus=build-fuzz/corpus/$n
  crashes=tests/fuzz/crashes/$n
  mkdir -p "$corpus" "$crashes"
  cp -n tests/fuzz/corpus/"$n"/* "$corpus"/ 2>/dev/null || true
  case "$n" in
    darknet) for f in ../shared/models/darknet/*tiny*.cfg; do [ -f "$f" ] && cp -n "$f" "$corpus"/; done ;;
    tflite) cp -n ../shared/models/pretrained/*.tflite "$corpus"/ 2>/dev/null || true ;;
    onnx) # ONNX's conformance cases (Debian libonnx-testdata): one small model per case
      for d in /usr/share/libonnx-testdata/data/node/*/; do
        [ -f "$d/model.onnx" ] && cp -n "$d/model.onnx" "$corpus/$(basename "$d").onnx"
      done 2>/dev/null || true ;;
    image-probe) cp -n resources/demo/skimage-coffee.png resources/demo/darknet-eagle.jpg "$corpus"/ 2>/dev/null || true ;;
  esac
  log=build-fuzz/fuzz-$n.log
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     build-fuzz/tests/fuzz/fuzz-"$n" "$corpus" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 \
       -max_len=1048576 -report_slow_units=100 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="FOUND (see $log; the input is in $crashes)"
    # QUORUM_FUZZ_REPORT_ONLY=1 (CI): a new finding is reported, not failed on; a saved crash
    # that fails again always fails
    [ "${QUORUM_FUZZ_REPORT_ONLY:-0}" = 1 ] || status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  files=$(ls "$corpus" | wc -l)
  echo "fuzz-$n: ${seconds} s, ${execs:-?} executions, ${cov:-cov: ?}, corpus $files files: $result"
done
exit "$status"
