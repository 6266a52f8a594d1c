/*
 * RPMsg FS message encoding and decoding (fs_wire.h). One table gives each
 * command's fixed size and what trails it; the field offsets are NuttX's
 * packed layouts (nuttx-wire.md §2) and this project's extension commands.
 */
#include "fs_wire.h"

#include <errno.h>
#include <string.h>

#include "common/byteorder.h"

enum tail {
    T_NONE,
    T_PATH,     /* request: a NUL-terminated path */
    T_RENAME,   /* request: old path, NUL, pad to 8, new path */
    T_WDATA,    /* request carries count bytes (WRITE, X_PWRITE) */
    T_RDATA,    /* reply carries the bytes read (READ, X_PREAD) */
    T_IOCTL,    /* both carry arglen bytes */
    T_NAME,     /* reply: an entry name (READDIR) */
    T_PATHNAME, /* request: a path; reply: a name (X_READLINK) */
    T_PIECE,    /* request: bytes to the message's end (X_PATH) */
};

struct layout {
    uint8_t fixed;
    uint8_t tail;
};

static const struct layout layouts[] = {
    [RPMSGFS_INIT] = { 16, T_NONE },       [RPMSGFS_OPEN] = { 24, T_PATH },
    [RPMSGFS_CLOSE] = { 20, T_NONE },      [RPMSGFS_READ] = { 24, T_RDATA },
    [RPMSGFS_WRITE] = { 24, T_WDATA },     [RPMSGFS_LSEEK] = { 28, T_NONE },
    [RPMSGFS_IOCTL] = { 36, T_IOCTL },     [RPMSGFS_SYNC] = { 20, T_NONE },
    [RPMSGFS_DUP] = { 20, T_NONE },        [RPMSGFS_FSTAT] = { 108, T_NONE },
    [RPMSGFS_FTRUNCATE] = { 24, T_NONE },  [RPMSGFS_OPENDIR] = { 16, T_PATH },
    [RPMSGFS_READDIR] = { 28, T_NAME },    [RPMSGFS_REWINDDIR] = { 20, T_NONE },
    [RPMSGFS_CLOSEDIR] = { 20, T_NONE },   [RPMSGFS_STATFS] = { 80, T_PATH },
    [RPMSGFS_UNLINK] = { 16, T_PATH },     [RPMSGFS_MKDIR] = { 24, T_PATH },
    [RPMSGFS_RMDIR] = { 16, T_PATH },      [RPMSGFS_RENAME] = { 16, T_RENAME },
    [RPMSGFS_STAT] = { 104, T_PATH },      [RPMSGFS_FCHSTAT] = { 112, T_NONE },
    [RPMSGFS_CHSTAT] = { 108, T_PATH },    [RPMSGFS_X_HELLO] = { 24, T_NONE },
    [RPMSGFS_X_PREAD] = { 32, T_RDATA },   [RPMSGFS_X_PWRITE] = { 32, T_WDATA },
    [RPMSGFS_X_LSEEK] = { 32, T_NONE },    [RPMSGFS_X_FTRUNCATE] = { 32, T_NONE },
    [RPMSGFS_X_OPEN] = { 40, T_PATH },     [RPMSGFS_X_MKDIR] = { 40, T_PATH },
    [RPMSGFS_X_SYMLINK] = { 40, T_RENAME }, [RPMSGFS_X_LINK] = { 40, T_RENAME },
    [RPMSGFS_X_READLINK] = { 16, T_PATHNAME }, [RPMSGFS_X_LSTAT] = { 104, T_PATH },
    [RPMSGFS_X_PATH] = { 24, T_PIECE },
};

static const struct layout *layout_of(uint32_t cmd)
{
    if (cmd >= sizeof(layouts) / sizeof(layouts[0]) || layouts[cmd].fixed == 0)
        return NULL;
    return &layouts[cmd];
}

size_t rpmsgfs_fixed_size(uint32_t cmd)
{
    const struct layout *l = layout_of(cmd);
    return l ? l->fixed : 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    rpmsg_put32(p, (uint32_t)v);
    rpmsg_put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p)
{
    return rpmsg_get32(p) | (uint64_t)rpmsg_get32(p + 4) << 32;
}

static void put_stat(uint8_t *p, const struct rpmsgfs_wstat *s)
{
    rpmsg_put32(p + 0, s->dev);
    rpmsg_put32(p + 4, s->mode);
    rpmsg_put32(p + 8, s->rdev);
    rpmsg_put32(p + 12, s->ino);
    const int64_t v[7] = { s->size,     s->atim_sec,  s->atim_nsec, s->mtim_sec,
                           s->mtim_nsec, s->ctim_sec, s->ctim_nsec };
    for (int i = 0; i < 7; i++)
        put64(p + 16 + 8 * i, (uint64_t)v[i]);
    put64(p + 72, s->blocks);
    rpmsg_put16(p + 80, (uint16_t)s->uid);
    rpmsg_put16(p + 82, (uint16_t)s->gid);
    rpmsg_put16(p + 84, (uint16_t)s->blksize);
    rpmsg_put16(p + 86, s->nlink);
}

static void get_stat(const uint8_t *p, struct rpmsgfs_wstat *s)
{
    s->dev = rpmsg_get32(p + 0);
    s->mode = rpmsg_get32(p + 4);
    s->rdev = rpmsg_get32(p + 8);
    s->ino = rpmsg_get32(p + 12);
    int64_t *v[7] = { &s->size,     &s->atim_sec,  &s->atim_nsec, &s->mtim_sec,
                      &s->mtim_nsec, &s->ctim_sec, &s->ctim_nsec };
    for (int i = 0; i < 7; i++)
        *v[i] = (int64_t)get64(p + 16 + 8 * i);
    s->blocks = get64(p + 72);
    s->uid = (int16_t)rpmsg_get16(p + 80);
    s->gid = (int16_t)rpmsg_get16(p + 82);
    s->blksize = (int16_t)rpmsg_get16(p + 84);
    s->nlink = rpmsg_get16(p + 86);
}

static void put_statfs(uint8_t *p, const struct rpmsgfs_wstatfs *s)
{
    rpmsg_put32(p + 16, s->type);
    rpmsg_put32(p + 20, 0);
    const uint64_t v[7] = { s->namelen, s->bsize, s->blocks, s->bfree,
                            s->bavail,  s->files, s->ffree };
    for (int i = 0; i < 7; i++)
        put64(p + 24 + 8 * i, v[i]);
}

static void get_statfs(const uint8_t *p, struct rpmsgfs_wstatfs *s)
{
    s->type = rpmsg_get32(p + 16);
    uint64_t *v[7] = { &s->namelen, &s->bsize, &s->blocks, &s->bfree,
                       &s->bavail,  &s->files, &s->ffree };
    for (int i = 0; i < 7; i++)
        *v[i] = get64(p + 24 + 8 * i);
}

void rpmsgfs_put_header(void *buf, uint32_t cmd, int32_t result, uint64_t cookie)
{
    uint8_t *p = buf;
    rpmsg_put32(p, cmd);
    rpmsg_put32(p + 4, (uint32_t)result);
    put64(p + 8, cookie);
}

/* The fields after the header, identical in a request and its reply. */
static void put_fixed(uint8_t *p, const struct rpmsgfs_msg *m)
{
    switch (m->cmd) {
    case RPMSGFS_OPEN:
        rpmsg_put32(p + 16, (uint32_t)m->flags);
        rpmsg_put32(p + 20, (uint32_t)m->mode);
        break;
    case RPMSGFS_CLOSE: case RPMSGFS_SYNC: case RPMSGFS_DUP:
    case RPMSGFS_REWINDDIR: case RPMSGFS_CLOSEDIR:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        break;
    case RPMSGFS_READ: case RPMSGFS_WRITE:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, m->count);
        break;
    case RPMSGFS_LSEEK:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, (uint32_t)m->whence);
        rpmsg_put32(p + 24, (uint32_t)(int32_t)m->offset);
        break;
    case RPMSGFS_IOCTL:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, (uint32_t)m->request);
        put64(p + 24, m->arg);
        rpmsg_put32(p + 32, m->arglen);
        break;
    case RPMSGFS_FSTAT:
        put_stat(p + 16, &m->st);
        rpmsg_put32(p + 104, (uint32_t)m->fd);
        break;
    case RPMSGFS_STAT: case RPMSGFS_X_LSTAT:
        put_stat(p + 16, &m->st);
        break;
    case RPMSGFS_X_OPEN: case RPMSGFS_X_MKDIR: case RPMSGFS_X_SYMLINK: case RPMSGFS_X_LINK:
        rpmsg_put32(p + 16, (uint32_t)m->flags);
        rpmsg_put32(p + 20, (uint32_t)m->mode);
        rpmsg_put32(p + 24, m->uid);
        rpmsg_put32(p + 28, m->gid);
        rpmsg_put32(p + 32, m->umask);
        break;
    case RPMSGFS_X_PATH:
        rpmsg_put32(p + 16, m->part);
        rpmsg_put32(p + 20, (uint32_t)m->offset);
        break;
    case RPMSGFS_FTRUNCATE:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, (uint32_t)(int32_t)m->offset);
        break;
    case RPMSGFS_READDIR:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, m->ino);
        rpmsg_put32(p + 24, m->type);
        break;
    case RPMSGFS_STATFS:
        put_statfs(p, &m->sfs);
        break;
    case RPMSGFS_MKDIR:
        rpmsg_put32(p + 16, (uint32_t)m->mode);
        rpmsg_put32(p + 20, 0);
        break;
    case RPMSGFS_FCHSTAT:
        put_stat(p + 16, &m->st);
        rpmsg_put32(p + 104, (uint32_t)m->flags);
        rpmsg_put32(p + 108, (uint32_t)m->fd);
        break;
    case RPMSGFS_CHSTAT:
        put_stat(p + 16, &m->st);
        rpmsg_put32(p + 104, (uint32_t)m->flags);
        break;
    case RPMSGFS_X_HELLO:
        rpmsg_put32(p + 16, m->version);
        rpmsg_put32(p + 20, m->features);
        break;
    case RPMSGFS_X_PREAD: case RPMSGFS_X_PWRITE:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, m->count);
        put64(p + 24, (uint64_t)m->offset);
        break;
    case RPMSGFS_X_LSEEK:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, (uint32_t)m->whence);
        put64(p + 24, (uint64_t)m->offset);
        break;
    case RPMSGFS_X_FTRUNCATE:
        rpmsg_put32(p + 16, (uint32_t)m->fd);
        rpmsg_put32(p + 20, 0);
        put64(p + 24, (uint64_t)m->offset);
        break;
    default: /* INIT, OPENDIR, UNLINK, RMDIR, RENAME: header only */
        break;
    }
}

static void get_fixed(const uint8_t *p, struct rpmsgfs_msg *m)
{
    switch (m->cmd) {
    case RPMSGFS_OPEN:
        m->flags = (int32_t)rpmsg_get32(p + 16);
        m->mode = (int32_t)rpmsg_get32(p + 20);
        break;
    case RPMSGFS_CLOSE: case RPMSGFS_SYNC: case RPMSGFS_DUP:
    case RPMSGFS_REWINDDIR: case RPMSGFS_CLOSEDIR:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        break;
    case RPMSGFS_READ: case RPMSGFS_WRITE:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->count = rpmsg_get32(p + 20);
        break;
    case RPMSGFS_LSEEK:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->whence = (int32_t)rpmsg_get32(p + 20);
        m->offset = (int32_t)rpmsg_get32(p + 24);
        break;
    case RPMSGFS_IOCTL:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->request = (int32_t)rpmsg_get32(p + 20);
        m->arg = get64(p + 24);
        m->arglen = rpmsg_get32(p + 32);
        break;
    case RPMSGFS_FSTAT:
        get_stat(p + 16, &m->st);
        m->fd = (int32_t)rpmsg_get32(p + 104);
        break;
    case RPMSGFS_STAT: case RPMSGFS_X_LSTAT:
        get_stat(p + 16, &m->st);
        break;
    case RPMSGFS_X_OPEN: case RPMSGFS_X_MKDIR: case RPMSGFS_X_SYMLINK: case RPMSGFS_X_LINK:
        m->flags = (int32_t)rpmsg_get32(p + 16);
        m->mode = (int32_t)rpmsg_get32(p + 20);
        m->uid = rpmsg_get32(p + 24);
        m->gid = rpmsg_get32(p + 28);
        m->umask = rpmsg_get32(p + 32);
        break;
    case RPMSGFS_X_PATH:
        m->part = rpmsg_get32(p + 16);
        m->offset = rpmsg_get32(p + 20);
        break;
    case RPMSGFS_FTRUNCATE:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->offset = (int32_t)rpmsg_get32(p + 20);
        break;
    case RPMSGFS_READDIR:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->ino = rpmsg_get32(p + 20);
        m->type = rpmsg_get32(p + 24);
        break;
    case RPMSGFS_STATFS:
        get_statfs(p, &m->sfs);
        break;
    case RPMSGFS_MKDIR:
        m->mode = (int32_t)rpmsg_get32(p + 16);
        break;
    case RPMSGFS_FCHSTAT:
        get_stat(p + 16, &m->st);
        m->flags = (int32_t)rpmsg_get32(p + 104);
        m->fd = (int32_t)rpmsg_get32(p + 108);
        break;
    case RPMSGFS_CHSTAT:
        get_stat(p + 16, &m->st);
        m->flags = (int32_t)rpmsg_get32(p + 104);
        break;
    case RPMSGFS_X_HELLO:
        m->version = rpmsg_get32(p + 16);
        m->features = rpmsg_get32(p + 20);
        break;
    case RPMSGFS_X_PREAD: case RPMSGFS_X_PWRITE:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->count = rpmsg_get32(p + 20);
        m->offset = (int64_t)get64(p + 24);
        break;
    case RPMSGFS_X_LSEEK:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->whence = (int32_t)rpmsg_get32(p + 20);
        m->offset = (int64_t)get64(p + 24);
        break;
    case RPMSGFS_X_FTRUNCATE:
        m->fd = (int32_t)rpmsg_get32(p + 16);
        m->offset = (int64_t)get64(p + 24);
        break;
    default:
        break;
    }
}

/* Copies a C string with its NUL at p[off]; returns the end offset or -errno. */
static int put_str(uint8_t *p, size_t off, size_t cap, const char *s)
{
    if (!s)
        return -EINVAL;
    size_t n = strlen(s) + 1;
    if (n > cap - off)
        return -ENAMETOOLONG;
    memcpy(p + off, s, n);
    return (int)(off + n);
}

static int put_bytes(uint8_t *p, size_t off, size_t cap, const void *d, uint32_t n)
{
    if (n > cap - off)
        return -EMSGSIZE;
    if (n)
        memcpy(p + off, d, n);
    return (int)(off + n);
}

int rpmsgfs_encode(const struct rpmsgfs_msg *m, bool reply, void *buf, size_t cap)
{
    const struct layout *l = m ? layout_of(m->cmd) : NULL;
    if (!l || !buf)
        return -EINVAL;
    if (cap < l->fixed || cap > INT32_MAX)
        return -EMSGSIZE;
    uint8_t *p = buf;
    memset(p, 0, l->fixed);
    rpmsgfs_put_header(p, m->cmd, m->result, m->cookie);
    put_fixed(p, m);
    size_t off = l->fixed;
    switch (l->tail) {
    case T_PATH:
        return reply ? (int)off : put_str(p, off, cap, m->path);
    case T_RENAME: {
        if (reply)
            return (int)off;
        if (!m->path || !m->path2)
            return -EINVAL;
        size_t n = strlen(m->path) + 1;
        size_t pad = (n + 7) & ~(size_t)7;
        if (pad > cap - off)
            return -ENAMETOOLONG;
        memset(p + off, 0, pad);
        memcpy(p + off, m->path, n);
        return put_str(p, off + pad, cap, m->path2);
    }
    case T_WDATA:
        return reply ? (int)off : put_bytes(p, off, cap, m->data, m->data_len);
    case T_RDATA:
        return reply ? put_bytes(p, off, cap, m->data, m->data_len) : (int)off;
    case T_IOCTL:
        return put_bytes(p, off, cap, m->data, m->data_len);
    case T_NAME:
        return reply && m->path ? put_str(p, off, cap, m->path) : (int)off;
    case T_PATHNAME:
        return !reply ? put_str(p, off, cap, m->path) : m->path ? put_str(p, off, cap, m->path)
                                                                : (int)off;
    case T_PIECE:
        return reply ? (int)off : put_bytes(p, off, cap, m->data, m->data_len);
    default:
        return (int)off;
    }
}

/* A NUL-terminated string starting at p[off] within len; NULL if none. */
static const char *get_str(const uint8_t *p, size_t off, size_t len)
{
    if (off >= len || !memchr(p + off, '\0', len - off))
        return NULL;
    return (const char *)p + off;
}

int rpmsgfs_decode(const void *buf, size_t len, bool reply, struct rpmsgfs_msg *m)
{
    if (!buf || !m)
        return -EINVAL;
    memset(m, 0, sizeof(*m));
    if (len < RPMSGFS_HDR_SIZE)
        return -EPROTO;
    const uint8_t *p = buf;
    m->cmd = rpmsg_get32(p);
    m->result = (int32_t)rpmsg_get32(p + 4);
    m->cookie = get64(p + 8);
    const struct layout *l = layout_of(m->cmd);
    if (!l)
        return -ENOSYS;
    if (len < l->fixed)
        return -EPROTO;
    get_fixed(p, m);
    size_t off = l->fixed;
    switch (l->tail) {
    case T_PATH:
        if (!reply && !(m->path = get_str(p, off, len)))
            return -EPROTO;
        break;
    case T_RENAME:
        if (reply)
            break;
        if (!(m->path = get_str(p, off, len)))
            return -EPROTO;
        off += (strlen(m->path) + 1 + 7) & ~(size_t)7;
        if (!(m->path2 = get_str(p, off, len)))
            return -EPROTO;
        break;
    case T_WDATA:
        if (reply)
            break;
        if (m->count > len - off)
            return -EPROTO;
        m->data = p + off;
        m->data_len = m->count;
        break;
    case T_RDATA:
        if (!reply)
            break;
        m->data = p + off;
        m->data_len = (uint32_t)(len - off);
        if (m->result > 0 && (uint32_t)m->result > m->data_len)
            return -EPROTO;
        break;
    case T_IOCTL:
        if (m->arglen > len - off)
            return -EPROTO;
        m->data = p + off;
        m->data_len = m->arglen;
        break;
    case T_NAME: case T_PATHNAME:
        /* Only a successful answer carries a name. */
        if (reply && m->result >= 0 && !(m->path = get_str(p, off, len)))
            return -EPROTO;
        if (!reply && l->tail == T_PATHNAME && !(m->path = get_str(p, off, len)))
            return -EPROTO;
        break;
    case T_PIECE:
        if (!reply) {
            m->data = p + off;
            m->data_len = (uint32_t)(len - off);
        }
        break;
    default:
        break;
    }
    return 0;
}
