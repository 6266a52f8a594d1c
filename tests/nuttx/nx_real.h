/*
 * Shared by the tests against the real, unmodified NuttX simulator pair
 * ($RPMSG_NUTTX_SIM_DIR/rpserver and rpproxy, see ../shared/nuttx-sim):
 * children (NuttX with its console on a pipe, our tool) each in its own
 * process group with PDEATHSIG, output in a memfd; waiting for console
 * text; the machine-wide turn on NuttX's fixed shm object.
 *
 * The object's name is fixed (/dev/shm/server-proxy), so CTest runs these
 * tests under RESOURCE_LOCK nuttx_sim, and nx_take_turn() serializes them
 * with other build trees on the machine. The object is removed before and
 * after each test (nx_kill_all, also at exit). Header-only: each test is
 * one file.
 */
#ifndef NX_REAL_H
#define NX_REAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr, memfd_create, pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rpmsg/rpmsg_link.h"

#define NX_SHM_NAME "server-proxy"
#define NX_SHM_PATH "/dev/shm/" NX_SHM_NAME
#define NX_LOCK_PATH "/tmp/rpmsg-nuttx-sim.lock"
#define NX_MAX_PROCS 3
#define NX_CONSOLE_MAX (1 << 20)

struct proc {
    pid_t pid;
    int in;  /* write end of its stdin pipe, or -1 */
    int out; /* memfd: stdout and stderr */
    int status;
};

static struct proc procs[NX_MAX_PROCS]; /* 0: NuttX, 1..: our tools */
static char tool[512], nxdir[512];
static char console[NX_CONSOLE_MAX];

static inline void kill_one(struct proc *p)
{
    if (p->pid > 0) {
        kill(-p->pid, SIGKILL); /* its process group: nothing of it survives */
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    p->pid = 0;
    if (p->in > 0)
        close(p->in);
    if (p->out > 0)
        close(p->out);
    p->in = p->out = 0;
}

static inline void nx_kill_all(void)
{
    for (int i = 0; i < NX_MAX_PROCS; i++)
        kill_one(&procs[i]);
    unlink(NX_SHM_PATH); /* NuttX never removes it */
}

static inline void nx_at_exit(void)
{
    nx_kill_all();
}

/* Starts path argv with stdout+stderr in a memfd and, if want_in, stdin
 * from a pipe we keep; else stdin is /dev/null. */
static inline void start(struct proc *p, const char *path, char *const *argv, bool want_in)
{
    int pin[2] = { -1, -1 };
    p->out = memfd_create("nuttx-out", 0);
    assert_true(p->out >= 0);
    if (want_in)
        assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
    pid_t parent = getpid();
    fflush(NULL);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int in = want_in ? pin[0] : open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(p->out, 1);
        dup2(p->out, 2);
        execv(path, argv);
        _exit(127);
    }
    setpgid(p->pid, p->pid); /* also here: no race with a kill of the group */
    p->in = -1;
    if (want_in) {
        close(pin[0]);
        p->in = pin[1];
    }
}

static inline void start_tool(struct proc *p, const char *const *args)
{
    char *argv[24];
    int n = 0;
    argv[n++] = tool;
    for (; args[n - 1] && n < 23; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    start(p, tool, argv, false);
}

static inline void start_nuttx(struct proc *p, const char *name)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", nxdir, name);
    char *argv[] = { path, NULL };
    start(p, path, argv, true);
}

/* Waits at most ms for the process to end; kills it after that. */
static inline int finish(struct proc *p, int ms)
{
    int st = 0;
    pid_t r = 0;
    for (int t = 0; t < ms && (r = waitpid(p->pid, &st, WNOHANG)) == 0; t += 10)
        usleep(10000);
    if (r == 0) {
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
    }
    p->pid = 0;
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    return p->status;
}

/* p's output from byte 'from' on (at most size - 1 bytes, NULs made spaces). */
static inline const char *slurp_from(struct proc *p, size_t from, char *buf, size_t size)
{
    ssize_t n = pread(p->out, buf, size - 1, (off_t)from);
    if (n < 0)
        n = 0;
    for (ssize_t i = 0; i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    buf[n] = '\0';
    return buf;
}

static inline const char *slurp(struct proc *p, char *buf, size_t size)
{
    return slurp_from(p, 0, buf, size);
}

/* Bytes p has written so far: a mark for wait_text. */
static inline size_t out_mark(struct proc *p)
{
    off_t n = lseek(p->out, 0, SEEK_END);
    return n > 0 ? (size_t)n : 0;
}

/* Waits at most ms for text to appear in p's output past offset from;
 * console holds that output afterwards. */
static inline bool wait_text(struct proc *p, size_t from, const char *text, int ms)
{
    for (int t = 0; t <= ms; t += 20) {
        slurp_from(p, from, console, sizeof(console));
        if (strstr(console, text))
            return true;
        if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0; /* it died: the text will never come */
            slurp_from(p, from, console, sizeof(console));
            return strstr(console, text) != NULL;
        }
        usleep(20000);
    }
    return false;
}

static inline void dump(const char *what, struct proc *p)
{
    static char buf[65536];
    size_t end = out_mark(p);
    size_t from = end > sizeof(buf) - 1 ? end - (sizeof(buf) - 1) : 0; /* its last 64 KiB */
    fprintf(stderr, "--- %s (status %d):\n%s\n---\n", what, p->status,
            slurp_from(p, from, buf, sizeof(buf)));
}

static inline void say(struct proc *p, const char *line)
{
    size_t n = strlen(line);
    assert_int_equal(write(p->in, line, n), (ssize_t)n);
}

/* Runs a command line on a NuttX console and waits for text in its output. */
static inline bool console_cmd(struct proc *nx, const char *line, const char *text, int ms)
{
    size_t mark = out_mark(nx);
    say(nx, line);
    bool ok = wait_text(nx, mark, text, ms);
    if (!ok)
        dump("nuttx", nx);
    return ok;
}

static inline bool have_pair(void)
{
    char a[600], b[600];
    snprintf(a, sizeof(a), "%s/rpserver", nxdir);
    snprintf(b, sizeof(b), "%s/rpproxy", nxdir);
    if (access(a, X_OK) || access(b, X_OK)) {
        fprintf(stderr, "skipped: no NuttX simulator binaries at %s (rpserver, rpproxy)\n",
                nxdir);
        return false;
    }
    return true;
}

static inline void no_panic(struct proc *nx)
{
    slurp(nx, console, sizeof(console));
    if (strcasestr(console, "panic") || strcasestr(console, "assert"))
        dump("nuttx", nx);
    assert_null(strcasestr(console, "panic"));
    assert_null(strcasestr(console, "assert"));
}

/* rpserver on a fresh object, until its console prompts. */
static inline void start_server(struct proc *nx)
{
    unlink(NX_SHM_PATH);
    start_nuttx(nx, "rpserver");
    bool up = wait_text(nx, 0, "server> ", 30000);
    if (!up)
        dump("rpserver", nx);
    assert_true(up);
    assert_true(access(NX_SHM_PATH, F_OK) == 0);
}

/* Our slave in this process, in rpproxy's place, up within 30 s. */
static inline struct rpmsg_link *nx_slave_up(void)
{
    struct rpmsg_link_config cfg = {
        .spec = "nuttx-sim:" NX_SHM_NAME ":remote",
        .role = RPMSG_LINK_REMOTE,
        .timeout_ms = 30000,
    };
    struct rpmsg_link *l = NULL;
    int r = rpmsg_link_open(&l, &cfg);
    if (r == 0)
        r = rpmsg_link_wait_up(l, 30000);
    if (r) {
        fprintf(stderr, "link: %d\n", r);
        dump("rpserver", &procs[0]);
    }
    assert_int_equal(r, 0);
    return l;
}

/*
 * Fills tool and nxdir from the environment, kills every child at exit and
 * takes the machine-wide turn on the NuttX pair. CTest's RESOURCE_LOCK
 * serializes one ctest run only; other build trees on this machine use the
 * same fixed object. The lock file (docs/nuttx.md) goes with the process.
 */
static inline void nx_real_init(void)
{
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    snprintf(tool, sizeof(tool), "%s/rpmsg", dir ? dir : ".");
    const char *nd = getenv("RPMSG_NUTTX_SIM_DIR");
    snprintf(nxdir, sizeof(nxdir), "%s", nd ? nd : "../shared/nuttx-sim");
    atexit(nx_at_exit);
    if (getenv("RPMSG_NX_FILTER")) /* one test while debugging: RPMSG_NX_FILTER=test_x */
        cmocka_set_test_filter(getenv("RPMSG_NX_FILTER"));
    signal(SIGPIPE, SIG_IGN); /* a dead NuttX console must fail an assert, not kill us */
    int lk = open(NX_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lk >= 0) {
        int t = 0;
        while (flock(lk, LOCK_EX | LOCK_NB) < 0 && t++ < 600)
            sleep(1);
    }
}

#endif
