/*
 * preload.c: libuipc-preload.so, the drop-in shim.
 *
 * LD_PRELOAD=libuipc-preload.so makes an unmodified program's System V IPC
 * calls go to uipc instead of the kernel.  It exports the C library's own
 * names with glibc's prototypes and nothing else of ours (shim/preload.map).
 *
 * Covered so far: message queues, semaphores and shared memory.  The
 * /proc/sysvipc views and `uipc run` are the drop-in issue's work.
 */
#include "internal.h"

#include <stdarg.h>

int msgget(key_t key, int msgflg)
{
	return uipc_msgget(key, msgflg);
}

int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	return uipc_msgsnd(msqid, msgp, msgsz, msgflg);
}

ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	return uipc_msgrcv(msqid, msgp, msgsz, msgtyp, msgflg);
}

int msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	return uipc_msgctl(msqid, cmd, buf);
}

int semget(key_t key, int nsems, int semflg)
{
	return uipc_semget(key, nsems, semflg);
}

int semop(int semid, struct sembuf *sops, size_t nsops)
{
	return uipc_semop(semid, sops, nsops);
}

int semtimedop(int semid, struct sembuf *sops, size_t nsops,
	       const struct timespec *timeout)
{
	return uipc_semtimedop(semid, sops, nsops, timeout);
}

int semctl(int semid, int semnum, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	/* Like glibc, read the fourth argument whatever cmd is: it is a
	 * register or a stack word the caller's frame has either way. */
	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return uipc_semctl(semid, semnum, cmd, arg);
}

int shmget(key_t key, size_t size, int shmflg)
{
	return uipc_shmget(key, size, shmflg);
}

void *shmat(int shmid, const void *shmaddr, int shmflg)
{
	return uipc_shmat(shmid, shmaddr, shmflg);
}

int shmdt(const void *shmaddr)
{
	return uipc_shmdt(shmaddr);
}

int shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	return uipc_shmctl(shmid, cmd, buf);
}
