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
 * The table is writable by every user of the namespace, so what it says
 * (a stamp, a pid) is a hint.  Whether a record's process lives is asked
 * of the kernel with the record's own (slot, gen, pid): a write lock on
 * the byte life_off(slot, gen), which only the process that registered as
 * (slot, gen) can hold, held by that pid.  Exit work drops a record only
 * after asking that for the record itself, so a forged stamp cannot make
 * anyone undo a live process's records.
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

/* The byte whose write lock says "the registration (slot, gen) lives":
 * one per generation, far past the end of the file (a record lock needs
 * no data), so that a later registrant of the slot (a pid used again
 * included) never holds the lock of an earlier one. */
static off_t life_off(uint32_t slot, uint32_t gen)
{
	return ((off_t)1 << 48) + ((off_t)slot << 32) + (off_t)gen;
}

static int lock_at(struct uipc_nsh *h, off_t off, int cmd, short type,
		   struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = off;
	fl->l_len = 1;
	return fcntl(h->nsfd, cmd, fl);
}

void uipc_proc_relock(void)
{
	struct uipc_nsh *h;
	struct flock fl;
	int r = 0;

	h = uipc_ns_get(&r);
	if (!h || !atomic_load(&g_registered) || g_self.pid != uipc_getpid())
		return;
	lock_at(h, proc_lock_off(g_self.slot), F_SETLK, F_WRLCK, &fl);
	lock_at(h, life_off(g_self.slot, g_self.gen), F_SETLK, F_WRLCK, &fl);
}

/* Exit work for the process that was (slot, gen). */
static void exit_work(struct uipc_nsh *h, uint32_t slot, uint32_t gen,
		      uint32_t uses)
{
	if (uses & UIPC_USE_MSGWAIT)
		uipc_msg_exit(h, slot, gen);
	if (uses & UIPC_USE_SHM)
		uipc_shm_exit(h, slot, gen);
	if (uses & UIPC_USE_PIPE)
		uipc_pipe_exit(h, slot, gen);
	if (uses & UIPC_USE_SPARE)
		uipc_spare_exit(h, slot, gen);
	if (uses & UIPC_USE_SIG)
		uipc_sig_exit(h, slot, gen);
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
	uint64_t old, gen;
	int tries;

	if (lock_at(h, proc_lock_off(slot), F_SETLK, F_WRLCK, &fl) < 0)
		return 0;
	/* The entry's lock is ours: whoever had this entry is dead.  The
	 * stamp's generation is a hint (anyone may write it); the one we
	 * take is the first whose life byte nobody holds. */
	old = atomic_load(&p->stamp);
	if (stamp_live(old))
		exit_work(h, slot, (uint32_t)stamp_gen(old), atomic_load(&p->uses));
	gen = stamp_gen(old) + 1;
	for (tries = 0; tries < 8; tries++, gen++)
		if (lock_at(h, life_off(slot, (uint32_t)gen), F_SETLK, F_WRLCK,
			    &fl) == 0)
			break;
	if (tries == 8) {
		lock_at(h, proc_lock_off(slot), F_SETLK, F_UNLCK, &fl);
		return 0;
	}
	p->pid = uipc_getpid();
	p->uid = getuid();
	p->gid = getgid();
	atomic_store(&p->uses, 0);
	p->since = uipc_now_ns();
	atomic_store(&p->stamp, (gen & 0xffffffffu) << 1 | 1);
	g_self.slot = slot;
	g_self.gen = (uint32_t)gen;
	g_self.pid = p->pid;
	g_self.start = uipc_pid_start(p->pid);
	return 1;
}

int uipc_proc_self(struct uipc_self *out)
{
	struct uipc_nsh *h;
	sigset_t mask;
	uint32_t start;
	int r = 0;

	if (likely(atomic_load_explicit(&g_registered, memory_order_acquire))) {
		*out = g_self;
		return 0;
	}
	h = uipc_ns_get(&r);
	if (!h)
		return r;
	uipc_mutex_lock_quiet(&g_self_lock, &mask);
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
	uipc_mutex_unlock_quiet(&g_self_lock, &mask);
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

/* The pid holding (slot, gen)'s life lock, 0 if none, -1 if unknown. */
static pid_t life_holder(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	struct flock fl;

	if (atomic_load(&g_registered) && slot == g_self.slot &&
	    gen == g_self.gen)
		return g_self.pid;	/* F_GETLK does not report our own lock */
	if (lock_at(h, life_off(slot, gen), F_GETLK, F_WRLCK, &fl) < 0)
		return -1;
	return fl.l_type == F_WRLCK ? fl.l_pid : 0;
}

int uipc_proc_alive(struct uipc_nsh *h, uint32_t slot, uint32_t gen, pid_t pid)
{
	pid_t holder;

	if (slot >= UIPC_MAXPROC)
		return 0;
	holder = life_holder(h, slot, gen);
	/* Only that process can hold that write lock: the kernel says so,
	 * whatever the table says (cannot tell: assume alive). */
	return holder < 0 || (holder > 0 && holder == pid);
}

int uipc_proc_gen_alive(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	return slot >= UIPC_MAXPROC ? 0 : life_holder(h, slot, gen) != 0;
}

int uipc_proc_gone(struct uipc_nsh *h, uint32_t slot, uint32_t gen, pid_t pid,
		   uint32_t start)
{
	/* An exec drops the lock (its descriptor is close-on-exec) and so
	 * does closing every descriptor: the process itself decides. */
	return !uipc_proc_alive(h, slot, gen, pid) && uipc_pid_gone(pid, start);
}

int uipc_proc_reap_all(struct uipc_nsh *h)
{
	int n = 0;

	for (uint32_t s = 0; s < UIPC_MAXPROC; s++) {
		uint64_t st = atomic_load(&h->ns->proc[s].stamp);

		if (!stamp_live(st) ||
		    uipc_proc_alive(h, s, (uint32_t)stamp_gen(st),
				    h->ns->proc[s].pid))
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
