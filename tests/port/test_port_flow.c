/*
 * Flow control and link set-up: a receiver that holds its buffers stops the
 * sender by credit, on UART and on SPI, and nothing is dropped or sent
 * twice; small messages are packed several to a frame; the handshake carries
 * cpu names and buffer sizes; the SPI bus works between two processes.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "port_harness.h"

/* ---- Credits --------------------------------------------------------------- */

struct holder {
    struct ph_stream s;
    struct rpmsg_endpoint *ept;
    void *held[64];
    unsigned nheld, hold_max;
    struct tu_event got;
};

static int holder_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct holder *h = priv;
    ph_stream_cb(ept, data, len, src, &h->s);
    if (h->nheld < h->hold_max) {
        TU_CHECK(rpmsg_hold_rx_buffer(ept, data) == 0);
        h->held[h->nheld++] = data;
    }
    tu_event_post(&h->got);
    return 0;
}

struct stalled_arg {
    struct rpmsg_device *d;
};

static bool sender_stalled(void *arg)
{
    struct stalled_arg *a = arg;
    return ph_stats(a->d).credit_stalls > 0;
}

static void run_credit(enum ph_kind kind)
{
    const uint32_t nbufs = 8, n = 40;
    struct ph_opts o = { .kind = kind, .nbufs = nbufs };
    struct ph_pair p;
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);

    struct holder h;
    memset(&h, 0, sizeof(h));
    ph_stream_init(&h.s, 64, 2);
    tu_event_init(&h.got);
    h.hold_max = nbufs;
    struct rpmsg_endpoint ea, eb;
    memset(&ea, 0, sizeof(ea));
    memset(&eb, 0, sizeof(eb));
    eb.priv = &h;
    h.ept = &eb;
    assert_int_equal(rpmsg_create_ept(&ea, p.dev[0], NULL, PH_ADDR_A, PH_ADDR_B, NULL, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&eb, p.dev[1], NULL, PH_ADDR_B, PH_ADDR_A, holder_cb, NULL), 0);

    struct ph_sender snd = { .ept = &ea, .count = n, .max = 64, .salt = 2 };
    struct tu_thread th = { 0 };
    assert_int_equal(tu_thread_start(&th, ph_sender_run, &snd), 0);

    /* B keeps every buffer it has: A must stop at B's credit and wait. */
    assert_int_equal(tu_event_wait(&h.got, nbufs, TU_TIMEOUT_MS), 0);
    struct stalled_arg sa = { p.dev[0] };
    assert_int_equal(tu_wait_until(sender_stalled, &sa, TU_TIMEOUT_MS), 0);
    usleep(150 * 1000); /* time for any overrun (and the sender's probes) to show */
    assert_int_equal(tu_event_count(&h.got), nbufs);
    struct rpmsg_port_stats sb = ph_stats(p.dev[1]);
    assert_int_equal(sb.out_of_window, 0);
    /* (sb.duplicates may count spurious retransmissions on a loaded machine:
     * dropped by B, never delivered, which rx_msgs and the stream show.) */
    assert_int_equal(sb.rx_msgs, nbufs);

    for (unsigned i = 0; i < h.nheld; i++)
        assert_int_equal(rpmsg_release_rx_buffer(&eb, h.held[i]), 0);
    assert_int_equal(tu_thread_join(&th, 30000), 0);
    assert_int_equal(snd.err, 0);
    assert_int_equal(ph_stream_wait(&h.s, n, TU_TIMEOUT_MS), 0);
    assert_int_equal(h.s.received, n);
    assert_int_equal(h.s.corrupt + h.s.misordered + h.s.skipped, 0);
    sb = ph_stats(p.dev[1]);
    assert_int_equal(sb.out_of_window, 0);
    assert_int_equal(sb.rx_msgs, n);
    assert_true(ph_stats(p.dev[0]).credit_stalls >= 1);
    TU_ASSERT_NO_THREAD_FAILURES();

    rpmsg_destroy_ept(&ea);
    rpmsg_destroy_ept(&eb);
    ph_close(&p);
    ph_stream_deinit(&h.s);
    tu_event_deinit(&h.got);
}

static void test_credit_uart(void **state)
{
    (void)state;
    run_credit(PH_UART);
}

static void test_credit_spi(void **state)
{
    (void)state;
    run_credit(PH_SPI);
}

/* ---- Packing ---------------------------------------------------------------- */

static void run_packing(enum ph_kind kind, uint32_t rate, uint32_t n)
{
    struct ph_opts o = { .kind = kind, .rate = rate };
    struct ph_pair p;
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    struct ph_stream rs;
    ph_stream_init(&rs, 40, 2);
    struct rpmsg_endpoint ea, eb;
    memset(&ea, 0, sizeof(ea));
    memset(&eb, 0, sizeof(eb));
    eb.priv = &rs;
    assert_int_equal(rpmsg_create_ept(&ea, p.dev[0], NULL, PH_ADDR_A, PH_ADDR_B, NULL, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&eb, p.dev[1], NULL, PH_ADDR_B, PH_ADDR_A, ph_stream_cb, NULL), 0);
    uint64_t frames0 = ph_stats(p.dev[0]).tx_frames;
    struct ph_sender snd = { .ept = &ea, .count = n, .max = 40, .salt = 2 };
    ph_sender_run(&snd);
    assert_int_equal(snd.err, 0);
    assert_int_equal(ph_stream_wait(&rs, n, TU_TIMEOUT_MS), 0);
    assert_int_equal(rs.received, n);
    assert_int_equal(rs.corrupt + rs.misordered + rs.skipped, 0);
    uint64_t frames = ph_stats(p.dev[0]).tx_frames - frames0;
    printf("%u messages in %llu frames\n", n, (unsigned long long)frames);
    /* Messages queue while the line is busy and leave together. The line is
     * slow enough (a frame takes tens of ms, a message microseconds to
     * queue) that only a sender starved for most of the run could fail this. */
    assert_true(frames * 3 < n);
    rpmsg_destroy_ept(&ea);
    rpmsg_destroy_ept(&eb);
    ph_close(&p);
    ph_stream_deinit(&rs);
}

static void test_packing_uart(void **state)
{
    (void)state;
    run_packing(PH_UART, 57600, 120);
}

static void test_packing_spi(void **state)
{
    (void)state;
    run_packing(PH_SPI, 250000, 300);
}

/* ---- Handshake contents ----------------------------------------------------- */

static void test_handshake(void **state)
{
    (void)state;
    struct ph_opts o = { .kind = PH_UART, .buf_size = 512, .buf_size_b = 256 };
    struct ph_pair p;
    assert_int_equal(ph_open(&p, &o), 0);
    assert_int_equal(ph_wait_up(&p), 0);
    assert_string_equal(rpmsg_get_cpuname(p.dev[0]), "b");
    assert_string_equal(rpmsg_get_cpuname(p.dev[1]), "a");
    assert_string_equal(rpmsg_get_local_cpuname(p.dev[0]), "a");
    assert_int_equal(rpmsg_get_features(p.dev[0]), RPMSG_F_NS | RPMSG_F_ACK);
    struct rpmsg_endpoint ea, eb;
    memset(&ea, 0, sizeof(ea));
    memset(&eb, 0, sizeof(eb));
    assert_int_equal(rpmsg_create_ept(&ea, p.dev[0], NULL, PH_ADDR_A, PH_ADDR_B, NULL, NULL), 0);
    assert_int_equal(rpmsg_create_ept(&eb, p.dev[1], NULL, PH_ADDR_B, PH_ADDR_A, NULL, NULL), 0);
    /* A sends no more than B's buffers hold; B's own buffers bound it too. */
    assert_int_equal(rpmsg_get_tx_buffer_size(&ea), 256 - RPMSG_HDR_SIZE);
    assert_int_equal(rpmsg_get_tx_buffer_size(&eb), 256 - RPMSG_HDR_SIZE);
    uint8_t big[300] = { 0 };
    assert_int_equal(rpmsg_send(&ea, big, 241), -EMSGSIZE);
    assert_int_equal(rpmsg_send(&ea, big, 240), 240);
    /* Zero copy over the port: the payload buffer is the transport's. */
    uint32_t cap = 0;
    uint8_t *zc = rpmsg_get_tx_payload_buffer(&ea, &cap, RPMSG_WAIT);
    assert_non_null(zc);
    assert_int_equal(cap, 240);
    memset(zc, 7, 100);
    assert_int_equal(rpmsg_send_nocopy(&ea, zc, 100), 100);
    struct rpmsg_port_stats s = ph_stats(p.dev[0]);
    assert_int_equal(s.connects, 1);
    assert_int_equal(rpmsg_port_get_stats(NULL, &s), -EINVAL);
    rpmsg_destroy_ept(&ea);
    rpmsg_destroy_ept(&eb);
    ph_close(&p);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct rpmsg_port *port = NULL;
    struct rpmsg_port_config c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(rpmsg_port_init(&port, NULL), -EINVAL);
    assert_int_equal(rpmsg_port_init(&port, &c), -EINVAL); /* no ops */
    c.uart = &rpmsg_tty_ops;
    c.num_rx_bufs = PORT_WIN_MAX + 1;
    assert_int_equal(rpmsg_port_init(&port, &c), -EINVAL);
    c.num_rx_bufs = 0;
    c.buf_size = 8;
    assert_int_equal(rpmsg_port_init(&port, &c), -EINVAL);
    c.buf_size = 512;
    c.frame_body = 100; /* smaller than a buffer: a message could never go */
    assert_int_equal(rpmsg_port_init(&port, &c), -EINVAL);
    c.link = RPMSG_PORT_SPI_MASTER;
    c.frame_body = 0;
    assert_int_equal(rpmsg_port_init(&port, &c), -EINVAL); /* SPI role without SPI ops */
    assert_null(port);
    struct rpmsg_tty *t = NULL;
    struct rpmsg_tty_config tc = { .path = "/nonexistent/tty", .fd = -1 };
    assert_true(rpmsg_tty_open(&t, &tc) < 0);
    struct rpmsg_spidev *sd = NULL;
    struct rpmsg_spidev_config sc = { .spidev = "/dev/spidev-none", .gpiochip = "gpiochip-none" };
    assert_true(rpmsg_spidev_open(&sd, &sc) < 0);
    assert_null(sd);
}

/* ---- Two processes ------------------------------------------------------------ */

static pid_t child_pid;

static void kill_child(void)
{
    if (child_pid > 0) {
        kill(child_pid, SIGKILL);
        waitpid(child_pid, NULL, 0);
        child_pid = 0;
    }
}

/*
 * The slave's echo. Not sent from the callback: a blocking send on the RX
 * thread that finds no buffer for a while dispatches the next messages
 * nested (see rpmsg_dev_wait), so their echoes could overtake this one.
 * The callback holds the buffer and a thread sends the echoes in order.
 */
#define ECHO_Q 256u /* more than the port's RX buffers: never full */

struct echo_item {
    void *data;
    size_t len;
    uint32_t src;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct echo_item q[ECHO_Q];
    unsigned head, count;
    struct rpmsg_endpoint *ept;
} echo = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    if (rpmsg_hold_rx_buffer(ept, data) != 0)
        return 0;
    pthread_mutex_lock(&echo.lock);
    if (echo.count < ECHO_Q) {
        echo.q[(echo.head + echo.count++) % ECHO_Q] = (struct echo_item){ data, len, src };
        pthread_cond_signal(&echo.cond);
        data = NULL;
    }
    pthread_mutex_unlock(&echo.lock);
    if (data)
        rpmsg_release_rx_buffer(ept, data);
    return 0;
}

static void *echo_run(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&echo.lock);
        while (!echo.count)
            pthread_cond_wait(&echo.cond, &echo.lock);
        struct echo_item it = echo.q[echo.head];
        echo.head = (echo.head + 1) % ECHO_Q;
        echo.count--;
        pthread_mutex_unlock(&echo.lock);
        while (rpmsg_sendto(echo.ept, it.data, it.len, it.src) == -ETIMEDOUT) {
        }
        rpmsg_release_rx_buffer(echo.ept, it.data);
    }
    return NULL;
}

static void test_spi_two_processes(void **state)
{
    (void)state;
    const uint32_t n = 2000;
    struct rpmsg_spibus *bus;
    struct rpmsg_spibus_config bc = { .clock_hz = 0, .ber = 1e-5, .seed = 5 };
    assert_int_equal(rpmsg_spibus_create(&bus, &bc), 0);
    atexit(kill_child);
    child_pid = fork();
    assert_true(child_pid >= 0);
    if (child_pid == 0) {
        /* The slave chip: echoes whatever it gets, until killed. */
        struct rpmsg_port_config c;
        memset(&c, 0, sizeof(c));
        c.local_cpuname = "slave";
        c.link = RPMSG_PORT_SPI_SLAVE;
        c.spi = &rpmsg_spibus_ops;
        c.link_ctx = rpmsg_spibus_end(bus, false);
        struct rpmsg_port *port;
        if (rpmsg_port_init(&port, &c))
            _exit(1);
        static struct rpmsg_endpoint e;
        echo.ept = &e;
        pthread_t et;
        if (pthread_create(&et, NULL, echo_run, NULL))
            _exit(3);
        if (rpmsg_create_ept(&e, rpmsg_port_device(port), NULL, PH_ADDR_B, RPMSG_ADDR_ANY, echo_cb, NULL))
            _exit(2);
        for (;;)
            pause();
    }
    struct rpmsg_port_config c;
    memset(&c, 0, sizeof(c));
    c.local_cpuname = "master";
    c.link = RPMSG_PORT_SPI_MASTER;
    c.spi = &rpmsg_spibus_ops;
    c.link_ctx = rpmsg_spibus_end(bus, true);
    struct rpmsg_port *port;
    assert_int_equal(rpmsg_port_init(&port, &c), 0);
    struct rpmsg_device *d = rpmsg_port_device(port);
    struct ph_pair fake = { .dev = { d, d } };
    assert_int_equal(ph_wait_up(&fake), 0);
    assert_string_equal(rpmsg_get_cpuname(d), "slave");
    /* The slave creates its endpoint after its link is up: ping it from
     * another endpoint until an echo comes back, so that the stream's
     * first message cannot arrive before the echo endpoint exists. */
    struct tu_rec pings;
    tu_rec_init(&pings);
    struct rpmsg_endpoint pe;
    memset(&pe, 0, sizeof(pe));
    pe.priv = &pings;
    assert_int_equal(rpmsg_create_ept(&pe, d, NULL, 0x700, PH_ADDR_B, tu_rec_cb, NULL), 0);
    bool echoed = false;
    for (int i = 0; i < 500 && !echoed; i++) {
        assert_int_equal(rpmsg_send(&pe, "ping", 4), 4);
        echoed = tu_rec_wait(&pings, 1, 20) == 0;
    }
    assert_true(echoed);
    struct ph_stream rs;
    ph_stream_init(&rs, 300, 9);
    struct rpmsg_endpoint e;
    memset(&e, 0, sizeof(e));
    e.priv = &rs;
    assert_int_equal(rpmsg_create_ept(&e, d, NULL, PH_ADDR_A, PH_ADDR_B, ph_stream_cb, NULL), 0);
    struct ph_sender snd = { .ept = &e, .count = n, .max = 300, .salt = 9 };
    ph_sender_run(&snd);
    assert_int_equal(snd.err, 0);
    assert_int_equal(ph_stream_wait(&rs, n, TU_TIMEOUT_MS), 0);
    assert_int_equal(rs.received, n);
    assert_int_equal(rs.corrupt + rs.misordered + rs.skipped, 0);
    kill_child();
    rpmsg_destroy_ept(&pe);
    tu_rec_deinit(&pings);
    rpmsg_destroy_ept(&e);
    rpmsg_port_deinit(port);
    rpmsg_spibus_destroy(bus);
    ph_stream_deinit(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credit_uart),
        cmocka_unit_test(test_credit_spi),
        cmocka_unit_test(test_packing_uart),
        cmocka_unit_test(test_packing_spi),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_spi_two_processes),
    };
    ph_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
