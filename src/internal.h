/*
 * uipc internals shared by the mechanisms, the tool and the tests.
 *
 * Conventions: internal functions return 0 or a positive value on success
 * and -errno on failure; the public uipc_* functions convert once, at the
 * edge, with uipc_ret().  Everything that lives in shared memory is laid out
 * with offsets or indices, never pointers, and carries a magic, a layout
 * version and a _Static_assert on its size.
 *
 * Lock order (outermost first):
 *   1. the namespace lock (struct uipc_ns.lock): id allocation, key lookup,
 *      creation and removal of object files;
 *   2. an object's lock (struct uipc_obj.lock): everything inside the object.
 * Two object locks are never held at once.  Both are uipc locks (lock.c): a
 * word naming the owning process, no pointer, its owner's death told by the
 * kernel's own facts; the next owner after a dead one repairs the structure
 * before use.
 */
#ifndef UIPC_INTERNAL_H
#define UIPC_INTERNAL_H

/* Shared words are laid out for a little-endian CPU: a semaphore's value
 * and pid are one 64-bit word whose top bit (SLOT_LOCKED) must fall in the
 * pid, and the layouts are not checked for another byte order.  Every CPU
 * Linux and Android run on today in little-endian mode builds; a
 * big-endian one is refused here rather than mis-built. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "uipc supports little-endian CPUs only: its shared words (sem.c's value and pid word) assume that byte order"
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>
#include <sys/types.h>
#include <time.h>

#include "uipc.h"

#define UIPC_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The shapes of ipcperms() requests, as the kernel names them. */
#define S_IRUGO 0444
#define S_IWUGO 0222

/* One read of a field in a shared file, which another process may rewrite
 * at any time (also under our lock): what is checked must be what is used,
 * so a value that becomes an index, a count, a length or a loop bound is
 * read once with RD(), into a local, and bounded there (a plain read could
 * be made again by the compiler). */
#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* The same of a field declared _Atomic (clang takes __atomic_load_n only
 * of plain objects, and atomic_load_explicit only of _Atomic ones). */
#define RDA(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* Negative errno inside, -1/errno at the public edge. */
static inline long uipc_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* A public function's return: expr's result, or -1 with errno set from
 * it; on success errno is left as the caller had it, as a system call
 * leaves it (the work behind expr may have set it on the way). */
#define UIPC_RET(expr) \
	({ \
		int saved_errno_ = errno; \
		long r_ = (expr); \
		if (r_ >= 0) \
			errno = saved_errno_; \
		uipc_ret(r_); \
	})

/* ---------------------------------------------------------------------
 * Limits: one named setting per kernel sysctl, with the kernel's default.
 * ------------------------------------------------------------------- */
enum uipc_limit {
	UL_MSGMAX,	/* kernel.msgmax: largest message, bytes */
	UL_MSGMNB,	/* kernel.msgmnb: default and unprivileged max qbytes */
	UL_MSGMNI,	/* kernel.msgmni: most queues in a namespace */
	UL_SEMMSL,	/* kernel.sem[0]: semaphores per set */
	UL_SEMMNS,	/* kernel.sem[1]: semaphores in all sets */
	UL_SEMOPM,	/* kernel.sem[2]: operations per semop */
	UL_SEMMNI,	/* kernel.sem[3]: most sets */
	UL_SHMMAX,	/* kernel.shmmax: largest segment, bytes */
	UL_SHMALL,	/* kernel.shmall: pages in all segments */
	UL_SHMMNI,	/* kernel.shmmni: most segments */
	UL_PIPEMAX,	/* fs.pipe-max-size: largest unprivileged pipe, bytes */
	UL_SHMRMID,	/* kernel.shm_rmid_forced: kept, not acted on yet */
	UL_NLIMITS
};
#define UIPC_LIMIT_SLOTS 32	/* room in the limits file for more */

struct uipc_limit_def {
	const char *name;	/* as `uipc limits` and sysctl name it */
	int64_t def, min, max;
	int used;		/* a mechanism reads it already */
	/* An unsigned long for the kernel (shmmax, shmall): the value's
	 * bits are a uint64_t, min and max do not apply. */
	int uns;
};
UIPC_HIDDEN extern const struct uipc_limit_def uipc_limit_defs[UL_NLIMITS];

/* Fixed by the kernel's ABI, not tunable. */
#define UIPC_IPCMNI	32768		/* IPCMNI: index space per kind */
#define UIPC_SEQ_MAX	(INT_MAX / UIPC_IPCMNI)	/* ipcid_seq_max() */
#define UIPC_MAXPROC	16384		/* processes registered at once */

enum uipc_kind { UIPC_MSG = 0, UIPC_SEM = 1, UIPC_SHM = 2, UIPC_NKINDS };
UIPC_HIDDEN extern const char *const uipc_kind_name[UIPC_NKINDS];

/* ---------------------------------------------------------------------
 * The namespace file ("ns" in the namespace directory).
 * ------------------------------------------------------------------- */
#define UIPC_NS_MAGIC	0x4e435049u	/* "IPCN" */
#define UIPC_LAYOUT	8		/* bump on any shared layout change */

/*
 * A cross-process lock (lock.c): one 64-bit word in shared memory, 0 when
 * free, else the owner's pid (and a waiters bit) in the 32-bit half the
 * futex sleeps on and the owner's start time in the other, so that a
 * waiter can ask the kernel whether that very process still lives.  No
 * pointer, nothing the kernel writes: garbage in it costs a bounded wait.
 */
struct uipc_lock {
	_Atomic uint64_t word;
};

/*
 * A registered process.  stamp = generation << 1 | live.  Liveness is
 * proved by a POSIX write lock the process holds on byte proc_lock_off(i)
 * of the namespace file: only death (or exec, the descriptor being
 * close-on-exec) releases it, so anyone can test it with F_GETLK.
 */
struct uipc_proc {
	_Atomic uint64_t stamp;
	int32_t pid;
	uint32_t uid, gid;
	_Atomic uint32_t uses;	/* UIPC_USE_*: exit work it may need */
	int64_t since;		/* registration time, CLOCK_REALTIME ns */
	char pad[128 - 32];
};
_Static_assert(sizeof(struct uipc_proc) == 128, "proc entry layout");
#define UIPC_USE_MSGWAIT 1u	/* has waited on a message queue */
#define UIPC_USE_SHM 2u	/* has attached a shared memory segment */
#define UIPC_USE_PIPE 4u	/* holds (or held) a uipc pipe end */
#define UIPC_USE_SPARE 8u	/* keeps spare object files (store.c) */
#define UIPC_USE_SIG 16u	/* has a signal file (signal.c) */

struct uipc_ids {
	int32_t seq;		/* current sequence number */
	int32_t last_idx;	/* last index given out: allocation cycles */
	int32_t in_use;		/* objects of this kind */
	/* kernel.<kind>_next_id + 1 (0: none): the id the next object
	 * gets if it is free (ipc_idr_alloc), asked for by the limits'
	 * owner but in this table anyone may write, so bounded when used. */
	uint32_t next_id1;
	int64_t units;		/* sum of the objects' units: semmns, shmall */
	uint32_t slot[UIPC_IPCMNI];	/* id + 1 of the object at each index */
};

struct uipc_ns {
	uint32_t magic, layout, size, pad;
	struct uipc_lock lock;
	/* Blocked calls' sleeps that ended by the safety period although a
	 * waker had set their word: wake-ups lost (wait.c).  A statistic
	 * for the tests (anyone may write it), never a decision. */
	_Atomic uint64_t lost_wakes;
	char pad2[64 - sizeof(struct uipc_lock) - 8];
	struct uipc_ids ids[UIPC_NKINDS];
	struct uipc_proc proc[UIPC_MAXPROC];
};

/*
 * The limits file ("limits"): the namespace's settings.  Mode 0644 and the
 * directory owner's, so only that owner (or root) may change them, as only
 * root may change the kernel's sysctls; everyone else maps it read-only.
 */
#define UIPC_LIMITS_MAGIC 0x4c435049u	/* "IPCL" */
struct uipc_limits {
	uint32_t magic, layout;
	int64_t limit[UIPC_LIMIT_SLOTS];
};
_Static_assert(sizeof(struct uipc_limits) == 8 + 8 * UIPC_LIMIT_SLOTS,
	       "limits layout");

static inline off_t proc_lock_off(uint32_t slot)
{
	return (off_t)offsetof(struct uipc_ns, proc) +
	       (off_t)slot * (off_t)sizeof(struct uipc_proc);
}

/* ---------------------------------------------------------------------
 * Object files: "msg.<id>", and "msg.k.<key>" a symlink to it.
 * ------------------------------------------------------------------- */
#define UIPC_OBJ_MAGIC	0x4f435049u	/* "IPCO" */
enum { OBJ_LIVE = 1, OBJ_REMOVED = 2 };

struct uipc_obj {
	uint32_t magic;
	uint16_t layout;
	uint16_t kind;
	uint32_t hdr_size;	/* sizeof the kind's header: ABI check */
	_Atomic uint32_t state;	/* OBJ_LIVE, then OBJ_REMOVED for good */
	int32_t id;
	int32_t key;
	struct uipc_lock lock;
	_Atomic uint32_t perm_seq;	/* bumped by IPC_SET */
	uint32_t mode;		/* permission bits and kind flags */
	uint32_t uid, gid, cuid, cgid;
	int64_t ctime;
	int64_t units;		/* what it counts against its kind's total */
};

/* ---------------------------------------------------------------------
 * util.c: time, permissions, fault-guarded copies; cred.c: credentials.
 * ------------------------------------------------------------------- */
UIPC_HIDDEN int64_t uipc_now(void);	/* CLOCK_REALTIME seconds */
/* getpid() without the system call glibc makes for it; a forked child
 * forgets the cached value (uipc_pid_forget, from the atfork handler). */
UIPC_HIDDEN pid_t uipc_getpid(void);
UIPC_HIDDEN void uipc_pid_forget(void);
UIPC_HIDDEN int64_t uipc_now_ns(void);

/* Kernel features newer than Linux 4.14 that uipc uses.  Each has a
 * fallback, taken at run time when the kernel refuses the feature; the
 * environment variable UIPC_FALLBACK forces them ("all", or names from
 * uipc_feature_name separated by commas), so that the suite runs as on an
 * older kernel.  uipc_fallback(f): whether f is forced off. */
enum uipc_feature {
	UF_EPOLL_PWAIT2,	/* 5.11: a sleep's timeout as a timespec */
	UF_IO_URING,		/* 5.1: pipes' readers-gone watch */
	UF_RWF_NOWAIT,		/* 5.8 for pipes: preadv2/pwritev2 flag */
	UF_MAP_NOREPLACE,	/* 4.17: MAP_FIXED_NOREPLACE for shmat */
	UF_NFEATURES
};
UIPC_HIDDEN extern const char *const uipc_feature_name[UF_NFEATURES];
UIPC_HIDDEN int uipc_fallback(enum uipc_feature f);

/*
 * The calling process's credentials, cached (cred.c): good until the
 * process changes them, which the C library's set*id, setgroups and capset
 * calls, stood in for in cred.c, announce by bumping uipc_cred_gen.  A
 * check reads what it needs through uipc_euid(), uipc_egid(),
 * uipc_in_group() and uipc_capable(), which read a stale part again first
 * (the uncontended fast path finds nothing stale and makes no system call).
 * Read uipc_cred.euid and .egid directly only after uipc_cred_refresh() in
 * the same call.
 */
struct uipc_cred {
	_Atomic uid_t euid;
	_Atomic gid_t egid;
	_Atomic gid_t fsgid;	/* the group class's gid (in_group_p) */
	/* gen << 3 | the CRED_* parts read in that generation of
	 * uipc_cred_gen (its low 29 bits) */
	_Atomic uint32_t have;
	_Atomic int ngroups;
	_Atomic(gid_t) *_Atomic groups;	/* supplementary; grows, never freed */
	_Atomic uint64_t caps;		/* effective capability set */
};
#define CRED_GROUPS 1
#define CRED_CAPS 2
#define CRED_IDS 4
UIPC_HIDDEN extern struct uipc_cred uipc_cred;
/* Moves at every change of credentials and every refresh, so that
 * permission checks cached per object can tell they are stale. */
UIPC_HIDDEN extern _Atomic uint32_t uipc_cred_gen;
/* Reads euid, egid and fsgid afresh (two system calls, three once the
 * process has called setfsgid) and forgets the groups and the
 * capabilities, read again when a check needs them: the slow paths call
 * it, so they see even a change no stand-in saw (a raw system call). */
UIPC_HIDDEN void uipc_cred_refresh(void);
struct stat;
/* The credentials changed: the next check reads them again.  One atomic
 * increment; async-signal-safe. */
UIPC_HIDDEN void uipc_cred_invalidate(void);
UIPC_HIDDEN uid_t uipc_euid(void);
UIPC_HIDDEN gid_t uipc_egid(void);
/* The file system uid: the euid unless setfsuid moved it (then asked). */
UIPC_HIDDEN uid_t uipc_fsuid(void);
/* The uid files of owners not mapped into the caller's user namespace
 * show (overflowuid). */
UIPC_HIDDEN uid_t uipc_overflowuid(void);
/* Whether the caller owns the file st describes, by the kernel's account:
 * its fsuid, and not the overflow uid (in a user namespace every owner not
 * mapped there shows as that one, which may be the caller's). */
UIPC_HIDDEN int uipc_owns_file(const struct stat *st);
/* Whether the caller has capability cap (CAP_IPC_OWNER, ...) in effect. */
UIPC_HIDDEN int uipc_capable(int cap);

/* A pause in a spin loop. */
static inline void uipc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}
/* The kernel's in_group_p(): whether g is the caller's file system gid (its
 * egid unless setfsgid moved it) or one of its supplementary groups. */
UIPC_HIDDEN int uipc_in_group(gid_t g);

/* ipcperms(): 0 if the caller may do what flag's rwx bits ask, else
 * -EACCES.  flag uses the S_IRUGO/S_IWUGO shape or msgget's mode bits. */
UIPC_HIDDEN int uipc_ipcperms(const struct uipc_obj *o, int flag);
/* IPC_SET/IPC_RMID: owner, creator or CAP_SYS_ADMIN, else -EPERM. */
UIPC_HIDDEN int uipc_check_owner(const struct uipc_obj *o);
UIPC_HIDDEN void uipc_fill_perm(const struct uipc_obj *o, struct ipc_perm *p);

/*
 * Copies to and from the caller's memory that answer -EFAULT instead of
 * crashing on a bad address.  They need no system call: a SIGSEGV/SIGBUS
 * handler, installed once, jumps back out of a faulting copy and passes
 * every other fault on to the handler that was there before.
 */
UIPC_HIDDEN int uipc_copy_from_user(void *dst, const void *src, size_t n);

/* The C library's own definitions of the functions a file stands in for
 * (dlsym(RTLD_NEXT)), all found at once: in its constructor, or at the
 * first call made before it (another library's constructor); dlsym is no
 * call for a signal handler or a vfork child, which may call them.  NULL
 * in a program linked statically with the C library. */
struct uipc_next_table {
	const char *const *names;
	void *_Atomic *ptr;
	int n;
	_Atomic int resolved;
};
UIPC_HIDDEN void uipc_next_resolve(struct uipc_next_table *t);

static inline void *uipc_next(struct uipc_next_table *t, int i)
{
	if (unlikely(!atomic_load_explicit(&t->resolved, memory_order_acquire)))
		uipc_next_resolve(t);
	return atomic_load_explicit(&t->ptr[i], memory_order_relaxed);
}
/* The C library's own read, write, ... (never a stand-in for them, such
 * as the shim's under `uipc run --pipes`, which calls into pipe.c): for
 * the calls pipe.c and wait.c make on descriptors (src/libc_calls.h). */
enum uipc_k {
	UIPC_K_READ, UIPC_K_WRITE, UIPC_K_READV, UIPC_K_WRITEV, UIPC_K_CLOSE,
	UIPC_K_DUP, UIPC_K_DUP2, UIPC_K_DUP3, UIPC_K_FCNTL, UIPC_K_IOCTL,
	UIPC_K_POLL, UIPC_K_PPOLL, UIPC_K_PIPE2, UIPC_K_EPOLL_CTL, UIPC_K_COUNT
};
UIPC_HIDDEN void *uipc_libc(enum uipc_k i);
UIPC_HIDDEN int uipc_copy_to_user(void *dst, const void *src, size_t n);
/* Reads one byte of every page of [p, p+n): -EFAULT if any is unmapped. */
UIPC_HIDDEN int uipc_probe_read(const void *p, size_t n);
/* The asynchronous signals: every one but those of a fault (blocked, a
 * fault's would kill the process instead of running its handler). */
UIPC_HIDDEN void uipc_async_signals(sigset_t *set);
/* Blocks them, the mask before in *old; and puts that back. */
UIPC_HIDDEN void uipc_block_async(sigset_t *old);
UIPC_HIDDEN void uipc_restore_mask(const sigset_t *old);
/* A process-local mutex held with the asynchronous signals blocked, for
 * code that a signal handler may reach (the pipe calls are
 * async-signal-safe, and a first call sets up the records every call
 * uses): a handler must never find one held by the code it interrupted,
 * it would wait for good.  *saved keeps the mask the thread had until the
 * unlock. */
UIPC_HIDDEN void uipc_mutex_lock_quiet(pthread_mutex_t *mu, sigset_t *saved);
UIPC_HIDDEN void uipc_mutex_unlock_quiet(pthread_mutex_t *mu,
					 const sigset_t *saved);
/*
 * For a run of copies under one guard:
 *	uipc_guard_ready();
 *	if (sigsetjmp(jb, 0)) { uipc_guard_jb = NULL; ...fault... }
 *	uipc_guard_jb = &jb; ...uipc_raw_copy()... uipc_guard_jb = NULL;
 * Locals changed between sigsetjmp and the fault must be volatile.
 */
UIPC_HIDDEN extern __thread sigjmp_buf *uipc_guard_jb
	__attribute__((tls_model("initial-exec")));
UIPC_HIDDEN void uipc_guard_ready(void);
/* Installs the handler now, and has it mend a SIGBUS on a shared mapping
 * of a file under dir (the namespace directory, canonical): such a file
 * truncated by someone who may write it gets its length back. */
UIPC_HIDDEN void uipc_guard_ns(const char *dir);
UIPC_HIDDEN void uipc_raw_copy(void *d, const void *s, size_t n);

/* ---------------------------------------------------------------------
 * lock.c: cross-process locks, futexes, what the kernel says of a pid.
 * ------------------------------------------------------------------- */
/* Takes l.  If its owner died holding it (or the word is garbage), calls
 * repair(arg) with l held before returning.  Returns 0, or -EIO when l
 * stayed held by one live process for LOCK_PATIENCE (lock.c): a holder
 * that never lets go, or a word someone forged, costs a bounded wait. */
UIPC_HIDDEN int uipc_lock_acquire(struct uipc_lock *l, void (*repair)(void *),
				  void *arg);
/* The same with the patience of one look at the owner (about 50 ms): for
 * work that may pass a lock by (scans of files another user may have
 * planted, exit work done for others).  A dead owner's is repaired. */
UIPC_HIDDEN int uipc_lock_acquire_brief(struct uipc_lock *l,
					void (*repair)(void *), void *arg);
UIPC_HIDDEN void uipc_lock_release(struct uipc_lock *l);

/* What /proc/<pid>/stat says: 1 if pid is gone, a zombie or exiting, or
 * (start != 0) a later process with the same pid; else 0.  A process we
 * cannot see (hidepid) counts as alive. */
/* The state letter of /proc/PID/stat ('T' stopped, 'Z' zombie...), or 0
 * if it cannot be read. */
UIPC_HIDDEN char uipc_pid_state(pid_t pid);
UIPC_HIDDEN int uipc_pid_gone(pid_t pid, uint32_t start);
/* /proc/<pid>/<name> (pid 0: this process's), what one read gives of it,
 * NUL-terminated in buf: its length, or -errno. */
UIPC_HIDDEN ssize_t uipc_proc_file(pid_t pid, const char *name, char *buf, size_t n);
/* The start time of process pid (clock ticks since boot, low 32 bits),
 * or 0 when it cannot be read. */
UIPC_HIDDEN uint32_t uipc_pid_start(pid_t pid);

/* Waits while *word == val, until the CLOCK_MONOTONIC time abs_mono, or
 * without one for at most a safety period (then returns 0: look again).
 * Returns 0 when woken or the value changed, -EINTR when a signal handler
 * ran, -ETIMEDOUT at abs_mono.  A handler always interrupts it, whatever
 * SA_RESTART says, as the kernel's msgrcv/semop are. */
UIPC_HIDDEN int uipc_futex_wait(_Atomic uint32_t *word, uint32_t val,
				const struct timespec *abs_mono);
UIPC_HIDDEN void uipc_futex_wake(_Atomic uint32_t *word, int n);

/* How long a sleep with no deadline lasts before its caller looks again:
 * it bounds the delay of a wake lost to a waker killed before it woke. */
#define UIPC_SAFETY_PERIOD_S	1

/* ---------------------------------------------------------------------
 * wait.c: blocked calls' sleeps, exact about EINTR, and their wakes.
 *
 * A waiter record's word: 0 asleep, UIPC_W_WOKEN set by a waker (under the
 * object's lock), UIPC_W_SPINNING while its owner spins.  A waker that
 * exchanges UIPC_W_WOKEN for UIPC_W_SPINNING needs no system call; else,
 * after unlocking, it calls uipc_wake() with the record's address.
 * ------------------------------------------------------------------- */
#define UIPC_W_WOKEN	1
#define UIPC_W_SPINNING	2
/* How long a waiter spins, in pauses: a few microseconds, about what the
 * other side of a ping-pong takes to answer from another CPU. */
#define UIPC_SPIN_WAIT	200
/* uipc_wait_begin's flags: the call (a site, for uipc_wait_likely), and
 * UIPC_WAIT_STOP: its sleep fails with EINTR after a stop and a continue
 * (semop's). */
enum { UIPC_SITE_MSGSND, UIPC_SITE_MSGRCV, UIPC_SITE_SEMOP, UIPC_SITE_PIPERD,
       UIPC_SITE_PIPEWR, UIPC_WAIT_SITES };
#define UIPC_WAIT_SITE	0xf
#define UIPC_WAIT_STOP	0x10
/* The call sleeps on a descriptor of its own (a pipe's): no wake socket. */
#define UIPC_WAIT_NOSOCK 0x20

struct uipc_wait {		/* one call's */
	sigset_t old;		/* the caller's signal mask */
	uint32_t addr;		/* where a waker reaches this thread; 0: futex */
	int flags;
	int masked;		/* signals blocked (uipc_wait_begin) */
	int slept;		/* it waited (spun, slept) */
};

/*
 * A call that may block (a public function, before anything else):
 *	uipc_wait_init(&w, site); if (it may block) uipc_wait_early(&w);
 *	r = do_call(..., &w); uipc_wait_end(&w); return UIPC_RET(r);
 * uipc_wait_early blocks signals at once when this thread's last call at
 * the same site had to wait (or it made none): that closes the moment
 * between the call's start and its decision to wait, in which a handler
 * that runs would leave the call asleep; a thread whose calls seldom wait
 * keeps its fast path free of the two system calls.
 */
/* When the call decides to wait, before it queues itself (nothing if
 * uipc_wait_early did it): blocks the asynchronous signals (a handler that
 * would run from now on makes the sleep fail with -EINTR) and readies this
 * thread's wake socket.  0 or -errno. */
UIPC_HIDDEN int uipc_wait_begin(struct uipc_wait *w);
/* Where a blocking call's mask takes hold, and the public functions whose
 * first instructions come before it (as the C library's wrapper comes
 * before the kernel's system call): in a section of their own, so that
 * the tests tell a handler that ran there, with the signals not blocked
 * yet, from one that interrupted the call (tests/wait_eintr). */
#define UIPC_MASK_TEXT __attribute__((section("uipc_mask_text"), noinline))
UIPC_HIDDEN void uipc_wait_unmask(struct uipc_wait *w);
/* Per site, whether this thread's last call there returned without
 * waiting (inline: the fast path pays a load, no call). */
UIPC_HIDDEN extern __thread unsigned char uipc_went_through[UIPC_WAIT_SITES]
	__attribute__((tls_model("initial-exec")));

static inline void uipc_wait_init(struct uipc_wait *w, int flags)
{
	w->flags = flags;
	w->masked = w->slept = 0;
	w->addr = 0;
}

static inline void uipc_wait_early(struct uipc_wait *w)
{
	if (unlikely(!uipc_went_through[w->flags & UIPC_WAIT_SITE]))
		uipc_wait_begin(w);	/* on failure, again once it must wait */
}

/* Restores the caller's mask if blocked: what came meanwhile is delivered
 * now, before the call returns (and before errno is set, as after a
 * system call). */
static inline void uipc_wait_end(struct uipc_wait *w)
{
	if (unlikely(w->masked))
		uipc_wait_unmask(w);
}

/* What the waiter record publishes for its wakers. */
UIPC_HIDDEN uint32_t uipc_wait_addr(const struct uipc_wait *w);
/* Spins while another CPU may wake *word (0 on entry); 1 if woken, else 0
 * with *word 0 again.  No spin on one CPU. */
UIPC_HIDDEN int uipc_wait_spin(struct uipc_wait *w, _Atomic uint32_t *word);
/* Sleeps while *word is 0, until dl (CLOCK_MONOTONIC; NULL: at most the
 * safety period, then 0).  Returns 0 when woken (or for no reason: look
 * again), -EINTR when a handler ran, -ETIMEDOUT at dl. */
UIPC_HIDDEN int uipc_wait_sleep(struct uipc_wait *w, _Atomic uint32_t *word,
				const struct timespec *dl);
/* Sleeps while *word == val, a caller with no record to publish (all
 * taken): it looks every millisecond.  Returns as uipc_wait_sleep. */
UIPC_HIDDEN int uipc_wait_poll(struct uipc_wait *w, _Atomic uint32_t *word,
			       uint32_t val, const struct timespec *dl);
/*
 * Sleeps until kfd shows ev (or HUP/ERR: *rev says what it showed) or a
 * signal comes, for a call with a descriptor of its own to sleep on (a
 * pipe's kernel end).  Signals blocked (w->masked).  Returns 0 to look
 * again (1: after the safety period, so that the caller can count a lost
 * wake-up), -EINTR when the call must end: a handler without SA_RESTART
 * ran, or (moved: the call has done part of its work) any signal the
 * kernel would have noticed; signals are unblocked then (w->masked 0) and
 * the handlers have run.  Otherwise the call goes on, as the kernel
 * restarts one that -ERESTARTSYS ended.
 */
UIPC_HIDDEN int uipc_wait_fd(struct uipc_wait *w, int kfd, short ev, int moved,
			     short *rev);
/* How many wake-ups the namespace's sleepers lost so far (a sleep with no
 * deadline that ended by the safety period and found itself woken): 0
 * unless a waker died between its unlock and its wake, or a bug. */
UIPC_HIDDEN uint64_t uipc_lost_wakes(void);
/* Wakes the sleeper whose record published addr and whose word the caller
 * set.  Object unlocked. */
UIPC_HIDDEN void uipc_wake(uint32_t addr, _Atomic uint32_t *word);

/* ---------------------------------------------------------------------
 * store.c: the namespace and the per-process object cache.
 * ------------------------------------------------------------------- */
struct uipc_nsh {		/* this process's handle on its namespace */
	int dirfd;
	uid_t owner;		/* the directory's: the owner of "ns" and tables */
	int nsfd;		/* the namespace file; holds our liveness lock */
	struct uipc_ns *ns;
	struct uipc_limits *lim;	/* mapped read-write only for its owner */
	int lim_rw;
	char path[4096];
};

/* The namespace of this process (UIPC_NS), opened and created on first
 * use.  Returns NULL and sets *err on failure. */
UIPC_HIDDEN struct uipc_nsh *uipc_ns_get(int *err);
/* Whether fd is one of the namespace's own descriptors, which the shim's
 * close, close_range and closefrom leave open (store.c). */
UIPC_HIDDEN int uipc_ns_fd_keep(int fd);
/* Those descriptors into fds: how many (0 before the namespace is open). */
UIPC_HIDDEN int uipc_ns_fds(int fds[2]);
/* fd, if one of those, moved to another number before a dup2 or dup3
 * makes it another file: 0, 1 if it was the namespace file's (then
 * uipc_proc_relock() after the dup2, whose close of the old number drops
 * this process's record locks on that file), or -errno. */
UIPC_HIDDEN int uipc_ns_fd_move(int fd);
/* This process's record locks on the namespace file taken again (proc.c):
 * an instant without them, in which others may take it for dead. */
UIPC_HIDDEN void uipc_proc_relock(void);
/* Where default namespaces are made when /dev/shm will do. */
#define UIPC_DEFAULT_BASE "/dev/shm"
/* The namespace directory this process uses: UIPC_NS, else the default
 * (/dev/shm/uipc if root made it, else the caller's own; elsewhere where
 * /dev/shm cannot be written: see store.c, default_path). */
UIPC_HIDDEN int uipc_ns_path(char *buf, size_t n);
/* openat(2) of a file in the namespace directory, close-on-exec and never
 * through a symlink (-EIO for one); -errno. */
UIPC_HIDDEN int uipc_ns_openat(struct uipc_nsh *h, const char *name, int flags);
/* The namespace directory, to scan from its start (closedir it). */
UIPC_HIDDEN DIR *uipc_ns_opendir(struct uipc_nsh *h);
UIPC_HIDDEN int uipc_ns_lock(struct uipc_nsh *h);
UIPC_HIDDEN void uipc_ns_unlock(struct uipc_nsh *h);
UIPC_HIDDEN int64_t uipc_limit(struct uipc_nsh *h, enum uipc_limit l);
/* Sets a limit: 0, or -EPERM for a caller who may not write the limits
 * file (not its owner nor root). */
UIPC_HIDDEN int uipc_limit_set(struct uipc_nsh *h, enum uipc_limit l, int64_t v);
/* Whether the caller may change the limits: 0 or -EPERM. */
UIPC_HIDDEN int uipc_limits_writable(struct uipc_nsh *h);
/* kernel.<kind>_next_id: -1 (none) or the id asked for; setting it
 * (-1 clears) takes uipc_limits_writable's permission. */
UIPC_HIDDEN int uipc_next_id(struct uipc_nsh *h, enum uipc_kind k);
UIPC_HIDDEN int uipc_next_id_set(struct uipc_nsh *h, enum uipc_kind k, int id);

/* Bytes of a map's private copy of its header's checked facts. */
#define UIPC_MAP_PRIV 64

/* A mapping of one object file in this process. */
struct uipc_map {
	_Atomic long refs;	/* operations using it now */
	_Atomic int dead;	/* retired from the cache: unmap when unused */
	_Atomic int unmapped;
	int kind;
	int32_t id;
	void *base;
	size_t len;
	/* cached permission check: perm_seq << 32 | cred_gen << 8 | granted */
	_Atomic uint64_t perm_cache;
	/* The mechanism's own per-process hint (sem: our undo entry + 1);
	 * checked before use, since a forked child inherits it. */
	_Atomic int32_t aux;
	/* What the kind's validate() found in the header when this mapping
	 * was made (sem: the set's geometry), kept in this process's memory
	 * and fixed for the mapping's life: the header itself stays
	 * writable by others, so the kind addresses by this copy. */
	uint64_t priv[UIPC_MAP_PRIV / 8];
	struct uipc_map *retired_next;	/* kept, never freed, used again:
					 * see map_alloc in store.c */
	int listed;			/* on the retired list */
};

struct uipc_kind_ops {
	size_t hdr_size;
	/* Called with the object lock held after its last owner died. */
	void (*repair)(void *obj);
	/* Checks what can be checked of a freshly mapped object's header
	 * against the mapping length: 0 or -EIO.  What it checked and the
	 * kind goes on using it copies to priv (UIPC_MAP_PRIV bytes, the
	 * map's own, zeroed), reading each header field once. */
	int (*validate)(const void *obj, size_t len, void *priv);
	/* Non-zero: the bytes at the start of the object file that its
	 * header takes, all that a process maps for the object (shm: the
	 * segment's bytes follow, mapped by shmat); 0: the whole file. */
	size_t map_len;
	/* Non-zero: a whole object file is never removed on its header's
	 * word (ns_repair revives it instead): the kind tells its end by a
	 * fact the kernel keeps (shm: the file's sticky bit). */
	int keep_whole;
	/* Non-NULL: the files of removed objects may be kept for reuse by
	 * their remover (store.c, spares); clears the kind's part of such a
	 * header (the common part is written anew), reading no count from it
	 * unbounded, with the object lock held. */
	void (*recycle)(void *obj);
};
UIPC_HIDDEN extern const struct uipc_kind_ops *uipc_kind_ops[UIPC_NKINDS];

/* Finds the live object `id` of `kind` and takes a reference on its
 * mapping.  -EINVAL for a bad, stale or removed id, -EACCES when the
 * object file cannot be opened, -EIO for a corrupt file. */
UIPC_HIDDEN int uipc_obj_get(int kind, int id, struct uipc_map **out);
/* The same from this process's cache alone, opening nothing: -ENOENT if
 * it has no live map of the object. */
UIPC_HIDDEN int uipc_obj_peek(int kind, int id, struct uipc_map **out);
/* Whether m's object file has lost its name: removed, maybe when its
 * header was spoiled, so that nobody could mark it or wake its waiters
 * (a sleeper back without a wake asks). */
UIPC_HIDDEN int uipc_obj_unnamed(struct uipc_map *m);
UIPC_HIDDEN void uipc_map_put(struct uipc_map *m);
/* Another reference on m, which the caller already holds one of. */
UIPC_HIDDEN void uipc_map_hold(struct uipc_map *m);
/* Replaces m in the cache with a fresh mapping of the same file (the
 * file grew).  Returns the new reference; m's reference is dropped. */
UIPC_HIDDEN int uipc_map_refresh(struct uipc_map **m);
/* Replaces the caller's reference to m with one to a longer mapping of
 * the same file (len bytes), in no cache: for an object whose name is
 * gone (removed), whose file grew.  -EIO if the file is shorter. */
UIPC_HIDDEN int uipc_map_widen(struct uipc_map **m, size_t len);

static inline struct uipc_obj *map_obj(struct uipc_map *m)
{
	return (struct uipc_obj *)m->base;
}

/* Locks m's object: 0, -EIO, or -EINVAL when the header names another
 * object (a writer of the file rewrote its id). */
UIPC_HIDDEN int uipc_obj_lock(struct uipc_map *m);
UIPC_HIDDEN void uipc_obj_unlock(struct uipc_map *m);

/* Cached ipcperms() for the operations on the fast path. */
UIPC_HIDDEN int uipc_map_perm(struct uipc_map *m, int flag);

/*
 * Generic get: the kernel's ipcget().  Looks key up under the namespace
 * lock; creates with init(obj, arg) when asked; applies IPC_CREAT,
 * IPC_EXCL and the permission bits.  more_checks(obj, arg) may refuse an
 * existing object (semget's nsems, shmget's size).  Returns the id.
 */
struct uipc_new {
	int kind;
	key_t key;
	int flg;
	size_t file_size;	/* whole object file */
	/* Bytes from the start of the file given their pages at once, not
	 * left holes: what every scan under the lock may read, which a full
	 * file system would otherwise make fault (SIGBUS) where first read. */
	size_t prealloc;
	int64_t units;		/* counted against the kind's total limit */
	/* Before anything is allocated for a new object: -errno refuses
	 * (semget's nsems of 0, say).  May be NULL. */
	int (*create_check)(void *arg);
	/* After the limit on the kind's units, before an id is taken, where
	 * the kernel sets up the object's store (shm's huge pages).  May be
	 * NULL. */
	int (*store_check)(void *arg);
	int (*init)(void *obj, void *arg);	/* -errno refuses */
	int (*more_checks)(void *obj, void *arg);
	void *arg;
	/* Not NULL, for a kind with map_len: the creator's read-write
	 * mapping of the rest of a new object's file (file_size - map_len
	 * bytes from map_len on; the header's mapping precedes it) is put
	 * here, NULL when nothing was created.  Otherwise that part is
	 * unmapped. */
	void **rest_out;
};
UIPC_HIDDEN int uipc_ipcget(struct uipc_new *n);

/* IPC_RMID: under the namespace lock, with the object locked, checks the
 * owner, calls kill(m) (m the object's map) to wake its waiters, marks the
 * object removed and unlinks its names.  Returns 0 or -errno. */
UIPC_HIDDEN int uipc_rmid(int kind, int id, void (*kill)(struct uipc_map *m));

/* The general form: under the same locks decide(obj, arg, file) says what
 * happens: UIPC_RM_NOW removes as IPC_RMID does, UIPC_RM_PRIVATE only
 * drops the key (shm's IPC_RMID with attachments left), UIPC_RM_KEEP
 * nothing; -errno refuses.  file: the object file's fstatat, taken under
 * the locks, for a kind whose files are kept for reuse (which asks it
 * again otherwise); NULL for the others, or if it failed. */
enum { UIPC_RM_NOW, UIPC_RM_PRIVATE, UIPC_RM_KEEP };
/* An object whose file cannot be used (-EIO: its header does not check
 * out, or the file was cut short) is removed all the same (its name, its
 * key link, its slot) if the caller owns the file (uipc_owns_file) or has
 * CAP_SYS_ADMIN, as the kernel's owner can always remove an object; no
 * waiter is woken (none can be told).  -EIO for anyone else. */
typedef int (*uipc_rm_decide)(void *obj, void *arg, const struct stat *file);
UIPC_HIDDEN int uipc_remove(int kind, int id, uipc_rm_decide decide, void *arg,
			    void (*kill)(struct uipc_map *m));

/* IPC_SET's common part, the kernel's ipc_update_perm(): uid, gid and the
 * mode's permission bits from p, ctime, and the object file's own mode.
 * Object locked; the caller has checked the owner.  -EINVAL for an
 * invalid uid or gid. */
UIPC_HIDDEN int uipc_set_perm(struct uipc_map *m, const struct ipc_perm *p);

/* *_STAT: the object at index idx (id masked as the kernel does). */
UIPC_HIDDEN int uipc_obj_get_by_index(int kind, int idx, struct uipc_map **out);
/* Highest index in use, or -1; the count of objects in *in_use. */
UIPC_HIDDEN int uipc_max_idx(int kind, int *in_use);


/* ---------------------------------------------------------------------
 * proc.c: the process table.
 * ------------------------------------------------------------------- */
struct uipc_self {
	uint32_t slot;
	uint32_t gen;
	pid_t pid;
	uint32_t start;		/* uipc_pid_start(pid) */
};
/* Registers this process in its namespace on first call (after fork, the
 * child registers anew).  Returns 0 or -errno. */
UIPC_HIDDEN int uipc_proc_self(struct uipc_self *out);
UIPC_HIDDEN void uipc_proc_note(uint32_t use);
/* 1 if the process registered as (slot, gen) with pid is alive, 0 if
 * dead, told by the kernel (a record lock only it can hold), not by the
 * world-writable table.  A system call (F_GETLK) unless it is the caller. */
UIPC_HIDDEN int uipc_proc_alive(struct uipc_nsh *h, uint32_t slot,
				uint32_t gen, pid_t pid);
/* The same for whatever process registered as (slot, gen). */
UIPC_HIDDEN int uipc_proc_gen_alive(struct uipc_nsh *h, uint32_t slot,
				    uint32_t gen);
/* Frees the table entries of dead processes after doing their exit work;
 * returns how many it reaped. */
UIPC_HIDDEN int uipc_proc_reap_all(struct uipc_nsh *h);
/* Whether the process that registered as (slot, gen, pid), with start
 * time start, is gone for good: its registration lock is gone (death or
 * exec) and no process of that pid and start time lives (not exec, then).
 * For what the kernel keeps across exec (SEM_UNDO adjustments). */
UIPC_HIDDEN int uipc_proc_gone(struct uipc_nsh *h, uint32_t slot, uint32_t gen,
			       pid_t pid, uint32_t start);
/* Process-local state to forget in a forked child. */
UIPC_HIDDEN void uipc_proc_forget(void);

/* ---------------------------------------------------------------------
 * msg.c hooks.
 * ------------------------------------------------------------------- */
UIPC_HIDDEN extern const struct uipc_kind_ops uipc_msg_ops;
/* Exit work for message queues: forget what (slot, gen) left behind, each
 * record only once the kernel says its process is dead. */
UIPC_HIDDEN void uipc_msg_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen);

/* For the tool: a consistent snapshot of one queue. */
struct uipc_msg_info {
	struct msqid_ds ds;
	int nrecv, nsend;	/* blocked receivers and senders */
	pid_t recv_pid[8], send_pid[8];
};
UIPC_HIDDEN int uipc_msg_snapshot(int id, struct uipc_msg_info *out);

/* ---------------------------------------------------------------------
 * sem.c hooks.
 * ------------------------------------------------------------------- */
UIPC_HIDDEN extern const struct uipc_kind_ops uipc_sem_ops;

/* For the tool: one set, its values and its waiters. */
struct uipc_sem_info {
	struct semid_ds ds;
	int nundo;		/* processes with adjustments recorded */
	struct {
		int val, pid, ncnt, zcnt;
	} *sem;			/* ds.sem_nsems entries, malloc'd */
};
UIPC_HIDDEN int uipc_sem_snapshot(int id, struct uipc_sem_info *out);

/* ---------------------------------------------------------------------
 * shm.c hooks.
 * ------------------------------------------------------------------- */
UIPC_HIDDEN extern const struct uipc_kind_ops uipc_shm_ops;
/* Exit work for shared memory: in every segment, drop the entries of dead
 * processes, (slot, gen)'s among them, and of failed forks (reap), each
 * only once the kernel says its process is dead; a removed segment left
 * unattached goes. */
UIPC_HIDDEN void uipc_shm_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen);

/* ---------------------------------------------------------------------
 * pipe.c hooks.
 * ------------------------------------------------------------------- */
/* Exit work for pipes: drop the holder records of (slot, gen), and remove
 * a ring no live process can reach any more. */
UIPC_HIDDEN void uipc_pipe_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen);

/* For the tool: one pipe ring of the namespace. */
struct uipc_pipe_info {
	uint64_t ino;		/* the kernel pipe's inode: pipe:[ino] */
	uid_t uid;		/* the ring's owner */
	unsigned size;		/* capacity, bytes (F_GETPIPE_SZ) */
	unsigned queued;	/* bytes in it (FIONREAD) */
	int packet;		/* O_DIRECT */
	int demoted;		/* back on the kernel's data path for good */
	int nrsleep, nwsleep;	/* blocked readers, writers */
	int nholders;
	pid_t holder[16];
	char holder_end[16];	/* 'r', 'w' or 'b' */
	uint64_t bytes;		/* written through the ring so far */
};
/* Calls fn for each pipe ring of the namespace the caller can read. */
UIPC_HIDDEN int uipc_pipe_list(int (*fn)(const struct uipc_pipe_info *, void *),
			       void *arg);
/* Removes the rings no process holds any more; returns how many. */
UIPC_HIDDEN int uipc_pipe_sweep(struct uipc_nsh *h);
/* The signal file of the registration (slot, gen), which has ended,
 * removed. */
UIPC_HIDDEN void uipc_sig_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen);
/* "UIPC_SIG_EXEC=..." into buf for the new image of a vfork child
 * (vfork_child) or of a posix_spawn child: the ignored signals and the
 * mask it keeps (setmask, setdef: posix_spawn's, or NULL).  1, or 0 when
 * there is nothing to pass. */
/* handoff.c: envp's entries, and envp with var put in (out: count + 2
 * entries; an entry of var's name replaced). */
UIPC_HIDDEN size_t uipc_env_count(char *const envp[]);
UIPC_HIDDEN char *const *uipc_env_with(char *const envp[], char *var, char **out);
/* For the shared library's pthread_create: whether this process takes
 * uipc signals, with the calling thread's mask; and, in the new thread,
 * the mask it starts with. */
UIPC_HIDDEN int uipc_sig_creator_mask(uint64_t *mask);
UIPC_HIDDEN void uipc_sig_born(uint64_t mask);
UIPC_HIDDEN int uipc_sig_exec_var(char *buf, size_t n, int vfork_child,
				  const sigset_t *setmask, const sigset_t *setdef);
/* Removes the signal files of processes that are gone (not those of one
 * that exec'd, for its new image): how many. */
UIPC_HIDDEN int uipc_sig_sweep(struct uipc_nsh *h);
/* For the tool: one process that takes uipc signals, its sets as
 * /proc/PID/status shows the kernel's (bit s - 1 for signal s). */
struct uipc_sig_proc_info {
	pid_t pid;
	uid_t uid;		/* its file's owner */
	uint64_t pending;	/* SigPnd: its threads' own */
	uint64_t shared;	/* ShdPnd: the process's */
	uint64_t blocked;	/* SigBlk: its main thread's */
	uint64_t ignored, caught;	/* SigIgn, SigCgt */
	int queued;		/* real-time signals queued */
	int nthreads;		/* threads that use signals */
};
/* Calls fn for each live signal user of the namespace the caller can
 * read. */
UIPC_HIDDEN int uipc_sig_list(int (*fn)(const struct uipc_sig_proc_info *, void *),
			      void *arg);
/* The spare object files of the registration (slot, gen), which has ended,
 * removed (those this process may remove). */
UIPC_HIDDEN void uipc_spare_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen);
/* Every spare file of an ended registration removed, also those whose
 * exit work another user's process did: how many. */
UIPC_HIDDEN int uipc_spare_sweep(struct uipc_nsh *h);
/* Whether some process we can see holds a descriptor of pipe:[ino]
 * (/proc/<pid>/fd): 1, 0, or 1 when it cannot tell. */
UIPC_HIDDEN int uipc_pipe_held(uint64_t ino);
/* Descriptor fd, if a uipc pipe end, is about to reach a program that may
 * not use uipc (sent over a socket): its pipe goes to the kernel's data
 * path for good. */
UIPC_HIDDEN void uipc_pipe_handoff(int fd);
/* Whether this process has mapped any uipc pipe (a hint, no lock). */
UIPC_HIDDEN int uipc_pipe_any(void);
/* The same for every end an exec keeps (no FD_CLOEXEC). */
UIPC_HIDDEN void uipc_pipe_before_exec(void);
UIPC_HIDDEN void uipc_pipe_exec_self(void);
/* The shim's stand-ins for the C library's descriptor calls
 * (`uipc run --pipes`, shim/pipes.c, pipe.c says what each does). */
struct iovec;
UIPC_HIDDEN void uipc_pipe_shim(void);
UIPC_HIDDEN int uipc_pipe_is_end(int fd);
UIPC_HIDDEN ssize_t uipc_pipe_rw(int fd, const struct iovec *iov, int cnt,
				 int single, int wr);
UIPC_HIDDEN void uipc_pipe_closing(int fd);
UIPC_HIDDEN void uipc_pipe_closing_range(unsigned int first, unsigned int last);
UIPC_HIDDEN void uipc_pipe_unknown(int fd);
UIPC_HIDDEN void uipc_pipe_exiting(void);
UIPC_HIDDEN void uipc_pipe_kernel(int fd, int forget);
UIPC_HIDDEN int uipc_pipe_dup2(int oldfd, int newfd, int flags, int three);

/* For the tool: one segment and who has it attached. */
struct uipc_shm_info {
	struct shmid_ds ds;
	int nproc;		/* attaching processes known */
	pid_t pid[16];
};
UIPC_HIDDEN int uipc_shm_snapshot(int id, struct uipc_shm_info *out);
/* Pages of segment id's bytes that are resident (shm_rss's share). */
UIPC_HIDDEN long uipc_shm_rss(int id);

#ifdef UIPC_DIRECT
#include "direct.h"
#endif

#endif /* UIPC_INTERNAL_H */
