#!/usr/bin/env bash
# Differential test: csmith programs compiled plainly (clang-19) and through
# dsu-cc must print the same checksum, and their manifests must show most of
# each program's own functions indirected.
#   differential.sh DSU_CC WORKDIR [COUNT=50] [--types]
# --types: also wrap every struct (DSU_CONFIG `include type *`; csmith without
# unions and consts, which are never wrapped) and report how many were.
# Programs whose plain build does not finish in time are replaced by the next
# seed; they are reported, never counted.
set -euo pipefail
dsucc=$1
work=$2
want=${3:-50}
types=${4:-}
inc=/usr/include/csmith
mkdir -p "$work"
cd "$work"
csmith_args=(--max-funcs 12 --no-bitfields --no-packed-struct)
if [ "$types" = --types ]; then
  printf 'include type *\n' > types.cfg
  export DSU_CONFIG=$PWD/types.cfg
  csmith_args+=(--no-unions --no-consts)
fi
types_total=0 types_wrapped=0

compared=0 skipped=0 seed=1000 own_total=0 own_upd=0 all_total=0 all_upd=0 calls=0
while [ "$compared" -lt "$want" ]; do
  seed=$((seed + 1))
  if [ "$seed" -gt $((1000 + want * 3)) ]; then
    echo "differential: FAIL: only $compared usable programs among $((seed - 1001)) seeds"
    exit 1
  fi
  src=p$seed.c
  csmith --seed "$seed" "${csmith_args[@]}" -o "$src" >/dev/null
  clang-19 -O1 -w -I"$inc" "$src" -o "p$seed.plain"
  if ! plain=$(timeout 5 "./p$seed.plain" 2>&1); then
    skipped=$((skipped + 1))
    continue
  fi
  DSU_STRICT=1 "$dsucc" -O1 -w -I"$inc" -c "$src" -o "p$seed.o"
  # Linked by dsu-cc: objects it built get the runtime (the slow path of
  # wrapped types' accessors lives there).
  "$dsucc" "p$seed.o" -o "p$seed.dsu"
  if ! dsu=$(timeout 20 "./p$seed.dsu" 2>&1); then
    echo "differential: FAIL: seed $seed: the dsu-cc build did not finish or crashed"
    exit 1
  fi
  if [ "$plain" != "$dsu" ]; then
    echo "differential: FAIL: seed $seed: plain '$plain' vs dsu-cc '$dsu'"
    exit 1
  fi
  read -r o_t o_u a_t a_u c t_t t_w < <(python3 - "p$seed.o.dsu.json" "$src" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
# The program's own functions that it has: csmith also writes functions
# nothing calls, which the plain compile does not emit either (not_emitted).
own = [f for f in m["functions"]
       if f["file"].endswith(sys.argv[2]) and f.get("reason") != "not_emitted"]
print(len(own), sum(f["updateable"] for f in own), len(m["functions"]),
      sum(f["updateable"] for f in m["functions"]), m["summary"]["calls_through_pointer"],
      len(m["types"]), sum(t["updateable"] for t in m["types"]))
PY
)
  types_total=$((types_total + t_t)); types_wrapped=$((types_wrapped + t_w))
  if [ "$o_u" -ne "$o_t" ]; then
    echo "differential: note: seed $seed: $o_u of $o_t own functions updateable"
  fi
  own_total=$((own_total + o_t)); own_upd=$((own_upd + o_u))
  all_total=$((all_total + a_t)); all_upd=$((all_upd + a_u)); calls=$((calls + c))
  compared=$((compared + 1))
  rm -f "p$seed.plain" "p$seed.dsu"
done
echo "differential: $compared programs print the same checksum plain and through dsu-cc ($skipped seeds skipped: plain build did not finish in 5 s)"
echo "differential: program functions indirected: $own_upd of $own_total ($((100 * own_upd / own_total)) %); with csmith's header helpers: $all_upd of $all_total; calls through pointers: $calls"
if [ "$types" = --types ]; then
  echo "differential: structs wrapped: $types_wrapped of $types_total"
  if [ "$types_wrapped" -eq 0 ]; then
    echo "differential: FAIL: no struct was wrapped"
    exit 1
  fi
fi
if [ $((own_upd * 10)) -lt $((own_total * 9)) ]; then
  echo "differential: FAIL: fewer than 90 % of the programs' own functions are indirected"
  exit 1
fi
echo "differential: PASS"
