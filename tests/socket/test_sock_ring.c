/*
 * The window ring between its producer (the link's RX context) and its
 * consumer (a reader) with no lock in common (sock_ring.h). First the ring
 * alone: a producer thread and a consumer thread move a patterned stream
 * through a ring of an odd capacity in chunks of changing sizes, every byte
 * checked in order (under TSan an unordered access fails the test). Then
 * over a VirtIO pair between two sockets of ours, where full DATA reach the
 * ring without sock_lock (rx_fast): when that is allowed (a stream peer of
 * ours, reads not shut; never a datagram), and a shutdown of reads racing a
 * stream: recv returns 0, never a byte appended after it, and the writer
 * gets -EPIPE with everything it sent acknowledged.
 */
#include <sched.h>

#include "services/socket/sock_priv.h"
#include "sock_fixture.h"

#define RING_CAP 97u
#define RING_BYTES (1u << 20)

struct ring_side {
    struct sock_ring *r;
    uint64_t done;
    bool over_cap; /* sock_ring_used() above the capacity, ever */
};

/* Chunk sizes 1..RING_CAP in an order that is not a cycle of the ring. */
static uint32_t chunk_at(uint64_t i, uint32_t mul)
{
    return (uint32_t)(i * mul % RING_CAP) + 1;
}

static void *ring_producer(void *arg)
{
    struct ring_side *p = arg;
    uint8_t buf[RING_CAP];
    uint64_t deadline = rpmsg_deadline(TU_TIMEOUT_MS);
    for (uint64_t i = 0; p->done < RING_BYTES && rpmsg_time_ms() < deadline;) {
        uint32_t n = chunk_at(i, 37);
        if (n > RING_BYTES - p->done)
            n = (uint32_t)(RING_BYTES - p->done);
        uint32_t used = sock_ring_used(p->r);
        p->over_cap |= used > RING_CAP;
        if (sock_ring_free(p->r) < n) {
            sched_yield();
            continue;
        }
        sf_fill(buf, n, 5, p->done);
        sock_ring_put(p->r, buf, n);
        p->done += n;
        i++;
    }
    return NULL;
}

/* The consumer: returns the offset of the first wrong byte, or the count. */
static uint64_t ring_consume(struct ring_side *c)
{
    uint8_t buf[RING_CAP];
    uint64_t deadline = rpmsg_deadline(TU_TIMEOUT_MS);
    for (uint64_t i = 0; c->done < RING_BYTES && rpmsg_time_ms() < deadline; i++) {
        c->over_cap |= sock_ring_used(c->r) > RING_CAP;
        uint32_t got = sock_ring_get(c->r, buf, chunk_at(i, 53));
        if (!got) {
            sched_yield();
            continue;
        }
        for (uint32_t k = 0; k < got; k++)
            if (buf[k] != sf_byte(5, c->done + k))
                return c->done + k;
        c->done += got;
    }
    return c->done;
}

static void test_ring_spsc(void **st)
{
    (void)st;
    struct sock_ring r;
    assert_int_equal(sock_ring_init(&r, RING_CAP), 0);
    struct ring_side p = { &r, 0, false }, c = { &r, 0, false };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, ring_producer, &p), 0);
    uint64_t ok = ring_consume(&c);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(ok, RING_BYTES);
    assert_int_equal(p.done, RING_BYTES);
    assert_false(p.over_cap);
    assert_false(c.over_cap);
    assert_int_equal(sock_ring_used(&r), 0);
    /* Positions run over twice the capacity: a full ring is not an empty one. */
    uint8_t full[RING_CAP];
    sf_fill(full, sizeof(full), 9, 0);
    sock_ring_put(&r, full, RING_CAP);
    assert_int_equal(sock_ring_used(&r), RING_CAP);
    assert_int_equal(sock_ring_free(&r), 0);
    uint8_t back[RING_CAP];
    assert_int_equal(sock_ring_get(&r, back, RING_CAP + 1), RING_CAP);
    assert_memory_equal(back, full, RING_CAP);
    sock_ring_deinit(&r);
}

/* A stream connection between two sockets of ours over a VirtIO pair. */
struct conn {
    struct sf f;
    struct rpmsg_socket *l, *c, *s;
};

static void conn_open(struct conn *k, const char *name)
{
    assert_int_equal(sf_open(&k->f, SF_VIRTIO), 0);
    k->l = sf_listen(&k->f, name, 1);
    k->c = sf_connect(&k->f, RPMSG_SOCK_STREAM, name);
    k->s = sf_accept(k->l);
}

static void conn_close(struct conn *k)
{
    rpmsg_socket_close(k->c);
    rpmsg_socket_close(k->s);
    rpmsg_socket_close(k->l);
    sf_close(&k->f);
}

static uint32_t hold_max_of(struct rpmsg_socket *s)
{
    rpmsg_mutex_lock(&sock_lock);
    uint32_t v = __atomic_load_n(&s->rx_hold_max, __ATOMIC_RELAXED);
    rpmsg_mutex_unlock(&sock_lock);
    return v;
}

/* Settled: the whole window advertised (our second SYNC went), and half of
 * it may wait unread while full DATA skip the lock. */
static bool fast_on(void *arg)
{
    struct rpmsg_socket *s = arg;
    rpmsg_mutex_lock(&sock_lock);
    uint32_t max = __atomic_load_n(&s->rx_hold_max, __ATOMIC_RELAXED);
    bool ok = s->adv == s->rcvbuf && max == s->rcvbuf / 2;
    rpmsg_mutex_unlock(&sock_lock);
    return ok;
}

static void test_fast_path_when(void **st)
{
    (void)st;
    struct conn k;
    conn_open(&k, "fast");
    /* Both ends are ours: each holds up to half the window it advertised,
     * once its second SYNC (the whole window) went. */
    assert_int_equal(tu_wait_until(fast_on, k.s, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(fast_on, k.c, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_shutdown(k.s, RPMSG_SHUT_RD), 0);
    assert_int_equal(hold_max_of(k.s), 0);

    /* Datagrams keep their boundaries under the lock. */
    struct rpmsg_socket *d = NULL;
    assert_int_equal(rpmsg_socket_open(&d, RPMSG_SOCK_DGRAM), 0);
    struct rpmsg_sockaddr a = sf_addr(k.f.server_cpu, "fastd");
    assert_int_equal(rpmsg_socket_bind(d, &a), 0);
    assert_int_equal(hold_max_of(d), 0);
    rpmsg_socket_close(d);
    conn_close(&k);
}

/* What the RX callback could not send (it only tries) stays owed until the
 * next call on the socket (docs/architecture.md, "Threads"): the reader's
 * side makes one, then the writer's side must have nothing in flight. */
static bool all_acked(void *arg)
{
    struct conn *k = arg;
    char b[1];
    if (rpmsg_socket_recv(k->s, b, sizeof(b), RPMSG_MSG_DONTWAIT) != 0)
        return false;
    struct rpmsg_socket_stats st;
    return rpmsg_socket_stats(k->c, &st) == 0 && st.inflight == 0;
}

static bool queue_empty(void *arg)
{
    struct rpmsg_socket_stats st;
    return rpmsg_socket_stats(arg, &st) == 0 && st.queued == 0;
}

static void test_shut_rd_racing_stream(void **st)
{
    (void)st;
    struct conn k;
    conn_open(&k, "race");
    /* An endless writer in 64 KiB writes: mostly full DATA, taken by the
     * RX context without the lock while this thread reads. */
    struct sf_sender w = { k.c, 3, UINT64_MAX, 65536, 0 };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, sf_send_thread, &w), 0);
    uint8_t buf[3000];
    uint64_t off = 0;
    while (off < (2u << 20)) {
        ssize_t r = rpmsg_socket_recv(k.s, buf, sizeof(buf), 0);
        assert_true(r > 0);
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != sf_byte(3, off + (uint64_t)i))
                fail_msg("byte %llu wrong", (unsigned long long)(off + (uint64_t)i));
        off += (uint64_t)r;
    }
    assert_int_equal(rpmsg_socket_shutdown(k.s, RPMSG_SHUT_RD), 0);
    /* Whatever the RX context appends from now on is nobody's. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(rpmsg_socket_recv(k.s, buf, sizeof(buf), 0), 0);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(w.rc, -EPIPE);
    assert_int_equal(rpmsg_socket_recv(k.s, buf, sizeof(buf), 0), 0);
    assert_int_equal(tu_wait_until(queue_empty, k.s, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(all_acked, &k, TU_TIMEOUT_MS), 0);
    conn_close(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_spsc),
        cmocka_unit_test(test_fast_path_when),
        cmocka_unit_test(test_shut_rd_racing_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
