/*
 * lock_words: what a forged or stale lock word costs (lock.c).
 *
 * A uipc lock is a word in a shared file: the owner's pid and start time.
 * Whoever may write the file may write anything there, and a holder may
 * die or be stopped.  Each case writes a word into a queue's lock (or the
 * namespace lock) and times the next call on it:
 *   - words that name no process (garbage, the waiters bit alone, bits no
 *     pid has), a dead holder's (reaped or a zombie), and a live process's
 *     pid with another start time (a pid used again) are a dead owner's:
 *     the call succeeds within a second and the queue is intact;
 *   - a live process's own word makes the call fail with EIO after the
 *     lock's patience (3-6 s), never hang; once that process is gone the
 *     next call succeeds.
 * The kernel has no such word to forge: uipc only.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

struct msg {
	long type;
	char text[64];
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The lock word of queue q's file, mapped. */
static _Atomic uint64_t *queue_lock(int q, void **map)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/msg.%d", harness_ns_dir(), q);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return NULL;
	*map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (*map == MAP_FAILED)
		return NULL;
	return (_Atomic uint64_t *)(void *)((char *)*map +
					    offsetof(struct uipc_obj, lock));
}

/* The word a holder with this pid and start tag leaves: the 32-bit half
 * the futex uses comes first in memory, whatever the byte order. */
static uint64_t word_of(uint32_t owner, uint32_t tag)
{
	uint32_t h[2] = { owner, tag };
	uint64_t w;

	memcpy(&w, h, sizeof(w));
	return w;
}

/* Sends one message and receives it back; returns 0 or errno, and the
 * time the send took in *took. */
static int round_trip(int q, double *took)
{
	struct msg m = { 2, "ping" };
	double t0 = now_s();
	int r = uipc_msgsnd(q, &m, 5, IPC_NOWAIT) == 0 ? 0 : errno;

	*took = now_s() - t0;
	if (r == 0 && (uipc_msgrcv(q, &m, sizeof(m.text), 2, IPC_NOWAIT) != 5 ||
		       strcmp(m.text, "ping")))
		r = -1;
	return r;
}

static void expect_taken_over(int q, _Atomic uint64_t *lk, uint64_t w,
			      const char *what)
{
	double took;
	int r;

	atomic_store(lk, w);
	r = round_trip(q, &took);
	CHECK(r == 0, "%s: msgsnd gave %s", what, r > 0 ? strerror(r) : "wrong data");
	CHECK(took < 1.0, "%s: msgsnd took %.2f s", what, took);
	CHECK(atomic_load(lk) == 0, "%s: the lock was left held", what);
	if (r == 0 && took < 1.0)
		printf("ok   %s: taken over in %.3f s\n", what, took);
}

/* A child that sleeps until killed; its start tag in *tag. */
static pid_t sleeper(uint32_t *tag)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	usleep(20000);
	*tag = uipc_pid_start(pid);
	return pid;
}

/* A lock and the times (CLOCK_MONOTONIC, s) of its last hand-over. */
struct handover {
	struct uipc_lock l;
	_Atomic double released, taken;
};

/*
 * Unlock wakes a waiter at once.  Without the wake it would still get the
 * lock, at its next look (every 50 ms, LOCK_RECHECK_NS): so the release
 * comes at a different moment of that period each round, and the median
 * delay must be far below it.
 */
static void release_wakes(void)
{
	struct handover *p = harness_shared(sizeof(*p));
	double d[8], tmp;
	int n = 0;

	for (int i = 0; i < 8; i++) {
		pid_t c;

		if (uipc_lock_acquire(&p->l, NULL, NULL) != 0)
			break;
		c = fork();
		if (c == 0) {
			alarm(10);
			if (uipc_lock_acquire(&p->l, NULL, NULL) != 0)
				_exit(1);
			p->taken = now_s();
			uipc_lock_release(&p->l);
			_exit(0);
		}
		if (c < 0 || wait_blocked(c) < 0) {
			uipc_lock_release(&p->l);
			CHECK(0, "no waiter blocked on the lock");
			if (c > 0)
				waitpid(c, NULL, 0);
			break;
		}
		usleep(3000 + 6000 * i);
		p->released = now_s();
		uipc_lock_release(&p->l);
		waitpid(c, NULL, 0);
		d[n++] = p->taken - p->released;
	}
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && d[k - 1] > d[k]; k--)
			tmp = d[k], d[k] = d[k - 1], d[k - 1] = tmp;
	CHECK(n == 8 && d[n / 2] < 0.010, "unlock: a waiter got the lock a "
	      "median %.1f ms after its release (want < 10 ms)",
	      n ? d[n / 2] * 1e3 : -1.0);
	if (n == 8 && d[n / 2] < 0.010)
		printf("ok   unlock wakes a waiter: median %.2f ms\n", d[n / 2] * 1e3);
}

int main(void)
{
	struct msg m = { 1, "kept" };
	_Atomic uint64_t *lk;
	struct msqid_ds ds;
	void *map;
	uint32_t tag;
	double took, t0;
	pid_t pid;
	int q, r, st;

	harness_init(60);
	q = uipc_msgget(IPC_PRIVATE, 0600);
	CHECK(q >= 0, "msgget: %s", strerror(errno));
	if (q < 0)
		return harness_done();
	uipc_msgsnd(q, &m, 5, 0);
	lk = queue_lock(q, &map);
	CHECK(lk != NULL, "cannot map the queue's file");
	if (!lk)
		return harness_done();

	expect_taken_over(q, lk, 0xdeadbeefcafef00dull, "a word of garbage");
	expect_taken_over(q, lk, word_of(0x80000000u, 0), "the waiters bit alone");
	expect_taken_over(q, lk, word_of(0, 12345), "a start time without a pid");
	expect_taken_over(q, lk, word_of(0x3ffffffeu, 1), "a pid no process has");

	pid = sleeper(&tag);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	expect_taken_over(q, lk, word_of((uint32_t)pid, tag), "a reaped holder");

	pid = sleeper(&tag);
	kill(pid, SIGKILL);
	usleep(50000);		/* a zombie now: not reaped */
	expect_taken_over(q, lk, word_of((uint32_t)pid, tag), "a zombie holder");
	waitpid(pid, NULL, 0);

	pid = sleeper(&tag);
	CHECK(tag != 0, "no start time for a live child");
	expect_taken_over(q, lk, word_of((uint32_t)pid, tag + 1),
			  "a live pid with another start time (pid reused)");
	/* Our own pid, but another start time: a dead process whose pid
	 * this one has now, not one of our threads. */
	expect_taken_over(q, lk, word_of((uint32_t)getpid(),
					 uipc_pid_start(getpid()) + 1),
			  "our own pid with another start time");

	/* A live holder that never lets go: a bounded wait, then EIO. */
	atomic_store(lk, word_of((uint32_t)pid, tag));
	r = round_trip(q, &took);
	CHECK(r == EIO, "a live holder: msgsnd gave %s (want EIO)",
	      r > 0 ? strerror(r) : r ? "wrong data" : "success");
	CHECK(took >= 2.5 && took < 7.0, "a live holder: EIO after %.2f s "
	      "(want 3-6 s)", took);
	if (r == EIO && took >= 2.5 && took < 7.0)
		printf("ok   a live holder that never lets go: EIO after %.1f s\n",
		       took);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	t0 = now_s();
	r = round_trip(q, &took);
	CHECK(r == 0 && now_s() - t0 < 1.0,
	      "after the holder died: msgsnd gave %s after %.2f s",
	      r > 0 ? strerror(r) : r ? "wrong data" : "success", now_s() - t0);

	/* The message sent before is still there, the counts repaired. */
	CHECK(uipc_msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 1,
	      "after the takeovers: qnum %lu (want 1)", (unsigned long)ds.msg_qnum);
	CHECK(uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) == 5 &&
	      !strcmp(m.text, "kept"), "the queued message was lost");
	munmap(map, 4096);

	/* The namespace lock: garbage in it does not stop creation. */
	{
		struct uipc_nsh *h = uipc_ns_get(&r);
		int q2;

		if (h) {
			atomic_store(&h->ns->lock.word, 0x0123456789abcdefull);
			t0 = now_s();
			q2 = uipc_msgget(IPC_PRIVATE, 0600);
			CHECK(q2 >= 0 && now_s() - t0 < 1.0,
			      "garbage namespace lock: msgget %s after %.2f s",
			      q2 >= 0 ? "succeeded" : strerror(errno),
			      now_s() - t0);
			if (q2 >= 0) {
				uipc_msgctl(q2, IPC_RMID, NULL);
				printf("ok   garbage in the namespace lock: msgget "
				       "in %.3f s\n", now_s() - t0);
			}
		}
	}
	uipc_msgctl(q, IPC_RMID, NULL);
	release_wakes();
	return harness_done();
}
