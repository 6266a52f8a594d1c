/* Link options shared by the link commands of the `rpmsg` tool. */
#ifndef RPMSG_TOOLS_LINKOPTS_H
#define RPMSG_TOOLS_LINKOPTS_H

#include <getopt.h>

#include "rpmsg/rpmsg_link.h"

/* getopt_long entries (values 0x100..0x1ff are reserved for them). */
#define LINKOPTS_LONG                                  \
    { "link", required_argument, NULL, 0x100 },        \
    { "openamp", required_argument, NULL, 0x101 },     \
    { "listen", no_argument, NULL, 0x102 },            \
    { "role", required_argument, NULL, 0x103 },        \
    { "side", required_argument, NULL, 0x104 },        \
    { "mode", required_argument, NULL, 0x105 },        \
    { "cpu", required_argument, NULL, 0x106 },         \
    { "wait", required_argument, NULL, 0x107 },        \
    { "uart", required_argument, NULL, 0x108 },        \
    { "spi", required_argument, NULL, 0x109 },         \
    { "nuttx-sim", required_argument, NULL, 0x10a },   \
    { "peer-cpu", required_argument, NULL, 0x10b },    \
    { "pcap", required_argument, NULL, 0x10c }

#define LINKOPTS_USAGE                                                                     \
    "link:\n"                                                                              \
    "  --link NAME           native VirtIO link over /dev/shm/NAME (futex doorbell)\n"     \
    "  --openamp SHM:SOCK    OpenAMP-compatible VirtIO link: /dev/shm/SHM + AF_UNIX SOCK\n" \
    "  --uart DEVICE[:BAUD]  port link over a tty (a serial port, or one end of\n"        \
    "                        `rpmsg line`); both ends must use the same BAUD\n"             \
    "  --spi NAME[@HZ]       port link over a simulated SPI bus in /dev/shm/NAME; the\n"   \
    "                        host is the master; --side create makes the bus (at HZ,\n"   \
    "                        default 10 MHz), attach waits for it\n"                        \
    "  --nuttx-sim SHM       NuttX simulator link over /dev/shm/SHM (NuttX: server-proxy);\n" \
    "                        --role host plays NuttX's master (rpserver), remote its\n"     \
    "                        slave (rpproxy); --mode interrupt polls every 1 ms as NuttX\n"  \
    "  --peer-cpu NAME       NuttX master: the slave's cpu name (default proxy)\n"       \
    "  --listen              OpenAMP mode: listen on SOCK (default: connect)\n"            \
    "  --role host|remote    virtio role (SPI: host = master, remote = slave)\n"          \
    "  --side create|attach  native mode: create the shm object (start first) or attach\n" \
    "  --mode adaptive|poll|interrupt   how the RX thread waits (default adaptive)\n"      \
    "  --cpu NAME            local cpu name\n"                                             \
    "  --wait MS             how long to wait for the peer (default 10000)\n"             \
    "  --pcap FILE           record every message sent and received on the link in\n"   \
    "                        FILE (pcap; Wireshark: tools/wireshark/rpmsg.lua)\n"

struct linkopts {
    struct rpmsg_link_config cfg;
    char spec[512];
    const char *link, *openamp, *uart, *spi, *nuttx;
    bool wait_given; /* --wait on the command line */
    const char *pcap; /* --pcap FILE */
};

/* --wait's largest value: a day. */
#define LINKOPTS_WAIT_MAX 86400000u

void linkopts_init(struct linkopts *o, enum rpmsg_link_role role, enum rpmsg_link_side side);
/* 1: consumed; 0: not a link option; -1: bad value (message printed). */
int linkopts_parse(struct linkopts *o, int opt, const char *arg);
/* getopt_long() ("h" short) that takes the link options itself: the next
 * other option, -1 at the end, or LINKOPTS_BAD after a bad link value. */
#define LINKOPTS_BAD (-2)
int linkopts_getopt(struct linkopts *o, int argc, char **argv, const struct option *opts);
/* After the options: no operands left, and the link options agree. 0, or
 * -1 with a message (a usage error). */
int linkopts_done(struct linkopts *o, int argc, char **argv, const char *cmd);
/* Checks the link options as a whole (exactly one link, its value) and
 * builds the spec; prints what is wrong. 0 or -EINVAL/-ENAMETOOLONG: a
 * usage error. linkopts_open() does it too. */
int linkopts_validate(struct linkopts *o, const char *cmd);
/* Opens the link and waits until it is up; prints why not. 0 or -errno. */
int linkopts_open(struct linkopts *o, struct rpmsg_link **out, const char *cmd);

/*
 * Says on stderr what went wrong on the link (a fault, the peer died),
 * nothing when nothing did. Returns enum rpmsg_link_down.
 */
int linkopts_report(struct rpmsg_link *link, const char *cmd);

#endif
