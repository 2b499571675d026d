/*
 * shm_api: shmget, shmat, shmdt and shmctl on the kernel and on uipc, side
 * by side: every error of the man pages, bad pointers, addresses and
 * flags, the shmid_ds fields at every step (nattch across fork, exit,
 * SIGKILL and exec), the fault on a write to a read-only attachment, a
 * removed segment still attached, permissions as nobody (another user's
 * key looked up asking for nothing, read, write), and SHM_HUGETLB's
 * refusals.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <spawn.h>

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define NOBODY 65534
#define PG 4096

/* "ok" for an address, else the errno, so traces compare. */
static void *at(const struct ipc_ops *o, struct trace *t, const char *what,
		int id, const void *addr, int flg)
{
	void *p = o->shmat(id, addr, flg);

	if (p == (void *)-1)
		tcall(t, what, -1);
	else
		tprintf(t, "%s -> ok%s", what,
			addr && p != addr ? " (elsewhere)" : "");
	return p;
}

/* A free, page-aligned range of n pages. */
static char *free_range(size_t n)
{
	char *p = mmap(NULL, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(p, n * PG);
	return p;
}

static void scen_get(const struct ipc_ops *o, struct trace *t)
{
	int id;

	tcall(t, "size 0", o->shmget(IPC_PRIVATE, 0, 0600));
	tcall(t, "size -1", o->shmget(IPC_PRIVATE, (size_t)-1, 0600));
	tcall(t, "size SIZE_MAX/2", o->shmget(IPC_PRIVATE, (size_t)-1 / 2 + 1, 0600));
	tcall(t, "missing key", o->shmget(test_key(1), 100, 0600));
	id = o->shmget(test_key(1), 10000, IPC_CREAT | 0640);
	tprintf(t, "create by key -> %s", id >= 0 ? "id" : errname(errno));
	tcall(t, "same key, IPC_EXCL", o->shmget(test_key(1), 100, IPC_CREAT | IPC_EXCL | 0600));
	tprintf(t, "same key, smaller -> %d", o->shmget(test_key(1), 100, 0) == id);
	tprintf(t, "same key, size 0 -> %d", o->shmget(test_key(1), 0, 0) == id);
	tprintf(t, "same key, same size -> %d", o->shmget(test_key(1), 10000, 0) == id);
	tcall(t, "same key, larger", o->shmget(test_key(1), 10001, 0));
	tcall(t, "same key, larger and IPC_CREAT", o->shmget(test_key(1), 20000, IPC_CREAT));
	trace_shm_stat(o, t, "new by key", id, 0);
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
	tcall(t, "stale id IPC_STAT", o->shmctl(id, IPC_STAT, &(struct shmid_ds){ 0 }));
	tcall(t, "stale id shmat", (long)(intptr_t)o->shmat(id, NULL, 0) == -1 ? -1 : 0);
	tcall(t, "negative id shmat", (long)(intptr_t)o->shmat(-1, NULL, 0) == -1 ? -1 : 0);
	tcall(t, "huge id IPC_STAT", o->shmctl(0x7fffffff, IPC_STAT, &(struct shmid_ds){ 0 }));
}

static void scen_at(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(IPC_PRIVATE, 3 * PG + 100, 0600), st;
	char *p, *q, *r, *base;
	pid_t c;

	p = at(o, t, "attach NULL", id, NULL, 0);
	tprintf(t, "new segment reads zeros -> %d", p[0] == 0 && p[3 * PG + 99] == 0 &&
		p[3 * PG + 100] == 0);
	trace_shm_stat(o, t, "after attach", id, 0);
	q = at(o, t, "attach again", id, NULL, 0);
	p[5] = 42;
	tprintf(t, "the two attachments share bytes -> %d", q[5] == 42);
	trace_shm_stat(o, t, "two attachments", id, 0);

	base = free_range(8);
	r = at(o, t, "unaligned, no SHM_RND", id, base + 100, 0);
	r = at(o, t, "unaligned with SHM_RND", id, base + 100, SHM_RND);
	tprintf(t, "rounded down -> %d", r == base);
	at(o, t, "same place again", id, base, 0);
	at(o, t, "overlapping, no SHM_REMAP", id, base + PG, 0);
	at(o, t, "SHM_REMAP without address", id, NULL, SHM_REMAP);
	at(o, t, "SHM_RND|SHM_REMAP below SHMLBA", id, (void *)100, SHM_RND | SHM_REMAP);
	/* Rounded to 0 and attached there: EPERM below mmap_min_addr
	 * (root, with CAP_SYS_RAWIO, gets page 0), never anywhere else;
	 * also as a new segment's first attach (shmget's own mapping). */
	for (int first = 0; first < 2; first++) {
		int sid = first ? o->shmget(IPC_PRIVATE, PG, 0600) : id;

		r = at(o, t, first ? "SHM_RND below SHMLBA, first attach" :
		       "SHM_RND below SHMLBA", sid, (void *)100, SHM_RND);
		if (r != (void *)-1) {
			tprintf(t, "at page 0 -> %d", r == NULL);
			o->shmdt(r);
		}
		if (first)
			o->shmctl(sid, IPC_RMID, NULL);
	}
	trace_shm_stat(o, t, "three attachments", id, 0);
	r = at(o, t, "SHM_REMAP over it", id, base, SHM_REMAP);
	tprintf(t, "same place -> %d", r == base);
	trace_shm_stat(o, t, "remapped (kernel: the old one went)", id, 0);
	tcall(t, "shmdt unaligned", o->shmdt(base + 1));
	tcall(t, "shmdt not attached", o->shmdt(base + 5 * PG));
	tcall(t, "shmdt inside", o->shmdt(base + PG));
	tcall(t, "shmdt remapped", o->shmdt(base));
	tcall(t, "shmdt again", o->shmdt(base));
	tcall(t, "shmdt NULL", o->shmdt(NULL));

	/* Read-only: reading works, writing faults. */
	r = at(o, t, "SHM_RDONLY", id, NULL, SHM_RDONLY);
	tprintf(t, "read through it -> %d", r[5]);
	fflush(NULL);
	c = fork();
	if (c == 0) {
		r[5] = 1;
		_exit(0);
	}
	waitpid(c, &st, 0);
	tprintf(t, "write through SHM_RDONLY -> %s",
		WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "no fault");
	tcall(t, "shmdt read-only", o->shmdt(r));
	r = at(o, t, "SHM_EXEC", id, NULL, SHM_EXEC);
	if (r != (void *)-1)
		tcall(t, "shmdt exec", o->shmdt(r));
	tcall(t, "shmdt first", o->shmdt(p));
	tcall(t, "shmdt second", o->shmdt(q));
	trace_shm_stat(o, t, "all detached", id, 0);
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
}

/* nattch follows fork, exit, SIGKILL and exec as the kernel's does. */
/* Children made without fork: vfork and posix_spawn share the parent's
 * memory until they exec, and no atfork handler runs; the kernel counts no
 * attachment for them (no mapping is copied), before their exec or after. */
static void scen_spawn(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(IPC_PRIVATE, PG, 0600), st, fds[2];
	char *argv[] = { "sh", "-c", "read x", NULL };
	posix_spawn_file_actions_t fa;
	char *p;
	pid_t c;

	p = o->shmat(id, NULL, 0);
	trace_shm_stat(o, t, "attached", id, 0);
	fflush(NULL);
	c = vfork();
	if (c == 0)
		_exit(3);
	waitpid(c, &st, 0);
	tprintf(t, "vfork child exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	trace_shm_stat(o, t, "after a vfork child", id, 0);
	if (pipe(fds) < 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	tprintf(t, "posix_spawn -> %d", posix_spawn(&c, "/bin/sh", &fa, NULL, argv,
						     environ));
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	usleep(100000);
	trace_shm_stat(o, t, "while a spawned child runs", id, 0);
	write(fds[1], "\n", 1);
	close(fds[1]);
	waitpid(c, &st, 0);
	tprintf(t, "spawned child exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	trace_shm_stat(o, t, "after it", id, 0);
	o->shmdt(p);
	trace_shm_stat(o, t, "detached", id, 0);
	o->shmctl(id, IPC_RMID, NULL);
}

static void scen_nattch(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(IPC_PRIVATE, PG, 0600), fds[2], st;
	char *p, *q, c1;
	pid_t c;

	p = o->shmat(id, NULL, 0);
	q = o->shmat(id, NULL, SHM_RDONLY);
	trace_shm_stat(o, t, "parent attached twice", id, 0);

	/* fork: the child's two count at once; exit drops them. */
	if (pipe(fds) < 0)
		return;
	fflush(NULL);
	c = fork();
	if (c == 0) {
		close(fds[1]);
		p[0] = 7;
		read(fds[0], &c1, 1);
		_exit(q[0] == 7 ? 0 : 1);
	}
	harness_child = c;
	close(fds[0]);
	trace_shm_stat(o, t, "after fork", id, c);
	write(fds[1], "x", 1);
	close(fds[1]);
	waitpid(c, &st, 0);
	tprintf(t, "child wrote, saw its write through the read-only one -> %d",
		WIFEXITED(st) && WEXITSTATUS(st) == 0);
	trace_shm_stat(o, t, "child exited", id, c);

	/* SIGKILL, and a child that detached one before. */
	if (pipe(fds) < 0)
		return;
	fflush(NULL);
	c = fork();
	if (c == 0) {
		close(fds[0]);
		o->shmdt(q);
		write(fds[1], "x", 1);
		pause();
		_exit(0);
	}
	harness_child = c;
	close(fds[1]);
	read(fds[0], &c1, 1);
	close(fds[0]);
	trace_shm_stat(o, t, "child detached one", id, c);
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	trace_shm_stat(o, t, "child killed", id, c);

	/* exec detaches, though the process lives on. */
	if (pipe(fds) < 0)
		return;
	fflush(NULL);
	c = fork();
	if (c == 0) {
		close(fds[1]);
		dup2(fds[0], 0);
		execl("/bin/sh", "sh", "-c", "read x", (char *)NULL);
		_exit(127);
	}
	harness_child = c;
	close(fds[0]);
	for (int i = 0; i < 2000; i++) {	/* until it is sh */
		char path[64], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)c);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = 0;
			fclose(f);
		}
		if (!strcmp(comm, "sh\n"))
			break;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	trace_shm_stat(o, t, "child exec'ed, still running", id, c);
	write(fds[1], "\n", 1);
	close(fds[1]);
	waitpid(c, &st, 0);

	tcall(t, "shmdt", o->shmdt(p));
	tcall(t, "shmdt", o->shmdt(q));
	trace_shm_stat(o, t, "parent detached", id, c);
	harness_child = 0;
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
}

/* IPC_RMID with attachments: SHM_DEST, the key private, still attachable
 * by id, gone with the last detach. */
static void scen_rmid(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(test_key(2), PG, IPC_CREAT | 0600), id2;
	char *p, *q;

	p = o->shmat(id, NULL, 0);
	tcall(t, "rm while attached", o->shmctl(id, IPC_RMID, NULL));
	trace_shm_stat(o, t, "marked", id, 0);
	tcall(t, "key lookup", o->shmget(test_key(2), PG, 0600));
	id2 = o->shmget(test_key(2), PG, IPC_CREAT | 0600);
	tprintf(t, "key makes a new one -> %d", id2 >= 0 && id2 != id);
	q = at(o, t, "attach the removed one by id", id, NULL, 0);
	trace_shm_stat(o, t, "attached twice", id, 0);
	tcall(t, "rm again", o->shmctl(id, IPC_RMID, NULL));
	tcall(t, "shmdt", o->shmdt(p));
	trace_shm_stat(o, t, "one left", id, 0);
	tcall(t, "shmdt last", o->shmdt(q));
	tcall(t, "gone", o->shmctl(id, IPC_STAT, &(struct shmid_ds){ 0 }));
	tcall(t, "shmat gone", o->shmat(id, NULL, 0) == (void *)-1 ? -1 : 0);
	tcall(t, "rm new", o->shmctl(id2, IPC_RMID, NULL));
}

/*
 * The creator's first shmat (uipc maps the descriptor shmget kept): after
 * another process removed the segment,
 * after IPC_SET took the creator's permission away, in a forked child
 * that inherited the kept descriptor, and after a second shmget.
 */
static void first_denied(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(IPC_PRIVATE, PG, 0600);
	struct shmid_ds ds;

	o->shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0400;
	tcall(t, "IPC_SET 0400", o->shmctl(id, IPC_SET, &ds));
	tcall(t, "read-write first shmat", o->shmat(id, NULL, 0) == (void *)-1 ? -1 : 0);
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
}

/* SHM_INFO's shm_rss and shm_tot as a segment's pages are touched: the
 * change from before it was made (the kernel's count is its IPC
 * namespace's: the test's own, as root). */
static void rss_delta(const struct ipc_ops *o, struct trace *t, const char *what,
		      const struct shm_info *before)
{
	struct shm_info inf;

	memset(&inf, 0, sizeof(inf));
	if (o->shmctl(0, SHM_INFO, (struct shmid_ds *)&inf) < 0) {
		tprintf(t, "%s: SHM_INFO -1 %s", what, errname(errno));
		return;
	}
	tprintf(t, "%s: shm_rss %+ld pages, shm_tot %+ld pages", what,
		(long)(inf.shm_rss - before->shm_rss),
		(long)(inf.shm_tot - before->shm_tot));
}

static void scen_rss(const struct ipc_ops *o, struct trace *t)
{
	const long pg = sysconf(_SC_PAGESIZE);
	struct shm_info before;
	char *p;
	int id;

	memset(&before, 0, sizeof(before));
	tcall(t, "SHM_INFO", o->shmctl(0, SHM_INFO, (struct shmid_ds *)&before) < 0 ? -1 : 0);
	id = (int)tcall(t, "shmget 64 pages", o->shmget(IPC_PRIVATE, (size_t)(64 * pg), 0600));
	if (id < 0)
		return;
	rss_delta(o, t, "made", &before);
	p = o->shmat(id, NULL, 0);
	if (p == (void *)-1) {
		tprintf(t, "shmat: %s", errname(errno));
		o->shmctl(id, IPC_RMID, NULL);
		return;
	}
	for (long i = 0; i < 10; i++)
		p[i * pg] = 1;
	rss_delta(o, t, "ten pages touched", &before);
	memset(p, 2, (size_t)(64 * pg));
	rss_delta(o, t, "all touched", &before);
	tcall(t, "shmdt", o->shmdt(p));
	rss_delta(o, t, "detached", &before);
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
	rss_delta(o, t, "removed", &before);
}

static void scen_first(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(IPC_PRIVATE, PG, 0600), id2, st;
	char *p, *q;
	pid_t c;

	c = fork();
	if (c == 0)
		_exit(o->shmctl(id, IPC_RMID, NULL) < 0);
	waitpid(c, &st, 0);
	tprintf(t, "removed by a child: %d", WIFEXITED(st) && !WEXITSTATUS(st));
	tcall(t, "creator's first shmat", o->shmat(id, NULL, 0) == (void *)-1 ? -1 : 0);

	if (getuid() == 0)
		as_user(NOBODY, NOBODY, o, t, first_denied);

	id = o->shmget(IPC_PRIVATE, 3 * PG, 0600);
	c = fork();
	if (c == 0) {
		char *cp = o->shmat(id, NULL, 0);

		if (cp == (void *)-1)
			_exit(1);
		strcpy(cp + 2 * PG, "from the child");
		_exit(0);
	}
	waitpid(c, &st, 0);
	tprintf(t, "child attached and wrote: %d", WIFEXITED(st) && !WEXITSTATUS(st));
	id2 = o->shmget(IPC_PRIVATE, PG, 0600);
	p = at(o, t, "parent's first shmat, after another shmget", id, NULL, 0);
	if (p != (void *)-1)
		tprintf(t, "reads \"%s\"", p + 2 * PG);
	q = at(o, t, "the other one", id2, NULL, 0);
	trace_shm_stat(o, t, "first", id, 0);
	trace_shm_stat(o, t, "other", id2, 0);
	if (p != (void *)-1)
		tcall(t, "shmdt", o->shmdt(p));
	if (q != (void *)-1)
		tcall(t, "shmdt other", o->shmdt(q));
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
	tcall(t, "rm other", o->shmctl(id2, IPC_RMID, NULL));
}

static void scen_ctl(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(IPC_PRIVATE, 5000, 0600), r;
	struct shminfo si;
	struct shm_info inf;
	struct shmid_ds ds;

	tcall(t, "IPC_STAT NULL", o->shmctl(id, IPC_STAT, NULL));
	tcall(t, "IPC_STAT bad pointer", o->shmctl(id, IPC_STAT, (void *)8));
	tcall(t, "IPC_SET bad pointer", o->shmctl(id, IPC_SET, (void *)8));
	tcall(t, "bad cmd", o->shmctl(id, 12345, &ds));
	tcall(t, "negative cmd", o->shmctl(id, -1, &ds));
	tcall(t, "negative id", o->shmctl(-1, IPC_STAT, &ds));
	o->shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0640;
	ds.shm_perm.uid = 1234;
	tcall(t, "IPC_SET", o->shmctl(id, IPC_SET, &ds));
	trace_shm_stat(o, t, "after IPC_SET", id, 0);
	ds.shm_perm.uid = (uid_t)-1;
	tcall(t, "IPC_SET uid -1", o->shmctl(id, IPC_SET, &ds));
	tcall(t, "SHM_LOCK", o->shmctl(id, SHM_LOCK, NULL));
	trace_shm_stat(o, t, "locked", id, 0);
	ds.shm_perm.uid = 1234;
	tcall(t, "IPC_SET locked", o->shmctl(id, IPC_SET, &ds));
	trace_shm_stat(o, t, "still locked after IPC_SET", id, 0);
	tcall(t, "SHM_UNLOCK", o->shmctl(id, SHM_UNLOCK, NULL));
	trace_shm_stat(o, t, "unlocked", id, 0);
	r = o->shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	tprintf(t, "IPC_INFO -> %s shmmin=%lu shmmni=%lu shmseg=%lu", r >= 0 ? "ok" : "-1",
		si.shmmin, si.shmmni, si.shmseg);
	tcall(t, "IPC_INFO bad pointer", o->shmctl(0, IPC_INFO, (void *)8));
	r = o->shmctl(0, SHM_INFO, (struct shmid_ds *)&inf);
	tprintf(t, "SHM_INFO -> %s used_ids>=1 %d", r >= 0 ? "ok" : "-1",
		inf.used_ids >= 1);
	tprintf(t, "SHM_STAT by index -> %d", o->shmctl(id % 32768, SHM_STAT, &ds) == id);
	tprintf(t, "SHM_STAT_ANY by index -> %d",
		o->shmctl(id % 32768, SHM_STAT_ANY, &ds) == id);
	tcall(t, "SHM_STAT by id", o->shmctl(id | 0x40000000, SHM_STAT, &ds));
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
	tcall(t, "rm again", o->shmctl(id, IPC_RMID, NULL));
	tcall(t, "SHM_LOCK removed", o->shmctl(id, SHM_LOCK, NULL));
}

/* SHM_HUGETLB with each page size: the refusals (EINVAL for a size the
 * kernel lacks, EPERM without CAP_IPC_LOCK, ENOMEM without free huge
 * pages) and, where it succeeds, the segment and an attachment (not
 * touched: the kernel's may have no page behind it). */
static void huge_part(const struct ipc_ops *o, struct trace *t)
{
	static const int logs[] = { 0, 21, 30, 5, 12, 16, 63 };
	char what[64];

	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		for (int nr = 0; nr < 2; nr++) {
			int flg = IPC_CREAT | 0600 | SHM_HUGETLB | (int)((unsigned)logs[i] << 26) |
				  (nr ? SHM_NORESERVE : 0), id;
			void *p;

			snprintf(what, sizeof(what), "SHM_HUGETLB log %d%s", logs[i],
				 nr ? " SHM_NORESERVE" : "");
			id = o->shmget(IPC_PRIVATE, 3 * PG, flg);
			tcall(t, what, id < 0 ? -1 : 0);
			if (id < 0)
				continue;
			trace_shm_stat(o, t, what, id, 0);
			p = at(o, t, what, id, NULL, 0);
			if (p != (void *)-1)
				tcall(t, "shmdt", o->shmdt(p));
			tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
		}
	}
}

static void scen_huge(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(test_key(2), PG, IPC_CREAT | 0600);

	huge_part(o, t);
	tprintf(t, "existing key, SHM_HUGETLB log 5 -> %d",
		o->shmget(test_key(2), PG, IPC_CREAT | SHM_HUGETLB | 5 << 26) == id);
	as_user(NOBODY, NOBODY, o, t, huge_part);
	tcall(t, "rm", o->shmctl(id, IPC_RMID, NULL));
}

static int perm_id[4];

static void nobody_part(const struct ipc_ops *o, struct trace *t)
{
	static const char *const name[4] = { "0600", "0644", "0622", "0666" };
	/* uipc cannot open a file its mode shuts us out of: those objects
	 * answer EACCES before anything (docs/uipc.md, known differences). */
	struct shmid_ds ds;
	char what[64];

	for (int i = 0; i < 4; i++) {
		int id = perm_id[i], opens = i != 0 && i != 2;
		void *p;

		snprintf(what, sizeof(what), "%s shmget by key", name[i]);
		tcall(t, what, o->shmget(test_key(10 + i), 0, 0600) == id ? 0 : -1);
		/* Another user's key, as the kernel's ipcperms() judges it:
		 * asking nothing finds it, asking what the mode does not
		 * grant is EACCES (uipc: the segment's file says so). */
		snprintf(what, sizeof(what), "%s shmget by key, asking nothing", name[i]);
		tcall(t, what, o->shmget(test_key(10 + i), 0, 0) == id ? 0 : -1);
		snprintf(what, sizeof(what), "%s shmget by key, asking read", name[i]);
		tcall(t, what, o->shmget(test_key(10 + i), 0, 0444) == id ? 0 : -1);
		snprintf(what, sizeof(what), "%s shmget by key, asking write", name[i]);
		tcall(t, what, o->shmget(test_key(10 + i), PG, 0222) == id ? 0 : -1);
		snprintf(what, sizeof(what), "%s shmat", name[i]);
		p = at(o, t, what, id, NULL, 0);
		if (p != (void *)-1)
			o->shmdt(p);
		snprintf(what, sizeof(what), "%s shmat read-only", name[i]);
		p = at(o, t, what, id, NULL, SHM_RDONLY);
		if (p != (void *)-1)
			o->shmdt(p);
		snprintf(what, sizeof(what), "%s shmat exec", name[i]);
		p = at(o, t, what, id, NULL, SHM_EXEC | SHM_RDONLY);
		if (p != (void *)-1)
			o->shmdt(p);
		snprintf(what, sizeof(what), "%s IPC_STAT", name[i]);
		tcall(t, what, o->shmctl(id, IPC_STAT, &ds));
		if (!opens)
			continue;
		snprintf(what, sizeof(what), "%s SHM_STAT_ANY", name[i]);
		tprintf(t, "%s -> %d", what, o->shmctl(id % 32768, SHM_STAT_ANY, &ds) == id);
		snprintf(what, sizeof(what), "%s IPC_SET", name[i]);
		tcall(t, what, o->shmctl(id, IPC_SET, &ds));
		snprintf(what, sizeof(what), "%s SHM_LOCK", name[i]);
		tcall(t, what, o->shmctl(id, SHM_LOCK, NULL));
		snprintf(what, sizeof(what), "%s IPC_RMID", name[i]);
		tcall(t, what, o->shmctl(id, IPC_RMID, NULL));
	}
	perm_id[0] = o->shmget(IPC_PRIVATE, PG, 0600);
	tprintf(t, "nobody creates -> %d", perm_id[0] >= 0);
	tcall(t, "nobody's own SHM_UNLOCK", o->shmctl(perm_id[0], SHM_UNLOCK, NULL));
	tcall(t, "nobody removes own", o->shmctl(perm_id[0], IPC_RMID, NULL));
}

static void scen_perm(const struct ipc_ops *o, struct trace *t)
{
	static const int mode[4] = { 0600, 0644, 0622, 0666 };

	for (int i = 0; i < 4; i++)
		perm_id[i] = o->shmget(test_key(10 + i), PG, IPC_CREAT | mode[i]);
	as_user(NOBODY, NOBODY, o, t, nobody_part);
	for (int i = 0; i < 4; i++)
		tcall(t, "root removes", o->shmctl(perm_id[i], IPC_RMID, NULL));
}

/* ---- the creator's rights, the new owner's, and nobody else's --------- */

#define NEW_OWNER 1	/* daemon: given the segment by its creator */
#define STRANGER 2	/* bin: neither owner nor creator */

static pid_t creator_pid;	/* named "child" in the others' traces */

static void creator_gives(const struct ipc_ops *o, struct trace *t)
{
	struct shmid_ds ds;
	int id = o->shmget(test_key(20), PG, IPC_CREAT | IPC_EXCL | 0600);

	tprintf(t, "creator: 0600 segment -> %s", id >= 0 ? "ok" : errname(errno));
	o->shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.uid = NEW_OWNER;
	tcall(t, "creator: give to uid 1", o->shmctl(id, IPC_SET, &ds));
	trace_shm_stat(o, t, "creator, no longer owner", id, 0);
	tcall(t, "creator: SHM_LOCK", o->shmctl(id, SHM_LOCK, NULL));
	tcall(t, "creator: SHM_UNLOCK", o->shmctl(id, SHM_UNLOCK, NULL));
	ds.shm_perm.mode = 0640;
	tcall(t, "creator: IPC_SET again", o->shmctl(id, IPC_SET, &ds));
	ds.shm_perm.uid = (uid_t)-1;
	tcall(t, "creator: IPC_SET uid -1", o->shmctl(id, IPC_SET, &ds));
	trace_shm_stat(o, t, "after the creator's IPC_SET", id, 0);
	tcall(t, "creator: IPC_RMID", o->shmctl(id, IPC_RMID, NULL));
	tcall(t, "creator: removed", o->shmctl(id, IPC_STAT, &ds));

	id = o->shmget(test_key(21), PG, IPC_CREAT | IPC_EXCL | 0644);
	o->shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.uid = NEW_OWNER;
	tcall(t, "creator: give 0644 to uid 1", o->shmctl(id, IPC_SET, &ds));
}

static void stranger_tries(const struct ipc_ops *o, struct trace *t)
{
	struct shmid_ds ds;
	int id = o->shmget(test_key(21), 0, 0);

	trace_shm_stat(o, t, "stranger", id, creator_pid);
	o->shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0666;
	tcall(t, "stranger: IPC_SET", o->shmctl(id, IPC_SET, &ds));
	tcall(t, "stranger: IPC_SET NULL", o->shmctl(id, IPC_SET, NULL));
	tcall(t, "stranger: SHM_LOCK", o->shmctl(id, SHM_LOCK, NULL));
	tcall(t, "stranger: IPC_RMID", o->shmctl(id, IPC_RMID, NULL));
}

static void new_owner_acts(const struct ipc_ops *o, struct trace *t)
{
	struct shmid_ds ds;
	int id = o->shmget(test_key(21), 0, 0);

	o->shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0604;
	tcall(t, "new owner: IPC_SET", o->shmctl(id, IPC_SET, &ds));
	trace_shm_stat(o, t, "new owner", id, creator_pid);
	tcall(t, "new owner: IPC_RMID", o->shmctl(id, IPC_RMID, NULL));
}

static void scen_creator(const struct ipc_ops *o, struct trace *t)
{
	as_user(NOBODY, NOBODY, o, t, creator_gives);
	creator_pid = harness_child;
	as_user(STRANGER, STRANGER, o, t, stranger_tries);
	as_user(NEW_OWNER, NEW_OWNER, o, t, new_owner_acts);
	tcall(t, "root: key gone", o->shmget(test_key(20), 0, 0) >= 0 ? 0 : -1);
	/* Not compared: after the new owner's IPC_RMID the creator's files
	 * stay in the sticky directory, and uipc's key lookup says EIO. */
	o->shmctl(o->shmget(test_key(21), 0, 0), IPC_RMID, NULL);
}

/* ---- a forged owner ---------------------------------------------------
 *
 * Every user a segment lets in can write its header, owner fields
 * included, so IPC_SET and IPC_RMID also ask whether the caller's class
 * may write the segment's file, which the kernel keeps.  Here root (the
 * stand-in for any user with access) makes the header of its 0600 segment
 * name a stranger as owner and creator: the stranger must still get what
 * the kernel gives it, EPERM, since it cannot write the file.
 */
static int forged_id;

static void forged_stranger(const struct ipc_ops *o, struct trace *t)
{
	struct shmid_ds ds;

	memset(&ds, 0, sizeof(ds));
	ds.shm_perm.uid = STRANGER;
	ds.shm_perm.gid = STRANGER;
	ds.shm_perm.mode = 0666;
	tcall(t, "stranger named owner: IPC_SET", o->shmctl(forged_id, IPC_SET, &ds));
	tcall(t, "stranger named owner: SHM_LOCK", o->shmctl(forged_id, SHM_LOCK, NULL));
	tcall(t, "stranger named owner: IPC_RMID", o->shmctl(forged_id, IPC_RMID, NULL));
}

static void scen_forged_owner(const struct ipc_ops *o, struct trace *t)
{
	struct shmid_ds ds;

	forged_id = o->shmget(IPC_PRIVATE, PG, IPC_CREAT | 0600);
	tprintf(t, "root: 0600 segment -> %s", forged_id >= 0 ? "ok" : errname(errno));
	if (o == &uipc_ops && forged_id >= 0) {
		uint32_t owner[4] = { STRANGER, STRANGER, STRANGER, STRANGER };
		char path[4200];
		int fd;

		_Static_assert(offsetof(struct uipc_obj, cgid) ==
			       offsetof(struct uipc_obj, uid) + 12, "owner fields");
		snprintf(path, sizeof(path), "%s/shm.%d", harness_ns_dir(), forged_id);
		fd = open(path, O_WRONLY);
		CHECK(fd >= 0 && pwrite(fd, owner, sizeof(owner),
					(off_t)offsetof(struct uipc_obj, uid)) ==
		      (ssize_t)sizeof(owner), "cannot forge segment %d's owner",
		      forged_id);
		if (fd >= 0)
			close(fd);
	}
	as_user(STRANGER, STRANGER, o, t, forged_stranger);
	tcall(t, "root: still there", o->shmctl(forged_id, IPC_STAT, &ds));
	tcall(t, "root: IPC_RMID", o->shmctl(forged_id, IPC_RMID, NULL));
}

/*
 * The same through a user namespace: there every owner not mapped into it
 * shows as the overflow uid, which is also the uid of a process of the
 * namespace that mapped none.  A stranger that mapped a segment's file
 * while it was open to all, then was shut out (IPC_SET to 0600), enters
 * such a namespace and makes the header it still maps name the overflow
 * uid: its IPC_RMID must get EPERM, as on the kernel.
 */
#define CREATOR 2	/* bin */
#define UNS_STRANGER 3	/* sys */

struct uns_result {
	int ready, done;	/* the stranger's steps, seen by root */
	int unshared, rmid, rmid_errno, forged;
};

static void uns_stranger(const struct ipc_ops *o, int id, struct uns_result *res,
			 int go_fd)
{
	char path[4200], c;
	void *hdr = MAP_FAILED;
	int fd = -1;

	if (setresgid(UNS_STRANGER, UNS_STRANGER, UNS_STRANGER) < 0 ||
	    setresuid(UNS_STRANGER, UNS_STRANGER, UNS_STRANGER) < 0)
		_exit(1);
	if (o == &uipc_ops) {
		snprintf(path, sizeof(path), "%s/shm.%d", harness_ns_dir(), id);
		fd = open(path, O_RDWR);
		if (fd >= 0)
			hdr = mmap(NULL, sizeof(struct uipc_obj), PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
	}
	res->ready = 1;
	if (read(go_fd, &c, 1) != 1)
		_exit(1);
	res->unshared = unshare(CLONE_NEWUSER) == 0;
	if (hdr != MAP_FAILED) {
		struct uipc_obj *ob = hdr;

		ob->uid = ob->cuid = (uint32_t)geteuid();	/* the overflow uid */
		res->forged = 1;
	}
	res->rmid = o->shmctl(id, IPC_RMID, NULL);
	res->rmid_errno = errno;
	res->done = 1;
	_exit(0);
}

static void scen_uns_owner(const struct ipc_ops *o, struct trace *t)
{
	struct uns_result *res = harness_shared(sizeof(*res));
	struct shmid_ds ds;
	int go[2], id, st;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	id = o->shmget(IPC_PRIVATE, PG, IPC_CREAT | 0666);
	tprintf(t, "root: 0666 segment -> %s", id >= 0 ? "ok" : errname(errno));
	if (id < 0 || pipe(go) < 0)
		return;
	o->shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.uid = CREATOR;
	ds.shm_perm.gid = CREATOR;
	tcall(t, "root: give it to uid 2", o->shmctl(id, IPC_SET, &ds));
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		uns_stranger(o, id, res, go[0]);
	}
	close(go[0]);
	for (int i = 0; i < 5000 && !res->ready; i++)
		usleep(1000);
	ds.shm_perm.mode = 0600;
	tcall(t, "root: shut the stranger out (0600)", o->shmctl(id, IPC_SET, &ds));
	if (write(go[1], "g", 1) != 1)
		tprintf(t, "cannot let the stranger go");
	close(go[1]);
	waitpid(pid, &st, 0);
	if (!res->unshared) {
		/* Not allowed here: both sides say the same. */
		tprintf(t, "stranger: no user namespace of its own");
	} else {
		CHECK(o != &uipc_ops || res->forged,
		      "the stranger could not map segment %d's header", id);
		tprintf(t, "stranger in a user namespace: IPC_RMID -> %s",
			res->rmid == 0 ? "ok" : errname(res->rmid_errno));
	}
	tcall(t, "root: still there", o->shmctl(id, IPC_STAT, &ds));
	o->shmctl(id, IPC_RMID, NULL);
}

/* ---- the order of shmat's errors ------------------------------------- */

static int order_id[4];	/* 0600 (no access), 0644, 0644 removed but attached, gone */

static void order_side(const struct ipc_ops *o, struct trace *t)
{
	static const char *const name[3] = { "0600", "0644", "0644 removed" };
	char *base = free_range(4), *wrap = (char *)(uintptr_t)-PG;
	struct shmid_ds ds;
	char what[80];
	void *p;

#define AT(addr, flg) do {                                              \
		p = at(o, t, what, id, (addr), (flg));                  \
		if (p != (void *)-1)                                    \
			o->shmdt(p);                                    \
	} while (0)
	for (int i = 0; i < 3; i++) {
		int id = order_id[i];
		const char *n = name[i];

		/* The address is judged first, then the permission, then
		 * whether the range is free. */
		snprintf(what, sizeof(what), "%s: unaligned", n);
		AT(base + 100, 0);
		snprintf(what, sizeof(what), "%s: unaligned read-only", n);
		AT(base + 100, SHM_RDONLY);
		snprintf(what, sizeof(what), "%s: unaligned read-only exec", n);
		AT(base + 100, SHM_RDONLY | SHM_EXEC);
		snprintf(what, sizeof(what), "%s: SHM_REMAP, no address", n);
		AT(NULL, SHM_REMAP | SHM_RDONLY);
		snprintf(what, sizeof(what), "%s: SHM_RND|SHM_REMAP below SHMLBA", n);
		AT((void *)100, SHM_RND | SHM_REMAP | SHM_RDONLY);
		snprintf(what, sizeof(what), "%s: aligned", n);
		AT(base, 0);
		snprintf(what, sizeof(what), "%s: unaligned, SHM_RND", n);
		AT(base + 100, SHM_RND);
		snprintf(what, sizeof(what), "%s: read-only exec", n);
		AT(base, SHM_RDONLY | SHM_EXEC);
		snprintf(what, sizeof(what), "%s: read-only, wraps", n);
		AT(wrap, SHM_RDONLY);
		snprintf(what, sizeof(what), "%s: wraps", n);
		AT(wrap, 0);
		mmap(base, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		snprintf(what, sizeof(what), "%s: over a mapping", n);
		AT(base, 0);
		snprintf(what, sizeof(what), "%s: read-only over a mapping", n);
		AT(base, SHM_RDONLY);
		snprintf(what, sizeof(what), "%s: read-only, unaligned SHM_RND", n);
		AT(base + 100, SHM_RND | SHM_RDONLY);
		munmap(base, PG);
		snprintf(what, sizeof(what), "%s: read-only", n);
		AT(base, SHM_RDONLY);
		if (i == 0)
			continue;	/* no access: docs/uipc.md */
		snprintf(what, sizeof(what), "%s: IPC_STAT NULL", n);
		tcall(t, what, o->shmctl(id, IPC_STAT, NULL));
		snprintf(what, sizeof(what), "%s: IPC_SET NULL", n);
		tcall(t, what, o->shmctl(id, IPC_SET, NULL));
		o->shmctl(id, IPC_STAT, &ds);
		ds.shm_perm.uid = (uid_t)-1;
		snprintf(what, sizeof(what), "%s: IPC_SET uid -1", n);
		tcall(t, what, o->shmctl(id, IPC_SET, &ds));
	}
	{
		int id = order_id[3];

		snprintf(what, sizeof(what), "gone: unaligned");
		AT(base + 100, 0);
		snprintf(what, sizeof(what), "gone: read-only");
		AT(base, SHM_RDONLY);
		snprintf(what, sizeof(what), "gone: IPC_SET NULL");
		tcall(t, what, o->shmctl(id, IPC_SET, NULL));
	}
#undef AT
}

static void scen_order(const struct ipc_ops *o, struct trace *t)
{
	static const int mode[3] = { 0600, 0644, 0644 };
	char *p;

	for (int i = 0; i < 3; i++)
		order_id[i] = o->shmget(test_key(30 + i), PG, IPC_CREAT | mode[i]);
	p = o->shmat(order_id[2], NULL, 0);
	tcall(t, "root: remove the attached one", o->shmctl(order_id[2], IPC_RMID, NULL));
	order_id[3] = o->shmget(IPC_PRIVATE, PG, 0666);
	o->shmctl(order_id[3], IPC_RMID, NULL);
	as_user(NOBODY, NOBODY, o, t, order_side);
	for (int i = 0; i < 3; i++)
		trace_shm_stat(o, t, "after nobody", order_id[i], harness_child);
	if (p != (void *)-1)
		o->shmdt(p);
	for (int i = 0; i < 2; i++)
		o->shmctl(order_id[i], IPC_RMID, NULL);
}

/* Kernel segments the unprivileged children made by key. */
static void remove_keyed(void)
{
	for (int k = 20; k <= 21; k++)
		shmctl(shmget(test_key(k), 0, 0), IPC_RMID, NULL);
}

/* Shmem of /proc/meminfo, KiB (-1 if unreadable). */
static long shmem_kib(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Shmem: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * A removed segment's memory is freed at once, also while another
 * process that looked at it (IPC_STAT: uipc keeps the header mapped in
 * its cache) is still there: 64 MiB touched, then removed unattached, and
 * the system's Shmem must fall by most of it.
 */
#define BIGSEG (64L << 20)

static void scen_freed(const struct ipc_ops *o, struct trace *t)
{
	int id = o->shmget(IPC_PRIVATE, BIGSEG, 0600), go[2], st;
	struct shmid_ds ds;
	long before, after;
	char c = 0, *p;
	pid_t kid;

	p = id < 0 ? (char *)-1 : o->shmat(id, NULL, 0);
	if (p == (char *)-1 || pipe(go) < 0) {
		tprintf(t, "setup: %s", errname(errno));
		if (id >= 0)
			o->shmctl(id, IPC_RMID, NULL);
		return;
	}
	memset(p, 1, BIGSEG);
	tcall(t, "shmdt", o->shmdt(p));
	kid = fork();
	if (kid == 0) {
		close(go[1]);
		o->shmctl(id, IPC_STAT, &ds);	/* now in its cache */
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	usleep(100000);
	before = shmem_kib();
	tcall(t, "rm, a process that looked at it still there",
	      o->shmctl(id, IPC_RMID, NULL));
	after = shmem_kib();
	tprintf(t, "Shmem fell by most of the segment: %d",
		before >= 0 && before - after > BIGSEG / 1024 * 3 / 4);
	write(go[1], &c, 1);
	close(go[1]);
	waitpid(kid, &st, 0);
}

int main(void)
{
	harness_init(60);
	run_both("shmget", scen_get);
	run_both("shmat and shmdt", scen_at);
	run_both("nattch across fork, exit, SIGKILL and exec", scen_nattch);
	run_both("nattch across vfork and posix_spawn", scen_spawn);
	run_both("IPC_RMID while attached", scen_rmid);
	run_both("a creator's first shmat", scen_first);
	run_both("shmctl", scen_ctl);
	if (harness_private_ipc)
		run_both("SHM_INFO's resident pages as a segment is touched",
			 scen_rss);
	else
		printf("skip SHM_INFO's resident pages: the kernel's count is "
		       "the host's (no IPC namespace of the test's own)\n");
	run_both("permissions as nobody", scen_perm);
	harness_on_cleanup(remove_keyed);
	run_both("IPC_SET, IPC_RMID and SHM_LOCK by creator, owner, stranger", scen_creator);
	run_both("a stranger named owner by a forged header gets EPERM", scen_forged_owner);
	run_both("a stranger in a user namespace, a header naming the overflow uid: EPERM",
		 scen_uns_owner);
	run_both("the order of shmat's errors, as nobody", scen_order);
	run_both("SHM_HUGETLB, as root and as nobody", scen_huge);
	run_both("a removed segment's memory is freed, also while another process looked at it",
		 scen_freed);
	return harness_done();
}
