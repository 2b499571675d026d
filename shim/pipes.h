/* pipes.h: what preload.c's stand-ins ask of pipes.c (`uipc run --pipes`). */
#ifndef UIPC_SHIM_PIPES_H
#define UIPC_SHIM_PIPES_H

#include <stdio.h>
#include <sys/types.h>

struct iovec;

/* 1 (and *out, the call's return value with errno set) if fd is a uipc
 * pipe end and the read or write was done, 0 for the C library's. */
int uipc_shim_rw(int fd, const struct iovec *v, int cnt, int single, int wr,
		 ssize_t *out);
/* 1 and *out if dup2 or dup3 was done, 0 for the C library's. */
int uipc_shim_dup2(int oldfd, int newfd, int flags, int three, int *out);
void uipc_shim_closing(int fd);
/* fd is new (open, recvmsg): returns it. */
int uipc_shim_opened(int fd);
/* syscall(): before and after the C library's, for the numbers that
 * close or dup descriptors. */
void uipc_shim_syscall_before(long nr, const long *a);
void uipc_shim_syscall_after(long nr, long r);
/* f was opened by path (fopen): returns it. */
FILE *uipc_shim_stream(FILE *f);


#endif
