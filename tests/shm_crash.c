/*
 * shm_crash: workers attach a segment (read-write and read-only, once or
 * twice), write to it, fork children that inherit the attachments and
 * detach or exit, and are killed with SIGKILL at random moments: inside
 * shmat and shmdt, holding the segment's lock, in the middle of fork.  The
 * same rounds run on the kernel and on uipc.  After each round everyone is
 * gone: nattch must be 0, a segment removed during the round must be gone
 * with its last attacher, and the segment's lock must be free (the checks
 * take it).
 */
#include "harness.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#define ROUNDS 40
#define WORKERS 4
#define KILLS 20
#define SEGSZ (64 * 1024)

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void worker(const struct ipc_ops *o, int id, unsigned seed)
{
	for (;;) {
		int ro = (int)(rnd(&seed) % 3) == 0;
		char *p = o->shmat(id, NULL, ro ? SHM_RDONLY : 0), *q = NULL;

		if (p == (void *)-1)
			_exit(2);
		if (!ro)
			p[rnd(&seed) % SEGSZ] = 1;
		if (rnd(&seed) % 2)
			q = o->shmat(id, NULL, 0);
		if (rnd(&seed) % 4 == 0) {
			pid_t c = fork();

			if (c == 0) {	/* inherits p and q; detaches one */
				o->shmdt(p);
				_exit(0);
			}
			if (c > 0)
				waitpid(c, NULL, 0);
		}
		if (q && q != (void *)-1 && o->shmdt(q) < 0)
			_exit(3);
		if (o->shmdt(p) < 0)
			_exit(4);
	}
}

static pid_t spawn(const struct ipc_ops *o, int id, unsigned seed)
{
	pid_t p = fork();

	if (p == 0)
		worker(o, id, seed);
	return p;
}

static void scen_crash(const struct ipc_ops *o, struct trace *t)
{
	unsigned seed = 4242;
	int bad = 0, kills = 0, removed_ok = 0;

	for (int round = 0; round < ROUNDS; round++) {
		int id = o->shmget(IPC_PRIVATE, SEGSZ, 0600), rm = round % 2;
		struct shmid_ds ds;
		pid_t w[WORKERS];
		int r;

		for (int i = 0; i < WORKERS; i++)
			w[i] = spawn(o, id, rnd(&seed));
		for (int k = 0; k < KILLS; k++) {
			struct timespec d = { 0, (long)(rnd(&seed) % 2000) * 1000L };
			int i = (int)(rnd(&seed) % WORKERS);

			nanosleep(&d, NULL);
			kill(w[i], SIGKILL);
			waitpid(w[i], NULL, 0);
			kills++;
			if (rm && k == KILLS / 2)
				o->shmctl(id, IPC_RMID, NULL);
			w[i] = spawn(o, id, rnd(&seed));
		}
		for (int i = 0; i < WORKERS; i++) {
			kill(w[i], SIGKILL);
			waitpid(w[i], NULL, 0);
		}
		/* Orphaned grandchildren come to us (subreaper): wait for all. */
		while (waitpid(-1, NULL, 0) > 0)
			;
		r = o->shmctl(id, IPC_STAT, &ds);
		if (rm) {
			if (r < 0 && errno == EINVAL)
				removed_ok++;
			else
				fprintf(stderr, "%s round %d: removed segment still "
					"there, nattch %lu\n", o->name, round,
					r == 0 ? (unsigned long)ds.shm_nattch : 0);
		} else if (r < 0 || ds.shm_nattch != 0) {
			bad++;
			fprintf(stderr, "%s round %d: nattch %lu (%s)\n", o->name,
				round, r == 0 ? (unsigned long)ds.shm_nattch : 0,
				r < 0 ? errname(errno) : "ok");
		}
		if (!rm)
			o->shmctl(id, IPC_RMID, NULL);
	}
	fprintf(stderr, "%s: %d rounds, %d kills\n", o->name, ROUNDS, kills);
	tprintf(t, "rounds whose nattch did not come back to 0: %d", bad);
	tprintf(t, "removed segments gone with their last attacher: %d of %d",
		removed_ok, ROUNDS / 2);
}

int main(void)
{
	harness_init(240);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	run_both("random SIGKILLs among attachers", scen_crash);
	return harness_done();
}
