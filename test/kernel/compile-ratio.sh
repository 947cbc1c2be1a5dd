#!/usr/bin/env bash
# Prints the compile-time ratio dsu-cc / clang-19 over a sample of the
# kernel's instrumented files: each object's recorded compile command is
# rerun both ways into a scratch directory (the tree is not touched).
#   compile-ratio.sh KERNEL_TREE DSU_CC [SAMPLE=60]
set -euo pipefail
tree=$1
dsucc=$2
sample=${3:-60}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$tree"

mapfile -t objs < <(find fs kernel mm ipc lib -name '*.o.dsu.json' 2>/dev/null |
  xargs grep -l '"status": "instrumented"' | sed 's/\.dsu\.json$//' | sort | awk -v n="$sample" 'NR % 7 == 1 && c < n { print; c++ }')
plain_ns=0 dsu_ns=0 count=0
for obj in "${objs[@]}"; do
  cmdfile=$(dirname "$obj")/.$(basename "$obj").cmd
  [ -f "$cmdfile" ] || continue
  cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile" | sed 's/ ; .*//')
  # Retarget the object and dependency file into the scratch directory.
  cmd=${cmd//-Wp,-MMD,$(dirname "$obj")\/.$(basename "$obj").d/-Wp,-MMD,$scratch/dep.d}
  cmd=${cmd//-o $obj /-o $scratch/out.o }
  rest=${cmd#* }
  t0=$(date +%s%N); eval "clang-19 $rest" >/dev/null 2>&1 || continue; t1=$(date +%s%N)
  eval "$dsucc $rest" >/dev/null 2>&1 || continue; t2=$(date +%s%N)
  plain_ns=$((plain_ns + t1 - t0)); dsu_ns=$((dsu_ns + t2 - t1)); count=$((count + 1))
done
if [ "$count" -eq 0 ]; then
  echo "compile-ratio: no instrumented objects with recorded commands found"
  exit 1
fi
awk -v p="$plain_ns" -v d="$dsu_ns" -v n="$count" 'BEGIN {
  printf "compile-ratio: %d instrumented kernel files: clang-19 %.1f s, dsu-cc %.1f s, ratio %.2f\n", n, p / 1e9, d / 1e9, d / p }'
