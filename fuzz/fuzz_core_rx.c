/*
 * The framework's receive path against a peer that the fuzzer steers:
 * headers, lengths, destinations, name-service messages. The input is a
 * program of operations, each injected as one received buffer on a
 * poll-driven loopback:
 *
 *   op % 4 == 0  a message built from chosen fields: source, destination
 *                (the fixed endpoint, the named one, the name service, an
 *                unknown or reserved address), a length that is right, short
 *                or too long, flags, payload
 *            1   a name-service message: create / destroy / create-ack /
 *                unknown, for "svc" or another or an unterminated name, at a
 *                chosen address
 *            2   raw bytes as a whole buffer
 *            3   the application sends (a probe that must arrive intact)
 *
 * Checked: a well-formed message to the fixed endpoint arrives with its
 * payload, exactly once; after every input a probe still arrives intact.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/byteorder.h"
#include "fuzz_input.h"
#include "rpmsg/rpmsg_loopback.h"

static struct rpmsg_loopback *lb;
static struct rpmsg_endpoint fixed, named, sender;
static unsigned long hits;
static uint8_t last[RPMSG_BUFFER_SIZE];
static size_t last_len;

static int cb(struct rpmsg_endpoint *e, void *d, size_t l, uint32_t s, void *p)
{
    (void)e, (void)s, (void)p;
    hits++;
    last_len = l;
    memcpy(last, d, l);
    return 0;
}

static void setup(void)
{
    struct rpmsg_loopback_config cfg = { .num_bufs = 8, .no_rx_thread = true };
    if (rpmsg_loopback_create(&lb, &cfg))
        abort();
    struct rpmsg_device *b = rpmsg_loopback_dev_b(lb);
    if (rpmsg_create_ept(&fixed, b, NULL, 0x100, 0x200, cb, NULL) ||
        rpmsg_create_ept(&named, b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, cb, NULL) ||
        rpmsg_create_ept(&sender, rpmsg_loopback_dev_a(lb), NULL, 0x200, 0x100, NULL, NULL))
        abort();
}

static void settle(void)
{
    rpmsg_poll(rpmsg_loopback_dev_b(lb));
    rpmsg_poll(rpmsg_loopback_dev_a(lb));
}

static uint32_t pick_addr(struct fin *f)
{
    uint8_t b = fin_u8(f);
    switch (b % 8) {
    case 0:
        return 0x100;
    case 1:
        return named.addr;
    case 2:
        return RPMSG_NS_ADDR;
    case 3:
        return RPMSG_ADDR_ANY;
    case 4:
        return 0x200;
    case 5:
        return b >> 3; /* reserved range */
    case 6:
        return RPMSG_ADDR_DYN_BASE + (b >> 3);
    default:
        return fin_u32(f);
    }
}

/* One received buffer; false if there was no free one to put it in. */
static bool inject(const uint8_t *buf, size_t n)
{
    if (n > RPMSG_BUFFER_SIZE || rpmsg_loopback_inject(lb, rpmsg_loopback_dev_b(lb), buf, (uint32_t)n))
        return false;
    settle();
    return true;
}

static void put_hdr(uint8_t *m, uint32_t src, uint32_t dst, uint16_t len, uint16_t flags)
{
    rpmsg_put32(m, src);
    rpmsg_put32(m + 4, dst);
    rpmsg_put32(m + 8, 0);
    rpmsg_put16(m + 12, len);
    rpmsg_put16(m + 14, flags);
}

static void op_msg(struct fin *f)
{
    uint8_t how = fin_u8(f);
    uint8_t m[RPMSG_BUFFER_SIZE];
    const uint8_t *b;
    uint32_t src = how & 1 ? pick_addr(f) : 0x200;
    uint32_t dst = pick_addr(f);
    size_t plen = fin_bytes(f, &b, how & 0x80 ? fin_u16(f) % (RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE + 1)
                                              : fin_u8(f) % 64);
    uint16_t len = (uint16_t)plen;
    if (how & 2)
        len = (uint16_t)(len + 1 + fin_u8(f)); /* says more than there is */
    else if (how & 4)
        len = (uint16_t)(plen ? plen - 1 : 0); /* says less */
    put_hdr(m, src, dst, len, how & 8 ? fin_u16(f) : 0);
    if (how & 0x10)
        rpmsg_put32(m + 8, fin_u32(f));
    memcpy(m + RPMSG_HDR_SIZE, b, plen);
    unsigned long before = hits;
    bool in = inject(m, RPMSG_HDR_SIZE + plen);
    if (in && dst == 0x100 && !(how & 0x1F) &&
        (hits != before + 1 || last_len != plen || memcmp(last, b, plen)))
        abort(); /* a good message to a live endpoint must arrive as sent */
}

static void op_ns(struct fin *f)
{
    uint8_t how = fin_u8(f);
    uint8_t m[RPMSG_HDR_SIZE + 40] = { 0 };
    uint8_t *ns = m + RPMSG_HDR_SIZE;
    const uint8_t *b;
    switch (how & 3) {
    case 0:
        strcpy((char *)ns, "svc");
        break;
    case 1:
        strcpy((char *)ns, "other");
        break;
    case 2:
        memset(ns, 'x', 32); /* no NUL */
        break;
    default: {
        size_t n = fin_bytes(f, &b, 32);
        memcpy(ns, b, n);
        break;
    }
    }
    static const uint32_t kinds[4] = { RPMSG_NS_CREATE, RPMSG_NS_DESTROY, RPMSG_NS_CREATE_ACK, 7 };
    rpmsg_put32(ns + 32, pick_addr(f));
    rpmsg_put32(ns + 36, how & 0x40 ? fin_u32(f) : kinds[how >> 2 & 3]);
    size_t plen = how & 0x80 ? fin_u8(f) % 41 : 40;
    put_hdr(m, how & 0x20 ? pick_addr(f) : 0x400u + (how >> 4 & 1u), RPMSG_NS_ADDR, (uint16_t)plen, 0);
    inject(m, RPMSG_HDR_SIZE + plen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lb)
        setup();
    struct fin f = { data, size };
    while (f.n) {
        uint8_t op = fin_u8(&f);
        switch (op % 4) {
        case 0:
            op_msg(&f);
            break;
        case 1:
            op_ns(&f);
            break;
        case 2: {
            const uint8_t *b;
            size_t n = fin_bytes(&f, &b, fin_u16(&f) % 600);
            inject(b, n);
            break;
        }
        default:
            rpmsg_trysend(&sender, "app", 3);
            settle();
            break;
        }
    }
    /* The link still works, exactly. */
    unsigned long before = hits;
    static const char probe[] = "probe";
    if (rpmsg_trysend(&sender, probe, sizeof(probe)) != (int)sizeof(probe))
        abort();
    settle();
    if (hits != before + 1 || last_len != sizeof(probe) || memcmp(last, probe, sizeof(probe)))
        abort();
    return 0;
}
