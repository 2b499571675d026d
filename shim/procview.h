/*
 * procview.h: the shim's views of /proc/sysvipc and the IPC sysctls.
 */
#ifndef UIPC_PROCVIEW_H
#define UIPC_PROCVIEW_H

#include <stdio.h>

/* A descriptor reading what `path` shows of the namespace, -1 (errno set)
 * if it cannot be made, or -2 if path is not one of ours or not opened
 * read-only (the caller then opens the real file). */
UIPC_HIDDEN int uipc_view_open(const char *path, int flags);
/* The same as a stream; NULL if path is not ours (or on failure). */
UIPC_HIDDEN FILE *uipc_view_fopen(const char *path, const char *mode);
/* Whether path is one of the views: they exist even where the kernel has
 * no System V IPC. */
UIPC_HIDDEN int uipc_view_exists(const char *path);

#endif
