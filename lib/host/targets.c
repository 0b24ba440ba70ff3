/*
 * targets.c - the one conversion from what a command is told (GPU names, sm_XY, X.Y, --vram sizes,
 * the matrix's host: gpus:/vram:) or what this machine has (NVML, else libcuda, else the PCI bus)
 * to the targets every command judges against: compute capability, memory, driver, host CPU.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "mlgate/binaries.h"
#include "mlgate/host.h"
#include "host/host_int.h"

static int parse_cc(const char *s, uint16_t *cc)
{
    const char *p = s;
    if (strncmp(p, "sm_", 3) == 0 || strncmp(p, "sm", 2) == 0) {
        p += p[2] == '_' ? 3 : 2;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && !((*end == 'a' || *end == 'f') && !end[1])) || v < 10 || v > 159)
            return -1;
        *cc = (uint16_t)v;
        return 0;
    }
    if (isdigit((unsigned char)p[0]) && (p[1] == '.' || (isdigit((unsigned char)p[1]) && p[2] == '.'))) {
        char *end;
        long major = strtol(p, &end, 10);
        if (*end != '.' || !isdigit((unsigned char)end[1]) || end[2] || major < 1 || major > 15)
            return -1;
        *cc = (uint16_t)(major * 10 + (end[1] - '0'));
        return 0;
    }
    return -1;
}

static mg_target *add_target(mg_target *out, size_t max, size_t *n, const char *name, uint16_t cc,
                             mg_target_source src)
{
    if (*n >= max)
        return NULL;
    mg_target *t = &out[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->cc = cc;
    t->source = (uint8_t)src;
    t->index = -1;
    return t;
}

/* Splits a comma-separated list; calls fn for each trimmed item; stops at the first error. */
static int each_item(const char *list, int (*fn)(const char *item, void *ud), void *ud, char *err, size_t errlen)
{
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        while (l && isspace((unsigned char)p[l - 1]))
            l--;
        char tok[96];
        if (l >= sizeof tok) {
            snprintf(err, errlen, "GPU name too long: '%.40s...'", p);
            return MG_E_ARG;
        }
        memcpy(tok, p, l);
        tok[l] = 0;
        p = end ? end + 1 : p + strlen(p);
        int rc = fn(tok, ud);
        if (rc)
            return rc;
    }
    return MG_OK;
}

typedef struct parse_ctx {
    mg_target *out;
    size_t max, *n;
    char *err;
    size_t errlen;
} parse_ctx;

static int too_many(parse_ctx *c)
{
    snprintf(c->err, c->errlen, "too many targets (at most %zu)", c->max);
    return MG_E_LIMIT;
}

static int parse_one(const char *tok, void *ud)
{
    parse_ctx *c = ud;
    uint16_t cc;
    size_t ngpu;
    const mg_gpu_info *tab = mg_gpu_table(&ngpu);
    if (strcmp(tok, "all") == 0) {   /* one target per distinct capability */
        for (size_t i = 0; i < ngpu; i++) {
            char nm[16];
            int seen = 0;
            for (size_t k = 0; k < *c->n; k++)
                seen |= c->out[k].cc == tab[i].cc && c->out[k].source == MG_TARGET_SM;
            snprintf(nm, sizeof nm, "sm_%u", tab[i].cc);
            if (!seen && !add_target(c->out, c->max, c->n, nm, tab[i].cc, MG_TARGET_SM))
                return too_many(c);
        }
        return MG_OK;
    }
    if (parse_cc(tok, &cc) == 0) {
        if (cc % 10 > 9 || cc < 10) {
            snprintf(c->err, c->errlen, "'%s' is not a compute capability", tok);
            return MG_E_ARG;
        }
        return add_target(c->out, c->max, c->n, tok, cc, MG_TARGET_SM) ? MG_OK : too_many(c);
    }
    const mg_gpu_info *g = mg_gpu_find(tok);
    if (!g) {
        const mg_gpu_info *sug[3];
        size_t ns = mg_gpu_suggest(tok, sug, 3);
        int w = snprintf(c->err, c->errlen, "unknown GPU '%s'", tok);
        for (size_t i = 0; i < ns && w > 0 && (size_t)w < c->errlen; i++)
            w += snprintf(c->err + w, c->errlen - (size_t)w, "%s'%s'", i ? ", " : "; did you mean ", sug[i]->name);
        if (w > 0 && (size_t)w < c->errlen)
            snprintf(c->err + w, c->errlen - (size_t)w,
                     "%s (or give sm_XY / X.Y; 'mlgate scan --list-gpus' shows the table)", ns ? "?" : "");
        return MG_E_NOTFOUND;
    }
    mg_target *t = add_target(c->out, c->max, c->n, g->name, g->cc, MG_TARGET_NAMED);
    if (!t)
        return too_many(c);
    t->mem_total = t->mem_free = (uint64_t)g->mem_mib << 20;
    t->unified = g->mem_mib == 0;
    if (g->host)   /* a GB10 or a GH200 is an aarch64 machine, whatever this one is */
        snprintf(t->cpu_arch, sizeof t->cpu_arch, "%s", g->host);
    return MG_OK;
}

int mg_targets_parse(const char *list, mg_target *out, size_t max, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    parse_ctx c = {out, max, n, err, errlen};
    int rc = each_item(list, parse_one, &c, err, errlen);
    if (rc)
        return rc;
    if (*n == 0) {
        snprintf(err, errlen, "no GPU given");
        return MG_E_ARG;
    }
    return MG_OK;
}

/* ---- --vram sizes: the memory of the GPUs named so far, then GPUs of that size ---- */

typedef struct size_ctx {
    mg_targets *t;
    size_t i;           /* the next size goes to this target */
    char *err;
    size_t errlen;
} size_ctx;

static int size_one(const char *tok, void *ud)
{
    size_ctx *c = ud;
    uint64_t v;
    if (mg_parse_size(tok, &v) || !v) {
        snprintf(c->err, c->errlen, "'%s' is not a size (like 96G)", tok);
        return MG_E_ARG;
    }
    mg_target *t = c->i < c->t->n ? &c->t->t[c->i] : NULL;
    if (!t) {
        char nm[16];
        snprintf(nm, sizeof nm, "GPU%zu", c->i);
        if (!(t = add_target(c->t->t, MG_MAX_TARGETS, &c->t->n, nm, 0, MG_TARGET_SIZE))) {
            snprintf(c->err, c->errlen, "too many GPUs (at most %d)", MG_MAX_TARGETS);
            return MG_E_LIMIT;
        }
    }
    t->mem_total = t->mem_free = v;
    t->unified = 0;
    c->i++;
    return MG_OK;
}

/* ---- this machine ---- */

int mg_gpu_detect(const mg_host_paths *p, mg_gpu_probe *probe)
{
    /* NVML, else libcuda (WSL2), else the PCI bus: the first that sees a GPU. A fake root has no libcuda. */
    if (mg_gpu_nvml.probe(p, probe) == MG_OK && probe->ok)
        return MG_OK;
    if (!(p && p->root && p->root[0]) && mg_gpu_cuda.probe(p, probe) == MG_OK && probe->ngpus)
        return MG_OK;
    return mg_gpu_pci.probe(p, probe);
}

void mg_targets_from_probe(const mg_gpu_probe *pr, const char *cpu_arch, mg_targets *out)
{
    out->backend = pr->backend;
    for (size_t i = 0; i < pr->ngpus && out->n < MG_MAX_TARGETS; i++) {
        const mg_host_gpu *g = &pr->gpus[i];
        if (!g->cc && !g->mem_total)
            continue;   /* nothing to judge code or memory against */
        char nm[64];
        mg_target *t = add_target(out->t, MG_MAX_TARGETS, &out->n, mg_gpu_label(g->index, g->name, nm, sizeof nm), g->cc,
                                  MG_TARGET_DETECTED);
        t->index = (int16_t)g->index;
        t->driver = pr->driver;
        t->mem_total = g->mem_total;
        t->mem_free = g->mem_free ? g->mem_free : g->mem_total;
        t->unified = g->unified_memory != 0;
        snprintf(t->cpu_arch, sizeof t->cpu_arch, "%s", cpu_arch ? cpu_arch : "");
    }
    if (!out->n)
        snprintf(out->note, sizeof out->note, "%s",
                 pr->ok && !strcmp(pr->backend, "nvml") ? "NVML sees none"
                 : pr->error[0]                          ? pr->error
                                                         : "none on the PCI bus");
}

static void detect(const mg_host_paths *p, mg_targets *out)
{
    mg_gpu_probe *pr = mg_malloc(sizeof *pr);
    if (!pr) {
        snprintf(out->note, sizeof out->note, "out of memory");
        return;
    }
    mg_gpu_detect(p, pr);
    mg_cpu cpu;
    mg_targets_from_probe(pr, mg_cpu_read(p, &cpu) == MG_OK ? cpu.arch : NULL, out);
    free(pr);
}

/* The CPU of targets whose GPU comes with either: --arch (spelt as uname or as Docker does), else this
 * machine's ("" when unreadable). */
static int host_cpu(const mg_target_spec *s, char *arch, size_t n, char *err, size_t errlen)
{
    static const struct { const char *name, *is; } spell[] = {
        {"x86_64", "x86_64"}, {"amd64", "x86_64"}, {"x86-64", "x86_64"}, {"aarch64", "aarch64"}, {"arm64", "aarch64"},
    };
    arch[0] = 0;
    if (!s->arch) {
        mg_cpu cpu;
        if (mg_cpu_read(s->host, &cpu) == MG_OK)
            snprintf(arch, n, "%s", cpu.arch);
        return MG_OK;
    }
    for (size_t i = 0; i < sizeof spell / sizeof spell[0]; i++)
        if (!strcasecmp(s->arch, spell[i].name)) {
            snprintf(arch, n, "%s", spell[i].is);
            return MG_OK;
        }
    snprintf(err, errlen, "'%s' is not a CPU architecture mlgate knows (x86_64 or aarch64; amd64, arm64)", s->arch);
    return MG_E_ARG;
}

int mg_targets_make(const mg_target_spec *s, mg_targets *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc;
    if (s->gpus && (rc = mg_targets_parse(s->gpus, out->t, MG_MAX_TARGETS, &out->n, err, errlen)))
        return rc;
    if (s->vram) {
        size_ctx c = {out, 0, err, errlen};
        if ((rc = each_item(s->vram, size_one, &c, err, errlen)))
            return rc;
        if (!c.i) {
            snprintf(err, errlen, "no size given");
            return MG_E_ARG;
        }
    }
    if (!s->gpus && !s->vram && s->detect)
        detect(s->host, out);
    mg_driver d = {0, 0, 0};
    if (s->driver && mg_driver_parse(s->driver, &d)) {
        snprintf(err, errlen, "'%s' is not a driver version (like 580.65.06 or 580)", s->driver);
        return MG_E_ARG;
    }
    char arch[16] = "";
    if ((out->n || s->arch) && (rc = host_cpu(s, arch, sizeof arch, err, errlen)))
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        mg_target *t = &out->t[i];
        if (mg_driver_known(d))
            t->driver = d;
        /* A CPU already known - the only one the GPU comes with (GB10), or this machine's for its own GPUs -
         * is not --arch's to change. */
        if (s->arch && t->cpu_arch[0] && strcmp(t->cpu_arch, arch)) {
            snprintf(err, errlen, t->source == MG_TARGET_DETECTED ? "'%s' is this machine's GPU: its host is %s, not --arch %s"
                                                                : "'%s' comes only with an %s host, not --arch %s",
                     t->name, t->cpu_arch, s->arch);
            return MG_E_ARG;
        }
        if (!t->cpu_arch[0])
            snprintf(t->cpu_arch, sizeof t->cpu_arch, "%s", arch);
        if (s->need_memory && !t->mem_total && t->source != MG_TARGET_DETECTED) {
            snprintf(err, errlen, "'%s' %s; give --vram sizes", t->name,
                     t->unified ? "is a GPU sharing system memory" : "has no memory size in the GPU table");
            return MG_E_ARG;
        }
    }
    return MG_OK;
}

const char *mg_targets_names(const mg_targets *t, char *buf, size_t n)
{
    size_t w = 0;
    buf[0] = 0;
    for (size_t i = 0; i < t->n && w + 1 < n; i++) {
        int k = snprintf(buf + w, n - w, "%s%s", i ? "," : "", t->t[i].name[0] ? t->t[i].name : "?");
        if (k < 0 || (size_t)k >= n - w) {
            buf[w] = 0;   /* whole names only */
            break;
        }
        w += (size_t)k;
    }
    return buf;
}
