/*
 * The gateway against the real NuttX: rpserver (../shared/nuttx-sim) is
 * core "server"; in this process our hub takes rpproxy's place as its slave
 * and attaches that link as plain; core zfar sits behind the hub on a
 * loopback link. zfar binds to the server's rpmsg-ping responder through the
 * gateway and pings it (NuttX's ping protocol, as `rpmsg ping --nuttx`):
 * 20 answers of 20, cookies in order, data intact; the server does not
 * assert. Skips when the binaries are missing. Holds the nuttx_sim lock.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpmsg/rpmsg_link.h"
#include "router_fixture.h"
#include "../../tools/nuttx_ping.h"

#define SHM_NAME "server-proxy"
#define NX_LOCK_PATH "/tmp/rpmsg-nuttx-sim.lock"
#define PINGS 20u
#define PING_LEN 64u

static pid_t nx_pid;
static int nx_out = -1, nx_in = -1;
static char nx_text[1 << 20];

static void nx_kill(void)
{
    if (nx_pid > 0) {
        kill(-nx_pid, SIGKILL);
        waitpid(nx_pid, NULL, 0);
        nx_pid = 0;
    }
    unlink("/dev/shm/" SHM_NAME); /* NuttX never removes it */
}

/* rpserver's console so far. */
static const char *nx_console(void)
{
    ssize_t n = pread(nx_out, nx_text, sizeof(nx_text) - 1, 0);
    nx_text[n > 0 ? n : 0] = 0;
    return nx_text;
}

static bool nx_prompted(void *arg)
{
    (void)arg;
    return strstr(nx_console(), "server> ") != NULL;
}

/* rpserver on a fresh object, its console in a memfd, dying with us. */
static bool nx_start(const char *path)
{
    int pin[2];
    unlink("/dev/shm/" SHM_NAME);
    nx_out = memfd_create("rpserver", 0);
    if (nx_out < 0 || pipe2(pin, O_CLOEXEC))
        return false;
    pid_t parent = getpid();
    fflush(NULL);
    nx_pid = fork();
    if (nx_pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        dup2(pin[0], 0);
        dup2(nx_out, 1);
        dup2(nx_out, 2);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    nx_in = pin[1];
    if (nx_pid < 0)
        return false;
    setpgid(nx_pid, nx_pid);
    return tu_wait_until(nx_prompted, NULL, 30000) == 0;
}

struct pinger {
    struct rpmsg_endpoint ept;
    bool live;
    struct rpmsg_device *dev;
    pthread_mutex_t lock;
    unsigned acks, bad;
    uint64_t next; /* cookie expected */
};

static struct pinger pg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int pg_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)src, (void)priv;
    uint64_t cookie;
    pthread_mutex_lock(&pg.lock);
    if (nx_ping_check_ack(data, len, PING_LEN, NX_PING_SEND, &cookie) || cookie != pg.next)
        pg.bad++;
    else
        pg.acks++, pg.next++;
    pthread_mutex_unlock(&pg.lock);
    return 0;
}

static bool pg_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv, (void)dest;
    return rpmsg_router_is_virtual(rdev) && !strcmp(rpmsg_get_local_cpuname(rdev), "zfar") &&
           !strcmp(name, "rpmsg-ping");
}

static void pg_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv;
    if (__atomic_load_n(&pg.live, __ATOMIC_ACQUIRE))
        return;
    pg.dev = rdev;
    int rc = tu_ept_create(&pg.ept, rdev, name, RPMSG_ADDR_ANY, dest, pg_cb, NULL, &pg);
    __atomic_store_n(&pg.live, rc == 0, __ATOMIC_RELEASE);
}

static bool pg_ready(void *arg)
{
    (void)arg;
    return __atomic_load_n(&pg.live, __ATOMIC_ACQUIRE) && rpmsg_is_ept_ready(&pg.ept);
}

static bool pg_done(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pg.lock);
    bool done = pg.acks + pg.bad >= PINGS;
    pthread_mutex_unlock(&pg.lock);
    return done;
}

static void test_far_core_pings_rpserver(void **state)
{
    (void)state;
    const char *dir = getenv("RPMSG_NUTTX_SIM_DIR");
    char path[600];
    snprintf(path, sizeof(path), "%s/rpserver", dir ? dir : "../shared/nuttx-sim");
    if (access(path, X_OK)) {
        fprintf(stderr, "skipped: no NuttX simulator at %s\n", path);
        skip();
    }
    assert_true(nx_start(path));

    struct rpmsg_link *nx = NULL;
    struct rpmsg_link_config lc = { .spec = "nuttx-sim:" SHM_NAME ":remote",
                                    .role = RPMSG_LINK_REMOTE,
                                    .side = RPMSG_LINK_ATTACH,
                                    .timeout_ms = 30000 };
    assert_int_equal(rpmsg_link_open(&nx, &lc), 0);
    struct rpmsg_device *nd = rpmsg_link_device(nx);
    assert_int_equal(rpmsg_link_wait_up(nx, 30000), 0);
    char hub[RPMSG_CPUNAME_SIZE], server[RPMSG_CPUNAME_SIZE];
    snprintf(hub, sizeof(hub), "%s", rpmsg_get_local_cpuname(nd));
    snprintf(server, sizeof(server), "%s", rpmsg_get_cpuname(nd));

    struct tu_pair lb;
    struct rpmsg_loopback_config cfg = { .num_bufs = 16, .name_a = hub, .name_b = "zfar" };
    assert_int_equal(tu_pair_open(&lb, &cfg), 0);
    struct rpmsg_router *r[2];
    struct rpmsg_router_config rc0 = { .local_cpuname = hub, .hub = true };
    struct rpmsg_router_config rc1 = { .local_cpuname = "zfar" };
    assert_int_equal(rpmsg_router_create(&r[0], &rc0), 0);
    assert_int_equal(rpmsg_router_create(&r[1], &rc1), 0);
    assert_int_equal(rpmsg_register_callback(&pg, NULL, NULL, pg_match, pg_bind), 0);
    assert_int_equal(rpmsg_router_attach_plain(r[0], nd), 0);
    assert_int_equal(rpmsg_router_attach(r[0], lb.a), 0);
    assert_int_equal(rpmsg_router_attach(r[1], lb.b), 0);

    int ready = tu_wait_until(pg_ready, NULL, 30000);
    if (ready)
        fprintf(stderr, "no binding; rpserver:\n%s\n", nx_console());
    assert_int_equal(ready, 0);
    assert_string_equal(rpmsg_get_cpuname(pg.dev), server);
    uint8_t buf[PING_LEN];
    for (uint64_t i = 0; i < PINGS; i++) {
        nx_ping_fill(buf, sizeof(buf), NX_PING_SEND, i);
        assert_int_equal(rpmsg_send(&pg.ept, buf, sizeof(buf)), (int)sizeof(buf));
    }
    assert_int_equal(tu_wait_until(pg_done, NULL, 30000), 0);
    assert_int_equal(pg.bad, 0);
    assert_int_equal(pg.acks, PINGS);
    struct rpmsg_router_stats st;
    rpmsg_router_get_stats(r[0], &st);
    assert_int_equal(st.drop_gw_unknown, 0);

    rpmsg_unregister_callback(&pg, NULL, NULL, pg_match, pg_bind);
    if (__atomic_exchange_n(&pg.live, false, __ATOMIC_ACQ_REL))
        rpmsg_destroy_ept(&pg.ept);
    rpmsg_router_destroy(r[1]);
    rpmsg_router_destroy(r[0]);
    tu_pair_close(&lb);
    rpmsg_link_close(nx);
    /* The server outlives us: it neither panics nor asserts, and answers. */
    size_t mark = strlen(nx_console());
    assert_true(write(nx_in, "uname -a\n", 9) == 9);
    for (int t = 0; t < 3000 && !strstr(nx_console() + mark, "NuttX"); t++)
        usleep(10000);
    const char *con = nx_console();
    if (strcasestr(con, "assert") || strcasestr(con, "panic") || !strstr(con + mark, "NuttX"))
        fprintf(stderr, "rpserver:\n%s\n", con);
    assert_null(strcasestr(con, "assert"));
    assert_null(strcasestr(con, "panic"));
    assert_non_null(strstr(con + mark, "NuttX"));
}

int main(void)
{
    atexit(nx_kill);
    signal(SIGPIPE, SIG_IGN);
    /* The machine-wide turn on NuttX's fixed object (docs/nuttx.md). */
    int lk = open(NX_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    for (int t = 0; lk >= 0 && flock(lk, LOCK_EX | LOCK_NB) < 0 && t < 600; t++)
        sleep(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_far_core_pings_rpserver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
