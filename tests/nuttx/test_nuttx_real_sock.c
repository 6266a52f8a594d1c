/*
 * RPMsg Socket against the real NuttX (nuttx-apps examples/rpmsgsocket on
 * rpserver's console), our side in this process through the library API as
 * the slave in rpproxy's place:
 * - our client against `rpsock_server` (an echo: recv up to 255 bytes, send
 *   them back): stream and datagram, the server blocking and nonblocking,
 *   our side blocking and nonblocking; every byte compared; a service name
 *   beyond NuttX's 10 characters (2 chars + its CRC on the wire, our SYNC
 *   with the extension and the full name); the server sees our half-close
 *   (its echo thread then ends without closing, so no EOF comes back).
 * - NuttX's `rpsock_client stream block NAME proxy` against a listener of
 *   ours that echoes: its own checks (round trips of growing size, then
 *   4,096,000 bytes both ways) pass: the first MiB of phase two in `make
 *   test`, to its end marker (every byte back) with RPMSG_SOAK=1.
 * - NuttX's `rpsock_client dgram block NAME proxy` against a datagram echo
 *   of ours: 300 of its burst of 992-byte datagrams back, none lost, no
 *   assert (our window towards NuttX is its own 1,024 bytes).
 * Our SYNC is NuttX's 20 bytes + the RSX1 extension (28, or more with the
 * full name): the real NuttX accepting it is what these connections show.
 * One rpserver boot for the group, another for the last case (nx_real.h:
 * lock, cleanup).
 */
#include "nx_real.h"

#include <pthread.h>

#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_socket.h"

#define IO_TIMEOUT_MS 30000u

static struct rpmsg_link *lnk;
static struct rpmsg_device *dev;

static int group_setup(void **st)
{
    (void)st;
    if (!have_pair())
        return 0;
    start_server(&procs[0]);
    struct rpmsg_link_config cfg = {
        .spec = "nuttx-sim:" NX_SHM_NAME ":remote",
        .role = RPMSG_LINK_REMOTE,
        .timeout_ms = 30000,
    };
    if (rpmsg_link_open(&lnk, &cfg) < 0 || rpmsg_link_wait_up(lnk, 30000) < 0) {
        dump("rpserver", &procs[0]);
        return -1;
    }
    dev = rpmsg_link_device(lnk);
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    if (lnk)
        rpmsg_link_close(lnk); /* a clean leave: every buffer given back */
    lnk = NULL;
    nx_kill_all();
    return 0;
}

static void need_pair(void)
{
    if (!dev)
        skip();
}

static uint8_t pattern(size_t i, unsigned seed)
{
    return (uint8_t)(i * 131u + seed * 17u + (i >> 8));
}

static struct rpmsg_socket *sock_new(int type, bool nonblock)
{
    struct rpmsg_socket *s;
    assert_int_equal(rpmsg_socket_open(&s, type), 0);
    assert_int_equal(rpmsg_socket_set_device(s, dev), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_SNDTIMEO, IO_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_RCVTIMEO, IO_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_NONBLOCK, nonblock), 0);
    return s;
}

static void addr_of(struct rpmsg_sockaddr *a, const char *cpu, const char *name)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->cpu, sizeof(a->cpu), "%s", cpu);
    snprintf(a->name, sizeof(a->name), "%s", name);
}

/* Waits (bounded) for events on s; the revents. */
static short wait_for(struct rpmsg_socket *s, short events)
{
    struct rpmsg_socket_pollfd p = { .s = s, .events = events };
    int r = rpmsg_socket_poll(&p, 1, (int)IO_TIMEOUT_MS);
    if (r != 1) {
        struct rpmsg_socket_stats ss = { 0 };
        rpmsg_socket_stats(s, &ss);
        fprintf(stderr, "poll for %#x: %d (queued %u, window %u, inflight %u, malformed %llu)\n",
                (unsigned)events, r, ss.queued, ss.peer_window, ss.inflight,
                (unsigned long long)ss.malformed);
    }
    assert_int_equal(r, 1);
    return p.revents;
}

/*
 * `rpsock_server TYPE MODE NAME &` on the console, until it is serving. A
 * datagram socket of NuttX creates its endpoint only on the device of the
 * cpu it was bound with (none: never), so the server names ours.
 */
static void nx_serve(const char *type, const char *mode, const char *name)
{
    char line[128], seen[96];
    bool dgram = !strcmp(type, "dgram");
    snprintf(line, sizeof(line), "rpsock_server %s %s %s%s &\n", type, mode, name,
             dgram ? " proxy" : "");
    snprintf(seen, sizeof(seen), "name %s ...", name);
    assert_true(console_cmd(&procs[0], line, seen, 30000));
    if (!dgram)
        assert_true(wait_text(&procs[0], 0, "server: listen ...", 30000));
}

static struct rpmsg_socket *connect_to(int type, const char *name, bool nonblock)
{
    struct rpmsg_socket *s = sock_new(type, nonblock);
    struct rpmsg_sockaddr a;
    addr_of(&a, "server", name);
    int r = rpmsg_socket_connect(s, &a);
    if (nonblock && r == -EINPROGRESS) {
        short ev = wait_for(s, RPMSG_POLLOUT);
        assert_int_equal(ev & (RPMSG_POLLERR | RPMSG_POLLHUP), 0);
        assert_true(ev & RPMSG_POLLOUT);
        r = rpmsg_socket_error(s);
    }
    if (r)
        dump("rpserver", &procs[0]);
    assert_int_equal(r, 0);
    return s;
}

static void send_all(struct rpmsg_socket *s, const uint8_t *p, size_t n, bool nonblock)
{
    while (n) {
        if (nonblock)
            assert_true(wait_for(s, RPMSG_POLLOUT) & RPMSG_POLLOUT);
        ssize_t k = rpmsg_socket_send(s, p, n, 0);
        if (nonblock && k == -EAGAIN)
            continue;
        assert_true(k > 0);
        p += k;
        n -= (size_t)k;
    }
}

/* Reads exactly n bytes (the stream must not end before). */
static void recv_all(struct rpmsg_socket *s, uint8_t *p, size_t n, bool nonblock)
{
    while (n) {
        if (nonblock)
            assert_true(wait_for(s, RPMSG_POLLIN) & RPMSG_POLLIN);
        ssize_t k = rpmsg_socket_recv(s, p, n, 0);
        if (nonblock && k == -EAGAIN)
            continue;
        if (k <= 0)
            fprintf(stderr, "recv: %zd with %zu bytes to come\n", k, n);
        assert_true(k > 0);
        p += k;
        n -= (size_t)k;
    }
}

/*
 * total bytes through NuttX's echo, in writes of sizes 1..1000, each
 * write's echo read back before the next: at most what both windows hold
 * (NuttX's 1,024 bytes, and ours, the same towards a NuttX peer), else
 * both sides would wait in send for the other to read. Then our half-close
 * ends its echo loop normally.
 */
static void stream_echo(const char *name, bool nonblock, size_t total)
{
    struct rpmsg_socket *s = connect_to(RPMSG_SOCK_STREAM, name, nonblock);
    struct rpmsg_sock_cred cred;
    assert_int_equal(rpmsg_socket_peercred(s, &cred), 0); /* NuttX's SYNC carries them */
    uint8_t *out = malloc(total), *in = malloc(total);
    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < total; i++)
        out[i] = pattern(i, 1);
    size_t done = 0;
    for (unsigned k = 0; done < total; k++) {
        size_t n = 1 + (k * 397u) % 1000u;
        if (n > total - done)
            n = total - done;
        send_all(s, out + done, n, nonblock);
        recv_all(s, in + done, n, nonblock);
        done += n;
    }
    assert_memory_equal(in, out, total);

    /* rpsock_server's echo thread ends at EOF without closing its socket:
     * no EOF comes back, its console says it saw ours. */
    size_t mark = out_mark(&procs[0]);
    assert_int_equal(rpmsg_socket_shutdown(s, RPMSG_SHUT_WR), 0);
    assert_true(wait_text(&procs[0], mark, "server recv data normal exit", 30000));
    assert_int_equal(rpmsg_socket_close(s), 0);
    free(out);
    free(in);
    no_panic(&procs[0]);
}

static void test_stream_block(void **st)
{
    (void)st;
    need_pair();
    nx_serve("stream", "block", "nxsb");
    stream_echo("nxsb", false, 16 * 1024);
    stream_echo("nxsb", true, 8 * 1024); /* the listener goes on: a second connection */
}

static void test_stream_nonblock(void **st)
{
    (void)st;
    need_pair();
    nx_serve("stream", "nonblock", "nxsn");
    stream_echo("nxsn", true, 16 * 1024);
    stream_echo("nxsn", false, 8 * 1024);
}

/* 15 characters: NuttX names the endpoint "s:nx" + its CRC; our SYNC also
 * carries the full name after the extension, which NuttX must ignore. */
static void test_stream_long_name(void **st)
{
    (void)st;
    need_pair();
    nx_serve("stream", "block", "nxlongservice15");
    stream_echo("nxlongservice15", false, 4 * 1024);
}

/* Datagrams of 1..255 bytes (the server reads 255 at a time) come back whole
 * and in order. */
static void dgram_echo(const char *mode, const char *name, bool nonblock)
{
    nx_serve("dgram", mode, name);
    struct rpmsg_socket *s = connect_to(RPMSG_SOCK_DGRAM, name, nonblock);
    uint8_t out[255], in[512];
    for (unsigned k = 0; k < 120; k++) {
        size_t n = 1 + (k * 37u) % 255u;
        for (size_t i = 0; i < n; i++)
            out[i] = pattern(i, k);
        if (nonblock)
            assert_true(wait_for(s, RPMSG_POLLOUT) & RPMSG_POLLOUT);
        ssize_t r;
        while ((r = rpmsg_socket_send(s, out, n, 0)) == -EAGAIN)
            wait_for(s, RPMSG_POLLOUT);
        assert_int_equal(r, (ssize_t)n);
        if (nonblock)
            assert_true(wait_for(s, RPMSG_POLLIN) & RPMSG_POLLIN);
        r = rpmsg_socket_recv(s, in, sizeof(in), 0);
        if (r != (ssize_t)n)
            dump("rpserver", &procs[0]);
        assert_int_equal(r, (ssize_t)n);
        assert_memory_equal(in, out, n);
    }
    size_t mark = out_mark(&procs[0]);
    assert_int_equal(rpmsg_socket_close(s), 0);
    /* Our endpoint gone: its recv returns 0 and it ends. */
    assert_true(wait_text(&procs[0], mark, "server recv data normal exit", 30000));
    no_panic(&procs[0]);
}

static void test_dgram_block(void **st)
{
    (void)st;
    need_pair();
    dgram_echo("block", "nxdb", false);
}

static void test_dgram_nonblock(void **st)
{
    (void)st;
    need_pair();
    dgram_echo("nonblock", "nxdn", true);
}

/* ---- NuttX's client against a listener of ours ---- */

struct echo_srv {
    struct rpmsg_socket *conn;
    uint64_t bytes;
    ssize_t end; /* what ended the loop: 0 at EOF */
};

/* Echoes until the client closes. */
static void *echo_loop(void *arg)
{
    struct echo_srv *e = arg;
    static uint8_t buf[8192];
    for (;;) {
        ssize_t n = rpmsg_socket_recv(e->conn, buf, sizeof(buf), 0);
        if (n <= 0) {
            e->end = n;
            return NULL;
        }
        e->bytes += (uint64_t)n;
        for (ssize_t off = 0; off < n;) {
            ssize_t k = rpmsg_socket_send(e->conn, buf + off, (size_t)(n - off), 0);
            if (k <= 0) {
                e->end = k;
                return NULL;
            }
            off += k;
        }
    }
}

/* Waits until rpsock_client's receiver reports (its "client recv data, act
 * len N, total T" lines) at least want bytes checked in its phase two. */
static bool wait_client_total(struct proc *nx, size_t mark, long want, int ms)
{
    static const char key[] = "client recv data, act len ";
    for (int t = 0; t <= ms; t += 100) {
        slurp_from(nx, mark, console, sizeof(console));
        const char *last = NULL;
        for (const char *p = console; (p = strstr(p, key)); p += sizeof(key) - 1)
            last = p;
        const char *tot = last ? strstr(last, "total ") : NULL;
        if (tot && strtol(tot + 6, NULL, 10) >= want)
            return true;
        if (strstr(console, "check fail") || strstr(console, "failed"))
            return false;
        usleep(100000);
    }
    return false;
}

static void test_nuttx_client_to_our_listener(void **st)
{
    (void)st;
    need_pair();
    struct rpmsg_socket *l = sock_new(RPMSG_SOCK_STREAM, false);
    struct rpmsg_sockaddr a;
    addr_of(&a, "", "nxrev");
    assert_int_equal(rpmsg_socket_bind(l, &a), 0);
    assert_int_equal(rpmsg_socket_listen(l, 4), 0);

    struct proc *nx = &procs[0];
    size_t mark = out_mark(nx);
    say(nx, "rpsock_client stream block nxrev proxy &\n");
    assert_true(wait_for(l, RPMSG_POLLIN) & RPMSG_POLLIN);
    struct echo_srv e = { 0 };
    struct rpmsg_sockaddr peer;
    assert_int_equal(rpmsg_socket_accept(l, &e.conn, &peer), 0);
    assert_string_equal(peer.cpu, "server");
    assert_memory_equal(peer.name, "nxrev:", 6); /* its connection id follows */
    assert_int_equal(rpmsg_socket_setopt(e.conn, RPMSG_SO_RCVTIMEO, 60000), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, echo_loop, &e), 0);

    /* The client's own checks: round trips of growing size, then 2,000 x
     * 2,048 bytes each way with a 3 s and a 5 s pause, then its end marker
     * (64 bytes) echoed: a minute at NuttX's window, so `make test` stops
     * once its receiver has checked 1 MiB of phase two (make soak,
     * RPMSG_SOAK=1, runs it to the end). */
    bool full = getenv("RPMSG_SOAK") != NULL;
    bool done = full ? wait_text(nx, mark, "client: Terminating", 120000)
                     : wait_client_total(nx, mark, 1u << 20, 60000);
    if (!done) {
        dump("rpserver", nx);
        static char d[4096];
        rpmsg_link_describe(lnk, d, sizeof(d));
        struct rpmsg_socket_stats ss = { 0 };
        rpmsg_socket_stats(e.conn, &ss);
        fprintf(stderr, "link: %s\nconn: queued %u window %u inflight %u malformed %llu echoed %llu\n",
                d, ss.queued, ss.peer_window, ss.inflight, (unsigned long long)ss.malformed,
                (unsigned long long)e.bytes);
    }
    /* What it said before our shutdown (after it, its sender reports failures). */
    slurp_from(nx, mark, console, sizeof(console));
    if (!full)
        rpmsg_socket_shutdown(e.conn, RPMSG_SHUT_RDWR); /* ends our echo loop */
    pthread_join(th, NULL);
    assert_true(done);
    assert_non_null(strstr(console, "client: Connected"));
    assert_non_null(strstr(console, "client recv total 64, send total 64")); /* round trip 0 */
    assert_null(strstr(console, "check fail"));
    assert_null(strstr(console, "failed"));
    if (full) {
        assert_non_null(strstr(console, "client recv done, total 4096000, endflags, send total 4096000"));
        assert_int_equal(e.end, 0); /* its close: EOF here */
        assert_true(e.bytes > 4096000);
    } else {
        assert_true(e.bytes > (1u << 20));
    }
    assert_int_equal(rpmsg_socket_close(e.conn), 0);
    assert_int_equal(rpmsg_socket_close(l), 0);
    no_panic(nx);
}

/* ---- NuttX's datagram client against a socket of ours ---- */

#define NX_DGRAM 992u /* rpsock_client's datagram: its 1,024-byte window - 32 */

struct dgram_srv {
    struct rpmsg_socket *s;
    uint32_t got, lost; /* datagrams; ones whose count is not the next */
    ssize_t end;
};

/* Echoes each datagram; rpsock_client numbers them (first word: count *
 * 248), so a gap is a lost one. */
static void *dgram_loop(void *arg)
{
    struct dgram_srv *e = arg;
    static uint8_t buf[2048];
    for (;;) {
        ssize_t n = rpmsg_socket_recv(e->s, buf, sizeof(buf), 0);
        if (n <= 0) {
            e->end = n;
            return NULL;
        }
        if (n == NX_DGRAM) {
            uint32_t first = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                             (uint32_t)buf[3] << 24;
            e->lost += first != e->got * (NX_DGRAM / 4);
            __atomic_add_fetch(&e->got, 1, __ATOMIC_RELAXED);
        }
        ssize_t k = rpmsg_socket_send(e->s, buf, (size_t)n, 0);
        if (k != n) {
            e->end = k < 0 ? k : -EIO;
            return NULL;
        }
    }
}

/* The link's first messages, for a stuck burst's log (where it sticks: it
 * stuck at the first datagram, when our CREATE_ACK was overtaken). */
struct trace_rec {
    uint8_t dir;
    uint32_t src, dst, len, w0;
};
static struct trace_rec trace_ring[64];
static unsigned trace_n;

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void trace_rec(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    (void)rdev;
    (void)arg;
    const uint8_t *m = msg;
    struct trace_rec r = { (uint8_t)dir, 0, 0, (uint32_t)len, 0 };
    if (len >= 16) {
        r.src = le32_at(m);
        r.dst = le32_at(m + 4);
    }
    if (len >= 20)
        r.w0 = le32_at(m + 16);
    unsigned k = __atomic_fetch_add(&trace_n, 1, __ATOMIC_RELAXED);
    if (k < 64) /* no slot written twice, by two threads */
        trace_ring[k] = r;
}

static void trace_dump(void)
{
    unsigned n = __atomic_load_n(&trace_n, __ATOMIC_ACQUIRE);
    for (unsigned k = 0; k < n && k < 64; k++) {
        struct trace_rec *r = &trace_ring[k];
        print_message("  %s %u -> %u len %u w0 %u\n", r->dir == RPMSG_TRACE_RX ? "rx" : "tx", r->src,
                      r->dst, r->len, r->w0);
    }
}

/*
 * `rpsock_client dgram block NAME proxy`: a sender thread sends 2,000
 * datagrams of 992 bytes as fast as our window lets it, each in a TX buffer
 * of the server's (8), while a receiver takes the echoes. A wider window
 * than NuttX's own let it send into the assert; ours is NuttX's 1,024
 * bytes until the peer shows it is ours.
 */
static void test_nuttx_dgram_client_burst(void **st)
{
    (void)st;
    need_pair();
    /* A fresh server: the previous test's client spins on its failed sends
     * once our side is gone, and the simulator runs one thread at a time. */
    rpmsg_link_close(lnk);
    kill_one(&procs[0]);
    start_server(&procs[0]);
    lnk = nx_slave_up();
    dev = rpmsg_link_device(lnk);
    __atomic_store_n(&trace_n, 0, __ATOMIC_RELAXED);
    rpmsg_set_trace(dev, trace_rec, NULL);
    struct dgram_srv e = { 0 };
    e.s = sock_new(RPMSG_SOCK_DGRAM, false);
    struct rpmsg_sockaddr a;
    addr_of(&a, "", "nxdgc");
    assert_int_equal(rpmsg_socket_bind(e.s, &a), 0);
    assert_int_equal(rpmsg_socket_setopt(e.s, RPMSG_SO_RCVTIMEO, 60000), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, dgram_loop, &e), 0);
    struct proc *nx = &procs[0];
    size_t mark = out_mark(nx);
    say(nx, "rpsock_client dgram block nxdgc proxy &\n");
    /* 300 datagrams echoed (the earlier test's stream client may still be
     * printing its own failures on the console: only ours are looked at). */
    bool done = false;
    for (int t = 0; t < 120000 && !done && procs[0].pid > 0; t += 100) {
        done = __atomic_load_n(&e.got, __ATOMIC_RELAXED) >= 300 &&
               wait_text(nx, mark, "client recv data, act len 992", 0);
        if (!done)
            usleep(100000);
    }
    if (!done)
        dump("rpserver", nx);
    slurp_from(nx, mark, console, sizeof(console));
    rpmsg_socket_shutdown(e.s, RPMSG_SHUT_RDWR); /* ends our loop */
    pthread_join(th, NULL);
    if (!done) {
        /* Where it stuck, for the log (after the join: the loop wrote these). */
        struct rpmsg_stats ls = { 0 };
        rpmsg_get_stats(dev, &ls);
        print_message("ours: got %u lost %u end %zd; link rx %llu tx %llu tx_waits %llu "
                      "drop dst %llu stale %llu\n",
                      (unsigned)e.got, (unsigned)e.lost, e.end, (unsigned long long)ls.rx_msgs,
                      (unsigned long long)ls.tx_msgs, (unsigned long long)ls.tx_waits,
                      (unsigned long long)ls.drop_unknown_dst, (unsigned long long)ls.drop_stale);
        struct rpmsg_socket_stats ss = { 0 };
        rpmsg_socket_stats(e.s, &ss);
        print_message("sock: malformed %llu queued %u peer_window %u inflight %u\n",
                      (unsigned long long)ss.malformed, ss.queued, ss.peer_window, ss.inflight);
        char d[512];
        rpmsg_link_describe(lnk, d, sizeof(d));
        print_message("link: %s\n", d);
        trace_dump();
    }
    rpmsg_set_trace(dev, NULL, NULL);
    assert_true(done);
    assert_non_null(strstr(console, "client: Connected"));
    assert_true(e.got >= 300);
    assert_int_equal(e.lost, 0);
    assert_int_equal(rpmsg_socket_close(e.s), 0);
    no_panic(nx);
}

int main(void)
{
    nx_real_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_block),
        cmocka_unit_test(test_stream_nonblock),
        cmocka_unit_test(test_stream_long_name),
        cmocka_unit_test(test_dgram_block),
        cmocka_unit_test(test_dgram_nonblock),
        cmocka_unit_test(test_nuttx_client_to_our_listener),
        cmocka_unit_test(test_nuttx_dgram_client_burst), /* last: its client keeps running */
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
