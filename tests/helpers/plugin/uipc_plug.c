/*
 * uipc_plug: a plugin for tests/helpers/dlopen_prog, which loads it with
 * RTLD_DEEPBIND as PHP loads its extensions.  Its System V IPC calls bind
 * to whatever its loading left them to: under the shim, uipc's.
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/msg.h>

int uipc_plug_msg(void);

/* A private queue made and removed: 0, or -errno of the failed call. */
int uipc_plug_msg(void)
{
	int id = msgget(IPC_PRIVATE, 0600);

	if (id < 0)
		return -errno;
	return msgctl(id, IPC_RMID, 0) < 0 ? -errno : 0;
}
