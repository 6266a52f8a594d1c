/*
 * NuttX's raw values on the rpmsgfs wire (open flags, mode, errno, d_type)
 * to and from this host's. Today's NuttX chose Linux's numbers for most of
 * them, but the wire is defined by NuttX's headers, not by whatever host
 * builds this, hence a table per value rather than a cast.
 */
#ifndef RPMSG_FS_XLATE_H
#define RPMSG_FS_XLATE_H

#include <stdint.h>

int32_t rpmsgfs_flags_to_nx(int host);
int rpmsgfs_flags_from_nx(int32_t nx);
uint32_t rpmsgfs_mode_to_nx(uint32_t host);
uint32_t rpmsgfs_mode_from_nx(uint32_t nx);
/* Both take and return positive errno values; unknown ones become EIO. */
int32_t rpmsgfs_errno_to_nx(int host);
int rpmsgfs_errno_from_nx(int32_t nx);
/* A result field: negative values are errnos, others pass. */
int32_t rpmsgfs_result_to_nx(int64_t r);
int64_t rpmsgfs_result_from_nx(int32_t r);
uint32_t rpmsgfs_dtype_to_nx(unsigned host);
unsigned rpmsgfs_dtype_from_nx(uint32_t nx);

#endif
