/*
 * A numbered exchange between two processes (header-only, shared by the
 * multi-process tests): the host sends N numbered messages, the child echoes
 * each back to its sender, both check order, contents and the sender address.
 */
#ifndef MP_ECHO_H
#define MP_ECHO_H

#include <poll.h>
#include <stdint.h>
#include <string.h>

#include "mp_proc.h"

#define MP_MSG_LEN 24

struct mp_peer {
    struct rpmsg_endpoint ept;
    struct rpmsg_sem done;
    unsigned target;        /* messages to receive before done is posted */
    unsigned received, bad, send_errors;
    uint32_t want_src;      /* RPMSG_ADDR_ANY: anything */
    bool echo;              /* send every message back to its sender */
    char first[16];         /* the first message, when it is not numbered */
    bool want_first;
    bool ready_at_done;     /* bound when the last expected message arrived */
    struct rpmsg_sem got_first;
};

static void mp_msg(uint8_t *p, uint32_t seq)
{
    for (unsigned i = 0; i < MP_MSG_LEN; i++)
        p[i] = (uint8_t)(seq * 7u + i);
    memcpy(p, &seq, sizeof(seq));
}

static int mp_peer_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct mp_peer *p = priv;
    if (p->want_first) {
        p->want_first = false;
        snprintf(p->first, sizeof(p->first), "%.*s", (int)(len < 15 ? len : 15), (char *)data);
        rpmsg_post(NULL, &p->got_first);
        return 0;
    }
    uint8_t exp[MP_MSG_LEN];
    mp_msg(exp, p->received);
    if (len != MP_MSG_LEN || memcmp(exp, data, len) ||
        (p->want_src != RPMSG_ADDR_ANY && src != p->want_src))
        p->bad++;
    p->received++;
    if (p->echo && rpmsg_sendto(ept, data, len, src) != (int)len)
        p->send_errors++;
    if (p->received == p->target) {
        /* Sampled here: once the peer has its echoes it may unbind us. */
        p->ready_at_done = rpmsg_is_ept_ready(ept);
        rpmsg_post(NULL, &p->done);
    }
    return 0;
}

static void mp_peer_init(struct mp_peer *p, unsigned target, bool echo)
{
    memset(p, 0, sizeof(*p));
    rpmsg_sem_init(&p->done, 0);
    rpmsg_sem_init(&p->got_first, 0);
    p->target = target;
    p->echo = echo;
    p->want_src = RPMSG_ADDR_ANY;
    p->ept.priv = p;
}

/* Sends n numbered messages on a bound endpoint. 0 or the first error. */
static int mp_send_numbered(struct rpmsg_endpoint *ept, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t m[MP_MSG_LEN];
        mp_msg(m, i);
        int r = rpmsg_send(ept, m, sizeof(m));
        if (r != MP_MSG_LEN)
            return r < 0 ? r : -EIO;
    }
    return 0;
}

/* One byte through a pipe, bounded wait. true when it came. */
static bool mp_pipe_wait(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char c;
    return poll(&p, 1, ms) == 1 && read(fd, &c, 1) == 1;
}

static void mp_pipe_post(int fd)
{
    char c = 1;
    if (write(fd, &c, 1) != 1)
        perror("pipe");
}

#endif
