#!/usr/bin/env python3
"""Runs a command after planting a symlink whose name contains the pid the
command will run as, for tests of files named after the writer's pid:

    at_pid.py 'NAME.{pid}' TARGET -- COMMAND ARGS...

The command is forked first and held until NAME.<its pid> -> TARGET exists
(dsu-cc execs dsu-cc-core in the same process, so the pid stays). Exits with
the command's status."""
import os
import sys

sep = sys.argv.index("--")
template, target = sys.argv[1:sep]
command = sys.argv[sep + 1:]
if not command:
    sys.exit("at_pid.py: no command")

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)  # planted
    os.close(r)
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)
os.close(r)
os.symlink(target, template.format(pid=pid))
os.write(w, b"x")
os.close(w)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128)
