/*
 * shim_python: python3-sysv-ipc, unmodified, under `uipc run
 * --block-kernel-ipc`: tests/scripts/sysv.py (message types, a semaphore
 * with SEM_UNDO across fork and SIGKILL, shared memory written by one
 * process and read by another) prints the same lines on uipc as on the
 * kernel; a write through an attach made with SHM_RDONLY faults on both.
 */
#include "harness.h"

int main(void)
{
	struct msginfo mi;

	harness_init(120);
	if (!shim_usable_system())
		return 77;
	/* Debian's module is for Debian's python3, not one first on PATH. */
	if (system("/usr/bin/python3 -c 'import sysv_ipc' 2>/dev/null") != 0) {
		printf("SKIP: python3-sysv-ipc is not installed "
		       "(apt-get install python3-sysv-ipc)\n");
		return 77;
	}
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		printf("SKIP: the kernel has no System V IPC to compare with\n");
		return 77;
	}
	if (compare_program("python3 sysv.py",
			    "/usr/bin/python3 tests/scripts/sysv.py") == 0)
		printf("ok   python3 sysv_ipc: messages, SEM_UNDO across fork and "
		       "SIGKILL, shared memory: as on the kernel\n");
	/* A read-only attach stays one: a write through it faults. */
	if (compare_program("python3 SHM_RDONLY",
			    "/usr/bin/python3 -c \"import ctypes, os, sysv_ipc as ipc\n"
			    "m = ipc.SharedMemory(None, ipc.IPC_CREX, 0o600, size=4096)\n"
			    "ro = ipc.attach(m.id, None, ipc.SHM_RDONLY)\n"
			    "pid = os.fork()\n"
			    "if pid == 0:\n"
			    "    ctypes.memmove(ro.address, b'x', 1)\n"
			    "    os._exit(0)\n"
			    "st = os.waitpid(pid, 0)[1]\n"
			    "print('write through SHM_RDONLY: signal',\n"
			    "      os.WTERMSIG(st) if os.WIFSIGNALED(st) else None,\n"
			    "      'segment holds', m.read(1))\n"
			    "ro.detach()\n"
			    "m.remove()\"") == 0)
		printf("ok   python3 sysv_ipc: a write through a read-only attach "
		       "faults, as on the kernel\n");
	return harness_done();
}
