/*
 * pipe_prog: an ordinary program (no uipc) that uses pipes through the C
 * library's calls and prints what each returns.  tests/shim_pipes runs it
 * plainly and under `uipc run --pipes` and compares the lines.
 *
 *   pipe_prog          the scenarios
 *   pipe_prog ring     prints what `$UIPC_TOOL ls -p` says of a new pipe
 *                      (descriptors above 2), after a fork's child used
 *                      it, after select, after execs, on descriptor 0
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"

static void say(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
	fflush(stdout);
}

static volatile sig_atomic_t g_sigpipe, g_alarm;
/* Bad arguments the compiler cannot see through. */
static int *volatile g_bad = (int *)8;
static volatile int g_negative = -1;

static void on_sigpipe(int s)
{
	(void)s;
	g_sigpipe++;
}

static void on_alarm(int s)
{
	(void)s;
	g_alarm++;
}

static int mkpipe(int fds[2], int flags)
{
	if (pipe2(fds, flags) < 0) {
		perror("pipe2");
		exit(1);
	}
	return 0;
}

static void close2(int fds[2])
{
	close(fds[0]);
	close(fds[1]);
}

static void room(void)
{
	int p[2], n = -1;
	static char big[65536];

	mkpipe(p, O_NONBLOCK);
	say("room: F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
	say("room: write 1", write(p[1], "x", 1));
	say("room: write 65536 non-blocking", write(p[1], big, sizeof(big)));
	say("room: write 1 more", write(p[1], "y", 1));
	say("room: FIONREAD", ioctl(p[0], FIONREAD, &n));
	printf("room: FIONREAD says %d\n", n);
	say("room: F_SETPIPE_SZ 4096 (busy)", fcntl(p[1], F_SETPIPE_SZ, 4096));
	say("room: read 70000", read(p[0], big, sizeof(big)));
	say("room: F_SETPIPE_SZ 5000", fcntl(p[1], F_SETPIPE_SZ, 5000));
	say("room: F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
	say("room: read empty non-blocking", read(p[0], big, 10));
	close2(p);
}

static void ends(void)
{
	int p[2], d;
	char b[16];

	mkpipe(p, 0);
	say("ends: read the write end", read(p[1], b, 1));
	say("ends: write the read end", write(p[0], "x", 1));
	d = dup(p[1]);
	say("ends: dup > 2", d > 2);
	close(p[1]);
	say("ends: write through the dup", write(d, "abc", 3));
	say("ends: dup2 onto itself", dup2(d, d) == d);
	say("ends: dup3 onto itself", dup3(d, d, 0));
	say("ends: dup3 bad flags", dup3(d, 100, O_NONBLOCK));
	say("ends: dup2 to 100", dup2(d, 100));
	close(d);
	say("ends: write through 100", write(100, "de", 2));
	say("ends: F_GETFL of 100 & O_ACCMODE", fcntl(100, F_GETFL) & O_ACCMODE);
	say("ends: F_DUPFD 50", fcntl(100, F_DUPFD, 50));
	close(100);
	say("ends: read", read(p[0], b, sizeof(b)));
	printf("ends: data %.5s\n", b);
	say("ends: write 50", write(50, "f", 1));
	close(50);
	say("ends: read after the last writer", read(p[0], b, sizeof(b)));
	say("ends: read EOF", read(p[0], b, sizeof(b)));
	say("ends: close", close(p[0]));
	say("ends: close again", close(p[0]));
	say("ends: pipe2 bad flags", pipe2(p, O_APPEND));
	say("ends: pipe bad pointer", pipe(g_bad));
}

static void epipe(void)
{
	int p[2];

	signal(SIGPIPE, on_sigpipe);
	mkpipe(p, 0);
	close(p[0]);
	say("epipe: write", write(p[1], "x", 1));
	printf("epipe: SIGPIPE %d\n", (int)g_sigpipe);
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);
}

static void packets(void)
{
	int p[2];
	char b[100];

	mkpipe(p, O_DIRECT | O_NONBLOCK);
	say("packets: write 3", write(p[1], "abc", 3));
	say("packets: write 5", write(p[1], "defgh", 5));
	say("packets: read 100", read(p[0], b, sizeof(b)));
	say("packets: read 2", read(p[0], b, 2));
	printf("packets: got %.2s\n", b);
	say("packets: read again", read(p[0], b, sizeof(b)));
	close2(p);
}

static void vectors(void)
{
	int p[2];
	char a[3], c[5];
	struct iovec w[2] = { { "hel", 3 }, { "lo pi", 5 } };
	struct iovec r[2] = { { a, 3 }, { c, 5 } };

	mkpipe(p, 0);
	say("vectors: writev", writev(p[1], w, 2));
	say("vectors: readv", readv(p[0], r, 2));
	printf("vectors: %.3s|%.5s\n", a, c);
	say("vectors: readv bad count", readv(p[0], r, g_negative));
	close2(p);
}

static void readiness(void)
{
	int p[2];
	struct pollfd f[2];
	char b;

	mkpipe(p, 0);
	f[0] = (struct pollfd){ p[0], POLLIN, 0 };
	f[1] = (struct pollfd){ p[1], POLLOUT, 0 };
	say("poll: empty", poll(f, 2, 0));
	printf("poll: revents %#x %#x\n", f[0].revents, f[1].revents);
	write(p[1], "z", 1);
	say("poll: one byte", poll(f, 2, 100));
	printf("poll: revents %#x %#x\n", f[0].revents, f[1].revents);
	read(p[0], &b, 1);
	close(p[1]);
	say("poll: writer gone", poll(f, 1, 100));
	printf("poll: revents %#x\n", f[0].revents);
	close(p[0]);
}

static void chooser(void)
{
	int p[2];
	fd_set r;
	struct timeval tv = { 0, 0 };
	char b[4];

	mkpipe(p, 0);
	write(p[1], "abc", 3);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	say("select: readable", select(p[0] + 1, &r, NULL, NULL, &tv));
	say("select: read", read(p[0], b, sizeof(b)));
	write(p[1], "d", 1);
	say("select: read after", read(p[0], b, sizeof(b)));
	close2(p);
}

/* A child writes; the parent reads all of it, then EOF. */
static void forked(void)
{
	int p[2], st;
	unsigned long sum = 0, n = 0;
	char b[3000];
	ssize_t got;
	pid_t c;

	mkpipe(p, 0);
	c = fork();
	if (c == 0) {
		close(p[0]);
		for (int i = 0; i < 300; i++) {
			memset(b, 'a' + i % 26, 1000);
			if (write(p[1], b, 1000) != 1000)
				_exit(3);
		}
		_exit(0);
	}
	close(p[1]);
	while ((got = read(p[0], b, sizeof(b))) > 0)
		for (ssize_t i = 0; i < got; i++, n++)
			sum = sum * 31 + (unsigned char)b[i];
	say("fork: last read", got);
	waitpid(c, &st, 0);
	printf("fork: %lu bytes, sum %lu, child status %#x\n", n, sum, st);
	close(p[0]);
}

/* Writes of PIPE_BUF from three children at once are never mixed. */
static void atomic(void)
{
	int p[2], st, bad = 0, recs = 0;
	char b[4096];
	pid_t c[3];

	mkpipe(p, 0);
	for (int k = 0; k < 3; k++) {
		c[k] = fork();
		if (c[k] == 0) {
			close(p[0]);
			memset(b, 'A' + k, sizeof(b));
			for (int i = 0; i < 200; i++)
				if (write(p[1], b, sizeof(b)) != sizeof(b))
					_exit(3);
			_exit(0);
		}
	}
	close(p[1]);
	for (;;) {
		size_t have = 0;
		ssize_t got;

		while (have < sizeof(b) &&
		       (got = read(p[0], b + have, sizeof(b) - have)) > 0)
			have += (size_t)got;
		if (have == 0)
			break;
		recs++;
		for (size_t i = 1; i < have; i++)
			if (b[i] != b[0])
				bad = 1;
		if (have != sizeof(b))
			bad = 1;
	}
	for (int k = 0; k < 3; k++)
		waitpid(c[k], &st, 0);
	printf("atomic: %d records, mixed %d\n", recs, bad);
	close(p[0]);
}

/* A blocked read and a handler: EINTR without SA_RESTART; with it, the
 * read goes on and gets what a child writes later. */
static void interrupted(void)
{
	struct sigaction sa;
	int p[2], st;
	char b[8];
	pid_t c;

	for (int restart = 0; restart < 2; restart++) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGALRM, &sa, NULL);
		mkpipe(p, 0);
		c = fork();
		if (c == 0) {
			close(p[0]);
			usleep(300000);
			write(p[1], "late", 4);
			_exit(0);
		}
		ualarm(100000, 0);
		printf("eintr: SA_RESTART %d: ", restart);
		say("read", read(p[0], b, sizeof(b)));
		printf("eintr: handler ran %d\n", (int)g_alarm);
		g_alarm = 0;
		waitpid(c, &st, 0);
		close2(p);
	}
	signal(SIGALRM, SIG_DFL);
}

/* The self-pipe trick: a handler writes a byte into a non-blocking pipe
 * at every tick of a timer while the program reads it; none is lost (the
 * handler may come while the read is in the middle). */
static int g_self[2];
static volatile long g_sent;

static void on_tick(int s)
{
	int e = errno;

	(void)s;
	if (write(g_self[1], "t", 1) == 1)
		g_sent++;
	errno = e;
}

static void selfpipe(void)
{
	struct itimerval it = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	long got = 0;
	char b[64];
	ssize_t n;

	mkpipe(g_self, O_NONBLOCK);
	signal(SIGALRM, on_tick);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < 2000000 && g_sent < 3000; i++)
		if ((n = read(g_self[0], b, sizeof(b))) > 0)
			got += n;
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	while ((n = read(g_self[0], b, sizeof(b))) > 0)
		got += n;
	printf("self-pipe: %s\n", got == g_sent ? "every byte the handler wrote read" :
	       "bytes lost or invented");
	close2(g_self);
}

/* A thread writes into a pipe while the main thread forks children that
 * write one byte each: the children never hang, the reader sees EOF. */
static int g_tp[2];
static volatile int g_stop;

static void *writer_thread(void *arg)
{
	char b[100] = { 0 };

	(void)arg;
	while (!g_stop)
		if (write(g_tp[1], b, sizeof(b)) < 0)
			break;
	return NULL;
}

static void fork_beside_thread(void)
{
	long got;
	pthread_t t;
	int st, bad = 0;
	char b[4096];
	pid_t r, c;

	mkpipe(g_tp, 0);
	r = fork();
	if (r == 0) {
		close(g_tp[1]);
		while ((got = read(g_tp[0], b, sizeof(b))) > 0)
			;
		_exit(got == 0 ? 0 : 1);
	}
	close(g_tp[0]);
	pthread_create(&t, NULL, writer_thread, NULL);
	for (int i = 0; i < 100; i++) {
		c = fork();
		if (c == 0) {
			alarm(20);
			_exit(write(g_tp[1], "c", 1) == 1 ? 0 : 1);
		}
		waitpid(c, &st, 0);
		if (st != 0)
			bad++;
	}
	g_stop = 1;
	pthread_join(t, NULL);
	close(g_tp[1]);
	waitpid(r, &st, 0);
	printf("fork beside a writing thread: %d children failed, reader status %#x\n",
	       bad, st);
}

/* Reads fd to EOF and prints it, newlines as '|'. */
static void drain(int fd, const char *what)
{
	char b[256];
	ssize_t n, t = 0;

	while ((n = read(fd, b + t, sizeof(b) - 1 - (size_t)t)) > 0)
		t += n;
	b[t] = 0;
	for (char *c = b; *c; c++)
		if (*c == '\n')
			*c = '|';
	printf("%s: %s\n", what, b);
}

/* Writes and closes that go through the C library's own calls, between
 * plain ones: dprintf, POSIX AIO, a raw close, signal-driven I/O. */
static void around(void)
{
	struct timespec two = { 2, 0 };
	const struct aiocb *list[1];
	struct aiocb cb;
	sigset_t io;
	int p[2], f;

	mkpipe(p, 0);
	write(p[1], "1\n", 2);
	dprintf(p[1], "%d\n", 2);
	write(p[1], "3\n", 2);
	close(p[1]);
	drain(p[0], "dprintf between writes");
	close(p[0]);

	mkpipe(p, 0);
	write(p[1], "A", 1);
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = p[1];
	cb.aio_buf = "B";
	cb.aio_nbytes = 1;
	aio_write(&cb);
	list[0] = &cb;
	aio_suspend(list, 1, NULL);
	write(p[1], "C", 1);
	close(p[1]);
	drain(p[0], "aio_write between writes");
	close(p[0]);

	mkpipe(p, 0);
	write(p[1], "pipe", 4);
	syscall(SYS_close, p[1]);
	f = open("/tmp/pipe_prog_file", O_CREAT | O_TRUNC | O_RDWR, 0600);
	write(f, "file", 4);
	close(f);
	drain(p[0], "after a raw close, the pipe");
	f = open("/tmp/pipe_prog_file", O_RDONLY);
	drain(f, "and the file that took its number");
	close(f);
	unlink("/tmp/pipe_prog_file");
	close(p[0]);

	mkpipe(p, 0);
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	sigprocmask(SIG_BLOCK, &io, NULL);
	fcntl(p[0], F_SETOWN, getpid());
	fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK);
	write(p[1], "x", 1);
	printf("O_ASYNC: SIGIO %s\n", sigtimedwait(&io, NULL, &two) == SIGIO ?
	       "came" : "did not come");
	sigprocmask(SIG_UNBLOCK, &io, NULL);
	close2(p);
}

/* A stream opened by path on a pipe a child wrote into. */
static void reopened(void)
{
	char path[64], line[64] = "";
	int p[2], st;
	pid_t c;
	FILE *f;

	mkpipe(p, 0);
	c = fork();
	if (c == 0) {
		close(p[0]);
		write(p[1], "through /proc\n", 14);
		_exit(0);
	}
	close(p[1]);
	waitpid(c, &st, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f))
		strcpy(line, "(nothing)\n");
	printf("fopen %s: %s", f ? "ok" : "failed", line);
	if (f)
		fclose(f);
	close(p[0]);
}

/* What `uipc ls -p` says of fd's pipe: "ring", "kernel" (its ring is
 * there, demoted) or "none" (uipc has no ring for it, or no longer). */
static const char *ring_of(int fd)
{
	const char *tool = getenv("UIPC_TOOL");
	char cmd[4200], line[65536], key[64], *at;
	struct stat st;
	size_t n;
	FILE *f;

	if (!tool || fstat(fd, &st) < 0)
		return "?";
	snprintf(cmd, sizeof(cmd), "%s ls -p --json", tool);
	f = popen(cmd, "r");
	if (!f)
		return "?";
	n = fread(line, 1, sizeof(line) - 1, f);
	line[n] = 0;
	pclose(f);
	snprintf(key, sizeof(key), "\"pipe\": %lu,", (unsigned long)st.st_ino);
	at = strstr(line, key);
	if (!at)
		return "none";
	at = strstr(at, "\"kernel_path\": ");
	return at && at[15] == '0' ? "ring" : "kernel";
}

/* A child that execs true, waited for. */
static void exec_true(void)
{
	int st;
	pid_t c = fork();

	if (c == 0) {
		execlp("true", "true", (char *)NULL);
		_exit(127);
	}
	waitpid(c, &st, 0);
}

static int rings(void)
{
	int p[2], st;
	char b[8];
	fd_set r;
	struct timeval tv = { 0, 0 };
	pid_t c;

	mkpipe(p, O_CLOEXEC);
	printf("new pipe: %s\n", ring_of(p[0]));
	c = fork();
	if (c == 0) {
		write(p[1], "ping", 4);
		_exit(0);
	}
	waitpid(c, &st, 0);
	read(p[0], b, 4);
	printf("after a child wrote: %s\n", ring_of(p[0]));
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	select(p[0] + 1, &r, NULL, NULL, &tv);
	printf("after select: %s\n", ring_of(p[0]));
	close2(p);
	mkpipe(p, O_CLOEXEC);
	exec_true();
	printf("after an exec that does not keep it: %s\n", ring_of(p[0]));
	fcntl(p[1], F_SETFD, 0);
	exec_true();
	printf("after an exec that keeps it: %s\n", ring_of(p[0]));
	close2(p);
	mkpipe(p, O_CLOEXEC);
	dup2(p[0], 0);
	printf("read end on descriptor 0: %s\n", ring_of(p[0]));
	close2(p);
	return 0;
}

/* A handler that opens, writes and closes a file while the program does
 * the same beside its pipes: the first use of each new descriptor number
 * is a look in the shim's table, from the handler too, which must not
 * wait for the interrupted code (it hung, before). */
static volatile sig_atomic_t g_ticks;

static void on_tick_file(int sig)
{
	int e = errno, fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)sig;
	if (fd >= 0) {
		if (write(fd, "x", 1) != 1)
			g_ticks = -1000000;
		close(fd);
	}
	g_ticks++;
	errno = e;
}

static void handler_files(void)
{
	struct sigaction sa, old;
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };
	int p[2], ok = 1;
	char b[1];

	mkpipe(p, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick_file;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < 100000 && ok; i++) {
		int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

		ok = fd >= 0 && read(fd, b, 1) == 1;
		close(fd);
		if (i % 1000 == 0)
			ok = ok && write(p[1], "p", 1) == 1 && read(p[0], b, 1) == 1;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	printf("a handler's file I/O beside the program's: %s, handler %s\n",
	       ok ? "all read" : "failed", g_ticks > 0 ? "ran" : "did not run");
	close2(p);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "ring") == 0)
		return rings();
	room();
	ends();
	epipe();
	packets();
	vectors();
	readiness();
	chooser();
	forked();
	atomic();
	interrupted();
	reopened();
	selfpipe();
	fork_beside_thread();
	around();
	handler_files();
	return 0;
}
