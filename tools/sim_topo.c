/*
 * Topology file parser (libinih). inih reports only the line of the first
 * error, so the reader counts lines itself and every rejection carries its
 * own reason; checks that need the whole file (a link naming an unknown
 * core) point at the line of the key that named it.
 */
#include "sim_topo.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
    struct topo *t;
    FILE *f;
    int lineno;
    char *err;
    size_t errlen;
    bool failed;
    char cur_section[64];
    int cur_core, cur_link;
    /* Core names as written in link sections, resolved at the end. */
    char end_name[TOPO_LINKS_MAX][2][TOPO_NAME_MAX];
    int end_line[TOPO_LINKS_MAX][2];
    bool type_set[TOPO_LINKS_MAX];
    char demo_name[2][TOPO_NAME_MAX];
    int demo_line[2];
    char mount_cpu[TOPO_CORES_MAX][TOPO_SVC_MAX][TOPO_NAME_MAX];
};

static int fail(struct parse *p, int line, const char *fmt, ...)
{
    if (!p->failed) {
        int n = snprintf(p->err, p->errlen, "%s:%d: ", p->t->file, line);
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < p->errlen)
            vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
        p->failed = true;
    }
    return 0;
}

static int open_section(struct parse *p, const char *section);

/* Also opens sections here: inih calls the handler for keys only, and a
 * [core X] section may well have none. */
static char *reader(char *str, int num, void *stream)
{
    struct parse *p = stream;
    char *s = fgets(str, num, p->f);
    if (!s)
        return s;
    p->lineno++;
    const char *b = s + strspn(s, " \t");
    const char *e = b[0] == '[' ? strchr(b, ']') : NULL;
    if (e && !p->failed) {
        char sec[64];
        snprintf(sec, sizeof(sec), "%.*s", (int)(e - b - 1), b + 1);
        p->cur_section[0] = '\0'; /* a repeated header is a new section */
        open_section(p, sec);
    }
    return s;
}

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) >= TOPO_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

static int parse_bool(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "on"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "off"))
        return 0;
    return -1;
}

static int parse_u32(const char *v, uint32_t *out, uint32_t min, uint32_t max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || end == v || *end || x < min || x > max || v[0] == '-')
        return -1;
    *out = (uint32_t)x;
    return 0;
}

/* Starts a section when the reader sees its header. */
static int open_section(struct parse *p, const char *section)
{
    if (!strcmp(p->cur_section, section))
        return 1;
    snprintf(p->cur_section, sizeof(p->cur_section), "%s", section);
    p->cur_core = p->cur_link = -1;
    struct topo *t = p->t;
    if (!strcmp(section, "sim"))
        return 1;
    char kind[16], name[64], extra[8];
    int n = sscanf(section, "%15s %63s %7s", kind, name, extra);
    if (n != 2)
        return fail(p, p->lineno, "section [%s]: expected [core NAME], [link NAME] or [sim]",
                    section);
    if (!valid_name(name))
        return fail(p, p->lineno, "bad name '%s' (1..%d of A-Z a-z 0-9 _ - .)", name,
                    TOPO_NAME_MAX - 1);
    if (!strcmp(kind, "core")) {
        int i = topo_core_index(t, name);
        if (i >= 0 && t->cores[i].line)
            return fail(p, p->lineno, "core '%s' defined twice (first at line %d)", name,
                        t->cores[i].line);
        if (i < 0) {
            if (t->ncores == TOPO_CORES_MAX)
                return fail(p, p->lineno, "more than %d cores", TOPO_CORES_MAX);
            i = t->ncores++;
            strcpy(t->cores[i].name, name);
        }
        t->cores[i].line = p->lineno;
        p->cur_core = i;
        return 1;
    }
    if (!strcmp(kind, "link")) {
        for (int i = 0; i < t->nlinks; i++)
            if (!strcmp(t->links[i].name, name))
                return fail(p, p->lineno, "link '%s' defined twice (first at line %d)", name,
                            t->links[i].line);
        if (t->nlinks == TOPO_LINKS_MAX)
            return fail(p, p->lineno, "more than %d links", TOPO_LINKS_MAX);
        int i = t->nlinks++;
        strcpy(t->links[i].name, name);
        t->links[i].line = p->lineno;
        t->links[i].end[0] = t->links[i].end[1] = -1;
        p->cur_link = i;
        return 1;
    }
    return fail(p, p->lineno, "unknown section kind '%s' (core, link or sim)", kind);
}

static int set_end(struct parse *p, int end, const char *value)
{
    if (!valid_name(value))
        return fail(p, p->lineno, "bad core name '%s'", value);
    if (p->end_name[p->cur_link][end][0])
        return fail(p, p->lineno, "link '%s' names this end twice", p->t->links[p->cur_link].name);
    strcpy(p->end_name[p->cur_link][end], value);
    p->end_line[p->cur_link][end] = p->lineno;
    return 1;
}

static int link_key(struct parse *p, const char *key, const char *value)
{
    struct topo_link *l = &p->t->links[p->cur_link];
    static const char *const ends[3][2] = { { "host", "remote" }, { "a", "b" },
                                            { "master", "slave" } };
    if (!strcmp(key, "type")) {
        if (!strcmp(value, "virtio")) l->type = TOPO_VIRTIO;
        else if (!strcmp(value, "uart")) l->type = TOPO_UART;
        else if (!strcmp(value, "spi")) l->type = TOPO_SPI;
        else return fail(p, p->lineno, "unknown link type '%s' (virtio, uart or spi)", value);
        p->type_set[p->cur_link] = true;
        return 1;
    }
    for (int k = 0; k < 3; k++)
        for (int e = 0; e < 2; e++)
            if (!strcmp(key, ends[k][e])) {
                if (!p->type_set[p->cur_link])
                    return fail(p, p->lineno, "'type' must come before '%s'", key);
                if ((int)l->type != k)
                    return fail(p, p->lineno, "'%s' is not an end of a %s link (use %s/%s)", key,
                                topo_type_name(l->type), ends[l->type][0], ends[l->type][1]);
                return set_end(p, e, value);
            }
    if (!strcmp(key, "bufs")) {
        if (parse_u32(value, &l->num_bufs, 1, 4096))
            return fail(p, p->lineno, "bufs: expected 1..4096, got '%s'", value);
        return 1;
    }
    if (!strcmp(key, "buf_size")) {
        if (parse_u32(value, &l->buf_size, 64, 65536))
            return fail(p, p->lineno, "buf_size: expected 64..65536, got '%s'", value);
        return 1;
    }
    if (!strcmp(key, "baud") || !strcmp(key, "clock_hz")) {
        if (!p->type_set[p->cur_link] || l->type != (key[0] == 'b' ? TOPO_UART : TOPO_SPI))
            return fail(p, p->lineno, "'%s' applies to %s links only", key,
                        key[0] == 'b' ? "uart" : "spi");
        if (parse_u32(value, &l->rate, 0, 1000000000))
            return fail(p, p->lineno, "%s: expected a number, got '%s'", key, value);
        return 1;
    }
    if (!strcmp(key, "ber")) {
        char *end;
        l->ber = strtod(value, &end);
        if (*end || end == value || l->ber < 0 || l->ber > 0.01)
            return fail(p, p->lineno, "ber: expected 0..0.01, got '%s'", value);
        if (p->type_set[p->cur_link] && l->type == TOPO_VIRTIO && l->ber > 0)
            return fail(p, p->lineno, "ber applies to uart and spi links only");
        return 1;
    }
    return fail(p, p->lineno, "unknown key '%s' in a link section", key);
}

/* Splits v into at most max whitespace-separated words of at most len-1
 * bytes each (into words[i], len apart); the number of words, or -1 when
 * there are more than max or one is too long. */
static int words(const char *v, char *w, size_t len, int max)
{
    int n = 0;
    for (;;) {
        v += strspn(v, " \t");
        if (!*v)
            return n;
        size_t k = strcspn(v, " \t");
        if (n == max || k >= len)
            return -1;
        memcpy(w + (size_t)n * len, v, k);
        w[(size_t)n * len + k] = '\0';
        n++;
        v += k;
    }
}

/* bridge, export and mount: the services a core runs (sim_svc.c). */
static int service_key(struct parse *p, struct topo_core *c, const char *key, const char *value)
{
    char w[3][TOPO_ARG_MAX];
    int n = words(value, &w[0][0], TOPO_ARG_MAX, 3);
    if (!strcmp(key, "bridge")) {
        if (n != 2)
            return fail(p, p->lineno, "bridge: expected two addresses of `rpmsg sock` "
                                      "(e.g. tcp-listen:5201 rpmsg:B:NAME)");
        if (c->nbridges == TOPO_SVC_MAX)
            return fail(p, p->lineno, "more than %d bridges on core '%s'", TOPO_SVC_MAX, c->name);
        struct topo_bridge *b = &c->bridge[c->nbridges++];
        strcpy(b->a, w[0]);
        strcpy(b->b, w[1]);
        b->line = p->lineno;
        return 1;
    }
    if (!strcmp(key, "export")) {
        if (n < 2 || (n == 3 && strcmp(w[2], "ro")))
            return fail(p, p->lineno, "export: expected NAME DIR [ro]");
        if (!valid_name(w[0]))
            return fail(p, p->lineno, "export: bad name '%s' (1..%d of A-Z a-z 0-9 _ - .)", w[0],
                        TOPO_NAME_MAX - 1);
        if (c->nexports == TOPO_SVC_MAX)
            return fail(p, p->lineno, "more than %d exports on core '%s'", TOPO_SVC_MAX, c->name);
        for (int i = 0; i < c->nexports; i++)
            if (!strcmp(c->export[i].name, w[0]))
                return fail(p, p->lineno, "export '%s' defined twice on core '%s' (first at line %d)",
                            w[0], c->name, c->export[i].line);
        struct topo_export *e = &c->export[c->nexports++];
        strcpy(e->name, w[0]);
        strcpy(e->dir, w[1]);
        e->ro = n == 3;
        e->line = p->lineno;
        return 1;
    }
    /* mount */
    char *colon = n == 2 ? strchr(w[0], ':') : NULL;
    if (!colon)
        return fail(p, p->lineno, "mount: expected CPU:NAME MOUNTPOINT");
    *colon = '\0';
    if (!valid_name(w[0]) || !valid_name(colon + 1))
        return fail(p, p->lineno, "mount: bad core or export name in '%s:%s'", w[0], colon + 1);
    if (c->nmounts == TOPO_SVC_MAX)
        return fail(p, p->lineno, "more than %d mounts on core '%s'", TOPO_SVC_MAX, c->name);
    int ci = (int)(c - p->t->cores);
    struct topo_mount *m = &c->mount[c->nmounts];
    strcpy(p->mount_cpu[ci][c->nmounts++], w[0]);
    strcpy(m->name, colon + 1);
    strcpy(m->dir, w[1]);
    m->line = p->lineno;
    return 1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    struct parse *p = user;
    if (p->failed)
        return 1;
    if (!section[0])
        return fail(p, p->lineno, "key '%s' outside any section", key);
    if (!open_section(p, section))
        return 0;
    struct topo *t = p->t;
    if (p->cur_core >= 0) {
        struct topo_core *c = &t->cores[p->cur_core];
        if (!strcmp(key, "hub")) {
            int b = parse_bool(value);
            if (b < 0)
                return fail(p, p->lineno, "hub: expected true or false, got '%s'", value);
            c->hub = b;
            return 1;
        }
        if (!strcmp(key, "program")) {
            if (!value[0] || strlen(value) >= sizeof(c->program))
                return fail(p, p->lineno, "program: empty or too long");
            strcpy(c->program, value);
            return 1;
        }
        if (!strcmp(key, "kind")) {
            if (strcmp(value, "builtin") && strcmp(value, "nuttx-sim"))
                return fail(p, p->lineno, "kind: expected builtin or nuttx-sim, got '%s'", value);
            c->nuttx = value[0] == 'n';
            return 1;
        }
        if (!strcmp(key, "shm")) {
            if (!valid_name(value) || strlen(value) >= sizeof(c->shm))
                return fail(p, p->lineno, "shm: bad name '%s'", value);
            strcpy(c->shm, value);
            return 1;
        }
        if (!strcmp(key, "bridge") || !strcmp(key, "export") || !strcmp(key, "mount"))
            return service_key(p, c, key, value);
        return fail(p, p->lineno,
                    "unknown key '%s' in a core section (hub, program, kind, shm, bridge, "
                    "export, mount)",
                    key);
    }
    if (p->cur_link >= 0)
        return link_key(p, key, value);
    /* [sim] */
    if (!strcmp(key, "demo_from") || !strcmp(key, "demo_to")) {
        int k = key[5] == 't';
        if (!valid_name(value))
            return fail(p, p->lineno, "bad core name '%s'", value);
        strcpy(p->demo_name[k], value);
        p->demo_line[k] = p->lineno;
        return 1;
    }
    if (!strcmp(key, "count") && !parse_u32(value, &t->demo_count, 1, 10000000))
        return 1;
    if (!strcmp(key, "size") && !parse_u32(value, &t->demo_size, 8, 65536))
        return 1;
    if (!strcmp(key, "pings") && !parse_u32(value, &t->demo_pings, 1, 1000000))
        return 1;
    if (!strcmp(key, "count") || !strcmp(key, "size") || !strcmp(key, "pings"))
        return fail(p, p->lineno, "%s: bad value '%s'", key, value);
    return fail(p, p->lineno, "unknown key '%s' in [sim] (demo_from, demo_to, count, size, pings)",
                key);
}

/* A NuttX simulator core: one VirtIO link to a core of ours, nothing to run. 1 on failure. */
static int check_nuttx(struct parse *p, int c, int nlinks)
{
    struct topo *t = p->t;
    struct topo_core *k = &t->cores[c];
    if ((k->nuttx || k->program[0]) && k->nbridges + k->nexports + k->nmounts)
        return !fail(p, k->nbridges ? k->bridge[0].line : k->nexports ? k->export[0].line
                                                                        : k->mount[0].line,
                     "core '%s' is not a built-in core (program or nuttx-sim): it runs no "
                     "bridge, export or mount",
                     k->name);
    if (!k->nuttx) {
        if (k->shm[0])
            return !fail(p, k->line, "core '%s': shm applies to kind = nuttx-sim only", k->name);
        return 0;
    }
    if (k->hub || k->program[0])
        return !fail(p, k->line, "core '%s' is a NuttX simulator: no hub, no program", k->name);
    if (nlinks != 1)
        return !fail(p, k->line, "core '%s' is a NuttX simulator: exactly one link", k->name);
    for (int i = 0; i < t->nlinks; i++) {
        const struct topo_link *l = &t->links[i];
        if (l->end[0] != c && l->end[1] != c)
            continue;
        if (l->type != TOPO_VIRTIO)
            return !fail(p, l->line, "link '%s' to NuttX core '%s' must be virtio", l->name,
                         k->name);
        if (t->cores[l->end[l->end[0] == c]].nuttx)
            return !fail(p, l->line, "link '%s' joins two NuttX cores", l->name);
    }
    if (!k->shm[0])
        strcpy(k->shm, "server-proxy");
    return 0;
}

static int resolve(struct parse *p)
{
    struct topo *t = p->t;
    for (int i = 0; i < t->nlinks; i++) {
        struct topo_link *l = &t->links[i];
        if (!p->type_set[i])
            return fail(p, l->line, "link '%s' has no type", l->name);
        for (int e = 0; e < 2; e++) {
            if (!p->end_name[i][e][0])
                return fail(p, l->line, "link '%s' lacks its %s end", l->name,
                            e ? (l->type == TOPO_VIRTIO ? "remote" : l->type == TOPO_SPI ? "slave" : "b")
                              : (l->type == TOPO_VIRTIO ? "host" : l->type == TOPO_SPI ? "master" : "a"));
            l->end[e] = topo_core_index(t, p->end_name[i][e]);
            if (l->end[e] < 0)
                return fail(p, p->end_line[i][e], "link '%s' names unknown core '%s'", l->name,
                            p->end_name[i][e]);
        }
        if (l->end[0] == l->end[1])
            return fail(p, p->end_line[i][1], "link '%s' joins core '%s' to itself", l->name,
                        t->cores[l->end[0]].name);
        for (int j = 0; j < i; j++)
            if ((t->links[j].end[0] == l->end[0] && t->links[j].end[1] == l->end[1]) ||
                (t->links[j].end[0] == l->end[1] && t->links[j].end[1] == l->end[0]))
                return fail(p, l->line, "link '%s' joins the same cores as link '%s'", l->name,
                            t->links[j].name);
    }
    for (int c = 0; c < t->ncores; c++) {
        int n = 0;
        for (int i = 0; i < t->nlinks; i++)
            n += t->links[i].end[0] == c || t->links[i].end[1] == c;
        if (n > TOPO_LINKS_PER_CORE)
            return fail(p, t->cores[c].line, "core '%s' has %d links (at most %d)",
                        t->cores[c].name, n, TOPO_LINKS_PER_CORE);
        if (n == 0)
            return fail(p, t->cores[c].line, "core '%s' has no link", t->cores[c].name);
        if (check_nuttx(p, c, n))
            return 0;
    }
    for (int c = 0; c < t->ncores; c++)
        for (int i = 0; i < t->cores[c].nmounts; i++) {
            struct topo_mount *m = &t->cores[c].mount[i];
            int path[TOPO_CORES_MAX];
            m->cpu = topo_core_index(t, p->mount_cpu[c][i]);
            if (m->cpu < 0)
                return fail(p, m->line, "mount: unknown core '%s'", p->mount_cpu[c][i]);
            if (m->cpu == c)
                return fail(p, m->line, "mount: core '%s' mounts its own export", t->cores[c].name);
            if (!topo_path(t, c, m->cpu, path, TOPO_CORES_MAX))
                return fail(p, m->line, "mount: no route from '%s' to '%s' (only hubs forward)",
                            t->cores[c].name, t->cores[m->cpu].name);
        }
    if (t->ncores < 2)
        return fail(p, p->lineno, "a topology needs at least two cores and a link");
    int *d[2] = { &t->demo_from, &t->demo_to };
    for (int k = 0; k < 2; k++) {
        *d[k] = -1;
        if (p->demo_name[k][0] && (*d[k] = topo_core_index(t, p->demo_name[k])) < 0)
            return fail(p, p->demo_line[k], "unknown core '%s'", p->demo_name[k]);
        if (*d[k] >= 0 && t->cores[*d[k]].nuttx)
            return fail(p, p->demo_line[k], "core '%s' is a NuttX simulator: no demo on it",
                        p->demo_name[k]);
    }
    /* Only hubs forward: a demo between cores that no chain of hubs joins
     * could only wait for a service that never appears. */
    int path[TOPO_CORES_MAX];
    if (t->demo_from >= 0 && t->demo_to >= 0 &&
        !topo_path(t, t->demo_from, t->demo_to, path, TOPO_CORES_MAX))
        return fail(p, p->demo_line[1],
                    "no route from '%s' to '%s': every core between them must be a hub "
                    "(hub = true in its [core] section)",
                    t->cores[t->demo_from].name, t->cores[t->demo_to].name);
    return 1;
}

int topo_load(struct topo *t, const char *path, char *err, size_t errlen)
{
    static struct parse p; /* large; the tool is single-threaded here */
    memset(t, 0, sizeof(*t));
    memset(&p, 0, sizeof(p));
    snprintf(t->file, sizeof(t->file), "%s", path);
    p.t = t;
    p.err = err;
    p.errlen = errlen;
    p.cur_core = p.cur_link = -1;
    p.f = fopen(path, "r");
    if (!p.f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int r = ini_parse_stream(reader, &p, handler, &p);
    fclose(p.f);
    if (r > 0 && !p.failed)
        fail(&p, r, "syntax error (expected [section] or key = value)");
    if (r < 0 && !p.failed)
        fail(&p, 0, "cannot read the file");
    if (!p.failed)
        resolve(&p);
    return p.failed ? -1 : 0;
}

int topo_core_index(const struct topo *t, const char *name)
{
    for (int i = 0; i < t->ncores; i++)
        if (!strcmp(t->cores[i].name, name))
            return i;
    return -1;
}

int topo_link_between(const struct topo *t, int a, int b)
{
    for (int i = 0; i < t->nlinks; i++)
        if ((t->links[i].end[0] == a && t->links[i].end[1] == b) ||
            (t->links[i].end[0] == b && t->links[i].end[1] == a))
            return i;
    return -1;
}

int topo_path(const struct topo *t, int a, int b, int *path, int max)
{
    int prev[TOPO_CORES_MAX], queue[TOPO_CORES_MAX], head = 0, tail = 0;
    for (int i = 0; i < TOPO_CORES_MAX; i++)
        prev[i] = -2;
    prev[a] = -1;
    queue[tail++] = a;
    while (head < tail) {
        int c = queue[head++];
        if (c == b)
            break;
        /* Only hubs forward; the source itself always sends. */
        if (c != a && !t->cores[c].hub)
            continue;
        for (int n = 0; n < t->ncores; n++)
            if (prev[n] == -2 && topo_link_between(t, c, n) >= 0) {
                prev[n] = c;
                queue[tail++] = n;
            }
    }
    if (prev[b] == -2)
        return 0;
    int tmp[TOPO_CORES_MAX], n = 0;
    for (int c = b; c != -1; c = prev[c])
        tmp[n++] = c;
    if (n > max)
        return 0;
    for (int i = 0; i < n; i++)
        path[i] = tmp[n - 1 - i];
    return n;
}

const char *topo_type_name(enum topo_link_type type)
{
    return type == TOPO_VIRTIO ? "virtio" : type == TOPO_UART ? "uart" : "spi";
}
