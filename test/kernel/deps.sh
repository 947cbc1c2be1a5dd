#!/usr/bin/env bash
# Installs the kernel tier's Debian packages if any is missing.
set -euo pipefail
pkgs=(linux-source-6.12 qemu-system-x86 busybox-static lld-19 flex bison bc libelf-dev libssl-dev cpio clang-19 llvm-19 libc6-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${missing[@]}" >/dev/null
fi
