#!/usr/bin/env bash
# Kernel tier, end to end: dsu-patchgen makes a module from a real change to
# a kernel source file (test/kernel/patches/proc-version.diff: /proc/version
# gains a line from a new static function counting reads in a new global),
# and the booted dsu-cc kernel takes it live in QEMU while a reader is
# blocked on a pipe and /proc/version is held open; revert brings the old
# behaviour back (patch-guest.sh). Then a data-layout change: struct
# msg_queue (ipc/msg.c, wrapped by dsu-cc) gains a field while a message
# queue holds messages (test/kernel/patches/msg-queue-sends.diff), and shadow
# data: task_struct gains a field (test/kernel/patches/task-reads-shadow.diff,
# --shadow task_struct) counting reads of each task's /proc/PID/status. Also builds patches of 1, 10 and 100
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
# dsu-patchgen on NEW: OUT=$work/NAME, module staged as NAME.ko; prints
# its wall time (a figure).
patchgen() { # NAME WHAT [DSU-PATCHGEN ARGS...]
  local t0 secs name=$1 what=$2
  shift 2
  t0=$(date +%s.%N)
  if ! "$patchgen" "$tree" "$new" -o "$work/$name" --kernel "$tree" "$@" > "$work/$name.log" 2>&1; then
    cat "$work/$name.log"
    echo "test-patch: FAIL: dsu-patchgen for $what"
    exit 1
  fi
  secs=$(echo "$(date +%s.%N) - $t0" | bc)
  grep -v '^  ' "$work/$name.log"
  printf 'test-patch: figure: dsu-patchgen for %s: %.2f s\n' "$what" "$secs"
  cp "$work/$name/dsu_$name.ko" "$work/stage/$name.ko"
}
status=0
copy
(cd "$new" && patch -s -p1 < "$here/patches/proc-version.diff")
patchgen proc_version "the one-file kernel patch"
# A data-layout change: struct msg_queue (ipc/msg.c, wrapped by default)
# gains a field.
copy
(cd "$new" && patch -s -p1 < "$here/patches/msg-queue-sends.diff")
patchgen msg_sends "a wrapped struct gaining a field"
# pipe_read changes: applied (analysed) while a reader sleeps in it, and
# the same change without the analysis, which has to wait.
copy
(cd "$new" && patch -s -p1 < "$here/patches/pipe-read-note.diff")
patchgen pipe_read "pipe_read (safety analysed)"
patchgen pipe_read_nosafety "pipe_read without the analysis" --no-safety
# Shadow data: task_struct (a header's struct, never wrapped) gains a field.
copy
(cd "$new" && patch -s -p1 < "$here/patches/task-reads-shadow.diff")
patchgen task_reads "a shadow field in task_struct" --shadow task_struct
# (kernel/fork.c, which frees task_structs, is not in this patch: the shadow
# data of tasks freed by the running code stays, and dsu-patchgen says so.
# Freeing is covered by test/lit/patchgen/shadow.test.)
for n in 1 10 100; do
  copy
  "$here/gen-changes.py" "$tree" "$new" "$n" lib/kstrtox.c lib/vsprintf.c lib/bitmap.c
  patchgen "size$n" "$n functions"
done
rm -rf "$new"

clang-19 -O2 -static -Wall -Werror "$here/msgq.c" -o "$work/stage/msgq"
cp "$here/patch-guest.sh" "$work/stage/guest-extra.sh"
chmod +x "$work/stage/guest-extra.sh"
"$here/initramfs.sh" "$work/initramfs.cpio.gz" "$work"/stage/*
log=$work/boot.log
"$here/boot.sh" "$tree/arch/x86/boot/bzImage" "$work/initramfs.cpio.gz" "$log" --figures || status=1
tr -d '\r' < "$log" | grep -E "DSU-PATCH: (ok|FAIL|PASS)" || true
grep -q "DSU-PATCH: PASS" "$log" || { echo "test-patch: FAIL: the guest checks did not all pass"; status=1; }
# /proc/dsu: level name functions pause_us total_us
tr -d '\r' < "$log" | awk '/DSU-PATCH: size [0-9]+ round/ {
  sub(":", "", $5)
  printf "test-patch: figure: kernel patch of %3d functions (apply %s): pause %s us, total apply %s us\n", $3, $5, $9, $10 }'
tr -d '\r' < "$log" | awk '/DSU-PATCH: proc: 1 proc_version/ {
  printf "test-patch: figure: /proc/version patch: pause %s us, total apply %s us\n", $6, $7 }'
tr -d '\r' < "$log" | awk '/DSU-PATCH: shadow: 1 task_reads/ {
  printf "test-patch: figure: task_struct shadow-field patch: pause %s us, total apply %s us\n", $6, $7 }'
tr -d '\r' < "$log" | awk '/DSU-PATCH: types: 1 msg_sends/ {
  printf "test-patch: figure: struct msg_queue layout patch: pause %s us, total apply %s us\n", $6, $7 }'
[ $status = 0 ] && echo "test-patch: PASS"
exit $status
