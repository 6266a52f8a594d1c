#include "bracket.h"

#include <math.h>
#include <string.h>

double bench_bracket_value(const struct bench_bracket *b)
{
    if (b->before > 0 && b->after > 0)
        return (b->before + b->after) / 2;
    return b->before > 0 ? b->before : b->after;
}

double bench_bracket_spread(const struct bench_bracket *b)
{
    if (!(b->before > 0 && b->after > 0))
        return 0;
    return fabs(b->after - b->before) / fmin(b->before, b->after);
}

double bench_add_bracketed_ratio(struct bench_report *rep, const char *name, const char *label,
                                 double figure, const struct bench_bracket *b, double target,
                                 bool at_most)
{
    double limit = bench_bracket_value(b);
    if (!(figure > 0 && limit > 0))
        return -1;
    double v = figure / limit, spread = bench_bracket_spread(b);
    struct bench_result r;
    memset(&r, 0, sizeof(r));
    bench_result_set(&r, name, label, "x", v);
    bench_result_extra(&r, "limit_before", b->before);
    bench_result_extra(&r, "limit_after", b->after);
    bench_result_extra(&r, "limit_spread", spread);
    const char *moved = spread > BENCH_BRACKET_MOVED ? "; LIMIT MOVED: not reliable" : "";
    if (target > 0) {
        bench_result_extra(&r, "target", target);
        bool ok = at_most ? v <= target : v >= target;
        snprintf(r.note, sizeof(r.note), "target %s %.2f: %s; limit moved %.0f%%%s",
                 at_most ? "<=" : ">=", target, ok ? "met" : "MISSED", spread * 100, moved);
    } else {
        snprintf(r.note, sizeof(r.note), "limit moved %.0f%%%s", spread * 100, moved);
    }
    bench_report_add(rep, &r);
    return v;
}
