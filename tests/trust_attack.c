/*
 * trust_attack: another local user against uipc's shared files (issue 14,
 * item 7).
 *
 * Two victims, root and uid 1 (daemon), use their own 0600 objects of every
 * kind, keyed and private (and make and remove private ones as they go:
 * creation is attacked too), while an unprivileged process (nobody) attacks
 * the namespace they share, for several rounds.  Each round has a seed of
 * its own (derived from the run's, printed), a namespace of its own (made by
 * root, or in "dir" rounds by the attacker first), fresh victim processes,
 * and one attacker that gets a head start (its first volley lands before
 * the victims start) and then keeps going for the whole round.
 *
 * A run passes only if, in every round:
 *  - no victim dies of a signal (under ASan: of a sanitizer's report);
 *  - no victim call takes longer than TA_CALL_LIMIT_MS (5000 ms);
 *  - nothing the victim did not mean to write changes: the guard bytes
 *    around its call buffers, the bytes of a receive buffer past what
 *    msgrcv returned, a canary array the attacker aims writes at, its files
 *    outside the namespace (content, mode, size, owner, inode), and, when
 *    root made the namespace, "ns" and "limits" (still root's own regular
 *    files, not links);
 *  - the attacker never reads or changes a victim's data: every message a
 *    victim receives is exactly the next one it sent (checksum, sequence
 *    number, type, length), none lost, none duplicated, none foreign; every
 *    semaphore holds what the victim's own operations gave it; every
 *    segment holds what the victim wrote last, and shmat maps all of it
 *    (less, and the victim's own writes would land elsewhere; it checks
 *    /proc/self/maps before it touches); IPC_STAT shows the victim's
 *    uid, gid, cuid, cgid, mode, key and size, and of a segment no
 *    attachment (the victim has none outside its shmat and shmdt), no
 *    SHM_DEST, the victim as creator and last user; no call on a victim's
 *    segment says EIDRM (removed); msgget/semget/shmget of the
 *    victim's key give the victim's own id; every call the attacker makes on
 *    a victim's id fails as the kernel's would (EACCES, EPERM); and no
 *    victim secret (each message and segment carries one, as do the files
 *    outside) shows in anything the attacker reads.
 *
 * Errors.  "A wrong hint may cost a retry or an error": a victim call that
 * fails with an error is allowed and counted (per call and errno, printed
 * each round), except an answer that denies the victim's own state, which
 * is a lie about its data, not an error: ENOMSG while a message it sent is
 * in its queue, EAGAIN from a semaphore operation its own values allow,
 * ENOENT for its own live key, a message delivered although its msgsnd
 * failed.  A message missing after some call on its queue failed is
 * counted as "lost after an error", allowed (the error told); one missing
 * with every call on the queue succeeding is a failure.
 *
 * The attack is a set of moves in seven classes; ATTACK selects them by
 * class ("forge") or one by one ("forge.proc-dead"), "-" takes one out
 * again ("all,-locks.held"); the default is all.  Each action of the
 * attacker picks a class of the selection, then one of its moves, with
 * the round's PRNG.  Its first volley, before the victims start, is only
 * what must be in place before them (the plants, the claim entries); what
 * wrecks the namespace comes during the round, or fresh victims would only
 * meet an error at their first call.
 *  bytes  random bytes, zeroed or 0xff ranges: "every" writable file of
 *         the namespace (and a read of every file, where a victim's object
 *         file must refuse), the namespace file's header, lock and limits
 *         ("ns-header"), counters, a victim's id slot, a victim's process
 *         entry, anywhere ("ns-any"); a victim's shm header ("hdr-entry"),
 *         with its attach entries ("hdr-att"), any segment's header
 *         ("hdr-any"), each as far as it can open the segment's file (a
 *         victim's must refuse: each header is in its segment's file);
 *  trunc  ns, a victim's segment file (which must refuse), the attacker's
 *         own object files: to 0, half, a page, a page less ("ns",
 *         "headers", "own", only after 40% of the round), "extend"ed, and
 *         shrunk then restored ("flicker");
 *  links  planted under the names uipc creates, as symlinks and hardlinks
 *         to the victims' files outside (or files of the attacker's own):
 *         tmp.ns.<pid>.0 and tmp.limits.<pid>.0 for the pids to come
 *         ("tmpnames"); the next ids' object files ("nextids"); the
 *         victims' key links, to outside files or to the attacker's
 *         objects ("keys"); its own file renamed over ns or limits
 *         ("rename"); and whether the files outside became readable or
 *         writable to it ("outside");
 *  forge  the id table: a victim's slot zeroed ("slot-zero", its key then
 *         looks left over) or made stale, phantom slots, the counters,
 *         the limits, magic/layout/size; a live victim's
 *         process entry made to look dead, of another generation, another
 *         pid, uses, uid; fake live entries with a victim's pid; a victim's
 *         shm header, as far as it can open its file (it must not): owner
 *         and mode made the attacker's ("hdr-owner", to IPC_SET and
 *         IPC_RMID with calls.ops), state, removed, id, key, kind and
 *         layout, hdr_size, segsz, att_hwm, attach entries, units; and the
 *         mode of the next segments' headers while a victim makes one
 *         ("hdr-next");
 *  locks  the namespace lock, a victim's shm header lock, a victim's life
 *         lock (TA_LOCK_AT=ns,hdr,life chooses): its word made to look
 *         held by a live process, the attacker ("held"), or by a victim,
 *         a thread that is not there ("garbage"), owner-died, zero, all
 *         ones, random bytes; glibc mutexes only: a forged kind (PI, PP,
 *         elision), a not-recoverable owner, and the robust list pointers
 *         of a lock a victim holds aimed at that victim's canary ("aim":
 *         its address is the attacker's own, every process here being a
 *         fork of one); a value meant to stay is mostly left alone after;
 *         and "claim": the lock words of the headers of the next
 *         segments' files, held, as far as it can open them;
 *  calls  uipc calls as nobody ("ops") on the victims' ids: IPC_STAT,
 *         IPC_SET, IPC_RMID, msgsnd, msgrcv (and MSG_COPY), MSG_STAT,
 *         SEM_STAT, GETVAL, GETALL, SETVAL, semop, shmat, SHM_LOCK; and
 *         ("squat") the victims' keys taken with IPC_CREAT|IPC_EXCL, 0666,
 *         the moment they are free, and asked for with 0600 (the kernel
 *         says EACCES, also for a segment); whatever
 *         reaches the attacker's objects is searched for secrets;
 *  dir    (every third round, or every round if only dir is chosen) the
 *         attacker makes the namespace directory before root, and as its
 *         owner renames files of its own over the victims' segment files
 *         ("seg") and its key links over theirs ("keys"), and reads what
 *         landed in its files ("read").
 *
 * Usage: trust_attack [SEED [ROUNDS]] (6 rounds); env ATTACK, TA_LOCK_AT,
 * TA_ROUND_MS (1500), TA_CALL_LIMIT_MS (5000), TA_ONLY=k (round k alone,
 * with the seed it has in a full run), TA_SYSCTL=off (then
 * fs.protected_symlinks is set to 0 for the run, as issue 14's threat
 * model has it, and restored after; by default the host's setting is left
 * alone, as a test must, and a 1 there stops the symlink plants in the
 * kernel).  A run with the same seed and ATTACK makes the
 * same choices; what they meet depends on timing too.  Needs root (else it
 * skips).  The rounds' namespaces live under UIPC_NS (which must not exist
 * yet or be empty; default /dev/shm/trust_attack.<pid>), all removed at
 * the end.  The kernel's IPC is not used.
 *
 * What is aimed at depends on uipc's shared layouts: see "Layouts" below,
 * the one place to update when they change.
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

/* ---- Layouts: what the attacker aims at ---------------------------------
 * The namespace file is struct uipc_ns; a segment's file starts with its
 * header, a struct uipc_obj and shm.c's segment header in the first
 * 64 KiB (mirrored here: shm.c keeps it private), the bytes after it.
 * The glibc-specific aims apply only while
 * the locks are pthread mutexes; the generic ones (the first word of a
 * lock, its bytes) apply to any lock. */
#define SHM_ENTRY (64 * 1024)

struct ta_shm_att {
	uint32_t state, slot, gen;
	int32_t pid;
	uint32_t count, pad;
};

struct ta_shm_hdr {
	struct uipc_obj o;
	uint64_t segsz;
	int64_t atime, dtime;
	int32_t cpid, lpid;
	uint32_t pad;
	uint32_t att_hwm;
	struct ta_shm_att att[64];
};

#define NS_LOCK_LEN sizeof(((struct uipc_ns *)0)->lock)
#define OBJ_LOCK_LEN sizeof(((struct uipc_obj *)0)->lock)
#define LIFE_LEN sizeof(((struct uipc_proc *)0)->stamp)	/* no life lock any more: the stamp word */
#define IS_PTHREAD(lv) _Generic((lv), pthread_mutex_t: 1, default: 0)
#define NS_LOCK_PTHREAD IS_PTHREAD(((struct uipc_ns *)0)->lock)
#define OBJ_LOCK_PTHREAD IS_PTHREAD(((struct uipc_obj *)0)->lock)
#define LIFE_PTHREAD 0
#if defined(__GLIBC__) && __SIZEOF_POINTER__ == 8
#define GLIBC_AIMS 1
#else
#define GLIBC_AIMS 0
#endif

/* ---- common ------------------------------------------------------------ */

#define ATTACKER_UID 65534
#define ATTACKER_GID 65534
#define TAG "SECRET:!"		/* a secret: this, 8 random bytes */
#define MAXFAIL 12
#define FAILLEN 256
#define NERR 134
#define MAXLOOT 64
#define MAXCAT 16

/* Failures of one kind: how many, and the first one's words. */
struct fcat {
	char cat[40];
	long n;
	char first[FAILLEN];
};

enum { A_BYTES, A_TRUNC, A_LINKS, A_FORGE, A_LOCKS, A_CALLS, A_DIR, NCLASSES };
static const char *const class_name[NCLASSES] = {
	"bytes", "trunc", "links", "forge", "locks", "calls", "dir",
};

enum { C_MSGGET, C_MSGSND, C_MSGRCV, C_MSGCTL, C_SEMGET, C_SEMOP, C_SEMCTL,
       C_SHMGET, C_SHMAT, C_SHMDT, C_SHMCTL, NCALLS };
static const char *const call_name[NCALLS] = {
	"msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semctl",
	"shmget", "shmat", "shmdt", "shmctl",
};

/* A victim's findings, in memory shared with the parent. */
struct vreport {
	unsigned char token[16];	/* TAG and its secret */
	char call[128];			/* what it is doing now */
	_Atomic int64_t call_start;	/* of the call now, 0: none */
	long calls, errors, failures, lost_after_error;
	long msgs, semops, segs, lookups;
	int ncat;
	struct fcat cat[MAXCAT];
	uint32_t err[NCALLS][NERR];
};

struct loot {
	char src[64];
	unsigned char bytes[16];
};

/* The attacker's findings: written by it and its caller process. */
struct areport {
	long actions[NCLASSES];
	_Atomic long refused, other_errors, squats, aimed, planted, breaches;
	_Atomic long callers, hardlinks;
	_Atomic int ncat, nloot;
	struct fcat cat[MAXCAT];
	struct loot loot[MAXLOOT];
	_Atomic int64_t caller_beat;
	_Atomic int own[UIPC_NKINDS][8];	/* the caller's objects, +1 */
	char other[6][48];	/* calls refused not as the kernel does */
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? splitmix(s) % n : 0;
}

static int chance(uint64_t *s, int pct)
{
	return (int)below(s, 100) < pct;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

static int drop_to(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -1;
	return 0;
}

static key_t victim_key(int v, int kind)
{
	return (key_t)(0x7a110000 + v * 16 + kind);
}

static const char *signame(int sig)
{
	static char buf[16];

	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGABRT: return "SIGABRT";
	case SIGKILL: return "SIGKILL";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGALRM: return "SIGALRM";
	case SIGTRAP: return "SIGTRAP";
	case SIGSYS: return "SIGSYS";
	}
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

/* Run-wide settings and state of the parent. */
static char g_classes_str[1024];
static int64_t g_round_ns = 1500000000LL, g_limit_ns = 5000000000LL;
static char g_base[4096];	/* holds the rounds' namespaces */
static char g_outdir[256];	/* the victims' files outside */
static char g_nsdir[4200];	/* this round's namespace */
static pid_t g_pid[3];		/* victims, attacker (its group) */
static int g_sysctl_changed;
static char g_sysctl_old[8];
static pid_t g_parent;

/* ---- victims' memory --------------------------------------------------- */

#define MSG_MAX 4096
#define GUARD 256
#define GUARD_BYTE 0x5a
#define FILL_BYTE 0xc3

/* Every buffer a victim hands to a call, with guard bytes around it. */
static struct {
	unsigned char pre[GUARD];
	union {
		struct {
			long mtype;
			unsigned char mtext[MSG_MAX];
		} m;
		struct msqid_ds mq;
		struct semid_ds sd;
		struct shmid_ds sh;
		unsigned short vals[2];
	} u;
	unsigned char post[GUARD];
} io;

/* The victim's canary, which the attacker aims writes at. */
static unsigned char g_target[8192];

static unsigned char target_byte(size_t i)
{
	return (unsigned char)(i * 131 + 7);
}

/* ---- victims ----------------------------------------------------------- */

struct mhead {
	char tag[8];
	unsigned char tok[8];
	uint32_t victim, round, seq, len;
	uint64_t sum;
};

struct vq {
	const char *what;
	int id;
	key_t key;
	uint32_t out[64];	/* sent, not received yet, oldest first */
	int head, nout;
	int erred;		/* a call failed since the oldest was sent */
	uint32_t failed[8];	/* seqs whose msgsnd failed, the last 8 */
	unsigned nfailed;
};

struct vs {
	const char *what;
	int id;
	key_t key;
	int val[2];
};

struct vm {
	const char *what;
	int id;
	key_t key;
	size_t size;
	uint32_t seq;
	int written;
};

struct victim {
	int v, round;
	uid_t uid;
	gid_t gid;
	struct vreport *rep;
	int64_t deadline;
	uint64_t rng;
	uint32_t seq;
	struct vq q[2];
	struct vs s[2];
	struct vm m[2];
};

static void vfail(struct victim *vi, const char *cat, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A failure of kind cat: counted, and told if it is the kind's first. */
static void vfail(struct victim *vi, const char *cat, const char *fmt, ...)
{
	struct vreport *r = vi->rep;
	struct fcat *c = NULL;
	va_list ap;

	r->failures++;
	for (int i = 0; i < r->ncat; i++)
		if (!strcmp(r->cat[i].cat, cat))
			c = &r->cat[i];
	if (!c && r->ncat < MAXCAT) {
		c = &r->cat[r->ncat++];
		snprintf(c->cat, sizeof(c->cat), "%s", cat);
		va_start(ap, fmt);
		vsnprintf(c->first, sizeof(c->first), fmt, ap);
		va_end(ap);
	}
	if (c)
		c->n++;
}

static void doing(struct victim *vi, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Names what the victim does now, for a death or a hang to be told. */
static void doing(struct victim *vi, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vi->rep->call, sizeof(vi->rep->call), fmt, ap);
	va_end(ap);
}

/* Guards, canary: anything written there was not the victim's intent. */
static void check_memory(struct victim *vi)
{
	for (int i = 0; i < GUARD; i++)
		if (io.pre[i] != GUARD_BYTE || io.post[i] != GUARD_BYTE) {
			vfail(vi, "memory-guard", "%s: bytes around the buffer "
			      "it was given changed",
			      vi->rep->call);
			memset(io.pre, GUARD_BYTE, GUARD);
			memset(io.post, GUARD_BYTE, GUARD);
			break;
		}
	for (size_t i = 0; i < sizeof(g_target); i++)
		if (g_target[i] != target_byte(i)) {
			vfail(vi, "memory-aimed",
			      "after %s: the victim's own memory (canary byte "
			      "%zu) changed: a write through a pointer the "
			      "attacker planted",
			      vi->rep->call, i);
			for (size_t j = 0; j < sizeof(g_target); j++)
				g_target[j] = target_byte(j);
			break;
		}
}

/* A victim gives up this long after its round (the draining and removal
 * at the end are best effort): however many calls are left, each bounded
 * by the call limit, the parent waits GIVE_UP_NS + g_limit_ns at most. */
#define GIVE_UP_NS 1000000000LL

/* Brackets each call: begin() names it and starts its clock; end() counts
 * it, judges its time and the victim's memory. */
static void begin(struct victim *vi, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void begin(struct victim *vi, const char *fmt, ...)
{
	va_list ap;

	if (now_ns() > vi->deadline + GIVE_UP_NS) {
		doing(vi, "giving up after the round");
		check_memory(vi);
		_exit(0);
	}
	va_start(ap, fmt);
	vsnprintf(vi->rep->call, sizeof(vi->rep->call), fmt, ap);
	va_end(ap);
	atomic_store(&vi->rep->call_start, now_ns());
}

static void end(struct victim *vi, int c, int failed, int err)
{
	int64_t t = now_ns() - atomic_load(&vi->rep->call_start);

	vi->rep->calls++;
	if (t > g_limit_ns)
		vfail(vi, "slow-call",
		      "%s took %.1f s (a call may wait at most %.1f s)",
		      vi->rep->call, (double)t / 1e9, (double)g_limit_ns / 1e9);
	if (failed) {
		vi->rep->errors++;
		vi->rep->err[c][err > 0 && err < NERR ? err : 0]++;
	}
	check_memory(vi);
	atomic_store(&vi->rep->call_start, 0);
	errno = err;
}

static size_t msg_len(uint32_t seq)
{
	return sizeof(struct mhead) + (size_t)((seq * 2654435761u) >> 7) % 1800;
}

static unsigned char msg_byte(uint32_t seq, size_t i)
{
	return (unsigned char)((seq * 31 + i * 7) ^ (i >> 5));
}

static uint64_t msg_sum(const struct mhead *h, const unsigned char *text,
			size_t len)
{
	return fnv(fnv(0xcbf29ce484222325ull, h, offsetof(struct mhead, sum)),
		   text + sizeof(*h), len - sizeof(*h));
}

/* Message seq of victim vi, in io.u.m; returns its length. */
static size_t make_msg(struct victim *vi, uint32_t seq)
{
	size_t len = msg_len(seq);
	struct mhead h;

	memcpy(h.tag, TAG, 8);
	memcpy(h.tok, vi->rep->token + 8, 8);
	h.victim = (uint32_t)vi->v;
	h.round = (uint32_t)vi->round;
	h.seq = seq;
	h.len = (uint32_t)len;
	io.u.m.mtype = 1 + seq % 3;
	for (size_t i = sizeof(h); i < len; i++)
		io.u.m.mtext[i] = msg_byte(seq, i);
	h.sum = msg_sum(&h, io.u.m.mtext, len);
	memcpy(io.u.m.mtext, &h, sizeof(h));
	return len;
}

/* Whether io.u.m holds n bytes that are exactly message seq of vi. */
static int msg_is(struct victim *vi, uint32_t seq, ssize_t n)
{
	struct mhead h;

	if (n != (ssize_t)msg_len(seq) || io.u.m.mtype != (long)(1 + seq % 3))
		return 0;
	memcpy(&h, io.u.m.mtext, sizeof(h));
	if (memcmp(h.tag, TAG, 8) || memcmp(h.tok, vi->rep->token + 8, 8) ||
	    h.victim != (uint32_t)vi->v || h.round != (uint32_t)vi->round ||
	    h.seq != seq || h.len != (uint32_t)n ||
	    h.sum != msg_sum(&h, io.u.m.mtext, (size_t)n))
		return 0;
	for (size_t i = sizeof(h); i < (size_t)n; i++)
		if (io.u.m.mtext[i] != msg_byte(seq, i))
			return 0;
	return 1;
}

/* The seq io.u.m claims, if it looks like one of vi's, else -1. */
static int64_t msg_claims(struct victim *vi, ssize_t n)
{
	struct mhead h;

	if (n < (ssize_t)sizeof(h))
		return -1;
	memcpy(&h, io.u.m.mtext, sizeof(h));
	if (memcmp(h.tag, TAG, 8) || memcmp(h.tok, vi->rep->token + 8, 8))
		return -1;
	return h.seq;
}

static void q_pop(struct vq *q)
{
	q->head = (q->head + 1) % 64;
	q->nout--;
	if (!q->nout)
		q->erred = 0;
}

/* Judges what msgrcv returned (n bytes, or -1 with e). */
static void judge_received(struct victim *vi, struct vq *q, ssize_t n, int e)
{
	int64_t claim;

	for (size_t i = (n > 0 ? (size_t)n : 0); i < MSG_MAX; i++)
		if (io.u.m.mtext[i] != FILL_BYTE) {
			vfail(vi, "memory-msgrcv",
			      "msgrcv(%s) returned %zd but wrote byte %zu of "
			      "the buffer",
			      q->what, n, i);
			break;
		}
	if (n < 0) {
		if (e == ENOMSG && q->nout) {
			if (q->erred)
				vi->rep->lost_after_error++;
			else
				vfail(vi, "msg-lost",
				      "msgrcv(%s) says ENOMSG, but message %u "
				      "was sent and not received: lost without "
				      "an error",
				      q->what, q->out[q->head]);
			while (q->nout)
				q_pop(q);
		} else if (e != ENOMSG) {
			q->erred = 1;
		}
		return;
	}
	if (q->nout && msg_is(vi, q->out[q->head], n)) {
		q_pop(q);
		vi->rep->msgs++;
		return;
	}
	claim = msg_claims(vi, n);
	for (unsigned i = 0; claim >= 0 && i < q->nfailed && i < 8; i++)
		if (q->failed[i] == (uint32_t)claim) {
			vfail(vi, "msg-unsent",
			      "msgrcv(%s) got message %u, whose msgsnd had "
			      "failed",
			      q->what, (unsigned)claim);
			return;
		}
	for (int i = 1; claim >= 0 && i < q->nout; i++)
		if (q->out[(q->head + i) % 64] == (uint32_t)claim &&
		    msg_is(vi, (uint32_t)claim, n)) {
			if (q->erred)
				vi->rep->lost_after_error++;
			else
				vfail(vi, "msg-lost",
				      "msgrcv(%s) got message %u before %u: a "
				      "message lost or reordered",
				      q->what, (unsigned)claim,
				      q->out[q->head]);
			while (q->out[q->head] != (uint32_t)claim)
				q_pop(q);
			q_pop(q);
			return;
		}
	vfail(vi, "msg-foreign",
	      "msgrcv(%s) returned %zd bytes that are not the message the "
	      "victim sent (%s)",
	      q->what, n,
	      claim < 0 ? "not the victim's at all"
	      : q->nout ? "another or damaged"
			: "none was in the queue");
}

static void op_msg(struct victim *vi, struct vq *q)
{
	ssize_t n;
	int r, e;

	if (q->id < 0)
		return;
	if (q->nout < 8 && (q->nout == 0 || chance(&vi->rng, 50))) {
		uint32_t seq = ++vi->seq;
		size_t len = make_msg(vi, seq);

		begin(vi, "msgsnd(%s, %zu bytes)", q->what, len);
		r = uipc_msgsnd(q->id, &io.u.m, len, IPC_NOWAIT);
		e = errno;
		end(vi, C_MSGSND, r < 0, e);
		if (r == 0) {
			q->out[(q->head + q->nout) % 64] = seq;
			q->nout++;
		} else {
			q->erred = 1;
			q->failed[q->nfailed++ % 8] = seq;
		}
	}
	/* Blocking when a message is known to be there: a receiver that
	 * waits anyway waits for good. */
	{
		int flg = q->nout && chance(&vi->rng, 50) ? 0 : IPC_NOWAIT;

		memset(io.u.m.mtext, FILL_BYTE, MSG_MAX);
		io.u.m.mtype = 0;
		begin(vi, "msgrcv(%s%s)", q->what, flg ? ", IPC_NOWAIT" : "");
		n = uipc_msgrcv(q->id, &io.u.m, MSG_MAX, 0, flg);
		e = errno;
		end(vi, C_MSGRCV, n < 0, e);
		judge_received(vi, q, n, e);
	}
}

static void sem_resync(struct victim *vi, struct vs *s)
{
	int r, e;

	begin(vi, "semctl(%s, GETALL)", s->what);
	r = uipc_semctl(s->id, 0, GETALL, io.u.vals);
	e = errno;
	end(vi, C_SEMCTL, r < 0, e);
	if (r == 0) {
		s->val[0] = io.u.vals[0];
		s->val[1] = io.u.vals[1];
	}
}

static void op_sem(struct victim *vi, struct vs *s)
{
	struct sembuf sop[2];
	struct timespec ts = { 0, 20000000 };
	int k, r, e, n = 1, d0 = 0, d1 = 0;

	if (s->id < 0)
		return;
	k = (int)below(&vi->rng, 6);
	if (k == 1 && s->val[0] == 0)
		k = 0;
	if (k == 3 && s->val[1] < 2)
		k = 2;
	if ((k == 0 && s->val[0] > 50) || (k == 2 && s->val[1] > 50))
		k++;
	switch (k) {
	case 0:
		sop[0] = (struct sembuf){ 0, 1, SEM_UNDO | IPC_NOWAIT };
		d0 = 1;
		break;
	case 1:
		sop[0] = (struct sembuf){ 0, -1, SEM_UNDO | IPC_NOWAIT };
		d0 = -1;
		break;
	case 2:
		sop[0] = (struct sembuf){ 1, 2, 0 };
		d1 = 2;
		break;
	case 3:
		sop[0] = (struct sembuf){ 1, -2, IPC_NOWAIT };
		d1 = -2;
		break;
	case 4:
		/* More than it has: must time out, as EAGAIN. */
		sop[0] = (struct sembuf){ 1, (short)-(s->val[1] + 1), 0 };
		begin(vi, "semtimedop(%s, 20 ms, more than it holds)", s->what);
		r = uipc_semtimedop(s->id, sop, 1, &ts);
		e = errno;
		end(vi, C_SEMOP, r < 0 && e != EAGAIN, e);
		if (r == 0) {
			vfail(vi, "sem-value",
			      "semtimedop(%s) took %d from a semaphore the "
			      "victim had set to %d",
			      s->what, s->val[1] + 1, s->val[1]);
			sem_resync(vi, s);
		}
		vi->rep->semops++;
		return;
	default:
		begin(vi, "semctl(%s, GETALL)", s->what);
		r = uipc_semctl(s->id, 0, GETALL, io.u.vals);
		e = errno;
		end(vi, C_SEMCTL, r < 0, e);
		if (r == 0 && (io.u.vals[0] != s->val[0] ||
			       io.u.vals[1] != s->val[1])) {
			vfail(vi, "sem-value",
			      "semctl(%s, GETALL) shows %u %u, but the "
			      "victim's own operations left %d %d",
			      s->what, io.u.vals[0], io.u.vals[1], s->val[0],
			      s->val[1]);
			s->val[0] = io.u.vals[0];
			s->val[1] = io.u.vals[1];
		}
		vi->rep->semops++;
		return;
	}
	if (chance(&vi->rng, 25)) {	/* two at once */
		sop[1] = (struct sembuf){ (unsigned short)(1 - sop[0].sem_num),
					  1, 0 };
		n = 2;
		if (sop[0].sem_num == 0)
			d1 += 1;
		else
			d0 += 1;
	}
	begin(vi, "semop(%s, %d op%s)", s->what, n, n > 1 ? "s" : "");
	r = uipc_semop(s->id, sop, (size_t)n);
	e = errno;
	end(vi, C_SEMOP, r < 0, e);
	if (r == 0) {
		s->val[0] += d0;
		s->val[1] += d1;
		vi->rep->semops++;
	} else if (e == EAGAIN) {
		vfail(vi, "sem-eagain",
		      "semop(%s) says EAGAIN, but the victim's own values %d "
		      "%d allow it",
		      s->what, s->val[0], s->val[1]);
		sem_resync(vi, s);
	}
}

/* Segment bytes: 32-byte blocks of TAG, secret, seq, offset, mix. */
static void seg_block(struct victim *vi, unsigned char *b, uint32_t seq,
		      uint32_t off)
{
	uint64_t mix = fnv(seq * 0x9e3779b9ull, &off, sizeof(off));

	memcpy(b, vi->rep->token, 16);
	memcpy(b + 16, &seq, 4);
	memcpy(b + 20, &off, 4);
	memcpy(b + 24, &mix, 8);
}

static long seg_check(struct victim *vi, const unsigned char *p, size_t size,
		      uint32_t seq)
{
	unsigned char b[32];

	for (size_t off = 0; off < size; off += 32) {
		seg_block(vi, b, seq, (uint32_t)off);
		if (memcmp(p + off, b, 32))
			return (long)off;
	}
	return -1;
}

/* How many bytes from p on one mapping of one file covers: what a shmat
 * that returned p mapped (0 if p is not mapped). */
static size_t mapped_from(const void *p)
{
	uintptr_t a = (uintptr_t)p, end = 0, want_off = 0;
	unsigned long long ino = 0, i;
	char line[512], dev[32], d[32];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return (size_t)-1;	/* cannot tell: trust it */
	while (fgets(line, sizeof(line), f)) {
		unsigned long s0, e0, off;

		if (sscanf(line, "%lx-%lx %*s %lx %31s %llu", &s0, &e0, &off, d,
			   &i) != 5)
			continue;
		if (!end && a >= s0 && a < e0) {
			end = e0;
			ino = i;
			snprintf(dev, sizeof(dev), "%s", d);
			want_off = off + (e0 - s0);
		} else if (end && s0 == end && i == ino && !strcmp(d, dev) &&
			   off == want_off) {
			end = e0;	/* one file, split by protection */
			want_off += e0 - s0;
		} else if (end) {
			break;
		}
	}
	fclose(f);
	return end ? end - a : 0;
}

/* An error from a call on the victim's own live segment: allowed, but
 * EIDRM says the segment was removed, which only the victim may do: a lie
 * about its state.  (EINVAL may come from the world-writable id table.) */
static void judge_seg_error(struct victim *vi, struct vm *m, const char *what,
			    int e)
{
	if (e == EIDRM)
		vfail(vi, "seg-removed", "%s(%s) says EIDRM: removed, but the "
		      "victim did not remove it", what, m->what);
}

static void op_shm(struct victim *vi, struct vm *m)
{
	int rdonly = chance(&vi->rng, 25) && m->written, r, e;
	unsigned char *p;
	long bad;

	if (m->id < 0)
		return;
	begin(vi, "shmat(%s%s)", m->what, rdonly ? ", SHM_RDONLY" : "");
	p = uipc_shmat(m->id, NULL, rdonly ? SHM_RDONLY : 0);
	e = errno;
	end(vi, C_SHMAT, p == (void *)-1, e);
	if (p == (void *)-1) {
		judge_seg_error(vi, m, "shmat", e);
		return;
	}
	if (mapped_from(p) < m->size) {
		/* Touching it would read or write memory that is not the
		 * segment: not done, but told. */
		vfail(vi, "shmat-short",
		      "shmat(%s) mapped %zu bytes of a %zu-byte segment",
		      m->what, mapped_from(p), m->size);
		goto out_dt;
	}
	doing(vi, "reading the bytes of %s, attached", m->what);
	if (m->written && (bad = seg_check(vi, p, m->size, m->seq)) >= 0) {
		vfail(vi, "seg-bytes",
		      "%s: bytes at %ld are not what the victim wrote there",
		      m->what, bad);
		m->written = 0;
	}
	if (!rdonly) {
		unsigned char b[32];
		uint32_t seq = ++vi->seq;

		doing(vi, "writing the bytes of %s, attached", m->what);
		for (size_t off = 0; off < m->size; off += 32) {
			seg_block(vi, b, seq, (uint32_t)off);
			memcpy(p + off, b, 32);
		}
		doing(vi, "reading back the bytes of %s, attached", m->what);
		if ((bad = seg_check(vi, p, m->size, seq)) >= 0)
			vfail(vi, "seg-bytes",
			      "%s: bytes at %ld changed right after the victim "
			      "wrote them",
			      m->what, bad);
		m->seq = seq;
		m->written = 1;
	}
out_dt:
	begin(vi, "shmdt(%s)", m->what);
	r = uipc_shmdt(p);
	e = errno;
	end(vi, C_SHMDT, r < 0, e);
	vi->rep->segs++;
}

static void check_perm(struct victim *vi, const char *what,
		       const struct ipc_perm *p, key_t key)
{
	if (p->uid != vi->uid || p->cuid != vi->uid || p->gid != vi->gid ||
	    p->cgid != vi->gid || (p->mode & 0777) != 0600 || p->__key != key)
		vfail(vi, "stat-owner",
		      "IPC_STAT(%s) shows uid %u cuid %u gid %u cgid %u mode "
		      "%o key %#x, not the victim's (%u %u %u %u 600 %#x)",
		      what, p->uid, p->cuid, p->gid, p->cgid, p->mode & 0777,
		      (unsigned)p->__key, vi->uid, vi->uid, vi->gid, vi->gid,
		      (unsigned)key);
}

static void stat_queue(struct victim *vi, struct vq *q)
{
	int r, e;

	begin(vi, "msgctl(%s, IPC_STAT)", q->what);
	r = uipc_msgctl(q->id, IPC_STAT, &io.u.mq);
	e = errno;
	end(vi, C_MSGCTL, r < 0, e);
	if (r < 0) {
		q->erred = 1;
		return;
	}
	check_perm(vi, q->what, &io.u.mq.msg_perm, q->key);
	if (!q->erred && io.u.mq.msg_qnum != (msgqnum_t)q->nout)
		vfail(vi, "stat-qnum", "IPC_STAT(%s) shows %lu messages, the "
		      "victim has %d there", q->what,
		      (unsigned long)io.u.mq.msg_qnum, q->nout);
}

static void stat_set(struct victim *vi, struct vs *s)
{
	int r, e;

	begin(vi, "semctl(%s, IPC_STAT)", s->what);
	r = uipc_semctl(s->id, 0, IPC_STAT, &io.u.sd);
	e = errno;
	end(vi, C_SEMCTL, r < 0, e);
	if (r < 0)
		return;
	check_perm(vi, s->what, &io.u.sd.sem_perm, s->key);
	if (io.u.sd.sem_nsems != 2)
		vfail(vi, "stat-nsems", "IPC_STAT(%s) shows %lu semaphores, "
		      "not 2", s->what, (unsigned long)io.u.sd.sem_nsems);
}

static void stat_seg(struct victim *vi, struct vm *m)
{
	int r, e;

	begin(vi, "shmctl(%s, IPC_STAT)", m->what);
	r = uipc_shmctl(m->id, IPC_STAT, &io.u.sh);
	e = errno;
	end(vi, C_SHMCTL, r < 0, e);
	if (r < 0) {
		judge_seg_error(vi, m, "IPC_STAT", e);
		return;
	}
	check_perm(vi, m->what, &io.u.sh.shm_perm, m->key);
	if (io.u.sh.shm_segsz != m->size)
		vfail(vi, "stat-size", "IPC_STAT(%s) shows size %zu, not %zu",
		      m->what, (size_t)io.u.sh.shm_segsz, m->size);
	/* The victim is one process, attached only inside op_shm. */
	if (io.u.sh.shm_nattch != 0)
		vfail(vi, "stat-nattch", "IPC_STAT(%s) shows %lu attachments, "
		      "the victim has none", m->what,
		      (unsigned long)io.u.sh.shm_nattch);
	if (io.u.sh.shm_perm.mode & SHM_DEST)
		vfail(vi, "stat-dest", "IPC_STAT(%s) shows SHM_DEST, the "
		      "victim did not remove it", m->what);
	if (io.u.sh.shm_cpid != getpid() ||
	    (io.u.sh.shm_lpid != 0 && io.u.sh.shm_lpid != getpid()))
		vfail(vi, "stat-pids", "IPC_STAT(%s) shows cpid %d lpid %d, "
		      "the victim (%d) is the only user", m->what,
		      (int)io.u.sh.shm_cpid, (int)io.u.sh.shm_lpid, (int)getpid());
}

static void op_stat(struct victim *vi)
{
	for (int i = 0; i < 2; i++) {
		if (vi->q[i].id >= 0)
			stat_queue(vi, &vi->q[i]);
		if (vi->s[i].id >= 0)
			stat_set(vi, &vi->s[i]);
		if (vi->m[i].id >= 0)
			stat_seg(vi, &vi->m[i]);
	}
}

/* Key lookups gave id got, not own: do what a program would with it,
 * which puts the victim's secret where the attacker may look. */
static void use_hijacked(struct victim *vi, int kind, int got)
{
	unsigned char b[32];
	char *p;
	int r, e;

	if (kind == UIPC_MSG) {
		size_t len = make_msg(vi, 0);

		begin(vi, "msgsnd(the queue its key gave, %d)", got);
		r = uipc_msgsnd(got, &io.u.m, len, IPC_NOWAIT);
		e = errno;
		end(vi, C_MSGSND, r < 0, e);
	} else if (kind == UIPC_SHM) {
		begin(vi, "shmat(the segment its key gave, %d)", got);
		p = uipc_shmat(got, NULL, 0);
		e = errno;
		end(vi, C_SHMAT, p == (void *)-1, e);
		if (p == (void *)-1)
			return;
		doing(vi, "writing the segment its key gave");
		if (mapped_from(p) < 32)
			return;
		seg_block(vi, b, 0, 0);
		memcpy(p, b, 32);
		begin(vi, "shmdt(the segment its key gave)");
		r = uipc_shmdt(p);
		e = errno;
		end(vi, C_SHMDT, r < 0, e);
	}
}

static void judge_lookup(struct victim *vi, int kind, const char *what,
			 key_t key, int own, int got, int e)
{
	vi->rep->lookups++;
	if (got == own)
		return;
	if (got >= 0) {
		vfail(vi, "key-redirected",
		      "%s(key %#x) gave id %d, not the victim's own %d: its "
		      "key was redirected",
		      what, (unsigned)key, got, own);
		use_hijacked(vi, kind, got);
	} else if (e == ENOENT) {
		vfail(vi, "key-lost",
		      "%s(key %#x) says ENOENT for the victim's live key", what,
		      (unsigned)key);
	}
}

static void op_lookup(struct victim *vi)
{
	int flg = chance(&vi->rng, 50) ? 0 : 0600, id, e;
	struct vq *q = &vi->q[0];
	struct vs *s = &vi->s[0];
	struct vm *m = &vi->m[0];

	if (q->id >= 0) {
		begin(vi, "msgget(key %#x, %o)", (unsigned)q->key, flg);
		id = uipc_msgget(q->key, flg);
		e = errno;
		end(vi, C_MSGGET, id < 0, e);
		judge_lookup(vi, UIPC_MSG, "msgget", q->key, q->id, id, e);
	}
	if (s->id >= 0) {
		begin(vi, "semget(key %#x, %o)", (unsigned)s->key, flg);
		id = uipc_semget(s->key, chance(&vi->rng, 50) ? 2 : 0, flg);
		e = errno;
		end(vi, C_SEMGET, id < 0, e);
		judge_lookup(vi, UIPC_SEM, "semget", s->key, s->id, id, e);
	}
	if (m->id >= 0) {
		begin(vi, "shmget(key %#x, %o)", (unsigned)m->key, flg);
		id = uipc_shmget(m->key, chance(&vi->rng, 50) ? m->size : 0,
				 flg);
		e = errno;
		end(vi, C_SHMGET, id < 0, e);
		judge_lookup(vi, UIPC_SHM, "shmget", m->key, m->id, id, e);
	}
}

/* A private object of some kind made, used once and removed: creation
 * and removal under attack too.  Errors are allowed; what is read back
 * must be what was put there. */
static void op_churn(struct victim *vi)
{
	struct sembuf sop = { 0, 3, 0 };
	unsigned char *p;
	int id, r, e;

	switch (below(&vi->rng, 3)) {
	case 0: {
		struct vq q = { .what = "new private queue",
				.key = IPC_PRIVATE };

		begin(vi, "msgget(%s, create)", q.what);
		q.id = uipc_msgget(IPC_PRIVATE, 0600);
		e = errno;
		end(vi, C_MSGGET, q.id < 0, e);
		if (q.id < 0)
			return;
		op_msg(vi, &q);
		op_msg(vi, &q);
		begin(vi, "msgctl(%s, IPC_RMID)", q.what);
		r = uipc_msgctl(q.id, IPC_RMID, NULL);
		e = errno;
		end(vi, C_MSGCTL, r < 0, e);
		break;
	}
	case 1:
		begin(vi, "semget(new private set, create)");
		id = uipc_semget(IPC_PRIVATE, 1, 0600);
		e = errno;
		end(vi, C_SEMGET, id < 0, e);
		if (id < 0)
			return;
		begin(vi, "semop(new private set)");
		r = uipc_semop(id, &sop, 1);
		e = errno;
		end(vi, C_SEMOP, r < 0, e);
		if (r == 0) {
			begin(vi, "semctl(new private set, GETVAL)");
			r = uipc_semctl(id, 0, GETVAL);
			e = errno;
			end(vi, C_SEMCTL, r < 0, e);
			if (r >= 0 && r != 3)
				vfail(vi, "sem-value",
				      "a new set given 3 holds %d", r);
		}
		begin(vi, "semctl(new private set, IPC_RMID)");
		r = uipc_semctl(id, 0, IPC_RMID);
		e = errno;
		end(vi, C_SEMCTL, r < 0, e);
		break;
	default:
		begin(vi, "shmget(new private segment, create)");
		id = uipc_shmget(IPC_PRIVATE, 4096, 0600);
		e = errno;
		end(vi, C_SHMGET, id < 0, e);
		if (id < 0)
			return;
		begin(vi, "shmat(new private segment)");
		p = uipc_shmat(id, NULL, 0);
		e = errno;
		end(vi, C_SHMAT, p == (void *)-1, e);
		if (p != (void *)-1) {
			unsigned char b[32];
			long bad = -1;

			if (mapped_from(p) < 4096) {
				vfail(vi, "shmat-short",
				      "shmat(a new segment) mapped %zu bytes "
				      "of 4096",
				      mapped_from(p));
			} else {
				doing(vi, "using the bytes of a new segment");
				for (size_t off = 0; off < 4096 && bad < 0;
				     off += 32)
					for (int k = 0; k < 32; k++)
						if (p[off + (size_t)k])
							bad = (long)off;
				if (bad >= 0)
					vfail(vi, "seg-bytes",
					      "a new segment is not zeros at "
					      "%ld",
					      bad);
				seg_block(vi, b, 0, 0);
				memcpy(p, b, 32);
			}
			begin(vi, "shmdt(new private segment)");
			r = uipc_shmdt(p);
			e = errno;
			end(vi, C_SHMDT, r < 0, e);
		}
		begin(vi, "shmctl(new private segment, IPC_RMID)");
		r = uipc_shmctl(id, IPC_RMID, NULL);
		e = errno;
		end(vi, C_SHMCTL, r < 0, e);
		break;
	}
}

static void victim_setup(struct victim *vi)
{
	int e;

	vi->q[0] = (struct vq){ .what = "keyed queue",
				.key = victim_key(vi->v, UIPC_MSG) };
	vi->q[1] = (struct vq){ .what = "private queue", .key = IPC_PRIVATE };
	vi->s[0] = (struct vs){ .what = "keyed set",
				.key = victim_key(vi->v, UIPC_SEM) };
	vi->s[1] = (struct vs){ .what = "private set", .key = IPC_PRIVATE };
	vi->m[0] = (struct vm){ .what = "keyed segment", .size = 8192,
				.key = victim_key(vi->v, UIPC_SHM) };
	vi->m[1] = (struct vm){ .what = "private segment", .size = 16384,
				.key = IPC_PRIVATE };
	for (int i = 0; i < 2; i++) {
		int excl =
			vi->q[i].key != IPC_PRIVATE ? IPC_CREAT | IPC_EXCL : 0;

		begin(vi, "msgget(%s, create)", vi->q[i].what);
		vi->q[i].id = uipc_msgget(vi->q[i].key, excl | 0600);
		e = errno;
		end(vi, C_MSGGET, vi->q[i].id < 0, e);
		begin(vi, "semget(%s, create)", vi->s[i].what);
		vi->s[i].id = uipc_semget(vi->s[i].key, 2, excl | 0600);
		e = errno;
		end(vi, C_SEMGET, vi->s[i].id < 0, e);
		begin(vi, "shmget(%s, create)", vi->m[i].what);
		vi->m[i].id =
			uipc_shmget(vi->m[i].key, vi->m[i].size, excl | 0600);
		e = errno;
		end(vi, C_SHMGET, vi->m[i].id < 0, e);
	}
}

static void victim_finish(struct victim *vi)
{
	int r, e;

	for (int i = 0; i < 2; i++) {
		struct vq *q = &vi->q[i];

		while (q->id >= 0 && q->nout) {
			ssize_t n;

			memset(io.u.m.mtext, FILL_BYTE, MSG_MAX);
			begin(vi, "msgrcv(%s, IPC_NOWAIT), draining", q->what);
			n = uipc_msgrcv(q->id, &io.u.m, MSG_MAX, 0, IPC_NOWAIT);
			e = errno;
			end(vi, C_MSGRCV, n < 0, e);
			judge_received(vi, q, n, e);
			if (n < 0)
				break;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (vi->q[i].id >= 0) {
			begin(vi, "msgctl(%s, IPC_RMID)", vi->q[i].what);
			r = uipc_msgctl(vi->q[i].id, IPC_RMID, NULL);
			e = errno;
			end(vi, C_MSGCTL, r < 0, e);
		}
		if (vi->s[i].id >= 0) {
			begin(vi, "semctl(%s, IPC_RMID)", vi->s[i].what);
			r = uipc_semctl(vi->s[i].id, 0, IPC_RMID);
			e = errno;
			end(vi, C_SEMCTL, r < 0, e);
		}
		if (vi->m[i].id >= 0) {
			begin(vi, "shmctl(%s, IPC_RMID)", vi->m[i].what);
			r = uipc_shmctl(vi->m[i].id, IPC_RMID, NULL);
			e = errno;
			end(vi, C_SHMCTL, r < 0, e);
		}
	}
}

static int victim_main(struct victim *vi)
{
	memset(io.pre, GUARD_BYTE, GUARD);
	memset(io.post, GUARD_BYTE, GUARD);
	for (size_t i = 0; i < sizeof(g_target); i++)
		g_target[i] = target_byte(i);
	doing(vi, "dropping privileges");
	if (vi->uid && drop_to(vi->uid, vi->gid) < 0) {
		vfail(vi, "setup", "could not become uid %u: %s", vi->uid,
		      strerror(errno));
		return 1;
	}
	victim_setup(vi);
	op_stat(vi);
	for (unsigned i = 0; now_ns() < vi->deadline; i++) {
		int j = (int)(i / 6) % 2;

		switch (i % 6) {
		case 0: op_msg(vi, &vi->q[j]); break;
		case 1: op_sem(vi, &vi->s[j]); break;
		case 2: op_shm(vi, &vi->m[j]); break;
		case 3: op_stat(vi); break;
		case 4: op_lookup(vi); break;
		default:
			if (i % 24 == 5)
				op_churn(vi);
			break;
		}
	}
	victim_finish(vi);
	doing(vi, "exiting");
	check_memory(vi);
	return 0;
}

/* ---- the attacker ------------------------------------------------------ */

struct vobj {
	int kind, id;
};

struct vproc {
	uint32_t slot;
	pid_t pid;
};

struct atk {
	uint64_t rng;
	int round, dir_round;
	int dirfd;
	int64_t start, deadline;
	struct areport *rep;
	unsigned char *ns;	/* the namespace file, mapped */
	unsigned char *hdr;	/* the last segment header it could map */
	int hdr_id;
	struct vobj vobj[64];
	int nvobj;
	struct vproc vproc[32];
	int nvproc;
	int max_shm_idx;
	pid_t caller;
	long actions;
	int left[3];		/* a lock word left as set: ns, hdr, life */
};

static sigjmp_buf g_ajb;
static volatile sig_atomic_t g_aguard;

/* The attacker's own mappings of files it truncates may fault: that ends
 * the action, not the attacker. */
static void a_fault(int sig)
{
	if (g_aguard)
		siglongjmp(g_ajb, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void abreach(struct atk *a, const char *cat, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What the attacker could do and must not: as vfail(), from two
 * processes (a kind may then be told twice). */
static void abreach(struct atk *a, const char *cat, const char *fmt, ...)
{
	struct fcat *c = NULL;
	va_list ap;
	int i;

	atomic_fetch_add(&a->rep->breaches, 1);
	for (i = 0; i < atomic_load(&a->rep->ncat) && i < MAXCAT; i++)
		if (!strcmp(a->rep->cat[i].cat, cat))
			c = &a->rep->cat[i];
	if (!c && (i = atomic_fetch_add(&a->rep->ncat, 1)) < MAXCAT) {
		c = &a->rep->cat[i];
		va_start(ap, fmt);
		vsnprintf(c->first, sizeof(c->first), fmt, ap);
		va_end(ap);
		snprintf(c->cat, sizeof(c->cat), "%s", cat);
	}
	if (c)
		__atomic_fetch_add(&c->n, 1, __ATOMIC_RELAXED);
}

/* Keeps every secret-looking window of what the attacker read. */
static void loot_scan(struct atk *a, const void *buf, size_t n, const char *src)
{
	const unsigned char *p = buf, *e = p + n, *hit;

	while (p + 16 <= e && (hit = memmem(p, (size_t)(e - p), TAG, 8))) {
		int i;

		if (hit + 16 > e)
			break;
		for (i = 0; i < atomic_load(&a->rep->nloot) && i < MAXLOOT; i++)
			if (!memcmp(a->rep->loot[i].bytes, hit, 16))
				break;
		if (i == atomic_load(&a->rep->nloot) &&
		    (i = atomic_fetch_add(&a->rep->nloot, 1)) < MAXLOOT) {
			snprintf(a->rep->loot[i].src,
				 sizeof(a->rep->loot[i].src), "%s", src);
			memcpy(a->rep->loot[i].bytes, hit, 16);
		}
		p = hit + 16;
	}
}

static const char *const outside_name[3] = { "root-secret", "passwd",
					     "daemon-secret" };

static const char *outside_path(int i)
{
	static char buf[3][300];

	snprintf(buf[i], sizeof(buf[i]), "%s/%s", g_outdir, outside_name[i]);
	return buf[i];
}

static void a_map(struct atk *a)
{
	int fd;

	if (a->ns)
		munmap(a->ns, sizeof(struct uipc_ns));
	if (a->hdr)
		munmap(a->hdr, SHM_ENTRY);
	a->ns = a->hdr = NULL;
	fd = openat(a->dirfd, "ns", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		a->ns = mmap(NULL, sizeof(struct uipc_ns),
			     PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (a->ns == MAP_FAILED)
			a->ns = NULL;
		close(fd);
	}
}

static struct uipc_ns *NS(struct atk *a)
{
	return (struct uipc_ns *)(void *)a->ns;
}

/* The header of segment id, mapped from its file if the attacker can
 * open that, else NULL.  A victim's file must refuse it: one that opens is
 * a breach (the header would be the attacker's to forge).  The last one
 * mapped is kept. */
static struct ta_shm_hdr *hdr_of(struct atk *a, int id)
{
	struct stat st;
	char name[64];
	void *p = MAP_FAILED;
	int fd;

	if (a->hdr && a->hdr_id == id)
		return (struct ta_shm_hdr *)(void *)a->hdr;
	snprintf(name, sizeof(name), "shm.%d", id);
	fd = openat(a->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0) {
		if (st.st_uid != ATTACKER_UID && !a->dir_round)
			abreach(a, "open-victim-header",
				"the attacker could open the victim's segment "
				"file %s (mode %o), its header included",
				name, (unsigned)(st.st_mode & 07777));
		if (st.st_size >= SHM_ENTRY)
			p = mmap(NULL, SHM_ENTRY, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
	}
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	if (a->hdr)
		munmap(a->hdr, SHM_ENTRY);
	a->hdr = p;
	a->hdr_id = id;
	return p;
}

/* The header of the segment the id table names at idx (as hdr_of). */
static struct ta_shm_hdr *HDR(struct atk *a, int idx)
{
	uint32_t s = NS(a) ? NS(a)->ids[UIPC_SHM].slot[idx] : 0;

	return s ? hdr_of(a, (int)((s - 1) & INT_MAX)) : NULL;
}


static uid_t file_uid(struct atk *a, int kind, int id)
{
	char name[64];
	struct stat st;

	snprintf(name, sizeof(name), "%s.%d", uipc_kind_name[kind], id);
	if (fstatat(a->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (uid_t)-1;
	return st.st_uid;
}

/* What the namespace says about the victims: their objects (files not
 * ours) and their live process entries. */
static void a_learn(struct atk *a)
{
	struct uipc_ns *ns = NS(a);

	a->nvobj = 0;
	a->nvproc = 0;
	a->max_shm_idx = 0;
	if (!ns)
		return;
	for (int k = 0; k < UIPC_NKINDS; k++)
		for (int i = 0; i < UIPC_IPCMNI && a->nvobj < 64; i++) {
			uint32_t s = ns->ids[k].slot[i];
			int id = (int)((s - 1) & INT_MAX);
			uid_t u;

			if (!s)
				continue;
			if (k == UIPC_SHM && i > a->max_shm_idx)
				a->max_shm_idx = i;
			u = file_uid(a, k, id);
			if (u != (uid_t)-1 && u != ATTACKER_UID)
				a->vobj[a->nvobj++] = (struct vobj){ k, id };
		}
	for (uint32_t i = 0; i < UIPC_MAXPROC && a->nvproc < 32; i++) {
		struct uipc_proc *p = &ns->proc[i];

		if ((p->stamp & 1) && p->uid != ATTACKER_UID && p->pid > 0)
			a->vproc[a->nvproc++] = (struct vproc){ i, p->pid };
	}
}

__attribute__((unused))
static int is_victim_pid(struct atk *a, pid_t pid)
{
	if (pid == getpid() || pid == a->caller || pid <= 0)
		return 0;
	for (int i = 0; i < a->nvproc; i++)
		if (a->vproc[i].pid == pid)
			return 1;
	return 0;
}

/* A victim object of kind (or any kind, -1), or NULL. */
static struct vobj *pick_vobj(struct atk *a, int kind)
{
	int n = 0, pick;

	for (int i = 0; i < a->nvobj; i++)
		n += kind < 0 || a->vobj[i].kind == kind;
	if (!n)
		return NULL;
	pick = (int)below(&a->rng, (uint64_t)n);
	for (int i = 0; i < a->nvobj; i++)
		if ((kind < 0 || a->vobj[i].kind == kind) && pick-- == 0)
			return &a->vobj[i];
	return NULL;
}

/* A live victim's process entry, or NULL. */
static struct uipc_proc *pick_vproc(struct atk *a)
{
	if (!a->ns || !a->nvproc)
		return NULL;
	return &NS(a)->proc[a->vproc[below(&a->rng, (uint64_t)a->nvproc)].slot];
}

/* The id slot of victim object o. */
static uint32_t *vslot(struct atk *a, const struct vobj *o)
{
	return &NS(a)->ids[o->kind].slot[o->id % UIPC_IPCMNI];
}

/* The index the j-th next object of kind will take (if free). */
static int next_idx(struct atk *a, int kind, int j)
{
	uint32_t last = (uint32_t)NS(a)->ids[kind].last_idx;	/* forgeable */

	return (int)((last + (uint32_t)j) & (UIPC_IPCMNI - 1));
}

/* The header of the jth next segment's file, of the current seq or the
 * next (q 0 or 1), the moment it exists (as hdr_of). */
static struct ta_shm_hdr *next_hdr(struct atk *a, int j, int q)
{
	int64_t id = (int64_t)((NS(a)->ids[UIPC_SHM].seq & 0xffff) + q) *
		     UIPC_IPCMNI + next_idx(a, UIPC_SHM, j);

	return id > INT_MAX ? NULL : hdr_of(a, (int)id);
}

/* Random bytes, zeros or 0xff into [p, p + len). */
static void scribble(struct atk *a, unsigned char *p, size_t len)
{
	size_t off, n;

	if (!len)
		return;
	switch (below(&a->rng, 3)) {
	case 0:
		for (int i = 0, k = 1 + (int)below(&a->rng, 16); i < k; i++)
			p[below(&a->rng, len)] =
				(unsigned char)splitmix(&a->rng);
		break;
	default:
		off = below(&a->rng, len);
		n = 1 + below(&a->rng, len - off < 256 ? len - off : 256);
		memset(p + off, below(&a->rng, 2) ? 0 : 0xff, n);
		break;
	}
}

static uint32_t garbage32(struct atk *a)
{
	static const uint32_t v[] = { 0, 1, 2, 0x7fffffff, 0x80000000u,
				      0xffffffffu, 0x10000, 32767, 32768,
				      65535 };
	size_t n = sizeof(v) / sizeof(v[0]);

	return chance(&a->rng, 50) ? v[below(&a->rng, n)] :
				     (uint32_t)splitmix(&a->rng);
}

static int64_t garbage64(struct atk *a)
{
	static const int64_t v[] = { 0, -1, 1, INT32_MAX, INT64_MAX, INT64_MIN,
				     (int64_t)1 << 32, 4096 };
	size_t n = sizeof(v) / sizeof(v[0]);

	return chance(&a->rng, 60) ? v[below(&a->rng, n)] :
				     (int64_t)splitmix(&a->rng);
}

/* "msg.<id>", "sem.<id>", "shm.<id>": an object's file. */
static int is_obj_name(const char *name)
{
	for (int k = 0; k < UIPC_NKINDS; k++) {
		size_t l = strlen(uipc_kind_name[k]);

		if (!strncmp(name, uipc_kind_name[k], l) && name[l] == '.' &&
		    name[l + 1] >= '0' && name[l + 1] <= '9')
			return 1;
	}
	return 0;
}

/* Writes what it can into every regular file it can open in the
 * namespace, and reads every one it can (a victim's must refuse). */
static void every_file(struct atk *a, int write_them)
{
	int dfd = dup(a->dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	static unsigned char buf[65536];

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	rewinddir(d);	/* the offset is shared with a->dirfd's */
	while ((de = readdir(d))) {
		struct stat st;
		int fd, victims;

		if (de->d_name[0] == '.' ||
		    fstatat(a->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		victims = st.st_uid != ATTACKER_UID && is_obj_name(de->d_name);
		fd = openat(a->dirfd, de->d_name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && victims)
			abreach(a, "open-victim-file",
				"bytes: the attacker could open the victim's "
				"file %s (mode %o) for reading",
				de->d_name, st.st_mode & 07777);
		if (fd >= 0 && strcmp(de->d_name, "ns")) {
			ssize_t n = pread(fd, buf, sizeof(buf), 0);

			if (n > 0)
				loot_scan(a, buf, (size_t)n, de->d_name);
		}
		if (fd >= 0)
			close(fd);
		if (!write_them)
			continue;
		fd = openat(a->dirfd, de->d_name,
			    O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (victims)
			abreach(a, "open-victim-file",
				"bytes: the attacker could open the victim's "
				"file %s for writing",
				de->d_name);
		if (st.st_size > 0) {
			unsigned char junk[16];

			for (size_t i = 0; i < sizeof(junk); i++)
				junk[i] = (unsigned char)splitmix(&a->rng);
			pwrite(fd, junk, 1 + below(&a->rng, sizeof(junk)),
			       (off_t)below(&a->rng, (uint64_t)st.st_size));
		}
		close(fd);
	}
	closedir(d);
}

/* ---- the attack moves --------------------------------------------------
 * Each class is a set of moves, selectable one by one ("forge.proc-dead")
 * so that a fix can be checked against the move that showed its bug. */
struct move {
	int cls;
	const char *name;
};
static const struct move moves[] = {
	{ A_BYTES, "every" }, { A_BYTES, "ns-header" },
	{ A_BYTES, "ns-counters" }, { A_BYTES, "ns-slot" },
	{ A_BYTES, "ns-proc" }, { A_BYTES, "ns-any" },
	{ A_BYTES, "hdr-entry" }, { A_BYTES, "hdr-att" },
	{ A_BYTES, "hdr-any" },
	{ A_TRUNC, "ns" }, { A_TRUNC, "headers" }, { A_TRUNC, "own" },
	{ A_TRUNC, "extend" }, { A_TRUNC, "flicker" },
	{ A_LINKS, "tmpnames" }, { A_LINKS, "nextids" },
	{ A_LINKS, "keys" }, { A_LINKS, "rename" }, { A_LINKS, "outside" },
	{ A_FORGE, "slot-zero" }, { A_FORGE, "slot-stale" },
	{ A_FORGE, "slot-phantom" }, { A_FORGE, "counters" },
	{ A_FORGE, "limits" }, { A_FORGE, "magic" },
	{ A_FORGE, "proc-dead" }, { A_FORGE, "proc-gen" },
	{ A_FORGE, "proc-pid" }, { A_FORGE, "proc-uses" },
	{ A_FORGE, "proc-uid" }, { A_FORGE, "proc-fake" },
	{ A_FORGE, "hdr-owner" }, { A_FORGE, "hdr-state" },
	{ A_FORGE, "hdr-removed" }, { A_FORGE, "hdr-id" },
	{ A_FORGE, "hdr-key" }, { A_FORGE, "hdr-kind" },
	{ A_FORGE, "hdr-hdrsize" }, { A_FORGE, "hdr-segsz" },
	{ A_FORGE, "hdr-atthwm" }, { A_FORGE, "hdr-att" },
	{ A_FORGE, "hdr-units" }, { A_FORGE, "hdr-next" },
	{ A_LOCKS, "held" }, { A_LOCKS, "victim" }, { A_LOCKS, "garbage" },
	{ A_LOCKS, "owner-died" }, { A_LOCKS, "zero" }, { A_LOCKS, "ones" },
	{ A_LOCKS, "bytes" }, { A_LOCKS, "kind" }, { A_LOCKS, "owner" },
	{ A_LOCKS, "aim" }, { A_LOCKS, "claim" },
	{ A_CALLS, "ops" }, { A_CALLS, "squat" },
	{ A_DIR, "seg" }, { A_DIR, "keys" }, { A_DIR, "read" },
};
#define NMOVES ((int)(sizeof(moves) / sizeof(moves[0])))
_Static_assert(sizeof(moves) / sizeof(moves[0]) <= 64, "a move mask");
static uint64_t g_moves;	/* the moves of this run */
static unsigned g_lock_at = 7;	/* TA_LOCK_AT: 1 ns, 2 hdr, 4 life */

/* The index of a move among its class's. */
static __attribute__((noinline)) int move_sub(int m)
{
	int n = 0;

	for (int i = 0; i < m; i++)
		n += moves[i].cls == moves[m].cls;
	return n;
}

static int move_on(int cls, int sub)
{
	for (int i = 0, n = 0; i < NMOVES; i++)
		if (moves[i].cls == cls && n++ == sub)
			return (int)(g_moves >> i & 1);
	return 0;
}

static int class_on(int cls)
{
	for (int i = 0; i < NMOVES; i++)
		if (moves[i].cls == cls && (g_moves >> i & 1))
			return 1;
	return 0;
}

static void act_bytes(struct atk *a, int sub)
{
	struct uipc_ns *ns = NS(a);
	struct uipc_proc *p;
	struct vobj *o;

	struct ta_shm_hdr *g;

	if (sub >= 1 && !ns)
		return;
	switch (sub) {
	case 0:
		every_file(a, 1);
		break;
	case 1:		/* the header, the lock, the limits */
		scribble(a, a->ns, offsetof(struct uipc_ns, ids));
		break;
	case 2:		/* a kind's counters */
		scribble(a, (unsigned char *)&ns->ids[below(&a->rng, 3)],
			 offsetof(struct uipc_ids, slot));
		break;
	case 3:		/* a victim's slot */
		if ((o = pick_vobj(a, -1)))
			scribble(a, (unsigned char *)vslot(a, o), 4);
		break;
	case 4:		/* a victim's process entry */
		if ((p = pick_vproc(a)))
			scribble(a, (unsigned char *)p, sizeof(*p));
		break;
	case 5:
		scribble(a, a->ns, sizeof(struct uipc_ns));
		break;
	case 6: /* a victim's segment header, its attach entries */
	case 7:
		if ((o = pick_vobj(a, UIPC_SHM)) &&
		    (g = HDR(a, o->id % UIPC_IPCMNI)))
			scribble(a, (unsigned char *)g,
				 sub == 6 ? offsetof(struct ta_shm_hdr, att)
					  : sizeof(struct ta_shm_hdr));
		break;
	default:	/* any segment's */
		if ((g = HDR(a, (int)below(&a->rng,
					     (uint64_t)a->max_shm_idx + 1))))
			scribble(a, (unsigned char *)g, SHM_ENTRY);
		break;
	}
}

/* Shrinking the shared table ends most rounds at once: only after 40%
 * of the round, so that the rest is exercised first.  A victim's segment
 * file ("headers") must refuse. */
static void act_trunc(struct atk *a, int sub)
{
	struct vobj *o;
	int late = now_ns() - a->start > g_round_ns * 2 / 5;
	char name[64];
	struct stat st;
	off_t to;
	int fd, which = sub <= 1 ? sub : sub == 2 ? 2 : (int)below(&a->rng, 3);

	if (sub == 4)
		which = (int)below(&a->rng, 2);
	if (which == 0) {
		snprintf(name, sizeof(name), "ns");
	} else if (which == 1) {
		if (!(o = pick_vobj(a, UIPC_SHM)))
			return;
		snprintf(name, sizeof(name), "shm.%d", o->id);
	} else {
		int k = (int)below(&a->rng, 3);
		int id = atomic_load(&a->rep->own[k][0]) - 1;

		if (id < 0)
			return;
		snprintf(name, sizeof(name), "%s.%d", uipc_kind_name[k], id);
	}
	fd = openat(a->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	if (which == 1 && st.st_uid != ATTACKER_UID && !a->dir_round)
		abreach(a, "open-victim-header",
			"trunc: the attacker could open the victim's segment "
			"file %s for writing", name);
	if (sub == 4) {		/* shrunk for a moment, then restored */
		if (late) {
			ftruncate(fd, st.st_size / 2);
			usleep((useconds_t)(1000 + below(&a->rng, 20000)));
			ftruncate(fd, st.st_size);
		}
		close(fd);
		return;
	}
	switch (sub == 3 || !late ? 4 : below(&a->rng, 4)) {
	case 0: to = 0; break;
	case 1: to = st.st_size / 2; break;
	case 2: to = 4096; break;
	case 3: to = st.st_size > 4096 ? st.st_size - 4096 : 0; break;
	default: to = st.st_size + 4096; break;
	}
	ftruncate(fd, to);
	close(fd);
}

static int ns_last_pid(void)
{
	char buf[32] = "";
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	return buf[0] ? atoi(buf) : (int)getpid();
}

/* A name uipc may create: a link to a victim's file outside, a hardlink
 * of it, or a file of the attacker's own. */
static void plant(struct atk *a, const char *name)
{
	int i = (int)below(&a->rng, 3), fd;

	switch (below(&a->rng, 4)) {
	case 0:
		if (linkat(AT_FDCWD, outside_path(i), a->dirfd, name, 0) == 0) {
			atomic_fetch_add(&a->rep->hardlinks, 1);
			break;
		}
		/* Refused (fs.protected_hardlinks): a symlink then. */
		__attribute__((fallthrough));
	case 1:
	case 2:
		if (symlinkat(outside_path(i), a->dirfd, name) == 0)
			atomic_fetch_add(&a->rep->planted, 1);
		break;
	default:
		fd = openat(a->dirfd, name,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0666);
		if (fd >= 0) {
			fchmod(fd, 0666);
			atomic_fetch_add(&a->rep->planted, 1);
			close(fd);
		}
		break;
	}
}

static void act_links(struct atk *a, int sub)
{
	struct uipc_ns *ns = NS(a);
	char name[96];
	int fd;

	switch (sub) {
	case 0: {	/* the temporary names of the namespace's files */
		int p = ns_last_pid();

		for (int i = 1; i <= 8; i++) {
			snprintf(name, sizeof(name), "tmp.ns.%d.0", p + i);
			plant(a, name);
			snprintf(name, sizeof(name), "tmp.limits.%d.0", p + i);
			plant(a, name);
		}
		break;
	}
	case 1:		/* the next ids of each kind */
		if (!ns)
			break;
		for (int k = 0; k < UIPC_NKINDS; k++)
			for (int j = 1; j <= 3; j++) {
				int idx = next_idx(a, k, j);
				int seq = ns->ids[k].seq & 0xffff;

				for (int64_t q = seq; q <= seq + 1; q++) {
					int64_t id = q * UIPC_IPCMNI + idx;

					if (id > INT_MAX)
						continue;
					snprintf(name, sizeof(name), "%s.%lld",
						 uipc_kind_name[k], (long long)id);
					plant(a, name);
				}
			}
		break;
	case 2:		/* the victims' keys */
		for (int v = 0; v < 2; v++)
			for (int k = 0; k < UIPC_NKINDS; k++) {
				snprintf(name, sizeof(name), "%s.k.%08x",
					 uipc_kind_name[k],
					 (unsigned)victim_key(v, k));
				if (chance(&a->rng, 50)) {
					symlinkat(outside_path((int)below(
							  &a->rng, 3)),
						  a->dirfd, name);
				} else {
					int id = atomic_load(
							 &a->rep->own[k][0]) -
						 1;
					char target[64];

					if (id < 0)
						continue;
					snprintf(target, sizeof(target),
						 "%s.%d", uipc_kind_name[k],
						 id);
					symlinkat(target, a->dirfd, name);
				}
			}
		break;
	case 3: {	/* its own files over the namespace's own */
		static const char *const t[] = { "ns", "limits" };

		if (a->dir_round)	/* it may: nothing to learn */
			break;
		snprintf(name, sizeof(name), "tmp.own.%d", (int)getpid());
		fd = openat(a->dirfd, name,
			    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0)
			break;
		close(fd);
		if (renameat(a->dirfd, name, a->dirfd, t[below(&a->rng, 2)]) ==
		    0)
			abreach(a, "rename-table",
				"links: the attacker renamed its own file over "
				"a file of root's namespace");
		unlinkat(a->dirfd, name, 0);
		a_map(a);
		break;
	}
	default:	/* what the victims' files outside let it do */
		for (int i = 0; i < 3; i++) {
			static unsigned char buf[4096];

			fd = open(outside_path(i), O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				ssize_t n = read(fd, buf, sizeof(buf));

				if (n > 0)
					loot_scan(a, buf, (size_t)n,
						  outside_name[i]);
				close(fd);
			}
			fd = open(outside_path(i), O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				abreach(a, "write-outside",
					"links: the attacker can write the "
					"victim's file %s outside the "
					"namespace",
					outside_name[i]);
				close(fd);
			}
		}
		break;
	}
}

static void act_forge(struct atk *a, int sub)
{
	struct uipc_ns *ns = NS(a);
	struct ta_shm_hdr *g;
	struct uipc_proc *p;
	struct vobj *o;
	int k = (int)below(&a->rng, 3);

	if (sub <= 11 && !ns)
		return;
	switch (sub) {
	case 0: /* a victim's slot cleared: its key looks left over */
		if ((o = pick_vobj(a, -1)))
			*vslot(a, o) = 0;
		return;
	case 1:		/* a victim's slot made stale */
		if ((o = pick_vobj(a, -1)))
			*vslot(a, o) = (uint32_t)o->id + 1 + UIPC_IPCMNI;
		return;
	case 2:		/* phantom objects */
		for (int i = 0; i < 4; i++)
			ns->ids[k].slot[below(&a->rng, UIPC_IPCMNI)] =
				garbage32(a);
		return;
	case 3:
		switch (below(&a->rng, 4)) {
		case 0: ns->ids[k].in_use = (int32_t)garbage32(a); break;
		case 1: ns->ids[k].units = garbage64(a); break;
		case 2: ns->ids[k].last_idx = (int32_t)garbage32(a); break;
		default: ns->ids[k].seq = (int32_t)garbage32(a); break;
		}
		return;
	case 4: {
		/* The limits live in a file of the owner's (0644): the kernel
		 * says whether the attacker may write it. */
		int64_t v = (int64_t)garbage64(a);
		char path[4300];
		int fd;

		snprintf(path, sizeof(path), "%s/limits", g_nsdir);
		fd = open(path, O_WRONLY);
		if (fd >= 0) {
			if (pwrite(fd, &v, sizeof(v), 8 + 8 * (off_t)below(&a->rng,
				   UL_NLIMITS)) < 0)
				perror("pwrite");
			close(fd);
		}
		return;
	}
	case 5:
		switch (below(&a->rng, 3)) {
		case 0: ns->magic = garbage32(a); break;
		case 1: ns->layout = garbage32(a); break;
		default: ns->size = garbage32(a); break;
		}
		return;
	case 11:	/* fake live processes with a victim's pid */
		if (!a->nvproc)
			return;
		for (int i = 0; i < 4; i++) {
			p = &ns->proc[below(&a->rng, UIPC_MAXPROC)];
			if (p->stamp & 1)
				continue;
			p->pid = pick_vproc(a)->pid;
			p->uses = 0xffffffffu;
			p->stamp = (uint64_t)garbage32(a) << 1 | 1;
		}
		return;
	}
	if (sub <= 10) {	/* a live victim's process entry */
		if (!(p = pick_vproc(a)))
			return;
		switch (sub) {
		case 6: p->stamp ^= 1; break;		/* looks dead */
		case 7: p->stamp += 2; break;	/* another generation */
		case 8: p->pid = (int32_t)garbage32(a); break;
		case 9: p->uses = 0xffffffffu; break;
		default: p->uid = ATTACKER_UID; break;
		}
		return;
	}
	if (sub == 23) { /* the next segments' headers, while they are made */
		int64_t until = now_ns() + 2000000;

		while (now_ns() < until)
			for (int j = 1; j <= 4; j++)
				for (int q = 0; q < 2; q++)
					if ((g = next_hdr(a, j, q)))
						g->o.mode |= 0066;
		return;
	}
	/* A victim's segment header. */
	if (!(o = pick_vobj(a, UIPC_SHM)) || !(g = HDR(a, o->id % UIPC_IPCMNI)))
		return;
	switch (sub) {
	case 12:	/* the attacker's own, to IPC_SET and IPC_RMID */
		g->o.uid = g->o.cuid = ATTACKER_UID;
		g->o.gid = g->o.cgid = ATTACKER_GID;
		g->o.mode = (g->o.mode & ~0777u) | 0666;
		atomic_fetch_add(&g->o.perm_seq, 1);
		break;
	case 13: g->o.state = garbage32(a); break;
	case 14: g->o.state = OBJ_REMOVED; break;
	case 15: g->o.id = (int32_t)garbage32(a); break;
	case 16: g->o.key = (int32_t)garbage32(a); break;
	case 17:
		g->o.kind = (uint16_t)garbage32(a);
		g->o.layout = (uint16_t)garbage32(a);
		break;
	case 18: g->o.hdr_size = garbage32(a); break;
	case 19: g->segsz = (uint64_t)garbage64(a); break;
	case 20: g->att_hwm = garbage32(a); break;
	case 21:
		for (int i = 0; i < 4; i++) {
			struct ta_shm_att *t = &g->att[below(&a->rng, 64)];

			t->state = (uint32_t)below(&a->rng, 4);
			t->slot = garbage32(a);
			t->gen = garbage32(a);
			t->pid = (int32_t)garbage32(a);
			t->count = garbage32(a);
		}
		if (g->att_hwm < 64)
			g->att_hwm = 64;
		break;
	default: g->o.units = garbage64(a); break;
	}
}

/* While a victim holds the glibc mutex at m: its robust list pointers
 * aimed at the victim's canary, which its unlock then writes through. */
__attribute__((unused))
static int aim_list(struct atk *a, unsigned char *m)
{
#if GLIBC_AIMS
	pthread_mutex_t *pm = (pthread_mutex_t *)(void *)m;
	_Atomic uint32_t *w = (_Atomic uint32_t *)(void *)m;
	int64_t until = now_ns() + 3000000;

	while (now_ns() < until) {
		uint32_t v = atomic_load(w);

		if (is_victim_pid(a, (pid_t)(v & 0x3fffffff))) {
			size_t i = 8 * below(&a->rng, sizeof(g_target) / 8 - 2);
			size_t j = 8 * below(&a->rng, sizeof(g_target) / 8 - 2);

			pm->__data.__list.__next = (void *)(g_target + i + 8);
			pm->__data.__list.__prev = (void *)(g_target + j);
			atomic_fetch_add(&a->rep->aimed, 1);
			return 1;
		}
	}
#else
	(void)a;
	(void)m;
#endif
	return 0;
}

static void hit_lock(struct atk *a, unsigned char *l, size_t len, int pthread,
		     int op, int *left)
{
	_Atomic uint32_t *w = (_Atomic uint32_t *)(void *)l;
	struct uipc_proc *vp = pick_vproc(a);
	int victim = vp ? vp->pid : 1;

	if (op >= 7 && !(pthread && GLIBC_AIMS))
		return;		/* glibc's mutexes only */
	/* What a process that never lets go would leave: left alone since,
	 * as often as not. */
	if (op != 4 && op != 6 && op != 9 && left && chance(&a->rng, 50))
		*left = 1;
	switch (op) {
	case 0:		/* held by a live process that never lets go */
		atomic_store(w, (uint32_t)getpid());
		break;
	case 1:
		atomic_store(w, (uint32_t)victim);
		break;
	case 2:		/* a thread that is not there, or anything */
		atomic_store(w, chance(&a->rng, 50) ?
				(uint32_t)(1 + below(&a->rng, (1u << 22) - 1)) :
				(uint32_t)splitmix(&a->rng));
		break;
	case 3:		/* an owner died, and waiters */
		atomic_store(w,
			     0xc0000000u | (uint32_t)below(&a->rng, 1u << 22));
		break;
	case 4:		/* released under its holder */
		atomic_store(w, 0);
		break;
	case 5:
		atomic_store(w, 0xffffffffu);
		break;
	case 6:
		scribble(a, l, len);
		break;
#if GLIBC_AIMS
	case 7: {	/* another kind: PI, PP, robust, garbage */
		static const int kinds[] = { 0x20, 0x30, 0x40, 0x50, 0xb0, 0x92,
					     3, 0x100, 0x190, 0x200 };
		pthread_mutex_t *pm = (pthread_mutex_t *)(void *)l;

		size_t n = sizeof(kinds) / sizeof(kinds[0]);

		pm->__data.__kind = chance(&a->rng, 70) ?
			kinds[below(&a->rng, n)] : (int)splitmix(&a->rng);
		break;
	}
	case 8: {
		pthread_mutex_t *pm = (pthread_mutex_t *)(void *)l;

		if (chance(&a->rng, 50))
			pm->__data.__owner = 0x7fffffff; /* not recoverable */
		else
			pm->__data.__count = (unsigned)splitmix(&a->rng);
		break;
	}
	default:
		aim_list(a, l);
		break;
#endif
	}
}

/* The namespace lock (TA_LOCK_AT "ns"), a victim's segment header lock
 * ("hdr") or a victim's life lock ("life"). */
static void act_locks(struct atk *a, int sub)
{
	struct uipc_ns *ns = NS(a);
	struct vobj *o = pick_vobj(a, UIPC_SHM);
	struct ta_shm_hdr *g = NULL;
	int can[3], n = 0, t;

	if (sub == 10) {	/* the headers of the next segments' files */
		if (!ns || (a->left[1] && chance(&a->rng, 90)))
			return;
		for (int j = 1; j <= 4; j++) {
			if (!(g = next_hdr(a, j, 0)))
				continue;
			/* A header uipc is making for one of its own, its
			 * lock held by the attacker. */
			g->o.magic = UIPC_OBJ_MAGIC;
			g->o.layout = UIPC_LAYOUT;
			hit_lock(a, (unsigned char *)&g->o.lock, OBJ_LOCK_LEN,
				 OBJ_LOCK_PTHREAD, chance(&a->rng, 50) ? 0 : 2,
				 NULL);
		}
		a->left[1] = 1;
		return;
	}
	if (ns && (g_lock_at & 1) && !a->left[0])
		can[n++] = 0;
	if (o && (g_lock_at & 2) && !a->left[1] &&
	    (g = HDR(a, o->id % UIPC_IPCMNI)))
		can[n++] = 1;
	if (ns && a->nvproc && (g_lock_at & 4) && !a->left[2])
		can[n++] = 2;
	if (!n)
		return;
	t = can[below(&a->rng, (uint64_t)n)];
	if (t == 0) {
		hit_lock(a, (unsigned char *)&ns->lock, NS_LOCK_LEN,
			 NS_LOCK_PTHREAD, sub, &a->left[0]);
	} else if (t == 1) {
		hit_lock(a, (unsigned char *)&g->o.lock, OBJ_LOCK_LEN,
			 OBJ_LOCK_PTHREAD, sub, &a->left[1]);
	} else {
		hit_lock(a, (unsigned char *)&pick_vproc(a)->stamp, LIFE_LEN,
			 LIFE_PTHREAD, sub, &a->left[2]);
	}
}

/* In dir rounds the attacker owns the directory: its files in place of
 * the victims'. */
static void act_dir(struct atk *a, int sub)
{
	char name[64], own[64], vname[64];
	struct vobj *o;
	struct stat st;
	int fd, k, id;

	if (!a->dir_round)
		return;
	switch (sub) {
	case 0: /* a segment file of its own in place of the victim's */
		if (!(o = pick_vobj(a, UIPC_SHM)))
			break;
		snprintf(vname, sizeof(vname), "shm.%d", o->id);
		if (fstatat(a->dirfd, vname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_uid == ATTACKER_UID)
			break;
		snprintf(own, sizeof(own), "own.%d", o->id);
		fd = openat(a->dirfd, own,
			    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0666);
		if (fd < 0)
			break;
		fchmod(fd, 0666);
		ftruncate(fd, st.st_size);
		close(fd);
		if (renameat(a->dirfd, own, a->dirfd, vname) < 0)
			unlinkat(a->dirfd, own, 0);
		break;
	case 1:		/* its own key links in place of the victims' */
		k = (int)below(&a->rng, 3);
		id = atomic_load(&a->rep->own[k][0]) - 1;
		if (id < 0)
			break;
		for (int v = 0; v < 2; v++) {
			snprintf(name, sizeof(name), "%s.k.%08x",
				 uipc_kind_name[k], (unsigned)victim_key(v, k));
			snprintf(own, sizeof(own), "%s.%d", uipc_kind_name[k],
				 id);
			unlinkat(a->dirfd, name, 0);
			symlinkat(own, a->dirfd, name);
		}
		break;
	default:	/* what landed in its files, the swapped ones too */
		every_file(a, 0);
		break;
	}
}

static void attack_learn(struct atk *a)
{
	if (sigsetjmp(g_ajb, 1) == 0) {
		g_aguard = 1;
		a_learn(a);
	}
	g_aguard = 0;
}

/* ---- the attacker's uipc calls (a process of their own: they may crash
 * or hang in what the attacker wrecked, and are restarted) --- */

static int g_own_before;	/* the object's file was the attacker's before */

static void judge_refused(struct atk *a, struct vobj *o, const char *what,
			  long r, int e, int want)
{
	char fname[64];
	struct stat fst;

	/* The attacker forges the id table, so an id it learned as a
	 * victim's may name an object of its own by now: the object file's
	 * owner, a fact the kernel keeps, tells. */
	snprintf(fname, sizeof(fname), "%s.%d", uipc_kind_name[o->kind], o->id);
	if (r >= 0 && (g_own_before ||
		       (fstatat(a->dirfd, fname, &fst, AT_SYMLINK_NOFOLLOW) == 0 &&
			fst.st_uid == ATTACKER_UID)))
		return;
	if (r >= 0) {
		char cat[40];

		snprintf(cat, sizeof(cat), "call-granted %s %s",
			 uipc_kind_name[o->kind], what);
		abreach(a, cat,
			"calls: the attacker's %s on a victim's %s (id %d) "
			"succeeded; the kernel says %s",
			what, uipc_kind_name[o->kind], o->id, errname(want));
	}
	else if (e == want)
		atomic_fetch_add(&a->rep->refused, 1);
	else if (atomic_fetch_add(&a->rep->other_errors, 1) < 64) {
		char buf[48];
		int i;

		snprintf(buf, sizeof(buf), "%s %s %s", uipc_kind_name[o->kind],
			 what, errname(e));
		for (i = 0; i < 6 && a->rep->other[i][0]; i++)
			if (!strcmp(a->rep->other[i], buf))
				break;
		if (i < 6 && !a->rep->other[i][0])
			memcpy(a->rep->other[i], buf, sizeof(buf));
	}
}

static void call_victim(struct atk *a, struct vobj *o)
{
	static struct {
		long mtype;
		unsigned char mtext[MSG_MAX];
	} m;
	struct msqid_ds mq;
	struct semid_ds sd;
	struct shmid_ds sh;
	struct sembuf sop = { 0, 1, IPC_NOWAIT };
	unsigned short vals[64];
	char fname[64];
	struct stat fst;
	long r;
	void *p;
	int e;

	snprintf(fname, sizeof(fname), "%s.%d", uipc_kind_name[o->kind], o->id);
	g_own_before = fstatat(a->dirfd, fname, &fst, AT_SYMLINK_NOFOLLOW) == 0 &&
		       fst.st_uid == ATTACKER_UID;
	switch (o->kind) {
	case UIPC_MSG:
		switch (below(&a->rng, 7)) {
		case 0:
			r = uipc_msgctl(o->id, IPC_STAT, &mq);
			judge_refused(a, o, "IPC_STAT", r, errno, EACCES);
			break;
		case 1:
			m.mtype = 1;
			memcpy(m.mtext, "attacker", 8);
			r = uipc_msgsnd(o->id, &m, 8, IPC_NOWAIT);
			judge_refused(a, o, "msgsnd", r, errno, EACCES);
			break;
		case 2:
		case 3:
			r = uipc_msgrcv(o->id, &m, MSG_MAX, 0, IPC_NOWAIT |
					(below(&a->rng, 2) ? MSG_COPY : 0));
			e = errno;
			if (r > 0)
				loot_scan(a, m.mtext, (size_t)r,
					  "msgrcv on a victim's queue");
			judge_refused(a, o, "msgrcv", r, e, EACCES);
			break;
		case 4:
			r = uipc_msgctl(o->id % UIPC_IPCMNI, MSG_STAT, &mq);
			judge_refused(a, o, "MSG_STAT", r, errno, EACCES);
			break;
		case 5:
			memset(&mq, 0, sizeof(mq));
			mq.msg_perm.uid = ATTACKER_UID;
			mq.msg_perm.gid = ATTACKER_GID;
			mq.msg_perm.mode = 0666;
			mq.msg_qbytes = 16384;
			r = uipc_msgctl(o->id, IPC_SET, &mq);
			judge_refused(a, o, "IPC_SET", r, errno, EPERM);
			break;
		default:
			r = uipc_msgctl(o->id, IPC_RMID, NULL);
			judge_refused(a, o, "IPC_RMID", r, errno, EPERM);
			break;
		}
		break;
	case UIPC_SEM:
		switch (below(&a->rng, 8)) {
		case 0:
			r = uipc_semctl(o->id, 0, IPC_STAT, &sd);
			judge_refused(a, o, "IPC_STAT", r, errno, EACCES);
			break;
		case 1:
			r = uipc_semctl(o->id, 0, GETVAL);
			judge_refused(a, o, "GETVAL", r, errno, EACCES);
			break;
		case 2:
			r = uipc_semctl(o->id, 0, GETALL, vals);
			judge_refused(a, o, "GETALL", r, errno, EACCES);
			break;
		case 3:
			r = uipc_semctl(o->id, 0, SETVAL, 7);
			judge_refused(a, o, "SETVAL", r, errno, EACCES);
			break;
		case 4:
			r = uipc_semop(o->id, &sop, 1);
			judge_refused(a, o, "semop", r, errno, EACCES);
			break;
		case 5:
			r = uipc_semctl(o->id % UIPC_IPCMNI, 0, SEM_STAT, &sd);
			judge_refused(a, o, "SEM_STAT", r, errno, EACCES);
			break;
		case 6:
			memset(&sd, 0, sizeof(sd));
			sd.sem_perm.uid = ATTACKER_UID;
			sd.sem_perm.gid = ATTACKER_GID;
			sd.sem_perm.mode = 0666;
			r = uipc_semctl(o->id, 0, IPC_SET, &sd);
			judge_refused(a, o, "IPC_SET", r, errno, EPERM);
			break;
		default:
			r = uipc_semctl(o->id, 0, IPC_RMID);
			judge_refused(a, o, "IPC_RMID", r, errno, EPERM);
			break;
		}
		break;
	default:
		switch (below(&a->rng, 6)) {
		case 0:
		case 1:
			p = uipc_shmat(o->id, NULL, SHM_RDONLY);
			e = errno;
			if (p != (void *)-1) {
				loot_scan(a, p, 4096,
					  "shmat of a victim's segment");
				uipc_shmdt(p);
			}
			judge_refused(a, o, "shmat", p == (void *)-1 ? -1 : 0,
				      e, EACCES);
			break;
		case 2:
			r = uipc_shmctl(o->id, IPC_STAT, &sh);
			judge_refused(a, o, "IPC_STAT", r, errno, EACCES);
			break;
		case 3:
			memset(&sh, 0, sizeof(sh));
			sh.shm_perm.uid = ATTACKER_UID;
			sh.shm_perm.gid = ATTACKER_GID;
			sh.shm_perm.mode = 0666;
			r = uipc_shmctl(o->id, IPC_SET, &sh);
			judge_refused(a, o, "IPC_SET", r, errno, EPERM);
			break;
		case 4:
			r = uipc_shmctl(o->id, SHM_LOCK, NULL);
			judge_refused(a, o, "SHM_LOCK", r, errno, EPERM);
			break;
		default:
			r = uipc_shmctl(o->id, IPC_RMID, NULL);
			judge_refused(a, o, "IPC_RMID", r, errno, EPERM);
			break;
		}
		break;
	}
}

/* Objects of its own under the victims' keys, the moment they are free;
 * then whatever reaches them. */
static void squat(struct atk *a, int *mine, char *seen)
{
	const int excl = IPC_CREAT | IPC_EXCL | 0666;
	static struct {
		long mtype;
		unsigned char mtext[MSG_MAX];
	} m;

	for (int v = 0; v < 2; v++)
		for (int k = 0; k < UIPC_NKINDS; k++) {
			key_t key = victim_key(v, k);
			int *id = &mine[v * UIPC_NKINDS + k];
			int r;

			if (*id < 0) {
				char link[64];
				struct stat st;

				/* Squatting a key before its owner makes it the
				 * kernel allows: only a key a victim had is
				 * worth taking. */
				snprintf(link, sizeof(link), "%s.k.%08x",
					 uipc_kind_name[k], (unsigned)key);
				if (!seen[v * UIPC_NKINDS + k]) {
					if (fstatat(a->dirfd, link, &st,
						    AT_SYMLINK_NOFOLLOW) == 0 &&
					    st.st_uid != ATTACKER_UID)
						seen[v * UIPC_NKINDS + k] = 1;
					continue;
				}
				if (k == UIPC_MSG)
					*id = uipc_msgget(key, excl);
				else if (k == UIPC_SEM)
					*id = uipc_semget(key, 2, excl);
				else
					*id = uipc_shmget(key, 16384, excl);
				if (*id >= 0)
					atomic_fetch_add(&a->rep->squats, 1);
				/* Asked with permission: refused. */
				r = k == UIPC_MSG ? uipc_msgget(key, 0600) :
				    k == UIPC_SEM ? uipc_semget(key, 0, 0600) :
						    uipc_shmget(key, 0, 0600);
				if (r >= 0 && r != *id &&
				    file_uid(a, k, r) != ATTACKER_UID &&
				    file_uid(a, k, r) != (uid_t)-1)
					abreach(a, "key-permission", "calls: "
						"the attacker's %sget(victim's "
						"key, 0600) was granted",
						uipc_kind_name[k]);
				continue;
			}
			if (k == UIPC_MSG) {
				ssize_t n = uipc_msgrcv(*id, &m, MSG_MAX, 0,
							IPC_NOWAIT);

				if (n > 0)
					loot_scan(a, m.mtext, (size_t)n, "its "
						  "queue under a victim's key");
			} else if (k == UIPC_SHM) {
				void *p = uipc_shmat(*id, NULL, SHM_RDONLY);

				if (p != (void *)-1) {
					loot_scan(a, p, 16384, "its segment "
						  "under a victim's key");
					uipc_shmdt(p);
				}
			}
		}
}

/* Whatever reached the attacker's own objects. */
static void poll_own(struct atk *a)
{
	static struct {
		long mtype;
		unsigned char mtext[MSG_MAX];
	} m;
	int q = atomic_load(&a->rep->own[UIPC_MSG][0]) - 1;
	int g = atomic_load(&a->rep->own[UIPC_SHM][0]) - 1;
	ssize_t n;
	void *p;

	while (q >= 0 && (n = uipc_msgrcv(q, &m, MSG_MAX, 0, IPC_NOWAIT)) >= 0)
		loot_scan(a, m.mtext, (size_t)n, "its own queue");
	if (g >= 0 && (p = uipc_shmat(g, NULL, SHM_RDONLY)) != (void *)-1) {
		loot_scan(a, p, 8192, "its own segment");
		uipc_shmdt(p);
	}
}

static void caller_main(struct atk *a)
{
	int mine[2 * UIPC_NKINDS], own;
	char seen[2 * UIPC_NKINDS] = { 0 };

	for (int i = 0; i < 2 * UIPC_NKINDS; i++)
		mine[i] = -1;
	for (int k = 0; k < UIPC_NKINDS; k++) {
		own = k == UIPC_MSG ? uipc_msgget(IPC_PRIVATE, 0666) :
		      k == UIPC_SEM ? uipc_semget(IPC_PRIVATE, 1, 0666) :
				      uipc_shmget(IPC_PRIVATE, 8192, 0666);
		if (own >= 0) {
			int z = 0;

			atomic_compare_exchange_strong(&a->rep->own[k][0], &z,
						       own + 1);
		}
	}
	for (long i = 0; now_ns() < a->deadline; i++) {
		struct vobj *o;

		atomic_store(&a->rep->caller_beat, now_ns());
		if (i % 32 == 0)
			attack_learn(a);
		if (i % 4 == 0 && move_on(A_CALLS, 1))
			squat(a, mine, seen);
		if (move_on(A_CALLS, 0) && (o = pick_vobj(a, -1)))
			call_victim(a, o);
		poll_own(a);
		usleep(200);
	}
	_exit(0);
}

static void caller_check(struct atk *a)
{
	int st;

	if (a->caller > 0 && waitpid(a->caller, &st, WNOHANG) == a->caller)
		a->caller = 0;
	if (a->caller > 0 &&
	    now_ns() - atomic_load(&a->rep->caller_beat) > 1500000000LL) {
		kill(a->caller, SIGKILL);
		waitpid(a->caller, &st, 0);
		a->caller = 0;
	}
	if (a->caller || atomic_load(&a->rep->callers) >= 20 ||
	    now_ns() >= a->deadline)
		return;
	atomic_fetch_add(&a->rep->callers, 1);
	atomic_store(&a->rep->caller_beat, now_ns());
	a->caller = fork();
	if (a->caller == 0) {
		alarm(10);
		caller_main(a);
	}
	if (a->caller < 0)
		a->caller = 0;
}

/* The caller process runs for the calls, and makes the attacker's own
 * objects that some moves use. */
static int need_caller(void)
{
	return class_on(A_CALLS) || move_on(A_LINKS, 2) || move_on(A_DIR, 1) ||
	       move_on(A_TRUNC, 2);
}

/* Move sub of class c, under the guard. */
static void guarded_move(struct atk *a, const int c, const int sub)
{
	if (sigsetjmp(g_ajb, 1)) {
		g_aguard = 0;
		return;
	}
	g_aguard = 1;
	switch (c) {
	case A_BYTES: act_bytes(a, sub); break;
	case A_TRUNC: act_trunc(a, sub); break;
	case A_LINKS: act_links(a, sub); break;
	case A_FORGE: act_forge(a, sub); break;
	case A_LOCKS: act_locks(a, sub); break;
	case A_CALLS: caller_check(a); break;
	default: act_dir(a, sub); break;
	}
	g_aguard = 0;
}

/* Move m of the table. */
static void attack_once(struct atk *a, int m)
{
	guarded_move(a, moves[m].cls, move_sub(m));
	a->rep->actions[moves[m].cls]++;
}

/* A move of the run's: a class first, then one of its moves, so that a
 * class of many moves does not crowd out the others. */
static int pick_move(struct atk *a)
{
	int cls[NCLASSES], n = 0, c, k = 0;

	for (int i = 0; i < NCLASSES; i++)
		if (class_on(i))
			cls[n++] = i;
	c = cls[below(&a->rng, (uint64_t)n)];
	for (int i = 0; i < NMOVES; i++)
		k += moves[i].cls == c && (g_moves >> i & 1);
	k = (int)below(&a->rng, (uint64_t)k);
	for (int i = 0; i < NMOVES; i++)
		if (moves[i].cls == c && (g_moves >> i & 1) && k-- == 0)
			return i;
	return 0;
}

/* The attacker: ready_fd gets a byte once its first volley is in. */
static int attacker_main(struct atk *a, int go_fd, int ready_fd)
{
	struct sigaction sa;
	char c;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = a_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (drop_to(ATTACKER_UID, ATTACKER_GID) < 0)
		return 2;
	if (a->dir_round) {
		/* First: the namespace directory is the attacker's. */
		mkdir(g_nsdir, 01777);
		chmod(g_nsdir, 01777);
		write(ready_fd, "d", 1);
	}
	if (read(go_fd, &c, 1) != 1)
		return 2;
	a->dirfd = open(g_nsdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dirfd < 0)
		return 2;
	a_map(a);
	attack_learn(a);
	/* The first volley, before any victim starts: what must be in place
	 * before them (the plants, twice; the claim entries).  What wrecks
	 * the namespace waits for the round, or fresh victims would only
	 * meet an error at their first call, and nothing else be tried. */
	if (need_caller()) {
		caller_check(a);
		/* Its objects, before the first volley uses them. */
		for (int i = 0;
		     i < 100 && !atomic_load(&a->rep->own[UIPC_SHM][0]); i++)
			usleep(1000);
	}
	for (int pass = 0; pass < 2; pass++)
		for (int m = 0; m < NMOVES; m++)
			if ((g_moves >> m & 1) &&
			    (moves[m].cls == A_LINKS ||
			     (moves[m].cls == A_LOCKS &&
			      !strcmp(moves[m].name, "claim"))))
				attack_once(a, m);
	write(ready_fd, "r", 1);
	while (now_ns() < a->deadline) {
		if (++a->actions % 16 == 0) {
			attack_learn(a);
			if (a->actions % 256 == 0)
				a_map(a);
		}
		attack_once(a, pick_move(a));
		if (need_caller())
			caller_check(a);
		if (chance(&a->rng, 50))
			usleep((useconds_t)below(&a->rng, 500));
	}
	if (a->caller > 0) {
		kill(a->caller, SIGKILL);
		waitpid(a->caller, NULL, 0);
	}
	return 0;
}

/* ---- the victims' files outside the namespace -------------------------- */

struct outside {
	uid_t uid;
	gid_t gid;
	mode_t mode;
	unsigned char content[512];
	ino_t ino;
};
static struct outside g_outside[3] = {
	{ 0, 0, 0600, { 0 }, 0 },
	{ 0, 0, 0644, { 0 }, 0 },
	{ 1, 1, 0600, { 0 }, 0 },
};

static int make_outside(int i)
{
	struct outside *o = &g_outside[i];
	struct stat st;
	int fd;

	unlink(outside_path(i));
	fd = open(outside_path(i), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		  O_CLOEXEC, o->mode);
	if (fd < 0)
		return -1;
	if (write(fd, o->content, sizeof(o->content)) !=
		    (ssize_t)sizeof(o->content) ||
	    fchown(fd, o->uid, o->gid) < 0 || fchmod(fd, o->mode) < 0 ||
	    fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	o->ino = st.st_ino;
	close(fd);
	return 0;
}

/* NULL if file i is as made, else what changed. */
static const char *outside_changed(int i)
{
	static unsigned char buf[sizeof(g_outside[0].content) + 1];
	struct outside *o = &g_outside[i];
	struct stat st;
	ssize_t n;
	int fd;

	if (lstat(outside_path(i), &st) < 0)
		return "it is gone";
	if (!S_ISREG(st.st_mode) || st.st_ino != o->ino)
		return "it was replaced";
	if ((st.st_mode & 07777) != o->mode)
		return "its mode changed";
	if (st.st_uid != o->uid || st.st_gid != o->gid)
		return "its owner changed";
	if (st.st_size != (off_t)sizeof(o->content))
		return "its size changed";
	if (st.st_nlink != 1)
		return "it got another name (a hardlink)";
	fd = open(outside_path(i), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return "it cannot be opened";
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != (ssize_t)sizeof(o->content) ||
	    memcmp(buf, o->content, sizeof(o->content)))
		return "its bytes changed";
	return NULL;
}

/* ---- the parent -------------------------------------------------------- */

/* n bytes shared with the processes forked later, between pages nobody
 * may touch: a stray write near them faults instead of passing for a
 * report. */
static void *shared_guarded(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = (n + pg - 1) / pg * pg;
	char *p = mmap(NULL, len + 2 * pg, PROT_NONE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED ||
	    mprotect(p + pg, len, PROT_READ | PROT_WRITE) < 0) {
		perror("trust_attack: shared memory");
		exit(1);
	}
	return p + pg;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void sysctl_restore(void)
{
	int fd;

	if (!g_sysctl_changed || getpid() != g_parent)
		return;
	fd = open("/proc/sys/fs/protected_symlinks", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		write(fd, g_sysctl_old, strlen(g_sysctl_old));
		close(fd);
	}
	g_sysctl_changed = 0;
}

static void cleanup(void)
{
	if (getpid() != g_parent)
		return;
	for (int i = 0; i < 3; i++)
		if (g_pid[i] > 0)
			kill(i == 2 ? -g_pid[i] : g_pid[i], SIGKILL);
	sysctl_restore();
	if (g_base[0])
		rm_tree(g_base);
	if (g_outdir[0])
		rm_tree(g_outdir);
}

static void on_fatal(int sig)
{
	static const char m[] = "FAIL: watchdog: the test took too long\n";

	if (sig == SIGALRM)
		write(2, m, sizeof(m) - 1);
	cleanup();
	_exit(1);
}

static void sysctl_open(void)
{
	const char *keep = getenv("TA_SYSCTL");
	char buf[8] = "";
	int fd = open("/proc/sys/fs/protected_symlinks", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = 0;
		close(fd);
	}
	buf[strcspn(buf, "\n")] = 0;
	if (!buf[0] || !strcmp(buf, "0") || !keep || strcmp(keep, "off")) {
		printf("fs.protected_symlinks is %s%s\n",
		       buf[0] ? buf : "unknown",
		       buf[0] && strcmp(buf, "0") ?
		       ": symlink plants are stopped by the kernel here" : "");
		return;
	}
	fd = open("/proc/sys/fs/protected_symlinks", O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, "0", 1) == 1) {
		snprintf(g_sysctl_old, sizeof(g_sysctl_old), "%s", buf);
		g_sysctl_changed = 1;
		printf("fs.protected_symlinks: %s -> 0 for this run (issue "
		       "14's threat model), restored after\n", buf);
	} else {
		printf("fs.protected_symlinks is %s and cannot be changed: "
		       "symlink plants are stopped by the kernel here\n", buf);
	}
	if (fd >= 0)
		close(fd);
}

/* The run's failures by who and kind, for the summary at the end. */
struct gsum {
	char who[10];
	char cat[40];
	long n;
	unsigned rounds;
	int first_round;
	char first[FAILLEN];
};
static struct gsum g_sum[128];
static int g_nsum, g_failures;

static void rfail_n(int r, const char *who, const char *cat, long n,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* n failures of kind cat in round r, the first told in fmt. */
static void rfail_n(int r, const char *who, const char *cat, long n,
		    const char *fmt, ...)
{
	char buf[FAILLEN];
	struct gsum *g = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 1)
		printf("FAIL round %d %s [%s, %ld times]: %s\n", r, who, cat,
		       n, buf);
	else
		printf("FAIL round %d %s [%s]: %s\n", r, who, cat, buf);
	g_failures++;
	for (int i = 0; i < g_nsum; i++)
		if (!strcmp(g_sum[i].who, who) && !strcmp(g_sum[i].cat, cat))
			g = &g_sum[i];
	if (!g && g_nsum < (int)(sizeof(g_sum) / sizeof(g_sum[0]))) {
		g = &g_sum[g_nsum++];
		snprintf(g->who, sizeof(g->who), "%s", who);
		snprintf(g->cat, sizeof(g->cat), "%s", cat);
		snprintf(g->first, sizeof(g->first), "%s", buf);
		g->first_round = r;
	}
	if (g) {
		g->n += n;
		g->rounds |= 1u << (r & 31);
	}
}
#define rfail(r, who, cat, ...) rfail_n(r, who, cat, 1, __VA_ARGS__)

static void print_errors(const struct vreport *vr)
{
	int any = 0;

	for (int c = 0; c < NCALLS; c++)
		for (int e = 0; e < NERR; e++)
			if (vr->err[c][e]) {
				printf("%s%s %s %u", any ? ", " : " (",
				       call_name[c], e ? errname(e) : "E?",
				       vr->err[c][e]);
				any = 1;
			}
	if (any)
		printf(")");
}

/* Forks the maker of round r's namespace: root's first uipc call. */
static int make_namespace(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int id;

		alarm(10);
		id = uipc_shmget(IPC_PRIVATE, 4096, 0600);
		if (id < 0)
			_exit(1);
		uipc_shmctl(id, IPC_RMID, NULL);
		id = uipc_msgget(IPC_PRIVATE, 0600);
		if (id < 0)
			_exit(1);
		uipc_msgctl(id, IPC_RMID, NULL);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void check_table_file(int r, const char *name)
{
	char path[4300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", g_nsdir, name);
	if (lstat(path, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		char to[300] = "";
		ssize_t n = readlink(path, to, sizeof(to) - 1);

		to[n > 0 ? n : 0] = 0;
		rfail(r, "root", "table-link", "a victim made %s a link to %s",
		      name, to);
	} else if (st.st_uid != 0) {
		rfail(r, "root", "table-owner",
		      "%s, root's table, is now a file of uid %u", name,
		      st.st_uid);
	}
}

static void run_round(int r, uint64_t rseed, struct vreport *vrep,
		      struct areport *arep)
{
	static const char *const vname[2] = { "root", "uid1" };
	int go[2], ready[2], st, alive, only_dir = 1, dir_round;
	int64_t t0, deadline, stop;
	struct atk a;
	char c;

	for (int i = 0; i < NCLASSES; i++)
		if (i != A_DIR && class_on(i))
			only_dir = 0;
	dir_round = class_on(A_DIR) && (only_dir || r % 3 == 2);

	snprintf(g_nsdir, sizeof(g_nsdir), "%s/ns.%d", g_base, r);
	setenv("UIPC_NS", g_nsdir, 1);
	memset(vrep, 0, 2 * sizeof(*vrep));
	memset(arep, 0, sizeof(*arep));
	for (int v = 0; v < 2; v++) {
		memcpy(vrep[v].token, TAG, 8);
		if (getrandom(vrep[v].token + 8, 8, 0) != 8)
			memcpy(vrep[v].token + 8, &rseed, 8);
	}
	if (pipe(go) < 0 || pipe(ready) < 0) {
		rfail(r, "test", "setup", "pipe: %s", strerror(errno));
		return;
	}
	memset(&a, 0, sizeof(a));
	a.rng = rseed;
	a.round = r;
	a.dir_round = dir_round;
	a.rep = arep;
	a.dirfd = -1;
	/* The round runs from the victims' start: the attacker's deadline is
	 * set generously and it is stopped with them. */
	a.start = now_ns();
	a.deadline = a.start + g_round_ns + 2000000000LL;
	if (!dir_round && make_namespace() < 0) {
		rfail(r, "root", "setup",
		      "could not make a namespace with no attacker about");
		return;
	}
	g_pid[2] = fork();
	if (g_pid[2] == 0) {
		setpgid(0, 0);
		close(go[1]);
		close(ready[0]);
		munmap(vrep, 2 * sizeof(*vrep));
		_exit(attacker_main(&a, go[0], ready[1]));
	}
	setpgid(g_pid[2], g_pid[2]);
	close(go[0]);
	close(ready[1]);
	if (dir_round) {
		if (read(ready[0], &c, 1) != 1 || c != 'd')
			rfail(r, "test", "setup",
			      "the attacker did not make the directory");
		/* Root's first call there; refusing it is right. */
		make_namespace();
	}
	write(go[1], "g", 1);
	if (read(ready[0], &c, 1) != 1)
		rfail(r, "test", "setup", "the attacker did not start");
	t0 = now_ns();
	deadline = t0 + g_round_ns;
	for (int v = 0; v < 2; v++) {
		g_pid[v] = fork();
		if (g_pid[v] == 0) {
			struct victim vi;

			memset(&vi, 0, sizeof(vi));
			vi.v = v;
			vi.round = r;
			vi.uid = v ? 1 : 0;
			vi.gid = v ? 1 : 0;
			vi.rep = &vrep[v];
			vi.deadline = deadline;
			vi.rng = rseed ^
				 (0x5151515151515151ull * (uint64_t)(v + 1));
			munmap(arep, sizeof(*arep));
			_exit(victim_main(&vi));
		}
	}
	/* A victim stops calling GIVE_UP_NS after the round, and its last
	 * call may take g_limit_ns. */
	stop = deadline + GIVE_UP_NS + g_limit_ns + 2000000000LL;
	do {
		alive = 0;
		for (int v = 0; v < 2; v++) {
			if (g_pid[v] <= 0)
				continue;
			if (waitpid(g_pid[v], &st, WNOHANG) == g_pid[v]) {
				char cat[40];

				snprintf(cat, sizeof(cat), "died %s",
					 WIFSIGNALED(st) ? signame(WTERMSIG(st))
							 : "exit");
				if (WIFSIGNALED(st))
					rfail(r, vname[v], cat,
					      "died of %s in %s",
					      signame(WTERMSIG(st)),
					      vrep[v].call);
				else if (WEXITSTATUS(st))
					rfail(r, vname[v], cat,
					      "exited %d in %s (a sanitizer's "
					      "report?)",
					      WEXITSTATUS(st), vrep[v].call);
				g_pid[v] = 0;
				continue;
			}
			alive++;
		}
		if (alive)
			usleep(10000);
	} while (alive && now_ns() < stop);
	/* Those still there hang: what each is in, before any is killed (a
	 * victim waiting for another one's lock moves on when it dies). */
	{
		char call[2][sizeof(vrep[0].call)];
		int64_t since[2] = { 0, 0 }, now = now_ns();

		for (int v = 0; v < 2; v++)
			if (g_pid[v] > 0) {
				memcpy(call[v], vrep[v].call, sizeof(call[v]));
				since[v] = atomic_load(&vrep[v].call_start);
			}
		for (int v = 0; v < 2; v++) {
			if (g_pid[v] <= 0)
				continue;
			kill(g_pid[v], SIGKILL);
			waitpid(g_pid[v], &st, 0);
			g_pid[v] = 0;
			rfail(r, vname[v], "hang", "still in %s after %.1f s",
			      call[v], since[v] ? (double)(now - since[v]) / 1e9 :
						  0.0);
		}
	}
	kill(-g_pid[2], SIGKILL);
	waitpid(g_pid[2], &st, 0);
	g_pid[2] = 0;
	close(go[1]);
	close(ready[0]);

	printf("round %d: seed %#llx, %s, namespace made by %s, %.1f s\n", r,
	       (unsigned long long)rseed, g_classes_str,
	       dir_round ? "the attacker" : "root",
	       (double)(now_ns() - t0) / 1e9);
	for (int v = 0; v < 2; v++) {
		struct vreport *vr = &vrep[v];

		printf("  %s: %ld calls (%ld messages, %ld semops, %ld segment "
		       "rounds, %ld lookups checked), %ld errors", vname[v],
		       vr->calls, vr->msgs, vr->semops, vr->segs, vr->lookups,
		       vr->errors);
		print_errors(vr);
		if (vr->lost_after_error)
			printf(", %ld messages lost after an error",
			       vr->lost_after_error);
		printf(", %ld failures\n", vr->failures);
		for (int i = 0; i < vr->ncat && i < MAXCAT; i++)
			rfail_n(r, vname[v], vr->cat[i].cat, vr->cat[i].n, "%s",
				vr->cat[i].first);
	}
	printf("  attacker:");
	for (int i = 0; i < NCLASSES; i++)
		if (arep->actions[i])
			printf(" %s %ld", class_name[i], arep->actions[i]);
	printf("; %ld planted, %ld hardlinks, %ld aimed, %ld squats, %ld calls "
	       "refused, %ld other errors, %ld caller processes, %ld "
	       "breaches\n",
	       atomic_load(&arep->planted), atomic_load(&arep->hardlinks),
	       atomic_load(&arep->aimed), atomic_load(&arep->squats),
	       atomic_load(&arep->refused), atomic_load(&arep->other_errors),
	       atomic_load(&arep->callers), atomic_load(&arep->breaches));
	for (int i = 0; i < 6 && arep->other[i][0]; i++)
		printf("    the attacker's %s (the kernel's error differs)\n",
		       arep->other[i]);
	for (int i = 0; i < atomic_load(&arep->ncat) && i < MAXCAT; i++)
		rfail_n(r, "attacker", arep->cat[i].cat, arep->cat[i].n, "%s",
			arep->cat[i].first);
	for (int i = 0; i < atomic_load(&arep->nloot) && i < MAXLOOT; i++) {
		const unsigned char *b = arep->loot[i].bytes;

		for (int v = 0; v < 2; v++)
			if (!memcmp(b, vrep[v].token, 16))
				rfail(r, "attacker", "read-secret",
				      "read %s's secret in %s", vname[v],
				      arep->loot[i].src);
		for (int f = 0; f < 3; f++)
			if (f != 1 && !memcmp(b, g_outside[f].content, 16))
				rfail(r, "attacker", "read-secret",
				      "read the secret of %s (outside) in %s",
				      outside_name[f], arep->loot[i].src);
	}
	for (int f = 0; f < 3; f++) {
		const char *what = outside_changed(f);

		if (what) {
			rfail(r, f == 2 ? "uid1" : "root", "outside-file",
			      "its file %s outside the namespace changed: %s",
			      outside_path(f), what);
			make_outside(f);
		}
	}
	if (!dir_round) {
		check_table_file(r, "ns");
		check_table_file(r, "limits");
	}
	rm_tree(g_nsdir);
}

/* ATTACK: classes ("forge") and moves ("forge.proc-dead"), "all", and
 * any of them after a "-" taken out again. */
static uint64_t parse_moves(const char *spec)
{
	uint64_t on = 0, off = 0;
	char buf[1024], *save = NULL;

	if (!spec || !*spec)
		spec = "all";
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, ", ", &save); t;
	     t = strtok_r(NULL, ", ", &save)) {
		uint64_t *to = *t == '-' ? &off : &on, m = 0;
		char *dot;

		t += *t == '-';
		dot = strchr(t, '.');
		for (int i = 0; i < NMOVES; i++) {
			const char *cls = class_name[moves[i].cls];

			if (!strcmp(t, "all") || (!dot && !strcmp(t, cls)) ||
			    (dot && (size_t)(dot - t) == strlen(cls) &&
			     !strncmp(t, cls, strlen(cls)) &&
			     !strcmp(dot + 1, moves[i].name)))
				m |= 1ull << i;
		}
		if (!m) {
			fprintf(stderr,
				"trust_attack: no attack %s; the moves are:\n",
				t);
			for (int c = 0; c < NCLASSES; c++) {
				fprintf(stderr, "  %s:", class_name[c]);
				for (int i = 0; i < NMOVES; i++)
					if (moves[i].cls == c)
						fprintf(stderr, " %s",
							moves[i].name);
				fprintf(stderr, "\n");
			}
			exit(2);
		}
		*to |= m;
	}
	return on & ~off;
}

static int64_t env_ms(const char *name, int64_t def)
{
	const char *s = getenv(name);

	return s && *s ? (int64_t)atol(s) : def;
}

int main(int argc, char **argv)
{
	const char *ns = getenv("UIPC_NS");
	struct vreport *vrep;
	struct areport *arep;
	uint64_t seed;
	int rounds = argc > 2 ? atoi(argv[2]) : 6, only = -1;
	int64_t t0 = now_ns();
	struct stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: needs root (victims as root and uid 1, the "
		       "attacker as nobody)\n");
		return 77;
	}
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) :
			  (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	g_moves = parse_moves(getenv("ATTACK"));
	if (!g_moves) {
		fprintf(stderr, "trust_attack: ATTACK leaves no move\n");
		return 2;
	}
	snprintf(g_classes_str, sizeof(g_classes_str), "%s",
		 getenv("ATTACK") && *getenv("ATTACK") ? getenv("ATTACK")
						       : "all");
	if (getenv("TA_LOCK_AT") && *getenv("TA_LOCK_AT")) {
		const char *at = getenv("TA_LOCK_AT");

		g_lock_at = (strstr(at, "ns") ? 1u : 0) |
			    (strstr(at, "hdr") ? 2u : 0) |
			    (strstr(at, "life") ? 4u : 0);
	}
	g_round_ns = env_ms("TA_ROUND_MS", 1500) * 1000000LL;
	g_limit_ns = env_ms("TA_CALL_LIMIT_MS", 5000) * 1000000LL;
	if (getenv("TA_ONLY") && *getenv("TA_ONLY"))
		only = atoi(getenv("TA_ONLY"));
	if (rounds < 1)
		rounds = 1;
	printf("seed %llu (rerun: ATTACK=%s %s %llu %d)\n",
	       (unsigned long long)seed, g_classes_str, argv[0],
	       (unsigned long long)seed, rounds);

	g_parent = getpid();
	if (ns && *ns) {
		if (lstat(ns, &st) == 0 && rmdir(ns) < 0) {
			printf("SKIP: UIPC_NS=%s exists and is not empty: this "
			       "test needs a fresh directory\n", ns);
			return 77;
		}
		snprintf(g_base, sizeof(g_base), "%s", ns);
	} else {
		snprintf(g_base, sizeof(g_base), "/dev/shm/trust_attack.%d",
			 (int)getpid());
	}
	/* The rounds' namespaces are made in a directory like /dev/shm,
	 * root's, sticky and world-writable: each round's afresh, by root,
	 * or in "dir" rounds by the attacker first. */
	if (mkdir(g_base, 01777) < 0 || chmod(g_base, 01777) < 0) {
		printf("FAIL: cannot make %s: %s\n", g_base, strerror(errno));
		g_base[0] = 0;
		return 1;
	}
	snprintf(g_outdir, sizeof(g_outdir), "/dev/shm/ta-out.XXXXXX");
	if (!mkdtemp(g_outdir) || chmod(g_outdir, 0711) < 0) {
		printf("FAIL: cannot make the outside directory: %s\n",
		       strerror(errno));
		g_outdir[0] = 0;
		cleanup();
		return 1;
	}
	atexit(cleanup);
	signal(SIGALRM, on_fatal);
	signal(SIGTERM, on_fatal);
	signal(SIGINT, on_fatal);
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)(rounds * ((g_round_ns + g_limit_ns) / 1000000000LL +
				   6) +
			 30));
	for (int i = 0; i < 3; i++) {
		static const char line[] = "root:x:0:0:root:/root:/bin/sh\n";
		struct outside *o = &g_outside[i];

		memcpy(o->content, TAG, 8);
		if (getrandom(o->content + 8, 8, 0) != 8)
			memcpy(o->content + 8, &seed, 8);
		for (size_t j = 16; j < sizeof(o->content); j++)
			o->content[j] = (unsigned char)line[j % strlen(line)];
		if (make_outside(i) < 0) {
			printf("FAIL: cannot make %s: %s\n", outside_path(i),
			       strerror(errno));
			return 1;
		}
	}
	sysctl_open();
	vrep = shared_guarded(2 * sizeof(*vrep));
	arep = shared_guarded(sizeof(*arep));
	for (int r = 0; r < rounds; r++) {
		uint64_t s = seed * 0x100000001b3ull + (uint64_t)r;

		if (only >= 0 && r != only)
			continue;
		run_round(r, splitmix(&s), vrep, arep);
	}
	if (g_nsum)
		printf("summary (who [kind]: count, rounds, first seen):\n");
	for (int i = 0; i < g_nsum; i++) {
		printf("  %s [%s]: %ld, rounds", g_sum[i].who, g_sum[i].cat,
		       g_sum[i].n);
		for (int r = 0; r < 32; r++)
			if (g_sum[i].rounds & (1u << r))
				printf(" %d", r);
		printf("; round %d: %s\n", g_sum[i].first_round,
		       g_sum[i].first);
	}
	printf("%s: seed %llu, %d round%s, attacks %s, %d failure%s, %.1f s\n",
	       g_failures ? "FAIL" : "ok  ", (unsigned long long)seed,
	       only >= 0 ? 1 : rounds, only >= 0 || rounds == 1 ? "" : "s",
	       g_classes_str, g_failures, g_failures == 1 ? "" : "s",
	       (double)(now_ns() - t0) / 1e9);
	return g_failures ? 1 : 0;
}
