/*
 * procview.c: the shim's /proc/sysvipc and /proc/sys/kernel views.
 *
 * Programs such as util-linux ipcs learn what exists by reading
 * /proc/sysvipc/{msg,sem,shm}, and the limits by reading
 * /proc/sys/kernel/{msgmni,msgmax,msgmnb,sem,shmmax,shmall,shmmni}.  Under
 * the shim those reads must describe the uipc namespace, not the kernel, so
 * opening one of these paths for reading gives a memory file holding what
 * the kernel would print for our objects, in its exact format
 * (ipc/msg.c, ipc/sem.c, ipc/shm.c: sysvipc_*_proc_show).  Opening one
 * of them for writing goes to the kernel as before: the shim does not turn
 * sysctl writes into uipc limit changes (`uipc limits` does that).
 */
#include "internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "procview.h"

enum view {
	V_NONE, V_MSG, V_SEM, V_SHM, V_MSGMNI, V_MSGMAX, V_MSGMNB, V_SEMLIM,
	V_SHMMAX, V_SHMALL, V_SHMMNI
};

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
};

static enum view view_of(const char *path)
{
	if (!path || strncmp(path, "/proc/sys", 9))
		return V_NONE;
	for (int v = V_MSG; v <= V_SHMMNI; v++)
		if (!strcmp(path, view_path[v]))
			return (enum view)v;
	return V_NONE;
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
	struct shm_info si;
	struct shmid_ds ds;
	int max = uipc_shmctl(0, SHM_INFO, (struct shmid_ds *)&si);
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

static void show_limit(int fd, enum view v)
{
	struct msginfo mi = { 0 };
	struct seminfo si = { 0 };
	struct shminfo hi = { 0 };

	if (v <= V_MSGMNB)
		uipc_msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	else if (v == V_SEMLIM)
		uipc_semctl(0, 0, IPC_INFO, &si);
	else
		uipc_shmctl(0, IPC_INFO, (struct shmid_ds *)&hi);
	switch (v) {
	case V_MSGMNI: dprintf(fd, "%d\n", mi.msgmni); break;
	case V_MSGMAX: dprintf(fd, "%d\n", mi.msgmax); break;
	case V_MSGMNB: dprintf(fd, "%d\n", mi.msgmnb); break;
	case V_SEMLIM:
		dprintf(fd, "%d\t%d\t%d\t%d\n", si.semmsl, si.semmns, si.semopm,
			si.semmni);
		break;
	case V_SHMMAX: dprintf(fd, "%lu\n", hi.shmmax); break;
	case V_SHMALL: dprintf(fd, "%lu\n", hi.shmall); break;
	case V_SHMMNI: dprintf(fd, "%lu\n", hi.shmmni); break;
	default: break;
	}
}

/* A memory file holding view v, positioned at its start, or -1. */
static int view_fd(enum view v, int flags)
{
	int saved = errno;
	int fd = memfd_create("uipc-sysvipc",
			      (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);

	if (fd < 0)
		return -1;
	if (v == V_MSG)
		show_msg(fd);
	else if (v == V_SEM)
		show_sem(fd);
	else if (v == V_SHM)
		show_shm(fd);
	else
		show_limit(fd, v);
	lseek(fd, 0, SEEK_SET);
	errno = saved;
	return fd;
}

int uipc_view_open(const char *path, int flags)
{
	enum view v = view_of(path);

	if (v == V_NONE || (flags & O_ACCMODE) != O_RDONLY)
		return -2;
	return view_fd(v, flags);
}

FILE *uipc_view_fopen(const char *path, const char *mode)
{
	enum view v = view_of(path);
	FILE *f;
	int fd;

	if (v == V_NONE || !mode || mode[0] != 'r' || strchr(mode, '+'))
		return NULL;
	fd = view_fd(v, strchr(mode, 'e') ? O_CLOEXEC : 0);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

int uipc_view_exists(const char *path)
{
	return view_of(path) != V_NONE;
}
