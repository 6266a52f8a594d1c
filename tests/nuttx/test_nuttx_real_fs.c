/*
 * RPMsg FS against the real NuttX: rpserver's rpmsgfs server, our client
 * (library API, in this process, the slave in rpproxy's place) and our FUSE
 * mount (`rpmsg fs mount` as the slave):
 * - /proc/version through the server's procfs ("NuttX version ...
 *   sim:rpserver", not the "NuttX server ..." the sim README says);
 * - a host directory the server exposes (`mount -t hostfs -o fs=DIR /host`
 *   on its console): read (several replies per request), write (several
 *   chunks, only the last answered), mkdir, rename, readdir, stat, statfs,
 *   unlink, rmdir, every change checked on the host side; the client never
 *   uses our extension with NuttX;
 * - the same through the FUSE mount with POSIX calls, when /dev/fuse is
 *   usable (skipped with the reason otherwise).
 * The reverse (a NuttX client mounting an export of ours) needs NuttX's
 * rpmsgfs client, which rpserver is built without (CONFIG_FS_RPMSGFS is off
 * in rpserver.config; only the server is in): not tested here.
 */
#include "nx_real.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "rpmsg/rpmsg_fs.h"
#include "rpmsg/rpmsg_link.h"

static struct rpmsg_link *lnk;
static struct rpmsg_device *dev;
static char hostdir[64];

static void rm_tree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static void put_file(const char *name, const void *data, size_t n)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", hostdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The host file's contents (malloc'd, *n its size), or NULL. */
static uint8_t *get_file(const char *name, size_t *n)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", hostdir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(1 << 20);
    assert_non_null(b);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static bool host_exists(const char *name)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", hostdir, name);
    return access(path, F_OK) == 0;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7u + seed + (i >> 9));
}

static void link_up(void)
{
    lnk = nx_slave_up();
    dev = rpmsg_link_device(lnk);
}

static void link_down(void)
{
    if (lnk)
        rpmsg_link_close(lnk); /* a clean leave: every buffer given back */
    lnk = NULL;
    dev = NULL;
}

/* A fresh rpserver with hostdir exposed as /host. */
static void server_with_host(void)
{
    start_server(&procs[0]);
    char line[160];
    snprintf(line, sizeof(line), "mount -t hostfs -o fs=%s /host\n", hostdir);
    say(&procs[0], line);
    assert_true(console_cmd(&procs[0], "ls /host\n", "/host:", 30000));
}

/* rpserver with DIR exposed as /host; our slave attached. */
static int group_setup(void **st)
{
    (void)st;
    if (!have_pair())
        return 0;
    snprintf(hostdir, sizeof(hostdir), "/tmp/rpmsg-nxfs-%d", (int)getpid());
    rm_tree(hostdir);
    if (mkdir(hostdir, 0755) < 0)
        return -1;
    server_with_host();
    link_up();
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    link_down();
    nx_kill_all();
    if (hostdir[0])
        rm_tree(hostdir);
    return 0;
}

static void need_pair(void)
{
    if (!dev && procs[0].pid <= 0)
        skip();
}

static void client(struct rpmsg_fs_client *c, const char *root)
{
    memset(c, 0, sizeof(*c));
    int r = rpmsg_fs_client_init(c, dev, root, NULL);
    if (r)
        dump("rpserver", &procs[0]);
    assert_int_equal(r, 0);
    assert_false(rpmsg_fs_client_extended(c)); /* NuttX: its own format only */
}

static void test_proc_version(void **st)
{
    (void)st;
    need_pair();
    struct rpmsg_fs_client c;
    client(&c, "/proc");
    int fd = rpmsg_fs_open(&c, "version", O_RDONLY, 0);
    assert_true(fd >= 0);
    char buf[512] = { 0 };
    ssize_t n = rpmsg_fs_read(&c, fd, buf, sizeof(buf) - 1);
    assert_true(n > 0);
    /* "NuttX version 13.0.1-RC0 <commit> <date> sim:rpserver..." */
    if (!strstr(buf, "NuttX version") || !strstr(buf, "sim:rpserver"))
        fprintf(stderr, "/proc/version: %zd bytes: %s\n", n, buf);
    assert_non_null(strstr(buf, "NuttX version"));
    assert_non_null(strstr(buf, "sim:rpserver"));
    assert_int_equal(rpmsg_fs_close(&c, fd), 0);
    assert_int_equal(rpmsg_fs_open(&c, "no-such-entry", O_RDONLY, 0), -ENOENT);
    rpmsg_fs_client_deinit(&c);
    no_panic(&procs[0]);
}

/* Names in the directory handle's listing, as "a,b," (sorted by the caller's wish: we check membership). */
static unsigned list_dir(struct rpmsg_fs_client *c, const char *path, char *out, size_t size)
{
    int d = rpmsg_fs_opendir(c, path);
    assert_true(d >= 1);
    struct rpmsg_fs_dirent e;
    unsigned n = 0;
    out[0] = '\0';
    int r;
    while ((r = rpmsg_fs_readdir(c, d, &e)) == 1) {
        if (!strcmp(e.name, ".") || !strcmp(e.name, ".."))
            continue;
        strncat(out, e.name, size - strlen(out) - 2);
        strcat(out, ",");
        n++;
    }
    assert_int_equal(r, 0);
    assert_int_equal(rpmsg_fs_closedir(c, d), 0);
    return n;
}

static void test_hostfs_ops(void **st)
{
    (void)st;
    need_pair();
    enum { BIG = 20000, WR = 5000 };
    static uint8_t big[BIG], got[BIG], wr[WR];
    fill(big, BIG, 3);
    put_file("big.bin", big, BIG);
    put_file("hello.txt", "hello from the host\n", 20);

    struct rpmsg_fs_client c;
    client(&c, "/host");

    /* Read: 20,000 bytes, the server answers in several replies. */
    int fd = rpmsg_fs_open(&c, "big.bin", O_RDONLY, 0);
    assert_true(fd >= 0);
    size_t have = 0;
    while (have < BIG) {
        ssize_t n = rpmsg_fs_read(&c, fd, got + have, BIG - have);
        assert_true(n > 0);
        have += (size_t)n;
    }
    assert_memory_equal(got, big, BIG);
    assert_int_equal(rpmsg_fs_read(&c, fd, got, 16), 0); /* end of file */
    struct rpmsg_fs_stat fs;
    assert_int_equal(rpmsg_fs_fstat(&c, fd, &fs), 0);
    assert_int_equal(fs.size, BIG);
    assert_true(S_ISREG(fs.mode));
    assert_int_equal(rpmsg_fs_lseek(&c, fd, 1000, SEEK_SET), 1000);
    assert_int_equal(rpmsg_fs_read(&c, fd, got, 100), 100);
    assert_memory_equal(got, big + 1000, 100);
    assert_int_equal(rpmsg_fs_close(&c, fd), 0);

    /* Write: 5,000 bytes in chunks of one buffer each. */
    fill(wr, WR, 9);
    fd = rpmsg_fs_open(&c, "new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_write(&c, fd, wr, WR), WR);
    assert_int_equal(rpmsg_fs_fsync(&c, fd), 0);
    assert_int_equal(rpmsg_fs_close(&c, fd), 0);
    size_t n;
    uint8_t *h = get_file("new.txt", &n);
    assert_non_null(h);
    assert_int_equal(n, WR);
    assert_memory_equal(h, wr, WR);
    free(h);

    /* mkdir, rename into it, stat, readdir. */
    assert_int_equal(rpmsg_fs_mkdir(&c, "dir1", 0755), 0);
    assert_int_equal(rpmsg_fs_mkdir(&c, "dir1", 0755), -EEXIST);
    char path[160];
    snprintf(path, sizeof(path), "%s/dir1", hostdir);
    struct stat hs;
    assert_int_equal(stat(path, &hs), 0);
    assert_true(S_ISDIR(hs.st_mode));
    assert_int_equal(rpmsg_fs_rename(&c, "new.txt", "dir1/moved.txt"), 0);
    assert_false(host_exists("new.txt"));
    h = get_file("dir1/moved.txt", &n);
    assert_non_null(h);
    assert_int_equal(n, WR);
    assert_memory_equal(h, wr, WR);
    free(h);
    assert_int_equal(rpmsg_fs_stat(&c, "dir1/moved.txt", &fs), 0);
    assert_int_equal(fs.size, WR);
    assert_int_equal(rpmsg_fs_stat(&c, "new.txt", &fs), -ENOENT);
    assert_int_equal(rpmsg_fs_stat(&c, "dir1", &fs), 0);
    assert_true(S_ISDIR(fs.mode));

    char names[512];
    assert_int_equal(list_dir(&c, "", names, sizeof(names)), 3);
    assert_non_null(strstr(names, "big.bin,"));
    assert_non_null(strstr(names, "hello.txt,"));
    assert_non_null(strstr(names, "dir1,"));
    assert_int_equal(list_dir(&c, "dir1", names, sizeof(names)), 1);
    assert_string_equal(names, "moved.txt,");

    struct rpmsg_fs_statfs sfs;
    assert_int_equal(rpmsg_fs_statfs(&c, "", &sfs), 0);
    assert_true(sfs.bsize > 0);
    assert_true(sfs.blocks > 0);

    /* unlink, rmdir: gone on the host. */
    assert_int_equal(rpmsg_fs_rmdir(&c, "dir1"), -ENOTEMPTY);
    assert_int_equal(rpmsg_fs_unlink(&c, "dir1/moved.txt"), 0);
    assert_false(host_exists("dir1/moved.txt"));
    assert_int_equal(rpmsg_fs_unlink(&c, "dir1/moved.txt"), -ENOENT);
    assert_int_equal(rpmsg_fs_rmdir(&c, "dir1"), 0);
    assert_false(host_exists("dir1"));
    rpmsg_fs_client_deinit(&c);
    no_panic(&procs[0]);
}

/* Why FUSE cannot be used here, or NULL. */
static const char *fuse_unusable(void)
{
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return "/dev/fuse cannot be opened";
    close(fd);
    if (access("/usr/bin/fusermount3", X_OK) && access("/bin/fusermount3", X_OK))
        return "no fusermount3";
    return NULL;
}

static bool mounted(const char *mnt)
{
    struct stat a, b;
    char parent[160];
    snprintf(parent, sizeof(parent), "%s/..", mnt);
    return stat(mnt, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* `rpmsg fs mount` of the server's /host, used with plain POSIX calls. */
static void test_fuse_mount(void **st)
{
    (void)st;
    need_pair();
    const char *why = fuse_unusable();
    if (why) {
        fprintf(stderr, "skipped: %s\n", why);
        skip();
    }
    /* One slave at a time: our library slave leaves cleanly and the tool
     * takes its place next to the same server. */
    link_down();
    no_panic(&procs[0]);
    char mnt[96], p[200];
    snprintf(mnt, sizeof(mnt), "%s-mnt", hostdir);
    rmdir(mnt);
    assert_int_equal(mkdir(mnt, 0755), 0);
    const char *args[] = { "fs", "mount", "--nuttx-sim", NX_SHM_NAME, "--role", "remote",
                           "--wait", "30000", "server:/host", mnt, NULL };
    struct proc *m = &procs[1];
    start_tool(m, args);
    bool up = false;
    for (int t = 0; t < 30000 && !up && m->pid > 0; t += 50) {
        up = mounted(mnt);
        if (!up)
            usleep(50000);
    }
    if (!up) {
        dump("rpmsg fs mount", m);
        dump("rpserver", &procs[0]);
    }
    assert_true(up);

    put_file("fuse-in.txt", "from the host", 13);
    snprintf(p, sizeof(p), "%s/fuse-in.txt", mnt);
    char buf[64] = { 0 };
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 13);
    fclose(f);
    assert_string_equal(buf, "from the host");

    static uint8_t wr[6000];
    fill(wr, sizeof(wr), 5);
    snprintf(p, sizeof(p), "%s/fuse-out.bin", mnt);
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(wr, 1, sizeof(wr), f), sizeof(wr));
    assert_int_equal(fclose(f), 0);
    size_t n;
    uint8_t *h = get_file("fuse-out.bin", &n);
    assert_non_null(h);
    assert_int_equal(n, sizeof(wr));
    assert_memory_equal(h, wr, sizeof(wr));
    free(h);

    snprintf(p, sizeof(p), "%s/fdir", mnt);
    assert_int_equal(mkdir(p, 0755), 0);
    char q[200];
    snprintf(q, sizeof(q), "%s/fdir/renamed.bin", mnt);
    snprintf(p, sizeof(p), "%s/fuse-out.bin", mnt);
    assert_int_equal(rename(p, q), 0);
    assert_true(host_exists("fdir/renamed.bin"));
    assert_false(host_exists("fuse-out.bin"));
    DIR *d = opendir(mnt);
    assert_non_null(d);
    unsigned seen = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        seen += !strcmp(e->d_name, "fdir") || !strcmp(e->d_name, "fuse-in.txt");
    closedir(d);
    assert_int_equal(seen, 2);
    struct statvfs sv;
    assert_int_equal(statvfs(mnt, &sv), 0);
    assert_true(sv.f_bsize > 0);
    assert_int_equal(unlink(q), 0);
    snprintf(p, sizeof(p), "%s/fdir", mnt);
    assert_int_equal(rmdir(p), 0);
    assert_false(host_exists("fdir"));

    no_panic(&procs[0]);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "fusermount3 -u '%s'", mnt);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(finish(m, 30000), 0);
    rmdir(mnt);
}

int main(void)
{
    nx_real_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_version),
        cmocka_unit_test(test_hostfs_ops),
        cmocka_unit_test(test_fuse_mount), /* last: it takes the slave's place */
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
