#!/usr/bin/env bash
# Kernel tier test: build Linux 6.12 through dsu-cc, boot it in QEMU (TCG)
# with a busybox initramfs, run the guest workload, and pass only if it
# reports success with no oops or warning. Prints the breakdown of functions
# indirected versus left out (also as dsu-check reports it, after running
# dsu-analyze over the kernel's manifests) and the compile-time ratio.
#   test-boot.sh BUILD_DIR DSU_CC
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath -m "$1")
dsucc=$2
tree=$build/kernel/dsu/linux

"$here/kbuild.sh" "$build" dsu "$dsucc"
"$here/initramfs.sh" "$build/kernel/initramfs.cpio.gz"

log=$build/kernel/boot.log
status=0
"$here/boot.sh" "$tree/arch/x86/boot/bzImage" "$build/kernel/initramfs.cpio.gz" "$log" || status=1
grep "DSU-" "$log" || true

grep -q "DSU-WORKLOAD: PASS" "$log" || { echo "test-boot: FAIL: the workload did not report PASS"; status=1; }

python3 "$here/breakdown.py" "$tree" || status=1
# The safety analysis over the kernel's manifests (transactions: every
# system call and interrupt handler) and the CI check's breakdown by reason.
t0=$(date +%s.%N)
"$build/analysis/dsu-analyze" "$tree" -o "$tree/restrictions.json" || status=1
echo "test-boot: dsu-analyze over the kernel's manifests took $(echo "$(date +%s.%N) - $t0" | bc) s"
"$build/analysis/dsu-check" --summary "$tree" || status=1
python3 "$here/../types/figures.py" --kernel "$tree" || status=1
"$here/compile-ratio.sh" "$tree" "$dsucc" || true
[ $status = 0 ] && echo "test-boot: PASS"
exit $status
