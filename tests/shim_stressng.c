/*
 * shim_stressng: stress-ng's System V stressors, unmodified, with
 * --verify, under `uipc run --block-kernel-ipc` for a bounded time: the
 * run completes, no stressor fails or is skipped, each does work, and the
 * kernel gets no object.  The same run on the kernel is shown alongside.
 */
#include "harness.h"

static const char *const stressors[] = { "msg", "sem-sysv", "shm-sysv" };

/* The bogo ops stress-ng's brief metrics give for stressor s, or -1. */
static long bogo_ops(const char *out, const char *s)
{
	const char *p = out;
	char name[32];
	long ops;

	while ((p = strstr(p, "metrc:"))) {
		p = strchr(p, ']');
		if (!p)
			break;
		if (sscanf(p + 1, "%31s %ld", name, &ops) == 2 && !strcmp(name, s))
			return ops;
	}
	return -1;
}

/* Whether some line says `word` other than as a count of none ("failed:
 * 0", which newer stress-ng prints on success). */
static int reports(const char *out, const char *word)
{
	for (const char *p = out; (p = strstr(p, word)); p++) {
		const char *c = p + strcspn(p, ":\n");

		if (*c != ':' || strtol(c + 1, NULL, 10) != 0)
			return 1;
	}
	return 0;
}

int main(void)
{
	static char out[65536], kout[65536];
	const char *b = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	const char *args = "stress-ng --msg 1 --sem-sysv 1 --shm-sysv 1 --verify "
			   "-t 5 --metrics-brief";
	struct msginfo mi;
	char cmd[512];
	int rc, krc, left;

	harness_init(120);
	if (!shim_usable_system())
		return 77;
	if (system("command -v stress-ng >/dev/null") != 0) {
		printf("SKIP: stress-ng is not installed (apt-get install stress-ng)\n");
		return 77;
	}
	if (msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0) {
		printf("SKIP: the kernel has no System V IPC to compare with\n");
		return 77;
	}
	harness_watch_kernel();
	snprintf(cmd, sizeof(cmd), "%s 2>&1", args);
	krc = run_capture(kout, sizeof(kout), cmd);
	left = harness_kernel_leftovers();
	CHECK(left == 0, "stress-ng on the kernel left %d object(s) (removed)",
	      left);
	snprintf(cmd, sizeof(cmd), "%s/uipc run --block-kernel-ipc -- %s 2>&1", b,
		 args);
	rc = run_capture(out, sizeof(out), cmd);
	left = harness_kernel_leftovers();
	CHECK(left == 0, "stress-ng under uipc made %d kernel object(s)", left);
	CHECK(krc == 0, "stress-ng on the kernel exited %d:\n%s", krc, kout);
	CHECK(rc == 0 && strstr(out, "successful run completed"),
	      "stress-ng under uipc exited %d:\n%s", rc, out);
	CHECK(!reports(out, "fail") && !reports(out, "skipped"),
	      "stress-ng under uipc reports a failure or a skip:\n%s", out);
	for (size_t i = 0; i < sizeof(stressors) / sizeof(stressors[0]); i++) {
		long u = bogo_ops(out, stressors[i]), k = bogo_ops(kout, stressors[i]);

		CHECK(u > 0, "%s did no work under uipc:\n%s", stressors[i], out);
		printf("     %-9s bogo ops in 5 s: kernel %ld, uipc %ld\n",
		       stressors[i], k, u);
	}
	if (!harness_failures)
		printf("ok   stress-ng --msg --sem-sysv --shm-sysv --verify under "
		       "uipc run --block-kernel-ipc\n");
	return harness_done();
}
