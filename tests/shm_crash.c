/*
 * shm_crash: workers attach a segment (read-write and read-only, once or
 * twice), write to it, fork children that inherit the attachments and
 * detach or exit, and are killed with SIGKILL at random moments: inside
 * shmat and shmdt, holding the segment's lock, in the middle of fork.  The
 * same rounds run on the kernel and on uipc.  After each round everyone is
 * gone: nattch must be 0, a segment removed during the round must be gone
 * with its last attacher, and the segment's lock must be free (the checks
 * take it).
 *
 * Then creators, each looping over shmget (by key or IPC_PRIVATE), shmat,
 * shmdt and IPC_RMID, are killed at random moments, also holding the
 * namespace lock in the middle of a creation or a removal.  After each
 * round what they left must be unattached and removable, their keys must
 * be free to create anew, and (uipc) no segment or temporary file may be
 * left in the namespace once those are removed.
 */
#include "harness.h"
#include "internal.h"

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
	int bad = 0, kills = 0, removed_ok = 0, counted = 0;

	for (int round = 0; round < ROUNDS; round++) {
		struct shm_info before, after;
		int id, rm = round % 2;
		struct shmid_ds ds;
		pid_t w[WORKERS];
		int r;

		o->shmctl(0, SHM_INFO, (struct shmid_ds *)&before);
		id = o->shmget(IPC_PRIVATE, SEGSZ, 0600);

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
		/* Before anyone looks at the segment: the dead are gone from
		 * it once their exit work is done (uipc: `uipc reap`, or
		 * whoever finds them dead; the kernel: at their death), and a
		 * removed one with them. */
		if (!strcmp(o->name, "uipc")) {
			struct uipc_nsh *h;
			int err = 0;

			h = uipc_ns_get(&err);
			if (h)
				uipc_proc_reap_all(h);
		}
		o->shmctl(0, SHM_INFO, (struct shmid_ds *)&after);
		if (rm && after.used_ids != before.used_ids)
			counted++;
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
	tprintf(t, "removed segments SHM_INFO still counted after the deaths: %d",
		counted);
}

/* ---- creators killed inside shmget and IPC_RMID ------------------------- */

#define CREATORS 3
#define CR_ROUNDS 15
#define CR_SIZE (4 * 4096)

static void creator(const struct ipc_ops *o, key_t key, unsigned seed)
{
	for (;;) {
		int id = o->shmget(rnd(&seed) % 2 ? key : IPC_PRIVATE, CR_SIZE,
				   IPC_CREAT | 0600);
		char *p;

		if (id < 0)
			continue;
		p = o->shmat(id, NULL, 0);
		if (p != (void *)-1) {
			p[rnd(&seed) % CR_SIZE] = 1;
			o->shmdt(p);
		}
		o->shmctl(id, IPC_RMID, NULL);
	}
}

static int ours(pid_t cpid, const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == cpid)
			return 1;
	return 0;
}

/* uipc only: the namespace's segment files, and whether a temporary file
 * was left. */
static int shm_files(int *tmp)
{
	const char *ns = getenv("UIPC_NS");
	char cmd[4300], out[64];
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '^shm\\.[0-9]*$'", ns);
	if (run_capture(out, sizeof(out), cmd) >= 0)
		n = atoi(out);
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '^tmp\\.'", ns);
	*tmp = run_capture(out, sizeof(out), cmd) >= 0 ? atoi(out) : -1;
	return n;
}

static void scen_creators(const struct ipc_ops *o, struct trace *t)
{
	unsigned seed = 99;
	int attached = 0, stuck = 0, remade = 0, left = 0, files_bad = 0;
	pid_t all[CR_ROUNDS * (CREATORS + 8)];
	int nall = 0;
	char cmd[4300];

	for (int round = 0; round < CR_ROUNDS; round++) {
		pid_t w[CREATORS];
		struct shm_info si;
		int max;

		for (int i = 0; i < CREATORS; i++) {
			w[i] = fork();
			if (w[i] == 0)
				creator(o, test_key(40 + i), rnd(&seed));
			all[nall++] = w[i];
		}
		for (int k = 0; k < 8; k++) {
			struct timespec d = { 0, (long)(rnd(&seed) % 3000) * 1000L };
			int i = (int)(rnd(&seed) % CREATORS);

			nanosleep(&d, NULL);
			kill(w[i], SIGKILL);
			waitpid(w[i], NULL, 0);
			w[i] = fork();
			if (w[i] == 0)
				creator(o, test_key(40 + i), rnd(&seed));
			all[nall++] = w[i];
		}
		for (int i = 0; i < CREATORS; i++) {
			kill(w[i], SIGKILL);
			waitpid(w[i], NULL, 0);
		}
		/* What the dead left: each unattached, and removable. */
		max = o->shmctl(0, SHM_INFO, (struct shmid_ds *)&si);
		for (int idx = 0; idx <= max; idx++) {
			struct shmid_ds ds;
			int id = o->shmctl(idx, SHM_STAT_ANY, &ds);

			if (id < 0 || !ours(ds.shm_cpid, all, nall))
				continue;
			attached += ds.shm_nattch != 0;
			if (o->shmctl(id, IPC_RMID, NULL) == 0)
				left++;
			else
				stuck++;
		}
		for (int i = 0; i < CREATORS; i++) {
			int id = o->shmget(test_key(40 + i), CR_SIZE,
					   IPC_CREAT | IPC_EXCL | 0600);

			remade += id >= 0;
			if (id >= 0)
				o->shmctl(id, IPC_RMID, NULL);
			else
				fprintf(stderr, "%s round %d: key %d not made anew: %s\n",
					o->name, round, i, strerror(errno));
		}
		if (!strcmp(o->name, "uipc")) {
			int tmp, n = shm_files(&tmp);

			if (n != 0 || tmp != 0) {
				files_bad++;
				fprintf(stderr, "uipc round %d: %d segment files, "
					"%d temporary files left\n", round, n, tmp);
				snprintf(cmd, sizeof(cmd), "ls -l '%s' >&2",
					 getenv("UIPC_NS"));
				if (system(cmd) < 0)
					perror("ls");
			}
		}
	}
	fprintf(stderr, "%s: %d segments left by the dead, removed\n", o->name, left);
	tprintf(t, "leftovers still attached: %d, not removable: %d", attached, stuck);
	tprintf(t, "keys made anew after each round: %d of %d", remade,
		CR_ROUNDS * CREATORS);
	tprintf(t, "rounds with files left (uipc): %d", files_bad);
}

int main(void)
{
	harness_init(240);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	run_both("random SIGKILLs among attachers", scen_crash);
	run_both("random SIGKILLs among creators and removers", scen_creators);
	return harness_done();
}
