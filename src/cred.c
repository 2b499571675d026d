/*
 * cred.c: the caller's credentials, as the kernel checks them.
 *
 * Implementation notes
 *
 * What user space sees: every uipc call is judged by the credentials the
 * process has when it makes the call, as the kernel judges a system call by
 * the caller's current ones.  A process that uses a 0600 queue as root and
 * then calls setuid(nobody) gets EACCES from its next msgsnd, msgrcv or
 * semop, also on a queue, set or segment it had open all along.
 *
 * What the kernel checks, and so uipc: the euid for the owner class and for
 * IPC_SET and IPC_RMID, the file system gid (which follows the egid unless
 * setfsgid moves it) and the supplementary groups for the group class, the
 * effective capabilities; a new object takes the euid and the egid.
 *
 * Internals.  Reading credentials costs system calls (geteuid, getegid,
 * getgroups, capget; setfsgid(-1) once setfsgid was called), and the
 * uncontended msgsnd, msgrcv and semop make none, so uipc_cred caches them
 * per process.  The cache is kept true by
 * standing in for the C library's calls that change them: setuid, setgid,
 * seteuid, setegid, setreuid, setregid, setresuid, setresgid, setgroups,
 * initgroups (glibc's calls its setgroups directly, past any stand-in),
 * setfsuid, setfsgid and capset.  Each calls the C library's own function,
 * found with dlsym(RTLD_NEXT) (glibc's set*id change every thread of the
 * process; the system call would change the calling thread alone), then
 * invalidates the cache.  They are exported without a symbol version, so
 * that they stand in also for the calls other libraries make to glibc's
 * versioned names (libcap's capset@GLIBC_2.2.5 finds ours first).  In a
 * program linked with libuipc.a, the executable defines them.
 *
 * Invalidation is one atomic increment of uipc_cred_gen, whatever the call
 * returned.  It writes no credential: a part of the cache is good for the
 * generation it was read in (`have` holds that generation and the parts
 * read), and the next check that needs a stale part reads it again
 * (cred_fill), once per change.  So it is async-signal-safe, as the set*id
 * calls are, and a vfork child's setuid before exec, writing into its
 * parent's memory, only makes the parent read its own credentials again.
 * The same increment makes every permission check cached per object
 * (uipc_map_perm) stale.  A change made by another thread while a call is
 * in progress is seen by the next call.  The slow paths (msgget, *ctl,
 * shmat, opening an object, blocking) still re-read the ids and forget
 * the rest (uipc_cred_refresh), so they also see what the stand-ins
 * cannot.
 *
 * What the stand-ins cannot see (docs/uipc.md, known differences): system
 * calls made without the C library's function (syscall(SYS_setuid, ...),
 * inline assembly, Go's runtime) until the next slow path; credentials that
 * differ between the threads of a process (a raw system call, or capset,
 * which changes only the calling thread), since the cache is per process;
 * user namespaces.  In a fully static program dlsym finds no next function:
 * then setfsuid, setfsgid and capset, plain system calls in glibc too, are
 * made directly, and the set*id calls and setgroups only while the process
 * has a single thread; with more they fail with ENOSYS rather than change
 * one thread.
 *
 * Locking: cred_lock serializes the stores of the fills, so that a fill
 * that read before a change cannot overwrite one that read after it: a
 * fill reads without the lock and stores, under it, only if the generation
 * did not move while it read.  No system call is made under it.  Checks
 * take no lock: they load `have` and the values.  pthread_atfork takes
 * cred_lock around fork, so a child never inherits it held.
 */
#include "internal.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
#include <sys/single_threaded.h>
#define UIPC_SINGLE_THREADED
#endif

/* Bits of `have` above the CRED_* parts: the generation they were read in. */
#define HAVE_SHIFT 3

static _Atomic(gid_t) groups0[64];	/* the groups, until they outgrow it */
static int groups_cap = 64;		/* entries of uipc_cred.groups */

struct uipc_cred uipc_cred = { .groups = groups0 };
_Atomic uint32_t uipc_cred_gen;
static pthread_mutex_t cred_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cred_once = PTHREAD_ONCE_INIT;

void uipc_cred_invalidate(void)
{
	atomic_fetch_add(&uipc_cred_gen, 1);
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&cred_lock);
}

static void fork_done(void)
{
	pthread_mutex_unlock(&cred_lock);
}

static void cred_init(void)
{
	pthread_atfork(fork_prepare, fork_done, fork_done);
}

/* At load, before any other part of uipc registers fork handlers: the
 * child's handlers run in the order of registration, and a later one
 * (store.c's) refreshes the credentials, so cred_lock must be free by
 * then.  cred_fill registers too, for a call made before this ran. */
__attribute__((constructor))
static void cred_load(void)
{
	pthread_once(&cred_once, cred_init);
}

/* Whether the parts `what` were read in the current generation. */
static inline int cred_fresh(unsigned what)
{
	uint32_t have = atomic_load_explicit(&uipc_cred.have,
					     memory_order_acquire);
	uint32_t gen = atomic_load(&uipc_cred_gen);

	return (have >> HAVE_SHIFT) == (gen & (UINT32_MAX >> HAVE_SHIFT)) &&
	       (have & what) == what;
}

/* Whether the caller is in the initial user namespace: the kernel's
 * capable() asks for a capability there, and a process that made a user
 * namespace of its own (unshare -Ur) has every capability inside it and
 * none that counts for IPC objects.  The initial namespace's inode number
 * is fixed (PROC_USER_INIT_INO); /proc missing, it is taken to be. */
static int in_initial_userns(void)
{
	struct stat st;

	return stat("/proc/self/ns/user", &st) < 0 || st.st_ino == 0xEFFFFFFDu;
}

static uint64_t read_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint64_t caps;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == 0)
		caps = data[0].effective | (uint64_t)data[1].effective << 32;
	else
		caps = geteuid() == 0 ? ~(uint64_t)0 : 0;
	return caps && !in_initial_userns() ? 0 : caps;
}

/* The supplementary groups as read: in `small` up to 64, else in `big`. */
struct groups_read {
	gid_t small[64];
	gid_t *big;
	int n;			/* how many, -1 when they could not be read */
};

static void read_groups(struct groups_read *g)
{
	int size = 64;

	g->big = NULL;
	for (;;) {
		g->n = getgroups(size, g->big ? g->big : g->small);
		if (g->n >= 0 || errno != EINVAL)
			return;
		/* More than the buffer holds: ask how many, and retry (the
		 * count can grow between the two calls). */
		free(g->big);
		size = getgroups(0, NULL);
		g->big = size > 0 ? malloc(sizeof(gid_t) * (size_t)size) : NULL;
		if (!g->big) {
			g->n = -1;
			return;
		}
	}
}

/*
 * Publishes what read_groups read in uipc_cred.groups, which only grows:
 * a check may be reading the old array, so an outgrown one is kept, not
 * freed (at most a few, NGROUPS_MAX being 65536).  cred_lock held.
 * Groups that could not be read leave none: a group missed costs EACCES,
 * a stale one could grant what the kernel would not.  Returns 0, or -1
 * when there are none for that reason.
 */
static int store_groups(const struct groups_read *g)
{
	const gid_t *src = g->big ? g->big : g->small;
	_Atomic(gid_t) *dst = NULL;

	if (g->n > groups_cap) {
		dst = calloc((size_t)g->n, sizeof(*dst));
		if (dst)
			groups_cap = g->n;
	} else if (g->n >= 0) {
		dst = atomic_load_explicit(&uipc_cred.groups,
					   memory_order_relaxed);
	}
	if (!dst) {
		atomic_store_explicit(&uipc_cred.ngroups, 0, memory_order_release);
		return -1;
	}
	for (int i = 0; i < g->n; i++)
		atomic_store_explicit(&dst[i], src[i], memory_order_relaxed);
	/* A check reads the count, then the array: publish the array first,
	 * so that a count never outruns its array. */
	atomic_store_explicit(&uipc_cred.groups, dst, memory_order_release);
	atomic_store_explicit(&uipc_cred.ngroups, g->n, memory_order_release);
	return 0;
}

/*
 * The file system gid is the egid (set*gid and exec make it so) unless
 * setfsgid moved it.  Only then is it asked for, with setfsgid(-1), which
 * changes nothing (the system call: glibc's setfsgid is our stand-in):
 * Android's seccomp filter for apps kills a process that calls setfsgid
 * at all, and one that did survive it may call it again.  A process that
 * moved it once asks at every read from then on.
 */
static _Atomic int fsgid_moved;

static gid_t read_fsgid(gid_t egid)
{
	if (!atomic_load(&fsgid_moved))
		return egid;
	return (gid_t)syscall(SYS_setfsgid, (gid_t)-1);
}

/*
 * Makes the parts `what` of the cache current: reads them again if a
 * change (or a refresh) made them stale.  The reading happens outside
 * cred_lock, so that the lock is held only for stores, never across a
 * system call; what was read is stored only if the generation did not
 * move meanwhile (it may be from before the change), else read again.
 */
static void cred_fill(unsigned what)
{
	struct groups_read g;
	uint32_t gen, have;
	uid_t euid = 0;
	gid_t egid = 0, fsgid = 0;
	uint64_t caps = 0;
	unsigned got;

	while (!cred_fresh(what)) {
		pthread_once(&cred_once, cred_init);
		gen = atomic_load(&uipc_cred_gen);
		if (what & CRED_IDS) {
			euid = geteuid();
			egid = getegid();
			fsgid = read_fsgid(egid);
		}
		if (what & CRED_CAPS)
			caps = read_caps();
		g.big = NULL;
		if (what & CRED_GROUPS)
			read_groups(&g);

		got = what;
		pthread_mutex_lock(&cred_lock);
		if (atomic_load(&uipc_cred_gen) != gen) {
			pthread_mutex_unlock(&cred_lock);
			free(g.big);
			continue;
		}
		have = atomic_load(&uipc_cred.have);
		if ((have >> HAVE_SHIFT) != (gen & (UINT32_MAX >> HAVE_SHIFT)))
			have = gen << HAVE_SHIFT;	/* nothing read yet */
		if (what & CRED_IDS) {
			atomic_store_explicit(&uipc_cred.euid, euid,
					      memory_order_relaxed);
			atomic_store_explicit(&uipc_cred.egid, egid,
					      memory_order_relaxed);
			atomic_store_explicit(&uipc_cred.fsgid, fsgid,
					      memory_order_relaxed);
		}
		if (what & CRED_CAPS)
			atomic_store_explicit(&uipc_cred.caps, caps,
					      memory_order_relaxed);
		if ((what & CRED_GROUPS) && store_groups(&g) < 0)
			got &= ~(unsigned)CRED_GROUPS;	/* read again next time */
		atomic_store_explicit(&uipc_cred.have, have | got,
				      memory_order_release);
		pthread_mutex_unlock(&cred_lock);
		free(g.big);
		if (got != what)
			return;		/* groups unreadable: none, this time */
	}
}

void uipc_cred_refresh(void)
{
	uipc_cred_invalidate();
	cred_fill(CRED_IDS);
}

uid_t uipc_euid(void)
{
	cred_fill(CRED_IDS);
	return atomic_load_explicit(&uipc_cred.euid, memory_order_relaxed);
}

gid_t uipc_egid(void)
{
	cred_fill(CRED_IDS);
	return atomic_load_explicit(&uipc_cred.egid, memory_order_relaxed);
}

int uipc_capable(int cap)
{
	cred_fill(CRED_CAPS);
	return !!(atomic_load_explicit(&uipc_cred.caps, memory_order_relaxed) &
		  (1ull << cap));
}

/* The kernel's in_group_p(): the file system gid (the egid unless
 * setfsgid moved it), then the supplementary groups. */
int uipc_in_group(gid_t g)
{
	const _Atomic(gid_t) *groups;
	int n;

	cred_fill(CRED_IDS);
	if (atomic_load_explicit(&uipc_cred.fsgid, memory_order_relaxed) == g)
		return 1;
	cred_fill(CRED_GROUPS);
	n = atomic_load_explicit(&uipc_cred.ngroups, memory_order_acquire);
	groups = atomic_load_explicit(&uipc_cred.groups, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (atomic_load_explicit(&groups[i], memory_order_relaxed) == g)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------------
 * The C library's calls that change credentials.
 * ------------------------------------------------------------------- */

enum next_fn {
	N_SETUID, N_SETGID, N_SETEUID, N_SETEGID, N_SETREUID, N_SETREGID,
	N_SETRESUID, N_SETRESGID, N_SETGROUPS, N_INITGROUPS, N_SETFSUID,
	N_SETFSGID, N_CAPSET, N_COUNT
};

static const char *const next_name[N_COUNT] = {
	"setuid", "setgid", "seteuid", "setegid", "setreuid", "setregid",
	"setresuid", "setresgid", "setgroups", "initgroups", "setfsuid",
	"setfsgid", "capset",
};

static void *_Atomic next_ptr[N_COUNT];
static struct uipc_next_table next_tab = { next_name, next_ptr, N_COUNT, 0 };

__attribute__((constructor))
static void next_resolve(void)
{
	uipc_next_resolve(&next_tab);
}

static void *next(enum next_fn f)
{
	return uipc_next(&next_tab, f);
}

/* Without the C library's function (a static program): whether changing
 * the calling thread's credentials changes the whole process's. */
static int single_threaded(void)
{
#ifdef UIPC_SINGLE_THREADED
	if (__libc_single_threaded)
		return 1;
#endif
	{
		char buf[512], *p;
		int field = 2;

		if (uipc_proc_file(0, "stat", buf, sizeof(buf)) < 0)
			return 0;
		p = strrchr(buf, ')');	/* after the command name, field 2 */
		/* num_threads is field 20. */
		while (p && field < 20) {
			p = strchr(p + 1, ' ');
			field++;
		}
		return p && atol(p + 1) == 1;
	}
}

/* The system call, where there is no C library function to call. */
static long raw_setxid(long nr, long a, long b, long c)
{
	if (!single_threaded()) {
		errno = ENOSYS;
		return -1;
	}
	return syscall(nr, a, b, c);
}

/* r, after invalidating the cache, with the errno the call left. */
static int changed(int r)
{
	uipc_cred_invalidate();
	return r;
}

#define NEXT_CALL(f, type, ...) ((type)next(f))(__VA_ARGS__)

/* Exported (the version scripts list them) and weak: in a static program,
 * a C library member that defines one too wins instead of clashing. */
#define STAND_IN __attribute__((visibility("default"), weak))

STAND_IN int setuid(uid_t uid)
{
	if (!next(N_SETUID))
		return changed((int)raw_setxid(SYS_setuid, uid, 0, 0));
	return changed(NEXT_CALL(N_SETUID, int (*)(uid_t), uid));
}

STAND_IN int setgid(gid_t gid)
{
	if (!next(N_SETGID))
		return changed((int)raw_setxid(SYS_setgid, gid, 0, 0));
	return changed(NEXT_CALL(N_SETGID, int (*)(gid_t), gid));
}

STAND_IN int seteuid(uid_t euid)
{
	if (!next(N_SETEUID))
		return changed((int)raw_setxid(SYS_setresuid, -1, euid, -1));
	return changed(NEXT_CALL(N_SETEUID, int (*)(uid_t), euid));
}

STAND_IN int setegid(gid_t egid)
{
	if (!next(N_SETEGID))
		return changed((int)raw_setxid(SYS_setresgid, -1, egid, -1));
	return changed(NEXT_CALL(N_SETEGID, int (*)(gid_t), egid));
}

STAND_IN int setreuid(uid_t ruid, uid_t euid)
{
	if (!next(N_SETREUID))
		return changed((int)raw_setxid(SYS_setreuid, ruid, euid, 0));
	return changed(NEXT_CALL(N_SETREUID, int (*)(uid_t, uid_t), ruid, euid));
}

STAND_IN int setregid(gid_t rgid, gid_t egid)
{
	if (!next(N_SETREGID))
		return changed((int)raw_setxid(SYS_setregid, rgid, egid, 0));
	return changed(NEXT_CALL(N_SETREGID, int (*)(gid_t, gid_t), rgid, egid));
}

STAND_IN int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	if (!next(N_SETRESUID))
		return changed((int)raw_setxid(SYS_setresuid, ruid, euid, suid));
	return changed(NEXT_CALL(N_SETRESUID, int (*)(uid_t, uid_t, uid_t),
				 ruid, euid, suid));
}

STAND_IN int setresgid(gid_t rgid, gid_t egid, gid_t sgid)
{
	if (!next(N_SETRESGID))
		return changed((int)raw_setxid(SYS_setresgid, rgid, egid, sgid));
	return changed(NEXT_CALL(N_SETRESGID, int (*)(gid_t, gid_t, gid_t),
				 rgid, egid, sgid));
}

STAND_IN int setgroups(size_t n, const gid_t *groups)
{
	if (!next(N_SETGROUPS))
		return changed((int)raw_setxid(SYS_setgroups, (long)n,
					       (long)groups, 0));
	return changed(NEXT_CALL(N_SETGROUPS, int (*)(size_t, const gid_t *),
				 n, groups));
}

STAND_IN int initgroups(const char *user, gid_t group)
{
	gid_t *list;
	int n = 64, r;

	if (next(N_INITGROUPS))
		return changed(NEXT_CALL(N_INITGROUPS,
					 int (*)(const char *, gid_t),
					 user, group));
	/* What glibc's does: the user's groups and `group`, then setgroups
	 * (ours, which invalidates). */
	for (;;) {
		int want = n;

		list = malloc(sizeof(gid_t) * (size_t)n);
		if (!list) {
			errno = ENOMEM;
			return -1;
		}
		if (getgrouplist(user, group, list, &want) >= 0) {
			n = want;
			break;
		}
		free(list);
		if (want <= n)
			want = n * 2;
		n = want;
	}
	r = setgroups((size_t)n, list);
	free(list);
	return r;
}

/* The file system uid, as read_fsgid() has the gid: the euid unless
 * setfsuid moved it. */
static _Atomic int fsuid_moved;

uid_t uipc_fsuid(void)
{
	if (!atomic_load(&fsuid_moved))
		return uipc_euid();
	return (uid_t)syscall(SYS_setfsuid, (uid_t)-1);
}

/* The uid a file owned by a uid not mapped into the caller's user
 * namespace shows (/proc/sys/kernel/overflowuid, read once; 65534, the
 * kernel's default, if it cannot be read). */
uid_t uipc_overflowuid(void)
{
	static _Atomic long cached = -1;
	long v = atomic_load_explicit(&cached, memory_order_relaxed);
	char buf[32];
	ssize_t n;
	int fd;

	if (v >= 0)
		return (uid_t)v;
	v = 65534;
	fd = open("/proc/sys/kernel/overflowuid", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			v = strtol(buf, NULL, 10);
			if (v < 0 || v > (long)UINT32_MAX)
				v = 65534;
		}
		close(fd);
	}
	atomic_store_explicit(&cached, v, memory_order_relaxed);
	return (uid_t)v;
}

int uipc_owns_file(const struct stat *st)
{
	return st->st_uid == uipc_fsuid() && st->st_uid != uipc_overflowuid();
}

STAND_IN int setfsuid(uid_t fsuid)
{
	atomic_store(&fsuid_moved, 1);
	if (!next(N_SETFSUID))
		return changed((int)syscall(SYS_setfsuid, fsuid));
	return changed(NEXT_CALL(N_SETFSUID, int (*)(uid_t), fsuid));
}

STAND_IN int setfsgid(gid_t fsgid)
{
	atomic_store(&fsgid_moved, 1);
	if (!next(N_SETFSGID))
		return changed((int)syscall(SYS_setfsgid, fsgid));
	return changed(NEXT_CALL(N_SETFSGID, int (*)(gid_t), fsgid));
}

/* libcap's <sys/capability.h> declares it; glibc's headers do not. */
int capset(cap_user_header_t hdr, const cap_user_data_t data);

STAND_IN int capset(cap_user_header_t hdr, const cap_user_data_t data)
{
	if (!next(N_CAPSET))
		return changed((int)syscall(SYS_capset, hdr, data));
	return changed(NEXT_CALL(N_CAPSET,
				 int (*)(cap_user_header_t, const cap_user_data_t),
				 hdr, data));
}
