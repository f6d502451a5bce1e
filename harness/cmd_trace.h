/*
 * cmd_trace.h — the subcommands of `rehearse trace`, one file each
 * (harness/cmd_trace_NAME.c), dispatched from the table in cmd_trace.c.
 * Each gets argv[0] = its own name and returns an exit code.
 */
#ifndef REHEARSE_CMD_TRACE_H
#define REHEARSE_CMD_TRACE_H

int cmd_trace_stats(int argc, char **argv);
int cmd_trace_import_har(int argc, char **argv);
int cmd_trace_export_har(int argc, char **argv);
int cmd_trace_split(int argc, char **argv);

#endif
