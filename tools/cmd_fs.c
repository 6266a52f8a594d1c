/*
 * `rpmsg fs export` serves a directory over a link; `rpmsg fs mount` mounts
 * one that a peer exports (ours, or NuttX's rpmsgfs) through FUSE;
 * `rpmsg fs endpoints` is the endpoint view (cmd_fs_endpoints.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_endpoints.h"
#include "fs_fuse.h"
#include "linkopts.h"
#include "opt.h"
#include "rpmsg/rpmsg_fs.h"
#include "stop.h"
#include "tools.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: rpmsg fs export [LINK OPTIONS] NAME DIR [--read-only]\n"
               "       rpmsg fs mount [LINK OPTIONS] [CPU:]NAME MOUNTPOINT [-o FUSE-OPTIONS]\n"
               "       rpmsg fs endpoints [LINK OPTIONS] MOUNTPOINT (rpmsg fs endpoints --help)\n"
               "export serves DIR as NAME until signalled or the link drops (defaults:\n"
               "--role remote --side create). mount mounts the peer's export NAME (for a\n"
               "NuttX peer, NAME is a directory of its VFS such as /data) with FUSE, in the\n"
               "foreground, until `fusermount3 -u MOUNTPOINT` (defaults: --role host --side\n"
               "attach). CPU, if given, must be the link's peer.\n"
               "  --read-only        export: refuse every change (EROFS)\n"
               "  --nuttx-format     never use the extension (behave as NuttX)\n"
               "  --timeout MS       mount: bound of each request (default 10000)\n"
               "  -o OPTIONS         mount: FUSE options (allow_other, default_permissions, ro)\n"
               "  --debug            mount: FUSE's debug output\n" LINKOPTS_USAGE);
}

static int do_export(struct linkopts *lo, const char *name, const char *dir, bool ro, bool nx)
{
    struct rpmsg_fs_server *srv;
    struct rpmsg_fs_server_config sc = { .nuttx_only = nx };
    int r = rpmsg_fs_server_create(&srv, &sc);
    if (r == 0)
        r = rpmsg_fs_server_export(srv, name, dir, ro);
    if (r < 0) {
        fprintf(stderr, "rpmsg fs export: %s: %s\n", dir, rpmsg_strerror(r));
        return 1;
    }
    tool_stop_on_signals();
    struct rpmsg_link *link;
    if (linkopts_open(lo, &link, "fs export")) {
        rpmsg_fs_server_destroy(srv);
        return 1;
    }
    struct rpmsg_device *rdev = rpmsg_link_device(link);
    fprintf(stderr, "rpmsg fs export: '%s' (%s%s) to '%s'\n", name, dir, ro ? ", read-only" : "",
            rpmsg_get_cpuname(rdev));
    struct rpmsg_sem never;
    rpmsg_sem_init(&never, 0);
    while (!tool_stop && rpmsg_device_is_up(rdev))
        rpmsg_wait_timeout(NULL, &never, 100);
    rpmsg_sem_deinit(&never);
    rpmsg_fs_server_destroy(srv);
    rpmsg_link_close(link);
    return 0;
}

/*
 * The mount's link, watched: when it goes down (the exporting process died,
 * the line broke) calls already fail with EIO; the watcher then drops the
 * client, closes the link and opens it again (a native VirtIO link comes
 * back as a new link object, like `rpmsg echo --serve`), until a new client
 * connects and is swapped in. Files open before stay EIO; new opens work.
 */
struct mount_watch {
    struct linkopts *lo;
    struct fs_mount m;
    struct rpmsg_link *link;
    struct rpmsg_fs_client cli[2]; /* the one in use and the next */
    int cur;
    char root[RPMSG_FS_ROOT_MAX];
    struct rpmsg_fs_client_config cc;
    _Atomic bool stop;
    struct rpmsg_sem wake;
};

static bool watch_cancel(void *arg)
{
    struct mount_watch *w = arg;
    return w->stop;
}

/* Opens the link and connects cli[i]: 0, or a negative errno (said why). */
static int connect_once(struct mount_watch *w, int i)
{
    if (linkopts_open(w->lo, &w->link, "fs mount"))
        return -ENOTCONN;
    int r = rpmsg_fs_client_init(&w->cli[i], rpmsg_link_device(w->link), w->root, &w->cc);
    if (r < 0) {
        fprintf(stderr, "rpmsg fs mount: %s: %s\n", w->root, rpmsg_strerror(r));
        rpmsg_link_close(w->link);
        w->link = NULL;
    }
    return r;
}

static void *watch_thread(void *arg)
{
    struct mount_watch *w = arg;
    while (!w->stop) {
        if (w->link && rpmsg_device_is_up(rpmsg_link_device(w->link))) {
            rpmsg_wait_timeout(NULL, &w->wake, 100);
            continue;
        }
        struct rpmsg_fs_client *old = fs_mount_swap(&w->m, NULL);
        if (old) {
            fprintf(stderr, "rpmsg fs mount: link lost; calls fail with EIO until it is back\n");
            rpmsg_fs_client_deinit(old);
        }
        if (w->link)
            rpmsg_link_close(w->link);
        w->link = NULL;
        int next = 1 - w->cur;
        if (connect_once(w, next) == 0) {
            w->cur = next;
            fs_mount_swap(&w->m, &w->cli[next]);
            fprintf(stderr, "rpmsg fs mount: link back, '%s' mounted again\n", w->root);
        } else {
            rpmsg_wait_timeout(NULL, &w->wake, 200);
        }
    }
    return NULL;
}

static int do_mount(struct linkopts *lo, const char *target, const char *mnt, const char *fopts,
                    uint32_t timeout, bool nx, bool debug)
{
    static struct mount_watch w;
    const char *colon = strchr(target, ':');
    const char *name = colon ? colon + 1 : target;
    w.lo = lo;
    w.cc = (struct rpmsg_fs_client_config){ .timeout_ms = timeout, .nuttx_only = nx };
    /* Our exports are "/NAME"; a NuttX peer's root is a path of its own. */
    snprintf(w.root, sizeof(w.root), "%s%s", name[0] == '/' ? "" : "/", name);
    if (linkopts_open(lo, &w.link, "fs mount"))
        return 1;
    struct rpmsg_device *rdev = rpmsg_link_device(w.link);
    if (colon && (strlen(rpmsg_get_cpuname(rdev)) != (size_t)(colon - target) ||
                  strncmp(rpmsg_get_cpuname(rdev), target, (size_t)(colon - target)))) {
        fprintf(stderr, "rpmsg fs mount: the link's peer is '%s'\n", rpmsg_get_cpuname(rdev));
        rpmsg_link_close(w.link);
        return 1;
    }
    int r = rpmsg_fs_client_init(&w.cli[0], rdev, w.root, &w.cc);
    if (r < 0) {
        fprintf(stderr, "rpmsg fs mount: %s: %s\n", w.root, rpmsg_strerror(r));
        rpmsg_link_close(w.link);
        return 1;
    }
    fprintf(stderr, "rpmsg fs mount: '%s' of '%s' at %s%s\n", w.root, rpmsg_get_cpuname(rdev),
            mnt, rpmsg_fs_client_extended(&w.cli[0]) ? "" : " (NuttX format)");
    fs_mount_init(&w.m, &w.cli[0]);
    rpmsg_sem_init(&w.wake, 0);
    /* Reopening is cancelled when the mount ends, not by a signal: FUSE
     * owns SIGINT/SIGTERM while it runs. */
    lo->cfg.cancel = watch_cancel;
    lo->cfg.cancel_arg = &w;
    pthread_t th;
    bool watching = pthread_create(&th, NULL, watch_thread, &w) == 0;
    int rc = fs_fuse_run(&w.m, "rpmsg fs mount", mnt, fopts, debug);
    w.stop = true;
    if (watching) {
        rpmsg_post(NULL, &w.wake);
        pthread_join(th, NULL);
    }
    struct rpmsg_fs_client *c = fs_mount_swap(&w.m, NULL);
    if (c)
        rpmsg_fs_client_deinit(c);
    if (w.link)
        rpmsg_link_close(w.link);
    fs_mount_deinit(&w.m);
    rpmsg_sem_deinit(&w.wake);
    return rc;
}

static int run(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "endpoints"))
        return fs_endpoints_main(argc - 1, argv + 1);
    bool export = !strcmp(argv[1], "export");
    if (!export && strcmp(argv[1], "mount")) {
        usage(stderr);
        return 2;
    }
    struct linkopts lo;
    if (export)
        linkopts_init(&lo, RPMSG_LINK_REMOTE, RPMSG_LINK_CREATE);
    else
        linkopts_init(&lo, RPMSG_LINK_HOST, RPMSG_LINK_ATTACH);
    static const struct option opts[] = {
        LINKOPTS_LONG,
        { "read-only", no_argument, NULL, 'r' },
        { "nuttx-format", no_argument, NULL, 'x' },
        { "timeout", required_argument, NULL, 't' },
        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool ro = false, nx = false, debug = false;
    const char *fopts = NULL;
    uint32_t timeout = 0;
    int c;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        int k = linkopts_parse(&lo, c, optarg);
        if (k < 0)
            return 2;
        if (k)
            continue;
        switch (c) {
        case 'r': ro = true; break;
        case 'x': nx = true; break;
        case 't':
            if (opt_u32("timeout", optarg, 1, LINKOPTS_WAIT_MAX, &timeout))
                return TOOL_USAGE;
            break;
        case 'd': debug = true; break;
        case 'o': fopts = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    if (export)
        return do_export(&lo, argv[optind], argv[optind + 1], ro, nx);
    return do_mount(&lo, argv[optind], argv[optind + 1], fopts, timeout, nx, debug);
}

const struct rpmsg_tool_cmd rpmsg_cmd_fs = {
    .name = "fs",
    .summary = "export a directory, or mount a peer's (RPMsg FS, FUSE)",
    .run = run,
};
