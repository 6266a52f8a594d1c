/*
 * Ordering and exact counts under load: 100,000 messages each way at once
 * (ten times that in `make soak`), spread over two endpoints per side, each
 * carrying a link-wide sequence number, a per-endpoint one, and a length
 * and fill derived from them.
 * Callbacks of one link must run one at a time, on one thread, in send order.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* Messages each way; set in main (more in a soak run). */
static uint32_t n_msgs = 100000u;
/* Bound of the waits for a whole run. */
#define RUN_MS (6 * TU_TIMEOUT_MS * tu_soak_factor())
#define PAYLOAD_MAX (RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE)
#define HDR 8u

/* Everything one receiving device checks. */
struct sink {
    uint32_t next_global;
    uint32_t next_ept[2];
    uint32_t received;
    uint64_t bytes;
    uint32_t errors;
    int in_cb;
    uint32_t overlaps;
    pthread_t thread;
    bool have_thread;
    uint32_t other_thread;
    struct tu_event done;
};

struct side {
    struct sink *sink;
    int index; /* which of the two endpoints */
};

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint ea[2], eb[2];
    struct sink sa, sb;
    struct side side_a[2], side_b[2];
    struct tu_thread th;
    uint64_t sent_bytes_b;
    int sender_rc;
};

static uint32_t mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static uint32_t msg_len(uint32_t seq)
{
    return HDR + mix(seq) % (PAYLOAD_MAX - HDR + 1);
}

static int msg_ept(uint32_t seq)
{
    return (int)(mix(seq ^ 0xA5A5A5A5u) & 1);
}

static uint8_t fill(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 31u + i);
}

static int sink_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct side *sd = priv;
    struct sink *s = sd->sink;
    (void)ept;
    (void)src;

    if (__atomic_exchange_n(&s->in_cb, 1, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&s->overlaps, 1, __ATOMIC_SEQ_CST);
    if (!s->have_thread) {
        s->thread = pthread_self();
        s->have_thread = true;
    } else if (!pthread_equal(s->thread, pthread_self())) {
        s->other_thread++;
    }

    uint32_t g, e;
    const uint8_t *b = data;
    if (len < HDR) {
        s->errors++;
        goto out;
    }
    memcpy(&g, b, 4);
    memcpy(&e, b + 4, 4);
    if (g != s->next_global || msg_ept(g) != sd->index || e != s->next_ept[sd->index] ||
        len != msg_len(g)) {
        if (s->errors++ == 0)
            tu_fail_record(__FILE__, __LINE__, "message out of order or malformed");
    } else if (len > HDR && (b[HDR] != fill(g, HDR) || b[len - 1] != fill(g, (uint32_t)len - 1) ||
                             b[HDR + (len - HDR) / 2] != fill(g, HDR + ((uint32_t)len - HDR) / 2))) {
        if (s->errors++ == 0)
            tu_fail_record(__FILE__, __LINE__, "payload corrupted");
    }
    s->next_global = g + 1;
    s->next_ept[sd->index] = e + 1;
out:
    s->received++;
    s->bytes += len;
    __atomic_store_n(&s->in_cb, 0, __ATOMIC_SEQ_CST);
    if (s->received == n_msgs)
        tu_event_post(&s->done);
    return 0;
}

/* Sends n_msgs messages from one device's two endpoints; returns bytes sent or -errno. */
static int64_t send_all(struct rpmsg_endpoint *e)
{
    uint8_t buf[PAYLOAD_MAX];
    uint32_t per_ept[2] = {0, 0};
    int64_t bytes = 0;
    for (uint32_t g = 0; g < n_msgs; g++) {
        uint32_t len = msg_len(g);
        int which = msg_ept(g);
        memcpy(buf, &g, 4);
        memcpy(buf + 4, &per_ept[which], 4);
        for (uint32_t i = HDR; i < len; i++)
            buf[i] = fill(g, i);
        int rc = rpmsg_send(&e[which], buf, len);
        if (rc != (int)len)
            return rc < 0 ? rc : -EIO;
        per_ept[which]++;
        bytes += len;
    }
    return bytes;
}

static void *sender_b(void *arg)
{
    struct fx *f = arg;
    int64_t r = send_all(f->eb);
    if (r < 0)
        f->sender_rc = (int)r;
    else
        f->sent_bytes_b = (uint64_t)r;
    return NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    tu_event_init(&f->sa.done);
    tu_event_init(&f->sb.done);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 2; i++) {
        tu_ept_cleanup(&f->ea[i]);
        tu_ept_cleanup(&f->eb[i]);
    }
    if (tu_thread_join(&f->th, RUN_MS) < 0)
        abort();
    tu_pair_close(&f->p);
    tu_event_deinit(&f->sa.done);
    tu_event_deinit(&f->sb.done);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void test_fifo_both_ways(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, RUN_MS), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.b, RUN_MS), 0);
    for (int i = 0; i < 2; i++) {
        f->side_a[i] = (struct side){&f->sa, i};
        f->side_b[i] = (struct side){&f->sb, i};
        assert_int_equal(tu_ept_create(&f->ea[i], f->p.a, NULL, 0x100 + (uint32_t)i,
                                       0x200 + (uint32_t)i, sink_cb, NULL, &f->side_a[i]),
                         0);
        assert_int_equal(tu_ept_create(&f->eb[i], f->p.b, NULL, 0x200 + (uint32_t)i,
                                       0x100 + (uint32_t)i, sink_cb, NULL, &f->side_b[i]),
                         0);
    }

    assert_int_equal(tu_thread_start(&f->th, sender_b, f), 0);
    int64_t sent_a = send_all(f->ea);
    assert_true(sent_a > 0);
    assert_int_equal(tu_thread_join(&f->th, RUN_MS), 0);
    assert_int_equal(f->sender_rc, 0);

    assert_int_equal(tu_event_wait(&f->sb.done, 1, RUN_MS), 0);
    assert_int_equal(tu_event_wait(&f->sa.done, 1, RUN_MS), 0);

    struct sink *s[2] = {&f->sa, &f->sb};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s[i]->errors, 0);
        assert_int_equal(s[i]->received, n_msgs);
        assert_int_equal(s[i]->next_global, n_msgs);
        assert_int_equal(s[i]->next_ept[0] + s[i]->next_ept[1], n_msgs);
        assert_int_equal(s[i]->overlaps, 0);
        assert_int_equal(s[i]->other_thread, 0);
    }
    /* Each device's callbacks ran on its own RX thread, not the senders'. */
    assert_false(pthread_equal(f->sa.thread, f->sb.thread));
    assert_false(pthread_equal(f->sa.thread, pthread_self()));
    assert_false(pthread_equal(f->sb.thread, pthread_self()));

    assert_int_equal(f->sb.bytes, (uint64_t)sent_a);
    assert_int_equal(f->sa.bytes, f->sent_bytes_b);
    struct rpmsg_stats sta = tu_stats(f->p.a), stb = tu_stats(f->p.b);
    assert_int_equal(sta.tx_msgs, n_msgs);
    assert_int_equal(sta.rx_msgs, n_msgs);
    assert_int_equal(stb.tx_msgs, n_msgs);
    assert_int_equal(stb.rx_msgs, n_msgs);
    assert_int_equal(sta.tx_bytes, (uint64_t)sent_a);
    assert_int_equal(stb.rx_bytes, (uint64_t)sent_a);
    assert_int_equal(stb.tx_bytes, f->sent_bytes_b);
    assert_int_equal(sta.rx_bytes, f->sent_bytes_b);
    assert_int_equal(sta.drop_unknown_dst + sta.drop_bad_header + sta.drop_bad_ns, 0);
    assert_int_equal(stb.drop_unknown_dst + stb.drop_bad_header + stb.drop_bad_ns, 0);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, 16, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.b, 16, TU_TIMEOUT_MS), 0);
}

int main(void)
{
    n_msgs = tu_soak(n_msgs);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fifo_both_ways, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
