/*
 * For the tests that run `rpmsg sock` bridges: an echo server on an
 * accepted stream socket, a writer of a checked stream, a reader that
 * checks it, and connecting to a bridge until it listens. Header-only;
 * include after sock_fixture.h.
 */
#ifndef SOCK_BRIDGE_H
#define SOCK_BRIDGE_H

#include <sys/socket.h>
#include <unistd.h>

#include "sock_proc.h"

/* Accepts one connection on *(int *)arg and echoes it until its end. */
static inline void *sb_echo_server(void *arg)
{
    int lfd = *(int *)arg;
    int c = accept(lfd, NULL, NULL);
    TU_CHECK(c >= 0);
    static char buf[65536];
    ssize_t n;
    while (c >= 0 && (n = read(c, buf, sizeof(buf))) > 0)
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(c, buf + off, (size_t)(n - off));
            if (w <= 0)
                break;
            off += w;
        }
    if (c >= 0) {
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

struct sb_writer {
    int fd;
    uint64_t bytes;
    uint8_t seed;
    int rc;
};

/* bytes of sf_fill(seed) to fd, then a half-close; rc 0 if all went. */
static inline void *sb_write_all(void *arg)
{
    struct sb_writer *w = arg;
    static uint8_t buf[65536];
    w->rc = -1;
    for (uint64_t off = 0; off < w->bytes; off += sizeof(buf)) {
        size_t len = w->bytes - off < sizeof(buf) ? (size_t)(w->bytes - off) : sizeof(buf);
        sf_fill(buf, len, w->seed, off);
        for (size_t done = 0; done < len;) {
            ssize_t n = write(w->fd, buf + done, len - done);
            if (n <= 0)
                return NULL;
            done += (size_t)n;
        }
    }
    shutdown(w->fd, SHUT_WR);
    w->rc = 0;
    return NULL;
}

/* Reads fd to its end; the count, *same false at the first byte that is
 * not sf_byte(seed). */
static inline uint64_t sb_read_check(int fd, uint8_t seed, bool *same)
{
    static uint8_t buf[65536];
    uint64_t got = 0;
    ssize_t n;
    *same = true;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            *same = *same && buf[i] == sf_byte(seed, got + (uint64_t)i);
        got += (uint64_t)n;
    }
    return got;
}

/* A bridge listens once its link is up: connect until it does (-1 if it
 * never did within the test timeout). */
static inline int sb_connect(int family, const struct sockaddr *a, socklen_t alen)
{
    uint64_t deadline = rpmsg_time_ms() + TU_TIMEOUT_MS;
    while (rpmsg_time_ms() < deadline) {
        int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c >= 0 && connect(c, a, alen) == 0)
            return c;
        if (c >= 0)
            close(c);
        usleep(20000);
    }
    return -1;
}

#endif
