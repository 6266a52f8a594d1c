/*
 * Two port transports joined by an emulated line, for the port benchmarks:
 * UART through the line emulator's ptys, SPI over the simulated bus.
 */
#ifndef BENCH_PORT_PAIR_H
#define BENCH_PORT_PAIR_H

#include "rpmsg/rpmsg_port.h"

struct port_link {
    const char *name;
    bool spi;
    uint32_t rate; /* baud or clock */
};

struct port_pair {
    struct rpmsg_line *line;
    struct rpmsg_spibus *bus;
    struct rpmsg_tty *tty[2];
    struct rpmsg_port *port[2];
    struct rpmsg_device *dev[2];
};

/* Raw line rate in bytes per second (UART 8N1: baud / 10; SPI: clock / 8). */
double port_line_bps(const struct port_link *l);
/*
 * Opens both sides and waits until both are up. base: the options both
 * sides start from (NULL: all defaults); the link, its ops, the cpu name
 * and line_rate are filled in here.
 */
int port_pair_open(struct port_pair *p, const struct port_link *l, double ber, double drop,
                   uint32_t seed, const struct rpmsg_port_config *base);
/* One side goes away without a word to the other. */
void port_pair_side_close(struct port_pair *p, int i);
void port_pair_close(struct port_pair *p);

#endif
