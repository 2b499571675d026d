/*
 * dlopen_prog: loads tests/helpers/plugin/libuipc_plug.so with
 * RTLD_DEEPBIND, through dlopen and through dlmopen(LM_ID_BASE), by its
 * bare name, which only this program's RUNPATH ($ORIGIN/plugin) finds,
 * and has it make and remove a message queue.  For tests/shim_dlopen,
 * which runs it on the kernel and under `uipc run --block-kernel-ipc` and
 * compares what it prints: the plugin's calls must reach uipc, and the
 * C library's dlopen must still see this program as its caller.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "errname.h"

#ifndef RTLD_DEEPBIND
#define RTLD_DEEPBIND 0		/* a C library without it: plain loads */
#endif

static void try(const char *how, void *h)
{
	int (*fn)(void);
	int r;

	if (!h) {
		printf("%s: not loaded: %s\n", how, dlerror());
		return;
	}
	*(void **)&fn = dlsym(h, "uipc_plug_msg");
	if (!fn) {
		printf("%s: no uipc_plug_msg\n", how);
	} else {
		r = fn();
		printf("%s: msgget and IPC_RMID -> %s\n", how,
		       r ? strerrorname_np(-r) : "ok");
	}
	dlclose(h);
}

int main(void)
{
	const int mode = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;

	try("dlopen", dlopen("libuipc_plug.so", mode));
#ifdef LM_ID_BASE
	try("dlmopen(LM_ID_BASE)", dlmopen(LM_ID_BASE, "libuipc_plug.so", mode));
#else
	try("dlmopen(LM_ID_BASE)", dlopen("libuipc_plug.so", mode));
#endif
	return 0;
}
