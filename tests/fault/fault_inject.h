/*
 * Fault injection for tests/fault (SQLite's "fail the Nth call"). The
 * executables here are linked with -Wl,--wrap for the calls that can fail
 * for lack of resources: malloc, calloc, realloc, aligned_alloc,
 * posix_memalign, strdup, pthread_create, pthread_mutex_init and
 * pthread_cond_init. Every such call the library makes (it is linked
 * statically, so its references are wrapped too, from the OS port's
 * rpmsg_mutex_init to the platform's own pthread calls) is counted while a
 * fault is armed, and the Nth one fails as the OS would: NULL with ENOMEM,
 * or EAGAIN / ENOMEM from pthread. Nothing changes in the library, and
 * nothing is counted while no fault is armed.
 */
#ifndef FAULT_INJECT_H
#define FAULT_INJECT_H

#include <stdbool.h>

/* Fails the nth fallible call from now on (1 = the next); 0 disarms. */
void fault_arm(unsigned nth);
/* The errno the failed call reported (ENOMEM, EAGAIN), 0 if none failed. */
int fault_injected(void);
/* Fallible calls counted since fault_arm(). */
unsigned fault_calls(void);

/* What a failure must not leave behind: threads, open descriptors and
 * mappings of shared-memory objects. */
struct fault_snapshot {
    int threads, fds, shm_maps;
};
struct fault_snapshot fault_snapshot(void);
bool fault_snapshot_equal(struct fault_snapshot a, struct fault_snapshot b);

/*
 * Runs open() with the 1st, 2nd, ... fallible call failing until it
 * succeeds without a failure; each failing run must return -errno of the
 * injected fault and leave no thread or descriptor behind; the successful
 * one is closed with close() and must leave nothing either. Returns how many
 * fallible calls a successful open() makes. ctx is passed through.
 */
unsigned fault_sweep(int (*open)(void *ctx), void (*close)(void *ctx), void *ctx);

#endif
