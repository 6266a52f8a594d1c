/*
 * rpmsg_wait / rpmsg_post: a callback may wait for a reply without stopping
 * its own link. On the RX context the wait runs the link (nested dispatch of
 * later messages, still in arrival order) until the semaphore is posted.
 */
#include "internal.h"

int rpmsg_sem_init(struct rpmsg_sem *sem, unsigned count)
{
    if (!sem)
        return -EINVAL;
    int r = rpmsg_mutex_init(&sem->lock);
    if (r)
        return r;
    r = rpmsg_cond_init(&sem->cond);
    if (r) {
        rpmsg_mutex_deinit(&sem->lock);
        return r;
    }
    sem->count = count;
    return 0;
}

void rpmsg_sem_deinit(struct rpmsg_sem *sem)
{
    if (!sem)
        return;
    rpmsg_cond_deinit(&sem->cond);
    rpmsg_mutex_deinit(&sem->lock);
}

static bool sem_take(struct rpmsg_sem *sem)
{
    rpmsg_mutex_lock(&sem->lock);
    bool got = sem->count > 0;
    if (got)
        sem->count--;
    rpmsg_mutex_unlock(&sem->lock);
    return got;
}

static bool sem_ready(void *arg)
{
    return sem_take(arg);
}

int rpmsg_wait_timeout(struct rpmsg_endpoint *ept, struct rpmsg_sem *sem, uint32_t timeout_ms)
{
    if (!sem || (ept && (!ept->rdev || !ept->rdev->ops)))
        return -EINVAL;
    struct rpmsg_device *rdev = ept ? ept->rdev : NULL;
    uint64_t deadline = timeout_ms == UINT32_MAX ? RPMSG_FOREVER : rpmsg_deadline(timeout_ms);
    if (rdev && rpmsg_on_rx_context(rdev)) {
        rpmsg_mutex_lock(&rdev->lock);
        int r = rpmsg_dev_wait(rdev, deadline, true, sem_ready, sem);
        rpmsg_mutex_unlock(&rdev->lock);
        return r;
    }
    if (rdev)
        rpmsg_drive_end(rdev); /* the reply comes by the link: its RX thread runs it now */
    rpmsg_mutex_lock(&sem->lock);
    int r = 0;
    while (sem->count == 0 && r != -ETIMEDOUT)
        r = rpmsg_cond_wait(&sem->cond, &sem->lock, deadline);
    if (sem->count > 0) {
        sem->count--;
        r = 0;
    }
    rpmsg_mutex_unlock(&sem->lock);
    return r;
}

int rpmsg_wait(struct rpmsg_endpoint *ept, struct rpmsg_sem *sem)
{
    return rpmsg_wait_timeout(ept, sem, UINT32_MAX);
}

int rpmsg_post(struct rpmsg_endpoint *ept, struct rpmsg_sem *sem)
{
    if (!sem)
        return -EINVAL;
    rpmsg_mutex_lock(&sem->lock);
    sem->count++;
    rpmsg_cond_broadcast(&sem->cond);
    rpmsg_mutex_unlock(&sem->lock);
    /* A waiter on the RX context sleeps in the transport, not on the cond. */
    if (ept && ept->rdev && ept->rdev->ops && ept->rdev->ops->wakeup)
        ept->rdev->ops->wakeup(ept->rdev);
    return 0;
}
