/*
 * RPMsg Socket wire format (NuttX net/rpmsg, nuttx-wire.md §3): the three
 * messages, their parsing, and the endpoint-name scheme. Pure functions, no
 * state: shared by the socket layer and its golden-byte tests.
 */
#ifndef RPMSG_SOCK_WIRE_H
#define RPMSG_SOCK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpmsg/rpmsg_socket.h"

#define SOCK_CMD_SYNC 1u
#define SOCK_CMD_DATA 2u
#define SOCK_CMD_SHUTDOWN 3u

#define SOCK_SYNC_LEN 20u     /* cmd, size, pid, uid, gid */
#define SOCK_SYNC_MIN_LEN 8u  /* older NuttX: cmd, size */
/*
 * Our extension, after NuttX's 20 bytes (NuttX reads SYNC by field and
 * ignores what follows): u32 SOCK_EXT_MAGIC, u32 full = the most data one
 * DATA of this side carries. Its promise: a write never ends on a DATA of
 * that size (its last byte goes alone; a write cut short is followed by an
 * empty DATA), so the receiver may leave its reader asleep while full
 * messages keep coming. A datagram socket sends it too, only to say that
 * it is ours (the window may then open: SOCK_NUTTX_WINDOW).
 */
#define SOCK_SYNC_EXT_LEN 28u
#define SOCK_EXT_MAGIC 0x31585352u /* "RSX1" */
/*
 * Then, from a stream socket whose service name is longer than
 * SOCK_NAME_SHORT (its endpoint name holds only 2 characters and a CRC):
 * u32 n, then the n bytes (1..RPMSG_SOCKET_NAME_SIZE - 1, no NUL) of the
 * full name, so that two peers of ours tell apart names of the same CRC.
 */
#define SOCK_SYNC_NAME_OFF 28u
#define SOCK_SYNC_MAX_LEN (SOCK_SYNC_NAME_OFF + 4u + RPMSG_SOCKET_NAME_SIZE - 1u)
/*
 * The window (stream and datagram) we advertise until the peer is known to be ours: NuttX's
 * own default (CONFIG_NET_RPMSG_RXBUF_SIZE). A NuttX sender takes one TX
 * buffer per DATA and, in an application thread, asserts at once when none
 * is free (open-amp's get_tx_payload_buffer; NuttX's notify_wait answers
 * -EAGAIN outside its RX thread): a window wider than its few TX buffers
 * (8 on the simulator) let it send into that assert.
 */
#define SOCK_NUTTX_WINDOW 1024u
#define SOCK_DATA_HDR 12u     /* cmd, pos, len */
#define SOCK_SHUT_LEN 8u      /* cmd, how */
#define SOCK_DGRAM_PREFIX 4u  /* u32 length before each datagram */

#define SOCK_NAME_PREFIX "s:"
/* NuttX keeps names up to this length; longer ones become 2 chars + CRC. */
#define SOCK_NAME_SHORT 10u

struct sock_msg {
    uint32_t cmd;
    /* SYNC */
    uint32_t size, pid, uid, gid;
    bool has_cred;
    uint32_t ext_full; /* our extension's full size, 0 from a NuttX peer */
    const char *ext_name; /* its full service name (not NUL-terminated), or NULL */
    uint32_t ext_name_len;
    /* DATA */
    uint32_t pos;
    uint32_t len;         /* the len field */
    const uint8_t *data;  /* after the 12-byte head (dgram: its u32 prefix included) */
    uint32_t data_len;
    /* SHUTDOWN */
    uint32_t how;
};

/* NuttX's crc32: reflected 0xEDB88320, initial 0, no final XOR. */
uint32_t sock_crc32(const void *data, size_t len);

/*
 * The endpoint name for service name: "s:" + name, or "s:" + its first two
 * characters + %08x of its crc32 when longer than 10; then ":%x" of id when
 * with_id (a connecting stream socket). Returns the length, or
 * -ENAMETOOLONG / -EINVAL.
 */
int sock_ept_name(char *out, size_t out_size, const char *name, bool with_id, uint32_t id);

uint32_t sock_put_sync(uint8_t *p, uint32_t size, uint32_t pid, uint32_t uid, uint32_t gid);
/* The extension after a SYNC put at p (full > 0); SOCK_SYNC_EXT_LEN. */
uint32_t sock_put_sync_ext(uint8_t *p, uint32_t full);
/* The full name after an extension put at p (1..31 characters); the SYNC's
 * new length, or SOCK_SYNC_EXT_LEN for a name not to send. */
uint32_t sock_put_sync_name(uint8_t *p, const char *name);
uint32_t sock_put_data_hdr(uint8_t *p, uint32_t pos, uint32_t len);
uint32_t sock_put_shutdown(uint8_t *p, uint32_t how);

/*
 * Checks one received message; dgram selects the DATA layout. 0, or
 * -EBADMSG for anything malformed (short, unknown cmd, lengths that do not
 * add up, bad shutdown bits, zero window).
 */
int sock_parse(const void *buf, size_t len, bool dgram, struct sock_msg *m);

#endif
