/*
 * pipe.c: pipes, with a kernel pipe as the skeleton and a shared ring for
 * the bytes.
 *
 * Implementation notes
 *
 * What user space sees is pipe(7): the ends are descriptors of a real
 * kernel pipe, so fork, exec, dup and SCM_RIGHTS pass them on, fstat says
 * S_IFIFO, the kernel counts their holders (EOF and EPIPE come exactly when
 * the last of an end is closed, also by death), and the kernel's poll,
 * select and epoll watch them.  The bytes go through a ring in a file of
 * the namespace, "pipe.<ino>" after the kernel pipe's inode, laid out as
 * fs/pipe.c lays out its buffers: a ring of page-sized slots, each with an
 * offset and a length, a write of less than a page merging into the last
 * slot when it fits, a packet (O_DIRECT) per slot; so room, atomicity,
 * POLLOUT, FIONREAD and F_SETPIPE_SZ come out as the kernel's.
 *
 * The kernel pipe carries only what a sleeper or a watcher must see, and
 * nothing while nobody sleeps or watches: a reader about to sleep, or a
 * poller of the read end, is counted in the ring, and a writer that makes
 * the ring non-empty then puts a token byte into the kernel pipe; a writer
 * about to sleep on a full ring fills the kernel pipe (resized to two
 * slots) so that its POLLOUT goes away, and a reader that makes room takes
 * one slot back out.  The kernel pipe's contents are thus always ours,
 * kbytes of them, in at most two slots: one token or filler rest, and a
 * filler of a whole page (FIONREAD > one page means two slots).
 *
 * EOF: a reader that finds the ring empty asks the kernel, under the ring's
 * lock, whether writers remain (poll: POLLHUP).  EPIPE: a writer asks the
 * kernel whether readers remain before it writes (poll: POLLERR) and, if
 * none, makes the kernel write that fails, so that EPIPE and SIGPIPE are the
 * kernel's own.  That poll is the write path's one system call.
 *
 * Blocking: a blocked call sleeps in ppoll on the kernel end (the token or
 * the room wakes it) and a signalfd of its thread, with every asynchronous
 * signal blocked from the moment it decided to wait, as wait.c does.  A
 * signal that comes is looked at before it is delivered: if a handler
 * without SA_RESTART will run, the call fails with EINTR (or returns what it
 * moved), else it goes on, as the kernel restarts a pipe's read or write
 * (-ERESTARTSYS).
 *
 * Lifetime: each process that holds an end has a record in the ring
 * (holder); a forked child gets its own at fork.  The ring is removed by
 * the last live holder that closes its last descriptor of it, after it
 * moved what the ring holds into the kernel pipe (demotion), so that a
 * holder uipc does not know of (an exec'd program, a descriptor sent over a
 * socket) finds a plain kernel pipe with every byte in order.  A ring whose
 * holders all died is removed by their exit work once no process can be
 * seen holding the kernel pipe.
 *
 * Trust: the ring file is its creator's, mode 0600, and is used only by a
 * process whose kernel pipe has the same owner and inode; everything in it
 * is bounded before use.
 *
 * Locking: the ring's lock (a uipc lock) guards everything in the ring; the
 * process's table of descriptors (g_fds) is read without a lock and changed
 * under g_tab_lock, which is never held while a ring's lock is taken.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/io_uring.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/uio.h>
#include <unistd.h>

#include "libc_calls.h"

#define PIPE_MAGIC	0x50435049u	/* "IPCP" */
#define PIPE_PAGE	4096u		/* the kernel's buffer size (PAGE_SIZE) */
#define PIPE_DEF_SLOTS	16u		/* PIPE_DEF_BUFFERS: 64 KiB */
#define PIPE_HOLDERS	64		/* processes recorded per ring */
#define PIPE_MAX_RW	0x7ffff000u	/* MAX_RW_COUNT */
#define PIPE_KSIZE	(2 * PIPE_PAGE)	/* the kernel pipe: two slots */
#define USER_TOP	0x7ffffffff000ul	/* TASK_SIZE_MAX (access_ok) */

/* A slot's flags.  PB_FILLING: reserved by a writer that copies into it
 * with the ring unlocked (owner in who, pid); readers stop before it. */
enum { PB_PACKET = 1, PB_MERGE = 2, PB_FILLING = 4 };
/* Copies of at least this many bytes are made with the ring unlocked. */
#define PIPE_UNLOCKED_COPY 2048
/* RING_DEMOTING: a demotion under way, its maker holding the lock
 * (seen only by what does not take it: a token's writer, ring_find). */
enum { RING_LIVE = 1, RING_DEMOTED = 2, RING_DEMOTING = 3 };
enum { END_R = 1, END_W = 2 };

struct pipe_slot {
	uint32_t off, len, flags;
	int32_t pid;		/* PB_FILLING: the writer */
	uint64_t who;		/* its process's slot << 32 | gen */
};

/* Where the ring's contents are: slot i is at position i % slots of
 * region `region`.  Two copies; `cur` names the one in use, so that a
 * resize is one committing store (crash-safe). */
struct pipe_geom {
	uint32_t head, tail;	/* slot counters, as the kernel's */
	uint32_t slots;		/* capacity in slots, a power of two */
	uint32_t region;	/* 0 or 1 */
};

struct pipe_holder {
	_Atomic uint64_t who;	/* slot << 32 | gen of its process; 0: free */
	int32_t pid;
	uint16_t ends;		/* END_R | END_W */
	uint16_t rsleep, wsleep;	/* its sleepers, for exit work */
	/* It used the pipe through uipc since it came to hold it (a forked
	 * child only does at its first call: until then it may be on its
	 * way to exec a program that does not use uipc). */
	uint16_t active;
	uint16_t pad[6];
};

struct pipe_ring {
	_Atomic uint32_t magic;
	uint32_t layout;
	uint64_t ino;
	uint32_t uid;		/* the creator: the file's owner */
	uint32_t max_slots;	/* pages per region, fixed at creation */
	struct uipc_lock lock;
	_Atomic uint32_t state;	/* RING_LIVE, RING_DEMOTED */
	uint32_t cur;		/* geom[cur] is in use */
	struct pipe_geom geom[2];
	uint32_t wdirect;	/* the write end's O_DIRECT: packets */
	uint32_t kbytes;	/* our bytes in the kernel pipe */
	uint32_t rsleep, wsleep;	/* blocked readers, writers */
	uint32_t rwatch, wwatch;	/* pollers of each end */
	uint32_t kbusy;		/* a change of the kernel pipe under way */
	uint32_t kunsure;	/* one died under way: ask FIONREAD */
	/* The CPU the last reader and writer ran on, + 1 (0: none yet): a
	 * side waits for the other by spinning only when that one may run
	 * beside it. */
	uint32_t rcpu, wcpu;
	/* O_NONBLOCK of each end's open file, as uipc_pipe2, uipc_fcntl and
	 * uipc_ioctl(FIONBIO) set it: asking the kernel (F_GETFL) before
	 * every sleep cost a system call, and held the other side up. */
	uint32_t rnonblock, wnonblock;
	/* The token: a claim (tag << 24 | pid << 2 | TOK_CLAIMED, CAS from
	 * 0) from when a writer takes it on until a reader takes its byte
	 * out of the kernel pipe, TOK_WRITTEN once the byte is there.  The
	 * writer writes it after it unlocked the ring: written under the
	 * lock, it woke the reader into a lock still held (on one CPU, every
	 * time).  The claimer is in the same word as the claim, so that a
	 * reader asks about the right process, and the tag keeps a late
	 * mark of one claim from landing on the next. */
	_Atomic uint32_t ktok;
	/* A demotion waits for the copies made with the ring unlocked: none
	 * starts meanwhile. */
	uint32_t draining;
	/* Bumped by each end of a copy made with the ring unlocked: what
	 * a waiter for one watches (copy_wait). */
	_Atomic uint32_t copies;
	uint32_t pad_tok;
	/* A reader copying out the rcopy_n slots from tail with the ring
	 * unlocked (who 0: none); other readers wait for it. */
	uint64_t rcopy_who;
	int32_t rcopy_pid;
	uint32_t rcopy_n;
	uint64_t written;	/* bytes through the ring, for the tool */
	struct pipe_holder holder[PIPE_HOLDERS];
	/* then: struct pipe_slot desc[2][max_slots], the regions' pages */
};
_Static_assert(sizeof(struct pipe_ring) == 160 + 32 * PIPE_HOLDERS,
	       "pipe ring layout");

/* This process's mapping of one ring. */
struct pipe_map {
	struct pipe_ring *r;
	size_t len;
	uint32_t max_slots;	/* checked once, our copy */
	uint64_t ino;
	int nr, nw;		/* our descriptors of each end */
	int hidx;		/* our holder record, -1: none */
	pid_t active_pid;	/* the process whose record says active */
	_Atomic long refs;	/* table entries + calls using it now */
	pid_t watch_pid;	/* the process that watches its readers */
	_Atomic int readers_gone;	/* the kernel said they may be */
	struct pipe_map *next;	/* g_maps */
};

/* The process's descriptors that are uipc pipe ends: entry = map | end. */
#define TAB_CHUNK 1024
#define TAB_CHUNKS 1024
static _Atomic(_Atomic uintptr_t *) g_fds[TAB_CHUNKS];
static pthread_mutex_t g_tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pipe_map *g_maps;

/* The process's own locks of this file (the table's, the watcher's) are
 * held with the asynchronous signals blocked (uipc_mutex_lock_quiet):
 * read, write, close, dup and pipe are async-signal-safe.  The mask they
 * had is kept per thread and lock: no handler runs between the two, and
 * neither lock is taken twice by one thread. */
static __thread sigset_t t_tab_mask, t_watch_mask;

static void tab_lock(void)
{
	uipc_mutex_lock_quiet(&g_tab_lock, &t_tab_mask);
}

static void tab_unlock(void)
{
	uipc_mutex_unlock_quiet(&g_tab_lock, &t_tab_mask);
}

static size_t desc_off(void)
{
	return sizeof(struct pipe_ring);
}

static size_t data_off(uint32_t max_slots)
{
	size_t d = desc_off() + 2 * (size_t)max_slots * sizeof(struct pipe_slot);

	return (d + PIPE_PAGE - 1) & ~(size_t)(PIPE_PAGE - 1);
}

static size_t ring_file_size(uint32_t max_slots)
{
	return data_off(max_slots) + 2 * (size_t)max_slots * PIPE_PAGE;
}

static struct pipe_slot *slot_at(struct pipe_map *m, uint32_t region,
				 uint32_t pos)
{
	struct pipe_slot *d = (void *)((char *)m->r + desc_off());

	return &d[(size_t)region * m->max_slots + pos];
}

static char *page_at(struct pipe_map *m, uint32_t region, uint32_t pos)
{
	return (char *)m->r + data_off(m->max_slots) +
	       ((size_t)region * m->max_slots + pos) * PIPE_PAGE;
}

/* ---------------------------------------------------------------------
 * The descriptor table.
 * ------------------------------------------------------------------- */

/* Under the shim (uipc_pipe_shim), an entry also says "looked at: no uipc
 * pipe end", so that a program's read of a file costs no fstat each time:
 * there every call that can make a descriptor one of ours (pipe, dup,
 * dup2, fcntl, open, recvmsg) is seen and sets the entry.  In a program
 * that calls the uipc_ functions, a descriptor the C library's dup2 made
 * must still be found by its inode, so nothing is remembered. */
#define TAB_NOT ((uintptr_t)3)
static int g_shim;

static _Atomic uintptr_t *tab_slot(int fd)
{
	_Atomic uintptr_t *c;

	if (fd < 0 || fd >= TAB_CHUNK * TAB_CHUNKS)
		return NULL;
	c = atomic_load_explicit(&g_fds[fd / TAB_CHUNK], memory_order_acquire);
	return c ? &c[fd % TAB_CHUNK] : NULL;
}

/* fd's entry, raw: 0, TAB_NOT or map | end. */
static uintptr_t tab_raw(int fd)
{
	_Atomic uintptr_t *c = tab_slot(fd);

	return c ? atomic_load_explicit(c, memory_order_acquire) : 0;
}

static uintptr_t tab_get(int fd)
{
	uintptr_t e = tab_raw(fd);

	return e == TAB_NOT ? 0 : e;
}

/* Table lock held. */
static int tab_set(int fd, uintptr_t v)
{
	_Atomic uintptr_t *c;

	if (fd < 0 || fd >= TAB_CHUNK * TAB_CHUNKS)
		return -EMFILE;
	c = atomic_load(&g_fds[fd / TAB_CHUNK]);
	if (!c) {
		if (!v)
			return 0;
		c = calloc(TAB_CHUNK, sizeof(*c));
		if (!c)
			return -ENOMEM;
		atomic_store_explicit(&g_fds[fd / TAB_CHUNK], c,
				      memory_order_release);
	}
	atomic_store_explicit(&c[fd % TAB_CHUNK], v, memory_order_release);
	return 0;
}

/* The process whose table this is (set at the first pipe and in a fork's
 * child).  A vfork child (or a raw clone's) shares our memory, not our
 * descriptors: its close, dup and dup2 must leave the table as it is. */
static _Atomic pid_t g_pid;

static int foreign_child(void)
{
	pid_t p = atomic_load(&g_pid);

	return p && (pid_t)syscall(SYS_getpid) != p;
}

/* Remembers that fd is no uipc pipe end, unless it became one meanwhile. */
static void tab_not(int fd)
{
	_Atomic uintptr_t *c = tab_slot(fd);
	uintptr_t z = 0;

	/* Only a cache: no lock and no allocation, for a signal handler
	 * may be here while its thread holds g_tab_lock. */
	if (c)
		atomic_compare_exchange_strong(c, &z, TAB_NOT);
}

static struct pipe_map *ent_map(uintptr_t e)
{
	return (struct pipe_map *)(e & ~(uintptr_t)3);
}

static int ent_end(uintptr_t e)
{
	return (int)(e & 3);
}

/* ---------------------------------------------------------------------
 * The ring's lock and its repair.
 * ------------------------------------------------------------------- */

/* After a holder died under the lock: make the geometry and the slots
 * sane again.  A half-made write is invisible (its commit is the store of
 * head or of a slot's length), so nothing else needs rolling back. */
static void ring_repair(void *arg)
{
	struct pipe_map *m = arg;
	struct pipe_ring *r = m->r;
	uint32_t cur = RD(r->cur) & 1;
	struct pipe_geom *g = &r->geom[cur];
	uint32_t slots = RD(g->slots), head = RD(g->head), tail = RD(g->tail);

	r->cur = cur;
	if (slots == 0 || slots > m->max_slots || (slots & (slots - 1)))
		slots = PIPE_DEF_SLOTS <= m->max_slots ? PIPE_DEF_SLOTS : 1;
	if (head - tail > slots)
		tail = head;	/* garbage: drop it rather than read it */
	g->slots = slots;
	g->head = head;
	g->tail = tail;
	g->region = RD(g->region) & 1;
	for (uint32_t i = tail; i != head; i++) {
		struct pipe_slot *s = slot_at(m, g->region, i & (slots - 1));
		uint32_t off = RD(s->off), len = RD(s->len);

		if (off > PIPE_PAGE || len > PIPE_PAGE - off) {
			s->off = 0;
			s->len = 0;
		}
	}
	if (RD(r->kbytes) > PIPE_KSIZE)
		r->kbytes = PIPE_KSIZE;
	/* A demotion that died half-way: the ring stays (what it had moved
	 * is in the kernel pipe: docs/uipc.md). */
	if (atomic_load(&r->state) == RING_DEMOTING)
		atomic_store(&r->state, RING_LIVE);
	r->draining = 0;
	if (RD(r->kbusy)) {
		/* It died between a token's write or read and its count:
		 * the next caller, which holds an end, counts again. */
		r->kunsure = 1;
		r->kbusy = 0;
	}
}

/*
 * The rings whose locks this thread holds.  A signal handler that calls in
 * while its thread holds a ring's lock (a self-pipe's write, Python's
 * set_wakeup_fd) would wait for that lock, held by the very code it
 * interrupted: instead its write is kept (up to PIPE_BUF bytes) and made
 * by the interrupted code as soon as it lets the lock go (defer_flush),
 * and a read or another call there fails (EAGAIN, EDEADLK).  A ring is
 * named here before its lock is taken and after it is let go, so that a
 * handler never finds it held but unnamed.
 */
#define HELD_MAX 4
#define DEFER_MAX 4096	/* PIPE_BUF */
static __thread struct pipe_map *t_held[HELD_MAX];
static __thread int t_nheld;
/* A copy of this thread's own with the ring unlocked, or a wait for
 * another's (its unlocks do not flush: the reserved slots, or the room
 * only this thread would make, could keep a blocked flush waiting). */
static __thread int t_copying;
static __thread struct {
	struct pipe_map *m;	/* with a reference, while n > 0 */
	int fd;
	uint32_t n;
	char buf[DEFER_MAX];
} t_defer;
/* The bytes of this thread's writes in progress: room they may still
 * take before a kept write goes in. */
static __thread size_t t_writing;

static int ring_held(struct pipe_map *m)
{
	for (int i = 0; i < t_nheld; i++)
		if (t_held[i] == m)
			return 1;
	return 0;
}

static void held_pop(struct pipe_map *m)
{
	for (int i = t_nheld - 1; i >= 0; i--)
		if (t_held[i] == m) {
			t_held[i] = t_held[t_nheld - 1];
			atomic_signal_fence(memory_order_seq_cst);
			t_nheld--;
			return;
		}
}

static int ring_lock_how(struct pipe_map *m, int brief)
{
	int r;

	if (ring_held(m))
		return -EDEADLK;
	if (t_nheld < HELD_MAX) {
		/* The entry before the count: a handler sees only whole
		 * entries. */
		t_held[t_nheld] = m;
		atomic_signal_fence(memory_order_seq_cst);
		t_nheld++;
	}
	r = brief ? uipc_lock_acquire_brief(&m->r->lock, ring_repair, m) :
		    uipc_lock_acquire(&m->r->lock, ring_repair, m);
	if (r < 0)
		held_pop(m);
	return r;
}

static int ring_lock(struct pipe_map *m)
{
	return ring_lock_how(m, 0);
}

/* For scans and exit work: a ring whose lock a live process keeps is
 * passed by (its holders' own calls and closes do that work too). */
static int ring_lock_brief(struct pipe_map *m)
{
	return ring_lock_how(m, 1);
}

static void defer_flush(void);

static void ring_unlock(struct pipe_map *m)
{
	uipc_lock_release(&m->r->lock);
	held_pop(m);
	if (unlikely(t_defer.n) && t_defer.m == m && !t_copying)
		defer_flush();
}

/* The geometry in use, bounded (under the lock, after repair). */
static struct pipe_geom *geom(struct pipe_map *m)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g = &r->geom[RD(r->cur) & 1];
	uint32_t slots = RD(g->slots);

	if (slots == 0 || slots > m->max_slots || (slots & (slots - 1)) ||
	    RD(g->head) - RD(g->tail) > slots || RD(g->region) > 1)
		ring_repair(m);
	return &r->geom[r->cur & 1];
}

static uint32_t occupancy(struct pipe_geom *g)
{
	return g->head - g->tail;
}

/* A slot's off and len, bounded. */
static struct pipe_slot *slot_of(struct pipe_map *m, struct pipe_geom *g,
				 uint32_t i)
{
	struct pipe_slot *s = slot_at(m, g->region, i & (g->slots - 1));
	uint32_t off = RD(s->off), len = RD(s->len);

	if (off > PIPE_PAGE || len > PIPE_PAGE - off) {
		s->off = 0;
		s->len = 0;
	}
	return s;
}

/* ---------------------------------------------------------------------
 * The kernel pipe: tokens and fillers, never blocking.
 * ------------------------------------------------------------------- */

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008	/* linux/fs.h */
#endif

/* preadv2 and pwritev2 at the current position, made as system calls
 * (not every C library has them): on 64 bits the offset is one word. */
static ssize_t rw2(long nr, int fd, struct iovec *v, int flags)
{
	return syscall(nr, fd, v, 1, -1L, sizeof(long) == 8 ? 0L : -1L, flags);
}

static ssize_t k_read(int fd, void *buf, size_t n)
{
	struct iovec v = { buf, n };
	int old = uipc_fallback(UF_RWF_NOWAIT);
	ssize_t r = old ? -1 : rw2(SYS_preadv2, fd, &v, RWF_NOWAIT);

	if (old || (r < 0 && (errno == EOPNOTSUPP || errno == ENOSYS))) {
		struct pollfd p = { fd, POLLIN, 0 };

		/* An older kernel: ours are the only bytes there. */
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
			return read(fd, buf, n);
		errno = EAGAIN;
		return -1;
	}
	return r;
}

static ssize_t k_write(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };
	int old = uipc_fallback(UF_RWF_NOWAIT);
	ssize_t r = old ? -1 : rw2(SYS_pwritev2, fd, &v, RWF_NOWAIT);

	if (old || (r < 0 && (errno == EOPNOTSUPP || errno == ENOSYS))) {
		struct pollfd p = { fd, POLLOUT, 0 };

		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLOUT | POLLERR)))
			return write(fd, buf, n);
		errno = EAGAIN;
		return -1;
	}
	return r;
}

/* struct pipe_ring's ktok. */
enum { TOK_NONE = 0, TOK_CLAIMED = 1, TOK_WRITTEN = 2 };
#define TOK_STATE(t) ((t) & 3u)
#define TOK_PID(t) ((pid_t)(((t) >> 2) & 0x3fffffu))	/* PID_MAX_LIMIT 2^22 */

/* Whether the writer of claim t is gone (a process we cannot see, or a
 * pid used again, counts as alive: then the claim is waited for).  Its
 * byte may be in the kernel pipe or not: whoever drops a gone claim sets
 * kunsure, for FIONREAD to count what is there. */
static int claimer_gone(uint32_t t)
{
	return uipc_pid_gone(TOK_PID(t), 0);
}

static int copier_gone(uint64_t who, int32_t pid);

static char g_zero[PIPE_PAGE];
static char g_sink[PIPE_KSIZE];

/* c of our bytes came out of the kernel pipe: the fillers' first (they
 * are all alike), then the token's.  Ring locked. */
static void k_consumed(struct pipe_ring *r, uint32_t c)
{
	if (c <= r->kbytes) {
		r->kbytes -= c;
		return;
	}
	r->kbytes = 0;
	/* Written, or claimed and written but not marked yet (its writer's
	 * mark then finds 0 and leaves it). */
	atomic_store(&r->ktok, TOK_NONE);
}

/* Whether the write end makes packets: then a read of ours must take
 * whole packets (the kernel drops the rest of one read in part). */
static int k_packets(struct pipe_ring *r)
{
	return RD(r->wdirect) != 0;
}

/* Takes n of our bytes (at least, in whole packets) out of the kernel pipe
 * (read end rfd).  Ring locked. */
static void k_take(struct pipe_ring *r, int rfd, uint32_t n)
{
	r->kbusy = 1;
	while (n > 0) {
		ssize_t got = k_read(rfd, g_sink, k_packets(r) ? sizeof(g_sink) : n);

		if (got <= 0)
			break;
		k_consumed(r, (uint32_t)got);
		n -= (uint32_t)got < n ? (uint32_t)got : n;
	}
	if (n > 0)	/* fewer than we thought: believe the kernel */
		r->kbytes = 0;
	r->kbusy = 0;
}

/* The ring became non-empty and someone sleeps on or watches the read
 * end: the token, unless there is one.  Ring unlocked. */
static void token_post(struct pipe_ring *r, int wfd)
{
	static _Atomic uint32_t tags;
	uint32_t none = TOK_NONE, mine;

	if (atomic_load(&r->ktok))
		return;
	mine = (atomic_fetch_add(&tags, 1) & 0xffu) << 24 |
	       ((uint32_t)uipc_getpid() & 0x3fffffu) << 2 | TOK_CLAIMED;
	if (!atomic_compare_exchange_strong(&r->ktok, &none, mine))
		return;
	/* Not into a pipe that became the kernel's meanwhile: there the
	 * byte would be data. */
	if (atomic_load(&r->state) != RING_LIVE || k_write(wfd, g_zero, 1) != 1) {
		uint32_t c = mine;

		atomic_compare_exchange_strong(&r->ktok, &c, TOK_NONE);
	} else {
		uint32_t c = mine;

		/* Unless a reader took it already (then 0 stays, or a later
		 * claim of another tag). */
		atomic_compare_exchange_strong(&r->ktok, &c,
					       (mine & ~3u) | TOK_WRITTEN);
	}
}

/* Takes the token out of the kernel pipe (read end rfd), if it is there
 * (a claimed one not written yet stays claimed).  Ring locked, the
 * fillers taken first. */
static void token_take(struct pipe_ring *r, int rfd)
{
	uint32_t tok = atomic_load(&r->ktok);
	ssize_t n;

	if (tok == TOK_NONE)
		return;
	r->kbusy = 1;	/* a death between the read and the count: recount */
	n = k_read(rfd, g_sink, k_packets(r) ? sizeof(g_sink) : 1);
	if (n > 0)
		k_consumed(r, (uint32_t)n);
	else if (r->kbytes == 0 &&
		 (n == 0 || (errno == EAGAIN && TOK_STATE(tok) == TOK_WRITTEN)))
		atomic_compare_exchange_strong(&r->ktok, &tok, TOK_NONE);
	r->kbusy = 0;
}

/* Our bytes in the kernel pipe, the token's if written: more than a page
 * means two slots (a token or a filler's rest, and a whole filler). */
static uint32_t k_total(struct pipe_ring *r)
{
	return r->kbytes + (TOK_STATE(atomic_load(&r->ktok)) == TOK_WRITTEN);
}

/* None of our bytes in the kernel pipe, nor one on its way. */
static int k_empty(struct pipe_ring *r)
{
	return r->kbytes == 0 && atomic_load(&r->ktok) == 0;
}

/* A writer sleeps on, or a poller watches, a full ring: fill the kernel
 * pipe so that its POLLOUT goes away (whole pages: each takes a slot). */
static void k_fill(struct pipe_ring *r, int wfd)
{
	r->kbusy = 1;
	for (int i = 0; i < 2 && k_total(r) <= PIPE_PAGE; i++) {
		if (k_write(wfd, g_zero, PIPE_PAGE) != PIPE_PAGE)
			break;
		r->kbytes += PIPE_PAGE;
	}
	r->kbusy = 0;
}

/* After a death in the middle of a change of the kernel pipe: how many of
 * our bytes it holds, from the kernel (fd: either end). */
static void k_recount(struct pipe_ring *r, int fd)
{
	int n;

	uint32_t tok;

	if (likely(!RD(r->kunsure)))
		return;
	/* A token claimed and not written yet would not be in FIONREAD's
	 * count and come after it: wait for it (unless its writer died). */
	tok = atomic_load(&r->ktok);
	if (TOK_STATE(tok) == TOK_CLAIMED) {
		if (!claimer_gone(tok))
			return;		/* next time */
		if (!atomic_compare_exchange_strong(&r->ktok, &tok, TOK_NONE))
			return;
		tok = TOK_NONE;
	}
	if (ioctl(fd, FIONREAD, &n) == 0) {
		/* Every byte there counted as ours, the token's (if it is
		 * there still) too: they are all alike. */
		if (TOK_STATE(tok) == TOK_WRITTEN &&
		    !atomic_compare_exchange_strong(&r->ktok, &tok, TOK_NONE))
			return;
		r->kbytes = n < 0 ? 0 : n > (int)PIPE_KSIZE ? PIPE_KSIZE : (uint32_t)n;
		r->kunsure = 0;
	}
}

/* Room came: give the kernel pipe a slot back (two slots hold more than
 * a page). */
static void k_unfill(struct pipe_ring *r, int rfd)
{
	if (k_total(r) > PIPE_PAGE)
		k_take(r, rfd, k_packets(r) ? 1 : PIPE_PAGE);	/* one slot */
}

/* Whether the kernel says the pipe's readers are gone (write end wfd). */
static int k_no_readers(int wfd)
{
	struct pollfd p = { wfd, POLLOUT, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/* ---------------------------------------------------------------------
 * Whether readers remain, without a system call per write.
 *
 * The kernel's answer (poll: POLLERR) costs a system call, and a write
 * needs it before every write.  Instead each process keeps the write ends
 * it uses in an epoll set of its own (no events asked: the kernel reports
 * EPOLLERR, readers gone, whatever is asked), and has one io_uring poll
 * request armed on that set: when the last reader of any of them goes, the
 * kernel posts a completion into the ring's memory, which a writer sees with
 * one load.  Only then does it ask the kernel, with epoll_wait, which pipes
 * lost their readers (readers_gone; those are asked with poll from then
 * on, as without all this).  The epoll set holds no reference on the pipe
 * (a closed end leaves it by itself), the request holds one on the set
 * only.  A kernel or sandbox without io_uring or epoll: every write asks.
 * ------------------------------------------------------------------- */

struct watcher {
	pid_t pid;		/* the process it is of (fork) */
	int broken;		/* unusable here: ask every time */
	int ep, uring;
	void *sq, *cq, *sqes;
	size_t sq_len, cq_len, sqes_len;
	_Atomic unsigned *sq_tail, *cq_head, *cq_tail;
	unsigned *sq_mask, *sq_array;
	pthread_mutex_t lock;
};

static struct watcher g_w = { .ep = -1, .uring = -1,
			      .lock = PTHREAD_MUTEX_INITIALIZER };

static void watch_lock(struct watcher *w)
{
	uipc_mutex_lock_quiet(&w->lock, &t_watch_mask);
}

static void watch_unlock(struct watcher *w)
{
	uipc_mutex_unlock_quiet(&w->lock, &t_watch_mask);
}

static void watcher_drop(struct watcher *w)
{
	if (w->sq && w->sq != MAP_FAILED)
		munmap(w->sq, w->sq_len);
	if (w->cq && w->cq != MAP_FAILED && w->cq != w->sq)
		munmap(w->cq, w->cq_len);
	if (w->sqes && w->sqes != MAP_FAILED)
		munmap(w->sqes, w->sqes_len);
	if (w->uring >= 0)
		close(w->uring);
	if (w->ep >= 0)
		close(w->ep);
	w->sq = w->cq = w->sqes = NULL;
	w->uring = w->ep = -1;
}

/* Arms the one request: a poll of the epoll set for POLLIN.  0 or -1. */
static int watcher_arm(struct watcher *w)
{
	unsigned tail = atomic_load_explicit(w->sq_tail, memory_order_relaxed);
	unsigned idx = tail & *w->sq_mask;
	struct io_uring_sqe *sqe = (struct io_uring_sqe *)w->sqes + idx;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_POLL_ADD;
	sqe->fd = w->ep;
	sqe->poll32_events = POLLIN;
	sqe->user_data = 1;
	w->sq_array[idx] = idx;
	atomic_store_explicit(w->sq_tail, tail + 1, memory_order_release);
	return syscall(__NR_io_uring_enter, w->uring, 1, 0, 0, NULL, 0) == 1 ? 0 : -1;
}

/* The process's watcher, made on first use (and anew in a fork's child).
 * g_w.lock held. */
static int watcher_ready(struct watcher *w)
{
	struct io_uring_params p;
	pid_t me = uipc_getpid();

	if (w->pid == me)
		return w->broken ? -1 : 0;
	if (w->pid) {
		/* The parent's, inherited: its descriptors and maps go. */
		watcher_drop(w);
	}
	w->pid = me;
	w->broken = 1;
	memset(&p, 0, sizeof(p));
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0)
		return -1;
	if (uipc_fallback(UF_IO_URING))
		goto out_drop;	/* as before Linux 5.1 */
	w->uring = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (w->uring < 0)
		goto out_drop;
	fcntl(w->uring, F_SETFD, FD_CLOEXEC);
	w->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	w->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if ((p.features & IORING_FEAT_SINGLE_MMAP) && w->cq_len > w->sq_len)
		w->sq_len = w->cq_len;
	w->sq = mmap(NULL, w->sq_len, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_POPULATE, w->uring, IORING_OFF_SQ_RING);
	if (w->sq == MAP_FAILED)
		goto out_drop;
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		w->cq = w->sq;
	else
		w->cq = mmap(NULL, w->cq_len, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_POPULATE, w->uring,
			     IORING_OFF_CQ_RING);
	w->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	w->sqes = mmap(NULL, w->sqes_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, w->uring, IORING_OFF_SQES);
	if (w->cq == MAP_FAILED || w->sqes == MAP_FAILED)
		goto out_drop;
	w->sq_tail = (void *)((char *)w->sq + p.sq_off.tail);
	w->sq_mask = (void *)((char *)w->sq + p.sq_off.ring_mask);
	w->sq_array = (void *)((char *)w->sq + p.sq_off.array);
	w->cq_head = (void *)((char *)w->cq + p.cq_off.head);
	w->cq_tail = (void *)((char *)w->cq + p.cq_off.tail);
	if (watcher_arm(w) < 0)
		goto out_drop;
	w->broken = 0;
	return 0;
out_drop:
	watcher_drop(w);
	return -1;
}

/* The request completed: which of our write ends lost their readers. */
static void watcher_drain(struct watcher *w)
{
	struct epoll_event ev[16];
	int n;

	watch_lock(w);
	if (w->pid != uipc_getpid() || w->broken ||
	    atomic_load_explicit(w->cq_tail, memory_order_acquire) ==
		    atomic_load_explicit(w->cq_head, memory_order_relaxed)) {
		watch_unlock(w);
		return;
	}
	atomic_store_explicit(w->cq_head,
			      atomic_load_explicit(w->cq_tail, memory_order_acquire),
			      memory_order_release);
	while ((n = epoll_wait(w->ep, ev, 16, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			int fd = (int)(ev[i].data.u64 >> 32);
			struct pipe_map *m = NULL;

			/* By the inode's low half: a pipe that shares it asks
			 * the kernel too, no harm. */
			for (struct pipe_map *x = g_maps; x; x = x->next)
				if ((uint32_t)x->ino == (uint32_t)ev[i].data.u64) {
					atomic_store(&x->readers_gone, 1);
					m = x;
				}
			/* Asked by poll from now on: out of the set. */
			if (epoll_ctl(w->ep, EPOLL_CTL_DEL, fd, NULL) < 0 && !m)
				w->broken = 1;
		}
		if (n < 16)
			break;
	}
	if (n < 0 || watcher_arm(w) < 0)
		w->broken = 1;
	watch_unlock(w);
}

/*
 * Whether a write to end fd of m must ask the kernel for readers: 1 unless
 * the watcher vouches that none of m's readers went since it was put in
 * the set.  No system call on the way that answers 0, but for the first
 * write of a process to a pipe.
 */
static int readers_maybe_gone(struct pipe_map *m, int fd)
{
	struct watcher *w = &g_w;

	if (unlikely(m->watch_pid != uipc_getpid())) {
		struct epoll_event ev;
		int ok;

		watch_lock(w);
		ok = watcher_ready(w) == 0;
		if (ok) {
			memset(&ev, 0, sizeof(ev));
			ev.events = 0;	/* EPOLLERR is reported anyway */
			ev.data.u64 = (uint64_t)(uint32_t)fd << 32 | (uint32_t)m->ino;
			ok = epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ||
			     errno == EEXIST;
		}
		atomic_store(&m->readers_gone, !ok || k_no_readers(fd));
		m->watch_pid = uipc_getpid();
		watch_unlock(w);
	}
	if (unlikely(w->broken || w->pid != uipc_getpid()))
		return 1;
	if (unlikely(atomic_load_explicit(w->cq_tail, memory_order_acquire) !=
		     atomic_load_explicit(w->cq_head, memory_order_relaxed)))
		watcher_drain(w);
	return atomic_load_explicit(&m->readers_gone, memory_order_relaxed);
}

/* ---------------------------------------------------------------------
 * Rings: create, map, find.
 * ------------------------------------------------------------------- */

static void ring_name(char *buf, size_t n, uint64_t ino)
{
	snprintf(buf, n, "pipe.%llu", (unsigned long long)ino);
}

static int map_ring_fd(int fd, uint64_t ino, uid_t uid, struct pipe_map **out)
{
	struct stat st;
	struct pipe_ring *r;
	struct pipe_map *m;
	uint32_t max;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != uid ||
	    (size_t)st.st_size < data_off(1))
		return -EIO;
	r = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (r == MAP_FAILED)
		return -errno;
	max = RD(r->max_slots);
	if (RDA(r->magic) != PIPE_MAGIC || RD(r->layout) != UIPC_LAYOUT ||
	    RD(r->ino) != ino || max == 0 || (max & (max - 1)) ||
	    max > (1u << 27) / PIPE_PAGE ||
	    ring_file_size(max) > (size_t)st.st_size) {
		munmap(r, (size_t)st.st_size);
		return -EIO;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		munmap(r, (size_t)st.st_size);
		return -ENOMEM;
	}
	m->r = r;
	m->len = (size_t)st.st_size;
	m->max_slots = max;
	m->ino = ino;
	m->hidx = -1;
	*out = m;
	return 0;
}

/* For a mapping nobody else has seen. */
static void map_free(struct pipe_map *m)
{
	munmap(m->r, m->len);
	free(m);
}

/* Mappings in the table once, unmapped since: a call that read a table
 * entry just before the descriptor went may still take a reference on
 * one, so they are kept (and used again), never freed. */
static struct pipe_map *g_free_maps;

/* m, unpublished, as a mapping of the process's (g_tab_lock held): in a
 * kept structure if one is free. */
static struct pipe_map *map_publish(struct pipe_map *m)
{
	struct pipe_map *k = g_free_maps;

	if (k) {
		g_free_maps = k->next;
		k->r = m->r;
		k->len = m->len;
		k->max_slots = m->max_slots;
		k->ino = m->ino;
		k->nr = k->nw = 0;
		k->hidx = -1;
		k->active_pid = 0;
		k->watch_pid = 0;
		atomic_store(&k->readers_gone, 0);
		free(m);
		m = k;
	}
	m->next = g_maps;
	g_maps = m;
	return m;
}

/* Drops a reference; the last unmaps the ring. */
static void map_put(struct pipe_map *m)
{
	if (atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	tab_lock();
	if (atomic_load(&m->refs) == 0 && m->r) {
		for (struct pipe_map **pp = &g_maps; *pp; pp = &(*pp)->next)
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		munmap(m->r, m->len);
		m->r = NULL;
		m->next = g_free_maps;
		g_free_maps = m;
	}
	tab_unlock();
}

/* Makes the ring of the new kernel pipe ino, mapped.  A file of that name
 * is a dead pipe's (the inode is ours now): replaced if we may remove it.
 * The magic is written last, so a half-made ring is nobody's. */
static int ring_create(struct uipc_nsh *h, uint64_t ino, int direct,
		       int nonblock, struct pipe_map **out)
{
	int64_t lim = uipc_limit(h, UL_PIPEMAX);
	uint32_t max = PIPE_DEF_SLOTS;
	struct pipe_map *m;
	struct pipe_ring *r;
	char name[64];
	size_t len;
	int fd, err;

	while ((int64_t)max * PIPE_PAGE < lim && max < (1u << 27) / PIPE_PAGE)
		max <<= 1;
	len = ring_file_size(max);
	ring_name(name, sizeof(name), ino);
	fd = openat(h->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(h->dirfd, name, 0) == 0)
		fd = openat(h->dirfd, name, O_RDWR | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	m = calloc(1, sizeof(*m));
	if (!m) {
		err = -ENOMEM;
		goto out_unlink;
	}
	/* The header's pages now (a full tmpfs faults later otherwise). */
	if (ftruncate(fd, (off_t)len) < 0 ||
	    (fallocate(fd, 0, 0, (off_t)data_off(max)) < 0 && errno != EOPNOTSUPP)) {
		err = -errno;
		goto out_free;
	}
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r == MAP_FAILED) {
		err = -errno;
		goto out_free;
	}
	close(fd);
	r->layout = UIPC_LAYOUT;
	r->ino = ino;
	r->uid = uipc_euid();
	r->max_slots = max;
	r->state = RING_LIVE;
	r->geom[0].slots = PIPE_DEF_SLOTS;
	r->wdirect = !!direct;
	r->rnonblock = r->wnonblock = !!nonblock;
	atomic_store_explicit(&r->magic, PIPE_MAGIC, memory_order_release);
	m->r = r;
	m->len = len;
	m->max_slots = max;
	m->ino = ino;
	m->hidx = -1;
	*out = m;
	return 0;
out_free:
	free(m);
out_unlink:
	unlinkat(h->dirfd, name, 0);
	close(fd);
	return err;
}

/* The device of pipefs, where every anonymous pipe's inode is (a named
 * FIFO's is on its own file system, where its number may well be that
 * of some pipe's ring), 0 if it cannot be told. */
static dev_t pipefs_dev(void)
{
	static _Atomic dev_t dev;
	struct stat st;
	int p[2];

	if (likely(atomic_load(&dev)))
		return atomic_load(&dev);
	if (pipe2(p, O_CLOEXEC) < 0)
		return 0;
	if (fstat(p[0], &st) == 0)
		atomic_store(&dev, st.st_dev);
	close(p[0]);
	close(p[1]);
	return atomic_load(&dev);
}

/* The ring of the kernel pipe fd has, if any: 0 and *out, -ENOENT for a
 * kernel pipe uipc does not carry (a FIFO's among them), -errno. */
static int ring_find(int fd, struct pipe_map **out)
{
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	int rfd, r = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISFIFO(st.st_mode) || st.st_dev != pipefs_dev())
		return -ENOENT;
	h = uipc_ns_get(&r);
	if (!h)
		return -ENOENT;
	ring_name(name, sizeof(name), (uint64_t)st.st_ino);
	rfd = uipc_ns_openat(h, name, O_RDWR);
	if (rfd < 0)
		return -ENOENT;
	r = map_ring_fd(rfd, (uint64_t)st.st_ino, st.st_uid, out);
	close(rfd);
	/* A demotion under way ends with its maker's lock. */
	if (r == 0 && atomic_load(&(*out)->r->state) == RING_DEMOTING &&
	    ring_lock(*out) == 0)
		ring_unlock(*out);
	if (r == 0 && atomic_load(&(*out)->r->state) != RING_LIVE) {
		map_free(*out);
		return -ENOENT;
	}
	return r < 0 ? -ENOENT : 0;
}

/* ---------------------------------------------------------------------
 * Holders.
 * ------------------------------------------------------------------- */

static uint64_t who_of(const struct uipc_self *s)
{
	return (uint64_t)s->slot << 32 | s->gen;
}

static void holder_drop(struct pipe_ring *r, int i);

/* A full table: drops the records of processes that died (their exit work
 * may not have run yet) and returns the first freed, or -1.  Ring
 * locked. */
static int holder_reclaim(struct pipe_ring *r)
{
	struct uipc_nsh *h;
	int err = 0, free_i = -1;

	h = uipc_ns_get(&err);
	if (!h)
		return -1;
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		uint64_t w = atomic_load(&r->holder[i].who);

		if (w && !uipc_proc_alive(h, (uint32_t)(w >> 32), (uint32_t)w,
					  RD(r->holder[i].pid))) {
			holder_drop(r, i);
			if (free_i < 0)
				free_i = i;
		}
	}
	return free_i;
}

/* Our record in the ring, made if needed, with our ends.  Ring locked. */
static void holder_set(struct pipe_map *m, const struct uipc_self *self)
{
	struct pipe_ring *r = m->r;
	uint64_t me = who_of(self);
	int free_i = -1;

	if (m->hidx >= 0 && atomic_load(&r->holder[m->hidx].who) == me)
		goto found;
	m->hidx = -1;
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		uint64_t w = atomic_load(&r->holder[i].who);

		if (w == me) {
			m->hidx = i;
			goto found;
		}
		if (w == 0 && free_i < 0)
			free_i = i;
	}
	if (free_i < 0)
		free_i = holder_reclaim(r);
	if (free_i < 0)
		return;		/* full of the living: we go unrecorded */
	m->hidx = free_i;
	memset(&r->holder[free_i], 0, sizeof(r->holder[free_i]));
	r->holder[free_i].pid = self->pid;
	atomic_store(&r->holder[free_i].who, me);
found:
	r->holder[m->hidx].ends = (uint16_t)((m->nr ? END_R : 0) |
					     (m->nw ? END_W : 0));
}

static void holder_drop(struct pipe_ring *r, int i)
{
	struct pipe_holder *hd = &r->holder[i];
	uint32_t rs = RD(hd->rsleep), ws = RD(hd->wsleep);

	r->rsleep -= rs < r->rsleep ? rs : r->rsleep;
	r->wsleep -= ws < r->wsleep ? ws : r->wsleep;
	atomic_store(&hd->who, 0);
}

/* Whether a live process other than us that used the pipe through uipc
 * holds an end (records of the dead and of exec'd images are dropped on
 * the way; a forked child that made no call yet does not count: it may be
 * about to exec a program that reads the kernel pipe).  Ring locked. */
static int others_alive(struct uipc_nsh *h, struct pipe_map *m)
{
	struct pipe_ring *r = m->r;
	int alive = 0;

	for (int i = 0; i < PIPE_HOLDERS; i++) {
		uint64_t w = atomic_load(&r->holder[i].who);

		if (w == 0 || i == m->hidx)
			continue;
		if (!uipc_proc_alive(h, (uint32_t)(w >> 32), (uint32_t)w,
				     RD(r->holder[i].pid)))
			holder_drop(r, i);
		else if (RD(r->holder[i].active))
			alive = 1;
	}
	return alive;
}

static void sleeper_count(struct pipe_map *m, int end, int d)
{
	struct pipe_ring *r = m->r;

	if (end == END_R)
		r->rsleep += (uint32_t)d;
	else
		r->wsleep += (uint32_t)d;
	if (m->hidx >= 0) {
		struct pipe_holder *hd = &r->holder[m->hidx];

		if (end == END_R)
			hd->rsleep = (uint16_t)(hd->rsleep + d);
		else
			hd->wsleep = (uint16_t)(hd->wsleep + d);
	}
}

/* Registers this process with the ring of a new or found end. */
static int holder_join(struct pipe_map *m, int active)
{
	struct uipc_self self;
	int r = uipc_proc_self(&self);

	if (r < 0)
		return r;
	uipc_proc_note(UIPC_USE_PIPE);
	r = ring_lock(m);
	if (r < 0)
		return r;
	holder_set(m, &self);
	if (active && m->hidx >= 0) {
		m->r->holder[m->hidx].active = 1;
		m->active_pid = self.pid;
	}
	ring_unlock(m);
	return 0;
}

/* A call of this process uses m: its record says so, once.  Ring
 * locked. */
static void holder_active(struct pipe_map *m)
{
	struct uipc_self self;

	if (likely(m->active_pid == uipc_getpid()) || uipc_proc_self(&self) < 0)
		return;
	holder_set(m, &self);
	if (m->hidx >= 0)
		m->r->holder[m->hidx].active = 1;
	m->active_pid = self.pid;
}

/* ---------------------------------------------------------------------
 * Demotion: the ring's bytes into the kernel pipe, for good.
 * ------------------------------------------------------------------- */

/* A descriptor of the other end of the pipe fd belongs to, opened anew
 * through /proc (-1 if it cannot be: no reader left to write to, say). */
static int reopen_end(int fd, int end, int direct)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, (end == END_R ? O_RDONLY : O_WRONLY) | O_NONBLOCK |
		   O_CLOEXEC);
	/* open() refuses O_DIRECT on a pipe; F_SETFL takes it. */
	if (nfd >= 0 && direct &&
	    fcntl(nfd, F_SETFL, O_NONBLOCK | O_DIRECT) < 0) {
		close(nfd);
		nfd = -1;
	}
	return nfd;
}

/* Whether fd is still a descriptor of end `end` of pipe ino (the table
 * does not see the C library's close and dup2). */
static int end_fd_ok(int fd, uint64_t ino, int end)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_ACCMODE) == (end == END_R ? O_RDONLY : O_WRONLY) &&
	       fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
	       (uint64_t)st.st_ino == ino;
}

/* A local descriptor of end `end` of m, or -1. */
static int local_end(struct pipe_map *m, int end, int except)
{
	for (int c = 0; c < TAB_CHUNKS; c++) {
		_Atomic uintptr_t *ch = atomic_load(&g_fds[c]);

		if (!ch)
			continue;
		for (int i = 0; i < TAB_CHUNK; i++) {
			uintptr_t e = atomic_load(&ch[i]);
			int fd = c * TAB_CHUNK + i;

			if (e && ent_map(e) == m && ent_end(e) == end &&
			    fd != except && end_fd_ok(fd, m->ino, end))
				return fd;
		}
	}
	return -1;
}

/*
 * Moves the ring's bytes into the kernel pipe, our tokens out first, and
 * marks the ring demoted: also while other processes use it (they look
 * at the state under the lock).  fd is a descriptor of m of end `end`,
 * still open.  Ring locked.  0; -1 if it could not (the ring stays);
 * -2 likewise, and the lock could not be taken again.
 */
static int copies_busy(struct pipe_map *m, int ask, int any);
static int copy_wait(struct pipe_map *m, int *waits);

static int demote(struct pipe_map *m, int fd, int end)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g;
	int rfd = end == END_R ? fd : local_end(m, END_R, -1);
	int wfd = end == END_W ? fd : local_end(m, END_W, -1);
	int own_r = -1, own_w = -1, ok = 0;
	uint32_t tok;

	/* Copies made with the ring unlocked: a dead copier's settled, a
	 * live one's waited for (it needs the lock to finish), and no new
	 * one started meanwhile. */
	r->draining = 1;
	for (int waits = 0; copies_busy(m, (waits & 63) == 63, 1);) {
		if (waits > 4096) {
			r->draining = 0;
			return -1;
		}
		if (copy_wait(m, &waits) < 0) {
			r->draining = 0;
			return -2;
		}
	}
	r->draining = 0;
	g = geom(m);
	/* From here to the end the lock stays ours: a token's writer that
	 * claims now sees this and writes nothing; one that claimed first
	 * is seen below. */
	atomic_store(&r->state, RING_DEMOTING);
	/* A token claimed and not written yet: its writer writes it within
	 * moments, or is dying (a killed process is alive to F_GETLK until
	 * the kernel has closed its files). */
	for (int i = 0; i < 200; i++) {
		tok = atomic_load(&r->ktok);
		if (TOK_STATE(tok) != TOK_CLAIMED)
			break;
		if (claimer_gone(tok)) {
			/* Written or not before it died: FIONREAD says. */
			if (atomic_compare_exchange_strong(&r->ktok, &tok,
							   TOK_NONE))
				r->kunsure = 1;
			break;
		}
		usleep(1000);
	}
	k_recount(r, fd);
	if (rfd < 0 && !k_empty(r))
		rfd = own_r = reopen_end(fd, END_R, 0);
	if (rfd >= 0 && RD(r->kbytes) > 0)
		k_take(r, rfd, r->kbytes);
	if (rfd >= 0)
		token_take(r, rfd);
	if (!k_empty(r) || RD(r->kunsure))
		goto out;	/* a token on its way: its writer lives */
	if (occupancy(g) > 0) {
		int have;

		if (wfd < 0) {
			wfd = own_w = reopen_end(fd, END_W, RD(r->wdirect));
			if (wfd < 0 && errno != ENXIO)
				goto out;	/* cannot move them: they stay */
		}
		/* No reader (ENXIO, POLLERR): nobody can read them (and a
		 * write would be refused with SIGPIPE). */
		if (wfd < 0 || k_no_readers(wfd))
			goto gone;
		/* Room for all of it, or none of it moves: a part moved
		 * would let what stays be read first. */
		fcntl(wfd, F_SETPIPE_SZ, (int)(g->slots * PIPE_PAGE));
		have = 0;
		if (ioctl(wfd, FIONREAD, &have) < 0 ||
		    fcntl(wfd, F_GETPIPE_SZ) < (int)(occupancy(g) * PIPE_PAGE) +
						   (have + (int)PIPE_PAGE - 1) /
						   (int)PIPE_PAGE * (int)PIPE_PAGE)
			goto out;
		while (occupancy(g) > 0) {
			struct pipe_slot *s = slot_of(m, g, g->tail);
			char *pg = page_at(m, g->region, g->tail & (g->slots - 1));
			ssize_t n = s->len ? k_write(wfd, pg + s->off, s->len) : 0;

			if (n < 0)
				goto out;
			s->off += (uint32_t)n;
			s->len -= (uint32_t)n;
			if (s->len == 0)
				g->tail++;
		}
	} else if (wfd >= 0) {
		fcntl(wfd, F_SETPIPE_SZ, (int)(g->slots * PIPE_PAGE));
	}
gone:
	ok = 1;
out:
	atomic_store(&r->state, ok ? RING_DEMOTED : RING_LIVE);
	if (own_r >= 0)
		close(own_r);
	if (own_w >= 0)
		close(own_w);
	return ok ? 0 : -1;
}

/* ---------------------------------------------------------------------
 * pipe, pipe2
 * ------------------------------------------------------------------- */

/* Adds fd as end `end` of m to the table; the table lock held. */
static int tab_add(int fd, struct pipe_map *m, int end)
{
	int r = tab_set(fd, (uintptr_t)m | (uintptr_t)end);

	if (r == 0) {
		atomic_fetch_add(&m->refs, 1);
		if (end == END_R)
			m->nr++;
		else
			m->nw++;
	}
	return r;
}

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static void pipe_atfork_child(void);

static void pipe_atexit(void);

static void register_atfork(void)
{
	atomic_store(&g_pid, getpid());
	pthread_atfork(NULL, NULL, pipe_atfork_child);
	atexit(pipe_atexit);
}

/* Where the kernel pipe's content must fit: two slots, the smallest the
 * kernel allows above one (one slot would be full at the first token). */
static int kernel_pipe(int fds[2], int flags)
{
	if (pipe2(fds, flags) < 0)
		return -errno;
	if (fcntl(fds[1], F_SETPIPE_SZ, PIPE_KSIZE) < 0) {
		int e = -errno;

		close(fds[0]);
		close(fds[1]);
		return e;
	}
	return 0;
}

static int do_pipe2(int *pipefd, int flags)
{
	struct uipc_nsh *h;
	struct pipe_map *m = NULL;
	struct stat st;
	int fds[2], r = 0;

	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	h = uipc_ns_get(&r);
	if (!h)
		return r;
	pthread_once(&g_atfork_once, register_atfork);
	r = kernel_pipe(fds, flags);
	if (r < 0)
		return r;
	if (fstat(fds[0], &st) < 0) {
		r = -errno;
		goto out_close;
	}
	r = ring_create(h, (uint64_t)st.st_ino, flags & O_DIRECT,
			flags & O_NONBLOCK, &m);
	if (r < 0) {
		/* No ring (a file another user planted under its name, a
		 * full tmpfs, no descriptor left): a plain kernel pipe,
		 * which every call here passes to the kernel. */
		fcntl(fds[1], F_SETPIPE_SZ, (int)(PIPE_DEF_SLOTS * PIPE_PAGE));
		r = uipc_copy_to_user(pipefd, fds, sizeof(fds));
		if (r < 0)
			goto out_close;
		return 0;
	}
	tab_lock();
	m = map_publish(m);
	r = tab_add(fds[0], m, END_R);
	if (r == 0 && (r = tab_add(fds[1], m, END_W)) < 0) {
		tab_set(fds[0], 0);
		atomic_fetch_sub(&m->refs, 1);
	}
	tab_unlock();
	if (r < 0) {
		char name[64];

		atomic_fetch_add(&m->refs, 1);
		map_put(m);	/* unmapped, kept */
		ring_name(name, sizeof(name), (uint64_t)st.st_ino);
		unlinkat(h->dirfd, name, 0);
		goto out_close;
	}
	holder_join(m, 1);
	/* Last: a bad pointer gives EFAULT, as the kernel's copy out does,
	 * and the pipe goes (the kernel's fd_install comes after too). */
	r = uipc_copy_to_user(pipefd, fds, sizeof(fds));
	if (r < 0) {
		uipc_close(fds[0]);
		uipc_close(fds[1]);
	}
	return r;
out_close:
	close(fds[0]);
	close(fds[1]);
	return r;
}

/*
 * FIFOs.  A uipc FIFO is the kernel's: its node, its open rules (a reader
 * waits for a writer and the other way round, ENXIO, EACCES by the node's
 * mode) and, for now, its data path.  Any program may open a FIFO by its
 * path, without uipc and at any moment, and would then see the kernel
 * pipe and not a ring; the ring's rule (used only while every holder is
 * known to be uipc's) cannot be kept for a node anyone may open.  The
 * descriptors are ordinary ones, which uipc_read and the rest pass to the
 * C library (ring_find tells a FIFO from an anonymous pipe by its device).
 */
int uipc_mkfifo(const char *path, mode_t mode)
{
	return mkfifo(path, mode);
}

int uipc_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open(path, flags, mode);
}

int uipc_pipe2(int pipefd[2], int flags)
{
	return (int)UIPC_RET(do_pipe2(pipefd, flags));
}

int uipc_pipe(int pipefd[2])
{
	return (int)UIPC_RET(do_pipe2(pipefd, 0));
}

/* ---------------------------------------------------------------------
 * Looking up a descriptor.
 * ------------------------------------------------------------------- */

/* The ring entry of fd: from the table, or found through the kernel pipe's
 * inode (a descriptor this process got by exec or a socket).  0 if fd is
 * no uipc pipe end. */
static uintptr_t lookup(int fd)
{
	uintptr_t e = tab_get(fd);
	struct pipe_map *m;
	int fl, end, r;

	if (likely(e))
		return e;
	if (fd < 0 || (g_shim && tab_raw(fd) == TAB_NOT))
		return 0;
	if ((r = ring_find(fd, &m)) < 0) {
		/* Not from a vfork child: the table is its parent's, and
		 * the number may be another descriptor there. */
		if (g_shim && r == -ENOENT && !foreign_child())
			tab_not(fd);
		return 0;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDWR) {
		map_free(m);
		return 0;
	}
	end = (fl & O_ACCMODE) == O_RDONLY ? END_R : END_W;
	pthread_once(&g_atfork_once, register_atfork);
	tab_lock();
	e = tab_get(fd);
	if (!e) {
		struct pipe_map *old;

		/* One mapping per ring in a process. */
		for (old = g_maps; old; old = old->next)
			if (old->ino == m->ino)
				break;
		if (old) {
			map_free(m);
			m = old;
		} else {
			m = map_publish(m);
		}
		if (tab_add(fd, m, end) == 0)
			e = tab_get(fd);
		else if (!old) {
			atomic_fetch_add(&m->refs, 1);
			tab_unlock();
			map_put(m);
			return 0;
		}
	} else {
		map_free(m);
		m = NULL;
	}
	tab_unlock();
	if (m && e)
		holder_join(m, 1);
	return e;
}

/* lookup(), with a reference on the entry's mapping for the call (drop
 * it with map_put(ent_map(e))).  0 if fd is no uipc pipe end. */
static uintptr_t op_get(int fd)
{
	for (int tries = 0; tries < 4; tries++) {
		uintptr_t e = lookup(fd);

		if (!e)
			return 0;
		atomic_fetch_add(&ent_map(e)->refs, 1);
		if (tab_get(fd) == e)
			return e;
		map_put(ent_map(e));	/* closed meanwhile: look again */
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * read, readv
 * ------------------------------------------------------------------- */

#define IOV_LOCAL 8

/* The caller's iovec array, copied (EFAULT, EINVAL as import_iovec). */
static int iov_import(const struct iovec *uiov, int cnt, struct iovec *local,
		      struct iovec **out, size_t *total)
{
	struct iovec *v = local;
	size_t sum = 0;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if (cnt > IOV_LOCAL) {
		v = malloc(sizeof(*v) * (size_t)cnt);
		if (!v)
			return -ENOMEM;
	}
	if (cnt && uipc_copy_from_user(v, uiov, sizeof(*v) * (size_t)cnt) < 0)
		goto fault;
	for (int i = 0; i < cnt; i++) {
		if ((ssize_t)v[i].iov_len < 0) {
			if (v != local)
				free(v);
			return -EINVAL;
		}
		if ((uintptr_t)v[i].iov_base > USER_TOP ||
		    v[i].iov_len > USER_TOP - (uintptr_t)v[i].iov_base)
			goto fault;
		if (v[i].iov_len > PIPE_MAX_RW - sum)
			v[i].iov_len = PIPE_MAX_RW - sum;
		sum += v[i].iov_len;
	}
	*out = v;
	*total = sum;
	return 0;
fault:
	if (v != local)
		free(v);
	return -EFAULT;
}

/* The caller's buffers, as read(2) (single: one, buf and count, which
 * the kernel's access_ok checks and MAX_RW_COUNT clamps) or readv(2)
 * take them: 0 with *v (local or allocated) and *total, or -errno. */
static int iov_setup(const struct iovec *uiov, int *cnt, int single,
		     struct iovec *local, struct iovec **v, size_t *total)
{
	if (!single)
		return iov_import(uiov, *cnt, local, v, total);
	local[0] = *uiov;
	if ((uintptr_t)local[0].iov_base > USER_TOP ||
	    local[0].iov_len > USER_TOP - (uintptr_t)local[0].iov_base)
		return -EFAULT;
	if (local[0].iov_len > PIPE_MAX_RW)
		local[0].iov_len = PIPE_MAX_RW;
	*v = local;
	*total = local[0].iov_len;
	*cnt = 1;
	return 0;
}

struct iter {
	struct iovec *v;
	int cnt, i;
	size_t off;
};

/* Copies n bytes between the ring and the caller's buffers; -EFAULT with
 * nothing consumed of the iterator on a bad address. */
static int iter_copy(struct iter *it, char *ring, size_t n, int to_user)
{
	struct iter save = *it;

	while (n > 0 && it->i < it->cnt) {
		struct iovec *v = &it->v[it->i];
		size_t k = v->iov_len - it->off;

		if (k > n)
			k = n;
		if (k) {
			char *u = (char *)v->iov_base + it->off;
			int r = to_user ? uipc_copy_to_user(u, ring, k)
					: uipc_copy_from_user(ring, u, k);

			if (r < 0) {
				*it = save;
				return r;
			}
		}
		ring += k;
		n -= k;
		it->off += k;
		if (it->off == v->iov_len) {
			it->i++;
			it->off = 0;
		}
	}
	return 0;
}

/* The kernel's own call on a demoted pipe or one that is not ours. */
static ssize_t kernel_readv(int fd, const struct iovec *v, int cnt)
{
	ssize_t n = readv(fd, v, cnt);

	return n < 0 ? -errno : n;
}

static ssize_t kernel_writev(int fd, const struct iovec *v, int cnt)
{
	ssize_t n = writev(fd, v, cnt);

	return n < 0 ? -errno : n;
}

/* The end's O_NONBLOCK (struct pipe_ring: rnonblock). */
static int nonblocking(struct pipe_map *m, int end)
{
	return end == END_R ? RD(m->r->rnonblock) != 0 : RD(m->r->wnonblock) != 0;
}

/* How long a reader of an empty ring or a writer of a full one watches
 * for the other side before it goes to the kernel, in pauses: about what
 * a writer on another CPU takes to put the next bytes in. */
#define PIPE_SPIN 400

static int g_ncpu;

/* Records the CPU this call runs on (for the other side's spin). */
static void note_cpu(uint32_t *word)
{
	int cpu = sched_getcpu();

	if (cpu >= 0 && RD(*word) != (uint32_t)cpu + 1)
		*word = (uint32_t)cpu + 1;
}

/*
 * Unlocks, watches the ring's head (END_R: bytes came) or tail (END_W:
 * room came) move, and locks again.  No spin on one CPU.  0, or -EIO when
 * the lock cannot be taken again.
 */
static int spin_unlocked(struct pipe_map *m, int end)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g = &r->geom[RD(r->cur) & 1];
	uint32_t *word = end == END_R ? &g->head : &g->tail;
	uint32_t was = RD(*word);
	uint32_t other = end == END_R ? RD(r->wcpu) : RD(r->rcpu);
	int cpu = sched_getcpu();	/* vDSO or rseq: no system call */

	if (!g_ncpu)
		g_ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	/* One CPU, or the other side last ran on ours (pinned together,
	 * say): it cannot answer while we spin. */
	if (g_ncpu < 2 || (cpu >= 0 && other == (uint32_t)cpu + 1))
		return 0;
	ring_unlock(m);
	for (int i = 0; i < PIPE_SPIN && RD(*word) == was &&
			RD(r->cur) == (uint32_t)(g - r->geom); i++)
		uipc_cpu_relax();
	return ring_lock(m);
}

/* ---------------------------------------------------------------------
 * Copies with the ring unlocked.
 *
 * A writer of whole pages reserves slots (PB_FILLING, its process named),
 * unlocks, copies, locks again and commits them; a reader that takes whole
 * slots names itself the ring's copier (rcopy_*), unlocks, copies, locks
 * again and frees them.  Readers stop before a slot being filled and wait
 * for another reader's copy, as the kernel's wait for its pipe's mutex;
 * writers do not merge into a slot being read; a resize waits for both.
 * A copier that dies: its reserved slots end up empty (a write of up to a
 * page leaves all of it or nothing), the slots it was reading are gone
 * (what a dying reader took, as on the kernel).
 * ------------------------------------------------------------------- */

/* Ring locked: a copy made with it unlocked has ended (committed). */
static void copy_ended(struct pipe_ring *r)
{
	atomic_fetch_add_explicit(&r->copies, 1, memory_order_release);
}

/* Whether the process (who, pid) of a copy in flight is gone. */
static int copier_gone(uint64_t who, int32_t pid)
{
	struct uipc_nsh *h;
	int err = 0;

	h = uipc_ns_get(&err);
	return h && !uipc_proc_alive(h, (uint32_t)(who >> 32), (uint32_t)who, pid);
}

/*
 * Ring locked.  With ask, settles the copies of dead processes.  Returns
 * whether a live copy is still in flight in the way: of a reader (another
 * reader's copy, or a slot being filled at the tail), or with any, of
 * anything (a resize).
 */
static int copies_busy(struct pipe_map *m, int ask, int any)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g = geom(m);
	uint64_t who = RD(r->rcopy_who);
	int busy = 0;

	if (who) {
		if (ask && copier_gone(who, RD(r->rcopy_pid))) {
			uint32_t n = RD(r->rcopy_n);

			g->tail += n < occupancy(g) ? n : occupancy(g);
			r->rcopy_who = 0;
			r->rcopy_n = 0;
			copy_ended(r);
		} else {
			busy = 1;
		}
	}
	for (uint32_t i = g->tail; i != g->head; i++) {
		struct pipe_slot *sl = slot_of(m, g, i);

		if (!(RD(sl->flags) & PB_FILLING))
			continue;
		if (ask && copier_gone(RD(sl->who), RD(sl->pid))) {
			sl->off = sl->len = 0;
			sl->flags = 0;
			copy_ended(r);
		} else if (any || i == g->tail) {
			busy = 1;
		}
	}
	return busy;
}

/* Unlocks, lets a copy in flight go on until it or another one ends (a
 * while at most), locks again: 0, or -EIO (the lock is not ours then).
 * *waits counts the rounds: every 64th asks whether the copier lives. */
static int copy_wait(struct pipe_map *m, int *waits)
{
	struct pipe_ring *r = m->r;
	uint32_t was = atomic_load_explicit(&r->copies, memory_order_relaxed);

	int ret;

	t_copying++;
	ring_unlock(m);
	if (++*waits > 16)
		sched_yield();
	else
		for (int i = 0; i < PIPE_SPIN &&
		     atomic_load_explicit(&r->copies, memory_order_acquire) == was;
		     i++)
			uipc_cpu_relax();
	ret = ring_lock(m);
	t_copying--;
	return ret;
}

/* Whether the copy in the way of a reader, if any, lets it go on now. */
static int reader_blocked(struct pipe_map *m, struct pipe_geom *g)
{
	return RD(m->r->rcopy_who) != 0 ||
	       (occupancy(g) > 0 &&
		(RD(slot_of(m, g, g->tail)->flags) & PB_FILLING));
}

/*
 * Copies out whole ready slots from the tail, the ring unlocked, if they
 * come to PIPE_UNLOCKED_COPY bytes or more and fit in total: returns the
 * bytes (0: not worth it, nothing done; -EFAULT).  Ring locked on entry
 * and on return unless *locked is cleared.
 */
static ssize_t read_unlocked(struct pipe_map *m, struct iter *it, size_t total,
			     int *locked)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g = geom(m);
	uint32_t n = 0, t0 = g->tail, region = g->region, slots = g->slots;
	uint32_t done_n = 0;
	struct uipc_self self;
	size_t bytes = 0, copied = 0;
	int fault = 0, r_lock;

	if (RD(r->draining))
		return 0;
	for (uint32_t i = g->tail; i != g->head; i++) {
		struct pipe_slot *sl = slot_of(m, g, i);

		if ((RD(sl->flags) & (PB_FILLING | PB_PACKET)) ||
		    bytes + sl->len > total)
			break;
		bytes += sl->len;
		n++;
	}
	if (bytes < PIPE_UNLOCKED_COPY || uipc_proc_self(&self) < 0)
		return 0;
	r->rcopy_who = who_of(&self);
	r->rcopy_pid = self.pid;
	r->rcopy_n = n;
	t_copying++;
	ring_unlock(m);
	for (uint32_t j = 0; j < n; j++) {
		uint32_t pos = (t0 + j) & (slots - 1);
		struct pipe_slot *sl = slot_at(m, region, pos);
		uint32_t off = RD(sl->off), len = RD(sl->len);

		if (off > PIPE_PAGE || len > PIPE_PAGE - off)
			len = 0;	/* rewritten under us: nothing */
		if (iter_copy(it, page_at(m, region, pos) + off, len, 1) < 0) {
			fault = 1;
			break;
		}
		copied += len;
		done_n++;
	}
	r_lock = ring_lock(m);
	t_copying--;
	if (r_lock < 0) {
		*locked = 0;
		return copied ? (ssize_t)copied : -EIO;
	}
	g = geom(m);
	g->tail += done_n < occupancy(g) ? done_n : occupancy(g);
	r->rcopy_who = 0;
	r->rcopy_n = 0;
	copy_ended(r);
	if (fault && !copied)
		return -EFAULT;
	return copied ? (ssize_t)copied : -EFAULT;
}

/* A sleep the safety period ended found what it waited for: the wake
 * (a token, a slot given back) was lost.  Counted for the tests, as
 * wait.c counts the other mechanisms'. */
static void lost_wake(int slept, int due)
{
	struct uipc_nsh *h;
	int err = 0;

	if (slept == 1 && due && (h = uipc_ns_get(&err)))
		atomic_fetch_add_explicit(&h->ns->lost_wakes, 1,
					  memory_order_relaxed);
}

/* pipe_read(), on the ring.  Ring locked on entry; on return still locked
 * unless *locked was cleared (a lock that could not be taken again). */
static ssize_t ring_read(struct pipe_map *m, int fd, struct iter *it,
			 size_t total, struct uipc_wait *w, int *demoted,
			 int *locked)
{
	struct pipe_ring *r = m->r;
	ssize_t ret = 0;
	int spun = 0, waits = 0;
	short kev = 0;

	for (;;) {
		struct pipe_geom *g;

		if (atomic_load(&r->state) != RING_LIVE) {
			*demoted = 1;
			return ret;
		}
		k_recount(r, fd);
		holder_active(m);
		note_cpu(&r->rcpu);
		g = geom(m);
		if (reader_blocked(m, g)) {
			if (ret)
				goto done;
			if (copies_busy(m, (waits & 63) == 63, 0) &&
			    copy_wait(m, &waits) < 0) {
				*locked = 0;
				return -EIO;
			}
			continue;
		}
		if (occupancy(g) > 0) {
			ssize_t n = read_unlocked(m, it, total, locked);

			if (n < 0 && !ret)
				return n;	/* EFAULT: nothing taken */
			if (n > 0) {
				ret += n;
				total -= (size_t)n;
			}
			if (!*locked)
				return ret;
			if (n != 0 && (n < 0 || !total))
				goto done;
			if (n > 0)
				continue;
		}
		while (occupancy(g) > 0) {
			struct pipe_slot *s = slot_of(m, g, g->tail);
			char *pg = page_at(m, g->region, g->tail & (g->slots - 1));
			size_t chars = s->len;
			int e;

			if (s->flags & PB_FILLING)
				break;

			if (chars > total)
				chars = total;
			e = iter_copy(it, pg + s->off, chars, 1);
			if (e < 0) {
				if (!ret)
					ret = e;
				goto done;
			}
			ret += (ssize_t)chars;
			s->off += (uint32_t)chars;
			s->len -= (uint32_t)chars;
			total -= chars;
			if (s->flags & PB_PACKET) {
				total = 0;
				s->len = 0;
			}
			if (s->len == 0)
				g->tail++;
			if (!total)
				goto done;
		}
		/* Empty.  Our tokens out first, so that a sleep or a poll
		 * of the kernel end waits for the next one. */
		if (r->kbytes > 0)
			k_take(r, fd, r->kbytes);
		token_take(r, fd);
		if (ret)
			goto done;
		/* A spin, unless the caller would not wait anyway. */
		if (!spun && !nonblocking(m, END_R)) {
			spun = 1;
			if (spin_unlocked(m, END_R) < 0) {
				*locked = 0;
				return -EIO;
			}
			continue;
		}
		/* Ring and kernel pipe empty of ours.  A non-blocking
		 * reader asks the kernel's poll now; a blocking one sleeps
		 * on the kernel end, whose poll tells the same when it wakes
		 * (kev).  POLLHUP, the ring still empty: no writer is left to
		 * put anything there, EOF.  POLLIN with none of our bytes
		 * there (asked again under the lock): a writer that does not
		 * use uipc wrote into the kernel pipe, so from now on the
		 * pipe is the kernel's (and the caller reads them there). */
		if (nonblocking(m, END_R) && !kev) {
			struct pollfd kp = { fd, POLLIN, 0 };

			kev = poll(&kp, 1, 0) == 1 ? kp.revents : 0;
			if (!kev) {
				ret = -EAGAIN;
				goto done;
			}
		}
		if (kev & POLLIN) {
			struct pollfd kp = { fd, POLLIN, 0 };

			/* Only on a sure count: with kunsure, bytes of ours
			 * that a death left uncounted would pass for a
			 * stranger's, and be read as data (the recount at
			 * the top waits for a claim on its way). */
			kev = 0;
			if (k_empty(r) && !RD(r->kunsure) &&
			    poll(&kp, 1, 0) == 1 && (kp.revents & POLLIN)) {
				/* The state first, the token again after: a
				 * writer claiming one meanwhile sees it and
				 * writes nothing, or is seen here. */
				atomic_store(&r->state, RING_DEMOTING);
				if (!k_empty(r)) {
					atomic_store(&r->state, RING_LIVE);
					continue;
				}
				atomic_store(&r->state, RING_DEMOTED);
				*demoted = 1;
				goto done;
			}
			continue;
		}
		if (kev & POLLHUP)
			goto done;	/* EOF */
		if (!w->masked) {
			/* Block signals, then look again: from here on a
			 * handler that runs makes the sleep end. */
			ring_unlock(m);
			uipc_wait_begin(w);
			if (ring_lock(m) < 0) {
				*locked = 0;
				return -EIO;
			}
			continue;
		}
		sleeper_count(m, END_R, 1);
		ring_unlock(m);
		ret = uipc_wait_fd(w, fd, POLLIN, 0, &kev);
		if (ring_lock(m) < 0) {
			*locked = 0;
			return -EIO;
		}
		sleeper_count(m, END_R, -1);
		if (ret < 0)
			return ret;
		/* A token claimed and never written: its writer died. */
		{
			uint32_t tok = atomic_load(&r->ktok);

			if (ret == 1 && TOK_STATE(tok) == TOK_CLAIMED &&
			    !(kev & POLLIN) && claimer_gone(tok) &&
			    atomic_compare_exchange_strong(&r->ktok, &tok,
							   TOK_NONE))
				r->kunsure = 1;	/* FIONREAD says */
		}
		lost_wake((int)ret, occupancy(geom(m)) > 0);
		ret = 0;
	}
done:
	if (ret > 0) {
		struct pipe_geom *g = geom(m);

		/* Room for a sleeping or watching writer to see. */
		if ((r->wsleep || r->wwatch) && occupancy(g) < g->slots)
			k_unfill(r, fd);
		if (r->rwatch && occupancy(g) == 0) {
			if (r->kbytes)
				k_take(r, fd, r->kbytes);
			token_take(r, fd);
		}
	}
	return ret;
}

static ssize_t readv_on(int fd, uintptr_t e, const struct iovec *uiov,
			int cnt, int single)
{
	struct iovec local[IOV_LOCAL], *v;
	struct pipe_map *m;
	struct uipc_wait w;
	struct iter it;
	size_t total;
	ssize_t ret;
	int demoted = 0;

	if (ent_end(e) != END_R)
		return -EBADF;
	m = ent_map(e);
	ret = iov_setup(uiov, &cnt, single, local, &v, &total);
	if (ret < 0)
		return ret;
	if (total == 0) {
		ret = 0;
		goto out;
	}
	if (unlikely(ring_held(m))) {
		ret = -EAGAIN;	/* a handler, its thread in the middle */
		goto out;
	}
	it = (struct iter){ v, cnt, 0, 0 };
	uipc_wait_init(&w, UIPC_SITE_PIPERD | UIPC_WAIT_NOSOCK);
	uipc_wait_early(&w);
	ret = ring_lock(m);
	if (ret == 0) {
		int locked = 1;

		ret = ring_read(m, fd, &it, total, &w, &demoted, &locked);
		if (locked)
			ring_unlock(m);
	}
	uipc_wait_end(&w);
	if (demoted && ret == 0)
		ret = kernel_readv(fd, v, cnt);
out:
	if (v != local)
		free(v);
	return ret;
}

typedef ssize_t (*io_on_fn)(int, uintptr_t, const struct iovec *, int, int);

/* A read or write on fd, with a reference on its ring for the call:
 * -ENOENT when fd is no uipc pipe end (the C library's call then). */
static ssize_t pipe_io(int fd, const struct iovec *uiov, int cnt, int single,
		       io_on_fn on)
{
	uintptr_t e = op_get(fd);
	ssize_t r;

	if (!e)
		return -ENOENT;
	r = on(fd, e, uiov, cnt, single);
	/* What a copy's unlock kept back goes in now. */
	if (unlikely(t_defer.n) && !t_copying)
		defer_flush();
	map_put(ent_map(e));
	return r;
}

/* ---------------------------------------------------------------------
 * write, writev
 * ------------------------------------------------------------------- */

/* What a sleeper or a watcher of either end must see, after a change of
 * the ring.  Ring locked; wfd the write end.  Returns whether the token
 * is due (token_post(), once the ring is unlocked). */
static int k_after_write(struct pipe_map *m, int wfd)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g = geom(m);

	if (occupancy(g) >= g->slots && (r->wsleep || r->wwatch))
		k_fill(r, wfd);
	return occupancy(g) > 0 && (r->rsleep || r->rwatch) &&
	       !atomic_load(&r->ktok);
}

/* The kernel's EPIPE: a write it refuses (and SIGPIPE, as it sends it).
 * If a reader came back meanwhile, the byte is a token of ours. */
static ssize_t epipe(struct pipe_ring *r, int wfd)
{
	ssize_t n;

	r->kbusy = 1;
	n = k_write(wfd, g_zero, 1);
	if (n == 1)
		r->kbytes++;
	r->kbusy = 0;
	if (n == 1)
		return 0;
	return errno == EPIPE ? -EPIPE : 0;
}

/*
 * Reserves the free slots a write of total bytes (at least
 * PIPE_UNLOCKED_COPY) needs, copies into them with the ring unlocked, and
 * commits them: the bytes written (0: no room, nothing done; -EFAULT
 * when the first page faulted).  Locking as read_unlocked.
 */
static ssize_t write_unlocked(struct pipe_map *m, struct iter *it,
			      size_t total, int *locked)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g = geom(m);
	uint32_t k, first = g->head, region = g->region, slots = g->slots;
	uint32_t flags = r->wdirect ? PB_PACKET : PB_MERGE;
	uint32_t len[64];
	struct uipc_self self;
	size_t copied = 0;
	uint32_t ok = 0;
	int r_lock;

	if (RD(r->draining))
		return 0;
	k = slots - occupancy(g);
	if (k > (total + PIPE_PAGE - 1) / PIPE_PAGE)
		k = (uint32_t)((total + PIPE_PAGE - 1) / PIPE_PAGE);
	if (k > 64)
		k = 64;
	if (k == 0 || uipc_proc_self(&self) < 0)
		return 0;
	for (uint32_t j = 0; j < k; j++) {
		struct pipe_slot *sl = slot_at(m, region, (first + j) & (slots - 1));

		sl->off = sl->len = 0;
		sl->who = who_of(&self);
		sl->pid = self.pid;
		sl->flags = PB_FILLING;
	}
	g->head += k;
	t_copying++;
	ring_unlock(m);
	for (uint32_t j = 0; j < k; j++) {
		size_t c = total - copied < PIPE_PAGE ? total - copied : PIPE_PAGE;

		if (iter_copy(it, page_at(m, region, (first + j) & (slots - 1)),
			      c, 0) < 0)
			break;
		len[j] = (uint32_t)c;
		copied += c;
		ok++;
	}
	r_lock = ring_lock(m);
	t_copying--;
	if (r_lock < 0) {
		*locked = 0;
		return (ssize_t)copied;	/* left filling: settled as a dead one's */
	}
	for (uint32_t j = 0; j < k; j++) {
		struct pipe_slot *sl = slot_at(m, region, (first + j) & (slots - 1));

		sl->len = j < ok ? len[j] : 0;	/* the commit */
		sl->flags = flags;
	}
	copy_ended(r);
	r->written += copied;
	return ok ? (ssize_t)copied : -EFAULT;
}

/* pipe_write(), on the ring; locking as ring_read. */
static ssize_t ring_write(struct pipe_map *m, int fd, struct iter *it,
			  size_t total, struct uipc_wait *w, int *demoted,
			  int *locked, int no_readers, int *post)
{
	struct pipe_ring *r = m->r;
	struct pipe_geom *g = geom(m);
	ssize_t ret = 0;
	size_t chars;
	int spun = 0;
	short wev;

	if (atomic_load(&r->state) != RING_LIVE) {
		*demoted = 1;
		return 0;
	}
	k_recount(r, fd);
	holder_active(m);
	note_cpu(&r->wcpu);
	if (no_readers && (ret = epipe(r, fd)) < 0)
		return ret;
	/* A write of less than a page merges into the last slot if it fits
	 * there whole: so up to PIPE_BUF bytes go in at once or not yet. */
	chars = total & (PIPE_PAGE - 1);
	if (chars && occupancy(g) > 0) {
		struct pipe_slot *s = slot_of(m, g, g->head - 1);
		char *pg = page_at(m, g->region, (g->head - 1) & (g->slots - 1));
		size_t off = s->off + s->len;

		/* Not into a slot a reader copies out unlocked. */
		if ((s->flags & PB_MERGE) && off + chars <= PIPE_PAGE &&
		    !(RD(r->rcopy_who) &&
		      g->head - 1 - g->tail < RD(r->rcopy_n))) {
			int e = iter_copy(it, pg + off, chars, 0);

			if (e < 0)
				return e;
			s->len += (uint32_t)chars;	/* the commit */
			r->written += chars;
			ret = (ssize_t)chars;
			total -= chars;
			if (!total)
				goto out;
		}
	}
	for (;;) {
		int e;

		if (atomic_load(&r->state) != RING_LIVE) {
			*demoted = 1;
			break;
		}
		g = geom(m);
		if (occupancy(g) < g->slots && total >= PIPE_UNLOCKED_COPY) {
			ssize_t n = write_unlocked(m, it, total, locked);

			if (!*locked) {
				if (n > 0)
					ret += n;
				return ret ? ret : -EIO;
			}
			if (n < 0) {
				if (!ret)
					ret = n;
				break;
			}
			if (n > 0) {
				ret += n;
				total -= (size_t)n;
				*post |= k_after_write(m, fd);
				if (!total)
					break;
				continue;
			}
		}
		if (occupancy(g) < g->slots) {
			struct pipe_slot *s = slot_at(m, g->region,
						      g->head & (g->slots - 1));
			char *pg = page_at(m, g->region, g->head & (g->slots - 1));
			size_t copy = total < PIPE_PAGE ? total : PIPE_PAGE;

			e = iter_copy(it, pg, copy, 0);
			if (e < 0) {
				if (!ret)
					ret = e;
				break;
			}
			s->off = 0;
			s->len = (uint32_t)copy;
			s->flags = r->wdirect ? PB_PACKET : PB_MERGE;
			g->head++;	/* the commit */
			r->written += copy;
			ret += (ssize_t)copy;
			total -= copy;
			if (!total)
				break;
			continue;
		}
		/* Full. */
		if (!spun && !nonblocking(m, END_W)) {
			spun = 1;
			if (spin_unlocked(m, END_W) < 0) {
				*locked = 0;
				return ret ? ret : -EIO;
			}
			continue;
		}
		if (nonblocking(m, END_W)) {
			if (!ret)
				ret = -EAGAIN;
			break;
		}
		if (!w->masked) {
			ring_unlock(m);
			uipc_wait_begin(w);
			if (ring_lock(m) < 0) {
				*locked = 0;
				return ret ? ret : -EIO;
			}
			continue;
		}
		sleeper_count(m, END_W, 1);
		*post |= k_after_write(m, fd);
		ring_unlock(m);
		if (*post) {
			token_post(r, fd);
			*post = 0;
		}
		e = uipc_wait_fd(w, fd, POLLOUT, ret > 0, &wev);
		if (ring_lock(m) < 0) {
			*locked = 0;
			return ret ? ret : -EIO;
		}
		sleeper_count(m, END_W, -1);
		lost_wake(e, occupancy(geom(m)) < geom(m)->slots);
		if (e < 0) {
			if (!ret)
				ret = e;
			break;
		}
		if ((wev & POLLERR) && k_no_readers(fd)) {
			e = (int)epipe(r, fd);
			if (e < 0) {
				if (!ret)
					ret = e;
				break;
			}
		}
	}
out:
	*post |= k_after_write(m, fd);
	return ret;
}

/* Slots that n bytes take at most. */
static uint32_t slots_for(size_t n)
{
	return (uint32_t)((n + PIPE_PAGE - 1) / PIPE_PAGE);
}

/* A handler's write to a ring its thread holds (see t_held): kept, if
 * it fits and the ring looks as if it has the room, for defer_flush.  A
 * non-blocking end's flush cannot wait for room: it must be there for
 * the kept bytes after what the interrupted write still puts in. */
static ssize_t defer_write(struct pipe_map *m, int fd, const struct iovec *v,
			   int cnt, size_t total)
{
	struct pipe_geom *g = geom(m);
	uint32_t at = t_defer.n;
	uint32_t room = g->slots - occupancy(g);

	if ((t_defer.n && (t_defer.m != m || m->r->wdirect)) ||
	    total > DEFER_MAX - at || room == 0 ||
	    (nonblocking(m, END_W) &&
	     room < slots_for(t_writing) + slots_for(at + total)))
		return -EAGAIN;
	for (int i = 0; i < cnt; i++) {
		if (uipc_copy_from_user(t_defer.buf + at, v[i].iov_base,
					v[i].iov_len) < 0)
			return -EFAULT;	/* nothing kept, as pipe_write */
		at += (uint32_t)v[i].iov_len;
	}
	if (!t_defer.n) {
		atomic_fetch_add(&m->refs, 1);
		t_defer.m = m;
		t_defer.fd = fd;
	}
	t_defer.n = at;
	return (ssize_t)total;
}

static ssize_t writev_on(int fd, uintptr_t e, const struct iovec *uiov,
			 int cnt, int single);

/* The interrupted code let the lock of the ring a handler's bytes were
 * kept for go: they go in now, with the asynchronous signals blocked, so
 * that no handler takes them too (they went in twice, the reference was
 * put twice) nor writes before them into the room they were kept with. */
static void defer_flush(void)
{
	char buf[DEFER_MAX];
	struct iovec v = { buf, 0 };
	struct pipe_map *m;
	sigset_t old;

	/* Nothing to do, told without the mask's two system calls: a
	 * handler that comes after this look keeps bytes only for a ring
	 * this thread holds, and that ring's unlock flushes them. */
	if (!t_defer.n || ring_held(t_defer.m))
		return;
	uipc_block_async(&old);
	m = t_defer.m;
	if (t_defer.n && !ring_held(m)) {
		v.iov_len = t_defer.n;
		memcpy(buf, t_defer.buf, v.iov_len);
		t_defer.n = 0;
		t_defer.m = NULL;
		writev_on(t_defer.fd, (uintptr_t)m | END_W, &v, 1, 1);
		map_put(m);
	}
	uipc_restore_mask(&old);
}

static ssize_t writev_on(int fd, uintptr_t e, const struct iovec *uiov,
			int cnt, int single)
{
	struct iovec local[IOV_LOCAL], *v;
	struct pipe_map *m;
	struct uipc_wait w;
	struct iter it;
	size_t total;
	ssize_t ret;
	int demoted = 0, no_readers;

	if (ent_end(e) != END_W)
		return -EBADF;
	m = ent_map(e);
	ret = iov_setup(uiov, &cnt, single, local, &v, &total);
	if (ret < 0)
		return ret;
	if (total == 0) {
		ret = 0;
		goto out;
	}
	if (unlikely(ring_held(m))) {
		ret = defer_write(m, fd, v, cnt, total);
		goto out;
	}
	/* A handler's write while its thread copies with the ring unlocked:
	 * what an earlier handler kept for this ring goes in first, in the
	 * room it was kept with, before this write can take that room. */
	if (unlikely(t_defer.n) && t_defer.m == m)
		defer_flush();
	it = (struct iter){ v, cnt, 0, 0 };
	uipc_wait_init(&w, UIPC_SITE_PIPEWR | UIPC_WAIT_NOSOCK);
	uipc_wait_early(&w);
	/* The kernel's count of readers, asked before the lock is taken
	 * (it is a system call): a reader closing meanwhile races with
	 * this write as it would with the kernel's. */
	no_readers = readers_maybe_gone(m, fd) && k_no_readers(fd);
	ret = ring_lock(m);
	if (ret == 0) {
		int locked = 1;

		int post = 0;

		t_writing += total;
		ret = ring_write(m, fd, &it, total, &w, &demoted, &locked,
				 no_readers, &post);
		t_writing -= total;
		if (locked)
			ring_unlock(m);
		if (post)
			token_post(m->r, fd);
	}
	uipc_wait_end(&w);
	if (demoted && ret == 0) {
		ret = kernel_writev(fd, v, cnt);
	} else if (demoted && ret > 0 && it.i < cnt) {
		ssize_t more;

		/* The pipe became the kernel's in the middle: the rest goes
		 * there, as one blocking write would have gone on (the
		 * kernel's O_NONBLOCK, if set, makes it a partial count). */
		v[it.i].iov_base = (char *)v[it.i].iov_base + it.off;
		v[it.i].iov_len -= it.off;
		more = kernel_writev(fd, v + it.i, cnt - it.i);
		if (more > 0)
			ret += more;
	}
out:
	if (v != local)
		free(v);
	return ret;
}

ssize_t uipc_read(int fd, void *buf, size_t count)
{
	int e = errno;
	struct iovec v = { buf, count };
	ssize_t r = pipe_io(fd, &v, 1, 1, readv_on);

	errno = e;
	if (r == -ENOENT)
		return read(fd, buf, count);
	return UIPC_RET(r);
}

ssize_t uipc_readv(int fd, const struct iovec *iov, int iovcnt)
{
	int e = errno;
	ssize_t r = pipe_io(fd, iov, iovcnt, 0, readv_on);

	errno = e;
	if (r == -ENOENT)
		return readv(fd, iov, iovcnt);
	return UIPC_RET(r);
}

ssize_t uipc_write(int fd, const void *buf, size_t count)
{
	int e = errno;
	struct iovec v = { (void *)buf, count };
	ssize_t r = pipe_io(fd, &v, 1, 1, writev_on);

	errno = e;
	if (r == -ENOENT)
		return write(fd, buf, count);
	return UIPC_RET(r);
}

ssize_t uipc_writev(int fd, const struct iovec *iov, int iovcnt)
{
	int e = errno;
	ssize_t r = pipe_io(fd, iov, iovcnt, 0, writev_on);

	errno = e;
	if (r == -ENOENT)
		return writev(fd, iov, iovcnt);
	return UIPC_RET(r);
}

/* ---------------------------------------------------------------------
 * close, dup
 * ------------------------------------------------------------------- */

/* fd, an end of m, is about to stop being ours (close, dup2 over it):
 * our counts drop; the last live holder's last descriptor demotes the
 * ring and removes it.  fd still open. */
static void end_forget(int fd, uintptr_t e)
{
	struct pipe_map *m = ent_map(e);
	int end = ent_end(e), last;
	struct uipc_nsh *h;
	struct uipc_self self;
	int err = 0, dr = 0;

	tab_lock();
	if (tab_get(fd) != e) {
		tab_unlock();
		return;
	}
	tab_set(fd, 0);
	if (end == END_R)
		m->nr--;
	else
		m->nw--;
	last = m->nr == 0 && m->nw == 0;
	tab_unlock();
	h = uipc_ns_get(&err);
	if (!h || ring_lock(m) < 0)
		goto out_put;
	if (!last) {
		if (uipc_proc_self(&self) == 0)
			holder_set(m, &self);
		goto out_unlock;
	}
	if (!others_alive(h, m) && (atomic_load(&m->r->state) != RING_LIVE ||
				    (dr = demote(m, fd, end)) == 0)) {
		char name[64];

		if (m->hidx >= 0)
			holder_drop(m->r, m->hidx);
		m->hidx = -1;
		ring_unlock(m);
		ring_name(name, sizeof(name), m->ino);
		unlinkat(h->dirfd, name, 0);
		goto out_put;
	}
	if (dr == -2)
		goto out_put;	/* the lock is not ours */
	if (m->hidx >= 0 &&
	    atomic_load(&m->r->holder[m->hidx].who) != 0 &&
	    uipc_proc_self(&self) == 0 &&
	    atomic_load(&m->r->holder[m->hidx].who) == who_of(&self))
		holder_drop(m->r, m->hidx);
	m->hidx = -1;
out_unlock:
	ring_unlock(m);
out_put:
	map_put(m);	/* the descriptor's reference */
}

int uipc_close(int fd)
{
	uintptr_t e = tab_get(fd);

	if (e)
		end_forget(fd, e);
	return close(fd);
}

/* newfd became a copy of oldfd (entry e). */
static int dup_done(int newfd, uintptr_t e)
{
	int r;

	if (newfd < 0 || !e || foreign_child())
		return newfd;
	tab_lock();
	r = tab_add(newfd, ent_map(e), ent_end(e));
	tab_unlock();
	if (r < 0) {
		close(newfd);
		errno = -r;
		return -1;
	}
	return newfd;
}

int uipc_dup(int oldfd)
{
	uintptr_t e = op_get(oldfd);
	int r = dup_done(dup(oldfd), e);

	if (e)
		map_put(ent_map(e));
	return r;
}

static int dup_over(int oldfd, int newfd, int flags, int three)
{
	uintptr_t e, old;
	int r;

	if (three && (oldfd == newfd || (flags & ~O_CLOEXEC))) {
		errno = EINVAL;
		return -1;
	}
	if (fcntl(oldfd, F_GETFD) < 0)
		return -1;	/* EBADF, newfd untouched */
	if (oldfd == newfd)
		return newfd;
	e = op_get(oldfd);
	old = tab_get(newfd);
	if (old)
		end_forget(newfd, old);
	r = three ? dup3(oldfd, newfd, flags) : dup2(oldfd, newfd);
	r = dup_done(r, e);
	if (e)
		map_put(ent_map(e));
	return r;
}

int uipc_dup2(int oldfd, int newfd)
{
	return dup_over(oldfd, newfd, 0, 0);
}

int uipc_dup3(int oldfd, int newfd, int flags)
{
	return dup_over(oldfd, newfd, flags, 1);
}

/* ---------------------------------------------------------------------
 * fcntl, ioctl
 * ------------------------------------------------------------------- */

/* pipe_set_size(): the kernel's rounding, its EPERM and its EBUSY. */
static long set_size(struct pipe_map *m, unsigned int arg)
{
	struct uipc_nsh *h;
	struct pipe_geom *g;
	uint64_t size;
	uint32_t slots;
	long ret;
	int err = 0;

	if (arg > (1u << 31))
		return -EINVAL;
	size = arg < PIPE_PAGE ? PIPE_PAGE : arg;
	size = size <= 1 ? 1 : (uint64_t)1 << (64 - __builtin_clzll(size - 1));
	slots = (uint32_t)(size / PIPE_PAGE);
	h = uipc_ns_get(&err);
	if (!h)
		return err;
	if (ring_lock(m) < 0)
		return -EIO;
	/* Slots move: wait for the copies in flight, as the kernel's resize
	 * waits for its pipe's mutex. */
	for (int waits = 0; copies_busy(m, (waits & 63) == 63, 1);)
		if (copy_wait(m, &waits) < 0)
			return -EIO;
	g = geom(m);
	if (slots > g->slots && (int64_t)size > uipc_limit(h, UL_PIPEMAX) &&
	    !uipc_capable(CAP_SYS_RESOURCE)) {
		ret = -EPERM;
		goto out_unlock;
	}
	if (slots > m->max_slots) {
		ret = -EPERM;	/* beyond the ring made at pipe() */
		goto out_unlock;
	}
	if (slots < occupancy(g)) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (slots != g->slots) {
		/* Into the other region, at positions 0.., then one store. */
		struct pipe_geom *ng = &m->r->geom[(m->r->cur & 1) ^ 1];
		uint32_t n = occupancy(g), nreg = g->region ^ 1;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t pos = (g->tail + i) & (g->slots - 1);

			memcpy(page_at(m, nreg, i), page_at(m, g->region, pos),
			       PIPE_PAGE);
			*slot_at(m, nreg, i) = *slot_of(m, g, g->tail + i);
		}
		ng->head = n;
		ng->tail = 0;
		ng->slots = slots;
		ng->region = nreg;
		atomic_thread_fence(memory_order_release);
		m->r->cur = (m->r->cur & 1) ^ 1;	/* the commit */
	}
	ret = (long)slots * PIPE_PAGE;
out_unlock:
	ring_unlock(m);
	return ret;
}

static long pipe_fcntl(int fd, uintptr_t e, int cmd, long arg)
{
	struct pipe_map *m = ent_map(e);
	long r;

	switch (cmd) {
	case F_GETPIPE_SZ:
		if (ring_lock(m) < 0)
			return -EIO;
		r = (long)geom(m)->slots * PIPE_PAGE;
		ring_unlock(m);
		return r;
	case F_SETPIPE_SZ:
		return set_size(m, (unsigned int)arg);
	case F_GETFL:
		r = fcntl(fd, F_GETFL);
		if (r >= 0 && ent_end(e) == END_W) {
			r &= ~O_DIRECT;
			if (RD(m->r->wdirect))
				r |= O_DIRECT;
		}
		return r < 0 ? -errno : r;
	case F_SETFL: {
		int fl;

		r = fcntl(fd, F_SETFL, (int)arg);
		if (r < 0)
			return -errno;
		fl = fcntl(fd, F_GETFL);
		if (ent_end(e) == END_W) {
			m->r->wdirect = (fl & O_DIRECT) != 0;
			m->r->wnonblock = (fl & O_NONBLOCK) != 0;
		} else {
			m->r->rnonblock = (fl & O_NONBLOCK) != 0;
		}
		return r;
	}
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		r = fcntl(fd, cmd, (int)arg);
		return dup_done((int)r, e) < 0 ? -errno : r;
	default:
		r = fcntl(fd, cmd, arg);
		return r < 0 ? -errno : r;
	}
}

int uipc_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg, r;
	uintptr_t e;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	e = op_get(fd);
	if (!e)
		return fcntl(fd, cmd, arg);
	r = UIPC_RET(pipe_fcntl(fd, e, cmd, arg));
	map_put(ent_map(e));
	return (int)r;
}

/* FIONREAD: the bytes in the ring's slots. */
static int ring_fionread(struct pipe_map *m, void *arg)
{
	struct pipe_geom *g;
	int n = 0;

	if (ring_lock(m) < 0)
		return -EIO;
	g = geom(m);
	for (uint32_t i = g->tail; i != g->head; i++)
		n += (int)slot_of(m, g, i)->len;
	ring_unlock(m);
	return uipc_copy_to_user(arg, &n, sizeof(n));
}

int uipc_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	uintptr_t e;
	int r;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	e = request == FIONREAD || request == FIONBIO ? op_get(fd) : 0;
	if (!e)
		return ioctl(fd, request, arg);
	if (request == FIONBIO || atomic_load(&ent_map(e)->r->state) != RING_LIVE)
		r = ioctl(fd, request, arg);
	else
		r = (int)UIPC_RET(ring_fionread(ent_map(e), arg));
	if (request == FIONBIO && r == 0) {
		/* The kernel's word for the flag, as F_SETFL's. */
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			*(ent_end(e) == END_R ? &ent_map(e)->r->rnonblock
					      : &ent_map(e)->r->wnonblock) =
				(fl & O_NONBLOCK) != 0;
	}
	map_put(ent_map(e));
	return r;
}

/* ---------------------------------------------------------------------
 * poll
 * ------------------------------------------------------------------- */

/* What the ring says of end e now; counts the caller as a watcher of the
 * events it asks for (d: +1 before the kernel's poll, -1 after, 0 just to
 * look), and readies the kernel pipe for the kernel's poll to see. */
static short ring_events(int fd, uintptr_t e, short want, int d)
{
	struct pipe_map *m = ent_map(e);
	struct pipe_ring *r = m->r;
	struct pipe_geom *g;
	short ev = 0;

	if (atomic_load(&r->state) != RING_LIVE || ring_lock(m) < 0)
		return 0;
	g = geom(m);
	if (ent_end(e) == END_R) {
		if (occupancy(g) > 0)
			ev |= POLLIN | POLLRDNORM;
		if (d && (want & (POLLIN | POLLRDNORM))) {
			r->rwatch += (uint32_t)d;
			if (d > 0 && occupancy(g) == 0) {
				if (r->kbytes)
					k_take(r, fd, r->kbytes);
				token_take(r, fd);
			}
		}
	} else {
		if (occupancy(g) < g->slots)
			ev |= POLLOUT | POLLWRNORM;
		if (d && (want & (POLLOUT | POLLWRNORM))) {
			r->wwatch += (uint32_t)d;
			if (d > 0 && occupancy(g) >= g->slots && !k_no_readers(fd))
				k_fill(r, fd);
		}
	}
	ring_unlock(m);
	return ev;
}

/* One look: the ring's events on its ends, the kernel's on the rest and
 * its POLLHUP and POLLERR on ours.  Returns what poll(2) returns. */
static int poll_once(struct pollfd *k, const uintptr_t *ents, nfds_t nfds,
		     int left)
{
	int early = 0, n, ready = 0;

	for (nfds_t i = 0; i < nfds; i++)
		if (ents[i] && (ring_events(k[i].fd, ents[i], k[i].events, 1) &
				k[i].events))
			early = 1;
	n = poll(k, nfds, early ? 0 : left);
	for (nfds_t i = 0; i < nfds; i++)
		if (ents[i])
			ring_events(k[i].fd, ents[i], k[i].events, -1);
	if (n < 0)
		return -errno;
	for (nfds_t i = 0; i < nfds; i++) {
		if (ents[i] && atomic_load(&ent_map(ents[i])->r->state) ==
				       RING_LIVE) {
			short ev = ring_events(k[i].fd, ents[i], 0, 0);

			k[i].revents = (short)((k[i].revents &
						~(POLLIN | POLLRDNORM | POLLOUT |
						  POLLWRNORM)) | (ev & k[i].events));
		}
		if (k[i].revents)
			ready++;
	}
	return ready;
}

static int do_poll(struct pollfd *fds, nfds_t nfds, int timeout,
		   struct pollfd *k, uintptr_t *ents)
{
	int64_t end_ns = timeout > 0 ? uipc_now_ns() + (int64_t)timeout * 1000000 : 0;
	int ours = 0, r;

	if (nfds && uipc_copy_from_user(k, fds, nfds * sizeof(*k)) < 0)
		return -EFAULT;
	for (nfds_t i = 0; i < nfds; i++)
		if ((ents[i] = op_get(k[i].fd)) != 0)
			ours++;
	if (!ours) {
		r = poll(fds, nfds, timeout);
		return r < 0 ? -errno : r;
	}
	for (;;) {
		int left = timeout;

		if (timeout > 0) {
			int64_t rem = end_ns - uipc_now_ns();

			left = rem > 0 ? (int)((rem + 999999) / 1000000) : 0;
		}
		/* A token left by a reader that emptied the ring meanwhile
		 * can wake the kernel's poll for nothing: look again. */
		r = poll_once(k, ents, nfds, left);
		if (r != 0 || timeout == 0 ||
		    (timeout > 0 && uipc_now_ns() >= end_ns))
			break;
	}
	if (r >= 0)
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = k[i].revents;
	return r;
}

int uipc_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct pollfd *k;
	uintptr_t *ents;
	int r;

	if (nfds > (nfds_t)INT_MAX / sizeof(*k))
		return poll(fds, nfds, timeout);
	k = malloc((nfds ? nfds : 1) * sizeof(*k));
	ents = calloc(nfds ? nfds : 1, sizeof(*ents));
	if (!k || !ents) {
		free(k);
		free(ents);
		errno = ENOMEM;
		return -1;
	}
	r = do_poll(fds, nfds, timeout, k, ents);
	for (nfds_t i = 0; i < nfds; i++)
		if (ents[i])
			map_put(ent_map(ents[i]));
	free(k);
	free(ents);
	return (int)UIPC_RET(r);
}

/* ---------------------------------------------------------------------
 * fork, exit work, the tool's view
 * ------------------------------------------------------------------- */

/* The child holds every end its parent held: its own records. */
static void pipe_atfork_child(void)
{
	atomic_store(&g_pid, getpid());
	/* Forked in a handler: the rings its thread held are the parent's
	 * (their lock words name it), and so are the handler's kept bytes. */
	t_nheld = 0;
	t_copying = 0;
	t_writing = 0;
	if (t_defer.n) {
		t_defer.n = 0;
		atomic_fetch_sub(&t_defer.m->refs, 1);
		t_defer.m = NULL;
	}
	/* Another thread of the parent may have held it. */
	pthread_mutex_init(&g_w.lock, NULL);
	pthread_mutex_init(&g_tab_lock, NULL);
	for (struct pipe_map *m = g_maps; m; m = m->next) {
		m->hidx = -1;
		if (m->nr || m->nw)
			holder_join(m, 0);
	}
}

/* exit(): every end this process holds is closed by the kernel right
 * after; the last holder's ring is demoted and removed now, as at
 * uipc_close (an _exit or a death leaves it to the next closer or to exit
 * work). */
static void pipe_atexit(void)
{
	for (int c = 0; c < TAB_CHUNKS; c++) {
		_Atomic uintptr_t *ch = atomic_load(&g_fds[c]);

		if (!ch)
			continue;
		for (int i = 0; i < TAB_CHUNK; i++) {
			uintptr_t e = atomic_load(&ch[i]);

			if (e && e != TAB_NOT)
				end_forget(c * TAB_CHUNK + i, e);
		}
	}
}

/* ---------------------------------------------------------------------
 * Hand-offs: an end about to reach a program that may not use uipc (an
 * exec, a descriptor sent over a socket) takes its pipe to the kernel's
 * data path for good, whoever else uses it: that program reads and
 * writes the kernel pipe, so the bytes must be there.
 * ------------------------------------------------------------------- */

static void handoff(struct pipe_map *m, int fd, int end)
{
	/* A try fails while a token is on its way or the kernel pipe cannot
	 * take the ring's bytes yet: moments. */
	for (int tries = 0; tries < 200; tries++) {
		int r;

		if (atomic_load(&m->r->state) != RING_LIVE || ring_lock(m) < 0)
			return;
		if (atomic_load(&m->r->state) != RING_LIVE) {
			ring_unlock(m);
			return;
		}
		r = demote(m, fd, end);
		if (r != -2)
			ring_unlock(m);
		if (r == 0) {
			/* The ring is of no more use to anyone: its users
			 * that have it mapped see it demoted, the others find
			 * a plain kernel pipe; and the holder that takes the
			 * pipe on (an exec'd image) would not remove it. */
			struct uipc_nsh *h;
			char name[64];
			int err = 0;

			if ((h = uipc_ns_get(&err)) != NULL) {
				ring_name(name, sizeof(name), m->ino);
				unlinkat(h->dirfd, name, 0);
			}
			return;
		}
		usleep(1000);
	}
}

int uipc_pipe_any(void)
{
	return __atomic_load_n(&g_maps, __ATOMIC_RELAXED) != NULL;
}

/* Descriptor fd, if it is an end of a pipe we have mapped (made by uipc
 * or by the C library's dup2): handed off. */
static void handoff_fd(int fd, dev_t pdev)
{
	struct pipe_map *m;
	struct stat st;
	int acc;

	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || st.st_dev != pdev)
		return;
	acc = fcntl(fd, F_GETFL);
	if (acc < 0 || (acc & O_ACCMODE) == O_RDWR)
		return;
	tab_lock();
	for (m = g_maps; m && m->ino != (uint64_t)st.st_ino; m = m->next)
		;
	if (m)
		atomic_fetch_add(&m->refs, 1);
	tab_unlock();
	if (!m)
		return;
	handoff(m, fd, (acc & O_ACCMODE) == O_RDONLY ? END_R : END_W);
	map_put(m);
}

void uipc_pipe_handoff(int fd)
{
	if (uipc_pipe_any())
		handoff_fd(fd, pipefs_dev());
}

/* ---------------------------------------------------------------------
 * For the shim's stand-ins (`uipc run --pipes`, shim/pipes.c): a
 * descriptor that is no uipc pipe end gets -ENOENT or nothing done, and
 * the stand-in then calls the C library's own.
 * ------------------------------------------------------------------- */

void uipc_pipe_shim(void)
{
	g_shim = 1;
	/* Chunk 0 made now: tab_not, which a handler may reach, allocates
	 * nothing. */
	tab_lock();
	if (!atomic_load(&g_fds[0])) {
		_Atomic uintptr_t *c = calloc(TAB_CHUNK, sizeof(*c));
		if (c)
			atomic_store(&g_fds[0], c);
	}
	tab_unlock();
}

int uipc_pipe_is_end(int fd)
{
	return lookup(fd) != 0;
}

ssize_t uipc_pipe_rw(int fd, const struct iovec *iov, int cnt, int single,
		     int wr)
{
	return pipe_io(fd, iov, cnt, single, wr ? writev_on : readv_on);
}

/* fd is about to be closed (or dup2()ed over). */
void uipc_pipe_closing(int fd)
{
	uintptr_t e = tab_get(fd);

	if (e && !foreign_child())
		end_forget(fd, e);
}

/* close_range(first, last) and closefrom(first) are about to close
 * these. */
void uipc_pipe_closing_range(unsigned int first, unsigned int last)
{
	unsigned int top = TAB_CHUNK * TAB_CHUNKS - 1;

	if (foreign_child() || first > top)
		return;
	if (last > top)
		last = top;
	for (unsigned int fd = first; fd <= last; fd++) {
		uintptr_t e;

		if (!atomic_load(&g_fds[fd / TAB_CHUNK])) {
			fd |= TAB_CHUNK - 1;	/* the chunk's last */
			if (fd >= last)
				break;
			continue;
		}
		if ((e = tab_get((int)fd)) != 0)
			end_forget((int)fd, e);
	}
}

/* _exit and _Exit (the shim's): the last closer's work, as exit() does
 * it, for the process's ends (not a vfork child's: they are its
 * parent's). */
void uipc_pipe_exiting(void)
{
	if (uipc_pipe_any() && !foreign_child())
		pipe_atexit();
}

/* fd is new and may be a uipc end the table does not know yet (open,
 * recvmsg). */
void uipc_pipe_unknown(int fd)
{
	_Atomic uintptr_t *c = tab_slot(fd);
	uintptr_t not = TAB_NOT;

	if (c)
		atomic_compare_exchange_strong(c, &not, 0);
}

/* fd's pipe, if ours, goes to the kernel's path for good: something is
 * about to use it that uipc does not stand in for (select, epoll,
 * splice, a stdio stream).  With forget, fd also stops being ours (a
 * stream's fclose will close it where the shim does not see). */
void uipc_pipe_kernel(int fd, int forget)
{
	uintptr_t e = op_get(fd);

	if (!e)
		return;
	if (!foreign_child()) {
		handoff(ent_map(e), fd, ent_end(e));
		if (forget) {
			end_forget(fd, e);
			tab_not(fd);
		}
	}
	map_put(ent_map(e));
}

int uipc_pipe_dup2(int oldfd, int newfd, int flags, int three)
{
	if (foreign_child())
		return three ? dup3(oldfd, newfd, flags) : dup2(oldfd, newfd);
	return dup_over(oldfd, newfd, flags, three);
}

/* Every descriptor the exec keeps is looked at, not only those uipc
 * made: a program may have dup2()ed an end with the C library's call.
 * No malloc (a vfork child may be here): getdents64 into the stack. */
void uipc_pipe_before_exec(void)
{
	char buf[4096];
	dev_t pdev;
	int dfd;
	long n;

	if (!uipc_pipe_any())
		return;
	pdev = pipefs_dev();
	dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 {
				uint64_t d_ino;
				int64_t d_off;
				unsigned short d_reclen;
				unsigned char d_type;
				char d_name[];
			} *d = (void *)(buf + off);
			int fd, fl;
			char *endp;

			off += d->d_reclen;
			fd = (int)strtol(d->d_name, &endp, 10);
			if (*endp || endp == d->d_name || fd == dfd)
				continue;
			fl = fcntl(fd, F_GETFD);
			if (fl >= 0 && !(fl & FD_CLOEXEC))
				handoff_fd(fd, pdev);
		}
	}
	close(dfd);
}

/* This process is about to exec: the ends the exec closes (FD_CLOEXEC)
 * are closed as uipc_close closes them, so that the last closer's work is
 * done (a vfork child's are its parent's, which keeps them). */
void uipc_pipe_exec_self(void)
{
	if (!uipc_pipe_any() || foreign_child())
		return;
	for (int c = 0; c < TAB_CHUNKS; c++) {
		_Atomic uintptr_t *ch = atomic_load(&g_fds[c]);

		for (int i = 0; ch && i < TAB_CHUNK; i++) {
			uintptr_t e = atomic_load(&ch[i]);
			int fl;

			if (e && e != TAB_NOT &&
			    (fl = fcntl(c * TAB_CHUNK + i, F_GETFD)) >= 0 &&
			    (fl & FD_CLOEXEC))
				end_forget(c * TAB_CHUNK + i, e);
		}
	}
}

/* Calls fn(h, m, name) for each ring file of the namespace we can map. */
static void each_ring(struct uipc_nsh *h,
		      int (*fn)(struct uipc_nsh *, struct pipe_map *, const char *,
				void *), void *arg)
{
	DIR *d = uipc_ns_opendir(h);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long long ino;
		char *end;
		struct pipe_map *m;
		struct stat st;
		int fd;

		if (strncmp(de->d_name, "pipe.", 5))
			continue;
		ino = strtoull(de->d_name + 5, &end, 10);
		if (*end || end == de->d_name + 5)
			continue;
		fd = uipc_ns_openat(h, de->d_name, O_RDWR);
		if (fd < 0)
			continue;
		/* A ring is its creator's, mode 0600: one of another user
		 * that we can open is a plant (only root opens theirs). */
		if (fstat(fd, &st) < 0 || (geteuid() != 0 && st.st_uid != geteuid()) ||
		    map_ring_fd(fd, ino, st.st_uid, &m) < 0) {
			close(fd);
			continue;
		}
		close(fd);
		if (fn(h, m, de->d_name, arg))
			break;
	}
	closedir(d);
}

int uipc_pipe_held(uint64_t ino)
{
	char want[48], path[600], link[64];
	DIR *p = opendir("/proc");
	struct dirent *de;
	int held = 0;

	if (!p)
		return 1;
	snprintf(want, sizeof(want), "pipe:[%llu]", (unsigned long long)ino);
	while (!held && (de = readdir(p))) {
		DIR *f;
		struct dirent *fe;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		f = opendir(path);
		if (!f) {
			if (errno == EACCES)
				held = 1;	/* someone we cannot see */
			continue;
		}
		while ((fe = readdir(f))) {
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name,
				 fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = 0;
				if (!strcmp(link, want)) {
					held = 1;
					break;
				}
			}
		}
		closedir(f);
	}
	closedir(p);
	return held;
}

struct exit_arg {
	uint32_t slot, gen;
};

static int ring_exit(struct uipc_nsh *h, struct pipe_map *m, const char *name,
		     void *arg)
{
	struct exit_arg *a = arg;
	struct pipe_ring *r = m->r;
	uint64_t who = (uint64_t)a->slot << 32 | a->gen;
	int found = 0, left = 0;

	if (ring_lock_brief(m) < 0) {
		map_free(m);
		return 0;
	}
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		uint64_t w = atomic_load(&r->holder[i].who);

		if (w == who && !uipc_proc_alive(h, a->slot, a->gen,
						 RD(r->holder[i].pid))) {
			holder_drop(r, i);
			found = 1;
		} else if (w) {
			left = 1;
		}
	}
	ring_unlock(m);
	/* Its last holder we knew of is gone: the ring goes with the kernel
	 * pipe, once nobody holds that (an exec'd or unknown holder would
	 * find it). */
	if (found && !left && (atomic_load(&r->state) != RING_LIVE ||
			       !uipc_pipe_held(m->ino)))
		unlinkat(h->dirfd, name, 0);
	map_free(m);
	return 0;
}

void uipc_pipe_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	struct exit_arg a = { slot, gen };

	each_ring(h, ring_exit, &a);
}

/* A ring whose recorded holders are all gone and whose kernel pipe no
 * process we can see holds: what deaths left behind. */
static int ring_sweep(struct uipc_nsh *h, struct pipe_map *m, const char *name,
		      void *arg)
{
	int *n = arg, live = 0;

	if (ring_lock_brief(m) == 0) {
		live = others_alive(h, m);
		ring_unlock(m);
	} else {
		live = 1;	/* its lock kept: in use, or a plant's */
	}
	if (!live && (atomic_load(&m->r->state) != RING_LIVE ||
		      !uipc_pipe_held(m->ino)) && unlinkat(h->dirfd, name, 0) == 0)
		(*n)++;
	map_free(m);
	return 0;
}

int uipc_pipe_sweep(struct uipc_nsh *h)
{
	int n = 0;

	each_ring(h, ring_sweep, &n);
	return n;
}

struct list_arg {
	int (*fn)(const struct uipc_pipe_info *, void *);
	void *arg;
	int n;
};

static int ring_info(struct uipc_nsh *h, struct pipe_map *m, const char *name,
		     void *arg)
{
	struct list_arg *a = arg;
	struct pipe_ring *r = m->r;
	struct uipc_pipe_info pi;
	int stop;

	(void)h;
	(void)name;
	memset(&pi, 0, sizeof(pi));
	if (ring_lock_brief(m) < 0) {
		map_free(m);
		return 0;
	}
	{
		struct pipe_geom *g = geom(m);

		pi.size = g->slots * PIPE_PAGE;
		for (uint32_t i = g->tail; i != g->head; i++)
			pi.queued += slot_of(m, g, i)->len;
	}
	pi.ino = m->ino;
	pi.uid = RD(r->uid);
	pi.packet = !!RD(r->wdirect);
	pi.demoted = atomic_load(&r->state) != RING_LIVE;
	pi.nrsleep = (int)RD(r->rsleep);
	pi.nwsleep = (int)RD(r->wsleep);
	pi.bytes = RD(r->written);
	for (int i = 0; i < PIPE_HOLDERS; i++) {
		uint32_t ends = RD(r->holder[i].ends);

		if (!atomic_load(&r->holder[i].who))
			continue;
		if (pi.nholders < 16) {
			pi.holder[pi.nholders] = RD(r->holder[i].pid);
			pi.holder_end[pi.nholders] =
				ends == (END_R | END_W) ? 'b' : ends == END_R ? 'r' : 'w';
		}
		pi.nholders++;
	}
	ring_unlock(m);
	map_free(m);
	a->n++;
	stop = a->fn(&pi, a->arg);
	return stop;
}

int uipc_pipe_list(int (*fn)(const struct uipc_pipe_info *, void *), void *arg)
{
	struct list_arg a = { fn, arg, 0 };
	struct uipc_nsh *h;
	int err = 0;

	h = uipc_ns_get(&err);
	if (!h)
		return err;
	each_ring(h, ring_info, &a);
	return a.n;
}
