/*
 * uipc: look inside a uipc namespace.
 *
 *   uipc [--ns DIR] ls [-q] [-s] [-m] [-p] [--json]   list objects (ipcs)
 *   uipc [--ns DIR] rm -q ID | -Q KEY | --all
 *   uipc [--ns DIR] limits [NAME=VALUE ...]
 *   uipc [--ns DIR] reap                  do the exit work of dead processes
 *   uipc [--ns DIR] ns                    print the namespace directory
 *   uipc run [--ns DIR] [--block-kernel-ipc] [--pipes] [--] CMD ARGS...
 *                                         run CMD on uipc (run.c)
 *
 * A bad argument gets one line on stderr and exit status 2; a failed
 * operation one line and status 1.
 */
#include "internal.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

static const char *prog = "uipc";

static int usage(const char *why)
{
	fprintf(stderr, "%s: %s (try '%s help')\n", prog, why, prog);
	return 2;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

/* Why the namespace would not open, in one line: a namespace another
 * version of uipc made says so. */
static int ns_fail(int err)
{
	char path[4096], file[4200];
	uint32_t hdr[2];
	struct stat st;
	int fd;

	if (uipc_ns_path(path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "%s", UIPC_DEFAULT_NS);
	snprintf(file, sizeof(file), "%s/ns", path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (err == EIO && fd >= 0 && pread(fd, hdr, sizeof(hdr), 0) == sizeof(hdr) &&
	    hdr[0] == UIPC_NS_MAGIC && hdr[1] != UIPC_LAYOUT) {
		fprintf(stderr, "%s: namespace %s has layout %u, this uipc reads "
			"layout %u: remove it (rm -r %s) once nothing uses it\n",
			prog, path, hdr[1], UIPC_LAYOUT, path);
	} else if (err == EACCES && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		   st.st_uid != geteuid() && st.st_uid != 0) {
		fprintf(stderr, "%s: namespace %s belongs to uid %u: only a "
			"directory of yours or root's is used\n", prog, path,
			(unsigned)st.st_uid);
	} else if (err == EACCES && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		   (st.st_mode & 0022) && !(st.st_mode & S_ISVTX)) {
		fprintf(stderr, "%s: namespace %s is writable by others and not "
			"sticky: refused\n", prog, path);
	} else if (err == EACCES && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: namespace %s is not set up by its owner (uid "
			"%u) yet, or holds a file another user planted: its "
			"owner's first use sets it up\n", prog, path,
			(unsigned)st.st_uid);
	} else {
		fprintf(stderr, "%s: cannot open the namespace %s: %s\n", prog,
			path, strerror(err));
	}
	if (fd >= 0)
		close(fd);
	return 1;
}

static int parse_long(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 0);
	return errno == 0 && end != s && *end == 0 ? 0 : -1;
}

static const char *user_name(uid_t uid)
{
	static char buf[32];
	struct passwd *pw = getpwuid(uid);

	if (pw)
		return pw->pw_name;
	snprintf(buf, sizeof(buf), "%u", (unsigned)uid);
	return buf;
}

/* ls -i ID: one semaphore set, semaphore by semaphore (ipcs -s -i). */
static int ls_sem_one(int id)
{
	struct uipc_sem_info si;
	int r = uipc_sem_snapshot(id, &si);

	if (r < 0)
		return fail("no such semaphore set", -r);
	printf("Semaphore Array semid=%d\nuid=%u\t gid=%u\t cuid=%u\t cgid=%u\n"
	       "mode=%#o, access_perms=%#o\nnsems = %lu\notime = %ld\nctime = %ld\n"
	       "undo entries = %d\n%-10s %-10s %-10s %-10s %-10s\n", id,
	       si.ds.sem_perm.uid, si.ds.sem_perm.gid, si.ds.sem_perm.cuid,
	       si.ds.sem_perm.cgid, si.ds.sem_perm.mode, si.ds.sem_perm.mode & 0777,
	       (unsigned long)si.ds.sem_nsems, (long)si.ds.sem_otime,
	       (long)si.ds.sem_ctime, si.nundo, "semnum", "value", "ncount",
	       "zcount", "pid");
	for (unsigned long i = 0; i < si.ds.sem_nsems; i++)
		printf("%-10lu %-10d %-10d %-10d %-10d\n", i, si.sem[i].val,
		       si.sem[i].ncnt, si.sem[i].zcnt, si.sem[i].pid);
	free(si.sem);
	return 0;
}

static void ls_sem(int json, int first)
{
	int max = uipc_max_idx(UIPC_SEM, NULL), err = 0;

	if (json)
		printf("%s\"sem\": [", first ? "" : ", ");
	else
		printf("------ Semaphore Arrays (%s) --------\n"
		       "%-10s %-10s %-10s %-6s %-6s %s\n", uipc_ns_get(&err)->path,
		       "key", "semid", "owner", "perms", "nsems", "undo");
	first = 1;
	for (int idx = 0; idx <= max; idx++) {
		struct uipc_sem_info si;
		struct uipc_map *m;
		int id;

		if (uipc_obj_get_by_index(UIPC_SEM, idx, &m) < 0)
			continue;
		id = m->id;
		uipc_map_put(m);
		if (uipc_sem_snapshot(id, &si) < 0)
			continue;
		if (json) {
			printf("%s\n  {\"key\": %d, \"semid\": %d, \"owner\": %u, "
			       "\"perms\": \"%o\", \"nsems\": %lu, \"otime\": %ld, "
			       "\"ctime\": %ld, \"undo\": %d, \"sems\": [",
			       first ? "" : ",", si.ds.sem_perm.__key, id,
			       si.ds.sem_perm.uid, si.ds.sem_perm.mode,
			       (unsigned long)si.ds.sem_nsems, (long)si.ds.sem_otime,
			       (long)si.ds.sem_ctime, si.nundo);
			for (unsigned long i = 0; i < si.ds.sem_nsems; i++)
				printf("%s{\"val\": %d, \"pid\": %d, \"ncnt\": %d, "
				       "\"zcnt\": %d}", i ? ", " : "", si.sem[i].val,
				       si.sem[i].pid, si.sem[i].ncnt, si.sem[i].zcnt);
			printf("]}");
		} else {
			printf("0x%08x %-10d %-10s %-6o %-6lu %d\n",
			       (unsigned)si.ds.sem_perm.__key, id,
			       user_name(si.ds.sem_perm.uid), si.ds.sem_perm.mode,
			       (unsigned long)si.ds.sem_nsems, si.nundo);
		}
		free(si.sem);
		first = 0;
	}
	if (json)
		printf("%s]", first ? "" : "\n");
}

static void ls_shm(int json, int first)
{
	int max = uipc_max_idx(UIPC_SHM, NULL), err = 0;

	if (json)
		printf("%s\"shm\": [", first ? "" : ", ");
	else
		printf("------ Shared Memory Segments (%s) --------\n"
		       "%-10s %-10s %-10s %-6s %-12s %-6s %-7s %s\n",
		       uipc_ns_get(&err)->path, "key", "shmid", "owner", "perms",
		       "bytes", "nattch", "status", "attached");
	first = 1;
	for (int idx = 0; idx <= max; idx++) {
		struct uipc_shm_info si;
		struct uipc_map *m;
		int id;

		if (uipc_obj_get_by_index(UIPC_SHM, idx, &m) < 0)
			continue;
		id = m->id;
		uipc_map_put(m);
		if (uipc_shm_snapshot(id, &si) < 0)
			continue;
		if (json) {
			printf("%s\n  {\"key\": %d, \"shmid\": %d, \"owner\": %u, "
			       "\"perms\": \"%o\", \"bytes\": %zu, \"nattch\": %lu, "
			       "\"cpid\": %d, \"lpid\": %d, \"dest\": %d, "
			       "\"locked\": %d, \"attached\": [", first ? "" : ",",
			       si.ds.shm_perm.__key, id, si.ds.shm_perm.uid,
			       si.ds.shm_perm.mode & 0777, si.ds.shm_segsz,
			       (unsigned long)si.ds.shm_nattch, si.ds.shm_cpid,
			       si.ds.shm_lpid, !!(si.ds.shm_perm.mode & SHM_DEST),
			       !!(si.ds.shm_perm.mode & SHM_LOCKED));
			for (int i = 0; i < si.nproc; i++)
				printf("%s%d", i ? ", " : "", si.pid[i]);
			printf("]}");
		} else {
			printf("0x%08x %-10d %-10s %-6o %-12zu %-6lu %-7s",
			       (unsigned)si.ds.shm_perm.__key, id,
			       user_name(si.ds.shm_perm.uid),
			       si.ds.shm_perm.mode & 0777, si.ds.shm_segsz,
			       (unsigned long)si.ds.shm_nattch,
			       si.ds.shm_perm.mode & SHM_DEST ? "dest" :
			       si.ds.shm_perm.mode & SHM_LOCKED ? "locked" : "-");
			for (int i = 0; i < si.nproc; i++)
				printf(" %d", si.pid[i]);
			printf("\n");
		}
		first = 0;
	}
	if (json)
		printf("%s]", first ? "" : "\n");
}

struct pipe_ls {
	int json, first;
};

static int ls_pipe_one(const struct uipc_pipe_info *pi, void *arg)
{
	struct pipe_ls *a = arg;
	int n = pi->nholders < 16 ? pi->nholders : 16;

	if (a->json) {
		printf("%s\n  {\"pipe\": %llu, \"owner\": %u, \"size\": %u, "
		       "\"queued\": %u, \"packet\": %d, \"kernel_path\": %d, "
		       "\"blocked_readers\": %d, \"blocked_writers\": %d, "
		       "\"bytes\": %llu, \"holders\": [", a->first ? "" : ",",
		       (unsigned long long)pi->ino, pi->uid, pi->size, pi->queued,
		       pi->packet, pi->demoted, pi->nrsleep, pi->nwsleep,
		       (unsigned long long)pi->bytes);
		for (int i = 0; i < n; i++)
			printf("%s{\"pid\": %d, \"ends\": \"%c\"}", i ? ", " : "",
			       pi->holder[i], pi->holder_end[i]);
		printf("]}");
	} else {
		printf("pipe:[%-10llu] %-10s %-8u %-8u %-6s %-4d %-4d",
		       (unsigned long long)pi->ino, user_name(pi->uid), pi->size,
		       pi->queued, pi->demoted ? "kernel" : pi->packet ? "packet" : "ring",
		       pi->nrsleep, pi->nwsleep);
		for (int i = 0; i < n; i++)
			printf(" %d%c", pi->holder[i], pi->holder_end[i]);
		printf("\n");
	}
	a->first = 0;
	return 0;
}

static void ls_pipe(int json, int first)
{
	struct pipe_ls a = { json, 1 };
	int err = 0;

	if (json)
		printf("%s\"pipes\": [", first ? "" : ", ");
	else
		printf("------ Pipes (%s) --------\n"
		       "%-17s %-10s %-8s %-8s %-6s %-4s %-4s %s\n",
		       uipc_ns_get(&err)->path, "pipe", "owner", "size", "queued",
		       "mode", "rblk", "wblk", "holders (pid, r/w/b)");
	uipc_pipe_list(ls_pipe_one, &a);
	if (json)
		printf("%s]", a.first ? "" : "\n");
}

struct sig_ls {
	int json, first;
};

static int ls_sig_one(const struct uipc_sig_proc_info *pi, void *arg)
{
	struct sig_ls *a = arg;

	if (a->json)
		printf("%s\n  {\"pid\": %d, \"owner\": %u, \"SigPnd\": \"%016llx\", "
		       "\"ShdPnd\": \"%016llx\", \"SigBlk\": \"%016llx\", "
		       "\"SigIgn\": \"%016llx\", \"SigCgt\": \"%016llx\", "
		       "\"queued\": %d, \"threads\": %d}", a->first ? "" : ",",
		       pi->pid, pi->uid, (unsigned long long)pi->pending,
		       (unsigned long long)pi->shared, (unsigned long long)pi->blocked,
		       (unsigned long long)pi->ignored, (unsigned long long)pi->caught,
		       pi->queued, pi->nthreads);
	else
		printf("%-8d %-10s %016llx %016llx %016llx %016llx %016llx %-6d %d\n",
		       pi->pid, user_name(pi->uid), (unsigned long long)pi->pending,
		       (unsigned long long)pi->shared, (unsigned long long)pi->blocked,
		       (unsigned long long)pi->ignored, (unsigned long long)pi->caught,
		       pi->queued, pi->nthreads);
	a->first = 0;
	return 0;
}

/* The processes that take uipc signals, their sets as /proc/PID/status
 * shows the kernel's. */
static void ls_sig(int json, int first)
{
	struct sig_ls a = { json, 1 };
	int err = 0;

	if (json)
		printf("%s\"signals\": [", first ? "" : ", ");
	else
		printf("------ Signals (%s) --------\n"
		       "%-8s %-10s %-16s %-16s %-16s %-16s %-16s %-6s %s\n",
		       uipc_ns_get(&err)->path, "pid", "owner", "SigPnd", "ShdPnd",
		       "SigBlk", "SigIgn", "SigCgt", "queued", "threads");
	uipc_sig_list(ls_sig_one, &a);
	if (json)
		printf("%s]", a.first ? "" : "\n");
}

static int cmd_ls(int argc, char **argv)
{
	struct uipc_msg_info info;
	int json = 0, first = 1, max, err = 0, want_q = 0, want_s = 0, want_m = 0;
	int want_p = 0, want_sig = 0;
	long long one = -1;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "-q"))
			want_q = 1;
		else if (!strcmp(argv[i], "-s"))
			want_s = 1;
		else if (!strcmp(argv[i], "-m"))
			want_m = 1;
		else if (!strcmp(argv[i], "-p"))
			want_p = 1;
		else if (!strcmp(argv[i], "-P"))
			want_sig = 1;
		else if (!strcmp(argv[i], "-i") && i + 1 < argc &&
			 parse_long(argv[i + 1], &one) == 0 && one >= 0 &&
			 one <= INT_MAX)
			i++;
		else
			return usage("ls takes -q, -s, -m, -p, -P, -i SEMID and --json");
	}
	if (!uipc_ns_get(&err))
		return ns_fail(-err);
	if (one >= 0)
		return ls_sem_one((int)one);
	if (!want_q && !want_s && !want_m && !want_p && !want_sig)
		want_q = want_s = want_m = want_p = want_sig = 1;
	if (!want_q) {
		if (json)
			printf("{\"namespace\": \"%s\", ", uipc_ns_get(&err)->path);
		if (want_s)
			ls_sem(json, 1);
		if (want_m)
			ls_shm(json, !want_s);
		if (want_p)
			ls_pipe(json, !want_s && !want_m);
		if (want_sig)
			ls_sig(json, !want_s && !want_m && !want_p);
		if (json)
			printf("}\n");
		return 0;
	}
	max = uipc_max_idx(UIPC_MSG, NULL);
	if (json)
		printf("{\"namespace\": \"%s\", \"msg\": [", uipc_ns_get(&err)->path);
	else
		printf("------ Message Queues (%s) --------\n"
		       "%-10s %-10s %-10s %-6s %-11s %-9s %-6s %-6s %s\n",
		       uipc_ns_get(&err)->path, "key", "msqid", "owner", "perms",
		       "used-bytes", "messages", "lspid", "lrpid", "waiting");
	for (int idx = 0; idx <= max; idx++) {
		struct uipc_map *m;
		int id;

		if (uipc_obj_get_by_index(UIPC_MSG, idx, &m) < 0)
			continue;
		id = m->id;
		uipc_map_put(m);
		if (uipc_msg_snapshot(id, &info) < 0)
			continue;
		if (json) {
			printf("%s\n  {\"key\": %d, \"msqid\": %d, \"owner\": %u, "
			       "\"perms\": \"%o\", \"cbytes\": %lu, \"qnum\": %lu, "
			       "\"qbytes\": %lu, \"lspid\": %d, \"lrpid\": %d, "
			       "\"stime\": %ld, \"rtime\": %ld, \"ctime\": %ld, "
			       "\"receivers\": [", first ? "" : ",",
			       info.ds.msg_perm.__key, id, info.ds.msg_perm.uid,
			       info.ds.msg_perm.mode, info.ds.__msg_cbytes,
			       info.ds.msg_qnum, info.ds.msg_qbytes,
			       info.ds.msg_lspid, info.ds.msg_lrpid,
			       (long)info.ds.msg_stime, (long)info.ds.msg_rtime,
			       (long)info.ds.msg_ctime);
			for (int i = 0; i < info.nrecv && i < 8; i++)
				printf("%s%d", i ? ", " : "", info.recv_pid[i]);
			printf("], \"senders\": [");
			for (int i = 0; i < info.nsend && i < 8; i++)
				printf("%s%d", i ? ", " : "", info.send_pid[i]);
			printf("]}");
		} else {
			printf("0x%08x %-10d %-10s %-6o %-11lu %-9lu %-6d %-6d",
			       (unsigned)info.ds.msg_perm.__key, id,
			       user_name(info.ds.msg_perm.uid), info.ds.msg_perm.mode,
			       info.ds.__msg_cbytes, info.ds.msg_qnum,
			       info.ds.msg_lspid, info.ds.msg_lrpid);
			for (int i = 0; i < info.nrecv && i < 8; i++)
				printf(" rcv:%d", info.recv_pid[i]);
			for (int i = 0; i < info.nsend && i < 8; i++)
				printf(" snd:%d", info.send_pid[i]);
			printf("\n");
		}
		first = 0;
	}
	if (json)
		printf("%s]", first ? "" : "\n");
	if (want_s)
		ls_sem(json, 0);
	if (want_m)
		ls_shm(json, 0);
	if (want_p)
		ls_pipe(json, 0);
	if (want_sig)
		ls_sig(json, 0);
	if (json)
		printf("}\n");
	return 0;
}

/* A signal by number (0..64) or name (HUP, SIGHUP, RTMIN+3, SIGRTMAX-1),
 * as kill(1) takes it; -1 if it is none. */
static int parse_signal(const char *s)
{
	static const char *const names[32] = {
		NULL, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
		"KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT",
		"CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU",
		"XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS" };
	long long n;

	if (parse_long(s, &n) == 0)
		return n >= 0 && n <= 64 ? (int)n : -1;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < 32; i++)
		if (!strcmp(s, names[i]))
			return i;
	if (!strncmp(s, "RTMIN", 5) || !strncmp(s, "RTMAX", 5)) {
		int base = s[3] == 'I' ? SIGRTMIN : SIGRTMAX, sign = s[5] == '-' ? -1 : 1;

		if (!s[5])
			return base;
		if ((s[5] != '+' && s[5] != '-') || parse_long(s + 6, &n) < 0 ||
		    n < 0 || n > 64)
			return -1;
		n = base + sign * n;
		return n >= SIGRTMIN && n <= SIGRTMAX ? (int)n : -1;
	}
	return -1;
}

/* kill [-s SIG | -SIG] [-q VALUE] [--] PID...: as kill(1) and sigqueue(3),
 * with uipc's signals (a process group's -PGID after --). */
static int cmd_kill(int argc, char **argv)
{
	int sig = SIGTERM, queue = 0, rc = 0, i;
	long long v = 0, pid;

	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;	/* what follows is pids, a group's -PGID too */
		}
		if (strcmp(argv[i], "-s") && strcmp(argv[i], "-q")) {
			/* kill(1)'s -SIG: -9, -KILL, -SIGUSR1, -RTMIN+1 */
			sig = parse_signal(argv[i] + 1);
			if (sig < 0) {
				fprintf(stderr, "uipc kill: '%s' is not a signal\n",
					argv[i] + 1);
				return 2;
			}
			continue;
		}
		if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			sig = parse_signal(argv[++i]);
			if (sig < 0) {
				fprintf(stderr, "uipc kill: '%s' is not a signal\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "-q") && i + 1 < argc) {
			if (parse_long(argv[++i], &v) < 0 || v < INT_MIN || v > INT_MAX) {
				fprintf(stderr, "uipc kill: '%s' is not a value for -q\n",
					argv[i]);
				return 2;
			}
			queue = 1;
		} else {
			return usage("kill takes [-s SIG] [-q VALUE] PID...");
		}
	}
	if (i >= argc)
		return usage("kill: no pid");
	for (; i < argc; i++) {
		int r;

		if (parse_long(argv[i], &pid) < 0 || pid < INT_MIN || pid > INT_MAX) {
			fprintf(stderr, "uipc kill: '%s' is not a pid\n", argv[i]);
			rc = 2;
			continue;
		}
		r = queue ? uipc_sigqueue((pid_t)pid, sig,
					  (union sigval){ .sival_int = (int)v }) :
			    uipc_kill((pid_t)pid, sig);
		if (r < 0) {
			fprintf(stderr, "uipc kill: (%lld): %s\n", pid, strerror(errno));
			rc = 1;
		}
	}
	return rc;
}

static int cmd_rm(int argc, char **argv)
{
	long long v;
	int rc = 0;

	if (argc == 0)
		return usage("rm needs -q ID, -Q KEY, -s ID, -S KEY, -m ID, -M KEY or --all");
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--all")) {
			int max = uipc_max_idx(UIPC_MSG, NULL);

			for (int idx = 0; idx <= max; idx++) {
				struct msqid_ds ds;
				int id = uipc_msgctl(idx, MSG_STAT_ANY, &ds);

				if (id >= 0 && uipc_msgctl(id, IPC_RMID, NULL) < 0)
					rc = fail("rm", errno);
			}
			max = uipc_max_idx(UIPC_SEM, NULL);
			for (int idx = 0; idx <= max; idx++) {
				struct semid_ds ds;
				int id = uipc_semctl(idx, 0, SEM_STAT_ANY, &ds);

				if (id >= 0 && uipc_semctl(id, 0, IPC_RMID) < 0)
					rc = fail("rm", errno);
			}
			max = uipc_max_idx(UIPC_SHM, NULL);
			for (int idx = 0; idx <= max; idx++) {
				struct shmid_ds ds;
				int id = uipc_shmctl(idx, SHM_STAT_ANY, &ds);

				if (id >= 0 && uipc_shmctl(id, IPC_RMID, NULL) < 0)
					rc = fail("rm", errno);
			}
			continue;
		}
		if (argv[i][0] != '-' || !argv[i][1] || argv[i][2] ||
		    !strchr("qQsSmM", argv[i][1]) || i + 1 >= argc)
			return usage("rm takes -q ID, -Q KEY, -s ID, -S KEY, -m ID, -M KEY or --all");
		if (parse_long(argv[i + 1], &v) < 0 || v < INT_MIN || v > UINT_MAX)
			return usage("not a number");
		if (argv[i][1] == 'Q' || argv[i][1] == 'S' || argv[i][1] == 'M') {
			int id;

			if (v == IPC_PRIVATE)
				return usage("a key of 0 (IPC_PRIVATE) names nothing");
			id = argv[i][1] == 'Q' ? uipc_msgget((key_t)v, 0) :
			     argv[i][1] == 'S' ? uipc_semget((key_t)v, 0, 0) :
						 uipc_shmget((key_t)v, 0, 0);
			if (id < 0)
				return fail(argv[i + 1], errno);
			v = id;
		}
		switch (argv[i][1]) {
		case 'q':
		case 'Q':
			v = uipc_msgctl((int)v, IPC_RMID, NULL);
			break;
		case 's':
		case 'S':
			v = uipc_semctl((int)v, 0, IPC_RMID);
			break;
		default:
			v = uipc_shmctl((int)v, IPC_RMID, NULL);
		}
		if (v < 0)
			rc = fail(argv[i + 1], errno);
		i++;
	}
	return rc;
}

/* NAME=VALUE for a kind's next id (msg_next_id, ...): 1 if NAME is one
 * (then *err is 0, or the exit status of a bad VALUE), else 0. */
static int set_next_id(struct uipc_nsh *h, const char *name, const char *val,
		       int *err)
{
	long long v;

	*err = 0;
	for (int k = 0; k < UIPC_NKINDS; k++) {
		char want[32];

		snprintf(want, sizeof(want), "%s_next_id", uipc_kind_name[k]);
		if (strcmp(name, want))
			continue;
		if (parse_long(val, &v) < 0 || v < -1 || v > INT_MAX) {
			fprintf(stderr, "%s: %s must be -1 or an id from 0 to %d\n",
				prog, name, INT_MAX);
			*err = 2;
		} else if (uipc_next_id_set(h, (enum uipc_kind)k, (int)v) < 0) {
			*err = fail("limits", EPERM);
		}
		return *err == 0;
	}
	return 0;
}

static int cmd_limits(int argc, char **argv)
{
	struct uipc_nsh *h;
	struct stat st;
	int err = 0;

	h = uipc_ns_get(&err);
	if (!h)
		return ns_fail(-err);
	if (argc == 0) {
		for (int i = 0; i < UL_NLIMITS; i++) {
			int64_t v = uipc_limit(h, (enum uipc_limit)i);

			if (uipc_limit_defs[i].uns)
				printf("%-8s %llu", uipc_limit_defs[i].name,
				       (unsigned long long)v);
			else
				printf("%-8s %lld", uipc_limit_defs[i].name,
				       (long long)v);
			printf("%s\n", uipc_limit_defs[i].used ? "" : "   (not used yet)");
		}
		for (int k = 0; k < UIPC_NKINDS; k++)
			printf("%s_next_id %d\n", uipc_kind_name[k],
			       uipc_next_id(h, (enum uipc_kind)k));
		return 0;
	}
	/* Changing limits is the namespace owner's (or root's), as sysctl
	 * is root's for the kernel. */
	if (fstat(h->dirfd, &st) == 0 && geteuid() != 0 && geteuid() != st.st_uid)
		return fail("limits", EPERM);
	for (int a = 0; a < argc; a++) {
		char *eq = strchr(argv[a], '=');
		long long v;
		int i;

		if (!eq)
			return usage("limits takes NAME=VALUE");
		*eq = 0;
		for (i = 0; i < UL_NLIMITS; i++)
			if (!strcmp(argv[a], uipc_limit_defs[i].name))
				break;
		if (i == UL_NLIMITS && set_next_id(h, argv[a], eq + 1, &err))
			continue;
		if (err)
			return err;
		if (i < UL_NLIMITS && uipc_limit_defs[i].uns) {
			unsigned long long u;
			char *end;

			errno = 0;
			u = strtoull(eq + 1, &end, 0);
			if (errno || end == eq + 1 || *end || eq[1] == '-') {
				fprintf(stderr, "%s: %s must be a number from 0 to %llu\n",
					prog, argv[a], (unsigned long long)UINT64_MAX);
				return 2;
			}
			if (uipc_limit_set(h, (enum uipc_limit)i, (int64_t)u) < 0)
				return fail("limits", EPERM);
			continue;
		}
		if (i == UL_NLIMITS) {
			fprintf(stderr, "%s: no limit named '%s'\n", prog, argv[a]);
			return 2;
		}
		if (parse_long(eq + 1, &v) < 0 || v < uipc_limit_defs[i].min ||
		    v > uipc_limit_defs[i].max) {
			fprintf(stderr, "%s: %s must be a number from %lld to %lld\n",
				prog, argv[a], (long long)uipc_limit_defs[i].min,
				(long long)uipc_limit_defs[i].max);
			return 2;
		}
		if (uipc_limit_set(h, (enum uipc_limit)i, v) < 0)
			return fail("limits", EPERM);
	}
	return 0;
}

static int cmd_help(void)
{
	printf("usage: uipc [--ns DIR] COMMAND\n"
	       "  ls [-q] [-s] [-m] [-p] [-P] [--json]\n"
	       "                            list message queues (with waiters),\n"
	       "                            semaphore sets, shared memory segments\n"
	       "                            (with nattch and the attaching pids),\n"
	       "                            pipes (size, bytes queued, blocked\n"
	       "                            readers and writers, holders)\n"
	       "  ls -P                     processes that take uipc signals: their\n"
	       "                            pending, blocked, ignored and caught\n"
	       "                            sets (as /proc/PID/status), RT queued\n"
	       "  ls -i SEMID               one set: value, pid, ncount, zcount\n"
	       "  kill [-s SIG | -SIG] [-q VALUE] [--] PID...\n"
	       "                            send a uipc signal (kill(1), sigqueue)\n"
	       "  rm -q ID | -Q KEY | -s ID | -S KEY | -m ID | -M KEY | --all\n"
	       "                            remove queues, semaphore sets, segments\n"
	       "  limits [NAME=VALUE ...]   show or set msgmax, msgmnb, msgmni,\n"
	       "                            semmsl, semmns, semopm, semmni, shmmax,\n"
	       "                            shmall, shmmni, pipe-max-size\n"
	       "  reap                      do the exit work of dead processes\n"
	       "  ns                        print the namespace directory\n"
	       "  run [--ns DIR] [--block-kernel-ipc] [--pipes] [--] CMD [ARGS...]\n"
	       "                            run CMD with the shim preloaded, so its\n"
	       "                            System V IPC goes to uipc; with\n"
	       "                            --block-kernel-ipc the kernel's fails\n"
	       "                            with ENOSYS; with --pipes its pipes are\n"
	       "                            uipc's too\n");
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, err = 0;
	struct uipc_nsh *h;

	if (argc > 1 && !strcmp(argv[1], "--ns")) {
		if (argc < 3 || !argv[2][0])
			return usage("--ns needs a directory");
		setenv("UIPC_NS", argv[2], 1);
		i = 3;
	}
	if (i >= argc)
		return usage("no command");
	if (!strcmp(argv[i], "help") || !strcmp(argv[i], "--help"))
		return cmd_help();
	if (!strcmp(argv[i], "ls") || !strcmp(argv[i], "ipcs"))
		return cmd_ls(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "rm") || !strcmp(argv[i], "ipcrm"))
		return cmd_rm(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "run"))
		return uipc_cmd_run(argc - i - 1, argv + i + 1, prog);
	if (!strcmp(argv[i], "limits"))
		return cmd_limits(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "kill"))
		return cmd_kill(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "reap") || !strcmp(argv[i], "ns")) {
		if (i + 1 < argc)
			return usage("too many arguments");
		h = uipc_ns_get(&err);
		if (!h)
			return ns_fail(-err);
		if (argv[i][0] == 'n')
			printf("%s\n", h->path);
		else {
			printf("reaped %d dead process(es)\n", uipc_proc_reap_all(h));
			printf("removed %d pipe ring(s) nobody holds\n",
			       uipc_pipe_sweep(h));
			printf("removed %d kept segment file(s) of ended "
			       "processes\n", uipc_spare_sweep(h));
			printf("removed %d signal file(s) of ended processes\n",
			       uipc_sig_sweep(h));
		}
		return 0;
	}
	fprintf(stderr, "%s: unknown command '%s' (try '%s help')\n", prog,
		argv[i], prog);
	return 2;
}
