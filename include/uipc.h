/*
 * uipc: the Linux IPC subsystem in user space.
 *
 * Each function here stands for the system call of the same name without
 * the uipc_ prefix: same arguments, same return values, same errno (see
 * msgget(2), msgsnd(2), msgrcv(2), msgctl(2), semget(2), semop(2),
 * semctl(2)).  Objects live in a namespace,
 * a directory chosen by the environment variable UIPC_NS (default
 * /dev/shm/uipc), and are shared by every process that uses that namespace.
 *
 * Beyond the kernel's errors, a namespace or object file that is corrupt or
 * of another layout version gives EIO (never a crash).
 */
#ifndef UIPC_H
#define UIPC_H

#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UIPC_VERSION_MAJOR 0
#define UIPC_VERSION_MINOR 1

#ifndef UIPC_API
#define UIPC_API __attribute__((visibility("default")))
#endif

/* Default namespace directory, used when UIPC_NS is unset or empty. */
#define UIPC_DEFAULT_NS "/dev/shm/uipc"

/* System V message queues. */
UIPC_API int uipc_msgget(key_t key, int msgflg);
UIPC_API int uipc_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg);
UIPC_API ssize_t uipc_msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp,
		    int msgflg);
UIPC_API int uipc_msgctl(int msqid, int cmd, struct msqid_ds *buf);

/* System V semaphores.  uipc_semctl's fourth argument, when cmd needs one,
 * is a union semun as semctl(2) describes (the caller defines it). */
UIPC_API int uipc_semget(key_t key, int nsems, int semflg);
UIPC_API int uipc_semop(int semid, struct sembuf *sops, size_t nsops);
UIPC_API int uipc_semtimedop(int semid, struct sembuf *sops, size_t nsops,
			     const struct timespec *timeout);
UIPC_API int uipc_semctl(int semid, int semnum, int cmd, ...);

/* System V shared memory.  The segment's bytes are a shared file mapping;
 * attachments are counted per process and follow fork, exit and exec. */
UIPC_API int uipc_shmget(key_t key, size_t size, int shmflg);
UIPC_API void *uipc_shmat(int shmid, const void *shmaddr, int shmflg);
UIPC_API int uipc_shmdt(const void *shmaddr);
UIPC_API int uipc_shmctl(int shmid, int cmd, struct shmid_ds *buf);

#ifdef __cplusplus
}
#endif

#endif /* UIPC_H */
