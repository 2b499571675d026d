/*
 * msg_shim: an unmodified program (util-linux ipcmk and ipcrm) run with
 * build/libuipc-preload.so creates and removes its queue in the uipc
 * namespace, and the kernel sees none of it.
 */
#include "harness.h"

static int kernel_queues(void)
{
	struct msginfo mi;

	return msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0 ? -1 : mi.msgpool;
}

int main(void)
{
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	char cmd[1024], line[256];
	struct msqid_ds ds;
	int id = -1, before;
	FILE *f;

	harness_init(60);
#if defined(__SANITIZE_ADDRESS__)
	printf("SKIP: a sanitized shim cannot be preloaded into an uninstrumented "
	       "program\n");
	return 77;
#endif
	if (system("command -v ipcmk >/dev/null && command -v ipcrm >/dev/null") != 0) {
		printf("SKIP: util-linux ipcmk/ipcrm are not installed\n");
		return 77;
	}
	before = kernel_queues();
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD=%s/libuipc-preload.so ipcmk -Q -p 0640",
		 b);
	f = popen(cmd, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Message queue id: %d", &id) == 1)
			break;
	if (f)
		pclose(f);
	CHECK(id >= 0, "ipcmk under the shim printed no queue id");
	CHECK(kernel_queues() == before, "the kernel got a queue (%d -> %d)",
	      before, kernel_queues());
	CHECK(uipc_msgctl(id, IPC_STAT, &ds) == 0 && (ds.msg_perm.mode & 0777) == 0640,
	      "uipc holds ipcmk's queue %d with mode 0640", id);
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD=%s/libuipc-preload.so ipcrm -q %d",
		 b, id);
	CHECK(system(cmd) == 0, "ipcrm under the shim failed");
	CHECK(uipc_msgctl(id, IPC_STAT, &ds) < 0 && errno == EINVAL,
	      "ipcrm under the shim removed the uipc queue");
	if (!harness_failures)
		printf("ok   ipcmk -Q and ipcrm -q under the shim: uipc queue %d, "
		       "kernel untouched\n", id);
	return harness_done();
}
