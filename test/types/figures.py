#!/usr/bin/env python3
"""Figures of type wrapping (issue 4), printed by ctest `types-figures`.

    figures.py BUILD_DIR WORK_DIR      (ctest types-figures)
    figures.py --kernel KERNEL_TREE    (printed by the kernel tier's test-boot.sh)

1. con_T cost per access: the same loop over struct fields built plainly
   (clang-19 -O2) and through dsu-cc (struct T wrapped), instructions counted
   by callgrind in the loop's function only; (wrapped - plain) / accesses.
   Both builds must print the same result.
2. With KERNEL_TREE (a dsu-cc kernel build): the types wrapped by default
   and their memory overhead per instance (wrapper size - representation).
"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys

KERNEL_ONLY = sys.argv[1] == "--kernel"
if KERNEL_ONLY:
    KTREE = sys.argv[2]
else:
    BUILD, WORK = (os.path.abspath(a) for a in sys.argv[1:3])
    KTREE = None
    DSUCC = os.path.join(BUILD, "compiler", "dsu-cc")
N = 200000
ACCESSES = 3  # per iteration: two loads and a store through the accessor

PROGRAM = r"""
#include <stdio.h>
struct T { int x; int y; long z; };
static struct T items[64];
__attribute__((noinline)) long work(struct T *t, int n)
{
	long s = 0;
	for (int i = 0; i < n; i++) {
		struct T *p = &t[i & 63];
		s += p->x + p->y;
		p->z = s;
	}
	return s;
}
int main(void)
{
	for (int i = 0; i < 64; i++) {
		items[i].x = i;
		items[i].y = 2 * i;
	}
	printf("%ld\n", work(items, %N%));
	return 0;
}
""".replace("%N%", str(N))


def instructions(exe, fn):
    out = os.path.join(WORK, os.path.basename(exe) + ".callgrind")
    r = subprocess.run(["valgrind", "--tool=callgrind", f"--toggle-collect={fn}",
                        f"--callgrind-out-file={out}", exe], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"types-figures: FAIL: callgrind on {exe}: {r.stderr[-500:]}")
    total = None
    for line in open(out):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = int(line.split()[1])
    return r.stdout.strip(), total


def main():
    if KERNEL_ONLY:
        kernel_figures()
        return
    os.makedirs(WORK, exist_ok=True)
    src = os.path.join(WORK, "access.c")
    with open(src, "w") as f:
        f.write(PROGRAM)
    plain, wrapped = os.path.join(WORK, "plain"), os.path.join(WORK, "wrapped")
    subprocess.run(["clang-19", "-O2", src, "-o", plain], check=True)
    subprocess.run([DSUCC, "-O2", src, "-o", wrapped], check=True, cwd=WORK)
    m = json.load(open(os.path.join(WORK, "wrapped.dsu", "access.o.dsu.json")))
    if not any(t.get("updateable") for t in m.get("types", [])):
        sys.exit("types-figures: FAIL: struct T was not wrapped")
    out_p, ir_p = instructions(plain, "work")
    # Through dsu-cc, work() is a stub jumping to its version-0 body.
    out_w, ir_w = instructions(wrapped, "__dsu_v0_work")
    if not ir_p or not ir_w:
        sys.exit(f"types-figures: FAIL: callgrind counted nothing ({ir_p}, {ir_w})")
    if out_p != out_w:
        sys.exit(f"types-figures: FAIL: plain printed {out_p}, wrapped {out_w}")
    print(f"types-figures: ok: plain and wrapped print the same result ({out_p})")
    per = (ir_w - ir_p) / (N * ACCESSES)
    print(f"figure: con_T cost: {ir_p} instructions plain, {ir_w} wrapped in work() "
          f"({N} iterations x {ACCESSES} accesses): {per:.2f} instructions per access "
          f"(ratio {ir_w / ir_p:.2f})")

    print("types-figures: PASS")


def kernel_figures():
    if True:
        overheads, ratios, reasons = [], [], {}
        for f in glob.glob(os.path.join(KTREE, "**", "*.dsu.json"), recursive=True):
            try:
                mm = json.load(open(f))
            except (OSError, ValueError):
                continue
            for t in mm.get("types", []):
                if not t.get("file", "").endswith(".c"):
                    continue
                if not t.get("updateable"):
                    reasons[t.get("reason")] = reasons.get(t.get("reason"), 0) + 1
                    continue
                rep, union, align = t["representation_size"], t["union_size"], t["union_align"]
                # version and tag words (abi.h), then the union
                offset = (8 + align - 1) // align * align
                wrapper = (offset + union + align - 1) // align * align
                overheads.append(wrapper - rep)
                ratios.append(wrapper / rep if rep else 0)
        if not overheads:
            sys.exit(f"types-figures: FAIL: no wrapped type in the kernel build {KTREE}")
        if overheads:
            print(f"figure: kernel types wrapped by default: {len(overheads)} "
                  f"(not wrapped: {sum(reasons.values())}: " +
                  ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])) + ")")
            print(f"figure: kernel wrapping memory overhead per instance: median "
                  f"{statistics.median(overheads):.0f} bytes (min {min(overheads)}, max "
                  f"{max(overheads)}), median size ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
