/*
 * sig_thread: a new thread starts with its creator's signal mask, as
 * clone() copies the kernel's, with uipc's calls as with the kernel's.
 *
 * The shared library stands in for pthread_create (src/handoff_spawn.c);
 * libuipc.a cannot (docs/uipc.md), so this program is linked with
 * libuipc.so, and without the harness (which uses the library's
 * internals).  The same scenario runs with the kernel's calls and with
 * uipc's, each in a child of its own, and the two reports must match
 * line for line: the main thread blocks SIGUSR2; a first thread reports
 * its mask, blocks SIGUSR1 and makes a second, which reports its own;
 * then SIGUSR2 sent to the process stays pending (every thread blocks
 * it) and sigtimedwait takes it.
 *
 * Then many threads (more than uipc's table once held, 16): each unblocks
 * SIGUSR1 and is sent one with pthread_kill, which its handler must count
 * in that thread; then all but the last block it again and a SIGUSR1 sent
 * to the process must run the handler in the last one.  Twice, so that
 * the second threads take the entries of the first.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "uipc.h"

struct sops {
	const char *name;
	int (*kill)(pid_t, int);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
	int (*pthread_sigmask)(int, const sigset_t *, sigset_t *);
	int (*sigpending)(sigset_t *);
	int (*sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
	int (*pthread_kill)(pthread_t, int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
};

static const struct sops kernel_ops = {
	"kernel", kill, sigprocmask, pthread_sigmask, sigpending, sigtimedwait,
	pthread_kill, sigaction,
};
static const struct sops uipc_ops = {
	"uipc", uipc_kill, uipc_sigprocmask, uipc_pthread_sigmask, uipc_sigpending,
	uipc_sigtimedwait, uipc_pthread_kill, uipc_sigaction,
};

struct arg {
	const struct sops *o;
	int depth;
	char line[2][96];
};

static void *thread(void *p)
{
	struct arg *a = p;
	sigset_t now, usr1;
	pthread_t th;

	sigemptyset(&now);
	a->o->pthread_sigmask(SIG_BLOCK, NULL, &now);
	snprintf(a->line[a->depth], sizeof(a->line[0]),
		 "thread %d: SIGUSR1 blocked %d, SIGUSR2 blocked %d", a->depth,
		 sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2));
	if (a->depth == 0) {
		/* Its own change is what its own child is born with. */
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		a->o->pthread_sigmask(SIG_BLOCK, &usr1, NULL);
		a->depth = 1;
		if (pthread_create(&th, NULL, thread, a) == 0)
			pthread_join(th, NULL);
		else
			snprintf(a->line[1], sizeof(a->line[1]), "pthread_create failed");
	}
	return NULL;
}

/* The scenario with o's calls, reported on fd out. */
static void scenario(const struct sops *o, int out)
{
	struct timespec zero = { 0, 0 };
	struct arg a;
	sigset_t usr2, pend;
	siginfo_t si;
	pthread_t th;
	int r;

	memset(&a, 0, sizeof(a));
	a.o = o;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	dprintf(out, "block SIGUSR2 -> %d\n", o->sigprocmask(SIG_BLOCK, &usr2, NULL));
	if (pthread_create(&th, NULL, thread, &a) != 0) {
		dprintf(out, "pthread_create failed\n");
		return;
	}
	pthread_join(th, NULL);
	dprintf(out, "%s\n%s\n", a.line[0], a.line[1]);
	dprintf(out, "kill self SIGUSR2 -> %d\n", o->kill(getpid(), SIGUSR2));
	sigemptyset(&pend);
	o->sigpending(&pend);
	dprintf(out, "pending: SIGUSR2 %d\n", sigismember(&pend, SIGUSR2));
	r = o->sigtimedwait(&usr2, &si, &zero);
	dprintf(out, "sigtimedwait SIGUSR2 -> %d\n", r);
}

/* ---- many threads ------------------------------------------------------ */

#define MANY 40

static _Atomic int g_hits[MANY], g_stray;
static __thread int t_me = -1;
static pthread_barrier_t g_bar;

static void on_usr1(int sig)
{
	(void)sig;
	if (t_me >= 0 && t_me < MANY)
		g_hits[t_me]++;
	else
		g_stray++;
}

struct many {
	const struct sops *o;
	int i, unblock, block;
};

/* Up to 5 s for thread i's count to reach n (a handler ends the sleep). */
static void wait_hits(int i, int n)
{
	for (int k = 0; k < 5000 && g_hits[i] < n; k++)
		usleep(1000);
}

static void *many_thread(void *p)
{
	struct many *m = p;
	sigset_t usr1;

	t_me = m->i;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	m->unblock = m->o->pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	pthread_barrier_wait(&g_bar);	/* all unblocked */
	pthread_barrier_wait(&g_bar);	/* each sent one */
	wait_hits(m->i, 1);
	if (m->i < MANY - 1)
		m->block = m->o->pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	pthread_barrier_wait(&g_bar);	/* all but the last blocked */
	pthread_barrier_wait(&g_bar);	/* the process sent one */
	if (m->i == MANY - 1)
		wait_hits(m->i, 2);
	return NULL;
}

/* One round: MANY threads made, signalled and joined. */
static void many_round(const struct sops *o, int out, int round)
{
	static struct many m[MANY];
	pthread_t th[MANY];

	memset((void *)g_hits, 0, sizeof(g_hits));
	pthread_barrier_init(&g_bar, NULL, MANY + 1);
	for (int n = 0; n < MANY; n++) {
		m[n] = (struct many){ .o = o, .i = n };
		if (pthread_create(&th[n], NULL, many_thread, &m[n]) != 0) {
			dprintf(out, "pthread_create %d failed\n", n);
			_exit(1);
		}
	}
	pthread_barrier_wait(&g_bar);
	for (int i = 0; i < MANY; i++) {
		int e = o->pthread_kill(th[i], SIGUSR1);

		if (e)
			dprintf(out, "pthread_kill thread %d -> %s\n", i, strerror(e));
	}
	pthread_barrier_wait(&g_bar);
	pthread_barrier_wait(&g_bar);
	dprintf(out, "kill the process SIGUSR1 -> %d\n", o->kill(getpid(), SIGUSR1));
	pthread_barrier_wait(&g_bar);
	for (int i = 0; i < MANY; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < MANY; i++)
		dprintf(out, "round %d, thread %d: unblock -> %d, block -> %d, "
			"handler ran %d\n", round, i, m[i].unblock, m[i].block,
			(int)g_hits[i]);
	pthread_barrier_destroy(&g_bar);
}

static void scenario_many(const struct sops *o, int out)
{
	struct sigaction sa;
	sigset_t usr1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	dprintf(out, "sigaction -> %d\n", o->sigaction(SIGUSR1, &sa, NULL));
	dprintf(out, "main blocks SIGUSR1 -> %d\n", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	/* Twice: the second round's threads take the entries of the first
	 * round's, whose threads are gone. */
	for (int round = 0; round < 2; round++)
		many_round(o, out, round);
	dprintf(out, "handler ran outside the threads: %d\n", (int)g_stray);
}

/* The scenario's report from a child of its own. */
static int report(const struct sops *o, char *buf, size_t cap,
		  void (*scen)(const struct sops *, int))
{
	int p[2], st;
	size_t n = 0;
	ssize_t k;
	pid_t kid;

	if (pipe(p) < 0)
		return -1;
	kid = fork();
	if (kid == 0) {
		close(p[0]);
		alarm(20);
		scen(o, p[1]);
		_exit(0);
	}
	close(p[1]);
	while (n < cap - 1 && (k = read(p[0], buf + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = 0;
	close(p[0]);
	if (kid < 0 || waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}

static char g_dir[64];

/* The namespace this program made (none given), removed. */
static void remove_ns(void)
{
	DIR *d;
	struct dirent *e;

	if (!g_dir[0] || !(d = opendir(g_dir)))
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(g_dir);
}

int main(void)
{
	static char k[8192], u[8192];

	/* A namespace of its own when the run script gave none. */
	if (!getenv("UIPC_NS")) {
		snprintf(g_dir, sizeof(g_dir), "/dev/shm/sig_thread.%d", (int)getpid());
		setenv("UIPC_NS", g_dir, 1);
		atexit(remove_ns);
	}
	if (report(&kernel_ops, k, sizeof(k), scenario) < 0 ||
	    report(&uipc_ops, u, sizeof(u), scenario) < 0) {
		printf("FAIL: a scenario did not end well\nkernel:\n%s\nuipc:\n%s", k, u);
		return 1;
	}
	if (strcmp(k, u)) {
		printf("FAIL a new thread's mask: uipc differs from the kernel\n"
		       "kernel:\n%suipc:\n%s", k, u);
		return 1;
	}
	printf("ok   a new thread is born with its creator's mask\n%s", k);
	if (report(&kernel_ops, k, sizeof(k), scenario_many) < 0 ||
	    report(&uipc_ops, u, sizeof(u), scenario_many) < 0) {
		printf("FAIL: the many-thread scenario did not end well\n"
		       "kernel:\n%s\nuipc:\n%s", k, u);
		return 1;
	}
	if (strcmp(k, u)) {
		printf("FAIL %d threads: uipc differs from the kernel\n"
		       "kernel:\n%suipc:\n%s", MANY, k, u);
		return 1;
	}
	printf("ok   %d threads: pthread_kill to each, kill to the one not "
	       "blocking\n", MANY);
	printf("2 check(s) passed\n");
	return 0;
}
