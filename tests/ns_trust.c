/*
 * ns_trust: which namespace directories and files uipc trusts (store.c,
 * ns_dir_open and ns_open_file; docs/uipc.md "Layout of a namespace").
 *
 * Another local user may create the directory first, plant files and
 * symbolic links under the names uipc uses, or rewrite the id table.  None
 * of it may make a victim write through a link, use a directory another
 * user owns, or lose its key:
 *   - a directory owned by another unprivileged user, or writable by others
 *     and not sticky, is refused (EACCES); a symbolic link is not followed;
 *   - "ns" planted as a link to a victim file, or as a file of another
 *     user, is replaced by the directory's owner and refused by everyone
 *     else; links under the next segments' names and the temporary names
 *     are never written through; the victim file keeps its bytes, size and
 *     mode;
 *   - a key whose id-table slot was zeroed still finds its queue (the slot
 *     comes back), and the attacker cannot link the key to a queue of its
 *     own;
 *   - the default namespace of an unprivileged user is its own, and a name
 *     another user took first is passed over (root's too); where /dev/shm
 *     cannot be written, it is made in $TMPDIR, else /tmp (in a mount
 *     namespace of the test's own);
 *   - files cut short (truncate) under a process using them, its attached
 *     segment's included, cost it errors, never SIGBUS;
 *   - a full file system (a tmpfs of 8 MiB, in a mount namespace of the
 *     test's own) costs a message queue whose blocks must be had, and
 *     threads that first use signals there, errors (ENOMEM, EAGAIN), never
 *     SIGBUS;
 *   - a segment's header is kept from those the segment keeps out: a user
 *     with no access cannot open it, and one that mapped it while it had
 *     access and forges its owner after losing it gets no IPC_SET,
 *     SHM_LOCK or IPC_RMID (the file's own mode says no).
 * The kernel has no directory to attack: uipc only.  Needs root (to act as
 * several users); skips otherwise.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define NOBODY 65534
#define OTHER 1		/* daemon: another unprivileged user */

static char base[] = "/dev/shm/ns_trust.XXXXXX";

/* Runs fn(arg) in a child as uid (and gid) with UIPC_NS=ns; its exit
 * status, or -1 if it died of a signal. */
static int as(uid_t uid, const char *ns, int (*fn)(const char *), const char *arg)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (ns)
			setenv("UIPC_NS", ns, 1);
		else
			unsetenv("UIPC_NS");
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(99);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFSIGNALED(st))
		fprintf(stderr, "(a child as uid %u died of signal %d)\n",
			(unsigned)uid, WTERMSIG(st));
	if (!WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Exit 0 if msgget(IPC_PRIVATE) succeeds, else its errno. */
static int try_msgget(const char *unused)
{
	int q;

	(void)unused;
	q = uipc_msgget(IPC_PRIVATE, 0600);
	if (q < 0)
		return errno;
	uipc_msgctl(q, IPC_RMID, NULL);
	return 0;
}

/* Exit 0 if the default namespace's path is want. */
static int default_is(const char *want)
{
	char path[4096];

	if (uipc_ns_path(path, sizeof(path)) < 0)
		return 2;
	if (strcmp(path, want)) {
		fprintf(stderr, "default namespace %s, want %s\n", path, want);
		return 1;
	}
	return 0;
}

/* Makes base/name (mode, owner) if it is not there, and checks what
 * msgget in it as `who` gives: 0 or the errno want. */
static void dir_case(const char *name, mode_t mode, uid_t owner, uid_t who,
		     int want, const char *what)
{
	char d[4200];
	int r;

	snprintf(d, sizeof(d), "%s/%s", base, name);
	if (mkdir(d, mode) == 0) {
		chmod(d, mode);
		chown(d, owner, owner);
	}
	r = as(who, d, try_msgget, NULL);
	CHECK(r == want, "%s: msgget as uid %u gave %d (want %d)", what,
	      (unsigned)who, r, want);
}

static void dir_rules(void)
{
	char d[4200];
	int r;

	dir_case("other", 0755, OTHER, NOBODY, EACCES, "a directory of another user");
	dir_case("open", 0777, 0, NOBODY, EACCES, "writable by all, not sticky");
	dir_case("open", 0777, 0, 0, EACCES, "writable by all, not sticky, as root");

	snprintf(d, sizeof(d), "%s/link", base);
	symlink("/etc", d);
	r = as(0, d, try_msgget, NULL);
	CHECK(r == ENOTDIR, "a symbolic link as the namespace: %d (want ENOTDIR)", r);

	/* Root's sticky directory: every user may use it once root has. */
	dir_case("shared", 01777, 0, NOBODY, EACCES,
		 "root's namespace before root set it up");
	dir_case("shared", 01777, 0, 0, 0, "root's namespace, as root");
	dir_case("shared", 01777, 0, NOBODY, 0, "root's namespace once set up");

	/* A user's own new directory is private. */
	snprintf(d, sizeof(d), "%s/own", base);
	chmod(base, 01777);
	r = as(NOBODY, d, try_msgget, NULL);
	CHECK(r == 0, "a user's own new namespace: %d", r);
	{
		struct stat st;

		CHECK(stat(d, &st) == 0 && (st.st_mode & 07777) == 0700 &&
		      st.st_uid == NOBODY,
		      "a user's new namespace is mode %o uid %u (want 700, %u)",
		      (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, NOBODY);
	}
	if (!harness_failures)
		printf("ok   directories: another user's, open, a link refused; "
		       "root's shared once set up; a user's own private\n");
}

/* Plants a file of victim bytes outside the namespace, and links to it
 * under the names of the namespace's own files. */
static int plant_links(const char *ns)
{
	char l[4200], victim[4200];

	snprintf(victim, sizeof(victim), "%s/victim", base);
	snprintf(l, sizeof(l), "%s/ns", ns);
	if (symlink(victim, l) < 0) {
		perror(l);
		return 1;
	}
	for (int id = 0; id < 4; id++) {	/* the first segments' files */
		snprintf(l, sizeof(l), "%s/shm.%d", ns, id);
		if (symlink(victim, l) < 0)
			return 1;
	}
	for (int pid = 1; pid < 64; pid++) {
		snprintf(l, sizeof(l), "%s/tmp.ns.%d.0", ns, (int)getppid() + pid);
		symlink(victim, l);
	}
	return 0;
}

static int plant_file(const char *ns)
{
	char l[4200];
	int fd;

	snprintf(l, sizeof(l), "%s/ns", ns);
	fd = open(l, O_RDWR | O_CREAT | O_EXCL, 0666);
	if (fd < 0)
		return 1;
	if (ftruncate(fd, sizeof(struct uipc_ns)) < 0)
		return 1;
	close(fd);
	return 0;
}

/* Exit 0 if a queue and a segment can be made and removed, else the
 * errno. */
static int root_uses(const char *unused)
{
	int q, id;

	(void)unused;
	q = uipc_msgget(IPC_PRIVATE, 0600);
	if (q < 0)
		return errno;
	uipc_msgctl(q, IPC_RMID, NULL);
	id = uipc_shmget(IPC_PRIVATE, 4096, 0600);
	if (id < 0)
		return errno;
	uipc_shmctl(id, IPC_RMID, NULL);
	return 0;
}

static void planted_files(void)
{
	char ns[4200], victim[4200];
	const char *secret = "root's own bytes\n";
	struct stat st;
	char buf[64];
	int fd, r;

	snprintf(victim, sizeof(victim), "%s/victim", base);
	fd = open(victim, O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, secret, strlen(secret));
	close(fd);

	/* Links in root's shared directory before root first uses it. */
	snprintf(ns, sizeof(ns), "%s/planted", base);
	mkdir(ns, 01777);
	chmod(ns, 01777);
	r = as(NOBODY, ns, plant_links, ns);
	CHECK(r == 0, "could not plant the links");
	r = as(0, ns, root_uses, NULL);
	CHECK(r == 0, "root over planted links: msgget, shmget gave %d", r);
	CHECK(stat(victim, &st) == 0 && st.st_size == (off_t)strlen(secret) &&
	      (st.st_mode & 07777) == 0600, "the victim file was changed: size "
	      "%lld mode %o", (long long)st.st_size, (unsigned)(st.st_mode & 07777));
	fd = open(victim, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == (ssize_t)strlen(secret) &&
	      !strcmp(buf, secret), "the victim file's bytes changed");
	if (fd >= 0)
		close(fd);
	CHECK(lstat(strcat(ns, "/ns"), &st) == 0 && S_ISREG(st.st_mode) &&
	      st.st_uid == 0, "root's ns is not root's own file");

	/* A file planted as "ns": refused by others, replaced by the owner. */
	snprintf(ns, sizeof(ns), "%s/planted2", base);
	mkdir(ns, 01777);
	chmod(ns, 01777);
	r = as(NOBODY, ns, plant_file, ns);
	CHECK(r == 0, "could not plant ns");
	r = as(OTHER, ns, try_msgget, NULL);
	CHECK(r == EACCES, "another user's ns, as a third user: %d (want EACCES)", r);
	r = as(0, ns, try_msgget, NULL);
	CHECK(r == 0, "another user's ns, as the directory's owner: %d", r);
	r = as(OTHER, ns, try_msgget, NULL);
	CHECK(r == 0, "once the owner replaced it, as a third user: %d", r);
	if (!harness_failures)
		printf("ok   planted links and files: never written through, "
		       "replaced by the owner, refused by others\n");
}

/* The attacker's side of the key hijack: a queue of its own, and a try to
 * link the victim's key to it. */
static key_t hijack_key;
static int hijack(const char *ns)
{
	char name[64], l[4200];
	int q = uipc_msgget(IPC_PRIVATE, 0666);

	if (q < 0)
		return 1;
	snprintf(name, sizeof(name), "msg.%d", q);
	snprintf(l, sizeof(l), "%s/msg.k.%08x", ns, (unsigned)hijack_key);
	unlink(l);		/* EPERM: root's link in a sticky directory */
	symlink(name, l);
	return 0;
}

/* The victim's side, as root in a child (the namespace is a process's
 * for life: children keep their parent's). */
static int victim_key(const char *ns)
{
	struct uipc_nsh *h;
	struct msqid_ds ds;
	int q, q2, r = 0;

	q = uipc_msgget(hijack_key, IPC_CREAT | 0600);
	CHECK(q >= 0, "victim's msgget: %s", strerror(errno));
	h = uipc_ns_get(&r);
	if (q < 0 || !h)
		return 1;
	/* The table is world-writable: the attacker zeroes the slot. */
	h->ns->ids[UIPC_MSG].slot[q % UIPC_IPCMNI] = 0;
	r = as(NOBODY, ns, hijack, ns);
	CHECK(r == 0, "attacker's queue");
	q2 = uipc_msgget(hijack_key, 0);
	CHECK(q2 == q, "the victim's key after its slot was zeroed: %d (%s), want %d",
	      q2, q2 < 0 ? strerror(errno) : "another id", q);
	CHECK(uipc_msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_perm.uid == 0 &&
	      (ds.msg_perm.mode & 0777) == 0600, "the victim's queue is not its own");
	q2 = uipc_msgget(hijack_key, 0);
	CHECK(q2 == q, "the key again: %d", q2);
	uipc_msgctl(q, IPC_RMID, NULL);
	return harness_failures != 0;
}

static void key_hijack(void)
{
	char ns[4200];
	int r;

	snprintf(ns, sizeof(ns), "%s/planted", base);
	hijack_key = test_key(7);
	r = as(0, ns, victim_key, ns);
	CHECK(r == 0, "the key hijack scenario failed (%d)", r);
	if (!harness_failures)
		printf("ok   key hijack: a zeroed slot comes back, the key stays "
		       "the victim's\n");
}

/* A directory at path, of owner, mode exactly. */
static void make_dir(const char *path, mode_t mode, uid_t owner)
{
	if (mkdir(path, mode) < 0 || chmod(path, mode) < 0 ||
	    chown(path, owner, owner) < 0)
		CHECK(0, "cannot make %s: %s", path, strerror(errno));
}

/* The default namespace's path as uid, and that msgget works there. */
static void default_case(uid_t uid, const char *want, const char *what)
{
	int r = as(uid, NULL, default_is, want);

	CHECK(r == 0, "%s: uid %u's default namespace is not %s", what,
	      (unsigned)uid, want);
	r = as(uid, NULL, try_msgget, NULL);
	CHECK(r == 0, "%s: msgget as uid %u in %s gave %d", what,
	      (unsigned)uid, want, r);
}

/* The rules of store.c's default_path, in a mount namespace of this
 * child's own where /dev/shm and /tmp are fresh tmpfs: a user's own
 * namespace, a squatted name passed over (root's too), root's shared one
 * taken by users only when it is sticky, and, with /dev/shm read-only,
 * the same under $TMPDIR, else /tmp.  0, or 1 on a failure. */
static int default_rules(void)
{
	char want[4096], squat[4096];

	snprintf(want, sizeof(want), "%s-%u", UIPC_DEFAULT_NS, NOBODY);
	default_case(NOBODY, want, "a user");
	/* Another user took the name first: the next one. */
	if (system("rm -rf /dev/shm/uipc-*") != 0)
		CHECK(0, "cannot empty /dev/shm");
	make_dir(want, 0755, OTHER);
	snprintf(want, sizeof(want), "%s-%u.1", UIPC_DEFAULT_NS, NOBODY);
	default_case(NOBODY, want, "past a squatted name");
	/* Once ours, it stays ours when the squatter leaves. */
	snprintf(squat, sizeof(squat), "%s-%u", UIPC_DEFAULT_NS, NOBODY);
	rmdir(squat);
	default_case(NOBODY, want, "ours after the squatter left");
	/* However many names another user takes: one past them. */
	if (system("rm -rf /dev/shm/uipc-*") != 0)
		CHECK(0, "cannot empty /dev/shm");
	for (int i = 0; i < 12; i++) {
		if (i)
			snprintf(squat, sizeof(squat), "%s-%u.%d", UIPC_DEFAULT_NS,
				 NOBODY, i);
		make_dir(squat, 0755, OTHER);
	}
	snprintf(want, sizeof(want), "%s-%u.12", UIPC_DEFAULT_NS, NOBODY);
	default_case(NOBODY, want, "past twelve squatted names");

	/* Root's: a name another user took is passed over too, and users
	 * find root's namespace there. */
	make_dir(UIPC_DEFAULT_NS, 01777, OTHER);
	for (int i = 1; i < 10; i++) {
		snprintf(squat, sizeof(squat), "%s.%d", UIPC_DEFAULT_NS, i);
		make_dir(squat, 01777, OTHER);
	}
	snprintf(want, sizeof(want), "%s.10", UIPC_DEFAULT_NS);
	default_case(0, want, "root past ten squatted names");
	default_case(NOBODY, want, "a user, root's shared namespace");
	if (system("rm -rf /dev/shm/*") != 0)
		CHECK(0, "cannot empty /dev/shm");
	/* Root's, not sticky: root's alone. */
	make_dir(UIPC_DEFAULT_NS, 0755, 0);
	default_case(0, UIPC_DEFAULT_NS, "root, a directory of its own");
	snprintf(want, sizeof(want), "%s-%u", UIPC_DEFAULT_NS, NOBODY);
	default_case(NOBODY, want, "a user beside root's non-sticky one");

	/* No /dev/shm to write: $TMPDIR, then /tmp. */
	if (mount(NULL, "/dev/shm", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		CHECK(0, "remount /dev/shm read-only: %s", strerror(errno));
		return 1;
	}
	snprintf(want, sizeof(want), "/tmp/uipc-%u", NOBODY);
	default_case(NOBODY, want, "read-only /dev/shm");
	default_case(0, "/tmp/uipc", "root, read-only /dev/shm");
	default_case(NOBODY, "/tmp/uipc", "a user, root's shared in /tmp");
	if (system("rm -rf /tmp/uipc") != 0)
		CHECK(0, "cannot remove /tmp/uipc");
	make_dir("/tmp/td", 0700, NOBODY);
	setenv("TMPDIR", "/tmp/td", 1);
	snprintf(want, sizeof(want), "/tmp/td/uipc-%u", NOBODY);
	default_case(NOBODY, want, "read-only /dev/shm, TMPDIR");
	/* A TMPDIR the user cannot write, or a relative one: /tmp. */
	make_dir("/tmp/rootdir", 0755, 0);
	setenv("TMPDIR", "/tmp/rootdir", 1);
	snprintf(want, sizeof(want), "/tmp/uipc-%u", NOBODY);
	default_case(NOBODY, want, "TMPDIR not writable");
	setenv("TMPDIR", "td", 1);
	default_case(NOBODY, want, "TMPDIR relative");
	/* One another user owns (it could move our namespace away), even
	 * sticky; one anybody may write, not sticky. */
	make_dir("/tmp/others", 01777, OTHER);
	setenv("TMPDIR", "/tmp/others", 1);
	default_case(NOBODY, want, "TMPDIR of another user");
	make_dir("/tmp/open", 0777, 0);
	setenv("TMPDIR", "/tmp/open", 1);
	default_case(NOBODY, want, "TMPDIR writable by all, not sticky");
	unsetenv("TMPDIR");
	return harness_failures != 0;
}

static void default_namespace(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777") < 0 ||
		    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") < 0) {
			printf("SKIP default namespace: no mount namespace of "
			       "our own (%s)\n", strerror(errno));
			_exit(77);
		}
		_exit(default_rules());
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 77)) {
		CHECK(0, "the default namespace's rules: status %#x", st);
		return;
	}
	if (WEXITSTATUS(st) == 0)
		printf("ok   default namespace: a user's own, squatted names "
		       "passed over (root's too), root's shared when sticky; "
		       "$TMPDIR, then /tmp, without /dev/shm\n");
}

/* ---- a full file system ------------------------------------------------ */

static void *first_mask(void *arg)
{
	sigset_t none;

	sigemptyset(&none);
	*(int *)arg = uipc_pthread_sigmask(SIG_BLOCK, &none, NULL);
	return NULL;
}

/* In a fresh process (no namespace yet) with a tmpfs of its own: a queue
 * and the process's signal file made, the file system filled, then what
 * needs pages of them it never touched.  Exits 0 unless a check failed. */
static int full_victim(const char *dir)
{
	static struct { long type; char text[8000]; } m = { 1, "" };
	char ns[4300], filler[4300];
	static char chunk[65536];
	pthread_t th[40];
	int q, fd, rc[40], ok = 0, eagain = 0, other = 0, r;
	sigset_t none;

	setvbuf(stdout, NULL, _IONBF, 0);	/* what it said before a signal */
	snprintf(ns, sizeof(ns), "%s/ns", dir);
	setenv("UIPC_NS", ns, 1);
	sigemptyset(&none);
	q = uipc_msgget(IPC_PRIVATE, 0600);
	sigaddset(&none, SIGRTMIN + 1);	/* kept pending */
	if (q < 0 || uipc_sigprocmask(SIG_BLOCK, &none, NULL) < 0) {
		printf("FAIL full file system: setup: %s\n", strerror(errno));
		return 1;
	}
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	while (fd >= 0 && write(fd, chunk, sizeof(chunk)) > 0)
		;
	while (fd >= 0 && write(fd, chunk, 1) > 0)	/* to the last byte */
		;
	if (fd >= 0)
		close(fd);
	r = uipc_msgsnd(q, &m, sizeof(m.text), IPC_NOWAIT);
	if (r < 0 && errno != ENOMEM) {
		printf("FAIL full file system: msgsnd: %s, not ENOMEM\n",
		       strerror(errno));
		return 1;
	}
	printf("     full file system: msgsnd of 8000 bytes -> %s\n",
	       r == 0 ? "ok" : strerror(errno));
	for (int i = 0; i < 40; i++)
		if (pthread_create(&th[i], NULL, first_mask, &rc[i]) != 0)
			rc[i] = -2;
		else
			pthread_join(th[i], NULL);
	for (int i = 0; i < 40; i++) {
		ok += rc[i] == 0;
		eagain += rc[i] == EAGAIN;
		other += rc[i] != 0 && rc[i] != EAGAIN;
	}
	printf("     full file system: 40 threads' first mask: %d ok, %d "
	       "EAGAIN, %d else\n", ok, eagain, other);
	for (int i = 0; i < 20; i++) {	/* into the queue of its own file */
		union sigval v = { .sival_int = i };

		if (uipc_sigqueue(getpid(), SIGRTMIN + 1, v) < 0 &&
		    errno != EAGAIN) {
			printf("FAIL full file system: sigqueue: %s\n",
			       strerror(errno));
			return 1;
		}
	}
	printf("     full file system: 20 real-time signals queued\n");
	uipc_msgctl(q, IPC_RMID, NULL);
	return other != 0;
}

static void full_file_system(void)
{
	char dir[4200];
	pid_t pid;
	int st;

	snprintf(dir, sizeof(dir), "%s/full", base);
	if (mkdir(dir, 0700) < 0) {
		CHECK(0, "mkdir %s: %s", dir, strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(30);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=8m,mode=0700") < 0) {
			printf("SKIP full file system: no mount namespace of "
			       "our own (%s)\n", strerror(errno));
			_exit(77);
		}
		st = full_victim(dir);
		fflush(stdout);
		_exit(st);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 77)) {
		CHECK(0, "full file system: the victim ended with status %#x%s",
		      st, WIFSIGNALED(st) ? " (killed by a signal)" : "");
		return;
	}
	if (WEXITSTATUS(st) == 0)
		printf("ok   full file system: errors, no SIGBUS\n");
}

/* A victim that uses its queue and its attached segment while the files
 * under it are cut short: the files named in cut_list, one per round.
 * Calls may fail; nothing may kill it. */
static const char *const cut_list[] = { "ns", "msg", "shm" };

static int cut_victim(const char *ns)
{
	struct msg_ { long type; char text[32]; } m = { 1, "hello" };
	char path[4200];
	struct msqid_ds ds;
	int q, id, errors = 0;
	volatile char *p;

	q = uipc_msgget(IPC_PRIVATE, 0600);
	id = uipc_shmget(IPC_PRIVATE, 8192, 0600);
	p = id >= 0 ? uipc_shmat(id, NULL, 0) : (void *)-1;
	if (q < 0 || p == (void *)-1)
		return 3;
	for (size_t c = 0; c < sizeof(cut_list) / sizeof(cut_list[0]); c++) {
		if (!strcmp(cut_list[c], "msg"))
			snprintf(path, sizeof(path), "%s/msg.%d", ns, q);
		else if (!strcmp(cut_list[c], "shm"))
			snprintf(path, sizeof(path), "%s/shm.%d", ns, id);
		else
			snprintf(path, sizeof(path), "%s/%s", ns, cut_list[c]);
		/* The attacker's truncate(2): anyone who may write it can. */
		if (truncate(path, 0) < 0)
			return 4;
		p[0] = 1;
		p[4096] = 2;
		errors += uipc_msgsnd(q, &m, 6, IPC_NOWAIT) < 0;
		errors += uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) < 0;
		errors += uipc_msgctl(q, IPC_STAT, &ds) < 0;
		errors += uipc_shmdt((void *)p) < 0;
		p = uipc_shmat(id, NULL, 0);
		if (p == (void *)-1)
			p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	printf("ok   files cut short under a process: no SIGBUS "
	       "(%d calls failed)\n", errors);
	fflush(stdout);
	return 0;
}

static void truncation(void)
{
	char ns[4200];
	int r;

	snprintf(ns, sizeof(ns), "%s/cut", base);
	r = as(0, ns, cut_victim, ns);
	CHECK(r == 0, "files cut short under a process: %s %d",
	      r < 0 ? "it died of a signal" : "it exited", r);
}

/* Forged process table: the attacker rewrites every entry (stamps, pids,
 * what each used) and reaps, as `uipc reap` does.  A live victim's
 * SEM_UNDO adjustment and shm attachment must stay until it really dies. */
static int forge_table(const char *unused)
{
	struct uipc_nsh *h;
	int r = 0;

	(void)unused;
	h = uipc_ns_get(&r);
	if (!h)
		return 1;
	for (int i = 0; i < UIPC_MAXPROC; i++) {
		struct uipc_proc *pr = &h->ns->proc[i];

		atomic_store(&pr->stamp, (uint64_t)(i * 7) << 1 | 1);
		pr->pid = 1 + i;
		atomic_store(&pr->uses, ~0u);
	}
	uipc_proc_reap_all(h);
	/* The limits are the owner's alone, as the kernel's sysctls root's. */
	if (uipc_limit_set(h, UL_MSGMNI, 0) != -EPERM ||
	    uipc_limit(h, UL_MSGMNI) == 0)
		return 2;
	{
		char path[4200];
		int fd;

		snprintf(path, sizeof(path), "%s/limits", getenv("UIPC_NS"));
		fd = open(path, O_RDWR);
		if (fd >= 0 || errno != EACCES)
			return 3;
	}
	return 0;
}

static void forged_table(void)
{
	char ns[4200];
	struct sembuf down = { 0, -1, SEM_UNDO };
	struct shmid_ds ds;
	int sem, shm, r, ready[2], go[2];
	pid_t victim;
	char c = 0;

	snprintf(ns, sizeof(ns), "%s/planted", base);
	if (pipe(ready) < 0 || pipe(go) < 0)
		return;
	r = as(0, ns, try_msgget, NULL);	/* the namespace is set up */
	setenv("UIPC_NS", ns, 1);
	sem = uipc_semget(IPC_PRIVATE, 1, 0600);
	shm = uipc_shmget(IPC_PRIVATE, 4096, 0600);
	CHECK(sem >= 0 && shm >= 0 && uipc_semctl(sem, 0, SETVAL, 1) == 0,
	      "forged table: setup");
	fflush(stdout);
	victim = fork();
	if (victim == 0) {
		int ok = uipc_semop(sem, &down, 1) == 0 &&
			 uipc_shmat(shm, NULL, 0) != (void *)-1;

		write(ready[1], &ok, 1);
		read(go[0], &c, 1);
		_exit(0);
	}
	read(ready[0], &c, 1);
	CHECK(c == 1, "forged table: the victim could not take its unit");
	r = as(NOBODY, ns, forge_table, NULL);
	CHECK(r == 0, "forged table: the attacker failed (%d)", r);
	CHECK(uipc_semctl(sem, 0, GETVAL) == 0,
	      "forged table: a live victim's SEM_UNDO was applied (value %d)",
	      uipc_semctl(sem, 0, GETVAL));
	CHECK(uipc_shmctl(shm, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1,
	      "forged table: a live victim's attachment was dropped (nattch %lu)",
	      (unsigned long)ds.shm_nattch);
	write(go[1], &c, 1);
	waitpid(victim, NULL, 0);
	CHECK(uipc_semctl(sem, 0, GETVAL) == 1,
	      "forged table: the dead victim's SEM_UNDO was not applied");
	CHECK(uipc_shmctl(shm, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0,
	      "forged table: the dead victim's attachment stayed");
	uipc_semctl(sem, 0, IPC_RMID);
	uipc_shmctl(shm, IPC_RMID, NULL);
	if (!harness_failures)
		printf("ok   forged process table: a live victim's undo and "
		       "attachment stay, a dead one's go; the limits are the "
		       "owner's\n");
}

/*
 * A segment's header is in its own file, whose mode keeps out whoever the
 * segment keeps out.  Root's segment is 0666 while the attacker (nobody)
 * maps its file and has uipc look at it (its header cached); then root
 * makes it 0600.  The attacker cannot open the file any more, and what it
 * still holds mapped it rewrites, making itself the owner: IPC_SET,
 * SHM_LOCK and IPC_RMID must still say EPERM, as the kernel would (the
 * file's mode, checked by the kernel, says the attacker may not write it),
 * and shmat fails.
 */
static int victim_shm_id;
static int forge_shm_owner(int ready, int go)
{
	char path[4200], c = 0;
	struct uipc_obj *o;
	struct shmid_ds ds;
	int fd, bad = 0;

	snprintf(path, sizeof(path), "%s/shm.%d", getenv("UIPC_NS"), victim_shm_id);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return 10;
	o = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (o == MAP_FAILED || uipc_shmctl(victim_shm_id, IPC_STAT, &ds) < 0)
		return 11;
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		return 12;
	/* Now 0600: the header's file is closed to us. */
	if (open(path, O_RDONLY) >= 0 || errno != EACCES)
		return 13;
	o->uid = o->cuid = NOBODY;
	o->mode |= 0666;
	memset(&ds, 0, sizeof(ds));
	ds.shm_perm.uid = NOBODY;
	ds.shm_perm.gid = NOBODY;
	ds.shm_perm.mode = 0666;
	bad += uipc_shmctl(victim_shm_id, IPC_SET, &ds) != -1 || errno != EPERM;
	bad += uipc_shmctl(victim_shm_id, SHM_LOCK, NULL) != -1 || errno != EPERM;
	bad += uipc_shmctl(victim_shm_id, IPC_RMID, NULL) != -1 || errno != EPERM;
	/* Nor can it attach: the file is root's, 0600. */
	bad += uipc_shmat(victim_shm_id, NULL, 0) != (void *)-1;
	/* Put the header back as it was, as far as the victim's check goes. */
	o->uid = o->cuid = 0;
	o->mode &= ~0066u;
	return bad;
}

static void forged_shm_owner(void)
{
	struct shmid_ds ds;
	int ready[2], go[2], st = 0, r;
	char ns[4200], c;
	char *p;
	pid_t pid;

	snprintf(ns, sizeof(ns), "%s/planted", base);
	setenv("UIPC_NS", ns, 1);
	victim_shm_id = uipc_shmget(IPC_PRIVATE, 4096, 0666);
	p = victim_shm_id >= 0 ? uipc_shmat(victim_shm_id, NULL, 0) : (char *)-1;
	CHECK(p != (char *)-1, "forged shm owner: setup: %s", strerror(errno));
	if (p == (char *)-1 || pipe(ready) < 0 || pipe(go) < 0)
		return;
	strcpy(p, "root's segment");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(99);
		_exit(forge_shm_owner(ready[1], go[0]));
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) == 1) {
		uipc_shmctl(victim_shm_id, IPC_STAT, &ds);
		ds.shm_perm.mode = 0600;
		CHECK(uipc_shmctl(victim_shm_id, IPC_SET, &ds) == 0,
		      "forged shm owner: IPC_SET 0600: %s", strerror(errno));
		write(go[1], &c, 1);
	}
	close(go[1]);
	waitpid(pid, &st, 0);
	close(ready[0]);
	r = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	CHECK(r == 0, "forged shm owner: %d of IPC_SET, SHM_LOCK, IPC_RMID, "
	      "shmat got through (or the attack failed: %d)", r, r);
	uipc_shmdt(p);
	p = uipc_shmat(victim_shm_id, NULL, 0);
	CHECK(p != (char *)-1 && !strcmp(p, "root's segment"),
	      "forged shm owner: root's segment is gone or changed");
	if (p != (char *)-1)
		uipc_shmdt(p);
	uipc_shmctl(victim_shm_id, IPC_RMID, NULL);
	if (!harness_failures)
		printf("ok   a segment's header is closed to those the segment "
		       "keeps out; one forged through an old mapping gets no "
		       "IPC_SET, SHM_LOCK, IPC_RMID or shmat\n");
}

static void cleanup(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) < 0)
		perror("rm");
}

/* `uipc reap` reaps the dead only: with the dead reaped once, a second
 * pass finds nothing, though a live process blocked in msgrcv is in the
 * table (and is woken by a message afterwards). */
static void reap_spares_the_living(void)
{
	struct { long type; char text[8]; } m = { 1, "x" };
	struct uipc_nsh *h;
	int r = 0, q, st = 0, n;
	pid_t c;

	h = uipc_ns_get(&r);
	q = uipc_msgget(IPC_PRIVATE, 0600);
	if (!h || q < 0) {
		CHECK(0, "reap: no namespace or queue");
		return;
	}
	uipc_proc_reap_all(h);
	c = fork();
	if (c == 0) {
		alarm(10);
		_exit(uipc_msgrcv(q, &m, sizeof(m.text), 0, 0) == 2 ? 0 : 1);
	}
	CHECK(wait_blocked(c) == 0, "reap: the receiver never blocked");
	n = uipc_proc_reap_all(h);
	CHECK(n == 0, "reap with only the living registered: reaped %d", n);
	uipc_msgsnd(q, &m, 2, 0);
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "reap: the live receiver did not get its message");
	uipc_msgctl(q, IPC_RMID, NULL);
	if (n == 0)
		printf("ok   reap leaves the living alone\n");
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: needs root to act as several users\n");
		return 77;
	}
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(base, 0755);
	atexit(cleanup);
	alarm(60);
	dir_rules();
	planted_files();
	key_hijack();
	default_namespace();
	full_file_system();
	truncation();
	forged_table();	/* from here on this process has a namespace */
	forged_shm_owner();
	reap_spares_the_living();
	return harness_done();
}
