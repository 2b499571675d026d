/*
 * make demo: separate processes talk through a uipc message queue and
 * through a kernel one, the same program for both; `uipc ls` shows the
 * uipc queue and who waits on it.  Then two tables for three guests: a
 * semaphore with SEM_UNDO, a guest killed with SIGKILL while seated (its
 * table comes back), and a shared memory segment where the guests sign in.
 * Then a pipeline of three processes over two pipes, its source killed
 * half-way (the next one sees EOF after every byte sent), on uipc pipes and
 * on kernel pipes.  Then the benchmark figures side by side.
 *
 * Usage: demo BUILD_DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uipc.h"
#include "../bench/ops.h"

struct order {
	long type;		/* 1 starter, 2 main, 3 dessert */
	char text[64];
};

static const char *course[] = { "", "starter", "main", "dessert" };

/* The kitchen: serves urgent mains first, then the lowest course left. */
static void kitchen(const struct ops *o, int q)
{
	struct order m;
	ssize_t n;

	n = o->rcv(q, &m, sizeof(m.text), 2, 0);
	if (n >= 0)
		printf("  [%s kitchen pid %d] first, any main: %s (%s)\n", o->name,
		       (int)getpid(), m.text, course[m.type]);
	while ((n = o->rcv(q, &m, sizeof(m.text), -3, IPC_NOWAIT)) >= 0)
		printf("  [%s kitchen pid %d] lowest course left: %s (%s)\n",
		       o->name, (int)getpid(), m.text, course[m.type]);
	n = o->rcv(q, &m, sizeof(m.text), 0, 0);	/* wait for the bill */
	if (n >= 0)
		printf("  [%s kitchen pid %d] blocked until: %s\n", o->name,
		       (int)getpid(), m.text);
	fflush(stdout);
	_exit(0);
}

static void orders(const struct ops *o, int q)
{
	static const struct { long type; const char *text; } list[] = {
		{ 3, "ice cream" }, { 1, "soup" }, { 2, "risotto" },
		{ 1, "salad" }, { 3, "cake" },
	};
	struct order m;

	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		m.type = list[i].type;
		snprintf(m.text, sizeof(m.text), "%s", list[i].text);
		o->snd(q, &m, strlen(m.text) + 1, 0);
		printf("  [%s orders  pid %d] sent %s (%s)\n", o->name,
		       (int)getpid(), m.text, course[m.type]);
	}
	fflush(stdout);
	_exit(0);
}

static int run(const struct ops *o, const char *build, key_t key)
{
	struct order bill = { 9, "the bill, please" };
	struct msqid_ds ds;
	char cmd[512];
	int q = o->get(key, IPC_CREAT | 0600);
	pid_t p, k;

	if (q < 0) {
		printf("%s: msgget: %s\n", o->name, strerror(errno));
		return 1;
	}
	printf("\n== %s: queue key 0x%x, id %d\n", o->name, (unsigned)key, q);
	p = fork();
	if (p == 0)
		orders(o, q);
	waitpid(p, NULL, 0);
	o->ctl(q, IPC_STAT, &ds);
	printf("  %lu orders waiting, %lu bytes\n", (unsigned long)ds.msg_qnum,
	       (unsigned long)ds.__msg_cbytes);
	k = fork();
	if (k == 0)
		kitchen(o, q);
	usleep(300000);
	if (o == &uipc) {
		printf("  $ uipc ls        (the kitchen is blocked on the queue)\n");
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "%s/uipc ls | sed 's/^/    /'", build);
		if (system(cmd) != 0)
			printf("    (uipc ls failed)\n");
	}
	o->snd(q, &bill, strlen(bill.text) + 1, 0);
	waitpid(k, NULL, 0);
	o->ctl(q, IPC_STAT, &ds);
	printf("  done: qnum %lu, last sender pid %d, last receiver pid %d\n",
	       (unsigned long)ds.msg_qnum, ds.msg_lspid, ds.msg_lrpid);
	o->ctl(q, IPC_RMID, NULL);
	return 0;
}

/* Semaphores and shared memory, the kernel's or uipc's. */
struct sysv {
	const char *name;
	int (*semget)(key_t, int, int);
	int (*semop)(int, struct sembuf *, size_t);
	int (*semctl)(int, int, int, ...);
	int (*shmget)(key_t, size_t, int);
	void *(*shmat)(int, const void *, int);
	int (*shmdt)(const void *);
	int (*shmctl)(int, int, struct shmid_ds *);
};

static const struct sysv k_sysv = { "kernel", semget, semop, semctl, shmget,
				    shmat, shmdt, shmctl };
static const struct sysv u_sysv = { "uipc", uipc_semget, uipc_semop, uipc_semctl,
				    uipc_shmget, uipc_shmat, uipc_shmdt,
				    uipc_shmctl };

/* A guest takes a table (SEM_UNDO), signs the book, and stays seated. */
static void guest(const struct sysv *o, int set, char *book, int n)
{
	struct sembuf take = { 0, -1, SEM_UNDO };

	if (o->semop(set, &take, 1) < 0)
		_exit(1);
	snprintf(book + 64 * n, 64, "guest %d (pid %d) seated", n, (int)getpid());
	pause();
	_exit(0);
}

static void tables(const struct sysv *o, const char *build)
{
	int set = o->semget(IPC_PRIVATE, 1, 0600);
	int seg = o->shmget(IPC_PRIVATE, 4096, 0600);
	struct shmid_ds ds;
	char cmd[512], *book;
	pid_t g[3];

	if (set < 0 || seg < 0) {
		printf("%s: semget/shmget: %s\n", o->name, strerror(errno));
		return;
	}
	printf("\n== %s: two tables (a semaphore with SEM_UNDO), three guests, "
	       "a guest book (shared memory)\n", o->name);
	o->semctl(set, 0, SETVAL, 2);
	book = o->shmat(seg, NULL, 0);
	for (int i = 0; i < 3; i++) {
		g[i] = fork();
		if (g[i] == 0)
			guest(o, set, book, i);
		usleep(100000);
	}
	o->shmctl(seg, IPC_STAT, &ds);
	printf("  free tables %d, guests waiting %d, book attached %lu times\n",
	       o->semctl(set, 0, GETVAL), o->semctl(set, 0, GETNCNT),
	       (unsigned long)ds.shm_nattch);
	for (int i = 0; i < 3; i++)
		printf("  book: %s\n", book[64 * i] ? book + 64 * i : "-");
	if (o == &u_sysv) {
		printf("  $ uipc ls -s -m\n");
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "%s/uipc ls -s -m | sed 's/^/    /'", build);
		if (system(cmd) != 0)
			printf("    (uipc ls failed)\n");
	}
	printf("  kill -9 guest 0: its SEM_UNDO gives its table to guest 2\n");
	kill(g[0], SIGKILL);
	waitpid(g[0], NULL, 0);
	usleep(100000);
	o->shmctl(seg, IPC_STAT, &ds);
	printf("  free tables %d, guests waiting %d, book attached %lu times\n",
	       o->semctl(set, 0, GETVAL), o->semctl(set, 0, GETNCNT),
	       (unsigned long)ds.shm_nattch);
	printf("  book: %s\n", book[128] ? book + 128 : "-");
	for (int i = 1; i < 3; i++) {
		kill(g[i], SIGKILL);
		waitpid(g[i], NULL, 0);
	}
	o->shmdt(book);
	o->shmctl(seg, IPC_STAT, &ds);
	printf("  everyone gone: free tables %d, book attached %lu times\n",
	       o->semctl(set, 0, GETVAL), (unsigned long)ds.shm_nattch);
	o->semctl(set, 0, IPC_RMID);
	o->shmctl(seg, IPC_RMID, NULL);
}

/* A table of pipe calls: the kernel's and uipc's. */
struct pops {
	const char *name;
	int (*pipe)(int[2]);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
};

static const struct pops k_pipe = { "kernel", pipe, read, write, close };
static const struct pops u_pipe = { "uipc", uipc_pipe, uipc_read, uipc_write,
				    uipc_close };

/* source: numbered lines into fd until killed; upper: copies in to out,
 * upper-cased, counting lines; the parent reads the end and counts. */
static void source(const struct pops *o, int out)
{
	char line[32];

	for (long i = 1;; i++) {
		int n = snprintf(line, sizeof(line), "line %ld\n", i);

		if (o->write(out, line, (size_t)n) != n)
			_exit(1);
		if (i % 1000 == 0)
			usleep(1000);
	}
}

static void upper(const struct pops *o, int in, int out)
{
	char buf[4096];
	ssize_t n;

	while ((n = o->read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] >= 'a' && buf[i] <= 'z')
				buf[i] = (char)(buf[i] - 'a' + 'A');
		if (o->write(out, buf, (size_t)n) != n)
			_exit(1);
	}
	_exit(n < 0);
}

static void pipeline(const struct pops *o, const char *build)
{
	int a[2], b[2];
	pid_t src, up;
	char buf[4096], last[32] = "", cmd[512];
	long lines = 0, bytes = 0;
	ssize_t n;
	int st;

	printf("\n== %s: source | upper | the demo, over two pipes; the source "
	       "is killed after 0.2 s\n", o->name);
	if (o->pipe(a) < 0 || o->pipe(b) < 0) {
		printf("  pipe: %s\n", strerror(errno));
		return;
	}
	src = fork();
	if (src == 0) {
		o->close(a[0]);
		o->close(b[0]);
		o->close(b[1]);
		source(o, a[1]);
	}
	up = fork();
	if (up == 0) {
		o->close(a[1]);
		o->close(b[0]);
		upper(o, a[0], b[1]);
	}
	/* The children first: a forked child counts as a holder of a uipc
	 * pipe once it has used it (until then it may be about to exec a
	 * program that reads the kernel pipe), and a pipe whose last user
	 * closes it goes to the kernel's path for good. */
	usleep(50000);
	o->close(a[0]);
	o->close(a[1]);
	o->close(b[1]);
	usleep(100000);
	if (o == &u_pipe) {
		printf("  $ uipc ls -p\n");
		snprintf(cmd, sizeof(cmd), "%s/uipc ls -p | sed 's/^/    /'", build);
		if (system(cmd) != 0)
			printf("    (uipc ls failed)\n");
	}
	usleep(100000);
	kill(src, SIGKILL);
	while ((n = o->read(b[0], buf, sizeof(buf))) > 0) {
		bytes += n;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				lines++;
		if (n >= 2) {
			ssize_t e = n - 1, s0 = e - 1;

			while (s0 > 0 && buf[s0 - 1] != '\n')
				s0--;
			if (e - s0 < (ssize_t)sizeof(last)) {
				memcpy(last, buf + s0, (size_t)(e - s0));
				last[e - s0] = 0;
			}
		}
	}
	o->close(b[0]);
	waitpid(src, &st, 0);
	printf("  source: %s; upper: ", WIFSIGNALED(st) ? "killed" : "exited");
	waitpid(up, &st, 0);
	printf("exit %d at EOF; read %ld lines (%ld bytes), the last \"%s\"%s\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1, lines, bytes, last,
	       !strncmp(last, "LINE ", 5) && atol(last + 5) == lines ?
	       ": none lost, none twice" : ": MISMATCH");
}

/* A table of signal calls: the kernel's and uipc's. */
struct gops {
	const char *name;
	int (*kill)(pid_t, int);
	int (*sigqueue)(pid_t, int, const union sigval);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
	int (*sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
};

static const struct gops k_sig = { "kernel", kill, sigqueue, sigaction,
				   sigprocmask, sigtimedwait };
static const struct gops u_sig = { "uipc", uipc_kill, uipc_sigqueue,
				   uipc_sigaction, uipc_sigprocmask,
				   uipc_sigtimedwait };

static volatile sig_atomic_t g_hup;

static void on_hup(int s)
{
	(void)s;
	g_hup = 1;
}

/* A worker takes numbered jobs queued as SIGRTMIN with their number, and
 * reloads on SIGHUP (a handler, run while it waits); SIGTERM's default
 * action ends it, and its parent sees that. */
static void worker(const struct gops *o, int ready)
{
	struct timespec five = { 5, 0 };
	struct sigaction sa;
	sigset_t jobs;
	siginfo_t si;
	long sum = 0;
	int n = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	o->sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&jobs);
	sigaddset(&jobs, SIGRTMIN);
	o->sigprocmask(SIG_BLOCK, &jobs, NULL);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	for (;;) {
		int r = o->sigtimedwait(&jobs, &si, &five);

		if (g_hup) {	/* its handler ran while we waited */
			printf("  worker: SIGHUP: reloading (after %d jobs)\n", n);
			g_hup = 0;
		}
		if (r != SIGRTMIN) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		n++;
		sum += si.si_value.sival_int;
		if (si.si_value.sival_int == 1000) {
			printf("  worker: %d jobs, their numbers sum to %ld%s\n", n,
			       sum, sum == 500500 ? ": none lost, none twice" :
			       ": MISMATCH");
			fflush(stdout);
		}
	}
	_exit(2);
}

static void signals(const struct gops *o, const char *build)
{
	int p[2], st;
	pid_t w;
	char c, cmd[512];

	printf("\n== %s: 1000 jobs queued to a worker as SIGRTMIN values, a "
	       "SIGHUP between, then SIGTERM\n", o->name);
	fflush(stdout);
	if (pipe(p) < 0)
		return;
	w = fork();
	if (w == 0) {
		close(p[0]);
		worker(o, p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		printf("  the worker did not start\n");
		return;
	}
	close(p[0]);
	for (int i = 1; i <= 1000; i++) {
		union sigval v = { .sival_int = i };

		while (o->sigqueue(w, SIGRTMIN, v) < 0 && errno == EAGAIN)
			usleep(100);	/* its queue is full: it is behind */
		if (i == 500)
			o->kill(w, SIGHUP);
	}
	usleep(200000);
	if (o == &u_sig) {
		printf("  $ uipc ls -P\n");
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "%s/uipc ls -P | sed 's/^/    /'", build);
		if (system(cmd) != 0)
			printf("    (uipc ls failed)\n");
	}
	o->kill(w, SIGTERM);
	waitpid(w, &st, 0);
	printf("  the worker: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ?
	       "killed by SIGTERM, as its parent's waitpid sees" : "MISMATCH");
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	char ns[64], cmd[512];
	key_t key = (key_t)(0x44454d00 | (getpid() & 0xff));
	int rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("UIPC_NS")) {
		snprintf(ns, sizeof(ns), "/dev/shm/uipc-demo.%d", (int)getpid());
		setenv("UIPC_NS", ns, 1);
	}
	printf("uipc demo: the same program on uipc (namespace %s) and on the "
	       "kernel\n", getenv("UIPC_NS"));
	rc |= run(&uipc, build, key);
	if (!kernel_has_msg())
		printf("\n== kernel: no System V IPC here; uipc needs none\n");
	else
		rc |= run(&kernel, build, key);
	tables(&u_sysv, build);
	if (kernel_has_msg())
		tables(&k_sysv, build);
	pipeline(&u_pipe, build);
	pipeline(&k_pipe, build);
	signals(&u_sig, build);
	signals(&k_sig, build);
	printf("\n== figures (bench/*_bench --quick; `make bench` for the full runs)\n");
	snprintf(cmd, sizeof(cmd), "%s/bench/msg_bench --quick && "
		 "%s/bench/sem_bench --quick && %s/bench/shm_bench --quick && "
		 "%s/bench/pipe_bench --quick && %s/bench/signal_bench --quick && "
		 "sh bench/stressng_bench.sh --quick %s",
		 build, build, build, build, build, build);
	rc |= system(cmd) != 0;
	if (!strncmp(getenv("UIPC_NS"), "/dev/shm/uipc-demo.", 19)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", getenv("UIPC_NS"));
		rc |= system(cmd) != 0;
	}
	return rc;
}
