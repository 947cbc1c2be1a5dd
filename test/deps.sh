#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing.
set -euo pipefail
exec "$(dirname "$0")/install-packages.sh" cmake ninja-build python3 clang-19 llvm-19 llvm-19-dev \
  llvm-19-tools libclang-19-dev libclang-cpp19-dev nlohmann-json3-dev libfmt-dev catch2 csmith \
  libcsmith-dev libc6-dev valgrind util-linux patch
