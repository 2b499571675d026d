/*
 * closeall_prog: a program whose child, holding a SEM_UNDO adjustment,
 * closes every descriptor it does not know, as a daemon that detaches
 * does (faked-sysv closes them one by one; others use closefrom or
 * close_range), and dup2s onto the low numbers, then goes on with System V
 * IPC: for tests/shim_closeall, which runs it on the kernel and under
 * `uipc run --block-kernel-ipc` and compares what it prints.  Under uipc
 * the namespace's own descriptors must survive: the child's adjustment is
 * not undone while it lives (its liveness lock), and it can still make
 * and use objects (the namespace's directory).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "errname.h"

static long show(const char *what, long r)
{
	if (r < 0)
		printf("%s -> -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s -> ok\n", what);
	fflush(stdout);
	return r;
}

/* The way the child lets go of its descriptors: 0 one by one, 1
 * closefrom, 2 close_range, 3 dup2 of stdin onto each. */
static void close_all(int how)
{
	switch (how) {
	case 0:
		for (int fd = 1023; fd >= 3; fd--)
			close(fd);
		break;
#ifdef __GLIBC__
	case 1:
		closefrom(3);
		break;
	case 2:
		close_range(3, ~0u, 0);
		break;
#else
	case 1:
	case 2:
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		break;
#endif
	default:
		for (int fd = 3; fd < 64; fd++)
			dup2(0, fd);
		for (int fd = 3; fd < 64; fd++)
			close(fd);
		break;
	}
}

int main(void)
{
	static const char *const ways[] = { "close each", "closefrom",
		"close_range", "dup2 onto each" };
	struct { long type; char text[16]; } m = { 1, "after" };

	for (int how = 0; how < 4; how++) {
		int s = semget(IPC_PRIVATE, 2, 0600);
		struct sembuf up = { 0, 1, SEM_UNDO }, ready = { 1, 1, 0 },
			      wait_ready = { 1, -1, 0 };
		pid_t pid;
		int st;

		printf("-- %s\n", ways[how]);
		if (show("semget", s) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			int q;

			semop(s, &up, 1);	/* undone at its death only */
			close_all(how);
			q = msgget(IPC_PRIVATE, 0600);
			show("child: msgget after closing", q);
			show("child: msgsnd", msgsnd(q, &m, sizeof(m.text), 0));
			show("child: msgrcv", msgrcv(q, &m, sizeof(m.text), 0, 0));
			show("child: IPC_RMID", msgctl(q, IPC_RMID, NULL));
			semop(s, &ready, 1);
			pause();	/* until the parent has looked */
			_exit(0);
		}
		semop(s, &wait_ready, 1);
		/* A locked call of the parent's: it would find the child dead
		 * if the child's liveness had gone with its descriptors. */
		semop(s, &ready, 1);
		semop(s, &wait_ready, 1);
		printf("child alive: its adjustment is %s\n",
		       semctl(s, 0, GETVAL) == 1 ? "still there" : "undone");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		printf("child killed: value %d\n", semctl(s, 0, GETVAL));
		show("IPC_RMID", semctl(s, 0, IPC_RMID));
	}
	return 0;
}
