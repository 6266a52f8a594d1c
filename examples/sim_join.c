/*
 * A user program as one core of an `rpmsg sim` topology (see
 * examples/with-program.ini): it joins with rpmsg_link_join(), offers the
 * same echo service as the built-in cores, so the sim's demo client can
 * find it by name across hubs, and leaves cleanly on SIGTERM.
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude examples/sim_join.c build/librpmsg.a \
 *      -lpthread -lrt -o sim_join
 *   SIM_JOIN=./sim_join rpmsg sim examples/with-program.ini --demo
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_link.h"

#define SVC "rpmsg-sim-echo"
#define EPTS 16

static struct rpmsg_endpoint epts[EPTS];
static volatile sig_atomic_t stop;
static unsigned long echoed;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int echo(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    if (rpmsg_sendto(ept, data, len, src) >= 0)
        __atomic_add_fetch(&echoed, 1, __ATOMIC_RELAXED);
    return 0;
}

static bool match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)priv, (void)dest;
    return !strcmp(name, SVC);
}

/* One endpoint per client; a slot is reused once its client went away. */
static void bind(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv;
    for (int i = 0; i < EPTS; i++) {
        if (epts[i].rdev && rpmsg_is_ept_ready(&epts[i]))
            continue;
        if (epts[i].rdev)
            rpmsg_destroy_ept(&epts[i]);
        memset(&epts[i], 0, sizeof(epts[i]));
        if (rpmsg_create_ept(&epts[i], rdev, name, RPMSG_ADDR_ANY, dest, echo, NULL) == 0)
            return;
        epts[i].rdev = NULL;
    }
}

/* Endpoints on a link (or far core) that went away go with it. */
static void gone(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    for (int i = 0; i < EPTS; i++)
        if (epts[i].rdev == rdev) {
            rpmsg_destroy_ept(&epts[i]);
            epts[i].rdev = NULL;
        }
}

int main(void)
{
    signal(SIGTERM, on_term);
    signal(SIGINT, SIG_IGN); /* the sim decides when cores stop */
    struct rpmsg_link_member *me;
    int r = rpmsg_link_join(&me, 0);
    if (r) {
        fprintf(stderr, "sim_join: cannot join: %s\n", rpmsg_strerror(r));
        return 1;
    }
    fprintf(stderr, "sim_join: joined as core %s\n", rpmsg_link_member_cpuname(me));
    rpmsg_register_callback(&epts, NULL, gone, match, bind);
    while (!stop)
        usleep(50 * 1000);
    rpmsg_unregister_callback(&epts, NULL, gone, match, bind);
    for (int i = 0; i < EPTS; i++)
        if (epts[i].rdev)
            rpmsg_destroy_ept(&epts[i]);
    char name[32];
    snprintf(name, sizeof(name), "%s", rpmsg_link_member_cpuname(me));
    rpmsg_link_leave(me);
    fprintf(stderr, "sim_join: core %s left after echoing %lu messages\n", name, echoed);
    return 0;
}
