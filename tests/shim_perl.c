/*
 * shim_perl: perl's IPC::SysV, unmodified, under `uipc run
 * --block-kernel-ipc`: tests/scripts/sysv.pl (every msgtyp mode, a
 * semaphore set with SEM_UNDO across fork and SIGKILL, shared memory
 * written by one process and read by another, nattch across fork and
 * SIGKILL) prints the same lines on uipc as on the kernel.
 */
#include "harness.h"

int main(void)
{
	struct msginfo mi;

	harness_init(120);
	if (!shim_usable_system())
		return 77;
	if (system("perl -MIPC::SysV -MIPC::Msg -MIPC::Semaphore -MIPC::SharedMem "
		   "-e 1 2>/dev/null") != 0) {
		printf("SKIP: perl with IPC::SysV is not installed\n");
		return 77;
	}
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		printf("SKIP: the kernel has no System V IPC to compare with\n");
		return 77;
	}
	if (compare_program("perl sysv.pl", "perl tests/scripts/sysv.pl") == 0)
		printf("ok   perl IPC::SysV: messages, SEM_UNDO across fork and "
		       "SIGKILL, shared memory: as on the kernel\n");
	return harness_done();
}
