/*
 * shim_dlopen: a plugin loaded with RTLD_DEEPBIND (as PHP loads its
 * extensions) reaches uipc under `uipc run --block-kernel-ipc`:
 * tests/helpers/dlopen_prog loads one through dlopen and dlmopen by a
 * name only its own RUNPATH finds, and the plugin makes and removes a
 * message queue; it prints the same on uipc as on the kernel (without the
 * shim's dlopen stand-ins the plugin's msgget binds to the C library and
 * fails with ENOSYS; a stand-in that called dlopen instead of jumping to
 * it would make the C library search the shim's RUNPATH, and the plugin
 * would not be found).
 */
#include "harness.h"

int main(void)
{
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	struct msginfo mi;
	char prog[4096];

	harness_init(60);
	if (!shim_usable_system())
		return 77;
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		printf("SKIP: the kernel has no System V IPC to compare with\n");
		return 77;
	}
	snprintf(prog, sizeof(prog), "%s/helpers/dlopen_prog", b);
	if (compare_program("dlopen_prog", prog) == 0)
		printf("ok   a plugin loaded with RTLD_DEEPBIND (dlopen, dlmopen) "
		       "by its loader's RUNPATH: its msgget reaches uipc\n");
	return harness_done();
}
