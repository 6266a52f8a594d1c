/*
 * RPMsg Socket messages and endpoint names, byte for byte as NuttX's
 * net/rpmsg sends them (nuttx-wire.md §3).
 */
#include "sock_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/byteorder.h"
#include "rpmsg/rpmsg_socket.h"

uint32_t sock_crc32(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t crc = 0;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

int sock_ept_name(char *out, size_t out_size, const char *name, bool with_id, uint32_t id)
{
    if (!out || !name || !name[0])
        return -EINVAL;
    size_t n = strnlen(name, RPMSG_SOCKET_NAME_SIZE);
    if (n >= RPMSG_SOCKET_NAME_SIZE)
        return -ENAMETOOLONG;
    int w;
    if (n <= SOCK_NAME_SHORT)
        w = snprintf(out, out_size, "%s%s", SOCK_NAME_PREFIX, name);
    else
        w = snprintf(out, out_size, "%s%.2s%08x", SOCK_NAME_PREFIX, name,
                     (unsigned)sock_crc32(name, n));
    if (w < 0 || (size_t)w >= out_size)
        return -ENAMETOOLONG;
    if (with_id) {
        int x = snprintf(out + w, out_size - (size_t)w, ":%x", (unsigned)id);
        if (x < 0 || (size_t)(w + x) >= out_size)
            return -ENAMETOOLONG;
        w += x;
    }
    return w;
}

uint32_t sock_put_sync(uint8_t *p, uint32_t size, uint32_t pid, uint32_t uid, uint32_t gid)
{
    rpmsg_put32(p, SOCK_CMD_SYNC);
    rpmsg_put32(p + 4, size);
    rpmsg_put32(p + 8, pid);
    rpmsg_put32(p + 12, uid);
    rpmsg_put32(p + 16, gid);
    return SOCK_SYNC_LEN;
}

uint32_t sock_put_sync_ext(uint8_t *p, uint32_t full)
{
    rpmsg_put32(p + SOCK_SYNC_LEN, SOCK_EXT_MAGIC);
    rpmsg_put32(p + SOCK_SYNC_LEN + 4, full);
    return SOCK_SYNC_EXT_LEN;
}

uint32_t sock_put_sync_name(uint8_t *p, const char *name)
{
    size_t n = name ? strnlen(name, RPMSG_SOCKET_NAME_SIZE) : 0;
    if (n <= SOCK_NAME_SHORT || n >= RPMSG_SOCKET_NAME_SIZE)
        return SOCK_SYNC_EXT_LEN;
    rpmsg_put32(p + SOCK_SYNC_NAME_OFF, (uint32_t)n);
    memcpy(p + SOCK_SYNC_NAME_OFF + 4, name, n);
    return SOCK_SYNC_NAME_OFF + 4 + (uint32_t)n;
}

uint32_t sock_put_data_hdr(uint8_t *p, uint32_t pos, uint32_t len)
{
    rpmsg_put32(p, SOCK_CMD_DATA);
    rpmsg_put32(p + 4, pos);
    rpmsg_put32(p + 8, len);
    return SOCK_DATA_HDR;
}

uint32_t sock_put_shutdown(uint8_t *p, uint32_t how)
{
    rpmsg_put32(p, SOCK_CMD_SHUTDOWN);
    rpmsg_put32(p + 4, how);
    return SOCK_SHUT_LEN;
}

static int parse_data(const uint8_t *p, size_t len, bool dgram, struct sock_msg *m)
{
    if (len < SOCK_DATA_HDR)
        return -EBADMSG;
    m->pos = rpmsg_get32(p + 4);
    m->len = rpmsg_get32(p + 8);
    m->data = p + SOCK_DATA_HDR;
    m->data_len = (uint32_t)(len - SOCK_DATA_HDR);
    if (m->data_len == 0)
        return 0; /* a pure acknowledgement; its len field is not looked at */
    if (!dgram)
        return m->len == m->data_len ? 0 : -EBADMSG;
    /* A datagram repeats its length in a u32 ahead of the bytes. */
    if (m->data_len < SOCK_DGRAM_PREFIX || m->data_len - SOCK_DGRAM_PREFIX != m->len ||
        rpmsg_get32(m->data) != m->len)
        return -EBADMSG;
    return 0;
}

int sock_parse(const void *buf, size_t len, bool dgram, struct sock_msg *m)
{
    const uint8_t *p = buf;
    if (!p || !m || len < 4)
        return -EBADMSG;
    memset(m, 0, sizeof(*m));
    m->cmd = rpmsg_get32(p);
    switch (m->cmd) {
    case SOCK_CMD_SYNC:
        if (len < SOCK_SYNC_MIN_LEN)
            return -EBADMSG;
        m->size = rpmsg_get32(p + 4);
        if (len >= SOCK_SYNC_LEN) {
            m->has_cred = true;
            m->pid = rpmsg_get32(p + 8);
            m->uid = rpmsg_get32(p + 12);
            m->gid = rpmsg_get32(p + 16);
        }
        if (len >= SOCK_SYNC_EXT_LEN && rpmsg_get32(p + SOCK_SYNC_LEN) == SOCK_EXT_MAGIC)
            m->ext_full = rpmsg_get32(p + SOCK_SYNC_LEN + 4);
        if (m->ext_full && len >= SOCK_SYNC_NAME_OFF + 4) {
            uint32_t n = rpmsg_get32(p + SOCK_SYNC_NAME_OFF);
            if (!n || n >= RPMSG_SOCKET_NAME_SIZE || n > len - SOCK_SYNC_NAME_OFF - 4)
                return -EBADMSG;
            m->ext_name = (const char *)p + SOCK_SYNC_NAME_OFF + 4;
            m->ext_name_len = n;
        }
        return m->size ? 0 : -EBADMSG;
    case SOCK_CMD_DATA:
        return parse_data(p, len, dgram, m);
    case SOCK_CMD_SHUTDOWN:
        if (len < SOCK_SHUT_LEN)
            return -EBADMSG;
        m->how = rpmsg_get32(p + 4);
        return (m->how & 3u) && !(m->how & ~3u) ? 0 : -EBADMSG;
    default:
        return -EBADMSG;
    }
}
