/*
 * signal_bench: the same signal workloads with the kernel's calls and with
 * uipc's, in one run, with both figures and their ratio.
 *
 *  (a) two processes ping-ponging one blocked signal each way: sigqueue,
 *      then sigtimedwait for the answer (round trips/s)
 *  (b) two processes, kill and a handler that answers with kill: the
 *      other side waits in sigsuspend (round trips/s)
 *  (c) one process sending itself a blocked signal and taking it with
 *      sigtimedwait (pairs/s)
 *
 * Usage: signal_bench [--quick]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uipc.h"

struct gops {
	const char *name;
	int (*sigqueue)(pid_t, int, const union sigval);
	int (*kill)(pid_t, int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
	int (*sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
	int (*sigsuspend)(const sigset_t *);
};

static const struct gops kernel = { "kernel", sigqueue, kill, sigaction,
	sigprocmask, sigtimedwait, sigsuspend };
static const struct gops uipc = { "uipc", uipc_sigqueue, uipc_kill,
	uipc_sigaction, uipc_sigprocmask, uipc_sigtimedwait, uipc_sigsuspend };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const struct gops *o, const char *what)
{
	fprintf(stderr, "signal_bench: %s %s: %s\n", o->name, what, strerror(errno));
	exit(1);
}

static const struct timespec five = { 5, 0 };

/* Blocks SIGUSR1 (the ping) and returns its set. */
static sigset_t block_usr1(const struct gops *o)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	if (o->sigprocmask(SIG_BLOCK, &s, NULL) < 0)
		die(o, "sigprocmask");
	return s;
}

/* (a) sigqueue and sigtimedwait, both ways. */
static double queue_pingpong(const struct gops *o, long n)
{
	sigset_t s = block_usr1(o);
	union sigval v = { .sival_int = 0 };
	pid_t parent = getpid(), kid;
	int ready[2], st;
	double t0, t;
	char c;

	if (pipe(ready) < 0)
		die(o, "pipe");
	kid = fork();
	if (kid == 0) {
		block_usr1(o);
		write(ready[1], "r", 1);
		for (long i = 0; i < n; i++) {
			if (o->sigtimedwait(&s, NULL, &five) != SIGUSR1)
				die(o, "child sigtimedwait");
			if (o->sigqueue(parent, SIGUSR1, v) < 0)
				die(o, "child sigqueue");
		}
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1)
		die(o, "ready");
	t0 = now();
	for (long i = 0; i < n; i++) {
		if (o->sigqueue(kid, SIGUSR1, v) < 0)
			die(o, "sigqueue");
		if (o->sigtimedwait(&s, NULL, &five) != SIGUSR1)
			die(o, "sigtimedwait");
	}
	t = now() - t0;
	waitpid(kid, &st, 0);
	close(ready[0]);
	close(ready[1]);
	o->sigprocmask(SIG_UNBLOCK, &s, NULL);
	return (double)n / t;
}

static volatile sig_atomic_t g_hits;
static const struct gops *g_o;
static pid_t g_peer;

static void answer(int sig)
{
	(void)sig;
	g_hits++;
	if (g_peer)
		g_o->kill(g_peer, SIGUSR1);
}

/* (b) kill, the handler answers; each side waits in sigsuspend. */
static double handler_pingpong(const struct gops *o, long n)
{
	struct sigaction sa;
	sigset_t s = block_usr1(o), none;
	int ready[2], st;
	double t0, t;
	pid_t kid;
	char c;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = answer;
	sigemptyset(&none);
	g_o = o;
	g_hits = 0;
	if (pipe(ready) < 0)
		die(o, "pipe");
	kid = fork();
	if (kid == 0) {
		g_peer = getppid();
		if (o->sigaction(SIGUSR1, &sa, NULL) < 0)
			die(o, "child sigaction");
		block_usr1(o);
		write(ready[1], "r", 1);
		while (g_hits < n)
			o->sigsuspend(&none);
		_exit(0);
	}
	g_peer = 0;		/* the parent answers by looping */
	if (o->sigaction(SIGUSR1, &sa, NULL) < 0)
		die(o, "sigaction");
	if (read(ready[0], &c, 1) != 1)
		die(o, "ready");
	t0 = now();
	for (long i = 0; i < n; i++) {
		long want = g_hits + 1;

		if (o->kill(kid, SIGUSR1) < 0)
			die(o, "kill");
		while (g_hits < want)
			o->sigsuspend(&none);
	}
	t = now() - t0;
	waitpid(kid, &st, 0);
	close(ready[0]);
	close(ready[1]);
	sa.sa_handler = SIG_DFL;
	o->sigaction(SIGUSR1, &sa, NULL);
	o->sigprocmask(SIG_UNBLOCK, &s, NULL);
	return (double)n / t;
}

/* (c) a blocked signal to oneself, taken with sigtimedwait. */
static double self_pairs(const struct gops *o, long n)
{
	sigset_t s = block_usr1(o);
	union sigval v = { .sival_int = 0 };
	pid_t me = getpid();
	double t0 = now();

	for (long i = 0; i < n; i++) {
		if (o->sigqueue(me, SIGUSR1, v) < 0)
			die(o, "sigqueue");
		if (o->sigtimedwait(&s, NULL, &five) != SIGUSR1)
			die(o, "sigtimedwait");
	}
	o->sigprocmask(SIG_UNBLOCK, &s, NULL);
	return (double)n / (now() - t0);
}

static void row(const char *what, double k, double u)
{
	printf("%-44s kernel %10.0f  uipc %10.0f  ratio %6.2fx\n", what, k, u, u / k);
}

int main(int argc, char **argv)
{
	long na = 50000, nb = 30000, nc = 500000;

	if (argc > 1 && strcmp(argv[1], "--quick")) {
		fprintf(stderr, "usage: signal_bench [--quick]\n");
		return 2;
	}
	if (argc > 1) {
		na /= 10;
		nb /= 10;
		nc /= 10;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("signal_bench: same workload, kernel and uipc, this run\n");
	row("(a) 2 processes, sigqueue+sigtimedwait, /s", queue_pingpong(&kernel, na),
	    queue_pingpong(&uipc, na));
	row("(b) 2 processes, kill+handler+sigsuspend, /s",
	    handler_pingpong(&kernel, nb), handler_pingpong(&uipc, nb));
	row("(c) 1 process, sigqueue+sigtimedwait, /s", self_pairs(&kernel, nc),
	    self_pairs(&uipc, nc));
	return 0;
}
