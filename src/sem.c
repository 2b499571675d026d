/*
 * sem.c: System V semaphores.
 *
 * Implementation notes
 *
 * What user space sees is ipc/sem.c's behaviour.  A semop call applies all
 * its operations or none; an operation that cannot proceed makes the caller
 * wait (or fail with EAGAIN under IPC_NOWAIT).  The kernel keeps waiting
 * operations on lists: per semaphore for single operations (one list of
 * decrements, "alter", one of wait-for-zero, "const"), and per set for
 * complex ones; while any complex operation waits, the single alter
 * operations move to the set's list (merge_queues) and move back once the
 * last complex one has gone (unmerge_queues).  The process that makes a
 * waiting operation possible completes it on the waiter's behalf
 * (update_queue, wake_const_ops), in list order; GETNCNT and GETZCNT count
 * from those lists and from each waiter's blocking operation.  All of this
 * is reproduced here, list for list, so that waiters are served in the
 * kernel's order.
 *
 * SEM_UNDO: each process that uses SEM_UNDO on a set has an undo entry in
 * the set's file (owner's process slot and generation, one adjustment per
 * semaphore).  A process's death is noticed by whoever touches the set next
 * (every locked operation looks: see proc.c), and that
 * process applies the dead one's adjustments as exit_sem() would: clamped to
 * 0..SEMVMX, sempid set to the dead process, waiters woken.  A forked child
 * is a new process table entry with no undo entry: it starts with none.
 *
 * Internals.  A set is one file: struct uipc_sem_set, then the semaphores
 * (value and pid in one 64-bit word, so that a single operation commits
 * with one store), the waiter records, a pool holding the waiters'
 * operations (the waker needs them), a redo log, and the undo entries, a
 * region that grows at the end of the file.  Lists are not linked: a
 * waiter record names its list and carries a position in it, and a list is
 * its records ordered by position.  Appending takes the next position at
 * the high end; merge_queues' splicing to the front takes positions at the
 * low end.  The derived counts (nwait, complex_count, galter, nundo) are
 * rebuilt by repair.
 *
 * Crash consistency.  Every change that touches more than one word is a
 * transaction in the redo log: the new values are written to the log
 * first (they also serve as the scratch state an operation is evaluated
 * against), then log_committed is set, then they are applied and the flag
 * cleared.  A process killed at any instruction holding the lock leaves
 * either an uncommitted log, ignored, or a committed one, which the next
 * holder replays (the entries hold absolute values, so replaying twice is
 * harmless).  A new waiter record is published by one store of its state.
 *
 * The fast path.  One operation without SEM_UNDO that can proceed at
 * once is a compare-and-swap on its semaphore's 64-bit word, without the
 * lock (try_fast), unless the word carries SLOT_LOCKED.  A lock holder
 * sets that bit (own()) on every semaphore before it reads its value, so
 * nothing changes under it, and clears the bits again before unlocking
 * (release_slots) unless someone waits or holds adjustments: a waiter's
 * blocking semaphore and every adjusted one then stay locked, and their
 * operations take the locked path, which wakes waiters and applies a dead
 * process's undo first.  A bit left set (by a hold that kept it, or by a
 * holder that died) only sends operations to the locked path, which
 * clears it.
 *
 * Trust.  The file is writable by every user the set lets in at all
 * (store.c, file_mode), so each of its bytes is input, not state: this
 * process addresses the file by its own copy of the geometry, checked when
 * it mapped the file (struct sem_geom, kept in the map); every count,
 * index, offset, length and value it reads there is read once (LD) and
 * bounded before use, and a value out of bounds is a corrupt set, which
 * answers EIO.  Such a writer can do to the set what any writer can
 * (change values, complete or cancel waits), but cannot make another
 * user's process crash, loop or write outside the set's mapping.
 *
 * Locking: the set's lock (o.lock) guards everything in the file, but for
 * the value and pid of a semaphore whose SLOT_LOCKED is clear, which only
 * a compare-and-swap changes.  No system call is made under the lock on
 * the fast path.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

/* Kernel constants (include/uapi/linux/sem.h), not tunable. */
#define SEMVMX		32767		/* largest semaphore value */
#define SEMAEM		SEMVMX		/* largest adjustment */
#define K_SEMMNS	1024000000	/* IPC_INFO's semmnu, semmap */
#define K_SEMUME	500
#define K_SEMUSZ	20

#define SEM_WAITERS	256	/* waiter records per set */
#define SEM_POOL_MIN	4096	/* sembufs the waiters' pool holds at least */
#define SEM_UNDO_INIT	8	/* undo entries a new set has room for */
#define SEM_FAST_OPS	16	/* sembufs copied on the stack */
/* Waiters' operations one lock hold may try, in pools' worth: the
 * waiters' operations fit in the pool, and a hold goes through them
 * about once per completion, a few hundred times at most. */
#define SEM_TRY_BUDGET	1024

#define L_GLOBAL	(-1)	/* the set's own list */
#define L_NONE		(-2)	/* on no list */

struct sem_slot {
	int32_t val, pid;	/* one 64-bit word: committed by one store;
				   pid's top bit is SLOT_LOCKED */
	uint32_t txid;		/* txlog is valid while txid is the set's */
	uint32_t txlog;		/* this semaphore's entry in the open log */
};
_Static_assert(sizeof(struct sem_slot) == 16, "sem slot layout");

/* In a slot's 64-bit word: the set's lock holder has taken this semaphore
 * from the lock-free fast path (see try_fast). */
#define SLOT_LOCKED	((uint64_t)1 << 63)
#define SLOT_PID_MASK	0x7fffffff
/* Slots one lock hold tracks one by one; beyond, it takes them all. */
#define OWN_MAX		16

enum { W_FREE = 0, W_WAIT = 1, W_DONE = 2 };

struct sem_waiter {
	_Atomic uint32_t futex;	/* 0 asleep, UIPC_W_WOKEN, UIPC_W_SPINNING */
	uint32_t state;		/* W_* */
	int32_t status;		/* W_DONE: 0 or -errno */
	int32_t list;		/* L_GLOBAL, a semaphore number, or L_NONE */
	uint32_t alter;		/* alter list (1) or const list (0) */
	uint32_t nsops;
	uint32_t sops_off;	/* its operations in the pool */
	uint32_t blocking;	/* the operation it waits on */
	uint32_t proc_slot, proc_gen;	/* owner */
	int32_t pid;
	int32_t undo;		/* owner's undo entry, or -1 */
	int64_t pos;		/* order within its list */
	uint32_t wake_addr;	/* uipc_wait_addr() of its owner */
	uint32_t pad;
};
_Static_assert(sizeof(struct sem_waiter) == 64, "sem waiter layout");

enum { L_SEM = 1, L_WAITER, L_CLEAR_ADJ, L_UNDO_FREE, L_WPOS };

struct sem_logent {
	uint16_t kind;		/* L_* */
	uint16_t has_adj;	/* L_SEM: adj is to be stored in entry b */
	uint32_t a;		/* semaphore, waiter or undo entry */
	int32_t val;		/* L_SEM value; L_WAITER status; L_WPOS list */
	int32_t pid;		/* L_SEM */
	int32_t adj;		/* L_SEM */
	uint32_t b;		/* L_SEM: undo entry */
	int64_t pos;		/* L_WPOS */
};
_Static_assert(sizeof(struct sem_logent) == 32, "sem log layout");
#define CLEAR_ALL 0xffffffffu	/* L_CLEAR_ADJ of every semaphore */

struct sem_undo_ent {
	uint32_t state;		/* 0 free, 1 in use */
	uint32_t proc_slot, proc_gen;
	int32_t pid;
	uint32_t start;		/* the owner's start time: it outlives exec */
	int16_t adj[];		/* one per semaphore */
};

struct uipc_sem_set {
	struct uipc_obj o;
	int64_t otime;
	int32_t nsems;
	uint32_t pool_cap;	/* sembufs in the pool */
	uint32_t log_cap;	/* entries in the log */
	uint32_t undo_size;	/* bytes per undo entry */
	_Atomic uint32_t undo_cap;	/* undo entries the file holds */
	uint32_t undo_hwm;	/* entries [0, hwm) may be in use */
	uint64_t sems_off, waiters_off, pool_off, log_off, undo_off;
	uint32_t nwait, complex_count, galter, nundo;	/* derived */
	uint32_t txid;
	_Atomic uint32_t needs_repair;	/* a lock owner died */
	int64_t pos_lo, pos_hi;
	uint64_t ticket;
	_Atomic uint32_t overflow_seq;
	uint32_t overflow_waiters;
	uint32_t log_n;
	_Atomic uint32_t log_committed;
};


static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Largest set (UL_SEMMSL's highest setting) and pool a file may hold. */
#define SEM_SET_MAX	65536
#define SEM_POOL_MAX	(1u << 24)

/*
 * Where the parts of a set's file lie, worked out from nsems and pool_cap.
 * The header holds a copy for other processes to check; this process
 * addresses by its own, which sem_validate() made when it mapped the file
 * and keeps in the map (uipc_map.priv): another user may rewrite the
 * header's at any time.
 */
struct sem_geom {
	uint64_t sems_off, waiters_off, pool_off, log_off, undo_off;
	int nsems;
	uint32_t pool_cap, log_cap, undo_size;
	uint32_t reach;		/* undo entries the mapping holds */
};
_Static_assert(sizeof(struct sem_geom) <= UIPC_MAP_PRIV, "sem geometry");

static void geom(int nsems, uint32_t pool_cap, struct sem_geom *g)
{
	g->nsems = nsems;
	g->pool_cap = pool_cap;
	g->reach = 0;
	g->log_cap = (uint32_t)nsems + SEM_WAITERS + 8;
	g->undo_size = (uint32_t)((sizeof(struct sem_undo_ent) +
				   2 * (size_t)nsems + 7) & ~(size_t)7);
	g->sems_off = align64(sizeof(struct uipc_sem_set));
	g->waiters_off = align64(g->sems_off +
				 (size_t)nsems * sizeof(struct sem_slot));
	g->pool_off = align64(g->waiters_off +
			      SEM_WAITERS * sizeof(struct sem_waiter));
	g->log_off = align64(g->pool_off + (size_t)pool_cap * sizeof(struct sembuf));
	g->undo_off = (g->log_off + (size_t)g->log_cap * sizeof(struct sem_logent) +
		       4095) & ~(uint64_t)4095;
}

/* A set as one operation sees it. */
struct set {
	struct uipc_map *m;
	struct uipc_sem_set *h;
	const struct sem_geom *g;	/* the map's: see struct sem_geom */
	/* The open transaction: entries [0, log_n) of the log, under txid.
	 * Kept here, not read back from the header, where log_n and txid
	 * are written for repair's sake only. */
	uint32_t log_n, txid;
	uint64_t budget;	/* waiters' operations it may still try */
	/* Slots this lock hold has locked (own()), to release at unlock. */
	int nown, own_all;
	int own[OWN_MAX];
};

static void s_set(struct set *s, struct uipc_map *m)
{
	s->m = m;
	s->h = m->base;
	s->g = (const struct sem_geom *)(const void *)m->priv;
	s->nown = s->own_all = 0;
}

static uint32_t undo_mapped(struct set *s)
{
	return s->g->reach;
}

/* The undo entries the file holds, as the header says: a power of two
 * from SEM_UNDO_INIT to UIPC_MAXPROC (undo_own doubles it), or 0 for a
 * corrupt count. */
static uint32_t undo_cap(struct set *s)
{
	uint32_t cap = atomic_load_explicit(&s->h->undo_cap, memory_order_relaxed);

	if (cap < SEM_UNDO_INIT || cap > UIPC_MAXPROC || (cap & (cap - 1)))
		return 0;
	return cap;
}

/* The accessors below take indices their callers have bounded (i below
 * nsems, SEM_WAITERS, log_cap; a pool range below pool_cap). */
static struct sem_slot *slot(struct set *s, int i)
{
	return (struct sem_slot *)((char *)s->h + s->g->sems_off) + i;
}

static struct sem_waiter *waiter(struct set *s, int i)
{
	return (struct sem_waiter *)((char *)s->h + s->g->waiters_off) + i;
}

static struct sembuf *pool(struct set *s)
{
	return (struct sembuf *)((char *)s->h + s->g->pool_off);
}

static struct sem_logent *logent(struct set *s, uint32_t i)
{
	return (struct sem_logent *)((char *)s->h + s->g->log_off) + i;
}

/* Undo entry i, or NULL beyond what this process maps. */
static struct sem_undo_ent *undo_ent(struct set *s, uint32_t i)
{
	if (i >= undo_mapped(s))
		return NULL;
	return (struct sem_undo_ent *)((char *)s->h + s->g->undo_off +
				       (size_t)i * s->g->undo_size);
}

/* Entries [0, undo_hwm) may be in use: the header's mark, read once and
 * bounded by what this mapping holds, so undo_ent() of each is not NULL. */
static uint32_t undo_hwm(struct set *s)
{
	uint32_t hwm = RD(s->h->undo_hwm);

	return hwm < undo_mapped(s) ? hwm : undo_mapped(s);
}

static _Atomic uint64_t *slot_word(struct sem_slot *sl)
{
	return (_Atomic uint64_t *)(void *)sl;
}

static pid_t slot_pid(const struct sem_slot *sl)
{
	return sl->pid & SLOT_PID_MASK;
}

/* Every semaphore of the set locked against the fast path. */
static void own_every(struct set *s)
{
	for (int i = 0; i < s->g->nsems; i++)
		atomic_fetch_or(slot_word(slot(s, i)), SLOT_LOCKED);
	s->own_all = 1;
}

/*
 * Locks semaphore i against the fast path for the rest of this lock hold,
 * so that its value cannot change while the holder looks at it.  Every
 * read of a value under the lock goes through here.  Set locked.
 */
static struct sem_slot *own(struct set *s, int i)
{
	struct sem_slot *sl = slot(s, i);

	if (s->own_all)
		return sl;
	for (int k = 0; k < s->nown; k++)
		if (s->own[k] == i)
			return sl;
	if (s->nown == OWN_MAX) {
		own_every(s);
		return sl;
	}
	atomic_fetch_or(slot_word(sl), SLOT_LOCKED);
	s->own[s->nown++] = i;
	return sl;
}

/* Whether the fast path must stay off the semaphores this hold locked:
 * while anyone waits or holds adjustments (a waiter's blocking semaphore
 * and every adjusted one are among them), or the set is gone. */
static int keep_locked(struct set *s)
{
	return s->h->nwait || s->h->nundo || s->h->overflow_waiters ||
		atomic_load(&s->h->o.state) != OBJ_LIVE;
}

/* Before unlocking: hands the semaphores this hold locked back to the
 * fast path, unless keep_locked().  A semaphore left locked by an earlier
 * hold goes back when a later one touches it. */
static void release_slots(struct set *s)
{
	if (!keep_locked(s)) {
		int n = s->own_all ? s->g->nsems : s->nown;

		for (int k = 0; k < n; k++) {
			_Atomic uint64_t *w =
				slot_word(slot(s, s->own_all ? k : s->own[k]));

			atomic_store_explicit(w, atomic_load_explicit(w,
				memory_order_relaxed) & ~SLOT_LOCKED,
				memory_order_release);
		}
	}
	s->nown = s->own_all = 0;
}

/* Semaphore i's value, read once: anything, in a corrupt set. */
static int semval(struct set *s, int i)
{
	return RD(own(s, i)->val);
}

/* Wake-ups collected under the lock, made after unlocking. */
struct wakeq {
	int n;
	_Atomic uint32_t *word[SEM_WAITERS];
	uint32_t addr[SEM_WAITERS];
};

/* Empty; not zeroed whole, which on the fast path would cost a third. */
static void wakeq_init(struct wakeq *wq)
{
	wq->n = 0;
}

static void wake_rec(struct wakeq *wq, struct sem_waiter *w)
{
	/* A waiter still spinning sees the store: no system call. */
	if (atomic_exchange_explicit(&w->futex, UIPC_W_WOKEN,
				     memory_order_acq_rel) == UIPC_W_SPINNING)
		return;
	if (!wq) {
		uipc_wake(RD(w->wake_addr), &w->futex);
	} else if (wq->n < SEM_WAITERS) {
		wq->addr[wq->n] = RD(w->wake_addr);
		wq->word[wq->n++] = &w->futex;
	} else {	/* cannot happen: one entry per record */
		uipc_wake(RD(w->wake_addr), &w->futex);
	}
}

/* Everything may have changed for those waiting for a free record (they
 * look at overflow_seq every millisecond: see uipc_wait_poll). */
static void wake_overflow(struct set *s)
{
	if (s->h->overflow_waiters)
		atomic_fetch_add(&s->h->overflow_seq, 1);
}

static void wake_flush(struct wakeq *wq)
{
	for (int i = 0; i < wq->n; i++)
		uipc_wake(wq->addr[i], wq->word[i]);
	wq->n = 0;
}

/* ---------------------------------------------------------------------
 * The redo log.
 * ------------------------------------------------------------------- */

/* Starts the lock hold's transactions after the header's last txid
 * (any value will do: it only has to differ from the stale ones). */
static void tx_begin(struct set *s)
{
	s->log_n = 0;
	s->txid = RD(s->h->txid);
	if (s->txid == 0)
		s->txid = 1;
}

static void tx_reset(struct set *s)
{
	s->log_n = 0;
	if (++s->txid == 0) {
		/* Wrapped: forget every semaphore's stale scratch. */
		for (int i = 0; i < s->g->nsems; i++)
			slot(s, i)->txid = 0;
		s->txid = 1;
	}
	s->h->txid = s->txid;
}

/* Semaphore i's entry in the open transaction, or NULL.  The slot's
 * txlog is only a hint: the entry must be one of ours and say so. */
static struct sem_logent *tx_find(struct set *s, struct sem_slot *sl, int i)
{
	uint32_t t = RD(sl->txlog);
	struct sem_logent *e;

	if (RD(sl->txid) != s->txid || t >= s->log_n)
		return NULL;
	e = logent(s, t);
	return RD(e->kind) == L_SEM && RD(e->a) == (uint32_t)i ? e : NULL;
}

/* The log entry of semaphore i in the open transaction, made on first
 * use with the semaphore's committed value; NULL when the log is full
 * (only a corrupt set fills it: an entry per semaphore and one per
 * waiter fit). */
static struct sem_logent *touch(struct set *s, int i)
{
	struct sem_slot *sl = own(s, i);
	struct sem_logent *e = tx_find(s, sl, i);
	uint64_t word;

	if (e)
		return e;
	if (s->log_n >= s->g->log_cap)
		return NULL;
	word = atomic_load_explicit(slot_word(sl), memory_order_relaxed);
	e = logent(s, s->log_n);
	memset(e, 0, sizeof(*e));
	e->kind = L_SEM;
	e->a = (uint32_t)i;
	e->val = (int32_t)(uint32_t)word;
	e->pid = (pid_t)((word >> 32) & SLOT_PID_MASK);
	sl->txlog = s->log_n++;
	sl->txid = s->txid;
	return e;
}

/* Semaphore i's value as the open transaction sees it: anything, in a
 * corrupt set, which the caller bounds. */
static int tx_val(struct set *s, int i)
{
	struct sem_slot *sl = own(s, i);
	struct sem_logent *e = tx_find(s, sl, i);

	return e ? RD(e->val) : RD(sl->val);
}

/* A new entry in the open transaction, or NULL when the log is full. */
static struct sem_logent *tx_add(struct set *s, int kind, uint32_t a)
{
	struct sem_logent *e;

	if (s->log_n >= s->g->log_cap)
		return NULL;
	e = logent(s, s->log_n++);
	memset(e, 0, sizeof(*e));
	e->kind = (uint16_t)kind;
	e->a = a;
	return e;
}

static void w_account(struct set *s, struct sem_waiter *w, int d)
{
	s->h->nwait += (uint32_t)d;
	if (w->nsops > 1)
		s->h->complex_count += (uint32_t)d;
	if (w->list == L_GLOBAL && w->alter)
		s->h->galter += (uint32_t)d;
}

static void w_unlink(struct set *s, struct sem_waiter *w)
{
	if (w->state == W_WAIT && w->list != L_NONE)
		w_account(s, w, -1);
	w->list = L_NONE;
}

static void clear_adj(struct set *s, uint32_t which)
{
	uint32_t hwm = undo_hwm(s);

	for (uint32_t u = 0; u < hwm; u++) {
		struct sem_undo_ent *e = undo_ent(s, u);

		if (!e || !e->state)
			continue;
		if (which == CLEAR_ALL)
			memset(e->adj, 0, 2 * (size_t)s->g->nsems);
		else if (which < (uint32_t)s->g->nsems)
			e->adj[which] = 0;
	}
}

/* A semaphore's value and pid, in the one store a crash cannot split.
 * The slot is the lock holder's (own()), and stays so. */
static void slot_store(struct sem_slot *sl, int val, pid_t pid)
{
	atomic_store_explicit(slot_word(sl), (uint32_t)val |
			      (uint64_t)(uint32_t)pid << 32 | SLOT_LOCKED,
			      memory_order_relaxed);
}

/* Applies one log entry.  The log is in the file, where anyone may
 * rewrite it: each field is read once and bounded here. */
static void apply(struct set *s, struct sem_logent *e, struct wakeq *wq)
{
	uint32_t a = RD(e->a);
	struct sem_waiter *w;
	struct sem_undo_ent *u;

	switch (RD(e->kind)) {
	case L_SEM:
		if (a >= (uint32_t)s->g->nsems)
			break;
		slot_store(slot(s, (int)a), RD(e->val), RD(e->pid));
		if (RD(e->has_adj) && (u = undo_ent(s, RD(e->b))))
			u->adj[a] = (int16_t)RD(e->adj);
		break;
	case L_WAITER:
		if (a >= SEM_WAITERS)
			break;
		w = waiter(s, (int)a);
		w_unlink(s, w);
		w->status = RD(e->val);
		w->state = W_DONE;
		wake_rec(wq, w);
		break;
	case L_CLEAR_ADJ:
		clear_adj(s, a);
		break;
	case L_UNDO_FREE:
		u = undo_ent(s, a);
		if (u && u->state) {
			memset(u->adj, 0, 2 * (size_t)s->g->nsems);
			u->state = 0;
			s->h->nundo--;
		}
		break;
	case L_WPOS:
		if (a >= SEM_WAITERS)
			break;
		w = waiter(s, (int)a);
		if (w->state != W_WAIT)
			break;
		w_unlink(s, w);
		w->list = RD(e->val);
		w->pos = RD(e->pos);
		w_account(s, w, 1);
		break;
	}
}

/* Makes the open transaction happen.  A lone semaphore change without an
 * adjustment is one store and needs no log. */
static void tx_commit(struct set *s, struct wakeq *wq)
{
	struct sem_logent *e0 = logent(s, 0);
	uint32_t n = s->log_n;

	if (n == 1 && RD(e0->kind) == L_SEM && !RD(e0->has_adj)) {
		apply(s, e0, wq);
	} else if (n) {
		s->h->log_n = n;	/* for repair */
		atomic_store_explicit(&s->h->log_committed, 1, memory_order_release);
		for (uint32_t i = 0; i < n; i++)
			apply(s, logent(s, i), wq);
		atomic_store_explicit(&s->h->log_committed, 0, memory_order_release);
	}
	tx_reset(s);
}

/* ---------------------------------------------------------------------
 * Operations: the kernel's perform_atomic_semop().
 * ------------------------------------------------------------------- */

/* One sembuf, read once: the caller's own, or a waiter's in the pool,
 * which anyone may rewrite. */
static struct sembuf sop_get(const struct sembuf *p)
{
	return (struct sembuf){ RD(p->sem_num), RD(p->sem_op), RD(p->sem_flg) };
}

/*
 * Evaluates sops as one operation on top of the open (empty) transaction,
 * in order, each seeing the ones before it.  Returns 0 with the changes in
 * the log, 1 if it must wait (*blocking: which operation), or -EAGAIN,
 * -ERANGE, -EIO; on anything but 0 the transaction is dropped.
 */
static int perform(struct set *s, const struct sembuf *sops, uint32_t nsops,
		   int32_t undo, pid_t pid, uint32_t *blocking)
{
	struct sem_undo_ent *un = undo >= 0 ? undo_ent(s, (uint32_t)undo) : NULL;
	struct sembuf op = { 0 };
	uint32_t k;
	int r;

	for (k = 0; k < nsops; k++) {
		struct sem_logent *e;
		int64_t val, adj;

		op = sop_get(&sops[k]);
		if (op.sem_num >= (unsigned)s->g->nsems) {
			r = -EIO;	/* only a corrupt pool gets here */
			goto drop;
		}
		val = tx_val(s, op.sem_num);
		if (val < 0 || val > SEMVMX) {
			r = -EIO;	/* a corrupt value */
			goto drop;
		}
		if (!op.sem_op && val)
			goto would_block;
		val += op.sem_op;
		if (val < 0)
			goto would_block;
		if (val > SEMVMX) {
			r = -ERANGE;
			goto drop;
		}
		e = touch(s, op.sem_num);
		if (!e) {
			r = -EIO;
			goto drop;
		}
		if (op.sem_flg & SEM_UNDO) {
			if (!un) {
				r = -EIO;
				goto drop;
			}
			adj = (int64_t)(RD(e->has_adj) ? RD(e->adj) :
					RD(un->adj[op.sem_num])) - op.sem_op;
			if (adj < -SEMAEM - 1 || adj > SEMAEM) {
				r = -ERANGE;
				goto drop;
			}
			e->has_adj = 1;
			e->adj = (int32_t)adj;
			e->b = (uint32_t)undo;
		}
		e->val = (int32_t)val;
		e->pid = pid;
	}
	return 0;

would_block:
	*blocking = k;
	r = (op.sem_flg & IPC_NOWAIT) ? -EAGAIN : 1;
drop:
	tx_reset(s);
	return r;
}

/* perform() for one operation without SEM_UNDO, the common case: its
 * change is one store, made at once without the log. */
static int perform_one(struct set *s, const struct sembuf *sop, pid_t pid,
		       uint32_t *blocking)
{
	struct sem_slot *sl = own(s, sop->sem_num);
	int cur = RD(sl->val), val;

	if (cur < 0 || cur > SEMVMX)
		return -EIO;	/* a corrupt value */
	val = cur + sop->sem_op;
	if ((!sop->sem_op && cur) || val < 0) {
		*blocking = 0;
		return (sop->sem_flg & IPC_NOWAIT) ? -EAGAIN : 1;
	}
	if (val > SEMVMX)
		return -ERANGE;
	slot_store(sl, val, pid);
	return 0;
}

/* ---------------------------------------------------------------------
 * Waiters and their lists.
 * ------------------------------------------------------------------- */

/* A record's place in a list, copied out of the file to sort by: a
 * comparison that changed under qsort could make it go astray. */
struct wpos {
	int64_t pos;
	int i;
};

static int by_pos(const void *a, const void *b)
{
	const struct wpos *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The records on one list, in list order.  Returns how many. */
static int list_get(struct set *s, int list, int alter, int *out)
{
	struct wpos p[SEM_WAITERS];
	int n = 0;

	for (int i = 0; i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(s, i);

		if (RD(w->state) == W_WAIT && RD(w->list) == list &&
		    (int)RD(w->alter) == alter)
			p[n++] = (struct wpos){ RD(w->pos), i };
	}
	qsort(p, (size_t)n, sizeof(*p), by_pos);
	for (int j = 0; j < n; j++)
		out[j] = p[j].i;
	return n;
}

/* Positions move by one at either end; a forged one wraps, as unsigned. */
static int64_t pos_step(int64_t *pos, int d)
{
	int64_t v = (int64_t)((uint64_t)RD(*pos) + (uint64_t)(int64_t)d);

	*pos = v;
	return v;
}

static void w_free(struct set *s, int i)
{
	struct sem_waiter *w = waiter(s, i);

	w_unlink(s, w);
	w->state = W_FREE;
	wake_overflow(s);
}

/* 1 unless the process registered as (slot, gen) with pid is known to be
 * dead. */
static int owner_alive(uint32_t slot, uint32_t gen, pid_t pid)
{
	struct uipc_nsh *h;
	int r = 0;

	h = uipc_ns_get(&r);
	return !h || uipc_proc_alive(h, slot, gen, pid);
}

/* Whether an undo entry's process has ended: the kernel keeps SEM_UNDO
 * adjustments across exec and applies them at exit (exit_sem). */
static int undo_owner_gone(const struct sem_undo_ent *u)
{
	struct uipc_nsh *h;
	int r = 0;

	h = uipc_ns_get(&r);
	return h && uipc_proc_gone(h, u->proc_slot, u->proc_gen, u->pid,
				   u->start);
}

/* Frees the records of dead owners: the kernel takes a killed waiter off
 * its list at once.  Returns how many. */
static int reap_waiters(struct set *s)
{
	int n = 0;

	for (int i = 0; i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(s, i);

		if (w->state != W_FREE && !owner_alive(w->proc_slot, w->proc_gen, w->pid)) {
			w_free(s, i);
			n++;
		}
	}
	return n;
}

/* Completes waiter i with status r: the changes of its operation, when
 * r == 0, are in the open transaction.  Returns the status it got. */
static int complete(struct set *s, int i, int r, struct wakeq *wq)
{
	struct sem_logent *e;

	if (r < 0)
		tx_reset(s);
	e = tx_add(s, L_WAITER, (uint32_t)i);
	if (!e) {	/* a log a corrupt set filled */
		tx_reset(s);
		e = tx_add(s, L_WAITER, (uint32_t)i);
		r = -EIO;
	}
	e->val = r;
	tx_commit(s, wq);
	return r;
}

/*
 * Tries waiter i's operation: 1 still waits, else completed with 0 or the
 * error, which is returned.  Its operations, as bounded here (read once:
 * the record is anyone's), go to *sops and *nsops when those are given.
 * A lock hold tries at most its budget of operations: a forged record
 * (or one put back to waiting, again and again) costs that much, then
 * waits on.
 */
static int try_waiter(struct set *s, int i, struct wakeq *wq,
		      const struct sembuf **sops, uint32_t *nsops)
{
	struct sem_waiter *w = waiter(s, i);
	uint32_t off = RD(w->sops_off), n = RD(w->nsops), blk;
	int r;

	if (n == 0 || off + (uint64_t)n > s->g->pool_cap) {
		n = 0;
		r = -EIO;
	} else if (s->budget < n) {
		return 1;
	} else {
		s->budget -= n;
		r = perform(s, pool(s) + off, n, RD(w->undo), RD(w->pid), &blk);
	}
	if (sops) {
		*sops = pool(s) + off;
		*nsops = n;
	}
	if (r > 0) {
		w->blocking = blk;
		return 1;
	}
	return complete(s, i, r, wq);
}

/* The kernel's wake_const_ops(): semnum's const list, or the set's. */
static int wake_const_ops(struct set *s, int semnum, struct wakeq *wq)
{
	int idx[SEM_WAITERS], n, done = 0;

	n = list_get(s, semnum, 0, idx);
	for (int j = 0; j < n; j++)
		if (try_waiter(s, idx[j], wq, NULL, NULL) == 0)
			done = 1;
	return done;
}

/* The semaphores whose own list (alter or const) has waiters, ascending. */
static int busy_sems(struct set *s, int alter, int *out)
{
	int n = 0;

	for (int i = 0; i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(s, i);
		int32_t l = RD(w->list);

		if (RD(w->state) == W_WAIT && l >= 0 && l < s->g->nsems &&
		    (int)RD(w->alter) == alter)
			out[n++] = l;
	}
	for (int a = 1; a < n; a++)	/* few: insertion sort, then unique */
		for (int b = a; b > 0 && out[b - 1] > out[b]; b--) {
			int t = out[b];

			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	int u = 0;

	for (int a = 0; a < n; a++)
		if (u == 0 || out[u - 1] != out[a])
			out[u++] = out[a];
	return u;
}

/* The kernel's do_smart_wakeup_zero().  sops may be a waiter's, in the
 * pool: each semaphore number is bounded. */
static int wakeup_zero(struct set *s, const struct sembuf *sops, uint32_t nsops,
		       struct wakeq *wq)
{
	int done = 0, got_zero = 0;

	if (sops) {
		for (uint32_t i = 0; i < nsops; i++) {
			int num = RD(sops[i].sem_num);

			if (num >= s->g->nsems)
				continue;
			if (semval(s, num) == 0) {
				got_zero = 1;
				done |= wake_const_ops(s, num, wq);
			}
		}
	} else {
		int nums[SEM_WAITERS], n = busy_sems(s, 0, nums);

		for (int i = 0; i < n; i++)
			if (semval(s, nums[i]) == 0)
				done |= wake_const_ops(s, nums[i], wq);
		for (int i = 0; i < s->g->nsems && !got_zero; i++)
			got_zero = semval(s, i) == 0;
	}
	if (got_zero)
		done |= wake_const_ops(s, L_GLOBAL, wq);
	return done;
}

/* The kernel's check_restart(), after a waiter of nsops operations
 * completed. */
static int check_restart(struct set *s, uint32_t nsops)
{
	return s->h->galter > 0 || nsops > 1;
}

/* The kernel's update_queue(): semnum's alter list, or the set's.  It
 * starts over after a completion, which takes a waiter off for good:
 * more restarts than records mean someone keeps putting them back. */
static int update_queue(struct set *s, int semnum, struct wakeq *wq)
{
	int idx[SEM_WAITERS], n, done = 0, restarts = 0;

again:
	n = list_get(s, semnum, 1, idx);
	for (int j = 0; j < n; j++) {
		struct sem_waiter *w = waiter(s, idx[j]);
		const struct sembuf *wsops;
		uint32_t wn;
		int r;

		if (w->state != W_WAIT)
			continue;
		if (semnum != L_GLOBAL && semval(s, semnum) == 0)
			break;
		r = try_waiter(s, idx[j], wq, &wsops, &wn);
		if (r > 0)
			continue;
		if (r == 0) {
			done = 1;
			wakeup_zero(s, wsops, wn, wq);
			if (check_restart(s, wn) && ++restarts <= SEM_WAITERS)
				goto again;
		}
	}
	return done;
}

/* The kernel's do_smart_update(): after the values changed (by sops, or
 * by something else when sops is NULL), complete what now can be. */
static void smart_update(struct set *s, const struct sembuf *sops,
			 uint32_t nsops, int otime, struct wakeq *wq)
{
	if (s->h->nwait) {
		reap_waiters(s);
		otime |= wakeup_zero(s, sops, nsops, wq);
		if (s->h->galter) {
			otime |= update_queue(s, L_GLOBAL, wq);
		} else if (!sops) {
			int nums[SEM_WAITERS], n = busy_sems(s, 1, nums);

			for (int i = 0; i < n; i++)
				otime |= update_queue(s, nums[i], wq);
		} else {
			for (uint32_t i = 0; i < nsops; i++)
				if (sops[i].sem_op > 0)
					otime |= update_queue(s, sops[i].sem_num, wq);
		}
	}
	if (otime)
		s->h->otime = uipc_now();
}

/* The kernel's merge_queues(): the single alter operations move to the
 * front of the set's list, the last semaphore's first. */
static void merge_queues(struct set *s, struct wakeq *wq)
{
	struct { int32_t list; int64_t pos; int i; } c[SEM_WAITERS], t;
	int n = 0;

	for (int i = 0; i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(s, i);
		int32_t l = RD(w->list);

		if (RD(w->state) == W_WAIT && RD(w->alter) && l >= 0) {
			c[n].list = l;
			c[n].pos = RD(w->pos);
			c[n++].i = i;
		}
	}
	if (!n)
		return;
	/* Final order: by semaphore descending, then by position (sorted
	 * as copied: see struct wpos). */
	for (int a = 1; a < n; a++)
		for (int b = a; b > 0; b--) {
			if (c[b - 1].list > c[b].list ||
			    (c[b - 1].list == c[b].list && c[b - 1].pos < c[b].pos))
				break;
			t = c[b];
			c[b] = c[b - 1];
			c[b - 1] = t;
		}
	for (int j = n; j-- > 0;) {
		struct sem_logent *e = tx_add(s, L_WPOS, (uint32_t)c[j].i);

		if (!e)
			break;	/* cannot be: the log holds SEM_WAITERS */
		e->val = L_GLOBAL;
		e->pos = pos_step(&s->h->pos_lo, -1);
	}
	tx_commit(s, wq);
}

/* The kernel's unmerge_queues(): with no complex operation left, the
 * set's list goes back to the semaphores' lists, in its order. */
static void unmerge_queues(struct set *s, struct wakeq *wq)
{
	int idx[SEM_WAITERS], n;

	if (s->h->complex_count || !s->h->galter)
		return;
	n = list_get(s, L_GLOBAL, 1, idx);
	for (int j = 0; j < n; j++) {
		uint32_t off = RD(waiter(s, idx[j])->sops_off);
		int num = off < s->g->pool_cap ? RD(pool(s)[off].sem_num) : 0;
		struct sem_logent *e = tx_add(s, L_WPOS, (uint32_t)idx[j]);

		if (!e)
			break;	/* cannot be: the log holds SEM_WAITERS */
		e->val = num < s->g->nsems ? num : 0;
		e->pos = pos_step(&s->h->pos_hi, 1);
	}
	tx_commit(s, wq);
}

/* The kernel's count_semcnt(). */
static int count_semcnt(struct set *s, int semnum, int zero)
{
	int n = 0;

	for (int i = 0; i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(s, i);
		int32_t list = RD(w->list);
		uint32_t alter = RD(w->alter);
		uint64_t at = (uint64_t)RD(w->sops_off) + RD(w->blocking);
		struct sembuf sop;

		if (RD(w->state) != W_WAIT)
			continue;
		if (list == semnum) {
			n += (int)alter == !zero;
			continue;
		}
		if (list != L_GLOBAL || (!alter && !zero) || at >= s->g->pool_cap)
			continue;
		sop = sop_get(pool(s) + at);
		if (sop.sem_num != semnum)
			continue;
		n += zero ? sop.sem_op == 0 : sop.sem_op < 0;
	}
	return n;
}

/* Room for nsops sembufs in the pool: the first gap between the ranges
 * of records that hold operations.  Returns its offset or -1. */
static int64_t pool_alloc(struct set *s, uint32_t nsops)
{
	struct { uint64_t off, end; } r[SEM_WAITERS], t;
	uint64_t at = 0;
	int n = 0;

	for (int i = 0; i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(s, i);

		if (RD(w->state) != W_FREE) {
			r[n].off = RD(w->sops_off);
			r[n].end = r[n].off + RD(w->nsops);
			n++;
		}
	}
	for (int a = 1; a < n; a++)
		for (int b = a; b > 0 && r[b - 1].off > r[b].off; b--) {
			t = r[b];
			r[b] = r[b - 1];
			r[b - 1] = t;
		}
	for (int j = 0; j < n; j++) {
		if (r[j].off >= at + nsops)
			break;
		if (r[j].end > at)
			at = r[j].end;
	}
	return at + nsops <= s->g->pool_cap ? (int64_t)at : -1;
}

/* ---------------------------------------------------------------------
 * Undo entries.
 * ------------------------------------------------------------------- */

/* exit_sem() for the dead owner of undo entry i. */
static void undo_exit(struct set *s, uint32_t i, struct wakeq *wq)
{
	struct sem_undo_ent *u = undo_ent(s, i);
	pid_t pid;

	if (!u)
		return;
	pid = RD(u->pid);
	for (int k = 0; k < s->g->nsems; k++) {
		struct sem_logent *e;
		int16_t adj = RD(u->adj[k]);
		int64_t val;

		if (!adj)
			continue;
		e = touch(s, k);
		if (!e)
			goto drop;
		val = (int64_t)RD(e->val) + adj;
		e->val = val < 0 ? 0 : val > SEMVMX ? SEMVMX : (int32_t)val;
		e->pid = pid;
	}
	if (!tx_add(s, L_UNDO_FREE, i))
		goto drop;
	tx_commit(s, wq);
	smart_update(s, NULL, 0, 1, wq);
	return;
drop:	/* a log a corrupt set filled: the entry stays */
	tx_reset(s);
}

/* Sets up to this size are looked through for adjustments per operation;
 * larger ones count as having some. */
#define UNDO_SCAN_MAX 64

/* Whether an undo entry adjusts nothing: its owner's death would change no
 * value, wake nobody, set no sempid (the kernel's exit_sem skips zero
 * adjustments), so nobody needs to ask whether it lives.  Set locked. */
static int undo_idle(const struct set *s, const struct sem_undo_ent *u)
{
	if (s->g->nsems > UNDO_SCAN_MAX)
		return 0;
	for (int k = 0; k < s->g->nsems; k++)
		if (u->adj[k])
			return 0;
	return 1;
}

/* Applies the adjustments of every owner that has died.  Cheap when
 * nobody else holds an entry: one load per entry; a system call for each
 * entry that adjusts something (whose owner's death would show). */
static void reap_undo(struct set *s, struct wakeq *wq)
{
	uint32_t hwm;

	if (!s->h->nundo)
		return;
	hwm = undo_hwm(s);
	for (uint32_t i = 0; i < hwm; i++) {
		struct sem_undo_ent *u = undo_ent(s, i);

		if (u && u->state && !undo_idle(s, u) && undo_owner_gone(u))
			undo_exit(s, i, wq);
	}
}

#define DEAD_MAX 8

struct dead_undo {
	uint32_t i, slot, gen;
	int32_t pid;
};

/*
 * Before the set is locked: the undo entries (that adjust something) whose
 * owner the kernel says is gone.  Asking costs a system call per entry, and
 * made under the lock it would lengthen every other caller's wait.  The
 * entries are read unlocked, as hints: reap_undo_found checks each again
 * under the lock.  An owner that dies after this look dies after our
 * operation, which is then ordered before its exit (a sleeper looks again,
 * see sleep_watching).  Returns how many it put in d.
 */
static int undo_prescan(struct set *s, struct dead_undo *d)
{
	uint32_t hwm = undo_hwm(s);
	int n = 0;

	if (!__atomic_load_n(&s->h->nundo, __ATOMIC_RELAXED))
		return 0;
	for (uint32_t i = 0; i < hwm && n < DEAD_MAX; i++) {
		struct sem_undo_ent *u = undo_ent(s, i), c;

		if (!u)
			break;
		c.state = __atomic_load_n(&u->state, __ATOMIC_RELAXED);
		c.proc_slot = __atomic_load_n(&u->proc_slot, __ATOMIC_RELAXED);
		c.proc_gen = __atomic_load_n(&u->proc_gen, __ATOMIC_RELAXED);
		c.pid = __atomic_load_n(&u->pid, __ATOMIC_RELAXED);
		c.start = __atomic_load_n(&u->start, __ATOMIC_RELAXED);
		if (!c.state || undo_idle(s, u) || !undo_owner_gone(&c))
			continue;
		d[n++] = (struct dead_undo){ i, c.proc_slot, c.proc_gen, c.pid };
	}
	return n;
}

/* Under the lock: applies the entries undo_prescan found dead, those that
 * are still what it saw. */
static void reap_undo_found(struct set *s, const struct dead_undo *d, int n,
			    struct wakeq *wq)
{
	for (int k = 0; k < n; k++) {
		struct sem_undo_ent *u = undo_ent(s, d[k].i);

		if (u && u->state && u->proc_slot == d[k].slot &&
		    u->proc_gen == d[k].gen && u->pid == d[k].pid)
			undo_exit(s, d[k].i, wq);
	}
}

/* Our own undo entry, made if there is none.  Returns its index, or
 * -EAGAIN when the file grew (relock, which maps it, and call again), or
 * -errno. */
static int undo_own(struct set *s, const struct uipc_self *self)
{
	int32_t hint = atomic_load_explicit(&s->m->aux, memory_order_relaxed) - 1;
	struct sem_undo_ent *u;
	uint32_t cap, i, free_i = UINT32_MAX, hwm = undo_hwm(s);
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	off_t want;
	int fd, r = 0;

	if (hint >= 0 && (u = undo_ent(s, (uint32_t)hint)) && u->state &&
	    u->proc_slot == self->slot && u->proc_gen == self->gen)
		return hint;
	for (i = 0; i < hwm; i++) {
		u = undo_ent(s, i);
		if (u->state && u->proc_slot == self->slot &&
		    u->proc_gen == self->gen)
			goto found;
		if (!u->state && free_i == UINT32_MAX)
			free_i = i;
	}
	if (free_i == UINT32_MAX && hwm < undo_mapped(s))
		free_i = hwm;
	/* Full: an idle entry whose owner is gone is free for the taking
	 * (reap_undo passes idle entries by; freeing one changes nothing). */
	for (i = 0; free_i == UINT32_MAX && i < hwm; i++) {
		u = undo_ent(s, i);
		if (u->state && undo_idle(s, u) && undo_owner_gone(u)) {
			u->state = 0;
			s->h->nundo--;
			free_i = i;
		}
	}
	if (free_i != UINT32_MAX) {
		i = free_i;
		u = undo_ent(s, i);
		memset(u->adj, 0, 2 * (size_t)s->g->nsems);
		u->proc_slot = self->slot;
		u->proc_gen = self->gen;
		u->pid = self->pid;
		u->start = self->start;
		atomic_thread_fence(memory_order_release);
		u->state = 1;	/* the commit */
		if (i >= hwm)
			s->h->undo_hwm = i + 1;
		s->h->nundo++;
		goto found;
	}
	/* Full: double the region, past what this mapping holds.  Others
	 * map it when they next lock.  The file is the map's (its id, not the
	 * header's), and it only grows, by the geometry this process checked. */
	h = uipc_ns_get(&r);
	if (!h)
		return r;
	cap = undo_cap(s);
	if (!cap)
		return -EIO;
	while (cap <= undo_mapped(s) && cap < UIPC_MAXPROC)
		cap *= 2;
	if (cap <= undo_mapped(s))
		return -ENOMEM;
	snprintf(name, sizeof(name), "sem.%d", s->m->id);
	fd = uipc_ns_openat(h, name, O_RDWR);
	if (fd < 0)
		return -ENOMEM;
	want = (off_t)(s->g->undo_off + (uint64_t)cap * s->g->undo_size);
	r = fstat(fd, &st);
	if (r == 0 && st.st_size < want)
		r = ftruncate(fd, want);
	close(fd);
	if (r < 0)
		return -ENOMEM;
	atomic_store(&s->h->undo_cap, cap);
	return -EAGAIN;
found:
	atomic_store_explicit(&s->m->aux, (int32_t)i + 1, memory_order_relaxed);
	return (int)i;
}

/* ---------------------------------------------------------------------
 * Repair: the lock's last owner died.
 * ------------------------------------------------------------------- */

static void sem_repair(void *obj)
{
	/* The mapping's extent is not known here: s_lock() repairs. */
	atomic_store(&((struct uipc_sem_set *)obj)->needs_repair, 1);
}

/* Replays a committed log, rebuilds what is derived, wakes everyone and
 * completes what can be completed.  Set locked, fully mapped. */
static void repair(struct set *s, struct wakeq *wq)
{
	struct uipc_sem_set *h = s->h;
	uint32_t hwm, n;

	own_every(s);	/* whatever the dead holder had locked */
	n = RD(h->log_n);
	if (atomic_load(&h->log_committed) && n <= s->g->log_cap) {
		for (uint32_t i = 0; i < n; i++)
			apply(s, logent(s, i), NULL);
	}
	atomic_store(&h->log_committed, 0);
	tx_reset(s);
	h->nwait = h->complex_count = h->galter = 0;
	for (int i = 0; i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(s, i);

		if (w->state > W_DONE ||
		    w->sops_off + (uint64_t)w->nsops > s->g->pool_cap ||
		    (w->state == W_WAIT && (w->list < L_GLOBAL ||
					    w->list >= s->g->nsems))) {
			w->state = W_FREE;
			w->list = L_NONE;
		}
		if (w->state == W_WAIT)
			w_account(s, w, 1);
		if (w->state != W_FREE)
			wake_rec(NULL, w);
	}
	h->nundo = 0;
	hwm = undo_hwm(s);
	h->undo_hwm = hwm;
	for (uint32_t i = 0; i < hwm; i++)
		h->nundo += RD(undo_ent(s, i)->state) != 0;
	atomic_fetch_add(&h->overflow_seq, 1);
	atomic_store(&h->needs_repair, 0);
	smart_update(s, NULL, 0, 0, wq);
}

/* Checks the header's geometry against the mapping's length and keeps
 * it (and how many undo entries the mapping holds) in priv, the map's. */
static int sem_validate(const void *obj, size_t len, void *priv)
{
	const struct uipc_sem_set *h = obj;
	int32_t nsems = RD(h->nsems);
	uint32_t pool_cap = RD(h->pool_cap);
	struct sem_geom g;
	uint64_t reach;

	if (nsems < 1 || nsems > SEM_SET_MAX || pool_cap < SEM_POOL_MIN ||
	    pool_cap > SEM_POOL_MAX)
		return -EIO;
	geom(nsems, pool_cap, &g);
	if (RD(h->sems_off) != g.sems_off || RD(h->waiters_off) != g.waiters_off ||
	    RD(h->pool_off) != g.pool_off || RD(h->log_off) != g.log_off ||
	    RD(h->undo_off) != g.undo_off || RD(h->log_cap) != g.log_cap ||
	    RD(h->undo_size) != g.undo_size || len < g.undo_off)
		return -EIO;
	/* More than UIPC_MAXPROC entries are never made (undo_own): the
	 * rest of a longer file is not looked at. */
	reach = (len - g.undo_off) / g.undo_size;
	g.reach = reach < UIPC_MAXPROC ? (uint32_t)reach : UIPC_MAXPROC;
	memcpy(priv, &g, sizeof(g));
	return 0;
}

const struct uipc_kind_ops uipc_sem_ops = {
	.hdr_size = sizeof(struct uipc_sem_set),
	.repair = sem_repair,
	.validate = sem_validate,
};

/* ---------------------------------------------------------------------
 * Locking a set for an operation.
 * ------------------------------------------------------------------- */

static int s_get(int id, struct set *s)
{
	struct uipc_map *m;
	int r = uipc_obj_get(UIPC_SEM, id, &m);

	if (r < 0)
		return r;
	s_set(s, m);
	return 0;
}

static void s_put(struct set *s)
{
	if (s->m)
		uipc_map_put(s->m);
}

/*
 * Takes the set's lock, first making sure this process maps every undo
 * entry, and repairs after a dead owner.  The file grows (undo_own) before
 * the header's undo_cap says so, and the cap only doubles: a fresh mapping
 * that still falls short of a cap no larger than the last one seen means
 * the header lies (-EIO), so the remapping ends.
 */
static int s_lock(struct set *s, struct wakeq *wq)
{
	uint32_t cap, seen = 0;
	int r;

	for (;;) {
		r = uipc_obj_lock(s->m);
		if (r < 0)
			return r;
		cap = undo_cap(s);
		if (likely(cap && cap <= undo_mapped(s)))
			break;
		uipc_obj_unlock(s->m);
		if (!cap || cap <= seen)
			return -EIO;
		seen = cap;
		r = uipc_map_refresh(&s->m);
		if (r < 0) {
			s->m = NULL;
			return r;
		}
		s_set(s, s->m);
	}
	s->nown = s->own_all = 0;
	s->budget = SEM_TRY_BUDGET * (uint64_t)s->g->pool_cap;
	tx_begin(s);
	if (unlikely(atomic_load(&s->h->needs_repair)))
		repair(s, wq);
	return 0;
}

/* s_get then s_lock, for the calls with nothing to do between them; on
 * failure nothing is held. */
static int s_get_locked(int id, struct set *s, struct wakeq *wq)
{
	int r;

	wakeq_init(wq);
	r = s_get(id, s);
	if (r < 0)
		return r;
	r = s_lock(s, wq);
	if (r < 0)
		s_put(s);
	return r;
}

static void s_unlock(struct set *s, struct wakeq *wq)
{
	if (unlikely(s->h->galter) && !s->h->complex_count)
		unmerge_queues(s, wq);
	release_slots(s);
	uipc_obj_unlock(s->m);
	wake_flush(wq);
}

static int removed(struct set *s)
{
	return atomic_load(&s->h->o.state) != OBJ_LIVE;
}

/* ---------------------------------------------------------------------
 * semget
 * ------------------------------------------------------------------- */

struct new_set {
	int nsems;
	uint32_t pool_cap;
};

static int set_create_check(void *arg)
{
	return ((struct new_set *)arg)->nsems == 0 ? -EINVAL : 0;
}

static int set_init(void *obj, void *arg)
{
	struct new_set *a = arg;
	struct uipc_sem_set *h = obj;
	struct sem_geom g;

	geom(a->nsems, a->pool_cap, &g);
	h->nsems = a->nsems;
	h->pool_cap = g.pool_cap;
	h->log_cap = g.log_cap;
	h->undo_size = g.undo_size;
	h->sems_off = g.sems_off;
	h->waiters_off = g.waiters_off;
	h->pool_off = g.pool_off;
	h->log_off = g.log_off;
	h->undo_off = g.undo_off;
	atomic_store(&h->undo_cap, SEM_UNDO_INIT);
	h->txid = 1;
	/* The waiter records stay zero, untouched (a page of the file each
	 * 64 of them): a free record's list is never looked at. */
	return 0;
}

static int set_more_checks(void *obj, void *arg)
{
	return ((struct new_set *)arg)->nsems > ((struct uipc_sem_set *)obj)->nsems ?
		-EINVAL : 0;
}

static long do_semget(key_t key, int nsems, int semflg)
{
	struct uipc_nsh *h;
	struct new_set a;
	struct uipc_new n;
	struct sem_geom g;
	int64_t opm;
	int r = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	if (nsems < 0 || nsems > uipc_limit(h, UL_SEMMSL) || nsems > SEM_SET_MAX)
		return -EINVAL;
	opm = uipc_limit(h, UL_SEMOPM);
	a.nsems = nsems;
	/* Twice semopm, in what sem_validate() takes: the limit is a
	 * setting of the namespace's owner, bounded here all the same. */
	a.pool_cap = opm > SEM_POOL_MAX / 2 ? SEM_POOL_MAX :
		     opm > SEM_POOL_MIN / 2 ? (uint32_t)opm * 2 : SEM_POOL_MIN;
	geom(nsems ? nsems : 1, a.pool_cap, &g);
	memset(&n, 0, sizeof(n));
	n.kind = UIPC_SEM;
	n.key = key;
	n.flg = semflg;
	n.units = nsems;
	n.file_size = g.undo_off + (size_t)SEM_UNDO_INIT * g.undo_size;
	n.create_check = set_create_check;
	n.init = set_init;
	n.more_checks = set_more_checks;
	n.arg = &a;
	return uipc_ipcget(&n);
}

int uipc_semget(key_t key, int nsems, int semflg)
{
	return (int)UIPC_RET(do_semget(key, nsems, semflg));
}

/* ---------------------------------------------------------------------
 * semop, semtimedop
 * ------------------------------------------------------------------- */

/* What a completed waiter's record says it got, as semop may answer it:
 * what a waker writes (0, or an error perform() or IPC_RMID gives), else
 * the record is corrupt. */
static int w_status(int32_t st)
{
	switch (st) {
	case 0:
	case -EAGAIN:
	case -EFBIG:
	case -EIDRM:
	case -EINTR:
	case -EIO:
	case -ERANGE:
		return st;
	default:
		return -EIO;
	}
}

/* Registers the caller, outside the set's lock since registering may do
 * another process's exit work. */
static int ensure_self(struct uipc_self *self, int *have)
{
	int r;

	if (*have)
		return 0;
	r = uipc_proc_self(self);
	if (r == 0)
		*have = 1;
	return r;
}

/* Where a new waiter goes, as do_semtimedop() decides; merges first when
 * the first complex operation is about to wait. */
static void w_link(struct set *s, int i, const struct sembuf *sops,
		   uint32_t nsops, int alter, struct wakeq *wq)
{
	struct sem_waiter *w = waiter(s, i);

	if (nsops == 1)
		w->list = alter && s->h->complex_count ? L_GLOBAL : sops[0].sem_num;
	else {
		if (!s->h->complex_count)
			merge_queues(s, wq);
		w->list = L_GLOBAL;
	}
	w->pos = pos_step(&s->h->pos_hi, 1);
	atomic_thread_fence(memory_order_release);
	w->state = W_WAIT;	/* the commit */
	w_account(s, w, 1);
}

/* A new record for a caller about to wait; -ENOSPC if all are taken. */
static int w_new(struct set *s, const struct uipc_self *self,
		 const struct sembuf *sops, uint32_t nsops, int alter,
		 int32_t undo, uint32_t blocking, struct wakeq *wq)
{
	struct sem_waiter *w;
	int64_t off;
	int i = -1;

	for (int pass = 0; pass < 2 && i < 0; pass++) {
		for (int j = 0; j < SEM_WAITERS; j++)
			if (waiter(s, j)->state == W_FREE) {
				i = j;
				break;
			}
		if (i < 0 && !reap_waiters(s))
			break;
	}
	if (i < 0)
		return -ENOSPC;
	off = pool_alloc(s, nsops);
	if (off < 0)
		return -ENOSPC;
	w = waiter(s, i);
	memcpy(pool(s) + off, sops, nsops * sizeof(*sops));
	w->sops_off = (uint32_t)off;
	w->nsops = nsops;
	w->alter = (uint32_t)alter;
	w->blocking = blocking;
	w->status = -EINTR;
	w->proc_slot = self->slot;
	w->proc_gen = self->gen;
	w->pid = self->pid;
	w->undo = undo;
	atomic_store(&w->futex, 0);
	w_link(s, i, sops, nsops, alter, wq);
	return i;
}

/* No room to wait in: sleep until anything changes.  Returns 0 or -EINTR
 * or -ETIMEDOUT with the set locked, or a locking error with it unlocked. */
static int sleep_overflow(struct set *s, struct uipc_wait *wt,
			  const struct timespec *deadline, struct wakeq *wq)
{
	uint32_t seq = atomic_load(&s->h->overflow_seq);
	int r, lr;

	s->h->overflow_waiters++;
	s_unlock(s, wq);
	r = uipc_wait_poll(wt, &s->h->overflow_seq, seq, deadline);
	lr = s_lock(s, wq);
	if (lr < 0)
		return lr;
	s->h->overflow_waiters--;
	return r;
}

/* How often a sleeper looks for the death of another process holding
 * adjustments on its set: nothing wakes it at that death. */
#define DEATH_POLL_NS 20000000L

/* Whether another process holds undo entries on the set, whose death may
 * let a sleeper proceed.  Set locked. */
static int others_undo(struct set *s)
{
	struct uipc_self self;
	uint32_t hwm;

	if (!s->h->nundo || uipc_proc_self(&self) < 0)
		return 0;
	hwm = undo_hwm(s);
	for (uint32_t i = 0; i < hwm; i++) {
		struct sem_undo_ent *u = undo_ent(s, i);

		if (u->state &&
		    (u->proc_slot != self.slot || u->proc_gen != self.gen))
			return 1;
	}
	return 0;
}

/* Sleeps on a waiter's word until dl (NULL: none); with watch, wakes
 * every DEATH_POLL_NS to look again (returns 0 then, not -ETIMEDOUT). */
static int sleep_watching(struct uipc_wait *wt, _Atomic uint32_t *f,
			  const struct timespec *dl, int watch)
{
	struct timespec t;
	int r;

	if (!watch)
		return uipc_wait_sleep(wt, f, dl);
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += DEATH_POLL_NS;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	if (dl && (dl->tv_sec < t.tv_sec ||
		   (dl->tv_sec == t.tv_sec && dl->tv_nsec <= t.tv_nsec)))
		return uipc_wait_sleep(wt, f, dl);
	r = uipc_wait_sleep(wt, f, &t);
	return r == -ETIMEDOUT ? 0 : r;
}

/*
 * The fast path: one operation without SEM_UNDO that can proceed at once,
 * on a semaphore that no lock holder has locked (SLOT_LOCKED clear), is one
 * compare-and-swap of the slot's word, without the set's lock.  No waiter
 * can be waiting on such a semaphore and no process holds adjustments
 * (keep_locked), so there is no one to wake and no dead owner's undo to
 * apply first: the kernel would do exactly this store.  Returns 0 when
 * done; 1 sends the caller to the locked path, which also answers every
 * error and every wait.
 */
static int try_fast(struct set *s, const struct sembuf *sop, int alter)
{
	struct uipc_sem_set *h = s->h;
	_Atomic uint64_t *w;
	uint64_t old, new;
	int64_t now;
	int cur, val;

	if (sop->sem_num >= (unsigned)s->g->nsems || removed(s) ||
	    uipc_map_perm(s->m, alter ? S_IWUGO : S_IRUGO) < 0)
		return 1;
	w = slot_word(slot(s, sop->sem_num));
	old = atomic_load_explicit(w, memory_order_relaxed);
	do {
		if (old & SLOT_LOCKED)
			return 1;
		cur = (int32_t)(uint32_t)old;
		if ((uint32_t)cur > SEMVMX)
			return 1;	/* corrupt: the locked path says so */
		val = cur + sop->sem_op;
		if ((!sop->sem_op && cur) || val < 0 || val > SEMVMX)
			return 1;
		new = (uint32_t)val | (uint64_t)(uint32_t)uipc_getpid() << 32;
	} while (!atomic_compare_exchange_weak_explicit(w, &old, new,
			memory_order_acq_rel, memory_order_relaxed));
	now = uipc_now();
	if (__atomic_load_n(&h->otime, __ATOMIC_RELAXED) != now)
		__atomic_store_n(&h->otime, now, __ATOMIC_RELAXED);
	return 0;
}

static long do_semtimedop(int semid, struct sembuf *tsops, size_t nsops_arg,
			  const struct timespec *timeout, struct uipc_wait *wt)
{
	struct sembuf fast[SEM_FAST_OPS], *sops = fast;
	struct dead_undo dead[DEAD_MAX];
	int watch, ndead;
	uint32_t nsops = (uint32_t)nsops_arg, max = 0, blk = 0;
	struct timespec ts, deadline, *dl = NULL;
	int undos = 0, alter = 0, have_self = 0, wi = -1, grown = 0;

	struct wakeq wq;
	struct uipc_self self;
	struct uipc_nsh *h;
	int32_t undo = -1;
	struct set s;
	long r = 0;
	int err = 0;

	wakeq_init(&wq);
	if (timeout && uipc_copy_from_user(&ts, timeout, sizeof(ts)) < 0)
		return -EFAULT;
	h = uipc_ns_get(&err);
	if (!h)
		return err;
	if (nsops < 1 || semid < 0)
		return -EINVAL;
	if (nsops > uipc_limit(h, UL_SEMOPM))
		return -E2BIG;
	if (nsops > SEM_FAST_OPS) {
		sops = malloc(nsops * sizeof(*sops));
		if (!sops)
			return -ENOMEM;
	}
	r = uipc_copy_from_user(sops, tsops, nsops * sizeof(*sops));
	if (r < 0)
		goto out_free;
	if (timeout) {
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L) {
			r = -EINVAL;
			goto out_free;
		}
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += ts.tv_sec;
		deadline.tv_nsec += ts.tv_nsec;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		dl = &deadline;
	}
	for (uint32_t k = 0; k < nsops; k++) {
		if (sops[k].sem_num >= max)
			max = sops[k].sem_num;
		if (sops[k].sem_flg & SEM_UNDO)
			undos = 1;

		if (sops[k].sem_op != 0)
			alter = 1;
	}
	r = s_get(semid, &s);
	if (r < 0)
		goto out_free;
	if (nsops == 1 && !undos && try_fast(&s, sops, alter) == 0) {
		r = 0;
		goto out_put;
	}
	if (undos || wt->masked) {
		r = ensure_self(&self, &have_self);
		if (r < 0)
			goto out_put;
	}
	ndead = undo_prescan(&s, dead);
	r = s_lock(&s, &wq);
	if (r < 0)
		goto out_put;

	for (;;) {
		if (max >= (uint32_t)s.g->nsems) {
			r = -EFBIG;
			goto out_unlock;
		}
		r = uipc_map_perm(s.m, alter ? S_IWUGO : S_IRUGO);
		if (r < 0)
			goto out_unlock;
		if (removed(&s)) {
			r = -EIDRM;
			goto out_unlock;
		}
		reap_undo_found(&s, dead, ndead, &wq);
		ndead = 0;
		if (undos) {
			r = undo_own(&s, &self);
			/* The region grows at most log2(UIPC_MAXPROC /
			 * SEM_UNDO_INIT) times: more is a header that lies. */
			if (r == -EAGAIN && ++grown > 16)
				r = -EIO;
			if (r == -EAGAIN) {
				s_unlock(&s, &wq);
				r = s_lock(&s, &wq);
				if (r < 0)
					goto out_put;
				continue;
			}
			if (r < 0)
				goto out_unlock;
			undo = (int32_t)r;
		}
		if (nsops == 1 && !undos) {
			r = perform_one(&s, sops, uipc_getpid(), &blk);
		} else {
			r = perform(&s, sops, nsops, undo, uipc_getpid(), &blk);
			if (r == 0)
				tx_commit(&s, &wq);
		}
		if (r == 0) {
			if (alter)
				smart_update(&s, sops, nsops, 1, &wq);
			else
				s.h->otime = uipc_now();
			goto out_unlock;
		}
		if (r < 0)
			goto out_unlock;
		/* It must wait.  From here on signals are blocked, so a
		 * handler that would run makes the sleep fail with EINTR:
		 * unlock, block them and look again. */
		if (!have_self || !wt->masked) {
			s_unlock(&s, &wq);
			r = uipc_wait_begin(wt);
			if (r == 0)	/* after: it makes system calls */
				r = ensure_self(&self, &have_self);
			if (r < 0)
				goto out_put;
			r = s_lock(&s, &wq);
			if (r < 0)
				goto out_put;
			continue;
		}
		wi = w_new(&s, &self, sops, nsops, alter, undo, blk, &wq);
		if (wi >= 0)
			waiter(&s, wi)->wake_addr = uipc_wait_addr(wt);
		if (wi == -ENOSPC) {
			r = sleep_overflow(&s, wt, dl, &wq);
			if (r == -EINTR || r == -ETIMEDOUT) {
				r = r == -EINTR ? -EINTR : -EAGAIN;
				goto out_unlock;
			}
			if (r < 0)
				goto out_put;
			continue;
		}
		break;
	}

	/* Asleep until completed, interrupted, timed out or removed. */
	for (;;) {
		struct sem_waiter *w = waiter(&s, wi);

		atomic_store(&w->futex, 0);
		if (w->state == W_DONE)
			break;
		/* Woken by a waker, a signal, the deadline, or the death of a
		 * process whose undo may let us proceed. */
		watch = others_undo(&s);
		s_unlock(&s, &wq);
		r = uipc_wait_spin(wt, &w->futex) ? 0 :
			sleep_watching(wt, &w->futex, dl, watch);
		if (s_lock(&s, &wq) < 0) {
			r = -EIO;
			goto out_put;
		}
		w = waiter(&s, wi);
		if (w->state == W_DONE)
			break;
		if (w->state != W_WAIT) {	/* freed by a repair */
			r = -EIO;
			goto out_unlock;
		}
		if (r == -EINTR || r == -ETIMEDOUT) {
			r = r == -EINTR ? -EINTR : -EAGAIN;
			w_free(&s, wi);
			goto out_unlock;
		}
		/* Woken for no reason we know, or the safety period ended:
		 * maybe the set was removed while its header was spoiled
		 * (remove_corrupt in store.c: nobody could mark our record),
		 * maybe an undo owner died. */
		if (uipc_obj_unnamed(s.m)) {
			r = -EIDRM;
			w_free(&s, wi);
			goto out_unlock;
		}
		reap_undo(&s, &wq);
	}
	r = w_status(RD(waiter(&s, wi)->status));
	w_free(&s, wi);
out_unlock:
	s_unlock(&s, &wq);
out_put:
	s_put(&s);
out_free:
	if (sops != fast)
		free(sops);
	return r;
}

UIPC_MASK_TEXT int uipc_semtimedop(int semid, struct sembuf *sops,
				   size_t nsops, const struct timespec *timeout)
{
	struct uipc_wait wt;
	long r;

	/* Whether it may block is known once the operations are read:
	 * early is only a guess, from this thread's last semop. */
	uipc_wait_init(&wt, UIPC_SITE_SEMOP | UIPC_WAIT_STOP);
	uipc_wait_early(&wt);
	r = do_semtimedop(semid, sops, nsops, timeout, &wt);
	uipc_wait_end(&wt);
	return (int)UIPC_RET(r);
}

int uipc_semop(int semid, struct sembuf *sops, size_t nsops)
{
	return uipc_semtimedop(semid, sops, nsops, NULL);
}

/* ---------------------------------------------------------------------
 * semctl
 * ------------------------------------------------------------------- */

static void sem_kill(struct uipc_map *m)
{
	struct wakeq wq;
	struct set s;

	wakeq_init(&wq);
	s_set(&s, m);
	own_every(&s);	/* for good: the fast path now fails over to EIDRM */
	/* Nobody queued (nwait counts every W_WAIT record, as repair
	 * rebuilds it): the records are not read, so their pages, never
	 * touched, are not faulted in.  A forged count only leaves
	 * waiters to find the removal at their safety period. */
	for (int i = 0; s.h->nwait && i < SEM_WAITERS; i++) {
		struct sem_waiter *w = waiter(&s, i);

		if (w->state != W_WAIT)
			continue;
		w_unlink(&s, w);
		w->status = -EIDRM;
		w->state = W_DONE;
		wake_rec(&wq, w);
	}
	atomic_fetch_add(&s.h->overflow_seq, 1);
	wake_flush(&wq);
}

static void fill_ds(struct set *s, struct semid_ds *ds)
{
	memset(ds, 0, sizeof(*ds));
	uipc_fill_perm(&s->h->o, &ds->sem_perm);
	ds->sem_otime = s->h->otime;
	ds->sem_ctime = s->h->o.ctime;
	ds->sem_nsems = (unsigned long)s->g->nsems;
}

static long semctl_stat(int semid, int cmd, struct semid_ds *buf)
{
	struct wakeq wq;
	struct semid_ds ds;
	struct uipc_map *m;
	struct set s;
	long r;

	wakeq_init(&wq);
	if (cmd == IPC_STAT)
		r = uipc_obj_get(UIPC_SEM, semid, &m);
	else
		r = uipc_obj_get_by_index(UIPC_SEM, semid, &m);
	if (r < 0)
		return r;
	s_set(&s, m);
	r = s_lock(&s, &wq);
	if (r < 0)
		goto out_put;
	if (cmd != SEM_STAT_ANY) {
		r = uipc_ipcperms(&s.h->o, S_IRUGO);
		if (r < 0)
			goto out_unlock;
	}
	reap_undo(&s, &wq);
	fill_ds(&s, &ds);
	r = cmd == IPC_STAT ? 0 : s.m->id;
out_unlock:
	s_unlock(&s, &wq);
out_put:
	s_put(&s);
	if (r >= 0 && uipc_copy_to_user(buf, &ds, sizeof(ds)) < 0)
		r = -EFAULT;
	return r;
}

static long semctl_info(int cmd, struct seminfo *buf)
{
	struct seminfo si;
	struct uipc_nsh *h;
	int r = 0, max, in_use = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	memset(&si, 0, sizeof(si));
	si.semmni = (int)uipc_limit(h, UL_SEMMNI);
	si.semmns = (int)uipc_limit(h, UL_SEMMNS);
	si.semmsl = (int)uipc_limit(h, UL_SEMMSL);
	si.semopm = (int)uipc_limit(h, UL_SEMOPM);
	si.semvmx = SEMVMX;
	si.semmnu = K_SEMMNS;
	si.semmap = K_SEMMNS;
	si.semume = K_SEMUME;
	max = uipc_max_idx(UIPC_SEM, &in_use);
	if (cmd == SEM_INFO) {
		si.semusz = in_use;
		si.semaem = (int)h->ns->ids[UIPC_SEM].units;
	} else {
		si.semusz = K_SEMUSZ;
		si.semaem = SEMAEM;
	}
	if (uipc_copy_to_user(buf, &si, sizeof(si)) < 0)
		return -EFAULT;
	return max < 0 ? 0 : max;
}

/* SETVAL and SETALL: new values (vals, or val for semnum), adjustments of
 * those semaphores cleared in every process, waiters looked at. */
static int set_values(struct set *s, int semnum, int val,
		      const unsigned short *vals, struct wakeq *wq)
{
	pid_t pid = uipc_getpid();

	for (int i = 0; i < s->g->nsems; i++) {
		struct sem_logent *e;

		if (!vals && i != semnum)
			continue;
		e = touch(s, i);
		if (!e)
			goto drop;
		e->val = vals ? vals[i] : val;
		e->pid = pid;
	}
	if (!tx_add(s, L_CLEAR_ADJ, vals ? CLEAR_ALL : (uint32_t)semnum))
		goto drop;
	tx_commit(s, wq);
	s->h->o.ctime = uipc_now();
	smart_update(s, NULL, 0, 0, wq);
	return 0;
drop:	/* a log a corrupt set filled */
	tx_reset(s);
	return -EIO;
}

static long semctl_main(int semid, int semnum, int cmd, unsigned long arg)
{
	unsigned short fast[64], *io = fast;
	struct wakeq wq;
	struct set s;
	int nsems;
	long r;

	wakeq_init(&wq);
	if (cmd == SETVAL && ((int)arg > SEMVMX || (int)arg < 0))
		return -ERANGE;
	r = s_get(semid, &s);
	if (r < 0)
		return r;
	nsems = s.g->nsems;
	if (cmd == SETVAL && (semnum < 0 || semnum >= nsems)) {
		r = -EINVAL;
		goto out_put;
	}
	r = uipc_map_perm(s.m, cmd == SETALL || cmd == SETVAL ? S_IWUGO : S_IRUGO);
	if (r < 0)
		goto out_put;
	if (cmd == GETALL || cmd == SETALL) {
		if (nsems > 64 && !(io = malloc((size_t)nsems * sizeof(*io)))) {
			r = -ENOMEM;
			goto out_put;
		}
		if (cmd == SETALL) {
			r = uipc_copy_from_user(io, (void *)arg,
						(size_t)nsems * sizeof(*io));
			if (r < 0)
				goto out_put;
			for (int i = 0; i < nsems; i++)
				if (io[i] > SEMVMX) {
					r = -ERANGE;
					goto out_put;
				}
		}
	} else if (cmd != SETVAL && (semnum < 0 || semnum >= nsems)) {
		r = -EINVAL;
		goto out_put;
	}
	r = s_lock(&s, &wq);
	if (r < 0)
		goto out_put;
	if (removed(&s)) {
		r = -EIDRM;
		goto out_unlock;
	}
	/* s_lock may have mapped the file afresh: a set keeps its size, so
	 * another size is a header rewritten meanwhile. */
	if (s.g->nsems != nsems) {
		r = -EIO;
		goto out_unlock;
	}
	reap_undo(&s, &wq);
	r = 0;
	switch (cmd) {
	case GETALL:
		for (int i = 0; i < nsems && r == 0; i++) {
			int v = semval(&s, i);

			if (v < 0 || v > SEMVMX)
				r = -EIO;	/* a corrupt value */
			io[i] = (unsigned short)v;
		}
		break;
	case SETALL:
		r = set_values(&s, -1, 0, io, &wq);
		break;
	case SETVAL:
		r = set_values(&s, semnum, (int)arg, NULL, &wq);
		break;
	case GETVAL:
		r = semval(&s, semnum);
		if (r < 0 || r > SEMVMX)
			r = -EIO;	/* a corrupt value */
		break;
	case GETPID:
		r = slot_pid(own(&s, semnum));
		break;
	case GETNCNT:
	case GETZCNT:
		reap_waiters(&s);
		r = count_semcnt(&s, semnum, cmd == GETZCNT);
		break;
	}
out_unlock:
	s_unlock(&s, &wq);
	if (cmd == GETALL && r == 0 &&
	    uipc_copy_to_user((void *)arg, io, (size_t)nsems * sizeof(*io)) < 0)
		r = -EFAULT;
out_put:
	s_put(&s);
	if (io != fast)
		free(io);
	return r;
}

static long semctl_set(int semid, struct semid_ds *ds)
{
	struct wakeq wq;
	struct set s;
	long r;

	r = s_get_locked(semid, &s, &wq);
	if (r < 0)
		return r;
	r = uipc_check_owner(&s.h->o);
	if (r == 0)
		r = uipc_set_perm(s.m, &ds->sem_perm);
	s_unlock(&s, &wq);
	s_put(&s);
	return r;
}

static long do_semctl(int semid, int semnum, int cmd, unsigned long arg)
{
	struct semid_ds ds;

	if (semid < 0)
		return -EINVAL;
	uipc_cred_refresh();
	switch (cmd) {
	case IPC_INFO:
	case SEM_INFO:
		return semctl_info(cmd, (struct seminfo *)arg);
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY:
		return semctl_stat(semid, cmd, (struct semid_ds *)arg);
	case GETALL:
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
	case SETALL:
	case SETVAL:
		return semctl_main(semid, semnum, cmd, arg);
	case IPC_SET:
		if (uipc_copy_from_user(&ds, (void *)arg, sizeof(ds)) < 0)
			return -EFAULT;
		return semctl_set(semid, &ds);
	case IPC_RMID:
		return uipc_rmid(UIPC_SEM, semid, sem_kill);
	default:
		return -EINVAL;
	}
}

int uipc_semctl(int semid, int semnum, int cmd, ...)
{
	unsigned long arg = 0;
	va_list ap;

	switch (cmd) {
	case SETVAL:
	case GETALL:
	case SETALL:
	case IPC_STAT:
	case IPC_SET:
	case IPC_INFO:
	case SEM_INFO:
	case SEM_STAT:
	case SEM_STAT_ANY:
		/* A union semun: one word, passed as an unsigned long is. */
		va_start(ap, cmd);
		arg = va_arg(ap, unsigned long);
		va_end(ap);
		break;
	}
	return (int)UIPC_RET(do_semctl(semid, semnum, cmd, arg));
}

/* ---------------------------------------------------------------------
 * The tool.
 * ------------------------------------------------------------------- */

int uipc_sem_snapshot(int id, struct uipc_sem_info *out)
{
	struct wakeq wq;
	struct set s;
	int r;

	r = s_get_locked(id, &s, &wq);
	if (r < 0)
		return r;
	reap_undo(&s, &wq);
	reap_waiters(&s);
	fill_ds(&s, &out->ds);
	out->nundo = (int)s.h->nundo;
	out->sem = calloc((size_t)s.g->nsems, sizeof(*out->sem));
	if (!out->sem) {
		r = -ENOMEM;
		goto out_unlock;
	}
	for (int i = 0; i < s.g->nsems; i++) {
		out->sem[i].val = semval(&s, i);
		out->sem[i].pid = slot_pid(slot(&s, i));
		out->sem[i].ncnt = count_semcnt(&s, i, 0);
		out->sem[i].zcnt = count_semcnt(&s, i, 1);
	}
out_unlock:
	s_unlock(&s, &wq);
	s_put(&s);
	return r;
}
