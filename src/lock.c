/*
 * lock.c: cross-process locks, futex waits, and what the kernel says of a
 * process.
 *
 * Implementation notes
 *
 * What a lock must survive: its holder killed at any instruction (the next
 * owner finds out and repairs what the lock guards), and, since it lives in
 * a file other users may be able to write, anyone writing anything into
 * it.  glibc's robust mutexes pass the first test and fail the second:
 * they chain the locks a thread holds through pointers kept inside the
 * mutex, which glibc and the kernel then write through (an attacker's
 * pointer becomes the victim's write), and a forged type makes glibc
 * abort.  So a uipc lock is one 64-bit word and nothing else:
 *
 *	0                    free
 *	pid | WAITERS, tag   held by process pid, whose start time (clock
 *	                     ticks since boot, /proc/<pid>/stat field 22)
 *	                     has tag as its low 32 bits; WAITERS: someone
 *	                     may sleep on it
 *
 * The pid and the waiters bit are the 32-bit half the futex sleeps on (the
 * first four bytes whatever the byte order).  Taking and dropping it
 * uncontended is one atomic each, no system call.  A waiter spins a little,
 * then sleeps LOCK_RECHECK at a time; once the same owner has held it that
 * long it asks the kernel whether that process still lives (kill(pid, 0),
 * then its start time and state in /proc, so a pid used again by a later
 * process is not taken for the owner).  A dead owner's lock is taken over
 * with one compare-and-swap from the value seen, so of two waiters that
 * found it dead only one gets it, and the caller's repair runs before
 * anything else is done under it.  A word that names no process (garbage)
 * is a dead owner's.  A word that names a live process for LOCK_PATIENCE,
 * a holder stopped for good or a forged word, ends the wait with -EIO:
 * bounded, never a hang.
 *
 * The owner is a process, not a thread: a thread cannot die alone holding
 * a lock (a fatal signal kills the whole process), and exec, which ends
 * the other threads, is never made between lock and unlock by this
 * library.  A process in another pid namespace than its peers cannot be
 * told apart by pid: all users of a namespace share one pid namespace.
 *
 * Futex waits (the locks', and the blocked calls' when a thread has no
 * wake socket: wait.c): a futex wait without a timeout is restarted under
 * SA_RESTART, one with a timeout is not (-ERESTART_RESTARTBLOCK becomes
 * EINTR once a handler runs), so every wait here carries an absolute
 * timeout.  With no deadline of the caller's, the wait ends after a safety
 * period and the caller looks again: that bounds how long a wake-up lost to
 * a waker killed between its unlock and its FUTEX_WAKE can delay anyone.
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>


/* Contended locks are held for a copy of a message at most: spinning a
 * little before sleeping in the kernel saves two system calls and a
 * context switch each time. */
#define SPIN_TRIES 100
#define LOCK_RECHECK_NS 50000000LL	/* sleep between looks at the owner */
#define LOCK_PATIENCE_NS 3000000000LL	/* one live owner, then -EIO */
#define LOCK_PATIENCE_ALL_NS 6000000000LL	/* any owners, then -EIO */
#define LOCK_BRIEF_NS 20000000LL	/* _brief: then -EIO at the first look */

#define LOCK_PID_MASK 0x3fffffffu	/* above PID_MAX_LIMIT (2^22) */
#define LOCK_WAITERS 0x80000000u
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define OWNER_SHIFT 32
#define TAG_SHIFT 0
#else
#define OWNER_SHIFT 0
#define TAG_SHIFT 32
#endif

static uint32_t w_owner(uint64_t w) { return (uint32_t)(w >> OWNER_SHIFT); }
static uint32_t w_tag(uint64_t w) { return (uint32_t)(w >> TAG_SHIFT); }
static uint64_t w_make(uint32_t owner, uint32_t tag)
{
	return (uint64_t)owner << OWNER_SHIFT | (uint64_t)tag << TAG_SHIFT;
}

static _Atomic uint32_t *w_futex(struct uipc_lock *l)
{
	return (_Atomic uint32_t *)(void *)&l->word;
}

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

ssize_t uipc_proc_file(pid_t pid, const char *name, char *buf, size_t n)
{
	char path[64];
	ssize_t r;
	int fd;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r <= 0)
		return -EIO;
	buf[r] = 0;
	return r;
}

/* Fields 3 (state), 9 (flags) and 22 (starttime) of /proc/<pid>/stat.
 * Returns 0, or -errno when the file cannot be read. */
static int pid_stat(pid_t pid, char *state, unsigned long *flags,
		    unsigned long long *start)
{
	char buf[1024], *p;
	ssize_t n = pid > 0 ? uipc_proc_file(pid, "stat", buf, sizeof(buf)) : -ESRCH;

	if (n < 0)
		return (int)n;
	/* The command name may hold anything, ')' too: the last one ends it. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u"
			 " %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 state, flags, start) != 3)
		return -EIO;
	return 0;
}

uint32_t uipc_pid_start(pid_t pid)
{
	unsigned long long start;
	unsigned long flags;
	char state;

	return pid_stat(pid, &state, &flags, &start) == 0 ? (uint32_t)start : 0;
}

char uipc_pid_state(pid_t pid)
{
	unsigned long long start;
	unsigned long flags;
	char state;

	return pid_stat(pid, &state, &flags, &start) == 0 ? state : 0;
}

int uipc_pid_gone(pid_t pid, uint32_t start)
{
	unsigned long long st;
	unsigned long flags;
	char state;
	int r;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return 1;
	r = pid_stat(pid, &state, &flags, &st);
	if (r < 0)
		return 0;	/* there, but hidden from us: alive */
	return state == 'Z' || state == 'X' || (flags & 0x4 /* PF_EXITING */) ||
	       (start && (uint32_t)st != start);
}

/* This process's lock word: its pid and start time, found once per
 * process (a forked child has a pid of its own, and finds it anew). */
static uint64_t self_word(void)
{
	static _Atomic uint64_t cached;
	uint32_t pid = (uint32_t)uipc_getpid();
	uint64_t w = atomic_load_explicit(&cached, memory_order_relaxed);

	if (likely(w && w_owner(w) == pid))
		return w;
	w = w_make(pid & LOCK_PID_MASK, uipc_pid_start((pid_t)pid));
	atomic_store_explicit(&cached, w, memory_order_relaxed);
	return w;
}

/* Whether the owner a lock word names is dead: no process, not that
 * process any more, or no pid at all (garbage). */
static int owner_dead(uint64_t w)
{
	pid_t pid = (pid_t)(w_owner(w) & LOCK_PID_MASK);

	if (w_owner(w) & ~(LOCK_PID_MASK | LOCK_WAITERS))
		return 1;	/* bits no lock word has */
	if ((uint32_t)pid == w_owner(self_word()))
		/* One of our own threads, or a dead process whose pid we
		 * have now. */
		return w_tag(self_word()) && w_tag(w) != w_tag(self_word());
	return uipc_pid_gone(pid, w_tag(w));
}

static int cas(struct uipc_lock *l, uint64_t *old, uint64_t new)
{
	return atomic_compare_exchange_strong_explicit(
		&l->word, old, new, memory_order_acquire, memory_order_relaxed);
}

static int lock_slow(struct uipc_lock *l, uint64_t me, void (*repair)(void *),
		     void *arg, int64_t patience)
{
	const uint64_t waiters = w_make(LOCK_WAITERS, 0);
	int64_t begin, since, now;
	uint64_t v, seen, mine = me;

	for (int i = 0; i < SPIN_TRIES; i++) {
		uipc_cpu_relax();
		v = atomic_load_explicit(&l->word, memory_order_relaxed);
		if (v == 0 && cas(l, &v, me))
			return 0;
	}
	begin = since = mono_ns();
	seen = atomic_load(&l->word) & ~waiters;
	for (;;) {
		struct timespec t = { 0, LOCK_RECHECK_NS };

		v = atomic_load(&l->word);
		if (v == 0) {
			if (cas(l, &v, mine))
				return 0;
			continue;
		}
		if ((v & ~waiters) != seen) {	/* another owner: progress */
			seen = v & ~waiters;
			since = mono_ns();
		}
		if (!(w_owner(v) & LOCK_PID_MASK) && owner_dead(v)) {
			/* No pid at all: no one to wait for. */
			if (cas(l, &v, me | waiters))
				goto repair;
			continue;
		}
		if (!(v & waiters)) {
			if (!cas(l, &v, v | waiters))
				continue;
			v |= waiters;
		}
		syscall(SYS_futex, w_futex(l), FUTEX_WAIT, w_owner(v), &t, NULL, 0);
		/* Once we have slept, others may sleep too: whoever takes it
		 * from here on leaves the bit for unlock to wake them. */
		mine = me | waiters;
		now = mono_ns();
		v = atomic_load(&l->word);
		if (v == 0 || (v & ~waiters) != seen)
			continue;
		if (now - since >= LOCK_RECHECK_NS && owner_dead(v)) {
			if (cas(l, &v, me | waiters))
				goto repair;
			continue;
		}
		if (now - since > patience ||
		    now - begin > (patience < LOCK_PATIENCE_NS ? patience :
				   LOCK_PATIENCE_ALL_NS))
			return -EIO;
	}
repair:
	if (repair)
		repair(arg);
	return 0;
}

int uipc_lock_acquire(struct uipc_lock *l, void (*repair)(void *), void *arg)
{
	uint64_t me = self_word(), v = 0;

	if (likely(cas(l, &v, me)))
		return 0;
	return lock_slow(l, me, repair, arg, LOCK_PATIENCE_NS);
}

int uipc_lock_acquire_brief(struct uipc_lock *l, void (*repair)(void *), void *arg)
{
	uint64_t me = self_word(), v = 0;

	if (likely(cas(l, &v, me)))
		return 0;
	return lock_slow(l, me, repair, arg, LOCK_BRIEF_NS);
}

void uipc_lock_release(struct uipc_lock *l)
{
	uint64_t v = atomic_exchange_explicit(&l->word, 0, memory_order_release);

	if (unlikely(w_owner(v) & LOCK_WAITERS))
		syscall(SYS_futex, w_futex(l), FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* A futex wait's errno as the wait functions answer it. */
static int wait_result(int e, int has_deadline)
{
	switch (e) {
	case EINTR:
		return -EINTR;
	case ETIMEDOUT:
		return has_deadline ? -ETIMEDOUT : 0;
	default:		/* EAGAIN: a value had changed */
		return 0;
	}
}

int uipc_futex_wait(_Atomic uint32_t *word, uint32_t val,
		    const struct timespec *abs_mono)
{
	struct timespec t;
	long r;

	if (abs_mono) {
		t = *abs_mono;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += UIPC_SAFETY_PERIOD_S;
	}
	r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &t, NULL,
		    FUTEX_BITSET_MATCH_ANY);
	return r == 0 ? 0 : wait_result(errno, abs_mono != NULL);
}

void uipc_futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}
