/*
 * NuttX's ping protocol (drivers/rpmsg/rpmsg_ping.c, nuttx-wire.md §1), as
 * `rpmsg echo` answers it and `rpmsg ping --nuttx` speaks it. A message is
 * u32 cmd, u32 len (the whole message), u64 cookie, then data; little-endian.
 * SEND asks for an ACK (the message back, cmd rewritten); SEND_CHECK too,
 * once every data byte is 0xEE, and the ACK's data is zeroed; SEND_NOACK
 * asks for nothing. The cookie comes back unchanged.
 * The NuttX 13.0.1 builds in ../shared/nuttx-sim encode cmd differently
 * (seen in their rpmsg_ping_ept_cb): the high nibble is the type, 0x20 an
 * ACK, and for a request bit 0 asks for an ACK and bit 1 for the check.
 * Both encodings are understood; how a request is answered when it could
 * be either is nx_ping_answers()'.
 */
#ifndef RPMSG_TOOLS_NUTTX_PING_H
#define RPMSG_TOOLS_NUTTX_PING_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NX_PING_SEND 1u
#define NX_PING_SEND_CHECK 2u
#define NX_PING_SEND_NOACK 3u
#define NX_PING_ACK 4u
#define NX_PING_ACK_V2 0x20u
#define NX_PING_REQ_V2 0x10u
#define NX_PING_CHECK_V2 3u /* 13.0.1: ack wanted (bit 0) and check (bit 1) */
#define NX_PROBE 0x4e58505242ull /* cookie of `ping --check`'s encoding probe */
#define NX_PING_HEAD 16u
#define NX_PING_FILL 0xEEu

static inline uint64_t nx_ping_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static inline void nx_ping_put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Fills buf (len >= 16 bytes) with a request; data is 0xEE (what SEND_CHECK needs). */
static inline void nx_ping_fill(uint8_t *buf, size_t len, uint32_t cmd, uint64_t cookie)
{
    nx_ping_put(buf, cmd, 4);
    nx_ping_put(buf + 4, len, 4);
    nx_ping_put(buf + 8, cookie, 8);
    memset(buf + NX_PING_HEAD, NX_PING_FILL, len - NX_PING_HEAD);
}

/* Is msg a NuttX ping request? (cmd 1..3 and len equal to the message's length) */
static inline bool nx_ping_is_request(const uint8_t *msg, size_t len)
{
    if (len < NX_PING_HEAD)
        return false;
    uint64_t cmd = nx_ping_get(msg, 4);
    bool req = (cmd >= NX_PING_SEND && cmd <= NX_PING_SEND_NOACK) || (cmd & ~0xfu) == NX_PING_REQ_V2;
    return req && nx_ping_get(msg + 4, 4) == len;
}

/*
 * Which answers request msg (nx_ping_is_request) gets, into cmds[0..1]; the
 * count. Commands 1..3 mean different things in the two encodings, and a
 * request does not say which one its sender speaks, so each is answered in
 * a way both understand, where an answer meant for the other encoding is
 * ignored (NuttX's callbacks drop what they do not recognise):
 *   1: SEND / ack wanted: ACK_V2 and ACK, both (the ping counts the first
 *      it recognises; our own `ping --nuttx` ignores the duplicate).
 *   2: SEND_CHECK (data 0xEE) / check without ack (data its round number):
 *      ACK, data zeroed, when the data is 0xEE (or empty); else nothing
 *      (a V2 answer to a request without ack would make NuttX post a
 *      semaphore through a cookie it never set).
 *   3: SEND_NOACK / ack and check: ACK_V2, which wire-encoding NuttX drops.
 * Explicitly V2 requests (0x1n) get ACK_V2 when bit 0 asks for one.
 */
static inline int nx_ping_answers(const uint8_t *msg, size_t len, uint32_t cmds[2])
{
    uint32_t cmd = (uint32_t)nx_ping_get(msg, 4);
    if ((cmd & ~0xfu) == NX_PING_REQ_V2) {
        cmds[0] = NX_PING_ACK_V2;
        return (cmd & 1u) != 0;
    }
    switch (cmd) {
    case NX_PING_SEND:
        cmds[0] = NX_PING_ACK_V2;
        cmds[1] = NX_PING_ACK;
        return 2;
    case NX_PING_SEND_CHECK:
        for (size_t i = NX_PING_HEAD; i < len; i++)
            if (msg[i] != NX_PING_FILL)
                return 0;
        cmds[0] = NX_PING_ACK;
        return 1;
    case NX_PING_SEND_NOACK:
        cmds[0] = NX_PING_ACK_V2;
        return 1;
    }
    return 0;
}

/*
 * Answer ack (one of nx_ping_answers' cmds) to request msg, into out (len
 * bytes): the request with cmd rewritten; a wire-encoding ACK to SEND_CHECK
 * has its data zeroed. Returns len.
 */
static inline int nx_ping_answer(const uint8_t *msg, size_t len, uint32_t ack, uint8_t *out)
{
    memmove(out, msg, len);
    if (ack == NX_PING_ACK && nx_ping_get(msg, 4) == NX_PING_SEND_CHECK)
        memset(out + NX_PING_HEAD, 0, len - NX_PING_HEAD);
    nx_ping_put(out, ack, 4);
    return (int)len;
}

/*
 * Checks an ACK to a request of len bytes sent with cmd: 0 and *cookie, or
 * -EBADMSG (wrong command, length or data).
 */
static inline int nx_ping_check_ack(const uint8_t *msg, size_t len, size_t want_len, uint32_t cmd,
                                    uint64_t *cookie)
{
    uint64_t c = len >= NX_PING_HEAD ? nx_ping_get(msg, 4) : 0;
    if (len != want_len || len < NX_PING_HEAD || (c != NX_PING_ACK && c != NX_PING_ACK_V2) ||
        nx_ping_get(msg + 4, 4) != len)
        return -EBADMSG;
    uint8_t want = cmd == NX_PING_SEND_CHECK ? 0 : NX_PING_FILL;
    for (size_t i = NX_PING_HEAD; i < len; i++)
        if (msg[i] != want)
            return -EBADMSG;
    *cookie = nx_ping_get(msg + 8, 8);
    return 0;
}

#endif
