/*
 * run.c: `uipc run [--ns DIR] [--block-kernel-ipc] [--pipes] [--] CMD ARGS...`
 *
 * Runs CMD with the shim preloaded (prepended to any LD_PRELOAD) and the
 * namespace set, so that an unmodified program's System V IPC goes to
 * uipc.  With --block-kernel-ipc, CMD runs under a seccomp filter that
 * makes the kernel's own System V IPC system calls fail with ENOSYS, as
 * on a kernel built without them: whatever got past the shim (a static
 * program, a raw syscall) fails instead of quietly using the kernel.
 * With --pipes (UIPC_PIPES=1, inherited), CMD's pipes are uipc's too
 * (shim/pipes.c says which of them take uipc's data path).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "run.h"

#ifndef UIPC_LIBDIR
#define UIPC_LIBDIR "/usr/local/lib"
#endif
#define SHIM_NAME "libuipc-preload.so"

/* ---- finding the shim ------------------------------------------------ */

static int readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The shim beside this program (the build tree), in ../lib beside it (an
 * installed tree), or in the library directory it was built for. */
static int find_shim(char *out, size_t n)
{
	char exe[PATH_MAX];
	const char *env = getenv("UIPC_PRELOAD");
	ssize_t len;
	char *slash;

	if (env && env[0]) {
		if (env[0] != '/' || !readable(env))
			return -1;
		snprintf(out, n, "%s", env);
		return 0;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = 0;
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(out, n, "%s/%s", exe, SHIM_NAME);
			if (readable(out))
				return 0;
			snprintf(out, n, "%s/../lib/%s", exe, SHIM_NAME);
			if (readable(out))
				return 0;
		}
	}
	snprintf(out, n, "%s/%s", UIPC_LIBDIR, SHIM_NAME);
	return readable(out) ? 0 : -1;
}

/* LD_PRELOAD with the shim first (once). */
static int set_preload(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	int r;

	if (old && strstr(old, shim))
		return 0;
	if (old && old[0]) {
		v = malloc(strlen(shim) + strlen(old) + 2);
		if (!v)
			return -1;
		sprintf(v, "%s:%s", shim, old);
	} else {
		v = strdup(shim);
		if (!v)
			return -1;
	}
	r = setenv("LD_PRELOAD", v, 1);
	free(v);
	return r;
}

/* UIPC_NS as an absolute path: CMD may change directory. */
static int set_ns(const char *dir)
{
	char cwd[PATH_MAX], abs[2 * PATH_MAX + 2];

	if (dir[0] == '/')
		return setenv("UIPC_NS", dir, 1);
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	snprintf(abs, sizeof(abs), "%s/%s", cwd, dir);
	return setenv("UIPC_NS", abs, 1);
}

/* ---- the seccomp filter --------------------------------------------- */

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define NATIVE_ARCH AUDIT_ARCH_S390X
#endif

static const unsigned native_nrs[] = {
	__NR_msgget, __NR_msgsnd, __NR_msgrcv, __NR_msgctl,
	__NR_semget, __NR_semop, __NR_semctl, __NR_shmget, __NR_shmat,
	__NR_shmdt, __NR_shmctl,
#ifdef __NR_semtimedop
	__NR_semtimedop,
#endif
#ifdef __NR_semtimedop_time64
	__NR_semtimedop_time64,
#endif
#ifdef __NR_ipc
	__NR_ipc,
#endif
};

#if defined(__x86_64__)
/* 32-bit programs on a 64-bit x86 kernel: the ipc() multiplexer (117) and
 * the direct calls added in Linux 5.1 (393-402, semtimedop_time64 420). */
static const unsigned i386_nrs[] = {
	117, 393, 394, 395, 396, 397, 398, 399, 400, 401, 402, 420
};
#endif

#define MAX_INSNS 128

static void deny_nrs(struct sock_filter *f, int *n, const unsigned *nrs,
		     size_t count)
{
	for (size_t i = 0; i < count; i++) {
		f[(*n)++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 nrs[i], 0, 1);
		f[(*n)++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
			SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
	}
	f[(*n)++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						 SECCOMP_RET_ALLOW);
}

static int block_kernel_ipc(void)
{
#ifdef NATIVE_ARCH
	struct sock_filter f[MAX_INSNS];
	struct sock_fprog prog;
	int n = 0, native_at;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, arch));
	native_at = n;
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      NATIVE_ARCH, 0, 0);
#if defined(__x86_64__)
	/* Not native: i386, or some other arch whose calls we let be. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      AUDIT_ARCH_I386, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, nr));
	deny_nrs(f, &n, i386_nrs, sizeof(i386_nrs) / sizeof(i386_nrs[0]));
#else
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
#endif
	f[native_at].jt = (unsigned char)(n - native_at - 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 programs use the same numbers with bit 30 set. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT);
#endif
	deny_nrs(f, &n, native_nrs, sizeof(native_nrs) / sizeof(native_nrs[0]));

	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
#else
	errno = ENOTSUP;
	return -1;
#endif
}

/* ---- the command ---------------------------------------------------- */

int uipc_cmd_run(int argc, char **argv, const char *prog)
{
	char shim[PATH_MAX + 64];
	int block = 0, i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--block-kernel-ipc")) {
			block = 1;
		} else if (!strcmp(argv[i], "--pipes")) {
			if (setenv("UIPC_PIPES", "1", 1) < 0) {
				fprintf(stderr, "%s: run: UIPC_PIPES: %s\n", prog,
					strerror(errno));
				return 1;
			}
		} else if (!strcmp(argv[i], "--ns")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "%s: run: --ns needs a directory\n",
					prog);
				return 2;
			}
			if (set_ns(argv[++i]) < 0) {
				fprintf(stderr, "%s: run: --ns %s: %s\n", prog,
					argv[i], strerror(errno));
				return 1;
			}
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "%s: run: unknown option '%s' (try '%s help')\n",
				prog, argv[i], prog);
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "%s: run: no command to run (try '%s help')\n",
			prog, prog);
		return 2;
	}
	if (getenv("UIPC_NS") && getenv("UIPC_NS")[0] != '/' &&
	    set_ns(getenv("UIPC_NS")) < 0) {
		fprintf(stderr, "%s: run: UIPC_NS: %s\n", prog, strerror(errno));
		return 1;
	}
	if (find_shim(shim, sizeof(shim)) < 0) {
		fprintf(stderr, "%s: run: cannot find %s (set UIPC_PRELOAD to "
			"its absolute path)\n", prog, SHIM_NAME);
		return 1;
	}
	if (set_preload(shim) < 0) {
		fprintf(stderr, "%s: run: LD_PRELOAD: %s\n", prog, strerror(errno));
		return 1;
	}
	if (block && block_kernel_ipc() < 0) {
		fprintf(stderr, "%s: run: cannot install the seccomp filter: %s\n",
			prog, strerror(errno));
		return 1;
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "%s: run: %s: %s\n", prog, argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
