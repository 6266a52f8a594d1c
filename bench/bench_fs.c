/*
 * RPMsg FS throughput through the client API, as a fraction of raw rpmsg
 * throughput on the same link: a loopback pair with RX threads (512-byte
 * buffers), the server exporting a directory in /dev/shm (so the figure is
 * the protocol's, not a disk's). Sequential write and read with 1 MiB
 * calls, and small-file create + 4 KiB write + close. Both formats: the
 * extension (pipelined chunks) and NuttX's (only the last chunk answered).
 * Where FUSE can mount, the same through `rpmsg fs mount`'s FUSE code
 * (tools/fs_fuse.c) served in this process over the same link, used with
 * plain system calls.
 *
 * The raw reference moves data the way the FS path does: the same link and
 * buffers, the same direction (writes client to server, reads server to
 * client), the sender copying from a user buffer into zero-copy TX buffers
 * and the receiver copying every payload out into a user buffer. It is
 * measured right before and right after each FS figure (bench/common/
 * bracket.h): the ratio divides by their mean, and their spread says how
 * much the link itself moved meanwhile.
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
#include <sys/resource.h>

#include "bracket.h"
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

/* The application buffers both ends copy from and into, as an FS call's. */
static uint8_t *raw_src, *raw_dst;
/* --only raw-w-file: the receiver also writes each 64 KiB to a /dev/shm
 * file, as the server does (a diagnostic of what that costs the link). */
static int raw_file = -1;
static bool raw_file_wrap; /* raw-w-file-wrap: over the same 1 MiB (no page allocation) */
/* --only raw-w-file-thread: the same file writes, by a writer thread fed
 * 64 KiB blocks (up to 4 queued), the receiver going on at once: would
 * moving the server's writes off its RX thread help? */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint8_t *blk[4];
    unsigned head, tail;
    bool on, stop;
} wq = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0, 0, false, false };

static void *writer_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wq.lock);
    for (;;) {
        while (wq.head == wq.tail && !wq.stop)
            pthread_cond_wait(&wq.cond, &wq.lock);
        if (wq.head == wq.tail)
            break;
        uint8_t *b = wq.blk[wq.tail % 4];
        pthread_mutex_unlock(&wq.lock);
        if (write(raw_file, b, 65536) != 65536)
            perror("write");
        pthread_mutex_lock(&wq.lock);
        wq.tail++;
        pthread_cond_broadcast(&wq.cond);
    }
    pthread_mutex_unlock(&wq.lock);
    return NULL;
}

/* The receiver's side: queue a copy of the block (waits while 4 are queued). */
static void wq_push(const uint8_t *data)
{
    pthread_mutex_lock(&wq.lock);
    while (wq.head - wq.tail == 4)
        pthread_cond_wait(&wq.cond, &wq.lock);
    memcpy(wq.blk[wq.head % 4], data, 65536);
    wq.head++;
    pthread_cond_broadcast(&wq.cond);
    pthread_mutex_unlock(&wq.lock);
}

/* --only raw-w-ready: the sender also asks rpmsg_is_ept_ready() per
 * message, as the FS client does (a diagnostic of that lock round). */
static bool raw_ready;

/* CPU seconds of the whole process (every thread: client, server, link,
 * FUSE), to tell work from waiting when the machine is loaded. */
static double cpu_s(long *csw)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    *csw = u.ru_nvcsw + u.ru_nivcsw;
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

/* A timed stretch: wall, CPU and context switches (both load-independent
 * but the wall). */
struct meter {
    double t, cpu;
    long csw;
};

static struct meter meter_start(void)
{
    struct meter m = { .t = now_s() };
    m.cpu = cpu_s(&m.csw);
    return m;
}

static double last_csw_per_mb; /* of the last meter_mbs(), for --only */

/* MB/s over the stretch; *cpu_us_per_mb gets its CPU cost per MB. */
static double meter_mbs(const struct meter *m, uint64_t bytes, double *cpu_us_per_mb)
{
    double dt = now_s() - m->t, mb = (double)bytes / 1e6;
    long csw;
    *cpu_us_per_mb = (cpu_s(&csw) - m->cpu) / mb * 1e6;
    last_csw_per_mb = (double)(csw - m->csw) / mb;
    return mb / dt;
}

static double raw_cpu; /* CPU µs per MB of the last raw_mbs() */

struct sink {
    struct rpmsg_endpoint ept;
    struct rpmsg_sem done;
    uint64_t bytes, want;
};

static int sink_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)src;
    struct sink *s = priv;
    if (ept == &s->ept) {
        /* The client copies each answer into the caller's buffer. */
        memcpy(raw_dst + s->bytes % (MIB - RPMSG_BUFFER_SIZE), data, len);
        if (raw_file >= 0 && (s->bytes + len) / 65536 != s->bytes / 65536) {
            if (wq.on)
                wq_push(raw_dst);
            else if (pwrite(raw_file, raw_dst, 65536, raw_file_wrap ? (off_t)(s->bytes % MIB) & ~65535
                                                                  : (off_t)s->bytes & ~65535) != 65536)
                return 0;
        }
        s->bytes += len;
        if (s->bytes >= s->want)
            rpmsg_post(ept, &s->done);
    }
    return 0;
}

/*
 * Raw one-way MB/s of full messages from `from` to `to`, moved as the FS
 * path moves its data (see the top of the file): payload copied from a
 * user buffer into a TX buffer, sent zero-copy, copied out on receipt.
 */
static double raw_mbs(struct rpmsg_device *from, struct rpmsg_device *to, uint64_t total)
{
    static struct sink s;
    static struct rpmsg_endpoint tx;
    memset(&s, 0, sizeof(s));
    memset(&tx, 0, sizeof(tx));
    s.want = total;
    rpmsg_sem_init(&s.done, 0);
    s.ept.priv = &s;
    tx.priv = &s;
    double r = 0;
    if (rpmsg_create_ept(&s.ept, to, "bench-raw", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, sink_cb, NULL))
        goto out;
    if (rpmsg_create_ept(&tx, from, "bench-raw", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, sink_cb, NULL) ||
        rpmsg_wait_ept_ready(&tx, 10000))
        goto out_sink;
    struct meter mt = meter_start();
    uint64_t sent = 0;
    while (sent < total) {
        if (raw_ready && !rpmsg_is_ept_ready(&tx))
            goto out_tx;
        uint32_t cap;
        void *buf = rpmsg_get_tx_payload_buffer(&tx, &cap, RPMSG_WAIT);
        if (!buf)
            goto out_tx;
        memcpy(buf, raw_src + sent % (MIB - RPMSG_BUFFER_SIZE), cap);
        if (rpmsg_send_nocopy(&tx, buf, cap) < 0) {
            rpmsg_release_tx_buffer(&tx, buf);
            goto out_tx;
        }
        sent += cap;
    }
    s.want = sent;
    if (__atomic_load_n(&s.bytes, __ATOMIC_ACQUIRE) < sent)
        rpmsg_wait_timeout(NULL, &s.done, 60000);
    if (s.bytes >= sent)
        r = meter_mbs(&mt, sent, &raw_cpu);
out_tx:
    rpmsg_destroy_ept(&tx);
out_sink:
    rpmsg_destroy_ept(&s.ept);
out:
    rpmsg_sem_deinit(&s.done);
    return r;
}

struct fs_figs {
    double write_mbs, read_mbs, small_ops;
    struct bench_bracket wraw, rraw; /* the raw reference around each figure */
    double wcpu, rcpu;                /* CPU µs per MB of the FS figure */
    struct bench_bracket wrcpu, rrcpu; /* and of the raw runs around it */
    double wcsw, rcsw;                 /* context switches per MB, the same way */
    struct bench_bracket wrcsw, rrcsw;
};

/* Raw around one figure: a's side is the client's, b's the server's. */
struct link2 {
    struct rpmsg_device *a, *b;
};

/* One side of the raw bracket around a write (to_server) or read figure. */
static bool no_raw; /* --only api: the FS stretches alone */
static char only_phase; /* --only api-w / api-r: 'w' or 'r' (the other untimed) */

static void raw_side(const struct link2 *l, bool to_server, struct fs_figs *f, uint64_t total,
                     bool after)
{
    if (no_raw)
        return;
    double v = to_server ? raw_mbs(l->a, l->b, total) : raw_mbs(l->b, l->a, total);
    struct bench_bracket *br = to_server ? &f->wraw : &f->rraw;
    struct bench_bracket *cpu = to_server ? &f->wrcpu : &f->rrcpu;
    *(after ? &br->after : &br->before) = v;
    *(after ? &cpu->after : &cpu->before) = v > 0 ? raw_cpu : 0;
    struct bench_bracket *csw = to_server ? &f->wrcsw : &f->rrcsw;
    *(after ? &csw->after : &csw->before) = v > 0 ? last_csw_per_mb : 0;
}

static void api(const struct link2 *l, bool nuttx, uint64_t total, unsigned files,
                struct fs_figs *f)
{
    static struct rpmsg_fs_client c;
    struct rpmsg_fs_client_config cc = { .nuttx_only = nuttx, .timeout_ms = 60000 };
    memset(f, 0, sizeof(*f));
    if (rpmsg_fs_client_init(&c, l->a, "/bench", &cc))
        return;
    uint8_t *buf = calloc(1, MIB);
    int fd = rpmsg_fs_open(&c, "seq", O_RDWR | O_CREAT | O_TRUNC, 0644);
    raw_side(l, true, f, total, false);
    if (only_phase == 'r') {
        struct rpmsg_fs_stat st;
        if (rpmsg_fs_ftruncate(&c, fd, (int64_t)total) || rpmsg_fs_fstat(&c, fd, &st))
            goto out;
    }
    struct meter mt = meter_start();
    for (uint64_t done = 0; only_phase != 'r' && done < total; done += MIB)
        if (rpmsg_fs_write(&c, fd, buf, MIB) != MIB)
            goto out;
    f->write_mbs = meter_mbs(&mt, total, &f->wcpu);
    f->wcsw = last_csw_per_mb;
    if (only_phase == 'w')
        goto out;
    raw_side(l, true, f, total, true);
    rpmsg_fs_lseek(&c, fd, 0, SEEK_SET);
    raw_side(l, false, f, total, false);
    mt = meter_start();
    for (uint64_t done = 0; done < total; done += MIB)
        if (rpmsg_fs_read(&c, fd, buf, MIB) != MIB)
            goto out;
    f->read_mbs = meter_mbs(&mt, total, &f->rcpu);
    f->rcsw = last_csw_per_mb;
    raw_side(l, false, f, total, true);
    rpmsg_fs_close(&c, fd);
    double t0 = now_s();
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
static int use_mount(const struct link2 *l, const char *mnt, uint64_t total, unsigned files,
                     uint8_t *buf, struct fs_figs *f)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/seq", mnt);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    raw_side(l, true, f, total, false);
    struct meter mt = meter_start();
    for (uint64_t done = 0; fd >= 0 && done < total; done += MIB)
        if (write(fd, buf, MIB) != MIB)
            return -1;
    if (fd < 0 || close(fd))
        return -1;
    f->write_mbs = meter_mbs(&mt, total, &f->wcpu);
    f->wcsw = last_csw_per_mb;
    raw_side(l, true, f, total, true);
    fd = open(p, O_RDONLY);
    raw_side(l, false, f, total, false);
    mt = meter_start();
    for (uint64_t done = 0; fd >= 0 && done < total; done += MIB)
        if (read(fd, buf, MIB) != MIB)
            return -1;
    if (fd < 0 || close(fd))
        return -1;
    f->read_mbs = meter_mbs(&mt, total, &f->rcpu);
    f->rcsw = last_csw_per_mb;
    raw_side(l, false, f, total, true);
    double t0 = now_s();
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
static int mount_figs(const struct link2 *l, const char *dir, uint64_t total, unsigned files,
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
    if (rpmsg_fs_client_init(&m.c, l->a, "/bench", &cc))
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
        r = use_mount(l, m.mnt, total, files, buf, f);
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

/* Per format, per round: MB/s, the ratio to the raw around it, that raw's spread. */
struct series {
    double w[ROUNDS_MAX], r[ROUNDS_MAX], wx[ROUNDS_MAX], rx[ROUNDS_MAX], ops[ROUNDS_MAX];
    double wraw[ROUNDS_MAX], rraw[ROUNDS_MAX], wsp[ROUNDS_MAX], rsp[ROUNDS_MAX];
    double wcx[ROUNDS_MAX], rcx[ROUNDS_MAX]; /* CPU per MB, x raw's */
    double wsx[ROUNDS_MAX], rsx[ROUNDS_MAX]; /* context switches per MB, x raw's */
};

struct summary {
    double w, r, wx, rx, ops, wraw, rraw, wsp, rsp, wsp_max, rsp_max, wcx, rcx, wsx, rsx;
};

static double max_of(const double *v, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

static struct summary summarize(struct series *s, int n)
{
    struct summary x = { .wsp_max = max_of(s->wsp, n), .rsp_max = max_of(s->rsp, n) };
    x.w = median(s->w, n);
    x.r = median(s->r, n);
    x.wx = median(s->wx, n);
    x.rx = median(s->rx, n);
    x.ops = median(s->ops, n);
    x.wraw = median(s->wraw, n);
    x.rraw = median(s->rraw, n);
    x.wsp = median(s->wsp, n);
    x.rsp = median(s->rsp, n);
    x.wcx = median(s->wcx, n);
    x.rcx = median(s->rcx, n);
    x.wsx = median(s->wsx, n);
    x.rsx = median(s->rsx, n);
    return x;
}

static void record(struct series *s, int i, const struct fs_figs *f)
{
    double wr = bench_bracket_value(&f->wraw), rr = bench_bracket_value(&f->rraw);
    s->w[i] = f->write_mbs;
    s->r[i] = f->read_mbs;
    s->wraw[i] = wr;
    s->rraw[i] = rr;
    s->wx[i] = wr > 0 ? f->write_mbs / wr : 0;
    s->rx[i] = rr > 0 ? f->read_mbs / rr : 0;
    s->wsp[i] = bench_bracket_spread(&f->wraw);
    s->rsp[i] = bench_bracket_spread(&f->rraw);
    s->ops[i] = f->small_ops;
    double wc = bench_bracket_value(&f->wrcpu), rc = bench_bracket_value(&f->rrcpu);
    s->wcx[i] = wc > 0 ? f->wcpu / wc : 0;
    s->rcx[i] = rc > 0 ? f->rcpu / rc : 0;
    double ws = bench_bracket_value(&f->wrcsw), rs = bench_bracket_value(&f->rrcsw);
    s->wsx[i] = ws > 0 ? f->wcsw / ws : 0;
    s->rsx[i] = rs > 0 ? f->rcsw / rs : 0;
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

static const char *verdict(double v, double target)
{
    return v >= target ? "met" : "MISSED";
}

static void print_row(const char *name, const struct summary *x, double target)
{
    char ws[24], rs[24];
    snprintf(ws, sizeof(ws), "%.0f%%/%.0f%%", 100 * x->wsp, 100 * x->wsp_max);
    snprintf(rs, sizeof(rs), "%.0f%%/%.0f%%", 100 * x->rsp, 100 * x->rsp_max);
    printf("%-18s %7.1f %7.1f %5.2f %5.2f %10s %-6s %7.1f %7.1f %5.2f %5.2f %10s %-6s %8.0f\n",
           name, x->w, x->wraw, x->wx, x->wcx, ws, verdict(x->wx, target), x->r, x->rraw, x->rx,
           x->rcx, rs, verdict(x->rx, target), x->ops);
}

static void json_row(const char *name, const struct summary *x, bool measured, bool last)
{
    printf("{\"format\":\"%s\",\"measured\":%s,\"write_mbs\":%.1f,\"raw_write_mbs\":%.1f,"
           "\"write_x_raw\":%.3f,\"raw_write_spread\":%.3f,\"raw_write_spread_max\":%.3f,"
           "\"read_mbs\":%.1f,\"raw_read_mbs\":%.1f,\"read_x_raw\":%.3f,"
           "\"raw_read_spread\":%.3f,\"raw_read_spread_max\":%.3f,\"small_files_per_s\":%.0f,"
           "\"write_cpu_x_raw\":%.3f,\"read_cpu_x_raw\":%.3f,\"write_csw_x_raw\":%.3f,"
           "\"read_csw_x_raw\":%.3f}%s",
           name, measured ? "true" : "false", x->w, x->wraw, x->wx, x->wsp, x->wsp_max, x->r,
           x->rraw, x->rx, x->rsp, x->rsp_max, x->ops, x->wcx, x->rcx, x->wsx, x->rsx,
           last ? "" : ",");
}

int main(int argc, char **argv)
{
    bool json = false;
    int rounds = 5;
    /* --only raw-w|raw-r: one raw stretch; api-w|api-r[-nx]: the API's write and
     * read stretches, mnt: the mount's, no raw (for perf stat, perf record). */
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
    }
    if (rounds < 1 || rounds > ROUNDS_MAX)
        rounds = 5;
    const uint64_t total = 32ull * MIB;
    const unsigned files = 1000;
    char dir[64];
    snprintf(dir, sizeof(dir), "/dev/shm/rpmsg-bench-fs-%d", (int)getpid());
    raw_src = calloc(1, MIB);
    raw_dst = calloc(1, MIB);
    if (!raw_src || !raw_dst || mkdir(dir, 0700))
        return 1;
    struct rpmsg_loopback_config lc = { .num_bufs = 64 };
    struct rpmsg_loopback *lb;
    struct rpmsg_fs_server *srv;
    if (rpmsg_loopback_create(&lb, &lc) || rpmsg_fs_server_create(&srv, NULL) ||
        rpmsg_fs_server_export(srv, "bench", dir, false))
        return 1;
    struct link2 l = { rpmsg_loopback_dev_a(lb), rpmsg_loopback_dev_b(lb) };
    int cap = 0;
    {
        struct rpmsg_endpoint probe;
        if (rpmsg_create_ept(&probe, l.a, "bench-cap", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, NULL,
                             NULL) == 0) {
            cap = rpmsg_get_tx_buffer_size(&probe);
            rpmsg_destroy_ept(&probe);
        }
    }
    if (only) {
        struct fs_figs f;
        double v = -1;
        if (!strncmp(only, "raw-w-file", 10)) {
            raw_file_wrap = !strcmp(only, "raw-w-file-wrap");
            char fp[96];
            snprintf(fp, sizeof(fp), "%s/rawfile", dir);
            raw_file = open(fp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            pthread_t wt;
            wq.on = !strcmp(only, "raw-w-file-thread");
            for (int k = 0; wq.on && k < 4; k++)
                wq.blk[k] = malloc(65536);
            if (wq.on && pthread_create(&wt, NULL, writer_thread, NULL))
                return 1;
            v = raw_mbs(l.a, l.b, 4 * total);
            if (wq.on) {
                pthread_mutex_lock(&wq.lock);
                wq.stop = true;
                pthread_cond_broadcast(&wq.cond);
                pthread_mutex_unlock(&wq.lock);
                pthread_join(wt, NULL);
                for (int k = 0; k < 4; k++)
                    free(wq.blk[k]);
            }
            close(raw_file);
            raw_file = -1;
        } else if (!strcmp(only, "raw-w-ready")) {
            raw_ready = true;
            v = raw_mbs(l.a, l.b, 4 * total);
        } else if (!strcmp(only, "raw-w") || !strcmp(only, "raw-r"))
            v = only[4] == 'w' ? raw_mbs(l.a, l.b, 4 * total) : raw_mbs(l.b, l.a, 4 * total);
        else if (!strncmp(only, "api-w", 5) || !strncmp(only, "api-r", 5)) {
            no_raw = true;
            only_phase = only[4];
            api(&l, !strcmp(only + 5, "-nx"), 4 * total, 1, &f);
            v = only[4] == 'w' ? f.write_mbs : f.read_mbs;
        } else if (!strcmp(only, "mnt")) {
            no_raw = true;
            v = mount_figs(&l, dir, 4 * total, 1, &f) ? -1 : f.write_mbs;
            printf("mount: write %.1f MB/s (%.0f CPU us/MB), read %.1f MB/s (%.0f CPU us/MB)\n",
                   f.write_mbs, f.wcpu, f.read_mbs, f.rcpu);
        }
        if (!strncmp(only, "api-", 4))
            printf("%s: write %.1f MB/s (%.0f CPU us/MB), read %.1f MB/s (%.0f CPU us/MB), "
                   "%.1f context switches/MB (the timed phase)\n",
                   only, f.write_mbs, f.wcpu, f.read_mbs, f.rcpu, last_csw_per_mb);
        else
            printf("%s: %.1f MB/s (%.0f CPU us/MB, %.1f context switches/MB)\n", only, v, raw_cpu,
                   last_csw_per_mb);
        rpmsg_fs_server_destroy(srv);
        rpmsg_loopback_destroy(lb);
        nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
        return v < 0;
    }
    /* Every FS figure has its own raw reference, in its direction, taken
     * right before and right after it; the ratio is per figure, then the
     * median over rounds. */
    static struct series ext, nx, mnt;
    double load0 = loadavg();
    bool can_mount = true;
    for (int i = 0; i < rounds; i++) {
        struct fs_figs f;
        api(&l, false, total, files, &f);
        record(&ext, i, &f);
        api(&l, true, total, files, &f);
        record(&nx, i, &f);
        if (can_mount && mount_figs(&l, dir, total, files, &f))
            can_mount = false;
        if (can_mount)
            record(&mnt, i, &f);
    }
    double load1 = loadavg();
    struct summary e = summarize(&ext, rounds), n = summarize(&nx, rounds),
                   mo = can_mount ? summarize(&mnt, rounds) : (struct summary){ 0 };
    rpmsg_fs_server_destroy(srv);
    rpmsg_loopback_destroy(lb);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(raw_src);
    free(raw_dst);
    if (!json) {
        printf("RPMsg FS over loopback (%d-byte payloads, 64 buffers per direction), %llu MiB, "
               "1 MiB calls, medians of %d rounds; load average %.2f -> %.2f\n"
               "raw: the same link and direction, copied in and out as the FS path does, "
               "right before and after each figure (spread: median/max over rounds);\n"
               "cpu x: the process's CPU time per MB against the raw runs' (work, not waiting)\n",
               cap, (unsigned long long)(total / MIB), rounds, load0, load1);
        printf("%-18s %7s %7s %5s %5s %10s %-6s %7s %7s %5s %5s %10s %-6s %8s\n", "format",
               "write", "raw", "x raw", "cpu x", "spread", "target", "read", "raw", "x raw",
               "cpu x", "spread", "target", "files/s");
        print_row("API, extension", &e, 0.70);
        print_row("API, NuttX format", &n, 0.70);
        if (can_mount)
            print_row("mount (extension)", &mo, 0.50);
        else
            printf("%-18s (not measured: FUSE cannot mount here)\n", "mount (extension)");
        /* Waiting shows as context switches: steadier than wall time under load. */
        printf("context switches per MB x raw's (write / read): extension %.2f / %.2f, "
               "NuttX format %.2f / %.2f, mount %.2f / %.2f\n",
               e.wsx, e.rsx, n.wsx, n.rsx, mo.wsx, mo.rsx);
    }
    printf("{\"bench\":\"fs\",\"rounds\":%d,\"load_avg\":[%.2f,%.2f],\"payload\":%d,"
           "\"targets\":{\"api\":0.70,\"mount\":0.50},\"results\":[",
           rounds, load0, load1, cap);
    json_row("extension", &e, true, false);
    json_row("nuttx", &n, true, false);
    json_row("mount", &mo, can_mount, true);
    printf("]}\n");
    return 0;
}
