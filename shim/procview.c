/*
 * procview.c: the shim's /proc/sysvipc and /proc/sys/kernel views.
 *
 * Programs such as util-linux ipcs learn what exists by reading
 * /proc/sysvipc/{msg,sem,shm}, and the limits by reading the IPC sysctls
 * /proc/sys/kernel/{msgmni,msgmax,msgmnb,sem,shmmax,shmall,shmmni,
 * shm_rmid_forced,msg_next_id,sem_next_id,shm_next_id}.  Under the shim
 * those must describe the uipc namespace, not the kernel, so opening one of
 * these paths gives a memory file holding what the kernel would print for
 * the namespace, in its exact format (ipc/msg.c, ipc/sem.c, ipc/shm.c:
 * sysvipc_*_proc_show; kernel/sysctl.c for the settings).
 *
 * A sysctl opened for writing never reaches the kernel's file either: the
 * memory file is named after the setting ("uipc-sysctl:msgmni"), and what
 * is written to it is parsed as kernel/sysctl.c parses a write
 * (__do_proc_dointvec, __do_proc_doulongvec_minmax, with the IPC
 * handlers' ranges and sem's semmni check) and sets the namespace's value.
 * A write(2) is parsed as it is made, with the kernel's result; bytes that
 * the C library's stdio writes from inside (where the shim cannot stand
 * in) are found in the memory file when the stream is flushed or closed,
 * or the descriptor closed, and parsed then (sysctl_flushed), so that
 * fprintf+fclose, procps' sysctl -w and a shell's `echo V > file` work,
 * with a bad value failing the fflush or fclose with the kernel's errno.
 * Only the limits' owner (or root) may open them for writing (EACCES), as
 * only root may write the kernel's.
 */
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procview.h"

enum view {
	V_NONE, V_MSG, V_SEM, V_SHM,
	/* the sysctls, from here on */
	V_MSGMNI, V_MSGMAX, V_MSGMNB, V_SEMLIM, V_SHMMAX, V_SHMALL, V_SHMMNI,
	V_SHMRMID, V_MSGNEXT, V_SEMNEXT, V_SHMNEXT, V_LAST = V_SHMNEXT
};
#define V_SYSCTL V_MSGMNI

static const char *const view_path[] = {
	[V_MSG] = "/proc/sysvipc/msg",
	[V_SEM] = "/proc/sysvipc/sem",
	[V_SHM] = "/proc/sysvipc/shm",
	[V_MSGMNI] = "/proc/sys/kernel/msgmni",
	[V_MSGMAX] = "/proc/sys/kernel/msgmax",
	[V_MSGMNB] = "/proc/sys/kernel/msgmnb",
	[V_SEMLIM] = "/proc/sys/kernel/sem",
	[V_SHMMAX] = "/proc/sys/kernel/shmmax",
	[V_SHMALL] = "/proc/sys/kernel/shmall",
	[V_SHMMNI] = "/proc/sys/kernel/shmmni",
	[V_SHMRMID] = "/proc/sys/kernel/shm_rmid_forced",
	[V_MSGNEXT] = "/proc/sys/kernel/msg_next_id",
	[V_SEMNEXT] = "/proc/sys/kernel/sem_next_id",
	[V_SHMNEXT] = "/proc/sys/kernel/shm_next_id",
};

/* Each sysctl: its limit (or its kind, for a next id) and the range of
 * its handler in ipc/ipc_sysctl.c (ints; shmmax and shmall are unsigned
 * longs, sem four ints with only semmni checked). */
static const struct sysctl_def {
	int lim;		/* enum uipc_limit, or -1 for a next id */
	int kind;		/* a next id's enum uipc_kind */
	int64_t min, max;
} sysctl_defs[] = {
	[V_MSGMNI] = { UL_MSGMNI, 0, 0, UIPC_IPCMNI },
	[V_MSGMAX] = { UL_MSGMAX, 0, 0, INT_MAX },
	[V_MSGMNB] = { UL_MSGMNB, 0, 0, INT_MAX },
	[V_SEMLIM] = { UL_SEMMSL, 0, INT_MIN, INT_MAX },
	[V_SHMMAX] = { UL_SHMMAX, 0, 0, 0 },
	[V_SHMALL] = { UL_SHMALL, 0, 0, 0 },
	[V_SHMMNI] = { UL_SHMMNI, 0, 0, UIPC_IPCMNI },
	[V_SHMRMID] = { UL_SHMRMID, 0, 0, 1 },
	[V_MSGNEXT] = { -1, UIPC_MSG, 0, INT_MAX },
	[V_SEMNEXT] = { -1, UIPC_SEM, 0, INT_MAX },
	[V_SHMNEXT] = { -1, UIPC_SHM, 0, INT_MAX },
};

/* The view a path names: an absolute path, or one relative to dirfd (or
 * the working directory) that ends in a sysctl's name.  "." and ".." and
 * doubled slashes are folded, so that /proc/sys/kernel//msgmni is ours. */
static enum view view_at(int dirfd, const char *path)
{
	char buf[PATH_MAX], out[PATH_MAX];
	const char *base;
	size_t o = 0;

	if (!path)
		return V_NONE;
	if (path[0] != '/') {
		ssize_t n;

		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		for (int v = V_SYSCTL; v <= V_LAST; v++)
			if (!strcmp(base, strrchr(view_path[v], '/') + 1))
				goto ours;
		return V_NONE;
ours:
		if (dirfd == AT_FDCWD) {
			if (!getcwd(buf, sizeof(buf)))
				return V_NONE;
		} else {
			char link[64];

			snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
			n = readlink(link, buf, sizeof(buf) - 1);
			if (n <= 0)
				return V_NONE;
			buf[n] = 0;
		}
		if (strlen(buf) + strlen(path) + 2 > sizeof(buf))
			return V_NONE;
		strcat(strcat(buf, "/"), path);
	} else {
		if (strncmp(path, "/proc/", 6) || strlen(path) >= sizeof(buf))
			return V_NONE;
		strcpy(buf, path);
	}
	/* Fold the path's segments into out. */
	for (char *sv, *seg = strtok_r(buf, "/", &sv); seg;
	     seg = strtok_r(NULL, "/", &sv)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, seg, strlen(seg));
		o += strlen(seg);
	}
	out[o] = 0;
	if (strncmp(out, "/proc/sys", 9))
		return V_NONE;
	for (int v = V_MSG; v <= V_LAST; v++)
		if (!strcmp(out, view_path[v]))
			return (enum view)v;
	return V_NONE;
}

static enum view view_of(const char *path)
{
	return view_at(AT_FDCWD, path);
}

static void show_msg(int fd)
{
	struct msqid_ds ds;
	int max = uipc_msgctl(0, MSG_INFO, (struct msqid_ds *)&(struct msginfo){ 0 });

	dprintf(fd, "       key      msqid perms      cbytes       qnum lspid lrpid"
		"   uid   gid  cuid  cgid      stime      rtime      ctime\n");
	for (int i = 0; i <= max; i++) {
		int id = uipc_msgctl(i, MSG_STAT_ANY, &ds);

		if (id < 0)
			continue;
		dprintf(fd, "%10d %10d  %4o  %10lu %10lu %5u %5u %5u %5u %5u %5u"
			" %10llu %10llu %10llu\n",
			ds.msg_perm.__key, id, ds.msg_perm.mode,
			(unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qnum,
			(unsigned)ds.msg_lspid, (unsigned)ds.msg_lrpid,
			ds.msg_perm.uid, ds.msg_perm.gid, ds.msg_perm.cuid,
			ds.msg_perm.cgid, (unsigned long long)ds.msg_stime,
			(unsigned long long)ds.msg_rtime,
			(unsigned long long)ds.msg_ctime);
	}
}

static void show_sem(int fd)
{
	struct seminfo si;
	struct semid_ds ds;
	int max = uipc_semctl(0, 0, SEM_INFO, &si);

	dprintf(fd, "       key      semid perms      nsems   uid   gid  cuid  cgid"
		"      otime      ctime\n");
	for (int i = 0; i <= max; i++) {
		int id = uipc_semctl(i, 0, SEM_STAT_ANY, &ds);

		if (id < 0)
			continue;
		dprintf(fd, "%10d %10d  %4o %10u %5u %5u %5u %5u %10llu %10llu\n",
			ds.sem_perm.__key, id, ds.sem_perm.mode,
			(unsigned)ds.sem_nsems, ds.sem_perm.uid, ds.sem_perm.gid,
			ds.sem_perm.cuid, ds.sem_perm.cgid,
			(unsigned long long)ds.sem_otime,
			(unsigned long long)ds.sem_ctime);
	}
}

static void show_shm(int fd)
{
	struct shminfo si;
	struct shmid_ds ds;
	/* IPC_INFO answers the highest index as SHM_INFO does, without
	 * summing every segment's resident pages first. */
	int max = uipc_shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	long page = sysconf(_SC_PAGESIZE);

	dprintf(fd, "       key      shmid perms                  size  cpid  lpid"
		" nattch   uid   gid  cuid  cgid      atime      dtime      ctime"
		"                   rss                  swap\n");
	for (int i = 0; i <= max; i++) {
		int id = uipc_shmctl(i, SHM_STAT_ANY, &ds);

		if (id < 0)
			continue;
		dprintf(fd, "%10d %10d  %4o %21lu %5u %5u  %5lu %5u %5u %5u %5u"
			" %10llu %10llu %10llu %21lu %21lu\n",
			ds.shm_perm.__key, id, ds.shm_perm.mode,
			(unsigned long)ds.shm_segsz, (unsigned)ds.shm_cpid,
			(unsigned)ds.shm_lpid, (unsigned long)ds.shm_nattch,
			ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid,
			ds.shm_perm.cgid, (unsigned long long)ds.shm_atime,
			(unsigned long long)ds.shm_dtime,
			(unsigned long long)ds.shm_ctime,
			(unsigned long)(uipc_shm_rss(id) * page), 0ul);
	}
}

/* What reading sysctl v shows, into buf (of n > 64 bytes). */
static void sysctl_text(enum view v, char *buf, size_t n)
{
	const struct sysctl_def *d = &sysctl_defs[v];
	struct uipc_nsh *h;
	int err = 0;

	buf[0] = 0;
	h = uipc_ns_get(&err);
	if (!h)
		return;
	if (d->lim < 0)
		snprintf(buf, n, "%d\n", uipc_next_id(h, (enum uipc_kind)d->kind));
	else if (v == V_SEMLIM)
		snprintf(buf, n, "%d\t%d\t%d\t%d\n",
			 (int)uipc_limit(h, UL_SEMMSL), (int)uipc_limit(h, UL_SEMMNS),
			 (int)uipc_limit(h, UL_SEMOPM), (int)uipc_limit(h, UL_SEMMNI));
	else if (uipc_limit_defs[d->lim].uns)
		snprintf(buf, n, "%llu\n",
			 (unsigned long long)uipc_limit(h, (enum uipc_limit)d->lim));
	else
		snprintf(buf, n, "%d\n", (int)uipc_limit(h, (enum uipc_limit)d->lim));
}

static void show_limit(int fd, enum view v)
{
	char buf[128];

	sysctl_text(v, buf, sizeof(buf));
	if (write(fd, buf, strlen(buf)) < 0)
		return;
}

/* ---------------------------------------------------------------------
 * Writing a sysctl: kernel/sysctl.c's parsing.
 * ------------------------------------------------------------------- */

#define SYSCTL_PAGE 4096	/* a write's bytes past PAGE_SIZE - 1 are not looked at */
#define NAME_PREFIX "uipc-sysctl:"

static int is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static void skip_spaces(const char **p, size_t *left)
{
	while (*left && is_space(**p)) {
		(*p)++;
		(*left)--;
	}
}

/* strtoul_lenient: base 0 as _parse_integer_fixup_radix takes it; -1 on
 * overflow, else the end of the digits in *end. */
static int parse_ulong(const char *p, const char **end, unsigned long *val)
{
	unsigned base = 10;
	unsigned long r = 0;
	int over = 0;

	if (p[0] == '0') {
		base = 8;
		if ((p[1] | 0x20) == 'x' && isxdigit((unsigned char)p[2])) {
			base = 16;
			p += 2;
		}
	}
	for (;; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			d = (unsigned)((*p | 0x20) - 'a' + 10);
		else
			break;
		if (d >= base)
			break;
		if (__builtin_mul_overflow(r, base, &r) || __builtin_add_overflow(r, d, &r))
			over = 1;
	}
	*end = p;
	*val = r;
	return over ? -1 : 0;
}

/* proc_get_long, with the trailers " \t\n". */
static int get_long(const char **buf, size_t *size, unsigned long *val, int *neg)
{
	char tmp[22];
	const char *p, *end;
	size_t len = *size;

	if (len == 0)
		return -EINVAL;
	if (len > sizeof(tmp) - 1)
		len = sizeof(tmp) - 1;
	memcpy(tmp, *buf, len);
	tmp[len] = 0;
	p = tmp;
	*neg = *p == '-' && *size > 1;
	if (*neg)
		p++;
	if (!isdigit((unsigned char)*p) || parse_ulong(p, &end, val) < 0)
		return -EINVAL;
	len = (size_t)(end - tmp);
	/* 21 characters may be a number cut short. */
	if (len == sizeof(tmp) - 1)
		return -EINVAL;
	if (len < *size && !memchr(" \t\n", *end, 3))
		return -EINVAL;
	*buf += len;
	*size -= len;
	return 0;
}

/* __do_proc_dointvec with the minmax conversion, or (ulong) the loop of
 * __do_proc_doulongvec_minmax: vals[] are set as they are parsed, so a
 * bad second value leaves the first set, as the kernel's.  The count
 * consumed, or -EINVAL. */
static ssize_t parse_vec(const char *buf, size_t count, int64_t *vals, int n,
			 int ulong, int64_t min, int64_t max)
{
	size_t left = count > SYSCTL_PAGE - 1 ? SYSCTL_PAGE - 1 : count;
	const char *p = buf;
	int first = 1, err = 0;

	for (int i = 0; left && i < n; i++, first = 0) {
		unsigned long l;
		int neg;
		int64_t v;

		skip_spaces(&p, &left);
		if (!left)
			break;
		err = get_long(&p, &left, &l, &neg);
		if (err)
			break;
		if (ulong) {
			if (neg) {
				err = -EINVAL;
				break;
			}
			vals[i] = (int64_t)l;
			continue;
		}
		if (l > (unsigned long)INT_MAX + neg) {
			err = -EINVAL;
			break;
		}
		v = neg ? -(int64_t)l : (int64_t)l;
		if (v < min || v > max) {
			err = -EINVAL;
			break;
		}
		vals[i] = v;
	}
	if (!err && left)
		skip_spaces(&p, &left);
	if (first)
		return err ? err : -EINVAL;
	return err ? err : (ssize_t)(count - left);
}

/* A write of count bytes at file position pos into sysctl v: the count
 * the kernel takes, or -errno. */
static ssize_t sysctl_apply(enum view v, const char *buf, size_t count, off_t pos)
{
	const struct sysctl_def *d = &sysctl_defs[v];
	struct uipc_nsh *h;
	int64_t vals[4];
	ssize_t r;
	int err = 0;

	h = uipc_ns_get(&err);
	if (!h)
		return err;
	/* Each write asks, as sysctl_perm does: a descriptor opened by
	 * root and kept after dropping it writes nothing (EPERM). */
	if (uipc_limits_writable(h) < 0)
		return -EPERM;
	if (count == 0)
		return 0;
	/* sysctl_writes_strict: a write past the start is taken, ignored. */
	if (pos != 0)
		return (ssize_t)count;
	if (d->lim < 0) {
		vals[0] = uipc_next_id(h, (enum uipc_kind)d->kind);
		r = parse_vec(buf, count, vals, 1, 0, d->min, d->max);
		if (vals[0] != uipc_next_id(h, (enum uipc_kind)d->kind))
			uipc_next_id_set(h, (enum uipc_kind)d->kind, (int)vals[0]);
		return r;
	}
	if (v == V_SEMLIM) {
		static const enum uipc_limit sem[4] = {
			UL_SEMMSL, UL_SEMMNS, UL_SEMOPM, UL_SEMMNI };

		for (int i = 0; i < 4; i++)
			vals[i] = uipc_limit(h, sem[i]);
		r = parse_vec(buf, count, vals, 4, 0, INT_MIN, INT_MAX);
		/* proc_ipc_sem_dointvec: semmni in [0, IPCMNI] or ERANGE,
		 * and it alone is put back on an error. */
		if (r >= 0 && (vals[3] < 0 || vals[3] > UIPC_IPCMNI))
			r = -ERANGE;
		if (r < 0)
			vals[3] = uipc_limit(h, UL_SEMMNI);
		for (int i = 0; i < 4; i++)
			uipc_limit_set(h, sem[i], vals[i]);
		return r;
	}
	vals[0] = uipc_limit(h, (enum uipc_limit)d->lim);
	r = parse_vec(buf, count, vals, 1, uipc_limit_defs[d->lim].uns, d->min, d->max);
	uipc_limit_set(h, (enum uipc_limit)d->lim, vals[0]);
	return r;
}

/* ---------------------------------------------------------------------
 * Sysctl descriptors: the memory files this process has of them, by
 * inode, for the stand-ins of write, close, fflush and fclose.
 * ------------------------------------------------------------------- */

#define SYSCTL_OPEN_MAX 16

struct sysctl_open {
	ino_t ino;		/* the memory file; 0: a free entry */
	enum view v;
	off_t done;		/* bytes before it were parsed */
	int flags;		/* the open file's O_ACCMODE and O_APPEND */
};

static struct sysctl_open g_open[SYSCTL_OPEN_MAX];
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;
/* This thread holds g_open_lock: the library's own close, write and the
 * like, made while we parse, are no sysctl's and come back to the
 * stand-ins, which must then pass them on. */
static __thread int g_inside;

/* The caller's errno, kept from open_lock to open_unlock: what we do
 * between must not show in it (a program reads it after calls that
 * succeeded). */
static __thread int g_errno;

static int open_lock(void)
{
	if (g_inside)
		return -1;
	g_errno = errno;
	pthread_mutex_lock(&g_open_lock);
	g_inside = 1;
	return 0;
}

static void open_unlock(void)
{
	g_inside = 0;
	pthread_mutex_unlock(&g_open_lock);
	errno = g_errno;
}
_Atomic int uipc_sysctl_nopen;	/* entries in g_open */
static dev_t g_memfd_dev;

static void memfd_name(char *buf, size_t n, enum view v)
{
	snprintf(buf, n, NAME_PREFIX "%s", strrchr(view_path[v], '/') + 1);
}

/* fd's entry, or NULL.  g_open_lock held. */
static struct sysctl_open *entry_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != g_memfd_dev)
		return NULL;
	for (int i = 0; i < SYSCTL_OPEN_MAX; i++)
		if (g_open[i].ino && g_open[i].ino == st.st_ino)
			return &g_open[i];
	return NULL;
}

/* 0, or -1 if the table is full. */
static int entry_add(int fd, enum view v)
{
	struct stat st;
	int r = -1;

	if (fstat(fd, &st) < 0 || open_lock() < 0)
		return -1;
	g_memfd_dev = st.st_dev;
	for (int i = 0; r < 0 && i < SYSCTL_OPEN_MAX; i++)
		if (!g_open[i].ino) {
			g_open[i].ino = st.st_ino;
			g_open[i].v = v;
			g_open[i].done = lseek(fd, 0, SEEK_CUR);
			g_open[i].flags = fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND);
			uipc_sysctl_nopen++;
			r = 0;
		}
	open_unlock();
	return r;
}

/* Whether a descriptor other than fd refers to the entry's file. */
static int others_hold(int fd, ino_t ino)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int found = 0;

	if (!d)
		return 1;
	while (!found && (de = readdir(d))) {
		int n = atoi(de->d_name);
		struct stat st;

		if (de->d_name[0] == '.' || n == fd || n == dirfd(d))
			continue;
		found = fstat(n, &st) == 0 && st.st_ino == ino &&
			st.st_dev == g_memfd_dev;
	}
	closedir(d);
	return found;
}

/* A descriptor that reads and writes fd's memory file: fd itself if it
 * was opened so, else a new one (close it), or -1. */
static int rw_of(int fd)
{
	char path[64];

	if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* pread of the memory file, also through a descriptor opened O_WRONLY. */
static ssize_t read_back(int fd, char *buf, size_t n, off_t at)
{
	int rw = rw_of(fd);
	ssize_t r = rw < 0 ? -1 : pread(rw, buf, n, at);

	if (rw >= 0 && rw != fd)
		close(rw);
	return r;
}

/* The sysctl's text as it is now in its memory file (after a write, or
 * for a read), where fd's position stays. */
static void refresh(int fd, enum view v)
{
	char text[128];
	int rw = rw_of(fd);

	if (rw < 0)
		return;
	sysctl_text(v, text, sizeof(text));
	/* Not through the shim's pwrite, which would come back here. */
	if (syscall(SYS_pwrite64, rw, text, strlen(text), 0) >= 0)
		(void)ftruncate(rw, (off_t)strlen(text));
	if (rw != fd)
		close(rw);
}

/* fd's entry with g_open_lock held, or NULL (not held): fd is no sysctl
 * descriptor, or this thread is in here already. */
static struct sysctl_open *locked_entry(int fd)
{
	struct sysctl_open *e;

	if (open_lock() < 0)
		return NULL;
	e = entry_of(fd);
	if (!e)
		open_unlock();
	return e;
}

ssize_t uipc_sysctl_write(int fd, const void *buf, size_t count, off_t at)
{
	struct sysctl_open *e;
	char local[SYSCTL_PAGE];
	size_t n = count < sizeof(local) ? count : sizeof(local);
	off_t pos;
	ssize_t r;

	e = locked_entry(fd);
	if (!e)
		return -2;
	if ((e->flags & O_ACCMODE) == O_RDONLY) {
		open_unlock();
		errno = EBADF;
		return -1;
	}
	/* O_APPEND writes at the end of a file of size 0. */
	pos = at >= 0 ? at : (e->flags & O_APPEND) ? 0 : lseek(fd, 0, SEEK_CUR);
	/* The bytes the kernel would copy in (at most a page), guarded. */
	r = uipc_copy_from_user(local, buf, n) < 0 ? -EFAULT :
		sysctl_apply(e->v, local, count, pos);
	if (r > 0 && at < 0 && !(e->flags & O_APPEND)) {
		lseek(fd, pos + r, SEEK_SET);
		e->done = pos + r;
	}
	if (r > 0 && pos == 0 && (e->flags & O_ACCMODE) == O_RDWR)
		refresh(fd, e->v);
	open_unlock();
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

ssize_t uipc_sysctl_read(int fd, off_t at)
{
	struct sysctl_open *e;
	off_t pos;

	e = locked_entry(fd);
	if (!e)
		return -2;
	pos = at >= 0 ? at : lseek(fd, 0, SEEK_CUR);
	if ((e->flags & O_ACCMODE) == O_WRONLY) {
		open_unlock();
		errno = EBADF;
		return -1;
	}
	/* A sysctl is read whole from the start, its value as it is now;
	 * a read past the start gives nothing (proc_dointvec). */
	if (pos == 0)
		refresh(fd, e->v);
	open_unlock();
	return pos == 0 ? -2 : 0;
}

int uipc_sysctl_flushed(int fd)
{
	struct sysctl_open *e;
	char local[SYSCTL_PAGE];
	off_t cur;
	ssize_t r = 0, n;

	if (open_lock() < 0)
		return 0;
	e = entry_of(fd);
	cur = e ? lseek(fd, 0, SEEK_CUR) : -1;
	if (e && cur > e->done) {
		/* What a stream wrote from inside the C library since the
		 * last look: one write at the position it started from. */
		n = read_back(fd, local, sizeof(local), e->done);
		if (n > cur - e->done)
			n = cur - e->done;
		r = n <= 0 ? 0 : sysctl_apply(e->v, local, (size_t)n,
					      (e->flags & O_APPEND) ? 0 : e->done);
		if (r > 0 && e->done == 0 && (e->flags & O_ACCMODE) == O_RDWR)
			refresh(fd, e->v);
		if (r < 0)
			lseek(fd, e->done, SEEK_SET);	/* the kernel moved nothing */
		else
			e->done = cur;
	} else if (e && cur >= 0) {
		e->done = cur;
	}
	open_unlock();
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}

void uipc_sysctl_closing(int fd)
{
	struct sysctl_open *e;

	int saved = errno;

	uipc_sysctl_flushed(fd);	/* what a close cannot report */
	errno = saved;
	if (open_lock() < 0)
		return;
	e = entry_of(fd);
	if (e && !others_hold(fd, e->ino)) {
		e->ino = 0;
		uipc_sysctl_nopen--;
	}
	open_unlock();
}

void uipc_sysctl_adopt(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return;
	while ((de = readdir(d))) {
		char link[64], target[128];
		int fd = atoi(de->d_name);
		ssize_t n;

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strncmp(target, "/memfd:" NAME_PREFIX, 7 + strlen(NAME_PREFIX)))
			continue;
		for (int v = V_SYSCTL; v <= V_LAST; v++) {
			char name[64];

			memfd_name(name, sizeof(name), (enum view)v);
			if (!strncmp(target + 7, name, strlen(name)) &&
			    target[7 + strlen(name)] == ' ') {
				entry_add(fd, (enum view)v);
				break;
			}
		}
	}
	closedir(d);
}

/* ---------------------------------------------------------------------
 * Opening a view.
 * ------------------------------------------------------------------- */

/* A memory file holding view v, positioned at its start, or -1. */
static int view_fd(enum view v, int flags)
{
	int saved = errno;
	char name[64] = "uipc-sysvipc";
	int fd;

	if (v >= V_SYSCTL)
		memfd_name(name, sizeof(name), v);
	/* The system call: bionic has memfd_create from API level 30. */
	fd = (int)syscall(SYS_memfd_create, name,
			  (flags & O_CLOEXEC) ? 1u /* MFD_CLOEXEC */ : 0u);
	if (fd < 0)
		return -1;
	if (v == V_MSG)
		show_msg(fd);
	else if (v == V_SEM)
		show_sem(fd);
	else if (v == V_SHM)
		show_shm(fd);
	else if ((flags & O_ACCMODE) != O_WRONLY)
		show_limit(fd, v);	/* a writer's file holds what it writes */
	lseek(fd, 0, SEEK_SET);
	/* The open file's flags as asked (O_WRONLY is not a memfd's). */
	if ((flags & O_ACCMODE) != O_RDWR) {
		char path[64];
		int again;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		again = open(path, (flags & (O_ACCMODE | O_APPEND | O_CLOEXEC | O_NONBLOCK)));
		if (again >= 0) {
			close(fd);
			fd = again;
		}
	}
	errno = saved;
	return fd;
}

/* Whether the caller may write the namespace's settings. */
static int writable(void)
{
	struct uipc_nsh *h;
	int err = 0;

	h = uipc_ns_get(&err);
	return h && uipc_limits_writable(h) == 0;
}

int uipc_view_open_at(int dirfd, const char *path, int flags)
{
	enum view v = view_at(dirfd, path);
	int fd;

	if (v == V_NONE)
		return -2;
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) || (flags & O_DIRECTORY)) {
		errno = flags & O_DIRECTORY ? ENOTDIR : EEXIST;
		return -1;
	}
	if ((flags & O_ACCMODE) == O_RDONLY) {
		fd = view_fd(v, flags);
		if (fd >= 0 && v >= V_SYSCTL)
			entry_add(fd, v);	/* for reads: whole, from the start */
		return fd;
	}
	if (v < V_SYSCTL)
		return -2;	/* the kernel's answer: not writable */
	if (!writable()) {
		errno = EACCES;
		return -1;
	}
	fd = view_fd(v, flags);
	if (fd >= 0 && entry_add(fd, v) < 0) {
		close(fd);
		errno = ENFILE;	/* more open at once than we keep */
		return -1;
	}
	return fd;
}

int uipc_view_open(const char *path, int flags)
{
	return uipc_view_open_at(AT_FDCWD, path, flags);
}

int uipc_view_fopen(const char *path, const char *mode, FILE **out)
{
	enum view v = view_of(path);
	int flags, fd;

	*out = NULL;
	if (v == V_NONE || !mode)
		return 0;
	if (mode[0] == 'r')
		flags = strchr(mode, '+') ? O_RDWR : O_RDONLY;
	else if (mode[0] == 'w')
		flags = strchr(mode, '+') ? O_RDWR : O_WRONLY;
	else if (mode[0] == 'a')
		flags = (strchr(mode, '+') ? O_RDWR : O_WRONLY) | O_APPEND;
	else
		return 0;
	if (flags != O_RDONLY && v < V_SYSCTL)
		return 0;	/* the kernel's file says no */
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	fd = uipc_view_open_at(AT_FDCWD, path, flags);
	if (fd < 0)
		return 1;
	*out = fdopen(fd, mode);
	if (!*out)
		close(fd);
	return 1;
}

int uipc_view_exists(const char *path)
{
	return view_of(path) != V_NONE;
}
