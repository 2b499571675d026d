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
};

static const struct sops kernel_ops = {
	"kernel", kill, sigprocmask, pthread_sigmask, sigpending, sigtimedwait,
};
static const struct sops uipc_ops = {
	"uipc", uipc_kill, uipc_sigprocmask, uipc_pthread_sigmask, uipc_sigpending,
	uipc_sigtimedwait,
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

/* The scenario's report from a child of its own. */
static int report(const struct sops *o, char *buf, size_t cap)
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
		scenario(o, p[1]);
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
	char k[1024], u[1024];

	/* A namespace of its own when the run script gave none. */
	if (!getenv("UIPC_NS")) {
		snprintf(g_dir, sizeof(g_dir), "/dev/shm/sig_thread.%d", (int)getpid());
		setenv("UIPC_NS", g_dir, 1);
		atexit(remove_ns);
	}
	if (report(&kernel_ops, k, sizeof(k)) < 0 || report(&uipc_ops, u, sizeof(u)) < 0) {
		printf("FAIL: a scenario did not end well\nkernel:\n%s\nuipc:\n%s", k, u);
		return 1;
	}
	if (strcmp(k, u)) {
		printf("FAIL a new thread's mask: uipc differs from the kernel\n"
		       "kernel:\n%suipc:\n%s", k, u);
		return 1;
	}
	printf("ok   a new thread is born with its creator's mask\n%s", k);
	printf("1 check(s) passed\n");
	return 0;
}
