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

#endif
