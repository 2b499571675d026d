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
 * A killed process keeps its record lock until the kernel closes its files
 * (exit_files), a little after its memory is gone: a finder that looks in
 * between takes it for alive, and the next look sees it dead.
 *
 * Caveat: POSIX record locks are also released when the process closes any
 * descriptor of the namespace file; a program that closes every descriptor
 * it does not know (closefrom) would look dead to F_GETLK.  uipc keeps its
 * descriptor close-on-exec and never closes it.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static struct uipc_self g_self;
static _Atomic int g_registered;
static pthread_mutex_t g_self_lock = PTHREAD_MUTEX_INITIALIZER;

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
	/* The lock is ours: whoever had this entry is dead. */
	old = atomic_load(&p->stamp);
	if (stamp_live(old))
		exit_work(h, slot, (uint32_t)stamp_gen(old), atomic_load(&p->uses));
	p->pid = uipc_getpid();
	p->uid = getuid();
	p->gid = getgid();
	atomic_store(&p->uses, 0);
	p->since = uipc_now_ns();
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
	if (lock_slot(h, slot, F_GETLK, F_WRLCK, &fl) < 0)
		return 1;	/* cannot tell: assume alive */
	return fl.l_type != F_UNLCK;
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
