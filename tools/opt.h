/*
 * What every command of the `rpmsg` tool shares: its name in messages, the
 * exit codes, and one strict parser for number options.
 */
#ifndef RPMSG_TOOLS_OPT_H
#define RPMSG_TOOLS_OPT_H

#include <stdint.h>

/* Exit codes of every command (documented in rpmsg(1)). */
#define TOOL_OK 0      /* done, every check passed */
#define TOOL_FAIL 1    /* a runtime failure: no peer, a failed check, a dead link */
#define TOOL_USAGE 2   /* bad command line; nothing was attempted */

/* The running command ("ping"), set by main() before the command runs. */
extern const char *tool_cmd;

/* Prints "rpmsg CMD: " and the message on stderr. */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parses arg as a whole decimal (or 0x hex) number in min..max for --name:
 * no sign, no trailing characters, no overflow. 0, or -1 with a message.
 */
int opt_u32(const char *name, const char *arg, uint32_t min, uint32_t max, uint32_t *out);
int opt_ulong(const char *name, const char *arg, unsigned long min, unsigned long max,
              unsigned long *out);

#endif
