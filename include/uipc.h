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
#include <sys/uio.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Linux's msgrcv flag and semctl/msgctl/shmctl commands that some C
 * libraries' headers leave out (musl's): the kernel's values. */
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

#define UIPC_VERSION_MAJOR 0
#define UIPC_VERSION_MINOR 1

#ifndef UIPC_API
#define UIPC_API __attribute__((visibility("default")))
#endif

/* The shared default namespace, used when UIPC_NS is unset or empty and
 * root made it; a user's own is /dev/shm/uipc-<uid>, and where /dev/shm is
 * missing or not writable both are in $TMPDIR, else /tmp (uipc(7)). */
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

/*
 * Pipes (see pipe(7)).  A uipc pipe's ends are real descriptors of a kernel
 * pipe, which carries their identity, lifetime and readiness; the bytes go
 * through a ring in the namespace.  Read, write and control them with the
 * calls below, which on any other descriptor are the C library's own.
 * Close them with uipc_close (or dup2/dup3 over them with uipc_dup2/3).
 */
UIPC_API int uipc_pipe(int pipefd[2]);
UIPC_API int uipc_pipe2(int pipefd[2], int flags);
UIPC_API ssize_t uipc_read(int fd, void *buf, size_t count);
UIPC_API ssize_t uipc_write(int fd, const void *buf, size_t count);
UIPC_API ssize_t uipc_readv(int fd, const struct iovec *iov, int iovcnt);
UIPC_API ssize_t uipc_writev(int fd, const struct iovec *iov, int iovcnt);
UIPC_API int uipc_close(int fd);
UIPC_API int uipc_dup(int oldfd);
UIPC_API int uipc_dup2(int oldfd, int newfd);
UIPC_API int uipc_dup3(int oldfd, int newfd, int flags);
/* F_GETFL/F_SETFL, F_GETFD/F_SETFD, F_DUPFD, F_DUPFD_CLOEXEC,
 * F_GETPIPE_SZ/F_SETPIPE_SZ on a pipe end; any command elsewhere. */
UIPC_API int uipc_fcntl(int fd, int cmd, ...);
/* FIONREAD on a pipe end; any request elsewhere. */
UIPC_API int uipc_ioctl(int fd, unsigned long request, ...);
UIPC_API int uipc_poll(struct pollfd *fds, nfds_t nfds, int timeout);
/* FIFOs: the kernel's node and open rules, and (for now) its data path;
 * see uipc_pipe(3). */
UIPC_API int uipc_mkfifo(const char *path, mode_t mode);
UIPC_API int uipc_open(const char *path, int flags, ...);

/*
 * Signals (see signal(7)): a namespace's own, between the processes that
 * use them.  A process takes uipc signals once it has made any of these
 * calls; its kernel signals are untouched (uipc takes two kernel signals
 * of its own to deliver with, SIGRTMAX - 1 and SIGRTMAX).  uipc_kill and
 * friends reach only such processes (ESRCH for any other pid).
 */
UIPC_API int uipc_kill(pid_t pid, int sig);
UIPC_API int uipc_sigqueue(pid_t pid, int sig, const union sigval value);
UIPC_API int uipc_raise(int sig);
UIPC_API int uipc_tgkill(pid_t tgid, pid_t tid, int sig);
/* Returns the error number, as pthread_kill; a thread that has made no
 * uipc signal call is not known (ESRCH). */
UIPC_API int uipc_pthread_kill(pthread_t thread, int sig);
UIPC_API int uipc_sigaction(int signum, const struct sigaction *act,
			    struct sigaction *oldact);
UIPC_API int uipc_sigprocmask(int how, const sigset_t *set, sigset_t *oldset);
UIPC_API int uipc_pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset);
UIPC_API int uipc_sigpending(sigset_t *set);
UIPC_API int uipc_sigsuspend(const sigset_t *mask);
UIPC_API int uipc_sigtimedwait(const sigset_t *set, siginfo_t *info,
			       const struct timespec *timeout);
UIPC_API int uipc_sigwaitinfo(const sigset_t *set, siginfo_t *info);
UIPC_API int uipc_sigwait(const sigset_t *set, int *sig);
UIPC_API int uipc_pause(void);
/* A real, pollable descriptor whose reads give struct signalfd_siginfo
 * (see <sys/signalfd.h>); SFD_NONBLOCK, SFD_CLOEXEC. */
UIPC_API int uipc_signalfd(int fd, const sigset_t *mask, int flags);

#ifdef __cplusplus
}
#endif

#endif /* UIPC_H */
