/*
 * syscall_prog: a program that makes its System V IPC calls through the C
 * library's syscall() (as some programs and language runtimes do), for
 * tests/shim_syscall, which runs it on the kernel and under
 * `uipc run --block-kernel-ipc` and compares what it prints.  As root it
 * also drops to nobody with syscall(SYS_setresuid) and tries again.
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
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"


static long show(const char *what, long r)
{
	if (r < 0)
		printf("%s -> -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s -> ok\n", what);
	return r;
}

int main(void)
{
	struct { long type; char text[16]; } m = { 3, "through syscall" }, in;
	struct sembuf op = { 0, 1, 0 };
	struct timespec ts = { 0, 1000000 };
	struct msqid_ds mds;
	struct shmid_ds sds;
	long q, s, sh, n;
	char *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	q = show("msgget", syscall(SYS_msgget, IPC_PRIVATE, 0600));
	show("msgsnd", syscall(SYS_msgsnd, q, &m, sizeof(m.text), 0));
	memset(&in, 0, sizeof(in));
	n = syscall(SYS_msgrcv, q, &in, sizeof(in.text), 0L, 0);
	printf("msgrcv -> %ld type %ld \"%s\"\n", n, in.type, in.text);
	show("msgrcv empty, IPC_NOWAIT", syscall(SYS_msgrcv, q, &in, sizeof(in.text), 0L, IPC_NOWAIT));
	if (show("msgctl IPC_STAT", syscall(SYS_msgctl, q, IPC_STAT, &mds)) == 0)
		printf("  qnum %lu mode %o\n", (unsigned long)mds.msg_qnum,
		       mds.msg_perm.mode & 0777);
	show("msgctl IPC_STAT|IPC_64", syscall(SYS_msgctl, q, IPC_STAT | 0x100, &mds));
	show("msgctl bad command", syscall(SYS_msgctl, q, 77, &mds));
	show("msgsnd to a bad id", syscall(SYS_msgsnd, -1, &m, sizeof(m.text), 0));

	s = show("semget", syscall(SYS_semget, IPC_PRIVATE, 2, 0600));
	show("semctl SETVAL 5", syscall(SYS_semctl, s, 1, SETVAL, 5L));
	printf("semctl GETVAL -> %ld\n", syscall(SYS_semctl, s, 1, GETVAL, 0L));
	show("semop +1", syscall(SYS_semop, s, &op, 1L));
	op.sem_op = -2;
	op.sem_flg = IPC_NOWAIT;
	show("semop -2 IPC_NOWAIT", syscall(SYS_semop, s, &op, 1L));
	op.sem_flg = 0;
	show("semtimedop -2, 1 ms", syscall(SYS_semtimedop, s, &op, 1L, &ts));
	printf("semctl GETVAL 0 -> %ld\n", syscall(SYS_semctl, s, 0, GETVAL, 0L));

	sh = show("shmget", syscall(SYS_shmget, IPC_PRIVATE, 4096L, 0600));
	p = (char *)syscall(SYS_shmat, sh, NULL, 0);
	printf("shmat -> %s\n", p == (char *)-1 ? strerrorname_np(errno) : "an address");
	if (p != (char *)-1) {
		strcpy(p, "shared");
		show("shmdt", syscall(SYS_shmdt, p));
	}
	if (show("shmctl IPC_STAT", syscall(SYS_shmctl, sh, IPC_STAT, &sds)) == 0)
		printf("  segsz %zu nattch %lu\n", sds.shm_segsz,
		       (unsigned long)sds.shm_nattch);
	show("shmdt of no attachment", syscall(SYS_shmdt, (void *)4096));

	/* Any other number is the C library's. */
	printf("getpid through syscall is getpid: %d\n",
	       syscall(SYS_getpid) == getpid());

	/* A credential change through syscall() is seen by the next call
	 * (in a child, so that root removes the objects afterwards). */
	if (geteuid() == 0) {
		pid_t kid = fork();
		int st;

		if (kid == 0) {
			show("setresuid nobody", syscall(SYS_setresuid, 65534, 65534, 65534));
			show("msgsnd as nobody to a 0600 queue",
			     syscall(SYS_msgsnd, q, &m, sizeof(m.text), IPC_NOWAIT));
			show("IPC_RMID as nobody", syscall(SYS_msgctl, q, IPC_RMID, NULL));
			fflush(stdout);
			_exit(0);
		}
		waitpid(kid, &st, 0);
	}
	show("msgctl IPC_RMID", syscall(SYS_msgctl, q, IPC_RMID, NULL));
	show("semctl IPC_RMID", syscall(SYS_semctl, s, 0, IPC_RMID, 0L));
	show("shmctl IPC_RMID", syscall(SYS_shmctl, sh, IPC_RMID, NULL));
	return 0;
}
