/*
 * sem_race: the lock-free fast path of semop meets the locked path, side
 * by side with the kernel.
 *
 * A single operation without SEM_UNDO on a semaphore nobody waits on is
 * one compare-and-swap in uipc; everything else takes the set's lock.
 * These scenarios make both kinds run at once on the same semaphores and
 * check what the kernel guarantees:
 *  - mutual exclusion: a semaphore used as a mutex by single operations,
 *    complex ones (two semaphores at once) and IPC_NOWAIT retries never
 *    has two holders, and no increment of the shared counter is lost;
 *  - wake-ups: a fast -1 that brings a semaphore to zero wakes the
 *    wait-for-zero waiters, a fast +1 the waiters for it (a lost wake-up
 *    shows as a hang, which the watchdog turns into a failure);
 *  - snapshots: GETALL never sees the mutex above 1;
 *  - SEM_UNDO: a killed holder's adjustment is applied before a later
 *    operation without SEM_UNDO on that semaphore, clamped as the kernel
 *    clamps it at exit;
 *  - IPC_RMID under running workers: EIDRM or EINVAL, never success after.
 * The final values, counters and errors are compared with the kernel's.
 */
#include "harness.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define ROUNDS 20000	/* per worker */
#define NWORK 5

struct shared {
	_Atomic int inside;	/* holders of the mutex now */
	_Atomic int overlaps;	/* times two held it at once */
	int counter;		/* incremented under the mutex, not atomically */
	_Atomic int bad_snapshots;
	_Atomic int stop;
	_Atomic int errors;
};

static struct shared *sh;

static void critical(void)
{
	if (atomic_fetch_add(&sh->inside, 1) != 0)
		atomic_fetch_add(&sh->overlaps, 1);
	sh->counter++;
	atomic_fetch_sub(&sh->inside, 1);
}

static void op(const struct ipc_ops *o, int id, struct sembuf *s, size_t n)
{
	while (o->semtimedop(id, s, n, NULL) < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			atomic_fetch_add(&sh->errors, 1);
			return;
		}
		sched_yield();
	}
}

/* Worker w's way of taking the mutex (sem 0), or of its other job. */
static void work(const struct ipc_ops *o, int id, int w)
{
	struct sembuf take = SOP(0, -1, 0), give = SOP(0, 1, 0);
	struct sembuf take2[2] = { SOP(0, -1, 0), SOP(1, 1, 0) };
	struct sembuf trytake = SOP(0, -1, IPC_NOWAIT);
	struct sembuf up = SOP(2, 1, 0), down = SOP(2, -1, 0), zero = SOP(2, 0, 0);

	for (int i = 0; i < ROUNDS; i++) {
		switch (w) {
		case 0:		/* single operations */
			op(o, id, &take, 1);
			critical();
			op(o, id, &give, 1);
			break;
		case 1:		/* complex: the mutex and a count at once */
			op(o, id, take2, 2);
			critical();
			op(o, id, &give, 1);
			break;
		case 2:		/* IPC_NOWAIT, retried */
			op(o, id, &trytake, 1);
			critical();
			op(o, id, &give, 1);
			break;
		case 3:		/* sem 2 up and down, fast */
			op(o, id, &up, 1);
			op(o, id, &down, 1);
			break;
		case 4:		/* waits for sem 2 to be zero */
			if (i % 8 == 0)
				op(o, id, &zero, 1);
			break;
		}
	}
}

/* Reads GETALL until told to stop: the mutex is 0 or 1, always. */
static void watch(const struct ipc_ops *o, int id)
{
	unsigned short v[3];

	while (!atomic_load(&sh->stop)) {
		if (o->semctl(id, 0, GETALL, (unsigned long)v) < 0 || v[0] > 1)
			atomic_fetch_add(&sh->bad_snapshots, 1);
		sched_yield();
	}
}

static void scen_mutex(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 3, 0600);
	pid_t kid[NWORK], mon;
	unsigned short v[3];
	int st, clean = 1;

	memset(sh, 0, sizeof(*sh));
	tcall(t, "SETVAL mutex 1", o->semctl(id, 0, SETVAL, 1));
	mon = fork();
	if (mon == 0) {
		watch(o, id);
		_exit(0);
	}
	for (int w = 0; w < NWORK; w++) {
		kid[w] = fork();
		if (kid[w] == 0) {
			work(o, id, w);
			_exit(0);
		}
	}
	for (int w = 0; w < NWORK; w++) {
		waitpid(kid[w], &st, 0);
		clean &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	atomic_store(&sh->stop, 1);
	waitpid(mon, NULL, 0);
	tprintf(t, "workers ended cleanly: %d", clean);
	tprintf(t, "counter %d (of %d), overlaps %d, errors %d, bad snapshots %d",
		sh->counter, 3 * ROUNDS, atomic_load(&sh->overlaps),
		atomic_load(&sh->errors), atomic_load(&sh->bad_snapshots));
	tcall(t, "GETALL", o->semctl(id, 0, GETALL, (unsigned long)v));
	tprintf(t, "values %u %u %u", v[0], v[1], v[2]);
	for (int i = 0; i < 3; i++) {
		tprintf(t, "sem %d: ncnt %d zcnt %d", i,
			o->semctl(id, i, GETNCNT, 0), o->semctl(id, i, GETZCNT, 0));
	}
	o->semctl(id, 0, IPC_RMID, 0);
}

/*
 * A holder takes sem 0 (+1) with SEM_UNDO, then another process takes
 * that unit away without SEM_UNDO and the holder is killed: the kernel
 * clamps the undo at 0 at once.  Then +1 without SEM_UNDO: 1 on the
 * kernel; 1 on uipc only if the death is noticed before the fast path
 * could add to the value.
 */
static void scen_undo(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 2, 0600);
	struct sembuf hold = SOP(0, 1, SEM_UNDO), take = SOP(0, -1, 0),
		      give = SOP(0, 1, 0), other = SOP(1, 1, 0);
	int p[2];
	pid_t c;
	char ch;

	if (pipe(p) < 0)
		return;
	c = fork();
	if (c == 0) {
		o->semtimedop(id, &hold, 1, NULL);
		write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	read(p[0], &ch, 1);
	tcall(t, "take the holder's unit", o->semtimedop(id, &take, 1, NULL));
	tcall(t, "sem 1 +1", o->semtimedop(id, &other, 1, NULL));
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	tcall(t, "+1 after the holder died", o->semtimedop(id, &give, 1, NULL));
	tprintf(t, "values %d %d", o->semctl(id, 0, GETVAL, 0),
		o->semctl(id, 1, GETVAL, 0));
	tcall(t, "again +1", o->semtimedop(id, &give, 1, NULL));
	tprintf(t, "value %d", o->semctl(id, 0, GETVAL, 0));
	close(p[0]);
	close(p[1]);
	o->semctl(id, 0, IPC_RMID, 0);
}

/*
 * Workers run fast operations while the set is removed: each stops at its
 * first error, which is EIDRM or EINVAL; the last value a worker saw is
 * never that of an operation after the removal.
 */
static void scen_rmid(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 1, 0600);
	pid_t kid[2];
	int st, n = 0, ok = 1;

	o->semctl(id, 0, SETVAL, 100);
	for (int w = 0; w < 2; w++) {
		kid[w] = fork();
		if (kid[w] == 0) {
			struct sembuf d = SOP(0, -1, 0), u = SOP(0, 1, 0);

			for (long i = 0; i < 50000000; i++) {
				if (o->semtimedop(id, &d, 1, NULL) < 0 ||
				    o->semtimedop(id, &u, 1, NULL) < 0)
					_exit(errno == EIDRM || errno == EINVAL ? 0 : 1);
			}
			_exit(2);	/* never told of the removal */
		}
	}
	while (n < 1000 && o->semctl(id, 0, GETVAL, 0) >= 0) {
		sched_yield();
		n++;
	}
	tcall(t, "IPC_RMID while they run", o->semctl(id, 0, IPC_RMID, 0));
	for (int w = 0; w < 2; w++) {
		waitpid(kid[w], &st, 0);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	tprintf(t, "workers stopped with EIDRM or EINVAL: %d", ok);
	tcall(t, "GETVAL after", o->semctl(id, 0, GETVAL, 0));
}

int main(void)
{
	harness_init(240);
	sh = harness_shared(sizeof(*sh));
	run_both("mutex: fast, complex and IPC_NOWAIT at once", scen_mutex);
	run_both("a killed SEM_UNDO holder, then fast operations", scen_undo);
	run_both("IPC_RMID under fast operations", scen_rmid);
	return harness_done();
}
