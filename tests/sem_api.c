/*
 * sem_api: semget, semop, semtimedop and semctl side by side with the
 * kernel, in one process and as an unprivileged user: every error of the
 * man pages, bad pointers, all-or-nothing, repeated semaphores in one call,
 * the adjustment range, and the semid_ds fields.
 */
#include "harness.h"

#include <sys/mman.h>
#include <time.h>

#define NOBODY 65534

static void *bad_ptr(void)
{
	static void *p;

	if (!p) {
		p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	return p;
}

static void vals(const struct ipc_ops *o, struct trace *t, int id, int n,
		 const char *what)
{
	unsigned short v[16];
	char buf[256];
	size_t len = 0;

	if (o->semctl(id, 0, GETALL, (unsigned long)v) < 0) {
		tprintf(t, "%s: GETALL -> -1 %s", what, errname(errno));
		return;
	}
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %u", v[i]);
	tprintf(t, "%s:%s", what, buf);
}

static void stat_s(const struct ipc_ops *o, struct trace *t, int id,
		   const char *what)
{
	struct semid_ds ds;

	if (tcall(t, what, o->semctl(id, 0, IPC_STAT, (unsigned long)&ds)) == 0)
		trace_semds(t, what, &ds);
}

static int op(const struct ipc_ops *o, struct trace *t, int id,
	      struct sembuf *s, size_t n, const char *what)
{
	return (int)tcall(t, what, o->semtimedop(id, s, n, NULL));
}

/* ---- semget ---------------------------------------------------------- */

static void scen_get(const struct ipc_ops *o, struct trace *t)
{
	key_t k = test_key(1);
	int a, b;

	tcall(t, "nsems -1", o->semget(IPC_PRIVATE, -1, 0600));
	tcall(t, "nsems 32001", o->semget(IPC_PRIVATE, 32001, 0600));
	tcall(t, "nsems 0 private", o->semget(IPC_PRIVATE, 0, 0600));
	tcall(t, "nsems 0 key create", o->semget(k, 0, IPC_CREAT | 0600));
	a = o->semget(IPC_PRIVATE, 2, 0600);
	b = o->semget(IPC_PRIVATE, 2, 0600);
	tprintf(t, "private twice: distinct=%d", a >= 0 && b >= 0 && a != b);
	tcall(t, "key no CREAT", o->semget(k, 3, 0600));
	a = (int)tcall(t, "key CREAT", o->semget(k, 3, IPC_CREAT | 0640));
	tprintf(t, "same id again=%d", o->semget(k, 3, 0600) == a);
	tprintf(t, "fewer=%d", o->semget(k, 1, 0) == a);
	tprintf(t, "nsems 0 existing=%d", o->semget(k, 0, 0) == a);
	tcall(t, "more than it has", o->semget(k, 4, 0600));
	tcall(t, "EXCL", o->semget(k, 3, IPC_CREAT | IPC_EXCL | 0600));
	tcall(t, "more and EXCL", o->semget(k, 4, IPC_CREAT | IPC_EXCL | 0600));
	stat_s(o, t, a, "stat new");
	vals(o, t, a, 3, "new values");
	for (int i = 0; i < 3; i++)
		tprintf(t, "pid%d=%d", i, o->semctl(a, i, GETPID, 0));
	tcall(t, "rmid", o->semctl(a, 0, IPC_RMID, 0));
	tcall(t, "rmid again", o->semctl(a, 0, IPC_RMID, 0));
	tcall(t, "key gone", o->semget(k, 3, 0600));
	o->semctl(b, 0, IPC_RMID, 0);
	/* What the id table hands out next is not compared: the kernel's
	 * table holds other processes' sets. */
}

/* ---- semop ----------------------------------------------------------- */

static void scen_op(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 4, 0600);
	struct sembuf s[8], *big;
	struct timespec ts;

	s[0] = SOP(0, 1, 0);
	tcall(t, "nsops 0", o->semtimedop(id, s, 0, NULL));
	tcall(t, "semid -1", o->semtimedop(-1, s, 1, NULL));
	big = calloc(501, sizeof(*big));
	tcall(t, "nsops 501", o->semtimedop(id, big, 501, NULL));
	tcall(t, "nsops 500 zero ops", o->semtimedop(id, big, 500, NULL));
	free(big);
	tcall(t, "sops NULL", o->semtimedop(id, NULL, 1, NULL));
	tcall(t, "sops unmapped", o->semtimedop(id, bad_ptr(), 1, NULL));
	tcall(t, "nsops 0 and NULL", o->semtimedop(id, NULL, 0, NULL));
	s[0] = SOP(4, 1, 0);
	tcall(t, "sem_num 4 of 4", o->semtimedop(id, s, 1, NULL));
	s[0] = SOP(65535, 0, 0);
	tcall(t, "sem_num 65535", o->semtimedop(id, s, 1, NULL));
	s[0] = SOP(0, 1, 0);
	tcall(t, "bad id", o->semtimedop(id + 1, s, 1, NULL));
	tcall(t, "bad id high", o->semtimedop(id + 32768 * 7, s, 1, NULL));

	s[0] = SOP(0, 2, 0);
	op(o, t, id, s, 1, "+2");
	s[0] = SOP(0, -1, IPC_NOWAIT);
	s[1] = SOP(1, -1, IPC_NOWAIT);
	op(o, t, id, s, 2, "all or nothing");
	vals(o, t, id, 4, "unchanged");
	s[0] = SOP(1, 0, 0);
	s[1] = SOP(0, -2, 0);
	op(o, t, id, s, 2, "zero then -2");
	vals(o, t, id, 4, "after");
	s[0] = SOP(2, 3, 0);
	s[1] = SOP(2, -1, 0);
	s[2] = SOP(2, -2, 0);
	s[3] = SOP(2, 0, IPC_NOWAIT);
	op(o, t, id, s, 4, "same semaphore four times");
	s[0] = SOP(2, 1, 0);
	s[1] = SOP(2, -2, IPC_NOWAIT);
	op(o, t, id, s, 2, "repeated would block");
	vals(o, t, id, 4, "after repeats");
	s[0] = SOP(3, 32767, 0);
	op(o, t, id, s, 1, "+32767");
	s[0] = SOP(3, 1, 0);
	op(o, t, id, s, 1, "+1 over semvmx");
	s[0] = SOP(0, 1, 0);
	s[1] = SOP(3, 1, IPC_NOWAIT);
	op(o, t, id, s, 2, "second over semvmx");
	s[0] = SOP(3, -32767, 0);
	s[1] = SOP(3, 32767, 0);
	s[2] = SOP(3, 1, 0);
	op(o, t, id, s, 3, "through and over");
	vals(o, t, id, 4, "after range");
	s[0] = SOP(1, -1, IPC_NOWAIT);
	op(o, t, id, s, 1, "nowait");
	s[0] = SOP(3, 0, IPC_NOWAIT);
	op(o, t, id, s, 1, "zero nowait");

	/* The adjustment's range: -32768..32767. */
	o->semctl(id, 3, SETVAL, 0);
	s[0] = SOP(3, 32767, SEM_UNDO);
	op(o, t, id, s, 1, "+32767 undo");
	s[0] = SOP(3, -32767, 0);
	op(o, t, id, s, 1, "-32767");
	s[0] = SOP(3, 1, SEM_UNDO);
	op(o, t, id, s, 1, "+1 undo (adj -32768)");
	s[0] = SOP(3, 1, SEM_UNDO);
	op(o, t, id, s, 1, "+1 undo (adj -32769)");
	vals(o, t, id, 4, "after adj range");

	/* semtimedop's timeout. */
	s[0] = SOP(1, -1, 0);
	ts.tv_sec = 0;
	ts.tv_nsec = -1;
	tcall(t, "tv_nsec -1", o->semtimedop(id, s, 1, &ts));
	ts.tv_nsec = 1000000000;
	tcall(t, "tv_nsec 1e9", o->semtimedop(id, s, 1, &ts));
	ts.tv_sec = -1;
	ts.tv_nsec = 0;
	tcall(t, "tv_sec -1", o->semtimedop(id, s, 1, &ts));
	tcall(t, "timeout unmapped", o->semtimedop(id, s, 1, bad_ptr()));
	tcall(t, "timeout unmapped nsops 0",
	      o->semtimedop(id, s, 0, bad_ptr()));
	ts.tv_sec = 0;
	ts.tv_nsec = 20000000;
	tcall(t, "times out", o->semtimedop(id, s, 1, &ts));
	ts.tv_nsec = 0;
	tcall(t, "zero timeout", o->semtimedop(id, s, 1, &ts));
	s[0] = SOP(1, 0, 0);
	tcall(t, "zero timeout, proceeds", o->semtimedop(id, s, 1, &ts));
	stat_s(o, t, id, "stat");

	o->semctl(id, 0, IPC_RMID, 0);
	s[0] = SOP(0, 1, 0);
	tcall(t, "removed", o->semtimedop(id, s, 1, NULL));
}

/* ---- semctl ---------------------------------------------------------- */

static void scen_ctl(const struct ipc_ops *o, struct trace *t)
{
	int id = o->semget(IPC_PRIVATE, 3, 0640);
	unsigned short v[3] = { 1, 2, 3 }, big[3] = { 1, 32768, 0 };
	struct semid_ds ds;
	struct seminfo si;
	int r;

	tcall(t, "SETVAL -1", o->semctl(id, 0, SETVAL, (unsigned long)-1));
	tcall(t, "SETVAL 32768", o->semctl(id, 0, SETVAL, 32768));
	tcall(t, "SETVAL 32767", o->semctl(id, 0, SETVAL, 32767));
	tcall(t, "SETVAL semnum 3", o->semctl(id, 3, SETVAL, 1));
	tcall(t, "SETVAL semnum -1", o->semctl(id, -1, SETVAL, 1));
	tcall(t, "SETVAL bad id", o->semctl(id + 1, 0, SETVAL, 1));
	tcall(t, "SETVAL -1 bad id", o->semctl(id + 1, 0, SETVAL, (unsigned long)-1));
	tprintf(t, "GETVAL=%d", o->semctl(id, 0, GETVAL, 0));
	tcall(t, "GETVAL semnum 3", o->semctl(id, 3, GETVAL, 0));
	tcall(t, "GETPID semnum -1", o->semctl(id, -1, GETPID, 0));
	tcall(t, "GETNCNT semnum 3", o->semctl(id, 3, GETNCNT, 0));
	tcall(t, "GETZCNT semnum 3", o->semctl(id, 3, GETZCNT, 0));
	tprintf(t, "GETPID=%s", pid_name(o->semctl(id, 0, GETPID, 0), NULL, NULL, 0));
	tprintf(t, "GETNCNT=%d GETZCNT=%d", o->semctl(id, 1, GETNCNT, 0),
		o->semctl(id, 1, GETZCNT, 0));
	tcall(t, "SETALL", o->semctl(id, 0, SETALL, (unsigned long)v));
	vals(o, t, id, 3, "after SETALL");
	tcall(t, "SETALL 32768", o->semctl(id, 0, SETALL, (unsigned long)big));
	vals(o, t, id, 3, "unchanged");
	tcall(t, "SETALL NULL", o->semctl(id, 0, SETALL, 0));
	tcall(t, "SETALL unmapped", o->semctl(id, 0, SETALL, (unsigned long)bad_ptr()));
	tcall(t, "GETALL NULL", o->semctl(id, 0, GETALL, 0));
	tcall(t, "GETALL unmapped", o->semctl(id, 0, GETALL, (unsigned long)bad_ptr()));
	tcall(t, "IPC_STAT NULL", o->semctl(id, 0, IPC_STAT, 0));
	tcall(t, "IPC_SET NULL", o->semctl(id, 0, IPC_SET, 0));
	tcall(t, "IPC_INFO NULL", o->semctl(id, 0, IPC_INFO, 0));
	tcall(t, "bad cmd", o->semctl(id, 0, 99, 0));
	tcall(t, "cmd -1", o->semctl(id, 0, -1, 0));
	tcall(t, "IPC_STAT|IPC_64", o->semctl(id, 0, IPC_STAT | 0x100, (unsigned long)&ds));
	tcall(t, "semid -1 IPC_INFO", o->semctl(-1, 0, IPC_INFO, (unsigned long)&si));
	stat_s(o, t, id, "stat");

	/* IPC_SET: mode and owner; an invalid uid. */
	o->semctl(id, 0, IPC_STAT, (unsigned long)&ds);
	ds.sem_perm.mode = 0604 | 01000;
	tcall(t, "IPC_SET mode", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	stat_s(o, t, id, "after IPC_SET");
	ds.sem_perm.uid = (uid_t)-1;
	tcall(t, "IPC_SET uid -1", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	ds.sem_perm.uid = 0;
	ds.sem_perm.gid = (gid_t)-1;
	tcall(t, "IPC_SET gid -1", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	tcall(t, "IPC_SET bad id", o->semctl(id + 1, 0, IPC_SET, (unsigned long)&ds));

	/* Limits: compared field by field; the return (highest index in
	 * use) depends on the whole table, so only its sign is. */
	memset(&si, 0, sizeof(si));
	r = o->semctl(id, 0, IPC_INFO, (unsigned long)&si);
	tprintf(t, "IPC_INFO r>=0=%d semmap=%d semmni=%d semmns=%d semmnu=%d "
		"semmsl=%d semopm=%d semume=%d semusz=%d semvmx=%d semaem=%d",
		r >= 0, si.semmap, si.semmni, si.semmns, si.semmnu, si.semmsl,
		si.semopm, si.semume, si.semusz, si.semvmx, si.semaem);
	r = o->semctl(0, 0, SEM_INFO, (unsigned long)&si);
	tprintf(t, "SEM_INFO r>=0=%d semusz>=1=%d semaem>=3=%d", r >= 0,
		si.semusz >= 1, si.semaem >= 3);
	/* SEM_STAT takes an index and answers with the id. */
	r = o->semctl(id % 32768, 0, SEM_STAT, (unsigned long)&ds);
	tprintf(t, "SEM_STAT index -> id=%d", r == id);
	r = o->semctl(id % 32768, 0, SEM_STAT_ANY, (unsigned long)&ds);
	tprintf(t, "SEM_STAT_ANY index -> id=%d", r == id);
	tcall(t, "SEM_STAT NULL", o->semctl(id % 32768, 0, SEM_STAT, 0));
	tcall(t, "SEM_STAT 32767", o->semctl(32767, 0, SEM_STAT, (unsigned long)&ds));
	tcall(t, "rmid", o->semctl(id, 0, IPC_RMID, 0));
	tcall(t, "GETVAL removed", o->semctl(id, 0, GETVAL, 0));
	tcall(t, "IPC_STAT removed", o->semctl(id, 0, IPC_STAT, (unsigned long)&ds));
	tcall(t, "SETALL removed", o->semctl(id, 0, SETALL, (unsigned long)v));
}

/* ---- permissions, as nobody ----------------------------------------- */

static int perm_id[4];

static void nobody_part(const struct ipc_ops *o, struct trace *t)
{
	static const char *const name[4] = { "0600", "0644", "0622", "0666" };
	struct semid_ds ds;
	struct sembuf s;

	for (int i = 0; i < 4; i++) {
		int id = perm_id[i];
		/* Known difference (docs/uipc.md): a set that grants nobody
		 * anything has a file nobody can open, so uipc answers
		 * EACCES before the checks the kernel makes first. */
		int opens = i != 0;
		char what[64];

		snprintf(what, sizeof(what), "%s semget key", name[i]);
		tcall(t, what, o->semget(test_key(10 + i), 1, 0));
		snprintf(what, sizeof(what), "%s semget key asking rw", name[i]);
		tcall(t, what, o->semget(test_key(10 + i), 1, 0666));
		s = SOP(0, 1, IPC_NOWAIT);
		snprintf(what, sizeof(what), "%s alter", name[i]);
		tcall(t, what, o->semtimedop(id, &s, 1, NULL));
		s = SOP(0, 0, IPC_NOWAIT);
		snprintf(what, sizeof(what), "%s wait for zero", name[i]);
		tcall(t, what, o->semtimedop(id, &s, 1, NULL));
		s = SOP(1, 0, IPC_NOWAIT);
		if (opens) {
			snprintf(what, sizeof(what), "%s EFBIG before EACCES", name[i]);
			tcall(t, what, o->semtimedop(id, &s, 1, NULL));
		}
		snprintf(what, sizeof(what), "%s GETVAL", name[i]);
		tcall(t, what, o->semctl(id, 0, GETVAL, 0));
		if (opens) {
			snprintf(what, sizeof(what), "%s GETVAL semnum 5", name[i]);
			tcall(t, what, o->semctl(id, 5, GETVAL, 0));
		}
		snprintf(what, sizeof(what), "%s SETVAL", name[i]);
		tcall(t, what, o->semctl(id, 0, SETVAL, 0));
		if (opens) {
			snprintf(what, sizeof(what), "%s SETVAL semnum 5", name[i]);
			tcall(t, what, o->semctl(id, 5, SETVAL, 0));
		}
		snprintf(what, sizeof(what), "%s IPC_STAT", name[i]);
		tcall(t, what, o->semctl(id, 0, IPC_STAT, (unsigned long)&ds));
		if (opens) {
			snprintf(what, sizeof(what), "%s SEM_STAT_ANY", name[i]);
			tprintf(t, "%s -> %d", what,
				o->semctl(id % 32768, 0, SEM_STAT_ANY, (unsigned long)&ds) == id);
		}
		if (opens) {
			snprintf(what, sizeof(what), "%s IPC_SET", name[i]);
			tcall(t, what, o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
		}
		if (opens) {
			snprintf(what, sizeof(what), "%s IPC_RMID", name[i]);
			tcall(t, what, o->semctl(id, 0, IPC_RMID, 0));
		}
	}
	tcall(t, "nobody creates", perm_id[0] = o->semget(IPC_PRIVATE, 1, 0600));
	tcall(t, "nobody's own alter",
	      o->semtimedop(perm_id[0], &SOP(0, 1, 0), 1, NULL));
	{	/* Its own mode taken away: the next semop is refused. */
		struct semid_ds own;

		o->semctl(perm_id[0], 0, IPC_STAT, (unsigned long)&own);
		own.sem_perm.mode = 0;
		tcall(t, "nobody: own mode 0", o->semctl(perm_id[0], 0, IPC_SET,
							 (unsigned long)&own));
		tcall(t, "nobody's own alter, mode 0",
		      o->semtimedop(perm_id[0], &SOP(0, 1, 0), 1, NULL));
		tcall(t, "nobody's own read, mode 0",
		      o->semtimedop(perm_id[0], &SOP(0, 0, IPC_NOWAIT), 1, NULL));
	}
	tcall(t, "nobody removes own", o->semctl(perm_id[0], 0, IPC_RMID, 0));
}

static void scen_perm(const struct ipc_ops *o, struct trace *t)
{
	static const int mode[4] = { 0600, 0644, 0622, 0666 };

	for (int i = 0; i < 4; i++)
		perm_id[i] = o->semget(test_key(10 + i), 1, IPC_CREAT | mode[i]);
	as_user(NOBODY, NOBODY, o, t, nobody_part);
	for (int i = 0; i < 4; i++)
		tcall(t, "root removes", o->semctl(perm_id[i], 0, IPC_RMID, 0));
}

/* ---- the creator's rights, the new owner's, and nobody else's --------- */

#define NEW_OWNER 1	/* daemon: given the set by its creator */
#define STRANGER 2	/* bin: neither owner nor creator */

static void creator_gives(const struct ipc_ops *o, struct trace *t)
{
	struct semid_ds ds;
	int id = o->semget(test_key(20), 2, IPC_CREAT | IPC_EXCL | 0600);

	tprintf(t, "creator: 0600 set -> %s", id >= 0 ? "ok" : errname(errno));
	o->semctl(id, 0, IPC_STAT, (unsigned long)&ds);
	ds.sem_perm.uid = NEW_OWNER;
	tcall(t, "creator: give to uid 1", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	stat_s(o, t, id, "creator, no longer owner: stat");
	tcall(t, "creator: SETVAL", o->semctl(id, 1, SETVAL, 5));
	ds.sem_perm.mode = 0640;
	tcall(t, "creator: IPC_SET again", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	ds.sem_perm.gid = (gid_t)-1;
	tcall(t, "creator: IPC_SET gid -1", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	stat_s(o, t, id, "after the creator's IPC_SET");
	tcall(t, "creator: IPC_RMID", o->semctl(id, 0, IPC_RMID, 0));
	tcall(t, "creator: removed", o->semctl(id, 0, GETVAL, 0));

	id = o->semget(test_key(21), 2, IPC_CREAT | IPC_EXCL | 0644);
	o->semctl(id, 0, IPC_STAT, (unsigned long)&ds);
	ds.sem_perm.uid = NEW_OWNER;
	tcall(t, "creator: give 0644 to uid 1", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
}

static void stranger_tries(const struct ipc_ops *o, struct trace *t)
{
	struct semid_ds ds;
	int id = o->semget(test_key(21), 0, 0);

	stat_s(o, t, id, "stranger: stat");
	o->semctl(id, 0, IPC_STAT, (unsigned long)&ds);
	ds.sem_perm.mode = 0666;
	tcall(t, "stranger: IPC_SET", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	tcall(t, "stranger: IPC_SET NULL", o->semctl(id, 0, IPC_SET, 0));
	tcall(t, "stranger: IPC_RMID", o->semctl(id, 0, IPC_RMID, 0));
}

static void new_owner_acts(const struct ipc_ops *o, struct trace *t)
{
	struct semid_ds ds;
	int id = o->semget(test_key(21), 0, 0);

	o->semctl(id, 0, IPC_STAT, (unsigned long)&ds);
	ds.sem_perm.mode = 0604;
	tcall(t, "new owner: IPC_SET", o->semctl(id, 0, IPC_SET, (unsigned long)&ds));
	stat_s(o, t, id, "new owner: stat");
	tcall(t, "new owner: IPC_RMID", o->semctl(id, 0, IPC_RMID, 0));
}

static void scen_creator(const struct ipc_ops *o, struct trace *t)
{
	as_user(NOBODY, NOBODY, o, t, creator_gives);
	as_user(STRANGER, STRANGER, o, t, stranger_tries);
	as_user(NEW_OWNER, NEW_OWNER, o, t, new_owner_acts);
	tcall(t, "root: key gone", o->semget(test_key(20), 0, 0) >= 0 ? 0 : -1);
	/* Not compared: after the new owner's IPC_RMID the creator's files
	 * stay in the sticky directory, and uipc's key lookup says EIO. */
	o->semctl(o->semget(test_key(21), 0, 0), 0, IPC_RMID, 0);
}

/* ---- the order of errors, for a caller with some access --------------- */

static int order_id[3];	/* 0644, 0622, removed */

static void order_side(const struct ipc_ops *o, struct trace *t)
{
	static const char *const name[2] = { "0644", "0622" };
	unsigned short big[2] = { 1, 32768 };
	struct timespec bad_ts = { 0, -1 };
	struct sembuf s[2], *many = calloc(501, sizeof(*many));
	struct semid_ds ds;
	char what[80];
	int gone = order_id[2];

#define OP(...) tcall(t, what, o->semtimedop(__VA_ARGS__))
#define CTL(...) tcall(t, what, o->semctl(__VA_ARGS__))
#define WHAT(...) snprintf(what, sizeof(what), __VA_ARGS__)
	for (int i = 0; i < 2; i++) {
		int id = order_id[i];
		const char *n = name[i];

		/* semop: EINVAL (nsops, id), E2BIG, EFAULT, EINVAL (timeout),
		 * EINVAL (id), EFBIG, EACCES, then ERANGE or EAGAIN. */
		WHAT("%s: 501 ops", n);
		OP(id, many, 501, NULL);
		WHAT("%s: 501 ops, sops NULL", n);
		OP(id, NULL, 501, NULL);
		WHAT("%s: sops NULL", n);
		OP(id, NULL, 1, NULL);
		s[0] = SOP(5, 1, IPC_NOWAIT);
		WHAT("%s: sem_num 5, bad timeout", n);
		OP(id, s, 1, &bad_ts);
		WHAT("%s: alter sem_num 5", n);
		OP(id, s, 1, NULL);
		s[0] = SOP(5, 0, IPC_NOWAIT);
		WHAT("%s: wait sem_num 5", n);
		OP(id, s, 1, NULL);
		s[0] = SOP(5, 1, SEM_UNDO | IPC_NOWAIT);
		WHAT("%s: alter sem_num 5 with undo", n);
		OP(id, s, 1, NULL);
		s[0] = SOP(0, 0, IPC_NOWAIT);
		s[1] = SOP(2, 0, IPC_NOWAIT);
		WHAT("%s: wait, then sem_num 2", n);
		OP(id, s, 2, NULL);
		s[0] = SOP(0, 0, IPC_NOWAIT);
		WHAT("%s: wait for zero, bad timeout", n);
		OP(id, s, 1, &bad_ts);
		WHAT("%s: wait for zero (semval 1)", n);
		OP(id, s, 1, NULL);
		s[0] = SOP(0, -2, IPC_NOWAIT);
		WHAT("%s: -2 would block", n);
		OP(id, s, 1, NULL);
		s[0] = SOP(1, 1, IPC_NOWAIT);
		WHAT("%s: +1 over semvmx", n);
		OP(id, s, 1, NULL);
		s[0] = SOP(1, 0, IPC_NOWAIT);
		s[1] = SOP(0, 1, IPC_NOWAIT);
		WHAT("%s: a wait and an alter", n);
		OP(id, s, 2, NULL);
		s[0] = SOP(0, 1, SEM_UNDO | IPC_NOWAIT);
		WHAT("%s: +1 undo", n);
		OP(id, s, 1, NULL);

		/* semctl. */
		WHAT("%s: SETVAL 32768", n);
		CTL(id, 0, SETVAL, 32768);
		WHAT("%s: SETVAL 32768 semnum 5", n);
		CTL(id, 5, SETVAL, 32768);
		WHAT("%s: SETVAL semnum -1", n);
		CTL(id, -1, SETVAL, 0);
		WHAT("%s: GETPID semnum 5", n);
		CTL(id, 5, GETPID, 0);
		WHAT("%s: GETNCNT semnum -1", n);
		CTL(id, -1, GETNCNT, 0);
		WHAT("%s: GETZCNT semnum 2", n);
		CTL(id, 2, GETZCNT, 0);
		WHAT("%s: GETALL NULL", n);
		CTL(id, 0, GETALL, 0);
		WHAT("%s: SETALL NULL", n);
		CTL(id, 0, SETALL, 0);
		WHAT("%s: SETALL 32768", n);
		CTL(id, 0, SETALL, (unsigned long)big);
		WHAT("%s: IPC_STAT NULL", n);
		CTL(id, 0, IPC_STAT, 0);
		WHAT("%s: SEM_STAT NULL", n);
		CTL(id % 32768, 0, SEM_STAT, 0);
		WHAT("%s: IPC_SET NULL", n);
		CTL(id, 0, IPC_SET, 0);
		o->semctl(order_id[0], 0, IPC_STAT, (unsigned long)&ds);
		ds.sem_perm.uid = (uid_t)-1;
		WHAT("%s: IPC_SET uid -1", n);
		CTL(id, 0, IPC_SET, (unsigned long)&ds);
		WHAT("%s: IPC_RMID", n);
		CTL(id, 0, IPC_RMID, 0);
		WHAT("%s: cmd 99", n);
		CTL(id, 0, 99, 0);
	}
	/* Removed: what is checked before the set is looked up. */
	WHAT("removed: 501 ops");
	OP(gone, many, 501, NULL);
	WHAT("removed: sops NULL");
	OP(gone, NULL, 1, NULL);
	s[0] = SOP(0, 1, 0);
	WHAT("removed: bad timeout");
	OP(gone, s, 1, &bad_ts);
	s[0] = SOP(5, 1, SEM_UNDO);
	WHAT("removed: sem_num 5 with undo");
	OP(gone, s, 1, NULL);
	WHAT("removed: SETVAL 32768");
	CTL(gone, 0, SETVAL, 32768);
	WHAT("removed: SETVAL semnum -1");
	CTL(gone, -1, SETVAL, 0);
	WHAT("removed: IPC_SET NULL");
	CTL(gone, 0, IPC_SET, 0);
	WHAT("removed: GETALL NULL");
	CTL(gone, 0, GETALL, 0);
	WHAT("semid -1: IPC_RMID");
	CTL(-1, 0, IPC_RMID, 0);
#undef OP
#undef CTL
#undef WHAT
	free(many);
}

static void scen_order(const struct ipc_ops *o, struct trace *t)
{
	static const int mode[2] = { 0644, 0622 };
	unsigned short v[2] = { 1, 32767 };

	for (int i = 0; i < 2; i++) {
		order_id[i] = o->semget(test_key(30 + i), 2, IPC_CREAT | mode[i]);
		o->semctl(order_id[i], 0, SETALL, (unsigned long)v);
	}
	order_id[2] = o->semget(IPC_PRIVATE, 2, 0666);
	o->semctl(order_id[2], 0, IPC_RMID, 0);
	as_user(NOBODY, NOBODY, o, t, order_side);
	/* Values only: the kernel gives a SEM_UNDO semop an undo structure
	 * before its EFBIG or EACCES, and its exit then sets sem_otime;
	 * uipc's does not (a difference not compared here). */
	for (int i = 0; i < 2; i++) {
		vals(o, t, order_id[i], 2, "after nobody");
		o->semctl(order_id[i], 0, IPC_RMID, 0);
	}
}

/* Kernel sets the unprivileged children made by key. */
static void remove_keyed(void)
{
	for (int k = 20; k <= 21; k++)
		semctl(semget(test_key(k), 0, 0), 0, IPC_RMID);
}

int main(void)
{
	harness_init(60);
	run_both("semget", scen_get);
	run_both("semop", scen_op);
	run_both("semctl", scen_ctl);
	run_both("permissions as nobody", scen_perm);
	harness_on_cleanup(remove_keyed);
	run_both("IPC_SET and IPC_RMID by creator, owner, stranger", scen_creator);
	run_both("the order of errors, as nobody", scen_order);
	return harness_done();
}
