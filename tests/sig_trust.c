/*
 * sig_trust: another user's plants under the name of a process's signal
 * file (issue 17, item 8).
 *
 * A process's uipc signal state is the file sig.<pid> of its namespace,
 * made at its first signal call.  Pids are there to be guessed, and a
 * namespace root made is world-writable and sticky: another user can make
 * sig.<pid> first, and its owner alone may remove it.  Each round, the
 * attacker (nobody) plants under the name of a victim (daemon) that has
 * not made its file yet:
 *  - copy: a signal file of its own, with a signal it sent itself pending,
 *    patched to name the victim (pid, start time) and a registration that
 *    is over, 0666: what the victim would take over as its own from before
 *    an exec;
 *  - copy0600: the same, mode 0600 (senders of the victim's uid cannot
 *    open it);
 *  - junk: random bytes of a signal file's size, 0666;
 *  - symlink: a symbolic link to the attacker's copy.
 * Then the victim installs handlers for SIGUSR1 and SIGUSR2, a sender of
 * the victim's uid sends it SIGUSR1 and the attacker tries to (EPERM).
 * The victim reports the handlers that ran and what is pending, and the
 * files of the victim's pid left in the namespace after it exited.
 * Everything is run with the kernel's signal calls too, under the same
 * plants, and the two traces must match: the victim takes SIGUSR1 once,
 * nothing the plant held, and leaves no file.
 *
 * Layouts: the attacker patches the header of a signal file: the pid at
 * byte 8, the registration's slot and generation at 12 and 16, the start
 * time at 20 (struct sig_file in src/signal.c).
 */
#include "harness.h"
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define NOBODY	65534
#define VICTIM	1	/* daemon */

struct sig_ops {
	const char *name;
	int (*kill)(pid_t, int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*sigprocmask)(int, const sigset_t *, sigset_t *);
	int (*sigpending)(sigset_t *);
};

static const struct sig_ops kernel_sops = {
	"kernel", kill, sigaction, sigprocmask, sigpending,
};
static const struct sig_ops uipc_sops = {
	"uipc", uipc_kill, uipc_sigaction, uipc_sigprocmask, uipc_sigpending,
};

enum { P_COPY, P_COPY0600, P_JUNK, P_SYMLINK, P_N };
static const char *const plant_name[P_N] = { "copy", "copy0600", "junk", "symlink" };

static volatile sig_atomic_t g_usr1, g_usr2;

static void on_usr(int s)
{
	if (s == SIGUSR1)
		g_usr1++;
	else
		g_usr2++;
}

static int become(uid_t uid)
{
	return setgroups(0, NULL) == 0 && setgid(uid) == 0 && setuid(uid) == 0 ? 0 : -1;
}

static int wait_exit(pid_t p, int ms)
{
	int st;

	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(p, &st, WNOHANG);

		if (r == p)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(1000);
	}
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return -1;
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		_exit(3);
}

/* The victim: waits for go, installs its handlers (its first signal
 * call), says ready, takes what comes for a while, reports. */
static void victim(const struct sig_ops *o, int go, int ready, int out)
{
	struct sigaction sa;
	sigset_t pend;
	char c, line[128];

	alarm(20);
	if (become(VICTIM) < 0 || read(go, &c, 1) != 1)
		_exit(2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr;
	if (o->sigaction(SIGUSR1, &sa, NULL) < 0 || o->sigaction(SIGUSR2, &sa, NULL) < 0) {
		snprintf(line, sizeof(line), "victim: sigaction: %s\n", errname(errno));
		put(out, line);
		_exit(1);
	}
	put(ready, "r");
	for (int i = 0; i < 2000 && !g_usr1; i++)
		usleep(1000);
	usleep(100000);		/* anything more that was to come */
	sigemptyset(&pend);
	o->sigpending(&pend);
	snprintf(line, sizeof(line),
		 "victim: SIGUSR1 ran %d, SIGUSR2 ran %d, pending USR1 %d USR2 %d\n",
		 (int)g_usr1, (int)g_usr2, sigismember(&pend, SIGUSR1),
		 sigismember(&pend, SIGUSR2));
	put(out, line);
	exit(0);	/* exit, not _exit: its file goes with atexit */
}

/* The attacker's own signal file, with SIGUSR2 pending, copied to
 * `path` patched to name victim pid v; 0 or -1. */
static int forge_copy(const char *dir, pid_t v, const char *path, mode_t mode)
{
	char own[4200];
	static unsigned char buf[1 << 20];	/* a signal file is ~220 KiB */
	sigset_t s;
	pid_t c;
	int fd;
	ssize_t n;
	uint32_t start = uipc_pid_start(v);

	c = fork();
	if (c == 0) {
		/* Its registration ends with it (_exit): the copy names one
		 * that is over, as a file from before an exec does. */
		sigemptyset(&s);
		sigaddset(&s, SIGUSR2);
		if (uipc_sigprocmask(SIG_BLOCK, &s, NULL) < 0 ||
		    uipc_kill(getpid(), SIGUSR2) < 0)
			_exit(1);
		_exit(0);
	}
	if (c < 0 || wait_exit(c, 5000) != 0)
		return -1;
	snprintf(own, sizeof(own), "%s/sig.%d", dir, (int)c);
	fd = open(own, O_RDONLY);
	if (fd < 0)
		return -1;
	for (n = 0;;) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - (size_t)n);

		if (got <= 0)
			break;
		n += got;
	}
	close(fd);
	unlink(own);
	if (n < 24)
		return -1;
	memcpy(buf + 8, &v, 4);
	memcpy(buf + 20, &start, 4);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	close(fd);
	return (int)n;
}

/* The attacker plants kind k under victim v's name; reports how. */
static void attacker(int k, pid_t v, int out)
{
	char dir[4096], path[4200], aside[4200], line[160];
	static unsigned char junk[1 << 20];
	int n = -1, fd;

	alarm(20);
	if (become(NOBODY) < 0 || uipc_ns_path(dir, sizeof(dir)) < 0)
		_exit(2);
	snprintf(path, sizeof(path), "%s/sig.%d", dir, (int)v);
	snprintf(aside, sizeof(aside), "%s/mine.%d", dir, (int)v);
	switch (k) {
	case P_COPY:
		n = forge_copy(dir, v, path, 0666);
		break;
	case P_COPY0600:
		n = forge_copy(dir, v, path, 0600);
		break;
	case P_JUNK:
		n = forge_copy(dir, v, aside, 0666);
		fd = n > 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL, 0666) : -1;
		for (int i = 0; i < n; i++)
			junk[i] = (unsigned char)(i * 97 + 13);
		if (fd < 0 || fchmod(fd, 0666) < 0 || write(fd, junk, (size_t)n) != n)
			n = -1;
		if (fd >= 0)
			close(fd);
		unlink(aside);
		break;
	case P_SYMLINK:
		n = forge_copy(dir, v, aside, 0666);
		if (n > 0 && symlink(aside, path) < 0)
			n = -1;
		break;
	}
	snprintf(line, sizeof(line), "attacker: planted: %s\n", n > 0 ? "yes" : "no");
	put(out, line);
	exit(n > 0 ? 0 : 1);
}

/* After the victim is ready: a sender of its uid, and the attacker. */
static void sender(const struct sig_ops *o, uid_t uid, pid_t v, int out)
{
	char line[128];
	int r;

	alarm(20);
	if (become(uid) < 0)
		_exit(2);
	r = o->kill(v, SIGUSR1);
	snprintf(line, sizeof(line), "sender %s: kill SIGUSR1 -> %d %s\n",
		 uid == NOBODY ? "nobody" : "daemon", r, r < 0 ? errname(errno) : "");
	put(out, line);
	exit(0);
}

/* Files of pid v's name left in the namespace, not the attacker's. */
static int files_left(pid_t v)
{
	char dir[4096], pre[32];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	if (uipc_ns_path(dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
		return 0;
	snprintf(pre, sizeof(pre), "sig.%d", (int)v);
	while ((de = readdir(d))) {
		size_t k = strlen(pre);

		if (strncmp(de->d_name, pre, k) || (de->d_name[k] && de->d_name[k] != '.'))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_uid != NOBODY)
			n++;
	}
	closedir(d);
	return n;
}

/* Removes what the attacker left of round v. */
static void clean_plants(pid_t v)
{
	char dir[4096], path[4200];

	if (uipc_ns_path(dir, sizeof(dir)) < 0)
		return;
	snprintf(path, sizeof(path), "%s/sig.%d", dir, (int)v);
	unlink(path);
	snprintf(path, sizeof(path), "%s/mine.%d", dir, (int)v);
	unlink(path);
}

static void drain(int fd, struct trace *t)
{
	char buf[1024];
	ssize_t n;
	size_t got = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	tlines(t, "  ", buf);
}

static void round_on(const struct sig_ops *o, int k, struct trace *t)
{
	int go[2], ready[2], out[2];
	pid_t v, a, s1, s2;
	char c;
	int rv;

	tprintf(t, "plant %s", plant_name[k]);
	if (pipe(go) < 0 || pipe(ready) < 0 || pipe(out) < 0) {
		tprintf(t, "pipe: %s", errname(errno));
		return;
	}
	v = fork();
	if (v == 0) {
		close(go[1]);
		close(ready[0]);
		close(out[0]);
		victim(o, go[0], ready[1], out[1]);
	}
	close(go[0]);
	close(ready[1]);
	a = fork();
	if (a == 0)
		attacker(k, v, out[1]);
	tprintf(t, "attacker exit %d", wait_exit(a, 10000));
	if (write(go[1], "g", 1) != 1 || read(ready[0], &c, 1) != 1) {
		tprintf(t, "the victim did not get ready");
	} else {
		s1 = fork();
		if (s1 == 0)
			sender(o, VICTIM, v, out[1]);
		tprintf(t, "sender daemon exit %d", wait_exit(s1, 10000));
		s2 = fork();
		if (s2 == 0)
			sender(o, NOBODY, v, out[1]);
		tprintf(t, "sender nobody exit %d", wait_exit(s2, 10000));
	}
	rv = wait_exit(v, 10000);
	tprintf(t, "victim exit %d", rv);
	close(out[1]);
	drain(out[0], t);
	tprintf(t, "files of the victim left: %d", files_left(v));
	clean_plants(v);
	close(go[1]);
	close(ready[0]);
	close(out[0]);
}

int main(void)
{
	harness_init(120);
	if (geteuid() != 0) {
		printf("SKIP: needs root (to be another user)\n");
		return 77;
	}
	{
		int err = 0;

		/* Root makes the namespace: shared by every user, sticky. */
		if (!uipc_ns_get(&err)) {
			printf("FAIL: the namespace: %s\n", errname(-err));
			return 1;
		}
	}
	for (int k = 0; k < P_N; k++) {
		struct trace kt = { 0 }, ut = { 0 };
		char name[64];

		round_on(&kernel_sops, k, &kt);
		round_on(&uipc_sops, k, &ut);
		snprintf(name, sizeof(name), "plant %s", plant_name[k]);
		trace_compare(name, &kt, &ut);
	}
	return harness_done();
}
