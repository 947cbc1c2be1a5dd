#!/usr/bin/env python3
"""Makes a kernel tree copy (cp -al) differ in N updateable functions.

    gen-changes.py BASE NEW N [--skip FILE:LINE,...] FILE...

Inserts an empty asm statement at the top of the first N updateable functions
(per the manifests of BASE) defined in FILEs, in NEW's copies (written as new
files, so hard links to BASE are broken only for those). Used to measure
dsu-patchgen and apply/revert against patch size. --skip leaves out the
functions whose definitions contain one of the given lines (dsu-patchgen
refused them: they use a static the running kernel did not register), and
the whole file when such a line is in no updateable function (an inlined
helper).
"""
import json
import os
import sys

base, new, n, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
skip = set()
if files[:1] == ["--skip"]:
    for item in files[1].split(","):
        rel, line = item.rsplit(":", 1)
        skip.add((rel, int(line)))
    files = files[2:]
left = n
for rel in files:
    if left == 0:
        break
    manifest = json.load(open(os.path.join(base, rel[:-2] + ".o.dsu.json")))
    funcs = [f for f in manifest["functions"] if f["updateable"] and f["file"] == rel]
    refused = [line for r, line in skip if r == rel]
    # A refused line outside every updateable function lies in a helper
    # the changed functions inline: which of them use it is not known, so
    # the file is left out.
    if any(not any(f["line"] <= line <= f["end_line"] for f in funcs) for line in refused):
        continue
    funcs = [f for f in funcs if not any(f["line"] <= line <= f["end_line"] for line in refused)]
    lines = open(os.path.join(new, rel)).read().split("\n")
    for f in funcs:
        if left == 0:
            break
        # The first '{' at or after the definition's line opens the body
        # (functions defined by a macro have none there: skipped).
        for i in range(f["line"] - 1, f["end_line"]):
            if "{" in lines[i] and f["name"] in "".join(lines[f["line"] - 1:i + 1]):
                j = lines[i].index("{")
                lines[i] = lines[i][:j + 1] + ' __asm__ volatile("");' + lines[i][j + 1:]
                left -= 1
                break
    path = os.path.join(new, rel)
    os.unlink(path)  # break the hard link to BASE
    with open(path, "w") as out:
        out.write("\n".join(lines))
if left:
    sys.exit(f"only {n - left} updateable functions in {' '.join(files)}")
