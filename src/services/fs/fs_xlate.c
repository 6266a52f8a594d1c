/*
 * NuttX values <-> host values (fs_xlate.h). NuttX's numbers are spelled out
 * here (include/fcntl.h, sys/stat.h, errno.h, dirent.h of NuttX) so that a
 * host with other numbers still speaks NuttX's wire.
 */
#include "fs_xlate.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_DSYNC
#define O_DSYNC 0
#endif

struct pair {
    int32_t nx;
    int host;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Access mode is a value, not bits: handled apart. */
static const struct pair flag_bits[] = {
    { 0100, O_CREAT },         { 0200, O_EXCL },         { 0400, O_NOCTTY },
    { 01000, O_TRUNC },        { 02000, O_APPEND },      { 04000, O_NONBLOCK },
    { 010000, O_DSYNC },       { 0200000, O_DIRECTORY }, { 0400000, O_NOFOLLOW },
    { 02000000, O_CLOEXEC },   { 04010000, O_SYNC },
};

int32_t rpmsgfs_flags_to_nx(int host)
{
    int acc = host & O_ACCMODE;
    int32_t nx = acc == O_WRONLY ? 1 : acc == O_RDWR ? 2 : 0;
    for (size_t i = 0; i < N(flag_bits); i++)
        if (flag_bits[i].host && (host & flag_bits[i].host) == flag_bits[i].host)
            nx |= flag_bits[i].nx;
    return nx;
}

int rpmsgfs_flags_from_nx(int32_t nx)
{
    int acc = nx & 3;
    int host = acc == 1 ? O_WRONLY : acc == 2 ? O_RDWR : O_RDONLY;
    for (size_t i = 0; i < N(flag_bits); i++)
        if ((nx & flag_bits[i].nx) == flag_bits[i].nx)
            host |= flag_bits[i].host;
    return host;
}

/* File types (S_IFMT); NuttX's own kinds (semaphore, message queue, shm,
 * MTD) have no host equivalent and arrive as regular files. */
static const struct pair types[] = {
    { 1 << 12, S_IFIFO }, { 2 << 12, S_IFCHR }, { 4 << 12, S_IFDIR },  { 6 << 12, S_IFBLK },
    { 8 << 12, S_IFREG }, { 10 << 12, S_IFLNK }, { 12 << 12, S_IFSOCK },
    { 3 << 12, S_IFREG }, { 5 << 12, S_IFREG },  { 7 << 12, S_IFREG },   { 9 << 12, S_IFREG },
};

uint32_t rpmsgfs_mode_to_nx(uint32_t host)
{
    uint32_t nx = host & 07777;
    for (size_t i = 0; i < 7; i++)
        if ((host & S_IFMT) == (uint32_t)types[i].host)
            return nx | (uint32_t)types[i].nx;
    return nx;
}

uint32_t rpmsgfs_mode_from_nx(uint32_t nx)
{
    uint32_t host = nx & 07777;
    for (size_t i = 0; i < N(types); i++)
        if ((nx & 0170000) == (uint32_t)types[i].nx)
            return host | (uint32_t)types[i].host;
    return host;
}

static const struct pair errnos[] = {
    { 1, EPERM },      { 2, ENOENT },        { 3, ESRCH },      { 4, EINTR },
    { 5, EIO },        { 6, ENXIO },         { 7, E2BIG },      { 9, EBADF },
    { 11, EAGAIN },    { 12, ENOMEM },       { 13, EACCES },    { 14, EFAULT },
    { 16, EBUSY },     { 17, EEXIST },       { 18, EXDEV },     { 19, ENODEV },
    { 20, ENOTDIR },   { 21, EISDIR },       { 22, EINVAL },    { 23, ENFILE },
    { 24, EMFILE },    { 25, ENOTTY },       { 26, ETXTBSY },   { 27, EFBIG },
    { 28, ENOSPC },    { 29, ESPIPE },       { 30, EROFS },     { 31, EMLINK },
    { 32, EPIPE },     { 34, ERANGE },       { 35, EDEADLK },   { 36, ENAMETOOLONG },
    { 37, ENOLCK },    { 38, ENOSYS },       { 39, ENOTEMPTY }, { 40, ELOOP },
    { 61, ENODATA },   { 71, EPROTO },       { 74, EBADMSG },   { 75, EOVERFLOW },
    { 90, EMSGSIZE },  { 95, EOPNOTSUPP },   { 107, ENOTCONN }, { 110, ETIMEDOUT },
    { 116, ESTALE },   { 122, EDQUOT },      { 125, ECANCELED },
};

int32_t rpmsgfs_errno_to_nx(int host)
{
    for (size_t i = 0; i < N(errnos); i++)
        if (errnos[i].host == host)
            return errnos[i].nx;
    return 5;
}

int rpmsgfs_errno_from_nx(int32_t nx)
{
    for (size_t i = 0; i < N(errnos); i++)
        if (errnos[i].nx == nx)
            return errnos[i].host;
    return EIO;
}

int32_t rpmsgfs_result_to_nx(int64_t r)
{
    if (r < 0)
        return -rpmsgfs_errno_to_nx((int)-r);
    return r > INT32_MAX ? INT32_MAX : (int32_t)r;
}

int64_t rpmsgfs_result_from_nx(int32_t r)
{
    return r < 0 ? -(int64_t)rpmsgfs_errno_from_nx(-r) : r;
}

/* NuttX DTYPE_*: FIFO 1, CHR 2, DIRECTORY 4, BLK 6, FILE 8, LINK 10, SOCK 12
 * (Linux's DT_* numbers); SEM 3, MQ 5, SHM 7, MTD 9 have no host kind. */
uint32_t rpmsgfs_dtype_to_nx(unsigned host)
{
    static const unsigned known[] = { 1, 2, 4, 6, 8, 10, 12 };
    for (size_t i = 0; i < N(known); i++)
        if (known[i] == host)
            return host;
    return 0;
}

unsigned rpmsgfs_dtype_from_nx(uint32_t nx)
{
    if (nx == 3 || nx == 5 || nx == 7 || nx == 9)
        return 8;
    return rpmsgfs_dtype_to_nx(nx);
}
