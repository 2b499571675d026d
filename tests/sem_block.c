/*
 * sem_block: waiting semops side by side with the kernel.  Children block
 * in semop; the parent changes values and records which of them finished,
 * with what, in what order, and GETNCNT/GETZCNT and GETPID on the way:
 * FIFO order, a large decrement at the head, complex operations and the
 * merging of the kernel's queues, wait-for-zero, EIDRM, EINTR (also with
 * SA_RESTART), timeouts, a killed waiter.
 */
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define MAXC 6

static const char *const role[MAXC] = { "c1", "c2", "c3", "c4", "c5", "c6" };
static pid_t kid[MAXC];
static int nkid;

static void on_usr1(int sig)
{
	(void)sig;
}

/* Forks child number nkid, which runs sops (with a timeout of ms if > 0)
 * and exits with 0 or the errno. */
static void spawn(const struct ipc_ops *o, int id, struct sembuf *sops,
		  size_t n, int ms)
{
	pid_t p = fork();

	if (p == 0) {
		struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		sigaction(SIGUSR1, &sa, NULL);
		_exit(o->semtimedop(id, sops, n, ms > 0 ? &ts : NULL) == 0 ? 0 : errno);
	}
	kid[nkid++] = p;
	if (ms <= 0 && wait_blocked(p) < 0)
		fprintf(stderr, "child did not block\n");
}

/* Records which children have ended since the last look, and how. */
static void settle(struct trace *t, const char *what)
{
	char buf[256];
	size_t len = 0;
	struct timespec d = { 0, 60 * 1000000L };

	nanosleep(&d, NULL);
	for (int i = 0; i < nkid; i++) {
		int st;

		if (kid[i] <= 0 || waitpid(kid[i], &st, WNOHANG) != kid[i])
			continue;
		kid[i] = -kid[i];
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %s:%s",
			role[i], WIFEXITED(st) ? (WEXITSTATUS(st) ? errname(WEXITSTATUS(st)) : "ok") :
			"killed");
	}
	tprintf(t, "%s: done%s", what, len ? buf : " none");
}

static void counts(const struct ipc_ops *o, struct trace *t, int id, int n)
{
	char buf[256];
	size_t len = 0;
	unsigned short v[8];
	pid_t pids[MAXC];

	for (int i = 0; i < MAXC; i++)
		pids[i] = kid[i] < 0 ? -kid[i] : kid[i];
	o->semctl(id, 0, GETALL, (unsigned long)v);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			" [%d val=%u n=%d z=%d pid=%s]", i, v[i],
			o->semctl(id, i, GETNCNT, 0), o->semctl(id, i, GETZCNT, 0),
			pid_name(o->semctl(id, i, GETPID, 0), pids, role, MAXC));
	tprintf(t, "sems:%s", buf);
}

static void finish(const struct ipc_ops *o, int id)
{
	o->semctl(id, 0, IPC_RMID, 0);
	for (int i = 0; i < nkid; i++)
		if (kid[i] > 0) {
			kill(kid[i], SIGKILL);
			waitpid(kid[i], NULL, 0);
		}
	nkid = 0;
}

static void add(const struct ipc_ops *o, int id, int num, int v)
{
	o->semtimedop(id, &SOP(num, v, 0), 1, NULL);
}

static void scen_fifo(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 1, 0600);

	for (int i = 0; i < 3; i++)
		spawn(o, id, &SOP(0, -1, 0), 1, 0);
	counts(o, t, id, 1);
	add(o, id, 0, 1);
	settle(t, "+1");
	add(o, id, 0, 2);
	settle(t, "+2");
	counts(o, t, id, 1);
	finish(o, id);
}

static void scen_head(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 1, 0600);

	spawn(o, id, &SOP(0, -2, 0), 1, 0);
	spawn(o, id, &SOP(0, -1, 0), 1, 0);
	counts(o, t, id, 1);
	add(o, id, 0, 1);
	settle(t, "+1");
	add(o, id, 0, 1);
	settle(t, "+1 again");
	add(o, id, 0, 1);
	settle(t, "+1 third");
	counts(o, t, id, 1);
	finish(o, id);
}

static void scen_complex(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 2, 0600);
	struct sembuf both[2] = { SOP(0, -1, 0), SOP(1, -1, 0) };
	struct sembuf up[2] = { SOP(0, 1, 0), SOP(1, 1, 0) };

	spawn(o, id, both, 2, 0);
	spawn(o, id, &SOP(0, -1, 0), 1, 0);
	spawn(o, id, &SOP(1, -1, 0), 1, 0);
	counts(o, t, id, 2);
	add(o, id, 1, 1);
	settle(t, "sem1 +1");
	counts(o, t, id, 2);
	add(o, id, 0, 1);
	settle(t, "sem0 +1");
	o->semtimedop(id, up, 2, NULL);
	settle(t, "both +1");
	counts(o, t, id, 2);
	finish(o, id);
}

/* Single waiters queue per semaphore until a complex one comes; then the
 * kernel merges them into the set's queue, last semaphore first. */
static void scen_merge(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 2, 0600);
	struct sembuf both[2] = { SOP(0, -1, 0), SOP(1, -1, 0) };
	unsigned short v1[2] = { 1, 1 }, v2[2] = { 2, 1 };

	spawn(o, id, &SOP(0, -1, 0), 1, 0);
	spawn(o, id, &SOP(1, -1, 0), 1, 0);
	spawn(o, id, &SOP(0, -1, 0), 1, 0);
	spawn(o, id, both, 2, 0);
	spawn(o, id, &SOP(1, -1, 0), 1, 0);
	counts(o, t, id, 2);
	o->semctl(id, 0, SETALL, (unsigned long)v1);
	settle(t, "SETALL 1 1");
	counts(o, t, id, 2);
	o->semctl(id, 0, SETALL, (unsigned long)v2);
	settle(t, "SETALL 2 1");
	counts(o, t, id, 2);
	add(o, id, 1, 1);
	settle(t, "sem1 +1 (back in per-semaphore queues)");
	counts(o, t, id, 2);
	finish(o, id);
}

static void scen_zero(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 2, 0600);
	struct sembuf zc[2] = { SOP(0, 0, 0), SOP(1, -1, 0) };
	struct sembuf zz[2] = { SOP(1, 0, 0), SOP(0, 0, 0) };

	o->semctl(id, 0, SETVAL, 2);
	spawn(o, id, &SOP(0, 0, 0), 1, 0);
	spawn(o, id, zc, 2, 0);
	spawn(o, id, &SOP(0, 0, 0), 1, 0);
	o->semctl(id, 1, SETVAL, 1);
	settle(t, "sem1 = 1");
	spawn(o, id, zz, 2, 0);
	counts(o, t, id, 2);
	add(o, id, 0, -1);
	settle(t, "sem0 -1");
	add(o, id, 0, -1);
	settle(t, "sem0 -1 to zero");
	counts(o, t, id, 2);
	add(o, id, 1, 1);
	settle(t, "sem1 +1");
	counts(o, t, id, 2);
	finish(o, id);
}

/* A lone simple wait for zero: no complex operation on the set whose
 * retry would find it too. */
static void scen_zero_simple(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 1, 0600);

	o->semctl(id, 0, SETVAL, 1);
	spawn(o, id, &SOP(0, 0, 0), 1, 0);
	counts(o, t, id, 1);
	add(o, id, 0, -1);
	settle(t, "sem0 -1 to zero");
	counts(o, t, id, 1);
	finish(o, id);
}

/* Not compared: a stop and continue makes the kernel's semop fail with
 * EINTR (signal(7)); uipc's keeps waiting (docs/uipc.md). */
static void scen_errors(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 1, 0600);
	struct timespec d = { 0, 200 * 1000000L };

	o->semctl(id, 0, SETVAL, 1);
	spawn(o, id, &SOP(0, 0, 0), 1, 0);
	counts(o, t, id, 1);
	kill(kid[0], SIGUSR1);
	settle(t, "signal to a waiter (SA_RESTART)");
	spawn(o, id, &SOP(0, -2, 0), 1, 0);
	counts(o, t, id, 1);
	kill(kid[1], SIGKILL);
	settle(t, "waiter killed");
	counts(o, t, id, 1);
	add(o, id, 0, 1);
	settle(t, "+1");
	counts(o, t, id, 1);
	spawn(o, id, &SOP(0, -5, 0), 1, 150);
	settle(t, "timeout pending");
	nanosleep(&d, NULL);
	settle(t, "timeout passed");
	spawn(o, id, &SOP(0, -5, 0), 1, 0);
	o->semctl(id, 0, IPC_RMID, 0);
	settle(t, "removed");
	finish(o, id);
}

int main(void)
{
	harness_init(120);
	run_both("FIFO", scen_fifo);
	run_both("large decrement first", scen_head);
	run_both("complex operations", scen_complex);
	run_both("merged queues", scen_merge);
	run_both("wait for zero", scen_zero);
	run_both("wait for zero, alone", scen_zero_simple);
	run_both("EINTR, kill, timeout, EIDRM", scen_errors);
	return harness_done();
}
