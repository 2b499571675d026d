/*
 * shim_sharing: two unrelated programs, started separately under
 * `uipc run --block-kernel-ipc` with the same namespace, share objects by
 * key: one (perl) waits in msgrcv on a queue, another (perl) holds a
 * segment attached; `uipc ls` shows the waiting receiver's pid and the
 * attaching pid while they run; a third program's msgsnd wakes the first.
 */
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static pid_t waiter = -1, holder = -1;

static void cleanup(void)
{
	if (waiter > 0)
		kill(-waiter, SIGKILL);
	if (holder > 0)
		kill(-holder, SIGKILL);
}

/* Starts `uipc run -- perl -e SCRIPT` in its own process group, output to
 * file out. */
static pid_t start(const char *b, const char *script, const char *out)
{
	pid_t p = fork();

	if (p == 0) {
		char cmd[1024];

		setpgid(0, 0);
		snprintf(cmd, sizeof(cmd), "exec %s/uipc run --block-kernel-ipc -- "
			 "perl -e '%s' > %s 2>&1", b, script, out);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return p;
}

int main(void)
{
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	char ls[8192], cmd[1024], want_rcv[32], want_att[32], got[256];
	int st, seen = 0;
	FILE *f;

	harness_init(60);
	harness_on_cleanup(cleanup);
	if (!shim_usable_system())
		return 77;
	if (system("perl -MIPC::SysV -e 1 2>/dev/null") != 0) {
		printf("SKIP: perl with IPC::SysV is not installed\n");
		return 77;
	}
	waiter = start(b, "use IPC::SysV qw(IPC_CREAT); "
		       "my $q = msgget(0x5eed01, IPC_CREAT | 0600) // die $!; "
		       "msgrcv($q, my $m, 64, 0, 0) or die $!; "
		       "print substr($m, 8), qq(\\n);", "/tmp/uipc-sharing.waiter");
	holder = start(b, "use IPC::SysV qw(IPC_CREAT shmat); "
		       "my $s = shmget(0x5eed02, 4096, IPC_CREAT | 0600) // die $!; "
		       "my $a = shmat($s, undef, 0) // die $!; sleep 60;",
		       "/tmp/uipc-sharing.holder");
	/* The shell execs uipc, which execs perl: the pids are perl's. */
	snprintf(want_rcv, sizeof(want_rcv), "rcv:%d", (int)waiter);
	snprintf(want_att, sizeof(want_att), "%d", (int)holder);
	snprintf(cmd, sizeof(cmd), "%s/uipc ls 2>&1", b);
	for (int i = 0; i < 200 && !seen; i++) {
		run_capture(ls, sizeof(ls), cmd);
		seen = strstr(ls, "0x005eed01") && strstr(ls, want_rcv) &&
		       strstr(ls, "0x005eed02") &&
		       strstr(strstr(ls, "0x005eed02"), want_att);
		if (!seen)
			usleep(50 * 1000);
	}
	CHECK(seen, "uipc ls never showed queue 0x5eed01 with %s and segment "
	      "0x5eed02 attached by %d:\n%s", want_rcv, (int)holder, ls);
	snprintf(cmd, sizeof(cmd), "%s/uipc run --block-kernel-ipc -- perl -e '"
		 "use IPC::SysV; msgsnd(msgget(0x5eed01, 0), pack(q(l! a*), 1, "
		 "q(hello from a third program)), 0) or die $!'", b);
	CHECK(system(cmd) == 0, "the sender failed");
	CHECK(waitpid(waiter, &st, 0) == waiter && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0, "the waiter did not end well");
	waiter = -1;
	f = fopen("/tmp/uipc-sharing.waiter", "r");
	got[0] = 0;
	if (f) {
		if (!fgets(got, sizeof(got), f))
			got[0] = 0;
		fclose(f);
	}
	CHECK(!strcmp(got, "hello from a third program\n"), "the waiter got '%s'",
	      got);
	kill(-holder, SIGKILL);
	waitpid(holder, NULL, 0);
	holder = -1;
	snprintf(cmd, sizeof(cmd), "%s/uipc rm -Q 0x5eed01 -M 0x5eed02 >/dev/null",
		 b);
	CHECK(system(cmd) == 0, "removing the objects failed");
	unlink("/tmp/uipc-sharing.waiter");
	unlink("/tmp/uipc-sharing.holder");
	if (!harness_failures)
		printf("ok   two programs under uipc run share a queue and a segment "
		       "by key; uipc ls shows the waiter and the attacher\n");
	return harness_done();
}
