/*
 * fifo_api: uipc FIFOs (uipc_mkfifo, uipc_open, and uipc_read and the rest
 * on their descriptors) side by side with the kernel's calls: the node
 * (EEXIST, ENOENT, its mode), the open rules (O_RDONLY|O_NONBLOCK at once,
 * O_WRONLY|O_NONBLOCK without a reader ENXIO, O_RDWR at once, a blocking
 * open waiting for the other side), EACCES by the node's mode as nobody,
 * data and EOF between processes that open the node by its path, a writer
 * that uses open(2) and write(2) without uipc, and a FIFO whose inode
 * number is also a uipc pipe's (its ring must not be taken for the
 * FIFO's).
 */
#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

struct fops {
	const char *name;
	int (*mkfifo)(const char *, mode_t);
	int (*open)(const char *, int, ...);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	int (*close)(int);
};

static const struct fops kernel_f = { "kernel", mkfifo, open, read, write, close };
static const struct fops uipc_f = { "uipc", uipc_mkfifo, uipc_open, uipc_read,
				    uipc_write, uipc_close };

static char dir[256], path[300];
static _Atomic int *opened;	/* shared: the writer is about to open */

static int is_uipc(const struct fops *o)
{
	return o == &uipc_f;
}

static void rd(const struct fops *o, struct trace *t, const char *what, int fd)
{
	char buf[64];
	ssize_t n = o->read(fd, buf, sizeof(buf) - 1);

	if (n < 0) {
		tprintf(t, "%s -> -1 %s", what, errname(errno));
		return;
	}
	buf[n] = 0;
	tprintf(t, "%s -> %zd \"%s\"", what, n, buf);
}

/* A process that opens the node for writing by its path (after 100 ms),
 * writes msg and exits; plain: with the C library, not uipc. */
static pid_t writer(const struct fops *o, const char *msg, int plain)
{
	pid_t kid = fork();

	if (kid == 0) {
		int fd;

		alarm(10);
		usleep(100000);
		atomic_store(opened, 1);
		fd = plain ? open(path, O_WRONLY) : o->open(path, O_WRONLY);
		if (fd < 0)
			_exit(2);
		if ((plain ? write(fd, msg, strlen(msg)) :
			     o->write(fd, msg, strlen(msg))) != (ssize_t)strlen(msg))
			_exit(3);
		_exit(0);
	}
	return kid;
}

static void reap(struct trace *t, pid_t kid)
{
	int st;

	waitpid(kid, &st, 0);
	tprintf(t, "writer %s %d", WIFEXITED(st) ? "exited" : "killed by",
		WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static void scen_node(const struct fops *o, struct trace *t)
{
	struct stat st;
	char missing[400];

	umask(022);
	tval(t, "mkfifo 0640", o->mkfifo(path, 0640));
	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	tprintf(t, "a FIFO: %d, mode %o", S_ISFIFO(st.st_mode), st.st_mode & 07777);
	tval(t, "mkfifo again", o->mkfifo(path, 0640));
	snprintf(missing, sizeof(missing), "%s/no/such", dir);
	tval(t, "mkfifo in a missing directory", o->mkfifo(missing, 0600));
	tval(t, "open a missing node", o->open(missing, O_RDONLY | O_NONBLOCK));
	unlink(path);
}

static void scen_open(const struct fops *o, struct trace *t)
{
	int r, w, rw;
	pid_t kid;

	o->mkfifo(path, 0600);
	tval(t, "open O_WRONLY|O_NONBLOCK, no reader",
	     o->open(path, O_WRONLY | O_NONBLOCK));
	r = o->open(path, O_RDONLY | O_NONBLOCK);
	tprintf(t, "open O_RDONLY|O_NONBLOCK: %s", r >= 0 ? "at once" : errname(errno));
	w = o->open(path, O_WRONLY | O_NONBLOCK);
	tprintf(t, "open O_WRONLY|O_NONBLOCK, a reader: %s", w >= 0 ? "at once" :
		errname(errno));
	tval(t, "write", o->write(w, "ab", 2));
	rd(o, t, "read", r);
	o->close(w);
	rd(o, t, "read, no writer", r);
	o->close(r);
	rw = o->open(path, O_RDWR);
	tprintf(t, "open O_RDWR: %s", rw >= 0 ? "at once" : errname(errno));
	o->close(rw);

	/* A blocking open of the reading end waits for a writer. */
	atomic_store(opened, 0);
	kid = writer(o, "hello", 0);
	r = o->open(path, O_RDONLY);
	tprintf(t, "open O_RDONLY: returned once the writer opened: %d",
		r >= 0 && atomic_load(opened));
	rd(o, t, "read", r);
	reap(t, kid);
	rd(o, t, "read after the writer", r);
	o->close(r);
	unlink(path);
}

/* The reader opens with the ops; the writer uses the C library only. */
static void scen_plain_writer(const struct fops *o, struct trace *t)
{
	pid_t kid;
	int r;

	o->mkfifo(path, 0600);
	kid = writer(o, "from a program without uipc", 1);
	r = o->open(path, O_RDONLY);
	rd(o, t, "read", r);
	reap(t, kid);
	rd(o, t, "read at EOF", r);
	o->close(r);
	unlink(path);
}

/* uipc's rings are named by the pipe's inode number; a FIFO's number is
 * its file system's and may be the same as a pipe's.  Here a copy of a
 * live pipe's ring is made to carry the FIFO's number, as if the numbers
 * met: reading the FIFO must give the FIFO's bytes, not the ring's. */
static void scen_collision(const struct fops *o, struct trace *t)
{
	char ring[400], fake[400], *buf = NULL;
	struct stat pst, fst, rst;
	int p[2] = { -1, -1 }, r, in, out;
	pid_t kid;
	ssize_t n = -1;

	o->mkfifo(path, 0600);
	stat(path, &fst);
	if (is_uipc(o) && uipc_pipe(p) == 0 && fstat(p[0], &pst) == 0) {
		uipc_write(p[1], "SECRET", 6);
		snprintf(ring, sizeof(ring), "%s/pipe.%llu", harness_ns_dir(),
			 (unsigned long long)pst.st_ino);
		snprintf(fake, sizeof(fake), "%s/pipe.%llu", harness_ns_dir(),
			 (unsigned long long)fst.st_ino);
		in = open(ring, O_RDONLY);
		out = open(fake, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (in >= 0 && fstat(in, &rst) == 0 && (buf = malloc((size_t)rst.st_size)))
			n = pread(in, buf, (size_t)rst.st_size, 0);
		/* The ring names its pipe's number in its header. */
		for (ssize_t i = 0; i + 8 <= n && i < 4096; i += 8) {
			uint64_t v;

			memcpy(&v, buf + i, 8);
			if (v == (uint64_t)pst.st_ino) {
				v = (uint64_t)fst.st_ino;
				memcpy(buf + i, &v, 8);
				break;
			}
		}
		CHECK(n > 0 && n == rst.st_size && out >= 0 &&
		      write(out, buf, (size_t)n) == n,
		      "collision: could not copy the ring %s", ring);
		free(buf);
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}
	kid = writer(o, "the FIFO's own", 1);
	r = o->open(path, O_RDONLY);
	rd(o, t, "read the FIFO", r);
	reap(t, kid);
	o->close(r);
	if (p[0] >= 0) {
		uipc_close(p[0]);
		uipc_close(p[1]);
		unlink(fake);
	}
	unlink(path);
}

/* As nobody, a root FIFO of mode 0600. */
static void scen_access(const struct fops *o, struct trace *t)
{
	pid_t kid;
	int st;

	o->mkfifo(path, 0600);
	kid = fork();
	if (kid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(90);
		errno = 0;
		_exit(o->open(path, O_RDONLY | O_NONBLOCK) < 0 ? errno : 0);
	}
	waitpid(kid, &st, 0);
	tprintf(t, "as nobody, open O_RDONLY|O_NONBLOCK: %s",
		WIFEXITED(st) && WEXITSTATUS(st) ? errname(WEXITSTATUS(st)) : "ok");
	unlink(path);
}

typedef void (*fscen)(const struct fops *, struct trace *);

static void both(const char *name, fscen fn)
{
	struct trace k = { 0 }, u = { 0 };

	fn(&kernel_f, &k);
	fn(&uipc_f, &u);
	trace_compare(name, &k, &u);
}

int main(void)
{
	harness_init(60);
	opened = harness_shared(sizeof(*opened));
	snprintf(dir, sizeof(dir), "/tmp/uipc-fifo.%d", (int)getpid());
	if (mkdir(dir, 0755) < 0) {
		perror(dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	both("the node: mode, EEXIST, ENOENT", scen_node);
	both("open rules and data", scen_open);
	both("a writer without uipc", scen_plain_writer);
	both("a FIFO whose inode number is a uipc pipe's", scen_collision);
	if (geteuid() == 0) {
		chmod(dir, 0755);
		both("EACCES by the node's mode, as nobody", scen_access);
	} else {
		printf("SKIP EACCES as nobody: not root\n");
	}
	unlink(path);
	rmdir(dir);
	return harness_done();
}
