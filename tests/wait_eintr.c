/*
 * wait_eintr: a signal handler that runs at any moment while msgrcv,
 * msgsnd, semop or semtimedop is blocked or about to block makes the call
 * fail with EINTR, on the kernel and on uipc alike, however the handler
 * was installed; and a stop and a continue make semop fail with EINTR but
 * leave msgrcv and msgsnd blocked, as signal(7) says of the kernel.
 *
 * The probe: the caller announces each try and makes the blocking call at
 * once; a prober (a second thread, or another process) waits a random 0-50
 * microseconds from the announcement and sends SIGUSR1 (pthread_kill, or
 * kill).  A call that is still blocked 200 ms after the signal was missed:
 * the prober then releases it (a message sent or taken, a semaphore
 * raised), and the miss is counted.  Every try must end in EINTR with the
 * handler run exactly once.  The seed is printed; UIPC_SEED reruns it.
 */
#include "harness.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

enum { OP_MSGRCV, OP_MSGSND, OP_SEMOP, OP_SEMTIMEDOP, NOPS };
static const char *const op_name[NOPS] = { "msgrcv", "msgsnd", "semop",
					   "semtimedop" };

/* How the handler is installed, one after the other across tries. */
enum { I_SIGACTION, I_RESTART, I_SIGNAL, I_SIGSET, I_BSD, NINST };

#define MTEXT 16
struct msg {
	long type;
	char text[MTEXT];
};

/* Shared by the caller and its prober. */
struct probe {
	_Atomic unsigned go;		/* try number the caller entered */
	_Atomic unsigned returned;	/* try number whose call returned */
	_Atomic unsigned acked;		/* try number the prober finished */
	_Atomic unsigned stop;
	_Atomic long delay_ns[1];	/* this try's delay */
	pid_t caller_pid;
	pthread_t caller_thread;
	int by_process;
	int op, q, s;
	const struct ipc_ops *o;
	_Atomic unsigned rescued;
};

/*
 * A try counts only if the signal came once the call had begun.  On a busy
 * machine the caller may lose its CPU between announcing a try and making
 * the call, and a handler that runs then, before the call, rightly leaves
 * the call to block (on the kernel too).  The handler tells the two apart
 * by where it interrupted the caller: in this file's own code (the section
 * probe_text: the loop and the switch that makes the call) is before.  The
 * kernel passes that context to every handler on x86_64, whatever its
 * declared arguments; elsewhere every try counts.
 */
#define PROBE_TEXT __attribute__((section("probe_text"), noinline))
extern const char __start_probe_text[], __stop_probe_text[];
/* uipc's call begins where its mask takes hold, the system call in
 * uipc_wait_begin (src/wait.c, in this section), as the kernel's begins
 * at its system call instruction: a handler that interrupted that
 * function, or the public function's first instructions before it (in
 * this section too, UIPC_MASK_TEXT, as the C library's wrapper comes
 * before the kernel's), with SIGUSR1 not blocked yet came before, and the
 * call rightly goes on to block. */
extern const char __start_uipc_mask_text[] __attribute__((weak));
extern const char __stop_uipc_mask_text[] __attribute__((weak));

static volatile sig_atomic_t handled, handled_early;
/* Where the last handler interrupted the caller, and whether SIGUSR1 was
 * blocked there: printed for a miss (addr2line -e the test's binary, at
 * the offset from its load address). */
static const void *volatile handled_ip;
static volatile sig_atomic_t handled_masked;
/* The kernel's calls are under test: there, a call has begun only once
 * its system call instruction has (a handler that runs in the C library's
 * wrapper before it leaves the call to block, as it should).  uipc's calls
 * promise EINTR from their mask on. */
static volatile sig_atomic_t kernel_side;

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	handled++;
#if defined(__x86_64__)
	{
		const unsigned char *ip = (const unsigned char *)((ucontext_t *)ctx)
					 ->uc_mcontext.gregs[REG_RIP];

		handled_ip = ip;
		handled_masked = sigismember(&((ucontext_t *)ctx)->uc_sigmask,
					     SIGUSR1) == 1;

		if ((const char *)ip >= __start_probe_text &&
		    (const char *)ip < __stop_probe_text)
			handled_early = 1;
		else if (!kernel_side && __start_uipc_mask_text &&
			 (const char *)ip >= __start_uipc_mask_text &&
			 (const char *)ip < __stop_uipc_mask_text &&
			 sigismember(&((ucontext_t *)ctx)->uc_sigmask, SIGUSR1) == 0)
			handled_early = 1;
		/* Not just after a `syscall`: no system call was under way. */
		else if (kernel_side && !(ip[-2] == 0x0f && ip[-1] == 0x05))
			handled_early = 1;
	}
#else
	(void)ctx;
#endif
}

/* Not declared by glibc's headers any more, still in libc (and musl). */
typedef void (*handler_fn)(int);
handler_fn bsd_signal(int sig, handler_fn fn);

static void install(int how)
{
	handler_fn on_usr1_plain = (handler_fn)(void (*)(void))on_usr1;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1_plain;
	switch (how) {
	case I_SIGACTION:
		sigaction(SIGUSR1, &sa, NULL);
		break;
	case I_RESTART:
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		break;
	case I_SIGNAL:
		signal(SIGUSR1, on_usr1_plain);
		break;
	case I_SIGSET:
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		sigset(SIGUSR1, on_usr1_plain);
#pragma GCC diagnostic pop
		break;
	default:
		bsd_signal(SIGUSR1, on_usr1_plain);
		break;
	}
}

static long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The blocking call of op; its result as 0 or an errno. */
PROBE_TEXT static int blocking_call(const struct probe *p)
{
	struct sembuf down = { 0, -1, 0 };
	struct timespec ten = { 10, 0 };
	struct msg m = { 1, "x" };
	long r;

	switch (p->op) {
	case OP_MSGRCV:
		r = p->o->msgrcv(p->q, &m, MTEXT, 0, 0);
		break;
	case OP_MSGSND:
		r = p->o->msgsnd(p->q, &m, MTEXT, 0);
		break;
	case OP_SEMOP:
		r = p->o->semtimedop(p->s, &down, 1, NULL);
		break;
	default:
		r = p->o->semtimedop(p->s, &down, 1, &ten);
		break;
	}
	return r < 0 ? errno : 0;
}

/* Lets a missed call complete, leaving the object as before the try: a
 * message for msgrcv, room for msgsnd (its message then refills it), a
 * unit for semop. */
static void release(const struct probe *p)
{
	struct sembuf up = { 0, 1, 0 };
	struct msg m = { 1, "r" };

	if (p->op == OP_MSGRCV)
		p->o->msgsnd(p->q, &m, MTEXT, IPC_NOWAIT);
	else if (p->op == OP_MSGSND)
		p->o->msgrcv(p->q, &m, MTEXT, 0, IPC_NOWAIT);
	else
		p->o->semtimedop(p->s, &up, 1, NULL);
}

static void prober(struct probe *p)
{
	for (unsigned i = 1;; i++) {
		long t0, d, t;

		while (atomic_load(&p->go) < i)
			if (atomic_load(&p->stop))
				return;
		t0 = now_ns();
		d = atomic_load(&p->delay_ns[0]);
		while (now_ns() - t0 < d)
			;
		if (p->by_process)
			kill(p->caller_pid, SIGUSR1);
		else
			pthread_kill(p->caller_thread, SIGUSR1);
		t = now_ns();
		while (atomic_load(&p->returned) < i) {
			if (now_ns() - t > 200000000L) {
				release(p);
				atomic_fetch_add(&p->rescued, 1);
				t = now_ns();
			}
		}
		atomic_store(&p->acked, i);
	}
}

static void *prober_thread(void *arg)
{
	prober(arg);
	return NULL;
}

/* Where a missed try's handler ran: the object and its offset there (for
 * addr2line), the symbol if it is exported. */
static void report_ip(const void *ip, int masked)
{
	Dl_info di;

	if (ip && dladdr(ip, &di) && di.dli_fname)
		fprintf(stderr, "    its handler ran at %s+%#lx (%s), SIGUSR1 %s there\n",
			di.dli_fname,
			(unsigned long)((const char *)ip - (const char *)di.dli_fbase),
			di.dli_sname ? di.dli_sname : "no exported symbol",
			masked ? "blocked" : "not blocked");
	else
		fprintf(stderr, "    its handler ran at %p, SIGUSR1 %s there\n",
			ip, masked ? "blocked" : "not blocked");
}

struct tally {
	int tries, eintr, missed, other, handler_runs;
	int early;		/* the signal came before the call */
	int first_miss;		/* try, 0: none */
	long first_miss_ns;	/* its delay */
	const void *first_miss_ip;	/* where its handler ran */
	int first_miss_masked;	/* with SIGUSR1 blocked there */
};

/* tries of op, probed from a thread or from another process. */
PROBE_TEXT static struct tally probe_op(const struct ipc_ops *o, int op, int by_process,
			     int tries, unsigned *seed)
{
	struct probe *p = harness_shared(sizeof(*p));
	struct tally t = { .tries = tries };
	struct msg m = { 1, "full" };
	struct msqid_ds ds;
	pthread_t th;
	pid_t child = -1;

	memset(p, 0, sizeof(*p));
	p->o = o;
	p->op = op;
	p->by_process = by_process;
	p->caller_pid = getpid();
	p->caller_thread = pthread_self();
	p->q = o->msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	p->s = o->semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	CHECK(p->q >= 0 && p->s >= 0, "%s: objects: %s", o->name,
	      strerror(errno));
	if (op == OP_MSGSND) {	/* full: room for one message */
		o->msgctl(p->q, IPC_STAT, &ds);
		ds.msg_qbytes = MTEXT;
		CHECK(o->msgctl(p->q, IPC_SET, &ds) == 0, "qbytes");
		CHECK(o->msgsnd(p->q, &m, MTEXT, IPC_NOWAIT) == 0, "fill");
	}
	if (by_process) {
		child = fork();
		if (child == 0) {
			prober(p);
			_exit(0);
		}
	} else {
		pthread_create(&th, NULL, prober_thread, p);
	}
	for (int i = 1; i <= tries; i++) {
		int e;

		install(i % NINST);
		handled = handled_early = 0;
		atomic_store(&p->delay_ns[0], (long)(rand_r(seed) % 50001));
		atomic_store(&p->go, (unsigned)i);
		e = blocking_call(p);
		atomic_store(&p->returned, (unsigned)i);
		while (atomic_load(&p->acked) < (unsigned)i)
			;
		/* A miss completed: its handler ran before the call slept. */
		if (handled_early) {
			t.early++;
			continue;
		}
		if (e == EINTR) {
			t.eintr++;
		} else if (e != 0) {
			t.other++;
		} else if (!t.missed++) {
			t.first_miss = i;
			t.first_miss_ns = atomic_load(&p->delay_ns[0]);
			t.first_miss_ip = handled_ip;
			t.first_miss_masked = handled_masked;
		}
		t.handler_runs += handled == 1;
	}
	atomic_store(&p->stop, 1);
	if (by_process)
		waitpid(child, NULL, 0);
	else
		pthread_join(th, NULL);
	signal(SIGUSR1, SIG_DFL);
	o->msgctl(p->q, IPC_RMID, NULL);
	o->semctl(p->s, 0, IPC_RMID, 0);
	munmap(p, sizeof(*p));
	return t;
}

static unsigned g_seed;
static int g_tries;

static void probes(const struct ipc_ops *o, struct trace *tr)
{
	kernel_side = !strcmp(o->name, "kernel");
	for (int by_process = 0; by_process < 2; by_process++) {
		for (int op = 0; op < NOPS; op++) {
			unsigned seed = g_seed + (unsigned)(op * 2 + by_process);
			int n = by_process ? g_tries / 4 : g_tries;
			struct tally t = probe_op(o, op, by_process, n, &seed);

			int in = n - t.early;	/* tries that count */
			int ok = t.eintr == in && t.handler_runs == in &&
				 t.early <= n / 10;

			printf("%s %s from a %s: %d tries, %d with the signal "
			       "before the call\n", o->name, op_name[op],
			       by_process ? "process" : "thread", n, t.early);
			if (!ok)
				fprintf(stderr, "%s %s from a %s: of %d tries, "
					"%d EINTR, %d missed, %d other errors, "
					"%d with one handler run; first miss: "
					"try %d, signal sent after %ld ns\n",
					o->name, op_name[op],
					by_process ? "process" : "thread", in,
					t.eintr, t.missed, t.other,
					t.handler_runs, t.first_miss,
					t.first_miss_ns);
			if (!ok && t.first_miss)
				report_ip(t.first_miss_ip, t.first_miss_masked);
			tprintf(tr, "%s from a %s: %s", op_name[op],
				by_process ? "process" : "thread",
				ok ? "EINTR every time" : "not every time");
		}
	}
}

/* A stop and a continue of a process blocked in op, with no handler:
 * semop and semtimedop fail with EINTR, msgrcv and msgsnd sleep on. */
static void stop_cont(const struct ipc_ops *o, struct trace *tr)
{
	for (int op = 0; op < NOPS; op++) {
		struct probe *p = harness_shared(sizeof(*p));
		struct msg m = { 1, "full" };
		struct msqid_ds ds;
		int st, res = -1;
		pid_t c;

		memset(p, 0, sizeof(*p));
		p->o = o;
		p->op = op;
		p->q = o->msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		p->s = o->semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
		if (op == OP_MSGSND) {
			o->msgctl(p->q, IPC_STAT, &ds);
			ds.msg_qbytes = MTEXT;
			o->msgctl(p->q, IPC_SET, &ds);
			o->msgsnd(p->q, &m, MTEXT, IPC_NOWAIT);
		}
		c = fork();
		if (c == 0) {
			int e = blocking_call(p);

			_exit(e == EINTR ? 1 : e == 0 ? 0 : 2);
		}
		CHECK(wait_blocked(c) == 0, "%s: child never blocked", o->name);
		kill(c, SIGSTOP);
		waitpid(c, &st, WUNTRACED);
		kill(c, SIGCONT);
		usleep(200000);
		if (waitpid(c, &st, WNOHANG) == c) {
			res = WIFEXITED(st) ? WEXITSTATUS(st) : 3;
		} else {
			release(p);
			waitpid(c, &st, 0);
			res = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 4 : 5;
		}
		tprintf(tr, "%s after stop and continue: %s", op_name[op],
			res == 1 ? "EINTR" : res == 4 ? "still blocked" :
			res == 0 ? "completed" : "broken");
		o->msgctl(p->q, IPC_RMID, NULL);
		o->semctl(p->s, 0, IPC_RMID, 0);
		munmap(p, sizeof(*p));
	}
}

/*
 * A program that closes every descriptor it does not know between two
 * blocking calls (closefrom), and whose next pipe takes the number uipc's
 * wake socket had: its next msgrcv is still woken by a msgsnd, and nothing
 * is read from its pipe.
 */
static void closed_under(const struct ipc_ops *o, struct trace *tr)
{
	struct msg m = { 1, "hello" };
	int q = o->msgget(IPC_PRIVATE, IPC_CREAT | 0600), st;
	pid_t c;

	c = fork();
	if (c == 0) {
		struct msg got;
		char buf[8] = "";
		int p[2], ok = 1;

		alarm(10);
		ok &= o->msgrcv(q, &got, MTEXT, 0, 0) == MTEXT;
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		ok &= pipe(p) == 0 && write(p[1], "data", 4) == 4;
		ok &= o->msgrcv(q, &got, MTEXT, 0, 0) == MTEXT;
		ok &= read(p[0], buf, sizeof(buf)) == 4 && !memcmp(buf, "data", 4);
		_exit(ok ? 0 : 1);
	}
	for (int i = 0; i < 2; i++) {
		CHECK(wait_blocked(c) == 0, "%s: child never blocked", o->name);
		tcall(tr, "msgsnd", o->msgsnd(q, &m, MTEXT, 0));
	}
	waitpid(c, &st, 0);
	tprintf(tr, "after closing its descriptors: %s",
		WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "woken, pipe intact" :
		"broken");
	o->msgctl(q, IPC_RMID, NULL);
}

int main(void)
{
	const char *s = getenv("UIPC_SEED");
	const char *n = getenv("UIPC_TRIES");

	harness_init(240);
	g_seed = s ? (unsigned)strtoul(s, NULL, 0) : (unsigned)time(NULL);
	g_tries = n ? atoi(n) : 2000;
	printf("seed %u (UIPC_SEED=%u reruns it), %d tries a call\n", g_seed,
	       g_seed, g_tries);
	run_both("handler at a random moment of a blocking call", probes);
	run_both("stop and continue", stop_cont);
	run_both("descriptors closed between waits", closed_under);
	return harness_done();
}
