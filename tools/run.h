/*
 * run.h: the `uipc run` command (run.c).
 */
#ifndef UIPC_TOOL_RUN_H
#define UIPC_TOOL_RUN_H

/* argv: what follows "run".  Returns an exit status, or does not return
 * (CMD was executed). */
int uipc_cmd_run(int argc, char **argv, const char *prog);

#endif
