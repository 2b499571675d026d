/*
 * msg_crash: SIGKILL at random moments, many rounds.
 *
 * Each round runs senders of numbered, checksummed messages and receivers
 * on one small queue (so both sides block), and kills a random one of them
 * every few milliseconds, starting a replacement.  Receivers receive
 * straight into a slot of a shared log and then mark it committed, so a
 * message can be followed even into a receiver killed in the middle.
 * Afterwards:
 *  - every message whose msgsnd returned 0 is received exactly once
 *    (committed, or still in the queue), or sits in the uncommitted slot of
 *    a killed receiver;
 *  - none is received twice, none is invented, none is corrupt;
 *  - nobody hangs: every wait is bounded.
 * The same rounds run on the kernel first: they prove the checker, since
 * the kernel must pass it too.  Then senders and receivers of large
 * messages killed in their copies (uipc's made with the queue unlocked):
 * the room comes back, nothing is delivered twice; on uipc alone, 4 MiB
 * messages, whose copy a kill lands in often.
 */
#include "harness.h"
#include "internal.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define NSEND		3
#define NRECV		3
#define MAX_SENDERS	64	/* ids per round, replacements included */
#define MAX_SLOTS	65536
#define MAX_PER_SENDER	800	/* 64 * 800 fits in the log with room */
#define MAX_DATA	300
#define MAGIC		0x6d736721u

struct payload {
	long type;
	uint32_t magic, sender, seq, len, sum;
	unsigned char data[MAX_DATA];
};
#define HDR_BYTES (sizeof(struct payload) - sizeof(long) - MAX_DATA)

struct slot {
	struct payload p;
	_Atomic int state;	/* 0 free, 1 claimed, 2 committed */
	pid_t owner;
};

struct shared {
	_Atomic int stop;
	_Atomic uint32_t attempt[MAX_SENDERS];	/* seq being sent */
	_Atomic uint32_t done[MAX_SENDERS];	/* last seq msgsnd accepted */
	_Atomic int next_slot;
	struct slot slot[MAX_SLOTS];
};

static struct shared *sh;

static uint32_t checksum(const unsigned char *d, uint32_t n, uint32_t seed)
{
	uint32_t h = seed * 2654435761u;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	return h;
}

static void sender(const struct ipc_ops *o, int q, uint32_t id)
{
	struct payload p;
	unsigned rnd = id * 7919u + (unsigned)getpid();

	for (uint32_t seq = 1; !atomic_load(&sh->stop) && seq <= MAX_PER_SENDER;
	     seq++) {
		p.type = 1 + (long)(rand_r(&rnd) % 3);
		p.magic = MAGIC;
		p.sender = id;
		p.seq = seq;
		p.len = (uint32_t)(rand_r(&rnd) % MAX_DATA);
		for (uint32_t i = 0; i < p.len; i++)
			p.data[i] = (unsigned char)rand_r(&rnd);
		p.sum = checksum(p.data, p.len, seq ^ id);
		atomic_store(&sh->attempt[id], seq);
		if (o->msgsnd(q, &p, HDR_BYTES + p.len, 0) < 0)
			_exit(errno == EIDRM || errno == EINVAL ? 0 : 3);
		atomic_store(&sh->done[id], seq);
	}
	_exit(0);
}

static void receiver(const struct ipc_ops *o, int q, int which)
{
	for (;;) {
		int s = atomic_fetch_add(&sh->next_slot, 1);
		/* Receivers differ in what they ask for. */
		long typ = which == 1 ? -2 : 0;

		if (s >= MAX_SLOTS)
			_exit(0);
		sh->slot[s].owner = getpid();
		atomic_store(&sh->slot[s].state, 1);
		if (o->msgrcv(q, &sh->slot[s].p, HDR_BYTES + MAX_DATA, typ, 0) < 0)
			_exit(errno == EIDRM || errno == EINVAL ? 0 : 3);
		atomic_store(&sh->slot[s].state, 2);
	}
}

struct counts {
	long sent, received, inflight, kills;
};

/* Checks one message: 0 if it is one a sender made. */
static int genuine(const struct payload *p, size_t n)
{
	return p->magic == MAGIC && p->sender < MAX_SENDERS && p->seq >= 1 &&
	       p->len <= MAX_DATA && n == HDR_BYTES + p->len &&
	       p->seq <= (uint32_t)atomic_load(&sh->attempt[p->sender]) &&
	       p->sum == checksum(p->data, p->len, p->seq ^ p->sender);
}

static int run_round(const struct ipc_ops *o, unsigned *rnd, struct counts *c)
{
	pid_t send_pid[NSEND], recv_pid[NRECV];
	uint32_t next_id = 0;
	struct msqid_ds ds;
	struct payload p;
	int q, bad = 0;
	uint8_t *seen[MAX_SENDERS];
	struct timespec t0, now;
	ssize_t n;

	memset(sh, 0, sizeof(*sh));
	q = o->msgget(IPC_PRIVATE, 0600);
	if (q < 0) {
		CHECK(0, "%s: msgget: %s", o->name, strerror(errno));
		return 1;
	}
	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 1200;	/* a few messages: both sides block */
	o->msgctl(q, IPC_SET, &ds);

	for (int i = 0; i < NSEND; i++) {
		uint32_t id = next_id++;

		if ((send_pid[i] = fork()) == 0)
			sender(o, q, id);
	}
	for (int i = 0; i < NRECV; i++)
		if ((recv_pid[i] = fork()) == 0)
			receiver(o, q, i);

	/* Kill someone every 1-15 ms for 250 ms; replace them. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int victim = (int)(rand_r(rnd) % (NSEND + NRECV));

		usleep(1000 + rand_r(rnd) % 14000);
		if (victim < NSEND) {
			kill(send_pid[victim], SIGKILL);
			waitpid(send_pid[victim], NULL, 0);
			if (next_id < MAX_SENDERS) {
				uint32_t id = next_id++;

				if ((send_pid[victim] = fork()) == 0)
					sender(o, q, id);
			} else {
				send_pid[victim] = -1;
			}
		} else {
			victim -= NSEND;
			kill(recv_pid[victim], SIGKILL);
			waitpid(recv_pid[victim], NULL, 0);
			if ((recv_pid[victim] = fork()) == 0)
				receiver(o, q, victim);
		}
		c->kills++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000 +
		 (now.tv_nsec - t0.tv_nsec) / 1000000 < 250);

	/* Senders stop after their message; receivers keep the queue moving
	 * meanwhile.  Neither may hang. */
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < NSEND; i++) {
		int st = 0, waited = 0;

		if (send_pid[i] < 0)
			continue;
		while (waitpid(send_pid[i], &st, WNOHANG) == 0 && waited < 10000) {
			usleep(1000);
			waited++;
		}
		if (waited >= 10000) {
			CHECK(0, "%s: a sender hangs", o->name);
			kill(send_pid[i], SIGKILL);
			waitpid(send_pid[i], NULL, 0);
			bad = 1;
		} else {
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "%s: a sender failed (status %d)", o->name, st);
		}
	}
	usleep(50000);
	for (int i = 0; i < NRECV; i++) {
		kill(recv_pid[i], SIGKILL);
		waitpid(recv_pid[i], NULL, 0);
	}

	/* Account for every message. */
	for (int s = 0; s < MAX_SENDERS; s++) {
		uint32_t a = atomic_load(&sh->attempt[s]);

		seen[s] = calloc(a + 2, 1);
	}
	for (int i = 0; i < MAX_SLOTS && i < atomic_load(&sh->next_slot); i++) {
		struct slot *sl = &sh->slot[i];

		if (atomic_load(&sl->state) != 2)
			continue;
		if (!genuine(&sl->p, HDR_BYTES + sl->p.len)) {
			CHECK(0, "%s: a corrupt or invented message was received",
			      o->name);
			bad = 1;
			continue;
		}
		if (seen[sl->p.sender][sl->p.seq]++) {
			CHECK(0, "%s: message %u/%u received twice", o->name,
			      sl->p.sender, sl->p.seq);
			bad = 1;
		}
		c->received++;
	}
	while ((n = o->msgrcv(q, &p, sizeof(p) - sizeof(long), 0, IPC_NOWAIT)) >= 0) {
		if (!genuine(&p, (size_t)n)) {
			CHECK(0, "%s: a corrupt or invented message is queued", o->name);
			bad = 1;
			continue;
		}
		if (seen[p.sender][p.seq]++) {
			CHECK(0, "%s: message %u/%u delivered and still queued",
			      o->name, p.sender, p.seq);
			bad = 1;
		}
	}
	CHECK(errno == ENOMSG, "%s: draining ended with %s", o->name,
	      errname(errno));
	for (uint32_t s = 0; s < MAX_SENDERS; s++) {
		uint32_t d = atomic_load(&sh->done[s]);

		c->sent += d;
		for (uint32_t seq = 1; seq <= d; seq++) {
			int inflight = 0;

			if (seen[s][seq])
				continue;
			/* In the slot of a receiver killed mid-call? */
			for (int i = 0; i < atomic_load(&sh->next_slot) &&
			     i < MAX_SLOTS; i++) {
				struct slot *sl = &sh->slot[i];

				if (atomic_load(&sl->state) == 1 &&
				    sl->p.sender == s && sl->p.seq == seq &&
				    genuine(&sl->p, HDR_BYTES + sl->p.len))
					inflight = 1;
			}
			if (inflight) {
				c->inflight++;
				continue;
			}
			CHECK(0, "%s: message %u/%u was accepted and lost",
			      o->name, s, seq);
			bad = 1;
		}
		free(seen[s]);
	}
	o->msgctl(q, IPC_RMID, NULL);
	return bad;
}

static int run(const struct ipc_ops *o, int rounds)
{
	struct counts c = { 0 };
	unsigned rnd = 12345;
	int bad = 0;

	for (int r = 0; r < rounds && !bad; r++)
		bad = run_round(o, &rnd, &c);
	printf("%-6s %d rounds, %ld kills: %ld messages accepted, %ld received, "
	       "%ld in flight in killed receivers: %s\n", o->name, rounds,
	       c.kills, c.sent, c.received, c.inflight, bad ? "FAILED" : "ok");
	return bad;
}

/*
 * Senders of large messages (which uipc copies with the queue unlocked)
 * killed at random moments, one at a time, tries times: every message the
 * queue then holds is whole and genuine, and the room of the killed one
 * comes back at once (the emptied queue takes two messages of 6000 bytes,
 * IPC_NOWAIT, as qbytes 16000 allows).
 */
#define BIG 6000
struct big {
	long type;
	uint32_t seq, sum;
	unsigned char data[BIG];
};

/* Kills child c d ns after it set *ready (just before its call: a fresh
 * child's call takes about 20 us, faulting the queue's pages in), and
 * reaps it. */
static void kill_after(pid_t c, _Atomic int *ready, long d)
{
	struct timespec ts;
	long t0;

	while (!atomic_load(ready) && waitpid(c, NULL, WNOHANG) == 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000000000L + ts.tv_nsec;
	do
		clock_gettime(CLOCK_MONOTONIC, &ts);
	while (ts.tv_sec * 1000000000L + ts.tv_nsec - t0 < d);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

/* Bytes of [p, p + n) that are not c. */
static size_t differs(const unsigned char *p, size_t n, unsigned char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] != c;
	return k;
}

static int big_copies(const struct ipc_ops *o, int tries)
{
	struct msqid_ds ds;
	struct big m;
	int q = o->msgget(IPC_PRIVATE, 0600), bad = 0, got = 0;
	int warm = o->msgget(IPC_PRIVATE, 0600);	/* the child's first */
	unsigned rnd = 777;
	_Atomic int *ready = harness_shared(sizeof(*ready));

	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 16000;
	o->msgctl(q, IPC_SET, &ds);
	for (int t = 0; t < tries && !bad; t++) {
		long d = rand_r(&rnd) % 40000;
		pid_t c;

		atomic_store(ready, 0);
		c = fork();
		if (c == 0) {
			m.type = 1;
			m.seq = (uint32_t)t;
			for (int i = 0; i < BIG; i++)
				m.data[i] = (unsigned char)(i * 7 + t);
			m.sum = checksum(m.data, BIG, m.seq);
			/* Registered and mapped: the next call is all copy. */
			o->msgsnd(warm, &m, sizeof(m) - sizeof(long), IPC_NOWAIT);
			atomic_store(ready, 1);
			o->msgsnd(q, &m, sizeof(m) - sizeof(long), 0);
			_exit(0);
		}
		kill_after(c, ready, d);
		o->msgrcv(warm, &m, sizeof(m) - sizeof(long), 0, IPC_NOWAIT);
		while (o->msgrcv(q, &m, sizeof(m) - sizeof(long), 0,
				 IPC_NOWAIT) == (ssize_t)(sizeof(m) - sizeof(long))) {
			got++;
			if (m.sum != checksum(m.data, BIG, m.seq)) {
				CHECK(0, "%s: message %u corrupt", o->name, m.seq);
				bad = 1;
			}
		}
		/* The killed sender's room is back at once. */
		m.type = 1;
		for (int i = 0; i < 2 && !bad; i++)
			if (o->msgsnd(q, &m, sizeof(m) - sizeof(long),
				      IPC_NOWAIT) < 0) {
				CHECK(0, "%s: after killed sender %d the empty "
				      "queue refuses message %d: %s", o->name,
				      t, i + 1, strerror(errno));
				bad = 1;
			}
		while (o->msgrcv(q, &m, sizeof(m) - sizeof(long), 0,
				 IPC_NOWAIT) >= 0)
			;
	}
	printf("%-6s %d senders of %d bytes killed at random: %d messages "
	       "got through whole, room back: %s\n", o->name, tries, BIG, got,
	       bad ? "FAILED" : "ok");
	o->msgctl(q, IPC_RMID, NULL);
	o->msgctl(warm, IPC_RMID, NULL);
	munmap(ready, sizeof(*ready));
	return bad;
}

/*
 * uipc only (the kernel's msgmax here is 8 KiB and the host's settings
 * stay as they are): senders of 4 MiB messages, whose copy with the queue
 * unlocked lasts long enough for a kill to land in it, killed at random
 * moments; the room a dead copier held comes back to the next sender
 * (who reaps it), so two 4 MiB messages fit in the 9 MiB queue again.
 */
#define HUGE (4u << 20)

static int huge_copies(int tries)
{
	struct uipc_nsh *h;
	int err = 0, q, bad = 0, got = 0;
	int64_t old_max, old_mnb;
	struct msqid_ds ds;
	unsigned rnd = 4711;
	_Atomic int *ready = harness_shared(sizeof(*ready));
	struct { long type; unsigned char data[HUGE]; } *m = malloc(sizeof(*m));
	int warm = uipc_msgget(IPC_PRIVATE, 0600);

	h = uipc_ns_get(&err);
	if (!h || !m || warm < 0) {
		CHECK(0, "huge copies: setup: %s", strerror(-err));
		free(m);
		return 1;
	}
	old_max = uipc_limit(h, UL_MSGMAX);
	old_mnb = uipc_limit(h, UL_MSGMNB);
	uipc_limit_set(h, UL_MSGMAX, HUGE);
	uipc_limit_set(h, UL_MSGMNB, 2 * HUGE + (1 << 20));
	q = uipc_msgget(IPC_PRIVATE, 0600);
	uipc_msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 2 * HUGE + (1 << 20);
	CHECK(uipc_msgctl(q, IPC_SET, &ds) == 0, "huge copies: qbytes: %s",
	      strerror(errno));
	m->type = 1;
	memset(m->data, 'h', HUGE);
	for (int t = 0; t < tries && !bad; t++) {
		long d = rand_r(&rnd) % 600000;
		ssize_t n;
		pid_t c;

		atomic_store(ready, 0);
		c = fork();
		if (c == 0) {
			/* Registered and mapped: the next call is all copy. */
			uipc_msgsnd(warm, m, 1, IPC_NOWAIT);
			atomic_store(ready, 1);
			uipc_msgsnd(q, m, HUGE, 0);
			_exit(0);
		}
		kill_after(c, ready, d);
		uipc_msgrcv(warm, m, 1, 0, IPC_NOWAIT);
		while ((n = uipc_msgrcv(q, m, HUGE, 0, IPC_NOWAIT)) >= 0) {
			got++;
			if (n != HUGE || differs(m->data, HUGE, 'h')) {
				CHECK(0, "huge copies: message %d not whole", t);
				bad = 1;
			}
		}
		for (int i = 0; i < 2 && !bad; i++)
			if (uipc_msgsnd(q, m, HUGE, IPC_NOWAIT) < 0) {
				CHECK(0, "huge copies: after killed sender %d the "
				      "empty queue refuses message %d: %s", t,
				      i + 1, strerror(errno));
				bad = 1;
			}
		while (uipc_msgrcv(q, m, HUGE, 0, IPC_NOWAIT) >= 0)
			;
		memset(m->data, 'h', HUGE);
	}
	printf("%-6s %d senders of %u bytes killed at random: %d messages "
	       "got through whole, room back: %s\n", "uipc", tries, HUGE, got,
	       bad ? "FAILED" : "ok");
	uipc_msgctl(q, IPC_RMID, NULL);
	uipc_msgctl(warm, IPC_RMID, NULL);
	uipc_limit_set(h, UL_MSGMNB, old_mnb);
	uipc_limit_set(h, UL_MSGMAX, old_max);
	munmap(ready, sizeof(*ready));
	free(m);
	return bad;
}

/*
 * Receivers of large messages (which uipc copies out with the queue
 * unlocked) killed at random moments, tries times: a message the receiver
 * reported is never in the queue too (never delivered twice); one it did
 * not report is in the queue again once the death is noticed (uipc puts
 * it back; the kernel, which removes it before copying, may lose it); and
 * the room comes back.
 */
static int big_takes(const struct ipc_ops *o, int tries)
{
	struct shared_take {
		_Atomic int ready;
		_Atomic uint32_t got;
	} *sh2 = harness_shared(sizeof(*sh2));
	struct msqid_ds ds;
	struct big m;
	int q = o->msgget(IPC_PRIVATE, 0600), bad = 0, lost = 0, back = 0;
	unsigned rnd = 4242;

	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 16000;
	o->msgctl(q, IPC_SET, &ds);
	for (uint32_t t = 1; t <= (uint32_t)tries && !bad; t++) {
		long d = rand_r(&rnd) % 40000;
		ssize_t n;
		pid_t c;

		m.type = 1;
		m.seq = t;
		for (int i = 0; i < BIG; i++)
			m.data[i] = (unsigned char)(i * 3 + t);
		m.sum = checksum(m.data, BIG, m.seq);
		if (o->msgsnd(q, &m, sizeof(m) - sizeof(long), IPC_NOWAIT) < 0) {
			CHECK(0, "%s: send %u: %s", o->name, t, strerror(errno));
			bad = 1;
			break;
		}
		atomic_store(&sh2->ready, 0);
		atomic_store(&sh2->got, 0);
		c = fork();
		if (c == 0) {
			struct big r;

			/* Registered and mapped first: then all copy. */
			o->msgrcv(q, &r, sizeof(r) - sizeof(long), 99, IPC_NOWAIT);
			atomic_store(&sh2->ready, 1);
			if (o->msgrcv(q, &r, sizeof(r) - sizeof(long), 0, 0) > 0)
				atomic_store(&sh2->got, r.seq);	/* at once */
			_exit(r.sum == checksum(r.data, BIG, r.seq) ? 0 : 1);
		}
		kill_after(c, &sh2->ready, d);
		/* IPC_STAT notices the dead receiver and puts its message
		 * back (see docs/uipc.md, Known differences). */
		o->msgctl(q, IPC_STAT, &ds);
		n = o->msgrcv(q, &m, sizeof(m) - sizeof(long), 0, IPC_NOWAIT);
		if (n > 0 && m.sum != checksum(m.data, BIG, m.seq)) {
			CHECK(0, "%s: message %u corrupt", o->name, m.seq);
			bad = 1;
		} else if (n > 0 && atomic_load(&sh2->got) == t) {
			CHECK(0, "%s: message %u delivered twice", o->name, t);
			bad = 1;
		} else if (n > 0) {
			back++;
		} else if (atomic_load(&sh2->got) != t) {
			lost++;	/* killed between its receipt and its report,
				 * or (the kernel) while copying */
		}
	}
	m.type = 1;
	for (int i = 0; i < 2 && !bad; i++)
		if (o->msgsnd(q, &m, sizeof(m) - sizeof(long), IPC_NOWAIT) < 0) {
			CHECK(0, "%s: after killed receivers the empty queue "
			      "refuses message %d: %s", o->name, i + 1,
			      strerror(errno));
			bad = 1;
		}
	printf("%-6s %d receivers of %d bytes killed at random: %d messages "
	       "back in the queue, %d unreported: %s\n", o->name, tries, BIG,
	       back, lost, bad ? "FAILED" : "ok");
	o->msgctl(q, IPC_RMID, NULL);
	munmap(sh2, sizeof(*sh2));
	return bad;
}

int main(void)
{
	harness_init(240);
	harness_allow_lost_wakes();	/* it kills wakers mid-call */
	sh = harness_shared(sizeof(*sh));
	run(&kernel_ops, 4);
	run(&uipc_ops, 24);
	big_copies(&kernel_ops, 100);
	big_copies(&uipc_ops, 2000);
	huge_copies(80);
	big_takes(&kernel_ops, 100);
	big_takes(&uipc_ops, 1000);
	return harness_done();
}
