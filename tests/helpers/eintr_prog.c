/*
 * eintr_prog: an ordinary program (built without uipc) whose blocked
 * msgrcv and semop a second thread interrupts with SIGUSR1 at random
 * moments, the handler installed with sigaction, signal, sigset and
 * bsd_signal in turn; and a child blocked in semop stopped and continued.
 * It prints what it saw; tests/shim_eintr compares that on the kernel and
 * under `uipc run --block-kernel-ipc`.
 *
 * Usage: eintr_prog IDFILE TRIES SEED.  The ids of the objects it makes go
 * to IDFILE ("msg N", "sem N" lines) before use, so that whoever runs it
 * can remove them if it dies.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

typedef void (*handler_fn)(int);
handler_fn bsd_signal(int sig, handler_fn fn);

/* A signal that interrupted this file's own code came before the call (the
 * caller lost its CPU after announcing the try): such a try does not
 * count, on the kernel either.  x86_64 passes the context to every
 * handler; elsewhere every try counts. */
#define PROBE_TEXT __attribute__((section("probe_text"), noinline))
extern const char __start_probe_text[], __stop_probe_text[];

static volatile sig_atomic_t handled, early;
static _Atomic unsigned go, returned, acked, stop;
static _Atomic long delay_ns;
static pthread_t caller;
static int q, s, op;	/* op 0: msgrcv, 1: semop */

/* Where uipc's code is mapped when the shim is loaded: a handler that
 * runs there counts (uipc's calls promise EINTR from their start); one
 * that runs in the C library anywhere but just after a system call came
 * before the call's kernel part began, and leaves it to block (on the
 * kernel too), as one in our own code before the call does. */
static uintptr_t shim_lo, shim_hi;

static void find_shim(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long lo, hi;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "libuipc-preload") &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			if (!shim_lo || lo < shim_lo)
				shim_lo = lo;
			if (hi > shim_hi)
				shim_hi = hi;
		}
	fclose(f);
}

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	handled++;
#if defined(__x86_64__)
	{
		const unsigned char *ip = (const unsigned char *)((ucontext_t *)ctx)
					 ->uc_mcontext.gregs[REG_RIP];

		if ((const char *)ip >= __start_probe_text &&
		    (const char *)ip < __stop_probe_text)
			early = 1;
		else if (!((uintptr_t)ip >= shim_lo && (uintptr_t)ip < shim_hi) &&
			 !(ip[-2] == 0x0f && ip[-1] == 0x05))
			early = 1;
	}
#else
	(void)ctx;
#endif
}

static long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void install(int how)
{
	handler_fn h = (handler_fn)(void (*)(void))on_usr1;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	if (how == 0) {
		sigaction(SIGUSR1, &sa, NULL);
	} else if (how == 1) {
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
	} else if (how == 2) {
		signal(SIGUSR1, h);
	} else if (how == 3) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		sigset(SIGUSR1, h);
#pragma GCC diagnostic pop
	} else {
		bsd_signal(SIGUSR1, h);
	}
}

struct msg {
	long type;
	char text[8];
};

PROBE_TEXT static int blocking_call(void)
{
	struct sembuf down = { 0, -1, 0 };
	struct msg m;

	if (op == 0)
		return msgrcv(q, &m, sizeof(m.text), 0, 0) < 0 ? errno : 0;
	return semop(s, &down, 1) < 0 ? errno : 0;
}

static void release(void)
{
	struct sembuf up = { 0, 1, 0 };
	struct msg m = { 1, "r" };

	if (op == 0)
		msgsnd(q, &m, sizeof(m.text), IPC_NOWAIT);
	else
		semop(s, &up, 1);
}

static void *prober(void *arg)
{
	(void)arg;
	for (unsigned i = 1;; i++) {
		long t0, t;

		while (atomic_load(&go) < i)
			if (atomic_load(&stop))
				return NULL;
		t0 = now_ns();
		while (now_ns() - t0 < atomic_load(&delay_ns))
			;
		pthread_kill(caller, SIGUSR1);
		t = now_ns();
		while (atomic_load(&returned) < i)
			if (now_ns() - t > 200000000L) {
				release();
				t = now_ns();
			}
		atomic_store(&acked, i);
	}
}

PROBE_TEXT static void probe(int tries, unsigned *seed)
{
	int counted = 0, eintr = 0, once = 0, n_early = 0;
	pthread_t th;

	atomic_store(&go, 0);
	atomic_store(&returned, 0);
	atomic_store(&acked, 0);
	atomic_store(&stop, 0);
	caller = pthread_self();
	pthread_create(&th, NULL, prober, NULL);
	for (int i = 1; i <= tries; i++) {
		int e;

		install(i % 5);
		handled = early = 0;
		atomic_store(&delay_ns, (long)(rand_r(seed) % 50001));
		atomic_store(&go, (unsigned)i);
		e = blocking_call();
		atomic_store(&returned, (unsigned)i);
		while (atomic_load(&acked) < (unsigned)i)
			;
		if (early) {
			n_early++;
			continue;
		}
		counted++;
		eintr += e == EINTR;
		once += handled == 1;
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	signal(SIGUSR1, SIG_DFL);
	if (eintr == counted && once == counted && n_early <= tries / 10)
		printf("%s: EINTR every time\n", op ? "semop" : "msgrcv");
	else
		printf("%s: %d of %d EINTR, %d with one handler run, %d early\n",
		       op ? "semop" : "msgrcv", eintr, counted, once, n_early);
}

/* A child blocked in semop, stopped and continued: EINTR. */
static void stop_cont(void)
{
	struct sembuf down = { 0, -1, 0 };
	int st;
	pid_t c = fork();

	if (c == 0)
		_exit(semop(s, &down, 1) < 0 && errno == EINTR ? 1 : 0);
	usleep(100000);
	kill(c, SIGSTOP);
	waitpid(c, &st, WUNTRACED);
	kill(c, SIGCONT);
	usleep(200000);
	if (waitpid(c, &st, WNOHANG) != c) {
		release();
		waitpid(c, &st, 0);
		printf("semop after stop and continue: still blocked\n");
		return;
	}
	printf("semop after stop and continue: %s\n",
	       WIFEXITED(st) && WEXITSTATUS(st) == 1 ? "EINTR" : "completed");
}

int main(int argc, char **argv)
{
	unsigned seed;
	FILE *f;
	int tries;

	find_shim();
	if (argc != 4)
		return 2;
	tries = atoi(argv[2]);
	seed = (unsigned)strtoul(argv[3], NULL, 0);
	q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	s = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	f = fopen(argv[1], "w");
	if (f) {
		fprintf(f, "msg %d\nsem %d\n", q, s);
		fclose(f);
	}
	if (q < 0 || s < 0) {
		perror("eintr_prog: msgget/semget");
		return 1;
	}
	for (op = 0; op < 2; op++)
		probe(tries, &seed);
	stop_cont();
	msgctl(q, IPC_RMID, NULL);
	semctl(s, 0, IPC_RMID);
	return 0;
}
