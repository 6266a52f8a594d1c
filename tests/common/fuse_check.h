/*
 * For the tests that mount through FUSE: skip (with the reason) where
 * /dev/fuse cannot be opened, and tell whether a directory is a mount
 * point (its device differs from its parent's). Include after cmocka.h.
 */
#ifndef TU_FUSE_CHECK_H
#define TU_FUSE_CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void tu_skip_without_fuse(void)
{
    int fd = open("/dev/fuse", O_RDWR);
    if (fd < 0) {
        print_message("skipped: /dev/fuse: %s\n", strerror(errno));
        skip();
    }
    close(fd);
}

static inline bool tu_is_mounted(const char *dir, const char *parent)
{
    struct stat a, b;
    return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

#endif
