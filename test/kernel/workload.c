/* Guest workload for the kernel tier: forks, execs, pipes and reads /proc,
 * checking every result. Prints "DSU-WORKLOAD: PASS" only if all checks hold.
 * Built static with clang-19 and run as part of the initramfs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what) {
  printf("DSU-WORKLOAD: %s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok)
    failures++;
}

static ssize_t read_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  size_t n = 0;
  ssize_t r;
  while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
    n += (size_t)r;
  close(fd);
  buf[n] = 0;
  return (ssize_t)n;
}

static void test_fork(void) {
  enum { N = 32 };
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    if (pids[i] == 0)
      _exit(i);
  }
  int good = 0;
  for (int i = 0; i < N; i++) {
    int st = 0;
    if (waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == i)
      good++;
  }
  check(good == N, "fork: 32 children exit with their own status");
}

static void test_exec(void) {
  int p[2];
  if (pipe(p) != 0)
    return check(0, "exec: pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    execl("/bin/busybox", "echo", "exec-ok", (char *)0);
    _exit(127);
  }
  close(p[1]);
  char buf[64] = {0};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  check(n > 0 && strcmp(buf, "exec-ok\n") == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "exec: busybox echo through a pipe");
  pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "exit 7", (char *)0);
    _exit(127);
  }
  waitpid(pid, &st, 0);
  check(WIFEXITED(st) && WEXITSTATUS(st) == 7, "exec: shell script exit status");
}

static void test_pipe(void) {
  enum { SIZE = 1 << 20 };
  int p[2];
  if (pipe(p) != 0)
    return check(0, "pipe: create");
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    unsigned char chunk[4096];
    for (size_t off = 0; off < SIZE; off += sizeof chunk) {
      for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (unsigned char)((off + i) * 31u);
      if (write(p[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
        _exit(1);
    }
    _exit(0);
  }
  close(p[1]);
  unsigned char buf[3000];
  size_t total = 0, bad = 0;
  ssize_t r;
  while ((r = read(p[0], buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < r; i++)
      bad += buf[i] != (unsigned char)((total + (size_t)i) * 31u);
    total += (size_t)r;
  }
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  check(total == SIZE && bad == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "pipe: 1 MiB from a child arrives intact");
}

static void test_proc(void) {
  static char buf[65536];
  check(read_file("/proc/self/status", buf, sizeof buf) > 0 && strstr(buf, "Name:\tworkload"),
        "/proc/self/status names this process");
  check(read_file("/proc/meminfo", buf, sizeof buf) > 0 && strstr(buf, "MemTotal:"),
        "/proc/meminfo has MemTotal");
  double up = 0;
  check(read_file("/proc/uptime", buf, sizeof buf) > 0 && sscanf(buf, "%lf", &up) == 1 && up > 0,
        "/proc/uptime is positive");
  check(read_file("/proc/self/maps", buf, sizeof buf) > 0 && strstr(buf, "[stack]"),
        "/proc/self/maps shows the stack");
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  ssize_t n = read_file(path, buf, sizeof buf);
  check(n > 0 && strcmp(buf, "/workload") == 0, "/proc/<child>/cmdline of a sleeping child");
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "signal: SIGKILL reaches the child");
  struct stat sb;
  check(stat("/proc/1", &sb) == 0 && S_ISDIR(sb.st_mode), "stat /proc/1");
}

static void test_mmap(void) {
  size_t len = 8 << 20;
  unsigned char *m = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return check(0, "mmap: 8 MiB anonymous");
  for (size_t i = 0; i < len; i += 4096)
    m[i] = (unsigned char)(i >> 12);
  size_t bad = 0;
  for (size_t i = 0; i < len; i += 4096)
    bad += m[i] != (unsigned char)(i >> 12);
  check(bad == 0 && munmap(m, len) == 0, "mmap: 8 MiB anonymous, written and read back");
}

int main(void) {
  printf("DSU-WORKLOAD: start\n");
  test_fork();
  test_exec();
  test_pipe();
  test_proc();
  test_mmap();
  printf("DSU-WORKLOAD: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
  fflush(stdout);
  return failures ? 1 : 0;
}
