/*
 * harness.h: differential testing of uipc against the kernel.
 *
 * A scenario is written once against struct ipc_ops and run twice: on the
 * kernel's system calls and on uipc_*.  Every call it makes is recorded in a
 * trace (return value, errno, data, *_STAT fields made comparable), and the
 * two traces must match line for line.  Kernel objects a scenario creates
 * are removed at exit, also when it fails or times out.
 *
 * Test programs exit 0 (pass), 1 (fail) or 77 (skip).
 */
#ifndef UIPC_TEST_HARNESS_H
#define UIPC_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <unistd.h>

#include "uipc.h"

struct ipc_ops {
	const char *name;	/* "kernel" or "uipc" */
	int (*msgget)(key_t, int);
	int (*msgsnd)(int, const void *, size_t, int);
	ssize_t (*msgrcv)(int, void *, size_t, long, int);
	int (*msgctl)(int, int, struct msqid_ds *);
	int (*semget)(key_t, int, int);
	int (*semtimedop)(int, struct sembuf *, size_t, const struct timespec *);
	/* semctl with its fourth argument as the word it is passed as */
	int (*semctl)(int, int, int, unsigned long);
	int (*shmget)(key_t, size_t, int);
	void *(*shmat)(int, const void *, int);
	int (*shmdt)(const void *);
	int (*shmctl)(int, int, struct shmid_ds *);
};

/* Builds a struct sembuf for tables of operations. */
#define SOP(num, op, flg) ((struct sembuf){ (unsigned short)(num), (short)(op), (short)(flg) })
extern const struct ipc_ops kernel_ops, uipc_ops;

struct trace {
	char *s;
	size_t n, cap;
};

/* Sets up cleanup and a watchdog of `seconds`; exits 77 when the kernel
 * has no SysV message queues or semaphores (then there is no oracle). */
void harness_init(int seconds);
/* Whether harness_init gave the test an IPC namespace of its own (as
 * root): its kernel objects and IPC sysctls are then no one else's. */
extern int harness_private_ipc;
/* fn runs at exit, also after a failure or the watchdog: restore what the
 * test changed in the kernel. */
void harness_on_cleanup(void (*fn)(void));
/* A key unique to this test process: the kernel's keys are global. */
key_t test_key(int n);

void tprintf(struct trace *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Records "what -> r" or "what -> -1 ENAME"; returns r. */
long tcall(struct trace *t, const char *what, long r);
/* Records "what -> r" (the value) or "what -> -1 ENAME"; returns r with
 * errno kept. */
long tval(struct trace *t, const char *what, long r);
/* Forks a child that runs fn(arg, ready_fd) under a 20 s alarm (exit 0
 * when fn returns): its pid once it has written a byte to ready_fd, -1 if
 * it could not start or ended first. */
pid_t fork_ready(void (*fn)(void *arg, int ready_fd), void *arg);
/* Appends each line of text to t, after prefix. */
void tlines(struct trace *t, const char *prefix, const char *text);
const char *errname(int e);
/* Records a msqid_ds with pids named by role and times as 0/now. */
void trace_ds(struct trace *t, const char *what, const struct msqid_ds *ds,
	      const pid_t *pids, const char *const *roles, int npids);
/* Records a shmid_ds, pids named as trace_ds names them, times as 0/now. */
void trace_shmds(struct trace *t, const char *what, const struct shmid_ds *ds,
		 const pid_t *pids, const char *const *roles, int npids);
/* Records a semid_ds, times as 0/now. */
void trace_semds(struct trace *t, const char *what, const struct semid_ds *ds);
/* Names a pid as trace_ds does ("self", "child", a role, "0"). */
const char *pid_name(pid_t p, const pid_t *pids, const char *const *roles,
		     int npids);
void trace_free(struct trace *t);
/* IPC_STAT of segment id, recorded as trace_shmds records it, with pid
 * child named "child". */
void trace_shm_stat(const struct ipc_ops *o, struct trace *t, const char *what,
		    int id, pid_t child);

/* n bytes of zeroed memory shared with the processes forked later; the
 * test ends (exit 1) if there is none. */
void *harness_shared(size_t n);

/* The uipc namespace directory the test runs in. */
const char *harness_ns_dir(void);
/* Spoils the header (its magic) of the namespace's object file
 * "<kind>.<id>" (kind "msg", "sem", "shm"): 0, or -1 with errno set. */
int harness_spoil_header(const char *kind, int id);
/* Runs this program again as "prog mode id" in a fresh process (nothing
 * mapped or cached yet, as for any other program opening uipc's files):
 * 0 if it exited 0; a signal or another status is a failure, reported
 * with what.  The program's main answers such a call itself, under an
 * alarm of its own. */
int run_self(const char *mode, int id, const char *what);

/*
 * Runs scen on the kernel and on uipc and compares the traces.  Prints the
 * first differing lines.  Returns 0 when they match.
 */
typedef void (*scenario_fn)(const struct ipc_ops *o, struct trace *t);
int run_both(const char *name, scenario_fn scen);
/* The comparison behind run_both, for tests with tables of their own (the
 * kernel's trace k, uipc's u, both freed): prints the first differing
 * line with context, then further ones; counts a failure; 0 if equal. */
int trace_compare(const char *name, struct trace *k, struct trace *u);

/* Runs fn(o, t) in a child that has dropped to uid/gid (and no
 * supplementary groups), appending the child's trace to t. */
void as_user(uid_t uid, gid_t gid, const struct ipc_ops *o, struct trace *t,
	     scenario_fn fn);
/* Runs fn(o, t) in a forked child with the caller's credentials (fn may
 * change them), appending the child's trace to t; returns the child's
 * pid, reaped. */
pid_t as_self(const struct ipc_ops *o, struct trace *t, scenario_fn fn);

/* The state letter of /proc/PID/stat ('S' asleep, 'T' stopped), or 0 if
 * there is no such process. */
char harness_proc_state(pid_t pid);
/* Waits until process pid sleeps (blocked in a call); 0 or -1 on timeout. */
int wait_blocked(pid_t pid);

/* The last child as_user() ran (or a test forked): named "child" in
 * traces. */
extern pid_t harness_child;

/* Ends the test: prints the count and returns the exit status. */
/* For the tests of unmodified programs under `uipc run`: */
/* 0 (with a SKIP line) where the shim cannot be preloaded (sanitizers). */
int shim_usable(void);
/* The same for a test that preloads the shim into the system's programs
 * (perl, ipcs, bash...): they must use the C library it was built with. */
int shim_usable_system(void);
/* popen(cmd) with its output in out; returns the exit status. */
int run_capture(char *out, size_t n, const char *cmd);
/* Notes the kernel's objects now: any made later, by this process or by
 * programs it runs, are removed by harness_kernel_leftovers() (which
 * returns how many there were) and at exit, also a failed or timed-out
 * one. */
void harness_watch_kernel(void);
int harness_kernel_leftovers(void);
/* Runs shell command cmd on the kernel, then under `uipc run
 * --block-kernel-ipc`, and checks that both print the same and exit 0,
 * and that neither leaves kernel objects (any left are removed). */
int compare_program(const char *name, const char *cmd);
/* The path of helper program `name` (built from tests/helpers/) into buf;
 * -1, with a SKIP line printed, if it is not built. */
int helper_path(char *buf, size_t n, const char *name);
/* The same, under `uipc run OPTS`. */
int compare_program_run(const char *name, const char *cmd, const char *opts);

/* Fails the test if any sleeper of its namespace lost a wake-up (its
 * sleep ended by the safety period although woken) ... */
int harness_done(void);
/* ... unless the test kills wakers in the middle of their calls (a waker
 * killed between its unlock and its wake loses that wake by design). */
void harness_allow_lost_wakes(void);
extern int harness_failures;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, "\n");                              \
			harness_failures++;                                 \
		}                                                           \
	} while (0)

#endif
