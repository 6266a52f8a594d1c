/* What `rpmsg sim` prints: the topology, status lines, the demo report. */
#ifndef RPMSG_TOOLS_SIM_REPORT_H
#define RPMSG_TOOLS_SIM_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "sim.h"

void sim_print_topology(const struct topo *t, FILE *f);
void sim_print_status(const struct topo *t, const struct sim_shared *sh, FILE *f,
                      uint64_t elapsed_ms);
/* `status CORE`: each of the core's links as `rpmsg list` shows a link. */
void sim_print_core_links(const struct topo *t, const struct sim_shared *sh, int core, FILE *f);
/* The demo report, JSON as the last line; true when every check passed. */
bool sim_print_report(const struct topo *t, const struct sim_opts *o,
                      const struct sim_shared *sh, FILE *f);

#endif
