/* The corpus tier's guest workload: exercises one area of the kernel that a
 * corpus fix touches, where a user-space program can reach it, for a second
 * or two, so that the patch is applied (and reverted) under load and the
 * patched code runs.
 *   corpus-workload AREA      (corpus-guest.sh names the area per fix)
 * Prints "corpus-workload: AREA: ok (N rounds)" and exits 0, or says what
 * failed and exits 1. Built static with clang-19 for the initramfs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/input.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/uinput.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *area;
static int rounds;

static int fail(const char *what) {
  printf("corpus-workload: %s: FAIL: %s: %s\n", area, what, strerror(errno));
  return 1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs `one` until `seconds` have passed; each call is a round. */
static int repeat(int (*one)(void), double seconds) {
  double end = now() + seconds;
  while (now() < end) {
    if (one())
      return 1;
    ++rounds;
  }
  return 0;
}

/* 03: the pagemap ioctl (PAGEMAP_SCAN) and an unknown one (-ENOTTY). */
static int pagemap(void) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0)
    return fail("open /proc/self/pagemap");
  int rc = ioctl(fd, _IO('f', 0x7f));
  int err = errno;
  char buf[64];
  if (pread(fd, buf, sizeof buf, 0) < 0)
    return fail("read pagemap");
  close(fd);
  if (rc != -1 || (err != ENOTTY && err != EINVAL)) {
    errno = err;
    return fail("unknown pagemap ioctl");
  }
  return 0;
}

/* 05: BLKBSZGET on a loop device (the native path; the fix is in compat). */
static int blkbsz(void) {
  int fd = open("/dev/loop0", O_RDONLY);
  if (fd < 0)
    return fail("open /dev/loop0");
  int size = 0;
  if (ioctl(fd, BLKBSZGET, &size) < 0 || size <= 0)
    return fail("BLKBSZGET");
  close(fd);
  return 0;
}

/* 07: a sigtrap perf event that an exec removes. */
static int perf_exec(void) {
  struct perf_event_attr attr = {.type = PERF_TYPE_SOFTWARE, .size = sizeof attr,
                                 .config = PERF_COUNT_SW_TASK_CLOCK, .sample_period = 100000,
                                 .sigtrap = 1, .remove_on_exec = 1, .inherit = 1,
                                 .inherit_thread = 1};
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGTRAP, SIG_IGN);
    int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
      _exit(2);
    for (volatile int i = 0; i < 100000; ++i)
      ;
    execl("/bin/true", "true", (char *)0);
    _exit(3);
  }
  int status;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    errno = 0;
    return fail("perf_event_open child");
  }
  return 0;
}

/* 08: MADV_FREE on mergeable anonymous memory. */
static int madvise_free(void) {
  size_t len = 64 * 4096;
  char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return fail("mmap");
  memset(p, 7, len);
  madvise(p, len, MADV_MERGEABLE);
  if (madvise(p, len, MADV_FREE) < 0)
    return fail("MADV_FREE");
  p[0] = 1;
  munmap(p, len);
  return 0;
}

/* 09: memfd reads and writes from two threads sharing the file position. */
static int memfd_fd;
static long lost_positions;
static void *memfd_writer(void *arg) {
  (void)arg;
  char c = 'x';
  for (int i = 0; i < 200; ++i)
    if (write(memfd_fd, &c, 1) != 1)
      return (void *)1;
  return 0;
}
static int memfd(void) {
  memfd_fd = memfd_create("corpus", 0);
  if (memfd_fd < 0)
    return fail("memfd_create");
  pthread_t t[2];
  for (int i = 0; i < 2; ++i)
    pthread_create(&t[i], 0, memfd_writer, 0);
  void *r0, *r1;
  pthread_join(t[0], &r0);
  pthread_join(t[1], &r1);
  off_t end = lseek(memfd_fd, 0, SEEK_CUR);
  close(memfd_fd);
  if (r0 || r1)
    return fail("write to a memfd");
  /* Without the fix the two writers race on f_pos and an update can be
   * lost (the file ends short): counted, not a failure, since the race is
   * the bug the fix removes and need not show in any given run. */
  lost_positions += 400 - end;
  return 0;
}

/* 10: a raw IPv6 socket sending its own headers (IPV6_HDRINCL) to ::1. */
static int rawv6(void) {
  int fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0)
    return fail("socket(AF_INET6, SOCK_RAW)");
  struct {
    struct ip6_hdr ip;
    char payload[16];
  } pkt = {0};
  pkt.ip.ip6_flow = htonl(6u << 28);
  pkt.ip.ip6_plen = htons(sizeof pkt.payload);
  pkt.ip.ip6_nxt = 253; /* experimental */
  pkt.ip.ip6_hlim = 8;
  pkt.ip.ip6_src = in6addr_loopback;
  pkt.ip.ip6_dst = in6addr_loopback;
  struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  if (sendto(fd, &pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) < 0)
    return fail("sendto ::1");
  close(fd);
  return 0;
}

/* 13, 24: TCP over loopback, IPv4 and IPv6: connect, accept, a transfer. */
static int tcp_once(int family) {
  int ls = socket(family, SOCK_STREAM, 0);
  if (ls < 0)
    return fail("socket");
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  if (bind(ls, (struct sockaddr *)&ss, len) < 0 || listen(ls, 4) < 0 ||
      getsockname(ls, (struct sockaddr *)&ss, &len) < 0)
    return fail("bind/listen");
  int c = socket(family, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr *)&ss, len) < 0)
    return fail("connect");
  int s = accept(ls, 0, 0);
  if (s < 0)
    return fail("accept");
  char buf[65536];
  memset(buf, 'a', sizeof buf);
  for (int i = 0; i < 8; ++i) {
    if (write(c, buf, sizeof buf) != (ssize_t)sizeof buf)
      return fail("write");
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t n = read(s, buf, sizeof buf - got);
      if (n <= 0)
        return fail("read");
      got += n;
    }
  }
  close(c);
  close(s);
  close(ls);
  return 0;
}
static int tcp(void) { return tcp_once(AF_INET) || tcp_once(AF_INET6); }

/* 16: page-cache reads interrupted by signals. */
static void on_alarm(int sig) { (void)sig; }
static int filemap(void) {
  static char buf[1 << 20];
  int fd = open("/tmp/corpus-file", O_RDWR | O_CREAT, 0600);
  if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf)
    return fail("write /tmp/corpus-file");
  signal(SIGALRM, on_alarm);
  ualarm(500, 500);
  for (int i = 0; i < 20; ++i)
    if (pread(fd, buf, sizeof buf, 0) < 0 && errno != EINTR)
      return fail("pread");
  ualarm(0, 0);
  close(fd);
  return 0;
}

/* 17, 20, 23: allocation and reclaim inside a memory cgroup with a low and a
 * high limit (corpus-guest.sh makes /sys/fs/cgroup/corpus and moves us in). */
static int memory(void) {
  size_t len = 16 << 20;
  char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return fail("mmap 16 MiB");
  for (size_t i = 0; i < len; i += 4096)
    p[i] = (char)i;
  munmap(p, len);
  return 0;
}

/* 18: events through uinput, with EV_SYN reports. */
static int uinput_fd = -1;
static int input(void) {
  if (uinput_fd < 0) {
    uinput_fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK);
    if (uinput_fd < 0)
      return fail("open /dev/uinput");
    ioctl(uinput_fd, UI_SET_EVBIT, EV_KEY);
    ioctl(uinput_fd, UI_SET_KEYBIT, KEY_A);
    struct uinput_setup setup = {.id = {.bustype = BUS_VIRTUAL, .vendor = 1, .product = 1}};
    strcpy(setup.name, "corpus-keyboard");
    if (ioctl(uinput_fd, UI_DEV_SETUP, &setup) < 0 || ioctl(uinput_fd, UI_DEV_CREATE) < 0)
      return fail("UI_DEV_CREATE");
  }
  struct input_event ev[4] = {{.type = EV_KEY, .code = KEY_A, .value = 1},
                              {.type = EV_SYN, .code = SYN_REPORT},
                              {.type = EV_KEY, .code = KEY_A, .value = 0},
                              {.type = EV_SYN, .code = SYN_REPORT}};
  if (write(uinput_fd, ev, sizeof ev) != sizeof ev)
    return fail("write events");
  return 0;
}

/* 21: memory pushed out to swap (corpus-guest.sh swaps on /dev/loop1 and
 * swaps off after the patch is in). */
static int swap(void) { return memory(); }

/* 26: a transparent huge page split by an mprotect of part of it. */
static int thp(void) {
  size_t len = 4 << 20;
  char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return fail("mmap 4 MiB");
  char *huge = (char *)(((unsigned long)p + (2 << 20) - 1) & ~((2ul << 20) - 1));
  madvise(huge, 2 << 20, MADV_HUGEPAGE);
  memset(huge, 1, 2 << 20);
  if (mprotect(huge + 4096, 4096, PROT_READ) < 0)
    return fail("mprotect inside a huge page");
  munmap(p, len);
  return 0;
}

/* 27: sleeps and wake-ups, so that the tick stops and restarts. */
static int tick(void) {
  struct timespec ts = {0, 200000};
  nanosleep(&ts, 0);
  return 0;
}

/* 30: a keyring with enough keys to split its associative array's nodes,
 * then unlinked (garbage collection). */
static int keys(void) {
  long ring = syscall(SYS_add_key, "keyring", "corpus", 0, 0, KEY_SPEC_PROCESS_KEYRING);
  if (ring < 0)
    return fail("add_key keyring");
  for (int i = 0; i < 40; ++i) {
    char desc[32];
    snprintf(desc, sizeof desc, "corpus-%d-%d", rounds, i);
    if (syscall(SYS_add_key, "user", desc, "v", 1, ring) < 0)
      return fail("add_key user");
  }
  if (syscall(SYS_keyctl, KEYCTL_CLEAR, ring) < 0)
    return fail("KEYCTL_CLEAR");
  syscall(SYS_keyctl, KEYCTL_UNLINK, ring, KEY_SPEC_PROCESS_KEYRING);
  return 0;
}

static int all(void);

/* Fixes no user-space program here can reach (fs/dax.c needs a DAX device,
 * cipso needs an LSM labelling packets): only general activity. */
static int none(void) { return tick(); }

static const struct {
  const char *name;
  int (*one)(void);
} areas[] = {{"pagemap", pagemap}, {"blkbsz", blkbsz}, {"perf", perf_exec},
             {"madvise", madvise_free}, {"memfd", memfd}, {"rawv6", rawv6},
             {"tcp", tcp}, {"filemap", filemap}, {"memory", memory},
             {"input", input}, {"swap", swap}, {"thp", thp},
             {"tick", tick}, {"keys", keys}, {"none", none}, {"all", all}};

/* The whole update at once (6.12.117 -> 6.12.118): a round of every area. */
static int all(void) {
  for (size_t i = 0; i < sizeof areas / sizeof areas[0]; ++i)
    if (areas[i].one != all && areas[i].one())
      return 1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: corpus-workload AREA [SECONDS]\n");
    return 2;
  }
  area = argv[1];
  double seconds = argc > 2 ? atof(argv[2]) : 1.5;
  for (size_t i = 0; i < sizeof areas / sizeof areas[0]; ++i)
    if (!strcmp(areas[i].name, area)) {
      if (repeat(areas[i].one, seconds))
        return 1;
      printf("corpus-workload: %s: ok (%d rounds", area, rounds);
      if (lost_positions)
        printf(", %ld lost file position updates", lost_positions);
      printf(")\n");
      return 0;
    }
  fprintf(stderr, "corpus-workload: no area %s\n", area);
  return 2;
}
