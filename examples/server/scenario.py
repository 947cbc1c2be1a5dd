#!/usr/bin/env python3
"""Live updates of the example file server, end to end.

    scenario.py BUILD_DIR WORK_DIR [--demo]

Builds v1 with dsu-cc, starts it, keeps a client connected, and with
dsu-patchgen + dsuctl:
  1. a patch replacing slowRequest() built without the safety analysis
     (--no-safety), requested while a client's SLOW request runs inside it:
     it waits for an update point outside that function; then it is
     reverted; the same patch analysed is applied at an update point inside
     slowRequest() (its old code touches nothing the patch changes, so it
     finishes the request), and reverted;
  2. v1 -> v2 (errorState() check in sendFile(), a new function and a new
     global): the connected client's session continues and sees the new
     behaviour;
  3. v2 -> v3 stacked on it (PING reports the global v2 added);
  4. revert v3: back to v2's behaviour;
  5. a patch built against another build of v1 is refused, nothing changes;
     a patch whose parent is not on top is refused;
  6. v2 -> v4: struct clientState gains statistics while clients are
     connected (instances transformed on first use, a half-received request
     survives), revert refused; a layout too big for the slop is refused;
  7. figures: update pause and total apply time for patches of 1, 10 and 100
     functions (a generated program).
Every check that fails stops the run with a non-zero exit status.
--demo narrates the story (used by examples/demo.sh).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import serverlib

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
DEMO = "--demo" in sys.argv
DSUCC = os.path.join(BUILD, "compiler", "dsu-cc")
PATCHGEN = os.path.join(BUILD, "patchgen", "dsu-patchgen")
DSUCTL = os.path.join(BUILD, "runtime", "dsuctl")
failures = 0


def say(msg):
    print(msg, flush=True)


def check(cond, what):
    global failures
    say(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        failures += 1
        raise SystemExit(1)


def run(cmd, **kw):
    if DEMO:
        say("$ " + " ".join(os.path.relpath(c, WORK) if c.startswith(WORK + "/") else c for c in cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    out = (r.stdout + r.stderr).strip()
    if DEMO and out:
        say("\n".join("    " + l for l in out.splitlines()))
    return r.returncode, out


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")

    def ask(self, line):
        self.s.sendall((line + "\n").encode())
        head = self.f.readline().decode().rstrip("\n")
        if head.startswith("OK "):
            body = self.f.read(int(head[3:]))
            return head, body
        return head, None

    def send(self, line):
        self.s.sendall((line + "\n").encode())

    def readline(self):
        return self.f.readline().decode().rstrip("\n")


def tree(name, src):
    """A copy of an example version in the work directory."""
    dst = os.path.join(WORK, name)
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return dst


def build(dirpath):
    rc, out = run([DSUCC, "-O2", "-g", "-Wall", "-o", "server", "server.c", "files.c"], cwd=dirpath)
    check(rc == 0, f"dsu-cc builds {os.path.basename(dirpath)}" + ("" if rc == 0 else ": " + out))


def patchgen(old, new, out, expect_ok=True, extra=()):
    t0 = time.monotonic()
    rc, text = run([PATCHGEN, old, new, "-o", out, *extra])
    secs = time.monotonic() - t0
    if expect_ok:
        check(rc == 0, f"dsu-patchgen {os.path.basename(old)} -> {os.path.basename(new)} "
              f"({secs:.2f} s)" + ("" if rc == 0 else ": " + text))
    return rc, text, os.path.join(out, os.path.basename(out) + ".so")


def dsuctl(*args):
    return run([DSUCTL, *map(str, args)])


def main():
    root = serverlib.fresh_work(WORK)

    say("== build v1 with dsu-cc and start it")
    v1 = tree("v1", os.path.join(HERE, "v1"))
    build(v1)
    portfile = os.path.join(WORK, "port")
    server = subprocess.Popen([os.path.join(v1, "server"), root, portfile])
    try:
        port = serverlib.wait_for_port(portfile, 100)
        pid = server.pid
        a = Client(port)
        head, body = a.ask("GET hello.txt")
        check(head == "OK 13" and body == b"hello, world\n", "v1 serves hello.txt")
        head, _ = a.ask("GET empty.txt")
        check(head == "OK 0", "v1 serves the empty file (v2 will refuse it)")
        check(a.ask("PING")[0].startswith("PONG v1"), "v1 answers PING")

        say("== a patch of an active function waits for a safe update point")
        slow = tree("v1-slow", os.path.join(HERE, "v1"))
        path = os.path.join(slow, "server.c")
        text = open(path).read().replace('"SLOW done v1\\n"', '"SLOW done patched\\n"')
        open(path, "w").write(text)
        _, _, pslow = patchgen(v1, slow, os.path.join(WORK, "pslow"), extra=["--no-safety"])
        b = Client(port)
        b.send("SLOW 20")  # 20 x 50 ms inside slowRequest(), update points included
        time.sleep(0.3)
        t0 = time.monotonic()
        status_rc, status = None, ""
        ctl = subprocess.Popen([DSUCTL, "apply", str(pid), pslow], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        time.sleep(0.3)
        status_rc, status = dsuctl("status", pid)
        check("waiting: slowRequest (server.c) is active at this update point" in status or print(status),
              "dsuctl status says the patch waits: slowRequest is active")
        out, _ = ctl.communicate(timeout=30)
        waited = time.monotonic() - t0
        check(ctl.returncode == 0 and "applied pslow" in out or print(ctl.returncode, out), "the patch is applied once slowRequest returned")
        check(b.readline() == "SLOW done v1", "the SLOW request finished in the old code")
        check(waited > 0.5, f"apply waited {waited:.2f} s for the request to end")
        b.send("SLOW 1")
        check(b.readline() == "SLOW done patched", "new SLOW requests run the new code")
        rc, out = dsuctl("revert", pid)
        check(rc == 0 and "reverted pslow" in out, "revert of the slow patch")
        b.send("SLOW 30")
        time.sleep(0.3)
        rc, out = dsuctl("apply", pid, pslow, "--timeout", "0.5")
        check(rc == 4 and "cancelled" in out,
              "dsuctl --timeout gives up while the function stays active (exit 4, cancelled)")
        check(b.readline() == "SLOW done v1", "the cancelled patch changed nothing")
        rc, out = dsuctl("status", pid)
        check("patch level 0" in out and "pending" not in out, "nothing pending after the cancel")
        rc, out = dsuctl("status", 999999)
        check(rc == 3 and "no process" in out, "dsuctl on a missing process: exit 3")

        say("== the same patch, analysed: applied inside the active function")
        _, _, psafe = patchgen(v1, slow, os.path.join(WORK, "psafe"))
        b.send("SLOW 20")
        time.sleep(0.3)
        t0 = time.monotonic()
        rc, out = dsuctl("apply", pid, psafe)
        took = time.monotonic() - t0
        check(rc == 0 and "applied psafe" in out, "applied while slowRequest is active" + ("" if rc == 0 and "applied psafe" in out else ": " + out))
        check(b.readline() == "SLOW done v1", "the running SLOW request finished in its old code")
        check(took < 0.5, f"it did not wait for the request to end ({took:.2f} s)")
        b.send("SLOW 1")
        check(b.readline() == "SLOW done patched", "the next SLOW request runs the new code")
        rc, out = dsuctl("revert", pid)
        check(rc == 0 and "reverted psafe" in out, "revert of the analysed patch")

        say("== v1 -> v2 while a client stays connected")
        v2 = tree("v2", os.path.join(HERE, "v2"))
        _, _, p1 = patchgen(v1, v2, os.path.join(WORK, "p1"))
        pj = json.load(open(os.path.join(WORK, "p1", "patch.json")))
        unit = [u for u in pj["units"] if u["tu"] == "files.c"][0]
        check(unit["replaced"] == ["sendFile"] and unit["added_functions"] == ["errorState"]
              and unit["added_variables"] == ["errorCount"],
              "p1 replaces sendFile, adds errorState() and errorCount")
        rc, out = dsuctl("apply", pid, p1)
        check(rc == 0 and "applied p1" in out, "dsuctl apply p1")
        m = re.search(r"pause ([0-9.]+) us; prepare ([0-9.]+) us", out)
        head, body = a.ask("GET hello.txt")
        check(head == "OK 13", "the client connected before the update is still served")
        check(a.ask("GET empty.txt")[0] == "ERR bad file", "v2 behaviour: the empty file is refused")
        pong = a.ask("PING")[0]
        check(pong.startswith("PONG v1 requests=") and int(pong.split("=")[1]) >= 6 or print(pong),
              "server state (request count) survived the update")

        say("== v2 -> v3, stacked")
        v3 = tree("v3", os.path.join(HERE, "v3"))
        rc, out, p2 = patchgen(os.path.join(WORK, "p1"), v3, os.path.join(WORK, "p2"))
        rc, out = dsuctl("apply", pid, p2)
        check(rc == 0 and "level 2" in out, "dsuctl apply p2 on top of p1 (level 2)")
        pong = a.ask("PING")[0]
        check(re.fullmatch(r"PONG v3 requests=\d+ errors=1", pong) is not None or print(pong),
              "v3 reads the global p1 added (errors=1)")
        rc, out = dsuctl("status", pid)
        check("level 2: p2" in out and "level 1: p1" in out, "dsuctl status lists both patches")

        say("== revert v3")
        rc, out = dsuctl("revert", pid)
        check(rc == 0 and "now at level 1" in out, "dsuctl revert")
        check(a.ask("PING")[0].startswith("PONG v1 requests="), "PING is v2's again")
        check(a.ask("GET empty.txt")[0] == "ERR bad file", "v2's check is still in effect")

        say("== refusals leave the program as it is")
        other = tree("v1-other", os.path.join(HERE, "v1"))
        with open(os.path.join(other, "files.c"), "a") as f:
            f.write("/* another build */ static int anotherBuild __attribute__((unused));\n")
        build(other)
        v2o = tree("v2-other", os.path.join(HERE, "v2"))
        shutil.copy(os.path.join(other, "files.c"), os.path.join(v2o, "files.c"))
        with open(os.path.join(v2o, "files.c")) as f:
            text = f.read()
        v2text = open(os.path.join(HERE, "v2", "files.c")).read()
        open(os.path.join(v2o, "files.c"), "w").write(
            v2text + "/* another build */ static int anotherBuild __attribute__((unused));\n")
        _, _, pwrong = patchgen(other, v2o, os.path.join(WORK, "pwrong"))
        rc, out = dsuctl("revert", pid)
        check(rc == 0 and "now at level 0" in out, "revert p1: back to the program as built")
        rc, out = dsuctl("apply", pid, pwrong)
        check(rc == 1 and "built against another build of files.c" in out,
              "a patch for another build of v1 is refused (exit 1)")
        rc, out = dsuctl("apply", pid, p2)
        check(rc == 1 and "must be applied on top of p1" in out,
              "a stacked patch without its parent is refused")
        check(a.ask("PING")[0].startswith("PONG v1"), "the server still runs v1 after the refusals")
        rc, out = dsuctl("apply", pid, p1)
        check(rc == 0, "p1 applies again after its revert")
        check(a.ask("GET empty.txt")[0] == "ERR bad file", "and takes effect again")

        say("== v2 -> v4: struct clientState gains statistics while clients are connected")
        v4 = tree("v4", os.path.join(HERE, "v4"))
        _, _, p4 = patchgen(os.path.join(WORK, "p1"), v4, os.path.join(WORK, "p4"))
        pj = json.load(open(os.path.join(WORK, "p4", "patch.json")))
        unit = [u for u in pj["units"] if u["tu"] == "server.c"][0]
        t = unit["types"][0] if unit["types"] else {}
        check(t.get("name") == "struct clientState" and t.get("to_version") == 1
              and [f["field"] for f in t.get("added", [])] == ["statistics"]
              and t.get("copied") == ["socket", "line", "len"],
              "p4 moves struct clientState to version 1: statistics added, the rest copied")
        check({"handleRequest", "serveClient", "serveOnce"} <= set(unit["replaced"]),
              "the functions using clientState are replaced: " + ", ".join(unit["replaced"]))
        c = Client(port)
        check(c.ask("PING")[0].startswith("PONG v1"), "a second client connects before the update")
        c.s.sendall(b"GET hel")  # half a request, in the client's line buffer across the update
        time.sleep(0.2)
        rc, out = dsuctl("apply", pid, p4)
        check(rc == 0 and "level 2" in out, "dsuctl apply p4 (level 2)")
        mt = re.search(r"pause ([0-9.]+) us; prepare ([0-9.]+) us", out)
        head, body = a.ask("GET hello.txt")
        check(head == "OK 13" and body == b"hello, world\n",
              "the client connected since v1 is still served (socket and buffer transformed)")
        a.send("BOGUS")
        check(a.readline() == "ERR unknown request", "v4 counts an unknown request")
        stats = a.ask("STATS")[0]
        check(re.fullmatch(r"STATS client=3 unknown=1 clients=3 requests=\d+", stats) is not None
              or print(stats), "the old client's statistics start at the update: " + stats)
        c.s.sendall(b"lo.txt\n")
        head = c.readline()
        body = c.f.read(13) if head == "OK 13" else b""
        check(head == "OK 13" and body == b"hello, world\n",
              "the half request received before the update completes after it")
        check(c.ask("STATS")[0].startswith("STATS client=2 unknown=0"),
              "the second client has its own statistics")
        d = Client(port)
        check(d.ask("STATS")[0].startswith("STATS client=1 unknown=0 clients=4"),
              "a client connecting after the update starts from zero")
        rc, out = dsuctl("revert", pid)
        check(rc == 1 and "cannot be reverted" in out, "p4 changed a layout: revert is refused")
        check(a.ask("STATS")[0].startswith("STATS client=4"), "and nothing changed")

        say("== a layout that does not fit the slop is refused; the server keeps running")
        v5 = tree("v5", os.path.join(HERE, "v4"))
        path = os.path.join(v5, "server.c")
        text = open(path).read().replace("struct clientStatistics statistics; /* v4 */",
                                         "struct clientStatistics statistics; /* v4 */\n\tchar history[4096];")
        open(path, "w").write(text)
        rc, out, p5 = patchgen(os.path.join(WORK, "p4"), v5, os.path.join(WORK, "p5"), expect_ok=False)
        check(rc != 0 and re.search(r"server\.c:\d+:8: error: the new struct clientState needs \d+ bytes, "
                                    r"but its instances have room for \d+", out) is not None
              and not os.path.exists(p5) or print(out),
              "dsu-patchgen refuses it, naming both sizes, and makes no patch")
        check(a.ask("STATS")[0].startswith("STATS client=5"), "the server runs v4 as before")
        a.s.close()
        b.s.close()
        c.s.close()
        d.s.close()
        if mt:
            say(f"figure: user-space layout change (p4) pause {mt.group(1)} us, prepare {mt.group(2)} us")
        if m:
            say(f"figure: user-space v1->v2 pause {m.group(1)} us, prepare {m.group(2)} us")
    finally:
        server.kill()
        server.wait()

    if not DEMO:
        sizes_figures()
    say("scenario: PASS" if failures == 0 else f"scenario: {failures} FAILED")
    return 0 if failures == 0 else 1


def sizes_figures():
    """Update pause and total apply time for patches of 1, 10, 100 functions."""
    say("== figures: pause and apply time by patch size")
    N = 100
    d = os.path.join(WORK, "sizes-v1")
    os.makedirs(d, exist_ok=True)

    def program(version, changed):
        lines = ["#include <dsu.h>", "#include <stdio.h>", "#include <stdlib.h>",
                 "volatile int sink;"]
        for i in range(N):
            k = version if i < changed else 0
            lines.append(f"int f{i}(int x) {{ sink += x; return x * {k + 2} + {i}; }}")
        lines.append("int main(int argc, char **argv) {")
        lines.append("  char msg[512]; int rc = 0;")
        lines.append("  for (int a = 1; a < argc; a++) {")
        lines.append("    unsigned long long t0 = 0;")
        lines.append("    rc |= dsu_apply_file(argv[a], msg, sizeof msg);")
        lines.append('    printf("%s\\n", msg);')
        lines.append("    rc |= dsu_revert_newest(msg, sizeof msg);")
        lines.append("  }")
        lines.append("  int s = 0;")
        lines.append("  " + " ".join(f"s += f{i}(1);" for i in range(N)))
        lines.append('  printf("sum %d\\n", s); return rc != 0;')
        lines.append("}")
        return "\n".join(lines) + "\n"

    with open(os.path.join(d, "prog.c"), "w") as f:
        f.write(program(0, 0))
    rc, out = run([DSUCC, "-O2", "-o", "prog", "prog.c"], cwd=d)
    check(rc == 0, "the size benchmark program builds")
    patches = []
    for n in (1, 10, 100):
        nd = os.path.join(WORK, f"sizes-new{n}")
        os.makedirs(nd, exist_ok=True)
        with open(os.path.join(nd, "prog.c"), "w") as f:
            f.write(program(1, n))
        rc, out, so = patchgen(d, nd, os.path.join(WORK, f"size{n}"))
        patches.append((n, so))
    for n, so in patches:
        best = None
        for _ in range(5):
            r = subprocess.run([os.path.join(d, "prog"), so], capture_output=True, text=True)
            m = re.search(r"applied .*?: (\d+) functions? replaced.*pause ([0-9.]+) us; prepare ([0-9.]+) us", r.stdout)
            check(r.returncode == 0 and m and int(m.group(1)) == n,
                  f"{n}-function patch applies and reverts in process") if best is None else None
            pause, prep = float(m.group(2)), float(m.group(3))
            if best is None or pause + prep < best[0] + best[1]:
                best = (pause, prep)
        say(f"figure: user-space patch of {n:3d} functions: pause {best[0]:.1f} us, "
            f"total apply {best[0] + best[1]:.1f} us (load+check+resolve {best[1]:.1f} us), best of 5")


if __name__ == "__main__":
    sys.exit(main())
