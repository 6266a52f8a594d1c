#include "trace_decode.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pcap.h"
#include "rpmsg/rpmsg.h"

#define NS_ADDR 0x35u
#define NS_MSG_SIZE 40u
#define ROUTER_ADDR 0x3f0u
#define ROUTER_MSG_SIZE 88u

struct out {
    char *p;
    size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->len >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        o->len = o->len + (size_t)w < o->cap ? o->len + (size_t)w : o->cap - 1;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

void trace_decoder_init(struct trace_decoder *d)
{
    memset(d, 0, sizeof(*d));
}

/* Both ends may use one address: an endpoint is its side and address. */
static const char *service_at(const struct trace_decoder *d, int dir, uint32_t addr)
{
    for (unsigned i = 0; i < d->n; i++)
        if (d->svc[i].addr == addr && d->svc[i].dir == dir)
            return d->svc[i].name;
    return NULL;
}

static void learn(struct trace_decoder *d, int dir, const char *name, uint32_t addr, bool destroy)
{
    for (unsigned i = 0; i < d->n; i++)
        if (d->svc[i].addr == addr && d->svc[i].dir == dir) {
            if (destroy)
                d->svc[i] = d->svc[--d->n];
            else
                snprintf(d->svc[i].name, sizeof(d->svc[i].name), "%s", name);
            return;
        }
    if (!destroy && d->n < TRACE_DEC_SERVICES) {
        d->svc[d->n].addr = addr;
        d->svc[d->n].dir = dir;
        snprintf(d->svc[d->n++].name, sizeof(d->svc[0].name), "%s", name);
    }
}

/* Printable bytes as text, others as '.': names come off a wire. */
static void put_name(struct out *o, const uint8_t *s, size_t max)
{
    put(o, "\"");
    for (size_t i = 0; i < max && s[i]; i++)
        put(o, "%c", s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '.');
    put(o, "\"");
}

static void put_ns(struct out *o, struct trace_decoder *d, int dir, const uint8_t *p)
{
    static const char *const kinds[] = { "CREATE", "DESTROY", "CREATE_ACK" };
    uint32_t addr = le32(p + 32), flags = le32(p + 36);
    put(o, " NS %s ", flags < 3 ? kinds[flags] : "?");
    put_name(o, p, 32);
    put(o, " at 0x%x", addr);
    char name[33];
    memcpy(name, p, 32);
    name[32] = '\0';
    if (flags == 0 || flags == 2) /* CREATE_ACK names the acknowledging side's endpoint */
        learn(d, dir, name, addr, false);
    else if (flags == 1)
        learn(d, dir, name, addr, true);
}

/* RPMsg Socket (nuttx-wire.md 3, src/services/socket/sock_wire.h). */
static bool put_sock(struct out *o, const uint8_t *p, size_t n)
{
    if (n < 8)
        return false;
    uint32_t cmd = le32(p);
    if (cmd == 1) {
        put(o, " SYNC size %u", le32(p + 4));
        if (n >= 28 && le32(p + 20) == 0x31585352u) /* "RSX1": ours */
            put(o, " RSX1 full %u", le32(p + 24));
        if (n >= 32 && le32(p + 28) && le32(p + 28) <= n - 32) {
            put(o, " name ");
            put_name(o, p + 32, le32(p + 28));
        }
    } else if (cmd == 2 && n >= 12) {
        put(o, " DATA pos %u len %u", le32(p + 4), le32(p + 8));
    } else if (cmd == 3) {
        put(o, " SHUTDOWN how %u", le32(p + 4));
    } else {
        return false;
    }
    return true;
}

static const char *const fs_cmds[] = {
    "INIT", "OPEN", "CLOSE", "READ", "WRITE", "LSEEK", "IOCTL", "SYNC", "DUP", "FSTAT",
    "FTRUNCATE", "OPENDIR", "READDIR", "REWINDDIR", "CLOSEDIR", "STATFS", "UNLINK", "MKDIR",
    "RMDIR", "RENAME", "STAT", "FCHSTAT", "CHSTAT",
};
static const char *const fs_xcmds[] = { "X_HELLO",  "X_PREAD",   "X_PWRITE", "X_LSEEK",
                                        "X_FTRUNCATE", "X_OPEN", "X_MKDIR",  "X_SYMLINK",
                                        "X_LINK",   "X_READLINK", "X_LSTAT", "X_PATH" };

/* Where a request's path starts (nuttx-wire.md 2), 0 for none. */
static size_t fs_path_off(uint32_t cmd)
{
    switch (cmd) {
    case 1: case 17: return 24;
    case 11: case 16: case 18: case 19: return 16;
    case 15: return 80;
    case 20: case 74: return 104;
    case 22: return 108;
    case 69: case 70: case 71: case 72: return 40;
    case 73: return 16;
    default: return 0;
    }
}

/* RPMsg FS: requests carry result -ENXIO (-6), replies the answer. */
static bool put_fs(struct out *o, const uint8_t *p, size_t n)
{
    if (n < 16)
        return false;
    uint32_t cmd = le32(p);
    int32_t result = (int32_t)le32(p + 4);
    const char *name = cmd < 23 ? fs_cmds[cmd] : cmd >= 64 && cmd <= 75 ? fs_xcmds[cmd - 64] : NULL;
    if (!name)
        return false;
    bool request = result == -6 && cmd != 64;
    put(o, " FS %s", name);
    if (cmd == 64 && n >= 24) {
        put(o, " version %u features 0x%x", le32(p + 16), le32(p + 20));
        return true;
    }
    if (request)
        put(o, " request");
    else
        put(o, " reply %d", result);
    size_t off = fs_path_off(cmd);
    if (request && off && n > off) {
        put(o, " ");
        put_name(o, p + off, n - off);
    }
    if (cmd == 12 && !request && n > 28) {
        put(o, " ");
        put_name(o, p + 28, n - 28);
    }
    return true;
}

/* The router's control message (src/transport/router/router.c). */
static void put_router(struct out *o, const uint8_t *p)
{
    static const char *const types[] = { "?", "HELLO", "ROUTE", "CONNECT", "ACCEPT", "REJECT",
                                         "DISCONNECT" };
    put(o, " router %s ", p[1] < 7 ? types[p[1]] : "?");
    put_name(o, p + 24, 32);
    if (p[1] == 2)
        put(o, " hops %u", p[2]);
    if (p[1] == 3) {
        put(o, " from ");
        put_name(o, p + 56, 32);
    }
    if (p[3])
        put(o, " flags 0x%x", p[3]);
}

static void put_hex(struct out *o, const uint8_t *p, size_t n)
{
    size_t shown = n < 16 ? n : 16;
    put(o, " data");
    for (size_t i = 0; i < shown; i++)
        put(o, " %02x", p[i]);
    if (shown < n)
        put(o, " ...");
}

/* One message (header and payload) of side dir, after its direction's name. */
static void put_msg(struct out *o, struct trace_decoder *d, int dir, const uint8_t *m, size_t mlen)
{
    if (mlen < RPMSG_HDR_SIZE) {
        put(o, " short message (%zu bytes)", mlen);
        return;
    }
    uint32_t src = le32(m), dst = le32(m + 4);
    uint16_t plen = le16(m + 12), flags = le16(m + 14);
    put(o, " 0x%x -> 0x%x len %u", src, dst, plen);
    if (flags)
        put(o, " flags 0x%x", flags);
    const uint8_t *p = m + RPMSG_HDR_SIZE;
    size_t avail = mlen - RPMSG_HDR_SIZE;
    size_t n = plen < avail ? plen : avail;
    if (dst == NS_ADDR && n == NS_MSG_SIZE) {
        put_ns(o, d, dir, p);
        return;
    }
    if (src == ROUTER_ADDR && dst == ROUTER_ADDR && n == ROUTER_MSG_SIZE) {
        put_router(o, p);
        return;
    }
    /* From the sender's endpoint, or to the receiver's. */
    const char *svc = service_at(d, dir, src);
    if (!svc)
        svc = service_at(d, !dir, dst);
    if (svc)
        put(o, " [%s]", svc);
    bool done = false;
    if (svc && !strncmp(svc, "s:", 2))
        done = put_sock(o, p, n);
    else if (svc && !strncmp(svc, "rpmsgfs-", 8))
        done = put_fs(o, p, n);
    if (!done && n)
        put_hex(o, p, n);
    if (n < plen)
        put(o, " (cut: %zu of %u bytes)", n, plen);
}

/* A port frame (port_wire.h): header, hello, or the messages DATA packs. */
static void put_port(struct out *o, struct trace_decoder *d, int dir, const uint8_t *f, size_t n)
{
    static const char *const types[] = { "?", "CONNECT", "CONNACK", "DATA", "ACK", "BYE" };
    if (n < 20) {
        put(o, " short frame (%zu bytes)", n);
        return;
    }
    unsigned type = f[0] & 0x0f;
    size_t blen = le16(f + 10);
    if (blen > n - 20)
        blen = n - 20;
    put(o, " %s seq %u ack %u limit %u", type < 6 ? types[type] : "?", le16(f + 4), le16(f + 6),
        le16(f + 8));
    const uint8_t *body = f + 16;
    if ((type == 1 || type == 2) && blen >= 56) {
        put(o, " cpu ");
        put_name(o, body + 24, 32);
        return;
    }
    if (type != 3)
        return;
    size_t mlen = blen;
    if ((f[1] & 0x02) && blen) { /* the SACK extension ends the body */
        size_t ext = 1 + 4 * (size_t)body[blen - 1];
        mlen = ext <= blen ? blen - ext : 0;
    }
    for (size_t off = 0; off + RPMSG_HDR_SIZE <= mlen;) {
        size_t l = RPMSG_HDR_SIZE + le16(body + off + 12);
        if (off + l > mlen)
            break;
        put(o, " |");
        put_msg(o, d, dir, body + off, l);
        off += l;
    }
}

void trace_decode(struct trace_decoder *d, const uint8_t *rec, size_t len, char *buf, size_t cap)
{
    struct out o = { buf, cap, 0 };
    buf[0] = '\0';
    if (len < PCAP_PSEUDO_SIZE || rec[0] != 'R') {
        put(&o, "not an rpmsg record");
        return;
    }
    const uint8_t *m = rec + PCAP_PSEUDO_SIZE;
    size_t mlen = len - PCAP_PSEUDO_SIZE;
    int dir = rec[2] != 0;
    if (rec[1] == PCAP_KIND_PORT) {
        put(&o, "%s", dir ? "b>a" : "a>b");
        if (rec[3] & PCAP_F_BAD_COBS)
            put(&o, " bad COBS (%zu bytes)", mlen);
        else
            put_port(&o, d, dir, m, mlen);
        return;
    }
    bool observed = rec[3] & PCAP_F_OBSERVED;
    put(&o, "%-8s", observed ? (dir ? "remote>host" : "host>remote") : (dir ? "received" : "sent"));
    if (rec[3] & PCAP_F_LOST)
        put(&o, " (seen too late: its buffer already held a later message)");
    else
        put_msg(&o, d, dir, m, mlen);
}
