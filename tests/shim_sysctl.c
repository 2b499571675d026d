/*
 * shim_sysctl: the kernel's System V IPC settings in /proc/sys/kernel
 * (msgmax, msgmnb, msgmni, sem, shmmax, shmall, shmmni, shm_rmid_forced,
 * msg_next_id, sem_next_id, shm_next_id), read and written by unmodified
 * programs under `uipc run`, are the uipc namespace's: what they read and
 * what their writes do are the kernel's, and none of it reaches the
 * kernel.
 *
 *  - tests/helpers/sysctl_prog (every file written with a table of inputs
 *    through write(2), stdio, O_RDWR, the other ways of opening; what each
 *    setting does to the next msgget, semget, semop, shmget; which id the
 *    next object gets after *_next_id; what nobody may do) runs as root
 *    in a private IPC namespace of the kernel, then under
 *    `uipc run --block-kernel-ipc` in a fresh uipc namespace set to the
 *    kernel's defaults: the two print the same;
 *  - procps sysctl (-w, -n, -a -r, -p) and bash's `echo V > FILE`, `cat`,
 *    as root and as nobody: the same under `unshare -i` and under
 *    `uipc run`, messages and exit statuses included;
 *  - no leak: each uipc run happens in a private IPC namespace of the
 *    kernel whose settings were first changed to other values (so that a
 *    read passed through to the kernel shows them) and must still read
 *    them after; the host's settings, read by this process, are byte for
 *    byte what they were before the test.
 */
#include "harness.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>

#define NFILES 11

static const char *const names[NFILES] = {
	"msgmax", "msgmnb", "msgmni", "sem", "shmmax", "shmall", "shmmni",
	"shm_rmid_forced", "msg_next_id", "sem_next_id", "shm_next_id",
};

/* What each file is set to in the kernel namespace a uipc run happens
 * in: none is a default, so a read that reaches the kernel shows. */
static const char *const decoys[NFILES] = {
	"8191\n", "16383\n", "31999\n", "31999\t1023999999\t499\t31999\n",
	"18446744073692774398\n", "18446744073692774397\n", "4095\n", "1\n",
	"12345\n", "12346\n", "12347\n",
};

static const char *build;
static char ns_dirs[2][600], conf[64];

static void remove_dirs(void)
{
	char cmd[sizeof(ns_dirs) + 16];

	for (int i = 0; i < 2; i++)
		if (ns_dirs[i][0]) {
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ns_dirs[i]);
			if (system(cmd) != 0)
				fprintf(stderr, "could not remove %s\n", ns_dirs[i]);
		}
	if (conf[0])
		unlink(conf);
}

/* Reads the 11 files of the IPC namespace the caller is in into v; 0, or
 * -1 if one cannot be read. */
static int read_settings(char v[NFILES][128])
{
	int r = 0;

	for (int i = 0; i < NFILES; i++) {
		char p[64];
		ssize_t n = -1;
		int fd;

		snprintf(p, sizeof(p), "/proc/sys/kernel/%s", names[i]);
		fd = open(p, O_RDONLY);
		if (fd >= 0) {
			n = read(fd, v[i], 127);
			close(fd);
		}
		v[i][n > 0 ? n : 0] = 0;
		if (n <= 0)
			r = -1;
	}
	return r;
}

static int write_setting(int i, const char *val)
{
	char p[64];
	ssize_t n = -1;
	int fd;

	snprintf(p, sizeof(p), "/proc/sys/kernel/%s", names[i]);
	fd = open(p, O_WRONLY);
	if (fd >= 0) {
		n = write(fd, val, strlen(val));
		close(fd);
	}
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static void read_all(int fd, char *out, size_t n)
{
	size_t used = 0;
	ssize_t r;
	char sink[4096];

	while (used + 1 < n && (r = read(fd, out + used, n - 1 - used)) > 0)
		used += (size_t)r;
	out[used] = 0;
	while (read(fd, sink, sizeof(sink)) > 0)
		;
}

/*
 * Runs `sh -c cmd` in a child of a new IPC namespace of the kernel, with
 * its stdout and stderr in out.  With decoy, the namespace's settings are
 * first set to decoys[], and what reads otherwise after cmd is put in
 * changed (else changed is what cmd left changed from the fresh
 * namespace's).  Returns cmd's exit status; -1 (changed saying why) if
 * the namespace could not be made or set.
 */
static int in_ipc_ns(const char *cmd, int decoy, char *out, size_t n,
		     char *changed, size_t cn)
{
	int po[2], pc[2], st;
	pid_t pid;

	out[0] = changed[0] = 0;
	if (pipe(po) < 0 || pipe(pc) < 0) {
		snprintf(changed, cn, "!pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		static char before[NFILES][128], after[NFILES][128];
		pid_t kid;

		close(po[0]);
		close(pc[0]);
		if (unshare(CLONE_NEWIPC) < 0) {
			dprintf(pc[1], "!unshare(CLONE_NEWIPC): %s", strerror(errno));
			_exit(1);
		}
		for (int i = 0; decoy && i < NFILES; i++)
			if (write_setting(i, decoys[i]) < 0) {
				dprintf(pc[1], "!cannot set %s to %s: %s", names[i],
					decoys[i], strerror(errno));
				_exit(1);
			}
		if (read_settings(before) < 0) {
			dprintf(pc[1], "!cannot read the settings: %s", strerror(errno));
			_exit(1);
		}
		kid = fork();
		if (kid == 0) {
			dup2(po[1], 1);
			dup2(po[1], 2);
			close(po[1]);
			close(pc[1]);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		close(po[1]);
		if (kid < 0 || waitpid(kid, &st, 0) < 0)
			_exit(126);
		read_settings(after);
		for (int i = 0; i < NFILES; i++)
			if (strcmp(before[i], after[i]))
				dprintf(pc[1], "  %s: %s", names[i], after[i]);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	close(po[1]);
	close(pc[1]);
	if (pid < 0) {
		close(po[0]);
		close(pc[0]);
		snprintf(changed, cn, "!fork: %s", strerror(errno));
		return -1;
	}
	read_all(po[0], out, n);
	read_all(pc[0], changed, cn);
	close(po[0]);
	close(pc[0]);
	waitpid(pid, &st, 0);
	if (changed[0] == '!')
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Makes uipc namespace dir afresh with the settings a fresh kernel IPC
 * namespace has (def): 0 or -1. */
static int fresh_ns(const char *dir, char def[NFILES][128])
{
	unsigned long long sem[4];
	char cmd[2048];
	size_t len;

	if (sscanf(def[3], "%llu %llu %llu %llu", &sem[0], &sem[1], &sem[2],
		   &sem[3]) != 4)
		return -1;
	len = (size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s' && %s/uipc --ns '%s' limits"
			       " semmsl=%llu semmns=%llu semopm=%llu semmni=%llu",
			       dir, build, dir, sem[0], sem[1], sem[2], sem[3]);
	for (int i = 0; i < NFILES && len < sizeof(cmd); i++)
		if (i != 3)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %s=%.*s",
						names[i], (int)strcspn(def[i], "\n"),
						def[i]);
	if (system(cmd) != 0) {
		CHECK(0, "%s", cmd);
		return -1;
	}
	return 0;
}

/* Runs cmd on the kernel (kcmd, in a fresh IPC namespace) and under
 * `uipc run --block-kernel-ipc` in uipc namespace dir (in an IPC
 * namespace of decoys), and compares what they print and how they end;
 * with restores, cmd must leave the kernel's settings as it found them. */
static void compare(const char *what, const char *kcmd, const char *cmd,
		    const char *dir, int restores)
{
	static char kout[1 << 18], uout[1 << 18];
	char kchg[2048], uchg[2048], ucmd[8192];
	struct trace k = { 0 }, u = { 0 };
	int krc, urc;

	krc = in_ipc_ns(kcmd, 0, kout, sizeof(kout), kchg, sizeof(kchg));
	CHECK(krc >= 0, "%s on the kernel: %s", what, kchg);
	CHECK(krc == 0, "%s on the kernel exited %d:\n%s", what, krc, kout);
	CHECK(!restores || kchg[0] == 0 || krc < 0, "%s did not put the kernel's "
	      "settings back:\n%s", what, kchg);
	snprintf(ucmd, sizeof(ucmd), "%s/uipc run --ns '%s' --block-kernel-ipc -- %s",
		 build, dir, cmd);
	urc = in_ipc_ns(ucmd, 1, uout, sizeof(uout), uchg, sizeof(uchg));
	CHECK(urc >= 0, "%s under uipc: %s", what, uchg);
	CHECK(uchg[0] == 0 || urc < 0, "%s under uipc reached the kernel: it "
	      "changed its settings to\n%s", what, uchg);
	tprintf(&k, "exit %d", krc);
	tlines(&k, "", kout);
	tprintf(&u, "exit %d", urc);
	tlines(&u, "", uout);
	trace_compare(what, &k, &u);
}

/* The tools' script: procps sysctl, bash redirections, as root and as
 * nobody (through util-linux setpriv).  %s: the sysctl -p file. */
static const char tools_script[] =
	"K=/proc/sys/kernel\n"
	"sysctl -w kernel.msgmni=32; echo \"rc $?\"\n"
	"sysctl -n kernel.msgmni\n"
	"sysctl kernel.msgmni\n"
	"sysctl -w kernel.msgmni=abc; echo \"rc $?\"\n"
	"sysctl -w kernel.msgmni=32769; echo \"rc $?\"\n"
	"sysctl -w kernel.msgmni='32 33'; echo \"rc $?\"\n"
	"sysctl -n kernel.msgmni\n"
	"sysctl -w kernel.sem='250 32000 32 128'; echo \"rc $?\"\n"
	"sysctl kernel.sem\n"
	"sysctl -w kernel.sem='250 32000 32 32769'; echo \"rc $?\"\n"
	"sysctl -n kernel.sem\n"
	"sysctl -w kernel.shmmax=-1; echo \"rc $?\"\n"
	"sysctl -w kernel.shmmax=18446744073709551615; echo \"rc $?\"\n"
	"sysctl -w kernel/shmmni=100; echo \"rc $?\"\n"
	"sysctl -q -w kernel.shm_rmid_forced=2; echo \"rc $?\"\n"
	"sysctl -w kernel.msg_next_id=163847; echo \"rc $?\"\n"
	"sysctl -w kernel.msgmax=100 kernel.msgmnb=200 kernel.shmall=300; echo \"rc $?\"\n"
	"sysctl -a -r '^kernel\\.(msg|sem|shm)'; echo \"rc $?\"\n"
	"sysctl -p %s; echo \"rc $?\"\n"
	"sysctl -n kernel.msgmni kernel.shmmni kernel.msgmax\n"
	"echo 33 > $K/msgmni; echo \"rc $?\"; cat $K/msgmni\n"
	"echo abc > $K/msgmni; echo \"rc $?\"; cat $K/msgmni\n"
	"printf 34 > $K/msgmni; echo \"rc $?\"; cat $K/msgmni\n"
	"echo 35 >> $K/msgmni; echo \"rc $?\"; cat $K/msgmni\n"
	"read v < $K/msgmni; echo \"read $v\"\n"
	"echo '250 32000 32 128' > $K/sem; echo \"rc $?\"; cat $K/sem\n"
	"echo -1 > $K/shmall; echo \"rc $?\"; cat $K/shmall\n"
	"echo 163847 > $K/msg_next_id; echo \"rc $?\"; cat $K/msg_next_id\n"
	"ipcmk -Q >/dev/null; cat $K/msg_next_id; ipcs -q | grep -c 163847\n"
	"N='setpriv --reuid 65534 --regid 65534 --clear-groups'\n"
	"$N bash -c 'echo 36 > /proc/sys/kernel/msgmni; echo \"rc $?\"'\n"
	"$N sysctl -w kernel.msgmni=36; echo \"rc $?\"\n"
	"$N sysctl -n kernel.msgmni; echo \"rc $?\"\n"
	"$N cat $K/sem\n";

/* src as one shell word, in single quotes, into dst of n bytes: 0, or -1
 * if it does not fit. */
static int shell_quote(char *dst, size_t n, const char *src)
{
	size_t used = 0;

	if (n < 3)
		return -1;
	dst[used++] = '\'';
	for (; *src; src++) {
		const char *piece = *src == '\'' ? "'\\''" : NULL;
		size_t len = piece ? 4 : 1;

		if (used + len + 2 > n)
			return -1;
		if (piece)
			memcpy(dst + used, piece, len);
		else
			dst[used] = *src;
		used += len;
	}
	dst[used++] = '\'';
	dst[used] = 0;
	return 0;
}

static void tools(char def[NFILES][128])
{
	char script[4096], quoted[5000], kcmd[5100], ucmd[5100];
	int fd;

	if (system("command -v sysctl >/dev/null 2>&1") != 0) {
		printf("skip procps sysctl and bash: no sysctl (make deps installs procps)\n");
		return;
	}
	if (system("command -v unshare >/dev/null && command -v setpriv >/dev/null &&"
		   " command -v ipcmk >/dev/null && command -v bash >/dev/null") != 0) {
		printf("skip procps sysctl and bash: no bash, or no util-linux "
		       "unshare, setpriv or ipcmk\n");
		return;
	}
	snprintf(conf, sizeof(conf), "/tmp/shim_sysctl.%d.conf", (int)getpid());
	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && dprintf(fd, "kernel.msgmni = 40\nkernel.shmmni=50\n"
				 "-kernel.msgmax = abc\n") > 0, "write %s", conf);
	if (fd >= 0)
		close(fd);
	snprintf(script, sizeof(script), tools_script, conf);
	if (shell_quote(quoted, sizeof(quoted), script) < 0) {
		CHECK(0, "the tools' script does not fit");
		return;
	}
	if (fresh_ns(ns_dirs[1], def) < 0)
		return;
	/* The kernel's side under util-linux unshare -i, as a user would. */
	snprintf(kcmd, sizeof(kcmd), "unshare -i bash -c %s", quoted);
	snprintf(ucmd, sizeof(ucmd), "bash -c %s", quoted);
	compare("procps sysctl, bash echo > and cat", kcmd, ucmd, ns_dirs[1], 0);
}

int main(void)
{
	static char host[NFILES][128], host_after[NFILES][128], def[NFILES][128];
	char prog[512], out[4096], chg[1024], strict[16] = "";
	int fd, changed_host = 0;

	harness_init(60);
	build = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	if (!shim_usable_system())
		return 77;
	snprintf(prog, sizeof(prog), "%s/helpers/sysctl_prog", build);
	if (access(prog, X_OK) != 0) {
		printf("SKIP: %s not built\n", prog);
		return 77;
	}
	if (read_settings(host) < 0) {
		printf("SKIP: the kernel lacks one of /proc/sys/kernel/{%s,...,%s} "
		       "(CONFIG_SYSVIPC_SYSCTL, CONFIG_CHECKPOINT_RESTORE)\n",
		       names[0], names[NFILES - 1]);
		return 77;
	}
	/* The settings of a fresh IPC namespace are the kernel's defaults,
	 * whatever the host's are now. */
	if (in_ipc_ns("exit 0", 0, out, sizeof(out), chg, sizeof(chg)) < 0) {
		printf("SKIP: no private IPC namespace of the kernel to compare "
		       "with (%s)\n", chg + 1);
		return 77;
	}
	{
		char cmd[512];
		size_t len = 0;

		len += (size_t)snprintf(cmd, sizeof(cmd), "cd /proc/sys/kernel && cat");
		for (int i = 0; i < NFILES; i++)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %s", names[i]);
		CHECK(in_ipc_ns(cmd, 0, out, sizeof(out), chg, sizeof(chg)) == 0,
		      "%s: %s", cmd, out);
		for (int i = 0, off = 0; i < NFILES; i++) {
			int l = (int)strcspn(out + off, "\n");

			snprintf(def[i], sizeof(def[i]), "%.*s\n", l, out + off);
			off += l + (out[off + l] ? 1 : 0);
		}
	}
	fd = open("/proc/sys/kernel/sysctl_writes_strict", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, strict, sizeof(strict) - 1);

		strict[n > 0 ? n - 1 : 0] = 0;
		close(fd);
	}
	if (strcmp(strict, "1"))
		printf("note: kernel.sysctl_writes_strict is %s, not 1: a write at a "
		       "non-zero offset is not ignored on this kernel\n", strict);
	snprintf(ns_dirs[0], sizeof(ns_dirs[0]), "%s.sysctl.%d.prog", harness_ns_dir(),
		 (int)getpid());
	snprintf(ns_dirs[1], sizeof(ns_dirs[1]), "%s.sysctl.%d.tools", harness_ns_dir(),
		 (int)getpid());
	harness_on_cleanup(remove_dirs);

	if (!harness_failures && fresh_ns(ns_dirs[0], def) == 0)
		compare("sysctl_prog: reads, writes, their effects, next ids, nobody",
			prog, prog, ns_dirs[0], 1);
	tools(def);

	CHECK(read_settings(host_after) == 0, "read the host's settings again");
	for (int i = 0; i < NFILES; i++)
		if (strcmp(host[i], host_after[i])) {
			CHECK(0, "the host's kernel.%s was %s and is now %s", names[i],
			      host[i], host_after[i]);
			changed_host++;
		}
	if (!changed_host)
		printf("ok   the host's settings are byte for byte as they were\n");
	remove_dirs();
	memset(ns_dirs, 0, sizeof(ns_dirs));
	conf[0] = 0;
	return harness_done();
}
