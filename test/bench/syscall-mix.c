// The kernel benchmark's guest workload: a system call mix timed in the
// guest. Under QEMU with -icount the guest's clock counts instructions, so
// the same kernel gives the same figures run after run and the ratio of two
// kernels is the ratio of the instructions they execute for the same work.
//
//   syscall-mix [ROUNDS]   prints "BENCH-MIX: <op> <ns per op> <ops>" per op
//                          and "BENCH-MIX: mix <ns per round> <rounds>"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static char buf[64];

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	printf("BENCH-MIX: FAIL %s\n", what);
	exit(1);
}

static void op_getpid(void)
{
	if (syscall(SYS_getpid) <= 0)
		die("getpid");
}

static void op_pipe(void)
{
	if (write(pipefd[1], buf, sizeof buf) != sizeof buf || read(pipefd[0], buf, sizeof buf) != sizeof buf)
		die("pipe read/write");
}

static void op_open_close(void)
{
	int fd = open("/proc/self/stat", O_RDONLY);

	if (fd < 0 || close(fd))
		die("open/close");
}

static void op_stat(void)
{
	struct stat st;

	if (stat("/bin/busybox", &st))
		die("stat");
}

static void op_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(7);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		die("wait");
}

static void op_mmap(void)
{
	char *p = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	for (int i = 0; i < 16; i++)
		p[i * 4096] = 1; /* fault the pages in */
	if (munmap(p, 16 * 4096))
		die("munmap");
}

static const struct {
	const char *name;
	void (*run)(void);
	int weight; /* calls per round, roughly balancing their cost */
} ops[] = {
	{ "getpid", op_getpid, 20 },  { "pipe_rw", op_pipe, 10 }, { "open_close", op_open_close, 5 },
	{ "stat", op_stat, 10 },      { "fork_exit", op_fork, 1 }, { "mmap", op_mmap, 2 },
};
#define NOPS (sizeof ops / sizeof ops[0])

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	unsigned long long per_op[NOPS] = { 0 }, t0, total;

	if (pipe(pipefd))
		die("pipe");
	/* Warm up: page cache, dentries, slab caches. */
	for (unsigned i = 0; i < NOPS; i++)
		for (int k = 0; k < ops[i].weight; k++)
			ops[i].run();
	total = now_ns();
	for (int r = 0; r < rounds; r++)
		for (unsigned i = 0; i < NOPS; i++) {
			t0 = now_ns();
			for (int k = 0; k < ops[i].weight; k++)
				ops[i].run();
			per_op[i] += now_ns() - t0;
		}
	total = now_ns() - total;
	for (unsigned i = 0; i < NOPS; i++)
		printf("BENCH-MIX: %s %.1f %d\n", ops[i].name,
		       (double)per_op[i] / ((unsigned long long)rounds * ops[i].weight), rounds * ops[i].weight);
	printf("BENCH-MIX: mix %.1f %d\n", (double)total / rounds, rounds);
	return 0;
}
