/* Receive callbacks a benchmark's far side runs: an echo, and a stream counter. */
#ifndef BENCH_SVC_H
#define BENCH_SVC_H

#include <stdint.h>

#include "rpmsg/rpmsg.h"

/* Sends every message back to its sender. */
int bench_echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv);

/* priv of bench_count_cb: one rate per batch of messages, first to last. */
struct bench_counter {
    unsigned batch, batches; /* set by the caller; batches <= 64 */
    unsigned long n;
    uint64_t t_first;
    double rates[64]; /* messages/s */
    unsigned nrates;
    struct rpmsg_sem done; /* posted once batches rates are in */
};

int bench_count_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv);

#endif
