/*
 * Binding across two processes on a native VirtIO link: name-service
 * two-phase binding (both sides create the same name), first-message binding
 * (one side offers RPMSG_F_NS only, like a plain Linux/OpenAMP peer), static
 * addresses, and endpoints/services created after the peer's announcement
 * (pending replay). Each child echoes numbered messages; both sides check
 * order, contents, sender addresses and exact counts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "mp_echo.h"

#define N_MSGS 200u

enum kind { K_NS_ACK, K_FIRST_MSG, K_STATIC, K_LATE_SERVICE, K_LATE_EPT };

struct scen {
    enum kind kind;
    char spec[128];
    int ready[2]; /* child -> parent */
    int go[2];    /* parent -> child */
};

static const char *svc_name(enum kind k)
{
    switch (k) {
    case K_NS_ACK: return "mp-ns-ack";
    case K_FIRST_MSG: return "mp-first";
    case K_LATE_SERVICE: return "mp-late-svc";
    case K_LATE_EPT: return "mp-late-ept";
    default: return NULL;
    }
}

/* ---- child -------------------------------------------------------------- */

static struct mp_peer cpeer;
static struct rpmsg_endpoint cmarker;
static struct rpmsg_sem cbound;

static bool child_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)dest;
    return !strcmp(name, (const char *)priv);
}

/* Creates a named endpoint bound to dest: not announced, so the host's
 * endpoint learns our address only from our first message. */
static void child_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv;
    if (!rpmsg_create_ept(&cpeer.ept, rdev, name, RPMSG_ADDR_ANY, dest, mp_peer_cb, NULL))
        rpmsg_post(NULL, &cbound);
}

static int child_main(void *arg)
{
    struct scen *s = arg;
    close(s->ready[0]);
    close(s->go[1]);
    mp_peer_init(&cpeer, N_MSGS, true);
    rpmsg_sem_init(&cbound, 0);
    const char *name = svc_name(s->kind);
    bool registered = false;
    if (s->kind == K_FIRST_MSG) {
        if (rpmsg_register_callback((void *)name, NULL, NULL, child_match, child_bind))
            return 3;
        registered = true;
    }
    struct rpmsg_link *l = mp_open(s->spec, false, s->kind == K_FIRST_MSG ? RPMSG_F_NS : 0,
                                   RPMSG_LINK_ADAPTIVE);
    if (!l)
        return 2;
    struct rpmsg_device *rdev = rpmsg_link_device(l);
    int rc = 0, r = 0;
    switch (s->kind) {
    case K_FIRST_MSG:
        if (rpmsg_wait_timeout(NULL, &cbound, 10000)) {
            rc = 4;
            break;
        }
        mp_pipe_post(s->ready[1]);
        if (!mp_pipe_wait(s->go[0], 10000)) {
            rc = 5;
            break;
        }
        if (rpmsg_send(&cpeer.ept, "hello", 5) != 5)
            rc = 6;
        break;
    case K_STATIC:
        cpeer.want_src = 0x100;
        r = rpmsg_create_ept(&cpeer.ept, rdev, NULL, 0x200, 0x100, mp_peer_cb, NULL);
        break;
    default:
        r = rpmsg_create_ept(&cpeer.ept, rdev, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, mp_peer_cb,
                             NULL);
        if (!r && (s->kind == K_LATE_SERVICE || s->kind == K_LATE_EPT))
            r = rpmsg_create_ept(&cmarker, rdev, "mp-marker", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                 NULL, NULL);
        break;
    }
    if (r)
        rc = 7;
    if (!rc && s->kind != K_FIRST_MSG)
        mp_pipe_post(s->ready[1]);
    if (!rc && rpmsg_wait_timeout(NULL, &cpeer.done, 20000))
        rc = 8;
    /* Checked before the host leaves: a link going down unbinds. */
    if (!rc && s->kind != K_STATIC && !cpeer.ready_at_done)
        rc = 11;
    /* The host closes first, once it has every echo. */
    if (!rc && !mp_wait_down(l, 20000))
        rc = 9;
    if (!rc && (cpeer.bad || cpeer.send_errors || cpeer.received != N_MSGS))
        rc = 10;
    if (rc)
        fprintf(stderr, "child: kind %d rc %d received %u bad %u send errors %u\n", s->kind, rc,
                cpeer.received, cpeer.bad, cpeer.send_errors);
    if (cpeer.ept.rdev)
        rpmsg_destroy_ept(&cpeer.ept);
    if (cmarker.rdev)
        rpmsg_destroy_ept(&cmarker);
    if (registered)
        rpmsg_unregister_callback((void *)name, NULL, NULL, child_match, child_bind);
    rpmsg_link_close(l);
    return rc;
}

/* ---- host --------------------------------------------------------------- */

static struct mp_peer hpeer;
static struct rpmsg_sem hbound;

static void host_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv;
    if (!rpmsg_create_ept(&hpeer.ept, rdev, name, RPMSG_ADDR_ANY, dest, mp_peer_cb, NULL))
        rpmsg_post(NULL, &hbound);
}

static struct rpmsg_sem hmarker;

static void marker_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)priv, (void)name, (void)dest;
    rpmsg_post(NULL, &hmarker);
}

static void run(enum kind kind)
{
    static struct scen s;
    memset(&s, 0, sizeof(s));
    s.kind = kind;
    char tag[32];
    snprintf(tag, sizeof(tag), "bind-%d", (int)kind);
    mp_spec(s.spec, sizeof(s.spec), tag);
    assert_int_equal(pipe(s.ready), 0);
    assert_int_equal(pipe(s.go), 0);
    mp_peer_init(&hpeer, N_MSGS, false);
    rpmsg_sem_init(&hbound, 0);
    rpmsg_sem_init(&hmarker, 0);
    assert_int_equal(
        rpmsg_register_callback((void *)"mp-marker", NULL, NULL, child_match, marker_bind), 0);
    const char *name = svc_name(kind);

    struct rpmsg_link_config cfg = { .spec = s.spec, .role = RPMSG_LINK_HOST,
                                     .side = RPMSG_LINK_CREATE, .cpuname = "mp-host" };
    struct rpmsg_link *l;
    /* Fork before this process has any link thread; the attacher waits for us. */
    pid_t pid = mp_spawn(child_main, &s);
    assert_true(pid > 0);
    assert_int_equal(rpmsg_link_open(&l, &cfg), 0);
    close(s.ready[1]);
    close(s.go[0]);
    assert_int_equal(rpmsg_link_wait_up(l, 10000), 0);
    struct rpmsg_device *rdev = rpmsg_link_device(l);
    /* Without CPUNAME negotiated the peer has its default name. */
    assert_string_equal(rpmsg_get_cpuname(rdev), kind == K_FIRST_MSG ? "remote" : "mp-remote");
    bool registered = false;

    switch (kind) {
    case K_NS_ACK:
        assert_true(rpmsg_get_features(rdev) & RPMSG_F_ACK);
        assert_int_equal(rpmsg_create_ept(&hpeer.ept, rdev, name, RPMSG_ADDR_ANY,
                                          RPMSG_ADDR_ANY, mp_peer_cb, NULL), 0);
        assert_int_equal(rpmsg_wait_ept_ready(&hpeer.ept, 10000), 0);
        assert_true(mp_pipe_wait(s.ready[0], 10000));
        break;
    case K_FIRST_MSG:
        assert_int_equal(rpmsg_get_features(rdev) & (RPMSG_F_NS | RPMSG_F_ACK), RPMSG_F_NS);
        hpeer.want_first = true;
        assert_int_equal(rpmsg_create_ept(&hpeer.ept, rdev, name, RPMSG_ADDR_ANY,
                                          RPMSG_ADDR_ANY, mp_peer_cb, NULL), 0);
        /* The child has bound to our announcement once it says ready, but
         * without CREATE_ACK nothing tells us its address before it sends. */
        assert_true(mp_pipe_wait(s.ready[0], 10000));
        assert_false(rpmsg_is_ept_ready(&hpeer.ept));
        mp_pipe_post(s.go[1]);
        assert_int_equal(rpmsg_wait_ept_ready(&hpeer.ept, 10000), 0);
        assert_true(hpeer.ept.dest_addr >= RPMSG_ADDR_DYN_BASE);
        assert_int_equal(rpmsg_wait_timeout(NULL, &hpeer.got_first, 10000), 0);
        break;
    case K_STATIC:
        hpeer.want_src = 0x200;
        assert_int_equal(rpmsg_create_ept(&hpeer.ept, rdev, NULL, 0x100, 0x200, mp_peer_cb,
                                          NULL), 0);
        assert_true(mp_pipe_wait(s.ready[0], 10000));
        break;
    case K_LATE_SERVICE:
    case K_LATE_EPT: {
        /* The announcement must have arrived before anything here wants it. */
        assert_true(mp_pipe_wait(s.ready[0], 10000));
        /* The marker was announced after it, on the same FIFO. */
        assert_int_equal(rpmsg_wait_timeout(NULL, &hmarker, 10000), 0);
        if (kind == K_LATE_SERVICE) {
            assert_int_equal(
                rpmsg_register_callback((void *)name, NULL, NULL, child_match, host_bind), 0);
            registered = true;
        } else {
            assert_int_equal(rpmsg_create_ept(&hpeer.ept, rdev, name, RPMSG_ADDR_ANY,
                                              RPMSG_ADDR_ANY, mp_peer_cb, NULL), 0);
            rpmsg_post(NULL, &hbound);
        }
        assert_int_equal(rpmsg_wait_timeout(NULL, &hbound, 10000), 0);
        assert_int_equal(rpmsg_wait_ept_ready(&hpeer.ept, 10000), 0);
        break;
    }
    }
    if (kind == K_FIRST_MSG)
        assert_string_equal(hpeer.first, "hello");
    assert_int_equal(mp_send_numbered(&hpeer.ept, N_MSGS), 0);
    assert_int_equal(rpmsg_wait_timeout(NULL, &hpeer.done, 20000), 0);
    assert_int_equal(hpeer.received, N_MSGS);
    assert_int_equal(hpeer.bad, 0);
    if (kind == K_STATIC)
        assert_int_equal(hpeer.ept.addr, 0x100);
    rpmsg_destroy_ept(&hpeer.ept);
    if (registered)
        rpmsg_unregister_callback((void *)name, NULL, NULL, child_match, host_bind);
    rpmsg_unregister_callback((void *)"mp-marker", NULL, NULL, child_match, marker_bind);
    rpmsg_link_close(l);
    assert_int_equal(mp_join(pid), 0);
    close(s.ready[0]);
    close(s.go[1]);
    rpmsg_sem_deinit(&hbound);
    rpmsg_sem_deinit(&hpeer.done);
    assert_int_equal(mp_shm_leftovers(), 0);
}

static void test_ns_two_phase(void **st) { (void)st; run(K_NS_ACK); }
static void test_first_message(void **st) { (void)st; run(K_FIRST_MSG); }
static void test_static_addresses(void **st) { (void)st; run(K_STATIC); }
static void test_late_service(void **st) { (void)st; run(K_LATE_SERVICE); }
static void test_late_endpoint(void **st) { (void)st; run(K_LATE_EPT); }

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
        cmocka_unit_test_teardown(test_ns_two_phase, teardown),
        cmocka_unit_test_teardown(test_first_message, teardown),
        cmocka_unit_test_teardown(test_static_addresses, teardown),
        cmocka_unit_test_teardown(test_late_service, teardown),
        cmocka_unit_test_teardown(test_late_endpoint, teardown),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    return r || mp_shm_leftovers() ? 1 : r;
}
