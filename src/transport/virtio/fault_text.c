/* Faults in words, for logs and tools (rpmsg_virtio_fault_text). */
#include <stdio.h>

#include "rpmsg/rpmsg_virtio.h"

static const char *const what[] = {
    [RPMSG_VIRTIO_FAULT_NONE] = "no fault",
    [RPMSG_VIRTIO_FAULT_TABLE] = "bad resource table",
    [RPMSG_VIRTIO_FAULT_FEATURES] = "driver features not a subset of the offer",
    [RPMSG_VIRTIO_FAULT_CONFIG] = "unusable buffer size in the config space",
    [RPMSG_VIRTIO_FAULT_IDX] = "ring index ran ahead of what the ring holds",
    [RPMSG_VIRTIO_FAULT_ID] = "descriptor id out of range or not in the peer's hands",
    [RPMSG_VIRTIO_FAULT_ADDR] = "descriptor address outside the buffer pool",
    [RPMSG_VIRTIO_FAULT_LEN] = "length too small or beyond the buffer",
    [RPMSG_VIRTIO_FAULT_DUP] = "the same buffer handed out twice",
    [RPMSG_VIRTIO_FAULT_WRAP] = "packed descriptor with wrap flags out of turn",
};

/* What the value of a fault is, by fault. */
static const char *value_name(uint32_t fault)
{
    switch (fault) {
    case RPMSG_VIRTIO_FAULT_IDX: return "idx";
    case RPMSG_VIRTIO_FAULT_WRAP: return "flags";
    case RPMSG_VIRTIO_FAULT_FEATURES: return "features";
    case RPMSG_VIRTIO_FAULT_CONFIG: return "size";
    default: return "id";
    }
}

int rpmsg_virtio_fault_text(const struct rpmsg_virtio_stats *s, bool host, char *buf,
                            size_t size)
{
    if (!s || !buf || !size)
        return 0;
    buf[0] = '\0';
    if (!s->faults)
        return 0;
    uint32_t f = s->last_fault;
    const char *w = f < sizeof(what) / sizeof(what[0]) && what[f] ? what[f] : "unknown fault";
    int n;
    if (s->last_fault_vring == RPMSG_VIRTIO_NO_VRING)
        n = snprintf(buf, size, "%s (%s 0x%x)", w, value_name(f), (unsigned)s->last_fault_value);
    else
        /* A host reads the used rings, a remote the avail rings. */
        n = snprintf(buf, size, "%s (vring%u %s entry %u: %s %u)", w,
                     (unsigned)s->last_fault_vring, host ? "used" : "avail",
                     (unsigned)s->last_fault_entry, value_name(f),
                     (unsigned)s->last_fault_value);
    return n < 0 ? 0 : n;
}
