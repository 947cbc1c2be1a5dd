"""What the scripts that run the example file server share
(examples/server/scenario.py, test/runtime/chaos.py): the directory it
serves and waiting for it to listen."""
import os
import shutil
import time


def fresh_work(work):
    """Empties WORK and makes the directory the server serves in it, with
    hello.txt ("hello, world\\n") and an empty empty.txt; returns its path."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    root = os.path.join(work, "files")
    os.makedirs(root)
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write("hello, world\n")
    open(os.path.join(root, "empty.txt"), "w").close()
    return root


def wait_for_port(portfile, tries):
    """The port the server writes to PORTFILE once it listens, looked for
    TRIES times 0.05 s apart."""
    for _ in range(tries):
        if os.path.exists(portfile) and open(portfile).read().strip():
            break
        time.sleep(0.05)
    return int(open(portfile).read())
