#!/usr/bin/env bash
# Demo: installs what is missing, builds the toolchain, compiles the bundled
# example (examples/wordcount) plainly and through dsu-cc, runs both, and
# shows what dsu-cc did: the rewritten code, the generated symbols and the
# manifest's verdict on every function.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DSU_BUILD_DIR:-$root/build}
"$root/test/deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" >/dev/null
dsucc=$build/compiler/dsu-cc
ex=$root/examples/wordcount
out=$build/demo
rm -rf "$out" && mkdir -p "$out"
cd "$out"

echo "== compiling examples/wordcount plainly and through dsu-cc"
clang-19 -O2 "$ex/count.c" "$ex/main.c" -o wordcount.plain
DSU_KEEP_TEMPS=1 "$dsucc" -O2 -Wall -c "$ex/count.c" -o count.o
DSU_KEEP_TEMPS=1 "$dsucc" -O2 -Wall -c "$ex/main.c" -o main.o
clang-19 count.o main.o -o wordcount.dsu

text="the quick brown fox jumps over the lazy dog; the dog sleeps, the fox runs and the fox hides"
echo "== plain build:";    echo "$text" | ./wordcount.plain | tee plain.out
echo "== dsu-cc build:";   echo "$text" | ./wordcount.dsu | tee dsu.out
cmp -s plain.out dsu.out && echo "== same output"

echo "== table_add after the rewrite (count.o.dsu.rw.i):"
grep -o 'static void __dsu_v0_table_add.*' count.o.dsu.rw.i | cut -c1-160
grep -o 'void table_add(struct table \*t, const char \*text) { __dsu_fp_table_add(t, text); }' count.o.dsu.rw.i
echo "== generated symbols in count.o:"
nm count.o | grep -E "__dsu_(fp|v0)_" | sort -k3
echo "== manifest verdicts:"
python3 - count.o.dsu.json main.o.dsu.json <<'PY'
import json, sys
for path in sys.argv[1:]:
    m = json.load(open(path))
    for f in m["functions"]:
        if f.get("reason") == "header":
            continue
        verdict = "updateable" if f["updateable"] else "left out: " + f["reason_text"]
        print(f"  {m['source'].split('/')[-1]:8} {f['name']:14} {verdict}  (calls through pointer: {f['calls_through_pointer']})")
PY

echo
echo "== live updates: the example file server (examples/server), v1 -> v2 -> v3 and back"
python3 "$root/examples/server/scenario.py" "$build" "$out/server" --demo
