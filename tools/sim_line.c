#include "sim_line.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void serve(const struct rpmsg_line_config *cfg, int info_fd, int cmd_fd)
{
    struct rpmsg_line *line;
    int r = rpmsg_line_create(&line, cfg);
    char buf[300];
    int n = r ? snprintf(buf, sizeof(buf), "error %d\n", r)
              : snprintf(buf, sizeof(buf), "%s\n%s\n", rpmsg_line_tty_a(line),
                         rpmsg_line_tty_b(line));
    if (write(info_fd, buf, (size_t)n) != n || r)
        _exit(1);
    close(info_fd);
    /* One command per 4-byte word: milliseconds of cut. EOF: stop. */
    uint32_t ms;
    while (read(cmd_fd, &ms, sizeof(ms)) == (ssize_t)sizeof(ms))
        rpmsg_line_cut(line, ms);
    rpmsg_line_destroy(line);
    _exit(0);
}

int sim_line_start(struct sim_line *l, const struct rpmsg_line_config *cfg)
{
    int info[2], cmd[2];
    memset(l, 0, sizeof(*l));
    l->cmd_fd = -1;
    if (pipe2(info, O_CLOEXEC))
        return -errno;
    if (pipe2(cmd, O_CLOEXEC)) {
        close(info[0]);
        close(info[1]);
        return -errno;
    }
    pid_t parent = getpid();
    l->pid = fork();
    if (l->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        signal(SIGINT, SIG_IGN);
        /* Other lines' command pipes must not stay open here, or they
         * would never see EOF. */
        for (int fd = 3; fd < 1024; fd++)
            if (fd != info[1] && fd != cmd[0])
                close(fd);
        serve(cfg, info[1], cmd[0]);
    }
    close(info[1]);
    close(cmd[0]);
    if (l->pid < 0) {
        close(info[0]);
        close(cmd[1]);
        return -errno;
    }
    l->cmd_fd = cmd[1];
    char buf[300];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(buf) - 1 && (n = read(info[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(info[0]);
    if (sscanf(buf, "%127s %127s", l->tty[0], l->tty[1]) != 2 || !strcmp(l->tty[0], "error")) {
        sim_line_stop(l);
        return -EIO;
    }
    return 0;
}

int sim_line_cut(struct sim_line *l, uint32_t ms)
{
    if (l->cmd_fd < 0)
        return -EINVAL;
    return write(l->cmd_fd, &ms, sizeof(ms)) == (ssize_t)sizeof(ms) ? 0 : -EIO;
}

void sim_line_stop(struct sim_line *l)
{
    if (l->cmd_fd >= 0)
        close(l->cmd_fd);
    l->cmd_fd = -1;
    if (l->pid > 0)
        waitpid(l->pid, NULL, 0);
    l->pid = 0;
}
