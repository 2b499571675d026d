/*
 * shim_closeall: an unmodified program whose child closes every descriptor
 * it does not know (tests/helpers/closeall_prog: one by one, closefrom,
 * close_range, dup2 onto each), then goes on with System V IPC, runs on
 * the kernel and under `uipc run --block-kernel-ipc` and prints the same:
 * the namespace's descriptors outlive the closes, so the child can still
 * make objects and its SEM_UNDO adjustment is not undone while it lives.
 */
#include "harness.h"

#include <unistd.h>

int main(void)
{
	char prog[512];

	harness_init(60);
	if (!shim_usable() || helper_path(prog, sizeof(prog), "closeall_prog") < 0)
		return 77;
	if (compare_program("closeall_prog", prog) == 0)
		printf("ok   a child that closes every descriptor: as on the kernel\n");
	return harness_done();
}
