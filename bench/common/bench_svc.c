#include "bench_svc.h"

#include "bench_report.h"

int bench_echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    rpmsg_sendto(ept, data, len, src);
    return 0;
}

int bench_count_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)len, (void)src;
    struct bench_counter *c = priv;
    unsigned long i = c->n++ % c->batch;
    if (i == 0) {
        c->t_first = bench_now_ns();
    } else if (i == c->batch - 1 && c->nrates < c->batches) {
        uint64_t dt = bench_now_ns() - c->t_first;
        c->rates[c->nrates++] = dt ? (c->batch - 1) * 1e9 / (double)dt : 0;
        if (c->nrates == c->batches)
            rpmsg_post(NULL, &c->done);
    }
    return 0;
}
