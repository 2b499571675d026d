/*
 * wait.c: how a blocked call sleeps, and how another process wakes it.
 *
 * Implementation notes
 *
 * The kernel's msgrcv, msgsnd and semop fail with EINTR when a signal
 * handler runs at any moment after they decided to wait: the kernel looks
 * for a pending signal after queueing the caller and before it sleeps.  A
 * futex wait cannot do that in user space: a handler that runs between the
 * last look and the futex call leaves the caller asleep.  So a blocked call
 * here keeps the asynchronous signals blocked from the moment it decides to
 * wait (uipc_wait_begin; from its start, uipc_wait_early, when its
 * thread's last call of the kind waited) until it returns, spins with them
 * blocked, and
 * sleeps in a call that installs the caller's own mask atomically (ppoll,
 * epoll_pwait): a signal that came at any moment before is delivered at
 * once, its handler runs, and the sleep returns EINTR.  No handler is
 * wrapped, so this holds however it was installed (sigaction, signal,
 * sigset, bsd_signal, or the raw system call).  Faults (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGTRAP, SIGSYS) stay unblocked: the kernel kills a
 * process whose blocked fault signal it must deliver, and uipc's own EFAULT
 * guard and SIGBUS mending run on them.
 *
 * Such a sleep waits on a descriptor, so a waker in another process must
 * be able to make it readable: each thread that sleeps has a datagram
 * socket of its own, bound to a name the kernel picks (autobind: an
 * abstract name of five hex digits, which no one can claim first), and
 * puts that name in its waiter record; the waker sends it one byte.  A
 * datagram stays until read, so a wake sent before the sleep is not lost.
 * Anyone may send to the name: a stray datagram costs the sleeper one look
 * at its record, as a spurious futex wake did.  The two calls differ after
 * a stop and a continue, as the kernel's do: semop fails with EINTR (its
 * sleep is epoll_pwait, which the kernel fails then too), msgrcv and
 * msgsnd sleep on (ppoll, which the kernel restarts when no handler ran).
 *
 * Descriptors are the program's to close: one that closes every descriptor
 * it does not know (closefrom) may close ours, and the number may come back
 * as a file of its own.  So a descriptor is checked to be ours (fstat: its
 * device and inode) before anything is read from it or sent through it,
 * and made again if not; a fork's child makes its own.  Without a socket
 * (a sandbox that forbids them, no descriptor left) a thread publishes no
 * name and sleeps on the futex word with the caller's mask put back
 * (unmasked_sleep): a handler that runs in the instant before that sleep
 * does not interrupt it (docs/uipc.md).
 *
 * A sleep with no deadline ends after a safety period; one that then finds
 * its word set lost a wake-up, counted in the namespace (lost_wakes) for
 * the tests to fail on.
 *
 * A call whose kernel object wakes it itself (a pipe: its kernel end turns
 * readable or writable) sleeps with uipc_wait_fd instead: ppoll on that
 * descriptor and on a signalfd of its thread for the signals the caller
 * does not block, with every signal blocked.  A signal that comes is
 * looked at before it is let in: a handler without SA_RESTART makes the
 * call end with EINTR, anything else lets it go on, as the kernel decides
 * for -ERESTARTSYS (a read or write of a pipe restarts under SA_RESTART,
 * msgrcv and semop never do).
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include "libc_calls.h"

/* A descriptor of ours, with what fstat said of it when it was made. */
struct owned_fd {
	int fd;			/* -1: none */
	dev_t dev;
	ino_t ino;
};

/* This thread's sleeping gear, made on its first sleep. */
struct sleeper {
	pid_t pid;		/* the process that made it (fork) */
	struct owned_fd sock;	/* bound datagram socket */
	struct owned_fd ep;	/* epoll set holding sock (stop-aware sleeps) */
	uint32_t addr;		/* the socket's autobind name, + 1; 0: none */
	int64_t failed;		/* when making or using one last failed
				 * (uipc_now()), 0: never; futex waits for a
				 * second after (no descriptor left, say) */
};

static __thread struct sleeper me = { .sock = { -1, 0, 0 }, .ep = { -1, 0, 0 } };
static pthread_key_t me_key;
/* uipc_wait's flags, beyond internal.h's: the published name is dead. */
#define WAIT_POLLING	0x100
/* Whether this thread's last blocking call of each kind (a site) returned
 * without waiting: its next one then blocks signals only once it must. */
__thread unsigned char uipc_went_through[UIPC_WAIT_SITES]
	__attribute__((tls_model("initial-exec")));
static pthread_once_t me_once = PTHREAD_ONCE_INIT;

static int fd_own(struct owned_fd *o, int fd)
{
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	o->fd = fd;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return 0;
}

/* Whether o's number still names the file we made. */
static int fd_still_ours(const struct owned_fd *o)
{
	struct stat st;

	return o->fd >= 0 && fstat(o->fd, &st) == 0 && st.st_dev == o->dev &&
	       st.st_ino == o->ino;
}

/* Forgets o, closing it if the number still names our file (else it is
 * the program's now). */
static void fd_drop(struct owned_fd *o)
{
	if (fd_still_ours(o))
		close(o->fd);
	o->fd = -1;
}

static void sleeper_drop(struct sleeper *s)
{
	fd_drop(&s->sock);
	fd_drop(&s->ep);
	s->addr = 0;
}

static void me_exit(void *arg)
{
	(void)arg;
	if (me.pid == uipc_getpid())
		sleeper_drop(&me);
}

static void me_key_make(void)
{
	if (pthread_key_create(&me_key, me_exit) != 0)
		me_key = (pthread_key_t)-1;
}

/* An autobind name is "\0" and five hex digits (net/unix/af_unix.c). */
static uint32_t name_of(int fd)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	unsigned v = 0;

	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0 ||
	    len != offsetof(struct sockaddr_un, sun_path) + 6 || a.sun_path[0])
		return 0;
	for (int i = 1; i < 6; i++) {
		char c = a.sun_path[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned)(c - 'a' + 10);
		else
			return 0;
	}
	return v + 1;
}

static int sleeper_make(struct sleeper *s, int want_ep)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	if (s->sock.fd < 0) {
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd >= 0 && bind(fd, (struct sockaddr *)&a,
				    sizeof(sa_family_t)) < 0) {
			close(fd);
			fd = -1;
		}
		if (fd_own(&s->sock, fd) < 0)
			return -1;
		s->addr = name_of(s->sock.fd);
		if (!s->addr) {
			sleeper_drop(s);
			return -1;
		}
		pthread_once(&me_once, me_key_make);
		if (me_key != (pthread_key_t)-1)
			pthread_setspecific(me_key, s);
	}
	if (want_ep && s->ep.fd < 0) {
		fd = epoll_create1(EPOLL_CLOEXEC);
		if (fd_own(&s->ep, fd) < 0)
			return -1;
		if (epoll_ctl(s->ep.fd, EPOLL_CTL_ADD, s->sock.fd, &ev) < 0) {
			fd_drop(&s->ep);
			return -1;
		}
	}
	return 0;
}

/* This thread's gear, made as needed, and with check, checked to be ours
 * first (and made again if not); 0 or -1. */
static int sleeper_ready(int want_ep, int check)
{
	if (me.pid != uipc_getpid()) {	/* new thread, or a fork's child */
		sleeper_drop(&me);	/* the child's copies */
		me.pid = uipc_getpid();
		me.failed = 0;
	}
	if (me.failed && uipc_now() - me.failed < 2)
		return -1;
	if (check && me.sock.fd >= 0 && !fd_still_ours(&me.sock))
		sleeper_drop(&me);	/* the epoll set held the old one */
	if (check && want_ep && me.ep.fd >= 0 && !fd_still_ours(&me.ep))
		fd_drop(&me.ep);
	if (sleeper_make(&me, want_ep) < 0) {
		sleeper_drop(&me);
		me.failed = uipc_now();
		return -1;
	}
	return 0;
}

/* Whether a signal the caller does not block came while we blocked it. */
static int pending_for_caller(const struct uipc_wait *w)
{
	sigset_t p;

	if (sigpending(&p) < 0)
		return 0;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sigismember(&p, sig) == 1 && !sigismember(&w->old, sig))
			return 1;
	return 0;
}

/* A sleep that cannot install the caller's mask itself (no socket, or its
 * calls refused): what came so far fails it with EINTR, and the caller's
 * mask is in place while it sleeps, so that a handler can interrupt it;
 * one that runs between the two is missed (docs/uipc.md). */
static int unmasked_sleep(struct uipc_wait *w, _Atomic uint32_t *word,
			  const struct timespec *abs_mono)
{
	sigset_t all;
	int r;

	if (pending_for_caller(w))
		return -EINTR;
	uipc_async_signals(&all);
	pthread_sigmask(SIG_SETMASK, &w->old, NULL);
	r = uipc_futex_wait(word, 0, abs_mono);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	return r;
}

/* The asynchronous signals, made once (uipc_async_signals). */
static sigset_t g_async;
static _Atomic int g_async_ready;

/* Blocks set, the old mask into *old: the system call itself, with no
 * library call before it (in a call's first instructions, before this,
 * a handler that runs leaves the call to block: the fewer the better).
 * 0 or -errno. */
static long block_now(const sigset_t *set, sigset_t *old)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = _NSIG / 8;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_rt_sigprocmask), "D"((long)SIG_BLOCK),
			   "S"(set), "d"(old), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
#else
	return pthread_sigmask(SIG_BLOCK, set, old) == 0 ? 0 : -EIO;
#endif
}

/* In a section of its own (UIPC_MASK_TEXT): the tests tell a handler
 * that ran here, before the mask took hold, from one that interrupted the
 * call (as the kernel's call begins at its system call instruction). */
UIPC_MASK_TEXT int uipc_wait_begin(struct uipc_wait *w)
{
	if (w->masked)
		return 0;
	if (unlikely(!atomic_load_explicit(&g_async_ready, memory_order_acquire))) {
		uipc_async_signals(&g_async);
		atomic_store_explicit(&g_async_ready, 1, memory_order_release);
	}
	if (block_now(&g_async, &w->old) != 0)
		return -EIO;
	/* The kernel wrote the first _NSIG / 8 bytes: the rest, after. */
	memset((char *)&w->old + _NSIG / 8, 0, sizeof(w->old) - _NSIG / 8);
	w->masked = 1;
	/* Not checked yet: most waits end in the spin, and the sleep checks
	 * before it relies on the descriptors. */
	if (!(w->flags & UIPC_WAIT_NOSOCK))
		w->addr = sleeper_ready(w->flags & UIPC_WAIT_STOP, 0) == 0 ?
			  me.addr : 0;
	return 0;
}

void uipc_wait_unmask(struct uipc_wait *w)
{
	/* Whatever came while blocked is delivered here, before the call
	 * returns: as a signal that came just after it completed. */
	pthread_sigmask(SIG_SETMASK, &w->old, NULL);
	w->masked = 0;
	uipc_went_through[w->flags & UIPC_WAIT_SITE] = !w->slept;
}

uint32_t uipc_wait_addr(const struct uipc_wait *w)
{
	return w->addr;
}

int uipc_wait_spin(struct uipc_wait *w, _Atomic uint32_t *word)
{
	static int ncpu;
	uint32_t v = 0;

	w->slept = 1;
	if (!ncpu)
		ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2 || !atomic_compare_exchange_strong(word, &v, UIPC_W_SPINNING))
		return v == UIPC_W_WOKEN;
	for (int i = 0; i < UIPC_SPIN_WAIT; i++) {
		if (atomic_load_explicit(word, memory_order_acquire) ==
		    UIPC_W_WOKEN)
			return 1;
		uipc_cpu_relax();
	}
	v = UIPC_W_SPINNING;
	return !atomic_compare_exchange_strong(word, &v, 0);
}

/* How long until dl, for ppoll; dl NULL: the safety period. */
static void rel_timeout(const struct timespec *dl, struct timespec *rel)
{
	struct timespec now;

	if (!dl) {
		rel->tv_sec = UIPC_SAFETY_PERIOD_S;
		rel->tv_nsec = 0;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	rel->tv_sec = dl->tv_sec - now.tv_sec;
	rel->tv_nsec = dl->tv_nsec - now.tv_nsec;
	if (rel->tv_nsec < 0) {
		rel->tv_nsec += 1000000000L;
		rel->tv_sec--;
	}
	if (rel->tv_sec < 0)
		rel->tv_sec = rel->tv_nsec = 0;
}

/* epoll_pwait2 (Linux 5.11) takes the timeout as a timespec; older
 * kernels (or a sandbox that refuses it) get epoll_pwait's milliseconds,
 * rounded up. */
static int ep_sleep(int ep, const struct timespec *rel, const sigset_t *mask)
{
	static _Atomic int no_pwait2;
	struct epoll_event ev;
	long ms;

#ifdef SYS_epoll_pwait2
	if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed) &&
	    !uipc_fallback(UF_EPOLL_PWAIT2)) {
		long r = syscall(SYS_epoll_pwait2, ep, &ev, 1, rel, mask,
				 (size_t)(_NSIG / 8));

		if (r >= 0 || errno == EINTR)
			return (int)r;
		atomic_store(&no_pwait2, 1);
	}
#else
	(void)no_pwait2;
#endif
	ms = rel->tv_sec * 1000 + (rel->tv_nsec + 999999) / 1000000;
	return epoll_pwait(ep, &ev, 1, ms > INT_MAX ? INT_MAX : (int)ms, mask);
}

/* A sleep without a deadline ended by the safety period: if a waker had
 * set the word, its wake-up was lost.  Returns 0 (look again). */
static int safety_ended(_Atomic uint32_t *word)
{
	struct uipc_nsh *h;
	int err = 0;

	if (atomic_load(word) == UIPC_W_WOKEN && (h = uipc_ns_get(&err)))
		atomic_fetch_add_explicit(&h->ns->lost_wakes, 1,
					  memory_order_relaxed);
	return 0;
}

uint64_t uipc_lost_wakes(void)
{
	struct uipc_nsh *h;
	int err = 0;

	h = uipc_ns_get(&err);
	return h ? atomic_load(&h->ns->lost_wakes) : 0;
}

/* The futex sleep of a thread without a wake socket. */
static int futex_sleep(struct uipc_wait *w, _Atomic uint32_t *word,
		       const struct timespec *dl)
{
	struct timespec end;
	int r;

	if (dl)
		return unmasked_sleep(w, word, dl);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += UIPC_SAFETY_PERIOD_S;
	r = unmasked_sleep(w, word, &end);
	return r == -ETIMEDOUT ? safety_ended(word) : r;
}

int uipc_wait_sleep(struct uipc_wait *w, _Atomic uint32_t *word,
		    const struct timespec *dl)
{
	struct timespec rel;
	char buf[16];
	int r;

	w->slept = 1;
	if (w->flags & WAIT_POLLING)
		return uipc_wait_poll(w, word, 0, dl);
	if (!w->addr)
		return futex_sleep(w, word, dl);
	if (sleeper_ready(w->flags & UIPC_WAIT_STOP, 1) < 0 ||
	    w->addr != me.addr) {
		/* The program closed our socket since the record published
		 * its name: nobody can wake us there.  Look every millisecond
		 * for this wait; the next one publishes the new name. */
		w->flags |= WAIT_POLLING;
		return uipc_wait_poll(w, word, 0, dl);
	}
	if (atomic_load_explicit(word, memory_order_acquire) != 0)
		return 0;
	rel_timeout(dl, &rel);
	if (w->flags & UIPC_WAIT_STOP) {
		r = ep_sleep(me.ep.fd, &rel, &w->old);
	} else {
		struct pollfd p = { .fd = me.sock.fd, .events = POLLIN };

		r = ppoll(&p, 1, &rel, &w->old);
	}
	if (r < 0 && errno == EINTR)
		return -EINTR;
	if (r < 0) {
		/* A sandbox that refuses the call: this thread sleeps on its
		 * futex word for a while (sleeper_ready), this wait polls. */
		me.failed = uipc_now();
		w->flags |= WAIT_POLLING;
		return uipc_wait_poll(w, word, 0, dl);
	}
	if (r > 0) {
		/* One datagram a wake (a stray one left wakes the next sleep
		 * for a look), read only from our own socket: the number may
		 * be the program's now, and reading would take its data. */
		if (fd_still_ours(&me.sock))
			recv(me.sock.fd, buf, sizeof(buf), MSG_DONTWAIT);
		return 0;
	}
	return dl ? -ETIMEDOUT : safety_ended(word);
}

/* Polled, since no record publishes this sleeper's address: how long
 * one look lasts. */
#define POLL_SLICE_NS 1000000L

int uipc_wait_poll(struct uipc_wait *w, _Atomic uint32_t *word, uint32_t val,
		   const struct timespec *dl)
{
	struct timespec rel, slice = { 0, POLL_SLICE_NS }, end;

	w->slept = 1;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += UIPC_SAFETY_PERIOD_S;
	if (!dl)
		dl = &end;
	while (atomic_load_explicit(word, memory_order_acquire) == val) {
		rel_timeout(dl, &rel);
		if (!rel.tv_sec && !rel.tv_nsec)
			return dl == &end ? 0 : -ETIMEDOUT;
		if (rel.tv_sec || rel.tv_nsec > slice.tv_nsec)
			rel = slice;
		if (ppoll(NULL, 0, &rel, &w->old) < 0) {
			struct timespec at;

			if (errno == EINTR)
				return -EINTR;
			/* Refused: a slice of futex sleep, unmasked. */
			clock_gettime(CLOCK_MONOTONIC, &at);
			at.tv_nsec += rel.tv_nsec;
			if (at.tv_nsec >= 1000000000L) {
				at.tv_sec++;
				at.tv_nsec -= 1000000000L;
			}
			if (unmasked_sleep(w, word, &at) == -EINTR)
				return -EINTR;
		}
	}
	return 0;
}

void uipc_wake(uint32_t addr, _Atomic uint32_t *word)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (!addr || addr > 0x100000 || sleeper_ready(0, 1) < 0) {
		/* A futex sleeper (or a name no autobind gives, or no socket
		 * of ours to send from). */
		uipc_futex_wake(word, 1);
		return;
	}
	/* Sent from this thread's own socket: no lock, so a handler that
	 * wakes someone while this thread does is no deadlock. */
	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "%05x", addr - 1);
	sendto(me.sock.fd, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
	       (struct sockaddr *)&a,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 6));
}

/* ---------------------------------------------------------------------
 * Sleeping on a descriptor of the call's own (a pipe's kernel end): ppoll
 * on it and this thread's signalfd, signals blocked, and the pending
 * signals looked at before they are let in, so that the call ends with
 * EINTR or goes on as the kernel decides for -ERESTARTSYS.
 * ------------------------------------------------------------------- */

static __thread int t_sigfd = -1;
static __thread int t_sigfd_suspect;
static __thread pid_t t_sigfd_pid;
static __thread sigset_t t_sigfd_mask;
static __thread dev_t t_sigfd_dev;
static __thread ino_t t_sigfd_ino;

/* This thread's signalfd for the signals the caller does not block (a
 * fork's child gets a new one; check: make sure the number is still ours,
 * fstat, which a closefrom and a reuse of the number would fail). */
static int sigfd_for(const sigset_t *caller, int check)
{
	sigset_t want;
	struct stat st;

	/* Built bit by bit: glibc's sigfillset leaves what lies past the
	 * kernel's 64 bits as it was, so two sets of the same signals could
	 * compare unequal. */
	memset(&want, 0, sizeof(want));
	for (int s = 1; s < _NSIG; s++)
		if (sigismember(caller, s) != 1)
			sigaddset(&want, s);
	if (t_sigfd >= 0 && (t_sigfd_pid != uipc_getpid() ||
			     (check && (fstat(t_sigfd, &st) < 0 ||
					st.st_dev != t_sigfd_dev ||
					st.st_ino != t_sigfd_ino))))
		t_sigfd = -1;	/* not ours any more: never close it */
	if (t_sigfd >= 0 && !memcmp(&want, &t_sigfd_mask, sizeof(want)))
		return t_sigfd;
	if (t_sigfd >= 0) {
		if (signalfd(t_sigfd, &want, 0) >= 0) {
			t_sigfd_mask = want;
			return t_sigfd;
		}
		close(t_sigfd);
		t_sigfd = -1;
	}
	t_sigfd = signalfd(-1, &want, SFD_CLOEXEC | SFD_NONBLOCK);
	if (t_sigfd < 0)
		return -1;
	if (fstat(t_sigfd, &st) < 0) {
		close(t_sigfd);
		t_sigfd = -1;
		return -1;
	}
	t_sigfd_dev = st.st_dev;
	t_sigfd_ino = st.st_ino;
	t_sigfd_pid = uipc_getpid();
	t_sigfd_mask = want;
	return t_sigfd;
}

/* What delivering the pending signals the caller does not block does to
 * the call, as the kernel decides: SIG_INTR if a handler without
 * SA_RESTART runs (-ERESTARTSYS becomes EINTR), SIG_RESTART if something
 * else would have made signal_pending() true (a handler with SA_RESTART, a
 * stop), SIG_IGNORED if only what the kernel drops at once came (SIG_IGN,
 * a default action of nothing), SIG_NONE if nothing. */
enum { SIG_NONE, SIG_IGNORED, SIG_RESTART, SIG_INTR };
static int pending_kind(const struct uipc_wait *w)
{
	sigset_t p;
	int kind = SIG_NONE;

	if (sigpending(&p) < 0)
		return SIG_NONE;
	for (int s = 1; s < _NSIG; s++) {
		struct sigaction sa;
		int k;

		if (sigismember(&p, s) != 1 || sigismember(&w->old, s) == 1 ||
		    sigaction(s, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler == SIG_IGN)
			k = SIG_IGNORED;
		else if (sa.sa_handler == SIG_DFL)
			k = (s == SIGCHLD || s == SIGCONT || s == SIGURG ||
			     s == SIGWINCH) ? SIG_IGNORED : SIG_RESTART;
		else
			k = (sa.sa_flags & SA_RESTART) ? SIG_RESTART : SIG_INTR;
		if (k > kind)
			kind = k;
	}
	return kind;
}

int uipc_wait_fd(struct uipc_wait *w, int kfd, short ev, int moved,
		 short *rev)
{
	struct pollfd p[2] = { { kfd, ev, 0 }, { -1, POLLIN, 0 } };
	struct timespec safety = { UIPC_SAFETY_PERIOD_S, 0 };
	int n, kind;

	*rev = 0;
	w->slept = 1;
	p[1].fd = sigfd_for(&w->old, t_sigfd_suspect);
	if (p[1].fd < 0) {
		/* No signalfd: a short sleep, then a look at what came. */
		safety.tv_sec = 0;
		safety.tv_nsec = 1000000;
	}
	/* A signal that came before the mask: the signalfd is readable
	 * already and ppoll returns at once (without one, look first). */
	kind = p[1].fd < 0 ? pending_kind(w) : SIG_NONE;
	if (kind == SIG_NONE) {
		n = ppoll(p, p[1].fd < 0 ? 1 : 2, &safety, NULL);
		if (n < 0 && errno != EINTR)
			return 0;
		*rev = n > 0 ? p[0].revents : 0;
		if (p[1].fd >= 0 && n >= 0 && !p[1].revents) {
			/* A whole safety period and no signal: the number
			 * may have been closed and reused (closefrom), so
			 * that our signals go unseen: look, next time. */
			t_sigfd_suspect = n == 0;
			return n == 0;	/* 1: the safety period ended it */
		}
		kind = pending_kind(w);
		/* Readable with no signal for us: is it still ours? */
		t_sigfd_suspect = kind == SIG_NONE && p[1].fd >= 0;
	}
	if (kind == SIG_NONE)
		return 0;
	uipc_wait_unmask(w);	/* the handlers run here */
	if (kind == SIG_INTR || (kind == SIG_RESTART && moved))
		return -EINTR;
	uipc_wait_begin(w);
	return 0;
}
