/*
 * lock.c: robust process-shared locks and futex waits.
 *
 * Implementation notes
 *
 * Every cross-process lock is a pthread mutex, PTHREAD_PROCESS_SHARED and
 * PTHREAD_MUTEX_ROBUST, living in a shared file mapping.  Locking and
 * unlocking it uncontended are an atomic each, no system call.  When its
 * owner dies (SIGKILL at any instruction), the kernel's robust-list walk at
 * thread exit marks it and the next locker gets EOWNERDEAD: that locker
 * repairs the structure the lock guards (the caller's repair callback) and
 * marks the mutex consistent before anyone else can see it.
 *
 * A robust mutex can lose a wake-up: at an owner's death the kernel wakes
 * one waiter, and a waiter killed between that wake-up and taking the lock
 * passes it on to nobody (the kernel only does so for a lock word of 0).
 * So no one sleeps on a lock without a timeout; see uipc_mutex_lock().
 *
 * Waits: the kernel's msgrcv/semop return EINTR whenever a signal handler
 * runs, SA_RESTART or not (-ERESTARTNOHAND).  A futex wait without a timeout
 * is restarted under SA_RESTART, one with a timeout is not
 * (-ERESTART_RESTARTBLOCK becomes EINTR once a handler runs), so every wait
 * here carries an absolute timeout.  With no deadline of the caller's, the
 * wait ends after a safety period and the caller looks again: that bounds
 * how long a wake-up lost to a waker killed between its unlock and its
 * FUTEX_WAKE can delay anyone.
 */
#include "internal.h"

#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SAFETY_PERIOD_S 1

int uipc_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int r;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	r = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}

/* Contended locks are held for a copy of a message at most: spinning a
 * little before sleeping in the kernel saves two system calls and a
 * context switch each time.  Robust mutexes do not spin on their own. */
#define SPIN_TRIES 100
#define LOCK_RECHECK_NS 50000000L

int uipc_mutex_lock(pthread_mutex_t *m, void (*repair)(void *), void *arg)
{
	int r = pthread_mutex_trylock(m);

	for (int i = 0; r == EBUSY && i < SPIN_TRIES; i++) {
		uipc_cpu_relax();
		r = pthread_mutex_trylock(m);
	}
	while (r == EBUSY) {
		struct timespec t;

		/* Never asleep for good: when an owner dies the kernel wakes
		 * one waiter, and if that one is killed before it takes the
		 * lock the others would sleep forever.  Looking again every
		 * LOCK_RECHECK_NS sees the dead owner's mark. */
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += LOCK_RECHECK_NS;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t);
		if (r == ETIMEDOUT)
			r = pthread_mutex_trylock(m);
	}

	if (likely(r == 0))
		return 0;
	if (r == EOWNERDEAD) {
		if (repair)
			repair(arg);
		pthread_mutex_consistent(m);
		return 0;
	}
	/* ENOTRECOVERABLE: someone unlocked without repairing.  Cannot
	 * happen through this library; a corrupt file can do it. */
	return -EIO;
}

void uipc_mutex_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
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
		t.tv_sec += SAFETY_PERIOD_S;
	}
	r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &t, NULL,
		    FUTEX_BITSET_MATCH_ANY);
	return r == 0 ? 0 : wait_result(errno, abs_mono != NULL);
}

int uipc_futex_waitv(_Atomic uint32_t *const *words, const uint32_t *vals,
		     int n, const struct timespec *abs_mono)
{
#ifdef SYS_futex_waitv
	struct futex_waitv fw[FUTEX_WAITV_MAX];
	struct timespec t;
	long r;

	if (n > FUTEX_WAITV_MAX)
		n = FUTEX_WAITV_MAX;
	if (n > 1) {
		memset(fw, 0, sizeof(fw[0]) * (size_t)n);
		for (int i = 0; i < n; i++) {
			fw[i].val = vals[i];
			fw[i].uaddr = (uintptr_t)words[i];
			fw[i].flags = FUTEX_32;	/* shared: not private */
		}
		if (abs_mono) {
			t = *abs_mono;
		} else {
			clock_gettime(CLOCK_MONOTONIC, &t);
			t.tv_sec += SAFETY_PERIOD_S;
		}
		r = syscall(SYS_futex_waitv, fw, n, 0, &t, CLOCK_MONOTONIC);
		if (r >= 0)
			return 0;
		/* Before Linux 5.16 there is no futex_waitv: the first word
		 * alone, below. */
		if (errno != ENOSYS)
			return wait_result(errno, abs_mono != NULL);
	}
#endif
	return uipc_futex_wait(words[0], vals[0], abs_mono);
}

void uipc_futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}
