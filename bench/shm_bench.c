/*
 * shm_bench: System V shared memory, kernel and uipc, same workload, one
 * run.
 *
 * (a) the life of a segment: shmget + shmat + first touch of every page +
 *     shmdt + IPC_RMID, for 4 KiB and 64 MiB segments (cycles per second);
 * (b) bandwidth between two processes through one attached segment: the
 *     writer fills a 4 MiB half while the reader sums the other, and they
 *     swap halves through a flag in the segment (GB/s of data passed; the
 *     median of 5 runs each, kernel and uipc runs taking turns).
 *
 * Usage: shm_bench [--quick]
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uipc.h"

struct shm_ops {
	const char *name;
	int (*get)(key_t, size_t, int);
	void *(*at)(int, const void *, int);
	int (*dt)(const void *);
	int (*ctl)(int, int, struct shmid_ds *);
};

static const struct shm_ops kernel = { "kernel", shmget, shmat, shmdt, shmctl };
static const struct shm_ops uipc = { "uipc", uipc_shmget, uipc_shmat,
				     uipc_shmdt, uipc_shmctl };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "shm_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* (a): cycles per second. */
static double lifecycle(const struct shm_ops *o, size_t size, long n)
{
	double t0 = now();

	for (long i = 0; i < n; i++) {
		int id = o->get(IPC_PRIVATE, size, 0600);
		char *p;

		if (id < 0)
			die("shmget");
		p = o->at(id, NULL, 0);
		if (p == (void *)-1)
			die("shmat");
		for (size_t off = 0; off < size; off += 4096)
			p[off] = 1;
		o->dt(p);
		o->ctl(id, IPC_RMID, NULL);
	}
	return (double)n / (now() - t0);
}

#define HALF (4u << 20)

/* (b): bytes per second handed from a writer to a reader. */
static double bandwidth(const struct shm_ops *o, long rounds)
{
	int id = o->get(IPC_PRIVATE, 2 * HALF + 4096, 0600);
	char *p;
	_Atomic long *turn, *done;
	double t0;
	pid_t c;

	if (id < 0)
		die("shmget");
	p = o->at(id, NULL, 0);
	if (p == (void *)-1)
		die("shmat");
	turn = (_Atomic long *)(void *)(p + 2 * HALF);
	done = turn + 8;	/* another cache line */
	atomic_store(turn, 0);
	atomic_store(done, 0);
	c = fork();
	if (c == 0) {	/* reader: sums half (r % 2) once turn says r + 1 */
		uint64_t sum = 0;

		for (long r = 0; r < rounds; r++) {
			const uint64_t *h = (const uint64_t *)(void *)(p + (r % 2) * HALF);

			while (atomic_load(turn) < r + 1)
				;
			for (size_t i = 0; i < HALF / 8; i++)
				sum += h[i];
			atomic_store(done, r + 1);
		}
		_exit(sum == 0xdeadbeef);	/* keep the sum alive */
	}
	t0 = now();
	for (long r = 0; r < rounds; r++) {
		/* Half r % 2 is free once the reader is done with r - 2. */
		while (atomic_load(done) < r - 1)
			;
		memset(p + (r % 2) * HALF, (int)r, HALF);
		atomic_store(turn, r + 1);
	}
	waitpid(c, NULL, 0);
	t0 = now() - t0;
	o->dt(p);
	o->ctl(id, IPC_RMID, NULL);
	return (double)rounds * HALF / t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define RUNS 5

/* (b) is two processes sharing two cores with everything else: one run
 * can land both on one core.  Kernel and uipc runs alternate, RUNS each,
 * and the medians are compared. */
static void bandwidth_medians(long rounds, double *k, double *u)
{
	double kr[RUNS], ur[RUNS];

	for (int i = 0; i < RUNS; i++) {
		kr[i] = bandwidth(&kernel, rounds);
		ur[i] = bandwidth(&uipc, rounds);
	}
	qsort(kr, RUNS, sizeof(double), cmp_double);
	qsort(ur, RUNS, sizeof(double), cmp_double);
	*k = kr[RUNS / 2];
	*u = ur[RUNS / 2];
}

static void row(const char *what, double k, double u, double scale,
		const char *unit)
{
	printf("%-40s kernel %10.2f %s  uipc %10.2f %s  ratio %5.2fx\n", what,
	       k / scale, unit, u / scale, unit, u / k);
}

int main(int argc, char **argv)
{
	long n4k = 20000, n64m = 40, rounds = 400;
	double bk, bu;
	int k;

	if (argc == 2 && !strcmp(argv[1], "--quick")) {
		n4k = 3000;
		n64m = 8;
		rounds = 100;
	} else if (argc > 1) {
		fprintf(stderr, "usage: shm_bench [--quick]\n");
		return 2;
	}
	k = shmget(IPC_PRIVATE, 4096, 0600);
	if (k < 0) {
		printf("shm_bench: the kernel has no System V shared memory (%s): "
		       "nothing to compare with\n", strerror(errno));
		return 0;
	}
	shmctl(k, IPC_RMID, NULL);
	printf("shm_bench: same workload, kernel and uipc, this run\n");
	row("(a) get+at+touch+dt+rm 4 KiB, /s", lifecycle(&kernel, 4096, n4k),
	    lifecycle(&uipc, 4096, n4k), 1e3, "k");
	row("(a) get+at+touch+dt+rm 64 MiB, /s", lifecycle(&kernel, 64u << 20, n64m),
	    lifecycle(&uipc, 64u << 20, n64m), 1, " ");
	bandwidth_medians(rounds, &bk, &bu);
	row("(b) 2 processes, writer to reader, median", bk, bu, 1e9, "GB/s");
	return 0;
}
