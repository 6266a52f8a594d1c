/*
 * The machine's own limits between two processes (pinned to two CPUs when
 * there are two): a cache-line ping-pong, a futex ping-pong, an eventfd
 * ping-pong, a 512-byte-slot SPSC ring, and the idle CPU of a process blocked
 * in the Linux platform's doorbell wait. No rpmsg code on the fast paths:
 * these are the ceilings a transport is compared with.
 *
 * Usage: bench_limits [--json] [--quick] [--seconds S]
 * Prints a table and, as its last line, one JSON record (--json: only that).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"
#include "machine_limits.h"

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--json] [--quick] [--seconds S]\n", argv0);
}

int main(int argc, char **argv)
{
    bool json_only = false;
    struct bench_limits_opts o;
    bench_limits_defaults(&o);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json_only = true;
        } else if (!strcmp(argv[i], "--quick")) {
            o.seconds = 0.3;
            o.idle_seconds = 1.0;
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            o.seconds = strtod(argv[++i], NULL);
            if (!(o.seconds > 0 && o.seconds <= 60)) {
                usage(argv[0]);
                return 2;
            }
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    struct bench_report *rep = malloc(sizeof(*rep));
    if (!rep)
        return 1;
    bench_report_init(rep, "limits", "machine limits between two processes (no rpmsg)",
                      &o.cpus);
    int r = bench_limits_all(&o, rep);
    if (!json_only) {
        bench_report_table(stdout, rep);
        if (r < 0)
            printf("warning: a measurement failed (%s)\n", strerror(-r));
    }
    bench_report_json(stdout, rep);
    free(rep);
    return r < 0 ? 1 : 0;
}
