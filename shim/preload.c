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
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pipes.h"
#include "procview.h"

/* musl has no separate large-file names: open64 and the like are macros
 * for the plain ones there, which are defined here already. */
#if defined(open64) || defined(pread64)
#define UIPC_NO_LFS64 1
#endif

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
	uipc_shim_syscall_before(number, a);
	r = next_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	uipc_shim_syscall_after(number, r);
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
#define OPEN_BODY(name, type, dirfd, view_path, flags, ...) \
	do { \
		mode_t mode = 0; \
		int fd; \
		OPEN_MODE(flags, mode); \
		fd = uipc_view_open_at(dirfd, view_path, flags); \
		if (fd != -2) \
			return fd; \
		NEXT(type, name); \
		return uipc_shim_opened(next_fn(__VA_ARGS__, mode)); \
	} while (0)

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);

int open(const char *path, int flags, ...)
{
	OPEN_BODY("open", open_fn, AT_FDCWD, path, flags, path, flags);
}

#ifndef UIPC_NO_LFS64
int open64(const char *path, int flags, ...)
{
	OPEN_BODY("open64", open_fn, AT_FDCWD, path, flags, path, flags);
}
#endif

int openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY("openat", openat_fn, dirfd, path, flags, dirfd, path, flags);
}

#ifndef UIPC_NO_LFS64
int openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_BODY("openat64", openat_fn, dirfd, path, flags, dirfd, path, flags);
}
#endif

/* _FORTIFY_SOURCE's forms, called when flags are not known to need no
 * mode. */
#define OPEN2_BODY(name, type, dirfd, view_path, flags, ...) \
	do { \
		int fd = uipc_view_open_at(dirfd, view_path, flags); \
		if (fd != -2) \
			return fd; \
		NEXT(type, name); \
		return uipc_shim_opened(next_fn(__VA_ARGS__)); \
	} while (0)

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	OPEN2_BODY("__open_2", open2_fn, AT_FDCWD, path, flags, path, flags);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	OPEN2_BODY("__open64_2", open2_fn, AT_FDCWD, path, flags, path, flags);
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	OPEN2_BODY("__openat_2", openat2_fn, dirfd, path, flags, dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
	OPEN2_BODY("__openat64_2", openat2_fn, dirfd, path, flags, dirfd, path, flags);
}

int creat(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

#ifndef UIPC_NO_LFS64
int creat64(const char *path, mode_t mode)
{
	return open64(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
#endif

typedef FILE *(*fopen_fn)(const char *, const char *);

FILE *fopen(const char *path, const char *mode)
{
	FILE *f;

	if (uipc_view_fopen(path, mode, &f))
		return f;
	NEXT(fopen_fn, "fopen");
	return uipc_shim_stream(next_fn(path, mode));
}

#ifndef UIPC_NO_LFS64
FILE *fopen64(const char *path, const char *mode)
{
	FILE *f;

	if (uipc_view_fopen(path, mode, &f))
		return f;
	NEXT(fopen_fn, "fopen64");
	return uipc_shim_stream(next_fn(path, mode));
}
#endif

/* The views exist and are readable even where the kernel has no System V
 * IPC, so that a tool which checks before reading reads ours. */
int access(const char *path, int how)
{
	if (uipc_view_exists(path) && !(how & (W_OK | X_OK)))
		return 0;
	NEXT(open2_fn, "access");
	return next_fn(path, how);
}

/* ---------------------------------------------------------------------
 * write, pwrite, close, dup2, dup3, fflush and fclose: a sysctl's
 * descriptor (procview.c) is parsed; while none is open, each is the next
 * library's function after one load.  They are found before main, since
 * write and close are called from signal handlers, where dlsym may not be.
 * ------------------------------------------------------------------- */

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*close_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef int (*fflush_fn)(FILE *);

static write_fn next_write;
static read_fn next_read;
static pread_fn next_pread, next_pread64;
static pwrite_fn next_pwrite, next_pwrite64;
static close_fn next_close;
static dup2_fn next_dup2;
static dup3_fn next_dup3;
static fflush_fn next_fflush, next_fclose;

static void find_io(void)
{
	next_write = (write_fn)dlsym(RTLD_NEXT, "write");
	next_read = (read_fn)dlsym(RTLD_NEXT, "read");
	next_pread = (pread_fn)dlsym(RTLD_NEXT, "pread");
	next_pread64 = (pread_fn)dlsym(RTLD_NEXT, "pread64");
	next_pwrite = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
	next_pwrite64 = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
	next_close = (close_fn)dlsym(RTLD_NEXT, "close");
	next_dup2 = (dup2_fn)dlsym(RTLD_NEXT, "dup2");
	next_dup3 = (dup3_fn)dlsym(RTLD_NEXT, "dup3");
	next_fflush = (fflush_fn)dlsym(RTLD_NEXT, "fflush");
	next_fclose = (fflush_fn)dlsym(RTLD_NEXT, "fclose");
}

/* Before our constructor (another library's constructor) the functions
 * are found on first use. */
#define IO_READY(fn) \
	do { \
		if (__builtin_expect(!(fn), 0)) \
			find_io(); \
	} while (0)

/* At exit, what streams still hold for a sysctl goes in before the C
 * library flushes them itself (where the shim does not see it). */
static void sysctl_at_exit(void)
{
	if (!uipc_sysctl_nopen)
		return;
	next_fflush(NULL);
	for (int fd = 0; fd < 1024 && uipc_sysctl_nopen; fd++)
		uipc_sysctl_flushed(fd);
}

__attribute__((constructor)) static void io_init(void)
{
	find_io();
	uipc_sysctl_adopt();
	atexit(sysctl_at_exit);
}

ssize_t read(int fd, void *buf, size_t count)
{
	struct iovec v = { buf, count };
	ssize_t pr;

	if (uipc_shim_rw(fd, &v, 1, 1, 0, &pr))
		return pr;
	IO_READY(next_read);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0)) {
		ssize_t r = uipc_sysctl_read(fd, -1);

		if (r != -2)
			return r;
	}
	return next_read(fd, buf, count);
}

ssize_t pread(int fd, void *buf, size_t count, off_t at)
{
	IO_READY(next_pread);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && at >= 0) {
		ssize_t r = uipc_sysctl_read(fd, at);

		if (r != -2)
			return r;
	}
	return next_pread(fd, buf, count, at);
}

#ifndef UIPC_NO_LFS64
ssize_t pread64(int fd, void *buf, size_t count, off_t at)
{
	IO_READY(next_pread64);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && at >= 0) {
		ssize_t r = uipc_sysctl_read(fd, at);

		if (r != -2)
			return r;
	}
	return next_pread64(fd, buf, count, at);
}
#endif

ssize_t write(int fd, const void *buf, size_t count)
{
	struct iovec v = { (void *)buf, count };
	ssize_t pr;

	if (uipc_shim_rw(fd, &v, 1, 1, 1, &pr))
		return pr;
	IO_READY(next_write);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0)) {
		ssize_t r = uipc_sysctl_write(fd, buf, count, -1);

		if (r != -2)
			return r;
	}
	return next_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t at)
{
	IO_READY(next_pwrite);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && at >= 0) {
		ssize_t r = uipc_sysctl_write(fd, buf, count, at);

		if (r != -2)
			return r;
	}
	return next_pwrite(fd, buf, count, at);
}

#ifndef UIPC_NO_LFS64
ssize_t pwrite64(int fd, const void *buf, size_t count, off_t at)
{
	IO_READY(next_pwrite64);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && at >= 0) {
		ssize_t r = uipc_sysctl_write(fd, buf, count, at);

		if (r != -2)
			return r;
	}
	return next_pwrite64(fd, buf, count, at);
}
#endif

int close(int fd)
{
	if (__builtin_expect(uipc_ns_fd_keep(fd), 0))
		return 0;	/* the namespace's own: kept (store.c) */
	uipc_shim_closing(fd);
	IO_READY(next_close);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0))
		uipc_sysctl_closing(fd);
	return next_close(fd);
}

/* dup2 or dup3 onto one of the namespace's own descriptors: ours moves
 * first (and this process's record locks are taken again after, which
 * the dup's close of the old number drops).  Returns what the dup gave. */
static int dup_onto_ours(int oldfd, int newfd, int flags, int three)
{
	int moved = uipc_ns_fd_move(newfd), r;

	if (moved < 0) {
		errno = -moved;
		return -1;
	}
	if (!uipc_shim_dup2(oldfd, newfd, flags, three, &r))
		r = three ? next_dup3(oldfd, newfd, flags) : next_dup2(oldfd, newfd);
	if (moved == 1)
		uipc_proc_relock();
	return r;
}

int dup2(int oldfd, int newfd)
{
	int r;

	IO_READY(next_dup2);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && oldfd != newfd)
		uipc_sysctl_closing(newfd);
	if (__builtin_expect(oldfd != newfd && uipc_ns_fd_keep(newfd), 0))
		return dup_onto_ours(oldfd, newfd, 0, 0);
	if (uipc_shim_dup2(oldfd, newfd, 0, 0, &r))
		return r;
	return next_dup2(oldfd, newfd);
}

int dup3(int oldfd, int newfd, int flags)
{
	int r;

	IO_READY(next_dup3);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && oldfd != newfd)
		uipc_sysctl_closing(newfd);
	if (__builtin_expect(oldfd != newfd && uipc_ns_fd_keep(newfd), 0))
		return dup_onto_ours(oldfd, newfd, flags, 1);
	if (uipc_shim_dup2(oldfd, newfd, flags, 1, &r))
		return r;
	return next_dup3(oldfd, newfd, flags);
}

/* A write that failed inside the C library marks its stream (ferror), as
 * a shell's echo asks. */
static void stream_failed(FILE *f)
{
#ifdef __GLIBC__
	f->_flags |= 0x0020;	/* _IO_ERR_SEEN */
#else
	(void)f;
#endif
}

int fflush(FILE *f)
{
	int r;

	IO_READY(next_fflush);
	r = next_fflush(f);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && f && r == 0 &&
	    fileno(f) >= 0 && uipc_sysctl_flushed(fileno(f)) < 0) {
		stream_failed(f);
		return EOF;
	}
	return r;
}

int fclose(FILE *f)
{
	int failed = 0, r;

	IO_READY(next_fclose);
	if (__builtin_expect(uipc_sysctl_nopen != 0, 0) && f && fileno(f) >= 0) {
		int fd = fileno(f), e;

		failed = next_fflush(f) != 0 || uipc_sysctl_flushed(fd) < 0;
		e = errno;
		uipc_sysctl_closing(fd);
		r = next_fclose(f);
		if (failed)
			errno = e;
		return failed ? EOF : r;
	}
	return next_fclose(f);
}

/* ---------------------------------------------------------------------
 * dlopen and dlmopen: a plugin loaded with RTLD_DEEPBIND (PHP loads its
 * extensions so) looks its symbols up in its own dependencies first, the
 * C library among them, and so would bind msgget and the rest past the
 * shim.  The stand-ins drop RTLD_DEEPBIND: such a plugin then binds as
 * any other, the program and this library first.  (The price: a plugin
 * that meant its own copy of a symbol the program also defines gets the
 * program's; docs/uipc.md.)
 *
 * The C library's dlopen looks at its caller (its return address) for
 * the namespace and the RUNPATH to search, so on x86_64 the stand-ins
 * jump to it with the caller's return address still on the stack;
 * elsewhere they are C, which the compiler makes a jump (a sibling call)
 * when it optimizes, and which otherwise shows this library as the caller
 * (tests/shim_dlopen tells the two apart).
 * ------------------------------------------------------------------- */
#ifdef RTLD_DEEPBIND

typedef void *(*dlopen_fn)(const char *, int);
typedef void *(*dlmopen_fn)(Lmid_t, const char *, int);

/* What is left when the C library's cannot be found (never, in practice):
 * dlopen's failure, with dlerror() saying nothing new. */
static void *no_dlopen(const char *file, int mode)
{
	(void)file;
	(void)mode;
	return NULL;
}

static void *no_dlmopen(Lmid_t lmid, const char *file, int mode)
{
	(void)lmid;
	(void)file;
	(void)mode;
	return NULL;
}

static void *_Atomic next_dlopen, *_Atomic next_dlmopen;

/* The C library's function (name: "dlopen", "dlmopen"), found once. */
static void *next_dl(void *_Atomic *slot, const char *name, void *none)
{
	void *fn = atomic_load_explicit(slot, memory_order_acquire);

	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, fn ? fn : none, memory_order_release);
		fn = fn ? fn : none;
	}
	return fn;
}

UIPC_HIDDEN void *uipc_next_dlopen(void);
UIPC_HIDDEN void *uipc_next_dlmopen(void);

void *uipc_next_dlopen(void)
{
	return next_dl(&next_dlopen, "dlopen", (void *)no_dlopen);
}

void *uipc_next_dlmopen(void)
{
	return next_dl(&next_dlmopen, "dlmopen", (void *)no_dlmopen);
}

#if defined(__x86_64__)
_Static_assert(RTLD_DEEPBIND == 8, "RTLD_DEEPBIND as the code below has it");
/* The mode is the second argument of dlopen (esi), the third of dlmopen
 * (edx): the argument registers are kept around the look-up, the flag
 * dropped, and the C library's function entered by a jump. */
__asm__(".text\n"
	".p2align 4\n"
	".globl dlopen, dlmopen\n"
	".type dlopen, @function\n"
	"dlopen:\n"
	"	endbr64\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	sub $8, %rsp\n"			/* the call's alignment */
	"	call uipc_next_dlopen\n"
	"	add $8, %rsp\n"
	"	pop %rsi\n"
	"	pop %rdi\n"
	"	and $-9, %esi\n"		/* ~RTLD_DEEPBIND */
	"	jmp *%rax\n"
	".size dlopen, .-dlopen\n"
	".p2align 4\n"
	".type dlmopen, @function\n"
	"dlmopen:\n"
	"	endbr64\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	push %rdx\n"			/* three: aligned for the call */
	"	call uipc_next_dlmopen\n"
	"	pop %rdx\n"
	"	pop %rsi\n"
	"	pop %rdi\n"
	"	and $-9, %edx\n"
	"	jmp *%rax\n"
	".size dlmopen, .-dlmopen\n");
#else
void *dlopen(const char *file, int mode)
{
	return ((dlopen_fn)uipc_next_dlopen())(file, mode & ~RTLD_DEEPBIND);
}

void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
	return ((dlmopen_fn)uipc_next_dlmopen())(lmid, file,
						 mode & ~RTLD_DEEPBIND);
}
#endif
#endif /* RTLD_DEEPBIND */
