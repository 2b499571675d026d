/*
 * direct.h: the C library calls uipc makes for itself that another
 * preloaded library commonly stands in for, made as system calls.
 *
 * A program run under `uipc run` may preload a library of its own ahead of
 * uipc's shim (fakeroot puts libfakeroot first in LD_PRELOAD), and uipc's
 * own calls of stat, fchmod, mkdir, geteuid... then bind to that library's
 * stand-ins too.  libfakeroot's ask faked through a message queue, which is
 * uipc again, while uipc holds its namespace lock (it was opening its
 * namespace): a hang.  And a fake root's geteuid would pass uipc's own
 * permission checks where the kernel, which sees the real one, refuses.
 * So these go to the kernel directly, on the architectures whose struct
 * stat is the kernel's (x86_64, aarch64); elsewhere the C library's.
 * Included by internal.h for the library's and the shim's objects only
 * (UIPC_DIRECT), after the headers that declare the functions.
 */
#ifndef UIPC_DIRECT_H
#define UIPC_DIRECT_H

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__aarch64__)

static inline int uipc_d_fstatat(int dirfd, const char *path, struct stat *st,
				 int flags)
{
	return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

static inline int uipc_d_fstat(int fd, struct stat *st)
{
	return uipc_d_fstatat(fd, "", st, AT_EMPTY_PATH);
}

static inline int uipc_d_stat(const char *path, struct stat *st)
{
	return uipc_d_fstatat(AT_FDCWD, path, st, 0);
}

/* fchmodat's system call has no flags: only 0 is passed here. */
static inline int uipc_d_fchmodat(int dirfd, const char *path, mode_t mode,
				  int flags)
{
	if (flags) {
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_fchmodat, dirfd, path, mode);
}

static inline int uipc_d_fchmod(int fd, mode_t mode)
{
	return (int)syscall(SYS_fchmod, fd, mode);
}

static inline int uipc_d_fchown(int fd, uid_t uid, gid_t gid)
{
	return (int)syscall(SYS_fchown, fd, uid, gid);
}

static inline int uipc_d_mkdir(const char *path, mode_t mode)
{
	return (int)syscall(SYS_mkdirat, AT_FDCWD, path, mode);
}

static inline int uipc_d_unlinkat(int dirfd, const char *path, int flags)
{
	return (int)syscall(SYS_unlinkat, dirfd, path, flags);
}

static inline uid_t uipc_d_getuid(void) { return (uid_t)syscall(SYS_getuid); }
static inline uid_t uipc_d_geteuid(void) { return (uid_t)syscall(SYS_geteuid); }
static inline gid_t uipc_d_getgid(void) { return (gid_t)syscall(SYS_getgid); }
static inline gid_t uipc_d_getegid(void) { return (gid_t)syscall(SYS_getegid); }

static inline int uipc_d_getgroups(int n, gid_t *list)
{
	return (int)syscall(SYS_getgroups, n, list);
}

#define fstatat(d, p, s, f)	uipc_d_fstatat(d, p, s, f)
#define fstat(fd, s)		uipc_d_fstat(fd, s)
#define stat(p, s)		uipc_d_stat(p, s)
#define fchmodat(d, p, m, f)	uipc_d_fchmodat(d, p, m, f)
#define fchmod(fd, m)		uipc_d_fchmod(fd, m)
#define fchown(fd, u, g)	uipc_d_fchown(fd, u, g)
#define mkdir(p, m)		uipc_d_mkdir(p, m)
#define unlinkat(d, p, f)	uipc_d_unlinkat(d, p, f)
#define getuid()		uipc_d_getuid()
#define geteuid()		uipc_d_geteuid()
#define getgid()		uipc_d_getgid()
#define getegid()		uipc_d_getegid()
#define getgroups(n, l)		uipc_d_getgroups(n, l)

#endif
#endif /* UIPC_DIRECT_H */
