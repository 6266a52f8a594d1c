/*
 * RPMsg FS throughput through the client API, as a fraction of raw rpmsg
 * throughput on the same link in the same run: a loopback pair with RX
 * threads (512-byte buffers), the server exporting a directory in /dev/shm
 * (so the figure is the protocol's, not a disk's). Sequential write and
 * read with 1 MiB calls, and small-file create + 4 KiB write + close.
 * Both formats: the extension (pipelined chunks, every one answered) and
 * NuttX's (only the last chunk answered). Where FUSE can mount, the same
 * through `rpmsg fs mount`'s FUSE code (tools/fs_fuse.c) served in this
 * process over the same link, used with plain system calls.
 */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <errno.h>
#include <pthread.h>
#include <sys/mount.h>

#include "fs_fuse.h"
#include "rpmsg/rpmsg_fs.h"
#include "rpmsg/rpmsg_loopback.h"

#define MIB (1u << 20)

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct sink {
    struct rpmsg_endpoint ept;
    struct rpmsg_sem done;
    uint64_t bytes, want;
};

static int sink_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)data;
    (void)src;
    struct sink *s = priv;
    s->bytes += len;
    if (s->bytes >= s->want)
        rpmsg_post(ept, &s->done);
    return 0;
}

/* Raw one-way throughput, MB/s, of full-size messages from a to b. */
static double raw_mbs(struct rpmsg_device *a, struct rpmsg_device *b, uint64_t total)
{
    static struct sink s;
    static struct rpmsg_endpoint tx;
    memset(&s, 0, sizeof(s));
    s.want = total;
    rpmsg_sem_init(&s.done, 0);
    s.ept.priv = &s;
    if (rpmsg_create_ept(&s.ept, b, "bench-sink", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, sink_cb, NULL) ||
        rpmsg_create_ept(&tx, a, "bench-sink", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, sink_cb, NULL) ||
        rpmsg_wait_ept_ready(&tx, 10000))
        return 0;
    int cap = rpmsg_get_tx_buffer_size(&tx);
    static uint8_t buf[RPMSG_BUFFER_SIZE];
    double t0 = now_s();
    for (uint64_t sent = 0; sent < total; sent += (uint64_t)cap)
        if (rpmsg_send(&tx, buf, (size_t)cap) < 0)
            return 0;
    rpmsg_wait_timeout(NULL, &s.done, 60000);
    double dt = now_s() - t0;
    rpmsg_destroy_ept(&tx);
    rpmsg_destroy_ept(&s.ept);
    rpmsg_sem_deinit(&s.done);
    return (double)total / dt / 1e6;
}

struct fs_figs {
    double write_mbs, read_mbs, small_ops;
};

static void api(struct rpmsg_device *a, bool nuttx, uint64_t total, unsigned files,
                struct fs_figs *f)
{
    static struct rpmsg_fs_client c;
    struct rpmsg_fs_client_config cc = { .nuttx_only = nuttx, .timeout_ms = 60000 };
    memset(f, 0, sizeof(*f));
    if (rpmsg_fs_client_init(&c, a, "/bench", &cc))
        return;
    uint8_t *buf = calloc(1, MIB);
    int fd = rpmsg_fs_open(&c, "seq", O_RDWR | O_CREAT | O_TRUNC, 0644);
    double t0 = now_s();
    for (uint64_t done = 0; done < total; done += MIB)
        if (rpmsg_fs_write(&c, fd, buf, MIB) != MIB)
            goto out;
    f->write_mbs = (double)total / (now_s() - t0) / 1e6;
    rpmsg_fs_lseek(&c, fd, 0, SEEK_SET);
    t0 = now_s();
    for (uint64_t done = 0; done < total; done += MIB)
        if (rpmsg_fs_read(&c, fd, buf, MIB) != MIB)
            goto out;
    f->read_mbs = (double)total / (now_s() - t0) / 1e6;
    rpmsg_fs_close(&c, fd);
    t0 = now_s();
    for (unsigned i = 0; i < files; i++) {
        char name[32];
        snprintf(name, sizeof(name), "s%u", i);
        int sfd = rpmsg_fs_open(&c, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (sfd < 0 || rpmsg_fs_write(&c, sfd, buf, 4096) != 4096 || rpmsg_fs_close(&c, sfd))
            goto out;
    }
    f->small_ops = files / (now_s() - t0);
    /* Untimed: the next round creates its files afresh instead of truncating these. */
    for (unsigned i = 0; i < files; i++) {
        char name[32];
        snprintf(name, sizeof(name), "s%u", i);
        rpmsg_fs_unlink(&c, name);
    }
out:
    free(buf);
    rpmsg_fs_client_deinit(&c);
}


/* ---- Through the mount --------------------------------------------------- */

struct mnt_run {
    struct rpmsg_fs_client c;
    struct fs_mount fm;
    char base[96], mnt[128];
    int rc;
    _Atomic bool finished;
};

static void *fuse_thread(void *arg)
{
    struct mnt_run *m = arg;
    m->rc = fs_fuse_run(&m->fm, "bench_fs", m->mnt, NULL, false);
    m->finished = true;
    return NULL;
}

static bool is_mounted(const struct mnt_run *m)
{
    struct stat a, b;
    return stat(m->mnt, &a) == 0 && stat(m->base, &b) == 0 && a.st_dev != b.st_dev;
}

/* Sequential write (then close), read (after reopening: FUSE drops the page
 * cache on open), small files, all with plain system calls on the mount. */
static int use_mount(const char *mnt, uint64_t total, unsigned files, uint8_t *buf,
                     struct fs_figs *f)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/seq", mnt);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    double t0 = now_s();
    for (uint64_t done = 0; fd >= 0 && done < total; done += MIB)
        if (write(fd, buf, MIB) != MIB)
            return -1;
    if (fd < 0 || close(fd))
        return -1;
    f->write_mbs = (double)total / (now_s() - t0) / 1e6;
    fd = open(p, O_RDONLY);
    t0 = now_s();
    for (uint64_t done = 0; fd >= 0 && done < total; done += MIB)
        if (read(fd, buf, MIB) != MIB)
            return -1;
    if (fd < 0 || close(fd))
        return -1;
    f->read_mbs = (double)total / (now_s() - t0) / 1e6;
    t0 = now_s();
    for (unsigned i = 0; i < files; i++) {
        snprintf(p, sizeof(p), "%s/s%u", mnt, i);
        int sfd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (sfd < 0 || write(sfd, buf, 4096) != 4096 || close(sfd))
            return -1;
    }
    f->small_ops = files / (now_s() - t0);
    for (unsigned i = 0; i < files; i++) {
        snprintf(p, sizeof(p), "%s/s%u", mnt, i);
        unlink(p);
    }
    return 0;
}

/* 0 with figures; -1 when FUSE cannot mount here (reason on stderr). */
static int mount_figs(struct rpmsg_device *a, const char *dir, uint64_t total, unsigned files,
                      struct fs_figs *f)
{
    static struct mnt_run m;
    memset(f, 0, sizeof(*f));
    memset(&m, 0, sizeof(m));
    int probe = open("/dev/fuse", O_RDWR);
    if (probe < 0) {
        fprintf(stderr, "bench_fs: no mount figures: /dev/fuse: %s\n", strerror(errno));
        return -1;
    }
    close(probe);
    snprintf(m.base, sizeof(m.base), "%s.m", dir);
    snprintf(m.mnt, sizeof(m.mnt), "%s/mnt", m.base);
    if ((mkdir(m.base, 0700) && errno != EEXIST) || (mkdir(m.mnt, 0700) && errno != EEXIST))
        return -1;
    struct rpmsg_fs_client_config cc = { .timeout_ms = 60000 };
    if (rpmsg_fs_client_init(&m.c, a, "/bench", &cc))
        return -1;
    pthread_t th;
    int r = -1;
    fs_mount_init(&m.fm, &m.c);
    if (pthread_create(&th, NULL, fuse_thread, &m)) {
        fs_mount_deinit(&m.fm);
        rpmsg_fs_client_deinit(&m.c);
        return -1;
    }
    for (int t = 0; t < 1000 && !is_mounted(&m) && !m.finished; t++)
        usleep(10000);
    uint8_t *buf = calloc(1, MIB);
    if (is_mounted(&m) && buf)
        r = use_mount(m.mnt, total, files, buf, f);
    else
        fprintf(stderr, "bench_fs: no mount figures: the mount did not come up\n");
    free(buf);
    /* Unmounting ends the FUSE loop. */
    if (is_mounted(&m) && umount2(m.mnt, 0))
        umount2(m.mnt, MNT_DETACH);
    pthread_join(th, NULL);
    fs_mount_deinit(&m.fm);
    rpmsg_fs_client_deinit(&m.c);
    rmdir(m.mnt);
    rmdir(m.base);
    return r;
}

static int rm_cb(const char *p, const struct stat *s, int fl, struct FTW *w)
{
    (void)s;
    (void)fl;
    (void)w;
    return remove(p);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define ROUNDS_MAX 15

/* Per format, per round: MB/s and the ratio to the raw figure of that round. */
struct series {
    double w[ROUNDS_MAX], r[ROUNDS_MAX], wx[ROUNDS_MAX], rx[ROUNDS_MAX], ops[ROUNDS_MAX];
};

struct summary {
    double w, r, wx, rx, ops;
};

static struct summary summarize(struct series *s, int n)
{
    return (struct summary){ median(s->w, n), median(s->r, n), median(s->wx, n),
                             median(s->rx, n), median(s->ops, n) };
}

static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

int main(int argc, char **argv)
{
    bool json = false;
    int rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
    }
    if (rounds < 1 || rounds > ROUNDS_MAX)
        rounds = 5;
    const uint64_t total = 32ull * MIB;
    const unsigned files = 1000;
    char dir[64];
    snprintf(dir, sizeof(dir), "/dev/shm/rpmsg-bench-fs-%d", (int)getpid());
    if (mkdir(dir, 0700))
        return 1;
    struct rpmsg_loopback_config lc = { .num_bufs = 64 };
    struct rpmsg_loopback *lb;
    struct rpmsg_fs_server *srv;
    if (rpmsg_loopback_create(&lb, &lc) || rpmsg_fs_server_create(&srv, NULL) ||
        rpmsg_fs_server_export(srv, "bench", dir, false))
        return 1;
    struct rpmsg_device *a = rpmsg_loopback_dev_a(lb), *b = rpmsg_loopback_dev_b(lb);
    /* Rounds interleave raw and FS so that both see the same load; the
     * ratio is taken per round (raw measured just before), then the median. */
    static struct series ext, nx, mnt;
    double raws[ROUNDS_MAX], load0 = loadavg();
    bool can_mount = true;
    for (int i = 0; i < rounds; i++) {
        struct fs_figs f;
        struct series *fmt[3] = { &ext, &nx, &mnt };
        for (int k = 0; k < 3; k++) {
            if (k == 2 && !can_mount)
                break;
            double raw = raw_mbs(a, b, total);
            if (k == 0)
                raws[i] = raw;
            if (k < 2)
                api(a, k == 1, total, files, &f);
            else if (mount_figs(a, dir, total, files, &f))
                can_mount = false;
            struct series *s = fmt[k];
            s->w[i] = f.write_mbs;
            s->r[i] = f.read_mbs;
            s->wx[i] = raw > 0 ? f.write_mbs / raw : 0;
            s->rx[i] = raw > 0 ? f.read_mbs / raw : 0;
            s->ops[i] = f.small_ops;
        }
    }
    double load1 = loadavg(), raw = median(raws, rounds);
    struct summary e = summarize(&ext, rounds), n = summarize(&nx, rounds),
                   mo = can_mount ? summarize(&mnt, rounds) : (struct summary){ 0 };
    rpmsg_fs_server_destroy(srv);
    rpmsg_loopback_destroy(lb);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    if (!json) {
        printf("RPMsg FS over loopback (512-byte buffers, 64 per direction), %llu MiB, 1 MiB "
               "calls, medians of %d rounds; raw one-way %.1f MB/s; load average %.2f -> %.2f\n",
               (unsigned long long)(total / MIB), rounds, raw, load0, load1);
        printf("%-12s %12s %8s %12s %8s %14s\n", "format", "write MB/s", "x raw", "read MB/s",
               "x raw", "small files/s");
        printf("%-12s %12.1f %8.2f %12.1f %8.2f %14.0f\n", "extension", e.w, e.wx, e.r, e.rx,
               e.ops);
        printf("%-12s %12.1f %8.2f %12.1f %8.2f %14.0f\n", "nuttx", n.w, n.wx, n.r, n.rx, n.ops);
        if (can_mount)
            printf("%-12s %12.1f %8.2f %12.1f %8.2f %14.0f\n", "mount (ext)", mo.w, mo.wx, mo.r,
                   mo.rx, mo.ops);
        else
            printf("%-12s (not measured: FUSE cannot mount here)\n", "mount (ext)");
    }
    printf("{\"bench\":\"fs\",\"rounds\":%d,\"load_avg\":[%.2f,%.2f],\"raw_mbs\":%.1f,\"results\":["
           "{\"format\":\"extension\",\"write_mbs\":%.1f,\"read_mbs\":%.1f,\"write_x_raw\":%.3f,"
           "\"read_x_raw\":%.3f,\"small_files_per_s\":%.0f},"
           "{\"format\":\"nuttx\",\"write_mbs\":%.1f,\"read_mbs\":%.1f,\"write_x_raw\":%.3f,"
           "\"read_x_raw\":%.3f,\"small_files_per_s\":%.0f},"
           "{\"format\":\"mount\",\"measured\":%s,\"write_mbs\":%.1f,\"read_mbs\":%.1f,"
           "\"write_x_raw\":%.3f,\"read_x_raw\":%.3f,\"small_files_per_s\":%.0f}]}\n",
           rounds, load0, load1, raw, e.w, e.r, e.wx, e.rx, e.ops, n.w, n.r, n.wx, n.rx, n.ops,
           can_mount ? "true" : "false", mo.w, mo.r, mo.wx, mo.rx, mo.ops);
    return 0;
}
