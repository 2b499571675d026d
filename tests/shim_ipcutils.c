/*
 * shim_ipcutils: util-linux's ipcmk, ipcs and ipcrm, unmodified, under
 * `uipc run --block-kernel-ipc`.
 *
 *  - ipcmk creates a queue, a semaphore set and a segment in the uipc
 *    namespace; ipcs lists them and ipcs -i shows each; ipcrm removes
 *    them; the kernel's objects are the same in number before and after
 *    (and the seccomp filter would have failed any call that reached it);
 *  - /proc/sysvipc/{msg,sem,shm} read through the shim show uipc's objects
 *    in the kernel's exact format: the same objects made the same way on
 *    the kernel and on uipc give the same lines, ids and times aside; for
 *    nobody, they are not writable (access, open) as the kernel's are not;
 *  - ipcs -l under the shim prints what the kernel's ipcs -l prints once
 *    uipc's limits are set to the kernel's.
 */
#include "harness.h"

#include <ctype.h>

static const char *build;

/* Runs `uipc run --block-kernel-ipc -- CMD` with its output in out;
 * returns the exit status. */
static int run(char *out, size_t n, const char *fmt, ...)
{
	char cmd[1024], sub[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sub, sizeof(sub), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s/uipc run --block-kernel-ipc -- %s 2>&1",
		 build, sub);
	return run_capture(out, n, cmd);
}

/* ---- ipcmk, ipcs, ipcrm ---------------------------------------------- */

static void tools(void)
{
	char out[8192], want[64];
	struct msqid_ds md;
	struct semid_ds sd;
	struct shmid_ds hd;
	int q = -1, s = -1, m = -1;

	CHECK(run(out, sizeof(out), "ipcmk -Q -p 0640") == 0 &&
	      sscanf(out, "Message queue id: %d", &q) == 1, "ipcmk -Q: %s", out);
	CHECK(run(out, sizeof(out), "ipcmk -S 3 -p 0600") == 0 &&
	      sscanf(out, "Semaphore id: %d", &s) == 1, "ipcmk -S: %s", out);
	CHECK(run(out, sizeof(out), "ipcmk -M 8192 -p 0660") == 0 &&
	      sscanf(out, "Shared memory id: %d", &m) == 1, "ipcmk -M: %s", out);
	CHECK(uipc_msgctl(q, IPC_STAT, &md) == 0 && (md.msg_perm.mode & 0777) == 0640,
	      "uipc holds ipcmk's queue %d, mode 0640", q);
	CHECK(uipc_semctl(s, 0, IPC_STAT, &sd) == 0 && sd.sem_nsems == 3,
	      "uipc holds ipcmk's set %d of 3", s);
	CHECK(uipc_shmctl(m, IPC_STAT, &hd) == 0 && hd.shm_segsz == 8192 &&
	      (hd.shm_perm.mode & 0777) == 0660, "uipc holds ipcmk's segment %d", m);

	CHECK(run(out, sizeof(out), "ipcs") == 0, "ipcs: %s", out);
	snprintf(want, sizeof(want), " %-10d ", q);
	CHECK(strstr(out, want) && strstr(out, "640"), "ipcs lists queue %d:\n%s",
	      q, out);
	snprintf(want, sizeof(want), " %-10d ", s);
	CHECK(strstr(strstr(out, "Semaphore Arrays") ?: out, want),
	      "ipcs lists set %d:\n%s", s, out);
	snprintf(want, sizeof(want), " %-10d ", m);
	CHECK(strstr(strstr(out, "Shared Memory") ?: out, want) && strstr(out, "8192"),
	      "ipcs lists segment %d:\n%s", m, out);

	CHECK(run(out, sizeof(out), "ipcs -q -i %d", q) == 0 &&
	      strstr(out, "mode=0640"), "ipcs -q -i %d: %s", q, out);
	CHECK(run(out, sizeof(out), "ipcs -s -i %d", s) == 0 &&
	      strstr(out, "nsems = 3"), "ipcs -s -i %d: %s", s, out);
	CHECK(run(out, sizeof(out), "ipcs -m -i %d", m) == 0 &&
	      strstr(out, "bytes=8192"), "ipcs -m -i %d: %s", m, out);
	CHECK(run(out, sizeof(out), "ipcs -u") == 0 &&
	      strstr(out, "allocated queues = 1") && strstr(out, "used arrays = 1") &&
	      strstr(out, "segments allocated 1"), "ipcs -u: %s", out);

	CHECK(run(out, sizeof(out), "ipcrm -q %d -s %d -m %d", q, s, m) == 0,
	      "ipcrm: %s", out);
	CHECK(uipc_msgctl(q, IPC_STAT, &md) < 0 && errno == EINVAL &&
	      uipc_semctl(s, 0, IPC_STAT, &sd) < 0 && errno == EINVAL &&
	      uipc_shmctl(m, IPC_STAT, &hd) < 0 && errno == EINVAL,
	      "ipcrm removed all three from uipc");
	CHECK(run(out, sizeof(out), "ipcrm -q %d", q) != 0 &&
	      strstr(out, "invalid id"), "ipcrm of a removed id fails: %s", out);
	CHECK(harness_kernel_leftovers() == 0, "the kernel got objects (removed)");
	if (!harness_failures)
		printf("ok   ipcmk, ipcs (-i, -u) and ipcrm on a queue, a set and a "
		       "segment, kernel untouched\n");
}

/* ---- /proc/sysvipc ---------------------------------------------------- */

/* Blanks the whitespace-separated columns listed in cols (and the spaces
 * before each, so that only the width the format gives them remains). */
static void mask(char *line, const int *cols, int ncols)
{
	char *p = line;

	for (int c = 0; *p && *p != '\n'; c++) {
		char *start = p;
		int hide = 0;

		while (*p == ' ')
			p++;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		for (int i = 0; i < ncols; i++)
			hide |= cols[i] == c;
		if (hide)
			memset(start, '#', (size_t)(p - start));
	}
}

/* The line of `text` whose second column is id (or the header, id -1). */
static int find_line(const char *text, int id, char *out, size_t n)
{
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		int key, got;

		if ((id < 0 && strstr(p, "key") && strstr(p, "key") < p + len) ||
		    (id >= 0 && sscanf(p, "%d %d", &key, &got) == 2 && got == id)) {
			snprintf(out, n, "%.*s", (int)len, p);
			return 0;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return -1;
}

static void read_file(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t got = f ? fread(out, 1, n - 1, f) : 0;

	out[got] = 0;
	if (f)
		fclose(f);
}

static void compare_view(const char *what, int kid, int uid, const int *cols,
			 int ncols)
{
	char path[64], ktext[16384], utext[16384], kl[512], ul[512];

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", what);
	read_file(path, ktext, sizeof(ktext));
	CHECK(run(utext, sizeof(utext), "cat %s", path) == 0, "cat %s: %s", path,
	      utext);
	CHECK(find_line(ktext, -1, kl, sizeof(kl)) == 0 &&
	      find_line(utext, -1, ul, sizeof(ul)) == 0 && !strcmp(kl, ul),
	      "%s header:\nkernel: %s\nuipc:   %s", path, kl, ul);
	CHECK(find_line(ktext, kid, kl, sizeof(kl)) == 0, "kernel %s has no %d",
	      path, kid);
	CHECK(find_line(utext, uid, ul, sizeof(ul)) == 0, "uipc %s has no %d:\n%s",
	      path, uid, utext);
	mask(kl, cols, ncols);
	mask(ul, cols, ncols);
	CHECK(!strcmp(kl, ul), "%s line (ids and times masked):\nkernel: %s\n"
	      "uipc:   %s", path, kl, ul);
}

static void proc_views(void)
{
	static const int msg_cols[] = { 1, 11, 12, 13 };
	static const int sem_cols[] = { 1, 8, 9 };
	static const int shm_cols[] = { 1, 11, 12, 13 };
	struct { long type; char text[8]; } msg = { 7, "hello" };
	struct sembuf op = { 1, 2, 0 };
	int kq, ks, km, uq, us, um;
	char *p;

	/* The same objects, made the same way, on both. */
	kq = msgget(IPC_PRIVATE, 0640);
	ks = semget(IPC_PRIVATE, 3, 0600);
	km = shmget(IPC_PRIVATE, 3 * 4096 + 100, 0660);
	uq = uipc_msgget(IPC_PRIVATE, 0640);
	us = uipc_semget(IPC_PRIVATE, 3, 0600);
	um = uipc_shmget(IPC_PRIVATE, 3 * 4096 + 100, 0660);
	CHECK(kq >= 0 && ks >= 0 && km >= 0 && uq >= 0 && us >= 0 && um >= 0,
	      "objects made");
	if (harness_failures)
		return;
	msgsnd(kq, &msg, 6, 0);
	uipc_msgsnd(uq, &msg, 6, 0);
	semop(ks, &op, 1);
	uipc_semop(us, &op, 1);
	p = shmat(km, NULL, 0);
	memset(p, 1, 4096 + 1);	/* two pages resident */
	p = uipc_shmat(um, NULL, 0);
	memset(p, 1, 4096 + 1);
	shmctl(km, IPC_RMID, NULL);	/* attached and removed: mode 01660 */
	uipc_shmctl(um, IPC_RMID, NULL);

	compare_view("msg", kq, uq, msg_cols, 4);
	compare_view("sem", ks, us, sem_cols, 3);
	compare_view("shm", km, um, shm_cols, 4);
	msgctl(kq, IPC_RMID, NULL);	/* km goes with our detach at exit */
	semctl(ks, 0, IPC_RMID);
	uipc_msgctl(uq, IPC_RMID, NULL);
	uipc_semctl(us, 0, IPC_RMID);
	if (!harness_failures)
		printf("ok   /proc/sysvipc/{msg,sem,shm} through the shim: the "
		       "kernel's lines for the same objects\n");
}

/* The views are read-only: access(W_OK) and an open for writing get the
 * kernel's answer (for nobody, EACCES), not a view.  Python's os.access
 * and os.open call the C library's access and open. */
static void views_read_only(void)
{
	static const char prog[] =
		"setpriv --reuid=65534 --regid=65534 --clear-groups "
		"/usr/bin/python3 -c \"import os\n"
		"for p in ('/proc/sysvipc/msg', '/proc/sys/kernel/msgmnb'):\n"
		"    print(p, 'R', os.access(p, os.R_OK), 'W', os.access(p, os.W_OK))\n"
		"    for f in (os.O_WRONLY, os.O_RDWR):\n"
		"        try:\n"
		"            os.close(os.open(p, f))\n"
		"            print(' open', f, 'ok')\n"
		"        except OSError as e:\n"
		"            print(' open', f, e.strerror)\n"
		"\"";
	char kout[2048], uout[2048], cmd[1024];

	/* Not root: the caller owns its own namespace's limits, and may
	 * write them (docs/uipc.md), where the kernel's files are root's. */
	if (geteuid() != 0) {
		printf("skip the views as nobody: not root\n");
		return;
	}
	if (system("command -v setpriv >/dev/null && "
		   "test -x /usr/bin/python3") != 0) {
		printf("skip the views as nobody: no setpriv or /usr/bin/python3\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s 2>&1", prog);
	CHECK(run_capture(kout, sizeof(kout), cmd) == 0, "kernel: %s", kout);
	CHECK(run(uout, sizeof(uout), "%s", prog) == 0, "shim: %s", uout);
	CHECK(!strcmp(kout, uout), "the views for nobody:\nkernel:\n%s\nuipc:\n%s",
	      kout, uout);
	if (!strcmp(kout, uout))
		printf("ok   the views are read-only for nobody, as the kernel's "
		       "files\n");
}

/* ---- ipcs -l -------------------------------------------------------- */

static void limits(void)
{
	char kout[4096], uout[4096], cmd[768];
	struct msginfo mi;
	struct seminfo si;
	struct shminfo hi;
	FILE *f;
	size_t n;

	if (msgctl(0, IPC_INFO, (struct msqid_ds *)&mi) < 0 ||
	    semctl(0, 0, IPC_INFO, &si) < 0 ||
	    shmctl(0, IPC_INFO, (struct shmid_ds *)&hi) < 0)
		return;
	snprintf(cmd, sizeof(cmd), "%s/uipc limits msgmax=%d msgmnb=%d msgmni=%d "
		 "semmsl=%d semmns=%d semopm=%d semmni=%d shmmni=%lu shmmax=%lu "
		 "shmall=%lu", build, mi.msgmax, mi.msgmnb, mi.msgmni, si.semmsl,
		 si.semmns, si.semopm, si.semmni, hi.shmmni, hi.shmmax, hi.shmall);
	CHECK(system(cmd) == 0, "%s", cmd);
	f = popen("ipcs -l", "r");
	n = f ? fread(kout, 1, sizeof(kout) - 1, f) : 0;
	kout[n] = 0;
	if (f)
		pclose(f);
	CHECK(run(uout, sizeof(uout), "ipcs -l") == 0, "ipcs -l: %s", uout);
	CHECK(!strcmp(kout, uout), "ipcs -l:\nkernel:\n%s\nuipc:\n%s", kout, uout);
	if (!harness_failures)
		printf("ok   ipcs -l through the shim matches the kernel's with the "
		       "same limits\n");
}

int main(void)
{
	struct msginfo mi;
	char out[256];

	harness_init(120);
	build = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	if (!shim_usable_system())
		return 77;
	if (system("command -v ipcmk >/dev/null && command -v ipcs >/dev/null && "
		   "command -v ipcrm >/dev/null") != 0) {
		printf("SKIP: util-linux ipcmk/ipcs/ipcrm are not installed\n");
		return 77;
	}
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		printf("SKIP: the kernel has no System V IPC to compare with\n");
		return 77;
	}
	harness_watch_kernel();	/* what we make there goes at exit */
	/* The filter works: a raw system call fails, the libc call does not. */
	CHECK(run(out, sizeof(out), "sh -c true") == 0,
	      "uipc run --block-kernel-ipc runs a program: %s", out);
	tools();
	proc_views();
	views_read_only();
	limits();
	return harness_done();
}
