/*
 * `rpmsg trace -r FILE`: a capture of tools/pcap.h as text, one line a
 * message, decoded as tools/wireshark/rpmsg.lua decodes it.
 */
#ifndef RPMSG_TOOLS_TRACE_TEXT_H
#define RPMSG_TOOLS_TRACE_TEXT_H

#include <stdio.h>

/* Prints every record of path on out. Records printed, or -errno with a
 * message (not a pcap of ours, cut short). */
long trace_print_file(const char *path, FILE *out);

#endif
