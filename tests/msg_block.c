/*
 * msg_block: blocked senders and receivers side by side with the kernel:
 * hand-off to a waiting receiver, E2BIG to a receiver whose buffer is too
 * small, EIDRM on removal, EINTR from a handler (SA_RESTART or not), no
 * EINTR from stop and continue, senders woken when room appears, and the
 * order in which blocked receivers are served; on uipc alone, a message
 * handed to a receiver killed before it ran goes to the next at the dead
 * one's exit work.
 */
#include "harness.h"

#include <sys/mman.h>
#include "internal.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

struct msg {
	long type;
	char text[64];
};

struct child {
	pid_t pid;
	int fd;
};

static void on_usr1(int sig)
{
	(void)sig;
}

/* What a child does: receive (size, type) or send (type, size) once. */
struct job {
	int send;
	int q;
	size_t size;
	long type;
	int flags;
	int handler;		/* install a SIGUSR1 handler with SA_RESTART */
};

/* The next spawn()'s receiver receives into a buffer that is not there. */
static int g_bad_buffer;

static struct child spawn(const struct ipc_ops *o, struct job j)
{
	struct child c = { -1, -1 };
	int p[2];

	if (pipe(p) < 0)
		return c;
	c.pid = fork();
	if (c.pid == 0) {
		struct msg m;
		char line[160];
		long r;

		close(p[0]);
		if (j.handler) {
			struct sigaction sa;

			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_usr1;
			sa.sa_flags = SA_RESTART;
			sigaction(SIGUSR1, &sa, NULL);
		}
		memset(&m, 0, sizeof(m));
		if (j.send) {
			m.type = j.type;
			snprintf(m.text, sizeof(m.text), "from child");
			r = o->msgsnd(j.q, &m, j.size, j.flags);
			if (r < 0)
				snprintf(line, sizeof(line), "send -> -1 %s", errname(errno));
			else
				snprintf(line, sizeof(line), "send -> ok");
		} else if (g_bad_buffer) {
			void *nowhere = mmap(NULL, 4096, PROT_NONE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			r = o->msgrcv(j.q, nowhere, j.size, j.type, j.flags);
			snprintf(line, sizeof(line), "recv -> %ld %s", r,
				 r < 0 ? errname(errno) : "");
		} else {
			r = o->msgrcv(j.q, &m, j.size, j.type, j.flags);
			if (r < 0)
				snprintf(line, sizeof(line), "recv -> -1 %s", errname(errno));
			else
				snprintf(line, sizeof(line), "recv -> %ld type=%ld text=%.*s",
					 r, m.type, (int)r, m.text);
		}
		write(p[1], line, strlen(line));
		_exit(0);
	}
	close(p[1]);
	c.fd = p[0];
	if (c.pid > 0)
		harness_child = c.pid;
	return c;
}

/* Waits for the child (bounded) and records what it said. */
static void collect(struct trace *t, struct child c, const char *who)
{
	char buf[200];
	ssize_t n;
	int st;

	n = read(c.fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(c.fd);
	waitpid(c.pid, &st, 0);
	tprintf(t, "%s: %s", who, n > 0 ? buf : "(nothing)");
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* collect(), and whether the child answered within 500 ms of since (ms):
 * a woken caller answers at once, one a waker forgot only when its sleep's
 * safety period (a second, on uipc) ends. */
static void collect_soon(struct trace *t, struct child c, const char *who,
			 double since)
{
	collect(t, c, who);
	tprintf(t, "%s answered at once: %d", who, now_ms() - since < 500);
}

static void send_text(const struct ipc_ops *o, int q, long type, const char *s)
{
	struct msg m;

	m.type = type;
	snprintf(m.text, sizeof(m.text), "%s", s);
	o->msgsnd(q, &m, strlen(s), 0);
}

static void stat_q(const struct ipc_ops *o, struct trace *t, int q,
		   const char *what, pid_t child)
{
	struct msqid_ds ds;
	const char *role[] = { "child" };

	if (tcall(t, what, o->msgctl(q, IPC_STAT, &ds)) == 0)
		trace_ds(t, what, &ds, &child, role, 1);
}

static void scen_handoff(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child c = spawn(o, (struct job){ 0, q, 64, 5, 0, 0 });
	double since;

	tprintf(t, "blocked: %d", wait_blocked(c.pid) == 0);
	send_text(o, q, 3, "not for you");
	stat_q(o, t, q, "after type 3", c.pid);
	since = now_ms();
	send_text(o, q, 5, "for you");
	collect_soon(t, c, "receiver", since);
	stat_q(o, t, q, "after hand-off", c.pid);
	o->msgctl(q, IPC_RMID, NULL);
}

static void scen_e2big(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child small = spawn(o, (struct job){ 0, q, 4, 0, 0, 0 });
	double since;

	wait_blocked(small.pid);
	since = now_ms();
	send_text(o, q, 1, "much too long");
	collect_soon(t, small, "small receiver", since);
	stat_q(o, t, q, "message stays", small.pid);
	o->msgctl(q, IPC_RMID, NULL);

	q = o->msgget(IPC_PRIVATE, 0600);
	small = spawn(o, (struct job){ 0, q, 4, 0, MSG_NOERROR, 0 });
	wait_blocked(small.pid);
	send_text(o, q, 1, "much too long");
	collect(t, small, "NOERROR receiver");
	stat_q(o, t, q, "truncated", small.pid);
	o->msgctl(q, IPC_RMID, NULL);
}

static void fill(const struct ipc_ops *o, int q)
{
	struct msqid_ds ds;
	struct msg m;

	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 8;
	o->msgctl(q, IPC_SET, &ds);
	m.type = 1;
	memset(m.text, 'f', 8);
	o->msgsnd(q, &m, 8, 0);
}

static void scen_eidrm(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child r = spawn(o, (struct job){ 0, q, 64, 2, 0, 0 });
	struct child s;
	double since;

	fill(o, q);
	s = spawn(o, (struct job){ 1, q, 4, 1, 0, 0 });
	wait_blocked(r.pid);
	wait_blocked(s.pid);
	since = now_ms();
	tcall(t, "rmid", o->msgctl(q, IPC_RMID, NULL));
	collect_soon(t, r, "receiver", since);
	collect_soon(t, s, "sender", since);
}

/* A receiver that blocked, woken with a message for a buffer that is not
 * there: EFAULT, as the kernel answers (the copy is made with the other
 * signals still blocked: a fault's must not be). */
static void scen_efault(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child r;

	g_bad_buffer = 1;
	r = spawn(o, (struct job){ 0, q, 64, 0, 0, 0 });
	g_bad_buffer = 0;
	wait_blocked(r.pid);
	send_text(o, q, 3, "to nowhere");
	collect(t, r, "receiver into a bad buffer");
	o->msgctl(q, IPC_RMID, NULL);
}

static void scen_eintr(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child r = spawn(o, (struct job){ 0, q, 64, 0, 0, 1 });
	struct child s;

	wait_blocked(r.pid);
	kill(r.pid, SIGUSR1);
	collect(t, r, "receiver, SA_RESTART handler");
	fill(o, q);
	s = spawn(o, (struct job){ 1, q, 4, 1, 0, 1 });
	wait_blocked(s.pid);
	kill(s.pid, SIGUSR1);
	collect(t, s, "sender, SA_RESTART handler");

	/* Stop and continue run no handler: the wait goes on. */
	o->msgctl(q, IPC_RMID, NULL);
	q = o->msgget(IPC_PRIVATE, 0600);
	r = spawn(o, (struct job){ 0, q, 64, 9, 0, 0 });
	wait_blocked(r.pid);
	kill(r.pid, SIGSTOP);
	usleep(20000);
	kill(r.pid, SIGCONT);
	wait_blocked(r.pid);
	send_text(o, q, 9, "after stop");
	collect(t, r, "receiver after stop/cont");
	stat_q(o, t, q, "end", r.pid);
	o->msgctl(q, IPC_RMID, NULL);
}

static void scen_room(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child s;
	struct msg m;

	fill(o, q);
	s = spawn(o, (struct job){ 1, q, 6, 3, 0, 0 });
	tprintf(t, "sender blocked: %d", wait_blocked(s.pid) == 0);
	stat_q(o, t, q, "full", s.pid);
	tcall(t, "take one", o->msgrcv(q, &m, 64, 1, 0));
	collect(t, s, "sender");
	stat_q(o, t, q, "sender got in", s.pid);
	o->msgctl(q, IPC_RMID, NULL);
}

/* IPC_SET raising msg_qbytes: a blocked sender whose message now fits
 * gets in (the kernel's ss_wakeup from msgctl_down). */
static void scen_set_room(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	struct child s;
	double since;

	fill(o, q);
	s = spawn(o, (struct job){ 1, q, 6, 3, 0, 0 });
	tprintf(t, "sender blocked: %d", wait_blocked(s.pid) == 0);
	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 64;
	since = now_ms();
	tcall(t, "raise qbytes to 64", o->msgctl(q, IPC_SET, &ds));
	collect_soon(t, s, "sender", since);
	stat_q(o, t, q, "sender got in", s.pid);
	o->msgctl(q, IPC_RMID, NULL);
}

static void scen_fifo(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child c[4];
	const char *names[4] = { "first", "second", "third", "fourth" };

	for (int i = 0; i < 4; i++) {
		/* The third waits for type 2 only: it is skipped for type 1. */
		c[i] = spawn(o, (struct job){ 0, q, 64, i == 2 ? 2 : 0, 0, 0 });
		wait_blocked(c[i].pid);
	}
	send_text(o, q, 1, "a");
	send_text(o, q, 1, "b");
	send_text(o, q, 1, "c");
	send_text(o, q, 2, "d");
	for (int i = 0; i < 4; i++)
		collect(t, c[i], names[i]);
	o->msgctl(q, IPC_RMID, NULL);
}

/* A receiver killed while blocked: its death must not swallow messages
 * (uipc may have handed one to it: the exit work puts it back). */
static void scen_killed_receiver(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child c = spawn(o, (struct job){ 0, q, 64, 0, 0, 0 });
	struct msg m;

	wait_blocked(c.pid);
	kill(c.pid, SIGKILL);
	waitpid(c.pid, NULL, 0);
	close(c.fd);
	send_text(o, q, 1, "after the death");
	stat_q(o, t, q, "message kept", c.pid);
	memset(&m, 0, sizeof(m));
	tprintf(t, "received: %zd %s", o->msgrcv(q, &m, 64, 0, IPC_NOWAIT), m.text);
	o->msgctl(q, IPC_RMID, NULL);
}

/*
 * uipc only (the kernel loses such a message with its receiver, see
 * docs/uipc.md): a message handed to the first of two blocked receivers,
 * which is killed before it runs, goes to the second at once when the dead
 * one's exit work is done (`uipc reap`, or whoever finds it dead), not
 * when the second's sleep ends by its safety period.
 */
static void handed_to_the_dead(void)
{
	struct uipc_nsh *h;
	int err = 0, q = uipc_msgget(IPC_PRIVATE, 0600), before = harness_failures;
	struct child b1, b2;
	struct trace t = { 0 };
	double since;

	h = uipc_ns_get(&err);
	if (!h || q < 0) {
		CHECK(0, "handed to the dead: setup: %s", strerror(errno));
		return;
	}
	b1 = spawn(&uipc_ops, (struct job){ 0, q, 64, 0, 0, 0 });
	CHECK(wait_blocked(b1.pid) == 0, "handed to the dead: first not blocked");
	b2 = spawn(&uipc_ops, (struct job){ 0, q, 64, 0, 0, 0 });
	CHECK(wait_blocked(b2.pid) == 0, "handed to the dead: second not blocked");
	kill(b1.pid, SIGSTOP);
	for (int i = 0; i < 500 && harness_proc_state(b1.pid) != 'T'; i++)
		usleep(1000);
	send_text(&uipc_ops, q, 1, "handed");
	kill(b1.pid, SIGKILL);
	waitpid(b1.pid, NULL, 0);
	close(b1.fd);
	since = now_ms();
	uipc_proc_reap_all(h);
	collect_soon(&t, b2, "second", since);
	CHECK(t.s && strstr(t.s, "second: recv -> 6 type=1 text=handed\n") &&
	      strstr(t.s, "second answered at once: 1"),
	      "handed to the dead: the second receiver got: %s", t.s ? t.s : "");
	trace_free(&t);
	uipc_msgctl(q, IPC_RMID, NULL);
	printf("%s a message handed to a receiver killed before it ran goes to "
	       "the next one at the exit work\n",
	       harness_failures == before ? "ok  " : "FAIL");
}

/* More callers blocked than a queue has waiter records (128): the rest
 * wait on the overflow word and must still each get exactly one message,
 * and all of them EIDRM on removal. */
#define MANY 140

static void scen_many(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct child c[MANY];
	int got = 0, eidrm = 0, blocked = 0;
	char seen[MANY + 1];

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < MANY; i++)
		c[i] = spawn(o, (struct job){ 0, q, 64, 0, 0, 0 });
	for (int i = 0; i < MANY; i++)
		blocked += wait_blocked(c[i].pid) == 0;
	tprintf(t, "blocked receivers: %d", blocked);
	for (int i = 0; i < MANY; i++) {
		char text[16];

		snprintf(text, sizeof(text), "n%d", i);
		send_text(o, q, 1, text);
	}
	for (int i = 0; i < MANY; i++) {
		char buf[200];
		ssize_t n = read(c[i].fd, buf, sizeof(buf) - 1);
		int k;

		buf[n > 0 ? n : 0] = 0;
		close(c[i].fd);
		waitpid(c[i].pid, NULL, 0);
		if (sscanf(buf, "recv -> %*d type=1 text=n%d", &k) == 1 &&
		    k >= 0 && k < MANY && !seen[k]++)
			got++;
	}
	tprintf(t, "each message received once: %d of %d", got, MANY);
	for (int i = 0; i < MANY; i++)
		c[i] = spawn(o, (struct job){ 0, q, 64, 0, 0, 0 });
	for (int i = 0; i < MANY; i++)
		wait_blocked(c[i].pid);
	tcall(t, "rmid under many", o->msgctl(q, IPC_RMID, NULL));
	for (int i = 0; i < MANY; i++) {
		char buf[200];
		ssize_t n = read(c[i].fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = 0;
		close(c[i].fd);
		waitpid(c[i].pid, NULL, 0);
		eidrm += strstr(buf, "EIDRM") != NULL;
	}
	tprintf(t, "woken with EIDRM: %d of %d", eidrm, MANY);
}

int main(void)
{
	harness_init(120);
	run_both("hand-off to a blocked receiver", scen_handoff);
	run_both("E2BIG to a blocked receiver", scen_e2big);
	run_both("EIDRM to blocked callers", scen_eidrm);
	run_both("EFAULT to a blocked receiver", scen_efault);
	run_both("EINTR, stop and continue", scen_eintr);
	run_both("blocked sender gets room", scen_room);
	run_both("blocked sender gets room from IPC_SET", scen_set_room);
	run_both("blocked receivers served in order", scen_fifo);
	run_both("a blocked receiver killed", scen_killed_receiver);
	run_both("more blocked callers than waiter records", scen_many);
	handed_to_the_dead();
	return harness_done();
}
