/*
 * `rpmsg sock`: a socat-style bridge between TCP and RPMsg Socket streams,
 * so ordinary TCP programs run over the link unchanged.
 *   rpmsg sock [LINK] tcp-listen:[HOST:]PORT rpmsg:[CPU:]NAME
 *   rpmsg sock [LINK] rpmsg-listen:NAME tcp:HOST:PORT
 * LINK is one link (then rpmsg:NAME needs no CPU), or --sim: this process
 * is a `program =` core of `rpmsg sim`, and CPU names any core it reaches,
 * through hubs too.
 * Each accepted connection gets its own connection on the other side and
 * two pump threads, one per direction; end of stream travels as a
 * half-close, so request/response programs work as over TCP.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkopts.h"
#include "opt.h"
#include "rpmsg/rpmsg_socket.h"
#include "stop.h"
#include "tools.h"

#define PUMP_BUF 65536

struct bridge {
    bool tcp_listen;              /* else rpmsg-listen */
    char host[256], port[16];     /* tcp side */
    struct rpmsg_sockaddr raddr;  /* rpmsg side */
    unsigned long limit;          /* --count: exit after this many connections */
    atomic_ulong done, active, errors;
    atomic_ullong to_rpmsg, to_tcp;
};

struct conn {
    struct bridge *b;
    int tcp;
    struct rpmsg_socket *rs;
    atomic_int refs;
    atomic_bool failed;
};

static void conn_put(struct conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->failed)
        atomic_fetch_add(&c->b->errors, 1);
    close(c->tcp);
    rpmsg_socket_close(c->rs);
    atomic_fetch_sub(&c->b->active, 1);
    atomic_fetch_add(&c->b->done, 1);
    free(c);
}

/* A broken direction breaks the connection: both sides shut down fully,
 * which ends the other pump's blocking read. */
static void conn_fail(struct conn *c, const char *what, int err)
{
    if (!atomic_exchange(&c->failed, true))
        fprintf(stderr, "rpmsg sock: connection broken: %s: %s\n", what, rpmsg_strerror(err));
    shutdown(c->tcp, SHUT_RDWR);
    rpmsg_socket_shutdown(c->rs, RPMSG_SHUT_RDWR);
}

static void *pump_to_rpmsg(void *arg)
{
    struct conn *c = arg;
    char *buf = malloc(PUMP_BUF);
    for (;;) {
        ssize_t n = buf ? read(c->tcp, buf, PUMP_BUF) : -1;
        if (n == 0) {
            rpmsg_socket_shutdown(c->rs, RPMSG_SHUT_WR);
            break;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            conn_fail(c, "tcp read", -errno);
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = rpmsg_socket_send(c->rs, buf + off, (size_t)(n - off), 0);
            if (w <= 0) {
                conn_fail(c, "rpmsg send", (int)w);
                goto out;
            }
            off += w;
        }
        atomic_fetch_add(&c->b->to_rpmsg, (unsigned long long)n);
    }
out:
    free(buf);
    conn_put(c);
    return NULL;
}

static void *pump_to_tcp(void *arg)
{
    struct conn *c = arg;
    char *buf = malloc(PUMP_BUF);
    for (;;) {
        ssize_t n = buf ? rpmsg_socket_recv(c->rs, buf, PUMP_BUF, 0) : -ENOMEM;
        if (n == 0) {
            shutdown(c->tcp, SHUT_WR);
            break;
        }
        if (n < 0) {
            conn_fail(c, "rpmsg recv", (int)n);
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(c->tcp, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                conn_fail(c, "tcp write", w < 0 ? -errno : -EPIPE);
                goto out;
            }
            off += w;
        }
        atomic_fetch_add(&c->b->to_tcp, (unsigned long long)n);
    }
out:
    free(buf);
    conn_put(c);
    return NULL;
}

static void start(struct bridge *b, int tcp, struct rpmsg_socket *rs)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(tcp);
        rpmsg_socket_close(rs);
        return;
    }
    int one = 1;
    setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->b = b;
    c->tcp = tcp;
    c->rs = rs;
    atomic_init(&c->refs, 2);
    atomic_fetch_add(&b->active, 1);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, pump_to_rpmsg, c)) {
        conn_fail(c, "thread", -EAGAIN);
        conn_put(c);
    }
    if (pthread_create(&t, &a, pump_to_tcp, c)) {
        conn_fail(c, "thread", -EAGAIN);
        conn_put(c);
    }
    pthread_attr_destroy(&a);
}

static struct addrinfo *resolve(const char *host, const char *port, bool passive)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    struct addrinfo *res = NULL;
    int r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (r) {
        fprintf(stderr, "rpmsg sock: %s:%s: %s\n", host, port, gai_strerror(r));
        return NULL;
    }
    return res;
}

static int tcp_connect(struct bridge *b)
{
    struct addrinfo *res = resolve(b->host, b->port, false);
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    if (res)
        freeaddrinfo(res);
    return fd;
}

static int tcp_listen(struct bridge *b)
{
    struct addrinfo *res = resolve(b->host, b->port, true);
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd >= 0 && (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0)) {
            close(fd);
            fd = -1;
        }
    }
    if (res)
        freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "rpmsg sock: cannot listen on %s:%s: %s\n", b->host, b->port,
                strerror(errno));
    return fd;
}

static bool finished(struct bridge *b)
{
    return tool_stop || (b->limit && atomic_load(&b->done) + atomic_load(&b->active) >= b->limit);
}

/* One link's device, or NULL as a sim core: every device, far cores too. */
static bool dev_up(struct rpmsg_device *rdev)
{
    return !rdev || rpmsg_device_is_up(rdev);
}

static int run_tcp_listen(struct bridge *b, struct rpmsg_device *rdev)
{
    int lfd = tcp_listen(b);
    if (lfd < 0)
        return 1;
    fprintf(stderr, "rpmsg sock: tcp %s:%s -> rpmsg %s:%s\n", b->host, b->port, b->raddr.cpu,
            b->raddr.name);
    while (!finished(b) && dev_up(rdev)) {
        struct pollfd p = { lfd, POLLIN, 0 };
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct rpmsg_socket *rs;
        if (rpmsg_socket_open(&rs, RPMSG_SOCK_STREAM)) {
            close(fd);
            continue;
        }
        if (rdev)
            rpmsg_socket_set_device(rs, rdev);
        rpmsg_socket_setopt(rs, RPMSG_SO_SNDTIMEO, 10000);
        int r = rpmsg_socket_connect(rs, &b->raddr);
        rpmsg_socket_setopt(rs, RPMSG_SO_SNDTIMEO, 0);
        if (r) {
            fprintf(stderr, "rpmsg sock: connect %s: %s\n", b->raddr.name, rpmsg_strerror(r));
            atomic_fetch_add(&b->errors, 1);
            atomic_fetch_add(&b->done, 1);
            close(fd);
            rpmsg_socket_close(rs);
            continue;
        }
        start(b, fd, rs);
    }
    close(lfd);
    return 0;
}

static int run_rpmsg_listen(struct bridge *b, struct rpmsg_device *rdev)
{
    struct rpmsg_socket *l;
    int r = rpmsg_socket_open(&l, RPMSG_SOCK_STREAM);
    if (!r && rdev)
        r = rpmsg_socket_set_device(l, rdev);
    if (!r)
        r = rpmsg_socket_bind(l, &b->raddr);
    if (!r)
        r = rpmsg_socket_listen(l, 16);
    if (r) {
        fprintf(stderr, "rpmsg sock: listen %s: %s\n", b->raddr.name, rpmsg_strerror(r));
        return 1;
    }
    rpmsg_socket_setopt(l, RPMSG_SO_RCVTIMEO, 200);
    fprintf(stderr, "rpmsg sock: rpmsg %s -> tcp %s:%s\n", b->raddr.name, b->host, b->port);
    while (!finished(b) && dev_up(rdev)) {
        struct rpmsg_socket *rs;
        if (rpmsg_socket_accept(l, &rs, NULL))
            continue;
        /* It inherited the listener's slice: an idle connection (iperf3's
         * control connection during the test) must not time out. */
        rpmsg_socket_setopt(rs, RPMSG_SO_RCVTIMEO, 0);
        int fd = tcp_connect(b);
        if (fd < 0) {
            fprintf(stderr, "rpmsg sock: connect %s:%s: %s\n", b->host, b->port, strerror(errno));
            atomic_fetch_add(&b->errors, 1);
            atomic_fetch_add(&b->done, 1);
            rpmsg_socket_close(rs);
            continue;
        }
        start(b, fd, rs);
    }
    rpmsg_socket_close(l);
    return 0;
}

/* "prefix:A:B" / "prefix:B": a and b receive the parts (a may stay ""). */
static bool split(const char *arg, const char *prefix, char *a, size_t asz, char *b, size_t bsz)
{
    size_t pl = strlen(prefix);
    if (strncmp(arg, prefix, pl))
        return false;
    const char *rest = arg + pl, *colon = strrchr(rest, ':');
    a[0] = '\0';
    if (colon) {
        if ((size_t)(colon - rest) >= asz)
            return false;
        memcpy(a, rest, (size_t)(colon - rest));
        a[colon - rest] = '\0';
        rest = colon + 1;
    }
    if (!rest[0] || strlen(rest) >= bsz)
        return false;
    strcpy(b, rest);
    return true;
}

static bool parse_pair(struct bridge *b, const char *x, const char *y)
{
    char cpu[RPMSG_SOCKET_CPU_SIZE];
    if (split(x, "tcp-listen:", b->host, sizeof(b->host), b->port, sizeof(b->port)) &&
        split(y, "rpmsg:", cpu, sizeof(cpu), b->raddr.name, sizeof(b->raddr.name))) {
        b->tcp_listen = true;
        strcpy(b->raddr.cpu, cpu);
        return true;
    }
    if (split(x, "rpmsg-listen:", cpu, sizeof(cpu), b->raddr.name, sizeof(b->raddr.name)) &&
        !cpu[0] && split(y, "tcp:", b->host, sizeof(b->host), b->port, sizeof(b->port)) &&
        b->host[0]) {
        b->tcp_listen = false;
        return true;
    }
    return false;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg sock [options] ADDRESS ADDRESS\n"
               "Bridges TCP connections and RPMsg Socket streams over the link:\n"
               "  tcp-listen:[HOST:]PORT rpmsg:[CPU:]NAME   each TCP connection accepted\n"
               "                          becomes a stream connection to service NAME\n"
               "  rpmsg-listen:NAME tcp:HOST:PORT           each connection to NAME becomes\n"
               "                          a TCP connection to HOST:PORT\n"
               "  --count N        exit after N connections have ended\n"
               "  --sim            run as a `program =` core of rpmsg sim (no link option):\n"
               "                   rpmsg:CPU:NAME reaches any core, through hubs too\n"
               "defaults: --role host --side attach\n" LINKOPTS_USAGE);
}

static int run(int argc, char **argv)
{
    static struct bridge b;
    bool sim = false;
    struct linkopts lo;
    linkopts_init(&lo, RPMSG_LINK_HOST, RPMSG_LINK_ATTACH);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "count", required_argument, NULL, 'n' },
        { "sim", no_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = linkopts_parse(&lo, c, optarg);
        if (k < 0)
            return 2;
        if (k)
            continue;
        switch (c) {
        case 'n':
            if (opt_ulong("count", optarg, 1, ULONG_MAX, &b.limit))
                return TOOL_USAGE;
            break;
        case 's': sim = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2 || !parse_pair(&b, argv[optind], argv[optind + 1])) {
        usage(stderr);
        return 2;
    }
    tool_stop_on_signals();
    struct rpmsg_link *link = NULL;
    struct rpmsg_link_member *me = NULL;
    if (sim) {
        int r = rpmsg_link_join(&me, 0);
        if (r) {
            fprintf(stderr, "rpmsg sock: cannot join the sim: %s\n", rpmsg_strerror(r));
            return 1;
        }
    } else if (linkopts_open(&lo, &link, "sock")) {
        return 1;
    }
    struct rpmsg_device *rdev = link ? rpmsg_link_device(link) : NULL;
    int rc = b.tcp_listen ? run_tcp_listen(&b, rdev) : run_rpmsg_listen(&b, rdev);
    /* Connections still running finish first (bounded by their own ends). */
    while (atomic_load(&b.active) && !tool_stop)
        usleep(10000);
    fprintf(stderr, "rpmsg sock: %lu connections, %lu errors, %llu bytes to rpmsg, %llu to tcp\n",
            (unsigned long)b.done, (unsigned long)b.errors, (unsigned long long)b.to_rpmsg,
            (unsigned long long)b.to_tcp);
    if (!atomic_load(&b.active)) {
        if (link)
            rpmsg_link_close(link);
        else
            rpmsg_link_leave(me);
    }
    return rc || b.errors ? 1 : 0;
}

const struct rpmsg_tool_cmd rpmsg_cmd_sock = {
    .name = "sock",
    .summary = "bridge TCP and RPMsg Socket streams (socat-style)",
    .run = run,
};
