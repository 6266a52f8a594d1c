/*
 * Shared by the socket tests: two cores in this process joined by a link
 * (loopback, or VirtIO over a calloc'd region), helpers to open a listener,
 * connect, and move a checksummed stream. Header-only: each test is one file.
 */
#ifndef SOCK_FIXTURE_H
#define SOCK_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../port/port_harness.h"
#include "../virtio/vt_plat.h"
#include "rpmsg/rpmsg_socket.h"
#include "testutil.h"

enum sf_kind { SF_LOOPBACK, SF_VIRTIO, SF_UART, SF_SPI };

struct sf {
    enum sf_kind kind;
    struct tu_pair lp;
    struct vt_pair vp;
    struct ph_pair pp;
    /* Client core's device (its peer is the server core) and server's. */
    struct rpmsg_device *cdev, *sdev;
    char server_cpu[RPMSG_SOCKET_CPU_SIZE], client_cpu[RPMSG_SOCKET_CPU_SIZE];
};

static inline int sf_open_cfg(struct sf *f, enum sf_kind kind,
                              const struct rpmsg_loopback_config *lcfg)
{
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    int r;
    if (kind == SF_LOOPBACK) {
        r = tu_pair_open(&f->lp, lcfg);
        f->cdev = f->lp.a;
        f->sdev = f->lp.b;
    } else if (kind == SF_VIRTIO) {
        r = vt_pair_open(&f->vp, NULL);
        if (!r && tu_wait_until(vt_both_up, &f->vp, TU_TIMEOUT_MS))
            r = -ETIMEDOUT;
        f->cdev = f->vp.h;
        f->sdev = f->vp.r;
    } else {
        /* UART through the line emulator (real ptys), or the simulated SPI
         * bus; unpaced, so the tests do not wait on a baud rate. */
        struct ph_opts o = { .kind = kind == SF_UART ? PH_UART : PH_SPI };
        r = ph_open(&f->pp, &o);
        if (!r)
            r = ph_wait_up(&f->pp);
        f->cdev = f->pp.dev[0];
        f->sdev = f->pp.dev[1];
    }
    if (r < 0)
        return r;
    strncpy(f->server_cpu, rpmsg_get_cpuname(f->cdev), sizeof(f->server_cpu) - 1);
    strncpy(f->client_cpu, rpmsg_get_cpuname(f->sdev), sizeof(f->client_cpu) - 1);
    return 0;
}

static inline int sf_open(struct sf *f, enum sf_kind kind)
{
    return sf_open_cfg(f, kind, NULL);
}

static inline void sf_close(struct sf *f)
{
    if (f->kind == SF_LOOPBACK)
        tu_pair_close(&f->lp);
    else if (f->kind == SF_VIRTIO)
        vt_pair_close(&f->vp);
    else
        ph_close(&f->pp);
}

static inline struct rpmsg_sockaddr sf_addr(const char *cpu, const char *name)
{
    struct rpmsg_sockaddr a;
    memset(&a, 0, sizeof(a));
    memcpy(a.cpu, cpu, strnlen(cpu, sizeof(a.cpu) - 1));
    memcpy(a.name, name, strnlen(name, sizeof(a.name) - 1));
    return a;
}

/* A stream listener for name on the server core (any link). */
/* A listener whose accepted sockets advertise window bytes (0: the default). */
static inline struct rpmsg_socket *sf_listen_window(struct sf *f, const char *name, int backlog,
                                                    uint32_t window)
{
    struct rpmsg_socket *l = NULL;
    assert_int_equal(rpmsg_socket_open(&l, RPMSG_SOCK_STREAM), 0);
    if (window)
        assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_RCVBUF, window), 0);
    struct rpmsg_sockaddr a = sf_addr(f->client_cpu, name);
    assert_int_equal(rpmsg_socket_bind(l, &a), 0);
    assert_int_equal(rpmsg_socket_listen(l, backlog), 0);
    assert_int_equal(rpmsg_socket_setopt(l, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    return l;
}

static inline struct rpmsg_socket *sf_listen(struct sf *f, const char *name, int backlog)
{
    return sf_listen_window(f, name, backlog, 0);
}

/* A connected client socket to name on the server core, with bounded waits. */
static inline struct rpmsg_socket *sf_connect(struct sf *f, int type, const char *name)
{
    struct rpmsg_socket *c = NULL;
    assert_int_equal(rpmsg_socket_open(&c, type), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    struct rpmsg_sockaddr a = sf_addr(f->server_cpu, name);
    assert_int_equal(rpmsg_socket_connect(c, &a), 0);
    return c;
}

static inline struct rpmsg_socket *sf_accept(struct rpmsg_socket *l)
{
    struct rpmsg_socket *s = NULL;
    assert_int_equal(rpmsg_socket_accept(l, &s, NULL), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    return s;
}

/* A peer that speaks the protocol by hand: a loopback pair, a listener for
 * name advertising window bytes, and a raw endpoint on the client core named
 * as a NuttX client of it (connection 1); s is the accepted socket, whose
 * SYNC rec has received. */
struct sf_raw_peer {
    struct sf f;
    struct rpmsg_socket *l, *s;
    struct rpmsg_endpoint raw;
    struct tu_rec rec;
};

static inline void sf_raw_open(struct sf_raw_peer *p, const char *name, uint32_t window)
{
    assert_int_equal(sf_open(&p->f, SF_LOOPBACK), 0);
    p->l = sf_listen_window(&p->f, name, 1, window);
    tu_rec_init(&p->rec);
    char ept[RPMSG_NAME_SIZE];
    snprintf(ept, sizeof(ept), "s:%s:1", name);
    assert_int_equal(tu_ept_create(&p->raw, p->f.cdev, ept, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                   tu_rec_cb, NULL, &p->rec),
                     0);
    p->s = sf_accept(p->l);
    assert_int_equal(tu_rec_wait(&p->rec, 1, TU_TIMEOUT_MS), 0);
}

static inline void sf_raw_close(struct sf_raw_peer *p)
{
    tu_ept_cleanup(&p->raw);
    tu_rec_deinit(&p->rec);
    rpmsg_socket_close(p->s);
    rpmsg_socket_close(p->l);
    sf_close(&p->f);
}

/* Deterministic stream contents: byte i of stream seed. */
static inline uint8_t sf_byte(uint32_t seed, uint64_t i)
{
    uint64_t x = (i >> 2) * 0x9E3779B97F4A7C15ull + seed;
    x ^= x >> 29;
    return (uint8_t)(x >> (8 * (i & 3)));
}

static inline void sf_fill(uint8_t *buf, size_t n, uint32_t seed, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = sf_byte(seed, off + i);
}

/* Sends total bytes of stream seed in chunks of chunk; 0 or -errno. */
static inline int sf_send_stream(struct rpmsg_socket *s, uint32_t seed, uint64_t total,
                                 size_t chunk)
{
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return -ENOMEM;
    uint64_t off = 0;
    int r = 0;
    while (off < total) {
        size_t n = total - off < chunk ? (size_t)(total - off) : chunk;
        sf_fill(buf, n, seed, off);
        size_t done = 0;
        while (done < n) {
            ssize_t w = rpmsg_socket_send(s, buf + done, n - done, 0);
            if (w <= 0) {
                r = w ? (int)w : -EIO;
                goto out;
            }
            done += (size_t)w;
        }
        off += n;
    }
out:
    free(buf);
    return r;
}

/* Reads until EOF; checks every byte against stream seed. Returns the byte
 * count, or -1 on the first mismatch, or the recv error. */
static inline int64_t sf_recv_stream(struct rpmsg_socket *s, uint32_t seed, size_t chunk)
{
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return -ENOMEM;
    int64_t off = 0;
    for (;;) {
        ssize_t r = rpmsg_socket_recv(s, buf, chunk, 0);
        if (r == 0)
            break;
        if (r < 0) {
            off = r;
            break;
        }
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != sf_byte(seed, (uint64_t)off + (uint64_t)i)) {
                free(buf);
                return -1;
            }
        off += r;
    }
    free(buf);
    return off;
}

/* Thread body: one recv into buf, its result in got. */
struct sf_reader {
    struct rpmsg_socket *s;
    uint8_t *buf;
    size_t len;
    ssize_t got;
};

static inline void *sf_read_once(void *arg)
{
    struct sf_reader *r = arg;
    r->got = rpmsg_socket_recv(r->s, r->buf, r->len, 0);
    return NULL;
}

struct sf_sender {
    struct rpmsg_socket *s;
    uint32_t seed;
    uint64_t total; /* UINT64_MAX: until an error */
    size_t chunk;
    int rc;
};

/* Thread body: sends the stream, then SHUT_WR (unless endless). */
static inline void *sf_send_thread(void *arg)
{
    struct sf_sender *t = arg;
    t->rc = sf_send_stream(t->s, t->seed, t->total, t->chunk);
    if (!t->rc && t->total != UINT64_MAX)
        t->rc = rpmsg_socket_shutdown(t->s, RPMSG_SHUT_WR);
    return NULL;
}

/*
 * total bytes each way at once (c writes in wc-byte writes, s in ws), read
 * in rs / rc-byte reads on the other side, every byte checked, both ends
 * reaching end of stream.
 */
static inline void sf_both_ways(struct rpmsg_socket *c, struct rpmsg_socket *s, uint64_t total,
                                size_t wc, size_t ws, size_t rs, size_t rc)
{
    struct sf_sender up = { c, 11, total, wc, -1 }, down = { s, 22, total, ws, -1 };
    struct tu_thread tu, td;
    assert_int_equal(tu_thread_start(&tu, sf_send_thread, &up), 0);
    assert_int_equal(tu_thread_start(&td, sf_send_thread, &down), 0);
    assert_int_equal(sf_recv_stream(s, 11, rs), (int64_t)total);
    assert_int_equal(sf_recv_stream(c, 22, rc), (int64_t)total);
    assert_int_equal(tu_thread_join(&tu, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(&td, TU_TIMEOUT_MS), 0);
    assert_int_equal(up.rc, 0);
    assert_int_equal(down.rc, 0);
}

#endif
