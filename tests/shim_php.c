/*
 * shim_php: PHP's sysvmsg, sysvsem and sysvshm, which PHP loads with
 * dlopen(RTLD_DEEPBIND), under `uipc run --block-kernel-ipc`:
 * tests/scripts/sysv.php (message types, errnos, a blocked receive woken
 * by the queue's removal, sem_acquire's auto-release across a SIGKILL,
 * shm_put_var and shm_get_var between processes) prints the same lines on
 * uipc as on the kernel.
 */
#include "harness.h"

int main(void)
{
	struct msginfo mi;

	harness_init(120);
	if (!shim_usable_system())
		return 77;
	if (system("php -r 'exit(function_exists(\"msg_get_queue\") && "
		   "function_exists(\"sem_get\") && function_exists(\"shm_attach\") "
		   "&& function_exists(\"pcntl_fork\") ? 0 : 1);' 2>/dev/null") != 0) {
		printf("SKIP: php-cli with sysvmsg, sysvsem, sysvshm and pcntl is "
		       "not installed (apt-get install php-cli)\n");
		return 77;
	}
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		printf("SKIP: the kernel has no System V IPC to compare with\n");
		return 77;
	}
	if (compare_program("php sysv.php", "php tests/scripts/sysv.php") == 0)
		printf("ok   php sysvmsg, sysvsem, sysvshm: messages, auto-release "
		       "across SIGKILL, variables in shared memory: as on the kernel\n");
	return harness_done();
}
