#!/bin/sh
# Sets up, builds and opens Quorum on the bundled demo collection (resources/demo).
set -eu
cd "$(dirname "$0")/.."
tools/setup-deps.sh
tools/fetch-models.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec build/quorum resources/demo
