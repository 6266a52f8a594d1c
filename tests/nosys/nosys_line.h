/*
 * An in-memory UART line for the bare-metal tests: a byte pipe each way,
 * with room for a few frames, that flips bits and drops bytes on demand.
 * Static functions: each test includes it once.
 */
#ifndef NOSYS_LINE_H
#define NOSYS_LINE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rpmsg/rpmsg_port.h"

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Damage per byte on the line: one in flip_in bytes gets a bit flipped
 * (about BER 1e-4 at 1250), one in drop_in is lost. */
struct noise {
    uint32_t flip_in, drop_in;
    uint64_t flipped, dropped;
    bool cut; /* the line is cut: every byte is lost */
};

static void damage(struct noise *nz, uint8_t *b, bool *drop)
{
    *drop = nz->cut || (nz->drop_in && rnd() % nz->drop_in == 0);
    if (*drop)
        nz->dropped++;
    if (nz->flip_in && rnd() % nz->flip_in == 0) {
        *b ^= (uint8_t)(1u << (rnd() % 8));
        nz->flipped++;
    }
}

/* ---- UART: a byte pipe each way, with room for a few frames ------------- */

#define PIPE_CAP 1024u

struct pipe {
    uint8_t b[PIPE_CAP];
    size_t head, len;
};

struct uart_end {
    struct pipe *in, *out;
    struct noise *nz;
};

static int u_write(void *ctx, const void *buf, size_t len, uint64_t dl)
{
    (void)dl;
    struct uart_end *e = ctx;
    size_t n = 0;
    while (n < len && e->out->len < PIPE_CAP) {
        uint8_t c = ((const uint8_t *)buf)[n++];
        bool drop;
        damage(e->nz, &c, &drop);
        if (!drop)
            e->out->b[(e->out->head + e->out->len++) % PIPE_CAP] = c;
    }
    return (int)n;
}

static int u_read(void *ctx, void *buf, size_t len, uint64_t dl)
{
    (void)dl;
    struct uart_end *e = ctx;
    size_t n = 0;
    while (n < len && e->in->len) {
        ((uint8_t *)buf)[n++] = e->in->b[e->in->head];
        e->in->head = (e->in->head + 1) % PIPE_CAP;
        e->in->len--;
    }
    return (int)n;
}

static const struct rpmsg_port_uart_ops uart_ops = { u_write, u_read, NULL };

/* A polled UART port (8 + 8 buffers of 256 B) on end, in mem: 0, -ENOMEM if
 * it needs more than cap bytes, or rpmsg_port_init_mem's error. */
static inline int nl_uart_port(struct rpmsg_port **p, void *mem, size_t cap, const char *name,
                               uint32_t entropy, struct uart_end *end)
{
    struct rpmsg_port_config c;
    memset(&c, 0, sizeof(c));
    c.local_cpuname = name;
    c.buf_size = 256;
    c.num_tx_bufs = c.num_rx_bufs = 8;
    c.no_rx_thread = true;
    c.boot_entropy = entropy;
    c.link = RPMSG_PORT_UART;
    c.uart = &uart_ops;
    c.link_ctx = end;
    size_t need = rpmsg_port_mem_size(&c);
    if (!need || need > cap)
        return -ENOMEM;
    return rpmsg_port_init_mem(p, &c, mem, need);
}

#endif
