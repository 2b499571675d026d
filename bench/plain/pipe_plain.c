/*
 * pipe_plain: pipe workloads of an ordinary program (no uipc, the C
 * library's calls), for bench/shim_pipe_bench.sh, which runs it plainly
 * and under `uipc run --pipes`.  Each line: workload, figure, unit.
 * Best of three runs each, as bench/pipe_bench.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A forked child writes total bytes in writes of size; MB/s. */
static double stream(size_t size, size_t total)
{
	static char buf[65536];
	int p[2], st;
	double t0, t;
	size_t got = 0;
	pid_t c;

	if (pipe(p) < 0)
		exit(1);
	t0 = now();
	c = fork();
	if (c == 0) {
		close(p[0]);
		for (size_t done = 0; done < total; done += size)
			if (write(p[1], buf, size) != (ssize_t)size)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	for (ssize_t n; (n = read(p[0], buf, sizeof(buf))) > 0;)
		got += (size_t)n;
	t = now() - t0;
	waitpid(c, &st, 0);
	close(p[0]);
	if (got != total || st != 0) {
		fprintf(stderr, "stream %zu: got %zu of %zu, status %d\n", size,
			got, total, st);
		exit(1);
	}
	return (double)total / t / 1e6;
}

/* One byte there and back between two processes; round trips/s. */
static double pingpong(int rounds)
{
	int a[2], b[2], st;
	double t0, t;
	char x = 0;
	pid_t c;

	if (pipe(a) < 0 || pipe(b) < 0)
		exit(1);
	c = fork();
	if (c == 0) {
		for (int i = 0; i < rounds; i++)
			if (read(a[0], &x, 1) != 1 || write(b[1], &x, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now();
	for (int i = 0; i < rounds; i++)
		if (write(a[1], &x, 1) != 1 || read(b[0], &x, 1) != 1)
			exit(1);
	t = now() - t0;
	waitpid(c, &st, 0);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	return rounds / t;
}

static double best(double (*f)(size_t, size_t), size_t a, size_t b)
{
	double m = 0;

	for (int i = 0; i < 3; i++) {
		double v = f(a, b);

		if (v > m)
			m = v;
	}
	return m;
}

int main(void)
{
	double pp = 0;

	printf("stream-64B %.0f MB/s\n", best(stream, 64, 64u << 20));
	printf("stream-4KiB %.0f MB/s\n", best(stream, 4096, 512u << 20));
	printf("stream-64KiB %.0f MB/s\n", best(stream, 65536, 1024u << 20));
	for (int i = 0; i < 3; i++) {
		double v = pingpong(100000);

		if (v > pp)
			pp = v;
	}
	printf("pingpong-1B %.0f round-trips/s\n", pp);
	return 0;
}
