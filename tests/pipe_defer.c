/*
 * pipe_defer: a signal handler that writes to a pipe whose ring lock its
 * own thread holds (src/pipe.c, t_held and t_defer), made to happen every
 * time: the test makes the ring's lock look held by a live process (pid 1)
 * while the main thread starts a write, a second thread sends the main
 * thread SIGUSR1 (its handler writes), then lets the lock go.  The same
 * scenario runs on the kernel's pipes (no lock there: the handler writes
 * at once) and the traces must match:
 *   - a 64 KiB write with a handler's 1-byte write kept: both arrive, the
 *     reader gets 65537 bytes (the kept bytes were once flushed by the
 *     write's own unlock, behind its 16 reserved slots, and hung for good);
 *   - a handler's writev whose second buffer is bad: -1 EFAULT and nothing
 *     of it in the pipe (it once said 2 and lost them);
 *   - a child forked in the handler writes, and its byte arrives (it once
 *     inherited the parent's held rings, its write was kept and lost);
 *   - the self-pipe: the thread reads the empty pipe its handler writes
 *     to, and the read returns the handler's byte (the kept byte must go
 *     in before the read sleeps, not when it returns);
 *   - a storm of handlers (below, storm()).
 *
 * Layout: the ring's lock word is at byte 24 of pipe.<ino> (struct
 * pipe_ring in src/pipe.c: magic, layout, ino, uid, max_slots, lock).
 */
#include "harness.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define RING_LOCK_AT 24

struct pops {
	const char *name;
	int (*pipe)(int[2]);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*close)(int);
	int (*fcntl)(int, int, ...);
};

static const struct pops kpops = { "kernel", pipe, read, write, writev, close,
				   fcntl };
static const struct pops upops = { "uipc", uipc_pipe, uipc_read, uipc_write,
				   uipc_writev, uipc_close, uipc_fcntl };

static const struct pops *cur;
static int g_p[2];
static const char *g_what;
static volatile long h_ret;
static volatile int h_err;
static _Atomic uint64_t *g_lock;
static pthread_t g_main;

static void on_usr1(int sig)
{
	int e = errno;

	(void)sig;
	if (!strcmp(g_what, "writev")) {
		struct iovec v[2] = { { "ab", 2 }, { (void *)8, 1 } };

		h_ret = cur->writev(g_p[1], v, 2);
	} else if (!strcmp(g_what, "fork")) {
		pid_t c = fork();
		int st = 0;

		if (c == 0)
			_exit(cur->write(g_p[1], "c", 1) == 1 ? 0 : 1);
		h_ret = c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) &&
			WEXITSTATUS(st) == 0;
	} else {
		h_ret = cur->write(g_p[1], "h", 1);
	}
	h_err = h_ret < 0 ? errno : 0;
	errno = e;
}

/* uipc: the ring's lock made to look held by pid 1 (alive, never ours). */
static int hold(int fd)
{
	char path[4200];
	struct stat st;
	void *m;
	int rf;
	uint64_t z = 0;

	if (cur == &kpops)
		return 0;
	if (fstat(fd, &st) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/pipe.%llu", harness_ns_dir(),
		 (unsigned long long)st.st_ino);
	rf = open(path, O_RDWR | O_CLOEXEC);
	if (rf < 0)
		return -1;
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rf, 0);
	close(rf);
	if (m == MAP_FAILED)
		return -1;
	g_lock = (_Atomic uint64_t *)((char *)m + RING_LOCK_AT);
	return atomic_compare_exchange_strong(g_lock, &z, 1) ? 0 : -1;
}

static void let_go(void)
{
	if (!g_lock)
		return;
	atomic_store(g_lock, 0);
	syscall(SYS_futex, (uint32_t *)g_lock, FUTEX_WAKE, 100, NULL, NULL, 0);
	munmap((char *)g_lock - RING_LOCK_AT, 4096);
	g_lock = NULL;
}

static void *poker(void *arg)
{
	(void)arg;
	usleep(100000);		/* the main thread waits for the lock */
	pthread_kill(g_main, SIGUSR1);
	usleep(50000);
	let_go();
	return NULL;
}

static void scenario(const struct pops *o, struct trace *t, const char *what)
{
	static char big[65536];
	struct sigaction sa;
	pthread_t th;
	pid_t rd = -1;
	char b[8192];
	long r, n, total = 0;
	int big_write = !strcmp(what, "bigwrite"), st;

	cur = o;
	g_what = what;
	h_ret = 0;
	g_main = pthread_self();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	/* The self-pipe's read is restarted after the handler (on the
	 * kernel it sleeps when the signal comes). */
	sa.sa_flags = !strcmp(what, "selfpipe") ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
	if (tval(t, "pipe", o->pipe(g_p)) < 0)
		return;
	/* A first byte through, so that the ring exists and is ours. */
	tval(t, "write w", o->write(g_p[1], "w", 1));
	if (big_write) {
		rd = fork();
		if (rd == 0) {
			alarm(20);
			o->close(g_p[1]);
			while ((n = o->read(g_p[0], b, sizeof(b))) > 0)
				total += n;
			_exit(total == 65538 ? 0 : 1);
		}
	} else {
		tval(t, "read w", o->read(g_p[0], b, 1));
	}
	if (hold(g_p[1]) < 0) {
		tprintf(t, "could not hold the ring's lock");
		return;
	}
	pthread_create(&th, NULL, poker, NULL);
	alarm(15);
	if (big_write) {
		memset(big, 'B', sizeof(big));
		r = o->write(g_p[1], big, sizeof(big));
	} else if (!strcmp(what, "selfpipe")) {
		r = o->read(g_p[0], b, sizeof(b));
		tprintf(t, "read by the thread: %.*s", r > 0 ? (int)r : 0, b);
	} else {
		r = o->write(g_p[1], "M", 1);
	}
	pthread_join(th, NULL);
	tval(t, "main call", r);
	errno = h_err;
	tval(t, "handler's call", h_ret);
	if (big_write) {
		o->close(g_p[1]);
		tval(t, "reader got w, 65536 B and the handler's byte",
		     waitpid(rd, &st, 0) == rd && WIFEXITED(st) &&
		     WEXITSTATUS(st) == 0);
		o->close(g_p[0]);
		alarm(0);
		return;
	}
	alarm(0);
	o->fcntl(g_p[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 4 && (n = o->read(g_p[0], b, sizeof(b))) > 0; i++) {
		/* The order of a forked child's byte and ours is the
		 * scheduler's: sorted. */
		if (n == 2 && b[0] > b[1]) {
			char c = b[0];

			b[0] = b[1];
			b[1] = c;
		}
		tprintf(t, "read: %.*s", (int)n, b);
	}
	o->close(g_p[0]);
	o->close(g_p[1]);
}

/*
 * The storm: a second thread sends the main thread signals without pause
 * while it reads a non-blocking pipe in chunks of every size; the handler
 * writes 3000 bytes into it.  Handlers come while a read holds the ring,
 * while a kept write is flushed, while a first write sets up the watch of
 * readers: every byte a write said it took is read, once (a handler once
 * flushed a kept write a second time, and put the ring's reference twice;
 * another waited for good for a lock its own thread held).
 */
static int g_sp[2];
static volatile long g_sent;
static volatile int g_storm_stop;
static char g_chunk[3000];

static void on_usr2(int sig)
{
	int e = errno;
	long n;

	(void)sig;
	n = cur->write(g_sp[1], g_chunk, sizeof(g_chunk));
	if (n > 0)
		g_sent += n;
	errno = e;
}

static void *stormer(void *arg)
{
	unsigned seed = 7;

	(void)arg;
	while (!g_storm_stop) {
		pthread_kill(g_main, SIGUSR2);
		for (volatile unsigned i = 0, n = rand_r(&seed) % 2000; i < n; i++)
			;
	}
	return NULL;
}

static void storm(const struct pops *o, struct trace *t)
{
	static char b[8192];
	struct sigaction sa;
	int ok = 1, wrote = 1;

	cur = o;
	g_main = pthread_self();
	memset(g_chunk, 's', sizeof(g_chunk));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	alarm(60);
	for (int round = 0; round < 3; round++) {
		pthread_t th;
		long got = 0, n;

		if (o->pipe(g_sp) < 0 ||
		    o->fcntl(g_sp[0], F_SETFL, O_NONBLOCK) < 0 ||
		    o->fcntl(g_sp[1], F_SETFL, O_NONBLOCK) < 0) {
			tprintf(t, "pipe: %s", strerror(errno));
			return;
		}
		g_sent = 0;
		g_storm_stop = 0;
		pthread_create(&th, NULL, stormer, NULL);
		for (long i = 0; i < 20000; i++)
			if ((n = o->read(g_sp[0], b, 1 + (size_t)(i * 37 % 5000))) > 0)
				got += n;
		g_storm_stop = 1;
		pthread_join(th, NULL);
		while ((n = o->read(g_sp[0], b, sizeof(b))) > 0)
			got += n;
		if (got != g_sent)
			tprintf(t, "round %d: %ld bytes read, %ld written", round,
				got, (long)g_sent);
		ok &= got == g_sent;
		wrote &= g_sent > 0;
		o->close(g_sp[0]);
		o->close(g_sp[1]);
	}
	alarm(0);
	signal(SIGUSR2, SIG_DFL);
	tval(t, "every byte the handlers' writes took read once", ok);
	tval(t, "the handlers wrote", wrote);
}

/*
 * A handler's pipe call during the process's very first uipc call, which
 * sets up the namespace and the process's records under locks of the
 * process's own: while msgget and pipe run for the first time, a second
 * thread sends signals without pause, whose handler writes to a kernel
 * pipe with uipc_write (which asks the namespace whether it is a uipc
 * end).  It once waited for good for the lock its own thread held.  Run
 * in a fresh program (run_self), three times.
 */
static int g_kp[2];

static void on_kick(int sig)
{
	int e = errno;

	(void)sig;
	uipc_write(g_kp[1], "p", 1);
	errno = e;
}

static int first_call(void)
{
	pthread_t th;
	int q, r, p[2];

	signal(SIGALRM, SIG_DFL);
	alarm(10);
	if (pipe2(g_kp, O_NONBLOCK) < 0)
		return 2;
	g_main = pthread_self();
	signal(SIGUSR2, on_kick);
	g_storm_stop = 0;
	pthread_create(&th, NULL, stormer, NULL);
	q = uipc_msgget(IPC_PRIVATE, 0600);
	r = uipc_pipe(p);
	g_storm_stop = 1;
	pthread_join(th, NULL);
	if (q >= 0)
		uipc_msgctl(q, IPC_RMID, NULL);
	if (r == 0) {
		uipc_close(p[0]);
		uipc_close(p[1]);
	}
	return q >= 0 && r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const char *const what[] = { "bigwrite", "writev", "fork",
					    "selfpipe" };

	if (argc > 1 && !strcmp(argv[1], "--first-call"))
		return first_call();
	harness_init(120);
	{
		int bad = 0;

		for (int i = 0; i < 3; i++)
			bad |= run_self("--first-call", 0,
					"a handler's pipe call in the first call") < 0;
		if (!bad)
			printf("ok   a handler's pipe call while the first uipc call sets up\n");
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		struct trace k = { 0 }, u = { 0 };

		scenario(&kpops, &k, what[i]);
		scenario(&upops, &u, what[i]);
		if (trace_compare(what[i], &k, &u) == 0)
			printf("ok   a handler's write to a pipe its thread holds: %s\n",
			       what[i]);
	}
	{
		struct trace k = { 0 }, u = { 0 };

		storm(&kpops, &k);
		storm(&upops, &u);
		if (trace_compare("storm", &k, &u) == 0)
			printf("ok   a storm of handlers writing to the pipe read\n");
	}
	return harness_done();
}
