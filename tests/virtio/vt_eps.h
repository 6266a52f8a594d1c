/*
 * A sender's endpoint (0x500) on one side of an in-process pair and, on the
 * other, a receiver's (0x501) that records what arrives: the setup of the
 * tests whose cases run once with the host and once with the remote as
 * sender. No RX threads: the test polls each side itself.
 */
#ifndef VT_EPS_H
#define VT_EPS_H

#include "vt_plat.h"

struct vt_eps {
    struct rpmsg_endpoint se, re; /* sender's, receiver's */
    struct tu_rec rr;
};

static inline void vt_eps_open(struct vt_pair *p, struct vt_eps *e, bool remote_sends)
{
    struct vt_opts o = { .no_rx_thread = true };
    assert_int_equal(vt_pair_open(p, &o), 0);
    assert_int_equal(vt_wait_up(p), 0);
    memset(e, 0, sizeof(*e));
    tu_rec_init(&e->rr);
    struct rpmsg_device *sd = remote_sends ? p->r : p->h, *rd = remote_sends ? p->h : p->r;
    assert_int_equal(tu_ept_create(&e->se, sd, NULL, 0x500, 0x501, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&e->re, rd, NULL, 0x501, 0x500, tu_rec_cb, NULL, &e->rr), 0);
    assert_int_equal(tu_poll_idle(p->h, p->r), 0);
}

static inline void vt_eps_close(struct vt_pair *p, struct vt_eps *e)
{
    rpmsg_destroy_ept(&e->se);
    rpmsg_destroy_ept(&e->re);
    tu_rec_deinit(&e->rr);
    vt_pair_close(p);
}

/* One zero-copy send of v from ept; the buffer must be there at once. */
static inline void vt_send_nocopy(struct rpmsg_endpoint *ept, uint32_t v)
{
    uint32_t cap = 0;
    void *b = rpmsg_get_tx_payload_buffer(ept, &cap, RPMSG_NOWAIT);
    assert_non_null(b);
    assert_true(cap >= sizeof(v));
    memcpy(b, &v, sizeof(v));
    assert_int_equal(rpmsg_send_nocopy(ept, b, sizeof(v)), (int)sizeof(v));
}

#endif
