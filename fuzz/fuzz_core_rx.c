/*
 * The framework's receive path against arbitrary bytes from a peer: headers,
 * lengths, destinations, name-service messages. Input: a sequence of
 * [u16 length][bytes] records, each injected as one received buffer. After
 * every input a well-formed message must still reach its endpoint intact:
 * garbage may be dropped, never may it corrupt state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpmsg/rpmsg_loopback.h"

static struct rpmsg_loopback *lb;
static struct rpmsg_endpoint fixed, named, sender;
static unsigned long hits;
static uint8_t last[496];
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!lb)
        setup();
    struct rpmsg_device *a = rpmsg_loopback_dev_a(lb), *b = rpmsg_loopback_dev_b(lb);
    while (size >= 2) {
        size_t n = (size_t)(data[0] | data[1] << 8) % 600;
        data += 2, size -= 2;
        if (n > size)
            n = size;
        if (n <= RPMSG_BUFFER_SIZE)
            rpmsg_loopback_inject(lb, b, data, (uint32_t)n);
        data += n, size -= n;
        rpmsg_poll(b);
        rpmsg_poll(a);
    }
    /* The link still works, exactly. */
    unsigned long before = hits;
    static const char probe[] = "probe";
    if (rpmsg_trysend(&sender, probe, sizeof(probe)) != (int)sizeof(probe))
        abort();
    rpmsg_poll(b);
    rpmsg_poll(a);
    if (hits != before + 1 || last_len != sizeof(probe) || memcmp(last, probe, sizeof(probe)))
        abort();
    return 0;
}
