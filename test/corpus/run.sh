#!/usr/bin/env bash
# The corpus tier (issue 20, ctest label `corpus`, not in CI: the kernel
# alone takes longer than CI's budget): the real stable fixes of Linux
# 6.12.118 against 6.12.117 in ../shared/corpus/linux-6.12.118-fixes, each
# made into a live patch by dsu-patchgen from the fix as it shipped, and
# applied in QEMU while a workload exercises the fixed code; then reverted
# and the workload run again. One line per fix (applied, or refused with
# dsu-patchgen's file:line and reason) and a total.
#   test/corpus/run.sh [--build-only] [FIX-NUMBER ...]
#   DSU_BUILD_DIR   build tree (default: <repo>/build); the kernel is cached in
#                   it (BUILD/kernel/corpus) and reused while dsu-cc, the
#                   fragments and the tarball stay the same
#   DSU_CORPUS      the fixes (default: <repo>/../shared/corpus/linux-6.12.118-fixes)
# The base is Debian's linux-source-6.12 6.12.117, fetched with apt-get
# download; when the archive no longer serves it the tier says so and fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(realpath -m "${DSU_BUILD_DIR:-$repo/build}")
corpus=$(realpath -m "${DSU_CORPUS:-$repo/../shared/corpus/linux-6.12.118-fixes}")
build_only=0
only=()
for arg in "$@"; do
  case "$arg" in
    --build-only) build_only=1 ;;
    *) only+=("$arg") ;;
  esac
done
cache=$build/corpus
work=$cache/work
mkdir -p "$cache"
[ -d "$corpus" ] || { echo "corpus: FAIL: no corpus at $corpus"; exit 1; }

# 1. The base source, 6.12.117.
base_version=6.12.117-1~deb12u1
tarball=$cache/linux-source-$base_version.tar.xz
"$here/fetch-source.sh" "$base_version" "$tarball" \
  "the fixes are against it, so the tier cannot run"

# 2. The dsu-cc kernel: tinyconfig + the kernel tier's fragment + ours.
DSU_KERNEL_TARBALL=$tarball DSU_KCONFIG_EXTRA=$here/config.fragment \
  "$repo/test/kernel/kbuild.sh" "$build" dsu "$build/compiler/dsu-cc" corpus
tree=$build/kernel/corpus/linux
[ $build_only = 1 ] && exit 0

# 3. Each fix, as it shipped, in one command: dsu-patchgen --diff applies it
# to a hard-linked copy of the built tree and makes the module.
rm -rf "$work" && mkdir -p "$work/stage"
declare -A verdict
fixes=()
for fix in "$corpus"/*.patch; do
  num=$(basename "$fix" | cut -d- -f1)
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $num " ]]; then continue; fi
  fixes+=("$num")
  name=fix$num
  set +e
  "$build/patchgen/dsu-patchgen" --kernel "$tree" --diff "$fix" -o "$work/$name" \
    > "$work/$name.log" 2>&1
  rc=$?
  set -e
  if [ $rc = 0 ]; then
    cp "$work/$name/dsu_$name.ko" "$work/stage/$name.ko"
    verdict[$num]="built"
  elif [ $rc = 3 ]; then
    # Nothing this config compiles changed: dsu-patchgen's notes say why.
    # (dsu-patchgen's first note or warning says why).
    why=$(grep -m1 -E ': (note|warning): ' "$work/$name.log" | sed -E 's/.*: (note|warning): //' || true)
    verdict[$num]="nothing to patch: $why"
  else
    why=$(grep -m1 -E "error:" "$work/$name.log" || tail -1 "$work/$name.log")
    verdict[$num]="refused: $why"
  fi
done

# 4. The whole update at once (cumulative.sh): 6.12.117 -> 6.12.118 as one
# patch of every file it can carry; only when all fixes were asked for.
cumulative=""
oops=0
if [ ${#only[@]} = 0 ]; then
  if "$here/cumulative.sh" "$build" "$tree" "$work" "$tarball"; then
    [ -f "$work/cumulative.ko" ] && cp "$work/cumulative.ko" "$work/stage/cumulative.ko"
    cumulative="no patch: nothing this config compiles changed"
    [ -f "$work/cumulative.ko" ] && cumulative="built"
  else
    cumulative="failed: $(tail -1 "$work/cumulative.log" 2>/dev/null || echo 'see above')"
  fi
fi

# 5. One boot: each built patch applied while its workload runs, reverted,
# the workload again (corpus-guest.sh).
if ls "$work"/stage/*.ko >/dev/null 2>&1; then
  clang-19 -O2 -static -Wall -Werror "$here/corpus-workload.c" -o "$work/stage/corpus-workload"
  cp "$here/corpus-guest.sh" "$work/stage/guest-extra.sh"
  chmod +x "$work/stage/guest-extra.sh"
  "$repo/test/kernel/initramfs.sh" "$work/initramfs.cpio.gz" "$work"/stage/*
  log=$work/boot.log
  # The staged modules unpack into the guest's memory first: a patch's
  # safety table (its unsafe frames over the whole kernel) makes a module of
  # up to ~19 MiB, which 20 of them do not fit in 512 MiB.
  DSU_GUEST_MEMORY=2048 \
    "$repo/test/kernel/boot.sh" "$tree/arch/x86/boot/bzImage" "$work/initramfs.cpio.gz" "$log" || true
  tr -d '\r' < "$log" > "$work/boot.txt"
  for num in "${fixes[@]}"; do
    [ "${verdict[$num]}" = built ] || continue
    line=$(grep -m1 "^DSU-CORPUS: fix$num " "$work/boot.txt" || true)
    case "$line" in
      *" applied "*) verdict[$num]="applied live${line#*applied}" ;;
      "") verdict[$num]="built, but the guest did not report it (see $log)" ;;
      *) verdict[$num]="failed in the guest: ${line#DSU-CORPUS: fix$num }" ;;
    esac
  done
  if [ "$cumulative" = built ]; then
    line=$(grep -m1 "^DSU-CORPUS: cumulative " "$work/boot.txt" || true)
    case "$line" in
      *" applied "*) cumulative="applied live${line#*applied}" ;;
      "") cumulative="built, but the guest did not report it (see $log)" ;;
      *) cumulative="failed in the guest: ${line#DSU-CORPUS: cumulative }" ;;
    esac
  fi
  if grep -nE "Oops|BUG:|WARNING:|Kernel panic|general protection" "$work/boot.txt" | head -5; then
    echo "corpus: the guest log shows an oops or a warning (above)"
    oops=1
  fi
fi

# 6. The table, and the whole update by file.
applied=0
for num in "${fixes[@]}"; do
  fix=$(ls "$corpus"/"$num"-*.patch)
  printf 'corpus: %-70s %s\n' "$(basename "$fix" .patch)" "${verdict[$num]}"
  [[ "${verdict[$num]}" == "applied live"* ]] && applied=$((applied + 1))
done
nothing=0
for num in "${fixes[@]}"; do
  [[ "${verdict[$num]}" == "nothing to patch"* ]] && nothing=$((nothing + 1))
done
echo "corpus: total: $applied of ${#fixes[@]} fixes applied live, $nothing with nothing to patch in this config, $(( ${#fixes[@]} - applied - nothing )) refused or failed"
if [ -n "$cumulative" ]; then
  echo "corpus: 6.12.117 -> 6.12.118 as one patch: $cumulative"
  for kind in carried unchanged refused removed "not built" "not C"; do
    printf 'corpus:   %-10s %5d files\n' "$kind" "$(grep -c "^$kind " "$work/cumulative.txt" || true)"
  done
  grep -E "^(carried|refused|removed) " "$work/cumulative.txt" | sed 's/^/corpus:   /'
  echo "corpus: every changed file of the update: $work/cumulative.txt"
fi
# Passes at the target (issue 20): of all the fixes at most one not applied
# live (of fixes named on the command line: none), no oops or warning in the
# guest, and the whole update applied live.
allowed=1
[ ${#only[@]} = 0 ] || allowed=0
[ $applied -ge $(( ${#fixes[@]} - allowed )) ] && [ "$oops" = 0 ] &&
  { [ -z "$cumulative" ] || [[ "$cumulative" == "applied live"* ]]; }
