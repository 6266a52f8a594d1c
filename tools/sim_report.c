#include "sim_report.h"

#include <string.h>

static const char *const states[] = { "stopped", "starting", "running", "DEAD" };

static const char *end_role(const struct topo_link *l, int e)
{
    static const char *const r[3][2] = { { "host", "remote" }, { "a", "b" }, { "master", "slave" } };
    return r[l->type][e];
}

void sim_print_topology(const struct topo *t, FILE *f)
{
    fprintf(f, "topology %s: %d cores, %d links\n", t->file, t->ncores, t->nlinks);
    for (int i = 0; i < t->ncores; i++)
        fprintf(f, "  core %-10s%s%s%s%s%s\n", t->cores[i].name, t->cores[i].hub ? " hub" : "",
                t->cores[i].program[0] ? " program: " : "", t->cores[i].program,
                t->cores[i].nuttx ? " nuttx-sim: /dev/shm/" : "", t->cores[i].shm);
    for (int i = 0; i < t->nlinks; i++) {
        const struct topo_link *l = &t->links[i];
        fprintf(f, "  link %-10s %-6s %s (%s) <-> %s (%s)", l->name, topo_type_name(l->type),
                t->cores[l->end[0]].name, end_role(l, 0), t->cores[l->end[1]].name,
                end_role(l, 1));
        if (l->rate)
            fprintf(f, " %s %u", l->type == TOPO_UART ? "baud" : "clock_hz", l->rate);
        if (l->ber > 0)
            fprintf(f, " ber %g", l->ber);
        fprintf(f, "\n");
    }
    for (int i = 0; i < t->ncores; i++) {
        const struct topo_core *c = &t->cores[i];
        for (int k = 0; k < c->nbridges; k++)
            fprintf(f, "  core %-10s bridge %s %s\n", c->name, c->bridge[k].a, c->bridge[k].b);
        for (int k = 0; k < c->nexports; k++)
            fprintf(f, "  core %-10s export %s %s%s\n", c->name, c->export[k].name,
                    c->export[k].dir, c->export[k].ro ? " (read-only)" : "");
        for (int k = 0; k < c->nmounts; k++)
            fprintf(f, "  core %-10s mount %s:%s at %s\n", c->name, t->cores[c->mount[k].cpu].name,
                    c->mount[k].name, c->mount[k].dir);
    }
}


static const char *const svc_states[] = { "waiting", "running", "FAILED" };

/* One line per declared service of a running core: bridges with their
 * connections and bytes, exports with their clients, mounts. */
static void print_services(const struct topo *t, const struct sim_shared *sh, FILE *f)
{
    for (int i = 0; i < t->ncores; i++) {
        const struct topo_core *c = &t->cores[i];
        const struct sim_core_status *st = &sh->core[i];
        if (st->state != SIM_CORE_RUNNING)
            continue;
        for (int k = 0; k < c->nbridges; k++) {
            const struct sim_bridge_status *b = &st->bridge[k];
            fprintf(f, "  %-10s bridge %s %s: %s, connections %llu (active %llu), bytes to "
                       "rpmsg %llu, to the end %llu, errors %llu\n",
                    c->name, c->bridge[k].a, c->bridge[k].b, svc_states[b->state % 3],
                    (unsigned long long)b->conns, (unsigned long long)b->active,
                    (unsigned long long)b->to_rpmsg, (unsigned long long)b->to_end,
                    (unsigned long long)b->errors);
        }
        for (int k = 0; k < c->nexports; k++)
            fprintf(f, "  %-10s export %s (%s%s): clients %u\n", c->name, c->export[k].name,
                    c->export[k].dir, c->export[k].ro ? ", read-only" : "", st->fs_clients);
        for (int k = 0; k < c->nmounts; k++) {
            const struct sim_mount_status *m = &st->mount[k];
            fprintf(f, "  %-10s mount %s:%s at %s: %s", c->name, t->cores[c->mount[k].cpu].name,
                    c->mount[k].name, c->mount[k].dir,
                    m->state == SIM_SVC_RUNNING ? "mounted" : svc_states[m->state % 3]);
            if (m->remounts)
                fprintf(f, ", remounted %u", m->remounts);
            if (m->state != SIM_SVC_RUNNING && m->error[0])
                fprintf(f, " (%s)", m->error);
            fprintf(f, "\n");
        }
    }
}


static void human(char *buf, size_t n, uint64_t v)
{
    if (v >= 10u * 1024 * 1024)
        snprintf(buf, n, "%lluM", (unsigned long long)(v >> 20));
    else if (v >= 10u * 1024)
        snprintf(buf, n, "%lluK", (unsigned long long)(v >> 10));
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
}

void sim_print_status(const struct topo *t, const struct sim_shared *sh, FILE *f,
                      uint64_t elapsed_ms)
{
    fprintf(f, "[%6.1fs]", (double)elapsed_ms / 1000.0);
    for (int i = 0; i < t->ncores; i++) {
        const struct sim_core_status *c = &sh->core[i];
        if (t->cores[i].nuttx) {
            fprintf(f, " %s:nuttx-sim(%s)", t->cores[i].name, t->cores[i].shm);
            continue;
        }
        fprintf(f, " %s:%s", t->cores[i].name, states[c->state & 3]);
        if (c->state == SIM_CORE_RUNNING && !t->cores[i].program[0])
            fprintf(f, "(far %u, echoed %llu%s)", c->far_up, (unsigned long long)c->echoed,
                    t->cores[i].hub ? ", hub" : "");
        if (c->restarts)
            fprintf(f, "[restarts %u]", c->restarts);
    }
    fprintf(f, "\n");
    for (int li = 0; li < t->nlinks; li++) {
        const struct topo_link *l = &t->links[li];
        fprintf(f, "  %-10s %-6s", l->name, topo_type_name(l->type));
        for (int e = 0; e < 2; e++) {
            const struct sim_link_status *s = &sh->core[l->end[e]].link[li];
            char tb[16], rb[16];
            human(tb, sizeof(tb), s->tx_bytes);
            human(rb, sizeof(rb), s->rx_bytes);
            if (t->cores[l->end[e]].program[0] || t->cores[l->end[e]].nuttx)
                fprintf(f, " | %s: (%s)", t->cores[l->end[e]].name,
                        t->cores[l->end[e]].nuttx ? "NuttX" : "program");
            else
                fprintf(f, " | %s: %-4s tx %llu/%s rx %llu/%s err %llu", t->cores[l->end[e]].name,
                        s->up ? "up" : "down", (unsigned long long)s->tx_msgs, tb,
                        (unsigned long long)s->rx_msgs, rb, (unsigned long long)s->errors);
            if (s->reopens)
                fprintf(f, " reopened %u", s->reopens);
        }
        fprintf(f, "\n");
    }
    print_services(t, sh, f);
}

void sim_print_core_links(const struct topo *t, const struct sim_shared *sh, int core, FILE *f)
{
    fprintf(f, "core %s: %s\n", t->cores[core].name, states[sh->core[core].state & 3]);
    for (int li = 0; li < t->nlinks; li++) {
        const struct topo_link *l = &t->links[li];
        int e = l->end[1] == core;
        if (l->end[e] != core)
            continue;
        const struct sim_link_status *s = &sh->core[core].link[li];
        fprintf(f, "  link %s (%s, %s) to %s: %s\n", l->name, topo_type_name(l->type),
                end_role(l, e), t->cores[l->end[!e]].name, s->up ? "up" : "down");
        if (t->cores[core].program[0]) {
            fprintf(f, "    (a program: not observed)\n");
            continue;
        }
        if (!s->peer[0])
            continue; /* never up */
        fprintf(f, "    peer cpu:  %s\n    features:  0x%x\n", s->peer, s->features);
        fprintf(f, "    buffers:   tx %u x %u bytes, rx %u x %u bytes\n", s->tx_bufs,
                s->tx_buf_size, s->rx_bufs, s->rx_buf_size);
        fprintf(f, "    messages:  tx %llu, rx %llu, errors %llu\n",
                (unsigned long long)s->tx_msgs, (unsigned long long)s->rx_msgs,
                (unsigned long long)s->errors);
    }
}

static void route(const struct topo *t, int from, int to, char *buf, size_t n, int *hops)
{
    int path[TOPO_CORES_MAX];
    int k = topo_path(t, from, to, path, TOPO_CORES_MAX);
    *hops = k ? k - 1 : 0;
    size_t len = (size_t)snprintf(buf, n, "%s", t->cores[from].name);
    for (int i = 1; i < k && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, " -%s-> %s",
                                topo_type_name(t->links[topo_link_between(t, path[i - 1], path[i])].type),
                                t->cores[path[i]].name);
}

static void print_measure(const struct topo *t, const struct sim_measure *m, const char *what,
                          FILE *f)
{
    const char *from = t->cores[t->demo_from].name, *to = t->cores[m->target].name;
    fprintf(f, "  %s %s -> %s:\n", what, from, to);
    fprintf(f, "    ping:   %u round trips of 16 bytes, rtt min/p50/avg/max %.1f/%.1f/%.1f/%.1f us\n",
            m->pings, m->rtt_min_us, m->rtt_p50_us, m->rtt_avg_us, m->rtt_max_us);
    double rate = m->seconds > 0 ? m->received / m->seconds : 0;
    fprintf(f, "    stream: %u x %u bytes sent, %u echoed back, %u sequence errors, "
               "%u checksum errors\n",
            m->sent, m->size, m->received, m->seq_errors, m->sum_errors);
    fprintf(f, "            %.0f messages/s, %.2f MB/s each way (%u in flight)\n", rate,
            rate * m->size / 1e6, m->window);
    if (m->error[0])
        fprintf(f, "    error:  %s\n", m->error);
}

static unsigned long measure_errors(const struct sim_measure *m)
{
    unsigned long lost = m->sent > m->received ? m->sent - m->received : 0;
    return (unsigned long)m->seq_errors + m->sum_errors + lost + (m->error[0] != 0);
}

bool sim_print_report(const struct topo *t, const struct sim_opts *o,
                      const struct sim_shared *sh, FILE *f)
{
    const struct sim_demo *d = &sh->demo;
    char path[256], npath[256];
    int hops, nhops = 0;
    route(t, t->demo_from, t->demo_to, path, sizeof(path), &hops);
    fprintf(f, "\n== rpmsg sim demo report (%s)\n", t->file);
    if (hops)
        fprintf(f, "  route:  %s  (%d hop%s, %d hub%s)\n", path, hops, hops == 1 ? "" : "s",
                hops - 1, hops == 2 ? "" : "s");
    else
        fprintf(f, "  route:  none from %s to %s (only hubs forward)\n",
                t->cores[t->demo_from].name, t->cores[t->demo_to].name);
    if (!d->done) {
        fprintf(f, "  the demo client did not finish\n");
    } else {
        if (d->far.pings || d->far.received)
            fprintf(f, "  discovery: service '%s' on %s found and bound by name after %u ms\n",
                    SIM_ECHO_SVC, t->cores[t->demo_to].name, d->far.bind_ms);
        print_measure(t, &d->far, "through the route", f);
        /* Nothing to compare with when the first hop was never measured
         * (the demo stopped or failed before it). */
        if (hops > 1 && (d->near.pings || d->near.sent || d->near.error[0])) {
            route(t, t->demo_from, (int)d->near.target, npath, sizeof(npath), &nhops);
            print_measure(t, &d->near, "first hop only, for comparison", f);
        }
    }
    uint64_t link_errors = 0, relayed = 0;
    for (int i = 0; i < t->ncores; i++) {
        relayed += sh->core[i].relayed_msgs;
        for (int li = 0; li < t->nlinks; li++)
            link_errors += sh->core[i].link[li].errors;
    }
    /* Link errors (CRC, lost bytes) are recovered below the data: the data
     * checks above are what decide. */
    fprintf(f, "  hubs relayed %llu messages; link-level errors recovered by the transports: %llu\n",
            (unsigned long long)relayed, (unsigned long long)link_errors);
    bool ok = d->done && d->far.ok && (hops <= 1 || d->near.ok);
    /* Every data error, lost message and failed check, in one figure. */
    unsigned long errors = !d->done + measure_errors(&d->far) + (hops > 1 ? measure_errors(&d->near) : 0);
    if (!ok && !errors)
        errors = 1; /* a failed check that counts nothing (e.g. no binding) */
    fprintf(f, "errors: %lu\n", errors);
    fprintf(f, "result: %s\n", ok ? "OK" : "FAILED");
    const struct sim_measure *m = &d->far, *n = &d->near;
    fprintf(f,
            "{\"bench\":\"sim_topology\",\"topology\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
            "\"hops\":%d,\"ok\":%s,\"size\":%u,\"count\":%u,"
            "\"rtt_avg_us\":%.1f,\"rtt_p50_us\":%.1f,\"msgs_per_s\":%.0f,\"errors\":%u,"
            "\"direct_rtt_avg_us\":%.1f,\"direct_rtt_p50_us\":%.1f,\"direct_msgs_per_s\":%.0f,"
            "\"link_errors\":%llu}\n",
            t->file, t->cores[t->demo_from].name, t->cores[t->demo_to].name, hops,
            ok ? "true" : "false", m->size, o->count, m->rtt_avg_us, m->rtt_p50_us,
            m->seconds > 0 ? m->received / m->seconds : 0.0,
            m->seq_errors + m->sum_errors + (m->sent - m->received),
            hops > 1 ? n->rtt_avg_us : m->rtt_avg_us, hops > 1 ? n->rtt_p50_us : m->rtt_p50_us,
            hops > 1 ? (n->seconds > 0 ? n->received / n->seconds : 0.0)
                     : (m->seconds > 0 ? m->received / m->seconds : 0.0),
            (unsigned long long)link_errors);
    return ok;
}
