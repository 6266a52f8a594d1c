/*
 * Both ends of the two-process stream test: each side sends its share of
 * messages of pseudo-random sizes (0..max payload) and contents derived from
 * (direction, index), and checks every message it receives against the same
 * derivation, so loss, duplication, reordering and corruption all fail it.
 */
#ifndef MP_STREAM_H
#define MP_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "rpmsg/rpmsg_link.h"

struct mp_stream_result {
    unsigned long sent, received, bad_size, bad_content, send_errors;
    bool fin; /* the peer's end-of-stream marker arrived */
};

/*
 * Runs one side on an open link. 0 when everything matched. Side 0 must close
 * the link first: side 1 returns only once the link went down (or after 30 s).
 */
int mp_stream_run(struct rpmsg_link *link, int dir, unsigned count, bool nocopy,
                  struct mp_stream_result *res);

#endif
