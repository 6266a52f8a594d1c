/*
 * `make install` as a newcomer uses it (docs/getting-started.md): the build
 * tree installed into a fresh prefix holds the tool, its man pages, the
 * Wireshark dissector and rpmsg.pc; examples/hello.c compiled with the
 * flags pkg-config gives runs, both its processes, without LD_LIBRARY_PATH.
 * The example as `make` built it runs too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char build[512], src[1024], prefix[128];

#if defined(__SANITIZE_ADDRESS__)
/* The installed library is this build's: instrumented. */
#define CC_EXTRA "-fsanitize=address,undefined"
#else
#define CC_EXTRA ""
#endif

static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        fprintf(stderr, "failed: %s\n", cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool exists(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", prefix, rel);
    return access(p, F_OK) == 0;
}

static void test_built_example_runs(void **st)
{
    (void)st;
    assert_int_equal(sh("%s/examples/hello >/dev/null", build), 0);
}

static void test_installed_tree(void **st)
{
    (void)st;
    /* The installed example is built without the sanitizer while the
     * library it links is built with it: a TSan library in an uninstrumented
     * program is not a tree a user installs. The normal build checks it. */
    const char *san = getenv("RPMSG_TEST_SANITIZE");
    if (san && !strcmp(san, "thread")) {
        fprintf(stderr, "skipped: installed tree checked by the normal build, not under TSan\n");
        skip();
    }
    assert_int_equal(sh("cmake --install %s --prefix %s >/dev/null", build, prefix), 0);
    assert_true(exists("bin/rpmsg"));
    assert_true(exists("share/man/man1/rpmsg.1"));
    const char *cmds[] = { "bench", "demo", "echo", "fs", "line", "list", "ping", "sim", "sim-ctl",
                           "sock", "trace" };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char page[128];
        snprintf(page, sizeof(page), "share/man/man1/rpmsg-%s.1", cmds[i]);
        if (!exists(page))
            fprintf(stderr, "no %s\n", page);
        assert_true(exists(page));
    }
    assert_true(exists("share/rpmsg-stack/wireshark/rpmsg.lua"));
    assert_true(exists("lib/pkgconfig/rpmsg.pc"));
    assert_int_equal(sh("%s/bin/rpmsg --version | grep -q '^rpmsg [0-9]'", prefix), 0);
    /* A program of one's own, with pkg-config and nothing else. */
    assert_int_equal(sh("cc -std=c11 %s -o %s/hello %s "
                        "$(pkg-config --define-variable=prefix=%s --cflags --libs %s/lib/pkgconfig/rpmsg.pc)",
                        CC_EXTRA, prefix, src, prefix, prefix),
                     0);
    assert_int_equal(sh("env -u LD_LIBRARY_PATH %s/hello > %s/hello.out", prefix, prefix), 0);
    assert_int_equal(sh("grep -q '^host: 10 of 10 answers right' %s/hello.out", prefix), 0);
}

int main(void)
{
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    snprintf(build, sizeof(build), "%s", dir ? dir : ".");
    snprintf(src, sizeof(src), "%s", __FILE__);
    char *p = strstr(src, "/tests/tools/");
    if (!p)
        return 1;
    snprintf(p, sizeof(src) - (size_t)(p - src), "/examples/hello.c");
    snprintf(prefix, sizeof(prefix), "/tmp/rpmsg-installtest-%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_built_example_runs),
        cmocka_unit_test(test_installed_tree),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    sh("rm -rf %s", prefix);
    return r;
}
