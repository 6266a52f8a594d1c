/* Two port transports over an emulated line (see port_pair.h). */
#include "port_pair.h"

#include <string.h>
#include <unistd.h>

double port_line_bps(const struct port_link *l)
{
    return l->spi ? l->rate / 8.0 : l->rate / 10.0;
}

void port_pair_side_close(struct port_pair *p, int i)
{
    rpmsg_port_deinit(p->port[i]);
    rpmsg_tty_close(p->tty[i]);
    p->port[i] = NULL;
    p->tty[i] = NULL;
    p->dev[i] = NULL;
}

void port_pair_close(struct port_pair *p)
{
    for (int i = 0; i < 2; i++)
        port_pair_side_close(p, i);
    rpmsg_line_destroy(p->line);
    rpmsg_spibus_destroy(p->bus);
    memset(p, 0, sizeof(*p));
}

int port_pair_open(struct port_pair *p, const struct port_link *l, double ber, double drop,
                   uint32_t seed, const struct rpmsg_port_config *base)
{
    memset(p, 0, sizeof(*p));
    int r;
    if (l->spi) {
        struct rpmsg_spibus_config bc = { .clock_hz = l->rate, .ber = ber, .drop_rate = drop, .seed = seed };
        r = rpmsg_spibus_create(&p->bus, &bc);
    } else {
        struct rpmsg_line_config lc = { .baud = l->rate, .ber = ber, .drop_rate = drop, .seed = seed };
        r = rpmsg_line_create(&p->line, &lc);
    }
    for (int i = 0; i < 2 && !r; i++) {
        struct rpmsg_port_config c;
        if (base)
            c = *base;
        else
            memset(&c, 0, sizeof(c));
        c.local_cpuname = i ? "b" : "a";
        c.line_rate = (uint32_t)port_line_bps(l);
        if (l->spi) {
            c.link = i ? RPMSG_PORT_SPI_SLAVE : RPMSG_PORT_SPI_MASTER;
            c.spi = &rpmsg_spibus_ops;
            c.link_ctx = rpmsg_spibus_end(p->bus, i == 0);
        } else {
            struct rpmsg_tty_config tc = {
                .path = i ? rpmsg_line_tty_b(p->line) : rpmsg_line_tty_a(p->line),
                .fd = -1,
                .baud = l->rate,
            };
            if ((r = rpmsg_tty_open(&p->tty[i], &tc)))
                break;
            c.link = RPMSG_PORT_UART;
            c.uart = &rpmsg_tty_ops;
            c.link_ctx = p->tty[i];
        }
        if (!(r = rpmsg_port_init(&p->port[i], &c)))
            p->dev[i] = rpmsg_port_device(p->port[i]);
    }
    for (int k = 0; !r && k < 10000; k++) {
        if (rpmsg_device_is_up(p->dev[0]) && rpmsg_device_is_up(p->dev[1]))
            return 0;
        usleep(1000);
    }
    port_pair_close(p);
    return r ? r : -1;
}
