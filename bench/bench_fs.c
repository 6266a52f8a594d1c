/*
 * RPMsg FS throughput through the client API, as a fraction of raw rpmsg
 * throughput on the same link in the same run: a loopback pair with RX
 * threads (512-byte buffers), the server exporting a directory in /dev/shm
 * (so the figure is the protocol's, not a disk's). Sequential write and
 * read with 1 MiB calls, and small-file create + 4 KiB write + close.
 * Both formats: the extension (pipelined chunks, every one answered) and
 * NuttX's (only the last chunk answered).
 */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
out:
    free(buf);
    rpmsg_fs_client_deinit(&c);
}

static int rm_cb(const char *p, const struct stat *s, int fl, struct FTW *w)
{
    (void)s;
    (void)fl;
    (void)w;
    return remove(p);
}

int main(int argc, char **argv)
{
    bool json = argc > 1 && !strcmp(argv[1], "--json");
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
    double raw = raw_mbs(a, b, total);
    struct fs_figs ext, nx;
    api(a, false, total, files, &ext);
    api(a, true, total, files, &nx);
    rpmsg_fs_server_destroy(srv);
    rpmsg_loopback_destroy(lb);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    if (!json) {
        printf("RPMsg FS over loopback (512-byte buffers, 64 per direction), %llu MiB, 1 MiB "
               "calls; raw one-way %.1f MB/s\n", (unsigned long long)(total / MIB), raw);
        printf("%-12s %12s %8s %12s %8s %14s\n", "format", "write MB/s", "x raw", "read MB/s",
               "x raw", "small files/s");
        printf("%-12s %12.1f %8.2f %12.1f %8.2f %14.0f\n", "extension", ext.write_mbs,
               ext.write_mbs / raw, ext.read_mbs, ext.read_mbs / raw, ext.small_ops);
        printf("%-12s %12.1f %8.2f %12.1f %8.2f %14.0f\n", "nuttx", nx.write_mbs,
               nx.write_mbs / raw, nx.read_mbs, nx.read_mbs / raw, nx.small_ops);
    }
    printf("{\"bench\":\"fs\",\"raw_mbs\":%.1f,\"results\":["
           "{\"format\":\"extension\",\"write_mbs\":%.1f,\"read_mbs\":%.1f,\"write_x_raw\":%.3f,"
           "\"read_x_raw\":%.3f,\"small_files_per_s\":%.0f},"
           "{\"format\":\"nuttx\",\"write_mbs\":%.1f,\"read_mbs\":%.1f,\"write_x_raw\":%.3f,"
           "\"read_x_raw\":%.3f,\"small_files_per_s\":%.0f}]}\n",
           raw, ext.write_mbs, ext.read_mbs, ext.write_mbs / raw, ext.read_mbs / raw,
           ext.small_ops, nx.write_mbs, nx.read_mbs, nx.write_mbs / raw, nx.read_mbs / raw,
           nx.small_ops);
    return 0;
}
