/*
 * A pcap file of the messages one link carries (rpmsg_set_trace()). Link
 * type DLT_USER0 (147); every record is an 8-byte pseudo-header, then the
 * rpmsg message as on the wire (header first):
 *   u8 magic 'R', u8 kind, u8 direction (0 sent, 1 received), u8 flags,
 *   u32 little-endian: the record's length before any cut to the snap length.
 * kind 1 (PCAP_KIND_MSG): an rpmsg message. kind 2 (PCAP_KIND_PORT): a port
 * transport frame as the UART carried it, COBS removed (header, body, CRC;
 * src/transport/port/port_wire.h), recorded by `rpmsg line --pcap`: the
 * direction is 0 for A to B, 1 for B to A; flags bit 2 (PCAP_F_BAD_COBS):
 * the bytes between two delimiters were no valid COBS, recorded raw.
 * flags bit 0 (PCAP_F_OBSERVED): seen by `rpmsg trace` in shared memory, not
 * by an end of the link; the direction is then the host's (0 host to remote).
 * Bit 1 (PCAP_F_LOST): such a message whose buffer held a later one by the
 * time it was seen; the record has no message bytes.
 * tools/wireshark/rpmsg.lua decodes it.
 */
#ifndef RPMSG_TOOLS_PCAP_H
#define RPMSG_TOOLS_PCAP_H

#include "rpmsg/rpmsg.h"

#define PCAP_LINKTYPE_RPMSG 147 /* DLT_USER0 */
#define PCAP_PSEUDO_SIZE 8
#define PCAP_DIR_TX 0
#define PCAP_DIR_RX 1
#define PCAP_F_OBSERVED 1u
#define PCAP_F_LOST 2u /* observed too late: contents unknown (no message bytes) */
#define PCAP_F_BAD_COBS 4u
#define PCAP_KIND_MSG 1u
#define PCAP_KIND_PORT 2u

/* The environment of a command that `rpmsg trace -w FILE -- CMD` runs: the
 * link commands record there as with --pcap FILE, at most COUNT records. */
#define PCAP_ENV_FILE "RPMSG_PCAP"
#define PCAP_ENV_COUNT "RPMSG_PCAP_COUNT"

struct pcap;

/* Creates path (truncated) with its file header. 0 or -errno. */
int pcap_open(struct pcap **out, const char *path);
/* Records the messages of every device initialised from now on into p. */
int pcap_trace_new_devices(struct pcap *p);
/* Appends one message (header first; cut to the length its header declares). 0 or -EIO. */
int pcap_write(struct pcap *p, int dir, unsigned flags, const void *msg, size_t len);
/* Appends one record of another kind, as it is. */
int pcap_write_kind(struct pcap *p, unsigned kind, int dir, unsigned flags, const void *data,
                    size_t len);
/* Closes the file; no traced link may be open any more. */
void pcap_close(struct pcap *p);
/* Writes no more than max records (0: no limit); pcap_write() says -ENOSPC then. */
void pcap_set_limit(struct pcap *p, unsigned long max);
/* Records written so far. */
unsigned long pcap_records(struct pcap *p);

#endif
