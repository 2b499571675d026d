/*
 * sem_robust: a semaphore set whose file another user rewrites.
 *
 * A set's file gives read and write to every class its mode lets in at all
 * (store.c, file_mode), so a user allowed only to read a 0644 set can write
 * any byte of it while the owner's processes use it.  Such a user may do to
 * the set what a writer could; it must not make another user's process die
 * of a signal, hang, spend seconds in one call, answer what the kernel never
 * answers (a semop returning 5, a GETVAL of 40000) or write outside the
 * set's own file.  Errors are allowed.  The kernel has no file to corrupt,
 * so this is uipc's alone.
 *
 * The test process owns a 0644 set and plays the other user: it writes
 * through a mapping of its own.  The set's file holds, besides the header,
 * waiter records (forged ones, owned by the test process, which lives, so
 * they count as waiting), their operations in the pool, an undo entry, and
 * for some cases a committed redo log left by a "dead" lock holder.
 *  - fields: garbage into each field of the header, of the semaphores, the
 *    waiter records, the pool, the log and the undo entries, one at a time
 *    with values chosen to be out of every range, seen by a fresh process
 *    (it maps the file after the write) and written under a process that
 *    already has the set mapped and keeps using it (held, then flipped
 *    back and forth, for the checks that read a field twice);
 *  - composites: every waiter completed with a forged status; a full undo
 *    region while the header's id flips to another of the owner's sets;
 *    records put back to waiting as fast as they complete;
 *  - random: random bytes anywhere past the lock word (seed printed,
 *    SEM_ROBUST_SEED to choose it), fresh and concurrent;
 *  - and the undo region still grows (more processes with SEM_UNDO than it
 *    first holds), and the set works once its file is whole again.
 * A victim's call over CALL_MAX_S, or a victim alive after VICTIM_MAX_S,
 * fails the test, as does a death by signal or another set's file changed.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define NSEMS		5
#define CALL_MAX_S	2.0	/* one call */
#define VICTIM_MAX_S	5.0	/* one victim's whole run */
#define MAX_FAILS	6	/* then stop: each may have cost VICTIM_MAX_S */
#define HOLD_US		8000	/* a concurrent case: garbage held, */
#define FLIP_US		8000	/* then flipped */

/* ---- sem.c's file layout, mirrored (checked against the file below) ---- */

struct t_slot {
	int32_t val, pid;
	uint32_t txid, txlog;
};

struct t_waiter {
	uint32_t futex, state;
	int32_t status, list;
	uint32_t alter, nsops, sops_off, blocking, proc_slot, proc_gen;
	int32_t pid, undo;
	int64_t pos;
	uint64_t pad;
};

struct t_logent {
	uint16_t kind, has_adj;
	uint32_t a;
	int32_t val, pid, adj;
	uint32_t b;
	int64_t pos;
};

struct t_undo {
	uint32_t state, proc_slot, proc_gen;
	int32_t pid;
	uint32_t start;
	int16_t adj[];
};

struct t_set {
	struct uipc_obj o;
	int64_t otime;
	int32_t nsems;
	uint32_t pool_cap, log_cap, undo_size, undo_cap, undo_hwm;
	uint64_t sems_off, waiters_off, pool_off, log_off, undo_off;
	uint32_t nwait, complex_count, galter, nundo;
	uint32_t txid, needs_repair;
	int64_t pos_lo, pos_hi;
	uint64_t ticket;
	uint32_t overflow_seq, overflow_waiters, log_n, log_committed;
};

_Static_assert(sizeof(struct t_slot) == 16, "slot");
_Static_assert(sizeof(struct t_waiter) == 64, "waiter");
_Static_assert(sizeof(struct t_logent) == 32, "log entry");

#define W_WAIT		1
#define W_DONE		2
#define L_GLOBAL	(-1)
#define L_SEM		1
#define L_WAITER	2
#define L_WPOS		5
#define SLOT_LOCKED	((uint64_t)1 << 63)

/* ---- the attacker's view -------------------------------------------------- */

static int set_id, other_id;	/* the victim's set, another of its sets */
static char *file;		/* our own mapping of the set's file */
static size_t file_len;
static int file_fd;
static char *base_img;		/* the file as every case starts */
static char *other_img;		/* the other set's file */
static size_t other_len;
static struct uipc_self me;	/* the forged records' owner: alive */
static int nfail_victims;

/* The set's geometry as it was made: the attacker must not go by the
 * header it scribbles on either. */
static struct t_set G;

static struct t_set *H(void)
{
	return (struct t_set *)(void *)file;
}

static size_t at_slot(int i)
{
	return (size_t)G.sems_off + (size_t)i * sizeof(struct t_slot);
}

static size_t at_waiter(int i)
{
	return (size_t)G.waiters_off + (size_t)i * sizeof(struct t_waiter);
}

static size_t at_pool(int i)
{
	return (size_t)G.pool_off + (size_t)i * sizeof(struct sembuf);
}

static size_t at_log(int i)
{
	return (size_t)G.log_off + (size_t)i * sizeof(struct t_logent);
}

static size_t at_undo(int i)
{
	return (size_t)G.undo_off + (size_t)i * G.undo_size;
}

static void poke(size_t off, int size, uint64_t v)
{
	switch (size) {
	case 1: __atomic_store_n((uint8_t *)(file + off), (uint8_t)v, __ATOMIC_RELAXED); break;
	case 2: __atomic_store_n((uint16_t *)(void *)(file + off), (uint16_t)v, __ATOMIC_RELAXED); break;
	case 4: __atomic_store_n((uint32_t *)(void *)(file + off), (uint32_t)v, __ATOMIC_RELAXED); break;
	default: __atomic_store_n((uint64_t *)(void *)(file + off), v, __ATOMIC_RELAXED); break;
	}
}

static uint64_t peek(const char *img, size_t off, int size)
{
	uint64_t v = 0;

	memcpy(&v, img + off, (size_t)size);
	return v;
}

static unsigned rnd_state;

static unsigned rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void spin_us(double us)
{
	double end = now() + us * 1e-6;

	while (now() < end)
		;
}

/* ---- the victim: the set's owner, using it -------------------------------- */

static void took(const char *what, double t0)
{
	double dt = now() - t0;

	if (dt > CALL_MAX_S) {
		fprintf(stderr, "victim %d: %s took %.1f s\n", (int)getpid(), what, dt);
		_exit(3);
	}
}

#define TIMED(what, expr) \
	({ double t0_ = now(); long r_ = (long)(expr); took(what, t0_); r_; })

/* What semop may answer: 0, or -1 with an errno the kernel gives (EIO for
 * a corrupt set). */
static void semop_ok(const char *what, long r)
{
	if (r == 0)
		return;
	if (r == -1) {
		switch (errno) {
		case EAGAIN: case EINTR: case EIDRM: case EINVAL: case EFBIG:
		case E2BIG: case ERANGE: case EIO: case ENOMEM: case EACCES:
			return;
		}
	}
	fprintf(stderr, "victim %d: %s returned %ld (%s)\n", (int)getpid(), what,
		r, r == -1 ? strerror(errno) : "no error");
	_exit(4);
}

static void in_range(const char *what, long r, long lo, long hi)
{
	if (r == -1 || (r >= lo && r <= hi))
		return;
	fprintf(stderr, "victim %d: %s returned %ld\n", (int)getpid(), what, r);
	_exit(4);
}

static void op(const char *what, int id, struct sembuf *sops, size_t n,
	       long timeout_ns)
{
	struct timespec ts = { 0, timeout_ns };

	semop_ok(what, TIMED(what, uipc_semtimedop(id, sops, n,
						   timeout_ns ? &ts : NULL)));
}

/* One round of what an owner does with its set; nothing waits longer than
 * a few milliseconds. */
static void victim_round(int id)
{
	unsigned short vals[NSEMS] = { 2, 2, 2, 0, 1 }, got[NSEMS];
	struct uipc_sem_info info;
	struct semid_ds ds;
	struct seminfo si;

	op("down", id, (struct sembuf[]){ SOP(0, -1, IPC_NOWAIT) }, 1, 0);
	op("up", id, (struct sembuf[]){ SOP(0, 1, 0) }, 1, 0);
	op("post 3", id, (struct sembuf[]){ SOP(3, 1, 0) }, 1, 0);
	op("take 3", id, (struct sembuf[]){ SOP(3, -1, IPC_NOWAIT) }, 1, 0);
	op("take 4", id, (struct sembuf[]){ SOP(4, -1, IPC_NOWAIT) }, 1, 0);
	op("post 4", id, (struct sembuf[]){ SOP(4, 1, 0) }, 1, 0);
	op("undo down", id, (struct sembuf[]){ SOP(2, -1, SEM_UNDO | IPC_NOWAIT) }, 1, 0);
	op("undo up", id, (struct sembuf[]){ SOP(2, 1, SEM_UNDO) }, 1, 0);
	op("complex", id, (struct sembuf[]){ SOP(0, 1, 0), SOP(1, 1, SEM_UNDO),
					     SOP(2, -1, IPC_NOWAIT) }, 3, 0);
	op("complex back", id, (struct sembuf[]){ SOP(0, -1, IPC_NOWAIT),
						  SOP(1, -1, SEM_UNDO | IPC_NOWAIT),
						  SOP(2, 1, 0) }, 3, 0);
	op("zero", id, (struct sembuf[]){ SOP(3, 0, IPC_NOWAIT) }, 1, 0);
	/* These wait (a record of ours, operations in the pool) and time
	 * out, or are completed by whatever the file says. */
	op("wait", id, (struct sembuf[]){ SOP(3, -1, 0) }, 1, 2000000);
	op("wait complex", id, (struct sembuf[]){ SOP(0, -1, SEM_UNDO),
						  SOP(4, 0, 0) }, 2, 2000000);
	in_range("GETVAL", TIMED("GETVAL", uipc_semctl(id, 0, GETVAL)), 0, 32767);
	TIMED("GETALL", uipc_semctl(id, 0, GETALL, got));
	in_range("GETNCNT", TIMED("GETNCNT", uipc_semctl(id, 3, GETNCNT)), 0, 256);
	in_range("GETZCNT", TIMED("GETZCNT", uipc_semctl(id, 4, GETZCNT)), 0, 256);
	in_range("GETPID", TIMED("GETPID", uipc_semctl(id, 1, GETPID)), 0, INT_MAX);
	in_range("IPC_STAT", TIMED("IPC_STAT", uipc_semctl(id, 0, IPC_STAT, &ds)), 0, 0);
	in_range("SEM_STAT", TIMED("SEM_STAT", uipc_semctl(id % 32768, 0, SEM_STAT, &ds)),
		 id, id);
	TIMED("SEM_INFO", uipc_semctl(0, 0, SEM_INFO, &si));
	in_range("SETVAL", TIMED("SETVAL", uipc_semctl(id, 4, SETVAL, 1)), 0, 0);
	in_range("SETALL", TIMED("SETALL", uipc_semctl(id, 0, SETALL, vals)), 0, 0);
	if (TIMED("snapshot", uipc_sem_snapshot(id, &info)) == 0)
		free(info.sem);
}

/* A victim in a fresh process (exec'd: nothing mapped or cached). */
static int victim_main(int id, int rounds)
{
	alarm(20);
	for (int i = 0; i < rounds; i++)
		victim_round(id);
	return 0;
}

/* Waits for pid at most VICTIM_MAX_S; a failure is reported with what. */
static int reap_victim(pid_t pid, const char *what)
{
	double end = now() + VICTIM_MAX_S;
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			CHECK(0, "%s: victim still running after %.0f s (hung)", what,
			      VICTIM_MAX_S);
			nfail_victims++;
			return -1;
		}
		usleep(1000);
	}
	if (WIFSIGNALED(st)) {
		CHECK(0, "%s: victim died of signal %d (%s)", what, WTERMSIG(st),
		      strsignal(WTERMSIG(st)));
		nfail_victims++;
		return -1;
	}
	if (WEXITSTATUS(st) != 0) {
		CHECK(0, "%s: victim exited %d (3: a slow call, 4: a bad answer)",
		      what, WEXITSTATUS(st));
		nfail_victims++;
		return -1;
	}
	return 0;
}

static int fresh_victim(const char *what)
{
	char a1[16];
	pid_t pid = fork();

	if (pid == 0) {
		snprintf(a1, sizeof(a1), "%d", set_id);
		execl("/proc/self/exe", "victim", "--victim", a1, "2", (char *)NULL);
		_exit(126);
	}
	return reap_victim(pid, what);
}

static volatile int *stop_flag;	/* shared with a mapped victim */

/* A victim that already has the set mapped (ours, inherited) and uses it
 * until told to stop; started after its first round. */
static pid_t mapped_victim(void)
{
	pid_t pid;

	*stop_flag = 0;
	stop_flag[1] = 0;
	pid = fork();
	if (pid == 0) {
		alarm(20);
		for (;;) {
			victim_round(set_id);
			stop_flag[1]++;
			if (*stop_flag)
				_exit(0);
		}
	}
	/* (One that dies first is a zombie for reap_victim to find.) */
	for (double end = now() + CALL_MAX_S; !stop_flag[1] && now() < end;)
		usleep(200);
	return pid;
}

static int too_many(void)
{
	return nfail_victims >= MAX_FAILS;
}

/* ---- the file's state ----------------------------------------------------- */

static void restore(void)
{
	struct stat st;

	if (fstat(file_fd, &st) == 0 && (size_t)st.st_size != file_len)
		ftruncate(file_fd, (off_t)file_len);
	memcpy(file, base_img, file_len);
}

/* Waiter records of the test process (alive), as a set with blocked
 * callers has them: single and complex, alter and wait-for-zero, on the
 * semaphores' lists and on the set's; their operations in the pool. */
static void forge_waiters(void)
{
	static const struct {
		int list, alter, nsops, blocking;
		struct sembuf ops[2];
	} w[] = {
		{ 3, 1, 1, 0, { SOP(3, -1, 0) } },
		{ 4, 0, 1, 0, { SOP(4, 0, 0) } },
		{ L_GLOBAL, 1, 2, 1, { SOP(0, -1, 0), SOP(3, -1, 0) } },
		{ L_GLOBAL, 0, 2, 0, { SOP(1, 0, 0), SOP(2, 0, 0) } },
		{ L_GLOBAL, 1, 1, 0, { SOP(1, -5, 0) } },
	};
	uint32_t off = 0;

	for (int i = 0; i < (int)(sizeof(w) / sizeof(w[0])); i++) {
		struct t_waiter *r = (struct t_waiter *)(void *)(file + at_waiter(i));

		memset(r, 0, sizeof(*r));
		memcpy(file + at_pool((int)off), w[i].ops,
		       (size_t)w[i].nsops * sizeof(struct sembuf));
		r->list = w[i].list;
		r->alter = (uint32_t)w[i].alter;
		r->nsops = (uint32_t)w[i].nsops;
		r->sops_off = off;
		r->blocking = (uint32_t)w[i].blocking;
		r->status = -EINTR;
		r->proc_slot = me.slot;
		r->proc_gen = me.gen;
		r->pid = me.pid;
		r->undo = -1;
		r->pos = i + 1;
		r->state = W_WAIT;
		off += (uint32_t)w[i].nsops;
	}
	H()->nwait = 5;
	H()->complex_count = 2;
	H()->galter = 2;
	H()->pos_hi = 5;
	/* Semaphores with waiters stay off the fast path. */
	for (int i = 0; i < NSEMS; i++)
		*(uint64_t *)(void *)(file + at_slot(i)) |= SLOT_LOCKED;
}

/* A lock holder that died after committing its log: the next one
 * replays it. */
static void forge_log(void)
{
	struct t_logent *e = (struct t_logent *)(void *)(file + at_log(0));

	memset(e, 0, 4 * sizeof(*e));
	e[0] = (struct t_logent){ .kind = L_SEM, .a = 1, .val = 1, .pid = me.pid,
				  .has_adj = 1, .adj = 1, .b = 0 };
	e[1] = (struct t_logent){ .kind = L_SEM, .a = 0, .val = 3, .pid = me.pid };
	e[2] = (struct t_logent){ .kind = L_WAITER, .a = 1, .val = 0 };
	e[3] = (struct t_logent){ .kind = L_WPOS, .a = 0, .val = L_GLOBAL, .pos = -1 };
	H()->log_n = 4;
	H()->log_committed = 1;
	H()->needs_repair = 1;
}

/* ---- fields --------------------------------------------------------------- */

struct field {
	const char *name;
	int size;
	size_t (*rec)(int);	/* NULL: a header field */
	int nrec;		/* records it is written into */
	size_t off;		/* within the header or the record */
	int repair;		/* meaningful with a log to replay */
};

#define HF(f) { "hdr." #f, (int)sizeof(((struct t_set *)0)->f), NULL, 1, \
		offsetof(struct t_set, f), 0 }
#define RF(rec, n, type, f, rep) { #type "." #f, (int)sizeof(((struct type *)0)->f), \
				   rec, n, offsetof(struct type, f), rep }

static const struct field fields[] = {
	HF(o.magic), HF(o.layout), HF(o.kind), HF(o.hdr_size), HF(o.state),
	HF(o.id), HF(o.key), HF(o.perm_seq), HF(o.mode), HF(o.uid), HF(o.gid),
	HF(o.cuid), HF(o.cgid), HF(o.ctime), HF(o.units),
	HF(otime), HF(nsems), HF(pool_cap), HF(log_cap), HF(undo_size),
	HF(undo_cap), HF(undo_hwm), HF(sems_off), HF(waiters_off), HF(pool_off),
	HF(log_off), HF(undo_off), HF(nwait), HF(complex_count), HF(galter),
	HF(nundo), HF(txid), HF(needs_repair), HF(pos_lo), HF(pos_hi),
	HF(overflow_seq), HF(overflow_waiters), HF(log_n), HF(log_committed),
	RF(at_slot, NSEMS, t_slot, val, 0), RF(at_slot, NSEMS, t_slot, pid, 0),
	RF(at_slot, NSEMS, t_slot, txid, 0), RF(at_slot, NSEMS, t_slot, txlog, 0),
	RF(at_waiter, 8, t_waiter, futex, 0), RF(at_waiter, 8, t_waiter, state, 0),
	RF(at_waiter, 8, t_waiter, status, 0), RF(at_waiter, 8, t_waiter, list, 0),
	RF(at_waiter, 8, t_waiter, alter, 0), RF(at_waiter, 8, t_waiter, nsops, 0),
	RF(at_waiter, 8, t_waiter, sops_off, 0), RF(at_waiter, 8, t_waiter, blocking, 0),
	RF(at_waiter, 8, t_waiter, proc_slot, 0), RF(at_waiter, 8, t_waiter, pid, 0),
	RF(at_waiter, 8, t_waiter, undo, 0), RF(at_waiter, 8, t_waiter, pos, 0),
	RF(at_pool, 8, sembuf, sem_num, 0), RF(at_pool, 8, sembuf, sem_op, 0),
	RF(at_pool, 8, sembuf, sem_flg, 0),
	RF(at_log, 8, t_logent, kind, 1), RF(at_log, 8, t_logent, has_adj, 1),
	RF(at_log, 8, t_logent, a, 1), RF(at_log, 8, t_logent, val, 1),
	RF(at_log, 8, t_logent, adj, 1), RF(at_log, 8, t_logent, b, 1),
	RF(at_log, 8, t_logent, pos, 1),
	RF(at_undo, 8, t_undo, state, 0), RF(at_undo, 8, t_undo, proc_slot, 0),
	RF(at_undo, 8, t_undo, pid, 0), RF(at_undo, 8, t_undo, start, 0),
	{ "t_undo.adj[0]", 2, at_undo, 8, offsetof(struct t_undo, adj), 0 },
	{ "t_undo.adj[2]", 2, at_undo, 8, offsetof(struct t_undo, adj) + 4, 0 },
};
#define NFIELDS ((int)(sizeof(fields) / sizeof(fields[0])))

/* Values out of every range a field has. */
static const uint64_t vals4[] = { 0, 1, 2, 0x10000, 0x7fffffff, 0x80000000u,
				  0xffffffffu };
static const uint64_t vals8[] = { 0, 1ull << 32, 0x7fffffffffffffffull,
				  0x8000000000000000ull, ~0ull };
static const uint64_t vals2[] = { 0, 0x7fff, 0x8000, 0xffff };

static int field_vals(const struct field *f, const uint64_t **v)
{
	switch (f->size) {
	case 2: *v = vals2; return (int)(sizeof(vals2) / sizeof(vals2[0]));
	case 4: *v = vals4; return (int)(sizeof(vals4) / sizeof(vals4[0]));
	default: *v = vals8; return (int)(sizeof(vals8) / sizeof(vals8[0]));
	}
}

static void field_write(const struct field *f, uint64_t v)
{
	for (int r = 0; r < f->nrec; r++)
		poke((f->rec ? f->rec(r) : 0) + f->off, f->size, v);
}

static void field_back(const struct field *f)
{
	for (int r = 0; r < f->nrec; r++) {
		size_t off = (f->rec ? f->rec(r) : 0) + f->off;

		poke(off, f->size, peek(base_img, off, f->size));
	}
}

/* Each field and value, in a fresh process. */
static void fields_fresh(void)
{
	char what[128];
	int cases = 0;

	for (int i = 0; i < NFIELDS && !too_many(); i++) {
		const struct field *f = &fields[i];
		const uint64_t *v;
		int nv = field_vals(f, &v);

		for (int k = 0; k < nv && !too_many(); k++) {
			restore();
			if (f->repair)
				forge_log();
			field_write(f, v[k]);
			snprintf(what, sizeof(what), "fresh: %s = %#llx", f->name,
				 (unsigned long long)v[k]);
			fresh_victim(what);
			cases++;
		}
	}
	restore();
	printf("%s %d fields x values, each seen by a fresh process\n",
	       harness_failures ? "FAIL" : "ok  ", cases);
}

/* Garbage under a process that has the set mapped (and has used it once,
 * before start() if any): held a while, then flipped with the true value,
 * for the checks that read a field twice. */
static void attack_mapped(const char *what, void (*start)(void),
			  void (*bad)(void *), void (*good)(void *), void *arg)
{
	pid_t pid;
	double end;

	pid = mapped_victim();
	if (start)
		start();
	bad(arg);
	spin_us(HOLD_US);
	end = now() + FLIP_US * 1e-6;
	while (now() < end) {
		good(arg);
		spin_us((double)(rnd() % 4));
		bad(arg);
		spin_us((double)(rnd() % 4));
	}
	good(arg);
	*stop_flag = 1;
	reap_victim(pid, what);
}

struct fv {
	const struct field *f;
	uint64_t v;
};

static void fv_bad(void *arg)
{
	struct fv *x = arg;

	field_write(x->f, x->v);
}

static void fv_good(void *arg)
{
	field_back(((struct fv *)arg)->f);
}

static void fields_mapped(void)
{
	char what[128];
	int cases = 0;

	for (int i = 0; i < NFIELDS && !too_many(); i++) {
		const struct field *f = &fields[i];
		const uint64_t *v;
		int nv = field_vals(f, &v);

		/* The largest values and one from the middle: enough to
		 * address far out, divide by zero or loop for long. */
		for (int k = 0; k < nv && !too_many(); k++) {
			struct fv x = { f, v[k] };

			if (k != 0 && k != nv - 1 && k != nv / 2)
				continue;
			restore();
			if (f->repair)
				forge_log();
			snprintf(what, sizeof(what), "mapped: %s = %#llx", f->name,
				 (unsigned long long)v[k]);
			attack_mapped(what, NULL, fv_bad, fv_good, &x);
			cases++;
		}
	}
	restore();
	printf("%s %d fields x values, written under a process using the set\n",
	       harness_failures ? "FAIL" : "ok  ", cases);
}

/* ---- composites ----------------------------------------------------------- */

static char *read_file(int id, size_t *len);

/* The other set's file is as it was: nobody wrote outside the victim's. */
static void other_intact(const char *what)
{
	size_t n = 0;
	char *now_other = read_file(other_id, &n);

	CHECK(now_other && n == other_len && !memcmp(now_other, other_img, n),
	      "%s: another set's file changed (%zu bytes, was %zu): a victim wrote "
	      "outside its set", what, now_other ? n : 0, other_len);
	free(now_other);
}

/* Every waiting record completed, with a status no waker writes. */
static void complete_all(void *arg)
{
	for (int i = 0; i < 256; i++) {
		struct t_waiter *w = (struct t_waiter *)(void *)(file + at_waiter(i));

		if (__atomic_load_n(&w->state, __ATOMIC_RELAXED) == W_WAIT) {
			w->status = (int32_t)(intptr_t)arg;
			__atomic_store_n(&w->state, W_DONE, __ATOMIC_RELEASE);
			__atomic_store_n(&w->futex, 1, __ATOMIC_RELEASE);
			uipc_futex_wake((_Atomic uint32_t *)(void *)&w->futex, 1);
		}
	}
}

static void nothing(void *arg)
{
	(void)arg;
}

/* The undo region full of live owners' entries, so a SEM_UNDO caller must
 * grow it, while the header's id names another of the owner's sets
 * whenever the set is locked: after the lock holder has checked the id,
 * before it opens the file to grow. */
static void id_on_lock(void *arg)
{
	double end = now() + (HOLD_US + FLIP_US) * 1e-6;
	_Atomic uint64_t *lock = &H()->o.lock.word;

	(void)arg;
	while (now() < end) {
		int want = atomic_load_explicit(lock, memory_order_relaxed) ?
			   other_id : set_id;

		if (__atomic_load_n(&H()->o.id, __ATOMIC_RELAXED) != want)
			__atomic_store_n(&H()->o.id, want, __ATOMIC_RELAXED);
	}
}

static void id_real(void *arg)
{
	(void)arg;
	H()->o.id = set_id;
}

static void fill_undo(void)
{
	for (uint32_t i = 0; i < G.undo_cap; i++) {
		struct t_undo *u = (struct t_undo *)(void *)(file + at_undo((int)i));

		memset(u, 0, G.undo_size);
		u->proc_slot = me.slot;
		u->proc_gen = me.gen;
		u->pid = me.pid;
		u->start = me.start;
		u->state = 1;
	}
	H()->undo_hwm = G.undo_cap;
	H()->nundo = G.undo_cap;
}

/* Records put back to waiting as fast as they complete: one whose
 * operation (wait for zero on a zero semaphore, on the alter list) always
 * succeeds would have update_queue start over for ever. */
static void rewait(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++) {
		struct t_waiter *w = (struct t_waiter *)(void *)(file + at_waiter(i));

		__atomic_store_n(&w->state, W_WAIT, __ATOMIC_RELAXED);
	}
}

static void composites(void)
{
	struct stat st;
	int grown = 0;

	for (int k = 0; k < 3 && !too_many(); k++) {
		restore();
		attack_mapped("waiters completed with status 5", NULL, complete_all,
			      nothing, (void *)(intptr_t)5);
		restore();
		attack_mapped("waiters completed with status -4096", NULL, complete_all,
			      nothing, (void *)(intptr_t)-4096);
	}
	for (int k = 0; k < 20 && !too_many(); k++) {
		restore();
		/* Filled once the victim has its entry, which it then loses:
		 * its next SEM_UNDO operation must grow the region. */
		attack_mapped("full undo region, id naming another set under the lock",
			      fill_undo, id_on_lock, id_real, NULL);
		if (fstat(file_fd, &st) == 0)
			grown += (size_t)st.st_size > file_len;
	}
	for (int k = 0; k < 3 && !too_many(); k++) {
		restore();
		for (int i = 0; i < 5; i++) {
			struct t_waiter *w = (struct t_waiter *)(void *)(file + at_waiter(i));
			struct sembuf zero = SOP(3, 0, 0);

			memcpy(file + at_pool((int)w->sops_off), &zero, sizeof(zero));
			w->nsops = 1;
			w->alter = 1;
			w->list = L_GLOBAL;
		}
		attack_mapped("records put back to waiting", NULL, rewait, nothing, NULL);
	}
	restore();
	other_intact("a full undo region under a forged id");
	printf("%s composites: forged statuses, a full undo region under a forged id "
	       "(grown in %d of 20), records put back to waiting\n",
	       harness_failures ? "FAIL" : "ok  ", grown);
}

/* ---- random --------------------------------------------------------------- */

/* Random bytes in the parts of the file that are read: the header past
 * the lock word, the semaphores, the first waiter records, their pool,
 * the log and the undo entries. */
static void scribble(int nbytes)
{
	size_t lock_end = offsetof(struct uipc_obj, lock) + sizeof(struct uipc_lock);
	struct { size_t from, to; } part[6];

	part[0].from = lock_end;
	part[0].to = sizeof(struct t_set);
	part[1].from = at_slot(0);
	part[1].to = at_slot(NSEMS);
	part[2].from = at_waiter(0);
	part[2].to = at_waiter(8);
	part[3].from = at_pool(0);
	part[3].to = at_pool(16);
	part[4].from = at_log(0);
	part[4].to = at_log(8);
	part[5].from = at_undo(0);
	part[5].to = at_undo(2);
	for (int k = 0; k < nbytes; k++) {
		int p = (int)(rnd() % 6);
		size_t off = part[p].from + rnd() % (part[p].to - part[p].from);

		file[off] = (char)rnd();
	}
}

static void scribble_bad(void *arg)
{
	scribble((int)(intptr_t)arg);
}

static void random_cases(unsigned seed)
{
	char what[128];
	int n = 0;

	for (int i = 0; i < 60 && !too_many(); i++, n++) {
		restore();
		if (i % 4 == 0)
			forge_log();
		scribble(1 + (int)(rnd() % 12));
		snprintf(what, sizeof(what), "fresh: random case %d of seed %u", i, seed);
		fresh_victim(what);
	}
	for (int i = 0; i < 40 && !too_many(); i++, n++) {
		restore();
		/* Random bytes again and again while it runs. */
		snprintf(what, sizeof(what), "mapped: random case %d of seed %u", i, seed);
		attack_mapped(what, NULL, scribble_bad, nothing, (void *)(intptr_t)2);
	}
	restore();
	printf("%s %d random corruptions (seed %u)\n",
	       harness_failures ? "FAIL" : "ok  ", n, seed);
}

/* ---- what must still work -------------------------------------------------- */

/* A set whose header was spoiled can still be removed by its owner
 * (remove_corrupt), but nothing in it can be trusted to find its waiters:
 * callers blocked in semop, with and without SEM_UNDO, must still end with
 * EIDRM, as after any removal (they once slept for good). */
static void spoiled_then_removed(void)
{
	pid_t kids[2];
	int id = uipc_semget(IPC_PRIVATE, 2, 0600), st;

	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct sembuf op = { (unsigned short)i, -1,
					     (short)(i ? SEM_UNDO : 0) };
			int r;

			signal(SIGALRM, SIG_DFL);
			alarm(10);
			r = uipc_semop(id, &op, 1);
			_exit(r < 0 && errno == EIDRM ? 0 : 1);
		}
		CHECK(wait_blocked(kids[i]) == 0, "a semop does not block");
	}
	CHECK(harness_spoil_header("sem", id) == 0, "spoiling the set: %s",
	      strerror(errno));
	CHECK(uipc_semctl(id, 0, IPC_RMID) == 0,
	      "its owner cannot remove the spoiled set: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		CHECK(waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0,
		      "a blocked semop%s did not end with EIDRM (status %#x)",
		      i ? " with SEM_UNDO" : "", st);
	if (!harness_failures)
		printf("ok   removed while spoiled: its blocked callers get EIDRM\n");
}

/* More processes with SEM_UNDO than the undo region first holds: it grows
 * (each has an entry), and each one's adjustment is applied at its death. */
static void undo_grows(void)
{
	enum { N = 20 };
	int id = uipc_semget(IPC_PRIVATE, 1, 0644);
	int p[2], ok = 0;
	pid_t pid[N];
	char c;

	if (id < 0 || pipe(p) < 0) {
		CHECK(0, "semget for the growth: %s", strerror(errno));
		return;
	}
	uipc_semctl(id, 0, SETVAL, N);
	for (int i = 0; i < N; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct sembuf down = SOP(0, -1, SEM_UNDO | IPC_NOWAIT);

			alarm(20);
			c = uipc_semop(id, &down, 1) == 0 ? 'y' : 'n';
			write(p[1], &c, 1);
			pause();
			_exit(0);
		}
	}
	for (int i = 0; i < N; i++)
		if (read(p[0], &c, 1) == 1 && c == 'y')
			ok++;
	CHECK(ok == N, "%d of %d SEM_UNDO callers got an undo entry", ok, N);
	CHECK(uipc_semctl(id, 0, GETVAL) == 0, "every adjustment held: value %d",
	      uipc_semctl(id, 0, GETVAL));
	for (int i = 0; i < N; i++) {
		kill(pid[i], SIGKILL);
		waitpid(pid[i], NULL, 0);
	}
	CHECK(uipc_semctl(id, 0, GETVAL) == N, "every adjustment undone at death: value %d",
	      uipc_semctl(id, 0, GETVAL));
	uipc_semctl(id, 0, IPC_RMID);
	close(p[0]);
	close(p[1]);
	if (!harness_failures)
		printf("ok   the undo region grows past its first %d entries\n", 8);
}

static int check_main(int id)
{
	unsigned short v[NSEMS];
	struct sembuf down = SOP(0, -1, IPC_NOWAIT), up = SOP(0, 1, 0);

	alarm(20);
	if (uipc_semctl(id, 0, GETALL, v) < 0 || v[0] != 2 || v[1] != 2 ||
	    v[2] != 1 || v[3] != 0 || v[4] != 1)
		return 5;
	if (uipc_semop(id, &down, 1) < 0 || uipc_semctl(id, 0, GETVAL) != 1 ||
	    uipc_semop(id, &up, 1) < 0 || uipc_semctl(id, 0, GETVAL) != 2)
		return 6;
	return 0;
}

static char *read_file(int id, size_t *len)
{
	char path[4200];
	struct stat st;
	char *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/sem.%d", harness_ns_dir(), id);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	if (buf && pread(fd, buf, *len, 0) != (ssize_t)*len) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

int main(int argc, char **argv)
{
	unsigned short vals[NSEMS] = { 2, 2, 2, 0, 1 };
	struct sembuf undo = SOP(2, -1, SEM_UNDO);
	const char *env = getenv("SEM_ROBUST_SEED"), *only = getenv("SEM_ROBUST_ONLY");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : 20240611u;
	char path[4200], *pristine;
	pid_t pid;
	int st;

	if (argc == 4 && !strcmp(argv[1], "--victim"))
		return victim_main(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "--check"))
		return check_main(atoi(argv[2]));
	harness_init(110);
	harness_allow_lost_wakes();	/* it kills wakers mid-call */
	printf("seed %u (SEM_ROBUST_SEED=%u to run it again)\n", seed, seed);
	rnd_state = seed;
	stop_flag = harness_shared(2 * sizeof(int));
	signal(SIGPIPE, SIG_IGN);

	undo_grows();
	spoiled_then_removed();

	set_id = uipc_semget(IPC_PRIVATE, NSEMS, 0644);
	other_id = uipc_semget(IPC_PRIVATE, NSEMS, 0644);
	if (set_id < 0 || other_id < 0 ||
	    uipc_semctl(set_id, 0, SETALL, vals) < 0 ||
	    uipc_semop(set_id, &undo, 1) < 0 || uipc_proc_self(&me) < 0) {
		CHECK(0, "setting up: %s", strerror(errno));
		return harness_done();
	}
	snprintf(path, sizeof(path), "%s/sem.%d", harness_ns_dir(), set_id);
	file_fd = open(path, O_RDWR);
	file_len = file_fd >= 0 ? (size_t)lseek(file_fd, 0, SEEK_END) : 0;
	file = file_fd >= 0 ? mmap(NULL, file_len, PROT_READ | PROT_WRITE,
				   MAP_SHARED, file_fd, 0) : MAP_FAILED;
	if (file == MAP_FAILED) {
		CHECK(0, "mapping %s: %s", path, strerror(errno));
		return harness_done();
	}
	G = *H();
	/* The mirrored layout must be sem.c's. */
	if (sizeof(struct t_set) != uipc_sem_ops.hdr_size || H()->nsems != NSEMS ||
	    H()->sems_off != ((sizeof(struct t_set) + 63) & ~(size_t)63) ||
	    H()->undo_cap != 8 || H()->undo_hwm != 1 || H()->nundo != 1 ||
	    H()->undo_off + 8 * (size_t)H()->undo_size != file_len ||
	    ((struct t_undo *)(void *)(file + at_undo(0)))->adj[2] != 1 ||
	    ((struct t_slot *)(void *)(file + at_slot(2)))->val != 1) {
		CHECK(0, "the test's copy of sem.c's file layout is out of date");
		return harness_done();
	}
	pristine = malloc(file_len);
	base_img = malloc(file_len);
	other_img = read_file(other_id, &other_len);
	if (!pristine || !base_img || !other_img)
		return 1;
	memcpy(pristine, file, file_len);
	forge_waiters();
	memcpy(base_img, file, file_len);

	/* SEM_ROBUST_ONLY=fresh|mapped|composites|random: one part. */
	if (!only || !strcmp(only, "fresh"))
		fields_fresh();
	if (!only || !strcmp(only, "mapped"))
		fields_mapped();
	if (!only || !strcmp(only, "composites"))
		composites();
	if (!only || !strcmp(only, "random"))
		random_cases(seed);

	/* Whole again: the set works, for a fresh process and for us. */
	memcpy(base_img, pristine, file_len);
	restore();
	pid = fork();
	if (pid == 0) {
		char a[16];

		snprintf(a, sizeof(a), "%d", set_id);
		execl("/proc/self/exe", "check", "--check", a, (char *)NULL);
		_exit(126);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the restored set does not work in a fresh process (status %#x)", st);
	CHECK(check_main(set_id) == 0, "the restored set does not work for its owner");
	other_intact("at the end");
	uipc_semctl(set_id, 0, IPC_RMID);
	uipc_semctl(other_id, 0, IPC_RMID);
	munmap(file, file_len);
	close(file_fd);
	free(pristine);
	free(base_img);
	free(other_img);
	if (!harness_failures)
		printf("ok   the set works once whole again; no other file touched\n");
	return harness_done();
}
