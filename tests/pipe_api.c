/*
 * pipe_api: uipc pipes side by side with the kernel's.  Every scenario runs
 * twice, on kernel pipes (the system calls) and on uipc pipes (uipc_pipe2,
 * uipc_read, ...), and the traces of every call's return value, errno and
 * data must match line for line: capacity as the kernel counts it (pages,
 * not bytes), F_GETPIPE_SZ/F_SETPIPE_SZ, FIONREAD, O_NONBLOCK, EOF, EPIPE
 * and SIGPIPE, pipe2 flags, fcntl and dup*, O_DIRECT packets, readv and
 * writev, EBADF, EFAULT, data integrity, fork, blocking, killed writers
 * and readers, signals (EINTR, SA_RESTART, blocked, ignored, SIGSTOP), poll,
 * state shared by processes through the open file, atomic writes by
 * concurrent writers, many pipes, exec, SCM_RIGHTS, an unmodified program
 * (cat) reading a uipc pipe, and descriptors that are not uipc pipes.
 *
 * Children use the same table (the uipc_ calls on uipc pipes).  Every wait
 * is bounded: a child is killed after 10 s, and the harness's watchdog ends
 * the whole test after 120 s.
 *
 * Built with -DPIPE_KERNEL_ONLY, the "uipc" side is the C library too: both
 * traces come from the kernel, which shows the scenarios are deterministic.
 */
#include "harness.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

struct pipe_ops {
	const char *name;	/* "kernel" or "uipc" */
	int (*pipe)(int[2]);
	int (*pipe2)(int[2], int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*poll)(struct pollfd *, nfds_t, int);
};

/* The kernel is called directly where bad pointers are passed: a
 * sanitizer's interceptors of the libc wrappers would judge them first. */
static ssize_t k_read(int fd, void *b, size_t n)
{
	return syscall(SYS_read, fd, b, n);
}

static ssize_t k_write(int fd, const void *b, size_t n)
{
	return syscall(SYS_write, fd, b, n);
}

static ssize_t k_readv(int fd, const struct iovec *iov, int n)
{
	return syscall(SYS_readv, fd, iov, n);
}

static ssize_t k_writev(int fd, const struct iovec *iov, int n)
{
	return syscall(SYS_writev, fd, iov, n);
}

static int k_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	unsigned long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

static int k_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	unsigned long arg;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

static int k_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };

	return (int)syscall(SYS_ppoll, fds, n, timeout < 0 ? NULL : &ts, NULL, 0);
}

/* The kernel's dup3 itself: musl's takes flags other than O_CLOEXEC
 * without a word (it falls back to dup2). */
static int k_dup3(int oldfd, int newfd, int flags)
{
	return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

static const struct pipe_ops kernel_pops = {
	"kernel", pipe, pipe2, k_read, k_write, k_readv, k_writev,
	close, dup, dup2, k_dup3, k_fcntl, k_ioctl, k_poll,
};

#ifdef PIPE_KERNEL_ONLY
static const struct pipe_ops uipc_pops = {
	"uipc", pipe, pipe2, read, write, readv, writev,
	close, dup, dup2, dup3, fcntl, ioctl, poll,
};
#else
static const struct pipe_ops uipc_pops = {
	"uipc", uipc_pipe, uipc_pipe2, uipc_read, uipc_write, uipc_readv,
	uipc_writev, uipc_close, uipc_dup, uipc_dup2, uipc_dup3, uipc_fcntl,
	uipc_ioctl, uipc_poll,
};
#endif

/* A descriptor number nobody uses: the uipc library may open files of its
 * own, so a just-closed low number could be taken again. */
#define CLOSED_FD 900

#define BIG (2 << 20)
static unsigned char wbuf[BIG], rbuf[BIG];

/* ---- recording -------------------------------------------------------- */

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

#define FNV0 2166136261u

/* Records a read: its return and what came. */
static void rec_data(struct trace *t, const char *what, long r,
		     const unsigned char *b)
{
	int e = errno, text = r > 0 && r <= 48;

	if (r < 0) {
		tprintf(t, "%s -> -1 %s", what, errname(e));
		return;
	}
	for (long i = 0; text && i < r; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			text = 0;
	if (r == 0)
		tprintf(t, "%s -> 0", what);
	else if (text)
		tprintf(t, "%s -> %ld \"%.*s\"", what, r, (int)r, (const char *)b);
	else
		tprintf(t, "%s -> %ld fnv=%08x", what, r,
			fnv(FNV0, b, (size_t)r));
}

/* n bytes of a pattern that differs with seed and with the offset. */
static void pattern(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((i * 7 + seed * 13 + (i >> 8)) ^ (i >> 16));
}

static int mk(const struct pipe_ops *o, struct trace *t, int p[2], int flags,
	      const char *what)
{
	int r;

	p[0] = p[1] = -7;
	r = (int)tval(t, what, o->pipe2(p, flags));
	if (r == 0)
		tprintf(t, "%s: two distinct ends=%d", what,
			p[0] >= 0 && p[1] >= 0 && p[0] != p[1]);
	else
		tprintf(t, "%s: fds untouched=%d", what, p[0] == -7 && p[1] == -7);
	return r;
}

static void cl(const struct pipe_ops *o, struct trace *t, int fd,
	       const char *what)
{
	tval(t, what, o->close(fd));
}

static void cl2(const struct pipe_ops *o, struct trace *t, int p[2])
{
	tval(t, "close read end", o->close(p[0]));
	tval(t, "close write end", o->close(p[1]));
}

static long wr(const struct pipe_ops *o, struct trace *t, int fd, size_t n,
	       unsigned seed, const char *what)
{
	pattern(wbuf, n, seed);
	return tval(t, what, o->write(fd, wbuf, n));
}

static long rd(const struct pipe_ops *o, struct trace *t, int fd, size_t n,
	       const char *what)
{
	long r;

	memset(rbuf, 0, n < 65536 ? n : 65536);
	r = o->read(fd, rbuf, n);
	rec_data(t, what, r, rbuf);
	return r;
}

static void fionread(const struct pipe_ops *o, struct trace *t, int fd,
		     const char *what)
{
	int v = -1;
	long r = o->ioctl(fd, FIONREAD, &v);

	if (r < 0)
		tval(t, what, r);
	else
		tprintf(t, "%s -> %ld n=%d", what, r, v);
}

static const char *flstr(long fl)
{
	static char b[4][64];
	static int k;

	k = (k + 1) % 4;
	snprintf(b[k], sizeof(b[k]), "%s%s%s%s%s",
		 (fl & O_ACCMODE) == O_RDONLY ? "RDONLY" :
		 (fl & O_ACCMODE) == O_WRONLY ? "WRONLY" :
		 (fl & O_ACCMODE) == O_RDWR ? "RDWR" : "ACC3",
		 fl & O_NONBLOCK ? "|NONBLOCK" : "",
		 fl & O_DIRECT ? "|DIRECT" : "",
		 fl & O_APPEND ? "|APPEND" : "",
		 fl & O_ASYNC ? "|ASYNC" : "");
	return b[k];
}

static void getfl(const struct pipe_ops *o, struct trace *t, int fd,
		  const char *what)
{
	long r = o->fcntl(fd, F_GETFL, 0);

	if (r < 0)
		tval(t, what, r);
	else
		tprintf(t, "%s -> %s", what, flstr(r));
}

/* Writes chunk bytes at a time into a non-blocking end until a write
 * fails: how much went in, in how many calls, the first partial write. */
static void fill(const struct pipe_ops *o, struct trace *t, int fd,
		 size_t chunk, const char *what)
{
	long total = 0, r = 0;
	int calls = 0, partial_at = -1;
	long partial = 0;
	const char *end = "limit";

	pattern(wbuf, chunk, 3);
	while (total < 4L * 1024 * 1024) {
		r = o->write(fd, wbuf, chunk);
		calls++;
		if (r < 0) {
			end = errname(errno);
			break;
		}
		if (r == 0) {
			end = "0";
			break;
		}
		if ((size_t)r != chunk && partial_at < 0) {
			partial_at = calls;
			partial = r;
		}
		total += r;
	}
	tprintf(t, "%s (%zu at a time): total=%ld calls=%d first partial=%d:%ld "
		"end=%s", what, chunk, total, calls, partial_at, partial, end);
}

/* Reads a non-blocking end (or one whose writers are gone) until it is
 * empty: how much, in how many reads, a hash of it all, how it ended. */
static void drain(const struct pipe_ops *o, struct trace *t, int fd,
		  size_t chunk, const char *what)
{
	long total = 0, r;
	int reads = 0;
	uint32_t h = FNV0;
	const char *end = "limit";

	while (total < 8L * 1024 * 1024) {
		r = o->read(fd, rbuf, chunk);
		if (r < 0) {
			end = errname(errno);
			break;
		}
		if (r == 0) {
			end = "EOF";
			break;
		}
		reads++;
		h = fnv(h, rbuf, (size_t)r);
		total += r;
	}
	tprintf(t, "%s (%zu at a time): total=%ld reads=%d fnv=%08x end=%s",
		what, chunk, total, reads, h, end);
}

/* ---- children ------------------------------------------------------- */

#define CHILD_AREA 65536
static char *child_area;	/* the child's trace, shared */
static int child_kind;		/* what the next child does */

typedef void (*child_fn)(const struct pipe_ops *o, struct trace *t, int *fds);

static void child_flush(struct trace *t)
{
	size_t n = t->n < CHILD_AREA - 1 ? t->n : CHILD_AREA - 1;

	if (t->s)
		memcpy(child_area, t->s, n);
	child_area[n] = 0;
}

static pid_t spawn(const struct pipe_ops *o, child_fn fn, int *fds)
{
	pid_t pid;

	memset(child_area, 0, CHILD_AREA);
	pid = fork();
	if (pid == 0) {
		struct trace c = { 0 };

		fn(o, &c, fds);
		child_flush(&c);
		_exit(0);
	}
	return pid;
}

/* Waits (at most 10 s) for the child and appends its trace and how it
 * ended. */
static int wait_bounded(struct trace *t, pid_t pid)
{
	int st = 0;
	pid_t r = 0;

	for (int i = 0; i < 10000; i++) {
		r = waitpid(pid, &st, WNOHANG);
		if (r != 0)
			break;
		usleep(1000);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		tprintf(t, "child hung: killed after 10 s");
	}
	return st;
}

static void trace_status(struct trace *t, int st)
{
	if (WIFSIGNALED(st))
		tprintf(t, "child killed by signal %d", WTERMSIG(st));
	else
		tprintf(t, "child exited %d", WEXITSTATUS(st));
}

static void reap(struct trace *t, pid_t pid)
{
	int st;

	if (pid < 0) {
		tprintf(t, "fork failed");
		return;
	}
	st = wait_bounded(t, pid);
	tlines(t, "child: ", child_area);
	trace_status(t, st);
}

static volatile sig_atomic_t got_usr1, got_pipe;

static void on_usr1(int s)
{
	(void)s;
	got_usr1++;
}

static void on_pipe(int s)
{
	(void)s;
	got_pipe++;
}

static void setsig(int sig, void (*h)(int), int flags, struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, old);
}

static long ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* ---- capacity, F_GETPIPE_SZ, F_SETPIPE_SZ, FIONREAD ----------------- */

static void scen_capacity(const struct pipe_ops *o, struct trace *t)
{
	int p[2];

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	tval(t, "F_GETPIPE_SZ read end", o->fcntl(p[0], F_GETPIPE_SZ, 0));
	tval(t, "F_GETPIPE_SZ write end", o->fcntl(p[1], F_GETPIPE_SZ, 0));
	fionread(o, t, p[0], "FIONREAD empty");
	fill(o, t, p[1], 1, "fill");
	fionread(o, t, p[0], "FIONREAD full, read end");
	fionread(o, t, p[1], "FIONREAD full, write end");
	rd(o, t, p[0], 1, "read 1 from full");
	fionread(o, t, p[0], "FIONREAD");
	wr(o, t, p[1], 1, 1, "write 1 after reading 1");
	rd(o, t, p[0], 4095, "read 4095 (rest of first page)");
	wr(o, t, p[1], 1, 1, "write 1 after reading a page");
	wr(o, t, p[1], 4096, 1, "write 4096 then");
	wr(o, t, p[1], 4095, 1, "write 4095 then");
	wr(o, t, p[1], 1, 1, "write 1 then");
	drain(o, t, p[0], 65536, "drain");
	fill(o, t, p[1], 4096, "fill");
	drain(o, t, p[0], 65536, "drain");
	fill(o, t, p[1], 65536, "fill");
	drain(o, t, p[0], 100000, "drain");
	fill(o, t, p[1], 4097, "fill");
	drain(o, t, p[0], 4095, "drain");
	fill(o, t, p[1], 1000, "fill");
	drain(o, t, p[0], 65536, "drain");

	wr(o, t, p[1], 1, 2, "write 1");
	wr(o, t, p[1], 65536, 2, "write 65536 after 1");
	wr(o, t, p[1], 1, 2, "write 1 then");
	wr(o, t, p[1], 4096, 2, "write 4096 then");
	wr(o, t, p[1], 4097, 2, "write 4097 then");
	fionread(o, t, p[0], "FIONREAD");
	drain(o, t, p[0], 65536, "drain");

	wr(o, t, p[1], 61440, 3, "write 15 pages");
	wr(o, t, p[1], 8192, 3, "write 8192 into one free page");
	wr(o, t, p[1], 100, 3, "write 100 into none");
	drain(o, t, p[0], 65536, "drain");
	wr(o, t, p[1], 61440, 3, "write 15 pages");
	wr(o, t, p[1], 4097, 3, "write 4097 into one free page");
	drain(o, t, p[0], 65536, "drain");
	wr(o, t, p[1], 61440, 3, "write 15 pages");
	wr(o, t, p[1], 100, 3, "write 100 into the last page");
	wr(o, t, p[1], 100, 3, "write 100 more (last page has 100)");
	wr(o, t, p[1], 4000, 3, "write 4000 more");
	wr(o, t, p[1], 3896, 3, "write 3896 more");
	wr(o, t, p[1], 1, 3, "write 1 more");
	fionread(o, t, p[0], "FIONREAD");
	drain(o, t, p[0], 65536, "drain");
	wr(o, t, p[1], 61540, 4, "write 61540 in one");
	wr(o, t, p[1], 100, 4, "write 100 then");
	wr(o, t, p[1], 4000, 4, "write 4000 then");
	drain(o, t, p[0], 65536, "drain");

	/* FIONREAD as bytes come and go. */
	wr(o, t, p[1], 10, 5, "write 10");
	fionread(o, t, p[0], "FIONREAD");
	wr(o, t, p[1], 5000, 5, "write 5000");
	fionread(o, t, p[1], "FIONREAD write end");
	rd(o, t, p[0], 7, "read 7");
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 4096, "read 4096");
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100000, "read 100000");
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 1, "read 1 empty");
	cl2(o, t, p);
}

static void scen_setsize(const struct pipe_ops *o, struct trace *t)
{
	static const long sizes[] = {
		0, 1, 4095, 4096, 4097, 65536, 100000, 1 << 20, (1 << 20) + 1,
		8192, -1, INT_MAX, 1L << 31, 12288, 3 * 65536,
	};
	char what[64];
	int p[2], fd;
	long max = -1;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");

	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = -1;
		fclose(f);
	}
	tprintf(t, "pipe-max-size %ld", max);
	pattern(wbuf, BIG, 10);
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(what, sizeof(what), "F_SETPIPE_SZ %ld", sizes[i]);
		tval(t, what, o->fcntl(p[i & 1], F_SETPIPE_SZ, sizes[i]));
		tval(t, "F_GETPIPE_SZ", o->fcntl(p[(i + 1) & 1], F_GETPIPE_SZ, 0));
		tval(t, "write 2 MiB into it", o->write(p[1], wbuf, BIG));
		fionread(o, t, p[0], "FIONREAD");
		drain(o, t, p[0], 65536, "drain");
	}
	tval(t, "F_SETPIPE_SZ 4096", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	fill(o, t, p[1], 1, "fill 1-page pipe");
	drain(o, t, p[0], 65536, "drain");
	wr(o, t, p[1], 1, 1, "write 1 into 1-page pipe");
	wr(o, t, p[1], 4096, 1, "write 4096 then");
	wr(o, t, p[1], 100, 1, "write 100 then");
	drain(o, t, p[0], 65536, "drain");

	/* Shrinking below what is held. */
	tval(t, "F_SETPIPE_SZ 65536", o->fcntl(p[1], F_SETPIPE_SZ, 65536));
	wr(o, t, p[1], 10000, 6, "write 10000");
	tval(t, "F_SETPIPE_SZ 4096 holding 10000", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	tval(t, "F_SETPIPE_SZ 8192 holding 10000", o->fcntl(p[1], F_SETPIPE_SZ, 8192));
	tval(t, "F_GETPIPE_SZ", o->fcntl(p[1], F_GETPIPE_SZ, 0));
	tval(t, "F_SETPIPE_SZ 16384 holding 10000", o->fcntl(p[0], F_SETPIPE_SZ, 16384));
	tval(t, "F_GETPIPE_SZ", o->fcntl(p[1], F_GETPIPE_SZ, 0));
	fionread(o, t, p[0], "FIONREAD");
	tval(t, "write 65536 then", o->write(p[1], wbuf, 65536));
	tval(t, "write 1 then", o->write(p[1], wbuf, 1));
	drain(o, t, p[0], 65536, "drain");

	tval(t, "F_SETPIPE_SZ 65536", o->fcntl(p[1], F_SETPIPE_SZ, 65536));
	fill(o, t, p[1], 1, "fill");
	drain(o, t, p[0], 60000, "drain");
	for (int i = 0; i < 4096; i++)
		o->write(p[1], "a", 1);
	tval(t, "F_SETPIPE_SZ 4096 holding 4096 written by 1", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	wr(o, t, p[1], 1, 1, "write 1 more");
	tval(t, "F_SETPIPE_SZ 65536", o->fcntl(p[1], F_SETPIPE_SZ, 65536));
	wr(o, t, p[1], 1, 1, "write 1 more");
	fionread(o, t, p[0], "FIONREAD");
	tval(t, "F_SETPIPE_SZ 4096 holding 4097", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	tval(t, "F_SETPIPE_SZ 8192 holding 4097", o->fcntl(p[1], F_SETPIPE_SZ, 8192));
	tval(t, "F_GETPIPE_SZ", o->fcntl(p[1], F_GETPIPE_SZ, 0));
	drain(o, t, p[0], 65536, "drain");
	tval(t, "F_SETPIPE_SZ 4096 empty", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	tval(t, "F_GETPIPE_SZ", o->fcntl(p[0], F_GETPIPE_SZ, 0));
	cl2(o, t, p);

	/* Resizing a ring whose contents wrap around its end. */
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	wr(o, t, p[1], 14 * 4096, 20, "write 14 pages");
	drain(o, t, p[0], 65536, "drain");
	wr(o, t, p[1], 4 * 4096 + 100, 21, "write 4 pages and 100 (wrapping)");
	tval(t, "F_SETPIPE_SZ 16384 holding 5 pages", o->fcntl(p[1], F_SETPIPE_SZ, 16384));
	tval(t, "F_SETPIPE_SZ 32768 holding 5 pages", o->fcntl(p[1], F_SETPIPE_SZ, 32768));
	rd(o, t, p[0], 4096, "read a page");
	tval(t, "F_SETPIPE_SZ 16384 holding 4 pages", o->fcntl(p[1], F_SETPIPE_SZ, 16384));
	tval(t, "F_GETPIPE_SZ", o->fcntl(p[1], F_GETPIPE_SZ, 0));
	wr(o, t, p[1], 100, 22, "write 100 (merges)");
	wr(o, t, p[1], 4096, 22, "write 4096");
	tval(t, "F_SETPIPE_SZ 131072", o->fcntl(p[0], F_SETPIPE_SZ, 131072));
	wr(o, t, p[1], 70000, 23, "write 70000");
	fionread(o, t, p[0], "FIONREAD");
	tval(t, "F_SETPIPE_SZ 4096 holding many", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	drain(o, t, p[0], 5000, "drain");
	cl2(o, t, p);

	/* Size on something that is not a pipe; on a closed descriptor. */
	fd = open("/dev/null", O_RDWR);
	tval(t, "F_GETPIPE_SZ /dev/null", o->fcntl(fd, F_GETPIPE_SZ, 0));
	tval(t, "F_SETPIPE_SZ /dev/null", o->fcntl(fd, F_SETPIPE_SZ, 4096));
	tval(t, "close /dev/null", o->close(fd));
	tval(t, "F_GETPIPE_SZ closed", o->fcntl(CLOSED_FD, F_GETPIPE_SZ, 0));
	tval(t, "F_SETPIPE_SZ closed", o->fcntl(CLOSED_FD, F_SETPIPE_SZ, 4096));
}

/* ---- O_NONBLOCK, EOF, EPIPE and SIGPIPE ----------------------------- */

static void child_sigpipe_dfl(const struct pipe_ops *o, struct trace *t,
			      int *p)
{
	signal(SIGPIPE, SIG_DFL);
	child_flush(t);
	o->write(p[1], "x", 1);
	tprintf(t, "still alive after writing to no reader");
}

static void scen_eof_epipe(const struct pipe_ops *o, struct trace *t)
{
	struct sigaction old;
	sigset_t set, pend;
	int p[2], d, d2;

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	rd(o, t, p[0], 10, "read empty");
	rd(o, t, p[0], 0, "read 0 empty");
	tval(t, "write 0", o->write(p[1], wbuf, 0));
	fionread(o, t, p[0], "FIONREAD after write 0");
	rd(o, t, p[0], 10, "read empty after write 0");
	tval(t, "write abc", o->write(p[1], "abc", 3));
	rd(o, t, p[0], 0, "read 0 with data");
	fionread(o, t, p[0], "FIONREAD");
	cl(o, t, p[1], "close writer");
	rd(o, t, p[0], 10, "read after writer gone");
	rd(o, t, p[0], 10, "read at EOF");
	rd(o, t, p[0], 10, "read at EOF again");
	rd(o, t, p[0], 0, "read 0 at EOF");
	cl(o, t, p[0], "close reader");

	mk(o, t, p, 0, "pipe2 0");
	tval(t, "write xyz", o->write(p[1], "xyz", 3));
	cl(o, t, p[1], "close writer");
	rd(o, t, p[0], 2, "read 2");
	rd(o, t, p[0], 10, "read 10");
	rd(o, t, p[0], 10, "read at EOF (blocking pipe)");
	cl(o, t, p[0], "close reader");

	mk(o, t, p, 0, "pipe2 0");
	cl(o, t, p[1], "close writer");
	rd(o, t, p[0], 10, "read, no writer ever wrote");
	cl(o, t, p[0], "close reader");

	/* A dup of the write end keeps the pipe open for writing. */
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	d = o->dup(p[1]);
	tprintf(t, "dup write end ok=%d", d >= 0);
	cl(o, t, p[1], "close write end");
	rd(o, t, p[0], 10, "read, dup of writer open");
	tval(t, "write through dup", o->write(d, "dup", 3));
	rd(o, t, p[0], 10, "read it");
	cl(o, t, d, "close dup of writer");
	rd(o, t, p[0], 10, "read, all writers gone");
	cl(o, t, p[0], "close reader");

	/* EPIPE and SIGPIPE with a handler. */
	setsig(SIGPIPE, on_pipe, SA_RESTART, &old);
	got_pipe = 0;
	mk(o, t, p, 0, "pipe2 0");
	cl(o, t, p[0], "close reader");
	tval(t, "write no reader", o->write(p[1], "hello", 5));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	tval(t, "write 0 no reader", o->write(p[1], "hello", 0));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	{
		struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };

		tval(t, "writev no reader", o->writev(p[1], iov, 2));
		tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	}
	tval(t, "write 70000 no reader", o->write(p[1], wbuf, 70000));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	cl(o, t, p[1], "close writer");

	/* The reader has a dup: only closing both gives EPIPE. */
	got_pipe = 0;
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	d = o->dup(p[0]);
	d2 = o->fcntl(p[0], F_DUPFD, 0);
	tprintf(t, "dups of read end ok=%d", d >= 0 && d2 >= 0);
	cl(o, t, p[0], "close read end");
	tval(t, "write, two dups of reader open", o->write(p[1], "one", 3));
	fionread(o, t, d, "FIONREAD on dup");
	cl(o, t, d, "close dup");
	tval(t, "write, F_DUPFD copy of reader open", o->write(p[1], "two", 3));
	rd(o, t, d2, 100, "read on F_DUPFD copy");
	cl(o, t, d2, "close F_DUPFD copy");
	tval(t, "write, no reader left", o->write(p[1], "three", 5));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	cl(o, t, p[1], "close writer");

	/* Full and non-blocking, then the reader goes: EPIPE, not EAGAIN. */
	got_pipe = 0;
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	fill(o, t, p[1], 4096, "fill");
	cl(o, t, p[0], "close reader of full pipe");
	tval(t, "write to full pipe, no reader", o->write(p[1], "x", 1));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	cl(o, t, p[1], "close writer");

	/* SIG_IGN: just EPIPE. */
	setsig(SIGPIPE, SIG_IGN, 0, NULL);
	got_pipe = 0;
	mk(o, t, p, 0, "pipe2 0");
	cl(o, t, p[0], "close reader");
	tval(t, "write no reader, SIGPIPE ignored", o->write(p[1], "x", 1));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);

	/* Blocked: EPIPE, and the signal stays pending. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	setsig(SIGPIPE, on_pipe, 0, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	tval(t, "write no reader, SIGPIPE blocked", o->write(p[1], "x", 1));
	sigpending(&pend);
	tprintf(t, "SIGPIPE pending %d", sigismember(&pend, SIGPIPE));
	setsig(SIGPIPE, SIG_IGN, 0, NULL);	/* discards it */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	cl(o, t, p[1], "close writer");

	/* SIG_DFL: the writer dies of it. */
	mk(o, t, p, 0, "pipe2 0");
	cl(o, t, p[0], "close reader");
	reap(t, spawn(o, child_sigpipe_dfl, p));
	cl(o, t, p[1], "close writer");
	sigaction(SIGPIPE, &old, NULL);
}

/* ---- pipe2 flags, fcntl, dup ---------------------------------------- */

static void ends_info(const struct pipe_ops *o, struct trace *t, int p[2])
{
	struct stat a, b;
	int ra = fstat(p[0], &a), rb = fstat(p[1], &b);

	getfl(o, t, p[0], "  F_GETFL read end");
	getfl(o, t, p[1], "  F_GETFL write end");
	tval(t, "  F_GETFD read end", o->fcntl(p[0], F_GETFD, 0));
	tval(t, "  F_GETFD write end", o->fcntl(p[1], F_GETFD, 0));
	tprintf(t, "  fstat: fifo=%d,%d same inode=%d", ra == 0 && S_ISFIFO(a.st_mode),
		rb == 0 && S_ISFIFO(b.st_mode), ra == 0 && rb == 0 &&
		a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

static void scen_flags(const struct pipe_ops *o, struct trace *t)
{
	static const struct { int f; const char *n; } good[] = {
		{ 0, "0" }, { O_CLOEXEC, "CLOEXEC" }, { O_NONBLOCK, "NONBLOCK" },
		{ O_DIRECT, "DIRECT" }, { O_CLOEXEC | O_NONBLOCK, "CLOEXEC|NONBLOCK" },
		{ O_CLOEXEC | O_DIRECT, "CLOEXEC|DIRECT" },
		{ O_NONBLOCK | O_DIRECT, "NONBLOCK|DIRECT" },
		{ O_CLOEXEC | O_NONBLOCK | O_DIRECT, "CLOEXEC|NONBLOCK|DIRECT" },
	}, bad[] = {
		{ O_APPEND, "APPEND" }, { O_ASYNC, "ASYNC" }, { 0x1, "0x1" },
		{ -1, "-1" }, { O_RDWR, "RDWR" }, { O_TRUNC, "TRUNC" },
		{ O_NONBLOCK | O_APPEND, "NONBLOCK|APPEND" },
		{ O_CLOEXEC | O_SYNC, "CLOEXEC|SYNC" }, { O_NOATIME, "NOATIME" },
		{ O_CREAT, "CREAT" }, { INT_MIN, "INT_MIN" },
	};
	char what[80];
	struct rlimit rl;
	int p[2], d, e, one = 1, zero = 0;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(what, sizeof(what), "pipe2 %s", good[i].n);
		if (mk(o, t, p, good[i].f, what) == 0) {
			ends_info(o, t, p);
			cl2(o, t, p);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "pipe2 %s", bad[i].n);
		if (mk(o, t, p, bad[i].f, what) == 0)
			cl2(o, t, p);
	}
	p[0] = p[1] = -7;
	if (tval(t, "pipe", o->pipe(p)) == 0) {
		ends_info(o, t, p);
		cl2(o, t, p);
	}

	/* F_SETFL: O_NONBLOCK on and off, O_DIRECT (packet mode) on and
	 * off, what else it accepts. */
	mk(o, t, p, 0, "pipe2 0");
	tval(t, "F_SETFL read end NONBLOCK", o->fcntl(p[0], F_SETFL, O_NONBLOCK));
	getfl(o, t, p[0], "F_GETFL read end");
	getfl(o, t, p[1], "F_GETFL write end");
	rd(o, t, p[0], 10, "read empty, now non-blocking");
	tval(t, "F_SETFL write end NONBLOCK", o->fcntl(p[1], F_SETFL, O_NONBLOCK));
	fill(o, t, p[1], 65536, "fill");
	drain(o, t, p[0], 65536, "drain");
	tval(t, "F_SETFL write end DIRECT|NONBLOCK",
	    o->fcntl(p[1], F_SETFL, O_DIRECT | O_NONBLOCK));
	getfl(o, t, p[1], "F_GETFL write end");
	tval(t, "write 10", o->write(p[1], "0123456789", 10));
	tval(t, "write 10", o->write(p[1], "abcdefghij", 10));
	rd(o, t, p[0], 100, "read 100 (packets?)");
	rd(o, t, p[0], 100, "read 100");
	tval(t, "F_SETFL write end NONBLOCK (DIRECT off)",
	    o->fcntl(p[1], F_SETFL, O_NONBLOCK));
	getfl(o, t, p[1], "F_GETFL write end");
	tval(t, "write 10", o->write(p[1], "0123456789", 10));
	tval(t, "write 10", o->write(p[1], "abcdefghij", 10));
	rd(o, t, p[0], 100, "read 100 (a stream again?)");
	tval(t, "F_SETFL read end APPEND|NONBLOCK",
	    o->fcntl(p[0], F_SETFL, O_APPEND | O_NONBLOCK));
	getfl(o, t, p[0], "F_GETFL read end");
	tval(t, "F_SETFL read end RDWR (access mode ignored)",
	    o->fcntl(p[0], F_SETFL, O_RDWR));
	getfl(o, t, p[0], "F_GETFL read end");
	rd(o, t, p[0], 0, "read 0 (blocking again)");
	tval(t, "F_SETFL write end 0", o->fcntl(p[1], F_SETFL, 0));
	getfl(o, t, p[1], "F_GETFL write end");

	/* FIONBIO is O_NONBLOCK too. */
	tval(t, "FIONBIO 1 read end", o->ioctl(p[0], FIONBIO, &one));
	getfl(o, t, p[0], "F_GETFL read end");
	rd(o, t, p[0], 10, "read empty after FIONBIO");
	tval(t, "FIONBIO 0 read end", o->ioctl(p[0], FIONBIO, &zero));
	getfl(o, t, p[0], "F_GETFL read end");

	/* F_GETFD/F_SETFD. */
	tval(t, "F_SETFD write end CLOEXEC", o->fcntl(p[1], F_SETFD, FD_CLOEXEC));
	tval(t, "F_GETFD write end", o->fcntl(p[1], F_GETFD, 0));
	tval(t, "F_GETFD read end", o->fcntl(p[0], F_GETFD, 0));
	tval(t, "F_SETFD write end 0", o->fcntl(p[1], F_SETFD, 0));
	tval(t, "F_GETFD write end", o->fcntl(p[1], F_GETFD, 0));

	/* dup shares the open file (status flags), not the fd flags. */
	d = o->dup(p[0]);
	tprintf(t, "dup read end ok=%d", d >= 0);
	tval(t, "F_GETFD dup", o->fcntl(d, F_GETFD, 0));
	tval(t, "F_SETFL dup NONBLOCK", o->fcntl(d, F_SETFL, O_NONBLOCK));
	getfl(o, t, p[0], "F_GETFL original");
	rd(o, t, p[0], 10, "read original, empty");
	tval(t, "F_SETFL original 0", o->fcntl(p[0], F_SETFL, 0));
	getfl(o, t, d, "F_GETFL dup");
	cl(o, t, d, "close dup");

	/* dup3 with O_CLOEXEC, dup2, onto free numbers. */
	e = o->dup3(p[0], 300, O_CLOEXEC);
	tprintf(t, "dup3 read end 300 CLOEXEC -> %s", e == 300 ? "300" : e < 0 ? errname(errno) : "other");
	tval(t, "F_GETFD 300", o->fcntl(300, F_GETFD, 0));
	getfl(o, t, 300, "F_GETFL 300");
	e = o->dup2(p[1], 301);
	tprintf(t, "dup2 write end 301 -> %s", e == 301 ? "301" : e < 0 ? errname(errno) : "other");
	tval(t, "F_GETFD 301", o->fcntl(301, F_GETFD, 0));
	tval(t, "write via 301", o->write(301, "via301", 6));
	rd(o, t, 300, 100, "read via 300");
	e = o->dup3(p[1], 300, 0);
	tprintf(t, "dup3 write end over 300 (was read end) -> %s", e == 300 ? "300" : e < 0 ? errname(errno) : "other");
	getfl(o, t, 300, "F_GETFL 300");
	tval(t, "F_GETFD 300", o->fcntl(300, F_GETFD, 0));
	tval(t, "write via 300", o->write(300, "via300", 6));
	rd(o, t, p[0], 100, "read it");
	cl(o, t, 300, "close 300");
	cl(o, t, 301, "close 301");

	/* F_DUPFD, F_DUPFD_CLOEXEC with a minimum. */
	d = o->fcntl(p[0], F_DUPFD, 100);
	tprintf(t, "F_DUPFD read end 100: ok=%d >=100=%d", d >= 0, d >= 100);
	tval(t, "F_GETFD it", o->fcntl(d, F_GETFD, 0));
	e = o->fcntl(p[1], F_DUPFD_CLOEXEC, 200);
	tprintf(t, "F_DUPFD_CLOEXEC write end 200: ok=%d >=200=%d", e >= 0, e >= 200);
	tval(t, "F_GETFD it", o->fcntl(e, F_GETFD, 0));
	getfl(o, t, e, "F_GETFL it");
	tval(t, "write via F_DUPFD_CLOEXEC copy", o->write(e, "copied", 6));
	rd(o, t, d, 100, "read via F_DUPFD copy");
	cl(o, t, d, "close F_DUPFD copy");
	cl(o, t, e, "close F_DUPFD_CLOEXEC copy");
	tval(t, "F_DUPFD -1", o->fcntl(p[0], F_DUPFD, -1));
	tval(t, "F_DUPFD_CLOEXEC -5", o->fcntl(p[0], F_DUPFD_CLOEXEC, -5));
	getrlimit(RLIMIT_NOFILE, &rl);
	tval(t, "F_DUPFD at RLIMIT_NOFILE", o->fcntl(p[0], F_DUPFD, (long)rl.rlim_cur));
	tval(t, "F_DUPFD INT_MAX", o->fcntl(p[0], F_DUPFD, INT_MAX));
	tval(t, "F_DUPFD closed", o->fcntl(CLOSED_FD, F_DUPFD, 0));
	cl2(o, t, p);
}

/* ---- O_DIRECT packet mode -------------------------------------------- */

static void scen_packet(const struct pipe_ops *o, struct trace *t)
{
	unsigned char a[5], b[100];
	struct iovec iov[4];
	int p[2];

	mk(o, t, p, O_DIRECT | O_NONBLOCK, "pipe2 DIRECT|NONBLOCK");
	wr(o, t, p[1], 10, 1, "write 10");
	wr(o, t, p[1], 20, 2, "write 20");
	wr(o, t, p[1], 30, 3, "write 30");
	fionread(o, t, p[0], "FIONREAD 3 packets");
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100 empty");

	tval(t, "write 20", o->write(p[1], "abcdefghijklmnopqrst", 20));
	rd(o, t, p[0], 5, "read 5 of the 20");
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100, "read 100 (rest discarded?)");
	tval(t, "write 20", o->write(p[1], "abcdefghijklmnopqrst", 20));
	tval(t, "write 7", o->write(p[1], "ABCDEFG", 7));
	rd(o, t, p[0], 5, "read 5 of the 20");
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100 empty");

	wr(o, t, p[1], 10000, 4, "write 10000");
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 65536, "read 65536");
	rd(o, t, p[0], 65536, "read 65536");
	rd(o, t, p[0], 65536, "read 65536");
	rd(o, t, p[0], 65536, "read 65536 empty");
	wr(o, t, p[1], 4096, 5, "write 4096");
	wr(o, t, p[1], 4097, 5, "write 4097");
	drain(o, t, p[0], 65536, "drain");

	tval(t, "write 0", o->write(p[1], "x", 0));
	rd(o, t, p[0], 100, "read after write 0");

	fill(o, t, p[1], 1, "fill");
	fionread(o, t, p[0], "FIONREAD");
	drain(o, t, p[0], 65536, "drain");
	fill(o, t, p[1], 4096, "fill");
	drain(o, t, p[0], 65536, "drain");
	fill(o, t, p[1], 70000, "fill");
	drain(o, t, p[0], 65536, "drain");

	iov[0] = (struct iovec){ "abc", 3 };
	iov[1] = (struct iovec){ "zzz", 0 };
	iov[2] = (struct iovec){ "defg", 4 };
	iov[3] = (struct iovec){ "hijkl", 5 };
	tval(t, "writev 3+0+4+5", o->writev(p[1], iov, 4));
	rd(o, t, p[0], 100, "read 100");
	pattern(wbuf, 6000, 6);
	iov[0] = (struct iovec){ wbuf, 3000 };
	iov[1] = (struct iovec){ wbuf + 3000, 3000 };
	tval(t, "writev 3000+3000", o->writev(p[1], iov, 2));
	rd(o, t, p[0], 65536, "read 65536");
	rd(o, t, p[0], 65536, "read 65536");
	rd(o, t, p[0], 65536, "read 65536 empty");

	tval(t, "write 20", o->write(p[1], "abcdefghijklmnopqrst", 20));
	tval(t, "write 3", o->write(p[1], "XYZ", 3));
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	iov[0] = (struct iovec){ a, 5 };
	iov[1] = (struct iovec){ b, 100 };
	tval(t, "readv 5+100 of a 20-byte packet", o->readv(p[0], iov, 2));
	tprintf(t, "  got \"%.5s\" \"%.20s\"", (char *)a, (char *)b);
	rd(o, t, p[0], 100, "read 100");

	tval(t, "F_SETPIPE_SZ 4096", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	tval(t, "write 10", o->write(p[1], "0123456789", 10));
	tval(t, "write 10 into the 1-page pipe", o->write(p[1], "0123456789", 10));
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100");
	tval(t, "F_SETPIPE_SZ 65536", o->fcntl(p[1], F_SETPIPE_SZ, 65536));

	/* The packet is the writer's: a read end without O_DIRECT still
	 * reads packets; a writer without it writes a stream. */
	tval(t, "F_SETFL read end NONBLOCK", o->fcntl(p[0], F_SETFL, O_NONBLOCK));
	getfl(o, t, p[0], "F_GETFL read end");
	tval(t, "write 5", o->write(p[1], "12345", 5));
	tval(t, "write 5", o->write(p[1], "67890", 5));
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100");
	cl2(o, t, p);

	mk(o, t, p, O_DIRECT, "pipe2 DIRECT (blocking)");
	wr(o, t, p[1], 5, 7, "write 5");
	wr(o, t, p[1], 6, 7, "write 6");
	cl(o, t, p[1], "close writer");
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read at EOF");
	cl(o, t, p[0], "close reader");
}

/* ---- readv, writev --------------------------------------------------- */

static void scen_iov(const struct pipe_ops *o, struct trace *t)
{
	static struct iovec many[IOV_MAX + 1];
	static unsigned char one[IOV_MAX + 1];
	unsigned char a[16], b[16];
	struct iovec iov[6];
	void *pg;
	int p[2];
	long r;

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	iov[0] = (struct iovec){ "abc", 3 };
	iov[1] = (struct iovec){ NULL, 0 };
	iov[2] = (struct iovec){ "defgh", 5 };
	iov[3] = (struct iovec){ (void *)1, 0 };
	iov[4] = (struct iovec){ "ijklmno", 7 };
	tval(t, "writev 3+0+5+0+7", o->writev(p[1], iov, 5));
	fionread(o, t, p[0], "FIONREAD");
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	iov[0] = (struct iovec){ NULL, 0 };
	iov[1] = (struct iovec){ a, 4 };
	iov[2] = (struct iovec){ (void *)1, 0 };
	iov[3] = (struct iovec){ b, 11 };
	tval(t, "readv 0+4+0+11", o->readv(p[0], iov, 4));
	tprintf(t, "  got \"%.4s\" \"%.11s\"", (char *)a, (char *)b);

	tval(t, "writev iovcnt 0", o->writev(p[1], iov, 0));
	tval(t, "readv iovcnt 0, empty", o->readv(p[0], iov, 0));
	tval(t, "write abc", o->write(p[1], "abc", 3));
	tval(t, "readv iovcnt 0, data", o->readv(p[0], iov, 0));
	iov[0] = (struct iovec){ a, 0 };
	iov[1] = (struct iovec){ b, 0 };
	tval(t, "readv two empty iovecs, data", o->readv(p[0], iov, 2));
	tval(t, "writev two empty iovecs", o->writev(p[1], iov, 2));
	fionread(o, t, p[0], "FIONREAD");
	tval(t, "writev iovcnt -1", o->writev(p[1], iov, -1));
	tval(t, "readv iovcnt -1", o->readv(p[0], iov, -1));
	for (int i = 0; i <= IOV_MAX; i++) {
		many[i].iov_base = &one[i];
		many[i].iov_len = 1;
		one[i] = (unsigned char)('a' + i % 26);
	}
	tval(t, "writev IOV_MAX+1", o->writev(p[1], many, IOV_MAX + 1));
	tval(t, "readv IOV_MAX+1", o->readv(p[0], many, IOV_MAX + 1));
	tval(t, "writev INT_MAX", o->writev(p[1], many, INT_MAX));
	rd(o, t, p[0], 100, "read the abc");
	tval(t, "writev IOV_MAX of 1", o->writev(p[1], many, IOV_MAX));
	memset(one, 0, sizeof(one));
	r = o->readv(p[0], many, IOV_MAX);
	rec_data(t, "readv IOV_MAX of 1", r, one);

	/* Bad iovecs. */
	tval(t, "writev iov NULL", o->writev(p[1], NULL, 1));
	tval(t, "write xyz", o->write(p[1], "xyz", 3));
	tval(t, "readv iov NULL", o->readv(p[0], NULL, 1));
	tval(t, "readv iov (void *)1", o->readv(p[0], (void *)1, 1));
	iov[0] = (struct iovec){ wbuf, SIZE_MAX };
	tval(t, "writev iov_len SIZE_MAX", o->writev(p[1], iov, 1));
	iov[0] = (struct iovec){ rbuf, SIZE_MAX };
	tval(t, "readv iov_len SIZE_MAX", o->readv(p[0], iov, 1));
	iov[0] = (struct iovec){ wbuf, (size_t)SSIZE_MAX };
	iov[1] = (struct iovec){ wbuf, (size_t)SSIZE_MAX };
	tval(t, "writev two of SSIZE_MAX", o->writev(p[1], iov, 2));
	fionread(o, t, p[0], "FIONREAD");
	drain(o, t, p[0], 65536, "drain");
	tval(t, "write xyz", o->write(p[1], "xyz", 3));
	iov[0] = (struct iovec){ (void *)1, 5 };
	tval(t, "writev base (void *)1", o->writev(p[1], iov, 1));
	iov[0] = (struct iovec){ "12345", 5 };
	iov[1] = (struct iovec){ (void *)1, 5 };
	tval(t, "writev good 5 + bad 5", o->writev(p[1], iov, 2));
	fionread(o, t, p[0], "FIONREAD");
	iov[0] = (struct iovec){ (void *)1, 5 };
	tval(t, "readv base (void *)1", o->readv(p[0], iov, 1));
	fionread(o, t, p[0], "FIONREAD");
	memset(a, 0, sizeof(a));
	iov[0] = (struct iovec){ a, 2 };
	iov[1] = (struct iovec){ (void *)1, 5 };
	tval(t, "readv good 2 + bad 5 (3 held)", o->readv(p[0], iov, 2));
	fionread(o, t, p[0], "FIONREAD");
	drain(o, t, p[0], 100, "drain");

	/* A buffer that runs off the end of the map. */
	pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Inaccessible, and no other mapping can come there (an unmapped
	 * hole can be filled by the C library's next mmap: musl's). */
	mprotect((char *)pg + 4096, 4096, PROT_NONE);
	memset(pg, 'q', 4096);
	iov[0] = (struct iovec){ (char *)pg + 4090, 100 };
	tval(t, "writev 100 running off the map", o->writev(p[1], iov, 1));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100, "read");
	wr(o, t, p[1], 50, 8, "write 50");
	iov[0] = (struct iovec){ (char *)pg + 4090, 100 };
	tval(t, "readv 100 running off the map (50 held)", o->readv(p[0], iov, 1));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100, "read");
	munmap(pg, 8192);

	/* More than fits. */
	pattern(wbuf, 80000, 9);
	iov[0] = (struct iovec){ wbuf, 40000 };
	iov[1] = (struct iovec){ wbuf + 40000, 40000 };
	tval(t, "writev 40000+40000 non-blocking", o->writev(p[1], iov, 2));
	memset(rbuf, 0, 80000);
	iov[0] = (struct iovec){ rbuf, 1 };
	iov[1] = (struct iovec){ rbuf + 1, 65534 };
	iov[2] = (struct iovec){ rbuf + 65535, 10000 };
	r = o->readv(p[0], iov, 3);
	rec_data(t, "readv 1+65534+10000", r, rbuf);
	tprintf(t, "  equal to what was written=%d", r > 0 && !memcmp(rbuf, wbuf, (size_t)r));

	/* Wrong ends. */
	tval(t, "writev read end", o->writev(p[0], iov, 1));
	tval(t, "readv write end", o->readv(p[1], iov, 1));
	tval(t, "readv -1", o->readv(-1, iov, 1));
	tval(t, "writev closed", o->writev(CLOSED_FD, iov, 1));
	tval(t, "readv write end, iovcnt -1", o->readv(p[1], iov, -1));
	tval(t, "writev closed, iov NULL", o->writev(CLOSED_FD, NULL, 1));
	cl2(o, t, p);
}

/* ---- EBADF and the dup* errors --------------------------------------- */

static void scen_badf(const struct pipe_ops *o, struct trace *t)
{
	int p[2], q[2], e, v = 0;

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	rd(o, t, p[1], 10, "read write end");
	rd(o, t, p[1], 0, "read 0 from write end");
	tval(t, "write read end", o->write(p[0], "x", 1));
	tval(t, "write 0 to read end", o->write(p[0], "x", 0));
	rd(o, t, -1, 10, "read -1");
	tval(t, "write -1", o->write(-1, "x", 1));
	rd(o, t, CLOSED_FD, 10, "read closed");
	tval(t, "write closed", o->write(CLOSED_FD, "x", 1));
	tval(t, "read closed into (void *)1", o->read(CLOSED_FD, (void *)1, 10));
	tval(t, "read write end into (void *)1", o->read(p[1], (void *)1, 10));
	tval(t, "close -1", o->close(-1));
	tval(t, "close closed", o->close(CLOSED_FD));
	tval(t, "close INT_MAX", o->close(INT_MAX));
	tval(t, "fcntl -1 F_GETFL", o->fcntl(-1, F_GETFL, 0));
	tval(t, "fcntl closed F_GETFL", o->fcntl(CLOSED_FD, F_GETFL, 0));
	tval(t, "fcntl closed F_SETFL", o->fcntl(CLOSED_FD, F_SETFL, O_NONBLOCK));
	tval(t, "fcntl closed F_GETFD", o->fcntl(CLOSED_FD, F_GETFD, 0));
	tval(t, "ioctl closed FIONREAD", o->ioctl(CLOSED_FD, FIONREAD, &v));
	tval(t, "ioctl -1 FIONREAD", o->ioctl(-1, FIONREAD, &v));
	tval(t, "dup -1", o->dup(-1));
	tval(t, "dup closed", o->dup(CLOSED_FD));
	tval(t, "fcntl bad cmd", o->fcntl(p[0], 12345, 0));

	tval(t, "write 5", o->write(p[1], "12345", 5));
	fionread(o, t, p[1], "FIONREAD on write end");
	tval(t, "FIONREAD into (void *)1", o->ioctl(p[0], FIONREAD, (void *)1));
	tval(t, "FIONREAD into NULL", o->ioctl(p[0], FIONREAD, NULL));
	{
		struct termios tio;

		tval(t, "TCGETS on pipe", o->ioctl(p[0], TCGETS, &tio));
	}
	tval(t, "ioctl unknown request", o->ioctl(p[0], 0x7fff1234UL, &v));

	e = o->dup2(p[0], p[0]);
	tprintf(t, "dup2 read end onto itself -> %s", e == p[0] ? "itself" : e < 0 ? errname(errno) : "other");
	tval(t, "dup2 closed onto itself", o->dup2(CLOSED_FD, CLOSED_FD));
	tval(t, "dup2 -1 onto read end", o->dup2(-1, p[0]));
	tval(t, "dup2 closed onto read end", o->dup2(CLOSED_FD, p[0]));
	tval(t, "dup2 read end onto -1", o->dup2(p[0], -1));
	tval(t, "dup2 read end onto INT_MAX", o->dup2(p[0], INT_MAX));
	tval(t, "dup3 read end onto itself", o->dup3(p[0], p[0], 0));
	tval(t, "dup3 read end onto itself CLOEXEC", o->dup3(p[0], p[0], O_CLOEXEC));
	tval(t, "dup3 flag NONBLOCK", o->dup3(p[0], 901, O_NONBLOCK));
	tval(t, "F_GETFD 901 (not made)", o->fcntl(901, F_GETFD, 0));
	tval(t, "dup3 flag -1", o->dup3(p[0], 901, -1));
	tval(t, "dup3 closed", o->dup3(CLOSED_FD, 901, 0));
	tval(t, "dup3 onto -1", o->dup3(p[0], -1, 0));
	tval(t, "dup3 closed onto itself", o->dup3(CLOSED_FD, CLOSED_FD, 0));
	rd(o, t, p[0], 10, "the data is still there");

	/* dup2 over a pipe end closes it: over the only write end, EOF. */
	mk(o, t, q, O_NONBLOCK, "second pipe2 NONBLOCK");
	e = o->dup2(p[0], q[1]);
	tprintf(t, "dup2 first read end over second write end -> %s",
		e == q[1] ? "ok" : e < 0 ? errname(errno) : "other");
	rd(o, t, q[0], 10, "read second: its writer was replaced");
	getfl(o, t, q[1], "F_GETFL of the replaced number");
	tval(t, "write to it (a read end now)", o->write(q[1], "x", 1));
	tval(t, "write first", o->write(p[1], "first", 5));
	rd(o, t, q[1], 10, "read first through the replaced number");
	e = o->dup3(p[1], q[0], O_CLOEXEC);
	tprintf(t, "dup3 first write end over second read end -> %s",
		e == q[0] ? "ok" : e < 0 ? errname(errno) : "other");
	tval(t, "F_GETFD it", o->fcntl(q[0], F_GETFD, 0));
	tval(t, "write through it", o->write(q[0], "again", 5));
	rd(o, t, p[0], 10, "read first");
	cl2(o, t, q);
	tval(t, "write first after closing the second's numbers",
	    o->write(p[1], "x", 1));
	rd(o, t, p[0], 10, "read it");
	cl2(o, t, p);
	tval(t, "close read end again", o->close(p[0]));
	tval(t, "close write end again", o->close(p[1]));
	tval(t, "close closed (900)", o->close(CLOSED_FD));
}

/* ---- EFAULT ---------------------------------------------------------- */

static void scen_efault(const struct pipe_ops *o, struct trace *t)
{
	void *pg;
	int p[2];

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	tval(t, "write 10", o->write(p[1], "0123456789", 10));
	tval(t, "read into (void *)1", o->read(p[0], (void *)1, 10));
	fionread(o, t, p[0], "FIONREAD");
	tval(t, "read into NULL", o->read(p[0], NULL, 10));
	tval(t, "read 0 into NULL", o->read(p[0], NULL, 0));
	rd(o, t, p[0], 10, "read good");
	tval(t, "read empty into (void *)1", o->read(p[0], (void *)1, 10));
	tval(t, "write from (void *)1", o->write(p[1], (void *)1, 10));
	tval(t, "write 0 from (void *)1", o->write(p[1], (void *)1, 0));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 10, "read empty");
	tval(t, "write abc", o->write(p[1], "abc", 3));
	tval(t, "write from NULL after data", o->write(p[1], NULL, 5));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 10, "read");

	/* Buffers that run off the end of the map. */
	pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Inaccessible, and no other mapping can come there (an unmapped
	 * hole can be filled by the C library's next mmap: musl's). */
	mprotect((char *)pg + 4096, 4096, PROT_NONE);
	memset(pg, 'z', 4096);
	wr(o, t, p[1], 100, 1, "write 100");
	tval(t, "read 100 into the map's last 10 bytes",
	    o->read(p[0], (char *)pg + 4086, 100));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100, "read good");
	tval(t, "write 100 from the map's last 10 bytes",
	    o->write(p[1], (char *)pg + 4086, 100));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100, "read");
	wr(o, t, p[1], 5, 1, "write 5");
	tval(t, "write 100 from the map's last 10 bytes, 5 held",
	    o->write(p[1], (char *)pg + 4086, 100));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100, "read");
	munmap(pg, 8192);

	/* Sizes. */
	tval(t, "write 7", o->write(p[1], "abcdefg", 7));
	tval(t, "read SIZE_MAX", o->read(p[0], rbuf, SIZE_MAX));
	tval(t, "read SSIZE_MAX+1", o->read(p[0], rbuf, (size_t)SSIZE_MAX + 1));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], (size_t)1 << 40, "read 1 TiB with 7 held");
	tval(t, "write SIZE_MAX", o->write(p[1], wbuf, SIZE_MAX));
	fionread(o, t, p[0], "FIONREAD");
	cl2(o, t, p);
}

/* ---- data integrity -------------------------------------------------- */

static const size_t wsizes[] = { 1, 7, 4095, 13, 4097, 65535, 333, 8191, 12289, 2, 100000, 4096, 61441 };
static const size_t rsizes[] = { 3, 4099, 17, 65537, 1, 999, 8193, 5, 70001, 4096, 12 };
#define NWS (sizeof(wsizes) / sizeof(wsizes[0]))
#define NRS (sizeof(rsizes) / sizeof(rsizes[0]))
#define INTEG 600007

static unsigned char *integ_src(void)
{
	static unsigned char *src;

	if (!src) {
		src = malloc(INTEG);
		if (!src)
			abort();
		pattern(src, INTEG, 11);
		for (size_t i = 0; i < INTEG; i += 4099)
			src[i] ^= (unsigned char)(i >> 3);
	}
	return src;
}

static void child_integ(const struct pipe_ops *o, struct trace *t, int *p)
{
	const unsigned char *src = integ_src();
	size_t off = 0, k = 0;
	long r = 0;

	o->close(p[0]);
	while (off < INTEG) {
		size_t n = wsizes[k++ % NWS];

		if (n > INTEG - off)
			n = INTEG - off;
		r = o->write(p[1], src + off, n);
		if (r != (long)n)
			break;
		off += (size_t)r;
	}
	tprintf(t, "wrote %zu in %zu blocking writes, last -> %ld", off, k, r);
	o->close(p[1]);
}

static void scen_integrity(const struct pipe_ops *o, struct trace *t)
{
	const unsigned char *src = integ_src();
	unsigned char *dst = calloc(1, INTEG + 100000);
	size_t woff = 0, roff = 0, wk = 0, rk = 0;
	long iter = 0, r;
	int p[2];

	/* One process, non-blocking: write odd sizes, read other odd sizes. */
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	while (roff < INTEG && iter++ < 2000000) {
		if (woff < INTEG) {
			size_t n = wsizes[wk++ % NWS];

			if (n > INTEG - woff)
				n = INTEG - woff;
			r = o->write(p[1], src + woff, n);
			if (r > 0)
				woff += (size_t)r;
			else if (r < 0 && errno != EAGAIN)
				break;
		}
		r = o->read(p[0], dst + roff, rsizes[rk++ % NRS]);
		if (r > 0)
			roff += (size_t)r;
		else if (r == 0 || errno != EAGAIN)
			break;
	}
	tprintf(t, "non-blocking: wrote %zu read %zu equal=%d", woff, roff,
		roff == INTEG && !memcmp(src, dst, INTEG));
	rd(o, t, p[0], 10, "read empty");
	cl2(o, t, p);

	/* A child writes with blocking writes, the parent reads. */
	memset(dst, 0, INTEG);
	mk(o, t, p, 0, "pipe2 0");
	{
		pid_t pid = spawn(o, child_integ, p);

		o->close(p[1]);
		roff = 0;
		rk = 0;
		while (roff < INTEG + 100000) {
			size_t n = rsizes[rk++ % NRS];

			if (n > INTEG + 100000 - roff)
				n = INTEG + 100000 - roff;
			r = o->read(p[0], dst + roff, n);
			if (r <= 0)
				break;
			roff += (size_t)r;
		}
		tprintf(t, "blocking: read %zu then -> %ld equal=%d", roff, r,
			roff == INTEG && !memcmp(src, dst, INTEG));
		o->close(p[0]);
		reap(t, pid);
	}
	free(dst);
}

/* ---- fork ------------------------------------------------------------ */

static int pipe_b[2];	/* a second pipe the fork children use */

static void child_hello(const struct pipe_ops *o, struct trace *t, int *p)
{
	tval(t, "close read end", o->close(p[0]));
	tval(t, "write hello", o->write(p[1], "hello from child", 16));
	tval(t, "close write end", o->close(p[1]));
}

static void child_echo(const struct pipe_ops *o, struct trace *t, int *p)
{
	unsigned char b[64];
	long r;

	o->close(p[1]);
	o->close(pipe_b[0]);
	memset(b, 0, sizeof(b));
	r = o->read(p[0], b, sizeof(b));
	rec_data(t, "read ping", r, b);
	tval(t, "write pong", o->write(pipe_b[1], "pong", 4));
	r = o->read(p[0], b, sizeof(b));
	rec_data(t, "read at EOF", r, b);
	o->close(p[0]);
	o->close(pipe_b[1]);
}

static void child_big(const struct pipe_ops *o, struct trace *t, int *p)
{
	o->close(p[0]);
	pattern(wbuf, 200000, 12);
	tval(t, "write 200000 blocking", o->write(p[1], wbuf, 200000));
	o->close(p[1]);
}

static void child_killed_writer(const struct pipe_ops *o, struct trace *t,
				int *p)
{
	o->close(p[0]);
	pattern(wbuf, 100, 14);
	tval(t, "write 100", o->write(p[1], wbuf, 100));
	child_flush(t);
	raise(SIGKILL);
}

static void child_killed_reader(const struct pipe_ops *o, struct trace *t,
				int *p)
{
	unsigned char b[16];

	o->close(p[1]);
	tprintf(t, "parent blocked: %d", wait_blocked(getppid()) == 0);
	tval(t, "read 10", o->read(p[0], b, 10));
	child_flush(t);
	raise(SIGKILL);
}

static void child_closing_reader(const struct pipe_ops *o, struct trace *t,
				 int *p)
{
	unsigned char b[16];

	o->close(p[1]);
	tprintf(t, "parent blocked: %d", wait_blocked(getppid()) == 0);
	tval(t, "read 10", o->read(p[0], b, 10));
	tval(t, "close read end", o->close(p[0]));
}

static void child_big_blocked(const struct pipe_ops *o, struct trace *t,
			      int *p)
{
	o->close(p[0]);
	pattern(wbuf, 100000, 15);
	child_flush(t);
	o->write(p[1], wbuf, 100000);
	tprintf(t, "the write returned");
}

static void child_blocked_reader(const struct pipe_ops *o, struct trace *t,
				 int *p)
{
	unsigned char b[16];

	o->close(p[1]);
	child_flush(t);
	o->read(p[0], b, sizeof(b));
	tprintf(t, "the read returned");
}

static void scen_fork(const struct pipe_ops *o, struct trace *t)
{
	struct sigaction old;
	int p[2];
	pid_t pid;
	long total = 0, r;
	int reads = 0;

	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_hello, p);
	cl(o, t, p[1], "parent closes write end");
	rd(o, t, p[0], 100, "read");
	rd(o, t, p[0], 100, "read after the child is gone");
	cl(o, t, p[0], "close read end");
	reap(t, pid);

	mk(o, t, p, 0, "pipe2 0");
	mk(o, t, pipe_b, 0, "pipe2 0 back");
	pid = spawn(o, child_echo, p);
	cl(o, t, p[0], "close read end");
	cl(o, t, pipe_b[1], "close back write end");
	tval(t, "write ping", o->write(p[1], "ping", 4));
	rd(o, t, pipe_b[0], 100, "read pong");
	cl(o, t, p[1], "close write end");
	rd(o, t, pipe_b[0], 100, "read back at EOF");
	cl(o, t, pipe_b[0], "close back read end");
	reap(t, pid);

	/* 200000 bytes in one blocking write; a slow reader. */
	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_big, p);
	cl(o, t, p[1], "close write end");
	{
		uint32_t h = FNV0;

		while ((r = o->read(p[0], rbuf, 5000)) > 0 && reads < 10000) {
			h = fnv(h, rbuf, (size_t)r);
			total += r;
			reads++;
			usleep(3000);
		}
		pattern(wbuf, 200000, 12);
		tprintf(t, "slow reader: total=%ld then -> %ld equal=%d", total, r,
			h == fnv(FNV0, wbuf, 200000));
	}
	cl(o, t, p[0], "close read end");
	reap(t, pid);

	/* EOF when the writer is killed. */
	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_killed_writer, p);
	cl(o, t, p[1], "close write end");
	rd(o, t, p[0], 1000, "read");
	rd(o, t, p[0], 1000, "read after the writer was killed");
	cl(o, t, p[0], "close read end");
	reap(t, pid);

	/* A writer killed in the middle of a blocked write: what it wrote
	 * stays, then EOF. */
	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_big_blocked, p);
	cl(o, t, p[1], "close write end");
	tprintf(t, "writer blocked: %d", wait_blocked(pid) == 0);
	kill(pid, SIGKILL);
	reap(t, pid);
	drain(o, t, p[0], 65536, "drain after the writer was killed");
	cl(o, t, p[0], "close read end");

	/* A reader killed while blocked in read: the other reader goes on. */
	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_blocked_reader, p);
	tprintf(t, "reader blocked: %d", wait_blocked(pid) == 0);
	kill(pid, SIGKILL);
	reap(t, pid);
	tval(t, "write 5", o->write(p[1], "after", 5));
	rd(o, t, p[0], 100, "read");
	tval(t, "F_SETFL write end NONBLOCK", o->fcntl(p[1], F_SETFL, O_NONBLOCK));
	tval(t, "write 70000", o->write(p[1], wbuf, 70000));
	cl(o, t, p[1], "close write end");
	drain(o, t, p[0], 65536, "drain");
	cl(o, t, p[0], "close read end");

	/* EPIPE when the last reader closes under a blocked writer. */
	setsig(SIGPIPE, on_pipe, SA_RESTART, &old);
	got_pipe = 0;
	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_closing_reader, p);
	cl(o, t, p[0], "close read end");
	tval(t, "write 70000, reader closes meanwhile", o->write(p[1], wbuf, 70000));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	tval(t, "write again", o->write(p[1], wbuf, 10));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	cl(o, t, p[1], "close write end");
	reap(t, pid);
	sigaction(SIGPIPE, &old, NULL);

	/* EPIPE when the reader is killed under a blocked writer. */
	setsig(SIGPIPE, on_pipe, SA_RESTART, &old);
	got_pipe = 0;
	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_killed_reader, p);
	cl(o, t, p[0], "close read end");
	tval(t, "write 70000, reader killed meanwhile", o->write(p[1], wbuf, 70000));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	tval(t, "write again", o->write(p[1], wbuf, 10));
	tprintf(t, "SIGPIPE handled %d", (int)got_pipe);
	cl(o, t, p[1], "close write end");
	reap(t, pid);
	sigaction(SIGPIPE, &old, NULL);
}

/* ---- signals: EINTR and SA_RESTART ----------------------------------- */

enum { K_READ, K_WRITE70000, K_FULL100, K_POLL, K_READ_MASKED, K_FULL_MASKED };

static void child_sig(const struct pipe_ops *o, struct trace *t, int *p)
{
	pid_t pp = getppid();
	int reader = child_kind == K_READ || child_kind == K_POLL ||
		     child_kind == K_READ_MASKED;

	o->close(reader ? p[0] : p[1]);
	tprintf(t, "parent blocked: %d", wait_blocked(pp) == 0);
	usleep(50000);
	kill(pp, SIGUSR1);
	usleep(100000);
	if (reader) {
		tval(t, "write late", o->write(p[1], "late", 4));
		o->close(p[1]);
	} else {
		drain(o, t, p[0], 65536, "read all");
		o->close(p[0]);
	}
}

static void sig_case(const struct pipe_ops *o, struct trace *t, int kind,
		     void (*h)(int), int flags, const char *what)
{
	struct sigaction old, oldpipe;
	int p[2];
	pid_t pid;

	sigset_t usr1, pend;
	int masked = kind == K_READ_MASKED || kind == K_FULL_MASKED;

	tprintf(t, "-- %s", what);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	setsig(SIGUSR1, h, flags, &old);
	setsig(SIGPIPE, SIG_IGN, 0, &oldpipe);
	got_usr1 = 0;
	pattern(wbuf, 70000, 13);
	mk(o, t, p, 0, "pipe2 0");
	if (kind == K_FULL100 || kind == K_FULL_MASKED) {
		o->fcntl(p[1], F_SETFL, O_NONBLOCK);
		tval(t, "fill: write 65536", o->write(p[1], wbuf, 65536));
		o->fcntl(p[1], F_SETFL, 0);
	}
	child_kind = kind;
	if (masked)
		sigprocmask(SIG_BLOCK, &usr1, NULL);
	pid = spawn(o, child_sig, p);
	if (kind == K_READ || kind == K_POLL || kind == K_READ_MASKED) {
		cl(o, t, p[1], "close write end");
		if (kind == K_POLL) {
			struct pollfd f = { p[0], POLLIN, 0 };
			long r = o->poll(&f, 1, 5000);

			tval(t, "poll IN 5000 blocked", r);
			tprintf(t, "  revents %#x", f.revents);
		} else {
			rd(o, t, p[0], 100, "read blocked");
		}
		tprintf(t, "handler ran %d", (int)got_usr1);
		rd(o, t, p[0], 100, "read");
		rd(o, t, p[0], 100, "read");
		cl(o, t, p[0], "close read end");
	} else {
		cl(o, t, p[0], "close read end");
		tval(t, kind == K_WRITE70000 ? "write 70000 blocked" :
		    "write 100 blocked in a full pipe",
		    o->write(p[1], wbuf, kind == K_WRITE70000 ? 70000 : 100));
		tprintf(t, "handler ran %d", (int)got_usr1);
		cl(o, t, p[1], "close write end");
	}
	if (masked) {
		sigpending(&pend);
		tprintf(t, "SIGUSR1 pending %d", sigismember(&pend, SIGUSR1));
		sigprocmask(SIG_UNBLOCK, &usr1, NULL);
		tprintf(t, "unblocked: handler ran %d", (int)got_usr1);
	}
	reap(t, pid);
	sigaction(SIGUSR1, &old, NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
}

static void child_stopped_reader(const struct pipe_ops *o, struct trace *t,
				 int *p)
{
	o->close(p[1]);
	rd(o, t, p[0], 100, "read blocked, stopped and continued");
	rd(o, t, p[0], 100, "read");
	o->close(p[0]);
}

/* SIGSTOP and SIGCONT with no handler: the blocked read goes on. */
static void stop_cont(const struct pipe_ops *o, struct trace *t)
{
	int p[2], st;
	pid_t pid;

	tprintf(t, "-- blocked read, SIGSTOP and SIGCONT");
	mk(o, t, p, 0, "pipe2 0");
	pid = spawn(o, child_stopped_reader, p);
	cl(o, t, p[0], "close read end");
	tprintf(t, "reader blocked: %d", wait_blocked(pid) == 0);
	kill(pid, SIGSTOP);
	tprintf(t, "stopped: %d", waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st));
	kill(pid, SIGCONT);
	tprintf(t, "continued: %d", waitpid(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st));
	usleep(50000);
	tval(t, "write after", o->write(p[1], "after stop", 10));
	cl(o, t, p[1], "close write end");
	reap(t, pid);
}

static void scen_signals(const struct pipe_ops *o, struct trace *t)
{
	sig_case(o, t, K_READ, on_usr1, 0, "blocked read, handler without SA_RESTART");
	sig_case(o, t, K_READ, on_usr1, SA_RESTART, "blocked read, handler with SA_RESTART");
	sig_case(o, t, K_READ, SIG_IGN, 0, "blocked read, signal ignored");
	sig_case(o, t, K_WRITE70000, on_usr1, 0, "write 70000, without SA_RESTART");
	sig_case(o, t, K_WRITE70000, on_usr1, SA_RESTART, "write 70000, with SA_RESTART");
	sig_case(o, t, K_FULL100, on_usr1, 0, "full pipe, without SA_RESTART");
	sig_case(o, t, K_FULL100, on_usr1, SA_RESTART, "full pipe, with SA_RESTART");
	sig_case(o, t, K_POLL, on_usr1, SA_RESTART, "blocked poll, with SA_RESTART");
	sig_case(o, t, K_READ_MASKED, on_usr1, 0, "blocked read, signal blocked");
	sig_case(o, t, K_FULL_MASKED, on_usr1, 0, "full pipe, signal blocked");
	stop_cont(o, t);
}

/* ---- poll ------------------------------------------------------------ */

static const char *evstr(int e)
{
	static char b[8][96];
	static int k;
	static const struct { int bit; const char *n; } names[] = {
		{ POLLIN, "IN" }, { POLLPRI, "PRI" }, { POLLOUT, "OUT" },
		{ POLLERR, "ERR" }, { POLLHUP, "HUP" }, { POLLNVAL, "NVAL" },
		{ POLLRDNORM, "RDNORM" }, { POLLRDBAND, "RDBAND" },
		{ POLLWRNORM, "WRNORM" }, { POLLWRBAND, "WRBAND" },
		{ POLLRDHUP, "RDHUP" },
	};
	char *s;

	k = (k + 1) % 8;
	s = b[k];
	s[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (e & names[i].bit) {
			if (s[0])
				strcat(s, "|");
			strcat(s, names[i].n);
			e &= ~names[i].bit;
		}
	if (e)
		snprintf(s + strlen(s), sizeof(b[k]) - strlen(s), "%s%#x", s[0] ? "|" : "", e);
	if (!s[0])
		strcpy(s, "0");
	return s;
}

#define NOFD (-1000)

/* Polls one or two descriptors (fd2 NOFD: one) and records the result. */
static long pl(const struct pipe_ops *o, struct trace *t, const char *what,
	       int fd1, short e1, int fd2, short e2, int timeout)
{
	struct pollfd f[2] = { { fd1, e1, 0x7000 }, { fd2, e2, 0x7000 } };
	long r = o->poll(f, fd2 == NOFD ? 1 : 2, timeout);

	if (r < 0)
		tval(t, what, r);
	else if (fd2 == NOFD)
		tprintf(t, "%s -> %ld [%s]", what, r, evstr(f[0].revents));
	else
		tprintf(t, "%s -> %ld [%s] [%s]", what, r, evstr(f[0].revents),
			evstr(f[1].revents));
	return r;
}

#define IO (POLLIN | POLLOUT)
#define ALL (POLLIN | POLLOUT | POLLPRI | POLLRDNORM | POLLWRNORM | POLLRDHUP)

static void child_poll(const struct pipe_ops *o, struct trace *t, int *p)
{
	usleep(20000);
	if (child_kind == 0)
		tval(t, "write tick", o->write(p[1], "tick", 4));
	else if (child_kind == 1)
		rd(o, t, p[0], 65536, "read 65536");
	o->close(p[0]);
	o->close(p[1]);
}

static void child_poll_now(const struct pipe_ops *o, struct trace *t, int *p)
{
	pl(o, t, "poll in a child", p[0], IO, p[1], IO, 0);
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 4, "read 4");
	tval(t, "write ok", o->write(p[1], "ok", 2));
	pl(o, t, "poll in a child", p[0], IO, p[1], IO, 0);
}

static void scen_poll(const struct pipe_ops *o, struct trace *t)
{
	struct timespec t0;
	int p[2];
	long r, ms;
	pid_t pid;

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	pl(o, t, "empty: r IN|OUT, w IN|OUT", p[0], IO, p[1], IO, 0);
	pl(o, t, "empty: r ALL, w ALL", p[0], ALL, p[1], ALL, 0);
	pl(o, t, "empty: r 0, w 0", p[0], 0, p[1], 0, 0);
	wr(o, t, p[1], 10, 1, "write 10");
	pl(o, t, "some data", p[0], IO, p[1], IO, 0);
	pl(o, t, "some data ALL", p[0], ALL, p[1], ALL, 0);
	pl(o, t, "some data, r only", p[0], POLLIN, NOFD, 0, 0);
	pl(o, t, "same fd twice", p[0], POLLIN, p[0], IO, 0);
	{
		int nul = open("/dev/null", O_RDONLY);

		pl(o, t, "with /dev/null", p[0], IO, nul, IO, 0);
		pl(o, t, "with /dev/null, timeout 100", nul, POLLIN, p[1], POLLOUT, 100);
		close(nul);
	}
	fill(o, t, p[1], 4096, "fill");
	pl(o, t, "full", p[0], IO, p[1], IO, 0);
	pl(o, t, "full ALL", p[0], ALL, p[1], ALL, 0);
	rd(o, t, p[0], 1, "read 1");
	pl(o, t, "full less 1", p[0], IO, p[1], IO, 0);
	rd(o, t, p[0], 9, "read 9");
	pl(o, t, "full less 10 (first page free)", p[0], IO, p[1], IO, 0);
	drain(o, t, p[0], 65536, "drain");
	pl(o, t, "empty again", p[0], IO, p[1], IO, 0);
	wr(o, t, p[1], 10, 1, "write 10");
	cl(o, t, p[1], "close writer");
	pl(o, t, "writer closed with data", p[0], IO, NOFD, 0, 0);
	pl(o, t, "writer closed with data ALL", p[0], ALL, NOFD, 0, 0);
	pl(o, t, "writer closed with data, events 0", p[0], 0, NOFD, 0, 0);
	rd(o, t, p[0], 100, "read");
	pl(o, t, "writer closed empty", p[0], IO, NOFD, 0, 0);
	pl(o, t, "writer closed empty ALL", p[0], ALL, NOFD, 0, 0);
	pl(o, t, "writer closed empty, events 0", p[0], 0, NOFD, 0, 0);
	cl(o, t, p[0], "close reader");

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	cl(o, t, p[0], "close reader");
	pl(o, t, "reader closed", p[1], IO, NOFD, 0, 0);
	pl(o, t, "reader closed ALL", p[1], ALL, NOFD, 0, 0);
	pl(o, t, "reader closed, events 0", p[1], 0, NOFD, 0, 0);
	cl(o, t, p[1], "close writer");

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	fill(o, t, p[1], 65536, "fill");
	cl(o, t, p[0], "close reader");
	pl(o, t, "full, reader closed", p[1], IO, NOFD, 0, 0);
	cl(o, t, p[1], "close writer");

	pl(o, t, "fd -1 and a closed fd", -1, POLLIN, CLOSED_FD, POLLIN, 0);
	pl(o, t, "closed fd, events 0", CLOSED_FD, 0, NOFD, 0, 0);
	tval(t, "nfds 0 timeout 10", o->poll(NULL, 0, 10));
	tval(t, "nfds huge", o->poll(NULL, (nfds_t)1 << 30, 0));
	tval(t, "fds (void *)1", o->poll((void *)1, 1, 0));

	/* Readiness seen by another process than the writer. */
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	wr(o, t, p[1], 10, 1, "write 10");
	reap(t, spawn(o, child_poll_now, p));
	pl(o, t, "parent after the child", p[0], IO, p[1], IO, 0);
	rd(o, t, p[0], 100, "read");
	reap(t, spawn(o, child_poll_now, p));
	pl(o, t, "parent after the child", p[0], IO, p[1], IO, 0);
	rd(o, t, p[0], 100, "read");
	cl2(o, t, p);

	/* Packet mode and a 1-page pipe: full by pages. */
	mk(o, t, p, O_NONBLOCK | O_DIRECT, "pipe2 NONBLOCK|DIRECT");
	fill(o, t, p[1], 1, "fill");
	pl(o, t, "packets full", p[0], IO, p[1], IO, 0);
	rd(o, t, p[0], 100, "read one packet");
	pl(o, t, "one packet read", p[0], IO, p[1], IO, 0);
	cl2(o, t, p);
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	tval(t, "F_SETPIPE_SZ 4096", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
	tval(t, "write 1", o->write(p[1], "a", 1));
	pl(o, t, "1-page pipe, 1 byte", p[0], IO, p[1], IO, 0);
	tval(t, "write 1 more", o->write(p[1], "b", 1));
	drain(o, t, p[0], 100, "drain");
	pl(o, t, "1-page pipe, empty", p[0], IO, p[1], IO, 0);

	/* Timeouts. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = pl(o, t, "empty, timeout 30", p[0], POLLIN, NOFD, 0, 30);
	ms = ms_since(&t0);
	tprintf(t, "  waited 25..2000 ms: %d", r == 0 && ms >= 25 && ms < 2000);
	cl2(o, t, p);

	/* Waiting for a child: data, room, the writer's close. */
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	child_kind = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = spawn(o, child_poll, p);
	pl(o, t, "wait for data written 20 ms later", p[0], POLLIN, NOFD, 0, 5000);
	ms = ms_since(&t0);
	tprintf(t, "  waited 15..4000 ms: %d", ms >= 15 && ms < 4000);
	rd(o, t, p[0], 100, "read");
	reap(t, pid);
	fill(o, t, p[1], 65536, "fill");
	child_kind = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = spawn(o, child_poll, p);
	pl(o, t, "wait for room made 20 ms later", p[1], POLLOUT, NOFD, 0, 5000);
	ms = ms_since(&t0);
	tprintf(t, "  waited 15..4000 ms: %d", ms >= 15 && ms < 4000);
	reap(t, pid);
	child_kind = 2;
	pid = spawn(o, child_poll, p);
	cl(o, t, p[1], "close write end");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pl(o, t, "wait for the last writer to go", p[0], POLLIN, NOFD, 0, 5000);
	ms = ms_since(&t0);
	tprintf(t, "  waited 5..4000 ms: %d", ms >= 5 && ms < 4000);
	rd(o, t, p[0], 100, "read");
	cl(o, t, p[0], "close read end");
	reap(t, pid);
}

/* ---- state shared through the open file and the pipe ------------------ */

enum { C_SETNB = 10, C_SETDIRECT, C_SETSIZE, C_WRITE3, C_LATE, C_FIONBIO };

static void child_state(const struct pipe_ops *o, struct trace *t, int *p)
{
	int one = 1;

	switch (child_kind) {
	case C_SETNB:
		tval(t, "F_SETFL read end NONBLOCK", o->fcntl(p[0], F_SETFL, O_NONBLOCK));
		break;
	case C_FIONBIO:
		tval(t, "FIONBIO 1 read end", o->ioctl(p[0], FIONBIO, &one));
		break;
	case C_SETDIRECT:
		tval(t, "F_SETFL write end DIRECT", o->fcntl(p[1], F_SETFL, O_DIRECT));
		break;
	case C_SETSIZE:
		tval(t, "F_SETPIPE_SZ 4096", o->fcntl(p[1], F_SETPIPE_SZ, 4096));
		break;
	case C_WRITE3:
		tval(t, "write 3", o->write(p[1], "abc", 3));
		break;
	case C_LATE:
		/* Only if the parent's read blocks: it should not. */
		usleep(1500000);
		o->write(p[1], "too late", 8);
		break;
	}
	/* The ends are closed by the exit. */
}

/* Runs a read that should not block, with a child that ends it after
 * 1.5 s if it does. */
static void unblocked_read(const struct pipe_ops *o, struct trace *t, int *p,
			   const char *what)
{
	pid_t late;
	int st;

	child_kind = C_LATE;
	late = spawn(o, child_state, p);
	rd(o, t, p[0], 100, what);
	kill(late, SIGKILL);
	waitpid(late, &st, 0);
}

static void scen_shared(const struct pipe_ops *o, struct trace *t)
{
	int p[2];

	mk(o, t, p, 0, "pipe2 0");
	child_kind = C_SETNB;
	reap(t, spawn(o, child_state, p));
	getfl(o, t, p[0], "F_GETFL read end");
	unblocked_read(o, t, p, "read empty, a child set O_NONBLOCK");
	tval(t, "F_SETFL read end 0", o->fcntl(p[0], F_SETFL, 0));
	child_kind = C_FIONBIO;
	reap(t, spawn(o, child_state, p));
	getfl(o, t, p[0], "F_GETFL read end");
	unblocked_read(o, t, p, "read empty, a child set FIONBIO");

	child_kind = C_SETDIRECT;
	reap(t, spawn(o, child_state, p));
	getfl(o, t, p[1], "F_GETFL write end");
	tval(t, "write 10", o->write(p[1], "0123456789", 10));
	tval(t, "write 10", o->write(p[1], "abcdefghij", 10));
	rd(o, t, p[0], 100, "read 100");
	rd(o, t, p[0], 100, "read 100");

	child_kind = C_SETSIZE;
	reap(t, spawn(o, child_state, p));
	tval(t, "F_GETPIPE_SZ", o->fcntl(p[0], F_GETPIPE_SZ, 0));
	tval(t, "F_SETFL write end NONBLOCK", o->fcntl(p[1], F_SETFL, O_NONBLOCK));
	tval(t, "write 2 MiB", o->write(p[1], wbuf, BIG));
	drain(o, t, p[0], 65536, "drain");

	child_kind = C_WRITE3;
	reap(t, spawn(o, child_state, p));
	fionread(o, t, p[0], "FIONREAD");
	rd(o, t, p[0], 100, "read");
	cl2(o, t, p);
}

/* ---- atomicity: writes up to PIPE_BUF do not interleave --------------- */

#define ATOM_REC 300
static size_t atom_size;

static void child_atomic(const struct pipe_ops *o, struct trace *t, int *p)
{
	unsigned char *b = malloc(atom_size);
	int bad = 0;

	(void)t;
	o->close(p[0]);
	for (int i = 0; i < ATOM_REC && b; i++) {
		memset(b, 'A' + child_kind, atom_size);
		memcpy(b + 1, &i, sizeof(i));
		if (o->write(p[1], b, atom_size) != (ssize_t)atom_size)
			bad++;
	}
	o->close(p[1]);
	free(b);
	_exit(bad ? 1 : 0);
}

static void atomic_case(const struct pipe_ops *o, struct trace *t, size_t size)
{
	size_t total = 2 * ATOM_REC * size, got = 0;
	unsigned char *b = malloc(total + 65536);
	int p[2], intact = 1, ordered = 1, next[2] = { 0, 0 };
	pid_t a, c;
	long r = 0;

	atom_size = size;
	mk(o, t, p, 0, "pipe2 0");
	child_kind = 0;
	a = spawn(o, child_atomic, p);
	child_kind = 1;
	c = spawn(o, child_atomic, p);
	o->close(p[1]);
	while (b && got < total + 65536 && (r = o->read(p[0], b + got, 65536)) > 0)
		got += (size_t)r;
	for (size_t off = 0; b && off + size <= got; off += size) {
		int w = b[off] - 'A', seq;

		memcpy(&seq, b + off + 1, sizeof(seq));
		if (w < 0 || w > 1) {
			intact = 0;
			break;
		}
		for (size_t i = 1 + sizeof(seq); i < size; i++)
			if (b[off + i] != b[off])
				intact = 0;
		if (seq != next[w])
			ordered = 0;
		next[w] = seq + 1;
	}
	tprintf(t, "%zu-byte writes by two children: read %zu then -> %ld, "
		"records intact=%d in order=%d", size, got, r, intact, ordered);
	o->close(p[0]);
	reap(t, a);
	reap(t, c);
	free(b);
}

static void scen_atomic(const struct pipe_ops *o, struct trace *t)
{
	atomic_case(o, t, 4096);
	atomic_case(o, t, 1000);
	atomic_case(o, t, 37);
}

/* ---- many pipes at once ---------------------------------------------- */

#define NPIPES 100

static void scen_many(const struct pipe_ops *o, struct trace *t)
{
	static int ps[NPIPES][2];
	char b[64], want[64];
	int made = 0, wrong = 0, eof = 0, again = 0, closed = 0;

	for (int i = 0; i < NPIPES; i++)
		if (o->pipe2(ps[i], O_NONBLOCK | (i % 3 == 0 ? O_CLOEXEC : 0)) == 0)
			made++;
	tprintf(t, "made %d pipes", made);
	for (int i = 0; i < NPIPES; i++) {
		int n = snprintf(b, sizeof(b), "pipe %d", i);

		if (o->write(ps[i][1], b, (size_t)n) != n)
			wrong++;
	}
	for (int i = NPIPES - 1; i >= 0; i--) {
		int n = snprintf(want, sizeof(want), "pipe %d", i);
		long r = o->read(ps[i][0], b, sizeof(b));

		if (r != n || memcmp(b, want, (size_t)n))
			wrong++;
	}
	tprintf(t, "each read its own: wrong=%d", wrong);
	for (int i = 0; i < NPIPES; i += 2)
		closed += o->close(ps[i][1]) == 0;
	for (int i = 0; i < NPIPES; i++) {
		long r = o->read(ps[i][0], b, sizeof(b));

		if (r == 0)
			eof++;
		else if (r < 0 && errno == EAGAIN)
			again++;
	}
	tprintf(t, "closed %d writers: EOF=%d EAGAIN=%d", closed, eof, again);
	for (int i = NPIPES - 1; i >= 0; i--) {
		closed += o->close(ps[i][0]) == 0;
		if (i % 2)
			closed += o->close(ps[i][1]) == 0;
	}
	tprintf(t, "closed %d in all", closed);
}

/* ---- exec, and descriptors that are not uipc pipes ------------------- */

#define CLOEXEC_FD 950

/* "pipe_api exec-child OPS RFD WFD TFD": the end of scen_exec in a
 * freshly exec'd program; its trace goes to TFD. */
static int exec_child(char **argv)
{
	const struct pipe_ops *o = strcmp(argv[2], "uipc") ? &kernel_pops : &uipc_pops;
	int r = atoi(argv[3]), w = atoi(argv[4]), tfd = atoi(argv[5]);
	struct trace t = { 0 };

	alarm(10);
	getfl(o, &t, r, "F_GETFL inherited read end");
	getfl(o, &t, w, "F_GETFL inherited write end");
	tval(&t, "F_GETPIPE_SZ", o->fcntl(r, F_GETPIPE_SZ, 0));
	fionread(o, &t, r, "FIONREAD");
	rd(o, &t, r, 100, "read what was written before exec");
	rd(o, &t, r, 100, "read again");
	tval(&t, "write from exec", o->write(w, "from exec", 9));
	tval(&t, "F_GETFD of the CLOEXEC copy", o->fcntl(CLOEXEC_FD, F_GETFD, 0));
	tval(&t, "close read end", o->close(r));
	tval(&t, "close write end", o->close(w));
	if (t.s && write(tfd, t.s, t.n) < 0) {
		trace_free(&t);
		return 1;
	}
	trace_free(&t);
	return 0;
}

static void scen_exec(const struct pipe_ops *o, struct trace *t)
{
	char rs[16], ws[16], ts[16], text[8192];
	int p[2], tp[2], st;
	long n;
	pid_t pid;

	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	n = o->dup3(p[0], CLOEXEC_FD, O_CLOEXEC);
	tprintf(t, "dup3 read end CLOEXEC -> %s", n == CLOEXEC_FD ? "ok" : n < 0 ? errname(errno) : "other");
	tval(t, "write before exec", o->write(p[1], "before exec", 11));
	if (pipe(tp) < 0) {
		tprintf(t, "trace pipe: %s", errname(errno));
		return;
	}
	snprintf(rs, sizeof(rs), "%d", p[0]);
	snprintf(ws, sizeof(ws), "%d", p[1]);
	snprintf(ts, sizeof(ts), "%d", tp[1]);
	pid = fork();
	if (pid == 0) {
		close(tp[0]);
		execl("/proc/self/exe", "pipe_api", "exec-child", o->name, rs, ws,
		      ts, (char *)NULL);
		_exit(127);
	}
	close(tp[1]);
	st = wait_bounded(t, pid);
	fcntl(tp[0], F_SETFL, O_NONBLOCK);
	n = read(tp[0], text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = 0;
	close(tp[0]);
	tlines(t, "exec'd child: ", text);
	trace_status(t, st);
	rd(o, t, p[0], 100, "read what the exec'd child wrote");
	rd(o, t, CLOEXEC_FD, 100, "read via the CLOEXEC copy");
	cl(o, t, CLOEXEC_FD, "close the CLOEXEC copy");
	cl2(o, t, p);
}

/* An end sent over a unix socket to a process that never held it. */
static int scm_sock[2];

static int send_fd(int sock, int fd)
{
	char c = 'f';
	struct iovec iov = { &c, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { 0 };
	struct cmsghdr *h;

	memset(&u, 0, sizeof(u));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = sizeof(u.b);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	return (int)sendmsg(sock, &m, 0);
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct msghdr m = { 0 };
	struct cmsghdr *h;
	int fd = -1;

	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = sizeof(u.b);
	if (recvmsg(sock, &m, 0) <= 0)
		return -1;
	h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(h), sizeof(int));
	return fd;
}

static void child_scm(const struct pipe_ops *o, struct trace *t, int *p)
{
	struct pollfd pf = { scm_sock[1], POLLIN, 0 };
	char c;
	int fd;

	(void)p;
	close(scm_sock[0]);
	poll(&pf, 1, 5000);
	fd = recv_fd(scm_sock[1]);
	tprintf(t, "received an end: %d", fd >= 0);
	poll(&pf, 1, 5000);
	if (read(scm_sock[1], &c, 1) != 1)	/* the sender is done */
		tprintf(t, "no go");
	getfl(o, t, fd, "F_GETFL");
	tval(t, "F_GETPIPE_SZ", o->fcntl(fd, F_GETPIPE_SZ, 0));
	fionread(o, t, fd, "FIONREAD");
	rd(o, t, fd, 100, "read");
	rd(o, t, fd, 100, "read at EOF");
	tval(t, "close it", o->close(fd));
	close(scm_sock[1]);
}

static void scen_scm(const struct pipe_ops *o, struct trace *t)
{
	int p[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, scm_sock) < 0) {
		tprintf(t, "socketpair: %s", errname(errno));
		return;
	}
	/* The child exists before the pipe does. */
	pid = spawn(o, child_scm, p);
	close(scm_sock[1]);
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	tval(t, "write hello", o->write(p[1], "hello", 5));
	tprintf(t, "sent read end: %d", send_fd(scm_sock[0], p[0]) > 0);
	cl(o, t, p[0], "close read end");
	tval(t, "write more", o->write(p[1], " world", 6));
	cl(o, t, p[1], "close write end");
	tprintf(t, "go: %d", write(scm_sock[0], "g", 1) == 1);
	reap(t, pid);
	close(scm_sock[0]);
}

/* An end handed over a socket to a process that reads it with the C
 * library's read, while the sender, which holds both ends, goes on
 * writing: each write must reach it at once (the sender's sendmsg takes
 * the pipe to the kernel's path). */
static void child_scm_plain(const struct pipe_ops *o, struct trace *t, int *p)
{
	struct pollfd pf = { scm_sock[1], POLLIN, 0 };
	char buf[64];
	int fd;

	(void)o;
	(void)p;
	close(scm_sock[0]);
	poll(&pf, 1, 5000);
	fd = recv_fd(scm_sock[1]);
	tprintf(t, "received an end: %d", fd >= 0);
	for (int i = 0; i < 2 && fd >= 0; i++) {
		struct pollfd q = { fd, POLLIN, 0 };
		ssize_t n;

		tprintf(t, "poll: %d", poll(&q, 1, 3000));
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		tprintf(t, "read (the C library's) -> %ld \"%s\"", (long)n, buf);
		if (write(scm_sock[1], "r", 1) != 1)
			break;
	}
	close(fd);
	close(scm_sock[1]);
}

static void scen_scm_live(const struct pipe_ops *o, struct trace *t)
{
	struct pollfd pf;
	int p[2];
	pid_t pid;
	char c;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, scm_sock) < 0) {
		tprintf(t, "socketpair: %s", errname(errno));
		return;
	}
	pid = spawn(o, child_scm_plain, p);
	close(scm_sock[1]);
	mk(o, t, p, 0, "pipe2 0");
	tval(t, "write before", o->write(p[1], "before", 6));
	tprintf(t, "sent read end: %d", send_fd(scm_sock[0], p[0]) > 0);
	pf = (struct pollfd){ scm_sock[0], POLLIN, 0 };
	tprintf(t, "its read: %d", poll(&pf, 1, 5000) == 1 && read(scm_sock[0], &c, 1) == 1);
	tval(t, "write after", o->write(p[1], "after", 5));
	tprintf(t, "its read: %d", poll(&pf, 1, 5000) == 1 && read(scm_sock[0], &c, 1) == 1);
	cl2(o, t, p);
	reap(t, pid);
	close(scm_sock[0]);
}

/* cat, reading the read end of p and writing into back, in a child
 * that made its descriptors with the C library's dup2 and close (what
 * uipc does not see of them, the exec finds). */
static pid_t start_cat(int p[2], int back[2])
{
	pid_t pid = fork();

	if (pid == 0) {
		dup2(p[0], 0);
		dup2(back[1], 1);
		close(p[0]);
		close(p[1]);
		close(back[0]);
		close(back[1]);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* A forked child execs a program that does not use uipc (cat) with the
 * read end, while the parent keeps both ends and talks with it: a line
 * in, its echo out, twice (the child's exec takes the pipe to the
 * kernel's path). */
static void scen_exec_live(const struct pipe_ops *o, struct trace *t)
{
	int p[2], back[2], st;
	pid_t pid;

	mk(o, t, p, 0, "pipe2 0");
	if (pipe(back) < 0)
		return;
	tval(t, "write one", o->write(p[1], "one\n", 4));
	pid = start_cat(p, back);
	close(back[1]);
	for (int i = 0; i < 2; i++) {
		struct pollfd pf = { back[0], POLLIN, 0 };
		char buf[64];
		ssize_t n = -1;

		if (poll(&pf, 1, 3000) == 1)
			n = read(back[0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		tprintf(t, "cat echoed %ld \"%s\"", (long)n, n > 0 ? buf : "");
		if (i == 0)
			tval(t, "write two", o->write(p[1], "two\n", 4));
	}
	cl2(o, t, p);
	if (waitpid(pid, &st, 0) == pid)
		trace_status(t, st);
	close(back[0]);
}

/* An unmodified program (cat) reading the read end through the C
 * library: the bytes must reach it, in order, then EOF. */
static void run_cat(const struct pipe_ops *o, struct trace *t, int late)
{
	char out[256];
	int p[2], back[2], st;
	long n, got = 0;
	pid_t pid;

	mk(o, t, p, 0, "pipe2 0");
	if (pipe(back) < 0)
		return;
	if (!late)
		tval(t, "write before cat", o->write(p[1], "written before, ", 16));
	pid = start_cat(p, back);
	close(back[1]);
	cl(o, t, p[0], "close read end");
	if (late) {
		usleep(20000);
		tval(t, "write after cat started", o->write(p[1], "written after, ", 15));
	}
	tval(t, "write last", o->write(p[1], "last", 4));
	cl(o, t, p[1], "close write end");
	fcntl(back[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 3000 && got < (long)sizeof(out) - 1; i++) {
		n = read(back[0], out + got, sizeof(out) - 1 - (size_t)got);
		if (n == 0)
			break;
		if (n > 0)
			got += n;
		else
			usleep(1000);
	}
	out[got] = 0;
	tprintf(t, "cat printed \"%s\"", out);
	if (waitpid(pid, &st, WNOHANG) == 0) {
		usleep(100000);
		if (waitpid(pid, &st, WNOHANG) == 0) {
			tprintf(t, "cat still waiting: killed");
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
	}
	trace_status(t, st);
	close(back[0]);
}

static void scen_cat(const struct pipe_ops *o, struct trace *t)
{
	run_cat(o, t, 0);
	run_cat(o, t, 1);
}

/* The uipc_ calls on descriptors uipc did not make are the C library's:
 * a kernel pipe, also one that took the numbers of closed uipc ends. */
static void scen_foreign(const struct pipe_ops *o, struct trace *t)
{
	struct pollfd f[2];
	int p[2], q[2], r;

	r = pipe2(q, O_NONBLOCK);
	tprintf(t, "libc pipe2 -> %d", r);
	tval(t, "write", o->write(q[1], "kernel", 6));
	fionread(o, t, q[0], "FIONREAD");
	tval(t, "F_GETPIPE_SZ", o->fcntl(q[0], F_GETPIPE_SZ, 0));
	getfl(o, t, q[1], "F_GETFL");
	f[0] = (struct pollfd){ q[0], POLLIN, 0 };
	f[1] = (struct pollfd){ q[1], POLLOUT, 0 };
	tval(t, "poll", o->poll(f, 2, 0));
	tprintf(t, "  revents %s %s", evstr(f[0].revents), evstr(f[1].revents));
	rd(o, t, q[0], 100, "read");
	rd(o, t, q[0], 100, "read empty");
	fill(o, t, q[1], 1, "fill");
	rd(o, t, q[0], 10, "read 10");
	cl(o, t, q[1], "close write end");
	drain(o, t, q[0], 65536, "drain");
	cl(o, t, q[0], "close read end");

	/* The numbers of closed uipc ends, taken by a kernel pipe. */
	mk(o, t, p, O_NONBLOCK, "pipe2 NONBLOCK");
	tval(t, "write", o->write(p[1], "uipc", 4));
	cl2(o, t, p);
	r = pipe2(q, O_NONBLOCK);
	tprintf(t, "libc pipe2 -> %d", r);
	{
		int a = fcntl(q[0], F_DUPFD, 500), b = fcntl(q[1], F_DUPFD, 500);

		close(q[0]);
		close(q[1]);
		if (dup2(a, p[0]) < 0 || dup2(b, p[1]) < 0)
			tprintf(t, "dup2 onto the old numbers: %s", errname(errno));
		close(a);
		close(b);
	}
	fionread(o, t, p[0], "FIONREAD on the old read end's number");
	rd(o, t, p[0], 100, "read it");
	tval(t, "write", o->write(p[1], "kernel", 6));
	rd(o, t, p[0], 100, "read");
	tval(t, "F_GETPIPE_SZ", o->fcntl(p[1], F_GETPIPE_SZ, 0));
	cl2(o, t, p);
}

/* ---- running -------------------------------------------------------- */

typedef void (*pipe_scenario)(const struct pipe_ops *o, struct trace *t);

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* As run_both, for struct pipe_ops: the first difference with context,
 * then (up to 40) further lines that differ. */
static int run_pipe_both(const char *name, pipe_scenario scen)
{
	struct trace k = { 0 }, u = { 0 };
	int f0, f1, f2;

	f0 = count_fds();
	pattern(wbuf, BIG, 0);
	memset(rbuf, 0, BIG);
	scen(&kernel_pops, &k);
	f1 = count_fds();
	CHECK(f0 == f1, "%s: the kernel run left %d descriptors open", name, f1 - f0);
	pattern(wbuf, BIG, 0);
	memset(rbuf, 0, BIG);
	scen(&uipc_pops, &u);
	f2 = count_fds();
	if (f2 != f1)
		printf("note: %s: %d more descriptors open after the uipc run\n",
		       name, f2 - f1);
	return trace_compare(name, &k, &u);
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "exec-child"))
		return exec_child(argv);
	harness_init(120);
	child_area = harness_shared(CHILD_AREA);
#ifdef PIPE_KERNEL_ONLY
	printf("note: PIPE_KERNEL_ONLY: the \"uipc\" side is the kernel too\n");
#endif
	run_pipe_both("capacity and FIONREAD", scen_capacity);
	run_pipe_both("F_GETPIPE_SZ and F_SETPIPE_SZ", scen_setsize);
	run_pipe_both("O_NONBLOCK, EOF, EPIPE and SIGPIPE", scen_eof_epipe);
	run_pipe_both("pipe2 flags, fcntl, dup", scen_flags);
	run_pipe_both("O_DIRECT packets", scen_packet);
	run_pipe_both("readv and writev", scen_iov);
	run_pipe_both("EBADF and dup errors", scen_badf);
	run_pipe_both("EFAULT and sizes", scen_efault);
	run_pipe_both("data integrity", scen_integrity);
	run_pipe_both("fork", scen_fork);
	run_pipe_both("signals: EINTR and SA_RESTART", scen_signals);
	run_pipe_both("poll", scen_poll);
	run_pipe_both("state shared by processes", scen_shared);
	run_pipe_both("atomic writes", scen_atomic);
	run_pipe_both("many pipes", scen_many);
	run_pipe_both("exec", scen_exec);
	run_pipe_both("an end sent with SCM_RIGHTS", scen_scm);
	run_pipe_both("an unmodified program reading a uipc pipe", scen_cat);
	run_pipe_both("an end sent with SCM_RIGHTS, the sender writing on",
		      scen_scm_live);
	run_pipe_both("exec of an unmodified program, the parent writing on",
		      scen_exec_live);
	run_pipe_both("descriptors that are not uipc pipes", scen_foreign);
	return harness_done();
}
