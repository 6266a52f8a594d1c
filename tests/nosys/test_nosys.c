/*
 * The bare-metal build (RPMSG_NO_SYS=1): no threads, everything driven by
 * rpmsg_poll() on both devices. Endpoints, name-service binding, a few
 * thousand messages each way, and a blocking send that can only time out.
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
#include "rpmsg/rpmsg_loopback.h"

#if !RPMSG_NO_SYS
#error "this test must be built against the bare-metal library"
#endif

#define NMSG 5000u
#define PAYLOAD_MAX (RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE)

struct sink {
    uint32_t count;
    uint32_t next;
    uint32_t errors;
    uint64_t bytes;
    uint32_t last_src;
    uint32_t unbinds;
};

struct fx {
    struct rpmsg_loopback *lb;
    struct rpmsg_device *a, *b;
    struct rpmsg_endpoint e[RPMSG_EPT_DYN_MAX + 2];
    struct sink s[4];
};

static int sink_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct sink *s = priv;
    (void)ept;
    uint32_t seq = 0;
    if (len >= 4)
        memcpy(&seq, data, 4);
    if (len < 4 || seq != s->next)
        s->errors++;
    for (size_t i = 4; i < len; i++)
        if (((const uint8_t *)data)[i] != (uint8_t)(seq + i))
            s->errors++;
    s->next = seq + 1;
    s->count++;
    s->bytes += len;
    s->last_src = src;
    return 0;
}

static void unbind_cb(struct rpmsg_endpoint *ept)
{
    ((struct sink *)ept->priv)->unbinds++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    if (rpmsg_loopback_create(&f->lb, NULL) < 0) {
        free(f);
        return -1;
    }
    f->a = rpmsg_loopback_dev_a(f->lb);
    f->b = rpmsg_loopback_dev_b(f->lb);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (size_t i = RPMSG_EPT_DYN_MAX + 2; i-- > 0;)
        if (f->e[i].flags & RPMSG_EPT_F_REGISTERED)
            rpmsg_destroy_ept(&f->e[i]);
    rpmsg_loopback_destroy(f->lb);
    free(f);
    return 0;
}

static int poll_idle(struct fx *f)
{
    int total = 0;
    for (int round = 0; round < 10000; round++) {
        int ra = rpmsg_poll(f->a), rb = rpmsg_poll(f->b);
        if (ra < 0 || rb < 0)
            return ra < 0 ? ra : rb;
        total += ra + rb;
        if (!ra && !rb)
            return total;
    }
    return -EBUSY;
}

static int mk(struct fx *f, int i, struct rpmsg_device *d, const char *name, uint32_t src,
              uint32_t dst, struct sink *s)
{
    memset(&f->e[i], 0, sizeof(f->e[i]));
    f->e[i].priv = s;
    return rpmsg_create_ept(&f->e[i], d, name, src, dst, s ? sink_cb : NULL, s ? unbind_cb : NULL);
}

static void test_endpoints(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < RPMSG_EPT_DYN_MAX; i++) {
        assert_int_equal(mk(f, i, f->a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL), 0);
        assert_int_equal(f->e[i].addr, RPMSG_ADDR_DYN_BASE + (uint32_t)i);
    }
    assert_int_equal(mk(f, RPMSG_EPT_DYN_MAX, f->a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL),
                     -EADDRNOTAVAIL);
    assert_int_equal(mk(f, RPMSG_EPT_DYN_MAX, f->a, NULL, 0x100, RPMSG_ADDR_ANY, NULL), 0);
    assert_int_equal(mk(f, RPMSG_EPT_DYN_MAX + 1, f->a, NULL, 0x100, RPMSG_ADDR_ANY, NULL),
                     -EADDRINUSE);
    assert_int_equal(rpmsg_destroy_ept(&f->e[10]), 0);
    assert_int_equal(mk(f, 10, f->a, NULL, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL), 0);
    assert_int_equal(f->e[10].addr, RPMSG_ADDR_DYN_BASE + 10);
    for (int i = 0; i < RPMSG_EPT_DYN_MAX + 1; i++)
        assert_int_equal(rpmsg_destroy_ept(&f->e[i]), 0);
    assert_int_equal(poll_idle(f), 0);
}

static void test_ns_binding(void **state)
{
    struct fx *f = *state;
    assert_int_equal(rpmsg_get_features(f->a), RPMSG_F_NS | RPMSG_F_ACK);
    assert_int_equal(mk(f, 0, f->a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, &f->s[0]), 0);
    assert_int_equal(poll_idle(f), 1);
    assert_int_equal(mk(f, 1, f->b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, &f->s[1]), 0);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    assert_int_equal(poll_idle(f), 1);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);

    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(poll_idle(f), 1);
    assert_int_equal(f->s[1].unbinds, 1);
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
}

/* Sends until the pool is empty, then polls the peer: a main loop's pattern. */
static void pump(struct rpmsg_endpoint *from, struct rpmsg_endpoint *to_peer,
                 uint32_t *seq, uint64_t *bytes)
{
    uint8_t buf[PAYLOAD_MAX];
    unsigned spins = 0;
    while (*seq < NMSG) {
        uint32_t len = 4 + (*seq * 13u) % (PAYLOAD_MAX - 3);
        memcpy(buf, seq, 4);
        for (uint32_t i = 4; i < len; i++)
            buf[i] = (uint8_t)(*seq + i);
        int rc = rpmsg_trysend(from, buf, len);
        if (rc == -EAGAIN) {
            assert_true(rpmsg_poll(to_peer->rdev) >= 0);
            assert_true(++spins < 1000000);
            continue;
        }
        assert_int_equal(rc, (int)len);
        (*seq)++;
        *bytes += len;
        if ((*seq & 3) == 0)
            return; /* let the other direction go too */
    }
}

static void test_messages_both_ways(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->a, "data", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, &f->s[0]), 0);
    assert_int_equal(mk(f, 1, f->b, "data", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, &f->s[1]), 0);
    assert_true(poll_idle(f) >= 2);
    assert_true(rpmsg_is_ept_ready(&f->e[0]));
    assert_true(rpmsg_is_ept_ready(&f->e[1]));

    uint32_t sa = 0, sb = 0;
    uint64_t ba = 0, bb = 0;
    while (sa < NMSG || sb < NMSG) {
        pump(&f->e[0], &f->e[1], &sa, &ba);
        pump(&f->e[1], &f->e[0], &sb, &bb);
    }
    assert_true(poll_idle(f) >= 0);

    assert_int_equal(f->s[1].count, NMSG);
    assert_int_equal(f->s[0].count, NMSG);
    assert_int_equal(f->s[1].errors, 0);
    assert_int_equal(f->s[0].errors, 0);
    assert_int_equal(f->s[1].last_src, f->e[0].addr);
    assert_int_equal(f->s[0].last_src, f->e[1].addr);
    struct rpmsg_stats st;
    assert_int_equal(rpmsg_get_stats(f->a, &st), 0);
    assert_int_equal(st.tx_msgs, NMSG);
    assert_int_equal(st.tx_bytes, ba);
    assert_int_equal(st.rx_msgs, NMSG);
    assert_int_equal(st.rx_bytes, bb);
    assert_int_equal(st.drop_unknown_dst + st.drop_bad_header + st.drop_bad_ns, 0);
    assert_int_equal(f->s[1].bytes, ba);
    assert_int_equal(rpmsg_loopback_free_tx(f->lb, f->a), 16);
    assert_int_equal(rpmsg_loopback_free_tx(f->lb, f->b), 16);
}

/* Nothing can drain the peer while a blocking send spins: it must time out, not hang. */
static void test_blocking_send_times_out(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mk(f, 0, f->a, NULL, 0x100, 0x200, NULL), 0);
    assert_int_equal(mk(f, 1, f->b, NULL, 0x200, 0x100, &f->s[1]), 0);
    uint32_t seq;
    for (seq = 0; seq < 16; seq++)
        assert_int_equal(rpmsg_trysend(&f->e[0], &seq, 4), 4);
    assert_int_equal(rpmsg_set_send_timeout(f->a, 200), 0);
    assert_int_equal(rpmsg_send(&f->e[0], &seq, 4), -ETIMEDOUT);
    assert_int_equal(poll_idle(f), 16);
    assert_int_equal(rpmsg_send(&f->e[0], &seq, 4), 4);
    assert_int_equal(poll_idle(f), 1);
    assert_int_equal(f->s[1].count, 17);
    assert_int_equal(f->s[1].errors, 0);
    /* An unbound endpoint cannot be bound by spinning either. */
    assert_int_equal(mk(f, 2, f->a, "lonely", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL), 0);
    assert_int_equal(rpmsg_send(&f->e[2], "x", 1), -ETIMEDOUT);
    assert_int_equal(rpmsg_trysend(&f->e[2], "x", 1), -EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ns_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_send_times_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
