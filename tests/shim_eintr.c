/*
 * shim_eintr: an unmodified program (tests/helpers/eintr_prog.c, built
 * without uipc) whose blocked msgrcv and semop another thread interrupts
 * at random moments, with handlers installed by sigaction, signal, sigset
 * and bsd_signal, and whose child blocked in semop is stopped and
 * continued, prints the same on the kernel and under `uipc run
 * --block-kernel-ipc`: EINTR every time.
 *
 * The program lists the ids it made in a file; those are removed (not a
 * sweep of the kernel's table, which would take other programs' objects).
 */
#include "harness.h"

#include <time.h>

static char idfile[256];

static void remove_listed(void)
{
	char kind[8];
	FILE *f = fopen(idfile, "r");
	int id;

	if (!f)
		return;
	while (fscanf(f, "%7s %d", kind, &id) == 2 && id >= 0) {
		if (!strcmp(kind, "msg"))
			msgctl(id, IPC_RMID, NULL);
		else if (!strcmp(kind, "sem"))
			semctl(id, 0, IPC_RMID);
	}
	fclose(f);
	unlink(idfile);
}

int main(void)
{
	static char kout[8192], uout[8192];
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	const char *s = getenv("UIPC_SEED");
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 0) : (unsigned)time(NULL);
	char prog[512], cmd[2048];
	int krc, urc;

	harness_init(120);
	if (!shim_usable())
		return 77;
	snprintf(prog, sizeof(prog), "%s/helpers/eintr_prog", b);
	if (access(prog, X_OK) != 0) {
		printf("SKIP: %s not built\n", prog);
		return 77;
	}
	printf("seed %u (UIPC_SEED=%u reruns it)\n", seed, seed);
	snprintf(idfile, sizeof(idfile), "/tmp/shim_eintr.%d.ids", (int)getpid());
	harness_on_cleanup(remove_listed);

	snprintf(cmd, sizeof(cmd), "%s %s 1000 %u 2>&1", prog, idfile, seed);
	krc = run_capture(kout, sizeof(kout), cmd);
	remove_listed();
	snprintf(cmd, sizeof(cmd),
		 "%s/uipc run --block-kernel-ipc -- %s %s 1000 %u 2>&1", b, prog,
		 idfile, seed);
	urc = run_capture(uout, sizeof(uout), cmd);
	unlink(idfile);

	CHECK(krc == 0, "eintr_prog on the kernel exited %d:\n%s", krc, kout);
	CHECK(strstr(kout, "msgrcv: EINTR every time") &&
	      strstr(kout, "semop: EINTR every time") &&
	      strstr(kout, "semop after stop and continue: EINTR"),
	      "the kernel did not give EINTR every time:\n%s", kout);
	CHECK(urc == krc && !strcmp(kout, uout),
	      "eintr_prog: kernel (exit %d) and uipc (exit %d) differ\n"
	      "--- kernel\n%s--- uipc\n%s", krc, urc, kout, uout);
	if (harness_failures == 0)
		printf("ok   an unmodified program's interrupted msgrcv and semop, "
		       "and semop after stop and continue: as on the kernel\n");
	return harness_done();
}
