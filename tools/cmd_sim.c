/*
 * `rpmsg sim TOPOLOGY`: every core of a topology file as its own process on
 * this host. This process owns the physical layer that has to outlive a
 * core (simulated SPI buses, emulated UART lines), forks the cores, prints
 * their status, takes commands (stdin or a control socket, see sim_ctl.c),
 * and cleans up everything when it ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpmsg/rpmsg_link.h"
#include "rpmsg/rpmsg_port.h"
#include "opt.h"
#include "sim.h"
#include "sim_line.h"
#include "sim_report.h"
#include "sim_svc.h"
#include "tools.h"

struct sim {
    struct topo t;
    struct sim_opts o;
    struct sim_shared *sh;
    struct rpmsg_spibus *bus[TOPO_LINKS_MAX];
    struct sim_line line[TOPO_LINKS_MAX];
    const char *tty[TOPO_LINKS_MAX * 2];
    char ctl_path[108];
    int ctl_fd;
    bool stdin_open;
    uint64_t go_ms; /* when the demo client was let go */
    int until;       /* --until-exit: that core's index, else -1 */
    int until_rc;    /* its exit status once it ended, else -1 */
    uint64_t t0;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static bool program_on(const struct topo *t, const struct topo_link *l)
{
    return t->cores[l->end[0]].program[0] || t->cores[l->end[1]].program[0];
}

static void spibus_name(const struct sim *s, int li, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%s", s->o.tag, s->t.links[li].name);
}

/* The SPI bus of link li still has its name (no program attached it yet). */
static bool spibus_named(const struct sim *s, int li)
{
    char name[96], path[128];
    spibus_name(s, li, name, sizeof(name));
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    return !access(path, F_OK);
}

static int start_core(struct sim *s, int i)
{
    struct sim_core_status *st = &s->sh->core[i];
    const struct topo_core *c = &s->t.cores[i];
    if (c->nuttx)
        return -EPERM; /* the user runs it; we only attach to its object */
    memset(st->link, 0, sizeof(st->link));
    st->state = SIM_CORE_STARTING;
    char links[2048] = "";
    if (c->program[0]) {
        /* An external program gets its links as specs in the environment
         * (rpmsg_link_join() reads them). Its SPI buses are named objects
         * (setup()), and attaching takes the name: one start only. */
        for (int li = 0; li < s->t.nlinks; li++) {
            const struct topo_link *l = &s->t.links[li];
            if (l->end[0] != i && l->end[1] != i)
                continue;
            if (l->type == TOPO_SPI && !spibus_named(s, li)) {
                fprintf(stderr, "rpmsg sim: core %s runs a program, which attached the SPI bus "
                                "of link %s already: it cannot start again (restart the sim)\n",
                        c->name, l->name);
                st->state = SIM_CORE_DEAD;
                return -EPERM;
            }
            char spec[300];
            sim_link_spec(&s->t, &s->o, li, i, s->tty, spec, sizeof(spec));
            size_t n = strlen(links);
            snprintf(links + n, sizeof(links) - n, "%s%s,%s", n ? ";" : "", spec,
                     l->end[0] == i ? "host" : "remote");
        }
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        st->state = SIM_CORE_DEAD;
        return -errno;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_DFL);
        /* Nothing of the parent's is needed (the buses are mapped, the
         * lines reopened by path); an inherited control connection would
         * keep its client waiting. */
        closefrom(3);
        if (c->program[0]) {
            setenv("RPMSG_SIM_CORE", c->name, 1);
            setenv("RPMSG_SIM_HUB", c->hub ? "1" : "0", 1);
            setenv("RPMSG_SIM_LINKS", links, 1);
            /* `program = exec $RPMSG_BIN bench ...` runs this very tool. */
            char self[4096];
            ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
            if (n > 0 && !getenv("RPMSG_BIN")) {
                self[n] = '\0';
                setenv("RPMSG_BIN", self, 1);
            }
            execl("/bin/sh", "sh", "-c", c->program, (char *)NULL);
            _exit(127);
        }
        _exit(sim_core_main(&s->t, i, s->sh, &s->o, s->tty));
    }
    st->pid = pid;
    st->state = SIM_CORE_RUNNING;
    return 0;
}

static void kill_core(struct sim *s, int i)
{
    struct sim_core_status *st = &s->sh->core[i];
    if (st->state == SIM_CORE_RUNNING && st->pid > 0) {
        kill(st->pid, SIGKILL);
        waitpid(st->pid, NULL, 0);
    }
    st->pid = 0;
    st->state = SIM_CORE_DEAD;
    memset(st->link, 0, sizeof(st->link));
    sim_svc_core_gone(&s->t, i);
}

static void reap_children(struct sim *s, bool quiet)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (int i = 0; i < s->t.ncores; i++)
            if (s->sh->core[i].pid == pid) {
                s->sh->core[i].pid = 0;
                s->sh->core[i].state = SIM_CORE_DEAD;
                memset(s->sh->core[i].link, 0, sizeof(s->sh->core[i].link));
                sim_svc_core_gone(&s->t, i);
                if (i == s->until)
                    s->until_rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
                if (!quiet)
                    printf("rpmsg sim: core %s exited (%s %d)\n", s->t.cores[i].name,
                           WIFSIGNALED(status) ? "signal" : "status",
                           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            }
}

/* Executes one command line; the answer goes to out. Returns 1 on "quit". */
static int command(struct sim *s, char *line, FILE *out)
{
    char verb[16] = "", arg[64] = "";
    unsigned ms = 1000;
    if (sscanf(line, "%15s %63s %u", verb, arg, &ms) < 1)
        return 0;
    if (!strcmp(verb, "quit") || !strcmp(verb, "stop")) {
        fprintf(out, "ok\n");
        return 1;
    }
    if (!strcmp(verb, "go")) {
        __atomic_store_n(&s->sh->demo.go, 1, __ATOMIC_RELEASE);
        s->go_ms = rpmsg_time_ms();
        fprintf(out, "ok\n");
        return 0;
    }
    if (!strcmp(verb, "status")) {
        int core = arg[0] ? topo_core_index(&s->t, arg) : -1;
        if (arg[0] && core < 0)
            fprintf(out, "error: no core '%s'\n", arg);
        else if (core >= 0)
            sim_print_core_links(&s->t, s->sh, core, out);
        else
            sim_print_status(&s->t, s->sh, out, rpmsg_time_ms() - s->t0);
        return 0;
    }
    if (!strcmp(verb, "cut")) {
        for (int li = 0; li < s->t.nlinks; li++)
            if (!strcmp(s->t.links[li].name, arg)) {
                if (s->t.links[li].type == TOPO_VIRTIO) {
                    /* Shared memory has no line to interrupt. */
                    fprintf(out, "error: link %s is VirtIO shared memory: only uart and spi "
                                 "links can be cut (kill or restart a core instead)\n", arg);
                    return 0;
                }
                int r = s->bus[li] ? rpmsg_spibus_cut(s->bus[li], ms)
                        : s->line[li].pid > 0 ? sim_line_cut(&s->line[li], ms) : -ENOTSUP;
                if (r)
                    fprintf(out, "error: cannot cut link %s: %s\n", arg, rpmsg_strerror(r));
                else
                    fprintf(out, "ok: link %s cut for %u ms\n", arg, ms);
                return 0;
            }
        fprintf(out, "error: no link '%s'\n", arg);
        return 0;
    }
    int i = topo_core_index(&s->t, arg);
    bool k = !strcmp(verb, "kill"), rs = !strcmp(verb, "restart"), st = !strcmp(verb, "start");
    if (!k && !rs && !st) {
        fprintf(out, "error: unknown command '%s' (kill|restart|start CORE, cut LINK MS, "
                     "status, go, quit)\n", verb);
        return 0;
    }
    if (i < 0) {
        fprintf(out, "error: no core '%s'\n", arg);
        return 0;
    }
    if (s->t.cores[i].nuttx) {
        fprintf(out, "error: core %s is a NuttX simulator the sim does not run\n", arg);
        return 0;
    }
    if (k || rs)
        kill_core(s, i);
    int r = 0;
    if (rs || st) {
        if (s->sh->core[i].state == SIM_CORE_RUNNING) {
            fprintf(out, "error: core %s is running\n", arg);
            return 0;
        }
        r = start_core(s, i);
        if (!r)
            s->sh->core[i].restarts++;
    }
    fprintf(out, r ? "error: %s\n" : "ok\n", rpmsg_strerror(r));
    fflush(out);
    return 0;
}

static int ctl_open(struct sim *s)
{
    s->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->ctl_fd < 0)
        return -errno;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(s->ctl_path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    strcpy(a.sun_path, s->ctl_path);
    unlink(s->ctl_path);
    if (bind(s->ctl_fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->ctl_fd, 4)) {
        int e = -errno;
        close(s->ctl_fd);
        s->ctl_fd = -1;
        return e;
    }
    return 0;
}

/* One request per connection: a command line in, the answer out. */
static int ctl_serve(struct sim *s)
{
    int fd = accept4(s->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    struct timeval tv = { .tv_sec = 2 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char line[256];
    ssize_t n = recv(fd, line, sizeof(line) - 1, 0);
    int quit = 0;
    if (n > 0) {
        line[n] = '\0';
        FILE *out = fdopen(dup(fd), "w");
        if (out) {
            quit = command(s, line, out);
            fclose(out);
        }
    }
    close(fd);
    return quit;
}

static int setup(struct sim *s)
{
    for (int li = 0; li < s->t.nlinks; li++) {
        const struct topo_link *l = &s->t.links[li];
        int r = 0;
        if (l->type == TOPO_SPI) {
            struct rpmsg_spibus_config bc = { .clock_hz = l->rate, .ber = l->ber };
            char name[96];
            spibus_name(s, li, name, sizeof(name));
            /* A program cannot inherit an anonymous mapping across exec: it
             * attaches a named object; forked cores find the bus registered. */
            r = program_on(&s->t, l) ? rpmsg_spibus_open_shared(&s->bus[li], name, true, &bc, 0)
                                     : rpmsg_spibus_create(&s->bus[li], &bc);
            if (!r)
                r = rpmsg_link_register_spibus(name, s->bus[li], l->rate);
        } else if (l->type == TOPO_UART) {
            struct rpmsg_line_config lc = { .baud = l->rate, .ber = l->ber };
            r = sim_line_start(&s->line[li], &lc);
            if (!r) {
                s->tty[li * 2] = s->line[li].tty[0];
                s->tty[li * 2 + 1] = s->line[li].tty[1];
            }
        }
        if (r) {
            fprintf(stderr, "rpmsg sim: link %s: %s\n", l->name, rpmsg_strerror(r));
            return r;
        }
    }
    return 0;
}

static void teardown(struct sim *s)
{
    for (int i = 0; i < s->t.ncores; i++)
        if (s->sh->core[i].state == SIM_CORE_RUNNING && s->sh->core[i].pid > 0)
            kill(s->sh->core[i].pid, SIGTERM);
    uint64_t end = rpmsg_time_ms() + 5000;
    for (int i = 0; i < s->t.ncores; i++) {
        pid_t pid = s->sh->core[i].pid;
        if (s->sh->core[i].state != SIM_CORE_RUNNING || pid <= 0)
            continue;
        int status = 0;
        pid_t w;
        while ((w = waitpid(pid, &status, WNOHANG)) == 0) {
            if (rpmsg_time_ms() > end) {
                fprintf(stderr, "rpmsg sim: core %s did not stop, killed\n", s->t.cores[i].name);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                break;
            }
            usleep(10000);
        }
        /* A core that crashed on the way out is a failure worth seeing. */
        if (w == pid && WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
            fprintf(stderr, "rpmsg sim: core %s stopped by signal %d (%s)\n",
                    s->t.cores[i].name, WTERMSIG(status), strsignal(WTERMSIG(status)));
        else if (w == pid && WIFEXITED(status) && WEXITSTATUS(status))
            fprintf(stderr, "rpmsg sim: core %s exited with status %d\n", s->t.cores[i].name,
                    WEXITSTATUS(status));
        s->sh->core[i].state = SIM_CORE_STOPPED;
        s->sh->core[i].pid = 0;
        sim_svc_core_gone(&s->t, i); /* one that had to be killed */
    }
    /* A core killed before its peer attached leaves its shm object. */
    for (int li = 0; li < s->t.nlinks; li++) {
        if (s->t.links[li].type == TOPO_VIRTIO) {
            char name[128];
            snprintf(name, sizeof(name), "/%s-%s", s->o.tag, s->t.links[li].name);
            shm_unlink(name);
        }
        if (s->line[li].pid > 0)
            sim_line_stop(&s->line[li]);
        if (s->bus[li]) {
            char name[96];
            spibus_name(s, li, name, sizeof(name));
            rpmsg_link_register_spibus(name, NULL, 0);
            rpmsg_spibus_destroy(s->bus[li]);
        }
    }
    if (s->ctl_fd >= 0) {
        close(s->ctl_fd);
        unlink(s->ctl_path);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rpmsg sim TOPOLOGY [OPTIONS]\n"
            "Runs every core of TOPOLOGY (docs/topology.md) as a process on this host.\n"
            "  --demo            run the demo client ([sim] demo_from -> demo_to), print a\n"
            "                    report and exit: 0 when every check passed\n"
            "  --demo-wait       like --demo, but the client starts on the `go` command\n"
            "  --count N         demo: messages streamed (default 2000)\n"
            "  --size BYTES      demo: message size (default 256)\n"
            "  --pings N         demo: ping round trips (default 200)\n"
            "  --window N        demo: stream messages in flight (default 16)\n"
            "  --duration SEC    stop after SEC seconds (default: Ctrl-C, or the demo's end)\n"
            "  --until-exit CORE stop when CORE's process ends (a `program =` core, e.g.\n"
            "                    `rpmsg bench --join`); exit with its status\n"
            "  --interval MS     status lines every MS (default 1000; 0: none)\n"
            "  --ctl PATH        control socket for `rpmsg sim-ctl`\n"
            "  --pcap DIR        every message of every built-in core's links, one pcap\n"
            "                    per link end: DIR/LINK-CORE.pcap (tools/wireshark/rpmsg.lua)\n"
            "  --check           only parse the topology and print it\n"
            "commands (stdin or sim-ctl): kill CORE | restart CORE | start CORE |\n"
            "                             cut LINK MS | status [CORE] | go | quit\n");
}

static int run(int argc, char **argv)
{
    static struct sim s;
    memset(&s, 0, sizeof(s));
    s.ctl_fd = -1;
    s.until = s.until_rc = -1;
    const char *until = NULL;
    s.o.count = 0;
    uint32_t duration = 0, interval = 1000;
    bool check = false;
    static const struct option opts[] = {
        { "demo", no_argument, NULL, 'd' },
        { "demo-wait", no_argument, NULL, 'w' },
        { "count", required_argument, NULL, 'n' },
        { "size", required_argument, NULL, 's' },
        { "pings", required_argument, NULL, 'p' },
        { "window", required_argument, NULL, 'W' },
        { "duration", required_argument, NULL, 't' },
        { "interval", required_argument, NULL, 'i' },
        { "ctl", required_argument, NULL, 'c' },
        { "pcap", required_argument, NULL, 'P' },
        { "check", no_argument, NULL, 'k' },
        { "until-exit", required_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "dwn:s:p:W:t:i:c:P:ku:h", opts, NULL)) != -1) {
        int k = 0;
        switch (opt) {
        case 'd': s.o.demo = true; break;
        case 'w': s.o.demo = s.o.demo_wait = true; break;
        case 'n': k = opt_u32("count", optarg, 1, 100000000, &s.o.count); break;
        case 's': k = opt_u32("size", optarg, 16, 65536, &s.o.size); break;
        case 'p': k = opt_u32("pings", optarg, 1, 100000000, &s.o.pings); break;
        case 'W': k = opt_u32("window", optarg, 1, 4096, &s.o.window); break;
        case 't': k = opt_u32("duration", optarg, 1, 86400, &duration); break;
        case 'i': k = opt_u32("interval", optarg, 0, 3600000, &interval); break;
        case 'c': snprintf(s.ctl_path, sizeof(s.ctl_path), "%s", optarg); break;
        case 'P': s.o.pcap_dir = optarg; break;
        case 'k': check = true; break;
        case 'u': until = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (k)
            return TOOL_USAGE;
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    char err[512];
    if (topo_load(&s.t, argv[optind], err, sizeof(err)) || sim_svc_check(&s.t, err, sizeof(err))) {
        fprintf(stderr, "rpmsg sim: %s\n", err);
        return 2;
    }
    if (!s.o.count) s.o.count = s.t.demo_count ? s.t.demo_count : 2000;
    if (!s.o.size) s.o.size = s.t.demo_size ? s.t.demo_size : 256;
    if (!s.o.pings) s.o.pings = s.t.demo_pings ? s.t.demo_pings : 200;
    if (!s.o.window) s.o.window = 16;
    if (s.o.window > 4096) {
        fprintf(stderr, "rpmsg sim: --window must be 1..4096\n");
        return 2;
    }
    if (s.o.size < 16 || s.o.size > 65536) {
        fprintf(stderr, "rpmsg sim: --size must be %d..65536\n", 16);
        return 2;
    }
    if (until && (s.until = topo_core_index(&s.t, until)) < 0) {
        fprintf(stderr, "rpmsg sim: --until-exit: no core '%s' in %s\n", until, s.t.file);
        return 2;
    }
    if (check) {
        sim_print_topology(&s.t, stdout);
        return 0;
    }
    if (s.o.demo && (s.t.demo_from < 0 || s.t.demo_to < 0)) {
        fprintf(stderr, "rpmsg sim: %s: --demo needs demo_from and demo_to in [sim]\n", s.t.file);
        return 2;
    }
    snprintf(s.o.tag, sizeof(s.o.tag), "rpmsg-sim-%d", (int)getpid());
    s.sh = mmap(NULL, sizeof(*s.sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s.sh == MAP_FAILED) {
        perror("rpmsg sim: mmap");
        return 1;
    }
    memset(s.sh, 0, sizeof(*s.sh));

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    sim_print_topology(&s.t, stdout);
    int rc = 0;
    if (setup(&s) || (s.ctl_path[0] && ctl_open(&s))) {
        if (s.ctl_path[0] && s.ctl_fd < 0)
            fprintf(stderr, "rpmsg sim: cannot listen on %s\n", s.ctl_path);
        rc = 1;
    }
    s.t0 = rpmsg_time_ms();
    for (int i = 0; i < s.t.ncores && !rc; i++)
        if (!s.t.cores[i].nuttx && start_core(&s, i))
            rc = 1;

    s.stdin_open = !rc;
    uint64_t next_status = s.t0 + interval;
    s.go_ms = s.t0;
    bool quit = rc != 0;
    while (!quit && !got_signal) {
        struct pollfd pf[2] = { { .fd = s.stdin_open ? 0 : -1, .events = POLLIN },
                                { .fd = s.ctl_fd, .events = POLLIN } };
        if (poll(pf, 2, 50) > 0) {
            if (pf[0].revents) {
                char line[256];
                ssize_t n = read(0, line, sizeof(line) - 1);
                if (n <= 0) {
                    s.stdin_open = false;
                } else {
                    line[n] = '\0';
                    for (char *save, *l = strtok_r(line, "\n", &save); l && !quit;
                         l = strtok_r(NULL, "\n", &save))
                        quit = command(&s, l, stdout);
                    fflush(stdout);
                }
            }
            if (pf[1].revents)
                quit = ctl_serve(&s) || quit;
        }
        reap_children(&s, false);
        uint64_t now = rpmsg_time_ms();
        if (interval && now >= next_status) {
            sim_print_status(&s.t, s.sh, stdout, now - s.t0);
            fflush(stdout);
            next_status = now + interval;
        }
        if (duration && now - s.t0 >= duration * 1000ull)
            quit = true;
        if (s.until_rc >= 0)
            quit = true;
        if (s.o.demo && (__atomic_load_n(&s.sh->demo.done, __ATOMIC_ACQUIRE) ||
                         ((!s.o.demo_wait || s.sh->demo.go) && now > s.go_ms + 50000)))
            quit = true;
    }
    if (s.o.demo)
        sim_print_status(&s.t, s.sh, stdout, rpmsg_time_ms() - s.t0);
    teardown(&s);
    if (got_signal)
        printf("rpmsg sim: stopped by signal %d\n", (int)got_signal);
    if (s.o.demo && !rc)
        rc = sim_print_report(&s.t, &s.o, s.sh, stdout) ? 0 : 1;
    else if (!rc)
        printf("rpmsg sim: stopped cleanly\n");
    if (!rc && s.until_rc > 0)
        rc = s.until_rc;
    munmap(s.sh, sizeof(*s.sh));
    return rc;
}

const struct rpmsg_tool_cmd rpmsg_cmd_sim = {
    .name = "sim",
    .summary = "run a topology file: every core a process, live status, demo",
    .run = run,
};
