/*
 * handoff.c: the C library's calls by which a pipe end reaches a program
 * that may not use uipc, stood in for.
 *
 * A uipc pipe's bytes are in its ring until a holder uipc cannot see
 * comes: then they must be in the kernel pipe, where that holder reads
 * them.  Such holders come by exec (of a static or set-uid program, or
 * one without the shim) and by a descriptor sent over a UNIX socket.  So
 * the exec family, sendmsg and sendmmsg first take to the kernel's path
 * (pipe.c, uipc_pipe_before_exec and uipc_pipe_handoff) every pipe whose
 * end the new image keeps or the message carries, for good, then do what
 * they do.  Nothing is done, and nothing costs more than a test, in a
 * process that has no uipc pipe end.
 *
 * Like src/cred.c's they are exported and weak, and find the C library's
 * own with dlsym(RTLD_NEXT), once.  In a program linked statically with
 * the C library there is no next: the exec family then makes the system
 * call itself (execvp and execvpe search PATH as glibc does), sendmsg and
 * sendmmsg too.  posix_spawn, posix_spawnp, system and popen, whose
 * children are made without any of these calls, are stood in for in the
 * shared library only (handoff_spawn.c): a static C library's own must
 * win there.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

enum next_fn { N_EXECVE, N_EXECVPE, N_FEXECVE, N_SENDMSG, N_SENDMMSG, N_COUNT };
static const char *const next_name[N_COUNT] = {
	"execve", "execvpe", "fexecve", "sendmsg", "sendmmsg",
};
static void *_Atomic next_ptr[N_COUNT];
static struct uipc_next_table next_tab = { next_name, next_ptr, N_COUNT, 0 };

__attribute__((constructor))
static void next_resolve(void)
{
	uipc_next_resolve(&next_tab);
}

static void *next(enum next_fn f)
{
	return uipc_next(&next_tab, f);
}

#define STAND_IN __attribute__((visibility("default"), weak))

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

static int raw_execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)syscall(SYS_execve, path, argv, envp);
}

/* execvpe without a C library's: PATH searched as glibc's __execvpe
 * does (a name with a slash as it is; EACCES remembered; ENOEXEC run by
 * /bin/sh). */
static int search_exec(const char *file, char *const argv[], char *const envp[])
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[PATH_MAX];
	int seen_eacces = 0;

	if (!*file) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/'))
		return raw_execve(file, argv, envp);
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		size_t dl, fl = strlen(file);

		end = strchrnul(p, ':');
		dl = (size_t)(end - p);
		if (dl + fl + 2 <= sizeof(buf)) {
			memcpy(buf, dl ? p : ".", dl ? dl : 1);
			dl = dl ? dl : 1;
			buf[dl] = '/';
			memcpy(buf + dl + 1, file, fl + 1);
			raw_execve(buf, argv, envp);
			if (errno == ENOEXEC) {
				size_t n = 0;

				while (argv[n])
					n++;
				{
					char *sh[n + 3];

					sh[0] = (char *)"/bin/sh";
					sh[1] = buf;
					for (size_t i = 1; i < n; i++)
						sh[i + 1] = argv[i];
					sh[n > 0 ? n + 1 : 2] = NULL;
					raw_execve("/bin/sh", sh, envp);
				}
			}
			if (errno == EACCES)
				seen_eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR &&
				 errno != ESTALE && errno != ENODEV &&
				 errno != ETIMEDOUT)
				return -1;
		}
		if (!*end)
			break;
	}
	if (seen_eacces)
		errno = EACCES;
	return -1;
}

/* A vfork child ran no fork handler, so it has no signal file to take
 * over at exec: what it keeps (ignored signals, mask) goes into the new
 * image's environment, envp with var added in `out` (n + 2 entries). */
size_t uipc_env_count(char *const envp[])
{
	size_t n = 0;

	while (envp && envp[n])
		n++;
	return n;
}

char *const *uipc_env_with(char *const envp[], char *var, char **out)
{
	size_t k = 0, len = strcspn(var, "=") + 1;

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], var, len))
			out[k++] = envp[i];
	out[k++] = var;
	out[k] = NULL;
	return out;
}

/* Runs `call` with envp, or with envp and the vfork child's signal state
 * (no malloc: a vfork child's heap is its parent's). */
#define WITH_EXEC_ENV(envp, e, call)					\
	do {								\
		char var_[96];						\
									\
		uipc_pipe_before_exec();				\
		uipc_pipe_exec_self();					\
		if (uipc_sig_exec_var(var_, sizeof(var_), 1, NULL, NULL)) {		\
			char *buf_[uipc_env_count(envp) + 2];		\
			char *const *e = uipc_env_with(envp, var_, buf_);	\
									\
			return call;					\
		} else {						\
			char *const *e = (envp);			\
									\
			return call;					\
		}							\
	} while (0)

STAND_IN int execve(const char *path, char *const argv[], char *const envp[])
{
	execve_fn f = (execve_fn)next(N_EXECVE);

	WITH_EXEC_ENV(envp, e, f ? f(path, argv, e) : raw_execve(path, argv, e));
}

STAND_IN int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

STAND_IN int execvpe(const char *file, char *const argv[], char *const envp[])
{
	execvpe_fn f = (execvpe_fn)next(N_EXECVPE);

	WITH_EXEC_ENV(envp, e, f ? f(file, argv, e) : search_exec(file, argv, e));
}

STAND_IN int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

STAND_IN int fexecve(int fd, char *const argv[], char *const envp[])
{
	fexecve_fn f = (fexecve_fn)next(N_FEXECVE);

	WITH_EXEC_ENV(envp, e, f ? f(fd, argv, e) :
		      (int)syscall(SYS_execveat, fd, "", argv, e, AT_EMPTY_PATH));
}

/* execl, execlp, execle: the list as an array on the stack, then the
 * array call (the C library's own would not come back through here). */
enum { L_PATH, L_SEARCH, L_ENV };

static int exec_list(int how, const char *target, const char *arg0, va_list ap)
{
	va_list aq;
	int n = 0;

	va_copy(aq, ap);
	if (arg0)
		for (n = 1; va_arg(aq, const char *) && n < INT_MAX; n++)
			;
	va_end(aq);
	{
		char *argv[n + 1];

		argv[0] = (char *)arg0;
		for (int i = 1; i <= n; i++)	/* the NULL last */
			argv[i] = va_arg(ap, char *);
		argv[n] = NULL;
		if (how == L_SEARCH)
			return execvp(target, argv);
		return execve(target, argv, how == L_ENV ? va_arg(ap, char **) : environ);
	}
}

STAND_IN int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(L_PATH, path, arg0, ap);
	va_end(ap);
	return r;
}

STAND_IN int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(L_SEARCH, file, arg0, ap);
	va_end(ap);
	return r;
}

STAND_IN int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg0);
	r = exec_list(L_ENV, path, arg0, ap);
	va_end(ap);
	return r;
}

/* The descriptors an SCM_RIGHTS message carries, each handed off.  The
 * caller's memory is read as the kernel reads it (a bad address is the
 * kernel's EFAULT to give, after). */
static void handoff_rights(const struct msghdr *umsg)
{
	unsigned char ctl[4096];
	struct msghdr msg;
	struct cmsghdr *c;

	if (uipc_copy_from_user(&msg, umsg, sizeof(msg)) < 0 || !msg.msg_control ||
	    msg.msg_controllen < sizeof(struct cmsghdr))
		return;
	if (msg.msg_controllen > sizeof(ctl))
		msg.msg_controllen = sizeof(ctl);	/* SCM_MAX_FD is 253 */
	if (uipc_copy_from_user(ctl, msg.msg_control, msg.msg_controllen) < 0)
		return;
	msg.msg_control = ctl;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t n;
		const unsigned char *d = CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0) ||
		    c->cmsg_len > msg.msg_controllen - (size_t)((unsigned char *)c - ctl))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, d + i * sizeof(int), sizeof(int));
			uipc_pipe_handoff(fd);
		}
	}
}

/* glibc's flags are an int, musl's an unsigned int. */
#ifdef __GLIBC__
typedef int mmsg_flags_t;
#else
typedef unsigned int mmsg_flags_t;
#endif
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef int (*sendmmsg_fn)(int, struct mmsghdr *, unsigned int, mmsg_flags_t);

STAND_IN ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags)
{
	sendmsg_fn f = (sendmsg_fn)next(N_SENDMSG);

	if (uipc_pipe_any())
		handoff_rights(msg);
	return f ? f(sockfd, msg, flags) : syscall(SYS_sendmsg, sockfd, msg, flags);
}

STAND_IN int sendmmsg(int sockfd, struct mmsghdr *vec, unsigned int vlen,
		      mmsg_flags_t flags)
{
	sendmmsg_fn f = (sendmmsg_fn)next(N_SENDMMSG);

	if (uipc_pipe_any() && vec)
		for (unsigned int i = 0; i < vlen && i < 1024 /* UIO_MAXIOV */; i++)
			handoff_rights(&vec[i].msg_hdr);
	return f ? f(sockfd, vec, vlen, flags)
		 : (int)syscall(SYS_sendmmsg, sockfd, vec, vlen, flags);
}
