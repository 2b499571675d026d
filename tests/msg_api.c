/*
 * msg_api: msgget, msgsnd, msgrcv and msgctl side by side with the kernel,
 * in one process and as an unprivileged user: every error of the man pages,
 * every receive mode, and the msqid_ds fields.
 */
#include "harness.h"

#include <sched.h>

#include <limits.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define NOBODY 65534

struct msg {
	long type;
	char text[9000];
};

static void set_text(struct msg *m, long type, const char *s)
{
	m->type = type;
	snprintf(m->text, sizeof(m->text), "%s", s);
}

static void stat_q(const struct ipc_ops *o, struct trace *t, int q,
		   const char *what)
{
	struct msqid_ds ds;

	if (tcall(t, what, o->msgctl(q, IPC_STAT, &ds)) == 0)
		trace_ds(t, what, &ds, NULL, NULL, 0);
}

/* Receives and records what came: return, type and text. */
static void rcv(const struct ipc_ops *o, struct trace *t, int q, size_t sz,
		long typ, int flg, const char *what)
{
	struct msg m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	n = o->msgrcv(q, &m, sz, typ, flg);
	if (n < 0)
		tprintf(t, "%s -> -1 %s", what, errname(errno));
	else
		tprintf(t, "%s -> %zd type=%ld text=%.*s", what, n, m.type,
			(int)n, m.text);
}

/* ---- msgget ---------------------------------------------------------- */

static void scen_get(const struct ipc_ops *o, struct trace *t)
{
	key_t k = test_key(1);
	int a, b, c;

	a = o->msgget(IPC_PRIVATE, 0600);
	b = o->msgget(IPC_PRIVATE, 0600);
	tprintf(t, "private twice: distinct=%d", a >= 0 && b >= 0 && a != b);
	tcall(t, "get key no CREAT", o->msgget(k, 0600));
	c = (int)tcall(t, "get key CREAT", o->msgget(k, IPC_CREAT | 0640));
	tprintf(t, "same id again: %d", o->msgget(k, 0) == c);
	tprintf(t, "same id CREAT: %d", o->msgget(k, IPC_CREAT | 0600) == c);
	tcall(t, "get key CREAT|EXCL", o->msgget(k, IPC_CREAT | IPC_EXCL | 0600));
	tcall(t, "get key EXCL alone", o->msgget(k, IPC_EXCL));
	stat_q(o, t, c, "stat new");
	tcall(t, "rmid", o->msgctl(c, IPC_RMID, NULL));
	tcall(t, "get removed key", o->msgget(k, 0));
	tcall(t, "rmid again", o->msgctl(c, IPC_RMID, NULL));
	c = (int)tcall(t, "recreate", o->msgget(k, IPC_CREAT | 0666));
	tprintf(t, "new id differs: %d", c >= 0 && c != a && c != b);
	tcall(t, "mode bits ignored beyond 0777",
	      o->msgget(test_key(2), IPC_CREAT | 07777));
	stat_q(o, t, o->msgget(test_key(2), 0), "stat 07777");
	o->msgctl(o->msgget(test_key(2), 0), IPC_RMID, NULL);
	o->msgctl(c, IPC_RMID, NULL);
	o->msgctl(a, IPC_RMID, NULL);
	o->msgctl(b, IPC_RMID, NULL);
}

/* ---- msgsnd errors and the full queue --------------------------------- */

static void scen_snd(const struct ipc_ops *o, struct trace *t)
{
	struct msg m;
	struct msqid_ds ds;
	int q = o->msgget(IPC_PRIVATE, 0600);
	/* Inaccessible, not unmapped: a hole left by munmap may be the
	 * next page the library (its C library's malloc) maps, in the
	 * middle of the call. */
	void *noaccess = mmap(NULL, 8192, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *ronly = mmap(NULL, 4096, PROT_READ,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	set_text(&m, 1, "x");
	tcall(t, "size above msgmax", o->msgsnd(q, &m, 8193, IPC_NOWAIT));
	tcall(t, "size msgmax", o->msgsnd(q, &m, 8192, IPC_NOWAIT));
	tcall(t, "size negative", o->msgsnd(q, &m, (size_t)-1, IPC_NOWAIT));
	tcall(t, "size LONG_MIN", o->msgsnd(q, &m, (size_t)LONG_MIN, IPC_NOWAIT));
	m.type = 0;
	tcall(t, "mtype 0", o->msgsnd(q, &m, 1, IPC_NOWAIT));
	m.type = -5;
	tcall(t, "mtype negative", o->msgsnd(q, &m, 1, IPC_NOWAIT));
	m.type = 1;
	tcall(t, "id -1", o->msgsnd(-1, &m, 1, IPC_NOWAIT));
	tcall(t, "id INT_MIN", o->msgsnd(INT_MIN, &m, 1, IPC_NOWAIT));
	tcall(t, "id never used", o->msgsnd(q + 12345, &m, 1, IPC_NOWAIT));
	tcall(t, "id wrong seq", o->msgsnd(q + 32768, &m, 1, IPC_NOWAIT));
	tcall(t, "msgp NULL", o->msgsnd(q, NULL, 1, IPC_NOWAIT));
	tcall(t, "msgp inaccessible", o->msgsnd(q, noaccess, 1, IPC_NOWAIT));
	tcall(t, "msgp NULL, bad id", o->msgsnd(-1, NULL, 1, IPC_NOWAIT));
	tcall(t, "msgp NULL, bad size", o->msgsnd(q, NULL, 9000, IPC_NOWAIT));
	tcall(t, "text runs off the map",
	      o->msgsnd(q, (char *)ronly + 4096 - sizeof(long) - 8, 100, IPC_NOWAIT));
	tcall(t, "text runs off, bad id",
	      o->msgsnd(-1, (char *)ronly + 4096 - sizeof(long) - 8, 100, IPC_NOWAIT));
	tcall(t, "mtype readable, text not",
	      o->msgsnd(q, (char *)ronly + 4096 - sizeof(long), 1, IPC_NOWAIT));
	tcall(t, "read-only msgp is fine", o->msgsnd(q, ronly, 0, IPC_NOWAIT));
	stat_q(o, t, q, "after errors");

	/* Fill by bytes: 16384 = 2 * 8192. */
	memset(m.text, 'b', 8192);
	m.type = 2;
	tcall(t, "fill 1", o->msgsnd(q, &m, 8192, IPC_NOWAIT));
	tcall(t, "fill 2", o->msgsnd(q, &m, 8192 - 1, IPC_NOWAIT));
	tcall(t, "full by bytes", o->msgsnd(q, &m, 2, IPC_NOWAIT));
	tcall(t, "one byte left", o->msgsnd(q, &m, 1, IPC_NOWAIT));
	tcall(t, "zero bytes, full", o->msgsnd(q, &m, 0, IPC_NOWAIT));
	stat_q(o, t, q, "full");
	o->msgctl(q, IPC_RMID, NULL);

	/* Full by count: qnum + 1 > qbytes with empty messages. */
	q = o->msgget(IPC_PRIVATE, 0600);
	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 5;
	tcall(t, "qbytes 5", o->msgctl(q, IPC_SET, &ds));
	for (int i = 0; i < 6; i++) {
		char what[32];

		snprintf(what, sizeof(what), "empty msg %d", i);
		tcall(t, what, o->msgsnd(q, &m, 0, IPC_NOWAIT));
	}
	stat_q(o, t, q, "full by count");
	ds.msg_qbytes = 0;
	tcall(t, "qbytes 0", o->msgctl(q, IPC_SET, &ds));
	tcall(t, "send into qbytes 0", o->msgsnd(q, &m, 0, IPC_NOWAIT));
	o->msgctl(q, IPC_RMID, NULL);
	tcall(t, "send to removed", o->msgsnd(q, &m, 1, IPC_NOWAIT));
	munmap(ronly, 4096);
	munmap(noaccess, 8192);
}

/* ---- a queue filled to qbytes, read by a process that mapped it empty --
 * (on uipc the queue's file starts at one page of blocks and grows under
 * that reader: it must see every message whole, in order). */

struct grow_side {
	const struct ipc_ops *o;
	int q;
	int go[2], out[2];
};

static long grow_size(long i)
{
	static const long sizes[] = { 8192, 1, 224, 225, 3000, 0, 8000, 476 };

	return sizes[i % 8];
}

static char grow_byte(long i, long j)
{
	return (char)(i * 31 + j * 7);
}

/* Receives until ENOMSG, checking each message against what the sender
 * made (types i % 7 + 1; sizes by grow_size() when sized, else 0). */
static void grow_drain(struct grow_side *c, const char *phase, int sized,
		       char *line, size_t n)
{
	struct msg m;
	long got = 0, bad = 0, bytes = 0;
	ssize_t r;

	while ((r = c->o->msgrcv(c->q, &m, sizeof(m.text), 0, IPC_NOWAIT)) >= 0) {
		long want = sized ? grow_size(got) : 0;

		bad += m.type != got % 7 + 1 || r != want;
		for (long j = 0; j < r && j < want; j++)
			bad += m.text[j] != grow_byte(got, j);
		bytes += r;
		got++;
	}
	snprintf(line, n, "%s: received %ld (%ld bytes), %ld wrong, then %s\n",
		 phase, got, bytes, bad, errname(errno));
}

static void grow_reader(void *arg, int ready_fd)
{
	struct grow_side *c = arg;
	struct msg m;
	char line[256], ch;
	ssize_t r;

	r = c->o->msgrcv(c->q, &m, sizeof(m.text), 0, IPC_NOWAIT);
	snprintf(line, sizeof(line), "empty: %zd %s\n", r, errname(errno));
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	/* Blocked: the 8 KiB message handed to it needs more blocks than a
	 * new queue has. */
	memset(&m, 0, sizeof(m));
	r = c->o->msgrcv(c->q, &m, sizeof(m.text), 99, 0);
	snprintf(line + strlen(line), sizeof(line) - strlen(line),
		 "blocked: %zd type %ld, bytes %s\n", r, m.type,
		 r == 8192 && m.text[0] == 'h' && m.text[8191] == 'H' ?
		 "right" : "wrong");
	if (write(c->out[1], line, strlen(line)) < 0)
		_exit(1);
	for (int phase = 0; phase < 2; phase++) {
		if (read(c->go[0], &ch, 1) != 1)
			_exit(1);
		grow_drain(c, phase ? "empty messages" : "sized messages",
			   !phase, line, sizeof(line));
		if (write(c->out[1], line, strlen(line)) < 0)
			_exit(1);
	}
}

static void grow_report(struct grow_side *c, struct trace *t)
{
	char buf[512];
	ssize_t n = 0, r;

	while (n < (ssize_t)sizeof(buf) - 1 &&
	       (r = read(c->out[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0) {
		n += r;
		if (buf[n - 1] == '\n')
			break;
	}
	buf[n > 0 ? n : 0] = 0;
	tlines(t, "reader: ", buf);
}

static void grow_stat(const struct ipc_ops *o, struct trace *t, int q,
		      const char *what, pid_t reader)
{
	static const char *const roles[] = { "reader" };
	struct msqid_ds ds;

	if (tcall(t, what, o->msgctl(q, IPC_STAT, &ds)) == 0)
		trace_ds(t, what, &ds, &reader, roles, 1);
}

static void scen_grow(const struct ipc_ops *o, struct trace *t)
{
	static struct msg m;
	struct grow_side c = { .o = o };
	struct msqid_ds ds;
	long sent, qbytes;
	pid_t kid;
	int st;

	c.q = o->msgget(IPC_PRIVATE, 0600);
	if (c.q < 0 || pipe(c.go) < 0 || pipe(c.out) < 0) {
		tprintf(t, "setup failed: %s", errname(errno));
		return;
	}
	o->msgctl(c.q, IPC_STAT, &ds);
	qbytes = (long)ds.msg_qbytes;
	kid = fork_ready(grow_reader, &c);
	tprintf(t, "reader started: %s", kid > 0 ? "yes" : "no");
	if (kid > 0) {
		tprintf(t, "reader blocked: %d", wait_blocked(kid));
		memset(m.text, 'h', 8192);
		m.text[8191] = 'H';
		m.type = 99;
		tcall(t, "send 8 KiB to the blocked reader",
		      o->msgsnd(c.q, &m, 8192, 0));
		grow_report(&c, t);
		for (sent = 0;; sent++) {
			m.type = sent % 7 + 1;
			for (long j = 0; j < grow_size(sent); j++)
				m.text[j] = grow_byte(sent, j);
			if (o->msgsnd(c.q, &m, (size_t)grow_size(sent), IPC_NOWAIT) < 0)
				break;
		}
		tprintf(t, "sized messages: %ld sent, then %s", sent,
			errname(errno));
		grow_stat(o, t, c.q, "full of sized messages", kid);
		if (write(c.go[1], "g", 1) != 1)
			tprintf(t, "go: %s", errname(errno));
		grow_report(&c, t);
		for (sent = 0; sent <= qbytes; sent++) {
			m.type = sent % 7 + 1;
			if (o->msgsnd(c.q, &m, 0, IPC_NOWAIT) < 0)
				break;
		}
		tprintf(t, "empty messages: qbytes %s sent, then %s",
			sent == qbytes ? "exactly" : "not", errname(errno));
		o->msgctl(c.q, IPC_STAT, &ds);
		tprintf(t, "qnum %s qbytes", (long)ds.msg_qnum == qbytes ?
			"==" : "!=");
		if (write(c.go[1], "g", 1) != 1)
			tprintf(t, "go: %s", errname(errno));
		grow_report(&c, t);
		waitpid(kid, &st, 0);
		tprintf(t, "reader status %d", st);
	}
	grow_stat(o, t, c.q, "drained", kid);
	o->msgctl(c.q, IPC_RMID, NULL);
	close(c.go[0]);
	close(c.go[1]);
	close(c.out[0]);
	close(c.out[1]);
}

/* A reader blocked on a queue that a send grows (on uipc: the file, which
 * the reader maps again when it wakes), then removed: EIDRM, and a
 * sender racing IPC_RMID sees only what the kernel says (EAGAIN, EINVAL,
 * EIDRM), never an error of its own. */
struct rmid_side {
	const struct ipc_ops *o;
	int q, out[2];
	long type;	/* what the blocked reader waits for: 0 any */
};

/* Maps the queue while it is small, then blocks for c->type and says what
 * it got: the error, or the bytes of an 8000-byte message of 'h's. */
static void rmid_reader(void *arg, int ready_fd)
{
	struct rmid_side *c = arg;
	static struct msg m;
	char line[96];
	ssize_t r;

	c->o->msgrcv(c->q, &m, 16, 99, IPC_NOWAIT);	/* mapped while small */
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	r = c->o->msgrcv(c->q, &m, sizeof(m.text), c->type, 0);
	if (r < 0)
		snprintf(line, sizeof(line), "blocked msgrcv -> -1 %s\n",
			 errname(errno));
	else
		snprintf(line, sizeof(line), "blocked msgrcv -> %zd, type %ld, "
			 "bytes %s\n", r, m.type, r == 8000 && m.text[0] == 'h' &&
			 m.text[7999] == 'h' ? "right" : "wrong");
	if (write(c->out[1], line, strlen(line)) < 0)
		_exit(1);
}

/* A message handed to a blocked receiver is the receiver's (the kernel's
 * pipelined_send), even if the queue is removed before the receiver runs
 * again: on uipc the send grew the file the receiver maps small, and the
 * name it would map it again by is gone by then.  The receiver waits for
 * any type; the sender runs first-in-first-out on the receiver's CPU, so
 * the receiver cannot run between the send and the IPC_RMID. */
static void scen_handed_rmid(const struct ipc_ops *o, struct trace *t)
{
	static struct msg m;
	struct rmid_side c = { .o = o, .type = 0 };
	struct sched_param sp = { .sched_priority = 1 };
	char line[128] = "";
	cpu_set_t one;
	int st;
	pid_t kid;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	c.q = o->msgget(IPC_PRIVATE, 0600);
	if (c.q < 0 || pipe(c.out) < 0 ||
	    sched_setaffinity(0, sizeof(one), &one) < 0) {
		tprintf(t, "setup failed: %s", errname(errno));
		return;
	}
	kid = fork_ready(rmid_reader, &c);	/* on this CPU too */
	tprintf(t, "reader blocked: %d", kid > 0 && wait_blocked(kid) == 0);
	memset(m.text, 'h', 8000);
	m.type = 3;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0) {
		tcall(t, "send 8000 bytes", o->msgsnd(c.q, &m, 8000, IPC_NOWAIT));
		tcall(t, "IPC_RMID", o->msgctl(c.q, IPC_RMID, NULL));
		sp.sched_priority = 0;
		sched_setscheduler(0, SCHED_OTHER, &sp);
	} else {	/* not allowed: the order is left to chance */
		tcall(t, "send 8000 bytes", o->msgsnd(c.q, &m, 8000, IPC_NOWAIT));
		tcall(t, "IPC_RMID", o->msgctl(c.q, IPC_RMID, NULL));
	}
	if (kid > 0) {
		if (read(c.out[0], line, sizeof(line) - 1) < 0)
			tprintf(t, "reader: %s", errname(errno));
		tlines(t, "reader: ", line);
		waitpid(kid, &st, 0);
	}
	CPU_ZERO(&one);
	for (int i = 0; i < CPU_SETSIZE && i < 1024; i++)
		CPU_SET(i, &one);
	sched_setaffinity(0, sizeof(one), &one);
	close(c.out[0]);
	close(c.out[1]);
}

static void scen_grow_rmid(const struct ipc_ops *o, struct trace *t)
{
	static struct msg m;
	struct rmid_side c = { .o = o, .type = 99 };
	char line[96] = "";
	int ids[2], acks[2], other = 0, st;
	pid_t kid;

	c.q = o->msgget(IPC_PRIVATE, 0600);
	if (c.q < 0 || pipe(c.out) < 0) {
		tprintf(t, "setup failed: %s", errname(errno));
		return;
	}
	kid = fork_ready(rmid_reader, &c);
	tprintf(t, "reader blocked: %d", kid > 0 && wait_blocked(kid) == 0);
	m.type = 1;
	tcall(t, "send 8000 bytes", o->msgsnd(c.q, &m, 8000, IPC_NOWAIT));
	tcall(t, "IPC_RMID", o->msgctl(c.q, IPC_RMID, NULL));
	if (kid > 0) {
		if (read(c.out[0], line, sizeof(line) - 1) < 0)
			tprintf(t, "reader: %s", errname(errno));
		tlines(t, "reader: ", line);
		waitpid(kid, &st, 0);
	}
	close(c.out[0]);
	close(c.out[1]);

	/* The race: another process removes each queue a moment after it
	 * is made, while this one sends 8 KiB messages into it (the first
	 * grows a new queue's file). */
	if (pipe(ids) < 0 || pipe(acks) < 0)
		return;
	kid = fork();
	if (kid == 0) {
		int id;

		close(ids[1]);
		alarm(60);
		while (read(ids[0], &id, sizeof(id)) == sizeof(id)) {
			if (write(acks[1], "r", 1) != 1)
				break;
			for (volatile int i = 0; i < (id % 7) * 300; i++)
				;
			o->msgctl(id, IPC_RMID, NULL);
		}
		_exit(0);
	}
	close(ids[0]);
	for (int it = 0; kid > 0 && it < 1000; it++) {
		int id = o->msgget(IPC_PRIVATE, 0600);
		char ch;

		if (id < 0 || write(ids[1], &id, sizeof(id)) != sizeof(id) ||
		    read(acks[0], &ch, 1) != 1)
			break;
		for (int k = 0; k < 4; k++)
			if (o->msgsnd(id, &m, 8192, IPC_NOWAIT) < 0) {
				other += errno != EAGAIN && errno != EINVAL &&
					 errno != EIDRM;
				break;
			}
		o->msgctl(id, IPC_RMID, NULL);
	}
	close(ids[1]);
	if (kid > 0)
		waitpid(kid, &st, 0);
	close(acks[0]);
	close(acks[1]);
	tprintf(t, "1000 sends racing IPC_RMID: errors other than EAGAIN, "
		"EINVAL, EIDRM: %d", other);
}

/* ---- msgrcv: modes, truncation, MSG_COPY, errors ---------------------- */

static void fill_types(const struct ipc_ops *o, int q)
{
	static const long types[] = { 3, 1, 2, 5, 1, 4, 2 };
	struct msg m;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		m.type = types[i];
		snprintf(m.text, sizeof(m.text), "m%zu-t%ld", i, types[i]);
		o->msgsnd(q, &m, strlen(m.text), 0);
	}
}

static void scen_rcv_modes(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);

	fill_types(o, q);
	rcv(o, t, q, 100, 2, IPC_NOWAIT, "type 2");
	rcv(o, t, q, 100, 1, MSG_EXCEPT | IPC_NOWAIT, "except 1");
	rcv(o, t, q, 100, -3, IPC_NOWAIT, "lowest <= 3");
	rcv(o, t, q, 100, -3, IPC_NOWAIT, "lowest <= 3 again");
	rcv(o, t, q, 100, -1, IPC_NOWAIT, "lowest <= 1");
	rcv(o, t, q, 100, -1, IPC_NOWAIT, "lowest <= 1 none");
	rcv(o, t, q, 100, 9, IPC_NOWAIT, "type 9 none");
	rcv(o, t, q, 100, LONG_MIN, IPC_NOWAIT, "LONG_MIN");
	rcv(o, t, q, 100, 0, MSG_EXCEPT | IPC_NOWAIT, "0 with EXCEPT");
	rcv(o, t, q, 100, -100, MSG_EXCEPT | IPC_NOWAIT, "negative with EXCEPT");
	stat_q(o, t, q, "after modes");
	rcv(o, t, q, 100, 0, IPC_NOWAIT, "drain");
	rcv(o, t, q, 100, 0, IPC_NOWAIT, "drain");
	o->msgctl(q, IPC_RMID, NULL);
}

/* ---- msgtyp < 0 and MSG_EXCEPT at their boundaries -------------------- */

static void send_types(const struct ipc_ops *o, int q, const long *types,
		       int n)
{
	struct msg m;

	for (int i = 0; i < n; i++) {
		m.type = types[i];
		snprintf(m.text, sizeof(m.text), "m%d-t%ld", i, types[i]);
		o->msgsnd(q, &m, strlen(m.text), IPC_NOWAIT);
	}
}

static void scen_rcv_bounds(const struct ipc_ops *o, struct trace *t)
{
	static const long below[] = { 5, 3, 1, 2 };
	static const long equal[] = { 4, 3, 6, 3, 3 };
	static const long except[] = { 3, 3, 4, 3 };
	static const long far[] = { LONG_MAX, 7, LONG_MAX };
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct msg m;

	/* The lowest type <= |msgtyp| may be |msgtyp| itself: 1, 2, 3. */
	send_types(o, q, below, 4);
	for (int i = 0; i < 4; i++)
		rcv(o, t, q, 100, -3, IPC_NOWAIT, "{5,3,1,2} lowest <= 3");
	rcv(o, t, q, 100, -4, IPC_NOWAIT, "only 5 left, lowest <= 4");
	rcv(o, t, q, 100, -5, IPC_NOWAIT, "only 5 left, lowest <= 5");
	/* None below |msgtyp|, several equal to it: in the order sent. */
	send_types(o, q, equal, 5);
	for (int i = 0; i < 4; i++)
		rcv(o, t, q, 100, -3, IPC_NOWAIT, "{4,3,6,3,3} lowest <= 3");
	rcv(o, t, q, 100, -5, IPC_NOWAIT, "{4,6} lowest <= 5");
	rcv(o, t, q, 100, -5, IPC_NOWAIT, "{6} lowest <= 5");
	rcv(o, t, q, 100, -6, IPC_NOWAIT, "{6} lowest <= 6");
	/* MSG_EXCEPT: the first of any other type, the excepted never. */
	send_types(o, q, except, 4);
	rcv(o, t, q, 100, 3, MSG_EXCEPT | IPC_NOWAIT, "{3,3,4,3} except 3");
	rcv(o, t, q, 100, 3, MSG_EXCEPT | IPC_NOWAIT, "{3,3,3} except 3");
	rcv(o, t, q, 100, 4, MSG_EXCEPT | IPC_NOWAIT, "{3,3,3} except 4");
	rcv(o, t, q, 100, 2, MSG_EXCEPT | IPC_NOWAIT, "{3,3} except 2");
	rcv(o, t, q, 100, 3, IPC_NOWAIT, "{3} type 3");
	/* The far end: LONG_MIN is taken as LONG_MAX. */
	send_types(o, q, far, 3);
	rcv(o, t, q, 100, LONG_MAX, MSG_EXCEPT | IPC_NOWAIT, "except LONG_MAX");
	rcv(o, t, q, 100, LONG_MAX, MSG_EXCEPT | IPC_NOWAIT, "except LONG_MAX none");
	rcv(o, t, q, 100, LONG_MIN, IPC_NOWAIT, "LONG_MIN: lowest <= LONG_MAX");
	rcv(o, t, q, 100, -LONG_MAX, IPC_NOWAIT, "lowest <= LONG_MAX");
	rcv(o, t, q, 100, -(LONG_MAX - 1), IPC_NOWAIT, "none <= LONG_MAX - 1");
	/* E2BIG is the chosen message's, though another would fit. */
	set_text(&m, 1, "0123456789");
	o->msgsnd(q, &m, 10, 0);
	set_text(&m, 2, "ab");
	o->msgsnd(q, &m, 2, 0);
	rcv(o, t, q, 4, -2, IPC_NOWAIT, "lowest <= 2 too big");
	rcv(o, t, q, 4, 1, MSG_EXCEPT | IPC_NOWAIT, "except 1 fits");
	rcv(o, t, q, 4, 2, MSG_EXCEPT | IPC_NOWAIT, "except 2 too big");
	rcv(o, t, q, 4, -1, IPC_NOWAIT | MSG_NOERROR, "lowest <= 1 truncated");
	stat_q(o, t, q, "after bounds");
	o->msgctl(q, IPC_RMID, NULL);
}

static void scen_rcv_sizes(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);
	struct msg m;
	void *noaccess = mmap(NULL, 4096, PROT_NONE,	/* see scen_snd */
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *ronly = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);

	set_text(&m, 7, "0123456789");
	o->msgsnd(q, &m, 10, 0);
	rcv(o, t, q, 4, 0, IPC_NOWAIT, "too small");
	stat_q(o, t, q, "message stays");
	rcv(o, t, q, 4, 0, IPC_NOWAIT | MSG_NOERROR, "NOERROR truncates");
	stat_q(o, t, q, "truncated one is gone");
	o->msgsnd(q, &m, 10, 0);
	rcv(o, t, q, 0, 0, IPC_NOWAIT | MSG_NOERROR, "NOERROR to zero");
	rcv(o, t, q, (size_t)-1, 0, IPC_NOWAIT, "size negative");
	rcv(o, t, q, 100, 0, IPC_NOWAIT, "empty");
	tcall(t, "id -1", o->msgrcv(-1, &m, 10, 0, IPC_NOWAIT));
	tcall(t, "id wrong seq", o->msgrcv(q + 32768, &m, 10, 0, IPC_NOWAIT));

	/* Bad buffers: the kernel loses the message to EFAULT; uipc keeps
	 * it (see msg.c), so only the errors are compared here. */
	o->msgsnd(q, &m, 10, 0);
	tcall(t, "buffer NULL", o->msgrcv(q, NULL, 10, 0, IPC_NOWAIT));
	o->msgsnd(q, &m, 10, 0);
	tcall(t, "buffer inaccessible", o->msgrcv(q, noaccess, 10, 0, IPC_NOWAIT));
	o->msgsnd(q, &m, 10, 0);
	tcall(t, "buffer read-only", o->msgrcv(q, ronly, 10, 0, IPC_NOWAIT));
	tcall(t, "buffer NULL, empty queue type 99",
	      o->msgrcv(q, NULL, 10, 99, IPC_NOWAIT));
	tcall(t, "buffer NULL, bad id", o->msgrcv(-1, NULL, 10, 0, IPC_NOWAIT));
	o->msgctl(q, IPC_RMID, NULL);
	tcall(t, "receive from removed", o->msgrcv(q, &m, 10, 0, IPC_NOWAIT));
	munmap(ronly, 4096);
	munmap(noaccess, 4096);
}

static void scen_copy(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600);

	fill_types(o, q);
	rcv(o, t, q, 100, 0, MSG_COPY | IPC_NOWAIT, "copy 0");
	rcv(o, t, q, 100, 3, MSG_COPY | IPC_NOWAIT, "copy 3");
	rcv(o, t, q, 100, 6, MSG_COPY | IPC_NOWAIT, "copy 6");
	rcv(o, t, q, 100, 7, MSG_COPY | IPC_NOWAIT, "copy 7 past end");
	rcv(o, t, q, 100, -1, MSG_COPY | IPC_NOWAIT, "copy -1");
	rcv(o, t, q, 100, 0, MSG_COPY, "copy without NOWAIT");
	rcv(o, t, q, 100, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT, "copy with EXCEPT");
	rcv(o, t, q, 2, 0, MSG_COPY | IPC_NOWAIT, "copy too small");
	rcv(o, t, q, 2, 0, MSG_COPY | MSG_NOERROR | IPC_NOWAIT, "copy NOERROR small");
	rcv(o, t, q, 100000, 1, MSG_COPY | IPC_NOWAIT, "copy big buffer");
	stat_q(o, t, q, "copies take nothing");
	tcall(t, "copy bad id", o->msgrcv(-1, NULL, 10, 0, MSG_COPY | IPC_NOWAIT));
	o->msgctl(q, IPC_RMID, NULL);
}

/* ---- msgctl ----------------------------------------------------------- */

static void scen_ctl(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(test_key(3), IPC_CREAT | 0640);
	struct msqid_ds ds;
	struct msginfo mi, before;
	struct msg m;
	int r, found;

	o->msgctl(0, MSG_INFO, (struct msqid_ds *)&before);
	set_text(&m, 4, "abc");
	o->msgsnd(q, &m, 3, 0);
	{	/* IPC_SET changes ctime (seconds: wait for the next one). */
		struct msqid_ds d0, d1;

		o->msgctl(q, IPC_STAT, &d0);
		usleep(1100000);
		tcall(t, "IPC_SET as is", o->msgctl(q, IPC_SET, &d0));
		o->msgctl(q, IPC_STAT, &d1);
		tprintf(t, "IPC_SET moved ctime: %d", d1.msg_ctime > d0.msg_ctime);
	}
	o->msgsnd(q, &m, 2, 0);
	stat_q(o, t, q, "two sent");
	rcv(o, t, q, 10, 0, 0, "one taken");
	stat_q(o, t, q, "one taken");
	tcall(t, "stat NULL", o->msgctl(q, IPC_STAT, NULL));
	tcall(t, "stat bad ptr", o->msgctl(q, IPC_STAT, (void *)8));
	tcall(t, "set NULL", o->msgctl(q, IPC_SET, NULL));
	tcall(t, "set NULL, bad id", o->msgctl(-1, IPC_SET, NULL));
	tcall(t, "set NULL, wrong seq", o->msgctl(q + 32768, IPC_SET, NULL));
	tcall(t, "bad cmd", o->msgctl(q, 99, &ds));
	tcall(t, "cmd -1", o->msgctl(q, -1, &ds));
	tcall(t, "IPC_STAT|IPC_64", o->msgctl(q, IPC_STAT | 0x100, &ds));
	tcall(t, "stat id -1", o->msgctl(-1, IPC_STAT, &ds));
	tcall(t, "rmid wrong seq", o->msgctl(q + 32768, IPC_RMID, NULL));

	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_perm.mode = 0604 | 01000;
	ds.msg_qbytes = 100;
	ds.msg_perm.uid = 12;
	ds.msg_perm.gid = 34;
	tcall(t, "set", o->msgctl(q, IPC_SET, &ds));
	stat_q(o, t, q, "after set");
	ds.msg_qbytes = 1000000;
	tcall(t, "set qbytes above msgmnb (root)", o->msgctl(q, IPC_SET, &ds));
	stat_q(o, t, q, "big qbytes");
	memset(m.text, 'z', 8192);
	for (int i = 0; i < 3; i++)
		tcall(t, "send into big queue", o->msgsnd(q, &m, 8192, IPC_NOWAIT));
	stat_q(o, t, q, "big queue used");
	ds.msg_qbytes = 10;
	tcall(t, "shrink below cbytes", o->msgctl(q, IPC_SET, &ds));
	tcall(t, "send into shrunk", o->msgsnd(q, &m, 1, IPC_NOWAIT));
	rcv(o, t, q, 8192, 0, IPC_NOWAIT, "still readable");

	/* IPC_INFO constants; MSG_INFO counts only what it can compare. */
	memset(&mi, 0, sizeof(mi));
	r = o->msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	tprintf(t, "IPC_INFO ok=%d max=%d mnb=%d mni=%d ssz=%d seg=%u pool=%d "
		"map=%d tql=%d", r >= 0, mi.msgmax, mi.msgmnb, mi.msgmni,
		mi.msgssz, mi.msgseg, mi.msgpool, mi.msgmap, mi.msgtql);
	tcall(t, "IPC_INFO bad ptr", o->msgctl(0, IPC_INFO, (void *)8));
	tcall(t, "MSG_INFO NULL", o->msgctl(0, MSG_INFO, NULL));
	/* MSG_INFO counts the whole namespace: compare what we added. */
	r = o->msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	tprintf(t, "MSG_INFO ok=%d queues+%d messages+%d bytes+%d", r >= 0,
		mi.msgpool - before.msgpool, mi.msgmap - before.msgmap,
		mi.msgtql - before.msgtql);

	/* MSG_STAT walks indexes up to IPC_INFO's answer. */
	r = o->msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	found = 0;
	for (int i = 0; i <= r; i++) {
		int id = o->msgctl(i, MSG_STAT, &ds);

		if (id == q) {
			found = 1;
			trace_ds(t, "MSG_STAT", &ds, NULL, NULL, 0);
			tprintf(t, "MSG_STAT_ANY same id: %d",
				o->msgctl(i, MSG_STAT_ANY, &ds) == q);
			tprintf(t, "index + 32768 too: %d",
				o->msgctl(i + 32768, MSG_STAT, &ds) == q);
		}
	}
	tprintf(t, "MSG_STAT found the queue: %d", found);
	tcall(t, "MSG_STAT NULL", o->msgctl(q % 32768, MSG_STAT, NULL));
	tcall(t, "MSG_STAT index -1", o->msgctl(-1, MSG_STAT, &ds));
	tcall(t, "MSG_STAT unused index", o->msgctl(32767, MSG_STAT, &ds));

	tcall(t, "rmid", o->msgctl(q, IPC_RMID, NULL));
	tcall(t, "stat removed", o->msgctl(q, IPC_STAT, &ds));
	tcall(t, "set removed", o->msgctl(q, IPC_SET, &ds));
}

/* ---- as an unprivileged user ------------------------------------------ */

static int shared_q[5];

static void nobody_side(const struct ipc_ops *o, struct trace *t)
{
	struct msqid_ds ds;
	struct msg m;

	set_text(&m, 1, "hi");
	tcall(t, "nobody: get 0600 asking nothing", o->msgget(test_key(10), 0) >= 0 ? 0 : -1);
	tcall(t, "nobody: get 0600 asking read", o->msgget(test_key(10), 0400));
	tcall(t, "nobody: get 0600 asking write", o->msgget(test_key(10), 0200));
	/* Made by another process: no mapping of ours to go by, the file is
	 * closed to nobody, and asking nothing still finds it. */
	tcall(t, "nobody: get other's 0600 asking nothing",
	      o->msgget(test_key(14), 0) >= 0 ? 0 : -1);
	tcall(t, "nobody: get other's 0600 asking read", o->msgget(test_key(14), 0400));
	/* Any class's bits ask: the kernel folds them into one rwx. */
	tcall(t, "nobody: get 0600 asking other's read", o->msgget(test_key(10), 0004));
	tcall(t, "nobody: get 0600 asking group's write", o->msgget(test_key(10), 0020));
	tcall(t, "nobody: get 0600 CREAT", o->msgget(test_key(10), IPC_CREAT | 0600));
	tcall(t, "nobody: send 0600", o->msgsnd(shared_q[0], &m, 2, IPC_NOWAIT));
	tcall(t, "nobody: recv 0600", o->msgrcv(shared_q[0], &m, 10, 0, IPC_NOWAIT));
	tcall(t, "nobody: stat 0600", o->msgctl(shared_q[0], IPC_STAT, &ds));
	tcall(t, "nobody: MSG_STAT 0600",
	      o->msgctl(shared_q[0] % 32768, MSG_STAT, &ds) >= 0 ? 0 : -1);
	memset(&ds, 0, sizeof(ds));
	tcall(t, "nobody: set 0600", o->msgctl(shared_q[0], IPC_SET, &ds));
	tcall(t, "nobody: rmid 0600", o->msgctl(shared_q[0], IPC_RMID, NULL));

	/* 0644: may read, not write. */
	tcall(t, "nobody: send 0644", o->msgsnd(shared_q[1], &m, 2, IPC_NOWAIT));
	rcv(o, t, shared_q[1], 10, 0, IPC_NOWAIT, "nobody: recv 0644");
	tcall(t, "nobody: stat 0644", o->msgctl(shared_q[1], IPC_STAT, &ds));
	tcall(t, "nobody: get 0644 asking rw", o->msgget(test_key(11), 0600));
	tcall(t, "nobody: get 0644 asking r", o->msgget(test_key(11), 0400) >= 0 ? 0 : -1);

	/* 0622: may write, not read. */
	tcall(t, "nobody: send 0622", o->msgsnd(shared_q[2], &m, 2, IPC_NOWAIT));
	tcall(t, "nobody: recv 0622", o->msgrcv(shared_q[2], &m, 10, 0, IPC_NOWAIT));
	tcall(t, "nobody: copy 0622",
	      o->msgrcv(shared_q[2], &m, 10, 0, MSG_COPY | IPC_NOWAIT));

	/* Its own queue: owner rights, but no CAP_SYS_RESOURCE. */
	{
		int own = o->msgget(IPC_PRIVATE, 0600);

		o->msgctl(own, IPC_STAT, &ds);
		trace_ds(t, "nobody: own", &ds, NULL, NULL, 0);
		ds.msg_qbytes = 16385;
		tcall(t, "nobody: raise qbytes", o->msgctl(own, IPC_SET, &ds));
		ds.msg_qbytes = 100;
		tcall(t, "nobody: lower qbytes", o->msgctl(own, IPC_SET, &ds));
		ds.msg_qbytes = 16384;
		tcall(t, "nobody: back to msgmnb", o->msgctl(own, IPC_SET, &ds));
		ds.msg_perm.mode = 0;
		tcall(t, "nobody: mode 0", o->msgctl(own, IPC_SET, &ds));
		tcall(t, "nobody: send own mode 0", o->msgsnd(own, &m, 2, IPC_NOWAIT));
		tcall(t, "nobody: stat own mode 0", o->msgctl(own, IPC_STAT, &ds));
		tcall(t, "nobody: rmid own mode 0", o->msgctl(own, IPC_RMID, NULL));
	}
	/* Owner given to nobody by root: nobody may now IPC_SET, RMID. */
	tcall(t, "nobody: stat given", o->msgctl(shared_q[3], IPC_STAT, &ds));
	tcall(t, "nobody: rmid given", o->msgctl(shared_q[3], IPC_RMID, NULL));
}

static void scen_perm(const struct ipc_ops *o, struct trace *t)
{
	struct msqid_ds ds;
	struct msg m;

	set_text(&m, 1, "from root");
	shared_q[0] = o->msgget(test_key(10), IPC_CREAT | 0600);
	shared_q[1] = o->msgget(test_key(11), IPC_CREAT | 0644);
	shared_q[2] = o->msgget(test_key(12), IPC_CREAT | 0622);
	shared_q[3] = o->msgget(test_key(13), IPC_CREAT | 0600);
	if (fork() == 0)
		_exit(o->msgget(test_key(14), IPC_CREAT | 0600) < 0);
	wait(NULL);
	o->msgsnd(shared_q[0], &m, 9, 0);
	o->msgsnd(shared_q[1], &m, 9, 0);
	o->msgsnd(shared_q[2], &m, 9, 0);
	o->msgctl(shared_q[3], IPC_STAT, &ds);
	ds.msg_perm.uid = NOBODY;
	ds.msg_perm.gid = NOBODY;
	ds.msg_perm.mode = 0600;
	tcall(t, "give to nobody", o->msgctl(shared_q[3], IPC_SET, &ds));
	as_user(NOBODY, NOBODY, o, t, nobody_side);
	shared_q[4] = o->msgget(test_key(14), 0);
	stat_q(o, t, shared_q[0], "0600 after nobody");
	stat_q(o, t, shared_q[1], "0644 after nobody");
	stat_q(o, t, shared_q[2], "0622 after nobody");
	tcall(t, "given one removed by nobody", o->msgctl(shared_q[3], IPC_STAT, &ds));
	for (int i = 0; i < 5; i++)
		o->msgctl(shared_q[i], IPC_RMID, NULL);
}

/* ---- the creator's rights, the new owner's, and nobody else's --------- */

#define NEW_OWNER 1	/* daemon: given the queue by its creator */
#define STRANGER 2	/* bin: neither owner nor creator */

static void creator_gives(const struct ipc_ops *o, struct trace *t)
{
	struct msqid_ds ds;
	int q = o->msgget(test_key(20), IPC_CREAT | IPC_EXCL | 0600);

	tprintf(t, "creator: 0600 queue -> %s", q >= 0 ? "ok" : errname(errno));
	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_perm.uid = NEW_OWNER;
	tcall(t, "creator: give to uid 1", o->msgctl(q, IPC_SET, &ds));
	stat_q(o, t, q, "creator, no longer owner: stat");
	ds.msg_perm.mode = 0640;
	tcall(t, "creator: IPC_SET again", o->msgctl(q, IPC_SET, &ds));
	ds.msg_perm.uid = (uid_t)-1;
	tcall(t, "creator: IPC_SET uid -1", o->msgctl(q, IPC_SET, &ds));
	ds.msg_perm.uid = NEW_OWNER;
	ds.msg_qbytes = 16385;
	tcall(t, "creator: raise qbytes", o->msgctl(q, IPC_SET, &ds));
	stat_q(o, t, q, "after the creator's IPC_SET");
	tcall(t, "creator: IPC_RMID", o->msgctl(q, IPC_RMID, NULL));
	tcall(t, "creator: removed", o->msgctl(q, IPC_STAT, &ds));

	/* One the others may open (read), given away the same way. */
	q = o->msgget(test_key(21), IPC_CREAT | IPC_EXCL | 0644);
	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_perm.uid = NEW_OWNER;
	tcall(t, "creator: give 0644 to uid 1", o->msgctl(q, IPC_SET, &ds));
}

static void stranger_tries(const struct ipc_ops *o, struct trace *t)
{
	struct msqid_ds ds;
	int q = o->msgget(test_key(21), 0);

	stat_q(o, t, q, "stranger: stat");
	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_perm.mode = 0666;
	tcall(t, "stranger: IPC_SET", o->msgctl(q, IPC_SET, &ds));
	tcall(t, "stranger: IPC_SET NULL", o->msgctl(q, IPC_SET, NULL));
	tcall(t, "stranger: IPC_RMID", o->msgctl(q, IPC_RMID, NULL));
}

static void new_owner_acts(const struct ipc_ops *o, struct trace *t)
{
	struct msqid_ds ds;
	int q = o->msgget(test_key(21), 0);

	o->msgctl(q, IPC_STAT, &ds);
	ds.msg_perm.mode = 0604;
	tcall(t, "new owner: IPC_SET", o->msgctl(q, IPC_SET, &ds));
	stat_q(o, t, q, "new owner: stat");
	tcall(t, "new owner: IPC_RMID", o->msgctl(q, IPC_RMID, NULL));
}

static void scen_creator(const struct ipc_ops *o, struct trace *t)
{
	as_user(NOBODY, NOBODY, o, t, creator_gives);
	as_user(STRANGER, STRANGER, o, t, stranger_tries);
	as_user(NEW_OWNER, NEW_OWNER, o, t, new_owner_acts);
	tcall(t, "root: key gone", o->msgget(test_key(20), 0) >= 0 ? 0 : -1);
	/* Not compared: the new owner's IPC_RMID cannot unlink the
	 * creator's files in the sticky namespace directory, and uipc's
	 * lookup of the key then says EIO where the kernel's says ENOENT. */
	o->msgctl(o->msgget(test_key(21), 0), IPC_RMID, NULL);
}

/* ---- the order of errors, for a caller with some access --------------- */

static int order_q[4];	/* 0644, 0622, 0600 (no access), removed */

static void order_side(const struct ipc_ops *o, struct trace *t)
{
	struct msqid_ds ds;
	struct msg m;
	int r = order_q[0], w = order_q[1], none = order_q[2], gone = order_q[3];

	/* Read only: E2BIG needs a message chosen, ENOMSG none; both come
	 * before the buffer is touched. */
	rcv(o, t, r, 4, 0, IPC_NOWAIT, "0644: too small");
	rcv(o, t, r, 4, 99, IPC_NOWAIT, "0644: too small, no such type");
	tcall(t, "0644: too small, buffer NULL", o->msgrcv(r, NULL, 4, 0, IPC_NOWAIT));
	rcv(o, t, r, 4, 0, MSG_COPY | IPC_NOWAIT, "0644: copy too small");
	rcv(o, t, r, 4, 5, MSG_COPY | IPC_NOWAIT, "0644: copy past the end, small");
	set_text(&m, 1, "x");
	tcall(t, "0644: send, buffer NULL", o->msgsnd(r, NULL, 1, IPC_NOWAIT));
	m.type = 0;
	tcall(t, "0644: send mtype 0", o->msgsnd(r, &m, 1, IPC_NOWAIT));
	m.type = 1;
	tcall(t, "0644: send above msgmax", o->msgsnd(r, &m, 8193, IPC_NOWAIT));
	tcall(t, "0644: send", o->msgsnd(r, &m, 1, IPC_NOWAIT));
	tcall(t, "0644: IPC_STAT NULL", o->msgctl(r, IPC_STAT, NULL));
	tcall(t, "0644: IPC_SET NULL", o->msgctl(r, IPC_SET, NULL));
	o->msgctl(r, IPC_STAT, &ds);
	ds.msg_perm.uid = (uid_t)-1;
	tcall(t, "0644: IPC_SET uid -1", o->msgctl(r, IPC_SET, &ds));

	/* Write only: EACCES before E2BIG, ENOMSG and EFAULT; the checks of
	 * the arguments alone before it. */
	rcv(o, t, w, 4, 0, IPC_NOWAIT, "0622: too small");
	rcv(o, t, w, 100, 99, IPC_NOWAIT, "0622: no such type");
	tcall(t, "0622: buffer NULL", o->msgrcv(w, NULL, 100, 0, IPC_NOWAIT));
	rcv(o, t, w, (size_t)-1, 0, IPC_NOWAIT, "0622: size negative");
	rcv(o, t, w, 100, 0, MSG_COPY, "0622: copy without NOWAIT");
	rcv(o, t, w, 100, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT, "0622: copy with EXCEPT");
	rcv(o, t, w, 4, 0, MSG_COPY | IPC_NOWAIT, "0622: copy too small");
	tcall(t, "0622: IPC_STAT NULL", o->msgctl(w, IPC_STAT, NULL));
	tcall(t, "0622: send, buffer NULL", o->msgsnd(w, NULL, 1, IPC_NOWAIT));

	/* No access: only what the kernel checks before the queue. */
	rcv(o, t, none, (size_t)-1, 0, IPC_NOWAIT, "0600: size negative");
	rcv(o, t, none, 100, 0, MSG_COPY, "0600: copy without NOWAIT");
	m.type = 0;
	tcall(t, "0600: send mtype 0", o->msgsnd(none, &m, 1, IPC_NOWAIT));
	tcall(t, "0600: send, buffer NULL", o->msgsnd(none, NULL, 1, IPC_NOWAIT));
	m.type = 1;
	tcall(t, "0600: recv", o->msgrcv(none, &m, 100, 0, IPC_NOWAIT));

	/* Removed. */
	rcv(o, t, gone, (size_t)-1, 0, IPC_NOWAIT, "removed: size negative");
	rcv(o, t, gone, 100, 0, MSG_COPY, "removed: copy without NOWAIT");
	rcv(o, t, gone, 100, 0, IPC_NOWAIT, "removed: recv");
	tcall(t, "removed: send, buffer NULL", o->msgsnd(gone, NULL, 1, IPC_NOWAIT));
	tcall(t, "removed: send", o->msgsnd(gone, &m, 1, IPC_NOWAIT));
}

static void scen_order(const struct ipc_ops *o, struct trace *t)
{
	static const int mode[3] = { 0644, 0622, 0600 };
	struct msg m;

	set_text(&m, 1, "0123456789");
	for (int i = 0; i < 3; i++) {
		order_q[i] = o->msgget(test_key(30 + i), IPC_CREAT | mode[i]);
		o->msgsnd(order_q[i], &m, 10, 0);
	}
	order_q[3] = o->msgget(IPC_PRIVATE, 0666);
	o->msgctl(order_q[3], IPC_RMID, NULL);
	as_user(NOBODY, NOBODY, o, t, order_side);
	for (int i = 0; i < 3; i++) {
		stat_q(o, t, order_q[i], "after nobody");
		o->msgctl(order_q[i], IPC_RMID, NULL);
	}
}

/* Another process of the same user takes back a right this one has just
 * used (which uipc caches in the mapping): the next call sees the change. */
static void revoked_side(const struct ipc_ops *o, struct trace *t)
{
	int q = o->msgget(IPC_PRIVATE, 0600), st;
	struct msqid_ds ds;
	struct msg m;
	pid_t c;

	set_text(&m, 1, "hi");
	tcall(t, "nobody: send own 0600", o->msgsnd(q, &m, 2, IPC_NOWAIT));
	c = fork();
	if (c == 0) {
		o->msgctl(q, IPC_STAT, &ds);
		ds.msg_perm.mode = 0400;
		_exit(o->msgctl(q, IPC_SET, &ds) == 0 ? 0 : 1);
	}
	waitpid(c, &st, 0);
	tprintf(t, "nobody: another process sets 0400: %s",
		WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "failed");
	tcall(t, "nobody: send after 0400", o->msgsnd(q, &m, 2, IPC_NOWAIT));
	tcall(t, "nobody: recv after 0400", o->msgrcv(q, &m, 10, 0, IPC_NOWAIT));
	tcall(t, "nobody: rmid", o->msgctl(q, IPC_RMID, NULL));
}

static void scen_revoked(const struct ipc_ops *o, struct trace *t)
{
	as_user(NOBODY, NOBODY, o, t, revoked_side);
}

/* Kernel queues the unprivileged children made by key. */
static void remove_keyed(void)
{
	for (int k = 20; k <= 21; k++)
		msgctl(msgget(test_key(k), 0), IPC_RMID, NULL);
}

int main(void)
{
	harness_init(120);
	if (geteuid() != 0)
		printf("note: not root: the unprivileged part still runs as is\n");
	run_both("msgget", scen_get);
	run_both("msgsnd errors and full queues", scen_snd);
	run_both("a queue filled to qbytes under a reader that mapped it empty",
		 scen_grow);
	run_both("a grown queue removed under a blocked reader and a sender",
		 scen_grow_rmid);
	run_both("a message handed to a receiver, then IPC_RMID before it runs",
		 scen_handed_rmid);
	run_both("msgrcv modes", scen_rcv_modes);
	run_both("msgrcv msgtyp < 0 and MSG_EXCEPT at the boundary", scen_rcv_bounds);
	run_both("msgrcv sizes and errors", scen_rcv_sizes);
	run_both("MSG_COPY", scen_copy);
	run_both("msgctl", scen_ctl);
	if (geteuid() == 0) {
		harness_on_cleanup(remove_keyed);
		run_both("permissions as nobody", scen_perm);
		run_both("IPC_SET and IPC_RMID by creator, owner, stranger", scen_creator);
		run_both("the order of errors, as nobody", scen_order);
		run_both("a right taken back by another process", scen_revoked);
	} else {
		printf("skip permissions as nobody: needs root to drop to nobody\n");
	}
	return harness_done();
}
