/*
 * For the socket tests that run programs (the `rpmsg` tool, iperf3): a free
 * loopback port, starting a program with its output in a file, waiting for
 * its exit with a bound, and killing what is left. Header-only.
 */
#ifndef SOCK_PROC_H
#define SOCK_PROC_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpmsg/rpmsg_os.h"

/* A listening socket on a free loopback port (*port); -1 on failure. */
static inline int sp_listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4) ||
        getsockname(fd, (struct sockaddr *)&a, &al)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port that was free a moment ago, for a program to listen on. */
static inline uint16_t sp_free_port(void)
{
    uint16_t port = 0;
    int fd = sp_listen_any(&port);
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? port : 0;
}

/* Opens path onto fd in the child (NULL: fd stays ours). */
static inline void sp_redirect(const char *path, int fd, int flags)
{
    int f = path ? open(path, flags, 0600) : -1;
    if (f >= 0) {
        dup2(f, fd);
        close(f);
    }
}

/* Runs argv[0] (a path) with stdin from in, stdout into out and stderr
 * into err (each NULL: ours). */
static inline pid_t sp_spawn_io(char *const argv[], const char *in, const char *out,
                                const char *err)
{
    pid_t p = fork();
    if (p == 0) {
        sp_redirect(in, 0, O_RDONLY);
        sp_redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
        if (err && err == out) /* one file for both */
            dup2(1, 2);
        else
            sp_redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

/* Runs argv[0] (a path) with stdout and stderr into out (NULL: ours). */
static inline pid_t sp_spawn(char *const argv[], const char *out)
{
    return sp_spawn_io(argv, NULL, out, out);
}

/* Its exit status once it exits within timeout_ms (128 if killed by a
 * signal), or -1 if it is still running (*p is then left set). */
static inline int sp_exit_code(pid_t *p, unsigned timeout_ms)
{
    int st = 0;
    uint64_t deadline = rpmsg_time_ms() + timeout_ms;
    do {
        if (waitpid(*p, &st, WNOHANG) == *p) {
            *p = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        }
        usleep(10000);
    } while (rpmsg_time_ms() < deadline);
    return -1;
}

/* Ends *p if still running: sig first, SIGKILL after 5 s. */
static inline void sp_stop(pid_t *p, int sig)
{
    if (*p <= 0)
        return;
    kill(*p, sig);
    if (sp_exit_code(p, sig == SIGKILL ? 60000 : 5000) < 0) {
        kill(*p, SIGKILL);
        waitpid(*p, NULL, 0);
    }
    *p = 0;
}

#endif
