/*
 * sig_api: uipc signals side by side with the kernel's.  Every scenario
 * runs twice, on the kernel's signals (the C library's kill, sigaction,
 * sigprocmask, ...) and on uipc's (uipc_kill, uipc_sigaction, ...), and the
 * traces of return values, errno, signal sets, siginfo fields, the order
 * handlers ran in and how processes ended must match line for line:
 * sigaction's checks and round trip, sigprocmask and pthread_sigmask,
 * coalescing of standard signals and queueing of real-time ones, SIG_IGN
 * and signals whose default is to be ignored, the order a pending set is
 * delivered in, SA_RESETHAND and SA_NODEFER, signals between processes (to
 * one that spins, to one blocked in read, with and without SA_RESTART),
 * default actions, kill's errors, sigtimedwait, sigwaitinfo and sigwait,
 * sigsuspend, permissions between users, and what fork passes on.
 *
 * Each run of a scenario is a fresh process, the leader of its own process
 * group, with every disposition at SIG_DFL and nothing blocked: no handler,
 * mask or pending signal of one run can reach the next.  Its helpers are
 * its children.  Traces travel through shared memory, so a process killed
 * by a signal still leaves what it recorded before.  Every wait is
 * bounded: a helper is killed after 10 s, a scenario after 20 s, and the
 * harness's watchdog ends the whole test after 120 s.
 *
 * Signals 32 and 33 (the C library's own) and SIGRTMAX - 1 and SIGRTMAX
 * (uipc delivers with them) are never used.
 *
 * Built with -DSIG_KERNEL_ONLY, the "uipc" side is the C library too: both
 * traces come from the kernel, which shows the scenarios are deterministic.
 */
#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

struct sig_ops {
	const char *name;	/* "kernel" or "uipc" */
	int (*kill)(pid_t, int);
	int (*sigqueue)(pid_t, int, const union sigval);
	int (*raise)(int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
	/* returns the error number */
	int (*pthread_sigmask)(int, const sigset_t *, sigset_t *);
	int (*sigpending)(sigset_t *);
	int (*sigsuspend)(const sigset_t *);
	int (*sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
	int (*sigwaitinfo)(const sigset_t *, siginfo_t *);
	/* returns the error number */
	int (*sigwait)(const sigset_t *, int *);
	int (*pause)(void);
	int (*tgkill)(pid_t, pid_t, int);
	/* returns the error number */
	int (*pthread_kill)(pthread_t, int);
	int (*signalfd)(int, const sigset_t *, int);
	/* the mechanisms whose blocking calls a signal interrupts */
	int (*pipe)(int[2]);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
	int (*msgget)(key_t, int);
	ssize_t (*msgrcv)(int, void *, size_t, long, int);
	int (*msgctl)(int, int, struct msqid_ds *);
};

static int k_tgkill(pid_t tgid, pid_t tid, int sig)
{
	return (int)syscall(SYS_tgkill, tgid, tid, sig);
}

static const struct sig_ops kernel_sops = {
	"kernel", kill, sigqueue, raise, sigaction, sigprocmask,
	pthread_sigmask, sigpending, sigsuspend, sigtimedwait, sigwaitinfo,
	sigwait, pause, k_tgkill, pthread_kill, signalfd,
	pipe, read, write, close, msgget, msgrcv, msgctl,
};

#ifdef SIG_KERNEL_ONLY
static const struct sig_ops uipc_sops = {
	"uipc", kill, sigqueue, raise, sigaction, sigprocmask,
	pthread_sigmask, sigpending, sigsuspend, sigtimedwait, sigwaitinfo,
	sigwait, pause, k_tgkill, pthread_kill, signalfd,
	pipe, read, write, close, msgget, msgrcv, msgctl,
};
#else
static const struct sig_ops uipc_sops = {
	"uipc", uipc_kill, uipc_sigqueue, uipc_raise, uipc_sigaction,
	uipc_sigprocmask, uipc_pthread_sigmask, uipc_sigpending,
	uipc_sigsuspend, uipc_sigtimedwait, uipc_sigwaitinfo, uipc_sigwait,
	uipc_pause, uipc_tgkill, uipc_pthread_kill, uipc_signalfd,
	uipc_pipe, uipc_read, uipc_write, uipc_close, uipc_msgget, uipc_msgrcv,
	uipc_msgctl,
};
#endif

#define NOBODY 65534
#define HELPER_SECONDS 10
#define SCENARIO_SECONDS 20

/* The table the running scenario uses, for its handlers. */
static const struct sig_ops *cur;

/* ---- naming ------------------------------------------------------------ */

static const char *sname(int sig)
{
	static char b[4][24];
	static int k;

	switch (sig) {
	case SIGHUP: return "SIGHUP";
	case SIGINT: return "SIGINT";
	case SIGKILL: return "SIGKILL";
	case SIGUSR1: return "SIGUSR1";
	case SIGUSR2: return "SIGUSR2";
	case SIGALRM: return "SIGALRM";
	case SIGTERM: return "SIGTERM";
	case SIGCHLD: return "SIGCHLD";
	case SIGSTOP: return "SIGSTOP";
	case SIGTSTP: return "SIGTSTP";
	case SIGCONT: return "SIGCONT";
	case SIGWINCH: return "SIGWINCH";
	}
	k = (k + 1) % 4;
	if (sig == SIGRTMIN)
		return "SIGRTMIN";
	if (sig > SIGRTMIN && sig <= SIGRTMAX)
		snprintf(b[k], sizeof(b[k]), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(b[k], sizeof(b[k]), "signal %d", sig);
	return b[k];
}

static int member(const sigset_t *s, int sig)
{
	return sig != 32 && sig != 33 && sigismember(s, sig) == 1;
}

/* A set as the numbers in it, runs as ranges: "{10,12}", "{1-8,10-18}". */
static const char *setstr(const sigset_t *s)
{
	static char b[4][256];
	static int k;
	size_t n = 0;

	k = (k + 1) % 4;
	n += (size_t)snprintf(b[k] + n, sizeof(b[k]) - n, "{");
	for (int sig = 1; sig < NSIG; sig++) {
		int end = sig;

		if (!member(s, sig))
			continue;
		while (end + 1 < NSIG && member(s, end + 1))
			end++;
		n += (size_t)snprintf(b[k] + n, sizeof(b[k]) - n, "%s%d", n > 1 ? "," : "", sig);
		if (end > sig)
			n += (size_t)snprintf(b[k] + n, sizeof(b[k]) - n, "-%d", end);
		sig = end;
	}
	snprintf(b[k] + n, sizeof(b[k]) - n, "}");
	return b[k];
}

/* The set of the signals listed, the list ended by 0. */
static sigset_t set_of(int sig, ...)
{
	sigset_t s;
	va_list ap;

	sigemptyset(&s);
	va_start(ap, sig);
	for (; sig; sig = va_arg(ap, int))
		sigaddset(&s, sig);
	va_end(ap);
	return s;
}

/* The processes a trace names by role, not by pid; shared, so that a
 * helper can name one forked after it. */
#define MAX_NAMES 8
struct names {
	int n;
	struct { pid_t pid; const char *name; } at[MAX_NAMES];
};
static struct names *known;

static void name_pid(pid_t pid, const char *name)
{
	if (known->n < MAX_NAMES) {
		known->at[known->n].pid = pid;
		known->at[known->n].name = name;
		known->n++;
	}
}

static const char *name_of(pid_t pid)
{
	if (pid == 0)
		return "0";
	if (pid == getpid())
		return "self";
	if (pid == getppid())
		return "parent";
	for (int i = known->n - 1; i >= 0; i--)
		if (known->at[i].pid == pid)
			return known->at[i].name;
	return "another";
}

static const char *codestr(int code)
{
	static char b[24];

	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TKILL: return "SI_TKILL";
	case SI_KERNEL: return "SI_KERNEL";
	}
	snprintf(b, sizeof(b), "code %d", code);
	return b;
}

/* ---- recording ------------------------------------------------------------ */

/* For the calls that return an error number instead of setting errno. */
static void rec_err(struct trace *t, const char *what, int r)
{
	if (r == 0)
		tprintf(t, "%s -> 0", what);
	else
		tprintf(t, "%s -> returns %s", what, errname(r));
}

/* For the calls that return a signal number. */
static int rec_sig(struct trace *t, const char *what, int r)
{
	if (r < 0)
		tval(t, what, r);
	else
		tprintf(t, "%s -> %s", what, sname(r));
	return r;
}

static void trace_info(struct trace *t, const char *what, const siginfo_t *si)
{
	char value[32] = "";

	/* Only sigqueue gives a value: kill leaves it unspecified. */
	if (si->si_code == SI_QUEUE)
		snprintf(value, sizeof(value), " value=%d", si->si_value.sival_int);
	tprintf(t, "%s: signo=%s code=%s pid=%s uid=%u%s", what, sname(si->si_signo),
		codestr(si->si_code), name_of(si->si_pid), (unsigned)si->si_uid,
		value);
}

static void trace_pending(const struct sig_ops *o, struct trace *t,
			  const char *what)
{
	sigset_t s;

	sigemptyset(&s);
	if (o->sigpending(&s) < 0)
		tval(t, what, -1);
	else
		tprintf(t, "%s: %s", what, setstr(&s));
}

/* The mask now, as sigprocmask answers with no set. */
static void trace_mask(const struct sig_ops *o, struct trace *t,
		       const char *what)
{
	sigset_t s;

	sigemptyset(&s);
	if (o->sigprocmask(SIG_BLOCK, NULL, &s) < 0)
		tval(t, what, -1);
	else
		tprintf(t, "%s: %s", what, setstr(&s));
}

/* ---- handlers and what they saw ------------------------------------------ */

enum { EV_PLAIN, EV_INFO, EV_MASK, EV_ENTER, EV_LEAVE };

struct event {
	int kind, sig, depth;
	siginfo_t info;		/* EV_INFO */
	sigset_t mask;		/* EV_MASK: the mask the handler ran with */
};

#define MAX_EVENTS 64
static struct event events[MAX_EVENTS], spare;
static int nevents;

/* The next event's slot; async-signal-safe, also for nested handlers. */
static struct event *note(int kind, int sig)
{
	int i = __atomic_fetch_add(&nevents, 1, __ATOMIC_SEQ_CST);
	struct event *e = i < MAX_EVENTS ? &events[i] : &spare;

	e->kind = kind;
	e->sig = sig;
	return e;
}

static void on_plain(int sig)
{
	note(EV_PLAIN, sig);
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	note(EV_INFO, sig)->info = *si;
}

static void on_mask(int sig)
{
	struct event *e = note(EV_MASK, sig);

	sigemptyset(&e->mask);
	cur->pthread_sigmask(SIG_BLOCK, NULL, &e->mask);
}

/* Raises its own signal from inside itself, once: with SA_NODEFER the
 * second call nests inside the first, without it it follows. */
static int nest_depth, nest_raises;

static void on_nest(int sig)
{
	note(EV_ENTER, sig)->depth = ++nest_depth;
	if (nest_raises-- > 0)
		cur->raise(sig);
	note(EV_LEAVE, sig)->depth = nest_depth--;
}

/* Records the handlers that ran since the last call, in the order they
 * started, and forgets them. */
static void trace_events(struct trace *t, const char *what)
{
	char line[2048];
	int n = nevents < MAX_EVENTS ? nevents : MAX_EVENTS;
	size_t len = (size_t)snprintf(line, sizeof(line), "%s:", what);

	if (n == 0)
		snprintf(line + len, sizeof(line) - len, " none");
	for (int i = 0; i < n && len < sizeof(line); i++) {
		const struct event *e = &events[i];

		if (e->kind == EV_ENTER || e->kind == EV_LEAVE)
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						" %s:%s@%d", e->kind == EV_ENTER ?
						"enter" : "leave", sname(e->sig),
						e->depth);
		else
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						" %s", sname(e->sig));
	}
	tprintf(t, "%s", line);
	if (nevents > MAX_EVENTS)
		tprintf(t, "  and %d more", nevents - MAX_EVENTS);
	for (int i = 0; i < n; i++) {
		if (events[i].kind == EV_INFO)
			trace_info(t, "  info", &events[i].info);
		else if (events[i].kind == EV_MASK)
			tprintf(t, "  mask in %s's handler: %s", sname(events[i].sig),
				setstr(&events[i].mask));
	}
	nevents = 0;
}

/* Sets sig's action to h (a handler, SIG_IGN or SIG_DFL), or to on_info
 * when flags hold SA_SIGINFO; mask NULL is the empty set. */
static int act(const struct sig_ops *o, int sig, void (*h)(int), int flags,
	       const sigset_t *mask)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (flags & SA_SIGINFO)
		sa.sa_sigaction = on_info;
	else
		sa.sa_handler = h;
	sa.sa_flags = flags;
	if (mask)
		sa.sa_mask = *mask;
	else
		sigemptyset(&sa.sa_mask);
	return o->sigaction(sig, &sa, NULL);
}

static const char *handler_name(const struct sigaction *a)
{
	if (a->sa_handler == SIG_DFL)
		return "SIG_DFL";
	if (a->sa_handler == SIG_IGN)
		return "SIG_IGN";
	if (a->sa_handler == on_plain)
		return "on_plain";
	if (a->sa_handler == on_mask)
		return "on_mask";
	if (a->sa_sigaction == on_info)
		return "on_info";
	return "another handler";
}

/* The flags the kernel keeps and user space can set (SA_RESTORER is the
 * C library's business). */
static const char *flagstr(int f)
{
	static char b[96];

	snprintf(b, sizeof(b), "%s%s%s%s%s",
		 f & SA_SIGINFO ? "|SIGINFO" : "", f & SA_RESTART ? "|RESTART" : "",
		 f & SA_NODEFER ? "|NODEFER" : "", f & SA_RESETHAND ? "|RESETHAND" : "",
		 f & SA_ONSTACK ? "|ONSTACK" : "");
	return b[0] ? b + 1 : "0";
}

static void trace_act(struct trace *t, const char *what, const struct sigaction *a)
{
	const int probe[] = { SIGINT, SIGKILL, SIGUSR1, SIGUSR2, SIGTERM,
			      SIGSTOP, SIGRTMIN, SIGRTMIN + 5 };
	sigset_t seen;

	sigemptyset(&seen);
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		if (sigismember(&a->sa_mask, probe[i]) == 1)
			sigaddset(&seen, probe[i]);
	tprintf(t, "%s: %s flags=%s mask has %s", what, handler_name(a),
		flagstr(a->sa_flags), setstr(&seen));
}

/* sig's action now, recorded. */
static void query(const struct sig_ops *o, struct trace *t, const char *what,
		  int sig)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	if (tval(t, what, o->sigaction(sig, NULL, &a)) == 0)
		trace_act(t, what, &a);
}

/* ---- helpers: the processes a scenario forks -------------------------- */

#define AREA 65536
static char *areas;	/* shared: [0] the scenario's trace, [1], [2] helpers' */

static char *area(int slot)
{
	return areas + (size_t)slot * AREA;
}

/* Puts t where the parent will read it. */
static void area_put(int slot, const struct trace *t)
{
	size_t n = t->n < AREA - 1 ? t->n : AREA - 1;

	if (t->s)
		memcpy(area(slot), t->s, n);
	area(slot)[n] = 0;
}

struct helper {
	pid_t pid;
	int slot;		/* its area */
	int ready;		/* the read end it says it is ready on */
	const char *name;	/* how traces name it */
};

typedef void (*helper_fn)(const struct sig_ops *o, struct trace *t);

static int helper_slot, ready_fd = -1;	/* in a helper */

static void helper_exit(struct trace *t, int code)
{
	area_put(helper_slot, t);
	_exit(code);
}

/* Tells the parent the helper is ready, after saving its trace so far:
 * a signal may end it next. */
static void say_ready(struct trace *t)
{
	area_put(helper_slot, t);
	if (write(ready_fd, "r", 1) != 1)
		tprintf(t, "could not say ready");
}

/* Waits (at most 5 s) for a byte on fd; 1 if one came. */
static int wait_byte(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;
	int r;

	while ((r = poll(&p, 1, 5000)) < 0 && errno == EINTR)
		;
	return r > 0 && read(fd, &c, 1) == 1;
}

/* Forks a helper running fn, which exits 0 when fn returns; its trace
 * goes to area slot. */
static struct helper spawn(const struct sig_ops *o, helper_fn fn, int slot,
			   const char *name)
{
	struct helper h = { -1, slot, -1, name };
	int p[2];

	memset(area(slot), 0, AREA);
	if (pipe(p) < 0)
		return h;
	h.pid = fork();
	if (h.pid == 0) {
		struct trace c = { 0 };

		close(p[0]);
		alarm(HELPER_SECONDS);
		nevents = 0;
		helper_slot = slot;
		ready_fd = p[1];
		fn(o, &c);
		helper_exit(&c, 0);
	}
	close(p[1]);
	h.ready = p[0];
	if (h.pid > 0)
		name_pid(h.pid, name);
	return h;
}

static void wait_ready(struct trace *t, const struct helper *h)
{
	tprintf(t, "%s ready: %d", h->name, wait_byte(h->ready));
}

/* Waits at most ms for pid; its wait status, or -1 if it had to be
 * killed. */
static int wait_bounded(pid_t pid, int ms)
{
	int st = 0;

	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -2;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void trace_status(struct trace *t, const char *who, int st)
{
	if (st == -1)
		tprintf(t, "%s hung: killed", who);
	else if (st < 0)
		tprintf(t, "%s could not be waited for", who);
	else if (WIFSIGNALED(st))
		tprintf(t, "%s killed by %s", who, sname(WTERMSIG(st)));
	else
		tprintf(t, "%s exited %d", who, WEXITSTATUS(st));
}

/* Waits for the helper, then records its trace and how it ended; the
 * scenario's trace so far is saved too. */
static void reap(struct trace *t, struct helper *h)
{
	char prefix[32];
	int st;

	if (h->pid < 0) {
		tprintf(t, "fork %s failed", h->name);
		return;
	}
	st = wait_bounded(h->pid, (HELPER_SECONDS + 2) * 1000);
	snprintf(prefix, sizeof(prefix), "%s: ", h->name);
	tlines(t, prefix, area(h->slot));
	trace_status(t, h->name, st);
	close(h->ready);
	area_put(0, t);
}

/* A kernel pipe nobody writes to, for helpers to block reading. */
static int quiet[2];
/* A pipe handlers write to, to say they ran. */
static int ack[2];

static void on_ack(int sig)
{
	note(EV_PLAIN, sig);
	if (write(ack[1], "a", 1) != 1)
		note(EV_PLAIN, 0);
}

/* ---- 1. sigaction: bad input, round trip ------------------------------ */

static void scen_sigaction(const struct sig_ops *o, struct trace *t)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_plain;
	sigemptyset(&sa.sa_mask);
	tval(t, "sigaction 0 on_plain", o->sigaction(0, &sa, NULL));
	tval(t, "sigaction -1 on_plain", o->sigaction(-1, &sa, NULL));
	tval(t, "sigaction 65 on_plain", o->sigaction(65, &sa, NULL));
	tval(t, "sigaction SIGKILL on_plain", o->sigaction(SIGKILL, &sa, NULL));
	tval(t, "sigaction SIGSTOP on_plain", o->sigaction(SIGSTOP, &sa, NULL));
	sa.sa_handler = SIG_IGN;
	tval(t, "sigaction SIGKILL SIG_IGN", o->sigaction(SIGKILL, &sa, NULL));
	tval(t, "sigaction SIGSTOP SIG_IGN", o->sigaction(SIGSTOP, &sa, NULL));
	/* Any new action, even the default, is refused for these two. */
	sa.sa_handler = SIG_DFL;
	tval(t, "sigaction SIGKILL SIG_DFL", o->sigaction(SIGKILL, &sa, NULL));
	tval(t, "sigaction SIGSTOP SIG_DFL", o->sigaction(SIGSTOP, &sa, NULL));

	/* A refused call leaves oldact as it was. */
	memset(&old, 0, sizeof(old));
	old.sa_sigaction = on_info;
	old.sa_flags = SA_SIGINFO | SA_RESTART;
	sa.sa_handler = on_plain;
	tval(t, "sigaction SIGKILL on_plain with oldact", o->sigaction(SIGKILL, &sa, &old));
	trace_act(t, "  oldact", &old);

	tval(t, "query signal 0", o->sigaction(0, NULL, &old));
	tval(t, "query signal 65", o->sigaction(65, NULL, &old));
	query(o, t, "query SIGKILL", SIGKILL);
	query(o, t, "query SIGSTOP", SIGSTOP);
	query(o, t, "query SIGUSR1, never set", SIGUSR1);
	query(o, t, "query SIGRTMIN+3, never set", SIGRTMIN + 3);
	tval(t, "sigaction SIGUSR1 with neither act nor oldact",
	    o->sigaction(SIGUSR1, NULL, NULL));

	/* Each call answers the action the one before set. */
	sa.sa_handler = on_plain;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sa.sa_mask = set_of(SIGUSR2, SIGTERM, 0);
	tval(t, "set SIGUSR1 on_plain RESTART|NODEFER mask {USR2,TERM}",
	    o->sigaction(SIGUSR1, &sa, &old));
	trace_act(t, "  oldact", &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	tval(t, "set SIGUSR1 on_info SIGINFO|RESETHAND|ONSTACK mask full",
	    o->sigaction(SIGUSR1, &sa, &old));
	trace_act(t, "  oldact", &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_mask = set_of(SIGINT, 0);
	tval(t, "set SIGUSR1 SIG_IGN mask {INT}", o->sigaction(SIGUSR1, &sa, &old));
	trace_act(t, "  oldact", &old);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	tval(t, "set SIGUSR1 SIG_DFL", o->sigaction(SIGUSR1, &sa, &old));
	trace_act(t, "  oldact", &old);
	query(o, t, "query SIGUSR1", SIGUSR1);

	/* act and oldact the same struct: the new action is read first. */
	tval(t, "set SIGUSR2 on_plain RESTART", act(o, SIGUSR2, on_plain, SA_RESTART, NULL));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sa.sa_mask = set_of(SIGRTMIN, 0);
	tval(t, "set SIGUSR2 on_info, act == oldact", o->sigaction(SIGUSR2, &sa, &sa));
	trace_act(t, "  oldact", &sa);
	query(o, t, "query SIGUSR2", SIGUSR2);

	sa.sa_handler = on_plain;
	sa.sa_flags = 0;
	sa.sa_mask = set_of(SIGRTMIN, SIGRTMIN + 5, SIGKILL, 0);
	tval(t, "set SIGRTMIN+3 on_plain mask {RTMIN,RTMIN+5,KILL}",
	    o->sigaction(SIGRTMIN + 3, &sa, NULL));
	query(o, t, "query SIGRTMIN+3", SIGRTMIN + 3);
}

/* ---- 2. sigprocmask and pthread_sigmask -------------------------------- */

/* Records how(set) with its oldset, which starts as {SIGHUP} to show
 * whether the call wrote it. */
static void change_mask(const struct sig_ops *o, struct trace *t, int how,
			const char *what, sigset_t set)
{
	sigset_t old = set_of(SIGHUP, 0);

	tval(t, what, o->sigprocmask(how, &set, &old));
	tprintf(t, "  oldset %s", setstr(&old));
}

static void scen_sigprocmask(const struct sig_ops *o, struct trace *t)
{
	sigset_t s, old;

	trace_mask(o, t, "mask at start");
	change_mask(o, t, SIG_BLOCK, "SIG_BLOCK {USR1}", set_of(SIGUSR1, 0));
	change_mask(o, t, SIG_BLOCK, "SIG_BLOCK {USR2,TERM}", set_of(SIGUSR2, SIGTERM, 0));
	change_mask(o, t, SIG_UNBLOCK, "SIG_UNBLOCK {USR1,INT}", set_of(SIGUSR1, SIGINT, 0));
	change_mask(o, t, SIG_BLOCK, "SIG_BLOCK {RTMIN,RTMIN+10}",
		    set_of(SIGRTMIN, SIGRTMIN + 10, 0));
	change_mask(o, t, SIG_SETMASK, "SIG_SETMASK {INT,RTMIN+1}",
		    set_of(SIGINT, SIGRTMIN + 1, 0));
	/* how is looked at only when there is a set; after an error oldset
	 * is as it was. */
	old = set_of(SIGHUP, 0);
	tval(t, "how 99, no set", o->sigprocmask(99, NULL, &old));
	tprintf(t, "  oldset %s", setstr(&old));
	change_mask(o, t, 99, "how 99 {USR1}", set_of(SIGUSR1, 0));
	change_mask(o, t, -1, "how -1 {USR1}", set_of(SIGUSR1, 0));
	change_mask(o, t, SIG_SETMASK + 1, "how SIG_SETMASK+1 {USR1}", set_of(SIGUSR1, 0));
	trace_mask(o, t, "mask after the bad calls");

	/* SIGKILL and SIGSTOP are left out of the mask without an error. */
	change_mask(o, t, SIG_SETMASK, "SIG_SETMASK {KILL,STOP,USR1}",
		    set_of(SIGKILL, SIGSTOP, SIGUSR1, 0));
	change_mask(o, t, SIG_BLOCK, "SIG_BLOCK {KILL}", set_of(SIGKILL, 0));
	trace_mask(o, t, "mask");
	sigfillset(&s);
	tval(t, "SIG_SETMASK full", o->sigprocmask(SIG_SETMASK, &s, NULL));
	trace_mask(o, t, "mask");
	sigemptyset(&s);
	change_mask(o, t, SIG_SETMASK, "SIG_SETMASK {}", s);

	/* pthread_sigmask answers the error instead of setting errno. */
	s = set_of(SIGUSR1, 0);
	rec_err(t, "pthread_sigmask how 99 {USR1}", o->pthread_sigmask(99, &s, NULL));
	old = set_of(SIGHUP, 0);
	rec_err(t, "pthread_sigmask SIG_BLOCK {USR1}", o->pthread_sigmask(SIG_BLOCK, &s, &old));
	tprintf(t, "  oldset %s", setstr(&old));
	s = set_of(SIGUSR2, SIGSTOP, 0);
	rec_err(t, "pthread_sigmask SIG_SETMASK {USR2,STOP}",
		o->pthread_sigmask(SIG_SETMASK, &s, &old));
	tprintf(t, "  oldset %s", setstr(&old));
	old = set_of(SIGHUP, 0);
	rec_err(t, "pthread_sigmask SIG_UNBLOCK, no set",
		o->pthread_sigmask(SIG_UNBLOCK, NULL, &old));
	tprintf(t, "  oldset %s", setstr(&old));
	s = set_of(SIGUSR2, 0);
	rec_err(t, "pthread_sigmask SIG_UNBLOCK {USR2}", o->pthread_sigmask(SIG_UNBLOCK, &s, NULL));
	trace_mask(o, t, "mask at the end");
	trace_pending(o, t, "pending");
}

/* ---- 3. coalescing and queueing -------------------------------------- */

static void scen_coalesce(const struct sig_ops *o, struct trace *t)
{
	sigset_t usr1 = set_of(SIGUSR1, 0), rt = set_of(SIGRTMIN + 1, 0);

	/* A standard signal is pending or not: three make one. */
	tval(t, "sigaction SIGUSR1 on_info", act(o, SIGUSR1, NULL, SA_SIGINFO, NULL));
	tval(t, "block SIGUSR1", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	for (int i = 0; i < 3; i++)
		tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	trace_pending(o, t, "pending");
	trace_events(t, "handlers while blocked");
	tval(t, "unblock SIGUSR1", o->sigprocmask(SIG_UNBLOCK, &usr1, NULL));
	trace_events(t, "handlers by the time sigprocmask returned");
	trace_pending(o, t, "pending");
	tval(t, "block SIGUSR1", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	tval(t, "kill self SIGUSR1", o->kill(getpid(), SIGUSR1));
	tval(t, "kill self SIGUSR1", o->kill(getpid(), SIGUSR1));
	tval(t, "unblock SIGUSR1", o->sigprocmask(SIG_UNBLOCK, &usr1, NULL));
	trace_events(t, "handlers");

	/* A real-time one is queued: each comes, in the order sent. */
	tval(t, "sigaction SIGRTMIN+1 on_info", act(o, SIGRTMIN + 1, NULL, SA_SIGINFO, NULL));
	tval(t, "block SIGRTMIN+1", o->sigprocmask(SIG_BLOCK, &rt, NULL));
	for (int v = 1; v <= 3; v++) {
		char what[48];

		snprintf(what, sizeof(what), "sigqueue self SIGRTMIN+1 value %d", v);
		tval(t, what, o->sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = v }));
	}
	trace_pending(o, t, "pending");
	trace_events(t, "handlers while blocked");
	tval(t, "unblock SIGRTMIN+1", o->sigprocmask(SIG_UNBLOCK, &rt, NULL));
	trace_events(t, "handlers by the time sigprocmask returned");
	trace_pending(o, t, "pending");

	tval(t, "block SIGRTMIN+1", o->sigprocmask(SIG_BLOCK, &rt, NULL));
	tval(t, "kill self SIGRTMIN+1", o->kill(getpid(), SIGRTMIN + 1));
	tval(t, "sigqueue self SIGRTMIN+1 value 9",
	    o->sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = 9 }));
	tval(t, "kill self SIGRTMIN+1", o->kill(getpid(), SIGRTMIN + 1));
	tval(t, "unblock SIGRTMIN+1", o->sigprocmask(SIG_UNBLOCK, &rt, NULL));
	trace_events(t, "handlers");
}

/* ---- 4. SIG_IGN, and signals whose default is to be ignored --------- */

static void scen_ignore(const struct sig_ops *o, struct trace *t)
{
	sigset_t usr1 = set_of(SIGUSR1, 0), winch = set_of(SIGWINCH, 0);
	sigset_t rt = set_of(SIGRTMIN + 3, 0);

	tprintf(t, "-- SIG_IGN discards a pending signal");
	tval(t, "sigaction SIGUSR1 on_plain", act(o, SIGUSR1, on_plain, 0, NULL));
	tval(t, "block SIGUSR1", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	trace_pending(o, t, "pending");
	tval(t, "sigaction SIGUSR1 SIG_IGN", act(o, SIGUSR1, SIG_IGN, 0, NULL));
	trace_pending(o, t, "pending");
	tval(t, "sigaction SIGUSR1 on_plain", act(o, SIGUSR1, on_plain, 0, NULL));
	tval(t, "unblock SIGUSR1", o->sigprocmask(SIG_UNBLOCK, &usr1, NULL));
	trace_events(t, "handlers");

	tprintf(t, "-- sent while ignored and not blocked: discarded");
	tval(t, "sigaction SIGUSR1 SIG_IGN", act(o, SIGUSR1, SIG_IGN, 0, NULL));
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	tval(t, "block SIGUSR1", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	trace_pending(o, t, "pending");
	tval(t, "sigaction SIGUSR1 on_plain", act(o, SIGUSR1, on_plain, 0, NULL));
	tval(t, "unblock SIGUSR1", o->sigprocmask(SIG_UNBLOCK, &usr1, NULL));
	trace_events(t, "handlers");

	tprintf(t, "-- sent while ignored but blocked: kept");
	tval(t, "block SIGUSR1", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	tval(t, "sigaction SIGUSR1 SIG_IGN", act(o, SIGUSR1, SIG_IGN, 0, NULL));
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	trace_pending(o, t, "pending");
	tval(t, "sigaction SIGUSR1 on_plain", act(o, SIGUSR1, on_plain, 0, NULL));
	trace_pending(o, t, "pending");
	tval(t, "unblock SIGUSR1", o->sigprocmask(SIG_UNBLOCK, &usr1, NULL));
	trace_events(t, "handlers");

	tprintf(t, "-- SIGWINCH, ignored by default");
	tval(t, "raise SIGWINCH", o->raise(SIGWINCH));
	trace_pending(o, t, "pending");
	tval(t, "block SIGWINCH", o->sigprocmask(SIG_BLOCK, &winch, NULL));
	tval(t, "raise SIGWINCH", o->raise(SIGWINCH));
	trace_pending(o, t, "pending");
	tval(t, "sigaction SIGWINCH on_plain", act(o, SIGWINCH, on_plain, 0, NULL));
	tval(t, "unblock SIGWINCH", o->sigprocmask(SIG_UNBLOCK, &winch, NULL));
	trace_events(t, "handlers");
	tval(t, "sigaction SIGWINCH SIG_DFL", act(o, SIGWINCH, SIG_DFL, 0, NULL));
	tval(t, "block SIGWINCH", o->sigprocmask(SIG_BLOCK, &winch, NULL));
	tval(t, "raise SIGWINCH", o->raise(SIGWINCH));
	trace_pending(o, t, "pending");
	tval(t, "unblock SIGWINCH", o->sigprocmask(SIG_UNBLOCK, &winch, NULL));
	trace_pending(o, t, "pending");

	tprintf(t, "-- SIG_IGN discards every queued real-time signal");
	tval(t, "sigaction SIGRTMIN+3 on_info", act(o, SIGRTMIN + 3, NULL, SA_SIGINFO, NULL));
	tval(t, "block SIGRTMIN+3", o->sigprocmask(SIG_BLOCK, &rt, NULL));
	tval(t, "sigqueue self SIGRTMIN+3 value 1",
	    o->sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = 1 }));
	tval(t, "sigqueue self SIGRTMIN+3 value 2",
	    o->sigqueue(getpid(), SIGRTMIN + 3, (union sigval){ .sival_int = 2 }));
	trace_pending(o, t, "pending");
	tval(t, "sigaction SIGRTMIN+3 SIG_IGN", act(o, SIGRTMIN + 3, SIG_IGN, 0, NULL));
	trace_pending(o, t, "pending");
	tval(t, "sigaction SIGRTMIN+3 on_info", act(o, SIGRTMIN + 3, NULL, SA_SIGINFO, NULL));
	tval(t, "unblock SIGRTMIN+3", o->sigprocmask(SIG_UNBLOCK, &rt, NULL));
	trace_events(t, "handlers");
	trace_pending(o, t, "pending at the end");
}

/* ---- 5. the order a pending set is delivered in ---------------------- */

static void delivery_order(const struct sig_ops *o, struct trace *t, int full)
{
	const int raised[] = { SIGRTMIN + 2, SIGUSR2, SIGTERM, SIGRTMIN, SIGUSR1 };
	sigset_t all = set_of(SIGUSR2, SIGUSR1, SIGTERM, SIGRTMIN + 2, SIGRTMIN, 0);
	sigset_t mask;

	/* A full sa_mask runs the handlers one after another; with an empty
	 * one each can start inside the one before. */
	tprintf(t, "-- handlers with sa_mask %s", full ? "full" : "empty");
	if (full)
		sigfillset(&mask);
	else
		sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(raised) / sizeof(raised[0]); i++)
		if (act(o, raised[i], on_plain, 0, &mask) < 0)
			tprintf(t, "sigaction %s: %s", sname(raised[i]), errname(errno));
	tval(t, "block them", o->sigprocmask(SIG_BLOCK, &all, NULL));
	for (size_t i = 0; i < sizeof(raised) / sizeof(raised[0]); i++) {
		char what[48];

		snprintf(what, sizeof(what), "raise %s", sname(raised[i]));
		tval(t, what, o->raise(raised[i]));
	}
	trace_pending(o, t, "pending");
	tval(t, "unblock them at once", o->sigprocmask(SIG_UNBLOCK, &all, NULL));
	trace_events(t, "handlers in the order they started");
	trace_pending(o, t, "pending");
}

static void scen_order(const struct sig_ops *o, struct trace *t)
{
	delivery_order(o, t, 1);
	delivery_order(o, t, 0);
}

/* ---- 6. SA_RESETHAND and SA_NODEFER ----------------------------------- */

static void helper_resethand(const struct sig_ops *o, struct trace *t)
{
	tval(t, "sigaction SIGUSR1 on_mask RESETHAND",
	    act(o, SIGUSR1, on_mask, SA_RESETHAND, NULL));
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	trace_events(t, "handlers");
	query(o, t, "query SIGUSR1 after one delivery", SIGUSR1);
	area_put(helper_slot, t);
	tval(t, "raise SIGUSR1 again", o->raise(SIGUSR1));
	tprintf(t, "still alive");
}

static void nodefer(const struct sig_ops *o, struct trace *t, int flags)
{
	tprintf(t, "-- a handler raising its own signal, flags %s", flagstr(flags));
	tval(t, "sigaction SIGUSR2 on_nest", act(o, SIGUSR2, on_nest, flags, NULL));
	nest_raises = 1;
	tval(t, "raise SIGUSR2", o->raise(SIGUSR2));
	trace_events(t, "handlers");
	trace_pending(o, t, "pending");
	trace_mask(o, t, "mask");
}

static void scen_resethand_nodefer(const struct sig_ops *o, struct trace *t)
{
	struct helper h;

	tprintf(t, "-- SA_RESETHAND: the second delivery takes the default action");
	h = spawn(o, helper_resethand, 1, "child");
	reap(t, &h);
	nodefer(o, t, SA_NODEFER);
	nodefer(o, t, 0);
}

/* ---- 7. between processes: handlers --------------------------------- */

static volatile sig_atomic_t flag;

static void on_flag(int sig, siginfo_t *si, void *uc)
{
	on_info(sig, si, uc);
	flag = 1;
}

static void helper_spin(const struct sig_ops *o, struct trace *t)
{
	struct sigaction sa;
	volatile unsigned long spins = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_flag;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	tval(t, "sigaction SIGUSR1 on_flag", o->sigaction(SIGUSR1, &sa, NULL));
	say_ready(t);
	/* No system call: the signal has to come by itself. */
	while (!flag)
		spins++;
	trace_events(t, "handlers");
	helper_exit(t, 7);
}

static int reader_flags;

/* Blocks in the kernel's read on a pipe nobody writes. */
static void helper_reader(const struct sig_ops *o, struct trace *t)
{
	char c = 0;
	long r;

	tval(t, "sigaction SIGUSR1 on_ack", act(o, SIGUSR1, on_ack, reader_flags, NULL));
	say_ready(t);
	r = tval(t, "read (kernel) on a quiet pipe", read(quiet[0], &c, 1));
	if (r == 1)
		tprintf(t, "  read '%c'", c);
	trace_events(t, "handlers");
}

static void interrupted_read(const struct sig_ops *o, struct trace *t, int flags)
{
	struct helper h;

	tprintf(t, "-- a child blocked in read, handler flags %s", flagstr(flags));
	if (pipe(quiet) < 0 || pipe(ack) < 0) {
		tprintf(t, "pipe: %s", errname(errno));
		return;
	}
	reader_flags = flags;
	h = spawn(o, helper_reader, 1, "child");
	wait_ready(t, &h);
	tprintf(t, "child blocked: %d", wait_blocked(h.pid) == 0);
	tval(t, "kill child SIGUSR1", o->kill(h.pid, SIGUSR1));
	if (flags & SA_RESTART) {
		/* The byte comes only after the handler ran and the read
		 * went back to sleep: its return shows the restart. */
		tprintf(t, "child's handler ran: %d", wait_byte(ack[0]));
		tprintf(t, "child blocked again: %d", wait_blocked(h.pid) == 0);
		tprintf(t, "write a byte: %d", (int)write(quiet[1], "x", 1));
	}
	reap(t, &h);
	close(quiet[0]);
	close(quiet[1]);
	close(ack[0]);
	close(ack[1]);
}

static void scen_between(const struct sig_ops *o, struct trace *t)
{
	struct helper h;

	tprintf(t, "-- a child spinning without system calls");
	h = spawn(o, helper_spin, 1, "child");
	wait_ready(t, &h);
	tval(t, "kill child SIGUSR1", o->kill(h.pid, SIGUSR1));
	reap(t, &h);
	interrupted_read(o, t, 0);
	interrupted_read(o, t, SA_RESTART);
}

/* ---- the mechanisms' blocking calls -------------------------------- */

static int mp[2], mq = -1, mflags;

/* Blocks in the ops' own pipe read (mq < 0) or msgrcv. */
static void helper_blocked(const struct sig_ops *o, struct trace *t)
{
	struct { long type; char text[8]; } m;
	char c = 0;
	long r;

	tval(t, "sigaction SIGUSR1 on_ack", act(o, SIGUSR1, on_ack, mflags, NULL));
	say_ready(t);
	if (mq >= 0) {
		tval(t, "msgrcv on an empty queue", o->msgrcv(mq, &m, sizeof(m.text), 0, 0));
	} else {
		r = tval(t, "read on an empty pipe", o->read(mp[0], &c, 1));
		if (r == 1)
			tprintf(t, "  read '%c'", c);
	}
	trace_events(t, "handlers");
}

static void blocked_in(const struct sig_ops *o, struct trace *t, int msg, int flags)
{
	struct helper h;

	tprintf(t, "-- a child blocked in %s, handler flags %s",
		msg ? "msgrcv" : "a pipe read", flagstr(flags));
	if (o->pipe(mp) < 0 || pipe(ack) < 0) {
		tprintf(t, "pipe: %s", errname(errno));
		return;
	}
	mq = msg ? o->msgget(IPC_PRIVATE, 0600) : -1;
	mflags = flags;
	h = spawn(o, helper_blocked, 1, "child");
	wait_ready(t, &h);
	tprintf(t, "child blocked: %d", wait_blocked(h.pid) == 0);
	tval(t, "kill child SIGUSR1", o->kill(h.pid, SIGUSR1));
	tprintf(t, "child's handler ran: %d", wait_byte(ack[0]));
	if (!msg && (flags & SA_RESTART)) {
		tprintf(t, "child blocked again: %d", wait_blocked(h.pid) == 0);
		tprintf(t, "write a byte: %d", (int)o->write(mp[1], "x", 1));
	}
	reap(t, &h);
	if (mq >= 0)
		tval(t, "rm the queue", o->msgctl(mq, IPC_RMID, NULL));
	o->close(mp[0]);
	o->close(mp[1]);
	close(ack[0]);
	close(ack[1]);
}

static void scen_blocked(const struct sig_ops *o, struct trace *t)
{
	blocked_in(o, t, 0, 0);
	blocked_in(o, t, 0, SA_RESTART);
	blocked_in(o, t, 1, 0);
	blocked_in(o, t, 1, SA_RESTART);	/* never restarted (signal(7)) */
}

/* ---- 8. default actions, kill's errors ------------------------------- */

enum { SLEEP_PAUSE, SLEEP_READ, SLEEP_NOT };
static int sleep_kind;

static void helper_sleeper(const struct sig_ops *o, struct trace *t)
{
	sigset_t none;
	char c;

	sigemptyset(&none);
	tval(t, "SIG_BLOCK {} (the first uipc call)", o->sigprocmask(SIG_BLOCK, &none, NULL));
	say_ready(t);
	if (sleep_kind == SLEEP_PAUSE)
		tval(t, "pause", o->pause());
	else if (sleep_kind == SLEEP_READ)
		tval(t, "read (kernel) on a quiet pipe", read(quiet[0], &c, 1));
	else
		helper_exit(t, 0);
	helper_exit(t, 3);
}

/* A sleeping child killed by sig's default action. */
static pid_t default_action(const struct sig_ops *o, struct trace *t, int kind,
			    int sig)
{
	struct helper h;
	char what[64];

	tprintf(t, "-- %s to a child in %s", sname(sig),
		kind == SLEEP_PAUSE ? "pause" : "a kernel read");
	sleep_kind = kind;
	h = spawn(o, helper_sleeper, 1, "child");
	wait_ready(t, &h);
	tprintf(t, "child blocked: %d", wait_blocked(h.pid) == 0);
	tval(t, "kill child 0", o->kill(h.pid, 0));
	tval(t, "kill child 65", o->kill(h.pid, 65));
	snprintf(what, sizeof(what), "kill child %s", sname(sig));
	tval(t, what, o->kill(h.pid, sig));
	reap(t, &h);
	return h.pid;
}

static void scen_default(const struct sig_ops *o, struct trace *t)
{
	sigset_t none;
	siginfo_t si;
	struct helper h;
	pid_t gone;

	sigemptyset(&none);
	tval(t, "SIG_BLOCK {}", o->sigprocmask(SIG_BLOCK, &none, NULL));
	if (pipe(quiet) < 0) {
		tprintf(t, "pipe: %s", errname(errno));
		return;
	}
	gone = default_action(o, t, SLEEP_PAUSE, SIGTERM);
	/* The pid of a reaped process is nobody's: sig is not even looked at. */
	tval(t, "kill the reaped child 0", o->kill(gone, 0));
	tval(t, "kill the reaped child SIGTERM", o->kill(gone, SIGTERM));
	tval(t, "kill the reaped child 65", o->kill(gone, 65));
	tval(t, "sigqueue the reaped child SIGUSR1",
	    o->sigqueue(gone, SIGUSR1, (union sigval){ .sival_int = 1 }));
	default_action(o, t, SLEEP_READ, SIGUSR2);
	default_action(o, t, SLEEP_PAUSE, SIGKILL);
	close(quiet[0]);
	close(quiet[1]);

	/* An exited child not yet waited for still exists. */
	tprintf(t, "-- a child that exited, not yet reaped");
	sleep_kind = SLEEP_NOT;
	h = spawn(o, helper_sleeper, 1, "child");
	wait_ready(t, &h);
	memset(&si, 0, sizeof(si));
	tval(t, "waitid WNOWAIT", waitid(P_PID, (id_t)h.pid, &si, WEXITED | WNOWAIT));
	tval(t, "kill the zombie 0", o->kill(h.pid, 0));
	reap(t, &h);

	tprintf(t, "-- bad signals and pids");
	tval(t, "kill self 0", o->kill(getpid(), 0));
	tval(t, "kill self 65", o->kill(getpid(), 65));
	tval(t, "kill self -1", o->kill(getpid(), -1));
	tval(t, "sigqueue self 65", o->sigqueue(getpid(), 65, (union sigval){ .sival_int = 1 }));
	tval(t, "raise 65", o->raise(65));
	tval(t, "kill INT_MIN 0", o->kill(INT_MIN, 0));
	tval(t, "kill INT_MIN SIGUSR1", o->kill(INT_MIN, SIGUSR1));
}

/* ---- stop and continue ---------------------------------------------- */

/* What waitpid(WUNTRACED | WCONTINUED) says of pid within 5 s. */
static void trace_change(struct trace *t, const char *what, pid_t pid)
{
	int st = 0;
	pid_t r = 0;

	for (int i = 0; i < 5000 && r == 0; i++) {
		r = waitpid(pid, &st, WNOHANG | WUNTRACED | WCONTINUED);
		if (r == 0)
			usleep(1000);
	}
	if (r != pid)
		tprintf(t, "%s: no change", what);
	else if (WIFSTOPPED(st))
		tprintf(t, "%s: stopped by %s", what, sname(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		tprintf(t, "%s: continued", what);
	else
		trace_status(t, what, st);
}

static void scen_stop(const struct sig_ops *o, struct trace *t)
{
	sigset_t none, stops = set_of(SIGTSTP, SIGCONT, 0);
	struct sigaction ign;
	struct helper h;

	sigemptyset(&none);
	tval(t, "SIG_BLOCK {}", o->sigprocmask(SIG_BLOCK, &none, NULL));
	/* A continue drops a pending stop, a stop a pending continue. */
	tval(t, "block SIGTSTP, SIGCONT", o->sigprocmask(SIG_BLOCK, &stops, NULL));
	tval(t, "raise SIGTSTP", o->raise(SIGTSTP));
	trace_pending(o, t, "pending");
	tval(t, "kill self SIGCONT", o->kill(getpid(), SIGCONT));
	trace_pending(o, t, "pending");
	tval(t, "raise SIGTSTP", o->raise(SIGTSTP));
	trace_pending(o, t, "pending");
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	tval(t, "SIGTSTP ignored", o->sigaction(SIGTSTP, &ign, NULL));
	tval(t, "unblock SIGTSTP, SIGCONT", o->sigprocmask(SIG_UNBLOCK, &stops, NULL));
	ign.sa_handler = SIG_DFL;
	tval(t, "SIGTSTP default", o->sigaction(SIGTSTP, &ign, NULL));
	for (int k = 0; k < 2; k++) {
		int stop = k == 0 ? SIGTSTP : SIGSTOP;
		char what[48];

		sleep_kind = SLEEP_PAUSE;
		h = spawn(o, helper_sleeper, 1, "child");
		wait_ready(t, &h);
		tprintf(t, "child blocked: %d", wait_blocked(h.pid) == 0);
		snprintf(what, sizeof(what), "kill child %s", sname(stop));
		tval(t, what, o->kill(h.pid, stop));
		trace_change(t, "after it", h.pid);
		tval(t, "kill child SIGCONT", o->kill(h.pid, SIGCONT));
		trace_change(t, "after SIGCONT", h.pid);
		tval(t, "kill child SIGTERM", o->kill(h.pid, SIGTERM));
		reap(t, &h);
	}
}

/* A stop and at once a continue, at random moments of the target's
 * taking the stop: once both are sent, the target runs (a continue that
 * comes before the stop takes effect still wins, as prepare_signal and
 * the group stop make it on the kernel).  Rounds for at most 8 s. */
static void scen_stop_cont(const struct sig_ops *o, struct trace *t)
{
	struct timespec t0, now;
	unsigned rnd = 12345;
	int rounds = 0, stuck = 0;
	struct helper h;

	sleep_kind = SLEEP_PAUSE;
	h = spawn(o, helper_sleeper, 1, "child");
	wait_ready(t, &h);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (; rounds < 1500 && !stuck; rounds++) {
		int spin = rand_r(&rnd) % 20000, seen = 0;

		o->kill(h.pid, SIGTSTP);
		for (volatile int i = 0; i < spin; i++)
			;
		o->kill(h.pid, SIGCONT);
		/* Stopped for 100 ms after both: left stopped. */
		for (int i = 0; i < 50 && harness_proc_state(h.pid) == 'T'; i++, seen++)
			usleep(2000);
		if (seen == 50) {
			stuck = 1;
			kill(h.pid, SIGCONT);	/* the kernel's, to go on */
		}
		while (waitpid(h.pid, NULL, WNOHANG | WUNTRACED | WCONTINUED) > 0)
			;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 8)
			break;
	}
	tprintf(t, "a stop, then a continue: %s", stuck ?
		"left stopped" : "the target runs after each");
	printf("     %s: %d rounds of a stop and a continue\n", o->name, rounds);
	tval(t, "kill child SIGTERM", o->kill(h.pid, SIGTERM));
	reap(t, &h);
}

/* ---- signals to a thread ------------------------------------------- */

static _Atomic pid_t thread_tid;
static _Atomic int thread_got;

static void *waiting_thread(void *arg)
{
	const struct sig_ops *o = arg;
	sigset_t usr1;
	int sig = 0;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	o->sigprocmask(SIG_BLOCK, &usr1, NULL);
	atomic_store(&thread_tid, (pid_t)syscall(SYS_gettid));
	if (o->sigwait(&usr1, &sig) == 0)
		atomic_store(&thread_got, sig);
	o->sigwait(&usr1, &sig);	/* the second, by tgkill */
	return NULL;
}

static void scen_thread(const struct sig_ops *o, struct trace *t)
{
	sigset_t usr1, pend;
	pthread_t th;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	tval(t, "block SIGUSR1", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	atomic_store(&thread_tid, 0);
	atomic_store(&thread_got, 0);
	if (pthread_create(&th, NULL, waiting_thread, (void *)o)) {
		tprintf(t, "pthread_create failed");
		return;
	}
	for (int i = 0; i < 5000 && !atomic_load(&thread_tid); i++)
		usleep(1000);
	tprintf(t, "pthread_kill 65: %s", errname(o->pthread_kill(th, 65)));
	tprintf(t, "pthread_kill the thread SIGUSR1: %s",
		errname(o->pthread_kill(th, SIGUSR1)));
	for (int i = 0; i < 5000 && !atomic_load(&thread_got); i++)
		usleep(1000);
	tprintf(t, "the thread took %s", sname(atomic_load(&thread_got)));
	tval(t, "tgkill self, the thread, SIGUSR1",
	    o->tgkill(getpid(), atomic_load(&thread_tid), SIGUSR1));
	pthread_join(th, NULL);
	o->sigpending(&pend);
	tprintf(t, "pending here: %d", sigismember(&pend, SIGUSR1));
	tval(t, "tgkill 0 1 SIGUSR1", o->tgkill(0, 1, SIGUSR1));
	tval(t, "tgkill self -1 SIGUSR1", o->tgkill(getpid(), -1, SIGUSR1));
	tval(t, "tgkill self 999999999 SIGUSR1", o->tgkill(getpid(), 999999999, SIGUSR1));
	tval(t, "tgkill self self 65", o->tgkill(getpid(), getpid(), 65));
	tprintf(t, "pthread_kill self 0: %s", errname(o->pthread_kill(pthread_self(), 0)));
}

/* ---- exec --------------------------------------------------------- */

static const char *disposition(const struct sig_ops *o, int sig)
{
	struct sigaction old;

	if (o->sigaction(sig, NULL, &old) < 0)
		return errname(errno);
	return old.sa_handler == SIG_DFL ? "SIG_DFL" :
	       old.sa_handler == SIG_IGN ? "SIG_IGN" : "a handler";
}

/* The program after the exec: what it finds, on fd 3, then SIGTERM
 * unblocked (pending from before the exec, it ends the process). */
static int exec_probe(const char *side)
{
	const struct sig_ops *o = strcmp(side, "uipc") ? &kernel_sops : &uipc_sops;
	sigset_t m, term;
	FILE *f = fdopen(3, "w");

	if (!f)
		return 9;
	setvbuf(f, NULL, _IONBF, 0);
	fprintf(f, "SIGUSR1 (a handler before): %s\n", disposition(o, SIGUSR1));
	fprintf(f, "SIGUSR2 (ignored before): %s\n", disposition(o, SIGUSR2));
	o->sigprocmask(SIG_BLOCK, NULL, &m);
	fprintf(f, "SIGTERM blocked: %d, SIGHUP blocked: %d\n",
		sigismember(&m, SIGTERM), sigismember(&m, SIGHUP));
	o->sigpending(&m);
	fprintf(f, "SIGTERM pending: %d\n", sigismember(&m, SIGTERM));
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	o->sigprocmask(SIG_UNBLOCK, &term, NULL);
	fprintf(f, "still here after unblocking SIGTERM\n");
	return 0;
}

/* The program after the exec, making no uipc call: it says so on fd 3
 * and waits for a byte on fd 4 (a signal's default action may end it
 * first: its process's signals must reach it from the start). */
static int exec_waiter(void)
{
	char c;

	if (write(3, "exec'd\n", 7) != 7)
		return 9;
	return read(4, &c, 1) == 1 ? 0 : 8;
}

/* A signal sent to a process that exec'd and has made no uipc call yet. */
static void exec_then_signal(const struct sig_ops *o, struct trace *t)
{
	int out[2], in[2];
	char buf[64] = "";
	pid_t kid;

	if (pipe(out) < 0 || pipe(in) < 0)
		return;
	kid = fork();
	if (kid == 0) {
		sigset_t none;

		sigemptyset(&none);
		o->sigprocmask(SIG_BLOCK, &none, NULL);	/* a signal user */
		dup2(out[1], 3);
		dup2(in[0], 4);
		execl("/proc/self/exe", "sig_api", "exec-waiter", o->name, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	{
		struct pollfd pf = { out[0], POLLIN, 0 };

		if (poll(&pf, 1, 5000) > 0 && read(out[0], buf, sizeof(buf) - 1) > 0)
			tprintf(t, "the child: %s", strtok(buf, "\n"));
	}
	tval(t, "kill it SIGHUP", o->kill(kid, SIGHUP));
	usleep(100000);
	signal(SIGPIPE, SIG_IGN);	/* the kernel's: it may be gone */
	write(in[1], "x", 1);
	signal(SIGPIPE, SIG_DFL);
	trace_status(t, "the exec'd child", wait_bounded(kid, 5000));
	close(out[0]);
	close(in[1]);
}

/* What a child writes on fd until EOF (5 s between reads at most), as a
 * string in buf. */
static void read_to_eof(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t r;

		if (n >= cap - 1 || poll(&pf, 1, 5000) <= 0)
			break;
		r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
}

/* What exec_probe looks at: a handler for SIGUSR1, SIGUSR2 ignored,
 * SIGTERM blocked. */
static void state_before_exec(const struct sig_ops *o)
{
	sigset_t term = set_of(SIGTERM, 0);
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_plain;
	o->sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	o->sigaction(SIGUSR2, &sa, NULL);
	o->sigprocmask(SIG_BLOCK, &term, NULL);
}

/* The child's exec of exec_probe, its report traced: from a fork
 * (with SIGTERM pending), or from a vfork child of it, which runs no fork
 * handler and takes nothing pending along. */
static void run_probe(const struct sig_ops *o, struct trace *t, int by_vfork)
{
	char buf[1024];
	int p[2], st;
	pid_t kid;

	if (pipe(p) < 0) {
		tprintf(t, "pipe: %s", errname(errno));
		return;
	}
	kid = fork();
	if (kid == 0) {
		pid_t v = 0;

		state_before_exec(o);
		if (!by_vfork)
			o->kill(getpid(), SIGTERM);
		else
			v = vfork();
		if (v == 0) {
			dup2(p[1], 3);
			execl("/proc/self/exe", "sig_api", "exec-probe", o->name,
			      (char *)NULL);
			_exit(127);
		}
		if (v < 0 || waitpid(v, &st, 0) != v)
			_exit(126);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	close(p[1]);
	read_to_eof(p[0], buf, sizeof(buf));
	close(p[0]);
	tlines(t, by_vfork ? "after vfork and exec: " : "after exec: ", buf);
	st = wait_bounded(kid, 5000);
	trace_status(t, by_vfork ? "the vfork child's parent" : "the exec'd child", st);
}

static void scen_exec(const struct sig_ops *o, struct trace *t)
{
	run_probe(o, t, 0);
	exec_then_signal(o, t);
}

/* A vfork child runs no fork handler: its exec still keeps the ignored
 * signals and the mask it had (its parent's), and nothing is pending. */
static void scen_vfork(const struct sig_ops *o, struct trace *t)
{
	run_probe(o, t, 1);
}

/* ---- signalfd -------------------------------------------------------- */

/* What a read of fd gives: each record, or the error. */
static void trace_sfd_read(struct trace *t, const char *what, int fd, size_t len)
{
	struct signalfd_siginfo r[4];
	ssize_t n = read(fd, r, len);

	if (n < 0) {
		tprintf(t, "%s: -1 %s", what, errname(errno));
		return;
	}
	tprintf(t, "%s: %zd bytes", what, n);
	/* Only sigqueue gives a value: kill leaves it unspecified. */
	for (ssize_t i = 0; i < n / (ssize_t)sizeof(r[0]); i++)
		tprintf(t, "  %s code=%s pid=%s uid=%u int=%d", sname((int)r[i].ssi_signo),
			codestr(r[i].ssi_code), name_of((pid_t)r[i].ssi_pid),
			r[i].ssi_uid, r[i].ssi_code == SI_QUEUE ? r[i].ssi_int : 0);
}

/* Whether fd becomes readable within ms.  An event loop's poll goes on
 * after EINTR (uipc's delivery interrupts it: docs/uipc.md). */
static int poll_in(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;

	for (int i = 0; i < 100; i++) {
		r = poll(&p, 1, ms);
		if (r >= 0 || errno != EINTR)
			break;
	}
	return r == 1 && (p.revents & POLLIN);
}

static void helper_kill_parent_usr1(const struct sig_ops *o, struct trace *t)
{
	usleep(50000);
	tval(t, "kill parent SIGUSR1", o->kill(getppid(), SIGUSR1));
}

static void scen_signalfd(const struct sig_ops *o, struct trace *t)
{
	sigset_t set = set_of(SIGUSR1, SIGRTMIN, 0), other = set_of(SIGUSR2, 0);
	struct helper h;
	int fd;

	tval(t, "block SIGUSR1, SIGRTMIN, SIGUSR2",
	    o->sigprocmask(SIG_BLOCK, &set, NULL) | o->sigprocmask(SIG_BLOCK, &other, NULL));
	tval(t, "signalfd bad flags", o->signalfd(-1, &set, 0x1000));
	tval(t, "signalfd on stdin", o->signalfd(0, &set, 0) < 0 ? -1 : 0);
	tval(t, "signalfd on a closed descriptor", o->signalfd(1000, &set, 0));
	fd = o->signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	tprintf(t, "signalfd {USR1, RTMIN} NONBLOCK|CLOEXEC: %s", fd >= 0 ? "a descriptor" :
		errname(errno));
	if (fd < 0)
		return;
	tprintf(t, "FD_CLOEXEC: %d", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	trace_sfd_read(t, "read, nothing pending", fd, sizeof(struct signalfd_siginfo));
	tprintf(t, "poll: %d", poll_in(fd, 0));
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	tval(t, "sigqueue self SIGRTMIN 5", o->sigqueue(getpid(), SIGRTMIN,
		(union sigval){ .sival_int = 5 }));
	tval(t, "sigqueue self SIGRTMIN 6", o->sigqueue(getpid(), SIGRTMIN,
		(union sigval){ .sival_int = 6 }));
	tval(t, "raise SIGUSR2 (not watched)", o->raise(SIGUSR2));
	tprintf(t, "poll: %d", poll_in(fd, 1000));
	trace_sfd_read(t, "read 4 records' room", fd, 4 * sizeof(struct signalfd_siginfo));
	trace_sfd_read(t, "read again", fd, sizeof(struct signalfd_siginfo));
	trace_pending(o, t, "pending");
	tval(t, "new mask {USR2}", o->signalfd(fd, &other, 0) == fd ? 0 : -1);
	tprintf(t, "poll: %d", poll_in(fd, 1000));
	trace_sfd_read(t, "read", fd, sizeof(struct signalfd_siginfo));
	tval(t, "back to {USR1, RTMIN}", o->signalfd(fd, &set, 0) == fd ? 0 : -1);
	h = spawn(o, helper_kill_parent_usr1, 1, "child");
	tprintf(t, "poll, a child sends: %d", poll_in(fd, 5000));
	trace_sfd_read(t, "read", fd, sizeof(struct signalfd_siginfo));
	reap(t, &h);
	close(fd);
}

/* ---- 9. sigtimedwait, sigwaitinfo, sigwait ---------------------------- */

static void helper_queue42(const struct sig_ops *o, struct trace *t)
{
	tprintf(t, "parent blocked: %d", wait_blocked(getppid()) == 0);
	tval(t, "sigqueue parent SIGUSR1 value 42",
	    o->sigqueue(getppid(), SIGUSR1, (union sigval){ .sival_int = 42 }));
}

static void timedwait(const struct sig_ops *o, struct trace *t, const char *what,
		      const sigset_t *set, long sec, long nsec)
{
	struct timespec ts = { sec, nsec };
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (rec_sig(t, what, o->sigtimedwait(set, &si, &ts)) > 0)
		trace_info(t, "  info", &si);
}

static void scen_wait(const struct sig_ops *o, struct trace *t)
{
	sigset_t usr1 = set_of(SIGUSR1, 0), usr2 = set_of(SIGUSR2, 0);
	sigset_t both = set_of(SIGUSR1, SIGUSR2, 0);
	sigset_t mixed = set_of(SIGUSR2, SIGRTMIN + 4, 0);

	sigset_t waited = set_of(SIGUSR1, SIGUSR2, SIGRTMIN + 4, 0);
	struct helper h;
	siginfo_t si;
	int sig = 0;

	tval(t, "block SIGUSR1, SIGUSR2, SIGRTMIN+4",
	    o->sigprocmask(SIG_BLOCK, &waited, NULL));
	trace_mask(o, t, "mask");
	timedwait(o, t, "sigtimedwait {USR1} 10 ms", &usr1, 0, 10000000);
	timedwait(o, t, "sigtimedwait {USR1} 0", &usr1, 0, 0);
	timedwait(o, t, "sigtimedwait tv_nsec -1", &usr1, 0, -1);
	timedwait(o, t, "sigtimedwait tv_nsec 1000000000", &usr1, 0, 1000000000);
	timedwait(o, t, "sigtimedwait tv_sec -1", &usr1, -1, 0);

	h = spawn(o, helper_queue42, 1, "child");
	timedwait(o, t, "sigtimedwait {USR1} 5 s, a child sends", &usr1, 5, 0);
	reap(t, &h);
	trace_pending(o, t, "pending");
	/* A bad timeout is refused even with a signal there to take. */
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	timedwait(o, t, "sigtimedwait tv_nsec -1, SIGUSR1 pending", &usr1, 0, -1);
	timedwait(o, t, "sigtimedwait {USR1} 0, SIGUSR1 pending", &usr1, 0, 0);

	tval(t, "sigqueue self SIGUSR2 value 7",
	    o->sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 7 }));
	memset(&si, 0, sizeof(si));
	if (rec_sig(t, "sigwaitinfo {USR2}", o->sigwaitinfo(&usr2, &si)) > 0)
		trace_info(t, "  info", &si);
	tval(t, "kill self SIGUSR1", o->kill(getpid(), SIGUSR1));
	rec_err(t, "sigwait {USR1}", o->sigwait(&usr1, &sig));
	tprintf(t, "  sig %s", sname(sig));

	/* The lowest pending signal of the set comes first. */
	tval(t, "kill self SIGUSR2", o->kill(getpid(), SIGUSR2));
	tval(t, "kill self SIGUSR1", o->kill(getpid(), SIGUSR1));
	trace_pending(o, t, "pending");
	timedwait(o, t, "sigtimedwait {USR1,USR2} 0", &both, 0, 0);
	timedwait(o, t, "sigtimedwait {USR1,USR2} 0", &both, 0, 0);
	timedwait(o, t, "sigtimedwait {USR1,USR2} 0", &both, 0, 0);
	tval(t, "sigqueue self SIGRTMIN+4 value 5",
	    o->sigqueue(getpid(), SIGRTMIN + 4, (union sigval){ .sival_int = 5 }));
	tval(t, "sigqueue self SIGRTMIN+4 value 6",
	    o->sigqueue(getpid(), SIGRTMIN + 4, (union sigval){ .sival_int = 6 }));
	tval(t, "kill self SIGUSR2", o->kill(getpid(), SIGUSR2));
	for (int i = 0; i < 3; i++) {
		memset(&si, 0, sizeof(si));
		if (rec_sig(t, "sigwaitinfo {USR2,RTMIN+4}", o->sigwaitinfo(&mixed, &si)) > 0)
			trace_info(t, "  info", &si);
	}
	tval(t, "raise SIGUSR2", o->raise(SIGUSR2));
	rec_sig(t, "sigwaitinfo {USR2}, no info", o->sigwaitinfo(&usr2, NULL));
	trace_pending(o, t, "pending at the end");
}

/* ---- 10. sigsuspend ---------------------------------------------------- */

static void helper_kill_parent(const struct sig_ops *o, struct trace *t)
{
	tprintf(t, "parent blocked: %d", wait_blocked(getppid()) == 0);
	tval(t, "kill parent SIGUSR1", o->kill(getppid(), SIGUSR1));
}

/* A handler that sigsuspend runs, interrupted by another signal: the
 * helper sends SIGUSR2 once the parent's SIGUSR1 handler says it runs,
 * and that handler waits (2 s at most) for SIGUSR2's to have run. */
static int nest_pipe[2] = { -1, -1 };
static volatile sig_atomic_t usr2_ran;

static void on_usr2_flag(int sig)
{
	note(EV_ENTER, sig)->depth = ++nest_depth;
	usr2_ran = 1;
	note(EV_LEAVE, sig)->depth = nest_depth--;
}

static void on_usr1_waits(int sig)
{
	note(EV_ENTER, sig)->depth = ++nest_depth;
	if (write(nest_pipe[1], "x", 1) != 1)
		_exit(3);
	for (int i = 0; i < 2000 && !usr2_ran; i++)
		usleep(1000);
	note(EV_LEAVE, sig)->depth = nest_depth--;
}

static void helper_nest(const struct sig_ops *o, struct trace *t)
{
	char c;

	tprintf(t, "parent blocked: %d", wait_blocked(getppid()) == 0);
	tval(t, "kill parent SIGUSR1", o->kill(getppid(), SIGUSR1));
	tprintf(t, "parent in its handler: %d", read(nest_pipe[0], &c, 1) == 1);
	tval(t, "kill parent SIGUSR2", o->kill(getppid(), SIGUSR2));
}

/* Stops the parent in sigsuspend (SIGTSTP, its default action), continues
 * it, then sends SIGUSR1: the stop and the continue run no handler, so the
 * sigsuspend goes on until SIGUSR1's has run. */
static void helper_stop_then_usr1(const struct sig_ops *o, struct trace *t)
{
	tprintf(t, "parent blocked: %d", wait_blocked(getppid()) == 0);
	tval(t, "kill parent SIGTSTP", o->kill(getppid(), SIGTSTP));
	usleep(200000);
	tval(t, "kill parent SIGCONT", o->kill(getppid(), SIGCONT));
	usleep(200000);
	tval(t, "kill parent SIGUSR1", o->kill(getppid(), SIGUSR1));
}

static void scen_suspend(const struct sig_ops *o, struct trace *t)
{
	sigset_t usr1 = set_of(SIGUSR1, 0), usr2 = set_of(SIGUSR2, 0);
	sigset_t sa_mask = set_of(SIGUSR2, 0), none;
	struct helper h;

	sigemptyset(&none);
	tval(t, "sigaction SIGUSR1 on_mask, sa_mask {USR2}", act(o, SIGUSR1, on_mask, 0, &sa_mask));
	tval(t, "block SIGUSR1", o->sigprocmask(SIG_BLOCK, &usr1, NULL));
	h = spawn(o, helper_kill_parent, 1, "child");
	tval(t, "sigsuspend {}, a child sends SIGUSR1", o->sigsuspend(&none));
	trace_events(t, "handlers");
	trace_mask(o, t, "mask after");
	reap(t, &h);

	/* A signal already pending ends it at once. */
	tval(t, "sigaction SIGUSR2 on_mask", act(o, SIGUSR2, on_mask, 0, NULL));
	tval(t, "block SIGUSR2", o->sigprocmask(SIG_BLOCK, &usr2, NULL));
	tval(t, "raise SIGUSR2", o->raise(SIGUSR2));
	tval(t, "sigsuspend {USR1}, SIGUSR2 pending", o->sigsuspend(&usr1));
	trace_events(t, "handlers");
	trace_mask(o, t, "mask after");
	trace_pending(o, t, "pending");

	/* A handler sigsuspend runs is interrupted by the next signal its
	 * sa_mask lets in (one sent by another process while it runs). */
	if (pipe(nest_pipe) < 0) {
		tprintf(t, "pipe: %s", errname(errno));
		return;
	}
	usr2_ran = 0;
	tval(t, "sigaction SIGUSR1 on_usr1_waits", act(o, SIGUSR1, on_usr1_waits, 0, NULL));
	tval(t, "sigaction SIGUSR2 on_usr2_flag", act(o, SIGUSR2, on_usr2_flag, 0, NULL));
	h = spawn(o, helper_nest, 1, "child");
	tval(t, "sigsuspend {}, the child sends SIGUSR1, then SIGUSR2",
	     o->sigsuspend(&none));
	trace_events(t, "handlers");
	trace_mask(o, t, "mask after");
	reap(t, &h);
	trace_pending(o, t, "pending");
	close(nest_pipe[0]);
	close(nest_pipe[1]);

	tval(t, "sigaction SIGUSR1 on_mask", act(o, SIGUSR1, on_mask, 0, NULL));
	h = spawn(o, helper_stop_then_usr1, 1, "child");
	tval(t, "sigsuspend {}, stopped, continued, then SIGUSR1",
	     o->sigsuspend(&none));
	trace_events(t, "handlers");
	reap(t, &h);
	trace_pending(o, t, "pending");
}

/* ---- 11. permissions between users ----------------------------------- */

static pid_t target_pid;

static int drop_to_nobody(struct trace *t)
{
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0) {
		tprintf(t, "could not become nobody: %s", errname(errno));
		return -1;
	}
	return 0;
}

static void helper_nobody_target(const struct sig_ops *o, struct trace *t)
{
	if (drop_to_nobody(t) < 0)
		return;
	tval(t, "sigaction SIGUSR1 on_info", act(o, SIGUSR1, NULL, SA_SIGINFO, NULL));
	say_ready(t);
	tval(t, "pause", o->pause());
	trace_events(t, "handlers");
}

static void helper_nobody_sender(const struct sig_ops *o, struct trace *t)
{
	if (drop_to_nobody(t) < 0)
		return;
	tval(t, "kill parent (root) 0", o->kill(getppid(), 0));
	tval(t, "kill parent (root) SIGUSR1", o->kill(getppid(), SIGUSR1));
	tval(t, "sigqueue parent (root) SIGUSR1",
	    o->sigqueue(getppid(), SIGUSR1, (union sigval){ .sival_int = 1 }));
	tprintf(t, "target blocked: %d", wait_blocked(target_pid) == 0);
	tval(t, "kill target 0", o->kill(target_pid, 0));
	tval(t, "kill target SIGUSR1", o->kill(target_pid, SIGUSR1));
}

/* ---- kill(-1) inside a PID namespace of the test's own ------------- */

static volatile sig_atomic_t pidns_got;

static void on_pidns(int s)
{
	(void)s;
	pidns_got++;
}

/* A process of the namespace with a SIGUSR1 handler: ready, then what
 * came within 1 s, on out. */
static void pidns_member(const struct sig_ops *o, const char *who, int ready, int out)
{
	struct sigaction sa;
	char line[96];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_pidns;
	pidns_got = 0;
	o->sigaction(SIGUSR1, &sa, NULL);
	if (write(ready, "r", 1) != 1)
		_exit(3);
	for (int i = 0; i < 1000 && !pidns_got; i++)
		usleep(1000);
	usleep(50000);
	snprintf(line, sizeof(line), "%s (pid %d there): SIGUSR1 ran %d\n", who,
		 (int)getpid(), (int)pidns_got);
	if (write(out, line, strlen(line)) < 0)
		_exit(3);
}

/* The namespace's init: two members and a sender, which sends SIGUSR1
 * to -1 once all three have their handlers; init has one too (the
 * kernel's kill(-1) passes init by, and the sender itself). */
static void pidns_init(const struct sig_ops *o, int out)
{
	int ready[2];
	pid_t kid[3];
	char c;

	alarm(20);
	if (pipe(ready) < 0)
		_exit(2);
	for (int k = 0; k < 3; k++) {
		kid[k] = fork();
		if (kid[k] == 0) {
			char line[96];
			int r;

			if (k < 2) {
				pidns_member(o, k ? "member 2" : "member 1", ready[1], out);
				_exit(0);
			}
			for (int n = 0; n < 3; n++)
				if (read(ready[0], &c, 1) != 1)
					_exit(4);
			pidns_got = 0;
			r = o->kill(-1, SIGUSR1);
			snprintf(line, sizeof(line), "sender (pid %d there): kill -1 SIGUSR1 -> %d %s\n",
				 (int)getpid(), r, r < 0 ? errname(errno) : "");
			if (write(out, line, strlen(line)) < 0)
				_exit(3);
			_exit(0);
		}
	}
	pidns_member(o, "init", ready[1], out);
	for (int k = 0; k < 3; k++)
		waitpid(kid[k], NULL, 0);
	_exit(0);
}

static void scen_pidns(const struct sig_ops *o, struct trace *t)
{
	char buf[1024];
	int out[2], st;
	pid_t kid;

	if (pipe(out) < 0)
		return;
	kid = fork();
	if (kid == 0) {
		pid_t init;

		close(out[0]);
		if (unshare(CLONE_NEWPID) < 0) {
			dprintf(out[1], "unshare: %s\n", errname(errno));
			_exit(1);
		}
		init = fork();
		if (init == 0)
			pidns_init(o, out[1]);
		if (init < 0 || waitpid(init, &st, 0) != init)
			_exit(1);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	close(out[1]);
	read_to_eof(out[0], buf, sizeof(buf));
	close(out[0]);
	/* The order the processes wrote in is theirs: sorted. */
	{
		char *lines[16];
		int n = 0;

		for (char *l = strtok(buf, "\n"); l && n < 16; l = strtok(NULL, "\n"))
			lines[n++] = l;
		for (int i = 1; i < n; i++)
			for (int j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
				char *x = lines[j];

				lines[j] = lines[j - 1];
				lines[j - 1] = x;
			}
		for (int i = 0; i < n; i++)
			tprintf(t, "%s", lines[i]);
	}
	trace_status(t, "the namespace", wait_bounded(kid, 10000));
}

static void scen_users(const struct sig_ops *o, struct trace *t)
{
	struct helper target, sender;

	tval(t, "sigaction SIGUSR1 on_info (root)", act(o, SIGUSR1, NULL, SA_SIGINFO, NULL));
	target = spawn(o, helper_nobody_target, 1, "target");
	target_pid = target.pid;
	wait_ready(t, &target);
	sender = spawn(o, helper_nobody_sender, 2, "sender");
	reap(t, &sender);
	reap(t, &target);
	trace_events(t, "handlers in the root process");
}

/* ---- 12. fork: actions and mask go on, pending signals do not ------- */

static void helper_forked(const struct sig_ops *o, struct trace *t)
{
	query(o, t, "query SIGUSR1", SIGUSR1);
	query(o, t, "query SIGUSR2", SIGUSR2);
	trace_mask(o, t, "mask");
	trace_pending(o, t, "pending");
	tval(t, "raise SIGUSR1", o->raise(SIGUSR1));
	trace_events(t, "handlers");
}

static void scen_fork(const struct sig_ops *o, struct trace *t)
{
	sigset_t term = set_of(SIGTERM, 0);
	struct helper h;

	tval(t, "sigaction SIGUSR1 on_plain", act(o, SIGUSR1, on_plain, 0, NULL));
	tval(t, "sigaction SIGUSR2 SIG_IGN", act(o, SIGUSR2, SIG_IGN, 0, NULL));
	tval(t, "sigaction SIGTERM on_plain", act(o, SIGTERM, on_plain, 0, NULL));
	tval(t, "block SIGTERM", o->sigprocmask(SIG_BLOCK, &term, NULL));
	tval(t, "raise SIGTERM", o->raise(SIGTERM));
	h = spawn(o, helper_forked, 1, "child");
	reap(t, &h);
	trace_pending(o, t, "pending");
	tval(t, "unblock SIGTERM", o->sigprocmask(SIG_UNBLOCK, &term, NULL));
	trace_events(t, "handlers");
}

/* RLIMIT_SIGPENDING, lowered by the process itself: entries up to the
 * limit; above it sigqueue and raise of a real-time signal fail with
 * EAGAIN, and a kill of one, a sigqueue of a standard one, are pending
 * without their siginfo; a kill of a standard one is always queued.  As
 * root the scenario becomes a uid of its own first: the kernel counts a
 * user's pending signals in every process of it. */
#define RL_UID 54321

static void sigq(const struct sig_ops *o, struct trace *t, int sig, int v)
{
	char what[64];

	snprintf(what, sizeof(what), "sigqueue self %s value %d", sname(sig), v);
	tval(t, what, o->sigqueue(getpid(), sig, (union sigval){ .sival_int = v }));
}

static void drain(const struct sig_ops *o, struct trace *t, const sigset_t *set)
{
	for (int i = 0; i < 12; i++) {
		struct timespec zero = { 0, 0 };
		siginfo_t si;
		int r;

		memset(&si, 0, sizeof(si));
		r = rec_sig(t, "sigtimedwait 0", o->sigtimedwait(set, &si, &zero));
		if (r <= 0)
			break;
		trace_info(t, "  info", &si);
	}
}

/* A thread with real-time signals queued for it, which then ends: the
 * kernel flushes them, and they no longer count against the limit. */
static int gone_ready[2] = { -1, -1 }, gone_go[2] = { -1, -1 };

static void *gone_thread(void *arg)
{
	const struct sig_ops *o = arg;
	sigset_t m = set_of(SIGRTMIN + 2, 0);
	char c = 'r';

	/* Blocked here too (a thread of a program linked with libuipc.a
	 * starts with uipc's mask empty: README). */
	o->pthread_sigmask(SIG_BLOCK, &m, NULL);
	if (write(gone_ready[1], &c, 1) != 1 || read(gone_go[0], &c, 1) != 1)
		return NULL;
	return NULL;
}

static void rlimit_thread_ends(const struct sig_ops *o, struct trace *t, int rt)
{
	pthread_t th;
	char c;

	if (pipe(gone_ready) < 0 || pipe(gone_go) < 0 ||
	    pthread_create(&th, NULL, gone_thread, (void *)o)) {
		tprintf(t, "thread: %s", errname(errno));
		return;
	}
	tprintf(t, "thread ready: %d", read(gone_ready[0], &c, 1) == 1);
	for (int i = 0; i < 3; i++)
		tprintf(t, "pthread_kill the thread %s: %s", sname(rt),
			errname(o->pthread_kill(th, rt)));
	sigq(o, t, rt, 10);
	sigq(o, t, rt, 11);	/* the limit: EAGAIN */
	if (write(gone_go[1], "g", 1) != 1)
		tprintf(t, "go: %s", errname(errno));
	pthread_join(th, NULL);
	sigq(o, t, rt, 12);	/* its three went with it */
	sigq(o, t, rt, 13);
	trace_pending(o, t, "pending after the thread ended");
	for (int i = 0; i < 2; i++) {
		close(gone_ready[i]);
		close(gone_go[i]);
	}
}

static void scen_rlimit(const struct sig_ops *o, struct trace *t)
{
	const int r1 = SIGRTMIN + 2, r2 = SIGRTMIN + 3, r3 = SIGRTMIN + 4;
	sigset_t all = set_of(SIGHUP, SIGUSR1, SIGUSR2, r1, r2, r3, 0);
	struct rlimit four = { 4, 4 }, none = { 0, 0 }, got;

	if (geteuid() == 0 &&
	    (setgroups(0, NULL) < 0 || setresgid(RL_UID, RL_UID, RL_UID) < 0 ||
	     setresuid(RL_UID, RL_UID, RL_UID) < 0)) {
		tprintf(t, "could not become uid %d: %s", RL_UID, errname(errno));
		return;
	}
	tval(t, "block SIGHUP, SIGUSR1, SIGUSR2, three RT",
	     o->sigprocmask(SIG_BLOCK, &all, NULL));
	tval(t, "setrlimit RLIMIT_SIGPENDING 4", setrlimit(RLIMIT_SIGPENDING, &four));
	tval(t, "getrlimit", getrlimit(RLIMIT_SIGPENDING, &got));
	tprintf(t, "  cur %lu", (unsigned long)got.rlim_cur);
	sigq(o, t, r1, 1);
	sigq(o, t, r1, 2);
	sigq(o, t, r2, 3);
	tval(t, "kill self SIGUSR1", o->kill(getpid(), SIGUSR1));
	/* Four pending: the limit. */
	sigq(o, t, r1, 4);
	tval(t, "raise RT+3", o->raise(r2));
	tval(t, "kill self RT+4", o->kill(getpid(), r3));
	tval(t, "kill self RT+4 again", o->kill(getpid(), r3));
	sigq(o, t, SIGUSR2, 5);
	tval(t, "kill self SIGHUP (queued anyway)", o->kill(getpid(), SIGHUP));
	sigq(o, t, r2, 6);
	trace_pending(o, t, "pending");
	drain(o, t, &all);
	/* Taken out: room again. */
	sigq(o, t, r1, 7);
	tval(t, "kill self RT+2", o->kill(getpid(), r1));
	drain(o, t, &all);
	rlimit_thread_ends(o, t, r1);
	drain(o, t, &all);
	/* A limit of 0: nothing with a payload. */
	tval(t, "setrlimit RLIMIT_SIGPENDING 0 (prlimit)",
	     prlimit(0, RLIMIT_SIGPENDING, &none, NULL));
	sigq(o, t, r1, 8);
	sigq(o, t, SIGUSR1, 9);
	tval(t, "kill self RT+2", o->kill(getpid(), r1));
	tval(t, "kill self SIGUSR2", o->kill(getpid(), SIGUSR2));
	trace_pending(o, t, "pending");
	drain(o, t, &all);
}

/* ---- running ------------------------------------------------------------ */

typedef void (*sig_scenario)(const struct sig_ops *o, struct trace *t);

static pid_t scenario_group;

/* At a failure or the watchdog: the running scenario's processes go too
 * (they are a process group of their own, out of the harness's). */
static void kill_scenario(void)
{
	if (scenario_group > 0)
		kill(-scenario_group, SIGKILL);
}

/* Every kernel signal back to SIG_DFL, none blocked: what a scenario
 * starts from.  uipc's own two are left alone. */
static void fresh_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < SIGRTMAX - 1; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != 32 && sig != 33)
			sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Runs scen on o in a fresh process and appends its trace to t. */
static void run_one(const struct sig_ops *o, sig_scenario scen, struct trace *t,
		    const char *name)
{
	pid_t pid;
	int st;

	memset(area(0), 0, AREA);
	pid = fork();
	if (pid == 0) {
		struct trace c = { 0 };

		setpgid(0, 0);
		fresh_signals();
		known->n = 0;
		alarm(SCENARIO_SECONDS);
		cur = o;
		scen(o, &c);
		area_put(0, &c);
		_exit(0);
	}
	if (pid < 0) {
		tprintf(t, "fork failed");
		return;
	}
	setpgid(pid, pid);
	scenario_group = pid;
	st = wait_bounded(pid, (SCENARIO_SECONDS + 5) * 1000);
	tlines(t, "", area(0));
	if (st != 0)
		trace_status(t, "scenario process", st);
	/* On the kernel a scenario must end well: else it is the test that
	 * is wrong, and both sides could agree on it. */
	CHECK(st == 0 || o != &kernel_sops, "%s on the kernel did not end well "
	      "(wait status %#x)", name, (unsigned)st);
	/* Its helpers were all reaped, unless it failed. */
	CHECK(kill(-pid, SIGKILL) < 0, "%s on %s left processes behind (killed)",
	      name, o->name);
	scenario_group = 0;
}

static int run_sig_both(const char *name, sig_scenario scen)
{
	struct trace k = { 0 }, u = { 0 };

	run_one(&kernel_sops, scen, &k, name);
	run_one(&uipc_sops, scen, &u, name);
	return trace_compare(name, &k, &u);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "exec-probe"))
		return exec_probe(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "exec-waiter"))
		return exec_waiter();
	harness_init(120);
	areas = harness_shared(3 * AREA);
	known = harness_shared(sizeof(*known));
	harness_on_cleanup(kill_scenario);
#ifdef SIG_KERNEL_ONLY
	printf("note: SIG_KERNEL_ONLY: the \"uipc\" side is the kernel too\n");
#endif
	run_sig_both("sigaction: bad input and round trip", scen_sigaction);
	run_sig_both("sigprocmask and pthread_sigmask", scen_sigprocmask);
	run_sig_both("coalescing and real-time queueing", scen_coalesce);
	run_sig_both("SIG_IGN and default-ignored signals", scen_ignore);
	run_sig_both("delivery order of a pending set", scen_order);
	run_sig_both("SA_RESETHAND and SA_NODEFER", scen_resethand_nodefer);
	run_sig_both("handlers between processes", scen_between);
	run_sig_both("a handled signal and the blocked pipe read and msgrcv",
		     scen_blocked);
	run_sig_both("default actions and kill's errors", scen_default);
	run_sig_both("sigtimedwait, sigwaitinfo, sigwait", scen_wait);
	run_sig_both("sigsuspend", scen_suspend);
	if (geteuid() == 0)
		run_sig_both("permissions: nobody and root", scen_users);
	else
		printf("skip permissions: nobody and root (not root)\n");
	if (geteuid() == 0)
		run_sig_both("kill -1 inside a PID namespace of the test's own", scen_pidns);
	else
		printf("skip kill -1 inside a PID namespace (not root)\n");
	run_sig_both("fork: actions and mask inherited, pending not", scen_fork);
	run_sig_both("stop and continue as default actions", scen_stop);
	run_sig_both("a stop and at once a continue: never left stopped", scen_stop_cont);
	run_sig_both("signals to a thread: pthread_kill, tgkill", scen_thread);
	run_sig_both("exec: handlers reset, ignored, blocked, pending kept", scen_exec);
	run_sig_both("vfork, then exec: ignored and blocked kept", scen_vfork);
	run_sig_both("signalfd: poll and read", scen_signalfd);
	run_sig_both("RLIMIT_SIGPENDING: EAGAIN, and signals without siginfo",
		     scen_rlimit);
	return harness_done();
}
