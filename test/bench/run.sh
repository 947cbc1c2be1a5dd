#!/usr/bin/env bash
# The benchmark suite (issue 6; not a test: it prints figures and checks
# nothing about speed). Installs what is missing, builds the tools, runs
# bench.py, which writes OUTDIR/report.md (a table), OUTDIR/report.json
# (schema in report.py) and OUTDIR/report.png.
#   test/bench/run.sh OUTDIR [--user-only | --kernel-only]
#   DSU_BUILD_DIR   build tree (default: <repo>/build), as for test/run.sh;
#                   the kernels are cached in it (BUILD/kernel/NAME)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DSU_BUILD_DIR:-$root/build}
[ $# -ge 1 ] || { echo "usage: test/bench/run.sh OUTDIR [--user-only | --kernel-only]" >&2; exit 2; }
out=$(realpath -m "$1"); shift

"$root/test/deps.sh"
"$root/test/kernel/deps.sh"
# The plot: Debian's matplotlib, for Debian's python3 (not a pyenv one).
"$root/test/install-packages.sh" python3-matplotlib

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"
exec /usr/bin/python3 "$root/test/bench/bench.py" "$build" "$out" "$@"
