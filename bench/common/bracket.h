/*
 * A machine limit measured right before and right after the figure it
 * divides. On a shared machine a limit taken once, minutes away from the
 * figure, can be off by a factor of ten (another job's build ran meanwhile);
 * taking it on both sides shows how much it moved while the figure was
 * measured, and a ratio whose limit moved by more than BENCH_BRACKET_MOVED
 * is flagged instead of being believed.
 */
#ifndef BENCH_BRACKET_H
#define BENCH_BRACKET_H

#include "bench_report.h"

#define BENCH_BRACKET_MOVED 0.20

struct bench_bracket {
    double before, after; /* the limit's value on each side; <= 0: not measured */
};

/* The limit to divide by: the mean of both sides (or the one measured). */
double bench_bracket_value(const struct bench_bracket *b);
/* How far the limit moved: |after - before| / min(before, after); 0 if one is missing. */
double bench_bracket_spread(const struct bench_bracket *b);

/*
 * Adds the ratio figure / limit to rep, with the limit on both sides and its
 * spread as extras. target > 0: the note says met or MISSED (at_most: the
 * ratio must stay at or below target); either way a limit that moved by more
 * than BENCH_BRACKET_MOVED marks the note "LIMIT MOVED". Returns the ratio,
 * or -1 when a figure is missing (nothing added).
 */
double bench_add_bracketed_ratio(struct bench_report *rep, const char *name, const char *label,
                                 double figure, const struct bench_bracket *b, double target,
                                 bool at_most);

#endif
