/*
 * libc_calls.h: included last by pipe.c and wait.c, so that their own
 * calls on descriptors reach the C library's functions and not the
 * shim's stand-ins for them (`uipc run --pipes`), which call back into
 * pipe.c: a stand-in's fcntl on a uipc end would look the end up again.
 */
#ifndef UIPC_LIBC_CALLS_H
#define UIPC_LIBC_CALLS_H

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#define UIPC_LIBC_CALL(k, type) ((type)uipc_libc(k))
#define read(...) UIPC_LIBC_CALL(UIPC_K_READ, \
	ssize_t (*)(int, void *, size_t))(__VA_ARGS__)
#define write(...) UIPC_LIBC_CALL(UIPC_K_WRITE, \
	ssize_t (*)(int, const void *, size_t))(__VA_ARGS__)
#define readv(...) UIPC_LIBC_CALL(UIPC_K_READV, \
	ssize_t (*)(int, const struct iovec *, int))(__VA_ARGS__)
#define writev(...) UIPC_LIBC_CALL(UIPC_K_WRITEV, \
	ssize_t (*)(int, const struct iovec *, int))(__VA_ARGS__)
#define close(...) UIPC_LIBC_CALL(UIPC_K_CLOSE, int (*)(int))(__VA_ARGS__)
#define dup(...) UIPC_LIBC_CALL(UIPC_K_DUP, int (*)(int))(__VA_ARGS__)
#define dup2(...) UIPC_LIBC_CALL(UIPC_K_DUP2, int (*)(int, int))(__VA_ARGS__)
#define dup3(...) UIPC_LIBC_CALL(UIPC_K_DUP3, \
	int (*)(int, int, int))(__VA_ARGS__)
#define fcntl(...) UIPC_LIBC_CALL(UIPC_K_FCNTL, \
	int (*)(int, int, ...))(__VA_ARGS__)
#define ioctl(...) UIPC_LIBC_CALL(UIPC_K_IOCTL, \
	int (*)(int, unsigned long, ...))(__VA_ARGS__)
#define poll(...) UIPC_LIBC_CALL(UIPC_K_POLL, \
	int (*)(struct pollfd *, nfds_t, int))(__VA_ARGS__)
#define ppoll(...) UIPC_LIBC_CALL(UIPC_K_PPOLL, \
	int (*)(struct pollfd *, nfds_t, const struct timespec *, \
		const sigset_t *))(__VA_ARGS__)
#define pipe2(...) UIPC_LIBC_CALL(UIPC_K_PIPE2, int (*)(int *, int))(__VA_ARGS__)
#define epoll_ctl(...) UIPC_LIBC_CALL(UIPC_K_EPOLL_CTL, \
	int (*)(int, int, int, struct epoll_event *))(__VA_ARGS__)

#endif
