/*
 * procview.h: the shim's views of /proc/sysvipc and the IPC sysctls.
 */
#ifndef UIPC_PROCVIEW_H
#define UIPC_PROCVIEW_H

#include <stdio.h>

/* A descriptor of what `path` (relative to dirfd if not absolute) shows
 * of the namespace, -1 (errno set) if it cannot be made or may not be
 * opened so, or -2 if path is not one of ours (the caller then opens the
 * real file).  A sysctl opened for writing sets the namespace's value. */
UIPC_HIDDEN int uipc_view_open_at(int dirfd, const char *path, int flags);
UIPC_HIDDEN int uipc_view_open(const char *path, int flags);
/* The same as a stream: 0 if path is not ours, else 1 with the stream
 * (NULL and errno on failure) in *out. */
UIPC_HIDDEN int uipc_view_fopen(const char *path, const char *mode, FILE **out);
/* Whether path is one of the views: they exist even where the kernel has
 * no System V IPC. */
UIPC_HIDDEN int uipc_view_exists(const char *path);

/* Sysctl descriptors open for writing in this process; while there are
 * none, the stand-ins below need not be called. */
UIPC_HIDDEN extern _Atomic int uipc_sysctl_nopen;
/* write(2) (at < 0) or pwrite(2) at `at` on fd: the kernel's result for a
 * sysctl's descriptor (-1 and errno for an error), -2 for any other fd. */
UIPC_HIDDEN ssize_t uipc_sysctl_write(int fd, const void *buf, size_t count, off_t at);
/* read(2) (at < 0) or pread(2): 0 or -1 as the kernel answers a read of
 * a sysctl past its start, -2 where the caller reads the file itself. */
UIPC_HIDDEN ssize_t uipc_sysctl_read(int fd, off_t at);
/* After a stream on fd was flushed (or before fd is closed): parses what
 * the C library wrote from inside; 0, or -1 and errno as the kernel's
 * write would have failed. */
UIPC_HIDDEN int uipc_sysctl_flushed(int fd);
/* fd is about to be closed (close, dup2 over it, fclose). */
UIPC_HIDDEN void uipc_sysctl_closing(int fd);
/* Takes on the sysctl descriptors a program was exec'd with. */
UIPC_HIDDEN void uipc_sysctl_adopt(void);

#endif
