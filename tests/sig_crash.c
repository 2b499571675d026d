/*
 * sig_crash: SIGKILL at random moments, many rounds, on uipc signals and
 * on the kernel's.
 *
 * Each round runs senders that queue numbered real-time signals (the
 * value: sender << 20 | seq) to one receiver, which takes them with
 * sigtimedwait, and kills a random sender every few milliseconds, starting
 * a replacement.  A sender notes the seq it is about to send and the last
 * one sigqueue accepted.  Every other round also kills the receiver, at a
 * random moment (taking a signal, holding its own file's lock, or
 * asleep), with signals queued for it: the senders must then get ESRCH
 * and end, none hanging on the dead one's lock.  Afterwards:
 *  - every signal whose sigqueue returned 0 was taken exactly once (at
 *    most once when the receiver was killed: what it had queued went
 *    with it), and a killed sender's signal in flight at most once
 *    ("once or not at all");
 *  - each sender's signals came in the order sent, none invented;
 *  - nobody hung: every wait is bounded;
 *  - after `uipc reap` (the exit work of the dead), no signal file of a
 *    dead process is left in the namespace.
 * The same rounds run on the kernel first, which proves the checker.
 * To rerun one: SIG_CRASH_SEED (printed), SIG_CRASH_ROUNDS.
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define NSEND		3
#define MAX_SENDERS	48	/* ids per round, replacements included */
#define PER_SENDER	400	/* signals each sender sends at most */
#define SIGNO		(SIGRTMIN + 2)

struct shared {
	_Atomic int stop;
	_Atomic uint32_t attempt[MAX_SENDERS];	/* seq being sent, 0 none */
	_Atomic uint32_t done[MAX_SENDERS];	/* last seq sigqueue accepted */
	_Atomic uint32_t got[MAX_SENDERS][PER_SENDER + 1];	/* times taken */
	_Atomic uint32_t last[MAX_SENDERS];	/* last seq taken */
	_Atomic int disorder, invented, receiver_done, receiver_killed;
};

static struct shared *sh;

struct sops {
	const char *name;
	int (*sigqueue)(pid_t, int, const union sigval);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
	int (*sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
};

static const struct sops kernel_s = { "kernel", sigqueue, sigprocmask, sigtimedwait };
static const struct sops uipc_s = { "uipc", uipc_sigqueue, uipc_sigprocmask,
				    uipc_sigtimedwait };

static sigset_t the_set(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGNO);
	return s;
}

/* Takes signals until told to stop and nothing more comes for 200 ms. */
static void receiver(const struct sops *o, int ready_fd)
{
	sigset_t s = the_set();
	struct timespec ts = { 0, 200000000 };
	siginfo_t si;

	o->sigprocmask(SIG_BLOCK, &s, NULL);
	write(ready_fd, "r", 1);
	for (;;) {
		int r = o->sigtimedwait(&s, &si, &ts);
		uint32_t v, who, seq;

		if (r < 0) {
			if (errno == EAGAIN && atomic_load(&sh->stop))
				break;
			continue;
		}
		v = (uint32_t)si.si_value.sival_int;
		who = v >> 20;
		seq = v & 0xfffff;
		if (r != SIGNO || who >= MAX_SENDERS || seq == 0 || seq > PER_SENDER) {
			atomic_fetch_add(&sh->invented, 1);
			continue;
		}
		atomic_fetch_add(&sh->got[who][seq], 1);
		if (seq <= atomic_load(&sh->last[who]))
			atomic_fetch_add(&sh->disorder, 1);
		atomic_store(&sh->last[who], seq);
	}
	atomic_store(&sh->receiver_done, 1);
}

static void sender(const struct sops *o, int id, pid_t target, int ready_fd)
{
	sigset_t s = the_set();

	/* A uipc call first: it makes this process one of the namespace's. */
	o->sigprocmask(SIG_BLOCK, &s, NULL);
	write(ready_fd, "s", 1);
	for (uint32_t seq = 1; seq <= PER_SENDER && !atomic_load(&sh->stop); seq++) {
		union sigval v = { .sival_int = (int)((uint32_t)id << 20 | seq) };

		atomic_store(&sh->attempt[id], seq);
		while (o->sigqueue(target, SIGNO, v) < 0) {
			if (errno == ESRCH && atomic_load(&sh->receiver_killed))
				_exit(0);	/* it is gone: nothing to send to */
			if (errno != EAGAIN || atomic_load(&sh->stop))
				_exit(errno == EAGAIN ? 0 : 3);
			usleep(100);	/* the queue is full: let it drain */
		}
		atomic_store(&sh->done[id], seq);
		atomic_store(&sh->attempt[id], 0);
		if (seq % 16 == 0)
			usleep(50);
	}
	_exit(0);
}

struct role {
	const struct sops *o;
	int id;			/* -1: the receiver */
	pid_t target;
};

static void play(void *arg, int ready_fd)
{
	const struct role *r = arg;

	if (r->id < 0)
		receiver(r->o, ready_fd);
	else
		sender(r->o, r->id, r->target, ready_fd);
}

static pid_t start(const struct sops *o, int id, pid_t target)
{
	struct role r = { o, id, target };

	return fork_ready(play, &r);
}

static unsigned rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* One round (kill_recv: the receiver is killed too); returns the number
 * of problems found. */
static int round_of(const struct sops *o, unsigned *seed, int kill_recv)
{
	pid_t send[NSEND], recv;
	int ids[NSEND], next = 0, bad = 0, st, killed[MAX_SENDERS] = { 0 };
	long recv_at = kill_recv ? 20 + (long)(rnd(seed) % 230) : -1;
	struct timespec t0, t;

	memset(sh, 0, sizeof(*sh));
	recv = start(o, -1, 0);
	if (recv < 0)
		return 1;
	for (int i = 0; i < NSEND; i++) {
		ids[i] = next++;
		send[i] = start(o, ids[i], recv);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > 300)
			break;
		if (recv_at >= 0 && ms >= recv_at) {
			/* Signals queued for it, its senders at work. */
			atomic_store(&sh->receiver_killed, 1);
			kill(recv, SIGKILL);
			waitpid(recv, &st, 0);
			recv_at = -1;
		}
		usleep(1000 + rnd(seed) % 4000);
		if (next < MAX_SENDERS) {
			int i = (int)(rnd(seed) % NSEND);

			kill(send[i], SIGKILL);
			waitpid(send[i], &st, 0);
			killed[ids[i]] = 1;
			ids[i] = next++;
			send[i] = start(o, ids[i], recv);
		}
	}
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < NSEND; i++) {
		waitpid(send[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			{ CHECK(0, "%s: a sender ended with status %#x", o->name, st); bad++; }
	}
	if (!kill_recv) {
		waitpid(recv, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !sh->receiver_done)
			{ CHECK(0, "%s: the receiver ended with status %#x", o->name, st); bad++; }
	}
	for (int id = 0; id < next; id++) {
		uint32_t done = sh->done[id], att = sh->attempt[id];

		for (uint32_t seq = 1; seq <= PER_SENDER; seq++) {
			uint32_t n = sh->got[id][seq];
			int maybe = killed[id] && seq == att;

			if (seq <= done && (kill_recv ? n > 1 : n != 1))
				{ CHECK(0, "%s: sender %d's signal %u accepted, taken "
					     "%u times", o->name, id, seq, n); bad++; }
			else if (seq > done && !maybe && n)
				{ CHECK(0, "%s: sender %d's signal %u never sent, "
					     "taken %u times", o->name, id, seq, n); bad++; }
			else if (maybe && n > 1)
				{ CHECK(0, "%s: sender %d's last signal taken %u "
					     "times", o->name, id, n); bad++; }
		}
	}
	if (sh->disorder || sh->invented)
		{ CHECK(0, "%s: %d out of order, %d invented", o->name,
			     sh->disorder, sh->invented); bad++; }
	return bad;
}

/* Signal files of processes that are gone, once the dead are reaped. */
static int dead_files(void)
{
	DIR *d = opendir(harness_ns_dir());
	struct dirent *de;
	int n = 0, pid;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "sig.%d", &pid) == 1 && pid != getpid() &&
		    (kill(pid, 0) < 0 && errno == ESRCH))
			n++;
	closedir(d);
	return n;
}

int main(void)
{
	const char *e = getenv("SIG_CRASH_SEED");
	unsigned seed0 = e ? (unsigned)strtoul(e, NULL, 0) : (unsigned)time(NULL);
	int rounds = getenv("SIG_CRASH_ROUNDS") ? atoi(getenv("SIG_CRASH_ROUNDS")) : 6;
	const struct sops *ops[2] = { &kernel_s, &uipc_s };
	struct uipc_nsh *h;
	int err = 0;

	harness_init(240);
	sh = harness_shared(sizeof(*sh));
	printf("sig_crash: seed %u (SIG_CRASH_SEED=%u to rerun), %d rounds\n",
	       seed0, seed0, rounds);
	for (int k = 0; k < 2; k++) {
		unsigned seed = seed0;
		int bad = 0;

		for (int r = 0; r < rounds; r++)
			bad += round_of(ops[k], &seed, r & 1);
		printf("%s %s: %d rounds of senders killed at random (the "
		       "receiver too in every other), every accepted signal "
		       "taken once, in order\n", bad ? "FAIL" : "ok  ",
		       ops[k]->name, rounds);
	}
	h = uipc_ns_get(&err);
	if (h)
		uipc_proc_reap_all(h);
	CHECK(dead_files() == 0, "%d signal files of dead processes left after "
	      "the reap", dead_files());
	printf("%s no signal file of a dead process after the reap\n",
	       dead_files() ? "FAIL" : "ok  ");
	return harness_done();
}
