/*
 * errname.h: strerrorname_np for the helpers where the C library has none
 * (musl): the names they print.
 */
#ifndef UIPC_HELPERS_ERRNAME_H
#define UIPC_HELPERS_ERRNAME_H

#include <errno.h>
#include <stddef.h>

#ifndef __GLIBC__
static const char *strerrorname_np(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EEXIST, "EEXIST" },
		{ ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
		{ ENFILE, "ENFILE" }, { EMFILE, "EMFILE" }, { ENOSPC, "ENOSPC" },
		{ ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" }, { ENOMSG, "ENOMSG" },
		{ EIDRM, "EIDRM" }, { E2BIG, "E2BIG" }, { EROFS, "EROFS" },
		{ ELOOP, "ELOOP" }, { ENAMETOOLONG, "ENAMETOOLONG" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	return "E?";
}
#endif

#endif
