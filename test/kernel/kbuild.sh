#!/usr/bin/env bash
# Builds Linux 6.12 (tinyconfig + config.fragment) with clang-19, either
# through dsu-cc (MODE=dsu) or plainly (MODE=plain), cached under BUILD_DIR:
#   test/kernel/kbuild.sh BUILD_DIR [dsu|plain] [DSU_CC] [NAME]
# The tree is BUILD_DIR/kernel/NAME/linux (NAME defaults to the mode: the
# benchmarks keep kernels of several policies side by side).
# DSU_KCONFIG_EXTRA=FILE merges a second fragment after config.fragment (the
# benchmarks' profiling kernel, the corpus tier's broader config).
# DSU_KERNEL_TARBALL=FILE builds another source tarball than Debian's
# installed linux-source-6.12 (the corpus tier's 6.12.117). Reruns are
# incremental; a changed dsu-cc, policy, fragment or tarball rebuilds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath -m "$1")
mode=${2:-dsu}
dsucc=${3:-$build/compiler/dsu-cc}
tarball=$(realpath "${DSU_KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}")
root=$build/kernel/${4:-$mode}
tree=$root/linux
log=$root/build.log

"$here/deps.sh"

mkdir -p "$root"
# The tree is the tarball's: another tarball (or another file at the same
# path) is extracted afresh.
source_id="$tarball $(stat -c '%s %Y' "$tarball")"
if [ "$(cat "$tree/.dsu-extracted" 2>/dev/null)" != "$source_id" ]; then
  rm -rf "$tree" "$root/linux-source-6.12"
  echo "kbuild: extracting $tarball into $tree"
  tar -C "$root" -xf "$tarball"
  mv "$root/linux-source-6.12" "$tree"
  echo "$source_id" > "$tree/.dsu-extracted"
fi
cd "$tree"

make_args=(LLVM=-19)
if [ "$mode" = dsu ]; then
  make_args+=("CC=$dsucc")
fi
# No DSU_CONFIG by default: the kernel tier checks that dsu-cc's default
# (everything that can be indirected, minus the built-in exclusions) boots.
# DSU_CONFIG=test/kernel/policy.cfg selects fs/ kernel/ mm/ ipc/ lib/ ... only.

# Rebuild from scratch when the compiler or its policy changed: kbuild only
# compares command lines, and the dsu-cc path does not change. A changed
# fragment only reconfigures: kbuild's own dependencies on CONFIG_ options
# (fixdep) rebuild what the options reach.
fragments=("$here/config.fragment")
[ -n "${DSU_KCONFIG_EXTRA:-}" ] && fragments+=("$(realpath "$DSU_KCONFIG_EXTRA")")
tools=$( { if [ "$mode" = dsu ]; then
             sha256sum "$dsucc" "$(dirname "$dsucc")/dsu-cc-core"
             echo "policy=${DSU_CONFIG:-}"
             if [ -n "${DSU_CONFIG:-}" ]; then sha256sum "$DSU_CONFIG"; fi
           fi; } | sha256sum | cut -c1-16)
stamp=$( { echo "$tools"; sha256sum "${fragments[@]}"; } | sha256sum | cut -c1-16)
if [ "$(cat .dsu-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "kbuild: configuring ($mode)"
  if [ "$(cat .dsu-tools-stamp 2>/dev/null)" != "$tools" ]; then
    make "${make_args[@]}" mrproper >/dev/null
  fi
  make "${make_args[@]}" tinyconfig >/dev/null
  scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >/dev/null
  make "${make_args[@]}" olddefconfig >/dev/null
  # Every requested option must have survived olddefconfig.
  missing=0
  while IFS= read -r line; do
    case "$line" in
      CONFIG_*=*) grep -qx "$line" .config || { echo "kbuild: $line not in .config"; missing=1; } ;;
      "# CONFIG_"*" is not set")
        opt=${line#\# }; opt=${opt%% *}
        if grep -q "^$opt=" .config; then echo "kbuild: $opt is set in .config"; missing=1; fi ;;
    esac
  done < <(cat "${fragments[@]}")
  [ $missing = 0 ] || exit 1
  echo "$tools" > .dsu-tools-stamp
  echo "$stamp" > .dsu-stamp
fi

# The DSU kernel runtime (runtime/kernel/README.md), built in as kernel/dsu/,
# put in by the user command for it, which also checks the configuration.
if [ "$mode" = dsu ]; then
  "$here/../../runtime/kernel/dsu-kernel-setup" "$tree" >/dev/null
fi

# `modules` too: it writes Module.symvers, which patch modules built against
# this tree (make M=...) need to resolve dsu_apply and the kernel's exports.
echo "kbuild: make ${make_args[*]} -j$(nproc) bzImage modules (log: $log)"
start=$(date +%s)
if ! make "${make_args[@]}" -j"$(nproc)" bzImage modules > "$log" 2>&1; then
  grep -E "error|Error" "$log" | head -30
  echo "kbuild: FAILED, see $log"
  exit 1
fi
echo "kbuild: $mode kernel built in $(( $(date +%s) - start )) s: $tree/arch/x86/boot/bzImage"
