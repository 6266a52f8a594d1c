/* `rpmsg sim-ctl`: sends one command to a running `rpmsg sim --ctl PATH`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools.h"

static int run(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[1], "--ctl")) {
        fprintf(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr,
                "usage: rpmsg sim-ctl --ctl PATH kill|restart|start CORE | cut LINK MS | "
                "status [CORE] | go | quit\n");
        return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    char line[256] = "";
    for (int i = 3; i < argc; i++) {
        size_t n = strlen(line);
        snprintf(line + n, sizeof(line) - n, "%s%s", i > 3 ? " " : "", argv[i]);
    }
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(argv[2]) >= sizeof(a.sun_path)) {
        fprintf(stderr, "rpmsg sim-ctl: path too long\n");
        return 2;
    }
    strcpy(a.sun_path, argv[2]);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        fprintf(stderr, "rpmsg sim-ctl: %s: %s\n", argv[2], strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    int rc = 1;
    if (send(fd, line, strlen(line), 0) == (ssize_t)strlen(line)) {
        shutdown(fd, SHUT_WR);
        char buf[4096];
        ssize_t n;
        rc = 0;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
            fwrite(buf, 1, (size_t)n, stdout);
            if (n >= 6 && !strncmp(buf, "error:", 6))
                rc = 1;
        }
    }
    close(fd);
    return rc;
}

const struct rpmsg_tool_cmd rpmsg_cmd_simctl = {
    .name = "sim-ctl",
    .summary = "send a command (kill, restart, cut...) to a running `rpmsg sim --ctl`",
    .run = run,
};
