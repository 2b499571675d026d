/*
 * nosyscall: the uncontended msgsnd + msgrcv, and semop -1/+1, make no
 * system call.  Runs bench/msg_bench and bench/sem_bench --loop N under
 * strace -f -c for two values of N: the number of system calls must not
 * grow with N.
 */
#include "harness.h"

#include <sys/wait.h>

static long count_syscalls(const char *bench, long n)
{
	char cmd[1024], line[256];
	long total = -1;
	FILE *f;

	/* strace's total line: % time, seconds, usecs/call, calls, errors,
	 * "total"; errors may be empty, so take the calls column by name. */
	snprintf(cmd, sizeof(cmd),
		 "strace -f -c -o /dev/stdout %s --loop %ld 2>/dev/null | "
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

int main(void)
{
	const char *b = getenv("UIPC_BUILD");
	char bench[512];
	long small, big;

	harness_init(120);
	if (system("strace -V >/dev/null 2>&1") != 0) {
		printf("SKIP: strace is not installed (apt-get install strace)\n");
		return 77;
	}
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "sem_bench" : "msg_bench";

		snprintf(bench, sizeof(bench), "%s/bench/%s", b ? b : "build", name);
		if (access(bench, X_OK) != 0) {
			printf("SKIP: %s not built\n", bench);
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
