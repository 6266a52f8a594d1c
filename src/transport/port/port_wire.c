/* Wire helpers of the port transport: CRC-32C, header and hello codecs, COBS. */
#include <string.h>

#include "common/linecode.h"
#include "port_wire.h"

/* Slicing-by-4 tables, built once: the CRC covers every byte on the line.
 * RPMSG_PORT_CRC_TABLES 1 keeps one (1 KiB of RAM instead of 4). */
static uint32_t crc_tab[RPMSG_PORT_CRC_TABLES][256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++)
        crc_tab[0][i] = rpmsg_crc32c_byte(0, (uint8_t)i);
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < RPMSG_PORT_CRC_TABLES; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xFF];
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t rpmsg_port_crc32c(uint32_t crc, const void *data, size_t len)
{
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
        crc_init(); /* idempotent: concurrent first calls write the same values */
    const uint8_t *p = data;
    crc = ~crc;
#if RPMSG_PORT_CRC_TABLES == 4
    while (len >= 4) {
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        crc = crc_tab[3][crc & 0xFF] ^ crc_tab[2][(crc >> 8) & 0xFF] ^
              crc_tab[1][(crc >> 16) & 0xFF] ^ crc_tab[0][crc >> 24];
        p += 4;
        len -= 4;
    }
#endif
    while (len--)
        crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

void rpmsg_port_hdr_put(uint8_t *out, const struct port_hdr *h)
{
    out[0] = (uint8_t)(PORT_VERSION << 4 | (h->type & 0x0F));
    out[1] = h->flags;
    out[2] = h->stag;
    out[3] = h->rtag;
    rpmsg_put16(out + 4, h->seq);
    rpmsg_put16(out + 6, h->ack);
    rpmsg_put16(out + 8, h->limit);
    rpmsg_put16(out + 10, h->len);
    rpmsg_put32(out + 12, h->sack);
}

void rpmsg_port_hdr_get(struct port_hdr *h, const uint8_t *in)
{
    h->type = in[0];
    h->flags = in[1];
    h->stag = in[2];
    h->rtag = in[3];
    h->seq = rpmsg_get16(in + 4);
    h->ack = rpmsg_get16(in + 6);
    h->limit = rpmsg_get16(in + 8);
    h->len = rpmsg_get16(in + 10);
    h->sack = rpmsg_get32(in + 12);
}

void rpmsg_port_hello_put(uint8_t *out, const struct port_hello *m)
{
    rpmsg_put16(out, m->version);
    rpmsg_put16(out + 2, m->hflags);
    rpmsg_put32(out + 4, m->nonce);
    rpmsg_put32(out + 8, m->peer_nonce);
    rpmsg_put32(out + 12, m->features);
    rpmsg_put32(out + 16, m->rx_buf_size);
    rpmsg_put16(out + 20, m->rx_bufs);
    rpmsg_put16(out + 22, m->reserved);
    memcpy(out + 24, m->cpuname, RPMSG_CPUNAME_SIZE);
}

void rpmsg_port_hello_get(struct port_hello *m, const uint8_t *in)
{
    m->version = rpmsg_get16(in);
    m->hflags = rpmsg_get16(in + 2);
    m->nonce = rpmsg_get32(in + 4);
    m->peer_nonce = rpmsg_get32(in + 8);
    m->features = rpmsg_get32(in + 12);
    m->rx_buf_size = rpmsg_get32(in + 16);
    m->rx_bufs = rpmsg_get16(in + 20);
    m->reserved = rpmsg_get16(in + 22);
    memcpy(m->cpuname, in + 24, RPMSG_CPUNAME_SIZE);
    m->cpuname[RPMSG_CPUNAME_SIZE - 1] = '\0'; /* never trust the peer to terminate */
}

size_t rpmsg_port_xsack_put(uint8_t *out, const uint32_t *words, unsigned n)
{
    for (unsigned w = 0; w < n; w++)
        rpmsg_put32(out + 4 * w, words[w]);
    out[4 * n] = (uint8_t)n;
    return 1u + 4u * n;
}

int rpmsg_port_xsack_get(uint32_t *words, const uint8_t *body, size_t len)
{
    if (!len)
        return -1;
    unsigned n = body[len - 1];
    if (!n || n > PORT_XSACK_WORDS_MAX || len < 1u + 4u * n)
        return -1;
    const uint8_t *at = body + len - 1 - 4 * n;
    for (unsigned w = 0; w < n; w++)
        words[w] = rpmsg_get32(at + 4 * w);
    return (int)n;
}

size_t rpmsg_port_seal(uint8_t *frame, size_t body_len)
{
    size_t n = PORT_HDR_SIZE + body_len;
    rpmsg_put32(frame + n, rpmsg_port_crc32c(0, frame, n));
    return n + PORT_CRC_SIZE;
}

size_t rpmsg_port_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    return rpmsg_cobs_encode(in, n, out);
}

long rpmsg_port_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0 || (size_t)(code - 1) > n - i)
            return -1;
        if (o + (size_t)(code - 1) > cap)
            return -1;
        for (uint8_t k = 1; k < code; k++) {
            if (!in[i])
                return -1;
            out[o++] = in[i++];
        }
        /* A code below 0xFF stands for a zero, except at the very end. */
        if (code < 0xFF && i < n) {
            if (o >= cap)
                return -1;
            out[o++] = 0;
        }
    }
    return (long)o;
}
