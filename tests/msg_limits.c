/*
 * msg_limits: msgmax, msgmnb and msgmni set the same on the kernel
 * (/proc/sys/kernel of the test's own IPC namespace, which the harness
 * makes as root, so no one else's limits change) and on uipc
 * (the namespace's limits, as `uipc limits` sets them), then the same calls
 * compared.  Also: the tool's answers to bad arguments.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <sys/wait.h>

static const char *names[3] = { "msgmax", "msgmnb", "msgmni" };

static int write_kernel(const char *name, long v)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void set_limit(const struct ipc_ops *o, int which, long v)
{
	if (o == &kernel_ops) {
		write_kernel(names[which], v);
	} else {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "%s/uipc limits %s=%ld",
			 getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build",
			 names[which], v);
		if (system(cmd) != 0)
			CHECK(0, "%s failed", cmd);
	}
}

static int in_use(const struct ipc_ops *o)
{
	struct msginfo mi;

	o->msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	return mi.msgpool;
}

static void scen_limits(const struct ipc_ops *o, struct trace *t)
{
	struct { long type; char text[9000]; } m = { 1, "" };
	struct msqid_ds ds;
	int ids[8], n = 0, q, gone;

	set_limit(o, 0, 100);
	q = o->msgget(IPC_PRIVATE, 0600);
	tcall(t, "msgmax 100: send 100", o->msgsnd(q, &m, 100, IPC_NOWAIT));
	tcall(t, "msgmax 100: send 101", o->msgsnd(q, &m, 101, IPC_NOWAIT));
	tprintf(t, "MSG_COPY caps at msgmax: %zd %s",
		o->msgrcv(q, &m, 5000, 0, MSG_COPY | IPC_NOWAIT), errname(errno));
	set_limit(o, 0, 8192);

	set_limit(o, 1, 1000);
	o->msgctl(q, IPC_STAT, &ds);
	tprintf(t, "old queue keeps qbytes %lu", (unsigned long)ds.msg_qbytes);
	ids[n++] = o->msgget(IPC_PRIVATE, 0600);
	o->msgctl(ids[0], IPC_STAT, &ds);
	tprintf(t, "new queue gets qbytes %lu", (unsigned long)ds.msg_qbytes);
	ds.msg_qbytes = 1001;
	tcall(t, "IPC_SET above msgmnb", o->msgctl(ids[0], IPC_SET, &ds));
	ds.msg_qbytes = 1000;
	tcall(t, "IPC_SET at msgmnb", o->msgctl(ids[0], IPC_SET, &ds));
	set_limit(o, 1, 16384);

	/* msgmni: room for exactly two more queues. */
	set_limit(o, 2, in_use(o) + 2);
	for (int i = 0; i < 3; i++) {
		int id = o->msgget(IPC_PRIVATE, 0600);

		tcall(t, "create under msgmni", id);
		if (id >= 0)
			ids[n++] = id;
	}
	tcall(t, "create with a key under msgmni",
	      o->msgget(test_key(5), IPC_CREAT | 0600));
	o->msgctl(ids[n - 1], IPC_RMID, NULL);
	n--;
	gone = ids[n];
	tcall(t, "room again after a removal", ids[n] = o->msgget(IPC_PRIVATE, 0600));
	/* On uipc the index is the one just freed (msgmni bounds its
	 * cycle): its sequence number moves, so the id is not the old one. */
	tprintf(t, "the new id is not the removed one: %d", ids[n] != gone);
	n++;
	set_limit(o, 2, 32000);
	for (int i = 0; i < n; i++)
		o->msgctl(ids[i], IPC_RMID, NULL);
	o->msgctl(q, IPC_RMID, NULL);
}

/* A namespace an older uipc made: the tool says so in one line. */
static void old_layout(const char *b)
{
	char dir[] = "/tmp/uipc-old.XXXXXX", cmd[512], out[512] = "";
	uint32_t hdr[4] = { UIPC_NS_MAGIC, UIPC_LAYOUT - 1, 0, 0 };
	int fd, st;

	if (!mkdtemp(dir))
		return;
	snprintf(cmd, sizeof(cmd), "%s/ns", dir);
	fd = open(cmd, O_RDWR | O_CREAT, 0666);
	if (fd >= 0) {
		write(fd, hdr, sizeof(hdr));
		close(fd);
	}
	snprintf(cmd, sizeof(cmd), "UIPC_NS=%s %s/uipc ls 2>&1", dir, b);
	st = run_capture(out, sizeof(out), cmd);
	CHECK(st != 0 && strstr(out, "has layout") && strchr(out, '\n') ==
	      out + strlen(out) - 1, "an old namespace: exit %d, \"%s\"", st, out);
	snprintf(cmd, sizeof(cmd), "rm -r %s", dir);
	if (system(cmd) == 0 && !harness_failures)
		printf("ok   an older uipc's namespace: \"%.*s\"\n",
		       (int)strcspn(out, "\n"), out);
}

/* The tool: a bad argument gets one line on stderr and a non-zero exit. */
static void tool_errors(void)
{
	static const char *bad[] = {
		"", "bogus", "--ns", "rm", "rm -q", "rm -q abc", "rm -q 99999",
		"rm -Q 0", "rm -x 1", "limits msgmax", "limits nosuch=1",
		"limits msgmax=-1", "limits msgmax=abc", "limits msgmni=99999",
		"ls -z", "reap extra",
	};
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char cmd[512], out[512];
		int lines = 0, st = 0;
		FILE *f;

		snprintf(cmd, sizeof(cmd), "%s/uipc %s 2>&1 >/dev/null; echo \"rc=$?\"",
			 b, bad[i]);
		f = popen(cmd, "r");
		while (f && fgets(out, sizeof(out), f))
			if (strncmp(out, "rc=", 3))
				lines++;
			else
				st = atoi(out + 3);
		if (f)
			pclose(f);
		CHECK(lines == 1 && st != 0, "'uipc %s': %d line(s), exit %d",
		      bad[i], lines, st);
	}
	printf("ok   uipc answers %zu bad arguments with one line and a non-zero "
	       "exit\n", sizeof(bad) / sizeof(bad[0]));
	old_layout(b);
}

int main(void)
{
	harness_init(120);
	tool_errors();
	if (!harness_private_ipc ||
	    access("/proc/sys/kernel/msgmax", W_OK) != 0) {
		printf("SKIP: changing the kernel's limits to compare needs an IPC "
		       "namespace of the test's own (root)\n");
		return harness_failures ? 1 : 77;
	}
	run_both("msgmax, msgmnb, msgmni", scen_limits);
	return harness_done();
}
