#include "sock_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sock_ring_init(struct sock_ring *r, uint32_t cap)
{
    r->buf = malloc(cap);
    if (!r->buf)
        return -ENOMEM;
    r->cap = cap;
    r->head = r->used = 0;
    return 0;
}

void sock_ring_deinit(struct sock_ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->head = r->used = 0;
}

void sock_ring_put(struct sock_ring *r, const void *data, uint32_t n)
{
    uint32_t tail = (r->head + r->used) % r->cap;
    uint32_t first = r->cap - tail < n ? r->cap - tail : n;
    memcpy(r->buf + tail, data, first);
    memcpy(r->buf, (const uint8_t *)data + first, n - first);
    r->used += n;
}

uint32_t sock_ring_get(struct sock_ring *r, void *out, uint32_t n, bool consume)
{
    if (n > r->used)
        n = r->used;
    if (!n)
        return 0;
    if (out) {
        uint32_t first = r->cap - r->head < n ? r->cap - r->head : n;
        memcpy(out, r->buf + r->head, first);
        memcpy((uint8_t *)out + first, r->buf, n - first);
    }
    if (consume) {
        r->head = (r->head + n) % r->cap;
        r->used -= n;
        if (!r->used)
            r->head = 0;
    }
    return n;
}
