#!/bin/sh
# Guest side of test-runtime.sh, run by /init as /guest-extra.sh: applies and
# reverts the hand-written patch (/handpatch.ko) through the kernel runtime.
# Every check prints "DSU-RUNTIME: ok: ..." or "DSU-RUNTIME: FAIL: ...", and
# "DSU-RUNTIME: PASS" at the end when all passed.
fail=0
ok() { echo "DSU-RUNTIME: ok: $*"; }
bad() { echo "DSU-RUNTIME: FAIL: $*"; fail=1; }
show() { sed 's/^/DSU-RUNTIME: proc: /' /proc/dsu; }
NL='
'

[ -r /proc/dsu ] || { bad "no /proc/dsu"; echo "DSU-RUNTIME: done"; exit 1; }
show
grep -q '^registry: [1-9][0-9]* functions' /proc/dsu && ok "registry is not empty" ||
  bad "registry is empty"
old=$(cat /proc/version)
echo "DSU-RUNTIME: old: $old"

# A patch built against another build of the unit: refused, nothing changed.
# (busybox insmod retries init_module after finit_module fails, so the
# refusal shows twice in the log.)
if insmod /handpatch_stale.ko 2>/dev/null; then
  bad "the stale patch was applied"
else
  ok "the stale patch is refused"
fi
[ "$(cat /proc/version)" = "$old" ] && ok "unchanged after the refusal" ||
  bad "/proc/version changed after a refused patch"
dmesg | grep -q "built against another build of fs/proc/version.c" &&
  ok "the refusal names the unit" || bad "no message naming the stale unit"

# Apply.
insmod /handpatch.ko && ok "insmod handpatch" || bad "insmod handpatch failed"
new=$(cat /proc/version)
echo "DSU-RUNTIME: new: $new"
[ "$new" = "$old${NL}dsu: handpatch" ] && ok "the patched /proc/version" ||
  bad "/proc/version is not the patched one"
show
grep -q '^1 handpatch 1 ' /proc/dsu && ok "/proc/dsu lists the patch" ||
  bad "/proc/dsu does not list the patch"
if rmmod handpatch 2>/dev/null; then
  bad "rmmod succeeded while the patch is applied"
  insmod /handpatch.ko
else
  ok "rmmod refused while applied"
fi

# A revert while the new code is active (sleeping in it) must give up and
# name the task; the patch stays.
echo 1000 > /sys/module/dsu/parameters/timeout_ms
echo 4000 > /sys/module/handpatch/parameters/sleep_ms
cat /proc/version > /tmp/slow &
slow=$!
sleep 1
if echo revert > /proc/dsu 2>/dev/null; then
  bad "revert succeeded while the new function is active"
else
  ok "revert refused while the new function is active"
fi
dmesg | grep -q "revert handpatch: gave up .*is active in cat (pid $slow)" &&
  ok "the refusal names the active function and task" ||
  bad "no message naming the active task"
wait $slow
echo 0 > /sys/module/handpatch/parameters/sleep_ms
echo 5000 > /sys/module/dsu/parameters/timeout_ms
grep -q "dsu: handpatch" /tmp/slow && ok "the slow reader got the new text" ||
  bad "the slow reader's output"
[ "$(cat /proc/version)" = "$old${NL}dsu: handpatch" ] && ok "still patched" ||
  bad "the refused revert changed /proc/version"

# Revert.
echo revert > /proc/dsu && ok "revert" || bad "revert failed"
[ "$(cat /proc/version)" = "$old" ] && ok "/proc/version is the original again" ||
  bad "/proc/version after revert: $(cat /proc/version)"
grep -q handpatch /proc/dsu && bad "/proc/dsu still lists the patch"
rmmod handpatch && ok "rmmod after revert" || bad "rmmod after revert failed"

# Apply and revert once more: the same patch again after a revert, and the
# figures with the runtime's code already translated by QEMU (the first
# apply's pause includes TCG translating the stack walker).
insmod /handpatch.ko && ok "apply again" || bad "apply again failed"
[ "$(cat /proc/version)" = "$old${NL}dsu: handpatch" ] && ok "patched again" ||
  bad "/proc/version is not the patched one after the second apply"
show
echo revert > /proc/dsu && rmmod handpatch && ok "revert and rmmod again" ||
  bad "the second revert or rmmod failed"
[ "$(cat /proc/version)" = "$old" ] && ok "the original again" ||
  bad "/proc/version after the second revert"

if echo revert > /proc/dsu 2>/dev/null; then
  bad "revert with nothing applied succeeded"
else
  ok "revert with nothing applied is refused"
fi
if echo frobnicate > /proc/dsu 2>/dev/null; then
  bad "an unknown command was accepted"
else
  ok "an unknown command is refused"
fi

dmesg | grep "dsu:" | sed 's/^/DSU-RUNTIME: dmesg: /'
if dmesg | grep -qE "Oops|BUG:|WARNING:"; then
  bad "dmesg shows an oops or a warning"
fi
[ $fail = 0 ] && echo "DSU-RUNTIME: PASS"
echo "DSU-RUNTIME: done"
