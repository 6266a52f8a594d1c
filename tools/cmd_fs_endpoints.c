/*
 * `rpmsg fs endpoints [LINK OPTIONS] MOUNTPOINT`: the endpoint view, a FUSE
 * tree in the spirit of Linux's /dev/rpmsgN: a directory per remote cpu, a
 * file per service it announced. A file is a channel: its first open
 * creates an endpoint bound to the service; write sends one message, read
 * returns one message (blocking, or EAGAIN with O_NONBLOCK), poll says
 * whether one is waiting. The endpoint and its queue outlive the open, so
 * that `echo hello > MNT/B/svc; cat MNT/B/svc` reads the answer to the
 * echo; they go with the service (the peer destroyed its endpoint), the cpu
 * (its link went down) or the mount.
 *
 * Announcements are recorded by a match callback that declines them, as
 * `rpmsg list` does, so other services of this process still get theirs.
 * When the link dies it is opened again, like `rpmsg fs mount` does.
 */
#include "fs_endpoints.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cond_wait.h"
#include "linkopts.h"
#include "opt.h"
#include "tools.h"

#ifdef RPMSG_HAVE_FUSE3
#define FUSE_USE_VERSION 31
#include <fcntl.h>
#include <fuse.h>
#include <poll.h>

#define EPV_CPUS 16
#define EPV_SVCS 64     /* services per cpu */
#define EPV_QUEUE 256   /* messages waiting per channel; newer ones are dropped */
#define EPV_POLLERS 8   /* open files of one channel with a poll armed */

struct msg {
    size_t len, off; /* off: read so far by reads with a shorter buffer */
    char data[];
};

/* One service's file; its endpoint while bound. Freed at unmount only, so
 * an open file never points at freed memory. */
struct chan {
    struct chan *next;
    struct rpmsg_device *rdev;
    char cpu[RPMSG_NAME_SIZE], name[RPMSG_NAME_SIZE];
    struct rpmsg_endpoint ept;
    bool live; /* ept created and not yet destroyed */
    bool dead; /* unbound, or its device went: reads drain then EOF */
    unsigned opens; /* open files: the name stays stat-able while any is */
    unsigned sending; /* writes inside rpmsg_send: the endpoint is not renewed under them */
    bool renewing;    /* an open is creating its endpoint, outside the lock */
    pthread_cond_t cond;
    struct msg *q[EPV_QUEUE];
    unsigned head, count;
    unsigned long dropped;
    struct fuse_pollhandle *ph[EPV_POLLERS];
};

struct svc {
    char name[RPMSG_NAME_SIZE];
    uint32_t addr;
    bool used;
};

struct cpu {
    struct rpmsg_device *rdev; /* NULL: slot free */
    char name[RPMSG_NAME_SIZE];
    struct svc svc[EPV_SVCS];
};

static struct {
    pthread_mutex_t lock;
    struct cpu cpu[EPV_CPUS];
    struct chan *chans;
    struct linkopts *lo;
    struct rpmsg_link *link;
    pthread_t watcher;
    atomic_bool stop;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- Devices and announcements (rpmsg callbacks) --------------------------- */

static struct cpu *cpu_by_dev(struct rpmsg_device *rdev)
{
    if (!rdev)
        return NULL; /* NULL marks a free slot, not a device */
    for (int i = 0; i < EPV_CPUS; i++)
        if (g.cpu[i].rdev == rdev)
            return &g.cpu[i];
    return NULL;
}

static struct cpu *cpu_by_name(const char *name, size_t len)
{
    for (int i = 0; i < EPV_CPUS; i++)
        if (g.cpu[i].rdev && strlen(g.cpu[i].name) == len && !strncmp(g.cpu[i].name, name, len))
            return &g.cpu[i];
    return NULL;
}

static struct svc *svc_by_name(struct cpu *c, const char *name)
{
    for (int i = 0; i < EPV_SVCS; i++)
        if (c->svc[i].used && !strcmp(c->svc[i].name, name))
            return &c->svc[i];
    return NULL;
}

static struct cpu *cpu_add(struct rpmsg_device *rdev)
{
    struct cpu *c = cpu_by_dev(rdev);
    for (int i = 0; i < EPV_CPUS && !c; i++)
        if (!g.cpu[i].rdev) {
            c = &g.cpu[i];
            memset(c, 0, sizeof(*c));
            c->rdev = rdev;
            snprintf(c->name, sizeof(c->name), "%s", rpmsg_get_cpuname(rdev));
        }
    return c;
}

static void dev_created(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    pthread_mutex_lock(&g.lock);
    cpu_add(rdev);
    pthread_mutex_unlock(&g.lock);
}

static void wake(struct chan *ch)
{
    pthread_cond_broadcast(&ch->cond);
    for (int i = 0; i < EPV_POLLERS; i++)
        if (ch->ph[i]) {
            fuse_notify_poll(ch->ph[i]);
            fuse_pollhandle_destroy(ch->ph[i]);
            ch->ph[i] = NULL;
        }
}

/* The device goes: its channels end (destroying endpoints is allowed here). */
static void dev_destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)priv;
    pthread_mutex_lock(&g.lock);
    for (struct chan *ch = g.chans; ch; ch = ch->next) {
        if (ch->rdev != rdev)
            continue;
        while (ch->renewing) /* its endpoint is being created on rdev */
            pthread_cond_wait(&ch->cond, &g.lock);
        bool live = ch->live;
        ch->live = false;
        ch->dead = true;
        ch->rdev = NULL;
        wake(ch);
        if (live) {
            pthread_mutex_unlock(&g.lock);
            rpmsg_destroy_ept(&ch->ept);
            pthread_mutex_lock(&g.lock);
        }
    }
    struct cpu *c = cpu_by_dev(rdev);
    if (c)
        c->rdev = NULL;
    pthread_mutex_unlock(&g.lock);
}

static bool record(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv;
    pthread_mutex_lock(&g.lock);
    struct cpu *c = cpu_add(rdev);
    if (c) {
        struct svc *s = svc_by_name(c, name);
        for (int i = 0; i < EPV_SVCS && !s; i++)
            if (!c->svc[i].used) {
                s = &c->svc[i];
                s->used = true;
                snprintf(s->name, sizeof(s->name), "%s", name);
            }
        if (s)
            s->addr = dest;
    }
    pthread_mutex_unlock(&g.lock);
    return false; /* looked at, not taken */
}

/* ---- Channels ----------------------------------------------------------------- */

static int on_msg(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src, (void)priv;
    struct chan *ch = ept->priv;
    struct msg *m = malloc(sizeof(*m) + len);
    pthread_mutex_lock(&g.lock);
    if (!m || ch->count == EPV_QUEUE) {
        ch->dropped++;
        free(m);
    } else {
        m->len = len;
        m->off = 0;
        memcpy(m->data, data, len);
        ch->q[(ch->head + ch->count++) % EPV_QUEUE] = m;
        wake(ch);
    }
    pthread_mutex_unlock(&g.lock);
    return 0;
}

/* The peer destroyed its endpoint: the service is gone until announced again. */
static void on_unbind(struct rpmsg_endpoint *ept)
{
    struct chan *ch = ept->priv;
    pthread_mutex_lock(&g.lock);
    ch->dead = true;
    struct cpu *c = ch->rdev ? cpu_by_dev(ch->rdev) : NULL;
    struct svc *s = c ? svc_by_name(c, ch->name) : NULL;
    if (s)
        s->used = false;
    wake(ch);
    pthread_mutex_unlock(&g.lock);
}

/* "/CPU/NAME" split; false for any other shape. */
static bool split_path(const char *path, const char **cpu, size_t *cpulen, const char **name)
{
    if (path[0] != '/')
        return false;
    *cpu = path + 1;
    const char *slash = strchr(*cpu, '/');
    *cpulen = slash ? (size_t)(slash - *cpu) : strlen(*cpu);
    *name = slash ? slash + 1 : NULL;
    return *cpulen && (!*name || (**name && !strchr(*name, '/')));
}

/* The channel of a service file, bound (created or renewed) now. Called
 * with g.lock held; drops it around endpoint calls. */
static int chan_open(const char *path, struct chan **out)
{
    const char *cpuname, *name;
    size_t cpulen;
    if (!split_path(path, &cpuname, &cpulen, &name) || !name)
        return -ENOENT;
again:;
    struct cpu *c = cpu_by_name(cpuname, cpulen);
    struct svc *s = c ? svc_by_name(c, name) : NULL;
    if (!s)
        return -ENOENT;
    struct chan *ch = g.chans;
    while (ch && !(ch->rdev == c->rdev && !strcmp(ch->name, name)))
        ch = ch->next;
    if (ch && ch->live && !ch->dead) {
        *out = ch;
        return 0;
    }
    if (!ch) {
        ch = calloc(1, sizeof(*ch));
        if (!ch)
            return -ENOMEM;
        pthread_cond_init(&ch->cond, NULL);
        snprintf(ch->name, sizeof(ch->name), "%s", name);
        snprintf(ch->cpu, sizeof(ch->cpu), "%s", c->name);
        ch->next = g.chans;
        g.chans = ch;
    }
    /* A dead channel's endpoint goes before a new one is bound (the
     * service was announced again, maybe at a new address). */
    if (ch->sending || ch->renewing) {
        pthread_cond_wait(&ch->cond, &g.lock);
        goto again; /* the cpu or the service may have changed meanwhile */
    }
    bool live = ch->live;
    struct rpmsg_device *rdev = c->rdev;
    uint32_t addr = s->addr;
    ch->live = false;
    ch->renewing = true;
    ch->rdev = rdev; /* dev_destroyed waits for this creation to end */
    pthread_mutex_unlock(&g.lock);
    if (live)
        rpmsg_destroy_ept(&ch->ept);
    memset(&ch->ept, 0, sizeof(ch->ept));
    ch->ept.priv = ch;
    int r = rpmsg_create_ept(&ch->ept, rdev, name, RPMSG_ADDR_ANY, addr, on_msg, on_unbind);
    pthread_mutex_lock(&g.lock);
    ch->renewing = false;
    pthread_cond_broadcast(&ch->cond);
    if (r)
        return r;
    if (!ch->rdev) { /* its device went meanwhile */
        pthread_mutex_unlock(&g.lock);
        rpmsg_destroy_ept(&ch->ept);
        pthread_mutex_lock(&g.lock);
        return -ENOENT;
    }
    ch->live = true;
    ch->dead = false;
    *out = ch;
    return 0;
}

/* ---- FUSE operations ----------------------------------------------------------- */

/* What fi->fh points at: the channel and this open's poll slot. */
struct open_file {
    struct chan *ch;
    int flags;
};

/* A channel some file still has open, by its names (its cpu may be gone). */
static bool open_chan(const char *cpu, size_t cpulen, const char *name)
{
    for (struct chan *ch = g.chans; ch; ch = ch->next)
        if (ch->opens && strlen(ch->cpu) == cpulen && !strncmp(ch->cpu, cpu, cpulen) &&
            !strcmp(ch->name, name))
            return true;
    return false;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    (void)fi;
    memset(st, 0, sizeof(*st));
    st->st_uid = getuid();
    st->st_gid = getgid();
    if (!strcmp(path, "/")) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        return 0;
    }
    const char *cpuname, *name;
    size_t cpulen;
    if (!split_path(path, &cpuname, &cpulen, &name))
        return -ENOENT;
    pthread_mutex_lock(&g.lock);
    struct cpu *c = cpu_by_name(cpuname, cpulen);
    int r = -ENOENT;
    if (c && !name) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        r = 0;
    } else if (name && ((c && svc_by_name(c, name)) || open_chan(cpuname, cpulen, name))) {
        /* An open file's name stays (fstat, as `cat` does) after its service went. */
        st->st_mode = S_IFREG | 0666;
        st->st_nlink = 1;
        r = 0;
    }
    pthread_mutex_unlock(&g.lock);
    return r;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off, (void)fi, (void)flags;
    const char *cpuname, *name;
    size_t cpulen;
    bool root = !strcmp(path, "/");
    if (!root && (!split_path(path, &cpuname, &cpulen, &name) || name))
        return -ENOTDIR;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    pthread_mutex_lock(&g.lock);
    int r = 0;
    if (root) {
        for (int i = 0; i < EPV_CPUS; i++)
            if (g.cpu[i].rdev)
                fill(buf, g.cpu[i].name, NULL, 0, 0);
    } else {
        struct cpu *c = cpu_by_name(cpuname, cpulen);
        if (!c)
            r = -ENOENT;
        for (int i = 0; c && i < EPV_SVCS; i++)
            if (c->svc[i].used)
                fill(buf, c->svc[i].name, NULL, 0, 0);
    }
    pthread_mutex_unlock(&g.lock);
    return r;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct open_file *of = calloc(1, sizeof(*of));
    if (!of)
        return -ENOMEM;
    pthread_mutex_lock(&g.lock);
    int r = chan_open(path, &of->ch);
    if (!r)
        of->ch->opens++;
    pthread_mutex_unlock(&g.lock);
    if (r) {
        free(of);
        return r;
    }
    of->flags = fi->flags;
    fi->fh = (uintptr_t)of;
    fi->direct_io = 1; /* one message per read, no page cache */
    fi->nonseekable = 1;
    return 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;
    pthread_mutex_lock(&g.lock);
    of->ch->opens--;
    pthread_mutex_unlock(&g.lock);
    free(of);
    return 0;
}

/* `echo > FILE` truncates first: a channel has nothing to truncate. */
static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    (void)path, (void)size, (void)fi;
    return 0;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path, (void)off;
    struct chan *ch = ((struct open_file *)(uintptr_t)fi->fh)->ch;
    pthread_mutex_lock(&g.lock);
    bool ok = ch->live && !ch->dead;
    ch->sending += ok;
    pthread_mutex_unlock(&g.lock);
    if (!ok)
        return -EPIPE;
    /* Destroyed meanwhile by dev_destroyed is safe (the core refuses the
     * send); only a renewal (memset, create) must wait for us. */
    int r = rpmsg_send(&ch->ept, buf, size);
    pthread_mutex_lock(&g.lock);
    if (!--ch->sending)
        pthread_cond_broadcast(&ch->cond);
    pthread_mutex_unlock(&g.lock);
    return r < 0 ? r : (int)size;
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    (void)path, (void)off;
    struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;
    struct chan *ch = of->ch;
    pthread_mutex_lock(&g.lock);
    int r;
    for (;;) {
        if (ch->count) {
            /* A read never joins two messages; a short buffer (a shell's
             * `read`, byte by byte) gets the rest of this one next time. */
            struct msg *m = ch->q[ch->head];
            r = (int)(m->len - m->off < size ? m->len - m->off : size);
            memcpy(buf, m->data + m->off, (size_t)r);
            m->off += (size_t)r;
            if (m->off == m->len) {
                ch->head = (ch->head + 1) % EPV_QUEUE;
                ch->count--;
                free(m);
            }
            break;
        }
        if (ch->dead || !ch->live || g.stop) {
            r = 0; /* end of file: the service or its cpu is gone */
            break;
        }
        if (of->flags & O_NONBLOCK) {
            r = -EAGAIN;
            break;
        }
        if (fuse_interrupted()) {
            r = -EINTR;
            break;
        }
        /* Timed: an interrupt (Ctrl-C on the reader) is noticed by polling. */
        cond_wait_ms(&ch->cond, &g.lock, 100);
    }
    pthread_mutex_unlock(&g.lock);
    return r;
}

static int op_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
                   unsigned *reventsp)
{
    (void)path;
    struct chan *ch = ((struct open_file *)(uintptr_t)fi->fh)->ch;
    pthread_mutex_lock(&g.lock);
    unsigned ev = 0;
    if (ch->count)
        ev |= POLLIN;
    if (ch->dead || !ch->live)
        ev |= POLLHUP | (ch->count ? 0 : POLLIN); /* a read returns EOF at once */
    else
        ev |= POLLOUT;
    if (ph) {
        /* Armed for the next message; a full table wakes the oldest now. */
        int slot = 0;
        for (int i = 0; i < EPV_POLLERS; i++)
            if (!ch->ph[i]) {
                slot = i;
                break;
            }
        if (ch->ph[slot]) {
            fuse_notify_poll(ch->ph[slot]);
            fuse_pollhandle_destroy(ch->ph[slot]);
        }
        ch->ph[slot] = ph;
    }
    pthread_mutex_unlock(&g.lock);
    *reventsp = ev;
    return 0;
}

/* The tree changes as cpus and services come and go: nothing is cached. */
static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->attr_timeout = 0;
    return NULL;
}

static void op_destroy(void *priv)
{
    (void)priv;
    atomic_store(&g.stop, true);
}

static const struct fuse_operations ops = {
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .release = op_release,
    .truncate = op_truncate,
    .read = op_read,
    .write = op_write,
    .poll = op_poll,
    .init = op_init,
    .destroy = op_destroy,
};

/* ---- The link, opened again when it dies -------------------------------------- */

static bool cancelled(void *arg)
{
    (void)arg;
    return atomic_load(&g.stop);
}

static void *watch(void *arg)
{
    (void)arg;
    while (!atomic_load(&g.stop)) {
        if (g.link && !rpmsg_link_is_dead(g.link)) {
            usleep(100 * 1000);
            continue;
        }
        if (g.link) {
            fprintf(stderr, "rpmsg fs endpoints: link lost; waiting for it again\n");
            rpmsg_link_close(g.link); /* device_destroyed ends its channels */
            g.link = NULL;
        }
        if (linkopts_open(g.lo, &g.link, "fs endpoints"))
            usleep(200 * 1000);
    }
    return NULL;
}

static void free_chans(void)
{
    while (g.chans) {
        struct chan *ch = g.chans;
        g.chans = ch->next;
        if (ch->dropped)
            fprintf(stderr, "rpmsg fs endpoints: %s/%s: %lu messages dropped (%d unread)\n",
                    ch->cpu, ch->name, ch->dropped, EPV_QUEUE);
        if (ch->live)
            rpmsg_destroy_ept(&ch->ept);
        for (unsigned i = 0; i < ch->count; i++)
            free(ch->q[(ch->head + i) % EPV_QUEUE]);
        for (int i = 0; i < EPV_POLLERS; i++)
            if (ch->ph[i])
                fuse_pollhandle_destroy(ch->ph[i]);
        pthread_cond_destroy(&ch->cond);
        free(ch);
    }
}

static int serve(struct linkopts *lo, const char *mnt, const char *fopts, bool debug)
{
    g.lo = lo;
    int r = rpmsg_register_callback(&g, dev_created, dev_destroyed, record, NULL);
    if (r) {
        fprintf(stderr, "rpmsg fs endpoints: %s\n", rpmsg_strerror(r));
        return 1;
    }
    if (linkopts_open(lo, &g.link, "fs endpoints")) {
        rpmsg_unregister_callback(&g, dev_created, dev_destroyed, record, NULL);
        return 1;
    }
    fprintf(stderr, "rpmsg fs endpoints: '%s' at %s\n", rpmsg_get_cpuname(rpmsg_link_device(g.link)),
            mnt);
    /* Reopening is cancelled when the mount ends: FUSE owns the signals. */
    lo->cfg.cancel = cancelled;
    lo->cfg.cancel_arg = NULL;
    bool watching = pthread_create(&g.watcher, NULL, watch, NULL) == 0;
    char *argv[8];
    int argc = 0;
    argv[argc++] = "rpmsg fs endpoints";
    argv[argc++] = (char *)mnt;
    argv[argc++] = "-f";
    if (debug)
        argv[argc++] = "-d";
    if (fopts && *fopts) {
        argv[argc++] = "-o";
        argv[argc++] = (char *)fopts;
    }
    argv[argc] = NULL;
    int rc = fuse_main(argc, argv, &ops, NULL);
    atomic_store(&g.stop, true);
    if (watching)
        pthread_join(g.watcher, NULL);
    rpmsg_unregister_callback(&g, dev_created, dev_destroyed, record, NULL);
    free_chans();
    if (g.link)
        rpmsg_link_close(g.link);
    return rc;
}

#else

static int serve(struct linkopts *lo, const char *mnt, const char *fopts, bool debug)
{
    (void)lo, (void)mnt, (void)fopts, (void)debug;
    fprintf(stderr, "rpmsg fs endpoints: built without libfuse3 (scripts/install-deps installs it)\n");
    return 1;
}

#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg fs endpoints [LINK OPTIONS] MOUNTPOINT [-o FUSE-OPTIONS]\n"
               "Mounts the endpoint view: a directory per remote cpu, a file per service it\n"
               "announced. Opening a file binds an endpoint to the service (kept until the\n"
               "service or the link goes); each write sends one message, each read returns\n"
               "one (blocking; EAGAIN with O_NONBLOCK); poll works. In the foreground until\n"
               "`fusermount3 -u MOUNTPOINT` (defaults: --role host --side attach).\n"
               "  -o OPTIONS   FUSE options (allow_other, default_permissions)\n"
               "  --debug      FUSE's debug output\n" LINKOPTS_USAGE);
}

int fs_endpoints_main(int argc, char **argv)
{
    struct linkopts lo;
    linkopts_init(&lo, RPMSG_LINK_HOST, RPMSG_LINK_ATTACH);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *fopts = NULL;
    bool debug = false;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        int k = linkopts_parse(&lo, c, optarg);
        if (k < 0)
            return TOOL_USAGE;
        if (k)
            continue;
        switch (c) {
        case 'd': debug = true; break;
        case 'o': fopts = optarg; break;
        case 'h': usage(stdout); return TOOL_OK;
        default: usage(stderr); return TOOL_USAGE;
        }
    }
    if (argc - optind != 1) {
        usage(stderr);
        return TOOL_USAGE;
    }
    return serve(&lo, argv[optind], fopts, debug);
}
