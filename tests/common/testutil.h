/*
 * Helpers shared by the core test suite: loopback pairs, events with a safety
 * timeout, a message recorder callback, raw message builders for injection,
 * and a way to report failures seen on other threads (cmocka's assertions
 * longjmp and must only run on the test's own thread).
 */
#ifndef RPMSG_TESTUTIL_H
#define RPMSG_TESTUTIL_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_loopback.h"
#include "rpmsg/rpmsg_transport.h"

/* Safety bound of every wait in a test: reaching it is a failure, not a step. */
#define TU_TIMEOUT_MS 10000u

/* ---- Failures on other threads ------------------------------------------ */

void tu_fail_record(const char *file, int line, const char *what);
/* Number of failures recorded since the last reset. */
unsigned tu_fail_count(void);
/* First recorded failure as text ("" if none). */
const char *tu_fail_first(void);
void tu_fail_reset(void);

#define TU_CHECK(c)                                                                \
    do {                                                                           \
        if (!(c))                                                                  \
            tu_fail_record(__FILE__, __LINE__, #c);                                \
    } while (0)

/* On the test thread: fails the test if a callback or helper thread recorded one. */
#define TU_ASSERT_NO_THREAD_FAILURES()                                             \
    do {                                                                           \
        if (tu_fail_count() != 0) {                                                \
            print_error("thread failure: %s\n", tu_fail_first());                  \
            tu_fail_reset();                                                       \
            fail();                                                                \
        }                                                                          \
    } while (0)

/* ---- Soak ------------------------------------------------------------------
 * `make soak` runs the tests labelled soak in CTest: the same tests as
 * `make test`, with RPMSG_SOAK=1 set, which multiplies their message counts
 * and rounds (and the bounds of their waits) by RPMSG_SOAK_FACTOR (default 10).
 */
unsigned tu_soak_factor(void);
/* n, times the soak factor in a soak run. */
unsigned tu_soak(unsigned n);

/* ---- Events ----------------------------------------------------------------
 * A counter with a condition variable: posted from callbacks, waited for by
 * the test until it reaches a target.
 */
struct tu_event {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned long count;
};

void tu_event_init(struct tu_event *e);
void tu_event_deinit(struct tu_event *e);
void tu_event_post(struct tu_event *e);
unsigned long tu_event_count(struct tu_event *e);
/* Waits until count >= target. 0 or -ETIMEDOUT. */
int tu_event_wait(struct tu_event *e, unsigned long target, unsigned timeout_ms);

/*
 * Checks pred(arg) every millisecond until it holds. For state that has no
 * callback of its own (an endpoint becoming bound by CREATE_ACK, a counter);
 * it never stands in for an event. 0 or -ETIMEDOUT.
 */
int tu_wait_until(bool (*pred)(void *arg), void *arg, unsigned timeout_ms);
/* Common predicates: arg is a struct rpmsg_endpoint *. */
bool tu_pred_ept_ready(void *ept);
bool tu_pred_ept_unbound(void *ept);

/* ---- Threads ------------------------------------------------------------- */

struct tu_thread {
    pthread_t id;
    bool started;
};

int tu_thread_start(struct tu_thread *t, void *(*fn)(void *), void *arg);
/* Joins within timeout_ms; 0, or -ETIMEDOUT (the thread is left running). */
int tu_thread_join(struct tu_thread *t, unsigned timeout_ms);

/* Two-party rendezvous with a deadline (pthread barriers have none). */
struct tu_barrier {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned parties, arrived;
    unsigned long generation;
};
void tu_barrier_init(struct tu_barrier *b, unsigned parties);
void tu_barrier_deinit(struct tu_barrier *b);
int tu_barrier_wait(struct tu_barrier *b, unsigned timeout_ms);

/* ---- Loopback pairs -------------------------------------------------------- */

struct tu_pair {
    struct rpmsg_loopback *lb;
    struct rpmsg_device *a, *b;
};

/* cfg may be NULL (defaults). Returns the rpmsg_loopback_create() result. */
int tu_pair_open(struct tu_pair *p, const struct rpmsg_loopback_config *cfg);
void tu_pair_close(struct tu_pair *p);

/*
 * For devices driven by rpmsg_poll(): polls both until neither has work.
 * Returns the messages handled in total, or a negative errno.
 */
int tu_poll_idle(struct rpmsg_device *a, struct rpmsg_device *b);

struct rpmsg_stats tu_stats(struct rpmsg_device *d);
/*
 * Waits until at least n threads sleep in d's wait (rdev->waiters, private to
 * the core but the only sign that a blocking call is really blocked).
 */
int tu_wait_sleepers(struct rpmsg_device *d, unsigned n, unsigned timeout_ms);
/* Waits until rpmsg_loopback_free_tx(lb, d) == n. 0 or -ETIMEDOUT. */
int tu_wait_until_free_tx(struct rpmsg_loopback *lb, struct rpmsg_device *d, uint32_t n,
                          unsigned timeout_ms);
/*
 * Waits until the uint64_t counter at byte offset 'field' of d's stats is at
 * least value, e.g. TU_STAT(drop_unknown_dst). 0 or -ETIMEDOUT.
 */
int tu_wait_stat(struct rpmsg_device *d, size_t field, uint64_t value, unsigned timeout_ms);
uint64_t tu_stat(struct rpmsg_device *d, size_t field);
#define TU_STAT(name) offsetof(struct rpmsg_stats, name)

/* ---- Endpoints --------------------------------------------------------------- */

/* Zeroes ept (unless registered), sets priv, creates it. Returns rpmsg_create_ept()'s result. */
int tu_ept_create(struct rpmsg_endpoint *ept, struct rpmsg_device *rdev, const char *name,
                  uint32_t src, uint32_t dst, rpmsg_ept_cb cb, rpmsg_ns_unbind_cb unbind,
                  void *priv);
bool tu_ept_registered(const struct rpmsg_endpoint *ept);
/* Teardown helper: destroys ept only if it is still registered. */
void tu_ept_cleanup(struct rpmsg_endpoint *ept);

/* ---- Recorder: a callback that keeps what it received -------------------- */

#define TU_REC_KEEP 256 /* messages kept in full; later ones are only counted */

struct tu_msg {
    uint32_t src;
    uint32_t len;
    void *ptr; /* the data pointer the callback was given */
    uint8_t data[RPMSG_BUFFER_SIZE];
};

struct tu_rec {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned count;
    uint64_t bytes;
    unsigned unbinds;
    bool in_cb;      /* a callback is running: must never overlap */
    unsigned overlaps;
    pthread_t last_thread;
    struct tu_msg *msgs;
};

void tu_rec_init(struct tu_rec *r);
void tu_rec_deinit(struct tu_rec *r);
/* priv must be the struct tu_rec. */
int tu_rec_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv);
/* ept->priv must be the struct tu_rec. */
void tu_rec_unbind_cb(struct rpmsg_endpoint *ept);
unsigned tu_rec_count(struct tu_rec *r);
unsigned tu_rec_unbinds(struct tu_rec *r);
/* Waits until at least n messages were recorded. 0 or -ETIMEDOUT. */
int tu_rec_wait(struct tu_rec *r, unsigned n, unsigned timeout_ms);
int tu_rec_wait_unbinds(struct tu_rec *r, unsigned n, unsigned timeout_ms);

/*
 * Gate: a callback that records the message, then blocks its RX thread until
 * the test opens the gate. Keeps buffers in flight to exhaust a pool.
 */
struct tu_gate {
    struct tu_rec rec;
    struct tu_event entered; /* posted each time the callback starts */
    struct tu_event open;    /* >= 1: callbacks pass */
};

void tu_gate_init(struct tu_gate *g);
void tu_gate_deinit(struct tu_gate *g);
/* priv must be the struct tu_gate. */
int tu_gate_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv);
void tu_gate_open(struct tu_gate *g);

/* ---- Raw wire messages (little-endian), for rpmsg_loopback_inject ---------- */

/* Writes a header and payload into buf; returns RPMSG_HDR_SIZE + plen. */
uint32_t tu_build_msg(void *buf, uint32_t src, uint32_t dst, uint16_t len, uint16_t flags,
                      const void *payload, uint32_t plen);
/*
 * Writes a complete NS message (header to 0x35 and the 40-byte body); name is
 * copied as 32 raw bytes when raw_name is true (no NUL added), else as a C
 * string NUL-padded. Returns the total length.
 */
uint32_t tu_build_ns(void *buf, uint32_t src, const char *name, bool raw_name, uint32_t addr,
                     uint32_t flags);

void tu_put_le32(void *p, uint32_t v);
uint32_t tu_get_le32(const void *p);

/* Transport ops for a stub that never receives and where nobody waits
 * (no RX thread): release nothing, poll nothing, wait not at all. */
int tu_op_release_tx_none(struct rpmsg_device *rdev, void *buf);
void tu_op_release_rx_none(struct rpmsg_device *rdev, void *buf);
int tu_op_poll_none(struct rpmsg_device *rdev);
int tu_op_wait_none(struct rpmsg_device *rdev, uint64_t deadline);
void tu_op_wakeup_none(struct rpmsg_device *rdev);

#endif
