#!/usr/bin/env python3
"""The example server under load while patches come and go, bounded.

    chaos.py BUILD_DIR WORK_DIR [--cycles N] [--clients N] [--seconds S]

Builds examples/server v1 with dsu-cc, makes p1 (v1 -> v2) and p2 (v2 -> v3,
stacked on p1), starts the server on loopback and keeps N clients (default
10) sending requests, each answer checked, while one controller goes
through N cycles (default 40) of random operations: apply p1, apply p2 on
top, revert, a patch on the wrong base (p2 at level 0: refused), an apply
cancelled by a tiny --timeout, and a dsuctl killed with SIGKILL in the
middle of its request. After each operation the patch level the server
reports must be the one the operation's outcome implies (a killed dsuctl:
whichever it is, once nothing is pending). Bounded in count and time
(--seconds, default 90): it stops by itself and prints its figures.

Every answer must be right for one of the versions the server can be at:
GET hello.txt is always the file; GET empty.txt is "OK 0" (v1) or
"ERR bad file" (v2, v3); PING's request counter never goes down.
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "..", "..", "examples", "server")
sys.path.insert(0, SERVER)
import serverlib  # noqa: E402  (found through SERVER)

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("work")
ap.add_argument("--cycles", type=int, default=40)
ap.add_argument("--clients", type=int, default=10)
ap.add_argument("--seconds", type=float, default=90)
ap.add_argument("--seed", type=int, default=int(time.time()))
args = ap.parse_args()
BUILD = os.path.abspath(args.build)
WORK = os.path.abspath(args.work)
DSUCC = os.path.join(BUILD, "compiler", "dsu-cc")
PATCHGEN = os.path.join(BUILD, "patchgen", "dsu-patchgen")
DSUCTL = os.path.join(BUILD, "runtime", "dsuctl")


def fail(what):
    print("chaos: FAIL " + what, flush=True)
    sys.exit(1)


def run(cmd, cwd=None, timeout=120):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


class Clients:
    """N connections, each asking in a loop and checking every answer."""

    def __init__(self, port, n, deadline):
        self.port, self.deadline = port, deadline
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests = 0
        self.errors = []
        self.threads = [threading.Thread(target=self.loop, args=(i,), daemon=True) for i in range(n)]
        for t in self.threads:
            t.start()

    def error(self, what):
        with self.lock:
            self.errors.append(what)
        self.stop.set()

    def loop(self, i):
        rng = random.Random(args.seed * 1000 + i)
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            f = s.makefile("rb")
            last_count = 0
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                kind = rng.choice(("hello", "empty", "ping"))
                if kind == "hello":
                    s.sendall(b"GET hello.txt\n")
                    head = f.readline().decode().strip()
                    body = f.read(13) if head == "OK 13" else b""
                    if head != "OK 13" or body != b"hello, world\n":
                        return self.error(f"client {i}: GET hello.txt gave {head!r} {body!r}")
                elif kind == "empty":
                    s.sendall(b"GET empty.txt\n")
                    head = f.readline().decode().strip()
                    if head not in ("OK 0", "ERR bad file"):
                        return self.error(f"client {i}: GET empty.txt gave {head!r}")
                else:
                    s.sendall(b"PING\n")
                    head = f.readline().decode().strip()
                    m = re.fullmatch(r"PONG v1 requests=(\d+)|PONG v3 requests=(\d+) errors=\d+", head)
                    if not m:
                        return self.error(f"client {i}: PING gave {head!r}")
                    count = int(m.group(1) or m.group(2))
                    if count < last_count:
                        return self.error(f"client {i}: the request count went down "
                                          f"({last_count} -> {count}): server state lost")
                    last_count = count
                with self.lock:
                    self.requests += 1
            s.sendall(b"QUIT\n")
            s.close()
        except OSError as e:
            self.error(f"client {i}: {e}")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def status(pid):
    """(level, pending) as the server reports them."""
    rc, out = run([DSUCTL, "status", str(pid)], timeout=30)
    m = re.search(r"patch level (\d+)", out)
    if rc != 0 or not m:
        fail(f"dsuctl status: exit {rc}: {out}")
    return int(m.group(1)), "pending:" in out


def settle(pid):
    """The level once no request is pending (a killed dsuctl's request may
    still be carried out or cancelled; within a few seconds it is neither)."""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        level, pending = status(pid)
        if not pending:
            return level
        time.sleep(0.05)
    fail("a request stayed pending for 10 s after its dsuctl was killed")


def main():
    rng = random.Random(args.seed)
    root = serverlib.fresh_work(WORK)
    trees = {}
    for v in ("v1", "v2", "v3"):
        trees[v] = os.path.join(WORK, v)
        shutil.copytree(os.path.join(SERVER, v), trees[v])
    rc, out = run([DSUCC, "-O2", "-o", "server", "server.c", "files.c"], cwd=trees["v1"])
    if rc:
        fail("dsu-cc v1: " + out)
    p1dir, p2dir = os.path.join(WORK, "p1"), os.path.join(WORK, "p2")
    rc, out = run([PATCHGEN, trees["v1"], trees["v2"], "-o", p1dir])
    if rc:
        fail("dsu-patchgen v1 -> v2: " + out)
    rc, out = run([PATCHGEN, p1dir, trees["v3"], "-o", p2dir])
    if rc:
        fail("dsu-patchgen v2 -> v3: " + out)
    p1, p2 = os.path.join(p1dir, "p1.so"), os.path.join(p2dir, "p2.so")

    portfile = os.path.join(WORK, "port")
    server = subprocess.Popen([os.path.join(trees["v1"], "server"), root, portfile])
    deadline = time.monotonic() + args.seconds
    counts = {"applied": 0, "reverted": 0, "refused": 0, "cancelled": 0, "killed": 0}
    try:
        port = serverlib.wait_for_port(portfile, 200)
        pid = server.pid
        clients = Clients(port, args.clients, deadline)
        level = 0
        cycles = 0
        while cycles < args.cycles and time.monotonic() < deadline and not clients.stop.is_set():
            cycles += 1
            op = rng.choice(("apply", "apply", "revert", "wrong-base", "cancel", "kill"))
            if op == "apply" and level < 2:
                rc, out = run([DSUCTL, "apply", str(pid), p1 if level == 0 else p2])
                if rc != 0:
                    fail(f"apply at level {level}: exit {rc}: {out}")
                level += 1
                counts["applied"] += 1
            elif op == "revert" or (op == "apply" and level == 2):
                rc, out = run([DSUCTL, "revert", str(pid)])
                if level == 0:
                    if rc != 1:
                        fail(f"revert at level 0 should be refused: exit {rc}: {out}")
                    counts["refused"] += 1
                else:
                    if rc != 0:
                        fail(f"revert at level {level}: exit {rc}: {out}")
                    level -= 1
                    counts["reverted"] += 1
            elif op == "wrong-base":
                # p2 belongs on p1; p1 on the program as built.
                wrong = p2 if level != 1 else p1
                rc, out = run([DSUCTL, "apply", str(pid), wrong])
                if rc != 1 or "error" not in out:
                    fail(f"a patch on the wrong base (level {level}) was not refused: exit {rc}: {out}")
                counts["refused"] += 1
            elif op == "cancel" and level < 2:
                rc, out = run([DSUCTL, "apply", str(pid), p1 if level == 0 else p2,
                               "--timeout", "0.001"])
                if rc == 0:
                    level += 1
                    counts["applied"] += 1
                elif rc == 4:
                    counts["cancelled"] += 1
                else:
                    fail(f"apply with a tiny timeout: exit {rc}: {out}")
            elif op == "kill":
                cmd = ([DSUCTL, "apply", str(pid), p1 if level == 0 else p2] if level < 2
                       else [DSUCTL, "revert", str(pid)])
                ctl = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0, 0.02))
                ctl.send_signal(signal.SIGKILL)
                ctl.wait()
                level = settle(pid)
                counts["killed"] += 1
            now, pending = status(pid)
            if pending or now != level:
                fail(f"after {op}: the server is at level {now} (pending {pending}), expected {level}")
        clients.finish()
        if clients.errors:
            fail("; ".join(clients.errors[:5]))
        if server.poll() is not None:
            fail(f"the server exited ({server.returncode})")
        if clients.requests == 0 or cycles == 0:
            fail("no requests or no operations were made")
        print(f"chaos: {clients.requests} requests by {args.clients} clients, all answered right, "
              f"over {cycles} operations ({', '.join(f'{v} {k}' for k, v in counts.items())}), "
              f"seed {args.seed}", flush=True)
    finally:
        server.kill()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
