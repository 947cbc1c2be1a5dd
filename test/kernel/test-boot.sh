#!/usr/bin/env bash
# Kernel tier test: build Linux 6.12 through dsu-cc, boot it in QEMU (TCG)
# with a busybox initramfs, run the guest workload, and pass only if it
# reports success with no oops or warning. Prints the breakdown of functions
# indirected versus left out and the compile-time ratio.
#   test-boot.sh BUILD_DIR DSU_CC
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath -m "$1")
dsucc=$2
tree=$build/kernel/dsu/linux

"$here/kbuild.sh" "$build" dsu "$dsucc"
"$here/initramfs.sh" "$build/kernel/initramfs.cpio.gz"

log=$build/kernel/boot.log
echo "test-boot: booting (log: $log)"
timeout 300 qemu-system-x86_64 -kernel "$tree/arch/x86/boot/bzImage" \
  -initrd "$build/kernel/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 reboot=t oops=panic" \
  -nographic -no-reboot -m 512 -smp 2 -accel tcg > "$log" 2>&1 || true
grep "DSU-" "$log" || true

status=0
grep -q "DSU-WORKLOAD: PASS" "$log" || { echo "test-boot: FAIL: the workload did not report PASS"; status=1; }
if grep -nE "Oops|BUG:|WARNING:|Kernel panic|general protection|Call Trace" "$log"; then
  echo "test-boot: FAIL: the guest log shows an oops or a warning"
  status=1
fi

python3 "$here/breakdown.py" "$tree" || status=1
"$here/compile-ratio.sh" "$tree" "$dsucc" || true
[ $status = 0 ] && echo "test-boot: PASS"
exit $status
