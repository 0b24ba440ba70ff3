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

/*
 * A streamed file is read as it goes by (stream.c): each fatbin magic and embedded ELF header is tried
 * while its bytes are held, its kernels read then; which of them count is decided at the end, from
 * the section table, as find_code would have walked them.
 */
typedef struct cand {
    uint64_t off, end;      /* end: past the fatbin or cubin; 0 when it is not one */
    uint8_t cubin;          /* a bare ELF cubin (else a fatbin) */
    uint8_t held;           /* its bytes were held and read (else too large: not read) */
    const char *why;        /* a fatbin that failed to parse: why */
    uint32_t first, count;  /* its entries in cands.es */
    int32_t nkernels;
    const char **names;
    int8_t hashes_ok;
    uint32_t nhashes;
    uint64_t *hashes;
} cand;

typedef struct cands {
    cand *v;
    size_t n, cap;
    mg_entries es;
} cands;

/* The first candidate at or past off (cands sorted). */
static size_t cand_from(const cands *cs, uint64_t off)
{
    size_t lo = 0, hi = cs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cs->v[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The candidate a taken fatbin came from (cands sorted, offsets distinct). */
static const cand *cand_at(const cands *cs, uint64_t off)
{
    size_t i = cand_from(cs, off);
    return i < cs->n && cs->v[i].off == off ? &cs->v[i] : NULL;
}

/* What one scan of one buffer needs. */
typedef struct mg_scanning {
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
    int streamed;           /* the bytes went by (stream.c): what finish() needs was read while held */
    cands cs;               /* streamed: every fatbin or cubin seen go by, read while it was held */
} ctx;

/* Room for one more of the n elements (elem bytes each) of *v: doubled from 32, at most
 * MAX_FATBINS_PER_FILE (the fatbins' and the candidates' cap). */
static int room_for_one(void **v, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return MG_OK;
    if (n >= MAX_FATBINS_PER_FILE)
        return MG_E_LIMIT;
    size_t want = *cap ? *cap * 2 : 32;
    void *nv = mg_realloc(*v, want * elem);
    if (!nv)
        return MG_E_NOMEM;
    *v = nv;
    *cap = want;
    return MG_OK;
}

static int push_fatbin(ctx *c, uint64_t off, uint64_t size, uint8_t where, size_t first)
{
    int rc = room_for_one((void **)&c->fb.v, c->fb.n, &c->fb.cap, sizeof *c->fb.v);
    if (rc)
        return rc;
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

/* A bare cubin (ELF, e_machine EM_CUDA) at off, within limit: its entry and size; 0 when there is none. */
static int cubin_at(ctx *c, uint64_t off, uint64_t limit, mg_entry *en, uint64_t *size)
{
    mg_cubin cb;
    mg_elf e;
    const char *why;
    if (mg_cubin_header(c->buf + off, limit - off, &cb) ||
        mg_elf_open(&e, c->buf + off, limit - off, &why) || e.shnum == 0)
        return 0;
    *size = mg_elf_extent(&e);
    if (*size > limit - off)
        return 0;
    mg_cubin full;
    if (mg_cubin_info(c->buf + off, *size, &full, &why) == MG_OK)
        cb = full;
    memset(en, 0, sizeof *en);
    en->off = off;
    en->size = en->usize = *size;
    en->kind = MG_IMAGE_SASS;
    en->arch.sm = cb.sm;
    en->arch.variant = cb.arch_specific ? MG_VAR_A : MG_VAR_NONE;
    en->relocatable = cb.relocatable;
    en->cubin_sm = cb.sm;
    en->cubin_sm_ok = 1;
    en->version = cb.abi ? (uint16_t)(10 + cb.abi) : 0;   /* as a fatbin records a cubin: [1, ABI] */
    return 1;
}

/* A bare cubin at off: one SASS entry. Returns its end or 0. */
static uint64_t try_cubin(ctx *c, uint64_t off, uint64_t limit, int *fatal)
{
    mg_entry en;
    uint64_t size;
    if (!cubin_at(c, off, limit, &en, &size))
        return 0;
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
static const mg_entry *name_source(const mg_entry *v, uint32_t first, uint32_t count)
{
    const mg_entry *best = NULL;
    for (uint32_t k = 0; k < count; k++) {
        const mg_entry *e = &v[first + k];
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
    if (c->streamed) {   /* read while the stream held it (lazily told, as a buffer's scan would) */
        const cand *k = cand_at(&c->cs, f->off);
        f->nkernels = k ? k->nkernels : -2;
        c->names[i] = f->nkernels >= 0 ? k->names : NULL;
        *names = c->names[i];
        return f->nkernels;
    }
    const mg_entry *e = name_source(c->r->entries, f->first, f->count);
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
        const cand *k = c->streamed ? cand_at(&c->cs, c->r->fatbins[i].off) : NULL;
        if (k) {
            c->hashes[i].ok = k->hashes_ok;
            c->hashes[i].v = k->hashes;
            c->hashes[i].n = k->nhashes;
        }
        const mg_fatbin *f = &c->r->fatbins[i];
        const mg_entry *e = c->streamed ? NULL : name_source(c->r->entries, f->first, f->count);
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
        if (!c->streamed)
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

static void ctx_init(ctx *c, const mg_scan_opts *o, mg_report *r, const uint8_t *buf, size_t len)
{
    memset(c, 0, sizeof *c);
    c->o = o;
    c->buf = buf;
    c->len = len;
    c->r = r;
    c->es.max = MAX_ENTRIES_PER_FILE;
    c->cs.es.max = MAX_ENTRIES_PER_FILE;
    r->size = len;
}

/* From the code found (c->fb, c->es) to the judged report; rc: what finding it returned. */
static void conclude(ctx *c, const mg_elf *e, int rc)
{
    mg_report *r = c->r;
    if (!rc)
        rc = finish(c);
    if (!rc)
        which_cuda(r, e);
    if (rc) {
        mg_report_fail(r, rc, rc == MG_E_LIMIT ? "more fatbins or entries than mlgate accepts" : NULL);
        return;
    }
    judge(c);
    if (c->nbad)
        r->detail = mg_arena_printf(r->arena, "%u malformed fatbin%s skipped (first at 0x%llx: %s)",
                                    c->nbad, c->nbad > 1 ? "s" : "",
                                    (unsigned long long)c->first_bad_off, c->first_bad);
}

static void ctx_free(ctx *c)
{
    free(c->es.v);
    free(c->fb.v);
    free(c->scratch);
    free(c->names);
    if (c->hashes && !c->streamed)
        for (size_t i = 0; i < c->fb.n; i++)
            free(c->hashes[i].v);
    free(c->hashes);
    for (size_t i = 0; i < c->cs.n; i++)
        free(c->cs.v[i].hashes);
    free(c->cs.v);
    free(c->cs.es.v);
    mg_decompress_end(&c->zstd);
}

mg_report *mg_scan_buffer(const mg_scan_opts *o, const char *name, const uint8_t *buf, size_t len)
{
    mg_report *r = mg_report_new(name);
    if (!r)
        return NULL;
    ctx c;
    ctx_init(&c, o, r, buf, len);
    mg_elf e;
    const char *why;
    int rc = mg_elf_open(&e, buf, len, &why);
    if (rc) {
        mg_report_fail(r, rc, why);
        return r;
    }
    r->machine = e.machine;
    conclude(&c, &e, find_code(&c, &e));
    ctx_free(&c);
    return r;
}

/* ---- a file streamed: its code read while stream.c holds it ------------ */

mg_scanning *mg_scanning_new(const mg_scan_opts *o, const char *name, const uint8_t *buf, size_t len)
{
    ctx *c = mg_malloc(sizeof *c);
    mg_report *r = c ? mg_report_new(name) : NULL;
    if (!r) {
        free(c);
        return NULL;
    }
    ctx_init(c, o, r, buf, len);
    c->streamed = 1;
    return c;
}

/* A new candidate at off in *out; MG_E_LIMIT / MG_E_NOMEM. */
static int new_cand(ctx *c, uint64_t off, int cubin, cand **out)
{
    int rc = room_for_one((void **)&c->cs.v, c->cs.n, &c->cs.cap, sizeof *c->cs.v);
    if (rc)
        return rc;
    cand *k = *out = &c->cs.v[c->cs.n++];
    memset(k, 0, sizeof *k);
    k->off = off;
    k->cubin = (uint8_t)cubin;
    k->first = (uint32_t)c->cs.es.n;
    k->nkernels = -2;
    k->hashes_ok = -1;
    return MG_OK;
}

typedef struct names_and_hashes {
    collect k;
    hashvec h;
} names_and_hashes;

static int name_and_hash(void *ud, const char *name, size_t len)
{
    names_and_hashes *nh = ud;
    collect_name(&nh->k, name, len);
    return hash_one(&nh->h, name, len);
}

/* What kernels_cb and hashes_cb would read later, read now while the bytes are here. */
static void read_kernels(ctx *c, cand *k)
{
    const mg_entry *e = name_source(c->cs.es.v, k->first, k->count);
    size_t len;
    const uint8_t *p = e ? payload(c, e, &len) : NULL;
    if (!p)
        return;
    names_and_hashes nh = {{c->r->arena, NULL, 0, NAMES_CACHED}, {NULL, 0, 0, 0}};
    nh.k.out = mg_arena_array(c->r->arena, NAMES_CACHED, sizeof *nh.k.out);
    uint32_t count = 0;
    const char *why;
    int rc = !nh.k.out ? MG_E_NOMEM
           : e->kind == MG_IMAGE_SASS ? mg_cubin_kernels(p, len, name_and_hash, &nh, &count, &why)
                                      : mg_ptx_kernels(p, len, name_and_hash, &nh, &count);
    if (rc == MG_OK || nh.h.oom) {   /* a hash vector that ran out stops the walk: the names still count */
        k->nkernels = count > INT32_MAX ? INT32_MAX : (int32_t)count;
        k->names = nh.k.out;
    }
    if (rc == MG_OK && !nh.h.oom) {
        k->hashes_ok = 0;
        k->hashes = nh.h.v;
        k->nhashes = nh.h.n;
    } else {
        free(nh.h.v);
    }
}

int mg_scanning_try(mg_scanning *c, uint64_t off, int cubin, uint64_t *end)
{
    *end = 0;
    cand *k;
    int rc0 = new_cand(c, off, cubin, &k);
    if (rc0)
        return rc0;
    k->held = 1;
    if (cubin) {
        mg_entry en;
        uint64_t size;
        if (!cubin_at(c, off, c->len, &en, &size))
            return MG_OK;
        int rc = mg_entries_push(&c->cs.es, &en);
        if (rc)
            return rc;
        k->end = off + size;
    } else {
        int rc = mg_fatbin_parse(c->buf, c->len, off, &c->cs.es, &k->end, &k->why);
        if (rc == MG_E_NOMEM || (rc == MG_E_LIMIT && c->cs.es.n >= c->cs.es.max))
            return rc;
        if (rc) {
            k->end = 0;
            return MG_OK;
        }
    }
    k->count = (uint32_t)(c->cs.es.n - k->first);
    for (uint32_t i = 0; i < k->count; i++)
        check_entry(c, &c->cs.es.v[k->first + i], c->o->deep);
    read_kernels(c, k);
    *end = k->end;
    return MG_OK;
}

int mg_scanning_skip(mg_scanning *c, uint64_t off, uint64_t end, int cubin)
{
    cand *k;
    int rc = new_cand(c, off, cubin, &k);
    if (rc)
        return rc;
    k->end = end;
    k->why = "larger than a streamed scan holds (unpack the file and scan it)";
    return MG_OK;
}

static int by_off(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* A candidate counts: its entries join the file's, as try_fatbin / try_cubin would have pushed them. */
static int take(ctx *c, const cand *k, uint8_t where)
{
    size_t first = c->es.n;
    for (uint32_t i = 0; i < k->count; i++) {
        mg_entry en = c->cs.es.v[k->first + i];
        if (where == MG_IN_RELFATBIN)
            en.relocatable = 1;
        int rc = mg_entries_push(&c->es, &en);
        if (rc)
            return rc;
    }
    return push_fatbin(c, k->off, k->end - k->off, where, first);
}

/* scan_section over the candidates that went by: the same walk, the same alignment and steps. */
static int take_section(ctx *c, const mg_elf_sec *s, uint8_t where)
{
    uint64_t p = s->off, end = s->off + s->size;
    uint64_t mis = (s->addr ? s->addr : 0) & 7;
    if (mis)
        p += 8 - mis;
    for (size_t i = cand_from(&c->cs, p); i < c->cs.n; i++) {
        const cand *k = &c->cs.v[i];
        if (k->off < p || (k->off - p) % 8)
            continue;
        if (k->off + 16 > end)
            break;
        if (k->cubin ? where != MG_IN_EMBEDDED || !k->end || !k->held || k->end > end : 0)
            continue;
        if (!k->cubin && (!k->end || !k->held)) {
            note_bad(c, k->off, k->why ? k->why : "malformed fatbin");
            p = k->off + 8;
            continue;
        }
        int rc = take(c, k, k->cubin ? MG_IN_RAW_CUBIN : where);
        if (rc)
            return rc;
        p = align_up(k->end, 8);
    }
    return MG_OK;
}

static int take_code(ctx *c, const mg_elf *e)
{
    if (c->cs.n)
        qsort(c->cs.v, c->cs.n, sizeof *c->cs.v, by_off);
    if (e->machine == MG_EM_CUDA) {   /* a cubin file by itself */
        const cand *k = cand_at(&c->cs, 0);
        return k && k->cubin && k->held && k->end ? take(c, k, MG_IN_RAW_CUBIN) : MG_OK;
    }
    for (uint32_t i = 0; i < e->shnum; i++) {
        mg_elf_sec s;
        if (mg_elf_section(e, i, &s))
            continue;
        uint8_t where;
        if (strcmp(s.name, ".nv_fatbin") == 0)
            where = MG_IN_NV_FATBIN;
        else if (strcmp(s.name, "__nv_relfatbin") == 0)
            where = MG_IN_RELFATBIN;
        else if (embeds_code(&s))
            where = MG_IN_EMBEDDED;
        else
            continue;
        int rc = take_section(c, &s, where);
        if (rc)
            return rc;
    }
    return MG_OK;
}

mg_report *mg_scanning_end(mg_scanning *c, int err, const char *detail)
{
    mg_report *r = c->r;
    mg_elf e;
    const char *why;
    int rc = err;
    if (!rc && (rc = mg_elf_open(&e, c->buf, c->len, &why)) != MG_OK)
        detail = why;
    if (rc) {
        mg_report_fail(r, rc, detail);
    } else {
        r->machine = e.machine;
        conclude(c, &e, take_code(c, &e));
        if (!r->err && detail)
            r->detail = r->detail ? mg_arena_printf(r->arena, "%s; %s", r->detail, detail)
                                  : mg_arena_strdup(r->arena, detail);
    }
    ctx_free(c);
    free(c);
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
