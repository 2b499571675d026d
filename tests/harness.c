/*
 * harness.c: see harness.h.
 */
#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

int harness_failures;
pid_t harness_child;

/* Kernel objects created through kernel_ops, removed at exit. */
#define MAX_KOBJ 4096
static struct { int kind, id; } kobj[MAX_KOBJ];	/* kind 0 msg, 1 sem, 2 shm */
static int nkobj;
static pid_t owner_pid;

static void (*extra_cleanup)(void);
int harness_kernel_leftovers(void);

void harness_on_cleanup(void (*fn)(void))
{
	extra_cleanup = fn;
}

static void kernel_cleanup(void)
{
	if (getpid() != owner_pid)
		return;
	if (extra_cleanup)
		extra_cleanup();
	harness_kernel_leftovers();
	for (int i = 0; i < nkobj; i++) {
		if (kobj[i].kind == 0)
			msgctl(kobj[i].id, IPC_RMID, NULL);
		else if (kobj[i].kind == 1)
			semctl(kobj[i].id, 0, IPC_RMID);
		else
			shmctl(kobj[i].id, IPC_RMID, NULL);
	}
	nkobj = 0;
}

static void on_fatal(int sig)
{
	if (sig == SIGALRM) {
		static const char m[] = "FAIL: watchdog: test took too long\n";
		write(2, m, sizeof(m) - 1);
	}
	kernel_cleanup();
	/* The test leads its own process group: take its children along. */
	kill(-owner_pid, SIGKILL);
	_exit(1);
}

/* The kernel is called directly: a sanitizer's interceptors of the libc
 * wrappers would judge the bad pointers before the kernel could. */
static int k_msgsnd(int id, const void *p, size_t n, int flg)
{
	return (int)syscall(SYS_msgsnd, id, p, n, flg);
}

static ssize_t k_msgrcv(int id, void *p, size_t n, long typ, int flg)
{
	return syscall(SYS_msgrcv, id, p, n, typ, flg);
}

static int k_msgctl(int id, int cmd, struct msqid_ds *buf)
{
	return (int)syscall(SYS_msgctl, id, cmd, buf);
}

static void note_kobj(int kind, int id)
{
	if (id < 0 || nkobj >= MAX_KOBJ || getpid() != owner_pid)
		return;
	for (int i = 0; i < nkobj; i++)
		if (kobj[i].kind == kind && kobj[i].id == id)
			return;
	kobj[nkobj].kind = kind;
	kobj[nkobj++].id = id;
}

static int k_msgget(key_t key, int flg)
{
	int id = (int)syscall(SYS_msgget, key, flg);

	note_kobj(0, id);
	return id;
}

static int k_semget(key_t key, int nsems, int flg)
{
	int id = (int)syscall(SYS_semget, key, nsems, flg);

	note_kobj(1, id);
	return id;
}

static int k_semtimedop(int id, struct sembuf *sops, size_t n,
			const struct timespec *ts)
{
	return (int)syscall(SYS_semtimedop, id, sops, n, ts);
}

static int k_semctl(int id, int num, int cmd, unsigned long arg)
{
	return (int)syscall(SYS_semctl, id, num, cmd, arg);
}

static int u_semctl(int id, int num, int cmd, unsigned long arg)
{
	return uipc_semctl(id, num, cmd, arg);
}

static int k_shmget(key_t key, size_t size, int flg)
{
	int id = (int)syscall(SYS_shmget, key, size, flg);

	note_kobj(2, id);
	return id;
}

static void *k_shmat(int id, const void *addr, int flg)
{
	return (void *)syscall(SYS_shmat, id, addr, flg);
}

static int k_shmdt(const void *addr)
{
	return (int)syscall(SYS_shmdt, addr);
}

static int k_shmctl(int id, int cmd, struct shmid_ds *buf)
{
	return (int)syscall(SYS_shmctl, id, cmd, buf);
}

const struct ipc_ops kernel_ops = {
	"kernel", k_msgget, k_msgsnd, k_msgrcv, k_msgctl,
	k_semget, k_semtimedop, k_semctl,
	k_shmget, k_shmat, k_shmdt, k_shmctl,
};
const struct ipc_ops uipc_ops = {
	"uipc", uipc_msgget, uipc_msgsnd, uipc_msgrcv, uipc_msgctl,
	uipc_semget, uipc_semtimedop, u_semctl,
	uipc_shmget, uipc_shmat, uipc_shmdt, uipc_shmctl,
};

int harness_private_ipc;

/* The host's IPC sysctls, carried into the test's own IPC namespace (a new
 * one starts with the kernel's defaults, and uipc's namespace is made with
 * the host's values). */
static const char *const ipc_sysctls[] = {
	"msgmax", "msgmnb", "msgmni", "sem", "shmmax", "shmall", "shmmni",
	"shm_rmid_forced",
};
#define N_IPC_SYSCTLS (sizeof(ipc_sysctls) / sizeof(ipc_sysctls[0]))

static void sysctl_io(const char *name, char *buf, size_t n, int write_it)
{
	char path[128];
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, write_it ? O_WRONLY : O_RDONLY);
	if (fd < 0) {
		if (!write_it)
			buf[0] = 0;
		return;
	}
	if (write_it) {
		if (buf[0] && write(fd, buf, strlen(buf)) < 0)
			fprintf(stderr, "harness: %s not carried over: %s\n", name,
				strerror(errno));
	} else {
		k = read(fd, buf, n - 1);
		buf[k > 0 ? k : 0] = 0;
	}
	close(fd);
}

/*
 * A test's kernel side keeps to an IPC namespace of its own where it can
 * (root: unshare(CLONE_NEWIPC)), so that what it makes, removes and sets
 * there is nobody else's business, and nothing is left when it ends, even
 * killed.  Elsewhere it shares the host's, and the clean-up takes only
 * objects of its own uid that it did not find there.
 */
static void private_ipc(void)
{
	char vals[N_IPC_SYSCTLS][256];

	if (geteuid() != 0 || getenv("UIPC_TEST_HOST_IPC"))
		return;
	for (size_t i = 0; i < N_IPC_SYSCTLS; i++)
		sysctl_io(ipc_sysctls[i], vals[i], sizeof(vals[i]), 0);
	if (unshare(CLONE_NEWIPC) < 0)
		return;
	harness_private_ipc = 1;
	for (size_t i = 0; i < N_IPC_SYSCTLS; i++)
		sysctl_io(ipc_sysctls[i], vals[i], sizeof(vals[i]), 1);
}

void harness_init(int seconds)
{
	int id;

	owner_pid = getpid();
	private_ipc();
	setpgid(0, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	atexit(kernel_cleanup);
	signal(SIGALRM, on_fatal);
	signal(SIGTERM, on_fatal);
	signal(SIGINT, on_fatal);
	alarm((unsigned)seconds);
	id = msgget(IPC_PRIVATE, 0600);
	if (id < 0) {
		printf("SKIP: the kernel has no System V message queues (%s): "
		       "no oracle\n", strerror(errno));
		exit(77);
	}
	msgctl(id, IPC_RMID, NULL);
	id = semget(IPC_PRIVATE, 1, 0600);
	if (id < 0) {
		printf("SKIP: the kernel has no System V semaphores (%s): "
		       "no oracle\n", strerror(errno));
		exit(77);
	}
	semctl(id, 0, IPC_RMID);
	id = shmget(IPC_PRIVATE, 4096, 0600);
	if (id < 0) {
		printf("SKIP: the kernel has no System V shared memory (%s): "
		       "no oracle\n", strerror(errno));
		exit(77);
	}
	shmctl(id, IPC_RMID, NULL);
}

key_t test_key(int n)
{
	return (key_t)(0x5c000000 | ((owner_pid & 0x3fff) << 10) | (n & 0x3ff));
}

void tprintf(struct trace *t, const char *fmt, ...)
{
	va_list ap;
	int need;

	va_start(ap, fmt);
	need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->n + (size_t)need + 2 > t->cap) {
		t->cap = (t->n + (size_t)need + 2) * 2;
		t->s = realloc(t->s, t->cap);
		if (!t->s)
			abort();
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->n, (size_t)need + 1, fmt, ap);
	va_end(ap);
	t->n += (size_t)need;
	t->s[t->n++] = '\n';
	t->s[t->n] = 0;
}

const char *errname(int e)
{
	static const struct { int e; const char *n; } tab[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
		{ EINTR, "EINTR" }, { EIO, "EIO" }, { E2BIG, "E2BIG" },
		{ EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
		{ EFAULT, "EFAULT" }, { EEXIST, "EEXIST" }, { EINVAL, "EINVAL" },
		{ ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" },
		{ ENOMSG, "ENOMSG" }, { EIDRM, "EIDRM" }, { EFBIG, "EFBIG" },
		{ EBADF, "EBADF" }, { EPIPE, "EPIPE" }, { ENOTTY, "ENOTTY" },
		{ EBUSY, "EBUSY" }, { EMFILE, "EMFILE" }, { ENFILE, "ENFILE" },
		{ ESPIPE, "ESPIPE" }, { ENXIO, "ENXIO" },
		{ EOPNOTSUPP, "EOPNOTSUPP" },
	};
	static char buf[32];

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].e == e)
			return tab[i].n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

pid_t fork_ready(void (*fn)(void *arg, int ready_fd), void *arg)
{
	int p[2];
	pid_t kid;
	char c;

	if (pipe(p) < 0)
		return -1;
	kid = fork();
	if (kid == 0) {
		close(p[0]);
		alarm(20);
		fn(arg, p[1]);
		_exit(0);
	}
	close(p[1]);
	if (kid > 0 && read(p[0], &c, 1) != 1)
		kid = -1;
	close(p[0]);
	return kid;
}

void tlines(struct trace *t, const char *prefix, const char *text)
{
	while (*text) {
		const char *e = strchr(text, '\n');
		int len = e ? (int)(e - text) : (int)strlen(text);

		tprintf(t, "%s%.*s", prefix, len, text);
		text += len + (e ? 1 : 0);
	}
}

long tval(struct trace *t, const char *what, long r)
{
	int e = errno;

	if (r < 0)
		tprintf(t, "%s -> -1 %s", what, errname(e));
	else
		tprintf(t, "%s -> %ld", what, r);
	errno = e;
	return r;
}

long tcall(struct trace *t, const char *what, long r)
{
	if (r < 0)
		tprintf(t, "%s -> -1 %s", what, errname(errno));
	else
		tprintf(t, "%s -> ok", what);
	return r;
}

const char *pid_name(pid_t p, const pid_t *pids,
			    const char *const *roles, int npids)
{
	static char buf[32];

	if (p == 0)
		return "0";
	if (p == getpid())
		return "self";
	if (p == harness_child)
		return "child";
	for (int i = 0; i < npids; i++)
		if (pids[i] == p)
			return roles[i];
	snprintf(buf, sizeof(buf), "pid?%d", (int)p);
	return buf;
}

static const char *time_class(time_t v)
{
	static char buf[4][32];
	static int k;
	time_t now = time(NULL);

	if (v == 0)
		return "0";
	if (v >= now - 10 && v <= now + 1)
		return "now";
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "t%ld", (long)v);
	return buf[k];
}

void trace_ds(struct trace *t, const char *what, const struct msqid_ds *ds,
	      const pid_t *pids, const char *const *roles, int npids)
{
	char lspid[32], lrpid[32];

	snprintf(lspid, sizeof(lspid), "%s",
		 pid_name(ds->msg_lspid, pids, roles, npids));
	snprintf(lrpid, sizeof(lrpid), "%s",
		 pid_name(ds->msg_lrpid, pids, roles, npids));
	tprintf(t, "%s: key=%s uid=%u gid=%u cuid=%u cgid=%u mode=%o "
		"cbytes=%lu qnum=%lu qbytes=%lu lspid=%s lrpid=%s "
		"stime=%s rtime=%s ctime=%s", what,
		ds->msg_perm.__key == IPC_PRIVATE ? "private" : "key",
		ds->msg_perm.uid, ds->msg_perm.gid, ds->msg_perm.cuid,
		ds->msg_perm.cgid, ds->msg_perm.mode,
		(unsigned long)ds->__msg_cbytes, (unsigned long)ds->msg_qnum,
		(unsigned long)ds->msg_qbytes, lspid, lrpid,
		time_class(ds->msg_stime), time_class(ds->msg_rtime),
		time_class(ds->msg_ctime));
}

void trace_semds(struct trace *t, const char *what, const struct semid_ds *ds)
{
	tprintf(t, "%s: key=%s uid=%u gid=%u cuid=%u cgid=%u mode=%o "
		"nsems=%lu otime=%s ctime=%s", what,
		ds->sem_perm.__key == IPC_PRIVATE ? "private" : "key",
		ds->sem_perm.uid, ds->sem_perm.gid, ds->sem_perm.cuid,
		ds->sem_perm.cgid, ds->sem_perm.mode,
		(unsigned long)ds->sem_nsems, time_class(ds->sem_otime),
		time_class(ds->sem_ctime));
}

void trace_shmds(struct trace *t, const char *what, const struct shmid_ds *ds,
		 const pid_t *pids, const char *const *roles, int npids)
{
	char cpid[32], lpid[32];

	snprintf(cpid, sizeof(cpid), "%s", pid_name(ds->shm_cpid, pids, roles, npids));
	snprintf(lpid, sizeof(lpid), "%s", pid_name(ds->shm_lpid, pids, roles, npids));
	tprintf(t, "%s: key=%s uid=%u gid=%u cuid=%u cgid=%u mode=%o segsz=%zu "
		"nattch=%lu cpid=%s lpid=%s atime=%s dtime=%s ctime=%s", what,
		ds->shm_perm.__key == IPC_PRIVATE ? "private" : "key",
		ds->shm_perm.uid, ds->shm_perm.gid, ds->shm_perm.cuid,
		ds->shm_perm.cgid, ds->shm_perm.mode, ds->shm_segsz,
		(unsigned long)ds->shm_nattch, cpid, lpid,
		time_class(ds->shm_atime), time_class(ds->shm_dtime),
		time_class(ds->shm_ctime));
}

void trace_shm_stat(const struct ipc_ops *o, struct trace *t, const char *what,
		    int id, pid_t child)
{
	static const char *const roles[] = { "child" };
	struct shmid_ds ds;
	pid_t pids[1] = { child };

	if (tcall(t, what, o->shmctl(id, IPC_STAT, &ds)) == 0)
		trace_shmds(t, what, &ds, pids, roles, 1);
}

void *harness_shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("harness_shared");
		exit(1);
	}
	return p;
}

const char *harness_ns_dir(void)
{
	const char *p = getenv("UIPC_NS");

	return p && *p ? p : UIPC_DEFAULT_NS;
}

int harness_spoil_header(const char *kind, int id)
{
	uint32_t bad = 0x12345678;
	char path[4200];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s.%d", harness_ns_dir(), kind, id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = pwrite(fd, &bad, sizeof(bad), 0) == (ssize_t)sizeof(bad) ? 0 : -1;
	close(fd);
	return r;
}

int run_self(const char *mode, int id, const char *what)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char arg[16];

		snprintf(arg, sizeof(arg), "%d", id);
		execl("/proc/self/exe", "probe", mode, arg, (char *)NULL);
		_exit(126);
	}
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st)) {
		CHECK(0, "%s: child died of signal %d", what, WTERMSIG(st));
		return -1;
	}
	CHECK(WEXITSTATUS(st) == 0, "%s: child exited %d", what, WEXITSTATUS(st));
	return WEXITSTATUS(st) ? -1 : 0;
}

void trace_free(struct trace *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

static void print_lines(const char *label, const char *s, int from, int count)
{
	int line = 0;

	for (const char *p = s; *p; line++) {
		const char *e = strchr(p, '\n');
		int len = e ? (int)(e - p) : (int)strlen(p);

		if (line >= from && line < from + count)
			fprintf(stderr, "  %-6s %3d| %.*s\n", label, line + 1, len, p);
		p = e ? e + 1 : p + len;
	}
}

int trace_compare(const char *name, struct trace *k, struct trace *u)
{
	const char *a = k->s ? k->s : "", *b = u->s ? u->s : "";
	int line = 0, r = 0, more = 0;

	while (*a || *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t la = ea ? (size_t)(ea - a) : strlen(a);
		size_t lb = eb ? (size_t)(eb - b) : strlen(b);

		if (la != lb || memcmp(a, b, la)) {
			if (!r) {
				fprintf(stderr, "FAIL %s: uipc differs from the "
					"kernel at line %d:\n", name, line + 1);
				print_lines("kernel", k->s ? k->s : "", line - 2, 5);
				print_lines("uipc", u->s ? u->s : "", line - 2, 5);
				r = 1;
			} else if (more++ < 40) {
				fprintf(stderr, "  also line %d:\n    kernel| %.*s\n"
					"    uipc  | %.*s\n", line + 1, (int)la, a,
					(int)lb, b);
			}
		}
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
		line++;
	}
	if (r == 0)
		printf("ok   %s (%d calls agree)\n", name, line);
	else if (more)
		fprintf(stderr, "  %d line(s) differ in all\n", more + 1);
	if (getenv("UIPC_TEST_SHOW"))	/* the kernel's trace, to read */
		printf("%s", k->s ? k->s : "");
	harness_failures += r;
	trace_free(k);
	trace_free(u);
	return r;
}

int run_both(const char *name, scenario_fn scen)
{
	struct trace k = { 0 }, u = { 0 };

	scen(&kernel_ops, &k);
	scen(&uipc_ops, &u);
	return trace_compare(name, &k, &u);
}

/* Runs fn in a forked child, after dropping to uid/gid if drop, and
 * appends the child's trace to t.  Returns the child's pid, reaped. */
static pid_t child_trace(int drop, uid_t uid, gid_t gid,
			 const struct ipc_ops *o, struct trace *t,
			 scenario_fn fn)
{
	int p[2];
	pid_t pid;
	char buf[4096];
	ssize_t n;
	int st;

	if (pipe(p) < 0) {
		tprintf(t, "pipe failed");
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		struct trace c = { 0 };
		int before = harness_failures;

		close(p[0]);
		if (drop && (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
			     setuid(uid) < 0)) {
			tprintf(&c, "could not drop privileges: %s", strerror(errno));
		} else {
			fn(o, &c);
		}
		if (c.s)
			write(p[1], c.s, c.n);
		/* The child's failed checks are the test's. */
		_exit(harness_failures - before > 100 ? 100 : harness_failures - before);
	}
	close(p[1]);
	harness_child = pid;
	while ((n = read(p[0], buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		/* The child's lines arrive whole: append them as they are. */
		if (t->n + (size_t)n + 1 > t->cap) {
			t->cap = (t->n + (size_t)n + 1) * 2;
			t->s = realloc(t->s, t->cap);
		}
		memcpy(t->s + t->n, buf, (size_t)n + 1);
		t->n += (size_t)n;
	}
	close(p[0]);
	if (waitpid(pid, &st, 0) == pid) {
		if (WIFEXITED(st))
			harness_failures += WEXITSTATUS(st);
		CHECK(!WIFSIGNALED(st), "a scenario's child died of signal %d",
		      WTERMSIG(st));
	}
	return pid;
}

void as_user(uid_t uid, gid_t gid, const struct ipc_ops *o, struct trace *t,
	     scenario_fn fn)
{
	child_trace(1, uid, gid, o, t, fn);
}

pid_t as_self(const struct ipc_ops *o, struct trace *t, scenario_fn fn)
{
	return child_trace(0, 0, 0, o, t, fn);
}

char harness_proc_state(pid_t pid)
{
	char path[64], buf[512], *rp;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	buf[0] = 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

int wait_blocked(pid_t pid)
{
	int sleeping = 0;

	for (int i = 0; i < 2000; i++) {
		char state = harness_proc_state(pid);

		if (!state)
			return -1;
		if (state == 'S') {
			if (++sleeping >= 5)
				return 0;
		} else {
			sleeping = 0;
		}
		usleep(2000);
	}
	return -1;
}

/* In libuipc (wait.c), for the tests: the namespace's count of sleeps that
 * ended by the safety period although a waker had woken them. */
uint64_t uipc_lost_wakes(void);

static int lost_wakes_allowed;

void harness_allow_lost_wakes(void)
{
	lost_wakes_allowed = 1;
}

int harness_done(void)
{
	uint64_t lost = lost_wakes_allowed ? 0 : uipc_lost_wakes();

	/* A missing wake-up only slows a blocked call down to the safety
	 * period; counted, it fails the test instead. */
	CHECK(lost == 0, "%llu wake-up(s) lost: sleeps ended by the safety "
	      "period although woken", (unsigned long long)lost);
	if (harness_failures) {
		printf("%d check(s) failed\n", harness_failures);
		return 1;
	}
	return 0;
}

/* ---- unmodified programs under `uipc run` ------------------------------ */

int shim_usable(void)
{
#if defined(__SANITIZE_ADDRESS__)
	printf("SKIP: a sanitized shim cannot be preloaded into an uninstrumented "
	       "program\n");
	return 0;
#else
	return 1;
#endif
}

int shim_usable_system(void)
{
	if (!shim_usable())
		return 0;
#ifndef __GLIBC__
	printf("SKIP: the shim is built against another C library than the "
	       "system's programs it would be preloaded into\n");
	return 0;
#else
	return 1;
#endif
}

int run_capture(char *out, size_t n, const char *cmd)
{
	size_t used = 0;
	FILE *f = popen(cmd, "r");
	int st;

	out[0] = 0;
	if (!f)
		return -1;
	while (used + 1 < n && fgets(out + used, (int)(n - used), f))
		used += strlen(out + used);
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The kernel's ids of each kind, to find what a program left behind. */
struct kernel_ids {
	int id[3][256];		/* -1 after the last */
};

static void kernel_ids(struct kernel_ids *k)
{
	struct msginfo mi;
	struct seminfo si;
	struct shm_info hi;
	struct msqid_ds md;
	struct semid_ds sd;
	struct shmid_ds hd;
	int c[3] = { 0, 0, 0 }, max[3], id;

	/* *_INFO answers the highest index in use. */
	max[0] = msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	max[1] = semctl(0, 0, SEM_INFO, &si);
	max[2] = shmctl(0, SHM_INFO, (struct shmid_ds *)&hi);
	/* In the host's namespace, only our uid's are ours to count. */
#define OURS(perm) (harness_private_ipc || (perm).cuid == geteuid())
	for (int i = 0; i <= max[0] && c[0] < 256; i++)
		if ((id = msgctl(i, MSG_STAT_ANY, &md)) >= 0 && OURS(md.msg_perm))
			k->id[0][c[0]++] = id;
	for (int i = 0; i <= max[1] && c[1] < 256; i++)
		if ((id = semctl(i, 0, SEM_STAT_ANY, &sd)) >= 0 && OURS(sd.sem_perm))
			k->id[1][c[1]++] = id;
	for (int i = 0; i <= max[2] && c[2] < 256; i++)
		if ((id = shmctl(i, SHM_STAT_ANY, &hd)) >= 0 && OURS(hd.shm_perm))
			k->id[2][c[2]++] = id;
#undef OURS
	for (int i = 0; i < 3; i++)
		for (int j = c[i]; j < 256; j++)
			k->id[i][j] = -1;
}

static int had(const struct kernel_ids *k, int kind, int id)
{
	for (int j = 0; j < 256 && k->id[kind][j] >= 0; j++)
		if (k->id[kind][j] == id)
			return 1;
	return 0;
}

static struct kernel_ids watch;
static int watching;

void harness_watch_kernel(void)
{
	kernel_ids(&watch);
	watching = 1;
}

int harness_kernel_leftovers(void)
{
	struct kernel_ids now;
	int n = 0;

	if (!watching)
		return 0;
	kernel_ids(&now);
	for (int kind = 0; kind < 3; kind++)
		for (int j = 0; j < 256 && now.id[kind][j] >= 0; j++) {
			int id = now.id[kind][j];

			if (had(&watch, kind, id))
				continue;
			n++;
			if (kind == 0)
				msgctl(id, IPC_RMID, NULL);
			else if (kind == 1)
				semctl(id, 0, IPC_RMID);
			else
				shmctl(id, IPC_RMID, NULL);
		}
	return n;
}

int helper_path(char *buf, size_t n, const char *name)
{
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";

	snprintf(buf, n, "%s/helpers/%s", b, name);
	if (access(buf, X_OK) == 0)
		return 0;
	printf("SKIP: %s not built\n", buf);
	return -1;
}

int compare_program(const char *name, const char *cmd)
{
	return compare_program_run(name, cmd, "--block-kernel-ipc");
}

int compare_program_run(const char *name, const char *cmd, const char *opts)
{
	static char kout[65536], uout[65536];
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	char full[4096];
	int krc, urc, left;

	harness_watch_kernel();
	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	krc = run_capture(kout, sizeof(kout), full);
	left = harness_kernel_leftovers();
	CHECK(left == 0, "%s on the kernel left %d object(s) (removed)", name, left);
	snprintf(full, sizeof(full), "%s/uipc run %s -- %s 2>&1", b, opts, cmd);
	urc = run_capture(uout, sizeof(uout), full);
	left = harness_kernel_leftovers();
	CHECK(left == 0, "%s under uipc made %d kernel object(s)", name, left);
	CHECK(krc == 0, "%s on the kernel exited %d:\n%s", name, krc, kout);
	CHECK(urc == krc && !strcmp(kout, uout),
	      "%s: kernel (exit %d) and uipc (exit %d) differ\n--- kernel\n%s"
	      "--- uipc\n%s", name, krc, urc, kout, uout);
	if (getenv("UIPC_TEST_SHOW"))
		printf("%s", uout);
	return harness_failures ? -1 : 0;
}
