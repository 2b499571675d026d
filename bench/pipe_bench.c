/*
 * pipe_bench: pipes between two processes, kernel and uipc, same workload,
 * one run, both figures and their ratio.
 *
 *  (a) streaming, 64 B writes     \  the child writes a fixed total in
 *  (b) streaming, 4 KiB writes     > writes of that size and closes; the
 *  (c) streaming, 64 KiB writes   /  parent reads with a 64 KiB buffer
 *                                    until EOF (MB/s, 1 MB = 10^6 bytes)
 *  (d) ping-pong: 1 byte there and back over two pipes (round trips/s)
 *
 * Each figure is the best of 3 runs, kernel and uipc runs taking turns
 * (the machine may be small and shared); a side whose runs of a workload
 * have taken more than BUDGET seconds is not run again, and the row says
 * so (so that a slow uipc cannot make the program take minutes).  The
 * totals make a kernel run take about 0.2-0.7 s on a 2-core VM, and the
 * whole program 8-18 s.
 *
 * The kernel side uses pipe, read, write and close; the uipc side
 * uipc_pipe, uipc_read, uipc_write and uipc_close only (a uipc pipe's ends
 * are kernel pipe descriptors, but the bytes go through uipc's ring, so
 * plain read and write on them would not see them).  Every end is closed
 * before its process exits.
 *
 * Checks: the stream is the pattern byte i = i % 251 (a period that divides
 * none of the write sizes, so a lost or repeated write shifts it); the
 * reader checks the first and the last byte of every read (all of them
 * with --full), and the total read against the total written; every
 * ping-pong echo must be the byte sent, and after the last one the reply
 * pipe must be at EOF.  Any mismatch, error, or a child that does not exit
 * 0, and the program exits 1.  A run that takes longer than WATCHDOG
 * seconds is taken for a hang: its child is killed, and the program exits 1.
 *
 * Usage: pipe_bench [--quick] [--full] [--only abcd]
 *   --quick  a tenth of the work
 *   --full   check every byte read (slower: the figures then include it)
 *   --only   only the workloads named by these letters (e.g. --only d)
 *
 * Build with -DPIPE_KERNEL_ONLY for a sanity mode in which the "uipc"
 * column runs the C library's calls too (both columns then measure kernel
 * pipes, and the ratios show how much the figures move between runs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uipc.h"

struct pipe_ops {
	const char *name;
	int (*pipe)(int[2]);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
};

static const struct pipe_ops kernel = { "kernel", pipe, read, write, close };
#ifdef PIPE_KERNEL_ONLY
static const struct pipe_ops uipc = { "uipc", pipe, read, write, close };
#else
static const struct pipe_ops uipc = { "uipc", uipc_pipe, uipc_read, uipc_write,
				      uipc_close };
#endif

#define PERIOD	 251		/* of the stream's pattern */
#define RBUF	 65536		/* the reader's buffer */
#define MAXCHUNK 65536		/* the largest write */
#define REPS	 3
#define WATCHDOG 15		/* seconds for one run */
#define BUDGET	 3.0		/* seconds for a side's runs of one workload */

static unsigned char pattern[MAXCHUNK + PERIOD];	/* pattern[j] = j % PERIOD */
static unsigned char rbuf[RBUF];
static int full_check;
static volatile pid_t child = -1;
static char running[128];	/* the run in progress, for the watchdog */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void fail(const struct pipe_ops *o, const char *what)
{
	fprintf(stderr, "pipe_bench: %s %s: %s\n", o->name, what,
		errno ? strerror(errno) : "failed");
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	exit(1);
}

static void on_alarm(int sig)
{
	static const char m1[] = "pipe_bench: hang: ";
	static const char m2[] = " took longer than the watchdog; child killed\n";

	(void)sig;
	if (write(2, m1, sizeof(m1) - 1) < 0 ||
	    write(2, running, strlen(running)) < 0 ||
	    write(2, m2, sizeof(m2) - 1) < 0) {
		/* nothing more to say */
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	_exit(1);
}

/* In a child: say what failed, and exit 2. */
static void child_fail(const struct pipe_ops *o, const char *what, ssize_t r)
{
	fprintf(stderr, "pipe_bench: %s %s (child): returned %zd: %s\n", o->name,
		what, r, r < 0 ? strerror(errno) : "unexpected");
	_exit(2);
}

/* In a new child: die with the parent, whatever happens to it. */
static void child_setup(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
}

static pid_t start_child(const struct pipe_ops *o)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail(o, "fork");
	if (pid == 0)
		child_setup(parent);
	else
		child = pid;
	return pid;
}

/* Wait for the child; 0 if it exited 0. */
static int reap(void)
{
	int st;

	if (waitpid(child, &st, 0) < 0)
		return -1;
	child = -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* (a)-(c): bytes per second, `total` bytes written `chunk` at a time. */
static double stream(const struct pipe_ops *o, size_t chunk, long long total)
{
	long long got = 0;
	double t0, t;
	int p[2];

	errno = 0;
	if (o->pipe(p) < 0)
		fail(o, "pipe");
	if (start_child(o) == 0) {
		long long off = 0;

		o->close(p[0]);
		while (off < total) {
			size_t n = (size_t)(total - off < (long long)chunk ?
					    total - off : (long long)chunk);
			const unsigned char *b = pattern + off % PERIOD;

			while (n > 0) {
				ssize_t w = o->write(p[1], b, n);

				if (w <= 0)
					child_fail(o, "stream write", w);
				b += w;
				n -= (size_t)w;
				off += w;
			}
		}
		if (o->close(p[1]) < 0)
			child_fail(o, "close", -1);
		_exit(0);
	}
	o->close(p[1]);
	t0 = now();
	for (;;) {
		ssize_t r = o->read(p[0], rbuf, sizeof(rbuf));
		size_t first = (size_t)(got % PERIOD);

		if (r == 0)
			break;
		if (r < 0)
			fail(o, "stream read");
		if (rbuf[0] != pattern[first] ||
		    rbuf[r - 1] != pattern[(first + (size_t)r - 1) % PERIOD] ||
		    (full_check && memcmp(rbuf, pattern + first, (size_t)r))) {
			errno = 0;
			fprintf(stderr, "pipe_bench: %s stream %zu B: wrong bytes in "
				"a read of %zd at offset %lld\n", o->name, chunk, r,
				got);
			fail(o, "stream check");
		}
		got += r;
		if (got > total)
			break;
	}
	t = now() - t0;
	errno = 0;
	if (got != total) {
		fprintf(stderr, "pipe_bench: %s stream %zu B: read %lld%s bytes, "
			"%lld written\n", o->name, chunk, got,
			got > total ? " or more" : "", total);
		fail(o, "stream count");
	}
	if (reap() < 0)
		fail(o, "stream writer (exit status)");
	if (o->close(p[0]) < 0)
		fail(o, "close");
	return (double)total / t;
}

/* (d): round trips per second, n of them. */
static double pingpong(const struct pipe_ops *o, long n)
{
	int there[2], back[2];
	unsigned char c;
	double t0, t;
	ssize_t r;

	errno = 0;
	if (o->pipe(there) < 0 || o->pipe(back) < 0)
		fail(o, "pipe");
	if (start_child(o) == 0) {
		o->close(there[1]);
		o->close(back[0]);
		for (;;) {
			r = o->read(there[0], &c, 1);
			if (r == 0)
				break;
			if (r != 1)
				child_fail(o, "ping-pong read", r);
			r = o->write(back[1], &c, 1);
			if (r != 1)
				child_fail(o, "ping-pong write", r);
		}
		if (o->close(back[1]) < 0 || o->close(there[0]) < 0)
			child_fail(o, "close", -1);
		_exit(0);
	}
	o->close(there[0]);
	o->close(back[1]);
	t0 = now();
	for (long i = 0; i < n; i++) {
		unsigned char s = (unsigned char)i;

		if (o->write(there[1], &s, 1) != 1)
			fail(o, "ping-pong write");
		r = o->read(back[0], &c, 1);
		if (r != 1 || c != s) {
			fprintf(stderr, "pipe_bench: %s ping-pong: round trip %ld: "
				"read returned %zd, byte %u, sent %u\n", o->name, i,
				r, r == 1 ? c : 0, s);
			fail(o, "ping-pong check");
		}
	}
	t = now() - t0;
	errno = 0;
	if (o->close(there[1]) < 0)
		fail(o, "close");
	r = o->read(back[0], &c, 1);
	if (r != 0) {
		fprintf(stderr, "pipe_bench: %s ping-pong: read after the last "
			"round trip returned %zd, not EOF\n", o->name, r);
		fail(o, "ping-pong end");
	}
	if (reap() < 0)
		fail(o, "ping-pong echoer (exit status)");
	if (o->close(back[0]) < 0)
		fail(o, "close");
	return (double)n / t;
}

struct work {
	const char *what;
	const char *unit;
	size_t chunk;		/* 0: ping-pong */
	long long amount;	/* bytes, or round trips */
};

static double run(const struct work *w, const struct pipe_ops *o, long scale)
{
	double v;

	snprintf(running, sizeof(running), "%s, %s", w->what, o->name);
	alarm(WATCHDOG);
	if (w->chunk)
		v = stream(o, w->chunk, w->amount / scale) / 1e6;
	else
		v = pingpong(o, (long)(w->amount / scale));
	alarm(0);
	return v;
}

int main(int argc, char **argv)
{
	static const struct work works[] = {
		{ "(a) 2 processes, stream, 64 B writes", "MB/s", 64,
		  48LL << 20 },
		{ "(b) 2 processes, stream, 4 KiB writes", "MB/s", 4096,
		  1LL << 30 },
		{ "(c) 2 processes, stream, 64 KiB writes", "MB/s", 65536,
		  1LL << 30 },
		{ "(d) 2 processes, ping-pong, 1 B", "round trips/s", 0,
		  30000 },
	};
	struct sigaction sa;
	const char *only = "abcd";
	long scale = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			scale = 10;
		else if (!strcmp(argv[i], "--full"))
			full_check = 1;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: pipe_bench [--quick] [--full] "
				"[--only abcd]\n");
			return 2;
		}
	}
	for (size_t j = 0; j < sizeof(pattern); j++)
		pattern[j] = (unsigned char)(j % PERIOD);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a write to a closed pipe: EPIPE */

#ifdef PIPE_KERNEL_ONLY
	printf("pipe_bench: built with PIPE_KERNEL_ONLY: the uipc column is "
	       "kernel pipes too\n");
#endif
	printf("%-40s %12s %12s %8s\n", "pipes (best of 3)", "kernel", "uipc",
	       "ratio");
	for (size_t i = 0; i < sizeof(works) / sizeof(works[0]); i++) {
		const struct work *w = &works[i];
		const struct pipe_ops *side[2] = { &kernel, &uipc };
		double best[2] = { 0, 0 }, spent[2] = { 0, 0 };
		int runs[2] = { 0, 0 };

		if (!strchr(only, w->what[1]))
			continue;

		for (int rep = 0; rep < REPS; rep++)
			for (int j = 0; j < 2; j++) {
				double t0 = now(), v;

				if (spent[j] >= BUDGET)
					continue;
				v = run(w, side[j], scale);
				spent[j] += now() - t0;
				runs[j]++;
				if (v > best[j])
					best[j] = v;
			}
		printf("%-40s %12.0f %12.0f %7.2fx  %s", w->what, best[0], best[1],
		       best[1] / best[0], w->unit);
		for (int j = 0; j < 2; j++)
			if (runs[j] < REPS)
				printf(" (%s: %d run%s, too slow to repeat)",
				       side[j]->name, runs[j], runs[j] > 1 ? "s" : "");
		printf("\n");
		fflush(stdout);
	}
	return 0;
}
