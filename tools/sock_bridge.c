/*
 * The bridge of `rpmsg sock` (sock_bridge.h): each accepted connection gets
 * its own connection on the other side and two pump threads, one per
 * direction; end of stream travels as a half-close, so request/response
 * programs work as over TCP. Datagrams cross one for one; one too long for
 * the link is refused with a message.
 */
#include "sock_bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stop.h"

#define PUMP_BUF 65536


struct sock_bridge_conn {
    struct sock_bridge *b;
    int in, out; /* the same socket, or stdin/stdout */
    struct rpmsg_socket *rs;
    atomic_int refs;
    atomic_bool failed, out_closed;
    struct sock_bridge_conn *next; /* in b->conns */
};

static bool dgram(const struct sock_bridge_conn *c)
{
    return c->b->type == RPMSG_SOCK_DGRAM;
}

static void conn_put(struct sock_bridge_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    pthread_mutex_lock(&c->b->lock);
    struct sock_bridge_conn **p = &c->b->conns;
    while (*p && *p != c)
        p = &(*p)->next;
    if (*p)
        *p = c->next;
    pthread_mutex_unlock(&c->b->lock);
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
static void shut_out(struct sock_bridge_conn *c)
{
    if (c->out == c->in)
        shutdown(c->out, SHUT_WR);
    else if (!atomic_exchange(&c->out_closed, true))
        close(c->out);
}

/* A broken direction breaks the connection: both sides shut down fully,
 * which ends the other pump's blocking read. */
static void conn_fail(struct sock_bridge_conn *c, const char *what, int err)
{
    if (!atomic_exchange(&c->failed, true))
        fprintf(stderr, "%s: connection broken: %s: %s\n", c->b->who, what, rpmsg_strerror(err));
    shutdown(c->in, SHUT_RDWR);
    rpmsg_socket_shutdown(c->rs, RPMSG_SHUT_RDWR);
}

/* A datagram the link cannot carry is the sender's problem, not the
 * connection's: it is dropped with a message (1), the next one goes on. */
static int send_dgram(struct sock_bridge_conn *c, const char *buf, size_t n)
{
    ssize_t w = rpmsg_socket_send(c->rs, buf, n, 0);
    if (w == -EMSGSIZE || w == -EFBIG) {
        atomic_fetch_add(&c->b->refused, 1);
        fprintf(stderr, "%s: datagram of %zu bytes refused: %s\n", c->b->who, n,
                rpmsg_strerror((int)w));
        return 1;
    }
    return w < 0 ? (int)w : 0;
}

static int send_stream(struct sock_bridge_conn *c, const char *buf, size_t n)
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
    struct sock_bridge_conn *c = arg;
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
    struct sock_bridge_conn *c = arg;
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

static void start(struct sock_bridge *b, int in, int out, struct rpmsg_socket *rs)
{
    struct sock_bridge_conn *c = calloc(1, sizeof(*c));
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
    pthread_mutex_lock(&b->lock);
    c->next = b->conns;
    b->conns = c;
    pthread_mutex_unlock(&b->lock);
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

static bool finished(struct sock_bridge *b)
{
    return tool_stop || atomic_load(&b->stop) || (b->limit && atomic_load(&b->done) + atomic_load(&b->active) >= b->limit);
}

/* One link's device, or NULL as a sim core: every device, far cores too. */
static bool dev_up(struct rpmsg_device *rdev)
{
    return !rdev || rpmsg_device_is_up(rdev);
}

static void lost(struct sock_bridge *b, const char *what, int err)
{
    fprintf(stderr, "%s: %s: %s\n", b->who, what, rpmsg_strerror(err));
    atomic_fetch_add(&b->errors, 1);
    atomic_fetch_add(&b->done, 1);
}

static int run_end_accepts(struct sock_bridge *b, struct rpmsg_device *rdev)
{
    if (sock_end_listen(&b->end))
        return 1;
    fprintf(stderr, "%s: %s -> %s\n", b->who, b->arg_end, b->arg_rpmsg);
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

static int run_rpmsg_listen(struct sock_bridge *b, struct rpmsg_device *rdev)
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
        fprintf(stderr, "%s: listen %s: %s\n", b->who, b->raddr.name, rpmsg_strerror(r));
        return 1;
    }
    rpmsg_socket_setopt(l, RPMSG_SO_RCVTIMEO, 200);
    fprintf(stderr, "%s: %s -> %s\n", b->who, b->arg_rpmsg, b->arg_end);
    ssize_t first_len = -1;
    bool once = b->type == RPMSG_SOCK_DGRAM;
    char *first = once ? malloc(PUMP_BUF) : NULL; /* several bridges may run at once */
    if (once && !first) {
        rpmsg_socket_close(l);
        return 1;
    }
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
        if (once || b->end.kind == SE_STDIO) {
            free(first);
            return 0; /* the connection owns the socket */
        }
    }
    free(first);
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

static bool parse_rpmsg(struct sock_bridge *b, const char *arg)
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
bool sock_bridge_parse(struct sock_bridge *b, const char *x, const char *y)
{
    pthread_mutex_init(&b->lock, NULL);
    if (!b->who)
        b->who = "rpmsg sock";
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

int sock_bridge_run(struct sock_bridge *b, struct rpmsg_device *rdev)
{
    return !b->rpmsg_listen ? run_end_accepts(b, rdev) : run_rpmsg_listen(b, rdev);
}

bool sock_bridge_stop(struct sock_bridge *b, unsigned timeout_ms)
{
    atomic_store(&b->stop, true);
    /* Shutting both sides down ends each pump's blocking call; the last
     * pump out frees the connection. */
    pthread_mutex_lock(&b->lock);
    for (struct sock_bridge_conn *c = b->conns; c; c = c->next) {
        shutdown(c->in, SHUT_RDWR);
        rpmsg_socket_shutdown(c->rs, RPMSG_SHUT_RDWR);
    }
    pthread_mutex_unlock(&b->lock);
    for (unsigned t = 0; t < timeout_ms / 10 && atomic_load(&b->active); t++)
        usleep(10000);
    return atomic_load(&b->active) == 0;
}
