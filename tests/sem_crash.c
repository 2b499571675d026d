/*
 * sem_crash: workers take and give semaphores with SEM_UNDO (single and
 * complex operations, waiting when they must) and are killed with SIGKILL
 * at random moments: inside semop, holding the set's lock, asleep, between
 * two calls.  The same rounds run on the kernel and on uipc.  After each
 * round every worker is gone, so every adjustment has been applied: the
 * values must be back where they started, nobody may still be counted as
 * waiting, and the survivors must have finished in bounded time.
 *
 * A survivor that hangs is shown (its system call, the lock owner it
 * waits for, its stack) before it is killed: that is how the lost wake-up
 * of robust mutexes (see src/lock.c) was found.
 */
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define NSEMS 3
#define START 2
#define WORKERS 5
#define ROUNDS 30
#define KILLS 20
#define SURVIVOR_OPS 300
#define BOUND_MS 10000

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void worker(const struct ipc_ops *o, int id, unsigned seed, int ops)
{
	for (int i = 0; ops < 0 || i < ops; i++) {
		struct sembuf take[2], give[2];
		int n = 1 + (int)(rnd(&seed) % 2);
		int a = (int)(rnd(&seed) % NSEMS), b = (a + 1) % NSEMS;

		take[0] = SOP(a, -1, SEM_UNDO);
		take[1] = SOP(b, -1, SEM_UNDO);
		give[0] = SOP(a, 1, SEM_UNDO);
		give[1] = SOP(b, 1, SEM_UNDO);
		if (o->semtimedop(id, take, (size_t)n, NULL) < 0)
			_exit(2);
		if (o->semtimedop(id, give, (size_t)n, NULL) < 0)
			_exit(3);
	}
	_exit(0);
}

static pid_t spawn(const struct ipc_ops *o, int id, unsigned seed, int ops)
{
	pid_t p = fork();

	if (p == 0)
		worker(o, id, seed, ops);
	return p;
}

/* Where a hung survivor is: its system call, the state of a lock owner it
 * waits for, and its stack if gdb is here. */
static void show_stuck(pid_t pid)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "p=%d; read nr a b c rest < /proc/$p/syscall; "
		 "echo \"pid $p syscall $nr $a $b $c\" >&2; if [ \"$nr\" = 202 ]; "
		 "then t=$(( c & 0x3fffffff )); echo \"owner tid $t: $(grep "
		 "-s -e State -e PPid /proc/$t/status | tr '\\n' ' ')\" >&2; fi; "
		 "command -v gdb >/dev/null && gdb -q -batch -p $p -ex bt "
		 "2>/dev/null | grep '^#' >&2", (int)pid);
	if (system(cmd) < 0)
		perror("system");
}

static void scen_crash(const struct ipc_ops *o, struct trace *t)
{
	unsigned seed = 12345;
	int bad_rounds = 0, hung = 0, failed = 0, kills = 0;

	for (int round = 0; round < ROUNDS; round++) {
		int id = o->semget(IPC_PRIVATE, NSEMS, 0600);
		unsigned short v[NSEMS];
		pid_t w[WORKERS];
		int ok = 1;

		for (int i = 0; i < NSEMS; i++)
			v[i] = START;
		o->semctl(id, 0, SETALL, (unsigned long)v);
		for (int i = 0; i < WORKERS; i++)
			w[i] = spawn(o, id, rnd(&seed), -1);
		for (int k = 0; k < KILLS; k++) {
			struct timespec d = { 0, (long)(rnd(&seed) % 3000) * 1000L };
			int i = (int)(rnd(&seed) % WORKERS);

			nanosleep(&d, NULL);
			kill(w[i], SIGKILL);
			waitpid(w[i], NULL, 0);
			kills++;
			w[i] = spawn(o, id, rnd(&seed), k < KILLS - 1 ? -1 : SURVIVOR_OPS);
		}
		/* The rest become survivors: told to stop by being replaced
		 * with bounded workers, then waited for. */
		for (int i = 0; i < WORKERS; i++) {
			kill(w[i], SIGKILL);
			waitpid(w[i], NULL, 0);
			w[i] = spawn(o, id, rnd(&seed), SURVIVOR_OPS);
		}
		for (int i = 0; i < WORKERS; i++) {
			int st, waited = 0;

			while (waitpid(w[i], &st, WNOHANG) == 0 && waited < BOUND_MS) {
				struct timespec d = { 0, 1000000L };

				nanosleep(&d, NULL);
				waited++;
			}
			if (waited >= BOUND_MS) {
				unsigned short h[NSEMS];

				o->semctl(id, 0, GETALL, (unsigned long)h);
				fprintf(stderr, "%s round %d: survivor %d hung; values "
					"%u %u %u, ncnt %d %d %d\n", o->name, round, i,
					h[0], h[1], h[2], o->semctl(id, 0, GETNCNT, 0),
					o->semctl(id, 1, GETNCNT, 0), o->semctl(id, 2, GETNCNT, 0));
				show_stuck(w[i]);
				hung++;
				kill(w[i], SIGKILL);
				waitpid(w[i], &st, 0);
			} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				failed++;
			}
		}
		o->semctl(id, 0, GETALL, (unsigned long)v);
		for (int i = 0; i < NSEMS; i++)
			if (v[i] != START || o->semctl(id, i, GETNCNT, 0) ||
			    o->semctl(id, i, GETZCNT, 0))
				ok = 0;
		if (!ok) {
			bad_rounds++;
			fprintf(stderr, "%s round %d: values %u %u %u\n", o->name,
				round, v[0], v[1], v[2]);
		}
		o->semctl(id, 0, IPC_RMID, 0);
	}
	fprintf(stderr, "%s: %d rounds, %d kills\n", o->name, ROUNDS, kills);
	tprintf(t, "rounds whose values did not come back: %d", bad_rounds);
	tprintf(t, "survivors that hung (10 s): %d", hung);
	tprintf(t, "survivors whose semop failed: %d", failed);
}

int main(void)
{
	harness_init(240);
	harness_allow_lost_wakes();	/* it kills wakers mid-call */
	run_both("random SIGKILLs with SEM_UNDO", scen_crash);
	return harness_done();
}
