/*
 * Running the built `rpmsg` tool from tests: child processes with stdout and
 * stderr captured in memfds, bounded waits, and cleanup of the /dev/shm
 * names a test made (all carry a pid-based prefix).
 */
#ifndef RPMSG_TEST_TOOLRUN_H
#define RPMSG_TEST_TOOLRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TR_MAX_PROCS 3

struct tr_proc {
    pid_t pid;
    int out, err; /* memfds */
    int status;   /* exit code, 128 + signal, or -1 */
};

extern struct tr_proc tr_procs[TR_MAX_PROCS];
extern char tr_bin[512];    /* $RPMSG_TEST_BIN_DIR/rpmsg */
extern char tr_prefix[64];  /* of every name a test makes */

/* Sets tr_bin and tr_prefix (tag-pid-); false if there is no binary. */
bool tr_init(const char *tag);
/* Kills what still runs, closes the captures. */
void tr_kill_all(void);
/* Entries of /dev/shm with tr_prefix, removed as counted. */
int tr_leftovers(void);
/* Starts `rpmsg args...` (NULL-terminated) with stdout and stderr captured. */
void tr_start(struct tr_proc *p, const char *const *args);
/* Waits at most ms for the process; kills it after that. Its status. */
int tr_finish(struct tr_proc *p, int ms);
/* Runs `rpmsg args...` to its end (at most ms); its status. */
int tr_run(struct tr_proc *p, const char *const *args, int ms);
/* The whole of a memfd as a string. */
void tr_slurp(int fd, char *buf, size_t size);
void tr_dump(const char *what, struct tr_proc *p);
/* Waits (at most ms) until p's stderr holds text. */
bool tr_err_has(struct tr_proc *p, const char *text, int ms);
/* rel (e.g. "tools/wireshark/rpmsg.lua") in the source tree. */
void tr_source_path(char *out, size_t size, const char *rel);
/*
 * tshark on a capture with the source tree's tools/wireshark/rpmsg.lua: the
 * fields (names separated by spaces) of every record, comma separated, one
 * record a line (a field that occurs more than once: its values joined by
 * '/'), into buf. 0, or -1 if tshark failed.
 */
int tr_tshark(const char *file, const char *fields, char *buf, size_t size);
/* Integer value of "key": in a JSON text, or -1. */
long tr_json_int(const char *j, const char *key);

#endif
