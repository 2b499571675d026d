/*
 * pipe_trust: another local user against the ring files of uipc pipes.
 *
 * A uipc pipe keeps its bytes in the file "pipe.<ino>" of the namespace,
 * named after the kernel pipe's inode number, mode 0600 and its creator's
 * (src/pipe.c, "Trust").  A namespace root made is world-writable and
 * sticky, and pipefs inode numbers are handed out in order (per CPU, in
 * batches), so another user can tell the names of a victim's next pipes
 * and take them first, or go after the rings while they are live.  The
 * rounds, each with a fresh attacker (nobody) and fresh victims (daemon):
 *  - plant empty: 0666 regular files of length 0 under the next 200
 *    names of every CPU (found by making a kernel pipe there and fstat-ing
 *    it) and the first 64 of the next two batches, before the victim makes
 *    its pipes; one name in four is left free, so that the victim has
 *    rings beside pipes whose name was taken;
 *  - plant random: the same with random bytes of a real ring file's size,
 *    half of them starting with a ring header that passes for the name's;
 *  - plant copies: copies of a ring file of the attacker's own (a uipc
 *    pipe with some of its bytes in it), half as they are, half patched to
 *    name the planted pipe and the victim as creator;
 *  - plant FIFOs and directories;
 *  - plant symlinks: to the victim's secret file outside the namespace, to
 *    the attacker's own forged copies, and dangling into a directory of
 *    the victim's (a creation through one would show there); and hard
 *    links to the victim's file (the kernel refuses them where
 *    fs.protected_hardlinks is set);
 *  - live rings: no plants;
 *  - held copies and exit work: copies patched to name the planted pipe,
 *    the victim, and as the holder of the ring's lock the attacker (alive
 *    throughout), and every free entry of the namespace's process table
 *    made to look like a live process that used pipes (the table is
 *    anyone's to write), so that the victim's registration, at its first
 *    call, takes over an entry and does the exit work of a process that
 *    held pipes; that work must not take the plants for rings (this round
 *    is last: the table stays forged).
 * In every round, while the victim's pipes are live, the attacker goes at
 * each ring file of the victim's: opens it for reading, writing and
 * truncation (also reopening an O_PATH descriptor), truncates, chmods,
 * chowns, unlinks, renames it away, and renames, exchanges, links and
 * symlinks its own files over it; all of it must fail (0600, sticky
 * directory).  It does so once while the victim waits with all its pipes
 * made, then over and over while the victim moves its data (without what
 * succeeds on a free name: a ring may go between the look and the try).
 * It reads every file of the namespace it can, during the round and
 * after, and checks that the files it planted are as it left them.
 *
 * The victim makes five pipes (pipe2 with 0, O_NONBLOCK, O_DIRECT, 0 and
 * O_NONBLOCK|O_DIRECT), forks a child that shares them, and the two move
 * writes of 1, 100, 4096, 5000 and 70000 bytes each way, blocking,
 * non-blocking and as packets, with FIONREAD, F_GETPIPE_SZ and poll along
 * the way, then EOF after the writer closed and EPIPE with SIGPIPE
 * ignored.  Every result is traced (return values, errno names, byte
 * counts, checksums), and the same victim runs on the kernel's pipes under
 * the same attack: the two traces must match, since an attack may cost
 * uipc speed but never change what its user sees.
 *
 * Also, in every run: no victim process dies of a signal or hangs (every
 * wait is bounded); the victim's secret file is unchanged (content, mode,
 * owner) and nothing was made through the dangling links; nothing the
 * attacker could read holds the secret the victim writes into its pipes
 * (stamped every 256 bytes of its data) or the one in its file; no plant
 * changed; no ring file of the victim's is left once its ends are closed.
 * A plant round whose plants no victim pipe met would test nothing (other
 * processes took the numbers meanwhile): it is run again, twice at most,
 * then fails, as does a live round in which the victim had no ring.
 *
 * Layouts: the attacker patches the header of its ring copy: the inode
 * number at byte 8, the creator's uid at 16, the lock word at 24 (struct
 * pipe_ring in src/pipe.c; the word is pid | start time << 32, src/lock.c);
 * a ring file's first 32 KiB are copied (the header, the slots, the first
 * data page), the rest left a hole of the same length.  The process table
 * is written through src/internal.h's struct uipc_ns.
 */
#include "harness.h"

#include <stdarg.h>
#include <sys/syscall.h>
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define NOBODY	65534
#define VICTIM	1		/* daemon */
#define AHEAD	200		/* names planted past each CPU's last inode */
#define PLANTS	3200		/* ... fewer each if there are many CPUs */
#define MAX_CPUS 64		/* CPUs planted for, and the victim runs on */
#define INO_BATCH 1024		/* LAST_INO_BATCH of get_next_ino() */
#define BATCH_AHEAD 64		/* names planted into the next batches */
#define MAX_PLANTS (PLANTS + 2 * BATCH_AHEAD)
#define COPY_LEN (32 << 10)	/* bytes of a ring file copied */
#define NPIPES	5
#define SYNC_MS	5000		/* a wait for the other side, at most */
#define PROC_S	12		/* a victim's alarm; the attacker's is longer */
#define TRACE_MAX (64 << 10)
#define NOTES_MAX (16 << 10)
#define READ_MAX (64 << 20)	/* bytes of one file the attacker reads */
#define SECRET_LEN 29		/* "ptrust-pipe-" and 16 hex digits, + 1 */

struct pops {
	const char *name;
	int (*pipe2)(int[2], int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*poll)(struct pollfd *, nfds_t, int);
};

/* The C library's ioctl with uipc_ioctl's prototype (musl's takes an
 * int request). */
static int k_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	return ioctl(fd, req, arg);
}

static const struct pops kernel_pops = {
	"kernel", pipe2, read, write, close, fcntl, k_ioctl, poll,
};
static const struct pops uipc_pops = {
	"uipc", uipc_pipe2, uipc_read, uipc_write, uipc_close, uipc_fcntl,
	uipc_ioctl, uipc_poll,
};

/* R_EXIT leaves the process table forged: last. */
enum { R_EMPTY, R_JUNK, R_COPY, R_ODD, R_SYMLINK, R_LIVE, R_EXIT, R_N };
static const char *const round_name[R_N] = {
	"plant empty", "plant random", "plant copies", "plant FIFOs and directories",
	"plant symlinks", "live rings", "held copies and exit work",
};

/* Shared with every process of the test (mapped before the forks). */
struct shared {
	char pipe_secret[SECRET_LEN], file_secret[SECRET_LEN];
	/* the victim's */
	size_t plen, clen;
	char ptrace[TRACE_MAX], ctrace[TRACE_MAX];
	pid_t vchild;
	int npipes;
	uint64_t ino[NPIPES];
	int name_uid[NPIPES];	/* owner of pipe.<ino> just after pipe2, -1 */
	int slowest_ms;		/* its slowest pipe2 (it registers in one) */
	/* the attacker's */
	int planted, passes, attempts, breaches, leaks, changed, hardlinks;
	size_t nlen;
	char notes[NOTES_MAX];
};
static struct shared *g;

static char g_ns[200], g_tmp[256], g_secret_path[300], g_vdir[300];
static int g_made_ns;
static pid_t g_kids[2];		/* attacker, victim: not reaped yet */

/* A child of the test: the harness's watchdog handlers are the test's
 * (they would kill the whole test), its own alarm bounds it. */
static void child_start(unsigned seconds)
{
	signal(SIGALRM, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	alarm(seconds);
}

static int become(uid_t uid)
{
	return setgroups(0, NULL) == 0 && setgid(uid) == 0 && setuid(uid) == 0 ? 0 : -1;
}

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

#define FNV0 2166136261u

static uint64_t g_rng;

static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

/* ---- plumbing ------------------------------------------------------ */

/* One byte from fd within ms, or -1. */
static int get_byte(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	unsigned char c;

	if (poll(&p, 1, ms) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

static int put_byte(int fd, int c)
{
	unsigned char b = (unsigned char)c;

	return write(fd, &b, 1) == 1 ? 0 : -1;
}

/* The first MAX_CPUS of the CPUs we may run on: where the attacker
 * plants, and where the victim runs (a machine with more is not
 * covered whole). */
static int first_cpus(cpu_set_t *set)
{
	cpu_set_t all;
	int n = 0;

	CPU_ZERO(set);
	if (sched_getaffinity(0, sizeof(all), &all) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < MAX_CPUS; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, set);
			n++;
		}
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Exit status of p (128 + signal), -1 if it had to be killed after ms. */
static int wait_exit(pid_t p, int ms)
{
	int st;

	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(p, &st, WNOHANG);

		if (r == p)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -2;
		usleep(1000);
	}
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return -1;
}

/* The test is a subreaper: the victim's child is the test's once the
 * victim is gone, and a child not reaped yet keeps its pid, so that only
 * the test's own processes are ever killed. */
static void kill_kids(void)
{
	for (int i = 0; i < 2; i++)
		if (g_kids[i] > 0) {
			kill(g_kids[i], SIGKILL);
			waitpid(g_kids[i], NULL, 0);
			g_kids[i] = 0;
		}
	if (g && g->vchild > 0 && waitpid(g->vchild, NULL, WNOHANG) == 0) {
		kill(g->vchild, SIGKILL);
		waitpid(g->vchild, NULL, 0);
	}
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	kill_kids();
	if (g_made_ns)
		nftw(g_ns, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (g_tmp[0])
		nftw(g_tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A line of the attacker's report. */
static void note(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (g->nlen + 200 > NOTES_MAX)
		return;
	va_start(ap, fmt);
	n = vsnprintf(g->notes + g->nlen, NOTES_MAX - g->nlen - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		g->nlen += strnlen(g->notes + g->nlen, (size_t)n);
	g->notes[g->nlen++] = '\n';
	g->notes[g->nlen] = 0;
}

/* ---- the victim ----------------------------------------------------- */

static unsigned char wbuf[70000], rbuf[140000];

/* n bytes of a pattern of seed, with the pipe secret every 256 bytes. */
static void fill(unsigned char *b, size_t n, unsigned seed)
{
	size_t sl = strlen(g->pipe_secret);

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((i * 7 + seed * 13 + (i >> 8)) ^ (i >> 16));
	for (size_t off = 0; off + sl <= n; off += 256)
		memcpy(b + off, g->pipe_secret, sl);
}

static void t_data(struct trace *t, const char *what, long r, const unsigned char *b)
{
	int e = errno;

	if (r < 0)
		tprintf(t, "%s -> -1 %s", what, errname(e));
	else
		tprintf(t, "%s -> %ld fnv=%08x", what, r, fnv(FNV0, b, (size_t)r));
}

static void t_write(const struct pops *o, struct trace *t, int fd, size_t n,
		    unsigned seed, const char *what)
{
	fill(wbuf, n, seed);
	tval(t, what, o->write(fd, wbuf, n));
}

static void t_read(const struct pops *o, struct trace *t, int fd, size_t n,
		   const char *what)
{
	t_data(t, what, o->read(fd, rbuf, n), rbuf);
}

/* Reads until n bytes came (a blocking writer feeds them in pieces):
 * the total and its checksum, and how the loop ended. */
static void t_read_all(const struct pops *o, struct trace *t, int fd, size_t n,
		       const char *what)
{
	size_t got = 0;
	ssize_t r = 1;

	while (got < n && (r = o->read(fd, rbuf + got, n - got)) > 0)
		got += (size_t)r;
	tprintf(t, "%s -> %zu fnv=%08x%s%s", what, got, fnv(FNV0, rbuf, got),
		r < 0 ? " then -1 " : r == 0 ? " then EOF" : "",
		r < 0 ? errname(errno) : "");
}

/* Reads packets until n bytes came: their sizes. */
static void t_read_packets(const struct pops *o, struct trace *t, int fd,
			   size_t n, const char *what)
{
	char sizes[512];
	size_t got = 0, sl = 0;
	ssize_t r = 1;
	uint32_t h = FNV0;

	sizes[0] = 0;
	while (got < n && (r = o->read(fd, rbuf, 65536)) > 0) {
		got += (size_t)r;
		h = fnv(h, rbuf, (size_t)r);
		if (sl + 16 < sizeof(sizes))
			sl += (size_t)snprintf(sizes + sl, sizeof(sizes) - sl, " %zd", r);
	}
	tprintf(t, "%s -> %zu fnv=%08x reads:%s%s%s", what, got, h, sizes,
		r < 0 ? " then -1 " : r == 0 ? " then EOF" : "",
		r < 0 ? errname(errno) : "");
}

static void t_fionread(const struct pops *o, struct trace *t, int fd, const char *what)
{
	int v = -1;
	long r = o->ioctl(fd, FIONREAD, &v);

	if (r < 0)
		tprintf(t, "%s -> -1 %s", what, errname(errno));
	else
		tprintf(t, "%s -> %d", what, v);
}

static void t_pipesz(const struct pops *o, struct trace *t, int fd, const char *what)
{
	tval(t, what, o->fcntl(fd, F_GETPIPE_SZ));
}

static void t_poll(const struct pops *o, struct trace *t, int fd, short ev,
		   const char *what)
{
	struct pollfd p = { fd, ev, 0 };
	long r = o->poll(&p, 1, 0);

	if (r < 0)
		tprintf(t, "%s -> -1 %s", what, errname(errno));
	else
		tprintf(t, "%s -> %ld revents=%#x", what, r, (unsigned)p.revents);
}

/* The victim's pipes: A parent -> child blocking, B child -> parent
 * non-blocking, D parent -> child packets, E for EPIPE, F child ->
 * parent non-blocking packets. */
enum { PA, PB, PD, PE, PF };
static const int pipe_flags[NPIPES] = { 0, O_NONBLOCK, O_DIRECT, 0, O_NONBLOCK | O_DIRECT };
static const char *const pipe_label[NPIPES] = { "A", "B", "D", "E", "F" };
static const size_t sizes[] = { 1, 100, 4096, 5000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct vsync {
	int to_child, from_parent;	/* plain kernel pipes */
	int to_parent, from_child;
};

/* A sync point: says c, waits for the other side's c; traced if lost. */
static void sync_pt(struct trace *t, int out, int in, int c)
{
	if (put_byte(out, c) < 0 || get_byte(in, SYNC_MS) != c)
		tprintf(t, "sync %c lost", c);
}

static void victim_child(const struct pops *o, int p[NPIPES][2], struct vsync *s)
{
	struct trace t = { 0 };
	char what[64];

	child_start(PROC_S);
	signal(SIGPIPE, SIG_IGN);
	o->close(p[PA][1]);
	o->close(p[PB][0]);
	o->close(p[PD][1]);
	o->close(p[PE][1]);
	o->close(p[PF][0]);
	close(s->to_child);
	close(s->from_child);
	/* A: blocking, from the parent. */
	for (size_t i = 0; i < NSIZES; i++) {
		if (get_byte(s->from_parent, SYNC_MS) != 'a')
			tprintf(&t, "C: sync a lost");
		snprintf(what, sizeof(what), "C: A FIONREAD after %zu", sizes[i]);
		t_fionread(o, &t, p[PA][0], what);
		t_poll(o, &t, p[PA][0], POLLIN, "C: A poll IN");
		snprintf(what, sizeof(what), "C: A read %zu", sizes[i]);
		t_read(o, &t, p[PA][0], sizeof(rbuf), what);
		t_fionread(o, &t, p[PA][0], "C: A FIONREAD after read");
		put_byte(s->to_parent, 'k');
	}
	t_read_all(o, &t, p[PA][0], 70000, "C: A read 70000 in a loop");
	sync_pt(&t, s->to_parent, s->from_parent, 'e');
	t_poll(o, &t, p[PA][0], POLLIN, "C: A poll IN, writer gone");
	t_read(o, &t, p[PA][0], 100, "C: A read at EOF");
	t_fionread(o, &t, p[PA][0], "C: A FIONREAD at EOF");
	tval(&t, "C: A close", o->close(p[PA][0]));

	/* B: non-blocking, to the parent. */
	for (size_t i = 0; i < NSIZES; i++) {
		snprintf(what, sizeof(what), "C: B write %zu", sizes[i]);
		t_write(o, &t, p[PB][1], sizes[i], 20 + (unsigned)i, what);
		sync_pt(&t, s->to_parent, s->from_parent, 'b');
	}
	t_write(o, &t, p[PB][1], 70000, 30, "C: B write 70000 (non-blocking)");
	t_write(o, &t, p[PB][1], 1, 31, "C: B write 1 more, full");
	t_poll(o, &t, p[PB][1], POLLOUT, "C: B poll OUT, full");
	t_pipesz(o, &t, p[PB][1], "C: B F_GETPIPE_SZ");
	sync_pt(&t, s->to_parent, s->from_parent, 'f');
	t_write(o, &t, p[PB][1], 70000 - 65536, 32, "C: B write the rest");
	sync_pt(&t, s->to_parent, s->from_parent, 'g');
	tval(&t, "C: B close", o->close(p[PB][1]));
	sync_pt(&t, s->to_parent, s->from_parent, 'h');

	/* D: packets from the parent. */
	sync_pt(&t, s->to_parent, s->from_parent, 'i');
	t_fionread(o, &t, p[PD][0], "C: D FIONREAD");
	for (size_t i = 0; i < NSIZES + 1; i++)
		t_read(o, &t, p[PD][0], 65536, "C: D read a packet");
	t_poll(o, &t, p[PD][0], POLLIN, "C: D poll IN, empty");
	put_byte(s->to_parent, 'j');
	t_read_packets(o, &t, p[PD][0], 70000, "C: D read 70000 in packets");
	t_read(o, &t, p[PD][0], 100, "C: D read at EOF");
	tval(&t, "C: D close", o->close(p[PD][0]));

	/* E: the reader goes. */
	t_pipesz(o, &t, p[PE][0], "C: E F_GETPIPE_SZ");
	tval(&t, "C: E close reader", o->close(p[PE][0]));
	sync_pt(&t, s->to_parent, s->from_parent, 'l');

	/* F: packets to the parent, non-blocking. */
	for (size_t i = 0; i < NSIZES; i++) {
		snprintf(what, sizeof(what), "C: F write %zu", sizes[i]);
		t_write(o, &t, p[PF][1], sizes[i], 40 + (unsigned)i, what);
	}
	t_write(o, &t, p[PF][1], 70000, 44, "C: F write 70000 (non-blocking)");
	t_write(o, &t, p[PF][1], 100, 45, "C: F write 100 more, full");
	sync_pt(&t, s->to_parent, s->from_parent, 'm');
	tval(&t, "C: F close", o->close(p[PF][1]));
	put_byte(s->to_parent, 'n');

	g->clen = t.n < TRACE_MAX - 1 ? t.n : TRACE_MAX - 1;
	memcpy(g->ctrace, t.s, g->clen);
	_exit(0);
}

/* The victim: makes its pipes, tells root (made), waits for go, then the
 * workload with its child. */
static void victim(const struct pops *o, int made, int go)
{
	struct trace t = { 0 };
	struct vsync s;
	int p[NPIPES][2], sp[2], cp[2], st;
	char what[80];
	cpu_set_t cpus;
	pid_t kid;

	child_start(PROC_S);
	if (first_cpus(&cpus) > 0)
		sched_setaffinity(0, sizeof(cpus), &cpus);
	if (become(VICTIM) < 0)
		_exit(2);
	signal(SIGPIPE, SIG_IGN);
	g->npipes = 0;
	for (int i = 0; i < NPIPES; i++) {
		struct stat ps, ns;
		char name[300];

		double t0 = now_s();

		p[i][0] = p[i][1] = -1;
		snprintf(what, sizeof(what), "P: pipe2 %s flags %#x", pipe_label[i],
			 (unsigned)pipe_flags[i]);
		tval(&t, what, o->pipe2(p[i], pipe_flags[i]));
		if ((now_s() - t0) * 1000 > g->slowest_ms)
			g->slowest_ms = (int)((now_s() - t0) * 1000);
		g->name_uid[i] = -1;
		if (fstat(p[i][0], &ps) == 0) {
			g->ino[i] = (uint64_t)ps.st_ino;
			snprintf(name, sizeof(name), "%s/pipe.%llu", g_ns,
				 (unsigned long long)ps.st_ino);
			if (lstat(name, &ns) == 0)
				g->name_uid[i] = (int)ns.st_uid;
		}
		g->npipes = i + 1;
	}
	for (int i = 0; i < NPIPES; i++) {
		snprintf(what, sizeof(what), "P: %s F_GETPIPE_SZ", pipe_label[i]);
		t_pipesz(o, &t, p[i][1], what);
		snprintf(what, sizeof(what), "P: %s FIONREAD empty", pipe_label[i]);
		t_fionread(o, &t, p[i][0], what);
		snprintf(what, sizeof(what), "P: %s poll read end, empty", pipe_label[i]);
		t_poll(o, &t, p[i][0], POLLIN, what);
		snprintf(what, sizeof(what), "P: %s poll write end, empty", pipe_label[i]);
		t_poll(o, &t, p[i][1], POLLOUT, what);
	}
	if (put_byte(made, 'm') < 0 || get_byte(go, SYNC_MS) != 'c')
		tprintf(&t, "P: no go from the test");
	if (pipe(sp) < 0 || pipe(cp) < 0)
		_exit(3);
	s.from_parent = sp[0];
	s.to_child = sp[1];
	s.from_child = cp[0];
	s.to_parent = cp[1];
	kid = fork();
	if (kid == 0)
		victim_child(o, p, &s);
	g->vchild = kid;
	tprintf(&t, "P: fork %s", kid > 0 ? "ok" : "failed");
	close(sp[0]);
	close(cp[1]);
	o->close(p[PA][0]);
	o->close(p[PB][1]);
	o->close(p[PD][0]);
	o->close(p[PE][0]);
	o->close(p[PF][1]);

	/* A: blocking, to the child. */
	for (size_t i = 0; i < NSIZES; i++) {
		snprintf(what, sizeof(what), "P: A write %zu", sizes[i]);
		t_write(o, &t, p[PA][1], sizes[i], 10 + (unsigned)i, what);
		put_byte(s.to_child, 'a');
		if (get_byte(s.from_child, SYNC_MS) != 'k')
			tprintf(&t, "P: sync k lost");
	}
	t_write(o, &t, p[PA][1], 70000, 14, "P: A write 70000 (blocking)");
	tval(&t, "P: A close writer", o->close(p[PA][1]));
	t_read(o, &t, p[PB][0], 100, "P: B read, nothing yet");
	sync_pt(&t, s.to_child, s.from_child, 'e');

	/* B: non-blocking, from the child. */
	for (size_t i = 0; i < NSIZES; i++) {
		if (get_byte(s.from_child, SYNC_MS) != 'b')
			tprintf(&t, "P: sync b lost");
		snprintf(what, sizeof(what), "P: B FIONREAD after %zu", sizes[i]);
		t_fionread(o, &t, p[PB][0], what);
		t_poll(o, &t, p[PB][0], POLLIN, "P: B poll IN");
		snprintf(what, sizeof(what), "P: B read %zu", sizes[i]);
		t_read(o, &t, p[PB][0], sizeof(rbuf), what);
		t_read(o, &t, p[PB][0], sizeof(rbuf), "P: B read again, empty");
		put_byte(s.to_child, 'b');
	}
	if (get_byte(s.from_child, SYNC_MS) != 'f')
		tprintf(&t, "P: sync f lost");
	t_fionread(o, &t, p[PB][0], "P: B FIONREAD, full");
	t_read(o, &t, p[PB][0], sizeof(rbuf), "P: B read all");
	put_byte(s.to_child, 'f');
	if (get_byte(s.from_child, SYNC_MS) != 'g')
		tprintf(&t, "P: sync g lost");
	t_read(o, &t, p[PB][0], sizeof(rbuf), "P: B read the rest");
	put_byte(s.to_child, 'g');
	if (get_byte(s.from_child, SYNC_MS) != 'h')
		tprintf(&t, "P: sync h lost");
	t_poll(o, &t, p[PB][0], POLLIN, "P: B poll IN, writer gone");
	t_read(o, &t, p[PB][0], 100, "P: B read at EOF");
	tval(&t, "P: B close", o->close(p[PB][0]));
	put_byte(s.to_child, 'h');

	/* D: packets to the child. */
	for (size_t i = 0; i < NSIZES; i++) {
		snprintf(what, sizeof(what), "P: D write %zu", sizes[i]);
		t_write(o, &t, p[PD][1], sizes[i], 50 + (unsigned)i, what);
	}
	sync_pt(&t, s.to_child, s.from_child, 'i');
	if (get_byte(s.from_child, SYNC_MS) != 'j')
		tprintf(&t, "P: sync j lost");
	t_write(o, &t, p[PD][1], 70000, 54, "P: D write 70000 (blocking)");
	tval(&t, "P: D close writer", o->close(p[PD][1]));

	/* E: EPIPE once the child's reader went. */
	if (get_byte(s.from_child, SYNC_MS) != 'l')
		tprintf(&t, "P: sync l lost");
	t_poll(o, &t, p[PE][1], POLLOUT, "P: E poll OUT, reader gone");
	t_write(o, &t, p[PE][1], 100, 60, "P: E write 100, reader gone");
	t_write(o, &t, p[PE][1], 70000, 61, "P: E write 70000, reader gone");
	t_pipesz(o, &t, p[PE][1], "P: E F_GETPIPE_SZ");
	tval(&t, "P: E close", o->close(p[PE][1]));
	put_byte(s.to_child, 'l');

	/* F: non-blocking packets from the child. */
	if (get_byte(s.from_child, SYNC_MS) != 'm')
		tprintf(&t, "P: sync m lost");
	t_fionread(o, &t, p[PF][0], "P: F FIONREAD, full");
	t_read_packets(o, &t, p[PF][0], 1 + 100 + 4096 + 5000,
		       "P: F read the first four writes");
	t_read_packets(o, &t, p[PF][0], SIZE_MAX, "P: F read until empty");
	t_poll(o, &t, p[PF][0], POLLIN, "P: F poll IN, empty");
	put_byte(s.to_child, 'm');
	if (get_byte(s.from_child, SYNC_MS) != 'n')
		tprintf(&t, "P: sync n lost");
	t_read(o, &t, p[PF][0], 100, "P: F read at EOF");
	tval(&t, "P: F close", o->close(p[PF][0]));

	st = kid > 0 ? wait_exit(kid, SYNC_MS) : -3;
	tprintf(&t, "P: child exit %d", st);
	if (g->clen)
		tlines(&t, "", g->ctrace);
	g->plen = t.n < TRACE_MAX - 1 ? t.n : TRACE_MAX - 1;
	memcpy(g->ptrace, t.s, g->plen);
	_exit(0);
}

/* ---- the attacker --------------------------------------------------- */

struct plant {
	char name[48];
	int kind;		/* 'f' file, 'p' FIFO, 'd' directory, 'l' link */
	off_t size;
	uint32_t sum;
};
static struct plant plants[MAX_PLANTS + 64];
static int nplants;

/* 1 if the n bytes at b hold one of the victim's secrets. */
static int has_secret(const unsigned char *b, size_t n)
{
	return memmem(b, n, g->pipe_secret, strlen(g->pipe_secret)) ||
	       memmem(b, n, g->file_secret, strlen(g->file_secret));
}

/*
 * Reads what a regular file holds (its data, not its holes, up to
 * READ_MAX): *secret if one of the victim's secrets is there, *sum a
 * checksum of its pages that are not all zeros, with their offsets (a
 * hole read through a mapping may become a page of zeros).  0, or -1 if
 * fd is no regular file.
 */
static int scan_file(int fd, int *secret, uint32_t *sum)
{
	enum { PG = 4096, CHUNK = 16 * PG, KEEP = SECRET_LEN };
	static const unsigned char zero[PG];
	static unsigned char b[KEEP + CHUNK];
	uint32_t h = FNV0;
	off_t pos = 0, end;
	struct stat st;

	*secret = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	end = st.st_size < READ_MAX ? st.st_size : READ_MAX;
	while (pos < end) {
		off_t d = lseek(fd, pos, SEEK_DATA), e;
		size_t kept = 0;

		if (d < 0)
			break;		/* the rest is a hole */
		d &= ~(off_t)(PG - 1);
		e = lseek(fd, d, SEEK_HOLE);
		if (e < 0 || e > end)
			e = end;
		/* The chunks of one extent overlap by KEEP bytes: a secret
		 * across their border is found too. */
		for (off_t o = d; o < e;) {
			size_t want = (size_t)(e - o) < CHUNK ? (size_t)(e - o) : CHUNK;
			ssize_t n = pread(fd, b + kept, want, o);

			if (n <= 0)
				break;
			if (has_secret(b, kept + (size_t)n))
				*secret = 1;
			for (size_t i = 0; i < (size_t)n; i += PG) {
				size_t k = (size_t)n - i < PG ? (size_t)n - i : PG;
				off_t at = o + (off_t)i;

				if (!memcmp(b + kept + i, zero, k))
					continue;
				h = fnv(h, (const unsigned char *)&at, sizeof(at));
				h = fnv(h, b + kept + i, k);
			}
			if (kept + (size_t)n >= KEEP) {
				memmove(b, b + kept + (size_t)n - KEEP, KEEP);
				kept = KEEP;
			}
			o += n;
		}
		pos = e;
	}
	*sum = h;
	return 0;
}

static uint32_t file_sum(int fd)
{
	uint32_t h = 0;
	int secret;

	scan_file(fd, &secret, &h);
	return h;
}

/* The attacker read fd (it opened what); a secret there is a leak. */
static void search_fd(int fd, const char *what)
{
	uint32_t h;
	int secret;

	if (scan_file(fd, &secret, &h) == 0 && secret) {
		g->leaks++;
		note("LEAK: %s holds the victim's secret", what);
	}
}

/* Everything in the namespace the attacker can open, read. */
static void read_everything(const char *when)
{
	DIR *d = opendir(g_ns);
	struct dirent *de;
	char path[512], what[600];

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", g_ns, de->d_name);
		/* Following links: its own point at the victim's file too. */
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(what, sizeof(what), "%s (%s)", de->d_name, when);
		search_fd(fd, what);
		close(fd);
	}
	closedir(d);
}

/* The pipefs inode number last handed out on each CPU of first_cpus(). */
static int probe_inodes(uint64_t *ino, int max)
{
	cpu_set_t orig, all, one;
	int n = 0;

	if (sched_getaffinity(0, sizeof(orig), &orig) < 0 || !first_cpus(&all))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++) {
		struct stat st;
		int p[2];

		if (!CPU_ISSET(c, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0 || pipe(p) < 0)
			continue;
		if (fstat(p[0], &st) == 0)
			ino[n++] = (uint64_t)st.st_ino;
		close(p[0]);
		close(p[1]);
	}
	sched_setaffinity(0, sizeof(orig), &orig);
	return n;
}

/* A uipc pipe of the attacker's own, with some bytes of its own in it:
 * the first COPY_LEN bytes of its ring file into buf, its size. */
static off_t own_ring(unsigned char *buf)
{
	static const char mine[] = "the attacker's own bytes, nothing of the victim's";
	char name[512];
	struct stat st;
	off_t size = -1;
	int p[2], fd;

	if (uipc_pipe2(p, O_NONBLOCK) < 0) {
		note("attacker: uipc_pipe2: %s", errname(errno));
		return -1;
	}
	for (int i = 0; i < 3; i++)
		uipc_write(p[1], mine, sizeof(mine));
	if (fstat(p[0], &st) == 0) {
		snprintf(name, sizeof(name), "%s/pipe.%llu", g_ns,
			 (unsigned long long)st.st_ino);
		fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0) {
			memset(buf, 0, COPY_LEN);
			if (pread(fd, buf, COPY_LEN, 0) > 0)
				size = st.st_size;
		}
		if (fd >= 0)
			close(fd);
	}
	if (size < 0)
		note("attacker: no ring file of its own to copy");
	uipc_close(p[0]);
	uipc_close(p[1]);
	return size;
}

/* A 0666 regular file at path: len bytes of b, then a hole to size. */
static int make_file(const char *path, const unsigned char *b, size_t len, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	int ok;

	if (fd < 0)
		return -1;
	ok = fchmod(fd, 0666) == 0 && (!len || pwrite(fd, b, len, 0) == (ssize_t)len) &&
	     ftruncate(fd, size) == 0;
	close(fd);
	return ok ? 0 : -1;
}

static void remember(const char *name, int kind)
{
	char path[512];
	struct stat st;
	int fd;

	if (nplants >= (int)(sizeof(plants) / sizeof(plants[0])))
		return;
	snprintf(path, sizeof(path), "%s/%s", g_ns, name);
	if (lstat(path, &st) < 0)
		return;
	snprintf(plants[nplants].name, sizeof(plants[nplants].name), "%s", name);
	plants[nplants].kind = kind;
	plants[nplants].size = st.st_size;
	plants[nplants].sum = 0;
	if (kind == 'f' && (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		plants[nplants].sum = file_sum(fd);
		close(fd);
	}
	nplants++;
}

/* Each plant as it was made: still there, the attacker's, unchanged. */
static void check_plants(void)
{
	char path[512];

	for (int i = 0; i < nplants; i++) {
		struct plant *pl = &plants[i];
		struct stat st;
		int fd, bad = 0;

		snprintf(path, sizeof(path), "%s/%.47s", g_ns, pl->name);
		if (lstat(path, &st) < 0) {
			note("plant %s: gone (%s)", pl->name, errname(errno));
			g->changed++;
			continue;
		}
		if (st.st_uid != NOBODY)
			bad = 1;
		else if (pl->kind == 'f')
			bad = !S_ISREG(st.st_mode) || st.st_size != pl->size;
		else if (pl->kind == 'p')
			bad = !S_ISFIFO(st.st_mode);
		else if (pl->kind == 'd')
			bad = !S_ISDIR(st.st_mode) || st.st_nlink != 2;
		else
			bad = !S_ISLNK(st.st_mode);
		if (!bad && pl->kind == 'f' &&
		    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			bad = file_sum(fd) != pl->sum;
			close(fd);
		}
		if (bad) {
			g->changed++;
			note("plant %s: changed (uid %u mode %o size %lld)", pl->name,
			     (unsigned)st.st_uid, (unsigned)st.st_mode,
			     (long long)st.st_size);
		}
	}
}

/* Every free entry of the namespace's process table made to look like
 * a live registration that used pipes: the victim's registration finds
 * no free one, takes one whose owner is dead (its life lock is free) and
 * does its exit work, which goes through the rings of the namespace. */
static void forge_table(void)
{
	char path[512];
	struct uipc_ns *ns;
	struct stat st;
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s/ns", g_ns);
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(*ns)) {
		note("attacker: the namespace file: %s", errname(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	ns = mmap(NULL, sizeof(*ns), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (ns == MAP_FAILED)
		return;
	for (int i = 0; i < UIPC_MAXPROC; i++) {
		struct uipc_proc *p = &ns->proc[i];
		uint64_t s = atomic_load(&p->stamp);

		if (s & 1)
			continue;
		atomic_fetch_or(&p->uses, UIPC_USE_PIPE);
		atomic_store(&p->stamp, (s + 2) | 1);
		n++;
	}
	munmap(ns, sizeof(*ns));
	note("attacker: %d free process entries made to look live", n);
}

/* The plants of round r under the names after each CPU's last inode. */
static void plant(int r)
{
	static unsigned char copy[COPY_LEN], junk[COPY_LEN], forged[COPY_LEN];
	uint64_t start[MAX_CPUS], top = 0, ahead;
	/* A lock word (src/lock.c) naming the attacker, alive. */
	uint64_t held = (uint64_t)uipc_pid_start(getpid()) << 32 | (uint32_t)getpid();
	char name[48], path[512], mine[512];
	off_t size = 0;
	int ncpu, n = 0;

	if (r == R_JUNK || r == R_COPY || r == R_SYMLINK || r == R_EXIT) {
		size = own_ring(copy);
		if (size < 0)
			return;
	}
	if (r == R_SYMLINK) {
		/* The attacker's own forged copy, for links to point at. */
		uint32_t vu = VICTIM;

		memcpy(forged, copy, COPY_LEN);
		memcpy(forged + 16, &vu, 4);
		snprintf(mine, sizeof(mine), "%s/mine.forged", g_ns);
		if (make_file(mine, forged, COPY_LEN, size) == 0)
			remember("mine.forged", 'f');
	}
	ncpu = probe_inodes(start, MAX_CPUS);
	ahead = ncpu ? PLANTS / (uint64_t)ncpu : 0;
	if (ahead > AHEAD)
		ahead = AHEAD;
	for (int c = 0; c < ncpu; c++)
		if (start[c] > top)
			top = start[c];
	/* A CPU whose batch of inode numbers runs out takes the next one,
	 * from past the newest batch: the start of those two, too. */
	top = (top + INO_BATCH - 1) / INO_BATCH * INO_BATCH;
	for (int c = 0; c < ncpu + 2; c++)
		for (uint64_t i = 1; i <= (c < ncpu ? ahead : BATCH_AHEAD); i++) {
			uint64_t ino = (c < ncpu ? start[c] :
					top + INO_BATCH * (uint64_t)(c - ncpu)) + i;
			uint32_t vu = VICTIM;
			int k = (int)(i % 3), ok = -1;

			if (ino % 4 == 0)
				continue;	/* a ring among the plants */
			snprintf(name, sizeof(name), "pipe.%llu", (unsigned long long)ino);
			snprintf(path, sizeof(path), "%s/%s", g_ns, name);
			switch (r) {
			case R_EMPTY:
				ok = make_file(path, NULL, 0, 0);
				break;
			case R_JUNK:
				for (size_t j = 0; j < COPY_LEN; j += 8) {
					uint64_t v = rnd();

					memcpy(junk + j, &v, 8);
				}
				if (i & 1) {	/* a header that passes, junk after */
					memcpy(junk, copy, 24);
					memcpy(junk + 8, &ino, 8);
					memcpy(junk + 16, &vu, 4);
				}
				ok = make_file(path, junk, COPY_LEN, size);
				break;
			case R_COPY:
				memcpy(forged, copy, COPY_LEN);
				if (i & 1) {
					memcpy(forged + 8, &ino, 8);
					memcpy(forged + 16, &vu, 4);
				}
				ok = make_file(path, forged, COPY_LEN, size);
				break;
			case R_EXIT:
				/* Locked by a live process: the attacker. */
				memcpy(forged, copy, COPY_LEN);
				memcpy(forged + 8, &ino, 8);
				memcpy(forged + 16, &vu, 4);
				memcpy(forged + 24, &held, 8);
				ok = make_file(path, forged, COPY_LEN, size);
				break;
			case R_ODD:
				ok = i & 1 ? mkfifo(path, 0666) : mkdir(path, 0777);
				if (ok == 0)
					chmod(path, i & 1 ? 0666 : 0777);
				break;
			case R_SYMLINK:
				if (k == 0) {
					ok = symlink(g_secret_path, path);
				} else if (k == 1) {
					ok = symlink(mine, path);
				} else {
					char dangling[400];

					snprintf(dangling, sizeof(dangling), "%s/new.%llu",
						 g_vdir, (unsigned long long)ino);
					ok = symlink(dangling, path);
				}
				break;
			}
			if (ok == 0) {
				n++;
				remember(name, r == R_ODD ? (i & 1 ? 'p' : 'd') :
					 r == R_SYMLINK ? 'l' : 'f');
			}
		}
	if (r == R_SYMLINK) {
		/* Hard links to the victim's file (protected_hardlinks: no). */
		for (int i = 0; i < 4 && ncpu; i++) {
			snprintf(path, sizeof(path), "%s/pipe.%llu", g_ns,
				 (unsigned long long)(start[0] + ahead + 1 + (uint64_t)i));
			if (link(g_secret_path, path) == 0) {
				g->hardlinks++;
				note("attacker: hard link to the victim's file as %s", path);
			}
		}
	}
	g->planted = n;
	if (r == R_EXIT)
		forge_table();
}

/* One try of what must fail; a success is a breach, and what it opened
 * is read.  An open that got a file of the attacker's own is no breach:
 * the name was free a moment, and its own file went there. */
static void must_fail(const char *what, const char *name, int r, int fd)
{
	struct stat st;

	g->attempts++;
	if (r < 0)
		return;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == NOBODY) {
		close(fd);
		return;
	}
	g->breaches++;
	note("BREACH: %s %s succeeded", what, name);
	if (fd >= 0) {
		search_fd(fd, name);
		close(fd);
	}
}

/*
 * Goes at every ring file of the victim's.  frozen: the victim is waiting
 * with all its pipes live, none is closed meanwhile; then what makes a
 * name (a rename, link or symlink over the ring) must fail too.  While
 * the victim runs, its ring may go between the look and the try, and such
 * a call succeeds on a free name: then only what needs the victim's file
 * there to succeed is tried (an exchange needs both names).
 */
static void attack_rings(int frozen)
{
	DIR *d = opendir(g_ns);
	struct dirent *de;
	char path[512], mine[512], away[512], proc[64];

	if (!d)
		return;
	snprintf(mine, sizeof(mine), "%s/mine.over", g_ns);
	while ((de = readdir(d))) {
		struct stat st;
		int fd, fd2;

		if (strncmp(de->d_name, "pipe.", 5) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_uid != VICTIM)
			continue;
		snprintf(path, sizeof(path), "%s/%s", g_ns, de->d_name);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
		must_fail("open O_RDONLY", de->d_name, fd, fd);
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
		must_fail("open O_WRONLY", de->d_name, fd, fd);
		fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK);
		must_fail("open O_RDWR", de->d_name, fd, fd);
		fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK);
		must_fail("open O_TRUNC", de->d_name, fd, fd);
		must_fail("truncate", de->d_name, truncate(path, 0), -1);
		fd = open(path, O_PATH | O_NOFOLLOW);
		if (fd >= 0) {
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			fd2 = open(proc, O_RDWR);
			must_fail("reopen of an O_PATH descriptor", de->d_name, fd2, fd2);
			close(fd);
		}
		must_fail("chmod", de->d_name, chmod(path, 0666), -1);
		must_fail("chown", de->d_name, chown(path, NOBODY, NOBODY), -1);
		must_fail("unlink", de->d_name, unlink(path), -1);
		snprintf(away, sizeof(away), "%s/mine.away", g_ns);
		must_fail("rename away", de->d_name, rename(path, away), -1);
		if (make_file(mine, (const unsigned char *)"x", 1, 1) == 0 ||
		    errno == EEXIST) {
			must_fail("exchange", de->d_name,
				  (int)syscall(SYS_renameat2, AT_FDCWD, mine,
					       AT_FDCWD, path, 2 /* RENAME_EXCHANGE */),
				  -1);
			if (frozen) {
				must_fail("rename over", de->d_name,
					  rename(mine, path), -1);
				must_fail("link over", de->d_name, link(mine, path), -1);
			}
		}
		if (frozen)
			must_fail("symlink over", de->d_name, symlink(mine, path), -1);
		snprintf(away, sizeof(away), "%s/stolen.%s", g_ns, de->d_name);
		if (link(path, away) == 0) {
			/* The kernel's choice (fs.protected_hardlinks off):
			 * still the victim's 0600 file. */
			g->hardlinks++;
			note("attacker: hard link to %s as %s", de->d_name, away);
			fd = open(away, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
			must_fail("open of the hard link", de->d_name, fd, fd);
		}
	}
	closedir(d);
}

static void attacker(int r, int ready, int ctl)
{
	struct pollfd p = { ctl, POLLIN, 0 };

	child_start(PROC_S + 8);
	if (become(NOBODY) < 0)
		_exit(2);
	plant(r);
	if (put_byte(ready, 'r') < 0)
		_exit(3);
	/* 's' instead: the victim never made its pipes. */
	switch (get_byte(ctl, (PROC_S + 4) * 1000)) {
	case 'g':
		/* The victim's pipes are made and it waits: a whole pass. */
		attack_rings(1);
		read_everything("victim's pipes live");
		g->passes++;
		put_byte(ready, 'd');
		/* Then on until the victim is done. */
		while (poll(&p, 1, 0) == 0) {
			attack_rings(0);
			g->passes++;
			usleep(2000);
		}
		break;
	case 's':
		break;
	default:
		_exit(3);
	}
	read_everything("after the victim");
	check_plants();
	_exit(0);
}

/* ---- the test ------------------------------------------------------- */

/* Regular files of the victim's named pipe.* in the namespace. */
static int victim_rings_left(void)
{
	DIR *d = opendir(g_ns);
	struct dirent *de;
	struct stat st;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "pipe.", 5) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_uid == VICTIM) {
			printf("  left: %s (uid %u, mode %o)\n", de->d_name,
			       (unsigned)st.st_uid, (unsigned)st.st_mode);
			n++;
		}
	closedir(d);
	return n;
}

/* Removes whatever is not root's from the namespace. */
static void clean_ns(void)
{
	DIR *d = opendir(g_ns);
	struct dirent *de;
	struct stat st;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_uid == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", g_ns, de->d_name);
		if (S_ISDIR(st.st_mode))
			nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		else
			unlink(path);
	}
	closedir(d);
}

/* The victim's file outside: its secret, its mode and owner; and nothing
 * new in its directory. */
static int secret_intact(void)
{
	struct stat st;
	char buf[256];
	int fd, ok, n = 0;
	ssize_t len;
	DIR *d;
	struct dirent *de;

	if (lstat(g_secret_path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != VICTIM || st.st_gid != VICTIM ||
	    (st.st_mode & 07777) != 0600)
		return 0;
	fd = open(g_secret_path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf));
	close(fd);
	ok = len == (ssize_t)strlen(g->file_secret) &&
	     !memcmp(buf, g->file_secret, (size_t)len);
	d = opendir(g_vdir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	if (n)
		printf("  %d file(s) made in the victim's directory\n", n);
	return ok && n == 0;
}


/* One round on o's pipes: the attacker plants, the victim runs, the
 * checks.  The victim's trace goes to t.  Returns how many of the
 * victim's pipes met a plant, -1 if the victim did not end well. */
static int run_round(int r, const struct pops *o, struct trace *t)
{
	int aready[2], actl[2], vmade[2] = { -1, -1 }, vgo[2] = { -1, -1 };
	const char *rn = round_name[r], *on = o->name;
	double t0 = now_s();
	int ast, vst = -3, hits = 0, own = 0, left;
	pid_t a, v;

	/* The secrets stay: the rest starts at plen. */
	memset(&g->plen, 0, sizeof(*g) - offsetof(struct shared, plen));
	nplants = 0;
	if (pipe(aready) < 0 || pipe(actl) < 0) {
		CHECK(0, "%s: pipe: %s", rn, strerror(errno));
		return 0;
	}
	a = fork();
	if (a == 0) {
		close(aready[0]);
		close(actl[1]);
		attacker(r, aready[1], actl[0]);
	}
	g_kids[0] = a;
	close(aready[1]);
	close(actl[0]);
	if (a < 0 || get_byte(aready[0], 2 * SYNC_MS) != 'r') {
		CHECK(0, "%s/%s: the attacker did not get ready", rn, on);
		goto out;
	}
	if (pipe(vmade) < 0 || pipe(vgo) < 0) {
		CHECK(0, "%s: pipe: %s", rn, strerror(errno));
		goto out;
	}
	v = fork();
	if (v == 0) {
		close(aready[0]);
		close(actl[1]);
		close(vmade[0]);
		close(vgo[1]);
		victim(o, vmade[1], vgo[0]);
	}
	g_kids[1] = v;
	close(vmade[1]);
	close(vgo[0]);
	/* The attacker's first pass on the live pipes, the victim waiting. */
	if (v < 0 || get_byte(vmade[0], SYNC_MS) != 'm')
		CHECK(0, "%s/%s: the victim did not make its pipes", rn, on);
	else if (put_byte(actl[1], 'g') < 0 || get_byte(aready[0], SYNC_MS) != 'd')
		CHECK(0, "%s/%s: the attacker's pass on the live pipes did not end",
		      rn, on);
	put_byte(vgo[1], 'c');
	if (v > 0)
		vst = wait_exit(v, (PROC_S + 2) * 1000);
	g_kids[1] = 0;
	/* Reaped by the victim, or the test's now (and killed). */
	if (g->vchild > 0 && waitpid(g->vchild, NULL, WNOHANG) == 0)
		CHECK(0, "%s/%s: the victim's child outlived it", rn, on);
	put_byte(actl[1], 's');
	ast = wait_exit(a, 2 * SYNC_MS);
	g_kids[0] = 0;

	tprintf(t, "victim exit %d", vst);
	tlines(t, "", g->plen ? g->ptrace : "victim: no trace\n");
	CHECK(vst == 0, "%s/%s: the victim %s %d", rn, on,
	      vst > 128 ? "died of signal" : vst == -1 ? "hung (killed), status" :
	      "exited", vst > 128 ? vst - 128 : vst);
	CHECK(ast == 0, "%s/%s: the attacker exited %d", rn, on, ast);
	if (g->nlen)
		printf("%s", g->notes);
	CHECK(g->breaches == 0, "%s/%s: %d of the attacker's %d tries on the "
	      "victim's rings succeeded", rn, on, g->breaches, g->attempts);
	CHECK(g->leaks == 0, "%s/%s: the attacker read the victim's secret %d "
	      "time(s)", rn, on, g->leaks);
	CHECK(g->changed == 0, "%s/%s: %d of the attacker's plants changed under "
	      "the victim", rn, on, g->changed);
	CHECK(secret_intact(), "%s/%s: the victim's file outside the namespace "
	      "changed, or a file was made in its directory", rn, on);
	left = victim_rings_left();
	CHECK(left == 0, "%s/%s: %d ring file(s) of the victim's left after all "
	      "its ends were closed", rn, on, left);
	for (int i = 0; i < g->npipes; i++) {
		hits += g->name_uid[i] == NOBODY;
		own += g->name_uid[i] == VICTIM;
	}
	printf("  %-25s %-6s %5.0f ms (slowest pipe2 %d): %d plants; victim "
	       "pipes under a plant %d/%d, with a ring %d; %d tries on live rings "
	       "in %d passes\n", rn, on, (now_s() - t0) * 1000, g->slowest_ms,
	       g->planted, hits, g->npipes, own, g->attempts, g->passes);
	if (o == &uipc_pops && r == R_LIVE)
		CHECK(own == g->npipes && g->attempts > 0, "%s: the victim had %d "
		      "ring(s) of %d, the attacker tried %d things on them", rn,
		      own, g->npipes, g->attempts);
out:
	kill_kids();
	close(aready[0]);
	close(actl[1]);
	close(vmade[0]);
	close(vgo[1]);
	clean_ns();
	return vst == 0 ? hits : -1;
}

/* The victim's file outside the namespace and a directory of its own. */
static int make_outside(void)
{
	int fd;

	snprintf(g_tmp, sizeof(g_tmp), "/tmp/uipc-ptrust.%d", (int)getpid());
	snprintf(g_secret_path, sizeof(g_secret_path), "%s/secret", g_tmp);
	snprintf(g_vdir, sizeof(g_vdir), "%s/vdir", g_tmp);
	if (mkdir(g_tmp, 0755) < 0 || mkdir(g_vdir, 0700) < 0 ||
	    chown(g_vdir, VICTIM, VICTIM) < 0)
		return -1;
	fd = open(g_secret_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, g->file_secret, strlen(g->file_secret)) !=
	    (ssize_t)strlen(g->file_secret) || fchown(fd, VICTIM, VICTIM) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int main(void)
{
	unsigned char raw[16];
	double t0 = now_s();
	int err = 0, fd;
	struct stat st;

	harness_init(120);
	if (geteuid() != 0) {
		printf("SKIP: needs root (to be other users)\n");
		return 77;
	}
	if (!getenv("UIPC_NS") || !*getenv("UIPC_NS")) {
		char ns[64];

		snprintf(ns, sizeof(ns), "/dev/shm/uipc-test.%d.pipe_trust", (int)getpid());
		setenv("UIPC_NS", ns, 1);
	}
	if (strlen(getenv("UIPC_NS")) >= sizeof(g_ns)) {
		printf("FAIL: UIPC_NS is too long for this test\n");
		return 1;
	}
	snprintf(g_ns, sizeof(g_ns), "%s", getenv("UIPC_NS"));
	if (lstat(g_ns, &st) == 0) {
		printf("FAIL: %s exists: the test needs a fresh namespace\n", g_ns);
		return 1;
	}
	g = harness_shared(sizeof(*g));
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		perror("/dev/urandom");
		return 1;
	}
	close(fd);
	memcpy(&g_rng, raw, 8);
	g_rng |= 1;
	snprintf(g->pipe_secret, SECRET_LEN, "ptrust-pipe-%016llx",
		 (unsigned long long)g_rng);
	memcpy(&g_rng, raw + 8, 8);
	g_rng |= 1;
	snprintf(g->file_secret, SECRET_LEN, "ptrust-file-%016llx",
		 (unsigned long long)g_rng);
	printf("seed of the random plants %016llx\n", (unsigned long long)g_rng);
	harness_on_cleanup(cleanup);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);	/* a dead attacker's control pipe */
	/* Root makes the namespace: shared by every user, sticky. */
	g_made_ns = 1;
	if (!uipc_ns_get(&err)) {
		printf("FAIL: the namespace: %s\n", errname(-err));
		return 1;
	}
	if (lstat(g_ns, &st) < 0 || (st.st_mode & 07777) != 01777 || st.st_uid != 0) {
		printf("FAIL: %s is not root's and 01777\n", g_ns);
		return 1;
	}
	if (make_outside() < 0) {
		printf("FAIL: the victim's files under %s: %s\n", g_tmp, strerror(errno));
		return 1;
	}
	for (int r = 0; r < R_N; r++)
		for (int again = 0;; again++) {
			struct trace kt = { 0 }, ut = { 0 };
			char name[80];
			int hits;

			run_round(r, &kernel_pops, &kt);
			hits = run_round(r, &uipc_pops, &ut);
			snprintf(name, sizeof(name), "%s%s", round_name[r],
				 again ? " (again)" : "");
			trace_compare(name, &kt, &ut);
			if (r == R_LIVE || hits != 0)
				break;
			/* Others took the numbers meanwhile: once more. */
			if (again == 2) {
				CHECK(0, "%s: no victim pipe met a plant: its "
				      "inode numbers were not foreseen, nothing "
				      "was tested", round_name[r]);
				break;
			}
			printf("note: %s: no victim pipe met a plant, again\n",
			       round_name[r]);
		}
	printf("%.1f s\n", now_s() - t0);
	return harness_done();
}
