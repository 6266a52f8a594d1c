/*
 * A pcap file of the messages one link carries (rpmsg_set_trace()). Link
 * type DLT_USER0 (147); every record is an 8-byte pseudo-header, then the
 * rpmsg message as on the wire (header first):
 *   u8 magic 'R', u8 version 1, u8 direction (0 sent, 1 received), u8 0,
 *   u32 little-endian: the message's length before any cut to the snap length.
 * tools/wireshark/rpmsg.lua decodes it.
 */
#ifndef RPMSG_TOOLS_PCAP_H
#define RPMSG_TOOLS_PCAP_H

#include "rpmsg/rpmsg.h"

#define PCAP_LINKTYPE_RPMSG 147 /* DLT_USER0 */
#define PCAP_PSEUDO_SIZE 8

struct pcap;

/* Creates path (truncated) with its file header. 0 or -errno. */
int pcap_open(struct pcap **out, const char *path);
/* Records the messages of every device initialised from now on into p. */
int pcap_trace_new_devices(struct pcap *p);
/* Closes the file; no traced link may be open any more. */
void pcap_close(struct pcap *p);
/* Records written so far. */
unsigned long pcap_records(struct pcap *p);

#endif
