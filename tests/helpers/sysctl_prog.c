/*
 * sysctl_prog: an ordinary program, built without uipc, that reads and
 * writes the System V IPC settings in /proc/sys/kernel as programs do
 * (open, openat, open64, creat, fopen and stdio, O_RDWR, pread and
 * pwrite), for tests/shim_sysctl, which runs it as root in a private IPC
 * namespace of the kernel and under `uipc run` and wants the same lines
 * from both.  One line a step: the call, what it returned (and errno), the
 * file offset after it, and what a fresh open then reads.
 *
 *  - each of the 11 files read whole, in pieces, and at an offset;
 *  - each written with a table of inputs (the kernel's parsing: bases,
 *    signs, blanks, several numbers, overflow, the ranges), one fresh
 *    descriptor each, with a second write on the same descriptor (at a
 *    non-zero offset once the first has gone through);
 *  - stdio (fopen "w", "a", "r+", "w+", fprintf, fflush, fclose), O_RDWR,
 *    the other ways of naming and opening a file;
 *  - what each setting does to the next msgget, msgsnd, semget, semop and
 *    shmget, and which id the next object gets after *_next_id is set;
 *  - as nobody: every file readable, none writable, also through a
 *    descriptor root opened.
 *
 * Every setting is written back to what it was and every object made is
 * removed, also when a step fails (at exit, and on SIGALRM); a *_next_id
 * file takes nothing below 0, so it goes back to -1 by making (and
 * removing) the object that takes the id.  Exits 0 when it ran to the
 * end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errname.h"


#define NOBODY 65534
#define NFILES 11
#define DIR "/proc/sys/kernel/"

enum { MSGMAX, MSGMNB, MSGMNI, SEM, SHMMAX, SHMALL, SHMMNI, SHMRMID,
       MSGNEXT, SEMNEXT, SHMNEXT };

static const char *const names[NFILES] = {
	"msgmax", "msgmnb", "msgmni", "sem", "shmmax", "shmall", "shmmni",
	"shm_rmid_forced", "msg_next_id", "sem_next_id", "shm_next_id",
};

/* What each file read at the start: written back after every step. */
static char orig[NFILES][128];

/* Objects made, removed at exit. */
static int objs[3][64], nobjs[3];
static pid_t owner;

struct input {
	const char *s;
	size_t len;
};
#define IN(lit) { lit, sizeof(lit) - 1 }

static const char *path(int i)
{
	static char p[4][64];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), DIR "%s", names[i]);
	return p[k];
}

/* s[0..len) as a C string literal, in one of a few static buffers. */
static const char *esc(const char *s, size_t len)
{
	static char b[4][512];
	static int k;
	char *o;

	k = (k + 1) % 4;
	o = b[k];
	*o++ = '"';
	for (size_t i = 0; i < len && o < b[k] + sizeof(b[k]) - 8; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			o += sprintf(o, "\\n");
		else if (c == '\t')
			o += sprintf(o, "\\t");
		else if (c == '"' || c == '\\')
			o += sprintf(o, "\\%c", c);
		else if (c < 32 || c > 126)
			o += sprintf(o, "\\%03o", c);
		else
			*o++ = (char)c;
	}
	*o++ = '"';
	*o = 0;
	return b[k];
}

/* "r" or "-1 ENAME" for a call's result r (errno as the call left it). */
static const char *res(long r)
{
	static char b[4][64];
	static int k;

	k = (k + 1) % 4;
	if (r < 0)
		snprintf(b[k], sizeof(b[k]), "-1 %s", strerrorname_np(errno));
	else
		snprintf(b[k], sizeof(b[k]), "%ld", r);
	return b[k];
}

/* Reads file i whole into buf (NUL-terminated) through a fresh
 * descriptor: its length, or -1 with errno. */
static ssize_t slurp(int i, char *buf, size_t n)
{
	ssize_t got = 0, r;
	int fd = open(path(i), O_RDONLY);

	if (fd < 0)
		return -1;
	while ((size_t)got + 1 < n && (r = read(fd, buf + got, n - 1 - (size_t)got)) > 0)
		got += r;
	buf[got] = 0;
	close(fd);
	return got;
}

/* What file i reads now, as a literal (or the error). */
static const char *now(int i)
{
	static char b[4][160];
	static int k;
	char buf[128];
	ssize_t n;

	k = (k + 1) % 4;
	n = slurp(i, buf, sizeof(buf));
	snprintf(b[k], sizeof(b[k]), "%s", n < 0 ? res(-1) : esc(buf, (size_t)n));
	return b[k];
}

static long pos(int fd)
{
	return (long)lseek(fd, 0, SEEK_CUR);
}

/* Makes an object of the kind whose *_next_id file i is and removes it:
 * the only way back to -1 once the file is set, since the file takes
 * nothing below 0. */
static void take_next_id(int i)
{
	int id = i == MSGNEXT ? msgget(IPC_PRIVATE, 0600) :
		 i == SEMNEXT ? semget(IPC_PRIVATE, 1, 0600) :
				shmget(IPC_PRIVATE, 1, 0600);

	if (id < 0)
		return;
	if (i == MSGNEXT)
		msgctl(id, IPC_RMID, NULL);
	else if (i == SEMNEXT)
		semctl(id, 0, IPC_RMID);
	else
		shmctl(id, IPC_RMID, NULL);
}

/* Writes orig[i] back (for a *_next_id of -1, takes the id asked for);
 * says so if that did not work. */
static void restore(int i)
{
	char buf[128];
	ssize_t r = 0;
	int fd;

	if (slurp(i, buf, sizeof(buf)) >= 0 && !strcmp(buf, orig[i]))
		return;
	if ((i == MSGNEXT || i == SEMNEXT || i == SHMNEXT) &&
	    !strcmp(orig[i], "-1\n")) {
		take_next_id(i);
	} else {
		fd = open(path(i), O_WRONLY);
		r = fd < 0 ? -1 : write(fd, orig[i], strlen(orig[i]));
		if (fd >= 0)
			close(fd);
	}
	if (r < 0 || slurp(i, buf, sizeof(buf)) < 0 || strcmp(buf, orig[i]))
		printf("%s: could not write back %s (%s)\n", names[i],
		       esc(orig[i], strlen(orig[i])), r < 0 ? res(-1) : now(i));
}

static void restore_all(void)
{
	for (int i = 0; i < NFILES; i++)
		if (orig[i][0])
			restore(i);
}

static void track(int kind, int id)
{
	if (id >= 0 && nobjs[kind] < 64)
		objs[kind][nobjs[kind]++] = id;
}

static void untrack(int kind, int id)
{
	for (int j = 0; j < nobjs[kind]; j++)
		if (objs[kind][j] == id)
			objs[kind][j] = objs[kind][--nobjs[kind]];
}

static void rm(int kind, int id)
{
	if (id < 0)
		return;
	if (kind == 0)
		msgctl(id, IPC_RMID, NULL);
	else if (kind == 1)
		semctl(id, 0, IPC_RMID);
	else
		shmctl(id, IPC_RMID, NULL);
	untrack(kind, id);
}

static void cleanup(void)
{
	if (getpid() != owner)
		return;
	for (int k = 0; k < 3; k++)
		while (nobjs[k])
			rm(k, objs[k][0]);
	restore_all();
}

static void on_alarm(int sig)
{
	(void)sig;
	printf("timed out\n");
	exit(1);	/* through cleanup() */
}

/* ---- reading ------------------------------------------------------------ */

static void reads(void)
{
	char buf[128];
	ssize_t r;
	int fd;

	for (int i = 0; i < NFILES; i++)
		printf("%s reads %s\n", names[i], now(i));
	/* A number's file in pieces: the second read is at a non-zero
	 * offset. */
	for (int i = MSGMNI; i <= SHMMAX; i++) {
		fd = open(path(i), O_RDONLY);
		r = read(fd, buf, 2);
		printf("%s read 2 -> %s %s pos %ld", names[i], res(r),
		       esc(buf, r > 0 ? (size_t)r : 0), pos(fd));
		r = read(fd, buf, sizeof(buf));
		printf(", read again -> %s %s pos %ld", res(r),
		       esc(buf, r > 0 ? (size_t)r : 0), pos(fd));
		r = pread(fd, buf, sizeof(buf), 0);
		printf(", pread at 0 -> %s %s", res(r), esc(buf, r > 0 ? (size_t)r : 0));
		r = pread(fd, buf, sizeof(buf), 1);
		printf(", pread at 1 -> %s\n", res(r));
		r = write(fd, "7\n", 2);
		printf("%s write on O_RDONLY -> %s | reads %s\n", names[i], res(r), now(i));
		close(fd);
	}
}

/* ---- write(2), input by input ------------------------------------------ */

static const struct input common[] = {
	IN("32\n"), IN("32"), IN(" 32\n"), IN("\t32\n"), IN("32\n\n"),
	IN("32   \n"), IN("+32\n"), IN("0x20\n"), IN("0X20\n"), IN("010\n"),
	IN("08\n"), IN("0\n"), IN("-0\n"), IN("-1\n"), IN("-32\n"), IN("abc\n"),
	IN(""), IN("\n"), IN(" "), IN("32 33\n"), IN("32\t33\n"), IN("32,33\n"),
	IN("32abc\n"), IN("32\0junk"), IN("3 2\n"), IN("99999999999\n"),
	IN("2147483647\n"), IN("2147483648\n"), IN("-2147483648\n"),
	IN("-2147483649\n"), IN("4294967296\n"),
	IN("000000000000000000032\n"), IN("0000000000000000000032\n"),
};

static const struct input ids_edges[] = {	/* msgmni, shmmni */
	IN("32767\n"), IN("32768\n"), IN("32769\n"), IN("1\n"),
};
static const struct input bool_edges[] = {	/* shm_rmid_forced */
	IN("1\n"), IN("2\n"), IN("1 0\n"),
};
static const struct input int_edges[] = {	/* msgmax, msgmnb */
	IN("1\n"), IN("65536\n"),
};
static const struct input next_edges[] = {	/* *_next_id */
	IN("-2\n"), IN("163847\n"), IN("7\n"),
};
static const struct input sem_edges[] = {
	IN("250 32000 32 128\n"), IN("250 32000 32 128"), IN("250\t32000\t32\t128\n"),
	IN("  250 32000 32 128  \n"), IN("250 32000 32\n"), IN("250 32000\n"),
	IN("250 32000 32 128 5\n"), IN("250 32000 32 32768\n"),
	IN("250 32000 32 32769\n"), IN("250 32000 32 -1\n"),
	IN("-1 32000 32 128\n"), IN("0 0 0 0\n"), IN("1 2 abc\n"),
	IN("1 2 3 99999999999\n"), IN("250,32000,32,128\n"),
	IN("65536 32000 32 128\n"), IN("65537 32000 65536 128\n"),
	IN("0x10 010 1 1\n"),
};
static const struct input ulong_edges[] = {	/* shmmax, shmall */
	IN("18446744073709551615\n"), IN("18446744073709551616\n"),
	IN("0xffffffffffffffff\n"), IN("-18446744073709551615\n"),
	IN("-1 5\n"), IN("5 -1\n"), IN("4096\n"), IN("4096 8192\n"),
	IN("9223372036854775808\n"),
};

/* One input into file i on a fresh descriptor, a second write of "7\n" on
 * the same descriptor, each followed by what the file reads. */
static void write_one(int i, const struct input *in)
{
	int fd = open(path(i), O_WRONLY);
	ssize_t r;

	if (fd < 0) {
		printf("%s open O_WRONLY -> %s\n", names[i], res(-1));
		return;
	}
	r = write(fd, in->s, in->len);
	printf("%s write %s -> %s pos %ld | reads %s", names[i],
	       esc(in->s, in->len), res(r), pos(fd), now(i));
	r = write(fd, "7\n", 2);
	printf(" | then \"7\\n\" -> %s pos %ld | reads %s\n", res(r), pos(fd), now(i));
	close(fd);
	restore(i);
}

static void write_table(int i, const struct input *t, size_t n)
{
	for (size_t j = 0; j < n; j++)
		write_one(i, &t[j]);
}

#define TABLE(i, t) write_table(i, t, sizeof(t) / sizeof(t[0]))

static void writes(void)
{
	for (int i = 0; i < NFILES; i++) {
		TABLE(i, common);
		switch (i) {
		case MSGMNI:
		case SHMMNI:
			TABLE(i, ids_edges);
			break;
		case SHMRMID:
			TABLE(i, bool_edges);
			break;
		case MSGMAX:
		case MSGMNB:
			TABLE(i, int_edges);
			break;
		case SEM:
			TABLE(i, sem_edges);
			break;
		case SHMMAX:
		case SHMALL:
			TABLE(i, ulong_edges);
			break;
		default:
			TABLE(i, next_edges);
		}
	}
}

/* ---- stdio, O_RDWR, and the other ways of opening ------------------------ */

static void stdio_one(int i, const char *mode, const char *in, int flush)
{
	FILE *f = fopen(path(i), mode);
	int r;

	if (!f) {
		printf("%s fopen \"%s\" -> NULL %s\n", names[i], mode,
		       strerrorname_np(errno));
		return;
	}
	r = fprintf(f, "%s", in);
	printf("%s fopen \"%s\" fprintf %s -> %d", names[i], mode,
	       esc(in, strlen(in)), r);
	if (flush) {
		errno = 0;
		r = fflush(f);
		printf(", fflush -> %s", res(r));
		printf(" | reads %s", now(i));
		r = fprintf(f, "%s", in);
		errno = 0;
		r = r < 0 ? r : fflush(f);
		printf(", again -> %s", res(r));
	}
	errno = 0;
	r = fclose(f);
	printf(", fclose -> %s | reads %s\n", res(r), now(i));
	restore(i);
}

static void stdio(void)
{
	static const char *const modes[] = { "w", "a", "r+", "w+", "we" };

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		stdio_one(MSGMNI, modes[m], "33\n", 0);
		stdio_one(MSGMNI, modes[m], "abc\n", 0);
	}
	stdio_one(MSGMNI, "w", "33\n", 1);
	stdio_one(MSGMNI, "w", "abc\n", 1);
	stdio_one(MSGMNI, "w", "33 34\n", 0);
	stdio_one(MSGMNI, "w", "", 0);
	stdio_one(SEM, "w", "250 32000 32 128\n", 0);
	stdio_one(SEM, "w", "250 32000 32 32769\n", 0);
	stdio_one(SEM, "w", "1 2 abc\n", 0);
	stdio_one(SHMMAX, "w", "-1\n", 0);
	stdio_one(SHMMAX, "w", "18446744073709551616\n", 0);
	stdio_one(SHMRMID, "w", "2\n", 0);
	stdio_one(MSGNEXT, "w", "-2\n", 0);
	stdio_one(MSGNEXT, "w", "12\n", 0);
	{
		FILE *f = fopen64(path(MSGMNI), "w");

		printf("msgmni fopen64 \"w\" -> %s", f ? "ok" : strerrorname_np(errno));
		if (f) {
			fputs("35\n", f);
			printf(", fclose -> %s", res(fclose(f)));
		}
		printf(" | reads %s\n", now(MSGMNI));
		restore(MSGMNI);
	}
}

static void rdwr(void)
{
	char buf[128];
	ssize_t r;
	int fd = open(path(MSGMNI), O_RDWR);

	if (fd < 0) {
		printf("msgmni open O_RDWR -> %s\n", res(-1));
		return;
	}
	r = write(fd, "33\n", 3);
	printf("msgmni O_RDWR write \"33\\n\" -> %s pos %ld", res(r), pos(fd));
	r = read(fd, buf, sizeof(buf));
	printf(", read -> %s pos %ld", res(r), pos(fd));
	printf(", lseek 0 -> %ld", (long)lseek(fd, 0, SEEK_SET));
	r = read(fd, buf, sizeof(buf));
	printf(", read -> %s %s pos %ld\n", res(r), esc(buf, r > 0 ? (size_t)r : 0), pos(fd));
	r = pwrite(fd, "34\n", 3, 0);
	printf("msgmni O_RDWR pwrite at 0 -> %s pos %ld", res(r), pos(fd));
	r = pread(fd, buf, sizeof(buf), 0);
	printf(", pread at 0 -> %s %s", res(r), esc(buf, r > 0 ? (size_t)r : 0));
	r = write(fd, "35\n", 3);
	printf(", write at pos 3 -> %s pos %ld | reads %s\n", res(r), pos(fd), now(MSGMNI));
	r = pwrite(fd, "abc\n", 4, 0);
	printf("msgmni O_RDWR pwrite \"abc\\n\" at 0 -> %s", res(r));
	printf(", lseek 0 -> %ld", (long)lseek(fd, 0, SEEK_SET));
	r = write(fd, "36\n", 3);
	printf(", write -> %s pos %ld", res(r), pos(fd));
	printf(", lseek 0 -> %ld", (long)lseek(fd, 0, SEEK_SET));
	r = write(fd, "37\n", 3);
	printf(", write again at 0 -> %s | reads %s\n", res(r), now(MSGMNI));
	printf("msgmni O_RDWR lseek 100 -> %ld", (long)lseek(fd, 100, SEEK_SET));
	r = write(fd, "38\n", 3);
	printf(", write -> %s | reads %s\n", res(r), now(MSGMNI));
	close(fd);
	restore(MSGMNI);
}

/* Writes "33\n" through fd (opened by how) and shows what msgmni reads. */
static void opened(const char *how, int fd)
{
	ssize_t r;

	if (fd < 0) {
		printf("msgmni %s -> %s\n", how, res(-1));
		return;
	}
	r = write(fd, "33\n", 3);
	printf("msgmni %s, write \"33\\n\" -> %s | reads %s\n", how, res(r), now(MSGMNI));
	close(fd);
	restore(MSGMNI);
}

static void opens(void)
{
	int dfd, cwd;

	opened("openat(AT_FDCWD, path)", openat(AT_FDCWD, path(MSGMNI), O_WRONLY));
	dfd = open(DIR, O_RDONLY | O_DIRECTORY);
	opened("openat(/proc/sys/kernel, \"msgmni\")", openat(dfd, "msgmni", O_WRONLY));
	close(dfd);
	dfd = open("/proc/sys", O_PATH | O_DIRECTORY);
	opened("openat(O_PATH /proc/sys, \"kernel/msgmni\")",
	       openat(dfd, "kernel/msgmni", O_WRONLY));
	close(dfd);
	opened("open(\"/proc/sys/kernel//msgmni\")",
	       open("/proc/sys/kernel//msgmni", O_WRONLY));
	opened("open(\"/proc/sys/kernel/../kernel/msgmni\")",
	       open("/proc/sys/kernel/../kernel/msgmni", O_WRONLY));
	opened("open(\"/proc/sys/kernel/./msgmni\")",
	       open("/proc/sys/kernel/./msgmni", O_WRONLY));
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	if (chdir(DIR) == 0) {
		opened("chdir /proc/sys/kernel, open(\"msgmni\")", open("msgmni", O_WRONLY));
		opened("chdir /proc/sys/kernel, open(\"./msgmni\")", open("./msgmni", O_WRONLY));
		if (fchdir(cwd) < 0)
			printf("fchdir back -> %s\n", res(-1));
	}
	close(cwd);
	opened("open O_WRONLY|O_CREAT|O_TRUNC", open(path(MSGMNI), O_WRONLY | O_CREAT | O_TRUNC, 0644));
	opened("open O_WRONLY|O_APPEND", open(path(MSGMNI), O_WRONLY | O_APPEND));
	opened("open O_WRONLY|O_CLOEXEC", open(path(MSGMNI), O_WRONLY | O_CLOEXEC));
	opened("open O_WRONLY|O_CREAT|O_EXCL", open(path(MSGMNI), O_WRONLY | O_CREAT | O_EXCL, 0644));
	opened("open O_WRONLY|O_DIRECTORY", open(path(MSGMNI), O_WRONLY | O_DIRECTORY));
	opened("open64 O_WRONLY", open64(path(MSGMNI), O_WRONLY));
	opened("creat", creat(path(MSGMNI), 0644));
	dfd = open(path(MSGMNI), O_WRONLY);
	opened("dup of O_WRONLY", dup(dfd));
	if (dfd >= 0)
		close(dfd);
	opened("open O_WRONLY /proc/sys/kernel/msgmni_nosuch",
	       open("/proc/sys/kernel/msgmni_nosuch", O_WRONLY | O_CREAT, 0644));
	printf("msgmni access W_OK -> %s, R_OK -> %s\n",
	       res(access(path(MSGMNI), W_OK)), res(access(path(MSGMNI), R_OK)));
}

/* ---- what the settings do ----------------------------------------------- */

/* Writes s into file i on a fresh descriptor, says so if it failed. */
static void set(int i, const char *s)
{
	int fd = open(path(i), O_WRONLY);
	ssize_t r = fd < 0 ? -1 : write(fd, s, strlen(s));

	if (r != (ssize_t)strlen(s))
		printf("set %s %s -> %s\n", names[i], esc(s, strlen(s)), res(r));
	if (fd >= 0)
		close(fd);
}

static int mkq(const char *what, key_t key, int flg)
{
	int id = msgget(key, flg | 0600);

	printf("%s: msgget -> %s\n", what, id < 0 ? res(-1) : "ok");
	track(0, id);
	return id;
}

static int mkset(const char *what, int nsems)
{
	int id = semget(IPC_PRIVATE, nsems, 0600);

	printf("%s: semget(%d) -> %s\n", what, nsems, id < 0 ? res(-1) : "ok");
	track(1, id);
	return id;
}

static int mkseg(const char *what, size_t size)
{
	int id = shmget(IPC_PRIVATE, size, 0600);

	printf("%s: shmget(%zu) -> %s\n", what, size, id < 0 ? res(-1) : "ok");
	track(2, id);
	return id;
}

static void rm_all(void)
{
	for (int k = 0; k < 3; k++)
		while (nobjs[k])
			rm(k, objs[k][0]);
}

static void effects(void)
{
	struct { long type; char text[200]; } m = { 1, "" };
	struct sembuf ops[3] = { { 0, 1, 0 }, { 0, 1, 0 }, { 0, 1, 0 } };
	struct msqid_ds md;
	int q;

	set(MSGMNI, "2\n");
	mkq("msgmni 2", IPC_PRIVATE, 0);
	mkq("msgmni 2", IPC_PRIVATE, 0);
	mkq("msgmni 2", IPC_PRIVATE, 0);
	rm_all();
	set(MSGMNI, "0\n");
	mkq("msgmni 0", IPC_PRIVATE, 0);
	restore(MSGMNI);
	rm_all();

	set(MSGMAX, "100\n");
	q = mkq("msgmax 100", IPC_PRIVATE, 0);
	printf("msgmax 100: msgsnd 101 -> %s\n", res(msgsnd(q, &m, 101, IPC_NOWAIT)));
	printf("msgmax 100: msgsnd 100 -> %s\n", res(msgsnd(q, &m, 100, IPC_NOWAIT)));
	restore(MSGMAX);
	rm_all();

	set(MSGMNB, "1000\n");
	q = mkq("msgmnb 1000", IPC_PRIVATE, 0);
	if (msgctl(q, IPC_STAT, &md) == 0)
		printf("msgmnb 1000: msg_qbytes %lu\n", (unsigned long)md.msg_qbytes);
	restore(MSGMNB);
	printf("msgmnb back: msg_qbytes of the queue made before %lu\n",
	       msgctl(q, IPC_STAT, &md) == 0 ? (unsigned long)md.msg_qbytes : 0ul);
	rm_all();

	set(SHMMAX, "8192\n");
	mkseg("shmmax 8192", 8193);
	mkseg("shmmax 8192", 8192);
	restore(SHMMAX);
	rm_all();

	set(SHMALL, "2\n");
	mkseg("shmall 2", 3 * 4096);
	mkseg("shmall 2", 2 * 4096);
	mkseg("shmall 2", 1);
	restore(SHMALL);
	rm_all();

	set(SHMMNI, "1\n");
	mkseg("shmmni 1", 4096);
	mkseg("shmmni 1", 4096);
	restore(SHMMNI);
	rm_all();

	set(SEM, "250 32000 32 1\n");
	mkset("semmni 1", 1);
	mkset("semmni 1", 1);
	restore(SEM);
	rm_all();
	set(SEM, "3 32000 32 128\n");
	mkset("semmsl 3", 4);
	mkset("semmsl 3", 3);
	restore(SEM);
	rm_all();
	set(SEM, "250 5 32 128\n");
	mkset("semmns 5", 4);
	mkset("semmns 5", 2);
	mkset("semmns 5", 1);
	restore(SEM);
	rm_all();
	set(SEM, "250 32000 2 128\n");
	q = mkset("semopm 2", 1);
	printf("semopm 2: semop of 3 -> %s\n", res(semop(q, ops, 3)));
	printf("semopm 2: semop of 2 -> %s\n", res(semop(q, ops, 2)));
	restore(SEM);
	rm_all();
}

/* The id the next object gets after *_next_id is set, whether its index
 * is free or taken, and what the file reads after. */
static void next_ids(void)
{
	key_t key = (key_t)(0x5d000000 | (getpid() & 0xffff));
	int a, b, c, d;

	set(MSGNEXT, "163847\n");
	printf("msg_next_id set: reads %s\n", now(MSGNEXT));
	a = msgget(IPC_PRIVATE, 0600);
	track(0, a);
	printf("msgget -> %s | msg_next_id reads %s\n", res(a), now(MSGNEXT));
	set(MSGNEXT, "163847\n");	/* index 7 is a's now */
	b = msgget(IPC_PRIVATE, 0600);
	track(0, b);
	printf("msgget, index taken -> %s | msg_next_id reads %s\n", res(b), now(MSGNEXT));
	set(MSGNEXT, "7\n");		/* taken, sequence 0 */
	c = msgget(IPC_PRIVATE, 0600);
	track(0, c);
	printf("msgget, index 7 taken, sequence 0 -> %s | reads %s\n", res(c), now(MSGNEXT));
	d = msgget(IPC_PRIVATE, 0600);
	track(0, d);
	printf("msgget, next_id unset -> %s\n", res(d));
	rm(0, d);

	/* A failed msgget that never reached the allocation keeps it. */
	d = msgget(key, IPC_CREAT | 0600);
	track(0, d);
	set(MSGNEXT, "98311\n");	/* 3 * 32768 + 7: taken by a */
	printf("msgget existing key, IPC_CREAT|IPC_EXCL -> %s | msg_next_id reads %s\n",
	       res(msgget(key, IPC_CREAT | IPC_EXCL | 0600)), now(MSGNEXT));
	printf("msgget existing key -> %s | msg_next_id reads %s\n",
	       msgget(key, 0) == d ? "the same id" : res(-1), now(MSGNEXT));
	set(MSGMNI, "0\n");
	printf("msgget with msgmni 0 -> %s | msg_next_id reads %s\n",
	       res(msgget(IPC_PRIVATE, 0600)), now(MSGNEXT));
	restore(MSGMNI);
	a = msgget(IPC_PRIVATE, 0600);
	track(0, a);
	printf("msgget -> %s | msg_next_id reads %s\n", res(a), now(MSGNEXT));
	set(MSGNEXT, "0\n");
	printf("msg_next_id 0: msgget -> %s\n", res(b = msgget(IPC_PRIVATE, 0600)));
	track(0, b);
	set(MSGNEXT, "2147483647\n");
	a = msgget(IPC_PRIVATE, 0600);
	track(0, a);
	printf("msg_next_id 2147483647: msgget -> %s | reads %s\n", res(a), now(MSGNEXT));
	set(MSGMNI, "10\n");
	set(MSGNEXT, "20\n");
	a = msgget(IPC_PRIVATE, 0600);
	track(0, a);
	printf("msgmni 10, msg_next_id 20: msgget -> %s\n", res(a));
	restore(MSGMNI);
	set(MSGNEXT, "12\n");
	set(MSGNEXT, "-1\n");
	a = msgget(IPC_PRIVATE, 0600);
	track(0, a);
	printf("msg_next_id 12 then -1: msgget -> %s\n", res(a));
	rm_all();

	set(SEMNEXT, "163847\n");
	a = semget(IPC_PRIVATE, 1, 0600);
	track(1, a);
	printf("semget -> %s | sem_next_id reads %s\n", res(a), now(SEMNEXT));
	set(SEMNEXT, "163847\n");
	b = semget(IPC_PRIVATE, 1, 0600);
	track(1, b);
	printf("semget, index taken -> %s | sem_next_id reads %s\n", res(b), now(SEMNEXT));
	set(SEMNEXT, "5\n");
	printf("semget(0 sems) -> %s | sem_next_id reads %s\n",
	       res(semget(IPC_PRIVATE, 0, 0600)), now(SEMNEXT));
	restore(SEMNEXT);
	rm_all();

	set(SHMNEXT, "163847\n");
	a = shmget(IPC_PRIVATE, 4096, 0600);
	track(2, a);
	printf("shmget -> %s | shm_next_id reads %s\n", res(a), now(SHMNEXT));
	set(SHMNEXT, "163847\n");
	set(SHMMAX, "8192\n");
	printf("shmget(8193) over shmmax -> %s | shm_next_id reads %s\n",
	       res(shmget(IPC_PRIVATE, 8193, 0600)), now(SHMNEXT));
	restore(SHMMAX);
	b = shmget(IPC_PRIVATE, 4096, 0600);
	track(2, b);
	printf("shmget, index taken -> %s | shm_next_id reads %s\n", res(b), now(SHMNEXT));
	rm_all();
	/* Each kind has its own. */
	set(MSGNEXT, "40\n");
	a = semget(IPC_PRIVATE, 1, 0600);
	track(1, a);
	printf("msg_next_id 40: semget -> %s | msg_next_id reads %s\n",
	       a == 40 ? "40" : "not 40", now(MSGNEXT));
	restore(MSGNEXT);
	rm_all();
}

/* ---- as nobody ----------------------------------------------------------- */

static void nobody(void)
{
	int held = open(path(MSGMNI), O_WRONLY);
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0) {
			printf("nobody: could not drop privileges: %s\n",
			       strerrorname_np(errno));
			_exit(1);
		}
		for (int i = 0; i < NFILES; i++) {
			int fd = open(path(i), O_WRONLY);
			FILE *f;

			printf("nobody %s: reads %s, open O_WRONLY -> %s", names[i],
			       now(i), res(fd));
			if (fd >= 0)
				close(fd);
			fd = open(path(i), O_RDWR);
			printf(", O_RDWR -> %s", res(fd));
			if (fd >= 0)
				close(fd);
			fd = open(path(i), O_WRONLY | O_CREAT | O_TRUNC, 0644);
			printf(", O_CREAT|O_TRUNC -> %s", res(fd));
			if (fd >= 0)
				close(fd);
			f = fopen(path(i), "w");
			printf(", fopen \"w\" -> %s", f ? "ok" : strerrorname_np(errno));
			if (f)
				fclose(f);
			printf(", access W_OK -> %s\n", res(access(path(i), W_OK)));
		}
		if (held >= 0) {
			ssize_t r = write(held, "33\n", 3);

			printf("nobody: write \"33\\n\" through root's descriptor -> %s | "
			       "reads %s\n", res(r), now(MSGMNI));
		}
		fflush(stdout);
		_exit(0);
	}
	if (held >= 0)
		close(held);
	waitpid(pid, &st, 0);
	printf("nobody: child exited %d | msgmni reads %s\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), now(MSGMNI));
	restore(MSGMNI);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	owner = getpid();
	for (int i = 0; i < NFILES; i++)
		if (slurp(i, orig[i], sizeof(orig[i])) <= 0) {
			printf("%s: cannot read %s: %s\n", names[i], path(i),
			       strerrorname_np(errno));
			orig[i][0] = 0;
		}
	atexit(cleanup);
	signal(SIGALRM, on_alarm);
	alarm(60);
	reads();
	writes();
	stdio();
	rdwr();
	opens();
	effects();
	next_ids();
	if (geteuid() == 0)
		nobody();
	cleanup();
	for (int i = 0; i < NFILES; i++)
		if (strcmp(now(i) + 1, esc(orig[i], strlen(orig[i])) + 1))
			printf("%s not written back: reads %s\n", names[i], now(i));
	printf("done\n");
	return 0;
}
