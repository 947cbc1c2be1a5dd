#!/usr/bin/env bash
# Kernel runtime test: build Linux 6.12 through dsu-cc with the DSU runtime
# (runtime/kernel/, built in as kernel/dsu/), build the hand-written patch
# module (handpatch/) against it, and in QEMU apply it, check /proc/version,
# refuse rmmod and a revert while the new code is active, revert, rmmod
# (runtime-guest.sh). Passes only if every guest check passed and the log
# shows no oops or warning. Prints the registry figures and the apply's
# pause and total time.
#   test-runtime.sh BUILD_DIR DSU_CC
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath -m "$1")
dsucc=$2
tree=$build/kernel/dsu/linux
work=$build/kernel/runtime

"$here/kbuild.sh" "$build" dsu "$dsucc"

status=0
if grep -nE "kernel/dsu/.*(warning|error):" "$build/kernel/dsu/build.log"; then
  echo "test-runtime: FAIL: the runtime builds with warnings"
  status=1
fi
# The runtime must not run through the pointers it rewrites (dsu-cc leaves
# kernel/dsu/ out).
if nm "$tree/vmlinux" | grep -E " __dsu_v0_dsu_" | head -5 | grep .; then
  echo "test-runtime: FAIL: the runtime itself was instrumented"
  status=1
fi

# The patch targets version_proc_show of this very build: take the unit's
# name and hash from its manifest.
manifest=$tree/fs/proc/version.o.dsu.json
read -r tu unit_hash < <(python3 - "$manifest" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
f = [f for f in m["functions"] if f["name"] == "version_proc_show"]
if not f or not f[0].get("updateable"):
    sys.exit("version_proc_show is not updateable in " + sys.argv[1])
print(m["tu"], m["unit_hash"])
EOF
)
seq_file_hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["unit_hash"])' "$tree/fs/seq_file.o.dsu.json")
echo "test-runtime: patching $tu:version_proc_show (unit hash ${unit_hash:0:12}...)"

# Built in a copy, so the source directory stays free of build products.
rm -rf "$work/handpatch"
mkdir -p "$work/handpatch"
cp "$here/handpatch/Kbuild" "$here"/handpatch/*.c "$work/handpatch/"
if ! make -C "$tree" M="$work/handpatch" LLVM=-19 HANDPATCH_TU="$tu" \
     HANDPATCH_UNIT_HASH="$unit_hash" HANDPATCH_SEQ_FILE_HASH="$seq_file_hash" modules > "$work/handpatch.log" 2>&1; then
  cat "$work/handpatch.log"
  echo "test-runtime: FAIL: the patch module does not build"
  exit 1
fi
if grep -iE "warning|error" "$work/handpatch.log"; then
  echo "test-runtime: FAIL: the patch module builds with warnings"
  status=1
fi

stage=$work/stage
rm -rf "$stage"
mkdir -p "$stage"
cp "$work"/handpatch/handpatch.ko "$work"/handpatch/handpatch_stale.ko "$stage/"
cp "$here/runtime-guest.sh" "$stage/guest-extra.sh"
chmod +x "$stage/guest-extra.sh"
"$here/initramfs.sh" "$work/initramfs.cpio.gz" "$stage"/*

log=$work/boot.log
"$here/boot.sh" "$tree/arch/x86/boot/bzImage" "$work/initramfs.cpio.gz" "$log" --figures || status=1
tr -d '\r' < "$log" | grep -E "DSU-RUNTIME: (ok|FAIL|PASS)" || true

grep -q "DSU-WORKLOAD: PASS" "$log" || { echo "test-runtime: FAIL: the workload did not report PASS"; status=1; }
grep -q "DSU-RUNTIME: PASS" "$log" || { echo "test-runtime: FAIL: the guest checks did not all pass"; status=1; }

# The figures: the registry, each apply and revert (the second apply runs
# with the runtime's code already translated by QEMU).
tr -d '\r' < "$log" | grep -v DSU-RUNTIME | grep -o "dsu: \(registry:\|applied \|reverted \).*" || true
tr -d '\r' < "$log" | awk '/DSU-RUNTIME: proc: 1 handpatch/ {
  print "test-runtime: handpatch apply " ++n ": pause " $6 " us, total " $7 " us" }'
[ $status = 0 ] && echo "test-runtime: PASS"
exit $status
