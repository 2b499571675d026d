/*
 * pipes.c: `uipc run --pipes`, the shim's stand-ins for the C library's
 * pipe and descriptor calls.
 *
 * With UIPC_PIPES=1 in the environment (`uipc run --pipes` sets it, and
 * children and exec'd programs inherit it), an unmodified program's pipe
 * and pipe2 make uipc pipes, and the calls that use descriptors go
 * through pipe.c: read, write, readv, writev, close, dup, dup2, dup3,
 * fcntl, ioctl and poll as the uipc_ functions do; a descriptor that is
 * no uipc pipe end costs one look at a table (pipe.c remembers what it
 * found, uipc_pipe_shim) and then the C library's own call.
 *
 * A pipe's bytes may be in its ring only while every holder of the pipe
 * is known to reach it through uipc.  So a pipe goes to the kernel's path
 * for good (pipe.c, uipc_pipe_kernel) before anything uipc does not stand
 * in for can touch it:
 * - select, pselect, ppoll and epoll_ctl on it (their readiness is the
 *   kernel pipe's; poll is stood in for);
 * - splice, tee, vmsplice, sendfile, copy_file_range, preadv2, pwritev2,
 *   POSIX AIO, dprintf, vdprintf; signal-driven I/O (O_ASYNC, F_SETOWN,
 *   F_SETSIG);
 * - a stdio stream on it (fdopen, fopen of /proc/self/fd/N), and
 *   descriptors 0, 1 and 2: the C
 *   library's stdio reads and writes those through calls nobody can stand
 *   in for, so an end that comes to sit there (pipe, dup, dup2, dup3,
 *   F_DUPFD) takes the pipe to the kernel's path;
 * - an exec whose new image keeps it, a descriptor sent over a socket,
 *   posix_spawn, system and popen (src/handoff.c, src/handoff_spawn.c,
 *   exported here too).
 * What is left on uipc's path: the pipes a program and its forked
 * children use through descriptors above 2 without exec, such as
 * Python's multiprocessing and os.pipe with os.fork.  A shell pipeline
 * runs on the kernel's path, with every byte in order.
 *
 * Without UIPC_PIPES each stand-in is the C library's own after one load.
 */
#include "internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <aio.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pipes.h"

/* musl: no separate large-file names (they are macros for the plain
 * ones), and no close_range, closefrom, preadv2 or pwritev2. */
#if defined(open64) || defined(pread64)
#define UIPC_NO_LFS64 1
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)	/* linux/close_range.h */
#endif

int uipc_shim_pipes;

enum next_fn {
	N_PIPE, N_PIPE2, N_READV, N_WRITEV, N_DUP, N_FCNTL, N_FCNTL64,
	N_IOCTL, N_POLL, N_PPOLL, N_SELECT, N_PSELECT, N_EPOLL_CTL,
	N_SPLICE, N_TEE, N_VMSPLICE, N_SENDFILE, N_SENDFILE64, N_COPY_RANGE,
	N_FDOPEN, N_PREADV2, N_PWRITEV2, N_PREADV64V2, N_PWRITEV64V2,
	N_RECVMSG, N_RECVMMSG, N_CLOSE_RANGE, N_CLOSEFROM, N_READ_CHK,
	N_POLL_CHK, N_PPOLL_CHK, N_VDPRINTF, N_VDPRINTF_CHK, N_AIO_READ,
	N_AIO_WRITE, N_LIO_LISTIO, N_AIO_READ64, N_AIO_WRITE64,
	N_LIO_LISTIO64, N_EXIT, N_COUNT
};
static const char *const next_name[N_COUNT] = {
	"pipe", "pipe2", "readv", "writev", "dup", "fcntl", "fcntl64",
	"ioctl", "poll", "ppoll", "select", "pselect", "epoll_ctl",
	"splice", "tee", "vmsplice", "sendfile", "sendfile64",
	"copy_file_range", "fdopen", "preadv2", "pwritev2", "preadv64v2",
	"pwritev64v2", "recvmsg", "recvmmsg", "close_range", "closefrom",
	"__read_chk", "__poll_chk", "__ppoll_chk", "vdprintf",
	"__vdprintf_chk", "aio_read", "aio_write", "lio_listio", "aio_read64",
	"aio_write64", "lio_listio64", "_exit",
};
static void *_Atomic next_ptr[N_COUNT];
static struct uipc_next_table next_tab = { next_name, next_ptr, N_COUNT, 0 };

#define NEXT(f, type) ((type)uipc_next(&next_tab, (f)))

__attribute__((constructor))
static void pipes_init(void)
{
	const char *v = getenv("UIPC_PIPES");

	uipc_next_resolve(&next_tab);
	if (v && strcmp(v, "1") == 0) {
		uipc_pipe_shim();
		uipc_shim_pipes = 1;
	}
}

#define ON __builtin_expect(uipc_shim_pipes, 0)

/* Descriptors 0, 1 and 2 are stdio's: a uipc end there goes to the
 * kernel's path.  Returns fd. */
static int std_guard(int fd)
{
	if (fd >= 0 && fd <= 2)
		uipc_pipe_kernel(fd, 0);
	return fd;
}

/* ---- read and write ------------------------------------------------ */

int uipc_shim_rw(int fd, const struct iovec *v, int cnt, int single, int wr,
		 ssize_t *out)
{
	ssize_t r;

	int e = errno;

	if (!ON)
		return 0;
	r = uipc_pipe_rw(fd, v, cnt, single, wr);
	if (r == -ENOENT) {
		errno = e;
		return 0;
	}
	/* A call that succeeds leaves errno as it was (a sleep on the way
	 * may have set it). */
	errno = e;
	*out = UIPC_RET(r);
	return 1;
}

typedef ssize_t (*iov_fn)(int, const struct iovec *, int);

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	ssize_t r;

	if (uipc_shim_rw(fd, iov, cnt, 0, 0, &r))
		return r;
	return NEXT(N_READV, iov_fn)(fd, iov, cnt);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t r;

	if (uipc_shim_rw(fd, iov, cnt, 0, 1, &r))
		return r;
	return NEXT(N_WRITEV, iov_fn)(fd, iov, cnt);
}

#ifdef __GLIBC__
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	struct iovec v = { buf, n };
	ssize_t r;

	/* A size beyond the buffer is the C library's to fail. */
	if (n <= buflen && uipc_shim_rw(fd, &v, 1, 1, 0, &r))
		return r;
	return NEXT(N_READ_CHK, ssize_t (*)(int, void *, size_t, size_t))(
		fd, buf, n, buflen);
}
#endif

/* ---- making pipes and descriptors ----------------------------------- */

int pipe2(int fds[2], int flags)
{
	int r;

	if (!ON)
		return NEXT(N_PIPE2, int (*)(int *, int))(fds, flags);
	r = uipc_pipe2(fds, flags);
	if (r == 0)
		std_guard(fds[0] <= 2 ? fds[0] : fds[1]);
	return r;
}

int pipe(int fds[2])
{
	if (!ON)
		return NEXT(N_PIPE, int (*)(int *))(fds);
	return pipe2(fds, 0);
}

int dup(int fd)
{
	if (ON && uipc_pipe_is_end(fd))
		return std_guard(uipc_dup(fd));
	return NEXT(N_DUP, int (*)(int))(fd);
}

int uipc_shim_dup2(int oldfd, int newfd, int flags, int three, int *out)
{
	if (!ON)
		return 0;
	*out = uipc_pipe_dup2(oldfd, newfd, flags, three);
	std_guard(*out);
	return 1;
}

void uipc_shim_closing(int fd)
{
	if (ON)
		uipc_pipe_closing(fd);
}

int uipc_shim_opened(int fd)
{
	if (ON && fd >= 0)
		uipc_pipe_unknown(fd);
	return fd;
}

/* Signal-driven I/O (SIGIO when the pipe becomes readable or writable)
 * is the kernel pipe's. */
static int signal_driven(int cmd, long arg)
{
	return cmd == F_SETOWN || cmd == F_SETOWN_EX || cmd == F_SETSIG ||
	       (cmd == F_SETFL && (arg & O_ASYNC));
}

/* fcntl's third argument, whatever cmd is: a register or a stack word
 * the caller's frame has either way (as glibc reads it). */
#define FCNTL_BODY(next_i)						\
	do {								\
		va_list ap;						\
		long arg;						\
									\
		va_start(ap, cmd);					\
		arg = va_arg(ap, long);					\
		va_end(ap);						\
		if (ON && uipc_pipe_is_end(fd)) {			\
			int r_;						\
									\
			if (signal_driven(cmd, arg))			\
				uipc_pipe_kernel(fd, 0);		\
			r_ = uipc_fcntl(fd, cmd, arg);			\
									\
			if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)	\
				std_guard(r_);				\
			return r_;					\
		}							\
		return NEXT(next_i, int (*)(int, int, long))(fd, cmd, arg); \
	} while (0)

int fcntl(int fd, int cmd, ...)
{
	FCNTL_BODY(N_FCNTL);
}

#ifndef UIPC_NO_LFS64
int fcntl64(int fd, int cmd, ...);
int fcntl64(int fd, int cmd, ...)
{
	FCNTL_BODY(N_FCNTL64);
}
#endif

#ifdef __GLIBC__
int ioctl(int fd, unsigned long req, ...)
#else
int ioctl(int fd, int req, ...)
#endif
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (ON && (req == FIONREAD || req == FIONBIO) && uipc_pipe_is_end(fd))
		return uipc_ioctl(fd, (unsigned long)req, arg);
	return NEXT(N_IOCTL, int (*)(int, unsigned long, void *))(
		fd, (unsigned long)req, arg);
}

/* ---- closing many ---------------------------------------------------- */

#ifdef __GLIBC__
/* The namespace's own descriptors in [first, last], lowest first (at
 * most two): kept open, the range closed around them (store.c). */
static int ours_in(unsigned int first, unsigned int last, unsigned int ours[2])
{
	int fds[2], n = 0, k = uipc_ns_fds(fds);

	if (k == 2 && fds[1] < fds[0]) {
		int t = fds[0];

		fds[0] = fds[1];
		fds[1] = t;
	}
	for (int i = 0; i < k; i++)
		if ((unsigned int)fds[i] >= first && (unsigned int)fds[i] <= last)
			ours[n++] = (unsigned int)fds[i];
	return n;
}

int close_range(unsigned int first, unsigned int last, int flags)
{
	int (*next_fn)(unsigned int, unsigned int, int) =
		NEXT(N_CLOSE_RANGE, int (*)(unsigned int, unsigned int, int));
	unsigned int ours[2];
	int n, r = 0;

	if (ON && !(flags & CLOSE_RANGE_CLOEXEC))
		uipc_pipe_closing_range(first, last);
	n = (flags & CLOSE_RANGE_CLOEXEC) || first > last ? 0 :
		ours_in(first, last, ours);
	for (int i = 0; i < n && r == 0; i++) {
		if (ours[i] > first)
			r = next_fn(first, ours[i] - 1, flags);
		flags &= ~CLOSE_RANGE_UNSHARE;	/* done by the first */
		first = ours[i] + 1;
		if (ours[i] == last)
			return r;
	}
	return r == 0 ? next_fn(first, last, flags) : r;
}

void closefrom(int first)
{
	unsigned int ours[2];
	int n;

	if (ON && first >= 0)
		uipc_pipe_closing_range((unsigned int)first, ~0u);
	n = first >= 0 ? ours_in((unsigned int)first, ~0u, ours) : 0;
	for (int i = 0; i < n; i++) {
		for (unsigned int fd = (unsigned int)first; fd < ours[i]; fd++)
			close((int)fd);
		first = (int)ours[i] + 1;
	}
	NEXT(N_CLOSEFROM, void (*)(int))(first);
}
#endif

/* ---- readiness ------------------------------------------------------- */

/* glibc declares poll's array write-only (its events are read, though):
 * what is read of it here is read through a pointer the compiler cannot
 * follow. */
static const struct pollfd *pollfds(uintptr_t fds)
{
	__asm__("" : "+r"(fds));
	return (const struct pollfd *)fds;
}

static int any_end(uintptr_t array, nfds_t n)
{
	const struct pollfd *fds = pollfds(array);

	/* A bad array is the call's to fail with EFAULT. */
	if (uipc_probe_read(fds, n * sizeof(*fds)) < 0)
		return 0;
	for (nfds_t i = 0; i < n; i++)
		if (uipc_pipe_is_end(fds[i].fd))
			return 1;
	return 0;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (ON && any_end((uintptr_t)fds, n))
		return uipc_poll(fds, n, timeout);
	return NEXT(N_POLL, int (*)(struct pollfd *, nfds_t, int))(fds, n, timeout);
}

#ifdef __GLIBC__
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t len);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t len)
{
	if (ON && n <= len / sizeof(*fds) && any_end((uintptr_t)fds, n))
		return uipc_poll(fds, n, timeout);
	return NEXT(N_POLL_CHK, int (*)(struct pollfd *, nfds_t, int, size_t))(
		fds, n, timeout, len);
}
#endif

/* The calls that see only the kernel pipe: its pipe goes there first. */
static void to_kernel(int fd)
{
	if (ON)
		uipc_pipe_kernel(fd, 0);
}

static void poll_to_kernel(uintptr_t array, nfds_t n)
{
	const struct pollfd *fds = pollfds(array);

	if (ON && uipc_probe_read(fds, n * sizeof(*fds)) == 0)
		for (nfds_t i = 0; i < n; i++)
			uipc_pipe_kernel(fds[i].fd, 0);
}

typedef int (*ppoll_fn)(struct pollfd *, nfds_t, const struct timespec *,
			const sigset_t *);

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
	  const sigset_t *mask)
{
	poll_to_kernel((uintptr_t)fds, n);
	return NEXT(N_PPOLL, ppoll_fn)(fds, n, ts, mask);
}

#ifdef __GLIBC__
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		const sigset_t *mask, size_t len);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		const sigset_t *mask, size_t len)
{
	if (n <= len / sizeof(*fds))
		poll_to_kernel((uintptr_t)fds, n);
	return NEXT(N_PPOLL_CHK, int (*)(struct pollfd *, nfds_t,
					 const struct timespec *,
					 const sigset_t *, size_t))(
		fds, n, ts, mask, len);
}
#endif

static void sets_to_kernel(int n, fd_set *r, fd_set *w, fd_set *x)
{
	fd_set *sets[3] = { r, w, x };

	if (!ON || n <= 0)
		return;
	if (n > FD_SETSIZE)
		n = FD_SETSIZE;
	for (int s = 0; s < 3; s++) {
		if (!sets[s] || uipc_probe_read(sets[s], sizeof(fd_set)) < 0)
			continue;
		for (int fd = 0; fd < n; fd++)
			if (FD_ISSET(fd, sets[s]))
				uipc_pipe_kernel(fd, 0);
	}
}

int select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *t)
{
	sets_to_kernel(n, r, w, x);
	return NEXT(N_SELECT, int (*)(int, fd_set *, fd_set *, fd_set *,
				      struct timeval *))(n, r, w, x, t);
}

int pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *t,
	    const sigset_t *mask)
{
	sets_to_kernel(n, r, w, x);
	return NEXT(N_PSELECT, int (*)(int, fd_set *, fd_set *, fd_set *,
				       const struct timespec *,
				       const sigset_t *))(n, r, w, x, t, mask);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (op != EPOLL_CTL_DEL)
		to_kernel(fd);
	return NEXT(N_EPOLL_CTL, int (*)(int, int, int, struct epoll_event *))(
		epfd, op, fd, ev);
}

/* ---- moving bytes in the kernel -------------------------------------- */

ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t len,
	       unsigned int flags)
{
	to_kernel(in);
	to_kernel(out);
	return NEXT(N_SPLICE, ssize_t (*)(int, loff_t *, int, loff_t *, size_t,
					  unsigned int))(in, in_off, out,
							 out_off, len, flags);
}

ssize_t tee(int in, int out, size_t len, unsigned int flags)
{
	to_kernel(in);
	to_kernel(out);
	return NEXT(N_TEE, ssize_t (*)(int, int, size_t, unsigned int))(
		in, out, len, flags);
}

ssize_t vmsplice(int fd, const struct iovec *iov, size_t n, unsigned int flags)
{
	to_kernel(fd);
	return NEXT(N_VMSPLICE, ssize_t (*)(int, const struct iovec *, size_t,
					    unsigned int))(fd, iov, n, flags);
}

ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	to_kernel(in);
	to_kernel(out);
	return NEXT(N_SENDFILE, ssize_t (*)(int, int, off_t *, size_t))(
		out, in, off, n);
}

#ifndef UIPC_NO_LFS64
ssize_t sendfile64(int out, int in, off64_t *off, size_t n)
{
	to_kernel(in);
	to_kernel(out);
	return NEXT(N_SENDFILE64, ssize_t (*)(int, int, off64_t *, size_t))(
		out, in, off, n);
}
#endif

ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off,
			size_t len, unsigned int flags)
{
	to_kernel(in);
	to_kernel(out);
	return NEXT(N_COPY_RANGE, ssize_t (*)(int, off64_t *, int, off64_t *,
					      size_t, unsigned int))(
		in, in_off, out, out_off, len, flags);
}

#ifdef __GLIBC__
typedef ssize_t (*iov2_fn)(int, const struct iovec *, int, off_t, int);

ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	to_kernel(fd);
	return NEXT(N_PREADV2, iov2_fn)(fd, iov, cnt, off, flags);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	to_kernel(fd);
	return NEXT(N_PWRITEV2, iov2_fn)(fd, iov, cnt, off, flags);
}

ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off,
		   int flags)
{
	to_kernel(fd);
	return NEXT(N_PREADV64V2, iov2_fn)(fd, iov, cnt, off, flags);
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off,
		    int flags)
{
	to_kernel(fd);
	return NEXT(N_PWRITEV64V2, iov2_fn)(fd, iov, cnt, off, flags);
}
#endif

/* A stream opened by path on a pipe (/proc/self/fd/N, /dev/fd/N): its
 * reads and writes are the C library's own. */
FILE *uipc_shim_stream(FILE *f)
{
	if (ON && f && fileno(f) >= 0) {
		uipc_pipe_unknown(fileno(f));
		uipc_pipe_kernel(fileno(f), 1);
	}
	return f;
}

/* dprintf and vdprintf write through the C library's own calls. */
int vdprintf(int fd, const char *fmt, va_list ap)
{
	to_kernel(fd);
	return NEXT(N_VDPRINTF, int (*)(int, const char *, va_list))(fd, fmt, ap);
}

int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vdprintf(fd, fmt, ap);
	va_end(ap);
	return r;
}

#ifdef __GLIBC__
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	to_kernel(fd);
	return NEXT(N_VDPRINTF_CHK, int (*)(int, int, const char *, va_list))(
		fd, flag, fmt, ap);
}

int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vdprintf_chk(fd, flag, fmt, ap);
	va_end(ap);
	return r;
}
#endif

/* POSIX AIO reads and writes in threads of the C library's: each
 * request's descriptor goes to the kernel's path first. */
static void aio_to_kernel(const int *fildes)
{
	if (ON && uipc_probe_read(fildes, sizeof(*fildes)) == 0)
		to_kernel(*fildes);
}

#define AIO_ONE(fn, T, next_i)						\
	int fn(T *cb)							\
	{								\
		aio_to_kernel(&cb->aio_fildes);				\
		return NEXT(next_i, int (*)(T *))(cb);			\
	}

/* musl's prototype has restrict where glibc's has none. */
#ifdef __GLIBC__
#define LIO_LIST(T) T *const list[]
#define LIO_SEV struct sigevent *sev
#else
#define LIO_LIST(T) T *restrict const *restrict list
#define LIO_SEV struct sigevent *restrict sev
#endif

#define LIO_LISTIO(fn, T, next_i)					\
	int fn(int mode, LIO_LIST(T), int n, LIO_SEV)			\
	{								\
		T *const *l = (T *const *)(uintptr_t)list;		\
									\
		if (ON && n > 0 &&					\
		    uipc_probe_read(l, (size_t)n * sizeof(*l)) == 0)	\
			for (int i = 0; i < n; i++)			\
				if (l[i])				\
					aio_to_kernel(&l[i]->aio_fildes); \
		return NEXT(next_i, int (*)(int, T *const *, int,	\
					    struct sigevent *))(mode, l, n, sev); \
	}

AIO_ONE(aio_read, struct aiocb, N_AIO_READ)
AIO_ONE(aio_write, struct aiocb, N_AIO_WRITE)
LIO_LISTIO(lio_listio, struct aiocb, N_LIO_LISTIO)
#ifndef UIPC_NO_LFS64
AIO_ONE(aio_read64, struct aiocb64, N_AIO_READ64)
AIO_ONE(aio_write64, struct aiocb64, N_AIO_WRITE64)
LIO_LISTIO(lio_listio64, struct aiocb64, N_LIO_LISTIO64)
#endif

/* A process that ends with _exit (a forked child's usual end, Python's
 * os._exit) does the last closer's work for its pipes first, as exit()
 * does in an atexit handler; a killed one leaves it to exit work. */
void _exit(int status)
{
	if (ON)
		uipc_pipe_exiting();
	NEXT(N_EXIT, void (*)(int))(status);
	syscall(SYS_exit_group, status);
	for (;;)
		;
}

void _Exit(int status)
{
	_exit(status);
}

/* syscall() of a call that closes or dups descriptors (preload.c). */
void uipc_shim_syscall_before(long nr, const long *a)
{
	if (!ON)
		return;
	if (nr == SYS_close)
		uipc_pipe_closing((int)a[0]);
#ifdef SYS_close_range
	else if (nr == SYS_close_range && !(a[2] & CLOSE_RANGE_CLOEXEC))
		uipc_pipe_closing_range((unsigned int)a[0], (unsigned int)a[1]);
#endif
#ifdef SYS_dup2
	else if (nr == SYS_dup2 && a[0] != a[1])
		uipc_pipe_closing((int)a[1]);
#endif
	else if (nr == SYS_dup3 && a[0] != a[1])
		uipc_pipe_closing((int)a[1]);
}

void uipc_shim_syscall_after(long nr, long r)
{
	if (!ON || r < 0)
		return;
	if (nr == SYS_dup3 || nr == SYS_dup
#ifdef SYS_dup2
	    || nr == SYS_dup2
#endif
	    )
		std_guard(uipc_shim_opened((int)r));
}

FILE *fdopen(int fd, const char *mode)
{
	if (ON)
		uipc_pipe_kernel(fd, 1);
	return NEXT(N_FDOPEN, FILE *(*)(int, const char *))(fd, mode);
}

/* ---- descriptors received -------------------------------------------- */

static void received(struct msghdr *msg)
{
	if (uipc_probe_read(msg, sizeof(*msg)) < 0 || !msg->msg_control)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		int *fds = (int *)CMSG_DATA(c);
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++)
			std_guard(uipc_shim_opened(fds[i]));
	}
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t r = NEXT(N_RECVMSG, ssize_t (*)(int, struct msghdr *, int))(
		fd, msg, flags);

	if (ON && r >= 0)
		received(msg);
	return r;
}

#ifdef __GLIBC__
int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
	     struct timespec *t)
#else
int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, unsigned int flags,
	     struct timespec *t)
#endif
{
	int r = NEXT(N_RECVMMSG, int (*)(int, struct mmsghdr *, unsigned int,
					 int, struct timespec *))(
		fd, v, n, (int)flags, t);

	if (ON)
		for (int i = 0; i < r; i++)
			received(&v[i].msg_hdr);
	return r;
}
