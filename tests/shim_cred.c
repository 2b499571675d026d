/*
 * shim_cred: an unmodified program (tests/helpers/cred_prog.c, built
 * without uipc) that uses System V IPC and calls setresuid, setuid,
 * seteuid, setgroups, initgroups and capset prints the same lines on the
 * kernel and under `uipc run --block-kernel-ipc`: the shim's stand-ins for
 * the credential calls make its checks follow them.
 *
 * Unlike compare_program(), it does not sweep the kernel's table for
 * objects made meanwhile (that would take other programs' too): the
 * program writes the ids it made to a file, and those are removed.
 */
#include "harness.h"

static char idfile[256];

/* Removes the kernel objects the program's kernel run listed. */
static void remove_listed(void)
{
	FILE *f = fopen(idfile, "r");
	int q = -1, s = -1, m = -1, q2 = -1;

	if (!f)
		return;
	if (fscanf(f, "%d %d %d %d", &q, &s, &m, &q2) == 4) {
		if (q >= 0)
			msgctl(q, IPC_RMID, NULL);
		if (s >= 0)
			semctl(s, 0, IPC_RMID);
		if (m >= 0)
			shmctl(m, IPC_RMID, NULL);
		if (q2 >= 0)
			msgctl(q2, IPC_RMID, NULL);
	}
	fclose(f);
	unlink(idfile);
}

int main(void)
{
	static char kout[65536], uout[65536];
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	char prog[512], cmd[2048];
	int krc, urc;

	harness_init(60);
	if (!shim_usable())
		return 77;
	if (geteuid() != 0) {
		printf("SKIP: must run as root (the program drops privileges)\n");
		return 77;
	}
	snprintf(prog, sizeof(prog), "%s/helpers/cred_prog", b);
	if (access(prog, X_OK) != 0) {
		printf("SKIP: %s not built\n", prog);
		return 77;
	}
	snprintf(idfile, sizeof(idfile), "/tmp/shim_cred.%d.ids", (int)getpid());
	harness_on_cleanup(remove_listed);

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", prog, idfile);
	krc = run_capture(kout, sizeof(kout), cmd);
	remove_listed();
	snprintf(cmd, sizeof(cmd),
		 "%s/uipc run --block-kernel-ipc -- %s %s.uipc 2>&1", b, prog,
		 idfile);
	urc = run_capture(uout, sizeof(uout), cmd);
	snprintf(cmd, sizeof(cmd), "%s.uipc", idfile);
	unlink(cmd);

	CHECK(krc == 0, "cred_prog on the kernel exited %d:\n%s", krc, kout);
	CHECK(urc == krc && !strcmp(kout, uout),
	      "cred_prog: kernel (exit %d) and uipc (exit %d) differ\n"
	      "--- kernel\n%s--- uipc\n%s", krc, urc, kout, uout);
	if (harness_failures == 0)
		printf("ok   an unmodified program's setresuid, setuid, seteuid, "
		       "setgroups, initgroups, capset: as on the kernel\n");
	if (getenv("UIPC_TEST_SHOW"))
		printf("%s", uout);
	return harness_done();
}
