/*
 * nosyscall: the uncontended msgsnd + msgrcv, semop -1/+1, and a pipe's
 * write of 64 bytes while its reader is about and read of bytes already
 * there, make no system call.  Runs bench/msg_bench and bench/sem_bench
 * --loop N, and this program's own pipe loop, under strace -f -c for two
 * values of N: the number of system calls must not grow with N.
 */
#include "harness.h"
#include "internal.h"

#include <sys/wait.h>

static long count_syscalls(const char *bench, long n)
{
	char cmd[1024], line[256];
	long total = -1;
	FILE *f;

	/* strace's total line: % time, seconds, usecs/call, calls, errors,
	 * "total"; errors may be empty, so take the calls column by name. */
	snprintf(cmd, sizeof(cmd),
		 "strace -f -c -o /dev/stdout %s %ld 2>/dev/null | "
		 "grep ' total$'", bench, n);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f)) {
		double pct, secs;
		long usecs, calls;

		if (sscanf(line, "%lf %lf %ld %ld", &pct, &secs, &usecs, &calls) == 4)
			total = calls;
		else if (sscanf(line, "%lf %lf %ld", &pct, &secs, &calls) == 3)
			total = calls;
	}
	pclose(f);
	return total;
}

/* "nosyscall --pipe-loop N": N writes of 64 bytes into a uipc pipe, each
 * read back at once, in one process. */
static int pipe_loop(long n)
{
	char buf[64] = "0123456789abcdef", in[64];
	int p[2];

	if (uipc_pipe(p) < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		buf[0] = (char)i;
		if (uipc_write(p[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    uipc_read(p[0], in, sizeof(in)) != (ssize_t)sizeof(in) ||
		    in[0] != (char)i)
			return 1;
	}
	uipc_close(p[0]);
	uipc_close(p[1]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *b = getenv("UIPC_BUILD");
	char bench[600];
	long small, big;

	if (argc == 3 && !strcmp(argv[1], "--pipe-loop"))
		return pipe_loop(atol(argv[2]));
	harness_init(120);
#ifdef __SANITIZE_ADDRESS__
	/* The sanitizer's runtime makes system calls of its own (its
	 * allocator, its background thread), more the longer a loop runs:
	 * the count says nothing of uipc's fast path here. */
	printf("SKIP: built with AddressSanitizer, whose runtime makes system calls of its own\n");
	return 77;
#endif
	if (system("strace -V >/dev/null 2>&1") != 0) {
		printf("SKIP: strace is not installed (apt-get install strace)\n");
		return 77;
	}
	for (int k = 0; k < 3; k++) {
		const char *name = k == 2 ? "pipe" : k ? "sem_bench" : "msg_bench";
		char path[512];

		if (k == 2 && uipc_fallback(UF_IO_URING)) {
			/* Before Linux 5.1 a writer asks the kernel whether
			 * readers remain (docs/uipc.md, "Pipes"). */
			printf("pipe: not counted: UIPC_FALLBACK forces the "
			       "kernel without io_uring, where every write "
			       "asks poll\n");
			continue;
		}
		if (k == 2) {
			snprintf(path, sizeof(path), "%s", argv[0]);
			snprintf(bench, sizeof(bench), "%s --pipe-loop", argv[0]);
		} else {
			snprintf(path, sizeof(path), "%s/bench/%s", b ? b : "build", name);
			snprintf(bench, sizeof(bench), "%s --loop", path);
		}
		if (access(path, X_OK) != 0) {
			printf("SKIP: %s not built\n", path);
			return 77;
		}
		count_syscalls(bench, 1);	/* creates the namespace */
		small = count_syscalls(bench, 1000);
		big = count_syscalls(bench, 200000);
		printf("%s: system calls: %ld for 1000 pairs, %ld for 200000 pairs\n",
		       name, small, big);
		if (small < 0 || big < 0) {
			printf("SKIP: strace gave no count here (ptrace not permitted?)\n");
			return 77;
		}
		/* One system call a pair would add 199000; allow a handful
		 * that do not depend on the loop (start-up varies a little). */
		CHECK(big <= small + 10, "%s: the loop makes system calls: %ld "
		      "more for 199000 more pairs", name, big - small);
	}
	return harness_done();
}
