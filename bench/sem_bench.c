/*
 * sem_bench: the same semaphore workloads on the kernel and on uipc, in one
 * run, with both figures and their ratio.
 *
 *  (a) one process: semop -1 then +1 on one semaphore, uncontended
 *  (b) two processes ping-ponging through two semaphores
 *  (c) the floor: POSIX sem_wait/sem_post on a process-shared sem_t, for
 *      (a) and (b), beside them
 *
 * Usage: sem_bench [--quick] [--loop N]
 *   --quick   shorter runs (make demo)
 *   --loop N  only workload (a) on uipc, N times: run it under strace -c
 *             with two values of N to see the loop makes no system call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uipc.h"

struct sops {
	const char *name;
	int (*get)(key_t, int, int);
	int (*op)(int, struct sembuf *, size_t);
	int (*ctl)(int, int, int, ...);
};

static const struct sops kernel = { "kernel", semget, semop, semctl };
static const struct sops uipc = { "uipc", uipc_semget, uipc_semop, uipc_semctl };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int newset(const struct sops *o)
{
	int id = o->get(IPC_PRIVATE, 2, 0600);

	if (id < 0) {
		fprintf(stderr, "sem_bench: %s semget: %s\n", o->name, strerror(errno));
		exit(1);
	}
	return id;
}

/* (a) -1/+1 pairs per second. */
static double uncontended(const struct sops *o, long n)
{
	struct sembuf down = { 0, -1, 0 }, up = { 0, 1, 0 };
	int id = newset(o);
	double t0;

	o->ctl(id, 0, SETVAL, 1);
	t0 = now();
	for (long i = 0; i < n; i++) {
		if (o->op(id, &down, 1) < 0 || o->op(id, &up, 1) < 0) {
			fprintf(stderr, "sem_bench: %s semop: %s\n", o->name,
				strerror(errno));
			exit(1);
		}
	}
	t0 = now() - t0;
	o->ctl(id, 0, IPC_RMID);
	return (double)n / t0;
}

/* (b) round trips per second: the parent posts sem 0 and waits on sem 1,
 * the child the other way round. */
static double pingpong(const struct sops *o, long n)
{
	struct sembuf p0 = { 0, -1, 0 }, v0 = { 0, 1, 0 };
	struct sembuf p1 = { 1, -1, 0 }, v1 = { 1, 1, 0 };
	int id = newset(o);
	pid_t c;
	double t0;

	c = fork();
	if (c == 0) {
		for (long i = 0; i < n; i++)
			if (o->op(id, &p0, 1) < 0 || o->op(id, &v1, 1) < 0)
				_exit(1);
		_exit(0);
	}
	t0 = now();
	for (long i = 0; i < n; i++)
		if (o->op(id, &v0, 1) < 0 || o->op(id, &p1, 1) < 0)
			break;
	t0 = now() - t0;
	waitpid(c, NULL, 0);
	o->ctl(id, 0, IPC_RMID);
	return (double)n / t0;
}

/* (c) the same two workloads on a process-shared POSIX sem_t. */
static double posix_uncontended(long n)
{
	sem_t *s = mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0;

	sem_init(s, 1, 1);
	t0 = now();
	for (long i = 0; i < n; i++) {
		sem_wait(s);
		sem_post(s);
	}
	t0 = now() - t0;
	munmap(s, sizeof(sem_t));
	return (double)n / t0;
}

static double posix_pingpong(long n)
{
	sem_t *s = mmap(NULL, 2 * sizeof(sem_t), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t c;
	double t0;

	sem_init(&s[0], 1, 0);
	sem_init(&s[1], 1, 0);
	c = fork();
	if (c == 0) {
		for (long i = 0; i < n; i++) {
			sem_wait(&s[0]);
			sem_post(&s[1]);
		}
		_exit(0);
	}
	t0 = now();
	for (long i = 0; i < n; i++) {
		sem_post(&s[0]);
		sem_wait(&s[1]);
	}
	t0 = now() - t0;
	waitpid(c, NULL, 0);
	munmap(s, 2 * sizeof(sem_t));
	return (double)n / t0;
}

/* Issue 18 item 6: n sets of one semaphore made, then all removed (the
 * kernel's semmni is 32000): sets per second, made and removed.  *made
 * says how many could be made (fewer if others use the kernel's). */
static double many_sets(const struct sops *o, int n, int *made)
{
	int *ids = malloc(sizeof(int) * (size_t)n), i;
	double t0 = now();

	if (!ids)
		return 0;
	for (i = 0; i < n; i++) {
		ids[i] = o->get(IPC_PRIVATE, 1, 0600);
		if (ids[i] < 0)
			break;
	}
	*made = i;
	while (i-- > 0)
		o->ctl(ids[i], 0, IPC_RMID);
	t0 = now() - t0;
	free(ids);
	return *made / t0;
}

static void row(const char *what, double k, double u, double p, const char *unit)
{
	printf("%-34s kernel %9.3f M  uipc %9.3f M  ratio %6.2fx   posix sem_t %9.3f M %s\n",
	       what, k / 1e6, u / 1e6, u / k, p / 1e6, unit);
}

int main(int argc, char **argv)
{
	long na = 2000000, nb = 100000;
	int k, nsets = 32000;

	if (argc == 3 && !strcmp(argv[1], "--loop")) {
		uncontended(&uipc, atol(argv[2]));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--quick")) {
		na = 300000;
		nb = 20000;
		nsets = 4000;
	} else if (argc > 1) {
		fprintf(stderr, "usage: sem_bench [--quick] [--loop N]\n");
		return 2;
	}
	k = semget(IPC_PRIVATE, 1, 0600);
	if (k < 0) {
		printf("sem_bench: the kernel has no System V semaphores (%s): "
		       "nothing to compare with\n", strerror(errno));
		return 0;
	}
	semctl(k, 0, IPC_RMID);
	printf("sem_bench: same workload, kernel and uipc, this run\n");
	row("(a) 1 process, -1/+1 pairs/s", uncontended(&kernel, na),
	    uncontended(&uipc, na), posix_uncontended(na), "");
	row("(b) 2 processes, round trips/s", pingpong(&kernel, nb),
	    pingpong(&uipc, nb), posix_pingpong(nb), "");
	{
		int nk = 0, nu = 0;
		double k_rate = many_sets(&kernel, nsets, &nk);
		double u_rate = many_sets(&uipc, nk, &nu);

		printf("(c) %d sets made, then removed:  kernel %9.0f /s  uipc %9.0f /s  "
		       "ratio %6.2fx%s\n", nk, k_rate, u_rate, u_rate / k_rate,
		       nu < nk ? "  (uipc made fewer)" : "");
	}
	return 0;
}
