#!/usr/bin/env bash
# Installs the kernel tier's Debian packages if any is missing.
set -euo pipefail
exec "$(dirname "$0")/../install-packages.sh" linux-source-6.12 qemu-system-x86 busybox-static \
  lld-19 flex bison bc libelf-dev libssl-dev cpio clang-19 llvm-19 libc6-dev
