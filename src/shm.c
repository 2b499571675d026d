/*
 * shm.c: System V shared memory.
 *
 * Implementation notes
 *
 * A segment is the file shm.<id>: its header (SHM_HDR_SIZE bytes, sparse
 * past the first page) and then its bytes, page-rounded.  shmat maps the
 * bytes (MAP_SHARED, from SHM_HDR_SIZE on), so two attachers share the
 * same page-cache pages: memory speed, and zeros when new (tmpfs).  Every
 * process maps the header once and keeps it in store.c's cache.  shmget
 * maps the whole new file once, writes the header through that mapping
 * and keeps the bytes' part for its creator's first shmat, which then
 * makes no system call: the life of a small segment is one open, one
 * mmap and two munmaps.  A removed segment's file is usually kept by its
 * remover and made into its next segment of the same size (store.c,
 * spares: seg_recycle clears the header), which takes the open, the
 * unlink and the pages' allocation out of that life.
 *
 * Who may write what.  The file's mode gives each class (owner, group,
 * other) that the segment's mode grants anything read-write and the rest
 * nothing (store.c file_mode), so the kernel keeps out of header and bytes
 * alike whoever may not attach the segment: such a user can neither read
 * nor change what IPC_STAT shows, the attach counts or the removal state,
 * and shmget of its key with any permission asked is refused because the
 * file cannot be opened.  A user the segment lets in at all may write the
 * whole file, header included, as for msg and sem: every count and index
 * read from the header is bounded before use, and what decides ownership
 * and destruction is asked of the kernel (the file's writability for
 * IPC_SET, IPC_RMID and SHM_LOCK; its sticky bit for destruction).
 *
 * Attach counts.  The kernel counts attachments per mapping and adjusts
 * them on fork (the child's copies), exit and exec.  Here every attaching
 * process has an entry in the header (slot, gen, pid, count); nattch is
 * their sum.  An entry whose process has died (or exec'ed: the kernel marks
 * its life mutex then, and closing our descriptor at exec drops its record
 * lock) is dropped by whoever looks next, setting dtime and lpid as the
 * dying process's shm_close() would; every observer (IPC_STAT, shmat,
 * shmdt, IPC_RMID, the tool) looks first, so none sees a dead attacher.
 * Each attachment of this process keeps the map reference its shmat took,
 * and its shmdt counts the detach through it, whatever the id table (any
 * user's to write) says by then.
 *
 * fork.  The kernel counts the child's attachments in the parent, during
 * fork, so nattch is up when fork returns.  pthread_atfork's prepare
 * handler does the same: it adds a FORK entry per segment with the
 * process's count, and ties it to an open file description locked with an
 * OFD lock on a byte of the segment file (SHM_TICKET_OFF + entry).  fork
 * duplicates that description into the child; the parent closes its copy.
 * The child's handler turns the entry into its own.  Until it does, the
 * entry lives as long as the lock: if fork failed, or the child was killed
 * before its handler ran, the lock is gone and the entry is dropped.
 *
 * A removed segment (IPC_RMID with attachments left) keeps its file and its
 * id, with SHM_DEST set and the key made private, as on Linux; it goes when
 * its last attachment goes.
 *
 * Crash safety: every change to the header is made under the segment's
 * lock (lock.c) and is one entry's; nattch is not stored but summed from the
 * entries when asked, so a half-done change leaves nothing to repair.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* The header's part of a segment's file; the bytes start there, so it is
 * a multiple of every page size (4 KiB to 64 KiB). */
#define SHM_HDR_SIZE	(64 * 1024)
#define SHM_ATT_MAX	2048		/* attaching processes per segment */
#define SHM_TICKET_OFF	((off_t)1 << 40)	/* OFD lock bytes of forks */

enum { A_FREE, A_LIVE, A_FORK };

struct shm_att {
	uint32_t state;		/* A_FREE, A_LIVE, A_FORK */
	uint32_t slot, gen;	/* the process (A_FORK: the parent, till claimed) */
	int32_t pid;
	uint32_t count;		/* its attachments */
	uint32_t pad;
};

struct uipc_shm_seg {
	struct uipc_obj o;	/* o.mode carries SHM_DEST and SHM_LOCKED */
	uint64_t segsz;
	int64_t atime, dtime;
	int32_t cpid, lpid;
	uint32_t pad;
	uint32_t att_hwm;	/* entries in use lie below */
	struct shm_att att[SHM_ATT_MAX];
};
_Static_assert(sizeof(struct uipc_shm_seg) <= SHM_HDR_SIZE, "shm header");

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static uint64_t round_pages(uint64_t n)
{
	return (n + page_size() - 1) / page_size();
}

/* ---------------------------------------------------------------------
 * The header: repair, validation, entries.
 * ------------------------------------------------------------------- */

/* att_hwm, read once and bounded: the file is writable by every user the
 * segment lets in, so a count read from it is input, checked before it
 * indexes anything (and not read again, since another writer may change
 * it meanwhile). */
static uint32_t att_bound(const struct uipc_shm_seg *g)
{
	uint32_t hwm = __atomic_load_n(&g->att_hwm, __ATOMIC_RELAXED);

	return hwm > SHM_ATT_MAX ? SHM_ATT_MAX : hwm;
}

/* shm_nattch: the entries' counts summed. */
static uint32_t nattch(const struct uipc_shm_seg *g)
{
	uint32_t n = 0;

	for (uint32_t i = 0, hwm = att_bound(g); i < hwm; i++)
		if (g->att[i].state != A_FREE)
			n += g->att[i].count;
	return n;
}

/*
 * SHM_DEST in a header is any attacher's to write (each may write the
 * file), so the mark that lets a segment be destroyed is kept where the
 * kernel keeps it too: the sticky bit of the segment's file, which only
 * its owner (or root) can set, set by IPC_RMID with the header's flag.  A
 * file already gone counts as marked.  file: its fstatat if the caller
 * has it, else NULL.
 */
static int dest_marked(int id, const struct stat *file)
{
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	int r = 0;

	if (file)
		return !!(file->st_mode & S_ISVTX);
	h = uipc_ns_get(&r);
	if (!h)
		return 0;
	snprintf(name, sizeof(name), "shm.%d", id);
	if (fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	return !!(st.st_mode & S_ISVTX);
}

static void dest_mark(int id)
{
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	int r = 0, fd;

	h = uipc_ns_get(&r);
	if (!h)
		return;
	snprintf(name, sizeof(name), "shm.%d", id);
	fd = uipc_ns_openat(h, name, O_RDONLY);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0)
		fchmod(fd, (st.st_mode & 0777) | S_ISVTX);
	close(fd);
}

/* Marked for removal and attached nowhere: to be destroyed. */
static int unused(const struct uipc_shm_seg *g, int id, const struct stat *file)
{
	return (g->o.mode & SHM_DEST) && !nattch(g) && dest_marked(id, file);
}

static int shm_validate(const void *obj, size_t len, void *priv)
{
	const struct uipc_shm_seg *g = obj;

	(void)priv;
	if (len < sizeof(*g) || g->att_hwm > SHM_ATT_MAX ||
	    g->segsz > (uint64_t)INT64_MAX)
		return -EIO;
	return 0;
}

/* A removed segment's header made ready for the next (store.c, spares):
 * the entries in use and the times cleared; the pages past att_hwm were
 * never touched (the file is sparse there) and stay so. */
static void seg_recycle(void *obj)
{
	struct uipc_shm_seg *g = obj;
	uint32_t hwm = att_bound(g);

	memset(g->att, 0, hwm * sizeof(g->att[0]));
	g->att_hwm = 0;
	g->segsz = 0;
	g->atime = g->dtime = 0;
	g->cpid = g->lpid = 0;
	g->o.mode = 0;
}

const struct uipc_kind_ops uipc_shm_ops = {
	.hdr_size = sizeof(struct uipc_shm_seg),
	.repair = NULL,		/* nothing derived to rebuild */
	.validate = shm_validate,
	.map_len = SHM_HDR_SIZE,
	.keep_whole = 1,	/* destroyed by its sticky bit (dest_marked) */
	.recycle = seg_recycle,
};

static int seg_open_fd(int id, int flags)
{
	struct uipc_nsh *h;
	char name[64];
	int r = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	snprintf(name, sizeof(name), "shm.%d", id);
	return uipc_ns_openat(h, name, flags);
}

/* Is a FORK entry's child (or its parent still in fork) there?  fd is a
 * descriptor of the segment file, opened once per pass (-1: open it). */
static int ticket_held(int id, uint32_t i, int *fd)
{
	struct flock fl;

	if (*fd < 0)
		*fd = seg_open_fd(id, O_RDONLY);
	if (*fd < 0)
		return 1;	/* cannot tell: keep it */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = SHM_TICKET_OFF + (off_t)i;
	fl.l_len = 1;
	if (fcntl(*fd, F_OFD_GETLK, &fl) < 0)
		return 1;
	return fl.l_type != F_UNLCK;
}

static void att_drop(struct uipc_shm_seg *g, uint32_t i, pid_t pid)
{
	struct shm_att *a = &g->att[i];

	g->dtime = uipc_now();
	g->lpid = pid;
	memset(a, 0, sizeof(*a));
}

/* Drops the entries of dead processes and failed forks.  Segment locked.
 * Returns 1 if the segment is now to be destroyed (file: as unused's). */
static int reap(struct uipc_shm_seg *g, int id, const struct stat *file)
{
	struct uipc_nsh *h;
	int r = 0, fd = -1;
	uint32_t hwm;

	h = uipc_ns_get(&r);
	if (!h)
		return 0;
	hwm = att_bound(g);
	for (uint32_t i = 0; i < hwm; i++) {
		struct shm_att *a = &g->att[i];

		if (a->state == A_LIVE && !uipc_proc_alive(h, a->slot, a->gen, a->pid))
			att_drop(g, i, a->pid);
		else if (a->state == A_FORK && !ticket_held(id, i, &fd))
			att_drop(g, i, a->pid);
	}
	if (fd >= 0)
		close(fd);
	while (hwm && g->att[hwm - 1].state == A_FREE)
		hwm--;
	g->att_hwm = hwm;
	return unused(g, id, file);
}

/* The entry of (self) with state st, made if need be (a FORK entry is
 * always new: an earlier child may not have claimed its own yet);
 * -ENOMEM if full. */
static int att_find(struct uipc_shm_seg *g, const struct uipc_self *self,
		    uint32_t st, int make)
{
	uint32_t i, free_i = UINT32_MAX, hwm = att_bound(g);

	for (i = 0; i < hwm; i++) {
		struct shm_att *a = &g->att[i];

		if (st != A_FORK && a->state == st && a->slot == self->slot &&
		    a->gen == self->gen)
			return (int)i;
		if (a->state == A_FREE && free_i == UINT32_MAX)
			free_i = i;
	}
	if (!make)
		return -ENOENT;
	if (free_i == UINT32_MAX) {
		/* Past the first page: the header's next page may find the
		 * file system full (a fault, which the probe turns into an
		 * error). */
		if (hwm >= SHM_ATT_MAX ||
		    uipc_probe_read(&g->att[hwm], sizeof(g->att[0])) < 0)
			return -ENOMEM;
		free_i = hwm;
		g->att_hwm = hwm + 1;
	}
	g->att[free_i].slot = self->slot;
	g->att[free_i].gen = self->gen;
	g->att[free_i].pid = self->pid;
	g->att[free_i].count = 0;
	g->att[free_i].state = st;
	return (int)free_i;
}

/* arg: the segment's id (the header's is anyone's to write). */
static int decide_last(void *obj, void *arg, const struct stat *file)
{
	return reap(obj, *(const int *)arg, file) ? UIPC_RM_NOW : UIPC_RM_KEEP;
}

static void no_kill(struct uipc_map *m)
{
	(void)m;
}

/* Frees a segment found marked and unattached (after unlocking it). */
static void destroy_if_unused(int id)
{
	uipc_remove(UIPC_SHM, id, decide_last, &id, no_kill);
}

/* Locks the segment of m after looking for dead attachers.  A removed
 * segment its dead attachers were the last users of is destroyed here,
 * and answers -EINVAL as the kernel's, gone already, would; one destroyed
 * since m was looked up answers -EIDRM, as the kernel's does then.  The
 * caller keeps its reference either way. */
static int seg_lock(struct uipc_map *m)
{
	int r = uipc_obj_lock(m);

	if (r == 0 && atomic_load(&map_obj(m)->state) != OBJ_LIVE) {
		/* Removed since it was looked up, as the kernel's
		 * ipc_valid_object() finds it. */
		uipc_obj_unlock(m);
		r = -EIDRM;
	}
	if (r == 0 && reap(m->base, m->id, NULL)) {
		uipc_obj_unlock(m);
		destroy_if_unused(m->id);
		r = -EINVAL;
	}
	return r;
}

/* Segment id (or the one at index id, by_index), locked by seg_lock, into
 * *mp; seg_put() undoes it. */
static int seg_get(int id, int by_index, struct uipc_map **mp)
{
	struct uipc_map *m;
	int r;

	r = by_index ? uipc_obj_get_by_index(UIPC_SHM, id, &m) :
		       uipc_obj_get(UIPC_SHM, id, &m);
	if (r < 0)
		return r;
	r = seg_lock(m);
	if (r < 0) {
		uipc_map_put(m);
		return r;
	}
	*mp = m;
	return 0;
}

static void seg_put(struct uipc_map *m)
{
	uipc_obj_unlock(m);
	uipc_map_put(m);
}

/* Counts one attachment of ours (d = +1) or one fewer (d = -1) in the
 * segment of m, a reference the caller holds: an attachment keeps the one
 * its shmat took, so that its shmdt finds the segment whatever the
 * world-writable id table says by then (and d = -1 drops it).  A removed
 * segment whose other attachers all died is gone first, as the kernel's
 * would be: -EINVAL. */
static int account(struct uipc_map *m, int d)
{
	struct uipc_shm_seg *g;
	struct uipc_self self;
	int r, i, gone, id = m->id;

	r = uipc_proc_self(&self);
	if (r == 0)
		r = seg_lock(m);
	if (r < 0) {
		if (d < 0)
			uipc_map_put(m);
		return r;
	}
	g = m->base;
	i = att_find(g, &self, A_LIVE, d > 0);
	if (i >= 0 && d > 0) {
		g->att[i].count++;
		g->atime = uipc_now();
	} else if (i >= 0) {
		if (g->att[i].count)
			g->att[i].count--;
		g->dtime = uipc_now();
		if (!g->att[i].count)
			memset(&g->att[i], 0, sizeof(g->att[i]));
	}
	if (i >= 0)
		g->lpid = self.pid;
	/* d < 0 with nothing counted for us: a corrupt header; go on. */
	r = i >= 0 || d < 0 ? 0 : i;
	gone = unused(g, id, NULL);
	uipc_obj_unlock(m);
	/* A detach's reference goes first: the destruction may keep the
	 * segment's file and mapping for reuse if nobody else holds them. */
	if (d < 0)
		uipc_map_put(m);
	if (gone)
		destroy_if_unused(id);
	return r;
}

/* ---------------------------------------------------------------------
 * This process's attachments.
 * ------------------------------------------------------------------- */

struct attach {
	uintptr_t addr;
	size_t len;
	int id;
	struct uipc_map *m;	/* the reference its shmat took */
};

static struct attach *g_att;
static int g_natt, g_att_cap;
static pthread_mutex_t g_att_lock = PTHREAD_MUTEX_INITIALIZER;

/* Pending forks: the FORK entries made by the prepare handler. */
struct ticket {
	int id;
	int ent;
	int fd;
};
static struct ticket *g_tk;
static int g_ntk;

/* The bytes of the segment this process made last, as shmget mapped them
 * (read-write, anywhere), kept for its first shmat, which then maps
 * nothing.  Under g_att_lock. */
static int g_made_id = -1;
static void *g_made_addr;
static size_t g_made_len;

/* Keeps the mapping of segment id's bytes, in place of the one kept
 * before. */
static void made_keep(int id, void *addr, size_t len)
{
	size_t old_len;
	void *old;

	pthread_mutex_lock(&g_att_lock);
	old = g_made_addr;
	old_len = g_made_len;
	g_made_id = id;
	g_made_addr = addr;
	g_made_len = len;
	pthread_mutex_unlock(&g_att_lock);
	if (old)
		munmap(old, old_len);
}

/* The kept mapping if it is segment id's (the caller owns it now), or
 * NULL. */
static void *made_take(int id, size_t *len)
{
	void *p = NULL;

	pthread_mutex_lock(&g_att_lock);
	if (g_made_addr && id == g_made_id) {
		p = g_made_addr;
		*len = g_made_len;
		g_made_addr = NULL;
		g_made_id = -1;
	}
	pthread_mutex_unlock(&g_att_lock);
	return p;
}

static int local_add(uintptr_t addr, size_t len, struct uipc_map *m)
{
	if (g_natt == g_att_cap) {
		int cap = g_att_cap ? 2 * g_att_cap : 16;
		struct attach *n = realloc(g_att, (size_t)cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		g_att = n;
		g_att_cap = cap;
	}
	g_att[g_natt].addr = addr;
	g_att[g_natt].len = len;
	g_att[g_natt].id = m->id;
	g_att[g_natt].m = m;
	g_natt++;
	return 0;
}

static void local_del(int i)
{
	g_att[i] = g_att[--g_natt];
}

/* A new fork entry for segment id holding n of our attachments, and the
 * OFD lock that keeps it alive while the child is on its way. */
static void prepare_one(int id, uint32_t n, const struct uipc_self *self)
{
	struct uipc_shm_seg *g;
	struct uipc_map *m;
	struct ticket *t;
	struct flock fl;
	int ent, fd;

	t = realloc(g_tk, (size_t)(g_ntk + 1) * sizeof(*t));
	if (!t)
		return;
	g_tk = t;
	fd = seg_open_fd(id, O_RDONLY);
	if (fd < 0)
		return;
	if (uipc_obj_get(UIPC_SHM, id, &m) < 0) {
		close(fd);
		return;
	}
	g = m->base;
	if (uipc_obj_lock(m) < 0)
		goto fail;
	ent = att_find(g, self, A_FORK, 1);
	if (ent < 0) {
		uipc_obj_unlock(m);
		goto fail;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = SHM_TICKET_OFF + ent;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		memset(&g->att[ent], 0, sizeof(g->att[ent]));
		uipc_obj_unlock(m);
		goto fail;
	}
	g->att[ent].count = n;
	g->atime = uipc_now();
	g->lpid = self->pid;
	uipc_obj_unlock(m);
	uipc_map_put(m);
	g_tk[g_ntk].id = id;
	g_tk[g_ntk].ent = ent;
	g_tk[g_ntk].fd = fd;
	g_ntk++;
	return;
fail:
	uipc_map_put(m);
	close(fd);
}

static void shm_prepare(void)
{
	struct uipc_self self;

	pthread_mutex_lock(&g_att_lock);
	g_ntk = 0;
	if (!g_natt || uipc_proc_self(&self) < 0)
		return;
	for (int i = 0; i < g_natt; i++) {
		uint32_t n = 0;
		int seen = 0;

		for (int j = 0; j < i && !seen; j++)
			seen = g_att[j].id == g_att[i].id;
		if (seen)
			continue;
		for (int j = i; j < g_natt; j++)
			n += g_att[j].id == g_att[i].id;
		prepare_one(g_att[i].id, n, &self);
	}
}

static void shm_parent(void)
{
	for (int i = 0; i < g_ntk; i++)
		close(g_tk[i].fd);
	g_ntk = 0;
	pthread_mutex_unlock(&g_att_lock);
}

/* In the child: the fork entries become ours. */
static void shm_child(void)
{
	struct uipc_self self;

	pthread_mutex_init(&g_att_lock, NULL);
	if (g_ntk && uipc_proc_self(&self) == 0) {
		uipc_proc_note(UIPC_USE_SHM);
		for (int i = 0; i < g_ntk; i++) {
			struct uipc_shm_seg *g;
			struct uipc_map *m;

			if (uipc_obj_get(UIPC_SHM, g_tk[i].id, &m) < 0)
				continue;
			g = m->base;
			if (uipc_obj_lock(m) == 0) {
				struct shm_att *a = &g->att[g_tk[i].ent];

				if (a->state == A_FORK) {
					a->slot = self.slot;
					a->gen = self.gen;
					a->pid = self.pid;
					a->state = A_LIVE;
				}
				uipc_obj_unlock(m);
			}
			uipc_map_put(m);
		}
	}
	for (int i = 0; i < g_ntk; i++)
		close(g_tk[i].fd);
	g_ntk = 0;
}

static void register_atfork(void)
{
	pthread_atfork(shm_prepare, shm_parent, shm_child);
}

/* ---------------------------------------------------------------------
 * shmget
 * ------------------------------------------------------------------- */

struct new_seg {
	uint64_t size;
	int64_t max;
	int flg;
};

static int seg_create_check(void *arg)
{
	struct new_seg *a = arg;

	if (a->size < 1 || a->size > (uint64_t)a->max)
		return -EINVAL;
	if (round_pages(a->size) * page_size() < a->size)
		return -ENOSPC;
	return 0;
}

#ifndef SHM_HUGE_SHIFT
#define SHM_HUGE_SHIFT 26
#define SHM_HUGE_MASK 0x3f
#endif

/* The number a one-line file holds, or dflt. */
static long read_number(const char *path, long dflt)
{
	FILE *f = fopen(path, "re");
	long v;

	if (!f)
		return dflt;
	if (fscanf(f, "%ld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

/* The default huge page size in KiB, 0 if the kernel has none. */
static unsigned long default_huge_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	unsigned long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * SHM_HUGETLB.  uipc's segments are files of ordinary pages, but a request
 * for huge pages meets the kernel's refusals first, in the kernel's order:
 * EINVAL for a page size the kernel does not have, EPERM without
 * CAP_IPC_LOCK or the group vm.hugetlb_shm_group names, ENOMEM when too few
 * huge pages can be reserved (SHM_NORESERVE reserves none).  Where the
 * kernel would hand out huge pages, the segment gets ordinary ones.
 */
static int seg_huge_check(void *arg)
{
	const struct new_seg *a = arg;
	int log = (int)(((unsigned)a->flg >> SHM_HUGE_SHIFT) & SHM_HUGE_MASK);
	unsigned long kb;
	long free_, resv, over, surplus;
	uint64_t need;
	char dir[96], path[128];

	if (!(a->flg & SHM_HUGETLB))
		return 0;
	if (log && (log < 12 || log > 40))
		return -EINVAL;
	kb = log ? 1UL << (log - 10) : default_huge_kb();
	if (!kb)
		return -EINVAL;
	snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%lukB", kb);
	if (access(dir, F_OK) != 0)
		return -EINVAL;
	if (!uipc_capable(CAP_IPC_LOCK) &&
	    !uipc_in_group((gid_t)read_number("/proc/sys/vm/hugetlb_shm_group", 0)))
		return -EPERM;
	if (a->flg & SHM_NORESERVE)
		return 0;
#define HUGE_COUNT(name) \
	(snprintf(path, sizeof(path), "%s/" name, dir), read_number(path, 0))
	free_ = HUGE_COUNT("free_hugepages");
	resv = HUGE_COUNT("resv_hugepages");
	over = HUGE_COUNT("nr_overcommit_hugepages");
	surplus = HUGE_COUNT("surplus_hugepages");
#undef HUGE_COUNT
	need = (a->size + (kb << 10) - 1) / (kb << 10);
	if ((int64_t)need > free_ - resv + (over > surplus ? over - surplus : 0))
		return -ENOMEM;
	return 0;
}

static int seg_init(void *obj, void *arg)
{
	struct uipc_shm_seg *g = obj;

	g->segsz = ((struct new_seg *)arg)->size;
	g->cpid = uipc_getpid();
	return 0;
}

static int seg_more_checks(void *obj, void *arg)
{
	return ((struct new_seg *)arg)->size > ((struct uipc_shm_seg *)obj)->segsz ?
		-EINVAL : 0;
}

static long do_shmget(key_t key, size_t size, int shmflg)
{
	struct uipc_nsh *h;
	struct new_seg a;
	struct uipc_new n;
	void *bytes = NULL;
	int r = 0;
	long id;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	a.size = size;
	a.max = uipc_limit(h, UL_SHMMAX);
	a.flg = shmflg;
	memset(&n, 0, sizeof(n));
	n.rest_out = &bytes;
	n.kind = UIPC_SHM;
	n.key = key;
	n.flg = shmflg;
	n.units = (int64_t)round_pages(size);
	n.file_size = SHM_HDR_SIZE + (size_t)round_pages(size) * page_size();
	n.create_check = seg_create_check;
	n.store_check = seg_huge_check;
	n.init = seg_init;
	n.more_checks = seg_more_checks;
	n.arg = &a;
	id = uipc_ipcget(&n);
	if (bytes)
		made_keep((int)id, bytes, n.file_size - SHM_HDR_SIZE);
	return id;
}

int uipc_shmget(key_t key, size_t size, int shmflg)
{
	return (int)UIPC_RET(do_shmget(key, size, shmflg));
}

/* ---------------------------------------------------------------------
 * shmat, shmdt
 * ------------------------------------------------------------------- */

/* A MAP_FIXED over [addr, addr + len) ended our attachments there. */
static void replaced(uintptr_t addr, size_t len)
{
	for (int i = 0; i < g_natt;) {
		if (g_att[i].addr >= addr && g_att[i].addr < addr + len) {
			struct uipc_map *m = g_att[i].m;

			local_del(i);
			account(m, -1);
			continue;
		}
		i++;
	}
}

/* Below this the kernel moves a hint up (LSM_MMAP_MIN_ADDR's 64 KiB): a
 * free range there is one it did not refuse. */
#define LOW_HINTS ((uintptr_t)65536)

/* A kernel without MAP_FIXED_NOREPLACE placed the mapping away from the
 * address asked, which it does for a free range only if the range is not
 * one a process may map: what the flag would have answered.  In use
 * (EEXIST there, shmat's EINVAL); below vm.mmap_min_addr, EPERM; else out
 * of the address space, ENOMEM. */
static int hint_refused(uintptr_t addr, size_t len)
{
	static uintptr_t min_addr;
	size_t pg = page_size();
	unsigned char v;

	for (size_t off = 0; off < len; off += pg)
		if (mincore((void *)(addr + off), pg, &v) == 0)
			return -EINVAL;
	if (!min_addr) {
		char buf[32] = "";
		int fd = open("/proc/sys/vm/mmap_min_addr", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf) - 1) < 0)
				buf[0] = 0;
			close(fd);
		}
		min_addr = buf[0] ? (uintptr_t)strtoull(buf, NULL, 10) : 65536;
		if (!min_addr)
			min_addr = 1;
	}
	/* Below LOW_HINTS the caller tries MAP_FIXED: the kernel's answer. */
	return addr < min_addr && addr + len > LOW_HINTS ? -EPERM : -ENOMEM;
}

static long do_shmat(int shmid, const void *shmaddr, int shmflg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	uintptr_t addr = (uintptr_t)shmaddr;
	int prot, acc, oflags, flags = MAP_SHARED, fd, fixed = 0;
	struct uipc_shm_seg *g;
	struct uipc_map *m;
	struct stat st;
	size_t len, flen = 0;
	void *p;
	long r;

	if (shmid < 0)
		return -EINVAL;
	if (addr) {
		if (addr & (SHMLBA - 1)) {
			if (shmflg & SHM_RND) {
				addr &= ~(uintptr_t)(SHMLBA - 1);
				if (!addr && (shmflg & SHM_REMAP))
					return -EINVAL;
			} else if (addr & (page_size() - 1)) {
				return -EINVAL;
			}
		}
		/* Before Linux 4.17 MAP_FIXED_NOREPLACE is unknown, and the
		 * address only a hint: checked after the mmap. */
		flags |= (shmflg & SHM_REMAP) ? MAP_FIXED :
			 uipc_fallback(UF_MAP_NOREPLACE) ? 0 : MAP_FIXED_NOREPLACE;
		/* At addr, even when SHM_RND made it 0 (the kernel's
		 * MAP_FIXED at 0: EPERM below mmap_min_addr). */
		fixed = 1;
	} else if (shmflg & SHM_REMAP) {
		return -EINVAL;
	}
	if (shmflg & SHM_RDONLY) {
		prot = PROT_READ;
		acc = S_IRUGO;
		oflags = O_RDONLY;
	} else {
		prot = PROT_READ | PROT_WRITE;
		acc = S_IRUGO | S_IWUGO;
		oflags = O_RDWR;
	}
	if (shmflg & SHM_EXEC) {
		prot |= PROT_EXEC;
		acc |= 0111;
	}
	uipc_cred_refresh();
	r = uipc_obj_get(UIPC_SHM, shmid, &m);
	if (r < 0)
		return r;
	g = m->base;
	r = uipc_ipcperms(&g->o, acc);
	len = (size_t)round_pages(g->segsz) * page_size();
	if (r < 0)
		goto out_put;
	/* shmget's mapping of the bytes serves a first attach that asks for
	 * what it has: read-write, anywhere.  It was sized by shmget, which
	 * noted the size. */
	p = made_take(shmid, &flen);
	if (p && (fixed || prot != (PROT_READ | PROT_WRITE))) {
		munmap(p, flen);
		p = NULL;
	}
	if (p) {
		fd = -1;
	} else {
		/* The length mapped is the file's, a fact the kernel keeps
		 * (segsz is in the header, which every attacher may write):
		 * the two must agree. */
		fd = seg_open_fd(shmid, oflags);
		if (fd < 0) {
			r = fd == -ENOENT ? -EINVAL : fd;
			goto out_put;
		}
		flen = fstat(fd, &st) < 0 || st.st_size < SHM_HDR_SIZE ? (size_t)-1 :
		       (size_t)st.st_size - SHM_HDR_SIZE;
	}
	if (flen != len || (addr && !(shmflg & SHM_REMAP) && addr + len < addr)) {
		if (p)
			munmap(p, flen);
		else
			close(fd);
		/* A file cut to its header by a removal meanwhile (store.c
		 * shed_bytes) is a segment removed, as the kernel's attach
		 * finds it (EIDRM), not a corrupt one. */
		r = flen == len ? -EINVAL :
		    atomic_load(&g->o.state) != OBJ_LIVE ? -EIDRM : -EIO;
		goto out_put;
	}
	pthread_once(&once, register_atfork);
	pthread_mutex_lock(&g_att_lock);
	r = 0;
	if (!p) {
		p = mmap((void *)addr, len, prot, flags, fd, SHM_HDR_SIZE);
		r = p == MAP_FAILED ? -errno : 0;
		if (r == 0 && fixed && (uintptr_t)p != addr) {
			munmap(p, len);	/* a kernel without MAP_FIXED_NOREPLACE */
			r = hint_refused(addr, len);
			if (r == -ENOMEM && addr + len <= LOW_HINTS) {
				/* Free, and below where the kernel places
				 * anything by itself: only the program's own
				 * MAP_FIXED could take it meanwhile. */
				p = mmap((void *)addr, len, prot,
					 (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED,
					 fd, SHM_HDR_SIZE);
				r = p == MAP_FAILED ? -errno : 0;
			}
		}
		close(fd);
		if (r == -EEXIST)
			r = -EINVAL;	/* an address in use without SHM_REMAP */
	}
	if (r < 0)
		goto out;
	if (shmflg & SHM_REMAP)
		replaced((uintptr_t)p, len);
	uipc_proc_note(UIPC_USE_SHM);
	r = account(m, +1);
	if (r == 0)
		r = local_add((uintptr_t)p, len, m);
	if (r < 0) {
		munmap(p, len);
		goto out;
	}
	pthread_mutex_unlock(&g_att_lock);
	return (long)(uintptr_t)p;	/* m's reference stays with it */
out:
	pthread_mutex_unlock(&g_att_lock);
out_put:
	uipc_map_put(m);
	return r;
}

void *uipc_shmat(int shmid, const void *shmaddr, int shmflg)
{
	int saved_errno = errno;
	long r = do_shmat(shmid, shmaddr, shmflg);

	/* Addresses are never in the errno range: the top page is kernel's. */
	if (r < 0 && r >= -4095) {
		errno = (int)-r;
		return (void *)-1;
	}
	errno = saved_errno;
	return (void *)(uintptr_t)r;
}

static int do_shmdt(const void *shmaddr)
{
	uintptr_t addr = (uintptr_t)shmaddr;
	struct uipc_map *m = NULL;

	if (addr & (page_size() - 1))
		return -EINVAL;
	pthread_mutex_lock(&g_att_lock);
	for (int i = 0; i < g_natt; i++)
		if (g_att[i].addr == addr) {
			munmap((void *)addr, g_att[i].len);
			m = g_att[i].m;
			local_del(i);
			break;
		}
	if (m)
		account(m, -1);	/* and m's reference goes */
	pthread_mutex_unlock(&g_att_lock);
	return m ? 0 : -EINVAL;
}

int uipc_shmdt(const void *shmaddr)
{
	return (int)UIPC_RET(do_shmdt(shmaddr));
}

/* ---------------------------------------------------------------------
 * shmctl
 * ------------------------------------------------------------------- */

static void fill_ds(const struct uipc_shm_seg *g, struct shmid_ds *ds)
{
	memset(ds, 0, sizeof(*ds));
	uipc_fill_perm(&g->o, &ds->shm_perm);
	ds->shm_segsz = g->segsz;
	ds->shm_atime = g->atime;
	ds->shm_dtime = g->dtime;
	ds->shm_ctime = g->o.ctime;
	ds->shm_cpid = g->cpid;
	ds->shm_lpid = g->lpid;
	ds->shm_nattch = nattch(g);
}

long uipc_shm_rss(int id)
{
	struct uipc_map *m;
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	off_t pos, end, data = 0;
	int r = 0, fd;

	h = uipc_ns_get(&r);
	if (!h)
		return 0;
	snprintf(name, sizeof(name), "shm.%d", id);
	/* A segment this process maps already: its header pages are those
	 * mincore finds in the page cache through that mapping, and the
	 * file's blocks come from one fstatat, where the extents below cost
	 * an open, lseeks and a close per segment (SHM_INFO of eight 8 MiB
	 * segments: 36 to 28 us). */
	if (uipc_obj_peek(UIPC_SHM, id, &m) == 0) {
		size_t pg = page_size(), n = SHM_HDR_SIZE / pg, hdr = 0;
		unsigned char vec[SHM_HDR_SIZE / 4096];

		r = m->len >= SHM_HDR_SIZE && n <= sizeof(vec) &&
		    mincore(m->base, SHM_HDR_SIZE, vec) == 0 &&
		    fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		uipc_map_put(m);
		if (r) {
			for (size_t i = 0; i < n; i++)
				hdr += vec[i] & 1;
			data = st.st_blocks * 512 / (off_t)pg - (off_t)hdr;
			return data > 0 ? (long)data : 0;
		}
	}
	fd = uipc_ns_openat(h, name, O_RDONLY);
	if (fd < 0) {
		/* Not ours to open: the file's blocks, less the header's
		 * first page (its only one, but for hundreds of attachers). */
		if (fstatat(h->dirfd, name, &st, 0) < 0)
			return 0;
		data = st.st_blocks * 512 / (off_t)page_size();
		return data > 0 ? (long)data - 1 : 0;
	}
	/* The file's pages less the header's: its extents below
	 * SHM_HDR_SIZE (one page, as a rule).  Not the extents of the bytes
	 * themselves: finding a hole walks every page before it, and a
	 * program that asks SHM_INFO of big segments (stress-ng) paid for
	 * each page of each. */
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	pos = 0;
	while (pos < SHM_HDR_SIZE && (pos = lseek(fd, pos, SEEK_DATA)) >= 0 &&
	       pos < SHM_HDR_SIZE) {
		end = lseek(fd, pos, SEEK_HOLE);
		if (end <= pos)
			break;
		if (end > SHM_HDR_SIZE)
			end = SHM_HDR_SIZE;
		data += end - pos;
		pos = end;
	}
	close(fd);
	data = st.st_blocks * 512 / (off_t)page_size() -
	       data / (off_t)page_size();
	return data > 0 ? (long)data : 0;
}

static long shmctl_stat(int shmid, int cmd, struct shmid_ds *buf)
{
	struct uipc_shm_seg *g;
	struct shmid_ds ds;
	struct uipc_map *m;
	long r;

	r = seg_get(shmid, cmd != IPC_STAT, &m);
	if (r < 0)
		return r;
	g = m->base;
	if (cmd != SHM_STAT_ANY)
		r = uipc_ipcperms(&g->o, S_IRUGO);
	if (r == 0) {
		fill_ds(g, &ds);
		r = cmd == IPC_STAT ? 0 : g->o.id;
	}
	seg_put(m);
	if (r >= 0 && uipc_copy_to_user(buf, &ds, sizeof(ds)) < 0)
		r = -EFAULT;
	return r;
}

static long shmctl_info(int cmd, void *buf)
{
	struct uipc_nsh *h;
	int r = 0, max, in_use = 0;

	h = uipc_ns_get(&r);
	if (!h)
		return r;
	max = uipc_max_idx(UIPC_SHM, &in_use);
	if (cmd == IPC_INFO) {
		struct shminfo si;

		memset(&si, 0, sizeof(si));
		si.shmmax = (unsigned long)uipc_limit(h, UL_SHMMAX);
		si.shmmin = 1;
		si.shmmni = (unsigned long)uipc_limit(h, UL_SHMMNI);
		si.shmseg = (unsigned long)uipc_limit(h, UL_SHMMNI);
		si.shmall = (unsigned long)uipc_limit(h, UL_SHMALL);
		if (uipc_copy_to_user(buf, &si, sizeof(si)) < 0)
			return -EFAULT;
	} else {
		struct shm_info si;

		memset(&si, 0, sizeof(si));
		si.used_ids = in_use;
		si.shm_tot = (unsigned long)h->ns->ids[UIPC_SHM].units;
		for (int i = 0; i <= max; i++) {
			uint32_t s = h->ns->ids[UIPC_SHM].slot[i];

			if (s)
				si.shm_rss += (unsigned long)
					uipc_shm_rss(s - 1 > (uint32_t)INT_MAX ? -1 : (int)(s - 1));
		}
		if (uipc_copy_to_user(buf, &si, sizeof(si)) < 0)
			return -EFAULT;
	}
	return max < 0 ? 0 : max;
}

/*
 * The owner check of IPC_SET, IPC_RMID and SHM_LOCK (the kernel's
 * ipcctl_obtain_check): the header's uid and cuid, as uipc_check_owner
 * reads them, and, since every user the segment lets in may write its
 * header, a fact the kernel keeps: the caller's class may write the
 * segment's own file (its mode lets in only the classes the segment lets
 * in; see store.c file_mode).  A header owner forged by a reader of the
 * segment thus gets nobody in who has no access to it.  CAP_SYS_ADMIN
 * passes, as in the kernel.  file: the file's fstatat if the caller has
 * it (uipc_remove), else NULL.  0 or -EPERM.
 */
static int seg_owner(const struct uipc_shm_seg *g, int id,
		     int (*check)(const struct uipc_obj *), const struct stat *file)
{
	struct uipc_nsh *h;
	struct stat st;
	char name[64];
	int r = check(&g->o), fd;

	if (r < 0)
		return r;
	h = uipc_ns_get(&r);
	if (!h)
		return r;
	/* The file first: one call, which usually answers (root's too), where
	 * the capabilities cost a capget and a look at the user namespace. */
	snprintf(name, sizeof(name), "shm.%d", id);
	/* Its owner may write it if the owner bits say so (no ACL entry
	 * applies to the owner): one fstatat answers that, where the open
	 * and its close cost twice as much (a segment's life 7% faster). */
	if (file)
		st = *file;
	if ((file || fstatat(h->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) &&
	    S_ISREG(st.st_mode) && uipc_owns_file(&st) && (st.st_mode & S_IWUSR))
		return 0;
	/* An open for writing, not faccessat(AT_EACCESS|AT_SYMLINK_NOFOLLOW):
	 * musl needs faccessat2 (Linux 5.8) for those flags and bionic
	 * refuses them, which would deny every owner. */
	fd = openat(h->dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return uipc_capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
}

/* SHM_LOCK's owner: the uid or the creator, without CAP_SYS_ADMIN's
 * override (CAP_IPC_LOCK is the one that counts there). */
static int lock_owner(const struct uipc_obj *o)
{
	uid_t euid = uipc_euid();

	return euid == o->uid || euid == o->cuid ? 0 : -EPERM;
}

static long shmctl_set(int shmid, const struct shmid_ds *ds)
{
	struct uipc_map *m;
	long r;

	r = seg_get(shmid, 0, &m);
	if (r < 0)
		return r;
	r = seg_owner(m->base, m->id, uipc_check_owner, NULL);
	if (r == 0)
		r = uipc_set_perm(m, &ds->shm_perm);	/* keeps the mark */
	seg_put(m);
	return r;
}

/* The kernel's shmctl_do_lock(): only a flag here (see docs/uipc.md). */
static long shmctl_lock(int shmid, int cmd)
{
	struct uipc_shm_seg *g;
	struct uipc_map *m;
	struct rlimit rl;
	long r;

	r = seg_get(shmid, 0, &m);
	if (r < 0)
		return r;
	g = m->base;
	if (!uipc_capable(CAP_IPC_LOCK)) {
		if (seg_owner(g, m->id, lock_owner, NULL) < 0)
			r = -EPERM;
		else if (cmd == SHM_LOCK && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
			 rl.rlim_cur == 0)
			r = -EPERM;
		else if (cmd == SHM_LOCK && !(g->o.mode & SHM_LOCKED) &&
			 rl.rlim_cur != RLIM_INFINITY &&
			 round_pages(g->segsz) * page_size() > rl.rlim_cur)
			r = -ENOMEM;
	}
	if (r == 0) {
		if (cmd == SHM_LOCK)
			g->o.mode |= SHM_LOCKED;
		else
			g->o.mode &= ~(uint32_t)SHM_LOCKED;
	}
	seg_put(m);
	return r;
}

static int decide_rmid(void *obj, void *arg, const struct stat *file)
{
	struct uipc_shm_seg *g = obj;
	int r = seg_owner(g, *(const int *)arg, uipc_check_owner, file);

	if (r < 0)
		return r;
	reap(g, *(const int *)arg, file);
	if (!nattch(g))
		return UIPC_RM_NOW;
	g->o.mode |= SHM_DEST;
	dest_mark(*(const int *)arg);
	return UIPC_RM_PRIVATE;
}

static long do_shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	struct shmid_ds ds;
	size_t flen;
	void *p;

	if (cmd < 0 || shmid < 0)
		return -EINVAL;
	uipc_cred_refresh();
	switch (cmd) {
	case IPC_INFO:
	case SHM_INFO:
		return shmctl_info(cmd, buf);
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY:
		return shmctl_stat(shmid, cmd, buf);
	case IPC_SET:
		if (uipc_copy_from_user(&ds, buf, sizeof(ds)) < 0)
			return -EFAULT;
		return shmctl_set(shmid, &ds);
	case IPC_RMID:
		p = made_take(shmid, &flen);	/* a removed file must not stay mapped */
		if (p)
			munmap(p, flen);
		return uipc_remove(UIPC_SHM, shmid, decide_rmid, &shmid, no_kill);
	case SHM_LOCK:
	case SHM_UNLOCK:
		return shmctl_lock(shmid, cmd);
	default:
		return -EINVAL;
	}
}

int uipc_shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	return (int)UIPC_RET(do_shmctl(shmid, cmd, buf));
}

/* ---------------------------------------------------------------------
 * Exit work and the tool.
 * ------------------------------------------------------------------- */

void uipc_shm_exit(struct uipc_nsh *h, uint32_t slot, uint32_t gen)
{
	int max = uipc_max_idx(UIPC_SHM, NULL);

	/* Whose entries they are is asked of the process table (reap). */
	(void)h;
	(void)slot;
	(void)gen;
	/* seg_get reaps each segment whole, its entries and with them those
	 * of any other dead process or failed fork (a child killed before it
	 * claimed its FORK entry is nobody's registration), and destroys a
	 * removed one left unattached, as the kernel's goes with its last
	 * attacher. */
	for (int idx = 0; idx <= max; idx++) {
		struct uipc_map *m;

		if (seg_get(idx, 1, &m) == 0)
			seg_put(m);
	}
}

int uipc_shm_snapshot(int id, struct uipc_shm_info *out)
{
	struct uipc_shm_seg *g;
	struct uipc_map *m;
	int r;

	memset(out, 0, sizeof(*out));
	r = seg_get(id, 0, &m);
	if (r < 0)
		return r;
	g = m->base;
	fill_ds(g, &out->ds);
	for (uint32_t i = 0, hwm = att_bound(g); i < hwm; i++)
		if (g->att[i].state != A_FREE && out->nproc < 16)
			out->pid[out->nproc++] = g->att[i].pid;
	seg_put(m);
	return 0;
}
