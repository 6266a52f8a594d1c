/*
 * A tty as the byte stream under the port transport's UART link: raw 8N1
 * through termios, non-blocking I/O with poll() deadlines, and an eventfd
 * so that a blocked read can be woken for shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "rpmsg/rpmsg_port.h"

struct rpmsg_tty {
    int fd;
    bool own_fd;
    int evfd;
    struct rpmsg_tty_io io;
};

static ssize_t sys_read(void *ctx, int fd, void *buf, size_t len)
{
    (void)ctx;
    return read(fd, buf, len);
}

static ssize_t sys_write(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx;
    return write(fd, buf, len);
}

static int baud_const(uint32_t baud, speed_t *out)
{
    static const struct {
        uint32_t baud;
        speed_t c;
    } map[] = {
        { 9600, B9600 },       { 19200, B19200 },     { 38400, B38400 },
        { 57600, B57600 },     { 115200, B115200 },   { 230400, B230400 },
        { 460800, B460800 },   { 500000, B500000 },   { 576000, B576000 },
        { 921600, B921600 },   { 1000000, B1000000 }, { 1152000, B1152000 },
        { 1500000, B1500000 }, { 2000000, B2000000 }, { 2500000, B2500000 },
        { 3000000, B3000000 }, { 3500000, B3500000 }, { 4000000, B4000000 },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].baud == baud) {
            *out = map[i].c;
            return 0;
        }
    return -EINVAL;
}

static int setup(int fd, const struct rpmsg_tty_config *cfg)
{
    struct termios t;
    if (tcgetattr(fd, &t))
        return -errno;
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB);
    if (cfg->rtscts)
        t.c_cflag |= CRTSCTS;
    else
        t.c_cflag &= ~(tcflag_t)CRTSCTS;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfg->baud) {
        speed_t s;
        int r = baud_const(cfg->baud, &s);
        if (r)
            return r;
        cfsetispeed(&t, s);
        cfsetospeed(&t, s);
    }
    if (tcsetattr(fd, TCSANOW, &t))
        return -errno;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
        return -errno;
    return 0;
}

int rpmsg_tty_open(struct rpmsg_tty **out, const struct rpmsg_tty_config *cfg)
{
    if (!out || !cfg || (!cfg->path && cfg->fd < 0))
        return -EINVAL;
    struct rpmsg_tty *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fd = cfg->path ? open(cfg->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : cfg->fd;
    t->own_fd = cfg->path != NULL;
    t->io = cfg->io ? *cfg->io : (struct rpmsg_tty_io){ sys_read, sys_write, NULL };
    if (!t->io.read)
        t->io.read = sys_read;
    if (!t->io.write)
        t->io.write = sys_write;
    int r = t->fd < 0 ? -errno : 0;
    if (!r) {
        t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (t->evfd < 0)
            r = -errno;
    }
    if (!r)
        r = setup(t->fd, cfg);
    if (!r && t->own_fd)
        tcflush(t->fd, TCIOFLUSH); /* what the line left in the driver is not ours */
    if (r) {
        if (t->own_fd && t->fd >= 0)
            close(t->fd);
        if (t->evfd > 0)
            close(t->evfd);
        free(t);
        return r;
    }
    *out = t;
    return 0;
}

void rpmsg_tty_close(struct rpmsg_tty *t)
{
    if (!t)
        return;
    if (t->own_fd)
        close(t->fd);
    close(t->evfd);
    free(t);
}

static int ms_until(uint64_t deadline)
{
    uint64_t now = rpmsg_time_ms();
    if (deadline == RPMSG_FOREVER)
        return -1;
    if (deadline <= now)
        return 0;
    return deadline - now > 60000 ? 60000 : (int)(deadline - now);
}

static int tty_write(void *ctx, const void *buf, size_t len, uint64_t deadline)
{
    struct rpmsg_tty *t = ctx;
    size_t off = 0;
    while (off < len) {
        ssize_t w = t->io.write(t->io.ctx, t->fd, (const uint8_t *)buf + off, len - off);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return off ? (int)off : -errno;
        struct pollfd pf = { .fd = t->fd, .events = POLLOUT };
        int to = ms_until(deadline);
        if (to == 0)
            return off ? (int)off : -ETIMEDOUT;
        if (poll(&pf, 1, to) < 0 && errno != EINTR)
            return -errno;
    }
    return (int)len;
}

static int tty_read(void *ctx, void *buf, size_t len, uint64_t deadline)
{
    struct rpmsg_tty *t = ctx;
    for (;;) {
        ssize_t r = t->io.read(t->io.ctx, t->fd, buf, len);
        if (r > 0)
            return (int)r;
        if (r == 0)
            return -EIO;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        struct pollfd pf[2] = { { .fd = t->fd, .events = POLLIN }, { .fd = t->evfd, .events = POLLIN } };
        int to = ms_until(deadline);
        if (to == 0)
            return 0;
        int n = poll(pf, 2, to);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && (pf[1].revents & POLLIN)) {
            uint64_t v;
            if (read(t->evfd, &v, sizeof(v)) < 0) {
                /* already drained by another wake: nothing to do */
            }
            return 0;
        }
        if (n > 0 && (pf[0].revents & (POLLHUP | POLLERR)) && !(pf[0].revents & POLLIN))
            return -EIO;
    }
}

static void tty_wakeup(void *ctx)
{
    struct rpmsg_tty *t = ctx;
    uint64_t one = 1;
    if (write(t->evfd, &one, sizeof(one)) < 0) {
        /* the counter is saturated: a wake is pending anyway */
    }
}

const struct rpmsg_port_uart_ops rpmsg_tty_ops = {
    .write = tty_write,
    .read = tty_read,
    .wakeup = tty_wakeup,
};
