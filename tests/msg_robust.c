/*
 * msg_robust: what no kernel comparison can show.
 *  - A process killed while holding a queue's lock, in the middle of a
 *    change, leaves the queue usable and consistent for everyone else.
 *  - A process killed holding the namespace lock in the middle of creating
 *    an object leaves the namespace usable and tidy.
 *  - Corrupt and truncated object and namespace files give an error, never
 *    a crash or a hang (each attempt runs in a child with a time limit).
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

struct msg {
	long type;
	char text[8192];
};

static int target_q;

/* A probe in a fresh process (run_self). */
static int in_child(const char *mode, const char *what)
{
	return run_self(mode, target_q, what);
}

/* ---- a lock holder killed in the middle of a change -------------------- */

static void hold_and_scramble(int q, int scramble, int pfd)
{
	struct uipc_map *m;
	uint64_t *counters;

	if (uipc_obj_get(UIPC_MSG, q, &m) < 0 || uipc_obj_lock(m) < 0)
		_exit(2);
	if (scramble) {
		/* Derived state half-updated, as a sender dying between its
		 * stores would leave it: qnum, cbytes wrong, free list cut. */
		counters = (uint64_t *)((char *)m->base + sizeof(struct uipc_obj) +
					3 * sizeof(int64_t));
		counters[0] = 999999;	/* cbytes */
		counters[1] = 77;	/* qnum */
	}
	write(pfd, "x", 1);
	pause();
}

static void lock_holder_killed(void)
{
	int q = uipc_msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	struct msg m;
	int p[2];
	pid_t pid;
	char c;

	m.type = 1;
	strcpy(m.text, "before");
	uipc_msgsnd(q, &m, 7, 0);
	uipc_msgsnd(q, &m, 7, 0);
	for (int scramble = 0; scramble < 2; scramble++) {
		if (pipe(p) < 0)
			return;
		pid = fork();
		if (pid == 0)
			hold_and_scramble(q, scramble, p[1]);
		read(p[0], &c, 1);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(p[0]);
		close(p[1]);
		alarm(10);
		CHECK(uipc_msgsnd(q, &m, 7, IPC_NOWAIT) == 0,
		      "send after the lock holder died: %s", strerror(errno));
		CHECK(uipc_msgctl(q, IPC_STAT, &ds) == 0, "stat after death");
		CHECK(ds.msg_qnum == 3 && ds.__msg_cbytes == 21,
		      "repair recounted qnum %lu cbytes %lu (want 3, 21)",
		      (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes);
		CHECK(uipc_msgrcv(q, &m, 100, 0, IPC_NOWAIT) == 7 &&
		      !strcmp(m.text, "before"), "messages intact after repair");
	}
	/* The arena must not leak: fill the whole queue, twice over. */
	for (int round = 0; round < 2; round++) {
		int n = 0;

		while (uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0)
			;
		while (uipc_msgsnd(q, &m, 0, IPC_NOWAIT) == 0)
			n++;
		CHECK(n == 16384, "a full queue holds %d empty messages (want 16384)", n);
	}
	alarm(0);
	uipc_msgctl(q, IPC_RMID, NULL);
	if (!harness_failures)
		printf("ok   lock holder killed mid-change: queue repaired\n");
}

/* ---- killed while building a message ----------------------------------- */

static void senders_killed_in_flight(void)
{
	int q = uipc_msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	struct msg m;
	int n = 0;

	/* Kill many senders of big messages at random points. */
	for (int i = 0; i < 200; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			m.type = 1;
			memset(m.text, 's', sizeof(m.text));
			for (;;) {
				uipc_msgsnd(q, &m, 8000, IPC_NOWAIT);
				uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
			}
		}
		usleep((useconds_t)(200 + (i * 37) % 900));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	alarm(10);
	while (uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0)
		;
	CHECK(uipc_msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 0 &&
	      ds.__msg_cbytes == 0, "queue empty after the drain");
	m.type = 1;	/* the drain may have received nothing into m */
	while (uipc_msgsnd(q, &m, 0, IPC_NOWAIT) == 0)
		n++;
	CHECK(n == 16384, "no blocks lost to killed senders: %d of 16384 (%s)", n,
	      strerror(errno));
	alarm(0);
	uipc_msgctl(q, IPC_RMID, NULL);
	if (!harness_failures)
		printf("ok   200 processes killed inside msgsnd/msgrcv: no block lost\n");
}

/* ---- the namespace lock holder killed ---------------------------------- */

static void ns_holder(int pfd)
{
	struct uipc_nsh *h;
	char path[4200];
	int err, fd;

	h = uipc_ns_get(&err);
	if (!h || uipc_ns_lock(h) < 0)
		_exit(2);
	/* Half-way through a creation: a temporary file and a slot taken. */
	snprintf(path, sizeof(path), "%s/tmp.%d.999", h->path, (int)getpid());
	fd = open(path, O_CREAT | O_RDWR, 0600);
	close(fd);
	h->ns->ids[UIPC_MSG].slot[999] = 5 * 32768 + 999 + 1;
	h->ns->ids[UIPC_MSG].in_use++;
	write(pfd, "x", 1);
	pause();
}

static void ns_lock_holder_killed(void)
{
	char path[4200];
	struct stat st;
	int p[2], q;
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0)
		ns_holder(p[1]);
	read(p[0], &c, 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	alarm(10);
	q = uipc_msgget(test_key(1), IPC_CREAT | 0600);
	CHECK(q >= 0, "msgget after the namespace lock holder died: %s",
	      strerror(errno));
	snprintf(path, sizeof(path), "%s/tmp.%d.999", harness_ns_dir(), (int)pid);
	CHECK(stat(path, &st) < 0, "its temporary file was cleaned up");
	CHECK(uipc_msgctl(999, MSG_STAT_ANY, NULL) < 0 && errno == EINVAL,
	      "the half-made slot was released");
	alarm(0);
	uipc_msgctl(q, IPC_RMID, NULL);
	close(p[0]);
	close(p[1]);
	if (!harness_failures)
		printf("ok   namespace lock holder killed mid-create: namespace repaired\n");
}

/* ---- corrupt files ------------------------------------------------------ */

static void try_ops(void)
{
	struct msqid_ds ds;
	struct msg m;
	int q = target_q;

	m.type = 1;
	/* Any answer will do but a crash or a hang. */
	uipc_msgsnd(q, &m, 100, IPC_NOWAIT);
	uipc_msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);
	uipc_msgrcv(q, &m, sizeof(m.text), -3, IPC_NOWAIT | MSG_NOERROR);
	uipc_msgrcv(q, &m, sizeof(m.text), 1, IPC_NOWAIT | MSG_COPY);
	uipc_msgctl(q, IPC_STAT, &ds);
	uipc_msgctl(q % 32768, MSG_STAT_ANY, &ds);
	uipc_msgctl(0, MSG_INFO, (struct msqid_ds *)&ds);
}

static void expect_eio(void)
{
	struct msg m = { 1, "" };

	if (uipc_msgsnd(target_q, &m, 1, IPC_NOWAIT) == 0 || errno != EIO)
		_exit(1);
}

static void corrupt_files(void)
{
	char path[4200];
	struct msg m = { 1, "payload" };
	unsigned rnd = 4242;
	int fd, q;
	size_t len;
	char *p;

	q = uipc_msgget(IPC_PRIVATE, 0600);
	target_q = q;
	for (int i = 0; i < 5; i++)
		uipc_msgsnd(q, &m, 50 + (size_t)i * 300, 0);
	snprintf(path, sizeof(path), "%s/msg.%d", harness_ns_dir(), q);
	fd = open(path, O_RDWR);
	len = (size_t)lseek(fd, 0, SEEK_END);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	/* Random bytes anywhere past the lock, many times over. */
	{
		char *save = malloc(len);
		size_t lock_end = offsetof(struct uipc_obj, lock) +
				  sizeof(struct uipc_lock);

		memcpy(save, p, len);
		for (int i = 0; i < 150; i++) {
			int nbytes = 1 + (int)(rand_r(&rnd) % 16);

			for (int k = 0; k < nbytes; k++) {
				size_t off = lock_end + rand_r(&rnd) % 16384;

				p[off] = (char)rand_r(&rnd);
			}
			if (in_child("--try-ops", "random corruption") < 0)
				break;
			memcpy(p, save, len);
		}
		free(save);
	}
	/* A list pointing outside the file. */
	((struct uipc_obj *)p)->magic = UIPC_OBJ_MAGIC;
	in_child("--try-ops", "header intact");
	memset(p + sizeof(struct uipc_obj) + 8 * 8, 0xff, 16);
	in_child("--try-ops", "list out of range");
	/* A bad magic: not an object. */
	((struct uipc_obj *)p)->magic = 0x12345678;
	in_child("--expect-eio", "bad magic gives EIO");
	in_child("--try-ops", "bad magic");
	munmap(p, len);
	/* Truncated: header only, then nothing. */
	if (ftruncate(fd, 4096) == 0)
		in_child("--expect-eio", "truncated file gives EIO");
	if (ftruncate(fd, 0) == 0)
		in_child("--expect-eio", "empty file gives EIO");
	close(fd);
	unlink(path);

	/* A corrupt namespace file: every call errs, none crashes. */
	snprintf(path, sizeof(path), "%s/ns", harness_ns_dir());
	fd = open(path, O_RDWR);
	if (fd >= 0) {
		uint32_t bad = 0xdeadbeef;

		pwrite(fd, &bad, sizeof(bad), 0);
		close(fd);
		target_q = 0;
		in_child("--expect-eio", "corrupt namespace gives EIO");
		unlink(path);
	}
	if (!harness_failures)
		printf("ok   corrupt and truncated files: errors, no crash, no hang\n");
}

int main(int argc, char **argv)
{
	if (argc == 3) {	/* a probe run by in_child() */
		alarm(10);
		target_q = atoi(argv[2]);
		if (!strcmp(argv[1], "--expect-eio"))
			expect_eio();
		else
			try_ops();
		return 0;
	}
	harness_init(200);
	lock_holder_killed();
	senders_killed_in_flight();
	ns_lock_holder_killed();
	corrupt_files();
	return harness_done();
}
