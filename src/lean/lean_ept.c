/*
 * The lean remote's endpoints: a fixed table, dispatch of each received
 * message to its endpoint, NS announcements, sends. The message header is
 * read once and its length checked against the buffer it came in.
 */
#include "lean.h"

#if RPMSG_LEAN_REMOTE

#include "transport/virtio/virtio_wire.h"

#ifndef RPMSG_BOARD_TIME_MS
#error "the lean remote needs a millisecond clock: implement uint32_t rpmsg_board_time_ms(void) and define RPMSG_BOARD_TIME_MS 1 (see docs/mcu.md)"
#endif
_Static_assert(RPMSG_LEAN_EPT_MAX >= 1 && RPMSG_LEAN_EPT_MAX <= 8, "RPMSG_LEAN_EPT_MAX: 1 to 8");

uint32_t rpmsg_board_time_ms(void);

int rpmsg_lean_create_ept(struct rpmsg_lean_ept *ept, struct rpmsg_lean *ld, const char *name,
                          uint32_t src, uint32_t dest, rpmsg_lean_cb_t cb, void *priv)
{
    /* Dynamic addresses are the slot's, so a static one may not take them. */
    if (!ept || !ld || !cb || src - RPMSG_ADDR_DYN_BASE < RPMSG_LEAN_EPT_MAX)
        return -EINVAL;
    int slot = -1;
    for (int i = RPMSG_LEAN_EPT_MAX - 1; i >= 0; i--) {
        if (!ld->ept[i])
            slot = i;
        else if (ld->ept[i]->addr == src)
            return -EADDRINUSE;
    }
    if (slot < 0)
        return -ENOMEM;
    memset(ept->name, 0, sizeof(ept->name));
    if (name)
        memcpy(ept->name, name, strnlen(name, sizeof(ept->name) - 1));
    ept->addr = src == RPMSG_ADDR_ANY ? RPMSG_ADDR_DYN_BASE + (uint32_t)slot : src;
    ept->dest = dest;
    ept->cb = cb;
    ept->priv = priv;
    ept->dev = ld;
    ld->ept[slot] = ept;
    if (ept->name[0])
        ld->unannounced |= (uint8_t)(1u << slot);
    return 0;
}

void rpmsg_lean_destroy_ept(struct rpmsg_lean_ept *ept)
{
    struct rpmsg_lean *ld = ept->dev;
    for (int i = 0; i < RPMSG_LEAN_EPT_MAX; i++)
        if (ld->ept[i] == ept) {
            ld->ept[i] = NULL;
            ld->unannounced &= (uint8_t) ~(1u << i);
        }
}

static int send_from(struct rpmsg_lean *ld, uint32_t src, const void *data, size_t len,
                     uint32_t dst, bool wait)
{
    if (len > RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE)
        return -EMSGSIZE;
    uint32_t start = rpmsg_board_time_ms();
    struct lean_buf b;
    for (;;) {
        if (ld->state != LEAN_UP)
            return -ENOTCONN;
        int r = rpmsg_lean_take(ld, LEAN_VQ_TX, &b);
        if (r < 0)
            return r;
        if (r)
            break;
        if (!wait)
            return -EAGAIN;
        if (rpmsg_board_time_ms() - start >= RPMSG_SEND_TIMEOUT_MS)
            return -ETIMEDOUT;
        /* The deadline is on the board's clock (it wraps with it). */
        ld->ops->wait(ld->plat, (uint32_t)(start + RPMSG_SEND_TIMEOUT_MS));
        if (rpmsg_lean_link_step(ld) < 0)
            return -EPROTO;
    }
    vw_st32(b.p, src);
    vw_st32(b.p + 4, dst);
    vw_st32(b.p + 8, 0);
    vw_st32(b.p + 12, (uint32_t)len); /* len, then flags 0 */
    memcpy(b.p + RPMSG_HDR_SIZE, data, len);
    rpmsg_lean_give(ld, LEAN_VQ_TX, &b, RPMSG_HDR_SIZE + (uint32_t)len);
    return (int)len;
}

int rpmsg_lean_sendto(struct rpmsg_lean_ept *ept, const void *data, size_t len, uint32_t dst)
{
    return send_from(ept->dev, ept->addr, data, len, dst, true);
}

int rpmsg_lean_trysendto(struct rpmsg_lean_ept *ept, const void *data, size_t len, uint32_t dst)
{
    return send_from(ept->dev, ept->addr, data, len, dst, false);
}

int rpmsg_lean_send(struct rpmsg_lean_ept *ept, const void *data, size_t len)
{
    if (ept->dest == RPMSG_ADDR_ANY)
        return -ENOTCONN;
    return rpmsg_lean_sendto(ept, data, len, ept->dest);
}

/* NS CREATE for every endpoint not yet announced in this session; one that
 * finds no buffer is tried again on the next poll. */
static int announce(struct rpmsg_lean *ld)
{
    for (int i = 0; i < RPMSG_LEAN_EPT_MAX; i++) {
        struct rpmsg_lean_ept *e = ld->ept[i];
        if (!(ld->unannounced & (1u << i)))
            continue;
        struct rpmsg_ns_msg ns = { .addr = VW_LE32(e->addr), .flags = VW_LE32(RPMSG_NS_CREATE) };
        memcpy(ns.name, e->name, sizeof(ns.name));
        int r = send_from(ld, e->addr, &ns, sizeof(ns), RPMSG_NS_ADDR, false);
        if (r == -EAGAIN)
            break;
        if (r < 0)
            return r;
        ld->unannounced &= (uint8_t) ~(1u << i);
    }
    return 0;
}

/* One message to its endpoint; what has none (the host's announcements
 * among them) is dropped. */
static void dispatch(struct rpmsg_lean *ld, const struct lean_buf *b)
{
    uint32_t src = vw_ld32(b->p), dst = vw_ld32(b->p + 4);
    uint32_t len = vw_ld16(b->p + 12);
    if (len > b->len - RPMSG_HDR_SIZE)
        return;
    for (int i = 0; i < RPMSG_LEAN_EPT_MAX; i++) {
        struct rpmsg_lean_ept *e = ld->ept[i];
        if (e && e->addr == dst) {
            if (e->dest == RPMSG_ADDR_ANY)
                e->dest = src;
            e->cb(e, b->p + RPMSG_HDR_SIZE, len, src, e->priv);
            return;
        }
    }
}

int rpmsg_lean_poll(struct rpmsg_lean *ld)
{
    int r = rpmsg_lean_link_step(ld);
    if (r >= 0 && ld->unannounced && ld->state == LEAN_UP)
        r = announce(ld);
    /* At most one ring's worth per call, so a busy host cannot keep us here. */
    struct lean_buf b;
    int n = 0;
    while (r >= 0 && n <= ld->vq[LEAN_VQ_RX].mask && (r = rpmsg_lean_take(ld, LEAN_VQ_RX, &b)) > 0) {
        dispatch(ld, &b);
        rpmsg_lean_give(ld, LEAN_VQ_RX, &b, b.len);
        n++;
    }
    return r < 0 ? r : n;
}

#endif
