#!/usr/bin/env bash
# Kernel tier, end to end: dsu-patchgen makes a module from a real change to
# a kernel source file (test/kernel/patches/proc-version.diff: /proc/version
# gains a line from a new static function counting reads in a new global),
# and the booted dsu-cc kernel takes it live in QEMU while a reader is
# blocked on a pipe and /proc/version is held open; revert brings the old
# behaviour back (patch-guest.sh). Also builds patches of 1, 10 and 100
# lib/ functions and prints dsu-patchgen's time and each apply's pause and
# total time.
#   test-patch.sh BUILD_DIR DSU_CC DSU_PATCHGEN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath -m "$1")
dsucc=$2
patchgen=$3
tree=$build/kernel/dsu/linux
work=$build/kernel/patch
new=$build/kernel/dsu/linux-new

"$here/kbuild.sh" "$build" dsu "$dsucc"
rm -rf "$work" && mkdir -p "$work/stage"

# NEW = a hard-linked copy of the built tree with the change applied, as a
# kernel engineer would make it; patch(1) writes new files, so the links of
# changed files break and everything else stays shared.
copy() {
  rm -rf "$new"
  cp -al "$tree" "$new"
}
status=0
copy
(cd "$new" && patch -s -p1 < "$here/patches/proc-version.diff")
start=$(date +%s.%N)
if ! "$patchgen" "$tree" "$new" -o "$work/proc_version" --kernel "$tree" > "$work/patchgen.log" 2>&1; then
  cat "$work/patchgen.log"
  echo "test-patch: FAIL: dsu-patchgen"
  exit 1
fi
secs=$(echo "$(date +%s.%N) - $start" | bc)
cat "$work/patchgen.log"
printf 'test-patch: figure: dsu-patchgen for the one-file kernel patch: %.2f s\n' "$secs"
cp "$work/proc_version/dsu_proc_version.ko" "$work/stage/proc_version.ko"

for n in 1 10 100; do
  copy
  "$here/gen-changes.py" "$tree" "$new" "$n" lib/kstrtox.c lib/vsprintf.c lib/bitmap.c
  start=$(date +%s.%N)
  if ! "$patchgen" "$tree" "$new" -o "$work/size$n" --kernel "$tree" > "$work/size$n.log" 2>&1; then
    cat "$work/size$n.log"
    echo "test-patch: FAIL: dsu-patchgen for the $n-function patch"
    exit 1
  fi
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  printf 'test-patch: figure: dsu-patchgen for %d functions: %.2f s\n' "$n" "$secs"
  cp "$work/size$n/dsu_size$n.ko" "$work/stage/size$n.ko"
done
rm -rf "$new"

cp "$here/patch-guest.sh" "$work/stage/guest-extra.sh"
chmod +x "$work/stage/guest-extra.sh"
"$here/initramfs.sh" "$work/initramfs.cpio.gz" "$work"/stage/*
log=$work/boot.log
boot() {
  echo "test-patch: booting (log: $log)"
  timeout 600 qemu-system-x86_64 -kernel "$tree/arch/x86/boot/bzImage" \
    -initrd "$work/initramfs.cpio.gz" -append "console=ttyS0 panic=-1 reboot=t oops=panic" \
    -nographic -no-reboot -m 512 -smp 2 -accel tcg > "$log" 2>&1 || true
}
# When the host is busy the guest's TSC calibration fails and it keeps time
# in jiffies: the pause then reads 0 (see test-runtime.sh). Boot again then.
coarse_clock() { grep -q "Switched to clocksource refined-jiffies" "$log"; }
boot
if coarse_clock; then
  echo "test-patch: the guest fell back to a jiffies clock; booting again for the figures"
  boot
fi
tr -d '\r' < "$log" | grep -E "DSU-PATCH: (ok|FAIL|PASS)" || true
grep -q "DSU-PATCH: PASS" "$log" || { echo "test-patch: FAIL: the guest checks did not all pass"; status=1; }
if grep -nE "Oops|BUG:|WARNING:|Kernel panic|general protection|Call Trace" "$log"; then
  echo "test-patch: FAIL: the guest log shows an oops or a warning"
  status=1
fi
# /proc/dsu: level name functions pause_us total_us
tr -d '\r' < "$log" | awk '/DSU-PATCH: size [0-9]+ round/ {
  sub(":", "", $5)
  printf "test-patch: figure: kernel patch of %3d functions (apply %s): pause %s us, total apply %s us\n", $3, $5, $9, $10 }'
tr -d '\r' < "$log" | awk '/DSU-PATCH: proc: 1 proc_version/ {
  printf "test-patch: figure: /proc/version patch: pause %s us, total apply %s us\n", $6, $7 }'
coarse_clock && echo "test-patch: note: the guest kept time in jiffies, the figures are not meaningful"
[ $status = 0 ] && echo "test-patch: PASS"
exit $status
