/*
 * The microcontroller profile: bare metal, poll-driven, one VirtIO role,
 * tables for a handful of endpoints. Every value is a default the build may
 * override on the command line (-DRPMSG_VIRTIO_HOST_ROLE=1 ...); use it with
 * -DRPMSG_CONFIG_FILE='"rpmsg_config.h"'. docs/mcu.md explains each choice.
 */
#ifndef RPMSG_MCU_CONFIG_H
#define RPMSG_MCU_CONFIG_H

#define RPMSG_NO_SYS 1
#define RPMSG_BOARD_TIME_MS 1 /* the board implements rpmsg_board_time_ms() */

/* A firmware is the remote of its application processor. */
#ifndef RPMSG_VIRTIO_HOST_ROLE
#define RPMSG_VIRTIO_HOST_ROLE 0
#endif
#ifndef RPMSG_VIRTIO_REMOTE_ROLE
#define RPMSG_VIRTIO_REMOTE_ROLE 1
#endif

/* Announce endpoints; Linux and OpenAMP peers bind without CREATE_ACK. */
#ifndef RPMSG_NS
#define RPMSG_NS 1
#endif
#ifndef RPMSG_NS_ACK
#define RPMSG_NS_ACK 0
#endif
#ifndef RPMSG_SERVICES
#define RPMSG_SERVICES 0
#endif
#ifndef RPMSG_SERVICE_MAX
#define RPMSG_SERVICE_MAX 2
#endif

/* Small tables: 4 dynamic addresses, 2 static buckets, one announcement
 * kept for an endpoint created later, one held RX buffer. */
#ifndef RPMSG_EPT_DYN_MAX
#define RPMSG_EPT_DYN_MAX 4
#endif
#ifndef RPMSG_EPT_HASH_SIZE
#define RPMSG_EPT_HASH_SIZE 2
#endif
#ifndef RPMSG_NS_PENDING_MAX
#define RPMSG_NS_PENDING_MAX 1
#endif
#ifndef RPMSG_HOLD_MAX
#define RPMSG_HOLD_MAX 1
#endif

/* Vrings of up to 8 buffers each way. */
#ifndef RPMSG_VIRTIO_NUM_MAX
#define RPMSG_VIRTIO_NUM_MAX 8
#endif

/* A blocking send in a callback sets later arrivals aside: room for every
 * buffer the peer can have in flight (the vring), or order is lost when it
 * overflows; the first one is copied if short (a command, an ack), which
 * gives its buffer back at once. */
#ifndef RPMSG_RX_DEFER_MAX
#define RPMSG_RX_DEFER_MAX RPMSG_VIRTIO_NUM_MAX
#endif
#ifndef RPMSG_RX_BACKLOG
#define RPMSG_RX_BACKLOG 1
#endif
#ifndef RPMSG_BACKLOG_BUF_SIZE
#define RPMSG_BACKLOG_BUF_SIZE 64
#endif
#ifndef RPMSG_NEST_MAX
#define RPMSG_NEST_MAX 2
#endif

/* Counters wrap at 2^32 (a 32-bit CPU counts them in one instruction). */
#ifndef RPMSG_COUNTER_T
#define RPMSG_COUNTER_T uint32_t
#endif

#endif
