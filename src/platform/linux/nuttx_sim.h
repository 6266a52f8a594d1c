/*
 * The NuttX simulator's link (nuttx_sim.c): offsets of its region header and
 * the table writer, shared with the tests.
 */
#ifndef RPMSG_LINUX_NUTTX_SIM_H
#define RPMSG_LINUX_NUTTX_SIM_H

#include <stdint.h>

#define NX_SIM_SIZE 197072u
#define NX_SIM_BASE 0u
#define NX_SIM_SEQS 8u
#define NX_SIM_SEQM 12u
#define NX_SIM_BOOTS 16u
#define NX_SIM_BOOTM 20u
#define NX_SIM_TABLE 24u
#define NX_SIM_CMD_MASTER (NX_SIM_TABLE + 8u)
#define NX_SIM_CMD_SLAVE (NX_SIM_TABLE + 12u)
#define NX_SIM_CARVEOUT 131532u

#define NX_SIM_BOOT 0x01u
#define NX_SIM_OK 0x02u
#define NX_SIM_NEED_RESET 0x04u

/*
 * Writes the master's resource table into a region of NX_SIM_SIZE bytes:
 * two entries (the rpmsg vdev and its carve-out, at the offsets NuttX uses),
 * vring addresses, buffer sizes and both cpu names (7 characters at most).
 */
void rpmsg_nuttx_sim_write_table(uint8_t *region, const char *host_name, const char *remote_name);

#endif
