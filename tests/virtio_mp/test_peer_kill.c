/*
 * Peer death across processes: the peer is SIGKILLed in the middle of
 * traffic; the survivor's service gets device_destroyed within the
 * configured detection time (native layout: the Linux platform notices the
 * dead pid within its liveness period, LIVENESS_MS here; OpenAMP layout:
 * the socket hangs up at once), the link says the peer died, and nothing is
 * left in /dev/shm. A link object is single-use once its peer died, so the
 * survivor closes it and opens a new one under the same name (what
 * `rpmsg echo --serve` does); a new peer process joins and traffic flows
 * again, checked message by message.
 * Both sides (the killed process is the remote or the host) and both
 * layouts (native, OpenAMP).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "mp_echo.h"

/* Below the 256 buffers a side has: see the flood below. */
#define N_AFTER 200u
/* The survivor's configured detection time (native layout). */
#define LIVENESS_MS 100u
/*
 * What "within the detection time" is held to: the configured time plus
 * room for a loaded 2-CPU machine to schedule the survivor. The measured
 * figures are bench_virtio's (dead-peer detection), not this test's.
 */
#define DETECT_BOUND_MS (LIVENESS_MS + 2900u)

struct kcfg {
    char spec[160];
    bool child_host;  /* the child is the host/creator */
    bool endless;     /* echo until killed */
    int ready[2];
};

/* Child: echoes on "mp-kill" until killed, or N_AFTER messages then the host leaves. */
static int child_main(void *arg)
{
    struct kcfg *k = arg;
    close(k->ready[0]);
    static struct mp_peer p;
    mp_peer_init(&p, k->endless ? 0 : N_AFTER, true);
    struct rpmsg_link *l = mp_open(k->spec, k->child_host, 0, RPMSG_LINK_ADAPTIVE);
    if (!l)
        return 2;
    if (rpmsg_create_ept(&p.ept, rpmsg_link_device(l), "mp-kill", RPMSG_ADDR_ANY,
                         RPMSG_ADDR_ANY, mp_peer_cb, NULL))
        return 3;
    mp_pipe_post(k->ready[1]);
    if (k->endless) {
        /* The numbering restarts never: the parent checks only what it gets back. */
        for (;;)
            pause();
    }
    int rc = 0;
    if (rpmsg_wait_timeout(NULL, &p.done, 20000))
        rc = 4;
    else if (p.bad || p.send_errors)
        rc = 5;
    /* Leave after the survivor, so our last echoes are not lost. */
    mp_wait_down(l, 20000);
    rpmsg_destroy_ept(&p.ept);
    rpmsg_link_close(l);
    return rc;
}

/* "openamp:<prefix><tag>:@<prefix><tag>-sock" (abstract socket: no file) */
static void mp_spec_openamp(char *buf, size_t size, const char *tag)
{
    if (snprintf(buf, size, "openamp:%s%s:@%s%s-sock", mp_prefix(), tag, mp_prefix(), tag) >=
        (int)size)
        buf[0] = '\0'; /* too long: an empty spec fails loudly */
}

/* Survivor ---------------------------------------------------------------- */

static struct rpmsg_sem destroyed;
static struct rpmsg_device *watched;

static void on_destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    if (rdev == watched)
        rpmsg_post(NULL, &destroyed);
}

/* Echoes counted by the flood phase: contents are checked, numbering is not. */
static unsigned long flood_rx; /* atomic: counted on the RX thread, read by the test */
static int flood_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)src, (void)priv;
    if (len == MP_MSG_LEN)
        __atomic_add_fetch(&flood_rx, 1, __ATOMIC_RELAXED);
    return 0;
}

static unsigned long flood_count(void)
{
    return __atomic_load_n(&flood_rx, __ATOMIC_RELAXED);
}

static uint64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct rpmsg_link *survivor_open(struct kcfg *k, struct kcfg *child, pid_t *pid)
{
    bool host = !k->child_host;
    struct rpmsg_link_config cfg = {
        .spec = k->spec,
        .role = host ? RPMSG_LINK_HOST : RPMSG_LINK_REMOTE,
        .side = host ? RPMSG_LINK_CREATE : RPMSG_LINK_ATTACH,
        .listen = !host,
        .cpuname = "survivor",
        .liveness_ms = LIVENESS_MS,
    };
    *child = *k;
    assert_int_equal(pipe(child->ready), 0);
    struct rpmsg_link *l = NULL;
    /* Fork before this process has any link thread (an attacher waits for
     * its creator, so the order of the two opens does not matter). */
    *pid = mp_spawn(child_main, child);
    assert_true(*pid > 0);
    assert_int_equal(rpmsg_link_open(&l, &cfg), 0);
    close(child->ready[1]);
    assert_int_equal(rpmsg_link_wait_up(l, 10000), 0);
    assert_true(mp_pipe_wait(child->ready[0], 10000));
    close(child->ready[0]);
    return l;
}

static void run(bool child_host, bool openamp)
{
    static struct kcfg k, kc;
    memset(&k, 0, sizeof(k));
    k.child_host = child_host;
    const char *tag = child_host ? "kill-host" : "kill-remote";
    if (openamp)
        mp_spec_openamp(k.spec, sizeof(k.spec), tag);
    else
        mp_spec(k.spec, sizeof(k.spec), tag);
    rpmsg_sem_init(&destroyed, 0);
    assert_int_equal(rpmsg_register_callback(&k, NULL, on_destroyed, NULL, NULL), 0);

    /* Phase 1: flood, then kill the peer mid-traffic. */
    k.endless = true;
    pid_t pid;
    struct rpmsg_link *l = survivor_open(&k, &kc, &pid);
    struct rpmsg_device *rdev = rpmsg_link_device(l);
    watched = rdev;
    static struct rpmsg_endpoint e;
    __atomic_store_n(&flood_rx, 0, __ATOMIC_RELAXED);
    assert_int_equal(rpmsg_create_ept(&e, rdev, "mp-kill", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                      flood_cb, NULL), 0);
    assert_int_equal(rpmsg_wait_ept_ready(&e, 10000), 0);
    uint8_t m[MP_MSG_LEN];
    mp_msg(m, 1);
    /*
     * At most 128 unanswered: this test is about the kill, not about a
     * sender starved of buffers (at 256 in flight the remote side sometimes
     * waited out its send timeout: see the report on TX-buffer wake-ups).
     */
    for (unsigned sent = 0; sent < 2000; sent++) {
        for (int t = 0; t < 10000 && sent - flood_count() >= 128; t++)
            usleep(100);
        assert_int_equal(rpmsg_send(&e, m, sizeof(m)), MP_MSG_LEN);
    }
    /* Echoes are flowing both ways when the peer dies. */
    for (int t = 0; t < 2000 && flood_count() < 100; t++)
        usleep(1000);
    assert_true(flood_count() >= 100);
    for (unsigned i = 0; i < 200; i++)
        rpmsg_trysend(&e, m, sizeof(m));
    uint64_t t0 = ms_now();
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(mp_join(pid), 128 + SIGKILL);
    /* Within the detection time (and its scheduling room); the figure is
     * printed, bench_virtio measures it. */
    assert_int_equal(rpmsg_wait_timeout(NULL, &destroyed, 10000), 0);
    uint64_t noticed = ms_now() - t0;
    fprintf(stderr, "peer death noticed after %llu ms (%lu echoes before)\n",
            (unsigned long long)noticed, flood_count());
    assert_true(noticed <= DETECT_BOUND_MS);
    assert_false(rpmsg_device_is_up(rdev));
    char why[200];
    assert_int_equal(rpmsg_link_trouble(l, why, sizeof(why)), RPMSG_LINK_DOWN_DEAD);
    assert_string_equal(why, "down: the peer died");
    int r = rpmsg_trysend(&e, m, sizeof(m));
    assert_true(r < 0);
    rpmsg_destroy_ept(&e);
    rpmsg_link_close(l);
    assert_int_equal(mp_shm_leftovers(), 0);

    /* Phase 2: a new peer process, a new link object on the same name. */
    k.endless = false;
    l = survivor_open(&k, &kc, &pid);
    rdev = rpmsg_link_device(l);
    watched = rdev;
    static struct mp_peer p;
    mp_peer_init(&p, N_AFTER, false);
    assert_int_equal(rpmsg_create_ept(&p.ept, rdev, "mp-kill", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                      mp_peer_cb, NULL), 0);
    assert_int_equal(rpmsg_wait_ept_ready(&p.ept, 10000), 0);
    assert_int_equal(mp_send_numbered(&p.ept, N_AFTER), 0);
    assert_int_equal(rpmsg_wait_timeout(NULL, &p.done, 20000), 0);
    assert_int_equal(p.received, N_AFTER);
    assert_int_equal(p.bad, 0);
    rpmsg_destroy_ept(&p.ept);
    rpmsg_link_close(l);
    assert_int_equal(mp_join(pid), 0);
    rpmsg_unregister_callback(&k, NULL, on_destroyed, NULL, NULL);
    watched = NULL;
    rpmsg_sem_deinit(&destroyed);
    assert_int_equal(mp_shm_leftovers(), 0);
}

static void test_remote_killed(void **st) { (void)st; run(false, false); }
static void test_host_killed(void **st) { (void)st; run(true, false); }
static void test_openamp_remote_killed(void **st) { (void)st; run(false, true); }
static void test_openamp_host_killed(void **st) { (void)st; run(true, true); }

static int teardown(void **st)
{
    (void)st;
    mp_kill_children();
    return 0;
}

int main(void)
{
    atexit(mp_atexit);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_remote_killed, teardown),
        cmocka_unit_test_teardown(test_host_killed, teardown),
        cmocka_unit_test_teardown(test_openamp_remote_killed, teardown),
        cmocka_unit_test_teardown(test_openamp_host_killed, teardown),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    return r || mp_shm_leftovers() ? 1 : r;
}
