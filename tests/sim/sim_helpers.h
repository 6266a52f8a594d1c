/*
 * Helpers of the `rpmsg sim` tests: they drive $RPMSG_TEST_BIN_DIR/rpmsg as
 * a child process and read what it prints. Every child started here is
 * killed at exit even when a test fails, and names are unique per test pid.
 */
#ifndef SIM_HELPERS_H
#define SIM_HELPERS_H

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIM_OUT_MAX 65536

static pid_t sim_children[16];

/* A sim left running by a failed test: SIGTERM first, so that it removes
 * its names itself; SIGKILL if it does not stop. */
static inline void sim_kill_children(void)
{
    for (int i = 0; i < 16; i++)
        if (sim_children[i] > 0) {
            kill(sim_children[i], SIGTERM);
            int k;
            for (k = 0; k < 600 && waitpid(sim_children[i], NULL, WNOHANG) == 0; k++)
                usleep(10000);
            if (k == 600) {
                kill(sim_children[i], SIGKILL);
                waitpid(sim_children[i], NULL, 0);
            }
            sim_children[i] = 0;
        }
}

static inline void sim_track(pid_t pid, bool add)
{
    static bool registered;
    if (!registered) {
        atexit(sim_kill_children);
        registered = true;
    }
    for (int i = 0; i < 16; i++)
        if (add ? sim_children[i] == 0 : sim_children[i] == pid) {
            sim_children[i] = add ? pid : 0;
            return;
        }
}

static inline const char *sim_bin(void)
{
    static char path[512];
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    snprintf(path, sizeof(path), "%s/rpmsg", dir ? dir : ".");
    return path;
}

/* examples/NAME of the source tree (CMake compiles with absolute paths). */
static inline const char *sim_example(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s", __FILE__);
    char *p = strstr(path, "/tests/sim/");
    if (p)
        snprintf(p, sizeof(path) - (size_t)(p - path), "/examples/%s", name);
    return path;
}

/* Starts argv with stdout and stderr into outfile; returns the pid. */
static inline pid_t sim_spawn(char *const argv[], const char *outfile)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (fd < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid > 0)
        sim_track(pid, true);
    return pid;
}

/* Waits up to timeout_s; the exit status, or -1 (killed) on timeout. */
static inline int sim_wait(pid_t pid, int timeout_s)
{
    int st;
    for (int i = 0; i < timeout_s * 100; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            sim_track(pid, false);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sim_track(pid, false);
    return -1;
}

static inline void sim_read(const char *file, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(file, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs argv to completion; output into buf; returns the exit status. */
static inline int sim_run(char *const argv[], char *buf, size_t len, int timeout_s)
{
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rpmsg-simtest-%d.out", (int)getpid());
    pid_t pid = sim_spawn(argv, file);
    int rc = pid > 0 ? sim_wait(pid, timeout_s) : -1;
    sim_read(file, buf, len);
    unlink(file);
    return rc;
}

/* Sends one command through `rpmsg sim-ctl`; the answer into buf. */
static inline int sim_ctl(const char *sock, const char *cmd, const char *arg, char *buf, size_t len)
{
    char *argv[] = { (char *)sim_bin(), "sim-ctl", "--ctl", (char *)sock, (char *)cmd,
                     (char *)arg, NULL };
    return sim_run(argv, buf, len, 10);
}

/* Polls `status` until it contains want (up to timeout_s). */
static inline bool sim_status_has(const char *sock, const char *want, int timeout_s)
{
    static char buf[SIM_OUT_MAX];
    for (int i = 0; i < timeout_s * 10; i++) {
        if (sim_ctl(sock, "status", NULL, buf, sizeof(buf)) == 0 && strstr(buf, want))
            return true;
        usleep(100000);
    }
    fprintf(stderr, "status never showed '%s'; last:\n%s\n", want, buf);
    return false;
}

/* Names left in /dev/shm by the sim run of pid. */
static inline int sim_leftovers(pid_t pid)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "rpmsg-sim-%d-", (int)pid);
    int n = 0;
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            fprintf(stderr, "leftover /dev/shm/%s\n", e->d_name);
            n++;
        }
    if (d)
        closedir(d);
    return n;
}

/* The last non-empty line of text. */
static inline const char *sim_last_line(char *text)
{
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n')
        text[--n] = '\0';
    char *p = strrchr(text, '\n');
    return p ? p + 1 : text;
}

#endif
