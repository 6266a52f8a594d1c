/* Readiness descriptor: not built yet. */
#include "sock_priv.h"

void sock_fd_update(struct rpmsg_socket *s)
{
    (void)s;
}

void sock_fd_close(struct rpmsg_socket *s)
{
    (void)s;
}
