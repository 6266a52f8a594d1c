/*
 * The port transport in the bare-metal build (RPMSG_NO_SYS=1): no threads,
 * no allocation, the time a simulated millisecond clock (the board's
 * rpmsg_board_time_ms). Two ports in static memory, joined by an in-memory
 * pipe that flips bits and drops bytes, driven from one loop by
 * rpmsg_port_poll_link() and rpmsg_poll(): the handshake, then N messages
 * each way delivered once, intact and in order; over UART (COBS) and over
 * an SPI master/slave pair with handshake lines.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_port.h"
#include "transport/port/port_wire.h"

#include "nosys_line.h"

#if !RPMSG_NO_SYS
#error "this test must be built against the bare-metal library"
#endif

#define NMSG 3000u
#define LOOPS_MAX 3000000u
#define ADDR_A 0x500u
#define ADDR_B 0x600u

/* The board's clock: one millisecond per turn of the main loop. */
static uint32_t sim_ms;
uint32_t rpmsg_board_time_ms(void);
uint32_t rpmsg_board_time_ms(void)
{
    return sim_ms;
}

/* ---- SPI: one exchange at a time, armed by the slave, clocked by the master */

#define XFER_MAX 2048u

struct spi_bus {
    bool mreq;
    bool armed, done;  /* slave armed a transfer / it was clocked, not yet collected */
    uint8_t slave_tx[XFER_MAX], slave_rx[XFER_MAX];
    size_t len;
    struct noise *nz;
};
struct spi_end {
    struct spi_bus *bus;
    bool master;
};

static void spi_copy(struct noise *nz, uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = src[i];
        bool drop;
        damage(nz, &c, &drop); /* a dropped byte reads as zero here */
        dst[i] = drop ? 0 : c;
    }
}

static int s_transfer(void *ctx, const void *tx, void *rx, size_t len, uint64_t dl)
{
    (void)dl;
    struct spi_end *e = ctx;
    struct spi_bus *b = e->bus;
    if (len > XFER_MAX)
        return -EINVAL;
    if (!tx && !rx) {
        if (!e->master)
            b->armed = b->done = false;
        return 0;
    }
    if (e->master) {
        if (!tx)
            return 0; /* nothing queued */
        if (!b->armed || b->done)
            return -EAGAIN; /* the test's master only clocks when SREQ is up */
        spi_copy(b->nz, rx, b->slave_tx, len);
        spi_copy(b->nz, b->slave_rx, tx, len);
        b->len = len;
        b->done = true;
        return (int)len;
    }
    if (tx) {
        if (b->armed)
            return -EBUSY;
        memcpy(b->slave_tx, tx, len);
        b->armed = true;
        b->done = false;
        return -ETIMEDOUT; /* armed; nothing finished yet */
    }
    if (!b->done)
        return -ETIMEDOUT;
    memcpy(rx, b->slave_rx, len);
    b->armed = b->done = false;
    return (int)len;
}

static int s_request(void *ctx, bool on)
{
    struct spi_end *e = ctx;
    e->bus->mreq = on;
    return 0;
}

static int s_wait(void *ctx, uint64_t dl)
{
    (void)dl;
    struct spi_end *e = ctx;
    if (e->master)
        return e->bus->armed && !e->bus->done; /* SREQ */
    return e->bus->mreq;
}

static const struct rpmsg_port_spi_ops spi_ops = { s_transfer, s_request, s_wait, NULL };

/* ---- Both ends, one loop ------------------------------------------------ */

struct sink {
    uint32_t next, count, errors;
};

static int sink_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)src;
    struct sink *s = priv;
    uint32_t seq = 0;
    if (len >= 4)
        memcpy(&seq, data, 4);
    if (len < 4 || seq != s->next)
        s->errors++;
    for (size_t i = 4; i < len; i++)
        if (((const uint8_t *)data)[i] != (uint8_t)(seq * 7 + i))
            s->errors++;
    s->next = seq + 1;
    s->count++;
    return 0;
}

/* Static memory for both ports: what a microcontroller would set aside. */
static uint64_t mem[2][16384];

static void run(struct rpmsg_port_config cfg[2], struct noise *nz)
{
    struct rpmsg_port *port[2];
    struct rpmsg_device *dev[2];
    for (int i = 0; i < 2; i++) {
        size_t need = rpmsg_port_mem_size(&cfg[i]);
        assert_true(need > 0 && need <= sizeof(mem[i]));
        if (!i)
            print_message("port memory: %zu bytes (8 x 128-byte buffers each way)\n", need);
        assert_int_equal(rpmsg_port_init_mem(&port[i], &cfg[i], mem[i], need - 1), -EINVAL);
        assert_int_equal(rpmsg_port_init_mem(&port[i], &cfg[i], mem[i], sizeof(mem[i])), 0);
        dev[i] = rpmsg_port_device(port[i]);
    }
    uint32_t loops = 0;
    struct rpmsg_endpoint ept[2];
    struct sink sink[2];
    memset(ept, 0, sizeof(ept));
    memset(sink, 0, sizeof(sink));
    uint32_t sent[2] = { 0, 0 };
    bool bound = false;
    while (loops++ < LOOPS_MAX && !(sink[0].count == NMSG && sink[1].count == NMSG)) {
        sim_ms++;
        for (int i = 0; i < 2; i++) {
            rpmsg_port_poll_link(port[i]);
            rpmsg_poll(dev[i]);
        }
        if (!bound) {
            if (!rpmsg_device_is_up(dev[0]) || !rpmsg_device_is_up(dev[1]))
                continue;
            for (int i = 0; i < 2; i++)
                assert_int_equal(rpmsg_create_ept(&ept[i], dev[i], NULL, i ? ADDR_B : ADDR_A,
                                                  i ? ADDR_A : ADDR_B, sink_cb, NULL), 0);
            ept[0].priv = &sink[0];
            ept[1].priv = &sink[1];
            bound = true;
        }
        /* As many as the link takes now, of 8..100 bytes. */
        for (int i = 0; i < 2; i++) {
            while (sent[i] < NMSG) {
                uint8_t msg[100];
                uint32_t seq = sent[i];
                size_t len = 8 + seq % 93;
                memcpy(msg, &seq, 4);
                for (size_t k = 4; k < len; k++)
                    msg[k] = (uint8_t)(seq * 7 + k);
                int r = rpmsg_trysend(&ept[i], msg, len);
                if (r != (int)len) {
                    assert_true(r == -EAGAIN || r == -EBUSY || r == -ENOMEM);
                    break;
                }
                sent[i]++;
            }
        }
    }
    print_message("%u turns (%llu ms simulated), %llu bits flipped, %llu bytes dropped\n", loops,
                  (unsigned long long)sim_ms, (unsigned long long)nz->flipped,
                  (unsigned long long)nz->dropped);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sink[i].count, NMSG);
        assert_int_equal(sink[i].errors, 0);
        struct rpmsg_port_stats s;
        assert_int_equal(rpmsg_port_get_stats(dev[i], &s), 0);
        assert_int_equal(s.connects, 1);
        assert_int_equal(s.rx_msgs, NMSG);
        if (nz->flipped)
            assert_true(s.retransmits > 0); /* the damage was repaired, not avoided */
    }
    assert_true(nz->flipped > 0);
    for (int i = 0; i < 2; i++) {
        rpmsg_destroy_ept(&ept[i]);
        rpmsg_port_deinit(port[i]);
    }
}

static void base_config(struct rpmsg_port_config *c, int i)
{
    memset(c, 0, sizeof(*c));
    c->local_cpuname = i ? "b" : "a";
    c->buf_size = 128;
    c->num_tx_bufs = c->num_rx_bufs = 8;
    c->no_rx_thread = true;
    c->boot_entropy = 0x1234u + (uint32_t)i;
}

static void test_uart_poll_noisy(void **state)
{
    (void)state;
    static struct pipe ab, ba;
    struct noise nz = { .flip_in = 1250, .drop_in = 50000 };
    struct uart_end end[2] = { { &ba, &ab, &nz }, { &ab, &ba, &nz } };
    struct rpmsg_port_config c[2];
    for (int i = 0; i < 2; i++) {
        base_config(&c[i], i);
        c[i].link = RPMSG_PORT_UART;
        c[i].uart = &uart_ops;
        c[i].link_ctx = &end[i];
    }
    run(c, &nz);
}

static void test_spi_poll_noisy(void **state)
{
    (void)state;
    static struct spi_bus bus;
    struct noise nz = { .flip_in = 1250 };
    bus.nz = &nz;
    struct spi_end end[2] = { { &bus, true }, { &bus, false } };
    struct rpmsg_port_config c[2];
    for (int i = 0; i < 2; i++) {
        base_config(&c[i], i);
        c[i].link = i ? RPMSG_PORT_SPI_SLAVE : RPMSG_PORT_SPI_MASTER;
        c[i].spi = &spi_ops;
        c[i].link_ctx = &end[i];
    }
    run(c, &nz);
}

/* The build's CRC (one table here, RPMSG_PORT_CRC_TABLES 1) is CRC-32C:
 * both ends agreeing would not show it. */
static void test_crc_check_value(void **state)
{
    (void)state;
    assert_int_equal(rpmsg_port_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rpmsg_port_crc32c(rpmsg_port_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_check_value),
        cmocka_unit_test(test_uart_poll_noisy),
        cmocka_unit_test(test_spi_poll_noisy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
