/*
 * sem_undo: SEM_UNDO side by side with the kernel.  A child takes and
 * gives with SEM_UNDO and ends by returning from main (exit), by _exit,
 * or by SIGKILL; the parent looks at the values, GETPID and the waiters
 * after reaping it.  Also: a forked grandchild starts with no
 * adjustments, SETVAL and SETALL clear them in every process, the undo is
 * clamped to 0..SEMVMX, and it wakes a waiter.
 */
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static pid_t child, waiter;

static void show(const struct ipc_ops *o, struct trace *t, int id, int n,
		 const char *what)
{
	char buf[256];
	size_t len = 0;
	unsigned short v[4];
	pid_t pids[2] = { child, waiter };
	const char *const roles[2] = { "child", "waiter" };

	if (o->semctl(id, 0, GETALL, (unsigned long)v) < 0) {
		tprintf(t, "%s: GETALL -> -1 %s", what, errname(errno));
		return;
	}
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
			" [%d val=%u pid=%s]", i, v[i],
			pid_name(o->semctl(id, i, GETPID, 0), pids, roles, 2));
	tprintf(t, "%s:%s", what, buf);
}

enum how { RETURN, UNDERSCORE_EXIT, KILLED };

/* The child: sem0 -2 and sem1 +3 with SEM_UNDO, sem2 +1 without; then it
 * ends as told.  The parent sees the values before and after. */
static void scen_exit(const struct ipc_ops *o, struct trace *t, enum how how)
{
	int id = o->semget(IPC_PRIVATE, 3, 0600);
	struct sembuf s[3] = { SOP(0, -2, SEM_UNDO), SOP(1, 3, SEM_UNDO),
			       SOP(2, 1, 0) };
	int p[2], q[2], st;
	char c;

	o->semctl(id, 0, SETVAL, 5);
	if (pipe(p) < 0 || pipe(q) < 0)
		return;
	child = fork();
	if (child == 0) {
		o->semtimedop(id, s, 3, NULL);
		write(p[1], "x", 1);
		read(q[0], &c, 1);	/* until the parent has looked */
		if (how == KILLED)
			pause();
		if (how == UNDERSCORE_EXIT)
			_exit(0);
		exit(0);
	}
	read(p[0], &c, 1);
	show(o, t, id, 3, "while the child lives");
	write(q[1], "x", 1);
	if (how == KILLED)
		kill(child, SIGKILL);
	waitpid(child, &st, 0);
	show(o, t, id, 3, "after it ended");
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	o->semctl(id, 0, IPC_RMID, 0);
}

static void scen_return(const struct ipc_ops *o, struct trace *t)
{
	scen_exit(o, t, RETURN);
}

static void scen_uexit(const struct ipc_ops *o, struct trace *t)
{
	scen_exit(o, t, UNDERSCORE_EXIT);
}

static void scen_killed(const struct ipc_ops *o, struct trace *t)
{
	scen_exit(o, t, KILLED);
}

/* exec keeps the adjustments (the kernel's undo list belongs to the
 * process, not to its program): they are applied when the new program
 * exits, not at the exec.  The child execs a shell that waits on a pipe;
 * a waiter blocked on the taken unit stays blocked until then. */
static void scen_exec(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 1, 0600);
	int p[2], q[2], st;
	char c;

	o->semctl(id, 0, SETVAL, 1);
	if (pipe(p) < 0 || pipe(q) < 0)
		return;
	child = fork();
	if (child == 0) {
		o->semtimedop(id, &SOP(0, -1, SEM_UNDO), 1, NULL);
		dup2(q[0], 0);
		close(q[1]);
		write(p[1], "x", 1);
		execl("/bin/sh", "sh", "-c", "read x", (char *)NULL);
		_exit(127);
	}
	read(p[0], &c, 1);
	usleep(200000);		/* the exec is done */
	show(o, t, id, 1, "after the child exec'ed");
	tprintf(t, "IPC_NOWAIT take while it runs -> %s",
		o->semtimedop(id, &SOP(0, -1, IPC_NOWAIT), 1, NULL) == 0 ? "0" :
		errname(errno));
	write(q[1], "\n", 1);
	waitpid(child, &st, 0);
	tprintf(t, "the new program exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	show(o, t, id, 1, "after it exited");
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	o->semctl(id, 0, IPC_RMID, 0);
}

/* A grandchild forked after its parent's SEM_UNDO has none of its own. */
static void scen_fork(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 2, 0600);
	int p[2], st;
	char line[64];
	ssize_t n;

	o->semctl(id, 0, SETVAL, 3);
	if (pipe(p) < 0)
		return;
	child = fork();
	if (child == 0) {
		pid_t g;
		int v;

		o->semtimedop(id, &SOP(0, -1, SEM_UNDO), 1, NULL);
		g = fork();
		if (g == 0) {
			o->semtimedop(id, &SOP(1, 1, SEM_UNDO), 1, NULL);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		v = o->semctl(id, 0, GETVAL, 0);
		snprintf(line, sizeof(line), "%d %d sempid1=%s", v,
			 o->semctl(id, 1, GETVAL, 0),
			 o->semctl(id, 1, GETPID, 0) == g ? "grandchild" : "other");
		write(p[1], line, strlen(line));
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = 0;
	tprintf(t, "after the grandchild ended, the child saw: %s", line);
	waitpid(child, &st, 0);
	show(o, t, id, 1, "after the child ended");
	close(p[0]);
	o->semctl(id, 0, IPC_RMID, 0);
}

/* SETVAL clears one semaphore's adjustments in every process, SETALL all;
 * the undo is clamped to 0..32767. */
static void scen_clear_clamp(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 4, 0600);
	unsigned short init[4] = { 5, 5, 0, 5 }, all[4] = { 1, 1, 1, 1 };
	struct sembuf s[4] = { SOP(0, -1, SEM_UNDO), SOP(1, -1, SEM_UNDO),
			       SOP(2, 3, SEM_UNDO), SOP(3, -3, SEM_UNDO) };
	int p[2];
	char c;

	for (int round = 0; round < 3; round++) {
		o->semctl(id, 0, SETALL, (unsigned long)init);
		if (pipe(p) < 0)
			return;
		child = fork();
		if (child == 0) {
			o->semtimedop(id, s, 4, NULL);
			write(p[1], "x", 1);
			pause();
			_exit(0);
		}
		read(p[0], &c, 1);
		if (round == 0) {
			o->semctl(id, 1, SETVAL, 4);
			o->semtimedop(id, &SOP(2, -2, 0), 1, NULL);
			o->semtimedop(id, &SOP(3, 32765, 0), 1, NULL);
		} else if (round == 1) {
			o->semctl(id, 0, SETALL, (unsigned long)all);
		}
		show(o, t, id, 4, "before the kill");
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		show(o, t, id, 4, "after");
		close(p[0]);
		close(p[1]);
	}
	o->semctl(id, 0, IPC_RMID, 0);
}

/* A holder killed with the semaphore taken: the waiter gets it. */
static void scen_wake(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 1, 0600);
	int p[2], st;
	pid_t w;
	char c;

	o->semctl(id, 0, SETVAL, 1);
	if (pipe(p) < 0)
		return;
	child = fork();
	if (child == 0) {
		o->semtimedop(id, &SOP(0, -1, SEM_UNDO), 1, NULL);
		write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	read(p[0], &c, 1);
	w = fork();
	if (w == 0) {
		struct timespec ts = { 5, 0 };

		_exit(o->semtimedop(id, &SOP(0, -1, SEM_UNDO), 1, &ts) == 0 ? 0 : errno);
	}
	waiter = w;
	wait_blocked(w);
	tprintf(t, "waiting: ncnt=%d", o->semctl(id, 0, GETNCNT, 0));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	waitpid(w, &st, 0);
	tprintf(t, "waiter: %s", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "got it" :
		errname(WEXITSTATUS(st)));
	show(o, t, id, 1, "after the waiter ended too");
	close(p[0]);
	close(p[1]);
	o->semctl(id, 0, IPC_RMID, 0);
}

int main(void)
{
	harness_init(60);
	run_both("return from main", scen_return);
	run_both("_exit", scen_uexit);
	run_both("SIGKILL", scen_killed);
	run_both("fork: the child starts with none", scen_fork);
	run_both("exec keeps the adjustments until exit", scen_exec);
	run_both("SETVAL, SETALL clear; clamping", scen_clear_clamp);
	run_both("a killed holder's undo wakes a waiter", scen_wake);
	return harness_done();
}
