/*
 * preload.c: libuipc-preload.so, the drop-in shim.
 *
 * LD_PRELOAD=libuipc-preload.so makes an unmodified program's System V IPC
 * calls go to uipc instead of the kernel.  It exports the C library's own
 * names with glibc's prototypes and nothing else of ours (shim/preload.map).
 *
 * Covered so far: message queues.  Semaphores, shared memory and the
 * /proc/sysvipc views are the drop-in issue's work.
 */
#include "internal.h"

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
