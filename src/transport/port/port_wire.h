/*
 * The port transport's wire format, shared by the UART and SPI links.
 * Every multi-byte field is little-endian.
 *
 * Frame = header (16) + body (len) + CRC-32C (4) over header and body.
 *
 *   0  u8   version << 4 | type     (version 1)
 *   1  u8   flags                   PORT_F_POLL: answer with an ACK now;
 *                                   PORT_F_XSACK: the body ends with a SACK extension
 *   2  u8   stag                    sender's session tag (low byte of its nonce)
 *   3  u8   rtag                    receiver's tag as the sender knows it
 *   4  u16  seq                     sequence number of the first message (DATA)
 *   6  u16  ack                     next sequence number the sender expects
 *   8  u16  limit                   the receiver of this frame may send seq < limit
 *  10  u16  len                     body length
 *  12  u32  sack                    bit i: the sender holds seq ack + 1 + i
 *
 * BYE (no body, only to a peer that offered PORT_HF_BYE): the sender ends
 * the session in order (its link is closing); the receiver takes the link
 * down at once, as closed by the peer, instead of waiting out the peer
 * timeout.
 *
 * DATA bodies are rpmsg messages back to back; each one's length is its own
 * header's (16 + hdr.len), so packing costs no extra byte. CONNECT and
 * CONNACK carry struct port_hello.
 *
 * SACK extension (PORT_F_XSACK, only to a peer that offered PORT_HF_WIDE):
 * the last 1 + 4n bytes of a DATA or ACK body (len counts them), after the
 * messages if any:
 *   n x u32 word w, bit i: the sender holds seq ack + 33 + 32 w + i
 *   u8      n                       1..PORT_XSACK_WORDS_MAX
 * With the header's 32 bits it speaks of the whole PORT_WIN_WIDE window. It
 * is sent when the receiver holds messages past the header's reach and has
 * news (a DATA frame came in since it last sent one); what the sender learns
 * from it stays true (the receiver never drops what it holds), so a lost
 * extension only delays the news.
 *
 * UART: each frame is COBS-encoded and followed by a 0x00 delimiter.
 * SPI: each transfer carries one frame padded with zeros to the fixed
 * transfer size, or, when the receiver offered PORT_HF_MULTI, several
 * frames back to back (so that a bit error costs one short frame, not the
 * whole transfer) and then zeros.
 */
#ifndef RPMSG_PORT_WIRE_H
#define RPMSG_PORT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/byteorder.h"
#include "rpmsg/rpmsg.h"

#if RPMSG_PORT_WIN_MAX < 1 || RPMSG_PORT_WIN_MAX > 512 || (RPMSG_PORT_WIN_MAX & (RPMSG_PORT_WIN_MAX - 1))
#error "RPMSG_PORT_WIN_MAX must be a power of two, 1..512 (sequence numbers index the tables)"
#endif
#if RPMSG_PORT_CRC_TABLES != 1 && RPMSG_PORT_CRC_TABLES != 4
#error "RPMSG_PORT_CRC_TABLES must be 1 or 4"
#endif

#define PORT_VERSION 1u
#define PORT_HDR_SIZE 16u
#define PORT_CRC_SIZE 4u
#define PORT_OVERHEAD (PORT_HDR_SIZE + PORT_CRC_SIZE)
#define PORT_WIN_WIDE 512u /* the window with a peer that offered PORT_HF_WIDE */
#define PORT_WIN_V1 128u   /* the window with a peer that did not */
/* Buffers each way at most: the size of this end's tables (rpmsg_opt.h). */
#define PORT_WIN_MAX ((uint32_t)RPMSG_PORT_WIN_MAX)
#define PORT_BODY_MAX 8192u

enum port_type {
    PORT_T_CONNECT = 1,
    PORT_T_CONNACK = 2,
    PORT_T_DATA = 3,
    PORT_T_ACK = 4,
    PORT_T_BYE = 5,
};

#define PORT_F_POLL 0x01u
#define PORT_F_XSACK 0x02u
#define PORT_XSACK_WORDS_MAX 15u /* 32 + 15 x 32 bits: PORT_WIN_WIDE */
#define PORT_XSACK_MAX (1u + 4u * PORT_XSACK_WORDS_MAX)

/*
 * Hello flags (port_hello.hflags). A peer that leaves a flag clear gets the
 * old behaviour, so both ends need not be upgraded together.
 *   PORT_HF_MULTI: this end parses several frames back to back in one SPI
 *   transfer (the rest of the transfer after the last frame is zeros).
 *   PORT_HF_WIDE: this end takes a credit limit up to PORT_WIN_WIDE past its
 *   oldest unacknowledged message and reads PORT_F_XSACK. Without it on
 *   both sides, limits stay within PORT_WIN_V1 and no extension is sent.
 *   PORT_HF_BYE: this end understands BYE (and sends one when it closes).
 */
#define PORT_HF_MULTI 0x0001u
#define PORT_HF_WIDE 0x0002u
#define PORT_HF_BYE 0x0004u

struct port_hdr {
    uint8_t type;
    uint8_t flags;
    uint8_t stag, rtag;
    uint16_t seq, ack, limit, len;
    uint32_t sack;
};

/* Body of CONNECT and CONNACK. */
struct port_hello {
    uint16_t version;
    uint16_t hflags;
    uint32_t nonce;      /* the sender's, fresh at every boot */
    uint32_t peer_nonce; /* the receiver's as the sender knows it, 0 if not */
    uint32_t features;
    uint32_t rx_buf_size;
    uint16_t rx_bufs;
    uint16_t reserved;
    char cpuname[RPMSG_CPUNAME_SIZE];
};
#define PORT_HELLO_SIZE (24u + RPMSG_CPUNAME_SIZE)

/* Signed distance a - b in sequence space. */
static inline int32_t port_seq_diff(uint16_t a, uint16_t b)
{
    return (int16_t)(uint16_t)(a - b);
}

/* CRC-32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF). */
uint32_t rpmsg_port_crc32c(uint32_t crc, const void *data, size_t len);

void rpmsg_port_hdr_put(uint8_t *out, const struct port_hdr *h);
void rpmsg_port_hdr_get(struct port_hdr *h, const uint8_t *in);
void rpmsg_port_hello_put(uint8_t *out, const struct port_hello *m);
void rpmsg_port_hello_get(struct port_hello *m, const uint8_t *in);
/* Writes the SACK extension of n words (1..PORT_XSACK_WORDS_MAX) at out; returns its length. */
size_t rpmsg_port_xsack_put(uint8_t *out, const uint32_t *words, unsigned n);
/* Reads the extension at the end of a body of len bytes into words
 * (PORT_XSACK_WORDS_MAX); returns n, or -1 when it cannot be one. */
int rpmsg_port_xsack_get(uint32_t *words, const uint8_t *body, size_t len);
/* Writes the CRC after header + body (h->len bytes); returns the frame length. */
size_t rpmsg_port_seal(uint8_t *frame, size_t body_len);

/* COBS: worst case output for n input bytes (without the delimiter). */
static inline size_t port_cobs_max(size_t n)
{
    return n + n / 254 + 1;
}
/* Encodes n bytes; out holds port_cobs_max(n). Returns the encoded length (no zero byte). */
size_t rpmsg_port_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
/* Decodes n bytes (no delimiter) into out (cap bytes); decoded length or -1 if invalid. */
long rpmsg_port_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

#endif
