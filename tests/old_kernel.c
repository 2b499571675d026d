/*
 * old_kernel: uipc on a kernel without the features newer than Linux 4.14
 * that it uses (internal.h, enum uipc_feature), against the kernel.
 *
 * A workload (pipes: a blocked read woken by a writer, EOF, a write before
 * and after the last reader went; a semtimedop that times out and one
 * woken by another process; a blocked msgrcv woken by a message; shmat at
 * an address in use and at one free again) runs twice with the kernel's
 * calls and twice with uipc's:
 *   - "refused": under a seccomp filter that answers as Linux 4.14 would:
 *     ENOSYS for every later system call (io_uring_setup, epoll_pwait2,
 *     faccessat2 ...), EOPNOTSUPP for preadv2 and pwritev2 with
 *     RWF_NOWAIT, so each fallback is found at run time
 *     (MAP_FIXED_NOREPLACE, which an old kernel ignores rather than
 *     refuses, is forced with UIPC_FALLBACK=map_fixed_noreplace);
 *   - "forced": with UIPC_FALLBACK=all and no filter.
 * The workload runs as nobody (when the test is root), so that an owner's
 * rights are those of its files, not a capability's.  The traces must
 * match the kernel's.  Then, where strace is installed,
 * the forced run must make none of those calls (nor pass
 * MAP_FIXED_NOREPLACE), and a run without the variable must make them
 * (else this test could not tell).  The filter is written for x86_64.
 */
#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define RWF_NOWAIT_FLAG 0x00000008	/* linux/fs.h */

struct msg {
	long type;
	char text[8];
};

struct pipe_ops {
	int (*pipe2)(int[2], int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
};

static const struct pipe_ops k_pipes = { pipe2, read, write, close };
static const struct pipe_ops u_pipes = { uipc_pipe2, uipc_read, uipc_write,
					 uipc_close };

/* Linux 4.14's answers to what came later. */
static int confine_old(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		/* Every call after statx (332), the last of 4.14: among
		 * them io_uring_setup (425), faccessat2 (439), epoll_pwait2
		 * (441).  (The C library's own fall back too.) */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 333, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		/* preadv2 and pwritev2: flags (argument 5) with RWF_NOWAIT */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_preadv2, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pwritev2, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[5])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, RWF_NOWAIT_FLAG, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

#define T(fmt, ...) (printf(fmt "\n", __VA_ARGS__), fflush(stdout))

static const char *res(long r)
{
	static char buf[64];

	if (r < 0)
		snprintf(buf, sizeof(buf), "-1 %s", errname(errno));
	else
		snprintf(buf, sizeof(buf), "%ld", r);
	return buf;
}

static void reap(pid_t c)
{
	int st;

	waitpid(c, &st, 0);
	T("child exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
}

static void pipes(const struct pipe_ops *p)
{
	char buf[64];
	int fd[2];
	pid_t c;

	/* A blocked read woken by a writer in another process; EOF. */
	if (p->pipe2(fd, 0) < 0) {
		T("pipe2 %s", res(-1));
		return;
	}
	c = fork();
	if (c == 0) {
		p->close(fd[0]);
		usleep(30000);
		_exit(p->write(fd[1], "hello", 5) != 5);
	}
	p->close(fd[1]);
	T("read %s", res(p->read(fd[0], buf, sizeof(buf))));
	T("read at EOF %s", res(p->read(fd[0], buf, sizeof(buf))));
	reap(c);
	p->close(fd[0]);

	/* The last reader goes while the writer holds on: EPIPE then. */
	if (p->pipe2(fd, 0) < 0)
		return;
	c = fork();
	if (c == 0) {
		p->close(fd[1]);
		usleep(30000);
		_exit(p->read(fd[0], buf, 1) != 1);
	}
	p->close(fd[0]);
	T("write, a reader there %s", res(p->write(fd[1], "x", 1)));
	reap(c);
	T("write, no reader %s", res(p->write(fd[1], "y", 1)));
	T("write again %s", res(p->write(fd[1], "z", 1)));
	p->close(fd[1]);
}

static void sysv(const struct ipc_ops *o)
{
	struct timespec ts = { 0, 20000000 };
	struct sembuf down = SOP(0, -1, 0), up = SOP(0, 1, 0);
	struct msg m = { 3, "abc" };
	int s = o->semget(IPC_PRIVATE, 1, 0600);
	int q = o->msgget(IPC_PRIVATE, 0600);
	int id = o->shmget(IPC_PRIVATE, 4096, 0600);
	void *a, *b;
	pid_t c;

	T("semtimedop, 20 ms %s", res(o->semtimedop(s, &down, 1, &ts)));
	c = fork();
	if (c == 0) {
		usleep(30000);
		if (o->semtimedop(s, &up, 1, NULL) < 0)
			_exit(1);
		usleep(30000);
		_exit(o->msgsnd(q, &m, 4, 0) < 0 ? 2 : 0);
	}
	T("semop woken %s", res(o->semtimedop(s, &down, 1, NULL)));
	T("msgrcv woken %s", res(o->msgrcv(q, &m, sizeof(m.text), 0, 0)));
	T("message %ld %s", m.type, m.text);
	reap(c);

	a = o->shmat(id, NULL, 0);
	b = o->shmat(id, a, 0);
	T("shmat where one is %s", b == (void *)-1 ? res(-1) : "attached");
	if (b != (void *)-1)
		o->shmdt(b);
	o->shmdt(a);
	b = o->shmat(id, a, 0);
	T("shmat there again %s", b == a ? "same address" :
	  b == (void *)-1 ? res(-1) : "elsewhere");
	if (b != (void *)-1)
		o->shmdt(b);
	b = o->shmat(id, (void *)(uintptr_t)0x7ffffffff000ull, 0);
	T("shmat at the top %s", b == (void *)-1 ? res(-1) : "attached");
	/* A free address a kernel honours as a hint too (below 64 KiB it
	 * moves hints: docs/uipc.md, "Portability"). */
	b = o->shmat(id, (void *)(uintptr_t)0x40000000, 0);
	T("shmat at 1 GiB %s", b == (void *)(uintptr_t)0x40000000 ? "there" :
	  b == (void *)-1 ? res(-1) : "elsewhere");
	if (b != (void *)-1)
		o->shmdt(b);
	T("semctl IPC_RMID %s", res(o->semctl(s, 0, IPC_RMID, 0)));
	T("msgctl IPC_RMID %s", res(o->msgctl(q, IPC_RMID, NULL)));
	T("shmctl IPC_RMID %s", res(o->shmctl(id, IPC_RMID, NULL)));
}

/* The workload, in this process ("--work kernel|uipc"). */
static int work(const char *side)
{
	int u = !strcmp(side, "uipc");

	signal(SIGPIPE, SIG_IGN);
	alarm(20);
	pipes(u ? &u_pipes : &k_pipes);
	sysv(u ? &uipc_ops : &kernel_ops);
	return 0;
}

static char g_self[4096];	/* this program */

/* Runs the workload in a new image of this program, confined or with
 * UIPC_FALLBACK=fallback, its output into t; under strace -o straced if
 * that is not NULL. */
static void run_work(const struct ipc_ops *o, struct trace *t, int confine,
		     const char *fallback, const char *straced)
{
	char out[8192];
	int p[2], st;
	ssize_t n, got = 0;
	pid_t c;

	if (pipe(p) < 0)
		return;
	n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
	g_self[n > 0 ? n : 0] = 0;
	fflush(stdout);
	c = fork();
	if (c == 0) {
		const char *side = o == &uipc_ops ? "uipc" : "kernel";

		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (fallback)
			setenv("UIPC_FALLBACK", fallback, 1);
		else
			unsetenv("UIPC_FALLBACK");
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		     setresuid(65534, 65534, 65534) < 0))
			_exit(63);
		if (confine && confine_old() < 0)
			_exit(64);
		if (straced)
			execlp("strace", "strace", "-f", "-qq", "-o", straced,
			       "-e", "trace=io_uring_setup,epoll_pwait2,preadv2,"
			       "pwritev2,mmap", g_self, "--work", side,
			       (char *)NULL);
		else
			execl(g_self, "old_kernel", "--work", side,
			      (char *)NULL);
		_exit(65);
	}
	close(p[1]);
	while (got < (ssize_t)sizeof(out) - 1 &&
	       (n = read(p[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	waitpid(c, &st, 0);
	tlines(t, "", out);
	tprintf(t, "exit %d", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
}

static void refused(const struct ipc_ops *o, struct trace *t)
{
	run_work(o, t, 1, "map_fixed_noreplace", NULL);
}

static void forced(const struct ipc_ops *o, struct trace *t)
{
	run_work(o, t, 0, "all", NULL);
}

/* How many lines of the strace output at path name one of the newer
 * calls (or the flag). */
static int newer_calls(const char *path, char *first, size_t n)
{
	static const char *const names[] = { "io_uring_setup(", "epoll_pwait2(",
		"RWF_NOWAIT", "MAP_FIXED_NOREPLACE" };
	char line[1024];
	FILE *f = fopen(path, "r");
	int count = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strstr(line, names[i])) {
				if (!count++)
					snprintf(first, n, "%s", line);
				break;
			}
	fclose(f);
	return count;
}

static void strace_check(void)
{
	char path[] = "/tmp/old_kernel.strace.XXXXXX", first[1024] = "";
	struct trace t = { 0 };
	int fd = mkstemp(path), with, without;

	if (fd < 0 || system("strace -o /dev/null true >/dev/null 2>&1") != 0) {
		printf("SKIP strace check: no strace, or no ptrace here\n");
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return;
	}
	/* strace runs as the workload's nobody. */
	if (geteuid() == 0 && fchown(fd, 65534, 65534) < 0)
		perror("fchown");
	close(fd);
	run_work(&uipc_ops, &t, 0, "all", path);
	with = newer_calls(path, first, sizeof(first));
	CHECK(with == 0, "UIPC_FALLBACK=all still made %d newer call(s), "
	      "the first: %s", with, first);
	run_work(&uipc_ops, &t, 0, NULL, path);
	without = newer_calls(path, first, sizeof(first));
	CHECK(without > 0, "without UIPC_FALLBACK no newer call showed: "
	      "this check cannot tell");
	unlink(path);
	trace_free(&t);
	if (with == 0 && without > 0)
		printf("ok   strace: no newer call with UIPC_FALLBACK=all "
		       "(%d without it)\n", without);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--work"))
		return work(argv[2]);
	harness_init(120);
	{
		/* The namespace set up by its owner, for the workload's
		 * nobody. */
		int q = uipc_msgget(IPC_PRIVATE, 0600);

		uipc_msgctl(q, IPC_RMID, NULL);
	}
#if !defined(__x86_64__)
	printf("SKIP: the seccomp filter is written for x86_64\n");
	return 77;
#else
	run_both("Linux 4.14's answers, each fallback found at run time",
		 refused);
	run_both("UIPC_FALLBACK=all", forced);
	strace_check();
	return harness_done();
#endif
}
