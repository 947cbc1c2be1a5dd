#!/bin/sh
# Guest side of the corpus tier (run by /init as /guest-extra.sh): for each
# /fixNN.ko (and /cumulative.ko, the whole 6.12.118 update, with every
# area's workload), the workload of the area the fix touches runs while the
# patch is applied, again with it applied, then after the revert; the kernel
# log must stay free of oopses and warnings. One line per fix:
#   DSU-CORPUS: fixNN applied pause P us total T us (workload: ...)
#   DSU-CORPUS: fixNN FAIL: what went wrong
# Everything runs in a memory cgroup with a high limit and a swap device,
# so that reclaim and swap (mm/ fixes) are exercised.

# The area of each fix (corpus-workload.c); "none" where no user-space
# program can reach the fixed code on this machine.
area_of() {
  case $1 in
    03) echo pagemap ;;  04) echo none ;;    05) echo blkbsz ;;  07) echo perf ;;
    08) echo madvise ;;  09) echo memfd ;;   10) echo rawv6 ;;   11) echo none ;;
    13) echo tcp ;;      14) echo none ;;    16) echo filemap ;; 17) echo memory ;;
    18) echo input ;;    20) echo memory ;;  21) echo swap ;;    23) echo memory ;;
    24) echo tcp ;;      26) echo thp ;;     27) echo tick ;;    30) echo keys ;;
    cumulative) echo all ;;
    *) echo none ;;
  esac
}

say() { echo "DSU-CORPUS: $*"; }
[ -r /proc/dsu ] || { say "FAIL: no /proc/dsu"; exit 1; }

ip link set lo up
mount -t tmpfs tmpfs /tmp
dd if=/dev/zero of=/tmp/disk bs=1M count=8 2>/dev/null && losetup /dev/loop0 /tmp/disk
dd if=/dev/zero of=/tmp/swap bs=1M count=48 2>/dev/null && losetup /dev/loop1 /tmp/swap &&
  mkswap /dev/loop1 >/dev/null && swapon /dev/loop1 || say "note: no swap device"
mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup &&
  echo +memory > /sys/fs/cgroup/cgroup.subtree_control &&
  mkdir /sys/fs/cgroup/corpus && echo 8M > /sys/fs/cgroup/corpus/memory.low &&
  echo 12M > /sys/fs/cgroup/corpus/memory.high &&
  echo $$ > /sys/fs/cgroup/corpus/cgroup.procs || say "note: no memory cgroup"

for ko in /fix*.ko /cumulative.ko; do
  [ -e "$ko" ] || continue
  name=$(basename "$ko" .ko)
  area=$(area_of "${name#fix}")
  dmesg -c > /dev/null
  # Applied while the workload runs.
  /corpus-workload "$area" 3 > /tmp/during 2>&1 &
  load=$!
  sleep 1
  if ! insmod "$ko" 2> /tmp/insmod; then
    wait $load
    say "$name FAIL: insmod: $(cat /tmp/insmod) $(dmesg | grep -i dsu | tail -2 | tr '\n' ' ')"
    continue
  fi
  applied=$(grep "^1 " /proc/dsu)
  wait $load || { say "$name FAIL: workload during the apply: $(cat /tmp/during)"; }
  after=$(/corpus-workload "$area" 1) || say "$name FAIL: workload with the patch: $after"
  [ "$area" = swap ] && { swapoff /dev/loop1 && swapon /dev/loop1 ||
                            say "$name FAIL: swapoff/swapon with the patch"; }
  if ! { echo revert > /proc/dsu && rmmod "dsu_$name"; }; then
    say "$name FAIL: revert or rmmod"
    continue
  fi
  reverted=$(/corpus-workload "$area" 1) || say "$name FAIL: workload after the revert: $reverted"
  if dmesg | grep -qE "Oops|BUG:|WARNING:|general protection"; then
    say "$name FAIL: the kernel log shows: $(dmesg | grep -m1 -E 'Oops|BUG:|WARNING:|general protection')"
    continue
  fi
  # /proc/dsu: level name functions pause_us total_us
  set -- $applied
  say "$name applied pause $4 us total $5 us, $3 functions (workload $area: $(sed 's/.*: //' /tmp/during))"
done
say done
