#include "opt.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

const char *tool_cmd = "";

void tool_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, tool_cmd[0] ? "rpmsg %s: " : "rpmsg:%s ", tool_cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int opt_ulong(const char *name, const char *arg, unsigned long min, unsigned long max,
              unsigned long *out)
{
    /* strtoul() alone takes "-3" (as ULONG_MAX - 2), " 7", "10x" and "". */
    char *end = NULL;
    errno = 0;
    /* Decimal, or hex after 0x; a leading 0 is not octal. */
    bool hex = arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X');
    unsigned long v = isdigit((unsigned char)arg[0]) && (!hex || isxdigit((unsigned char)arg[2]))
                          ? strtoul(arg, &end, hex ? 16 : 10)
                          : 0;
    if (!end || end == arg || *end || errno || v < min || v > max) {
        tool_err("bad value for --%s: '%s' (a whole number, %lu..%lu)", name, arg, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int opt_u32(const char *name, const char *arg, uint32_t min, uint32_t max, uint32_t *out)
{
    unsigned long v;
    int r = opt_ulong(name, arg, min, max, &v);
    if (!r)
        *out = (uint32_t)v;
    return r;
}
