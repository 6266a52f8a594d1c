/*
 * Two processes, one VirtIO link in shared memory: the "remote" announces a
 * service named "hello" that answers every message in capitals; the "host"
 * finds it by name, sends ten greetings and checks each answer.
 *
 *   hello                  runs both: forks the remote, plays the host
 *   hello remote [LINK]    one side each, e.g. in two terminals
 *   hello host [LINK]      (LINK: the name in /dev/shm, default hello-PID)
 *
 * Built by `make` (build/examples/hello). Against the installed library:
 *   cc -std=c11 hello.c $(pkg-config --cflags --libs rpmsg) -o hello
 * Exit status 0 when all ten answers came back right.
 */
#ifndef _GNU_SOURCE /* fork(), waitpid() under -std=c11 */
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpmsg/rpmsg.h"
#include "rpmsg/rpmsg_link.h"

#define SERVICE "hello"
#define GREETINGS 10

/* Remote: the answer goes back to whoever sent the message. */
static int shout(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)priv;
    char up[RPMSG_BUFFER_SIZE];
    if (len > sizeof(up))
        len = sizeof(up);
    for (size_t i = 0; i < len; i++)
        up[i] = (char)toupper(((unsigned char *)data)[i]);
    return rpmsg_sendto(ept, up, len, src) < 0 ? -1 : 0;
}

static int remote(const char *name)
{
    struct rpmsg_link_config cfg = {
        .spec = name, .role = RPMSG_LINK_REMOTE, .side = RPMSG_LINK_CREATE, .cpuname = "remote",
    };
    struct rpmsg_link *link;
    int r = rpmsg_link_open(&link, &cfg);
    if (!r)
        r = rpmsg_link_wait_up(link, 10000);
    if (r) {
        fprintf(stderr, "remote: no link %s: %s\n", name, rpmsg_strerror(r));
        return 1;
    }
    static struct rpmsg_endpoint ept;
    struct rpmsg_device *rdev = rpmsg_link_device(link);
    r = rpmsg_create_ept(&ept, rdev, SERVICE, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, shout, NULL);
    if (r) {
        fprintf(stderr, "remote: %s\n", rpmsg_strerror(r));
        rpmsg_link_close(link);
        return 1;
    }
    printf("remote: '%s' at 0x%x, waiting for the host\n", SERVICE, ept.addr);
    fflush(stdout);
    /* Serve until the host closes the link. */
    struct rpmsg_sem never;
    rpmsg_sem_init(&never, 0);
    while (rpmsg_device_is_up(rdev))
        rpmsg_wait_timeout(NULL, &never, 50);
    rpmsg_sem_deinit(&never);
    rpmsg_destroy_ept(&ept);
    rpmsg_link_close(link);
    return 0;
}

/* Host: the answers, in order, checked on the link's RX thread. */
struct host {
    struct rpmsg_endpoint ept;
    struct rpmsg_sem bound, answered;
    char expect[32];
    int good;
};

static int heard(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct host *h = priv;
    h->good += len == strlen(h->expect) && !memcmp(data, h->expect, len);
    printf("host: got '%.*s'\n", (int)len, (const char *)data);
    rpmsg_post(ept, &h->answered);
    return 0;
}

static bool is_hello(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)rdev, (void)priv, (void)dest;
    return !strcmp(name, SERVICE);
}

/* The remote announced "hello": an endpoint of ours, bound to its address. */
static void bind_hello(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    struct host *h = priv;
    h->ept.priv = h;
    if (!rpmsg_create_ept(&h->ept, rdev, name, RPMSG_ADDR_ANY, dest, heard, NULL))
        rpmsg_post(NULL, &h->bound);
}

static int host(const char *name)
{
    static struct host h;
    rpmsg_sem_init(&h.bound, 0);
    rpmsg_sem_init(&h.answered, 0);
    rpmsg_register_callback(&h, NULL, NULL, is_hello, bind_hello);
    struct rpmsg_link_config cfg = {
        .spec = name, .role = RPMSG_LINK_HOST, .side = RPMSG_LINK_ATTACH, .cpuname = "host",
    };
    struct rpmsg_link *link;
    int r = rpmsg_link_open(&link, &cfg);
    if (!r)
        r = rpmsg_wait_timeout(NULL, &h.bound, 10000);
    if (r) {
        fprintf(stderr, "host: no '%s' service on %s: %s\n", SERVICE, name, rpmsg_strerror(r));
        if (link)
            rpmsg_link_close(link);
        return 1;
    }
    for (int i = 0; i < GREETINGS && !r; i++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "hello %d", i);
        snprintf(h.expect, sizeof(h.expect), "HELLO %d", i);
        r = rpmsg_send(&h.ept, msg, strlen(msg));
        r = r < 0 ? r : rpmsg_wait_timeout(NULL, &h.answered, 10000);
    }
    printf("host: %d of %d answers right\n", h.good, GREETINGS);
    rpmsg_destroy_ept(&h.ept);
    rpmsg_unregister_callback(&h, NULL, NULL, is_hello, bind_hello);
    rpmsg_link_close(link);
    return h.good == GREETINGS ? 0 : 1;
}

int main(int argc, char **argv)
{
    char spec[128], own[64];
    snprintf(own, sizeof(own), "hello-%d", (int)getpid());
    const char *role = argc > 1 ? argv[1] : NULL;
    snprintf(spec, sizeof(spec), "virtio:%s", argc > 2 ? argv[2] : own);
    if (role && !strcmp(role, "remote"))
        return remote(spec);
    if (role && !strcmp(role, "host"))
        return host(spec);
    if (role) {
        fprintf(stderr, "usage: hello [remote|host [LINK]]\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0)
        return remote(spec);
    int r = host(spec);
    int st = 0;
    waitpid(pid, &st, 0);
    return r || !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}
