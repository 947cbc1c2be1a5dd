#!/usr/bin/env bash
# Builds the guest's busybox initramfs with the workload:
#   initramfs.sh OUT.cpio.gz [EXTRA_FILE...]   (extra files land in /)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "$1"); shift
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$stage/bin/busybox"
for app in $("$stage/bin/busybox" --list); do
  [ -e "$stage/bin/$app" ] || ln -s busybox "$stage/bin/$app"
done
clang-19 -O2 -static -Wall -Werror "$here/workload.c" -o "$stage/workload"
for f in "$@"; do cp "$f" "$stage/"; done
cp "$here/init" "$stage/init"
chmod +x "$stage/init"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -9) > "$out"
