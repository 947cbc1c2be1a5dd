#!/usr/bin/env bash
# The whole stable update at once (issue 20): 6.12.117 -> 6.12.118, the diff
# of Debian's two linux-source-6.12 packages, restricted to the C this
# config builds, made into one live patch by dsu-patchgen --diff. Run by
# test/corpus/run.sh after the per-fix patches; the corpus kernel must be
# built (run.sh --build-only).
#   test/corpus/cumulative.sh BUILD TREE WORK BASE-TARBALL [NEW-TARBALL]
# BASE-TARBALL: the source TREE was built from (which files are source, not
# build output or the DSU runtime). NEW-TARBALL: the new version's source
# (default: 6.12.118, fetched); another lets the script run the other way,
# on a tree of 6.12.118.
# Writes WORK/cumulative.txt, one line per changed file of the update:
#   carried      FILE  (its functions are in the patch)
#   unchanged    FILE  (C, but no function this config compiles changed)
#   refused      FILE  file:line: error ... (left out of the patch)
#   not built    FILE  (this config compiles no object from it)
#   not C        FILE  (assembly, build files, documentation, tools ...)
# and WORK/cumulative.ko when a patch was made of the carried files. When
# Debian's archive no longer serves 6.12.118 it says so and fails.
set -euo pipefail
build=$1 tree=$2 work=$3 base_tarball=$4
cache=$build/corpus
new_version=6.12.118-1~deb12u1
tarball=${5:-$cache/linux-source-$new_version.tar.xz}
[ -z "${5:-}" ] || new_version=$(basename "$tarball" .tar.xz | sed 's/^linux-source-//')
"$(dirname "$0")/fetch-source.sh" "$new_version" "$tarball" \
  "the whole update cannot be made"
newtree=$cache/linux-$new_version
if [ ! -f "$newtree/.extracted" ]; then
  rm -rf "$newtree" && mkdir -p "$newtree"
  tar -xf "$tarball" -C "$newtree" --strip-components=1
  touch "$newtree/.extracted"
fi

# 1. What the update changes, against the built tree's sources (the build's
# own products exist only on the old side and are not compared).
mkdir -p "$work"
report=$work/cumulative.txt
: > "$report"
# diff -rq reads both trees in one process: "Files NEW/f and TREE/f
# differ", "Only in NEW/dir: f" (a file or a whole new directory); what is
# only in TREE is the build's own output (or a file the update deletes).
candidates=()
while read -r f; do
  case "$f" in
    *.c)
      if [ -f "$tree/${f%.c}.o.dsu.json" ]; then candidates+=("$f")
      else echo "not built    $f" >> "$report"; fi ;;
    *.h) candidates+=("$f") ;;
    *) echo "not C        $f" >> "$report" ;;
  esac
done < <(diff -rq --no-dereference "$newtree" "$tree" 2>/dev/null | while IFS= read -r line; do
  case "$line" in
    "Files $newtree/"*" differ")
      f=${line#Files $newtree/}; echo "${f%% and $tree/*}" ;;
    "Only in $newtree"*)
      dir=${line#Only in $newtree}; dir=${dir%%: *}; dir=${dir#/}; name=${line##*: }
      p=${dir:+$dir/}$name
      if [ -d "$newtree/$p" ]; then (cd "$newtree" && find "$p" -type f); else echo "$p"; fi ;;
  esac
done | grep -v '^\.extracted$' | sort)
# Units the running kernel was built from (source files of the base, with a
# manifest) that the update deletes.
base_files=$cache/$(basename "$base_tarball").files
if [ ! -f "$base_files" ]; then
  tar -tf "$base_tarball" | sed 's|^[^/]*/||' | sort > "$base_files.tmp"
  mv "$base_files.tmp" "$base_files"
fi
(cd "$tree" && find . -name '*.o.dsu.json' | sed 's|^\./||; s|\.o\.dsu\.json$|.c|' | sort) |
  comm -12 - "$base_files" | while read -r f; do
    [ -e "$newtree/$f" ] ||
      echo "removed      $f  (a live patch cannot remove a unit: the running kernel keeps it)" >> "$report"
  done

# 2. One patch of every carried file: a file dsu-patchgen refuses is left
# out (with its first error) and the rest made again, until it goes through.
make_diff() {
  : > "$work/cumulative.patch"
  for f in "$@"; do
    if [ -f "$tree/$f" ]; then
      diff -u --label "a/$f" --label "b/$f" "$tree/$f" "$newtree/$f" >> "$work/cumulative.patch" || true
    else
      diff -u --label /dev/null --label "b/$f" /dev/null "$newtree/$f" >> "$work/cumulative.patch" || true
    fi
  done
}
declare -A refused
rounds=0
while :; do
  left=()
  for f in "${candidates[@]}"; do [ -z "${refused[$f]:-}" ] && left+=("$f"); done
  [ ${#left[@]} -gt 0 ] || { rc=3; break; }
  make_diff "${left[@]}"
  set +e
  "$build/patchgen/dsu-patchgen" --kernel "$tree" --diff "$work/cumulative.patch" \
    -o "$work/cumulative" > "$work/cumulative.log" 2>&1
  rc=$?
  set -e
  [ $rc = 0 ] || [ $rc = 3 ] && break
  # Attribute each error to the file it names (errors in a header go to
  # the header; an error naming no file of the update stops the loop).
  progress=0
  while IFS= read -r line; do
    for f in "${left[@]}"; do
      if [[ "$line" == *"/$f:"* ]] && [ -z "${refused[$f]:-}" ]; then
        refused[$f]=$(echo "$line" | sed "s|^.*/$f:|$f:|")
        progress=1
      fi
    done
  done < <(grep -E ": error: " "$work/cumulative.log")
  rounds=$((rounds + 1))
  if [ $progress = 0 ] || [ $rounds -gt 40 ]; then
    echo "corpus: cumulative: dsu-patchgen failed with an error naming no file of the update:"
    grep -m3 -E "error" "$work/cumulative.log" | sed 's/^/corpus:   /'
    break
  fi
done

# 3. The verdict of each candidate.
carried_units=""
if [ $rc = 0 ]; then
  carried_units=$(python3 -c "
import json, sys
m = json.load(open(sys.argv[1]))
for u in m['units']:
    print(u['tu'], len(u['replaced']) + len(u['added_functions']))" "$work/cumulative/patch.json")
  cp "$work/cumulative/dsu_cumulative.ko" "$work/cumulative.ko"
fi
for f in "${candidates[@]}"; do
  if [ -n "${refused[$f]:-}" ]; then
    echo "refused      $f  ${refused[$f]}" >> "$report"
  elif n=$(echo "$carried_units" | awk -v f="$f" '$1 == f { print $2 }') && [ -n "$n" ]; then
    echo "carried      $f  ($n functions)" >> "$report"
  elif [[ "$f" == *.h ]] && grep -q "/$f:1:1: note: no unit this build compiles" "$work/cumulative.log"; then
    echo "not built    $f  (no unit of this config includes it)" >> "$report"
  elif [[ "$f" == *.h ]] && grep -q "/$f:1:1: note: no function changed in" "$work/cumulative.log"; then
    echo "unchanged    $f  ($(grep -m1 "/$f:1:1: note:" "$work/cumulative.log" | sed 's/.*note: //'))" >> "$report"
  elif [[ "$f" == *.h ]] && [ $rc = 0 ]; then
    echo "carried      $f  (through the units that include it)" >> "$report"
  else
    echo "unchanged    $f" >> "$report"
  fi
done
sort -k1,1 -s -o "$report" "$report"
[ $rc = 0 ] || [ $rc = 3 ]
