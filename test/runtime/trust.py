#!/usr/bin/env python3
"""Who may update a process (docs/patch.md, "Who may update a process").

    trust.py BUILD_DIR WORK_DIR

Runs as root (as CI does): a dsu-cc program runs as one unprivileged user
(OWNER), and a second unprivileged user (OTHER) tries to take it over. Both
are made up for the test: uids with no account, entered with setpriv, so the
machine's user database is not touched. Checks:
  - OTHER can neither apply, revert nor read status, and the process is
    unchanged; a capability OTHER holds only in a user namespace of its own
    does not count;
  - patch files: owned by another user, group-writable, a symlink, and a
    shared object that is not a patch (its constructor must not run) are
    refused; the real patch, owned by root, is applied by OWNER and reverted
    by root;
  - bounded requests: an over-long path, a relative path;
  - a client holding idle connections locks out neither root nor, after the
    idle timeout, the owner; dsuctl never dies of SIGPIPE;
  - a squatter holding the process's socket name before it listens: the
    process listens elsewhere and says so; dsuctl does not talk to the
    squatter and reaches the process.
Every failed check stops the run with a non-zero exit status.
"""
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

OWNER, OTHER = 47101, 47102


def client_mode(argv):
    """Helpers run as another user: `trust.py --client MODE ...`."""
    mode = argv[0]
    if mode == "raw":  # raw PID TEXT: sends TEXT, prints the answer
        s = connect(int(argv[1]))
        s.sendall(argv[2].encode())
        s.settimeout(5)
        out = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        sys.stdout.write(out.decode(errors="replace"))
    elif mode == "hold":  # hold PID N SECONDS: N idle connections
        conns = [connect(int(argv[1])) for _ in range(int(argv[2]))]
        print("holding", flush=True)
        time.sleep(float(argv[3]))
        del conns
    elif mode == "squat":  # squat NAME SECONDS: binds NAME, says "ok" to anyone
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind("\0" + argv[1])
        srv.listen(8)
        print("ready", flush=True)
        end = time.monotonic() + float(argv[2])
        while time.monotonic() < end:
            r, _, _ = select.select([srv], [], [], 0.1)
            if r:
                c, _ = srv.accept()
                c.sendall(b"ok: applied (by the squatter)\n")
                c.close()
    return 0


def connect(pid):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0dsu.%d" % pid)
    return s


if len(sys.argv) > 1 and sys.argv[1] == "--client":
    sys.exit(client_mode(sys.argv[2:]))

BUILD = os.path.abspath(sys.argv[1])
WORK = os.path.abspath(sys.argv[2])
DSUCC = os.path.join(BUILD, "compiler", "dsu-cc")
PATCHGEN = os.path.join(BUILD, "patchgen", "dsu-patchgen")
DSUCTL = os.path.join(BUILD, "runtime", "dsuctl")
SELF = os.path.abspath(__file__)
passed = failed = 0


def check(cond, what, detail="", fatal=False):
    """Records a check; a failed one stops the run only when what follows
    depends on it (the rest still says what else is broken)."""
    global passed, failed
    if not cond:
        failed += 1
        print("  FAIL " + what + (": " + detail.strip() if detail else ""), flush=True)
        if fatal:
            sys.exit(1)
        return False
    passed += 1
    print("  ok   " + what, flush=True)
    return True


def as_user(uid, cmd):
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + cmd


def run(cmd, timeout=30, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return r.returncode, r.stdout + r.stderr


def dsuctl(uid, *args):
    cmd = [DSUCTL, *map(str, args)]
    return run(as_user(uid, cmd) if uid is not None else cmd)


def client(uid, *args, **kw):
    return subprocess.Popen(as_user(uid, [sys.executable, SELF, "--client", *map(str, args)]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


PROG = r"""
#include <dsu.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>
int offset;
int value(void) { return offset + 1; }
int main(void) {
  char line[16];
  int last = -1;
  /* The test says when to reach the first update point (and listen). */
  if (!fgets(line, sizeof line, stdin)) return 1;
  for (int i = 0; i < 12000; i++) { /* at most two minutes */
    struct pollfd in = { .fd = 0, .events = POLLIN };
    dsu_update();
    int v = value();
    if (v != last) { printf("value %d\n", v); fflush(stdout); last = v; }
    if (poll(&in, 1, 10) > 0) return 0; /* stdin closed: the test is over */
  }
  return 0;
}
"""


class Prog:
    """The program, run as OWNER; its output lines arrive on a pipe."""

    def __init__(self, path):
        self.p = subprocess.Popen(as_user(OWNER, [path]), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = self.p.pid

    def start(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()

    def expect(self, line, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([self.p.stdout], [], [], 0.1)
            if r:
                got = self.p.stdout.readline().strip()
                if got == line:
                    return True
                if not got:
                    return False
        return False

    def quiet(self, timeout=0.3):
        """No output line in `timeout` (the value did not change)."""
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        return not r

    def stop(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.stderr.read()


def level(pid):
    rc, out = dsuctl(None, "status", pid)
    m = re.search(r"patch level (\d+)", out)
    return int(m.group(1)) if rc == 0 and m else None


def main():
    if os.geteuid() != 0:
        print("trust.py: needs root, to run the program and its attacker as two other users")
        return 1
    os.umask(0o022)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(WORK, 0o755)
    for name, text in (("v1", PROG), ("v2", PROG.replace("return offset + 1;", "return offset + 2;"))):
        os.makedirs(os.path.join(WORK, name))
        with open(os.path.join(WORK, name, "prog.c"), "w") as f:
            f.write(text)
    rc, out = run([DSUCC, "-O2", "-o", "prog", "prog.c"], timeout=120, cwd=os.path.join(WORK, "v1"))
    check(rc == 0, "dsu-cc builds the program", out, fatal=True)
    rc, out = run([PATCHGEN, os.path.join(WORK, "v1"), os.path.join(WORK, "v2"), "-o",
                   os.path.join(WORK, "p1")], timeout=120)
    check(rc == 0, "dsu-patchgen makes p1 (value() returns 2)", out, fatal=True)
    p1 = os.path.join(WORK, "p1", "p1.so")

    prog = Prog(os.path.join(WORK, "v1", "prog"))
    try:
        prog.start()
        check(prog.expect("value 1"), f"the program runs as uid {OWNER}", fatal=True)
        pid = prog.pid

        print("== another user is refused, and the process is unchanged")
        rc, out = dsuctl(OTHER, "status", pid)
        check(rc == 1 and "permission denied" in out, f"uid {OTHER}: status refused", out)
        rc, out = dsuctl(OTHER, "apply", pid, p1)
        check(rc == 1 and "permission denied" in out, f"uid {OTHER}: apply refused", out)
        check(prog.quiet() and level(pid) == 0, "the process is unchanged (value 1, level 0)")
        rc, out = dsuctl(OTHER, "revert", pid)
        check(rc == 1 and "permission denied" in out, f"uid {OTHER}: revert refused", out)
        probe = subprocess.run(as_user(OTHER, ["unshare", "-Ur", "true"]), capture_output=True)
        if probe.returncode == 0:
            rc, out = run(as_user(OTHER, ["unshare", "-Ur", DSUCTL, "apply", str(pid), p1]))
            check(rc != 0 and level(pid) == 0,
                  f"uid {OTHER} as root of its own user namespace: refused", out)
        else:
            print("  not checked: a user namespace of one's own (unshare -Ur fails here)")

        print("== patch files the trust model refuses; nothing of them runs")
        files = os.path.join(WORK, "files")
        os.makedirs(files)
        os.chmod(files, 0o755)
        other_owned = os.path.join(files, "other.so")
        shutil.copy(p1, other_owned)
        os.chown(other_owned, OTHER, OTHER)
        rc, out = dsuctl(OWNER, "apply", pid, other_owned)
        check(rc == 1 and f"owned by uid {OTHER}" in out, "a patch owned by another user", out)
        group_w = os.path.join(files, "group-writable.so")
        shutil.copy(p1, group_w)
        os.chown(group_w, OWNER, OWNER)
        os.chmod(group_w, 0o775)
        rc, out = dsuctl(OWNER, "apply", pid, group_w)
        check(rc == 1 and "writable by its group" in out, "a group-writable patch", out)
        link = os.path.join(files, "link.so")
        os.symlink(p1, link)
        # dsuctl resolves its argument; the runtime is sent the link itself
        # by a raw client, as another program could.
        c = client(OWNER, "raw", pid, f"apply {link}\n")
        out = c.communicate(timeout=30)[0]
        check("symbolic link" in out, "a symlink to a patch is not followed", out)
        ctor_c = os.path.join(files, "ctor.c")
        marker = os.path.join(WORK, "constructor-ran")
        with open(ctor_c, "w") as f:
            f.write('#include <stdio.h>\n__attribute__((constructor)) static void ran(void) '
                    '{ FILE *f = fopen("%s", "w"); if (f) fclose(f); }\n' % marker)
        ctor = os.path.join(files, "ctor.so")
        rc, out = run(["clang-19", "-shared", "-fPIC", "-o", ctor, ctor_c])
        check(rc == 0, "a shared object with a constructor", out, fatal=True)
        os.chmod(WORK, 0o777)  # so that the constructor could write its marker
        rc, out = dsuctl(OWNER, "apply", pid, ctor)
        os.chmod(WORK, 0o755)
        check(rc == 1 and "not a DSU patch" in out and not os.path.exists(marker),
              "a shared object that is not a patch: refused before its constructor runs", out)
        check(prog.quiet() and level(pid) == 0, "the process is unchanged (value 1, level 0)")

        print("== the owner applies, root reverts")
        rc, out = dsuctl(OWNER, "apply", pid, p1)
        check(rc == 0 and "applied p1" in out, f"uid {OWNER} applies p1 (owned by root)", out)
        check(prog.expect("value 2"), "the process runs the new value()")
        rc, out = dsuctl(None, "revert", pid)
        check(rc == 0 and "reverted p1" in out, "root reverts it", out)
        check(prog.expect("value 1"), "the process runs the old value() again")

        print("== requests are bounded")
        c = client(OWNER, "raw", pid, "apply /" + "a" * 5000 + "\n")
        out = c.communicate(timeout=30)[0]
        check("too long" in out, "an over-long request is refused", out)
        c = client(OWNER, "raw", pid, "apply p1.so\n")
        out = c.communicate(timeout=30)[0]
        check("must be absolute" in out, "a relative patch path is refused", out)
        check(level(pid) == 0, "the process still answers, at level 0")

        print("== idle connections lock nobody out")
        hold = client(OWNER, "hold", pid, 8, 8)
        check(hold.stdout.readline().strip() == "holding", f"uid {OWNER} holds 8 idle connections")
        t0 = time.monotonic()
        rc, out = dsuctl(None, "status", pid)
        check(rc == 0 and f"pid {pid}:" in out, "root's dsuctl status is served at once", out)
        rc, out = dsuctl(OWNER, "status", pid)
        check(rc in (0, 1) and (rc == 0 or "already holds" in out),
              f"uid {OWNER}'s own dsuctl: served or told why (exit {rc}, not a signal)", out)
        ok = False
        while time.monotonic() - t0 < 6:
            rc, out = dsuctl(OWNER, "status", pid)
            if rc == 0:
                ok = True
                break
            time.sleep(0.2)
        check(ok and hold.poll() is None,
              f"idle connections time out: uid {OWNER} is served after "
              f"{time.monotonic() - t0:.1f} s while they are still open")
        hold.kill()
        hold.wait()
    finally:
        prog.stop()

    print("== a squatter on the socket name")
    victim = Prog(os.path.join(WORK, "v1", "prog"))
    try:
        squat = client(OTHER, "squat", f"dsu.{victim.pid}", 30)
        check(squat.stdout.readline().strip() == "ready",
              f"uid {OTHER} binds @dsu.{victim.pid} before the program listens")
        victim.start()
        check(victim.expect("value 1"), "the program runs")
        rc, out = dsuctl(OWNER, "status", victim.pid)
        check(rc == 0 and f"pid {victim.pid}:" in out and "not talking to it" in out,
              "dsuctl reaches the process, not the squatter, and says so", out)
        rc, out = dsuctl(OWNER, "apply", victim.pid, p1)
        check(rc == 0 and "applied p1" in out and victim.expect("value 2"),
              "and applies the patch to it", out)
        squat.kill()
        squat.wait()
    finally:
        err = victim.stop()
    check("was taken by another process" in err, "the program said its socket name was taken", err)
    print(f"trust: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
