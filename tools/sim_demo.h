/* The demo client of `rpmsg sim --demo`, run on the topology's demo_from core. */
#ifndef RPMSG_TOOLS_SIM_DEMO_H
#define RPMSG_TOOLS_SIM_DEMO_H

#include "sim.h"

struct sim_demo_client;

/* Starts the client thread; results go to sh->demo. */
int sim_demo_start(struct sim_demo_client **out, const struct topo *t, struct sim_shared *sh,
                   const struct sim_opts *o);
void sim_demo_stop(struct sim_demo_client *d);

#endif
