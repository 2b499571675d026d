/*
 * shim_postgres: PostgreSQL, unmodified, with shared_memory_type = sysv and
 * dynamic_shared_memory_type = sysv, under `uipc run --block-kernel-ipc`:
 * tests/scripts/postgres.sh (initdb, start, pgbench with concurrent
 * clients, a parallel query, a backend killed with SIGKILL and the
 * server's recovery, the whole server killed with SIGKILL and restarted
 * over its stale segment, a clean stop) prints the same lines as on the
 * kernel.  PostgreSQL refuses to run as root, so as root the script runs
 * as the user "postgres".
 */
#include "harness.h"

#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

static char work[64];

/* The server, should the test end early: an immediate shutdown, then
 * SIGKILL; and the work directory. */
static void stop_server(void)
{
	char path[128], cmd[160];
	FILE *f;
	int pid = 0;

	if (!work[0])
		return;
	snprintf(path, sizeof(path), "%s/data/postmaster.pid", work);
	f = fopen(path, "r");
	if (f && fscanf(f, "%d", &pid) == 1 && pid > 0 && kill(pid, SIGQUIT) == 0) {
		for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
			usleep(100000);
		kill(pid, SIGKILL);
	}
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", work);
	work[0] = 0;
}

/* The newest PostgreSQL's bin directory, or NULL. */
static const char *pg_bin(void)
{
	static char bin[256];
	glob_t g;

	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0)
		return NULL;
	/* glob sorts; "9.6" sorts after "15", so take the longest, last. */
	bin[0] = 0;
	for (size_t i = 0; i < g.gl_pathc; i++)
		if (strlen(g.gl_pathv[i]) >= strlen(bin))
			snprintf(bin, sizeof(bin), "%s", g.gl_pathv[i]);
	globfree(&g);
	*strrchr(bin, '/') = 0;
	return bin;
}

int main(void)
{
	struct msginfo mi;
	struct passwd *pw = NULL;
	const char *bin;
	char cmd[1024], user[128] = "";

	harness_init(200);
	if (!shim_usable_system())
		return 77;
	bin = pg_bin();
	if (!bin) {
		printf("SKIP: PostgreSQL is not installed (apt-get install postgresql)\n");
		return 77;
	}
	if (system("command -v setpriv ipcs >/dev/null") != 0) {
		printf("SKIP: util-linux's setpriv and ipcs are not installed\n");
		return 77;
	}
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		printf("SKIP: the kernel has no System V IPC to compare with\n");
		return 77;
	}
	if (geteuid() == 0) {
		pw = getpwnam("postgres");
		if (!pw) {
			printf("SKIP: as root, the test needs the user postgres\n");
			return 77;
		}
		snprintf(user, sizeof(user),
			 "setpriv --reuid=%u --regid=%u --clear-groups ",
			 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	}
	snprintf(work, sizeof(work), "/tmp/uipc-pg.XXXXXX");
	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 1;
	}
	harness_on_cleanup(stop_server);
	if (pw && chown(work, pw->pw_uid, pw->pw_gid) != 0) {
		perror("chown");
		return 1;
	}
	/* The user may not be able to read the tree (a checkout under
	 * /root): the shim goes to the work directory, the script on
	 * standard input. */
	snprintf(cmd, sizeof(cmd), "cp %s/libuipc-preload.so %s/ && chmod 755 %s/libuipc-preload.so",
		 getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build", work, work);
	if (system(cmd) != 0) {
		printf("FAIL: could not copy the shim: %s\n", cmd);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s/libuipc-preload.so", work);
	setenv("UIPC_PRELOAD", cmd, 1);
	snprintf(cmd, sizeof(cmd), "%ssh -s %s %s < tests/scripts/postgres.sh",
		 user, bin, work);
	if (compare_program("postgres.sh", cmd) == 0)
		printf("ok   PostgreSQL on System V shared memory: pgbench, a killed "
		       "backend, a killed server, a clean stop: as on the kernel\n");
	stop_server();
	return harness_done();
}
