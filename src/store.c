/*
 * store.c: the namespace directory, ids and keys, object files, and the
 * per-process cache of their mappings.
 *
 * Implementation notes
 *
 * What user space sees: a namespace is a directory (UIPC_NS, default
 * /dev/shm/uipc: see default_path).  In it, "ns" holds the limits, the id
 * table and the process table; each object is a file "<kind>.<id>" (msg.0, msg.32768 ...)
 * and each object with a key also has a symlink "<kind>.k.<key in hex>"
 * naming its file.  `ls -l` shows who owns what; the file's mode gives
 * read-write to each class (owner, group, other) that the object's mode
 * grants anything, so the kernel itself keeps out those with no access.
 *
 * Ids are the kernel's: seq * 32768 + index, the index cycling upwards
 * from the last one given out and seq advancing each time it wraps, so a
 * stale id does not reach a new object for a long time.
 *
 * Every object's header is at the start of its own file, so only those
 * the object lets in (the file's mode, which the kernel enforces) can
 * write it; no header lives in a file every user may write.  A kind may
 * map only its header part (map_len: shm, whose segment bytes follow and
 * are mapped by shmat).
 *
 * Creation and removal happen under the namespace lock.  An object file is
 * made under its final name and filled in through its creator's mapping,
 * its key symlink is made, and then its id is written into the id table:
 * the commit point, since nobody opens an id the table does not name.
 * Removal first marks the
 * header OBJ_REMOVED (the commit point: every process holding a mapping
 * sees it), then unlinks the names (or renames the file to keep it for
 * reuse: spares, below).  If a process dies between the steps,
 * the next holder of the namespace lock runs ns_repair(), which reconciles
 * the id table, the names and the files by scanning the directory.
 *
 * The cache: per kind, an array indexed by the id's index holds the mapping
 * last used for it.  The fast path is one load, a reference count taken and
 * a check of the header's state and id; no system call.  Mappings
 * replaced in or dropped from the cache are unmapped when their last user
 * leaves; their small descriptors are never freed, so a thread racing with
 * the replacement never touches freed memory, but one nobody holds any
 * more is used again for the next mapping (map_alloc), so a process that
 * creates and removes objects for ever does not grow.
 *
 * Locking: the namespace lock guards ids[], the names in the directory and
 * the creation of files; cache_lock (process-local) guards installing and
 * retiring cache entries.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
#include <sys/single_threaded.h>
#define UIPC_SINGLE_THREADED
#endif

const struct uipc_limit_def uipc_limit_defs[UL_NLIMITS] = {
	[UL_MSGMAX] = { "msgmax", 8192, 0, INT_MAX, 1, 0 },
	[UL_MSGMNB] = { "msgmnb", 16384, 0, INT_MAX, 1, 0 },
	[UL_MSGMNI] = { "msgmni", 32000, 0, UIPC_IPCMNI, 1, 0 },
	[UL_SEMMSL] = { "semmsl", 32000, 1, 65536, 1, 0 },
	[UL_SEMMNS] = { "semmns", 1024000000, 1, INT_MAX, 1, 0 },
	[UL_SEMOPM] = { "semopm", 500, 1, 65536, 1, 0 },
	[UL_SEMMNI] = { "semmni", 32000, 0, UIPC_IPCMNI, 1, 0 },
	/* The kernel's shmmax and shmall are unsigned longs, by default
	 * ULONG_MAX - 2^24 (SHMMAX, SHMALL): kept as a uint64_t's bits. */
	[UL_SHMMAX] = { "shmmax", (int64_t)(UINT64_MAX - (1ull << 24)), 0, 0, 1, 1 },
	[UL_SHMALL] = { "shmall", (int64_t)(UINT64_MAX - (1ull << 24)), 0, 0, 1, 1 },
	[UL_SHMMNI] = { "shmmni", 4096, 0, UIPC_IPCMNI, 1, 0 },
	[UL_PIPEMAX] = { "pipe-max-size", 1048576, 4096, 1 << 27, 1, 0 },
	[UL_SHMRMID] = { "shm_rmid_forced", 0, 0, 1, 0, 0 },
};

const struct uipc_kind_ops *uipc_kind_ops[UIPC_NKINDS] = {
	[UIPC_MSG] = &uipc_msg_ops,
	[UIPC_SEM] = &uipc_sem_ops,
	[UIPC_SHM] = &uipc_shm_ops,
};

static struct uipc_nsh g_ns;
static _Atomic int g_ns_ready;
static pthread_mutex_t g_ns_lock = PTHREAD_MUTEX_INITIALIZER;

static void spares_forget(void);

static void atfork_child(void)
{
	spares_forget();
	uipc_pid_forget();
	uipc_proc_forget();
	uipc_cred_refresh();
}

static int ns_init_file(int fd)
{
	struct uipc_ns *ns;

	/* Every page now: one first touched later on a full file system
	 * would fault (SIGBUS) in whoever touched it. */
	if (fallocate(fd, 0, 0, sizeof(struct uipc_ns)) < 0 &&
	    (errno != EOPNOTSUPP || ftruncate(fd, sizeof(struct uipc_ns)) < 0))
		return -errno;
	ns = mmap(NULL, sizeof(*ns), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ns == MAP_FAILED)
		return -errno;
	ns->layout = UIPC_LAYOUT;
	ns->size = sizeof(*ns);
	for (int k = 0; k < UIPC_NKINDS; k++)
		ns->ids[k].last_idx = -1;
	ns->magic = UIPC_NS_MAGIC;
	munmap(ns, sizeof(*ns));
	return 0;
}

static int limits_init_file(int fd)
{
	struct uipc_limits l;

	memset(&l, 0, sizeof(l));
	l.magic = UIPC_LIMITS_MAGIC;
	l.layout = UIPC_LAYOUT;
	for (int i = 0; i < UL_NLIMITS; i++)
		l.limit[i] = uipc_limit_defs[i].def;
	if (pwrite(fd, &l, sizeof(l), 0) != (ssize_t)sizeof(l))
		return errno ? -errno : -EIO;
	return 0;
}

/* openat() in a namespace directory, never through a symlink: a link
 * planted where uipc keeps a file is refused as a corrupt file is. */
static int dir_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return errno == ELOOP ? -EIO : -errno;
	return fd;
}

int uipc_ns_openat(struct uipc_nsh *h, const char *name, int flags)
{
	return dir_openat(h->dirfd, name, flags, 0);
}

/* A control file ("ns", "limits") is the namespace's only if the
 * directory's owner made it: anyone else's is a plant.  0, or -EACCES. */
/* A descriptor of its own: a dup() would share h->dirfd's offset, which
 * an earlier scan left at the end (entries made since were then never
 * seen, their files never rolled forward or removed). */
DIR *uipc_ns_opendir(struct uipc_nsh *h)
{
	int dfd = openat(h->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

	if (!d && dfd >= 0)
		close(dfd);
	return d;
}

static int control_file_ok(struct uipc_nsh *h, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != h->owner)
		return -EACCES;
	return 0;
}

/*
 * Opens one of the namespace's own files (name), creating it atomically,
 * mode `mode`, with init() if it is not there.  Only the directory's owner
 * creates it, or replaces one another user planted.  Opened read-write if
 * the mode lets everyone write or the caller may, else read-only (*rw,
 * unless NULL, says which).
 */
static int control_open(struct uipc_nsh *h, const char *name, mode_t mode,
			int (*init)(int fd), int *rw)
{
	int mine = geteuid() == h->owner;
	int write = mine || geteuid() == 0 || (mode & 0002);
	char tmp[64];
	int fd, r;

	if (rw)
		*rw = write;
	for (int tries = 0; tries < 100; tries++) {
		fd = dir_openat(h->dirfd, name, write ? O_RDWR : O_RDONLY, 0);
		if (fd >= 0 && control_file_ok(h, fd) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		if (fd >= 0 || fd == -EIO) {	/* a plant, or a symlink */
			if (!mine || unlinkat(h->dirfd, name, 0) < 0)
				return -EACCES;
			continue;
		}
		if (fd != -ENOENT)
			return fd;
		if (!mine)
			return -EACCES;	/* not set up by its owner yet */
		snprintf(tmp, sizeof(tmp), "tmp.%s.%d.%d", name, (int)getpid(),
			 tries);
		fd = dir_openat(h->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL, mode);
		if (fd < 0)
			return fd;
		fchmod(fd, mode);	/* ours, just made: past the umask */
		r = init(fd);
		if (r == 0 && linkat(h->dirfd, tmp, h->dirfd, name, 0) < 0 &&
		    errno != EEXIST)
			r = -errno;
		unlinkat(h->dirfd, tmp, 0);
		close(fd);
		if (r < 0)
			return r;
	}
	return -EIO;
}

/* The limits file, mapped (read-only but for its owner and root). */
static int limits_open(struct uipc_nsh *h)
{
	struct stat st;
	void *p;
	int fd, rw;

	fd = control_open(h, "limits", 0644, limits_init_file, &rw);
	if (fd < 0)
		return fd;
	p = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(struct uipc_limits))
		p = mmap(NULL, sizeof(struct uipc_limits),
			 PROT_READ | (rw ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -EIO;
	h->lim = p;
	h->lim_rw = rw;
	if (h->lim->magic != UIPC_LIMITS_MAGIC || h->lim->layout != UIPC_LAYOUT) {
		munmap(p, sizeof(struct uipc_limits));
		return -EIO;
	}
	return 0;
}

/*
 * The default namespace.  Its directory is in /dev/shm, or, where that is
 * missing or not writable (Android has none), in $TMPDIR (Termux sets it
 * under its prefix), then /tmp.  There, "uipc" is shared by every user if
 * root made it (root's processes make it, mode 01777); otherwise each user
 * has their own, "uipc-<uid>", mode 0700.  A name another user took first
 * is passed over ("uipc.1", "uipc-<uid>.1" and so on): the lowest one of
 * ours, else one past the highest taken, so that no number of names
 * another user takes runs us out (default_pick).  A user takes root's shared
 * namespace if the first of root's names that is root's is a sticky
 * directory, the one root's processes pick.
 */
/* Whether dir is a directory this process may make entries in, and one
 * whose entries nobody else may rename or remove: the caller's or root's,
 * sticky if others may write it (a TMPDIR in another user's directory
 * would let that user move the namespace away under us). */
static int dir_usable(const char *dir)
{
	struct stat st;
	int r;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0) ||
	    ((st.st_mode & 0022) && !(st.st_mode & S_ISVTX)))
		return 0;
	/* access() asks with the real ids; AT_EACCESS, with the effective
	 * ones, costs musl a child process before Linux 5.8 (faccessat2),
	 * and bionic refuses it (then access() is the best left). */
	if (geteuid() == getuid() && getegid() == getgid())
		r = access(dir, W_OK | X_OK);
	else if ((r = faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS)) < 0 &&
		 errno == EINVAL)
		r = access(dir, W_OK | X_OK);
	return r == 0;
}

/* Where default namespaces are made, into buf (size n).  TMPDIR counts
 * only for a program that is not set-uid or otherwise secure-exec'd (its
 * caller chose the environment). */
static void default_base(char *buf, size_t n)
{
	const char *tmp = getauxval(AT_SECURE) ? NULL : getenv("TMPDIR");
	const char *dir = "/tmp";

	if (dir_usable(UIPC_DEFAULT_BASE))
		dir = UIPC_DEFAULT_BASE;
	else if (tmp && tmp[0] == '/' && strlen(tmp) < n - 32 && dir_usable(tmp))
		dir = tmp;
	else if (!dir_usable(dir))
		dir = UIPC_DEFAULT_BASE;	/* let the open say why not */
	snprintf(buf, n, "%s", dir);
}

/* Candidate i of a name, in buf. */
static void default_name(char *buf, size_t n, const char *base, uid_t uid,
			 int i)
{
	int len = uid == 0 ? snprintf(buf, n, "%s/uipc", base) :
			     snprintf(buf, n, "%s/uipc-%u", base, (unsigned)uid);

	if (i && len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, ".%d", i);
}

/* Which of uid's names d is (0 for "uipc-<uid>", N for "uipc-<uid>.N";
 * root's are "uipc", "uipc.N"), or -1. */
static long name_index(const char *d, uid_t uid)
{
	char prefix[32];
	size_t len = (size_t)(uid == 0 ? snprintf(prefix, sizeof(prefix), "uipc") :
			      snprintf(prefix, sizeof(prefix), "uipc-%u", (unsigned)uid));
	long v = 0;

	if (strncmp(d, prefix, len))
		return -1;
	d += len;
	if (!*d)
		return 0;
	if (*d++ != '.' || *d < '1' || *d > '9')
		return -1;
	for (; *d; d++) {
		if (*d < '0' || *d > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*d - '0');
	}
	return v;
}

/* Over base's entries: the lowest index of uid's names that is a
 * directory owned by owner (-1 if none), the highest index taken by
 * anything (-1 if none), and whether that lowest directory is sticky.
 * -1 if base cannot be read. */
static int names_scan(const char *base, uid_t uid, uid_t owner, long *lowest,
		      long *highest, int *sticky)
{
	DIR *d = opendir(base);
	struct dirent *e;
	struct stat st;

	*lowest = *highest = -1;
	*sticky = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		long i = name_index(e->d_name, uid);

		if (i < 0)
			continue;
		if (i > *highest)
			*highest = i;
		if ((*lowest < 0 || i < *lowest) &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode) && st.st_uid == owner) {
			*lowest = i;
			*sticky = (st.st_mode & S_ISVTX) != 0;
		}
	}
	closedir(d);
	return 0;
}

/* uid's namespace: the lowest of its names that is its directory, else
 * one past the highest taken (the first name when none is), so that names
 * others took, however many, are passed over. */
static void default_pick(char *buf, size_t n, const char *base, uid_t uid)
{
	long lowest, highest;
	int sticky;

	if (names_scan(base, uid, uid, &lowest, &highest, &sticky) < 0)
		lowest = 0;	/* unreadable: the first name */
	else if (lowest < 0)
		lowest = highest + 1;
	default_name(buf, n, base, uid, (int)lowest);
}

/* Root's shared namespace, into buf, if root has made one: 1, else 0. */
static int default_shared(char *buf, size_t n, const char *base)
{
	long lowest, highest;
	int sticky;

	if (names_scan(base, 0, 0, &lowest, &highest, &sticky) < 0 ||
	    lowest < 0 || !sticky)
		return 0;
	default_name(buf, n, base, 0, (int)lowest);
	return 1;
}

static int default_path(char *buf, size_t n)
{
	uid_t me = geteuid();
	char base[4096];

	default_base(base, sizeof(base));
	if (me == 0 || !default_shared(buf, n, base))
		default_pick(buf, n, base, me);
	return 0;
}

int uipc_ns_path(char *buf, size_t n)
{
	const char *path = getenv("UIPC_NS");

	if (!path || !*path)
		return default_path(buf, n);
	if (strlen(path) >= n)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	return 0;
}

/*
 * Opens the namespace directory, made if missing: mode 01777 (shared like
 * /tmp: anyone may create, only owners may remove) when root makes it,
 * 0700 otherwise, since only a directory of the caller's or root's is
 * trusted (another user would own everything in it).  One writable by
 * others must be sticky.  Never through a symlink.
 */
static int ns_dir_open(struct uipc_nsh *h)
{
	mode_t mode = geteuid() == 0 ? 01777 : 0700;
	int made = mkdir(h->path, mode) == 0;
	struct stat st;
	int fd;

	fd = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(fd, &st) < 0)
		goto out_refuse;
	if (made && st.st_uid == geteuid() && fchmod(fd, mode) == 0)
		st.st_mode = (st.st_mode & ~07777u) | mode;
	if ((st.st_uid != geteuid() && st.st_uid != 0) ||
	    ((st.st_mode & 0022) && !(st.st_mode & S_ISVTX)))
		goto out_refuse;
	h->owner = st.st_uid;
	return fd;
out_refuse:
	close(fd);
	return -EACCES;
}

static int ns_open(struct uipc_nsh *h)
{
	struct stat st;
	int r;

	for (int tries = 0;; tries++) {
		const char *env = getenv("UIPC_NS");

		r = uipc_ns_path(h->path, sizeof(h->path));
		if (r < 0)
			return r;
		r = ns_dir_open(h);
		/* A default name another user took between our look and our
		 * mkdir: the next look passes it over. */
		if (r >= 0 || (env && *env) || tries == 3 ||
		    (r != -EACCES && r != -ENOTDIR))
			break;
	}
	if (r < 0)
		return r;
	h->dirfd = r;
	{
		/* The directory as /proc/self/maps names what is in it. */
		char proc[64], real[4096];
		ssize_t n;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", h->dirfd);
		n = readlink(proc, real, sizeof(real) - 1);
		if (n > 0) {
			real[n] = 0;
			uipc_guard_ns(real);
		}
	}
	r = control_open(h, "ns", 0666, ns_init_file, NULL);
	if (r < 0)
		goto out_dir;
	h->nsfd = r;
	r = -EIO;
	if (fstat(h->nsfd, &st) < 0 || st.st_size < (off_t)sizeof(struct uipc_ns))
		goto out_file;
	h->ns = mmap(NULL, sizeof(struct uipc_ns), PROT_READ | PROT_WRITE,
		     MAP_SHARED, h->nsfd, 0);
	if (h->ns == MAP_FAILED) {
		r = -errno;
		goto out_file;
	}
	if (h->ns->magic != UIPC_NS_MAGIC || h->ns->layout != UIPC_LAYOUT ||
	    h->ns->size != sizeof(struct uipc_ns)) {
		munmap(h->ns, sizeof(struct uipc_ns));
		r = -EIO;
		goto out_file;
	}
	r = limits_open(h);
	if (r < 0) {
		munmap(h->ns, sizeof(struct uipc_ns));
		goto out_file;
	}
	return 0;
out_file:
	close(h->nsfd);
out_dir:
	close(h->dirfd);
	return r;
}

/*
 * A program that closes every descriptor it does not know (a daemon
 * detaching, faked-sysv among them) closes the namespace's two as well:
 * the directory's, which every later call needs (a number used again for
 * a file of its own would be taken for the directory), and the namespace
 * file's, whose record lock says this process lives (released by the
 * close of any descriptor of that file: others would take it for dead
 * and do its exit work).  The shim's close, close_range and closefrom ask
 * here and leave them open (the close is not made; the number stays
 * taken), and its dup2 and dup3 move one that is to become another file.
 */
int uipc_ns_fd_keep(int fd)
{
	if (fd < 0 || !atomic_load_explicit(&g_ns_ready, memory_order_acquire))
		return 0;
	return fd == g_ns.dirfd || fd == g_ns.nsfd;
}

int uipc_ns_fds(int fds[2])
{
	if (!atomic_load_explicit(&g_ns_ready, memory_order_acquire))
		return 0;
	fds[0] = g_ns.dirfd;
	fds[1] = g_ns.nsfd;
	return 2;
}

int uipc_ns_fd_move(int fd)
{
	int nfd;

	if (!uipc_ns_fd_keep(fd))
		return 0;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
	if (nfd < 0)
		return -errno;
	if (fd == g_ns.dirfd) {
		g_ns.dirfd = nfd;
		return 0;
	}
	/* The caller's dup2 closes the old number, and with it our record
	 * locks on the file: the caller takes them again after it (1). */
	g_ns.nsfd = nfd;
	return 1;
}

struct uipc_nsh *uipc_ns_get(int *err)
{
	sigset_t mask;
	int r = 0;

	if (likely(atomic_load_explicit(&g_ns_ready, memory_order_acquire)))
		return &g_ns;
	uipc_mutex_lock_quiet(&g_ns_lock, &mask);
	if (!atomic_load(&g_ns_ready)) {
		r = ns_open(&g_ns);
		if (r == 0) {
			uipc_cred_refresh();
			pthread_atfork(NULL, NULL, atfork_child);
			atomic_store_explicit(&g_ns_ready, 1, memory_order_release);
		}
	}
	uipc_mutex_unlock_quiet(&g_ns_lock, &mask);
	if (r < 0) {
		*err = r;
		return NULL;
	}
	return &g_ns;
}

int64_t uipc_limit(struct uipc_nsh *h, enum uipc_limit l)
{
	return h->lim->limit[l];
}

int uipc_limits_writable(struct uipc_nsh *h)
{
	uid_t me = uipc_euid();

	/* The mapping may be a more privileged past's (a process that
	 * dropped root, a child of root's): the caller's credentials now. */
	return h->lim_rw && (me == h->owner || me == 0) ? 0 : -EPERM;
}

int uipc_limit_set(struct uipc_nsh *h, enum uipc_limit l, int64_t v)
{
	if (uipc_limits_writable(h) < 0)
		return -EPERM;
	h->lim->limit[l] = v;
	return 0;
}

int uipc_next_id(struct uipc_nsh *h, enum uipc_kind k)
{
	uint32_t v = h->ns->ids[k].next_id1;

	return v > 0 && v - 1 <= INT_MAX ? (int)(v - 1) : -1;
}

int uipc_next_id_set(struct uipc_nsh *h, enum uipc_kind k, int id)
{
	if (uipc_limits_writable(h) < 0)
		return -EPERM;
	if (uipc_ns_lock(h) < 0)
		return -EIO;
	h->ns->ids[k].next_id1 = id < 0 ? 0 : (uint32_t)id + 1;
	uipc_ns_unlock(h);
	return 0;
}

/* ------------------------------------------------------------------ */

/* Sums of units (semmns, shmall) kept in the id table, which anyone may
 * write: saturating, never overflowing, never below 0. */
static void units_add(int64_t *sum, int64_t d)
{
	int64_t v;

	if (d == INT64_MIN || __builtin_add_overflow(*sum, d, &v))
		v = d > 0 ? INT64_MAX : 0;
	*sum = v < 0 ? 0 : v;
}

static void units_sub(int64_t *sum, int64_t d)
{
	if (d < 0)
		d = 0;
	*sum = *sum > d ? *sum - d : 0;
}

/* The count of objects of a kind, kept in the id table: bounded. */
static void count_add(int32_t *c, int d)
{
	if (*c < 0)
		*c = 0;
	if ((d > 0 && *c < INT32_MAX) || (d < 0 && *c > 0))
		*c += d;
}

/* A limit on a sum of units; shmall is an unsigned long, whose values
 * past INT64_MAX are as unlimited. */
static int64_t units_cap(struct uipc_nsh *h, enum uipc_limit l)
{
	int64_t v = uipc_limit(h, l);

	return uipc_limit_defs[l].uns && v < 0 ? INT64_MAX : v;
}

/* Whether used + more passes limit, used read from the id table. */
static int units_over(int64_t used, int64_t more, int64_t limit)
{
	if (used < 0)
		used = 0;
	return more > limit || used > limit - more;
}

/* The id a slot of the id table names (it holds id + 1), bounded: the
 * table is anyone's.  -1 for none. */
static int slot_id(uint32_t s)
{
	return s == 0 || s - 1 > (uint32_t)INT_MAX ? -1 : (int)(s - 1);
}

static void obj_name(char *buf, size_t n, int kind, int id)
{
	snprintf(buf, n, "%s.%d", uipc_kind_name[kind], id);
}

static void key_name(char *buf, size_t n, int kind, key_t key)
{
	snprintf(buf, n, "%s.k.%08x", uipc_kind_name[kind], (unsigned)key);
}

/* Reads object id's common header without mapping it. */
static int read_hdr(struct uipc_nsh *h, int kind, int id, struct uipc_obj *o)
{
	char name[64];
	ssize_t n;
	int fd;

	obj_name(name, sizeof(name), kind, id);
	fd = dir_openat(h->dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	n = pread(fd, o, sizeof(*o), 0);
	close(fd);
	if (n != (ssize_t)sizeof(*o) || o->magic != UIPC_OBJ_MAGIC ||
	    o->layout != UIPC_LAYOUT || o->kind != kind || o->id != id)
		return -EIO;
	return 0;
}

static int parse_obj_name(const char *name, int *kind, int *id)
{
	for (int k = 0; k < UIPC_NKINDS; k++) {
		size_t l = strlen(uipc_kind_name[k]);
		char *end;
		long v;

		if (strncmp(name, uipc_kind_name[k], l) || name[l] != '.')
			continue;
		if (name[l + 1] < '0' || name[l + 1] > '9')
			return 0;
		v = strtol(name + l + 1, &end, 10);
		if (*end || v < 0 || v > INT_MAX)
			return 0;
		*kind = k;
		*id = (int)v;
		return 1;
	}
	return 0;
}

/*
 * Whether an object file became whole: newobj makes it mode 0 and gives it
 * its mode once the object is built (the kernel keeps the mode), so a file
 * still of mode 0 is a crash's and is never rolled forward.
 */
static int whole(const struct stat *st)
{
	return (st->st_mode & 07777) != 0;
}

/* Whether a key link naming target (in the directory) is a crash's
 * leftover: its object file is gone or never became whole.  The one rule
 * find_key and ns_repair judge links by: a slot is anyone's to zero. */
static int link_stale(struct uipc_nsh *h, const char *target)
{
	struct stat st;

	if (fstatat(h->dirfd, target, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	return !whole(&st);
}

/*
 * Whether ns_repair (or newobj) may remove an object file that the id
 * table and the header do not call live.  Anyone can make a lock look
 * like a dead owner's and so have a victim's process run the repair, and
 * a header is written by whoever the object lets in, whatever its mode
 * grants them: a kind that tells its end by a fact the kernel keeps
 * (keep_whole: shm's sticky bit) loses a whole file only by that fact,
 * never by the repair; one that never became whole goes.
 */
static int may_unlink(int kind, const struct stat *st)
{
	return !uipc_kind_ops[kind]->keep_whole || !whole(st);
}

/*
 * A whole object of a keep_whole kind that its header calls not live: a
 * removal whose maker died before it unlinked the file, or a header a
 * writer of the file forged.  It lives again, as if that IPC_RMID had not
 * been made (its caller never saw it return); a segment marked for
 * destruction goes again with its last detach.  Namespace lock held.  0 if
 * its header names it, else -EIO (it stays unlisted, its file kept).
 */
static int revive(struct uipc_nsh *h, int kind, int id)
{
	uint32_t live = OBJ_LIVE;
	struct uipc_obj o;
	char name[64];
	int fd, r;

	obj_name(name, sizeof(name), kind, id);
	fd = dir_openat(h->dirfd, name, O_RDWR, 0);
	if (fd < 0)
		return -EIO;
	r = pread(fd, &o, sizeof(o), 0) == (ssize_t)sizeof(o) &&
	    o.magic == UIPC_OBJ_MAGIC && o.id == id &&
	    pwrite(fd, &live, sizeof(live), offsetof(struct uipc_obj, state)) ==
	    (ssize_t)sizeof(live) ? 0 : -EIO;
	close(fd);
	return r;
}

/*
 * Called with the namespace lock after its last holder died: make the id
 * table, the object files and the key links agree again.
 */
static void ns_repair(void *arg)
{
	struct uipc_nsh *h = arg;
	struct uipc_ns *ns = h->ns;
	char name[64], target[64];
	struct dirent *de;
	struct uipc_obj o;
	struct stat st, st2;
	int kind, id;
	DIR *d;

	/* The table may name a file IPC_RMID unlinked before a crash, or an
	 * object it marked removed and died before unlinking: finish it. */
	for (kind = 0; kind < UIPC_NKINDS; kind++)
		for (int i = 0; i < UIPC_IPCMNI; i++) {
			uint32_t s = ns->ids[kind].slot[i];

			if (!s)
				continue;
			obj_name(name, sizeof(name), kind, slot_id(s));
			if (fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				ns->ids[kind].slot[i] = 0;
			} else if (read_hdr(h, kind, slot_id(s), &o) == 0 &&
				   o.state == OBJ_REMOVED) {
				if (may_unlink(kind, &st)) {
					unlinkat(h->dirfd, name, 0);
					ns->ids[kind].slot[i] = 0;
				} else {
					revive(h, kind, slot_id(s));
				}
			}
		}

	d = uipc_ns_opendir(h);
	if (!d)
		goto recount;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "tmp.", 4)) {
			/* Only ever made under the lock we now hold. */
			unlinkat(h->dirfd, de->d_name, 0);
		} else if (parse_obj_name(de->d_name, &kind, &id)) {
			uint32_t *slot = &ns->ids[kind].slot[id % UIPC_IPCMNI];

			if (*slot == (uint32_t)id + 1)
				continue;
			if (fstatat(h->dirfd, de->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (!whole(&st)) {	/* never made whole: a crash's */
				unlinkat(h->dirfd, de->d_name, 0);
				continue;
			}
			/* Whole, but not what its index names: the table is
			 * anyone's, so what it says here is a hint. */
			if (slot_id(*slot) >= 0) {
				obj_name(name, sizeof(name), kind, slot_id(*slot));
				if (fstatat(h->dirfd, name, &st2,
					    AT_SYMLINK_NOFOLLOW) == 0)
					continue;	/* two claim it: judge neither */
			}
			if (read_hdr(h, kind, id, &o) == 0 && o.state == OBJ_LIVE) {
				*slot = (uint32_t)id + 1;	/* roll forward */
			} else if (!may_unlink(kind, &st)) {
				/* A header we cannot trust to say otherwise:
				 * it lives. */
				if (revive(h, kind, id) == 0)
					*slot = (uint32_t)id + 1;
			} else {
				unlinkat(h->dirfd, de->d_name, 0);
			}
		}
	}
	/* Key links whose object is gone, and keys that lost their link. */
	rewinddir(d);
	while ((de = readdir(d))) {
		ssize_t n;

		if (!strstr(de->d_name, ".k."))
			continue;
		n = readlinkat(h->dirfd, de->d_name, target, sizeof(target) - 1);
		if (n <= 0) {
			unlinkat(h->dirfd, de->d_name, 0);
			continue;
		}
		target[n] = 0;
		if (!parse_obj_name(target, &kind, &id)) {
			unlinkat(h->dirfd, de->d_name, 0);
			continue;
		}
		/* Its object is gone only if its file is (or never became
		 * whole), as find_key judges: a slot is anyone's to zero. */
		if (ns->ids[kind].slot[id % UIPC_IPCMNI] != (uint32_t)id + 1) {
			if (link_stale(h, target))
				unlinkat(h->dirfd, de->d_name, 0);
			continue;
		}
		/* A key made private (shm's IPC_RMID) whose link a crash left.
		 * The header is only its object's users' to write (the file's
		 * mode keeps everyone else out). */
		if (read_hdr(h, kind, id, &o) == 0) {
			key_name(name, sizeof(name), kind, o.key);
			if (o.key == IPC_PRIVATE || strcmp(name, de->d_name))
				unlinkat(h->dirfd, de->d_name, 0);
		}
	}
	closedir(d);
	for (kind = 0; kind < UIPC_NKINDS; kind++)
		for (int i = 0; i < UIPC_IPCMNI; i++) {
			uint32_t s = ns->ids[kind].slot[i];

			if (!s)
				continue;
			obj_name(target, sizeof(target), kind, slot_id(s));
			if (read_hdr(h, kind, slot_id(s), &o) < 0 ||
			    o.key == IPC_PRIVATE)
				continue;
			key_name(name, sizeof(name), kind, o.key);
			symlinkat(target, h->dirfd, name);
		}
recount:
	for (kind = 0; kind < UIPC_NKINDS; kind++) {
		int64_t units = 0;
		int n = 0;

		for (int i = 0; i < UIPC_IPCMNI; i++) {
			uint32_t s = ns->ids[kind].slot[i];

			if (!s)
				continue;
			n++;
			if (read_hdr(h, kind, slot_id(s), &o) == 0)
				units_add(&units, o.units);
		}
		ns->ids[kind].in_use = n;
		ns->ids[kind].units = units;
	}
}

int uipc_ns_lock(struct uipc_nsh *h)
{
	return uipc_lock_acquire(&h->ns->lock, ns_repair, h);
}

void uipc_ns_unlock(struct uipc_nsh *h)
{
	uipc_lock_release(&h->ns->lock);
}

/* ------------------------------------------------------------------ */

static _Atomic(struct uipc_map *) *g_cache[UIPC_NKINDS];
static struct uipc_map *g_retired;	/* descriptors out of the cache */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Keeps a descriptor that left the cache, for map_alloc.  Cache lock
 * held. */
static void keep_retired(struct uipc_map *m)
{
	if (m->listed)
		return;
	m->listed = 1;
	m->retired_next = g_retired;
	g_retired = m;
}

/*
 * A descriptor for a new map, with one reference (the caller's), `dead`
 * until map_fill publishes it: a retired one that nobody holds any more
 * (its mapping gone, its count 0), else a new one.  Descriptors are never
 * freed, since a thread that loaded one from the cache before it was
 * retired may still look at it; it then finds another id, or `dead`, or
 * the mapping the descriptor holds now (map_fill writes every field
 * before it clears `dead`), and a reference it takes and drops in passing
 * leaves the count as it was.  The caller's reference keeps such a
 * passing drop from unmapping the new mapping while it is filled in.
 */
static struct uipc_map *map_alloc(void)
{
	struct uipc_map **pp, *m;

	pthread_mutex_lock(&cache_lock);
	for (pp = &g_retired; (m = *pp); pp = &m->retired_next)
		if (atomic_load(&m->unmapped) && atomic_load(&m->refs) == 0) {
			*pp = m->retired_next;
			m->retired_next = NULL;
			m->listed = 0;
			break;
		}
	pthread_mutex_unlock(&cache_lock);
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return NULL;
		atomic_store(&m->dead, 1);
	}
	atomic_fetch_add(&m->refs, 1);
	return m;
}

static void map_fill(struct uipc_map *m, int kind, int id, void *base,
		     size_t len, const uint64_t *priv)
{
	m->kind = kind;
	m->base = base;
	m->len = len;
	memcpy(m->priv, priv, sizeof(m->priv));
	atomic_store(&m->perm_cache, 0);
	atomic_store(&m->aux, 0);
	atomic_store(&m->unmapped, 0);
	m->id = id;
	atomic_store_explicit(&m->dead, 0, memory_order_release);
}

static void map_unmap(struct uipc_map *m)
{
	if (!atomic_exchange(&m->unmapped, 1))
		munmap(m->base, m->len);
}

/*
 * The count of a descriptor's users.  While the process has one thread,
 * nothing but a signal handler on the same thread can come between, and a
 * handler's get and put balance before it returns: the count moves without
 * a locked instruction, the uncontended semop's largest cost.  (A handler
 * that retires the descriptor sees our count once it is stored, and we
 * look at `dead` only after storing it.)
 */
static inline long refs_add(struct uipc_map *m, long d)
{
#ifdef UIPC_SINGLE_THREADED
	if (__libc_single_threaded) {
		long v = atomic_load_explicit(&m->refs, memory_order_relaxed);

		atomic_store_explicit(&m->refs, v + d, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		return v;
	}
#endif
	return atomic_fetch_add(&m->refs, d);
}

void uipc_map_hold(struct uipc_map *m)
{
	refs_add(m, 1);
}

void uipc_map_put(struct uipc_map *m)
{
	if (refs_add(m, -1) == 1 && atomic_load(&m->dead))
		map_unmap(m);
}

/* Drops m from the cache (if it is still there). */
static void map_drop(struct uipc_map *m)
{
	_Atomic(struct uipc_map *) *slot;
	struct uipc_map *cur;

	pthread_mutex_lock(&cache_lock);
	slot = &g_cache[m->kind][m->id % UIPC_IPCMNI];
	cur = m;
	atomic_compare_exchange_strong(slot, &cur, NULL);
	keep_retired(m);
	pthread_mutex_unlock(&cache_lock);
	atomic_store(&m->dead, 1);
}

/* Drops m from the cache; unmapped once unused. */
static void map_retire(struct uipc_map *m)
{
	map_drop(m);
	if (atomic_load(&m->refs) == 0)
		map_unmap(m);
}

/* Drops m from the cache and hands its mapping to the caller, who holds
 * one reference, if nobody else is looking at it: NULL if someone is (or
 * it was unmapped already); m is retired all the same. */
static void *map_steal(struct uipc_map *m)
{
	map_drop(m);
	/* A thread that takes a reference now finds m dead and leaves the
	 * mapping alone; one that took it before is counted here (refs are
	 * taken before `dead` is read, and `dead` is set before refs are):
	 * with any but the caller's, the mapping stays m's. */
	if (atomic_load(&m->refs) != 1)
		return NULL;
	return atomic_exchange(&m->unmapped, 1) ? NULL : m->base;
}

static int map_table(int kind)
{
	_Atomic(struct uipc_map *) *t;

	if (g_cache[kind])
		return 0;
	t = calloc(UIPC_IPCMNI, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_lock(&cache_lock);
	if (!g_cache[kind]) {
		g_cache[kind] = t;
		t = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	free(t);
	return 0;
}

/* Puts m in the cache, in place of what was there; the map table of its
 * kind exists. */
static void cache_install(struct uipc_map *m)
{
	_Atomic(struct uipc_map *) *slot;
	struct uipc_map *old;

	pthread_mutex_lock(&cache_lock);
	slot = &g_cache[m->kind][m->id % UIPC_IPCMNI];
	old = atomic_exchange(slot, m);
	if (old)
		keep_retired(old);
	pthread_mutex_unlock(&cache_lock);
	if (old) {
		atomic_store(&old->dead, 1);
		if (atomic_load(&old->refs) == 0)
			map_unmap(old);
	}
}

/* Caches the mapping of object `id`'s header its creator made (unmapping
 * it if that fails). */
static void keep_mapping(int kind, int id, void *base, size_t len)
{
	uint64_t priv[UIPC_MAP_PRIV / 8] = { 0 };
	struct uipc_map *m;

	/* Checked as any other mapping is: the file may be written already. */
	m = uipc_kind_ops[kind]->validate(base, len, priv) == 0 &&
	    map_table(kind) == 0 ? map_alloc() : NULL;
	if (!m) {
		munmap(base, len);
		return;
	}
	map_fill(m, kind, id, base, len, priv);
	cache_install(m);
	uipc_map_put(m);
}

/* A map of object `id` for the header at base, len bytes mapped, with
 * one reference, once the header checks; -EIO if it does not, -ENOMEM. */
static int map_new(int kind, int id, void *base, size_t len,
		   struct uipc_map **out)
{
	const struct uipc_kind_ops *ops = uipc_kind_ops[kind];
	uint64_t priv[UIPC_MAP_PRIV / 8] = { 0 };
	struct uipc_obj *o = base;
	struct uipc_map *m;

	if (o->magic != UIPC_OBJ_MAGIC || o->layout != UIPC_LAYOUT ||
	    o->kind != kind || o->hdr_size != ops->hdr_size || o->id != id ||
	    ops->validate(base, len, priv) < 0)
		/* Another id in a file opened by this one's name: the file
		 * became a new object's since (a spare), if the table no
		 * longer names this one. */
		return o->id != id && g_ns.ns &&
		       __atomic_load_n(&g_ns.ns->ids[kind].slot[id % UIPC_IPCMNI],
				       __ATOMIC_ACQUIRE) != (uint32_t)id + 1 ?
		       -EINVAL : -EIO;
	m = map_alloc();
	if (!m)
		return -ENOMEM;
	map_fill(m, kind, id, base, len, priv);
	*out = m;
	return 0;
}

/* Maps object file `id` (its first map_len bytes, or all of it) and
 * checks its header.  -ENOENT if absent. */
static int map_open(struct uipc_nsh *h, int kind, int id, struct uipc_map **out)
{
	const struct uipc_kind_ops *ops = uipc_kind_ops[kind];
	struct uipc_map *m;
	struct stat st;
	char name[64];
	void *base;
	size_t len;
	int fd, r;

	obj_name(name, sizeof(name), kind, id);
	fd = dir_openat(h->dirfd, name, O_RDWR, 0);
	if (fd < 0)
		return fd;
	r = -EIO;
	len = ops->map_len;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)ops->hdr_size ||
	    st.st_size < (off_t)len) {
		close(fd);
		return r;
	}
	if (!len)
		len = (size_t)st.st_size;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return -ENOMEM;
	r = map_new(kind, id, base, len, &m);
	if (r < 0) {
		munmap(base, len);
		return r;
	}
	*out = m;
	return 0;
}

/* The namespace, once the cache of `kind` exists and id's slot names id:
 * only such an id is live (a file may be half made).  NULL with *err. */
static struct uipc_nsh *live_slot(int kind, int id, int *err)
{
	struct uipc_nsh *h = uipc_ns_get(err);

	if (!h)
		return NULL;
	*err = map_table(kind);
	if (*err < 0)
		return NULL;
	if (__atomic_load_n(&h->ns->ids[kind].slot[id % UIPC_IPCMNI],
			    __ATOMIC_ACQUIRE) != (uint32_t)id + 1) {
		*err = -EINVAL;
		return NULL;
	}
	return h;
}

/* Caches the new map m (one reference) and hands it out if its object is
 * live; otherwise unmaps and retires m and answers -EINVAL. */
static int install_live(struct uipc_map *m, struct uipc_map **out)
{
	if (atomic_load(&map_obj(m)->state) != OBJ_LIVE) {
		atomic_store(&m->dead, 1);
		uipc_map_put(m);
		pthread_mutex_lock(&cache_lock);
		keep_retired(m);
		pthread_mutex_unlock(&cache_lock);
		return -EINVAL;
	}
	cache_install(m);
	*out = m;
	return 0;
}

/* Opens `id` and installs it in the cache, replacing what was there. */
static int obj_open(int kind, int id, struct uipc_map **out)
{
	struct uipc_map *m = NULL;
	struct uipc_nsh *h;
	int r = 0;

	h = live_slot(kind, id, &r);
	if (!h)
		return r;
	uipc_cred_refresh();
	r = map_open(h, kind, id, &m);
	if (r == -ENOENT)
		return -EINVAL;
	if (r < 0)
		return r;
	return install_live(m, out);
}

/* uipc_obj_get from this process's cache only: 0 with a reference, 1 if
 * the cache has no live map of it (none opened), -EINVAL for a stale one,
 * or the answer of opening the file again for a clobbered header. */
static inline int obj_cached(int kind, int id, struct uipc_map **out)
{
	_Atomic(struct uipc_map *) *t = g_cache[kind];
	struct uipc_map *m;

	if (likely(t != NULL)) {
		m = atomic_load_explicit(&t[id % UIPC_IPCMNI], memory_order_acquire);
		if (m && m->id == id) {
			refs_add(m, 1);
			if (likely(!atomic_load(&m->dead) && m->id == id)) {
				struct uipc_obj *o = map_obj(m);

				/* The id table must still name it: a file
				 * can be unlinked under a mapping without
				 * its header saying so (its owner may do
				 * that), and ids can come round again.
				 * The header's id is its writers' to
				 * change: checked too. */
				if (likely(atomic_load_explicit(&o->state,
						memory_order_acquire) == OBJ_LIVE &&
					   o->magic == UIPC_OBJ_MAGIC &&
					   o->id == id &&
					   __atomic_load_n(&g_ns.ns->ids[kind].slot[id % UIPC_IPCMNI],
							   __ATOMIC_RELAXED) == (uint32_t)id + 1)) {
					*out = m;
					return 0;
				}
				int clobbered = o->magic != UIPC_OBJ_MAGIC;

				uipc_map_put(m);
				map_retire(m);
				/* A clobbered header: look at the file afresh. */
				return clobbered ? obj_open(kind, id, out) : -EINVAL;
			}
			uipc_map_put(m);
		}
	}
	return 1;
}

int uipc_obj_get(int kind, int id, struct uipc_map **out)
{
	int r;

	if (unlikely(id < 0))
		return -EINVAL;
	r = obj_cached(kind, id, out);
	return likely(r <= 0) ? r : obj_open(kind, id, out);
}

int uipc_obj_unnamed(struct uipc_map *m)
{
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	int err = 0;

	h = uipc_ns_get(&err);
	if (!h)
		return 0;
	obj_name(name, sizeof(name), m->kind, m->id);
	return fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	       errno == ENOENT;
}

int uipc_obj_peek(int kind, int id, struct uipc_map **out)
{
	int r;

	if (id < 0)
		return -EINVAL;
	r = obj_cached(kind, id, out);
	return r > 0 ? -ENOENT : r;
}

int uipc_map_refresh(struct uipc_map **mp)
{
	struct uipc_map *old = *mp, *m;
	int r;

	r = obj_open(old->kind, old->id, &m);
	uipc_map_put(old);
	if (r < 0)
		return r;
	*mp = m;
	return 0;
}

int uipc_map_widen(struct uipc_map **mp, size_t len)
{
	struct uipc_map *old = *mp, *m;
	void *base;

	if (len <= old->len)
		return -EINVAL;
	m = map_alloc();
	if (!m)
		return -ENOMEM;
	/* old_size 0: a second mapping of the same pages (a shared one's),
	 * whether or not the file still has a name. */
	base = mremap(old->base, 0, len, MREMAP_MAYMOVE);
	if (base != MAP_FAILED &&
	    uipc_probe_read((char *)base + len - 1, 1) < 0) {
		/* The file is shorter than the header says: a page past its
		 * end would fault, and a removed file cannot be mended. */
		munmap(base, len);
		base = MAP_FAILED;
	}
	if (base == MAP_FAILED) {
		atomic_store(&m->unmapped, 1);
		atomic_fetch_sub(&m->refs, 1);
		pthread_mutex_lock(&cache_lock);
		keep_retired(m);
		pthread_mutex_unlock(&cache_lock);
		return -EIO;
	}
	map_fill(m, old->kind, old->id, base, len, old->priv);
	atomic_store(&m->dead, 1);	/* in no cache: unmapped at its last put */
	pthread_mutex_lock(&cache_lock);
	keep_retired(m);
	pthread_mutex_unlock(&cache_lock);
	uipc_map_put(old);
	*mp = m;
	return 0;
}

int uipc_obj_lock(struct uipc_map *m)
{
	struct uipc_obj *o = map_obj(m);
	int r = uipc_lock_acquire(&o->lock, uipc_kind_ops[m->kind]->repair, o);

	if (r == 0 && unlikely(o->id != m->id)) {
		uipc_lock_release(&o->lock);
		r = -EINVAL;	/* a header rewritten to name another */
	}
	return r;
}

void uipc_obj_unlock(struct uipc_map *m)
{
	uipc_lock_release(&map_obj(m)->lock);
}

/* ------------------------------------------------------------------ */

/* The file mode that lets in exactly the classes the object lets in. */
static mode_t file_mode(uint32_t mode)
{
	mode_t m = ((mode & 0060) ? 0060 : 0) | ((mode & 0006) ? 0006 : 0);

	/* S_IXUSR: the file has been open to others (see spares). */
	return 0600 | m | (m ? S_IXUSR : 0);
}

/* ---------------------------------------------------------------------
 * Spare files.
 *
 * Making a file and unlinking it are most of a small segment's life, so a
 * process keeps the files of the segments it removed (up to SPARE_MAX, of
 * at most SPARE_MAX_SIZE bytes) and makes its next segment of the same
 * size out of one, with a new header and its bytes zeroed.  A kept file
 * has a name of its own (below) for as long as it is kept, also while it
 * is a live segment's (lent): shmget links it under the segment's name and
 * IPC_RMID unlinks that name, half the cost of renaming it there and back
 * (a 4 KiB segment's life 15% faster).  A file under two names (st_nlink
 * 2) is kept only by the process whose record lent it (its inode), and a
 * file with a second name no process lent it is not kept at all, so no
 * file is ever two processes' spare.
 * Nothing of the old segment may reach anyone the new one does not let
 * in, and a descriptor or mapping of a file outlives any change of its
 * mode, so only a file that was never open to anyone but its owner (and
 * root) is kept: mode 0600, owned by the remover's euid and egid, never
 * given group or other access (file_mode and uipc_set_perm mark a file
 * that was with S_IXUSR, which only its owner or root could clear) nor
 * another owner.  The new segment must be such a file too (mode 0600).
 *
 * A spare's name, "<kind>.spare.<slot>.<gen>.<i>", names the registration
 * (proc.c) of the process that keeps it, so that when it ends without
 * removing them (killed, exec, _exit) its exit work, done by whoever
 * finds it dead, removes them; `uipc reap` removes those another user's
 * process could not.  The names match no object (parse_obj_name) and no
 * key link, so ns_repair and every lookup pass them by.  The list is
 * guarded by the namespace lock; a forked child has none.
 * ------------------------------------------------------------------- */

#define SPARE_MAX	4
#define SPARE_MAX_SIZE	((size_t)256 << 10)	/* the whole file */

/* A spare's state: kept (under its spare name only, its header mapped
 * here) or lent (the live object's file too, under both names). */
enum { SPARE_FREE, SPARE_KEPT, SPARE_LENT };

struct spare {
	void *base;		/* KEPT: its header's mapping (map_len bytes) */
	size_t size;		/* the file's */
	uid_t uid;
	gid_t gid;
	ino_t ino;
	int kind, used;		/* used: SPARE_* */
};
static struct spare g_spare[SPARE_MAX];
static int g_spare_exit;	/* spare_atexit is registered */
/* This process has made an object of a kind with spares (since fork): one
 * that never makes any (a reader, a forked worker) keeps no files for it. */
static int g_spare_maker;

static void spare_name(char *buf, size_t n, int kind, uint32_t slot,
		       uint32_t gen, int i)
{
	snprintf(buf, n, "%s.spare.%u.%u.%d", uipc_kind_name[kind], slot, gen, i);
}

static int rename_noreplace(int dirfd, const char *from, const char *to)
{
	return (int)syscall(SYS_renameat2, dirfd, from, dirfd, to,
			    RENAME_NOREPLACE);
}

/* Spare i's name, for this process's registration. */
static int spare_path(char *buf, size_t n, int i)
{
	struct uipc_self self;

	if (uipc_proc_self(&self) < 0)
		return -1;
	spare_name(buf, n, g_spare[i].kind, self.slot, self.gen, i);
	return 0;
}

/* Spare i goes: unmapped and unlinked.  Namespace lock held. */
static void spare_drop(struct uipc_nsh *h, int i)
{
	char name[80];

	if (spare_path(name, sizeof(name), i) == 0)
		unlinkat(h->dirfd, name, 0);
	if (g_spare[i].used == SPARE_KEPT)
		munmap(g_spare[i].base, uipc_kind_ops[g_spare[i].kind]->map_len);
	g_spare[i].used = SPARE_FREE;
}

static void spare_atexit(void)
{
	struct uipc_nsh *h;
	int r = 0;

	h = uipc_ns_get(&r);
	if (!h || uipc_ns_lock(h) < 0)
		return;
	for (int i = 0; i < SPARE_MAX; i++)
		if (g_spare[i].used)
			spare_drop(h, i);
	uipc_ns_unlock(h);
}

static void *map_steal(struct uipc_map *m);

/* In a forked child: the parent's spares are the parent's. */
static void spares_forget(void)
{
	for (int i = 0; i < SPARE_MAX; i++)
		if (g_spare[i].used == SPARE_KEPT)
			munmap(g_spare[i].base, uipc_kind_ops[g_spare[i].kind]->map_len);
	memset(g_spare, 0, sizeof(g_spare));
	g_spare_maker = 0;
}

/* A free entry, or one whose lent file lost its object's name since (the
 * object was destroyed by another process) made free; -1 if none. */
static int spare_slot(struct uipc_nsh *h)
{
	struct stat st;
	char sname[80];

	for (int i = 0; i < SPARE_MAX; i++)
		if (g_spare[i].used == SPARE_FREE)
			return i;
	for (int i = 0; i < SPARE_MAX; i++)
		if (g_spare[i].used == SPARE_LENT &&
		    (spare_path(sname, sizeof(sname), i) < 0 ||
		     fstatat(h->dirfd, sname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     st.st_ino != g_spare[i].ino || st.st_nlink == 1)) {
			spare_drop(h, i);
			return i;
		}
	return -1;
}

/*
 * Keeps the file `name` of the object of m, just removed, as a spare if it
 * may be (see above; file: its fstatat, or NULL if that failed): `name`
 * unlinked if this process lent it, else renamed to a spare name; its
 * header's mapping taken from the cache.  0 if it was kept; 1 if the file
 * is gone but m keeps its mapping (to be retired); -1 if it was not kept
 * (a lent one's spare name is unlinked then): the caller unlinks `name`.
 * Namespace lock held.
 */
static int spare_put(struct uipc_nsh *h, struct uipc_map *m, const char *name,
		     const struct stat *file)
{
	const struct uipc_kind_ops *ops = uipc_kind_ops[m->kind];
	struct stat st;
	char sname[80];
	int i, ok;

	if (!ops->recycle || m->len != ops->map_len || !g_spare_maker || !file)
		return -1;
	st = *file;
	ok = S_ISREG(st.st_mode) && (st.st_mode & 06777) == 0600 &&
	     st.st_uid == uipc_euid() && st.st_gid == uipc_egid() &&
	     st.st_size >= (off_t)ops->map_len &&
	     st.st_size <= (off_t)SPARE_MAX_SIZE;
	for (i = 0; i < SPARE_MAX; i++)
		if (g_spare[i].used == SPARE_LENT && g_spare[i].ino == st.st_ino &&
		    g_spare[i].kind == m->kind)
			break;
	if (i < SPARE_MAX) {
		/* Lent by us: back under its spare name only. */
		if (!ok || st.st_nlink != 2 || spare_path(sname, sizeof(sname), i) < 0 ||
		    unlinkat(h->dirfd, name, 0) < 0) {
			spare_drop(h, i);
			return -1;
		}
	} else {
		if (!ok || st.st_nlink != 1 || (i = spare_slot(h)) < 0)
			return -1;
		g_spare[i].kind = m->kind;
		if (spare_path(sname, sizeof(sname), i) < 0 ||
		    rename_noreplace(h->dirfd, name, sname) < 0)
			return -1;
	}
	g_spare[i].used = SPARE_FREE;
	/* A segment destroyed at its last detach bears its IPC_RMID mark. */
	if ((st.st_mode & S_ISVTX) && fchmodat(h->dirfd, sname, 0600, 0) < 0) {
		unlinkat(h->dirfd, sname, 0);
		return 1;
	}
	g_spare[i].base = map_steal(m);
	if (!g_spare[i].base) {
		unlinkat(h->dirfd, sname, 0);
		return 1;
	}
	g_spare[i].size = (size_t)st.st_size;
	g_spare[i].uid = st.st_uid;
	g_spare[i].gid = st.st_gid;
	g_spare[i].ino = st.st_ino;
	g_spare[i].used = SPARE_KEPT;
	uipc_proc_note(UIPC_USE_SPARE);
	if (!g_spare_exit) {
		g_spare_exit = 1;
		atexit(spare_atexit);
	}
	return 0;
}

static void hdr_init(struct uipc_obj *o, const struct uipc_new *n, int id);

/* Zeros [p, p + len) of a shared mapping, -EFAULT where it faults. */
static int zero_guarded(char *p, size_t len)
{
	static const char zeros[4096];

	for (size_t k = 0; k < len; k += sizeof(zeros)) {
		size_t c = len - k < sizeof(zeros) ? len - k : sizeof(zeros);

		if (uipc_copy_to_user(p + k, zeros, c) < 0)
			return -EFAULT;
	}
	return 0;
}

/*
 * A spare made into the new object n, id `id`, under `name`: its header
 * written (live), its other bytes zeroed, linked into place (lent).  Its whole
 * file's mapping, or NULL if no spare fits (none changed then, or one
 * dropped).  Namespace lock held, credentials fresh.
 */
static void *spare_take(struct uipc_nsh *h, const struct uipc_new *n, int id,
			const char *name)
{
	const struct uipc_kind_ops *ops = uipc_kind_ops[n->kind];
	struct uipc_obj *o;
	char sname[80];
	char *base;
	int i, r;

	if (!ops->recycle || file_mode((uint32_t)n->flg & 0777) != 0600)
		return NULL;
	for (i = 0; i < SPARE_MAX; i++)
		if (g_spare[i].used == SPARE_KEPT && g_spare[i].kind == n->kind &&
		    g_spare[i].size == n->file_size &&
		    g_spare[i].uid == uipc_cred.euid &&
		    g_spare[i].gid == uipc_cred.egid)
			break;
	if (i == SPARE_MAX)
		return NULL;
	base = mremap(g_spare[i].base, ops->map_len, n->file_size, MREMAP_MAYMOVE);
	if (base == MAP_FAILED) {
		spare_drop(h, i);
		return NULL;
	}
	g_spare[i].base = base;
	o = (struct uipc_obj *)base;
	/* Someone with a stale mapping of the old object may hold its lock
	 * (and then finds it removed, or another id). */
	r = uipc_probe_read(base, sizeof(*o));
	if (r == 0)
		r = uipc_lock_acquire(&o->lock, NULL, NULL);
	if (r < 0)
		goto drop;
	ops->recycle(o);
	hdr_init(o, n, id);
	r = n->init(o, n->arg);
	if (r == 0) {
		o->magic = UIPC_OBJ_MAGIC;
		atomic_store_explicit(&o->state, OBJ_LIVE, memory_order_release);
	}
	uipc_lock_release(&o->lock);
	if (r < 0 || zero_guarded(base + ops->map_len, n->file_size - ops->map_len) < 0 ||
	    spare_path(sname, sizeof(sname), i) < 0 ||
	    linkat(h->dirfd, sname, h->dirfd, name, 0) < 0)
		goto drop;
	g_spare[i].base = NULL;
	g_spare[i].used = SPARE_LENT;
	return base;
drop:
	munmap(base, n->file_size);
	g_spare[i].base = NULL;
	if (spare_path(sname, sizeof(sname), i) == 0)
		unlinkat(h->dirfd, sname, 0);
	g_spare[i].used = SPARE_FREE;
	return NULL;
}

void uipc_spare_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	char name[80];

	for (int k = 0; k < UIPC_NKINDS; k++) {
		if (!uipc_kind_ops[k]->recycle)
			continue;
		for (int i = 0; i < SPARE_MAX; i++) {
			spare_name(name, sizeof(name), k, slot, gen, i);
			unlinkat(h->dirfd, name, 0);
		}
	}
}

int uipc_spare_sweep(struct uipc_nsh *h)
{
	struct dirent *de;
	DIR *d = uipc_ns_opendir(h);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char kind[16], want[80];
		unsigned slot, gen;
		int i;

		if (sscanf(de->d_name, "%15[a-z].spare.%u.%u.%d", kind, &slot,
			   &gen, &i) != 4 || i < 0 || i >= SPARE_MAX)
			continue;
		for (int k = 0; k < UIPC_NKINDS; k++) {
			spare_name(want, sizeof(want), k, slot, gen, i);
			if (!strcmp(want, de->d_name) &&
			    !uipc_proc_gen_alive(h, slot, gen) &&
			    unlinkat(h->dirfd, de->d_name, 0) == 0)
				n++;
		}
	}
	closedir(d);
	return n;
}

/*
 * The id of the live object with `key`, or -ENOENT.  Namespace lock held.
 * The id table is writable by every user of the namespace, so a slot that
 * disagrees with a key link is no proof the link is stale: the link goes
 * only when its object file is gone or never became whole (link_stale); a file whose
 * header is live with this key gets its slot back; anything else is -EIO,
 * never the removal of a link another process may be relying on.
 */
static int find_key(struct uipc_nsh *h, int kind, key_t key)
{
	char name[64], target[64];
	uint32_t *slot;
	struct uipc_obj o;
	int k, id;
	ssize_t n;

	key_name(name, sizeof(name), kind, key);
	n = readlinkat(h->dirfd, name, target, sizeof(target) - 1);
	if (n <= 0)
		return -ENOENT;
	target[n] = 0;
	if (!parse_obj_name(target, &k, &id) || k != kind) {
		unlinkat(h->dirfd, name, 0);	/* not a link of ours */
		return -ENOENT;
	}
	slot = &h->ns->ids[kind].slot[id % UIPC_IPCMNI];
	if (*slot == (uint32_t)id + 1)
		return id;
	if (link_stale(h, target)) {
		unlinkat(h->dirfd, name, 0);	/* left by a crash */
		return -ENOENT;
	}
	if (*slot == 0 && read_hdr(h, kind, id, &o) == 0 &&
	    atomic_load(&o.state) == OBJ_LIVE && o.key == key) {
		__atomic_store_n(slot, (uint32_t)id + 1, __ATOMIC_RELEASE);
		count_add(&h->ns->ids[kind].in_use, 1);
		units_add(&h->ns->ids[kind].units, o.units);
		return id;
	}
	return -EIO;
}

/* The common part of new object n's header, id `id` (but its lock, magic
 * and state). */
static void hdr_init(struct uipc_obj *o, const struct uipc_new *n, int id)
{
	o->layout = UIPC_LAYOUT;
	o->kind = (uint16_t)n->kind;
	o->hdr_size = (uint32_t)uipc_kind_ops[n->kind]->hdr_size;
	o->id = id;
	o->key = n->key;
	o->mode = (uint32_t)n->flg & 0777;
	o->uid = o->cuid = uipc_cred.euid;
	o->gid = o->cgid = uipc_cred.egid;
	o->ctime = uipc_now();
	o->units = n->units;
	/* A new value: a stale mapping's cached permissions never match. */
	atomic_fetch_add(&o->perm_seq, 1);
}

/* Creates a new object.  Namespace lock held. */
static int newobj(struct uipc_nsh *h, struct uipc_new *n)
{
	const struct uipc_kind_ops *ops = uipc_kind_ops[n->kind];
	struct uipc_ids *ids = &h->ns->ids[n->kind];
	static const enum uipc_limit mni_limit[UIPC_NKINDS] = {
		UL_MSGMNI, UL_SEMMNI, UL_SHMMNI };
	/* The limit on the sum of units, where the kind has one. */
	static const int units_limit[UIPC_NKINDS] = { -1, UL_SEMMNS, UL_SHMALL };
	int64_t mni = uipc_limit(h, mni_limit[n->kind]);
	char name[64], kname[64];
	int idx = -1, seq, id, fd, r, want, wfrom;
	struct uipc_obj *o, hdr;
	void *base = NULL;
	struct stat st;
	size_t len;

	if (n->create_check) {
		r = n->create_check(n->arg);
		if (r < 0)
			return r;
	}
	if (units_limit[n->kind] >= 0 &&
	    units_over(ids->units, n->units, units_cap(h, units_limit[n->kind])))
		return -ENOSPC;
	if (n->store_check) {
		r = n->store_check(n->arg);
		if (r < 0)
			return r;
	}
	if (mni > UIPC_IPCMNI)
		mni = UIPC_IPCMNI;
	if (ids->in_use >= mni)
		return -ENOSPC;
	/* An id asked for (kernel.*_next_id) is taken up by this attempt,
	 * as ipc_idr_alloc takes it: the lowest free index from its own,
	 * with its sequence number, whatever the limit on the count. */
	want = uipc_next_id(h, n->kind);
	ids->next_id1 = 0;
	wfrom = want >= 0 ? want % UIPC_IPCMNI : 0;
	for (int tries = 0;; tries++) {
		idx = -1;
		if (ids->last_idx < -1 || ids->last_idx >= mni)
			ids->last_idx = -1;
		for (int i = 0; want < 0 && i < mni; i++) {
			int c = (int)((ids->last_idx + 1 + i) % mni);

			if (c >= 0 && !ids->slot[c]) {
				idx = c;
				break;
			}
		}
		for (int c = wfrom; want >= 0 && c < UIPC_IPCMNI; c++)
			if (!ids->slot[c]) {
				idx = c;
				break;
			}
		if (idx < 0 || tries == 8)
			return -ENOSPC;
		/* The table is anyone's: its numbers are bounded here. */
		seq = want >= 0 ? want / UIPC_IPCMNI : ids->seq;
		if (seq < 0 || seq > UIPC_SEQ_MAX)
			seq = 0;
		if (want < 0 && idx <= ids->last_idx && ++seq > UIPC_SEQ_MAX)
			seq = 0;
		id = seq * UIPC_IPCMNI + idx;

		/* The file gets its final name at once: nobody looks at it
		 * before its slot is set below (obj_open checks the slot
		 * first), and a crash part-way leaves a file ns_repair
		 * removes or rolls forward.  Mode 0 until the object is
		 * whole (see may_unlink). */
		obj_name(name, sizeof(name), n->kind, id);
		base = spare_take(h, n, id, name);
		if (base) {
			fd = -1;	/* whole already, and in place */
			break;
		}
		fd = dir_openat(h->dirfd, name, O_RDWR | O_CREAT | O_EXCL, 0);
		if (fd != -EEXIST)
			break;
		/* A file of that id with a free slot: a crash's, or a live
		 * object whose slot someone zeroed (the table is anyone's). */
		if (fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    whole(&st)) {
			if (read_hdr(h, n->kind, id, &hdr) == 0 &&
			    hdr.state == OBJ_LIVE) {
				ids->slot[idx] = (uint32_t)id + 1;	/* it lives */
				count_add(&ids->in_use, 1);
				units_add(&ids->units, hdr.units);
				ids->last_idx = idx;
				wfrom = idx + 1;
				continue;
			}
			if (!may_unlink(n->kind, &st)) {
				ids->last_idx = idx;	/* not ours to remove */
				wfrom = idx + 1;
				continue;
			}
		}
		unlinkat(h->dirfd, name, 0);
		fd = dir_openat(h->dirfd, name, O_RDWR | O_CREAT | O_EXCL, 0);
		break;
	}
	if (!base && fd < 0)
		return fd;
	/* The key's link first: find_key found no live object for the key,
	 * so a link still there is a crash's and goes; one we cannot remove
	 * (another user's, planted in a sticky directory) keeps the key from
	 * us, and the creation fails rather than leave an object its key
	 * does not find. */
	if (n->key != IPC_PRIVATE) {
		key_name(kname, sizeof(kname), n->kind, n->key);
		if (symlinkat(name, h->dirfd, kname) < 0 &&
		    (unlinkat(h->dirfd, kname, 0) < 0 ||
		     symlinkat(name, h->dirfd, kname) < 0)) {
			unlinkat(h->dirfd, name, 0);
			if (base)
				munmap(base, n->file_size);
			else
				close(fd);
			return -EIO;
		}
	}
	len = ops->map_len ? ops->map_len : n->file_size;
	if (base)
		goto publish;
	if (ftruncate(fd, (off_t)n->file_size) < 0) {
		r = -errno;
		goto out_unlink;
	}
	if (n->prealloc && fallocate(fd, 0, 0, (off_t)n->prealloc) < 0 &&
	    errno != EOPNOTSUPP) {
		r = -ENOMEM;	/* no room in the file system */
		goto out_unlink;
	}
	/* One mapping of the whole new file: the header is written through
	 * it, and a kind that maps only its header (map_len) hands the rest
	 * to its creator (shm: the first shmat's attachment). */
	base = mmap(NULL, n->file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = -ENOMEM;
	if (base == MAP_FAILED)
		goto out_unlink;
	/* The header's page first touched on a full file system faults
	 * (SIGBUS): touched under the guard first. */
	r = uipc_probe_read(base, sizeof(*o)) < 0 ? -ENOMEM : 0;
	o = base;	/* a new file's lock word is 0: free */
	if (r == 0) {
		hdr_init(o, n, id);
		r = n->init(base, n->arg);
	}
	if (r < 0) {
		munmap(base, n->file_size);
		goto out_unlink;
	}
	o->magic = UIPC_OBJ_MAGIC;
	atomic_store_explicit(&o->state, OBJ_LIVE, memory_order_release);
	fchmod(fd, file_mode((uint32_t)n->flg & 0777));	/* not o->mode: see set_perm */
	close(fd);
publish:
	if (len < n->file_size) {
		if (n->rest_out)
			*n->rest_out = (char *)base + len;
		else
			munmap((char *)base + len, n->file_size - len);
	}
	/* The creator usually uses its object next: keep it at hand. */
	keep_mapping(n->kind, id, base, len);
	if (ops->recycle)
		g_spare_maker = 1;

	/* Published: the header is written before the slot is seen. */
	__atomic_store_n(&ids->slot[idx], (uint32_t)id + 1, __ATOMIC_RELEASE);
	if (want < 0) {
		ids->last_idx = idx;
		ids->seq = seq;
	}
	count_add(&ids->in_use, 1);
	units_add(&ids->units, n->units);
	return id;
out_unlink:
	if (n->key != IPC_PRIVATE)
		unlinkat(h->dirfd, kname, 0);	/* ours: made above */
	unlinkat(h->dirfd, name, 0);
	close(fd);
	return r;
}

int uipc_ipcget(struct uipc_new *n)
{
	struct uipc_nsh *h;
	struct uipc_map *m;
	int r = 0, id;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	uipc_cred_refresh();
	r = uipc_ns_lock(h);
	if (r < 0)
		return r;
	if (n->key == IPC_PRIVATE) {
		r = newobj(h, n);
		goto out_unlock;
	}
	id = find_key(h, n->kind, n->key);
	if (id < 0 && id != -ENOENT) {
		r = id;		/* a key whose object cannot be judged */
		goto out_unlock;
	}
	if (id < 0) {
		r = (n->flg & IPC_CREAT) ? newobj(h, n) : -ENOENT;
		goto out_unlock;
	}
	if ((n->flg & IPC_CREAT) && (n->flg & IPC_EXCL)) {
		r = -EEXIST;
		goto out_unlock;
	}
	r = uipc_obj_get(n->kind, id, &m);
	if (r == -EACCES) {
		/* No class of ours may open the file, so the object grants us
		 * nothing: only a request for no permission passes. */
		r = (n->flg & 0777) ? -EACCES : id;
		goto out_unlock;
	}
	if (r < 0)
		goto out_unlock;
	r = uipc_obj_lock(m);
	if (r == 0) {
		if (n->more_checks)
			r = n->more_checks(m->base, n->arg);
		if (r == 0)
			r = uipc_ipcperms(map_obj(m), n->flg);
		if (r == 0)
			r = id;
		uipc_obj_unlock(m);
	}
	uipc_map_put(m);
out_unlock:
	uipc_ns_unlock(h);
	return r;
}

/* Removes kind's link for key if it names object id: the key came from a
 * header, which any user the object lets in may have rewritten, and a
 * link of another object (another user's, whose link root could remove)
 * stays. */
static void unlink_key(struct uipc_nsh *h, int kind, key_t key, int id)
{
	char name[64], target[64], want[64];
	ssize_t n;

	key_name(name, sizeof(name), kind, key);
	obj_name(want, sizeof(want), kind, id);
	n = readlinkat(h->dirfd, name, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = 0;
	if (!strcmp(target, want))
		unlinkat(h->dirfd, name, 0);
}

static int decide_owner(void *obj, void *arg, const struct stat *file)
{
	int r = uipc_check_owner(obj);

	(void)arg;
	(void)file;
	return r < 0 ? r : UIPC_RM_NOW;
}

int uipc_rmid(int kind, int id, void (*kill)(struct uipc_map *m))
{
	return uipc_remove(kind, id, decide_owner, NULL, kill);
}

/*
 * A destroyed object's file, not kept, cut to its header (the kinds whose
 * processes map the header alone: shm), before its name goes: every
 * process that ever looked at it may still map that header in its cache,
 * until it looks up that id or index again, and a mapping of any part of a
 * file keeps all of the file's pages, where the kernel frees a removed
 * segment's memory at once.  Nobody maps the bytes any more (unattached;
 * an attach in flight finds the segment removed before it touches them).
 * Best effort: a remover who may not write the file leaves it whole.
 */
static void shed_bytes(struct uipc_nsh *h, int kind, const char *name)
{
	size_t keep = uipc_kind_ops[kind]->map_len;
	int fd;

	if (!keep)
		return;
	fd = dir_openat(h->dirfd, name, O_WRONLY, 0);
	if (fd < 0)
		return;
	if (ftruncate(fd, (off_t)keep) < 0) {
		/* Nothing to undo: the file goes whole. */
	}
	close(fd);
}

/* The id table's slot of object id, a removal's last step: freed if it
 * still names id, with the counts it stood for (units: the object's). */
static void slot_release(struct uipc_nsh *h, int kind, int id, int64_t units)
{
	struct uipc_ids *ids = &h->ns->ids[kind];

	if (ids->slot[id % UIPC_IPCMNI] == (uint32_t)id + 1) {
		ids->slot[id % UIPC_IPCMNI] = 0;
		count_add(&ids->in_use, -1);
		units_sub(&ids->units, units);
	}
}

/*
 * uipc_remove of an object whose file cannot be used (uipc_obj_get said
 * -EIO): see internal.h.  Ownership is the file's, which the kernel keeps,
 * not the header's, which any writer may have made up.  Namespace lock
 * held.  0, or -EIO.
 */
static int remove_corrupt(struct uipc_nsh *h, int kind, int id)
{
	struct uipc_obj o;
	struct stat st;
	char name[64];
	int hdr;

	obj_name(name, sizeof(name), kind, id);
	if (fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || !whole(&st) ||
	    !(uipc_owns_file(&st) || uipc_capable(CAP_SYS_ADMIN)))
		return -EIO;
	hdr = read_hdr(h, kind, id, &o);
	shed_bytes(h, kind, name);
	if (unlinkat(h->dirfd, name, 0) < 0)
		return -EIO;
	if (hdr == 0 && o.key != IPC_PRIVATE)
		unlink_key(h, kind, o.key, id);
	slot_release(h, kind, id, hdr == 0 ? o.units : 0);
	return 0;
}

int uipc_remove(int kind, int id, uipc_rm_decide decide, void *arg,
		void (*kill)(struct uipc_map *m))
{
	struct uipc_nsh *h;
	struct uipc_map *m;
	struct uipc_obj *o;
	struct stat st, *file = NULL;
	char name[64];
	int r = 0, what, spared;
	key_t key;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	r = uipc_ns_lock(h);
	if (r < 0)
		return r;
	r = uipc_obj_get(kind, id, &m);
	if (r < 0) {
		if (r == -EIO)
			r = remove_corrupt(h, kind, id);
		goto out_ns;
	}
	o = map_obj(m);
	r = uipc_obj_lock(m);
	if (r < 0)
		goto out_put;
	/* Asked once for the owner check and the spare: nothing of ours
	 * changes the file meanwhile (IPC_SET takes the object's lock and
	 * then finds it removed). */
	obj_name(name, sizeof(name), kind, id);
	if (uipc_kind_ops[kind]->recycle &&
	    fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		file = &st;
	what = decide(o, arg, file);
	if (what < 0 || what == UIPC_RM_KEEP) {
		r = what < 0 ? what : 0;
		uipc_obj_unlock(m);
		goto out_put;
	}
	key = o->key;
	if (what == UIPC_RM_NOW) {
		kill(m);
		atomic_store(&o->state, OBJ_REMOVED);
	} else {
		o->key = IPC_PRIVATE;
	}
	uipc_obj_unlock(m);

	if (key != IPC_PRIVATE)
		unlink_key(h, kind, key, id);
	if (what == UIPC_RM_PRIVATE)
		goto out_put;
	spared = spare_put(h, m, name, file);
	if (spared < 0) {
		shed_bytes(h, kind, name);
		unlinkat(h->dirfd, name, 0);
	}
	slot_release(h, kind, id, o->units);
	uipc_map_put(m);
	if (spared != 0)
		map_retire(m);
	goto out_ns;
out_put:
	uipc_map_put(m);
out_ns:
	uipc_ns_unlock(h);
	return r;
}

int uipc_set_perm(struct uipc_map *m, const struct ipc_perm *p)
{
	struct uipc_obj *o = map_obj(m);
	mode_t keep = 0;
	uint32_t mode;
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	int r = 0, fd;

	if (p->uid == (uid_t)-1 || p->gid == (gid_t)-1)
		return -EINVAL;
	/* What the file gets is worked out here, not read back from the
	 * header, which any user the object lets in may rewrite meanwhile. */
	mode = (o->mode & ~0777u) | (p->mode & 0777u);
	o->uid = p->uid;
	o->gid = p->gid;
	o->mode = mode;
	o->ctime = uipc_now();
	atomic_fetch_add(&o->perm_seq, 1);
	/* The file's mode follows (best effort: only its owner or a
	 * privileged caller may change it), through no symlink. */
	h = uipc_ns_get(&r);
	if (!h)
		return 0;
	obj_name(name, sizeof(name), m->kind, m->id);
	fd = dir_openat(h->dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return 0;
	/* The file keeps its IPC_RMID mark (shm's sticky bit), and the mark
	 * of having been open to others (S_IXUSR, see spares), which a new
	 * owner gets too: the old one may hold it open. */
	if (fstat(fd, &st) == 0) {
		keep = st.st_mode & (S_ISVTX | S_IXUSR);
		if (uipc_euid() == 0 && (st.st_uid != p->uid || st.st_gid != p->gid))
			keep |= S_IXUSR;
	}
	fchmod(fd, file_mode(mode) | keep);
	if (uipc_euid() == 0)
		fchown(fd, p->uid, p->gid);
	close(fd);
	return 0;
}

int uipc_obj_get_by_index(int kind, int idx, struct uipc_map **out)
{
	struct uipc_nsh *h;
	uint32_t s;
	int r = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	if (idx < 0)
		return -EINVAL;
	s = h->ns->ids[kind].slot[idx % UIPC_IPCMNI];
	if (!s)
		return -EINVAL;
	return uipc_obj_get(kind, slot_id(s), out);
}

int uipc_max_idx(int kind, int *in_use)
{
	struct uipc_nsh *h;
	int r = 0, max = -1, n = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	/* A creation or removal under way (or one whose maker died in it,
	 * which the next holder of the lock finishes) is waited for, so the
	 * table read is one the kernel could show. */
	if (atomic_load(&h->ns->lock.word) != 0 && uipc_ns_lock(h) == 0)
		uipc_ns_unlock(h);
	for (int i = 0; i < UIPC_IPCMNI; i++)
		if (h->ns->ids[kind].slot[i]) {
			max = i;
			n++;
		}
	if (in_use)
		*in_use = n;
	return max;
}
