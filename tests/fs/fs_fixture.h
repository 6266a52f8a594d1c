/*
 * Shared by the RPMsg FS tests: a scratch directory exported by a server on
 * one side of a loopback pair, and a client on the other side.
 */
#ifndef RPMSG_TEST_FS_FIXTURE_H
#define RPMSG_TEST_FS_FIXTURE_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rpmsg/rpmsg_fs.h"
#include "testutil.h"

struct fs_fix {
    struct tu_pair pair;
    struct rpmsg_fs_server *srv;
    struct rpmsg_fs_client cli;
    char dir[128];  /* the export's root */
    char path[512]; /* scratch for fs_fix_host() */
};

static inline int fs_fix_rm_cb(const char *p, const struct stat *s, int f, struct FTW *w)
{
    (void)s;
    (void)f;
    (void)w;
    chmod(p, 0700);
    return remove(p);
}

static inline void fs_fix_rmtree(const char *dir)
{
    nftw(dir, fs_fix_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A host path inside the export (for checking what the server did). */
static inline const char *fs_fix_host(struct fs_fix *f, const char *rel)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, rel);
    return f->path;
}

static inline void fs_fix_write_host(struct fs_fix *f, const char *rel, const char *text)
{
    FILE *fp = fopen(fs_fix_host(f, rel), "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* The server side only: a scratch export "ex" served on the pair's side b. */
static inline void fs_fix_serve(struct fs_fix *f, const struct rpmsg_loopback_config *lcfg,
                                const struct rpmsg_fs_server_config *scfg, bool read_only)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/rpmsg-fs-%d-XXXXXX", (int)getpid());
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(tu_pair_open(&f->pair, lcfg), 0);
    assert_int_equal(rpmsg_fs_server_create(&f->srv, scfg), 0);
    assert_int_equal(rpmsg_fs_server_export(f->srv, "ex", f->dir, read_only), 0);
}

static inline void fs_fix_open(struct fs_fix *f, const struct rpmsg_loopback_config *lcfg,
                               const struct rpmsg_fs_server_config *scfg,
                               const struct rpmsg_fs_client_config *ccfg, bool read_only)
{
    fs_fix_serve(f, lcfg, scfg, read_only);
    assert_int_equal(rpmsg_fs_client_init(&f->cli, f->pair.a, "/ex", ccfg), 0);
}

static inline void fs_fix_close(struct fs_fix *f)
{
    rpmsg_fs_client_deinit(&f->cli);
    rpmsg_fs_server_destroy(f->srv);
    tu_pair_close(&f->pair);
    fs_fix_rmtree(f->dir);
}

#endif
