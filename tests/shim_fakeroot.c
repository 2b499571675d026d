/*
 * shim_fakeroot: fakeroot-sysv, whose faked daemon and the processes it
 * serves talk through System V message queues and a semaphore, runs
 * under `uipc run --block-kernel-ipc` (where it would otherwise fail: no
 * kernel IPC) and prints what it prints on the kernel: files made, chowned
 * and mknod'ed under a fake root, as stat sees them there.  It needs two
 * things of uipc: faked's detaching (it closes every descriptor) leaves
 * the namespace's descriptors alone, and uipc's own stat, chmod, mkdir and
 * geteuid are not libfakeroot's (preloaded before uipc's shim, its
 * stand-ins ask faked, through uipc, while uipc holds its namespace lock):
 * src/direct.h.  Skips without fakeroot-sysv.
 */
#include "harness.h"

#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/shim_fakeroot.XXXXXX", cmd[1024];
	FILE *f;

	harness_init(120);
	if (!shim_usable_system())	/* fakeroot and sh are the system's */
		return 77;
	if (system("command -v fakeroot-sysv >/dev/null 2>&1") != 0) {
		printf("SKIP: fakeroot-sysv is not installed (apt-get install fakeroot)\n");
		return 77;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* A script, since `uipc run` runs a program, not a shell line. */
	snprintf(cmd, sizeof(cmd), "%s/run.sh", dir);
	f = fopen(cmd, "w");
	if (!f) {
		perror(cmd);
		return 1;
	}
	fprintf(f, "cd %s && rm -rf f d sub || exit 1\n"
		"fakeroot-sysv sh -c 'touch f; chown 1234:5678 f; mknod d c 1 3; "
		"mkdir sub; chown 42:43 sub; chmod 4755 f; "
		"stat -c \"%%n %%u %%g %%a %%F\" f d sub; id -u; id -g' || exit 1\n"
		"stat -c \"%%n outside: %%F\" f d\n", dir);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sh %s/run.sh", dir);
	if (compare_program("fakeroot-sysv", cmd) == 0)
		printf("ok   fakeroot-sysv: as on the kernel\n");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("     could not remove %s\n", dir);
	return harness_done();
}
