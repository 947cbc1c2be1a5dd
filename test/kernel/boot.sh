#!/usr/bin/env bash
# Boots the dsu-cc kernel with an initramfs under QEMU (TCG) and keeps the
# serial log; shared by the kernel tests.
#   boot.sh BZIMAGE INITRAMFS LOG [--figures]
# --figures: the guest calibrates its TSC against the emulated PIT, which
# fails when the host is busy; it then keeps time in jiffies and measured
# pauses read 0. Boot once more in that case.
# Exit status 1 (with the lines) when the log shows an oops or a warning.
#   DSU_GUEST_MEMORY  the guest's memory in MiB (default 512); the initramfs
#                     unpacks into it, every staged patch module with it
set -uo pipefail
kernel=$1 initrd=$2 log=$3 figures=${4:-}
boot() {
  echo "boot: booting (log: $log)"
  timeout 600 qemu-system-x86_64 -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 reboot=t oops=panic" \
    -nographic -no-reboot -m "${DSU_GUEST_MEMORY:-512}" -smp 2 -accel tcg > "$log" 2>&1
}
coarse_clock() { grep -q "Switched to clocksource refined-jiffies" "$log"; }
boot
if [ "$figures" = --figures ] && coarse_clock; then
  echo "boot: the guest fell back to a jiffies clock (TSC calibration failed); booting again for the figures"
  boot
  coarse_clock && echo "boot: note: the guest kept time in jiffies again; its figures are not meaningful"
fi
if grep -nE "Oops|BUG:|WARNING:|Kernel panic|general protection|Call Trace" "$log"; then
  echo "boot: FAIL: the guest log shows an oops or a warning"
  exit 1
fi
exit 0
