/*
 * make demo: separate processes talk through a uipc message queue and
 * through a kernel one, the same program for both; `uipc ls` shows the
 * uipc queue and who waits on it; then the benchmark figures side by side.
 *
 * Usage: demo BUILD_DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uipc.h"
#include "../bench/ops.h"

struct order {
	long type;		/* 1 starter, 2 main, 3 dessert */
	char text[64];
};

static const char *course[] = { "", "starter", "main", "dessert" };

/* The kitchen: serves urgent mains first, then the lowest course left. */
static void kitchen(const struct ops *o, int q)
{
	struct order m;
	ssize_t n;

	n = o->rcv(q, &m, sizeof(m.text), 2, 0);
	if (n >= 0)
		printf("  [%s kitchen pid %d] first, any main: %s (%s)\n", o->name,
		       (int)getpid(), m.text, course[m.type]);
	while ((n = o->rcv(q, &m, sizeof(m.text), -3, IPC_NOWAIT)) >= 0)
		printf("  [%s kitchen pid %d] lowest course left: %s (%s)\n",
		       o->name, (int)getpid(), m.text, course[m.type]);
	n = o->rcv(q, &m, sizeof(m.text), 0, 0);	/* wait for the bill */
	if (n >= 0)
		printf("  [%s kitchen pid %d] blocked until: %s\n", o->name,
		       (int)getpid(), m.text);
	fflush(stdout);
	_exit(0);
}

static void orders(const struct ops *o, int q)
{
	static const struct { long type; const char *text; } list[] = {
		{ 3, "ice cream" }, { 1, "soup" }, { 2, "risotto" },
		{ 1, "salad" }, { 3, "cake" },
	};
	struct order m;

	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		m.type = list[i].type;
		snprintf(m.text, sizeof(m.text), "%s", list[i].text);
		o->snd(q, &m, strlen(m.text) + 1, 0);
		printf("  [%s orders  pid %d] sent %s (%s)\n", o->name,
		       (int)getpid(), m.text, course[m.type]);
	}
	fflush(stdout);
	_exit(0);
}

static int run(const struct ops *o, const char *build, key_t key)
{
	struct order bill = { 9, "the bill, please" };
	struct msqid_ds ds;
	char cmd[512];
	int q = o->get(key, IPC_CREAT | 0600);
	pid_t p, k;

	if (q < 0) {
		printf("%s: msgget: %s\n", o->name, strerror(errno));
		return 1;
	}
	printf("\n== %s: queue key 0x%x, id %d\n", o->name, (unsigned)key, q);
	p = fork();
	if (p == 0)
		orders(o, q);
	waitpid(p, NULL, 0);
	o->ctl(q, IPC_STAT, &ds);
	printf("  %lu orders waiting, %lu bytes\n", (unsigned long)ds.msg_qnum,
	       (unsigned long)ds.__msg_cbytes);
	k = fork();
	if (k == 0)
		kitchen(o, q);
	usleep(300000);
	if (o == &uipc) {
		printf("  $ uipc ls        (the kitchen is blocked on the queue)\n");
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "%s/uipc ls | sed 's/^/    /'", build);
		if (system(cmd) != 0)
			printf("    (uipc ls failed)\n");
	}
	o->snd(q, &bill, strlen(bill.text) + 1, 0);
	waitpid(k, NULL, 0);
	o->ctl(q, IPC_STAT, &ds);
	printf("  done: qnum %lu, last sender pid %d, last receiver pid %d\n",
	       (unsigned long)ds.msg_qnum, ds.msg_lspid, ds.msg_lrpid);
	o->ctl(q, IPC_RMID, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	char ns[64], cmd[512];
	key_t key = (key_t)(0x44454d00 | (getpid() & 0xff));
	int rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("UIPC_NS")) {
		snprintf(ns, sizeof(ns), "/dev/shm/uipc-demo.%d", (int)getpid());
		setenv("UIPC_NS", ns, 1);
	}
	printf("uipc demo: the same program on uipc (namespace %s) and on the "
	       "kernel\n", getenv("UIPC_NS"));
	rc |= run(&uipc, build, key);
	if (!kernel_has_msg())
		printf("\n== kernel: no System V IPC here; uipc needs none\n");
	else
		rc |= run(&kernel, build, key);
	printf("\n== figures (bench/msg_bench --quick; `make bench` for the full run)\n");
	snprintf(cmd, sizeof(cmd), "%s/bench/msg_bench --quick", build);
	rc |= system(cmd) != 0;
	if (!strncmp(getenv("UIPC_NS"), "/dev/shm/uipc-demo.", 19)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", getenv("UIPC_NS"));
		rc |= system(cmd) != 0;
	}
	return rc;
}
