#!/usr/bin/env python3
"""Prints a manifest's functions and types one per line, for FileCheck:
   F name: updateable [calls_through_pointer=N]
   F name: not updateable: <reason id> (<reason text>)
   T name: ...
"""
import json
import sys

m = json.load(open(sys.argv[1]))
print("status:", m["status"], m.get("status_detail", ""))
for f in sorted(m["functions"], key=lambda f: (f["line"], f["name"])):
    if f["updateable"]:
        print(f"F {f['name']}: updateable calls_through_pointer={f['calls_through_pointer']}")
    else:
        print(f"F {f['name']}: not updateable: {f['reason']} ({f['reason_text']})")
for t in m["types"]:
    state = "updateable" if t["updateable"] else f"not updateable: {t['reason']}"
    print(f"T {t['name']}: {state}")
s = m["summary"]
print(f"summary: {s['updateable']}/{s['functions']} updateable, {s['calls_through_pointer']} calls through pointer")
