/*
 * cred_prog: an ordinary program, built without uipc, that uses System V
 * IPC through the C library and changes its credentials: tests/shim_cred
 * runs it on the kernel and under `uipc run --block-kernel-ipc` and wants
 * the same lines from both.  As root it makes a 0600 queue, semaphore set
 * and segment and uses them, then uses them again after setresuid to
 * nobody in place, after setuid in a forked child, around seteuid(nobody)
 * and back, in the group class of a 0060 object (setgroups, initgroups,
 * without CAP_IPC_OWNER), and around capset on a queue another user made.
 *
 * Usage: cred_prog IDFILE (where it writes the ids it made, so that the
 * caller can remove them whatever happens).  Exits 0 when it could run.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define NOBODY 65534
#define OTHER 1000
#define GROUP 4242

int capset(cap_user_header_t hdr, const cap_user_data_t data);

static int q, s, m;

static const char *ename(int e)
{
	switch (e) {
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	case EIDRM: return "EIDRM";
	case ENOSYS: return "ENOSYS";
	case ENOMSG: return "ENOMSG";
	case EAGAIN: return "EAGAIN";
	default: return "E?";
	}
}

static long say(const char *who, const char *what, long r)
{
	if (r < 0)
		printf("%s: %s -> -1 %s\n", who, what, ename(errno));
	else
		printf("%s: %s -> ok\n", who, what);
	return r;
}

static void uses(const char *who)
{
	struct { long mtype; char mtext[8]; } msg = { 1, "x" };
	struct sembuf op = { 0, 1, 0 };
	struct msqid_ds md;
	struct semid_ds sd;
	struct shmid_ds hd;
	void *p;

	say(who, "msgsnd", msgsnd(q, &msg, 1, IPC_NOWAIT));
	say(who, "msgrcv", msgrcv(q, &msg, sizeof(msg.mtext), 0, IPC_NOWAIT));
	say(who, "msg IPC_STAT", msgctl(q, IPC_STAT, &md));
	say(who, "semop +1", semop(s, &op, 1));
	op.sem_op = -1;
	say(who, "semop -1", semop(s, &op, 1));
	say(who, "GETVAL", semctl(s, 0, GETVAL));
	say(who, "sem IPC_STAT", semctl(s, 0, IPC_STAT, &sd));
	p = shmat(m, NULL, 0);
	if (say(who, "shmat", p == (void *)-1 ? -1 : 0) == 0)
		say(who, "shmdt", shmdt(p));
	say(who, "shm IPC_STAT", shmctl(m, IPC_STAT, &hd));
}

static void not_owner(const char *who)
{
	say(who, "msg IPC_RMID", msgctl(q, IPC_RMID, NULL));
	say(who, "sem IPC_RMID", semctl(s, 0, IPC_RMID));
	say(who, "shm IPC_RMID", shmctl(m, IPC_RMID, NULL));
}

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

static uint64_t permitted(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &hdr, d) < 0)
		return 0;
	return d[0].permitted | (uint64_t)d[1].permitted << 32;
}

/* Runs fn in a child and waits for it. */
static void in_child(void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		fn();
		exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		printf("child failed\n");
}

static void drop_in_place(void)
{
	uses("root child");
	say("root child", "setgroups none", setgroups(0, NULL));
	say("root child", "setresgid nobody", setresgid(NOBODY, NOBODY, NOBODY));
	say("root child", "setresuid nobody", setresuid(NOBODY, NOBODY, NOBODY));
	uses("nobody in place");
	not_owner("nobody in place");
}

static void setuid_first(void)
{
	say("child", "setuid nobody", setuid(NOBODY));
	uses("nobody after fork");
}

static void group_class(void)
{
	uint64_t c = 1ull << CAP_SETGID;
	gid_t g = GROUP;

	say("child", "keep caps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	say("child", "setgroups none", setgroups(0, NULL));
	say("child", "setresgid nobody", setresgid(NOBODY, NOBODY, NOBODY));
	say("child", "setresuid nobody", setresuid(NOBODY, NOBODY, NOBODY));
	say("child", "capset CAP_SETGID only", set_caps(c, c));
	uses("other class");
	say("child", "setgroups G", setgroups(1, &g));
	uses("group G");
	say("child", "setgroups none", setgroups(0, NULL));
	uses("no groups");
	say("child", "initgroups nobody G", initgroups("nobody", GROUP));
	uses("initgroups G");
}

static int q2;

static void caps_down_and_up(void)
{
	struct { long mtype; char mtext[8]; } msg = { 1, "x" };
	uint64_t all = permitted(), owner = 1ull << CAP_IPC_OWNER;

	say("root", "msgsnd to other's", msgsnd(q2, &msg, 1, IPC_NOWAIT));
	say("root", "capset without CAP_IPC_OWNER", set_caps(all & ~owner, all));
	say("no CAP_IPC_OWNER", "msgsnd to other's",
	    msgsnd(q2, &msg, 1, IPC_NOWAIT));
	say("no CAP_IPC_OWNER", "msgrcv from other's",
	    msgrcv(q2, &msg, sizeof(msg.mtext), 0, IPC_NOWAIT));
	say("root", "capset all", set_caps(all, all));
	say("all caps", "msgrcv from other's",
	    msgrcv(q2, &msg, sizeof(msg.mtext), 0, IPC_NOWAIT));
}

int main(int argc, char **argv)
{
	struct msqid_ds md;
	struct semid_ds sd;
	struct shmid_ds hd;
	FILE *ids;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2 || geteuid() != 0) {
		fprintf(stderr, "usage, as root: cred_prog IDFILE\n");
		return 2;
	}
	q = msgget(IPC_PRIVATE, 0600);
	s = semget(IPC_PRIVATE, 1, 0600);
	m = shmget(IPC_PRIVATE, 4096, 0600);
	setegid(OTHER);
	seteuid(OTHER);
	q2 = msgget(IPC_PRIVATE, 0600);
	seteuid(0);
	setegid(0);
	ids = fopen(argv[1], "w");
	if (ids) {
		fprintf(ids, "%d %d %d %d\n", q, s, m, q2);
		fclose(ids);
	}
	if (q < 0 || s < 0 || m < 0 || q2 < 0) {
		printf("could not make the objects: %s\n", ename(errno));
		return 1;
	}
	uses("root");
	in_child(drop_in_place);
	in_child(setuid_first);

	say("root", "seteuid nobody", seteuid(NOBODY));
	uses("euid nobody");
	not_owner("euid nobody");
	say("euid nobody", "seteuid 0", seteuid(0));
	uses("euid 0 again");

	memset(&md, 0, sizeof(md));
	md.msg_perm.uid = 0;
	md.msg_perm.gid = GROUP;
	md.msg_perm.mode = 0060;
	md.msg_qbytes = 16384;
	say("root", "msg to G 0060", msgctl(q, IPC_SET, &md));
	memset(&sd, 0, sizeof(sd));
	sd.sem_perm = md.msg_perm;
	say("root", "sem to G 0060", semctl(s, 0, IPC_SET, &sd));
	memset(&hd, 0, sizeof(hd));
	hd.shm_perm = md.msg_perm;
	say("root", "shm to G 0060", shmctl(m, IPC_SET, &hd));
	in_child(group_class);

	in_child(caps_down_and_up);

	say("root", "msg IPC_RMID", msgctl(q, IPC_RMID, NULL));
	say("root", "sem IPC_RMID", semctl(s, 0, IPC_RMID));
	say("root", "shm IPC_RMID", shmctl(m, IPC_RMID, NULL));
	say("root", "other's msg IPC_RMID", msgctl(q2, IPC_RMID, NULL));
	return 0;
}
