/*
 * ops.h: one table of message-queue calls for the kernel and one for uipc,
 * so that the benchmarks and the demo run the same code on both.
 */
#ifndef UIPC_BENCH_OPS_H
#define UIPC_BENCH_OPS_H

#include <errno.h>
#include <sys/msg.h>

#include "uipc.h"

struct ops {
	const char *name;
	int (*get)(key_t, int);
	int (*snd)(int, const void *, size_t, int);
	ssize_t (*rcv)(int, void *, size_t, long, int);
	int (*ctl)(int, int, struct msqid_ds *);
};

static const struct ops kernel = { "kernel", msgget, msgsnd, msgrcv, msgctl };
static const struct ops uipc = { "uipc", uipc_msgget, uipc_msgsnd, uipc_msgrcv,
				 uipc_msgctl };

/* 1 if the kernel has System V message queues here (and leaves none). */
static inline int kernel_has_msg(void)
{
	int q = msgget(IPC_PRIVATE, 0600);

	if (q < 0)
		return 0;
	msgctl(q, IPC_RMID, NULL);
	return 1;
}

#endif
