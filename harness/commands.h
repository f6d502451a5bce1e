/*
 * commands.h — the subcommands of the `rehearse` binary.
 *
 * Adding a command (keep this list true):
 *   1. harness/cmd_NAME.c with `int cmd_NAME(int argc, char **argv)`;
 *      argv[0] is the command name; it parses its own options with
 *      getopt_long, handles --help (usage on stdout, exit 0), and returns an
 *      exit code from enum exit_code (common/errors.h);
 *   2. its declaration below and one line in the table in harness/main.c;
 *   3. a page in docs/cli/NAME.md and its usage in README.md;
 *   4. CLI tests under tests/ (good and bad input), with fixtures.
 */
#ifndef REHEARSE_COMMANDS_H
#define REHEARSE_COMMANDS_H

int cmd_capture(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_json_diff(int argc, char **argv);
int cmd_json_patch(int argc, char **argv);
int cmd_dbdiff(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_merge(int argc, char **argv);

#endif
