/*
 * msg.c: System V message queues.
 *
 * Implementation notes
 *
 * What user space sees is ipc/msg.c's behaviour: a queue holds messages in
 * send order; msgrcv takes the first of msgtyp (0: any; > 0: that type, or
 * any other with MSG_EXCEPT; < 0: the lowest type not above |msgtyp|);
 * MSG_COPY copies the n-th message and leaves it; a queue is full when
 * cbytes + msgsz > qbytes or qnum + 1 > qbytes.  A sender finding a blocked
 * receiver whose type matches hands the message straight to it (the
 * kernel's pipelined_send): the message is never counted in qnum, and a
 * receiver whose buffer is too small for it (without MSG_NOERROR) is woken
 * with E2BIG.  Blocked callers are served in the order they blocked.
 *
 * Internals.  A queue is one file: struct uipc_msq (common header, counters,
 * waiter records), then an arena of MSG_BLK-byte blocks.  A message is a
 * chain of blocks: the first holds its header and the first bytes, the rest
 * hold the remainder.  Block 0 is never used, so 0 means "none".  A new
 * queue's arena is one page; a sender that finds no block left for what
 * qbytes lets in lengthens the file (arena_grow: ftruncate, then nblocks
 * under the lock), and every process maps the longer file when its
 * q_lock() sees nblocks beyond its mapping.  So a queue costs address
 * space for the messages it has held, not for qbytes empty ones.  Free
 * blocks are a list of runs, a freed message being one as it stands, so
 * that freeing stores one link and a sender reuses a chain without reading
 * each block's link from the receiver's cache (free_blocks).
 *
 * Crash consistency.  The only canonical state is the singly linked list of
 * messages from `head`, each message's reservation (rsv), and the waiter
 * records; everything else (qnum, cbytes, tail, the free list, nrecv, nsend,
 * nrsv) is derived and rebuilt by msg_repair() when a lock owner died.
 * Every change to the list is a single store: a message is built whole in
 * free blocks and linked by one store (a large one copied with the queue
 * unlocked under a W_COPY record that keeps its blocks: copy_begin); a
 * receiver copies the message out first (a large one unlocked, reserved
 * for it meanwhile: reserve_self, take_handed) and unlinks it with one
 * store.  So a process killed at any
 * instruction leaves either the old list or the new one: a message that a
 * completed msgsnd accepted is never lost, and never delivered twice.
 *
 * Handing off.  A message handed to a receiver stays in the list with rsv
 * naming the receiver's waiter record (and its ticket); other receivers
 * skip it.  The receiver copies it out when it runs.  If the receiver died
 * first, whoever notices (a receiver finding nothing but reserved messages,
 * IPC_STAT, exit work, repair) puts the message back in play: unlike the
 * kernel, where it would be gone with the receiver, it is not lost.
 *
 * Waiting.  A blocked caller fills a waiter record (kind, ticket for FIFO
 * order, owner's process slot and generation, msgtyp and mode, size) and
 * waits on the record's word (wait.c: signals blocked from the decision to
 * wait, a spin, then a sleep that a handler interrupts); wakers set the
 * word under the lock and, unless the waiter still spins, wake it after
 * unlocking.  When all MSG_WAITERS records are busy even after dead owners
 * are reaped, further callers look at overflow_seq every millisecond and
 * retry from the start when it moves.
 *
 * Trust.  Everyone the queue lets in can write the whole file (its mode
 * gives each such class read-write), at any time, also under our lock.
 * So what the file says is a hint: a field that becomes an index, a
 * count, a length or a loop bound is read once (RD()) and bounded before
 * use, by what this process maps (q->lim: the header's nblocks read once
 * by q_lock(), never above the mapping), and a walk stops at a cycle
 * (struct walk) and takes no more steps than there are blocks.  Out of
 * bounds is a corrupt queue: -EIO, never a fault, a hang or a write
 * outside the mapping.  The lock's repair hook only marks the queue,
 * since it is not told the mapping's length; the next q_lock() repairs.
 *
 * Locking: the queue's lock (o.lock) guards everything in the file.  No
 * system call is made under it on the fast path.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSG_BLK		256
#define MSG_FIRST_DATA	(MSG_BLK - 32)
#define MSG_CONT_DATA	(MSG_BLK - 4)
#define MSG_WAITERS	128
#define MSG_MAX_BLOCKS	0x7fffffffu

/* Kernel constants reported by IPC_INFO (include/uapi/linux/msg.h). */
#define K_MSGPOOL	(32000 * 16384 / 1024)
#define K_MSGMAP	16384
#define K_MSGTQL	16384
#define K_MSGSSZ	16
#define K_MSGSEG	0xffff

#define SEARCH_ANY	1
#define SEARCH_EQUAL	2
#define SEARCH_NOTEQUAL	3
#define SEARCH_LESSEQUAL 4
#define SEARCH_NUMBER	5

struct msg_first {
	uint32_t next_msg;	/* next message in the queue, 0: last */
	uint32_t next_blk;	/* rest of this message, 0: none */
	int64_t type;
	uint64_t size;
	uint32_t rsv;		/* waiter index + 1 it is handed to, 0: none */
	uint32_t rsv_ticket;	/* low bits of that waiter's ticket */
	unsigned char data[MSG_FIRST_DATA];
};
_Static_assert(sizeof(struct msg_first) == MSG_BLK, "msg block layout");

struct msg_cont {
	uint32_t next_blk;
	unsigned char data[MSG_CONT_DATA];
};
_Static_assert(sizeof(struct msg_cont) == MSG_BLK, "msg block layout");

/* W_COPY: a sender copying its message into blocks it took (msg: the
 * first, size), with the queue unlocked. */
enum { W_FREE = 0, W_RECV = 1, W_SEND = 2, W_COPY = 3 };
/* A receiver's result: R_NONE while waiting; < 0 is -errno. */
enum { R_NONE = 0, R_MSG = 1, R_RETRY = 2 };

struct msg_waiter {
	_Atomic uint32_t futex;	/* 0 asleep, UIPC_W_WOKEN, UIPC_W_SPINNING */
	uint32_t kind;		/* W_* */
	uint64_t ticket;	/* FIFO order */
	uint32_t proc_slot, proc_gen;	/* owner */
	int32_t pid;
	int32_t mode;		/* receiver's SEARCH_* */
	int64_t msgtyp;		/* receiver's type, after convert_mode */
	uint64_t size;		/* receiver's r_maxsize, sender's msgsz */
	int32_t result;		/* receiver's R_* or -errno */
	uint32_t msg;		/* receiver's handed message */
	uint32_t wake_addr;	/* uipc_wait_addr() of its owner */
	uint32_t pad;
};
_Static_assert(sizeof(struct msg_waiter) == 64, "msg waiter layout");

struct uipc_msq {
	struct uipc_obj o;
	int64_t stime, rtime;
	uint64_t qbytes;
	uint64_t cbytes, qnum;		/* derived */
	int32_t lspid, lrpid;
	uint32_t head;
	uint32_t tail;			/* derived */
	uint32_t free_head;		/* derived */
	uint32_t nblocks;		/* blocks in the file, block 0 unused */
	uint32_t nrecv, nsend, nrsv;	/* derived */
	/* Blocks fresh..nblocks-1 were never used: they are free without
	 * being on the free list, so that a new queue touches none of its
	 * arena.  0 in a file from before there was this field: none. */
	uint32_t fresh;
	uint64_t ticket;
	_Atomic uint32_t overflow_seq;
	uint32_t overflow_waiters;
	/* lrpid and rtime as they were before the last hand-off, to undo it
	 * if that receiver dies without taking the message (undo_ticket is
	 * its ticket; 0 once anything else has been received since). */
	uint64_t undo_ticket;
	int64_t undo_rtime;
	int32_t undo_lrpid;
	/* A lock owner died: the next q_lock() repairs (the lock's repair
	 * hook does not know how much the caller maps). */
	_Atomic uint32_t needs_repair;
	uint32_t pad;
	uint64_t inflight;		/* derived: bytes W_COPY records hold */
	struct msg_waiter w[MSG_WAITERS];
};

#define ARENA_OFF ((sizeof(struct uipc_msq) + 4095) & ~(size_t)4095)
_Static_assert(sizeof(struct uipc_msq) <= 16384, "msq header layout");

/* Blocks a new queue's file has, block 0 included: one page.  The file
 * grows as messages need more (arena_grow()), never shrinks. */
#define MSG_INIT_BLOCKS	16

/* Worst case of blocks a queue of qbytes can need: qbytes messages of
 * zero bytes, or fewer, bigger ones; see blocks_for(). */
static uint64_t nblocks_for(uint64_t qbytes)
{
	uint64_t n = qbytes + qbytes / 112 + 2;

	return n > MSG_MAX_BLOCKS ? MSG_MAX_BLOCKS : n;
}

/* Blocks of a message of size bytes (never overflows, whatever size). */
static uint64_t blocks_for(uint64_t size)
{
	if (size <= MSG_FIRST_DATA)
		return 1;
	return 2 + (size - MSG_FIRST_DATA - 1) / MSG_CONT_DATA;
}

/* A queue as one operation sees it: the header, how much this process
 * maps, and how many blocks the queue has: the header's nblocks, read once
 * by q_lock() and never above mapped.  lim bounds every block index, walk
 * and message size; before the queue is locked nothing is valid. */
struct q {
	struct uipc_map *m;
	struct uipc_msq *h;
	uint32_t mapped;	/* blocks this mapping reaches */
	uint32_t lim;		/* blocks 1..lim-1 are the queue's */
};

static void *blk(struct q *q, uint32_t b)
{
	return (char *)q->h + ARENA_OFF + (size_t)b * MSG_BLK;
}

static struct msg_first *first(struct q *q, uint32_t b)
{
	return blk(q, b);
}

/* Whether b names a block of the queue, safe to touch (lim <= mapped). */
static int valid_blk(struct q *q, uint32_t b)
{
	return b != 0 && b < q->lim;
}

static void q_set(struct q *q, struct uipc_map *m)
{
	size_t nb = m->len > ARENA_OFF ? (m->len - ARENA_OFF) / MSG_BLK : 0;

	if (nb > MSG_MAX_BLOCKS)
		nb = MSG_MAX_BLOCKS;
	q->m = m;
	q->h = m->base;
	q->mapped = (uint32_t)nb;
	q->lim = 0;
}

/* Message b's size, read once: 0, or -EIO when no chain of the queue's
 * blocks could be that long (a corrupt queue).  b is valid: lim >= 2. */
static int msg_size(struct q *q, uint32_t b, uint64_t *size)
{
	*size = RD(((struct msg_first *)blk(q, b))->size);
	return *size <= MSG_FIRST_DATA + (uint64_t)(q->lim - 2) * MSG_CONT_DATA ?
		0 : -EIO;
}

/*
 * A walk along the list or a chain: corrupt when it reaches an invalid
 * block or comes back to the block it marked (Brent: the mark moves to the
 * block reached at each power of two steps).  A walk longer than lim - 1
 * steps repeats a block, and a cycle is found within about twice the
 * steps to it and round it: not lim, which a writer can make 2^31 (a
 * sparse file 512 GB long).  Past lim steps is corrupt too, looked at
 * only at the marks.
 */
struct walk {
	uint32_t steps, mark, next_mark;
};
/* The first mark at step 2: a walk of one step, the fast path's, only
 * compares.  next_mark doubles up to 2^31 < 2 * lim at most. */
#define WALK_INIT { 0, 0, 2 }

/* Checks the walk's next block b: 0 to go on, or -EIO. */
static inline int walk_step(struct q *q, struct walk *w, uint32_t b)
{
	if (!valid_blk(q, b) || b == w->mark)
		return -EIO;
	if (unlikely(++w->steps == w->next_mark)) {
		if (w->steps > q->lim)
			return -EIO;
		w->mark = b;
		w->next_mark <<= 1;
	}
	return 0;
}

/* Wake-ups collected under the lock, made after unlocking. */
struct wakeq {
	int n;
	_Atomic uint32_t *word[MSG_WAITERS];
	uint32_t addr[MSG_WAITERS];
};

/* Empty; not zeroed whole, which on the fast path would cost a third. */
static void wakeq_init(struct wakeq *wq)
{
	wq->n = 0;
}

static void wake_rec(struct wakeq *wq, struct msg_waiter *w)
{
	/* A waiter still spinning sees the store: no system call. */
	if (atomic_exchange_explicit(&w->futex, UIPC_W_WOKEN,
				     memory_order_acq_rel) == UIPC_W_SPINNING)
		return;
	if (wq->n < MSG_WAITERS) {
		wq->addr[wq->n] = RD(w->wake_addr);
		wq->word[wq->n++] = &w->futex;
	} else {	/* cannot happen: one entry per record */
		uipc_wake(RD(w->wake_addr), &w->futex);
	}
}

static void wake_flush(struct wakeq *wq)
{
	for (int i = 0; i < wq->n; i++)
		uipc_wake(wq->addr[i], wq->word[i]);
	wq->n = 0;
}

/* Everything may have changed for those waiting for a free record (they
 * look at overflow_seq every millisecond: see uipc_wait_poll). */
static void wake_overflow(struct q *q)
{
	if (q->h->overflow_waiters)
		atomic_fetch_add(&q->h->overflow_seq, 1);
}

/* ---------------------------------------------------------------------
 * Blocks.
 * ------------------------------------------------------------------- */

/*
 * The free list is a list of runs.  A run's head is laid out as a
 * message's first block (next_msg the next run, next_blk the run's next
 * block), its other blocks as continuation blocks: a freed message is a
 * run as it stands, so freeing stores one link, and the next message takes
 * the run back with one look at a block its receiver wrote (the links
 * after it are those its own sender wrote, not yet moved to the other CPU),
 * where a list of single blocks made it read each block's link from the
 * receiver's cache.  Derived: repair makes a list of one-block runs.
 */

/* Stores v at a link unless it holds v: a block taken back as its last
 * message had it keeps its links, and its lines stay where they are. */
static inline void set_link(uint32_t *p, uint32_t v)
{
	if (RD(*p) != v)
		*p = v;
}

/* The link to the block after b in a chain or run, as b's place (first:
 * the head) lays it out. */
static inline uint32_t *link_of(struct q *q, uint32_t b, int head)
{
	return head ? &first(q, b)->next_blk :
		&((struct msg_cont *)blk(q, b))->next_blk;
}

/* Returns the n blocks of the chain at b to the free list, as one run
 * (ended after n blocks).  No chain is longer than the queue: a cycle in
 * a corrupt one ends there. */
static inline void free_blocks(struct q *q, uint32_t b, uint64_t n)
{
	struct walk w = WALK_INIT;
	uint32_t c = b;

	if (n > q->lim)
		n = q->lim;
	if (n == 0 || walk_step(q, &w, b) < 0)
		return;
	/* w.steps counts the run's blocks: c is the last so far. */
	while (w.steps < n) {
		uint32_t next = RD(*link_of(q, c, w.steps == 1));

		if (next == 0 || walk_step(q, &w, next) < 0)
			break;
		c = next;
	}
	set_link(link_of(q, c, w.steps == 1), 0);
	first(q, b)->next_msg = RD(q->h->free_head);
	q->h->free_head = b;
}

static void free_chain(struct q *q, uint32_t b, uint64_t size)
{
	free_blocks(q, b, blocks_for(size));
}

/* The next free block, taken: the first of the head run (whose rest, if
 * any, becomes a run of its own), else a fresh one; 0 with *err set:
 * -ENOMEM if none is left, -EIO for a corrupt list, -ENOSPC if a fresh
 * block's page cannot be had.  *run: the block after it in its run (0:
 * none), for alloc_chain to take next. */
static uint32_t take_free(struct q *q, uint32_t *run, int *err)
{
	uint32_t b = RD(q->h->free_head), fresh;

	if (b) {
		if (!valid_blk(q, b)) {
			*err = -EIO;
			return 0;
		}
		q->h->free_head = RD(first(q, b)->next_msg);
		*run = RD(first(q, b)->next_blk);
		return b;
	}
	fresh = RD(q->h->fresh);
	if (!valid_blk(q, fresh)) {
		*err = -ENOMEM;
		return 0;
	}
	/* Never touched.  Fresh blocks are taken in order, so the first of
	 * each 4 KiB of the arena to be touched is block 1 or a multiple of
	 * 16, and its page may be a hole of the file, which on a full file
	 * system faults (SIGBUS) where first touched: touched here under the
	 * guard, where that is an error. */
	if ((fresh == 1 || fresh % (4096 / MSG_BLK) == 0) &&
	    uipc_probe_read(blk(q, fresh), MSG_BLK) < 0) {
		*err = -ENOSPC;
		return 0;
	}
	q->h->fresh = fresh + 1;
	*run = 0;
	return fresh;
}

/* Puts back the rest of a run, from b, as a run of its own. */
static void keep_run(struct q *q, uint32_t b)
{
	uint32_t next;

	if (!valid_blk(q, b))
		return;		/* corrupt: lost until a repair */
	next = RD(((struct msg_cont *)blk(q, b))->next_blk);
	first(q, b)->next_blk = next;
	first(q, b)->next_msg = RD(q->h->free_head);
	q->h->free_head = b;
}

/* Takes the blocks for a message of `size`: returns the first, chained, or
 * 0 with *err set. */
static uint32_t alloc_chain(struct q *q, uint64_t size, int *err)
{
	uint64_t need = blocks_for(size);
	uint32_t b0 = 0, prev = 0, run = 0;

	if (need >= q->lim) {	/* more than the arena holds */
		*err = -ENOMEM;
		return 0;
	}
	for (uint32_t i = 0; i < need; i++) {
		uint32_t b;

		if (run) {	/* the run goes on */
			b = run;
			if (!valid_blk(q, b)) {
				*err = -EIO;
				free_blocks(q, b0, i);
				return 0;
			}
			run = RD(((struct msg_cont *)blk(q, b))->next_blk);
		} else {
			b = take_free(q, &run, err);
			if (b == 0) {
				/* Out of blocks (qbytes beyond what the arena
				 * can hold), a corrupt free list, or a full
				 * file system. */
				free_blocks(q, b0, i);
				return 0;
			}
		}
		if (i == 0)
			b0 = b;
		else
			set_link(link_of(q, prev, i == 1), b);
		prev = b;
	}
	set_link(link_of(q, prev, need == 1), 0);
	if (run)
		keep_run(q, run);
	return b0;
}

/*
 * Copies between user memory and the chain at b, under one fault guard.
 * to_user: the message out to buf; else buf into the message.
 */
static int copy_chain(struct q *q, uint32_t b, void *buf, size_t n, int to_user)
{
	volatile uint32_t cur = b;
	volatile size_t done = 0;
	sigjmp_buf jb;

	uipc_guard_ready();
	if (sigsetjmp(jb, 0)) {
		uipc_guard_jb = NULL;
		return -EFAULT;
	}
	uipc_guard_jb = &jb;
	while (done < n) {
		unsigned char *data;
		size_t chunk;
		uint32_t next;

		if (!valid_blk(q, cur)) {
			uipc_guard_jb = NULL;
			return -EIO;
		}
		if (done == 0) {
			data = first(q, cur)->data;
			chunk = MSG_FIRST_DATA;
			next = RD(first(q, cur)->next_blk);
		} else {
			data = ((struct msg_cont *)blk(q, cur))->data;
			chunk = MSG_CONT_DATA;
			next = RD(((struct msg_cont *)blk(q, cur))->next_blk);
		}
		if (chunk > n - done)
			chunk = n - done;
		if (to_user)
			uipc_raw_copy((char *)buf + done, data, chunk);
		else
			uipc_raw_copy(data, (const char *)buf + done, chunk);
		done += chunk;
		cur = next;
	}
	uipc_guard_jb = NULL;
	return 0;
}

/* ---------------------------------------------------------------------
 * The list.
 * ------------------------------------------------------------------- */

/* The last message: the tail hint if it is one (a valid block that ends a
 * list), else found from the head.  0 for an empty queue, or -EIO for a
 * corrupt list. */
static long last_msg(struct q *q)
{
	uint32_t t = RD(q->h->tail), b;
	struct walk w = WALK_INIT;

	if (t == 0 ? RD(q->h->head) == 0 :
		     valid_blk(q, t) && RD(first(q, t)->next_msg) == 0)
		return t;
	for (t = 0, b = RD(q->h->head); b; b = RD(first(q, b)->next_msg)) {
		if (walk_step(q, &w, b) < 0)
			return -EIO;
		t = b;
	}
	return t;
}

/* Appends message b after last (last_msg()'s answer). */
static void link_tail(struct q *q, uint32_t last, uint32_t b)
{
	first(q, b)->next_msg = 0;
	atomic_thread_fence(memory_order_release);
	if (last)
		first(q, last)->next_msg = b;		/* the commit */
	else
		q->h->head = b;				/* the commit */
	q->h->tail = b;
}

/* Unlinks message b after prev (0: b is the head); both valid. */
static void unlink_msg(struct q *q, uint32_t prev, uint32_t b)
{
	uint32_t next = RD(first(q, b)->next_msg);

	if (prev)
		first(q, prev)->next_msg = next;	/* the commit */
	else
		q->h->head = next;
	if (RD(q->h->tail) == b)
		q->h->tail = prev;
}

static int testmsg(int64_t type, int64_t want, int mode)
{
	switch (mode) {
	case SEARCH_ANY:
	case SEARCH_NUMBER:
		return 1;
	case SEARCH_LESSEQUAL:
		return type <= want;
	case SEARCH_EQUAL:
		return type == want;
	case SEARCH_NOTEQUAL:
		return type != want;
	}
	return 0;
}

/* The kernel's find_msg(): the first unreserved message that mode and
 * msgtyp select.  Returns its block and its predecessor, 0 if none, or
 * -EIO for a corrupt list. */
static long find_msg(struct q *q, int64_t msgtyp, int mode, uint32_t *prevp)
{
	uint32_t b = RD(q->h->head), prev = 0, found = 0, found_prev = 0;
	struct walk w = WALK_INIT;
	uint64_t count = 0;

	while (b) {
		struct msg_first *f;
		int64_t type;

		if (walk_step(q, &w, b) < 0)
			return -EIO;
		f = first(q, b);
		type = RD(f->type);
		if (!RD(f->rsv) && testmsg(type, msgtyp, mode)) {
			/* A type below 1 (corrupt) is taken as the lowest. */
			if (mode == SEARCH_LESSEQUAL && type > 1) {
				msgtyp = type - 1;
				found = b;
				found_prev = prev;
			} else if (mode == SEARCH_NUMBER) {
				if ((uint64_t)msgtyp == count) {
					*prevp = prev;
					return b;
				}
			} else {
				*prevp = prev;
				return b;
			}
			count++;
		}
		prev = b;
		b = RD(f->next_msg);
	}
	*prevp = found_prev;
	return found;
}

/* ---------------------------------------------------------------------
 * Waiters.
 * ------------------------------------------------------------------- */

static int fits(struct q *q, uint64_t size)
{
	uint64_t qbytes = RD(q->h->qbytes), cbytes = RD(q->h->cbytes);
	uint64_t inflight = RD(q->h->inflight);

	/* In this order, no sum can wrap (the counters are anyone's). */
	return cbytes <= qbytes && inflight <= qbytes - cbytes &&
	       size <= qbytes - cbytes - inflight &&
	       1 + q->h->qnum <= qbytes;
}

/* Whether a W_COPY record stands behind inflight.  Queue locked. */
static int any_copier(struct q *q)
{
	for (int i = 0; i < MSG_WAITERS; i++)
		if (RD(q->h->w[i].kind) == W_COPY)
			return 1;
	return 0;
}

/* The kernel's ss_wakeup(): wake the senders whose message now fits. */
static void wake_senders(struct q *q, struct wakeq *wq)
{
	if (!q->h->nsend)
		return;
	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &q->h->w[i];

		if (w->kind == W_SEND &&
		    atomic_load(&w->futex) != UIPC_W_WOKEN && fits(q, w->size))
			wake_rec(wq, w);
	}
}

/* offer() with receivers recorded. */
static int offer_recv(struct q *q, uint32_t b, int64_t type, uint64_t size,
		      struct wakeq *wq)
{
	struct msg_first *f = first(q, b);
	/* The tickets are copied out first: sorting by keys others can
	 * change under the sort is not safe (qsort may read out of bounds
	 * when the order it is told changes). */
	struct { uint64_t ticket; int i; } cand[MSG_WAITERS];
	int n = 0;

	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &q->h->w[i];
		uint64_t t;
		int k;

		if (RD(w->kind) != W_RECV || RD(w->result) != R_NONE ||
		    !testmsg(type, RD(w->msgtyp), RD(w->mode)))
			continue;
		/* In ticket order, as they blocked: few, mostly one. */
		t = RD(w->ticket);
		for (k = n++; k > 0 && cand[k - 1].ticket > t; k--)
			cand[k] = cand[k - 1];
		cand[k].ticket = t;
		cand[k].i = i;
	}
	for (int k = 0; k < n; k++) {
		struct msg_waiter *w = &q->h->w[cand[k].i];

		q->h->nrecv--;
		if (RD(w->size) < size) {
			w->result = -E2BIG;
			wake_rec(wq, w);
			continue;
		}
		f->rsv_ticket = (uint32_t)cand[k].ticket;
		f->rsv = (uint32_t)cand[k].i + 1;
		w->msg = b;
		w->result = R_MSG;
		q->h->qnum--;
		q->h->cbytes -= size;
		q->h->nrsv++;
		q->h->undo_ticket = cand[k].ticket;
		q->h->undo_lrpid = q->h->lrpid;
		q->h->undo_rtime = q->h->rtime;
		q->h->lrpid = RD(w->pid);
		q->h->rtime = uipc_now();
		wake_rec(wq, w);
		return 1;
	}
	return 0;
}

/*
 * The kernel's pipelined_send(), for the unreserved message at b, of that
 * type and size: hand it to the first blocked receiver that wants it,
 * waking with E2BIG those before it whose buffer is too small.  Returns 1
 * if handed.  (With none recorded, which is the fast path, only this.)
 */
static inline int offer(struct q *q, uint32_t b, int64_t type, uint64_t size,
			struct wakeq *wq)
{
	return RD(q->h->nrecv) ? offer_recv(q, b, type, size, wq) : 0;
}

/* Puts message b (valid), handed to receiver record w, which will not
 * take it, back in play; if nothing was received since, as if it had
 * never been handed. */
static void unreserve(struct q *q, uint32_t b, struct msg_waiter *w,
		      struct wakeq *wq)
{
	struct msg_first *f = first(q, b);
	uint64_t size = RD(f->size), ticket = RD(w->ticket);
	uint64_t undo = RD(q->h->undo_ticket);

	if (undo && undo == ticket) {
		q->h->lrpid = q->h->undo_lrpid;
		q->h->rtime = q->h->undo_rtime;
		q->h->undo_ticket = 0;
	}
	f->rsv = 0;
	q->h->nrsv--;
	q->h->qnum++;
	q->h->cbytes += size;
	offer(q, b, RD(f->type), size, wq);
}

/* Frees waiter record i, undoing what it stands for. */
static void release(struct q *q, int i, struct wakeq *wq)
{
	struct msg_waiter *w = &q->h->w[i];
	uint32_t kind = RD(w->kind);

	if (kind == W_RECV) {
		int32_t result = RD(w->result);
		uint32_t b = RD(w->msg);

		if (result == R_MSG && valid_blk(q, b) &&
		    RD(first(q, b)->rsv) == (uint32_t)i + 1)
			unreserve(q, b, w, wq);
		else if (result == R_NONE)
			q->h->nrecv--;
	} else if (kind == W_SEND) {
		q->h->nsend--;
	} else if (kind == W_COPY) {
		/* A dead copier's blocks go back by the repair the next
		 * q_lock() makes, which frees only blocks no message and no
		 * live copier holds: the record is anyone's to forge, and
		 * freeing the chain it names could free a message's. */
		atomic_store(&q->h->needs_repair, 1);
	}
	w->kind = W_FREE;
}

/* Releases the records of dead processes; returns how many. */
static int reap_waiters(struct q *q, struct uipc_nsh *h, struct wakeq *wq)
{
	int n = 0;

	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &q->h->w[i];

		if (RD(w->kind) != W_FREE &&
		    !uipc_proc_alive(h, RD(w->proc_slot), RD(w->proc_gen),
				     RD(w->pid))) {
			release(q, i, wq);
			n++;
		}
	}
	return n;
}

/* A free waiter record, reaping dead owners if none; -1 if none at all. */
static int waiter_alloc(struct q *q, struct uipc_nsh *h, struct wakeq *wq)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < MSG_WAITERS; i++)
			if (q->h->w[i].kind == W_FREE)
				return i;
		if (pass == 0 && !reap_waiters(q, h, wq))
			break;
	}
	return -1;
}

/* ---------------------------------------------------------------------
 * Repair: the lock's last owner died.  Rebuild what is derived.
 * ------------------------------------------------------------------- */

/* Whether block b is marked in seen (NULL: no memory to tell). */
static int seen_test(const unsigned char *seen, uint32_t b)
{
	return seen && (seen[b / 8] & (1u << (b % 8)));
}

/*
 * The free list rebuilt from blocks 1..fresh-1 that no message holds (not
 * in seen): its head, lowest first, or 0.  Only blocks in the file's data
 * are looked at: one in a hole was never written, so it is neither in a
 * message nor freed, and linking every block of a file that a writer made
 * sparse and 512 GB long would fill the tmpfs (and fault).  With no way to
 * tell (no memory for seen, no descriptor), none: leak rather than
 * corrupt.  System calls: this is the repair.
 */
static uint32_t rebuild_free(struct q *q, uint32_t fresh,
			     const unsigned char *seen)
{
	off_t pos = (off_t)(ARENA_OFF + MSG_BLK);
	off_t end = (off_t)(ARENA_OFF + (size_t)fresh * MSG_BLK);
	uint32_t head = 0, tail = 0;
	struct uipc_nsh *h;
	char name[64];
	int fd, err = 0;

	h = uipc_ns_get(&err);
	if (!h || !seen)
		return 0;
	snprintf(name, sizeof(name), "msg.%d", q->m->id);
	fd = uipc_ns_openat(h, name, O_RDONLY);
	if (fd < 0)
		return 0;
	while (pos < end) {
		off_t d = lseek(fd, pos, SEEK_DATA), e;

		if (d < 0 || d >= end)
			break;		/* ENXIO: no data past pos */
		e = lseek(fd, d, SEEK_HOLE);
		if (e <= d)
			break;
		if (e > end)
			e = end;
		/* Extents are whole pages, and so is ARENA_OFF. */
		for (uint32_t b = (uint32_t)((d - (off_t)ARENA_OFF) / MSG_BLK);
		     b < (uint32_t)((e - (off_t)ARENA_OFF) / MSG_BLK); b++) {
			if (b == 0 || seen_test(seen, b))
				continue;
			/* A run of one block (free_blocks). */
			first(q, b)->next_msg = 0;
			first(q, b)->next_blk = 0;
			if (tail)
				first(q, tail)->next_msg = b;
			else
				head = b;
			tail = b;
		}
		pos = e;
	}
	close(fd);
	return head;
}

/*
 * For repair(): the W_COPY records of live copiers keep their blocks (marked
 * in seen, so not rebuilt into the free list); those of dead ones, or whose
 * chain is not a chain of free-standing blocks, are dropped (their blocks go
 * back with the rebuild).  Returns the bytes the kept ones hold.
 */
static uint64_t copying(struct q *q, unsigned char *seen)
{
	struct uipc_nsh *h;
	uint64_t inflight = 0;
	int err = 0;

	h = uipc_ns_get(&err);
	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &q->h->w[i];
		struct walk cw = WALK_INIT;
		uint64_t size = RD(w->size), n = blocks_for(size);
		uint32_t c = RD(w->msg);
		int ok = 1;

		if (RD(w->kind) != W_COPY)
			continue;
		if (!h || n >= q->lim ||
		    !uipc_proc_alive(h, RD(w->proc_slot), RD(w->proc_gen),
				     RD(w->pid)))
			ok = 0;
		for (uint64_t k = 0; k < n && ok; k++) {
			if (walk_step(q, &cw, c) < 0 || seen_test(seen, c)) {
				ok = 0;
				break;
			}
			if (seen)
				seen[c / 8] |= (unsigned char)(1u << (c % 8));
			c = k == 0 ? RD(first(q, c)->next_blk) :
				RD(((struct msg_cont *)blk(q, c))->next_blk);
		}
		if (ok)
			inflight += size;
		else
			w->kind = W_FREE;	/* a stray mark stays: a leak */
	}
	return inflight;
}

/*
 * Rebuilds what is derived after a lock owner died.  Queue locked (q->lim
 * set).  The header's geometry is anyone's: blocks are bounded by q->lim
 * (nblocks read once, at most what this process maps), every walk by the
 * number of blocks, and seen[] is sized and indexed by that one bound.  A
 * list corrupt beyond what a crash leaves is cut there.
 */
static void repair(struct q *q)
{
	struct uipc_msq *h = q->h;
	uint32_t *prevp = &h->head, b, last = 0, fresh;
	uint64_t qnum = 0, cbytes = 0, visited = 0;
	uint32_t nrsv = 0, nrecv = 0, nsend = 0;
	struct walk lw = WALK_INIT;
	unsigned char *seen;
	struct wakeq wq;

	wakeq_init(&wq);
	seen = calloc(q->lim / 8 + 1, 1);

	for (b = RD(*prevp); b; b = RD(*prevp)) {
		struct msg_first *f = NULL;
		struct walk cw = WALK_INIT;
		uint64_t size = 0, n = 0;
		uint32_t c, rsv;
		int ok = walk_step(q, &lw, b) == 0;

		if (ok) {
			f = first(q, b);
			size = RD(f->size);
			n = blocks_for(size);
			ok = n < q->lim;
		}
		c = b;
		/* Each block is in one message at most, once: a block seen
		 * before (with no memory to tell: a cycle, or more blocks
		 * than there are) is a corrupt list. */
		for (uint64_t i = 0; i < n && ok; i++) {
			if (walk_step(q, &cw, c) < 0 || seen_test(seen, c) ||
			    ++visited > q->lim) {
				ok = 0;
				break;
			}
			if (seen)
				seen[c / 8] |= (unsigned char)(1u << (c % 8));
			c = i == 0 ? RD(f->next_blk) :
				RD(((struct msg_cont *)blk(q, c))->next_blk);
		}
		if (!ok) {	/* corrupt beyond a crash: cut the list here */
			*prevp = 0;
			break;
		}
		rsv = RD(f->rsv);
		if (rsv) {
			struct msg_waiter *w = rsv <= MSG_WAITERS ?
				&h->w[rsv - 1] : NULL;

			if (!w || RD(w->kind) != W_RECV ||
			    RD(w->result) != R_MSG || RD(w->msg) != b ||
			    (uint32_t)RD(w->ticket) != RD(f->rsv_ticket)) {
				f->rsv = 0;
				rsv = 0;
			}
		}
		if (rsv) {
			nrsv++;
		} else {
			qnum++;
			cbytes += size;
		}
		last = b;
		prevp = &f->next_msg;
	}
	h->tail = last;
	h->inflight = copying(q, seen);

	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &h->w[i];
		uint32_t kind = RD(w->kind);

		if (kind == W_RECV) {
			int32_t result = RD(w->result);
			uint32_t m = RD(w->msg);

			if (result == R_MSG &&
			    (!valid_blk(q, m) ||
			     RD(first(q, m)->rsv) != (uint32_t)i + 1)) {
				w->result = R_NONE;
				result = R_NONE;
			}
			if (result == R_NONE)
				nrecv++;
		} else if (kind == W_SEND) {
			nsend++;
		} else if (kind == W_COPY) {
			continue;	/* copying(): not asleep */
		} else if (kind != W_FREE) {
			w->kind = W_FREE;
			kind = W_FREE;
		}
		if (kind != W_FREE)
			wake_rec(&wq, w);
	}
	h->qnum = qnum;
	h->cbytes = cbytes;
	h->nrsv = nrsv;
	h->nrecv = nrecv;
	h->nsend = nsend;

	/* Blocks from fresh on were never given out; the list is rebuilt
	 * from the others that no message holds. */
	fresh = RD(h->fresh);
	if (fresh == 0 || fresh > q->lim)
		fresh = q->lim;
	h->fresh = fresh;
	h->free_head = rebuild_free(q, fresh, seen);
	free(seen);
	atomic_store(&h->needs_repair, 0);
	atomic_fetch_add(&h->overflow_seq, 1);
	wake_flush(&wq);
}

/* The lock's repair hook: the queue is repaired by the next q_lock(),
 * which knows how much of the file its caller maps. */
static void msg_repair(void *obj)
{
	atomic_store(&((struct uipc_msq *)obj)->needs_repair, 1);
}

/* Only the file's length: nblocks, read here without the queue's lock,
 * may be a grower's that has just lengthened the file after this process
 * looked at its size; q_lock() compares the two under the lock. */
static int msg_validate(const void *obj, size_t len, void *priv)
{
	(void)obj;
	(void)priv;
	if (len < ARENA_OFF + 2 * MSG_BLK)
		return -EIO;
	return 0;
}

const struct uipc_kind_ops uipc_msg_ops = {
	.hdr_size = sizeof(struct uipc_msq),
	.repair = msg_repair,
	.validate = msg_validate,
};

/* ---------------------------------------------------------------------
 * Locking a queue for an operation.
 * ------------------------------------------------------------------- */

static int removed(struct q *q)
{
	return atomic_load(&q->h->o.state) != OBJ_LIVE;
}

/* Remappings one q_lock() makes for a header that names more blocks than
 * it maps: each must find the file longer than the last (files only grow);
 * the bound stops a writer that keeps growing it. */
#define Q_REMAPS 32

/* The removed queue's file mapped for nb blocks (locked, and stays so:
 * the lock word is in the same page of the same file).  0, or -EIO. */
static int q_widen(struct q *q, uint32_t nb)
{
	if (nb <= q->mapped || nb > MSG_MAX_BLOCKS)
		return -EIO;
	if (uipc_map_widen(&q->m, ARENA_OFF + (size_t)nb * MSG_BLK) < 0)
		return -EIO;
	q_set(q, q->m);
	return 0;
}

/* q_lock() with the queue locked and nblocks read as nb, when that is
 * more than this process maps or a repair is due.  Out of line: q_lock()
 * is on every call's fast path.  On failure the queue is unlocked.  A
 * removed queue's name is gone: its longer file is mapped through the
 * mapping we have (q_widen), or, if that cannot be, it is locked as
 * mapped, so that the caller tells EIDRM, as the kernel does, not an
 * error of the mapping. */
__attribute__((noinline))
static int q_lock_slow(struct q *q, uint32_t nb)
{
	for (int remaps = 0; nb > q->mapped; remaps++) {
		struct uipc_map *old = q->m;
		uint32_t before = q->mapped;
		int r;

		if (removed(q)) {
			/* Its name is gone, but a message handed to a
			 * receiver before the removal is still the receiver's
			 * (the kernel's pipelined_send): the longer file is
			 * mapped again through the mapping we have. */
			if (remaps < Q_REMAPS && q_widen(q, nb) == 0)
				continue;
			nb = q->mapped;
			break;
		}
		uipc_obj_unlock(old);
		if (remaps == Q_REMAPS)
			return -EIO;
		uipc_map_hold(old);	/* for a removal meanwhile */
		r = uipc_map_refresh(&q->m);
		if (r < 0) {
			/* Removed meanwhile, if the header says so. */
			q_set(q, old);
			r = uipc_obj_lock(old);
			if (r < 0)
				return r;
			if (removed(q)) {
				nb = RD(q->h->nblocks);
				if (q_widen(q, nb) == 0)
					continue;
				nb = q->mapped;
				break;
			}
			uipc_obj_unlock(old);
			return -EIO;
		}
		uipc_map_put(old);
		q_set(q, q->m);
		if (q->mapped <= before)
			return -EIO;	/* names blocks the file lacks */
		r = uipc_obj_lock(q->m);
		if (r < 0)
			return r;
		nb = RD(q->h->nblocks);
	}
	if (nb > q->mapped)
		nb = q->mapped;
	q->lim = nb;
	if (atomic_load_explicit(&q->h->needs_repair, memory_order_relaxed))
		repair(q);
	return 0;
}

/* Takes the queue's lock, first making sure this process maps every block
 * (another process may have grown the file), and repairs after a dead
 * owner.  Sets q->lim.  -EIO for a header that keeps naming blocks the
 * file lacks. */
static inline int q_lock(struct q *q)
{
	uint32_t nb;
	int r = uipc_obj_lock(q->m);

	if (r < 0)
		return r;
	nb = RD(q->h->nblocks);
	if (likely(nb <= q->mapped &&
		   !atomic_load_explicit(&q->h->needs_repair,
					 memory_order_relaxed))) {
		q->lim = nb;
		return 0;
	}
	return q_lock_slow(q, nb);
}

static void q_unlock(struct q *q, struct wakeq *wq)
{
	uipc_obj_unlock(q->m);
	wake_flush(wq);
}

static inline int q_get(int id, struct q *q)
{
	struct uipc_map *m;
	int r = uipc_obj_get(UIPC_MSG, id, &m);

	if (r < 0)
		return r;
	q_set(q, m);
	return 0;
}

static void q_put(struct q *q)
{
	if (q->m)
		uipc_map_put(q->m);
}

/* q_get() and q_lock(): 0 with the queue referenced and locked. */
static int q_get_locked(int id, struct q *q)
{
	int r = q_get(id, q);

	if (r < 0)
		return r;
	r = q_lock(q);
	if (r < 0)
		q_put(q);
	return r;
}

/*
 * Sleeps on waiter record i (or on overflow_seq when i < 0, having seen
 * `seq`) with the queue unlocked, spinning first; relocks.  Returns 0 or
 * -EINTR, or the error of relocking.
 */
static int q_sleep(struct q *q, int i, uint32_t seq, struct uipc_wait *wt,
		   struct wakeq *wq)
{
	_Atomic uint32_t *word;
	int r;

	if (i < 0) {
		word = &q->h->overflow_seq;
		q_unlock(q, wq);
		r = uipc_wait_poll(wt, word, seq, NULL);
	} else {
		word = &q->h->w[i].futex;
		atomic_store(word, 0);	/* a wake that mattered was seen */
		q_unlock(q, wq);
		r = uipc_wait_spin(wt, word) ? 0 :
			uipc_wait_sleep(wt, word, NULL);
	}
	if (q_lock(q) < 0)
		return -EIO;
	/* Back with no wake (the safety period ended it): a queue removed
	 * while its header was spoiled (remove_corrupt in store.c) was
	 * neither marked nor had its waiters woken, but its name is gone.
	 * Marked now, the callers answer EIDRM, as after any removal. */
	if (r == 0 && i >= 0 &&
	    atomic_load(&q->h->w[i].futex) != UIPC_W_WOKEN &&	/* remapped */
	    !removed(q) && uipc_obj_unnamed(q->m))
		atomic_store(&q->h->o.state, OBJ_REMOVED);
	return r;
}

static int new_waiter(struct q *q, struct uipc_self *self, struct wakeq *wq,
		      int kind, uint64_t size)
{
	struct uipc_nsh *h;
	int r = 0, i;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	i = waiter_alloc(q, h, wq);
	if (i < 0)
		return -ENOSPC;
	memset(&q->h->w[i], 0, sizeof(q->h->w[i]));
	q->h->w[i].kind = (uint32_t)kind;
	q->h->w[i].ticket = ++q->h->ticket;
	q->h->w[i].proc_slot = self->slot;
	q->h->w[i].proc_gen = self->gen;
	q->h->w[i].pid = self->pid;
	q->h->w[i].size = size;
	if (kind == W_SEND)
		q->h->nsend++;
	else
		q->h->nrecv++;
	return i;
}

/* Registers the caller (before it may block), outside the queue's lock
 * since registering may do another process's exit work. */
static int ensure_self(struct uipc_self *self, int *have)
{
	int r;

	if (*have)
		return 0;
	r = uipc_proc_self(self);
	if (r == 0) {
		*have = 1;
		uipc_proc_note(UIPC_USE_MSGWAIT);
	}
	return r;
}

/* What every pass of a call's loop checks first.  Queue locked. */
static int q_check(struct q *q, int flag)
{
	int r = uipc_map_perm(q->m, flag);

	if (r < 0)
		return r;
	return removed(q) ? -EIDRM : 0;
}

/* Before a caller first blocks: unlock, register it, block signals (so
 * that a handler that would run from now on makes its sleep fail with
 * EINTR), relock; the caller then looks again.  Returns 0 with the queue
 * locked again, or -errno with it unlocked. */
static int q_register(struct q *q, struct uipc_self *self, int *have,
		      struct uipc_wait *wt, struct wakeq *wq)
{
	int r;

	q_unlock(q, wq);
	r = uipc_wait_begin(wt);	/* first: ensure_self makes calls */
	if (r == 0)
		r = ensure_self(self, have);
	return r < 0 ? r : q_lock(q);
}

/* From this size on, msgsnd copies the message with the queue unlocked:
 * below, the copy costs less than locking twice. */
#define UNLOCKED_COPY 2048

/*
 * Before copying a message into its blocks b (taken, not linked): records
 * them as the caller's (W_COPY: a repair keeps them, the caller's death
 * frees them), counts their bytes in inflight (so no other message takes
 * their room) and unlocks.  Returns the record, or -1 (no record free:
 * the copy is made under the lock, the queue still locked).
 */
/* A free record (or -1), filled in for the caller and message b of size
 * bytes; the caller sets what it stands for, its kind last. */
static int record_for(struct q *q, struct uipc_nsh *h,
		      const struct uipc_self *self, uint32_t b, uint64_t size,
		      struct wakeq *wq)
{
	struct msg_waiter *w;
	int i = waiter_alloc(q, h, wq);

	if (i < 0)
		return -1;
	w = &q->h->w[i];
	memset(w, 0, sizeof(*w));
	w->ticket = ++q->h->ticket;
	w->proc_slot = self->slot;
	w->proc_gen = self->gen;
	w->pid = self->pid;
	w->size = size;
	w->msg = b;
	return i;
}

static int copy_begin(struct q *q, struct uipc_nsh *h,
		      const struct uipc_self *self, uint32_t b, uint64_t size,
		      struct wakeq *wq)
{
	int i = record_for(q, h, self, b, size, wq);

	if (i < 0)
		return -1;
	q->h->w[i].kind = W_COPY;
	q->h->inflight += size;
	q_unlock(q, wq);
	return i;
}

/*
 * After the copy: relocks and drops record i.  0 with the queue locked and
 * the blocks the caller's again; -EIO unlocked if it cannot be locked; with
 * it locked, -EIDRM if the queue went, -ESTALE if the record is no longer
 * the caller's (a writer of the file changed it: the blocks may be another
 * message's now).
 */
static int copy_end(struct q *q, int i, uint32_t b, uint64_t size)
{
	struct msg_waiter *w;

	if (q_lock(q) < 0)
		return -EIO;
	if (removed(q))
		return -EIDRM;
	w = &q->h->w[i];
	if (RD(w->kind) != W_COPY || RD(w->msg) != b || RD(w->size) != size ||
	    RD(w->pid) != uipc_getpid())
		return -ESTALE;
	w->kind = W_FREE;
	q->h->inflight = q->h->inflight >= size ? q->h->inflight - size : 0;
	return 0;
}

/* No waiter record is free: sleep until anything changes.  Returns 0 or
 * -EINTR with the queue locked, -EIO with it unlocked. */
static int q_sleep_overflow(struct q *q, struct uipc_wait *wt,
			    struct wakeq *wq)
{
	uint32_t seq = atomic_load(&q->h->overflow_seq);
	int r;

	q->h->overflow_waiters++;
	r = q_sleep(q, -1, seq, wt, wq);
	if (r != -EIO)
		q->h->overflow_waiters--;
	return r;
}

/* ---------------------------------------------------------------------
 * msgget
 * ------------------------------------------------------------------- */

static int msq_init(void *obj, void *arg)
{
	struct uipc_msq *h = obj;
	uint64_t qbytes = *(uint64_t *)arg;

	h->qbytes = qbytes;
	h->nblocks = MSG_INIT_BLOCKS;
	h->free_head = 0;
	h->fresh = 1;		/* block 0 is never used */
	return 0;
}

static long do_msgget(key_t key, int msgflg)
{
	struct uipc_nsh *h;
	struct uipc_new n;
	uint64_t qbytes;
	int r = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	qbytes = (uint64_t)uipc_limit(h, UL_MSGMNB);
	memset(&n, 0, sizeof(n));
	n.kind = UIPC_MSG;
	n.key = key;
	n.flg = msgflg;
	n.file_size = ARENA_OFF + (size_t)MSG_INIT_BLOCKS * MSG_BLK;
	/* The header's pages: the waiter records are scanned whole (the
	 * arena's pages are had as fresh blocks are taken: take_free). */
	n.prealloc = ARENA_OFF;
	n.init = msq_init;
	n.arg = &qbytes;
	return uipc_ipcget(&n);
}

int uipc_msgget(key_t key, int msgflg)
{
	return (int)UIPC_RET(do_msgget(key, msgflg));
}

/* ---------------------------------------------------------------------
 * msgsnd
 * ------------------------------------------------------------------- */

/* Lengthens the queue's file to len bytes, if it is shorter: -ENOMEM
 * (what msgsnd says of memory it lacks) when it cannot.  Queue locked and
 * live, so the name is this queue's. */
static int file_grow(struct q *q, off_t len)
{
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	int fd, r = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	snprintf(name, sizeof(name), "msg.%d", q->m->id);
	fd = uipc_ns_openat(h, name, O_RDWR);
	if (fd < 0)
		return -ENOMEM;
	if (fstat(fd, &st) < 0 || (st.st_size < len && ftruncate(fd, len) < 0))
		r = -ENOMEM;
	close(fd);
	return r;
}

/*
 * The arena has no blocks left for a message of `need` blocks that qbytes
 * lets in.  The file grows: to twice its blocks or what the message needs,
 * at most what qbytes can ever need (nblocks_for()); the new blocks are
 * fresh, and this process maps them.  Queue locked.  0: grown, and locked
 * again after the remap (so the caller looks at the queue again);
 * -ENOMEM, still locked: no room to grow, or the file could not; -EIO:
 * unlocked, the queue could not be mapped or locked again.
 */
static int arena_grow(struct q *q, uint64_t need, struct wakeq *wq)
{
	uint64_t cap = nblocks_for(RD(q->h->qbytes));
	uint64_t want = 2 * (uint64_t)q->lim;

	if (want < q->lim + need + 1)
		want = q->lim + need + 1;
	if (want > cap)
		want = cap;
	if (want <= q->lim)
		return -ENOMEM;
	if (want > q->mapped &&
	    file_grow(q, (off_t)(ARENA_OFF + want * MSG_BLK)) < 0)
		return -ENOMEM;
	/* Not before the file is that long: nblocks makes others map it.
	 * A file from before `fresh` lists every block it had as free. */
	if (!RD(q->h->fresh))
		q->h->fresh = q->lim;
	q->h->nblocks = (uint32_t)want;
	if (want <= q->mapped) {
		q->lim = (uint32_t)want;
		return 0;
	}
	/* The wake-ups taken so far name words of this mapping, which the
	 * remap may unmap: sent now (a woken waiter waits for the lock). */
	wake_flush(wq);
	return q_lock_slow(q, (uint32_t)want) < 0 ? -EIO : 0;
}

static long do_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg,
		      struct uipc_wait *wt)
{
	const char *text = (const char *)msgp + sizeof(long);
	struct uipc_self self;
	struct wakeq wq;
	struct uipc_nsh *h;
	int have_self = 0, copier = 0, reaped = 0, ci = -1, grows = 0;
	struct q q;
	long mtype, last = 0;
	uint32_t b;
	int r = 0;

	wakeq_init(&wq);
	h = uipc_ns_get(&r);
	if (!h)
		return r;
	r = uipc_copy_from_user(&mtype, msgp, sizeof(mtype));
	if (r < 0)
		return r;
	if (msgsz > (uint64_t)uipc_limit(h, UL_MSGMAX) || (long)msgsz < 0 ||
	    msqid < 0)
		return -EINVAL;
	if (mtype < 1)
		return -EINVAL;
	r = uipc_probe_read(text, msgsz);
	if (r < 0)
		return r;
	/* A large message is copied with the queue unlocked, under a record
	 * that names its sender: registered, but not noted as a waiter
	 * (ensure_self's locked write to the shared table on every call). */
	if (msgsz >= UNLOCKED_COPY)
		copier = uipc_proc_self(&self) == 0;	/* else: locked copy */
	r = q_get_locked(msqid, &q);
	if (r < 0)
		return r;

	for (;;) {
		int i;

		r = q_check(&q, S_IWUGO);
		if (r < 0)
			goto out_unlock;
		if (fits(&q, msgsz)) {
			b = alloc_chain(&q, msgsz, &r);
			if (b)
				break;
			if (r != -ENOMEM) {
				/* A corrupt free list, or no memory for the
				 * file (ENOMEM, as the kernel's load_msg). */
				if (r == -ENOSPC)
					r = -ENOMEM;
				goto out_unlock;
			}
			/* Each growth at least doubles the arena, up to 2^31
			 * blocks: more are a writer shrinking nblocks. */
			r = ++grows > 32 ? -ENOMEM :
				arena_grow(&q, blocks_for(msgsz), &wq);
			if (r == -EIO)
				goto out_put;	/* unlocked */
			if (r < 0)
				goto out_unlock;
			continue;
		}
		if (q.h->inflight && !reaped) {	/* a copier may have died */
			reap_waiters(&q, h, &wq);
			reaped = 1;
			if (!any_copier(&q))	/* room no one holds */
				atomic_store(&q.h->needs_repair, 1);
			if (atomic_load(&q.h->needs_repair)) {	/* its room */
				q_unlock(&q, &wq);
				if (q_lock(&q) < 0) {
					r = -EIO;
					goto out_put;
				}
			}
			continue;
		}
		r = -EAGAIN;
		if (msgflg & IPC_NOWAIT)
			goto out_unlock;
		if (!have_self || !wt->masked) {
			r = q_register(&q, &self, &have_self, wt, &wq);
			if (r < 0)
				goto out_put;
			continue;
		}
		i = new_waiter(&q, &self, &wq, W_SEND, msgsz);
		if (i == -ENOSPC) {
			r = q_sleep_overflow(&q, wt, &wq);
			if (r == -EIO)
				goto out_put;
		} else if (i < 0) {
			r = i;
			goto out_unlock;
		} else {
			q.h->w[i].wake_addr = uipc_wait_addr(wt);
			do {
				r = q_sleep(&q, i, 0, wt, &wq);
				if (r == -EIO)
					goto out_put;
			} while (r == 0 && atomic_load(&q.h->w[i].futex) !=
				 UIPC_W_WOKEN && !removed(&q));
			release(&q, i, &wq);
		}
		if (removed(&q)) {
			r = -EIDRM;
			goto out_unlock;
		}
		if (r == -EINTR)
			goto out_unlock;
	}

	if (msgsz >= UNLOCKED_COPY && (copier || have_self))
		ci = copy_begin(&q, h, &self, b, msgsz, &wq);
	r = copy_chain(&q, b, (void *)text, msgsz, 0);
	if (ci >= 0) {
		int e = copy_end(&q, ci, b, msgsz);

		if (e == -EIO) {
			r = -EIO;
			goto out_put;	/* unlocked */
		}
		if (e < 0) {	/* the blocks are not ours to free */
			r = e == -EIDRM ? -EIDRM : -EIO;
			goto out_unlock;
		}
	}
	if (r == 0) {
		last = last_msg(&q);
		r = last < 0 ? (int)last : 0;
	}
	if (r < 0) {
		free_chain(&q, b, msgsz);
		goto out_unlock;
	}
	first(&q, b)->type = mtype;
	first(&q, b)->size = msgsz;
	first(&q, b)->rsv = 0;
	q.h->lspid = uipc_getpid();
	q.h->stime = uipc_now();
	link_tail(&q, (uint32_t)last, b);
	q.h->qnum++;
	q.h->cbytes += msgsz;
	offer(&q, b, mtype, msgsz, &wq);
	wake_overflow(&q);
	r = 0;
out_unlock:
	q_unlock(&q, &wq);
out_put:
	q_put(&q);
	return r;
}

UIPC_MASK_TEXT int uipc_msgsnd(int msqid, const void *msgp, size_t msgsz,
				int msgflg)
{
	struct uipc_wait wt;
	long r;

	uipc_wait_init(&wt, UIPC_SITE_MSGSND);
	if (!(msgflg & IPC_NOWAIT))
		uipc_wait_early(&wt);
	r = do_msgsnd(msqid, msgp, msgsz, msgflg, &wt);
	uipc_wait_end(&wt);
	return (int)UIPC_RET(r);
}

/* ---------------------------------------------------------------------
 * msgrcv
 * ------------------------------------------------------------------- */

static int convert_mode(long *msgtyp, int msgflg)
{
	if (msgflg & MSG_COPY)
		return SEARCH_NUMBER;
	if (*msgtyp == 0)
		return SEARCH_ANY;
	if (*msgtyp < 0) {
		*msgtyp = *msgtyp == LONG_MIN ? LONG_MAX : -*msgtyp;
		return SEARCH_LESSEQUAL;
	}
	return (msgflg & MSG_EXCEPT) ? SEARCH_NOTEQUAL : SEARCH_EQUAL;
}

/* Copies message b, of size bytes (msg_size()), out to the caller:
 * mtype, then min(size, bufsz) bytes.  Returns the byte count, -EFAULT
 * or -EIO. */
static long copy_out(struct q *q, uint32_t b, uint64_t size, void *msgp,
		     size_t bufsz)
{
	size_t n = size < bufsz ? (size_t)size : bufsz;
	long type = (long)RD(first(q, b)->type);
	int r;

	r = uipc_copy_to_user(msgp, &type, sizeof(type));
	if (r == 0)
		r = copy_chain(q, b, (char *)msgp + sizeof(long), n, 1);
	return r < 0 ? r : (long)n;
}

/* Removes message b (after prev) of size bytes for good: it has been
 * copied out. */
static void consume(struct q *q, uint32_t prev, uint32_t b, uint64_t size)
{
	unlink_msg(q, prev, b);
	free_chain(q, b, size);
}

/* Finds where b (valid) sits in the list: its predecessor, or -EIO. */
static long prev_of(struct q *q, uint32_t b)
{
	uint32_t c = RD(q->h->head), prev = 0;
	struct walk w = WALK_INIT;

	while (c && c != b) {
		if (walk_step(q, &w, c) < 0)
			return -EIO;
		prev = c;
		c = RD(first(q, c)->next_msg);
	}
	return c == b ? (long)prev : -EIO;
}

/*
 * The receiver in record i was handed message w->msg (reserved for it:
 * rsv): takes it.  A large one is copied out with the queue unlocked; the
 * reservation keeps it the receiver's meanwhile, and puts it back in play
 * if the receiver dies.  Returns with the queue locked, or -EIO with
 * *unlocked set if it could not be locked again.
 */
static long take_handed(struct q *q, int i, void *msgp, size_t bufsz,
			struct wakeq *wq, int *unlocked)
{
	struct msg_waiter *w = &q->h->w[i];
	uint32_t b = RD(w->msg);
	uint64_t size;
	long r, prev = -EIO;

	if (valid_blk(q, b) && msg_size(q, b, &size) == 0)
		prev = prev_of(q, b);
	if (prev < 0) {
		release(q, i, wq);
		return prev;
	}
	if (size < UNLOCKED_COPY) {
		r = copy_out(q, b, size, msgp, bufsz);
	} else {
		q_unlock(q, wq);
		r = copy_out(q, b, size, msgp, bufsz);
		if (q_lock(q) < 0) {
			*unlocked = 1;
			return -EIO;
		}
		if (removed(q))
			return r;	/* it was ours: gone with the queue */
		w = &q->h->w[i];
		if (RD(w->kind) != W_RECV || RD(w->result) != R_MSG ||
		    RD(w->msg) != b || !valid_blk(q, b) ||
		    RD(first(q, b)->rsv) != (uint32_t)i + 1)
			return -EIO;	/* a writer of the file took it */
		prev = prev_of(q, b);
		if (prev < 0) {
			release(q, i, wq);
			return prev;
		}
	}
	if (r < 0) {
		release(q, i, wq);	/* back in play: not lost */
		return r;
	}
	first(q, b)->rsv = 0;
	q->h->nrsv--;
	if (RD(q->h->undo_ticket) == RD(w->ticket))
		q->h->undo_ticket = 0;	/* taken: nothing to undo */
	w->kind = W_FREE;
	consume(q, (uint32_t)prev, b, size);
	wake_senders(q, wq);
	return r;
}

/* A large message the caller found (b, locked) is reserved for it, as a
 * sender hands one to a blocked receiver, so that take_handed() can copy it
 * out with the queue unlocked.  Returns the record, or -1 if none is free
 * (the copy is then made under the lock). */
static int reserve_self(struct q *q, struct uipc_nsh *h,
			const struct uipc_self *self, uint32_t b,
			uint64_t size, struct wakeq *wq)
{
	struct msg_first *f = first(q, b);
	struct msg_waiter *w;
	int i = record_for(q, h, self, b, size, wq);

	if (i < 0)
		return -1;
	w = &q->h->w[i];
	w->result = R_MSG;
	w->kind = W_RECV;
	f->rsv_ticket = (uint32_t)w->ticket;
	f->rsv = (uint32_t)i + 1;
	q->h->qnum--;
	q->h->cbytes -= size;
	q->h->nrsv++;
	q->h->undo_ticket = w->ticket;
	q->h->undo_lrpid = q->h->lrpid;
	q->h->undo_rtime = q->h->rtime;
	q->h->lrpid = self->pid;
	q->h->rtime = uipc_now();
	return i;
}

static long do_msgrcv(int msqid, void *msgp, size_t bufsz, long msgtyp,
		      int msgflg, struct uipc_wait *wt)
{
	struct uipc_self self;
	struct wakeq wq;
	struct uipc_nsh *h;
	int have_self = 0, copier = 0, reaped = 0, mode;
	uint32_t prev;
	struct q q;
	long r, b;
	int err = 0;

	wakeq_init(&wq);
	h = uipc_ns_get(&err);
	if (!h)
		return err;
	if (msqid < 0 || (long)bufsz < 0)
		return -EINVAL;
	if (msgflg & MSG_COPY) {
		if ((msgflg & MSG_EXCEPT) || !(msgflg & IPC_NOWAIT))
			return -EINVAL;
	}
	mode = convert_mode(&msgtyp, msgflg);
	if (bufsz >= UNLOCKED_COPY && !(msgflg & MSG_COPY))
		copier = uipc_proc_self(&self) == 0;	/* else: locked copy */
	r = q_get_locked(msqid, &q);
	if (r < 0)
		return r;

	for (;;) {
		int i;

		r = q_check(&q, S_IRUGO);
		if (r < 0)
			goto out_unlock;
		b = find_msg(&q, msgtyp, mode, &prev);
		if (b < 0) {
			r = b;
			goto out_unlock;
		}
		if (b > 0) {
			uint64_t size;

			r = msg_size(&q, (uint32_t)b, &size);
			if (r < 0)
				goto out_unlock;
			if (bufsz < size && !(msgflg & MSG_NOERROR)) {
				r = -E2BIG;
				goto out_unlock;
			}
			if (msgflg & MSG_COPY) {
				/* The kernel copies into a buffer of
				 * min(bufsz, msgmax) and refuses a bigger
				 * message with EINVAL. */
				uint64_t cap = (uint64_t)uipc_limit(h, UL_MSGMAX);

				if (size > (bufsz < cap ? bufsz : cap)) {
					r = -EINVAL;
					goto out_unlock;
				}
				r = copy_out(&q, (uint32_t)b, size, msgp, bufsz);
				goto out_unlock;
			}
			if (size >= UNLOCKED_COPY && (copier || have_self) &&
			    (i = reserve_self(&q, h, &self, (uint32_t)b, size,
					      &wq)) >= 0) {
				int unlocked = 0;

				r = take_handed(&q, i, msgp, bufsz, &wq,
						&unlocked);
				if (unlocked)
					goto out_put;
				wake_overflow(&q);
				goto out_unlock;
			}
			r = copy_out(&q, (uint32_t)b, size, msgp, bufsz);
			if (r < 0)
				goto out_unlock;	/* the message stays */
			consume(&q, prev, (uint32_t)b, size);
			q.h->qnum--;
			q.h->cbytes -= size;
			q.h->rtime = uipc_now();
			q.h->lrpid = uipc_getpid();
			q.h->undo_ticket = 0;
			wake_senders(&q, &wq);
			wake_overflow(&q);
			goto out_unlock;
		}
		if (q.h->nrsv && !reaped) {
			/* Messages handed to receivers that died would
			 * otherwise sit unseen: put them back in play. */
			reap_waiters(&q, h, &wq);
			reaped = 1;
			continue;
		}
		if (msgflg & IPC_NOWAIT) {
			r = -ENOMSG;
			goto out_unlock;
		}
		if (!have_self || !wt->masked) {
			r = q_register(&q, &self, &have_self, wt, &wq);
			if (r < 0)
				goto out_put;
			continue;
		}
		i = new_waiter(&q, &self, &wq, W_RECV,
			       (msgflg & MSG_NOERROR) ? (uint64_t)LONG_MAX : bufsz);
		if (i == -ENOSPC) {
			r = q_sleep_overflow(&q, wt, &wq);
			if (r == -EIO)
				goto out_put;
			if (r == -EINTR)
				goto out_unlock;
			continue;
		}
		if (i < 0) {
			r = i;
			goto out_unlock;
		}
		q.h->w[i].msgtyp = msgtyp;
		q.h->w[i].mode = mode;
		q.h->w[i].wake_addr = uipc_wait_addr(wt);
		for (;;) {
			int32_t result;

			r = q_sleep(&q, i, 0, wt, &wq);
			if (r == -EIO)
				goto out_put;
			/* q.h may be another mapping now */
			result = RD(q.h->w[i].result);
			if (result == R_MSG) {
				int unlocked = 0;

				r = take_handed(&q, i, msgp, bufsz, &wq,
						&unlocked);
				if (unlocked)
					goto out_put;
				goto out_unlock;
			}
			if (result == -E2BIG || result == -EIDRM) {
				r = result;
				q.h->w[i].kind = W_FREE;
				goto out_unlock;
			}
			/* R_RETRY, or what no waker writes: look again */
			if (result != R_NONE || r == -EINTR || removed(&q))
				break;
		}
		release(&q, i, &wq);
		if (r == -EINTR)
			goto out_unlock;
		reaped = 0;
	}
out_unlock:
	q_unlock(&q, &wq);
out_put:
	q_put(&q);
	return r;
}

UIPC_MASK_TEXT ssize_t uipc_msgrcv(int msqid, void *msgp, size_t msgsz,
				   long msgtyp, int msgflg)
{
	struct uipc_wait wt;
	long r;

	uipc_wait_init(&wt, UIPC_SITE_MSGRCV);
	if (!(msgflg & IPC_NOWAIT))
		uipc_wait_early(&wt);
	r = do_msgrcv(msqid, msgp, msgsz, msgtyp, msgflg, &wt);
	uipc_wait_end(&wt);
	return (ssize_t)UIPC_RET(r);
}

/* ---------------------------------------------------------------------
 * msgctl
 * ------------------------------------------------------------------- */

/* IPC_RMID: wake everyone blocked; they answer EIDRM. */
static void msg_kill(struct uipc_map *m)
{
	struct uipc_msq *h = m->base;
	struct wakeq wq;

	wakeq_init(&wq);
	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &h->w[i];

		if (w->kind == W_RECV && w->result == R_NONE) {
			w->result = -EIDRM;
			h->nrecv--;
		}
		if (w->kind != W_FREE)
			wake_rec(&wq, w);
	}
	atomic_fetch_add(&h->overflow_seq, 1);
	wake_flush(&wq);
}

static void fill_ds(struct q *q, struct msqid_ds *ds)
{
	memset(ds, 0, sizeof(*ds));
	uipc_fill_perm(&q->h->o, &ds->msg_perm);
	ds->msg_stime = q->h->stime;
	ds->msg_rtime = q->h->rtime;
	ds->msg_ctime = q->h->o.ctime;
	ds->__msg_cbytes = q->h->cbytes;
	ds->msg_qnum = q->h->qnum;
	ds->msg_qbytes = q->h->qbytes;
	ds->msg_lspid = q->h->lspid;
	ds->msg_lrpid = q->h->lrpid;
}

static long msgctl_stat(struct q *q, int cmd, struct msqid_ds *buf)
{
	struct msqid_ds ds;
	struct wakeq wq;
	struct uipc_nsh *h;
	int err = 0;
	long r;

	wakeq_init(&wq);
	r = q_lock(q);
	if (r < 0)
		return r;
	if (cmd != MSG_STAT_ANY) {
		r = uipc_ipcperms(&q->h->o, S_IRUGO);
		if (r < 0)
			goto out_unlock;
	}
	if (q->h->nrsv && (h = uipc_ns_get(&err)))
		reap_waiters(q, h, &wq);
	fill_ds(q, &ds);
	r = cmd == IPC_STAT ? 0 : q->m->id;	/* the header's is anyone's */
out_unlock:
	q_unlock(q, &wq);
	if (r >= 0 && uipc_copy_to_user(buf, &ds, sizeof(ds)) < 0)
		r = -EFAULT;
	return r;
}

static long msgctl_set(struct q *q, struct msqid_ds *ds)
{
	struct wakeq wq;
	struct uipc_nsh *h;
	int err = 0;
	long r;

	wakeq_init(&wq);
	h = uipc_ns_get(&err);
	if (!h)
		return err;
	r = q_lock(q);
	if (r < 0)
		return r;
	r = uipc_check_owner(&q->h->o);
	if (r < 0)
		goto out_unlock;
	if (ds->msg_qbytes > (uint64_t)uipc_limit(h, UL_MSGMNB) &&
	    !uipc_capable(CAP_SYS_RESOURCE)) {
		r = -EPERM;
		goto out_unlock;
	}
	r = uipc_set_perm(q->m, &ds->msg_perm);
	if (r < 0)
		goto out_unlock;
	q->h->qbytes = ds->msg_qbytes;
	/* Blocked receivers may have lost permission: they look again.
	 * Blocked senders may fit in a larger queue. */
	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &q->h->w[i];

		if (w->kind == W_RECV && w->result == R_NONE) {
			w->result = R_RETRY;
			q->h->nrecv--;
			wake_rec(&wq, w);
		}
	}
	wake_senders(q, &wq);
	wake_overflow(q);
	r = 0;
out_unlock:
	q_unlock(q, &wq);
	return r;
}

static long msgctl_info(int cmd, struct msginfo *buf)
{
	struct msginfo mi;
	struct uipc_nsh *h;
	int r = 0, max, in_use = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	memset(&mi, 0, sizeof(mi));
	mi.msgmni = (int)uipc_limit(h, UL_MSGMNI);
	mi.msgmax = (int)uipc_limit(h, UL_MSGMAX);
	mi.msgmnb = (int)uipc_limit(h, UL_MSGMNB);
	mi.msgssz = K_MSGSSZ;
	mi.msgseg = K_MSGSEG;
	max = uipc_max_idx(UIPC_MSG, &in_use);
	if (cmd == MSG_INFO) {
		/* Unsigned: a header's counters are anyone's, and a signed
		 * sum of them could overflow. */
		uint64_t hdrs = 0, bytes = 0;

		for (int i = 0; i <= max; i++) {
			struct uipc_map *m;

			if (uipc_obj_get_by_index(UIPC_MSG, i, &m) < 0)
				continue;
			hdrs += RD(((struct uipc_msq *)m->base)->qnum);
			bytes += RD(((struct uipc_msq *)m->base)->cbytes);
			uipc_map_put(m);
		}
		mi.msgpool = in_use;
		mi.msgmap = hdrs > INT_MAX ? INT_MAX : (int)hdrs;
		mi.msgtql = bytes > INT_MAX ? INT_MAX : (int)bytes;
	} else {
		mi.msgmap = K_MSGMAP;
		mi.msgpool = K_MSGPOOL;
		mi.msgtql = K_MSGTQL;
	}
	if (uipc_copy_to_user(buf, &mi, sizeof(mi)) < 0)
		return -EFAULT;
	return max < 0 ? 0 : max;
}

static long do_msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	struct msqid_ds ds;
	struct q q;
	long r;

	if (msqid < 0 || cmd < 0)
		return -EINVAL;
	switch (cmd) {
	case IPC_INFO:
	case MSG_INFO:
		return msgctl_info(cmd, (struct msginfo *)buf);
	case MSG_STAT:
	case MSG_STAT_ANY:
	case IPC_STAT:
		uipc_cred_refresh();
		if (cmd == IPC_STAT) {
			r = q_get(msqid, &q);
		} else {
			struct uipc_map *m;

			r = uipc_obj_get_by_index(UIPC_MSG, msqid, &m);
			if (r == 0)
				q_set(&q, m);
		}
		if (r < 0)
			return r;
		r = msgctl_stat(&q, cmd, buf);
		q_put(&q);
		return r;
	case IPC_SET:
		if (uipc_copy_from_user(&ds, buf, sizeof(ds)) < 0)
			return -EFAULT;
		uipc_cred_refresh();
		r = q_get(msqid, &q);
		if (r < 0)
			return r;
		r = msgctl_set(&q, &ds);
		q_put(&q);
		return r;
	case IPC_RMID:
		uipc_cred_refresh();
		return uipc_rmid(UIPC_MSG, msqid, msg_kill);
	default:
		return -EINVAL;
	}
}

int uipc_msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	return (int)UIPC_RET(do_msgctl(msqid, cmd, buf));
}

/* ---------------------------------------------------------------------
 * Exit work and the tool.
 * ------------------------------------------------------------------- */

void uipc_msg_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	int max = uipc_max_idx(UIPC_MSG, NULL);

	for (int idx = 0; idx <= max; idx++) {
		struct uipc_map *m;
		struct wakeq wq;
		struct q q;

		wakeq_init(&wq);
		if (uipc_obj_get_by_index(UIPC_MSG, idx, &m) < 0)
			continue;
		q_set(&q, m);
		if (q_lock(&q) == 0) {
			for (int i = 0; i < MSG_WAITERS; i++) {
				struct msg_waiter *w = &q.h->w[i];

				if (RD(w->kind) != W_FREE &&
				    RD(w->proc_slot) == slot &&
				    RD(w->proc_gen) == gen &&
				    !uipc_proc_alive(h, slot, gen, w->pid))
					release(&q, i, &wq);
			}
			q_unlock(&q, &wq);
		}
		q_put(&q);
	}
}

int uipc_msg_snapshot(int id, struct uipc_msg_info *out)
{
	struct wakeq wq;
	struct uipc_nsh *h;
	struct q q;
	int r;

	wakeq_init(&wq);
	h = uipc_ns_get(&r);
	if (!h)
		return r;
	r = q_get(id, &q);
	if (r < 0)
		return r;
	r = q_lock(&q);
	if (r < 0) {
		q_put(&q);
		return r;
	}
	reap_waiters(&q, h, &wq);
	memset(out, 0, sizeof(*out));
	fill_ds(&q, &out->ds);
	for (int i = 0; i < MSG_WAITERS; i++) {
		struct msg_waiter *w = &q.h->w[i];

		if (w->kind == W_RECV && w->result == R_NONE) {
			if (out->nrecv < 8)
				out->recv_pid[out->nrecv] = w->pid;
			out->nrecv++;
		} else if (w->kind == W_SEND) {
			if (out->nsend < 8)
				out->send_pid[out->nsend] = w->pid;
			out->nsend++;
		}
	}
	q_unlock(&q, &wq);
	q_put(&q);
	return 0;
}
