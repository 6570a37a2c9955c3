#!/bin/sh
# Sets up, builds and runs the whole test suite (GUI tests under Xvfb; GPU tests skip without a
# GPU). With --sanitize it builds and tests the headless layers with ASan + UBSan instead.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc)
if [ "${1:-}" = "--sanitize" ]; then
  tools/setup-deps.sh --no-gui
  cmake -S . -B build-asan -DQUORUM_SANITIZE=ON -DQUORUM_GUI=OFF -DQUORUM_CUDA=OFF \
        -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j"$jobs"
  exec ctest --test-dir build-asan --output-on-failure -j"$jobs"
fi
tools/setup-deps.sh
# TF.js for the reference tests (pinned in tests/reference/package-lock.json)
if [ ! -d tests/reference/node_modules/@tensorflow/tfjs ]; then
  (cd tests/reference && npm ci --silent --no-audit --no-fund) || echo "warning: npm ci failed: TF.js reference tests will skip"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
exec xvfb-run -a -s "-screen 0 1280x860x24" ctest --test-dir build --output-on-failure -j"$jobs"
