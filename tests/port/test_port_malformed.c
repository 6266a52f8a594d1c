/*
 * Malformed frames injected on the line in front of side B: each one is
 * dropped, moves exactly the counter it should, delivers nothing, and the
 * link keeps working afterwards.
 */
#include "port_harness.h"
#include "transport/port/port_internal.h"

struct fx {
    struct ph_pair p;
    struct rpmsg_endpoint ept[2];
    struct ph_stream rs[2];
    uint8_t tag, peer_tag;
    uint16_t rcv_next;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    /* One session for the whole case: the frames below carry the tags and
     * sequence read here, and a session a loaded machine let time out
     * (the 1 s default) would lose the stream's messages in flight. */
    struct ph_opts o = { .kind = PH_UART, .peer_timeout_ms = 60000 };
    if (ph_open(&f->p, &o) || ph_wait_up(&f->p))
        return -1;
    ph_stream_init(&f->rs[0], 100, 1);
    ph_stream_init(&f->rs[1], 100, 2);
    f->ept[0].priv = &f->rs[0];
    f->ept[1].priv = &f->rs[1];
    if (rpmsg_create_ept(&f->ept[0], f->p.dev[0], NULL, PH_ADDR_A, PH_ADDR_B, ph_stream_cb, NULL) ||
        rpmsg_create_ept(&f->ept[1], f->p.dev[1], NULL, PH_ADDR_B, PH_ADDR_A, ph_stream_cb, NULL))
        return -1;
    struct rpmsg_port *b = f->p.port[1];
    rpmsg_mutex_lock(&b->lock);
    f->tag = b->tag;
    f->peer_tag = b->peer_tag;
    f->rcv_next = b->rcv_next;
    rpmsg_mutex_unlock(&b->lock);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rpmsg_destroy_ept(&f->ept[0]);
    rpmsg_destroy_ept(&f->ept[1]);
    ph_close(&f->p);
    ph_stream_deinit(&f->rs[0]);
    ph_stream_deinit(&f->rs[1]);
    free(f);
    return 0;
}

/* Header for B, as A would send it. */
static struct port_hdr hdr_to_b(struct fx *f, uint8_t type, uint16_t len)
{
    struct port_hdr h = { .type = type, .stag = f->peer_tag, .rtag = f->tag,
                          .seq = f->rcv_next, .ack = 0, .limit = 0, .len = len };
    return h;
}

/* One rpmsg message of plen payload bytes at out; returns its length. */
static uint32_t msg(uint8_t *out, uint16_t plen)
{
    memset(out, 0, RPMSG_HDR_SIZE);
    rpmsg_put32(out, PH_ADDR_A);
    rpmsg_put32(out + 4, PH_ADDR_B);
    rpmsg_put16(out + 12, plen);
    memset(out + RPMSG_HDR_SIZE, 0xA5, plen);
    return RPMSG_HDR_SIZE + plen;
}

/* COBS-encodes frame[0..len) with a delimiter and puts it on the line to B. */
static void send_raw(struct fx *f, const uint8_t *frame, size_t len)
{
    uint8_t enc[8192];
    size_t m = rpmsg_port_cobs_encode(frame, len, enc);
    enc[m++] = 0;
    assert_int_equal(rpmsg_line_inject(f->p.line, true, enc, m), 0);
}

static size_t seal(uint8_t *frame, const struct port_hdr *h, size_t body_len)
{
    rpmsg_port_hdr_put(frame, h);
    return rpmsg_port_seal(frame, body_len);
}

#define NCOUNT 10
static const size_t counters[NCOUNT] = {
    offsetof(struct rpmsg_port_stats, crc_errors),  offsetof(struct rpmsg_port_stats, resyncs),
    offsetof(struct rpmsg_port_stats, bad_length),  offsetof(struct rpmsg_port_stats, truncated),
    offsetof(struct rpmsg_port_stats, oversized),   offsetof(struct rpmsg_port_stats, unknown_cmd),
    offsetof(struct rpmsg_port_stats, duplicates),  offsetof(struct rpmsg_port_stats, out_of_window),
    offsetof(struct rpmsg_port_stats, stale),       offsetof(struct rpmsg_port_stats, rx_msgs),
};

static uint64_t field(const struct rpmsg_port_stats *s, size_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)s + off, sizeof(v));
    return v;
}

struct wait_arg {
    struct rpmsg_device *d;
    size_t off;
    uint64_t target;
};

static bool reached(void *arg)
{
    struct wait_arg *w = arg;
    struct rpmsg_port_stats s = ph_stats(w->d);
    return field(&s, w->off) >= w->target;
}

/* Injects and checks that counter a (and b, if not SIZE_MAX) moved by one, nothing else. */
static void expect(struct fx *f, const uint8_t *frame, size_t len, bool encode, size_t a, size_t b)
{
    struct rpmsg_port_stats before = ph_stats(f->p.dev[1]);
    if (encode)
        send_raw(f, frame, len);
    else
        assert_int_equal(rpmsg_line_inject(f->p.line, true, frame, len), 0);
    struct wait_arg w = { f->p.dev[1], a, field(&before, a) + 1 };
    assert_int_equal(tu_wait_until(reached, &w, TU_TIMEOUT_MS), 0);
    usleep(20 * 1000); /* anything else it would wrongly do is done by now */
    struct rpmsg_port_stats after = ph_stats(f->p.dev[1]);
    for (int i = 0; i < NCOUNT; i++) {
        uint64_t d = field(&after, counters[i]) - field(&before, counters[i]);
        uint64_t want = counters[i] == a || counters[i] == b ? 1 : 0;
        if (d != want)
            print_error("counter at offset %zu moved by %llu\n", counters[i], (unsigned long long)d);
        assert_int_equal(d, want);
    }
    assert_int_equal(f->rs[1].received, 0);
}

#define OFF(x) offsetof(struct rpmsg_port_stats, x)

static void test_bad_crc(void **state)
{
    struct fx *f = *state;
    uint8_t fr[1200];
    struct port_hdr h = hdr_to_b(f, PORT_T_DATA, 0);
    h.len = (uint16_t)msg(fr + PORT_HDR_SIZE, 20);
    size_t n = seal(fr, &h, h.len);
    fr[n - 1] ^= 0x40;
    expect(f, fr, n, true, OFF(crc_errors), SIZE_MAX);
    /* Damage in the body rather than the CRC: same outcome. */
    n = seal(fr, &h, h.len);
    fr[PORT_HDR_SIZE + 20] ^= 1;
    expect(f, fr, n, true, OFF(crc_errors), SIZE_MAX);
}

static void test_wrong_length(void **state)
{
    struct fx *f = *state;
    uint8_t fr[1200];
    struct port_hdr h = hdr_to_b(f, PORT_T_DATA, 0);
    uint32_t body = msg(fr + PORT_HDR_SIZE, 20);
    h.len = (uint16_t)(body + 5); /* says more than the frame holds; CRC is right */
    expect(f, fr, seal(fr, &h, body), true, OFF(bad_length), SIZE_MAX);
    /* An ACK must not carry a body. */
    h = hdr_to_b(f, PORT_T_ACK, 4);
    memset(fr + PORT_HDR_SIZE, 1, 4);
    expect(f, fr, seal(fr, &h, 4), true, OFF(bad_length), SIZE_MAX);
}

static void test_unknown_command(void **state)
{
    struct fx *f = *state;
    uint8_t fr[64];
    struct port_hdr h = hdr_to_b(f, 9, 0);
    expect(f, fr, seal(fr, &h, 0), true, OFF(unknown_cmd), SIZE_MAX);
    /* A protocol version from the future. */
    h = hdr_to_b(f, PORT_T_ACK, 0);
    size_t n = seal(fr, &h, 0);
    fr[0] = (uint8_t)(2u << 4 | PORT_T_ACK);
    rpmsg_put32(fr + n - 4, rpmsg_port_crc32c(0, fr, n - 4));
    expect(f, fr, n, true, OFF(unknown_cmd), SIZE_MAX);
}

static void test_truncated(void **state)
{
    struct fx *f = *state;
    uint8_t fr[1200];
    /* Shorter than a header and CRC. */
    memset(fr, 0x31, 12);
    expect(f, fr, 12, true, OFF(truncated), SIZE_MAX);
    /* A message whose own header promises more than the frame carries. */
    struct port_hdr h = hdr_to_b(f, PORT_T_DATA, 0);
    msg(fr + PORT_HDR_SIZE, 100);
    h.len = 40;
    expect(f, fr, seal(fr, &h, 40), true, OFF(truncated), SIZE_MAX);
    /* Less than a message header left at the end. */
    h.len = (uint16_t)(msg(fr + PORT_HDR_SIZE, 10) + 6);
    expect(f, fr, seal(fr, &h, h.len), true, OFF(truncated), SIZE_MAX);
}

static void test_oversized(void **state)
{
    struct fx *f = *state;
    uint8_t fr[4096];
    /* A message larger than the buffers agreed at connect. */
    struct port_hdr h = hdr_to_b(f, PORT_T_DATA, 0);
    h.len = (uint16_t)msg(fr + PORT_HDR_SIZE, RPMSG_BUFFER_SIZE); /* 16 bytes too many */
    expect(f, fr, seal(fr, &h, h.len), true, OFF(oversized), SIZE_MAX);
    /* A frame longer than any frame may be: no delimiter in time. */
    memset(fr, 0x55, 3000);
    fr[3000] = 0;
    expect(f, fr, 3001, false, OFF(oversized), OFF(resyncs));
    /* Bytes that are not COBS at all (a code past the end). */
    uint8_t bad[3] = { 0x09, 0x01, 0x00 };
    expect(f, bad, 3, false, OFF(crc_errors), OFF(resyncs));
}

static void test_stale_session(void **state)
{
    struct fx *f = *state;
    uint8_t fr[1200];
    struct port_hdr h = hdr_to_b(f, PORT_T_DATA, 0);
    h.rtag ^= 0x5A; /* addressed to an earlier life of B */
    h.len = (uint16_t)msg(fr + PORT_HDR_SIZE, 20);
    expect(f, fr, seal(fr, &h, h.len), true, OFF(stale), SIZE_MAX);
}

/* After all of it, real traffic still flows both ways, intact. */
static void test_still_works(void **state)
{
    struct fx *f = *state;
    test_bad_crc(state);
    test_truncated(state);
    test_oversized(state);
    struct ph_sender snd[2] = {
        { .ept = &f->ept[0], .count = 500, .max = 100, .salt = 2 },
        { .ept = &f->ept[1], .count = 500, .max = 100, .salt = 1 },
    };
    for (int i = 0; i < 2; i++) {
        ph_sender_run(&snd[i]);
        assert_int_equal(snd[i].err, 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ph_stream_wait(&f->rs[i], 500, TU_TIMEOUT_MS), 0);
        assert_int_equal(f->rs[i].received, 500);
        assert_int_equal(f->rs[i].corrupt + f->rs[i].misordered + f->rs[i].skipped, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_crc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_still_works, setup, teardown),
    };
    ph_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
