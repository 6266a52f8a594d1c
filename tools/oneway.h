/*
 * One-way throughput between `rpmsg bench` and `rpmsg echo`: the bench asks
 * the echo to swallow the next COUNT messages (checking each, as ping checks
 * an echo) and answer only the last with a report. Both are 16 bytes:
 *   u32 magic, u32 ~magic, u32 a, u32 b
 * request (ONEWAY_ASK): a = COUNT, b = 0; report (ONEWAY_REPORT): a =
 * messages received, b = of them damaged or out of order. An echo that
 * does not know the request echoes it back, which the bench recognises.
 */
#ifndef RPMSG_TOOLS_ONEWAY_H
#define RPMSG_TOOLS_ONEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "payload.h"

#define ONEWAY_ASK 0x4b535052u    /* "RPSK" */
#define ONEWAY_REPORT 0x44535052u /* "RPSD" */
#define ONEWAY_SIZE 16u

static inline void oneway_put(uint8_t *buf, uint32_t magic, uint32_t a, uint32_t b)
{
    uint32_t w[4] = { magic, ~magic, a, b };
    memcpy(buf, w, sizeof(w));
}

/* True if data is a message of this magic; *a and *b its fields. */
static inline bool oneway_get(const void *data, size_t len, uint32_t magic, uint32_t *a,
                              uint32_t *b)
{
    uint32_t w[4];
    if (len != ONEWAY_SIZE)
        return false;
    memcpy(w, data, sizeof(w));
    if (w[0] != magic || w[1] != ~magic)
        return false;
    *a = w[2];
    *b = w[3];
    return true;
}

/* The echo's side: a round in progress. Zeroed: none. */
struct oneway_sink {
    uint32_t left, got, bad;
};

enum oneway_take {
    ONEWAY_NOT_MINE, /* no round, and no request: echo it */
    ONEWAY_ASKED,    /* the request: a round starts */
    ONEWAY_TAKEN,    /* a message of the round, swallowed */
    ONEWAY_LAST,     /* its last one: send the report now in rep */
};

/* One message through the sink (on the endpoint's RX thread only). rep:
 * ONEWAY_SIZE bytes, filled with the report on ONEWAY_LAST. */
static inline enum oneway_take oneway_sink_take(struct oneway_sink *s, const void *data,
                                                size_t len, uint8_t *rep)
{
    uint32_t n, zero, seq;
    if (!s->left) {
        if (!oneway_get(data, len, ONEWAY_ASK, &n, &zero) || !n)
            return ONEWAY_NOT_MINE;
        *s = (struct oneway_sink){ .left = n };
        return ONEWAY_ASKED;
    }
    if (payload_check(data, len, &seq) || seq != s->got)
        s->bad++;
    s->got++;
    if (--s->left)
        return ONEWAY_TAKEN;
    oneway_put(rep, ONEWAY_REPORT, s->got, s->bad);
    return ONEWAY_LAST;
}

#endif
