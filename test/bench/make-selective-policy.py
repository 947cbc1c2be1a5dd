#!/usr/bin/python3
"""Writes test/bench/policy-selective.cfg, the kernel's selective policy,
from a profile of the syscall mix (issue 6: "a selective policy that leaves
out the hottest functions, chosen from the figures").

    make-selective-policy.py BUILD_DIR WORK_DIR [MIN_CALLS_PER_ROUND=1]

kernel.hot_functions() boots a dsu-cc kernel (test/kernel/policy.cfg) with
the function profiler and counts calls of each updateable function's body
(__dsu_v0_<f>) per round of the mix. The policy is test/kernel/policy.cfg
plus
  - `exclude function F` for every function called at least MIN_CALLS_PER_ROUND
    times per round: direct calls again, and the compiler may inline them;
  - `exclude type T` for the wrapped types the hot functions use most (each
    concrete use in a hot function, weighted by its calls, from the
    manifests' effect events), which pay the version check on every access.
The function profiler cuts names at 30 characters: a cut name excludes every
updateable function it is a prefix of (System.map).
"""
import collections
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kernel  # noqa: E402

TYPE_MIN_USES_PER_ROUND = 5


def main():
    build, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    min_calls = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    os.makedirs(work, exist_ok=True)
    hot = kernel.hot_functions(build, work)
    tree = os.path.join(build, "kernel", "bench-profile", "linux")
    syms = [l.split()[2][len("__dsu_v0_"):] for l in open(os.path.join(tree, "System.map"))
            if " __dsu_v0_" in l]
    calls = collections.defaultdict(float)
    for name, per_round in hot:
        for s in ([name] if name in syms else [s for s in syms if s.startswith(name)]):
            calls[s] += per_round
    wrapped, uses = set(), collections.Counter()
    funcs = collections.defaultdict(list)
    for p in glob.glob(os.path.join(tree, "**", "*.o.dsu.json"), recursive=True):
        m = json.load(open(p))
        wrapped |= {(m["tu"], t["name"]) for t in m.get("types", []) if t.get("updateable")}
        for f in m["functions"]:
            if f["name"] in calls:
                funcs[f["name"]].append((m["tu"], f))
    for name, per_round in calls.items():
        for tu, f in funcs[name]:
            for e in (f.get("effects") or {}).get("events", []):
                if e[0] == "type" and (tu, e[1]) in wrapped:
                    uses[(tu, e[1])] += per_round
    hot_funcs = sorted((n for n, c in calls.items() if c >= min_calls), key=lambda n: -calls[n])
    hot_types = [(k, u) for k, u in uses.most_common() if u >= TYPE_MIN_USES_PER_ROUND]
    out = os.path.join(HERE, "policy-selective.cfg")
    with open(out, "w") as f:
        f.write("# The kernel's selective policy (issue 6), written by\n"
                "# test/bench/make-selective-policy.py from a profile of the syscall mix\n"
                f"# ({kernel.PROFILE_ROUNDS} rounds): test/kernel/policy.cfg, minus the {len(hot_funcs)} "
                f"updateable functions called\n# at least {min_calls:g} times per round and the "
                f"{len(hot_types)} wrapped types their bodies use at least\n"
                f"# {TYPE_MIN_USES_PER_ROUND} times per round. {len(calls)} updateable functions ran "
                f"in the mix, {sum(calls.values()):.0f} calls per round.\n")
        f.write(open(os.path.join(kernel.KTEST, "policy.cfg")).read())
        for (tu, t), u in hot_types:
            tag = t.split(" ", 1)[1]
            f.write(f"exclude type {tag}  hot: {u:.0f} concrete uses per round of the syscall mix "
                    f"({tu})\n")
        for n in hot_funcs:
            f.write(f"exclude function {n}  hot: {calls[n]:.1f} calls per round of the syscall mix\n")
    print(f"make-selective-policy: {out}: {len(hot_funcs)} functions, {len(hot_types)} types left out")


if __name__ == "__main__":
    main()
