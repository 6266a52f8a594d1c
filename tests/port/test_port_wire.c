/*
 * The port transport's wire pieces on their own: CRC-32C, COBS (round trip,
 * overhead, rejection of bad input), header and hello codecs, and the fault
 * injector's rates.
 */
#include "port_harness.h"
#include "platform/linux/line_fault.h"

static void test_crc32c(void **state)
{
    (void)state;
    /* The standard check value of CRC-32C. */
    assert_int_equal(rpmsg_port_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rpmsg_port_crc32c(0, "", 0), 0);
    /* Incremental equals one shot, at every split. */
    uint8_t buf[300];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    uint32_t whole = rpmsg_port_crc32c(0, buf, sizeof(buf));
    for (unsigned k = 0; k <= sizeof(buf); k += 37)
        assert_int_equal(rpmsg_port_crc32c(rpmsg_port_crc32c(0, buf, k), buf + k, sizeof(buf) - k), whole);
    /* Any single bit flip is caught. */
    for (unsigned bit = 0; bit < sizeof(buf) * 8; bit += 13) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(rpmsg_port_crc32c(0, buf, sizeof(buf)) != whole);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

static void roundtrip(const uint8_t *in, size_t n)
{
    uint8_t enc[4096], dec[4096];
    size_t m = rpmsg_port_cobs_encode(in, n, enc);
    assert_true(m <= port_cobs_max(n));
    assert_null(memchr(enc, 0, m)); /* the delimiter never appears inside */
    long d = rpmsg_port_cobs_decode(enc, m, dec, sizeof(dec));
    assert_int_equal(d, (long)n);
    assert_memory_equal(dec, in, n);
}

static void test_cobs_roundtrip(void **state)
{
    (void)state;
    uint8_t in[3000] = { 0 };
    uint32_t x = 1;
    for (size_t n = 0; n < 1200; n += (n < 300 ? 1 : 17)) {
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            in[i] = (uint8_t)(x >> 16);
        }
        roundtrip(in, n);
        memset(in, 0, n); /* all zeros */
        roundtrip(in, n);
        memset(in, 0xAB, n); /* no zeros: 254-byte blocks */
        roundtrip(in, n);
    }
    memset(in, 0x11, 254);
    roundtrip(in, 254);
    roundtrip(in, 255);
    roundtrip(in, 508);
}

static void test_cobs_overhead(void **state)
{
    (void)state;
    /* Random 512-byte payloads: under 1% with the delimiter. */
    uint8_t in[512], enc[1024];
    uint32_t x = 99;
    size_t total_in = 0, total_out = 0;
    for (int k = 0; k < 200; k++) {
        for (size_t i = 0; i < sizeof(in); i++) {
            x = x * 1103515245u + 12345u;
            in[i] = (uint8_t)(x >> 16);
        }
        total_in += sizeof(in);
        total_out += rpmsg_port_cobs_encode(in, sizeof(in), enc) + 1;
    }
    double overhead = (double)(total_out - total_in) / (double)total_in;
    printf("COBS overhead on random 512-byte frames: %.3f%%\n", overhead * 100);
    assert_true(overhead < 0.01);
}

static void test_cobs_rejects(void **state)
{
    (void)state;
    uint8_t out[16];
    const uint8_t past_end[] = { 0x05, 0x11, 0x22 };
    assert_int_equal(rpmsg_port_cobs_decode(past_end, sizeof(past_end), out, sizeof(out)), -1);
    const uint8_t zero_code[] = { 0x02, 0x11, 0x00, 0x01 };
    assert_int_equal(rpmsg_port_cobs_decode(zero_code, sizeof(zero_code), out, sizeof(out)), -1);
    const uint8_t too_long[] = { 0x03, 0x11, 0x22, 0x03, 0x33, 0x44 };
    assert_int_equal(rpmsg_port_cobs_decode(too_long, sizeof(too_long), out, 3), -1);
    assert_int_equal(rpmsg_port_cobs_decode(too_long, sizeof(too_long), out, 5), 5);
}

static void test_codecs(void **state)
{
    (void)state;
    struct port_hdr h = { .type = PORT_T_DATA, .flags = PORT_F_POLL, .stag = 0x12, .rtag = 0x34,
                          .seq = 0xFFFE, .ack = 0x1234, .limit = 0x2345, .len = 77, .sack = 0x80000001u };
    uint8_t raw[PORT_HDR_SIZE];
    rpmsg_port_hdr_put(raw, &h);
    assert_int_equal(raw[0], PORT_VERSION << 4 | PORT_T_DATA);
    assert_int_equal(raw[4], 0xFE); /* little-endian */
    struct port_hdr g;
    rpmsg_port_hdr_get(&g, raw);
    assert_int_equal(g.type & 0x0F, h.type);
    assert_int_equal(g.seq, h.seq);
    assert_int_equal(g.ack, h.ack);
    assert_int_equal(g.limit, h.limit);
    assert_int_equal(g.len, h.len);
    assert_int_equal(g.sack, h.sack);
    assert_int_equal(g.stag, h.stag);
    assert_int_equal(g.rtag, h.rtag);

    struct port_hello m = { .version = 1, .nonce = 0xDEADBEEF, .peer_nonce = 7, .features = 3,
                            .rx_buf_size = 512, .rx_bufs = 32 };
    memset(m.cpuname, 'x', sizeof(m.cpuname)); /* unterminated on the wire */
    uint8_t hb[PORT_HELLO_SIZE];
    rpmsg_port_hello_put(hb, &m);
    struct port_hello n;
    rpmsg_port_hello_get(&n, hb);
    assert_int_equal(n.nonce, m.nonce);
    assert_int_equal(n.rx_buf_size, 512);
    assert_int_equal(n.rx_bufs, 32);
    assert_int_equal(strlen(n.cpuname), RPMSG_CPUNAME_SIZE - 1);

    /* Sequence arithmetic wraps. */
    assert_int_equal(port_seq_diff(2, 0xFFFE), 4);
    assert_int_equal(port_seq_diff(0xFFFE, 2), -4);
}

static void test_fault_rates(void **state)
{
    (void)state;
    struct line_fault f;
    line_fault_init(&f, 42, 1e-3, 1e-3);
    uint64_t kept = 0;
    const uint64_t n = 2000000;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t b = 0;
        if (line_fault_byte(&f, &b))
            kept++;
    }
    /* 16000 flips and 2000 drops expected; loose bounds, fixed seed. */
    assert_true(f.flipped > 14000 && f.flipped < 18000);
    assert_true(f.dropped > 1700 && f.dropped < 2300);
    assert_int_equal(kept + f.dropped, n);
    line_fault_init(&f, 42, 0, 0);
    for (int i = 0; i < 100000; i++) {
        uint8_t b = 0x5A;
        assert_true(line_fault_byte(&f, &b));
        assert_int_equal(b, 0x5A);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_cobs_roundtrip),
        cmocka_unit_test(test_cobs_overhead),
        cmocka_unit_test(test_cobs_rejects),
        cmocka_unit_test(test_codecs),
        cmocka_unit_test(test_fault_rates),
    };
    ph_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
