#include "pinger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nuttx_ping.h"
#include "oneway.h"
#include "opt.h"
#include "payload.h"
#include "stop.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill(struct ping *p, uint8_t *buf, uint32_t seq)
{
    if (p->nuttx)
        nx_ping_fill(buf, p->size, p->nuttx, seq);
    else
        payload_fill(buf, p->size, seq);
}

/* 0 and *seq if data answers one of our messages. */
static int check(struct ping *p, const void *data, size_t len, uint32_t *seq)
{
    if (!p->nuttx)
        return len != p->size || payload_check(data, len, seq);
    uint64_t cookie = 0;
    int r = nx_ping_check_ack(data, len, p->size, p->nuttx, &cookie);
    *seq = (uint32_t)cookie;
    return r || cookie > UINT32_MAX;
}

static int send_one(struct ping *p)
{
    uint32_t seq = p->next++;
    p->in_flight++;
    p->sent_ns[seq % p->window] = now_ns();
    int r;
    if (p->nocopy) {
        uint32_t cap;
        uint8_t *buf = rpmsg_get_tx_payload_buffer(&p->ept, &cap, RPMSG_WAIT);
        if (!buf)
            return -ENOBUFS;
        fill(p, buf, seq);
        r = rpmsg_send_nocopy(&p->ept, buf, p->size);
        if (r < 0 && rpmsg_nocopy_kept(r))
            rpmsg_release_tx_buffer(&p->ept, buf);
    } else {
        uint8_t buf[RPMSG_BUFFER_SIZE];
        fill(p, buf, seq);
        r = rpmsg_send(&p->ept, buf, p->size);
    }
    if (r < 0)
        p->send_errors++;
    return r;
}

static int ping_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct ping *p = priv;
    uint64_t t = now_ns();
    uint32_t seq = 0;
    if (atomic_load(&p->oneway)) {
        uint32_t got, bad;
        if (oneway_get(data, len, ONEWAY_REPORT, &got, &bad)) {
            atomic_store(&p->ow_got, got);
            atomic_store(&p->ow_bad, bad);
            atomic_store(&p->ow_reported, true);
        } else {
            atomic_store(&p->ow_unknown, true); /* our request or a message, echoed */
        }
        rpmsg_post(ept, &p->done);
        return 0;
    }
    /* The encoding probe's answer (or a second answer to it): not a ping. */
    if (p->nuttx && len >= NX_PING_HEAD && nx_ping_get((const uint8_t *)data + 8, 8) == NX_PROBE) {
        uint32_t none = 0;
        if (atomic_compare_exchange_strong(&p->probe_ack, &none, (uint32_t)nx_ping_get(data, 4)))
            rpmsg_post(ept, &p->bound);
        return 0;
    }
    unsigned n = atomic_load(&p->received);
    int bad = check(p, data, len, &seq);
    /* A second ACK to a request already answered: a responder that answers
     * an ambiguous SEND in both encodings (nuttx_ping.h), like our echo. */
    if (p->nuttx && !bad && seq < p->expect)
        return 0;
    if (bad || seq != p->expect || seq >= p->next) {
        p->errors++;
    } else {
        p->rtt_ns[n] = t - p->sent_ns[seq % p->window];
    }
    p->expect++;
    p->in_flight--;
    atomic_store(&p->received, n + 1);
    if (n + 1 == p->count || p->errors) {
        rpmsg_post(ept, &p->done);
        return 0;
    }
    /* Tops the window up: after the first echo, that is the whole window. */
    while (p->in_flight < p->window && p->next < p->count)
        if (send_one(p) < 0) {
            rpmsg_post(ept, &p->done);
            break;
        }
    return 0;
}

static bool match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)dest;
    struct ping *p = priv;
    if (p->to && strcmp(rpmsg_get_cpuname(rdev), p->to))
        return false;
    return !strcmp(name, p->name);
}

static void bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct ping *p = priv;
    p->ept.priv = p;
    if (rpmsg_create_ept(&p->ept, rdev, name, RPMSG_ADDR_ANY, dest, ping_cb, NULL) == 0)
        rpmsg_post(NULL, &p->bound);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Waits for the binding; says what to check when it does not come. */
int pinger_find(struct ping *p, struct linkopts *lo, struct rpmsg_link *link)
{
    int r = -ETIMEDOUT;
    for (uint32_t t = 0; r && t < lo->cfg.timeout_ms && !tool_stop; t += 20)
        r = rpmsg_wait_timeout(NULL, &p->bound, 20);
    if (!r)
        return 0;
    if (tool_stop) {
        tool_err("interrupted while looking for service '%s'", p->name);
    } else if (linkopts_report(link, "ping") == RPMSG_LINK_DOWN_NONE) {
        tool_err("service '%s' not found: '%s' announced no such name within %u ms.\n"
                 "  Is `rpmsg echo --name %s` running on the other end, and not serving\n"
                 "  another ping (an echo answers one peer at a time)?",
                 p->name, rpmsg_get_cpuname(rpmsg_link_device(link)), lo->cfg.timeout_ms,
                 p->name);
    }
    return r;
}

/*
 * Until every echo is in, an error, a signal, the link drops, or no echo for
 * --wait ms: a long run on a healthy link is never cut short.
 */
static int wait_done(struct ping *p, struct linkopts *lo)
{
    unsigned seen = 0;
    uint32_t quiet = 0;
    for (;;) {
        if (!rpmsg_wait_timeout(NULL, &p->done, 100))
            return 0;
        unsigned n = atomic_load(&p->received);
        quiet = n == seen ? quiet + 100 : 0;
        seen = n;
        if (tool_stop) {
            tool_err("interrupted after %u replies", n);
            return -ECANCELED;
        }
        if (!rpmsg_device_is_up(p->ept.rdev)) {
            /* Why is said below, with the figures. */
            tool_err("link went down after %u replies", n);
            return -ENOTCONN;
        }
        if (quiet >= lo->cfg.timeout_ms) {
            tool_err("no echo for %u ms (--wait) after %u replies", quiet, n);
            return -ETIMEDOUT;
        }
    }
}


int pinger_init(struct ping *p, uint32_t max_count)
{
    p->sent_ns = calloc(PING_WINDOW_MAX, sizeof(uint64_t));
    p->rtt_ns = calloc(max_count, sizeof(uint64_t));
    if (!p->sent_ns || !p->rtt_ns) {
        pinger_deinit(p);
        return -ENOMEM;
    }
    rpmsg_sem_init(&p->bound, 0);
    rpmsg_sem_init(&p->done, 0);
    return 0;
}

void pinger_deinit(struct ping *p)
{
    free(p->sent_ns);
    free(p->rtt_ns);
    p->sent_ns = p->rtt_ns = NULL;
}

void pinger_register(struct ping *p)
{
    rpmsg_register_callback(p, NULL, NULL, match, bind);
}

void pinger_unregister(struct ping *p)
{
    rpmsg_unregister_callback(p, NULL, NULL, match, bind);
}

int pinger_probe_encoding(struct ping *p, struct linkopts *lo)
{
    uint8_t buf[RPMSG_BUFFER_SIZE];
    nx_ping_fill(buf, p->size, NX_PING_SEND, NX_PROBE);
    if (rpmsg_send(&p->ept, buf, p->size) < 0)
        return -EIO;
    int r = -ETIMEDOUT;
    for (uint32_t t = 0; r && t < lo->cfg.timeout_ms && !tool_stop; t += 20)
        r = rpmsg_wait_timeout(NULL, &p->bound, 20);
    if (!r && atomic_load(&p->probe_ack) == NX_PING_ACK_V2)
        p->nuttx = NX_PING_CHECK_V2;
    return r;
}

unsigned long pinger_errors(struct ping *p)
{
    return atomic_load(&p->errors) + atomic_load(&p->send_errors);
}

int pinger_round(struct ping *p, struct linkopts *lo, struct ping_stats *st)
{
    p->next = p->in_flight = p->expect = 0;
    atomic_store(&p->received, 0);
    atomic_store(&p->errors, 0);
    atomic_store(&p->send_errors, 0);
    while (!rpmsg_wait_timeout(NULL, &p->done, 0))
        ; /* a post left by an earlier round */
    uint64_t t0 = now_ns();
    /* One message from here; its echo's callback sends the rest of the window. */
    int r = send_one(p);
    if (r >= 0)
        r = wait_done(p, lo);
    uint64_t elapsed = now_ns() - t0;
    unsigned received = atomic_load(&p->received);
    unsigned n = received < p->count ? received : p->count;
    qsort(p->rtt_ns, n, sizeof(uint64_t), cmp_u64);
    double sum = 0, us = 1e-3;
    for (unsigned i = 0; i < n; i++)
        sum += (double)p->rtt_ns[i];
    *st = (struct ping_stats){
        .n = n,
        .min = n ? p->rtt_ns[0] * us : 0,
        .max = n ? p->rtt_ns[n - 1] * us : 0,
        .avg = n ? sum / n * us : 0,
        .p50 = n ? p->rtt_ns[n / 2] * us : 0,
        .p99 = n ? p->rtt_ns[(n * 99) / 100] * us : 0,
        .seconds = (double)elapsed * 1e-9,
        .msgs_per_s = elapsed ? received * 1e9 / (double)elapsed : 0,
    };
    return r < 0 ? r : 0;
}

/* The one-way report: until it comes, an echo answers (-ENOTSUP), a signal,
 * the link drops, or --wait ms pass. */
static int wait_report(struct ping *p, struct linkopts *lo)
{
    for (uint32_t quiet = 0;; quiet += 100) {
        rpmsg_wait_timeout(NULL, &p->done, 100);
        if (atomic_load(&p->ow_unknown))
            return -ENOTSUP;
        if (atomic_load(&p->ow_reported))
            return 0;
        if (tool_stop) {
            tool_err("interrupted in a one-way round");
            return -ECANCELED;
        }
        if (!rpmsg_device_is_up(p->ept.rdev)) {
            tool_err("link went down in a one-way round");
            return -ENOTCONN;
        }
        if (quiet >= lo->cfg.timeout_ms) {
            tool_err("no one-way report for %u ms (--wait)", quiet);
            return -ETIMEDOUT;
        }
    }
}

int pinger_oneway(struct ping *p, struct linkopts *lo, struct ping_stats *st)
{
    atomic_store(&p->errors, 0);
    atomic_store(&p->send_errors, 0);
    atomic_store(&p->ow_reported, false);
    atomic_store(&p->ow_unknown, false);
    while (!rpmsg_wait_timeout(NULL, &p->done, 0))
        ;
    atomic_store(&p->oneway, true);
    uint8_t buf[RPMSG_BUFFER_SIZE];
    oneway_put(buf, ONEWAY_ASK, p->count, 0);
    uint64_t t0 = now_ns();
    int r = rpmsg_send(&p->ept, buf, ONEWAY_SIZE);
    for (uint32_t seq = 0; r >= 0 && seq < p->count && !tool_stop && !atomic_load(&p->ow_unknown);
         seq++) {
        payload_fill(buf, p->size, seq);
        r = rpmsg_send(&p->ept, buf, p->size);
    }
    if (r < 0) {
        p->send_errors++;
        tool_err("one-way send failed: %s", rpmsg_strerror(r));
    }
    r = r < 0 ? r : wait_report(p, lo);
    uint64_t elapsed = now_ns() - t0;
    atomic_store(&p->oneway, false);
    uint32_t got = atomic_load(&p->ow_got);
    atomic_store(&p->errors, atomic_load(&p->ow_bad));
    *st = (struct ping_stats){
        .n = r ? 0 : got,
        .seconds = (double)elapsed * 1e-9,
        .msgs_per_s = !r && elapsed ? got * 1e9 / (double)elapsed : 0,
    };
    if (!r && got != p->count)
        atomic_fetch_add(&p->errors, p->count - got);
    return r;
}

int pinger_bind_dev(struct ping *p, struct rpmsg_device *dev, uint32_t timeout_ms)
{
    memset(&p->ept, 0, sizeof(p->ept));
    p->ept.priv = p;
    int r = rpmsg_create_ept(&p->ept, dev, p->name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, ping_cb, NULL);
    if (r)
        return r;
    r = -ETIMEDOUT;
    for (uint32_t t = 0; r == -ETIMEDOUT && t < timeout_ms && !tool_stop; t += 100)
        r = rpmsg_wait_ept_ready(&p->ept, 100);
    if (r && tool_stop)
        r = -ECANCELED;
    if (r)
        rpmsg_destroy_ept(&p->ept);
    return r;
}

/* As a core of an `rpmsg sim` topology: its first link stands for the others
 * in the checks (up, why it went down). */
static int join_open(struct ping *p, struct linkopts *lo, struct rpmsg_link **link)
{
    int r = rpmsg_link_join(&p->member, lo->cfg.timeout_ms);
    if (r) {
        tool_err("cannot join the sim's topology: %s", rpmsg_strerror(r));
        return r;
    }
    *link = rpmsg_link_member_link(p->member, 0);
    if (*link)
        return 0;
    rpmsg_link_leave(p->member);
    p->member = NULL;
    tool_err("this core has no link");
    return -ENOTCONN;
}

static void drop_link(struct ping *p, struct rpmsg_link *link)
{
    if (p->member)
        rpmsg_link_leave(p->member);
    else
        rpmsg_link_close(link);
    p->member = NULL;
}

int pinger_open(struct ping *p, uint32_t max_count, struct linkopts *lo, const char *cmd,
                struct rpmsg_link **link)
{
    int r = pinger_init(p, max_count);
    if (r) {
        tool_err("out of memory for %u round-trip times", max_count);
        return r;
    }
    tool_stop_on_signals();
    pinger_register(p);
    r = p->join ? join_open(p, lo, link) : linkopts_open(lo, link, cmd);
    if (!r && (r = pinger_find(p, lo, *link)))
        drop_link(p, *link);
    if (r) {
        pinger_unregister(p);
        pinger_deinit(p);
    }
    return r;
}

void pinger_close(struct ping *p, struct rpmsg_link *link)
{
    rpmsg_destroy_ept(&p->ept);
    drop_link(p, link);
    pinger_deinit(p);
}
