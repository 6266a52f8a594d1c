/* Reading iperf3's -J output in the tests that run it through bridges. */
#ifndef TU_IPERF_JSON_H
#define TU_IPERF_JSON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number after "bytes": in the object named key ("sum_sent" ...) of the
 * "end" section; -1 if absent. */
static inline long long tu_iperf_end_bytes(const char *j, const char *key)
{
    const char *end = strstr(j, "\"end\":");
    char k[64];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *o = end ? strstr(end, k) : NULL;
    const char *b = o ? strstr(o, "\"bytes\":") : NULL;
    return b ? strtoll(b + 8, NULL, 10) : -1;
}

#endif
