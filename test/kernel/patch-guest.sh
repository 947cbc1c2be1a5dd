#!/bin/sh
# Guest side of test-patch.sh (run by /init as /guest-extra.sh): applies the
# module dsu-patchgen built from test/kernel/patches/proc-version.diff while a
# reader is blocked on a pipe and /proc/version is held open, checks the new
# behaviour, reverts, checks the old one; then applies and reverts the
# 1/10/100-function patches for the figures; last a data-layout change
# (struct msg_queue gains a field). Prints "DSU-PATCH: ok|FAIL: ..."
# per check and "DSU-PATCH: PASS" when all passed.
fail=0
ok() { echo "DSU-PATCH: ok: $*"; }
bad() { echo "DSU-PATCH: FAIL: $*"; fail=1; }
NL='
'
[ -r /proc/dsu ] || { bad "no /proc/dsu"; echo "DSU-PATCH: done"; exit 1; }

# State that lives across the update: a reader blocked in pipe_read(), and
# an open /proc/version whose text is produced when it is read.
mkfifo /tmp/fifo
cat /tmp/fifo > /tmp/got &
reader=$!
exec 3< /proc/version
old=$(cat /proc/version)
sleep 1

insmod /proc_version.ko && ok "insmod proc_version.ko (the patch applies)" || bad "insmod failed"
sed 's/^/DSU-PATCH: proc: /' /proc/dsu
grep -q '^1 proc_version-[0-9a-f]* 1 ' /proc/dsu && ok "/proc/dsu lists the patch at level 1" ||
  bad "/proc/dsu does not list the patch"
first=$(cat /proc/version)
second=$(cat /proc/version)
[ "$first" = "$old${NL}dsu: patched /proc/version, read 1 times since the update" ] &&
  ok "the new /proc/version (new static function, new global)" || bad "first read: $first"
[ "$second" = "$old${NL}dsu: patched /proc/version, read 2 times since the update" ] &&
  ok "the new global keeps counting" || bad "second read: $second"
held=$(cat <&3)
[ "$held" = "$old${NL}dsu: patched /proc/version, read 3 times since the update" ] &&
  ok "the file opened before the update reads the new text" || bad "held fd: $held"
kill -0 $reader 2>/dev/null && ok "the pipe reader is still blocked" || bad "the pipe reader is gone"
echo "written after the update" > /tmp/fifo
wait $reader
[ "$(cat /tmp/got)" = "written after the update" ] && ok "the pipe reader got its data" ||
  bad "the pipe reader got: $(cat /tmp/got)"
if rmmod dsu_proc_version 2>/dev/null; then bad "rmmod succeeded while applied"; else ok "rmmod refused while applied"; fi

echo revert > /proc/dsu && ok "revert" || bad "revert failed"
[ "$(cat /proc/version)" = "$old" ] && ok "the old /proc/version again" ||
  bad "after revert: $(cat /proc/version)"
rmmod dsu_proc_version && ok "rmmod after revert" || bad "rmmod after revert failed"

# Figures: patches of 1, 10 and 100 functions (lib/), applied and reverted
# twice each; the second apply runs with the runtime's code translated.
for n in 1 10 100; do
  good=1
  for round in 1 2; do
    insmod /size$n.ko || { bad "insmod size$n.ko"; good=0; continue; }
    cat /proc/version > /dev/null   # runs patched lib/ code (vsprintf)
    line=$(grep '^1 size' /proc/dsu)
    echo "DSU-PATCH: size $n round $round: $line"
    echo revert > /proc/dsu && rmmod dsu_size$n || { bad "revert/rmmod size$n"; good=0; }
  done
  [ $good = 1 ] && ok "the $n-function patch applies and reverts (twice)"
done

# Shadow data: task_struct gains dsu_status_reads (a header's struct, not
# wrapped: the field lives in shadow storage keyed by the task), counted and
# shown by /proc/PID/status. A task that existed before the update starts
# from 0; the patch reverts.
sleep 600 &
sleeper=$!
insmod /task_reads.ko && ok "insmod task_reads.ko (task_struct gains a shadow field)" ||
  bad "insmod task_reads.ko failed"
sed 's/^/DSU-PATCH: shadow: /' /proc/dsu
first=$(grep DsuReads /proc/$sleeper/status)
second=$(grep DsuReads /proc/$sleeper/status)
[ "$first" = "DsuReads:	1" ] && [ "$second" = "DsuReads:	2" ] &&
  ok "a task from before the update counts from 0 (1, then 2)" || bad "sleeper: $first / $second"
[ "$(grep DsuReads /proc/self/status)" = "DsuReads:	1" ] &&
  ok "a new task has its own count" || bad "self: $(grep DsuReads /proc/self/status)"
kill $sleeper; wait $sleeper 2>/dev/null
echo revert > /proc/dsu && rmmod dsu_task_reads && ok "the shadow-field patch reverts" ||
  bad "revert of the shadow-field patch"
grep -q DsuReads /proc/self/status && bad "DsuReads after the revert" || ok "no DsuReads after the revert"

# The safety analysis lets an update replace a function a task sleeps in:
# pipe_read changes (test/kernel/patches/pipe-read-note.diff) while cat is
# blocked inside it. The analysed patch applies at once (the sleeping call
# finishes as old code; the system call runs nothing of the patch after
# it); the same patch made with --no-safety can only wait for pipe_read to
# leave every stack, and gives up.
mkfifo /tmp/pipe2
cat /tmp/pipe2 > /tmp/got2 &
reader=$!
exec 4> /tmp/pipe2          # the writer: cat goes on from open() into read()
sleep 1
grep -q pipe_read /proc/$reader/stack && ok "cat sleeps in pipe_read" ||
  bad "cat is not in pipe_read: $(cat /proc/$reader/stack | tr '\n' ' ')"
echo 1000 > /sys/module/dsu/parameters/timeout_ms
if insmod /pipe_read_nosafety.ko 2>/dev/null; then
  bad "the unanalysed pipe_read patch applied while pipe_read was active"
  echo revert > /proc/dsu; rmmod dsu_pipe_read_nosafety
else
  ok "without the analysis the pipe_read patch waits for cat and gives up"
fi
dmesg | grep -q "pipe_read.* is active in cat" && ok "the kernel names pipe_read and cat" ||
  bad "no reason naming pipe_read and cat: $(dmesg | grep 'dsu:' | tail -2)"
# System-call version consistency (dsu.consistency=1, off by default): the
# shell running this script sleeps in wait4(), which by the static effects
# may run pipe_read both before and after its sleep: refused, saying so.
echo 1 > /sys/module/dsu/parameters/consistency
if insmod /pipe_read.ko 2>/dev/null; then
  bad "pipe_read.ko applied with consistency on"; echo revert > /proc/dsu; rmmod dsu_pipe_read
else
  ok "with dsu.consistency=1 the update waits for system calls that would see both versions"
fi
dmesg | grep -q "apply pipe_read-.*inside a system call that already ran code the patch changes" &&
  ok "the kernel names the task and the system call's frames" ||
  bad "no system-call reason: $(dmesg | grep 'dsu:' | tail -1)"
echo 0 > /sys/module/dsu/parameters/consistency
insmod /pipe_read.ko && ok "the analysed pipe_read patch applies while cat sleeps in pipe_read" ||
  bad "insmod pipe_read.ko: $(dmesg | grep 'dsu:' | tail -1)"
echo 5000 > /sys/module/dsu/parameters/timeout_ms
grep -q '^1 pipe_read-' /proc/dsu && dmesg | grep -q "applied pipe_read-.*safety analysed" &&
  ok "/proc/dsu lists it; dmesg says it was analysed" || bad "pipe_read patch not listed: $(cat /proc/dsu)"
kill -0 $reader 2>/dev/null && ok "cat is still blocked" || bad "cat is gone"
echo "through the old pipe_read" >&4
exec 4>&-
wait $reader
[ "$(cat /tmp/got2)" = "through the old pipe_read" ] && ok "cat got its data and ended" ||
  bad "cat got: $(cat /tmp/got2)"
dmesg | grep -q "dsu-test: the patched pipe_read runs" && ok "new reads run the new pipe_read" ||
  bad "the new pipe_read did not run"
echo revert > /proc/dsu && rmmod dsu_pipe_read && ok "the pipe_read patch reverts" ||
  bad "revert of the pipe_read patch"

# A data-layout change, last (it cannot be reverted): struct msg_queue
# (ipc/msg.c, wrapped by dsu-cc) gains q_sends. A queue made before the
# update keeps its messages and gets the field, zero, on first use. While a
# task sleeps in msgrcv (do_msgrcv, which uses the queue's old layout when
# it wakes) the analysed patch waits, saying why in /proc/dsu, and applies
# once a message wakes the task.
field() { awk -v k="$1" -v c="$2" '$1 == k { print $c }' /proc/sysvipc/msg; }
/msgq create 7 > /dev/null && /msgq send 7 before-1 && /msgq send 7 before-2 ||
  bad "message queue 7 before the update"
[ "$(field 7 5)" = 2 ] && ok "queue 7 holds 2 messages before the update" || bad "qnum: $(field 7 5)"
/msgq create 9 > /dev/null
/msgq wait 9 > /tmp/woke &
waiter=$!
sleep 1
# (do_msgrcv is inlined into ksys_msgrcv: the frame rules cover that.)
grep -q msgrcv /proc/$waiter/stack && ok "msgq sleeps in msgrcv" ||
  bad "msgq is not in msgrcv: $(cat /proc/$waiter/stack | tr '\n' ' ')"
echo 60000 > /sys/module/dsu/parameters/timeout_ms
insmod /msg_sends.ko &
loader=$!
sleep 3
kill -0 $loader 2>/dev/null && ok "the layout update waits while msgq sleeps in do_msgrcv" ||
  bad "insmod msg_sends.ko did not wait"
pending=$(grep '^pending:' /proc/dsu)
echo "DSU-PATCH: types: $pending"
case $pending in
*msg_sends-*msgq*msgrcv*msg_queue*) ok "/proc/dsu says why: the task, msgrcv, struct msg_queue" ;;
*) bad "/proc/dsu pending: $pending" ;;
esac
/msgq send 9 wake-up
wait $loader && ok "insmod msg_sends.ko (struct msg_queue gains q_sends) once msgq woke" ||
  bad "insmod msg_sends.ko failed"
wait $waiter
[ "$(cat /tmp/woke)" = wake-up ] && ok "msgq got its message" || bad "msgq got: $(cat /tmp/woke)"
echo 5000 > /sys/module/dsu/parameters/timeout_ms
grep -q '^pending:' /proc/dsu && bad "still pending: $(grep '^pending:' /proc/dsu)"
sed 's/^/DSU-PATCH: types: /' /proc/dsu
[ "$(field 7 15)" = "sends=0" ] && ok "the queue made before the update shows sends=0 (transformed on first use)" ||
  bad "queue 7 after the update: $(grep '^ *7 ' /proc/sysvipc/msg)"
[ "$(field 7 5)" = 2 ] && ok "and still holds its 2 messages" || bad "qnum after the update: $(field 7 5)"
/msgq send 7 after-1 && [ "$(field 7 15)" = "sends=1" ] && [ "$(field 7 5)" = 3 ] &&
  ok "a send after the update counts (sends=1, 3 messages)" || bad "after a send: $(grep '^ *7 ' /proc/sysvipc/msg)"
[ "$(/msgq recv 7)" = before-1 ] && [ "$(/msgq recv 7)" = before-2 ] && [ "$(/msgq recv 7)" = after-1 ] &&
  ok "the messages come out intact, in order" || bad "receiving from queue 7"
/msgq create 8 > /dev/null && /msgq send 8 new && [ "$(field 8 15)" = "sends=1" ] &&
  ok "a queue made after the update counts from its creation" || bad "queue 8: $(grep '^ *8 ' /proc/sysvipc/msg)"
if echo revert > /proc/dsu 2>/dev/null; then bad "a layout change was reverted"; else
  ok "revert of the layout change is refused"; fi
dmesg | grep -q "cannot be reverted" && ok "the kernel says why" || bad "no reason for the refused revert"

dmesg | grep "dsu:" | sed 's/^/DSU-PATCH: dmesg: /'
if dmesg | grep -qE "Oops|BUG:|WARNING:"; then bad "dmesg shows an oops or a warning"; fi
[ $fail = 0 ] && echo "DSU-PATCH: PASS"
echo "DSU-PATCH: done"
