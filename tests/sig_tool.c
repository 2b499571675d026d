/*
 * sig_tool: `uipc ls -P` and `uipc kill` against the kernel's own views.
 *
 * A child sets up the same signal state with the kernel's calls and, in
 * another run, with uipc's: a handler for SIGUSR1, SIGUSR2 ignored,
 * SIGHUP, SIGTERM and SIGRTMIN+1 blocked, SIGHUP raised (pending for the
 * thread), SIGTERM sent to itself (for the process) and SIGRTMIN+1 queued
 * twice.  The kernel child's sets are read from /proc/PID/status, the uipc
 * child's from `uipc ls -P --json`: SigPnd, ShdPnd, SigBlk, SigIgn and
 * SigCgt must be the same.  Then `kill -s USR1` (the kernel's kill(1)) and
 * `uipc kill -s USR1` end each child through its handler, and both wait
 * statuses must agree.  Bad arguments to `uipc kill` get a one-line message
 * and a non-zero exit.
 */
#include "harness.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct gops {
	const char *name;
	int (*kill)(pid_t, int);
	int (*sigqueue)(pid_t, int, const union sigval);
	int (*raise)(int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
};

static const struct gops kernel_g = { "kernel", kill, sigqueue, raise,
	sigaction, sigprocmask };
static const struct gops uipc_g = { "uipc", uipc_kill, uipc_sigqueue,
	uipc_raise, uipc_sigaction, uipc_sigprocmask };

static volatile sig_atomic_t got;

static void on_usr1(int s)
{
	(void)s;
	got = 1;
}

/* The child: the state above, then it waits (bounded) for its handler. */
static void child(const struct gops *o, int ready)
{
	struct sigaction sa;
	sigset_t b;

	/* The kernel's dispositions as a new program has them, but uipc's
	 * two doorbells. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	/* The raw call: the C library's refuses its own 32 and 33, which
	 * the environment may have left ignored. */
	for (int s = 1; s < SIGRTMAX - 1; s++)
		if (s != SIGKILL && s != SIGSTOP)
			syscall(SYS_rt_sigaction, s, &sa, NULL, (size_t)8);
	sigemptyset(&b);
	sigprocmask(SIG_SETMASK, &b, NULL);
	sa.sa_handler = on_usr1;
	o->sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	o->sigaction(SIGUSR2, &sa, NULL);
	sigaddset(&b, SIGHUP);
	sigaddset(&b, SIGTERM);
	sigaddset(&b, SIGRTMIN + 1);
	o->sigprocmask(SIG_BLOCK, &b, NULL);
	o->raise(SIGHUP);
	o->kill(getpid(), SIGTERM);
	o->sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = 1 });
	o->sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = 2 });
	write(ready, "r", 1);
	for (int i = 0; i < 1000 && !got; i++)
		usleep(10000);
	_exit(got ? 5 : 1);
}

static void run_child(void *o, int ready_fd)
{
	child(o, ready_fd);
}

static pid_t start(const struct gops *o)
{
	return fork_ready(run_child, (void *)o);
}

/* The value of `field` ("SigPnd", ...) in text, as /proc and the tool
 * print it (hex), or -1. */
static long long field_in(const char *text, const char *field)
{
	const char *p = strstr(text, field);
	unsigned long long v;

	if (!p)
		return -1;
	p += strlen(field);
	while (*p == ':' || *p == '"' || *p == ' ' || *p == '\t')
		p++;
	return sscanf(p, "%llx", &v) == 1 ? (long long)v : -1;
}

static const char *const fields[] = { "SigPnd", "ShdPnd", "SigBlk", "SigIgn",
				      "SigCgt" };

static int status_of(pid_t kid)
{
	int st;

	waitpid(kid, &st, 0);
	return st;
}

int main(void)
{
	char path[64], kbuf[4096], ubuf[8192], cmd[512], *mine;
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	pid_t kk, uk;
	FILE *f;
	size_t n;
	int ks, us, before;

	harness_init(60);
	kk = start(&kernel_g);
	uk = start(&uipc_g);
	if (kk < 0 || uk < 0) {
		CHECK(0, "the children did not start");
		return harness_done();
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)kk);
	f = fopen(path, "r");
	n = f ? fread(kbuf, 1, sizeof(kbuf) - 1, f) : 0;
	kbuf[n] = 0;
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "UIPC_NS='%s' '%s/uipc' ls -P --json",
		 harness_ns_dir(), b);
	run_capture(ubuf, sizeof(ubuf), cmd);
	snprintf(path, sizeof(path), "\"pid\": %d,", (int)uk);
	mine = strstr(ubuf, path);
	CHECK(mine != NULL, "uipc ls -P does not list the uipc child:\n%s", ubuf);
	for (size_t i = 0; mine && i < sizeof(fields) / sizeof(fields[0]); i++) {
		long long k = field_in(kbuf, fields[i]), u = field_in(mine, fields[i]);

		CHECK(k >= 0 && k == u, "%s: the kernel's %016llx, uipc's %016llx",
		      fields[i], k, u);
	}
	printf("%s uipc ls -P shows what /proc/PID/status shows of the kernel's\n",
	       harness_failures ? "FAIL" : "ok  ");
	before = harness_failures;

	snprintf(cmd, sizeof(cmd), "kill -s USR1 %d", (int)kk);
	CHECK(system(cmd) == 0, "kill(1) failed");
	snprintf(cmd, sizeof(cmd), "UIPC_NS='%s' '%s/uipc' kill -USR1 %d",
		 harness_ns_dir(), b, (int)uk);
	CHECK(system(cmd) == 0, "uipc kill failed");
	ks = status_of(kk);
	us = status_of(uk);
	CHECK(ks == us && WIFEXITED(us) && WEXITSTATUS(us) == 5,
	      "wait statuses: the kernel's %#x, uipc's %#x", ks, us);
	printf("%s uipc kill -USR1 runs the handler, as kill(1) does\n",
	       ks == us ? "ok  " : "FAIL");

	/* Doorbells of the process's choosing: the kernel sees those two
	 * caught, and a signal still arrives. */
	before = harness_failures;
	setenv("UIPC_DOORBELLS", "40,41", 1);
	uk = start(&uipc_g);
	unsetenv("UIPC_DOORBELLS");
	if (uk > 0) {
		long long cgt;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)uk);
		f = fopen(path, "r");
		n = f ? fread(kbuf, 1, sizeof(kbuf) - 1, f) : 0;
		kbuf[n] = 0;
		if (f)
			fclose(f);
		cgt = field_in(kbuf, "SigCgt");
		CHECK(cgt >= 0 && (cgt >> 39 & 3) == 3 && !(cgt >> 62 & 3),
		      "UIPC_DOORBELLS=40,41: the kernel's SigCgt is %016llx", cgt);
		CHECK(uipc_kill(uk, SIGUSR1) == 0, "kill: %s", strerror(errno));
		us = status_of(uk);
		CHECK(WIFEXITED(us) && WEXITSTATUS(us) == 5,
		      "UIPC_DOORBELLS=40,41: the child ended %#x", us);
	}
	printf("%s UIPC_DOORBELLS moves the doorbells\n",
	       harness_failures == before ? "ok  " : "FAIL");

	/* Bad arguments: one line, a non-zero exit. */
	{
		static const char *const bad[] = { "kill -s BOGUS 1", "kill -BOGUS 1",
			"kill abc",
			"kill -q x 1", "kill", "kill -s 65 1", "kill 999999999" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char out[512];
			int lines = 0;

			snprintf(cmd, sizeof(cmd), "UIPC_NS='%s' '%s/uipc' %s 2>&1; "
				 "echo \"rc=$?\"", harness_ns_dir(), b, bad[i]);
			run_capture(out, sizeof(out), cmd);
			for (char *p = out; *p; p++)
				lines += *p == '\n';
			CHECK(lines == 2 && !strstr(out, "rc=0"),
			      "uipc %s: %s", bad[i], out);
		}
		printf("%s uipc kill refuses bad arguments with one line\n",
		       harness_failures == before ? "ok  " : "FAIL");
	}
	return harness_done();
}
