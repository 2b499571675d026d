/*
 * pipe_crash: SIGKILL at random moments on pipes, many rounds.
 *
 * The same rounds run on kernel pipes and on uipc pipes (a table of the
 * calls: pipe2, read, write, close).  Each round makes one pipe; the parent
 * holds both ends while it forks NWRITE writers and the readers (each child
 * closes the end it does not use) and kills one of them every few
 * milliseconds at a random moment, starting a replacement from its own
 * ends.  Writers write self-describing records (writer, seq, length,
 * checksum of a random body) of at most PIPE_BUF bytes, so each is atomic,
 * with blocking writes, and note in shared memory the seq they attempt and
 * the last whose write() returned.  The pace changes in phases: readers
 * slow (the pipe fills: writers are killed blocked in write), writers slow
 * (it empties: readers are killed blocked in read), both at full speed.
 * Three kinds of round:
 *  - stream: records of random sizes 16..4096 bytes, ONE reader that is
 *    never killed, reading random amounts (1 byte .. 64 KiB) and parsing
 *    the byte stream; only writers are killed.  Each writer's records must
 *    appear whole, in order, 1, 2, 3 ...: a record torn by a kill, a gap
 *    or a repeat breaks the parse or the order.
 *  - fixed: records of exactly 512 bytes, NREAD killable readers reading
 *    exactly 512 bytes.  Every write lands contiguously and the pipe only
 *    ever holds whole records, so every read returns exactly 512 bytes (the
 *    kernel's pipe_read returns what is there up to the count): a short
 *    read means a record was torn.
 *  - packet: pipe2(O_DIRECT), records of random sizes, NREAD killable
 *    readers reading 4096: every read returns exactly one whole record.
 * A reader reads into its own buffer in shared memory and only then logs
 * (writer, seq), so the parent, which kills it, can see the record a
 * killed reader had taken but not reported.  The kill of a reader with no
 * whole record in its buffer may lose none: the kernel takes a pipe's
 * bytes only once they are copied out, and a SIGKILL ends a read() only
 * after that.  (The killable readers never read 2048 bytes or more of
 * whole slots at once, so uipc's copies out with the ring unlocked, whose
 * dying copier's slots are gone, are not put to that test: only the
 * stream reader, never killed, makes them.)
 * A round ends one of two ways, in turn by threes:
 *  - live: the parent stops the writers, forks a drainer that is never
 *    killed (fixed and packet rounds) and closes both its ends (the read
 *    end or the write end last, by turns); the writers finish their record and exit, the readers read to
 *    EOF and exit;
 *  - by an exec'd drainer: the parent forks a child that execs this
 *    program with the read end, then kills the readers (the stream reader
 *    instead hands its parse state over between two reads), lets the
 *    writers fill the pipe, kills them and closes its ends: no uipc process
 *    is left, so uipc must have moved what the ring holds into the kernel
 *    pipe and removed the ring's file, and the fresh program, told to go
 *    only now, reads it to EOF with the table's read and must find every
 *    byte in order and no other (the kernel's pipe simply holds them).
 * Every wait is bounded: a process that does not end fails the round,
 * with where it sleeps.
 * Then:
 *  - every record whose write returned was read by a live reader exactly
 *    once, or sits whole in the buffer of a reader killed around its read;
 *  - no record is read twice, none is corrupt or torn, none was never
 *    written; a killed writer's last record is whole or absent;
 *  - (uipc) no ring file pipe.* stays in the namespace once every end is
 *    closed: the last holder's close removes it (after a short settle, and
 *    else after `uipc reap`).
 * The kernel runs first: it proves the checker, since it must pass too.
 * PIPE_CRASH_SEED and PIPE_CRASH_ROUNDS change the seed and the rounds per
 * side, PIPE_CRASH_ONLY=kernel or uipc runs one side; PIPE_CRASH_GDB=1
 * adds a gdb backtrace of a hung process.
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define NWRITE		3
#define NREAD		2	/* killable readers (fixed, packet) */
#define MAX_WRITERS	128	/* writer ids per round, replacements included */
#define MAX_PER_WRITER	4000
#define LOG_CAP		(1 << 19)
#define BUDGET		(LOG_CAP / 2)	/* records attempted per round */
#define MAXREC		4096	/* PIPE_BUF */
#define HDR		16
#define FIXED		512
#define MAGIC		0x70697065u
#define MAX_BAD		24
#define MAX_KILLS	256
#define KILL_MS		250	/* the killing part of a round */
#define END_MS		5000	/* writers, then readers, must be done by */
#define SLOW_MS		900	/* a call this long missed its wake-up */

enum { M_STREAM, M_FIXED, M_PACKET, M_N };
static const char *const mode_name[M_N] = { "stream", "fixed", "packet" };
enum { PH_FREE, PH_RSLOW, PH_WSLOW };

struct pipe_ops {
	const char *name;
	int (*pipe2)(int *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
};

static const struct pipe_ops kernel_pipe = { "kernel", pipe2, read, write, close };
static const struct pipe_ops uipc_pipe_ops = {
	"uipc", uipc_pipe2, uipc_read, uipc_write, uipc_close,
};

struct rec {
	uint32_t magic;
	uint16_t writer, len;	/* len: the whole record, header included */
	uint32_t seq, sum;	/* sum: of writer, seq, len and the body */
	unsigned char body[MAXREC - HDR];
};
_Static_assert(sizeof(struct rec) == MAXREC, "record layout");

/* What a reader holds, in shared memory: the parent looks into a killed
 * reader's buffer. */
struct rbuf {
	_Atomic int state;	/* 0 idle, 1 in read(), 2 read returned */
	_Atomic long n;		/* what it returned */
	struct rec data;
};

struct bad {
	pid_t pid;
	long n;
	uint64_t off;
	unsigned char head[32];
	char what[160];
};

struct shared {
	_Atomic int stop, phase;
	_Atomic uint32_t total;
	_Atomic uint32_t attempt[MAX_WRITERS];	/* seq being written */
	_Atomic uint32_t done[MAX_WRITERS];	/* last seq write() returned */
	_Atomic int wwhere[MAX_WRITERS];	/* 1: in write() */
	uint16_t wlen[MAX_WRITERS][MAX_PER_WRITER + 1];
	uint16_t wtime[MAX_WRITERS][MAX_PER_WRITER + 1];	/* returned, ms */
	long t0;				/* the round's start, ms */
	_Atomic int nbad;
	struct bad bad[MAX_BAD];
	struct rbuf rb[NREAD + 1];		/* + the drainer, or the stream reader */
	/* Calls that slept about uipc's safety period (1 s): a wake-up
	 * missed. */
	_Atomic uint32_t slow_calls;
	_Atomic uint64_t drained;	/* bytes the exec'd drainer read */
	/* A stream reader's parse state, handed to the exec'd drainer. */
	_Atomic int handover;		/* 1: hand over, 2: handed over */
	uint32_t carry_last[MAX_WRITERS];
	uint64_t carry_base;
	uint32_t carry_have;
	unsigned char carry[MAXREC];
	_Atomic uint32_t nlog;
	_Atomic uint64_t log[LOG_CAP];	/* 1 << 63 | reader << 48 | writer << 32 | seq */
};

static struct shared *sh;

/* ---- small things -------------------------------------------------- */

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint32_t sum_of(uint32_t writer, uint32_t seq, uint32_t len,
		       const unsigned char *body)
{
	uint32_t h = (writer * 65599u + seq) * 2654435761u ^ len;

	for (uint32_t i = 0; i + HDR < len; i++)
		h = (h ^ body[i]) * 16777619u;
	return h;
}

static void bad_event(long n, uint64_t off, const void *data, size_t dn,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void bad_event(long n, uint64_t off, const void *data, size_t dn,
		      const char *fmt, ...)
{
	int i = atomic_fetch_add(&sh->nbad, 1);
	va_list ap;

	if (i >= MAX_BAD)
		return;
	sh->bad[i].pid = getpid();
	sh->bad[i].n = n;
	sh->bad[i].off = off;
	if (data)
		memcpy(sh->bad[i].head, data, dn < 32 ? dn : 32);
	va_start(ap, fmt);
	vsnprintf(sh->bad[i].what, sizeof(sh->bad[i].what), fmt, ap);
	va_end(ap);
}

static void log_rec(int reader, uint32_t writer, uint32_t seq)
{
	uint32_t i = atomic_fetch_add(&sh->nlog, 1);

	if (i < LOG_CAP)
		atomic_store(&sh->log[i], 1ull << 63 | (uint64_t)reader << 48 |
			     (uint64_t)writer << 32 | seq);
}

/* NULL if the header is one a writer may have made (the body unread). */
static const char *hdr_problem(uint32_t magic, uint32_t writer, uint32_t len,
			       uint32_t seq)
{
	if (magic != MAGIC)
		return "bad magic";
	if (writer >= MAX_WRITERS)
		return "bad writer";
	if (len < HDR || len > MAXREC)
		return "bad length";
	if (seq == 0 || seq > atomic_load(&sh->attempt[writer]))
		return "a seq never written";
	if (seq <= MAX_PER_WRITER && sh->wlen[writer][seq] &&
	    sh->wlen[writer][seq] != len)
		return "another length than written";
	return NULL;
}

/* NULL if r, n bytes read in one call, is one whole record a writer made. */
static const char *rec_problem(const struct rec *r, size_t n)
{
	const char *p;

	if (n < HDR)
		return "shorter than a header";
	p = hdr_problem(r->magic, r->writer, r->len, r->seq);
	if (p)
		return p;
	if (n != r->len)
		return "read returned another length than the record's";
	if (r->sum != sum_of(r->writer, r->seq, r->len, r->body))
		return "bad checksum";
	return NULL;
}

static uint32_t pick_len(int mode, uint64_t *rnd)
{
	uint64_t x = xs(rnd);

	if (mode == M_FIXED)
		return FIXED;
	switch (x % 8) {
	case 0:
		return HDR;
	case 1:
		return MAXREC;
	case 2:
		return MAXREC - (uint32_t)(x >> 8) % 64;
	default:
		return HDR + (uint32_t)(x >> 8) % (MAXREC - HDR + 1);
	}
}

/* ---- the children -------------------------------------------------- */

static void writer_main(const struct pipe_ops *o, const int fds[2], uint32_t id,
			int mode)
{
	struct rec r;
	uint64_t rnd = ((uint64_t)getpid() << 20 | id) * 0x9e3779b97f4a7c15ull + 1;

	o->close(fds[0]);
	r.magic = MAGIC;
	r.writer = (uint16_t)id;
	for (uint32_t seq = 1; seq <= MAX_PER_WRITER; seq++) {
		uint32_t len = pick_len(mode, &rnd);
		ssize_t n;
		long t;

		if (atomic_load(&sh->stop) ||
		    atomic_fetch_add(&sh->total, 1) >= BUDGET)
			break;
		for (uint32_t i = 0; i + HDR < len; i += 8) {
			uint64_t v = xs(&rnd);

			memcpy(r.body + i, &v, len - HDR - i < 8 ? len - HDR - i : 8);
		}
		r.len = (uint16_t)len;
		r.seq = seq;
		r.sum = sum_of(id, seq, len, r.body);
		sh->wlen[id][seq] = (uint16_t)len;
		atomic_store(&sh->attempt[id], seq);
		atomic_store(&sh->wwhere[id], 1);
		t = now_ms();
		n = o->write(fds[1], &r, len);
		if (now_ms() - t >= SLOW_MS)
			atomic_fetch_add(&sh->slow_calls, 1);
		atomic_store(&sh->wwhere[id], 0);
		if (n != (ssize_t)len) {
			bad_event(n, 0, NULL, 0, "writer %u: write of record %u "
				  "(%u bytes) returned %zd (%s)", id, seq, len, n,
				  n < 0 ? errname(errno) : "-");
			_exit(3);
		}
		sh->wtime[id][seq] = (uint16_t)(now_ms() - sh->t0);
		atomic_store(&sh->done[id], seq);
		if (atomic_load(&sh->phase) == PH_WSLOW)
			usleep(200 + (unsigned)(xs(&rnd) % 1500));
	}
	o->close(fds[1]);
	_exit(0);
}

/* One read of fd into buf, timed. */
static ssize_t timed_read(const struct pipe_ops *o, int fd, void *buf, size_t n)
{
	long t = now_ms();
	ssize_t r = o->read(fd, buf, n);

	if (now_ms() - t >= SLOW_MS)
		atomic_fetch_add(&sh->slow_calls, 1);
	return r;
}

/* fixed and packet rounds: one read, one record; to EOF. */
static void reader_loop(const struct pipe_ops *o, int rfd, int idx, int mode)
{
	struct rbuf *b = &sh->rb[idx];
	size_t want = mode == M_FIXED ? FIXED : MAXREC;
	uint64_t rnd = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull + 7;

	for (;;) {
		const char *p;
		ssize_t n;

		memset(&b->data, 0, HDR);
		atomic_store(&b->state, 1);
		n = timed_read(o, rfd, &b->data, want);
		atomic_store(&b->n, n);
		atomic_store(&b->state, 2);
		if (n == 0)
			break;
		if (n < 0) {
			bad_event(n, 0, NULL, 0, "reader %d: read failed: %s", idx,
				  errname(errno));
			_exit(3);
		}
		if (idx == NREAD)
			atomic_fetch_add(&sh->drained, (uint64_t)n);
		p = rec_problem(&b->data, (size_t)n);
		if (!p && mode == M_FIXED && n != FIXED)
			p = "a short read";
		if (p)
			bad_event(n, 0, &b->data, (size_t)n, "reader %d: %s: read "
				  "returned %zd, header writer %u seq %u len %u",
				  idx, p, n, b->data.writer, b->data.seq,
				  b->data.len);
		else
			log_rec(idx, b->data.writer, b->data.seq);
		atomic_store(&b->state, 0);
		if (atomic_load(&sh->phase) == PH_RSLOW)
			usleep(200 + (unsigned)(xs(&rnd) % 1500));
	}
	atomic_store(&b->state, 0);
}

/* A stream reader's parse state. */
struct stream {
	unsigned char pb[65536 + 2 * MAXREC];
	uint32_t last[MAX_WRITERS];
	uint64_t base, skipped;	/* base: stream offset of pb[0] */
	size_t have;
	int resync;
};

/* Takes the whole records out of st->pb. */
static void parse(struct stream *st, int idx, long n)
{
	size_t pos = 0;

	while (st->have - pos >= HDR) {
		unsigned char *at = st->pb + pos;
		uint64_t off = st->base + pos;
		struct rec h;
		const char *p;

		memcpy(&h, at, HDR);
		p = hdr_problem(h.magic, h.writer, h.len, h.seq);
		if (!p && h.len > st->have - pos)
			break;	/* the rest of it comes later */
		if (!p && h.sum != sum_of(h.writer, h.seq, h.len, at + HDR))
			p = "bad checksum";
		if (p) {
			if (!st->resync)
				bad_event(n, off, at, st->have - pos, "stream reader "
					  "%d: %s at offset %llu (writer %u seq %u "
					  "len %u)", idx, p, (unsigned long long)off,
					  h.writer, h.seq, h.len);
			st->resync = 1;
			st->skipped++;
			pos++;
			continue;
		}
		if (st->resync)
			bad_event(0, off, at, HDR, "stream reader %d: whole records "
				  "again after %llu bytes, at writer %u seq %u (offset "
				  "%llu)", idx, (unsigned long long)st->skipped,
				  h.writer, h.seq, (unsigned long long)off);
		st->resync = 0;
		st->skipped = 0;
		if (h.seq != st->last[h.writer] + 1)
			bad_event(0, off, at, HDR, "stream reader %d: writer %u: "
				  "record %u follows record %u (offset %llu)", idx,
				  h.writer, h.seq, st->last[h.writer],
				  (unsigned long long)off);
		st->last[h.writer] = h.seq;
		log_rec(idx, h.writer, h.seq);
		pos += h.len;
	}
	memmove(st->pb, st->pb + pos, st->have - pos);
	st->have -= pos;
	st->base += pos;
}

/*
 * stream rounds: reads of any size, the records parsed out of the bytes;
 * to EOF, or (sh->handover) until asked to hand its state over between two
 * reads.  The exec'd drainer (idx NREAD) starts from the handed-over state.
 */
static void stream_loop(const struct pipe_ops *o, int rfd, int idx)
{
	static struct stream st;
	uint64_t rnd = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull + 3;

	if (idx == NREAD && atomic_load(&sh->handover) == 2) {
		memcpy(st.last, sh->carry_last, sizeof(st.last));
		st.base = sh->carry_base;
		st.have = sh->carry_have;
		memcpy(st.pb, sh->carry, st.have);
	}
	for (;;) {
		uint64_t x = xs(&rnd);
		size_t want;
		ssize_t n;

		if (idx != NREAD && atomic_load(&sh->handover) == 1) {
			memcpy(sh->carry_last, st.last, sizeof(st.last));
			sh->carry_base = st.base;
			sh->carry_have = (uint32_t)st.have;
			memcpy(sh->carry, st.pb, st.have);
			atomic_store(&sh->handover, 2);
			return;
		}
		want = x % 4 == 0 ? 1 + x % 64 : x % 4 == 1 ? 65536 : 1 + x % 8192;
		if (want > sizeof(st.pb) - st.have)
			want = sizeof(st.pb) - st.have;
		atomic_store(&sh->rb[idx].state, 1);
		n = timed_read(o, rfd, st.pb + st.have, want);
		atomic_store(&sh->rb[idx].state, 0);
		if (n < 0) {
			bad_event(n, st.base + st.have, NULL, 0, "stream reader %d: "
				  "read failed: %s", idx, errname(errno));
			_exit(3);
		}
		if (n == 0)
			break;
		if (idx == NREAD)
			atomic_fetch_add(&sh->drained, (uint64_t)n);
		st.have += (size_t)n;
		parse(&st, idx, n);
		if (atomic_load(&sh->phase) == PH_RSLOW)
			usleep(200 + (unsigned)(xs(&rnd) % 1500));
	}
	if (st.have)
		bad_event(0, st.base, st.pb, st.have, "stream reader %d: EOF after "
			  "%zu bytes of an unfinished record at offset %llu", idx,
			  st.have, (unsigned long long)st.base);
}

/*
 * The exec'd drainer: "pipe_crash drain OPS MEMFD RFD CTLFD MODE".  A fresh
 * program (nothing of uipc mapped, registered or cached) holding the read
 * end it inherited; it waits for the go on CTLFD (sent once every other
 * end is closed: uipc has then moved the ring's bytes into the kernel
 * pipe) and reads to EOF with the table's read.
 */
static int drain_main(char **argv)
{
	const struct pipe_ops *o = !strcmp(argv[2], "uipc") ? &uipc_pipe_ops
							   : &kernel_pipe;
	int mfd = atoi(argv[3]), rfd = atoi(argv[4]), ctl = atoi(argv[5]);
	int mode = atoi(argv[6]);
	char go;

	alarm(20);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (sh == MAP_FAILED)
		return 2;
	if (read(ctl, &go, 1) != 1)
		return 4;	/* the test is gone */
	close(ctl);
	if (mode == M_STREAM)
		stream_loop(o, rfd, NREAD);
	else
		reader_loop(o, rfd, NREAD, mode);
	o->close(rfd);
	return 0;
}

/* ---- watching and killing ------------------------------------------ */

static char proc_state(pid_t pid)
{
	char c = harness_proc_state(pid);

	return c ? c : '?';
}

static void print_file(const char *what, const char *path, int lines)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "      %s: (%s)\n", what, strerror(errno));
		return;
	}
	while (lines-- > 0 && fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);

		if (l && line[l - 1] == '\n')
			line[l - 1] = 0;
		fprintf(stderr, "      %s: %s\n", what, line);
	}
	fclose(f);
}

static int ring_line(const struct uipc_pipe_info *pi, void *arg)
{
	(void)arg;
	fprintf(stderr, "      ring pipe.%llu: size %u, queued %u, %s%s"
		"rsleep %d, wsleep %d, %llu bytes through, %d holders:",
		(unsigned long long)pi->ino, pi->size, pi->queued,
		pi->packet ? "packet, " : "", pi->demoted ? "DEMOTED, " : "",
		pi->nrsleep, pi->nwsleep, (unsigned long long)pi->bytes,
		pi->nholders);
	for (int i = 0; i < pi->nholders && i < 16; i++)
		fprintf(stderr, " %d%c", (int)pi->holder[i], pi->holder_end[i]);
	fprintf(stderr, "\n");
	return 0;
}

/* Where a process that does not end sleeps. */
static void diagnose(const struct pipe_ops *o, pid_t pid, const char *role)
{
	char path[96];

	fprintf(stderr, "    %s %s pid %d: state %c\n", o->name, role, (int)pid,
		proc_state(pid));
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	print_file("wchan", path, 1);
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	print_file("syscall", path, 1);
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	print_file("stack", path, 8);
	if (o == &uipc_pipe_ops)
		uipc_pipe_list(ring_line, NULL);
	if (getenv("PIPE_CRASH_GDB")) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "gdb -p %d -batch -ex bt 2>/dev/null "
			 "| grep '^#' >&2", (int)pid);
		if (system(cmd) != 0)
			fprintf(stderr, "      (no gdb backtrace)\n");
	}
}

/* Reaps pid within ms: 0 and its status, or -1. */
static int reap_within(pid_t pid, int *st, long ms)
{
	long end = now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= end)
			return -1;
		usleep(500);
	}
}

/* ---- one round ------------------------------------------------------ */

struct kill_ev {
	long t;			/* ms into the round */
	char role;		/* 'w' or 'r' */
	char state;		/* /proc state when killed */
	int id;			/* writer id or reader index */
	int in_call;		/* it was in write() or read() */
	uint32_t nlog;		/* records logged by then */
};

struct inflight {
	uint32_t writer, seq;
};

struct counts {
	long rounds, accepted, read, inflight, torn_absent, torn_whole;
	long kw, kw_blocked, kw_mid, kr, kr_blocked, kr_mid;
	long max_end_ms, leftover_rounds, exec_rounds, slow_calls;
	uint64_t drained;
};

struct round {
	const struct pipe_ops *o;
	int mode, fds[2], memfd;
	long t0;
	pid_t wpid[NWRITE], rpid[NREAD + 1];
	uint32_t wid[NWRITE], next_id;
	struct kill_ev kills[MAX_KILLS];
	int nkills;
	struct inflight infl[MAX_KILLS];
	int ninfl;
	int last_end;		/* the end the parent closed last: 0 read, 1 write */
	unsigned long long ino;	/* the kernel pipe's: its ring is pipe.<ino> */
};

static pid_t spawn_writer(struct round *rd, uint32_t id)
{
	pid_t p = fork();

	if (p == 0)
		writer_main(rd->o, rd->fds, id, rd->mode);
	return p;
}

static pid_t spawn_reader(struct round *rd, int idx)
{
	pid_t p;

	atomic_store(&sh->rb[idx].state, 0);
	p = fork();
	if (p == 0) {
		rd->o->close(rd->fds[1]);
		if (rd->mode == M_STREAM)
			stream_loop(rd->o, rd->fds[0], idx);
		else
			reader_loop(rd->o, rd->fds[0], idx, rd->mode);
		rd->o->close(rd->fds[0]);
		_exit(0);
	}
	return p;
}

/* The drainer as a fresh program: forked, its write end closed, exec'd
 * with the read end; it reads once ctl says go. */
static pid_t spawn_exec_drainer(struct round *rd, int ctl)
{
	pid_t p;

	atomic_store(&sh->rb[NREAD].state, 0);
	p = fork();
	if (p == 0) {
		char a[5][16];

		rd->o->close(rd->fds[1]);
		fcntl(ctl, F_SETFD, 0);	/* the other end stays behind */
		snprintf(a[0], sizeof(a[0]), "%d", rd->memfd);
		snprintf(a[1], sizeof(a[1]), "%d", rd->fds[0]);
		snprintf(a[2], sizeof(a[2]), "%d", ctl);
		snprintf(a[3], sizeof(a[3]), "%d", rd->mode);
		execl("/proc/self/exe", "pipe_crash", "drain", rd->o->name, a[0],
		      a[1], a[2], a[3], (char *)NULL);
		_exit(127);
	}
	return p;
}

/* What a killed reader had taken: a whole record in its buffer. */
static void snapshot_reader(struct round *rd, int idx)
{
	struct rbuf *b = &sh->rb[idx];
	int st = atomic_load(&b->state);
	size_t n;

	if (st == 0 || rd->ninfl >= MAX_KILLS)
		return;
	n = st == 2 ? (size_t)atomic_load(&b->n) : b->data.len;
	if (n > MAXREC)
		return;
	if (!rec_problem(&b->data, n)) {
		rd->infl[rd->ninfl].writer = b->data.writer;
		rd->infl[rd->ninfl++].seq = b->data.seq;
	}
}

/* Kills victim v (writers 0.., then readers), notes where it was, reaps
 * it; 0, or -1 if there was none or it could not be reaped. */
static int kill_victim(struct round *rd, int v, struct counts *c)
{
	struct kill_ev *k = &rd->kills[rd->nkills < MAX_KILLS ? rd->nkills : MAX_KILLS - 1];
	pid_t pid;
	int st;

	if (v < NWRITE) {
		pid = rd->wpid[v];
		k->role = 'w';
		k->id = (int)rd->wid[v];
		k->in_call = atomic_load(&sh->wwhere[rd->wid[v]]);
	} else {
		pid = rd->rpid[v - NWRITE];
		k->role = 'r';
		k->id = v - NWRITE;
		k->in_call = atomic_load(&sh->rb[v - NWRITE].state) == 1;
	}
	if (pid <= 0)
		return -1;
	k->state = proc_state(pid);
	k->t = now_ms() - rd->t0;
	k->nlog = atomic_load(&sh->nlog);
	kill(pid, SIGKILL);
	if (reap_within(pid, &st, 3000) < 0) {
		CHECK(0, "%s %s: a killed process (pid %d) was not reaped in 3 s",
		      rd->o->name, mode_name[rd->mode], (int)pid);
		return -1;
	}
	if (rd->nkills < MAX_KILLS)
		rd->nkills++;
	if (k->role == 'w') {
		c->kw++;
		c->kw_blocked += k->in_call && k->state == 'S';
		c->kw_mid += k->in_call && k->state != 'S';
		rd->wpid[v] = -1;
	} else {
		c->kr++;
		c->kr_blocked += k->in_call && k->state == 'S';
		c->kr_mid += k->in_call && k->state != 'S';
		snapshot_reader(rd, v - NWRITE);
		rd->rpid[v - NWRITE] = -1;
	}
	return 0;
}

/* One kill of the killing part, and its replacement: a writer when the
 * pipe is full (readers slow), a reader when it is empty (writers slow;
 * only where readers are killed), anyone else. */
static void kill_one(struct round *rd, unsigned *rnd, struct counts *c)
{
	int ph = atomic_load(&sh->phase), nvict = NWRITE + (rd->mode != M_STREAM ? NREAD : 0);
	int v = (int)(rand_r(rnd) % (unsigned)nvict);

	if (ph == PH_RSLOW)
		v = (int)(rand_r(rnd) % NWRITE);
	else if (ph == PH_WSLOW && rd->mode != M_STREAM)
		v = NWRITE + (int)(rand_r(rnd) % NREAD);
	if (kill_victim(rd, v, c) < 0)
		return;
	if (v >= NWRITE)
		rd->rpid[v - NWRITE] = spawn_reader(rd, v - NWRITE);
	else if (rd->next_id < MAX_WRITERS) {
		rd->wid[v] = rd->next_id++;
		rd->wpid[v] = spawn_writer(rd, rd->wid[v]);
	}
}

/* Children that ended on their own during the killing: writers at their
 * budget (replaced), readers (never: that is a failure). */
static int reap_early(struct round *rd)
{
	int bad = 0, st;

	for (int i = 0; i < NWRITE; i++) {
		if (rd->wpid[i] <= 0 || waitpid(rd->wpid[i], &st, WNOHANG) != rd->wpid[i])
			continue;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			CHECK(0, "%s %s: writer %u ended with status 0x%x",
			      rd->o->name, mode_name[rd->mode], rd->wid[i], st);
			bad = 1;
		}
		rd->wpid[i] = -1;
		if (rd->next_id < MAX_WRITERS &&
		    atomic_load(&sh->total) < BUDGET - 1000) {
			rd->wid[i] = rd->next_id++;
			rd->wpid[i] = spawn_writer(rd, rd->wid[i]);
		}
	}
	for (int i = 0; i < NREAD + 1; i++) {
		if (rd->rpid[i] <= 0 || waitpid(rd->rpid[i], &st, WNOHANG) != rd->rpid[i])
			continue;
		CHECK(0, "%s %s: reader %d ended during the round (status 0x%x)",
		      rd->o->name, mode_name[rd->mode], i, st);
		rd->rpid[i] = -1;
		bad = 1;
	}
	return bad;
}

/* Waits for the n processes of pids (role names them) until `end`; a
 * process still there is diagnosed, killed and a failure. */
static int wait_all(struct round *rd, pid_t *pids, int n, const char *role,
		    long end)
{
	int bad = 0, left;

	do {
		left = 0;
		for (int i = 0; i < n; i++) {
			int st;

			if (pids[i] <= 0)
				continue;
			if (waitpid(pids[i], &st, WNOHANG) != pids[i]) {
				left++;
				continue;
			}
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				CHECK(0, "%s %s: %s %d ended with status 0x%x",
				      rd->o->name, mode_name[rd->mode], role, i, st);
				bad = 1;
			}
			pids[i] = -1;
		}
		if (left)
			usleep(500);
	} while (left && now_ms() < end);
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		CHECK(0, "%s %s: %s %d (pid %d) hangs at the end of the round",
		      rd->o->name, mode_name[rd->mode], role, i, (int)pids[i]);
		diagnose(rd->o, pids[i], role);
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
		pids[i] = -1;
		bad = 1;
	}
	return bad;
}

static int was_inflight(const struct round *rd, uint32_t w, uint32_t s)
{
	for (int i = 0; i < rd->ninfl; i++)
		if (rd->infl[i].writer == w && rd->infl[i].seq == s)
			return 1;
	return 0;
}

static void print_kills(const struct round *rd)
{
	fprintf(stderr, "    the round's kills (ms, who, /proc state, in the "
		"call, records logged by then):");
	for (int i = 0; i < rd->nkills; i++)
		fprintf(stderr, "%s %ld %c%d %c%s %u", i % 6 ? "," : "\n     ",
			rd->kills[i].t, rd->kills[i].role, rd->kills[i].id,
			rd->kills[i].state, rd->kills[i].in_call ? " in-call" : "",
			rd->kills[i].nlog);
	fprintf(stderr, "\n");
}

/* Every record accounted for. */
static int check_round(struct round *rd, struct counts *c)
{
	uint32_t nlog = atomic_load(&sh->nlog);
	uint8_t *seen[MAX_WRITERS];
	int bad = 0, shown = 0;

	if (nlog > LOG_CAP) {
		CHECK(0, "%s: the log overflowed (%u records)", rd->o->name, nlog);
		return 1;
	}
	for (int i = 0; i < atomic_load(&sh->nbad) && i < MAX_BAD; i++) {
		struct bad *b = &sh->bad[i];

		CHECK(0, "%s %s: pid %d: %s", rd->o->name, mode_name[rd->mode],
		      (int)b->pid, b->what);
		fprintf(stderr, "    bytes there:");
		for (int j = 0; j < 32; j++)
			fprintf(stderr, " %02x", b->head[j]);
		fprintf(stderr, "\n");
		bad = 1;
	}
	for (int w = 0; w < MAX_WRITERS; w++)
		seen[w] = calloc(atomic_load(&sh->attempt[w]) + 2, 1);
	for (uint32_t i = 0; i < nlog; i++) {
		uint64_t e = atomic_load(&sh->log[i]);
		uint32_t w = (uint32_t)(e >> 32) & 0xffff, s = (uint32_t)e;
		int reader = (int)(e >> 48) & 0x7fff;

		if (!(e >> 63))
			continue;	/* its reader was killed while logging */
		c->read++;
		if (w >= MAX_WRITERS || s == 0 || s > atomic_load(&sh->attempt[w])) {
			CHECK(0, "%s %s: reader %d logged record %u/%u, never "
			      "written", rd->o->name, mode_name[rd->mode], reader,
			      w, s);
			bad = 1;
			continue;
		}
		if (seen[w][s]) {
			CHECK(0, "%s %s: record %u/%u (%u bytes) read twice: by "
			      "reader %d, then by reader %d (log entry %u)",
			      rd->o->name, mode_name[rd->mode], w, s,
			      sh->wlen[w][s], seen[w][s] - 1, reader, i);
			bad = 1;
		}
		seen[w][s] = (uint8_t)(reader + 1);
	}
	for (uint32_t w = 0; w < MAX_WRITERS; w++) {
		uint32_t d = atomic_load(&sh->done[w]), a = atomic_load(&sh->attempt[w]);

		c->accepted += d;
		if (a > d) {	/* its writer was killed around this write */
			if (seen[w][a])
				c->torn_whole++;
			else
				c->torn_absent++;
		}
		for (uint32_t s = 1; s <= d; s++) {
			if (seen[w][s])
				continue;
			if (was_inflight(rd, w, s)) {
				c->inflight++;
				continue;
			}
			if (shown++ < 12)
				CHECK(0, "%s %s: record %u/%u (%u bytes, its write "
				      "returned at %u ms) was never read; writer %u "
				      "wrote up to %u, done %u; record %u read by "
				      "%d, record %u read by %d", rd->o->name,
				      mode_name[rd->mode], w, s, sh->wlen[w][s],
				      sh->wtime[w][s], w, a, d, s - 1,
				      s > 1 ? seen[w][s - 1] - 1 : -2, s + 1,
				      s + 1 <= a ? seen[w][s + 1] - 1 : -2);
			else
				harness_failures++;
			bad = 1;
		}
	}
	if (shown > 12)
		fprintf(stderr, "    (%d records lost in all)\n", shown);
	for (int w = 0; w < MAX_WRITERS; w++)
		free(seen[w]);
	if (bad) {
		print_kills(rd);
		fprintf(stderr, "    %u records logged; the drainer read %llu "
			"bytes\n", nlog, (unsigned long long)atomic_load(&sh->drained));
	}
	return bad;
}

/* The ring files in the namespace: their count, their names in buf. */
static int ring_files(char *buf, size_t n)
{
	DIR *d = opendir(harness_ns_dir());
	struct dirent *de;
	size_t used = 0;
	int count = 0;

	buf[0] = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "pipe.", 5) &&
		    strncmp(de->d_name, "tmp.pipe.", 9))
			continue;
		count++;
		if (used + strlen(de->d_name) + 2 < n)
			used += (size_t)snprintf(buf + used, n - used, " %s",
						 de->d_name);
	}
	closedir(d);
	return count;
}

/* The parent's two ends, the read end or the write end last (by sixes of
 * rounds: each kind of round and of end gets both): its last of the pipe,
 * and (exec'd drainer) the last any uipc process holds. */
static void close_ends(struct round *rd, int round)
{
	rd->last_end = (round / (2 * M_N)) % 2;
	rd->o->close(rd->fds[!rd->last_end]);
	rd->o->close(rd->fds[rd->last_end]);
}

/* The end, live: writers finish their record, readers (and a drainer
 * forked now, that is never killed) read to EOF. */
static int end_live(struct round *rd, int round)
{
	int bad = 0;

	atomic_store(&sh->stop, 1);
	atomic_store(&sh->phase, PH_FREE);
	if (rd->mode != M_STREAM)
		rd->rpid[NREAD] = spawn_reader(rd, NREAD);
	close_ends(rd, round);
	bad |= wait_all(rd, rd->wpid, NWRITE, "writer", now_ms() + END_MS);
	bad |= wait_all(rd, rd->rpid, NREAD + 1, "reader", now_ms() + END_MS);
	return bad;
}

/* The end, by an exec'd drainer: the readers are killed (the stream
 * reader hands its parse state over instead, between two reads), the
 * writers fill the pipe and are killed, the parent closes its ends, and
 * only then does the drainer, a program that never saw the ring, read
 * what is left. */
static int end_exec(struct round *rd, int round, unsigned *rnd,
		    struct counts *c)
{
	char name[600];
	int ctl[2], bad = 0;
	pid_t d;

	atomic_store(&sh->phase, PH_FREE);
	if (pipe2(ctl, O_CLOEXEC) < 0) {
		CHECK(0, "pipe: %s", strerror(errno));
		return 1;
	}
	d = spawn_exec_drainer(rd, ctl[0]);
	close(ctl[0]);
	if (rd->mode == M_STREAM) {
		atomic_store(&sh->handover, 1);
		bad |= wait_all(rd, rd->rpid, 1, "stream reader", now_ms() + END_MS);
		if (atomic_load(&sh->handover) != 2) {
			CHECK(0, "%s: the stream reader did not hand over",
			      rd->o->name);
			bad = 1;
		}
	} else {
		for (int i = 0; i < NREAD; i++)
			kill_victim(rd, NWRITE + i, c);
	}
	usleep(rand_r(rnd) % 3000);
	for (int i = 0; i < NWRITE; i++)
		kill_victim(rd, i, c);
	close_ends(rd, round);
	/* uipc: the last holder it knows of closed, so the ring went into the
	 * kernel pipe and its file is gone (else a program that does not use
	 * uipc finds its bytes stranded there). */
	snprintf(name, sizeof(name), "%s/pipe.%llu", harness_ns_dir(), rd->ino);
	if (rd->o == &uipc_pipe_ops && access(name, F_OK) == 0) {
		CHECK(0, "uipc %s: the ring stayed after the last uipc holder "
		      "closed its ends (the exec'd drainer holds the read end): "
		      "it was not moved into the kernel pipe", mode_name[rd->mode]);
		uipc_pipe_list(ring_line, NULL);
		bad = 1;
	}
	if (write(ctl[1], "g", 1) != 1)
		CHECK(0, "the drainer's go: %s", strerror(errno));
	close(ctl[1]);
	rd->rpid[NREAD] = d;
	bad |= wait_all(rd, rd->rpid, NREAD + 1, "exec'd drainer",
			now_ms() + END_MS);
	c->exec_rounds++;
	c->drained += atomic_load(&sh->drained);
	return bad;
}

static int g_memfd;

static int run_round(const struct pipe_ops *o, int mode, int round,
		     unsigned *rnd, struct counts *c)
{
	struct round *rd = calloc(1, sizeof(*rd));
	int bad = 0, nr = mode == M_STREAM ? 1 : NREAD;
	struct stat st;
	long phase_end, end_t0, t;

	if (!rd)
		return 1;
	atomic_store(&sh->stop, 0);
	atomic_store(&sh->phase, PH_FREE);
	atomic_store(&sh->total, 0);
	atomic_store(&sh->nbad, 0);
	atomic_store(&sh->nlog, 0);
	atomic_store(&sh->slow_calls, 0);
	atomic_store(&sh->drained, 0);
	atomic_store(&sh->handover, 0);
	memset((void *)sh->attempt, 0, sizeof(sh->attempt));
	memset((void *)sh->done, 0, sizeof(sh->done));
	memset((void *)sh->wwhere, 0, sizeof(sh->wwhere));
	memset(sh->wlen, 0, sizeof(sh->wlen));
	memset(sh->wtime, 0, sizeof(sh->wtime));
	memset((void *)sh->log, 0, sizeof(sh->log[0]) * LOG_CAP);
	rd->o = o;
	rd->mode = mode;
	rd->memfd = g_memfd;
	for (int i = 0; i < NREAD + 1; i++)
		rd->rpid[i] = -1;
	if (o->pipe2(rd->fds, mode == M_PACKET ? O_DIRECT : 0) < 0) {
		CHECK(0, "%s: pipe2: %s", o->name, strerror(errno));
		free(rd);
		return 1;
	}
	if (fstat(rd->fds[0], &st) == 0)
		rd->ino = (unsigned long long)st.st_ino;
	rd->t0 = sh->t0 = now_ms();
	for (int i = 0; i < NWRITE; i++) {
		rd->wid[i] = rd->next_id++;
		rd->wpid[i] = spawn_writer(rd, rd->wid[i]);
	}
	for (int i = 0; i < nr; i++)
		rd->rpid[i] = spawn_reader(rd, i);

	/* Kill someone every 2-12 ms for KILL_MS, in phases of 15-40 ms. */
	phase_end = rd->t0;
	while ((t = now_ms()) - rd->t0 < KILL_MS && !bad) {
		if (t >= phase_end) {
			atomic_store(&sh->phase, (int)(rand_r(rnd) % 3));
			phase_end = t + 15 + rand_r(rnd) % 26;
		}
		usleep(2000 + rand_r(rnd) % 10000);
		bad = reap_early(rd);
		kill_one(rd, rnd, c);
	}

	end_t0 = now_ms();
	if ((round / M_N) % 2)
		bad |= end_exec(rd, round, rnd, c);
	else
		bad |= end_live(rd, round);
	t = now_ms() - end_t0;
	if (t > c->max_end_ms)
		c->max_end_ms = t;
	c->slow_calls += atomic_load(&sh->slow_calls);
	bad |= check_round(rd, c);
	c->rounds++;

	if (o == &uipc_pipe_ops) {
		long settle = now_ms() + 300;
		char name[600];
		int left;

		/* This round's ring: gone once every end is closed. */
		snprintf(name, sizeof(name), "%s/pipe.%llu", harness_ns_dir(),
			 (unsigned long long)rd->ino);
		while ((left = access(name, F_OK) == 0) && now_ms() < settle)
			usleep(2000);
		if (left) {
			printf("NOTE: uipc %s round %d: its ring file pipe.%llu is "
			       "still there 300 ms after every end was closed\n",
			       mode_name[mode], round, (unsigned long long)rd->ino);
			fflush(stdout);
			uipc_pipe_list(ring_line, NULL);
			c->leftover_rounds++;
		}
	}
	if (bad)
		fprintf(stderr, "    (%s %s round %d failed; it ended %s, the "
			"parent closing its %s end last)\n", o->name,
			mode_name[mode], round, (round / M_N) % 2 ?
			"by an exec'd drainer" : "live", rd->last_end ? "write" :
			"read");
	free(rd);
	return bad;
}

static int run(const struct pipe_ops *o, int rounds, unsigned seed)
{
	struct counts c[M_N];
	unsigned rnd = seed;
	long t0 = now_ms();
	int bad = 0;

	memset(c, 0, sizeof(c));
	for (int r = 0; r < rounds && !bad; r++)
		bad = run_round(o, r % M_N, r, &rnd, &c[r % M_N]);
	for (int m = 0; m < M_N; m++)
		printf("%-6s %-6s %2ld rounds: kills: %ld writers (%ld blocked in "
		       "write, %ld running in it), %ld readers (%ld blocked in "
		       "read, %ld running in it); %ld records accepted, %ld read, "
		       "%ld in killed readers; killed writers' last record "
		       "whole %ld, absent %ld; %ld ends by an exec'd drainer "
		       "(%llu bytes left for it); end <= %ld ms; %ld calls slept "
		       ">= %d ms%s\n", o->name,
		       mode_name[m], c[m].rounds, c[m].kw, c[m].kw_blocked,
		       c[m].kw_mid, c[m].kr, c[m].kr_blocked, c[m].kr_mid,
		       c[m].accepted, c[m].read, c[m].inflight, c[m].torn_whole,
		       c[m].torn_absent, c[m].exec_rounds,
		       (unsigned long long)c[m].drained, c[m].max_end_ms,
		       c[m].slow_calls, SLOW_MS,
		       c[m].leftover_rounds ? "; ring files left behind" : "");
	printf("%-6s %ld of %d rounds in %.1f s: %s\n", o->name,
	       c[M_STREAM].rounds + c[M_FIXED].rounds + c[M_PACKET].rounds,
	       rounds, (double)(now_ms() - t0) / 1000, bad ? "FAILED" : "ok");
	return bad;
}

/* At the end of the uipc side: no ring file stays (after `uipc reap` if
 * a settle did not do). */
static void check_no_rings(void)
{
	char names[1024], cmd[1200];
	const char *b = getenv("UIPC_BUILD");
	int n = ring_files(names, sizeof(names));

	if (n == 0) {
		printf("uipc   no ring file left in %s\n", harness_ns_dir());
		return;
	}
	printf("NOTE: uipc: %d ring file(s) left at the end:%s; running uipc "
	       "reap\n", n, names);
	uipc_pipe_list(ring_line, NULL);
	snprintf(cmd, sizeof(cmd), "UIPC_NS='%s' '%s/uipc' reap", harness_ns_dir(),
		 b && *b ? b : "build");
	fflush(stdout);
	if (system(cmd) != 0)
		printf("NOTE: '%s' failed\n", cmd);
	n = ring_files(names, sizeof(names));
	CHECK(n == 0, "uipc: %d ring file(s) left after uipc reap:%s", n, names);
	if (n == 0)
		printf("uipc   no ring file left after uipc reap\n");
}

int main(int argc, char **argv)
{
	const char *s = getenv("PIPE_CRASH_SEED"), *r = getenv("PIPE_CRASH_ROUNDS");
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 0) : 12345;
	const char *only = getenv("PIPE_CRASH_ONLY");	/* kernel, uipc */
	int rounds = r ? atoi(r) : 30;

	if (argc == 7 && !strcmp(argv[1], "drain"))
		return drain_main(argv);
	harness_init(150);
	harness_allow_lost_wakes();	/* it kills wakers mid-call */
	signal(SIGPIPE, SIG_DFL);
	/* Shared with the children, and with the exec'd drainers through
	 * the descriptor. */
	g_memfd = memfd_create("pipe_crash", 0);
	if (g_memfd < 0 || ftruncate(g_memfd, (off_t)sizeof(*sh)) < 0) {
		perror("memfd");
		return 1;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, g_memfd, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (!only || !strcmp(only, "kernel"))
		run(&kernel_pipe, rounds, seed);
	if (!only || !strcmp(only, "uipc")) {
		run(&uipc_pipe_ops, rounds, seed);
		check_no_rings();
	}
	return harness_done();
}
