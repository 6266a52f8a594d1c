/*
 * The services a `rpmsg sim` core runs besides its echo services, as its
 * topology section declares them: `rpmsg sock` bridges (sock_bridge.c),
 * RPMsg FS exports, and FUSE mounts of other cores' exports (fs_fuse.c).
 */
#ifndef RPMSG_TOOLS_SIM_SVC_H
#define RPMSG_TOOLS_SIM_SVC_H

#include <stddef.h>

#include "rpmsg/rpmsg.h"
#include "sim.h"

struct sim_svc;

/*
 * What topo_load cannot check alone: each bridge's two addresses as
 * `rpmsg sock` reads them, the cores they name, the directories of exports
 * and mounts. 0, or -1 with "file:line: reason" in err.
 */
int sim_svc_check(const struct topo *t, char *err, size_t errlen);

/* Starts core me's services (none declared: *out NULL, 0); counters go to st. */
int sim_svc_start(struct sim_svc **out, const struct topo *t, int me,
                  struct sim_core_status *st);
/* Copies the services' counters into the status block. */
void sim_svc_publish(struct sim_svc *s);
/* In the sim process, after core's process ended (killed, crashed): its
 * mounts, left without a server, are detached so a restart can mount. */
void sim_svc_core_gone(const struct topo *t, int core);
/* Stops and frees everything; before the links and the router go. NULL is fine. */
void sim_svc_stop(struct sim_svc *s);

#endif
