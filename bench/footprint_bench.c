/*
 * footprint_bench: what an object costs in memory, on the kernel and on
 * uipc, as the number of objects grows (issue 15, item 6).
 *
 * For 100, 1000 and 10000 message queues, sets of one semaphore and sets
 * of 16 (and 4 KiB segments, up to shmmni), one process makes them, and
 * the bench prints per object:
 *  - kernel: the growth of the kernel's unreclaimable slab (/proc/meminfo
 *    SUnreclaim) and of Shmem (segments), which is what those objects cost
 *    the machine;
 *  - uipc: the namespace's tmpfs blocks (the files' st_blocks), and the
 *    growth of the maker's VmSize (address space) and VmRSS.
 * Other activity on the machine moves the kernel's figures: they are
 * estimates.  Every object is removed afterwards.
 *
 * Usage: footprint_bench [--quick]   (--quick: 100 and 1000 only)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uipc.h"

/* A field of /proc/meminfo or /proc/self/status, in KiB, -1 if absent. */
static long kib(const char *file, const char *field)
{
	char line[256];
	size_t n = strlen(field);
	FILE *f = fopen(file, "r");
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The namespace directory's files, in KiB of tmpfs blocks. */
static long ns_kib(void)
{
	char dir[4096], path[4400];
	const char *d = getenv("UIPC_NS");
	struct dirent *de;
	struct stat st;
	long long blocks = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s", d && *d ? d : "/dev/shm/uipc");
	dp = opendir(dir);
	if (!dp)
		return -1;
	while ((de = readdir(dp)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "ns") &&
		    strcmp(de->d_name, "limits")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (lstat(path, &st) == 0)
				blocks += st.st_blocks;
		}
	closedir(dp);
	return (long)(blocks / 2);
}

enum { MSGQ, SEM1, SEM16, SHM4K, NKINDS };
static const char *const kname[NKINDS] = {
	"message queue", "set of 1 semaphore", "set of 16 semaphores",
	"4 KiB segment" };

static int make(int uipc, int kind)
{
	switch (kind) {
	case MSGQ:
		return uipc ? uipc_msgget(IPC_PRIVATE, 0600) : msgget(IPC_PRIVATE, 0600);
	case SEM1:
	case SEM16:
		return uipc ? uipc_semget(IPC_PRIVATE, kind == SEM1 ? 1 : 16, 0600) :
			      semget(IPC_PRIVATE, kind == SEM1 ? 1 : 16, 0600);
	default: {
		int id = uipc ? uipc_shmget(IPC_PRIVATE, 4096, 0600) :
				shmget(IPC_PRIVATE, 4096, 0600);
		char *p;

		if (id < 0)
			return id;
		/* Its page touched: a segment in use. */
		p = uipc ? uipc_shmat(id, NULL, 0) : shmat(id, NULL, 0);
		if (p != (void *)-1) {
			p[0] = 1;
			if (uipc)
				uipc_shmdt(p);
			else
				shmdt(p);
		}
		return id;
	}
	}
}

static void drop(int uipc, int kind, int id)
{
	if (kind == MSGQ)
		uipc ? uipc_msgctl(id, IPC_RMID, NULL) : msgctl(id, IPC_RMID, NULL);
	else if (kind == SHM4K)
		uipc ? uipc_shmctl(id, IPC_RMID, NULL) : shmctl(id, IPC_RMID, NULL);
	else
		uipc ? uipc_semctl(id, 0, IPC_RMID) : semctl(id, 0, IPC_RMID);
}

/* Makes n objects of kind; prints the growth per object; removes them. */
static void one(int uipc, int kind, int n)
{
	long slab0 = kib("/proc/meminfo", "SUnreclaim"), shm0 = kib("/proc/meminfo", "Shmem");
	long vm0 = kib("/proc/self/status", "VmSize"), rss0 = kib("/proc/self/status", "VmRSS");
	long ns0 = uipc ? ns_kib() : 0;
	int *ids = calloc((size_t)n, sizeof(int)), made = 0;

	if (!ids)
		return;
	for (; made < n; made++) {
		ids[made] = make(uipc, kind);
		if (ids[made] < 0)
			break;
	}
	if (made == 0) {
		printf("  %-6s %-22s %6d: none made (%s)\n", uipc ? "uipc" : "kernel",
		       kname[kind], n, strerror(errno));
		free(ids);
		return;
	}
	if (uipc)
		printf("  uipc   %-22s %6d: tmpfs %7.1f KiB, VmSize %7.1f KiB, "
		       "VmRSS %6.2f KiB each\n", kname[kind], made,
		       (double)(ns_kib() - ns0) / made,
		       (double)(kib("/proc/self/status", "VmSize") - vm0) / made,
		       (double)(kib("/proc/self/status", "VmRSS") - rss0) / made);
	else
		printf("  kernel %-22s %6d: slab   %7.2f KiB, Shmem  %7.1f KiB each "
		       "(estimates)\n", kname[kind], made,
		       (double)(kib("/proc/meminfo", "SUnreclaim") - slab0) / made,
		       (double)(kib("/proc/meminfo", "Shmem") - shm0) / made);
	while (made > 0)
		drop(uipc, kind, ids[--made]);
	free(ids);
}

int main(int argc, char **argv)
{
	static const int counts[] = { 100, 1000, 10000 };
	int ncounts = argc > 1 && !strcmp(argv[1], "--quick") ? 2 : 3;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("footprint_bench: memory per object as their number grows, "
	       "kernel and uipc\n");
	for (int k = 0; k < NKINDS; k++)
		for (int c = 0; c < ncounts; c++) {
			int n = counts[c];

			if (k == SHM4K && n > 4000)
				n = 4000;	/* the kernel's shmmni is 4096 */
			one(0, k, n);
			one(1, k, n);
		}
	return 0;
}
