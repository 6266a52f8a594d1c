/*
 * A tty that misbehaves under the UART link, through the tty's read/write
 * stand-ins: writes and reads that move a few bytes at a time, writes and
 * reads that fail with EIO or EAGAIN now and then, and a tty whose every
 * write fails for a while. The link counts the failures (io_errors), loses
 * nothing it accepted (ARQ repairs the broken frames), takes the link down
 * while nothing gets through and brings it back after; ASan runs check
 * that nothing leaks on any of these paths. Also rpmsg_tty_open's own
 * failures.
 */
#include <fcntl.h>
#include <stdatomic.h>

#include "port_harness.h"

struct fault_io {
    atomic_uint calls;
    unsigned short_max;   /* move at most this many bytes per call (0: no limit) */
    unsigned fail_every;  /* every Nth call fails (0: never) */
    atomic_bool dead;     /* every write fails */
    bool stuck;           /* ... with EAGAIN, as a line held by flow control */
    atomic_uint failed;
};

static ssize_t f_write(void *ctx, int fd, const void *buf, size_t len)
{
    struct fault_io *f = ctx;
    unsigned n = atomic_fetch_add(&f->calls, 1) + 1;
    if (atomic_load(&f->dead) || (f->fail_every && n % f->fail_every == 0)) {
        atomic_fetch_add(&f->failed, 1);
        errno = f->stuck || (n % 2 && !atomic_load(&f->dead)) ? EAGAIN : EIO;
        return -1;
    }
    if (f->short_max && len > 1)
        len = 1 + (ph_mix(n) % (len < f->short_max ? len : f->short_max));
    return write(fd, buf, len);
}

static ssize_t f_read(void *ctx, int fd, void *buf, size_t len)
{
    struct fault_io *f = ctx;
    unsigned n = atomic_fetch_add(&f->calls, 1) + 1;
    if (f->fail_every && n % (f->fail_every * 3) == 0) {
        atomic_fetch_add(&f->failed, 1);
        errno = EIO;
        return -1;
    }
    if (f->short_max && len > 1)
        len = 1 + (ph_mix(n) % (len < f->short_max ? len : f->short_max));
    return read(fd, buf, len);
}

static void test_short_io(void **state)
{
    (void)state;
    struct fault_io f[2] = { { .short_max = 13 }, { .short_max = 7 } };
    struct rpmsg_tty_io io[2] = { { f_read, f_write, &f[0] }, { f_read, f_write, &f[1] } };
    struct ph_opts o = { .kind = PH_UART, .io = { &io[0], &io[1] } };
    struct ph_pair p;
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    /* Counted from here: B's tty opening flushes whatever part of A's first
     * CONNECT was in the pty, which can leave a broken frame. */
    struct rpmsg_port_stats s0[2] = { ph_stats(p.dev[0]), ph_stats(p.dev[1]) };
    ph_stream_both(&p, 3000, 0, 200);
    for (int i = 0; i < 2; i++) {
        struct rpmsg_port_stats s = ph_stats(p.dev[i]);
        assert_int_equal(s.io_errors, 0);
        assert_int_equal(s.crc_errors - s0[i].crc_errors, 0); /* short counts are not errors */
        assert_int_equal(s.connects, 1);
    }
    ph_close(&p);
}

static void test_failing_io(void **state)
{
    (void)state;
    struct fault_io f[2] = { { .fail_every = 17, .short_max = 300 }, { .fail_every = 23 } };
    struct rpmsg_tty_io io[2] = { { f_read, f_write, &f[0] }, { f_read, f_write, &f[1] } };
    struct ph_opts o = { .kind = PH_UART, .io = { &io[0], &io[1] } };
    struct ph_pair p;
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    ph_stream_both(&p, 3000, 0, 200);
    struct rpmsg_port_stats s[2] = { ph_stats(p.dev[0]), ph_stats(p.dev[1]) };
    assert_true(atomic_load(&f[0].failed) > 0 && atomic_load(&f[1].failed) > 0);
    assert_true(s[0].io_errors > 0 && s[1].io_errors > 0);
    assert_true(s[0].retransmits + s[1].retransmits > 0); /* frames broken off, and repaired */
    ph_close(&p);
}

struct up_arg {
    struct ph_pair *p;
    bool up;
};

static bool pred_state(void *arg)
{
    struct up_arg *a = arg;
    return rpmsg_device_is_up(a->p->dev[1]) == a->up;
}

static void run_dead_tty(bool stuck)
{
    struct fault_io f = { .stuck = stuck };
    struct rpmsg_tty_io io = { f_read, f_write, &f };
    /* Short enough to wait out, long enough for the stream after it: at
     * 300 ms a loaded machine (TSan, 4 runs at once) left B unheard that
     * long mid-stream, B ended the session and what was in flight was lost
     * (4 runs in 60). */
    struct ph_opts o = { .kind = PH_UART, .peer_timeout_ms = 3000, .io = { &io, NULL } };
    struct ph_pair p;
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    /* A's writes all fail: B hears nothing and takes the link down. */
    atomic_store(&f.dead, true);
    struct up_arg a = { &p, false };
    assert_int_equal(tu_wait_until(pred_state, &a, 3 * TU_TIMEOUT_MS), 0);
    if (!stuck)
        assert_true(ph_stats(p.dev[0]).io_errors > 0); /* a timeout is not an error */
    assert_true(ph_stats(p.dev[1]).peer_timeouts >= 1);
    /* The tty works again: the link comes back and carries messages. */
    atomic_store(&f.dead, false);
    assert_int_equal(ph_wait_up(&p), 0);
    ph_stream_both(&p, 500, 0, 200);
    ph_close(&p);
}

static void test_dead_tty(void **state)
{
    (void)state;
    run_dead_tty(false);
}

/* Writes that never get through (EAGAIN until the deadline, again and
 * again): the TX thread must not sit on its frame past the session. */
static void test_stuck_tty(void **state)
{
    (void)state;
    run_dead_tty(true);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct rpmsg_tty *t = NULL;
    struct rpmsg_tty_config c = { .path = "/nonexistent/tty", .fd = -1 };
    assert_int_equal(rpmsg_tty_open(&t, &c), -ENOENT);
    assert_null(t);
    c.path = NULL;
    assert_int_equal(rpmsg_tty_open(&t, &c), -EINVAL);
    assert_int_equal(rpmsg_tty_open(NULL, &c), -EINVAL);
    /* Not a tty: termios refuses, and what was opened is closed again. */
    c.path = "/dev/null";
    assert_true(rpmsg_tty_open(&t, &c) < 0);
    c.path = NULL;
    c.fd = open("/dev/null", O_RDWR);
    assert_true(c.fd >= 0);
    c.baud = 12345; /* no such rate */
    assert_true(rpmsg_tty_open(&t, &c) < 0);
    close(c.fd);
    rpmsg_tty_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_io),
        cmocka_unit_test(test_failing_io),
        cmocka_unit_test(test_dead_tty),
        cmocka_unit_test(test_stuck_tty),
        cmocka_unit_test(test_open_errors),
    };
    ph_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
