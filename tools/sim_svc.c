/*
 * A sim core's declared services (sim_svc.h). Bridges are `rpmsg sock`'s
 * bridge (sock_bridge.c) with no device of its own, so rpmsg:CPU:NAME finds
 * CPU among the core's links and the far cores its router reaches. Exports
 * are one RPMsg FS server, which answers on every link. A mount is a thread
 * that waits for its core's device to come up (device_created), connects a
 * client to the export and mounts it with fs_fuse.c's operations; when the
 * device goes down the client is dropped (calls fail with EIO, as on
 * `rpmsg fs mount`), and the next time it comes up a new client is swapped
 * in, so a restarted core or a reopened link is mounted again.
 */
#include "sim_svc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cond_wait.h"
#include "fs_fuse.h"
#include "fuse_bg.h"
#include "rpmsg/rpmsg_fs.h"
#include "sock_bridge.h"

struct svc_mount {
    struct sim_svc *s;
    int idx;
    const struct topo_mount *tm;
    const char *cpu;
    char who[96];
    pthread_t th;
    bool th_ok;
    struct rpmsg_device *dev;     /* the target's device while up */
    struct rpmsg_device *cli_dev; /* the device of the client in use */
    bool busy;                    /* connecting on dev, outside the lock */
    struct rpmsg_fs_client cli[2]; /* in use, and the next */
    int cur;
    struct fs_mount m;
    struct fuse_bg *bg;
};

struct svc_bridge {
    struct sock_bridge b;
    struct sim_bridge_status *st;
    char who[96];
    pthread_t th;
    bool th_ok;
};

struct sim_svc {
    const struct topo *t;
    int me;
    struct sim_core_status *st;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    struct svc_bridge br[TOPO_SVC_MAX];
    int nbr;
    struct rpmsg_fs_server *srv;
    struct svc_mount mnt[TOPO_SVC_MAX];
    int nmnt;
    bool registered;
};

/* ---- --check -------------------------------------------------------------- */

static int check_fail(const struct topo *t, int line, char *err, size_t len, const char *fmt,
                      const char *a, const char *b)
{
    int n = snprintf(err, len, "%s:%d: ", t->file, line);
    if (n >= 0 && (size_t)n < len)
        snprintf(err + n, len - (size_t)n, fmt, a, b);
    return -1;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int sim_svc_check(const struct topo *t, char *err, size_t errlen)
{
    static struct sock_bridge b; /* large; --check runs once, single-threaded */
    for (int c = 0; c < t->ncores; c++) {
        const struct topo_core *k = &t->cores[c];
        for (int i = 0; i < k->nbridges; i++) {
            const struct topo_bridge *tb = &k->bridge[i];
            memset(&b, 0, sizeof(b));
            if (!sock_bridge_parse(&b, tb->a, tb->b))
                return check_fail(t, tb->line, err, errlen,
                                  "bridge: '%s %s' is no bridge of `rpmsg sock` (an accepting "
                                  "end and rpmsg:CPU:NAME, or rpmsg-listen:NAME and a "
                                  "connecting end)",
                                  tb->a, tb->b);
            if (b.end.kind == SE_STDIO)
                return check_fail(t, tb->line, err, errlen, "bridge: %s%s: a core has no stdio",
                                  tb->a, "");
            if (b.rpmsg_listen)
                continue;
            int to = topo_core_index(t, b.raddr.cpu);
            int path[TOPO_CORES_MAX];
            if (!b.raddr.cpu[0])
                return check_fail(t, tb->line, err, errlen,
                                  "bridge: %s names no core (rpmsg:CPU:NAME)%s", b.arg_rpmsg, "");
            if (to < 0)
                return check_fail(t, tb->line, err, errlen, "bridge: unknown core '%s'%s",
                                  b.raddr.cpu, "");
            if (to == c || !topo_path(t, c, to, path, TOPO_CORES_MAX))
                return check_fail(t, tb->line, err, errlen,
                                  "bridge: no route to core '%s'%s (itself, or not through hubs)",
                                  b.raddr.cpu, "");
        }
        for (int i = 0; i < k->nexports; i++)
            if (!is_dir(k->export[i].dir))
                return check_fail(t, k->export[i].line, err, errlen,
                                  "export '%s': '%s' is no directory", k->export[i].name,
                                  k->export[i].dir);
        for (int i = 0; i < k->nmounts; i++)
            if (!is_dir(k->mount[i].dir))
                return check_fail(t, k->mount[i].line, err, errlen,
                                  "mount '%s': mount point '%s' is no directory",
                                  k->mount[i].name, k->mount[i].dir);
    }
    return 0;
}

/* ---- Bridges ---------------------------------------------------------------- */

static void *bridge_thread(void *arg)
{
    struct svc_bridge *br = arg;
    if (sock_bridge_run(&br->b, NULL) && !atomic_load(&br->b.stop))
        __atomic_store_n(&br->st->state, SIM_SVC_FAILED, __ATOMIC_RELEASE); /* said why */
    return NULL;
}

/* ---- Mounts ----------------------------------------------------------------- */

static void mount_set(struct svc_mount *m, uint32_t state, const char *why, int err)
{
    struct sim_mount_status *ms = &m->s->st->mount[m->idx];
    if (why)
        snprintf(ms->error, sizeof(ms->error), "%.40s: %.36s", why, rpmsg_strerror(err));
    __atomic_store_n(&ms->state, state, __ATOMIC_RELEASE);
}

static void dev_created(struct rpmsg_device *rdev, void *priv)
{
    struct sim_svc *s = priv;
    const char *cpu = rpmsg_get_cpuname(rdev);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nmnt; i++)
        if (cpu && !strcmp(cpu, s->mnt[i].cpu))
            s->mnt[i].dev = rdev;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* The client on a device that goes is dropped before the device is. */
static void dev_destroyed(struct rpmsg_device *rdev, void *priv)
{
    struct sim_svc *s = priv;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->nmnt; i++) {
        struct svc_mount *m = &s->mnt[i];
        while (m->busy && m->dev == rdev)
            pthread_cond_wait(&s->cond, &s->lock);
        if (m->dev == rdev)
            m->dev = NULL;
        if (m->cli_dev != rdev)
            continue;
        m->cli_dev = NULL;
        struct rpmsg_fs_client *old = fs_mount_swap(&m->m, NULL);
        if (old)
            rpmsg_fs_client_deinit(old);
        mount_set(m, SIM_SVC_WAITING, NULL, 0);
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Connects the next client on dev (outside the lock: it waits for the
 * server) and swaps it in. */
static void mount_connect(struct svc_mount *m, struct rpmsg_device *dev, char *root)
{
    struct sim_svc *s = m->s;
    m->busy = true;
    pthread_mutex_unlock(&s->lock);
    int next = 1 - m->cur;
    struct rpmsg_fs_client_config cc = { .timeout_ms = 5000 };
    int r = rpmsg_fs_client_init(&m->cli[next], dev, root, &cc);
    pthread_mutex_lock(&s->lock);
    m->busy = false;
    pthread_cond_broadcast(&s->cond);
    if (r < 0) {
        mount_set(m, SIM_SVC_WAITING, root, r);
        return;
    }
    m->cur = next;
    m->cli_dev = dev;
    if (!m->bg) {
        fs_mount_init(&m->m, &m->cli[next]);
        r = fuse_bg_start(&m->bg, fs_fuse_ops(), &m->m, m->who, m->tm->dir, NULL);
        if (r < 0) {
            fprintf(stderr, "%s: cannot mount at %s: %s\n", m->who, m->tm->dir,
                    rpmsg_strerror(r));
            fs_mount_swap(&m->m, NULL);
            rpmsg_fs_client_deinit(&m->cli[next]);
            m->cli_dev = NULL;
            mount_set(m, SIM_SVC_FAILED, "fuse mount", r);
            m->bg = NULL;
            return;
        }
    } else {
        fs_mount_swap(&m->m, &m->cli[next]);
        s->st->mount[m->idx].remounts++;
    }
    mount_set(m, SIM_SVC_RUNNING, NULL, 0);
}

static void *mount_thread(void *arg)
{
    struct svc_mount *m = arg;
    struct sim_svc *s = m->s;
    char root[RPMSG_FS_ROOT_MAX];
    snprintf(root, sizeof(root), "/%s", m->tm->name);
    pthread_mutex_lock(&s->lock);
    while (!s->stop && s->st->mount[m->idx].state != SIM_SVC_FAILED) {
        struct rpmsg_device *dev = m->dev;
        if (dev && !m->cli_dev && rpmsg_device_is_up(dev)) {
            mount_connect(m, dev, root);
            if (m->cli_dev)
                continue;
        }
        /* Wakes on device changes; the timeout paces the retries of a
         * refused connect (no such export yet). */
        cond_wait_ms(&s->cond, &s->lock, 200);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- Life cycle ---------------------------------------------------------------- */

int sim_svc_start(struct sim_svc **out, const struct topo *t, int me,
                  struct sim_core_status *st)
{
    const struct topo_core *k = &t->cores[me];
    *out = NULL;
    memset(st->bridge, 0, sizeof(st->bridge));
    memset(st->mount, 0, sizeof(st->mount));
    st->fs_clients = 0;
    if (!k->nbridges && !k->nexports && !k->nmounts)
        return 0;
    struct sim_svc *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->t = t;
    s->me = me;
    s->st = st;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    *out = s;
    int r = 0;
    if (k->nexports) {
        r = rpmsg_fs_server_create(&s->srv, NULL);
        for (int i = 0; i < k->nexports && !r; i++) {
            r = rpmsg_fs_server_export(s->srv, k->export[i].name, k->export[i].dir,
                                       k->export[i].ro);
            if (r)
                fprintf(stderr, "rpmsg sim: core %s: export %s (%s): %s\n", k->name,
                        k->export[i].name, k->export[i].dir, rpmsg_strerror(r));
        }
        if (r)
            return r;
    }
    for (int i = 0; i < k->nbridges; i++) {
        struct svc_bridge *br = &s->br[s->nbr++];
        snprintf(br->who, sizeof(br->who), "rpmsg sim: core %s: bridge %d", k->name, i + 1);
        br->b.who = br->who;
        br->st = &st->bridge[i];
        if (!sock_bridge_parse(&br->b, k->bridge[i].a, k->bridge[i].b))
            return -EINVAL; /* sim_svc_check said why */
        st->bridge[i].state = SIM_SVC_RUNNING;
        br->th_ok = pthread_create(&br->th, NULL, bridge_thread, br) == 0;
        if (!br->th_ok)
            st->bridge[i].state = SIM_SVC_FAILED;
    }
    s->nmnt = k->nmounts;
    for (int i = 0; i < k->nmounts; i++) {
        struct svc_mount *m = &s->mnt[i];
        m->s = s;
        m->idx = i;
        m->tm = &k->mount[i];
        m->cpu = t->cores[m->tm->cpu].name;
        snprintf(m->who, sizeof(m->who), "rpmsg sim: core %s: mount %s:%s", k->name, m->cpu,
                 m->tm->name);
    }
    if (k->nmounts) {
        r = rpmsg_register_callback(s, dev_created, dev_destroyed, NULL, NULL);
        s->registered = r == 0;
        for (int i = 0; i < k->nmounts && !r; i++)
            s->mnt[i].th_ok = pthread_create(&s->mnt[i].th, NULL, mount_thread, &s->mnt[i]) == 0;
    }
    return r;
}

void sim_svc_publish(struct sim_svc *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nbr; i++) {
        struct sock_bridge *b = &s->br[i].b;
        struct sim_bridge_status *bs = &s->st->bridge[i];
        unsigned long active = atomic_load(&b->active);
        bs->active = active;
        bs->conns = atomic_load(&b->done) + active;
        bs->errors = atomic_load(&b->errors);
        bs->to_rpmsg = atomic_load(&b->to_rpmsg);
        bs->to_end = atomic_load(&b->to_end);
    }
    if (s->srv)
        s->st->fs_clients = rpmsg_fs_server_clients(s->srv);
}

void sim_svc_core_gone(const struct topo *t, int core)
{
    /* Its server is gone with it: whatever is mounted there is stale, even
     * when stat still answers from the cache (a restart would stack its
     * mount on top, and the stale one would outlive the sim). */
    for (int i = 0; i < t->cores[core].nmounts; i++)
        fuse_bg_detach_all(t->cores[core].mount[i].dir);
}

void sim_svc_stop(struct sim_svc *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->nmnt; i++) {
        struct svc_mount *m = &s->mnt[i];
        if (m->th_ok)
            pthread_join(m->th, NULL);
        if (m->bg) {
            bool gone = fuse_bg_stop(m->bg, 3000);
            struct rpmsg_fs_client *c = fs_mount_swap(&m->m, NULL);
            if (c)
                rpmsg_fs_client_deinit(c);
            if (gone) /* else a stuck worker may still take the lock */
                fs_mount_deinit(&m->m);
        }
    }
    if (s->registered)
        rpmsg_unregister_callback(s, dev_created, dev_destroyed, NULL, NULL);
    for (int i = 0; i < s->nbr; i++) {
        sock_bridge_stop(&s->br[i].b, 3000);
        if (s->br[i].th_ok)
            pthread_join(s->br[i].th, NULL);
    }
    if (s->srv)
        rpmsg_fs_server_destroy(s->srv);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
