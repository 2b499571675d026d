/*
 * shim_syscall: an unmodified program that makes its System V IPC calls
 * through syscall() (tests/helpers/syscall_prog) runs on the kernel and
 * under `uipc run --block-kernel-ipc` (where the kernel's would fail with
 * ENOSYS) and prints the same: every IPC call with the raw call's
 * conventions, a bad id and a bad command, another number passed to the
 * C library, and, as root, a setresuid made through syscall() seen by the
 * next call.
 */
#include "harness.h"

#include <unistd.h>

int main(void)
{
	char prog[512];

	harness_init(60);
	if (!shim_usable() || helper_path(prog, sizeof(prog), "syscall_prog") < 0)
		return 77;
	if (compare_program("syscall_prog", prog) == 0)
		printf("ok   IPC through syscall(): as on the kernel\n");
	return harness_done();
}
