/*
 * `rpmsg echo`: announces a service and sends every message back to its
 * sender. Plays the OpenAMP demo's remote (rpmsg-openamp-demo-channel) too.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkopts.h"
#include "nuttx_ping.h"
#include "oneway.h"
#include "opt.h"
#include "payload.h"
#include "stop.h"
#include "tools.h"


struct echo {
    struct rpmsg_endpoint ept;
    bool nocopy;
    unsigned long count, limit, errors;
    struct rpmsg_sem done;
    struct oneway_sink sink; /* a bench's one-way round */
};

/* A NuttX core's `rpmsg ping`: its ACK(s) (nuttx_ping.h). */
static int nuttx_answer(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src)
{
    uint32_t acks[2];
    int n = nx_ping_answers(data, len, acks), r = 0;
    for (int i = 0; i < n && r >= 0; i++) {
        uint32_t cap;
        uint8_t *tx = rpmsg_get_tx_payload_buffer(ept, &cap, RPMSG_WAIT);
        if (!tx)
            return -ENOBUFS;
        r = len <= cap ? nx_ping_answer(data, len, acks[i], tx) : -EMSGSIZE;
        if (r > 0)
            r = rpmsg_sendto_nocopy(ept, tx, (uint32_t)len, src);
        if (r < 0 && (r == -EMSGSIZE || rpmsg_nocopy_kept(r)))
            rpmsg_release_tx_buffer(ept, tx);
    }
    return r;
}

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct echo *e = priv;
    int r = 0;
    uint8_t rep[ONEWAY_SIZE];
    enum oneway_take k = oneway_sink_take(&e->sink, data, len, rep);
    if (k == ONEWAY_ASKED) {
        return 0;
    } else if (k == ONEWAY_LAST) {
        r = rpmsg_sendto(ept, rep, sizeof(rep), src);
    } else if (k == ONEWAY_TAKEN) {
        /* swallowed */
    } else if (nx_ping_is_request(data, len)) {
        r = nuttx_answer(ept, data, len, src);
    } else if (e->nocopy) {
        uint32_t cap;
        void *tx = rpmsg_get_tx_payload_buffer(ept, &cap, RPMSG_WAIT);
        r = tx ? 0 : -ENOBUFS;
        if (tx) {
            memcpy(tx, data, len);
            r = rpmsg_sendto_nocopy(ept, tx, len, src);
            if (r < 0 && rpmsg_nocopy_kept(r))
                rpmsg_release_tx_buffer(ept, tx);
        }
    } else {
        r = rpmsg_sendto(ept, data, len, src);
    }
    if (r < 0)
        e->errors++;
    if (++e->count == e->limit)
        rpmsg_post(ept, &e->done);
    return 0;
}

/* serve_once(): the link worked, but the peer broke it or died. */
#define PEER_FAILED 3
/* serve_once(): told to stop before a peer came (the usual end of an echo). */
#define STOPPED 4

/* One link's life: open, announce, echo until the peer goes away. 0, 1 (no
 * link), PEER_FAILED or STOPPED. */
static int serve_once(struct echo *e, struct linkopts *lo, const char *name)
{
    struct rpmsg_link *link;
    int r = linkopts_open(lo, &link, "echo");
    if (r)
        return r == -ECANCELED ? STOPPED : 1;
    struct rpmsg_device *rdev = rpmsg_link_device(link);
    e->ept.priv = e;
    r = rpmsg_create_ept(&e->ept, rdev, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, echo_cb, NULL);
    if (r) {
        fprintf(stderr, "rpmsg echo: %s\n", rpmsg_strerror(r));
        rpmsg_link_close(link);
        return 1;
    }
    fprintf(stderr, "rpmsg echo: '%s' at 0x%x on link to '%s'\n", name, e->ept.addr,
            rpmsg_get_cpuname(rdev));
    /* Until told to stop, the count is reached, or the peer goes away. */
    while (!tool_stop && rpmsg_device_is_up(rdev) && rpmsg_wait_timeout(NULL, &e->done, 100))
        ;
    /* Count reached: our last echo may still sit in the ring, and closing
     * takes the link down under it. Let the peer leave first (bounded). */
    for (int t = 0; t < 200 && !tool_stop && e->limit && e->count >= e->limit &&
                    rpmsg_device_is_up(rdev);
         t++)
        rpmsg_wait_timeout(NULL, &e->done, 10);
    /* A fault, or a peer that died before we were done, is a failure. */
    int why = linkopts_report(link, "echo");
    bool done = e->limit && e->count >= e->limit;
    rpmsg_destroy_ept(&e->ept);
    rpmsg_link_close(link);
    return why == RPMSG_LINK_DOWN_FAULT || (why == RPMSG_LINK_DOWN_DEAD && !done) ? PEER_FAILED : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg echo [options]\n"
               "Announces SERVICE and echoes every message back to its sender.\n"
               "  --name SERVICE   service name (default rpmsg-ping; OpenAMP demo: "
               "rpmsg-openamp-demo-channel)\n"
               "  --count N        exit after echoing N messages (default: until signalled "
               "or the link drops)\n"
               "  --nocopy         answer through zero-copy TX buffers\n"
               "  --serve          after a peer leaves, open the link again for the next one;\n"
               "                   waits for peers until signalled (or --wait MS each)\n"
               "A signal (Ctrl-C) ends it; exit 0 unless a peer failed or an echo did.\n"
               "NuttX's ping requests get NuttX's ACK (both encodings, tools/nuttx_ping.h).\n"
               "defaults: --role remote --side create\n" LINKOPTS_USAGE);
}

static int run(int argc, char **argv)
{
    static struct echo e;
    const char *name = "rpmsg-ping";
    bool serve = false;
    struct linkopts lo;
    linkopts_init(&lo, RPMSG_LINK_REMOTE, RPMSG_LINK_CREATE);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "name", required_argument, NULL, 'N' },
        { "count", required_argument, NULL, 'n' },
        { "nocopy", no_argument, NULL, 'z' },
        { "serve", no_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = linkopts_getopt(&lo, argc, argv, opts)) != -1) {
        switch (c) {
        case 'N': name = optarg; break;
        case 'n':
            if (opt_ulong("count", optarg, 1, ULONG_MAX, &e.limit))
                return TOOL_USAGE;
            break;
        case 'z': e.nocopy = true; break;
        case 'S': serve = true; break;
        case 'h': usage(stdout); return TOOL_OK;
        case LINKOPTS_BAD: return TOOL_USAGE;
        default: usage(stderr); return TOOL_USAGE;
        }
    }
    if (linkopts_done(&lo, argc, argv, "echo"))
        return TOOL_USAGE;
    /* A server waits for its next peer as long as it runs, not --wait's default. */
    if (serve && !lo.wait_given)
        lo.cfg.timeout_ms = LINKOPTS_WAIT_MAX;
    tool_stop_on_signals();
    rpmsg_sem_init(&e.done, 0);
    int rc = 0;
    bool failed = false;
    do {
        rc = serve_once(&e, &lo, name);
        /* Serving goes on after a peer that failed; the exit code tells. */
        failed |= rc == PEER_FAILED;
    } while (serve && !tool_stop && rc != 1 && (!e.limit || e.count < e.limit));
    rc = rc == 1 || failed;
    fprintf(stderr, "rpmsg echo: echoed %lu messages, %lu errors\n", e.count, e.errors);
    return rc || e.errors ? TOOL_FAIL : TOOL_OK;
}

const struct rpmsg_tool_cmd rpmsg_cmd_echo = {
    .name = "echo",
    .summary = "announce a service and echo every message back",
    .run = run,
};
