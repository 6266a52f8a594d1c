/* rpmsg_strerror: a readable text for every error the library returns, and for any other. */
#include "testutil.h"

#include <limits.h>
#include <string.h>

static void test_known_errors(void **state)
{
    (void)state;
    const int errs[] = {0,         -EINVAL,       -EMSGSIZE,        -EAGAIN,       -ETIMEDOUT,
                        -EPIPE,    -ENOTCONN,     -EADDRINUSE,      -EADDRNOTAVAIL, -ENAMETOOLONG,
                        -EBUSY,    -EDEADLK,      -ENOMEM,          -EEXIST,       -ENOENT};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        const char *s = rpmsg_strerror(errs[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        /* Each is its own text. */
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(s, rpmsg_strerror(errs[k]));
    }
}

static void test_other_values(void **state)
{
    (void)state;
    const int odd[] = {-9999, 1, 12345, INT_MIN, INT_MAX, -EIO};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        const char *s = rpmsg_strerror(odd[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_errors),
        cmocka_unit_test(test_other_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
