/*
 * msg_threads: threads of one process share queues (the map cache, the
 * waiter records of one process, the fault guard per thread).  Four sender
 * threads and four blocking receiver threads on one queue, typed so that
 * each receiver has its own stream; the totals and per-type order must come
 * out as on the kernel, and a queue removed under blocked threads wakes
 * them all with EIDRM.
 */
#include "harness.h"

#include <pthread.h>

#define THREADS	4
#define PER	20000

struct arg {
	const struct ipc_ops *o;
	int q, me;
	long got, out_of_order, sum;
	int last_err;
};

struct msg {
	long type;
	long seq;
	char pad[48];
};

static void *sender(void *p)
{
	struct arg *a = p;
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = a->me + 1;
	for (long i = 0; i < PER; i++) {
		m.seq = i;
		if (a->o->msgsnd(a->q, &m, sizeof(m) - sizeof(long), 0) < 0) {
			a->last_err = errno;
			break;
		}
	}
	return NULL;
}

static void *receiver(void *p)
{
	struct arg *a = p;
	struct msg m;
	long next = 0;

	while (a->got < PER) {
		if (a->o->msgrcv(a->q, &m, sizeof(m) - sizeof(long), a->me + 1, 0) < 0) {
			a->last_err = errno;
			break;
		}
		a->out_of_order += m.seq != next;
		next = m.seq + 1;
		a->sum += m.seq;
		a->got++;
	}
	return NULL;
}

static void *blocked(void *p)
{
	struct arg *a = p;
	struct msg m;

	if (a->o->msgrcv(a->q, &m, sizeof(m), 99, 0) < 0)
		a->last_err = errno;
	return NULL;
}

static void scen_threads(const struct ipc_ops *o, struct trace *t)
{
	pthread_t st[THREADS], rt[THREADS];
	struct arg sa[THREADS], ra[THREADS];
	int q = o->msgget(IPC_PRIVATE, 0600);

	for (int i = 0; i < THREADS; i++) {
		sa[i] = (struct arg){ o, q, i, 0, 0, 0, 0 };
		ra[i] = (struct arg){ o, q, i, 0, 0, 0, 0 };
		pthread_create(&rt[i], NULL, receiver, &ra[i]);
		pthread_create(&st[i], NULL, sender, &sa[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(st[i], NULL);
		pthread_join(rt[i], NULL);
		tprintf(t, "stream %d: got %ld, out of order %ld, sum %ld, errors %s/%s",
			i, ra[i].got, ra[i].out_of_order, ra[i].sum,
			sa[i].last_err ? errname(sa[i].last_err) : "-",
			ra[i].last_err ? errname(ra[i].last_err) : "-");
	}
	/* Removal wakes every blocked thread with EIDRM. */
	for (int i = 0; i < THREADS; i++) {
		ra[i] = (struct arg){ o, q, i, 0, 0, 0, 0 };
		pthread_create(&rt[i], NULL, blocked, &ra[i]);
	}
	wait_blocked(getpid());
	usleep(100000);
	tcall(t, "rmid under blocked threads", o->msgctl(q, IPC_RMID, NULL));
	for (int i = 0; i < THREADS; i++) {
		pthread_join(rt[i], NULL);
		tprintf(t, "blocked thread %d: %s", i, errname(ra[i].last_err));
	}
}

int main(void)
{
	harness_init(120);
	run_both("threads of one process", scen_threads);
	return harness_done();
}
