/*
 * compat.c - the heart: which code image a GPU can run, and what that means
 * for a whole library.
 *
 * Per image (NVIDIA's rules, docs/compat-rules.md):
 *   SASS sm_XY   runs on X.m for m >= Y;  sm_XYa only on X.Y;  sm_XYf on the family (= sm_XY rule)
 *   PTX  compute_XY JITs on any CC >= X.Y; compute_XYa only on X.Y; compute_XYf on the family
 *        and only if the driver knows the PTX ISA version (else error 222).
 *   LTO-IR is never loaded by itself.
 *
 * Per file (judged like the loader, not by counting):
 *   - fatbins without kernels (empty containers, nvcc's device-link stub) never count;
 *   - relocatable fatbins (__nv_relfatbin) are for device linking and do not count,
 *     unless the file holds nothing else;
 *   - a fatbin with images for several architectures is one compilation unit: it
 *     must cover the target or its kernels fail when launched;
 *   - fatbins with one architecture each form per-architecture kernel sets
 *     (cuBLASLt, cuDNN, flash-attn): the library picks the sets for the GPU at
 *     run time. Only the best matching sets matter (native ones if any, else JIT
 *     ones); sets for other GPUs are counted in other_sets. If no set matches,
 *     every one of them is missing.
 */
#include "binaries/compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/arith.h"

static void split(uint16_t v, unsigned *maj, unsigned *min)
{
    *maj = v / 10;
    *min = v % 10;
}

int mg_sass_runs(mg_arch code, uint16_t cc)
{
    unsigned X, Y, M, m;
    split(code.sm, &X, &Y);
    split(cc, &M, &m);
    if (code.sm == 101 && M == 11) {    /* Thor: sm_101 under CUDA 12.x is sm_110 under 13.x */
        X = 11;
        Y = 0;
    }
    if (code.variant == MG_VAR_A)
        return X == M && Y == m;
    return X == M && m >= Y;            /* plain and family-specific alike */
}

int mg_ptx_jits(mg_arch code, uint16_t cc)
{
    switch (code.variant) {
    case MG_VAR_A: return code.sm == cc;
    case MG_VAR_F: return code.sm / 10 == cc / 10 && cc >= code.sm;
    default: return cc >= code.sm;
    }
}

int mg_driver_knows_isa(mg_driver d, uint16_t isa)
{
    if (!mg_driver_known(d))
        return 1;
    const mg_cuda_release *r = mg_cuda_for_driver(d);
    return r && r->ptx_isa >= isa;
}

mg_fb_judgment mg_judge_fatbin(const mg_entry *e, uint32_t n, const mg_target *t)
{
    mg_fb_judgment j = {MG_LV_NONE, MG_WHY_NO_IMAGE, 0, {0, 0}};
    int plain = 0, any = 0;
    for (uint32_t i = 0; i < n; i++) {
        const mg_entry *x = &e[i];
        if (x->kind == MG_IMAGE_SASS || x->kind == MG_IMAGE_PTX) {
            any = 1;
            plain |= x->arch.variant == MG_VAR_NONE;
        }
        uint8_t lv = MG_LV_NONE;
        if (x->kind == MG_IMAGE_SASS && mg_sass_runs(x->arch, t->cc))
            lv = MG_LV_NATIVE;
        else if (x->kind == MG_IMAGE_PTX && mg_ptx_jits(x->arch, t->cc))
            lv = mg_driver_knows_isa(t->driver, x->version) ? MG_LV_JIT : MG_LV_PTX_DRIVER;
        else if (x->kind == MG_IMAGE_LTOIR && mg_ptx_jits(x->arch, t->cc))
            lv = MG_LV_LTOIR;
        /* Prefer the better level; among PTX, the lowest ISA (the driver needs least). */
        if (lv > j.level || (lv == j.level && lv >= MG_LV_PTX_DRIVER && lv < MG_LV_NATIVE &&
                             x->version < j.isa)) {
            j.level = lv;
            j.used = x->arch;
            j.isa = x->kind == MG_IMAGE_PTX ? x->version : 0;
        }
    }
    if (j.level == MG_LV_PTX_DRIVER)
        j.why = MG_WHY_PTX_DRIVER;
    else if (j.level == MG_LV_LTOIR)
        j.why = MG_WHY_LTOIR_ONLY;
    else if (j.level == MG_LV_NONE && any && !plain)
        j.why = MG_WHY_ARCH_SPECIFIC;
    return j;
}

/* The single architecture of a fatbin's images, or sm 0 when it has several. */
static mg_arch single_arch(const mg_entry *e, uint32_t n)
{
    mg_arch a = {0, 0};
    int seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (e[i].kind == MG_IMAGE_UNKNOWN)
            continue;
        if (!seen) {
            a = e[i].arch;
            seen = 1;
        } else if (e[i].arch.sm != a.sm || e[i].arch.variant != a.variant) {
            return (mg_arch){0, 0};
        }
    }
    return a;
}

static int same_arch(mg_arch a, mg_arch b) { return a.sm == b.sm && a.variant == b.variant; }

/* Relocatable code and LTO-IR are inputs to a device link (nvlink, nvJitLink), not loaded as they are. */
static int link_input(const mg_report *r, uint32_t i)
{
    const mg_fatbin *f = &r->fatbins[i];
    if (f->where == MG_IN_RELFATBIN)
        return 1;
    for (uint32_t k = 0; k < f->count; k++)
        if (r->entries[f->first + k].kind != MG_IMAGE_LTOIR)
            return 0;
    return f->count > 0;
}

/* Per-fatbin scratch for one judgment. */
typedef struct fbj {
    mg_fb_judgment j;
    mg_arch key;        /* sm 0: multi-architecture */
    uint8_t counts;     /* takes part in this target's verdict */
} fbj;

static int kernels_of(mg_report *r, const mg_judge_opts *o, uint32_t i)
{
    if (r->fatbins[i].nkernels < 0 && o->kernels) {
        const char **names;
        o->kernels(o->ud, i, &names, 0);
    }
    return r->fatbins[i].nkernels;
}

/*
 * The architecture families a kernel's name is tagged with, as a bit mask of
 * majors (bit 9 = Hopper): sm80 / sm_90a / Sm100 / SM120, cutlass_80_..., and
 * family words (volta, ampere, hopper, blackwell...). 0: no tag.
 */
static uint32_t name_families(const char *s)
{
    static const struct { const char *word; uint32_t mask; } fam[] = {
        {"kepler", 1u << 3}, {"maxwell", 1u << 5}, {"pascal", 1u << 6}, {"volta", 1u << 7},
        {"turing", 1u << 7}, {"ampere", 1u << 8}, {"hopper", 1u << 9},
        {"blackwell", 1u << 10 | 1u << 11 | 1u << 12},
    };
    uint32_t mask = 0;
    for (const char *p = s; *p; p++) {
        int sm = (p[0] == 's' || p[0] == 'S') && (p[1] == 'm' || p[1] == 'M');
        int cut = !sm && strncmp(p, "cutlass_", 8) == 0;
        if (sm || cut) {
            const char *q = p + (sm ? 2 : 8);
            if (sm && *q == '_')
                q++;
            unsigned v = 0, digits = 0;
            while (*q >= '0' && *q <= '9' && digits < 4) {
                v = v * 10 + (unsigned)(*q++ - '0');
                digits++;
            }
            if ((digits == 2 || digits == 3) && !(*q >= '0' && *q <= '9') && (!cut || *q == '_') && v >= 20 &&
                v <= 159)
                mask |= 1u << (v / 10);
            continue;
        }
        for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
            size_t l = strlen(fam[f].word);
            if (strncasecmp(p, fam[f].word, l) == 0)
                mask |= fam[f].mask;
        }
    }
    return mask;
}

/*
 * A fatbin that lacks the target yet is a kernel set meant for other GPUs, in a
 * library whose main build runs on the target:
 *   - built for newer GPUs only (target below its lowest architecture), or
 *   - built around the target (target between its lowest and highest, skipped), or
 *   - its kernels are named for another architecture family (..._sm80, Sm90).
 *   - it holds a/f (arch- or family-specific) code, or is one of per-architecture
 *     builds of the same code for two or more architectures (cuSPARSE's sm_75/80/86).
 * What remains - code whose newest architecture is older than the target and has
 * no PTX to JIT, with no architecture in its names - is code that will fail.
 */
static int for_other_gpus(mg_report *r, const mg_judge_opts *o, uint32_t i, const mg_target *t,
                          int per_arch_sets)
{
    const mg_fatbin *f = &r->fatbins[i];
    unsigned lo = 0xffff, hi = 0, specific = 0;
    for (uint32_t k = 0; k < f->count; k++) {
        const mg_entry *e = &r->entries[f->first + k];
        if (e->kind != MG_IMAGE_SASS && e->kind != MG_IMAGE_PTX)
            continue;
        if (e->arch.sm < lo)
            lo = e->arch.sm;
        if (e->arch.sm > hi)
            hi = e->arch.sm;
        specific |= e->arch.variant != MG_VAR_NONE;
    }
    if (lo == 0xffff)
        return 0;
    if (specific || (per_arch_sets && lo == hi))
        return 1;   /* sm_XYa/f code, or one of several per-architecture builds */
    if (t->cc < lo || (t->cc > lo && t->cc < hi))
        return 1;
    const char **names = NULL;
    int nk = o->kernels ? o->kernels(o->ud, i, &names, 32) : -1;
    if (nk <= 0 || !names)
        return 0;
    uint32_t n = (uint32_t)nk < 32 ? (uint32_t)nk : 32;
    for (uint32_t k = 0; k < n; k++) {
        if (!names[k])
            return 0;
        uint32_t m = name_families(names[k]);
        if (!m || (m & (1u << (t->cc / 10))))
            return 0;
    }
    return 1;
}

/* A set of 64-bit name hashes (open addressing; 0 marks an empty slot). */
typedef struct nameset {
    uint64_t *v;
    size_t cap, n;
    int oom;
} nameset;

/* A name's hash; never 0 (the empty slot). */
static uint64_t hash_name(const char *s, size_t n)
{
    uint64_t h = mg_fnv1a(s, n);
    return h ? h : 1;
}

/*
 * The stem of an Itanium-mangled kernel name: its qualified name without template
 * arguments or parameters ("_ZN6marlin6MarlinILl..." -> "_ZN6marlin6Marlin").
 * Names that are not mangled are their own stem.
 */
static size_t stem_len(const char *s, size_t n)
{
    if (n < 3 || s[0] != '_' || s[1] != 'Z')
        return n;
    size_t i = 2;
    int nested = s[i] == 'N';
    if (nested)
        i++;
    do {
        size_t l = 0;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return i;
        while (i < n && s[i] >= '0' && s[i] <= '9' && l < 100000)
            l = l * 10 + (size_t)(s[i++] - '0');
        if (l > n - i)
            return n;
        i += l;
    } while (nested && i < n && s[i] >= '0' && s[i] <= '9');
    return i;
}

void mg_name_hash(const char *name, size_t len, uint64_t out[2])
{
    out[0] = hash_name(name, len);
    out[1] = hash_name(name, stem_len(name, len)) ^ (1ull << 63);   /* stems: top bit flipped */
}

static int set_put(nameset *s, uint64_t h)
{
    if (s->n * 2 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *v = mg_calloc(cap, sizeof *v);
        if (!v) {
            s->oom = 1;
            return 1;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i])
                for (size_t k = s->v[i] & (cap - 1);; k = (k + 1) & (cap - 1))
                    if (!v[k]) {
                        v[k] = s->v[i];
                        break;
                    }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    for (size_t k = h & (s->cap - 1);; k = (k + 1) & (s->cap - 1)) {
        if (s->v[k] == h)
            return 0;
        if (!s->v[k]) {
            s->v[k] = h;
            s->n++;
            return 0;
        }
    }
}

static int set_contains(const nameset *s, uint64_t h)
{
    for (size_t k = h & (s->cap - 1);; k = (k + 1) & (s->cap - 1)) {
        if (s->v[k] == h)
            return 1;
        if (!s->v[k])
            return 0;
    }
}

/*
 * The last excuse: every kernel of a fatbin without an image also exists, in
 * code that runs on the target, by name or as another instantiation of the same
 * kernel template: the library has its own version of those kernels for this
 * GPU (vLLM builds its Marlin kernels once more for sm_75 alone; cuBLASLt keeps
 * split-K reductions for sm_90/sm_100 next to others for sm_120). A kernel with
 * no counterpart at all (the two-object library's launch2) stays missing.
 */
static void excuse_by_name(mg_report *r, const mg_judge_opts *o, fbj *fj, mg_verdict *v, uint32_t *why_count,
                           uint64_t *missing_kernels)
{
    nameset set = {0};
    const uint64_t *h;
    uint32_t n;
    for (uint32_t i = 0; i < r->nfatbins && !set.oom; i++)
        if (fj[i].counts && fj[i].j.level >= MG_LV_JIT && o->hashes(o->ud, i, &h, &n) >= 0)
            for (uint32_t k = 0; k < 2 * n && !set.oom; k++)
                set_put(&set, h[k]);
    if (!set.oom && set.n) {
        for (uint32_t i = 0; i < r->nfatbins; i++) {
            if (!fj[i].counts || fj[i].j.level >= MG_LV_JIT || o->hashes(o->ud, i, &h, &n) < 0 || n == 0)
                continue;
            uint32_t k = 0;
            while (k < n && (set_contains(&set, h[2 * k]) || set_contains(&set, h[2 * k + 1])))
                k++;
            if (k < n)
                continue;
            fj[i].counts = 0;
            v->other_sets++;
            v->nmissing--;
            why_count[fj[i].j.why & 3]--;
            if (r->fatbins[i].nkernels > 0)
                *missing_kernels -= (uint64_t)r->fatbins[i].nkernels;   /* added in the tally, so no wrap */
        }
    }
    free(set.v);
}

static void explain(const mg_report *r, const mg_target *t, mg_verdict *v, const fbj *fj,
                     const uint32_t why_count[4])
{
    char a[24], b[24], d[24];
    size_t n = sizeof v->reason;
    switch (v->status) {
    case MG_STATUS_NATIVE:
        if (v->total == 0)
            snprintf(v->reason, n, "no kernels in its fatbins");
        else if (v->other_sets)
            snprintf(v->reason, n, "native; picks its kernel sets for %s at run time (%u sets for other GPUs unused)",
                     t->name, v->other_sets);
        else
            snprintf(v->reason, n, "native SASS for every kernel");
        return;
    case MG_STATUS_JIT:
        if (mg_driver_known(t->driver))
            snprintf(v->reason, n, "%u of %u fatbins only as PTX (ISA %u.%u): JIT-compiled at first start",
                     v->jit, v->total, v->need_isa / 10, v->need_isa % 10);
        else if (mg_driver_known(v->need_driver))
            snprintf(v->reason, n, "%u of %u fatbins only as PTX (ISA %u.%u): JIT at first start, needs driver >= %s",
                     v->jit, v->total, v->need_isa / 10, v->need_isa % 10,
                     mg_driver_str(v->need_driver, d, sizeof d));
        else
            snprintf(v->reason, n, "%u of %u fatbins only as PTX (ISA %u.%u, newer than any driver mlgate knows)",
                     v->jit, v->total, v->need_isa / 10, v->need_isa % 10);
        return;
    default:
        break;
    }
    /* Partial or none: name the commonest reason. */
    unsigned top = 0;
    for (unsigned w = 1; w < 4; w++)
        if (why_count[w] > why_count[top])
            top = w;
    /* Lowest and highest SASS present, to say what the code does run on. */
    mg_arch lo = {0xffff, 0}, hi = {0, 0};
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        if (!fj[i].counts)
            continue;
        const mg_fatbin *f = &r->fatbins[i];
        for (uint32_t k = 0; k < f->count; k++) {
            const mg_entry *e = &r->entries[f->first + k];
            if (e->kind != MG_IMAGE_SASS && e->kind != MG_IMAGE_PTX)
                continue;
            if (e->arch.sm < lo.sm)
                lo = e->arch;
            if (e->arch.sm > hi.sm)
                hi = e->arch;
        }
    }
    char span[64] = "";
    if (lo.sm != 0xffff && same_arch(lo, hi))
        snprintf(span, sizeof span, "; its code is for %s only", mg_arch_str(lo, "sm_", a, sizeof a));
    else if (lo.sm != 0xffff)
        snprintf(span, sizeof span, "; its code spans %s..%s", mg_arch_str(lo, "sm_", a, sizeof a),
                 mg_arch_str(hi, "sm_", b, sizeof b));
    const char *what;
    char buf[96];
    switch (top) {
    case MG_WHY_ARCH_SPECIFIC:
        what = "only arch-specific (a/f) code for other GPUs";
        break;
    case MG_WHY_PTX_DRIVER:
        snprintf(buf, sizeof buf, "PTX ISA %u.%u is too new for driver %s (error 222)", v->need_isa / 10,
                 v->need_isa % 10, mg_driver_str(t->driver, d, sizeof d));
        what = buf;
        break;
    case MG_WHY_LTOIR_ONLY:
        what = "only LTO-IR (needs nvJitLink)";
        break;
    default:
        what = "no SASS that runs on it and no PTX it can JIT";
    }
    if (v->status == MG_STATUS_NONE)
        snprintf(v->reason, n, "%s%s", what, span);
    else
        snprintf(v->reason, n, "%u of %u fatbins (%u kernel%s): %s%s", v->nmissing, v->total,
                 v->missing_kernels, v->missing_kernels == 1 ? "" : "s", what, span);
}

static void describe(const mg_report *r, const mg_target *t, mg_verdict *v, const fbj *fj,
                     const uint32_t why_count[4])
{
    explain(r, t, v, fj, why_count);
    if (r->nrelocatable && r->nrelocatable == r->nfatbins && v->total) {
        /* Only relocatable code: it runs once device-linked into a program. */
        char tmp[MG_REASON_MAX];
        memcpy(tmp, v->reason, sizeof tmp);
        snprintf(v->reason, sizeof v->reason, "relocatable (-rdc) code, loadable after nvlink: %.150s", tmp);
    }
}

/*
 * What makes a file with code for the GPU fail all the same, most basic first: host code for another
 * CPU does not load (x86-64 libraries on a GB10); a driver older than the GPU's first driver branch
 * does not know the GPU; the CUDA the file was built with does not support GPUs below its generation's
 * floor (CUDA 13: sm_75) whatever old cubins it embeds, and its runtime needs its generation's driver.
 */
/* Jetson and DRIVE parts: their drivers come with the board's L4T release and are numbered apart (36.4). */
static int tegra(uint16_t cc)
{
    return cc == 53 || cc == 62 || cc == 72 || cc == 87 || cc == 101 || cc == 110;
}

static void beyond_the_code(const mg_report *r, const mg_target *t, mg_verdict *v)
{
    char d[32];
    size_t n = sizeof v->reason;
    const char *isa = r->machine == 62 ? "x86_64" : r->machine == 183 ? "aarch64" : NULL;
    const mg_cuda_release *first = mg_cuda_first_for_cc(t->cc);
    const mg_cuda_generation *gen = mg_cuda_generation_of(r->cuda_major);
    if (isa && t->cpu_arch[0] && strcmp(isa, t->cpu_arch))
        snprintf(v->reason, n, "%s code on an %s host", r->machine == 62 ? "x86-64" : "aarch64", t->cpu_arch);
    else if (first && mg_driver_known(t->driver) && t->driver.major < first->min_driver.major)
        snprintf(v->reason, n, "driver %s does not know this GPU: sm_%u needs the %u driver branch or newer (CUDA %u.%u)",
                 mg_driver_str(t->driver, d, sizeof d), t->cc, first->min_driver.major, first->cuda / 10,
                 first->cuda % 10);
    else if (gen && t->cc && t->cc < gen->lowest_cc)
        snprintf(v->reason, n, "built with CUDA %u (%.60s), which supports sm_%u and newer: not sm_%u", gen->major,
                 r->cuda_from ? r->cuda_from : "?", gen->lowest_cc, t->cc);
    else if (gen && mg_driver_known(t->driver) && !tegra(t->cc) && t->driver.major < gen->min_driver)
        snprintf(v->reason, n, "built with CUDA %u (%.60s): its runtime needs the %u driver branch or newer, not %s",
                 gen->major, r->cuda_from ? r->cuda_from : "?", gen->min_driver, mg_driver_str(t->driver, d, sizeof d));
    else
        return;
    v->status = MG_STATUS_NONE;
}

int mg_judge_file(mg_report *r, const mg_target *t, const mg_judge_opts *o, mg_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->target = *t;
    if (r->nfatbins == 0) {
        snprintf(v->reason, sizeof v->reason, "no CUDA code");
        return MG_OK;
    }
    fbj *fj = mg_calloc(r->nfatbins, sizeof *fj);   /* scratch for this judgment only */
    if (!fj)
        return MG_E_NOMEM;

    /* Relocatable fatbins count only when the file has nothing else. */
    int only_reloc = 1;
    for (uint32_t i = 0; i < r->nfatbins; i++)
        if (!link_input(r, i) && r->fatbins[i].count)
            only_reloc = 0;

    for (uint32_t i = 0; i < r->nfatbins; i++) {
        const mg_fatbin *f = &r->fatbins[i];
        if (!f->count || f->nkernels == 0 || (link_input(r, i) && !only_reloc))
            continue;
        fj[i].j = mg_judge_fatbin(&r->entries[f->first], f->count, t);
        fj[i].key = single_arch(&r->entries[f->first], f->count);
        fj[i].counts = 1;
    }

    /* Per-architecture kernel sets: keep the best-matching ones (with real kernels). */
    uint8_t want = MG_LV_NONE;
    for (uint8_t lv = MG_LV_NATIVE; lv >= MG_LV_JIT && want == MG_LV_NONE; lv--)
        for (uint32_t i = 0; i < r->nfatbins && want == MG_LV_NONE; i++)
            if (fj[i].counts && fj[i].key.sm && fj[i].j.level == lv && kernels_of(r, o, i) != 0)
                want = lv;
    if (want != MG_LV_NONE) {
        /* The chosen architectures: few distinct ones, however many fatbins. */
        mg_arch chosen[64];
        size_t nchosen = 0;
        for (uint32_t i = 0; i < r->nfatbins; i++) {
            if (!fj[i].counts || !fj[i].key.sm || fj[i].j.level != want)
                continue;
            size_t k = 0;
            while (k < nchosen && !same_arch(chosen[k], fj[i].key))
                k++;
            if (k == nchosen && nchosen < sizeof chosen / sizeof chosen[0])
                chosen[nchosen++] = fj[i].key;
        }
        for (uint32_t i = 0; i < r->nfatbins; i++) {
            if (!fj[i].counts || !fj[i].key.sm)
                continue;
            size_t k = 0;
            while (k < nchosen && !same_arch(chosen[k], fj[i].key))
                k++;
            if (k == nchosen) {
                fj[i].counts = 0;
                v->other_sets++;
            }
        }
    }

    /*
     * Kernel sets for other GPUs among the rest: only in a library that has
     * real kernels for the target somewhere (so it was built with this GPU in mind).
     */
    int excuse = 0;
    for (uint32_t i = 0; i < r->nfatbins && !excuse; i++)
        excuse = fj[i].counts && fj[i].j.level >= MG_LV_JIT && kernels_of(r, o, i) != 0;

    /* How many distinct plain architectures have single-architecture builds. */
    unsigned per_arch_sets = 0;
    {
        mg_arch seen[64];
        for (uint32_t i = 0; i < r->nfatbins; i++) {
            if (!fj[i].counts || !fj[i].key.sm || fj[i].key.variant != MG_VAR_NONE)
                continue;
            unsigned k = 0;
            while (k < per_arch_sets && !same_arch(seen[k], fj[i].key))
                k++;
            if (k == per_arch_sets && per_arch_sets < 64 && kernels_of(r, o, i) != 0)
                seen[per_arch_sets++] = fj[i].key;   /* nvcc's device-link stub has no kernels */
        }
    }

    /* Tally; a fatbin without an image counts only if it really holds kernels. */
    uint32_t why_count[4] = {0};
    /* 64 bits while counting (< 2^21 fatbins x < 2^31 kernels), then at most UINT32_MAX: a 32-bit sum
     * wrapped, and the excuse's subtraction after it could wrap below 0 too. */
    uint64_t missing_kernels = 0;
    for (uint32_t i = 0; i < r->nfatbins; i++) {
        if (!fj[i].counts)
            continue;
        const mg_fb_judgment *j = &fj[i].j;
        if (j->level >= MG_LV_JIT && kernels_of(r, o, i) == 0) {   /* runs, but nothing to run: the stub */
            fj[i].counts = 0;
            continue;
        }
        if (j->level >= MG_LV_JIT) {
            v->covered++;
            if (j->level == MG_LV_JIT) {
                v->jit++;
                if (j->isa > v->need_isa)
                    v->need_isa = j->isa;
            }
            continue;
        }
        if (excuse && for_other_gpus(r, o, i, t, per_arch_sets >= 2)) {
            fj[i].counts = 0;
            v->other_sets++;
            continue;
        }
        int nk = kernels_of(r, o, i);
        if (nk == 0) {
            fj[i].counts = 0;
            continue;
        }
        v->nmissing++;
        why_count[j->why & 3]++;
        if (j->level == MG_LV_PTX_DRIVER && j->isa > v->need_isa)
            v->need_isa = j->isa;
        if (nk > 0)
            missing_kernels += (uint64_t)nk;
    }
    if (excuse && v->nmissing && o->hashes)
        excuse_by_name(r, o, fj, v, why_count, &missing_kernels);
    v->missing_kernels = missing_kernels > UINT32_MAX ? UINT32_MAX : (uint32_t)missing_kernels;
    v->total = v->covered + v->nmissing;
    if (v->need_isa) {
        const mg_cuda_release *rel = mg_cuda_for_ptx(v->need_isa);
        if (rel)
            v->need_driver = rel->min_driver;
    }

    /* Details of the missing fatbins, capped. */
    uint32_t keep = v->nmissing < o->max_missing ? v->nmissing : o->max_missing;
    if (keep) {
        v->missing = mg_arena_array(r->arena, keep, sizeof *v->missing);
        if (!v->missing) {
            free(fj);
            return MG_E_NOMEM;
        }
        for (uint32_t i = 0; i < r->nfatbins && v->nmissing_kept < keep; i++) {
            if (!fj[i].counts || fj[i].j.level >= MG_LV_JIT)
                continue;
            mg_missing *m = &v->missing[v->nmissing_kept++];
            m->fatbin = i;
            m->why = fj[i].j.why;
            int nk = o->kernels ? o->kernels(o->ud, i, &m->names, o->max_names) : -1;
            m->nkernels = nk > 0 ? (uint32_t)nk : 0;
            m->nnames = m->names ? (m->nkernels < o->max_names ? m->nkernels : o->max_names) : 0;
        }
    }

    if (v->nmissing == 0)
        v->status = v->jit ? MG_STATUS_JIT : MG_STATUS_NATIVE;
    else
        v->status = v->covered ? MG_STATUS_PARTIAL : MG_STATUS_NONE;
    describe(r, t, v, fj, why_count);
    free(fj);
    if (v->total)
        beyond_the_code(r, t, v);
    return MG_OK;
}

mg_status mg_fatbin_status(const mg_report *r, uint32_t i, const mg_target *t)
{
    if (i >= r->nfatbins)
        return MG_STATUS_NONE;
    const mg_fatbin *f = &r->fatbins[i];
    mg_fb_judgment j = mg_judge_fatbin(&r->entries[f->first], f->count, t);
    return j.level == MG_LV_NATIVE ? MG_STATUS_NATIVE : j.level == MG_LV_JIT ? MG_STATUS_JIT : MG_STATUS_NONE;
}
