/*
 * rpmsg-stack: the application API of the RPMsg framework.
 *
 * Names and signatures follow OpenAMP (endpoints, send family, zero-copy) and
 * NuttX (service callbacks, wait/post, cpu names) so that code written for
 * either ports with few changes. Every function returns 0 or a count on
 * success and a negative errno on failure; none aborts on bad input.
 *
 * Memory: the application owns every struct rpmsg_endpoint (static, stack or
 * heap); the core allocates nothing. An endpoint must stay valid until
 * rpmsg_destroy_ept() has returned.
 */
#ifndef RPMSG_H
#define RPMSG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpmsg_opt.h"
#include "rpmsg_os.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RPMSG_ADDR_ANY 0xFFFFFFFFu
#define RPMSG_NS_ADDR 0x35u
/* Addresses below this are reserved for fixed services; dynamic ones start here. */
#define RPMSG_ADDR_DYN_BASE 1024u
#define RPMSG_NAME_SIZE 32
#define RPMSG_HDR_SIZE 16

/* Feature bits, as in the virtio rpmsg device (wire-formats.md §2). */
#define RPMSG_F_NS (1u << 0)  /* name service */
#define RPMSG_F_ACK (1u << 1) /* NS CREATE_ACK: two-phase binding */

/* Blocking calls: wait as long as the device's send timeout allows. */
#define RPMSG_WAIT 1
#define RPMSG_NOWAIT 0

struct rpmsg_device;
struct rpmsg_endpoint;

/*
 * Called on the link's RX thread, one message at a time, in arrival order.
 * data/len: the payload; src: the sender's address. The buffer is valid until
 * the callback returns unless rpmsg_hold_rx_buffer() was called on it.
 * The return value is ignored (kept for OpenAMP compatibility).
 */
typedef int (*rpmsg_ept_cb)(struct rpmsg_endpoint *ept, void *data, size_t len,
                            uint32_t src, void *priv);
/* The remote side of a name-bound endpoint went away (NS DESTROY or link down). */
typedef void (*rpmsg_ns_unbind_cb)(struct rpmsg_endpoint *ept);
/* dir: RPMSG_TRACE_TX or RPMSG_TRACE_RX; msg: header and payload. */
typedef void (*rpmsg_trace_cb)(struct rpmsg_device *rdev, void *arg, int dir, const void *msg,
                               size_t len);

struct rpmsg_endpoint {
    char name[RPMSG_NAME_SIZE];
    struct rpmsg_device *rdev;
    uint32_t addr;      /* local address */
    uint32_t dest_addr; /* remote address, RPMSG_ADDR_ANY until bound */
    rpmsg_ept_cb cb;
    rpmsg_ns_unbind_cb ns_unbind_cb;
    void *priv; /* the application's; passed to cb */

    /* Private to the core. */
    struct rpmsg_endpoint *next;      /* device's endpoint list */
    struct rpmsg_endpoint *prev;
    struct rpmsg_endpoint *hash_next; /* static-address bucket chain */
    uint32_t refs;                    /* senders and dispatches in flight */
    uint16_t flags;
};

/* Per-link counters; rpmsg_get_stats() returns a consistent snapshot. */
/* Event counters: 64-bit, or what RPMSG_COUNTER_T says (rpmsg_opt.h). */
typedef RPMSG_COUNTER_T rpmsg_counter_t;

struct rpmsg_stats {
    rpmsg_counter_t tx_msgs;
    rpmsg_counter_t tx_bytes; /* payload bytes */
    rpmsg_counter_t rx_msgs;
    rpmsg_counter_t rx_bytes;
    rpmsg_counter_t tx_waits;         /* sends that had to wait for a buffer */
    rpmsg_counter_t drop_bad_header;  /* shorter than a header, or len beyond the buffer */
    rpmsg_counter_t drop_unknown_dst; /* no endpoint at dst */
    rpmsg_counter_t drop_bad_ns;      /* NS message of wrong length, unterminated name, unknown flags */
    rpmsg_counter_t drop_ns_overflow; /* announcement dropped: pending table full */
    rpmsg_counter_t drop_stale;       /* taken off the link before it went down, not delivered */
};

/* ---- Endpoints ---------------------------------------------------------- */

/*
 * Registers ept on rdev.
 * src: RPMSG_ADDR_ANY allocates a dynamic address (from 1024 up), or a static
 *      address (-EADDRINUSE if taken).
 * dst: RPMSG_ADDR_ANY binds later: by name service when the peer announces the
 *      same name, or to the src of the first message received. A named
 *      endpoint with dst ANY is announced to the peer (NS CREATE).
 * name may be NULL or "" for an unnamed endpoint. Set ept->priv before the call
 * if the callback needs it.
 */
int rpmsg_create_ept(struct rpmsg_endpoint *ept, struct rpmsg_device *rdev,
                     const char *name, uint32_t src, uint32_t dst,
                     rpmsg_ept_cb cb, rpmsg_ns_unbind_cb ns_unbind_cb);

/*
 * Unregisters ept; sends NS DESTROY if it was announced. Waits until no other
 * thread is sending on it or running its callback, so the caller may free it
 * on return. Safe to call from the endpoint's own callback.
 */
int rpmsg_destroy_ept(struct rpmsg_endpoint *ept);

/* True when the endpoint knows its peer's address. */
bool rpmsg_is_ept_ready(const struct rpmsg_endpoint *ept);
/*
 * Waits until the endpoint is bound (woken by the binding itself).
 * 0, -ETIMEDOUT, -EPIPE (destroyed meanwhile) or -EINVAL.
 */
int rpmsg_wait_ept_ready(struct rpmsg_endpoint *ept, uint32_t timeout_ms);

/* ---- Sending (copy) -----------------------------------------------------
 * All return the number of payload bytes sent or a negative errno:
 *   -EINVAL bad argument, -EMSGSIZE larger than a buffer's payload,
 *   -EAGAIN (try variants) no free buffer or not yet bound,
 *   -ETIMEDOUT (blocking variants) still none after the device's timeout,
 *   -EPIPE the endpoint is being destroyed, -ENOTCONN link down (try variants).
 * Blocking variants wait for a free buffer and, for rpmsg_send, for the
 * endpoint to be bound; they are woken by the event itself.
 */
int rpmsg_send(struct rpmsg_endpoint *ept, const void *data, size_t len);
int rpmsg_sendto(struct rpmsg_endpoint *ept, const void *data, size_t len, uint32_t dst);
int rpmsg_send_offchannel(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                          const void *data, size_t len);
int rpmsg_trysend(struct rpmsg_endpoint *ept, const void *data, size_t len);
int rpmsg_trysendto(struct rpmsg_endpoint *ept, const void *data, size_t len, uint32_t dst);
int rpmsg_trysend_offchannel(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                             const void *data, size_t len);

/* ---- Zero copy ----------------------------------------------------------- */

/*
 * Takes a transmit buffer and returns a pointer to its payload area;
 * *len receives the payload capacity. wait: RPMSG_WAIT or RPMSG_NOWAIT.
 * Returns NULL on failure (no buffer, bad argument, endpoint going away).
 * The buffer must then be passed to rpmsg_send*_nocopy() or
 * rpmsg_release_tx_buffer(), exactly once.
 *
 * A failed zero-copy send keeps the buffer with the caller only when the
 * call itself was refused before anything was done with it: -EINVAL (bad
 * argument or an endpoint that is not registered), -EMSGSIZE (too long) and
 * -EAGAIN (endpoint not bound yet: bind, then send it again).
 * rpmsg_nocopy_kept() says which. On every other error (-EPIPE: the endpoint
 * is being destroyed; a transport's error, e.g. the link just went down) the
 * stack has already taken the buffer back, and releasing it again would
 * hand one buffer out twice.
 */
void *rpmsg_get_tx_payload_buffer(struct rpmsg_endpoint *ept, uint32_t *len, int wait);
int rpmsg_send_nocopy(struct rpmsg_endpoint *ept, void *data, size_t len);
int rpmsg_sendto_nocopy(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t dst);
int rpmsg_send_offchannel_nocopy(struct rpmsg_endpoint *ept, uint32_t src, uint32_t dst,
                                 void *data, size_t len);
int rpmsg_release_tx_buffer(struct rpmsg_endpoint *ept, void *data);
static inline bool rpmsg_nocopy_kept(int err)
{
    return err == -EINVAL || err == -EMSGSIZE || err == -EAGAIN;
}

/*
 * Inside a callback (on its thread), keeps the received buffer past the
 * callback's return; -EINVAL from any other thread unless the buffer is held
 * already. Holds count: each hold needs one release, from any thread. rxbuf
 * is the data pointer given to the callback.
 */
int rpmsg_hold_rx_buffer(struct rpmsg_endpoint *ept, void *rxbuf);
int rpmsg_release_rx_buffer(struct rpmsg_endpoint *ept, void *rxbuf);

/* Largest payload one message can carry on this device (0 if unknown). */
int rpmsg_get_tx_buffer_size(struct rpmsg_endpoint *ept);

/* ---- Waiting inside callbacks ---------------------------------------------
 * A callback may need the answer to a request it just sent. Sleeping on its
 * RX thread would stop the very link that carries the answer, so rpmsg_wait()
 * called on a link's RX thread keeps dispatching that link's later messages
 * (nested, in arrival order) until the semaphore is posted. Off the RX thread
 * it simply sleeps. See docs/architecture.md for what this does to ordering.
 */
struct rpmsg_sem {
    rpmsg_mutex_t lock;
    rpmsg_cond_t cond;
    unsigned count;
};

int rpmsg_sem_init(struct rpmsg_sem *sem, unsigned count);
void rpmsg_sem_deinit(struct rpmsg_sem *sem);
/* Waits without a bound (NuttX semantics). ept may be NULL off any RX
 * context (a plain semaphore wait, e.g. in main()). */
int rpmsg_wait(struct rpmsg_endpoint *ept, struct rpmsg_sem *sem);
/* Returns 0, -ETIMEDOUT, or -EDEADLK when nesting would exceed RPMSG_NEST_MAX. */
int rpmsg_wait_timeout(struct rpmsg_endpoint *ept, struct rpmsg_sem *sem, uint32_t timeout_ms);
int rpmsg_post(struct rpmsg_endpoint *ept, struct rpmsg_sem *sem);

/* ---- Services and discovery --------------------------------------------- */

typedef void (*rpmsg_dev_cb_t)(struct rpmsg_device *rdev, void *priv);
typedef bool (*rpmsg_match_cb_t)(struct rpmsg_device *rdev, void *priv,
                                 const char *name, uint32_t dest);
typedef void (*rpmsg_bind_cb_t)(struct rpmsg_device *rdev, void *priv,
                                const char *name, uint32_t dest);

/*
 * Registers a service. device_created is called for every link that comes up
 * (and, at once, for links already up); device_destroyed when a link goes down.
 * When the peer announces a name that no local endpoint waits for, the first
 * service whose ns_match returns true gets ns_bind (where it typically creates
 * an endpoint with dst = dest). Announcements that arrived before any service
 * matched are kept and replayed at registration. Any callback may be NULL.
 * Returns 0, -EINVAL, -EEXIST (same set registered) or -ENOMEM (table full).
 */
int rpmsg_register_callback(void *priv, rpmsg_dev_cb_t device_created,
                            rpmsg_dev_cb_t device_destroyed, rpmsg_match_cb_t ns_match,
                            rpmsg_bind_cb_t ns_bind);
int rpmsg_unregister_callback(void *priv, rpmsg_dev_cb_t device_created,
                              rpmsg_dev_cb_t device_destroyed, rpmsg_match_cb_t ns_match,
                              rpmsg_bind_cb_t ns_bind);

/* ---- Links -------------------------------------------------------------- */

const char *rpmsg_get_cpuname(struct rpmsg_device *rdev);       /* remote */
const char *rpmsg_get_local_cpuname(struct rpmsg_device *rdev);
bool rpmsg_device_is_up(struct rpmsg_device *rdev);
/* Negotiated feature bits (RPMSG_F_*), valid while the link is up. */
uint32_t rpmsg_get_features(struct rpmsg_device *rdev);
int rpmsg_get_stats(struct rpmsg_device *rdev, struct rpmsg_stats *out);
/* Bound of blocking sends on this device, in ms (default RPMSG_SEND_TIMEOUT_MS). */
int rpmsg_set_send_timeout(struct rpmsg_device *rdev, uint32_t timeout_ms);

/*
 * Runs the link once: receives and dispatches what has arrived, reclaims sent
 * buffers. For devices without an RX thread (bare metal, or
 * rpmsg_device_config.no_rx_thread). Returns messages handled or -errno.
 */
int rpmsg_poll(struct rpmsg_device *rdev);

/*
 * Waiting by working: the calling thread runs rdev's receive path itself
 * until done(arg) is true, instead of sleeping while the RX thread runs it
 * and wakes the caller. Where a wake-up costs more than the work of many
 * messages (two context switches when the threads share a CPU), a reader
 * fed by a stream saves one per read. Callbacks still run one at a time in
 * arrival order, on whichever thread is the context; the caller takes the
 * link only from its RX thread that was busy with it (a drive waits for the
 * thread to end its round), never from an idle one, and gives it back when
 * nothing more arrives. Devices that lend their RX context only (VirtIO).
 * done() is called with no lock of the core held, after each round; a
 * callback that makes it true ends the round with rpmsg_rx_yield().
 * Returns 1 when done() became true, 0 when nothing flows (sleep as usual:
 * the RX thread runs the link), -ETIMEDOUT at the deadline (ms, as
 * rpmsg_deadline()), -ENOTSUP without lending, -EBUSY on the RX context.
 */
int rpmsg_drive(struct rpmsg_device *rdev, uint64_t deadline, bool (*done)(void *arg), void *arg);
/* About to sleep until the link brings something: a drive's lease (the
 * RX thread leaves the link alone for RPMSG_RX_LEASE_MS after a drive, for
 * the driver's next read) ends now. The core's own waits and the socket
 * layer's call it. */
void rpmsg_drive_end(struct rpmsg_device *rdev);
/* Wakes the threads waiting in rpmsg_drive() for rdev's link, so that they
 * look at their done() again: for whoever made it true without running the
 * link (another thread that ran it, a close). Without it they look again
 * within RPMSG_RX_LEASE_MS. */
void rpmsg_drive_wake(struct rpmsg_device *rdev);
/* True on the thread that is rdev's RX context now: its RX thread in a
 * round, a thread driving it, or always without threads. */
bool rpmsg_device_on_rx_context(struct rpmsg_device *rdev);
/* In a callback: end the RX context's current round after this message
 * (what follows stays on the link until the next round). */
void rpmsg_rx_yield(struct rpmsg_endpoint *ept);

/* ---- Tracing --------------------------------------------------------------
 * fn sees every message the device sends or receives, whole (rpmsg header
 * first, as on the wire): a send on the sending thread just before the
 * transport takes the buffer, a receive on the RX context in arrival order
 * before dispatch. It must not block or send; the data is valid only during
 * the call. fn NULL turns tracing off. rdev NULL sets the trace every device
 * initialised from then on starts with, so a link's first message is seen
 * too. Off, the cost is one pointer load per message (docs/architecture.md).
 */
#define RPMSG_TRACE_TX 0
#define RPMSG_TRACE_RX 1
int rpmsg_set_trace(struct rpmsg_device *rdev, rpmsg_trace_cb fn, void *arg);

/* Human-readable text of a negative errno returned by this library. */
const char *rpmsg_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_H */
