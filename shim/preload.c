/*
 * preload.c: libuipc-preload.so, the drop-in shim.
 *
 * LD_PRELOAD=libuipc-preload.so makes an unmodified program's System V IPC
 * calls go to uipc instead of the kernel.  It exports the C library's own
 * names with glibc's prototypes and nothing else of ours (shim/preload.map).
 *
 * It stands in for syscall() too, for the IPC system call numbers (and to
 * see credential changes made through it).
 *
 * It also stands in for the C library's open, fopen and access on the
 * paths of /proc/sysvipc and the IPC sysctls (procview.c), so that tools
 * which read those (util-linux ipcs) describe the uipc namespace.
 */
#include "internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procview.h"

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

/* ---------------------------------------------------------------------
 * syscall(): the IPC system calls a program makes through it reach uipc,
 * with the raw calls' conventions (the result or -1 and errno; shmat's
 * address as a long; semctl's fourth argument by value; the command as
 * given, IPC_64 and all, as the kernel takes it); every other number goes
 * to the C library's syscall(), and a credential change made that way is
 * also seen by uipc's checks.
 * ------------------------------------------------------------------- */

typedef long (*syscall_fn)(long, ...);
static syscall_fn next_syscall;

/* Found before main: uipc's own system calls come through here too, some
 * from a signal handler, where dlsym may not be called. */
__attribute__((constructor)) static void find_syscall(void)
{
	next_syscall = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
}

long syscall(long number, ...)
{
	long a[6], r;
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (number) {
	case SYS_msgget:
		return uipc_msgget((key_t)a[0], (int)a[1]);
	case SYS_msgsnd:
		return uipc_msgsnd((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3]);
	case SYS_msgrcv:
		return uipc_msgrcv((int)a[0], (void *)a[1], (size_t)a[2], a[3], (int)a[4]);
	case SYS_msgctl:
		return uipc_msgctl((int)a[0], (int)a[1], (struct msqid_ds *)a[2]);
	case SYS_semget:
		return uipc_semget((key_t)a[0], (int)a[1], (int)a[2]);
	case SYS_semop:
		return uipc_semop((int)a[0], (struct sembuf *)a[1], (size_t)a[2]);
	case SYS_semtimedop:
		return uipc_semtimedop((int)a[0], (struct sembuf *)a[1], (size_t)a[2],
				       (const struct timespec *)a[3]);
	case SYS_semctl:
		return uipc_semctl((int)a[0], (int)a[1], (int)a[2], (unsigned long)a[3]);
	case SYS_shmget:
		return uipc_shmget((key_t)a[0], (size_t)a[1], (int)a[2]);
	case SYS_shmat:
		return (long)uipc_shmat((int)a[0], (const void *)a[1], (int)a[2]);
	case SYS_shmdt:
		return uipc_shmdt((const void *)a[0]);
	case SYS_shmctl:
		return uipc_shmctl((int)a[0], (int)a[1], (struct shmid_ds *)a[2]);
	}
	if (!next_syscall)
		find_syscall();
	if (!next_syscall) {
		errno = ENOSYS;
		return -1;
	}
	r = next_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	switch (number) {
	case SYS_setuid: case SYS_setgid: case SYS_setreuid: case SYS_setregid:
	case SYS_setresuid: case SYS_setresgid: case SYS_setgroups:
	case SYS_setfsuid: case SYS_setfsgid: case SYS_capset:
		uipc_cred_invalidate();	/* our checks read them again */
		break;
	}
	return r;
}

/* ---------------------------------------------------------------------
 * open, fopen and access: the /proc views, and the next library's
 * function for every other path.
 * ------------------------------------------------------------------- */

#define NEXT(type, name) \
	static type next_fn; \
	if (!next_fn) \
		next_fn = (type)dlsym(RTLD_NEXT, name)

/* The mode argument exists when flags create a file. */
#define OPEN_MODE(flags, mode) \
	do { \
		if ((flags) & (O_CREAT | O_TMPFILE)) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = va_arg(ap, mode_t); \
			va_end(ap); \
		} \
	} while (0)

/* Each stand-in answers a view itself and hands every other path, with
 * its arguments unchanged, to the function it hides. */
#define OPEN_BODY(name, type, view_path, flags, ...) \
	do { \
		mode_t mode = 0; \
		int fd; \
		OPEN_MODE(flags, mode); \
		fd = uipc_view_open(view_path, flags); \
		if (fd != -2) \
			return fd; \
		NEXT(type, name); \
		return next_fn(__VA_ARGS__, mode); \
	} while (0)

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);

/* Only absolute paths name the views, whatever dirfd is. */
int open(const char *path, int flags, ...)
{
	OPEN_BODY("open", open_fn, path, flags, path, flags);
}

int open64(const char *path, int flags, ...)
{
	OPEN_BODY("open64", open_fn, path, flags, path, flags);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY("openat", openat_fn, path, flags, dirfd, path, flags);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY("openat64", openat_fn, path, flags, dirfd, path, flags);
}

/* _FORTIFY_SOURCE's forms, called when flags are not known to need no
 * mode. */
#define OPEN2_BODY(name, type, view_path, flags, ...) \
	do { \
		int fd = uipc_view_open(view_path, flags); \
		if (fd != -2) \
			return fd; \
		NEXT(type, name); \
		return next_fn(__VA_ARGS__); \
	} while (0)

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	OPEN2_BODY("__open_2", open2_fn, path, flags, path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	OPEN2_BODY("__open64_2", open2_fn, path, flags, path, flags);
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	OPEN2_BODY("__openat_2", openat2_fn, path, flags, dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
	OPEN2_BODY("__openat64_2", openat2_fn, path, flags, dirfd, path, flags);
}

typedef FILE *(*fopen_fn)(const char *, const char *);

FILE *fopen(const char *path, const char *mode)
{
	FILE *f = uipc_view_fopen(path, mode);

	NEXT(fopen_fn, "fopen");
	return f ? f : next_fn(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	FILE *f = uipc_view_fopen(path, mode);

	NEXT(fopen_fn, "fopen64");
	return f ? f : next_fn(path, mode);
}

/* The views exist and are readable even where the kernel has no System V
 * IPC, so that a tool which checks before reading reads ours. */
int access(const char *path, int how)
{
	if (uipc_view_exists(path) && !(how & (W_OK | X_OK)))
		return 0;
	NEXT(open2_fn, "access");
	return next_fn(path, how);
}
