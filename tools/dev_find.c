#include "dev_find.h"

#include <string.h>

struct finder {
    const char *want;
    struct rpmsg_device *dev; /* written once, by the first match */
    struct rpmsg_sem found;
};

static void created(struct rpmsg_device *rdev, void *priv)
{
    struct finder *f = priv;
    struct rpmsg_device *none = NULL;
    if (!strcmp(rpmsg_get_cpuname(rdev), f->want) &&
        __atomic_compare_exchange_n(&f->dev, &none, rdev, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        rpmsg_post(NULL, &f->found);
}

struct rpmsg_device *dev_find(const char *cpuname, uint32_t timeout_ms, bool (*stop)(void *),
                              void *arg)
{
    struct finder f = { .want = cpuname };
    rpmsg_sem_init(&f.found, 0);
    /* Registering replays the devices already up. */
    if (rpmsg_register_callback(&f, created, NULL, NULL, NULL)) {
        rpmsg_sem_deinit(&f.found);
        return NULL;
    }
    uint64_t end = rpmsg_time_ms() + timeout_ms;
    while (!(stop && stop(arg)) && rpmsg_time_ms() < end)
        if (!rpmsg_wait_timeout(NULL, &f.found, 100))
            break;
    /* After this no callback runs with &f any more. */
    rpmsg_unregister_callback(&f, created, NULL, NULL, NULL);
    rpmsg_sem_deinit(&f.found);
    return __atomic_load_n(&f.dev, __ATOMIC_ACQUIRE);
}
