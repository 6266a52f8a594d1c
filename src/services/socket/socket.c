/*
 * Socket life cycle: open, bind, listen/accept (a listener is an rpmsg
 * service matching announced names by prefix), connect, shutdown, close,
 * and the links the layer knows about (one service registration for all
 * sockets, so that 64 connections do not take 64 service slots).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sock_priv.h"

rpmsg_mutex_t sock_lock = RPMSG_MUTEX_INITIALIZER;
/* Initialised by the first open: a static initializer would not have the
 * monotonic clock the port's deadlines are on. */
static rpmsg_cond_t poll_cond;
static bool poll_cond_ready;
static unsigned pollers;
static bool pollers_signalled;
static struct rpmsg_socket *all_socks;
static uint32_t next_conn_id;

#define SOCK_MAX_DEVS 32
static struct {
    struct rpmsg_device *rdev;
    char cpu[RPMSG_SOCKET_CPU_SIZE];
} devs[SOCK_MAX_DEVS];
static bool registered;

/* ---- waking and waiting ---- */

void sock_notify(struct rpmsg_socket *s)
{
    s->nseq++;
    /* A broadcast wakes every thread waiting at that moment; until one more
     * starts waiting, another would only cost a futex call per message. */
    if (s->waiters && !s->signalled) {
        s->signalled = true;
        s->wake_owed |= WAKE_SOCK;
    }
    if (pollers && !pollers_signalled) {
        pollers_signalled = true;
        s->wake_owed |= WAKE_POLL;
    }
    /* A reader waiting for its link in rpmsg_drive() (another thread runs
     * it and just filled this reader's buffer) sleeps on the device. */
    if (s->driving)
        s->wake_owed |= WAKE_DRIVE;
    if (!s->in_cb)
        sock_wake(s, s->rdev, sock_wake_take(s));
    sock_fd_update(s);
}

unsigned sock_wake_take(struct rpmsg_socket *s)
{
    unsigned w = s->wake_owed;
    s->wake_owed = 0;
    return w;
}

void sock_wake(struct rpmsg_socket *s, struct rpmsg_device *rdev, unsigned what)
{
    if ((what & WAKE_DRIVE) && rdev)
        rpmsg_drive_wake(rdev);
    if (what & WAKE_SOCK)
        rpmsg_cond_broadcast(&s->cond);
    if (what & WAKE_POLL)
        rpmsg_cond_broadcast(&poll_cond);
}

static int wait_on(rpmsg_cond_t *c, struct rpmsg_device *rdev, uint64_t deadline)
{
    int r = rpmsg_cond_wait(c, &sock_lock, deadline);
    if (r == -EAGAIN) {
        /* No OS: run the link ourselves instead of sleeping. */
        rpmsg_mutex_unlock(&sock_lock);
        if (rdev)
            rpmsg_poll(rdev);
        rpmsg_mutex_lock(&sock_lock);
        r = rdev && rpmsg_time_ms() < deadline ? 0 : -ETIMEDOUT;
    }
    return r;
}

int sock_wait(struct rpmsg_socket *s, uint64_t deadline)
{
    if (s->rdev)
        rpmsg_drive_end(s->rdev); /* a lease of ours would delay what we wait for */
    s->waiters++;
    s->signalled = false;
    int r = wait_on(&s->cond, s->rdev, deadline);
    s->waiters--;
    return r;
}

int sock_poll_wait(uint64_t deadline, struct rpmsg_device *rdev)
{
    pollers++;
    pollers_signalled = false;
    int r = wait_on(&poll_cond, rdev, deadline);
    pollers--;
    return r;
}

/* ---- links ---- */

static void on_device_created(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    const char *cpu = rpmsg_get_cpuname(rdev);
    rpmsg_mutex_lock(&sock_lock);
    for (unsigned i = 0; i < SOCK_MAX_DEVS; i++) {
        if (!devs[i].rdev) {
            devs[i].rdev = rdev;
            strncpy(devs[i].cpu, cpu ? cpu : "", sizeof(devs[i].cpu) - 1);
            devs[i].cpu[sizeof(devs[i].cpu) - 1] = '\0';
            break;
        }
    }
    /* Connecting sockets waiting for this link move on. */
    for (struct rpmsg_socket *s = all_socks; s; s = s->all_next)
        if (s->state == SS_CONNECTING && !s->ept_live)
            sock_notify(s);
    rpmsg_mutex_unlock(&sock_lock);
}

/* The link is gone: every socket on it is reset, and its endpoint destroyed
 * now, which is what wakes a sender waiting inside the core for a buffer
 * (the core would otherwise wait for the link to come back). */
static void on_device_destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    struct rpmsg_socket *victims = NULL;
    rpmsg_mutex_lock(&sock_lock);
    for (unsigned i = 0; i < SOCK_MAX_DEVS; i++)
        if (devs[i].rdev == rdev)
            devs[i].rdev = NULL;
    for (struct rpmsg_socket *s = all_socks; s; s = s->all_next) {
        if (s->rdev != rdev || !s->ept_live)
            continue;
        s->gone = -ECONNRESET;
        if (s->state == SS_CONNECTING)
            s->error = -ECONNRESET;
        s->ept_live = false;
        s->destroying = true;
        s->kill_next = victims;
        victims = s;
    }
    rpmsg_mutex_unlock(&sock_lock);
    for (struct rpmsg_socket *s = victims; s; s = s->kill_next)
        rpmsg_destroy_ept(&s->ept);
    rpmsg_mutex_lock(&sock_lock);
    for (struct rpmsg_socket *s = victims; s; s = s->kill_next) {
        s->destroying = false;
        sock_notify(s);
    }
    /* A reader running this link (sock_drive) holds rdev, which may be
     * freed once we return. It leaves at its next round (notified above,
     * or the device stopped); on the link's RX context nobody else runs it. */
    if (!rpmsg_device_on_rx_context(rdev))
        for (struct rpmsg_socket *s = all_socks; s; s = s->all_next)
            while (s->rdev == rdev && s->driving)
                sock_wait(s, rpmsg_deadline(10));
    rpmsg_mutex_unlock(&sock_lock);
}

/* An up link to cpu ("" any), or pin itself once it is up. */
static struct rpmsg_device *dev_find(const char *cpu, struct rpmsg_device *pin)
{
    for (unsigned i = 0; i < SOCK_MAX_DEVS; i++)
        if (devs[i].rdev && (pin ? devs[i].rdev == pin : !cpu[0] || !strcmp(devs[i].cpu, cpu)))
            return devs[i].rdev;
    return NULL;
}

static int ensure_registered(void)
{
    rpmsg_mutex_lock(&sock_lock);
    if (!poll_cond_ready && rpmsg_cond_init(&poll_cond) == 0)
        poll_cond_ready = true;
    bool todo = !registered;
    registered = true;
    rpmsg_mutex_unlock(&sock_lock);
    if (!todo)
        return 0;
    /* Replays the links already up, which take sock_lock: called unlocked. */
    int r = rpmsg_register_callback(devs, on_device_created, on_device_destroyed, NULL, NULL);
    if (r < 0 && r != -EEXIST) {
        rpmsg_mutex_lock(&sock_lock);
        registered = false;
        rpmsg_mutex_unlock(&sock_lock);
        return r;
    }
    return 0;
}

/* ---- allocation ---- */

static struct rpmsg_socket *sock_new(int type, uint32_t rcvbuf)
{
    struct rpmsg_socket *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (rpmsg_cond_init(&s->cond)) {
        free(s);
        return NULL;
    }
    s->type = type;
    s->rcvbuf = rcvbuf;
    s->fd = s->fd_peer = -1;
    return s;
}

static void link_all(struct rpmsg_socket *s)
{
    s->all_prev = NULL;
    s->all_next = all_socks;
    if (all_socks)
        all_socks->all_prev = s;
    all_socks = s;
}

static void unlink_all(struct rpmsg_socket *s)
{
    if (s->all_prev)
        s->all_prev->all_next = s->all_next;
    else if (all_socks == s)
        all_socks = s->all_next;
    if (s->all_next)
        s->all_next->all_prev = s->all_prev;
    s->all_next = s->all_prev = NULL;
}

static void sock_free(struct rpmsg_socket *s)
{
    sock_fd_close(s);
    sock_ring_deinit(&s->ring);
    rpmsg_cond_deinit(&s->cond);
    free(s);
}

/* Unlinks s, destroys its endpoint (waiting out its callbacks) and frees it. */
static void sock_destroy(struct rpmsg_socket *s)
{
    rpmsg_mutex_lock(&sock_lock);
    unlink_all(s);
    s->state = SS_CLOSED;
    while (s->destroying) { /* a lost link's teardown is on it */
        s->waiters++;
        s->signalled = false; /* as in sock_wait */
        rpmsg_cond_wait(&s->cond, &sock_lock, RPMSG_FOREVER);
        s->waiters--;
    }
    bool live = s->ept_live;
    rpmsg_mutex_unlock(&sock_lock);
    if (live)
        rpmsg_destroy_ept(&s->ept);
    sock_free(s);
}

int rpmsg_socket_open(struct rpmsg_socket **out, int type)
{
    if (!out || (type != RPMSG_SOCK_STREAM && type != RPMSG_SOCK_DGRAM))
        return -EINVAL;
    int r = ensure_registered();
    if (r < 0)
        return r;
    struct rpmsg_socket *s = sock_new(type, RPMSG_SOCKET_RCVBUF_DEFAULT);
    if (!s)
        return -ENOMEM;
    rpmsg_mutex_lock(&sock_lock);
    link_all(s);
    rpmsg_mutex_unlock(&sock_lock);
    *out = s;
    return 0;
}

static bool addr_ok(const struct rpmsg_sockaddr *a)
{
    return a && a->name[0] && memchr(a->name, '\0', sizeof(a->name)) &&
           memchr(a->cpu, '\0', sizeof(a->cpu));
}

int rpmsg_socket_set_device(struct rpmsg_socket *s, struct rpmsg_device *rdev)
{
    if (!s || !rdev)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    int r = s->state == SS_IDLE || s->state == SS_BOUND ? 0 : -EISCONN;
    if (!r)
        s->pin_dev = rdev;
    rpmsg_mutex_unlock(&sock_lock);
    return r;
}

int rpmsg_socket_bind(struct rpmsg_socket *s, const struct rpmsg_sockaddr *addr)
{
    if (!s || !addr_ok(addr))
        return -EINVAL;
    char name[RPMSG_NAME_SIZE];
    int r = sock_ept_name(name, sizeof(name), addr->name, false, 0);
    if (r < 0)
        return r;
    rpmsg_mutex_lock(&sock_lock);
    if (s->state != SS_IDLE) {
        rpmsg_mutex_unlock(&sock_lock);
        return -EINVAL;
    }
    s->local = *addr;
    memcpy(s->ept_name, name, sizeof(name));
    s->state = SS_BOUND;
    rpmsg_mutex_unlock(&sock_lock);
    return 0;
}

/* ---- listening ---- */

static bool ns_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)dest;
    struct rpmsg_socket *l = priv;
    const char *cpu = rpmsg_get_cpuname(rdev);
    rpmsg_mutex_lock(&sock_lock);
    bool ok = l->state == SS_LISTEN && !strncmp(name, l->ept_name, strlen(l->ept_name)) &&
              (!l->pin_dev || l->pin_dev == rdev) &&
              (!l->local.cpu[0] || (cpu && !strcmp(cpu, l->local.cpu)));
    rpmsg_mutex_unlock(&sock_lock);
    return ok;
}

/* A client announced itself: answer with an endpoint of its own name
 * (CREATE_ACK), queue it for accept, and send our SYNC at once, as NuttX
 * does. Beyond the backlog the endpoint is destroyed again: the client sees
 * its peer go, and its connect fails. */
static void ns_bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct rpmsg_socket *l = priv;
    rpmsg_mutex_lock(&sock_lock);
    uint32_t rcvbuf = l->rcvbuf;
    rpmsg_mutex_unlock(&sock_lock);
    struct rpmsg_socket *c = sock_new(RPMSG_SOCK_STREAM, rcvbuf);
    if (!c)
        return;
    if (sock_ring_init(&c->ring, rcvbuf) < 0) {
        sock_free(c);
        return;
    }
    c->ept.priv = c;
    if (rpmsg_create_ept(&c->ept, rdev, name, RPMSG_ADDR_ANY, dest, sock_ept_cb,
                         sock_unbind_cb) < 0) {
        sock_free(c);
        return;
    }
    const char *cpu = rpmsg_get_cpuname(rdev);
    rpmsg_mutex_lock(&sock_lock);
    if (l->state != SS_LISTEN || l->qlen >= (unsigned)l->backlog) {
        rpmsg_mutex_unlock(&sock_lock);
        rpmsg_destroy_ept(&c->ept);
        sock_free(c);
        return;
    }
    strncpy(c->peer.cpu, cpu ? cpu : "", sizeof(c->peer.cpu) - 1);
    strncpy(c->peer.name, name + strlen(SOCK_NAME_PREFIX), sizeof(c->peer.name) - 1);
    c->local = l->local;
    c->svc = c->local.name;
    strncpy(c->ept_name, name, sizeof(c->ept_name) - 1);
    c->rdev = rdev;
    c->ept_live = true;
    c->state = SS_CONNECTED;
    c->nonblock = l->nonblock;
    c->sndtimeo = l->sndtimeo;
    c->rcvtimeo = l->rcvtimeo;
    c->owe |= OWE_SYNC;
    link_all(c);
    /* SYNC goes before c is queued: once accept can see it, the application
     * may close it at any moment, and the flush drops the lock. */
    sock_try_flush(c, false);
    if (l->state != SS_LISTEN || l->qlen >= (unsigned)l->backlog) {
        rpmsg_mutex_unlock(&sock_lock);
        sock_destroy(c);
        return;
    }
    if (l->q_tail)
        l->q_tail->q_next = c;
    else
        l->q_head = c;
    l->q_tail = c;
    l->qlen++;
    sock_notify(l);
    rpmsg_mutex_unlock(&sock_lock);
}

int rpmsg_socket_listen(struct rpmsg_socket *s, int backlog)
{
    if (!s || backlog <= 0)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    int r = 0;
    if (s->type != RPMSG_SOCK_STREAM)
        r = -EOPNOTSUPP;
    else if (s->state != SS_BOUND)
        r = -EINVAL;
    if (!r) {
        s->backlog = backlog;
        s->state = SS_LISTEN;
    }
    rpmsg_mutex_unlock(&sock_lock);
    if (r)
        return r;
    /* Replays announcements that came before us (a client may connect
     * before the server listens). */
    r = rpmsg_register_callback(s, NULL, NULL, ns_match, ns_bind);
    if (r < 0) {
        rpmsg_mutex_lock(&sock_lock);
        s->state = SS_BOUND;
        rpmsg_mutex_unlock(&sock_lock);
    }
    return r;
}

static uint64_t deadline_of(uint32_t timeout_ms)
{
    return timeout_ms ? rpmsg_deadline(timeout_ms) : RPMSG_FOREVER;
}

int rpmsg_socket_accept(struct rpmsg_socket *s, struct rpmsg_socket **out,
                        struct rpmsg_sockaddr *peer)
{
    if (!s || !out)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    uint64_t deadline = deadline_of(s->rcvtimeo);
    int r = 0;
    while (s->state == SS_LISTEN && !s->q_head) {
        if (s->nonblock || sock_wait(s, deadline) < 0) {
            r = -EAGAIN;
            break;
        }
    }
    if (!r && s->state != SS_LISTEN)
        r = -EINVAL;
    if (r) {
        rpmsg_mutex_unlock(&sock_lock);
        return r;
    }
    struct rpmsg_socket *c = s->q_head;
    s->q_head = c->q_next;
    if (!s->q_head)
        s->q_tail = NULL;
    c->q_next = NULL;
    s->qlen--;
    if (peer)
        *peer = c->peer;
    sock_try_flush(c, true);
    sock_notify(s);
    rpmsg_mutex_unlock(&sock_lock);
    *out = c;
    return 0;
}

/* ---- connecting ---- */

int sock_connect_step(struct rpmsg_socket *s, bool may_block)
{
    for (;;) {
        /* Left in place: poll shows it (ERR|HUP) and rpmsg_socket_error
         * reports it; only a caller that returns it consumes it. */
        if (s->error)
            return s->error;
        if (s->state == SS_CONNECTED)
            return 0;
        if (s->state != SS_CONNECTING)
            return -EINVAL;
        if (!s->ept_live) {
            struct rpmsg_device *rdev = dev_find(s->peer.cpu, s->pin_dev);
            if (!rdev)
                return -EINPROGRESS;
            s->rdev = rdev;
            s->ept_live = true;
            s->ept.priv = s;
            rpmsg_mutex_unlock(&sock_lock);
            int r = rpmsg_create_ept(&s->ept, rdev, s->ept_name, RPMSG_ADDR_ANY,
                                     RPMSG_ADDR_ANY, sock_ept_cb, sock_unbind_cb);
            rpmsg_mutex_lock(&sock_lock);
            if (r < 0) {
                s->ept_live = false;
                s->rdev = NULL;
                s->state = SS_IDLE;
                return r;
            }
            continue;
        }
        /* Bound by the peer's CREATE_ACK (or CREATE): our SYNC may go. */
        if (!s->sync_sent && !(s->owe & OWE_SYNC) && rpmsg_is_ept_ready(&s->ept))
            s->owe |= OWE_SYNC;
        /* The flush drops the lock: a refusal or the peer's SYNC may have
         * come meanwhile, and its wake-up is gone; look again before the
         * caller sleeps. */
        if (sock_try_flush(s, may_block) && (s->error || s->state != SS_CONNECTING))
            continue;
        return s->state == SS_CONNECTED ? 0 : -EINPROGRESS;
    }
}

int rpmsg_socket_connect(struct rpmsg_socket *s, const struct rpmsg_sockaddr *addr)
{
    if (!s || !addr_ok(addr))
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    int r = 0;
    if (s->state == SS_CONNECTED)
        r = -EISCONN;
    else if (s->state == SS_CONNECTING)
        r = -EALREADY;
    else if (s->state == SS_LISTEN || s->state == SS_CLOSED || s->ept_live)
        r = -EINVAL; /* listening, or a failed connect: open a new socket */
    else if (s->type == RPMSG_SOCK_STREAM)
        r = sock_ept_name(s->ept_name, sizeof(s->ept_name), addr->name, true, next_conn_id++);
    else
        r = sock_ept_name(s->ept_name, sizeof(s->ept_name), addr->name, false, 0);
    if (r < 0) {
        rpmsg_mutex_unlock(&sock_lock);
        return r;
    }
    if (!s->ring.buf && (r = sock_ring_init(&s->ring, s->rcvbuf)) < 0) {
        rpmsg_mutex_unlock(&sock_lock);
        return r;
    }
    s->peer = *addr;
    if (s->type == RPMSG_SOCK_STREAM)
        s->svc = s->peer.name;
    s->state = SS_CONNECTING;
    bool nonblock = s->nonblock;
    uint64_t deadline = deadline_of(s->sndtimeo);
    for (;;) {
        r = sock_connect_step(s, !nonblock);
        if (r != -EINPROGRESS || nonblock)
            break;
        if (s->ept_live && !rpmsg_is_ept_ready(&s->ept)) {
            /* Binding has no callback of its own: wait for it in slices, so
             * that a refusal or a lost link is seen too. */
            rpmsg_mutex_unlock(&sock_lock);
            rpmsg_wait_ept_ready(&s->ept, 100);
            rpmsg_mutex_lock(&sock_lock);
            if (rpmsg_time_ms() >= deadline) {
                r = -ETIMEDOUT;
                break;
            }
            continue;
        }
        if (sock_wait(s, deadline) < 0) {
            r = -ETIMEDOUT;
            break;
        }
    }
    if (r < 0 && r != -EINPROGRESS) {
        s->error = 0; /* returned here */
        if (s->state == SS_CONNECTING)
            s->state = SS_IDLE; /* failed: the endpoint stays until close */
    }
    rpmsg_mutex_unlock(&sock_lock);
    return r;
}

/* ---- shutdown and close ---- */

int rpmsg_socket_shutdown(struct rpmsg_socket *s, int how)
{
    if (!s || how < RPMSG_SHUT_RD || how > RPMSG_SHUT_RDWR)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    if (s->state != SS_CONNECTED) {
        rpmsg_mutex_unlock(&sock_lock);
        return -ENOTCONN;
    }
    if (how & RPMSG_SHUT_RD && !s->rd_shut) {
        s->rd_shut = true;
        /* What was queued is dropped, and acknowledged so the peer goes on. */
        uint32_t n = s->ring.used;
        sock_ring_get(&s->ring, NULL, n, true);
        s->recvpos += n;
        if (n)
            s->owe |= OWE_ACK;
    }
    if (how & RPMSG_SHUT_WR)
        s->wr_shut = true;
    s->shut_how |= (uint32_t)how;
    s->owe |= OWE_SHUT;
    /* Sent now, after any send in progress, even on a nonblocking socket:
     * nothing else would be sure to send it later. */
    if (sock_tx_take(s, true, deadline_of(s->sndtimeo)) == 0)
        sock_tx_give(s, true);
    sock_notify(s);
    rpmsg_mutex_unlock(&sock_lock);
    return 0;
}

static void close_listener(struct rpmsg_socket *s)
{
    rpmsg_mutex_lock(&sock_lock);
    s->state = SS_CLOSED;
    struct rpmsg_socket *q = s->q_head;
    s->q_head = s->q_tail = NULL;
    s->qlen = 0;
    rpmsg_mutex_unlock(&sock_lock);
    /* Waits for an ns_bind in flight, which then sees SS_CLOSED. */
    rpmsg_unregister_callback(s, NULL, NULL, ns_match, ns_bind);
    while (q) {
        struct rpmsg_socket *n = q->q_next;
        sock_destroy(q);
        q = n;
    }
}

int rpmsg_socket_close(struct rpmsg_socket *s)
{
    if (!s)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    bool listener = s->state == SS_LISTEN;
    rpmsg_mutex_unlock(&sock_lock);
    if (listener)
        close_listener(s);
    sock_destroy(s);
    return 0;
}

/* ---- options and queries ---- */

int rpmsg_socket_setopt(struct rpmsg_socket *s, enum rpmsg_socket_opt opt, uint32_t value)
{
    if (!s)
        return -EINVAL;
    int r = 0;
    rpmsg_mutex_lock(&sock_lock);
    switch (opt) {
    case RPMSG_SO_NONBLOCK:
        s->nonblock = value != 0;
        break;
    case RPMSG_SO_SNDTIMEO:
        s->sndtimeo = value;
        break;
    case RPMSG_SO_RCVTIMEO:
        s->rcvtimeo = value;
        break;
    case RPMSG_SO_RCVBUF:
        /* The window is advertised once, in SYNC: fixed from connect on. */
        if (value < 64 || value > RPMSG_SOCKET_RCVBUF_MAX)
            r = -EINVAL;
        else if (s->ring.buf || s->state == SS_CONNECTING || s->state == SS_CONNECTED)
            r = -EISCONN;
        else
            s->rcvbuf = value;
        break;
    default:
        r = -ENOPROTOOPT;
    }
    rpmsg_mutex_unlock(&sock_lock);
    return r;
}

int rpmsg_socket_getopt(struct rpmsg_socket *s, enum rpmsg_socket_opt opt, uint32_t *value)
{
    if (!s || !value)
        return -EINVAL;
    int r = 0;
    rpmsg_mutex_lock(&sock_lock);
    switch (opt) {
    case RPMSG_SO_NONBLOCK:
        *value = s->nonblock;
        break;
    case RPMSG_SO_SNDTIMEO:
        *value = s->sndtimeo;
        break;
    case RPMSG_SO_RCVTIMEO:
        *value = s->rcvtimeo;
        break;
    case RPMSG_SO_RCVBUF:
        *value = s->rcvbuf;
        break;
    default:
        r = -ENOPROTOOPT;
    }
    rpmsg_mutex_unlock(&sock_lock);
    return r;
}

int rpmsg_socket_peercred(struct rpmsg_socket *s, struct rpmsg_sock_cred *out)
{
    if (!s || !out)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    int r = s->peer_synced ? 0 : -ENOTCONN;
    if (!r)
        *out = s->cred;
    rpmsg_mutex_unlock(&sock_lock);
    return r;
}

int rpmsg_socket_error(struct rpmsg_socket *s)
{
    if (!s)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    int e = s->error;
    s->error = 0;
    rpmsg_mutex_unlock(&sock_lock);
    return e;
}

int rpmsg_socket_stats(struct rpmsg_socket *s, struct rpmsg_socket_stats *out)
{
    if (!s || !out)
        return -EINVAL;
    rpmsg_mutex_lock(&sock_lock);
    out->malformed = s->malformed;
    out->rcvbuf = s->rcvbuf;
    out->queued = s->ring.used;
    out->peer_window = s->peer_window;
    out->inflight = s->sendpos - s->ackpos;
    rpmsg_mutex_unlock(&sock_lock);
    return 0;
}
