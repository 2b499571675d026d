/*
 * cred_drop: each call is checked with the caller's credentials as they
 * are now.  A process uses a 0600 queue, semaphore set and segment as
 * root, then changes its credentials, and every call after the change
 * answers as the kernel does (EACCES, EPERM for IPC_SET and IPC_RMID, or
 * access again):
 *  - in place, in a forked child that used the objects itself: setresuid,
 *    setuid (keeping gid 0), a setresuid made by another thread;
 *  - in a child forked after its parent used the objects;
 *  - a vfork child's setuid, which must not change its parent's answers;
 *  - seteuid, setreuid, setresuid to nobody and back, setfsuid;
 *  - the group class of a 0060 object: setgroups (200 groups too),
 *    setegid, setregid, setresgid, setgid, setfsgid, initgroups, without
 *    CAP_IPC_OWNER;
 *  - capset dropping CAP_IPC_OWNER, then CAP_SYS_ADMIN, and raising them.
 * A SEM_UNDO adjustment made as root is undone when the process exits as
 * nobody.  Runs as root only.
 */
#include "harness.h"

#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/fsuid.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#define NOBODY 65534
#define OTHER 1000	/* creator of the objects of the capability part */
#define OTHER_S "1000"
#define GROUP 4242	/* the group of the group-class part */

/* glibc has it; only libcap's header declares it. */
int capset(cap_user_header_t hdr, const cap_user_data_t data);

/* The objects of the scenario running; forked children inherit them. */
static struct {
	int q, s, m;
	uid_t uid;		/* their owner and group, for IPC_SET */
	gid_t gid;
	int mode;
} obj;

/* shmat opens the segment's file, which the kernel lets in by the file
 * system uid and by the file's group, the object's gid only (docs/uipc.md,
 * known differences): where those differ from what IPC checks, the
 * phase leaves shmat out. */
static int skip_shmat;

/* Processes a trace may name (pid_name): the scenario's children. */
static pid_t pids[16];
static const char *roles[16];
static int npids;

static void role(pid_t p, const char *name)
{
	if (npids < 16) {
		pids[npids] = p;
		roles[npids++] = name;
	}
}

struct msg {
	long mtype;
	char mtext[16];
};

static void make_objects(const struct ipc_ops *o, struct trace *t, int mode)
{
	npids = 0;
	role(getpid(), "parent");
	obj.q = (int)tcall(t, "msgget", o->msgget(IPC_PRIVATE, IPC_CREAT | mode));
	obj.s = (int)tcall(t, "semget", o->semget(IPC_PRIVATE, 3, IPC_CREAT | mode));
	obj.m = (int)tcall(t, "shmget",
			   o->shmget(IPC_PRIVATE, 4096, IPC_CREAT | mode));
	obj.uid = geteuid();
	obj.gid = getegid();
	obj.mode = mode;
}

static void remove_objects(const struct ipc_ops *o, struct trace *t)
{
	tcall(t, "msg IPC_RMID", o->msgctl(obj.q, IPC_RMID, NULL));
	tcall(t, "sem IPC_RMID", o->semctl(obj.s, 0, IPC_RMID, 0));
	tcall(t, "shm IPC_RMID", o->shmctl(obj.m, IPC_RMID, NULL));
}

/* "who: s", in a function with `who` and a buffer `what`. */
#define W(s) (snprintf(what, sizeof(what), "%s: %s", who, s), what)

/* Every operation that checks permissions, none that needs ownership. */
static void try_all(const struct ipc_ops *o, struct trace *t, const char *who)
{
	struct msg m = { 1, "x" };
	struct msqid_ds md;
	struct semid_ds sd;
	struct shmid_ds hd;
	struct sembuf sop;
	unsigned short v[3];
	char what[160];
	long r;
	void *p;

	tcall(t, W("msgsnd"), o->msgsnd(obj.q, &m, 1, IPC_NOWAIT));
	memset(&m, 0, sizeof(m));
	r = tcall(t, W("msgrcv"), o->msgrcv(obj.q, &m, sizeof(m.mtext), 0,
					    IPC_NOWAIT));
	if (r >= 0)
		tprintf(t, "%s: got type %ld \"%.*s\"", who, m.mtype, (int)r,
			m.mtext);
	tcall(t, W("msgrcv MSG_COPY"),
	      o->msgrcv(obj.q, &m, sizeof(m.mtext), 0, MSG_COPY | IPC_NOWAIT));
	if (tcall(t, W("msg IPC_STAT"), o->msgctl(obj.q, IPC_STAT, &md)) == 0)
		trace_ds(t, W("msg IPC_STAT"), &md, pids, roles, npids);
	r = o->msgctl(obj.q % 32768, MSG_STAT, &md);
	tcall(t, W("MSG_STAT"), r < 0 ? -1 : r == obj.q ? 0 : 1000);

	sop = SOP(0, 1, 0);
	tcall(t, W("semop +1"), o->semtimedop(obj.s, &sop, 1, NULL));
	sop = SOP(0, -1, IPC_NOWAIT);
	tcall(t, W("semop -1"), o->semtimedop(obj.s, &sop, 1, NULL));
	sop = SOP(1, 0, IPC_NOWAIT);
	tcall(t, W("semop wait for zero"), o->semtimedop(obj.s, &sop, 1, NULL));
	r = tcall(t, W("GETVAL"), o->semctl(obj.s, 0, GETVAL, 0));
	if (r >= 0)
		tprintf(t, "%s: value %ld", who, r);
	if (tcall(t, W("GETALL"), o->semctl(obj.s, 0, GETALL,
					     (unsigned long)v)) == 0)
		tprintf(t, "%s: values %u %u %u", who, v[0], v[1], v[2]);
	tcall(t, W("GETNCNT"), o->semctl(obj.s, 0, GETNCNT, 0));
	tcall(t, W("SETVAL 0"), o->semctl(obj.s, 0, SETVAL, 0));
	if (tcall(t, W("sem IPC_STAT"), o->semctl(obj.s, 0, IPC_STAT,
						  (unsigned long)&sd)) == 0)
		trace_semds(t, W("sem IPC_STAT"), &sd);
	r = o->semctl(obj.s % 32768, 0, SEM_STAT, (unsigned long)&sd);
	tcall(t, W("SEM_STAT"), r < 0 ? -1 : r == obj.s ? 0 : 1000);

	p = skip_shmat ? (void *)-1 : o->shmat(obj.m, NULL, 0);
	if (!skip_shmat &&
	    tcall(t, W("shmat"), p == (void *)-1 ? -1 : 0) == 0) {
		*(volatile char *)p = 'w';
		tcall(t, W("shmdt"), o->shmdt(p));
	}
	p = skip_shmat ? (void *)-1 : o->shmat(obj.m, NULL, SHM_RDONLY);
	if (!skip_shmat &&
	    tcall(t, W("shmat SHM_RDONLY"), p == (void *)-1 ? -1 : 0) == 0) {
		tprintf(t, "%s: reads '%c'", who, *(volatile char *)p);
		tcall(t, W("shmdt"), o->shmdt(p));
	}
	if (tcall(t, W("shm IPC_STAT"), o->shmctl(obj.m, IPC_STAT, &hd)) == 0)
		trace_shmds(t, W("shm IPC_STAT"), &hd, pids, roles, npids);
	r = o->shmctl(obj.m % 32768, SHM_STAT, &hd);
	tcall(t, W("SHM_STAT"), r < 0 ? -1 : r == obj.m ? 0 : 1000);
}

/* IPC_SET (to what the objects have) and, unless set_only, IPC_RMID: the
 * owner's, the creator's or CAP_SYS_ADMIN's. */
static void try_owner(const struct ipc_ops *o, struct trace *t,
		      const char *who, int set_only)
{
	struct msqid_ds md;
	struct semid_ds sd;
	struct shmid_ds hd;
	char what[160];

	memset(&md, 0, sizeof(md));
	md.msg_perm.uid = obj.uid;
	md.msg_perm.gid = obj.gid;
	md.msg_perm.mode = (unsigned short)obj.mode;
	md.msg_qbytes = 16384;
	tcall(t, W("msg IPC_SET"), o->msgctl(obj.q, IPC_SET, &md));
	memset(&sd, 0, sizeof(sd));
	sd.sem_perm = md.msg_perm;
	tcall(t, W("sem IPC_SET"), o->semctl(obj.s, 0, IPC_SET,
					     (unsigned long)&sd));
	memset(&hd, 0, sizeof(hd));
	hd.shm_perm = md.msg_perm;
	tcall(t, W("shm IPC_SET"), o->shmctl(obj.m, IPC_SET, &hd));
	if (set_only)
		return;
	tcall(t, W("msg IPC_RMID"), o->msgctl(obj.q, IPC_RMID, NULL));
	tcall(t, W("sem IPC_RMID"), o->semctl(obj.s, 0, IPC_RMID, 0));
	tcall(t, W("shm IPC_RMID"), o->shmctl(obj.m, IPC_RMID, NULL));
}

static void trace_ids(struct trace *t, const char *what)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	tprintf(t, "%s: uid %u %u %u, gid %u %u %u, %d groups", what, r, e, s,
		rg, eg, sg, getgroups(0, NULL));
}

/* ---- (a) in place ---------------------------------------------------- */

static void drop_setresuid(const struct ipc_ops *o, struct trace *t)
{
	try_all(o, t, "root");
	tcall(t, "setgroups none", setgroups(0, NULL));
	tcall(t, "setresgid nobody", setresgid(NOBODY, NOBODY, NOBODY));
	tcall(t, "setresuid nobody", setresuid(NOBODY, NOBODY, NOBODY));
	trace_ids(t, "now");
	try_all(o, t, "nobody");
	try_owner(o, t, "nobody", 0);
	tcall(t, "setuid 0", setuid(0));
	try_all(o, t, "still nobody");
}

static void drop_setuid(const struct ipc_ops *o, struct trace *t)
{
	struct sembuf sop = SOP(2, 1, SEM_UNDO);
	void *kept;

	tcall(t, "root: semop +1 SEM_UNDO", o->semtimedop(obj.s, &sop, 1, NULL));
	try_all(o, t, "root");
	kept = o->shmat(obj.m, NULL, 0);
	tcall(t, "root: shmat, kept", kept == (void *)-1 ? -1 : 0);
	tcall(t, "setuid nobody", setuid(NOBODY));
	trace_ids(t, "now");
	/* gid 0 is the objects' group: the group class, which 0600 denies. */
	try_all(o, t, "nobody, gid 0");
	try_owner(o, t, "nobody, gid 0", 0);
	if (kept != (void *)-1) {
		*(volatile char *)kept = 'k';	/* still mapped, still writable */
		tcall(t, "nobody: shmdt of root's attachment", o->shmdt(kept));
	}
	/* Its SEM_UNDO adjustment is undone at its exit, as nobody. */
}

static void *thread_drop(void *arg)
{
	(void)arg;
	return (void *)(long)setresuid(NOBODY, NOBODY, NOBODY);
}

static void drop_in_thread(const struct ipc_ops *o, struct trace *t)
{
	pthread_t th;
	void *r = (void *)-1;

	try_all(o, t, "root");
	if (pthread_create(&th, NULL, thread_drop, NULL) == 0)
		pthread_join(th, &r);
	tprintf(t, "another thread's setresuid nobody -> %ld", (long)r);
	trace_ids(t, "now");
	try_all(o, t, "nobody by another thread");
}

static void scen_in_place(const struct ipc_ops *o, struct trace *t)
{
	make_objects(o, t, 0600);
	role(as_self(o, t, drop_setresuid), "setresuid child");
	role(as_self(o, t, drop_setuid), "setuid child");
	role(as_self(o, t, drop_in_thread), "thread child");
	tprintf(t, "undone at exit: sem 2 = %d", o->semctl(obj.s, 2, GETVAL, 0));
	try_all(o, t, "parent");
	remove_objects(o, t);
}

/* ---- (b) after fork, (c) vfork --------------------------------------- */

static void child_setuid_first(const struct ipc_ops *o, struct trace *t)
{
	tcall(t, "setuid nobody", setuid(NOBODY));
	try_all(o, t, "nobody after fork");
	try_owner(o, t, "nobody after fork", 0);
}

static void child_as_root(const struct ipc_ops *o, struct trace *t)
{
	try_all(o, t, "root after fork");
}

static void scen_after_fork(const struct ipc_ops *o, struct trace *t)
{
	void *kept;
	pid_t pid;
	int st;

	make_objects(o, t, 0600);
	try_all(o, t, "parent before fork");
	kept = o->shmat(obj.m, NULL, 0);
	tcall(t, "parent: shmat, kept", kept == (void *)-1 ? -1 : 0);
	role(as_self(o, t, child_setuid_first), "setuid child");
	role(as_self(o, t, child_as_root), "root child");

	/* A vfork child shares its parent's memory until it execs or exits:
	 * its setuid must leave the parent's checks alone. */
	pid = vfork();
	if (pid == 0) {
		if (setuid(NOBODY) < 0)
			_exit(1);
		_exit(0);
	}
	st = -1;
	if (pid > 0)
		waitpid(pid, &st, 0);
	tprintf(t, "vfork child's setuid nobody: exit %d",
		WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	try_all(o, t, "parent after the children");
	if (kept != (void *)-1)
		tcall(t, "parent: shmdt", o->shmdt(kept));
	remove_objects(o, t);
}

/* ---- (d) effective uid and back -------------------------------------- */

static void euid_and_back(const struct ipc_ops *o, struct trace *t)
{
	try_all(o, t, "root");
	tcall(t, "seteuid nobody", seteuid(NOBODY));
	try_all(o, t, "euid nobody");
	try_owner(o, t, "euid nobody", 0);
	tcall(t, "seteuid 0", seteuid(0));
	try_all(o, t, "euid 0 again");
	try_owner(o, t, "euid 0 again", 1);
	tcall(t, "setreuid -1 nobody", setreuid((uid_t)-1, NOBODY));
	try_all(o, t, "setreuid nobody");
	tcall(t, "setreuid -1 0", setreuid((uid_t)-1, 0));
	try_all(o, t, "setreuid 0");
	tcall(t, "setresuid -1 nobody -1",
	      setresuid((uid_t)-1, NOBODY, (uid_t)-1));
	try_all(o, t, "setresuid nobody");
	tcall(t, "setresuid -1 0 -1", setresuid((uid_t)-1, 0, (uid_t)-1));
	try_all(o, t, "setresuid 0");
	/* The file system uid is not what IPC checks. */
	tprintf(t, "setfsuid nobody -> %d", setfsuid(NOBODY));
	skip_shmat = 1;
	try_all(o, t, "fsuid nobody");
	skip_shmat = 0;
	tprintf(t, "setfsuid 0 -> %d", setfsuid(0));
}

static void scen_euid(const struct ipc_ops *o, struct trace *t)
{
	make_objects(o, t, 0600);
	role(as_self(o, t, euid_and_back), "child");
	try_all(o, t, "parent");
	remove_objects(o, t);
}

/* ---- (e) the group class --------------------------------------------- */

static int set_caps(uint64_t eff, uint64_t prm)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	return capset(&hdr, d);
}

static uint64_t get_permitted(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d) < 0)
		return 0;
	return d[0].permitted | (uint64_t)d[1].permitted << 32;
}

static void group_class(const struct ipc_ops *o, struct trace *t)
{
	gid_t g = GROUP, many[200];
	uint64_t setgid_cap = 1ull << CAP_SETGID;

	try_all(o, t, "root");
	/* nobody, keeping only CAP_SETGID: no CAP_IPC_OWNER to override. */
	tcall(t, "keep caps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	tcall(t, "setgroups none", setgroups(0, NULL));
	tcall(t, "setresgid nobody", setresgid(NOBODY, NOBODY, NOBODY));
	tcall(t, "setresuid nobody", setresuid(NOBODY, NOBODY, NOBODY));
	tcall(t, "capset CAP_SETGID only", set_caps(setgid_cap, setgid_cap));
	trace_ids(t, "now");
	try_all(o, t, "other class");
	tcall(t, "setgroups {G}", setgroups(1, &g));
	try_all(o, t, "G supplementary");
	try_owner(o, t, "G supplementary", 0);
	/* More groups than fit a small buffer, G the last. */
	for (int i = 0; i < 199; i++)
		many[i] = (gid_t)(20000 + i);
	many[199] = GROUP;
	tcall(t, "setgroups 200, G last", setgroups(200, many));
	try_all(o, t, "G the 200th group");
	tcall(t, "setgroups none", setgroups(0, NULL));
	try_all(o, t, "no groups");
	tcall(t, "setegid G", setegid(GROUP));
	try_all(o, t, "egid G");
	tcall(t, "setegid nobody", setegid(NOBODY));
	try_all(o, t, "egid nobody");
	tcall(t, "setregid -1 G", setregid((gid_t)-1, GROUP));
	try_all(o, t, "setregid G");
	tcall(t, "setresgid -1 0 -1", setresgid((gid_t)-1, 0, (gid_t)-1));
	skip_shmat = 1;
	try_all(o, t, "egid 0, the creator's group");
	skip_shmat = 0;
	tcall(t, "setgid nobody", setgid(NOBODY));
	try_all(o, t, "setgid nobody");
	tprintf(t, "setfsgid G -> %d", setfsgid(GROUP));
	try_all(o, t, "fsgid G");
	tcall(t, "initgroups nobody G", initgroups("nobody", GROUP));
	trace_ids(t, "now");
	try_all(o, t, "initgroups with G");
	tcall(t, "setgroups none", setgroups(0, NULL));
	try_all(o, t, "no groups again");
}

static void scen_group(const struct ipc_ops *o, struct trace *t)
{
	make_objects(o, t, 0600);
	obj.gid = GROUP;
	obj.mode = 0060;
	try_owner(o, t, "root: to group G, 0060", 1);
	role(as_self(o, t, group_class), "child");
	try_all(o, t, "parent");
	remove_objects(o, t);
}

/* ---- (f) capabilities ------------------------------------------------ */

static void caps_down_and_up(const struct ipc_ops *o, struct trace *t)
{
	uint64_t all = get_permitted();
	uint64_t owner = 1ull << CAP_IPC_OWNER, admin = 1ull << CAP_SYS_ADMIN;

	tprintf(t, "has CAP_IPC_OWNER %d, CAP_SYS_ADMIN %d", !!(all & owner),
		!!(all & admin));
	try_all(o, t, "root, all caps");
	tcall(t, "capset without CAP_IPC_OWNER", set_caps(all & ~owner, all));
	try_all(o, t, "no CAP_IPC_OWNER");
	try_owner(o, t, "no CAP_IPC_OWNER", 1);
	tcall(t, "capset without CAP_SYS_ADMIN too",
	      set_caps(all & ~(owner | admin), all));
	try_owner(o, t, "no CAP_SYS_ADMIN", 0);
	tcall(t, "capset all again", set_caps(all, all));
	try_all(o, t, "all caps again");
	try_owner(o, t, "all caps again", 1);
}

static void scen_caps(const struct ipc_ops *o, struct trace *t)
{
	/* Made by another user, so root is neither owner nor creator. */
	tcall(t, "setegid other", setegid(OTHER));
	tcall(t, "seteuid other", seteuid(OTHER));
	make_objects(o, t, 0600);
	tcall(t, "seteuid 0", seteuid(0));
	tcall(t, "setegid 0", setegid(0));
	role(as_self(o, t, caps_down_and_up), "child");
	try_all(o, t, "parent");
	remove_objects(o, t);
}

/* Writes s to a /proc/self file (a user namespace's maps). */
static int put(const char *file, const char *s)
{
	FILE *f = fopen(file, "w");
	int ok = f && fputs(s, f) >= 0;

	if (f)
		ok = fclose(f) == 0 && ok;
	return ok ? 0 : -1;
}

/* A user namespace of one's own makes one root in it, with every
 * capability there and none that counts for IPC objects (the kernel's
 * capable() asks in the initial namespace): raising a queue's qbytes above
 * msgmnb needs CAP_SYS_RESOURCE, and is refused on both. */
static void scen_userns(const struct ipc_ops *o, struct trace *t)
{
	pid_t kid = fork();
	int st;

	if (kid == 0) {
		struct msqid_ds ds;
		int q;

		if (setgroups(0, NULL) || setgid(OTHER) || setuid(OTHER))
			_exit(90);
		/* The change of uid made us undumpable: /proc/self root's. */
		prctl(PR_SET_DUMPABLE, 1);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(77);
		if (put("/proc/self/setgroups", "deny") < 0 ||
		    put("/proc/self/uid_map", "0 " OTHER_S " 1") < 0 ||
		    put("/proc/self/gid_map", "0 " OTHER_S " 1") < 0)
			_exit(91);
		q = o->msgget(IPC_PRIVATE, 0600);
		if (q < 0 || o->msgctl(q, IPC_STAT, &ds) < 0)
			_exit(92);
		ds.msg_qbytes = ds.msg_qbytes * 4;
		errno = 0;
		st = o->msgctl(q, IPC_SET, &ds) < 0 ? errno : 0;
		o->msgctl(q, IPC_RMID, NULL);
		_exit(st);
	}
	waitpid(kid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		tprintf(t, "no user namespaces here");
		return;
	}
	tprintf(t, "root of its own user namespace, qbytes above msgmnb: %s",
		WIFEXITED(st) ? (WEXITSTATUS(st) ? errname(WEXITSTATUS(st)) : "ok") :
		"killed");
}

int main(void)
{
	harness_init(90);
	if (geteuid() != 0) {
		printf("SKIP: must run as root (drops privileges in children)\n");
		return 77;
	}
	run_both("in place: setresuid, setuid, another thread", scen_in_place);
	run_both("after fork, and a vfork child", scen_after_fork);
	run_both("seteuid, setreuid, setresuid and back; setfsuid", scen_euid);
	run_both("group class: setgroups, set*gid, initgroups", scen_group);
	run_both("capset: CAP_IPC_OWNER, CAP_SYS_ADMIN", scen_caps);
	run_both("capabilities of a user namespace of its own", scen_userns);
	return harness_done();
}
