/*
 * wait_fallback: blocked calls in a sandbox that refuses what the EINTR-
 * exact sleep needs still complete, on uipc as on the kernel.  A seccomp
 * filter makes socket() fail with EPERM (no wake socket: the waiter sleeps
 * on its futex word and is woken through it), or ppoll, epoll_pwait and
 * epoll_pwait2 (the socket is made, the sleep is refused: the wait looks
 * at its word every millisecond).  A child so confined blocks in msgrcv
 * and in semop and is woken by its unconfined parent; a handler still
 * interrupts it.  x86_64 only (the filter names system call numbers).
 */
#include "harness.h"

#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

struct msg {
	long type;
	char text[8];
};

static void on_usr1(int sig)
{
	(void)sig;
}

#define DENY(nr)                                                        \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

static int confine(int what)
{
	struct sock_filter no_socket[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		DENY(__NR_socket),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter no_sleep[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		DENY(__NR_ppoll),
		DENY(__NR_epoll_pwait),
		DENY(441),	/* epoll_pwait2 */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog;

	if (what == 0) {
		prog.len = sizeof(no_socket) / sizeof(no_socket[0]);
		prog.filter = no_socket;
	} else {
		prog.len = sizeof(no_sleep) / sizeof(no_sleep[0]);
		prog.filter = no_sleep;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* A confined child blocks three times: msgrcv woken by a message, semop
 * woken by a unit, msgrcv interrupted by SIGUSR1.  It exits with a bit per
 * call that did what it should. */
static void run(const struct ipc_ops *o, struct trace *t, int what)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct sembuf up = { 0, 1, 0 };
	struct msg m = { 1, "x" };
	int q = o->msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	int s = o->semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), st;
	pid_t c;

	c = fork();
	if (c == 0) {
		struct sembuf down = { 0, -1, 0 };
		struct msg got;
		sigset_t usr2;
		int bits = 0;

		alarm(20);
		sigaction(SIGUSR1, &sa, NULL);
		/* A signal it blocks is pending all along: it interrupts
		 * nothing. */
		sigemptyset(&usr2);
		sigaddset(&usr2, SIGUSR2);
		sigprocmask(SIG_BLOCK, &usr2, NULL);
		raise(SIGUSR2);
		if (confine(what) < 0)
			_exit(64);
		bits |= o->msgrcv(q, &got, sizeof(got.text), 0, 0) > 0;
		bits |= (o->semtimedop(s, &down, 1, NULL) == 0) << 1;
		bits |= (o->msgrcv(q, &got, sizeof(got.text), 0, 0) < 0 &&
			 errno == EINTR) << 2;
		_exit(bits);
	}
	CHECK(wait_blocked(c) == 0, "%s: no msgrcv block", o->name);
	o->msgsnd(q, &m, sizeof(m.text), 0);
	CHECK(wait_blocked(c) == 0, "%s: no semop block", o->name);
	o->semtimedop(s, &up, 1, NULL);
	CHECK(wait_blocked(c) == 0, "%s: no second msgrcv block", o->name);
	kill(c, SIGUSR1);
	waitpid(c, &st, 0);
	tprintf(t, "%s refused: exit %d", what ? "ppoll and epoll" : "socket",
		WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	o->msgctl(q, IPC_RMID, NULL);
	o->semctl(s, 0, IPC_RMID, 0);
}

/* A program that closed every descriptor it does not know (uipc's wake
 * socket too) since its last wait: the next one looks at its word every
 * millisecond, and a handler still interrupts it.  A call the signal left
 * blocked is released after a second by a message. */
static void closed(const struct ipc_ops *o, struct trace *t)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct msg m = { 1, "x" };
	int q = o->msgget(IPC_PRIVATE, IPC_CREAT | 0600), st = 0;
	pid_t c;

	c = fork();
	if (c == 0) {
		struct msg got;
		int bits = 0;

		alarm(20);
		sigaction(SIGUSR1, &sa, NULL);
		bits |= o->msgrcv(q, &got, sizeof(got.text), 0, 0) > 0;
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		bits |= (o->msgrcv(q, &got, sizeof(got.text), 0, 0) < 0 &&
			 errno == EINTR) << 1;
		_exit(bits);
	}
	CHECK(wait_blocked(c) == 0, "%s: no msgrcv block", o->name);
	o->msgsnd(q, &m, sizeof(m.text), 0);
	CHECK(wait_blocked(c) == 0, "%s: no second msgrcv block", o->name);
	kill(c, SIGUSR1);
	for (int i = 0; i < 100 && waitpid(c, &st, WNOHANG) == 0; i++)
		usleep(10000);
	if (waitpid(c, &st, WNOHANG) == 0) {
		o->msgsnd(q, &m, sizeof(m.text), 0);
		waitpid(c, &st, 0);
	}
	tprintf(t, "descriptors closed: exit %d",
		WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	o->msgctl(q, IPC_RMID, NULL);
}

static void no_socket(const struct ipc_ops *o, struct trace *t)
{
	run(o, t, 0);
}

static void no_sleep(const struct ipc_ops *o, struct trace *t)
{
	run(o, t, 1);
}

int main(void)
{
	harness_init(120);
#if !defined(__x86_64__)
	printf("SKIP: the seccomp filter is written for x86_64\n");
	return 77;
#else
	run_both("socket refused: futex sleeps", no_socket);
	run_both("ppoll and epoll refused: polled sleeps", no_sleep);
	run_both("wake socket closed: polled sleeps", closed);
	return harness_done();
#endif
}
