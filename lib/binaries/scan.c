/*
 * scan.c - one ELF image in memory -> a report: find every fatbin and bare
 * cubin, read their entries, check cubin headers, and judge each target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "binaries/compat.h"
#include "binaries/fmt.h"
#include "core/rd.h"
#include "binaries/scan_int.h"

#define MAX_ENTRIES_PER_FILE (1u << 22)
#define MAX_FATBINS_PER_FILE (1u << 21)
#define NAMES_CACHED 32u
#define MAX_IMAGE (1ull << 30)  /* largest single image decompressed to read kernels */

typedef struct fatbins {
    mg_fatbin *v;
    size_t n, cap;
} fatbins;

/* What one scan of one buffer needs. */
typedef struct ctx {
    const mg_scan_opts *o;
    const uint8_t *buf;
    size_t len;
    mg_report *r;
    mg_entries es;
    fatbins fb;
    uint8_t *scratch;
    size_t scratch_cap;
    void *zstd;             /* decoder context, reused for every image of the file */
    const char ***names;    /* per fatbin: cached kernel names (NAMES_CACHED at most) */
    struct { uint64_t *v; uint32_t n; int8_t done, ok; } *hashes;   /* per fatbin, lazily */
    uint32_t nbad;          /* malformed fatbins skipped */
    const char *first_bad;
    uint64_t first_bad_off;
} ctx;

static int push_fatbin(ctx *c, uint64_t off, uint64_t size, uint8_t where, size_t first)
{
    if (c->fb.n == c->fb.cap) {
        if (c->fb.n >= MAX_FATBINS_PER_FILE)
            return MG_E_LIMIT;
        size_t cap = c->fb.cap ? c->fb.cap * 2 : 32;
        mg_fatbin *v = mg_realloc(c->fb.v, cap * sizeof *v);
        if (!v)
            return MG_E_NOMEM;
        c->fb.v = v;
        c->fb.cap = cap;
    }
    mg_fatbin *f = &c->fb.v[c->fb.n++];
    f->off = off;
    f->size = size;
    f->first = (uint32_t)first;
    f->count = (uint32_t)(c->es.n - first);
    f->where = where;
    f->nkernels = f->count ? -1 : 0;
    return MG_OK;
}

static void note_bad(ctx *c, uint64_t off, const char *why)
{
    if (!c->nbad) {
        c->first_bad = why;
        c->first_bad_off = off;
    }
    if (c->nbad < UINT32_MAX)   /* overlapping sections can find the same bad magic again and again */
        c->nbad++;
}

/* Tries a fatbin at off; returns its end, or 0 when there is none. */
static uint64_t try_fatbin(ctx *c, uint64_t off, uint8_t where, int *fatal)
{
    size_t first = c->es.n;
    uint64_t end;
    const char *why;
    int rc = mg_fatbin_parse(c->buf, c->len, off, &c->es, &end, &why);
    if (rc == MG_E_NOMEM || (rc == MG_E_LIMIT && c->es.n >= c->es.max)) {
        *fatal = rc;
        return 0;
    }
    if (rc) {
        note_bad(c, off, why);
        return 0;
    }
    if (where == MG_IN_RELFATBIN)
        for (size_t i = first; i < c->es.n; i++)
            c->es.v[i].relocatable = 1;
    if ((rc = push_fatbin(c, off, end - off, where, first)) != MG_OK) {
        *fatal = rc;
        return 0;
    }
    return end;
}

/* A bare cubin (ELF, e_machine EM_CUDA) at off: one SASS entry. Returns its end or 0. */
static uint64_t try_cubin(ctx *c, uint64_t off, uint64_t limit, int *fatal)
{
    mg_cubin cb;
    mg_elf e;
    const char *why;
    if (mg_cubin_header(c->buf + off, limit - off, &cb) ||
        mg_elf_open(&e, c->buf + off, limit - off, &why) || e.shnum == 0)
        return 0;
    uint64_t size = mg_elf_extent(&e);
    if (size > limit - off)
        return 0;
    mg_cubin full;
    if (mg_cubin_info(c->buf + off, size, &full, &why) == MG_OK)
        cb = full;
    mg_entry en = {0};
    en.off = off;
    en.size = en.usize = size;
    en.kind = MG_IMAGE_SASS;
    en.arch.sm = cb.sm;
    en.arch.variant = cb.arch_specific ? MG_VAR_A : MG_VAR_NONE;
    en.relocatable = cb.relocatable;
    en.cubin_sm = cb.sm;
    en.cubin_sm_ok = 1;
    en.version = cb.abi ? (uint16_t)(10 + cb.abi) : 0;   /* as a fatbin records a cubin: [1, ABI] */
    size_t first = c->es.n;
    int rc = mg_entries_push(&c->es, &en);
    if (!rc)
        rc = push_fatbin(c, off, size, MG_IN_RAW_CUBIN, first);
    if (rc) {
        *fatal = rc;
        return 0;
    }
    return off + size;
}

/* Is this a section that may hold fatbins or cubins a library loads itself? */
static int embeds_code(const mg_elf_sec *s)
{
    static const char *const skip[] = {".debug", ".note", ".eh_frame", ".gcc_except_table", ".init_array",
                                       ".fini_array", ".got", ".plt", ".comment", ".nvFatBinSegment",
                                       "__nv_module_id", ".ctors", ".dtors", ".interp", ".tbss",
                                       ".tdata", ".stapsdt", ".gnu"};
    if (s->type != MG_SHT_PROGBITS || (s->flags & MG_SHF_EXECINSTR) || s->size < 64)
        return 0;
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strncmp(s->name, skip[i], strlen(skip[i])) == 0)
            return 0;
    return 1;
}

/*
 * Walks a section 8 bytes at a time (fatbins are 8-aligned) for fatbin magic,
 * and, in sections other than the fatbin ones, for bare cubins.
 */
static int scan_section(ctx *c, const mg_elf_sec *s, uint8_t where)
{
    uint64_t p = s->off, end = s->off + s->size;
    /* Align by virtual address (what the compiler aligned), not file offset. */
    uint64_t mis = (s->addr ? s->addr : 0) & 7;
    if (mis)
        p += 8 - mis;
    int fatal = 0;
    while (p + 16 <= end) {
        uint32_t w = rd32(c->buf + p);
        uint64_t next = 0;
        if (w == MG_FATBIN_MAGIC)
            next = try_fatbin(c, p, where, &fatal);
        else if (w == 0x464c457fu && where == MG_IN_EMBEDDED)
            next = try_cubin(c, p, end, &fatal);
        if (fatal)
            return fatal;
        p = next > p ? align_up(next, 8) : p + 8;
    }
    return MG_OK;
}

/* ---- kernel names, read lazily ------------------------------------------ */

typedef struct collect {
    mg_arena *a;
    const char **out;
    uint32_t n, max;
} collect;

static int collect_name(void *ud, const char *name, size_t len)
{
    collect *k = ud;
    if (k->n < k->max) {
        k->out[k->n] = mg_arena_strndup(k->a, name, len);
        if (k->out[k->n])
            k->n++;
    }
    return 0;
}

/* The payload of entry e, decompressed if need be (into the scratch buffer). */
static const uint8_t *payload(ctx *c, const mg_entry *e, size_t *len)
{
    if (e->codec == MG_CODEC_NONE) {
        *len = (size_t)e->size;
        return c->buf + e->off;
    }
    /* more than its bytes can decode to: no buffer is allocated for what it only claims */
    if (e->usize == 0 || e->usize > MAX_IMAGE ||
        e->usize > mg_decompress_bound(e->codec, c->buf + e->off, (size_t)e->size))
        return NULL;
    if (c->scratch_cap < e->usize) {
        free(c->scratch);
        c->scratch_cap = (size_t)e->usize;
        c->scratch = mg_malloc(c->scratch_cap);
        if (!c->scratch) {
            c->scratch_cap = 0;
            return NULL;
        }
    }
    if (mg_decompress(&c->zstd, e->codec, c->buf + e->off, (size_t)e->size, c->scratch, (size_t)e->usize))
        return NULL;
    *len = (size_t)e->usize;
    return c->scratch;
}

/* Picks the image to read kernel names from: a plain cubin, else the smallest cubin, else PTX. */
static const mg_entry *name_source(const mg_report *r, const mg_fatbin *f)
{
    const mg_entry *best = NULL;
    for (uint32_t k = 0; k < f->count; k++) {
        const mg_entry *e = &r->entries[f->first + k];
        if (e->kind != MG_IMAGE_SASS && e->kind != MG_IMAGE_PTX)
            continue;
        int better = !best || (e->kind == MG_IMAGE_SASS && best->kind != MG_IMAGE_SASS) ||
                     (e->kind == best->kind &&
                      (e->codec == MG_CODEC_NONE) > (best->codec == MG_CODEC_NONE)) ||
                     (e->kind == best->kind && (e->codec == MG_CODEC_NONE) == (best->codec == MG_CODEC_NONE) &&
                      e->usize < best->usize);
        if (better)
            best = e;
    }
    return best;
}

static int kernels_cb(void *ud, uint32_t i, const char ***names, uint32_t max)
{
    ctx *c = ud;
    mg_fatbin *f = &c->r->fatbins[i];
    *names = NULL;
    if (c->names[i] || f->nkernels == -2) {
        *names = c->names[i];
        return f->nkernels;
    }
    if (f->nkernels >= 0 && max == 0)
        return f->nkernels;
    const mg_entry *e = name_source(c->r, f);
    size_t len;
    const uint8_t *p = e ? payload(c, e, &len) : NULL;
    if (!p) {
        f->nkernels = -2;   /* unreadable: assume it holds kernels */
        return f->nkernels;
    }
    collect k = {c->r->arena, NULL, 0, NAMES_CACHED};
    k.out = mg_arena_array(c->r->arena, NAMES_CACHED, sizeof *k.out);
    if (!k.out)
        return -2;
    uint32_t count = 0;
    const char *why;
    int rc = e->kind == MG_IMAGE_SASS ? mg_cubin_kernels(p, len, collect_name, &k, &count, &why)
                                     : mg_ptx_kernels(p, len, collect_name, &k, &count);
    if (rc) {
        f->nkernels = -2;
        return f->nkernels;
    }
    f->nkernels = count > INT32_MAX ? INT32_MAX : (int32_t)count;   /* -1 and -2 mean something else */
    c->names[i] = k.out;
    *names = k.out;
    return f->nkernels;
}

typedef struct hashvec {
    uint64_t *v;
    uint32_t n, cap;
    int oom;
} hashvec;

static int hash_one(void *ud, const char *name, size_t len)
{
    hashvec *hv = ud;
    if (hv->n * 2 + 2 > hv->cap) {
        if (hv->cap > UINT32_MAX / 4) {   /* 2^30 hashes: cap * 2 and n * 2 + 2 would wrap */
            hv->oom = 1;
            return 1;
        }
        uint32_t cap = hv->cap ? hv->cap * 2 : 64;
        uint64_t *v = mg_realloc(hv->v, cap * sizeof *v);
        if (!v) {
            hv->oom = 1;
            return 1;
        }
        hv->v = v;
        hv->cap = cap;
    }
    mg_name_hash(name, len, &hv->v[hv->n * 2]);
    hv->n++;
    return 0;
}

/* Kernel-name hashes of fatbin i, computed once per file and kept for every target. */
static int hashes_cb(void *ud, uint32_t i, const uint64_t **pairs, uint32_t *n)
{
    ctx *c = ud;
    if (!c->hashes[i].done) {
        c->hashes[i].done = 1;
        c->hashes[i].ok = -1;
        const mg_entry *e = name_source(c->r, &c->r->fatbins[i]);
        size_t len;
        const uint8_t *p = e ? payload(c, e, &len) : NULL;
        hashvec hv = {0};
        uint32_t count;
        const char *why;
        if (p) {
            int rc = e->kind == MG_IMAGE_SASS ? mg_cubin_kernels(p, len, hash_one, &hv, &count, &why)
                                             : mg_ptx_kernels(p, len, hash_one, &hv, &count);
            if (!rc && !hv.oom) {
                c->hashes[i].ok = 0;
                c->hashes[i].v = hv.v;
                c->hashes[i].n = hv.n;
                hv.v = NULL;
            }
        }
        free(hv.v);
    }
    *pairs = c->hashes[i].v;
    *n = c->hashes[i].n;
    return c->hashes[i].ok;
}

/* ---- cubin header checks ------------------------------------------------ */

static void check_entry(ctx *c, mg_entry *e, int deep)
{
    uint8_t hdr[64];
    const uint8_t *h = NULL;
    mg_cubin cb;
    if (e->kind != MG_IMAGE_SASS || e->usize < 64)
        return;
    if (deep) {
        size_t len;
        const uint8_t *p = payload(c, e, &len);
        const char *why;
        if (p && mg_cubin_info(p, len, &cb, &why) == MG_OK) {
            e->cubin_sm = cb.sm;
            e->relocatable |= cb.relocatable;
            e->cubin_sm_ok = cb.sm == e->arch.sm ? 1 : 2;
        }
        return;
    }
    if (e->codec == MG_CODEC_NONE && e->size >= 64)
        h = c->buf + e->off;
    else if (e->codec == MG_CODEC_LZ4 &&
             mg_decompress_prefix(&c->zstd, e->codec, c->buf + e->off, (size_t)e->size, hdr, sizeof hdr) == MG_OK)
        h = hdr;
    if (h && mg_cubin_header(h, 64, &cb) == MG_OK) {
        e->cubin_sm = cb.sm;
        e->relocatable |= cb.relocatable;
        e->cubin_sm_ok = cb.sm == e->arch.sm ? 1 : 2;
    }
}

/* ---- the whole file ----------------------------------------------------- */

static int find_code(ctx *c, mg_elf *e)
{
    int rc;
    if (e->machine == MG_EM_CUDA) { /* a cubin file by itself */
        int fatal = 0;
        try_cubin(c, 0, c->len, &fatal);
        return fatal;
    }
    for (uint32_t i = 0; i < e->shnum; i++) {
        mg_elf_sec s;
        if (mg_elf_section(e, i, &s))
            continue;   /* a section past EOF: truncated file, others may still be whole */
        uint8_t where;
        if (strcmp(s.name, ".nv_fatbin") == 0)
            where = MG_IN_NV_FATBIN;
        else if (strcmp(s.name, "__nv_relfatbin") == 0)
            where = MG_IN_RELFATBIN;
        else if (embeds_code(&s))
            where = MG_IN_EMBEDDED;
        else
            continue;
        if ((rc = scan_section(c, &s, where)) != MG_OK)
            return rc;
    }
    return MG_OK;
}

static int finish(ctx *c)
{
    mg_report *r = c->r;
    r->nfatbins = (uint32_t)c->fb.n;
    r->nentries = (uint32_t)c->es.n;
    r->fatbins = mg_arena_array(r->arena, c->fb.n ? c->fb.n : 1, sizeof *r->fatbins);
    r->entries = mg_arena_array(r->arena, c->es.n ? c->es.n : 1, sizeof *r->entries);
    c->names = mg_calloc(c->fb.n ? c->fb.n : 1, sizeof *c->names);
    c->hashes = mg_calloc(c->fb.n ? c->fb.n : 1, sizeof *c->hashes);
    if (!r->fatbins || !r->entries || !c->names || !c->hashes)
        return MG_E_NOMEM;
    if (c->fb.n)
        memcpy(r->fatbins, c->fb.v, c->fb.n * sizeof *r->fatbins);
    if (c->es.n)
        memcpy(r->entries, c->es.v, c->es.n * sizeof *r->entries);
    for (uint32_t i = 0; i < r->nentries; i++) {
        mg_entry *e = &r->entries[i];
        r->images[e->kind < MG_IMAGE_COUNT ? e->kind : 0]++;
        check_entry(c, e, c->o->deep);
        if (e->cubin_sm_ok == 2)
            r->sm_mismatch++;
    }
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        mg_fatbin *f = &r->fatbins[i];
        if (f->where == MG_IN_RELFATBIN)
            r->nrelocatable++;
        if (c->o->deep && f->count) {
            const char **names;
            kernels_cb(c, i, &names, 0);
        }
    }
    return MG_OK;
}

/* ---- which CUDA built it ------------------------------------------------ */

typedef struct cuda_seen {
    unsigned major;
    int rank;               /* among equal majors: 3 needed runtime, 2 own soname, 1 PTX, 0 cubin */
    char from[64];
} cuda_seen;

static void saw_cuda(cuda_seen *s, unsigned major, int rank, const char *from)
{
    if (!major || major < s->major || (major == s->major && rank <= s->rank))
        return;
    s->major = major;
    s->rank = rank;
    snprintf(s->from, sizeof s->from, "%s", from);
}

static int dyn_name(void *ud, int tag, const char *name)
{
    char from[64], clean[52];   /* a name from the file: sanitised before any report quotes it */
    mg_text_clean(clean, sizeof clean, name, strlen(name), NULL);
    snprintf(from, sizeof from, "%s %s", tag == MG_DT_NEEDED ? "needs" : "is", clean);
    saw_cuda(ud, mg_cuda_major_of_library(name), tag == MG_DT_NEEDED ? 3 : 2, from);
    return 0;
}

/*
 * The CUDA a file was built with, by what it tells: the toolkit libraries it needs or is, the PTX ISA
 * its compiler wrote, and its cubins' ELF ABI (v2, recorded as code version 1.8, is CUDA 13's for
 * every SM; CUDA 12.8/12.9 used it for sm_100 and newer only). The newest wins: a library may embed
 * old code (cuFFT keeps CUDA 11 PTX), never code newer than its toolkit.
 */
static void which_cuda(mg_report *r, const mg_elf *e)
{
    cuda_seen s = {0, -1, ""};
    if (e->machine != MG_EM_CUDA)
        mg_elf_dynamic(e, dyn_name, &s);
    for (uint32_t i = 0; i < r->nentries; i++) {
        const mg_entry *x = &r->entries[i];
        char from[64];
        const mg_cuda_release *rel;
        if (x->kind == MG_IMAGE_PTX && x->version && (rel = mg_cuda_for_ptx(x->version)) != NULL) {
            snprintf(from, sizeof from, "PTX ISA %u.%u", x->version / 10u, x->version % 10u);
            saw_cuda(&s, rel->cuda / 10u, 1, from);
        } else if (x->kind == MG_IMAGE_SASS && x->version == 18 && x->arch.sm < 100) {
            snprintf(from, sizeof from, "cubin ABI v2 for sm_%u", x->arch.sm);
            saw_cuda(&s, 13, 0, from);
        }
    }
    if (s.major) {
        r->cuda_major = (uint8_t)s.major;
        r->cuda_from = mg_arena_strdup(r->arena, s.from);
    }
}

static void judge(ctx *c)
{
    mg_report *r = c->r;
    mg_judge_opts jo = {c->o->max_missing ? c->o->max_missing : 16,
                        c->o->max_names ? c->o->max_names : 8, kernels_cb, hashes_cb, c};
    if (jo.max_names > NAMES_CACHED)
        jo.max_names = NAMES_CACHED;
    r->nverdicts = c->o->ntargets;
    r->verdicts = mg_arena_array(r->arena, r->nverdicts ? r->nverdicts : 1, sizeof *r->verdicts);
    if (!r->verdicts) {
        r->nverdicts = 0;
        return;
    }
    for (size_t t = 0; t < r->nverdicts; t++)
        mg_judge_file(r, &c->o->targets[t], &jo, &r->verdicts[t]);
    for (uint32_t i = 0; i < r->nfatbins; i++)
        if (r->fatbins[i].nkernels == 0)
            r->nempty++;
}

mg_report *mg_report_new(const char *name)
{
    mg_report *r = mg_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->arena = mg_arena_new();
    if (!r->arena || !(r->path = mg_arena_strdup(r->arena, name))) {
        mg_report_free(r);
        return NULL;
    }
    return r;
}

void mg_report_fail(mg_report *r, int err, const char *detail)
{
    r->err = err;
    r->detail = detail ? mg_arena_strdup(r->arena, detail) : NULL;
}

mg_report *mg_scan_buffer(const mg_scan_opts *o, const char *name, const uint8_t *buf, size_t len)
{
    mg_report *r = mg_report_new(name);
    if (!r)
        return NULL;
    r->size = len;
    ctx c = {0};
    c.o = o;
    c.buf = buf;
    c.len = len;
    c.r = r;
    c.es.max = MAX_ENTRIES_PER_FILE;
    mg_elf e;
    const char *why;
    int rc = mg_elf_open(&e, buf, len, &why);
    if (rc) {
        mg_report_fail(r, rc, why);
        return r;
    }
    r->machine = e.machine;
    rc = find_code(&c, &e);
    if (!rc)
        rc = finish(&c);
    if (!rc)
        which_cuda(r, &e);
    if (rc) {
        mg_report_fail(r, rc, rc == MG_E_LIMIT ? "more fatbins or entries than mlgate accepts" : NULL);
    } else {
        judge(&c);
        if (c.nbad)
            r->detail = mg_arena_printf(r->arena, "%u malformed fatbin%s skipped (first at 0x%llx: %s)",
                                        c.nbad, c.nbad > 1 ? "s" : "",
                                        (unsigned long long)c.first_bad_off, c.first_bad);
    }
    free(c.es.v);
    free(c.fb.v);
    free(c.scratch);
    free(c.names);
    if (c.hashes)
        for (size_t i = 0; i < c.fb.n; i++)
            free(c.hashes[i].v);
    free(c.hashes);
    mg_decompress_end(&c.zstd);
    return r;
}

void mg_report_free(mg_report *r)
{
    if (!r)
        return;
    mg_arena_free(r->arena);
    free(r);
}

const char *mg_entry_arch_str(const mg_entry *e, char *buf, size_t n)
{
    const char *pre = e->kind == MG_IMAGE_PTX ? "compute_" : e->kind == MG_IMAGE_LTOIR ? "lto_" : "sm_";
    return mg_arch_str(e->arch, pre, buf, n);
}

const char *mg_fatbin_archs_str(const mg_report *r, uint32_t i, char *buf, size_t n)
{
    size_t w = 0;
    if (n)
        buf[0] = 0;
    if (i >= r->nfatbins)
        return buf;
    const mg_fatbin *f = &r->fatbins[i];
    for (uint32_t k = 0; k < f->count && w + 1 < n; k++) {
        char s[24];
        int m = snprintf(buf + w, n - w, "%s%s", k ? " " : "",
                         mg_entry_arch_str(&r->entries[f->first + k], s, sizeof s));
        if (m < 0)
            break;
        w += (size_t)m;
    }
    return buf;
}

static int arch_cmp(const void *a, const void *b)
{
    const mg_arch *x = a, *y = b;
    if (x->sm != y->sm)
        return x->sm < y->sm ? -1 : 1;
    return (int)x->variant - (int)y->variant;
}

size_t mg_report_archs(const mg_report *r, mg_image_kind kind, mg_arch *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < r->nentries; i++) {
        const mg_entry *e = &r->entries[i];
        if (e->kind != kind)
            continue;
        size_t k = 0;
        while (k < n && !(out[k].sm == e->arch.sm && out[k].variant == e->arch.variant))
            k++;
        if (k == n && n < max)
            out[n++] = e->arch;
    }
    qsort(out, n, sizeof *out, arch_cmp);
    return n;
}

mg_status mg_report_worst(const mg_report *r)
{
    mg_status w = MG_STATUS_NATIVE;
    for (size_t i = 0; i < r->nverdicts; i++)
        if (r->verdicts[i].status > w)
            w = (mg_status)r->verdicts[i].status;
    return w;
}

const char *mg_report_archs_str(const mg_report *r, mg_image_kind k, const char *prefix, char *buf, size_t n)
{
    mg_arch a[128];
    size_t na = mg_report_archs(r, k, a, 128), w = 0;
    buf[0] = 0;
    for (size_t i = 0; i < na && w < n; i++) {
        char s[24];
        int m = snprintf(buf + w, n - w, "%s%s", i ? " " : "", mg_arch_str(a[i], prefix, s, sizeof s));
        if (m < 0)
            break;
        w += (size_t)m;
    }
    return buf;
}
