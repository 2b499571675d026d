/*
 * msg_bench: the same message-queue workloads on the kernel and on uipc,
 * in one run, with both figures and their ratio.
 *
 *  (a) one process: msgsnd + msgrcv with IPC_NOWAIT, 64-byte messages
 *  (b) two processes: ping-pong round trips through one queue (two types)
 *  (c) two processes: streaming, one sender and one receiver, at 64 B,
 *      1 KiB and 8 KiB
 *
 * Usage: msg_bench [--quick] [--loop N]
 *   --quick   shorter runs (make demo)
 *   --loop N  only workload (a) on uipc, N times: run it under strace -c
 *             with two values of N to see the loop makes no system call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uipc.h"
#include "ops.h"

struct msg {
	long type;
	char text[8192];
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int newq(const struct ops *o)
{
	int q = o->get(IPC_PRIVATE, 0600);

	if (q < 0) {
		fprintf(stderr, "msg_bench: %s msgget: %s\n", o->name, strerror(errno));
		exit(1);
	}
	return q;
}

/* (a) operations (send + receive pairs) per second. */
static double nowait_loop(const struct ops *o, long n)
{
	struct msg m = { .type = 1 };
	int q = newq(o);
	double t0;

	memset(m.text, 'a', 64);
	o->snd(q, &m, 64, IPC_NOWAIT);	/* warm: map, register */
	o->rcv(q, &m, 64, 0, IPC_NOWAIT);
	t0 = now();
	for (long i = 0; i < n; i++) {
		if (o->snd(q, &m, 64, IPC_NOWAIT) < 0 ||
		    o->rcv(q, &m, 64, 0, IPC_NOWAIT) != 64) {
			fprintf(stderr, "msg_bench: %s loop: %s\n", o->name,
				strerror(errno));
			exit(1);
		}
	}
	t0 = now() - t0;
	o->ctl(q, IPC_RMID, NULL);
	return (double)n / t0;
}

/* (b) round trips per second between two processes. */
static double pingpong(const struct ops *o, long n)
{
	struct msg m = { .type = 1 };
	int q = newq(o);
	double t0;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		for (long i = 0; i < n; i++) {
			if (o->rcv(q, &m, 64, 1, 0) < 0)
				_exit(1);
			m.type = 2;
			if (o->snd(q, &m, 64, 0) < 0)
				_exit(1);
		}
		_exit(0);
	}
	memset(m.text, 'p', 64);
	t0 = now();
	for (long i = 0; i < n; i++) {
		m.type = 1;
		if (o->snd(q, &m, 64, 0) < 0 || o->rcv(q, &m, 64, 2, 0) < 0) {
			fprintf(stderr, "msg_bench: %s ping-pong: %s\n", o->name,
				strerror(errno));
			exit(1);
		}
	}
	t0 = now() - t0;
	waitpid(pid, NULL, 0);
	o->ctl(q, IPC_RMID, NULL);
	return (double)n / t0;
}

/* (c) messages per second from one process to another. */
static double stream(const struct ops *o, size_t size, long n)
{
	struct msg m = { .type = 1 };
	int q = newq(o);
	double t0;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			if (o->rcv(q, &m, sizeof(m.text), 0, 0) < 0)
				_exit(1);
		_exit(0);
	}
	memset(m.text, 's', size);
	t0 = now();
	for (long i = 0; i < n; i++)
		if (o->snd(q, &m, size, 0) < 0) {
			fprintf(stderr, "msg_bench: %s stream: %s\n", o->name,
				strerror(errno));
			exit(1);
		}
	waitpid(pid, NULL, 0);
	t0 = now() - t0;
	o->ctl(q, IPC_RMID, NULL);
	return (double)n / t0;
}

static void row(const char *what, double k, double u, const char *unit)
{
	printf("%-40s %12.0f %12.0f %7.2fx  %s\n", what, k, u, u / k, unit);
}

int main(int argc, char **argv)
{
	long scale = 1;
	char what[64];

	if (argc == 3 && !strcmp(argv[1], "--loop")) {
		long n = atol(argv[2]);

		printf("uipc nowait loop x%ld: %.0f ops/s\n", n, nowait_loop(&uipc, n));
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--quick"))
		scale = 10;
	else if (argc > 1) {
		fprintf(stderr, "usage: msg_bench [--quick] [--loop N]\n");
		return 2;
	}
	if (!kernel_has_msg()) {
		printf("msg_bench: the kernel has no System V IPC: nothing to "
		       "compare with\n");
		return 0;
	}
	printf("%-40s %12s %12s %8s\n", "message queues", "kernel", "uipc", "ratio");
	row("(a) 1 process, snd+rcv NOWAIT, 64 B",
	    nowait_loop(&kernel, 2000000 / scale),
	    nowait_loop(&uipc, 2000000 / scale), "pairs/s");
	row("(b) 2 processes, ping-pong, 64 B",
	    pingpong(&kernel, 200000 / scale), pingpong(&uipc, 200000 / scale),
	    "round trips/s");
	for (int i = 0; i < 3; i++) {
		static const size_t sizes[] = { 64, 1024, 8192 };
		long n = (sizes[i] >= 8192 ? 200000 : 1000000) / scale;

		snprintf(what, sizeof(what), "(c) 2 processes, stream, %zu B",
			 sizes[i]);
		row(what, stream(&kernel, sizes[i], n), stream(&uipc, sizes[i], n),
		    "msgs/s");
	}
	return 0;
}
