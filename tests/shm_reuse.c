/*
 * shm_reuse: a new segment takes the index of an old one (and, in a
 * process that used the old one, a cache entry and map descriptor it
 * had).  Nothing of the old one may show through.
 *  - Stale ids after the index is reused, in the process that removed the
 *    segment and in one that had it attached (and its header cached),
 *    against the kernel; uipc's shmmni is made 2 so that the index comes
 *    round at once.
 *  - Readers against reuse: two processes (then two threads of the
 *    creator's) keep calling IPC_STAT and shmat
 *    on ids a third one is creating and removing; every call that succeeds
 *    must show that id's segment (its size, its bytes), and every one that
 *    fails must say EINVAL, or EIDRM for a segment removed between its
 *    lookup and its lock, on the kernel and on uipc alike.
 *  - The cache's descriptors of removed segments are used again: 19000
 *    segments' lives do not grow the heap.
 *  - A corrupt header and a segment file truncated (its bytes, then all of
 *    it) give an error in a fresh process, never a crash or a hang; the
 *    file's owner can still remove it, another user cannot.
 *  - On a full file system (a 3 MiB tmpfs, as root), shmget fails with
 *    ENOMEM when a header's page cannot be had, instead of a SIGBUS.
 *  - A segment made of a removed one's file (uipc keeps such files for
 *    reuse): it reads as zeros and its IPC_STAT is a new segment's, as on
 *    the kernel, whether the old one went at IPC_RMID or at its last
 *    detach, keyed or private; an IPC_SET after IPC_RMID keeps the
 *    removal.  uipc must really have reused the file (its inode).
 *  - A file that was ever open to another user (a mode granting others,
 *    or another owner) is never reused: that user's mapping of it, made
 *    while it could, must not see the next segment's bytes.
 *  - The kept files of a process that ended go: at exit, and by its exit
 *    work (`uipc reap`) after _exit or SIGKILL.
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define PG 4096
#define HDR (64 * 1024)		/* shm.c's SHM_HDR_SIZE: the header's part */

static int is_uipc(const struct ipc_ops *o)
{
	return !strcmp(o->name, "uipc");
}

/* uipc's shmmni in this namespace (the kernel's is left alone). */
static void set_shmmni(int64_t v)
{
	int err = 0;
	struct uipc_nsh *h = uipc_ns_get(&err);

	if (h)
		uipc_limit_set(h, UL_SHMMNI, v);
}

static int failed_with(int bad, int e)
{
	return bad && errno == e;
}

/* ---- stale ids ---------------------------------------------------------- */

/*
 * The child of scen_stale.  It has segment a attached twice (the parent's
 * attachment, inherited, and its own) and a's header cached; once a is
 * gone and c has taken its index, every use of a must fail as on the
 * kernel, and c must be c.  Its findings come back as bits of its exit
 * status: 0x3f is all of them.
 */
static int stale_child(const struct ipc_ops *o, int a, char *inherited,
		       int rd, int wr)
{
	char *mine = o->shmat(a, NULL, 0), *p, buf;
	struct shmid_ds ds;
	int c, bits = 0;

	if (mine == (void *)-1 || o->shmctl(a, IPC_STAT, &ds) < 0)
		return 0x80;
	write(wr, "r", 1);
	if (read(rd, &buf, 1) != 1)	/* the parent removed a */
		return 0x80;
	o->shmdt(inherited);
	o->shmdt(mine);			/* the last one: a is gone */
	write(wr, "d", 1);
	if (read(rd, &c, sizeof(c)) != sizeof(c))	/* c is made */
		return 0x80;
	bits |= failed_with(o->shmctl(a, IPC_STAT, &ds) < 0, EINVAL);
	bits |= failed_with(o->shmat(a, NULL, 0) == (void *)-1, EINVAL) << 1;
	bits |= failed_with(o->shmctl(a, SHM_LOCK, NULL) < 0, EINVAL) << 2;
	bits |= failed_with(o->shmctl(a, IPC_RMID, NULL) < 0, EINVAL) << 3;
	bits |= (o->shmctl(c, IPC_STAT, &ds) == 0 &&
		 ds.shm_segsz == 2 * PG + 1 && ds.shm_nattch == 1) << 4;
	p = o->shmat(c, NULL, SHM_RDONLY);
	bits |= (p != (void *)-1 && !strcmp(p, "c")) << 5;
	if (p != (void *)-1)
		o->shmdt(p);
	return bits;
}

static void scen_stale(const struct ipc_ops *o, struct trace *t)
{
	int a, b, c, st, down[2], up[2];
	struct shmid_ds ds;
	char *p, *q, buf;
	pid_t kid;

	if (is_uipc(o))
		set_shmmni(2);
	a = o->shmget(IPC_PRIVATE, PG, 0600);
	p = o->shmat(a, NULL, 0);
	if (a < 0 || p == (void *)-1 || pipe(down) || pipe(up)) {
		CHECK(0, "%s: setup: %s", o->name, strerror(errno));
		return;
	}
	strcpy(p, "a");
	kid = fork();
	if (kid == 0) {
		close(down[1]);
		close(up[0]);
		_exit(stale_child(o, a, p, down[0], up[1]));
	}
	close(down[0]);
	close(up[1]);
	if (read(up[0], &buf, 1) == 1)
		trace_shm_stat(o, t, "a, attached here and twice in the child", a, kid);
	tcall(t, "rm a", o->shmctl(a, IPC_RMID, NULL));
	tcall(t, "shmdt a here", o->shmdt(p));
	write(down[1], "x", 1);
	if (read(up[0], &buf, 1) == 1)
		tcall(t, "a gone", o->shmctl(a, IPC_STAT, &ds));
	b = o->shmget(IPC_PRIVATE, PG, 0600);
	c = o->shmget(IPC_PRIVATE, 2 * PG + 1, 0600);
	if (is_uipc(o))
		CHECK(c % 32768 == a % 32768, "c (%d) did not take a's (%d) index",
		      c, a);
	q = o->shmat(c, NULL, 0);
	if (q != (void *)-1)
		strcpy(q, "c");
	write(down[1], &c, sizeof(c));
	waitpid(kid, &st, 0);
	tprintf(t, "the child's findings: %#x", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	tcall(t, "stat a", o->shmctl(a, IPC_STAT, &ds));
	tcall(t, "shmat a", o->shmat(a, NULL, 0) == (void *)-1 ? -1 : 0);
	tcall(t, "SHM_UNLOCK a", o->shmctl(a, SHM_UNLOCK, NULL));
	if (o->shmctl(c, IPC_STAT, &ds) == 0) {
		ds.shm_perm.mode = 0666;
		tcall(t, "IPC_SET a", o->shmctl(a, IPC_SET, &ds));
	}
	tcall(t, "rm a again", o->shmctl(a, IPC_RMID, NULL));
	trace_shm_stat(o, t, "c, unchanged", c, kid);
	trace_shm_stat(o, t, "b", b, kid);
	if (q != (void *)-1)
		tcall(t, "shmdt c", o->shmdt(q));
	tcall(t, "rm b", o->shmctl(b, IPC_RMID, NULL));
	tcall(t, "rm c", o->shmctl(c, IPC_RMID, NULL));
	close(down[1]);
	close(up[0]);
	if (is_uipc(o))
		set_shmmni(4096);
}

/* ---- readers against reuse ---------------------------------------------- */

#define RING 8
#define READERS 2

struct shared {
	_Atomic uint64_t ring[RING];	/* id << 32 | size, 0: none */
	_Atomic int stop;
	_Atomic long stats, attaches, wrong, other_errors;
	_Atomic int other_errno[2];	/* the last, of IPC_STAT and shmat */
};

static void reader(const struct ipc_ops *o, struct shared *sh, unsigned seed)
{
	while (!atomic_load(&sh->stop)) {
		uint64_t v = atomic_load(&sh->ring[(seed = seed * 1103515245u + 12345u) >> 8 & (RING - 1)]);
		int id = (int)(v >> 32);
		uint32_t size = (uint32_t)v;
		struct shmid_ds ds;
		char *p;

		if (!v)
			continue;
		if (o->shmctl(id, IPC_STAT, &ds) == 0) {
			atomic_fetch_add(&sh->stats, 1);
			if (ds.shm_segsz != size)
				atomic_fetch_add(&sh->wrong, 1);
		} else if (errno != EINVAL && errno != EIDRM) {
			atomic_fetch_add(&sh->other_errors, 1);
			atomic_store(&sh->other_errno[0], errno);
		}
		p = o->shmat(id, NULL, SHM_RDONLY);
		if (p != (void *)-1) {
			atomic_fetch_add(&sh->attaches, 1);
			if (*(int *)p != id)
				atomic_fetch_add(&sh->wrong, 1);
			o->shmdt(p);
		} else if (errno != EINVAL && errno != EIDRM) {
			atomic_fetch_add(&sh->other_errors, 1);
			atomic_store(&sh->other_errno[1], errno);
		}
	}
}

struct reader_arg {
	const struct ipc_ops *o;
	struct shared *sh;
	unsigned seed;
};

static void *reader_thread(void *p)
{
	struct reader_arg *a = p;

	reader(a->o, a->sh, a->seed);
	return NULL;
}

/* Readers are processes, or threads of this one (threads share its cache
 * of mappings, whose descriptors a removal retires and a creation uses
 * again). */
static void readers_vs_reuse(const struct ipc_ops *o, int threads)
{
	struct shared *sh = harness_shared(sizeof(*sh));
	struct reader_arg ra[READERS];
	pthread_t th[READERS];
	pid_t kid[READERS];
	long made = 0, full = 0;
	struct timespec t0, t;
	int st;

	if (is_uipc(o))
		set_shmmni(16);	/* an index comes round every 16 segments */
	for (int i = 0; i < READERS; i++) {
		ra[i] = (struct reader_arg){ o, sh, 1234u + (unsigned)i };
		if (threads) {
			pthread_create(&th[i], NULL, reader_thread, &ra[i]);
			continue;
		}
		kid[i] = fork();
		if (kid[i] == 0) {
			reader(o, sh, ra[i].seed);
			_exit(0);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0;; i++) {
		uint32_t size = PG * (1 + i % 5) + i % 7 + 1;
		uint64_t old;
		int id;
		char *p;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec >=
		    1000000000L)
			break;
		id = o->shmget(IPC_PRIVATE, size, 0600);
		if (id < 0) {
			full += errno == ENOSPC;	/* readers hold removed ones */
			CHECK(errno == ENOSPC, "%s: shmget: %s", o->name, strerror(errno));
			if (errno != ENOSPC)
				break;
			continue;
		}
		p = o->shmat(id, NULL, 0);
		if (p != (void *)-1) {
			*(int *)p = id;
			o->shmdt(p);
		}
		made++;
		old = atomic_exchange(&sh->ring[i % RING], (uint64_t)id << 32 | size);
		if (old)
			o->shmctl((int)(old >> 32), IPC_RMID, NULL);
	}
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < READERS; i++)
		if (threads)
			pthread_join(th[i], NULL);
		else
			waitpid(kid[i], &st, 0);
	for (int i = 0; i < RING; i++) {
		uint64_t v = atomic_exchange(&sh->ring[i], 0);

		if (v)
			o->shmctl((int)(v >> 32), IPC_RMID, NULL);
	}
	CHECK(!sh->wrong, "%s: %ld calls showed another segment", o->name,
	      sh->wrong);
	CHECK(!sh->other_errors, "%s: %ld calls failed other than EINVAL or EIDRM "
	      "(IPC_STAT %s, shmat %s)", o->name, sh->other_errors,
	      errname(sh->other_errno[0]), errname(sh->other_errno[1]));
	CHECK(made > 100 && sh->stats > 100 && sh->attaches > 100,
	      "%s: too little happened: %ld made, %ld stats, %ld attaches",
	      o->name, made, sh->stats, sh->attaches);
	if (is_uipc(o)) {
		struct shm_info si;

		CHECK(uipc_shmctl(0, SHM_INFO, (struct shmid_ds *)&si) >= 0 &&
		      si.used_ids == 0, "uipc: %d segments left", si.used_ids);
		set_shmmni(4096);
	}
	printf("%s %s against reuse, %s: %ld made (%ld ENOSPC), %ld stats, "
	       "%ld attaches, none wrong\n", harness_failures ? "FAIL" : "ok  ",
	       threads ? "reader threads" : "readers", o->name, made, full,
	       sh->stats, sh->attaches);
	munmap(sh, sizeof(*sh));
}

/* ---- the cache's descriptors ------------------------------------------- */

/* Each segment this process opens gets a descriptor in its cache; a
 * removed one's is used again, so a long life of creations and removals
 * does not grow the heap. */
static void descriptors_reused(void)
{
#ifndef __GLIBC__
	printf("skip the heap's growth over 19000 segments' lives (no mallinfo2 "
	       "in this C library)\n");
#else
	size_t before = 0, after;

	for (int i = 0; i < 20000; i++) {
		int id = uipc_shmget(IPC_PRIVATE, PG, 0600);
		char *p = uipc_shmat(id, NULL, 0);

		if (p != (void *)-1)
			uipc_shmdt(p);
		uipc_shmctl(id, IPC_RMID, NULL);
		if (i == 999)
			before = mallinfo2().uordblks;
	}
	after = mallinfo2().uordblks;
	CHECK(after < before + 64 * 1024, "19000 segments' lives grew the heap "
	      "from %zu to %zu bytes", before, after);
	if (after < before + 64 * 1024)
		printf("ok   19000 segments' lives: heap %zu -> %zu bytes\n",
		       before, after);
#endif
}

/* ---- corrupt and truncated files ---------------------------------------- */

/* In a fresh process: whatever the answers, no crash and no hang. */
static int try_ops(int id)
{
	struct shmid_ds ds;
	struct shm_info si;
	char *p = uipc_shmat(id, NULL, 0);

	if (p != (void *)-1) {
		p[0]++;
		uipc_shmdt(p);
	}
	uipc_shmctl(id, IPC_STAT, &ds);
	uipc_shmctl(id % 32768, SHM_STAT_ANY, &ds);
	uipc_shmctl(0, SHM_INFO, (struct shmid_ds *)&si);
	uipc_shmctl(id, SHM_LOCK, NULL);
	uipc_shmctl(id, SHM_UNLOCK, NULL);
	return 0;
}

/* On a full file system: segments until shmget fails, which it must do
 * with ENOMEM (a header's page) or ENOSPC, not a fault; those made still
 * attach and detach. */
static int fill_up(void)
{
	int ids[4096], n = 0, r = 1;

	while (n < 4096 && (ids[n] = uipc_shmget(IPC_PRIVATE, PG, 0600)) >= 0)
		n++;
	if (n < 4096 && (errno == ENOMEM || errno == ENOSPC) && n > 0) {
		char *p = uipc_shmat(ids[0], NULL, SHM_RDONLY);

		r = p == (void *)-1 || uipc_shmdt(p) < 0;
	} else {
		fprintf(stderr, "full: %d made, then %s\n", n, errname(errno));
	}
	while (n > 0)
		uipc_shmctl(ids[--n], IPC_RMID, NULL);
	return r;
}

static int probe(const char *mode, int id)
{
	struct shmid_ds ds;

	alarm(10);
	if (!strcmp(mode, "--fill-up"))
		return fill_up();
	if (!strcmp(mode, "--try-ops"))
		return try_ops(id);
	if (!strcmp(mode, "--stat-eio"))
		return !(uipc_shmctl(id, IPC_STAT, &ds) < 0 && errno == EIO);
	if (!strcmp(mode, "--attach-eio"))
		return !(uipc_shmat(id, NULL, 0) == (void *)-1 && errno == EIO &&
			 uipc_shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0);
	if (!strcmp(mode, "--rmid-stranger"))	/* fails, as nobody */
		return setgroups(0, NULL) || setgid(65534) || setuid(65534) ||
		       uipc_shmctl(id, IPC_RMID, NULL) == 0;
	if (!strcmp(mode, "--rmid"))	/* its owner removes it, once */
		return !(uipc_shmctl(id, IPC_RMID, NULL) == 0 &&
			 uipc_shmctl(id, IPC_RMID, NULL) < 0 && errno == EINVAL);
	return 2;
}

static void corrupt_files(void)
{
	char path[4200];
	unsigned rnd = 777;
	char *p, *save;
	int id, fd;

	id = uipc_shmget(IPC_PRIVATE, 2 * PG, 0600);
	p = uipc_shmat(id, NULL, 0);
	if (id < 0 || p == (void *)-1) {
		CHECK(0, "corrupt files: setup: %s", strerror(errno));
		return;
	}
	strcpy(p, "bytes");
	uipc_shmdt(p);
	snprintf(path, sizeof(path), "%s/shm.%d", harness_ns_dir(), id);
	fd = open(path, O_RDWR);
	p = mmap(NULL, HDR, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd < 0 || p == MAP_FAILED) {
		CHECK(0, "corrupt files: the header: %s", strerror(errno));
		return;
	}
	save = malloc(HDR);
	memcpy(save, p, HDR);
	/* Random bytes anywhere past the lock, many times over. */
	for (int i = 0; i < 100; i++) {
		size_t lock_end = offsetof(struct uipc_obj, lock) +
				  sizeof(struct uipc_lock);

		for (int k = 0; k < 1 + (int)(rand_r(&rnd) % 16); k++)
			p[lock_end + rand_r(&rnd) % 4096] = (char)rand_r(&rnd);
		if (run_self("--try-ops", id, "random corruption") < 0)
			break;
		memcpy(p, save, HDR);
	}
	((struct uipc_obj *)p)->magic = 0x12345678;
	run_self("--stat-eio", id, "a header of bad magic gives EIO");
	run_self("--try-ops", id, "a header of bad magic");
	memcpy(p, save, HDR);
	((struct uipc_obj *)p)->id = id + 32768;
	run_self("--stat-eio", id, "a header of another id gives EIO");
	memcpy(p, save, HDR);
	free(save);
	munmap(p, HDR);

	if (ftruncate(fd, HDR) == 0)
		run_self("--attach-eio", id, "a segment file cut to its header: shmat gives EIO");
	run_self("--try-ops", id, "a segment file cut to its header");
	/* Last: this process has the header mapped and must not touch it. */
	if (ftruncate(fd, 0) == 0) {
		run_self("--stat-eio", id, "an empty segment file gives EIO");
		run_self("--try-ops", id, "an empty segment file");
	}
	close(fd);
	/* Unusable, it can still be removed by the file's owner (and only
	 * by the owner), as the kernel's owner can always remove an object. */
	run_self("--rmid", id, "its owner removes an empty segment file");
	CHECK(access(path, F_OK) < 0, "the empty segment file is still there");
	/* Not anyone it lets in: a 0666 segment cut short, which another
	 * user can open. */
	id = uipc_shmget(IPC_PRIVATE, PG, 0666);
	snprintf(path, sizeof(path), "%s/shm.%d", harness_ns_dir(), id);
	if (geteuid() == 0 && id >= 0 && truncate(path, 0) == 0) {
		run_self("--rmid-stranger", id, "another user cannot remove an "
			 "empty segment file it may open");
		run_self("--rmid", id, "its owner removes it");
	}
	if (!harness_failures)
		printf("ok   corrupt headers and truncated segment files: "
		       "errors, no crash, no hang\n");
}

/* fill_up() in a fresh process whose namespace is on a 3 MiB tmpfs of a
 * private mount namespace. */
static void full_file_system(void)
{
	char dir[] = "/tmp/shm_reuse.XXXXXX";
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		printf("SKIP full file system: needs root to mount a tmpfs\n");
		return;
	}
	if (!mkdtemp(dir))
		return;
	pid = fork();
	if (pid == 0) {
		char ns[64];

		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("uipc-test", dir, "tmpfs", 0, "size=3m") < 0)
			_exit(77);
		snprintf(ns, sizeof(ns), "%s/ns", dir);
		setenv("UIPC_NS", ns, 1);
		execl("/proc/self/exe", "shm_reuse", "--fill-up", "0", (char *)NULL);
		_exit(126);
	}
	waitpid(pid, &st, 0);
	rmdir(dir);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("SKIP full file system: cannot mount a tmpfs here\n");
		return;
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "full file system: the child %s %d",
	      WIFSIGNALED(st) ? "died of signal" : "exited",
	      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		printf("ok   a full file system: shmget fails with an error, "
		       "no SIGBUS\n");
}

/* ---- files used again ---------------------------------------------------- */

/* The inode of uipc segment id's file, 0 if none. */
static ino_t seg_ino(int id)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/shm.%d", harness_ns_dir(), id);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

#define RSIZE (3 * PG + 5)

/* how: 0 removed after its detach, 1 before (gone at the detach), 2 the
 * same with a key, 3 removed, IPC_SET, then detached. */
static void recycle_one(const struct ipc_ops *o, struct trace *t, int how)
{
	key_t key = how == 2 ? test_key(3) : IPC_PRIVATE;
	int a, b, nonzero = 0;
	struct shmid_ds ds;
	ino_t ino = 0;
	char *p, *q;

	tprintf(t, "-- old segment removed %s", how == 0 ? "after its detach" :
		how == 1 ? "before its detach" : how == 2 ? "before, keyed" :
		"before, then IPC_SET");
	a = o->shmget(key, RSIZE, IPC_CREAT | 0600);
	p = o->shmat(a, NULL, 0);
	if (a < 0 || p == (void *)-1) {
		CHECK(0, "%s: setup: %s", o->name, strerror(errno));
		return;
	}
	memset(p, 0xab, 4 * PG);	/* the rounded-up page's tail too */
	if (is_uipc(o))
		ino = seg_ino(a);
	if (how == 0) {
		tcall(t, "shmdt a", o->shmdt(p));
		tcall(t, "rm a", o->shmctl(a, IPC_RMID, NULL));
	} else {
		tcall(t, "rm a", o->shmctl(a, IPC_RMID, NULL));
		if (how == 3 && o->shmctl(a, IPC_STAT, &ds) == 0) {
			ds.shm_perm.mode = 0400;
			tcall(t, "IPC_SET a, removed", o->shmctl(a, IPC_SET, &ds));
		}
		tcall(t, "shmdt a, its last", o->shmdt(p));
	}
	tcall(t, "stat a, gone", o->shmctl(a, IPC_STAT, &ds));
	b = o->shmget(key, RSIZE, IPC_CREAT | IPC_EXCL | 0600);
	if (is_uipc(o))
		CHECK(b >= 0 && seg_ino(b) == ino,
		      "uipc: segment %d is not made of %d's file (%s)", b, a,
		      how == 3 ? "IPC_SET after IPC_RMID" : "reuse");
	trace_shm_stat(o, t, "b, new", b, 0);
	q = o->shmat(b, NULL, SHM_RDONLY);
	if (q != (void *)-1) {
		for (int i = 0; i < 4 * PG; i++)
			nonzero += q[i] != 0;
		tprintf(t, "b's bytes not zero: %d", nonzero);
		tcall(t, "shmdt b", o->shmdt(q));
	}
	tcall(t, "stat a, still gone", o->shmctl(a, IPC_STAT, &ds));
	tcall(t, "rm b", o->shmctl(b, IPC_RMID, NULL));
}

static void scen_recycled(const struct ipc_ops *o, struct trace *t)
{
	for (int how = 0; how < 4; how++)
		recycle_one(o, t, how);
}

/*
 * Root's segment a is open to others for a while (mode 0606, or owned by
 * nobody); nobody maps its file then.  Once a is private again and removed,
 * root's next segment must not be made of that file: nobody's mapping would
 * show it.  how: 0 the mode, 1 the owner.
 */
static void bus_nothing(int sig)
{
	(void)sig;
	_exit(0);
}

static void never_reused_after_others(int how)
{
	int a, b, st, go[2], back[2];
	struct shmid_ds ds;
	char path[512], c;
	ino_t ino;
	pid_t kid;
	char *p;

	a = uipc_shmget(IPC_PRIVATE, PG, how == 0 ? 0606 : 0600);
	if (a < 0 || pipe(go) || pipe(back)) {
		CHECK(0, "others: setup: %s", strerror(errno));
		return;
	}
	if (how == 1 && uipc_shmctl(a, IPC_STAT, &ds) == 0) {
		ds.shm_perm.uid = 65534;
		CHECK(uipc_shmctl(a, IPC_SET, &ds) == 0, "IPC_SET uid: %s",
		      strerror(errno));
	}
	ino = seg_ino(a);
	snprintf(path, sizeof(path), "%s/shm.%d", harness_ns_dir(), a);
	kid = fork();
	if (kid == 0) {
		int fd, seen = 0;
		char *m;

		close(go[1]);
		close(back[0]);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		fd = open(path, O_RDWR);
		m = fd < 0 ? MAP_FAILED :
			mmap(NULL, HDR + PG, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(4);
		write(back[1], "m", 1);
		if (read(go[0], &c, 1) != 1)
			_exit(5);
		/* The removal may have cut the file to its header: a fault
		 * there shows nothing either. */
		signal(SIGBUS, bus_nothing);
		for (int i = 0; i < PG - 6; i++)
			seen |= !memcmp(m + HDR + i, "SECRET", 6);
		_exit(seen ? 1 : 0);
	}
	close(go[0]);
	close(back[1]);
	if (read(back[0], &c, 1) != 1) {
		waitpid(kid, &st, 0);
		CHECK(0, "others: nobody could not map the file (%d)",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		uipc_shmctl(a, IPC_RMID, NULL);
		return;
	}
	if (uipc_shmctl(a, IPC_STAT, &ds) == 0) {
		ds.shm_perm.mode = 0600;
		ds.shm_perm.uid = 0;
		CHECK(uipc_shmctl(a, IPC_SET, &ds) == 0, "IPC_SET back: %s",
		      strerror(errno));
	}
	uipc_shmctl(a, IPC_RMID, NULL);
	b = uipc_shmget(IPC_PRIVATE, PG, 0600);
	CHECK(b >= 0 && seg_ino(b) != ino,
	      "segment %d is made of a file another user could open", b);
	p = uipc_shmat(b, NULL, 0);
	if (p != (void *)-1)
		strcpy(p, "SECRET");
	write(go[1], "g", 1);
	waitpid(kid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "another user's old mapping %s", WIFEXITED(st) &&
	      WEXITSTATUS(st) == 1 ? "shows the new segment's bytes" :
	      "could not be checked");
	if (p != (void *)-1)
		uipc_shmdt(p);
	uipc_shmctl(b, IPC_RMID, NULL);
	close(go[1]);
	close(back[0]);
}

/* In a fresh child, whose kept files are none but its own: a file never
 * open to others is used again (of another size than the test's), then
 * the test. */
static int fresh_never_reused(int how)
{
	int c = uipc_shmget(IPC_PRIVATE, 2 * PG, 0600), d, before = harness_failures;
	ino_t ino = seg_ino(c);

	uipc_shmctl(c, IPC_RMID, NULL);
	d = uipc_shmget(IPC_PRIVATE, 2 * PG, 0600);
	CHECK(d >= 0 && seg_ino(d) == ino, "others: a private file is not reused");
	uipc_shmctl(d, IPC_RMID, NULL);
	never_reused_after_others(how);
	return harness_failures != before;
}

static void others_never_reused(void)
{
	int before = harness_failures, st;

	if (geteuid() != 0) {
		printf("SKIP a file once open to others is never reused: not root\n");
		return;
	}
	for (int how = 0; how < 2; how++) {
		pid_t kid = fork();

		if (kid == 0)
			_exit(fresh_never_reused(how));
		waitpid(kid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "others (%s): failed",
		      how ? "owner" : "mode");
	}
	printf("%s a file once open to others (its mode, its owner) is never "
	       "reused\n", harness_failures == before ? "ok  " : "FAIL");
}

/*
 * A kept file is lent to the next segment of its keeper (linked under the
 * segment's name, still under its own): when another process of the same
 * user removes that segment, neither may make a segment of it while the
 * other can, and every new segment still reads as zeros and keeps its own
 * bytes.  Run in a fresh child (P), whose kept files are its own, with a
 * second one (C) that removes P's segment.
 */
static int *g_lent_d;	/* C's segment, for P (shared) */
static ino_t g_lent_ino;	/* the file P lent */

/* Bytes of [p, p + n) that differ from c. */
static int differ(const char *p, int n, char c)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += p[i] != c;
	return k;
}

/* Attaches id, counts its bytes that are not c, fills it with fill. */
static void look_fill(const struct ipc_ops *o, struct trace *t, const char *what,
		      int id, char c, char fill)
{
	char *p = o->shmat(id, NULL, 0);

	if (p == (void *)-1) {
		tprintf(t, "%s: shmat %s", what, errname(errno));
		return;
	}
	tprintf(t, "%s: bytes not %s: %d", what, c ? "its own" : "zero",
		differ(p, PG, c));
	if (fill)
		memset(p, fill, PG);
	tcall(t, "shmdt", o->shmdt(p));
}

/* Has the namespace directory a name of inode ino? */
static int named(ino_t ino)
{
	DIR *d = opendir(harness_ns_dir());
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_ino == ino;
	closedir(d);
	return n;
}

static void lent_remover(const struct ipc_ops *o, struct trace *t)
{
	int c0 = o->shmget(IPC_PRIVATE, 2 * PG, 0600), d;

	tcall(t, "C: rm its own", o->shmctl(c0, IPC_RMID, NULL));
	tcall(t, "C: rm P's segment", o->shmctl(*g_lent_d, IPC_RMID, NULL));
	d = o->shmget(IPC_PRIVATE, PG, 0600);
	tval(t, "C: new segment", d >= 0);
	if (is_uipc(o))
		CHECK(seg_ino(d) != g_lent_ino, "lent: C made a segment of the "
		      "file P lent");
	look_fill(o, t, "C: new", d, 0, 'C');
	*g_lent_d = d;
}

static void lent_keeper(const struct ipc_ops *o, struct trace *t)
{
	int a = o->shmget(IPC_PRIVATE, PG, 0600), b, e, f;

	tcall(t, "P: rm a", o->shmctl(a, IPC_RMID, NULL));
	b = o->shmget(IPC_PRIVATE, PG, 0600);
	tval(t, "P: b", b >= 0);
	if (is_uipc(o)) {
		struct stat st;
		char path[512];

		g_lent_ino = seg_ino(b);
		snprintf(path, sizeof(path), "%s/shm.%d", harness_ns_dir(), b);
		CHECK(stat(path, &st) == 0 && st.st_nlink == 2,
		      "lent: b is not made of a's kept file (two names)");
	}
	look_fill(o, t, "P: b", b, 0, 'P');
	*g_lent_d = b;
	as_self(o, t, lent_remover);
	tcall(t, "P: stat b, removed by C", o->shmctl(b, IPC_STAT, NULL));
	e = o->shmget(IPC_PRIVATE, PG, 0600);
	tval(t, "P: e", e >= 0);
	if (is_uipc(o))
		CHECK(seg_ino(e) != seg_ino(*g_lent_d), "lent: P's e is C's d");
	look_fill(o, t, "P: e", e, 0, 'E');
	look_fill(o, t, "P: C's d", *g_lent_d, 'C', 0);
	tcall(t, "P: rm d", o->shmctl(*g_lent_d, IPC_RMID, NULL));
	tcall(t, "P: rm e", o->shmctl(e, IPC_RMID, NULL));
	/* Four more of other sizes: the entry of the file C removed is
	 * found free again, and no kept file is left over. */
	for (int k = 2; k <= 5; k++) {
		int g = o->shmget(IPC_PRIVATE, (size_t)k * PG, 0600);

		o->shmctl(g, IPC_RMID, NULL);
	}
	f = o->shmget(IPC_PRIVATE, PG, 0600);
	look_fill(o, t, "P: f", f, 0, 0);
	tcall(t, "P: rm f", o->shmctl(f, IPC_RMID, NULL));
	if (is_uipc(o))
		CHECK(!named(g_lent_ino), "lent: the file C removed is still "
		      "kept by P, its entries all wanted");
}

static void scen_lent(const struct ipc_ops *o, struct trace *t)
{
	if (!g_lent_d)
		g_lent_d = harness_shared(sizeof(*g_lent_d));
	as_self(o, t, lent_keeper);
}

static char g_mine[64];	/* the names of this process's own kept files */

/* Kept files in the namespace directory, but this process's own. */
static int spares_left(void)
{
	DIR *d = opendir(harness_ns_dir());
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".spare.") &&
		     strncmp(de->d_name, g_mine, strlen(g_mine));
	closedir(d);
	return n;
}

/* A child that creates and removes a segment (keeping its file), then
 * ends: how 0 exit, 1 _exit, 2 SIGKILL.  The spares left once it has. */
static int spares_after(int how)
{
	pid_t kid = fork();
	int st;

	if (kid == 0) {
		int id = uipc_shmget(IPC_PRIVATE, PG, 0600);
		sigset_t none;

		uipc_shmctl(id, IPC_RMID, NULL);
		/* Another use noted after the kept file's: both exit works
		 * must run. */
		sigemptyset(&none);
		uipc_sigprocmask(SIG_BLOCK, &none, NULL);
		if (spares_left() != 1)
			_exit(9);
		if (how == 0)
			exit(0);
		if (how == 1)
			_exit(0);
		raise(SIGKILL);
	}
	waitpid(kid, &st, 0);
	CHECK(how == 2 ? WIFSIGNALED(st) : WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "spares: the child (%d) kept no file", how);
	return spares_left();
}

static void spares_of_the_dead(void)
{
	int err = 0, n, before = harness_failures;
	struct uipc_self self;
	struct uipc_nsh *h;

	h = uipc_ns_get(&err);
	if (!h || uipc_proc_self(&self) < 0) {
		CHECK(0, "spares: no namespace: %s", strerror(-err));
		return;
	}
	snprintf(g_mine, sizeof(g_mine), "shm.spare.%u.%u.", self.slot, self.gen);
	uipc_proc_reap_all(h);	/* the earlier children's */
	CHECK((n = spares_left()) == 0, "spares: %d left before", n);
	CHECK((n = spares_after(0)) == 0, "spares: %d left after exit", n);
	for (int how = 1; how <= 2; how++) {
		spares_after(how);
		uipc_proc_reap_all(h);
		CHECK((n = spares_left()) == 0, "spares: %d left after %s and a "
		      "reap", n, how == 1 ? "_exit" : "SIGKILL");
	}
	/* Its exit work done by someone who could not remove its files (its
	 * table entry used again): `uipc reap` sweeps them. */
	spares_after(1);
	for (uint32_t s = 0; s < UIPC_MAXPROC; s++)
		atomic_fetch_and(&h->ns->proc[s].uses, ~UIPC_USE_SPARE);
	uipc_proc_reap_all(h);
	CHECK(spares_left() == 1, "spares: the exit work was not skipped");
	CHECK((n = uipc_spare_sweep(h)) == 1 && spares_left() == 0,
	      "spares: the sweep removed %d, %d left", n, spares_left());
	printf("%s kept files go with their process (exit, _exit, SIGKILL)\n",
	       harness_failures == before ? "ok  " : "FAIL");
}

int main(int argc, char **argv)
{
	if (argc == 3)
		return probe(argv[1], atoi(argv[2]));
	harness_init(120);
	run_both("stale ids after their index is reused", scen_stale);
	run_both("segments made of removed ones' files", scen_recycled);
	others_never_reused();
	run_both("a lent file's segment removed by another process", scen_lent);
	spares_of_the_dead();
	readers_vs_reuse(&kernel_ops, 0);
	readers_vs_reuse(&uipc_ops, 0);
	readers_vs_reuse(&kernel_ops, 1);
	readers_vs_reuse(&uipc_ops, 1);
	descriptors_reused();
	full_file_system();
	corrupt_files();
	return harness_done();
}
