/*
 * msg_robust: what no kernel comparison can show.
 *  - A process killed while holding a queue's lock, in the middle of a
 *    change, leaves the queue usable and consistent for everyone else.
 *  - A process killed holding the namespace lock in the middle of creating
 *    an object leaves the namespace usable and tidy.
 *  - Corrupt and truncated object and namespace files give an error, never
 *    a crash or a hang (each attempt runs in a child with a time limit).
 *  - A writer of a queue's file (anyone the queue grants read access may
 *    write it) cannot make the processes using it crash, hang or write
 *    outside the queue's mapping: each field corrupted in a fresh process
 *    and under one that has the queue mapped, with a repair forced by a
 *    dead owner's lock word; then a writer at work while three processes
 *    use the queue.  The seed is printed; MSG_ROBUST_SEED repeats it.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

struct msg {
	long type;
	char text[8192];
};

static int target_q;

/* A probe in a fresh process (run_self). */
static int in_child(const char *mode, const char *what)
{
	return run_self(mode, target_q, what);
}

/* ---- a lock holder killed in the middle of a change -------------------- */

static void hold_and_scramble(int q, int scramble, int pfd)
{
	struct uipc_map *m;
	uint64_t *counters;

	if (uipc_obj_get(UIPC_MSG, q, &m) < 0 || uipc_obj_lock(m) < 0)
		_exit(2);
	if (scramble) {
		/* Derived state half-updated, as a sender dying between its
		 * stores would leave it: qnum, cbytes wrong, free list cut. */
		counters = (uint64_t *)((char *)m->base + sizeof(struct uipc_obj) +
					3 * sizeof(int64_t));
		counters[0] = 999999;	/* cbytes */
		counters[1] = 77;	/* qnum */
	}
	write(pfd, "x", 1);
	pause();
}

static void lock_holder_killed(void)
{
	int q = uipc_msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	struct msg m;
	int p[2];
	pid_t pid;
	char c;

	m.type = 1;
	strcpy(m.text, "before");
	uipc_msgsnd(q, &m, 7, 0);
	uipc_msgsnd(q, &m, 7, 0);
	for (int scramble = 0; scramble < 2; scramble++) {
		if (pipe(p) < 0)
			return;
		pid = fork();
		if (pid == 0)
			hold_and_scramble(q, scramble, p[1]);
		read(p[0], &c, 1);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(p[0]);
		close(p[1]);
		alarm(10);
		CHECK(uipc_msgsnd(q, &m, 7, IPC_NOWAIT) == 0,
		      "send after the lock holder died: %s", strerror(errno));
		CHECK(uipc_msgctl(q, IPC_STAT, &ds) == 0, "stat after death");
		CHECK(ds.msg_qnum == 3 && ds.__msg_cbytes == 21,
		      "repair recounted qnum %lu cbytes %lu (want 3, 21)",
		      (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes);
		CHECK(uipc_msgrcv(q, &m, 100, 0, IPC_NOWAIT) == 7 &&
		      !strcmp(m.text, "before"), "messages intact after repair");
	}
	/* The arena must not leak: fill the whole queue, twice over. */
	for (int round = 0; round < 2; round++) {
		int n = 0;

		while (uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0)
			;
		while (uipc_msgsnd(q, &m, 0, IPC_NOWAIT) == 0)
			n++;
		CHECK(n == 16384, "a full queue holds %d empty messages (want 16384)", n);
	}
	alarm(0);
	uipc_msgctl(q, IPC_RMID, NULL);
	if (!harness_failures)
		printf("ok   lock holder killed mid-change: queue repaired\n");
}

/* ---- killed while building a message ----------------------------------- */

static void senders_killed_in_flight(void)
{
	int q = uipc_msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	struct msg m;
	int n = 0;

	/* Kill many senders of big messages at random points. */
	for (int i = 0; i < 200; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			m.type = 1;
			memset(m.text, 's', sizeof(m.text));
			for (;;) {
				uipc_msgsnd(q, &m, 8000, IPC_NOWAIT);
				uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
			}
		}
		usleep((useconds_t)(200 + (i * 37) % 900));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	alarm(10);
	while (uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0)
		;
	CHECK(uipc_msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 0 &&
	      ds.__msg_cbytes == 0, "queue empty after the drain");
	m.type = 1;	/* the drain may have received nothing into m */
	while (uipc_msgsnd(q, &m, 0, IPC_NOWAIT) == 0)
		n++;
	CHECK(n == 16384, "no blocks lost to killed senders: %d of 16384 (%s)", n,
	      strerror(errno));
	alarm(0);
	uipc_msgctl(q, IPC_RMID, NULL);
	if (!harness_failures)
		printf("ok   200 processes killed inside msgsnd/msgrcv: no block lost\n");
}

/* ---- the namespace lock holder killed ---------------------------------- */

static void ns_holder(int pfd)
{
	struct uipc_nsh *h;
	char path[4200];
	int err, fd;

	h = uipc_ns_get(&err);
	if (!h || uipc_ns_lock(h) < 0)
		_exit(2);
	/* Half-way through a creation: a temporary file and a slot taken. */
	snprintf(path, sizeof(path), "%s/tmp.%d.999", h->path, (int)getpid());
	fd = open(path, O_CREAT | O_RDWR, 0600);
	close(fd);
	h->ns->ids[UIPC_MSG].slot[999] = 5 * 32768 + 999 + 1;
	h->ns->ids[UIPC_MSG].in_use++;
	write(pfd, "x", 1);
	pause();
}

static void ns_lock_holder_killed(void)
{
	char path[4200];
	struct stat st;
	int p[2], q;
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0)
		ns_holder(p[1]);
	read(p[0], &c, 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	alarm(10);
	q = uipc_msgget(test_key(1), IPC_CREAT | 0600);
	CHECK(q >= 0, "msgget after the namespace lock holder died: %s",
	      strerror(errno));
	snprintf(path, sizeof(path), "%s/tmp.%d.999", harness_ns_dir(), (int)pid);
	CHECK(stat(path, &st) < 0, "its temporary file was cleaned up");
	CHECK(uipc_msgctl(999, MSG_STAT_ANY, NULL) < 0 && errno == EINVAL,
	      "the half-made slot was released");
	/* Released, not only unusable: the highest index in use is no
	 * longer 999 (the table counts no object that has no file). */
	if (q >= 0 && q % 32768 < 999) {
		struct msginfo mi;

		CHECK(uipc_msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 999,
		      "the half-made slot is still counted in MSG_INFO");
	}
	alarm(0);
	uipc_msgctl(q, IPC_RMID, NULL);
	close(p[0]);
	close(p[1]);
	if (!harness_failures)
		printf("ok   namespace lock holder killed mid-create: namespace repaired\n");
}

/* ---- corrupt files ------------------------------------------------------ */

static void try_ops(void)
{
	struct msqid_ds ds;
	struct msg m;
	int q = target_q;

	m.type = 1;
	/* Any answer will do but a crash or a hang. */
	uipc_msgsnd(q, &m, 100, IPC_NOWAIT);
	uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
	uipc_msgrcv(q, &m, sizeof(m.text), -3, IPC_NOWAIT | MSG_NOERROR);
	uipc_msgrcv(q, &m, sizeof(m.text), 1, IPC_NOWAIT | MSG_COPY);
	uipc_msgctl(q, IPC_STAT, &ds);
	uipc_msgctl(q % 32768, MSG_STAT_ANY, &ds);
	uipc_msgctl(0, MSG_INFO, (struct msqid_ds *)&ds);
}

static void expect_eio(void)
{
	struct msg m = { 1, "" };

	if (uipc_msgsnd(target_q, &m, 1, IPC_NOWAIT) == 0 || errno != EIO)
		_exit(1);
}

static void corrupt_files(void)
{
	char path[4200];
	struct msg m = { 1, "payload" };
	unsigned rnd = 4242;
	int fd, q;
	size_t len;
	char *p;

	q = uipc_msgget(IPC_PRIVATE, 0600);
	target_q = q;
	for (int i = 0; i < 5; i++)
		uipc_msgsnd(q, &m, 50 + (size_t)i * 300, 0);
	snprintf(path, sizeof(path), "%s/msg.%d", harness_ns_dir(), q);
	fd = open(path, O_RDWR);
	len = (size_t)lseek(fd, 0, SEEK_END);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	/* Random bytes anywhere past the lock, many times over. */
	{
		char *save = malloc(len);
		size_t lock_end = offsetof(struct uipc_obj, lock) +
				  sizeof(struct uipc_lock);

		memcpy(save, p, len);
		for (int i = 0; i < 150; i++) {
			int nbytes = 1 + (int)(rand_r(&rnd) % 16);

			for (int k = 0; k < nbytes; k++) {
				size_t off = lock_end + rand_r(&rnd) % 16384;

				p[off] = (char)rand_r(&rnd);
			}
			if (in_child("--try-ops", "random corruption") < 0)
				break;
			memcpy(p, save, len);
		}
		free(save);
	}
	/* A list pointing outside the file. */
	((struct uipc_obj *)p)->magic = UIPC_OBJ_MAGIC;
	in_child("--try-ops", "header intact");
	memset(p + sizeof(struct uipc_obj) + 8 * 8, 0xff, 16);
	in_child("--try-ops", "list out of range");
	/* A bad magic: not an object. */
	((struct uipc_obj *)p)->magic = 0x12345678;
	in_child("--expect-eio", "bad magic gives EIO");
	in_child("--try-ops", "bad magic");
	munmap(p, len);
	/* Truncated: header only, then nothing. */
	if (ftruncate(fd, 4096) == 0)
		in_child("--expect-eio", "truncated file gives EIO");
	if (ftruncate(fd, 0) == 0)
		in_child("--expect-eio", "empty file gives EIO");
	close(fd);
	/* Unusable, it can still be removed by its file's owner, as the
	 * kernel's owner can always remove a queue. */
	in_child("--rmid", "its owner removes an empty queue file");
	CHECK(access(path, F_OK) < 0, "the empty queue file is still there");
	unlink(path);

	/* A corrupt namespace file: every call errs, none crashes. */
	snprintf(path, sizeof(path), "%s/ns", harness_ns_dir());
	fd = open(path, O_RDWR);
	if (fd >= 0) {
		uint32_t bad = 0xdeadbeef;

		pwrite(fd, &bad, sizeof(bad), 0);
		close(fd);
		target_q = 0;
		in_child("--expect-eio", "corrupt namespace gives EIO");
		unlink(path);
	}
	if (!harness_failures)
		printf("ok   corrupt and truncated files: errors, no crash, no hang\n");
}

/* ---- removed while spoiled, with callers blocked ------------------------
 *
 * A queue whose header was spoiled can still be removed by its owner
 * (remove_corrupt), but nothing in the header can be trusted to find its
 * waiters: a receiver blocked on an empty queue and a sender blocked on a
 * full one must still end with EIDRM, as after any removal (they once
 * slept for good).
 */
static void spoiled_then_removed(void)
{
	static struct msg m;
	pid_t kids[2];
	int q = uipc_msgget(IPC_PRIVATE, 0600), st;

	m.type = 1;
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			long r;

			signal(SIGALRM, SIG_DFL);
			alarm(10);
			r = i == 0 ? uipc_msgrcv(q, &m, sizeof(m.text), 2, 0) :
				     uipc_msgsnd(q, &m, 8192, 0);
			_exit(r < 0 && errno == EIDRM ? 0 : 1);
		}
		if (i == 0)	/* the queue full: 16384 bytes */
			for (int k = 0; k < 2; k++)
				uipc_msgsnd(q, &m, 8192, 0);
		CHECK(wait_blocked(kids[i]) == 0, "a %s does not block",
		      i == 0 ? "receiver" : "sender");
	}
	CHECK(harness_spoil_header("msg", q) == 0, "spoiling the queue: %s",
	      strerror(errno));
	CHECK(uipc_msgctl(q, IPC_RMID, NULL) == 0,
	      "its owner cannot remove the spoiled queue: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		CHECK(waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0,
		      "the blocked %s did not end with EIDRM (status %#x)",
		      i == 0 ? "receiver" : "sender", st);
	}
	if (!harness_failures)
		printf("ok   removed while spoiled: its blocked callers get EIDRM\n");
}

/* ---- a hostile writer of the queue's file -------------------------------
 *
 * A user granted only read access to a queue can write its whole file (its
 * mode gives each class the queue lets in read-write), also while the
 * owner's processes use it.  Whatever it writes, the others' calls must not
 * die of a signal, take more than a few seconds, say they received more
 * than the buffer holds, or write outside the queue's mapping; errors are
 * fine.  The layout below mirrors msg.c's: a header of another size than
 * the file says (hdr_size) fails the test, which then needs updating.
 */
#define T_BLK		256
#define T_FIRST_DATA	(T_BLK - 32)
#define T_CONT_DATA	(T_BLK - 4)
#define T_WAITERS	128
#define CALL_LIMIT_NS	3000000000LL	/* "a few seconds" */

struct t_first {
	uint32_t next_msg, next_blk;
	int64_t type;
	uint64_t size;
	uint32_t rsv, rsv_ticket;
	unsigned char data[T_FIRST_DATA];
};

struct t_waiter {
	uint32_t futex, kind;
	uint64_t ticket;
	uint32_t proc_slot, proc_gen;
	int32_t pid, mode;
	int64_t msgtyp;
	uint64_t size;
	int32_t result;
	uint32_t msg;
	uint32_t wake_addr, pad;
};

struct t_msq {
	struct uipc_obj o;
	int64_t stime, rtime;
	uint64_t qbytes, cbytes, qnum;
	int32_t lspid, lrpid;
	uint32_t head, tail, free_head, nblocks;
	uint32_t nrecv, nsend, nrsv, fresh;
	uint64_t ticket;
	uint32_t overflow_seq, overflow_waiters;
	uint64_t undo_ticket;
	int64_t undo_rtime;
	int32_t undo_lrpid;
	uint32_t needs_repair, pad;
	uint64_t inflight;
	struct t_waiter w[T_WAITERS];
};
#define T_ARENA ((sizeof(struct t_msq) + 4095) & ~(size_t)4095)
enum { T_W_RECV = 1, T_W_SEND = 2, T_W_COPY = 3, T_R_MSG = 1 };

struct qfile {
	int q, fd;
	size_t len;
	char *p;		/* the whole file, shared */
	struct t_msq *h;
	uint32_t nblk;		/* blocks the file holds */
	char *good;		/* the file as set up */
	uint32_t msg[16];	/* first blocks of the messages, in order */
	int nmsg;
	uint32_t free_blk;	/* a block on the free list */
};

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint64_t rand64(unsigned *rnd)
{
	uint64_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 16 ^ (uint64_t)(rand_r(rnd) & 0xffff);
	return v;
}

/* Block b of the file, or NULL past its end: the writer stays in its
 * mapping too. */
static void *tblk(struct qfile *f, uint32_t b)
{
	return b < f->nblk ? f->p + T_ARENA + (size_t)b * T_BLK : NULL;
}

/* The i-th message's first block (qfile_open() found at least 4). */
/* A block just past the last page the file's mapping covers (the file's
 * last page reaches beyond its end): in a victim's canary. */
static uint32_t past_map(struct qfile *f)
{
	return (uint32_t)((((f->len + 4095) & ~(size_t)4095) - T_ARENA) / T_BLK) + 1;
}

static struct t_first *tmsg(struct qfile *f, int i)
{
	if (i < 0 || i >= f->nmsg)
		i = 0;
	return tblk(f, f->msg[i]);
}

static int qfile_open(struct qfile *f, int q)
{
	char path[4200];
	struct stat st;
	uint32_t b;

	memset(f, 0, sizeof(*f));
	f->q = q;
	snprintf(path, sizeof(path), "%s/msg.%d", harness_ns_dir(), q);
	f->fd = open(path, O_RDWR);
	if (f->fd < 0 || fstat(f->fd, &st) < 0 || (size_t)st.st_size < T_ARENA)
		return -1;
	f->len = (size_t)st.st_size;
	f->p = mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (f->p == MAP_FAILED)
		return -1;
	f->h = (struct t_msq *)(void *)f->p;
	if (f->h->o.hdr_size != sizeof(struct t_msq)) {
		CHECK(0, "msg_robust's copy of msg.c's layout is out of date "
		      "(hdr_size %u, the copy's %zu)", f->h->o.hdr_size,
		      sizeof(struct t_msq));
		return -1;
	}
	f->nblk = (uint32_t)((f->len - T_ARENA) / T_BLK);
	for (b = f->h->head; b && f->nmsg < 16 && tblk(f, b);
	     b = ((struct t_first *)tblk(f, b))->next_msg)
		f->msg[f->nmsg++] = b;
	f->free_blk = f->h->free_head;
	f->good = malloc(f->len);
	if (!f->good || f->nmsg < 4 || !tblk(f, f->free_blk))
		return -1;
	memcpy(f->good, f->p, f->len);
	return 0;
}

/* The file as set up, its bytes (safe while others use it)... */
static void qfile_restore(struct qfile *f)
{
	memcpy(f->p, f->good, f->len);
}

/* ...and its length too, which the probes' IPC_SET grows (only with no
 * one else using the queue: a mapping cut short faults). */
static void qfile_reset(struct qfile *f)
{
	if (ftruncate(f->fd, (off_t)f->len) < 0)
		CHECK(0, "cannot cut queue %d's file back", f->q);
	qfile_restore(f);
}

static void qfile_close(struct qfile *f)
{
	munmap(f->p, f->len);
	close(f->fd);
	free(f->good);
}

/* A lock word whose owner is dead: the next locker repairs the queue.
 * dead: a pid that has exited, or 0 for a word that names no process. */
static void force_repair(struct qfile *f, pid_t dead)
{
	/* The owner half is the first four bytes (lock.c). */
	uint32_t *word = (uint32_t *)(void *)&f->h->o.lock;

	word[1] = 0x5a5a5a5a;
	__atomic_store_n(&word[0], dead ? (uint32_t)dead : 0x40000000u,
			 __ATOMIC_SEQ_CST);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* The corruptions, each aimed at one way a field of the file is used. */
static const char *const corruption[] = {
	"tail 0xffffff", "tail 0xffffffff", "tail just past the mapping",
	"tail a free block", "tail mid-list", "head far out",
	"list cycle", "list self-loop", "size 2^64-1",
	"size of 2^32 blocks, chain cycle", "size one block past the arena",
	"chain far out", "chain self-loop", "types INT64_MIN and 0",
	"free list far out", "free list cycle", "fresh 0xffffffff",
	"fresh 0x1000000", "fresh just past the mapping", "fresh 0 (old file)",
	"nblocks 0", "nblocks 2", "nblocks one short",
	"nblocks 0x7fffffff, fresh 0x1000000", "nblocks 0x7fffffff",
	"receivers everywhere", "handed garbage", "waiters random",
	"reservations random", "counters at their limits", "header random",
	"blocks random", "dead copiers claiming messages' blocks",
	"bytes in flight at the limit",
	"file 512 GB and sparse, nblocks 0x7fffffff, list cycle",
	"file 64 MB longer and sparse, fresh 0",
};
/* Not with a forced repair: a repair that wrote into the holes of this
 * file would fill the machine's tmpfs.  The next case tells that at a
 * size that hurts no one. */
#define C_SPARSE_HUGE 34
#define C_SPARSE 35
#define SPARSE_EXTRA (64 << 20)
#define NCORRUPTION ((int)(sizeof(corruption) / sizeof(corruption[0])))

static void corrupt(struct qfile *f, int c, unsigned *rnd)
{
	struct t_msq *h = f->h;
	struct t_first *m0 = tmsg(f, 0), *m1 = tmsg(f, 1), *m2 = tmsg(f, 2);
	uint32_t *c1;

	switch (c) {
	case 0: h->tail = 0xffffff; break;
	case 1: h->tail = 0xffffffff; break;
	case 2: h->tail = past_map(f); break;
	case 3: h->tail = f->free_blk; break;
	case 4: h->tail = f->msg[1]; break;
	case 5: h->head = 0xfffffff0; break;
	case 6: tmsg(f, f->nmsg - 1)->next_msg = f->msg[0]; break;
	case 7: m1->next_msg = f->msg[1]; break;
	case 8: m0->size = UINT64_MAX; break;
	case 9:
		/* m2 spans many blocks: its second one points at itself. */
		c1 = tblk(f, m2->next_blk);
		if (c1)
			*c1 = m2->next_blk;
		m2->size = T_FIRST_DATA + (uint64_t)T_CONT_DATA * 0xfffffffeu;
		break;
	case 10: m0->size = T_FIRST_DATA + (uint64_t)T_CONT_DATA * f->nblk; break;
	case 11: m2->next_blk = 0xffffff00; break;
	case 12: m2->next_blk = f->msg[2]; break;
	case 13: m0->type = INT64_MIN; m1->type = 0; break;
	case 14: h->free_head = 0xfffffff0; break;
	case 15: *(uint32_t *)tblk(f, f->free_blk) = f->free_blk; break;
	case 16: h->free_head = 0; h->fresh = 0xffffffff; break;
	case 17: h->free_head = 0; h->fresh = 0x1000000; break;
	case 18: h->free_head = 0; h->fresh = past_map(f); break;
	case 19: h->free_head = 0; h->fresh = 0; break;
	case 20: h->nblocks = 0; break;
	case 21: h->nblocks = 2; break;
	case 22: h->nblocks -= 1; break;
	case 23: h->nblocks = 0x7fffffff; h->fresh = 0x1000000; break;
	case 24: h->nblocks = 0x7fffffff; break;
	case 25:
		for (int i = 0; i < T_WAITERS; i++) {
			struct t_waiter *w = &h->w[i];

			w->kind = T_W_RECV;
			w->result = 0;
			w->ticket = rand64(rnd);
			w->mode = rand_r(rnd) % 7;
			w->msgtyp = rand_r(rnd) % 5 - 2;
			w->size = (uint64_t)(rand_r(rnd) % 9000);
			w->proc_slot = (uint32_t)rand_r(rnd);
			w->pid = rand_r(rnd);
		}
		h->nrecv = T_WAITERS;
		break;
	case 26: {
		static const uint32_t msgs[] = { 0, 0xffffffff, 0x7fffffff };

		for (int i = 0; i < 8; i++) {
			struct t_waiter *w = &h->w[i];

			w->kind = T_W_RECV;
			w->result = T_R_MSG;
			w->ticket = rand64(rnd);
			w->msg = i < 3 ? msgs[i] : i == 3 ? past_map(f) :
				 i == 4 ? f->free_blk : f->msg[i - 5];
			w->proc_slot = (uint32_t)rand_r(rnd);
		}
		m0->rsv = 6;
		m0->rsv_ticket = (uint32_t)h->w[5].ticket;
		m1->rsv = 7;
		h->nrsv = 5;
		break;
	}
	case 27:
		for (size_t k = 0; k < sizeof(h->w); k++)
			((unsigned char *)h->w)[k] = (unsigned char)rand_r(rnd);
		h->nrecv = h->nsend = h->nrsv = 3;
		break;
	case 28:
		for (int i = 0; i < f->nmsg; i++) {
			static const uint32_t rsvs[] = { 0xffffffff, 129, 1, 128 };

			tmsg(f, i)->rsv = i < 4 ? rsvs[i] :
				(uint32_t)rand_r(rnd) % 130;
			tmsg(f, i)->rsv_ticket = (uint32_t)rand_r(rnd);
		}
		h->nrsv = (uint32_t)rand_r(rnd);
		break;
	case 29:
		h->qnum = h->cbytes = INT64_MAX;
		h->qbytes = rand_r(rnd) % 2 ? UINT64_MAX : 0;
		h->nrecv = h->nsend = h->nrsv = h->overflow_waiters = 0xffffffff;
		h->ticket = UINT64_MAX;
		h->undo_ticket = rand64(rnd);
		break;
	case 30:
		for (char *p = (char *)&h->stime; p < (char *)h->w; p++)
			*p = (char)rand_r(rnd);
		break;
	case 31:
		for (int i = 0; i < 64; i++) {
			unsigned char *b = tblk(f, 1 + (uint32_t)rand_r(rnd) % (f->nblk - 1));

			for (int k = 0; k < 32; k++)
				b[k] = (unsigned char)rand_r(rnd);
		}
		break;
	case C_SPARSE_HUGE:
		if (ftruncate(f->fd, (off_t)T_ARENA + (off_t)0x7fffffff * T_BLK) < 0)
			CHECK(0, "cannot make the file 512 GB long");
		h->nblocks = 0x7fffffff;
		tmsg(f, f->nmsg - 1)->next_msg = f->msg[0];
		break;
	case C_SPARSE:
		if (ftruncate(f->fd, (off_t)(f->len + SPARSE_EXTRA)) < 0)
			CHECK(0, "cannot make the file longer");
		h->nblocks = (uint32_t)((f->len + SPARSE_EXTRA - T_ARENA) / T_BLK);
		h->fresh = 0;
		break;
	case 32:	/* a repair must not free what they claim */
		for (int i = 0; i < 8; i++) {
			struct t_waiter *w = &h->w[i];

			w->kind = T_W_COPY;
			w->msg = i < f->nmsg ? f->msg[i] : f->free_blk;
			w->size = (uint64_t)(rand_r(rnd) % 9000);
			w->proc_slot = (uint32_t)rand_r(rnd);
			w->pid = dead_pid();
		}
		h->inflight = 8 * 9000;
		break;
	case 33:
		h->inflight = rand_r(rnd) % 2 ? UINT64_MAX : h->qbytes;
		break;
	}
}

/* ---- what a victim does, and what it checks --------------------------- */

/* A stray write past the queue's mapping lands here, if the address after
 * the mapping was free to take. */
static unsigned char *canary;
#define CANARY_LEN (64 * 1024)

/* What the victims forked from us saw, in memory shared with them. */
struct hostile_stats {
	_Atomic long victims, canaries, calls, succeeded;
};
static struct hostile_stats *stats;

/* Moves this process's mapping of queue q to the front of a reservation
 * whose rest is the canary.  (Where the kernel would put a new mapping
 * cannot be told: it aligns big ones.)  The process is in no call and has
 * one thread, so the map's base can change under nobody. */
static void canary_place(int q)
{
	struct uipc_map *m;
	unsigned char *r;
	size_t span;

	if (uipc_obj_get(UIPC_MSG, q, &m) < 0)
		return;
	span = (m->len + 4095) & ~(size_t)4095;
	r = mmap(NULL, span + CANARY_LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r != MAP_FAILED &&
	    mremap(m->base, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED, r) ==
	    (void *)r) {
		m->base = r;
		canary = r + span;
		memset(canary, 0xa5, CANARY_LEN);
		if (stats)
			stats->canaries++;
	} else if (r != MAP_FAILED) {
		munmap(r, span + CANARY_LEN);
	}
	uipc_map_put(m);
}

static void canary_check(void)
{
	for (size_t i = 0; canary && i < CANARY_LEN; i++)
		if (canary[i] != 0xa5) {
			fprintf(stderr, "a write %zu bytes past the queue's mapping\n", i);
			_exit(5);
		}
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Interrupts the main thread every 20 ms, so that a call that blocks, as
 * a queue made full or empty makes it, returns EINTR. */
static void *interrupter(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;

	for (;;) {
		usleep(20000);
		pthread_kill(main_thread, SIGUSR1);
	}
	return NULL;
}

static void start_interrupter(void)
{
	static pthread_t self, t;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	self = pthread_self();
	pthread_create(&t, NULL, interrupter, &self);
}

/* Ends the process (status 3) if expr took more than CALL_LIMIT_NS. */
#define TIMED(what, expr)						\
	({								\
		int64_t t0_ = mono_ns();				\
		long r_ = (long)(expr);					\
		int64_t dt_ = mono_ns() - t0_;				\
		if (dt_ > CALL_LIMIT_NS) {				\
			fprintf(stderr, "%s took %.1f s\n", (what),	\
				(double)dt_ / 1e9);			\
			_exit(3);					\
		}							\
		if (stats) {						\
			stats->calls++;					\
			stats->succeeded += r_ >= 0;			\
		}							\
		r_;							\
	})

static void check_rcv(const char *what, long r, size_t bufsz)
{
	if (r > (long)bufsz) {
		fprintf(stderr, "%s received %ld bytes into %zu\n", what, r, bufsz);
		_exit(4);
	}
}

#define RCV(what, bufsz, typ, flg)					\
	check_rcv(what, TIMED(what, uipc_msgrcv(q, &m, (bufsz), (typ), (flg))), \
		  (bufsz))

/* Every kind of call on queue q; blocking ones too if blocking (then the
 * interrupter must run). */
static void probe_ops(int q, unsigned *rnd, int blocking)
{
	static struct msg m;
	struct msqid_ds ds;
	struct msginfo mi;

	m.type = 1 + rand_r(rnd) % 4;
	memset(m.text, 'x', 8000);
	TIMED("msgsnd 100", uipc_msgsnd(q, &m, 100, IPC_NOWAIT));
	TIMED("msgsnd 7000", uipc_msgsnd(q, &m, 7000, IPC_NOWAIT));
	TIMED("msgsnd 0", uipc_msgsnd(q, &m, 0, IPC_NOWAIT));
	RCV("msgrcv -3", sizeof(m.text), -3, IPC_NOWAIT | MSG_NOERROR);
	RCV("msgrcv any", sizeof(m.text), 0, IPC_NOWAIT);
	RCV("msgrcv 16 NOERROR", 16, 0, IPC_NOWAIT | MSG_NOERROR);
	RCV("msgrcv 1", 1, 0, IPC_NOWAIT);
	RCV("msgrcv except 1", sizeof(m.text), 1, IPC_NOWAIT | MSG_EXCEPT);
	RCV("msgrcv type 2", sizeof(m.text), 2, IPC_NOWAIT);
	RCV("MSG_COPY", sizeof(m.text), rand_r(rnd) % 4, IPC_NOWAIT | MSG_COPY);
	if (TIMED("IPC_STAT", uipc_msgctl(q, IPC_STAT, &ds)) == 0) {
		ds.msg_qbytes = 20000;	/* grows the file (we are root) */
		TIMED("IPC_SET", uipc_msgctl(q, IPC_SET, &ds));
	}
	TIMED("MSG_STAT_ANY", uipc_msgctl(q % 32768, MSG_STAT_ANY, &ds));
	TIMED("MSG_INFO", uipc_msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&mi));
	if (blocking) {
		RCV("blocking msgrcv type 99", sizeof(m.text), 99, 0);
		RCV("blocking msgrcv", sizeof(m.text), 0, MSG_NOERROR);
		TIMED("blocking msgsnd", uipc_msgsnd(q, &m, 8000, 0));
	}
}

/* A probe in a fresh process: probe_ops, with the queue mapped first. */
static void probe(int q)
{
	unsigned rnd = (unsigned)getpid();

	signal(SIGALRM, SIG_DFL);
	alarm(10);
	canary_place(q);
	start_interrupter();
	probe_ops(q, &rnd, 1);
	canary_check();
}

/* A victim forked from us, the queue mapped already: waits on go, runs
 * probe_ops until deadline (once if 0), exits 0 if all was well. */
static pid_t victim(int q, int go, int64_t deadline, int blocking, unsigned seed)
{
	pid_t pid = fork();
	char c;

	if (pid != 0)
		return pid;
	signal(SIGALRM, SIG_DFL);
	alarm(10);
	stats->victims++;
	canary_place(q);
	if (blocking)
		start_interrupter();
	if (go >= 0) {
		ssize_t r;

		/* The interrupter's signals may come first. */
		while ((r = read(go, &c, 1)) < 0 && errno == EINTR)
			;
		if (r != 1)
			_exit(2);
	}
	do
		probe_ops(q, &seed, blocking);
	while (mono_ns() < deadline);
	canary_check();
	_exit(0);
}

/* Reaps pid within limit_ns; a death by signal, a hang or a bad status
 * fails. */
static void reap_victim(pid_t pid, const char *what, int64_t limit_ns)
{
	int64_t end = mono_ns() + limit_ns;
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (mono_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			CHECK(0, "%s: a victim hung", what);
			return;
		}
		usleep(2000);
	}
	if (WIFSIGNALED(st))
		CHECK(0, "%s: a victim died of signal %d", what, WTERMSIG(st));
	else
		CHECK(WEXITSTATUS(st) == 0, "%s: a victim exited %d", what,
		      WEXITSTATUS(st));
}

/* A queue with messages of many sizes and types and a free list. */
static int hostile_queue(struct qfile *f)
{
	static const size_t sizes[] = { 10, 300, 5000, 8000, 100, 40, 2000, 0 };
	static const long types[] = { 1, 2, 3, 1, 5, 2, 7, 3 };
	struct msg m;
	int q = uipc_msgget(IPC_PRIVATE, 0644);

	memset(m.text, 'm', sizeof(m.text));
	for (int i = 0; i < 8; i++) {
		m.type = types[i];
		uipc_msgsnd(q, &m, sizes[i], IPC_NOWAIT);
	}
	uipc_msgrcv(q, &m, sizeof(m.text), 5, IPC_NOWAIT);	/* the middle */
	uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);	/* the head */
	if (qfile_open(f, q) < 0) {
		CHECK(0, "cannot set up the hostile queue");
		return -1;
	}
	return q;
}

/* Writes v into queue q's qnum and cbytes, through its file. */
static void poke_counters(int q, uint64_t v)
{
	char path[4200];
	uint64_t two[2] = { v, v };
	int fd;

	snprintf(path, sizeof(path), "%s/msg.%d", harness_ns_dir(), q);
	fd = open(path, O_RDWR);
	_Static_assert(offsetof(struct t_msq, qnum) ==
		       offsetof(struct t_msq, cbytes) + 8, "cbytes, qnum");
	if (fd < 0 || pwrite(fd, two, sizeof(two),
			     (off_t)offsetof(struct t_msq, cbytes)) != sizeof(two))
		CHECK(0, "cannot write queue %d's counters", q);
	if (fd >= 0)
		close(fd);
}

static void hostile_fields(unsigned seed)
{
	struct qfile f;
	int q, q2, ok = 1;
	unsigned rnd = seed;
	pid_t dead = dead_pid();

	q = hostile_queue(&f);
	if (q < 0)
		return;
	stats = harness_shared(sizeof(*stats));
	/* With the counters at their limits, a second queue's are too:
	 * MSG_INFO sums them with the first's. */
	q2 = uipc_msgget(IPC_PRIVATE, 0600);
	target_q = q;
	for (int c = 0; c < NCORRUPTION; c++) {
		int counters = !strcmp(corruption[c], "counters at their limits");

		poke_counters(q2, counters ? INT64_MAX : 0);
		for (int mode = 0; mode < 4; mode++) {
			char what[160];
			struct stat st;
			off_t had = 0;
			int p[2];
			pid_t pid;

			if (c == C_SPARSE_HUGE && (mode & 1))
				continue;

			/* 0, 1: a fresh process; 2, 3: one that has the queue
			 * mapped when the writer strikes.  1, 3: the lock word
			 * names a dead owner as well, so the call repairs. */
			snprintf(what, sizeof(what), "%s, %s%s", corruption[c],
				 mode < 2 ? "fresh process" : "mapped before",
				 mode & 1 ? ", forced repair" : "");
			qfile_reset(&f);
			if (fstat(f.fd, &st) == 0)
				had = (off_t)st.st_blocks * 512;
			if (mode < 2) {
				corrupt(&f, c, &rnd);
				if (mode & 1)
					force_repair(&f, c % 2 ? dead : 0);
				if (in_child("--probe", what) < 0)
					ok = 0;
			} else if (pipe(p) == 0) {
				pid = victim(q, p[0], 0, 1, seed + (unsigned)c);
				corrupt(&f, c, &rnd);
				if (mode & 1)
					force_repair(&f, c % 2 ? dead : 0);
				write(p[1], "g", 1);
				close(p[0]);
				close(p[1]);
				reap_victim(pid, what, 15000000000LL);
			}
			/* Holes are no one's blocks: nothing writes there. */
			if (c == C_SPARSE && fstat(f.fd, &st) == 0)
				CHECK((off_t)st.st_blocks * 512 - had < SPARSE_EXTRA / 8,
				      "%s: %lld MB written into the file's holes", what,
				      (long long)(((off_t)st.st_blocks * 512 - had) >> 20));
		}
	}
	qfile_reset(&f);
	qfile_close(&f);
	uipc_msgctl(q, IPC_RMID, NULL);
	poke_counters(q2, 0);
	uipc_msgctl(q2, IPC_RMID, NULL);
	_Static_assert(C_SPARSE == NCORRUPTION - 1, "the sparse cases come last");
	printf("     %ld victims (%ld with a canary after the queue), %ld calls, "
	       "%ld succeeded\n", (long)stats->victims, (long)stats->canaries,
	       (long)stats->calls, (long)stats->succeeded);
	if (ok && !harness_failures)
		printf("ok   %d corruptions of the queue's fields, each in a fresh "
		       "and an already mapped process, with and without a repair\n",
		       NCORRUPTION);
}

/* The writer at work while the victims run: for `ms` per round, garbage
 * into the fields of round's kind, the good file back now and then. */
static void hostile_concurrent(unsigned seed)
{
	static const char *const focus[] = {
		"geometry (head, tail, nblocks, fresh, free list, lock word)",
		"chains (sizes, types, next blocks, next messages, reservations)",
		"waiters (kind, result, message, ticket, size, futex, counts)",
	};
	unsigned rnd = seed;
	struct qfile f;
	pid_t dead = dead_pid();
	int q;

	q = hostile_queue(&f);
	if (q < 0)
		return;
	target_q = q;
	stats = harness_shared(sizeof(*stats));
	for (int round = 0; round < 3; round++) {
		int64_t end = mono_ns() + 1500000000LL;
		pid_t v[3];
		long writes = 0;

		qfile_reset(&f);
		for (int i = 0; i < 3; i++)
			v[i] = victim(q, -1, end, i == 2, seed * 3 + (unsigned)i);
		while (mono_ns() < end) {
			struct t_msq *h = f.h;
			uint32_t b = 1 + (uint32_t)rand_r(&rnd) % (f.nblk - 1);
			struct t_first *fb = tblk(&f, b);
			struct t_waiter *w = &h->w[rand_r(&rnd) % T_WAITERS];
			uint32_t v32 = rand_r(&rnd) % 3 ? (uint32_t)rand_r(&rnd) % (f.nblk + 2) :
				(uint32_t)rand64(&rnd);
			int k = rand_r(&rnd) % 8;

			if (rand_r(&rnd) % 16 == 0) {
				qfile_restore(&f);
				continue;
			}
			writes++;
			if (round == 0) {
				switch (k) {
				case 0: h->tail = v32; break;
				case 1: h->head = v32; break;
				case 2: h->nblocks = rand_r(&rnd) % 2 ? 0x7fffffff : v32; break;
				case 3: h->fresh = rand_r(&rnd) % 2 ? 0x1000000 : v32; break;
				case 4: h->free_head = v32; break;
				case 5: h->qbytes = rand64(&rnd) % 40000; break;
				case 6: force_repair(&f, rand_r(&rnd) % 2 ? dead : 0); break;
				case 7: h->nblocks = ((struct t_msq *)(void *)f.good)->nblocks;
					break;
				}
			} else if (round == 1) {
				switch (k) {
				case 0: fb->size = rand_r(&rnd) % 2 ? rand64(&rnd) :
						(uint64_t)(rand_r(&rnd) % 20000); break;
				case 1: fb->next_blk = v32; break;
				case 2: fb->next_msg = v32; break;
				case 3: fb->type = (int64_t)rand64(&rnd); break;
				case 4: fb->rsv = (uint32_t)rand_r(&rnd) % 130; break;
				case 5: tmsg(&f, rand_r(&rnd) % f.nmsg)->size = rand64(&rnd); break;
				case 6: tmsg(&f, rand_r(&rnd) % f.nmsg)->next_blk = v32; break;
				case 7: force_repair(&f, 0); break;
				}
			} else {
				switch (k) {
				case 0: w->kind = (uint32_t)rand_r(&rnd) % 4; break;
				case 1: w->result = rand_r(&rnd) % 2 ? (int32_t)rand_r(&rnd) :
						-(rand_r(&rnd) % 4); break;
				case 2: w->msg = v32; break;
				case 3: w->ticket = rand64(&rnd); break;
				case 4: w->size = rand64(&rnd); break;
				case 5: __atomic_store_n(&w->futex, 1, __ATOMIC_SEQ_CST);
					syscall(SYS_futex, &w->futex, FUTEX_WAKE, 1, NULL, NULL, 0);
					break;
				case 6: h->nrecv = (uint32_t)rand_r(&rnd) % 4;
					h->nrsv = (uint32_t)rand_r(&rnd) % 4; break;
				case 7: force_repair(&f, dead); break;
				}
			}
			if (rand_r(&rnd) % 4 == 0)
				usleep((useconds_t)(rand_r(&rnd) % 300));
		}
		for (int i = 0; i < 3; i++)
			reap_victim(v[i], focus[round], 15000000000LL);
		printf("     %ld writes into the %s; victims: %ld calls, %ld "
		       "succeeded, %ld of 3 with a canary\n", writes, focus[round],
		       (long)stats->calls, (long)stats->succeeded,
		       (long)stats->canaries);
		memset(stats, 0, sizeof(*stats));
	}
	qfile_reset(&f);
	qfile_close(&f);
	uipc_msgctl(q, IPC_RMID, NULL);
	if (!harness_failures)
		printf("ok   a writer at work under three processes using the queue: "
		       "no crash, no hang, no stray write\n");
}

/* ---- the free list over a long churn -----------------------------------
 *
 * Messages of mixed sizes sent and received in a mixed order (by type, so
 * from the middle of the queue too), the same calls on the kernel's queue,
 * then all received: the two give the same answers, and every block the
 * queue ever gave out is back on its free list, once.  The list is one of
 * runs (msg.c: a freed message stays chained, a longer run is split): a
 * run dropped or linked twice shows as a count off or a block met twice.
 */
static void no_block_lost(unsigned seed)
{
	static struct msg mu, mk;
	int qu = uipc_msgget(IPC_PRIVATE, 0600), qk = msgget(IPC_PRIVATE, 0600);
	unsigned rnd = seed;
	struct qfile f;
	unsigned char *seen = NULL;
	uint32_t n = 0, runs = 0, bad = 0, fresh;
	int inq = 0;

	if (qu < 0 || qk < 0) {
		CHECK(0, "msgget: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 20000 && !harness_failures; i++) {
		if (inq == 0 || (inq < 8 && rand_r(&rnd) % 2)) {
			size_t size = (size_t)rand_r(&rnd) % 1800;	/* 8 fit */
			int ru, rk;

			mu.type = mk.type = 1 + rand_r(&rnd) % 4;
			memset(mu.text, 'a' + i % 26, size);
			memcpy(mk.text, mu.text, size);
			ru = uipc_msgsnd(qu, &mu, size, IPC_NOWAIT);
			rk = msgsnd(qk, &mk, size, IPC_NOWAIT);
			CHECK(ru == rk && ru == 0, "send %d of %zu B: uipc %d, "
			      "kernel %d", i, size, ru, rk);
			inq++;
		} else {
			long t = rand_r(&rnd) % 5;	/* 0: any; maybe none */
			ssize_t ru = uipc_msgrcv(qu, &mu, sizeof(mu.text), t,
						 IPC_NOWAIT);
			ssize_t rk = msgrcv(qk, &mk, sizeof(mk.text), t,
					    IPC_NOWAIT);

			CHECK(ru == rk && (ru < 0 || (mu.type == mk.type &&
			      !memcmp(mu.text, mk.text, (size_t)ru))),
			      "receive %d of type %ld: uipc %zd, kernel %zd", i, t,
			      ru, rk);
			inq -= ru >= 0;
		}
	}
	while (uipc_msgrcv(qu, &mu, sizeof(mu.text), 0, IPC_NOWAIT) >= 0)
		;
	memset(&f, 0, sizeof(f));
	{
		char path[4200];
		struct stat st;

		snprintf(path, sizeof(path), "%s/msg.%d", harness_ns_dir(), qu);
		f.fd = open(path, O_RDONLY);
		if (f.fd < 0 || fstat(f.fd, &st) < 0 ||
		    (size_t)st.st_size < T_ARENA) {
			CHECK(0, "cannot open queue %d's file", qu);
			goto out;
		}
		f.len = (size_t)st.st_size;
		f.p = mmap(NULL, f.len, PROT_READ, MAP_SHARED, f.fd, 0);
		if (f.p == MAP_FAILED) {
			CHECK(0, "cannot map queue %d's file", qu);
			close(f.fd);
			goto out;
		}
		f.h = (struct t_msq *)(void *)f.p;
		f.nblk = (uint32_t)((f.len - T_ARENA) / T_BLK);
	}
	seen = calloc(f.nblk + 1, 1);
	fresh = f.h->fresh;
	for (uint32_t e = f.h->free_head; e && seen && !bad && runs++ <= f.nblk;
	     e = ((struct t_first *)tblk(&f, e))->next_msg) {
		uint32_t b = e;

		for (int head = 1; b; head = 0) {
			if (!tblk(&f, b) || seen[b]) {
				bad = b;
				break;
			}
			seen[b] = 1;
			n++;
			b = head ? ((struct t_first *)tblk(&f, b))->next_blk :
				*(uint32_t *)tblk(&f, b);
		}
		if (!tblk(&f, e))
			break;
	}
	CHECK(seen && !bad && n + 1 == fresh, "after 20000 mixed calls, the "
	      "free list holds %u blocks in %u runs of the %u given out "
	      "(block %u met twice or out of the file)", n, runs,
	      fresh ? fresh - 1 : 0, bad);
	munmap(f.p, f.len);
	close(f.fd);
	if (!harness_failures)
		printf("ok   20000 mixed sends and receives as the kernel's, "
		       "every block back on the free list once (%u in %u runs)\n",
		       n, runs);
out:
	free(seen);
	if (qu >= 0)
		uipc_msgctl(qu, IPC_RMID, NULL);
	if (qk >= 0)
		msgctl(qk, IPC_RMID, NULL);
}

int main(int argc, char **argv)
{
	const char *env = getenv("MSG_ROBUST_SEED");
	unsigned seed;

	if (argc == 3) {	/* a probe run by in_child() */
		alarm(10);
		target_q = atoi(argv[2]);
		if (!strcmp(argv[1], "--expect-eio"))
			expect_eio();
		else if (!strcmp(argv[1], "--rmid"))
			return !(uipc_msgctl(target_q, IPC_RMID, NULL) == 0 &&
				 uipc_msgctl(target_q, IPC_RMID, NULL) < 0 &&
				 errno == EINVAL);
		else if (!strcmp(argv[1], "--probe"))
			probe(target_q);
		else
			try_ops();
		return 0;
	}
	harness_init(200);
	harness_allow_lost_wakes();	/* it kills wakers mid-call */
	seed = env ? (unsigned)strtoul(env, NULL, 0) :
		     (unsigned)time(NULL) ^ (unsigned)getpid() << 8;
	printf("seed %u (MSG_ROBUST_SEED=%u repeats it)\n", seed, seed);
	lock_holder_killed();
	senders_killed_in_flight();
	ns_lock_holder_killed();
	no_block_lost(seed);
	hostile_fields(seed);
	hostile_concurrent(seed);
	corrupt_files();
	spoiled_then_removed();
	return harness_done();
}
