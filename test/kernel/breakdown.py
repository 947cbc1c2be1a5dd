#!/usr/bin/env python3
"""Breakdown of a dsu-cc kernel build from its manifests (<object>.dsu.json):
functions indirected versus left out, by reason and by directory, in the
manner of the DynAMOS paper's Table 2.

    breakdown.py KERNEL_TREE [--min-share PERCENT]

Functions defined in the kernel's .c files are counted once per unit; static
inline functions from headers are counted separately (one copy per unit that
emits them). Exits non-zero when a manifest is unreadable or the share of
indirected functions in fs/ kernel/ mm/ ipc/ lib/ is below --min-share.
"""
import argparse
import collections
import json
import os
import sys

DIRS = ["fs", "kernel", "mm", "ipc", "lib"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("--min-share", type=float, default=50.0)
    args = ap.parse_args()

    status = collections.Counter()
    fallbacks = []
    by_reason = collections.Counter()
    by_dir = collections.defaultdict(lambda: [0, 0])  # dir -> [indirected, total]
    header_copies = 0
    header_names = set()
    total = indirected = 0
    for root, _, files in os.walk(args.tree):
        for name in files:
            if not name.endswith(".dsu.json"):
                continue
            path = os.path.join(root, name)
            try:
                m = json.load(open(path))
            except (OSError, ValueError) as e:
                print(f"breakdown: error: {path}: {e}")
                return 1
            status[m["status"]] += 1
            if m["status"] == "fallback":
                fallbacks.append((m["source"], m.get("status_detail", "")))
            top = m["source"].split("/")[0]
            top = top if top in DIRS else "other"
            for f in m["functions"]:
                if f.get("reason") == "header":
                    header_copies += 1
                    header_names.add(f["name"])
                    continue
                total += 1
                by_dir[top][1] += 1
                if f["updateable"]:
                    indirected += 1
                    by_dir[top][0] += 1
                else:
                    by_reason[f["reason"]] += 1

    units = sum(status.values())
    print(f"breakdown: {units} units: " + ", ".join(f"{v} {k}" for k, v in sorted(status.items())))
    for src, why in fallbacks:
        print(f"breakdown:   fallback {src}: {why}")
    print("breakdown: functions defined in the kernel's .c files")
    print(f"  {'indirected':<28} {indirected:>7}  {100.0 * indirected / max(total, 1):5.1f} %")
    for reason, n in by_reason.most_common():
        print(f"  {'left out: ' + reason:<28} {n:>7}  {100.0 * n / max(total, 1):5.1f} %")
    print(f"  {'total':<28} {total:>7}")
    print(f"  (plus {header_copies} per-unit copies of {len(header_names)} header functions, never indirected)")
    print("breakdown: by directory (indirected / defined)")
    in_dirs = [0, 0]
    for d in DIRS + ["other"]:
        i, t = by_dir[d]
        if d != "other":
            in_dirs[0] += i
            in_dirs[1] += t
        print(f"  {d + '/':<10} {i:>6} / {t:<6} {100.0 * i / max(t, 1):5.1f} %")
    share = 100.0 * in_dirs[0] / max(in_dirs[1], 1)
    print(f"breakdown: fs/ kernel/ mm/ ipc/ lib/: {in_dirs[0]} of {in_dirs[1]} functions indirected ({share:.1f} %)")
    if share < args.min_share:
        print(f"breakdown: FAIL: below {args.min_share} %")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
