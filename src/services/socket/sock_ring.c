#include "sock_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpmsg/rpmsg_socket.h"

int sock_ring_init(struct sock_ring *r, uint32_t cap)
{
    /* Positions run to 2 cap: a larger ring would wrap them. */
    if (!cap || cap > RPMSG_SOCKET_RCVBUF_MAX)
        return -EINVAL;
    r->buf = malloc(cap);
    if (!r->buf)
        return -ENOMEM;
    r->cap = cap;
    r->head = r->tail = 0;
    return 0;
}

void sock_ring_deinit(struct sock_ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->head = r->tail = 0;
}

static uint32_t span(const struct sock_ring *r, uint32_t from, uint32_t to)
{
    return to >= from ? to - from : to + 2 * r->cap - from;
}

static uint32_t advance(const struct sock_ring *r, uint32_t pos, uint32_t n)
{
    pos += n;
    return pos >= 2 * r->cap ? pos - 2 * r->cap : pos;
}

uint32_t sock_ring_used(const struct sock_ring *r)
{
    /* The head first: read after the tail, a head moved meanwhile could
     * pass that tail. */
    uint32_t h = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint32_t t = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    return span(r, h, t);
}

void sock_ring_put(struct sock_ring *r, const void *data, uint32_t n)
{
    uint32_t t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED); /* ours */
    uint32_t at = t < r->cap ? t : t - r->cap;
    uint32_t first = r->cap - at < n ? r->cap - at : n;
    memcpy(r->buf + at, data, first);
    if (n > first) /* wrapped: rarely, and a call less per message when not */
        memcpy(r->buf, (const uint8_t *)data + first, n - first);
    /* The bytes before the position that shows them. */
    __atomic_store_n(&r->tail, advance(r, t, n), __ATOMIC_RELEASE);
}

uint32_t sock_ring_get(struct sock_ring *r, void *out, uint32_t n)
{
    uint32_t h = __atomic_load_n(&r->head, __ATOMIC_RELAXED); /* ours */
    uint32_t used = span(r, h, __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE));
    if (n > used)
        n = used;
    if (!n)
        return 0;
    if (out) {
        uint32_t at = h < r->cap ? h : h - r->cap;
        uint32_t first = r->cap - at < n ? r->cap - at : n;
        memcpy(out, r->buf + at, first);
        if (n > first)
            memcpy((uint8_t *)out + first, r->buf, n - first);
    }
    /* Our reads of those bytes before the producer may overwrite them. */
    __atomic_store_n(&r->head, advance(r, h, n), __ATOMIC_RELEASE);
    return n;
}
