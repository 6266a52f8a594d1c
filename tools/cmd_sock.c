/*
 * `rpmsg sock`: a socat-style bridge between ordinary sockets (TCP, Unix,
 * UDP, stdio; tools/sock_end.c) and RPMsg Socket streams or datagrams, so
 * ordinary programs run over the link unchanged.
 *   rpmsg sock [LINK] ACCEPTING-END rpmsg:[CPU:]NAME
 *   rpmsg sock [LINK] rpmsg-listen:NAME CONNECTING-END
 *   rpmsg sock [LINK] udp-listen:[HOST:]PORT rpmsg-dgram:[CPU:]NAME
 *   rpmsg sock [LINK] rpmsg-dgram-listen:NAME udp:HOST:PORT
 * LINK is one link (then rpmsg:NAME needs no CPU), or --sim: this process
 * is a `program =` core of `rpmsg sim`, and CPU names any core it reaches,
 * through hubs too.
 * Each accepted connection gets its own connection on the other side and
 * two pump threads, one per direction; end of stream travels as a
 * half-close, so request/response programs work as over TCP. Datagrams
 * cross one for one; one too long for the link is refused with a message.
 */
#include <errno.h>
#include <limits.h>
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
#include "sock_end.h"
#include "stop.h"
#include "tools.h"

#define PUMP_BUF 65536

struct bridge {
    bool rpmsg_listen; /* else the other end accepts */
    int type;          /* RPMSG_SOCK_STREAM or _DGRAM */
    struct sock_end end;
    struct rpmsg_sockaddr raddr;
    const char *arg_end, *arg_rpmsg; /* for messages */
    unsigned long limit;             /* --count: exit after this many connections */
    atomic_ulong done, active, errors, refused;
    atomic_ullong to_rpmsg, to_end;
};

struct conn {
    struct bridge *b;
    int in, out; /* the same socket, or stdin/stdout */
    struct rpmsg_socket *rs;
    atomic_int refs;
    atomic_bool failed, out_closed;
};

static bool dgram(const struct conn *c)
{
    return c->b->type == RPMSG_SOCK_DGRAM;
}

static void conn_put(struct conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->failed)
        atomic_fetch_add(&c->b->errors, 1);
    close(c->in);
    if (c->out != c->in && !c->out_closed)
        close(c->out);
    rpmsg_socket_close(c->rs);
    atomic_fetch_sub(&c->b->active, 1);
    atomic_fetch_add(&c->b->done, 1);
    free(c);
}

/* End of stream towards the end: a socket half-closes, stdout closes. */
static void shut_out(struct conn *c)
{
    if (c->out == c->in)
        shutdown(c->out, SHUT_WR);
    else if (!atomic_exchange(&c->out_closed, true))
        close(c->out);
}

/* A broken direction breaks the connection: both sides shut down fully,
 * which ends the other pump's blocking read. */
static void conn_fail(struct conn *c, const char *what, int err)
{
    if (!atomic_exchange(&c->failed, true))
        fprintf(stderr, "rpmsg sock: connection broken: %s: %s\n", what, rpmsg_strerror(err));
    shutdown(c->in, SHUT_RDWR);
    rpmsg_socket_shutdown(c->rs, RPMSG_SHUT_RDWR);
}

/* A datagram the link cannot carry is the sender's problem, not the
 * connection's: it is dropped with a message (1), the next one goes on. */
static int send_dgram(struct conn *c, const char *buf, size_t n)
{
    ssize_t w = rpmsg_socket_send(c->rs, buf, n, 0);
    if (w == -EMSGSIZE || w == -EFBIG) {
        atomic_fetch_add(&c->b->refused, 1);
        fprintf(stderr, "rpmsg sock: datagram of %zu bytes refused: %s\n", n,
                rpmsg_strerror((int)w));
        return 1;
    }
    return w < 0 ? (int)w : 0;
}

static int send_stream(struct conn *c, const char *buf, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = rpmsg_socket_send(c->rs, buf + off, n - off, 0);
        if (w <= 0)
            return w < 0 ? (int)w : -EPIPE;
        off += (size_t)w;
    }
    return 0;
}

static void *pump_to_rpmsg(void *arg)
{
    struct conn *c = arg;
    char *buf = malloc(PUMP_BUF);
    for (;;) {
        ssize_t n = buf ? read(c->in, buf, PUMP_BUF) : -1;
        if (n == 0 && !dgram(c)) { /* an empty datagram is a datagram */
            rpmsg_socket_shutdown(c->rs, RPMSG_SHUT_WR);
            break;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            conn_fail(c, "read", buf ? -errno : -ENOMEM);
            break;
        }
        int r = dgram(c) ? send_dgram(c, buf, (size_t)n) : send_stream(c, buf, (size_t)n);
        if (r < 0) {
            conn_fail(c, "rpmsg send", r);
            break;
        }
        if (!r)
            atomic_fetch_add(&c->b->to_rpmsg, (unsigned long long)n);
    }
    free(buf);
    conn_put(c);
    return NULL;
}

static int write_all(int fd, const char *buf, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EPIPE;
        off += (size_t)w;
    }
    return 0;
}

/* send(), not write(): only send() carries an empty datagram. */
static int write_dgram(int fd, const char *buf, size_t n)
{
    return send(fd, buf, n, 0) < 0 ? -errno : 0;
}

static void *pump_to_end(void *arg)
{
    struct conn *c = arg;
    char *buf = malloc(PUMP_BUF);
    for (;;) {
        ssize_t n = buf ? rpmsg_socket_recv(c->rs, buf, PUMP_BUF, 0) : -ENOMEM;
        if (n == 0 && !dgram(c)) {
            shut_out(c);
            break;
        }
        if (n < 0) {
            conn_fail(c, "rpmsg recv", (int)n);
            break;
        }
        int r = dgram(c) ? write_dgram(c->out, buf, (size_t)n) : write_all(c->out, buf, (size_t)n);
        if (r) {
            conn_fail(c, "write", r);
            break;
        }
        atomic_fetch_add(&c->b->to_end, (unsigned long long)n);
    }
    free(buf);
    conn_put(c);
    return NULL;
}

static void start(struct bridge *b, int in, int out, struct rpmsg_socket *rs)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(in);
        if (out != in)
            close(out);
        rpmsg_socket_close(rs);
        return;
    }
    c->b = b;
    c->in = in;
    c->out = out;
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
    if (pthread_create(&t, &a, pump_to_end, c)) {
        conn_fail(c, "thread", -EAGAIN);
        conn_put(c);
    }
    pthread_attr_destroy(&a);
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

static void lost(struct bridge *b, const char *what, int err)
{
    fprintf(stderr, "rpmsg sock: %s: %s\n", what, rpmsg_strerror(err));
    atomic_fetch_add(&b->errors, 1);
    atomic_fetch_add(&b->done, 1);
}

static int run_end_accepts(struct bridge *b, struct rpmsg_device *rdev)
{
    if (sock_end_listen(&b->end))
        return 1;
    fprintf(stderr, "rpmsg sock: %s -> %s\n", b->arg_end, b->arg_rpmsg);
    while (!finished(b) && dev_up(rdev)) {
        int in, out, r = sock_end_accept(&b->end, 200, &in, &out);
        if (r < 0)
            break; /* a one-shot end gave its connection */
        if (!r)
            continue;
        struct rpmsg_socket *rs = NULL;
        r = rpmsg_socket_open(&rs, b->type);
        if (!r && rdev)
            r = rpmsg_socket_set_device(rs, rdev);
        if (!r) {
            rpmsg_socket_setopt(rs, RPMSG_SO_SNDTIMEO, 10000);
            r = rpmsg_socket_connect(rs, &b->raddr);
            rpmsg_socket_setopt(rs, RPMSG_SO_SNDTIMEO, 0);
        }
        if (r) {
            lost(b, b->arg_rpmsg, r);
            close(in);
            if (out != in)
                close(out);
            if (rs)
                rpmsg_socket_close(rs);
            continue;
        }
        start(b, in, out, rs);
    }
    sock_end_close(&b->end);
    return 0;
}

/* A bound datagram socket pairs with its first sender: that datagram opens
 * the connection (false if none came this slice). */
static bool first_dgram(struct rpmsg_socket *l, char *buf, ssize_t *n)
{
    *n = rpmsg_socket_recv(l, buf, PUMP_BUF, 0);
    return *n >= 0;
}

static int run_rpmsg_listen(struct bridge *b, struct rpmsg_device *rdev)
{
    struct rpmsg_socket *l;
    int r = rpmsg_socket_open(&l, b->type);
    if (!r && rdev)
        r = rpmsg_socket_set_device(l, rdev);
    if (!r)
        r = rpmsg_socket_bind(l, &b->raddr);
    if (!r && b->type == RPMSG_SOCK_STREAM)
        r = rpmsg_socket_listen(l, 16);
    if (r) {
        fprintf(stderr, "rpmsg sock: listen %s: %s\n", b->raddr.name, rpmsg_strerror(r));
        return 1;
    }
    rpmsg_socket_setopt(l, RPMSG_SO_RCVTIMEO, 200);
    fprintf(stderr, "rpmsg sock: %s -> %s\n", b->arg_rpmsg, b->arg_end);
    static char first[PUMP_BUF];
    ssize_t first_len = -1;
    bool once = b->type == RPMSG_SOCK_DGRAM;
    while (!finished(b) && dev_up(rdev)) {
        struct rpmsg_socket *rs = NULL;
        if (once ? !first_dgram(l, first, &first_len) : rpmsg_socket_accept(l, &rs, NULL) != 0)
            continue;
        if (once)
            rs = l;
        /* It inherited the listener's slice: an idle connection (iperf3's
         * control connection during the test) must not time out. */
        rpmsg_socket_setopt(rs, RPMSG_SO_RCVTIMEO, 0);
        int in, out;
        r = sock_end_connect(&b->end, &in, &out);
        if (!r && once)
            r = write_dgram(out, first, (size_t)first_len);
        if (r) {
            lost(b, b->arg_end, r);
            if (!once)
                rpmsg_socket_close(rs);
            if (once || b->end.kind == SE_STDIO)
                break;
            continue;
        }
        start(b, in, out, rs);
        if (once || b->end.kind == SE_STDIO)
            return 0; /* the connection owns the socket */
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

struct rpmsg_form {
    const char *prefix;
    int type;
    bool listen;
};

static const struct rpmsg_form rpmsg_forms[] = {
    { "rpmsg:", RPMSG_SOCK_STREAM, false },
    { "rpmsg-listen:", RPMSG_SOCK_STREAM, true },
    { "rpmsg-dgram:", RPMSG_SOCK_DGRAM, false },
    { "rpmsg-dgram-listen:", RPMSG_SOCK_DGRAM, true },
};

static bool parse_rpmsg(struct bridge *b, const char *arg)
{
    char cpu[RPMSG_SOCKET_CPU_SIZE];
    for (size_t i = 0; i < sizeof(rpmsg_forms) / sizeof(rpmsg_forms[0]); i++) {
        const struct rpmsg_form *f = &rpmsg_forms[i];
        if (!split(arg, f->prefix, cpu, sizeof(cpu), b->raddr.name, sizeof(b->raddr.name)))
            continue;
        if (f->listen && cpu[0])
            return false; /* a service is ours: no CPU */
        strcpy(b->raddr.cpu, cpu);
        b->type = f->type;
        b->rpmsg_listen = f->listen;
        b->arg_rpmsg = arg;
        return true;
    }
    return false;
}

/* Either order; the ends must fit: an accepting end with a connecting
 * rpmsg address and the other way round, datagrams with UDP. */
static bool parse_pair(struct bridge *b, const char *x, const char *y)
{
    if (!parse_rpmsg(b, y)) {
        const char *t = x;
        x = y;
        y = t;
        if (!parse_rpmsg(b, y))
            return false;
    }
    if (!sock_end_parse(&b->end, x))
        return false;
    b->arg_end = x;
    if (sock_end_dgram(&b->end) != (b->type == RPMSG_SOCK_DGRAM))
        return false;
    return b->rpmsg_listen ? sock_end_connects(&b->end) : sock_end_accepts(&b->end);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg sock [options] ADDRESS ADDRESS\n"
               "Bridges sockets and RPMsg Socket streams or datagrams over the link:\n"
               "  ACCEPTING-END rpmsg:[CPU:]NAME   each connection accepted becomes a\n"
               "                          stream connection to service NAME\n"
               "  rpmsg-listen:NAME CONNECTING-END each connection to NAME becomes a\n"
               "                          connection to the end\n"
               "  udp-listen:[HOST:]PORT rpmsg-dgram:[CPU:]NAME\n"
               "  rpmsg-dgram-listen:NAME udp:HOST:PORT    datagrams, one for one\n"
               "ends:\n" SOCK_END_USAGE "options:\n"
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
    int rc = !b.rpmsg_listen ? run_end_accepts(&b, rdev) : run_rpmsg_listen(&b, rdev);
    /* Connections still running finish first (bounded by their own ends). */
    while (atomic_load(&b.active) && !tool_stop)
        usleep(10000);
    fprintf(stderr,
            "rpmsg sock: %lu connections, %lu errors, %lu datagrams refused, %llu bytes to "
            "rpmsg, %llu to the end\n",
            (unsigned long)b.done, (unsigned long)b.errors, (unsigned long)b.refused,
            (unsigned long long)b.to_rpmsg, (unsigned long long)b.to_end);
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
    .summary = "bridge TCP/Unix/UDP/stdio and RPMsg Socket streams or datagrams (socat-style)",
    .run = run,
};
