/*
 * shim_pipes: unmodified programs under `uipc run --pipes`, each run
 * plainly (the kernel's pipes) and under the shim, their output and exit
 * status compared: tests/helpers/pipe_prog (room as the kernel counts it,
 * EBADF, dup/dup2/dup3/F_DUPFD, EOF, EPIPE and SIGPIPE, O_DIRECT, readv
 * and writev, poll, select, a forked writer, PIPE_BUF atomicity with three
 * writers, EINTR and SA_RESTART, EFAULT, EINVAL, a stream opened on
 * /proc/self/fd/N, a signal handler's self-pipe writes, forks beside a
 * writing thread, dprintf and aio_write between writes, a raw close,
 * O_ASYNC's SIGIO), the shell workloads of
 * issue 16 item 7 (a bash pipeline, `yes | head | md5sum` with yes's
 * SIGPIPE, `seq | grep` splicing to /dev/null, a FIFO between two
 * programs, here-documents, command substitution), and Python programs
 * (os.pipe with os.fork, multiprocessing.Pipe, an exec over pipes that
 * close on it, an asyncio subprocess).
 * Which pipes take uipc's path is checked too: a new pipe and one a
 * forked child used are rings, select or an exec that keeps an end or an
 * end on descriptor 0 takes it to the kernel's; no ring file is left.
 */
#include "harness.h"

#include <dirent.h>

static const char *g_build;

/* cmd plainly and under `uipc run --pipes`: the same output and status. */
static void compare_pipes(const char *name, const char *cmd)
{
	int before = harness_failures;

	compare_program_run(name, cmd, "--pipes");
	if (harness_failures == before)
		printf("ok   %s: as on the kernel\n", name);
}

/* The ring files left in the namespace. */
static int rings_left(void)
{
	const char *ns = getenv("UIPC_NS");
	struct dirent *d;
	int n = 0;
	DIR *dir;

	if (!ns || !(dir = opendir(ns)))
		return 0;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "pipe.", 5))
			n++;
	closedir(dir);
	return n;
}

static const char *const shell[][2] = {
	{ "bash pipeline (seq | sort -n | uniq -c | sort -rn | head)",
	  "bash -c 'seq 1 2000000 | sort -n | uniq -c | sort -rn | head'" },
	{ "yes | head -c 100000000 | md5sum, yes killed by SIGPIPE",
	  "bash -c 'yes | head -c 100000000 | md5sum; echo ${PIPESTATUS[@]}'" },
	{ "seq | grep 7 > /dev/null (grep splices once it matched)",
	  "bash -c 'seq 1 3000000 | grep 7 > /dev/null; echo $?'" },
	{ "a FIFO between two programs",
	  "bash -c 'd=$(mktemp -d) && mkfifo $d/f && (seq 1 100000 > $d/f &) && "
	  "md5sum < $d/f; wait; rm -r $d'" },
	{ "here-documents, here-strings, command substitution, while read",
	  "bash -c 'x=$(seq 1 5000 | tr 0-9 a-j); echo ${#x}; "
	  "cat <<EOF | wc -c\n$(seq 1 3000)\nEOF\n"
	  "wc -l <<< \"$x\"; n=0; while read l; do n=$((n+1)); done < <(seq 1 777); "
	  "echo $n; seq 1 100 | { read a; read b; echo $a $b; cat | wc -l; }'" },
};

static const char *const python[][2] = {
	{ "python3 os.pipe with os.fork: stream and ping-pong",
	  "import os, hashlib\n"
	  "r, w = os.pipe(); a, b = os.pipe(); pid = os.fork()\n"
	  "if pid == 0:\n"
	  "    os.close(r)\n"
	  "    for i in range(20000): os.write(w, b'%d\\n' % i)\n"
	  "    for i in range(500):\n"
	  "        os.write(w, os.read(a, 10) + b'!')\n"
	  "    os._exit(7)\n"
	  "os.close(w)\n"
	  "h = hashlib.md5(); got = 0\n"
	  "while got < 108890:\n"
	  "    d = os.read(r, 65536); got += len(d); h.update(d)\n"
	  "for i in range(500):\n"
	  "    os.write(b, b'%d' % i)\n"
	  "    h.update(os.read(r, 100))\n"
	  "print(got, h.hexdigest(), os.read(r, 10), os.waitpid(pid, 0)[1] >> 8)\n" },
	{ "python3 multiprocessing.Pipe",
	  "import multiprocessing as mp\n"
	  "def child(c):\n"
	  "    for i in range(300): c.send(('x' * i, i))\n"
	  "    c.close()\n"
	  "if __name__ == '__main__':\n"
	  "    mp.set_start_method('fork')\n"
	  "    p, c = mp.Pipe(duplex=False)\n"
	  "    pr = mp.Process(target=child, args=(c,)); pr.start(); c.close()\n"
	  "    print(sum(p.recv()[1] for i in range(300))); pr.join(); print(pr.exitcode)\n" },
	{ "python3 exec over close-on-exec pipes holding bytes",
	  "import os\n"
	  "pid = os.fork()\n"
	  "if pid == 0:\n"
	  "    r, w = os.pipe(); os.write(w, b'left behind')\n"
	  "    os.execlp('true', 'true')\n"
	  "print(os.waitpid(pid, 0)[1])\n" },
	{ "python3 asyncio subprocess through pipes",
	  "import asyncio, hashlib\n"
	  "async def main():\n"
	  "    p = await asyncio.create_subprocess_exec('cat', stdin=asyncio.subprocess.PIPE,\n"
	  "        stdout=asyncio.subprocess.PIPE)\n"
	  "    data = bytes(range(256)) * 4096\n"
	  "    out, _ = await p.communicate(data)\n"
	  "    print(len(out), hashlib.md5(out).hexdigest() == hashlib.md5(data).hexdigest(),\n"
	  "          p.returncode)\n"
	  "asyncio.run(main())\n" },
};

static void run_python(const char *name, const char *prog)
{
	char path[] = "/tmp/shim_pipes_XXXXXX", cmd[256];
	int fd = mkstemp(path);

	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (fd < 0)
		return;
	CHECK(write(fd, prog, strlen(prog)) == (ssize_t)strlen(prog), "write");
	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s", path);
	compare_pipes(name, cmd);
	unlink(path);
}

int main(void)
{
	static char out[8192];
	char cmd[1024];
	int left;

	harness_init(300);
	if (!shim_usable_system())
		return 77;
	g_build = getenv("UIPC_BUILD") ? getenv("UIPC_BUILD") : "build";
	snprintf(cmd, sizeof(cmd), "%s/helpers/pipe_prog", g_build);
	compare_pipes("pipe_prog: pipe semantics through the C library's calls",
		      cmd);

	/* Which pipes are uipc's. */
	snprintf(cmd, sizeof(cmd), "UIPC_TOOL=%s/uipc %s/uipc run --pipes -- "
		 "%s/helpers/pipe_prog ring 2>&1", g_build, g_build, g_build);
	run_capture(out, sizeof(out), cmd);
	/* "none": the ring of a pipe taken to the kernel's path is gone. */
	CHECK(!strcmp(out, "new pipe: ring\n"
			   "after a child wrote: ring\n"
			   "after select: none\n"
			   "after an exec that does not keep it: ring\n"
			   "after an exec that keeps it: none\n"
			   "read end on descriptor 0: none\n"),
	      "which pipes are rings:\n%s", out);
	if (!harness_failures)
		printf("ok   a new pipe and one a forked child used are rings; "
		       "select, an exec that keeps an end, descriptor 0 take it "
		       "to the kernel's path\n");

	for (size_t i = 0; i < sizeof(shell) / sizeof(shell[0]); i++)
		compare_pipes(shell[i][0], shell[i][1]);
	if (access("/usr/bin/python3", X_OK) == 0)
		for (size_t i = 0; i < sizeof(python) / sizeof(python[0]); i++)
			run_python(python[i][0], python[i][1]);
	else
		printf("note: no /usr/bin/python3, its programs not run\n");

	left = rings_left();
	CHECK(left == 0, "%d ring file(s) left in the namespace", left);
	return harness_done();
}
