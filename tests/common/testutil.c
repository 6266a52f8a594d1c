#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os/posix/deadline.h"

/* ---- Failures on other threads ------------------------------------------ */

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned fail_n;
static char fail_text[512];

void tu_fail_record(const char *file, int line, const char *what)
{
    pthread_mutex_lock(&fail_lock);
    if (fail_n++ == 0)
        snprintf(fail_text, sizeof(fail_text), "%s:%d: %s", file, line, what);
    pthread_mutex_unlock(&fail_lock);
}

unsigned tu_fail_count(void)
{
    pthread_mutex_lock(&fail_lock);
    unsigned n = fail_n;
    pthread_mutex_unlock(&fail_lock);
    return n;
}

const char *tu_fail_first(void)
{
    return fail_n ? fail_text : "";
}

void tu_fail_reset(void)
{
    pthread_mutex_lock(&fail_lock);
    fail_n = 0;
    fail_text[0] = '\0';
    pthread_mutex_unlock(&fail_lock);
}

/* ---- Time ------------------------------------------------------------------ */

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

static struct timespec deadline_after(unsigned ms)
{
    return rpmsg_posix_deadline(CLOCK_MONOTONIC, ms);
}

static bool past(const struct timespec *dl)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > dl->tv_sec || (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

/* ---- Events ------------------------------------------------------------------ */

unsigned tu_soak_factor(void)
{
    const char *on = getenv("RPMSG_SOAK");
    if (!on || !*on || !strcmp(on, "0"))
        return 1;
    const char *f = getenv("RPMSG_SOAK_FACTOR");
    long k = f && *f ? strtol(f, NULL, 0) : 10;
    return k >= 1 && k <= 10000 ? (unsigned)k : 10;
}

unsigned tu_soak(unsigned n)
{
    return n * tu_soak_factor();
}

void tu_event_init(struct tu_event *e)
{
    pthread_mutex_init(&e->lock, NULL);
    cond_init_mono(&e->cond);
    e->count = 0;
}

void tu_event_deinit(struct tu_event *e)
{
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
}

void tu_event_post(struct tu_event *e)
{
    pthread_mutex_lock(&e->lock);
    e->count++;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

unsigned long tu_event_count(struct tu_event *e)
{
    pthread_mutex_lock(&e->lock);
    unsigned long n = e->count;
    pthread_mutex_unlock(&e->lock);
    return n;
}

int tu_event_wait(struct tu_event *e, unsigned long target, unsigned timeout_ms)
{
    struct timespec dl = deadline_after(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&e->lock);
    while (e->count < target) {
        if (pthread_cond_timedwait(&e->cond, &e->lock, &dl) == ETIMEDOUT && e->count < target) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int tu_wait_until(bool (*pred)(void *arg), void *arg, unsigned timeout_ms)
{
    struct timespec dl = deadline_after(timeout_ms);
    const struct timespec tick = {0, 1000000L};
    for (;;) {
        if (pred(arg))
            return 0;
        if (past(&dl))
            return pred(arg) ? 0 : -ETIMEDOUT;
        nanosleep(&tick, NULL);
    }
}

bool tu_pred_ept_ready(void *ept)
{
    return rpmsg_is_ept_ready(ept);
}

bool tu_pred_ept_unbound(void *ept)
{
    return !rpmsg_is_ept_ready(ept);
}

/* ---- Threads -------------------------------------------------------------------- */

int tu_thread_start(struct tu_thread *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(&t->id, NULL, fn, arg);
    t->started = rc == 0;
    return -rc;
}

int tu_thread_join(struct tu_thread *t, unsigned timeout_ms)
{
    if (!t->started)
        return 0;
    struct timespec rt = rpmsg_posix_deadline(CLOCK_REALTIME, timeout_ms);
    int rc = pthread_timedjoin_np(t->id, NULL, &rt);
    if (rc == 0)
        t->started = false;
    return -rc;
}

void tu_barrier_init(struct tu_barrier *b, unsigned parties)
{
    pthread_mutex_init(&b->lock, NULL);
    cond_init_mono(&b->cond);
    b->parties = parties;
    b->arrived = 0;
    b->generation = 0;
}

void tu_barrier_deinit(struct tu_barrier *b)
{
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
}

int tu_barrier_wait(struct tu_barrier *b, unsigned timeout_ms)
{
    struct timespec dl = deadline_after(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&b->lock);
    unsigned long gen = b->generation;
    if (++b->arrived == b->parties) {
        b->arrived = 0;
        b->generation++;
        pthread_cond_broadcast(&b->cond);
    } else {
        while (gen == b->generation) {
            if (pthread_cond_timedwait(&b->cond, &b->lock, &dl) == ETIMEDOUT &&
                gen == b->generation) {
                b->arrived--;
                rc = -ETIMEDOUT;
                break;
            }
        }
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

/* ---- Loopback pairs ---------------------------------------------------------------- */

int tu_pair_open(struct tu_pair *p, const struct rpmsg_loopback_config *cfg)
{
    memset(p, 0, sizeof(*p));
    int rc = rpmsg_loopback_create(&p->lb, cfg);
    if (rc < 0) {
        p->lb = NULL;
        return rc;
    }
    p->a = rpmsg_loopback_dev_a(p->lb);
    p->b = rpmsg_loopback_dev_b(p->lb);
    return rc;
}

void tu_pair_close(struct tu_pair *p)
{
    if (p->lb)
        rpmsg_loopback_destroy(p->lb);
    memset(p, 0, sizeof(*p));
}

int tu_poll_idle(struct rpmsg_device *a, struct rpmsg_device *b)
{
    int total = 0;
    for (int round = 0; round < 100000; round++) {
        int ra = rpmsg_poll(a);
        if (ra < 0)
            return ra;
        int rb = rpmsg_poll(b);
        if (rb < 0)
            return rb;
        total += ra + rb;
        if (ra == 0 && rb == 0)
            return total;
    }
    return -EBUSY;
}

struct rpmsg_stats tu_stats(struct rpmsg_device *d)
{
    struct rpmsg_stats st;
    memset(&st, 0xA5, sizeof(st));
    if (rpmsg_get_stats(d, &st) < 0)
        tu_fail_record(__FILE__, __LINE__, "rpmsg_get_stats failed");
    return st;
}

struct free_wait {
    struct rpmsg_loopback *lb;
    struct rpmsg_device *d;
    uint32_t n;
};

static bool free_reached(void *arg)
{
    struct free_wait *w = arg;
    return rpmsg_loopback_free_tx(w->lb, w->d) == w->n;
}

int tu_wait_until_free_tx(struct rpmsg_loopback *lb, struct rpmsg_device *d, uint32_t n,
                          unsigned timeout_ms)
{
    struct free_wait w = {lb, d, n};
    return tu_wait_until(free_reached, &w, timeout_ms);
}

struct sleep_wait {
    struct rpmsg_device *d;
    unsigned n;
};

static bool sleepers_reached(void *arg)
{
    struct sleep_wait *w = arg;
    /* The core counts waiters under the device lock. */
    rpmsg_mutex_lock(&w->d->lock);
    bool reached = w->d->waiters >= w->n;
    rpmsg_mutex_unlock(&w->d->lock);
    return reached;
}

int tu_wait_sleepers(struct rpmsg_device *d, unsigned n, unsigned timeout_ms)
{
    struct sleep_wait w = {d, n};
    return tu_wait_until(sleepers_reached, &w, timeout_ms);
}

uint64_t tu_stat(struct rpmsg_device *d, size_t field)
{
    struct rpmsg_stats st = tu_stats(d);
    uint64_t v;
    memcpy(&v, (const char *)&st + field, sizeof(v));
    return v;
}

struct stat_wait {
    struct rpmsg_device *d;
    size_t field;
    uint64_t value;
};

static bool stat_reached(void *arg)
{
    struct stat_wait *w = arg;
    return tu_stat(w->d, w->field) >= w->value;
}

int tu_wait_stat(struct rpmsg_device *d, size_t field, uint64_t value, unsigned timeout_ms)
{
    struct stat_wait w = {d, field, value};
    return tu_wait_until(stat_reached, &w, timeout_ms);
}

/* ---- Endpoints ------------------------------------------------------------------------- */

int tu_ept_create(struct rpmsg_endpoint *ept, struct rpmsg_device *rdev, const char *name,
                  uint32_t src, uint32_t dst, rpmsg_ept_cb cb, rpmsg_ns_unbind_cb unbind,
                  void *priv)
{
    /* Never wipe a live endpoint: let the core see it and refuse (-EBUSY).
     * ept may be uninitialised: its flags alone are looked at. */
    if (!(ept->flags & RPMSG_EPT_F_REGISTERED))
        memset(ept, 0, sizeof(*ept));
    ept->priv = priv;
    return rpmsg_create_ept(ept, rdev, name, src, dst, cb, unbind);
}

/* Flags of an endpoint on a live device, read under its lock (the RX thread
 * changes them); 0 for one never created or whose device is gone. */
static uint16_t ept_flags(const struct rpmsg_endpoint *ept)
{
    struct rpmsg_device *d = ept->rdev;
    if (!d || !d->ops)
        return ept->flags;
    rpmsg_mutex_lock(&d->lock);
    uint16_t flags = ept->flags;
    rpmsg_mutex_unlock(&d->lock);
    return flags;
}

bool tu_ept_registered(const struct rpmsg_endpoint *ept)
{
    return (ept_flags(ept) & RPMSG_EPT_F_REGISTERED) != 0;
}

void tu_ept_cleanup(struct rpmsg_endpoint *ept)
{
    uint16_t flags = ept_flags(ept);
    if ((flags & RPMSG_EPT_F_REGISTERED) && !(flags & RPMSG_EPT_F_DESTROYING))
        rpmsg_destroy_ept(ept);
}

/* ---- Recorder ---------------------------------------------------------------------------- */

void tu_rec_init(struct tu_rec *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    cond_init_mono(&r->cond);
    r->msgs = calloc(TU_REC_KEEP, sizeof(*r->msgs));
}

void tu_rec_deinit(struct tu_rec *r)
{
    free(r->msgs);
    r->msgs = NULL;
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
}

int tu_rec_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct tu_rec *r = priv;
    TU_CHECK(r != NULL);
    TU_CHECK(ept != NULL);
    TU_CHECK(len <= RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE);
    if (!r)
        return 0;
    if (__atomic_exchange_n(&r->in_cb, true, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&r->overlaps, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&r->lock);
    if (r->count < TU_REC_KEEP && r->msgs) {
        struct tu_msg *m = &r->msgs[r->count];
        m->src = src;
        m->len = (uint32_t)len;
        m->ptr = data;
        if (len <= sizeof(m->data))
            memcpy(m->data, data, len);
    }
    r->count++;
    r->bytes += len;
    r->last_thread = pthread_self();
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    __atomic_store_n(&r->in_cb, false, __ATOMIC_SEQ_CST);
    return 0;
}

void tu_rec_unbind_cb(struct rpmsg_endpoint *ept)
{
    struct tu_rec *r = ept->priv;
    TU_CHECK(r != NULL);
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->unbinds++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

unsigned tu_rec_count(struct tu_rec *r)
{
    pthread_mutex_lock(&r->lock);
    unsigned n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

unsigned tu_rec_unbinds(struct tu_rec *r)
{
    pthread_mutex_lock(&r->lock);
    unsigned n = r->unbinds;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static int rec_wait_field(struct tu_rec *r, const unsigned *field, unsigned n, unsigned timeout_ms)
{
    struct timespec dl = deadline_after(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    while (*field < n) {
        if (pthread_cond_timedwait(&r->cond, &r->lock, &dl) == ETIMEDOUT && *field < n) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int tu_rec_wait(struct tu_rec *r, unsigned n, unsigned timeout_ms)
{
    return rec_wait_field(r, &r->count, n, timeout_ms);
}

int tu_rec_wait_unbinds(struct tu_rec *r, unsigned n, unsigned timeout_ms)
{
    return rec_wait_field(r, &r->unbinds, n, timeout_ms);
}

void tu_gate_init(struct tu_gate *g)
{
    tu_rec_init(&g->rec);
    tu_event_init(&g->entered);
    tu_event_init(&g->open);
}

void tu_gate_deinit(struct tu_gate *g)
{
    tu_event_deinit(&g->open);
    tu_event_deinit(&g->entered);
    tu_rec_deinit(&g->rec);
}

int tu_gate_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct tu_gate *g = priv;
    tu_rec_cb(ept, data, len, src, &g->rec);
    tu_event_post(&g->entered);
    TU_CHECK(tu_event_wait(&g->open, 1, TU_TIMEOUT_MS) == 0);
    return 0;
}

void tu_gate_open(struct tu_gate *g)
{
    if (tu_event_count(&g->open) == 0)
        tu_event_post(&g->open);
}

/* ---- Raw wire messages --------------------------------------------------------------------- */

void tu_put_le32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

uint32_t tu_get_le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le16(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

uint32_t tu_build_msg(void *buf, uint32_t src, uint32_t dst, uint16_t len, uint16_t flags,
                      const void *payload, uint32_t plen)
{
    uint8_t *b = buf;
    tu_put_le32(b, src);
    tu_put_le32(b + 4, dst);
    tu_put_le32(b + 8, 0);
    put_le16(b + 12, len);
    put_le16(b + 14, flags);
    if (plen && payload)
        memcpy(b + RPMSG_HDR_SIZE, payload, plen);
    return RPMSG_HDR_SIZE + plen;
}

uint32_t tu_build_ns(void *buf, uint32_t src, const char *name, bool raw_name, uint32_t addr,
                     uint32_t flags)
{
    uint8_t body[RPMSG_NAME_SIZE + 8];
    memset(body, 0, sizeof(body));
    if (raw_name)
        memcpy(body, name, RPMSG_NAME_SIZE);
    else
        strncpy((char *)body, name, RPMSG_NAME_SIZE - 1);
    tu_put_le32(body + RPMSG_NAME_SIZE, addr);
    tu_put_le32(body + RPMSG_NAME_SIZE + 4, flags);
    return tu_build_msg(buf, src, RPMSG_NS_ADDR, sizeof(body), 0, body, sizeof(body));
}

int tu_op_release_tx_none(struct rpmsg_device *rdev, void *buf)
{
    (void)rdev, (void)buf;
    return 0;
}

void tu_op_release_rx_none(struct rpmsg_device *rdev, void *buf)
{
    (void)rdev, (void)buf;
}

int tu_op_poll_none(struct rpmsg_device *rdev)
{
    (void)rdev;
    return 0;
}

int tu_op_wait_none(struct rpmsg_device *rdev, uint64_t deadline)
{
    (void)rdev, (void)deadline;
    return -ETIMEDOUT;
}

void tu_op_wakeup_none(struct rpmsg_device *rdev)
{
    (void)rdev;
}
