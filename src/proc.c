/*
 * proc.c: the process table of a namespace, and exit work.
 *
 * Implementation notes
 *
 * A process registers the first time it needs to be known (it is about to
 * block, or leaves state behind that must be undone at its death): it finds
 * a table entry whose liveness lock it can take, F_SETLK on one byte of the
 * namespace file, and stamps the entry with a new generation.  The lock is
 * a POSIX record lock on a close-on-exec descriptor, so the kernel drops it
 * exactly when the process dies or execs, and never passes it to a child:
 * a forked child registers on its own.  Whether (slot, gen) is alive is then
 * a question anyone can ask with F_GETLK, without a daemon.
 *
 * Exit work (waiter records, reservations, and later SEM_UNDO and shm
 * attach counts) is done by whoever finds the dead process: lazily by an
 * object that meets one of its records, by a process claiming its table
 * entry, and by `uipc reap`.  Exit work is idempotent, keyed by (slot, gen),
 * so two finders racing do no harm; the entry is freed with one CAS.
 *
 * Asking with F_GETLK costs a system call, too much for semop's fast path,
 * which must know whether the processes holding SEM_UNDO adjustments on a
 * set still live.  So the registering thread also locks `life`, a robust
 * process-shared mutex in the entry, and never unlocks it.  When that thread
 * ends, the kernel's robust-list walk (at death, and at exec) clears the
 * owner's tid from the lock word and sets FUTEX_OWNER_DIED, before the
 * parent can reap the process.  A lock word with a tid in it therefore
 * proves life with one load.  A word without one proves nothing (the thread
 * may have ended while the process lives on), and F_GETLK decides; the
 * process itself re-arms `life` on its next call.
 *
 * Caveat: POSIX record locks are also released when the process closes any
 * descriptor of the namespace file; a program that closes every descriptor
 * it does not know (closefrom) would look dead to F_GETLK.  uipc keeps its
 * descriptor close-on-exec and never closes it.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct uipc_self g_self;
static _Atomic int g_registered;
static pthread_mutex_t g_self_lock = PTHREAD_MUTEX_INITIALIZER;

/* The tid part of a robust mutex's lock word (the kernel's FUTEX_TID_MASK). */
#define LIFE_TID_MASK 0x3fffffffu
#define LIFE_WAITERS 0x80000000u	/* FUTEX_WAITERS */
#define LIFE_OWNER_DIED 0x40000000u	/* FUTEX_OWNER_DIED */

/* The tid that holds p->life, or 0: died, never armed, or unknown. */
static uint32_t life_tid(struct uipc_proc *p)
{
#ifdef __GLIBC__
	/* glibc keeps the kernel's futex word first in pthread_mutex_t. */
	return (uint32_t)atomic_load((_Atomic int *)(void *)&p->life) &
	       LIFE_TID_MASK;
#else
	(void)p;
	return 0;
#endif
}

static uint32_t life_word(struct uipc_proc *p)
{
#ifdef __GLIBC__
	return (uint32_t)atomic_load((_Atomic int *)(void *)&p->life);
#else
	(void)p;
	return 0;
#endif
}

/* 1 if process pid is gone or on its way out (PF_EXITING, or a zombie). */
static int pid_exiting(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long flags;
	char state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty_nr tpgid flags */
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return 0;
	return state == 'Z' || state == 'X' || (flags & 0x4 /* PF_EXITING */);
}

/* Locks p->life for good from the calling thread; see the notes above. */
static void life_arm(struct uipc_proc *p)
{
	int r = pthread_mutex_trylock(&p->life);

	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&p->life);
}

static uint64_t stamp_gen(uint64_t s) { return s >> 1; }
static int stamp_live(uint64_t s) { return (int)(s & 1); }

static int lock_slot(struct uipc_nsh *h, uint32_t slot, int cmd, short type,
		     struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = proc_lock_off(slot);
	fl->l_len = 1;
	return fcntl(h->nsfd, cmd, fl);
}

/* Exit work for the process that was (slot, gen). */
static void exit_work(struct uipc_nsh *h, uint32_t slot, uint32_t gen,
		      uint32_t uses)
{
	if (uses & UIPC_USE_MSGWAIT)
		uipc_msg_exit(h, slot, gen);
	if (uses & UIPC_USE_SHM)
		uipc_shm_exit(h, slot, gen);
}

/* Frees entry `slot` if it still holds the dead (gen); exit work first. */
static void reap(struct uipc_nsh *h, uint32_t slot, uint64_t stamp)
{
	struct uipc_proc *p = &h->ns->proc[slot];

	exit_work(h, slot, (uint32_t)stamp_gen(stamp), atomic_load(&p->uses));
	atomic_compare_exchange_strong(&p->stamp, &stamp,
				       (stamp_gen(stamp) + 1) << 1);
}

static int try_claim(struct uipc_nsh *h, uint32_t slot)
{
	struct uipc_proc *p = &h->ns->proc[slot];
	struct flock fl;
	uint64_t old, new;

	if (lock_slot(h, slot, F_SETLK, F_WRLCK, &fl) < 0)
		return 0;
	if (life_tid(p)) {
		/* A live thread still holds its life mutex: the owner only
		 * lost its record lock (it closed our descriptor). */
		lock_slot(h, slot, F_SETLK, F_UNLCK, &fl);
		return 0;
	}
	/* The lock is ours: whoever had this entry is dead. */
	old = atomic_load(&p->stamp);
	if (stamp_live(old))
		exit_work(h, slot, (uint32_t)stamp_gen(old), atomic_load(&p->uses));
	p->pid = uipc_getpid();
	p->uid = getuid();
	p->gid = getgid();
	atomic_store(&p->uses, 0);
	p->since = uipc_now_ns();
	life_arm(p);
	do {
		new = (stamp_gen(old) + 1) << 1 | 1;
	} while (!atomic_compare_exchange_weak(&p->stamp, &old, new));
	g_self.slot = slot;
	g_self.gen = (uint32_t)stamp_gen(new);
	g_self.pid = p->pid;
	return 1;
}

int uipc_proc_self(struct uipc_self *out)
{
	struct uipc_nsh *h;
	uint32_t start;
	int r = 0;

	if (likely(atomic_load_explicit(&g_registered, memory_order_acquire))) {
		*out = g_self;
		h = uipc_ns_get(&r);
		/* The thread that armed our life mutex may have ended. */
		if (h && unlikely(!life_tid(&h->ns->proc[g_self.slot])))
			life_arm(&h->ns->proc[g_self.slot]);
		return 0;
	}
	h = uipc_ns_get(&r);
	if (!h)
		return r;
	pthread_mutex_lock(&g_self_lock);
	if (atomic_load(&g_registered))
		goto out;
	start = (uint32_t)getpid() % UIPC_MAXPROC;
	/* First entries marked free, then any whose owner may be dead. */
	for (int pass = 0; pass < 2 && !atomic_load(&g_registered); pass++)
		for (uint32_t i = 0; i < UIPC_MAXPROC; i++) {
			uint32_t s = (start + i) % UIPC_MAXPROC;

			if (pass == 0 && stamp_live(atomic_load(&h->ns->proc[s].stamp)))
				continue;
			if (try_claim(h, s)) {
				atomic_store(&g_registered, 1);
				break;
			}
		}
	if (!atomic_load(&g_registered))
		r = -ENOSPC;
out:
	pthread_mutex_unlock(&g_self_lock);
	if (r == 0)
		*out = g_self;
	return r;
}

void uipc_proc_note(uint32_t use)
{
	struct uipc_nsh *h;
	int r;

	if (!atomic_load(&g_registered) || !(h = uipc_ns_get(&r)))
		return;
	atomic_fetch_or(&h->ns->proc[g_self.slot].uses, use);
}

int uipc_proc_alive(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	struct flock fl;
	uint64_t s;

	if (slot >= UIPC_MAXPROC)
		return 0;
	s = atomic_load(&h->ns->proc[slot].stamp);
	if (!stamp_live(s) || (uint32_t)stamp_gen(s) != gen)
		return 0;
	if (atomic_load(&g_registered) && slot == g_self.slot && gen == g_self.gen)
		return 1;	/* F_GETLK does not report our own lock */
	if (life_tid(&h->ns->proc[slot]))
		return 1;
	if (lock_slot(h, slot, F_GETLK, F_WRLCK, &fl) < 0)
		return 1;	/* cannot tell: assume alive */
	if (fl.l_type == F_UNLCK)
		return 0;
	/* The kernel marks the life mutex in exit_mm() and drops the record
	 * lock later, in exit_files(): a process between the two is dying. */
	return !(life_word(&h->ns->proc[slot]) & LIFE_OWNER_DIED) ||
	       !pid_exiting(h->ns->proc[slot].pid);
}

_Atomic uint32_t *uipc_proc_death_watch(struct uipc_nsh *h, uint32_t slot,
					uint32_t gen, uint32_t *val)
{
#ifdef __GLIBC__
	struct uipc_proc *p;
	_Atomic uint32_t *w;
	uint64_t s;
	uint32_t v;

	if (slot >= UIPC_MAXPROC)
		return NULL;
	p = &h->ns->proc[slot];
	s = atomic_load(&p->stamp);
	if (!stamp_live(s) || (uint32_t)stamp_gen(s) != gen)
		return NULL;
	w = (_Atomic uint32_t *)(void *)&p->life;
	v = atomic_load(w);
	/* The kernel wakes a waiter at the owner's death only if the word
	 * says there are waiters (FUTEX_WAITERS); the owner never unlocks,
	 * so the bit costs it nothing. */
	while (!(v & LIFE_WAITERS)) {
		if (!(v & LIFE_TID_MASK))
			return NULL;
		if (atomic_compare_exchange_weak(w, &v, v | LIFE_WAITERS))
			v |= LIFE_WAITERS;
	}
	if (!(v & LIFE_TID_MASK))
		return NULL;
	*val = v;
	return w;
#else
	(void)h; (void)slot; (void)gen; (void)val;
	return NULL;
#endif
}

int uipc_proc_reap_all(struct uipc_nsh *h)
{
	int n = 0;

	for (uint32_t s = 0; s < UIPC_MAXPROC; s++) {
		uint64_t st = atomic_load(&h->ns->proc[s].stamp);

		if (!stamp_live(st) ||
		    uipc_proc_alive(h, s, (uint32_t)stamp_gen(st)))
			continue;
		reap(h, s, st);
		n++;
	}
	return n;
}

void uipc_proc_forget(void)
{
	pthread_mutex_init(&g_self_lock, NULL);
	atomic_store(&g_registered, 0);
}
