/*
 * scripts/install-deps against a stand-in apt: every package is missing,
 * and apt-get answers "lock held" unless asked to wait for the lock. The
 * script must wait for the lock (not fail at once) and install only what
 * the build uses, the fuzzers' clang only when asked for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[128], script[1024], argsfile[256];

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

/* Runs the script with group (or none); its exit code. apt-get's
 * arguments, one call a line, are left in argsfile. */
static int run_script(const char *group, char *args, size_t size)
{
    unlink(argsfile);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "PATH=%s:/usr/bin:/bin %s %s >/dev/null 2>&1", dir, script,
             group ? group : "");
    int st = system(cmd);
    args[0] = '\0';
    FILE *f = fopen(argsfile, "r");
    if (f) {
        size_t n = fread(args, 1, size - 1, f);
        args[n] = '\0';
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_waits_for_lock_and_installs_only_used(void **st)
{
    (void)st;
    char args[8192];
    assert_int_equal(run_script(NULL, args, sizeof(args)), 0);
    assert_non_null(strstr(args, "DPkg::Lock::Timeout="));
    assert_non_null(strstr(args, "install -y --no-install-recommends"));
    assert_non_null(strstr(args, "libcmocka-dev"));
    assert_non_null(strstr(args, "libinih-dev"));
    assert_non_null(strstr(args, "tshark"));
    assert_non_null(strstr(args, "gnuplot-nox"));
    assert_null(strstr(args, "clang"));
    assert_int_equal(run_script("fuzz", args, sizeof(args)), 0);
    assert_non_null(strstr(args, " clang "));
    assert_non_null(strstr(args, "libclang-rt-14-dev"));
    assert_int_equal(run_script("nonsense", args, sizeof(args)), 2);
}

int main(void)
{
    snprintf(script, sizeof(script), "%s", __FILE__);
    char *p = strstr(script, "/tests/tools/");
    if (!p)
        return 1;
    snprintf(p, sizeof(script) - (size_t)(p - script), "/scripts/install-deps");
    snprintf(dir, sizeof(dir), "/tmp/rpmsg-depstest-%d", (int)getpid());
    snprintf(argsfile, sizeof(argsfile), "%s/apt-args", dir);
    if (mkdir(dir, 0700))
        return 1;
    put("dpkg-query", "#!/bin/sh\nexit 1\n");
    put("sudo", "#!/bin/sh\nexec \"$@\"\n");
    put("debconf-set-selections", "#!/bin/sh\ncat >/dev/null\n");
    char apt[512];
    snprintf(apt, sizeof(apt),
             "#!/bin/sh\necho \"$*\" >> %s\n"
             "case \"$*\" in *Lock::Timeout=*) exit 0 ;; esac\n"
             "echo 'E: Could not get lock /var/lib/dpkg/lock-frontend' >&2\nexit 100\n",
             argsfile);
    put("apt-get", apt);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waits_for_lock_and_installs_only_used),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    char rm[256];
    snprintf(rm, sizeof(rm), "rm -rf %s", dir);
    if (system(rm))
        r = 1;
    return r;
}
