/*
 * uipc: look inside a uipc namespace.
 *
 *   uipc [--ns DIR] ls [-q] [--json]      list queues (like ipcs -q)
 *   uipc [--ns DIR] rm -q ID | -Q KEY | --all
 *   uipc [--ns DIR] limits [NAME=VALUE ...]
 *   uipc [--ns DIR] reap                  do the exit work of dead processes
 *   uipc [--ns DIR] ns                    print the namespace directory
 *
 * A bad argument gets one line on stderr and exit status 2; a failed
 * operation one line and status 1.
 */
#include "internal.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *prog = "uipc";

static int usage(const char *why)
{
	fprintf(stderr, "%s: %s (try '%s help')\n", prog, why, prog);
	return 2;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

static int parse_long(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 0);
	return errno == 0 && end != s && *end == 0 ? 0 : -1;
}

static const char *user_name(uid_t uid)
{
	static char buf[32];
	struct passwd *pw = getpwuid(uid);

	if (pw)
		return pw->pw_name;
	snprintf(buf, sizeof(buf), "%u", (unsigned)uid);
	return buf;
}

static int cmd_ls(int argc, char **argv)
{
	struct uipc_msg_info info;
	int json = 0, first = 1, max, err = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (strcmp(argv[i], "-q"))
			return usage("ls takes -q and --json");
	}
	if (!uipc_ns_get(&err))
		return fail("cannot open the namespace", -err);
	max = uipc_max_idx(UIPC_MSG, NULL);
	if (json)
		printf("{\"namespace\": \"%s\", \"msg\": [", uipc_ns_get(&err)->path);
	else
		printf("------ Message Queues (%s) --------\n"
		       "%-10s %-10s %-10s %-6s %-11s %-9s %-6s %-6s %s\n",
		       uipc_ns_get(&err)->path, "key", "msqid", "owner", "perms",
		       "used-bytes", "messages", "lspid", "lrpid", "waiting");
	for (int idx = 0; idx <= max; idx++) {
		struct uipc_map *m;
		int id;

		if (uipc_obj_get_by_index(UIPC_MSG, idx, &m) < 0)
			continue;
		id = m->id;
		uipc_map_put(m);
		if (uipc_msg_snapshot(id, &info) < 0)
			continue;
		if (json) {
			printf("%s\n  {\"key\": %d, \"msqid\": %d, \"owner\": %u, "
			       "\"perms\": \"%o\", \"cbytes\": %lu, \"qnum\": %lu, "
			       "\"qbytes\": %lu, \"lspid\": %d, \"lrpid\": %d, "
			       "\"stime\": %ld, \"rtime\": %ld, \"ctime\": %ld, "
			       "\"receivers\": [", first ? "" : ",",
			       info.ds.msg_perm.__key, id, info.ds.msg_perm.uid,
			       info.ds.msg_perm.mode, info.ds.__msg_cbytes,
			       info.ds.msg_qnum, info.ds.msg_qbytes,
			       info.ds.msg_lspid, info.ds.msg_lrpid,
			       (long)info.ds.msg_stime, (long)info.ds.msg_rtime,
			       (long)info.ds.msg_ctime);
			for (int i = 0; i < info.nrecv && i < 8; i++)
				printf("%s%d", i ? ", " : "", info.recv_pid[i]);
			printf("], \"senders\": [");
			for (int i = 0; i < info.nsend && i < 8; i++)
				printf("%s%d", i ? ", " : "", info.send_pid[i]);
			printf("]}");
		} else {
			printf("0x%08x %-10d %-10s %-6o %-11lu %-9lu %-6d %-6d",
			       (unsigned)info.ds.msg_perm.__key, id,
			       user_name(info.ds.msg_perm.uid), info.ds.msg_perm.mode,
			       info.ds.__msg_cbytes, info.ds.msg_qnum,
			       info.ds.msg_lspid, info.ds.msg_lrpid);
			for (int i = 0; i < info.nrecv && i < 8; i++)
				printf(" rcv:%d", info.recv_pid[i]);
			for (int i = 0; i < info.nsend && i < 8; i++)
				printf(" snd:%d", info.send_pid[i]);
			printf("\n");
		}
		first = 0;
	}
	if (json)
		printf("%s]}\n", first ? "" : "\n");
	return 0;
}

static int cmd_rm(int argc, char **argv)
{
	long long v;
	int rc = 0;

	if (argc == 0)
		return usage("rm needs -q ID, -Q KEY or --all");
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--all")) {
			int max = uipc_max_idx(UIPC_MSG, NULL);

			for (int idx = 0; idx <= max; idx++) {
				struct msqid_ds ds;
				int id = uipc_msgctl(idx, MSG_STAT_ANY, &ds);

				if (id >= 0 && uipc_msgctl(id, IPC_RMID, NULL) < 0)
					rc = fail("rm", errno);
			}
			continue;
		}
		if ((strcmp(argv[i], "-q") && strcmp(argv[i], "-Q")) || i + 1 >= argc)
			return usage("rm takes -q ID, -Q KEY or --all");
		if (parse_long(argv[i + 1], &v) < 0 || v < INT_MIN || v > UINT_MAX)
			return usage("not a number");
		if (argv[i][1] == 'Q') {
			int id;

			if (v == IPC_PRIVATE)
				return usage("-Q 0 (IPC_PRIVATE) names no queue");
			id = uipc_msgget((key_t)v, 0);
			if (id < 0)
				return fail(argv[i + 1], errno);
			v = id;
		}
		if (uipc_msgctl((int)v, IPC_RMID, NULL) < 0)
			rc = fail(argv[i + 1], errno);
		i++;
	}
	return rc;
}

static int cmd_limits(int argc, char **argv)
{
	struct uipc_nsh *h;
	struct stat st;
	int err = 0;

	h = uipc_ns_get(&err);
	if (!h)
		return fail("cannot open the namespace", -err);
	if (argc == 0) {
		for (int i = 0; i < UL_NLIMITS; i++)
			printf("%-8s %lld%s\n", uipc_limit_defs[i].name,
			       (long long)h->ns->limit[i],
			       uipc_limit_defs[i].used ? "" : "   (not used yet)");
		return 0;
	}
	/* Changing limits is the namespace owner's (or root's), as sysctl
	 * is root's for the kernel. */
	if (fstat(h->dirfd, &st) == 0 && geteuid() != 0 && geteuid() != st.st_uid)
		return fail("limits", EPERM);
	for (int a = 0; a < argc; a++) {
		char *eq = strchr(argv[a], '=');
		long long v;
		int i;

		if (!eq)
			return usage("limits takes NAME=VALUE");
		*eq = 0;
		for (i = 0; i < UL_NLIMITS; i++)
			if (!strcmp(argv[a], uipc_limit_defs[i].name))
				break;
		if (i == UL_NLIMITS) {
			fprintf(stderr, "%s: no limit named '%s'\n", prog, argv[a]);
			return 2;
		}
		if (parse_long(eq + 1, &v) < 0 || v < uipc_limit_defs[i].min ||
		    v > uipc_limit_defs[i].max) {
			fprintf(stderr, "%s: %s must be a number from %lld to %lld\n",
				prog, argv[a], (long long)uipc_limit_defs[i].min,
				(long long)uipc_limit_defs[i].max);
			return 2;
		}
		h->ns->limit[i] = v;
	}
	return 0;
}

static int cmd_help(void)
{
	printf("usage: uipc [--ns DIR] COMMAND\n"
	       "  ls [-q] [--json]          list message queues, with waiters\n"
	       "  rm -q ID | -Q KEY | --all remove queues\n"
	       "  limits [NAME=VALUE ...]   show or set msgmax, msgmnb, msgmni, ...\n"
	       "  reap                      do the exit work of dead processes\n"
	       "  ns                        print the namespace directory\n");
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, err = 0;
	struct uipc_nsh *h;

	if (argc > 1 && !strcmp(argv[1], "--ns")) {
		if (argc < 3 || !argv[2][0])
			return usage("--ns needs a directory");
		setenv("UIPC_NS", argv[2], 1);
		i = 3;
	}
	if (i >= argc)
		return usage("no command");
	if (!strcmp(argv[i], "help") || !strcmp(argv[i], "--help"))
		return cmd_help();
	if (!strcmp(argv[i], "ls") || !strcmp(argv[i], "ipcs"))
		return cmd_ls(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "rm") || !strcmp(argv[i], "ipcrm"))
		return cmd_rm(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "limits"))
		return cmd_limits(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "reap") || !strcmp(argv[i], "ns")) {
		if (i + 1 < argc)
			return usage("too many arguments");
		h = uipc_ns_get(&err);
		if (!h)
			return fail("cannot open the namespace", -err);
		if (argv[i][0] == 'n')
			printf("%s\n", h->path);
		else
			printf("reaped %d dead process(es)\n", uipc_proc_reap_all(h));
		return 0;
	}
	fprintf(stderr, "%s: unknown command '%s' (try '%s help')\n", prog,
		argv[i], prog);
	return 2;
}
