/*
 * handoff_spawn.c: the stand-ins of the shared library only.
 *
 * posix_spawn, posix_spawnp, system and popen, as handoff.c stands in for
 * the exec family: their children are made and exec'd inside the C
 * library, by no call a program can see.  pthread_create, so that a new
 * thread starts with its creator's uipc mask.  In a program linked
 * statically with the C library a definition of any of these in
 * libuipc.a would take the library's own place (glibc's are weak there
 * too), with no next one to call, so libuipc.a has none (docs/uipc.md).
 */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Android's bionic has posix_spawn from API level 28 on. */
#if !defined(__ANDROID__) || __ANDROID_API__ >= 28
#define HAVE_SPAWN 1
#include <spawn.h>
#endif

#define STAND_IN __attribute__((visibility("default")))

#ifdef HAVE_SPAWN
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);
#endif
typedef int (*system_fn)(const char *);
typedef FILE *(*popen_fn)(const char *, const char *);

enum next_fn { N_SPAWN, N_SPAWNP, N_SYSTEM, N_POPEN, N_PTHREAD_CREATE, N_COUNT };
static const char *const next_name[N_COUNT] = {
	"posix_spawn", "posix_spawnp", "system", "popen", "pthread_create",
};
static void *_Atomic next_ptr[N_COUNT];
static struct uipc_next_table next_tab = { next_name, next_ptr, N_COUNT, 0 };

__attribute__((constructor))
static void next_resolve(void)
{
	uipc_next_resolve(&next_tab);
}

#ifdef HAVE_SPAWN
/* The child's pipes demoted, and its uipc signal state (ignored
 * signals, mask, after the attributes' changes) in its environment: it
 * runs no fork handler. */
static int spawn_with(spawn_fn f, pid_t *pid, const char *path,
		      const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *attr, char *const argv[],
		      char *const envp[])
{
	sigset_t mask, dfl;
	short flags = 0;
	char var[96];

	uipc_pipe_before_exec();
	if (attr && posix_spawnattr_getflags(attr, &flags) != 0)
		flags = 0;
	if ((flags & POSIX_SPAWN_SETSIGMASK) && posix_spawnattr_getsigmask(attr, &mask) != 0)
		flags &= (short)~POSIX_SPAWN_SETSIGMASK;
	if ((flags & POSIX_SPAWN_SETSIGDEF) && posix_spawnattr_getsigdefault(attr, &dfl) != 0)
		flags &= (short)~POSIX_SPAWN_SETSIGDEF;
	if (uipc_sig_exec_var(var, sizeof(var), 0,
			      flags & POSIX_SPAWN_SETSIGMASK ? &mask : NULL,
			      flags & POSIX_SPAWN_SETSIGDEF ? &dfl : NULL)) {
		char *buf[uipc_env_count(envp) + 2];

		return f(pid, path, fa, attr, argv, uipc_env_with(envp, var, buf));
	}
	return f(pid, path, fa, attr, argv, envp);
}

STAND_IN int posix_spawn(pid_t *pid, const char *path,
			 const posix_spawn_file_actions_t *fa,
			 const posix_spawnattr_t *attr, char *const argv[],
			 char *const envp[])
{
	spawn_fn f = (spawn_fn)uipc_next(&next_tab, N_SPAWN);

	return f ? spawn_with(f, pid, path, fa, attr, argv, envp) : ENOSYS;
}

STAND_IN int posix_spawnp(pid_t *pid, const char *file,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	spawn_fn f = (spawn_fn)uipc_next(&next_tab, N_SPAWNP);

	return f ? spawn_with(f, pid, file, fa, attr, argv, envp) : ENOSYS;
}
#endif /* HAVE_SPAWN */

STAND_IN int system(const char *command)
{
	system_fn f = (system_fn)uipc_next(&next_tab, N_SYSTEM);

	if (!f)
		return -1;
	if (command)
		uipc_pipe_before_exec();
	return f(command);
}

STAND_IN FILE *popen(const char *command, const char *type)
{
	popen_fn f = (popen_fn)uipc_next(&next_tab, N_POPEN);

	if (!f)
		return NULL;
	uipc_pipe_before_exec();
	return f(command, type);
}

/* A new thread: its creator's uipc mask, then its start routine. */
struct born {
	void *(*fn)(void *);
	void *arg;
	uint64_t mask;
};

static void *born_start(void *p)
{
	struct born b = *(struct born *)p;

	free(p);
	uipc_sig_born(b.mask);
	return b.fn(b.arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *,
				 void *(*)(void *), void *);

STAND_IN int pthread_create(pthread_t *th, const pthread_attr_t *attr,
			    void *(*fn)(void *), void *arg)
{
	pthread_create_fn real = (pthread_create_fn)uipc_next(&next_tab, N_PTHREAD_CREATE);
	struct born *b;
	uint64_t mask;
	int r;

	if (!real)
		return EAGAIN;
	/* A process that takes no uipc signals pays one test. */
	if (!uipc_sig_creator_mask(&mask))
		return real(th, attr, fn, arg);
	b = malloc(sizeof(*b));
	if (!b)
		return EAGAIN;
	b->fn = fn;
	b->arg = arg;
	b->mask = mask;
	r = real(th, attr, born_start, b);
	if (r != 0)
		free(b);
	return r;
}
