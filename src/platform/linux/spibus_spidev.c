/*
 * SPI on real hardware for the port transport: a spidev node for the data
 * and two GPIO lines for the handshake, through libgpiod's v1 API.
 *
 * Wiring (both chips):   MREQ  master output -> slave input
 *                        SREQ  slave output  -> master input
 *                        SCLK, MOSI, MISO, CS as usual; one transfer per CS
 * Master: rpmsg_spidev_open({ .spidev = "/dev/spidev0.0", .speed_hz = 10000000,
 *         .gpiochip = "gpiochip0", .mreq_line = 17, .sreq_line = 27 }), then
 *         rpmsg_port_init() with .link = RPMSG_PORT_SPI_MASTER,
 *         .spi = &rpmsg_spidev_ops, .link_ctx = the handle,
 *         .line_rate = speed_hz / 8. The port sends one frame per transfer of
 *         PORT_OVERHEAD + frame_body bytes: configure the same frame_body on
 *         both chips.
 * Slave:  a Linux slave needs a controller in SPI slave mode bound to spidev
 *         (CONFIG_SPI_SLAVE); set .slave = true. Its SREQ rises just before
 *         the transfer ioctl that arms the controller: a master must allow
 *         for that (tens of microseconds) before it clocks. A microcontroller
 *         peer arms its DMA first and raises SREQ after.
 *
 * libgpiod is opened with dlopen() so that the library links without it; the
 * code builds when <gpiod.h> and <linux/spi/spidev.h> are present and
 * returns -ENOTSUP otherwise. These build machines have no SPI controller:
 * the transport is tested over the simulated bus (spibus_sim.c), which
 * follows the same handshake.
 */
#include <errno.h>
#include <stdlib.h>

#include "rpmsg/rpmsg_port.h"

#if defined(__has_include)
#if __has_include(<gpiod.h>) && __has_include(<linux/spi/spidev.h>)
#define HAVE_SPIDEV 1
#endif
#endif

#ifdef HAVE_SPIDEV
#include <dlfcn.h>
#include <fcntl.h>
#include <gpiod.h>
#include <linux/spi/spidev.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct gpiod_api {
    void *dl;
    __typeof__(&gpiod_chip_open_by_name) chip_open_by_name;
    __typeof__(&gpiod_chip_close) chip_close;
    __typeof__(&gpiod_chip_get_line) chip_get_line;
    __typeof__(&gpiod_line_request_output_flags) request_output_flags;
    __typeof__(&gpiod_line_request_both_edges_events_flags) request_both_edges_flags;
    __typeof__(&gpiod_line_release) line_release;
    __typeof__(&gpiod_line_get_value) get_value;
    __typeof__(&gpiod_line_set_value) set_value;
    __typeof__(&gpiod_line_event_get_fd) event_get_fd;
    __typeof__(&gpiod_line_event_read) event_read;
};

struct rpmsg_spidev {
    int fd, evfd;
    bool slave;
    uint32_t speed_hz;
    struct gpiod_api g;
    struct gpiod_chip *chip;
    struct gpiod_line *out_line, *in_line;
    bool need_low; /* master: SREQ must fall before the next rise counts */
};

static int load_gpiod(struct gpiod_api *g)
{
    g->dl = dlopen("libgpiod.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!g->dl)
        return -ENOENT;
#define SYM(field, name)                                   \
    do {                                                   \
        *(void **)&g->field = dlsym(g->dl, #name);         \
        if (!g->field)                                     \
            return -ENOENT;                                \
    } while (0)
    SYM(chip_open_by_name, gpiod_chip_open_by_name);
    SYM(chip_close, gpiod_chip_close);
    SYM(chip_get_line, gpiod_chip_get_line);
    SYM(request_output_flags, gpiod_line_request_output_flags);
    SYM(request_both_edges_flags, gpiod_line_request_both_edges_events_flags);
    SYM(line_release, gpiod_line_release);
    SYM(get_value, gpiod_line_get_value);
    SYM(set_value, gpiod_line_set_value);
    SYM(event_get_fd, gpiod_line_event_get_fd);
    SYM(event_read, gpiod_line_event_read);
#undef SYM
    return 0;
}

void rpmsg_spidev_close(struct rpmsg_spidev *d)
{
    if (!d)
        return;
    if (d->out_line) {
        d->g.set_value(d->out_line, 0);
        d->g.line_release(d->out_line);
    }
    if (d->in_line)
        d->g.line_release(d->in_line);
    if (d->chip)
        d->g.chip_close(d->chip);
    if (d->g.dl)
        dlclose(d->g.dl);
    if (d->fd >= 0)
        close(d->fd);
    if (d->evfd >= 0)
        close(d->evfd);
    free(d);
}

int rpmsg_spidev_open(struct rpmsg_spidev **out, const struct rpmsg_spidev_config *cfg)
{
    if (!out || !cfg || !cfg->spidev || !cfg->gpiochip)
        return -EINVAL;
    struct rpmsg_spidev *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->fd = d->evfd = -1;
    d->slave = cfg->slave;
    d->speed_hz = cfg->speed_hz;
    int r = load_gpiod(&d->g);
    if (!r) {
        d->fd = open(cfg->spidev, O_RDWR | O_CLOEXEC);
        if (d->fd < 0)
            r = -errno;
    }
    if (!r) {
        uint8_t mode = cfg->mode, bits = 8;
        uint32_t speed = cfg->speed_hz;
        if (ioctl(d->fd, SPI_IOC_WR_MODE, &mode) < 0 || ioctl(d->fd, SPI_IOC_WR_BITS_PER_WORD, &bits) < 0 ||
            (speed && ioctl(d->fd, SPI_IOC_WR_MAX_SPEED_HZ, &speed) < 0))
            r = -errno;
    }
    if (!r) {
        d->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->evfd < 0)
            r = -errno;
    }
    if (!r) {
        d->chip = d->g.chip_open_by_name(cfg->gpiochip);
        if (!d->chip)
            r = -errno ? -errno : -ENODEV;
    }
    if (!r) {
        unsigned out_no = cfg->slave ? cfg->sreq_line : cfg->mreq_line;
        unsigned in_no = cfg->slave ? cfg->mreq_line : cfg->sreq_line;
        int flags = cfg->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
        struct gpiod_line *o = d->g.chip_get_line(d->chip, out_no);
        struct gpiod_line *i = d->g.chip_get_line(d->chip, in_no);
        if (!o || !i || d->g.request_output_flags(o, "rpmsg-port", flags, 0) < 0)
            r = -errno ? -errno : -EIO;
        else
            d->out_line = o;
        if (!r && d->g.request_both_edges_flags(i, "rpmsg-port", flags) < 0)
            r = -errno ? -errno : -EIO;
        else if (!r)
            d->in_line = i;
    }
    if (r) {
        rpmsg_spidev_close(d);
        return r;
    }
    *out = d;
    return 0;
}

static int ms_until(uint64_t deadline)
{
    uint64_t now = rpmsg_time_ms();
    if (deadline == RPMSG_FOREVER)
        return -1;
    return deadline <= now ? 0 : deadline - now > 60000 ? 60000 : (int)(deadline - now);
}

static int xfer(struct rpmsg_spidev *d, const void *tx, void *rx, size_t len)
{
    struct spi_ioc_transfer t;
    memset(&t, 0, sizeof(t));
    t.tx_buf = (uintptr_t)tx;
    t.rx_buf = (uintptr_t)rx;
    t.len = (uint32_t)len;
    t.speed_hz = d->speed_hz;
    t.bits_per_word = 8;
    return ioctl(d->fd, SPI_IOC_MESSAGE(1), &t) < 0 ? -errno : (int)len;
}

static int dev_transfer(void *ctx, const void *tx, void *rx, size_t len, uint64_t deadline)
{
    struct rpmsg_spidev *d = ctx;
    (void)deadline; /* spidev has no timeout: a slave waits in the ioctl */
    if (!d)
        return -EINVAL;
    if (!tx)
        return 0; /* one transfer at a time: nothing is ever left armed */
    if (!rx || !len)
        return -EINVAL;
    if (!d->slave) {
        int r = xfer(d, tx, rx, len);
        d->need_low = true;
        return r;
    }
    d->g.set_value(d->out_line, 1);
    int r = xfer(d, tx, rx, len);
    d->g.set_value(d->out_line, 0);
    return r;
}

static int dev_set_request(void *ctx, bool on)
{
    struct rpmsg_spidev *d = ctx;
    if (!d || d->slave)
        return -EINVAL;
    return d->g.set_value(d->out_line, on ? 1 : 0) < 0 ? -EIO : 0;
}

static int dev_wait_peer(void *ctx, uint64_t deadline)
{
    struct rpmsg_spidev *d = ctx;
    if (!d)
        return -EINVAL;
    for (;;) {
        int v = d->g.get_value(d->in_line);
        if (v < 0)
            return -EIO;
        if (d->slave && v)
            return 1;
        if (!d->slave) {
            if (!v)
                d->need_low = false;
            else if (!d->need_low)
                return 1;
        }
        struct pollfd pf[2] = { { .fd = d->g.event_get_fd(d->in_line), .events = POLLIN },
                                { .fd = d->evfd, .events = POLLIN } };
        int to = ms_until(deadline);
        if (to == 0)
            return 0;
        int n = poll(pf, 2, to);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && (pf[0].revents & POLLIN)) {
            struct gpiod_line_event ev;
            if (d->g.event_read(d->in_line, &ev) == 0 && ev.event_type == GPIOD_LINE_EVENT_FALLING_EDGE)
                d->need_low = false;
        }
        if (n > 0 && (pf[1].revents & POLLIN)) {
            uint64_t v64;
            if (read(d->evfd, &v64, sizeof(v64)) < 0) {
                /* drained by another wake */
            }
            return 0;
        }
    }
}

static void dev_wakeup(void *ctx)
{
    struct rpmsg_spidev *d = ctx;
    uint64_t one = 1;
    if (d && write(d->evfd, &one, sizeof(one)) < 0) {
        /* a wake is pending */
    }
}

#else /* no spidev / libgpiod headers */

struct rpmsg_spidev {
    int unused;
};

int rpmsg_spidev_open(struct rpmsg_spidev **out, const struct rpmsg_spidev_config *cfg)
{
    (void)out;
    (void)cfg;
    return -ENOTSUP;
}

void rpmsg_spidev_close(struct rpmsg_spidev *d)
{
    (void)d;
}

static int dev_transfer(void *ctx, const void *tx, void *rx, size_t len, uint64_t deadline)
{
    (void)ctx, (void)tx, (void)rx, (void)len, (void)deadline;
    return -ENOTSUP;
}

static int dev_set_request(void *ctx, bool on)
{
    (void)ctx, (void)on;
    return -ENOTSUP;
}

static int dev_wait_peer(void *ctx, uint64_t deadline)
{
    (void)ctx, (void)deadline;
    return -ENOTSUP;
}

static void dev_wakeup(void *ctx)
{
    (void)ctx;
}

#endif

const struct rpmsg_port_spi_ops rpmsg_spidev_ops = {
    .transfer = dev_transfer,
    .set_request = dev_set_request,
    .wait_peer = dev_wait_peer,
    .wakeup = dev_wakeup,
};
