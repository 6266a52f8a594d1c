/*
 * RPMsg FS wire format: NuttX's rpmsgfs messages (../shared/design/nuttx-wire.md
 * §2), packed little-endian, plus this project's extension commands, which are
 * only sent once both peers showed they are ours (HELLO, see docs/fs.md).
 * Encoding and decoding only: no I/O, no OS, so the bare-metal build
 * links it too.
 */
#ifndef RPMSG_FS_WIRE_H
#define RPMSG_FS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPMSGFS_PREFIX "rpmsgfs-"
/* A client of ours adds this after the prefix; a NuttX server only checks the prefix. */
#define RPMSGFS_EXT_TAG "x1-"

#define RPMSGFS_HDR_SIZE 16
#define RPMSGFS_STAT_SIZE 88

enum rpmsgfs_cmd {
    RPMSGFS_INIT = 0,
    RPMSGFS_OPEN = 1,
    RPMSGFS_CLOSE = 2,
    RPMSGFS_READ = 3,
    RPMSGFS_WRITE = 4,
    RPMSGFS_LSEEK = 5,
    RPMSGFS_IOCTL = 6,
    RPMSGFS_SYNC = 7,
    RPMSGFS_DUP = 8,
    RPMSGFS_FSTAT = 9,
    RPMSGFS_FTRUNCATE = 10,
    RPMSGFS_OPENDIR = 11,
    RPMSGFS_READDIR = 12,
    RPMSGFS_REWINDDIR = 13,
    RPMSGFS_CLOSEDIR = 14,
    RPMSGFS_STATFS = 15,
    RPMSGFS_UNLINK = 16,
    RPMSGFS_MKDIR = 17,
    RPMSGFS_RMDIR = 18,
    RPMSGFS_RENAME = 19,
    RPMSGFS_STAT = 20,
    RPMSGFS_FCHSTAT = 21,
    RPMSGFS_CHSTAT = 22,
    RPMSGFS_NUTTX_CMDS = 23,
    /* Extension (peers of ours only). A NuttX server drops unknown commands
     * without an answer, which is why they are never sent to one. */
    RPMSGFS_X_HELLO = 64,     /* server -> client, unsolicited, cookie 0 */
    RPMSGFS_X_PREAD = 65,     /* 64-bit offset; answered like READ */
    RPMSGFS_X_PWRITE = 66,    /* 64-bit offset; every chunk answered */
    RPMSGFS_X_LSEEK = 67,     /* 64-bit offset in and out */
    RPMSGFS_X_FTRUNCATE = 68, /* 64-bit length */
    /* Feature RPMSGFS_XF_POSIX (HELLO's features): what a POSIX mount needs. */
    RPMSGFS_X_OPEN = 69,     /* OPEN with the caller's uid, gid and umask */
    RPMSGFS_X_MKDIR = 70,    /* MKDIR with them */
    RPMSGFS_X_SYMLINK = 71,  /* path: the new link, path2: its target's text */
    RPMSGFS_X_LINK = 72,     /* path: an existing file, path2: its new name */
    RPMSGFS_X_READLINK = 73, /* the answer carries the target */
    RPMSGFS_X_LSTAT = 74,    /* STAT of a symlink itself */
    RPMSGFS_X_PATH = 75,     /* a piece of a path too long for one message; no answer */
};

/* X_HELLO features. */
#define RPMSGFS_XF_POSIX (1u << 0) /* commands 69..75 */
/* X_PATH: which path the piece belongs to. */
#define RPMSGFS_XP_PATH 0u
#define RPMSGFS_XP_PATH2 1u

#define RPMSGFS_X_VERSION 1u
#define RPMSGFS_X_OFF_CURRENT (-1) /* X_PREAD/X_PWRITE: at the file position */

/* NuttX chstat flags (include/nuttx/fs/fs.h). */
#define RPMSGFS_CH_MODE (1 << 0)
#define RPMSGFS_CH_UID (1 << 1)
#define RPMSGFS_CH_GID (1 << 2)
#define RPMSGFS_CH_ATIME (1 << 3)
#define RPMSGFS_CH_MTIME (1 << 4)
/* Extension (XF_POSIX): act on a symlink itself, not on its target. */
#define RPMSGFS_CH_X_NOFOLLOW (1 << 16)

/* stat as it travels (values are NuttX's: mode and the like untranslated). */
struct rpmsgfs_wstat {
    uint32_t dev, mode, rdev, ino;
    int64_t size, atim_sec, atim_nsec, mtim_sec, mtim_nsec, ctim_sec, ctim_nsec;
    uint64_t blocks;
    int16_t uid, gid, blksize;
    uint16_t nlink;
};

struct rpmsgfs_wstatfs {
    uint32_t type;
    uint64_t namelen, bsize, blocks, bfree, bavail, files, ffree;
};

/*
 * One message, decoded. Which fields matter depends on cmd; pointers point
 * into the buffer that was decoded (never copied).
 */
struct rpmsgfs_msg {
    uint32_t cmd;
    int32_t result;
    uint64_t cookie;
    int32_t fd;      /* fd or directory handle */
    int32_t flags;   /* OPEN flags, chstat flags */
    int32_t mode;    /* OPEN, MKDIR */
    uint32_t count;  /* READ/WRITE/X_PREAD/X_PWRITE */
    int32_t whence;  /* LSEEK */
    int64_t offset;  /* LSEEK (32-bit on the wire), X_* offsets and lengths */
    int32_t request; /* IOCTL */
    uint64_t arg;    /* IOCTL */
    uint32_t arglen; /* IOCTL */
    uint32_t ino, type;          /* READDIR */
    uint32_t version, features;  /* X_HELLO */
    uint32_t uid, gid, umask;    /* X_OPEN, X_MKDIR, X_SYMLINK, X_LINK: the caller */
    uint32_t part;               /* X_PATH: RPMSGFS_XP_*; offset: where the piece goes */
    struct rpmsgfs_wstat st;     /* FSTAT/STAT/FCHSTAT/CHSTAT */
    struct rpmsgfs_wstatfs sfs;  /* STATFS */
    const char *path;  /* NUL-terminated in the buffer; READDIR, X_READLINK reply: the name */
    const char *path2; /* RENAME: new path */
    const void *data;  /* READ reply, WRITE/X_PWRITE request, IOCTL buffer, X_PATH piece */
    uint32_t data_len;
};

/* Fixed part of cmd's request (as a reply it is the same): 0 if unknown. */
size_t rpmsgfs_fixed_size(uint32_t cmd);

/*
 * Encodes m into buf (cap bytes). reply: the server's form (the request's
 * fixed part echoed, no path; READ carries data, READDIR the name, IOCTL its
 * buffer). Returns the length, -EINVAL (unknown command) or -ENAMETOOLONG /
 * -EMSGSIZE when it does not fit.
 */
int rpmsgfs_encode(const struct rpmsgfs_msg *m, bool reply, void *buf, size_t cap);

/*
 * Decodes len bytes from a peer. Never trusts them: a path must end in NUL
 * inside the message, data lengths must fit. Returns 0, -EPROTO (malformed)
 * or -ENOSYS (unknown command: the header fields are still filled in).
 */
int rpmsgfs_decode(const void *buf, size_t len, bool reply, struct rpmsgfs_msg *m);

/* Writes only the header (the server's answer to a malformed request). */
void rpmsgfs_put_header(void *buf, uint32_t cmd, int32_t result, uint64_t cookie);

#endif
