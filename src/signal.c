/*
 * signal.c: signals, a namespace's own (kernel/signal.c's model).
 *
 * Implementation notes
 *
 * State.  A process that makes a uipc signal call gets the file
 * sig.<pid>: its registration (proc.c), the summary of its dispositions
 * that senders need (which signals it ignores, which handlers restart),
 * the blocked mask and the pending signals of each of its threads, the
 * signals pending for the process as a whole, and the queue of real-time
 * signals with their siginfo.  The file is the process's own, mode 0600:
 * only senders of its uid and root can write it, which is also who may
 * signal it in the common case.  The handlers themselves (pointers) stay
 * in the process's memory.
 *
 * Plants.  Pids can be guessed, and another user can make sig.<pid> in a
 * shared (sticky) namespace before the process does, with any contents,
 * where only its owner can remove it.  So a file is a process's only if
 * one of the process's uids (as /proc says) or root owns it, whatever it
 * holds; a process whose name is taken makes sig.<pid>.<random hex>
 * instead, which senders look for (a scan of the directory) when the
 * plain name is not the live target's.  Such a file is not taken over
 * after an exec (the new image looks for the plain name only).
 *
 * Sending.  The kernel decides existence and permission (kill(pid, 0)):
 * its rule, its errors.  A target that is no uipc process of the
 * namespace (no file, or one whose registration has ended) answers ESRCH.
 * The signal is written into the target's file under its lock, as
 * __send_signal does (a standard signal already pending is not queued
 * again; an ignored one is dropped unless blocked), then the target is
 * made to notice: a thread waiting in uipc_sigtimedwait for it is woken
 * with a futex (none needed while it still spins), else a thread that does
 * not block it gets a doorbell, one of two kernel signals uipc keeps for
 * itself (SIGRTMAX with SA_RESTART, SIGRTMAX - 1 without, or the two
 * UIPC_DOORBELLS names; the target's own are in its file), chosen by the
 * target handler's SA_RESTART, so a
 * system call the target is blocked in is restarted or fails with EINTR
 * as under the kernel's signal.  A sender that may signal the target but
 * cannot write its file (another uid the kernel's rule lets through)
 * sends the doorbell itself with sigqueue, the signal's number and value
 * in its payload: the kernel fills in si_pid and si_uid, which cannot be
 * forged that way.  SIGKILL and SIGSTOP are the kernel's own.
 *
 * Delivery.  The doorbell's handler (and every call that unblocks or
 * waits) dispatches what is pending and not blocked, in the kernel's order
 * (the thread's own before the process's, synchronous signals first, then
 * the lowest number; real-time ones in arrival order).  As the kernel sets
 * up one frame per deliverable signal before returning to user space, the
 * frames stack: the handlers run last-chosen first, each with the mask its
 * own delivery set.  A default action of terminate is the kernel's: the
 * signal's kernel disposition made SIG_DFL and the signal raised, so the
 * parent's waitpid sees WIFSIGNALED with it (and a core where the kernel
 * dumps one).
 *
 * Reentrancy.  A doorbell can arrive while its thread is inside a call of
 * this file, holding the file's lock: the handler then only notes it, and
 * the call dispatches on its way out (in_call, deferred).
 *
 * Stop and continue.  A stop signal's default action is the kernel's
 * stop, raised as a terminating one is; SIGCONT is also sent as the
 * kernel's (which continues the target, and applies its session rule),
 * and drops pending stops as prepare_signal does.  A stop taken from the
 * file is raised after the file's lock is let go, so a continue that
 * comes in between is sent again once the target is seen stopped
 * (stopping, cont_settle): the kernel's group stop never outlives a
 * later continue.
 *
 * fork and exec.  A forked child makes its own file, with the
 * dispositions and the forking thread's mask and nothing pending.  exec
 * leaves the file (its registration ends with the old image): a program
 * with uipc's signals in it takes it over before main (adopt), handled
 * signals made SIG_DFL, the rest kept, as execve keeps signal state.
 * A vfork or posix_spawn child has no file of its own: what its new image
 * keeps (ignored signals, mask) comes in the environment, UIPC_SIG_EXEC,
 * put there by handoff.c's exec and spawn stand-ins.
 *
 * signalfd.  A socket pair: the caller reads its end as the kernel's
 * signalfd (poll, epoll and read work unmodified); delivery writes the
 * records into ours, for the signals the thread blocks that it watches.
 *
 * New threads: the shared library stands in for pthread_create
 * (handoff_spawn.c), so that a thread starts with its creator's mask.
 *
 * RLIMIT_SIGPENDING: the target's soft limit, published in its file at
 * its making and by the stand-ins for setrlimit and prlimit, bounds the
 * entries pending for it (pending_count), as the kernel's bounds the
 * user's (docs/uipc.md: per process here); the queue holds SIG_RTQ.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIG_MAGIC	0x55534947u	/* "GISU" */
#define SIG_LAYOUT	4
#define SIG_NSIG	64		/* signals 1..64 */
#define SIG_THREADS	256		/* threads of a process that use signals */
#define SIG_RTQ		128		/* queued real-time signals */
/* The doorbells, kernel signals uipc keeps: one installed with
 * SA_RESTART, one without; SIGRTMAX and SIGRTMAX - 1 unless UIPC_DOORBELLS
 * says "R,I" (two real-time signal numbers). */
static int g_db_restart, g_db_intr;
#define DB_RESTART	(g_db_restart)
#define DB_INTR		(g_db_intr)
#define DB_TAG		0x5543u		/* a sender's payload: bits 16..31 */

typedef uint64_t sigbits;		/* bit s - 1 for signal s */
#define STD_BITS	((sigbits)0x7fffffff)	/* signals 1..31 */

static sigbits bit(int s) { return (sigbits)1 << (s - 1); }

/* The siginfo uipc keeps of a pending signal. */
struct sig_info {
	int32_t code, pid;
	uint32_t uid, pad;
	uint64_t value;
};

/* A thread's entry (its tid is in the file's dense tids[]: a scan for one
 * reads those, not 256 entries of most of a kilobyte). */
struct sig_thread {
	sigbits std_bare;		/* of std: pending without an entry */
	_Atomic sigbits blocked;
	_Atomic sigbits waiting;	/* uipc_sigtimedwait's set, asleep */
	_Atomic uint32_t wake;		/* its futex word */
	_Atomic uint32_t sleeping;	/* in the kernel on it: wake it there */
	sigbits std;			/* pending standard signals */
	struct sig_info std_info[32];
};

struct sig_rt {
	uint32_t used;
	int32_t signo, tid;		/* tid 0: for the process */
	uint32_t pad;
	uint64_t seq;
	struct sig_info info;
};

struct sig_file {
	uint32_t magic;
	uint16_t layout, pad;
	int32_t pid;
	uint32_t slot, gen;		/* the registration that owns it */
	uint32_t start;			/* the process's start time */
	uint8_t db_restart, db_intr;	/* its doorbells (UIPC_DOORBELLS) */
	uint16_t pad1;
	struct uipc_lock lock;
	_Atomic sigbits restart;	/* handlers with SA_RESTART */
	_Atomic sigbits caught;		/* handlers, and */
	_Atomic sigbits set_ign;	/* SIG_IGN set (for `uipc ls -P`) */
	_Atomic sigbits sfd_mask;	/* watched by a signalfd: rung blocked */
	uint64_t seq;
	uint32_t rt_used;		/* entries in use (0: the queue is skipped) */
	/* Threads between taking a default stop from the file and stopping
	 * (the kernel's stop, which they raise once unlocked): a continue
	 * sent meanwhile makes sure it comes after (cont_settle). */
	_Atomic uint32_t stopping;
	sigbits std;			/* standard signals pending for the process */
	struct sig_info std_info[32];
	/* Entries 0..nthr-1 may be in use: every scan stops there, so that
	 * a process of a few threads does not read 256 tids each call. */
	uint32_t nthr, pad3;
	_Atomic int32_t tids[SIG_THREADS];	/* thr[i]'s thread, 0: free */
	struct sig_rt rt[SIG_RTQ];
	/* RLIMIT_SIGPENDING's soft limit, as the process last set it
	 * (published by the setrlimit stand-ins for its senders). */
	uint64_t sigpending_max;
	/* Pending without an entry of their own (sent over the limit, so
	 * not counted against it, their siginfo lost): real-time signals of
	 * the process (kill's), standard ones of the process and of each
	 * thread (sigqueue's, tgkill's). */
	sigbits rt_bare, std_bare;
	/* Last, so that the pages of entries no thread uses stay holes of
	 * the file (nothing reads an entry whose tids[] is 0). */
	struct sig_thread thr[SIG_THREADS];
};

/* How many entries a scan of f's threads looks at (the file is its uid's
 * to write: bounded). */
static int thr_count(const struct sig_file *f)
{
	uint32_t n = RD(f->nthr);

	return n < SIG_THREADS ? (int)n : SIG_THREADS;
}

/* This process's own state. */
static struct sig_file *g_me;		/* its file, mapped */
static struct sigaction g_act[SIG_NSIG + 1];	/* the handlers */
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int t_idx = -1;		/* its entry in g_me->thr */
/* Which pthread each entry is (pthread_kill's; this process's memory). */
static struct {
	pthread_t self;
	pid_t tid;
} g_pthr[SIG_THREADS];
static __thread int t_in_call, t_deferred;
/* Handlers this thread has run (dispatch): what sigsuspend waits for. */
static __thread unsigned long t_handlers;
/* The mask a thread was born with: its creator's (pthread_create). */
static __thread sigbits t_born_mask;

/* This process's signalfds: the caller's end of a socket pair, which
 * the program reads as the kernel's signalfd, and ours, which delivery
 * writes struct signalfd_siginfo records into.  Guarded by the file's
 * lock. */
#define SFDS 8
static struct sfd {
	int used;
	int ufd, wfd;		/* the caller's end, ours */
	int peek;		/* ours of the caller's end: what is unread */
	dev_t dev;
	ino_t ino;		/* the caller's end, to know it again */
	sigbits mask;
} g_sfd[SFDS];

/* Targets' files, mapped once. */
#define TARGETS 16
static struct target {
	pid_t pid;
	struct sig_file *f;
} g_targets[TARGETS];
static pthread_mutex_t g_targets_lock = PTHREAD_MUTEX_INITIALIZER;

static int sig_valid(int s) { return s >= 1 && s <= SIG_NSIG; }

static int is_rt(int s) { return s >= 32; }

/* The kernel's SYNCHRONOUS_MASK: delivered before the others. */
static const sigbits sync_mask = ((sigbits)1 << (SIGSEGV - 1)) |
	((sigbits)1 << (SIGBUS - 1)) | ((sigbits)1 << (SIGILL - 1)) |
	((sigbits)1 << (SIGTRAP - 1)) | ((sigbits)1 << (SIGFPE - 1)) |
	((sigbits)1 << (SIGSYS - 1));

/* What SIG_DFL does: the kernel's sig_kernel_ignore (and, below, its
 * sig_kernel_stop). */
static const sigbits dfl_ignored = ((sigbits)1 << (SIGCHLD - 1)) |
	((sigbits)1 << (SIGURG - 1)) | ((sigbits)1 << (SIGWINCH - 1)) |
	((sigbits)1 << (SIGCONT - 1));

static int default_ignores(int s)
{
	return !!(dfl_ignored & bit(s));
}

static int default_stops(int s)
{
	return s == SIGSTOP || s == SIGTSTP || s == SIGTTIN || s == SIGTTOU;
}

/* A sigset_t's first 64 bits are signals 1..64, bit s - 1 (glibc and
 * musl alike, as the kernel's). */
_Static_assert(sizeof(sigset_t) >= sizeof(sigbits), "sigset_t");

static sigbits to_bits(const sigset_t *set)
{
	sigbits b;

	memcpy(&b, set, sizeof(b));
	return b;
}

static void to_set(sigbits b, sigset_t *set)
{
	sigemptyset(set);
	memcpy(set, &b, sizeof(b));
}

static __thread pid_t t_tid;		/* gettid(), once per thread */

static pid_t my_tid(void)
{
	if (unlikely(!t_tid))
		t_tid = (pid_t)syscall(SYS_gettid);
	return t_tid;
}

/* The real uid, a sender's si_uid: read again when credentials moved. */
static uid_t my_ruid(void)
{
	static _Atomic uint32_t seen;	/* uipc_cred_gen + 1 when read */
	static _Atomic uid_t ruid;
	uint32_t gen = atomic_load(&uipc_cred_gen) + 1;

	if (atomic_load(&seen) != gen) {
		atomic_store(&ruid, getuid());
		atomic_store(&seen, gen);
	}
	return atomic_load(&ruid);
}

/* ---------------------------------------------------------------------
 * The file.
 * ------------------------------------------------------------------- */

static void file_name(char *buf, size_t n, pid_t pid)
{
	snprintf(buf, n, "sig.%d", (int)pid);
}

/* The name this process's file has: sig.<pid>, or, when another user
 * planted a file under that name (a sticky directory keeps it there),
 * sig.<pid>.<random hex> (then found by senders with a scan). */
static char g_me_name[48];

/* Whether name is pid's signal file name, plain or with a suffix. */
static int name_of(const char *name, pid_t *pid)
{
	char plain[32];
	int p, n = 0;
	size_t k;

	if (sscanf(name, "sig.%d%n", &p, &n) != 1 || p <= 0)
		return 0;
	file_name(plain, sizeof(plain), p);
	k = strlen(plain);
	if (strncmp(name, plain, k) ||
	    (name[k] && (name[k] != '.' || strlen(name + k + 1) != 16 ||
			 strspn(name + k + 1, "0123456789abcdef") != 16)))
		return 0;
	*pid = p;
	return 1;
}

/* Whether uid is one of process pid's (real, effective, saved, file
 * system), as the kernel has them. */
static int uid_of_pid(pid_t pid, uid_t uid)
{
	char buf[1024];
	unsigned u[4];
	const char *p;

	if (uipc_proc_file(pid, "status", buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) != 4)
		return 0;
	for (int i = 0; i < 4; i++)
		if (u[i] == uid)
			return 1;
	return 0;
}

/* Whether a file of owner uid may be process pid's signal file: one of
 * pid's uids made it, or root (a process that made its file as root,
 * then became another user, keeps it; and root can plant nothing that
 * root could not do anyway).  Its bytes say nothing of that: anyone may
 * plant a file under the name, with any contents. */
static int owner_ok(pid_t pid, uid_t uid)
{
	return uid == 0 || uid == geteuid() || uid_of_pid(pid, uid);
}

/* Whether the file open on fd may be process pid's signal file. */
static int file_owned(int fd, pid_t pid, struct stat *st)
{
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    st->st_size != (off_t)sizeof(struct sig_file))
		return 0;
	return owner_ok(pid, st->st_uid);
}

static int file_lock(struct sig_file *f)
{
	return uipc_lock_acquire(&f->lock, NULL, NULL);
}

static void file_unlock(struct sig_file *f)
{
	uipc_lock_release(&f->lock);
}

/* Whether the file f is a live process's of pid: its header read once
 * (anyone of its uid may write it) and the registration it names asked
 * of the kernel. */
static int file_live(struct uipc_nsh *h, struct sig_file *f, pid_t pid)
{
	uint32_t slot = f->slot, gen = f->gen;

	return f->magic == SIG_MAGIC && f->layout == SIG_LAYOUT &&
	       f->pid == pid && uipc_proc_alive(h, slot, gen, pid);
}

/* A signal file whose size the caller checked (a shorter one would fault
 * where it ends), mapped. */
static struct sig_file *map_fd(int fd)
{
	void *p = mmap(NULL, sizeof(struct sig_file), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void sig_atexit(void)
{
	struct uipc_nsh *h;
	int r = 0;

	h = uipc_ns_get(&r);
	if (!h || !g_me || g_me->pid != uipc_getpid() || !g_me_name[0])
		return;
	unlinkat(h->dirfd, g_me_name, 0);
}

/* This process's RLIMIT_SIGPENDING (soft), for its file. */
static uint64_t own_limit(void)
{
	struct rlimit l;

	if (getrlimit(RLIMIT_SIGPENDING, &l) < 0 || l.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return (uint64_t)l.rlim_cur;
}

/* rt_used counted again, after entries went (file locked). */
static void rt_recount(struct sig_file *f)
{
	uint32_t n = 0;

	for (int i = 0; i < SIG_RTQ; i++)
		n += f->rt[i].used != 0;
	f->rt_used = n;
}

/* Whether s sent to f's process (tid 0) or thread tid is dropped at once,
 * as the kernel's sig_ignored: its action ignores it (SIG_IGN, or SIG_DFL
 * of a signal ignored by default) and the target task, the thread or the
 * main thread for the process, does not block it.  File locked. */
static int dropped(const struct sig_file *f, int s, int32_t tid)
{
	sigbits ign = atomic_load(&f->set_ign) |
		      (dfl_ignored & ~atomic_load(&f->caught));
	sigbits blocked = f->thr[0].blocked;

	for (int i = 0, n = thr_count(f); tid && i < n; i++)
		if (f->tids[i] == tid)
			blocked = f->thr[i].blocked;
	return (ign & bit(s)) && !(blocked & bit(s));
}

/*
 * The file `name` if it is this very process's from before an exec (its
 * pid and start time, a registration that is over): taken over as the
 * kernel's execve keeps the signal state, handled signals made SIG_DFL,
 * ignored ones kept, the exec'ing thread's mask and pending kept and the
 * other threads' gone.  0 if it was, else -1 and nothing changed.
 */
static int adopt(struct uipc_nsh *h, const char *name, const struct uipc_self *self)
{
	struct sig_file *f;
	struct sig_thread keep;
	sigbits ign;
	int32_t keep_tid;
	int fd, me = -1;

	struct stat st;

	fd = uipc_ns_openat(h, name, O_RDWR);
	if (fd < 0)
		return -1;
	/* Ours: made by our uid, as only our files are (another user's plant
	 * under our name may say anything). */
	f = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == (off_t)sizeof(*f) &&
	    (st.st_uid == geteuid() || st.st_uid == 0) ? map_fd(fd) : NULL;
	close(fd);
	if (!f)
		return -1;
	if (f->magic != SIG_MAGIC || f->layout != SIG_LAYOUT || f->pid != self->pid ||
	    f->start != self->start || !self->start ||
	    uipc_proc_alive(h, f->slot, f->gen, f->pid) || file_lock(f) < 0) {
		munmap(f, sizeof(*f));
		return -1;
	}
	for (int i = 0, n = thr_count(f); i < n; i++)
		if (f->tids[i] == self->pid)
			me = i;
	keep = f->thr[me >= 0 ? me : 0];
	keep_tid = f->tids[me >= 0 ? me : 0];
	/* The entries in use only: a memset of the table would fill the
	 * holes of the file. */
	for (int i = 0, n = thr_count(f); i < n; i++)
		if (f->tids[i]) {
			f->tids[i] = 0;
			memset(&f->thr[i], 0, sizeof(f->thr[i]));
		}
	f->nthr = 1;
	f->thr[0] = keep;
	f->thr[0].waiting = 0;
	f->thr[0].sleeping = 0;
	f->tids[0] = my_tid();
	for (int i = 0; i < SIG_RTQ; i++)
		if (f->rt[i].used && f->rt[i].tid && f->rt[i].tid != keep_tid)
			f->rt[i].used = 0;
		else if (f->rt[i].used && f->rt[i].tid)
			f->rt[i].tid = f->tids[0];
	rt_recount(f);
	f->sigpending_max = own_limit();
	ign = atomic_load(&f->set_ign) & ~(bit(SIGKILL) | bit(SIGSTOP));
	atomic_store(&f->set_ign, ign);
	atomic_store(&f->caught, 0);
	atomic_store(&f->restart, 0);
	for (int s = 1; s <= SIG_NSIG; s++)
		if (ign & bit(s))
			g_act[s].sa_handler = SIG_IGN;
	f->slot = self->slot;
	f->gen = self->gen;
	f->db_restart = (uint8_t)DB_RESTART;
	f->db_intr = (uint8_t)DB_INTR;
	file_unlock(f);
	memset(g_pthr, 0, sizeof(g_pthr));
	g_pthr[0].self = pthread_self();
	g_pthr[0].tid = f->tids[0];
	g_me = f;
	t_idx = 0;
	snprintf(g_me_name, sizeof(g_me_name), "%s", name);
	uipc_proc_note(UIPC_USE_SIG);
	return 0;
}

/* A name no one can have planted before us: sig.<pid>.<random hex>. */
static void alt_name(char *buf, size_t n, pid_t pid)
{
	uint64_t x = 0;

	/* The system call: not every C library has getrandom (bionic
	 * before API level 28). */
	if (syscall(SYS_getrandom, &x, sizeof(x), 1 /* GRND_NONBLOCK */) !=
	    (long)sizeof(x)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)ts.tv_sec << 32 ^ (uint64_t)(uintptr_t)buf;
	}
	snprintf(buf, n, "sig.%d.%016llx", (int)pid, (unsigned long long)x);
}

/* Whether the file under name is another user's (a plant, or a symlink:
 * nothing uipc makes). */
static int planted(struct uipc_nsh *h, const char *name)
{
	struct stat st;

	return fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       (!S_ISREG(st.st_mode) || st.st_uid != geteuid());
}

/* Makes this process's file (the caller holds g_init_lock).  inherit:
 * the dispositions' summary and the caller's mask come from there (a
 * forked child's parent). */
static int file_make(const struct sig_file *inherit, sigbits mask)
{
	struct uipc_self self;
	struct uipc_nsh *h;
	struct sig_file *f;
	char name[48];
	int r = 0, fd;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	r = uipc_proc_self(&self);
	if (r < 0)
		return r;
	file_name(name, sizeof(name), self.pid);
	for (int tries = 0;; tries++) {
		fd = openat(h->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST || tries == 4)
			break;
		/* Another user's under our name: ours gets a name of its
		 * own, which senders find by its owner. */
		if (planted(h, name)) {
			alt_name(name, sizeof(name), self.pid);
			continue;
		}
		/* Our own from before an exec, or an earlier process's of
		 * this pid, whose registration is over: that goes. */
		if (!inherit && adopt(h, name, &self) == 0)
			return 0;
		unlinkat(h->dirfd, name, 0);
	}
	if (fd < 0)
		return -errno;
	/* All but the threads' entries (each had when made: thread_locked)
	 * gets its pages now: senders write the queue and the sets under
	 * the lock, where a hole of a full file system would fault (SIGBUS). */
	f = ftruncate(fd, sizeof(*f)) == 0 &&
	    (fallocate(fd, 0, 0, (off_t)offsetof(struct sig_file, thr)) == 0 ||
	     errno == EOPNOTSUPP) ? map_fd(fd) : NULL;
	close(fd);
	if (!f) {
		unlinkat(h->dirfd, name, 0);
		return -ENOMEM;
	}
	f->layout = SIG_LAYOUT;
	f->pid = self.pid;
	f->slot = self.slot;
	f->gen = self.gen;
	f->start = self.start;
	f->db_restart = (uint8_t)DB_RESTART;
	f->db_intr = (uint8_t)DB_INTR;
	f->sigpending_max = own_limit();
	if (inherit) {
		atomic_store(&f->restart, atomic_load(&inherit->restart));
		atomic_store(&f->caught, atomic_load(&inherit->caught));
		atomic_store(&f->set_ign, atomic_load(&inherit->set_ign));
	}
	f->thr[0].blocked = mask;
	f->tids[0] = my_tid();
	f->nthr = 1;
	snprintf(g_me_name, sizeof(g_me_name), "%s", name);
	memset(g_pthr, 0, sizeof(g_pthr));
	g_pthr[0].self = pthread_self();
	g_pthr[0].tid = f->tids[0];
	__atomic_store_n(&f->magic, SIG_MAGIC, __ATOMIC_RELEASE);
	g_me = f;
	t_idx = 0;
	uipc_proc_note(UIPC_USE_SIG);
	return 0;
}

static void install_doorbells(void);
static void sig_child(void);

/* This process's file, made on its first signal call (only_adopt: only
 * if it is there from before an exec). */
/* The state a vfork or posix_spawn child's new image starts with (read
 * from the environment before main). */
#define EXEC_VAR "UIPC_SIG_EXEC"
static sigbits g_exec_ign, g_exec_mask;

/* only_adopt: 1, only the file from before an exec; 2, a new one with
 * g_exec_ign and g_exec_mask (a vfork or posix_spawn child's new image);
 * 0, ours, made if need be. */
static int me_ready_how(int only_adopt)
{
	static int once;
	int r = 0;

	if (likely(g_me != NULL))
		return 0;
	/* The namespace first: its fork handler (a child's new
	 * registration) must run before ours. */
	if (!uipc_ns_get(&r))
		return r;
	pthread_mutex_lock(&g_init_lock);
	if (!g_me) {
		if (!once) {
			for (int s = 1; s <= SIG_NSIG; s++)
				g_act[s].sa_handler = SIG_DFL;
			install_doorbells();
			pthread_atfork(NULL, NULL, sig_child);
			atexit(sig_atexit);
			once = 1;
		}
		if (only_adopt == 2) {
			static struct sig_file from;

			atomic_store(&from.set_ign, g_exec_ign);
			r = file_make(&from, g_exec_mask);
			for (int s = 1; r == 0 && s <= SIG_NSIG; s++)
				if (g_exec_ign & bit(s))
					g_act[s].sa_handler = SIG_IGN;
		} else if (only_adopt) {
			struct uipc_self self;
			struct uipc_nsh *h = uipc_ns_get(&r);
			char name[32];

			r = h ? uipc_proc_self(&self) : r;
			if (h && r == 0) {
				file_name(name, sizeof(name), self.pid);
				r = adopt(h, name, &self);
			}
		} else {
			r = file_make(NULL, 0);
		}
	}
	pthread_mutex_unlock(&g_init_lock);
	return r;
}

static int me_ready(void)
{
	return likely(g_me != NULL) ? 0 : me_ready_how(0);
}

/* After an exec: a program that has uipc's signals in it takes over the
 * state its process had (adopt) before main runs, so that what was
 * pending and blocked stays so, as across the kernel's execve.  One
 * access(2) for any other program. */
__attribute__((constructor)) static void sig_after_exec(void)
{
	char path[4096 + 32];
	const char *v = getenv(EXEC_VAR);
	size_t n;

	if (uipc_ns_path(path, sizeof(path) - 32) < 0)
		return;
	n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "/sig.%d", (int)getpid());
	if (access(path, F_OK) == 0)
		me_ready_how(1);
	if (v) {
		unsigned long long ign, mask;
		int spawner, k = 0;

		if (!g_me && sscanf(v, "%d:%llx:%llx%n", &spawner, &ign, &mask, &k) == 3 &&
		    !v[k] && spawner == getppid()) {
			g_exec_ign = (sigbits)ign & ~(bit(SIGKILL) | bit(SIGSTOP));
			g_exec_mask = (sigbits)mask & ~(bit(SIGKILL) | bit(SIGSTOP));
			me_ready_how(2);
		}
		/* Not for the programs this one runs in turn. */
		unsetenv(EXEC_VAR);
	}
}

/* "UIPC_SIG_EXEC=spawner:ignored:mask" into buf, for the new image of a
 * process that execs with no file of its own: a vfork child (vfork_child;
 * its memory is its parent's, g_me too) or a posix_spawn child of ours.
 * 1, or 0 when there is nothing to pass. */
int uipc_sig_exec_var(char *buf, size_t n, int vfork_child,
		      const sigset_t *setmask, const sigset_t *setdef)
{
	struct sig_file *f = g_me;
	pid_t me = (pid_t)syscall(SYS_getpid);
	sigbits mask, ign;

	if (!f || (vfork_child ? RD(f->pid) == me : RD(f->pid) != me))
		return 0;
	/* The calling thread's mask: in a vfork child, the parent's
	 * thread's (the child runs on it). */
	mask = t_idx >= 0 && t_idx < SIG_THREADS ? RDA(f->thr[t_idx].blocked) : t_born_mask;
	ign = atomic_load(&f->set_ign);
	/* posix_spawn's attributes, as the kernel then sees the child. */
	for (int s = 1; s <= SIG_NSIG; s++) {
		if (setmask)
			mask = sigismember(setmask, s) == 1 ? mask | bit(s) : mask & ~bit(s);
		if (setdef && sigismember(setdef, s) == 1)
			ign &= ~bit(s);
	}
	snprintf(buf, n, "%s=%d:%llx:%llx", EXEC_VAR, (int)RD(f->pid),
		 (unsigned long long)(ign & ~(bit(SIGKILL) | bit(SIGSTOP))),
		 (unsigned long long)(mask & ~(bit(SIGKILL) | bit(SIGSTOP))));
	return 1;
}

/*
 * A thread's entry is given back when the thread ends (a key's destructor
 * runs as it returns or calls pthread_exit), with the real-time signals
 * queued for it: the kernel flushes a dying thread's pending signals.  So
 * a later thread that the kernel gives the same tid starts afresh, and the
 * scans stay as short as the threads alive.  (One that ends otherwise, its
 * entry still naming it, is found gone by thread_locked.)
 */
static pthread_key_t g_exit_key;
static pthread_once_t g_exit_once = PTHREAD_ONCE_INIT;

static void thread_gone(void *unused)
{
	struct sig_file *f = g_me;
	pid_t tid = my_tid();
	int i = t_idx;

	(void)unused;
	t_idx = -1;
	if (!f || RD(f->pid) != uipc_getpid() || i < 0 || i >= SIG_THREADS ||
	    file_lock(f) < 0)
		return;
	if (f->tids[i] == tid) {
		for (int k = 0; k < SIG_RTQ; k++)
			if (f->rt[k].used && f->rt[k].tid == tid)
				f->rt[k].used = 0;
		rt_recount(f);
		f->tids[i] = 0;
	}
	file_unlock(f);
	pthread_mutex_lock(&g_init_lock);
	if (g_pthr[i].tid == tid)
		memset(&g_pthr[i], 0, sizeof(g_pthr[i]));
	pthread_mutex_unlock(&g_init_lock);
}

static void exit_key_make(void)
{
	pthread_key_create(&g_exit_key, thread_gone);
}

/* The entry of the calling thread, made if need be (file locked).  A
 * thread whose entry's tid is gone leaves it to the next. */
static struct sig_thread *thread_locked(void)
{
	struct sig_file *f = g_me;
	pid_t tid = my_tid(), pid = uipc_getpid();
	int free_i = -1, n = thr_count(f);

	if (t_idx >= 0 && t_idx < n && f->tids[t_idx] == tid)
		return &f->thr[t_idx];
	for (int i = 0; i < n; i++) {
		int32_t t = f->tids[i];

		if (t == tid) {
			t_idx = i;
			return &f->thr[i];
		}
		if (free_i < 0 && t == 0)
			free_i = i;
	}
	/* None free: the first whose thread is gone (a system call each),
	 * so that the scans stay as short as the threads alive; else one
	 * more entry. */
	for (int i = 0; free_i < 0 && i < n; i++)
		if (syscall(SYS_tgkill, pid, f->tids[i], 0) < 0)
			free_i = i;
	if (free_i < 0 && n < SIG_THREADS)
		free_i = n;
	if (free_i < 0)
		return NULL;
	/* An entry never used before may lie in holes of the file, which
	 * on a full file system fault (SIGBUS) where first touched: under
	 * the guard here, that is no entry (EAGAIN), as a full table is. */
	if (free_i >= n &&
	    uipc_probe_read(&f->thr[free_i], sizeof(f->thr[free_i])) < 0)
		return NULL;
	if (free_i >= n)
		f->nthr = (uint32_t)free_i + 1;
	memset(&f->thr[free_i], 0, sizeof(f->thr[free_i]));
	f->thr[free_i].blocked = t_born_mask & ~(bit(SIGKILL) | bit(SIGSTOP));
	f->tids[free_i] = tid;
	g_pthr[free_i].self = pthread_self();
	g_pthr[free_i].tid = tid;
	t_idx = free_i;
	if (pthread_once(&g_exit_once, exit_key_make) == 0)
		pthread_setspecific(g_exit_key, (void *)1);	/* non-NULL */
	return &f->thr[free_i];
}

/* ---------------------------------------------------------------------
 * New threads: born with their creator's mask, as clone() gives it.
 * ------------------------------------------------------------------- */

/* For handoff_spawn.c's pthread_create (the shared library's): whether
 * this process takes uipc signals, and the calling thread's mask, which a
 * thread it creates starts with. */
int uipc_sig_creator_mask(uint64_t *mask)
{
	struct sig_file *f = g_me;

	if (!f || f->pid != uipc_getpid())
		return 0;
	*mask = t_idx >= 0 && t_idx < SIG_THREADS && RDA(f->tids[t_idx]) == my_tid() ?
		RDA(f->thr[t_idx].blocked) : t_born_mask;
	return 1;
}

/* In the new thread, before its start routine. */
void uipc_sig_born(uint64_t mask)
{
	t_born_mask = mask;
}

/* ---------------------------------------------------------------------
 * Pending signals: queue and dequeue, under the file's lock.
 * ------------------------------------------------------------------- */

/* Whether RT entry e is queued for tid.  The file is writable by every
 * process of its uid: an entry naming no real-time signal is nobody's. */
static int rt_for(const struct sig_rt *e, int32_t tid)
{
	return e->used && e->signo >= 32 && e->signo <= SIG_NSIG && e->tid == tid;
}

/* Signals pending for thread t alone, and for the process. */
static sigbits pend_thread(const struct sig_file *f, const struct sig_thread *t)
{
	sigbits b = t->std & STD_BITS;

	for (int i = 0; f->rt_used && i < SIG_RTQ; i++)
		if (rt_for(&f->rt[i], f->tids[t - f->thr]))
			b |= bit(f->rt[i].signo);
	return b;
}

static sigbits pend_proc(const struct sig_file *f)
{
	sigbits b = (f->std & STD_BITS) | (f->rt_bare & ~STD_BITS);

	for (int i = 0; f->rt_used && i < SIG_RTQ; i++)
		if (rt_for(&f->rt[i], 0))
			b |= bit(f->rt[i].signo);
	return b;
}

/* The entries that count against RLIMIT_SIGPENDING, as the kernel's
 * sigqueue allocations do: each pending signal that has its own. */
static uint64_t pending_count(const struct sig_file *f)
{
	uint64_t n = f->rt_used;

	n += (uint64_t)__builtin_popcountll(f->std & STD_BITS & ~f->std_bare);
	for (int i = 0, k = thr_count(f); i < k; i++)
		if (f->tids[i])
			n += (uint64_t)__builtin_popcountll(f->thr[i].std & STD_BITS &
							    ~f->thr[i].std_bare);
	return n;
}

/*
 * Queues s for the process (tid 0) or one of its threads, as the kernel's
 * __send_signal_locked: an entry while the target's count is below its
 * RLIMIT_SIGPENDING (a standard signal sent by kill gets one anyway, the
 * kernel's override_rlimit); above it, a standard signal and a real-time
 * one sent by kill (SI_USER) are pending without their siginfo, and a
 * real-time one with a payload fails with -EAGAIN.  back: an entry taken
 * out a moment ago goes back, whatever the count.
 */
static int enqueue(struct sig_file *f, int s, int32_t tid,
		   const struct sig_info *info, int back)
{
	static const struct sig_info lost = { .code = SI_USER };
	struct sig_thread *t = NULL;
	int ti = -1, room;

	if (tid) {
		for (int i = 0, n = thr_count(f); i < n; i++)
			if (f->tids[i] == tid)
				ti = i;
		if (ti < 0)
			return -ESRCH;
		t = &f->thr[ti];
	}
	room = back || pending_count(f) < RD(f->sigpending_max);
	if (!is_rt(s)) {
		sigbits *std = t ? &t->std : &f->std;
		sigbits *bare = t ? &t->std_bare : &f->std_bare;
		struct sig_info *si = t ? t->std_info : f->std_info;

		if (*std & bit(s))
			return 0;	/* coalesced */
		if (room || info->code >= 0) {
			si[s] = *info;
			*bare &= ~bit(s);
		} else {
			si[s] = lost;
			*bare |= bit(s);
		}
		*std |= bit(s);
		return 0;
	}
	for (int i = 0; room && i < SIG_RTQ; i++)
		if (!f->rt[i].used) {
			f->rt[i].signo = s;
			f->rt[i].tid = tid;
			f->rt[i].seq = ++f->seq;
			f->rt[i].info = *info;
			f->rt[i].used = 1;
			f->rt_used++;
			return 0;
		}
	/* Over the limit, or the file's queue full (a difference where the
	 * limit is above SIG_RTQ: docs/uipc.md). */
	if (info->code == SI_USER && !tid) {
		f->rt_bare |= bit(s);
		return 0;
	}
	return -EAGAIN;
}

/* Whether an entry of RT signal s is queued for tid (file locked). */
static int rt_queued(const struct sig_file *f, int s, int32_t tid)
{
	for (int i = 0; f->rt_used && i < SIG_RTQ; i++)
		if (rt_for(&f->rt[i], tid) && f->rt[i].signo == s)
			return 1;
	return 0;
}

/* The next signal of `want` pending for t, taken out with its siginfo
 * (kernel order: the thread's before the process's, synchronous ones
 * first, then the lowest; an RT signal's oldest instance).  0 if none. */
static int dequeue(struct sig_file *f, struct sig_thread *t, sigbits want,
		   struct sig_info *out)
{
	for (int pass = 0; pass < 2; pass++) {
		sigbits p = (pass == 0 ? pend_thread(f, t) : pend_proc(f)) & want;
		int32_t tid = pass == 0 ? f->tids[t - f->thr] : 0;
		int s;

		if (!p)
			continue;
		s = (p & sync_mask) ? __builtin_ctzll(p & sync_mask) + 1 :
				      __builtin_ctzll(p) + 1;
		if (!is_rt(s)) {
			sigbits *std = pass == 0 ? &t->std : &f->std;

			*out = (pass == 0 ? t->std_info : f->std_info)[s];
			*std &= ~bit(s);
			if (pass == 0)
				t->std_bare &= ~bit(s);
			else
				f->std_bare &= ~bit(s);
			return s;
		}
		{
			int best = -1;

			for (int i = 0; i < SIG_RTQ; i++)
				if (rt_for(&f->rt[i], tid) && f->rt[i].signo == s &&
				    (best < 0 || f->rt[i].seq < f->rt[best].seq))
					best = i;
			if (best >= 0) {
				*out = f->rt[best].info;
				f->rt[best].used = 0;
				if (f->rt_used)
					f->rt_used--;
				/* collect_signal: the pending bit goes with
				 * the last entry, and a signal that had no
				 * entry of its own with it. */
				if (pass == 1 && !rt_queued(f, s, 0))
					f->rt_bare &= ~bit(s);
				return s;
			}
			if (pass == 1 && (f->rt_bare & bit(s))) {
				/* Pending without an entry: its siginfo was
				 * lost (SI_USER, no pid, no uid). */
				memset(out, 0, sizeof(*out));
				out->code = SI_USER;
				f->rt_bare &= ~bit(s);
				return s;
			}
		}
	}
	return 0;
}

/* Drops every pending instance of s (SIG_IGN set on it). */
static void discard(struct sig_file *f, int s)
{
	if (!is_rt(s)) {
		f->std &= ~bit(s);
		f->std_bare &= ~bit(s);
		for (int i = 0, n = thr_count(f); i < n; i++)
			if (f->tids[i]) {
				f->thr[i].std &= ~bit(s);
				f->thr[i].std_bare &= ~bit(s);
			}
		return;
	}
	for (int i = 0; i < SIG_RTQ; i++)
		if (f->rt[i].used && f->rt[i].signo == s)
			f->rt[i].used = 0;
	f->rt_bare &= ~bit(s);
	rt_recount(f);
}

/* ---------------------------------------------------------------------
 * Delivery.
 * ------------------------------------------------------------------- */

static void fill_siginfo(siginfo_t *si, int s, const struct sig_info *in)
{
	memset(si, 0, sizeof(*si));
	si->si_signo = s;
	si->si_code = in->code;
	si->si_pid = in->pid;
	si->si_uid = in->uid;
	si->si_value.sival_ptr = (void *)(uintptr_t)in->value;
}

/* The default action of terminating s: the kernel's own, so that the
 * parent's waitpid sees it (and a core where the kernel dumps one). */
static void default_action(int s)
{
	struct sigaction dfl;
	sigset_t one;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	syscall(SYS_rt_sigaction, s, &dfl, NULL, (size_t)8);
	sigemptyset(&one);
	sigaddset(&one, s);
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &one, NULL, (size_t)8);
	syscall(SYS_tgkill, uipc_getpid(), my_tid(), s);
	/* A core-dumping or terminating signal does not come back. */
}

/* The default action of stopping s: the kernel's own stop (the whole
 * process, WIFSTOPPED with s for its parent, SIGCHLD), done by raising s
 * with its kernel disposition SIG_DFL for the moment; once continued, the
 * program's own disposition and mask come back. */
static void default_stop(int s)
{
	struct sigaction dfl, old;
	sigset_t one, mask;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if (syscall(SYS_rt_sigaction, s, &dfl, &old, (size_t)8) < 0)
		return;
	sigemptyset(&one);
	sigaddset(&one, s);
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &one, &mask, (size_t)8);
	syscall(SYS_tgkill, uipc_getpid(), my_tid(), s);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, (size_t)8);
	syscall(SYS_rt_sigaction, s, &old, NULL, (size_t)8);
}

#define MAX_FRAMES 8

struct frame {
	int s;
	struct sig_info info;
	struct sigaction act;
	sigbits mask_before;
};

/* The signals of the records in x not read yet. */
static sigbits sfd_unread(const struct sfd *x)
{
	struct signalfd_siginfo r[64];
	sigbits b = 0;
	ssize_t n = recv(x->peek, r, sizeof(r), MSG_PEEK | MSG_DONTWAIT);

	for (ssize_t i = 0; i < n / (ssize_t)sizeof(r[0]); i++)
		if (sig_valid((int)r[i].ssi_signo))
			b |= bit((int)r[i].ssi_signo);
	return b;
}

static void sfd_close(struct sfd *x)
{
	close(x->wfd);
	close(x->peek);
	x->used = 0;
}

static void sfd_mask_update(struct sig_file *f)
{
	sigbits m = 0;

	for (int i = 0; i < SFDS; i++)
		if (g_sfd[i].used)
			m |= g_sfd[i].mask;
	atomic_store(&f->sfd_mask, m);
}

/*
 * Moves the signals pending for thread t that it blocks and a signalfd
 * watches into that signalfd, as records its reader takes (file locked).
 * The kernel's signalfd dequeues them when read; here they leave the
 * pending sets when written (docs/uipc.md).  A signalfd whose reader end
 * was closed is dropped; one that is full keeps the rest pending.
 */
static void sfd_fill(struct sig_file *f, struct sig_thread *t, sigbits blocked)
{
	for (int i = 0; i < SFDS; i++) {
		struct sfd *x = &g_sfd[i];
		struct sig_info in;
		sigbits unread;
		int s;

		if (!x->used || !((pend_thread(f, t) | pend_proc(f)) & x->mask & blocked))
			continue;
		/* A standard signal whose record is still unread is pending
		 * still, to the kernel: a new one coalesces with it. */
		unread = sfd_unread(x);
		while (x->used && (s = dequeue(f, t, x->mask & blocked, &in))) {
			struct signalfd_siginfo ssi;

			if (!is_rt(s) && (unread & bit(s)))
				continue;
			unread |= bit(s);

			memset(&ssi, 0, sizeof(ssi));
			ssi.ssi_signo = (uint32_t)s;
			ssi.ssi_code = in.code;
			ssi.ssi_pid = (uint32_t)in.pid;
			ssi.ssi_uid = in.uid;
			ssi.ssi_int = (int32_t)in.value;
			ssi.ssi_ptr = in.value;
			if (send(x->wfd, &ssi, sizeof(ssi), MSG_DONTWAIT | MSG_NOSIGNAL) ==
			    (ssize_t)sizeof(ssi))
				continue;
			enqueue(f, s, 0, &in, 1);	/* back, for later or another */
			if (errno != EAGAIN) {
				sfd_close(x);
				sfd_mask_update(f);
			}
			break;
		}
	}
}

/*
 * Delivers what is pending for the calling thread and not blocked.  Like
 * the kernel, it chooses the signals one after another, each under the
 * mask the previous delivery set, and then runs their handlers the last
 * chosen first (the kernel's stacked frames), each ending with the mask
 * that was before it.  Returns how many handlers ran.
 */
static int dispatch(void)
{
	struct frame fr[MAX_FRAMES];
	struct sig_file *f = g_me;
	struct sig_thread *t;
	int n = 0, ran = 0;
	sigbits mask;

	if (!f || t_in_call) {
		t_deferred = 1;
		return 0;
	}
	t_in_call++;
	for (;;) {
		n = 0;
		if (file_lock(f) < 0)
			break;
		t = thread_locked();
		if (!t) {
			file_unlock(f);
			break;
		}
		mask = t->blocked;
		if (atomic_load(&f->sfd_mask))
			sfd_fill(f, t, mask);
		while (n < MAX_FRAMES) {
			struct frame *x = &fr[n];

			x->s = dequeue(f, t, ~mask, &x->info);
			if (!x->s)
				break;
			x->act = g_act[x->s];
			if (x->act.sa_handler == SIG_IGN ||
			    (x->act.sa_handler == SIG_DFL && default_ignores(x->s)))
				continue;
			if (x->act.sa_handler == SIG_DFL && default_stops(x->s)) {
				/* The kernel's get_signal stops right here
				 * and goes on choosing once continued. */
				atomic_fetch_add(&f->stopping, 1);
				file_unlock(f);
				default_stop(x->s);
				atomic_fetch_sub(&f->stopping, 1);
				if (file_lock(f) < 0) {
					n = 0;	/* nothing runs: as if unchosen */
					goto out;
				}
				t = thread_locked();
				if (!t) {
					file_unlock(f);
					n = 0;
					goto out;
				}
				continue;
			}
			if (x->act.sa_handler == SIG_DFL) {
				/* The process ends here, as in the kernel's
				 * get_signal: the frames chosen go with it. */
				file_unlock(f);
				default_action(x->s);
				t_in_call--;
				return ran;
			}
			x->mask_before = mask;
			mask |= to_bits(&x->act.sa_mask);
			if (!(x->act.sa_flags & SA_NODEFER))
				mask |= bit(x->s);
			mask &= ~(bit(SIGKILL) | bit(SIGSTOP));
			if (x->act.sa_flags & SA_RESETHAND) {
				g_act[x->s].sa_handler = SIG_DFL;
				g_act[x->s].sa_flags &= ~SA_SIGINFO;
				atomic_fetch_and(&f->restart, ~bit(x->s));
				atomic_fetch_and(&f->caught, ~bit(x->s));
			}
			n++;
		}
		t->blocked = mask;
		/* A sigsuspend's set is withdrawn while its handlers run: a
		 * signal sent meanwhile rings the doorbell and interrupts
		 * them, as the kernel's would. */
		if (n)
			t->waiting = 0;
		file_unlock(f);
		if (!n)
			break;
		/* The frames run the last chosen first. */
		for (int i = n - 1; i >= 0; i--) {
			struct frame *x = &fr[i];

			t_in_call--;
			if (x->act.sa_flags & SA_SIGINFO) {
				siginfo_t si;

				fill_siginfo(&si, x->s, &x->info);
				x->act.sa_sigaction(x->s, &si, NULL);
			} else {
				x->act.sa_handler(x->s);
			}
			t_in_call++;
			t = &f->thr[t_idx];
			t->blocked = x->mask_before;	/* sigreturn's */
			ran++;
			t_handlers++;
		}
		atomic_fetch_add(&t->wake, 1);
	}
out:
	t_in_call--;
	return ran;
}

/* Leaving a call of this file: what a doorbell left for it. */
static void leave(void)
{
	if (--t_in_call == 0 && t_deferred) {
		t_deferred = 0;
		dispatch();
	}
}

static void enter(void)
{
	t_in_call++;
}

/* The calling thread's entry, inside a call of this file (enter) with the
 * file locked; NULL with *err, the call left, if it cannot be had. */
static struct sig_thread *me_locked(int *err)
{
	struct sig_thread *t;

	enter();
	*err = file_lock(g_me);
	if (*err < 0) {
		leave();
		return NULL;
	}
	t = thread_locked();
	if (!t) {
		file_unlock(g_me);
		leave();
		*err = -EAGAIN;
	}
	return t;
}

static void me_unlock(void)
{
	file_unlock(g_me);
	leave();
}

/* The doorbells' handler.  A payload from a sender that could not write
 * our file is its signal, with the pid and uid the kernel vouches for. */
static void doorbell(int kernel_sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)kernel_sig;
	(void)uc;
	if (si->si_code == SI_QUEUE && g_me &&
	    ((uintptr_t)si->si_value.sival_ptr >> 16 & 0xffff) == DB_TAG) {
		uint64_t v = (uintptr_t)si->si_value.sival_ptr;
		struct sig_info in = {
			.code = (v >> 8 & 1) ? SI_QUEUE : SI_USER,
			.pid = si->si_pid, .uid = si->si_uid,
			.value = (uint32_t)(v >> 32),
		};
		int s = (int)(v & 0xff);

		if (sig_valid(s) && file_lock(g_me) == 0) {
			if (!dropped(g_me, s, 0))
				enqueue(g_me, s, 0, &in, 0);
			file_unlock(g_me);
		}
	}
	dispatch();
	errno = saved;
}

static void pick_doorbells(void)
{
	const char *e = getenv("UIPC_DOORBELLS");
	int r, i;

	g_db_restart = SIGRTMAX;
	g_db_intr = SIGRTMAX - 1;
	if (e && sscanf(e, "%d,%d", &r, &i) == 2 && r != i &&
	    r >= SIGRTMIN && r <= SIGRTMAX && i >= SIGRTMIN && i <= SIGRTMAX) {
		g_db_restart = r;
		g_db_intr = i;
	}
}

static void install_doorbells(void)
{
	struct sigaction sa;

	pick_doorbells();

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = doorbell;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(DB_RESTART, &sa, NULL);
	sa.sa_flags &= ~SA_RESTART;
	sigaction(DB_INTR, &sa, NULL);
}

/* In a forked child: a file of its own, with the dispositions and the
 * forking thread's mask; nothing pending (the kernel's fork). */
static void sig_child(void)
{
	struct sig_file *parent = g_me;
	sigbits mask = 0;

	pthread_mutex_init(&g_init_lock, NULL);
	pthread_mutex_init(&g_targets_lock, NULL);
	memset(g_targets, 0, sizeof(g_targets));
	t_in_call = t_deferred = 0;
	t_tid = 0;
	/* A signalfd the child inherits stays its parent's. */
	for (int i = 0; i < SFDS; i++)
		if (g_sfd[i].used)
			sfd_close(&g_sfd[i]);
	memset(g_sfd, 0, sizeof(g_sfd));
	if (!parent)
		return;
	if (t_idx >= 0 && t_idx < SIG_THREADS)
		mask = parent->thr[t_idx].blocked;
	g_me = NULL;
	t_idx = -1;
	if (file_make(parent, mask) < 0)
		g_me = NULL;
	munmap(parent, sizeof(*parent));
}

/* ---------------------------------------------------------------------
 * Sending.
 * ------------------------------------------------------------------- */

/* The file open on fd, mapped, if it is the live process pid's. */
static struct sig_file *owned_live(struct uipc_nsh *h, int fd, pid_t pid)
{
	struct sig_file *f;
	struct stat st;

	if (!file_owned(fd, pid, &st) || !(f = map_fd(fd)))
		return NULL;
	if (file_live(h, f, pid))
		return f;
	munmap(f, sizeof(*f));
	return NULL;
}

/* pid's file under a name of its own (its plain one taken by a plant),
 * mapped; else NULL, *errp -EACCES if one we may not open was there. */
static struct sig_file *target_scan(struct uipc_nsh *h, pid_t pid, int *errp)
{
	DIR *d = uipc_ns_opendir(h);
	struct sig_file *f = NULL;
	struct dirent *de;
	char plain[32];
	size_t k;

	*errp = -ESRCH;
	if (!d)
		return NULL;
	file_name(plain, sizeof(plain), pid);
	k = strlen(plain);
	while (!f && (de = readdir(d))) {
		pid_t p;
		int fd;

		if (!name_of(de->d_name, &p) || p != pid || !de->d_name[k])
			continue;
		fd = uipc_ns_openat(h, de->d_name, O_RDWR);
		if (fd == -EACCES)
			*errp = -EACCES;
		if (fd < 0)
			continue;
		f = owned_live(h, fd, pid);
		close(fd);
	}
	closedir(d);
	return f;
}

/* Target pid's file, mapped (cached), if it is a live uipc process's;
 * NULL with -ESRCH, or -EACCES when its file is not ours to write. */
static struct sig_file *target_get(struct uipc_nsh *h, pid_t pid, int *err)
{
	struct sig_file *f = NULL;
	char name[32];
	int fd, i, free_i = 0, e = -ESRCH;

	if (pid == uipc_getpid() && g_me)
		return g_me;
	pthread_mutex_lock(&g_targets_lock);
	for (i = 0; i < TARGETS; i++)
		if (g_targets[i].pid == pid && g_targets[i].f) {
			if (file_live(h, g_targets[i].f, pid)) {
				f = g_targets[i].f;
				goto out;
			}
			munmap(g_targets[i].f, sizeof(struct sig_file));
			g_targets[i].f = NULL;
			g_targets[i].pid = 0;
		}
	file_name(name, sizeof(name), pid);
	fd = uipc_ns_openat(h, name, O_RDWR);
	if (fd >= 0) {
		/* Not the live target's (a plant, even one of ours, or a
		 * dead process's): its own may have a name of its own. */
		f = owned_live(h, fd, pid);
		close(fd);
		if (!f)
			f = target_scan(h, pid, &e);
	} else if (fd == -EACCES || fd == -EIO /* a symlink */) {
		struct stat st;

		/* The target's own, of another uid: the kernel's way.  Else
		 * a plant under its name, and its own has a name of its
		 * own. */
		if (fd == -EACCES &&
		    fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && owner_ok(pid, st.st_uid))
			e = -EACCES;
		else
			f = target_scan(h, pid, &e);
	}
	if (!f) {
		*err = e;
		goto out;
	}
	for (i = 0; i < TARGETS; i++)
		if (!g_targets[i].f) {
			free_i = i;
			break;
		}
	if (i == TARGETS) {		/* full: the first goes */
		munmap(g_targets[0].f, sizeof(struct sig_file));
		free_i = 0;
	}
	g_targets[free_i].pid = pid;
	g_targets[free_i].f = f;
out:
	pthread_mutex_unlock(&g_targets_lock);
	return f;
}

/* Whether pid, which the kernel says exists, is a zombie: a process that
 * has ended, whose signal file went with it, but which the kernel still
 * signals (and ignores) until it is reaped. */
static int zombie(pid_t pid)
{
	/* The kernel lets us signal it (the caller asked), so it exists:
	 * if it counts as gone, it is a zombie (or exiting). */
	return uipc_pid_gone(pid, 0);
}

/*
 * A continue sent to a process one of whose threads had taken a default
 * stop from its file but not yet stopped (it raises the kernel's stop once
 * it has let go of the file's lock): the kernel's continue may have come
 * first, found nothing stopped, and the stop would then hold for good,
 * where on the kernel the group stop cannot overtake a later continue.
 * So the continue is sent again each time the target is seen stopped,
 * until no thread is on its way to a stop.  Bounded (2000 looks, about
 * 2 s): the count is its uid's to write.
 */
static void cont_settle(pid_t pid, struct sig_file *f)
{
	for (int i = 0; i < 2000 && atomic_load(&f->stopping); i++) {
		if (uipc_pid_state(pid) == 'T' && kill(pid, SIGCONT) < 0)
			return;
		if (i < 20)
			sched_yield();
		else
			usleep(1000);
	}
}

/* Sends s with info to process pid (tid 0) or its thread tid, with the
 * kernel's errors in its order (check_kill_permission): no such process
 * (to uipc: none that takes uipc signals), a bad signal, no permission
 * (the kernel's own answer, by its rule). */
static int send_one(struct uipc_nsh *h, pid_t pid, int32_t tid, int s,
		    const struct sig_info *info)
{
	struct sig_file *f;
	struct sig_thread *wake = NULL, *bell = NULL;
	int r = 0, doorbell_sig, perm;

	/* The caller may always signal itself.  SIGCONT is the kernel's
	 * own too (it continues a stopped process, and may cross uids
	 * within a session, which its kill decides). */
	if (pid == uipc_getpid())
		perm = 0;
	else
		perm = kill(pid, s == SIGCONT ? SIGCONT : 0) < 0 ? -errno : 0;
	if (perm == -ESRCH)
		return perm;
	f = target_get(h, pid, &r);
	if (!f && r != -EACCES && !(perm == 0 && zombie(pid)))
		return r;
	if (s < 0 || s > SIG_NSIG)
		return -EINVAL;
	if (!f && r != -EACCES)
		return 0;	/* a zombie takes the signal and drops it */
	if (perm < 0)
		return perm;
	if (s == SIGKILL || s == SIGSTOP)
		return kill(pid, s) < 0 ? -errno : 0;
	if (!f) {
		if (s == 0)
			return 0;
		/* Its file is not ours: through the kernel, with the usual
		 * doorbell (its own numbers are in the file we cannot read;
		 * docs/uipc.md). */
		{
			union sigval v;

			v.sival_ptr = (void *)(uintptr_t)((uint64_t)(uint32_t)info->value << 32 |
				(uint64_t)DB_TAG << 16 |
				(uint64_t)(info->code == SI_QUEUE) << 8 | (uint64_t)s);
			return sigqueue(pid, SIGRTMAX - 1, v) < 0 ? -errno : 0;
		}
	}
	if (s == 0)
		return 0;
	r = file_lock(f);
	if (r < 0)
		return r;
	/* The kernel's prepare_signal: a continue drops the pending stops,
	 * a stop the pending continue, whatever becomes of the new one. */
	if (s == SIGCONT)
		for (int k = SIGSTOP; k <= SIGTTOU; k++)
			discard(f, k);
	else if (default_stops(s))
		discard(f, SIGCONT);
	if (dropped(f, s, tid))
		goto out;
	r = enqueue(f, s, tid, info, 0);
	if (r < 0)
		goto out;
	/* Who notices: a thread waiting for it, else one not blocking it
	 * (the main thread first, as the kernel's wants_signal). */
	for (int i = 0, n = thr_count(f); i < n; i++) {
		struct sig_thread *t = &f->thr[i];

		if (!f->tids[i] || (tid && f->tids[i] != tid))
			continue;
		if (t->waiting & bit(s)) {
			wake = t;
			break;
		}
		if (!bell && !(t->blocked & bit(s)))
			bell = t;
	}
	/* Blocked everywhere but watched by a signalfd: its reader wants
	 * to hear of it. */
	if (!wake && !bell && (atomic_load(&f->sfd_mask) & bit(s)))
		for (int i = 0, n = thr_count(f); i < n && !bell; i++)
			if (f->tids[i] && (!tid || f->tids[i] == tid))
				bell = &f->thr[i];
	if (wake) {
		bell = NULL;	/* the waiter takes it */
		atomic_fetch_add(&wake->wake, 1);
		/* A waiter still spinning sees the word move: no system
		 * call (the bump comes before this load, its sleeping flag
		 * before its futex call). */
		if (!atomic_load(&wake->sleeping))
			wake = NULL;
	}
	/* The target's own doorbells; numbers that are none (the file is
	 * its uid's to write) ring nothing. */
	doorbell_sig = (atomic_load(&f->restart) & bit(s)) ? f->db_restart : f->db_intr;
	if (doorbell_sig < SIGRTMIN || doorbell_sig > SIGRTMAX)
		bell = NULL;
out:
	{
		int32_t bell_tid = !wake && bell ? f->tids[bell - f->thr] : 0;

		file_unlock(f);
		if (wake)
			uipc_futex_wake(&wake->wake, 1);
		else if (bell_tid)
			syscall(SYS_tgkill, pid, bell_tid, doorbell_sig);
		if (s == SIGCONT && pid != uipc_getpid() && atomic_load(&f->stopping))
			cont_settle(pid, f);
	}
	return r;
}

/* kill(2)'s forms of pid: one process, a group, everyone we may signal. */
static int send_to(pid_t pid, int s, int code, uint64_t value, int32_t tid)
{
	struct sig_info info = { .code = code, .pid = uipc_getpid(),
				 .uid = my_ruid(), .value = value };
	struct uipc_nsh *h;
	int r = 0, count = 0, ok = 0, last = -ESRCH, all = 0;
	pid_t pgrp;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	if (pid == INT_MIN)
		return -ESRCH;
	if (pid > 0) {
		enter();
		r = send_one(h, pid, tid, s, &info);
		leave();
		return r;
	}
	/* The namespace's signal users in the group, or all of them but the
	 * caller (and init); the kernel's kill_something_info sums them up:
	 * for -1, 0 or the last error but EPERM; for a group, 0 if one was
	 * sent, else the last error. */
	pgrp = pid == 0 ? getpgrp() : -pid;
	enter();
	for (uint32_t i = 0; i < UIPC_MAXPROC; i++) {
		const struct uipc_proc *p = &h->ns->proc[i];
		pid_t q = p->pid;

		if (!(atomic_load(&p->stamp) & 1) ||
		    !(atomic_load(&p->uses) & UIPC_USE_SIG) || q <= 1)
			continue;
		if (pid == -1 ? q == uipc_getpid() : getpgid(q) != pgrp)
			continue;
		r = send_one(h, q, 0, s, &info);
		if (r == -ESRCH)
			continue;	/* not a signal user after all */
		count++;
		ok |= r == 0;
		last = r;
		if (r != -EPERM)
			all = r;
	}
	leave();
	if (pid == -1)
		return count ? all : -ESRCH;
	return ok ? 0 : last;
}

int uipc_kill(pid_t pid, int sig)
{
	int r = me_ready();

	if (r == 0)
		r = send_to(pid, sig, SI_USER, 0, 0);
	return (int)UIPC_RET(r);
}

int uipc_sigqueue(pid_t pid, int sig, const union sigval value)
{
	int r = me_ready();

	if (r == 0)
		r = pid > 0 ? send_to(pid, sig, SI_QUEUE,
				      (uint64_t)(uintptr_t)value.sival_ptr, 0) :
			      -ESRCH;
	return (int)UIPC_RET(r);
}

int uipc_raise(int sig)
{
	int r = me_ready();

	/* To this thread: its entry first. */
	if (r == 0 && me_locked(&r))
		me_unlock();
	if (r == 0)
		r = send_to(uipc_getpid(), sig, SI_TKILL, 0, my_tid());
	return (int)UIPC_RET(r);
}

int uipc_tgkill(pid_t tgid, pid_t tid, int sig)
{
	int r = me_ready();

	if (r == 0)
		r = tgid <= 0 || tid <= 0 ? -EINVAL :
		    send_to(tgid, sig, SI_TKILL, 0, tid);
	return (int)UIPC_RET(r);
}

int uipc_pthread_kill(pthread_t thread, int sig)
{
	pid_t tid = 0;
	int r = me_ready();

	if (r < 0)
		return -r;
	if (pthread_equal(thread, pthread_self())) {
		tid = my_tid();
	} else {
		pthread_mutex_lock(&g_init_lock);
		for (int i = 0; i < SIG_THREADS; i++)
			if (g_pthr[i].tid && pthread_equal(g_pthr[i].self, thread))
				tid = g_pthr[i].tid;
		pthread_mutex_unlock(&g_init_lock);
	}
	if (!tid)
		return ESRCH;	/* not a thread that uses uipc signals */
	if (pthread_equal(thread, pthread_self())) {
		if (!me_locked(&r))
			return -r;
		me_unlock();
	}
	r = send_to(uipc_getpid(), sig, SI_TKILL, 0, tid);
	return r < 0 ? -r : 0;
}

/* ---------------------------------------------------------------------
 * Dispositions and masks.
 * ------------------------------------------------------------------- */

int uipc_sigaction(int s, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction na;
	struct sig_file *f;
	int r = me_ready();

	if (r < 0)
		return (int)UIPC_RET(r);
	/* The C library's rule: its own two signals are not to be had. */
	if (!sig_valid(s) || s == 32 || s == 33 ||
	    (act && (s == SIGKILL || s == SIGSTOP)))
		return (int)UIPC_RET(-EINVAL);
	f = g_me;
	if (act) {		/* read first: act and old may be one struct */
		na = *act;
		sigdelset(&na.sa_mask, SIGKILL);	/* as the kernel stores it */
		sigdelset(&na.sa_mask, SIGSTOP);
		act = &na;
	}
	enter();
	r = file_lock(f);
	if (r == 0) {
		if (old)
			*old = g_act[s];
		if (act) {
			g_act[s] = *act;
			if (act->sa_handler == SIG_IGN ||
			    (act->sa_handler == SIG_DFL && default_ignores(s)))
				discard(f, s);
			if (act->sa_handler != SIG_IGN && act->sa_handler != SIG_DFL &&
			    (act->sa_flags & SA_RESTART))
				atomic_fetch_or(&f->restart, bit(s));
			else
				atomic_fetch_and(&f->restart, ~bit(s));
			if (act->sa_handler != SIG_IGN && act->sa_handler != SIG_DFL)
				atomic_fetch_or(&f->caught, bit(s));
			else
				atomic_fetch_and(&f->caught, ~bit(s));
			if (act->sa_handler == SIG_IGN)
				atomic_fetch_or(&f->set_ign, bit(s));
			else
				atomic_fetch_and(&f->set_ign, ~bit(s));
		}
		file_unlock(f);
	}
	leave();
	return (int)UIPC_RET(r);
}

static int set_mask(int how, const sigset_t *set, sigset_t *old)
{
	struct sig_thread *t;
	sigbits b, m;
	int r = me_ready();

	if (r < 0)
		return r;
	if (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return -EINVAL;
	t = me_locked(&r);
	if (!t)
		return r;
	m = t->blocked;
	if (old)
		to_set(m, old);
	if (set) {
		b = to_bits(set) & ~(bit(SIGKILL) | bit(SIGSTOP));
		m = how == SIG_BLOCK ? m | b : how == SIG_UNBLOCK ? m & ~b : b;
		t->blocked = m;
	}
	if (pend_thread(g_me, t) & ~m || pend_proc(g_me) & ~m)
		t_deferred = 1;	/* delivered before we return */
	me_unlock();
	return 0;
}

int uipc_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return (int)UIPC_RET(set_mask(how, set, old));
}

int uipc_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return -set_mask(how, set, old);
}

int uipc_sigpending(sigset_t *set)
{
	struct sig_thread *t;
	sigbits p;
	int r = me_ready();

	if (r < 0)
		return (int)UIPC_RET(r);
	t = me_locked(&r);
	if (!t)
		return (int)UIPC_RET(r);
	p = (pend_thread(g_me, t) | pend_proc(g_me)) & t->blocked;
	/* What a signalfd holds unread is pending still, to the kernel
	 * (its read takes it). */
	for (int i = 0; i < SFDS; i++)
		if (g_sfd[i].used)
			p |= sfd_unread(&g_sfd[i]);
	to_set(p, set);
	me_unlock();
	return 0;
}

int uipc_signalfd(int fd, const sigset_t *mask, int flags)
{
	struct stat st;
	sigbits m;
	int r = me_ready(), i, sv[2];

	if (r < 0)
		return (int)UIPC_RET(r);
	if (flags & ~(SFD_NONBLOCK | SFD_CLOEXEC))
		return (int)UIPC_RET(-EINVAL);
	m = to_bits(mask) & ~(bit(SIGKILL) | bit(SIGSTOP));
	enter();
	r = file_lock(g_me);
	if (r < 0)
		goto out;
	if (fd != -1) {
		/* A new mask for one of ours; anything else is no signalfd. */
		r = fstat(fd, &st) < 0 ? -EBADF : -EINVAL;
		for (i = 0; r < 0 && r != -EBADF && i < SFDS; i++)
			if (g_sfd[i].used && g_sfd[i].ufd == fd &&
			    g_sfd[i].dev == st.st_dev && g_sfd[i].ino == st.st_ino) {
				g_sfd[i].mask = m;
				r = fd;
			}
	} else {
		for (i = 0; i < SFDS && g_sfd[i].used; i++)
			;
		r = -EMFILE;
		if (i < SFDS && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			r = -errno;
		else if (i < SFDS) {
			if (!(flags & SFD_CLOEXEC))
				fcntl(sv[0], F_SETFD, 0);
			if (flags & SFD_NONBLOCK)
				fcntl(sv[0], F_SETFL, O_NONBLOCK);
			fstat(sv[0], &st);
			g_sfd[i] = (struct sfd){ 1, sv[0], sv[1],
						 fcntl(sv[0], F_DUPFD_CLOEXEC, 0),
						 st.st_dev, st.st_ino, m };
			r = sv[0];
		}
	}
	if (r >= 0) {
		sfd_mask_update(g_me);
		t_deferred = 1;		/* what is pending already goes in */
	}
	file_unlock(g_me);
out:
	leave();
	return (int)UIPC_RET(r);
}

/* ---------------------------------------------------------------------
 * Waiting.
 * ------------------------------------------------------------------- */

static int timespec_bad(const struct timespec *ts)
{
	return ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L);
}

/* A wake-up that never came, for the tests to see (wait.c's count). */
static void count_lost_wake(void)
{
	struct uipc_nsh *h;
	int err = 0;

	h = uipc_ns_get(&err);
	if (h)
		atomic_fetch_add_explicit(&h->ns->lost_wakes, 1, memory_order_relaxed);
}

/* How long a waiter spins before sleeping: 0 on one CPU. */
static int spin_max(void)
{
	static int n = -1;

	if (n < 0)
		n = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1000 : 0;
	return n;
}

/* sigtimedwait: a signal of set taken without delivery, or -EAGAIN at
 * the timeout, -EINTR when a handler ran meanwhile. */
static int timed_wait(const sigset_t *set, siginfo_t *info,
		      const struct timespec *timeout)
{
	struct timespec end, *endp = NULL;
	struct sig_thread *t;
	struct sig_info in;
	sigbits want;
	int r = me_ready(), s, maybe_lost = 0;
	uint32_t seen;

	if (r < 0)
		return r;
	if (timespec_bad(timeout))
		return -EINVAL;
	want = to_bits(set) & ~(bit(SIGKILL) | bit(SIGSTOP));
	if (timeout && (timeout->tv_sec || timeout->tv_nsec)) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += timeout->tv_sec;
		end.tv_nsec += timeout->tv_nsec;
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
		endp = &end;
	}
	enter();
	for (;;) {
		r = file_lock(g_me);
		if (r < 0)
			break;
		t = thread_locked();
		if (!t) {
			file_unlock(g_me);
			r = -EAGAIN;
			break;
		}
		s = dequeue(g_me, t, want, &in);
		if (s) {
			t->waiting = 0;
			file_unlock(g_me);
			if (maybe_lost)
				count_lost_wake();
			if (info) {
				fill_siginfo(info, s, &in);
#ifdef __GLIBC__
				/* As glibc's sigtimedwait reports a tgkill's
				 * signal (POSIX wants SI_USER); musl's
				 * leaves the kernel's SI_TKILL. */
				if (info->si_code == SI_TKILL)
					info->si_code = SI_USER;
#endif
			}
			r = s;
			break;
		}
		seen = atomic_load(&t->wake);
		t->waiting = want;
		file_unlock(g_me);
		if (timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
			r = -EAGAIN;
		} else {
			/* A sender on another CPU is usually quick: spin a
			 * little first (never on one CPU), and a sender that
			 * finds us spinning makes no system call. */
			for (int i = 0; i < spin_max() && !t_deferred &&
			     atomic_load(&t->wake) == seen; i++)
				uipc_cpu_relax();
			if (atomic_load(&t->wake) != seen)
				continue;
			atomic_store(&t->sleeping, 1);
			r = t_deferred ? -EINTR : uipc_futex_wait(&t->wake, seen, endp);
			atomic_store(&t->sleeping, 0);
			/* Back from the safety period with the word as it was:
			 * a signal found now was sent without its wake-up. */
			maybe_lost = r == 0 && !endp && atomic_load(&t->wake) == seen;
			if (r == 0)
				continue;
			if (r == -ETIMEDOUT)
				r = -EAGAIN;
		}
		/* A doorbell for a signal outside the set: its handler runs
		 * as we leave, and the wait fails with EINTR. */
		if (file_lock(g_me) == 0) {
			t = thread_locked();
			if (t)
				t->waiting = 0;
			file_unlock(g_me);
		}
		if (r != -EINTR && t_deferred)
			r = -EINTR;
		break;
	}
	leave();
	return r;
}

int uipc_sigtimedwait(const sigset_t *set, siginfo_t *info,
		      const struct timespec *timeout)
{
	return (int)UIPC_RET(timed_wait(set, info, timeout));
}

int uipc_sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	return (int)UIPC_RET(timed_wait(set, info, NULL));
}

int uipc_sigwait(const sigset_t *set, int *sig)
{
	int r;

	do
		r = timed_wait(set, NULL, NULL);
	while (r == -EINTR);
	if (r < 0)
		return -r;
	*sig = r;
	return 0;
}

/* Sleeps with mask installed until a handler has run: -EINTR. */
static int suspend(const sigset_t *mask)
{
	struct sig_thread *t;
	sigbits old;
	uint32_t seen;
	int r = me_ready();

	if (r < 0)
		return r;
	t = me_locked(&r);
	if (!t)
		return r;
	old = t->blocked;
	if (mask)
		t->blocked = to_bits(mask) & ~(bit(SIGKILL) | bit(SIGSTOP));
	file_unlock(g_me);
	t_in_call--;
	/* Until a handler has run in this thread: a wake-up for a signal
	 * that ran none (a stop and a continue, one another thread took)
	 * waits on, as the kernel's sigsuspend does. */
	for (unsigned long before = t_handlers; t_handlers == before;) {
		struct sig_thread *me = &g_me->thr[t_idx];

		seen = atomic_load(&me->wake);
		dispatch();
		if (t_handlers != before)
			break;
		if (t_deferred) {
			/* A doorbell while dispatch had the file: it rang
			 * for something now pending.  Look again. */
			t_deferred = 0;
			continue;
		}
		/* While we wait (not while a handler runs: dispatch takes
		 * the set back), a sender of what the mask lets in bumps
		 * the word and wakes us, as for sigtimedwait: no doorbell,
		 * no signal frame, and no system call while we spin (never
		 * on one CPU). */
		atomic_store(&me->waiting, ~atomic_load(&me->blocked) &
			     ((sigbits)-1 >> (64 - SIG_NSIG)));
		for (int i = 0; i < spin_max() && atomic_load(&me->wake) == seen; i++)
			uipc_cpu_relax();
		if (atomic_load(&me->wake) == seen) {
			/* A doorbell or a bump between here and the sleep
			 * moves the word. */
			atomic_store(&me->sleeping, 1);
			uipc_futex_wait(&me->wake, seen, NULL);
			atomic_store(&me->sleeping, 0);
		}
		atomic_store(&me->waiting, 0);
	}
	t_in_call++;
	if (file_lock(g_me) == 0) {
		t = thread_locked();
		if (t)
			t->blocked = old;
		file_unlock(g_me);
	}
	leave();
	return -EINTR;
}

int uipc_sigsuspend(const sigset_t *mask)
{
	return (int)UIPC_RET(suspend(mask));
}

int uipc_pause(void)
{
	return (int)UIPC_RET(suspend(NULL));
}

/* ---------------------------------------------------------------------
 * Exit work.
 * ------------------------------------------------------------------- */

/* Whether the process of file f lives on after an exec (its pid and
 * start time): the file is for its new image to take over. */
static int execed(const struct sig_file *f)
{
	uint32_t start = f->start;

	return start && !uipc_pid_gone(f->pid, start);
}

void uipc_sig_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	pid_t pid = h->ns->proc[slot < UIPC_MAXPROC ? slot : 0].pid;
	struct sig_file *f;
	char name[32];
	int fd;

	if (pid <= 0)
		return;
	file_name(name, sizeof(name), pid);
	fd = uipc_ns_openat(h, name, O_RDONLY);
	if (fd < 0)
		return;
	f = NULL;
	{
		struct stat st;

		if (fstat(fd, &st) == 0 && st.st_size == (off_t)sizeof(*f))
			f = mmap(NULL, sizeof(*f), PROT_READ, MAP_SHARED, fd, 0);
	}
	close(fd);
	if (!f || f == MAP_FAILED)
		return;
	if (f->slot == slot && f->gen == gen && f->pid == pid && !execed(f))
		unlinkat(h->dirfd, name, 0);
	munmap(f, sizeof(*f));
}

/* Calls fn for each signal file of the namespace the caller may open,
 * under its name, mapped (NULL: not one of this layout, or not made by
 * its process's uid; st: its file's), until fn answers non-zero; returns
 * that. */
static int each_file(struct uipc_nsh *h,
		     int (*fn)(struct uipc_nsh *, struct sig_file *, pid_t,
			       const struct stat *, const char *, void *),
		     void *arg)
{
	DIR *d = uipc_ns_opendir(h);
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while (r == 0 && (de = readdir(d))) {
		struct sig_file *f;
		struct stat st;
		pid_t pid;
		int fd;

		if (!name_of(de->d_name, &pid))
			continue;
		fd = uipc_ns_openat(h, de->d_name, O_RDWR);
		if (fd < 0)
			continue;
		f = file_owned(fd, pid, &st) ? map_fd(fd) : NULL;
		close(fd);
		r = fn(h, f, pid, &st, de->d_name, arg);
		if (f)
			munmap(f, sizeof(*f));
	}
	closedir(d);
	return r;
}

static int sweep_one(struct uipc_nsh *h, struct sig_file *f, pid_t pid,
		     const struct stat *st, const char *name, void *arg)
{
	(void)st;
	/* A pid nobody has is nobody's file, whatever it holds (one of
	 * another layout, say); else its registration decides. */
	if ((!f ? kill(pid, 0) < 0 && errno == ESRCH :
		  f->pid == pid && !uipc_proc_alive(h, f->slot, f->gen, pid) &&
		  !execed(f)) &&
	    unlinkat(h->dirfd, name, 0) == 0)
		++*(int *)arg;
	return 0;
}

int uipc_sig_sweep(struct uipc_nsh *h)
{
	int n = 0;

	each_file(h, sweep_one, &n);
	return n;
}

/* ---------------------------------------------------------------------
 * For the tool.
 * ------------------------------------------------------------------- */

struct list_arg {
	int (*fn)(const struct uipc_sig_proc_info *, void *);
	void *arg;
};

static int list_one(struct uipc_nsh *h, struct sig_file *f, pid_t pid,
		    const struct stat *st, const char *name, void *arg)
{
	const struct list_arg *a = arg;
	struct uipc_sig_proc_info pi;
	int r;

	(void)name;
	if (!f || !file_live(h, f, pid) || file_lock(f) < 0)
		return 0;
	memset(&pi, 0, sizeof(pi));
	pi.pid = pid;
	pi.uid = st->st_uid;
	pi.shared = pend_proc(f);
	for (int i = 0, n = thr_count(f); i < n; i++)
		if (f->tids[i]) {
			pi.pending |= pend_thread(f, &f->thr[i]);
			pi.nthreads++;
		}
	pi.blocked = f->thr[0].blocked;
	pi.ignored = atomic_load(&f->set_ign);
	pi.caught = atomic_load(&f->caught);
	for (int i = 0; i < SIG_RTQ; i++)
		pi.queued += rt_for(&f->rt[i], f->rt[i].tid);
	file_unlock(f);
	r = a->fn(&pi, a->arg);
	return r;
}

int uipc_sig_list(int (*fn)(const struct uipc_sig_proc_info *, void *), void *arg)
{
	struct list_arg a = { fn, arg };
	struct uipc_nsh *h;
	int r = 0;

	h = uipc_ns_get(&r);
	return h ? each_file(h, list_one, &a) : r;
}

/* ---------------------------------------------------------------------
 * setrlimit and prlimit: the process's new RLIMIT_SIGPENDING into its
 * file, for its senders.  Exported and weak, as src/cred.c's stand-ins.
 * They make the system call themselves, as the C libraries' own do
 * (glibc's and musl's setrlimit are prlimit64 of pid 0): no look-up, and
 * nothing a sanitizer watches, since its runtime calls setrlimit before it
 * is ready (ASan's init, RLIMIT_CORE).  A limit another process sets with
 * prlimit(pid) is seen at the target's next exec or fork (docs/uipc.md).
 * ------------------------------------------------------------------- */

/* Where struct rlimit is prlimit64's (64-bit rlim_t); elsewhere the
 * limit is read when the file is made only. */
#if __SIZEOF_LONG__ == 8
#define STAND_IN __attribute__((visibility("default"), weak))
#define NO_SAN __attribute__((no_sanitize("address", "undefined")))
#ifdef __GLIBC__
typedef __rlimit_resource_t rl_res;
#else
typedef int rl_res;
#endif

/* prlimit64(pid, resource, new, old): the result or -errno. */
NO_SAN static long raw_prlimit(pid_t pid, int resource, const void *new_limit,
			       void *old_limit)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = (long)old_limit;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_prlimit64), "D"((long)pid),
			   "S"((long)resource), "d"(new_limit), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
#else
	long r = syscall(SYS_prlimit64, pid, resource, new_limit, old_limit);

	return r < 0 ? -errno : r;
#endif
}

/* The call's result as the C library gives it, after publishing a new
 * RLIMIT_SIGPENDING of this process (errno kept). */
NO_SAN static int rl_done(long r, int resource, int ours)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	if (ours && resource == RLIMIT_SIGPENDING && g_me &&
	    RD(g_me->pid) == uipc_getpid()) {
		int e = errno;

		atomic_store_explicit((_Atomic uint64_t *)&g_me->sigpending_max,
				      own_limit(), memory_order_relaxed);
		errno = e;
	}
	return 0;
}

NO_SAN STAND_IN int prlimit(pid_t pid, rl_res resource,
			    const struct rlimit *new_limit, struct rlimit *old_limit)
{
	return rl_done(raw_prlimit(pid, (int)resource, new_limit, old_limit),
		       (int)resource, new_limit && (pid == 0 || pid == uipc_getpid()));
}

NO_SAN STAND_IN int setrlimit(rl_res resource, const struct rlimit *rlim)
{
	return rl_done(raw_prlimit(0, (int)resource, rlim, NULL), (int)resource, 1);
}

#if !defined(setrlimit64) && defined(__GLIBC__)
/* glibc's large-file names are functions of their own (aliases). */
NO_SAN STAND_IN int setrlimit64(rl_res resource, const struct rlimit64 *rlim)
{
	return rl_done(raw_prlimit(0, (int)resource, rlim, NULL), (int)resource, 1);
}

NO_SAN STAND_IN int prlimit64(pid_t pid, rl_res resource,
			      const struct rlimit64 *new_limit,
			      struct rlimit64 *old_limit)
{
	return rl_done(raw_prlimit(pid, (int)resource, new_limit, old_limit),
		       (int)resource, new_limit && (pid == 0 || pid == uipc_getpid()));
}
#endif
#endif /* __SIZEOF_LONG__ == 8 */
