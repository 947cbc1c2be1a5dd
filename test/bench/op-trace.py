#!/usr/bin/python3
"""Where an op of the syscall mix spends its instructions, kernel by kernel.

    op-trace.py BUILD_DIR WORK_DIR OP KERNEL [KERNEL...] [--reps N] [--skip N]

Boots each kernel tree BUILD_DIR/kernel/KERNEL under QEMU (-icount, as the
benchmark: the same kernel reaches the same allocator state) with the guest
running the syscall mix, attaches gdb, stops at the mix's op_OP function in
user space after SKIP calls and single-steps the next REPS calls through
user space and the kernel (gdb's stepping keeps interrupts off, so what is
counted is what the op itself executes). Prints instructions per call and,
for the second and later kernels, the functions whose counts differ most
from the first's; an updateable function f counts as __dsu_v0_f (its body)
plus f (its stub).

This is how the SLUB_TINY effect was found (test/kernel/config.fragment):
stat cost 2316 instructions on the plain kernel and 3102 on the selective
one; the difference was a slab page allocated and freed on every call.
"""
import argparse
import bisect
import collections
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kernel  # noqa: E402

GDB_SCRIPT = r'''
import gdb, collections, json, os
gdb.execute("set pagination off")
gdb.execute("target remote :" + os.environ["OPT_PORT"])
bp = gdb.Breakpoint("*" + os.environ["OPT_ADDR"], type=gdb.BP_HARDWARE_BREAKPOINT)
bp.ignore_count = int(os.environ["OPT_SKIP"])
counts, per = collections.Counter(), []
for rep in range(int(os.environ["OPT_REPS"])):
    bp.enabled = True
    gdb.execute("continue")
    bp.enabled = False
    rsp = int(gdb.parse_and_eval("$rsp"))
    ret = int(gdb.parse_and_eval("*(unsigned long *)$rsp"))
    n = 0
    while True:
        pc = int(gdb.parse_and_eval("$pc"))
        if pc == ret and int(gdb.parse_and_eval("$rsp")) > rsp:
            break
        counts[pc] += 1
        n += 1
        gdb.execute("stepi", to_string=True)
    per.append(n)
json.dump({"per": per, "pcs": {str(k): v for k, v in counts.items()}}, open(os.environ["OPT_OUT"], "w"))
gdb.execute("kill")
'''


def kernel_symbols(vmlinux):
    syms = []
    out = subprocess.run(["nm", "-n", vmlinux], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16), f[2]))
    return syms


def per_function(trace, vmlinux):
    syms = kernel_symbols(vmlinux)
    addrs = [a for a, _ in syms]
    counts = collections.Counter()
    for pc, n in trace["pcs"].items():
        pc = int(pc)
        if pc < 1 << 63:
            counts["(user space)"] += n
            continue
        name = syms[bisect.bisect_right(addrs, pc) - 1][1]
        counts[name[len("__dsu_v0_"):] if name.startswith("__dsu_v0_") else name] += n
    return counts


def trace_op(tree, initrd, addr, work, name, reps, skip, port=1236):
    out = os.path.join(work, f"op-trace-{name}.json")
    script = os.path.join(work, "op-trace-gdb.py")
    with open(script, "w") as f:
        f.write(GDB_SCRIPT)
    log = open(os.path.join(work, f"op-trace-{name}.log"), "w")
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-kernel", os.path.join(tree, "arch", "x86", "boot", "bzImage"),
         "-initrd", initrd, "-append", "console=ttyS0 panic=-1 nokaslr", "-nographic",
         "-no-reboot", "-m", "512", "-smp", "1", "-accel", "tcg", "-icount", "shift=0,sleep=off",
         "-rtc", "clock=vm", "-gdb", f"tcp::{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(2)
        env = dict(os.environ, OPT_PORT=str(port), OPT_ADDR=hex(addr), OPT_SKIP=str(skip),
                   OPT_REPS=str(reps), OPT_OUT=out)
        r = subprocess.run(["gdb", "-q", "-batch", "-nx", os.path.join(tree, "vmlinux"), "-x", script],
                           env=env, capture_output=True, text=True, timeout=1800)
        if not os.path.exists(out):
            raise SystemExit(f"op-trace: gdb traced nothing:\n{(r.stdout + r.stderr)[-2000:]}")
    finally:
        qemu.kill()
        qemu.wait()
    return json.load(open(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("work")
    ap.add_argument("op", help="getpid, pipe, open_close, stat, fork, mmap")
    ap.add_argument("kernels", nargs="+", help="trees under BUILD/kernel (plain, bench-selective ...)")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--skip", type=int, default=300, help="calls of the op before tracing")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    build, work = os.path.abspath(a.build), os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    exe = kernel.mix_binary(work)
    addr = next((int(l.split()[0], 16) for l in subprocess.run(
        ["nm", exe], capture_output=True, text=True, check=True).stdout.splitlines()
        if l.split()[-1] == f"op_{a.op}"), None)
    if addr is None:
        raise SystemExit(f"op-trace: the syscall mix has no op_{a.op}")
    initrd = kernel.initramfs(work, f"#!/bin/sh\n/syscall-mix 1000000\n", [exe])
    first = None
    for name in a.kernels:
        tree = os.path.join(build, "kernel", name, "linux")
        trace = trace_op(tree, initrd, addr, work, name, a.reps, a.skip)
        fns = per_function(trace, os.path.join(tree, "vmlinux"))
        per = trace["per"]
        print(f"{name}: op_{a.op}: {sum(per) / len(per):.1f} instructions per call "
              f"(min {min(per)}, max {max(per)}, {len(per)} calls)")
        if first is None:
            first = (name, fns, len(per))
            continue
        base_name, base, base_n = first
        diff = sorted(set(base) | set(fns), key=lambda k: -abs(fns[k] / len(per) - base[k] / base_n))
        print(f"  {'function':40} {base_name:>12} {name:>12}  (instructions per call)")
        for k in diff[:a.top]:
            b, c = base[k] / base_n, fns[k] / len(per)
            if abs(c - b) >= 0.5:
                print(f"  {k:40} {b:12.1f} {c:12.1f} {c - b:+8.1f}")


if __name__ == "__main__":
    main()
