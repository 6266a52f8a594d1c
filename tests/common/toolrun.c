#include "toolrun.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct tr_proc tr_procs[TR_MAX_PROCS];
char tr_bin[512];
char tr_prefix[64];

bool tr_init(const char *tag)
{
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    snprintf(tr_bin, sizeof(tr_bin), "%s/rpmsg", dir ? dir : ".");
    snprintf(tr_prefix, sizeof(tr_prefix), "%s-%d-", tag, (int)getpid());
    if (access(tr_bin, X_OK)) {
        fprintf(stderr, "no rpmsg binary at %s\n", tr_bin);
        return false;
    }
    return true;
}

void tr_kill_all(void)
{
    for (int i = 0; i < TR_MAX_PROCS; i++) {
        struct tr_proc *p = &tr_procs[i];
        if (p->pid > 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            p->pid = 0;
        }
        if (p->out > 0)
            close(p->out);
        if (p->err > 0)
            close(p->err);
        p->out = p->err = 0;
    }
}

int tr_leftovers(void)
{
    DIR *d = opendir("/dev/shm");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strncmp(e->d_name, tr_prefix, strlen(tr_prefix))) {
            char p[512];
            snprintf(p, sizeof(p), "/dev/shm/%s", e->d_name);
            fprintf(stderr, "leftover %s\n", p);
            unlink(p);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

void tr_start(struct tr_proc *p, const char *const *args)
{
    if (p->out > 0)
        close(p->out);
    if (p->err > 0)
        close(p->err);
    p->out = memfd_create("rpmsg-out", 0);
    p->err = memfd_create("rpmsg-err", 0);
    char *argv[32];
    int n = 0;
    argv[n++] = tr_bin;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    pid_t parent = getpid();
    fflush(NULL);
    p->pid = fork();
    if (p->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        dup2(p->out, 1);
        dup2(p->err, 2);
        execv(tr_bin, argv);
        _exit(127);
    }
}

int tr_finish(struct tr_proc *p, int ms)
{
    int st = 0;
    pid_t r = 0;
    if (p->pid <= 0)
        return p->status = -1;
    for (int t = 0; t < ms && (r = waitpid(p->pid, &st, WNOHANG)) == 0; t += 10)
        usleep(10000);
    if (r == 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
    }
    p->pid = 0;
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    return p->status;
}

int tr_run(struct tr_proc *p, const char *const *args, int ms)
{
    tr_start(p, args);
    return tr_finish(p, ms);
}

void tr_slurp(int fd, char *buf, size_t size)
{
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
}

void tr_dump(const char *what, struct tr_proc *p)
{
    static char o[16384], e[16384];
    tr_slurp(p->out, o, sizeof(o));
    tr_slurp(p->err, e, sizeof(e));
    fprintf(stderr, "--- %s: status %d\nstdout:\n%s\nstderr:\n%s\n", what, p->status, o, e);
}

bool tr_err_has(struct tr_proc *p, const char *text, int ms)
{
    static char err[16384];
    for (int t = 0; t < ms; t += 10) {
        tr_slurp(p->err, err, sizeof(err));
        if (strstr(err, text))
            return true;
        usleep(10000);
    }
    return false;
}

long tr_json_int(const char *j, const char *key)
{
    char k[64];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *s = strstr(j, k);
    return s ? strtol(s + strlen(k), NULL, 10) : -1;
}

void tr_source_path(char *out, size_t size, const char *rel)
{
    /* This file is tests/common/toolrun.c of the tree. */
    snprintf(out, size, "%s", __FILE__);
    char *p = strstr(out, "/tests/common/");
    if (p)
        snprintf(p + 1, size - (size_t)(p + 1 - out), "%s", rel);
}

int tr_tshark(const char *file, const char *fields, char *buf, size_t size)
{
    char lua[1024], cmd[4096];
    tr_source_path(lua, sizeof(lua), "tools/wireshark/rpmsg.lua");
    int n = snprintf(cmd, sizeof(cmd), "tshark -n -X lua_script:%s -r %s -T fields -E separator=, -E aggregator=/",
                     lua, file);
    for (const char *f = fields; *f && n > 0 && (size_t)n < sizeof(cmd);) {
        size_t l = strcspn(f, " ");
        n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " -e %.*s", (int)l, f);
        f += l + (f[l] == ' ');
    }
    if (n < 0 || (size_t)n >= sizeof(cmd) - 16)
        return -1;
    snprintf(cmd + n, sizeof(cmd) - (size_t)n, " 2>/dev/null");
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t got = fread(buf, 1, size - 1, p);
    buf[got] = '\0';
    return pclose(p) == 0 ? 0 : -1;
}
