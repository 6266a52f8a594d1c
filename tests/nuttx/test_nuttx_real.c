/*
 * The `rpmsg` tool against the real, unmodified NuttX simulator pair
 * ($RPMSG_NUTTX_SIM_DIR/rpserver and rpproxy, see ../shared/nuttx-sim):
 * - our slave next to rpserver: `rpmsg ping --nuttx --role remote` gets
 *   20/20 answers from the server's rpmsg-ping responder, again after a
 *   clean restart, after a slave of ours was killed with SIGKILL the moment
 *   it was up, and after one was killed in the middle of a ping run; the
 *   server's console `rpmsg ping /dev/rpmsg/proxy` finishes 20 rounds
 *   against our `rpmsg echo` (ACK wanted, and ack with check); the server
 *   never asserts and still answers `uname -a` on its console;
 * - our master for rpproxy: `rpmsg ping --nuttx --role host` gets 20/20
 *   answers from the proxy's responder;
 * - `rpmsg sim` with the server as a `kind = nuttx-sim` core next to our hub
 *   A: the console's ping is answered by core B behind A (through the
 *   gateway), and a program core B running `rpmsg ping --join --nuttx --to
 *   server` gets 20/20 from the server's responder, two hops away.
 * The shm object is NuttX's fixed /dev/shm/server-proxy, so CTest runs this
 * under RESOURCE_LOCK nuttx_sim. Every child runs in its own process group
 * with PDEATHSIG and is killed with SIGKILL in teardown and at exit; the
 * object is removed before and after each test. Skipped when the binaries
 * are missing.
 */
#include "nx_real.h"

#define SHM_NAME NX_SHM_NAME
#define SHM_PATH NX_SHM_PATH

static long json_int(const char *j, const char *key)
{
    char k[64];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *s = strstr(j, k);
    return s ? strtol(s + strlen(k), NULL, 10) : -1;
}

/* Waits for our ping p: exit 0 and 20 of 20 answered, without errors. */
static void ping_done(struct proc *p, struct proc *nx)
{
    int r = finish(p, 90000);
    static char out[16384];
    slurp(p, out, sizeof(out));
    if (r || json_int(out, "received") != 20) {
        dump("rpmsg ping", p);
        dump("nuttx", nx);
    }
    assert_int_equal(r, 0);
    assert_int_equal(json_int(out, "count"), 20);
    assert_int_equal(json_int(out, "received"), 20);
    assert_int_equal(json_int(out, "errors"), 0);
    assert_non_null(strstr(out, "\"ok\":true"));
    close(p->out);
    p->out = 0;
}

/* `rpmsg ping --nuttx` (and --check when check) as our slave, 20 x 64 bytes. */
static void ping_run(struct proc *nx, const char *role, bool check)
{
    const char *args[] = { "ping", "--nuttx-sim", SHM_NAME, "--role", role, "--nuttx", "--count",
                           "20", "--size", "64", "--json", "--wait", "30000",
                           check ? "--check" : NULL, NULL };
    start_tool(&procs[1], args);
    ping_done(&procs[1], nx);
}

static void ping_ok(struct proc *nx, const char *role)
{
    ping_run(nx, role, false);
}

/* Waits until our slave is up in the object and has notified n times since. */
static bool traffic_seen(uint32_t n, int ms)
{
    int fd = open(SHM_PATH, O_RDONLY);
    if (fd < 0)
        return false;
    void *m = mmap(NULL, 24, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return false;
    volatile const uint32_t *w = m; /* [2] seqs, [4] boots */
    bool seen = false, up = false;
    uint32_t from = 0;
    for (int t = 0; t <= ms && !seen; t += 5) {
        if (!up && (w[4] & 2)) {
            up = true;
            from = w[2];
        }
        seen = up && w[2] - from >= n;
        usleep(5000);
    }
    munmap(m, 24);
    return seen;
}

/* `rpmsg echo` as our slave, until its link is up. */
static void start_echo(struct proc *p)
{
    const char *args[] = { "echo", "--nuttx-sim", SHM_NAME, "--role", "remote", NULL };
    start_tool(p, args);
    bool up = wait_text(p, 0, "on link to", 30000);
    if (!up)
        dump("rpmsg echo", p);
    assert_true(up);
}

/* Runs a `rpmsg ping` line on the server's console; it must report 20 rounds. */
static void console_ping(struct proc *nx, struct proc *echo, const char *line)
{
    slurp(nx, console, sizeof(console));
    size_t mark = strlen(console);
    say(nx, line);
    bool done = wait_text(nx, mark, "ping times: 20", 60000);
    if (!done) {
        dump("rpserver", nx);
        dump("rpmsg echo", echo);
    }
    assert_true(done);
}

static void test_slave_next_to_rpserver(void **st)
{
    (void)st;
    if (!have_pair())
        skip();
    struct proc *nx = &procs[0];
    start_server(nx);

    ping_ok(nx, "remote"); /* first boot */
    ping_run(nx, "remote", true); /* a clean restart of our slave; SEND_CHECK in its encoding */
    no_panic(nx);

    /* Our slave killed with SIGKILL twice: the moment its link is up (the
     * server's name-service announcements still in its hands), and in the
     * middle of a ping run (some of the server's TX buffers unreturned).
     * The next slave gives the dead one's buffers back before it resets
     * the server (nuttx_sim.c): without that the server asserts. */
    struct proc *p = &procs[1];
    {
        start_echo(p);
        kill_one(p);
    }
    ping_ok(nx, "remote");
    no_panic(nx);
    {
        const char *args[] = { "ping", "--nuttx-sim", SHM_NAME, "--role", "remote", "--nuttx",
                               "--count", "100000000", "--size", "64", "--window", "4", NULL };
        start_tool(p, args);
        bool busy = traffic_seen(200, 30000);
        if (!busy)
            dump("rpmsg ping", p);
        assert_true(busy);
        kill_one(p);
    }
    ping_ok(nx, "remote"); /* a slave after the killed one */
    no_panic(nx);

    /* The server's console pings our echo: NuttX's own `rpmsg ping`, with
     * an ACK wanted (1) and with ack and check (3). */
    {
        start_echo(p);
        console_ping(nx, p, "rpmsg ping /dev/rpmsg/proxy 20 64 1 1\n");
        console_ping(nx, p, "rpmsg ping /dev/rpmsg/proxy 20 64 3 1\n");
        kill(p->pid, SIGTERM); /* a clean leave: every buffer given back */
        assert_int_equal(finish(p, 30000), 0);
        close(p->out);
        p->out = 0;
    }
    no_panic(nx);

    slurp(nx, console, sizeof(console));
    size_t mark = strlen(console);
    say(nx, "uname -a\n");
    bool answered = wait_text(nx, mark, "NuttX", 30000);
    if (!answered)
        dump("rpserver", nx);
    assert_true(answered);
    no_panic(nx);

    say(nx, "poweroff\n");
    finish(nx, 10000);
}

static void test_master_for_rpproxy(void **st)
{
    (void)st;
    if (!have_pair())
        skip();
    struct proc *nx = &procs[0], *p = &procs[1];
    unlink(SHM_PATH);
    const char *args[] = { "ping", "--nuttx-sim", SHM_NAME, "--role", "host", "--nuttx", "--count",
                           "20", "--size", "64", "--json", "--wait", "60000", NULL };
    start_tool(p, args);
    /* The proxy attaches to an object our master has made. */
    for (int t = 0; t < 30000 && access(SHM_PATH, F_OK); t += 20)
        usleep(20000);
    assert_int_equal(access(SHM_PATH, F_OK), 0);
    start_nuttx(nx, "rpproxy");
    ping_done(p, nx);
}

/*
 * `rpmsg sim` with the NuttX core in its topology (kind = nuttx-sim): our
 * core A attaches as rpserver's slave and routes for B; the server's console
 * pings A's rpmsg-ping echo service; the sim's status shows the link up and
 * the echoes; the sim stops cleanly and the server goes on (uname).
 */
static void test_sim_core_next_to_rpserver(void **st)
{
    (void)st;
    if (!have_pair())
        skip();
    struct proc *nx = &procs[0], *sim = &procs[1];
    char topo[64];
    snprintf(topo, sizeof(topo), "/tmp/rpmsg-nuttx-topo-%d.ini", (int)getpid());
    FILE *f = fopen(topo, "w");
    assert_non_null(f);
    fprintf(f, "[core server]\nkind = nuttx-sim\nshm = " SHM_NAME "\n[core A]\nhub = true\n"
               "[core B]\n[link nx]\ntype = virtio\nhost = server\nremote = A\n"
               "[link ab]\ntype = virtio\nhost = A\nremote = B\n");
    fclose(f);
    start_server(nx);
    const char *args[] = { "sim", topo, "--interval", "200", NULL };
    start_tool(sim, args);
    bool up = wait_text(sim, 0, "| A: up", 30000);
    if (!up)
        dump("rpmsg sim", sim);
    unlink(topo);
    assert_true(up);
    slurp(nx, console, sizeof(console));
    size_t mark = strlen(console);
    say(nx, "rpmsg ping /dev/rpmsg/proxy 5 64 1 1\n");
    bool done = wait_text(nx, mark, "ping times: 5", 60000);
    if (!done) {
        dump("rpserver", nx);
        dump("rpmsg sim", sim);
    }
    assert_true(done);
    /* The echoes show on B in the sim's status: the hub leaves the NuttX
     * core's names to its gateway, and B's echo took rpmsg-ping through it. */
    slurp(sim, console, sizeof(console));
    size_t smark = strlen(console);
    assert_true(wait_text(sim, smark, "B:running(far 1, echoed ", 10000));
    slurp(sim, console, sizeof(console));
    assert_null(strstr(console + smark, "B:running(far 1, echoed 0)"));
    kill(sim->pid, SIGTERM);
    assert_int_equal(finish(sim, 30000), 0);
    no_panic(nx);
    slurp(nx, console, sizeof(console));
    mark = strlen(console);
    say(nx, "uname -a\n");
    assert_true(wait_text(nx, mark, "NuttX", 30000));
    no_panic(nx);
    say(nx, "poweroff\n");
    finish(nx, 10000);
}

/*
 * The gateway end to end through `rpmsg sim`: server (the real rpserver) --
 * A (our hub, its slave) -- B, a `program =` core running `rpmsg ping
 * --join --nuttx --to server`, two hops from the server. Its 20 pings reach
 * the server's rpmsg-ping responder through A's gateway and come back in
 * order; the sim and the server stay clean.
 */
static void test_sim_far_core_pings_rpserver(void **st)
{
    (void)st;
    if (!have_pair())
        skip();
    struct proc *nx = &procs[0], *sim = &procs[1];
    char topo[64];
    snprintf(topo, sizeof(topo), "/tmp/rpmsg-nuttx-gw-%d.ini", (int)getpid());
    FILE *f = fopen(topo, "w");
    assert_non_null(f);
    fprintf(f, "[core server]\nkind = nuttx-sim\nshm = " SHM_NAME "\n[core A]\nhub = true\n"
               "[core B]\nprogram = exec '%s' ping --join --nuttx --to server --count 20 "
               "--size 64 --json --wait 30000\n"
               "[link nx]\ntype = virtio\nhost = server\nremote = A\n"
               "[link ab]\ntype = virtio\nhost = A\nremote = B\n",
            tool);
    fclose(f);
    start_server(nx);
    const char *args[] = { "sim", topo, "--interval", "1000", NULL };
    start_tool(sim, args);
    bool done = wait_text(sim, 0, "core B exited", 90000);
    unlink(topo);
    slurp(sim, console, sizeof(console));
    if (!done || !strstr(console, "core B exited (status 0)")) {
        dump("rpmsg sim", sim);
        dump("rpserver", nx);
    }
    assert_true(done);
    assert_non_null(strstr(console, "core B exited (status 0)"));
    const char *j = strstr(console, "{\"service\":\"rpmsg-ping\"");
    assert_non_null(j);
    assert_int_equal(json_int(j, "count"), 20);
    assert_int_equal(json_int(j, "received"), 20); /* each cookie in order, else errors */
    assert_int_equal(json_int(j, "errors"), 0);
    assert_non_null(strstr(j, "\"ok\":true"));
    no_panic(nx);
    kill(sim->pid, SIGTERM);
    assert_int_equal(finish(sim, 30000), 0);
    no_panic(nx);
    assert_true(console_cmd(nx, "uname -a\n", "NuttX", 30000));
    no_panic(nx);
    say(nx, "poweroff\n");
    finish(nx, 10000);
}

static int teardown(void **st)
{
    (void)st;
    nx_kill_all();
    return 0;
}

int main(void)
{
    nx_real_init();
    if (access(tool, X_OK)) {
        fprintf(stderr, "no rpmsg binary at %s\n", tool);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slave_next_to_rpserver, teardown, teardown),
        cmocka_unit_test_setup_teardown(test_master_for_rpproxy, teardown, teardown),
        cmocka_unit_test_setup_teardown(test_sim_core_next_to_rpserver, teardown, teardown),
        cmocka_unit_test_setup_teardown(test_sim_far_core_pings_rpserver, teardown, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
