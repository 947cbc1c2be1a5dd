#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs the
# whole suite through ctest (unit, lit, csmith differential, kernel tier).
# Exits non-zero on any failure.
#   DSU_BUILD_DIR   build tree (default: <repo>/build); the kernel build is
#                   cached inside it, so reruns are incremental
#   DSU_CTEST_ARGS  extra ctest arguments, e.g. "-LE kernel" to leave the
#                   kernel tier out of a quick local run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DSU_BUILD_DIR:-$root/build}

"$root/test/deps.sh"
"$root/test/kernel/deps.sh"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"
# Verbose: the csmith and kernel tests print their figures (functions
# indirected by reason, compile-time ratio) even when they pass.
# shellcheck disable=SC2086
ctest --test-dir "$build" --verbose --timeout 4800 ${DSU_CTEST_ARGS:-}
